/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the I/O thread's io_uring ring (server/aio/uring.c):
 * requests through aio_sqe_get (more NOPs than the SQ holds, a file read,
 * an error as -errno), and a completion found both by busy polling with
 * the CQ eventfd muted and by the blocking wait.
 *
 * Real file descriptors and helper threads that act "a little later"
 * (DELAY_MS), every run of the loop bounded by a guard timer: see
 * aio-test-helpers.h.
 *
 * The test includes aio-internal.h to look at the ring's eventfd: that is
 * the only way to check that no CQ notification was written while the
 * loop polled.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>

#include <check.h>

#include "aio/aio-internal.h"

#include "aio-test-helpers.h"

/* --- io_uring requests ------------------------------------------------ */

START_TEST(test_uring_nop_and_file_read)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_weighted_ops, 8);
    struct treq nops[20];
    struct treq rd = { .req.done = treq_done };
    char path[] = "/tmp/test-aio-XXXXXX";
    char data[4096], buf[64];
    struct io_uring_sqe *sqe;
    bool all = false;
    int fd;

    /* More NOPs than the SQ holds: aio_sqe_get submits when it is full. */
    for (size_t i = 0; i < 20; i++) {
        nops[i] = (struct treq){ .req.done = treq_done, .res = -1 };
        sqe = aio_sqe_get(ctx, &nops[i].req);
        ck_assert_ptr_nonnull(sqe);
        io_uring_prep_nop(sqe);
    }
    ck_assert_uint_eq(aio_ctx_sqe_inflight(ctx), 20);
    ck_assert_int_ge(aio_ctx_submit(ctx), 0);
    for (int iter = 0; iter < 1000 && !all; iter++) {
        aio_ctx_poll(ctx, true);
        all = true;
        for (size_t i = 0; i < 20; i++) {
            all = all && nops[i].done;
        }
    }
    ck_assert(all);
    for (size_t i = 0; i < 20; i++) {
        ck_assert_int_eq(nops[i].res, 0);
    }
    ck_assert_uint_eq(aio_ctx_sqe_inflight(ctx), 0);

    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (char)('a' + i % 26);
    }
    ck_assert_int_eq(write(fd, data, sizeof data), (ssize_t)sizeof data);
    sqe = aio_sqe_get(ctx, &rd.req);
    io_uring_prep_read(sqe, fd, buf, sizeof buf, 1000);
    ck_assert(run_until(ctx, &rd.done, GUARD_MS));
    ck_assert_int_eq(rd.res, (int)sizeof buf);
    ck_assert(memcmp(buf, data + 1000, sizeof buf) == 0);

    /* Errors come back as -errno in res. */
    rd = (struct treq){ .req.done = treq_done };
    sqe = aio_sqe_get(ctx, &rd.req);
    io_uring_prep_read(sqe, 9999, buf, sizeof buf, 0);
    ck_assert(run_until(ctx, &rd.done, GUARD_MS));
    ck_assert_int_eq(rd.res, -EBADF);

    aio_ctx_free(ctx);
    close(fd);
}
END_TEST

/* --- A completion found by polling, then by blocking ------------------ */

START_TEST(test_busy_poll_finds_ring_completion_with_eventfd_muted)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_busy_ops, 0);
    struct treq tr = { .req.done = treq_done };
    struct aio_stats_snapshot before, after;
    struct io_uring_sqe *sqe;
    struct later l;
    char buf[8];
    int pfd[2];

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    sqe = aio_sqe_get(ctx, &tr.req);
    io_uring_prep_read(sqe, pfd[0], buf, sizeof buf, (uint64_t)-1);
    ck_assert_uint_eq(aio_ctx_sqe_inflight(ctx), 1);
    aio_ctx_poll(ctx, false); /* submits, and starts polling */
    before = stats_of(ctx);
    later_start(&l, DELAY_MS, write_byte_fn, &pfd[1]);
    ck_assert(run_until(ctx, &tr.done, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);

    ck_assert_int_eq(tr.res, 1);
    ck_assert_int_eq(buf[0], 'x');
    ck_assert_uint_eq(aio_ctx_sqe_inflight(ctx), 0);
    ck_assert_uint_gt(after.poll_hits, before.poll_hits);
    ck_assert_uint_eq(after.blocking_waits, before.blocking_waits);
    /* CQ eventfd notifications were off while polling. */
    ck_assert(!fd_readable(ctx->uring.efd));
    aio_ctx_free(ctx);
    close(pfd[0]);
    close(pfd[1]);
}
END_TEST

START_TEST(test_block_phase_wakes_on_ring_completion)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_off_ops, 0);
    struct treq tr = { .req.done = treq_done };
    struct aio_stats_snapshot before, after;
    struct io_uring_sqe *sqe;
    struct later l;
    char buf[8];
    int pfd[2];

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    sqe = aio_sqe_get(ctx, &tr.req);
    io_uring_prep_read(sqe, pfd[0], buf, sizeof buf, (uint64_t)-1);
    before = stats_of(ctx);
    later_start(&l, DELAY_MS, write_byte_fn, &pfd[1]);
    ck_assert(run_until(ctx, &tr.done, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);

    ck_assert_int_eq(tr.res, 1);
    ck_assert_uint_gt(after.blocking_waits, before.blocking_waits);
    ck_assert_uint_eq(after.poll_hits, 0);
    aio_ctx_free(ctx);
    close(pfd[0]);
    close(pfd[1]);
}
END_TEST

static Suite *
aio_uring_suite(void)
{
    Suite *s = suite_create("aio-uring");
    TCase *tc;

    tc = tcase_create("polling");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_busy_poll_finds_ring_completion_with_eventfd_muted);
    suite_add_tcase(s, tc);

    tc = tcase_create("blocking");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_block_phase_wakes_on_ring_completion);
    tcase_add_test(tc, test_uring_nop_and_file_read);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return aio_test_main(aio_uring_suite());
}
