/* Install smoke test: built against an installed prefix with
 *   cc smoke.c $(pkg-config --cflags --libs httpring)
 * and run against the test server (HTTPRING_TEST_URL). Checks that the installed header and
 * library work together: a GET, a JSON POST, and a drain of both completions. */
#include <httpring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(expr)                                                                 \
    do {                                                                            \
        httpring_code rc_ = (expr);                                                 \
        if (rc_ != HTTPRING_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #expr,         \
                    httpring_error_name(rc_));                                      \
            return 1;                                                               \
        }                                                                           \
    } while (0)

static int contains(const uint8_t *hay, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0) return 1;
    return 0;
}

int main(void) {
    const char *base = getenv("HTTPRING_TEST_URL");
    if (base == NULL) {
        fprintf(stderr, "HTTPRING_TEST_URL is not set\n");
        return 2;
    }
    char hello[512], echo[512];
    snprintf(hello, sizeof hello, "%s/hello", base);
    snprintf(echo, sizeof echo, "%s/echo", base);

    httpring_client *client = httpring_client_new(NULL);
    if (client == NULL) return 1;

    httpring_handle h[2];
    static const char json[] = "{\"from\": \"smoke\"}";
    CHECK(httpring_client_get(client, hello, 1, &h[0]));
    CHECK(httpring_client_post_json(client, echo, (const uint8_t *)json, strlen(json), 2, &h[1]));
    CHECK(httpring_handle_wait_all(client, h, 2, 10000));

    httpring_completion done[4] = { HTTPRING_STRUCT_INIT(httpring_completion) };
    size_t n = 0;
    CHECK(httpring_client_drain(client, done, 4, &n));
    if (n != 2) {
        fprintf(stderr, "drained %zu completions, expected 2\n", n);
        return 1;
    }

    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK(httpring_handle_response(client, h[0], &r));
    if (r.status != 200 || r.body_len != 13 || memcmp(r.body, "Hello, world!", 13) != 0) {
        fprintf(stderr, "unexpected /hello response: %u\n", r.status);
        return 1;
    }
    CHECK(httpring_handle_response(client, h[1], &r));
    if (r.status != 200 || !contains(r.body, r.body_len, "\\\"smoke\\\"")) {
        fprintf(stderr, "unexpected /echo response: %.*s\n", (int)r.body_len, r.body);
        return 1;
    }
    CHECK(httpring_handles_free(client, h, 2));
    CHECK(httpring_client_free(client));
    printf("install smoke: httpring %s OK\n", httpring_version());
    return 0;
}
