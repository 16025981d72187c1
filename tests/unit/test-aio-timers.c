/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the I/O-thread loop's timers (server/aio/timer.c): under
 * every policy they fire in deadline order, never early and not much
 * late, after deletes and moves; with none armed the loop still sleeps.
 *
 * Real file descriptors and helper threads that act "a little later"
 * (DELAY_MS), every run of the loop bounded by a guard timer: see
 * aio-test-helpers.h.
 */
#include <config.h>

#include <check.h>

#include "aio-test-helpers.h"

/* --- Timers ----------------------------------------------------------- */

struct ttimer {
    struct aio_timer t;
    int id;
    int64_t deadline;
    int64_t fired_ns;
    int *order;
    int *norder;
};

static void
ttimer_cb(void *opaque)
{
    struct ttimer *tt = opaque;

    tt->fired_ns = clock_now_ns();
    tt->order[(*tt->norder)++] = tt->id;
}

START_TEST(test_timers_fire_on_time_in_deadline_order)
{
    const struct policy_ops *ops = policy_table[_i];
    struct aio_ctx *ctx = ctx_new_policy(ops, 0);
    /* ids are the final deadlines in ms */
    static const int ms[] = { 30, 10, 20, 15, 50 };
    struct ttimer tt[5];
    int order[8], norder = 0;
    bool done = false;
    int64_t now = clock_now_ns();

    for (size_t i = 0; i < 5; i++) {
        tt[i] = (struct ttimer){ .id = ms[i], .fired_ns = 0,
                                 .order = order, .norder = &norder };
        aio_timer_init(&tt[i].t, ttimer_cb, &tt[i]);
        tt[i].deadline = now + ms[i] * NS_PER_MS;
        ck_assert_int_eq(aio_timer_mod(ctx, &tt[i].t, tt[i].deadline), 0);
    }
    /* Delete the 15 ms one; move the 50 ms one to 5 ms. */
    aio_timer_del(ctx, &tt[3].t);
    aio_timer_del(ctx, &tt[3].t); /* harmless twice */
    tt[4].deadline = now + 5 * NS_PER_MS;
    tt[4].id = 5;
    ck_assert_int_eq(aio_timer_mod(ctx, &tt[4].t, tt[4].deadline), 0);

    for (int iter = 0; iter < 100000 && norder < 4; iter++) {
        aio_ctx_poll(ctx, true);
    }
    ck_assert_int_eq(norder, 4);
    ck_assert_int_eq(order[0], 5);
    ck_assert_int_eq(order[1], 10);
    ck_assert_int_eq(order[2], 20);
    ck_assert_int_eq(order[3], 30);
    for (size_t i = 0; i < 5; i++) {
        if (i == 3) {
            ck_assert_int_eq(tt[i].fired_ns, 0);
            continue;
        }
        ck_assert_int_ge(tt[i].fired_ns, tt[i].deadline); /* never early */
        ck_assert_int_lt(tt[i].fired_ns, tt[i].deadline + LATE_BOUND_NS);
    }
    /* Nothing armed: a guard run proves the loop still sleeps on timers. */
    ck_assert(!run_until(ctx, &done, 5));
    aio_ctx_free(ctx);
}
END_TEST

static Suite *
aio_timers_suite(void)
{
    Suite *s = suite_create("aio-timers");
    TCase *tc;
    int npolicies = aio_test_npolicies();

    tc = tcase_create("timers");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_timers_fire_on_time_in_deadline_order, 0,
                        npolicies);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return aio_test_main(aio_timers_suite());
}
