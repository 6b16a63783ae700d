/*
 * Content codings decoded by the engine, from C: each coding gives the plain body, the
 * switch per client and per request, corrupt data's code, and a decompression bomb (1 GiB
 * of zeros in ~1 MiB of gzip, and in a few KiB of zstd and br) refused at the body limit
 * with the process's peak RSS measured (natively; valgrind and ASan inflate it); and the
 * decoder for bodies that came from elsewhere (httpring_decoder_*).
 */
#include <sys/resource.h>

#include "check.h"

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

static httpring_code finish(httpring_client *c, httpring_handle h) {
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(20000), &st), HTTPRING_OK);
    return httpring_handle_error(c, h);
}

/* GETs path with c (and an optional per-request switch); copies the body into a malloc'd
 * buffer. Returns the request's code. */
/* The last successful fetch's body size as received (httpring_result.bytes_received). */
static uint64_t last_received;

static httpring_code fetch(httpring_client *c, const char *path, int decompress, uint8_t **out,
                           size_t *out_len) {
    httpring_handle h = 0;
    httpring_request *req = httpring_request_new("GET", URL(path));
    if (decompress >= 0)
        CHECK_EQ_CODE(httpring_request_set_decompress(req, decompress != 0), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    httpring_code code = finish(c, h);
    if (code == HTTPRING_OK) {
        httpring_result r = HTTPRING_STRUCT_INIT(httpring_result);
        CHECK_EQ_CODE(httpring_handles_read(c, &h, 1, &r), HTTPRING_OK);
        last_received = r.bytes_received;
    }
    if (code == HTTPRING_OK && out) {
        const uint8_t *body = NULL;
        size_t len = 0;
        CHECK_EQ_CODE(httpring_response_body(c, h, &body, &len), HTTPRING_OK);
        *out = malloc(len + 1);
        memcpy(*out, body, len);
        *out_len = len;
    }
    httpring_handle_free(c, h);
    return code;
}

static long peak_rss_kib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Runs first, so the peak it reads is its own. */
static void test_bomb_stops_at_the_limit(void) {
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_max_body_size(cfg, 32u << 20), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    CHECK(c != NULL);
    const char *paths[] = {"/bomb/gzip/1024", "/bomb/zstd/1024", "/bomb/br/1024"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        httpring_handle h = 0;
        CHECK_EQ_CODE(httpring_client_get(c, URL(paths[i]), 0, &h), HTTPRING_OK);
        CHECK_EQ_CODE(finish(c, h), HTTPRING_ERR_BODY_TOO_LARGE);
        char msg[256];
        size_t msg_len = 0;
        CHECK_EQ_CODE(httpring_handle_error_message(c, h, msg, sizeof msg, &msg_len),
                      HTTPRING_OK);
        CHECK(msg_len > 0 && strstr(msg, "33554432") != NULL);
        httpring_handle_free(c, h);
    }
    httpring_client_free(c);
    long peak = peak_rss_kib();
    if (check_env_factor("HTTPRING_TEST_SLOW") == 1.0) {
        printf("decompression bombs (3 x 1 GiB decoded, limit 32 MiB): peak RSS %ld KiB\n", peak);
        CHECK(peak < 64 * 1024);
    }
}

static void test_each_coding_decodes(void) {
    httpring_client *c = httpring_client_new(NULL);
    uint8_t *want = NULL, *got = NULL;
    size_t want_len = 0, got_len = 0;
    CHECK_EQ_CODE(fetch(c, "/encoded/identity/100000", -1, &want, &want_len), HTTPRING_OK);
    CHECK_EQ_INT(want_len, 100000);
    CHECK_EQ_INT(last_received, 100000);
    const char *codings[] = {"gzip", "deflate", "rawdeflate", "br", "zstd", "gzip-zstd"};
    for (size_t i = 0; i < sizeof codings / sizeof *codings; i++) {
        char path[128];
        snprintf(path, sizeof path, "/encoded/%s/100000", codings[i]);
        CHECK_EQ_CODE(fetch(c, path, -1, &got, &got_len), HTTPRING_OK);
        CHECK_EQ_INT(got_len, want_len);
        CHECK(got_len == want_len && memcmp(got, want, want_len) == 0);
        /* What came over the wire: the coded size, smaller than the decoded body. */
        CHECK(last_received > 0 && last_received < want_len);
        free(got);
        got = NULL;
    }
    /* Off for one request: the gzip bytes as sent. */
    CHECK_EQ_CODE(fetch(c, "/encoded/gzip/100000", 0, &got, &got_len), HTTPRING_OK);
    CHECK(got_len > 2 && got[0] == 0x1f && got[1] == 0x8b && got_len < want_len);
    CHECK_EQ_INT(last_received, got_len);
    free(got);
    /* Corrupt data: its own code, and the client goes on. */
    CHECK_EQ_CODE(fetch(c, "/encoded/gzip/100000?corrupt=1", -1, NULL, NULL),
                  HTTPRING_ERR_DECODING);
    CHECK_EQ_CODE(fetch(c, "/encoded/br/100000?corrupt=1", -1, NULL, NULL),
                  HTTPRING_ERR_DECODING);
    CHECK(strcmp(httpring_error_name(HTTPRING_ERR_DECODING), "HTTPRING_ERR_DECODING") == 0);
    free(want);
    httpring_client_free(c);
}

static void test_off_per_client(void) {
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_decompress(cfg, false), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_decompress(NULL, false), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    uint8_t *got = NULL;
    size_t got_len = 0;
    /* Nothing asked for... */
    CHECK_EQ_CODE(fetch(c, "/echo", -1, &got, &got_len), HTTPRING_OK);
    got[got_len] = 0;
    CHECK(strstr((char *)got, "accept-encoding") == NULL);
    free(got);
    /* ...and zstd bytes come as sent; a request can turn decoding back on. */
    CHECK_EQ_CODE(fetch(c, "/encoded/zstd/1000", -1, &got, &got_len), HTTPRING_OK);
    CHECK(got_len >= 4 && got[0] == 0x28 && got[1] == 0xb5);
    free(got);
    CHECK_EQ_CODE(fetch(c, "/encoded/zstd/1000", 1, &got, &got_len), HTTPRING_OK);
    CHECK_EQ_INT(got_len, 1000);
    CHECK(memcmp(got, "line 0: ", 8) == 0);
    free(got);
    CHECK_EQ_CODE(httpring_request_set_decompress(NULL, true), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK((httpring_features() & HTTPRING_FEATURE_DECOMPRESS) != 0);
    httpring_client_free(c);
}

/* Decodes `len` bytes of `data` in `coding` with httpring_decoder_*, written in pieces of
 * `step` and read into a small buffer; returns the last code (OK at the end). */
static httpring_code decode_with(const char *coding, const uint8_t *data, size_t len, size_t step,
                                 uint8_t **out, size_t *out_len) {
    httpring_decoder *d = NULL;
    httpring_code code = httpring_decoder_new(coding, &d);
    if (code != HTTPRING_OK)
        return code;
    CHECK(d != NULL);
    size_t cap = 1 << 20, have = 0;
    *out = malloc(cap);
    uint8_t buf[1000];
    size_t n = 0;
    /* Each piece written (then the end), everything it yields read. */
    for (size_t off = 0; code == HTTPRING_OK; off += step) {
        int last = off >= len;
        if (last)
            CHECK_EQ_CODE(httpring_decoder_end(d), HTTPRING_OK);
        else
            CHECK_EQ_CODE(httpring_decoder_write(d, data + off, len - off < step ? len - off : step),
                          HTTPRING_OK);
        for (;;) {
            code = httpring_decoder_read(d, buf, sizeof buf, &n);
            if (code != HTTPRING_OK || n == 0)
                break;
            CHECK(have + n <= cap);
            if (have + n <= cap)
                memcpy(*out + have, buf, n);
            have += n;
        }
        if (code == HTTPRING_PENDING) {
            CHECK(!last); /* PENDING only before the end */
            code = HTTPRING_OK;
        }
        if (last)
            break;
    }
    *out_len = have;
    httpring_decoder_free(d);
    httpring_decoder_free(d); /* freed: ignored */
    return code;
}

static void test_a_decoder_for_bodies_from_elsewhere(void) {
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_decompress(cfg, false), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    uint8_t *want = NULL, *coded = NULL, *got = NULL;
    size_t want_len = 0, coded_len = 0, got_len = 0;
    CHECK_EQ_CODE(fetch(c, "/encoded/identity/100000", -1, &want, &want_len), HTTPRING_OK);
    struct { const char *path, *coding; } cases[] = {
        {"/encoded/gzip/100000", "gzip"},       {"/encoded/deflate/100000", "deflate"},
        {"/encoded/rawdeflate/100000", "deflate"}, {"/encoded/br/100000", "br"},
        {"/encoded/zstd/100000", "zstd"},       {"/encoded/gzip-zstd/100000", "gzip, zstd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* The bytes as sent (decoding off on this client), then decoded by hand. */
        CHECK_EQ_CODE(fetch(c, cases[i].path, -1, &coded, &coded_len), HTTPRING_OK);
        CHECK(coded_len < want_len);
        size_t steps[] = {1, 1000, coded_len ? coded_len : 1};
        for (size_t s = 0; s < 3; s++) {
            CHECK_EQ_CODE(decode_with(cases[i].coding, coded, coded_len, steps[s], &got, &got_len),
                          HTTPRING_OK);
            CHECK_EQ_INT(got_len, want_len);
            CHECK(got_len == want_len && memcmp(got, want, want_len) == 0);
            free(got);
        }
        /* Cut short: the end says so. */
        CHECK_EQ_CODE(decode_with(cases[i].coding, coded, coded_len - 5, 4096, &got, &got_len),
                      HTTPRING_ERR_DECODING);
        free(got);
        free(coded);
    }
    char msg[256];
    size_t mlen = 0;
    CHECK_EQ_CODE(httpring_last_error_message(msg, sizeof msg, &mlen), HTTPRING_OK);
    CHECK(strstr(msg, "could not decode") != NULL);
    /* Nothing to decode: no decoder. */
    httpring_decoder *d = (httpring_decoder *)1;
    CHECK_EQ_CODE(httpring_decoder_new("identity", &d), HTTPRING_OK);
    CHECK(d == NULL);
    CHECK_EQ_CODE(httpring_decoder_new("x-unknown", &d), HTTPRING_OK);
    CHECK(d == NULL);
    /* Bad arguments. */
    CHECK_EQ_CODE(httpring_decoder_new(NULL, &d), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_decoder_new("gzip", NULL), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_decoder_new("gzip\r\nX: y", &d), HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(httpring_decoder_new("gzip, br, zstd, gzip", &d), HTTPRING_ERR_DECODING);
    CHECK_EQ_CODE(httpring_decoder_new("gzip", &d), HTTPRING_OK);
    uint8_t buf[16];
    size_t n = 7;
    CHECK_EQ_CODE(httpring_decoder_read(d, buf, sizeof buf, &n), HTTPRING_PENDING);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_CODE(httpring_decoder_read(d, NULL, 16, &n), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_decoder_read(d, buf, sizeof buf, NULL), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_decoder_write(d, NULL, 3), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_decoder_write(d, NULL, 0), HTTPRING_OK);
    /* An empty body in a coding is an empty body. */
    CHECK_EQ_CODE(httpring_decoder_end(d), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_decoder_read(d, buf, sizeof buf, &n), HTTPRING_OK);
    CHECK_EQ_INT(n, 0);
    httpring_decoder_free(d);
    /* A freed (or never issued) decoder is refused, not followed. */
    CHECK_EQ_CODE(httpring_decoder_end(d), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_decoder_read(d, buf, sizeof buf, &n), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_decoder_write((httpring_decoder *)64, buf, 1),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_decoder_free(NULL);
    free(want);
    httpring_client_free(c);
}

int main(void) {
    test_bomb_stops_at_the_limit();
    test_each_coding_decodes();
    test_off_per_client();
    test_a_decoder_for_bodies_from_elsewhere();
    return check_summary();
}
