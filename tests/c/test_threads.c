/*
 * Several threads at once: submitting and waiting on one shared client (with one and with
 * two runtime workers), a client per thread, a wait woken by a cancel from another thread,
 * and waiters woken when another thread frees the client.
 */
#include "check.h"

#include <pthread.h>
#include <stdatomic.h>

#define THREADS 8

static const char *base;

/* Per-thread counters, merged into the check totals by the main thread (the check counters
 * are not thread-safe). */
struct worker {
    httpring_client *client; /* shared, or NULL: the worker makes its own */
    int id;
    int requests;
    int ok;
    int failed;
    char first_error[256];
};

static void fail(struct worker *w, const char *what, httpring_code rc) {
    if (w->failed++ == 0)
        snprintf(w->first_error, sizeof w->first_error, "thread %d: %s: %s", w->id, what,
                 httpring_error_name(rc));
}

static int contains(const httpring_response *r, const char *needle) {
    return check_contains(r->body, r->body_len, needle);
}

/* One POST /echo with a body unique to (thread, i), waited for with handle_wait. */
static void one_echo(struct worker *w, httpring_client *c, int i) {
    char url[256], body[64], want[96];
    snprintf(url, sizeof url, "%s/echo?t=%d&i=%d", base, w->id, i);
    snprintf(body, sizeof body, "thread-%d-request-%d", w->id, i);
    snprintf(want, sizeof want, "\"body\": \"%s\"", body);
    httpring_handle h = 0;
    httpring_code rc = httpring_client_post(c, url, "text/plain", (const uint8_t *)body,
                                            strlen(body), (uint64_t)i, &h);
    if (rc != HTTPRING_OK) {
        fail(w, "post", rc);
        return;
    }
    httpring_state st;
    rc = httpring_handle_wait(c, h, check_slack_ms(20000), &st);
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    if (rc != HTTPRING_OK || st != HTTPRING_STATE_DONE)
        fail(w, "wait", rc != HTTPRING_OK ? rc : httpring_handle_error(c, h));
    else if ((rc = httpring_handle_response(c, h, &r)) != HTTPRING_OK)
        fail(w, "response", rc);
    else if (r.status != 200 || !contains(&r, want))
        fail(w, "echo body mismatch", HTTPRING_OK);
    else
        w->ok++;
    uint64_t ud = 99999;
    if (httpring_handle_user_data(c, h, &ud) != HTTPRING_OK || ud != (uint64_t)i)
        fail(w, "user_data mismatch", HTTPRING_OK);
    rc = httpring_handle_free(c, h);
    if (rc != HTTPRING_OK) fail(w, "free", rc);
}

/* A batch of 5 GET /bytes/N, joined with wait_all, lengths checked. */
static void one_batch(struct worker *w, httpring_client *c, int i) {
    httpring_handle hs[5];
    size_t sizes[5];
    int n = 0;
    for (int k = 0; k < 5; k++) {
        char url[256];
        sizes[k] = (size_t)(w->id * 1000 + i * 10 + k);
        snprintf(url, sizeof url, "%s/bytes/%zu", base, sizes[k]);
        httpring_code rc = httpring_client_get(c, url, (uint64_t)k, &hs[n]);
        if (rc != HTTPRING_OK) {
            fail(w, "get", rc);
            continue;
        }
        n++;
    }
    if (n == 0) return;
    httpring_code rc = httpring_handle_wait_all(c, hs, (size_t)n, check_slack_ms(20000));
    if (rc != HTTPRING_OK) fail(w, "wait_all", rc);
    for (int k = 0; k < n; k++) {
        httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
        rc = httpring_handle_response(c, hs[k], &r);
        if (rc != HTTPRING_OK)
            fail(w, "batch response", rc);
        else if (r.status != 200 || r.body_len != sizes[k] ||
                 (r.body_len > 0 && r.body[r.body_len - 1] != 'a' + (r.body_len - 1) % 26))
            fail(w, "batch body mismatch", HTTPRING_OK);
        else
            w->ok++;
    }
    rc = httpring_handles_free(c, hs, (size_t)n);
    if (rc != HTTPRING_OK) fail(w, "handles_free", rc);
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    httpring_client *c = w->client ? w->client : httpring_client_new(NULL);
    if (!c) {
        fail(w, "client_new", HTTPRING_ERR_INTERNAL);
        return NULL;
    }
    for (int i = 0; i < w->requests; i++) {
        if (i % 3 == 2)
            one_batch(w, c, i);
        else
            one_echo(w, c, i);
    }
    if (!w->client) {
        size_t live = 99;
        httpring_client_live_handles(c, &live);
        if (live != 0) fail(w, "live handles left", HTTPRING_OK);
        httpring_code rc = httpring_client_free(c);
        if (rc != HTTPRING_OK) fail(w, "client_free", rc);
    }
    return NULL;
}

/* Runs THREADS workers and checks every request succeeded. */
static void run_workers(httpring_client *shared, int requests) {
    pthread_t tids[THREADS];
    struct worker ws[THREADS];
    memset(ws, 0, sizeof ws);
    int expected = 0;
    for (int i = 0; i < THREADS; i++) {
        ws[i].client = shared;
        ws[i].id = i;
        ws[i].requests = requests;
        for (int k = 0; k < requests; k++) expected += k % 3 == 2 ? 5 : 1;
        CHECK_EQ_INT(pthread_create(&tids[i], NULL, worker_main, &ws[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tids[i], NULL);
        ok += ws[i].ok;
        if (!CHECK_EQ_INT(ws[i].failed, 0)) fprintf(stderr, "  %s\n", ws[i].first_error);
    }
    CHECK_EQ_INT(ok, expected);
    if (shared) {
        size_t live = 99;
        CHECK_EQ_CODE(httpring_client_live_handles(shared, &live), HTTPRING_OK);
        CHECK_EQ_INT(live, 0);
    }
}

static void test_shared_client(uint32_t workers) {
    char name[80];
    snprintf(name, sizeof name, "%d threads on one client with %u runtime worker(s)", THREADS,
             workers);
    CHECK_SECTION(name);
    httpring_config *cfg = httpring_config_new();
    CHECK_EQ_CODE(httpring_config_set_worker_threads(cfg, workers), HTTPRING_OK);
    httpring_client *c = httpring_client_new(cfg);
    httpring_config_free(cfg);
    run_workers(c, check_scaled(60, 6));
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
}

static void test_client_per_thread(void) {
    CHECK_SECTION("a client per thread, created and freed concurrently");
    run_workers(NULL, check_scaled(15, 3));
}

struct waiter {
    httpring_client *client;
    httpring_handle handle;
    atomic_int started;
    httpring_code rc;
    httpring_state state;
    double waited_ms;
};

static void *waiter_main(void *arg) {
    struct waiter *w = arg;
    atomic_store(&w->started, 1);
    double t0 = check_now_ms();
    w->rc = httpring_handle_wait(w->client, w->handle, -1, &w->state);
    w->waited_ms = check_now_ms() - t0;
    return NULL;
}

static void test_cancel_wakes_waiter(void) {
    CHECK_SECTION("a cancel on one thread wakes a wait on another");
    char url[256];
    snprintf(url, sizeof url, "%s/stall", base);
    httpring_client *c = httpring_client_new(NULL);
    struct waiter w;
    memset(&w, 0, sizeof w);
    w.client = c;
    CHECK_EQ_CODE(httpring_client_get(c, url, 0, &w.handle), HTTPRING_OK);
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, waiter_main, &w), 0);
    while (!atomic_load(&w.started)) check_sleep_ms(1);
    check_sleep_ms(100); /* the waiter is blocked by now */
    double t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_handle_cancel(c, w.handle), HTTPRING_OK);
    pthread_join(t, NULL);
    CHECK(check_now_ms() - t0 < check_slack_ms(500));
    CHECK(w.waited_ms >= 95);
    CHECK_EQ_CODE(w.rc, HTTPRING_OK);
    CHECK_EQ_INT(w.state, HTTPRING_STATE_FAILED);
    CHECK_EQ_CODE(httpring_handle_error(c, w.handle), HTTPRING_ERR_CANCELLED);
    CHECK_EQ_CODE(httpring_handle_free(c, w.handle), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
}

static void test_free_wakes_waiters(void) {
    CHECK_SECTION("freeing the client wakes waits on other threads");
    char url[256];
    snprintf(url, sizeof url, "%s/stall", base);
    httpring_client *c = httpring_client_new(NULL);
    enum { N = 4 };
    struct waiter ws[N];
    pthread_t ts[N];
    memset(ws, 0, sizeof ws);
    for (int i = 0; i < N; i++) {
        ws[i].client = c;
        CHECK_EQ_CODE(httpring_client_get(c, url, (uint64_t)i, &ws[i].handle), HTTPRING_OK);
        CHECK_EQ_INT(pthread_create(&ts[i], NULL, waiter_main, &ws[i]), 0);
    }
    for (int i = 0; i < N; i++)
        while (!atomic_load(&ws[i].started)) check_sleep_ms(1);
    check_sleep_ms(100);
    double t0 = check_now_ms();
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
    for (int i = 0; i < N; i++) {
        pthread_join(ts[i], NULL);
        /* The wait saw the request cancelled (or, if it started late, the client closed). */
        CHECK((ws[i].rc == HTTPRING_OK && ws[i].state == HTTPRING_STATE_FAILED) ||
              ws[i].rc == HTTPRING_ERR_CLIENT_CLOSED);
    }
    CHECK(check_now_ms() - t0 < check_slack_ms(1000));
}

/* Threads submit while the main thread drains: every completion is drained exactly once. */
struct submitter {
    httpring_client *client;
    int id, n;
    int failed;
};

static void *submitter_main(void *arg) {
    struct submitter *s = arg;
    char url[256];
    snprintf(url, sizeof url, "%s/hello", base);
    for (int i = 0; i < s->n; i++) {
        httpring_handle h;
        if (httpring_client_get(s->client, url, (uint64_t)(s->id * 100000 + i), &h) != HTTPRING_OK)
            s->failed++;
    }
    return NULL;
}

static void test_submit_while_draining(void) {
    CHECK_SECTION("threads submit while the main thread drains");
    httpring_client *c = httpring_client_new(NULL);
    const int per = check_scaled(100, 5);
    struct submitter ss[4];
    pthread_t ts[4];
    for (int i = 0; i < 4; i++) {
        ss[i] = (struct submitter){c, i, per, 0};
        CHECK_EQ_INT(pthread_create(&ts[i], NULL, submitter_main, &ss[i]), 0);
    }
    int *seen = calloc(4 * (size_t)per, sizeof *seen);
    int total = 0, bad = 0;
    double deadline = check_now_ms() + check_slack_ms(30000);
    while (total < 4 * per && check_now_ms() < deadline) {
        httpring_completion out[32] = { HTTPRING_STRUCT_INIT(httpring_completion) };
        size_t got = 0;
        if (httpring_client_drain(c, out, 32, &got) != HTTPRING_OK) {
            bad++;
            break;
        }
        for (size_t k = 0; k < got; k++) {
            uint64_t t = out[k].user_data / 100000, i = out[k].user_data % 100000;
            if (t >= 4 || i >= (uint64_t)per || out[k].status != 200 || out[k].code != HTTPRING_OK ||
                seen[t * per + i]++) {
                bad++;
                continue;
            }
            total++;
            httpring_handle_free(c, out[k].handle);
        }
        if (got == 0) check_sleep_ms(1);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(ts[i], NULL);
        CHECK_EQ_INT(ss[i].failed, 0);
    }
    CHECK_EQ_INT(total, 4 * per);
    CHECK_EQ_INT(bad, 0);
    free(seen);
    CHECK_EQ_CODE(httpring_client_free(c), HTTPRING_OK);
}

int main(void) {
    base = check_base_url();
    test_shared_client(1);
    test_shared_client(2);
    test_client_per_thread();
    test_cancel_wakes_waiter();
    test_free_wakes_waiters();
    test_submit_while_draining();
    return check_summary();
}
