/*
 * Streamed request bodies from C: a 1 GiB upload from a callback over HTTP/1.1 (chunked)
 * and HTTP/2 with the process's peak RSS under 64 MiB, checked byte for byte on the server
 * (FNV-1a); a body written through the handle by an fd-driven producer that is told to wait
 * (PENDING, then one WRITABLE event); cancel, free and client free mid-upload, after which
 * the callback is never called again (clean under valgrind).
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "check.h"

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

static unsigned long long upload_bytes(void) {
    int native = check_env_factor("HTTPRING_TEST_SLOW") <= 1.0 &&
                 check_env_factor("HTTPRING_TEST_SCALE") >= 1.0;
    return native ? (1ULL << 30) : (32ULL << 20);
}

static uint8_t byte_at(unsigned long long i) { return (uint8_t)((i * 31) >> 3); }

static unsigned long long fnv_step(unsigned long long h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* A generated body: `total` bytes of byte_at, hashed as it is handed over. */
struct source {
    unsigned long long total, at, hash;
    atomic_int calls; /* read by the test's thread while the callback runs on the runtime's */
    atomic_int over;  /* set once the request has ended: a call after is a defect */
    atomic_int late;
};

static httpring_code source_cb(void *user_data, uint8_t *buf, size_t cap, size_t *written) {
    struct source *s = user_data;
    if (s->over) s->late++;
    s->calls++;
    size_t n = cap;
    if (n > s->total - s->at) n = (size_t)(s->total - s->at);
    for (size_t i = 0; i < n; i++) buf[i] = byte_at(s->at + i);
    s->hash = fnv_step(s->hash, buf, n);
    s->at += n;
    *written = n;
    return HTTPRING_OK;
}

static httpring_client *client(int h2c, size_t buffer) {
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_stream_buffer(cfg, buffer), HTTPRING_OK);
    if (h2c) CHECK_EQ_CODE(httpring_config_set_h2c_prior_knowledge(cfg, true), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    CHECK(c != NULL);
    return c;
}

/* The text of field `name` in the /upload answer (quotes stripped), into out. */
static void answer_field(httpring_client *c, httpring_handle h, const char *name, char *out,
                         size_t cap) {
    const uint8_t *body = NULL;
    size_t len = 0;
    out[0] = 0;
    if (!CHECK_EQ_CODE(httpring_response_body(c, h, &body, &len), HTTPRING_OK)) return;
    char text[512] = {0}, key[64];
    memcpy(text, body, len < sizeof text - 1 ? len : sizeof text - 1);
    snprintf(key, sizeof key, "\"%s\": ", name);
    const char *at = strstr(text, key);
    if (!CHECK(at != NULL)) return;
    at += strlen(key);
    if (*at == '"') at++;
    size_t n = strcspn(at, "\",}");
    if (n >= cap) n = cap - 1;
    memcpy(out, at, n);
    out[n] = 0;
}

static void test_callback_upload(int h2c) {
    CHECK_SECTION(h2c ? "a large upload from a callback over HTTP/2, RSS flat"
                      : "a large upload from a callback over HTTP/1.1 (chunked), RSS flat");
    httpring_client *c = client(h2c, 256 << 10);
    struct source s = {.total = upload_bytes(), .hash = 0xcbf29ce484222325ULL};
    httpring_request *req = httpring_request_new("POST", URL("/upload"));
    CHECK_EQ_CODE(httpring_request_set_body_callback(req, source_cb, &s, -1), HTTPRING_OK);
    httpring_handle h = 0;
    double t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(120000), &st), HTTPRING_OK);
    double ms = check_now_ms() - t0;
    CHECK_EQ_INT(st, HTTPRING_STATE_DONE);
    char got[64], want[32];
    answer_field(c, h, "received", got, sizeof got);
    CHECK_EQ_INT(strtoll(got, NULL, 10), (long long)s.total);
    snprintf(want, sizeof want, "%016llx", s.hash);
    answer_field(c, h, "fnv", got, sizeof got);
    CHECK_EQ_STR(got, strlen(got), want);
    answer_field(c, h, "chunked", got, sizeof got);
    CHECK_EQ_STR(got, strlen(got), h2c ? "false" : "true");
    printf("   %llu MiB in %.0f ms (%.0f MiB/s, the server hashing every byte), %d calls\n",
           s.total >> 20, ms, (s.total >> 20) / (ms / 1000.0), atomic_load(&s.calls));
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
    httpring_client_free(c);
    check_peak_rss_below(64);
}

/* A producer in an fd-driven loop: writes until told to wait, then waits for the WRITABLE
 * event through the client's fd and drains it. The server reads nothing for its first
 * second, so 8 MiB (more than a 4 MiB send buffer and the stream's) must find no room. */
static void test_pushed_upload(int h2c) {
    CHECK_SECTION(h2c ? "a written body: the producer is told to wait (HTTP/2)"
                      : "a written body: the producer is told to wait (HTTP/1.1)");
    httpring_client *c = client(h2c, 64 << 10);
    int fd = httpring_client_fd(c);
    unsigned long long total = 8ULL << 20;
    httpring_request *req = httpring_request_new("PUT", URL("/upload?hold_ms=1000"));
    CHECK_EQ_CODE(httpring_request_set_body_writer(req, (int64_t)total), HTTPRING_OK);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    static uint8_t piece[100000];
    unsigned long long at = 0, hash = 0xcbf29ce484222325ULL;
    int told_to_wait = 0, writable = 0, other = 0, checked_past = 0;
    double deadline = check_now_ms() + check_slack_ms(60000);
    while (at < total && check_now_ms() < deadline) {
        size_t len = sizeof piece;
        if (len > total - at) len = (size_t)(total - at);
        for (size_t i = 0; i < len; i++) piece[i] = byte_at(at + i);
        size_t n = 99;
        if (len < sizeof piece && !checked_past) {
            /* Past the declared length: refused, nothing taken. Checked before the body is
             * whole: once it is, the server may answer and end the request first. */
            CHECK_EQ_CODE(httpring_handle_write(c, h, piece, len + 1, &n),
                          HTTPRING_ERR_INVALID_ARGUMENT);
            CHECK_EQ_INT(n, 0);
            checked_past = 1;
        }
        httpring_code code = httpring_handle_write(c, h, piece, len, &n);
        if (code == HTTPRING_OK) {
            hash = fnv_step(hash, piece, n);
            at += n;
            continue;
        }
        if (!CHECK_EQ_CODE(code, HTTPRING_PENDING)) break;
        CHECK_EQ_INT(n, 0);
        told_to_wait++;
        for (int seen = 0; !seen && check_now_ms() < deadline;) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 1000) <= 0) continue;
            httpring_completion done[4] = {HTTPRING_STRUCT_INIT(httpring_completion)};
            size_t got = 0;
            CHECK_EQ_CODE(httpring_client_drain(c, done, 4, &got), HTTPRING_OK);
            for (size_t i = 0; i < got; i++) {
                if (done[i].handle == h && done[i].event == HTTPRING_EVENT_WRITABLE) {
                    writable++;
                    seen = 1;
                } else {
                    other++;
                }
            }
        }
    }
    CHECK_EQ_INT((long long)at, (long long)total);
    printf("   told to wait %d times, %d WRITABLE events\n", told_to_wait, writable);
    CHECK(told_to_wait > 0);
    CHECK_EQ_INT(writable, told_to_wait);
    CHECK_EQ_INT(other, 0);
    CHECK(checked_past);
    /* The whole length was written: finishing is fine, answered or not. */
    CHECK_EQ_CODE(httpring_handle_finish_body(c, h), HTTPRING_OK);
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(30000), &st), HTTPRING_OK);
    CHECK_EQ_INT(st, HTTPRING_STATE_DONE);
    char got[64], want[32];
    snprintf(want, sizeof want, "%016llx", hash);
    answer_field(c, h, "fnv", got, sizeof got);
    CHECK_EQ_STR(got, strlen(got), want);
    answer_field(c, h, "content_length", got, sizeof got);
    CHECK_EQ_INT(strtoll(got, NULL, 10), (long long)total);
    /* Over: the body cannot be written any more; a handle without a writer never could. */
    size_t n = 99;
    CHECK(httpring_handle_write(c, h, piece, 1, &n) != HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_write(c, h, piece, 1, &n), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handle_write(NULL, h, piece, 1, &n), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_client_free(c);
}

static httpring_handle start_slow_upload(httpring_client *c, struct source *s) {
    httpring_request *req = httpring_request_new("POST", URL("/upload?pause_ms=5"));
    CHECK_EQ_CODE(httpring_request_set_body_callback(req, source_cb, s, -1), HTTPRING_OK);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    double deadline = check_now_ms() + check_slack_ms(10000);
    while (s->calls < 4 && check_now_ms() < deadline) check_sleep_ms(2);
    CHECK(s->calls >= 4);
    return h;
}

static void test_ending_mid_upload(void) {
    CHECK_SECTION("cancel, free and client free mid-upload: completed once, the callback never called after");
    httpring_client *c = client(0, 64 << 10);
    /* Cancel: completes once, as cancelled, through the queue. */
    struct source s1 = {.total = 1ULL << 40};
    httpring_handle h = start_slow_upload(c, &s1);
    CHECK_EQ_CODE(httpring_handle_cancel(c, h), HTTPRING_OK);
    s1.over = 1;
    httpring_completion done[4] = {HTTPRING_STRUCT_INIT(httpring_completion)};
    size_t got = 0;
    CHECK_EQ_CODE(httpring_client_wait_drain(c, done, 4, 1, check_slack_ms(5000), &got), HTTPRING_OK);
    CHECK_EQ_INT(got, 1);
    CHECK_EQ_INT(done[0].code, HTTPRING_ERR_CANCELLED);
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
    /* Free while running. */
    struct source s2 = {.total = 1ULL << 40};
    h = start_slow_upload(c, &s2);
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
    s2.over = 1;
    /* The client still works, and nothing more completes. */
    httpring_handle ok = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/hello"), 0, &ok), HTTPRING_OK);
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, ok, check_slack_ms(10000), &st), HTTPRING_OK);
    CHECK_EQ_INT(st, HTTPRING_STATE_DONE);
    check_sleep_ms(50);
    got = 0;
    CHECK_EQ_CODE(httpring_client_drain(c, done, 4, &got), HTTPRING_OK);
    CHECK_EQ_INT(got, 1); /* the /hello request's own completion, nothing of the freed one */
    CHECK_EQ_INT(done[0].handle, ok);
    CHECK_EQ_CODE(httpring_handle_free(c, ok), HTTPRING_OK);
    /* Client free with an upload running. */
    struct source s3 = {.total = 1ULL << 40};
    h = start_slow_upload(c, &s3);
    httpring_client_free(c);
    s3.over = 1;
    check_sleep_ms(50);
    CHECK_EQ_INT(atomic_load(&s1.late) + atomic_load(&s2.late) + atomic_load(&s3.late), 0);
}

/* A streamed body goes out whatever the method: a written one of known length, and one of
 * unknown length (chunked over HTTP/1.1), on methods that seldom carry a body. */
static void test_body_on_any_method(void) {
    CHECK_SECTION("a written body on GET, DELETE, OPTIONS: sent whole, with its length or chunked");
    httpring_client *c = client(0, 64 << 10);
    const char *methods[] = {"GET", "DELETE", "OPTIONS"};
    for (int m = 0; m < 3; m++) {
        for (int known = 0; known < 2; known++) {
            httpring_request *req = httpring_request_new(methods[m], URL("/upload"));
            CHECK_EQ_CODE(httpring_request_set_body_writer(req, known ? 3 : -1), HTTPRING_OK);
            httpring_handle h = 0;
            CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
            size_t wrote = 0;
            CHECK_EQ_CODE(httpring_handle_write(c, h, (const uint8_t *)"abc", 3, &wrote), HTTPRING_OK);
            CHECK_EQ_INT(wrote, 3);
            CHECK_EQ_CODE(httpring_handle_finish_body(c, h), HTTPRING_OK);
            httpring_state st = HTTPRING_STATE_PENDING;
            CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), &st), HTTPRING_OK);
            if (!CHECK_EQ_CODE(httpring_handle_error(c, h), HTTPRING_OK)) {
                fprintf(stderr, "  for %s, known length %d\n", methods[m], known);
                httpring_handle_free(c, h);
                continue;
            }
            char got[64];
            answer_field(c, h, "received", got, sizeof got);
            if (!CHECK_EQ_STR(got, strlen(got), "3"))
                fprintf(stderr, "  for %s, known length %d\n", methods[m], known);
            answer_field(c, h, "chunked", got, sizeof got);
            CHECK_EQ_STR(got, strlen(got), known ? "false" : "true");
            CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
        }
    }
    httpring_client_free(c);
}

int main(void) {
    test_body_on_any_method();
    test_callback_upload(0);
    test_callback_upload(1);
    test_pushed_upload(0);
    test_pushed_upload(1);
    test_ending_mid_upload();
    return check_summary();
}
