/*
 * Defect found by the soak (issue 20): a streamed request cancelled after its whole body has
 * arrived, but before the reader has read all of it, then reads as a clean end: the next
 * httpring_handle_read returns HTTPRING_OK with 0 bytes and the unread bytes are gone. The
 * caller takes a truncated body for a complete one. Expected: HTTPRING_ERR_CANCELLED (as when
 * the body is still arriving; test_stream.c's backpressure test), or the rest of the bytes.
 * A body still arriving at the cancel (the 5 MB case) does give CANCELLED.
 *
 * Exits 1 while the defect is there. Run: scripts/with_server.sh -- build/soak/stream_cancel_buffered
 */
#include "../../c/check.h"

/* Streams /stream/N, waits until the engine holds all of it, reads `first` bytes, cancels,
 * reads on. Returns whether the outcome is sound: all N bytes, or CANCELLED. */
static int one(httpring_client *c, size_t n, size_t first) {
    char url[256], path[64];
    snprintf(path, sizeof path, "/stream/%zu", n);
    httpring_request *req = httpring_request_new("GET", check_url(url, sizeof url, path));
    httpring_request_set_stream(req, true);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    httpring_state st;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, 10000, &st), HTTPRING_OK);
    httpring_info info = {.struct_size = sizeof info};
    for (int i = 0; i < 300; i++) {
        httpring_handle_info(c, h, &info);
        if (info.bytes_received == n) break;
        check_sleep_ms(10);
    }
    static uint8_t buf[1 << 20];
    size_t got = 0, len = 0;
    httpring_code code = HTTPRING_OK;
    if (first) {
        CHECK_EQ_CODE(httpring_handle_wait_body(c, h, 10000), HTTPRING_OK);
        CHECK_EQ_CODE(httpring_handle_read(c, h, buf, first, &len), HTTPRING_OK);
        got += len;
    }
    unsigned long long received = (unsigned long long)info.bytes_received;
    CHECK_EQ_CODE(httpring_handle_cancel(c, h), HTTPRING_OK);
    for (;;) {
        code = httpring_handle_read(c, h, buf, sizeof buf, &len);
        if (code == HTTPRING_PENDING) {
            if (httpring_handle_wait_body(c, h, 10000) != HTTPRING_OK) break;
            continue;
        }
        if (code != HTTPRING_OK || len == 0) break;
        got += len;
    }
    int sound = got == n || code == HTTPRING_ERR_CANCELLED;
    printf("/stream/%zu, %llu bytes received before the cancel, %zu read before it: after the cancel "
           "the reads end with %s, %zu of %zu bytes read in all: %s\n",
           n, received, first, httpring_error_name(code), got, n, sound ? "sound" : "TRUNCATED BODY REPORTED AS COMPLETE");
    httpring_handle_free(c, h);
    return sound;
}

int main(void) {
    httpring_client *c = httpring_client_new(NULL);
    CHECK(one(c, 100000, 1000));   /* all arrived, 1000 bytes read, cancel */
    CHECK(one(c, 100000, 0));      /* all arrived, nothing read, cancel */
    CHECK(one(c, 5000000, 1000));  /* still arriving: CANCELLED, as documented */
    httpring_client_free(c);
    return check_summary();
}
