/* SPDX-License-Identifier: MIT */
/*
 * Large requests on raw sockets: one 200 MiB READ (12 times max-payload,
 * unaligned) in simple, structured and extended mode, every byte checked
 * against the known pattern, with a small READ pipelined behind it (its
 * reply must not land inside the big one's data); a 12 MiB DF read, sent
 * in pieces too but as one DATA chunk, with the same small READ behind
 * it; the server's peak RSS (VmHWM) must grow far less than the request,
 * because reads are sent in pieces.  Then a write of max-payload + 1 is
 * refused with EINVAL and the next request on the same connection is
 * served.  Last, a read that fails in its second piece (the file behind
 * a file export shrank): a simple reply is cut off by a hard disconnect
 * (the protocol's rule once a header said success), chunks end with an
 * EIO error chunk and the connection goes on, a DF chunk is completed
 * with zeros before the error chunk.
 *
 * The export is a sparse memory disk with 4 KiB of pattern at every MiB,
 * so the data itself costs the server little memory.
 */
#include <config.h>

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "nbd-test-helpers.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define SIZE (256 * MIB)
#define BIG (200 * MIB)
#define BIG_OFF (8 * MIB + 512)
#define MAX_PAYLOAD (16 * MIB)
#define DF_LEN (12 * MIB + 4096)
#define NBD_TEST_PIECE (4 * MIB) /* the server's read piece */

static const char conf_text[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "max-payload = 16M\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 256M\n"
    "[export shrink]\n"
    "backend = file\n"
    "path = @DIR@/shrink.img\n";

static struct test_server srv;
static uint8_t pattern[4096];

/* The export's byte at off. */
static uint8_t
expected(uint64_t off)
{
    return off % MIB < sizeof pattern ? pattern[off % MIB] : 0;
}

static void
check_bytes(const uint8_t *p, uint64_t off, size_t len, const char *what)
{
    for (size_t i = 0; i < len; i++) {
        CHECK(p[i] == expected(off + i),
              "%s: byte at offset %" PRIu64 " is 0x%02x, want 0x%02x", what,
              off + i, p[i], expected(off + i));
    }
}

/* Peak resident set of the server, in KiB. */
static long
server_hwm_kib(void)
{
    char path[64], line[256];
    long kib = -1;
    FILE *fp;

    snprintf(path, sizeof path, "/proc/%d/status", (int)srv.pid);
    fp = fopen(path, "r");
    CHECK(fp != NULL, "%s: %s", path, strerror(errno));
    while (fgets(line, sizeof line, fp)) {
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(fp);
    CHECK(kib > 0, "no VmHWM in %s", path);
    return kib;
}

static void
setup(void)
{
    uint64_t size;
    uint16_t tflags;
    uint32_t err = 0;
    uint64_t cookie;
    int fd = raw_connect_go(srv.sock, "mem", false, false, &size, &tflags);

    CHECK(size == SIZE, "size %" PRIu64, size);
    test_fill(pattern, sizeof pattern, 0, 0x4c);
    for (uint64_t off = 0; off < SIZE; off += MIB) {
        raw_send_request(fd, 0, RAW_CMD_WRITE, off, off, sizeof pattern);
        raw_write_full(fd, pattern, sizeof pattern);
        CHECK(raw_read_simple_reply(fd, &err, &cookie, 5000) == 0 &&
              err == 0 && cookie == off, "pattern write at %" PRIu64, off);
    }
    raw_send_request(fd, 0, RAW_CMD_DISC, 0, 0, 0);
    close(fd);
}

/* Simple replies: the header, then BIG bytes, read 1 MiB at a time. */
static void
recv_simple_big(int fd, uint8_t *buf)
{
    for (uint64_t done = 0; done < BIG; done += MIB) {
        CHECK(test_read_full(fd, buf, MIB, 10000) == (ssize_t)MIB,
              "simple: short data after %" PRIu64 " bytes", done);
        check_bytes(buf, BIG_OFF + done, MIB, "simple 200 MiB read");
    }
}

/* Chunks of the big read until DONE: every byte covered exactly once.
 * The small read's chunk may come in between (chunks of different
 * replies may interleave): returns whether it did. */
static bool
recv_chunks_big(int fd, enum raw_mode m, uint8_t *seen)
{
    bool small = false;
    uint64_t covered = 0;
    bool done = false;

    memset(seen, 0, BIG / 8);
    while (!done) {
        struct raw_chunk c;
        uint64_t at, len;

        CHECK((m == RAW_EXTENDED ? raw_read_ext_chunk(fd, &c, 10000)
                                 : raw_read_chunk(fd, &c, 10000)) == 0,
              "200 MiB read: no chunk after %" PRIu64 " bytes", covered);
        if (c.cookie == 2 && !small) {
            CHECK(c.type == RAW_REPLY_TYPE_OFFSET_DATA && (c.flags & 1) &&
                  c.length == 8 + 4096, "small read: chunk");
            check_bytes(c.payload + 8, 3 * MIB, 4096, "small read");
            small = true;
            free(c.payload);
            continue;
        }
        CHECK(c.cookie == 1, "chunk for cookie %" PRIu64, c.cookie);
        done = c.flags & 1;
        if (c.type == RAW_REPLY_TYPE_NONE) {
            free(c.payload);
            continue;
        }
        CHECK(c.type == RAW_REPLY_TYPE_OFFSET_DATA ||
              c.type == RAW_REPLY_TYPE_OFFSET_HOLE,
              "200 MiB read: chunk type %u (error %u)", c.type,
              c.type & 0x8000 ? raw_chunk_error(&c) : 0);
        memcpy(&at, c.payload, 8);
        at = be64toh(at);
        if (c.type == RAW_REPLY_TYPE_OFFSET_DATA) {
            len = c.length - 8;
            check_bytes(c.payload + 8, at, len, "200 MiB read, DATA chunk");
        } else {
            uint32_t n;

            memcpy(&n, c.payload + 8, 4);
            len = be32toh(n);
            for (uint64_t i = 0; i < len; i++) {
                CHECK(expected(at + i) == 0, "HOLE chunk over data at %" PRIu64,
                      at + i);
            }
        }
        CHECK(at >= BIG_OFF && at + len <= BIG_OFF + BIG,
              "chunk [%" PRIu64 ", +%" PRIu64 ") outside the request", at, len);
        for (uint64_t i = at - BIG_OFF; i < at - BIG_OFF + len; i++) {
            CHECK(!(seen[i / 8] & (1u << (i % 8))), "byte %" PRIu64
                  " sent twice", i + BIG_OFF);
            seen[i / 8] |= (uint8_t)(1u << (i % 8));
        }
        covered += len;
        free(c.payload);
    }
    CHECK(covered == BIG, "200 MiB read: %" PRIu64 " bytes covered", covered);
    return small;
}

/* The small read pipelined behind the big one (cookie 2, 4 KiB at 3 MiB). */
static void
recv_small(int fd, enum raw_mode m)
{
    uint8_t d[4096];

    if (m == RAW_COMPACT) {
        uint32_t err = 0;
        uint64_t cookie = 0;

        CHECK(raw_read_simple_reply(fd, &err, &cookie, 10000) == 0 &&
              cookie == 2 && err == 0, "small read: reply");
        CHECK(test_read_full(fd, d, sizeof d, 10000) == (ssize_t)sizeof d,
              "small read: data");
    } else {
        struct raw_chunk c;

        CHECK((m == RAW_EXTENDED ? raw_read_ext_chunk(fd, &c, 10000)
                                 : raw_read_chunk(fd, &c, 10000)) == 0 &&
              c.cookie == 2 && c.type == RAW_REPLY_TYPE_OFFSET_DATA &&
              (c.flags & 1) && c.length == 8 + sizeof d, "small read: chunk");
        memcpy(d, c.payload + 8, sizeof d);
        free(c.payload);
    }
    check_bytes(d, 3 * MIB, sizeof d, "small read behind the big one");
}

static void
test_big_read(enum raw_mode m, uint8_t *buf)
{
    static const char *const names[] = { "simple", "structured", "extended" };
    uint64_t size;
    uint16_t tflags;
    int fd = raw_connect_mode(srv.sock, "mem", m, false, &size, &tflags);
    int64_t t0 = test_now_ms();

    if (m == RAW_EXTENDED) {
        raw_send_ext_request(fd, 0, RAW_CMD_READ, 1, BIG_OFF, BIG);
        raw_send_ext_request(fd, 0, RAW_CMD_READ, 2, 3 * MIB, 4096);
    } else {
        raw_send_request(fd, 0, RAW_CMD_READ, 1, BIG_OFF, BIG);
        raw_send_request(fd, 0, RAW_CMD_READ, 2, 3 * MIB, 4096);
    }
    if (m == RAW_COMPACT) {
        uint32_t err = 0;
        uint64_t cookie = 0;

        /* The small reply may come first, or after all the big data:
         * never in between. */
        CHECK(raw_read_simple_reply(fd, &err, &cookie, 10000) == 0 &&
              err == 0 && (cookie == 1 || cookie == 2),
              "simple: first reply: cookie %" PRIu64 " error %u", cookie, err);
        if (cookie == 2) {
            uint8_t d[4096];

            CHECK(test_read_full(fd, d, sizeof d, 10000) == (ssize_t)sizeof d,
                  "small read data");
            check_bytes(d, 3 * MIB, sizeof d, "small read");
            CHECK(raw_read_simple_reply(fd, &err, &cookie, 10000) == 0 &&
                  err == 0 && cookie == 1, "simple: big read reply");
            recv_simple_big(fd, buf);
        } else {
            recv_simple_big(fd, buf);
            recv_small(fd, m);
        }
    } else {
        if (!recv_chunks_big(fd, m, buf)) {
            recv_small(fd, m);
        }
    }
    printf("ok: 200 MiB read in %s mode, every byte right (%" PRId64 " ms)\n",
           names[m], test_now_ms() - t0);
    if (m == RAW_EXTENDED) {
        raw_send_ext_request(fd, 0, RAW_CMD_DISC, 3, 0, 0);
    } else {
        raw_send_request(fd, 0, RAW_CMD_DISC, 3, 0, 0);
    }
    close(fd);
}

/* DF: one DATA chunk covering it all (not DONE: it was sent in pieces),
 * then NONE with DONE; the small read's chunk before or after, never
 * inside. */
static void
test_df_read(enum raw_mode m)
{
    uint64_t size;
    uint16_t tflags;
    int fd = raw_connect_mode(srv.sock, "mem", m, false, &size, &tflags);
    struct raw_chunk c;
    bool small = false, data = false, done = false;

    if (m == RAW_EXTENDED) {
        raw_send_ext_request(fd, RAW_CMD_FLAG_DF, RAW_CMD_READ, 1, BIG_OFF,
                             DF_LEN);
        raw_send_ext_request(fd, 0, RAW_CMD_READ, 2, 3 * MIB, 4096);
    } else {
        raw_send_request(fd, RAW_CMD_FLAG_DF, RAW_CMD_READ, 1, BIG_OFF, DF_LEN);
        raw_send_request(fd, 0, RAW_CMD_READ, 2, 3 * MIB, 4096);
    }
    while (!done || !small) {
        CHECK((m == RAW_EXTENDED ? raw_read_ext_chunk(fd, &c, 10000)
                                 : raw_read_chunk(fd, &c, 10000)) == 0,
              "DF read: no chunk");
        if (c.cookie == 2) {
            CHECK(!small && c.type == RAW_REPLY_TYPE_OFFSET_DATA &&
                  c.length == 8 + 4096, "small read behind a DF read");
            check_bytes(c.payload + 8, 3 * MIB, 4096, "small read");
            small = true;
        } else if (!data) {
            uint64_t at;

            CHECK(c.cookie == 1 && c.type == RAW_REPLY_TYPE_OFFSET_DATA &&
                  c.length == 8 + DF_LEN,
                  "DF read: chunk type %u of %u bytes, want one DATA chunk "
                  "of all %u bytes", c.type, c.length, 8 + DF_LEN);
            memcpy(&at, c.payload, 8);
            CHECK(be64toh(at) == BIG_OFF, "DF read: chunk offset");
            check_bytes(c.payload + 8, BIG_OFF, DF_LEN, "DF read");
            data = true;
            done = c.flags & 1;
        } else {
            CHECK(c.cookie == 1 && c.type == RAW_REPLY_TYPE_NONE &&
                  (c.flags & 1) && !done, "DF read: a second content chunk");
            done = true;
        }
        free(c.payload);
    }
    if (m == RAW_EXTENDED) {
        raw_send_ext_request(fd, 0, RAW_CMD_DISC, 3, 0, 0);
    } else {
        raw_send_request(fd, 0, RAW_CMD_DISC, 3, 0, 0);
    }
    close(fd);
    printf("ok: %u-byte DF read in %s mode: one DATA chunk\n", DF_LEN,
           m == RAW_EXTENDED ? "extended" : "structured");
}

static void
test_write_over_max_payload(bool sr)
{
    static uint8_t big[MAX_PAYLOAD + 1];
    uint64_t size, cookie = 0;
    uint16_t tflags;
    uint32_t err = 0;
    int fd = raw_connect_go(srv.sock, "mem", sr, false, &size, &tflags);
    uint8_t d[4096];

    memset(big, 0xab, sizeof big);
    raw_send_request(fd, 0, RAW_CMD_WRITE, 1, 0, sizeof big);
    raw_write_full(fd, big, sizeof big);
    if (sr) {
        struct raw_chunk c;

        CHECK(raw_read_chunk(fd, &c, 10000) == 0 && c.cookie == 1 &&
              c.type == RAW_REPLY_TYPE_ERROR && raw_chunk_error(&c) == EINVAL,
              "write of max-payload + 1 (structured): want an EINVAL chunk");
        free(c.payload);
    } else {
        CHECK(raw_read_simple_reply(fd, &err, &cookie, 10000) == 0 &&
              cookie == 1 && err == EINVAL,
              "write of max-payload + 1: error %u, want EINVAL", err);
    }
    /* In sync, and nothing was written. */
    raw_send_request(fd, 0, RAW_CMD_READ, 2, 0, sizeof d);
    if (sr) {
        struct raw_chunk c;

        CHECK(raw_read_chunk(fd, &c, 10000) == 0 && c.cookie == 2 &&
              c.type == RAW_REPLY_TYPE_OFFSET_DATA && c.length == 8 + sizeof d,
              "read after the refused write");
        memcpy(d, c.payload + 8, sizeof d);
        free(c.payload);
    } else {
        CHECK(raw_read_simple_reply(fd, &err, &cookie, 10000) == 0 &&
              cookie == 2 && err == 0 &&
              test_read_full(fd, d, sizeof d, 10000) == (ssize_t)sizeof d,
              "read after the refused write");
    }
    check_bytes(d, 0, sizeof d, "data after a refused write");
    raw_send_request(fd, 0, RAW_CMD_DISC, 3, 0, 0);
    close(fd);
    printf("ok: write of max-payload + 1 refused (%s), next request served\n",
           sr ? "structured" : "simple");
}

#define SHRINK_SIZE (64 * MIB)
#define SHRINK_TO (6 * MIB)
static int shrink_fd = -1;

/* The file export: 8 MiB of pattern (seed 9) in a 64 MiB file. */
static void
shrink_create(void)
{
    char path[sizeof srv.dir + 32];
    uint8_t *d = malloc(8 * MIB);

    CHECK(d != NULL, "out of memory");
    snprintf(path, sizeof path, "%s/shrink.img", srv.dir);
    shrink_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(shrink_fd >= 0 && ftruncate(shrink_fd, SHRINK_SIZE) == 0,
          "create %s: %s", path, strerror(errno));
    test_fill(d, 8 * MIB, 0, 9);
    CHECK(pwrite(shrink_fd, d, 8 * MIB, 0) == (ssize_t)(8 * MIB), "pwrite");
    free(d);
}

static void
check_shrink(const uint8_t *p, uint64_t off, size_t len, const char *what)
{
    uint8_t want[4096];

    for (size_t done = 0; done < len; done += sizeof want) {
        size_t n = len - done < sizeof want ? len - done : sizeof want;
        ssize_t d;

        test_fill(want, n, off + done, 9);
        d = test_memdiff(p + done, want, n);
        CHECK(d < 0, "%s: wrong byte at offset %" PRIu64, what,
              off + done + (uint64_t)d);
    }
}

/* 4 KiB at 0 on the same connection: it is still in sync. */
static void
shrink_still_ok(int fd, enum raw_mode m, const char *what)
{
    uint8_t d[4096];

    if (m == RAW_EXTENDED) {
        raw_send_ext_request(fd, 0, RAW_CMD_READ, 9, 0, sizeof d);
    } else {
        raw_send_request(fd, 0, RAW_CMD_READ, 9, 0, sizeof d);
    }
    if (m == RAW_COMPACT) {
        uint32_t err = 0;
        uint64_t cookie = 0;

        CHECK(raw_read_simple_reply(fd, &err, &cookie, 10000) == 0 &&
              err == 0 && cookie == 9 &&
              test_read_full(fd, d, sizeof d, 10000) == (ssize_t)sizeof d,
              "%s: read after", what);
    } else {
        struct raw_chunk c;

        CHECK((m == RAW_EXTENDED ? raw_read_ext_chunk(fd, &c, 10000)
                                 : raw_read_chunk(fd, &c, 10000)) == 0 &&
              c.cookie == 9 && c.type == RAW_REPLY_TYPE_OFFSET_DATA &&
              c.length == 8 + sizeof d, "%s: read after", what);
        memcpy(d, c.payload + 8, sizeof d);
        free(c.payload);
    }
    check_shrink(d, 0, sizeof d, what);
}

static void
test_read_failure(void)
{
    static uint8_t got[16 * MIB];
    uint64_t size, cookie = 0;
    uint16_t tflags;
    uint32_t err = 0;
    ssize_t n;
    int fd;

    CHECK(ftruncate(shrink_fd, SHRINK_TO) == 0, "truncate: %s",
          strerror(errno));

    /* Simple: success header, the first piece, then the hang-up. */
    fd = raw_connect_mode(srv.sock, "shrink", RAW_COMPACT, false, &size,
                          &tflags);
    CHECK(size == SHRINK_SIZE, "shrink: size %" PRIu64, size);
    raw_send_request(fd, 0, RAW_CMD_READ, 1, 0, 16 * MIB);
    CHECK(raw_read_simple_reply(fd, &err, &cookie, 10000) == 0 &&
          cookie == 1 && err == 0, "simple: header");
    n = test_read_full(fd, got, 16 * MIB, 10000);
    CHECK(n >= 0 && n < (ssize_t)(16 * MIB),
          "simple reply of a failing read: %zd bytes, want a hang-up before "
          "the end", n);
    check_shrink(got, 0, (size_t)n < SHRINK_TO ? (size_t)n : SHRINK_TO,
                 "simple reply before the hang-up");
    close(fd);
    printf("ok: simple reply failing after its header: %zd bytes, then a "
           "hard disconnect\n", n);

    /* Chunks: content, then an EIO error chunk; the connection goes on. */
    for (int i = 0; i < 2; i++) {
        enum raw_mode m = i ? RAW_EXTENDED : RAW_STRUCTURED;
        struct raw_chunk c;
        bool done = false, error = false;

        fd = raw_connect_mode(srv.sock, "shrink", m, false, &size, &tflags);
        if (m == RAW_EXTENDED) {
            raw_send_ext_request(fd, 0, RAW_CMD_READ, 1, 0, 16 * MIB);
        } else {
            raw_send_request(fd, 0, RAW_CMD_READ, 1, 0, 16 * MIB);
        }
        while (!done) {
            CHECK((m == RAW_EXTENDED ? raw_read_ext_chunk(fd, &c, 10000)
                                     : raw_read_chunk(fd, &c, 10000)) == 0 &&
                  c.cookie == 1, "failing read: no chunk");
            done = c.flags & 1;
            if (c.type == RAW_REPLY_TYPE_ERROR) {
                CHECK(raw_chunk_error(&c) == EIO, "error chunk: %u, want EIO",
                      raw_chunk_error(&c));
                error = true;
            } else if (c.type == RAW_REPLY_TYPE_OFFSET_DATA) {
                uint64_t at;

                memcpy(&at, c.payload, 8);
                at = be64toh(at);
                CHECK(at + c.length - 8 <= SHRINK_TO, "data past the end of "
                      "the shrunk file");
                check_shrink(c.payload + 8, at, c.length - 8,
                             "data before the failure");
            } else {
                CHECK(c.type == RAW_REPLY_TYPE_OFFSET_HOLE,
                      "failing read: chunk type %u", c.type);
            }
            free(c.payload);
        }
        CHECK(error, "a failing read ended without an error chunk");
        shrink_still_ok(fd, m, "after a failing read with chunks");
        close(fd);
    }
    printf("ok: failing read with chunks: EIO error chunk, connection kept\n");

    /* DF: the one DATA chunk completed with zeros, then the error. */
    {
        struct raw_chunk c;

        fd = raw_connect_mode(srv.sock, "shrink", RAW_STRUCTURED, false, &size,
                              &tflags);
        raw_send_request(fd, RAW_CMD_FLAG_DF, RAW_CMD_READ, 1, 0, DF_LEN);
        CHECK(raw_read_chunk(fd, &c, 10000) == 0 && c.cookie == 1 &&
              c.type == RAW_REPLY_TYPE_OFFSET_DATA && !(c.flags & 1) &&
              c.length == 8 + DF_LEN, "DF failing read: want one DATA chunk "
              "of %u bytes, not DONE", DF_LEN);
        check_shrink(c.payload + 8, 0, NBD_TEST_PIECE, "DF data");
        for (size_t i = 8 * MIB; i < DF_LEN; i++) {
            CHECK(c.payload[8 + i] == 0, "DF padding not zero at %zu", i);
        }
        free(c.payload);
        CHECK(raw_read_chunk(fd, &c, 10000) == 0 && c.cookie == 1 &&
              c.type == RAW_REPLY_TYPE_ERROR && (c.flags & 1) &&
              raw_chunk_error(&c) == EIO, "DF failing read: want an EIO "
              "error chunk with DONE");
        free(c.payload);
        shrink_still_ok(fd, RAW_STRUCTURED, "after a failing DF read");
        raw_send_request(fd, 0, RAW_CMD_DISC, 3, 0, 0);
        close(fd);
    }
    printf("ok: failing DF read: zero padding, then EIO\n");
}

int
main(void)
{
    uint8_t *buf = malloc(BIG / 8 > MIB ? BIG / 8 : MIB);
    long before, after;

    CHECK(buf != NULL, "out of memory");
    test_init("test-nbd-large", 120);
    test_server_prepare(&srv);
    shrink_create();
    test_server_start(&srv, conf_text);
    setup();
    before = server_hwm_kib();
    for (int m = RAW_COMPACT; m <= RAW_EXTENDED; m++) {
        test_big_read((enum raw_mode)m, buf);
    }
    test_df_read(RAW_STRUCTURED);
    test_df_read(RAW_EXTENDED);
    after = server_hwm_kib();
    printf("server VmHWM: %ld KiB before the reads, %ld KiB after\n", before,
           after);
    /* A request-sized buffer would add 200 MiB; pieces add a 4 MiB
     * buffer or two (plus socket and allocator slack). */
    CHECK(after - before < 48 * 1024,
          "the server's peak RSS grew by %ld KiB for a 200 MiB read: reads "
          "are not sent in pieces", after - before);
    test_write_over_max_payload(false);
    test_write_over_max_payload(true);
    test_read_failure();
    test_server_stop(&srv);
    close(shrink_fd);
    free(buf);
    return 0;
}
