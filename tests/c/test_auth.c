/*
 * Auth helpers from C: Basic and Bearer per client and per request, Digest answering the
 * test server's challenge (which recomputes the hash), bad credentials refused when set,
 * a request whose setter failed refused at submit, credentials from a .netrc file, and the
 * values for a caller that sends requests itself (httpring_auth_basic_value, _digest_answer,
 * httpring_client_netrc_value).
 */
#include <unistd.h>

#include "check.h"

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

static int status_of(httpring_client *c, httpring_request *req) {
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), &st), HTTPRING_OK);
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    int status = -1;
    if (httpring_handle_response(c, h, &r) == HTTPRING_OK) status = r.status;
    httpring_handle_free(c, h);
    return status;
}

static int get_status(httpring_client *c, const char *path) {
    return status_of(c, httpring_request_new("GET", URL(path)));
}

static httpring_client *client_with(httpring_code (*setup)(httpring_config *)) {
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(setup(cfg), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    CHECK(c != NULL);
    return c;
}

static httpring_code basic_up(httpring_config *cfg) {
    return httpring_config_set_basic_auth(cfg, "u", "p");
}
static httpring_code bearer_tok(httpring_config *cfg) {
    return httpring_config_set_bearer_auth(cfg, "tok");
}
static httpring_code digest_up(httpring_config *cfg) {
    return httpring_config_set_digest_auth(cfg, "user", "secret");
}
static httpring_code cleared(httpring_config *cfg) {
    httpring_code c = httpring_config_set_basic_auth(cfg, "u", "p");
    return c != HTTPRING_OK ? c : httpring_config_set_basic_auth(cfg, NULL, NULL);
}

static void test_client_credentials(void) {
    httpring_client *c = client_with(basic_up);
    CHECK_EQ_INT(get_status(c, "/basic-auth/u/p"), 200);
    CHECK_EQ_INT(get_status(c, "/basic-auth/u/q"), 401);
    httpring_client_free(c);

    c = client_with(bearer_tok);
    CHECK_EQ_INT(get_status(c, "/bearer/tok"), 200);
    httpring_client_free(c);

    c = client_with(digest_up);
    CHECK_EQ_INT(get_status(c, "/digest-auth/auth/user/secret/MD5"), 200);
    CHECK_EQ_INT(get_status(c, "/digest-auth/auth/user/secret/SHA-256"), 200);
    CHECK_EQ_INT(get_status(c, "/digest-auth/none/user/secret/MD5"), 200);
    CHECK_EQ_INT(get_status(c, "/digest-auth/auth/user/wrong/MD5"), 401);
    httpring_client_free(c);

    c = client_with(cleared);
    CHECK_EQ_INT(get_status(c, "/basic-auth/u/p"), 401);
    httpring_client_free(c);
}

static void test_request_credentials(void) {
    httpring_client *c = client_with(basic_up);
    httpring_request *req = httpring_request_new("GET", URL("/bearer/abc"));
    CHECK_EQ_CODE(httpring_request_set_bearer_auth(req, "abc"), HTTPRING_OK);
    CHECK_EQ_INT(status_of(c, req), 200);

    req = httpring_request_new("POST", URL("/digest-auth/auth/d/pw/SHA-256"));
    CHECK_EQ_CODE(httpring_request_set_digest_auth(req, "d", "pw"), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_request_set_body(req, (const uint8_t *)"x=1", 3), HTTPRING_OK);
    CHECK_EQ_INT(status_of(c, req), 200);

    req = httpring_request_new("GET", URL("/basic-auth/other/pw"));
    CHECK_EQ_CODE(httpring_request_set_basic_auth(req, "other", "pw"), HTTPRING_OK);
    CHECK_EQ_INT(status_of(c, req), 200);
    httpring_client_free(c);
}

static void test_bad_credentials(void) {
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_basic_auth(cfg, "a:b", "p"), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_bearer_auth(cfg, "t\r\nX-Evil: 1"),
                  HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(httpring_config_set_digest_auth(cfg, "\xff", "p"), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_basic_auth(NULL, "u", "p"), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_config_free(cfg);

    httpring_client *c = httpring_client_new(NULL);
    httpring_request *req = httpring_request_new("GET", URL("/hello"));
    CHECK_EQ_CODE(httpring_request_set_bearer_auth(req, "t\nX: y"), HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(httpring_request_set_bearer_auth(req, NULL), HTTPRING_ERR_INVALID_ARGUMENT);
    /* The failed setter poisons the request: submit refuses it with the same code. */
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(httpring_request_set_basic_auth(NULL, "u", "p"), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_client_free(c);
}

static char netrc_path[64];
static httpring_code from_netrc(httpring_config *cfg) {
    return httpring_config_set_netrc(cfg, netrc_path);
}

static void test_netrc(void) {
    CHECK_SECTION("credentials from a .netrc file");
    snprintf(netrc_path, sizeof netrc_path, "/tmp/httpring-netrc-%d", (int)getpid());
    FILE *f = fopen(netrc_path, "w");
    if (!CHECK(f != NULL)) return;
    fputs("machine 127.0.0.1\n  login alice\n  password a1\ndefault login anon password x\n", f);
    fclose(f);
    httpring_client *c = client_with(from_netrc);
    CHECK_EQ_INT(get_status(c, "/basic-auth/alice/a1"), 200);
    /* A request's own credentials win. */
    httpring_request *req = httpring_request_new("GET", URL("/basic-auth/u/p"));
    CHECK_EQ_CODE(httpring_request_set_basic_auth(req, "u", "p"), HTTPRING_OK);
    CHECK_EQ_INT(status_of(c, req), 200);
    /* The value for a caller that sends a request itself: the host's entry, else default. */
    char buf[128];
    size_t len = 0;
    CHECK_EQ_CODE(httpring_client_netrc_value(c, "http://127.0.0.1:1/x", buf, sizeof buf, &len),
                  HTTPRING_OK);
    CHECK_EQ_STR(buf, len, "Basic YWxpY2U6YTE="); /* alice:a1 */
    CHECK_EQ_CODE(httpring_client_netrc_value(c, "https://other.test/", buf, sizeof buf, &len),
                  HTTPRING_OK);
    CHECK_EQ_STR(buf, len, "Basic YW5vbjp4"); /* anon:x */
    CHECK_EQ_CODE(httpring_client_netrc_value(c, "https://other.test/", buf, 4, &len), HTTPRING_OK);
    CHECK(len == 14 && strcmp(buf, "Bas") == 0); /* truncated, the full length told */
    CHECK_EQ_CODE(httpring_client_netrc_value(c, "not a url", buf, sizeof buf, &len),
                  HTTPRING_ERR_INVALID_URL);
    CHECK_EQ_CODE(httpring_client_netrc_value(c, NULL, buf, sizeof buf, &len),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_client_free(c);
    CHECK_EQ_CODE(httpring_client_netrc_value(c, "http://127.0.0.1/", buf, sizeof buf, &len),
                  HTTPRING_ERR_CLIENT_CLOSED); /* freed */
    /* Without a .netrc: nothing (an empty string). */
    c = httpring_client_new(NULL);
    CHECK_EQ_CODE(httpring_client_netrc_value(c, "http://127.0.0.1/", buf, sizeof buf, &len),
                  HTTPRING_OK);
    CHECK(len == 0 && buf[0] == 0);
    CHECK_EQ_CODE(httpring_client_netrc_value(c, "not a url", buf, sizeof buf, &len),
                  HTTPRING_ERR_INVALID_URL); /* a bad URL is one without a file too */
    httpring_client_free(c);
    /* A file that does not exist or does not parse: refused when set, saying why. */
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_netrc(cfg, "/nonexistent/netrc"), HTTPRING_ERR_INVALID_ARGUMENT);
    char msg[256];
    httpring_last_error_message(msg, sizeof msg, NULL);
    CHECK(strstr(msg, "/nonexistent/netrc") != NULL);
    f = fopen(netrc_path, "w");
    fputs("host example.com login x\n", f);
    fclose(f);
    CHECK_EQ_CODE(httpring_config_set_netrc(cfg, netrc_path), HTTPRING_ERR_INVALID_ARGUMENT);
    /* "" turns it off. */
    CHECK_EQ_CODE(httpring_config_set_netrc(cfg, ""), HTTPRING_OK);
    httpring_config_free(cfg);
    unlink(netrc_path);
}

/* The values for a caller that sends requests itself: Basic's, and a Digest answer to the
 * test server's challenge, which it checks. */
static void test_values_for_a_caller(void) {
    CHECK_SECTION("credential values for a caller's own sending");
    char buf[512];
    size_t len = 0;
    /* RFC 7617's example. */
    CHECK_EQ_CODE(httpring_auth_basic_value("Aladdin", "open sesame", buf, sizeof buf, &len),
                  HTTPRING_OK);
    CHECK_EQ_STR(buf, len, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    CHECK_EQ_CODE(httpring_auth_basic_value("a:b", "p", buf, sizeof buf, &len),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_auth_basic_value(NULL, "p", buf, sizeof buf, &len),
                  HTTPRING_ERR_INVALID_ARGUMENT);

    /* The challenge, from a request without credentials. */
    const char *path = "/digest-auth/auth/carol/pw/SHA-256";
    httpring_client *c = httpring_client_new(NULL);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, httpring_request_new("GET", URL(path)), &h), HTTPRING_OK);
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), &st), HTTPRING_OK);
    const uint8_t *v = NULL;
    size_t vlen = 0;
    CHECK_EQ_CODE(httpring_response_header(c, h, "www-authenticate", 0, &v, &vlen), HTTPRING_OK);
    char challenge[512] = {0};
    if (v != NULL && vlen < sizeof challenge)
        memcpy(challenge, v, vlen);
    httpring_handle_free(c, h);
    /* Answered with the right password: the server lets it in; the wrong one: 401. */
    const char *url = URL(path);
    CHECK_EQ_CODE(httpring_auth_digest_answer("carol", "pw", "GET", url, NULL, 0, challenge, false,
                                              buf, sizeof buf, &len), HTTPRING_OK);
    CHECK(len > 7 && strncmp(buf, "Digest ", 7) == 0);
    httpring_request *req = httpring_request_new("GET", url);
    CHECK_EQ_CODE(httpring_request_add_header(req, "Authorization", buf), HTTPRING_OK);
    CHECK_EQ_INT(status_of(c, req), 200);
    CHECK_EQ_CODE(httpring_auth_digest_answer("carol", "nope", "GET", url, NULL, 0, challenge,
                                              false, buf, sizeof buf, &len), HTTPRING_OK);
    req = httpring_request_new("GET", url);
    CHECK_EQ_CODE(httpring_request_add_header(req, "Authorization", buf), HTTPRING_OK);
    CHECK_EQ_INT(status_of(c, req), 401);
    /* Nothing to answer: not Digest, or not stale when only a stale one is answered. */
    CHECK_EQ_CODE(httpring_auth_digest_answer("carol", "pw", "GET", url, NULL, 0,
                                              "Basic realm=\"x\"", false, buf, sizeof buf, &len),
                  HTTPRING_OK);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_CODE(httpring_auth_digest_answer("carol", "pw", "GET", url, NULL, 0, challenge, true,
                                              buf, sizeof buf, &len), HTTPRING_OK);
    CHECK_EQ_INT(len, 0);
    /* Bad arguments. */
    CHECK_EQ_CODE(httpring_auth_digest_answer("carol", "pw", "G T", url, NULL, 0, challenge, false,
                                              buf, sizeof buf, &len), HTTPRING_ERR_INVALID_METHOD);
    CHECK_EQ_CODE(httpring_auth_digest_answer("carol", "pw", "GET", "nope", NULL, 0, challenge,
                                              false, buf, sizeof buf, &len), HTTPRING_ERR_INVALID_URL);
    CHECK_EQ_CODE(httpring_auth_digest_answer("carol", "pw", "GET", url, NULL, 5, challenge, false,
                                              buf, sizeof buf, &len), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_client_free(c);
}

int main(void) {
    test_netrc();
    test_client_credentials();
    test_request_credentials();
    test_bad_credentials();
    test_values_for_a_caller();
    return check_summary();
}
