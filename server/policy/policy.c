/* SPDX-License-Identifier: MIT */
/*
 * The policy table, the shared reset/update wrappers and the parameter
 * table.  The parameter table is the single description of every poll
 * tunable (key, type, range): the INI loader, the status socket's `set` and
 * the documentation test all read it, so a value accepted in one place is
 * accepted everywhere, with the same message when it is not.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "util/clock.h"
#include "util/parse.h"

const struct policy_ops *const policy_table[] = {
    &policy_off_ops,
    &policy_classic_ops,
    &policy_per_handler_ops,
    &policy_weighted_ops,
    &policy_busy_ops,
    NULL,
};

const struct policy_ops *
policy_find(const char *name)
{
    for (size_t i = 0; policy_table[i]; i++) {
        if (strcmp(policy_table[i]->name, name) == 0) {
            return policy_table[i];
        }
    }
    return NULL;
}

/*
 * max-ns is `auto`: QEMU's fixed 32768 ns was chosen from virtio-blk
 * measurements on hosts where a wake-up costs a few microseconds; where it
 * costs 100 us (a VM whose idle vCPU halts), every request interval is
 * longer than 32 us and the policies correctly stop polling, so the window
 * must follow the host (see policy-max-ns.c).
 */
void
policy_params_default(struct poll_params *p)
{
    p->policy = &policy_weighted_ops;
    p->max_ns = POLICY_MAX_NS_AUTO;
    p->grow = 2;
    p->shrink = 2;
    p->weight = 3;
    p->idle_timeout_ms = 7000;
}

void
policy_reset(struct policy_state *st, const struct poll_params *p,
             struct policy_handler *const *set, size_t n)
{
    assert(p->max_ns >= 0); /* auto is resolved by the loop, never here */
    for (size_t i = 0; i < n; i++) {
        set[i]->ns = 0;
        set[i]->had_event = false;
    }
    st->ns = 0;
    if (p->max_ns > 0) {
        p->policy->reset(st, p);
    }
}

void
policy_update(struct policy_state *st, const struct poll_params *p,
              struct policy_handler *const *set, size_t n, int64_t block_ns)
{
    int64_t old = st->ns;

    assert(p->max_ns >= 0);
    p->policy->update(st, p, set, n, block_ns);
    if (p->max_ns == 0) {
        st->ns = 0;
    }
    /* Counted here, once, as changes of the loop's window: what an
     * operator sees in the stats, whatever the policy does inside. */
    if (st->ns > old) {
        st->grows++;
    } else if (st->ns < old) {
        st->shrinks++;
    }
}

#define PARAM_OFFSET(field) offsetof(struct poll_params, field)

const struct policy_param policy_params[] = {
    { "policy", POLICY_PARAM_POLICY, PARAM_OFFSET(policy), 0, 0,
      "poll policy: off, classic, per-handler, weighted or busy" },
    { "max-ns", POLICY_PARAM_WINDOW, PARAM_OFFSET(max_ns), 0,
      NS_PER_SEC,
      "longest poll window (0 disables polling; auto: from the measured "
      "wake-up cost)" },
    { "grow", POLICY_PARAM_INT, PARAM_OFFSET(grow), 0, 1024,
      "window growth factor (0 means 2)" },
    { "shrink", POLICY_PARAM_INT, PARAM_OFFSET(shrink), 0, 1024,
      "window shrink divisor (0: classic/per-handler reset to 0, weighted 2)" },
    { "weight", POLICY_PARAM_INT, PARAM_OFFSET(weight), 0, 63,
      "weighted-average shift: the newest interval counts 1/2^weight (0 means 3)" },
    { "idle-timeout-ms", POLICY_PARAM_DURATION_MS, PARAM_OFFSET(idle_timeout_ms),
      1, 24 * 3600 * 1000,
      "a handler without events this long leaves the poll set" },
};
const size_t policy_nparams = sizeof policy_params / sizeof policy_params[0];

const struct policy_param *
policy_param_find(const char *key)
{
    for (size_t i = 0; i < policy_nparams; i++) {
        if (strcmp(policy_params[i].key, key) == 0) {
            return &policy_params[i];
        }
    }
    return NULL;
}

static void
policy_list_names(char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; policy_table[i] && used < len; i++) {
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 i ? ", " : "", policy_table[i]->name);
    }
}

int
policy_param_set(struct poll_params *p, const struct policy_param *param,
                 const char *value, char *err, size_t errlen)
{
    int64_t *field = (int64_t *)((char *)p + param->offset);
    int64_t v, scale = 1;
    int r;

    switch (param->kind) {
    case POLICY_PARAM_POLICY: {
        const struct policy_ops *ops = policy_find(value);
        char names[128];

        if (ops == NULL) {
            policy_list_names(names, sizeof names);
            snprintf(err, errlen, "unknown policy '%s': expected one of %s",
                     value, names);
            return -EINVAL;
        }
        p->policy = ops;
        return 0;
    }
    case POLICY_PARAM_INT:
        r = parse_int64(value, &v);
        if (r < 0 || v < param->min || v > param->max) {
            snprintf(err, errlen,
                     "invalid value '%s': expected a whole number from %" PRId64
                     " to %" PRId64, value, param->min, param->max);
            return -EINVAL;
        }
        break;
    case POLICY_PARAM_WINDOW:
        if (strcmp(value, "auto") == 0) {
            *field = POLICY_MAX_NS_AUTO;
            return 0;
        }
        /* Otherwise a duration. */
        __attribute__((fallthrough));
    case POLICY_PARAM_DURATION_NS:
    case POLICY_PARAM_DURATION_MS:
        if (param->kind == POLICY_PARAM_DURATION_MS) {
            scale = NS_PER_MS;
        }
        r = parse_duration(value, scale, &v);
        if (r == 0 && v % scale != 0) {
            r = -EINVAL;
        }
        if (r == 0) {
            v /= scale;
        }
        if (r < 0 || v < param->min || v > param->max) {
            snprintf(err, errlen,
                     "invalid value '%s': expected %sa duration from %" PRId64
                     "%s to %" PRId64 "%s (a bare number is in %s; units ns, "
                     "us, ms, s)",
                     value,
                     param->kind == POLICY_PARAM_WINDOW ? "'auto' or " : "",
                     param->min, scale == 1 ? "ns" : "ms", param->max,
                     scale == 1 ? "ns" : "ms",
                     scale == 1 ? "nanoseconds" : "milliseconds");
            return -EINVAL;
        }
        break;
    default:
        snprintf(err, errlen, "internal error: unknown parameter kind");
        return -EINVAL;
    }
    *field = v;
    return 0;
}

void
policy_param_format(const struct poll_params *p,
                    const struct policy_param *param, char *buf, size_t len)
{
    const int64_t *field = (const int64_t *)((const char *)p + param->offset);

    if (param->kind == POLICY_PARAM_POLICY) {
        snprintf(buf, len, "%s", p->policy->name);
    } else if (param->kind == POLICY_PARAM_WINDOW &&
               *field == POLICY_MAX_NS_AUTO) {
        snprintf(buf, len, "auto");
    } else {
        snprintf(buf, len, "%" PRId64, *field);
    }
}
