/*
 * Streamed response bodies from C: a 2 GiB download over HTTP/1.1 and HTTP/2 with the
 * process's peak RSS under 64 MiB, a reader that stops holding the server back (counted on
 * the server), server-sent events reaching an fd-driven loop promptly, cancel / free /
 * client free mid-stream (clean under valgrind), trailers, bodies lent without a copy
 * (httpring_handle_read_chunk).
 */
#include <poll.h>
#include <time.h>

#include "check.h"

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

/* Native runs move 2 GiB per protocol; valgrind and sanitizer runs (slowed) move less. */
static unsigned long long body_bytes(void) {
    int native = check_env_factor("HTTPRING_TEST_SLOW") <= 1.0 &&
                 check_env_factor("HTTPRING_TEST_SCALE") >= 1.0;
    return native ? (2ULL << 30) : (64ULL << 20);
}

static httpring_client *stream_client(int h2c, size_t buffer) {
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_stream_buffer(cfg, buffer), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_stream_buffer(cfg, 0), HTTPRING_ERR_INVALID_ARGUMENT);
    if (h2c) CHECK_EQ_CODE(httpring_config_set_h2c_prior_knowledge(cfg, true), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    CHECK(c != NULL);
    return c;
}

static httpring_handle submit_stream(httpring_client *c, const char *path) {
    httpring_request *req = httpring_request_new("GET", URL(path));
    CHECK_EQ_CODE(httpring_request_set_stream(req, true), HTTPRING_OK);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    return h;
}

static httpring_state finish(httpring_client *c, httpring_handle h) {
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(30000), &st), HTTPRING_OK);
    return st;
}

/* Reads to the end or a failure, blocking between reads; checks each read's first and last
 * byte against the /stream/ pattern. Returns the code it ended with; *total gets the bytes. */
static httpring_code read_all(httpring_client *c, httpring_handle h, uint8_t *buf, size_t cap,
                              unsigned long long *total) {
    *total = 0;
    int pattern_ok = 1;
    for (;;) {
        size_t n = 0;
        httpring_code code = httpring_handle_read(c, h, buf, cap, &n);
        if (code == HTTPRING_OK && n == 0) break;
        if (code == HTTPRING_OK) {
            pattern_ok &= buf[0] == 'a' + (*total % 26);
            pattern_ok &= buf[n - 1] == 'a' + ((*total + n - 1) % 26);
            *total += n;
        } else if (code == HTTPRING_PENDING) {
            /* Counted only when it fails: a run waits here thousands of times. */
            httpring_code waited = httpring_handle_wait_body(c, h, check_slack_ms(30000));
            if (waited != HTTPRING_OK) CHECK_EQ_CODE(waited, HTTPRING_OK);
        } else {
            return code;
        }
    }
    CHECK(pattern_ok);
    return HTTPRING_OK;
}

static void test_download(int h2c) {
    CHECK_SECTION(h2c ? "a large download over HTTP/2, RSS flat" : "a large download over HTTP/1.1, RSS flat");
    httpring_client *c = stream_client(h2c, 256 << 10);
    unsigned long long n = body_bytes();
    char path[64];
    snprintf(path, sizeof path, "/stream/%llu", n);
    httpring_handle h = submit_stream(c, path);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_DONE);
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(r.body_len, 0);
    static uint8_t buf[256 << 10];
    unsigned long long total = 0;
    double t0 = check_now_ms();
    CHECK_EQ_CODE(read_all(c, h, buf, sizeof buf, &total), HTTPRING_OK);
    double ms = check_now_ms() - t0;
    CHECK_EQ_INT((long long)total, (long long)n);
    printf("   %llu MiB in %.0f ms (%.0f MiB/s)\n", n >> 20, ms, (n >> 20) / (ms / 1000.0));
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
    httpring_client_free(c);
    check_peak_rss_below(64);
}

static void test_backpressure(int h2c) {
    CHECK_SECTION(h2c ? "a reader that stops holds the server back (HTTP/2)"
                      : "a reader that stops holds the server back (HTTP/1.1)");
    httpring_client *c = stream_client(h2c, 64 << 10);
    long long before = check_server_stat(c, "", "sent");
    CHECK(before >= 0);
    httpring_handle h = submit_stream(c, "/stream/1073741824/16384");
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_DONE);
    /* Blocked once the server's count stands still for half a second (waited for, up to
     * 20 s: not a fixed time a loaded machine or valgrind might not fill the buffers in). */
    double t0 = check_now_ms(), still = t0;
    long long held = check_server_stat(c, "", "sent") - before;
    while (check_now_ms() - still < 500 && check_now_ms() - t0 < 20000) {
        check_sleep_ms(50);
        long long now = check_server_stat(c, "", "sent") - before;
        if (now != held) {
            held = now;
            still = check_now_ms();
        }
    }
    printf("   server handed over %lld KiB while nobody read\n", held >> 10);
    CHECK(check_now_ms() - still >= 500); /* it stood still */
    CHECK(held < (48LL << 20));
    /* Read a little: the transfer moves on. */
    static uint8_t buf[1 << 20];
    unsigned long long got = 0;
    while (got < (8u << 20)) {
        size_t n = 0;
        httpring_code code = httpring_handle_read(c, h, buf, sizeof buf, &n);
        if (code == HTTPRING_PENDING) {
            CHECK_EQ_CODE(httpring_handle_wait_body(c, h, check_slack_ms(10000)), HTTPRING_OK);
            continue;
        }
        if (!CHECK_EQ_CODE(code, HTTPRING_OK) || n == 0) break;
        got += n;
    }
    CHECK(check_server_stat(c, "", "sent") - before > held);
    /* Cancel mid-stream: later reads say so. */
    CHECK_EQ_CODE(httpring_handle_cancel(c, h), HTTPRING_OK);
    size_t n = 0;
    httpring_code code;
    while ((code = httpring_handle_read(c, h, buf, sizeof buf, &n)) == HTTPRING_OK && n > 0) {
    }
    CHECK_EQ_CODE(code, HTTPRING_ERR_CANCELLED);
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
    httpring_client_free(c);
}

/* Microseconds since the Unix epoch (the server stamps events with it). */
static long long wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void test_events_through_the_fd(void) {
    CHECK_SECTION("server-sent events reach an fd-driven loop as they are sent");
    httpring_client *c = stream_client(0, 64 << 10);
    int fd = httpring_client_fd(c);
    CHECK(fd >= 0);
    httpring_handle h = submit_stream(c, "/events/10/200");
    httpring_completion done[8] = {HTTPRING_STRUCT_INIT(httpring_completion)};
    int heads = 0, bodies = 0, events = 0, ended = 0;
    long long lags[16];
    char text[256];
    double deadline = check_now_ms() + check_slack_ms(20000);
    while (!ended && check_now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) <= 0) continue;
        size_t got = 0;
        CHECK_EQ_CODE(httpring_client_drain(c, done, 8, &got), HTTPRING_OK);
        for (size_t i = 0; i < got && !ended; i++) {
            CHECK_EQ_INT(done[i].handle, h);
            CHECK_EQ_INT(done[i].struct_size, sizeof(httpring_completion));
            if (done[i].event == HTTPRING_EVENT_HEAD) heads++;
            else if (done[i].event == HTTPRING_EVENT_BODY) bodies++;
            else CHECK(!"a streamed request announces HEAD and BODY only");
            /* Read until PENDING: the next change is announced once. */
            for (;;) {
                size_t n = 0;
                httpring_code code = httpring_handle_read(c, h, (uint8_t *)text, sizeof text - 1, &n);
                if (code == HTTPRING_PENDING) break;
                if (!CHECK_EQ_CODE(code, HTTPRING_OK) || n == 0) {
                    ended = 1;
                    break;
                }
                text[n] = 0;
                for (char *at = strstr(text, "data: "); at; at = strstr(at + 1, "data: ")) {
                    long idx = 0;
                    long long sent = 0;
                    if (sscanf(at, "data: %ld %lld", &idx, &sent) == 2 && events < 16)
                        lags[events++] = wall_us() - sent;
                }
            }
        }
    }
    CHECK(ended);
    CHECK_EQ_INT(heads, 1);
    CHECK_EQ_INT(events, 10);
    CHECK(bodies >= 1 && bodies <= 11);
    if (events > 0) {
        qsort(lags, events, sizeof lags[0], cmp_ll);
        printf("   %d events, lag median %lld us, max %lld us, %d body events\n", events,
               lags[events / 2], lags[events - 1], bodies);
        CHECK(lags[events / 2] < check_slack_ms(50) * 1000);
    }
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
    httpring_client_free(c);
}

/* A batch entry with HTTPRING_SPEC_STREAM is streamed (it completes at its head and its body
 * is read after, while the buffered entry beside it is not); an unknown flag is refused. */
static void test_streams_in_a_batch(void) {
    CHECK_SECTION("send_many with HTTPRING_SPEC_STREAM; an unknown flag refused");
    httpring_client *c = stream_client(0, 256 << 10);
    enum { K = 4 };
    static const char *paths[K] = {"/stream/300000", "/stream/5000000", "/stream/1000", "/stream/70000"};
    static const unsigned long long sizes[K] = {300000, 5000000, 1000, 70000};
    char urls[K][256];
    httpring_request_spec specs[K + 1];
    for (int i = 0; i <= K; i++) {
        httpring_request_spec s = HTTPRING_REQUEST_SPEC_INIT;
        check_url(urls[i % K], sizeof urls[i % K], paths[i % K]);
        s.url = urls[i % K];
        s.user_data = 10 + (uint64_t)i;
        /* Entry 2 is buffered; the last one asks for a flag no library has yet. */
        s.flags = i == 2 ? 0 : i == K ? (HTTPRING_SPEC_STREAM | (1ULL << 40)) : HTTPRING_SPEC_STREAM;
        specs[i] = s;
    }
    httpring_handle hs[K + 1];
    httpring_code codes[K + 1];
    CHECK_EQ_CODE(httpring_client_send_many(c, specs, K + 1, hs, codes), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(codes[K], HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(hs[K], 0);
    char msg[256];
    size_t len = 0;
    CHECK_EQ_CODE(httpring_last_error_message(msg, sizeof msg, &len), HTTPRING_OK);
    CHECK(strstr(msg, "flags") != NULL);
    static uint8_t buf[64 << 10];
    for (int i = 0; i < K; i++) {
        CHECK_EQ_CODE(codes[i], HTTPRING_OK);
        CHECK_EQ_INT(finish(c, hs[i]), HTTPRING_STATE_DONE);
        httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
        CHECK_EQ_CODE(httpring_handle_response(c, hs[i], &r), HTTPRING_OK);
        CHECK_EQ_INT(r.status, 200);
        if (i == 2) { /* buffered: the whole body is in the response, nothing to read */
            CHECK_EQ_INT(r.body_len, sizes[i]);
            size_t n = 1;
            CHECK(httpring_handle_read(c, hs[i], buf, sizeof buf, &n) != HTTPRING_OK || n == 0);
        } else {
            CHECK_EQ_INT(r.body_len, 0);
            unsigned long long total = 0;
            CHECK_EQ_CODE(read_all(c, hs[i], buf, sizeof buf, &total), HTTPRING_OK);
            CHECK_EQ_INT((long long)total, (long long)sizes[i]);
        }
        CHECK_EQ_CODE(httpring_handle_free(c, hs[i]), HTTPRING_OK);
    }
    httpring_client_free(c);
}

static void test_free_and_close_mid_stream(void) {
    CHECK_SECTION("free and client free mid-stream");
    httpring_client *c = stream_client(0, 32 << 10);
    httpring_handle a = submit_stream(c, "/stream/1073741824");
    httpring_handle b = submit_stream(c, "/stream/1073741824");
    httpring_handle stalled = submit_stream(c, "/stall-body");
    CHECK_EQ_INT(finish(c, a), HTTPRING_STATE_DONE);
    CHECK_EQ_INT(finish(c, b), HTTPRING_STATE_DONE);
    CHECK_EQ_INT(finish(c, stalled), HTTPRING_STATE_DONE);
    CHECK_EQ_CODE(httpring_handle_free(c, a), HTTPRING_OK);
    size_t n = 0;
    uint8_t buf[64];
    CHECK_EQ_CODE(httpring_handle_read(c, a, buf, sizeof buf, &n), HTTPRING_ERR_INVALID_HANDLE);
    size_t live = 0;
    CHECK_EQ_CODE(httpring_client_live_handles(c, &live), HTTPRING_OK);
    CHECK_EQ_INT(live, 2);
    /* b and the stalled one are mid-body when the client goes. */
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_read(c, b, buf, sizeof buf, &n), HTTPRING_ERR_CLIENT_CLOSED);
}

/* httpring_handle_read_chunk: the body lent piece by piece (each at most 256 KiB), every
 * byte the /stream/ pattern, the end known with the last bytes, the received count;
 * mixed with copying reads; a coded body (received counts what was sent); bad arguments. */
static void test_read_chunk(int h2c) {
    CHECK_SECTION(h2c ? "read_chunk: lent bytes (HTTP/2)" : "read_chunk: lent bytes (HTTP/1.1)");
    httpring_client *c = stream_client(h2c, 256 << 10);
    const unsigned long long n = 8ULL << 20;
    char path[64];
    snprintf(path, sizeof path, "/stream/%llu", n);
    httpring_handle h = submit_stream(c, path);
    httpring_chunk ch = HTTPRING_STRUCT_INIT(httpring_chunk);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_DONE);
    unsigned long long total = 0;
    int pattern_ok = 1, size_ok = 1, lasts = 0, copies = 0;
    for (;;) {
        httpring_code code = httpring_handle_read_chunk(c, h, &ch);
        if (code == HTTPRING_PENDING) {
            CHECK_EQ_INT(ch.len, 0);
            httpring_code waited = httpring_handle_wait_body(c, h, check_slack_ms(30000));
            if (waited != HTTPRING_OK) CHECK_EQ_CODE(waited, HTTPRING_OK);
            continue;
        }
        if (!CHECK_EQ_CODE(code, HTTPRING_OK)) break;
        if (ch.flags & HTTPRING_CHUNK_LAST) lasts++;
        if (ch.len == 0) break;
        size_ok &= ch.len <= (256 << 10) && ch.data != NULL;
        for (size_t i = 0; i < ch.len; i++) pattern_ok &= ch.data[i] == 'a' + ((total + i) % 26);
        total += ch.len;
        if (ch.flags & HTTPRING_CHUNK_LAST) break;
        /* Once, past 1 MiB: a copying read between (the two kinds of read share the stream);
         * more than 100 bytes are still to come, so it waits for some. */
        if (!copies && total >= (1 << 20)) {
            uint8_t small[100];
            size_t got = 0;
            CHECK_EQ_CODE(httpring_handle_wait_body(c, h, check_slack_ms(30000)), HTTPRING_OK);
            CHECK_EQ_CODE(httpring_handle_read(c, h, small, sizeof small, &got), HTTPRING_OK);
            CHECK(got > 0);
            for (size_t i = 0; i < got; i++) pattern_ok &= small[i] == 'a' + ((total + i) % 26);
            total += got;
            copies++;
        }
    }
    CHECK(pattern_ok);
    CHECK(size_ok);
    CHECK_EQ_INT(copies, 1);
    CHECK_EQ_INT(lasts, 1);
    CHECK_EQ_INT((long long)total, (long long)n);
    CHECK_EQ_INT((long long)ch.received, (long long)n);
    /* After the end: OK, nothing, the end flag. */
    CHECK_EQ_CODE(httpring_handle_read_chunk(c, h, &ch), HTTPRING_OK);
    CHECK_EQ_INT(ch.len, 0);
    CHECK(ch.data == NULL);
    CHECK_EQ_INT(ch.flags, HTTPRING_CHUNK_LAST);
    /* Bad arguments. */
    CHECK_EQ_CODE(httpring_handle_read_chunk(c, h, NULL), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_chunk tiny = ch;
    tiny.struct_size = 4;
    CHECK_EQ_CODE(httpring_handle_read_chunk(c, h, &tiny), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_handle_read_chunk(NULL, h, &ch), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_read_chunk(c, h, &ch), HTTPRING_ERR_INVALID_HANDLE);
    /* Not streamed: the body is in the response. */
    httpring_request *req = httpring_request_new("GET", URL("/hello"));
    httpring_handle plain = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &plain), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, plain), HTTPRING_STATE_DONE);
    CHECK_EQ_CODE(httpring_handle_read_chunk(c, plain, &ch), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_handle_free(c, plain);
    /* A gzip body: the bytes lent are decoded; received counts the bytes as sent. */
    httpring_handle z = submit_stream(c, "/encoded/gzip/300000");
    CHECK_EQ_INT(finish(c, z), HTTPRING_STATE_DONE);
    unsigned long long decoded = 0;
    for (;;) {
        httpring_code code = httpring_handle_read_chunk(c, z, &ch);
        if (code == HTTPRING_PENDING) {
            if (!CHECK_EQ_CODE(httpring_handle_wait_body(c, z, check_slack_ms(30000)), HTTPRING_OK)) break;
            continue;
        }
        if (!CHECK_EQ_CODE(code, HTTPRING_OK)) break;
        decoded += ch.len;
        if (ch.flags & HTTPRING_CHUNK_LAST) break;
    }
    CHECK_EQ_INT((long long)decoded, 300000);
    CHECK(ch.received > 0 && ch.received < 300000);
    /* The client freed: closed, for every read. */
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_read_chunk(c, z, &ch), HTTPRING_ERR_CLIENT_CLOSED);
}

static void test_trailers(int h2c) {
    CHECK_SECTION(h2c ? "trailers (HTTP/2)" : "trailers (HTTP/1.1)");
    httpring_client *c = stream_client(h2c, 1024);
    httpring_request *req = httpring_request_new("GET", URL("/trailers"));
    CHECK_EQ_CODE(httpring_request_set_stream(req, true), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_request_add_header(req, "TE", "trailers"), HTTPRING_OK);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_DONE);
    const uint8_t *v = NULL;
    size_t len = 0;
    uint8_t buf[16];
    size_t got = 0;
    for (;;) {
        size_t n = 0;
        httpring_code code = httpring_handle_read(c, h, buf + got, sizeof buf - got, &n);
        if (code == HTTPRING_PENDING) {
            CHECK_EQ_CODE(httpring_handle_trailer(c, h, "x-checksum", 0, &v, &len), HTTPRING_ERR_NOT_FOUND);
            httpring_handle_wait_body(c, h, check_slack_ms(5000));
            continue;
        }
        if (!CHECK_EQ_CODE(code, HTTPRING_OK) || n == 0) break;
        got += n;
    }
    CHECK_EQ_STR(buf, got, "abc");
    CHECK_EQ_CODE(httpring_handle_trailer(c, h, "X-Checksum", 0, &v, &len), HTTPRING_OK);
    CHECK_EQ_STR(v, len, "42");
    CHECK_EQ_CODE(httpring_handle_trailer(c, h, NULL, 0, &v, &len), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_handle_free(c, h);
    httpring_client_free(c);
}

int main(void) {
    test_download(0);
    test_download(1);
    test_backpressure(0);
    test_backpressure(1);
    test_events_through_the_fd();
    test_streams_in_a_batch();
    test_free_and_close_mid_stream();
    test_read_chunk(0);
    test_read_chunk(1);
    test_trailers(0);
    test_trailers(1);
    return check_summary();
}
