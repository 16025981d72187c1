/* SPDX-License-Identifier: MIT */
/*
 * `off`: never poll.  The loop blocks at once on every iteration; the
 * baseline for CPU use and the ceiling for latency.  No per-handler state.
 */
#include <config.h>

#include "policy/policy.h"

static void
off_reset(struct policy_state *st, const struct poll_params *p)
{
    st->ns = 0;
}

static void
off_update(struct policy_state *st, const struct poll_params *p,
           struct policy_handler *const *set, size_t n, int64_t block_ns)
{
    for (size_t i = 0; i < n; i++) {
        set[i]->had_event = false;
    }
    st->ns = 0;
}

const struct policy_ops policy_off_ops = {
    .name = "off",
    .summary = "never poll: block at once (lowest CPU, highest latency)",
    .reset = off_reset,
    .update = off_update,
};
