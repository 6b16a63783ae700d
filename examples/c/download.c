/*
 * download: saves a URL to a file as it arrives, with a live progress bar (bytes, rate,
 * ETA) on a terminal. The body is streamed: memory stays flat whatever the size.
 *
 *   download [--limit-rate BYTES_PER_SEC] URL FILE
 *
 * --limit-rate reads the body no faster than that (as curl's): the engine pauses reading,
 * so the server is held back by TCP, not buffered here.
 *
 * Exit status: 0 when the whole body was saved with a 2xx status, 1 otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "httpring.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void human(double bytes, char *out, size_t cap) {
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", bytes, unit[u]);
}

/* One line, redrawn in place: [#####.....] 42%  1.2 GiB / 2.0 GiB  310.5 MiB/s  ETA 3s */
static void progress(uint64_t got, int64_t total, double started, int done) {
    double secs = now_s() - started;
    double rate = secs > 0 ? got / secs : 0;
    char g[32], t[32], r[32];
    human((double)got, g, sizeof g);
    human(rate, r, sizeof r);
    if (total > 0) {
        int width = 30, fill = (int)((double)got / total * width);
        char bar[31];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        human((double)total, t, sizeof t);
        double eta = rate > 0 ? (total - (double)got) / rate : 0;
        fprintf(stderr, "\r[%s] %3d%%  %s / %s  %s/s  ETA %.0fs ", bar,
                (int)(100.0 * got / total), g, t, r, done ? 0.0 : eta);
    } else {
        fprintf(stderr, "\r%s  %s/s ", g, r);
    }
    if (done) fputc('\n', stderr);
    fflush(stderr);
}

int main(int argc, char **argv) {
    unsigned long long limit_rate = 0;
    if (argc == 5 && strcmp(argv[1], "--limit-rate") == 0) {
        char *end = NULL;
        limit_rate = strtoull(argv[2], &end, 10);
        if (!end || *end || limit_rate == 0) {
            fprintf(stderr, "--limit-rate takes bytes per second, above 0\n");
            return 2;
        }
        argv += 2;
        argc -= 2;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s [--limit-rate BYTES_PER_SEC] URL FILE\n", argv[0]);
        return 2;
    }
    FILE *out = fopen(argv[2], "wb");
    if (!out) {
        fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
        return 1;
    }
    httpring_config *cfg = httpring_config_new();
    httpring_config_set_follow_redirects(cfg, true);
    httpring_config_set_read_timeout_ms(cfg, 30000);
    if (limit_rate) httpring_config_set_max_recv_speed(cfg, limit_rate);
    httpring_client *client = httpring_client_new(cfg);
    httpring_config_free(cfg);

    httpring_request *req = httpring_request_new("GET", argv[1]);
    httpring_request_set_stream(req, true);
    httpring_handle h = 0;
    char msg[256] = "";
    int ok = 0;
    httpring_code code = httpring_client_submit(client, req, &h);
    if (code != HTTPRING_OK) {
        fprintf(stderr, "submit: %s\n", httpring_error_name(code));
        goto out;
    }
    httpring_state state = HTTPRING_STATE_PENDING;
    httpring_handle_wait(client, h, -1, &state);
    if (state != HTTPRING_STATE_DONE) {
        httpring_handle_error_message(client, h, msg, sizeof msg, NULL);
        fprintf(stderr, "%s: %s\n", httpring_error_name(httpring_handle_error(client, h)), msg);
        goto out;
    }
    httpring_response resp = HTTPRING_STRUCT_INIT(httpring_response);
    httpring_handle_response(client, h, &resp);
    httpring_info info = HTTPRING_STRUCT_INIT(httpring_info);
    httpring_handle_info(client, h, &info);
    int tty = isatty(STDERR_FILENO);
    double started = now_s(), drawn = 0;
    uint64_t got = 0;
    /* Each read lends what arrived (no copy): valid until the next read or the free. */
    httpring_chunk chunk = HTTPRING_STRUCT_INIT(httpring_chunk);
    for (;;) {
        code = httpring_handle_read_chunk(client, h, &chunk);
        size_t n = chunk.len;
        if (code == HTTPRING_PENDING) {
            /* Wake at least 10 times a second to keep the bar moving. */
            httpring_handle_wait_body(client, h, 100);
        } else if (code != HTTPRING_OK) {
            httpring_handle_error_message(client, h, msg, sizeof msg, NULL);
            fprintf(stderr, "\n%s: %s\n", httpring_error_name(code), msg);
            break;
        } else if (n == 0) {
            ok = resp.status >= 200 && resp.status < 300;
            break;
        } else if (fwrite(chunk.data, 1, n, out) != n) {
            fprintf(stderr, "\n%s: %s\n", argv[2], strerror(errno));
            break;
        } else {
            got += n;
            if (chunk.flags & HTTPRING_CHUNK_LAST) { /* the body ended with these bytes */
                ok = resp.status >= 200 && resp.status < 300;
                break;
            }
        }
        if (tty && now_s() - drawn >= 0.1) {
            progress(got, info.content_length, started, 0);
            drawn = now_s();
        }
    }
    if (tty) progress(got, info.content_length, started, 1);
    fprintf(stderr, "HTTP %u, %llu bytes to %s in %.2fs\n", resp.status,
            (unsigned long long)got, argv[2], now_s() - started);
out:
    if (h) httpring_handle_free(client, h);
    httpring_client_free(client);
    if (fclose(out) != 0) ok = 0;
    return ok ? 0 : 1;
}
