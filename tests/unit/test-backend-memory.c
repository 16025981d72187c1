/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the memory backend, driven through the backend_*()
 * wrappers inside a real aio_ctx: data integrity against a shadow copy,
 * trim and write-zeroes (with and without MAY_TRIM) and what block status
 * says after them, the wrappers' range/read-only/flag checks, 1 TiB and
 * 4 TiB virtual sizes, and two I/O threads sharing one instance.
 */
#include <config.h>

#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "backend-test-helpers.h"

#define MiB (UINT64_C(1) << 20)
#define KiB (UINT64_C(1) << 10)
#define TiB (UINT64_C(1) << 40)
#define CHUNK (64 * KiB)

START_TEST(test_memory_table_lists_every_backend)
{
    ck_assert_ptr_eq(backend_find("memory"), &backend_memory_ops);
    ck_assert_ptr_eq(backend_find("file"), &backend_file_ops);
    ck_assert_ptr_eq(backend_find("null"), &backend_null_ops);
    ck_assert_ptr_eq(backend_find("nbd"), &backend_nbd_ops);
    ck_assert_ptr_eq(backend_find("iscsi"), &backend_iscsi_ops);
#ifdef HAVE_RBD
    ck_assert_ptr_eq(backend_find("rbd"), &backend_rbd_ops);
    ck_assert_ptr_null(backend_table[6]);
#else
    ck_assert_ptr_null(backend_find("rbd"));
    ck_assert_ptr_null(backend_table[5]);
#endif
    ck_assert_ptr_null(backend_find("nbd-someday"));
}
END_TEST

START_TEST(test_memory_open_rejects_bad_config)
{
    struct config_export cfg = bt_export("memory", 0);
    struct backend *b = NULL;

    ck_assert_int_eq(backend_open(&cfg, &b), -EINVAL); /* no size */
    ck_assert_ptr_null(b);
    cfg.size = UINT64_C(1) << 60;
    ck_assert_int_eq(backend_open(&cfg, &b), -EINVAL); /* too big */
    cfg = bt_export("no-such-backend", MiB);
    ck_assert_int_eq(backend_open(&cfg, &b), -EINVAL);
}
END_TEST

START_TEST(test_memory_caps_and_size)
{
    struct config_export cfg = bt_export("memory", 3 * MiB + 17);
    struct backend *b = bt_open(&cfg);
    unsigned want = BACKEND_CAN_WRITE | BACKEND_CAN_FLUSH | BACKEND_CAN_FUA
                    | BACKEND_CAN_TRIM | BACKEND_CAN_ZERO
                    | BACKEND_CAN_FAST_ZERO | BACKEND_CAN_BLOCK_STATUS
                    | BACKEND_CAN_CACHE | BACKEND_CAN_MULTI_CONN;

    ck_assert_str_eq(backend_name(b), "memory");
    ck_assert_uint_eq(backend_size(b), 3 * MiB + 17);
    ck_assert_uint_eq(backend_caps(b), want);
    ck_assert_uint_eq(backend_min_block(b), 1);
    ck_assert(!backend_readonly(b));
    backend_close(b);
}
END_TEST

/* Random aligned and unaligned writes, checked against a shadow copy,
 * read back whole and through split iovecs. */
START_TEST(test_memory_read_after_write_random)
{
    const uint64_t size = 8 * MiB + 4095; /* a short last chunk */
    struct config_export cfg = bt_export("memory", size);
    struct backend *b = bt_open(&cfg);
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t *shadow = calloc(1, size), *buf = bt_xmalloc(size);
    uint64_t seed = 0x1234 + (uint64_t)_i;

    ck_assert_ptr_nonnull(shadow);
    for (int i = 0; i < 300; i++) {
        uint64_t len = 1 + bt_rand(&seed) % (300 * KiB);
        uint64_t off = bt_rand(&seed) % size;

        if (i % 2 == 0) { /* sector aligned */
            off &= ~UINT64_C(511);
            len = (len + 511) & ~UINT64_C(511);
        }
        if (off + len > size) {
            len = size - off;
        }
        bt_fill(shadow + off, len, seed);
        ck_assert_int_eq(bt_rw(ctx, b, true, off, shadow + off, len,
                               i % 3 == 0 ? BACKEND_FUA : 0, 1 + i % 4), 0);
        memset(buf, 0xa5, len);
        ck_assert_int_eq(bt_rw(ctx, b, false, off, buf, len, 0, 1 + i % 5),
                         0);
        ck_assert(memcmp(buf, shadow + off, len) == 0);
    }
    memset(buf, 0xa5, size);
    ck_assert_int_eq(bt_read(ctx, b, 0, buf, size), 0);
    ck_assert(memcmp(buf, shadow, size) == 0);
    free(buf);
    free(shadow);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

START_TEST(test_memory_flush_fua_cache_succeed)
{
    struct config_export cfg = bt_export("memory", MiB);
    struct backend *b = bt_open(&cfg);
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t buf[4096];

    bt_fill(buf, sizeof buf, 7);
    ck_assert_int_eq(bt_write(ctx, b, 4096, buf, sizeof buf, BACKEND_FUA), 0);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_FLUSH, 0, 0, 0), 0);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_CACHE, 0, MiB, 0), 0);
    /* Zero-length requests complete without reaching the backend. */
    ck_assert_int_eq(bt_read(ctx, b, MiB, buf, 0), 0);
    ck_assert_int_eq(bt_write(ctx, b, 0, buf, 0, 0), 0);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

START_TEST(test_memory_trim_reads_zeros_and_frees_chunks)
{
    const uint64_t size = 4 * CHUNK;
    struct config_export cfg = bt_export("memory", size);
    struct backend *b = bt_open(&cfg);
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t *data = bt_xmalloc(size), *buf = bt_xmalloc(size);
    struct backend_extent ext[8];
    size_t n;

    bt_fill(data, size, 99);
    ck_assert_int_eq(bt_write(ctx, b, 0, data, size, 0), 0);
    /* Half of chunk 0, all of chunks 1 and 2, 100 bytes of chunk 3. */
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_TRIM, CHUNK / 2,
                           CHUNK / 2 + 2 * CHUNK + 100, BACKEND_FUA), 0);
    ck_assert_int_eq(bt_read(ctx, b, 0, buf, size), 0);
    ck_assert(memcmp(buf, data, CHUNK / 2) == 0);
    ck_assert(bt_is_zero(buf + CHUNK / 2, CHUNK / 2 + 2 * CHUNK + 100));
    ck_assert(memcmp(buf + 3 * CHUNK + 100, data + 3 * CHUNK + 100,
                     CHUNK - 100) == 0);
    /* Whole chunks were freed; the partial ones are still data. */
    ck_assert_int_eq(bt_block_status(ctx, b, 0, size, 0, ext, 8, &n), 0);
    ck_assert_uint_eq(n, 3);
    bt_assert_extent(ext[0], CHUNK, 0);
    bt_assert_extent(ext[1], 2 * CHUNK, BT_HOLE);
    bt_assert_extent(ext[2], CHUNK, 0);
    /* Trimming the short last chunk of a disk frees it too. */
    free(buf);
    free(data);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

START_TEST(test_memory_trim_frees_short_last_chunk)
{
    const uint64_t size = CHUNK + 1000;
    struct config_export cfg = bt_export("memory", size);
    struct backend *b = bt_open(&cfg);
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t buf[1000];
    struct backend_extent ext[4];
    size_t n;

    memset(buf, 0x5a, sizeof buf);
    ck_assert_int_eq(bt_write(ctx, b, CHUNK, buf, sizeof buf, 0), 0);
    ck_assert_int_eq(bt_block_status(ctx, b, 0, size, 0, ext, 4, &n), 0);
    ck_assert_uint_eq(n, 2);
    bt_assert_extent(ext[1], 1000, 0);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_TRIM, CHUNK, 1000, 0), 0);
    ck_assert_int_eq(bt_block_status(ctx, b, 0, size, 0, ext, 4, &n), 0);
    ck_assert_uint_eq(n, 1);
    bt_assert_extent(ext[0], size, BT_HOLE);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

START_TEST(test_memory_zero_with_and_without_may_trim)
{
    const uint64_t size = 8 * CHUNK;
    struct config_export cfg = bt_export("memory", size);
    struct backend *b = bt_open(&cfg);
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t *data = bt_xmalloc(4 * CHUNK), *buf = bt_xmalloc(4 * CHUNK);
    struct backend_extent ext[8];
    size_t n;

    bt_fill(data, 4 * CHUNK, 5);
    ck_assert_int_eq(bt_write(ctx, b, 0, data, 4 * CHUNK, 0), 0);

    /* Without MAY_TRIM: zeros, still allocated. */
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_ZERO, 0, 2 * CHUNK, 0), 0);
    ck_assert_int_eq(bt_read(ctx, b, 0, buf, 4 * CHUNK), 0);
    ck_assert(bt_is_zero(buf, 2 * CHUNK));
    ck_assert(memcmp(buf + 2 * CHUNK, data + 2 * CHUNK, 2 * CHUNK) == 0);
    ck_assert_int_eq(bt_block_status(ctx, b, 0, size, 0, ext, 8, &n), 0);
    ck_assert_uint_eq(n, 2);
    bt_assert_extent(ext[0], 4 * CHUNK, 0);
    bt_assert_extent(ext[1], 4 * CHUNK, BT_HOLE);

    /* With MAY_TRIM (and FAST_ZERO, which memory always is): freed,
     * merging with the hole after it. */
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_ZERO, 2 * CHUNK, 2 * CHUNK,
                           BACKEND_MAY_TRIM | BACKEND_FAST_ZERO
                               | BACKEND_FUA), 0);
    ck_assert_int_eq(bt_read(ctx, b, 0, buf, 4 * CHUNK), 0);
    ck_assert(bt_is_zero(buf, 4 * CHUNK));
    ck_assert_int_eq(bt_block_status(ctx, b, 0, size, 0, ext, 8, &n), 0);
    ck_assert_uint_eq(n, 2);
    bt_assert_extent(ext[0], 2 * CHUNK, 0);
    bt_assert_extent(ext[1], 6 * CHUNK, BT_HOLE);

    /* Zero over holes leaves them holes. */
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_ZERO, 4 * CHUNK, 4 * CHUNK, 0),
                     0);
    ck_assert_int_eq(bt_block_status(ctx, b, 4 * CHUNK, 4 * CHUNK, 0, ext, 8,
                                     &n), 0);
    ck_assert_uint_eq(n, 1);
    bt_assert_extent(ext[0], 4 * CHUNK, BT_HOLE);
    free(buf);
    free(data);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

START_TEST(test_memory_block_status_merges_and_limits)
{
    const uint64_t size = 16 * CHUNK;
    struct config_export cfg = bt_export("memory", size);
    struct backend *b = bt_open(&cfg);
    struct aio_ctx *ctx = bt_ctx_new();
    struct backend_extent ext[16];
    uint8_t byte = 1;
    size_t n;

    /* data: chunks 2, 3 (adjacent: one extent), 6, 15. */
    ck_assert_int_eq(bt_write(ctx, b, 2 * CHUNK + 10, &byte, 1, 0), 0);
    ck_assert_int_eq(bt_write(ctx, b, 3 * CHUNK, &byte, 1, 0), 0);
    ck_assert_int_eq(bt_write(ctx, b, 6 * CHUNK + CHUNK - 1, &byte, 1, 0), 0);
    ck_assert_int_eq(bt_write(ctx, b, size - 1, &byte, 1, 0), 0);

    ck_assert_int_eq(bt_block_status(ctx, b, 0, size, 0, ext, 16, &n), 0);
    ck_assert_uint_eq(n, 6);
    bt_assert_extent(ext[0], 2 * CHUNK, BT_HOLE);
    bt_assert_extent(ext[1], 2 * CHUNK, 0);
    bt_assert_extent(ext[2], 2 * CHUNK, BT_HOLE);
    bt_assert_extent(ext[3], CHUNK, 0);
    bt_assert_extent(ext[4], 8 * CHUNK, BT_HOLE);
    bt_assert_extent(ext[5], CHUNK, 0);

    /* Unaligned start and end are clipped to the request. */
    ck_assert_int_eq(bt_block_status(ctx, b, CHUNK + 5, 2 * CHUNK, 0, ext, 16,
                                     &n), 0);
    ck_assert_uint_eq(n, 2);
    bt_assert_extent(ext[0], CHUNK - 5, BT_HOLE);
    bt_assert_extent(ext[1], CHUNK + 5, 0);

    /* REQ_ONE: just the first extent. */
    ck_assert_int_eq(bt_block_status(ctx, b, 0, size, BACKEND_REQ_ONE, ext,
                                     16, &n), 0);
    ck_assert_uint_eq(n, 1);
    bt_assert_extent(ext[0], 2 * CHUNK, BT_HOLE);

    /* max_extents bounds the answer. */
    ck_assert_int_eq(bt_block_status(ctx, b, 0, size, 0, ext, 3, &n), 0);
    ck_assert_uint_eq(n, 3);
    bt_assert_extent(ext[2], 2 * CHUNK, BT_HOLE);

    /* Bad block-status requests. */
    ck_assert_int_eq(bt_block_status(ctx, b, 0, size, 0, ext, 0, &n),
                     -EINVAL);
    ck_assert_int_eq(bt_block_status(ctx, b, 0, 0, 0, ext, 16, &n), -EINVAL);
    ck_assert_int_eq(bt_block_status(ctx, b, 0, size, BACKEND_FUA, ext, 16,
                                     &n), -EINVAL);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

START_TEST(test_memory_range_and_flag_checks)
{
    const uint64_t size = MiB;
    struct config_export cfg = bt_export("memory", size);
    struct backend *b = bt_open(&cfg);
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t buf[512] = { 0 };

    ck_assert_int_eq(bt_read(ctx, b, size - 511, buf, 512), -EINVAL);
    ck_assert_int_eq(bt_write(ctx, b, size, buf, 1, 0), -EINVAL);
    ck_assert_int_eq(bt_read(ctx, b, size - 512, buf, 512), 0);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_TRIM, UINT64_MAX - 10, 512, 0),
                     -EOVERFLOW);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_ZERO, size, 1, 0), -EINVAL);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_CACHE, 2 * size, 1, 0),
                     -EINVAL);
    /* Flags that mean nothing for the operation. */
    ck_assert_int_eq(bt_rw(ctx, b, false, 0, buf, 512, BACKEND_FUA, 1),
                     -EINVAL);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_TRIM, 0, 512, BACKEND_MAY_TRIM),
                     -EINVAL);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_FLUSH, 0, 0, BACKEND_REQ_ONE),
                     -EINVAL);
    /* Flush has no range. */
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_FLUSH, 2 * size, 5, 0), 0);
    ck_assert_int_eq(backend_check(b, BACKEND_OP_WRITE, 0, size), 0);
    ck_assert_int_eq(backend_check(b, BACKEND_OP_WRITE, 1, size), -EINVAL);
    ck_assert_int_eq(backend_check(b, BACKEND_OP_READ, UINT64_MAX, 2),
                     -EOVERFLOW);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

START_TEST(test_memory_readonly_refuses_writes)
{
    struct config_export cfg = bt_export("memory", MiB);
    struct backend *b;
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t buf[512];
    struct backend_extent ext[2];
    size_t n;

    cfg.readonly = true;
    b = bt_open(&cfg);
    ck_assert(backend_readonly(b));
    ck_assert_uint_eq(backend_caps(b) & (BACKEND_CAN_WRITE | BACKEND_CAN_TRIM
                                         | BACKEND_CAN_ZERO | BACKEND_CAN_FUA),
                      0);
    ck_assert_int_eq(bt_write(ctx, b, 0, buf, 512, 0), -EROFS);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_TRIM, 0, 512, 0), -EROFS);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_ZERO, 0, 512, 0), -EROFS);
    ck_assert_int_eq(backend_check(b, BACKEND_OP_ZERO, 0, 1), -EROFS);
    memset(buf, 1, sizeof buf);
    ck_assert_int_eq(bt_read(ctx, b, 0, buf, 512), 0);
    ck_assert(bt_is_zero(buf, 512));
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_FLUSH, 0, 0, 0), 0);
    ck_assert_int_eq(bt_block_status(ctx, b, 0, MiB, 0, ext, 2, &n), 0);
    ck_assert_uint_eq(n, 1);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

static long
memory_rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;

    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) {
        rss = 0;
    }
    fclose(f);
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* 1 TiB and 4 TiB virtual disks: writes near the end, straddling the last
 * chunk boundaries, without memory growing with the size. */
START_TEST(test_memory_huge_virtual_size)
{
    static const uint64_t sizes[] = { 1 * TiB, 4 * TiB };
    const uint64_t size = sizes[_i];
    struct config_export cfg = bt_export("memory", size);
    long rss0 = memory_rss_kib();
    struct backend *b = bt_open(&cfg);
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t data[3 * 4096], buf[3 * 4096];
    struct backend_extent ext[8];
    size_t n;

    bt_fill(data, sizeof data, size);
    ck_assert_int_eq(bt_write(ctx, b, size - sizeof data, data, sizeof data,
                              0), 0);
    ck_assert_int_eq(bt_write(ctx, b, size - CHUNK - 100, data, 200, 0), 0);
    ck_assert_int_eq(bt_read(ctx, b, size - sizeof data, buf, sizeof buf), 0);
    ck_assert(memcmp(buf, data, sizeof data) == 0);
    ck_assert_int_eq(bt_read(ctx, b, size - CHUNK - 100, buf, 200), 0);
    ck_assert(memcmp(buf, data, 200) == 0);
    ck_assert_int_eq(bt_read(ctx, b, size / 2, buf, sizeof buf), 0);
    ck_assert(bt_is_zero(buf, sizeof buf));
    ck_assert_int_eq(bt_write(ctx, b, size - 1, data, 2, 0), -EINVAL);

    /* The last 3 chunks: data (the straddling write), data, data. */
    ck_assert_int_eq(bt_block_status(ctx, b, size - 4 * CHUNK, 4 * CHUNK, 0,
                                     ext, 8, &n), 0);
    ck_assert_uint_eq(n, 2);
    bt_assert_extent(ext[0], 2 * CHUNK, BT_HOLE);
    bt_assert_extent(ext[1], 2 * CHUNK, 0);
    /* A 1 GiB hole walks table levels, not chunks. */
    ck_assert_int_eq(bt_block_status(ctx, b, 0, 1024 * MiB, 0, ext, 8, &n), 0);
    ck_assert_uint_eq(n, 1);
    bt_assert_extent(ext[0], 1024 * MiB, BT_HOLE);
    /* Trim the whole disk in one request: frees what was written. */
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_TRIM, 0, size, 0), 0);
    ck_assert_int_eq(bt_read(ctx, b, size - sizeof data, buf, sizeof buf), 0);
    ck_assert(bt_is_zero(buf, sizeof buf));

    /* Page tables only: well under 64 MiB for a 4 TiB disk. */
    ck_assert_msg(memory_rss_kib() - rss0 < 64 * 1024, "rss grew %ld KiB",
                  memory_rss_kib() - rss0);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

/* --- Two I/O threads --------------------------------------------------- */

#define MT_BLOCK 4096
#define MT_REGION (64 * CHUNK) /* 4 MiB per thread, plus a shared one */
#define MT_OPS 3000

struct mt_arg {
    struct backend *b;
    int id;          /* 0 or 1 */
    uint8_t *shadow; /* the thread's own region */
    int failures;
};

/* Each thread: writes/reads its own region (checked against its shadow),
 * and in the shared region thread 0 writes uniform blocks while thread 1
 * reads and frees whole chunks (trim, zero with MAY_TRIM). */
static void *
mt_thread(void *opaque)
{
    struct mt_arg *a = opaque;
    struct aio_ctx *ctx = bt_ctx_new();
    uint64_t seed = 77 + (uint64_t)a->id;
    uint64_t own = (uint64_t)a->id * MT_REGION;
    uint64_t shared = 2 * MT_REGION;
    uint8_t *buf = bt_xmalloc(4 * MT_BLOCK);

    for (int i = 0; i < MT_OPS; i++) {
        uint64_t r = bt_rand(&seed);
        uint64_t blk = (r >> 8) % (MT_REGION / MT_BLOCK - 4);
        uint64_t len = MT_BLOCK * (1 + (r >> 40) % 4);

        switch (r % 4) {
        case 0: /* own region: write, then check */
            bt_fill(a->shadow + blk * MT_BLOCK, len, r);
            if (bt_write(ctx, a->b, own + blk * MT_BLOCK,
                         a->shadow + blk * MT_BLOCK, len, 0) != 0) {
                a->failures++;
            }
            break;
        case 1:
            if (bt_read(ctx, a->b, own + blk * MT_BLOCK, buf, len) != 0
                || memcmp(buf, a->shadow + blk * MT_BLOCK, len) != 0) {
                a->failures++;
            }
            break;
        case 2: /* shared region */
            if (a->id == 0) {
                memset(buf, (int)(1 + r % 255), MT_BLOCK);
                a->failures += bt_write(ctx, a->b, shared + blk * MT_BLOCK,
                                        buf, MT_BLOCK, 0) != 0;
            } else {
                uint64_t c = blk * MT_BLOCK / CHUNK;

                a->failures += bt_op(ctx, a->b,
                                     (r & 16) ? BACKEND_OP_TRIM
                                              : BACKEND_OP_ZERO,
                                     shared + c * CHUNK, CHUNK,
                                     (r & 16) ? 0 : BACKEND_MAY_TRIM) != 0;
            }
            break;
        default:
            a->failures += bt_read(ctx, a->b, shared + blk * MT_BLOCK, buf,
                                   len) != 0;
            break;
        }
    }
    free(buf);
    aio_ctx_free(ctx);
    return NULL;
}

START_TEST(test_memory_two_iothreads)
{
    struct config_export cfg = bt_export("memory", 3 * MT_REGION);
    struct backend *b = bt_open(&cfg);
    struct mt_arg a[2];
    pthread_t t[2];
    struct aio_ctx *ctx;
    uint8_t *buf = bt_xmalloc(MT_REGION);

    for (int i = 0; i < 2; i++) {
        a[i] = (struct mt_arg){ .b = b, .id = i, .shadow = calloc(1, MT_REGION) };
        ck_assert_ptr_nonnull(a[i].shadow);
        ck_assert_int_eq(pthread_create(&t[i], NULL, mt_thread, &a[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(a[i].failures, 0);
    }
    ctx = bt_ctx_new();
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(bt_read(ctx, b, (uint64_t)i * MT_REGION, buf,
                                 MT_REGION), 0);
        ck_assert(memcmp(buf, a[i].shadow, MT_REGION) == 0);
        free(a[i].shadow);
    }
    /* Shared region: every block is one writer's whole block, or zeros. */
    ck_assert_int_eq(bt_read(ctx, b, 2 * MT_REGION, buf, MT_REGION), 0);
    for (uint64_t blk = 0; blk < MT_REGION / MT_BLOCK; blk++) {
        const uint8_t *p = buf + blk * MT_BLOCK;

        for (size_t j = 1; j < MT_BLOCK; j++) {
            ck_assert_uint_eq(p[j], p[0]);
        }
    }
    free(buf);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

static Suite *
memory_suite(void)
{
    Suite *s = suite_create("backend-memory");
    TCase *tc = tcase_create("memory");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_memory_table_lists_every_backend);
    tcase_add_test(tc, test_memory_open_rejects_bad_config);
    tcase_add_test(tc, test_memory_caps_and_size);
    tcase_add_loop_test(tc, test_memory_read_after_write_random, 0, 2);
    tcase_add_test(tc, test_memory_flush_fua_cache_succeed);
    tcase_add_test(tc, test_memory_trim_reads_zeros_and_frees_chunks);
    tcase_add_test(tc, test_memory_trim_frees_short_last_chunk);
    tcase_add_test(tc, test_memory_zero_with_and_without_may_trim);
    tcase_add_test(tc, test_memory_block_status_merges_and_limits);
    tcase_add_test(tc, test_memory_range_and_flag_checks);
    tcase_add_test(tc, test_memory_readonly_refuses_writes);
    tcase_add_loop_test(tc, test_memory_huge_virtual_size, 0, 2);
    tcase_add_test(tc, test_memory_two_iothreads);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(memory_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
