/*
 * Basic requests against the local test server: GET and response accessors, POST and
 * JSON, httpring_client_send with custom and default headers, the request builder, a
 * 10 MiB body, the body limit, connection reuse, and the socket settings (local address,
 * TCP keepalive).
 */
#include "check.h"

#include <strings.h>

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

/* Waits for h (bounded) and checks it completed with a response. */
static int wait_done(httpring_client *c, httpring_handle h) {
    httpring_state st = HTTPRING_STATE_PENDING;
    int ok = CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), &st), HTTPRING_OK);
    ok &= CHECK_EQ_INT(st, HTTPRING_STATE_DONE);
    if (st != HTTPRING_STATE_DONE) {
        char msg[256];
        httpring_handle_error_message(c, h, msg, sizeof msg, NULL);
        fprintf(stderr, "  request failed: %s: %s\n",
                httpring_error_name(httpring_handle_error(c, h)), msg);
    }
    return ok;
}

/* GETs path and returns the handle after it completed (0 on failure to submit). */
static httpring_handle get_done(httpring_client *c, const char *path, uint64_t user_data) {
    httpring_handle h = 0;
    if (!CHECK_EQ_CODE(httpring_client_get(c, URL(path), user_data, &h), HTTPRING_OK)) return 0;
    CHECK(h != 0);
    wait_done(c, h);
    return h;
}

static void test_version(void) {
    CHECK_SECTION("version");
    const char *v = httpring_version();
    CHECK(v != NULL && strlen(v) >= 5);
    CHECK(v != NULL && strchr(v, '.') != NULL);
}

static void test_get_hello(httpring_client *c) {
    CHECK_SECTION("GET /hello");
    httpring_handle h = get_done(c, "/hello", 4242);
    if (!h) return;

    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(r.version, HTTPRING_HTTP_1_1);
    CHECK_EQ_STR(r.body, r.body_len, "Hello, world!");
    CHECK_EQ_STR(r.url, r.url_len, URL("/hello"));
    CHECK(r.elapsed_us > 0);
    CHECK(r.elapsed_us < 10u * 1000 * 1000);
    CHECK(r.header_count >= 3); /* content-type, content-length, date */
    CHECK_EQ_CODE(httpring_handle_error(c, h), HTTPRING_OK);

    uint64_t ud = 0;
    CHECK_EQ_CODE(httpring_handle_user_data(c, h, &ud), HTTPRING_OK);
    CHECK_EQ_INT(ud, 4242);

    const uint8_t *body = NULL;
    size_t body_len = 0;
    CHECK_EQ_CODE(httpring_response_body(c, h, &body, &body_len), HTTPRING_OK);
    CHECK_EQ_STR(body, body_len, "Hello, world!");
    CHECK(body == r.body); /* the same borrowed bytes */

    /* Header lookup is case-insensitive. */
    const char *spellings[] = {"content-type", "Content-Type", "CONTENT-TYPE", "cOnTeNt-TyPe"};
    for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
        const uint8_t *v = NULL;
        size_t vl = 0;
        CHECK_EQ_CODE(httpring_response_header(c, h, spellings[i], 0, &v, &vl), HTTPRING_OK);
        CHECK_EQ_STR(v, vl, "text/plain");
    }
    const uint8_t *v = NULL;
    size_t vl = 0;
    CHECK_EQ_CODE(httpring_response_header(c, h, "Content-Length", 0, &v, &vl), HTTPRING_OK);
    CHECK_EQ_STR(v, vl, "13");
    CHECK_EQ_CODE(httpring_response_header(c, h, "content-type", 1, &v, &vl),
                  HTTPRING_ERR_NOT_FOUND);
    CHECK_EQ_CODE(httpring_response_header(c, h, "x-not-there", 0, &v, &vl),
                  HTTPRING_ERR_NOT_FOUND);
    CHECK_EQ_CODE(httpring_response_header(c, h, NULL, 0, &v, &vl),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_response_header(c, h, "content-type", 0, NULL, &vl),
                  HTTPRING_ERR_INVALID_ARGUMENT);

    /* header_at: header_count lines, lower-case names, then NOT_FOUND. */
    size_t found_ct = 0, found_cl = 0, i;
    for (i = 0;; i++) {
        const uint8_t *n = NULL, *hv = NULL;
        size_t nl = 0, hvl = 0;
        httpring_code rc = httpring_response_header_at(c, h, i, &n, &nl, &hv, &hvl);
        if (rc == HTTPRING_ERR_NOT_FOUND) break;
        if (!CHECK_EQ_CODE(rc, HTTPRING_OK)) break;
        int lower = 1;
        for (size_t k = 0; k < nl; k++)
            if (n[k] >= 'A' && n[k] <= 'Z') lower = 0;
        CHECK(lower && nl > 0);
        if (nl == 12 && memcmp(n, "content-type", 12) == 0) {
            found_ct++;
            CHECK_EQ_STR(hv, hvl, "text/plain");
        }
        if (nl == 14 && memcmp(n, "content-length", 14) == 0) found_cl++;
        if (i > 100) break;
    }
    CHECK_EQ_INT(i, r.header_count);
    CHECK_EQ_INT(found_ct, 1);
    CHECK_EQ_INT(found_cl, 1);
    {
        const uint8_t *n, *hv;
        size_t nl, hvl;
        CHECK_EQ_CODE(httpring_response_header_at(c, h, r.header_count, &n, &nl, &hv, &hvl),
                      HTTPRING_ERR_NOT_FOUND);
        CHECK_EQ_CODE(httpring_response_header_at(c, h, 0, NULL, &nl, &hv, &hvl),
                      HTTPRING_ERR_INVALID_ARGUMENT);
    }

    /* headers_raw: "name: value\r\n" lines, one per header line. */
    const uint8_t *raw = NULL;
    size_t raw_len = 0;
    CHECK_EQ_CODE(httpring_response_headers_raw(c, h, &raw, &raw_len), HTTPRING_OK);
    CHECK(raw_len > 0);
    CHECK(check_contains(raw, raw_len, "content-type: text/plain\r\n"));
    CHECK(check_contains(raw, raw_len, "content-length: 13\r\n"));
    CHECK(raw_len >= 2 && raw[raw_len - 2] == '\r' && raw[raw_len - 1] == '\n');
    size_t lines = 0;
    for (size_t k = 0; k + 1 < raw_len; k++)
        if (raw[k] == '\r' && raw[k + 1] == '\n') lines++;
    CHECK_EQ_INT(lines, r.header_count);

    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
}

static void test_repeated_headers(httpring_client *c) {
    CHECK_SECTION("GET /headers (repeated names)");
    httpring_handle h = get_done(c, "/headers", 0);
    if (!h) return;
    const uint8_t *v = NULL;
    size_t vl = 0;
    CHECK_EQ_CODE(httpring_response_header(c, h, "Set-Cookie", 0, &v, &vl), HTTPRING_OK);
    CHECK_EQ_STR(v, vl, "a=1");
    CHECK_EQ_CODE(httpring_response_header(c, h, "set-cookie", 1, &v, &vl), HTTPRING_OK);
    CHECK_EQ_STR(v, vl, "b=2");
    CHECK_EQ_CODE(httpring_response_header(c, h, "set-cookie", 2, &v, &vl),
                  HTTPRING_ERR_NOT_FOUND);
    CHECK_EQ_CODE(httpring_response_header(c, h, "X-CUSTOM", 0, &v, &vl), HTTPRING_OK);
    CHECK_EQ_STR(v, vl, "Yes");

    /* Both set-cookie lines are counted and adjacent in header_at order. */
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
    CHECK_EQ_STR(r.body, r.body_len, "headers");
    long first = -1, second = -1;
    for (size_t i = 0; i < r.header_count; i++) {
        const uint8_t *n, *hv;
        size_t nl, hvl;
        if (!CHECK_EQ_CODE(httpring_response_header_at(c, h, i, &n, &nl, &hv, &hvl),
                           HTTPRING_OK))
            break;
        if (nl == 10 && memcmp(n, "set-cookie", 10) == 0) {
            if (first < 0) {
                first = (long)i;
                CHECK_EQ_STR(hv, hvl, "a=1");
            } else {
                second = (long)i;
                CHECK_EQ_STR(hv, hvl, "b=2");
            }
        }
    }
    CHECK(first >= 0 && second == first + 1);
    const uint8_t *raw;
    size_t raw_len;
    CHECK_EQ_CODE(httpring_response_headers_raw(c, h, &raw, &raw_len), HTTPRING_OK);
    CHECK(check_contains(raw, raw_len, "set-cookie: a=1\r\nset-cookie: b=2\r\n"));
    CHECK(check_contains(raw, raw_len, "x-custom: Yes\r\n"));
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
}

static void test_status_and_json(httpring_client *c) {
    CHECK_SECTION("GET /status/404, a custom reason phrase, /json");
    httpring_handle h = get_done(c, "/status/404", 0);
    if (h) {
        /* Any HTTP status is a completed response, not a failure. */
        httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
        CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
        CHECK_EQ_INT(r.status, 404);
        CHECK_EQ_STR(r.body, r.body_len, "status 404");
        CHECK_EQ_CODE(httpring_handle_error(c, h), HTTPRING_OK);
        const uint8_t *reason = NULL;
        size_t reason_len = 99;
        CHECK_EQ_CODE(httpring_response_reason(c, h, &reason, &reason_len), HTTPRING_OK);
        CHECK_EQ_STR(reason, reason_len, "Not Found");
        CHECK_EQ_CODE(httpring_response_reason(c, h, NULL, &reason_len), HTTPRING_ERR_INVALID_ARGUMENT);
        httpring_handle_free(c, h);
        CHECK_EQ_CODE(httpring_response_reason(c, h, &reason, &reason_len), HTTPRING_ERR_INVALID_HANDLE);
    }
    /* The server's own reason phrase, in the accessor and in httpring_handles_read. */
    h = get_done(c, "/status/200?reason=Fine+thanks", 0);
    if (h) {
        const uint8_t *reason = NULL;
        size_t reason_len = 0;
        CHECK_EQ_CODE(httpring_response_reason(c, h, &reason, &reason_len), HTTPRING_OK);
        CHECK_EQ_STR(reason, reason_len, "Fine thanks");
        httpring_result res = HTTPRING_STRUCT_INIT(httpring_result);
        CHECK_EQ_CODE(httpring_handles_read(c, &h, 1, &res), HTTPRING_OK);
        CHECK_EQ_STR(res.reason, res.reason_len, "Fine thanks");
        httpring_handle_free(c, h);
    }
    h = get_done(c, "/json", 0);
    if (h) {
        httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
        CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_STR(r.body, r.body_len, "{\"ok\": true, \"n\": 42}");
        const uint8_t *v;
        size_t vl;
        CHECK_EQ_CODE(httpring_response_header(c, h, "content-type", 0, &v, &vl), HTTPRING_OK);
        CHECK_EQ_STR(v, vl, "application/json");
        httpring_handle_free(c, h);
    }
}

/* Checks that the /echo response of h contains every string in `want` (NULL-terminated). */
static void check_echo(httpring_client *c, httpring_handle h, const char *const *want) {
    if (!wait_done(c, h)) return;
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    if (!CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK)) return;
    CHECK_EQ_INT(r.status, 200);
    for (; *want; want++) {
        if (!CHECK(check_contains(r.body, r.body_len, *want)))
            fprintf(stderr, "  missing %s in echo: %.*s\n", *want, (int)r.body_len,
                    (const char *)r.body);
    }
}

static int echo_lacks(httpring_client *c, httpring_handle h, const char *what) {
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    if (httpring_handle_response(c, h, &r) != HTTPRING_OK) return 0;
    return !check_contains(r.body, r.body_len, what);
}

static void test_post(httpring_client *c) {
    CHECK_SECTION("POST /echo, post_json");
    httpring_handle h = 0;
    const char *text = "hello body";
    CHECK_EQ_CODE(httpring_client_post(c, URL("/echo"), "text/plain", (const uint8_t *)text,
                                       strlen(text), 7, &h),
                  HTTPRING_OK);
    const char *want1[] = {"\"method\": \"POST\"", "\"path\": \"/echo\"",
                           "\"content-type\": \"text/plain\"", "\"content-length\": \"10\"",
                           "\"body\": \"hello body\"", "\"body_len\": 10",
                           "\"user-agent\": \"httpring/", NULL};
    check_echo(c, h, want1);
    httpring_handle_free(c, h);

    const char *json = "{\"name\": \"ring\", \"n\": [1, 2, 3]}";
    CHECK_EQ_CODE(httpring_client_post_json(c, URL("/echo?x=1"), (const uint8_t *)json,
                                            strlen(json), 8, &h),
                  HTTPRING_OK);
    const char *want2[] = {"\"method\": \"POST\"", "\"path\": \"/echo?x=1\"",
                           "\"content-type\": \"application/json\"",
                           "\"body\": \"{\\\"name\\\": \\\"ring\\\", \\\"n\\\": [1, 2, 3]}\"",
                           "\"body_len\": 32", NULL};
    check_echo(c, h, want2);
    httpring_handle_free(c, h);

    /* No content type, empty body: Content-Length: 0 and no content-type. */
    CHECK_EQ_CODE(httpring_client_post(c, URL("/echo"), NULL, NULL, 0, 9, &h), HTTPRING_OK);
    const char *want3[] = {"\"method\": \"POST\"", "\"content-length\": \"0\"",
                           "\"body\": \"\"", "\"body_len\": 0", NULL};
    check_echo(c, h, want3);
    CHECK(echo_lacks(c, h, "content-type"));
    httpring_handle_free(c, h);

    /* A body with bytes that are not text survives as bytes (the server counts them). */
    uint8_t bin[1000];
    for (size_t i = 0; i < sizeof bin; i++) bin[i] = (uint8_t)(i * 7);
    CHECK_EQ_CODE(httpring_client_post(c, URL("/echo"), "application/octet-stream", bin,
                                       sizeof bin, 10, &h),
                  HTTPRING_OK);
    const char *want4[] = {"\"body_len\": 1000", "\"content-length\": \"1000\"", NULL};
    check_echo(c, h, want4);
    httpring_handle_free(c, h);
}

#define HDR(n, v) {(const uint8_t *)(n), strlen(n), (const uint8_t *)(v), strlen(v)}

static void test_send(httpring_client *c) {
    CHECK_SECTION("client_send with custom headers");
    httpring_header hs[] = {
        HDR("X-Test", "one"),
        HDR("X-Multi", "a"),
        HDR("X-Multi", "b"),
        HDR("Content-Type", "text/x-custom"),
        HDR("User-Agent", "custom-agent/2"),
    };
    const char *body = "put body";
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_send(c, "PUT", URL("/echo/sub?q=a%20b"), hs,
                                       sizeof hs / sizeof hs[0], (const uint8_t *)body,
                                       strlen(body), 99, &h),
                  HTTPRING_OK);
    const char *want[] = {"\"method\": \"PUT\"", "\"path\": \"/echo/sub?q=a%20b\"",
                          "\"x-test\": \"one\"", "\"x-multi\": \"a, b\"",
                          "\"content-type\": \"text/x-custom\"",
                          "\"user-agent\": \"custom-agent/2\"", "\"body\": \"put body\"",
                          "\"host\": \"127.0.0.1:", NULL};
    check_echo(c, h, want);
    uint64_t ud = 0;
    CHECK_EQ_CODE(httpring_handle_user_data(c, h, &ud), HTTPRING_OK);
    CHECK_EQ_INT(ud, 99);
    /* The request's own User-Agent replaces the default one. */
    CHECK(echo_lacks(c, h, "httpring/"));
    httpring_handle_free(c, h);

    /* Other methods, no headers, NULL arrays with zero lengths. */
    const char *methods[] = {"DELETE", "OPTIONS", "PATCH", "GET", "X-CUSTOM-METHOD"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        CHECK_EQ_CODE(httpring_client_send(c, methods[i], URL("/echo"), NULL, 0, NULL, 0, i, &h),
                      HTTPRING_OK);
        char want_m[64];
        snprintf(want_m, sizeof want_m, "\"method\": \"%s\"", methods[i]);
        const char *w[] = {want_m, "\"body_len\": 0", NULL};
        check_echo(c, h, w);
        httpring_handle_free(c, h);
    }

    /* HEAD: a response with no body. */
    CHECK_EQ_CODE(httpring_client_send(c, "HEAD", URL("/hello"), NULL, 0, NULL, 0, 0, &h),
                  HTTPRING_OK);
    if (wait_done(c, h)) {
        httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
        CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_INT(r.body_len, 0);
    }
    httpring_handle_free(c, h);
}

static void test_default_headers(void) {
    CHECK_SECTION("default headers from config");
    httpring_config *cfg = httpring_config_new();
    CHECK(cfg != NULL);
    CHECK_EQ_CODE(httpring_config_add_default_header(cfg, "X-Default", "dv"), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_add_default_header(cfg, "X-Api-Key", "secret-123"),
                  HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_user_agent(cfg, "my-agent/1.0"), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    /* The client copied the config: changing or freeing it has no effect on the client. */
    CHECK_EQ_CODE(httpring_config_add_default_header(cfg, "X-Late", "late"), HTTPRING_OK);
    httpring_config_free(cfg);
    CHECK(c != NULL);

    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/echo"), 0, &h), HTTPRING_OK);
    const char *want[] = {"\"x-default\": \"dv\"", "\"x-api-key\": \"secret-123\"",
                          "\"user-agent\": \"my-agent/1.0\"", NULL};
    check_echo(c, h, want);
    CHECK(echo_lacks(c, h, "x-late"));
    CHECK(echo_lacks(c, h, "httpring/"));
    httpring_handle_free(c, h);

    /* The client lists what it sends with every request, in order, as header lines. */
    size_t len = 0;
    CHECK_EQ_CODE(httpring_client_default_headers(c, NULL, 0, &len), HTTPRING_OK);
    const char *block = "user-agent: my-agent/1.0\r\nx-default: dv\r\nx-api-key: secret-123\r\n"
                        "accept-encoding: gzip, deflate, br, zstd\r\n";
    CHECK_EQ_INT(len, strlen(block));
    char lines[256];
    CHECK_EQ_CODE(httpring_client_default_headers(c, lines, sizeof lines, &len), HTTPRING_OK);
    CHECK_EQ_STR(lines, strlen(lines), block);
    /* Truncated to fit, NUL-terminated; the full length is still reported. */
    char small[8];
    CHECK_EQ_CODE(httpring_client_default_headers(c, small, sizeof small, &len), HTTPRING_OK);
    CHECK_EQ_STR(small, strlen(small), "user-ag");
    CHECK_EQ_INT(len, strlen(block));
    CHECK_EQ_CODE(httpring_client_default_headers(c, NULL, 4, &len),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_default_headers(NULL, lines, sizeof lines, &len),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    /* A default client: its User-Agent; no Accept-Encoding with decompression off. */
    httpring_config *plain_cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_decompress(plain_cfg, false), HTTPRING_OK);
    httpring_client *plain = httpring_client_new(plain_cfg);
    httpring_config_free(plain_cfg);
    CHECK(plain != NULL);
    CHECK_EQ_CODE(httpring_client_default_headers(plain, lines, sizeof lines, &len), HTTPRING_OK);
    CHECK(strncmp(lines, "user-agent: httpring/", 21) == 0);
    CHECK(strstr(lines, "accept-encoding") == NULL);
    CHECK_EQ_INT(len, strlen(lines));
    CHECK_EQ_CODE(httpring_client_free(plain), HTTPRING_OK);

    /* A request header of the same name wins over the default (replaces, not appends). */
    httpring_header hs[] = {HDR("x-default", "override")};
    CHECK_EQ_CODE(httpring_client_send(c, "GET", URL("/echo"), hs, 1, NULL, 0, 0, &h),
                  HTTPRING_OK);
    const char *want2[] = {"\"x-default\": \"override\"", "\"x-api-key\": \"secret-123\"", NULL};
    check_echo(c, h, want2);
    CHECK(echo_lacks(c, h, "dv"));
    httpring_handle_free(c, h);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
}

static void test_builder(httpring_client *c) {
    CHECK_SECTION("request builder");
    httpring_request *req = httpring_request_new("PATCH", URL("/echo?from=builder"));
    CHECK(req != NULL);
    CHECK_EQ_CODE(httpring_request_add_header(req, "X-One", "1"), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_request_add_header(req, "X-Rep", "first"), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_request_add_header(req, "x-rep", "second"), HTTPRING_OK);
    const char name[] = "X-Bytes", value[] = "with\ttab";
    CHECK_EQ_CODE(httpring_request_add_header_bytes(req, (const uint8_t *)name, strlen(name),
                                                    (const uint8_t *)value, strlen(value)),
                  HTTPRING_OK);
    const char *body = "builder body";
    CHECK_EQ_CODE(httpring_request_set_body(req, (const uint8_t *)body, strlen(body)),
                  HTTPRING_OK);
    CHECK_EQ_CODE(httpring_request_set_user_data(req, 0xfeedULL), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_request_set_timeout_ms(req, 10000), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_request_set_connect_timeout_ms(req, 5000), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_request_set_read_timeout_ms(req, 5000), HTTPRING_OK);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK); /* consumes req */
    const char *want[] = {"\"method\": \"PATCH\"", "\"path\": \"/echo?from=builder\"",
                          "\"x-one\": \"1\"", "\"x-rep\": \"first, second\"",
                          "\"x-bytes\": \"with\\ttab\"", "\"body\": \"builder body\"",
                          "\"body_len\": 12", NULL};
    check_echo(c, h, want);
    uint64_t ud = 0;
    CHECK_EQ_CODE(httpring_handle_user_data(c, h, &ud), HTTPRING_OK);
    CHECK_EQ_INT(ud, 0xfeed);
    httpring_handle_free(c, h);

    /* A body can be replaced before submit; the last one is sent. */
    req = httpring_request_new("POST", URL("/echo"));
    CHECK_EQ_CODE(httpring_request_set_body(req, (const uint8_t *)"first", 5), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_request_set_body(req, (const uint8_t *)"second!", 7), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    const char *want2[] = {"\"body\": \"second!\"", "\"body_len\": 7", NULL};
    check_echo(c, h, want2);
    httpring_handle_free(c, h);

    /* A request that is never submitted is freed by request_free (valgrind checks it). */
    req = httpring_request_new("GET", URL("/hello"));
    CHECK(req != NULL);
    CHECK_EQ_CODE(httpring_request_add_header(req, "X-Unused", "yes"), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_request_set_body(req, (const uint8_t *)"unsent", 6), HTTPRING_OK);
    httpring_request_free(req);
    httpring_request_free(NULL); /* ignored */
}

static void test_big_body(httpring_client *c) {
    CHECK_SECTION("10 MiB body");
    const size_t n = 10u * 1024 * 1024;
    char path[64];
    snprintf(path, sizeof path, "/bytes/%zu", n);
    httpring_handle h = get_done(c, path, 0);
    if (!h) return;
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(r.body_len, n);
    size_t bad = 0, first_bad = 0;
    for (size_t i = 0; i < r.body_len; i++) {
        if (r.body[i] != (uint8_t)('a' + i % 26)) {
            if (bad++ == 0) first_bad = i;
        }
    }
    if (!CHECK_EQ_INT(bad, 0)) fprintf(stderr, "  first wrong byte at %zu\n", first_bad);
    const uint8_t *v;
    size_t vl;
    CHECK_EQ_CODE(httpring_response_header(c, h, "content-length", 0, &v, &vl), HTTPRING_OK);
    CHECK_EQ_STR(v, vl, "10485760");
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);

    /* Zero and odd sizes. */
    const size_t sizes[] = {0, 1, 26, 27, 65537};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        snprintf(path, sizeof path, "/bytes/%zu", sizes[k]);
        h = get_done(c, path, 0);
        if (!h) continue;
        const uint8_t *b;
        size_t bl;
        CHECK_EQ_CODE(httpring_response_body(c, h, &b, &bl), HTTPRING_OK);
        CHECK_EQ_INT(bl, sizes[k]);
        int ok = 1;
        for (size_t i = 0; i < bl; i++)
            if (b[i] != (uint8_t)('a' + i % 26)) ok = 0;
        CHECK(ok);
        httpring_handle_free(c, h);
    }
}

static void test_body_limit(void) {
    CHECK_SECTION("max body size");
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_max_body_size(cfg, 1000), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);

    httpring_handle ok = 0, big = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/bytes/1000"), 0, &ok), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_get(c, URL("/bytes/1001"), 0, &big), HTTPRING_OK);
    httpring_handle both[2] = {ok, big};
    CHECK_EQ_CODE(httpring_handle_wait_all(c, both, 2, check_slack_ms(10000)), HTTPRING_OK);
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_CODE(httpring_handle_response(c, ok, &r), HTTPRING_OK);
    CHECK_EQ_INT(r.body_len, 1000);
    CHECK_EQ_CODE(httpring_handle_error(c, big), HTTPRING_ERR_BODY_TOO_LARGE);
    CHECK_EQ_CODE(httpring_handle_response(c, big, &r), HTTPRING_ERR_BODY_TOO_LARGE);
    httpring_state st;
    CHECK_EQ_CODE(httpring_handle_poll(c, big, &st), HTTPRING_OK);
    CHECK_EQ_INT(st, HTTPRING_STATE_FAILED);
    char msg[256];
    size_t len = 0;
    CHECK_EQ_CODE(httpring_handle_error_message(c, big, msg, sizeof msg, &len), HTTPRING_OK);
    CHECK(len > 0 && strstr(msg, "1000") != NULL);
    CHECK_EQ_CODE(httpring_handles_free(c, both, 2), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
}

/* Reads the server's connection count from /stats. */
static long server_connections(httpring_client *c) {
    httpring_handle h = get_done(c, "/stats", 0);
    long n = -1;
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    if (h && httpring_handle_response(c, h, &r) == HTTPRING_OK) {
        char buf[256];
        size_t k = r.body_len < sizeof buf - 1 ? r.body_len : sizeof buf - 1;
        memcpy(buf, r.body, k);
        buf[k] = 0;
        const char *p = strstr(buf, "\"connections\": ");
        if (p) n = strtol(p + strlen("\"connections\": "), NULL, 10);
    }
    httpring_handle_free(c, h);
    return n;
}

static void test_keep_alive(void) {
    CHECK_SECTION("keep-alive reuse");
    httpring_client *c = httpring_client_new(NULL);
    long before = server_connections(c);
    CHECK(before >= 1);
    for (int i = 0; i < 10; i++) {
        httpring_handle h = get_done(c, "/hello", 0);
        httpring_handle_free(c, h);
    }
    long after = server_connections(c);
    /* Sequential requests reuse the one connection /stats opened. */
    CHECK_EQ_INT(after, before);
    httpring_client_free(c);

    /* pool_max_idle_per_host 0 disables reuse: every request opens a connection. */
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_pool_max_idle_per_host(cfg, 0), HTTPRING_OK);
    c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    before = server_connections(c);
    for (int i = 0; i < 3; i++) {
        httpring_handle h = get_done(c, "/hello", 0);
        httpring_handle_free(c, h);
    }
    after = server_connections(c);
    CHECK_EQ_INT(after - before, 4); /* three /hello and the second /stats */
    httpring_client_free(c);
}

/* The source address the test server saw for a client's GET /peer. */
static void check_peer(httpring_client *c, const char *expected) {
    httpring_handle h = get_done(c, "/peer", 0);
    const uint8_t *body = NULL;
    size_t len = 0;
    CHECK_EQ_CODE(httpring_response_body(c, h, &body, &len), HTTPRING_OK);
    CHECK_EQ_STR(body, len, expected);
    httpring_handle_free(c, h);
}

static void test_socket_settings(void) {
    CHECK_SECTION("local address, TCP keepalive, TLS key log, HTTP/2 keep-alive");
    httpring_config *cfg = httpring_config_new();
    /* Not an address: refused at once, saying why. */
    CHECK_EQ_CODE(httpring_config_set_local_address(cfg, "eth0"), HTTPRING_ERR_INVALID_ARGUMENT);
    char msg[256];
    httpring_last_error_message(msg, sizeof msg, NULL);
    CHECK(strstr(msg, "is not an IPv4 or IPv6 address") != NULL);
    CHECK_EQ_CODE(httpring_config_set_tcp_keepalive(cfg, true, 1000, 0, 1000), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_local_address(NULL, "127.0.0.2"), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_tls_key_log(NULL, false), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_tls_key_log(cfg, false), HTTPRING_OK);
    /* Any of 127.0.0.0/8 is this host's: the server sees the one chosen. */
    CHECK_EQ_CODE(httpring_config_set_local_address(cfg, "127.0.0.2"), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_tcp_keepalive(cfg, true, 30000, 5000, 4), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    check_peer(c, "127.0.0.2");
    httpring_client_free(c);
    /* NULL clears it again. */
    CHECK_EQ_CODE(httpring_config_set_local_address(cfg, NULL), HTTPRING_OK);
    c = httpring_client_new(cfg);
    check_peer(c, "127.0.0.1");
    httpring_client_free(c);
    /* An IPv6 source cannot reach the IPv4 server: the request fails with a connect error. */
    CHECK_EQ_CODE(httpring_config_set_local_address(cfg, "::1"), HTTPRING_OK);
    c = httpring_client_new(cfg);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/peer"), 0, &h), HTTPRING_OK);
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), &st), HTTPRING_OK);
    CHECK_EQ_INT(st, HTTPRING_STATE_FAILED);
    CHECK_EQ_CODE(httpring_handle_error(c, h), HTTPRING_ERR_CONNECT);
    httpring_handle_free(c, h);
    httpring_client_free(c);
    httpring_config_free(cfg);

    /* HTTP/2 keep-alive PINGs the server answers: the pooled connection keeps working. */
    cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_h2c_prior_knowledge(cfg, true), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_http2_keepalive(cfg, 50, 0, true), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_http2_keepalive(NULL, 50, 0, true), HTTPRING_ERR_INVALID_ARGUMENT);
    c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    for (int i = 0; i < 2; i++) {
        h = get_done(c, "/hello", 0);
        httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
        CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
        CHECK_EQ_INT(r.version, HTTPRING_HTTP_2);
        CHECK_EQ_STR(r.body, r.body_len, "Hello, world!");
        httpring_handle_free(c, h);
        check_sleep_ms(200);
    }
    httpring_stats stats = HTTPRING_STRUCT_INIT(httpring_stats);
    CHECK_EQ_CODE(httpring_client_stats(c, &stats), HTTPRING_OK);
    CHECK_EQ_INT(stats.connections_opened, 1);
    httpring_client_free(c);
}

int main(void) {
    check_base_url();
    test_version();
    httpring_client *c = httpring_client_new(NULL);
    if (!CHECK(c != NULL)) return check_summary();
    test_get_hello(c);
    test_repeated_headers(c);
    test_status_and_json(c);
    test_post(c);
    test_send(c);
    test_builder(c);
    test_big_body(c);
    size_t live = 99;
    CHECK_EQ_CODE(httpring_client_live_handles(c, &live), HTTPRING_OK);
    CHECK_EQ_INT(live, 0);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
    test_default_headers();
    test_body_limit();
    test_keep_alive();
    test_socket_settings();
    return check_summary();
}
