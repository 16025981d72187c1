/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of messages to the I/O thread and the notifier that wakes it
 * (server/aio/msgq.c, notifier.c): aio_ctx_run from other threads keeps
 * each sender's order under every policy, the eventfd is skipped while
 * the loop polls, re-arming looks at the poll callbacks before sleeping,
 * and a message or a bare aio_ctx_notify ends a blocking wait.
 *
 * Real file descriptors and helper threads that act "a little later"
 * (DELAY_MS), every run of the loop bounded by a guard timer: see
 * aio-test-helpers.h.
 *
 * The test includes aio-internal.h to look at the notifier's eventfd:
 * that is the only way to check that a notification was *not* written
 * while the loop polled.
 */
#include <config.h>

#include <stdatomic.h>

#include <check.h>

#include "aio/aio-internal.h"

#include "aio-test-helpers.h"

/* --- The notifier ----------------------------------------------------- */

START_TEST(test_notify_skips_eventfd_while_polling)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_busy_ops, 0);
    struct aio_stats_snapshot before, after;
    bool ran = false;
    struct run_later rl = { ctx, &ran };
    struct later l;

    aio_ctx_poll(ctx, false);
    ck_assert(!atomic_load(&ctx->notifier.armed));
    before = stats_of(ctx);
    later_start(&l, DELAY_MS, aio_ctx_run_fn, &rl);
    ck_assert(run_until(ctx, &ran, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);

    ck_assert_uint_gt(after.poll_hits, before.poll_hits);
    ck_assert_uint_eq(after.blocking_waits, before.blocking_waits);
    /* Found by the notifier's poll callback: the eventfd was never written. */
    ck_assert(!fd_readable(ctx->notifier.efd));
    aio_ctx_free(ctx);
}
END_TEST

/*
 * A notification that arrives while the notifier is muted writes no
 * eventfd; the loop must look at the poll callbacks once more after
 * re-arming, or it sleeps through it.  Sending from the loop thread itself
 * makes the race deterministic.
 */
START_TEST(test_rearm_checks_poll_callbacks_before_sleeping)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_busy_ops, 0);
    struct poll_params off = params_for(&policy_off_ops);
    bool ran = false;
    int64_t t0;

    aio_ctx_poll(ctx, false);
    ck_assert(!atomic_load(&ctx->notifier.armed));
    ck_assert_int_eq(aio_ctx_run(ctx, run_msg_fn, &ran), 0);
    ck_assert(!fd_readable(ctx->notifier.efd));
    aio_ctx_set_params(ctx, &off); /* next iteration goes straight to sleep */
    t0 = clock_now_ns();
    ck_assert(run_until(ctx, &ran, GUARD_MS));
    ck_assert_int_lt(clock_now_ns() - t0, GUARD_MS * NS_PER_MS / 2);
    ck_assert(atomic_load(&ctx->notifier.armed));
    aio_ctx_free(ctx);
}
END_TEST

static void
notify_fn(void *opaque)
{
    aio_ctx_notify(opaque);
}

START_TEST(test_block_phase_wakes_on_notifier)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_off_ops, 0);
    struct aio_stats_snapshot before, after;
    bool ran = false;
    struct run_later rl = { ctx, &ran };
    struct guard g = { .fired = false };
    struct later l;
    bool progress;

    /* aio_ctx_run from another thread. */
    before = stats_of(ctx);
    later_start(&l, DELAY_MS, aio_ctx_run_fn, &rl);
    ck_assert(run_until(ctx, &ran, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);
    ck_assert_uint_gt(after.blocking_waits, before.blocking_waits);

    /* A bare aio_ctx_notify ends a blocking wait that has no timer... */
    aio_timer_init(&g.t, guard_cb, &g);
    ck_assert_int_eq(aio_timer_mod(ctx, &g.t,
                                   clock_now_ns() + GUARD_MS * NS_PER_MS), 0);
    later_start(&l, DELAY_MS, notify_fn, ctx);
    progress = aio_ctx_poll(ctx, true);
    later_join(&l);
    ck_assert(!g.fired);
    /* ...and is not progress: no user callback ran. */
    ck_assert(!progress);
    aio_timer_del(ctx, &g.t);
    aio_ctx_free(ctx);
}
END_TEST

/* --- Messages --------------------------------------------------------- */

#define MSG_PER_SENDER 2000

struct msg_rx {
    int last[2];
    int count;
    bool in_order;
    bool done;
};

struct msg {
    struct msg_rx *rx;
    int sender, seq;
};

static void
msg_fn(void *opaque)
{
    struct msg *m = opaque;
    struct msg_rx *rx = m->rx;

    if (m->seq != rx->last[m->sender] + 1) {
        rx->in_order = false;
    }
    rx->last[m->sender] = m->seq;
    if (++rx->count == 2 * MSG_PER_SENDER) {
        rx->done = true;
    }
}

struct sender {
    pthread_t th;
    struct aio_ctx *ctx;
    struct msg *msgs;
};

static void *
sender_main(void *opaque)
{
    struct sender *s = opaque;

    for (int i = 0; i < MSG_PER_SENDER; i++) {
        if (aio_ctx_run(s->ctx, msg_fn, &s->msgs[i]) < 0) {
            return (void *)1;
        }
        if (i % 500 == 0) {
            usleep(1000); /* let the loop fall asleep now and then */
        }
    }
    return NULL;
}

START_TEST(test_messages_keep_order_per_sender)
{
    const struct policy_ops *ops = policy_table[_i];
    struct aio_ctx *ctx = ctx_new_policy(ops, 0);
    struct msg_rx rx = { .last = { -1, -1 }, .in_order = true };
    struct sender s[2];
    void *ret;

    for (int k = 0; k < 2; k++) {
        s[k].ctx = ctx;
        s[k].msgs = calloc(MSG_PER_SENDER, sizeof *s[k].msgs);
        ck_assert_ptr_nonnull(s[k].msgs);
        for (int i = 0; i < MSG_PER_SENDER; i++) {
            s[k].msgs[i] = (struct msg){ &rx, k, i };
        }
        ck_assert_int_eq(pthread_create(&s[k].th, NULL, sender_main, &s[k]),
                         0);
    }
    ck_assert(run_until(ctx, &rx.done, GUARD_MS * 2));
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(pthread_join(s[k].th, &ret), 0);
        ck_assert_ptr_null(ret);
        free(s[k].msgs);
    }
    ck_assert(rx.in_order);
    ck_assert_int_eq(rx.last[0], MSG_PER_SENDER - 1);
    ck_assert_int_eq(rx.last[1], MSG_PER_SENDER - 1);
    aio_ctx_free(ctx);
}
END_TEST

static Suite *
aio_msgq_suite(void)
{
    Suite *s = suite_create("aio-msgq");
    TCase *tc;
    int npolicies = aio_test_npolicies();

    tc = tcase_create("policies");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_messages_keep_order_per_sender, 0,
                        npolicies);
    suite_add_tcase(s, tc);

    tc = tcase_create("polling");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_notify_skips_eventfd_while_polling);
    tcase_add_test(tc, test_rearm_checks_poll_callbacks_before_sleeping);
    suite_add_tcase(s, tc);

    tc = tcase_create("blocking");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_block_phase_wakes_on_notifier);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return aio_test_main(aio_msgq_suite());
}
