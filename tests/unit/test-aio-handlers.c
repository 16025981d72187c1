/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of fd handlers on the I/O-thread loop (server/aio/aio.c,
 * fdmon-epoll.c): read and write readiness under every policy, an event
 * found by polling without blocking, the block phase woken by a socket, a
 * pipe or an eventfd, idle handlers leaving and rejoining the poll set,
 * and deleting handlers from their own callbacks.
 *
 * Real file descriptors and helper threads that act "a little later"
 * (DELAY_MS), every run of the loop bounded by a guard timer: see
 * aio-test-helpers.h.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/time.h>

#include <check.h>

#include "aio-test-helpers.h"

/* --- Core read/write over every policy -------------------------------- */

#define PINGPONG_ROUNDS 50

struct peer {
    int fd;
    _Atomic int ok_rounds;
};

/* The peer sends one byte and waits for its echo, PINGPONG_ROUNDS times. */
static void
peer_pingpong(void *opaque)
{
    struct peer *p = opaque;
    struct timeval tv = { .tv_sec = 3 };

    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (int i = 0; i < PINGPONG_ROUNDS; i++) {
        unsigned char c = (unsigned char)i, e;

        if (write(p->fd, &c, 1) != 1 || read(p->fd, &e, 1) != 1 || e != c) {
            return;
        }
        atomic_fetch_add(&p->ok_rounds, 1);
    }
}

START_TEST(test_read_write_echo_under_each_policy)
{
    const struct policy_ops *ops = policy_table[_i];
    struct aio_ctx *ctx = ctx_new_policy(ops, 0);
    struct th t = { .echo = true, .want = PINGPONG_ROUNDS };
    struct peer p = { .ok_rounds = 0 };
    struct later l;
    struct aio_stats_snapshot s;
    uint64_t hist_sum = 0;
    int sv[2];

    socketpair_nb(sv);
    th_add(&t, ctx, sv[0], true);
    /* Write readiness must be delivered under every policy, busy too. */
    ck_assert_int_eq(aio_handler_want_write(t.h, true), 0);
    p.fd = sv[1];
    later_start(&l, 0, peer_pingpong, &p);
    ck_assert(run_until(ctx, &t.done, GUARD_MS * 2));
    later_join(&l);

    ck_assert_int_eq(atomic_load(&p.ok_rounds), PINGPONG_ROUNDS);
    for (size_t i = 0; i < PINGPONG_ROUNDS; i++) {
        ck_assert_uint_eq(t.got[i], (unsigned char)i);
    }
    ck_assert_int_eq(t.writes, 1);

    s = stats_of(ctx);
    ck_assert_str_eq(s.policy, ops->name);
    ck_assert_uint_gt(s.iterations, 0);
    for (size_t i = 0; i < AIO_STATS_HIST_BUCKETS; i++) {
        hist_sum += s.block_ns_hist[i];
    }
    ck_assert_uint_eq(hist_sum, s.iterations);
    if (ops == &policy_off_ops) {
        ck_assert_uint_eq(s.poll_hits, 0);
        ck_assert_uint_eq(s.polling_ns, 0);
        ck_assert_uint_gt(s.blocking_waits, 0);
    }
    if (ops == &policy_busy_ops) {
        /* A non-empty poll set and a timer: busy never sleeps. */
        ck_assert_uint_eq(s.blocking_waits, 0);
        ck_assert_uint_gt(s.poll_hits, 0);
        ck_assert_int_eq(s.poll_ns, POLICY_NS_UNBOUNDED);
    }

    th_del(&t);
    aio_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* --- Polling finds events without blocking ---------------------------- */

START_TEST(test_busy_poll_finds_socket_event_without_blocking)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_busy_ops, 0);
    struct th t = { 0 };
    struct aio_stats_snapshot before, after;
    struct later l;
    int sv[2];

    socketpair_nb(sv);
    th_add(&t, ctx, sv[0], true);
    aio_ctx_poll(ctx, false); /* enter polling: sources are now muted */
    before = stats_of(ctx);
    later_start(&l, DELAY_MS, write_byte_fn, &sv[1]);
    ck_assert(run_until(ctx, &t.done, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);

    ck_assert_uint_gt(after.poll_hits, before.poll_hits);
    ck_assert_uint_eq(after.blocking_waits, before.blocking_waits);
    ck_assert_uint_gt(after.polling_ns, before.polling_ns);
    ck_assert_int_eq(t.reads, 1);

    th_del(&t);
    aio_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* --- The block phase wakes on every kind of source -------------------- */

enum fd_kind { KIND_SOCKET, KIND_PIPE, KIND_EVENTFD, KIND_COUNT };

START_TEST(test_block_phase_wakes_on_socket_pipe_eventfd)
{
    enum fd_kind kind = (enum fd_kind)_i;
    struct aio_ctx *ctx = ctx_new_policy(&policy_off_ops, 0);
    struct th t = { 0 };
    struct aio_stats_snapshot before, after;
    struct later l;
    int rfd, wfd, fds[2];
    int64_t t0;

    switch (kind) {
    case KIND_SOCKET:
        socketpair_nb(fds);
        break;
    case KIND_PIPE:
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        break;
    default:
        fds[0] = fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        ck_assert_int_ge(fds[0], 0);
        t.is_eventfd = true;
        break;
    }
    rfd = fds[0];
    wfd = fds[1];
    /* A poll callback too: with `off` it must never be what finds it. */
    th_add(&t, ctx, rfd, kind != KIND_PIPE);
    before = stats_of(ctx);
    t0 = clock_now_ns();
    later_start(&l, DELAY_MS, kind == KIND_EVENTFD ? write_eventfd_fn
                                                   : write_byte_fn, &wfd);
    ck_assert(run_until(ctx, &t.done, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);

    ck_assert_int_ge(clock_now_ns() - t0, DELAY_MS * NS_PER_MS);
    ck_assert_uint_gt(after.blocking_waits, before.blocking_waits);
    ck_assert_uint_gt(after.blocked_ns, before.blocked_ns);
    ck_assert_uint_eq(after.poll_hits, 0);
    ck_assert_int_eq(t.reads, 1);

    th_del(&t);
    aio_ctx_free(ctx);
    close(rfd);
    if (wfd != rfd) {
        close(wfd);
    }
}
END_TEST

/* --- Idle handlers ---------------------------------------------------- */

START_TEST(test_idle_handlers_leave_poll_set_and_rejoin)
{
    struct poll_params p = params_for(&policy_weighted_ops);
    struct aio_ctx *ctx;
    struct th t = { 0 };
    struct aio_stats_snapshot before, after;
    bool nothing = false, ran = false;
    struct run_later rl;
    struct later l;
    int sv[2];

    p.idle_timeout_ms = 20;
    ck_assert_int_eq(aio_ctx_new(&ctx, &p, 0), 0);
    socketpair_nb(sv);
    th_add(&t, ctx, sv[0], true);
    ck_assert(in_poll_set(ctx, "test-poll", sv[0]));
    ck_assert(in_poll_set(ctx, "ring", -1));
    ck_assert(in_poll_set(ctx, "notifier", -1));

    /* 60 ms of nothing: everyone is idle. */
    ck_assert(!run_until(ctx, &nothing, 60));
    ck_assert(!in_poll_set(ctx, "test-poll", sv[0]));
    ck_assert(!in_poll_set(ctx, "ring", -1));
    ck_assert(!in_poll_set(ctx, "notifier", -1));

    /* An event brings the socket back; the others stay out. */
    write_byte_fn(&sv[1]);
    ck_assert(run_until(ctx, &t.done, GUARD_MS));
    ck_assert(in_poll_set(ctx, "test-poll", sv[0]));
    ck_assert(!in_poll_set(ctx, "ring", -1));

    /* An idle notifier is armed again: a message still wakes the loop. */
    rl = (struct run_later){ ctx, &ran };
    ck_assert(!run_until(ctx, &nothing, 60));
    ck_assert(!in_poll_set(ctx, "notifier", -1));
    later_start(&l, DELAY_MS, aio_ctx_run_fn, &rl);
    ck_assert(run_until(ctx, &ran, GUARD_MS));
    later_join(&l);
    ck_assert(in_poll_set(ctx, "notifier", -1));

    /* busy spins only while something is in the poll set: once all is
     * idle it blocks like any other policy. */
    p.policy = &policy_busy_ops;
    aio_ctx_set_params(ctx, &p);
    before = stats_of(ctx);
    ck_assert(!run_until(ctx, &nothing, 80));
    after = stats_of(ctx);
    ck_assert(!in_poll_set(ctx, "test-poll", sv[0]));
    ck_assert(!in_poll_set(ctx, "notifier", -1));
    ck_assert_uint_gt(after.blocking_waits, before.blocking_waits);

    th_del(&t);
    aio_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* --- Deleting handlers from callbacks --------------------------------- */

START_TEST(test_delete_handler_from_its_own_callback)
{
    const struct policy_ops *ops = policy_table[_i];
    struct aio_ctx *ctx = ctx_new_policy(ops, 0);
    struct th a = { 0 }, b = { 0 };
    struct aio_handler *dup;
    int sa[2], sb[2];

    socketpair_nb(sa);
    socketpair_nb(sb);
    th_add(&a, ctx, sa[0], true);
    th_add(&b, ctx, sb[0], false);

    /* Registering an fd twice is refused. */
    errno = 0;
    dup = aio_handler_add(ctx, sa[0], &th_ops_nopoll, &a);
    ck_assert_ptr_null(dup);
    ck_assert_int_eq(errno, EEXIST);

    /* Both ready in the same iteration; whichever runs first deletes
     * itself and the other, which must then not run. */
    a.del_self = b.del_self = true;
    a.del_other = &b;
    b.del_other = &a;
    write_byte_fn(&sa[1]);
    write_byte_fn(&sb[1]);
    usleep(1000);
    ck_assert(aio_ctx_poll(ctx, true));
    ck_assert_int_eq(a.reads + b.reads, 1);
    ck_assert_ptr_null(a.h);
    ck_assert_ptr_null(b.h);
    ck_assert_uint_eq(aio_ctx_handler_stats(ctx, NULL, 0), 2); /* internal */

    /* The fd can be registered again; the loop goes on. */
    a = (struct th){ 0 };
    th_add(&a, ctx, sa[0], true);
    write_byte_fn(&sa[1]);
    ck_assert(run_until(ctx, &a.done, GUARD_MS));
    th_del(&a);

    aio_ctx_free(ctx);
    close(sa[0]);
    close(sa[1]);
    close(sb[0]);
    close(sb[1]);
}
END_TEST

static Suite *
aio_handlers_suite(void)
{
    Suite *s = suite_create("aio-handlers");
    TCase *tc;
    int npolicies = aio_test_npolicies();

    tc = tcase_create("policies");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_read_write_echo_under_each_policy, 0,
                        npolicies);
    tcase_add_loop_test(tc, test_delete_handler_from_its_own_callback, 0,
                        npolicies);
    suite_add_tcase(s, tc);

    tc = tcase_create("polling");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_busy_poll_finds_socket_event_without_blocking);
    tcase_add_test(tc, test_idle_handlers_leave_poll_set_and_rejoin);
    suite_add_tcase(s, tc);

    tc = tcase_create("blocking");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_block_phase_wakes_on_socket_pipe_eventfd, 0,
                        KIND_COUNT);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return aio_test_main(aio_handlers_suite());
}
