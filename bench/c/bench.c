/* httpring benchmark driver.
 *
 *   bench throughput URL [inflight=64] [requests=200000]   keep-alive, warmed-up pool
 *   bench bulk       URL [inflight=16] [requests=2000]     as throughput, also counts bytes
 *   bench stream     URL [inflight=16] [requests=2000]     as bulk, bodies streamed (below)
 *   bench h2         URL [inflight=64] [requests=100000]   as throughput (an https:// URL)
 *   bench fanout     URL [inflight=10000] [requests=inflight]  cold pool: all submitted at once
 *   bench manyhosts  URL [inflight=64] [requests=5000]     cold pool, URLs taken in turn
 *   bench latency    URL [requests=20000]                  one request at a time
 *
 * URL may be @FILE: a file with one URL per line, requested in turn (round-robin).
 * HTTPRING_BENCH_CA=FILE: also trust the CA certificate(s) in FILE (PEM), for https URLs.
 *
 * Prints one line of key=value pairs: requests/s, client CPU (user+sys, getrusage) per
 * request in microseconds over the timed part only, completions per wake-up, latency
 * percentiles in microseconds (q_us: the quantiles listed in QUANTILES below), bytes/s,
 * peak RSS. The concurrent modes keep `inflight` requests outstanding: they sleep in poll(2)
 * on the client's fd while the library's own thread does the I/O, as an event-loop caller
 * would, or with HTTPRING_BENCH_LOOP=wait block in httpring_client_wait_drain until half the
 * window (HTTPRING_BENCH_MIN) has completed, running the client's I/O on the calling thread
 * meanwhile; they drain completions in batches and resubmit one request per completion.
 *
 * stream: every request is submitted with httpring_request_set_stream, so it completes at
 * its head (HTTPRING_EVENT_HEAD); the same loop then reads each body with
 * httpring_handle_read_chunk (the bytes lent, not copied; with a library older than it,
 * httpring_handle_read into one reusable 256 KiB buffer) until HTTPRING_PENDING or the last
 * bytes, again after each HTTPRING_EVENT_BODY completion (edge-triggered), and frees the
 * request and submits the next one when its body ends. Bytes count once a body has ended whole (as many bytes as its
 * Content-Length says, when it has one); body_events_per_req is the BODY completions per
 * request, completions_per_wakeup counts every completion (HEAD and BODY).
 *
 * Exit status: 0 all requests succeeded with status 200; 1 some failed; 2 usage;
 * 3 the URL's scheme is not supported by this build (e.g. https before TLS exists).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "httpring.h"

/* In builds with TLS only: declared weak so this driver also links against (and runs
 * with) a library without it; then the pointer is NULL. */
extern httpring_code httpring_config_set_ca_file(struct httpring_config *cfg, const char *path)
    __attribute__((weak));
/* Likewise for libraries older than the connection caps. */
extern httpring_code httpring_config_set_max_connections(struct httpring_config *cfg, size_t n)
    __attribute__((weak));
extern httpring_code httpring_config_set_max_connections_per_host(struct httpring_config *cfg,
                                                                  size_t n) __attribute__((weak));
/* Likewise for libraries older than streamed bodies: mode stream then exits with 3. */
extern httpring_code httpring_request_set_stream(struct httpring_request *req, bool stream) __attribute__((weak));
extern httpring_code httpring_handle_read(const struct httpring_client *client, httpring_handle h, uint8_t *buf,
                                          size_t cap, size_t *n) __attribute__((weak));
/* Bodies lent without a copy where the library has it; else copied by httpring_handle_read. */
extern httpring_code httpring_handle_read_chunk(const struct httpring_client *client, httpring_handle h,
                                                struct httpring_chunk *out) __attribute__((weak));

static const double QUANTILES[] = {0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100};
#define NQ (sizeof QUANTILES / sizeof QUANTILES[0])

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static long maxrss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, httpring_code code) {
    fprintf(stderr, "%s: %s\n", what, httpring_error_name(code));
    exit(code == HTTPRING_ERR_UNSUPPORTED_SCHEME ? 3 : 1);
}

/* The URLs to request, in turn. */
static char **urls;
static size_t nurls;

static void load_urls(const char *arg) {
    if (arg[0] != '@') {
        urls = malloc(sizeof(char *));
        urls[0] = (char *)arg;
        nurls = 1;
        return;
    }
    FILE *f = fopen(arg + 1, "r");
    if (!f) {
        perror(arg + 1);
        exit(2);
    }
    size_t cap = 1024;
    urls = malloc(cap * sizeof(char *));
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0]) continue;
        if (nurls == cap) urls = realloc(urls, (cap *= 2) * sizeof(char *));
        urls[nurls++] = strdup(line);
    }
    fclose(f);
    if (nurls == 0) {
        fprintf(stderr, "%s: no URLs\n", arg + 1);
        exit(2);
    }
}

static const char *url_at(long i) { return urls[(size_t)i % nurls]; }

static void submit(httpring_client *c, long i) {
    httpring_handle h;
    httpring_code rc = httpring_client_get(c, url_at(i), (uint64_t)i, &h);
    if (rc != HTTPRING_OK) die("submit", rc);
}

/* Submits requests first..first+count-1 with one call (one wake-up of the I/O thread). */
static void submit_batch(httpring_client *c, long first, long count) {
    static httpring_request_spec specs[256];
    static httpring_handle handles[256];
    for (long k = 0; k < count; k++) {
        specs[k] = (httpring_request_spec){.struct_size = sizeof(httpring_request_spec),
                                           .url = url_at(first + k), .user_data = (uint64_t)(first + k),
                                           .timeout_ms = -1, .connect_timeout_ms = -1, .read_timeout_ms = -1,
                                           .pool_timeout_ms = -1, .write_timeout_ms = -1, .retries = -1,
                                           .max_recv_speed = -1, .max_send_speed = -1,
                                           .low_speed_bytes_per_sec = -1, .low_speed_time_ms = -1};
    }
    httpring_code rc = httpring_client_send_many(c, specs, (size_t)count, handles, NULL);
    if (rc != HTTPRING_OK) die("send_many", rc);
}

/* Reports the first failure (once) so a failing run says why. */
static void note_failure_why(httpring_client *c, httpring_handle h, httpring_code code, unsigned status,
                             const char *why, long *failed) {
    if ((*failed)++ > 0) return;
    char msg[256] = "";
    size_t len = 0;
    if (!why) httpring_handle_error_message(c, h, msg, sizeof msg, &len);
    fprintf(stderr, "first failure: %s status=%u %s\n", httpring_error_name(code), status, why ? why : msg);
    if (code == HTTPRING_ERR_UNSUPPORTED_SCHEME) exit(3);
}

static void note_failure(httpring_client *c, const httpring_completion *d, long *failed) {
    note_failure_why(c, d->handle, d->code, d->status, NULL, failed);
}

/* Streamed requests: submitted one by one (httpring_request_spec has no stream flag). */
static void submit_stream(httpring_client *c, long i) {
    httpring_request *req = httpring_request_new("GET", url_at(i));
    if (!req) die("httpring_request_new", HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_code rc = httpring_request_set_stream(req, true);
    if (rc == HTTPRING_OK) rc = httpring_request_set_user_data(req, (uint64_t)i);
    if (rc != HTTPRING_OK) {
        httpring_request_free(req);
        die("httpring_request_set_stream", rc);
    }
    httpring_handle h;
    rc = httpring_client_submit(c, req, &h);
    if (rc != HTTPRING_OK) die("submit", rc);
}

/* Where each streamed request (by user_data, its number) stands. */
enum { ST_HEAD, ST_BODY, ST_OVER };
typedef struct {
    uint8_t *state;
    uint64_t *got;    /* bytes read so far */
    int64_t *expect;  /* Content-Length, or -1 */
    long body_events;
} streams;

/* One completion of a streamed request: its head, a BODY announcement, or DONE when it failed
 * before its head. Reads the body until PENDING. Returns 1 when the request is over (its body
 * ended, or it failed): the caller frees it and submits the next one. */
static int stream_step(httpring_client *c, streams *s, long total, const httpring_completion *d, uint64_t *bytes,
                       long *failed) {
    static uint8_t buf[256 << 10];
    long i = (long)d->user_data;
    if (i < 0 || i >= total || s->state[i] == ST_OVER) { /* never expected: the API announces once */
        note_failure_why(c, d->handle, d->code, d->status, "a completion for a request already over", failed);
        return 0;
    }
    if (d->event == HTTPRING_EVENT_BODY) {
        s->body_events++;
        if (s->state[i] != ST_BODY) {
            note_failure_why(c, d->handle, d->code, d->status, "a BODY completion before the head", failed);
            s->state[i] = ST_OVER;
            return 1;
        }
    } else {
        if (s->state[i] != ST_HEAD) {
            note_failure_why(c, d->handle, d->code, d->status, "a second head", failed);
            s->state[i] = ST_OVER;
            return 1;
        }
        if (d->code != HTTPRING_OK || d->status != 200 || d->event != HTTPRING_EVENT_HEAD) {
            note_failure_why(c, d->handle, d->code, d->status,
                             d->code == HTTPRING_OK && d->status == 200 ? "a streamed request completed DONE, not HEAD"
                                                                        : NULL,
                             failed);
            s->state[i] = ST_OVER;
            return 1;
        }
        s->state[i] = ST_BODY;
        s->got[i] = 0;
        s->expect[i] = -1;
        const uint8_t *v = NULL, *enc = NULL;
        size_t vlen = 0, elen = 0;
        if (httpring_response_header(c, d->handle, "content-length", 0, &v, &vlen) == HTTPRING_OK && vlen < 20 &&
            httpring_response_header(c, d->handle, "content-encoding", 0, &enc, &elen) != HTTPRING_OK) {
            int64_t n = 0;
            for (size_t k = 0; k < vlen && v[k] >= '0' && v[k] <= '9'; k++) n = n * 10 + (v[k] - '0');
            s->expect[i] = n;
        }
    }
    httpring_chunk chunk = HTTPRING_STRUCT_INIT(httpring_chunk);
    for (;;) {
        size_t n = 0;
        int last = 0; /* the bytes just read ended the body: no read needed for the end */
        httpring_code rc;
        if (httpring_handle_read_chunk) {
            rc = httpring_handle_read_chunk(c, d->handle, &chunk);
            n = chunk.len;
            last = (chunk.flags & HTTPRING_CHUNK_LAST) != 0;
        } else {
            rc = httpring_handle_read(c, d->handle, buf, sizeof buf, &n);
        }
        if (rc == HTTPRING_PENDING) return 0;
        if (rc == HTTPRING_OK && n > 0) {
            s->got[i] += n;
            if (!last) continue;
        }
        s->state[i] = ST_OVER;
        if (rc != HTTPRING_OK) {
            note_failure_why(c, d->handle, rc, d->status, NULL, failed);
        } else if (s->expect[i] >= 0 && s->got[i] != (uint64_t)s->expect[i]) {
            char why[128];
            snprintf(why, sizeof why, "a body of %llu bytes, Content-Length %lld", (unsigned long long)s->got[i],
                     (long long)s->expect[i]);
            note_failure_why(c, d->handle, HTTPRING_OK, d->status, why, failed);
        } else {
            *bytes += s->got[i]; /* counted once, when the whole body is in */
        }
        return 1;
    }
}

/* Sleep until completions are queued (in wait mode: until `min` are), then drain up to
 * cap: -1 if none came in timeout_ms. */
static long next_batch(httpring_client *c, int fd, httpring_completion *out, size_t cap, size_t min,
                       int timeout_ms) {
    size_t n = 0;
    httpring_code rc;
    if (fd >= 0) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) return -1;
        rc = httpring_client_drain(c, out, cap, &n);
    } else {
        rc = httpring_client_wait_drain(c, out, cap, min, timeout_ms, &n);
        if (rc == HTTPRING_OK && n == 0) return -1;
    }
    if (rc != HTTPRING_OK) die("drain", rc);
    return (long)n;
}

static int run_concurrent(httpring_client *c, long inflight, long total, const char *mode, int warm) {
    const char *loop = getenv("HTTPRING_BENCH_LOOP");
    /* wait mode: completions to wait for per call (HTTPRING_BENCH_MIN, default half the
     * window), never more than are in flight. */
    const char *min_env = getenv("HTTPRING_BENCH_MIN");
    long min_batch = min_env ? atol(min_env) : (inflight > 1 ? inflight / 2 : 1);
    int fd = loop && strcmp(loop, "wait") == 0 ? -1 : httpring_client_fd(c);
    httpring_completion done[256] = { HTTPRING_STRUCT_INIT(httpring_completion) };
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response); /* reused: the library keeps struct_size */
    long submitted = 0, completed = 0, wakeups = 0, failed = 0, events = 0;
    uint64_t bytes = 0;
    int stream = strcmp(mode, "stream") == 0;
    if (inflight > total) inflight = total;
    streams s = {0};
    if (stream) {
        if (!httpring_request_set_stream || !httpring_handle_read) {
            fprintf(stderr, "this library has no streamed bodies (httpring_request_set_stream)\n");
            exit(3);
        }
        s.state = calloc((size_t)total, 1);
        s.got = calloc((size_t)total, sizeof *s.got);
        s.expect = calloc((size_t)total, sizeof *s.expect);
        if (!s.state || !s.got || !s.expect) die("calloc", HTTPRING_ERR_INVALID_ARGUMENT);
    }
    /* Warm up the pool so connection setup is not measured (stream: with buffered requests). */
    if (warm) {
        long left = inflight, wfailed = 0;
        for (long i = 0; i < inflight; i++) submit(c, i);
        while (left > 0) {
            long n = next_batch(c, fd, done, 256, 1, 10000);
            if (n < 0) {
                fprintf(stderr, "warm-up stalled with %ld left\n", left);
                return 1;
            }
            for (long i = 0; i < n; i++) {
                if (done[i].code != HTTPRING_OK || done[i].status != 200) note_failure(c, &done[i], &wfailed);
                httpring_handle_free(c, done[i].handle);
            }
            left -= n;
        }
        if (wfailed) return 1;
    }
    double t0 = now_s(), c0 = cpu_s();
    for (; submitted < inflight; submitted++) {
        if (stream) submit_stream(c, submitted);
        else submit(c, submitted);
    }
    while (completed < total) {
        long in_flight = submitted - completed;
        long want = min_batch < in_flight ? min_batch : in_flight;
        long batch = next_batch(c, fd, done, 256, (size_t)(want > 0 ? (want < 256 ? want : 256) : 1), 30000);
        if (batch < 0) {
            fprintf(stderr, "stalled at %ld/%ld\n", completed, total);
            return 1;
        }
        wakeups++;
        for (int first = 1;; first = 0) {
            size_t n = (size_t)batch;
            if (!first) {
                httpring_code rc = httpring_client_drain(c, done, 256, &n);
                if (rc != HTTPRING_OK) die("drain", rc);
            }
            httpring_handle freed[256];
            size_t over = 0;
            events += (long)n;
            for (size_t i = 0; i < n; i++) {
                if (stream) {
                    if (stream_step(c, &s, total, &done[i], &bytes, &failed)) freed[over++] = done[i].handle;
                    continue;
                }
                if (done[i].code != HTTPRING_OK || done[i].status != 200) note_failure(c, &done[i], &failed);
                else if (mode[0] == 'b') {
                    httpring_handle_response(c, done[i].handle, &r);
                    bytes += r.body_len;
                }
                freed[over++] = done[i].handle;
            }
            httpring_handles_free(c, freed, over);
            completed += (long)over;
            /* One request over, one new request: resubmitted as a batch (stream: one by one). */
            long more = (long)over < total - submitted ? (long)over : total - submitted;
            if (more > 0 && stream) {
                for (long k = 0; k < more; k++) submit_stream(c, submitted + k);
                submitted += more;
            } else if (more > 0) {
                submit_batch(c, submitted, more);
                submitted += more;
            }
            if (n < 256) break;
        }
    }
    double wall = now_s() - t0, cpu = cpu_s() - c0;
    printf("mode=%s requests=%ld inflight=%ld urls=%zu failed=%ld wall_s=%.4f req_per_s=%.0f cpu_us_per_req=%.2f "
           "completions_per_wakeup=%.1f maxrss_kb=%ld",
           mode, total, inflight, nurls, failed, wall, total / wall, cpu * 1e6 / total, (double)events / wakeups,
           maxrss_kb());
    if (mode[0] == 'b' || stream)
        printf(" bytes=%llu mb_per_s=%.1f cpu_ms_per_mb=%.3f", (unsigned long long)bytes, bytes / wall / 1e6,
               cpu * 1e3 / (bytes / 1e6));
    if (stream) printf(" body_events_per_req=%.2f", (double)s.body_events / total);
    printf("\n");
    free(s.state);
    free(s.got);
    free(s.expect);
    return failed != 0;
}

static int run_latency(httpring_client *c, long total) {
    uint64_t *lat = malloc(sizeof(uint64_t) * (size_t)total);
    httpring_handle h;
    httpring_state st;
    long failed = 0;
    for (int i = 0; i < 100; i++) { /* warm-up */
        httpring_code rc = httpring_client_get(c, url_at(0), 0, &h);
        if (rc != HTTPRING_OK) die("submit", rc);
        httpring_handle_wait(c, h, -1, &st);
        if (st != HTTPRING_STATE_DONE) {
            httpring_completion d = {.struct_size = sizeof d, .handle = h, .code = httpring_handle_error(c, h)};
            note_failure(c, &d, &failed);
            return 1;
        }
        httpring_handle_free(c, h);
    }
    double c0 = cpu_s(), t0 = now_s();
    for (long i = 0; i < total; i++) {
        double s = now_s();
        httpring_code rc = httpring_client_get(c, url_at(i), 0, &h);
        if (rc != HTTPRING_OK) die("submit", rc);
        httpring_handle_wait(c, h, -1, &st);
        if (st != HTTPRING_STATE_DONE) failed++;
        httpring_handle_free(c, h);
        lat[i] = (uint64_t)((now_s() - s) * 1e6);
    }
    double wall = now_s() - t0, cpu = cpu_s() - c0;
    qsort(lat, (size_t)total, sizeof(uint64_t), cmp_u64);
#define PCT(p) ((unsigned long long)lat[(size_t)((total - 1) * (p) / 100.0 + 0.5)])
    printf("mode=latency requests=%ld failed=%ld wall_s=%.4f req_per_s=%.0f cpu_us_per_req=%.2f p50_us=%llu p95_us=%llu "
           "p99_us=%llu max_us=%llu q_us=",
           total, failed, wall, total / wall, cpu * 1e6 / total, PCT(50), PCT(95), PCT(99), PCT(100));
    for (size_t q = 0; q < NQ; q++) printf("%s%llu", q ? "," : "", PCT(QUANTILES[q]));
    printf(" maxrss_kb=%ld\n", maxrss_kb());
    free(lat);
    return failed != 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s throughput|bulk|stream|h2|fanout|manyhosts|latency URL|@FILE [inflight] [requests]\n",
                argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    load_urls(argv[2]);
    long a3 = argc > 3 ? atol(argv[3]) : 0, a4 = argc > 4 ? atol(argv[4]) : 0;
    /* Fan-out keeps one connection per request in flight: allow as many descriptors. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* The benchmark's HTTPS server has a throwaway CA: trust it when the library can. */
    httpring_config *cfg = httpring_config_new();
    const char *ca = getenv("HTTPRING_BENCH_CA");
    if (ca && *ca && httpring_config_set_ca_file) {
        httpring_code crc = httpring_config_set_ca_file(cfg, ca);
        if (crc != HTTPRING_OK) die("httpring_config_set_ca_file", crc);
    }
    /* HTTPRING_BENCH_MAX_CONNS_PER_HOST=N, HTTPRING_BENCH_MAX_CONNS=N: run under a per-origin
     * and a total connection cap (the cost of the caps, measured against the same run
     * without: scenario throughput-capped). */
    const char *cap = getenv("HTTPRING_BENCH_MAX_CONNS_PER_HOST");
    if (cap && *cap && httpring_config_set_max_connections_per_host) {
        httpring_code crc = httpring_config_set_max_connections_per_host(cfg, (size_t)atol(cap));
        if (crc != HTTPRING_OK) die("httpring_config_set_max_connections_per_host", crc);
    }
    const char *total = getenv("HTTPRING_BENCH_MAX_CONNS");
    if (total && *total && httpring_config_set_max_connections) {
        httpring_code crc = httpring_config_set_max_connections(cfg, (size_t)atol(total));
        if (crc != HTTPRING_OK) die("httpring_config_set_max_connections", crc);
    }
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    if (!c) return 1;
    int rc;
    if (strcmp(mode, "latency") == 0) {
        rc = run_latency(c, a3 ? a3 : 20000);
    } else if (strcmp(mode, "throughput") == 0) {
        rc = run_concurrent(c, a3 ? a3 : 64, a4 ? a4 : 200000, mode, 1);
    } else if (strcmp(mode, "bulk") == 0 || strcmp(mode, "stream") == 0) {
        rc = run_concurrent(c, a3 ? a3 : 16, a4 ? a4 : 2000, mode, 1);
    } else if (strcmp(mode, "h2") == 0) {
        rc = run_concurrent(c, a3 ? a3 : 64, a4 ? a4 : 100000, mode, 1);
    } else if (strcmp(mode, "fanout") == 0) {
        long n = a3 ? a3 : 10000;
        rc = run_concurrent(c, n, a4 ? a4 : n, mode, 0);
    } else if (strcmp(mode, "manyhosts") == 0) {
        rc = run_concurrent(c, a3 ? a3 : 64, a4 ? a4 : 5000, mode, 0);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    httpring_client_free(c);
    return rc;
}
