/*
 * Defect found by the soak (issue 20): httpring_handle_cancel on a streamed request after its
 * HEAD, while the reader's last httpring_handle_read returned HTTPRING_PENDING, is never
 * announced: no HTTPRING_EVENT_BODY completion comes (through wait_drain or fd + drain),
 * although a read now returns HTTPRING_ERR_CANCELLED. docs/API.md: "after each
 * HTTPRING_EVENT_BODY completion, read until HTTPRING_PENDING; the next data, the end or an
 * error is then announced by one HTTPRING_EVENT_BODY completion". An event loop therefore
 * never learns of the cancel and keeps the handle (and its state) forever. A read timeout in
 * the same position is announced (a BODY event, then READ_TIMEOUT).
 *
 * Exits 1 while the defect is there. Run: scripts/with_server.sh -- build/soak/stream_cancel_no_event
 */
#include <poll.h>
#include <pthread.h>

#include "../../c/check.h"

static httpring_client *client;
static httpring_handle target;

static void *canceller(void *arg) {
    (void)arg;
    check_sleep_ms(1);
    httpring_handle_cancel(client, target);
    return NULL;
}

/* Returns whether a BODY event came within 2 s of the cancel. */
static int one(const char *path, int use_fd, int other_thread) {
    char url[256];
    httpring_request *req = httpring_request_new("GET", check_url(url, sizeof url, path));
    httpring_request_set_stream(req, true);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(client, req, &h), HTTPRING_OK);
    httpring_completion done[8] = {HTTPRING_STRUCT_INIT(httpring_completion)};
    size_t n = 0;
    int head = 0;
    double until = check_now_ms() + 10000;
    while (!head && check_now_ms() < until) {
        httpring_client_wait_drain(client, done, 8, 1, 1000, &n);
        for (size_t i = 0; i < n; i++) head |= done[i].handle == h && done[i].event == HTTPRING_EVENT_HEAD;
    }
    CHECK(head);
    uint8_t buf[4096];
    size_t got = 0;
    httpring_code rc;
    while ((rc = httpring_handle_read(client, h, buf, sizeof buf, &got)) == HTTPRING_OK && got > 0) {
    }
    CHECK_EQ_CODE(rc, HTTPRING_PENDING);
    pthread_t t;
    target = h;
    if (other_thread) pthread_create(&t, NULL, canceller, NULL);
    else CHECK_EQ_CODE(httpring_handle_cancel(client, h), HTTPRING_OK);
    int body = 0;
    int fd = httpring_client_fd(client);
    until = check_now_ms() + 2000;
    while (!body && check_now_ms() < until) {
        n = 0;
        if (use_fd) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, 100) > 0) httpring_client_drain(client, done, 8, &n);
        } else {
            httpring_client_wait_drain(client, done, 8, 1, 100, &n);
        }
        for (size_t i = 0; i < n; i++) body |= done[i].handle == h && done[i].event == HTTPRING_EVENT_BODY;
    }
    if (other_thread) pthread_join(t, NULL);
    rc = httpring_handle_read(client, h, buf, sizeof buf, &got);
    printf("%s, cancel from %s, collected with %s: %s; a read now returns %s\n", path,
           other_thread ? "another thread" : "the reader's thread", use_fd ? "fd + drain" : "wait_drain",
           body ? "BODY event" : "NO BODY EVENT within 2 s", httpring_error_name(rc));
    httpring_handle_free(client, h);
    return body;
}

int main(void) {
    client = httpring_client_new(NULL);
    for (int use_fd = 0; use_fd < 2; use_fd++)
        for (int other = 0; other < 2; other++) CHECK(one("/events/3/300", use_fd, other));
    CHECK(one("/stall-body", 1, 0));
    httpring_client_free(client);
    return check_summary();
}
