/*
 * Failures: timeouts, refused connections, a lying server, invalid input at submit, bad
 * handles (double free, stale, foreign, never issued), a freed client, error messages and
 * names, and freeing a client with requests in flight.
 *
 * HTTPRING_TEST_STRICT=1 also fails the checks of known deviations from the header's
 * documentation (see KNOWN below); by default they are reported as notes.
 */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

static int strict(void) {
    const char *s = getenv("HTTPRING_TEST_STRICT");
    return s != NULL && s[0] == '1';
}

/* A check of documented behaviour that the engine does not follow yet: strict mode makes it
 * a failure, otherwise it is counted as passed when `lenient` holds and printed as a note. */
#define KNOWN(documented, lenient, what)                                             \
    do {                                                                             \
        if (strict()) {                                                              \
            CHECK(documented);                                                       \
        } else if (CHECK(lenient) && !(documented)) {                                \
            printf("   NOTE: known engine deviation: %s (line %d)\n", what, __LINE__); \
        }                                                                            \
    } while (0)

static httpring_handle submit_get(httpring_client *c, const char *path, uint64_t ud) {
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL(path), ud, &h), HTTPRING_OK);
    return h;
}

/* Waits (bounded) for h and returns its code: OK for a response, else the failure. */
static httpring_code finish(httpring_client *c, httpring_handle h, double *took_ms) {
    double t0 = check_now_ms();
    httpring_state st;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(15000), &st), HTTPRING_OK);
    if (took_ms) *took_ms = check_now_ms() - t0;
    return httpring_handle_error(c, h);
}

static int message_contains(httpring_client *c, httpring_handle h, const char *needle) {
    char msg[512];
    size_t len = 0;
    if (httpring_handle_error_message(c, h, msg, sizeof msg, &len) != HTTPRING_OK) return 0;
    if (!strstr(msg, needle)) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", msg, needle);
        return 0;
    }
    return 1;
}

static void test_read_timeout(void) {
    CHECK_SECTION("read timeout");
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_read_timeout_ms(cfg, 200), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);

    double took = 0;
    double t0 = check_now_ms();
    httpring_handle h = submit_get(c, "/stall", 1);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_ERR_READ_TIMEOUT);
    took = check_now_ms() - t0;
    CHECK(took >= 190 && took < check_slack_ms(2000));
    CHECK(message_contains(c, h, "200ms"));
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_ERR_READ_TIMEOUT);
    httpring_state st;
    CHECK_EQ_CODE(httpring_handle_poll(c, h, &st), HTTPRING_OK);
    CHECK_EQ_INT(st, HTTPRING_STATE_FAILED);
    httpring_handle_free(c, h);

    /* Silence in the middle of the body counts too. */
    h = submit_get(c, "/stall-body", 2);
    CHECK_EQ_CODE(finish(c, h, &took), HTTPRING_ERR_READ_TIMEOUT);
    CHECK(took < check_slack_ms(2000));
    httpring_handle_free(c, h);

    /* A slow but steady body is fine: 5 bytes, 50 ms apart, each within the limit (200 ms
     * natively; scaled under valgrind and ASan, whose stalls are not the server's). */
    cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_read_timeout_ms(cfg, (uint64_t)check_slack_ms(200)),
                  HTTPRING_OK);
    httpring_client *steady = httpring_client_new(cfg);
    httpring_config_free(cfg);
    h = submit_get(steady, "/drip/5/50", 3);
    CHECK_EQ_CODE(finish(steady, h, NULL), HTTPRING_OK);
    const uint8_t *b;
    size_t bl;
    CHECK_EQ_CODE(httpring_response_body(steady, h, &b, &bl), HTTPRING_OK);
    CHECK_EQ_STR(b, bl, "xxxxx");
    httpring_handle_free(steady, h);
    httpring_client_free(steady);

    /* Per request, 0 disables the client's limit. */
    httpring_request *req = httpring_request_new("GET", URL("/delay/400"));
    CHECK_EQ_CODE(httpring_request_set_read_timeout_ms(req, 0), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_OK);
    httpring_handle_free(c, h);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);

    /* Per request, a shorter limit than the client's 2 s. */
    cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_read_timeout_ms(cfg, 2000), HTTPRING_OK);
    c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    req = httpring_request_new("GET", URL("/stall"));
    CHECK_EQ_CODE(httpring_request_set_read_timeout_ms(req, 100), HTTPRING_OK);
    t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_ERR_READ_TIMEOUT);
    took = check_now_ms() - t0;
    CHECK(took >= 95 && took < 1900); /* the request's 100 ms, not the client's 2000 */
    CHECK(message_contains(c, h, "100ms"));
    httpring_handle_free(c, h);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
}

static void test_total_timeout(void) {
    CHECK_SECTION("total timeout");
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_timeout_ms(cfg, 300), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);

    /* 20 bytes 50 ms apart: never silent for long, but longer than 300 ms in all. */
    double t0 = check_now_ms();
    httpring_handle h = submit_get(c, "/drip/20/50", 1);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_ERR_TIMEOUT);
    double took = check_now_ms() - t0;
    CHECK(took >= 290 && took < check_slack_ms(2000));
    CHECK(message_contains(c, h, "total timeout"));
    httpring_handle_free(c, h);

    h = submit_get(c, "/hello", 2);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_OK);
    httpring_handle_free(c, h);

    /* Per request: a shorter one, and 0 to disable the client's. */
    httpring_request *req = httpring_request_new("GET", URL("/delay/1000"));
    CHECK_EQ_CODE(httpring_request_set_timeout_ms(req, 100), HTTPRING_OK);
    t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_ERR_TIMEOUT);
    took = check_now_ms() - t0;
    CHECK(took >= 95 && took < check_slack_ms(1000));
    httpring_handle_free(c, h);

    req = httpring_request_new("GET", URL("/delay/500"));
    CHECK_EQ_CODE(httpring_request_set_timeout_ms(req, 0), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_OK);
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
    CHECK(r.elapsed_us >= 495000);
    httpring_handle_free(c, h);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
}

/* A local port with nothing listening: bind one, read its number, close it. */
static int closed_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0) close(s);
    return port;
}

static void test_connect_refused(httpring_client *c) {
    CHECK_SECTION("connection refused");
    int port = closed_port();
    CHECK(port > 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", port);
    httpring_handle h = 0;
    double t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_get(c, url, 5, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_ERR_CONNECT_REFUSED);
    CHECK(check_now_ms() - t0 < check_slack_ms(2000));
    CHECK(message_contains(c, h, "refused"));
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_ERR_CONNECT_REFUSED);
    httpring_handle_free(c, h);
}

static void test_lying_server(httpring_client *c) {
    CHECK_SECTION("server sends less than Content-Length");
    httpring_handle h = submit_get(c, "/lie", 0);
    httpring_code rc = finish(c, h, NULL);
    /* The header documents "body shorter than announced" as HTTPRING_ERR_PROTOCOL. */
    KNOWN(rc == HTTPRING_ERR_PROTOCOL, rc == HTTPRING_ERR_PROTOCOL || rc == HTTPRING_ERR_IO,
          "/lie (short body) fails with HTTPRING_ERR_IO, documented as HTTPRING_ERR_PROTOCOL");
    CHECK(message_contains(c, h, "reading the response body"));
    httpring_handle_free(c, h);
    /* The client is fine afterwards. */
    h = submit_get(c, "/hello", 0);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_OK);
    httpring_handle_free(c, h);
}

static const char *last_error(void);
static void test_invalid_submit(httpring_client *c) {
    CHECK_SECTION("invalid input at submit");
    httpring_handle h = 0;
    size_t live_before = 99, live_after = 99;
    CHECK_EQ_CODE(httpring_client_live_handles(c, &live_before), HTTPRING_OK);

    /* NULL arguments. */
    CHECK_EQ_CODE(httpring_client_get(NULL, URL("/hello"), 0, &h), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_get(c, NULL, 0, &h), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_get(c, URL("/hello"), 0, NULL), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_post(c, URL("/echo"), NULL, NULL, 5, 0, &h),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_post_json(c, NULL, (const uint8_t *)"{}", 2, 0, &h),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_send(c, NULL, URL("/hello"), NULL, 0, NULL, 0, 0, &h),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_send(c, "GET", URL("/hello"), NULL, 2, NULL, 0, 0, &h),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_send(c, "GET", URL("/hello"), NULL, 0, NULL, 0, 0, NULL),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_submit(c, NULL, &h), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK(httpring_request_new(NULL, URL("/hello")) == NULL);
    CHECK(httpring_request_new("GET", NULL) == NULL);
    /* submit consumes the request even when it fails (valgrind checks nothing leaks). */
    CHECK_EQ_CODE(httpring_client_submit(NULL, httpring_request_new("GET", URL("/hello")), &h),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_submit(c, httpring_request_new("GET", URL("/hello")), NULL),
                  HTTPRING_ERR_INVALID_ARGUMENT);

    /* Bad URLs. */
    const char *bad_urls[] = {
        "not a url",       "", "http://", "/relative/path", "127.0.0.1:80/x", "http:///nohost",
        "http://host with space/", "http://127.0.0.1/\x01", "http://127.0.0.1/a\r\nX: y",
        "http://127.0.0.1/\xff\xfe",  /* not UTF-8 */
        "http://\xc3\x28/",           /* invalid UTF-8 sequence */
    };
    for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
        h = 12345;
        if (!CHECK_EQ_CODE(httpring_client_get(c, bad_urls[i], 0, &h), HTTPRING_ERR_INVALID_URL))
            fprintf(stderr, "  for URL #%zu \"%s\"\n", i, bad_urls[i]);
        CHECK_EQ_INT(h, 12345); /* no handle written */
    }
    /* Unsupported schemes, with or without "//" and a host. */
    const char *schemes[] = {"ftp://127.0.0.1/file", "ws://127.0.0.1/", "file://host/etc",
                             "file:///etc/passwd", "mailto:a@b", "data:text/plain,hi",
                             "javascript:alert(1)", "ftp:/x"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        CHECK_EQ_CODE(httpring_client_get(c, schemes[i], 0, &h), HTTPRING_ERR_UNSUPPORTED_SCHEME);
    /* Bad methods. */
    CHECK_EQ_CODE(httpring_client_send(c, "BAD METHOD", URL("/"), NULL, 0, NULL, 0, 0, &h),
                  HTTPRING_ERR_INVALID_METHOD);
    CHECK_EQ_CODE(httpring_client_send(c, "", URL("/"), NULL, 0, NULL, 0, 0, &h),
                  HTTPRING_ERR_INVALID_METHOD);
    CHECK_EQ_CODE(httpring_client_send(c, "GET\r\n", URL("/"), NULL, 0, NULL, 0, 0, &h),
                  HTTPRING_ERR_INVALID_METHOD);

    /* Bad headers through send. */
    struct {
        const char *name, *value;
        size_t name_len, value_len;
    } bad_headers[] = {
        {"X-Evil", "a\r\nInjected: yes", 0, 0},
        {"X-Evil", "line\nfeed", 0, 0},
        {"X-Evil", "carriage\rreturn", 0, 0},
        {"Bad Name", "v", 0, 0},
        {"Bad:Name", "v", 0, 0},
        {"", "v", 0, 0},
        {"X-Nul", "a\0b", 6, 3},
        {"X\0Nul", "v", 5, 1},
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        httpring_header hd = {
            (const uint8_t *)bad_headers[i].name,
            bad_headers[i].name_len ? bad_headers[i].name_len : strlen(bad_headers[i].name),
            (const uint8_t *)bad_headers[i].value,
            bad_headers[i].value_len ? bad_headers[i].value_len : strlen(bad_headers[i].value),
        };
        if (!CHECK_EQ_CODE(httpring_client_send(c, "GET", URL("/echo"), &hd, 1, NULL, 0, 0, &h),
                           HTTPRING_ERR_INVALID_HEADER))
            fprintf(stderr, "  for header #%zu\n", i);
    }
    httpring_header null_value = {(const uint8_t *)"X-A", 3, NULL, 4};
    CHECK_EQ_CODE(httpring_client_send(c, "GET", URL("/echo"), &null_value, 1, NULL, 0, 0, &h),
                  HTTPRING_ERR_INVALID_ARGUMENT);

    /* Bad headers through the builder: the setter fails, and so does submit, even if the
     * caller ignored the setter's result and went on. */
    httpring_request *req = httpring_request_new("GET", URL("/echo"));
    CHECK_EQ_CODE(httpring_request_add_header(req, "X-Evil", "a\r\nInjected: yes"),
                  HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(httpring_request_add_header(req, "X-Fine", "fine"), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_ERR_INVALID_HEADER);

    req = httpring_request_new("GET", URL("/echo"));
    const uint8_t nul_value[] = {'a', 0, 'b'};
    CHECK_EQ_CODE(httpring_request_add_header_bytes(req, (const uint8_t *)"X-Nul", 5, nul_value, 3),
                  HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_ERR_INVALID_HEADER);

    req = httpring_request_new("GET", URL("/echo"));
    const uint8_t nul_name[] = {'X', 0, 'N'};
    CHECK_EQ_CODE(httpring_request_add_header_bytes(req, nul_name, 3, (const uint8_t *)"v", 1),
                  HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(httpring_request_add_header_bytes(req, NULL, 3, (const uint8_t *)"v", 1),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_request_add_header(req, NULL, "v"), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_request_set_body(req, NULL, 10), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_request_free(req);

    /* Any failed setter fails the submit too, a NULL argument or a value out of range as
     * much as a value that does not validate: the request never goes out without it. */
    for (int i = 0; i < 9; i++) {
        req = httpring_request_new("POST", URL("/echo"));
        httpring_code set = HTTPRING_OK;
        switch (i) {
        case 0: set = httpring_request_set_body(req, NULL, 10); break;
        case 1: set = httpring_request_set_body_writer(req, -2); break;
        case 2: set = httpring_request_set_body_fd(req, -1, 5); break;
        case 3: set = httpring_request_set_body_callback(req, NULL, NULL, 5); break;
        case 4: set = httpring_request_set_basic_auth(req, NULL, "pw"); break;
        case 5: set = httpring_request_set_bearer_auth(req, NULL); break;
        case 6: set = httpring_request_add_header(req, "X-Must-Have", NULL); break;
        case 7: set = httpring_request_add_header_bytes(req, (const uint8_t *)"X-B", 3, NULL, 4); break;
        case 8: set = httpring_request_remove_default_header(req, NULL); break;
        }
        CHECK_EQ_CODE(set, HTTPRING_ERR_INVALID_ARGUMENT);
        CHECK_EQ_CODE(httpring_request_add_header(req, "X-Fine", "fine"), HTTPRING_OK);
        h = 12345;
        if (!CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_ERR_INVALID_ARGUMENT))
            fprintf(stderr, "  for setter #%d\n", i);
        CHECK_EQ_INT(h, 12345);
        CHECK(strstr(last_error(), "an earlier setter on this request failed") != NULL);
    }

    /* A bad method or URL given to request_new is reported by submit. */
    req = httpring_request_new("GET", "ftp://127.0.0.1/x");
    CHECK(req != NULL);
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_ERR_UNSUPPORTED_SCHEME);
    req = httpring_request_new("GET", "http://127.0.0.1/\xff");
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_ERR_INVALID_URL);
    req = httpring_request_new("NO GOOD", URL("/"));
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_ERR_INVALID_METHOD);

    /* Builder setters on NULL. */
    CHECK_EQ_CODE(httpring_request_add_header(NULL, "a", "b"), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_request_set_body(NULL, NULL, 0), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_request_set_user_data(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_request_set_timeout_ms(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_request_set_connect_timeout_ms(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_request_set_read_timeout_ms(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);

    /* No failed submit created a handle. */
    CHECK_EQ_CODE(httpring_client_live_handles(c, &live_after), HTTPRING_OK);
    CHECK_EQ_INT(live_after, live_before);
    CHECK_EQ_CODE(httpring_client_live_handles(c, NULL), HTTPRING_ERR_INVALID_ARGUMENT);
}

static void test_config_errors(void) {
    CHECK_SECTION("config setters");
    httpring_config *cfg = httpring_config_new();
    CHECK(cfg != NULL);
    CHECK_EQ_CODE(httpring_config_set_worker_threads(cfg, 0), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_worker_threads(cfg, 257), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_worker_threads(cfg, 2), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_max_body_size(cfg, 0), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_add_default_header(cfg, "X-Bad", "a\r\nb"),
                  HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(httpring_config_add_default_header(cfg, "bad name", "v"),
                  HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(httpring_config_add_default_header(cfg, NULL, "v"),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_user_agent(cfg, "agent\n"), HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(httpring_config_set_user_agent(cfg, NULL), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_connect_timeout_ms(cfg, 0), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_pool_idle_timeout_ms(cfg, 1000), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_connect_timeout_ms(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_timeout_ms(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_read_timeout_ms(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_pool_idle_timeout_ms(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_pool_max_idle_per_host(NULL, 1),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_max_body_size(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_worker_threads(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_user_agent(NULL, "a"), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_add_default_header(NULL, "a", "b"),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    /* Pins: sha256// and the base64 of 32 bytes; NULL or "" removes them. */
    CHECK_EQ_CODE(httpring_config_set_pinned_public_key(cfg, "sha1//AAAA"), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "pinned public key") != NULL);
    CHECK_EQ_CODE(httpring_config_set_pinned_public_key(cfg, "sha256//AAAA"), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_pinned_public_key(
                      cfg, "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;sha256//"
                           "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="),
                  HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_pinned_public_key(cfg, NULL), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_pinned_public_key(NULL, ""), HTTPRING_ERR_INVALID_ARGUMENT);
    /* A failed setter left the config usable: a 2-worker client works. */
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    httpring_config_free(NULL);
    CHECK(c != NULL);
    httpring_handle h = submit_get(c, "/hello", 0);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
}

static void test_bad_handles(httpring_client *c) {
    CHECK_SECTION("double free, stale, never-issued and foreign handles");
    httpring_handle h = submit_get(c, "/hello", 1);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_OK);
    /* Double free. */
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_ERR_INVALID_HANDLE);
    /* Every call on the freed handle. */
    httpring_state st;
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    const uint8_t *p;
    size_t n;
    uint64_t ud;
    char msg[16];
    CHECK_EQ_CODE(httpring_handle_poll(c, h, &st), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handle_wait(c, h, 0, &st), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handle_cancel(c, h), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handle_error(c, h), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handle_error_message(c, h, msg, sizeof msg, &n),
                  HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handle_user_data(c, h, &ud), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_response_body(c, h, &p, &n), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_response_header(c, h, "content-type", 0, &p, &n),
                  HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_response_header_at(c, h, 0, &p, &n, &p, &n),
                  HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_response_headers_raw(c, h, &p, &n), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_response_reason(c, h, &p, &n), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handles_free(c, &h, 1), HTTPRING_ERR_INVALID_HANDLE);

    /* Stale: the slot is reused by a new request; the old id must not reach it. */
    httpring_handle h2 = submit_get(c, "/json", 2);
    CHECK(h2 != h);
    CHECK_EQ_CODE(finish(c, h2, NULL), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handle_response(c, h2, &r), HTTPRING_OK); /* h2 is untouched */
    CHECK_EQ_STR(r.body, r.body_len, "{\"ok\": true, \"n\": 42}");

    /* Handles that were never issued. */
    KNOWN(httpring_handle_poll(c, 0, &st) == HTTPRING_ERR_INVALID_HANDLE,
          httpring_handle_poll(c, 0, &st) != HTTPRING_OK,
          "handle 0 gives HTTPRING_ERR_FOREIGN_HANDLE, documented as INVALID_HANDLE");
    KNOWN(httpring_handle_free(c, 0) == HTTPRING_ERR_INVALID_HANDLE,
          httpring_handle_free(c, 0) != HTTPRING_OK,
          "freeing handle 0 gives HTTPRING_ERR_FOREIGN_HANDLE, documented as INVALID_HANDLE");
    /* Same client, plausible but never-issued ids: h2's id with another slot index. */
    CHECK_EQ_CODE(httpring_handle_poll(c, h2 + 1000, &st), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handle_poll(c, h2 ^ (1ull << 30), &st), HTTPRING_ERR_INVALID_HANDLE);
    KNOWN(httpring_handle_poll(c, 0xdeadbeefull, &st) == HTTPRING_ERR_INVALID_HANDLE,
          httpring_handle_poll(c, 0xdeadbeefull, &st) != HTTPRING_OK,
          "a made-up handle (tag bits 0) gives HTTPRING_ERR_FOREIGN_HANDLE");

    /* Foreign: a handle of client c used with client d, both live. */
    httpring_client *d = httpring_client_new(NULL);
    CHECK_EQ_CODE(httpring_handle_poll(d, h2, &st), HTTPRING_ERR_FOREIGN_HANDLE);
    CHECK_EQ_CODE(httpring_handle_wait(d, h2, 0, &st), HTTPRING_ERR_FOREIGN_HANDLE);
    CHECK_EQ_CODE(httpring_handle_response(d, h2, &r), HTTPRING_ERR_FOREIGN_HANDLE);
    CHECK_EQ_CODE(httpring_response_body(d, h2, &p, &n), HTTPRING_ERR_FOREIGN_HANDLE);
    CHECK_EQ_CODE(httpring_handle_cancel(d, h2), HTTPRING_ERR_FOREIGN_HANDLE);
    CHECK_EQ_CODE(httpring_handle_free(d, h2), HTTPRING_ERR_FOREIGN_HANDLE);
    CHECK_EQ_CODE(httpring_handle_wait_any(d, &h2, 1, 0, NULL), HTTPRING_ERR_FOREIGN_HANDLE);
    /* d's own handle numbers look alike but stay d's. */
    httpring_handle hd = submit_get(d, "/hello", 3);
    CHECK_EQ_CODE(finish(d, hd, NULL), HTTPRING_OK);
    CHECK(hd != h2);
    CHECK_EQ_CODE(httpring_handle_response(c, hd, &r), HTTPRING_ERR_FOREIGN_HANDLE);
    CHECK_EQ_CODE(httpring_handle_free(c, hd), HTTPRING_ERR_FOREIGN_HANDLE);
    CHECK_EQ_CODE(httpring_handle_free(d, hd), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_free(d), HTTPRING_OK);
    /* Still c's and still live after all that. */
    CHECK_EQ_CODE(httpring_handle_free(c, h2), HTTPRING_OK);
}

static void test_freed_client(void) {
    CHECK_SECTION("use of a freed client");
    httpring_client *c = httpring_client_new(NULL);
    httpring_handle h = submit_get(c, "/hello", 1);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);

    httpring_handle h2 = 0;
    httpring_state st;
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    httpring_completion out[4] = { HTTPRING_STRUCT_INIT(httpring_completion) };
    size_t n;
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_CODE(httpring_client_get(c, URL("/hello"), 0, &h2), HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_CODE(httpring_client_send(c, "GET", URL("/hello"), NULL, 0, NULL, 0, 0, &h2),
                  HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_CODE(httpring_client_submit(c, httpring_request_new("GET", URL("/hello")), &h2),
                  HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_CODE(httpring_handle_poll(c, h, &st), HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_CODE(httpring_handle_wait(c, h, -1, &st), HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_CODE(httpring_handle_free(c, h), HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_CODE(httpring_client_drain(c, out, 4, &n), HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_CODE(httpring_client_live_handles(c, &n), HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_CODE(httpring_client_set_callback(c, NULL, NULL), HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_INT(httpring_client_fd(c), -1);
    /* NULL and made-up client pointers. */
    CHECK_EQ_CODE(httpring_client_free(NULL), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_handle_poll(NULL, h, &st), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_INT(httpring_client_fd(NULL), -1);
    httpring_client *bogus = (httpring_client *)(uintptr_t)0x7777770;
    CHECK_EQ_CODE(httpring_handle_poll(bogus, h, &st), HTTPRING_ERR_CLIENT_CLOSED);
    CHECK_EQ_CODE(httpring_client_free(bogus), HTTPRING_ERR_CLIENT_CLOSED);
}

static void test_free_in_flight(void) {
    CHECK_SECTION("freeing a client with requests in flight");
    httpring_client *c = httpring_client_new(NULL);
    const int n = check_scaled(50, 5);
    httpring_handle *hs = calloc((size_t)n, sizeof *hs);
    for (int i = 0; i < n; i++) hs[i] = submit_get(c, i % 2 ? "/stall" : "/delay/5000", 1);
    httpring_handle done = submit_get(c, "/hello", 2);
    CHECK_EQ_CODE(finish(c, done, NULL), HTTPRING_OK);
    check_sleep_ms(50); /* let the others connect */
    double t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
    CHECK(check_now_ms() - t0 < check_slack_ms(1000));
    CHECK_EQ_CODE(httpring_handle_poll(c, hs[0], NULL), HTTPRING_ERR_CLIENT_CLOSED);
    free(hs);

    /* Never-collected handles and queued completions are released with the client. */
    c = httpring_client_new(NULL);
    (void)httpring_client_fd(c);
    for (int i = 0; i < 5; i++) (void)submit_get(c, "/bytes/100000", 0);
    (void)submit_get(c, "/stall", 0);
    check_sleep_ms(100);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
    /* A client that never sent anything (no runtime yet). */
    c = httpring_client_new(NULL);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
}

static void test_error_messages(httpring_client *c) {
    CHECK_SECTION("error messages");
    httpring_request *req = httpring_request_new("GET", URL("/stall"));
    httpring_request_set_read_timeout_ms(req, 50);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_ERR_READ_TIMEOUT);

    /* The length alone (NULL buffer, cap 0). */
    size_t full = 0;
    CHECK_EQ_CODE(httpring_handle_error_message(c, h, NULL, 0, &full), HTTPRING_OK);
    CHECK(full > 10);
    char *buf = malloc(full + 1);
    size_t len = 0;
    CHECK_EQ_CODE(httpring_handle_error_message(c, h, buf, full + 1, &len), HTTPRING_OK);
    CHECK_EQ_INT(len, full);
    CHECK_EQ_INT(strlen(buf), full);
    CHECK(strstr(buf, "50ms") != NULL);
    /* Truncated: cap - 1 bytes and a NUL; the full length is still reported. */
    char small[6];
    memset(small, 'Z', sizeof small);
    len = 0;
    CHECK_EQ_CODE(httpring_handle_error_message(c, h, small, sizeof small, &len), HTTPRING_OK);
    CHECK_EQ_INT(len, full);
    CHECK_EQ_INT(strlen(small), 5);
    CHECK(memcmp(small, buf, 5) == 0);
    char one[1] = {'Z'};
    CHECK_EQ_CODE(httpring_handle_error_message(c, h, one, 1, NULL), HTTPRING_OK);
    CHECK_EQ_INT(one[0], 0);
    CHECK_EQ_CODE(httpring_handle_error_message(c, h, NULL, 8, &len),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    free(buf);
    httpring_handle_free(c, h);

    /* A success has an empty message. */
    h = submit_get(c, "/hello", 0);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_OK);
    char ok_msg[8] = "junk";
    len = 99;
    CHECK_EQ_CODE(httpring_handle_error_message(c, h, ok_msg, sizeof ok_msg, &len), HTTPRING_OK);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(ok_msg[0], 0);
    httpring_handle_free(c, h);
}

static void test_error_names(void) {
    CHECK_SECTION("error names");
    static const char *const names[] = {
        "HTTPRING_OK",
        "HTTPRING_PENDING",
        "HTTPRING_ERR_INVALID_ARGUMENT",
        "HTTPRING_ERR_INVALID_HANDLE",
        "HTTPRING_ERR_FOREIGN_HANDLE",
        "HTTPRING_ERR_INVALID_URL",
        "HTTPRING_ERR_UNSUPPORTED_SCHEME",
        "HTTPRING_ERR_INVALID_HEADER",
        "HTTPRING_ERR_INVALID_METHOD",
        "HTTPRING_ERR_DNS",
        "HTTPRING_ERR_CONNECT_REFUSED",
        "HTTPRING_ERR_CONNECT",
        "HTTPRING_ERR_CONNECT_TIMEOUT",
        "HTTPRING_ERR_TIMEOUT",
        "HTTPRING_ERR_READ_TIMEOUT",
        "HTTPRING_ERR_CANCELLED",
        "HTTPRING_ERR_PROTOCOL",
        "HTTPRING_ERR_IO",
        "HTTPRING_ERR_BODY_TOO_LARGE",
        "HTTPRING_ERR_CLIENT_CLOSED",
        "HTTPRING_ERR_NOT_FOUND",
        "HTTPRING_ERR_INTERNAL",
    };
    /* The names follow the enum's values. */
    static const uint32_t values[] = {
        HTTPRING_OK,
        HTTPRING_PENDING,
        HTTPRING_ERR_INVALID_ARGUMENT,
        HTTPRING_ERR_INVALID_HANDLE,
        HTTPRING_ERR_FOREIGN_HANDLE,
        HTTPRING_ERR_INVALID_URL,
        HTTPRING_ERR_UNSUPPORTED_SCHEME,
        HTTPRING_ERR_INVALID_HEADER,
        HTTPRING_ERR_INVALID_METHOD,
        HTTPRING_ERR_DNS,
        HTTPRING_ERR_CONNECT_REFUSED,
        HTTPRING_ERR_CONNECT,
        HTTPRING_ERR_CONNECT_TIMEOUT,
        HTTPRING_ERR_TIMEOUT,
        HTTPRING_ERR_READ_TIMEOUT,
        HTTPRING_ERR_CANCELLED,
        HTTPRING_ERR_PROTOCOL,
        HTTPRING_ERR_IO,
        HTTPRING_ERR_BODY_TOO_LARGE,
        HTTPRING_ERR_CLIENT_CLOSED,
        HTTPRING_ERR_NOT_FOUND,
        HTTPRING_ERR_INTERNAL,
    };
    for (uint32_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        CHECK_EQ_INT(values[i], i);
        const char *got = httpring_error_name(values[i]);
        if (!CHECK(got != NULL && strcmp(got, names[i]) == 0))
            fprintf(stderr, "  code %u is named %s, expected %s\n", i, got ? got : "(null)",
                    names[i]);
    }
    /* Codes are only ever appended, so a newer library may name codes past the ones above:
     * each has a distinct HTTPRING_ERR_ name, up to the first unknown code. */
    const uint32_t known = sizeof names / sizeof names[0];
    uint32_t first_unknown = 0;
    while (first_unknown < 1000 &&
           strcmp(httpring_error_name(first_unknown), "HTTPRING_UNKNOWN") != 0)
        first_unknown++;
    CHECK(first_unknown >= known && first_unknown < 1000);
    for (uint32_t code = known; code < first_unknown; code++) {
        const char *got = httpring_error_name(code);
        CHECK(strncmp(got, "HTTPRING_ERR_", 13) == 0 && strlen(got) > 13);
        for (uint32_t other = 0; other < code; other++)
            if (!CHECK(strcmp(got, httpring_error_name(other)) != 0))
                fprintf(stderr, "  codes %u and %u share the name %s\n", other, code, got);
    }
    const uint32_t unknown[] = {first_unknown, first_unknown + 1, 1000, 0x7fffffffu, 0xffffffffu};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *got = httpring_error_name(unknown[i]);
        if (!CHECK(got != NULL && strcmp(got, "HTTPRING_UNKNOWN") == 0))
            fprintf(stderr, "  code %u is named %s\n", unknown[i], got ? got : "(null)");
    }
    /* Static strings: the same pointer every time. */
    CHECK(httpring_error_name(3) == httpring_error_name(3));
}

static void test_dns(httpring_client *c) {
    CHECK_SECTION("unresolvable host");
    httpring_handle h = 0;
    /* .invalid never resolves (RFC 6761); no network is needed to find that out. */
    CHECK_EQ_CODE(httpring_client_get(c, "http://no-such-host.invalid/", 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_ERR_DNS);
    CHECK(message_contains(c, h, "no-such-host.invalid"));
    httpring_handle_free(c, h);
}

/* Builders (configs, requests, forms) are checked ids like handles: a freed, submitted or
 * made-up one gives HTTPRING_ERR_INVALID_ARGUMENT, freeing twice does nothing (valgrind and
 * ASan see no invalid access). */
static void test_stale_builders(httpring_client *c) {
    CHECK_SECTION("freed, submitted and made-up builders");
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_timeout_ms(cfg, 1000), HTTPRING_OK);
    httpring_config_free(cfg);
    httpring_config_free(cfg);
    CHECK_EQ_CODE(httpring_config_set_timeout_ms(cfg, 1000), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK(httpring_client_new(cfg) == NULL);
    httpring_config *made_up = (httpring_config *)(uintptr_t)0x10;
    CHECK_EQ_CODE(httpring_config_set_timeout_ms(made_up, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_config_free(made_up);

    char url[512];
    check_url(url, sizeof url, "/hello");
    httpring_request *req = httpring_request_new("GET", url);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    /* Consumed by submit: using or submitting it again is refused, freeing it is a no-op. */
    CHECK_EQ_CODE(httpring_request_set_timeout_ms(req, 5), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_handle h2 = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h2), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK(h2 == 0);
    httpring_request_free(req);
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), &st), HTTPRING_OK);
    CHECK_EQ_INT(st, HTTPRING_STATE_DONE);
    httpring_handle_free(c, h);
    req = httpring_request_new("GET", url);
    httpring_request_free(req);
    httpring_request_free(req);
    CHECK_EQ_CODE(httpring_request_add_header(req, "a", "b"), HTTPRING_ERR_INVALID_ARGUMENT);

    httpring_multipart *form = httpring_multipart_new();
    CHECK_EQ_CODE(httpring_multipart_add_field(form, "a", (const uint8_t *)"b", 1), HTTPRING_OK);
    httpring_multipart_free(form);
    httpring_multipart_free(form);
    CHECK_EQ_CODE(httpring_multipart_add_field(form, "a", (const uint8_t *)"b", 1), HTTPRING_ERR_INVALID_ARGUMENT);
    req = httpring_request_new("POST", url);
    CHECK_EQ_CODE(httpring_request_set_multipart(req, form), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_request_free(req);
}

/* The thread's last error message: why a call failed, when it has more to say than its code. */
static const char *last_error(void) {
    static char msg[512];
    size_t len = 0;
    msg[0] = 0;
    CHECK_EQ_CODE(httpring_last_error_message(msg, sizeof msg, &len), HTTPRING_OK);
    CHECK_EQ_INT(strlen(msg), len < sizeof msg ? len : sizeof msg - 1);
    return msg;
}

static void test_last_error_message(httpring_client *c) {
    CHECK_SECTION("last error message");
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_get(c, "http://127.0.0.1:99999/x", 0, &h), HTTPRING_ERR_INVALID_URL);
    CHECK(strstr(last_error(), "invalid port") != NULL);
    /* A success leaves it; the message is copied, truncated to fit, sized with cap 0. */
    h = submit_get(c, "/hello", 0);
    CHECK_EQ_CODE(finish(c, h, NULL), HTTPRING_OK);
    httpring_handle_free(c, h);
    CHECK(strstr(last_error(), "invalid port") != NULL);
    size_t full = 0;
    CHECK_EQ_CODE(httpring_last_error_message(NULL, 0, &full), HTTPRING_OK);
    CHECK_EQ_INT(full, strlen(last_error()));
    char small[5];
    CHECK_EQ_CODE(httpring_last_error_message(small, sizeof small, NULL), HTTPRING_OK);
    CHECK_EQ_INT(strlen(small), 4);
    /* A Content-Length the body contradicts: the message says both lengths. */
    httpring_request *req = httpring_request_new("POST", URL("/echo"));
    httpring_request_add_header(req, "Content-Length", "10");
    httpring_request_set_body(req, (const uint8_t *)"abc", 3);
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_ERR_INVALID_HEADER);
    CHECK(strstr(last_error(), "says 10 bytes, but the body has 3") != NULL);
    CHECK_EQ_CODE(httpring_client_send(c, "GET", URL("/"), NULL, 0, NULL, 0, 0, NULL),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    /* A failure with nothing more to say than its code leaves the code's name. */
    CHECK_EQ_STR(last_error(), strlen(last_error()), "HTTPRING_ERR_INVALID_ARGUMENT");
    /* A batch: the message of the last request refused. */
    httpring_request_spec specs[3] = {
        HTTPRING_STRUCT_INIT(httpring_request_spec), HTTPRING_STRUCT_INIT(httpring_request_spec),
        HTTPRING_STRUCT_INIT(httpring_request_spec)};
    specs[0].method = "GET";
    specs[0].url = "http://";
    specs[1].method = "GET";
    specs[1].url = URL("/hello");
    specs[2].method = "GET";
    specs[2].url = "gopher://127.0.0.1/";
    httpring_handle hs[3] = {0};
    httpring_code codes[3];
    CHECK_EQ_CODE(httpring_client_send_many(c, specs, 3, hs, codes), HTTPRING_ERR_INVALID_URL);
    CHECK_EQ_CODE(codes[2], HTTPRING_ERR_UNSUPPORTED_SCHEME);
    CHECK(strstr(last_error(), "gopher") != NULL);
    CHECK_EQ_CODE(finish(c, hs[1], NULL), HTTPRING_OK);
    /* A batch read that succeeds, with a handle that is not one in it (its own code):
     * the message stays, and the next bare failure still leaves its code's name. */
    httpring_handle asked[2] = {hs[1], 987654321};
    httpring_result rs[2] = {HTTPRING_STRUCT_INIT(httpring_result)};
    CHECK_EQ_CODE(httpring_handles_read(c, asked, 2, rs), HTTPRING_OK);
    CHECK_EQ_CODE(rs[1].code, HTTPRING_ERR_INVALID_HANDLE);
    CHECK(strstr(last_error(), "gopher") != NULL);
    CHECK_EQ_CODE(httpring_client_send(c, "GET", URL("/"), NULL, 0, NULL, 0, 0, NULL),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_STR(last_error(), strlen(last_error()), "HTTPRING_ERR_INVALID_ARGUMENT");
    httpring_handle_free(c, hs[1]);
    /* A batch whose last refusal has nothing more to say than its code (a NULL URL), after
     * one that did: its code's name. */
    httpring_request_spec two[2] = {HTTPRING_STRUCT_INIT(httpring_request_spec),
                                    HTTPRING_STRUCT_INIT(httpring_request_spec)};
    httpring_header crlf = {(const uint8_t *)"X-A", 3, (const uint8_t *)"a\r\nb", 4};
    two[0].method = "GET";
    two[0].url = URL("/hello");
    two[0].headers = &crlf;
    two[0].nheaders = 1;
    two[1].method = "GET";
    two[1].url = NULL;
    httpring_handle hs2[2] = {0};
    httpring_code codes2[2];
    CHECK_EQ_CODE(httpring_client_send_many(c, two, 2, hs2, codes2), HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(codes2[1], HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_STR(last_error(), strlen(last_error()), "HTTPRING_ERR_INVALID_ARGUMENT");
    /* ... and when an accepted request follows the last refusal: still its message. */
    two[1].url = URL("/hello");
    two[1].headers = NULL;
    two[1].nheaders = 0;
    CHECK_EQ_CODE(httpring_client_send_many(c, two, 2, hs2, codes2), HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(codes2[1], HTTPRING_OK);
    CHECK(strstr(last_error(), "X-A") != NULL || strstr(last_error(), "header") != NULL);
    CHECK(strcmp(last_error(), "HTTPRING_ERR_INVALID_HEADER") != 0);
    CHECK_EQ_CODE(finish(c, hs2[1], NULL), HTTPRING_OK);
    httpring_handle_free(c, hs2[1]);
}

/* A self-signed certificate and its key, encrypted by `openssl pkcs8 -topk8 -v2 aes-256-cbc
 * -passout pass:s3cret` (fixtures: the setters parse them; no server is involved). */
static const char client_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBjDCCATGgAwIBAgIUC9Xg2kNfhUzTt8aw/ngQf77jBxUwCgYIKoZIzj0EAwIw\n"
    "GjEYMBYGA1UEAwwPaHR0cHJpbmctYy10ZXN0MCAXDTI2MTIwNTE5MzUwNFoYDzIx\n"
    "MjYxMTExMTkzNTA0WjAaMRgwFgYDVQQDDA9odHRwcmluZy1jLXRlc3QwWTATBgcq\n"
    "hkjOPQIBBggqhkjOPQMBBwNCAAQs2WWltjlzoqrtztVgGwPReg8YmExDL5z7C/QS\n"
    "Z8wV1hVevKIPQqf0kS/eXZZoLq3nkgdxVfsi08bICCwv2doEo1MwUTAdBgNVHQ4E\n"
    "FgQUWmZR5pl0DxC0L+xT21Ldwb401ZMwHwYDVR0jBBgwFoAUWmZR5pl0DxC0L+xT\n"
    "21Ldwb401ZMwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA8ejG\n"
    "LcpyjeXoNwA9O5IU9HjlQnp01igZXS0zZhHghPECIQDQboBK/bfnSMsDrBvdV/0G\n"
    "cdvuKiwF9wqx5A7Vt7/UNg==\n"
    "-----END CERTIFICATE-----\n";
static const char client_key_encrypted_pem[] =
    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
    "MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAhcOLh1Fn1dbwICCAAw\n"
    "DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEFjNdBcOS5JNrf/hY1bpMn0EgZBx\n"
    "t/wPZpDY/W42CWzdjCaRhHP5iRLKSfXv3QYsKagbOTzTpid1Te+Mn1MzhAMoIRx5\n"
    "t4jNRUkTHckO7jRGzHEPBSTyMmsVdyXT2rgFR6oMz2N+0AWyXOFdhjQlvGiHmKGu\n"
    "brySKIg0yBvw+ch9cSwAVkXwl8Vqr1nSNq1DfPNu8rzbxRUQ1dBICeh/CD3zTjE=\n"
    "-----END ENCRYPTED PRIVATE KEY-----\n";

static void test_encrypted_client_key(void) {
    CHECK_SECTION("client certificate with an encrypted key: password right, wrong, missing");
    httpring_config *cfg = httpring_config_new();
    const uint8_t *cert = (const uint8_t *)client_cert_pem, *key = (const uint8_t *)client_key_encrypted_pem;
    size_t cert_len = sizeof client_cert_pem - 1, key_len = sizeof client_key_encrypted_pem - 1;
    CHECK_EQ_CODE(httpring_config_set_client_cert_pem_password(cfg, cert, cert_len, key, key_len, "wrong"),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "could not decrypt the private key") != NULL);
    CHECK_EQ_CODE(httpring_config_set_client_cert_pem_password(cfg, cert, cert_len, key, key_len, NULL),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK(strstr(last_error(), "give its password") != NULL);
    CHECK_EQ_CODE(httpring_config_set_client_cert_pem(cfg, cert, cert_len, key, key_len),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_client_cert_pem_password(NULL, cert, cert_len, key, key_len, "s3cret"),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_client_cert_file_password(cfg, "/nonexistent/c.pem", "/nonexistent/k.pem", "s3cret"),
                  httpring_config_set_client_cert_file(cfg, "/nonexistent/c.pem", "/nonexistent/k.pem"));
    CHECK_EQ_CODE(httpring_config_set_client_cert_pem_password(cfg, cert, cert_len, key, key_len, "s3cret"),
                  HTTPRING_OK);
    /* The client is made with it (a server asking for it is tested in transport.rs, Python and Zig). */
    httpring_client *c = httpring_client_new(cfg);
    CHECK(c != NULL);
    httpring_config_free(cfg);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
}

int main(void) {
    check_base_url();
    httpring_client *c = httpring_client_new(NULL);
    if (!CHECK(c != NULL)) return check_summary();
    test_error_names();
    test_invalid_submit(c);
    test_bad_handles(c);
    test_connect_refused(c);
    test_lying_server(c);
    test_error_messages(c);
    test_last_error_message(c);
    test_dns(c);
    test_stale_builders(c);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
    test_config_errors();
    test_encrypted_client_key();
    test_read_timeout();
    test_total_timeout();
    test_freed_client();
    test_free_in_flight();
    return check_summary();
}
