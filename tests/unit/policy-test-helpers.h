/* SPDX-License-Identifier: MIT */
/*
 * Shared fixtures of the poll-policy unit tests (test-policy-*.c),
 * #included by each, not compiled on its own: every function is static
 * inline.  On top of the fake loop of fake-clock.h it gives the default
 * parameters with a named policy, the RUN_AND_CHECK macros that replay a
 * timeline and compare the window after each iteration with a
 * hand-computed list, a one-iteration weighted probe from a constructed
 * state, and the two multi-handler timelines of the spec's case 3
 * (shared/design/polling-policies.md), which the adaptive policies are
 * checked against.  Expected values stay in the tests, never here, so a
 * wrong rule in the code cannot leak into an expectation.
 */
#ifndef POLLTGT_TESTS_UNIT_POLICY_TEST_HELPERS_H
#define POLLTGT_TESTS_UNIT_POLICY_TEST_HELPERS_H

#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "util/compiler.h"

#include "fake-clock.h"

/* The window the timelines are computed for: QEMU's 32768, the fixed
 * value an operator sets.  (The built-in default, auto, is resolved by the
 * loop to a measured duration before a policy sees it.) */
#define MAX_NS INT64_C(32768)
#define US INT64_C(1000)
#define MS INT64_C(1000000)

/* Default parameters with the named policy, and max-ns MAX_NS. */
static inline void
params_for(struct poll_params *p, const char *policy)
{
    policy_params_default(p);
    p->max_ns = MAX_NS;
    p->policy = policy_find(policy);
    ck_assert_msg(p->policy != NULL, "policy '%s' not found", policy);
}

/* Compare the windows (or estimates) after each iteration with want[]. */
static inline void
check_seq(const char *what, const int64_t *got, size_t ngot,
          const int64_t *want, size_t nwant)
{
    ck_assert_msg(ngot == nwant, "%s: %zu iterations, expected %zu", what,
                  ngot, nwant);
    for (size_t i = 0; i < nwant; i++) {
        ck_assert_msg(got[i] == want[i],
                      "%s: after iteration %zu: %" PRId64 ", expected %"
                      PRId64, what, i + 1, got[i], want[i]);
    }
}

#define CHECK_SEQ(what, got, ngot, want) \
    check_seq((what), (got), (ngot), (want), ARRAY_SIZE(want))

/* Replay events and check the window after each iteration. */
#define RUN_AND_CHECK(clk, events, want)                                    \
    do {                                                                    \
        int64_t got_[ARRAY_SIZE(want) + 1];                                 \
        size_t n_ = fake_clock_run((clk), (events), ARRAY_SIZE(events),     \
                                   got_, ARRAY_SIZE(got_), NULL, NULL);     \
        CHECK_SEQ("poll_ns", got_, n_, (want));                             \
    } while (0)

/* Replay events, check the window and watch->ns after each iteration. */
#define RUN_AND_CHECK_WATCH(clk, events, want, watch, want_ns)              \
    do {                                                                    \
        int64_t got_[ARRAY_SIZE(want) + 1];                                 \
        int64_t ns_[ARRAY_SIZE(want) + 1];                                  \
        size_t n_ = fake_clock_run((clk), (events), ARRAY_SIZE(events),     \
                                   got_, ARRAY_SIZE(got_), (watch), ns_);   \
        CHECK_SEQ("poll_ns", got_, n_, (want));                             \
        CHECK_SEQ("handler ns", ns_, n_, (want_ns));                        \
    } while (0)

static inline size_t
count_policies(void)
{
    size_t n = 0;

    while (policy_table[n] != NULL) {
        n++;
    }
    return n;
}

/*
 * One weighted iteration from a constructed state (white-box setup): the
 * window is ctx_ns, the only handler's estimate is h_ns, it has an event
 * after block_ns.  Returns the next window; *h_after gets the estimate,
 * *st_after the loop state.
 */
static inline int64_t
weighted_one(int64_t ctx_ns, int64_t h_ns, int64_t block_ns, int64_t shrink,
             int64_t *h_after, struct policy_state *st_after)
{
    struct policy_handler h = { 0 };
    struct policy_handler *set[] = { &h };
    struct poll_params p;
    struct fake_clock clk;
    int64_t w;

    params_for(&p, "weighted");
    p.shrink = shrink;
    fake_clock_init(&clk, &p, set, 1);
    clk.st.ns = ctx_ns;
    h.ns = h_ns;
    w = fake_clock_event(&clk, block_ns, &h);
    ck_assert(!h.had_event);
    *h_after = h.ns;
    *st_after = clk.st;
    return w;
}

/*
 * Case 3's timeline: b busy for 6 events 5 us apart, then silent, beside
 * four slow handlers s[0..3] that each have an event every 50 ms.  Returns
 * the number of events written to ev[0..cap).
 */
static inline size_t
build_busy_then_slow(struct fake_event *ev, size_t cap,
                     struct policy_handler *b, struct policy_handler *s)
{
    size_t len = 0;

    /* b: 6 events 5 us apart (5..30 us), then silent. */
    ck_assert(fake_timeline_periodic(ev, cap, &len, b, 5 * US, 5 * US,
                                     30 * US));
    /* s[0..3]: every 50 ms, staggered by 12.5 ms, until 100 ms. */
    for (int64_t i = 0; i < 4; i++) {
        ck_assert(fake_timeline_periodic(ev, cap, &len, &s[i],
                                         (i + 1) * 12500 * US, 50 * MS,
                                         100 * MS));
    }
    fake_timeline_sort(ev, len);
    return len;
}

/*
 * Case 3 with a handler that stays busy: b (5 us, 50 ms long), q (busy for
 * two events, then quiet) and s[0..3] (one event each, 12.5 ms apart).
 */
#define BUSY_ITERS 10000 /* 50 ms / 5 us */

static inline struct fake_event *
build_busy_brief_slow(size_t *len, struct policy_handler *b,
                      struct policy_handler *q, struct policy_handler *s)
{
    size_t cap = BUSY_ITERS + 16;
    struct fake_event *ev = calloc(cap, sizeof *ev);

    ck_assert_ptr_nonnull(ev);
    *len = 0;
    ck_assert(fake_timeline_periodic(ev, cap, len, b, 5 * US, 5 * US,
                                     50 * MS));
    ck_assert(fake_timeline_periodic(ev, cap, len, q, 5 * US, 5 * US,
                                     10 * US));
    for (int64_t i = 0; i < 4; i++) {
        /* 12.5 ms is a multiple of 5 us: s[i] shares an iteration with b. */
        ck_assert(fake_timeline_periodic(ev, cap, len, &s[i],
                                         (i + 1) * 12500 * US, 50 * MS,
                                         50 * MS));
    }
    fake_timeline_sort(ev, *len);
    return ev;
}

/* Run the suite; the exit status is what make check expects. */
static inline int
policy_test_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* POLLTGT_TESTS_UNIT_POLICY_TEST_HELPERS_H */
