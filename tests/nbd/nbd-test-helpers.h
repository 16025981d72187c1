/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the NBD protocol tests (tests/nbd/test-nbd-*.c).
 *
 * Starting and stopping a private polltgtd, CHECK/FAIL/SOFT_CHECK, time
 * bounds and test data come from tests/server-test-helpers.h (see there).
 *
 * Also here: a small raw NBD client (plain sockets, no libnbd), for what
 * libnbd refuses to send, and libnbd conveniences.  Everything is static:
 * each test is one .c file.
 */
#ifndef POLLTGT_TESTS_NBD_NBD_TEST_HELPERS_H
#define POLLTGT_TESTS_NBD_NBD_TEST_HELPERS_H

#ifndef TEST_SERVER_DIR_PREFIX
#define TEST_SERVER_DIR_PREFIX "polltgt-nbd"
#endif
#include "../server-test-helpers.h"


/* ------------------------------------------------------------------ */
/* Raw NBD client (no libnbd).                                          */

#define RAW_NBDMAGIC        UINT64_C(0x4e42444d41474943)
#define RAW_IHAVEOPT        UINT64_C(0x49484156454f5054)
#define RAW_REP_MAGIC       UINT64_C(0x0003e889045565a9)
#define RAW_REQUEST_MAGIC   UINT32_C(0x25609513)
#define RAW_SIMPLE_MAGIC    UINT32_C(0x67446698)
#define RAW_STRUCT_MAGIC    UINT32_C(0x668e33ef)
#define RAW_EXT_REQUEST_MAGIC UINT32_C(0x21e41c71)
#define RAW_EXT_REPLY_MAGIC UINT32_C(0x6e8a278c)

#define RAW_OPT_EXPORT_NAME       1
#define RAW_OPT_ABORT             2
#define RAW_OPT_LIST              3
#define RAW_OPT_STARTTLS          5
#define RAW_OPT_INFO              6
#define RAW_OPT_GO                7
#define RAW_OPT_STRUCTURED_REPLY  8
#define RAW_OPT_LIST_META_CONTEXT 9
#define RAW_OPT_SET_META_CONTEXT  10
#define RAW_OPT_EXTENDED_HEADERS  11

#define RAW_REP_ACK           1
#define RAW_REP_SERVER        2
#define RAW_REP_INFO          3
#define RAW_REP_META_CONTEXT  4
#define RAW_REP_ERR_UNSUP     (UINT32_C(0x80000000) | 1)
#define RAW_REP_ERR_POLICY    (UINT32_C(0x80000000) | 2)
#define RAW_REP_ERR_INVALID   (UINT32_C(0x80000000) | 3)
#define RAW_REP_ERR_UNKNOWN   (UINT32_C(0x80000000) | 6)
#define RAW_REP_ERR_TOO_BIG   (UINT32_C(0x80000000) | 9)
#define RAW_REP_ERR_EXT_HEADER_REQD (UINT32_C(0x80000000) | 10)

#define RAW_CMD_READ          0
#define RAW_CMD_WRITE         1
#define RAW_CMD_DISC          2
#define RAW_CMD_FLUSH         3
#define RAW_CMD_TRIM          4
#define RAW_CMD_CACHE         5
#define RAW_CMD_WRITE_ZEROES  6
#define RAW_CMD_BLOCK_STATUS  7

#define RAW_CMD_FLAG_FUA         (1u << 0)
#define RAW_CMD_FLAG_DF          (1u << 2)
#define RAW_CMD_FLAG_REQ_ONE     (1u << 3)
#define RAW_CMD_FLAG_PAYLOAD_LEN (1u << 5)

#define RAW_REPLY_TYPE_NONE         0
#define RAW_REPLY_TYPE_OFFSET_DATA  1
#define RAW_REPLY_TYPE_OFFSET_HOLE  2
#define RAW_REPLY_TYPE_BLOCK_STATUS 5
#define RAW_REPLY_TYPE_BLOCK_STATUS_EXT 6
#define RAW_REPLY_TYPE_ERROR        0x8001

/* Send all of buf; any error fails the test. */
static inline void
raw_write_full(int fd, const void *buf, size_t len)
{
    int r = test_send_full(fd, buf, len);

    if (r < 0) {
        FAIL("send: %s", strerror(-r));
    }
}

/* The peer closes within timeout_ms without sending anything more (EOF or
 * a reset): returns true; false if data arrived or it stayed open. */
static inline bool
raw_expect_eof(int fd, int timeout_ms, size_t *extra)
{
    return test_wait_close(fd, timeout_ms, extra) && *extra == 0;
}

/* Read the greeting and send client flags. */
static inline void
raw_greet(int fd, uint32_t client_flags)
{
    uint8_t g[18];
    uint64_t m1, m2;
    uint32_t be = htobe32(client_flags);

    CHECK(test_read_full(fd, g, sizeof g, 5000) == (ssize_t)sizeof g,
          "no complete 18-byte greeting from the server");
    memcpy(&m1, g, 8);
    memcpy(&m2, g + 8, 8);
    CHECK(be64toh(m1) == RAW_NBDMAGIC && be64toh(m2) == RAW_IHAVEOPT,
          "bad greeting magic");
    raw_write_full(fd, &be, 4);
}

/* Connect to the Unix socket and pass the greeting (fixed newstyle, no
 * zeroes). */
static inline int
raw_greeted(const char *sock)
{
    int fd = test_connect_unix(sock);

    CHECK(fd >= 0, "connect %s: %s", sock, strerror(errno));
    raw_greet(fd, 3);
    return fd;
}

/* The server must close fd within 3 s without sending more; closes it. */
static inline void
raw_expect_closed(int fd, const char *what)
{
    size_t extra = 0;

    CHECK(raw_expect_eof(fd, 3000, &extra),
          "%s: the server did not close the connection within 3 s "
          "(%zu unexpected bytes)", what, extra);
    close(fd);
}

/* An option header (16 bytes), for any transport. */
static inline void
raw_pack_opt(uint8_t *h, uint32_t opt, uint32_t len)
{
    uint64_t m = htobe64(RAW_IHAVEOPT);
    uint32_t o = htobe32(opt), l = htobe32(len);

    memcpy(h, &m, 8);
    memcpy(h + 8, &o, 4);
    memcpy(h + 12, &l, 4);
}

static inline void
raw_send_opt(int fd, uint32_t opt, const void *data, uint32_t len)
{
    uint8_t h[16];

    raw_pack_opt(h, opt, len);
    raw_write_full(fd, h, sizeof h);
    if (len) {
        raw_write_full(fd, data, len);
    }
}

struct raw_opt_reply {
    uint32_t opt, type, len;
    uint8_t data[8192];
};

/* Read one option reply (data truncated to sizeof data; the rest is
 * consumed).  Returns 0, or -1 on EOF/timeout. */
/* The 20-byte header of an option reply into r (any transport). */
static inline void
raw_parse_opt_reply(const uint8_t *h, struct raw_opt_reply *r)
{
    uint64_t m;

    memcpy(&m, h, 8);
    CHECK(be64toh(m) == RAW_REP_MAGIC, "bad option reply magic 0x%" PRIx64,
          be64toh(m));
    memcpy(&r->opt, h + 8, 4);
    memcpy(&r->type, h + 12, 4);
    memcpy(&r->len, h + 16, 4);
    r->opt = be32toh(r->opt);
    r->type = be32toh(r->type);
    r->len = be32toh(r->len);
    CHECK(r->len <= sizeof r->data, "option reply of %u bytes", r->len);
}

static inline int
raw_read_opt_reply(int fd, struct raw_opt_reply *r, int timeout_ms)
{
    uint8_t h[20];

    if (test_read_full(fd, h, sizeof h, timeout_ms) != (ssize_t)sizeof h) {
        return -1;
    }
    raw_parse_opt_reply(h, r);
    if (r->len &&
        test_read_full(fd, r->data, r->len, timeout_ms) != (ssize_t)r->len) {
        return -1;
    }
    return 0;
}

/* Build GO/INFO data: name, then ninfo 16-bit requests. */
static inline size_t
raw_build_go(uint8_t *buf, const char *name, const uint16_t *infos,
             uint16_t ninfo)
{
    uint32_t nl = (uint32_t)strlen(name), be = htobe32(nl);
    uint16_t n = htobe16(ninfo);
    size_t pos = 0;

    memcpy(buf, &be, 4);
    pos += 4;
    memcpy(buf + pos, name, nl);
    pos += nl;
    memcpy(buf + pos, &n, 2);
    pos += 2;
    for (uint16_t i = 0; i < ninfo; i++) {
        uint16_t t = htobe16(infos[i]);

        memcpy(buf + pos, &t, 2);
        pos += 2;
    }
    return pos;
}

/* Header modes for raw_connect_mode. */
enum raw_mode {
    RAW_COMPACT,         /* simple replies */
    RAW_STRUCTURED,      /* NBD_OPT_STRUCTURED_REPLY */
    RAW_EXTENDED,        /* NBD_OPT_EXTENDED_HEADERS alone */
    RAW_STRUCT_EXTENDED, /* structured replies, then extended headers */
};

/*
 * Connect and negotiate to transmission with NBD_OPT_GO in the given
 * header mode, base:allocation if asked (needs chunks).  Returns the fd;
 * *size and *tflags from NBD_INFO_EXPORT.
 */
static inline int
raw_connect_mode(const char *sock, const char *export, enum raw_mode mode,
                 bool base_allocation, uint64_t *size, uint16_t *tflags)
{
    bool structured = mode == RAW_STRUCTURED || mode == RAW_STRUCT_EXTENDED;
    bool extended = mode == RAW_EXTENDED || mode == RAW_STRUCT_EXTENDED;
    int fd = test_connect_unix(sock);
    struct raw_opt_reply *r = malloc(sizeof *r);
    uint8_t buf[512];
    size_t len;
    bool got_export = false;

    *size = 0;
    *tflags = 0;
    CHECK(fd >= 0, "connect %s: %s", sock, strerror(errno));
    CHECK(r != NULL, "out of memory");
    raw_greet(fd, 3); /* FIXED_NEWSTYLE | NO_ZEROES */
    if (structured) {
        raw_send_opt(fd, RAW_OPT_STRUCTURED_REPLY, NULL, 0);
        CHECK(raw_read_opt_reply(fd, r, 5000) == 0 &&
              r->type == RAW_REP_ACK, "NBD_OPT_STRUCTURED_REPLY not acked");
    }
    if (extended) {
        raw_send_opt(fd, RAW_OPT_EXTENDED_HEADERS, NULL, 0);
        CHECK(raw_read_opt_reply(fd, r, 5000) == 0 &&
              r->type == RAW_REP_ACK, "NBD_OPT_EXTENDED_HEADERS not acked");
    }
    if (base_allocation) {
        static const char q[] = "base:allocation";
        uint32_t nl = (uint32_t)strlen(export), be;
        size_t pos = 0;

        be = htobe32(nl);
        memcpy(buf + pos, &be, 4);
        pos += 4;
        memcpy(buf + pos, export, nl);
        pos += nl;
        be = htobe32(1);
        memcpy(buf + pos, &be, 4);
        pos += 4;
        be = htobe32((uint32_t)strlen(q));
        memcpy(buf + pos, &be, 4);
        pos += 4;
        memcpy(buf + pos, q, strlen(q));
        pos += strlen(q);
        raw_send_opt(fd, RAW_OPT_SET_META_CONTEXT, buf, (uint32_t)pos);
        CHECK(raw_read_opt_reply(fd, r, 5000) == 0 &&
              r->type == RAW_REP_META_CONTEXT,
              "NBD_OPT_SET_META_CONTEXT base:allocation: no context reply");
        CHECK(raw_read_opt_reply(fd, r, 5000) == 0 && r->type == RAW_REP_ACK,
              "NBD_OPT_SET_META_CONTEXT: no final ACK");
    }
    len = raw_build_go(buf, export, NULL, 0);
    raw_send_opt(fd, RAW_OPT_GO, buf, (uint32_t)len);
    for (;;) {
        CHECK(raw_read_opt_reply(fd, r, 5000) == 0, "no reply to NBD_OPT_GO");
        CHECK(r->opt == RAW_OPT_GO, "reply for option %u, not GO", r->opt);
        if (r->type == RAW_REP_ACK) {
            break;
        }
        CHECK(r->type == RAW_REP_INFO, "NBD_OPT_GO %s failed: reply 0x%x",
              export, r->type);
        if (r->len >= 12 && r->data[0] == 0 && r->data[1] == 0) {
            uint64_t sz;
            uint16_t fl;

            memcpy(&sz, r->data + 2, 8);
            memcpy(&fl, r->data + 10, 2);
            *size = be64toh(sz);
            *tflags = be16toh(fl);
            got_export = true;
        }
    }
    CHECK(got_export, "NBD_OPT_GO acked without NBD_INFO_EXPORT");
    free(r);
    return fd;
}

static inline int
raw_connect_go(const char *sock, const char *export, bool structured,
               bool base_allocation, uint64_t *size, uint16_t *tflags)
{
    return raw_connect_mode(sock, export,
                            structured ? RAW_STRUCTURED : RAW_COMPACT,
                            base_allocation, size, tflags);
}

/* A compact request header (28 bytes), for any transport. */
static inline void
raw_pack_request(uint8_t *h, uint16_t flags, uint16_t type, uint64_t cookie,
                 uint64_t offset, uint32_t count)
{
    uint32_t m = htobe32(RAW_REQUEST_MAGIC), c = htobe32(count);
    uint16_t f = htobe16(flags), t = htobe16(type);
    uint64_t k = htobe64(cookie), o = htobe64(offset);

    memcpy(h, &m, 4);
    memcpy(h + 4, &f, 2);
    memcpy(h + 6, &t, 2);
    memcpy(h + 8, &k, 8);
    memcpy(h + 16, &o, 8);
    memcpy(h + 24, &c, 4);
}

static inline void
raw_send_request(int fd, uint16_t flags, uint16_t type, uint64_t cookie,
                 uint64_t offset, uint32_t count)
{
    uint8_t h[28];

    raw_pack_request(h, flags, type, cookie, offset, count);
    raw_write_full(fd, h, sizeof h);
}

/* An extended request header (32 bytes, 64-bit length). */
static inline void
raw_send_ext_request(int fd, uint16_t flags, uint16_t type, uint64_t cookie,
                     uint64_t offset, uint64_t length)
{
    uint8_t h[32];
    uint32_t m = htobe32(RAW_EXT_REQUEST_MAGIC);
    uint16_t f = htobe16(flags), t = htobe16(type);
    uint64_t k = htobe64(cookie), o = htobe64(offset), l = htobe64(length);

    memcpy(h, &m, 4);
    memcpy(h + 4, &f, 2);
    memcpy(h + 6, &t, 2);
    memcpy(h + 8, &k, 8);
    memcpy(h + 16, &o, 8);
    memcpy(h + 24, &l, 8);
    raw_write_full(fd, h, sizeof h);
}

/* A simple reply: returns 0 and fills error/cookie, -1 on EOF/timeout. */
/* The 16 bytes of a simple reply (any transport). */
static inline void
raw_parse_simple_reply(const uint8_t *h, uint32_t *error, uint64_t *cookie)
{
    uint32_t m;

    memcpy(&m, h, 4);
    CHECK(be32toh(m) == RAW_SIMPLE_MAGIC, "expected a simple reply, magic 0x%x",
          be32toh(m));
    memcpy(error, h + 4, 4);
    *error = be32toh(*error);
    memcpy(cookie, h + 8, 8);
    *cookie = be64toh(*cookie);
}

static inline int
raw_read_simple_reply(int fd, uint32_t *error, uint64_t *cookie, int timeout_ms)
{
    uint8_t h[16];

    if (test_read_full(fd, h, sizeof h, timeout_ms) != (ssize_t)sizeof h) {
        return -1;
    }
    raw_parse_simple_reply(h, error, cookie);
    return 0;
}

struct raw_chunk {
    uint16_t flags, type;
    uint64_t cookie;
    uint32_t length;
    uint64_t offset;  /* extended chunks: the request's offset */
    uint8_t *payload; /* malloc'd, length bytes */
};

/* Read the payload of a chunk whose header is parsed (c->length). */
static inline int
raw_read_chunk_payload(int fd, struct raw_chunk *c, int timeout_ms)
{
    CHECK(c->length <= 64u << 20, "chunk length %u", c->length);
    c->payload = malloc(c->length ? c->length : 1);
    CHECK(c->payload != NULL, "out of memory");
    if (c->length &&
        test_read_full(fd, c->payload, c->length, timeout_ms) !=
            (ssize_t)c->length) {
        free(c->payload);
        return -1;
    }
    return 0;
}

/* Parse the 20-byte structured chunk header at h (magic checked). */
static inline void
raw_parse_chunk_header(const uint8_t *h, struct raw_chunk *c)
{
    memcpy(&c->flags, h + 4, 2);
    memcpy(&c->type, h + 6, 2);
    memcpy(&c->cookie, h + 8, 8);
    memcpy(&c->length, h + 16, 4);
    c->flags = be16toh(c->flags);
    c->type = be16toh(c->type);
    c->cookie = be64toh(c->cookie);
    c->length = be32toh(c->length);
    c->offset = 0;
}

/* One structured reply chunk: 0, or -1 on EOF/timeout. */
static inline int
raw_read_chunk(int fd, struct raw_chunk *c, int timeout_ms)
{
    uint8_t h[20];
    uint32_t m;

    if (test_read_full(fd, h, sizeof h, timeout_ms) != (ssize_t)sizeof h) {
        return -1;
    }
    memcpy(&m, h, 4);
    CHECK(be32toh(m) == RAW_STRUCT_MAGIC,
          "expected a structured reply chunk, magic 0x%x", be32toh(m));
    raw_parse_chunk_header(h, c);
    return raw_read_chunk_payload(fd, c, timeout_ms);
}

/* One extended reply chunk (32-byte header): 0, or -1 on EOF/timeout. */
static inline int
raw_read_ext_chunk(int fd, struct raw_chunk *c, int timeout_ms)
{
    uint8_t h[32];
    uint32_t m;
    uint64_t len;

    if (test_read_full(fd, h, sizeof h, timeout_ms) != (ssize_t)sizeof h) {
        return -1;
    }
    memcpy(&m, h, 4);
    CHECK(be32toh(m) == RAW_EXT_REPLY_MAGIC,
          "expected an extended reply chunk, magic 0x%x", be32toh(m));
    memcpy(&c->flags, h + 4, 2);
    memcpy(&c->type, h + 6, 2);
    memcpy(&c->cookie, h + 8, 8);
    memcpy(&c->offset, h + 16, 8);
    memcpy(&len, h + 24, 8);
    c->flags = be16toh(c->flags);
    c->type = be16toh(c->type);
    c->cookie = be64toh(c->cookie);
    c->offset = be64toh(c->offset);
    len = be64toh(len);
    CHECK(len <= 64u << 20, "extended chunk length %" PRIu64, len);
    c->length = (uint32_t)len;
    return raw_read_chunk_payload(fd, c, timeout_ms);
}

/* The NBD error of an error chunk. */
static inline uint32_t
raw_chunk_error(const struct raw_chunk *c)
{
    uint32_t e;

    CHECK(c->length >= 6, "error chunk shorter than 6 bytes");
    memcpy(&e, c->payload, 4);
    return be32toh(e);
}

/* ------------------------------------------------------------------ */
/* libnbd helpers: only when the test includes <libnbd.h> first.       */
#ifdef LIBNBD_H

/* CHECK_NBD(call-result-ok, "what"): on failure, print libnbd's error. */
#define CHECK_NBD(ok, ...)                                                    \
    do {                                                                      \
        if (!(ok)) {                                                          \
            fprintf(stderr, "%s: libnbd: %s (errno %d)\n", test_name,        \
                    nbd_get_error() ? nbd_get_error() : "?",                  \
                    nbd_get_errno());                                         \
            test_failf(__FILE__, __LINE__, __VA_ARGS__);                      \
        }                                                                     \
    } while (0)

/* A call that must fail with exactly errno want (from the server); a
 * wrong errno is a soft failure (see SOFT_CHECK), success a hard one. */
#define CHECK_NBD_ERRNO(r, want, what)                                        \
    do {                                                                      \
        int r_ = (r);                                                         \
        int e_ = nbd_get_errno();                                             \
        if (r_ != -1) {                                                       \
            test_failf(__FILE__, __LINE__,                                    \
                       "%s: expected failure with %s (%d), but it succeeded", \
                       what, strerror(want), want);                           \
        }                                                                     \
        SOFT_CHECK(e_ == (want),                                              \
                   "%s: expected failure with %s (%d), got errno=%d (%s)",    \
                   what, strerror(want), want, e_,                            \
                   nbd_get_error() ? nbd_get_error() : "no error");           \
    } while (0)

static inline struct nbd_handle *
test_nbd_create(void)
{
    struct nbd_handle *nbd = nbd_create();

    CHECK_NBD(nbd != NULL, "nbd_create");
    return nbd;
}

/* Connect over the server's Unix socket to export (NULL: default ""). */
static inline struct nbd_handle *
test_nbd_open(const struct test_server *s, const char *export)
{
    struct nbd_handle *nbd = test_nbd_create();

    CHECK_NBD(nbd_set_export_name(nbd, export ? export : "") == 0,
              "nbd_set_export_name");
    CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0,
              "nbd_connect_unix %s export '%s'", s->sock,
              export ? export : "");
    return nbd;
}

static inline void
test_nbd_close(struct nbd_handle *nbd)
{
    if (nbd_aio_is_ready(nbd) && nbd_aio_in_flight(nbd) == 0) {
        CHECK_NBD(nbd_shutdown(nbd, 0) == 0, "nbd_shutdown");
    }
    nbd_close(nbd);
}

/* Read len bytes at offset and require them to equal want. */
static inline void
test_nbd_expect(struct nbd_handle *nbd, const void *want, size_t len,
                uint64_t offset, uint32_t flags, const char *what)
{
    uint8_t *got = malloc(len ? len : 1);
    ssize_t d;

    CHECK(got != NULL, "out of memory");
    memset(got, 0xee, len);
    CHECK_NBD(nbd_pread(nbd, got, len, offset, flags) == 0,
              "%s: pread %zu bytes at %" PRIu64, what, len, offset);
    d = test_memdiff(got, want, len);
    CHECK(d < 0,
          "%s: data mismatch at byte %zd of a %zu-byte read at offset "
          "%" PRIu64 ": got 0x%02x, want 0x%02x",
          what, d, len, offset, got[d > 0 ? d : 0],
          ((const uint8_t *)want)[d > 0 ? d : 0]);
    free(got);
}

#endif /* LIBNBD_H */

#endif /* POLLTGT_TESTS_NBD_NBD_TEST_HELPERS_H */
