/*
 * check.h: a tiny header-only helper for httpring's C tests.
 *
 *   CHECK(cond)                  a boolean check
 *   CHECK_EQ_CODE(actual, want)  compares two httpring_code values and names both
 *   CHECK_EQ_INT(actual, want)   compares two integers (printed as long long)
 *   CHECK_EQ_STR(ptr, len, lit)  compares a (pointer, length) byte string with a C string
 *
 * Each failed check prints file:line and what was expected; every check is counted.
 * check_summary() prints "N passed, N failed" alone on a line and returns the exit status
 * (non-zero if anything failed): end main() with `return check_summary();`.
 *
 * Environment:
 *   HTTPRING_TEST_URL    base URL of the test server (set by scripts/with_server.sh)
 *   HTTPRING_TEST_SCALE  factor in (0, 1] applied to request counts (valgrind runs use 0.1)
 *   HTTPRING_TEST_SLOW   factor applied to time limits (valgrind runs use 10)
 */
#ifndef HTTPRING_TEST_CHECK_H
#define HTTPRING_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "httpring.h"

static int check_passed_count;
static int check_failed_count;

static inline int check_report(int ok, const char *file, int line) {
    if (ok) {
        check_passed_count++;
    } else {
        check_failed_count++;
        fprintf(stderr, "%s:%d: FAILED: ", file, line);
    }
    return ok;
}

static inline int check_bool(int ok, const char *expr, const char *file, int line) {
    if (!check_report(ok, file, line)) fprintf(stderr, "%s\n", expr);
    return ok;
}

static inline int check_code(httpring_code got, httpring_code want, const char *expr,
                             const char *file, int line) {
    int ok = got == want;
    if (!check_report(ok, file, line))
        fprintf(stderr, "%s is %s (%u), expected %s (%u)\n", expr, httpring_error_name(got),
                (unsigned)got, httpring_error_name(want), (unsigned)want);
    return ok;
}

static inline int check_int(long long got, long long want, const char *expr, const char *file,
                            int line) {
    int ok = got == want;
    if (!check_report(ok, file, line))
        fprintf(stderr, "%s is %lld, expected %lld\n", expr, got, want);
    return ok;
}

static inline int check_str(const void *data, size_t len, const char *want, const char *expr,
                            const char *file, int line) {
    size_t wlen = strlen(want);
    int ok = data != NULL && len == wlen && memcmp(data, want, wlen) == 0;
    if (!check_report(ok, file, line)) {
        if (data == NULL)
            fprintf(stderr, "%s is NULL, expected \"%s\"\n", expr, want);
        else
            fprintf(stderr, "%s is \"%.*s\" (%zu bytes), expected \"%s\" (%zu bytes)\n", expr,
                    (int)(len > 200 ? 200 : len), (const char *)data, len, want, wlen);
    }
    return ok;
}

#define CHECK(cond) check_bool(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ_CODE(actual, expected) \
    check_code((httpring_code)(actual), (httpring_code)(expected), #actual, __FILE__, __LINE__)
#define CHECK_EQ_INT(actual, expected) \
    check_int((long long)(actual), (long long)(expected), #actual, __FILE__, __LINE__)
#define CHECK_EQ_STR(data, len, expected) \
    check_str((data), (len), (expected), #data, __FILE__, __LINE__)

/* Prints the summary line and returns the process exit status. */
static inline int check_summary(void) {
    fflush(stdout);
    printf("%d passed, %d failed\n", check_passed_count, check_failed_count);
    fflush(stdout);
    return check_failed_count == 0 ? 0 : 1;
}

/* The test server's base URL (no trailing slash); exits if HTTPRING_TEST_URL is unset. */
static inline const char *check_base_url(void) {
    const char *url = getenv("HTTPRING_TEST_URL");
    if (url == NULL || url[0] == '\0') {
        fprintf(stderr, "HTTPRING_TEST_URL is not set: run under scripts/with_server.sh\n");
        exit(2);
    }
    return url;
}

/* Writes base URL + path into buf and returns buf. */
static inline char *check_url(char *buf, size_t cap, const char *path) {
    int n = snprintf(buf, cap, "%s%s", check_base_url(), path);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "URL too long for buffer: %s%s\n", check_base_url(), path);
        exit(2);
    }
    return buf;
}

static inline double check_env_factor(const char *name) {
    const char *s = getenv(name);
    if (s == NULL || s[0] == '\0') return 1.0;
    double f = strtod(s, NULL);
    return f > 0 ? f : 1.0;
}

/* A request count scaled by HTTPRING_TEST_SCALE, at least `min`. */
static inline int check_scaled(int n, int min) {
    double f = check_env_factor("HTTPRING_TEST_SCALE");
    int m = (int)(n * (f > 1.0 ? 1.0 : f));
    return m < min ? min : m;
}

/* A time limit in ms stretched by HTTPRING_TEST_SLOW. */
static inline int64_t check_slack_ms(int64_t ms) {
    return (int64_t)(ms * check_env_factor("HTTPRING_TEST_SLOW"));
}

/* Monotonic milliseconds. */
static inline double check_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline void check_sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Whether the byte string (data, len) contains the C string `needle`. */
static inline int check_contains(const void *data, size_t len, const char *needle) {
    size_t n = strlen(needle);
    const char *d = (const char *)data;
    if (n == 0) return 1;
    if (d == NULL || len < n) return 0;
    for (size_t i = 0; i + n <= len; i++)
        if (d[i] == needle[0] && memcmp(d + i, needle, n) == 0) return 1;
    return 0;
}

/* A number from the test server's /stats JSON ("name": N; `query` e.g. "?reset=1" or ""),
 * fetched with client `c`; -1 when the request fails or the name is missing. */
static inline long long check_server_stat(httpring_client *c, const char *query, const char *name) {
    char url[512], path[96];
    snprintf(path, sizeof path, "/stats%s", query);
    httpring_handle h = 0;
    if (httpring_client_get(c, check_url(url, sizeof url, path), 0, &h) != HTTPRING_OK) return -1;
    long long value = -1;
    httpring_state st = HTTPRING_STATE_PENDING;
    httpring_handle_wait(c, h, check_slack_ms(30000), &st);
    const uint8_t *body = NULL;
    size_t len = 0;
    if (st == HTTPRING_STATE_DONE && httpring_response_body(c, h, &body, &len) == HTTPRING_OK) {
        char text[512] = {0}, key[64];
        memcpy(text, body, len < sizeof text - 1 ? len : sizeof text - 1);
        snprintf(key, sizeof key, "\"%s\": ", name);
        const char *at = strstr(text, key);
        if (at) value = strtoll(at + strlen(key), NULL, 10);
    }
    httpring_handle_free(c, h);
    return value;
}

/* Prints the process's peak RSS and checks it stays under `mib` MiB. Native runs only
 * (valgrind and the sanitizers, which set HTTPRING_TEST_SLOW, inflate it). */
static inline void check_peak_rss_below(long mib) {
    if (check_env_factor("HTTPRING_TEST_SLOW") > 1.0) return;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("   peak RSS %ld KiB\n", ru.ru_maxrss);
    CHECK(ru.ru_maxrss < mib * 1024);
}

/* Prints a section name, so a failure's context shows in the log. */
#define CHECK_SECTION(name) printf("-- %s\n", (name))

#endif /* HTTPRING_TEST_CHECK_H */
