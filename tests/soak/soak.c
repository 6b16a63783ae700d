/*
 * soak: mixed traffic at full speed against the test server, for minutes or hours (issue 20).
 *
 * N submitter threads (default 4) each keep up to K requests (default 64) in flight on ONE
 * shared client, with a random route per request: plain answers, sizes, delays, redirects,
 * gzip, 503s, streamed bodies and server-sent events, uploads whose body comes from a callback
 * (checked on the server; a call after its request ended is a defect), and faults — a server that never
 * answers (total timeout), one that stops mid-body (read timeout), one that breaks the
 * connection mid-body, a refused port, invalid URLs (refused at submit). The submitters also
 * cancel random requests and free random ones while pending. One collector thread drains
 * completions (wait_drain or fd + drain, at random), checks every response, reads streamed
 * bodies (all, some then free, cancel mid-body, or free at the head) and frees handles.
 *
 * Bookkeeping: a record per request keyed by its user_data (a unique id). A request is
 * resolved exactly once: by its DONE/HEAD completion, or by a free while pending. Every
 * second the main thread freezes the records and prints: completed, in flight, lost
 * (submitted - completed - in flight, must be 0), duplicates (a second DONE/HEAD for an id),
 * hangs (pending past its deadline + slack, or a stream with no progress past its read
 * timeout + slack), completion codes, RSS and open fds. After the warm-up the RSS and fd
 * counts are the baseline; at the end they must not have grown past the limits. Then it stops
 * submitting, waits (bounded) for everything in flight, frees the client and prints a
 * summary. Exit 0 only if every check passed.
 *
 * Usage: soak [--duration 60s|30m|1h|SECONDS] [--threads N] [--inflight K] [--seed S]
 *             [--h2c] [--callback] [--skip-stream-cancel] [--slack-ms MS] [--warmup SECONDS]
 *             [--label NAME]   (the name on the last line, "NAME: passed: ..." or "NAME: FAILED: ...")
 *   --h2c                 HTTP/2 with prior knowledge: everything on one shared connection
 *   --callback            also a completion callback, checked to see each request exactly once
 *   --skip-stream-cancel  no cancels of streamed requests, which meet two engine defects
 *                         (docs/RELIABILITY.md, "Soak"); the rest of the mix as usual
 * Run under scripts/with_server.sh (HTTPRING_TEST_URL): `make soak DURATION=30m`.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpring.h"

/* ---------------------------------------------------------------- settings */

#define MAX_THREADS 64
#define MAX_INFLIGHT 1024
#define RING (1u << 16) /* records; an id's record is ring[id % RING] */
#define STRIPES 1024u   /* locks; record i is guarded by stripe i % STRIPES */
#define MAX_CODES 64
#define MAX_STREAMS 48 /* streamed bodies being read at once */
#define CLIENT_TIMEOUT_MS 10000
#define CLIENT_READ_TIMEOUT_MS 5000
#define CLIENT_CONNECT_TIMEOUT_MS 5000
#define READ_BUF (64u << 10)

static double opt_duration = 60;
static int opt_threads = 4;
static int opt_inflight = 64;
static uint64_t opt_seed;
static int opt_h2c;
static int opt_callback;
static int opt_skip_stream_cancel;
static const char *opt_label = "soak";
static double opt_slack_ms = 5000;
static double opt_warmup = -1;

static const char *base_url;
static char refused_url[64]; /* a port bound but not listening: connect is refused */
static httpring_client *client;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* xorshift64*: one per thread. */
static uint64_t rnd(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static uint32_t rnd_below(uint64_t *s, uint32_t n) { return (uint32_t)(rnd(s) % n); }
static uint32_t rnd_range(uint64_t *s, uint32_t lo, uint32_t hi) { return lo + rnd_below(s, hi - lo + 1); }

/* ---------------------------------------------------------------- routes */

enum route {
    R_HELLO,
    R_BYTES,
    R_DELAY,
    R_DELAY_TIMEOUT, /* /delay/300 with a total timeout below it */
    R_DRIP,
    R_STATUS503,
    R_REDIRECT,
    R_GZIP,
    R_STALL,      /* never answers: total timeout */
    R_STALL_BODY, /* head + 10 bytes, then silence: read timeout */
    R_LIE,        /* breaks the connection mid-body */
    R_REFUSED,    /* a port nobody listens on */
    R_STREAM,     /* /stream/N, streamed */
    R_EVENTS,     /* /events/N/MS, streamed */
    R_UPLOAD,     /* POST /upload, the body from a callback */
    R_INVALID,    /* refused at submit: no record */
    R_COUNT
};

static const char *route_name[R_COUNT] = {
    "hello", "bytes", "delay", "delay-timeout", "drip", "status-503", "redirect", "gzip",
    "stall", "stall-body", "lie", "refused-port", "stream", "events", "upload", "invalid-url",
};
/* Weights, out of their sum. */
static const int route_weight[R_COUNT] = {
    26, 14, 8, 2, 3, 5, 6, 6, 2, 3, 4, 3, 9, 4, 6, 1,
};
static int is_stream(int r) { return r == R_STREAM || r == R_EVENTS; }
/* Routes only the request builder can submit (a streamed response or a body source). */
static int needs_builder(int r) { return is_stream(r) || r == R_UPLOAD; }
/* Routes that need a per-request timeout shorter than the client's. */
static int needs_timeout(int r) {
    return r == R_DELAY_TIMEOUT || r == R_STALL || r == R_STALL_BODY;
}

static int pick_route(uint64_t *s) {
    static int total;
    if (!total)
        for (int i = 0; i < R_COUNT; i++) total += route_weight[i];
    int x = (int)rnd_below(s, (uint32_t)total);
    for (int i = 0; i < R_COUNT; i++) {
        if (x < route_weight[i]) return i;
        x -= route_weight[i];
    }
    return R_HELLO;
}

/* What one request asks for. */
struct plan {
    int route;
    char url[256];
    uint32_t n;               /* bytes, hops, events, drips */
    int64_t timeout_ms;       /* -1: the client's */
    int64_t read_timeout_ms;  /* -1: the client's */
};

static void make_plan(uint64_t *s, int route, struct plan *p) {
    p->route = route;
    p->n = 0;
    p->timeout_ms = -1;
    p->read_timeout_ms = -1;
    switch (route) {
    case R_HELLO:
        snprintf(p->url, sizeof p->url, "%s/hello", base_url);
        break;
    case R_BYTES:
        p->n = rnd_below(s, 10) == 0 ? rnd_range(s, 65536, 1 << 20) : rnd_below(s, 65536);
        snprintf(p->url, sizeof p->url, "%s/bytes/%u", base_url, p->n);
        break;
    case R_DELAY:
        snprintf(p->url, sizeof p->url, "%s/delay/%u", base_url, rnd_below(s, 50));
        break;
    case R_DELAY_TIMEOUT:
        snprintf(p->url, sizeof p->url, "%s/delay/%u", base_url, 300);
        p->timeout_ms = rnd_range(s, 20, 150);
        break;
    case R_DRIP:
        p->n = rnd_range(s, 1, 5);
        snprintf(p->url, sizeof p->url, "%s/drip/%u/%u", base_url, p->n, rnd_range(s, 1, 30));
        break;
    case R_STATUS503:
        snprintf(p->url, sizeof p->url, "%s/status/503", base_url);
        break;
    case R_REDIRECT:
        p->n = rnd_range(s, 1, 5);
        snprintf(p->url, sizeof p->url, "%s/redirect/%u", base_url, p->n);
        break;
    case R_GZIP:
        p->n = rnd_range(s, 1, 100000);
        snprintf(p->url, sizeof p->url, "%s/encoded/gzip/%u", base_url, p->n);
        break;
    case R_STALL:
        snprintf(p->url, sizeof p->url, "%s/stall", base_url);
        p->timeout_ms = rnd_range(s, 50, 500);
        break;
    case R_STALL_BODY:
        snprintf(p->url, sizeof p->url, "%s/stall-body", base_url);
        p->read_timeout_ms = rnd_range(s, 50, 500);
        p->timeout_ms = CLIENT_TIMEOUT_MS;
        break;
    case R_LIE:
        snprintf(p->url, sizeof p->url, "%s/lie", base_url);
        break;
    case R_REFUSED:
        snprintf(p->url, sizeof p->url, "%s/hello", refused_url);
        break;
    case R_STREAM:
        p->n = rnd_below(s, 4) == 0 ? rnd_range(s, 262144, 2 << 20) : rnd_range(s, 0, 65536);
        snprintf(p->url, sizeof p->url, "%s/stream/%u%s%s", base_url, p->n,
                 rnd_below(s, 3) == 0 ? "/4096" : "", rnd_below(s, 3) == 0 ? "?chunked=1" : "");
        break;
    case R_EVENTS:
        p->n = rnd_range(s, 1, 8);
        snprintf(p->url, sizeof p->url, "%s/events/%u/%u", base_url, p->n, rnd_range(s, 1, 40));
        break;
    case R_UPLOAD:
        p->n = rnd_below(s, 4) == 0 ? rnd_range(s, 65536, 1 << 20) : rnd_below(s, 65536);
        snprintf(p->url, sizeof p->url, "%s/upload", base_url);
        break;
    case R_INVALID: {
        static const char *bad[] = {"http://", "not a url", "http://[::1/x", "ftp://example.com/",
                                    "http://exa mple.com/", ""};
        snprintf(p->url, sizeof p->url, "%s", bad[rnd_below(s, sizeof bad / sizeof *bad)]);
        break;
    }
    }
}

/* ---------------------------------------------------------------- records */

enum stream_plan { SP_READ_ALL, SP_READ_SOME_FREE, SP_CANCEL_MID, SP_FREE_AT_HEAD };
static const char *stream_plan_name[] = {"read all", "read some, free", "cancel mid-body",
                                         "free at head"};

typedef struct {
    /* Everything here is guarded by the record's stripe lock. */
    uint64_t id; /* 0: never used */
    httpring_handle h;
    uint8_t route, thread, splan;
    uint8_t submitted; /* submit accepted (or in progress) */
    uint8_t resolved;  /* counted in `completed`: terminal drained or freed while pending */
    uint8_t owner;     /* 0: nobody yet; 1: the collector (terminal drained); 2: freed pending */
    uint8_t done;      /* handle freed, nothing more to come: the slot may be reused */
    uint8_t hung;      /* reported as a hang */
    uint8_t cancelled; /* a cancel returned OK for it */
    uint8_t streaming; /* head drained, body being read */
    uint8_t cancel_sent;
    uint16_t terminals; /* DONE/HEAD completions drained */
    uint32_t n;
    int64_t timeout_ms, read_timeout_ms;
    double t_submit, deadline, t_cancel, last_progress;
    uint64_t got, limit, newlines;
    uint64_t free_seq; /* seqclock once the handle's free returned */
    char url[96];
} rec_t;

static rec_t *ring;
static pthread_mutex_t stripes[STRIPES];
/* Callback mode: the id each slot holds and its terminal callbacks (lock-free). */
static _Atomic uint64_t cb_id[RING];
static _Atomic uint32_t cb_count[RING];

static rec_t *rec_of(uint64_t id) { return &ring[id % RING]; }
static pthread_mutex_t *lock_of(uint64_t id) { return &stripes[(id % RING) % STRIPES]; }
static void lock_id(uint64_t id) { pthread_mutex_lock(lock_of(id)); }
static void unlock_id(uint64_t id) { pthread_mutex_unlock(lock_of(id)); }

static _Atomic uint64_t next_id = 1;
static _Atomic uint64_t seqclock = 1;

/* ---------------------------------------------------------------- counters */

typedef _Atomic uint64_t counter;
static counter c_submitted, c_completed, c_drained, c_freed_pending, c_refused, c_collisions;
static counter c_duplicates, c_strays, c_late, c_after_free, c_unexpected, c_hangs,
    c_bad_body, c_body_stray, c_body_before_head, c_handle_mismatch, c_invalid_accepted,
    c_free_errors;
static counter c_internal;
static counter c_cb_dup, c_cb_stray, c_cb_missing, c_cb_order, c_cb_calls;
static counter c_codes[MAX_CODES], c_body_ends[MAX_CODES], c_refused_codes[MAX_CODES],
    c_cancel_results[MAX_CODES];
static counter c_route[R_COUNT];
static counter c_unexpected_by[R_COUNT][MAX_CODES]; /* route x code */
static counter c_cancels, c_splan[4], c_body_bytes, c_body_events,
    c_api_builder, c_api_get, c_api_send, c_api_many;
static _Atomic int inflight[MAX_THREADS];
static _Atomic int active_streams;
static sem_t room[MAX_THREADS];
static atomic_int waiting[MAX_THREADS]; /* the submitter sleeps on room[] */
static atomic_int stop_submit, stop_collect;

static void bump(counter *c) { atomic_fetch_add_explicit(c, 1, memory_order_relaxed); }
static uint64_t get(counter *c) { return atomic_load_explicit(c, memory_order_relaxed); }
static void bump_code(counter *arr, httpring_code code) { bump(&arr[code < MAX_CODES ? code : MAX_CODES - 1]); }

/* Short name of a code: HTTPRING_ERR_TIMEOUT -> TIMEOUT. */
static const char *short_name(unsigned code) {
    const char *n = httpring_error_name(code);
    if (strncmp(n, "HTTPRING_ERR_", 13) == 0) return n + 13;
    if (strncmp(n, "HTTPRING_", 9) == 0) return n + 9;
    return n;
}

static void print_codes(FILE *f, counter *arr) {
    int any = 0;
    for (unsigned i = 0; i < MAX_CODES; i++) {
        uint64_t v = get(&arr[i]);
        if (v) {
            fprintf(f, "%s%s %" PRIu64, any ? ", " : "", short_name(i), v);
            any = 1;
        }
    }
    if (!any) fprintf(f, "none");
}

/* Failures worth a line each: the first 20 from each place. */
#define DETAIL(...)                                         \
    do {                                                    \
        static _Atomic int lines_;                          \
        if (atomic_fetch_add(&lines_, 1) < 20) {            \
            fprintf(stderr, "soak: " __VA_ARGS__);          \
            fputc('\n', stderr);                            \
        }                                                   \
    } while (0)

/* ---------------------------------------------------------------- process figures */

static long page_size;

static double rss_mib(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    long size = 0, resident = 0;
    int ok = fscanf(f, "%ld %ld", &size, &resident) == 2;
    fclose(f);
    return ok ? resident * (double)page_size / (1 << 20) : -1;
}

/* "local -> remote state" of the TCP socket with this inode, from /proc/self/net/tcp. */
static void describe_socket(unsigned long inode, char *out, size_t cap) {
    static const char *states[] = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
                                   "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"};
    snprintf(out, cap, "not in /proc/self/net/tcp");
    FILE *f = fopen("/proc/self/net/tcp", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned la, lp, ra, rp, st;
        unsigned long ino;
        if (sscanf(line, " %*d: %x:%x %x:%x %x %*x:%*x %*x:%*x %*x %*u %*u %lu", &la, &lp, &ra, &rp, &st, &ino) != 6)
            continue;
        if (ino != inode) continue;
        snprintf(out, cap, "127.0.0.1:%u -> port %u, %s", lp, rp, st < 12 ? states[st] : "?");
        break;
    }
    fclose(f);
}

static void list_fds(FILE *f) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[300], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        char tcp[128] = "";
        unsigned long inode;
        if (sscanf(target, "socket:[%lu]", &inode) == 1) describe_socket(inode, tcp, sizeof tcp);
        fprintf(f, "  fd %s -> %s %s\n", e->d_name, target, tcp);
    }
    closedir(d);
}

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* ---------------------------------------------------------------- callback mode */

static void on_completion(void *ctx, const httpring_completion *c) {
    (void)ctx;
    bump(&c_cb_calls);
    if (c->event == HTTPRING_EVENT_BODY || c->user_data == 0) return;
    uint32_t i = (uint32_t)(c->user_data % RING);
    if (atomic_load(&cb_id[i]) != c->user_data) {
        bump(&c_cb_stray);
        return;
    }
    if (atomic_fetch_add(&cb_count[i], 1) != 0) bump(&c_cb_dup);
}

/* ---------------------------------------------------------------- submitters */

struct submitter {
    int index;
    pthread_t thread;
    uint64_t rng;
    uint64_t lanes[MAX_INFLIGHT]; /* ids this thread submitted, for cancels and frees */
    int cursor;
};

/* A lane whose request is resolved (or never used); -1 if none. */
static int free_lane(struct submitter *s) {
    for (int k = 0; k < opt_inflight; k++) {
        int j = (s->cursor + k) % opt_inflight;
        uint64_t id = s->lanes[j];
        if (id == 0) {
            s->cursor = (j + 1) % opt_inflight;
            return j;
        }
        lock_id(id);
        rec_t *r = rec_of(id);
        int busy = r->id == id && !r->resolved;
        unlock_id(id);
        if (!busy) {
            s->cursor = (j + 1) % opt_inflight;
            return j;
        }
    }
    return -1;
}

/* Takes a fresh id and fills its record (submitted, pending). Returns the id. */
static uint64_t new_record(struct submitter *s, const struct plan *p) {
    for (;;) {
        uint64_t id = atomic_fetch_add(&next_id, 1);
        if (id % RING == 0) continue; /* keep user_data 0 for "no record" */
        rec_t *r = rec_of(id);
        lock_id(id);
        if (r->id != 0 && !r->done) { /* its previous request is still around */
            unlock_id(id);
            bump(&c_collisions);
            continue;
        }
        uint32_t i = (uint32_t)(id % RING);
        if (opt_callback && r->id != 0 && r->submitted) {
            uint32_t got = atomic_load(&cb_count[i]);
            if (got != 1) {
                bump(&c_cb_missing);
                DETAIL("callback: id %" PRIu64 " (%s) had %u terminal callbacks, expected 1",
                       r->id, route_name[r->route], got);
            }
        }
        memset(r, 0, sizeof *r);
        r->id = id;
        r->route = (uint8_t)p->route;
        r->thread = (uint8_t)s->index;
        r->submitted = 1;
        r->n = p->n;
        r->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : CLIENT_TIMEOUT_MS;
        r->read_timeout_ms = p->read_timeout_ms > 0 ? p->read_timeout_ms : CLIENT_READ_TIMEOUT_MS;
        r->t_submit = now_ms();
        r->deadline = r->t_submit + (double)r->timeout_ms;
        snprintf(r->url, sizeof r->url, "%.95s", p->url);
        atomic_store(&cb_count[i], 0);
        atomic_store(&cb_id[i], id);
        bump(&c_submitted);
        atomic_fetch_add(&inflight[s->index], 1);
        unlock_id(id);
        bump(&c_route[p->route]);
        return id;
    }
}

/* The submit was refused: the record never was a request. */
static void refuse_record(struct submitter *s, uint64_t id, httpring_code code) {
    lock_id(id);
    rec_t *r = rec_of(id);
    int route = r->route;
    r->submitted = 0;
    r->resolved = 1;
    r->done = 1;
    atomic_fetch_sub(&c_submitted, 1);
    atomic_fetch_sub(&inflight[s->index], 1);
    unlock_id(id);
    bump(&c_refused);
    bump_code(c_refused_codes, code);
    bump(&c_unexpected); /* only invalid URLs are meant to be refused */
    DETAIL("submit of %s refused with %s", route_name[route], httpring_error_name(code));
}

static void accept_record(struct submitter *s, uint64_t id, httpring_handle h, int lane) {
    lock_id(id);
    rec_t *r = rec_of(id);
    if (r->h != 0 && r->h != h) bump(&c_handle_mismatch);
    r->h = h;
    unlock_id(id);
    s->lanes[lane] = id;
}

/* An invalid URL through one of the submit calls: must be refused, with no handle. */
static void submit_invalid(struct submitter *s, const struct plan *p) {
    httpring_handle h = 0;
    httpring_code code;
    switch (rnd_below(&s->rng, 3)) {
    case 0:
        code = httpring_client_get(client, p->url, 0, &h);
        break;
    case 1:
        code = httpring_client_send(client, "GET", p->url, NULL, 0, NULL, 0, 0, &h);
        break;
    default: {
        httpring_request *req = httpring_request_new("GET", p->url);
        code = httpring_client_submit(client, req, &h);
    }
    }
    bump(&c_route[R_INVALID]);
    if (code == HTTPRING_OK) {
        bump(&c_invalid_accepted);
        DETAIL("invalid URL \"%s\" was accepted", p->url);
        httpring_handle_free(client, h);
    } else {
        bump(&c_refused);
        bump_code(c_refused_codes, code);
        if (code != HTTPRING_ERR_INVALID_URL && code != HTTPRING_ERR_UNSUPPORTED_SCHEME) {
            bump(&c_unexpected);
            DETAIL("invalid URL \"%s\" refused with %s", p->url, httpring_error_name(code));
        }
    }
}

static uint8_t pattern[READ_BUF + 32]; /* 'a'..'z' repeated: /bytes/, /stream/, uploads */

/* Upload bodies: what each ring slot's callback has handed over. The callback gets the id as
 * user_data; a call for an id its slot no longer holds (the request was freed or completed
 * and the slot reused) is an engine defect: the callback must not outlive its request. */
static struct {
    _Atomic uint64_t id;
    uint32_t total, at;
} up_state[RING];
static counter c_upload_late;

static httpring_code upload_cb(void *user_data, uint8_t *buf, size_t cap, size_t *written) {
    uint64_t id = (uint64_t)(uintptr_t)user_data;
    uint32_t i = (uint32_t)(id % RING);
    if (atomic_load(&up_state[i].id) != id) {
        bump(&c_upload_late);
        return HTTPRING_ERR_INTERNAL;
    }
    size_t n = up_state[i].total - up_state[i].at;
    if (n > cap) n = cap;
    memcpy(buf, pattern + (up_state[i].at % 26), n);
    up_state[i].at += (uint32_t)n;
    *written = n;
    return HTTPRING_OK;
}

/* One request through the builder (any route; the only way to stream). */
static void submit_builder(struct submitter *s, const struct plan *p, int lane) {
    uint64_t id = new_record(s, p);
    httpring_request *req = httpring_request_new(p->route == R_UPLOAD ? "POST" : "GET", p->url);
    httpring_request_set_user_data(req, id);
    if (p->route == R_UPLOAD) {
        uint32_t i = (uint32_t)(id % RING);
        up_state[i].total = p->n;
        up_state[i].at = 0;
        atomic_store(&up_state[i].id, id);
        int64_t len = rnd_below(&s->rng, 2) ? (int64_t)p->n : -1;
        httpring_request_set_body_callback(req, upload_cb, (void *)(uintptr_t)id, len);
    }
    if (p->timeout_ms > 0) httpring_request_set_timeout_ms(req, (uint64_t)p->timeout_ms);
    if (p->read_timeout_ms > 0) httpring_request_set_read_timeout_ms(req, (uint64_t)p->read_timeout_ms);
    if (is_stream(p->route)) httpring_request_set_stream(req, true);
    httpring_handle h = 0;
    httpring_code code = httpring_client_submit(client, req, &h);
    bump(&c_api_builder);
    if (code != HTTPRING_OK) refuse_record(s, id, code);
    else accept_record(s, id, h, lane);
}

/* One request through get or send (routes happy with the client's timeouts). */
static void submit_simple(struct submitter *s, const struct plan *p, int lane) {
    uint64_t id = new_record(s, p);
    httpring_handle h = 0;
    httpring_code code;
    if (rnd_below(&s->rng, 2)) {
        code = httpring_client_get(client, p->url, id, &h);
        bump(&c_api_get);
    } else {
        httpring_header hd = {(const uint8_t *)"x-soak", 6, (const uint8_t *)"1", 1};
        code = httpring_client_send(client, "GET", p->url, &hd, 1, NULL, 0, id, &h);
        bump(&c_api_send);
    }
    if (code != HTTPRING_OK) refuse_record(s, id, code);
    else accept_record(s, id, h, lane);
}

/* A batch through send_many: non-streamed routes, invalid URLs included. */
static void submit_batch(struct submitter *s, int room_left) {
    enum { MAXB = 8 };
    int b = (int)rnd_range(&s->rng, 2, MAXB);
    if (b > room_left) b = room_left;
    struct plan plans[MAXB];
    httpring_request_spec specs[MAXB];
    uint64_t ids[MAXB];
    int lanes[MAXB];
    httpring_handle hs[MAXB];
    httpring_code codes[MAXB];
    memset(specs, 0, sizeof specs);
    int n = 0;
    for (int i = 0; i < b; i++) {
        int route;
        do route = pick_route(&s->rng);
        while (needs_builder(route));
        int lane = route == R_INVALID ? -1 : free_lane(s);
        if (lane < 0 && route != R_INVALID) break;
        make_plan(&s->rng, route, &plans[n]);
        ids[n] = route == R_INVALID ? 0 : new_record(s, &plans[n]);
        if (route == R_INVALID) bump(&c_route[R_INVALID]);
        lanes[n] = lane;
        if (ids[n]) s->lanes[lane] = ids[n]; /* reserve it for this batch */
        specs[n].struct_size = sizeof(httpring_request_spec);
        specs[n].method = rnd_below(&s->rng, 2) ? NULL : "GET";
        specs[n].url = plans[n].url;
        specs[n].user_data = ids[n];
        specs[n].timeout_ms = plans[n].timeout_ms;
        specs[n].connect_timeout_ms = -1;
        specs[n].read_timeout_ms = plans[n].read_timeout_ms;
        specs[n].pool_timeout_ms = specs[n].write_timeout_ms = specs[n].retries = -1;
        specs[n].max_recv_speed = specs[n].max_send_speed = -1;
        specs[n].low_speed_bytes_per_sec = specs[n].low_speed_time_ms = -1;
        n++;
    }
    if (n == 0) return;
    httpring_code rc = httpring_client_send_many(client, specs, (size_t)n, hs, codes);
    bump(&c_api_many);
    int refused_any = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] == 0) { /* invalid URL */
            if (hs[i] != 0) {
                bump(&c_invalid_accepted);
                DETAIL("invalid URL \"%s\" was accepted by send_many", plans[i].url);
                httpring_handle_free(client, hs[i]);
            } else {
                refused_any = 1;
                bump(&c_refused);
                bump_code(c_refused_codes, codes[i]);
                if (codes[i] != HTTPRING_ERR_INVALID_URL && codes[i] != HTTPRING_ERR_UNSUPPORTED_SCHEME)
                    bump(&c_unexpected);
            }
            continue;
        }
        if (hs[i] == 0) {
            refused_any = 1;
            refuse_record(s, ids[i], codes[i]);
        } else {
            accept_record(s, ids[i], hs[i], lanes[i]);
        }
    }
    if ((rc == HTTPRING_OK) == refused_any) {
        bump(&c_unexpected);
        DETAIL("send_many returned %s with%s refusals", httpring_error_name(rc), refused_any ? "" : " no");
    }
}

/* Cancel a random request of this thread (pending, or a body being read). */
static void random_cancel(struct submitter *s) {
    uint64_t id = s->lanes[rnd_below(&s->rng, (uint32_t)opt_inflight)];
    if (id == 0) return;
    lock_id(id);
    rec_t *r = rec_of(id);
    httpring_handle h = (r->id == id && !r->done && r->owner != 2) ? r->h : 0;
    if (opt_skip_stream_cancel && is_stream(r->route)) h = 0; /* its HEAD may be in already */
    int route = r->route;
    /* Marked before the call: the CANCELLED completion may be drained before it returns. */
    if (h != 0 && !r->cancelled) {
        r->cancelled = 1;
        r->t_cancel = now_ms();
    }
    unlock_id(id);
    if (h == 0) return;
    bump(&c_cancels);
    httpring_code code = httpring_handle_cancel(client, h);
    bump_code(c_cancel_results, code);
    if (code != HTTPRING_OK && code != HTTPRING_ERR_INVALID_HANDLE) { /* freed meanwhile by the collector */
        bump(&c_unexpected);
        DETAIL("cancel of %s returned %s", route_name[route], httpring_error_name(code));
    }
}

/* Free a random request of this thread that the collector has not taken yet. */
static void random_free(struct submitter *s) {
    uint64_t id = s->lanes[rnd_below(&s->rng, (uint32_t)opt_inflight)];
    if (id == 0) return;
    lock_id(id);
    rec_t *r = rec_of(id);
    if (r->id != id || r->resolved || r->owner != 0 || r->h == 0) {
        unlock_id(id);
        return;
    }
    httpring_handle h = r->h;
    int route = r->route;
    r->owner = 2;
    r->resolved = 1;
    bump(&c_completed);
    bump(&c_freed_pending);
    atomic_fetch_sub(&inflight[s->index], 1);
    unlock_id(id);
    httpring_code code = httpring_handle_free(client, h);
    if (code != HTTPRING_OK) {
        bump(&c_free_errors);
        DETAIL("free of pending %s returned %s", route_name[route], httpring_error_name(code));
    }
    lock_id(id);
    r->free_seq = atomic_fetch_add(&seqclock, 1);
    r->done = 1;
    unlock_id(id);
}

static void *submitter_main(void *arg) {
    struct submitter *s = arg;
    while (!atomic_load(&stop_submit)) {
        uint32_t act = rnd_below(&s->rng, 1000);
        if (act < 15) random_cancel(s);
        else if (act < 25) random_free(s);
        int room_left = opt_inflight - atomic_load(&inflight[s->index]);
        if (room_left <= 0) {
            atomic_store(&waiting[s->index], 1);
            if (atomic_load(&inflight[s->index]) < opt_inflight) {
                atomic_store(&waiting[s->index], 0);
                continue;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 20 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            sem_timedwait(&room[s->index], &ts);
            atomic_store(&waiting[s->index], 0);
            continue;
        }
        int route = pick_route(&s->rng);
        if (is_stream(route) && atomic_load(&active_streams) >= MAX_STREAMS) route = R_HELLO;
        struct plan p;
        make_plan(&s->rng, route, &p);
        if (route == R_INVALID) {
            submit_invalid(s, &p);
            continue;
        }
        uint32_t api = rnd_below(&s->rng, 10);
        if (!needs_builder(route) && api < 3 && room_left >= 2) {
            submit_batch(s, room_left);
            continue;
        }
        int lane = free_lane(s);
        if (lane < 0) continue;
        if (needs_builder(route) || needs_timeout(route) || api < 7) submit_builder(s, &p, lane);
        else submit_simple(s, &p, lane);
    }
    return NULL;
}

/* ---------------------------------------------------------------- collector */

static const char gzip_text[] = "line 0: the quick brown fox jumps over the lazy dog\nline 1: the";

static int body_is_pattern(const uint8_t *b, size_t len, uint64_t offset) {
    size_t at = 0;
    while (at < len) {
        size_t chunk = len - at < READ_BUF ? len - at : READ_BUF;
        if (memcmp(b + at, pattern + ((offset + at) % 26), chunk) != 0) return 0;
        at += chunk;
    }
    return 1;
}

static void bad_body(uint64_t id, int route, const char *why) {
    bump(&c_bad_body);
    DETAIL("bad response: id %" PRIu64 " %s: %s", id, route_name[route], why);
}

/* The handle is the collector's: frees it and retires the record. */
static void retire(uint64_t id, httpring_handle h, int was_stream) {
    httpring_code code = httpring_handle_free(client, h);
    if (code != HTTPRING_OK) {
        bump(&c_free_errors);
        DETAIL("free of id %" PRIu64 " returned %s", id, httpring_error_name(code));
    }
    lock_id(id);
    rec_t *r = rec_of(id);
    if (r->id == id) {
        r->free_seq = atomic_fetch_add(&seqclock, 1);
        r->done = 1;
        r->streaming = 0;
    }
    unlock_id(id);
    if (was_stream) atomic_fetch_sub(&active_streams, 1);
}

static void unexpected(uint64_t id, httpring_handle h, int route, const char *what, httpring_code code,
                       int status) {
    bump(&c_unexpected);
    bump_code(c_unexpected_by[route], code);
    char msg[200] = "";
    size_t len = 0;
    httpring_handle_error_message(client, h, msg, sizeof msg, &len);
    if (code == HTTPRING_ERR_INTERNAL) { /* a caught panic in the engine: always worth a line */
        bump(&c_internal);
        fprintf(stderr, "soak: INTERNAL: id %" PRIu64 " %s: %s (%s)\n", id, route_name[route], what, msg);
    }
    DETAIL("unexpected: id %" PRIu64 " %s: %s %s status %d (%s)", id, route_name[route], what,
           httpring_error_name(code), status, msg);
}

/* Checks a non-streamed response. */
static void check_done(uint64_t id, httpring_handle h, int route, uint32_t n, httpring_code code,
                       int cancelled) {
    int want_ok = route == R_HELLO || route == R_BYTES || route == R_DELAY || route == R_DRIP ||
                  route == R_STATUS503 || route == R_REDIRECT || route == R_GZIP || route == R_UPLOAD;
    if (cancelled && code == HTTPRING_ERR_CANCELLED) return;
    if (want_ok) {
        if (code != HTTPRING_OK) {
            unexpected(id, h, route, "completed with", code, 0);
            return;
        }
    } else {
        int ok = (route == R_DELAY_TIMEOUT && code == HTTPRING_ERR_TIMEOUT) ||
                 (route == R_STALL && code == HTTPRING_ERR_TIMEOUT) ||
                 (route == R_STALL_BODY && code == HTTPRING_ERR_READ_TIMEOUT) ||
                 (route == R_LIE && (code == HTTPRING_ERR_IO || code == HTTPRING_ERR_PROTOCOL)) ||
                 (route == R_REFUSED && code == HTTPRING_ERR_CONNECT_REFUSED);
        if (!ok) unexpected(id, h, route, "completed with", code, 0);
        return;
    }
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    httpring_code rc = httpring_handle_response(client, h, &r);
    if (rc != HTTPRING_OK) {
        unexpected(id, h, route, "handle_response returned", rc, 0);
        return;
    }
    int want_status = route == R_STATUS503 ? 503 : 200;
    if (r.status != want_status) {
        unexpected(id, h, route, "status", rc, r.status);
        return;
    }
    switch (route) {
    case R_HELLO:
        if (r.body_len != 13 || memcmp(r.body, "Hello, world!", 13) != 0) bad_body(id, route, "not Hello, world!");
        break;
    case R_BYTES:
        if (r.body_len != n || !body_is_pattern(r.body, r.body_len, 0)) bad_body(id, route, "length or bytes");
        break;
    case R_DELAY:
        if (r.body_len != 2 || memcmp(r.body, "ok", 2) != 0) bad_body(id, route, "not ok");
        break;
    case R_DRIP:
        for (size_t i = 0; i < r.body_len; i++)
            if (r.body[i] != 'x') n = UINT32_MAX;
        if (r.body_len != n) bad_body(id, route, "not the drips");
        break;
    case R_STATUS503:
        if (r.body_len != 10 || memcmp(r.body, "status 503", 10) != 0) bad_body(id, route, "not status 503");
        break;
    case R_REDIRECT: {
        size_t hops = 0;
        httpring_response_redirect_count(client, h, &hops);
        if (r.body_len != 10 || memcmp(r.body, "redirected", 10) != 0 || hops != n)
            bad_body(id, route, "not redirected, or the wrong hop count");
        break;
    }
    case R_UPLOAD: {
        char want[48];
        int k = snprintf(want, sizeof want, "{\"received\": %u,", n);
        if (r.body_len < (size_t)k || memcmp(r.body, want, (size_t)k) != 0)
            bad_body(id, route, "the server did not receive the whole upload");
        break;
    }
    case R_GZIP: {
        size_t cmp = n < sizeof gzip_text - 1 ? n : sizeof gzip_text - 1;
        if (r.body_len != n || memcmp(r.body, gzip_text, cmp) != 0) bad_body(id, route, "decoded text");
        break;
    }
    }
}

static uint8_t read_buf[READ_BUF];

/* Reads a streamed body until PENDING, its end, an error, or the plan says stop. */
static httpring_code read_stream(uint64_t id, httpring_handle h) {
    lock_id(id);
    rec_t *r = rec_of(id);
    if (r->id != id || !r->streaming) {
        unlock_id(id);
        return HTTPRING_ERR_NOT_FOUND;
    }
    httpring_code first = HTTPRING_ERR_NOT_FOUND;
    int route = r->route, splan = r->splan;
    uint64_t got = r->got, limit = r->limit, newlines = r->newlines;
    uint32_t n = r->n;
    int cancel_sent = r->cancel_sent;
    unlock_id(id);
    httpring_code code;
    size_t len = 0;
    int finished = 0, progressed = 0;
    for (;;) {
        len = 0;
        code = httpring_handle_read(client, h, read_buf, sizeof read_buf, &len);
        if (first == HTTPRING_ERR_NOT_FOUND) first = code;
        if (code == HTTPRING_OK && len > 0) {
            progressed = 1;
            if (route == R_STREAM) {
                if (!body_is_pattern(read_buf, len, got)) bad_body(id, route, "streamed bytes");
            } else {
                for (size_t i = 0; i < len; i++) newlines += read_buf[i] == '\n';
            }
            got += len;
            atomic_fetch_add_explicit(&c_body_bytes, len, memory_order_relaxed);
            if (got >= limit && splan == SP_READ_SOME_FREE) {
                bump(&c_splan[SP_READ_SOME_FREE]);
                finished = 1;
                break;
            }
            if (got >= limit && splan == SP_CANCEL_MID && !cancel_sent) {
                cancel_sent = 1;
                bump(&c_splan[SP_CANCEL_MID]);
                httpring_code cc = httpring_handle_cancel(client, h);
                bump_code(c_cancel_results, cc);
                if (cc != HTTPRING_OK) unexpected(id, h, route, "cancel mid-body returned", cc, 0);
            }
            continue;
        }
        if (code == HTTPRING_PENDING) break;
        /* The end, or an error. */
        finished = 1;
        bump_code(c_body_ends, code);
        lock_id(id);
        int cancelled = r->cancelled;
        unlock_id(id);
        int short_body = (route == R_STREAM && got != n) || (route == R_EVENTS && newlines != 2ull * n);
        if (code == HTTPRING_OK && !short_body) {
            /* the whole body */
        } else if (code == HTTPRING_OK) {
            httpring_info info = {.struct_size = sizeof(httpring_info)};
            httpring_handle_info(client, h, &info);
            char why[200];
            snprintf(why, sizeof why,
                     "the body ended (read OK, 0 bytes) after %" PRIu64 " bytes / %" PRIu64
                     " newlines of n=%u; plan %s, cancel sent mid-body %d, cancelled by a submitter %d; "
                     "bytes received %" PRIu64 ", content-length %" PRId64,
                     got, newlines, n, stream_plan_name[splan], cancel_sent, cancelled, info.bytes_received,
                     info.content_length);
            bad_body(id, route, why);
        } else if (!(code == HTTPRING_ERR_CANCELLED && (cancel_sent || cancelled))) {
            unexpected(id, h, route, "body ended with", code, 200);
        }
        break;
    }
    lock_id(id);
    if (r->id == id) {
        r->got = got;
        r->newlines = newlines;
        r->cancel_sent = (uint8_t)cancel_sent;
        if (progressed) r->last_progress = now_ms();
    }
    unlock_id(id);
    if (finished) retire(id, h, 1);
    return first;
}

/* Streams reported hung (no BODY event came): the collector reads them once more, so one lost
 * event does not keep a handle and its connection for the rest of the run. */
static pthread_mutex_t rescue_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    uint64_t id;
    httpring_handle h;
} rescue_q[64];
static int rescue_n;
static counter c_rescued;

static void rescue_later(uint64_t id, httpring_handle h) {
    pthread_mutex_lock(&rescue_mu);
    if (rescue_n < 64) {
        rescue_q[rescue_n].id = id;
        rescue_q[rescue_n].h = h;
        rescue_n++;
    }
    pthread_mutex_unlock(&rescue_mu);
}

static void rescue_now(void) {
    pthread_mutex_lock(&rescue_mu);
    int n = rescue_n;
    uint64_t ids[64];
    httpring_handle hs[64];
    for (int i = 0; i < n; i++) ids[i] = rescue_q[i].id, hs[i] = rescue_q[i].h;
    rescue_n = 0;
    pthread_mutex_unlock(&rescue_mu);
    for (int i = 0; i < n; i++) {
        httpring_code code = read_stream(ids[i], hs[i]);
        bump(&c_rescued);
        DETAIL("hung stream id %" PRIu64 " read again without an event: the read returned %s", ids[i],
               httpring_error_name(code));
    }
}

static void process(const httpring_completion *c, uint64_t dseq, uint64_t *rng) {
    uint64_t id = c->user_data;
    if (id == 0) return; /* an invalid URL that was accepted: counted at submit */
    lock_id(id);
    rec_t *r = rec_of(id);
    if (r->id != id) {
        unlock_id(id);
        if (c->event == HTTPRING_EVENT_BODY) bump(&c_body_stray);
        else bump(&c_strays);
        DETAIL("stray completion: id %" PRIu64 " event %u code %s (slot holds %" PRIu64 ")", id,
               (unsigned)c->event, httpring_error_name(c->code), r->id);
        return;
    }
    if (r->h != 0 && r->h != c->handle) bump(&c_handle_mismatch);
    if (c->event == HTTPRING_EVENT_BODY) {
        bump(&c_body_events);
        if (r->streaming) {
            unlock_id(id);
            read_stream(id, c->handle);
            return;
        }
        if (r->free_seq != 0 && r->free_seq < dseq) {
            bump(&c_after_free);
            DETAIL("BODY for id %" PRIu64 " (%s) drained after its handle was freed", id, route_name[r->route]);
        } else if (r->terminals == 0 && r->owner != 2) {
            bump(&c_body_before_head);
            DETAIL("BODY before HEAD: id %" PRIu64 " (%s)", id, route_name[r->route]);
        } else if (!is_stream(r->route)) {
            bump(&c_unexpected);
            DETAIL("BODY for a request not streamed: id %" PRIu64 " (%s)", id, route_name[r->route]);
        }
        unlock_id(id);
        return;
    }
    /* DONE or HEAD: exactly once per request. */
    r->terminals++;
    if (r->terminals > 1) {
        bump(&c_duplicates);
        DETAIL("duplicate: id %" PRIu64 " (%s) completed %u times (event %u, code %s)", id,
               route_name[r->route], r->terminals, (unsigned)c->event, httpring_error_name(c->code));
        unlock_id(id);
        return;
    }
    if (opt_callback && atomic_load(&cb_count[id % RING]) == 0) {
        bump(&c_cb_order);
        DETAIL("id %" PRIu64 " drained before its callback ran", id);
    }
    bump_code(c_codes, c->code);
    if (r->owner == 2) { /* the submitter freed it while pending */
        bump(&c_late);
        if (r->free_seq != 0 && r->free_seq < dseq) {
            bump(&c_after_free);
            DETAIL("completion of id %" PRIu64 " (%s) drained after its handle was freed", id,
                   route_name[r->route]);
        }
        unlock_id(id);
        return;
    }
    r->owner = 1;
    r->resolved = 1;
    bump(&c_completed);
    bump(&c_drained);
    int thread = r->thread, route = r->route, cancelled = r->cancelled;
    uint32_t n = r->n;
    atomic_fetch_sub(&inflight[thread], 1);
    if (atomic_exchange(&waiting[thread], 0)) sem_post(&room[thread]);
    int stream = 0;
    if (c->event == HTTPRING_EVENT_HEAD) {
        if (!is_stream(route) || c->code != HTTPRING_OK || c->status != 200) {
            unlock_id(id);
            unexpected(id, c->handle, route, "HEAD with", c->code, c->status);
            retire(id, c->handle, 0);
            return;
        }
        stream = 1;
        uint32_t x = rnd_below(rng, 100);
        r->splan = x < 70 ? SP_READ_ALL : x < 82 ? SP_READ_SOME_FREE : x < 92 ? SP_CANCEL_MID : SP_FREE_AT_HEAD;
        if (opt_skip_stream_cancel && r->splan == SP_CANCEL_MID) r->splan = SP_READ_ALL;
        uint64_t total = route == R_STREAM ? n : 2ull * n * 16;
        r->limit = total ? 1 + rnd(rng) % total : 1;
        r->streaming = 1;
        r->last_progress = now_ms();
        atomic_fetch_add(&active_streams, 1);
    }
    int splan = r->splan;
    unlock_id(id);
    if (stream) {
        if (splan == SP_FREE_AT_HEAD) {
            bump(&c_splan[SP_FREE_AT_HEAD]);
            retire(id, c->handle, 1);
        } else {
            if (splan == SP_READ_ALL) bump(&c_splan[SP_READ_ALL]);
            read_stream(id, c->handle);
        }
        return;
    }
    if (is_stream(route) && c->code == HTTPRING_OK) {
        unexpected(id, c->handle, route, "streamed request completed with DONE and", c->code, c->status);
    } else if (is_stream(route)) {
        if (!(cancelled && c->code == HTTPRING_ERR_CANCELLED))
            unexpected(id, c->handle, route, "streamed request failed with", c->code, c->status);
    } else {
        check_done(id, c->handle, route, n, c->code, cancelled);
    }
    retire(id, c->handle, 0);
}

static void *collector_main(void *arg) {
    uint64_t rng = *(uint64_t *)arg;
    enum { CAP = 256 };
    static httpring_completion done[CAP];
    int fd = httpring_client_fd(client);
    while (!atomic_load(&stop_collect)) {
        done[0].struct_size = sizeof(httpring_completion);
        size_t got = 0;
        uint64_t dseq;
        httpring_code code;
        if (rnd_below(&rng, 2)) {
            dseq = atomic_fetch_add(&seqclock, 1);
            size_t min = rnd_range(&rng, 1, 8);
            code = httpring_client_wait_drain(client, done, CAP, min, 50, &got);
        } else {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 50) <= 0) continue;
            dseq = atomic_fetch_add(&seqclock, 1);
            code = httpring_client_drain(client, done, CAP, &got);
        }
        if (code != HTTPRING_OK && code != HTTPRING_PENDING) {
            DETAIL("drain returned %s", httpring_error_name(code));
            bump(&c_unexpected);
            sleep_ms(10);
            continue;
        }
        for (size_t i = 0; i < got; i++) process(&done[i], dseq, &rng);
        rescue_now();
    }
    return NULL;
}

/* ---------------------------------------------------------------- monitor */

struct snapshot {
    uint64_t submitted, completed, in_flight, streams, not_done, new_hangs;
    double rss;
    int fds;
    size_t live;
};

static void lock_all(void) {
    for (unsigned i = 0; i < STRIPES; i++) pthread_mutex_lock(&stripes[i]);
}
static void unlock_all(void) {
    for (unsigned i = STRIPES; i-- > 0;) pthread_mutex_unlock(&stripes[i]);
}

struct hang_note {
    uint64_t id;
    httpring_handle h;
    int route, streaming, cancelled, cancel_sent, splan;
    double age, since;
    uint64_t got;
    char url[96];
};

/* Freezes the records, counts what is in flight and finds hangs. */
static void take_snapshot(struct snapshot *s, int report_hangs) {
    struct hang_note notes[8];
    int nn = 0;
    memset(s, 0, sizeof *s);
    lock_all();
    double t = now_ms();
    s->submitted = get(&c_submitted);
    s->completed = get(&c_completed);
    for (uint32_t i = 0; i < RING; i++) {
        rec_t *r = &ring[i];
        if (r->id == 0 || r->done) continue;
        s->not_done++;
        int hang = 0;
        double since = 0;
        if (!r->resolved) {
            s->in_flight++;
            double limit = r->deadline;
            if (r->cancelled && r->t_cancel < limit) limit = r->t_cancel;
            if (t > limit + opt_slack_ms) hang = 1, since = t - limit;
        } else if (r->streaming) {
            s->streams++;
            double limit = r->last_progress + (double)r->read_timeout_ms;
            if (r->cancelled && r->t_cancel > 0 && r->t_cancel < limit) limit = r->t_cancel; /* announced at once */
            if (t > limit + opt_slack_ms) hang = 1, since = t - limit;
        }
        if (hang && !r->hung && report_hangs) {
            r->hung = 1;
            s->new_hangs++;
            bump(&c_hangs);
            if (nn < 8) {
                struct hang_note *h = &notes[nn++];
                h->id = r->id;
                h->h = r->h;
                h->route = r->route;
                h->streaming = r->streaming;
                h->cancelled = r->cancelled;
                h->cancel_sent = r->cancel_sent;
                h->splan = r->splan;
                h->age = t - r->t_submit;
                h->since = since;
                h->got = r->got;
                snprintf(h->url, sizeof h->url, "%s", r->url);
            }
        }
    }
    unlock_all();
    for (int i = 0; i < nn; i++) {
        struct hang_note *h = &notes[i];
        httpring_state st = 99;
        httpring_code pc = httpring_handle_poll(client, h->h, &st);
        httpring_info info = {.struct_size = sizeof(httpring_info)};
        httpring_handle_info(client, h->h, &info);
        fprintf(stderr,
                "soak: HANG id %" PRIu64 " %s %s: %s, %.1f s old, %.1f s past its deadline%s%s%s%s; poll %s state %u, "
                "attempts %u, bytes received %" PRIu64 ", read %" PRIu64 "\n",
                h->id, route_name[h->route], h->url, h->streaming ? "streaming, no BODY event" : "pending",
                h->age / 1000, h->since / 1000, h->cancelled ? ", cancelled by a submitter" : "",
                h->cancel_sent ? ", cancelled mid-body by the reader" : "", h->streaming ? "; plan " : "",
                h->streaming ? stream_plan_name[h->splan] : "", short_name(pc), (unsigned)st, info.attempts,
                info.bytes_received, h->got);
        if (h->streaming) rescue_later(h->id, h->h);
    }
    s->rss = rss_mib();
    s->fds = open_fds();
    httpring_client_live_handles(client, &s->live);
}

/* ---------------------------------------------------------------- main */

static double parse_duration(const char *s) {
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || v < 0) return -1;
    if (*end == '\0' || strcmp(end, "s") == 0) return v;
    if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) return v * 60;
    if (strcmp(end, "h") == 0) return v * 3600;
    return -1;
}

static void usage(void) {
    fprintf(stderr,
            "usage: soak [--duration 60s|30m|1h|SECONDS] [--threads N] [--inflight K] [--seed S]\n"
            "            [--h2c] [--callback] [--skip-stream-cancel] [--slack-ms MS] [--warmup SECONDS]\n"
            "            [--label NAME]\n");
    exit(2);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    opt_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--h2c") == 0) opt_h2c = 1;
        else if (strcmp(a, "--callback") == 0) opt_callback = 1;
        else if (strcmp(a, "--skip-stream-cancel") == 0) opt_skip_stream_cancel = 1;
        else if (!v) usage();
        else if (strcmp(a, "--duration") == 0 || strcmp(a, "-d") == 0) opt_duration = parse_duration(v), i++;
        else if (strcmp(a, "--threads") == 0 || strcmp(a, "-t") == 0) opt_threads = atoi(v), i++;
        else if (strcmp(a, "--inflight") == 0 || strcmp(a, "-k") == 0) opt_inflight = atoi(v), i++;
        else if (strcmp(a, "--seed") == 0) opt_seed = strtoull(v, NULL, 0), i++;
        else if (strcmp(a, "--slack-ms") == 0) opt_slack_ms = atof(v), i++;
        else if (strcmp(a, "--warmup") == 0) opt_warmup = atof(v), i++;
        else if (strcmp(a, "--label") == 0) opt_label = v, i++;
        else usage();
    }
    if (opt_duration <= 0 || opt_threads < 1 || opt_threads > MAX_THREADS || opt_inflight < 1 ||
        opt_inflight > MAX_INFLIGHT)
        usage();
    if (opt_seed == 0) opt_seed = 1;
    base_url = getenv("HTTPRING_TEST_URL");
    if (!base_url || !*base_url) {
        fprintf(stderr, "soak: HTTPRING_TEST_URL is not set: run under scripts/with_server.sh\n");
        return 2;
    }
    page_size = sysconf(_SC_PAGESIZE);
    double warmup = opt_warmup >= 0 ? opt_warmup : (opt_duration * 0.25 < 10 ? opt_duration * 0.25 : 10);

    /* A port bound but not listening: connecting to it is refused. Kept for the run. */
    int refuse_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t salen = sizeof sa;
    if (refuse_fd < 0 || bind(refuse_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(refuse_fd, (struct sockaddr *)&sa, &salen) != 0) {
        perror("soak: refused port");
        return 2;
    }
    snprintf(refused_url, sizeof refused_url, "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));

    ring = malloc(sizeof(rec_t) * RING);
    if (!ring) return 2;
    memset(ring, 0, sizeof(rec_t) * RING); /* touched now, so RSS does not grow as ids go round */
    for (unsigned i = 0; i < STRIPES; i++) pthread_mutex_init(&stripes[i], NULL);
    for (unsigned i = 0; i < sizeof pattern; i++) pattern[i] = (uint8_t)('a' + i % 26);

    /* One throwaway client first: the first runtime makes process-wide descriptors that live
     * until exit (tokio's signal driver: a socketpair), which are not the soak client's. */
    {
        httpring_client *warm = httpring_client_new(NULL);
        char url[256];
        snprintf(url, sizeof url, "%s/hello", base_url);
        httpring_handle h = 0;
        if (warm && httpring_client_get(warm, url, 0, &h) == HTTPRING_OK) {
            httpring_handle_wait(warm, h, 10000, NULL);
            httpring_handle_free(warm, h);
        }
        httpring_client_free(warm);
    }
    int fds_before_client = open_fds();
    if (getenv("SOAK_LIST_FDS")) {
        printf("fds before the client:\n");
        list_fds(stdout);
    }
    double rss_before_client = rss_mib();

    httpring_config *cfg = httpring_config_new();
    httpring_config_set_timeout_ms(cfg, CLIENT_TIMEOUT_MS);
    httpring_config_set_read_timeout_ms(cfg, CLIENT_READ_TIMEOUT_MS);
    httpring_config_set_connect_timeout_ms(cfg, CLIENT_CONNECT_TIMEOUT_MS);
    httpring_config_set_follow_redirects(cfg, true);
    if (opt_h2c) httpring_config_set_h2c_prior_knowledge(cfg, true);
    client = httpring_client_new(cfg);
    httpring_config_free(cfg);
    if (!client) {
        fprintf(stderr, "soak: httpring_client_new failed\n");
        return 2;
    }
    if (opt_callback) httpring_client_set_callback(client, on_completion, NULL);

    printf("soak: %s for %.0f s, %d threads x %d in flight on one client, %s%s%s, seed %" PRIu64
           ", warm-up %.0f s, slack %.0f ms, library %s\n",
           base_url, opt_duration, opt_threads, opt_inflight, opt_h2c ? "HTTP/2 (h2c)" : "HTTP/1.1",
           opt_callback ? ", completion callback on" : "", opt_skip_stream_cancel ? ", no cancels of streamed requests" : "", opt_seed, warmup, opt_slack_ms, httpring_version());

    static struct submitter subs[MAX_THREADS];
    for (int i = 0; i < opt_threads; i++) sem_init(&room[i], 0, 0);
    pthread_t collector;
    uint64_t collector_seed = opt_seed * 0x9E3779B97F4A7C15ULL + 12345;
    pthread_create(&collector, NULL, collector_main, &collector_seed);
    double t0 = now_ms();
    for (int i = 0; i < opt_threads; i++) {
        subs[i].index = i;
        subs[i].rng = (opt_seed + (uint64_t)i + 1) * 0x9E3779B97F4A7C15ULL;
        pthread_create(&subs[i].thread, NULL, submitter_main, &subs[i]);
    }

    struct snapshot snap;
    double base_rss = -1, peak_rss = 0, end_rss = 0;
    int base_fds = -1, peak_fds = 0, end_fds = 0;
    double base_at = 0;
    uint64_t last_completed = 0, lost_max = 0;
    double next = t0 + 1000;
    for (;;) {
        double t = now_ms();
        if (t < next) {
            sleep_ms(next - t);
            continue;
        }
        next += 1000;
        double elapsed = (now_ms() - t0) / 1000;
        take_snapshot(&snap, 1);
        int64_t lost = (int64_t)snap.submitted - (int64_t)snap.completed - (int64_t)snap.in_flight;
        if (lost != 0 && (uint64_t)llabs(lost) > lost_max) lost_max = (uint64_t)llabs(lost);
        if (base_rss < 0 && elapsed >= warmup) {
            base_rss = snap.rss;
            base_fds = snap.fds;
            base_at = elapsed;
        }
        if (base_rss >= 0) {
            if (snap.rss > peak_rss) peak_rss = snap.rss;
            if (snap.fds > peak_fds) peak_fds = snap.fds;
        }
        end_rss = snap.rss;
        end_fds = snap.fds;
        printf("[%6.0fs] done %" PRIu64 " (+%" PRIu64 "/s) in flight %" PRIu64 " streams %" PRIu64
               " lost %" PRId64 " dup %" PRIu64 " hang %" PRIu64 " unexp %" PRIu64 " | ",
               elapsed, snap.completed, snap.completed - last_completed, snap.in_flight, snap.streams, lost,
               get(&c_duplicates), get(&c_hangs), get(&c_unexpected));
        print_codes(stdout, c_codes);
        printf(" | rss %.1f MiB fds %d live %zu\n", snap.rss, snap.fds, snap.live);
        last_completed = snap.completed;
        if (elapsed >= opt_duration - 0.001) break;
    }

    /* Stop submitting; wait (bounded) for what is in flight and the bodies being read. */
    atomic_store(&stop_submit, 1);
    for (int i = 0; i < opt_threads; i++) {
        sem_post(&room[i]);
        pthread_join(subs[i].thread, NULL);
    }
    double wait_limit = CLIENT_TIMEOUT_MS + CLIENT_READ_TIMEOUT_MS + opt_slack_ms + 5000;
    double t_stop = now_ms();
    for (;;) {
        take_snapshot(&snap, 1);
        if (snap.not_done == 0 || now_ms() - t_stop > wait_limit) break;
        sleep_ms(100);
    }
    double drain_s = (now_ms() - t_stop) / 1000;
    atomic_store(&stop_collect, 1);
    pthread_join(collector, NULL);
    take_snapshot(&snap, 0);
    int64_t lost_final = (int64_t)snap.submitted - (int64_t)snap.completed - (int64_t)snap.in_flight;
    uint64_t never_completed = snap.in_flight;
    if (snap.not_done) {
        lock_all();
        int shown = 0;
        for (uint32_t i = 0; i < RING && shown < 20; i++) {
            rec_t *r = &ring[i];
            if (r->id == 0 || r->done) continue;
            fprintf(stderr, "soak: LEFT id %" PRIu64 " %s %s: resolved %d owner %d streaming %d cancelled %d, "
                    "%.1f s old\n", r->id, route_name[r->route], r->url, r->resolved, r->owner, r->streaming,
                    r->cancelled, (now_ms() - r->t_submit) / 1000);
            shown++;
        }
        unlock_all();
    }
    size_t live_end = 0;
    httpring_client_live_handles(client, &live_end);
    httpring_stats st = {.struct_size = sizeof(httpring_stats)};
    httpring_client_stats(client, &st);
    httpring_code free_rc = httpring_client_free(client);
    sleep_ms(200);
    int fds_after_free = open_fds();
    if (fds_after_free > fds_before_client || getenv("SOAK_LIST_FDS")) {
        printf("fds after client_free:\n");
        list_fds(stdout);
    }
    double rss_after_free = rss_mib();
    /* Callback mode: every request had exactly one terminal callback (freed ones included). */
    if (opt_callback)
        for (uint32_t i = 0; i < RING; i++) {
            rec_t *r = &ring[i];
            if (r->id != 0 && r->submitted && atomic_load(&cb_count[i]) != 1) {
                bump(&c_cb_missing);
                DETAIL("callback: id %" PRIu64 " (%s) had %u terminal callbacks at the end", r->id,
                       route_name[r->route], atomic_load(&cb_count[i]));
            }
        }
    close(refuse_fd);

    double run_s = (t_stop - t0) / 1000;
    uint64_t submitted = get(&c_submitted);
    printf("\n=== soak summary (%.0f s of traffic, %s, %d threads x %d, seed %" PRIu64 "%s%s)\n", run_s,
           opt_h2c ? "h2c" : "HTTP/1.1", opt_threads, opt_inflight, opt_seed, opt_callback ? ", callback" : "",
           opt_skip_stream_cancel ? ", no cancels of streamed requests" : "");
    printf("requests: submitted %" PRIu64 " (%.0f/s), completed %" PRIu64 " (drained %" PRIu64
           ", freed while pending %" PRIu64 ", of those drained anyway %" PRIu64 "), refused at submit %" PRIu64 "\n",
           submitted, submitted / run_s, get(&c_completed), get(&c_drained), get(&c_freed_pending), get(&c_late),
           get(&c_refused));
    printf("submit calls: builder %" PRIu64 ", get %" PRIu64 ", send %" PRIu64 ", send_many %" PRIu64 "\n",
           get(&c_api_builder), get(&c_api_get), get(&c_api_send), get(&c_api_many));
    printf("routes:");
    for (int i = 0; i < R_COUNT; i++) printf("%s %s %" PRIu64, i ? "," : "", route_name[i], get(&c_route[i]));
    printf("\nfaults injected: stall %" PRIu64 ", stall-body %" PRIu64 ", lie %" PRIu64 ", delay-timeout %" PRIu64
           ", refused port %" PRIu64 ", invalid URL %" PRIu64 ", 503 %" PRIu64 ", cancels %" PRIu64
           ", frees while pending %" PRIu64 ", streams: %s %" PRIu64 ", %s %" PRIu64 ", %s %" PRIu64 ", %s %" PRIu64 "\n",
           get(&c_route[R_STALL]), get(&c_route[R_STALL_BODY]), get(&c_route[R_LIE]), get(&c_route[R_DELAY_TIMEOUT]),
           get(&c_route[R_REFUSED]), get(&c_route[R_INVALID]), get(&c_route[R_STATUS503]), get(&c_cancels),
           get(&c_freed_pending), stream_plan_name[0], get(&c_splan[0]), stream_plan_name[1], get(&c_splan[1]),
           stream_plan_name[2], get(&c_splan[2]), stream_plan_name[3], get(&c_splan[3]));
    printf("completions by code: ");
    print_codes(stdout, c_codes);
    printf("\nstreamed body ends by code: ");
    print_codes(stdout, c_body_ends);
    printf(" (BODY events %" PRIu64 ", %.1f MiB read)\nrefused at submit by code: ", get(&c_body_events),
           get(&c_body_bytes) / 1048576.0);
    print_codes(stdout, c_refused_codes);
    printf("\ncancel results: ");
    print_codes(stdout, c_cancel_results);
    if (get(&c_unexpected)) {
        printf("\nunexpected outcomes by route (code, or status with OK):");
        for (int i = 0; i < R_COUNT; i++) {
            uint64_t any = 0;
            for (int k = 0; k < MAX_CODES; k++) any += get(&c_unexpected_by[i][k]);
            if (!any) continue;
            printf("\n  %s: ", route_name[i]);
            print_codes(stdout, c_unexpected_by[i]);
        }
    }
    if (opt_callback) printf("\ncallbacks: %" PRIu64 " calls", get(&c_cb_calls));
    printf("\nengine: connections opened %zu, pooled at the end %zu, live handles at the end %zu; client_free %s\n",
           st.connections_opened, st.pooled_connections, live_end, short_name(free_rc));
    printf("RSS: %.1f MiB before the client, baseline %.1f MiB at %.0f s, end %.1f MiB, peak %.1f MiB "
           "(limit %.1f), %.1f MiB after client_free\n",
           rss_before_client, base_rss, base_at, end_rss, peak_rss, base_rss * 1.2 + 16, rss_after_free);
    printf("fds: %d before the client, baseline %d, end %d, peak %d (limit %d), %d after client_free\n",
           fds_before_client, base_fds, end_fds, peak_fds, base_fds + 64, fds_after_free);
    printf("final wait: %.1f s for the last requests; hung streams read again: %" PRIu64
           "; ids skipped (their ring slot still busy): %" PRIu64 "\n", drain_s, get(&c_rescued), get(&c_collisions));

    struct {
        const char *what;
        uint64_t value;
    } checks[] = {
        {"lost (submitted - completed - in flight, worst seen)", lost_max},
        {"lost at the end", (uint64_t)llabs(lost_final)},
        {"never completed (in flight after the final wait)", never_completed},
        {"records not retired after the final wait", snap.not_done},
        {"duplicates", get(&c_duplicates)},
        {"stray completions (unknown id)", get(&c_strays) + get(&c_body_stray)},
        {"hangs", get(&c_hangs)},
        {"unexpected outcomes", get(&c_unexpected)},
        {"engine panics (HTTPRING_ERR_INTERNAL)", get(&c_internal)},
        {"upload callbacks after their request ended", get(&c_upload_late)},
        {"bad bodies", get(&c_bad_body)},
        {"delivered after the handle was freed", get(&c_after_free)},
        {"BODY before HEAD", get(&c_body_before_head)},
        {"handle mismatches", get(&c_handle_mismatch)},
        {"invalid URLs accepted", get(&c_invalid_accepted)},
        {"free errors", get(&c_free_errors)},
        {"duplicate callbacks", get(&c_cb_dup)},
        {"stray callbacks", get(&c_cb_stray)},
        {"missing callbacks", get(&c_cb_missing)},
        {"drained before the callback", get(&c_cb_order)},
        {"live handles at the end", live_end},
        {"RSS growth past the limit", base_rss >= 0 && end_rss > base_rss * 1.2 + 16},
        {"fd growth past the limit", base_fds >= 0 && end_fds > base_fds + 64},
        {"fds left after client_free", fds_after_free > fds_before_client ? (uint64_t)(fds_after_free - fds_before_client) : 0},
        {"no baseline (run shorter than the warm-up)", base_rss < 0},
        {"client_free failed", free_rc != HTTPRING_OK},
    };
    int failed = 0;
    printf("checks:");
    for (size_t i = 0; i < sizeof checks / sizeof *checks; i++) {
        if (checks[i].value) {
            printf("\n  FAILED: %s: %" PRIu64, checks[i].what, checks[i].value);
            failed++;
        }
    }
    if (!failed) printf(" lost = 0, duplicates = 0, hangs = 0, unexpected = 0, RSS and fds flat");
    printf("\n%s: %s: %.0f s, %s, %" PRIu64 " requests (%.0f/s), lost %" PRIu64 ", duplicates %" PRIu64
           ", hangs %" PRIu64 ", RSS %.1f -> %.1f MiB, fds %d -> %d",
           opt_label, failed ? "FAILED" : "passed", run_s, opt_h2c ? "h2c" : "HTTP/1.1", submitted, submitted / run_s,
           lost_max + never_completed, get(&c_duplicates), get(&c_hangs), base_rss, end_rss, base_fds, end_fds);
    if (failed) printf(" (%d checks failed)", failed);
    printf("\n");
    return failed ? 1 : 0;
}
