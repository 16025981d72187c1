/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the weighted poll policy (server/policy/policy-weighted.c):
 * each handler keeps a weighted average of its event intervals, quiet
 * handlers accumulate until they pass max-ns and drop out, and the window
 * jumps to the busiest active estimate or shrinks only below
 * window / shrink, against the rules of shared/design/polling-policies.md.
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

/* --- weighted --- */

/* Case 1: steady 10 us interval. */
START_TEST(test_weighted_steady_interval_jumps_to_interval)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 10 * US, &h }, { 20 * US, &h }, { 30 * US, &h },
        { 40 * US, &h }, { 50 * US, &h }, { 60 * US, &h },
    };
    static const int64_t want[] = {
        10000, /* h: 0 -> block 10000; 10000 > 0 * 2: jump to 10000 */
        10000, /* h: 10000 - (10000>>3) + (10000>>3) = 10000 = window */
        10000, 10000, 10000, 10000,
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "weighted");
    fake_clock_init(&clk, &p, set, 1);
    ck_assert_int_eq(clk.st.ns, 0);
    RUN_AND_CHECK_WATCH(&clk, ev, want, &h, want); /* h.ns = 10000 too */
    ck_assert_uint_eq(clk.st.grows, 1);
    ck_assert_uint_eq(clk.st.shrinks, 0);
}
END_TEST

/* Case 2: a single long block where the handler had the event. */
START_TEST(test_weighted_long_block_with_event_drops_handler)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 5 * US, &h }, { 10 * US, &h }, { 1010 * US, &h },
    };
    static const int64_t want[] = {
        5000, /* h: 0 -> 5000; window 0 -> 5000 */
        5000, /* h: 5000 - 625 + 625 = 5000 */
        2500, /* h: 5000 - 625 + (1000000>>3 = 125000) = 129375 > max -> 0;
               * max_active 0 < 5000 / 2: 5000 / 2 */
    };
    static const int64_t want_h[] = { 5000, 5000, 0 };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "weighted");
    fake_clock_init(&clk, &p, set, 1);
    RUN_AND_CHECK_WATCH(&clk, ev, want, &h, want_h);
    ck_assert_uint_eq(clk.st.grows, 1);
    ck_assert_uint_eq(clk.st.shrinks, 1);
}
END_TEST

/* A long block past max-ns, but weighted, does not reset the estimate. */
START_TEST(test_weighted_long_block_is_weighted_not_reset)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 5 * US, &h }, { 10 * US, &h }, { 110 * US, &h },
    };
    static const int64_t want[] = {
        5000,  /* h: 0 -> 5000 */
        5000,  /* h: 5000 - 625 + 625 */
        16875, /* h: 5000 - 625 + (100000>>3 = 12500) = 16875 <= max;
                * 16875 > 5000 and > 5000 * 2: jump to 16875 */
    };
    static const int64_t want_h[] = { 5000, 5000, 16875 };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "weighted");
    fake_clock_init(&clk, &p, set, 1);
    RUN_AND_CHECK_WATCH(&clk, ev, want, &h, want_h);
}
END_TEST

/* Case 2: a quiet handler accumulates while another one has events. */
START_TEST(test_weighted_quiet_handler_drops_after_accumulating_max)
{
    struct policy_handler a = { 0 }, b = { 0 };
    struct policy_handler *set[] = { &a, &b };
    struct fake_event ev[] = {
        { 5 * US, &a },  { 5 * US, &b },  { 10 * US, &a }, { 10 * US, &b },
        { 18 * US, &b }, { 26 * US, &b }, { 34 * US, &b }, { 42 * US, &b },
        { 50 * US, &b },
    };
    static const int64_t want[] = {
        5000,  /* a, b: 0 -> 5000; window 0 -> 5000 */
        5000,  /* a, b: 5000 - 625 + 625 = 5000 */
        10000, /* b: 5000 - 625 + 1000 = 5375 > 5000; 5000 * 2 > 5375 */
        10000, /* b: 5375 - 671 + 1000 = 5704; not < 10000 / 2 */
        10000, /* b: 5704 - 713 + 1000 = 5991 */
        10000, /* b: 5991 - 748 + 1000 = 6243 */
        10000, /* b: 6243 - 780 + 1000 = 6463 */
    };
    static const int64_t want_a[] = {
        5000,  /* 0 -> 5000 */
        5000,  /* 5000 - 625 + 625 */
        13000, /* quiet: 5000 + 8000 */
        21000, /* 13000 + 8000 */
        29000, /* 21000 + 8000 */
        0,     /* 29000 + 8000 = 37000 > max -> 0 */
        0,     /* 0 and quiet: stays 0 */
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "weighted");
    fake_clock_init(&clk, &p, set, 2);
    RUN_AND_CHECK_WATCH(&clk, ev, want, &a, want_a);
    ck_assert_int_eq(b.ns, 6463);
}
END_TEST

/* Case 2: a quiet handler accumulates through timer-only iterations. */
START_TEST(test_weighted_quiet_handler_accumulates_through_timers)
{
    struct policy_handler a = { 0 };
    struct policy_handler *set[] = { &a };
    struct fake_event ev[] = {
        { 5 * US, &a },  { 10 * US, &a }, { 20 * US, NULL },
        { 30 * US, NULL }, { 40 * US, NULL }, { 50 * US, NULL },
    };
    static const int64_t want[] = {
        5000, /* a: 0 -> 5000 */
        5000, /* a: 5000 - 625 + 625 */
        5000, /* no handler had an event: window unchanged */
        5000, 5000, 5000,
    };
    static const int64_t want_a[] = {
        5000, 5000,
        15000, /* quiet: 5000 + 10000 */
        25000, /* 15000 + 10000 */
        0,     /* 25000 + 10000 = 35000 > max -> 0 */
        0,
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "weighted");
    fake_clock_init(&clk, &p, set, 1);
    RUN_AND_CHECK_WATCH(&clk, ev, want, &a, want_a);
}
END_TEST

/* Case 3: the busy handler goes quiet, slow handlers remain. */
START_TEST(test_weighted_drops_quiet_handler_at_first_slow_iteration)
{
    struct policy_handler b = { 0 }, s[4] = { { 0 } };
    struct policy_handler *set[] = { &b, &s[0], &s[1], &s[2], &s[3] };
    struct fake_event ev[16];
    static const int64_t want[] = {
        5000, /* b: 0 -> 5000; window 0 -> 5000 */
        5000, 5000, 5000, 5000, 5000, /* b: 5000 - 625 + 625 */
        /* Iteration 7, block 12.47 ms: b quiet, 5000 + 12470000 > max -> 0;
         * s[0]: 0 -> 12470000 > max -> 0; max_active 0 < 5000 / 2 */
        2500,
        1250, /* s[1] -> 0; 0 < 2500 / 2: 2500 / 2 */
        625, 312, 156, 78, 39, 19, /* halves (rounding down) */
    };
    static const int64_t want_b[] = {
        5000, 5000, 5000, 5000, 5000, 5000, 0, 0, 0, 0, 0, 0, 0, 0,
    };
    int64_t got[ARRAY_SIZE(want) + 1], bns[ARRAY_SIZE(want) + 1];
    struct poll_params p;
    struct fake_clock clk;
    size_t len, n;

    params_for(&p, "weighted");
    fake_clock_init(&clk, &p, set, ARRAY_SIZE(set));
    len = build_busy_then_slow(ev, ARRAY_SIZE(ev), &b, s);
    n = fake_clock_run(&clk, ev, len, got, ARRAY_SIZE(got), &b, bns);
    CHECK_SEQ("poll_ns", got, n, want);
    CHECK_SEQ("b.ns", bns, n, want_b);
    ck_assert_uint_eq(clk.st.grows, 1);
    ck_assert_uint_eq(clk.st.shrinks, 8);
}
END_TEST

/* Case 3: with b busy throughout, quiet q and s[i] drop out, window holds. */
START_TEST(test_weighted_ignores_quiet_handlers_while_busy_one_runs)
{
    struct policy_handler b = { 0 }, q = { 0 }, s[4] = { { 0 } };
    struct policy_handler *set[] = { &b, &q, &s[0], &s[1], &s[2], &s[3] };
    /* q after each iteration: two events, then +5000 per quiet one. */
    static const int64_t want_q[] = {
        5000,  /* 0 -> 5000 */
        5000,  /* 5000 - 625 + 625 */
        10000, /* quiet: 5000 + 5000 */
        15000, 20000, 25000, 30000,
        0,     /* iteration 8: 30000 + 5000 = 35000 > max -> 0 */
        0,
    };
    /* s[0] around its event at 12.5 ms = iteration 2500. */
    static const int64_t want_s0[] = {
        0,     /* iteration 2499 */
        5000,  /* iteration 2500: 0 -> block 5000 */
        10000, /* quiet: 5000 + 5000 */
        15000, 20000, 25000, 30000,
        0,     /* iteration 2506: 35000 > max -> 0 */
        0,
    };
    int64_t *got = calloc(BUSY_ITERS, sizeof *got);
    int64_t *ns = calloc(BUSY_ITERS, sizeof *ns);
    struct fake_event *ev;
    struct poll_params p;
    struct fake_clock clk;
    size_t len, n;

    ck_assert(got != NULL && ns != NULL);
    params_for(&p, "weighted");
    ev = build_busy_brief_slow(&len, &b, &q, s);

    fake_clock_init(&clk, &p, set, ARRAY_SIZE(set));
    n = fake_clock_run(&clk, ev, len, got, BUSY_ITERS, &q, ns);
    ck_assert_uint_eq(n, BUSY_ITERS);
    for (size_t i = 0; i < n; i++) {
        /* b: 0 -> 5000, then 5000 - 625 + 625 = 5000 = window; q and s[i]
         * only count in max_active when active, at 5000 too. */
        ck_assert_msg(got[i] == 5000, "iteration %zu: window %" PRId64,
                      i + 1, got[i]);
    }
    CHECK_SEQ("q.ns", ns, ARRAY_SIZE(want_q), want_q);
    for (size_t i = ARRAY_SIZE(want_q); i < n; i++) {
        ck_assert_int_eq(ns[i], 0);
    }
    ck_assert_uint_eq(clk.st.grows, 1);
    ck_assert_uint_eq(clk.st.shrinks, 0);
    ck_assert_int_eq(s[3].ns, 5000); /* its event was the last iteration */

    /* Replay, watching s[0]. */
    fake_clock_init(&clk, &p, set, ARRAY_SIZE(set));
    n = fake_clock_run(&clk, ev, len, NULL, BUSY_ITERS, &s[0], ns);
    ck_assert_uint_eq(n, BUSY_ITERS);
    CHECK_SEQ("s[0].ns", ns + 2498, ARRAY_SIZE(want_s0), want_s0);

    free(ev);
    free(got);
    free(ns);
}
END_TEST

/* Case 4: a handler slower than max-ns never opens a weighted window. */
START_TEST(test_weighted_window_stays_0_for_handler_slower_than_max)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct fake_event ev[] = {
        { 100 * US, &h }, { 200 * US, &h }, { 300 * US, &h },
        { 400 * US, &h }, { 500 * US, &h }, { 600 * US, &h },
    };
    static const int64_t want[] = {
        0, /* h: 0 -> 100000 > max -> 0; max_active 0: not > 0, not < 0 */
        0, /* h: 0 -> 100000 again -> 0 */
        0, 0, 0, 0,
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "weighted");
    fake_clock_init(&clk, &p, set, 1);
    RUN_AND_CHECK_WATCH(&clk, ev, want, &h, want); /* h.ns 0 too */
    ck_assert_uint_eq(clk.st.grows, 0);
    ck_assert_uint_eq(clk.st.shrinks, 0);
}
END_TEST

/* Case 5: grow jumps to the busiest active estimate. */
START_TEST(test_weighted_grow_jumps_to_busiest_estimate)
{
    struct policy_state st;
    int64_t h;

    /* window 4000, h: 0 -> 20000; 20000 > 4000 * 2 = 8000: 20000. */
    ck_assert_int_eq(weighted_one(4000, 0, 20000, 2, &h, &st), 20000);
    ck_assert_int_eq(h, 20000);
    ck_assert_uint_eq(st.grows, 1);

    /* window 4000, h: 0 -> 6000; 6000 > 4000 but < 8000: 4000 * 2. */
    ck_assert_int_eq(weighted_one(4000, 0, 6000, 2, &h, &st), 8000);
    ck_assert_uint_eq(st.grows, 1);

    /* grow 0 means 2: the same 8000 (tested below with p.grow = 0). */
}
END_TEST

START_TEST(test_weighted_grow_takes_max_over_active_handlers)
{
    struct policy_handler a = { 0 }, b = { 0 }, c = { 0 };
    struct policy_handler *set[] = { &a, &b, &c };
    struct policy_handler *both[] = { &a, &b };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "weighted");
    fake_clock_init(&clk, &p, set, 3);
    a.ns = 12000;
    c.ns = 30000; /* quiet: does not count, though larger */
    /* a: 12000 - 1500 + (4000>>3 = 500) = 11000; b: 0 -> 4000;
     * c: 30000 + 4000 = 34000 > max -> 0; window 0 -> max(11000, 4000). */
    ck_assert_int_eq(fake_clock_iterate(&clk, 4000, both, 2), 11000);
    ck_assert_int_eq(a.ns, 11000);
    ck_assert_int_eq(b.ns, 4000);
    ck_assert_int_eq(c.ns, 0);
    ck_assert(!a.had_event && !b.had_event && !c.had_event);
}
END_TEST

START_TEST(test_weighted_grow_caps_at_max_ns)
{
    struct policy_state st;
    int64_t h;

    /* window 20000, h: 0 -> 25000 > 20000; 20000 * 2 = 40000 > 25000:
     * 40000, capped to max 32768. */
    ck_assert_int_eq(weighted_one(20000, 0, 25000, 2, &h, &st), MAX_NS);
    ck_assert_int_eq(h, 25000);
    ck_assert_uint_eq(st.grows, 1);

    /* window 4000, h: 0 -> 32768 (= max, kept); 32768 > 8000: 32768. */
    ck_assert_int_eq(weighted_one(4000, 0, MAX_NS, 2, &h, &st), MAX_NS);
    ck_assert_int_eq(h, MAX_NS);
}
END_TEST

START_TEST(test_weighted_estimate_above_max_counts_as_0)
{
    struct policy_state st;
    int64_t h;

    /* window 4000, h: 0 -> 40000 > max -> 0; max_active 0 < 4000 / 2:
     * 4000 / 2 = 2000. */
    ck_assert_int_eq(weighted_one(4000, 0, 40000, 2, &h, &st), 2000);
    ck_assert_int_eq(h, 0);
    ck_assert_uint_eq(st.grows, 0);
    ck_assert_uint_eq(st.shrinks, 1);
    /* window 4000, h: 0 -> 32769 > max -> 0: 2000 as well. */
    ck_assert_int_eq(weighted_one(4000, 0, MAX_NS + 1, 2, &h, &st), 2000);
    ck_assert_int_eq(h, 0);
}
END_TEST

START_TEST(test_weighted_grow_0_means_2)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "weighted");
    p.grow = 0;
    fake_clock_init(&clk, &p, set, 1);
    clk.st.ns = 4000;
    /* h: 0 -> 6000 > 4000, < 4000 * 2: 8000. */
    ck_assert_int_eq(fake_clock_event(&clk, 6000, &h), 8000);
}
END_TEST

/* Case 6: shrink only when the estimate is below window / shrink. */
START_TEST(test_weighted_shrinks_only_below_half)
{
    struct policy_state st;
    int64_t h;

    /* h: 9000 - 1125 + 1125 = 9000; not > 16000, not < 16000 / 2. */
    ck_assert_int_eq(weighted_one(16000, 9000, 9000, 2, &h, &st), 16000);
    ck_assert_int_eq(h, 9000);
    ck_assert_uint_eq(st.shrinks, 0);
    ck_assert_uint_eq(st.grows, 0);

    /* h: 8000 - 1000 + 1000 = 8000; 8000 < 8000 is false: stays. */
    ck_assert_int_eq(weighted_one(16000, 8000, 8000, 2, &h, &st), 16000);
    ck_assert_uint_eq(st.shrinks, 0);

    /* h: 7000 - 875 + 875 = 7000 < 8000: 16000 / 2. */
    ck_assert_int_eq(weighted_one(16000, 7000, 7000, 2, &h, &st), 8000);
    ck_assert_int_eq(h, 7000);
    ck_assert_uint_eq(st.shrinks, 1);

    /* shrink 0 means 2 for weighted: the same 8000. */
    ck_assert_int_eq(weighted_one(16000, 7000, 7000, 0, &h, &st), 8000);
    ck_assert_uint_eq(st.shrinks, 1);
}
END_TEST

START_TEST(test_weighted_shrinks_only_below_window_over_shrink)
{
    struct policy_state st;
    int64_t h;

    /* shrink 4: h 5000 - 625 + 625 = 5000, not < 16000 / 4 = 4000: stays
     * (under shrink 2 it would halve). */
    ck_assert_int_eq(weighted_one(16000, 5000, 5000, 4, &h, &st), 16000);
    ck_assert_uint_eq(st.shrinks, 0);
    /* shrink 4: h 3000 - 375 + 375 = 3000 < 4000: 16000 / 4. */
    ck_assert_int_eq(weighted_one(16000, 3000, 3000, 4, &h, &st), 4000);
    ck_assert_uint_eq(st.shrinks, 1);
}
END_TEST

/* Case 7: weight 0 behaves as weight 3. */
static void
check_weight_3_sequence(int64_t weight)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    /* Intervals 10000, 2000, 30000, 4000, 6000, 1000. */
    struct fake_event ev[] = {
        { 10000, &h }, { 12000, &h }, { 42000, &h },
        { 46000, &h }, { 52000, &h }, { 53000, &h },
    };
    static const int64_t want_h[] = {
        10000, /* 0 -> 10000 */
        9000,  /* 10000 - 1250 + 250 */
        11625, /* 9000 - 1125 + 3750 */
        10672, /* 11625 - 1453 + 500 */
        10088, /* 10672 - 1334 + 750 */
        8952,  /* 10088 - 1261 + 125 */
    };
    static const int64_t want[] = {
        10000, /* 10000 > 0: jump to 10000 */
        10000, /* 9000: not > 10000, not < 5000 */
        20000, /* 11625 > 10000; 10000 * 2 = 20000 > 11625: 20000 */
        20000, /* 10672: not > 20000, not < 10000 */
        20000, /* 10088: not < 10000 */
        10000, /* 8952 < 10000: 20000 / 2 */
    };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "weighted");
    p.weight = weight;
    fake_clock_init(&clk, &p, set, 1);
    RUN_AND_CHECK_WATCH(&clk, ev, want, &h, want_h);
    ck_assert_uint_eq(clk.st.grows, 2);
    ck_assert_uint_eq(clk.st.shrinks, 1);
}

START_TEST(test_weighted_weight_0_behaves_as_3)
{
    check_weight_3_sequence(3);
    check_weight_3_sequence(0);
}
END_TEST

/* Case 8: a handler outside the poll set does not count. */
START_TEST(test_weighted_handler_outside_set_does_not_count)
{
    struct policy_handler a = { 0 }, x = { 0 };
    struct policy_handler *set1[] = { &a };
    struct policy_handler *set2[] = { &a, &x };
    struct policy_handler *both[] = { &a, &x };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "weighted");
    fake_clock_init(&clk, &p, set1, 1);
    x.ns = 30000; /* idle, out of the set, stale estimate */
    /* a: 0 -> 10000; window 10000. */
    ck_assert_int_eq(fake_clock_event(&clk, 10000, &a), 10000);
    /* a: 10000 - 1250 + 1250 = 10000.  x is not in the set: it does not
     * accumulate (in the set: 30000 + 10000 > max -> 0). */
    ck_assert_int_eq(fake_clock_event(&clk, 20000, &a), 10000);
    ck_assert_int_eq(x.ns, 30000);

    /* One event brings x back into the set: it counts again.
     * a: 10000; x: 30000 - 3750 + 1250 = 27500 > 10000, > 10000 * 2. */
    clk.set = set2;
    clk.n = 2;
    ck_assert_int_eq(fake_clock_iterate(&clk, 30000, both, 2), 27500);
    ck_assert_int_eq(x.ns, 27500);
}
END_TEST

/* --- counters --- */

START_TEST(test_weighted_counters_count_window_changes)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct poll_params p;
    struct fake_clock clk;

    params_for(&p, "weighted");
    fake_clock_init(&clk, &p, set, 1);
    ck_assert_uint_eq(clk.st.grows, 0);
    ck_assert_uint_eq(clk.st.shrinks, 0);
    /* h: 0 -> 20000; window 0 -> 20000: one grow. */
    ck_assert_int_eq(fake_clock_event(&clk, 20000, &h), 20000);
    ck_assert_uint_eq(clk.st.grows, 1);
    /* h: 20000 - 2500 + 2500: unchanged window, no count. */
    ck_assert_int_eq(fake_clock_event(&clk, 40000, &h), 20000);
    ck_assert_uint_eq(clk.st.grows, 1);
    ck_assert_uint_eq(clk.st.shrinks, 0);
    /* A timer-only iteration: no handler event, no change. */
    ck_assert_int_eq(fake_clock_event(&clk, 50000, NULL), 20000);
    ck_assert_uint_eq(clk.st.grows, 1);
    /* h: quiet 20000 + 10000 = 30000, then event block 1000:
     * 30000 - 3750 + 125 = 26375 > 20000, < 40000: 40000 -> cap 32768. */
    ck_assert_int_eq(fake_clock_event(&clk, 51000, &h), MAX_NS);
    ck_assert_uint_eq(clk.st.grows, 2);
    /* h: block 40000: 26375 - 3296 + 5000 = 28079; < 32768, not < 16384. */
    ck_assert_int_eq(fake_clock_event(&clk, 91000, &h), MAX_NS);
    ck_assert_uint_eq(clk.st.grows, 2);
    ck_assert_uint_eq(clk.st.shrinks, 0);
    /* h: block 100 us: 28079 - 3509 + 12500 = 37070 > max -> 0;
     * 0 < 32768 / 2: 16384, one shrink. */
    ck_assert_int_eq(fake_clock_event(&clk, 191000, &h), 16384);
    ck_assert_uint_eq(clk.st.grows, 2);
    ck_assert_uint_eq(clk.st.shrinks, 1);
}
END_TEST

/* --- suite --- */

static Suite *
weighted_suite(void)
{
    Suite *s = suite_create("policy-weighted");
    TCase *tc;

    tc = tcase_create("weighted");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_weighted_steady_interval_jumps_to_interval);
    tcase_add_test(tc, test_weighted_long_block_with_event_drops_handler);
    tcase_add_test(tc, test_weighted_long_block_is_weighted_not_reset);
    tcase_add_test(tc,
                   test_weighted_quiet_handler_drops_after_accumulating_max);
    tcase_add_test(tc, test_weighted_quiet_handler_accumulates_through_timers);
    tcase_add_test(tc,
                   test_weighted_drops_quiet_handler_at_first_slow_iteration);
    tcase_add_test(tc,
                   test_weighted_ignores_quiet_handlers_while_busy_one_runs);
    tcase_add_test(tc,
                   test_weighted_window_stays_0_for_handler_slower_than_max);
    tcase_add_test(tc, test_weighted_grow_jumps_to_busiest_estimate);
    tcase_add_test(tc, test_weighted_grow_takes_max_over_active_handlers);
    tcase_add_test(tc, test_weighted_grow_caps_at_max_ns);
    tcase_add_test(tc, test_weighted_estimate_above_max_counts_as_0);
    tcase_add_test(tc, test_weighted_grow_0_means_2);
    tcase_add_test(tc, test_weighted_shrinks_only_below_half);
    tcase_add_test(tc, test_weighted_shrinks_only_below_window_over_shrink);
    tcase_add_test(tc, test_weighted_weight_0_behaves_as_3);
    tcase_add_test(tc, test_weighted_handler_outside_set_does_not_count);
    suite_add_tcase(s, tc);

    tc = tcase_create("counters");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_weighted_counters_count_window_changes);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    return policy_test_main(weighted_suite());
}
