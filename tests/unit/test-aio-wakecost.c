/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the wake-up measurement (server/aio/wakecost.c) and of how
 * a loop uses it for `max-ns = auto` (aio_ctx_calibrate): the figures are
 * the host's, so the tests check what must hold on any host (a sane
 * measurement, quickly taken; the window in effect is the rule's answer
 * for the measured cost under auto, and untouched when max-ns is fixed),
 * not particular values.
 */
#include <config.h>

#include <check.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "aio/aio.h"
#include "policy/policy.h"
#include "util/clock.h"

static struct aio_ctx *
new_ctx(int64_t max_ns)
{
    struct poll_params p;
    struct aio_ctx *ctx;

    policy_params_default(&p);
    p.max_ns = max_ns;
    ck_assert_int_eq(aio_ctx_new(&ctx, &p, 8), 0);
    return ctx;
}

START_TEST(test_measure_is_sane_and_quick)
{
    struct aio_wakecost wc;
    int64_t t0 = clock_now_ns(), took;

    ck_assert_int_eq(aio_wakecost_measure(&wc), 0);
    took = clock_now_ns() - t0;
    ck_assert_uint_eq(wc.samples, 31);
    ck_assert_int_gt(wc.spinning_ns, 0);
    ck_assert_int_gt(wc.blocked_ns, 0);
    ck_assert_int_ge(wc.cost_ns, 0);
    ck_assert_int_eq(wc.cost_ns, wc.blocked_ns > wc.spinning_ns
                                     ? wc.blocked_ns - wc.spinning_ns
                                     : 0);
    /* 62 samples of a 200 us pause and a wake-up: tens of ms on a quiet
     * host.  A loaded one can hold the waker off its CPU for a while per
     * sample (each waits up to a second); five seconds would mean several
     * lost wake-ups, or a start delayed more than anyone should accept. */
    ck_assert_msg(took < 5 * NS_PER_SEC, "the measurement took %jd ns",
                  (intmax_t)took);
}
END_TEST

START_TEST(test_auto_uses_fallback_until_calibrated)
{
    struct aio_ctx *ctx = new_ctx(POLICY_MAX_NS_AUTO);
    struct aio_stats_snapshot s;

    ck_assert(aio_ctx_max_ns_auto(ctx));
    ck_assert_int_eq(aio_ctx_params(ctx)->max_ns, POLICY_AUTO_FALLBACK_NS);
    ck_assert_int_eq(aio_ctx_wakecost(ctx)->samples, 0);
    aio_ctx_stats_read(ctx, &s);
    ck_assert(s.max_ns_auto);
    ck_assert_int_eq(s.params.max_ns, POLICY_AUTO_FALLBACK_NS);
    ck_assert_int_eq(s.wake_cost_ns, 0);
    aio_ctx_free(ctx);
}
END_TEST

START_TEST(test_auto_window_follows_the_measurement)
{
    struct aio_ctx *ctx = new_ctx(POLICY_MAX_NS_AUTO);
    const struct aio_wakecost *wc;
    struct aio_stats_snapshot s;
    int64_t w;

    ck_assert_int_eq(aio_ctx_calibrate(ctx), 0);
    wc = aio_ctx_wakecost(ctx);
    ck_assert_uint_eq(wc->samples, 31);
    w = aio_ctx_params(ctx)->max_ns;
    ck_assert_int_eq(w, policy_max_ns_auto(wc->cost_ns));
    ck_assert_int_ge(w, POLICY_AUTO_MIN_NS);
    ck_assert_int_le(w, POLICY_AUTO_MAX_NS);
    aio_ctx_stats_read(ctx, &s);
    ck_assert(s.max_ns_auto);
    ck_assert_int_eq(s.params.max_ns, w);
    ck_assert_int_eq(s.wake_cost_ns, wc->cost_ns);
    ck_assert_int_eq(s.wake_blocked_ns, wc->blocked_ns);
    ck_assert_int_eq(s.wake_spinning_ns, wc->spinning_ns);
    aio_ctx_free(ctx);
}
END_TEST

START_TEST(test_fixed_window_overrides_auto)
{
    struct aio_ctx *ctx = new_ctx(10000);
    struct aio_stats_snapshot s;
    struct poll_params p = *aio_ctx_params(ctx);

    ck_assert(!aio_ctx_max_ns_auto(ctx));
    ck_assert_int_eq(aio_ctx_calibrate(ctx), 0);
    /* Measured (and shown), but the fixed value stays in force. */
    ck_assert_int_eq(aio_ctx_params(ctx)->max_ns, 10000);
    aio_ctx_stats_read(ctx, &s);
    ck_assert(!s.max_ns_auto);
    ck_assert_int_eq(s.params.max_ns, 10000);
    ck_assert_int_eq(s.wake_cost_ns, aio_ctx_wakecost(ctx)->cost_ns);

    /* Switching to auto live takes the measured window without measuring
     * again; switching back restores the fixed one. */
    p.max_ns = POLICY_MAX_NS_AUTO;
    aio_ctx_set_params(ctx, &p);
    ck_assert(aio_ctx_max_ns_auto(ctx));
    ck_assert_int_eq(aio_ctx_params(ctx)->max_ns,
                     policy_max_ns_auto(aio_ctx_wakecost(ctx)->cost_ns));
    p.max_ns = 20000;
    aio_ctx_set_params(ctx, &p);
    ck_assert(!aio_ctx_max_ns_auto(ctx));
    ck_assert_int_eq(aio_ctx_params(ctx)->max_ns, 20000);
    aio_ctx_free(ctx);
}
END_TEST

START_TEST(test_max_ns_0_is_not_auto)
{
    struct aio_ctx *ctx = new_ctx(0);

    ck_assert_int_eq(aio_ctx_calibrate(ctx), 0);
    ck_assert(!aio_ctx_max_ns_auto(ctx));
    ck_assert_int_eq(aio_ctx_params(ctx)->max_ns, 0);
    aio_ctx_free(ctx);
}
END_TEST

START_TEST(test_negative_window_other_than_auto_is_refused)
{
    struct poll_params p;
    struct aio_ctx *ctx;

    policy_params_default(&p);
    p.max_ns = -2;
    ck_assert_int_eq(aio_ctx_new(&ctx, &p, 8), -EINVAL);
}
END_TEST

static Suite *
wakecost_suite(void)
{
    Suite *s = suite_create("aio-wakecost");
    TCase *tc = tcase_create("wakecost");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_measure_is_sane_and_quick);
    tcase_add_test(tc, test_auto_uses_fallback_until_calibrated);
    tcase_add_test(tc, test_auto_window_follows_the_measurement);
    tcase_add_test(tc, test_fixed_window_overrides_auto);
    tcase_add_test(tc, test_max_ns_0_is_not_auto);
    tcase_add_test(tc, test_negative_window_other_than_auto_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(wakecost_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
