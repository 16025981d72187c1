/* SPDX-License-Identifier: MIT */
/*
 * The I/O-thread event loop, in the shape of QEMU's aio_poll().
 *
 * One struct aio_ctx per I/O thread.  It owns: the handlers (an fd with
 * read/write callbacks and an optional poll callback), an epoll set for the
 * blocking wait, one io_uring ring whose completion queue is itself a polled
 * handler, a notifier (eventfd) with a cross-thread message queue, timers,
 * the poll policy state and the loop statistics.
 *
 * One iteration (aio_ctx_poll):
 *   1. poll phase: while the policy's window is open, run the poll callbacks
 *      of the poll set until one finds work (the clock is read once per pass
 *      over the set, not per callback);
 *   2. block phase, if polling found nothing: one epoll_wait covering every
 *      handler fd, the ring's eventfd and the notifier, bounded by the next
 *      timer;
 *   3. dispatch the ready handlers, expired timers and queued messages;
 *   4. policy feedback: block_ns and which handlers had events.
 * While polling, wakeup sources that cost syscalls are muted (the ring's
 * eventfd is toggled off, the notifier is told not to write its eventfd)
 * and re-armed before blocking.
 *
 * Threading: everything here is called on the thread that owns the ctx,
 * except aio_ctx_notify(), aio_ctx_run() and aio_ctx_stats_read(), which
 * any thread may call.
 *
 * Naming: glibc owns aio_read/aio_write/aio_cancel/..., so every symbol here
 * has a second part (aio_ctx_, aio_handler_, aio_timer_, aio_sqe_).
 */
#ifndef POLLTGT_AIO_AIO_H
#define POLLTGT_AIO_AIO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

#include "policy/policy.h"
#include "util/compiler.h"

struct aio_ctx;
struct aio_handler;

/* --- Handlers --------------------------------------------------------- */

struct aio_handler_ops {
    /* The fd is readable (or the poll callback found work and poll_ready
     * is NULL).  Required. */
    void (*read)(void *opaque);
    /* The fd is writable; only called while aio_handler_want_write(h, true).
     * Optional. */
    void (*write)(void *opaque);
    /* Check for work without blocking and without side effects that lose
     * data; return true if there is work.  Called in a tight loop during
     * the poll phase, so it must be cheap.  Optional: a handler without it
     * is never polled, only waited on. */
    bool (*poll)(void *opaque);
    /* Run when poll() returned true.  Optional; defaults to read(). */
    void (*poll_ready)(void *opaque);
    /* Polling of this handler starts (true) or stops (false): mute or
     * re-arm notifications that would cost a wakeup.  Optional. */
    void (*poll_begin_end)(void *opaque, bool polling);
    /* Name for statistics (e.g. "ring", "notifier", "nbd 127.0.0.1:4711"). */
    const char *name;
};

/*
 * Register fd with the loop.  ops must outlive the handler.  Returns the
 * handler, or NULL with errno set (EEXIST if fd is already registered).
 */
struct aio_handler *aio_handler_add(struct aio_ctx *ctx, int fd,
                                    const struct aio_handler_ops *ops,
                                    void *opaque) ATTR_NONNULL(1, 3);

/* Ask for (or stop asking for) write readiness. Returns 0 or -errno. */
int aio_handler_want_write(struct aio_handler *h, bool want) ATTR_NONNULL(1);

/* Stop (or resume) watching for readability: a connection that cannot
 * take more requests pauses reading, so a level-triggered monitor does not
 * report the same bytes again and again.  Its poll callback should report
 * no work while paused.  Returns 0 or -errno. */
int aio_handler_want_read(struct aio_handler *h, bool want) ATTR_NONNULL(1);

/*
 * Unregister and free.  Safe from inside any callback of any handler,
 * including this one (freeing is deferred to the end of the iteration).
 * Does not close the fd.
 */
void aio_handler_del(struct aio_handler *h) ATTR_NONNULL(1);

/* Per-handler statistics, for the stats snapshot. */
struct aio_handler_stats {
    char name[64];
    int fd;
    bool in_poll_set; /* false while idle */
    int64_t window_ns; /* the policy's per-handler value */
    uint64_t events;
};

/* --- The context ------------------------------------------------------ */

/* Create a loop on the calling thread with the given tunables and an
 * io_uring of ring_entries SQEs.  Returns 0 or -errno. */
int aio_ctx_new(struct aio_ctx **ctxp, const struct poll_params *params,
                unsigned ring_entries) ATTR_NONNULL(1, 2);
/* Free the loop; every handler must have been deleted. */
void aio_ctx_free(struct aio_ctx *ctx);

/*
 * Run one iteration.  blocking = false: poll once and dispatch what is
 * ready, never wait.  Returns true if any callback, timer or message ran.
 */
bool aio_ctx_poll(struct aio_ctx *ctx, bool blocking) ATTR_NONNULL(1);

/* Wake the loop from any thread (cheap when it is polling). */
void aio_ctx_notify(struct aio_ctx *ctx) ATTR_NONNULL(1);

/*
 * Run fn(opaque) on ctx's thread, from any thread.  Messages from one
 * sender run in the order sent.  Returns 0 or -ENOMEM.
 */
int aio_ctx_run(struct aio_ctx *ctx, void (*fn)(void *), void *opaque)
    ATTR_NONNULL(1, 2);

/* Replace the tunables; resets the policy state as documented.  A max_ns
 * of POLICY_MAX_NS_AUTO takes the window aio_ctx_calibrate sized (QEMU's
 * 32768 until it has run).  Owning thread only (reach it with
 * aio_ctx_run). */
void aio_ctx_set_params(struct aio_ctx *ctx, const struct poll_params *params)
    ATTR_NONNULL(1, 2);
/* The tunables in effect: max_ns is the window in use, also under auto. */
const struct poll_params *aio_ctx_params(const struct aio_ctx *ctx)
    ATTR_NONNULL(1);
/* Whether max-ns is auto (the window follows the measured wake-up cost). */
bool aio_ctx_max_ns_auto(const struct aio_ctx *ctx) ATTR_NONNULL(1);

/*
 * Measure what a wake-up costs on this thread's CPU (aio_wakecost_measure)
 * and size the automatic window from it (policy_max_ns_auto; on failure,
 * QEMU's 32768).  Applies at once when max-ns is auto, resetting the policy
 * state as a change of tunables does.  Owning thread only, and not while it
 * serves clients: it stalls the loop for a few tens of milliseconds.
 * Returns 0, or the measurement's -errno (the fallback window is then in
 * use).
 */
int aio_ctx_calibrate(struct aio_ctx *ctx) ATTR_NONNULL(1);
/* The last measurement (all 0 before aio_ctx_calibrate). */
struct aio_wakecost;
const struct aio_wakecost *aio_ctx_wakecost(const struct aio_ctx *ctx)
    ATTR_NONNULL(1);

/* The time (CLOCK_MONOTONIC ns) at which this iteration found its work:
 * a timestamp for callbacks that costs no clock read.  Owning thread. */
int64_t aio_ctx_now(const struct aio_ctx *ctx) ATTR_NONNULL(1);

/* --- Timers ----------------------------------------------------------- */

struct aio_timer {
    int64_t deadline_ns; /* CLOCK_MONOTONIC; private to the loop */
    size_t heap_index;   /* private to the loop */
    void (*cb)(void *opaque);
    void *opaque;
};

void aio_timer_init(struct aio_timer *t, void (*cb)(void *), void *opaque)
    ATTR_NONNULL(1, 2);
/* Arm (or re-arm) t to fire once at deadline_ns (CLOCK_MONOTONIC). */
int aio_timer_mod(struct aio_ctx *ctx, struct aio_timer *t, int64_t deadline_ns)
    ATTR_NONNULL(1, 2);
/* Disarm; harmless if not armed. */
void aio_timer_del(struct aio_ctx *ctx, struct aio_timer *t) ATTR_NONNULL(1, 2);

/* --- Bottom halves ---------------------------------------------------- */

/*
 * Work deferred to the end of the current loop iteration, after every
 * ready handler, completion and timer of it has run (QEMU's bottom
 * halves): a connection that several completions of one iteration
 * answered sends all the replies with one system call.  Scheduling is
 * idempotent and costs no system call; owner thread only.  A bottom half
 * scheduled outside an iteration makes the next one not block.
 */
struct aio_bh {
    struct aio_bh *next; /* private to the loop */
    bool scheduled;      /* private to the loop */
    void (*cb)(void *opaque);
    void *opaque;
};

void aio_bh_init(struct aio_bh *bh, void (*cb)(void *), void *opaque)
    ATTR_NONNULL(1, 2);
void aio_bh_schedule(struct aio_ctx *ctx, struct aio_bh *bh) ATTR_NONNULL(1, 2);
/* Unschedule; harmless if not scheduled.  Call before freeing bh. */
void aio_bh_cancel(struct aio_ctx *ctx, struct aio_bh *bh) ATTR_NONNULL(1, 2);

/* --- Exit notifiers ---------------------------------------------------- */

/*
 * Run when the loop is freed, on its thread, before it checks that every
 * handler is gone: state a module created lazily on this thread (a
 * gateway backend's connection to its remote) is torn down here, on the
 * thread that owns its handlers and timers, while the loop still works.
 * Notifiers run newest first; owner thread only.
 */
struct aio_exit_notifier {
    struct aio_exit_notifier *next; /* private to the loop */
    void (*cb)(void *opaque);
    void *opaque;
};

void aio_exit_notifier_add(struct aio_ctx *ctx, struct aio_exit_notifier *n)
    ATTR_NONNULL(1, 2);
/* Unregister; harmless if n is not registered. */
void aio_exit_notifier_del(struct aio_ctx *ctx, struct aio_exit_notifier *n)
    ATTR_NONNULL(1, 2);

/* --- io_uring --------------------------------------------------------- */

/*
 * A request on the ctx's ring.  Embed it in the request object; done() runs
 * on the owning thread with cqe->res (>= 0, or -errno).  The loop retries
 * nothing itself: short transfers and -EAGAIN are the submitter's to requeue.
 */
struct aio_sqe_req {
    void (*done)(struct aio_sqe_req *req, int res);
};

/*
 * Get an SQE whose user_data points at req; fill it in and return.  It is
 * submitted before the loop next polls or blocks (or at once by
 * aio_ctx_submit).  Never returns NULL: a full SQ is submitted first.
 */
struct io_uring_sqe *aio_sqe_get(struct aio_ctx *ctx, struct aio_sqe_req *req)
    ATTR_NONNULL(1, 2);
/* Submit queued SQEs now.  Returns the number submitted or -errno. */
int aio_ctx_submit(struct aio_ctx *ctx) ATTR_NONNULL(1);
/* Requests submitted and not yet completed. */
unsigned aio_ctx_sqe_inflight(const struct aio_ctx *ctx) ATTR_NONNULL(1);

/* --- What a wake-up costs (wakecost.c) ---------------------------------- */

/*
 * The latency from a write on another CPU to the return of a blocking
 * epoll_wait, against the same while spinning on a non-blocking read
 * (medians), and their difference: what blocking costs this host.  This
 * is what `max-ns = auto` sizes the poll window from.
 */
struct aio_wakecost {
    int64_t blocked_ns;  /* median write -> epoll_wait return */
    int64_t spinning_ns; /* median write -> spinning read sees it */
    int64_t cost_ns;     /* blocked - spinning (0 if not positive) */
    unsigned samples;    /* per mode */
    int waker_cpu;       /* where the writer ran (-1: unpinned) */
};

/*
 * Measure on the calling thread (at its current CPU; pin it first), with a
 * short-lived waker thread on another CPU.  Takes a few tens of ms and
 * must not run while the thread serves clients.  Returns 0 or -errno.
 */
int aio_wakecost_measure(struct aio_wakecost *out) ATTR_NONNULL(1);

/* --- Statistics ------------------------------------------------------- */

#define AIO_STATS_HIST_BUCKETS 40 /* log2(ns) buckets: [0,1), [1,2), [2,4), ... */

/*
 * Loop counters.  The owning thread is their only writer; other threads
 * read them with aio_ctx_stats_read().  Fields are relaxed atomics, which
 * compile to plain loads and stores on x86 and ARM64: no lock, no fence on
 * the data path.
 */
struct aio_stats {
    _Atomic int64_t poll_ns;       /* current window */
    _Atomic uint64_t iterations;
    _Atomic uint64_t poll_hits;    /* work found while polling */
    _Atomic uint64_t poll_misses;  /* window expired, then blocked */
    _Atomic uint64_t blocking_waits; /* epoll_wait calls that could sleep */
    _Atomic uint64_t polling_ns;   /* time in the poll phase */
    _Atomic uint64_t blocked_ns;   /* time in the blocking wait */
    _Atomic uint64_t dispatch_ns;  /* time running callbacks */
    _Atomic uint64_t grows;
    _Atomic uint64_t shrinks;
    _Atomic uint64_t block_ns_hist[AIO_STATS_HIST_BUCKETS];
    _Atomic uint64_t block_ns_sum;
    _Atomic int64_t cpu_ns;        /* thread CPU time, sampled each second */
};

/* A plain copy of the counters, readable from any thread. */
struct aio_stats_snapshot {
    char policy[16];
    struct poll_params params;   /* max_ns: the window in effect */
    bool max_ns_auto;            /* ... sized from the wake-up cost */
    int64_t wake_blocked_ns, wake_spinning_ns, wake_cost_ns; /* 0: none */
    int64_t poll_ns;
    uint64_t iterations, poll_hits, poll_misses, blocking_waits;
    uint64_t polling_ns, blocked_ns, dispatch_ns, grows, shrinks;
    uint64_t block_ns_hist[AIO_STATS_HIST_BUCKETS];
    uint64_t block_ns_sum;
    int64_t cpu_ns;
};

/* Copy the counters; any thread.  Monotonic counters, no torn values. */
void aio_ctx_stats_read(struct aio_ctx *ctx, struct aio_stats_snapshot *out)
    ATTR_NONNULL(1, 2);

/*
 * Per-handler statistics, owning thread only (other threads reach it with
 * aio_ctx_run).  Fills up to max entries, returns the number of handlers.
 */
size_t aio_ctx_handler_stats(struct aio_ctx *ctx, struct aio_handler_stats *out,
                             size_t max) ATTR_NONNULL(1);

#endif /* POLLTGT_AIO_AIO_H */
