/* SPDX-License-Identifier: MIT */
/*
 * Poll policies: how long an I/O thread busy-polls before it blocks.
 *
 * A policy is a pure strategy.  It never reads a clock and never makes a
 * system call: the loop measures block_ns and marks which handlers had an
 * event, the policy turns that into the next window.  This is what lets
 * tests/unit/test-policy-*.c replay hand-computed timelines exactly.
 * The rules of each policy are in man/polltgt.ini.5 and in the file of the
 * policy (policy-<name>.c).
 *
 * All tunables live in struct poll_params and are described once, in the
 * parameter table of policy.c, which the INI parser and the status socket's
 * `set` command both use, so both validate a value the same way.
 */
#ifndef POLLTGT_POLICY_POLICY_H
#define POLLTGT_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

/* The window the busy policy asks for: poll until work or the next timer. */
#define POLICY_NS_UNBOUNDED INT64_MAX

/* The start of a classic / per-handler window when it first grows (QEMU). */
#define POLICY_CLASSIC_START_NS INT64_C(4000)

/*
 * max-ns = auto: the loop sizes the window from the wake-up cost it
 * measured on its own CPU (policy_max_ns_auto), instead of a fixed value.
 * Only a configured value is ever AUTO; the window a policy sees is always
 * a real duration (aio.c resolves it).
 */
#define POLICY_MAX_NS_AUTO INT64_C(-1)

/* The bounds of an automatic window, and its value when the measurement
 * failed (QEMU's bare-metal default). */
#define POLICY_AUTO_MIN_NS      INT64_C(16000)
#define POLICY_AUTO_MAX_NS      INT64_C(1000000)
#define POLICY_AUTO_FALLBACK_NS INT64_C(32768)
/* The window is this many wake-ups long (see policy-max-ns.c). */
#define POLICY_AUTO_FACTOR      4

struct policy_ops;

/* The tunables of one I/O thread's loop. */
struct poll_params {
    const struct policy_ops *policy;
    int64_t max_ns;          /* longest window; 0 disables polling;
                              * POLICY_MAX_NS_AUTO in a configuration */
    int64_t grow;            /* 0 means the policy default (2) */
    int64_t shrink;          /* 0: classic/per-handler reset to 0, weighted 2 */
    int64_t weight;          /* weighted average shift, 0 means 3 */
    int64_t idle_timeout_ms; /* handler leaves the poll set after this */
};

/*
 * Per-handler state, embedded in every loop handler that has a poll
 * callback.  The loop sets had_event during an iteration; the policy's
 * update() reads it and clears it.
 */
struct policy_handler {
    int64_t ns;     /* per-handler window, or weighted interval estimate */
    bool had_event; /* the handler had an event in this iteration */
};

/* Per-loop state. */
struct policy_state {
    int64_t ns;       /* the current window: what the loop polls for next */
    uint64_t grows;   /* times policy_update grew the window (monotonic) */
    uint64_t shrinks; /* times policy_update shrank it (monotonic) */
};

struct policy_ops {
    const char *name;    /* as written in the INI file */
    const char *summary; /* one line for --help and the status socket */

    /*
     * Start from scratch: set st->ns to the policy's first window.  Called
     * by policy_reset(), on the owning I/O thread, when the loop starts and
     * when the policy or its tunables change.  The caller has zeroed every
     * struct policy_handler already.
     */
    void (*reset)(struct policy_state *st, const struct poll_params *p);

    /*
     * Feedback after one loop iteration, on the owning I/O thread.
     * set/n: the handlers in the poll set (had_event set on those that had
     * an event).  block_ns: time from the start of the poll phase until
     * work was found, while polling or after the blocking wait.  Must clear
     * had_event on every handler of set and leave the next window in
     * st->ns (0 = block at once, POLICY_NS_UNBOUNDED = poll until work).
     */
    void (*update)(struct policy_state *st, const struct poll_params *p,
                   struct policy_handler *const *set, size_t n,
                   int64_t block_ns);
};

/* The explicit table of policies, in the order the documentation uses. */
extern const struct policy_ops policy_off_ops;
extern const struct policy_ops policy_classic_ops;
extern const struct policy_ops policy_per_handler_ops;
extern const struct policy_ops policy_weighted_ops;
extern const struct policy_ops policy_busy_ops;

/* NULL-terminated list of all policies. */
extern const struct policy_ops *const policy_table[];

/* Look a policy up by its INI name; NULL if unknown. */
const struct policy_ops *policy_find(const char *name) ATTR_NONNULL(1);

/* The built-in defaults (weighted, auto, 2, 2, 3, 7000). */
void policy_params_default(struct poll_params *p) ATTR_NONNULL(1);

/*
 * Reset the loop state and every handler in set (ns = 0, no event), then
 * let the policy pick its first window.  max_ns == 0 forces 0 whatever the
 * policy.
 */
void policy_reset(struct policy_state *st, const struct poll_params *p,
                  struct policy_handler *const *set, size_t n)
    ATTR_NONNULL(1, 2);

/*
 * One iteration's feedback: runs p->policy->update, then forces the window
 * to 0 when p->max_ns is 0 (polling disabled under every policy).
 */
void policy_update(struct policy_state *st, const struct poll_params *p,
                   struct policy_handler *const *set, size_t n,
                   int64_t block_ns) ATTR_NONNULL(1, 2);

/*
 * The automatic window for a measured wake-up cost (ns; < 0: unknown):
 * POLICY_AUTO_FACTOR wake-ups, clamped to [POLICY_AUTO_MIN_NS,
 * POLICY_AUTO_MAX_NS], POLICY_AUTO_FALLBACK_NS when the cost is unknown.
 * Pure, so tests give it costs and check windows.
 */
int64_t policy_max_ns_auto(int64_t wake_cost_ns);

/* Effective factors, with 0 meaning the documented default. */
static inline int64_t
policy_grow(const struct poll_params *p)
{
    return p->grow ? p->grow : 2;
}

static inline int64_t
policy_weight(const struct poll_params *p)
{
    return p->weight ? p->weight : 3;
}

/* --- The parameter table: INI keys of [poll] and [iothread N]. --- */

enum policy_param_kind {
    POLICY_PARAM_POLICY, /* a policy name */
    POLICY_PARAM_INT,    /* an integer in [min, max] */
    POLICY_PARAM_DURATION_NS, /* a duration, stored in ns */
    POLICY_PARAM_WINDOW, /* a duration in ns, or `auto` (POLICY_MAX_NS_AUTO) */
    POLICY_PARAM_DURATION_MS, /* a duration, stored in ms */
};

struct policy_param {
    const char *key;  /* INI key */
    enum policy_param_kind kind;
    size_t offset;    /* into struct poll_params */
    int64_t min, max; /* accepted range (ints and durations) */
    const char *doc;  /* what it means, for messages */
};

extern const struct policy_param policy_params[];
extern const size_t policy_nparams;

const struct policy_param *policy_param_find(const char *key) ATTR_NONNULL(1);

/*
 * Parse value for param into *p.  On error returns -EINVAL and writes a
 * message saying what was given and what is accepted into err (no file or
 * line: the caller adds its own context).  The same function serves the INI
 * loader and the status socket's `set`, so both give the same message.
 */
int policy_param_set(struct poll_params *p, const struct policy_param *param,
                     const char *value, char *err, size_t errlen)
    ATTR_NONNULL(1, 2, 3, 4);

/* Format the current value of param in p (for stats and logs). */
void policy_param_format(const struct poll_params *p,
                         const struct policy_param *param, char *buf,
                         size_t len) ATTR_NONNULL(1, 2, 3);

#endif /* POLLTGT_POLICY_POLICY_H */
