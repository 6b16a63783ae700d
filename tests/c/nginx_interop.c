/* Interoperability with nginx (Debian's package), started by scripts/run_nginx_interop.sh on
 * 127.0.0.1 with TLS and HTTP/2 from a CA made at test time. Covers HTTPS and HTTP/2 from C.
 *
 * Environment: NGINX_HTTPS_URL, NGINX_HTTP_URL (base URLs), NGINX_CA_FILE (PEM).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "httpring.h"

static const char *env(const char *name) {
    const char *v = getenv(name);
    if (!v) {
        fprintf(stderr, "%s is not set (run through scripts/run_nginx_interop.sh)\n", name);
        exit(2);
    }
    return v;
}

static httpring_client *client(const char *ca_file, uint32_t version_pref) {
    httpring_config *cfg = httpring_config_new();
    if (ca_file) {
        CHECK_EQ_CODE(httpring_config_set_root_store(cfg, HTTPRING_ROOTS_NONE), HTTPRING_OK);
        CHECK_EQ_CODE(httpring_config_set_ca_file(cfg, ca_file), HTTPRING_OK);
    }
    CHECK_EQ_CODE(httpring_config_set_http_version(cfg, version_pref), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    CHECK(c != NULL);
    return c;
}

/* GET url, wait; returns the handle (caller frees). */
static httpring_handle get(httpring_client *c, const char *url) {
    httpring_handle h = 0;
    httpring_state st;
    CHECK_EQ_CODE(httpring_client_get(c, url, 0, &h), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_wait(c, h, 10000, &st), HTTPRING_OK);
    return h;
}

int main(void) {
    const char *https = env("NGINX_HTTPS_URL"), *http = env("NGINX_HTTP_URL"), *ca = env("NGINX_CA_FILE");
    char url[512];
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);

    CHECK_SECTION("HTTP/2 over TLS, negotiated by ALPN");
    httpring_client *c = client(ca, HTTPRING_HTTP_PREF_NEGOTIATE);
    snprintf(url, sizeof url, "%s/hello", https);
    httpring_handle h = get(c, url);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(r.version, HTTPRING_HTTP_2);
    CHECK_EQ_STR(r.body, r.body_len, "hello from nginx\n");
    const uint8_t *v;
    size_t vlen;
    CHECK_EQ_CODE(httpring_response_header(c, h, "Server", 0, &v, &vlen), HTTPRING_OK);
    CHECK(check_contains(v, vlen, "nginx"));
    httpring_handle_free(c, h);

    CHECK_SECTION("100 concurrent HTTP/2 requests share one connection");
    httpring_handle many[100];
    for (int i = 0; i < 100; i++) CHECK_EQ_CODE(httpring_client_get(c, url, (uint64_t)i, &many[i]), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_handle_wait_all(c, many, 100, 20000), HTTPRING_OK);
    int ok = 0;
    for (int i = 0; i < 100; i++) {
        if (httpring_handle_response(c, many[i], &r) == HTTPRING_OK && r.status == 200 && r.version == HTTPRING_HTTP_2) ok++;
    }
    CHECK_EQ_INT(ok, 100);
    CHECK_EQ_CODE(httpring_handles_free(c, many, 100), HTTPRING_OK);
    httpring_stats s = HTTPRING_STRUCT_INIT(httpring_stats);
    CHECK_EQ_CODE(httpring_client_stats(c, &s), HTTPRING_OK);
    CHECK_EQ_INT(s.connections_opened, 1);

    CHECK_SECTION("a 1 MiB file over HTTP/2, and a JSON POST");
    snprintf(url, sizeof url, "%s/big.bin", https);
    h = get(c, url);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
    CHECK_EQ_INT(r.body_len, 1 << 20);
    httpring_handle_free(c, h);
    snprintf(url, sizeof url, "%s/hello", https);
    const char *json = "{\"a\": 1}";
    CHECK_EQ_CODE(httpring_client_post_json(c, url, (const uint8_t *)json, strlen(json), 0, &h), HTTPRING_OK);
    httpring_handle_wait(c, h, 10000, NULL);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
    CHECK_EQ_INT(r.status, 200);
    httpring_handle_free(c, h);
    httpring_client_free(c);

    CHECK_SECTION("HTTPS over HTTP/1.1 when asked for");
    c = client(ca, HTTPRING_HTTP_PREF_HTTP1_ONLY);
    snprintf(url, sizeof url, "%s/hello", https);
    for (int i = 0; i < 3; i++) {
        h = get(c, url);
        CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
        CHECK_EQ_INT(r.version, HTTPRING_HTTP_1_1);
        CHECK_EQ_STR(r.body, r.body_len, "hello from nginx\n");
        httpring_handle_free(c, h);
    }
    CHECK_EQ_CODE(httpring_client_stats(c, &s), HTTPRING_OK);
    CHECK_EQ_INT(s.connections_opened, 1);
    httpring_client_free(c);

    CHECK_SECTION("plain HTTP/1.1, and a certificate the client does not trust");
    c = client(NULL, HTTPRING_HTTP_PREF_NEGOTIATE);
    snprintf(url, sizeof url, "%s/hello", http);
    h = get(c, url);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
    CHECK_EQ_INT(r.version, HTTPRING_HTTP_1_1);
    httpring_handle_free(c, h);
    snprintf(url, sizeof url, "%s/hello", https);
    h = get(c, url);
    CHECK_EQ_CODE(httpring_handle_error(c, h), HTTPRING_ERR_TLS_CERTIFICATE);
    char msg[256];
    httpring_handle_error_message(c, h, msg, sizeof msg, NULL);
    printf("untrusted: %s\n", msg);
    httpring_handle_free(c, h);
    httpring_client_free(c);
    return check_summary();
}
