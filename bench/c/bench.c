/* httpring benchmark driver.
 *
 *   bench throughput URL [inflight=64] [requests=200000]
 *   bench latency    URL [requests=20000]
 *   bench bulk       URL [inflight=16] [requests=2000]
 *
 * Prints one line of key=value pairs: requests/s, client CPU (user+sys) per request in
 * microseconds, completions per wake-up, latency percentiles in microseconds, bytes/s.
 * Throughput mode keeps `inflight` requests outstanding: it sleeps in poll(2) on the
 * client's fd, drains completions in batches and resubmits one request per completion.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "httpring.h"

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

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, httpring_code code) {
    fprintf(stderr, "%s: %s\n", what, httpring_error_name(code));
    exit(1);
}

static int run_concurrent(httpring_client *c, const char *url, long inflight, long total, const char *mode) {
    int fd = httpring_client_fd(c);
    httpring_completion done[256];
    long submitted = 0, completed = 0, wakeups = 0, failed = 0;
    uint64_t bytes = 0;
    httpring_handle h;
    /* Warm up the pool so connection setup is not measured. */
    for (long i = 0; i < inflight; i++) {
        httpring_code rc = httpring_client_get(c, url, 0, &h);
        if (rc != HTTPRING_OK) die("submit", rc);
    }
    for (long left = inflight; left > 0;) {
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, 1000);
        size_t n = 0;
        httpring_client_drain(c, done, 256, &n);
        for (size_t i = 0; i < n; i++) httpring_handle_free(c, done[i].handle);
        left -= (long)n;
    }
    double t0 = now_s(), c0 = cpu_s();
    for (; submitted < inflight && submitted < total; submitted++) {
        httpring_code rc = httpring_client_get(c, url, (uint64_t)submitted, &h);
        if (rc != HTTPRING_OK) die("submit", rc);
    }
    while (completed < total) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0) {
            fprintf(stderr, "stalled at %ld/%ld\n", completed, total);
            return 1;
        }
        wakeups++;
        for (;;) {
            size_t n = 0;
            httpring_code rc = httpring_client_drain(c, done, 256, &n);
            if (rc != HTTPRING_OK) die("drain", rc);
            for (size_t i = 0; i < n; i++) {
                if (done[i].code != HTTPRING_OK || done[i].status != 200) failed++;
                else if (mode[0] == 'b') {
                    httpring_response r;
                    httpring_handle_response(c, done[i].handle, &r);
                    bytes += r.body_len;
                }
                httpring_handle_free(c, done[i].handle);
                completed++;
                if (submitted < total) {
                    rc = httpring_client_get(c, url, (uint64_t)submitted++, &h);
                    if (rc != HTTPRING_OK) die("submit", rc);
                }
            }
            if (n < 256) break;
        }
    }
    double wall = now_s() - t0, cpu = cpu_s() - c0;
    printf("mode=%s requests=%ld inflight=%ld failed=%ld wall_s=%.3f req_per_s=%.0f cpu_us_per_req=%.2f "
           "completions_per_wakeup=%.1f",
           mode, total, inflight, failed, wall, total / wall, cpu * 1e6 / total, (double)total / wakeups);
    if (mode[0] == 'b')
        printf(" mb_per_s=%.1f cpu_ms_per_mb=%.3f", bytes / wall / 1e6, cpu * 1e3 / (bytes / 1e6));
    printf("\n");
    return failed != 0;
}

static int run_latency(httpring_client *c, const char *url, long total) {
    uint64_t *lat = malloc(sizeof(uint64_t) * (size_t)total);
    httpring_handle h;
    httpring_state st;
    for (int i = 0; i < 100; i++) { /* warm-up */
        httpring_client_get(c, url, 0, &h);
        httpring_handle_wait(c, h, -1, &st);
        httpring_handle_free(c, h);
    }
    double c0 = cpu_s(), t0 = now_s();
    long failed = 0;
    for (long i = 0; i < total; i++) {
        double s = now_s();
        httpring_code rc = httpring_client_get(c, url, 0, &h);
        if (rc != HTTPRING_OK) die("submit", rc);
        httpring_handle_wait(c, h, -1, &st);
        if (st != HTTPRING_STATE_DONE) failed++;
        httpring_handle_free(c, h);
        lat[i] = (uint64_t)((now_s() - s) * 1e6);
    }
    double wall = now_s() - t0, cpu = cpu_s() - c0;
    qsort(lat, (size_t)total, sizeof(uint64_t), cmp_u64);
    printf("mode=latency requests=%ld failed=%ld req_per_s=%.0f cpu_us_per_req=%.2f p50_us=%llu p95_us=%llu "
           "p99_us=%llu max_us=%llu\n",
           total, failed, total / wall, cpu * 1e6 / total, (unsigned long long)lat[total / 2],
           (unsigned long long)lat[total * 95 / 100], (unsigned long long)lat[total * 99 / 100],
           (unsigned long long)lat[total - 1]);
    free(lat);
    return failed != 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s throughput|latency|bulk URL [inflight] [requests]\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1], *url = argv[2];
    httpring_client *c = httpring_client_new(NULL);
    if (!c) return 1;
    int rc;
    if (strcmp(mode, "latency") == 0) {
        rc = run_latency(c, url, argc > 3 ? atol(argv[3]) : 20000);
    } else if (strcmp(mode, "throughput") == 0) {
        rc = run_concurrent(c, url, argc > 3 ? atol(argv[3]) : 64, argc > 4 ? atol(argv[4]) : 200000, mode);
    } else if (strcmp(mode, "bulk") == 0) {
        rc = run_concurrent(c, url, argc > 3 ? atol(argv[3]) : 16, argc > 4 ? atol(argv[4]) : 2000, mode);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    httpring_client_free(c);
    return rc;
}
