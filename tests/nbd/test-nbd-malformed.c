/* SPDX-License-Identifier: MIT */
/*
 * Malformed and hostile input on raw sockets (no libnbd): unknown client
 * flags, bad option magic, a 1 GiB option (NBD_REP_ERR_TOO_BIG, then a
 * close without reading the data), a truncated option, unknown options
 * (NBD_REP_ERR_UNSUP, negotiation goes on), malformed NBD_OPT_GO and
 * meta-context options (NBD_REP_ERR_INVALID, negotiation goes on); then in
 * transmission: a bad request magic (closed), an unknown command (EINVAL
 * with the same cookie, simple and structured), a truncated header, a
 * 64 MiB write (closed without reading it), a read past the end of the
 * export (EINVAL), a
 * request stream split into single bytes, NBD_CMD_DISC after a write
 * (answered, then closed).  After every case a separate client is served
 * correctly and the daemon is alive.
 */
#include <config.h>

#include "nbd-test-helpers.h"

#define MIB (1024u * 1024u)
#define SIZE (16 * MIB)

static const char conf_text[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "max-payload = 1M\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 16M\n";

static struct test_server srv;
static struct raw_opt_reply rep;

/* A well-behaved client: write, read back, compare, disconnect. */
static void
healthy(const char *after)
{
    static uint32_t seed;
    uint64_t size, cookie;
    uint16_t tflags;
    uint32_t err;
    uint8_t data[4096], back[4096];
    int fd;

    test_server_check_alive(&srv);
    fd = raw_connect_go(srv.sock, "mem", false, false, &size, &tflags);
    CHECK(size == SIZE, "after %s: size %" PRIu64, after, size);
    test_fill(data, sizeof data, 4096, ++seed);
    raw_send_request(fd, 0, RAW_CMD_WRITE, 0x11, 4096, sizeof data);
    raw_write_full(fd, data, sizeof data);
    CHECK(raw_read_simple_reply(fd, &err, &cookie, 5000) == 0 &&
          cookie == 0x11 && err == 0, "after %s: write failed", after);
    raw_send_request(fd, 0, RAW_CMD_READ, 0x12, 4096, sizeof back);
    CHECK(raw_read_simple_reply(fd, &err, &cookie, 5000) == 0 &&
          cookie == 0x12 && err == 0, "after %s: read failed", after);
    CHECK(test_read_full(fd, back, sizeof back, 5000) == (ssize_t)sizeof back &&
          memcmp(back, data, sizeof data) == 0,
          "after %s: data read back differs", after);
    raw_send_request(fd, 0, RAW_CMD_DISC, 0x13, 0, 0);
    close(fd);
    printf("ok: %s\n", after);
}

static void
expect_opt_reply(int fd, uint32_t opt, uint32_t type, const char *what)
{
    CHECK(raw_read_opt_reply(fd, &rep, 3000) == 0, "%s: no option reply",
          what);
    CHECK(rep.opt == opt, "%s: reply names option %u, want %u", what, rep.opt,
          opt);
    CHECK(rep.type == type, "%s: reply type 0x%x, want 0x%x", what, rep.type,
          type);
}

/* Negotiation still works on fd: LIST answers, then GO enters. */
static void
negotiation_continues(int fd, const char *what)
{
    uint8_t buf[64];
    size_t len;

    raw_send_opt(fd, RAW_OPT_LIST, NULL, 0);
    expect_opt_reply(fd, RAW_OPT_LIST, RAW_REP_SERVER, what);
    expect_opt_reply(fd, RAW_OPT_LIST, RAW_REP_ACK, what);
    len = raw_build_go(buf, "mem", NULL, 0);
    raw_send_opt(fd, RAW_OPT_GO, buf, (uint32_t)len);
    do {
        CHECK(raw_read_opt_reply(fd, &rep, 3000) == 0, "%s: GO", what);
    } while (rep.type == RAW_REP_INFO);
    CHECK(rep.type == RAW_REP_ACK, "%s: GO after the error: 0x%x", what,
          rep.type);
}

/* --- handshake ------------------------------------------------------- */

static void
test_bad_client_flags(void)
{
    int fd = test_connect_unix(srv.sock);

    CHECK(fd >= 0, "connect");
    raw_greet(fd, 0x80000003u);
    raw_expect_closed(fd, "unknown client flags");
    healthy("unknown client flags: closed");
}

static void
test_bad_option_magic(void)
{
    int fd = raw_greeted(srv.sock);

    raw_write_full(fd, "IHAVEOPX\0\0\0\3\0\0\0\0", 16);
    raw_expect_closed(fd, "bad option magic");
    healthy("bad option magic: closed");
}

static void
test_option_too_big(void)
{
    int fd = raw_greeted(srv.sock);
    int64_t t0 = test_now_ms();
    size_t extra;

    /* Header only: the 1 GiB of data is never sent. */
    {
        uint8_t h[16];
        uint64_t m = htobe64(RAW_IHAVEOPT);
        uint32_t o = htobe32(RAW_OPT_GO), l = htobe32(1u << 30);

        memcpy(h, &m, 8);
        memcpy(h + 8, &o, 4);
        memcpy(h + 12, &l, 4);
        raw_write_full(fd, h, sizeof h);
    }
    expect_opt_reply(fd, RAW_OPT_GO, RAW_REP_ERR_TOO_BIG, "1 GiB option");
    CHECK(raw_expect_eof(fd, 3000, &extra),
          "1 GiB option: no close after NBD_REP_ERR_TOO_BIG");
    CHECK(test_now_ms() - t0 < 3000, "1 GiB option: refused too slowly");
    close(fd);
    healthy("1 GiB option: NBD_REP_ERR_TOO_BIG and closed unread");
}

static void
test_truncated_option(void)
{
    int fd = raw_greeted(srv.sock);
    uint8_t h[16];
    uint64_t m = htobe64(RAW_IHAVEOPT);
    uint32_t o = htobe32(RAW_OPT_GO), l = htobe32(100);

    memcpy(h, &m, 8);
    memcpy(h + 8, &o, 4);
    memcpy(h + 12, &l, 4);
    raw_write_full(fd, h, sizeof h);
    raw_write_full(fd, "\0\0\0\3mem", 7);
    shutdown(fd, SHUT_WR);
    raw_expect_closed(fd, "truncated option then EOF");
    healthy("truncated option then EOF");

    /* A truncated option header, too. */
    fd = raw_greeted(srv.sock);
    raw_write_full(fd, "IHAVEO", 6);
    shutdown(fd, SHUT_WR);
    raw_expect_closed(fd, "truncated option header then EOF");
    healthy("truncated option header then EOF");
}

static void
test_unknown_option(void)
{
    int fd = raw_greeted(srv.sock);
    uint8_t junk[20] = { 1, 2, 3 };

    raw_send_opt(fd, 0x1234, junk, sizeof junk);
    expect_opt_reply(fd, 0x1234, RAW_REP_ERR_UNSUP, "unknown option");
    raw_send_opt(fd, 4 /* NBD_OPT_PEEK_EXPORT, withdrawn */, NULL, 0);
    expect_opt_reply(fd, 4, RAW_REP_ERR_UNSUP, "NBD_OPT_PEEK_EXPORT");
    negotiation_continues(fd, "unknown option");
    raw_send_request(fd, 0, RAW_CMD_DISC, 1, 0, 0);
    close(fd);
    healthy("unknown option: NBD_REP_ERR_UNSUP, negotiation continued");
}

static void
test_malformed_go(void)
{
    int fd = raw_greeted(srv.sock);
    uint8_t buf[64];
    uint32_t be;
    size_t len;

    /* Name length larger than the option. */
    be = htobe32(200);
    memcpy(buf, &be, 4);
    memcpy(buf + 4, "mem\0\0", 5);
    raw_send_opt(fd, RAW_OPT_GO, buf, 9);
    expect_opt_reply(fd, RAW_OPT_GO, RAW_REP_ERR_INVALID,
                     "GO: name longer than the option");
    /* Too short for even the counts. */
    raw_send_opt(fd, RAW_OPT_GO, "\0\0", 2);
    expect_opt_reply(fd, RAW_OPT_GO, RAW_REP_ERR_INVALID, "GO: 2 bytes");
    /* Three information requests announced, one present. */
    len = raw_build_go(buf, "mem", (const uint16_t[]){ 3 }, 1);
    buf[4 + 3 + 1] = 3;
    raw_send_opt(fd, RAW_OPT_INFO, buf, (uint32_t)len);
    expect_opt_reply(fd, RAW_OPT_INFO, RAW_REP_ERR_INVALID,
                     "INFO: request count larger than the data");
    /* Trailing junk after the requests. */
    len = raw_build_go(buf, "mem", NULL, 0);
    buf[len++] = 0;
    raw_send_opt(fd, RAW_OPT_GO, buf, (uint32_t)len);
    expect_opt_reply(fd, RAW_OPT_GO, RAW_REP_ERR_INVALID,
                     "GO: an odd trailing byte");
    /* Data on options that take none (the protocol: SHOULD be INVALID). */
    raw_send_opt(fd, RAW_OPT_LIST, "x", 1);
    expect_opt_reply(fd, RAW_OPT_LIST, RAW_REP_ERR_INVALID, "LIST with data");
    raw_send_opt(fd, RAW_OPT_STRUCTURED_REPLY, "x", 1);
    expect_opt_reply(fd, RAW_OPT_STRUCTURED_REPLY, RAW_REP_ERR_INVALID,
                     "STRUCTURED_REPLY with data");
    raw_send_opt(fd, RAW_OPT_STARTTLS, NULL, 0);
    CHECK(raw_read_opt_reply(fd, &rep, 3000) == 0 &&
          rep.opt == RAW_OPT_STARTTLS &&
          (rep.type == RAW_REP_ERR_UNSUP || rep.type == RAW_REP_ERR_POLICY),
          "STARTTLS without TLS: must be ERR_UNSUP or ERR_POLICY, got 0x%x",
          rep.type);

    /* Meta contexts: structured replies first. */
    raw_send_opt(fd, RAW_OPT_STRUCTURED_REPLY, NULL, 0);
    expect_opt_reply(fd, RAW_OPT_STRUCTURED_REPLY, RAW_REP_ACK, "SR");
    {
        /* A query whose length runs past the option: MUST be INVALID. */
        uint8_t q[64];
        size_t p = 0;
        uint32_t v;

        v = htobe32(3);
        memcpy(q + p, &v, 4);
        p += 4;
        memcpy(q + p, "mem", 3);
        p += 3;
        v = htobe32(1);
        memcpy(q + p, &v, 4);
        p += 4;
        v = htobe32(500);
        memcpy(q + p, &v, 4);
        p += 4;
        memcpy(q + p, "base:allocation", 15);
        p += 15;
        raw_send_opt(fd, RAW_OPT_SET_META_CONTEXT, q, (uint32_t)p);
        expect_opt_reply(fd, RAW_OPT_SET_META_CONTEXT, RAW_REP_ERR_INVALID,
                         "SET_META_CONTEXT: query past the option");
        raw_send_opt(fd, RAW_OPT_LIST_META_CONTEXT, q, (uint32_t)p);
        expect_opt_reply(fd, RAW_OPT_LIST_META_CONTEXT, RAW_REP_ERR_INVALID,
                         "LIST_META_CONTEXT: query past the option");
        /* Fix the query length: LIST answers base:allocation. */
        v = htobe32(15);
        memcpy(q + 11, &v, 4);
        raw_send_opt(fd, RAW_OPT_LIST_META_CONTEXT, q, (uint32_t)p);
        expect_opt_reply(fd, RAW_OPT_LIST_META_CONTEXT, RAW_REP_META_CONTEXT,
                         "LIST_META_CONTEXT base:allocation");
        CHECK(rep.len == 4 + 15 && memcmp(rep.data + 4, "base:allocation",
                                          15) == 0,
              "LIST_META_CONTEXT: context name");
        memcpy(&v, rep.data, 4);
        SOFT_CHECK(v == 0, "LIST_META_CONTEXT: the context ID SHOULD be 0 "
                   "in a LIST reply, got %u", be32toh(v));
        expect_opt_reply(fd, RAW_OPT_LIST_META_CONTEXT, RAW_REP_ACK, "ACK");
    }
    negotiation_continues(fd, "malformed GO");
    raw_send_request(fd, 0, RAW_CMD_DISC, 1, 0, 0);
    close(fd);
    healthy("malformed GO/INFO/LIST/META options: NBD_REP_ERR_INVALID");
}

static void
test_abort(void)
{
    int fd = raw_greeted(srv.sock);
    size_t extra;

    raw_send_opt(fd, RAW_OPT_ABORT, NULL, 0);
    expect_opt_reply(fd, RAW_OPT_ABORT, RAW_REP_ACK, "NBD_OPT_ABORT");
    CHECK(raw_expect_eof(fd, 3000, &extra), "no close after NBD_OPT_ABORT");
    close(fd);
    /* Abort and hang up at once, without reading the reply. */
    fd = raw_greeted(srv.sock);
    raw_send_opt(fd, RAW_OPT_ABORT, NULL, 0);
    close(fd);
    healthy("NBD_OPT_ABORT: ACK and close");
}

static void
test_bytewise_handshake(void)
{
    int fd = test_connect_unix(srv.sock);
    uint8_t g[18], msg[64];
    size_t len = 0, go;
    uint32_t fl = htobe32(3);

    CHECK(fd >= 0, "connect");
    CHECK(test_read_full(fd, g, sizeof g, 3000) == 18, "greeting");
    memcpy(msg, &fl, 4);
    len = 4;
    {
        uint64_t m = htobe64(RAW_IHAVEOPT);
        uint32_t o = htobe32(RAW_OPT_GO), l;

        go = raw_build_go(msg + len + 16, "mem", NULL, 0);
        l = htobe32((uint32_t)go);
        memcpy(msg + len, &m, 8);
        memcpy(msg + len + 8, &o, 4);
        memcpy(msg + len + 12, &l, 4);
        len += 16 + go;
    }
    for (size_t i = 0; i < len; i++) {
        raw_write_full(fd, msg + i, 1);
        test_sleep_ms(1);
    }
    do {
        CHECK(raw_read_opt_reply(fd, &rep, 3000) == 0, "byte-wise GO");
    } while (rep.type == RAW_REP_INFO);
    CHECK(rep.type == RAW_REP_ACK, "byte-wise GO: 0x%x", rep.type);

    /* A write sent one byte at a time, then read back. */
    {
        uint8_t req[28 + 300], back[300];
        uint64_t cookie;
        uint32_t err;

        raw_send_request(fd, 0, RAW_CMD_WRITE, 0x77, 1000, 300);
        /* (header went whole; now the payload byte by byte) */
        test_fill(req, 300, 1000, 0x99);
        for (int i = 0; i < 300; i++) {
            raw_write_full(fd, req + i, 1);
        }
        CHECK(raw_read_simple_reply(fd, &err, &cookie, 3000) == 0 &&
              err == 0 && cookie == 0x77, "byte-wise write");
        raw_send_request(fd, 0, RAW_CMD_READ, 0x78, 1000, 300);
        CHECK(raw_read_simple_reply(fd, &err, &cookie, 3000) == 0 &&
              err == 0 && cookie == 0x78, "read");
        CHECK(test_read_full(fd, back, 300, 3000) == 300 &&
              memcmp(back, req, 300) == 0, "byte-wise write: data differs");
    }
    close(fd);
    healthy("handshake and payload split into single bytes");
}

/* --- transmission ----------------------------------------------------- */

static void
test_bad_request_magic(void)
{
    uint64_t size;
    uint16_t tflags;
    int fd = raw_connect_go(srv.sock, "mem", false, false, &size, &tflags);
    uint8_t bad[28] = { 0x25, 0x60, 0x95, 0x14 };

    raw_write_full(fd, bad, sizeof bad);
    raw_expect_closed(fd, "bad request magic");
    healthy("bad request magic: closed");
}

static void
test_unknown_command(void)
{
    for (int sr = 0; sr <= 1; sr++) {
        uint64_t size, cookie;
        uint16_t tflags;
        uint32_t err;
        int fd = raw_connect_go(srv.sock, "mem", sr, false, &size, &tflags);
        uint64_t k = UINT64_C(0xfeedface00000000) | (uint64_t)sr;
        struct raw_chunk c;

        raw_send_request(fd, 0, 42, k, 0, 512);
        raw_send_request(fd, 0, 8 /* NBD_CMD_RESIZE, not negotiated */, k + 2,
                         0, 0);
        for (int i = 0; i < 2; i++) {
            uint64_t want = i ? k + 2 : k;

            if (sr) {
                CHECK(raw_read_chunk(fd, &c, 3000) == 0,
                      "unknown command: no reply");
                CHECK(c.cookie == want && c.type == RAW_REPLY_TYPE_ERROR &&
                      (c.flags & 1) && raw_chunk_error(&c) == EINVAL,
                      "unknown command (structured): cookie 0x%" PRIx64
                      " type %u flags %u, want EINVAL error chunk for 0x%"
                      PRIx64, c.cookie, c.type, c.flags, want);
                free(c.payload);
            } else {
                CHECK(raw_read_simple_reply(fd, &err, &cookie, 3000) == 0,
                      "unknown command: no reply");
                CHECK(cookie == want && err == EINVAL,
                      "unknown command: cookie 0x%" PRIx64 " error %u", cookie,
                      err);
            }
        }
        /* Same connection: a read still works. */
        raw_send_request(fd, 0, RAW_CMD_READ, 5, 0, 16);
        if (sr) {
            CHECK(raw_read_chunk(fd, &c, 3000) == 0 && c.cookie == 5 &&
                  c.type == RAW_REPLY_TYPE_OFFSET_DATA && c.length == 24,
                  "read after an unknown command");
            free(c.payload);
        } else {
            uint8_t d[16];

            CHECK(raw_read_simple_reply(fd, &err, &cookie, 3000) == 0 &&
                  cookie == 5 && err == 0 &&
                  test_read_full(fd, d, 16, 3000) == 16,
                  "read after an unknown command");
        }
        raw_send_request(fd, 0, RAW_CMD_DISC, 6, 0, 0);
        close(fd);
    }
    healthy("unknown command: EINVAL with the same cookie");
}

static void
test_truncated_header(void)
{
    uint64_t size;
    uint16_t tflags;
    int fd = raw_connect_go(srv.sock, "mem", false, false, &size, &tflags);

    raw_write_full(fd, "\x25\x60\x95\x13\0\0\0\0\0\0", 10);
    shutdown(fd, SHUT_WR);
    raw_expect_closed(fd, "truncated request header then EOF");
    healthy("truncated request header then EOF");
}

static void
test_huge_write(void)
{
    uint64_t size;
    uint16_t tflags;
    int fd = raw_connect_go(srv.sock, "mem", false, false, &size, &tflags);
    uint8_t buf[16];
    ssize_t n;

    /* 64 MiB announced, nothing sent: a server that tries to read it
     * would wait forever. */
    raw_send_request(fd, 0, RAW_CMD_WRITE, 9, 0, 64 * MIB);
    n = test_read_full(fd, buf, sizeof buf, 3000);
    CHECK(n != -ETIMEDOUT,
          "64 MiB write: the connection was not closed within 3 s (is the "
          "server waiting for the payload?)");
    if (n == (ssize_t)sizeof buf) {
        uint32_t err;

        memcpy(&err, buf + 4, 4);
        CHECK(be32toh(err) != 0, "64 MiB write answered with success");
        raw_expect_closed(fd, "64 MiB write");
    } else {
        close(fd);
    }
    healthy("64 MiB write: closed without reading the payload");
}

static void
test_huge_read(void)
{
    for (int sr = 0; sr <= 1; sr++) {
        uint64_t size, cookie;
        uint16_t tflags;
        uint32_t err;
        int fd = raw_connect_go(srv.sock, "mem", sr, false, &size, &tflags);
        struct raw_chunk c;

        /* 4 GiB - 1: past the end of the 16 MiB export. */
        raw_send_request(fd, 0, RAW_CMD_READ, 0xabc, 0, 0xffffffffu);
        if (sr) {
            CHECK(raw_read_chunk(fd, &c, 3000) == 0, "huge read: no reply");
            CHECK(c.cookie == 0xabc && c.type == RAW_REPLY_TYPE_ERROR &&
                  (c.flags & 1) && raw_chunk_error(&c) == EINVAL,
                  "huge read (structured): type %u error %u", c.type,
                  c.type == RAW_REPLY_TYPE_ERROR ? raw_chunk_error(&c) : 0);
            free(c.payload);
        } else {
            CHECK(raw_read_simple_reply(fd, &err, &cookie, 3000) == 0,
                  "huge read: no reply");
            CHECK(cookie == 0xabc && err == EINVAL,
                  "huge read: cookie 0x%" PRIx64 " error %u", cookie, err);
        }
        /* DF without structured replies is not valid. */
        if (!sr) {
            raw_send_request(fd, 4 /* DF */, RAW_CMD_READ, 0xabe, 0, 512);
            CHECK(raw_read_simple_reply(fd, &err, &cookie, 3000) == 0 &&
                  cookie == 0xabe && err == EINVAL,
                  "DF without structured replies: error %u", err);
        }
        raw_send_request(fd, 0, RAW_CMD_DISC, 6, 0, 0);
        close(fd);
    }
    healthy("huge read length: EINVAL, connection kept");
}

static void
test_disc_after_write(void)
{
    uint64_t size, cookie;
    uint16_t tflags;
    uint32_t err;
    int fd = raw_connect_go(srv.sock, "mem", false, false, &size, &tflags);
    uint8_t data[65536], back[65536];

    test_fill(data, sizeof data, 8 * MIB, 0x44);
    raw_send_request(fd, 0, RAW_CMD_WRITE, 0x21, 8 * MIB, sizeof data);
    raw_write_full(fd, data, sizeof data);
    raw_send_request(fd, 0, RAW_CMD_DISC, 0x22, 0, 0);
    /* The outstanding write is answered, then the server closes. */
    CHECK(raw_read_simple_reply(fd, &err, &cookie, 3000) == 0 &&
          cookie == 0x21 && err == 0,
          "NBD_CMD_DISC: the outstanding write was not answered");
    raw_expect_closed(fd, "NBD_CMD_DISC");

    fd = raw_connect_go(srv.sock, "mem", false, false, &size, &tflags);
    raw_send_request(fd, 0, RAW_CMD_READ, 0x23, 8 * MIB, sizeof back);
    CHECK(raw_read_simple_reply(fd, &err, &cookie, 3000) == 0 && err == 0 &&
          test_read_full(fd, back, sizeof back, 3000) == (ssize_t)sizeof back &&
          memcmp(back, data, sizeof data) == 0,
          "the write before NBD_CMD_DISC is not there");
    close(fd);
    healthy("NBD_CMD_DISC: outstanding write answered, then closed");
}

/* Many requests in one send, a bad one in the middle. */
static void
test_pipelined_with_error(void)
{
    uint64_t size, cookie;
    uint16_t tflags;
    uint32_t err;
    int fd = raw_connect_go(srv.sock, "mem", false, false, &size, &tflags);
    int seen[100] = { 0 };

    for (int i = 0; i < 100; i++) {
        if (i == 50) {
            raw_send_request(fd, 0, RAW_CMD_READ, (uint64_t)i, SIZE, 512);
        } else {
            raw_send_request(fd, 0, RAW_CMD_FLUSH, (uint64_t)i, 0, 0);
        }
    }
    for (int i = 0; i < 100; i++) {
        CHECK(raw_read_simple_reply(fd, &err, &cookie, 3000) == 0,
              "pipelined: reply %d missing", i);
        CHECK(cookie < 100 && !seen[cookie], "pipelined: bad cookie %" PRIu64,
              cookie);
        seen[cookie] = 1;
        CHECK(err == (cookie == 50 ? (uint32_t)EINVAL : 0u),
              "pipelined: request %" PRIu64 " error %u", cookie, err);
    }
    close(fd);
    healthy("100 pipelined requests with a bad one in the middle");
}

int
main(void)
{
    test_init("test-nbd-malformed", 120);
    test_server_start(&srv, conf_text);
    healthy("start");
    test_bad_client_flags();
    test_bad_option_magic();
    test_option_too_big();
    test_truncated_option();
    test_unknown_option();
    test_malformed_go();
    test_abort();
    test_bytewise_handshake();
    test_bad_request_magic();
    test_unknown_command();
    test_truncated_header();
    test_huge_write();
    test_huge_read();
    test_disc_after_write();
    test_pipelined_with_error();
    test_server_check_alive(&srv);
    test_server_stop(&srv);
    return test_finish();
}
