/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of `max-ns = auto` on the policy side (server/policy/
 * policy-max-ns.c and the parameter table): the rule that turns a measured
 * wake-up cost into a window is a pure function, so each case gives it a
 * cost and checks the window computed by hand from the documented rule
 * (4 wake-ups, clamped to 16 us .. 1 ms, 32768 ns when unmeasured).
 */
#include <config.h>

#include <check.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "util/compiler.h"

#define US INT64_C(1000)

static const struct {
    int64_t cost_ns, window_ns;
    const char *why;
} auto_cases[] = {
    { -1, 32768, "not measured: QEMU's bare-metal window" },
    { 0, 16 * US, "free wake-ups: the floor" },
    { 2 * US, 16 * US, "8 us is below the floor" },
    { 4 * US, 16 * US, "exactly the floor" },
    { 8 * US, 32 * US, "bare metal: about QEMU's 32 us" },
    { 10 * US, 40 * US, "4 x 10 us" },
    { 64 * US, 256 * US, "a VM: 4 x 64 us" },
    { 100 * US, 400 * US, "a slow VM: 4 x 100 us" },
    { 250 * US, 1000 * US, "exactly the ceiling" },
    { 251 * US, 1000 * US, "past the ceiling" },
    { INT64_MAX, 1000 * US, "no overflow" },
};

START_TEST(test_auto_window_is_4_wakeups_clamped)
{
    int64_t got = policy_max_ns_auto(auto_cases[_i].cost_ns);

    ck_assert_msg(got == auto_cases[_i].window_ns,
                  "cost %jd ns (%s): window %jd ns, expected %jd",
                  (intmax_t)auto_cases[_i].cost_ns, auto_cases[_i].why,
                  (intmax_t)got, (intmax_t)auto_cases[_i].window_ns);
}
END_TEST

START_TEST(test_auto_window_grows_with_the_cost)
{
    int64_t prev = 0;

    for (int64_t cost = 0; cost <= 400 * US; cost += 500) {
        int64_t w = policy_max_ns_auto(cost);

        ck_assert_int_ge(w, prev);
        ck_assert_int_ge(w, POLICY_AUTO_MIN_NS);
        ck_assert_int_le(w, POLICY_AUTO_MAX_NS);
        prev = w;
    }
}
END_TEST

START_TEST(test_default_max_ns_is_auto)
{
    struct poll_params p;
    const struct policy_param *param = policy_param_find("max-ns");
    char buf[32];

    policy_params_default(&p);
    ck_assert_int_eq(p.max_ns, POLICY_MAX_NS_AUTO);
    policy_param_format(&p, param, buf, sizeof buf);
    ck_assert_str_eq(buf, "auto");
}
END_TEST

START_TEST(test_param_set_max_ns_auto_and_back)
{
    struct poll_params p;
    const struct policy_param *param = policy_param_find("max-ns");
    char err[256] = "", buf[32];

    policy_params_default(&p);
    ck_assert_int_eq(policy_param_set(&p, param, "64us", err, sizeof err), 0);
    ck_assert_int_eq(p.max_ns, 64000);
    policy_param_format(&p, param, buf, sizeof buf);
    ck_assert_str_eq(buf, "64000");
    ck_assert_int_eq(policy_param_set(&p, param, "auto", err, sizeof err), 0);
    ck_assert_int_eq(p.max_ns, POLICY_MAX_NS_AUTO);
}
END_TEST

START_TEST(test_param_set_max_ns_rejects_auto_lookalikes)
{
    static const char *const bad[] = { "AUTO", "auto1", "autos", "-1", "" };
    const struct policy_param *param = policy_param_find("max-ns");

    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct poll_params p;
        char err[256] = "";

        policy_params_default(&p);
        p.max_ns = 5000;
        ck_assert_msg(policy_param_set(&p, param, bad[i], err, sizeof err) ==
                          -EINVAL,
                      "'%s' accepted", bad[i]);
        ck_assert_int_eq(p.max_ns, 5000); /* unchanged */
        ck_assert_msg(strstr(err, "'auto' or a duration") != NULL,
                      "'%s': message does not offer auto: %s", bad[i], err);
    }
}
END_TEST

START_TEST(test_other_durations_do_not_take_auto)
{
    const struct policy_param *param = policy_param_find("idle-timeout-ms");
    struct poll_params p;
    char err[256] = "";

    policy_params_default(&p);
    ck_assert_int_eq(policy_param_set(&p, param, "auto", err, sizeof err),
                     -EINVAL);
    ck_assert_ptr_null(strstr(err, "'auto' or"));
}
END_TEST

static Suite *
max_ns_suite(void)
{
    Suite *s = suite_create("policy-max-ns");
    TCase *tc = tcase_create("auto");

    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_auto_window_is_4_wakeups_clamped, 0,
                        ARRAY_SIZE(auto_cases));
    tcase_add_test(tc, test_auto_window_grows_with_the_cost);
    tcase_add_test(tc, test_default_max_ns_is_auto);
    tcase_add_test(tc, test_param_set_max_ns_auto_and_back);
    tcase_add_test(tc, test_param_set_max_ns_rejects_auto_lookalikes);
    tcase_add_test(tc, test_other_durations_do_not_take_auto);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(max_ns_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
