/*
 * crawler: a breadth-first crawl of one site, with many requests in flight, then the same
 * crawl one request at a time, and the speedup.
 *
 *   crawler [-c CONCURRENCY] [-n MAX_PAGES] [-v] START_URL
 *
 * Follows href="..." links (simple parsing, no HTML parser) that stay on the start URL's
 * host and port, resolving relative and absolute paths and dropping fragments; each URL is
 * fetched once, up to MAX_PAGES (default 200) URLs.
 *
 * The concurrent crawl keeps up to CONCURRENCY (default 16) requests in flight and learns
 * about completions by watching httpring_client_fd with poll(2) and calling
 * httpring_client_drain. The sequential crawl uses httpring_handle_wait on one request at a
 * time. Exits 1 if a crawl finds no pages or the two crawls disagree on the page count.
 *
 * Try it: scripts/with_server.sh --delay-ms 50 --pages 60 -- \
 *           sh -c 'build/c/crawler "$HTTPRING_TEST_URL/site/0"'      (or: make demo)
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "httpring.h"

#define MAX_URL 2048

static int verbose;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- URLs --------------------------------------------------------------------------- */

/* An http URL split into its origin ("http://host[:port]", host lower-cased, port 80
 * omitted) and its path with query ("/..."). */
struct url {
    char origin[512];
    char path[MAX_URL];
};

/* Removes "." and ".." segments from an absolute path (RFC 3986, 5.2.4); keeps the query.
 * `path` has room for MAX_URL bytes. */
static void remove_dot_segments(char *path) {
    char *query = strchr(path, '?');
    char saved_query[MAX_URL] = "";
    if (query) {
        snprintf(saved_query, sizeof saved_query, "%s", query);
        *query = '\0';
    }
    char out[MAX_URL];
    size_t olen = 0;
    const char *p = path;
    while (*p) {
        /* p points at a '/' (the path is absolute); take the segment after it. */
        const char *seg = p + 1;
        const char *end = strchr(seg, '/');
        size_t slen = end ? (size_t)(end - seg) : strlen(seg);
        int last = end == NULL;
        if (slen == 1 && seg[0] == '.') {
            if (last) out[olen++] = '/';
        } else if (slen == 2 && seg[0] == '.' && seg[1] == '.') {
            while (olen > 0 && out[--olen] != '/') {
            }
            if (last) out[olen++] = '/';
        } else {
            if (olen + 1 + slen >= sizeof out) break;
            out[olen++] = '/';
            memcpy(out + olen, seg, slen);
            olen += slen;
        }
        p = last ? seg + slen : end;
    }
    if (olen == 0) out[olen++] = '/';
    out[olen] = '\0';
    size_t qlen = strlen(saved_query);
    if (olen + qlen >= MAX_URL) qlen = 0; /* too long: drop the query */
    memcpy(path, out, olen);
    memcpy(path + olen, saved_query, qlen);
    path[olen + qlen] = '\0';
}

/* Parses an absolute http URL. Returns 0 on success. */
static int parse_http_url(const char *s, struct url *u) {
    if (strncasecmp(s, "http://", 7) != 0) return -1;
    const char *host = s + 7;
    size_t hlen = strcspn(host, "/?#");
    if (hlen == 0 || hlen >= sizeof u->origin - 8) return -1;
    char hostport[512];
    memcpy(hostport, host, hlen);
    hostport[hlen] = '\0';
    if (strchr(hostport, '@')) return -1; /* no credentials in this example */
    for (size_t i = 0; i < hlen; i++) hostport[i] = (char)tolower((unsigned char)hostport[i]);
    /* Drop an explicit default port. */
    size_t n = strlen(hostport);
    if (n > 3 && strcmp(hostport + n - 3, ":80") == 0 && hostport[0] != '[') hostport[n - 3] = '\0';
    if (snprintf(u->origin, sizeof u->origin, "http://%s", hostport) >= (int)sizeof u->origin)
        return -1;
    const char *rest = host + hlen;
    if (*rest == '/' ) {
        snprintf(u->path, sizeof u->path, "%s", rest);
    } else if (*rest == '?') {
        snprintf(u->path, sizeof u->path, "/%s", rest);
    } else {
        snprintf(u->path, sizeof u->path, "/");
    }
    char *frag = strchr(u->path, '#');
    if (frag) *frag = '\0';
    remove_dot_segments(u->path);
    return 0;
}

/* Resolves link `href` (len bytes) found on page `base`. Returns 0 and fills `out` if the
 * link is an http URL on the same origin. */
static int resolve_link(const struct url *base, const char *href, size_t len, struct url *out) {
    while (len > 0 && isspace((unsigned char)*href)) href++, len--;
    while (len > 0 && isspace((unsigned char)href[len - 1])) len--;
    char link[MAX_URL];
    if (len == 0 || len >= sizeof link - 8) return -1;
    memcpy(link, href, len);
    link[len] = '\0';
    char *frag = strchr(link, '#');
    if (frag) *frag = '\0';
    if (link[0] == '\0') return -1; /* a fragment of this page */

    /* A scheme: letters, digits, + - . before the first ':' that comes before / ? #. */
    size_t i = 0;
    if (isalpha((unsigned char)link[0])) {
        while (isalnum((unsigned char)link[i]) || link[i] == '+' || link[i] == '-' || link[i] == '.')
            i++;
    }
    char abs[MAX_URL + 600];
    if (i > 0 && link[i] == ':') {
        if (strncasecmp(link, "http:", 5) != 0) return -1; /* mailto:, https:, ... */
        snprintf(abs, sizeof abs, "%s", link);
    } else if (link[0] == '/' && link[1] == '/') {
        snprintf(abs, sizeof abs, "http:%s", link);
    } else if (link[0] == '/') {
        snprintf(abs, sizeof abs, "%s%s", base->origin, link);
    } else if (link[0] == '?') {
        size_t plen = strcspn(base->path, "?");
        snprintf(abs, sizeof abs, "%s%.*s%s", base->origin, (int)plen, base->path, link);
    } else {
        /* Relative to the base's directory. */
        size_t plen = strcspn(base->path, "?");
        while (plen > 0 && base->path[plen - 1] != '/') plen--;
        snprintf(abs, sizeof abs, "%s%.*s%s", base->origin, (int)plen, base->path, link);
    }
    if (parse_http_url(abs, out) != 0) return -1;
    return strcmp(out->origin, base->origin) == 0 ? 0 : -1;
}

/* ---- The crawl's bookkeeping: every admitted URL in order, and a set to dedup them ---- */

struct crawl {
    struct url start;
    int max_pages;
    char **urls; /* admitted URLs, in BFS order; urls[i] is fetched once */
    int count;
    char **set; /* open addressing, capacity a power of two */
    size_t set_cap;
    /* results */
    int pages_ok, pages_failed;
    size_t bytes;
    int wakeups;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void crawl_init(struct crawl *cr, const struct url *start, int max_pages) {
    memset(cr, 0, sizeof *cr);
    cr->start = *start;
    cr->max_pages = max_pages;
    cr->urls = calloc((size_t)max_pages, sizeof *cr->urls);
    cr->set_cap = 16;
    while (cr->set_cap < (size_t)max_pages * 2) cr->set_cap *= 2;
    cr->set = calloc(cr->set_cap, sizeof *cr->set);
}

static void crawl_free(struct crawl *cr) {
    for (int i = 0; i < cr->count; i++) free(cr->urls[i]);
    free(cr->urls);
    free(cr->set);
}

/* Adds a URL unless it was seen before or the page cap is reached. */
static void admit(struct crawl *cr, const struct url *u) {
    char full[MAX_URL + 600];
    snprintf(full, sizeof full, "%s%s", u->origin, u->path);
    if (cr->count >= cr->max_pages) return;
    size_t mask = cr->set_cap - 1, i = hash_str(full) & mask;
    for (; cr->set[i]; i = (i + 1) & mask)
        if (strcmp(cr->set[i], full) == 0) return;
    char *copy = strdup(full);
    cr->set[i] = copy;
    cr->urls[cr->count++] = copy;
}

/* Finds href="..." (or '...') in a page and admits the same-site links. */
static void extract_links(struct crawl *cr, const char *page_url, const uint8_t *body, size_t len) {
    struct url base;
    if (parse_http_url(page_url, &base) != 0) return;
    const char *b = (const char *)body;
    for (size_t i = 0; i + 5 < len; i++) {
        if (tolower((unsigned char)b[i]) != 'h' || strncasecmp(b + i, "href", 4) != 0)
            continue;
        size_t j = i + 4;
        while (j < len && isspace((unsigned char)b[j])) j++;
        if (j >= len || b[j] != '=') continue;
        j++;
        while (j < len && isspace((unsigned char)b[j])) j++;
        if (j >= len || (b[j] != '"' && b[j] != '\'')) continue;
        char quote = b[j++];
        size_t start = j;
        while (j < len && b[j] != quote) j++;
        if (j >= len) break;
        struct url link;
        if (resolve_link(&base, b + start, j - start, &link) == 0) admit(cr, &link);
        i = j;
    }
}

/* Records the outcome of the request for urls[index] and follows its links. */
static void handle_page(struct crawl *cr, httpring_client *client, httpring_handle h, int index) {
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    httpring_code rc = httpring_handle_response(client, h, &r);
    if (rc != HTTPRING_OK) {
        char msg[256];
        httpring_handle_error_message(client, h, msg, sizeof msg, NULL);
        fprintf(stderr, "  %s: %s: %s\n", cr->urls[index], httpring_error_name(rc), msg);
        cr->pages_failed++;
    } else if (r.status < 200 || r.status > 299) {
        fprintf(stderr, "  %s: HTTP %u\n", cr->urls[index], (unsigned)r.status);
        cr->pages_failed++;
    } else {
        cr->pages_ok++;
        cr->bytes += r.body_len;
        if (verbose) printf("  %u %7zu bytes  %s\n", (unsigned)r.status, r.body_len, cr->urls[index]);
        extract_links(cr, cr->urls[index], r.body, r.body_len);
    }
    httpring_handle_free(client, h);
}

/* ---- The two crawls ------------------------------------------------------------------ */

/* Up to `concurrency` requests in flight; completions come from drain when the fd is
 * readable. Returns 0, or -1 if the crawl could not go on. */
static int crawl_concurrent(struct crawl *cr, int concurrency) {
    httpring_client *client = httpring_client_new(NULL);
    if (!client) return -1;
    int fd = httpring_client_fd(client);
    int next = 0, inflight = 0, status = 0;
    httpring_completion done[64] = { HTTPRING_STRUCT_INIT(httpring_completion) };
    while (next < cr->count || inflight > 0) {
        while (inflight < concurrency && next < cr->count) {
            httpring_handle h;
            httpring_code rc = httpring_client_get(client, cr->urls[next], (uint64_t)next, &h);
            if (rc != HTTPRING_OK) {
                fprintf(stderr, "  %s: not submitted: %s\n", cr->urls[next], httpring_error_name(rc));
                cr->pages_failed++;
            } else {
                inflight++;
            }
            next++;
        }
        if (inflight == 0) continue;
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, 60000);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fprintf(stderr, "no completion within 60 s (%d in flight)\n", inflight);
            status = -1;
            break;
        }
        cr->wakeups++;
        size_t got;
        do {
            got = 0;
            if (httpring_client_drain(client, done, 64, &got) != HTTPRING_OK) {
                status = -1;
                break;
            }
            for (size_t k = 0; k < got; k++) {
                inflight--;
                handle_page(cr, client, done[k].handle, (int)done[k].user_data);
            }
        } while (got == 64);
        if (status) break;
    }
    httpring_client_free(client);
    return status;
}

/* One request at a time, each waited for with httpring_handle_wait. */
static int crawl_sequential(struct crawl *cr) {
    httpring_client *client = httpring_client_new(NULL);
    if (!client) return -1;
    for (int i = 0; i < cr->count; i++) {
        httpring_handle h;
        httpring_code rc = httpring_client_get(client, cr->urls[i], (uint64_t)i, &h);
        if (rc != HTTPRING_OK) {
            fprintf(stderr, "  %s: not submitted: %s\n", cr->urls[i], httpring_error_name(rc));
            cr->pages_failed++;
            continue;
        }
        httpring_state st;
        rc = httpring_handle_wait(client, h, -1, &st);
        if (rc != HTTPRING_OK) {
            fprintf(stderr, "  wait: %s\n", httpring_error_name(rc));
            httpring_handle_free(client, h);
            httpring_client_free(client);
            return -1;
        }
        handle_page(cr, client, h, i);
    }
    httpring_client_free(client);
    return 0;
}

static void usage(const char *argv0) {
    fprintf(stderr, "usage: %s [-c CONCURRENCY] [-n MAX_PAGES] [-v] START_URL\n", argv0);
}

int main(int argc, char **argv) {
    int concurrency = 16, max_pages = 200, opt;
    while ((opt = getopt(argc, argv, "c:n:vh")) != -1) {
        switch (opt) {
        case 'c': concurrency = atoi(optarg); break;
        case 'n': max_pages = atoi(optarg); break;
        case 'v': verbose = 1; break;
        default: usage(argv[0]); return 2;
        }
    }
    if (optind != argc - 1 || concurrency < 1 || max_pages < 1) {
        usage(argv[0]);
        return 2;
    }
    struct url start;
    if (parse_http_url(argv[optind], &start) != 0) {
        fprintf(stderr, "%s: not an http:// URL: %s\n", argv[0], argv[optind]);
        return 2;
    }
    printf("crawling %s%s (same host, up to %d pages)\n", start.origin, start.path, max_pages);

    struct crawl conc, seq;
    crawl_init(&conc, &start, max_pages);
    admit(&conc, &start);
    double t0 = now_ms();
    int rc1 = crawl_concurrent(&conc, concurrency);
    double conc_ms = now_ms() - t0;
    printf("concurrent (%d in flight): %d pages, %d failed, %zu bytes in %.1f ms (%d wake-ups)\n",
           concurrency, conc.pages_ok, conc.pages_failed, conc.bytes, conc_ms, conc.wakeups);

    crawl_init(&seq, &start, max_pages);
    admit(&seq, &start);
    t0 = now_ms();
    int rc2 = crawl_sequential(&seq);
    double seq_ms = now_ms() - t0;
    printf("sequential (1 at a time): %d pages, %d failed, %zu bytes in %.1f ms\n", seq.pages_ok,
           seq.pages_failed, seq.bytes, seq_ms);

    int status = 0;
    if (rc1 != 0 || rc2 != 0) {
        fprintf(stderr, "a crawl stopped early\n");
        status = 1;
    }
    if (conc.pages_ok == 0 || seq.pages_ok == 0) {
        fprintf(stderr, "no pages found\n");
        status = 1;
    } else if (conc.pages_ok != seq.pages_ok) {
        fprintf(stderr, "the crawls disagree: %d pages concurrently, %d sequentially\n",
                conc.pages_ok, seq.pages_ok);
        status = 1;
    } else {
        printf("pages found: %d; concurrent %.1f ms vs sequential %.1f ms: speedup %.1fx\n",
               conc.pages_ok, conc_ms, seq_ms, conc_ms > 0 ? seq_ms / conc_ms : 0.0);
    }
    crawl_free(&conc);
    crawl_free(&seq);
    return status;
}
