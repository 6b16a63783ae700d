/*
 * The ABI's promises (docs/ABI.md): the version macros match the loaded library, the
 * feature query reports this build's features, and the caller-allocated structs are used
 * only as far as their struct_size reaches: a program built against version 1 of each
 * struct (the local old_* copies below, which must never change) keeps working, nothing is
 * written past the size it declares, a newer program's extra fields are neither read nor
 * written, and a missing or too small struct_size is refused with nothing written.
 */
#include <stddef.h>

#include "check.h"

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

/* Version 1 of each caller-allocated struct, as a program compiled then declares it. */
typedef struct {
    uint32_t struct_size;
    uint64_t handle;
    uint64_t user_data;
    uint32_t code;
    uint16_t status;
} old_completion;

typedef struct {
    uint32_t struct_size;
    size_t live_handles, pooled_connections, connections_opened, dns_lookups;
} old_stats;

typedef struct {
    uint32_t struct_size;
    const char *method;
    const char *url;
    const httpring_header *headers;
    size_t nheaders;
    const uint8_t *body;
    size_t body_len;
    uint64_t user_data;
    int64_t timeout_ms, connect_timeout_ms, read_timeout_ms;
} old_request_spec;

typedef struct {
    uint32_t struct_size;
    uint16_t status;
    uint32_t version;
    const uint8_t *body;
    size_t body_len;
    size_t header_count;
    const uint8_t *url;
    size_t url_len;
    uint64_t elapsed_us;
} old_response;

typedef struct {
    uint32_t struct_size;
    uint32_t code;
    uint16_t status;
    uint32_t version;
    const uint8_t *body;
    size_t body_len;
    size_t header_count;
    const uint8_t *url;
    size_t url_len;
    uint64_t elapsed_us;
    const uint8_t *headers;
    size_t headers_len;
} old_result;

/* httpring_result as version 2 had it (bytes_received added). */
typedef struct {
    old_result v1;
    uint64_t bytes_received;
} v2_result;

/* httpring_result as version 3 had it (reason, reason_len added). */
typedef struct {
    v2_result v2;
    const uint8_t *reason;
    size_t reason_len;
} v3_result;

#define GUARD 0xA5
#define N 6
/* What a newer program would add to each struct, in bytes: the library must leave it alone. */
#define NEWER 24

/* An aligned scratch buffer, filled with the guard pattern. */
#define LARGEST \
    (sizeof(httpring_result) > sizeof(httpring_request_spec) ? sizeof(httpring_result) \
                                                             : sizeof(httpring_request_spec))
static uint64_t arena[(N * (LARGEST + NEWER) + 256) / 8];
static unsigned char *fresh(void) {
    memset(arena, GUARD, sizeof arena);
    return (unsigned char *)arena;
}

/* Whether bytes [from, to) of the arena still hold the guard pattern. */
static int untouched(size_t from, size_t to) {
    const unsigned char *p = (const unsigned char *)arena;
    for (size_t i = from; i < to; i++)
        if (p[i] != GUARD) {
            fprintf(stderr, "  byte %zu was written (0x%02x)\n", i, p[i]);
            return 0;
        }
    return 1;
}

static void set_size(void *p, uint32_t size) { memcpy(p, &size, sizeof size); }

/* Submits N GETs of /hello (user_data 100 + i) and waits for all of them. */
static void submit_n(httpring_client *c, httpring_handle *hs) {
    for (int i = 0; i < N; i++) CHECK_EQ_CODE(httpring_client_get(c, URL("/hello"), 100 + (uint64_t)i, &hs[i]), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_wait_all(c, hs, N, check_slack_ms(10000)), HTTPRING_OK);
}

static void test_version_and_features(void) {
    CHECK_SECTION("version macros and the loaded library");
    CHECK_EQ_INT(HTTPRING_VERSION_NUM,
                 (HTTPRING_VERSION_MAJOR << 16) | (HTTPRING_VERSION_MINOR << 8) | HTTPRING_VERSION_PATCH);
    CHECK_EQ_INT(httpring_version_num(), HTTPRING_VERSION_NUM);
    char text[32];
    snprintf(text, sizeof text, "%d.%d.%d", HTTPRING_VERSION_MAJOR, HTTPRING_VERSION_MINOR, HTTPRING_VERSION_PATCH);
    CHECK_EQ_STR(httpring_version(), strlen(httpring_version()), text);

    uint64_t f = httpring_features();
    CHECK(f & HTTPRING_FEATURE_TLS);
    CHECK(f & HTTPRING_FEATURE_HTTP2);
    CHECK(f & HTTPRING_FEATURE_PROXY);
    CHECK(f & HTTPRING_FEATURE_SOCKS);
    CHECK(f & HTTPRING_FEATURE_UNIX_SOCKETS);
    CHECK(f & HTTPRING_FEATURE_SPEC_FLAGS);
    CHECK_EQ_INT(httpring_features(), f);

    /* The header's structs are version 1 today but for httpring_completion (version 2 adds
     * `event` after version 1's 32 bytes) and httpring_result (version 2 adds
     * `bytes_received` after version 1's 80, version 3 `reason` and `reason_len`): these
     * sizes are the promise. */
    CHECK_EQ_INT(sizeof(old_completion), 32);
    CHECK_EQ_INT(sizeof(httpring_completion), 40);
    CHECK_EQ_INT(offsetof(httpring_completion, event), sizeof(old_completion));
    CHECK_EQ_INT(sizeof(httpring_stats), sizeof(old_stats));
    /* httpring_request_spec version 4 adds pool_timeout_ms ... low_speed_time_ms; version 5
     * flags. */
    CHECK_EQ_INT(sizeof(old_request_spec), 88);
    CHECK_EQ_INT(sizeof(httpring_request_spec), 152);
    CHECK_EQ_INT(offsetof(httpring_request_spec, pool_timeout_ms), sizeof(old_request_spec));
    CHECK_EQ_INT(offsetof(httpring_request_spec, flags), 144);
    {
        /* HTTPRING_REQUEST_SPEC_INIT: every int64 setting (one added later too) is the
         * client's, -1; flags 0. */
        httpring_request_spec s = HTTPRING_REQUEST_SPEC_INIT;
        CHECK_EQ_INT(s.struct_size, sizeof s);
        CHECK(s.method == NULL && s.url == NULL && s.headers == NULL && s.body == NULL);
        CHECK_EQ_INT(s.nheaders + s.body_len + s.user_data + s.flags, 0);
        for (size_t off = offsetof(httpring_request_spec, timeout_ms); off + 8 <= sizeof s; off += 8) {
            if (off == offsetof(httpring_request_spec, flags)) continue;
            int64_t v;
            memcpy(&v, (const char *)&s + off, sizeof v);
            CHECK_EQ_INT(v, -1);
        }
    }
    CHECK_EQ_INT(sizeof(httpring_response), sizeof(old_response));
    CHECK_EQ_INT(sizeof(old_result), 80);
    CHECK_EQ_INT(sizeof(v2_result), 88);
    CHECK_EQ_INT(offsetof(httpring_result, bytes_received), sizeof(old_result));
    CHECK_EQ_INT(sizeof(v3_result), 104);
    CHECK_EQ_INT(offsetof(httpring_result, reason), sizeof(v2_result));
    /* Version 6 adds body_pieces, body_piece_count. */
    CHECK_EQ_INT(sizeof(httpring_result), 120);
    CHECK_EQ_INT(offsetof(httpring_result, body_pieces), sizeof(v3_result));
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_INT(r.struct_size, sizeof r);
    CHECK_EQ_INT(r.status, 0);
    /* httpring_chunk, version 1 (0.7). */
    CHECK_EQ_INT(sizeof(httpring_chunk), 32);
    CHECK_EQ_INT(offsetof(httpring_chunk, data), 8);
    CHECK_EQ_INT(offsetof(httpring_chunk, received), 24);
}

/* drain and wait_drain with a stride of `size` bytes (version 1's, or a newer program's). */
static void check_drain(httpring_client *c, size_t size, int wait) {
    httpring_handle hs[N];
    submit_n(c, hs);
    unsigned char *buf = fresh();
    set_size(buf, (uint32_t)size);
    size_t n = 0, cap = N + 2, end = cap * size;
    httpring_completion *out = (httpring_completion *)(void *)buf;
    if (wait)
        CHECK_EQ_CODE(httpring_client_wait_drain(c, out, cap, N, check_slack_ms(10000), &n), HTTPRING_OK);
    else
        CHECK_EQ_CODE(httpring_client_drain(c, out, cap, &n), HTTPRING_OK);
    CHECK_EQ_INT(n, N);
    for (size_t i = 0; i < n; i++) {
        old_completion e;
        memcpy(&e, buf + i * size, sizeof e);
        CHECK_EQ_INT(e.struct_size, size);
        CHECK_EQ_INT(e.handle, hs[e.user_data - 100]);
        CHECK(e.user_data >= 100 && e.user_data < 100 + N);
        CHECK_EQ_CODE(e.code, HTTPRING_OK);
        CHECK_EQ_INT(e.status, 200);
        /* A version 1 caller gets version 1's fields; a caller of version 2 or newer also gets
         * `event` (DONE for a request that is not streamed); nothing past what it knows. */
        size_t written = size >= sizeof(httpring_completion) ? sizeof(httpring_completion) : sizeof(old_completion);
        if (written == sizeof(httpring_completion)) {
            httpring_completion v2;
            memcpy(&v2, buf + i * size, sizeof v2);
            CHECK_EQ_INT(v2.event, HTTPRING_EVENT_DONE);
        }
        CHECK(untouched(i * size + written, (i + 1) * size)); /* newer fields */
    }
    CHECK(untouched(n * size, end + 64)); /* past the last element filled */
    httpring_handles_free(c, hs, N);
}

static void test_drain(httpring_client *c) {
    CHECK_SECTION("drain / wait_drain with version 1's, version 2's and a newer program's struct_size");
    check_drain(c, sizeof(old_completion), 0);
    check_drain(c, sizeof(old_completion), 1);
    check_drain(c, sizeof(httpring_completion), 0);
    check_drain(c, sizeof(old_completion) + NEWER, 0);
    check_drain(c, sizeof(old_completion) + NEWER, 1);
}

static void check_response(httpring_client *c, size_t size) {
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/hello"), 7, &h), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), NULL), HTTPRING_OK);
    unsigned char *buf = fresh();
    set_size(buf, (uint32_t)size);
    CHECK_EQ_CODE(httpring_handle_response(c, h, (httpring_response *)(void *)buf), HTTPRING_OK);
    old_response r;
    memcpy(&r, buf, sizeof r);
    CHECK_EQ_INT(r.struct_size, size);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(r.version, HTTPRING_HTTP_1_1);
    CHECK_EQ_STR(r.body, r.body_len, "Hello, world!");
    CHECK_EQ_STR(r.url, r.url_len, URL("/hello"));
    CHECK(r.header_count >= 3);
    CHECK(r.elapsed_us > 0);
    CHECK(untouched(sizeof(old_response), size + 64));
    httpring_handle_free(c, h);
}

static void check_read(httpring_client *c, size_t size) {
    httpring_handle hs[N];
    submit_n(c, hs);
    httpring_handle asked[N];
    memcpy(asked, hs, sizeof hs);
    asked[N - 1] = 12345; /* not a handle: its own code, the others unaffected */
    unsigned char *buf = fresh();
    set_size(buf, (uint32_t)size);
    CHECK_EQ_CODE(httpring_handles_read(c, asked, N, (httpring_result *)(void *)buf), HTTPRING_OK);
    for (size_t i = 0; i < N; i++) {
        old_result r;
        memcpy(&r, buf + i * size, sizeof r);
        CHECK_EQ_INT(r.struct_size, size);
        if (i == N - 1) {
            CHECK_EQ_CODE(r.code, HTTPRING_ERR_INVALID_HANDLE);
            CHECK_EQ_INT(r.status, 0);
            CHECK(r.body == NULL && r.headers == NULL);
        } else {
            CHECK_EQ_CODE(r.code, HTTPRING_OK);
            CHECK_EQ_INT(r.status, 200);
            CHECK_EQ_INT(r.version, HTTPRING_HTTP_1_1);
            CHECK_EQ_STR(r.body, r.body_len, "Hello, world!");
            CHECK_EQ_STR(r.url, r.url_len, URL("/hello"));
            CHECK(r.header_count >= 3);
            CHECK(check_contains(r.headers, r.headers_len, "content-length: 13\r\n"));
        }
        /* Version 2 adds bytes_received, version 3 the reason (NULL: /hello's is "OK"),
         * version 6 the body's pieces (none from httpring_handles_read); an older caller
         * gets nothing past its fields. */
        size_t written = size >= sizeof(httpring_result) ? sizeof(httpring_result)
                         : size >= sizeof(v3_result)     ? sizeof(v3_result)
                         : size >= sizeof(v2_result)     ? sizeof(v2_result)
                                                         : sizeof(old_result);
        if (written >= sizeof(v2_result)) {
            v2_result v2;
            memcpy(&v2, buf + i * size, sizeof v2);
            CHECK_EQ_INT(v2.bytes_received, i == N - 1 ? 0 : 13);
        }
        if (written >= sizeof(v3_result)) {
            v3_result v3;
            memcpy(&v3, buf + i * size, sizeof v3);
            CHECK(v3.reason == NULL && v3.reason_len == 0);
        }
        if (written == sizeof(httpring_result)) {
            httpring_result v6;
            memcpy(&v6, buf + i * size, sizeof v6);
            CHECK(v6.body_pieces == NULL && v6.body_piece_count == 0);
        }
        CHECK(untouched(i * size + written, (i + 1) * size));
    }
    CHECK(untouched(N * size, N * size + 64));
    httpring_handles_free(c, hs, N);
}

static void check_stats(httpring_client *c, size_t size) {
    unsigned char *buf = fresh();
    set_size(buf, (uint32_t)size);
    CHECK_EQ_CODE(httpring_client_stats(c, (httpring_stats *)(void *)buf), HTTPRING_OK);
    old_stats s;
    memcpy(&s, buf, sizeof s);
    CHECK_EQ_INT(s.struct_size, size);
    CHECK_EQ_INT(s.live_handles, 0);
    CHECK(s.connections_opened >= 1 && s.connections_opened <= N);
    CHECK(s.pooled_connections >= 1 && s.pooled_connections <= s.connections_opened);
    CHECK_EQ_INT(s.dns_lookups, 0); /* 127.0.0.1 needs no resolver */
    CHECK(untouched(sizeof(old_stats), size + 64));
}

static void test_read_side(httpring_client *c) {
    CHECK_SECTION("handle_response / handles_read / stats with version 1's and a newer struct_size");
    check_response(c, sizeof(old_response));
    check_response(c, sizeof(old_response) + NEWER);
    check_read(c, sizeof(old_result));
    check_read(c, sizeof(v2_result));
    check_read(c, sizeof(v3_result));
    check_read(c, sizeof(httpring_result));
    check_read(c, sizeof(httpring_result) + NEWER);
    check_stats(c, sizeof(old_stats));
    check_stats(c, sizeof(old_stats) + NEWER);
}

/* send_many reads specs with a stride of `size`: a version-1 program's (the fields it
 * lacks are the client's), today's, or a newer program's (the bytes past today's are
 * garbage). */
static void check_send_many(httpring_client *c, size_t size) {
    unsigned char *buf = fresh();
    const char *method[N] = {"GET", NULL, "POST", "GET", "GET", "GET"};
    char urls[N][128];
    httpring_header hdr = {(const uint8_t *)"x-abi", 5, (const uint8_t *)"1", 1};
    for (int i = 0; i < N; i++) {
        httpring_request_spec s;
        memset(&s, 0, sizeof s);
        s.struct_size = i == 0 ? (uint32_t)size : 0; /* only element 0's is read */
        s.method = method[i];
        snprintf(urls[i], sizeof urls[i], "%s/echo", check_base_url());
        s.url = i == 3 ? "ftp://nope/" : urls[i];
        s.headers = &hdr;
        s.nheaders = 1;
        s.body = (const uint8_t *)"abc";
        s.body_len = i == 2 ? 3 : 0;
        s.user_data = 200 + (uint64_t)i;
        s.timeout_ms = s.connect_timeout_ms = s.read_timeout_ms = -1;
        s.pool_timeout_ms = s.write_timeout_ms = s.retries = -1;
        s.max_recv_speed = s.max_send_speed = s.low_speed_bytes_per_sec = s.low_speed_time_ms = -1;
        memcpy(buf + (size_t)i * size, &s, size < sizeof s ? size : sizeof s);
    }
    httpring_handle hs[N];
    httpring_code codes[N];
    CHECK_EQ_CODE(httpring_client_send_many(c, (const httpring_request_spec *)(void *)buf, N, hs, codes),
                  HTTPRING_ERR_UNSUPPORTED_SCHEME);
    CHECK_EQ_CODE(codes[3], HTTPRING_ERR_UNSUPPORTED_SCHEME);
    CHECK_EQ_INT(hs[3], 0);
    httpring_handle ok[N - 1];
    size_t k = 0;
    for (int i = 0; i < N; i++)
        if (i != 3) {
            CHECK_EQ_CODE(codes[i], HTTPRING_OK);
            ok[k++] = hs[i];
        }
    CHECK_EQ_CODE(httpring_handle_wait_all(c, ok, k, check_slack_ms(10000)), HTTPRING_OK);
    for (int i = 0; i < N; i++) {
        if (i == 3) continue;
        httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
        CHECK_EQ_CODE(httpring_handle_response(c, hs[i], &r), HTTPRING_OK);
        CHECK_EQ_INT(r.status, 200);
        CHECK(check_contains(r.body, r.body_len, i == 2 ? "\"method\": \"POST\"" : "\"method\": \"GET\""));
        CHECK(check_contains(r.body, r.body_len, "x-abi"));
        if (i == 2) CHECK(check_contains(r.body, r.body_len, "abc"));
        uint64_t ud = 0;
        httpring_handle_user_data(c, hs[i], &ud);
        CHECK_EQ_INT(ud, 200 + i);
    }
    httpring_handles_free(c, ok, k);
}

static void test_send_many(httpring_client *c) {
    CHECK_SECTION("send_many with version 1's, 4's, today's and a newer program's struct_size");
    check_send_many(c, sizeof(old_request_spec));
    check_send_many(c, offsetof(httpring_request_spec, flags));
    check_send_many(c, sizeof(httpring_request_spec));
    check_send_many(c, sizeof(httpring_request_spec) + NEWER);
}

/* Every call refuses struct_size 0 and one below version 1, writing nothing. */
static void test_refused(httpring_client *c) {
    CHECK_SECTION("struct_size 0 or too small: HTTPRING_ERR_INVALID_ARGUMENT, nothing written");
    httpring_handle hs[N];
    submit_n(c, hs);
    const uint32_t bad[][5] = {
        /* completion, response, result, stats, spec */
        {0, 0, 0, 0, 0},
        {4, 4, 4, 4, 4},
        {sizeof(old_completion) - 1, sizeof(old_response) - 1, sizeof(old_result) - 1, sizeof(old_stats) - 1,
         sizeof(old_request_spec) - 1},
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        size_t n = 4242;
        unsigned char *buf = fresh();
        set_size(buf, bad[b][0]);
        CHECK_EQ_CODE(httpring_client_drain(c, (httpring_completion *)(void *)buf, N, &n), HTTPRING_ERR_INVALID_ARGUMENT);
        CHECK_EQ_INT(n, 4242);
        CHECK(untouched(4, sizeof arena));
        CHECK_EQ_CODE(httpring_client_wait_drain(c, (httpring_completion *)(void *)buf, N, 1, 0, &n),
                      HTTPRING_ERR_INVALID_ARGUMENT);
        CHECK_EQ_INT(n, 4242);
        CHECK(untouched(4, sizeof arena));

        set_size(buf, bad[b][1]);
        CHECK_EQ_CODE(httpring_handle_response(c, hs[0], (httpring_response *)(void *)buf), HTTPRING_ERR_INVALID_ARGUMENT);
        CHECK(untouched(4, sizeof arena));

        set_size(buf, bad[b][2]);
        CHECK_EQ_CODE(httpring_handles_read(c, hs, N, (httpring_result *)(void *)buf), HTTPRING_ERR_INVALID_ARGUMENT);
        CHECK(untouched(4, sizeof arena));

        set_size(buf, bad[b][3]);
        CHECK_EQ_CODE(httpring_client_stats(c, (httpring_stats *)(void *)buf), HTTPRING_ERR_INVALID_ARGUMENT);
        CHECK(untouched(4, sizeof arena));

        old_request_spec spec[2] = {{0}};
        spec[0].struct_size = bad[b][4];
        spec[1].struct_size = sizeof spec[1]; /* only element 0's counts */
        spec[0].url = spec[1].url = URL("/hello");
        httpring_handle got[2] = {77, 77};
        httpring_code codes[2] = {77, 77};
        CHECK_EQ_CODE(httpring_client_send_many(c, (const httpring_request_spec *)(void *)spec, 2, got, codes),
                      HTTPRING_ERR_INVALID_ARGUMENT);
        CHECK(got[0] == 77 && got[1] == 77 && codes[0] == 77 && codes[1] == 77);
        size_t live = 0;
        httpring_client_live_handles(c, &live);
        CHECK_EQ_INT(live, N); /* nothing was submitted */
    }
    /* The refused drains lost nothing: all N completions are still there. */
    httpring_completion done[N + 1] = {HTTPRING_STRUCT_INIT(httpring_completion)};
    size_t n = 0;
    CHECK_EQ_CODE(httpring_client_drain(c, done, N + 1, &n), HTTPRING_OK);
    CHECK_EQ_INT(n, N);
    /* cap 0 reads no struct_size: out may be NULL. */
    CHECK_EQ_CODE(httpring_client_drain(c, NULL, 0, &n), HTTPRING_OK);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_CODE(httpring_client_send_many(c, NULL, 0, NULL, NULL), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handles_read(c, NULL, 0, NULL), HTTPRING_OK);
    httpring_handles_free(c, hs, N);
}

static uint32_t callback_size;
static void on_complete(void *ctx, const httpring_completion *e) {
    (void)ctx;
    callback_size = e->struct_size;
}

static void test_callback_size(void) {
    CHECK_SECTION("the callback's completion carries the library's struct_size");
    httpring_client *c = httpring_client_new(NULL);
    if (!CHECK(c != NULL)) return;
    CHECK_EQ_CODE(httpring_client_set_callback(c, on_complete, NULL), HTTPRING_OK);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/hello"), 1, &h), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), NULL), HTTPRING_OK);
    CHECK_EQ_INT(callback_size, sizeof(httpring_completion));
    httpring_handle_free(c, h);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
}

int main(void) {
    check_base_url();
    test_version_and_features();
    httpring_client *c = httpring_client_new(NULL);
    if (!CHECK(c != NULL)) return check_summary();
    test_drain(c);
    test_read_side(c);
    test_send_many(c);
    test_refused(c);
    size_t live = 99;
    CHECK_EQ_CODE(httpring_client_live_handles(c, &live), HTTPRING_OK);
    CHECK_EQ_INT(live, 0);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
    test_callback_size();
    return check_summary();
}
