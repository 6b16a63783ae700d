/*
 * Redirects followed by the engine, from C: off by default, on per client or per request,
 * the hops read back from the handle, the limit (which alone ends a loop), and a client's default
 * Authorization withheld from another origin (here the same server under the name
 * "localhost" instead of 127.0.0.1: another host, so another origin).
 */
#include "check.h"

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

/* Waits for h and returns how it ended (HTTPRING_OK for a response). */
static httpring_code finish(httpring_client *c, httpring_handle h) {
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), &st), HTTPRING_OK);
    return httpring_handle_error(c, h);
}

static int body_has(httpring_client *c, httpring_handle h, const char *needle) {
    const uint8_t *body = NULL;
    size_t len = 0;
    if (httpring_response_body(c, h, &body, &len) != HTTPRING_OK) return 0;
    char text[4096];
    size_t n = len < sizeof text - 1 ? len : sizeof text - 1;
    memcpy(text, body, n);
    text[n] = 0;
    return strstr(text, needle) != NULL;
}

static httpring_client *client(bool follow, uint32_t max, const char *authorization) {
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_follow_redirects(cfg, follow), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_max_redirects(cfg, max), HTTPRING_OK);
    if (authorization)
        CHECK_EQ_CODE(httpring_config_add_default_header(cfg, "Authorization", authorization),
                      HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    CHECK(c != NULL);
    return c;
}

static void test_off_by_default_and_per_request(void) {
    httpring_client *c = httpring_client_new(NULL);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/redirect/2"), 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h), HTTPRING_OK);
    size_t hops = 99;
    CHECK_EQ_CODE(httpring_response_redirect_count(c, h, &hops), HTTPRING_OK);
    CHECK_EQ_INT(hops, 0);
    CHECK_EQ_CODE(httpring_response_redirect(c, h, 0, NULL, NULL, NULL), HTTPRING_ERR_NOT_FOUND);
    httpring_handle_free(c, h);

    /* The builder turns it on for one request. */
    httpring_request *req = httpring_request_new("GET", URL("/redirect/2"));
    CHECK_EQ_CODE(httpring_request_set_follow_redirects(req, true), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h), HTTPRING_OK);
    CHECK(body_has(c, h, "redirected"));
    CHECK_EQ_CODE(httpring_response_redirect_count(c, h, &hops), HTTPRING_OK);
    CHECK_EQ_INT(hops, 2);
    uint16_t status = 0;
    const uint8_t *u = NULL;
    size_t ulen = 0;
    CHECK_EQ_CODE(httpring_response_redirect(c, h, 1, &status, &u, &ulen), HTTPRING_OK);
    CHECK_EQ_INT(status, 302);
    CHECK_EQ_STR(u, ulen, URL("/redirect/1"));
    httpring_handle_free(c, h);
    httpring_client_free(c);
}

static void test_limit_and_loop(void) {
    httpring_client *c = client(true, 3, NULL);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/redirect/3"), 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h), HTTPRING_OK);
    httpring_handle_free(c, h);
    CHECK_EQ_CODE(httpring_client_get(c, URL("/redirect/4"), 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h), HTTPRING_ERR_TOO_MANY_REDIRECTS);
    httpring_handle_free(c, h);
    CHECK_EQ_CODE(httpring_client_get(c, URL("/loop"), 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h), HTTPRING_ERR_TOO_MANY_REDIRECTS);
    char msg[256];
    httpring_handle_error_message(c, h, msg, sizeof msg, NULL);
    CHECK(strstr(msg, "too many redirects") != NULL);
    httpring_handle_free(c, h);
    /* NULL config or request: an error code, not a crash. */
    CHECK_EQ_CODE(httpring_config_set_follow_redirects(NULL, true), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_request_set_max_redirects(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_response_redirect_count(c, 12345, NULL), HTTPRING_ERR_INVALID_HANDLE);
    httpring_client_free(c);
}

static void test_default_credentials_stay_home(void) {
    httpring_client *c = client(true, 10, "Bearer secret");
    /* Same origin: the default Authorization goes along. */
    char path[512];
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/redirect-to?url=/echo"), 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h), HTTPRING_OK);
    CHECK(body_has(c, h, "\"authorization\": \"Bearer secret\""));
    httpring_handle_free(c, h);

    /* Another origin: 127.0.0.1 -> localhost on the same port. */
    const char *base = check_base_url();
    const char *port = strrchr(base, ':');
    CHECK(port != NULL);
    snprintf(path, sizeof path, "/redirect-to?status=307&url=http://localhost%s/echo",
             port ? port : ":0");
    CHECK_EQ_CODE(httpring_client_get(c, URL(path), 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h), HTTPRING_OK);
    CHECK(body_has(c, h, "\"host\": \"localhost"));
    CHECK(!body_has(c, h, "authorization"));
    CHECK(body_has(c, h, "user-agent"));
    httpring_handle_free(c, h);
    httpring_client_free(c);
}

/* The engine's decision for a caller that follows redirects itself. */
static void test_the_next_hop_for_a_caller(void) {
    char buf[256];
    size_t len = 99;
    uint32_t flags = 99;
    /* Not a redirect, or no Location: OK, nothing (an empty string). */
    strcpy(buf, "stale");
    CHECK_EQ_CODE(httpring_redirect_next("GET", "http://a.test/x", 200, "/y", false, buf,
                                         sizeof buf, &len, &flags), HTTPRING_OK);
    CHECK(len == 0 && flags == 0 && buf[0] == 0);
    CHECK_EQ_CODE(httpring_redirect_next("GET", "http://a.test/x", 302, NULL, false, buf,
                                         sizeof buf, &len, &flags), HTTPRING_OK);
    CHECK(len == 0 && flags == 0);
    /* 302 turns a POST into a GET, same origin; the Location's fragment comes along. */
    CHECK_EQ_CODE(httpring_redirect_next("POST", "http://a.test/x/y#f", 302, "../z?q=1#g", false,
                                         buf, sizeof buf, &len, &flags), HTTPRING_OK);
    CHECK_EQ_STR(buf, strlen(buf), "http://a.test/z?q=1#g");
    CHECK_EQ_INT(len, strlen("http://a.test/z?q=1#g"));
    CHECK_EQ_INT(flags, HTTPRING_REDIRECT_TO_GET);
    /* 307 keeps the method; another port is another origin, the same host name. */
    CHECK_EQ_CODE(httpring_redirect_next("POST", "http://a.test/x", 307, "http://a.test:81/", false,
                                         buf, sizeof buf, &len, &flags), HTTPRING_OK);
    CHECK_EQ_STR(buf, strlen(buf), "http://a.test:81/");
    CHECK_EQ_INT(flags, HTTPRING_REDIRECT_CROSS_ORIGIN);
    /* 303 to another host: GET, another origin, another host name. */
    CHECK_EQ_CODE(httpring_redirect_next("PUT", "http://a.test/x", 303, "//b.test/p", false, buf,
                                         sizeof buf, &len, &flags), HTTPRING_OK);
    CHECK_EQ_STR(buf, strlen(buf), "http://b.test/p");
    CHECK_EQ_INT(flags, HTTPRING_REDIRECT_TO_GET | HTTPRING_REDIRECT_CROSS_ORIGIN |
                            HTTPRING_REDIRECT_OTHER_HOST);
    /* Sizing: cap 0 gives the length; a short buffer is truncated and NUL-terminated. */
    CHECK_EQ_CODE(httpring_redirect_next("GET", "http://a.test/x", 301, "/long/path", false, NULL,
                                         0, &len, &flags), HTTPRING_OK);
    CHECK_EQ_INT(len, strlen("http://a.test/long/path"));
    char small[8];
    CHECK_EQ_CODE(httpring_redirect_next("GET", "http://a.test/x", 301, "/long/path", false, small,
                                         sizeof small, &len, NULL), HTTPRING_OK);
    CHECK_EQ_STR(small, strlen(small), "http://");
    /* A scheme the engine does not send (an app's callback): given, another origin. */
    CHECK_EQ_CODE(httpring_redirect_next("POST", "https://a.test/x", 302, "myapp://cb?code=1", false,
                                         buf, sizeof buf, &len, &flags), HTTPRING_OK);
    CHECK_EQ_STR(buf, strlen(buf), "myapp://cb?code=1");
    CHECK_EQ_INT(flags, HTTPRING_REDIRECT_TO_GET | HTTPRING_REDIRECT_CROSS_ORIGIN |
                            HTTPRING_REDIRECT_OTHER_HOST);
    CHECK_EQ_CODE(httpring_redirect_next("GET", "https://a.test/x", 302, "myapp://cb?n=caf\xc3\xa9",
                                         false, buf, sizeof buf, &len, &flags), HTTPRING_OK);
    CHECK_EQ_STR(buf, strlen(buf), "myapp://cb?n=caf%C3%A9");
    /* User info in the URL is not taken for a port. */
    CHECK_EQ_CODE(httpring_redirect_next("GET", "http://u:p@a.test/x", 302, "/y", false, buf,
                                         sizeof buf, &len, &flags), HTTPRING_OK);
    CHECK_EQ_STR(buf, strlen(buf), "http://u:p@a.test/y");
    CHECK_EQ_INT(flags, 0);
    /* https to http: refused unless allowed. */
    CHECK_EQ_CODE(httpring_redirect_next("GET", "https://a.test/", 302, "http://a.test/", false,
                                         buf, sizeof buf, &len, &flags),
                  HTTPRING_ERR_INSECURE_REDIRECT);
    CHECK(len == 0 && flags == 0);
    CHECK_EQ_CODE(httpring_redirect_next("GET", "https://a.test/", 302, "http://a.test/", true,
                                         buf, sizeof buf, &len, &flags), HTTPRING_OK);
    CHECK_EQ_STR(buf, strlen(buf), "http://a.test/");
    /* A Location that is no URL, bad arguments: their codes, with a message. */
    CHECK_EQ_CODE(httpring_redirect_next("GET", "http://a.test/", 302, "http://[::1", false, buf,
                                         sizeof buf, &len, &flags), HTTPRING_ERR_PROTOCOL);
    char msg[256];
    CHECK_EQ_CODE(httpring_last_error_message(msg, sizeof msg, NULL), HTTPRING_OK);
    CHECK(strstr(msg, "invalid Location") != NULL);
    CHECK_EQ_CODE(httpring_redirect_next("GET", "http://a.test/", 302, "/y\r\nX: 1", false, buf,
                                         sizeof buf, &len, &flags), HTTPRING_ERR_PROTOCOL);
    CHECK_EQ_CODE(httpring_redirect_next("GET", "not a url", 302, "/y", false, buf, sizeof buf,
                                         &len, &flags), HTTPRING_ERR_INVALID_URL);
    CHECK_EQ_CODE(httpring_redirect_next("G T", "http://a.test/", 302, "/y", false, buf,
                                         sizeof buf, &len, &flags), HTTPRING_ERR_INVALID_METHOD);
    CHECK_EQ_CODE(httpring_redirect_next(NULL, "http://a.test/", 302, "/y", false, buf, sizeof buf,
                                         &len, &flags), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_redirect_next("GET", NULL, 302, "/y", false, buf, sizeof buf, &len,
                                         &flags), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_redirect_next("GET", "http://a.test/", 302, "/y", false, NULL, 16, &len,
                                         &flags), HTTPRING_ERR_INVALID_ARGUMENT);
}

/* Origins where the engine stops following (for a caller that sends those hops itself):
 * the first matching rule decides; "localhost" is another origin than 127.0.0.1. */
static void test_stops_at_origins_kept_by_the_caller(void) {
    const char *base = check_base_url();
    const char *port = strrchr(base, ':');
    CHECK(port != NULL);
    char path[512], other[256];
    snprintf(path, sizeof path, "/redirect-to?status=307&url=http://localhost%s/echo", port);
    snprintf(other, sizeof other, "http://localhost%s", port);

    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_follow_redirects(cfg, true), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_add_redirect_stop(cfg, "all://*.localhost", false), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_add_redirect_stop(cfg, other, true), HTTPRING_OK);
    /* Bad input: a code and a message, nothing added. */
    CHECK_EQ_CODE(httpring_config_add_redirect_stop(NULL, "all://", true), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_add_redirect_stop(cfg, NULL, true), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_add_redirect_stop(cfg, "localhost", true), HTTPRING_ERR_INVALID_ARGUMENT);
    char msg[256];
    httpring_last_error_message(msg, sizeof msg, NULL);
    CHECK(strstr(msg, "\"localhost\"") != NULL);
    CHECK_EQ_CODE(httpring_config_add_redirect_stop(cfg, "all://h:99999", true), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    CHECK(c != NULL);

    /* The hop into the kept origin is not taken: the 307 is the answer. */
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL(path), 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h), HTTPRING_OK);
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
    CHECK_EQ_INT(r.status, 307);
    httpring_handle_free(c, h);
    /* Same-origin chains are followed as before. */
    CHECK_EQ_CODE(httpring_client_get(c, URL("/redirect/2"), 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h), HTTPRING_OK);
    CHECK(body_has(c, h, "redirected"));
    httpring_handle_free(c, h);
    httpring_client_free(c);

    /* An exception before a broader stop: followed. */
    cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_follow_redirects(cfg, true), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_add_redirect_stop(cfg, "all://LOCALHOST", false), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_add_redirect_stop(cfg, "all://", true), HTTPRING_OK);
    c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    CHECK_EQ_CODE(httpring_client_get(c, URL(path), 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h), HTTPRING_OK);
    CHECK(body_has(c, h, "\"host\": \"localhost"));
    httpring_handle_free(c, h);
    /* all:// stops a same-origin hop too. */
    CHECK_EQ_CODE(httpring_client_get(c, URL("/redirect/2"), 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(finish(c, h), HTTPRING_OK);
    CHECK(!body_has(c, h, "redirected"));
    httpring_handle_free(c, h);
    httpring_client_free(c);
}

int main(void) {
    test_off_by_default_and_per_request();
    test_limit_and_loop();
    test_default_credentials_stay_home();
    test_the_next_hop_for_a_caller();
    test_stops_at_origins_kept_by_the_caller();
    return check_summary();
}
