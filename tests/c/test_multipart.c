/*
 * multipart/form-data from C: fields, bytes and a file on disk, parsed on the test server by
 * multer, which answers name|filename|type|length|crc32 per part; checked byte for byte.
 */
#include <unistd.h>

#include "check.h"

static char url_buf[512];
#define URL(path) check_url(url_buf, sizeof url_buf, (path))

static uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void test_form(void) {
    enum { N = 200000 };
    uint8_t *blob = malloc(N);
    for (size_t i = 0; i < N; i++) blob[i] = (uint8_t)((i * 2654435761u) >> 13);
    memcpy(blob + N / 2, "\r\n--httpring-", 13);

    char path[] = "/tmp/httpring-mp-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "x,y\n", 4) == 4);
    close(fd);

    httpring_multipart *form = httpring_multipart_new();
    CHECK(form != NULL);
    CHECK_EQ_CODE(httpring_multipart_add_field(form, "q", (const uint8_t *)"hello", 5), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_multipart_add_bytes(form, "blob", blob, N, "b.bin", NULL), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_multipart_add_file(form, "csv", path, "data.csv", "text/csv"), HTTPRING_OK);
    CHECK_EQ_CODE(httpring_multipart_add_file(form, "gone", "/no/such/file", NULL, NULL),
                  HTTPRING_ERR_NOT_FOUND);
    CHECK_EQ_CODE(httpring_multipart_add_bytes(form, "x", NULL, 0, NULL, "a\r\nb"),
                  HTTPRING_ERR_INVALID_HEADER);
    CHECK_EQ_CODE(httpring_multipart_add_field(NULL, "q", NULL, 0), HTTPRING_ERR_INVALID_ARGUMENT);
    CHECK_EQ_CODE(httpring_multipart_add_field(form, NULL, NULL, 0), HTTPRING_ERR_INVALID_ARGUMENT);

    httpring_client *c = httpring_client_new(NULL);

    /* The encoding a caller can show is the one sent: same boundary, same length. */
    const uint8_t *enc = NULL, *ctype = NULL;
    size_t enc_len = 0, ctype_len = 0;
    CHECK_EQ_CODE(httpring_multipart_encoded(form, &enc, &enc_len, &ctype, &ctype_len), HTTPRING_OK);
    CHECK(ctype_len > 30 && memcmp(ctype, "multipart/form-data; boundary=", 30) == 0);
    CHECK(enc_len > N && check_contains(enc, enc_len, "name=\"blob\"; filename=\"b.bin\""));
    char boundary[128] = {0};
    memcpy(boundary, ctype + 30, ctype_len - 30 < sizeof boundary - 1 ? ctype_len - 30 : sizeof boundary - 1);
    httpring_request *echo = httpring_request_new("POST", URL("/echo"));
    CHECK_EQ_CODE(httpring_request_set_multipart(echo, form), HTTPRING_OK);
    httpring_handle eh = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, echo, &eh), HTTPRING_OK);
    httpring_state est = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, eh, check_slack_ms(10000), &est), HTTPRING_OK);
    httpring_response er = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_CODE(httpring_handle_response(c, eh, &er), HTTPRING_OK);
    char want_len[64];
    snprintf(want_len, sizeof want_len, "\"body_len\": %zu", enc_len);
    CHECK(check_contains(er.body, er.body_len, want_len));
    CHECK(check_contains(er.body, er.body_len, boundary));
    httpring_handle_free(c, eh);
    CHECK_EQ_CODE(httpring_multipart_encoded(form, NULL, &enc_len, &ctype, &ctype_len),
                  HTTPRING_ERR_INVALID_ARGUMENT);

    httpring_request *req = httpring_request_new("POST", URL("/multipart"));
    CHECK_EQ_CODE(httpring_request_set_multipart(req, form), HTTPRING_OK);
    httpring_multipart_free(form); /* the request holds its own copy */
    /* (A failed setter would fail the submit: shown on a request of its own.) */
    httpring_request *bad = httpring_request_new("POST", URL("/multipart"));
    CHECK_EQ_CODE(httpring_request_set_multipart(bad, NULL), HTTPRING_ERR_INVALID_ARGUMENT);
    httpring_request_free(bad);
    httpring_handle h = 0;
    CHECK_EQ_CODE(httpring_client_submit(c, req, &h), HTTPRING_OK);
    httpring_state st = HTTPRING_STATE_PENDING;
    CHECK_EQ_CODE(httpring_handle_wait(c, h, check_slack_ms(10000), &st), HTTPRING_OK);
    httpring_response r = HTTPRING_STRUCT_INIT(httpring_response);
    CHECK_EQ_CODE(httpring_handle_response(c, h, &r), HTTPRING_OK);
    CHECK_EQ_INT(r.status, 200);
    char want[512];
    snprintf(want, sizeof want,
             "q|||5|%08x\nblob|b.bin|application/octet-stream|%d|%08x\ncsv|data.csv|text/csv|4|%08x\n",
             crc32_of((const uint8_t *)"hello", 5), N, crc32_of(blob, N),
             crc32_of((const uint8_t *)"x,y\n", 4));
    CHECK_EQ_STR(r.body, r.body_len, want);
    httpring_handle_free(c, h);
    httpring_client_free(c);
    unlink(path);
    free(blob);
    httpring_multipart_free(NULL);
}

int main(void) {
    test_form();
    return check_summary();
}
