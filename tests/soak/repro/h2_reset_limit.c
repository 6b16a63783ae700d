/*
 * Defect found by the soak (issue 20), HTTP/2: a long-lived connection fails every request in
 * flight on it once the client has reset about 1024 streams "locally" over the connection's
 * life. Streams the caller frees or cancels mid-body (and timeouts) make hyper/h2 reset them;
 * the server's DATA frames still on the way for those streams later count as
 * library-initiated resets in h2 (>= 0.4.11; max_local_error_reset_streams, default 1024,
 * never decremented). At the limit h2 sends GOAWAY ENHANCE_YOUR_CALM on its own connection and
 * every request on it fails with HTTPRING_ERR_PROTOCOL "connection error detected: detected
 * excessive load generating behavior (too_many_internal_resets)" — here plain /delay/20
 * requests that did nothing wrong. Upstream: hyperium/h2#856; hyper >= 1.9 exposes
 * http2::Builder::max_local_error_reset_streams (hyperium/hyper#4021). In the soak (h2c, 60 s)
 * the connection died 5 times, each taking ~240 requests; each time one request also failed
 * with HTTPRING_ERR_INTERNAL ("dispatch task is gone: runtime dropped the dispatch task":
 * hyper's User::DispatchGone, mapped to Internal by src/transport/mod.rs), which should be a
 * retryable connection failure, not "a bug in httpring".
 *
 * Exits 1 while the defect is there. Run: scripts/with_server.sh -- build/soak/h2_reset_limit
 */
#include "../../c/check.h"

int main(void) {
    int total = 6000;
    httpring_config *cfg = httpring_config_new();
    httpring_config_set_h2c_prior_knowledge(cfg, true);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    char surl[256], durl[256];
    check_url(surl, sizeof surl, "/stream/10000000");
    check_url(durl, sizeof durl, "/delay/20");
    int submitted = 0, inflight = 0, finished = 0, failed = 0, internal = 0;
    httpring_completion done[64] = {HTTPRING_STRUCT_INIT(httpring_completion)};
    while (finished < total) {
        while (inflight < 32 && submitted < total) {
            int stream = submitted % 2;
            httpring_request *req = httpring_request_new("GET", stream ? surl : durl);
            httpring_request_set_stream(req, stream);
            httpring_handle h;
            if (httpring_client_submit(c, req, &h) == HTTPRING_OK) inflight++;
            submitted++;
        }
        size_t n = 0;
        if (httpring_client_wait_drain(c, done, 64, 1, 10000, &n) != HTTPRING_OK && n == 0) break;
        for (size_t i = 0; i < n; i++) {
            if (done[i].event == HTTPRING_EVENT_BODY) continue;
            if (done[i].code != HTTPRING_OK) {
                if (failed++ == 0) {
                    char msg[300];
                    size_t len;
                    httpring_handle_error_message(c, done[i].handle, msg, sizeof msg, &len);
                    printf("first failure after %d requests: %s: %s\n", finished,
                           httpring_error_name(done[i].code), msg);
                }
                internal += done[i].code == HTTPRING_ERR_INTERNAL;
            }
            httpring_handle_free(c, done[i].handle); /* a stream: freed at its HEAD, mid-body */
            inflight--;
            finished++;
        }
    }
    httpring_stats st = {.struct_size = sizeof st};
    httpring_client_stats(c, &st);
    printf("%d requests over h2c (half of them streams freed at their HEAD): %d failed (%d INTERNAL), "
           "%zu connections opened\n", finished, failed, internal, st.connections_opened);
    CHECK_EQ_INT(failed, 0);
    CHECK_EQ_INT(st.connections_opened, 1);
    httpring_client_free(c);
    return check_summary();
}
