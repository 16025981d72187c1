/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of what the poll policies share (server/policy/policy.c and
 * the two fixed policies): the name -> ops table, the parameter table
 * (defaults, parsing with units, range errors, format round trip), the
 * rules every policy obeys (max-ns 0 never polls, reset zeroes every
 * handler, update clears had_event, a live change resets the state, a
 * factor of 1 is not counted), and the fixed policies busy and off.  The
 * adaptive policies have one file each: test-policy-classic.c,
 * test-policy-per-handler.c, test-policy-weighted.c.
 *
 * Every timeline is replayed through the fake loop of fake-clock.h, and
 * every expected window is computed by hand from the spec's rules, with
 * the arithmetic next to it: the test never re-implements a policy, so a
 * wrong rule in the code cannot be copied into the expectation.  Unless a
 * test says otherwise the parameters are the defaults with max-ns 32768:
 * grow 2, shrink 2, weight 3 (so the weighted newest sample counts x >> 3,
 * i.e. x / 8 rounded down).
 */
#include <config.h>

#include <check.h>

#include <errno.h>

#include "policy-test-helpers.h"

/* --- policy table and parameters --- */

START_TEST(test_policy_find_knows_every_name)
{
    static const char *const names[] = {
        "off", "classic", "per-handler", "weighted", "busy",
    };
    const struct policy_ops *const ops[] = {
        &policy_off_ops, &policy_classic_ops, &policy_per_handler_ops,
        &policy_weighted_ops, &policy_busy_ops,
    };

    ck_assert_uint_eq(count_policies(), ARRAY_SIZE(names));
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        ck_assert_ptr_eq(policy_find(names[i]), ops[i]);
        ck_assert_str_eq(ops[i]->name, names[i]);
        ck_assert_ptr_eq(policy_table[i], ops[i]);
    }
}
END_TEST

START_TEST(test_policy_find_rejects_unknown_name)
{
    ck_assert_ptr_null(policy_find("fast"));
    ck_assert_ptr_null(policy_find(""));
    ck_assert_ptr_null(policy_find("Weighted"));
    ck_assert_ptr_null(policy_find("weighted "));
}
END_TEST

START_TEST(test_params_default_values)
{
    struct poll_params p;

    memset(&p, 0xa5, sizeof p);
    policy_params_default(&p);
    ck_assert_ptr_eq(p.policy, &policy_weighted_ops);
    ck_assert_int_eq(p.max_ns, POLICY_MAX_NS_AUTO);
    ck_assert_int_eq(p.grow, 2);
    ck_assert_int_eq(p.shrink, 2);
    ck_assert_int_eq(p.weight, 3);
    ck_assert_int_eq(p.idle_timeout_ms, 7000);
}
END_TEST

START_TEST(test_param_find_knows_every_key)
{
    static const char *const keys[] = {
        "policy", "max-ns", "grow", "shrink", "weight", "idle-timeout-ms",
    };

    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        const struct policy_param *param = policy_param_find(keys[i]);

        ck_assert_msg(param != NULL, "key %s not found", keys[i]);
        ck_assert_str_eq(param->key, keys[i]);
    }
    ck_assert_ptr_null(policy_param_find("max_ns"));
    ck_assert_ptr_null(policy_param_find("poll-max-ns"));
}
END_TEST

START_TEST(test_param_set_max_ns_accepts_units)
{
    struct poll_params p;
    const struct policy_param *param = policy_param_find("max-ns");
    char err[256] = "";

    policy_params_default(&p);
    ck_assert_int_eq(policy_param_set(&p, param, "64us", err, sizeof err), 0);
    ck_assert_int_eq(p.max_ns, 64000); /* 64 * 1000 ns */
    ck_assert_int_eq(policy_param_set(&p, param, "1ms", err, sizeof err), 0);
    ck_assert_int_eq(p.max_ns, 1000000); /* 1 * 1000000 ns */
    ck_assert_int_eq(policy_param_set(&p, param, "50000", err, sizeof err), 0);
    ck_assert_int_eq(p.max_ns, 50000); /* a bare number is ns */
    ck_assert_int_eq(policy_param_set(&p, param, "0", err, sizeof err), 0);
    ck_assert_int_eq(p.max_ns, 0); /* 0 disables polling: accepted */
}
END_TEST

START_TEST(test_param_set_rejects_malformed_duration)
{
    struct poll_params p;
    const struct policy_param *param = policy_param_find("max-ns");
    char err[256] = "";

    policy_params_default(&p);
    ck_assert_int_eq(policy_param_set(&p, param, "abc", err, sizeof err),
                     -EINVAL);
    ck_assert_int_eq(p.max_ns, POLICY_MAX_NS_AUTO); /* unchanged */
    /* Says what was given and what is accepted. */
    ck_assert_msg(strstr(err, "'abc'") != NULL, "message: %s", err);
    ck_assert_msg(strstr(err, "duration") != NULL, "message: %s", err);
    ck_assert_msg(strstr(err, "1000000000") != NULL, "message: %s", err);
}
END_TEST

START_TEST(test_param_set_rejects_negative_grow)
{
    struct poll_params p;
    const struct policy_param *param = policy_param_find("grow");
    char err[256] = "";

    policy_params_default(&p);
    ck_assert_int_eq(policy_param_set(&p, param, "-1", err, sizeof err),
                     -EINVAL);
    ck_assert_int_eq(p.grow, 2); /* unchanged */
    ck_assert_msg(strstr(err, "'-1'") != NULL, "message: %s", err);
    ck_assert_msg(strstr(err, "0 to 1024") != NULL, "message: %s", err);
    ck_assert_int_eq(policy_param_set(&p, param, "4", err, sizeof err), 0);
    ck_assert_int_eq(p.grow, 4);
    ck_assert_int_eq(policy_param_set(&p, param, "0", err, sizeof err), 0);
    ck_assert_int_eq(p.grow, 0); /* 0 is stored; it means 2 */
    ck_assert_int_eq(policy_grow(&p), 2);
}
END_TEST

START_TEST(test_param_set_rejects_weight_above_63)
{
    struct poll_params p;
    const struct policy_param *param = policy_param_find("weight");
    char err[256] = "";

    policy_params_default(&p);
    ck_assert_int_eq(policy_param_set(&p, param, "64", err, sizeof err),
                     -EINVAL);
    ck_assert_int_eq(p.weight, 3); /* unchanged */
    ck_assert_msg(strstr(err, "'64'") != NULL, "message: %s", err);
    ck_assert_msg(strstr(err, "0 to 63") != NULL, "message: %s", err);
    ck_assert_int_eq(policy_param_set(&p, param, "63", err, sizeof err), 0);
    ck_assert_int_eq(p.weight, 63);
    ck_assert_int_eq(policy_param_set(&p, param, "0", err, sizeof err), 0);
    ck_assert_int_eq(policy_weight(&p), 3); /* 0 means 3 */
}
END_TEST

START_TEST(test_param_set_idle_timeout_accepts_seconds)
{
    struct poll_params p;
    const struct policy_param *param = policy_param_find("idle-timeout-ms");
    char err[256] = "";

    policy_params_default(&p);
    ck_assert_int_eq(policy_param_set(&p, param, "2s", err, sizeof err), 0);
    ck_assert_int_eq(p.idle_timeout_ms, 2000); /* 2 s = 2000 ms */
    ck_assert_int_eq(policy_param_set(&p, param, "7000", err, sizeof err), 0);
    ck_assert_int_eq(p.idle_timeout_ms, 7000); /* a bare number is ms */
    ck_assert_int_eq(policy_param_set(&p, param, "abc", err, sizeof err),
                     -EINVAL);
    ck_assert_int_eq(p.idle_timeout_ms, 7000);
    ck_assert_msg(strstr(err, "'abc'") != NULL, "message: %s", err);
}
END_TEST

START_TEST(test_param_set_rejects_unknown_policy_listing_names)
{
    struct poll_params p;
    const struct policy_param *param = policy_param_find("policy");
    char err[256] = "";

    policy_params_default(&p);
    ck_assert_int_eq(policy_param_set(&p, param, "fast", err, sizeof err),
                     -EINVAL);
    ck_assert_ptr_eq(p.policy, &policy_weighted_ops); /* unchanged */
    ck_assert_msg(strstr(err, "fast") != NULL, "message: %s", err);
    for (size_t i = 0; policy_table[i] != NULL; i++) {
        ck_assert_msg(strstr(err, policy_table[i]->name) != NULL,
                      "message does not list %s: %s", policy_table[i]->name,
                      err);
    }
    ck_assert_int_eq(policy_param_set(&p, param, "busy", err, sizeof err), 0);
    ck_assert_ptr_eq(p.policy, &policy_busy_ops);
}
END_TEST

START_TEST(test_param_format_round_trips)
{
    static const struct {
        const char *key, *value;
    } values[] = {
        { "policy", "per-handler" }, { "max-ns", "64us" }, { "grow", "4" },
        { "shrink", "0" },           { "weight", "5" },
        { "idle-timeout-ms", "2s" },
    };
    struct poll_params a, b;
    char err[256] = "", buf[64], buf2[64];

    policy_params_default(&a);
    for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
        const struct policy_param *param = policy_param_find(values[i].key);

        ck_assert_ptr_nonnull(param);
        ck_assert_msg(policy_param_set(&a, param, values[i].value, err,
                                       sizeof err) == 0,
                      "%s = %s: %s", values[i].key, values[i].value, err);
    }
    /* Every parameter: format a, parse into b, format b: the same. */
    ck_assert_uint_eq(policy_nparams, ARRAY_SIZE(values));
    policy_params_default(&b);
    for (size_t i = 0; i < policy_nparams; i++) {
        const struct policy_param *param = &policy_params[i];

        policy_param_format(&a, param, buf, sizeof buf);
        ck_assert_msg(policy_param_set(&b, param, buf, err, sizeof err) == 0,
                      "%s: formatted '%s' rejected: %s", param->key, buf,
                      err);
        policy_param_format(&b, param, buf2, sizeof buf2);
        ck_assert_str_eq(buf, buf2);
    }
    ck_assert_ptr_eq(b.policy, &policy_per_handler_ops);
    ck_assert_int_eq(b.max_ns, 64000);
    ck_assert_int_eq(b.grow, 4);
    ck_assert_int_eq(b.shrink, 0);
    ck_assert_int_eq(b.weight, 5);
    ck_assert_int_eq(b.idle_timeout_ms, 2000);
}
END_TEST

/* --- every policy (loop tests over policy_table) --- */

/* Case 7: max-ns 0 disables polling under every policy, busy included. */
START_TEST(test_max_ns_0_never_polls)
{
    const struct policy_ops *ops = policy_table[_i];
    struct policy_handler a = { 0 }, b = { 0 };
    struct policy_handler *set[] = { &a, &b };
    struct fake_event ev[] = {
        { 5 * US, &a },   { 10 * US, &a }, { 10 * US, &b }, { 15 * US, &a },
        { 20 * US, NULL }, { 25 * US, &b }, { 125 * US, &a },
    };
    static const int64_t want[] = { 0, 0, 0, 0, 0, 0 };
    const struct policy_param *param = policy_param_find("max-ns");
    struct poll_params p;
    struct fake_clock clk;
    char err[256];

    policy_params_default(&p);
    p.policy = ops;
    ck_assert_int_eq(policy_param_set(&p, param, "0", err, sizeof err), 0);
    fake_clock_init(&clk, &p, set, 2);
    ck_assert_msg(clk.st.ns == 0, "%s: after reset %" PRId64, ops->name,
                  clk.st.ns);
    RUN_AND_CHECK(&clk, ev, want);
}
END_TEST

/* Case 8/9: policy_reset zeroes every handler and starts the window. */
START_TEST(test_reset_zeroes_every_handler)
{
    const struct policy_ops *ops = policy_table[_i];
    struct policy_handler h[3] = { { 0 } };
    struct policy_handler *set[] = { &h[0], &h[1], &h[2] };
    struct fake_event ev[] = {
        { 5 * US, &h[0] }, { 10 * US, &h[0] }, { 10 * US, &h[1] },
        { 15 * US, &h[2] }, { 20 * US, &h[0] },
    };
    int64_t want = ops == &policy_busy_ops ? POLICY_NS_UNBOUNDED : 0;
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, ops->name);
    fake_clock_init(&clk, &p, set, 3);
    fake_clock_run(&clk, ev, ARRAY_SIZE(ev), NULL, 0, NULL, NULL);
    for (size_t i = 0; i < 3; i++) {
        h[i].ns = 1000 * (int64_t)(i + 1); /* whatever state was left */
        h[i].had_event = true;
    }
    clk.st.ns = 12345;
    policy_reset(&clk.st, &clk.p, set, 3);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_msg(h[i].ns == 0 && !h[i].had_event,
                      "%s: handler %zu: ns %" PRId64 " had_event %d",
                      ops->name, i, h[i].ns, h[i].had_event);
    }
    /* busy: unbounded; every other policy: 0. */
    ck_assert_msg(clk.st.ns == want, "%s: window %" PRId64 " after reset",
                  ops->name, clk.st.ns);
}
END_TEST

/* The loop contract: update clears had_event on every handler of set. */
START_TEST(test_update_clears_had_event)
{
    const struct policy_ops *ops = policy_table[_i];
    struct policy_handler h[3] = { { 0 } };
    struct policy_handler *set[] = { &h[0], &h[1], &h[2] };
    struct policy_handler *ev[] = { &h[0], &h[2] };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, ops->name);
    fake_clock_init(&clk, &p, set, 3);
    fake_clock_iterate(&clk, 5000, ev, 2);
    for (size_t i = 0; i < 3; i++) {
        ck_assert_msg(!h[i].had_event, "%s: handler %zu still marked",
                      ops->name, i);
    }
}
END_TEST

/* Case 9: a live change of any tunable resets the state. */
START_TEST(test_live_change_resets_state)
{
    static const struct {
        const char *key, *value;
    } changes[] = {
        { "max-ns", "16us" }, { "grow", "4" },    { "shrink", "4" },
        { "weight", "2" },    { "policy", "classic" },
    };
    struct policy_handler h[2] = { { 0 } };
    struct policy_handler *set[] = { &h[0], &h[1] };
    struct poll_params p;
    struct fake_clock clk;
    char err[256];

    for (size_t c = 0; c < ARRAY_SIZE(changes); c++) {
        const struct policy_param *param = policy_param_find(changes[c].key);

        params_for(&p, "weighted");
        fake_clock_init(&clk, &p, set, 2);
        /* h0: 0 -> 10000, window 10000; h1 stays 0. */
        ck_assert_int_eq(fake_clock_event(&clk, 10000, &h[0]), 10000);
        /* h1: 0 -> 6000; h0 quiet: 10000 + 6000 = 16000; 6000 is not
         * < 10000 / 2: window holds. */
        ck_assert_int_eq(fake_clock_event(&clk, 16000, &h[1]), 10000);
        ck_assert_int_eq(h[0].ns, 16000);
        ck_assert_int_eq(h[1].ns, 6000);

        ck_assert_int_eq(policy_param_set(&clk.p, param, changes[c].value,
                                          err, sizeof err), 0);
        policy_reset(&clk.st, &clk.p, set, 2);
        ck_assert_msg(clk.st.ns == 0 && h[0].ns == 0 && h[1].ns == 0,
                      "after %s = %s: window %" PRId64 ", h %" PRId64
                      " %" PRId64, changes[c].key, changes[c].value,
                      clk.st.ns, h[0].ns, h[1].ns);
    }

    /* Changing to busy starts it unbounded. */
    params_for(&p, "weighted");
    fake_clock_init(&clk, &p, set, 2);
    ck_assert_int_eq(fake_clock_event(&clk, 10000, &h[0]), 10000);
    ck_assert_int_eq(policy_param_set(&clk.p, policy_param_find("policy"),
                                      "busy", err, sizeof err), 0);
    policy_reset(&clk.st, &clk.p, set, 2);
    ck_assert_int_eq(clk.st.ns, POLICY_NS_UNBOUNDED);
    ck_assert_int_eq(h[0].ns, 0);
}
END_TEST

/* --- busy and off --- */

/* Case 7: busy never blocks while the poll set is non-empty. */
START_TEST(test_busy_is_unbounded_after_reset_and_every_update)
{
    struct policy_handler a = { 0 }, b = { 0 };
    struct policy_handler *set[] = { &a, &b };
    struct fake_event ev[] = {
        { 5 * US, &a },    { 10 * US, &b },  { 10 * US, &a },
        { 20 * US, NULL }, { 1 * MS, &b },   { 2 * MS, &a },
        { 2 * MS + 1, &a },
    };
    static const int64_t want[] = {
        POLICY_NS_UNBOUNDED, POLICY_NS_UNBOUNDED, POLICY_NS_UNBOUNDED,
        POLICY_NS_UNBOUNDED, /* a timer */
        POLICY_NS_UNBOUNDED, /* block 980 us > max: ignored */
        POLICY_NS_UNBOUNDED,
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "busy");
    fake_clock_init(&clk, &p, set, 2);
    ck_assert_int_eq(clk.st.ns, POLICY_NS_UNBOUNDED);
    RUN_AND_CHECK(&clk, ev, want);

    /* max-ns, grow, shrink, weight are ignored (max-ns only as 0 = off). */
    p.max_ns = 1;
    p.grow = 7;
    p.shrink = 9;
    p.weight = 1;
    fake_clock_init(&clk, &p, set, 2);
    ck_assert_int_eq(clk.st.ns, POLICY_NS_UNBOUNDED);
    RUN_AND_CHECK(&clk, ev, want);
}
END_TEST

START_TEST(test_off_never_polls_and_keeps_no_state)
{
    struct policy_handler a = { 0 }, b = { 0 };
    struct policy_handler *set[] = { &a, &b };
    struct fake_event ev[] = {
        { 5 * US, &a }, { 10 * US, &a }, { 10 * US, &b },
        { 15 * US, &a }, { 20 * US, &a },
    };
    static const int64_t want[] = { 0, 0, 0, 0 };
    static const int64_t want_a[] = { 0, 0, 0, 0 };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "off");
    fake_clock_init(&clk, &p, set, 2);
    ck_assert_int_eq(clk.st.ns, 0);
    RUN_AND_CHECK_WATCH(&clk, ev, want, &a, want_a);
    ck_assert_int_eq(b.ns, 0);
    ck_assert_uint_eq(clk.st.grows, 0);
    ck_assert_uint_eq(clk.st.shrinks, 0);
}
END_TEST

/* --- counters --- */

/* A factor of 1 leaves the window unchanged: nothing to count. */
START_TEST(test_counters_ignore_factor_1_that_keeps_window)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 10 * US, &h }, { 20 * US, &h }, { 30 * US, &h },
    };
    static const int64_t want[] = {
        4000, /* start 4000 */
        4000, /* 10000 > 4000: 4000 * 1 = 4000, unchanged */
        4000,
    };
    struct policy_state st;
    struct poll_params p;
    struct fake_clock clk;
    int64_t hns;

    params_for(&p, "classic");
    p.grow = 1;
    fake_clock_init(&clk, &p, set, 1);
    RUN_AND_CHECK(&clk, ev, want);
    ck_assert_uint_eq(clk.st.grows, 1); /* only 0 -> 4000 */

    /* weighted shrink 1: 7000 < 16000 / 1, 16000 / 1 = 16000: no change. */
    ck_assert_int_eq(weighted_one(16000, 7000, 7000, 1, &hns, &st), 16000);
    ck_assert_uint_eq(st.shrinks, 0);
}
END_TEST

/* --- suite --- */

static Suite *
params_suite(void)
{
    Suite *s = suite_create("policy-params");
    TCase *tc;
    int npol = (int)count_policies();

    tc = tcase_create("params");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_policy_find_knows_every_name);
    tcase_add_test(tc, test_policy_find_rejects_unknown_name);
    tcase_add_test(tc, test_params_default_values);
    tcase_add_test(tc, test_param_find_knows_every_key);
    tcase_add_test(tc, test_param_set_max_ns_accepts_units);
    tcase_add_test(tc, test_param_set_rejects_malformed_duration);
    tcase_add_test(tc, test_param_set_rejects_negative_grow);
    tcase_add_test(tc, test_param_set_rejects_weight_above_63);
    tcase_add_test(tc, test_param_set_idle_timeout_accepts_seconds);
    tcase_add_test(tc, test_param_set_rejects_unknown_policy_listing_names);
    tcase_add_test(tc, test_param_format_round_trips);
    suite_add_tcase(s, tc);

    tc = tcase_create("every-policy");
    tcase_set_timeout(tc, 10);
    tcase_add_loop_test(tc, test_max_ns_0_never_polls, 0, npol);
    tcase_add_loop_test(tc, test_reset_zeroes_every_handler, 0, npol);
    tcase_add_loop_test(tc, test_update_clears_had_event, 0, npol);
    tcase_add_test(tc, test_live_change_resets_state);
    tcase_add_test(tc, test_busy_is_unbounded_after_reset_and_every_update);
    tcase_add_test(tc, test_off_never_polls_and_keeps_no_state);
    suite_add_tcase(s, tc);

    tc = tcase_create("counters");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_counters_ignore_factor_1_that_keeps_window);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    return policy_test_main(params_suite());
}
