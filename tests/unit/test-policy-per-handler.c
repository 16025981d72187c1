/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the per-handler poll policy
 * (server/policy/policy-per-handler.c): QEMU 10.0's classic rule applied
 * to each handler's own window, the loop polling for the largest window
 * of the poll set, against the rules of shared/design/polling-policies.md.
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

/* --- per-handler --- */

/* Case 1: with one handler, per-handler is classic. */
START_TEST(test_per_handler_single_handler_matches_classic)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 10 * US, &h }, { 20 * US, &h }, { 30 * US, &h },
        { 40 * US, &h }, { 50 * US, &h }, { 60 * US, &h },
    };
    static const int64_t want[] = {
        4000,  /* h: 10000 > 0: start 4000; window = max = 4000 */
        8000,  /* h: 4000 * 2 */
        16000, /* h: 8000 * 2 */
        16000, /* h: 10000 <= 16000 */
        16000, 16000,
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "per-handler");
    fake_clock_init(&clk, &p, set, 1);
    ck_assert_int_eq(clk.st.ns, 0);
    RUN_AND_CHECK_WATCH(&clk, ev, want, &h, want); /* h.ns is the window */
    ck_assert_uint_eq(clk.st.grows, 3);
    ck_assert_uint_eq(clk.st.shrinks, 0);
}
END_TEST

/*
 * Case 3: a briefly busy handler keeps its window while quiet and holds the
 * whole loop polling (the seed's motivation).
 */
START_TEST(test_per_handler_keeps_quiet_handler_window)
{
    struct policy_handler b = { 0 }, s[4] = { { 0 } };
    struct policy_handler *set[] = { &b, &s[0], &s[1], &s[2], &s[3] };
    struct fake_event ev[16];
    static const int64_t want[] = {
        4000, /* b: start 4000 */
        8000, /* b: 4000 * 2 */
        8000, 8000, 8000, 8000, /* b: 5000 <= 8000 */
        /* s[i]: 0, block 12.5 ms > max: 0 / 2 = 0; b has no event, keeps
         * 8000; window = max(8000, 0, ...) = 8000, 8 times over 100 ms. */
        8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000,
    };
    int64_t got[ARRAY_SIZE(want) + 1], bns[ARRAY_SIZE(want) + 1];
    struct poll_params p;
    struct fake_clock clk;
    size_t len, n;

    params_for(&p, "per-handler");
    fake_clock_init(&clk, &p, set, ARRAY_SIZE(set));
    len = build_busy_then_slow(ev, ARRAY_SIZE(ev), &b, s);
    n = fake_clock_run(&clk, ev, len, got, ARRAY_SIZE(got), &b, bns);
    CHECK_SEQ("poll_ns", got, n, want);
    CHECK_SEQ("b.ns", bns, n, want); /* b's window is the loop's */
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(s[i].ns, 0);
    }
    ck_assert_uint_eq(clk.st.shrinks, 0); /* 0 / 2 = 0 is no shrink */
}
END_TEST

/* Case 4: a handler slower than max-ns shrinks its own window. */
START_TEST(test_per_handler_shrinks_for_handler_slower_than_max)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 100 * US, &h }, { 200 * US, &h }, { 300 * US, &h },
        { 400 * US, &h }, { 500 * US, &h },
    };
    static const int64_t want2[] = {
        8000, /* h: 100000 > max: 16000 / 2 */
        4000, 2000, 1000, 500,
    };
    static const int64_t want0[] = {
        0, /* h: 100000 > max, shrink 0: 0 */
        0, 0, 0, 0,
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "per-handler");
    fake_clock_init(&clk, &p, set, 1);
    h.ns = 16000; /* a window grown earlier */
    RUN_AND_CHECK_WATCH(&clk, ev, want2, &h, want2);

    p.shrink = 0;
    fake_clock_init(&clk, &p, set, 1);
    h.ns = 16000;
    RUN_AND_CHECK_WATCH(&clk, ev, want0, &h, want0);
}
END_TEST

/* Case 3 with a handler that stays busy (build_busy_brief_slow). */
START_TEST(test_per_handler_brief_handler_keeps_window_beside_busy_one)
{
    struct policy_handler b = { 0 }, q = { 0 }, s[4] = { { 0 } };
    struct policy_handler *set[] = { &b, &q, &s[0], &s[1], &s[2], &s[3] };
    int64_t *got = calloc(BUSY_ITERS, sizeof *got);
    int64_t *qns = calloc(BUSY_ITERS, sizeof *qns);
    struct fake_event *ev;
    struct poll_params p;
    struct fake_clock clk;
    size_t len, n;

    ck_assert(got != NULL && qns != NULL);
    params_for(&p, "per-handler");
    fake_clock_init(&clk, &p, set, ARRAY_SIZE(set));
    ev = build_busy_brief_slow(&len, &b, &q, s);
    n = fake_clock_run(&clk, ev, len, got, BUSY_ITERS, &q, qns);
    ck_assert_uint_eq(n, BUSY_ITERS);
    ck_assert_int_eq(got[0], 4000); /* b, q: 5000 > 0: start 4000 */
    ck_assert_int_eq(qns[0], 4000);
    ck_assert_int_eq(got[1], 8000); /* b, q: 4000 * 2 */
    ck_assert_int_eq(qns[1], 8000);
    for (size_t i = 2; i < n; i++) {
        /* b: 5000 <= 8000; q quiet keeps 8000 for the whole 50 ms. */
        ck_assert_msg(got[i] == 8000 && qns[i] == 8000,
                      "iteration %zu: window %" PRId64 ", q.ns %" PRId64,
                      i + 1, got[i], qns[i]);
    }
    /* Each s[i] had one event in a 5 us iteration: 0 -> start 4000. */
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(s[i].ns, 4000);
    }
    free(ev);
    free(got);
    free(qns);
}
END_TEST

START_TEST(test_per_handler_handler_outside_set_does_not_count)
{
    struct policy_handler a = { 0 }, x = { 0 };
    struct policy_handler *set1[] = { &a };
    struct policy_handler *set2[] = { &a, &x };
    struct policy_handler *both[] = { &a, &x };
    struct fake_event ev[] = {
        { 10 * US, &a }, { 20 * US, &a }, { 30 * US, &a },
    };
    static const int64_t want[] = {
        4000,  /* a: start 4000; x's stale 30000 is not in the set */
        8000,  /* a: 4000 * 2 */
        16000, /* a: 8000 * 2 */
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "per-handler");
    fake_clock_init(&clk, &p, set1, 1);
    x.ns = 30000; /* idle, out of the set, stale window */
    RUN_AND_CHECK(&clk, ev, want);
    ck_assert_int_eq(x.ns, 30000);

    /* x rejoins with an event: a 10000 <= 16000, x 10000 <= 30000, both
     * unchanged; window max(16000, 30000) = 30000. */
    clk.set = set2;
    clk.n = 2;
    ck_assert_int_eq(fake_clock_iterate(&clk, 40 * US, both, 2), 30000);
}
END_TEST

/* --- counters --- */

/*
 * policy.h: grows/shrinks count the times "the window" (st.ns) grew or
 * shrank.  Under per-handler the window is the max over the poll set, so
 * two handlers growing in one iteration are one window growth, and a
 * handler growing below the window's holder is none.
 */
START_TEST(test_per_handler_counters_count_window_changes)
{
    struct policy_handler a = { 0 }, b = { 0 };
    struct policy_handler *set[] = { &a, &b };
    struct policy_handler *both[] = { &a, &b };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "per-handler");
    fake_clock_init(&clk, &p, set, 2);
    /* a, b: 0 -> 4000 each in one iteration; the window 0 -> 4000 grew
     * once. */
    ck_assert_int_eq(fake_clock_iterate(&clk, 10000, both, 2), 4000);
    ck_assert_uint_eq(clk.st.grows, 1);

    /* a holds the window at 16000 (constructed state). */
    fake_clock_init(&clk, &p, set, 2);
    a.ns = 16000;
    clk.st.ns = 16000;
    /* b: 0 -> 4000 (10000 > 0); window max(16000, 4000) = 16000. */
    ck_assert_int_eq(fake_clock_event(&clk, 10000, &b), 16000);
    /* b: 4000 -> 8000 (10000 > 4000); window still 16000. */
    ck_assert_int_eq(fake_clock_event(&clk, 20000, &b), 16000);
    ck_assert_uint_eq(clk.st.grows, 0); /* the window never grew */
    ck_assert_uint_eq(clk.st.shrinks, 0);
}
END_TEST

/* --- suite --- */

static Suite *
per_handler_suite(void)
{
    Suite *s = suite_create("policy-per-handler");
    TCase *tc;

    tc = tcase_create("per-handler");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_per_handler_single_handler_matches_classic);
    tcase_add_test(tc, test_per_handler_keeps_quiet_handler_window);
    tcase_add_test(tc, test_per_handler_shrinks_for_handler_slower_than_max);
    tcase_add_test(tc,
                   test_per_handler_brief_handler_keeps_window_beside_busy_one);
    tcase_add_test(tc, test_per_handler_handler_outside_set_does_not_count);
    suite_add_tcase(s, tc);

    tc = tcase_create("counters");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_per_handler_counters_count_window_changes);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    return policy_test_main(per_handler_suite());
}
