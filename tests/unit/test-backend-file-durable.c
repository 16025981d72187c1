/* SPDX-License-Identifier: MIT */
/*
 * What makes the file backend's writes survive a power loss: a flush is an
 * IORING_OP_FSYNC with IORING_FSYNC_DATASYNC on the export's fd, a FUA
 * write carries RWF_DSYNC (on the O_DIRECT bounce path too, on its final
 * write), FUA on trim and write-zeroes adds that FSYNC, and in every case
 * the request completes only after the kernel answered that SQE.  A
 * process crash cannot show a missing fdatasync (the page cache survives
 * it, see tests/durability), and strace cannot see inside an io_uring, so
 * this test looks at the SQEs themselves: it includes file-io.c with
 * aio_sqe_get renamed to a spy that remembers each SQE, snapshots it once
 * the backend has filled it (before the loop submits it), and routes each
 * CQE through a second spy, so the log holds the order of SQEs, CQEs and
 * the completion.  A write without FUA must carry no RWF_DSYNC, so a
 * spy that saw nothing cannot pass.  O_DIRECT cases are skipped, with a
 * message, where the scratch file system refuses O_DIRECT.
 */
#include <config.h>

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "backend-test-helpers.h"

static struct io_uring_sqe *spy_sqe_get(struct aio_ctx *ctx,
                                        struct aio_sqe_req *req);
#define aio_sqe_get spy_sqe_get
#include "backends/file-io.c"
#undef aio_sqe_get

#define MiB (UINT64_C(1) << 20)
#define SPY_MAX 64

enum spy_kind { SPY_SQE, SPY_CQE, SPY_DONE };

struct spy_event {
    enum spy_kind kind;
    uint8_t opcode;       /* SQE */
    int fd;               /* SQE */
    uint32_t rw_flags;    /* SQE: rw_flags or fsync_flags */
    int res;              /* CQE, DONE */
};

static struct spy_event spy_log[SPY_MAX];
static int spy_n;
static struct io_uring_sqe *spy_pending; /* got, not yet snapshotted */

static void
spy_add(struct spy_event e)
{
    ck_assert_int_lt(spy_n, SPY_MAX);
    spy_log[spy_n++] = e;
}

/* The backend has filled the SQE it got last: log it before the loop
 * submits it. */
static void
spy_snapshot(void)
{
    if (spy_pending) {
        spy_add((struct spy_event){ .kind = SPY_SQE,
                                    .opcode = spy_pending->opcode,
                                    .fd = spy_pending->fd,
                                    .rw_flags = spy_pending->rw_flags });
        spy_pending = NULL;
    }
}

static struct io_uring_sqe *
spy_sqe_get(struct aio_ctx *ctx, struct aio_sqe_req *req)
{
    spy_snapshot();
    spy_pending = aio_sqe_get(ctx, req);
    return spy_pending;
}

static void
spy_cqe(struct aio_sqe_req *sqe, int res)
{
    spy_add((struct spy_event){ .kind = SPY_CQE, .res = res });
    file_sqe_done(sqe, res);
    spy_snapshot(); /* the next stage's SQE, if any */
}

static void
spy_done(struct backend_req *req, int err)
{
    spy_add((struct spy_event){ .kind = SPY_DONE, .res = err });
    bt_done(req, err);
}

/* Run one request through fn with both spies; returns its error. */
static int
spy_run(struct aio_ctx *ctx, struct file_store *h,
        void (*fn)(void *, struct backend_req *), enum backend_op op,
        uint64_t off, void *buf, uint64_t len, uint32_t flags)
{
    struct iovec iov;
    struct bt_req r;

    spy_n = 0;
    spy_pending = NULL;
    bt_req_init(&r, ctx, off, len, flags);
    r.req.op = op;
    r.req.done = spy_done;
    if (buf) {
        iov.iov_base = buf;
        iov.iov_len = len;
        r.req.iov = &iov;
        r.req.iovcnt = 1;
    }
    fn(h, &r.req);
    spy_snapshot();
    /* Nothing is answered before the kernel is asked. */
    ck_assert_int_eq(r.ncalls, 0);
    r.req.sqe.done = spy_cqe;
    return bt_wait(ctx, &r);
}

/* The event just before the completion is the CQE of log[sqe_at]'s SQE
 * (each stage has one SQE in flight, so CQEs follow SQEs one for one). */
static void
spy_assert_last_sqe_answered(int sqe_at)
{
    int sqes = 0, cqes = 0;

    ck_assert_int_ge(spy_n, 3);
    ck_assert_int_eq(spy_log[spy_n - 1].kind, SPY_DONE);
    ck_assert_int_eq(spy_log[spy_n - 2].kind, SPY_CQE);
    ck_assert_int_ge(spy_log[spy_n - 2].res, 0);
    for (int i = 0; i < spy_n - 1; i++) {
        sqes += spy_log[i].kind == SPY_SQE;
        cqes += spy_log[i].kind == SPY_CQE;
    }
    ck_assert_int_eq(sqes, cqes);
    for (int i = sqe_at + 1; i < spy_n; i++) {
        ck_assert_msg(spy_log[i].kind != SPY_SQE,
                      "an SQE was queued after the one that must come last");
    }
}

/* Index of the last SQE in the log. */
static int
spy_last_sqe(void)
{
    for (int i = spy_n - 1; i >= 0; i--) {
        if (spy_log[i].kind == SPY_SQE) {
            return i;
        }
    }
    ck_abort_msg("no SQE was queued");
    return -1;
}

/* The last SQE is an fdatasync of the export's fd, answered before the
 * request completed. */
static void
spy_assert_fdatasync_last(const struct file_store *h)
{
    int at = spy_last_sqe();

    ck_assert_uint_eq(spy_log[at].opcode, IORING_OP_FSYNC);
    ck_assert_int_eq(spy_log[at].fd, h->fd);
    ck_assert_uint_eq(spy_log[at].rw_flags & IORING_FSYNC_DATASYNC,
                      IORING_FSYNC_DATASYNC);
    spy_assert_last_sqe_answered(at);
}

static bool
spy_is_write(uint8_t opcode)
{
    return opcode == IORING_OP_WRITE || opcode == IORING_OP_WRITEV;
}

/* --- Fixtures ---------------------------------------------------------- */

static struct file_store *
durable_open(const char *name, bool direct)
{
    const char *path = bt_path(name);
    struct config_export cfg = bt_export("file", 0);
    void *h = NULL;
    int fd;

    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)MiB), 0);
    close(fd);
    if (direct) {
        fd = open(path, O_RDWR | O_DIRECT);
        if (fd < 0) {
            fprintf(stderr, "skipped: O_DIRECT unsupported on %s (%s)\n",
                    path, strerror(errno));
            return NULL;
        }
        close(fd);
    }
    cfg.path = (char *)(uintptr_t)path;
    cfg.direct = direct;
    ck_assert_int_eq(backend_file_ops.open(&cfg, &h), 0);
    ck_assert(((struct file_store *)h)->direct == direct);
    return h;
}

/* --- Tests ------------------------------------------------------------- */

/* _i: 0 page cache, 1 O_DIRECT. */
START_TEST(test_durable_flush_is_fdatasync_before_reply)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct file_store *h = durable_open("flush", _i == 1);

    if (h == NULL) {
        aio_ctx_free(ctx);
        return;
    }
    ck_assert_int_eq(spy_run(ctx, h, file_io_flush, BACKEND_OP_FLUSH, 0,
                             NULL, 0, 0), 0);
    spy_assert_fdatasync_last(h);
    aio_ctx_free(ctx);
    backend_file_ops.close(h);
}
END_TEST

/* _i: 0 page cache, 1 O_DIRECT aligned, 2 O_DIRECT through the bounce
 * buffer (read-modify-write of the partial blocks). */
START_TEST(test_durable_fua_write_is_dsync_before_reply)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct file_store *h = durable_open("fua", _i >= 1);
    uint64_t off = _i == 2 ? 4096 + 100 : 8192;
    uint64_t len = _i == 2 ? 5000 : 8192;
    uint8_t *data = bt_xmalloc(len);
    void *aligned = NULL;
    int at;

    if (h == NULL) {
        free(data);
        aio_ctx_free(ctx);
        return;
    }
    bt_fill(data, len, 7);
    if (_i == 1) {
        /* O_DIRECT straight from the caller's buffer needs it aligned. */
        ck_assert_int_eq(posix_memalign(&aligned, 4096, len), 0);
        memcpy(aligned, data, len);
    }

    /* Without FUA: the same write carries no RWF_DSYNC. */
    ck_assert_int_eq(spy_run(ctx, h, file_io_write, BACKEND_OP_WRITE, off,
                             aligned ? aligned : data, len, 0), 0);
    at = spy_last_sqe();
    ck_assert(spy_is_write(spy_log[at].opcode));
    ck_assert_uint_eq(spy_log[at].rw_flags & RWF_DSYNC, 0);

    ck_assert_int_eq(spy_run(ctx, h, file_io_write, BACKEND_OP_WRITE, off,
                             aligned ? aligned : data, len, BACKEND_FUA), 0);
    at = spy_last_sqe();
    ck_assert_msg(spy_is_write(spy_log[at].opcode),
                  "the last SQE of a FUA write is opcode %u, not a write",
                  spy_log[at].opcode);
    ck_assert_int_eq(spy_log[at].fd, h->fd);
    ck_assert_uint_eq(spy_log[at].rw_flags & RWF_DSYNC, RWF_DSYNC);
    if (_i == 2) {
        /* The head and tail blocks were read first, without DSYNC. */
        ck_assert_int_ge(at, 2);
    }
    spy_assert_last_sqe_answered(at);
    free(aligned);
    free(data);
    aio_ctx_free(ctx);
    backend_file_ops.close(h);
}
END_TEST

/* FUA on trim and write-zeroes ends with the FSYNC; without FUA none. */
START_TEST(test_durable_fua_trim_and_zero_end_with_fdatasync)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct file_store *h = durable_open("zero", false);
    const struct {
        void (*fn)(void *, struct backend_req *);
        enum backend_op op;
        uint32_t flags;
    } cases[] = {
        { file_io_trim, BACKEND_OP_TRIM, 0 },
        { file_io_zero, BACKEND_OP_ZERO, 0 },
        { file_io_zero, BACKEND_OP_ZERO, BACKEND_MAY_TRIM },
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_int_eq(spy_run(ctx, h, cases[i].fn, cases[i].op, 65536,
                                 NULL, 65536, cases[i].flags), 0);
        for (int k = 0; k < spy_n; k++) {
            ck_assert(spy_log[k].kind != SPY_SQE
                      || spy_log[k].opcode != IORING_OP_FSYNC);
        }
        ck_assert_int_eq(spy_run(ctx, h, cases[i].fn, cases[i].op, 65536,
                                 NULL, 65536, cases[i].flags | BACKEND_FUA),
                         0);
        if (cases[i].op == BACKEND_OP_TRIM && !atomic_load(&h->can_punch)) {
            fprintf(stderr, "skipped: trim is a no-op here (no PUNCH_HOLE)\n");
            continue;
        }
        spy_assert_fdatasync_last(h);
    }
    aio_ctx_free(ctx);
    backend_file_ops.close(h);
}
END_TEST

static Suite *
durable_suite(void)
{
    Suite *s = suite_create("backend-file-durable");
    TCase *tc = tcase_create("durable");

    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, bt_dir_setup, bt_dir_teardown);
    tcase_add_loop_test(tc, test_durable_flush_is_fdatasync_before_reply, 0,
                        2);
    tcase_add_loop_test(tc, test_durable_fua_write_is_dsync_before_reply, 0,
                        3);
    tcase_add_test(tc, test_durable_fua_trim_and_zero_end_with_fdatasync);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(durable_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
