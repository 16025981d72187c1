/* SPDX-License-Identifier: MIT */
/*
 * `classic`: one window per loop, QEMU up to 9.x.  Every iteration's
 * block_ns grows the window (x grow, starting at 4 us) when the event came
 * after the window but within max-ns, and shrinks it (/ shrink, or to 0)
 * when the event came after max-ns.  Its known weakness: one slow handler
 * collapses the window of the whole loop.
 */
#include <config.h>

#include "policy/policy-internal.h"

void
policy_classic_adjust(const struct poll_params *p, int64_t *ns,
                      int64_t block_ns)
{
    if (block_ns <= *ns) {
        return; /* the sweet spot: polling found the event */
    }
    if (block_ns > p->max_ns) {
        /* We would have to poll for too long: poll less. */
        *ns = p->shrink ? *ns / p->shrink : 0;
    } else if (*ns < p->max_ns && block_ns < p->max_ns) {
        /* There is room to grow: poll longer. */
        *ns = *ns ? *ns * policy_grow(p) : POLICY_CLASSIC_START_NS;
        if (*ns > p->max_ns) {
            *ns = p->max_ns;
        }
    }
}

static void
classic_reset(struct policy_state *st, const struct poll_params *p)
{
    st->ns = 0;
}

static void
classic_update(struct policy_state *st, const struct poll_params *p,
               struct policy_handler *const *set, size_t n, int64_t block_ns)
{
    for (size_t i = 0; i < n; i++) {
        set[i]->had_event = false;
    }
    policy_classic_adjust(p, &st->ns, block_ns);
}

const struct policy_ops policy_classic_ops = {
    .name = "classic",
    .summary = "one adaptive window per loop (QEMU <= 9.x)",
    .reset = classic_reset,
    .update = classic_update,
};
