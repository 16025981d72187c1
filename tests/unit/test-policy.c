/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the poll policies (server/policy/), against the rules of
 * shared/design/polling-policies.md.  Every timeline is replayed through
 * the fake loop of fake-clock.h, and every expected window is computed by
 * hand from the spec's rules, with the arithmetic next to it: the test
 * never re-implements a policy, so a wrong rule in the code cannot be
 * copied into the expectation.
 *
 * Unless a test says otherwise the parameters are the defaults: max-ns
 * 32768, grow 2, shrink 2, weight 3 (so the weighted newest sample counts
 * x >> 3, i.e. x / 8 rounded down).
 */
#include <config.h>

#include <check.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "util/compiler.h"

#include "fake-clock.h"

#define MAX_NS INT64_C(32768) /* the default max-ns */
#define US INT64_C(1000)
#define MS INT64_C(1000000)

/* --- helpers --- */

/* Default parameters with the named policy. */
static void
params_for(struct poll_params *p, const char *policy)
{
    policy_params_default(p);
    p->policy = policy_find(policy);
    ck_assert_msg(p->policy != NULL, "policy '%s' not found", policy);
}

/* Compare the windows (or estimates) after each iteration with want[]. */
static void
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

static size_t
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
static int64_t
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
    ck_assert_int_eq(p.max_ns, 32768);
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
    ck_assert_int_eq(p.max_ns, 32768); /* unchanged */
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
static size_t
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

/*
 * Case 3 with a handler that stays busy: b (5 us, 50 ms long), q (busy for
 * two events, then quiet) and s[0..3] (one event each, 12.5 ms apart).
 */
#define BUSY_ITERS 10000 /* 50 ms / 5 us */

static struct fake_event *
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

    policy_params_default(&p);
    p.policy = ops;
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

    policy_params_default(&p);
    p.policy = ops;
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

/* --- suite --- */

static Suite *
policy_suite(void)
{
    Suite *s = suite_create("policy");
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

    tc = tcase_create("per-handler");
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_per_handler_single_handler_matches_classic);
    tcase_add_test(tc, test_per_handler_keeps_quiet_handler_window);
    tcase_add_test(tc, test_per_handler_shrinks_for_handler_slower_than_max);
    tcase_add_test(tc,
                   test_per_handler_brief_handler_keeps_window_beside_busy_one);
    tcase_add_test(tc, test_per_handler_handler_outside_set_does_not_count);
    suite_add_tcase(s, tc);

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
    tcase_add_test(tc, test_per_handler_counters_count_window_changes);
    tcase_add_test(tc, test_counters_ignore_factor_1_that_keeps_window);
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

    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(policy_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
