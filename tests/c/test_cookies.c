/*
 * The cookie jar from C: cookies set by one response sent on the next and not to another
 * host ("localhost" instead of 127.0.0.1), added by hand, exported and imported as text, saved
 * to and loaded from a Netscape cookie file, cleared; and the errors of a client without a jar.
 */
#include <unistd.h>

#include "check.h"

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

/* GETs url and copies the body into out (NUL-terminated). */
static void fetch(httpring_client *c, const char *url, char *out, size_t cap) {
    httpring_handle h = 0;
    out[0] = 0;
    CHECK_EQ_CODE(httpring_client_get(c, url, 0, &h), HTTPRING_OK);
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), &st), HTTPRING_OK);
    const uint8_t *body = NULL;
    size_t len = 0;
    if (httpring_response_body(c, h, &body, &len) == HTTPRING_OK) {
        size_t n = len < cap - 1 ? len : cap - 1;
        memcpy(out, body, n);
        out[n] = 0;
    }
    httpring_handle_free(c, h);
}

static httpring_client *jar_client(void) {
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_cookie_jar(cfg, true), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    CHECK(c != NULL);
    return c;
}

static void test_round_trip(void) {
    httpring_client *c = jar_client();
    char body[1024];
    fetch(c, URL("/cookies/set?a=1&b=2"), body, sizeof body);
    fetch(c, URL("/cookies"), body, sizeof body);
    CHECK_EQ_STR(body, strlen(body), "a=1; b=2");

    /* Another host gets none of them. */
    char other[512];
    snprintf(other, sizeof other, "%s", URL("/cookies"));
    char *host = strstr(other, "127.0.0.1");
    CHECK(host != NULL);
    if (host) {
        char rest[512];
        snprintf(rest, sizeof rest, "%s", host + strlen("127.0.0.1"));
        snprintf(host, sizeof other - (size_t)(host - other), "localhost%s", rest);
    }
    fetch(c, other, body, sizeof body);
    CHECK_EQ_STR(body, strlen(body), "");

    CHECK_EQ_CODE(httpring_client_cookie_add(c, URL("/"), "manual=yes; Max-Age=3600"),
                  HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_cookie_add(c, URL("/"), "x=1; Domain=example.com"),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_cookie_add(c, "not a url", "x=1"), HTTPRING_ERR_INVALID_URL);

    /* Export: size first, then the text. */
    size_t len = 0;
    CHECK_EQ_CODE(httpring_client_cookies_export(c, NULL, 0, &len), HTTPRING_OK);
    CHECK(len > 0);
    char *text = malloc(len + 1);
    size_t len2 = 0;
    CHECK_EQ_CODE(httpring_client_cookies_export(c, text, len + 1, &len2), HTTPRING_OK);
    CHECK_EQ_INT(len2, len);
    CHECK(strstr(text, "# Netscape HTTP Cookie File") == text);
    CHECK(strstr(text, "\tFALSE\t/\tFALSE\t0\ta\t1\n") != NULL);
    CHECK(strstr(text, "\tmanual\tyes\n") != NULL);

    /* Save to a file, load it into another client. */
    char path[] = "/tmp/httpring-cookies-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ_CODE(httpring_client_cookies_save(c, path), HTTPRING_OK);
    httpring_client *d = jar_client();
    size_t count = 0;
    CHECK_EQ_CODE(httpring_client_cookies_load(d, path, &count), HTTPRING_OK);
    CHECK_EQ_INT(count, 3);
    fetch(d, URL("/cookies"), body, sizeof body);
    CHECK_EQ_STR(body, strlen(body), "a=1; b=2; manual=yes");
    unlink(path);
    CHECK_EQ_CODE(httpring_client_cookies_load(d, path, &count), HTTPRING_ERR_NOT_FOUND);

    /* Import text; a malformed line is refused. */
    CHECK_EQ_CODE(httpring_client_cookies_clear(d), HTTPRING_OK);
    fetch(d, URL("/cookies"), body, sizeof body);
    CHECK_EQ_STR(body, strlen(body), "");
    CHECK_EQ_CODE(httpring_client_cookies_import(d, text, &count), HTTPRING_OK);
    CHECK_EQ_INT(count, 3);
    CHECK_EQ_CODE(httpring_client_cookies_import(d, "bad line\n", &count),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    free(text);
    httpring_client_free(d);
    httpring_client_free(c);
}

static void test_errors(void) {
    httpring_client *plain = httpring_client_new(NULL);
    size_t len = 0;
    CHECK_EQ_CODE(httpring_client_cookies_export(plain, NULL, 0, &len),
                  HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_cookies_clear(plain), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_client_cookie_add(plain, NULL, "a=1"), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_client_free(plain);
    CHECK_EQ_CODE(httpring_config_set_cookie_jar(NULL, true), HTTPRING_ERR_INVALID_ARGUMENT);
    /* A freed client. */
    CHECK_EQ_CODE(httpring_client_cookies_clear(plain), HTTPRING_ERR_CLIENT_CLOSED);
}

int main(void) {
    test_round_trip();
    test_errors();
    return check_summary();
}
