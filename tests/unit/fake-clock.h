/* SPDX-License-Identifier: MIT */
/*
 * A fake clock and timeline driver for the poll-policy unit tests.
 *
 * Policies never read a clock (server/policy/policy.h), so a test can
 * replay a timeline of events exactly, without sleeping.  This header plays
 * the loop: it holds `now` (the start of the current iteration), the loop's
 * policy state and parameters, and the poll set.  One iteration follows the
 * loop's contract: the loop polls for st.ns, then blocks; the iteration
 * ends at the time t of the next event, so
 *
 *     block_ns = t - now
 *
 * every handler with an event at t gets had_event = true, then
 * policy_update(&st, &p, set, n, block_ns) runs and `now` becomes t.
 * Events that share a time are one iteration.  An event with no handler
 * (h == NULL) is a timer: it ends the iteration without any handler event.
 *
 * Everything is static inline so the header can be included by any test
 * without defining a symbol.
 */
#ifndef POLLTGT_TESTS_UNIT_FAKE_CLOCK_H
#define POLLTGT_TESTS_UNIT_FAKE_CLOCK_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

/* The fake loop: the clock plus what the loop hands to the policy. */
struct fake_clock {
    int64_t now;                      /* start of the current iteration */
    size_t iterations;                /* iterations run since init */
    struct policy_state st;           /* the loop's policy state */
    struct poll_params p;             /* the loop's tunables */
    struct policy_handler *const *set; /* the poll set */
    size_t n;                         /* handlers in set */
};

/* One event of a timeline: at time t, handler h had work (NULL: a timer). */
struct fake_event {
    int64_t t;
    struct policy_handler *h;
};

/*
 * Start a loop at time 0 with params p and poll set set[0..n): zero the
 * state and call policy_reset, as the loop does when it starts.
 */
static inline void
fake_clock_init(struct fake_clock *clk, const struct poll_params *p,
                struct policy_handler *const *set, size_t n)
{
    memset(clk, 0, sizeof *clk);
    clk->p = *p;
    clk->set = set;
    clk->n = n;
    policy_reset(&clk->st, &clk->p, set, n);
}

/*
 * Run one iteration that ends at time t with events on ev[0..nev) (NULL
 * entries are timers).  Returns the next window, st.ns.
 */
static inline int64_t
fake_clock_iterate(struct fake_clock *clk, int64_t t,
                   struct policy_handler *const *ev, size_t nev)
{
    assert(t >= clk->now);
    for (size_t i = 0; i < nev; i++) {
        if (ev[i] != NULL) {
            ev[i]->had_event = true;
        }
    }
    policy_update(&clk->st, &clk->p, clk->set, clk->n, t - clk->now);
    clk->now = t;
    clk->iterations++;
    return clk->st.ns;
}

/* One iteration ending at t with an event on h alone (NULL: a timer). */
static inline int64_t
fake_clock_event(struct fake_clock *clk, int64_t t, struct policy_handler *h)
{
    return fake_clock_iterate(clk, t, &h, 1);
}

/*
 * Replay events[0..nevents), sorted by time: one iteration per distinct
 * time.  After iteration i (0-based, counted from this call) the window
 * goes to poll_ns[i] and, when watch is not NULL, watch->ns to watch_ns[i]
 * (either array may be NULL; at most cap entries are written).  Returns
 * the number of iterations run.
 */
static inline size_t
fake_clock_run(struct fake_clock *clk, const struct fake_event *events,
               size_t nevents, int64_t *poll_ns, size_t cap,
               const struct policy_handler *watch, int64_t *watch_ns)
{
    size_t iters = 0;
    size_t i = 0;

    while (i < nevents) {
        int64_t t = events[i].t;

        assert(i == 0 || events[i - 1].t <= t);
        for (; i < nevents && events[i].t == t; i++) {
            if (events[i].h != NULL) {
                events[i].h->had_event = true;
            }
        }
        fake_clock_iterate(clk, t, NULL, 0);
        if (iters < cap) {
            if (poll_ns != NULL) {
                poll_ns[iters] = clk->st.ns;
            }
            if (watch != NULL && watch_ns != NULL) {
                watch_ns[iters] = watch->ns;
            }
        }
        iters++;
    }
    return iters;
}

/*
 * Timeline building: append events of h at first, first + period, ... up
 * to and including until, to events[*len..cap).  Returns false if it did
 * not fit.
 */
static inline bool
fake_timeline_periodic(struct fake_event *events, size_t cap, size_t *len,
                       struct policy_handler *h, int64_t first,
                       int64_t period, int64_t until)
{
    assert(period > 0);
    for (int64_t t = first; t <= until; t += period) {
        if (*len >= cap) {
            return false;
        }
        events[*len].t = t;
        events[*len].h = h;
        (*len)++;
    }
    return true;
}

static inline int
fake_event_cmp(const void *a, const void *b)
{
    const struct fake_event *x = a, *y = b;

    return (x->t > y->t) - (x->t < y->t);
}

/* Sort a built timeline by time (the order within one time is irrelevant). */
static inline void
fake_timeline_sort(struct fake_event *events, size_t len)
{
    qsort(events, len, sizeof *events, fake_event_cmp);
}

#endif /* POLLTGT_TESTS_UNIT_FAKE_CLOCK_H */
