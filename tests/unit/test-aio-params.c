/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the poll parameters as the I/O-thread loop applies them
 * (aio_ctx_set_params in server/aio/aio.c): a live change of policy
 * through a message resets every window, readers on other threads never
 * see half of a change, and policy off never polls.
 *
 * Real file descriptors and helper threads that act "a little later"
 * (DELAY_MS), every run of the loop bounded by a guard timer: see
 * aio-test-helpers.h.
 */
#include <config.h>

#include <stdatomic.h>

#include <check.h>

#include "aio-test-helpers.h"

/* --- Live parameter changes ------------------------------------------- */

static void
set_params_fn(void *opaque)
{
    struct run_later *rl = opaque;
    struct poll_params p = params_for(&policy_weighted_ops);

    p.max_ns = 10000;
    p.weight = 2;
    aio_ctx_set_params(rl->ctx, &p);
    *rl->flag = true;
}

struct tear_reader {
    pthread_t th;
    struct aio_ctx *ctx;
    _Atomic bool stop;
    _Atomic long torn, reads;
};

static void *
tear_reader_main(void *opaque)
{
    struct tear_reader *r = opaque;

    while (!atomic_load(&r->stop)) {
        struct aio_stats_snapshot s;
        bool a, b;

        aio_ctx_stats_read(r->ctx, &s);
        a = strcmp(s.policy, "classic") == 0 && s.params.max_ns == 1000
            && s.params.grow == 3 && s.params.policy == &policy_classic_ops;
        b = strcmp(s.policy, "per-handler") == 0 && s.params.max_ns == 2000
            && s.params.grow == 5
            && s.params.policy == &policy_per_handler_ops;
        if (!a && !b) {
            atomic_fetch_add(&r->torn, 1);
        }
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

START_TEST(test_set_params_changes_policy_live)
{
    struct poll_params p = params_for(&policy_classic_ops);
    struct poll_params pa, pb;
    struct aio_ctx *ctx;
    struct th t = { .want = 1000 };
    struct aio_handler_stats hs[8];
    struct aio_stats_snapshot s;
    bool set = false;
    struct run_later rl;
    struct tear_reader tr = { .stop = false, .torn = 0, .reads = 0 };
    size_t n;
    int sv[2];

    ck_assert_int_eq(aio_ctx_new(&ctx, &p, 0), 0);
    socketpair_nb(sv);
    th_add(&t, ctx, sv[0], true);

    /* Events that are always already there: classic grows its window. */
    for (int i = 0; i < 10; i++) {
        write_byte_fn(&sv[1]);
        aio_ctx_poll(ctx, true);
    }
    s = stats_of(ctx);
    ck_assert_str_eq(s.policy, "classic");
    ck_assert_int_gt(s.poll_ns, 0);
    ck_assert_uint_gt(s.grows, 0);

    /* Change through a message from another thread, as the daemon does. */
    rl = (struct run_later){ ctx, &set };
    ck_assert_int_eq(aio_ctx_run(ctx, set_params_fn, &rl), 0);
    ck_assert(run_until(ctx, &set, GUARD_MS));
    s = stats_of(ctx);
    ck_assert_str_eq(s.policy, "weighted");
    ck_assert_int_eq(s.params.max_ns, 10000);
    ck_assert_int_eq(s.params.weight, 2);
    ck_assert_int_eq(s.poll_ns, 0); /* the window was reset */
    ck_assert_int_eq(aio_ctx_params(ctx)->max_ns, 10000);
    n = aio_ctx_handler_stats(ctx, hs, 8);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(hs[i].window_ns, 0);
    }

    /* busy: the window is unbounded at once. */
    p = params_for(&policy_busy_ops);
    aio_ctx_set_params(ctx, &p);
    s = stats_of(ctx);
    ck_assert_str_eq(s.policy, "busy");
    ck_assert_int_eq(s.poll_ns, POLICY_NS_UNBOUNDED);

    /* Readers on another thread never see half of a change. */
    pa = params_for(&policy_classic_ops);
    pa.max_ns = 1000;
    pa.grow = 3;
    pb = params_for(&policy_per_handler_ops);
    pb.max_ns = 2000;
    pb.grow = 5;
    aio_ctx_set_params(ctx, &pa);
    tr.ctx = ctx;
    ck_assert_int_eq(pthread_create(&tr.th, NULL, tear_reader_main, &tr), 0);
    for (int i = 0; i < 20000 || atomic_load(&tr.reads) < 1000; i++) {
        aio_ctx_set_params(ctx, (i & 1) ? &pa : &pb);
    }
    atomic_store(&tr.stop, true);
    ck_assert_int_eq(pthread_join(tr.th, NULL), 0);
    ck_assert_int_eq(atomic_load(&tr.torn), 0);

    th_del(&t);
    aio_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(test_policy_off_never_counts_poll_hits)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_off_ops, 0);
    struct th t = { .want = 1000 };
    struct aio_stats_snapshot s;
    int sv[2];

    socketpair_nb(sv);
    th_add(&t, ctx, sv[0], true);
    for (int i = 0; i < 50; i++) {
        write_byte_fn(&sv[1]);
        ck_assert(aio_ctx_poll(ctx, true));
    }
    ck_assert_int_eq(t.reads, 50);
    s = stats_of(ctx);
    ck_assert_uint_eq(s.poll_hits, 0);
    ck_assert_uint_eq(s.poll_misses, 0);
    ck_assert_uint_eq(s.polling_ns, 0);
    ck_assert_int_eq(s.poll_ns, 0);
    ck_assert_uint_ge(s.blocking_waits, 50);

    th_del(&t);
    aio_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

static Suite *
aio_params_suite(void)
{
    Suite *s = suite_create("aio-params");
    TCase *tc;

    tc = tcase_create("polling");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_set_params_changes_policy_live);
    tcase_add_test(tc, test_policy_off_never_counts_poll_hits);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return aio_test_main(aio_params_suite());
}
