/* SPDX-License-Identifier: MIT */
/*
 * NBD transmission commands against a shadow copy of the export: READ and
 * WRITE at many offsets and sizes (unaligned, up to max-payload, at the
 * end of the export), FLUSH, FUA on write/trim/zero, TRIM and WRITE_ZEROES
 * (with and without NO_HOLE, with FAST_ZERO) reading back zeros, CACHE,
 * BLOCK_STATUS with and without REQ_ONE, DF reads (one data chunk) and
 * fragmented reads with OFFSET_HOLE chunks (covering the request exactly,
 * no overlap, data exact), and the same data through simple replies.
 * The integrity part runs on a memory export and on a file export (whose
 * requests complete asynchronously through io_uring).
 */
#include <config.h>

#include <libnbd.h>

#include "nbd-test-helpers.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define EXPORT_SIZE (48 * MIB)
#define MAX_PAYLOAD (4 * MIB)

static const char conf_text[] =
    "[server]\n"
    "iothreads = 2\n"
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "max-payload = 4M\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 48M\n"
    "[export file]\n"
    "backend = file\n"
    "path = @DIR@/disk.img\n";

static uint8_t *shadow; /* what the export under test must contain */

static void
do_write(struct nbd_handle *nbd, uint64_t off, size_t len, uint32_t seed,
         uint32_t flags)
{
    test_fill(shadow + off, len, off, seed);
    CHECK_NBD(nbd_pwrite(nbd, shadow + off, len, off, flags) == 0,
              "pwrite %zu bytes at %" PRIu64 " flags 0x%x", len, off, flags);
}

static void
expect_shadow(struct nbd_handle *nbd, uint64_t off, size_t len, uint32_t flags,
              const char *what)
{
    test_nbd_expect(nbd, shadow + off, len, off, flags, what);
}

/* Read the whole export in max-payload pieces and compare. */
static void
expect_all(struct nbd_handle *nbd, const char *what)
{
    for (uint64_t off = 0; off < EXPORT_SIZE; off += MAX_PAYLOAD) {
        expect_shadow(nbd, off, MAX_PAYLOAD, 0, what);
    }
}

static void
test_read_write(struct nbd_handle *nbd, const char *name)
{
    static const struct {
        uint64_t off;
        size_t len;
    } cases[] = {
        { 0, 1 },
        { 1, 1 },
        { 511, 2 },
        { 4095, 4097 },
        { 4096, 4096 },
        { 65535, 65538 },
        { 12345, 100000 },
        { 1 * MIB - 3, 7 },
        { 2 * MIB, MAX_PAYLOAD },          /* exactly max-payload, aligned */
        { 7 * MIB + 7, MAX_PAYLOAD },      /* max-payload, unaligned */
        { 13 * MIB + 4095, MAX_PAYLOAD - 4095 },
        { EXPORT_SIZE - 1, 1 },            /* the last byte */
        { EXPORT_SIZE - 4096, 4096 },
        { EXPORT_SIZE - 65537, 65537 },
        { 20 * MIB + 100, 3 * 65536 + 1 },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t off = cases[i].off;
        size_t len = cases[i].len;

        do_write(nbd, off, len, (uint32_t)i + 100, 0);
        expect_shadow(nbd, off, len, 0, name);
        /* Neighbours untouched, and sub-ranges. */
        if (off >= 17) {
            expect_shadow(nbd, off - 17, len + 17 <= MAX_PAYLOAD ? len + 17 : len,
                          0, name);
        }
        if (len > 2) {
            expect_shadow(nbd, off + 1, len - 2, 0, name);
        }
    }
    /* Overwrite inside earlier writes, then everything. */
    do_write(nbd, 4000, 200, 77, 0);
    do_write(nbd, 7 * MIB + 1000, 3, 78, 0);
    expect_all(nbd, name);
    printf("ok: %s: read/write at %zu offset/size pairs, whole export "
           "verified\n", name, sizeof cases / sizeof cases[0]);
}

static void
test_flush_fua(struct nbd_handle *nbd, const char *name)
{
    CHECK_NBD(nbd_can_flush(nbd) == 1 && nbd_can_fua(nbd) == 1,
              "%s: flush and FUA must be advertised", name);
    CHECK_NBD(nbd_flush(nbd, 0) == 0, "%s: flush", name);
    do_write(nbd, 30 * MIB + 3, 70000, 5, LIBNBD_CMD_FLAG_FUA);
    expect_shadow(nbd, 30 * MIB, 80000, 0, name);
    /* trim is advisory: only the reply is checked here. */
    CHECK_NBD(nbd_trim(nbd, 65536, 31 * MIB, LIBNBD_CMD_FLAG_FUA) == 0,
              "%s: trim with FUA", name);
    memset(shadow + 31 * MIB, 0, 8192);
    CHECK_NBD(nbd_zero(nbd, 8192, 31 * MIB, LIBNBD_CMD_FLAG_FUA) == 0,
              "%s: write zeroes with FUA", name);
    expect_shadow(nbd, 31 * MIB, 8192, 0, name);
    /* The trimmed remainder must be rewritten before it is trusted. */
    do_write(nbd, 31 * MIB + 8192, 65536 - 8192, 6, 0);
    CHECK_NBD(nbd_flush(nbd, 0) == 0, "%s: flush after writes", name);
    expect_shadow(nbd, 31 * MIB, 65536, 0, name);
    CHECK_NBD(nbd_cache(nbd, 1 * MIB, 0, 0) == 0, "%s: cache", name);
    CHECK_NBD(nbd_cache(nbd, 12345, EXPORT_SIZE - 12345, 0) == 0,
              "%s: cache at the end", name);
    expect_shadow(nbd, 0, 1 * MIB, 0, name);
    printf("ok: %s: flush, FUA on write/trim/zero, cache\n", name);
}

static void
test_zeroes(struct nbd_handle *nbd, const char *name)
{
    static const uint32_t flag_sets[] = {
        0,
        LIBNBD_CMD_FLAG_NO_HOLE,
        LIBNBD_CMD_FLAG_FAST_ZERO,
        LIBNBD_CMD_FLAG_NO_HOLE | LIBNBD_CMD_FLAG_FUA,
    };

    CHECK(nbd_can_zero(nbd) == 1 && nbd_can_fast_zero(nbd) == 1,
          "%s: write zeroes and fast zero must be advertised", name);
    for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
        uint64_t base = 33 * MIB + i * 512 * KIB;
        int r;

        do_write(nbd, base, 512 * KIB, 40 + (uint32_t)i, 0);
        /* Unaligned inside, aligned whole chunk, and a tail. */
        r = nbd_zero(nbd, 1000, base + 3, flag_sets[i]);
        if (r == -1 && (flag_sets[i] & LIBNBD_CMD_FLAG_FAST_ZERO)) {
            /* A fast-zero refusal is allowed, but only as ENOTSUP and
             * without changing the data. */
            CHECK(nbd_get_errno() == ENOTSUP,
                  "%s: FAST_ZERO failed with errno %d, only ENOTSUP is "
                  "allowed", name, nbd_get_errno());
        } else {
            CHECK_NBD(r == 0, "%s: zero flags 0x%x", name, flag_sets[i]);
            memset(shadow + base + 3, 0, 1000);
        }
        r = nbd_zero(nbd, 128 * KIB, base + 128 * KIB, flag_sets[i]);
        if (r == -1 && (flag_sets[i] & LIBNBD_CMD_FLAG_FAST_ZERO)) {
            CHECK(nbd_get_errno() == ENOTSUP, "%s: FAST_ZERO errno %d", name,
                  nbd_get_errno());
        } else {
            CHECK_NBD(r == 0, "%s: zero flags 0x%x", name, flag_sets[i]);
            memset(shadow + base + 128 * KIB, 0, 128 * KIB);
        }
        expect_shadow(nbd, base, 512 * KIB, 0, name);
    }
    printf("ok: %s: write zeroes with 0, NO_HOLE, FAST_ZERO, NO_HOLE|FUA\n",
           name);
}

/* --- block status ------------------------------------------------- */

struct extents {
    int calls;
    size_t n;
    uint32_t len[4096], flags[4096];
    uint64_t offset;
};

static int
extent_cb(void *opaque, const char *ctx, uint64_t offset, uint32_t *entries,
          size_t nr, int *error)
{
    struct extents *e = opaque;

    (void)error;
    if (strcmp(ctx, "base:allocation") != 0) {
        return 0;
    }
    e->calls++;
    e->offset = offset;
    for (size_t i = 0; i + 1 < nr && e->n < 4096; i += 2) {
        e->len[e->n] = entries[i];
        e->flags[e->n] = entries[i + 1];
        e->n++;
    }
    return 0;
}

static void
block_status(struct nbd_handle *nbd, uint64_t off, uint64_t len,
             uint32_t flags, struct extents *e)
{
    memset(e, 0, sizeof *e);
    CHECK_NBD(nbd_block_status(nbd, len, off,
                               (nbd_extent_callback){ .callback = extent_cb,
                                                      .user_data = e },
                               flags) == 0,
              "block status %" PRIu64 "+%" PRIu64 " flags 0x%x", off, len,
              flags);
    CHECK(e->calls == 1, "exactly one base:allocation chunk, got %d",
          e->calls);
    CHECK(e->n >= 1, "block status: no descriptor");
    if (flags & LIBNBD_CMD_FLAG_REQ_ONE) {
        CHECK(e->n == 1, "REQ_ONE: %zu descriptors, want exactly 1", e->n);
        CHECK(e->len[0] <= len, "REQ_ONE: descriptor length %u exceeds the "
              "request length %" PRIu64, e->len[0], len);
    } else {
        uint64_t sum = 0;

        for (size_t i = 0; i + 1 < e->n; i++) {
            sum += e->len[i];
        }
        CHECK(e->n == 1 || sum < len,
              "the first N-1 descriptors cover %" PRIu64 " >= request %" PRIu64,
              sum, len);
    }
    for (size_t i = 0; i < e->n; i++) {
        CHECK(e->len[i] > 0, "descriptor %zu has length 0", i);
        CHECK((e->flags[i] & ~3u) == 0, "descriptor %zu: unknown flags 0x%x", i,
              e->flags[i]);
    }
}

/* The status of byte off within a reply (or -1 if not covered). */
static int
status_at(const struct extents *e, uint64_t start, uint64_t off)
{
    uint64_t pos = start;

    for (size_t i = 0; i < e->n; i++) {
        if (off >= pos && off < pos + e->len[i]) {
            return (int)e->flags[i];
        }
        pos += e->len[i];
    }
    return -1;
}

#define HZ (LIBNBD_STATE_HOLE | LIBNBD_STATE_ZERO)

static void
test_block_status(struct nbd_handle *nbd)
{
    struct extents *e = malloc(sizeof *e);
    uint64_t base = 40 * MIB; /* untouched so far */
    uint64_t covered;

    CHECK(e != NULL, "oom");
    CHECK(nbd_can_meta_context(nbd, "base:allocation") == 1,
          "base:allocation not negotiated");

    /* Never written: one hole that reads as zeros. */
    block_status(nbd, base, 4 * MIB, 0, e);
    CHECK(e->flags[0] == HZ, "unwritten space: flags 0x%x, want HOLE|ZERO",
          e->flags[0]);
    CHECK(e->n == 1 && e->len[0] >= 4 * MIB,
          "unwritten 4 MiB should be one extent, got %zu (first %u)", e->n,
          e->len[0]);

    /* Data at [base+1M, base+1M+64K) and [base+2M+100, +10). */
    do_write(nbd, base + 1 * MIB, 64 * KIB, 90, 0);
    do_write(nbd, base + 2 * MIB + 100, 10, 91, 0);
    block_status(nbd, base, 4 * MIB, 0, e);
    covered = 0;
    for (size_t i = 0; i < e->n; i++) {
        covered += e->len[i];
    }
    CHECK(covered >= 4 * MIB, "4 MiB query covered only %" PRIu64
          " bytes with %zu extents (server may shorten, but not here: few "
          "extents)", covered, e->n);
    CHECK(status_at(e, base, base) == HZ, "hole before the data");
    CHECK(status_at(e, base, base + 1 * MIB) == 0,
          "written data at +1M reported with flags %d",
          status_at(e, base, base + 1 * MIB));
    CHECK(status_at(e, base, base + 1 * MIB + 64 * KIB - 1) == 0,
          "last written byte at +1M+64K-1 not data");
    CHECK(status_at(e, base, base + 2 * MIB + 105) == 0,
          "written bytes at +2M+100 not data");
    CHECK(status_at(e, base, base + 3 * MIB) == HZ, "hole after the data");
    /* Nothing written may be reported as zero. */
    for (size_t i = 0, pos = 0; i < e->n; pos += e->len[i], i++) {
        for (uint64_t o = pos; o < pos + e->len[i] && o < 4 * MIB; o += 4096) {
            if (e->flags[i] & LIBNBD_STATE_ZERO) {
                CHECK(shadow[base + o] == 0,
                      "extent %zu claims ZERO over nonzero data at +%" PRIu64,
                      i, o);
            }
        }
    }

    /* REQ_ONE at the start, in the data, in the middle of a chunk. */
    block_status(nbd, base, 4 * MIB, LIBNBD_CMD_FLAG_REQ_ONE, e);
    CHECK(e->flags[0] == HZ && e->len[0] == 1 * MIB,
          "REQ_ONE at a hole before data: len %u flags 0x%x, want 1 MiB "
          "HOLE|ZERO", e->len[0], e->flags[0]);
    block_status(nbd, base + 1 * MIB, 4 * MIB, LIBNBD_CMD_FLAG_REQ_ONE, e);
    CHECK(e->flags[0] == 0 && e->len[0] == 64 * KIB,
          "REQ_ONE at data: len %u flags 0x%x, want 64 KiB data", e->len[0],
          e->flags[0]);
    block_status(nbd, base + 1 * MIB + 1000, 10, LIBNBD_CMD_FLAG_REQ_ONE, e);
    CHECK(e->flags[0] == 0 && e->len[0] == 10,
          "REQ_ONE of 10 bytes inside data: len %u flags 0x%x", e->len[0],
          e->flags[0]);
    /* A query ending at the end of the export. */
    block_status(nbd, EXPORT_SIZE - 4096, 4096, 0, e);
    CHECK(e->len[0] == 4096 && e->n == 1, "last 4 KiB: one extent of 4096");

    /* Trim the whole 64 KiB data chunk: memory frees it. */
    CHECK_NBD(nbd_trim(nbd, 64 * KIB, base + 1 * MIB, 0) == 0, "trim");
    memset(shadow + base + 1 * MIB, 0, 64 * KIB);
    expect_shadow(nbd, base + 1 * MIB, 64 * KIB, 0, "trimmed data reads zero");
    block_status(nbd, base + 1 * MIB, 64 * KIB, 0, e);
    CHECK(e->flags[0] == HZ, "a trimmed 64 KiB chunk of the memory backend "
          "should be a hole, flags 0x%x", e->flags[0]);

    /* Zero without NO_HOLE may punch; with NO_HOLE it must not. */
    do_write(nbd, base + 3 * MIB, 128 * KIB, 92, 0);
    CHECK_NBD(nbd_zero(nbd, 64 * KIB, base + 3 * MIB, 0) == 0, "zero");
    CHECK_NBD(nbd_zero(nbd, 64 * KIB, base + 3 * MIB + 64 * KIB,
                       LIBNBD_CMD_FLAG_NO_HOLE) == 0, "zero NO_HOLE");
    memset(shadow + base + 3 * MIB, 0, 128 * KIB);
    expect_shadow(nbd, base + 3 * MIB, 128 * KIB, 0, "zeroed");
    block_status(nbd, base + 3 * MIB + 64 * KIB, 64 * KIB, 0, e);
    CHECK(!(e->flags[0] & LIBNBD_STATE_HOLE),
          "WRITE_ZEROES with NO_HOLE left a hole (flags 0x%x)", e->flags[0]);
    block_status(nbd, base + 3 * MIB, 64 * KIB, 0, e);
    CHECK(e->flags[0] == HZ, "WRITE_ZEROES without NO_HOLE over a whole "
          "chunk of the memory backend should punch it, flags 0x%x",
          e->flags[0]);
    free(e);
    printf("ok: block status with and without REQ_ONE, after writes, trims "
           "and zeroes\n");
}

/* --- structured reads ---------------------------------------------- */

struct chunks {
    uint64_t start, len;
    uint8_t *seen;        /* one byte per byte of the request */
    int ndata, nhole;
    bool overlap, outside;
};

static int
chunk_cb(void *opaque, const void *sub, size_t count, uint64_t offset,
         unsigned status, int *error)
{
    struct chunks *c = opaque;

    (void)sub;
    (void)error;
    if (offset < c->start || offset + count > c->start + c->len) {
        c->outside = true;
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        if (c->seen[offset - c->start + i]++) {
            c->overlap = true;
        }
    }
    if (status == LIBNBD_READ_HOLE) {
        c->nhole++;
    } else if (status == LIBNBD_READ_DATA) {
        c->ndata++;
    }
    return 0;
}

/* A structured read: data exact, chunks cover it exactly once. */
static void
structured_read(struct nbd_handle *nbd, uint64_t off, size_t len,
                uint32_t flags, struct chunks *c)
{
    uint8_t *buf = malloc(len);
    ssize_t d;

    memset(c, 0, sizeof *c);
    c->start = off;
    c->len = len;
    c->seen = calloc(1, len);
    CHECK(buf && c->seen, "oom");
    memset(buf, 0xee, len);
    CHECK_NBD(nbd_pread_structured(nbd, buf, len, off,
                                   (nbd_chunk_callback){ .callback = chunk_cb,
                                                         .user_data = c },
                                   flags) == 0,
              "structured read %zu at %" PRIu64 " flags 0x%x", len, off, flags);
    CHECK(!c->outside, "a chunk lies outside the request");
    CHECK(!c->overlap, "chunks overlap");
    for (size_t i = 0; i < len; i++) {
        CHECK(c->seen[i] == 1, "byte %zu of the read is covered by no chunk", i);
    }
    d = test_memdiff(buf, shadow + off, len);
    CHECK(d < 0, "structured read %zu at %" PRIu64 ": mismatch at byte %zd: "
          "got 0x%02x want 0x%02x", len, off, d, buf[d > 0 ? d : 0],
          shadow[off + (size_t)(d > 0 ? d : 0)]);
    free(c->seen);
    free(buf);
}

static void
test_holes_and_df(struct nbd_handle *nbd)
{
    struct chunks c;
    uint64_t base = 24 * MIB;

    /* Fresh 1 MiB: zeros; data islands that leave aligned zero runs. */
    CHECK_NBD(nbd_zero(nbd, 1 * MIB, base, 0) == 0, "zero");
    memset(shadow + base, 0, 1 * MIB);
    do_write(nbd, base, 64 * KIB, 11, 0);
    do_write(nbd, base + 256 * KIB + 5, 3000, 12, 0);
    do_write(nbd, base + 1 * MIB - 4096, 4096, 13, 0);

    /* Without DF: zero runs may come as holes; data exact. */
    structured_read(nbd, base, 1 * MIB, 0, &c);
    CHECK(c.nhole >= 1, "a 1 MiB read with 900 KiB of zeros got no "
          "OFFSET_HOLE chunk (%d data chunks)", c.ndata);
    printf("ok: fragmented read: %d data + %d hole chunks, data exact\n",
           c.ndata, c.nhole);
    /* Unaligned start and end across the same region. */
    structured_read(nbd, base + 1000, 1 * MIB - 5000, 0, &c);
    structured_read(nbd, base + 64 * KIB - 1, 200 * KIB + 3, 0, &c);

    /* With DF: exactly one data chunk, zeros explicit. */
    CHECK(nbd_can_df(nbd) == 1, "DF must be advertised with structured replies");
    structured_read(nbd, base, 1 * MIB, LIBNBD_CMD_FLAG_DF, &c);
    CHECK(c.ndata == 1 && c.nhole == 0,
          "DF read: %d data and %d hole chunks, want exactly one data chunk",
          c.ndata, c.nhole);
    structured_read(nbd, base + 3, 65536, LIBNBD_CMD_FLAG_DF, &c);
    CHECK(c.ndata == 1 && c.nhole == 0, "DF read of 64 KiB: one data chunk");

    /* Many alternating islands: more runs than the server's chunk limit. */
    base = 26 * MIB;
    CHECK_NBD(nbd_zero(nbd, 2 * MIB, base, 0) == 0, "zero");
    memset(shadow + base, 0, 2 * MIB);
    for (uint64_t o = 0; o < 2 * MIB; o += 12 * KIB) {
        do_write(nbd, base + o, 4096, (uint32_t)o, 0);
    }
    structured_read(nbd, base, 2 * MIB, 0, &c);
    structured_read(nbd, base + 4095, 1 * MIB + 3, 0, &c);
    structured_read(nbd, base + 8 * KIB, 4 * KIB, 0, &c);
    /* Zeros starting mid-block and a read ending mid-hole. */
    structured_read(nbd, base + 4 * KIB + 1, 70 * KIB, 0, &c);
    structured_read(nbd, base, MAX_PAYLOAD, 0, &c);
    printf("ok: DF reads are one chunk; reads over many holes are exact\n");
}

/* The same data through simple replies (a second connection). */
static void
test_simple_replies(const struct test_server *s, const char *export)
{
    struct nbd_handle *nbd = test_nbd_create();

    CHECK_NBD(nbd_set_request_structured_replies(nbd, false) == 0, "sr off");
    CHECK_NBD(nbd_set_export_name(nbd, export) == 0, "export");
    CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0, "connect");
    CHECK(nbd_get_structured_replies_negotiated(nbd) == 0, "sr negotiated");
    expect_all(nbd, "simple replies");
    expect_shadow(nbd, 24 * MIB + 1000, 1 * MIB, 0, "simple, holes");
    expect_shadow(nbd, 1, 3, 0, "simple, tiny");
    do_write(nbd, 5 * MIB + 3, 5000, 55, 0);
    expect_shadow(nbd, 5 * MIB, 10000, 0, "simple after write");
    test_nbd_close(nbd);
    printf("ok: %s: simple replies return the same data\n", export);
}

static struct nbd_handle *
open_with_ctx(const struct test_server *s, const char *export)
{
    struct nbd_handle *nbd = test_nbd_create();

    CHECK_NBD(nbd_add_meta_context(nbd, "base:allocation") == 0, "ctx");
    CHECK_NBD(nbd_set_export_name(nbd, export) == 0, "export");
    CHECK_NBD(nbd_connect_unix(nbd, s->sock) == 0, "connect %s", export);
    CHECK(nbd_get_size(nbd) == EXPORT_SIZE, "%s: size %" PRId64, export,
          nbd_get_size(nbd));
    return nbd;
}

int
main(void)
{
    struct test_server s;
    struct nbd_handle *nbd;
    char path[512];
    int fd;

    test_init("test-nbd-commands", 240);
    shadow = calloc(1, EXPORT_SIZE);
    CHECK(shadow != NULL, "oom");

    test_server_prepare(&s);
    snprintf(path, sizeof path, "%s/disk.img", s.dir);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && ftruncate(fd, EXPORT_SIZE) == 0, "create %s", path);
    close(fd);
    test_server_start(&s, conf_text);

    /* Memory export: everything. */
    nbd = open_with_ctx(&s, "mem");
    test_read_write(nbd, "mem");
    test_flush_fua(nbd, "mem");
    test_zeroes(nbd, "mem");
    test_block_status(nbd);
    test_holes_and_df(nbd);
    expect_all(nbd, "mem at the end");
    test_nbd_close(nbd);
    test_simple_replies(&s, "mem");

    /* File export: the same data checks, asynchronous completions. */
    memset(shadow, 0, EXPORT_SIZE);
    nbd = open_with_ctx(&s, "file");
    test_read_write(nbd, "file");
    test_flush_fua(nbd, "file");
    test_zeroes(nbd, "file");
    test_holes_and_df(nbd);
    expect_all(nbd, "file at the end");
    test_nbd_close(nbd);
    test_simple_replies(&s, "file");

    test_server_stop(&s);
    free(shadow);
    return T_EXIT_PASS;
}
