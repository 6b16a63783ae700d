/* libcurl multi-interface peer for the httpring benchmark: the same command line and
 * output as bench.c, so the runner treats both alike.
 *
 *   curl_multi throughput|bulk|h2|fanout|manyhosts URL|@FILE [inflight] [requests]
 *   curl_multi latency URL [requests]
 *
 * Concurrent modes keep `inflight` easy handles busy on one multi handle (one thread,
 * curl_multi_perform + curl_multi_poll), re-adding each finished handle with the next URL.
 * h2 negotiates HTTP/2 over TLS (certificate checks off: the server's is self-signed) and
 * multiplexes every transfer on one connection. Latency mode reuses one easy handle with
 * curl_easy_perform. Exit status as bench.c: 0 ok, 1 failures, 2 usage.
 */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

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
    if (nurls == 0) exit(2);
}

static const char *url_at(long i) { return urls[(size_t)i % nurls]; }

struct xfer {
    CURL *e;
    uint64_t bytes;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
    (void)p;
    ((struct xfer *)ud)->bytes += size * n;
    return size * n;
}

static int h2;

static CURL *new_easy(struct xfer *x) {
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    /* The gzip scenario: ask for it and let libcurl decode (bench/run.py sets this). */
    const char *ae = getenv("BENCH_ACCEPT_ENCODING");
    if (ae && *ae) curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ae);
    if (h2) {
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    }
    x->e = e;
    return e;
}

/* Runs `total` transfers with `inflight` at a time; returns failures, adds bytes. */
static long pump(CURLM *m, struct xfer *xs, long inflight, long total, long first, uint64_t *bytes) {
    long submitted = 0, completed = 0, failed = 0;
    if (inflight > total) inflight = total;
    for (; submitted < inflight; submitted++) {
        xs[submitted].bytes = 0;
        curl_easy_setopt(xs[submitted].e, CURLOPT_URL, url_at(first + submitted));
        curl_multi_add_handle(m, xs[submitted].e);
    }
    while (completed < total) {
        int running = 0, q = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &q))) {
            if (msg->msg != CURLMSG_DONE) continue;
            struct xfer *x;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            long code = 0;
            curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result != CURLE_OK || code != 200) {
                if (failed++ == 0)
                    fprintf(stderr, "first failure: %s status=%ld\n", curl_easy_strerror(msg->data.result), code);
            }
            *bytes += x->bytes;
            completed++;
            curl_multi_remove_handle(m, x->e);
            if (submitted < total) {
                x->bytes = 0;
                curl_easy_setopt(x->e, CURLOPT_URL, url_at(first + submitted++));
                curl_multi_add_handle(m, x->e);
            }
        }
        if (completed < total) curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    return failed;
}

static int run_concurrent(const char *mode, long inflight, long total, int warm) {
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_PIPELINING, h2 ? (long)CURLPIPE_MULTIPLEX : (long)CURLPIPE_NOTHING);
    if (h2) curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, 1L);
    if (inflight > total) inflight = total;
    struct xfer *xs = calloc((size_t)inflight, sizeof *xs);
    for (long i = 0; i < inflight; i++) new_easy(&xs[i]);
    uint64_t bytes = 0;
    if (warm) {
        /* One request first (for h2: the connection the streams will share), then a round. */
        if (pump(m, xs, 1, 1, 0, &bytes) || pump(m, xs, inflight, inflight, 0, &bytes)) {
            fprintf(stderr, "warm-up failed\n");
            return 1;
        }
        bytes = 0;
    }
    double t0 = now_s(), c0 = cpu_s();
    long failed = pump(m, xs, inflight, total, 0, &bytes);
    double wall = now_s() - t0, cpu = cpu_s() - c0;
    printf("mode=%s requests=%ld inflight=%ld urls=%zu failed=%ld wall_s=%.4f req_per_s=%.0f cpu_us_per_req=%.2f "
           "maxrss_kb=%ld",
           mode, total, inflight, nurls, failed, wall, total / wall, cpu * 1e6 / total, maxrss_kb());
    if (mode[0] == 'b')
        printf(" bytes=%llu mb_per_s=%.1f cpu_ms_per_mb=%.3f", (unsigned long long)bytes, bytes / wall / 1e6,
               cpu * 1e3 / (bytes / 1e6));
    printf("\n");
    for (long i = 0; i < inflight; i++) curl_easy_cleanup(xs[i].e);
    curl_multi_cleanup(m);
    free(xs);
    return failed != 0;
}

static int run_latency(long total) {
    struct xfer x = {0};
    CURL *e = new_easy(&x);
    uint64_t *lat = malloc(sizeof(uint64_t) * (size_t)total);
    long failed = 0, code = 0;
    curl_easy_setopt(e, CURLOPT_URL, url_at(0));
    for (int i = 0; i < 100; i++) {
        CURLcode rc = curl_easy_perform(e);
        if (rc != CURLE_OK) {
            fprintf(stderr, "warm-up: %s\n", curl_easy_strerror(rc));
            return 1;
        }
    }
    double c0 = cpu_s(), t0 = now_s();
    for (long i = 0; i < total; i++) {
        double s = now_s();
        if (nurls > 1) curl_easy_setopt(e, CURLOPT_URL, url_at(i));
        CURLcode rc = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        if (rc != CURLE_OK || code != 200) failed++;
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
    curl_easy_cleanup(e);
    free(lat);
    return failed != 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s throughput|bulk|h2|fanout|manyhosts|latency URL|@FILE [inflight] [requests]\n",
                argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    load_urls(argv[2]);
    long a3 = argc > 3 ? atol(argv[3]) : 0, a4 = argc > 4 ? atol(argv[4]) : 0;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h2 = strcmp(mode, "h2") == 0;
    int rc;
    if (strcmp(mode, "latency") == 0) rc = run_latency(a3 ? a3 : 20000);
    else if (strcmp(mode, "throughput") == 0) rc = run_concurrent(mode, a3 ? a3 : 64, a4 ? a4 : 200000, 1);
    else if (strcmp(mode, "bulk") == 0) rc = run_concurrent(mode, a3 ? a3 : 16, a4 ? a4 : 2000, 1);
    else if (h2) rc = run_concurrent(mode, a3 ? a3 : 64, a4 ? a4 : 100000, 1);
    else if (strcmp(mode, "fanout") == 0) {
        long n = a3 ? a3 : 10000;
        rc = run_concurrent(mode, n, a4 ? a4 : n, 0);
    } else if (strcmp(mode, "manyhosts") == 0) rc = run_concurrent(mode, a3 ? a3 : 64, a4 ? a4 : 5000, 0);
    else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    curl_global_cleanup();
    return rc;
}
