/*
 * Resource limits from C: a per-host connection cap under a burst (counted on the server),
 * the pool timeout's code, the in-flight cap refusing a submit, the write timeout
 * against a listener that never reads, the low-speed limit against a trickle, the rate
 * caps, and those speed limits set on one request.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

static httpring_client *client_with(void (*setup)(httpring_config *)) {
    httpring_config *cfg = httpring_config_new();
    setup(cfg);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    CHECK(c != NULL);
    return c;
}

static httpring_state finish(httpring_client *c, httpring_handle h) {
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(30000), &st), HTTPRING_OK);
    return st;
}

static void cap8(httpring_config *cfg) {
    CHECK_EQ_CODE(httpring_config_set_max_connections_per_host(cfg, 8), HTTPRING_OK);
}

static void test_per_host_cap(void) {
    CHECK_SECTION("a burst under a per-host cap of 8");
    httpring_client *c = client_with(cap8);
    CHECK(check_server_stat(c, "?reset=1", "max_active") >= 0);
    int n = check_scaled(1000, 100);
    httpring_handle *hs = calloc((size_t)n, sizeof *hs);
    for (int i = 0; i < n; i++)
        CHECK_EQ_CODE(httpring_client_get(c, URL("/delay/2"), (uint64_t)i, &hs[i]), HTTPRING_OK);
    int ok = 0;
    for (int i = 0; i < n; i++) {
        httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
        if (finish(c, hs[i]) == HTTPRING_STATE_DONE &&
            httpring_handle_response(c, hs[i], &r) == HTTPRING_OK && r.status == 200)
            ok++;
        httpring_handle_free(c, hs[i]);
    }
    free(hs);
    CHECK_EQ_INT(ok, n);
    /* Read through the same client: its /stats request reuses one of its connections. */
    long max_open = check_server_stat(c, "", "max_open");
    long max_active = check_server_stat(c, "", "max_active");
    printf("   %d requests: at most %ld connections open, %ld requests at once\n", n, max_open,
           max_active);
    CHECK(max_open >= 1 && max_open <= 8);
    CHECK(max_active >= 2 && max_active <= 8);
    httpring_client_free(c);
}

static void cap1_pool200(httpring_config *cfg) {
    CHECK_EQ_CODE(httpring_config_set_max_connections_per_host(cfg, 1), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_pool_timeout_ms(cfg, 200), HTTPRING_OK);
}

static void test_pool_timeout(void) {
    CHECK_SECTION("the pool timeout");
    httpring_client *c = client_with(cap1_pool200);
    httpring_handle slow = 0, queued = 0, patient = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/delay/1500"), 0, &slow), HTTPRING_OK);
    double t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_get(c, URL("/hello"), 0, &queued), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, queued), HTTPRING_STATE_FAILED);
    CHECK_EQ_CODE(httpring_handle_error(c, queued), HTTPRING_ERR_POOL_TIMEOUT);
    CHECK(check_now_ms() - t0 >= 180);
    /* A request's own pool timeout wins: this one waits for the slow one to finish. */
    httpring_request *req = httpring_request_new("GET", URL("/hello"));
    CHECK_EQ_CODE(httpring_request_set_pool_timeout_ms(req, 10000), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_submit(c, req, &patient), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, slow), HTTPRING_STATE_DONE);
    CHECK_EQ_INT(finish(c, patient), HTTPRING_STATE_DONE);
    httpring_handle_free(c, slow);
    httpring_handle_free(c, queued);
    httpring_handle_free(c, patient);
    httpring_client_free(c);
}

static void in_flight2(httpring_config *cfg) {
    CHECK_EQ_CODE(httpring_config_set_max_in_flight(cfg, 2), HTTPRING_OK);
}

static void test_in_flight_cap(void) {
    CHECK_SECTION("the in-flight cap");
    httpring_client *c = client_with(in_flight2);
    httpring_handle a = 0, b = 0, refused = 0, d = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/delay/300"), 0, &a), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_get(c, URL("/delay/300"), 0, &b), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_get(c, URL("/hello"), 0, &refused),
                  HTTPRING_ERR_TOO_MANY_IN_FLIGHT);
    CHECK(refused == 0);
    CHECK_EQ_INT(finish(c, a), HTTPRING_STATE_DONE);
    CHECK_EQ_CODE(httpring_client_get(c, URL("/hello"), 0, &d), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, d), HTTPRING_STATE_DONE);
    CHECK_EQ_INT(finish(c, b), HTTPRING_STATE_DONE);
    httpring_handle_free(c, a);
    httpring_handle_free(c, b);
    httpring_handle_free(c, d);
    httpring_client_free(c);
}

static void write300(httpring_config *cfg) {
    CHECK_EQ_CODE(httpring_config_set_write_timeout_ms(cfg, 300), HTTPRING_OK);
}

static void defaults(httpring_config *cfg) { (void)cfg; }

/* A body of `len` bytes of 'x' (the caller frees it; a set_body copies it). */
static uint8_t *body_again(size_t len) {
    uint8_t *b = malloc(len);
    CHECK(b != NULL);
    memset(b, 'x', len);
    return b;
}

static void test_write_timeout(void) {
    CHECK_SECTION("the write timeout against a listener that never reads");
    /* Listening but never accepting: the kernel completes the handshake, then the
     * request fills the socket buffers and the client's write blocks. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(listen(fd, 4) == 0);
    socklen_t alen = sizeof addr;
    CHECK(getsockname(fd, (struct sockaddr *)&addr, &alen) == 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/upload", ntohs(addr.sin_port));

    httpring_client *c = client_with(write300);
    size_t len = 64u << 20;
    uint8_t *body = malloc(len);
    memset(body, 'x', len);
    httpring_request *req = httpring_request_new("POST", url);
    CHECK_EQ_CODE(httpring_request_set_body(req, body, len), HTTPRING_OK);
    free(body); /* copied at set_body */
    httpring_handle h = 0;
    double t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_FAILED);
    CHECK_EQ_CODE(httpring_handle_error(c, h), HTTPRING_ERR_WRITE_TIMEOUT);
    CHECK(check_now_ms() - t0 < check_slack_ms(5000));
    httpring_handle_free(c, h);
    httpring_client_free(c);

    CHECK_SECTION("a request's own write timeout, on a client without one");
    c = client_with(defaults);
    req = httpring_request_new("POST", url);
    body = body_again(len);
    CHECK_EQ_CODE(httpring_request_set_body(req, body, len), HTTPRING_OK);
    free(body);
    CHECK_EQ_CODE(httpring_request_set_write_timeout_ms(req, 300), HTTPRING_OK);
    t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_FAILED);
    CHECK_EQ_CODE(httpring_handle_error(c, h), HTTPRING_ERR_WRITE_TIMEOUT);
    CHECK(check_now_ms() - t0 < check_slack_ms(5000));
    httpring_handle_free(c, h);
    /* The same through send_many's spec. */
    uint8_t *big = body_again(len);
    httpring_request_spec spec = {0};
    spec.struct_size = sizeof spec;
    spec.method = "POST";
    spec.url = url;
    spec.body = big;
    spec.body_len = len;
    spec.timeout_ms = spec.connect_timeout_ms = spec.read_timeout_ms = spec.pool_timeout_ms = -1;
    spec.retries = spec.max_recv_speed = spec.max_send_speed = spec.low_speed_bytes_per_sec = -1;
    spec.write_timeout_ms = 300;
    t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_send_many(c, &spec, 1, &h, NULL), HTTPRING_OK);
    free(big); /* copied by send_many */
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_FAILED);
    CHECK_EQ_CODE(httpring_handle_error(c, h), HTTPRING_ERR_WRITE_TIMEOUT);
    CHECK(check_now_ms() - t0 < check_slack_ms(5000));
    httpring_handle_free(c, h);
    httpring_client_free(c);
    close(fd);
}

static void low_speed(httpring_config *cfg) {
    CHECK_EQ_CODE(httpring_config_set_low_speed(cfg, 100, 300), HTTPRING_OK);
}

static void test_low_speed(void) {
    CHECK_SECTION("the low-speed limit against a trickling body");
    /* /drip/40/50: a byte every 50 ms (20 bytes/s); the limit asks for 100 over 300 ms. */
    httpring_client *c = client_with(low_speed);
    httpring_handle h = 0;
    double t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_get(c, URL("/drip/40/50"), 0, &h), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_FAILED);
    CHECK_EQ_CODE(httpring_handle_error(c, h), HTTPRING_ERR_READ_TIMEOUT);
    CHECK(check_now_ms() - t0 < check_slack_ms(1800)); /* the whole body takes 2 s */
    char msg[256];
    httpring_handle_error_message(c, h, msg, sizeof msg, NULL);
    CHECK(strstr(msg, "low-speed limit") != NULL);
    httpring_handle_free(c, h);
    /* A fast body passes. */
    CHECK_EQ_CODE(httpring_client_get(c, URL("/bytes/200000"), 0, &h), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_DONE);
    httpring_handle_free(c, h);
    httpring_client_free(c);
}

static void max_recv_speed(httpring_config *cfg) {
    CHECK_EQ_CODE(httpring_config_set_max_recv_speed(cfg, 1000000), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_read_timeout_ms(cfg, 100), HTTPRING_OK);
}

static void test_max_recv_speed(void) {
    CHECK_SECTION("the receive-rate cap paces a body; its pauses are not silence");
    CHECK_EQ_CODE(httpring_config_set_max_recv_speed(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_client *c = client_with(max_recv_speed);
    httpring_handle h = 0;
    double t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_get(c, URL("/bytes/300000"), 0, &h), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_DONE);
    CHECK(check_now_ms() - t0 >= 290); /* 300,000 bytes at 1,000,000 bytes/s */
    const uint8_t *body;
    size_t len = 0;
    CHECK_EQ_CODE(httpring_response_body(c, h, &body, &len), HTTPRING_OK);
    CHECK_EQ_INT(len, 300000);
    httpring_handle_free(c, h);
    httpring_client_free(c);
}

static void max_send_speed(httpring_config *cfg) {
    CHECK_EQ_CODE(httpring_config_set_max_send_speed(cfg, 1000000), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_read_timeout_ms(cfg, 100), HTTPRING_OK);
}

static void test_max_send_speed(void) {
    CHECK_SECTION("the send-rate cap paces a request body; its pieces are not silence");
    CHECK_EQ_CODE(httpring_config_set_max_send_speed(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_client *c = client_with(max_send_speed);
    size_t len = 300000;
    uint8_t *body = malloc(len);
    memset(body, 'u', len);
    httpring_request *req = httpring_request_new("POST", URL("/upload"));
    CHECK_EQ_CODE(httpring_request_set_body(req, body, len), HTTPRING_OK);
    free(body); /* copied at set_body */
    httpring_handle h = 0;
    double t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_DONE);
    /* 300,000 bytes at 1,000,000 bytes/s in 64 KiB pieces: the last goes at ~0.26 s. */
    CHECK(check_now_ms() - t0 >= 250);
    const uint8_t *answer;
    size_t alen = 0;
    CHECK_EQ_CODE(httpring_response_body(c, h, &answer, &alen), HTTPRING_OK);
    char text[512];
    size_t k = alen < sizeof text - 1 ? alen : sizeof text - 1;
    memcpy(text, answer, k);
    text[k] = 0;
    CHECK(strstr(text, "\"received\": 300000") != NULL);
    CHECK(strstr(text, "\"content_length\": 300000") != NULL);
    httpring_handle_free(c, h);
    httpring_client_free(c);
}

static void slow_client(httpring_config *cfg) {
    CHECK_EQ_CODE(httpring_config_set_max_recv_speed(cfg, 100000), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_low_speed(cfg, 100, 300), HTTPRING_OK);
}

static httpring_handle get_with(httpring_client *c, const char *path, uint64_t recv_speed,
                                uint64_t low_speed) {
    httpring_request *req = httpring_request_new("GET", URL(path));
    if (recv_speed != UINT64_MAX)
        CHECK_EQ_CODE(httpring_request_set_max_recv_speed(req, recv_speed), HTTPRING_OK);
    if (low_speed != UINT64_MAX)
        CHECK_EQ_CODE(httpring_request_set_low_speed(req, low_speed, 300), HTTPRING_OK);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    return h;
}

static void test_request_speeds(void) {
    CHECK_SECTION("speed limits set on one request override the client's");
    CHECK_EQ_CODE(httpring_request_set_max_recv_speed(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_request_set_max_send_speed(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_request_set_low_speed(NULL, 1, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    /* An uncapped client: the request capped at 150,000 bytes/s takes ~2 s, its uncapped
     * sibling well under one; one with a low-speed limit fails a trickle (/drip/40/50: 20
     * bytes/s) that its sibling receives whole. */
    httpring_client *c = httpring_client_new(NULL);
    double t0 = check_now_ms();
    httpring_handle slow = get_with(c, "/bytes/300000", 150000, UINT64_MAX);
    httpring_handle fast = get_with(c, "/bytes/300000", UINT64_MAX, UINT64_MAX);
    CHECK_EQ_INT(finish(c, fast), HTTPRING_STATE_DONE);
    double fast_ms = check_now_ms() - t0;
    CHECK_EQ_INT(finish(c, slow), HTTPRING_STATE_DONE);
    double slow_ms = check_now_ms() - t0;
    CHECK(slow_ms >= 1500);
    CHECK(fast_ms < check_slack_ms(1000));
    printf("   capped request %.0f ms, its sibling %.0f ms\n", slow_ms, fast_ms);
    httpring_handle_free(c, slow);
    httpring_handle_free(c, fast);
    httpring_handle limited = get_with(c, "/drip/40/50", UINT64_MAX, 100);
    httpring_handle plain = get_with(c, "/drip/40/50", UINT64_MAX, UINT64_MAX);
    CHECK_EQ_INT(finish(c, limited), HTTPRING_STATE_FAILED);
    CHECK_EQ_CODE(httpring_handle_error(c, limited), HTTPRING_ERR_READ_TIMEOUT);
    CHECK_EQ_INT(finish(c, plain), HTTPRING_STATE_DONE);
    httpring_handle_free(c, limited);
    httpring_handle_free(c, plain);
    httpring_client_free(c);
    /* A client capped at 100,000 bytes/s with a low-speed limit: 0 on the request lifts
     * both (300,000 bytes would take 3 s; the trickle would fail). */
    c = client_with(slow_client);
    t0 = check_now_ms();
    httpring_handle h = get_with(c, "/bytes/300000", 0, 0);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_DONE);
    CHECK(check_now_ms() - t0 < check_slack_ms(1500));
    httpring_handle_free(c, h);
    h = get_with(c, "/drip/40/50", 0, 0);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_DONE);
    const uint8_t *body;
    size_t len = 0;
    CHECK_EQ_CODE(httpring_response_body(c, h, &body, &len), HTTPRING_OK);
    CHECK_EQ_INT(len, 40);
    httpring_handle_free(c, h);
    httpring_client_free(c);
}

/* Last: the stalled upload's server side lingers until its hold ends, and the per-host
 * cap's test counts the server's open connections. */
static void test_low_speed_upload(void) {
    CHECK_SECTION("the low-speed limit against an upload the server stops taking");
    httpring_client *c = client_with(low_speed);
    httpring_handle h = 0;
    /* An upload the server stops taking (it reads nothing for 5 s; 16 MiB is more than the
     * socket buffers hold) fails too, with the write-timeout code. */
    size_t len = 16u << 20;
    uint8_t *body = malloc(len);
    memset(body, 'x', len);
    httpring_request *req = httpring_request_new("POST", URL("/upload?hold_ms=5000"));
    CHECK_EQ_CODE(httpring_request_set_body(req, body, len), HTTPRING_OK);
    free(body); /* copied at set_body */
    double t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_FAILED);
    CHECK_EQ_CODE(httpring_handle_error(c, h), HTTPRING_ERR_WRITE_TIMEOUT);
    CHECK(check_now_ms() - t0 < check_slack_ms(4000)); /* before the server reads */
    char msg[256];
    httpring_handle_error_message(c, h, msg, sizeof msg, NULL);
    CHECK(strstr(msg, "the server took the request body at") != NULL);
    httpring_handle_free(c, h);
    /* An upload the server takes at once passes. */
    req = httpring_request_new("POST", URL("/upload"));
    CHECK_EQ_CODE(httpring_request_set_body(req, (const uint8_t *)"abc", 3), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    CHECK_EQ_INT(finish(c, h), HTTPRING_STATE_DONE);
    httpring_handle_free(c, h);
    httpring_client_free(c);
}

int main(void) {
    test_max_recv_speed();
    test_max_send_speed();
    test_request_speeds();
    test_low_speed();
    test_per_host_cap();
    test_pool_timeout();
    test_in_flight_cap();
    test_write_timeout();
    test_low_speed_upload();
    return check_summary();
}
