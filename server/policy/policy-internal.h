/* SPDX-License-Identifier: MIT */
/*
 * The window adjustment shared by `classic` (one window per loop) and
 * `per-handler` (one per handler): the QEMU <= 10.0 rule, kept in one place
 * so both policies are provably the same rule applied to different state.
 */
#ifndef POLLTGT_POLICY_POLICY_INTERNAL_H
#define POLLTGT_POLICY_POLICY_INTERNAL_H

#include <stdint.h>

#include "policy/policy.h"

/*
 * Adjust *ns after an iteration that took block_ns:
 *   block_ns <= *ns                  sweet spot, no change
 *   block_ns >  max                  shrink: *ns /= shrink, or 0 if shrink 0
 *   *ns < max and block_ns < max     grow:   *ns *= grow (from 4 us), capped
 */
void policy_classic_adjust(const struct poll_params *p, int64_t *ns,
                           int64_t block_ns);

#endif /* POLLTGT_POLICY_POLICY_INTERNAL_H */
