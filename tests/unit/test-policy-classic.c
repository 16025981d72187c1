/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the classic poll policy (server/policy/policy-classic.c):
 * QEMU's single window, which starts at 4 us, grows x grow while the
 * block time is under max-ns and shrinks / shrink (or resets, shrink 0)
 * past it, against the rules of shared/design/polling-policies.md.
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

#include "policy-test-helpers.h"

/* --- classic --- */

/* Case 1: steady 10 us interval. */
START_TEST(test_classic_steady_interval_doubles_from_4us_then_holds)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 10 * US, &h }, { 20 * US, &h }, { 30 * US, &h },
        { 40 * US, &h }, { 50 * US, &h }, { 60 * US, &h },
    };
    static const int64_t want[] = {
        4000,  /* block 10000 > 0, < max: start at 4000 */
        8000,  /* 10000 > 4000, < max: 4000 * 2 */
        16000, /* 10000 > 8000, < max: 8000 * 2 */
        16000, /* 10000 <= 16000: sweet spot */
        16000, /* same */
        16000, /* same */
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "classic");
    fake_clock_init(&clk, &p, set, 1);
    ck_assert_int_eq(clk.st.ns, 0); /* classic starts at 0 */
    RUN_AND_CHECK(&clk, ev, want);
    ck_assert_uint_eq(clk.st.grows, 3); /* 0->4000->8000->16000 */
    ck_assert_uint_eq(clk.st.shrinks, 0);
}
END_TEST

START_TEST(test_classic_grow_0_means_2)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 10 * US, &h }, { 20 * US, &h }, { 30 * US, &h }, { 40 * US, &h },
    };
    static const int64_t want[] = {
        4000,  /* start at 4000 */
        8000,  /* 4000 * 2 (grow 0 means 2) */
        16000, /* 8000 * 2 */
        16000, /* 10000 <= 16000 */
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "classic");
    p.grow = 0;
    fake_clock_init(&clk, &p, set, 1);
    RUN_AND_CHECK(&clk, ev, want);
}
END_TEST

START_TEST(test_classic_grow_caps_at_max_ns)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 30 * US, &h }, { 60 * US, &h }, { 90 * US, &h }, { 120 * US, &h },
        { 150 * US, &h }, { 180 * US, &h }, { 210 * US, &h },
    };
    static const int64_t want[] = {
        4000,  /* 30000 > 0, < max: start 4000 */
        8000,  /* 30000 > 4000: 4000 * 2 */
        16000, /* 30000 > 8000: 8000 * 2 */
        32000, /* 30000 > 16000: 16000 * 2 = 32000 <= 32768 */
        32000, /* 30000 <= 32000: sweet spot */
        32000,
        32000,
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "classic");
    fake_clock_init(&clk, &p, set, 1);
    RUN_AND_CHECK(&clk, ev, want);

    /* From 32000 with a 32500 block: 32000 * 2 = 64000, capped to 32768. */
    ck_assert_int_eq(fake_clock_event(&clk, clk.now + 32500, &h), MAX_NS);
    ck_assert_uint_eq(clk.st.grows, 5);
}
END_TEST

START_TEST(test_classic_block_equal_to_max_keeps_window)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "classic");
    fake_clock_init(&clk, &p, set, 1);
    clk.st.ns = 8000;
    /* block 32768: not <= 8000, not > max, not < max: no change. */
    ck_assert_int_eq(fake_clock_event(&clk, MAX_NS, &h), 8000);
    /* block 32769 > max: 8000 / 2 = 4000. */
    ck_assert_int_eq(fake_clock_event(&clk, clk.now + MAX_NS + 1, &h), 4000);
    ck_assert_uint_eq(clk.st.grows, 0);
    ck_assert_uint_eq(clk.st.shrinks, 1);
}
END_TEST

/* Case 2: a burst at 5 us then silence past max-ns, shrink 0. */
START_TEST(test_classic_silence_past_max_resets_with_shrink_0)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 5 * US, &h },   { 10 * US, &h },  { 15 * US, &h }, { 20 * US, &h },
        { 120 * US, &h }, { 220 * US, &h }, { 225 * US, &h },
    };
    static const int64_t want[] = {
        4000, /* 5000 > 0: start 4000 */
        8000, /* 5000 > 4000: 4000 * 2 */
        8000, /* 5000 <= 8000 */
        8000, /* 5000 <= 8000 */
        0,    /* block 100000 > max, shrink 0: reset to 0 */
        0,    /* 100000 > max: 0 stays 0 */
        4000, /* 5000 > 0, < max: start 4000 again */
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "classic");
    p.shrink = 0;
    fake_clock_init(&clk, &p, set, 1);
    RUN_AND_CHECK(&clk, ev, want);
    ck_assert_uint_eq(clk.st.grows, 3);   /* ->4000, ->8000, ->4000 */
    ck_assert_uint_eq(clk.st.shrinks, 1); /* 8000->0; 0->0 is no shrink */
}
END_TEST

/* Case 2 with shrink 2. */
START_TEST(test_classic_silence_past_max_halves_with_shrink_2)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 5 * US, &h },   { 10 * US, &h },  { 15 * US, &h }, { 20 * US, &h },
        { 120 * US, &h }, { 220 * US, &h }, { 225 * US, &h },
    };
    static const int64_t want[] = {
        4000, /* start 4000 */
        8000, /* 4000 * 2 */
        8000, /* 5000 <= 8000 */
        8000,
        4000, /* 100000 > max: 8000 / 2 */
        2000, /* 100000 > max: 4000 / 2 */
        4000, /* 5000 > 2000, < max: 2000 * 2 */
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "classic");
    p.shrink = 2;
    fake_clock_init(&clk, &p, set, 1);
    RUN_AND_CHECK(&clk, ev, want);
    ck_assert_uint_eq(clk.st.grows, 3);
    ck_assert_uint_eq(clk.st.shrinks, 2);
}
END_TEST

/* Case 3 under classic: one slow handler collapses the window for all. */
START_TEST(test_classic_slow_handlers_collapse_window)
{
    struct policy_handler b = { 0 }, s[4] = { { 0 } };
    struct policy_handler *set[] = { &b, &s[0], &s[1], &s[2], &s[3] };
    struct fake_event ev[16];
    static const int64_t want[] = {
        4000, 8000, 8000, 8000, 8000, 8000, /* b's burst, as case 2 */
        4000, /* block 12.47 ms > max: 8000 / 2 */
        2000, /* 12.5 ms > max: / 2 */
        1000, 500, 250, 125,
        62,   /* 125 / 2 = 62 */
        31,   /* 62 / 2 */
    };
    int64_t got[ARRAY_SIZE(want) + 1];
    struct poll_params p;
    struct fake_clock clk;
    size_t len, n;

    params_for(&p, "classic");
    fake_clock_init(&clk, &p, set, ARRAY_SIZE(set));
    len = build_busy_then_slow(ev, ARRAY_SIZE(ev), &b, s);
    ck_assert_uint_eq(len, 14);
    n = fake_clock_run(&clk, ev, len, got, ARRAY_SIZE(got), NULL, NULL);
    CHECK_SEQ("poll_ns", got, n, want);
}
END_TEST

/* Case 4: a handler slower than max-ns shrinks the classic window. */
START_TEST(test_classic_shrinks_for_handler_slower_than_max)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 100 * US, &h }, { 200 * US, &h }, { 300 * US, &h },
        { 400 * US, &h }, { 500 * US, &h },
    };
    static const int64_t want2[] = {
        8000, /* 100000 > max: 16000 / 2 */
        4000, /* 8000 / 2 */
        2000, 1000, 500,
    };
    static const int64_t want0[] = {
        0, /* 100000 > max, shrink 0: 0 */
        0, 0, 0, 0,
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "classic");
    fake_clock_init(&clk, &p, set, 1);
    clk.st.ns = 16000; /* a window grown earlier */
    RUN_AND_CHECK(&clk, ev, want2);
    ck_assert_uint_eq(clk.st.shrinks, 5);
    ck_assert_uint_eq(clk.st.grows, 0);

    p.shrink = 0;
    fake_clock_init(&clk, &p, set, 1);
    clk.st.ns = 16000;
    RUN_AND_CHECK(&clk, ev, want0);
    ck_assert_uint_eq(clk.st.shrinks, 1);
}
END_TEST

/* --- suite --- */

static Suite *
classic_suite(void)
{
    Suite *s = suite_create("policy-classic");
    TCase *tc;

    tc = tcase_create("classic");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc,
                   test_classic_steady_interval_doubles_from_4us_then_holds);
    tcase_add_test(tc, test_classic_grow_0_means_2);
    tcase_add_test(tc, test_classic_grow_caps_at_max_ns);
    tcase_add_test(tc, test_classic_block_equal_to_max_keeps_window);
    tcase_add_test(tc, test_classic_silence_past_max_resets_with_shrink_0);
    tcase_add_test(tc, test_classic_silence_past_max_halves_with_shrink_2);
    tcase_add_test(tc, test_classic_slow_handlers_collapse_window);
    tcase_add_test(tc, test_classic_shrinks_for_handler_slower_than_max);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    return policy_test_main(classic_suite());
}
