/* SPDX-License-Identifier: MIT */
/*
 * NBD error replies: each bad request gets the errno the protocol asks for
 * (EINVAL for reads/trims/block status past the end, ENOSPC for writes and
 * write-zeroes past the end, EPERM for writes on a read-only export,
 * EINVAL for flags a command does not take, EINVAL or EOVERFLOW for reads
 * over max-payload, EINVAL for BLOCK_STATUS without a metadata context),
 * with simple and with structured replies, and after every error the
 * connection still returns correct data.  libnbd's strict mode is off so
 * that it sends what it would normally refuse; what libnbd cannot send at
 * all is sent on a raw socket.
 */
#include <config.h>

#include <libnbd.h>

#include "nbd-test-helpers.h"

#define MIB (1024u * 1024u)
#define SIZE (16 * MIB)

static const char conf_text[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "max-payload = 1M\n"
    "[status]\n"
    "socket = none\n"
    "[export rw]\n"
    "backend = memory\n"
    "size = 16M\n"
    "[export ro]\n"
    "backend = memory\n"
    "size = 1M\n"
    "readonly = yes\n";

static uint8_t known[4096];
static uint8_t buf[2 * MIB + 4096];

/* The connection still works and still holds the known data. */
static void
still_ok(struct nbd_handle *nbd, const char *after)
{
    uint8_t got[sizeof known];

    CHECK(nbd_aio_is_ready(nbd),
          "after %s the connection is no longer usable (state: %s)", after,
          nbd_connection_state(nbd) ? nbd_connection_state(nbd) : "?");
    CHECK_NBD(nbd_pread(nbd, got, sizeof got, 8192, 0) == 0,
              "read after %s", after);
    CHECK(memcmp(got, known, sizeof got) == 0, "data changed after %s", after);
}

static struct nbd_handle *
open_loose(const struct test_server *s, const char *export, bool sr)
{
    struct nbd_handle *nbd = test_nbd_create();

    CHECK_NBD(nbd_set_request_structured_replies(nbd, sr) == 0, "sr");
    CHECK_NBD(nbd_set_strict_mode(nbd, 0) == 0, "strict mode off");
    CHECK_NBD(nbd_set_export_name(nbd, export) == 0, "export");
    CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0, "connect %s", export);
    CHECK(nbd_get_structured_replies_negotiated(nbd) == sr, "sr negotiated");
    return nbd;
}

static int
ignore_extent(void *opaque, const char *ctx, uint64_t offset,
              uint32_t *entries, size_t nr, int *error)
{
    (void)opaque;
    (void)ctx;
    (void)offset;
    (void)entries;
    (void)nr;
    (void)error;
    return 0;
}

#define EXPECT(call, err, what)                                               \
    do {                                                                      \
        CHECK_NBD_ERRNO((call), (err), what);                                 \
        still_ok(nbd, what);                                                  \
    } while (0)

static void
test_rw_errors(const struct test_server *s, bool sr)
{
    struct nbd_handle *nbd = open_loose(s, "rw", sr);
    const char *mode = sr ? "structured" : "simple";
    nbd_extent_callback ecb = { .callback = ignore_extent };

    CHECK_NBD(nbd_pwrite(nbd, known, sizeof known, 8192, 0) == 0, "pwrite");
    still_ok(nbd, "setup");

    /* Past the end of the export. */
    EXPECT(nbd_pread(nbd, buf, 4096, SIZE, 0), EINVAL, "read at the size");
    EXPECT(nbd_pread(nbd, buf, 4096, SIZE - 100, 0), EINVAL,
           "read crossing the end");
    EXPECT(nbd_pread(nbd, buf, 1, UINT64_C(1) << 62, 0), EINVAL,
           "read far past the end");
    EXPECT(nbd_trim(nbd, 8192, SIZE - 4096, 0), EINVAL, "trim crossing the end");
    EXPECT(nbd_cache(nbd, 8192, SIZE, 0), EINVAL, "cache past the end");
    EXPECT(nbd_pwrite(nbd, buf, 4096, SIZE - 1, 0), ENOSPC,
           "write crossing the end (the protocol: SHOULD be ENOSPC)");
    EXPECT(nbd_zero(nbd, 4096, SIZE, 0), ENOSPC,
           "write zeroes past the end (the protocol: SHOULD be ENOSPC)");
    if (sr) {
        EXPECT(nbd_block_status(nbd, 4096, SIZE, ecb, 0), EINVAL,
               "block status past the end");
    }

    /* offset + length wraps around 2^64. */
    EXPECT(nbd_pread(nbd, buf, 4096, UINT64_MAX - 100, 0), EINVAL,
           "read whose offset+length overflows");
    EXPECT(nbd_trim(nbd, 1 * MIB, UINT64_MAX - 4095, 0), EINVAL,
           "trim whose offset+length overflows");

    /* Longer than max-payload (1 MiB): reads are sent in pieces, so any
     * length the export holds is served. */
    CHECK_NBD(nbd_pread(nbd, buf, 2 * MIB, 0, 0) == 0,
              "read longer than max-payload");
    CHECK(memcmp(buf + 8192, known, sizeof known) == 0,
          "read longer than max-payload (%s): wrong data", mode);
    if (sr) {
        int r = nbd_pread(nbd, buf, 2 * MIB, 0, LIBNBD_CMD_FLAG_DF);
        int e = nbd_get_errno();

        CHECK(r == -1 && (e == EOVERFLOW || e == EINVAL),
              "DF read longer than max-payload: r=%d errno=%d, want EOVERFLOW "
              "or EINVAL", r, e);
        still_ok(nbd, "DF read longer than max-payload");
    }

    /* Flags a command does not take. */
    EXPECT(nbd_pread(nbd, buf, 512, 0, LIBNBD_CMD_FLAG_NO_HOLE), EINVAL,
           "read with NO_HOLE");
    EXPECT(nbd_pread(nbd, buf, 512, 0, LIBNBD_CMD_FLAG_REQ_ONE), EINVAL,
           "read with REQ_ONE");
    EXPECT(nbd_pwrite(nbd, known, 512, 0, LIBNBD_CMD_FLAG_DF), EINVAL,
           "write with DF");
    EXPECT(nbd_trim(nbd, 4096, 0, LIBNBD_CMD_FLAG_NO_HOLE), EINVAL,
           "trim with NO_HOLE");
    EXPECT(nbd_trim(nbd, 4096, 0, LIBNBD_CMD_FLAG_FAST_ZERO), EINVAL,
           "trim with FAST_ZERO");
    EXPECT(nbd_flush(nbd, LIBNBD_CMD_FLAG_REQ_ONE), EINVAL,
           "flush with REQ_ONE");
    EXPECT(nbd_cache(nbd, 4096, 0, LIBNBD_CMD_FLAG_NO_HOLE), EINVAL,
           "cache with NO_HOLE");
    EXPECT(nbd_zero(nbd, 4096, 0, LIBNBD_CMD_FLAG_DF), EINVAL,
           "write zeroes with DF");
    EXPECT(nbd_pread(nbd, buf, 512, 0, 1u << 9), EINVAL,
           "read with an unknown flag bit 9");
    EXPECT(nbd_zero(nbd, 4096, 0, 1u << 15), EINVAL,
           "write zeroes with an unknown flag bit 15");
    if (!sr) {
        EXPECT(nbd_pread(nbd, buf, 512, 0, LIBNBD_CMD_FLAG_DF), EINVAL,
               "DF without structured replies");
    }
    /* A refused write must not have written anything. */
    CHECK_NBD(nbd_pread(nbd, buf, 512, 0, 0) == 0, "read");
    for (int i = 0; i < 512; i++) {
        CHECK(buf[i] == 0, "a refused write (flag DF) changed byte %d", i);
    }

    /* FUA is valid on every command once advertised. */
    SOFT_CHECK(nbd_pread(nbd, buf, 512, 0, LIBNBD_CMD_FLAG_FUA) == 0,
               "read with FUA must be accepted when FUA is advertised: %s",
               nbd_get_error());
    SOFT_CHECK(nbd_flush(nbd, LIBNBD_CMD_FLAG_FUA) == 0,
               "flush with FUA must be accepted: %s", nbd_get_error());
    SOFT_CHECK(nbd_cache(nbd, 4096, 0, LIBNBD_CMD_FLAG_FUA) == 0,
               "cache with FUA must be accepted: %s", nbd_get_error());
    still_ok(nbd, "FUA on read and flush");

    /* Zero-length requests: unspecified results, but no disconnect. */
    (void)nbd_pread(nbd, buf, 0, 0, 0);
    still_ok(nbd, "zero-length read");
    (void)nbd_pwrite(nbd, buf, 0, 4096, 0);
    still_ok(nbd, "zero-length write");
    (void)nbd_trim(nbd, 0, 0, 0);
    still_ok(nbd, "zero-length trim");
    (void)nbd_zero(nbd, 0, 0, 0);
    still_ok(nbd, "zero-length write zeroes");
    (void)nbd_cache(nbd, 0, 0, 0);
    still_ok(nbd, "zero-length cache");

    test_nbd_close(nbd);
    printf("ok: %s replies: range, overflow, max-payload and flag errors\n",
           mode);
}

static void
test_readonly(const struct test_server *s, bool sr)
{
    struct nbd_handle *nbd = open_loose(s, "ro", sr);
    uint8_t zeros[4096] = { 0 }, got[4096];

    CHECK(nbd_is_read_only(nbd) == 1, "ro must be advertised read-only");
    memcpy(known, zeros, sizeof known); /* ro holds zeros */
    EXPECT(nbd_pwrite(nbd, buf, 4096, 0, 0), EPERM, "write on read-only");
    /* FUA is not advertised read-only: EPERM or EINVAL both fit. */
    {
        int r = nbd_pwrite(nbd, buf, 4096, 0, LIBNBD_CMD_FLAG_FUA);
        int e = nbd_get_errno();

        CHECK(r == -1 && (e == EPERM || e == EINVAL),
              "FUA write on read-only: r=%d errno=%d", r, e);
        still_ok(nbd, "FUA write on read-only");
    }
    EXPECT(nbd_trim(nbd, 4096, 0, 0), EPERM, "trim on read-only");
    EXPECT(nbd_zero(nbd, 4096, 0, 0), EPERM, "write zeroes on read-only");
    CHECK_NBD(nbd_pread(nbd, got, sizeof got, 0, 0) == 0, "read");
    CHECK(memcmp(got, zeros, sizeof got) == 0,
          "a refused write changed a read-only export");
    CHECK_NBD(nbd_flush(nbd, 0) == 0, "flush on read-only is fine");
    CHECK_NBD(nbd_cache(nbd, 4096, 0, 0) == 0, "cache on read-only is fine");
    test_nbd_close(nbd);
    printf("ok: %s replies: EPERM on a read-only export\n",
           sr ? "structured" : "simple");
}

/* BLOCK_STATUS without SET_META_CONTEXT: libnbd will not send it. */
static void
test_block_status_without_context(const struct test_server *s)
{
    for (int sr = 0; sr <= 1; sr++) {
        uint64_t size, cookie;
        uint16_t tflags;
        uint32_t err;
        int fd = raw_connect_go(s->sock, "rw", sr, false, &size, &tflags);
        struct raw_chunk c;
        uint8_t data[512];

        CHECK(size == SIZE, "raw GO: size %" PRIu64, size);
        raw_send_request(fd, 0, RAW_CMD_BLOCK_STATUS, 0xb10cu, 0, 4096);
        if (sr) {
            CHECK(raw_read_chunk(fd, &c, 5000) == 0,
                  "no reply to BLOCK_STATUS without a context");
            CHECK(c.cookie == 0xb10cu, "cookie 0x%" PRIx64 " not echoed",
                  c.cookie);
            CHECK(c.type == RAW_REPLY_TYPE_ERROR && (c.flags & 1),
                  "BLOCK_STATUS without a context: chunk type %u flags %u, "
                  "want a final NBD_REPLY_TYPE_ERROR", c.type, c.flags);
            CHECK(raw_chunk_error(&c) == EINVAL, "error %u, want EINVAL",
                  raw_chunk_error(&c));
            free(c.payload);
        } else {
            CHECK(raw_read_simple_reply(fd, &err, &cookie, 5000) == 0,
                  "no reply to BLOCK_STATUS without a context");
            CHECK(cookie == 0xb10cu && err == EINVAL,
                  "simple reply cookie 0x%" PRIx64 " error %u, want EINVAL",
                  cookie, err);
        }
        /* Still usable: a simple or structured read. */
        raw_send_request(fd, 0, RAW_CMD_READ, 7, 8192, sizeof data);
        if (sr) {
            CHECK(raw_read_chunk(fd, &c, 5000) == 0, "read after the error");
            CHECK(c.cookie == 7 && c.type == RAW_REPLY_TYPE_OFFSET_DATA &&
                  c.length == 8 + sizeof data && (c.flags & 1),
                  "read after the error: type %u length %u", c.type, c.length);
            CHECK(memcmp(c.payload + 8, known, sizeof data) == 0,
                  "read after the error: wrong data");
            free(c.payload);
        } else {
            CHECK(raw_read_simple_reply(fd, &err, &cookie, 5000) == 0 &&
                  cookie == 7 && err == 0, "read after the error");
            CHECK(test_read_full(fd, data, sizeof data, 5000) ==
                  (ssize_t)sizeof data && memcmp(data, known, sizeof data) == 0,
                  "read after the error: wrong data");
        }
        close(fd);
    }
    printf("ok: BLOCK_STATUS without a metadata context -> EINVAL\n");
}

/* The protocol: a payload up to 32 MiB SHOULD NOT be treated as a denial
 * of service even above the advertised maximum: an error, not a hang-up. */
static void
test_write_over_max_payload(const struct test_server *s)
{
    struct nbd_handle *nbd = open_loose(s, "rw", true);

    memcpy(known, buf + 8192, sizeof known);
    CHECK_NBD(nbd_pwrite(nbd, known, sizeof known, 8192, 0) == 0, "pwrite");
    EXPECT(nbd_pwrite(nbd, buf, 2 * MIB, 0, 0), EINVAL,
           "2 MiB write over a 1 MiB max-payload (<= 32 MiB: the protocol "
           "says SHOULD NOT disconnect)");
    test_nbd_close(nbd);
    printf("ok: a write over max-payload but under 32 MiB gets EINVAL\n");
}

int
main(void)
{
    struct test_server s = { 0 };

    test_init("test-nbd-errors", 120);
    test_fill(known, sizeof known, 8192, 0xe7);
    test_fill(buf, sizeof buf, 0, 0x33);
    test_server_start(&s, conf_text);
    test_rw_errors(&s, true);
    test_rw_errors(&s, false);
    test_block_status_without_context(&s);
    test_readonly(&s, true);
    test_readonly(&s, false);
    test_fill(known, sizeof known, 8192, 0xe7);
    test_write_over_max_payload(&s);
    test_server_check_alive(&s);
    test_server_stop(&s);
    return test_finish();
}
