/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the file backend inside a real aio_ctx and io_uring, on
 * files in a scratch directory (mkdtemp, removed at the end of each test
 * case).  Most tests go through the backend_*() wrappers; the ones that
 * must reach the fallback paths (a file system refusing ZERO_RANGE or
 * PUNCH_HOLE), or simulate short and -EAGAIN completions, include
 * file-io.c (the request path) to reach its static state, which §3.7
 * allows when it is the only way.
 * O_DIRECT sub-cases are skipped, with a message, where the file system
 * refuses O_DIRECT.
 */
#include <config.h>

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "backend-test-helpers.h"

#include "backends/file-io.c"

#define MiB (UINT64_C(1) << 20)
#define KiB (UINT64_C(1) << 10)

/* --- Helpers ----------------------------------------------------------- */

/* Make a sparse file of size bytes. */
static void
file_make(const char *path, uint64_t size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
    close(fd);
}

static struct config_export
file_export(const char *path, bool direct)
{
    struct config_export cfg = bt_export("file", 0);

    cfg.path = (char *)(uintptr_t)path;
    cfg.direct = direct;
    return cfg;
}

/* Can this file system do O_DIRECT?  Prints why a sub-case is skipped. */
static bool
file_direct_ok(const char *path)
{
    int fd = open(path, O_RDWR | O_DIRECT);

    if (fd < 0) {
        fprintf(stderr, "skipped: O_DIRECT unsupported on %s (%s)\n", path,
                strerror(errno));
        return false;
    }
    close(fd);
    return true;
}

/* Does the file system of the scratch directory punch holes? */
static bool
file_punch_ok(void)
{
    const char *path = bt_path("punch-probe");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    bool ok;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 65536), 0);
    ok = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096)
         == 0;
    close(fd);
    if (!ok) {
        fprintf(stderr, "skipped: no PUNCH_HOLE on %s\n", path);
    }
    return ok;
}

static void
file_pread_all(const char *path, uint64_t off, void *buf, size_t len)
{
    int fd = open(path, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
    close(fd);
}

/* Run one request through the ops directly (no wrapper), as backend.c
 * would after its checks. */
static int
file_run_op(struct aio_ctx *ctx, struct file_store *h,
            void (*fn)(void *, struct backend_req *), enum backend_op op,
            uint64_t off, void *buf, uint64_t len, uint32_t flags)
{
    struct iovec iov[BT_MAX_IOV];
    struct bt_req r;

    bt_req_init(&r, ctx, off, len, flags);
    r.req.op = op;
    if (buf) {
        r.req.iov = iov;
        r.req.iovcnt = bt_split(iov, buf, len, 1, 0);
    }
    fn(h, &r.req);
    return bt_wait(ctx, &r);
}

static struct file_store *
file_store_open(const struct config_export *cfg)
{
    void *h = NULL;

    ck_assert_int_eq(backend_file_ops.open(cfg, &h), 0);
    return h;
}

/* --- Open -------------------------------------------------------------- */

START_TEST(test_file_open_errors_are_errno)
{
    struct config_export cfg = file_export(NULL, false);
    struct backend *b = NULL;

    ck_assert_int_eq(backend_open(&cfg, &b), -EINVAL);
    cfg.path = (char *)(uintptr_t)bt_path("missing");
    ck_assert_int_eq(backend_open(&cfg, &b), -ENOENT);
    cfg.path = bt_dir;
    ck_assert_int_eq(backend_open(&cfg, &b), -EISDIR);
    cfg.readonly = true; /* a directory opens O_RDONLY, then fails fstat */
    ck_assert_int_eq(backend_open(&cfg, &b), -EINVAL);
    cfg = file_export(bt_path("new"), false);
    cfg.create = true; /* without a size */
    ck_assert_int_eq(backend_open(&cfg, &b), -EINVAL);
    ck_assert_ptr_null(b);
}
END_TEST

START_TEST(test_file_create_makes_sparse_file_once)
{
    const char *path = bt_path("created");
    struct config_export cfg = file_export(path, false);
    struct backend *b;
    struct stat st;

    cfg.create = true;
    cfg.size = 8 * MiB;
    b = bt_open(&cfg);
    ck_assert_uint_eq(backend_size(b), 8 * MiB);
    backend_close(b);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, 8 * MiB);
    ck_assert_int_eq(st.st_blocks, 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    /* It exists now: used as it is, whatever size says. */
    cfg.size = MiB;
    b = bt_open(&cfg);
    ck_assert_uint_eq(backend_size(b), 8 * MiB);
    ck_assert_uint_eq(backend_caps(b),
                      BACKEND_CAN_WRITE | BACKEND_CAN_FLUSH | BACKEND_CAN_FUA
                          | BACKEND_CAN_TRIM | BACKEND_CAN_ZERO
                          | BACKEND_CAN_FAST_ZERO | BACKEND_CAN_BLOCK_STATUS
                          | BACKEND_CAN_CACHE | BACKEND_CAN_MULTI_CONN);
    backend_close(b);
}
END_TEST

START_TEST(test_file_direct_needs_aligned_size)
{
    const char *path = bt_path("odd");
    struct config_export cfg = file_export(path, true);
    struct backend *b;

    file_make(path, 8 * MiB);
    if (!file_direct_ok(path)) {
        return;
    }
    b = bt_open(&cfg);
    ck_assert_uint_eq(backend_min_block(b), 4096);
    backend_close(b);
    file_make(path, 8 * MiB + 100);
    b = bt_open(&cfg); /* served buffered, with a warning */
    ck_assert_uint_eq(backend_min_block(b), 1);
    backend_close(b);
}
END_TEST

/* --- Data -------------------------------------------------------------- */

/* _i: 0 buffered, 1 O_DIRECT.  Random aligned and unaligned requests with
 * unaligned buffers and split iovecs, checked against a shadow copy and
 * against the file itself. */
START_TEST(test_file_read_after_write_random)
{
    const uint64_t size = 8 * MiB;
    const char *path = bt_path("rw");
    struct config_export cfg = file_export(path, _i == 1);
    struct backend *b;
    struct aio_ctx *ctx;
    uint8_t *shadow, *buf, *disk;
    uint64_t seed = 42 + (uint64_t)_i;

    file_make(path, size);
    if (_i == 1 && !file_direct_ok(path)) {
        return;
    }
    b = bt_open(&cfg);
    ctx = bt_ctx_new();
    shadow = calloc(1, size);
    buf = bt_xmalloc(size + 1);
    disk = bt_xmalloc(size);
    ck_assert_ptr_nonnull(shadow);
    for (int i = 0; i < 300; i++) {
        uint64_t len = 1 + bt_rand(&seed) % (200 * KiB);
        uint64_t off = bt_rand(&seed) % size;
        uint8_t *rbuf = buf + (i % 3 == 0); /* sometimes misaligned */

        if (i % 2 == 0) {
            off &= ~UINT64_C(4095);
            len = (len + 4095) & ~UINT64_C(4095);
        }
        if (off + len > size) {
            len = size - off;
        }
        bt_fill(shadow + off, len, seed);
        ck_assert_int_eq(bt_rw(ctx, b, true, off, shadow + off, len,
                               i % 4 == 0 ? BACKEND_FUA : 0, 1 + i % 3), 0);
        memset(rbuf, 0xa5, len);
        ck_assert_int_eq(bt_rw(ctx, b, false, off, rbuf, len, 0, 1 + i % 4),
                         0);
        ck_assert_msg(memcmp(rbuf, shadow + off, len) == 0,
                      "mismatch at %" PRIu64 "+%" PRIu64, off, len);
    }
    /* An aligned request with an aligned buffer: the direct fast path. */
    {
        void *abuf;

        ck_assert_int_eq(posix_memalign(&abuf, 4096, 64 * KiB), 0);
        ck_assert_int_eq(bt_read(ctx, b, MiB, abuf, 64 * KiB), 0);
        ck_assert(memcmp(abuf, shadow + MiB, 64 * KiB) == 0);
        free(abuf);
    }
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_FLUSH, 0, 0, 0), 0);
    file_pread_all(path, 0, disk, size);
    ck_assert(memcmp(disk, shadow, size) == 0);
    free(disk);
    free(buf);
    free(shadow);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

START_TEST(test_file_flush_fua_cache_succeed)
{
    const char *path = bt_path("fua");
    struct config_export cfg = file_export(path, false);
    struct backend *b;
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t data[4096], buf[4096];

    file_make(path, MiB);
    b = bt_open(&cfg);
    bt_fill(data, sizeof data, 1);
    ck_assert_int_eq(bt_write(ctx, b, 8192, data, sizeof data, BACKEND_FUA),
                     0);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_FLUSH, 0, 0, 0), 0);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_CACHE, 0, MiB, 0), 0);
    file_pread_all(path, 8192, buf, sizeof buf);
    ck_assert(memcmp(buf, data, sizeof buf) == 0);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

/* Short transfers and -EAGAIN, simulated by completing the request's SQE
 * by hand before the kernel does: the backend must requeue the rest. */
START_TEST(test_file_requeues_short_and_eagain)
{
    const char *path = bt_path("short");
    struct config_export cfg = file_export(path, false);
    struct file_store *h;
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t data[3 * 4096], buf[3 * 4096];
    struct iovec iov[BT_MAX_IOV];
    struct bt_req r;

    file_make(path, MiB);
    h = file_store_open(&cfg);
    bt_fill(data, sizeof data, 3);
    ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.write,
                                 BACKEND_OP_WRITE, 4096, data, sizeof data,
                                 0), 0);

    /* A read in 3 iovecs "returns" 5000 bytes (mid second iovec), then
     * -EAGAIN: the rest must come from the file, the start stay ours. */
    memset(buf, 0xee, sizeof buf);
    bt_req_init(&r, ctx, 4096, sizeof buf, 0);
    r.req.op = BACKEND_OP_READ;
    r.req.iov = iov;
    r.req.iovcnt = 3;
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = buf + i * 4096;
        iov[i].iov_len = 4096;
    }
    file_start(h, &r.req, FILE_STAGE_RW);
    file_sqe_done(&r.req.sqe, -EAGAIN); /* resubmits everything */
    ck_assert_int_eq(bt_wait(ctx, &r), 0);
    ck_assert(memcmp(buf, data, sizeof buf) == 0);

    memset(buf, 0xee, sizeof buf);
    bt_req_init(&r, ctx, 4096, sizeof buf, 0);
    r.req.op = BACKEND_OP_READ;
    r.req.iov = iov;
    r.req.iovcnt = 3;
    file_start(h, &r.req, FILE_STAGE_RW);
    file_sqe_done(&r.req.sqe, 5000);
    ck_assert_int_eq(r.ncalls, 0);
    ck_assert_int_eq(bt_wait(ctx, &r), 0);
    for (int i = 0; i < 5000; i++) {
        ck_assert_uint_eq(buf[i], 0xee);
    }
    ck_assert(memcmp(buf + 5000, data + 5000, sizeof buf - 5000) == 0);

    /* A write "short" by 8192 bytes at an iovec boundary. */
    bt_fill(data, sizeof data, 4);
    bt_req_init(&r, ctx, 4096, sizeof data, 0);
    r.req.op = BACKEND_OP_WRITE;
    r.req.iov = iov;
    r.req.iovcnt = 3;
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = data + i * 4096;
    }
    file_start(h, &r.req, FILE_STAGE_RW);
    file_sqe_done(&r.req.sqe, 4096);
    ck_assert_int_eq(bt_wait(ctx, &r), 0);
    file_pread_all(path, 4096, buf, sizeof buf);
    ck_assert(memcmp(buf + 4096, data + 4096, 8192) == 0);

    /* -EAGAIN forever: the request fails with -EIO, no hang. */
    bt_req_init(&r, ctx, 0, 0, 0);
    r.req.op = BACKEND_OP_FLUSH;
    file_start(h, &r.req, FILE_STAGE_FSYNC);
    r.req.retries = FILE_MAX_RETRIES;
    file_sqe_done(&r.req.sqe, -EAGAIN);
    ck_assert_int_eq(bt_wait(ctx, &r), -EIO);
    aio_ctx_free(ctx);
    backend_file_ops.close(h);
}
END_TEST

/* --- Trim, zero, block status ---------------------------------------- */

START_TEST(test_file_trim_reads_zeros_and_makes_holes)
{
    const char *path = bt_path("trim");
    struct config_export cfg = file_export(path, false);
    struct backend *b;
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t *data = bt_xmalloc(MiB), *buf = bt_xmalloc(MiB);
    struct backend_extent ext[8];
    size_t n;

    file_make(path, MiB);
    b = bt_open(&cfg);
    bt_fill(data, MiB, 11);
    ck_assert_int_eq(bt_write(ctx, b, 0, data, MiB, 0), 0);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_TRIM, 64 * KiB, 512 * KiB,
                           BACKEND_FUA), 0);
    if (file_punch_ok()) {
        ck_assert_int_eq(bt_read(ctx, b, 0, buf, MiB), 0);
        ck_assert(memcmp(buf, data, 64 * KiB) == 0);
        ck_assert(bt_is_zero(buf + 64 * KiB, 512 * KiB));
        ck_assert(memcmp(buf + 576 * KiB, data + 576 * KiB, 448 * KiB) == 0);
        ck_assert_int_eq(bt_block_status(ctx, b, 0, MiB, 0, ext, 8, &n), 0);
        ck_assert_uint_eq(n, 3);
        bt_assert_extent(ext[0], 64 * KiB, 0);
        bt_assert_extent(ext[1], 512 * KiB, BT_HOLE);
        bt_assert_extent(ext[2], 448 * KiB, 0);
    }
    free(buf);
    free(data);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

START_TEST(test_file_zero_with_and_without_may_trim)
{
    const char *path = bt_path("zero");
    struct config_export cfg = file_export(path, false);
    struct backend *b;
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t *data = bt_xmalloc(MiB), *buf = bt_xmalloc(MiB);
    struct backend_extent ext[8];
    size_t n;

    file_make(path, MiB);
    b = bt_open(&cfg);
    bt_fill(data, MiB, 12);
    ck_assert_int_eq(bt_write(ctx, b, 0, data, MiB, 0), 0);
    /* Unaligned, no MAY_TRIM, FAST_ZERO: ZERO_RANGE on ext4/xfs. */
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_ZERO, 1000, 100 * KiB,
                           BACKEND_FUA), 0);
    ck_assert_int_eq(bt_read(ctx, b, 0, buf, MiB), 0);
    ck_assert(memcmp(buf, data, 1000) == 0);
    ck_assert(bt_is_zero(buf + 1000, 100 * KiB));
    ck_assert(memcmp(buf + 1000 + 100 * KiB, data + 1000 + 100 * KiB,
                     MiB - 1000 - 100 * KiB) == 0);
    /* With MAY_TRIM: a hole, where the file system punches. */
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_ZERO, 512 * KiB, 256 * KiB,
                           BACKEND_MAY_TRIM | BACKEND_FAST_ZERO), 0);
    ck_assert_int_eq(bt_read(ctx, b, 512 * KiB, buf, 256 * KiB), 0);
    ck_assert(bt_is_zero(buf, 256 * KiB));
    if (file_punch_ok()) {
        ck_assert_int_eq(bt_block_status(ctx, b, 512 * KiB, 256 * KiB, 0, ext,
                                         8, &n), 0);
        ck_assert_uint_eq(n, 1);
        bt_assert_extent(ext[0], 256 * KiB, BT_HOLE);
    }
    ck_assert_int_eq(bt_read(ctx, b, 768 * KiB, buf, 256 * KiB), 0);
    ck_assert(memcmp(buf, data + 768 * KiB, 256 * KiB) == 0);
    free(buf);
    free(data);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

/* The fallbacks, forced by clearing what the file system "refused".
 * _i: 0 buffered, 1 O_DIRECT (unaligned zeroing reads-modifies-writes). */
START_TEST(test_file_zero_fallbacks)
{
    const char *path = bt_path("zfb");
    struct config_export cfg = file_export(path, _i == 1);
    struct file_store *h;
    struct aio_ctx *ctx;
    const uint64_t size = 4 * MiB;
    uint8_t *data = bt_xmalloc(size), *buf = bt_xmalloc(size);
    uint64_t off = 3000, len = 2 * MiB + 5000;

    file_make(path, size);
    if (_i == 1 && !file_direct_ok(path)) {
        free(data);
        free(buf);
        return;
    }
    h = file_store_open(&cfg);
    ctx = bt_ctx_new();
    ck_assert(h->direct == (_i == 1));
    bt_fill(data, size, 13);
    ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.write,
                                 BACKEND_OP_WRITE, 0, data, size, 0), 0);

    /* No ZERO_RANGE: punch + allocate (still fast). */
    atomic_store(&h->can_zero_range, false);
    memset(data + off, 0, len);
    ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.zero,
                                 BACKEND_OP_ZERO, off, NULL, len,
                                 BACKEND_FAST_ZERO), 0);
    file_pread_all(path, 0, buf, size);
    ck_assert(memcmp(buf, data, size) == 0);

    /* Nothing fast left: FAST_ZERO is refused, plain zero writes zeros. */
    atomic_store(&h->can_punch, false);
    bt_fill(data, size, 14);
    ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.write,
                                 BACKEND_OP_WRITE, 0, data, size, 0), 0);
    ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.zero,
                                 BACKEND_OP_ZERO, off, NULL, len,
                                 BACKEND_FAST_ZERO | BACKEND_MAY_TRIM),
                     -ENOTSUP);
    for (int k = 0; k < 3; k++) {
        /* unaligned both ends; aligned start short end; a sub-block */
        static const uint64_t offs[] = { 3000, 8192, MiB + 100 };
        static const uint64_t lens[] = { 2 * MiB + 5000, 4096 + 10, 50 };

        memset(data + offs[k], 0, lens[k]);
        ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.zero,
                                     BACKEND_OP_ZERO, offs[k], NULL, lens[k],
                                     k == 0 ? BACKEND_FUA : 0), 0);
        file_pread_all(path, 0, buf, size);
        ck_assert_msg(memcmp(buf, data, size) == 0, "case %d", k);
    }
    /* Trim without PUNCH_HOLE is a successful no-op. */
    ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.trim,
                                 BACKEND_OP_TRIM, 0, NULL, MiB, 0), 0);
    free(buf);
    free(data);
    aio_ctx_free(ctx);
    backend_file_ops.close(h);
}
END_TEST

START_TEST(test_file_block_status_holes_and_data)
{
    const char *path = bt_path("bs");
    struct config_export cfg = file_export(path, false);
    struct backend *b;
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t *data = bt_xmalloc(64 * KiB);
    struct backend_extent ext[64];
    size_t n;
    uint64_t sum = 0;

    file_make(path, 8 * MiB);
    b = bt_open(&cfg);
    bt_fill(data, 64 * KiB, 21);
    ck_assert_int_eq(bt_write(ctx, b, MiB, data, 64 * KiB, 0), 0);
    ck_assert_int_eq(bt_write(ctx, b, 3 * MiB, data, 64 * KiB, 0), 0);
    ck_assert_int_eq(bt_block_status(ctx, b, 0, 8 * MiB, 0, ext, 64, &n), 0);
    ck_assert_uint_eq(n, 5);
    bt_assert_extent(ext[0], MiB, BT_HOLE);
    bt_assert_extent(ext[1], 64 * KiB, 0);
    bt_assert_extent(ext[2], 2 * MiB - 64 * KiB, BT_HOLE);
    bt_assert_extent(ext[3], 64 * KiB, 0);
    bt_assert_extent(ext[4], 5 * MiB - 64 * KiB, BT_HOLE);
    /* REQ_ONE and max_extents. */
    ck_assert_int_eq(bt_block_status(ctx, b, 0, 8 * MiB, BACKEND_REQ_ONE,
                                     ext, 64, &n), 0);
    ck_assert_uint_eq(n, 1);
    bt_assert_extent(ext[0], MiB, BT_HOLE);
    ck_assert_int_eq(bt_block_status(ctx, b, MiB + 4096, 8 * MiB - MiB - 4096,
                                     0, ext, 2, &n), 0);
    ck_assert_uint_eq(n, 2);
    bt_assert_extent(ext[0], 60 * KiB, 0);
    bt_assert_extent(ext[1], 2 * MiB - 64 * KiB, BT_HOLE);

    /* Many islands: the lseek budget ends the walk with one data extent
     * covering the rest of the range. */
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(bt_write(ctx, b, 4 * MiB + (uint64_t)i * 64 * KiB,
                                  data, 4096, 0), 0);
    }
    ck_assert_int_eq(bt_block_status(ctx, b, 4 * MiB, 4 * MiB, 0, ext, 64,
                                     &n), 0);
    ck_assert_uint_le(n, FILE_EXTENTS_MAX_LSEEK);
    ck_assert_uint_eq(ext[n - 1].type, 0);
    for (size_t i = 0; i < n; i++) {
        sum += ext[i].length;
    }
    ck_assert_uint_eq(sum, 4 * MiB);
    free(data);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

/* --- Read-only, ranges, errors ---------------------------------------- */

START_TEST(test_file_readonly_and_range_checks)
{
    const char *path = bt_path("ro");
    struct config_export cfg = file_export(path, false);
    struct backend *b;
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t buf[4096];

    file_make(path, MiB);
    cfg.readonly = true;
    b = bt_open(&cfg);
    ck_assert(backend_readonly(b));
    ck_assert_int_eq(bt_write(ctx, b, 0, buf, sizeof buf, 0), -EROFS);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_TRIM, 0, 4096, 0), -EROFS);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_ZERO, 0, 4096, 0), -EROFS);
    ck_assert_int_eq(bt_read(ctx, b, MiB - 100, buf, sizeof buf), -EINVAL);
    ck_assert_int_eq(bt_read(ctx, b, UINT64_MAX - 1, buf, sizeof buf),
                     -EOVERFLOW);
    ck_assert_int_eq(bt_read(ctx, b, MiB - sizeof buf, buf, sizeof buf), 0);
    ck_assert(bt_is_zero(buf, sizeof buf));
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_FLUSH, 0, 0, 0), 0);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

/* The backing file shrinks under the export: reads of what is gone fail
 * with -EIO (not zeros that were never written), block status calls it a
 * hole, writes work again, and the loop keeps running. */
START_TEST(test_file_shrunk_backing_file)
{
    const char *path = bt_path("shrink");
    struct config_export cfg = file_export(path, false);
    struct backend *b;
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t data[8192], buf[8192];
    struct backend_extent ext[4];
    size_t n;

    file_make(path, MiB);
    b = bt_open(&cfg);
    bt_fill(data, sizeof data, 31);
    ck_assert_int_eq(bt_write(ctx, b, 4096, data, sizeof data, 0), 0);
    ck_assert_int_eq(truncate(path, 0), 0);
    ck_assert_int_eq(bt_read(ctx, b, 4096, buf, sizeof buf), -EIO);
    ck_assert_int_eq(bt_block_status(ctx, b, 0, MiB, 0, ext, 4, &n), 0);
    ck_assert_uint_eq(n, 1);
    bt_assert_extent(ext[0], MiB, BT_HOLE);
    ck_assert_int_eq(bt_write(ctx, b, 4096, data, sizeof data, 0), 0);
    ck_assert_int_eq(bt_read(ctx, b, 4096, buf, sizeof buf), 0);
    ck_assert(memcmp(buf, data, sizeof buf) == 0);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

/* A failing CQE's errno reaches done() unchanged, and the loop goes on:
 * a write through an fd opened read-only (-EBADF, bypassing the wrapper
 * that would refuse it), and a write past RLIMIT_FSIZE (-EFBIG). */
START_TEST(test_file_cqe_errno_reaches_done)
{
    const char *path = bt_path("err");
    struct config_export cfg = file_export(path, false);
    struct file_store *h;
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t buf[4096];
    struct rlimit old, lim;

    file_make(path, 8 * MiB);
    cfg.readonly = true;
    h = file_store_open(&cfg);
    memset(buf, 1, sizeof buf);
    ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.write,
                                 BACKEND_OP_WRITE, 0, buf, sizeof buf, 0),
                     -EBADF);
    ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.read,
                                 BACKEND_OP_READ, 0, buf, sizeof buf, 0), 0);
    ck_assert(bt_is_zero(buf, sizeof buf));
    backend_file_ops.close(h);

    cfg.readonly = false;
    h = file_store_open(&cfg);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = MiB;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.write,
                                 BACKEND_OP_WRITE, 2 * MiB, buf, sizeof buf,
                                 0), -EFBIG);
    ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.write,
                                 BACKEND_OP_WRITE, 0, buf, sizeof buf, 0), 0);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    ck_assert_int_eq(file_run_op(ctx, h, backend_file_ops.read,
                                 BACKEND_OP_READ, 2 * MiB, buf, sizeof buf,
                                 0), 0);
    aio_ctx_free(ctx);
    backend_file_ops.close(h);
}
END_TEST

/* --- Two I/O threads --------------------------------------------------- */

#define MT_REGION (4 * MiB)
#define MT_OPS 1500

struct mt_arg {
    struct backend *b;
    int id;
    uint8_t *shadow;
    int failures;
};

/* Own region: writes checked by reads; shared region: thread 0 writes,
 * thread 1 reads and flushes. */
static void *
mt_thread(void *opaque)
{
    struct mt_arg *a = opaque;
    struct aio_ctx *ctx = bt_ctx_new();
    uint64_t seed = 1000 + (uint64_t)a->id;
    uint64_t own = (uint64_t)a->id * MT_REGION, shared = 2 * MT_REGION;
    uint8_t *buf = bt_xmalloc(64 * KiB);

    for (int i = 0; i < MT_OPS; i++) {
        uint64_t r = bt_rand(&seed);
        uint64_t len = 1 + (r >> 40) % (64 * KiB);
        uint64_t off = (r >> 8) % (MT_REGION - len);

        switch (r % 4) {
        case 0:
            bt_fill(a->shadow + off, len, r);
            a->failures += bt_write(ctx, a->b, own + off, a->shadow + off,
                                    len, 0) != 0;
            break;
        case 1:
            a->failures += bt_read(ctx, a->b, own + off, buf, len) != 0
                           || memcmp(buf, a->shadow + off, len) != 0;
            break;
        case 2:
            if (a->id == 0) {
                bt_fill(buf, len, r);
                a->failures += bt_write(ctx, a->b, shared + off, buf, len,
                                        BACKEND_FUA) != 0;
            } else {
                a->failures += bt_op(ctx, a->b, BACKEND_OP_FLUSH, 0, 0, 0)
                               != 0;
            }
            break;
        default:
            a->failures += bt_read(ctx, a->b, shared + off, buf, len) != 0;
            break;
        }
    }
    free(buf);
    aio_ctx_free(ctx);
    return NULL;
}

START_TEST(test_file_two_iothreads)
{
    const char *path = bt_path("mt");
    struct config_export cfg = file_export(path, false);
    struct backend *b;
    struct mt_arg a[2];
    pthread_t t[2];
    uint8_t *disk = bt_xmalloc(MT_REGION);

    file_make(path, 3 * MT_REGION);
    b = bt_open(&cfg);
    for (int i = 0; i < 2; i++) {
        a[i] = (struct mt_arg){ .b = b, .id = i,
                                .shadow = calloc(1, MT_REGION) };
        ck_assert_ptr_nonnull(a[i].shadow);
        ck_assert_int_eq(pthread_create(&t[i], NULL, mt_thread, &a[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(a[i].failures, 0);
    }
    for (int i = 0; i < 2; i++) {
        file_pread_all(path, (uint64_t)i * MT_REGION, disk, MT_REGION);
        ck_assert(memcmp(disk, a[i].shadow, MT_REGION) == 0);
        free(a[i].shadow);
    }
    free(disk);
    backend_close(b);
}
END_TEST

static Suite *
file_suite(void)
{
    Suite *s = suite_create("backend-file");
    TCase *tc = tcase_create("file");

    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, bt_dir_setup, bt_dir_teardown);
    tcase_add_test(tc, test_file_open_errors_are_errno);
    tcase_add_test(tc, test_file_create_makes_sparse_file_once);
    tcase_add_test(tc, test_file_direct_needs_aligned_size);
    tcase_add_loop_test(tc, test_file_read_after_write_random, 0, 2);
    tcase_add_test(tc, test_file_flush_fua_cache_succeed);
    tcase_add_test(tc, test_file_requeues_short_and_eagain);
    tcase_add_test(tc, test_file_trim_reads_zeros_and_makes_holes);
    tcase_add_test(tc, test_file_zero_with_and_without_may_trim);
    tcase_add_loop_test(tc, test_file_zero_fallbacks, 0, 2);
    tcase_add_test(tc, test_file_block_status_holes_and_data);
    tcase_add_test(tc, test_file_readonly_and_range_checks);
    tcase_add_test(tc, test_file_shrunk_backing_file);
    tcase_add_test(tc, test_file_cqe_errno_reaches_done);
    tcase_add_test(tc, test_file_two_iothreads);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(file_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
