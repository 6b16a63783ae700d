/*
 * Retries and httpring_info from C: a flaky service (503 + Retry-After: 0 twice) retried to
 * success with the attempts counted, a POST not retried, a request's own count, the policy
 * setters' argument checks, and progress read while a large body arrives.
 */
#include "check.h"

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

static httpring_client *retrying_client(uint32_t n) {
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_retries(cfg, n), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_retry_backoff_ms(cfg, 10, 100), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    CHECK(c != NULL);
    return c;
}

/* Submits req, waits, returns the status (-1 if it failed) and the attempts. */
static int run(httpring_client *c, httpring_request *req, uint32_t *attempts) {
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), &st), HTTPRING_OK);
    int status = -1;
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    if (httpring_handle_response(c, h, &r) == HTTPRING_OK) status = r.status;
    httpring_info info = HTTPRING_STRUCT_INIT(httpring_info);
    CHECK_EQ_CODE(httpring_handle_info(c, h, &info), HTTPRING_OK);
    *attempts = info.attempts;
    httpring_handle_free(c, h);
    return status;
}

static void test_flaky_service(void) {
    CHECK_SECTION("a flaky service, retried");
    httpring_client *c = retrying_client(3);
    uint32_t attempts = 0;
    CHECK_EQ_INT(run(c, httpring_request_new("GET", URL("/flaky/c-get/2")), &attempts), 200);
    CHECK_EQ_INT(attempts, 3);
    /* Not idempotent: the 503 is the answer. */
    httpring_request *post = httpring_request_new("POST", URL("/flaky/c-post/1"));
    CHECK_EQ_CODE(httpring_request_set_body(post, (const uint8_t *)"x", 1), HTTPRING_OK);
    CHECK_EQ_INT(run(c, post, &attempts), 503);
    CHECK_EQ_INT(attempts, 1);
    /* Fewer retries than failures: the last 503. */
    httpring_request *one = httpring_request_new("GET", URL("/flaky/c-one/5"));
    CHECK_EQ_CODE(httpring_request_set_retries(one, 1), HTTPRING_OK);
    CHECK_EQ_INT(run(c, one, &attempts), 503);
    CHECK_EQ_INT(attempts, 2);
    httpring_client_free(c);

    c = retrying_client(0);
    CHECK_EQ_INT(run(c, httpring_request_new("GET", URL("/flaky/c-off/1")), &attempts), 503);
    CHECK_EQ_INT(attempts, 1);
    httpring_client_free(c);
}

static void test_setters(void) {
    CHECK_SECTION("policy setters check their arguments");
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_retry_backoff_ms(cfg, 0, 10), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_retry_backoff_ms(cfg, 100, 10), HTTPRING_ERR_INVALID_ARGUMENT);
    uint16_t bad[] = {503, 700};
    CHECK_EQ_CODE(httpring_config_set_retry_statuses(cfg, bad, 2), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_retry_statuses(cfg, NULL, 0), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_config_set_retry_statuses(cfg, NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_config_set_retries(NULL, 1), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_config_free(cfg);
    httpring_info info = HTTPRING_STRUCT_INIT(httpring_info);
    httpring_client *c = httpring_client_new(NULL);
    CHECK_EQ_CODE(httpring_handle_info(c, 12345, &info), HTTPRING_ERR_INVALID_HANDLE);
    CHECK_EQ_CODE(httpring_handle_info(c, 12345, NULL), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_client_free(c);
}

static void test_progress(void) {
    CHECK_SECTION("progress while a body arrives");
    httpring_client *c = httpring_client_new(NULL);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_get(c, URL("/bytes/8000000"), 0, &h), HTTPRING_OK);
    uint64_t last = 0;
    int grew = 1, polls = 0, calls_ok = 1;
    httpring_state st = HTTPRING_STATE_PENDING;
    while (st == HTTPRING_STATE_PENDING) {
        httpring_info info = HTTPRING_STRUCT_INIT(httpring_info);
        calls_ok &= httpring_handle_info(c, h, &info) == HTTPRING_OK;
        if (info.bytes_received < last) grew = 0;
        last = info.bytes_received;
        polls++;
        calls_ok &= httpring_handle_poll(c, h, &st) == HTTPRING_OK;
        if (st == HTTPRING_STATE_PENDING) check_sleep_ms(1);
    }
    CHECK(calls_ok);
    httpring_info info = HTTPRING_STRUCT_INIT(httpring_info);
    CHECK_EQ_CODE(httpring_handle_info(c, h, &info), HTTPRING_OK);
    CHECK(grew);
    CHECK(polls > 0);
    CHECK_EQ_INT((long long)info.bytes_received, 8000000);
    CHECK_EQ_INT((long long)info.content_length, 8000000);
    CHECK_EQ_INT(info.attempts, 1);
    /* The timing record: phases add up to the total (each rounded down to a microsecond). */
    uint64_t sum = info.queued_us + info.pool_us + info.dns_us + info.connect_us + info.tls_us +
                   info.send_us + info.wait_us + info.receive_us;
    CHECK(info.total_us > 0 && sum <= info.total_us && info.total_us - sum <= 8);
    CHECK(!info.reused);
    CHECK(strncmp(info.remote_addr, "127.0.0.1:", 10) == 0);
    CHECK_EQ_INT(info.tls_version, 0);
    httpring_handle_free(c, h);
    httpring_client_free(c);
}

int main(void) {
    test_flaky_service();
    test_setters();
    test_progress();
    return check_summary();
}
