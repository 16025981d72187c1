/* SPDX-License-Identifier: MIT */
/*
 * `weighted` (the default): the weighted handler-interval algorithm of the
 * seed (QEMU's poll-weight).  Each handler keeps an estimate of the interval
 * until its next event: a weighted average of block_ns over the iterations
 * where it had an event (the newest sample counts 1/2^weight).  A handler
 * that was active but is quiet now accumulates block_ns unweighted and
 * drops to 0 as soon as its interval passes max-ns, so it stops holding the
 * loop polling within a few iterations instead of after the idle timeout.
 *
 * The loop window follows the largest estimate among handlers that had an
 * event: it jumps straight up to it (or x grow, whichever is larger, capped
 * at max-ns) and shrinks / shrink only when the estimate falls below
 * window / shrink, so a device slightly slower than the window does not
 * reset it every time.
 */
#include <config.h>

#include "policy/policy.h"

static void
weighted_reset(struct policy_state *st, const struct poll_params *p)
{
    st->ns = 0;
}

/* The interval estimate of one handler after this iteration. */
static int64_t
weighted_handler_next(const struct poll_params *p, struct policy_handler *h,
                      int64_t block_ns)
{
    int64_t weight = policy_weight(p);

    if (h->had_event) {
        h->ns = h->ns ? h->ns - (h->ns >> weight) + (block_ns >> weight)
                      : block_ns;
    } else if (h->ns != 0) {
        /* Quiet now: its interval is at least this long already. */
        h->ns += block_ns;
    }
    if (h->ns > p->max_ns) {
        h->ns = 0; /* too slow to be worth polling for */
    }
    return h->ns;
}

static void
weighted_update(struct policy_state *st, const struct poll_params *p,
                struct policy_handler *const *set, size_t n, int64_t block_ns)
{
    int64_t shrink = p->shrink ? p->shrink : 2;
    int64_t grow = policy_grow(p);
    int64_t max_active = -1;

    for (size_t i = 0; i < n; i++) {
        struct policy_handler *h = set[i];
        bool active = h->had_event;
        int64_t est = weighted_handler_next(p, h, block_ns);

        h->had_event = false;
        if (active && est > max_active) {
            max_active = est;
        }
    }
    if (max_active < 0) {
        return; /* no handler of the poll set had an event */
    }
    if (max_active > st->ns) {
        int64_t next = max_active > st->ns * grow ? max_active : st->ns * grow;

        st->ns = next < p->max_ns ? next : p->max_ns;
    } else if (max_active < st->ns / shrink) {
        st->ns /= shrink;
    }
}

const struct policy_ops policy_weighted_ops = {
    .name = "weighted",
    .summary = "weighted per-handler event intervals, quiet handlers drop out fast (default)",
    .reset = weighted_reset,
    .update = weighted_update,
};
