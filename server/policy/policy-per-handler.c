/* SPDX-License-Identifier: MIT */
/*
 * `per-handler`: each handler adapts its own window with the classic rule,
 * but only in iterations where it had an event; the loop polls for the
 * largest window in the poll set (QEMU 10.0).  Its known weakness, which
 * motivated `weighted`: a handler that was briefly busy keeps its large
 * window while quiet and holds the whole loop polling until it leaves the
 * poll set after idle-timeout-ms.
 */
#include <config.h>

#include "policy/policy-internal.h"

static void
per_handler_reset(struct policy_state *st, const struct poll_params *p)
{
    st->ns = 0;
}

static void
per_handler_update(struct policy_state *st, const struct poll_params *p,
                   struct policy_handler *const *set, size_t n,
                   int64_t block_ns)
{
    int64_t window = 0;

    for (size_t i = 0; i < n; i++) {
        struct policy_handler *h = set[i];

        if (h->had_event) {
            policy_classic_adjust(p, &h->ns, block_ns);
            h->had_event = false;
        }
        if (h->ns > window) {
            window = h->ns;
        }
    }
    st->ns = window;
}

const struct policy_ops policy_per_handler_ops = {
    .name = "per-handler",
    .summary = "one adaptive window per handler, loop polls for the largest (QEMU 10.0)",
    .reset = per_handler_reset,
    .update = per_handler_update,
};
