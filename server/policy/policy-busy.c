/* SPDX-License-Identifier: MIT */
/*
 * `busy`: poll until work is found or the next timer is due, never block
 * while the poll set is non-empty (the loop still blocks when it is empty).
 * The latency floor and the CPU ceiling, as an SPDK reactor runs.  max-ns
 * is honoured only as the global off switch (0), which policy.c applies.
 */
#include <config.h>

#include "policy/policy.h"

static void
busy_reset(struct policy_state *st, const struct poll_params *p)
{
    st->ns = POLICY_NS_UNBOUNDED;
}

static void
busy_update(struct policy_state *st, const struct poll_params *p,
            struct policy_handler *const *set, size_t n, int64_t block_ns)
{
    for (size_t i = 0; i < n; i++) {
        set[i]->had_event = false;
    }
    st->ns = POLICY_NS_UNBOUNDED;
}

const struct policy_ops policy_busy_ops = {
    .name = "busy",
    .summary = "always poll, never block while there is work registered",
    .reset = busy_reset,
    .update = busy_update,
};
