/* SPDX-License-Identifier: MIT */
/*
 * NBD_OPT_EXTENDED_HEADERS on raw sockets, written from the protocol
 * document (its extension-ext-header branch), because Debian 12's libnbd
 * and qemu predate the extension.
 *
 * Negotiation: alone or after structured replies, repeated (ERR_INVALID),
 * with data (ERR_INVALID, not negotiated), structured replies afterwards
 * (ERR_EXT_HEADER_REQD), NBD_OPT_EXPORT_NAME afterwards (closed), an
 * option sent after NBD_OPT_GO (closed).  Every command in compact,
 * structured and extended mode, checking the reply format of each mode
 * (no simple reply once extended: NONE chunks; BLOCK_STATUS_EXT with
 * 64-bit lengths; the extended header's offset echoing the request's),
 * and 64-bit effect lengths on an 8 GiB export.  Malformed: the other
 * mode's magic (closed), a write without NBD_CMD_FLAG_PAYLOAD_LEN
 * (EINVAL, nothing written), a payload on a read (EINVAL, consumed), the
 * flag in compact mode (EINVAL), a payload over max-payload (closed), a
 * read over 4 GiB (EOVERFLOW).  After each case another client is served.
 */
#include <config.h>

#include "nbd-test-helpers.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define GIB (UINT64_C(1) << 30)
#define SIZE (64 * MIB)

static const char conf_text[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "max-payload = 1M\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 64M\n"
    "[export big]\n"
    "backend = memory\n"
    "size = 8G\n";

static struct test_server srv;
static struct raw_opt_reply rep;

static const char *const mode_name[] = {
    "compact", "structured", "extended", "structured+extended",
};

static bool
chunks(enum raw_mode m)
{
    return m != RAW_COMPACT;
}

static bool
ext(enum raw_mode m)
{
    return m == RAW_EXTENDED || m == RAW_STRUCT_EXTENDED;
}

/* One request in the mode's header format; writes carry data. */
static void
request(int fd, enum raw_mode m, uint16_t flags, uint16_t type,
        uint64_t cookie, uint64_t offset, uint64_t len, const void *data)
{
    if (ext(m)) {
        if (type == RAW_CMD_WRITE) {
            flags |= RAW_CMD_FLAG_PAYLOAD_LEN;
        }
        raw_send_ext_request(fd, flags, type, cookie, offset, len);
    } else {
        raw_send_request(fd, flags, type, cookie, offset, (uint32_t)len);
    }
    if (data) {
        raw_write_full(fd, data, (size_t)len);
    }
}

struct result {
    uint32_t error;      /* NBD error, 0 on success */
    int nchunks;
    bool hole;           /* an OFFSET_HOLE chunk came */
    uint16_t bs_type;    /* block status chunk type */
    uint32_t ctx_id;
    unsigned next;
    uint64_t ext_len[64], ext_flags[64];
};

static uint32_t
get32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return be32toh(v);
}

static uint64_t
get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return be64toh(v);
}

/* Structured mode: a simple reply (allowed for commands without data)
 * or a structured chunk, told apart by the magic.  Returns 0, 1 for a
 * simple reply (its error in *err), -1 on EOF. */
static int
read_structured_or_simple(int fd, struct raw_chunk *c, uint32_t *err)
{
    uint8_t h[20];
    uint32_t m;

    if (test_read_full(fd, h, 4, 10000) != 4) {
        return -1;
    }
    memcpy(&m, h, 4);
    if (be32toh(m) == RAW_SIMPLE_MAGIC) {
        if (test_read_full(fd, h + 4, 12, 10000) != 12) {
            return -1;
        }
        *err = get32(h + 4);
        c->cookie = get64(h + 8);
        c->flags = 1;
        c->type = 0xffff;
        c->length = 0;
        c->payload = NULL;
        return 1;
    }
    CHECK(be32toh(m) == RAW_STRUCT_MAGIC, "bad reply magic 0x%x", be32toh(m));
    if (test_read_full(fd, h + 4, 16, 10000) != 16) {
        return -1;
    }
    raw_parse_chunk_header(h, c);
    return raw_read_chunk_payload(fd, c, 10000);
}

/*
 * The whole reply to the request (cookie, offset) in mode m: data of a
 * read lands in rdata (rlen bytes, holes as zeros); block status
 * descriptors in res.  Fails the test on any format violation.
 */
static void
reply(int fd, enum raw_mode m, uint64_t cookie, uint64_t offset,
      uint8_t *rdata, uint64_t rlen, struct result *res, const char *what)
{
    struct raw_chunk c;
    bool done = false;

    memset(res, 0, sizeof *res);
    if (!chunks(m)) {
        uint64_t k;

        CHECK(raw_read_simple_reply(fd, &res->error, &k, 5000) == 0,
              "%s: no simple reply", what);
        CHECK(k == cookie, "%s: cookie 0x%" PRIx64, what, k);
        if (rdata && res->error == 0) {
            CHECK(test_read_full(fd, rdata, rlen, 10000) == (ssize_t)rlen,
                  "%s: short read data", what);
        }
        return;
    }
    while (!done) {
        uint32_t serr = 0;
        int r = ext(m) ? raw_read_ext_chunk(fd, &c, 10000)
                       : read_structured_or_simple(fd, &c, &serr);

        CHECK(r >= 0, "%s (%s): no reply chunk", what, mode_name[m]);
        CHECK(c.cookie == cookie, "%s: chunk cookie 0x%" PRIx64, what,
              c.cookie);
        if (r == 1) {
            /* The document allows it only as the whole reply, and never
             * for a read. */
            CHECK(res->nchunks == 0 && rdata == NULL,
                  "%s: a simple reply where chunks are due", what);
            res->error = serr;
            return;
        }
        if (ext(m)) {
            CHECK(c.offset == offset,
                  "%s: extended chunk offset %" PRIu64 ", want the "
                  "request's %" PRIu64, what, c.offset, offset);
        }
        res->nchunks++;
        done = c.flags & 1;
        switch (c.type) {
        case RAW_REPLY_TYPE_NONE:
            CHECK(c.length == 0 && done, "%s: NONE chunk", what);
            break;
        case RAW_REPLY_TYPE_OFFSET_DATA: {
            uint64_t at = get64(c.payload);

            CHECK(rdata && c.length > 8 && at >= offset &&
                  at - offset + (c.length - 8) <= rlen,
                  "%s: DATA chunk at %" PRIu64 " of %u bytes outside the "
                  "request", what, at, c.length - 8);
            memcpy(rdata + (at - offset), c.payload + 8, c.length - 8);
            break;
        }
        case RAW_REPLY_TYPE_OFFSET_HOLE: {
            uint64_t at = get64(c.payload);
            uint32_t n = get32(c.payload + 8);

            CHECK(rdata && c.length == 12 && n > 0 && at >= offset &&
                  at - offset + n <= rlen, "%s: bad HOLE chunk", what);
            memset(rdata + (at - offset), 0, n);
            res->hole = true;
            break;
        }
        case RAW_REPLY_TYPE_BLOCK_STATUS:
            CHECK(!ext(m), "%s: BLOCK_STATUS chunk with extended headers",
                  what);
            CHECK(c.length >= 12 && (c.length - 4) % 8 == 0,
                  "%s: BLOCK_STATUS length %u", what, c.length);
            res->bs_type = c.type;
            res->ctx_id = get32(c.payload);
            for (uint32_t i = 4; i < c.length && res->next < 64; i += 8) {
                res->ext_len[res->next] = get32(c.payload + i);
                res->ext_flags[res->next++] = get32(c.payload + i + 4);
            }
            break;
        case RAW_REPLY_TYPE_BLOCK_STATUS_EXT:
            CHECK(ext(m), "%s: BLOCK_STATUS_EXT without extended headers",
                  what);
            CHECK(c.length >= 24 && (c.length - 8) % 16 == 0 &&
                  get32(c.payload + 4) == (c.length - 8) / 16,
                  "%s: BLOCK_STATUS_EXT length %u count %u", what, c.length,
                  c.length >= 8 ? get32(c.payload + 4) : 0);
            res->bs_type = c.type;
            res->ctx_id = get32(c.payload);
            for (uint32_t i = 8; i < c.length && res->next < 64; i += 16) {
                res->ext_len[res->next] = get64(c.payload + i);
                res->ext_flags[res->next++] = get64(c.payload + i + 8);
            }
            break;
        case RAW_REPLY_TYPE_ERROR:
            res->error = raw_chunk_error(&c);
            CHECK(res->error != 0, "%s: error chunk with error 0", what);
            break;
        default:
            FAIL("%s: unexpected chunk type %u", what, c.type);
        }
        free(c.payload);
    }
}

/* A request without data in or out; returns its NBD error. */
static uint32_t
simple_op(int fd, enum raw_mode m, uint16_t flags, uint16_t type,
          uint64_t cookie, uint64_t offset, uint64_t len, const char *what)
{
    struct result res;

    request(fd, m, flags, type, cookie, offset, len, NULL);
    reply(fd, m, cookie, offset, NULL, 0, &res, what);
    return res.error;
}

/* Another client, in extended mode, is served correctly. */
static void
healthy(const char *after)
{
    static uint32_t seed = 100;
    uint8_t data[4096], back[4096];
    uint64_t size;
    uint16_t tflags;
    struct result res;
    int fd;

    test_server_check_alive(&srv);
    fd = raw_connect_mode(srv.sock, "mem", RAW_EXTENDED, false, &size, &tflags);
    test_fill(data, sizeof data, 0, ++seed);
    request(fd, RAW_EXTENDED, 0, RAW_CMD_WRITE, 1, 60 * MIB, sizeof data, data);
    reply(fd, RAW_EXTENDED, 1, 60 * MIB, NULL, 0, &res, after);
    CHECK(res.error == 0, "after %s: write failed (%u)", after, res.error);
    request(fd, RAW_EXTENDED, 0, RAW_CMD_READ, 2, 60 * MIB, sizeof back, NULL);
    reply(fd, RAW_EXTENDED, 2, 60 * MIB, back, sizeof back, &res, after);
    CHECK(res.error == 0 && memcmp(back, data, sizeof data) == 0,
          "after %s: read back differs", after);
    raw_send_ext_request(fd, 0, RAW_CMD_DISC, 3, 0, 0);
    raw_expect_closed(fd, "NBD_CMD_DISC");
    printf("ok: %s\n", after);
}

/* ------------------------------------------------------------------ */

/* Options until GO; returns the transmission flags. */
static uint16_t
go(int fd, const char *export)
{
    uint8_t buf[64];
    size_t len = raw_build_go(buf, export, NULL, 0);
    uint16_t tflags = 0;

    raw_send_opt(fd, RAW_OPT_GO, buf, (uint32_t)len);
    for (;;) {
        CHECK(raw_read_opt_reply(fd, &rep, 5000) == 0, "no reply to GO");
        if (rep.type == RAW_REP_ACK) {
            return tflags;
        }
        CHECK(rep.type == RAW_REP_INFO, "GO failed: 0x%x", rep.type);
        if (rep.len == 12 && rep.data[1] == 0) {
            memcpy(&tflags, rep.data + 10, 2);
            tflags = be16toh(tflags);
        }
    }
}

static uint32_t
opt(int fd, uint32_t option, const void *data, uint32_t len)
{
    raw_send_opt(fd, option, data, len);
    CHECK(raw_read_opt_reply(fd, &rep, 5000) == 0 && rep.opt == option,
          "no reply to option %u", option);
    return rep.type;
}

static void
test_negotiation(void)
{
    uint16_t tflags;
    uint32_t t;
    int fd;

    /* Alone: acked; DF is advertised (chunks are in use); a second
     * request is refused; structured replies after it are refused with
     * the document's own error; negotiation goes on. */
    fd = raw_greeted(srv.sock);
    CHECK(opt(fd, RAW_OPT_EXTENDED_HEADERS, NULL, 0) == RAW_REP_ACK,
          "NBD_OPT_EXTENDED_HEADERS not acked");
    t = opt(fd, RAW_OPT_EXTENDED_HEADERS, NULL, 0);
    CHECK(t == RAW_REP_ERR_INVALID, "repeated EXTENDED_HEADERS: 0x%x", t);
    t = opt(fd, RAW_OPT_STRUCTURED_REPLY, NULL, 0);
    CHECK(t == RAW_REP_ERR_EXT_HEADER_REQD,
          "STRUCTURED_REPLY after EXTENDED_HEADERS: 0x%x, want "
          "NBD_REP_ERR_EXT_HEADER_REQD", t);
    tflags = go(fd, "mem");
    CHECK(tflags & (1u << 7), "no NBD_FLAG_SEND_DF with extended headers");
    CHECK(simple_op(fd, RAW_EXTENDED, 0, RAW_CMD_FLUSH, 9, 0, 0, "flush") == 0,
          "flush in extended mode");
    /* An option after GO (as long as a request header) is a request
     * with a bad magic: closed. */
    {
        uint8_t buf[64];
        size_t len = raw_build_go(buf, "an-export-name-of-some-length",
                                  NULL, 0);

        raw_send_opt(fd, RAW_OPT_GO, buf, (uint32_t)len);
    }
    raw_expect_closed(fd, "option after NBD_OPT_GO");
    healthy("option after GO: closed");

    /* With data: refused, and not negotiated (compact stays). */
    fd = raw_greeted(srv.sock);
    t = opt(fd, RAW_OPT_EXTENDED_HEADERS, "x", 1);
    CHECK(t == RAW_REP_ERR_INVALID, "EXTENDED_HEADERS with data: 0x%x", t);
    tflags = go(fd, "mem");
    CHECK(!(tflags & (1u << 7)), "DF advertised without chunks");
    CHECK(simple_op(fd, RAW_COMPACT, 0, RAW_CMD_FLUSH, 9, 0, 0, "flush") == 0,
          "flush in compact mode after a refused EXTENDED_HEADERS");
    raw_send_request(fd, 0, RAW_CMD_DISC, 1, 0, 0);
    raw_expect_closed(fd, "DISC");

    /* After structured replies: acked. */
    fd = raw_greeted(srv.sock);
    CHECK(opt(fd, RAW_OPT_STRUCTURED_REPLY, NULL, 0) == RAW_REP_ACK, "SR");
    CHECK(opt(fd, RAW_OPT_EXTENDED_HEADERS, NULL, 0) == RAW_REP_ACK,
          "EXTENDED_HEADERS after STRUCTURED_REPLY not acked");
    go(fd, "mem");
    CHECK(simple_op(fd, RAW_STRUCT_EXTENDED, 0, RAW_CMD_FLUSH, 9, 0, 0,
                    "flush") == 0, "flush");
    raw_send_ext_request(fd, 0, RAW_CMD_DISC, 1, 0, 0);
    raw_expect_closed(fd, "DISC");

    /* NBD_OPT_EXPORT_NAME is forbidden after it: no error reply exists,
     * so the server hangs up. */
    fd = raw_greeted(srv.sock);
    CHECK(opt(fd, RAW_OPT_EXTENDED_HEADERS, NULL, 0) == RAW_REP_ACK, "EH");
    raw_send_opt(fd, RAW_OPT_EXPORT_NAME, "mem", 3);
    raw_expect_closed(fd, "EXPORT_NAME after EXTENDED_HEADERS");
    healthy("NBD_OPT_EXPORT_NAME after extended headers: closed");
}

/* ------------------------------------------------------------------ */

static void
test_commands(enum raw_mode m)
{
    static uint8_t data[2 * MIB], back[2 * MIB], want[2 * MIB];
    const char *mn = mode_name[m];
    uint64_t size;
    uint16_t tflags;
    struct result res;
    int fd = raw_connect_mode(srv.sock, "mem", m, chunks(m), &size, &tflags);
    uint64_t k = 100;
    char what[96];

    CHECK(size == SIZE, "%s: size %" PRIu64, mn, size);
    /* Start from zeros: one write-zeroes of the whole export (trimming). */
    CHECK(simple_op(fd, m, 0, RAW_CMD_WRITE_ZEROES, k++, 0, SIZE, "zero") == 0,
          "%s: write zeroes of the whole export", mn);

    /* WRITE (FUA) then READ. */
    test_fill(data, 64 * KIB, 1 * MIB, (uint32_t)m + 7);
    snprintf(what, sizeof what, "%s: write", mn);
    request(fd, m, RAW_CMD_FLAG_FUA, RAW_CMD_WRITE, k, 1 * MIB, 64 * KIB, data);
    reply(fd, m, k++, 1 * MIB, NULL, 0, &res, what);
    CHECK(res.error == 0, "%s failed: %u", what, res.error);
    request(fd, m, 0, RAW_CMD_READ, k, 1 * MIB, 64 * KIB, NULL);
    reply(fd, m, k++, 1 * MIB, back, 64 * KIB, &res, what);
    CHECK(res.error == 0 && memcmp(back, data, 64 * KIB) == 0,
          "%s: read back differs", mn);

    /* A 2 MiB unaligned read across zeros and data: holes come as HOLE
     * chunks with chunks, the bytes are right in every mode. */
    memset(want, 0, sizeof want);
    memcpy(want + (1 * MIB - 300 * KIB), data, 64 * KIB);
    memset(back, 0xee, sizeof back);
    snprintf(what, sizeof what, "%s: 2 MiB read", mn);
    request(fd, m, 0, RAW_CMD_READ, k, 300 * KIB, 2 * MIB, NULL);
    reply(fd, m, k++, 300 * KIB, back, 2 * MIB, &res, what);
    CHECK(res.error == 0 && test_memdiff(back, want, 2 * MIB) < 0,
          "%s: data differs at %zd", what, test_memdiff(back, want, 2 * MIB));
    CHECK(!chunks(m) || res.hole, "%s: no HOLE chunk for zeros", what);

    /* DF: one DATA chunk however zero the data is. */
    if (chunks(m)) {
        snprintf(what, sizeof what, "%s: DF read", mn);
        request(fd, m, RAW_CMD_FLAG_DF, RAW_CMD_READ, k, 300 * KIB, 1 * MIB,
                NULL);
        reply(fd, m, k++, 300 * KIB, back, 1 * MIB, &res, what);
        CHECK(res.error == 0 && !res.hole && res.nchunks == 1 &&
              memcmp(back, want, 1 * MIB) == 0, "%s: %d chunks, hole %d", what,
              res.nchunks, res.hole);
    }

    CHECK(simple_op(fd, m, 0, RAW_CMD_FLUSH, k++, 0, 0, "flush") == 0,
          "%s: flush", mn);
    CHECK(simple_op(fd, m, RAW_CMD_FLAG_FUA, RAW_CMD_FLUSH, k++, 0, 0,
                    "flush") == 0, "%s: flush with FUA", mn);
    if (tflags & (1u << 10)) {
        CHECK(simple_op(fd, m, 0, RAW_CMD_CACHE, k++, 0, 4 * MIB, "cache") == 0,
              "%s: cache", mn);
    }

    /* WRITE_ZEROES without trimming, then read zeros back. */
    CHECK(simple_op(fd, m, 1u << 1 /* NO_HOLE */, RAW_CMD_WRITE_ZEROES, k++,
                    1 * MIB, 32 * KIB, "zero") == 0, "%s: write zeroes", mn);
    snprintf(what, sizeof what, "%s: read after zeroes", mn);
    request(fd, m, 0, RAW_CMD_READ, k, 1 * MIB, 64 * KIB, NULL);
    reply(fd, m, k++, 1 * MIB, back, 64 * KIB, &res, what);
    memset(want, 0, 32 * KIB);
    memcpy(want + 32 * KIB, data + 32 * KIB, 32 * KIB);
    CHECK(res.error == 0 && memcmp(back, want, 64 * KIB) == 0,
          "%s: wrong data", what);

    /* BLOCK_STATUS base:allocation: a hole, then the data at 1 MiB. */
    if (chunks(m)) {
        snprintf(what, sizeof what, "%s: block status", mn);
        request(fd, m, 0, RAW_CMD_BLOCK_STATUS, k, 0, 8 * MIB, NULL);
        reply(fd, m, k++, 0, NULL, 0, &res, what);
        CHECK(res.error == 0 && res.ctx_id != 0 && res.next >= 2,
              "%s: error %u, %u extents", what, res.error, res.next);
        CHECK(res.bs_type == (ext(m) ? RAW_REPLY_TYPE_BLOCK_STATUS_EXT
                                     : RAW_REPLY_TYPE_BLOCK_STATUS),
              "%s: chunk type %u", what, res.bs_type);
        CHECK(res.ext_len[0] == 1 * MIB && res.ext_flags[0] == 3 &&
              res.ext_flags[1] == 0,
              "%s: first extents %" PRIu64 "/%" PRIu64 ", %" PRIu64 "/%"
              PRIu64, what, res.ext_len[0], res.ext_flags[0], res.ext_len[1],
              res.ext_flags[1]);
        request(fd, m, RAW_CMD_FLAG_REQ_ONE, RAW_CMD_BLOCK_STATUS, k, 0,
                4096, NULL);
        reply(fd, m, k++, 0, NULL, 0, &res, what);
        CHECK(res.error == 0 && res.next == 1 && res.ext_len[0] == 4096,
              "%s: REQ_ONE: %u extents, first %" PRIu64, what, res.next,
              res.ext_len[0]);
    }

    /* TRIM. */
    CHECK(simple_op(fd, m, 0, RAW_CMD_TRIM, k++, 1 * MIB, 64 * KIB, "trim") ==
          0, "%s: trim", mn);
    /* Range errors keep the connection. */
    CHECK(simple_op(fd, m, 0, RAW_CMD_TRIM, k++, SIZE, 4096, "trim") == 22,
          "%s: trim past the end: want EINVAL", mn);
    CHECK(simple_op(fd, m, 0, RAW_CMD_WRITE_ZEROES, k++, SIZE - 4096, 8192,
                    "zero") == 28, "%s: write zeroes past the end: ENOSPC",
          mn);
    /* DISC: no reply, the server closes. */
    request(fd, m, 0, RAW_CMD_DISC, k, 0, 0, NULL);
    raw_expect_closed(fd, "NBD_CMD_DISC");
    printf("ok: every command in %s mode\n", mn);
}

/* 64-bit effect lengths on an 8 GiB export (extended only). */
static void
test_effect_lengths(void)
{
    const enum raw_mode m = RAW_EXTENDED;
    uint64_t size;
    uint16_t tflags;
    struct result res;
    uint8_t d[4096];
    int fd = raw_connect_mode(srv.sock, "big", m, true, &size, &tflags);
    uint64_t k = 1;

    CHECK(size == 8 * GIB, "big: size %" PRIu64, size);
    test_fill(d, sizeof d, 0, 3);
    request(fd, m, 0, RAW_CMD_WRITE, k, 7 * GIB, sizeof d, d);
    reply(fd, m, k++, 7 * GIB, NULL, 0, &res, "write at 7 GiB");
    CHECK(res.error == 0, "write at 7 GiB: %u", res.error);
    /* 6 GiB of hole in one extent: only a 64-bit length says so. */
    request(fd, m, 0, RAW_CMD_BLOCK_STATUS, k, 0, 6 * GIB, NULL);
    reply(fd, m, k++, 0, NULL, 0, &res, "block status of 6 GiB");
    CHECK(res.error == 0 && res.next >= 1 && res.ext_len[0] == 6 * GIB &&
          res.ext_flags[0] == 3,
          "block status of 6 GiB: error %u, first extent %" PRIu64 " flags %"
          PRIu64, res.error, res.ext_len[0], res.ext_flags[0]);
    /* Trim, write zeroes and cache of more than 4 GiB in one request. */
    CHECK(simple_op(fd, m, 0, RAW_CMD_TRIM, k++, 0, 5 * GIB, "trim 5 GiB") == 0,
          "trim of 5 GiB");
    CHECK(simple_op(fd, m, 0, RAW_CMD_WRITE_ZEROES, k++, 1 * GIB, 5 * GIB,
                    "zero 5 GiB") == 0, "write zeroes of 5 GiB");
    if (tflags & (1u << 10)) {
        CHECK(simple_op(fd, m, 0, RAW_CMD_CACHE, k++, 0, 5 * GIB,
                        "cache 5 GiB") == 0, "cache of 5 GiB");
    }
    CHECK(simple_op(fd, m, 0, RAW_CMD_TRIM, k++, 4 * GIB, 5 * GIB,
                    "trim past the end") == 22, "trim past the end: EINVAL");
    CHECK(simple_op(fd, m, 0, RAW_CMD_BLOCK_STATUS, k++, 0, UINT64_MAX,
                    "block status of 2^64-1") == 22,
          "block status longer than the export: EINVAL");
    /* A read beyond 4 GiB - 1 is refused up front, as the document lets a
     * server do; DF over max-payload too. */
    CHECK(simple_op(fd, m, 0, RAW_CMD_READ, k++, 0, 5 * GIB, "read 5 GiB") ==
          75, "read of 5 GiB: want EOVERFLOW");
    CHECK(simple_op(fd, m, RAW_CMD_FLAG_DF, RAW_CMD_READ, k++, 0, 2 * MIB,
                    "DF read 2 MiB") == 75,
          "DF read over max-payload: want EOVERFLOW");
    /* The data at 7 GiB survived. */
    {
        uint8_t back[4096];

        request(fd, m, 0, RAW_CMD_READ, k, 7 * GIB, sizeof back, NULL);
        reply(fd, m, k++, 7 * GIB, back, sizeof back, &res, "read at 7 GiB");
        CHECK(res.error == 0 && memcmp(back, d, sizeof d) == 0,
              "read at 7 GiB differs");
    }
    raw_send_ext_request(fd, 0, RAW_CMD_DISC, k, 0, 0);
    raw_expect_closed(fd, "DISC");
    printf("ok: 64-bit effect lengths\n");
}

/* ------------------------------------------------------------------ */

static void
test_malformed(void)
{
    uint64_t size;
    uint16_t tflags;
    struct result res;
    uint8_t d[4096], back[4096];
    int fd;

    /* The other mode's magic: framing is lost, closed. */
    fd = raw_connect_mode(srv.sock, "mem", RAW_EXTENDED, false, &size, &tflags);
    raw_send_request(fd, 0, RAW_CMD_READ, 1, 0, 512);
    raw_write_full(fd, "\0\0\0\0", 4); /* as long as an extended header */
    raw_expect_closed(fd, "compact request in extended mode");
    healthy("compact request header after extended headers: closed");

    fd = raw_connect_mode(srv.sock, "mem", RAW_STRUCTURED, false, &size,
                          &tflags);
    raw_send_ext_request(fd, 0, RAW_CMD_READ, 1, 0, 512);
    raw_expect_closed(fd, "extended request in compact mode");
    healthy("extended request header without extended headers: closed");

    /* A write without PAYLOAD_LEN has no payload: EINVAL, nothing
     * written, the next request is read as a header. */
    fd = raw_connect_mode(srv.sock, "mem", RAW_EXTENDED, false, &size, &tflags);
    test_fill(d, sizeof d, 0, 77);
    request(fd, RAW_EXTENDED, 0, RAW_CMD_WRITE, 1, 8192, sizeof d, d);
    reply(fd, RAW_EXTENDED, 1, 8192, NULL, 0, &res, "write");
    raw_send_ext_request(fd, 0, RAW_CMD_WRITE, 2, 8192, sizeof d);
    reply(fd, RAW_EXTENDED, 2, 8192, NULL, 0, &res, "write without the flag");
    CHECK(res.error == 22, "write without PAYLOAD_LEN: %u, want EINVAL",
          res.error);
    /* A payload on a read: consumed, EINVAL. */
    raw_send_ext_request(fd, RAW_CMD_FLAG_PAYLOAD_LEN, RAW_CMD_READ, 3, 8192,
                         sizeof d);
    raw_write_full(fd, d, sizeof d);
    reply(fd, RAW_EXTENDED, 3, 8192, back, sizeof back, &res,
          "read with a payload");
    CHECK(res.error == 22, "read with PAYLOAD_LEN: %u, want EINVAL", res.error);
    request(fd, RAW_EXTENDED, 0, RAW_CMD_READ, 4, 8192, sizeof back, NULL);
    reply(fd, RAW_EXTENDED, 4, 8192, back, sizeof back, &res, "read");
    CHECK(res.error == 0 && memcmp(back, d, sizeof d) == 0,
          "after the refused payloads the data changed or the stream "
          "desynchronised");
    /* A payload over max-payload (1 MiB): the document says hang up. */
    raw_send_ext_request(fd, RAW_CMD_FLAG_PAYLOAD_LEN, RAW_CMD_WRITE, 5, 0,
                         1 * MIB + 1);
    raw_expect_closed(fd, "extended write over max-payload");
    healthy("extended write payload over max-payload: closed");

    /* PAYLOAD_LEN in compact mode: not valid; the write's payload is
     * still consumed (compact writes always carry one). */
    fd = raw_connect_mode(srv.sock, "mem", RAW_STRUCTURED, false, &size,
                          &tflags);
    raw_send_request(fd, RAW_CMD_FLAG_PAYLOAD_LEN, RAW_CMD_WRITE, 1, 0,
                     sizeof d);
    raw_write_full(fd, d, sizeof d);
    reply(fd, RAW_STRUCTURED, 1, 0, NULL, 0, &res, "compact PAYLOAD_LEN");
    CHECK(res.error == 22, "compact write with PAYLOAD_LEN: %u, want EINVAL",
          res.error);
    CHECK(simple_op(fd, RAW_STRUCTURED, 0, RAW_CMD_FLUSH, 2, 0, 0, "flush") ==
          0, "flush after a refused compact PAYLOAD_LEN write");
    raw_send_request(fd, 0, RAW_CMD_DISC, 3, 0, 0);
    raw_expect_closed(fd, "DISC");
    healthy("malformed payload lengths answered, stream in sync");
}

int
main(void)
{
    test_init("test-nbd-extended", 120);
    test_server_start(&srv, conf_text);
    test_negotiation();
    for (int m = RAW_COMPACT; m <= RAW_STRUCT_EXTENDED; m++) {
        test_commands((enum raw_mode)m);
    }
    test_effect_lengths();
    test_malformed();
    test_server_stop(&srv);
    return 0;
}
