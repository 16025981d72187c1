/* SPDX-License-Identifier: MIT */
/*
 * `max-ns = auto`: the longest poll window, from what a wake-up costs.
 *
 * Polling for a window W is worth it when the next event usually arrives
 * within W; otherwise the CPU burnt is lost and the wake-up is paid anyway.
 * The events that matter most are a client's next request after our reply
 * (QD1 ping-pong): that interval is the reply's trip, the client's own
 * wake-up (on the same kind of host, about what ours costs), its processing
 * and the request's trip, so it is a small multiple of one wake-up cost C.
 * A window of POLICY_AUTO_FACTOR (4) x C covers it with room for the tail:
 * on bare metal (C of 5-10 us) that is about QEMU's 32 us; on a VM whose
 * halted vCPU costs 50-100 us to wake, 200-400 us, which is where the
 * fixed-window benchmarks of this project found the QD1 gain (262144 ns
 * beat 32768 by 2.5x).  The policies still decide how much of the window to
 * use; this only bounds it.  The clamp keeps a bad measurement harmless:
 * never below 16 us (a window too short to catch anything but in-memory
 * turnarounds), never above 1 ms (past that, a host is so slow to wake that
 * polling a whole interval costs more CPU than operators accept).
 */
#include <config.h>

#include "policy/policy.h"

int64_t
policy_max_ns_auto(int64_t wake_cost_ns)
{
    int64_t w;

    if (wake_cost_ns < 0) {
        return POLICY_AUTO_FALLBACK_NS; /* not measured */
    }
    if (wake_cost_ns > POLICY_AUTO_MAX_NS / POLICY_AUTO_FACTOR) {
        return POLICY_AUTO_MAX_NS;
    }
    w = wake_cost_ns * POLICY_AUTO_FACTOR;
    return w < POLICY_AUTO_MIN_NS ? POLICY_AUTO_MIN_NS : w;
}
