/*
 * async_demo: submits several requests at once and prints each as it completes.
 *
 *   async_demo [URL...]
 *
 * Without URLs it fetches four paths of the test server at $HTTPRING_TEST_URL (start one
 * with scripts/with_server.sh). The requests run concurrently on httpring's background
 * runtime; the program blocks in httpring_handle_wait_any until the next one finishes.
 * Exits 0 if every request got a response (any HTTP status), 1 otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpring.h"

#define MAX_URLS 64

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    static const char *const default_paths[] = {"/delay/300", "/bytes/1048576", "/hello",
                                                "/delay/100"};
    char *urls[MAX_URLS];
    int n = 0;
    if (argc > 1) {
        if (argc - 1 > MAX_URLS || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
            fprintf(stderr, "usage: %s [URL...] (at most %d; default: 4 paths on $HTTPRING_TEST_URL)\n",
                    argv[0], MAX_URLS);
            return 2;
        }
        for (int i = 1; i < argc; i++) urls[n++] = strdup(argv[i]);
    } else {
        const char *base = getenv("HTTPRING_TEST_URL");
        if (base == NULL || base[0] == '\0') {
            fprintf(stderr, "usage: %s URL... (or set HTTPRING_TEST_URL, e.g. via "
                            "scripts/with_server.sh)\n", argv[0]);
            return 2;
        }
        for (size_t i = 0; i < sizeof default_paths / sizeof default_paths[0]; i++) {
            size_t len = strlen(base) + strlen(default_paths[i]) + 1;
            urls[n] = malloc(len);
            snprintf(urls[n], len, "%s%s", base, default_paths[i]);
            n++;
        }
    }

    httpring_client *client = httpring_client_new(NULL);
    if (client == NULL) {
        fprintf(stderr, "httpring_client_new failed\n");
        return 1;
    }

    /* Submit everything first: nothing blocks here. */
    httpring_handle pending[MAX_URLS];
    int index_of[MAX_URLS]; /* pending[k] is the request for urls[index_of[k]] */
    int npending = 0, failures = 0;
    double t0 = now_ms();
    printf("httpring %s: submitting %d requests at once\n", httpring_version(), n);
    for (int i = 0; i < n; i++) {
        httpring_handle h;
        httpring_code rc = httpring_client_get(client, urls[i], (uint64_t)i, &h);
        if (rc != HTTPRING_OK) {
            printf("  [%d] %s: not submitted: %s\n", i, urls[i], httpring_error_name(rc));
            failures++;
            continue;
        }
        pending[npending] = h;
        index_of[npending] = i;
        npending++;
    }

    /* Collect them in completion order. */
    double sum_ms = 0;
    while (npending > 0) {
        size_t k = 0;
        httpring_code rc = httpring_handle_wait_any(client, pending, (size_t)npending, -1, &k);
        if (rc != HTTPRING_OK) {
            fprintf(stderr, "wait_any: %s\n", httpring_error_name(rc));
            failures += npending;
            break;
        }
        httpring_handle h = pending[k];
        int i = index_of[k];
        double at = now_ms() - t0;
        httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
        rc = httpring_handle_response(client, h, &r);
        if (rc == HTTPRING_OK) {
            double ms = r.elapsed_us / 1000.0;
            sum_ms += ms;
            printf("  [%d] +%7.1f ms  %s -> %u, %zu bytes, %.1f ms\n", i, at, urls[i],
                   (unsigned)r.status, r.body_len, ms);
        } else {
            char msg[256];
            httpring_handle_error_message(client, h, msg, sizeof msg, NULL);
            printf("  [%d] +%7.1f ms  %s -> %s: %s\n", i, at, urls[i], httpring_error_name(rc), msg);
            failures++;
        }
        httpring_handle_free(client, h);
        /* Remove entry k, keeping the others in order. */
        for (int j = (int)k; j + 1 < npending; j++) {
            pending[j] = pending[j + 1];
            index_of[j] = index_of[j + 1];
        }
        npending--;
    }
    double wall = now_ms() - t0;
    printf("all done in %.1f ms of wall time (%.1f ms if run one after another); %d failed\n",
           wall, sum_ms, failures);

    httpring_client_free(client);
    for (int i = 0; i < n; i++) free(urls[i]);
    return failures == 0 ? 0 : 1;
}
