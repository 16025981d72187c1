/* SPDX-License-Identifier: MIT */
/*
 * Private to server/aio/: the layout of struct aio_ctx and struct
 * aio_handler, the fd-monitor ops, and the small interfaces between aio.c
 * (the iteration), handler.c (adding and deleting handlers), ctx.c (the
 * context's life, parameters and stats snapshot), fdmon-epoll.c (the
 * blocking wait), uring.c (the ring), notifier.c + msgq.c (cross-thread
 * wake-ups and messages) and timer.c.
 *
 * Design: everything here is owned by one I/O thread and touched without
 * locks; the only fields other threads touch are atomics (the notifier's
 * flags, the message-queue head, the published parameters and the stats),
 * each documented where it is declared.  The poll set is a plain array of
 * handler pointers with a parallel array of struct policy_handler pointers,
 * so the poll phase walks contiguous memory and policy_update() gets its
 * argument without a copy.
 */
#ifndef POLLTGT_AIO_AIO_INTERNAL_H
#define POLLTGT_AIO_AIO_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <sys/epoll.h>

#include <liburing.h>

#include "aio/aio.h"
#include "policy/policy.h"
#include "util/clock.h"
#include "util/compiler.h"

#define AIO_CTX_MAGIC     UINT32_C(0x41494f43) /* "AIOC" */
#define AIO_HANDLER_MAGIC UINT32_C(0x41494f48) /* "AIOH" */

/* Interest of a handler, as the fd monitor is asked for it. */
#define AIO_EV_READ  (1u << 0)
#define AIO_EV_WRITE (1u << 1)

/* What an iteration found for a handler (struct aio_handler.ready). */
#define AIO_READY_READ  (1u << 0) /* the fd monitor reported it readable */
#define AIO_READY_WRITE (1u << 1) /* the fd monitor reported it writable */
#define AIO_READY_POLL  (1u << 2) /* its poll callback found work */

/* A timer that is not in the heap. */
#define AIO_TIMER_UNARMED SIZE_MAX

struct aio_handler {
    uint32_t magic;
    int fd;
    struct aio_ctx *ctx;
    const struct aio_handler_ops *ops;
    void *opaque;

    uint32_t events;  /* AIO_EV_* currently registered with the fd monitor */
    bool read_paused; /* aio_handler_want_read(h, false) */
    unsigned ready;   /* AIO_READY_* found in this iteration */
    bool deleted;     /* aio_handler_del ran; never dispatched again */
    bool internal;    /* the ring or the notifier: not user progress */

    /* Poll-set membership: poll_set[poll_index] == this handler. */
    bool in_poll_set;
    size_t poll_index;
    int64_t last_event_ns; /* the `now` of the last iteration with an event */
    uint64_t nevents;      /* iterations in which it had an event */
    struct policy_handler ph;

    struct aio_handler *ready_next;   /* this iteration's ready list */
    struct aio_handler *prev, *next;  /* every live handler */
    struct aio_handler *deleted_next; /* freed at the end of the iteration */
};

/*
 * An fd monitor: how the block phase waits for the handlers' fds.  Every
 * field is called on the thread that owns the ctx.  Modelled on QEMU's
 * FDMonOps (include/block/aio.h); epoll is the only one so far, an
 * io_uring POLL_ADD monitor can be added behind the same fields.
 */
struct fdmon_ops {
    const char *name;

    /*
     * Set up the monitor's state in ctx (called once from aio_ctx_new,
     * before any handler exists).  Returns 0 or -errno.
     */
    int (*init)(struct aio_ctx *ctx);

    /* Release what init() set up; every handler has been removed. */
    void (*fini)(struct aio_ctx *ctx);

    /*
     * Change what h is watched for from h->events to new_events (AIO_EV_*;
     * 0 stops watching h, h->events == 0 means it is not watched yet).  The
     * caller stores new_events in h->events when this returns 0.  h stays
     * valid until it is removed with new_events == 0, so a monitor may keep
     * the pointer (epoll keeps it in epoll_data.ptr for an O(1) lookup).
     * Returns 0 or -errno (-EEXIST: the fd is already watched; -EPERM: the
     * fd cannot be watched, e.g. a regular file).
     */
    int (*update)(struct aio_ctx *ctx, struct aio_handler *h,
                  uint32_t new_events);

    /*
     * Wait up to timeout_ns (0: do not sleep; -1: no limit) for the fds,
     * and call aio_handler_mark_ready() on each handler that is ready
     * (AIO_READY_READ / AIO_READY_WRITE; an error or hang-up counts as
     * readable).  Never sleeps less than timeout_ns unless an fd is ready or
     * a signal arrives, so timers do not fire early.  Returns the number of
     * handlers marked (0 on timeout or when interrupted by a signal) or
     * -errno.
     */
    int (*wait)(struct aio_ctx *ctx, int64_t timeout_ns);

    /*
     * true if wait() must be called in this iteration even though the poll
     * phase already found work (a monitor that submits its own requests in
     * wait() would say so).  epoll: always false.
     */
    bool (*need_wait)(struct aio_ctx *ctx);
};

extern const struct fdmon_ops fdmon_epoll_ops;

/*
 * The notifier: an eventfd that other threads write to wake the owner, and
 * two flags that let them skip the write (a system call on both sides)
 * whenever the owner is sure to look at the flags before it sleeps, as
 * QEMU's notify_me and SPDK's notify_cpuset do.
 */
struct notifier {
    int efd;
    /*
     * true while the owner may sleep in the fd monitor without checking
     * `pending` first: senders must write the eventfd.  false while the
     * notifier is in the poll set of a polling loop (its poll callback
     * reads `pending`).  Written by the owner only.
     */
    _Atomic bool armed;
    /* A wake-up was asked for since the owner last acknowledged one. */
    _Atomic bool pending;
};

int notifier_init(struct notifier *n) ATTR_NONNULL(1);
void notifier_fini(struct notifier *n) ATTR_NONNULL(1);
/* Any thread. */
void notifier_notify(struct notifier *n) ATTR_NONNULL(1);
/* Owner only. */
int notifier_attach(struct aio_ctx *ctx) ATTR_NONNULL(1);

/* One queued aio_ctx_run() call. */
struct msgq_msg {
    struct msgq_msg *next;
    void (*fn)(void *);
    void *opaque;
};

/*
 * Multi-producer, single-consumer queue: producers push onto a lock-free
 * stack, the owner takes the whole stack with one exchange and reverses it,
 * which restores sending order (per sender and overall).
 */
struct msgq {
    _Atomic(struct msgq_msg *) head;
};

/* Any thread.  Returns 0 or -ENOMEM. */
int msgq_push(struct msgq *q, void (*fn)(void *), void *opaque)
    ATTR_NONNULL(1, 2);
/* Any thread: an atomic load, no system call. */
bool msgq_empty(struct msgq *q) ATTR_NONNULL(1);
/* Owner: run and free everything queued; returns how many ran. */
size_t msgq_run(struct msgq *q) ATTR_NONNULL(1);
/* Owner, at teardown: free what is left without running it. */
void msgq_fini(struct msgq *q) ATTR_NONNULL(1);

/* The per-ctx ring (uring.c). */
struct uring {
    struct io_uring ring;
    bool ring_ok;          /* io_uring_queue_init succeeded */
    int efd;               /* registered with io_uring_register_eventfd */
    unsigned inflight;     /* SQEs handed out and not yet completed */
    bool logged_error;     /* one log line per ctx for a failing submit */
    struct aio_handler *h;
};

int uring_init(struct aio_ctx *ctx, unsigned entries) ATTR_NONNULL(1);
void uring_fini(struct aio_ctx *ctx) ATTR_NONNULL(1);
/* Submit queued SQEs if there are any (start of every iteration). */
void uring_submit_pending(struct aio_ctx *ctx) ATTR_NONNULL(1);

/* The timer heap (timer.c). */
struct aio_timer_heap {
    struct aio_timer **v;
    size_t n, cap;
};

/* Earliest deadline, INT64_MAX if no timer is armed. */
int64_t aio_timer_next_deadline(const struct aio_ctx *ctx) ATTR_NONNULL(1);
/* Run the timers due at now (at most as many as were armed on entry, so a
 * timer that re-arms itself in the past cannot spin).  Returns how many. */
size_t aio_timer_run_expired(struct aio_ctx *ctx, int64_t now)
    ATTR_NONNULL(1);
void aio_timer_heap_fini(struct aio_ctx *ctx) ATTR_NONNULL(1);

struct aio_ctx {
    uint32_t magic;
    pthread_t owner;
    bool in_iteration;  /* inside aio_ctx_poll: frees are deferred */
    struct aio_bh *bh_head, **bh_tail; /* scheduled bottom halves */
    struct aio_exit_notifier *exit_head; /* run by aio_ctx_free */
    bool poll_started;  /* poll_begin_end(true) ran on the poll set */
    bool progress;      /* a user callback, timer or message ran */
    bool params_changed; /* aio_ctx_set_params ran in this iteration */
    int64_t now;        /* this iteration's time, for event timestamps */

    /* Handlers. */
    struct aio_handler *handlers;  /* every live handler */
    size_t nhandlers;              /* live handlers, internal included */
    size_t nuser;                  /* live handlers, internal excluded */
    struct aio_handler **poll_set;
    struct policy_handler **poll_ph; /* &poll_set[i]->ph */
    size_t poll_n, poll_cap;
    size_t npollable;              /* live handlers with a poll callback */
    size_t nwant_write;            /* live handlers asking for write */
    struct aio_handler *ready_head, *ready_tail;
    struct aio_handler *deleted;
    int64_t idle_ns;               /* params.idle_timeout_ms in ns */
    int64_t idle_check_interval_ns;
    int64_t next_idle_check_ns;
    int64_t next_fd_check_ns;      /* see aio_check_waited() in aio.c */

    /* The fd monitor. */
    const struct fdmon_ops *fdmon;
    int epfd;
    struct epoll_event *epoll_events;
    int epoll_max;
    bool epoll_no_pwait2;
    bool logged_wait_error;

    struct aio_timer_heap timers;
    struct uring uring;
    struct notifier notifier;
    struct msgq msgq;
    struct aio_handler *notifier_h;

    /* The policy: params and pstate are the owner's.  params.max_ns is
     * the window in effect: with max-ns = auto (max_ns_auto), the one
     * sized from the last wake-up measurement (auto_max_ns). */
    struct poll_params params;
    struct policy_state pstate;
    bool max_ns_auto;
    int64_t auto_max_ns;
    struct aio_wakecost wakecost;  /* the last measurement (0s: none) */

    /*
     * The params as other threads read them (aio_ctx_stats_read): a
     * seqlock over relaxed atomics, written by the owner only.
     */
    _Atomic uint32_t pub_seq;
    _Atomic(const struct policy_ops *) pub_policy;
    _Atomic int64_t pub_max_ns, pub_grow, pub_shrink, pub_weight;
    _Atomic int64_t pub_idle_timeout_ms;
    _Atomic bool pub_max_ns_auto;
    _Atomic int64_t pub_wake_blocked_ns, pub_wake_spinning_ns, pub_wake_cost_ns;

    struct aio_stats stats;
    int64_t next_cpu_sample_ns;
};

/* The thread CPU time is sampled this often (a clock_gettime each);
 * aio_ctx_new takes the first sample, aio_ctx_poll the others. */
#define AIO_CPU_SAMPLE_NS NS_PER_SEC

/*
 * Statistics helpers, shared by aio.c (every iteration) and ctx.c (when
 * parameters change); static inline so the iteration has them inlined.
 */
/* The owner is the only writer: a relaxed load and store, no locked RMW. */
static inline void
aio_stat_add(_Atomic uint64_t *counter, uint64_t v)
{
    atomic_store_explicit(counter,
                          atomic_load_explicit(counter, memory_order_relaxed)
                              + v,
                          memory_order_relaxed);
}

static inline void
aio_stat_set64(_Atomic uint64_t *counter, uint64_t v)
{
    atomic_store_explicit(counter, v, memory_order_relaxed);
}

static inline void
aio_stats_policy(struct aio_ctx *ctx)
{
    atomic_store_explicit(&ctx->stats.poll_ns, ctx->pstate.ns,
                          memory_order_relaxed);
    aio_stat_set64(&ctx->stats.grows, ctx->pstate.grows);
    aio_stat_set64(&ctx->stats.shrinks, ctx->pstate.shrinks);
}

/*
 * The poll set (aio.c).  aio_poll_set_add mutes h's wake-ups if a poll
 * phase is running; aio_poll_set_remove, with rearm, gives them back (the
 * handler stays alive), without, leaves them (it is being deleted).
 */
void aio_poll_set_add(struct aio_ctx *ctx, struct aio_handler *h)
    ATTR_NONNULL(1, 2);
void aio_poll_set_remove(struct aio_ctx *ctx, struct aio_handler *h,
                         bool rearm) ATTR_NONNULL(1, 2);

/* Free a deleted handler (handler.c deletes, aio.c frees the deferred
 * ones at the end of an iteration). */
static inline void
aio_handler_free(struct aio_handler *h)
{
    h->magic = 0;
    free(h);
}

/*
 * Record that h is ready (AIO_READY_* bits) in this iteration; called by the
 * fd monitor and the poll phase.  Ignores deleted handlers.
 */
void aio_handler_mark_ready(struct aio_handler *h, unsigned bits)
    ATTR_NONNULL(1);

/*
 * Add a handler that belongs to the loop itself (ring, notifier): like
 * aio_handler_add, but it does not count as user progress and is not
 * required to be deleted before aio_ctx_free.
 */
struct aio_handler *aio_handler_add_internal(struct aio_ctx *ctx, int fd,
                                             const struct aio_handler_ops *ops,
                                             void *opaque) ATTR_NONNULL(1, 3);

#endif /* POLLTGT_AIO_AIO_INTERNAL_H */
