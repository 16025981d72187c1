/* SPDX-License-Identifier: MIT */
/*
 * One iteration of the I/O-thread loop: poll window -> blocking wait ->
 * dispatch -> policy feedback, in the shape of QEMU's aio_poll()
 * (util/aio-posix.c), with the policy kept outside the loop (policy/).
 *
 * Design choices:
 * - The clock is read once at the start of an iteration, once per pass over
 *   the poll set, once after the blocking wait and once after dispatch.
 *   The `now` of the moment work was found stamps every event of the
 *   iteration (no clock read per event), and is what idle detection uses.
 * - Sources that would cost a system call to signal us (the ring's eventfd,
 *   the notifier's eventfd) are muted through poll_begin_end(true) when a
 *   poll phase starts and stay muted while polling keeps finding work; they
 *   are re-armed only before a wait that may sleep, followed by one last
 *   pass over the poll callbacks so an event that arrived while they were
 *   muted is not slept through (QEMU's poll_set_started).  A handler that
 *   leaves the poll set is re-armed at once, one that joins is muted if a
 *   poll phase is running: "armed unless polled".
 * - Handlers without an event for idle-timeout-ms leave the poll set (their
 *   fd stays in the fd monitor) and rejoin on their next event, whatever the
 *   fd monitor.  The check walks the poll set at most every
 *   min(idle timeout / 2, 100 ms) of loop time.
 * - While the poll phase runs, handlers outside the poll set (idle, or
 *   without a poll callback) and write readiness are only visible to the fd
 *   monitor, so while polling (long windows, or a poll set that keeps
 *   finding work) a zero-timeout wait checks them every AIO_FD_CHECK_NS;
 *   without that, `busy` would starve them.
 * - aio_handler_del() unlinks at once and frees at the end of the
 *   iteration, so a handler can delete itself or any other handler from a
 *   callback; the deleted flag keeps it from being dispatched.
 * - Nothing on the iteration path allocates: the poll-set arrays are sized
 *   when a handler with a poll callback is added.
 * - Stats are relaxed atomic stores by the owner.  cpu_ns is sampled with
 *   clock_thread_cpu_ns() when the loop is created and then at most once a
 *   second of loop time, at the end of an iteration; a reader gets a value
 *   up to a second (or one long sleep) old.  poll_hits counts iterations
 *   whose poll phase found work, poll_misses blocking iterations whose poll
 *   phase ended without work (window expired, timer due, or every handler
 *   went idle).
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aio/aio-internal.h"
#include "log.h"
#include "util/clock.h"

/*
 * How often, at most, a long poll phase looks at the fds of handlers outside
 * the poll set with a zero-timeout wait.  50 us keeps the cost of that
 * system call (about 1 us) near 2% of a busy-polling thread, and is far
 * below the latency of the idle or poll-less fds it serves.
 */
#define AIO_FD_CHECK_NS (50 * NS_PER_US)

/* Idle checks happen at most this often (QEMU checks every iteration). */
#define AIO_IDLE_CHECK_MAX_NS (100 * NS_PER_MS)

/* The thread CPU time is sampled this often (a clock_gettime each). */
#define AIO_CPU_SAMPLE_NS NS_PER_SEC

/* --- Statistics helpers --------------------------------------------- */

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

/* [0,1) -> 0, [1,2) -> 1, [2,4) -> 2, ... capped at the last bucket. */
static unsigned
aio_hist_bucket(int64_t ns)
{
    unsigned b;

    if (ns <= 0) {
        return 0;
    }
    b = 64 - (unsigned)__builtin_clzll((unsigned long long)ns);
    return b < AIO_STATS_HIST_BUCKETS ? b : AIO_STATS_HIST_BUCKETS - 1;
}

static void
aio_params_publish(struct aio_ctx *ctx)
{
    uint32_t seq = atomic_load_explicit(&ctx->pub_seq, memory_order_relaxed);

    atomic_store_explicit(&ctx->pub_seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&ctx->pub_policy, ctx->params.policy,
                          memory_order_relaxed);
    atomic_store_explicit(&ctx->pub_max_ns, ctx->params.max_ns,
                          memory_order_relaxed);
    atomic_store_explicit(&ctx->pub_grow, ctx->params.grow,
                          memory_order_relaxed);
    atomic_store_explicit(&ctx->pub_shrink, ctx->params.shrink,
                          memory_order_relaxed);
    atomic_store_explicit(&ctx->pub_weight, ctx->params.weight,
                          memory_order_relaxed);
    atomic_store_explicit(&ctx->pub_idle_timeout_ms,
                          ctx->params.idle_timeout_ms, memory_order_relaxed);
    atomic_store_explicit(&ctx->pub_max_ns_auto, ctx->max_ns_auto,
                          memory_order_relaxed);
    atomic_store_explicit(&ctx->pub_wake_blocked_ns, ctx->wakecost.blocked_ns,
                          memory_order_relaxed);
    atomic_store_explicit(&ctx->pub_wake_spinning_ns,
                          ctx->wakecost.spinning_ns, memory_order_relaxed);
    atomic_store_explicit(&ctx->pub_wake_cost_ns, ctx->wakecost.cost_ns,
                          memory_order_relaxed);
    atomic_store_explicit(&ctx->pub_seq, seq + 2, memory_order_release);
}

static void
aio_stats_policy(struct aio_ctx *ctx)
{
    atomic_store_explicit(&ctx->stats.poll_ns, ctx->pstate.ns,
                          memory_order_relaxed);
    aio_stat_set64(&ctx->stats.grows, ctx->pstate.grows);
    aio_stat_set64(&ctx->stats.shrinks, ctx->pstate.shrinks);
}

/* --- The poll set ----------------------------------------------------- */

static void
aio_poll_set_add(struct aio_ctx *ctx, struct aio_handler *h)
{
    assert(!h->in_poll_set && ctx->poll_n < ctx->poll_cap);
    h->ph.ns = 0;
    h->ph.had_event = false;
    h->poll_index = ctx->poll_n;
    h->in_poll_set = true;
    ctx->poll_set[ctx->poll_n] = h;
    ctx->poll_ph[ctx->poll_n] = &h->ph;
    ctx->poll_n++;
    if (ctx->poll_started && h->ops->poll_begin_end) {
        h->ops->poll_begin_end(h->opaque, true);
    }
}

/* rearm: the handler stays alive and must get its notifications back. */
static void
aio_poll_set_remove(struct aio_ctx *ctx, struct aio_handler *h, bool rearm)
{
    size_t i = h->poll_index;
    size_t last = ctx->poll_n - 1;

    assert(h->in_poll_set && ctx->poll_set[i] == h);
    if (i != last) {
        ctx->poll_set[i] = ctx->poll_set[last];
        ctx->poll_ph[i] = ctx->poll_ph[last];
        ctx->poll_set[i]->poll_index = i;
    }
    ctx->poll_n--;
    h->in_poll_set = false;
    h->ph.ns = 0;
    h->ph.had_event = false;
    if (rearm && ctx->poll_started && h->ops->poll_begin_end) {
        h->ops->poll_begin_end(h->opaque, false);
    }
}

static void
aio_poll_set_started(struct aio_ctx *ctx, bool started)
{
    if (ctx->poll_started == started) {
        return;
    }
    ctx->poll_started = started;
    for (size_t i = 0; i < ctx->poll_n; i++) {
        struct aio_handler *h = ctx->poll_set[i];

        if (h->ops->poll_begin_end) {
            h->ops->poll_begin_end(h->opaque, started);
        }
    }
}

/* One pass over the poll callbacks; marks those that found work. */
static size_t
aio_poll_pass(struct aio_ctx *ctx)
{
    size_t found = 0;

    for (size_t i = 0; i < ctx->poll_n; i++) {
        struct aio_handler *h = ctx->poll_set[i];

        if (h->ops->poll(h->opaque)) {
            aio_handler_mark_ready(h, AIO_READY_POLL);
            found++;
        }
    }
    return found;
}

/* Walk from the top so that the swap-remove only moves checked entries. */
static void
aio_remove_idle(struct aio_ctx *ctx, int64_t now)
{
    for (size_t i = ctx->poll_n; i-- > 0;) {
        struct aio_handler *h = ctx->poll_set[i];

        if (now - h->last_event_ns > ctx->idle_ns) {
            aio_poll_set_remove(ctx, h, true);
        }
    }
    ctx->next_idle_check_ns = now + ctx->idle_check_interval_ns;
}

/*
 * During a poll phase, look at the fds that only the fd monitor can see
 * (handlers outside the poll set), at most every AIO_FD_CHECK_NS.
 */
static size_t
aio_check_waited(struct aio_ctx *ctx, int64_t now)
{
    int r;

    /* Write readiness is only ever reported by the fd monitor. */
    if ((ctx->poll_n == ctx->nhandlers && ctx->nwant_write == 0)
        || now < ctx->next_fd_check_ns) {
        return 0;
    }
    ctx->next_fd_check_ns = now + AIO_FD_CHECK_NS;
    r = ctx->fdmon->wait(ctx, 0);
    return r > 0 ? (size_t)r : 0;
}

/* --- Handlers --------------------------------------------------------- */

void
aio_handler_mark_ready(struct aio_handler *h, unsigned bits)
{
    struct aio_ctx *ctx = h->ctx;

    if (h->deleted) {
        return;
    }
    if (h->ready == 0) {
        h->ready_next = NULL;
        if (ctx->ready_tail) {
            ctx->ready_tail->ready_next = h;
        } else {
            ctx->ready_head = h;
        }
        ctx->ready_tail = h;
    }
    h->ready |= bits;
}

static struct aio_handler *
aio_handler_new(struct aio_ctx *ctx, int fd, const struct aio_handler_ops *ops,
                void *opaque, bool internal)
{
    struct aio_handler *h;
    int r;

    assert(ctx->magic == AIO_CTX_MAGIC);
    if (fd < 0 || ops->read == NULL) {
        errno = EINVAL;
        return NULL;
    }
    /* Size the poll-set arrays now so that joining never allocates. */
    if (ops->poll && ctx->npollable + 1 > ctx->poll_cap) {
        size_t cap = ctx->poll_cap ? ctx->poll_cap * 2 : 16;
        struct aio_handler **set;
        struct policy_handler **ph;

        set = realloc(ctx->poll_set, cap * sizeof *set);
        if (set == NULL) {
            return NULL;
        }
        ctx->poll_set = set;
        ph = realloc(ctx->poll_ph, cap * sizeof *ph);
        if (ph == NULL) {
            return NULL;
        }
        ctx->poll_ph = ph;
        ctx->poll_cap = cap;
    }
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        return NULL;
    }
    h->magic = AIO_HANDLER_MAGIC;
    h->fd = fd;
    h->ctx = ctx;
    h->ops = ops;
    h->opaque = opaque;
    h->internal = internal;
    r = ctx->fdmon->update(ctx, h, AIO_EV_READ);
    if (r < 0) {
        free(h);
        errno = -r;
        return NULL;
    }
    h->events = AIO_EV_READ;

    h->next = ctx->handlers;
    if (ctx->handlers) {
        ctx->handlers->prev = h;
    }
    ctx->handlers = h;
    ctx->nhandlers++;
    if (!internal) {
        ctx->nuser++;
    }
    if (ops->poll) {
        ctx->npollable++;
        /* Setup path: one clock read, so a new handler is not idle at once. */
        h->last_event_ns = clock_now_ns();
        aio_poll_set_add(ctx, h);
    }
    return h;
}

struct aio_handler *
aio_handler_add(struct aio_ctx *ctx, int fd, const struct aio_handler_ops *ops,
                void *opaque)
{
    return aio_handler_new(ctx, fd, ops, opaque, false);
}

struct aio_handler *
aio_handler_add_internal(struct aio_ctx *ctx, int fd,
                         const struct aio_handler_ops *ops, void *opaque)
{
    return aio_handler_new(ctx, fd, ops, opaque, true);
}

/* Change what the fd monitor watches h for; events 0 unregisters it
 * (a paused reader without pending writes) until the next change. */
static int
aio_handler_set_events(struct aio_handler *h, uint32_t events)
{
    bool had_write = h->events & AIO_EV_WRITE;
    int r;

    assert(h->magic == AIO_HANDLER_MAGIC && !h->deleted);
    if (events == h->events) {
        return 0;
    }
    r = h->ctx->fdmon->update(h->ctx, h, events);
    if (r < 0) {
        return r;
    }
    h->events = events;
    if ((events & AIO_EV_WRITE) && !had_write) {
        h->ctx->nwant_write++;
    } else if (!(events & AIO_EV_WRITE) && had_write) {
        h->ctx->nwant_write--;
    }
    return 0;
}

int
aio_handler_want_write(struct aio_handler *h, bool want)
{
    uint32_t events = (h->read_paused ? 0 : AIO_EV_READ) |
                      (want ? AIO_EV_WRITE : 0);

    return aio_handler_set_events(h, events);
}

int
aio_handler_want_read(struct aio_handler *h, bool want)
{
    uint32_t events = (h->events & AIO_EV_WRITE) | (want ? AIO_EV_READ : 0);

    h->read_paused = !want;
    return aio_handler_set_events(h, events);
}

static void
aio_handler_free(struct aio_handler *h)
{
    h->magic = 0;
    free(h);
}

void
aio_handler_del(struct aio_handler *h)
{
    struct aio_ctx *ctx = h->ctx;

    assert(h->magic == AIO_HANDLER_MAGIC && !h->deleted);
    if (h->events & AIO_EV_WRITE) {
        ctx->nwant_write--;
    }
    if (h->events) {
        /* ENOENT/EBADF only if the caller closed the fd first: harmless. */
        (void)ctx->fdmon->update(ctx, h, 0);
        h->events = 0;
    }
    if (h->in_poll_set) {
        aio_poll_set_remove(ctx, h, false);
    }
    if (h->ops->poll) {
        ctx->npollable--;
    }
    if (h->prev) {
        h->prev->next = h->next;
    } else {
        ctx->handlers = h->next;
    }
    if (h->next) {
        h->next->prev = h->prev;
    }
    ctx->nhandlers--;
    if (!h->internal) {
        ctx->nuser--;
    }
    h->deleted = true;
    if (ctx->in_iteration) {
        /* It may be on the ready list or running: free after dispatch. */
        h->deleted_next = ctx->deleted;
        ctx->deleted = h;
    } else {
        aio_handler_free(h);
    }
}

size_t
aio_ctx_handler_stats(struct aio_ctx *ctx, struct aio_handler_stats *out,
                      size_t max)
{
    size_t i = 0;

    for (struct aio_handler *h = ctx->handlers; h; h = h->next, i++) {
        if (i < max && out) {
            struct aio_handler_stats *s = &out[i];

            snprintf(s->name, sizeof s->name, "%s",
                     h->ops->name ? h->ops->name : "");
            s->fd = h->fd;
            s->in_poll_set = h->in_poll_set;
            s->window_ns = h->ph.ns;
            s->events = h->nevents;
        }
    }
    return i;
}

/* --- The context ------------------------------------------------------ */

static void
aio_ctx_apply_params(struct aio_ctx *ctx, const struct poll_params *params)
{
    ctx->params = *params;
    ctx->max_ns_auto = params->max_ns == POLICY_MAX_NS_AUTO;
    if (ctx->max_ns_auto) {
        ctx->params.max_ns = ctx->auto_max_ns;
    }
    ctx->idle_ns = params->idle_timeout_ms * NS_PER_MS;
    ctx->idle_check_interval_ns = ctx->idle_ns / 2;
    if (ctx->idle_check_interval_ns > AIO_IDLE_CHECK_MAX_NS) {
        ctx->idle_check_interval_ns = AIO_IDLE_CHECK_MAX_NS;
    }
    ctx->next_idle_check_ns = clock_now_ns() + ctx->idle_check_interval_ns;
    policy_reset(&ctx->pstate, &ctx->params, ctx->poll_ph, ctx->poll_n);
    /* If this runs inside an iteration (a message), that iteration's
     * block_ns belongs to the old tunables: do not feed it to the new. */
    ctx->params_changed = true;
    aio_params_publish(ctx);
    aio_stats_policy(ctx);
}

int
aio_ctx_new(struct aio_ctx **ctxp, const struct poll_params *params,
            unsigned ring_entries)
{
    struct aio_ctx *ctx;
    int r;

    *ctxp = NULL;
    if (params->policy == NULL || params->idle_timeout_ms <= 0
        || (params->max_ns < 0 && params->max_ns != POLICY_MAX_NS_AUTO)) {
        return -EINVAL;
    }
    ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        return -ENOMEM;
    }
    ctx->magic = AIO_CTX_MAGIC;
    ctx->owner = pthread_self();
    ctx->epfd = -1;
    ctx->notifier.efd = -1;
    ctx->uring.efd = -1;
    ctx->fdmon = &fdmon_epoll_ops;
    ctx->now = clock_now_ns();
    /* Until aio_ctx_calibrate measures this host. */
    ctx->auto_max_ns = policy_max_ns_auto(-1);
    aio_ctx_apply_params(ctx, params);

    r = ctx->fdmon->init(ctx);
    if (r < 0) {
        goto err_free;
    }
    r = notifier_attach(ctx);
    if (r < 0) {
        goto err_fdmon;
    }
    r = uring_init(ctx, ring_entries);
    if (r < 0) {
        goto err_notifier;
    }
    atomic_store_explicit(&ctx->stats.cpu_ns, clock_thread_cpu_ns(),
                          memory_order_relaxed);
    ctx->next_cpu_sample_ns = ctx->now + AIO_CPU_SAMPLE_NS;
    *ctxp = ctx;
    return 0;

err_notifier:
    aio_handler_del(ctx->notifier_h);
    notifier_fini(&ctx->notifier);
err_fdmon:
    ctx->fdmon->fini(ctx);
err_free:
    free(ctx->poll_set);
    free(ctx->poll_ph);
    free(ctx);
    return r;
}

void
aio_ctx_free(struct aio_ctx *ctx)
{
    if (ctx == NULL) {
        return;
    }
    assert(ctx->magic == AIO_CTX_MAGIC && !ctx->in_iteration);
    while (ctx->exit_head) {
        struct aio_exit_notifier *n = ctx->exit_head;

        ctx->exit_head = n->next;
        n->next = NULL;
        n->cb(n->opaque);
    }
    assert(ctx->nuser == 0);
    uring_fini(ctx);
    aio_handler_del(ctx->notifier_h);
    notifier_fini(&ctx->notifier);
    msgq_fini(&ctx->msgq);
    while (ctx->handlers) {
        aio_handler_del(ctx->handlers); /* only if the assert is compiled out */
    }
    ctx->fdmon->fini(ctx);
    aio_timer_heap_fini(ctx);
    free(ctx->poll_set);
    free(ctx->poll_ph);
    ctx->magic = 0;
    free(ctx);
}

void
aio_exit_notifier_add(struct aio_ctx *ctx, struct aio_exit_notifier *n)
{
    assert(ctx->magic == AIO_CTX_MAGIC);
    n->next = ctx->exit_head;
    ctx->exit_head = n;
}

void
aio_exit_notifier_del(struct aio_ctx *ctx, struct aio_exit_notifier *n)
{
    for (struct aio_exit_notifier **p = &ctx->exit_head; *p; p = &(*p)->next) {
        if (*p == n) {
            *p = n->next;
            n->next = NULL;
            return;
        }
    }
}

void
aio_ctx_set_params(struct aio_ctx *ctx, const struct poll_params *params)
{
    assert(ctx->magic == AIO_CTX_MAGIC);
    assert(params->policy != NULL && params->idle_timeout_ms > 0);
    aio_ctx_apply_params(ctx, params);
}

const struct poll_params *
aio_ctx_params(const struct aio_ctx *ctx)
{
    return &ctx->params;
}

int
aio_ctx_calibrate(struct aio_ctx *ctx)
{
    struct aio_wakecost wc;
    struct poll_params configured = ctx->params;
    int r;

    assert(ctx->magic == AIO_CTX_MAGIC);
    r = aio_wakecost_measure(&wc);
    ctx->wakecost = r == 0 ? wc : (struct aio_wakecost){ .waker_cpu = -1 };
    ctx->auto_max_ns = policy_max_ns_auto(r == 0 ? wc.cost_ns : -1);
    if (ctx->max_ns_auto) {
        configured.max_ns = POLICY_MAX_NS_AUTO;
    }
    /* Re-applied even when fixed: publishes the new measurement. */
    aio_ctx_apply_params(ctx, &configured);
    return r;
}

const struct aio_wakecost *
aio_ctx_wakecost(const struct aio_ctx *ctx)
{
    return &ctx->wakecost;
}

bool
aio_ctx_max_ns_auto(const struct aio_ctx *ctx)
{
    return ctx->max_ns_auto;
}

void
aio_ctx_stats_read(struct aio_ctx *ctx, struct aio_stats_snapshot *out)
{
    const struct aio_stats *s = &ctx->stats;
    const struct policy_ops *policy;
    uint32_t seq1, seq2;

    assert(ctx->magic == AIO_CTX_MAGIC);
    memset(out, 0, sizeof *out);
    do {
        seq1 = atomic_load_explicit(&ctx->pub_seq, memory_order_acquire);
        policy = atomic_load_explicit(&ctx->pub_policy, memory_order_relaxed);
        out->params.max_ns = atomic_load_explicit(&ctx->pub_max_ns,
                                                  memory_order_relaxed);
        out->params.grow = atomic_load_explicit(&ctx->pub_grow,
                                                memory_order_relaxed);
        out->params.shrink = atomic_load_explicit(&ctx->pub_shrink,
                                                  memory_order_relaxed);
        out->params.weight = atomic_load_explicit(&ctx->pub_weight,
                                                  memory_order_relaxed);
        out->params.idle_timeout_ms = atomic_load_explicit(
            &ctx->pub_idle_timeout_ms, memory_order_relaxed);
        out->max_ns_auto = atomic_load_explicit(&ctx->pub_max_ns_auto,
                                                memory_order_relaxed);
        out->wake_blocked_ns = atomic_load_explicit(&ctx->pub_wake_blocked_ns,
                                                    memory_order_relaxed);
        out->wake_spinning_ns = atomic_load_explicit(
            &ctx->pub_wake_spinning_ns, memory_order_relaxed);
        out->wake_cost_ns = atomic_load_explicit(&ctx->pub_wake_cost_ns,
                                                 memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        seq2 = atomic_load_explicit(&ctx->pub_seq, memory_order_relaxed);
    } while ((seq1 & 1) || seq1 != seq2);
    out->params.policy = policy;
    snprintf(out->policy, sizeof out->policy, "%s", policy->name);

#define AIO_STAT_LOAD(f) atomic_load_explicit(&s->f, memory_order_relaxed)
    out->poll_ns = AIO_STAT_LOAD(poll_ns);
    out->iterations = AIO_STAT_LOAD(iterations);
    out->poll_hits = AIO_STAT_LOAD(poll_hits);
    out->poll_misses = AIO_STAT_LOAD(poll_misses);
    out->blocking_waits = AIO_STAT_LOAD(blocking_waits);
    out->polling_ns = AIO_STAT_LOAD(polling_ns);
    out->blocked_ns = AIO_STAT_LOAD(blocked_ns);
    out->dispatch_ns = AIO_STAT_LOAD(dispatch_ns);
    out->grows = AIO_STAT_LOAD(grows);
    out->shrinks = AIO_STAT_LOAD(shrinks);
    for (size_t i = 0; i < AIO_STATS_HIST_BUCKETS; i++) {
        out->block_ns_hist[i] = AIO_STAT_LOAD(block_ns_hist[i]);
    }
    out->block_ns_sum = AIO_STAT_LOAD(block_ns_sum);
    out->cpu_ns = AIO_STAT_LOAD(cpu_ns);
#undef AIO_STAT_LOAD
}

/* --- One iteration ---------------------------------------------------- */

static int64_t
aio_sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/*
 * The poll phase.  Returns the number of handlers marked ready; *nowp is the
 * time of the last clock read (the moment work was found, on a hit).
 */
static size_t
aio_poll_phase(struct aio_ctx *ctx, bool blocking, int64_t t0,
               int64_t next_timer, int64_t *nowp)
{
    int64_t window = ctx->pstate.ns;
    int64_t deadline, now = t0;
    size_t found = 0;

    aio_poll_set_started(ctx, true);
    if (!blocking) {
        deadline = t0; /* one pass, never wait */
    } else if (window == POLICY_NS_UNBOUNDED) {
        deadline = next_timer;
    } else {
        deadline = aio_sat_add(t0, window);
        if (next_timer < deadline) {
            deadline = next_timer;
        }
    }
    for (;;) {
        found = aio_poll_pass(ctx);
        now = clock_now_ns(); /* once per pass, not per callback */
        found += aio_check_waited(ctx, now);
        if (found > 0 || now >= deadline) {
            break;
        }
        if (now >= ctx->next_idle_check_ns) {
            /* A busy loop must still let idle handlers go, and sleep when
             * none is left (the poll set is empty). */
            aio_remove_idle(ctx, now);
            if (ctx->poll_n == 0) {
                break;
            }
        }
    }
    aio_stat_add(&ctx->stats.polling_ns, (uint64_t)(now - t0));
    if (found > 0) {
        aio_stat_add(&ctx->stats.poll_hits, 1);
    } else if (blocking) {
        aio_stat_add(&ctx->stats.poll_misses, 1);
    }
    *nowp = now;
    return found;
}

/* Stamp the ready handlers with the iteration's time; feed the poll set. */
static bool
aio_note_events(struct aio_ctx *ctx, int64_t now)
{
    for (struct aio_handler *h = ctx->ready_head; h; h = h->ready_next) {
        h->nevents++;
        h->last_event_ns = now;
        if (h->ops->poll) {
            if (!h->in_poll_set) {
                aio_poll_set_add(ctx, h); /* back from idle */
            }
            h->ph.had_event = true;
        }
    }
    return ctx->ready_head != NULL;
}

static void
aio_dispatch_ready(struct aio_ctx *ctx)
{
    struct aio_handler *h = ctx->ready_head;

    ctx->ready_head = ctx->ready_tail = NULL;
    while (h) {
        struct aio_handler *next = h->ready_next;
        unsigned ready = h->ready;
        bool ran = false;

        h->ready_next = NULL;
        h->ready = 0;
        if (!h->deleted) {
            if ((ready & AIO_READY_READ)
                || ((ready & AIO_READY_POLL) && !h->ops->poll_ready)) {
                h->ops->read(h->opaque);
                ran = true;
            } else if (ready & AIO_READY_POLL) {
                h->ops->poll_ready(h->opaque);
                ran = true;
            }
            /* read() may have deleted it or stopped wanting write. */
            if ((ready & AIO_READY_WRITE) && !h->deleted
                && (h->events & AIO_EV_WRITE) && h->ops->write) {
                h->ops->write(h->opaque);
                ran = true;
            }
            if (ran && !h->internal) {
                ctx->progress = true;
            }
        }
        h = next;
    }
}

static void
aio_free_deleted(struct aio_ctx *ctx)
{
    while (ctx->deleted) {
        struct aio_handler *h = ctx->deleted;

        ctx->deleted = h->deleted_next;
        aio_handler_free(h);
    }
}

void
aio_bh_init(struct aio_bh *bh, void (*cb)(void *), void *opaque)
{
    bh->next = NULL;
    bh->scheduled = false;
    bh->cb = cb;
    bh->opaque = opaque;
}

void
aio_bh_schedule(struct aio_ctx *ctx, struct aio_bh *bh)
{
    assert(pthread_equal(ctx->owner, pthread_self()));
    if (bh->scheduled) {
        return;
    }
    bh->scheduled = true;
    bh->next = NULL;
    if (ctx->bh_head == NULL) {
        ctx->bh_tail = &ctx->bh_head;
    }
    *ctx->bh_tail = bh;
    ctx->bh_tail = &bh->next;
}

void
aio_bh_cancel(struct aio_ctx *ctx, struct aio_bh *bh)
{
    struct aio_bh **pp;

    if (!bh->scheduled) {
        return;
    }
    for (pp = &ctx->bh_head; *pp; pp = &(*pp)->next) {
        if (*pp == bh) {
            *pp = bh->next;
            if (*pp == NULL) {
                ctx->bh_tail = pp;
            }
            break;
        }
    }
    bh->scheduled = false;
}

/* Run the scheduled bottom halves, and those they schedule in turn. */
static void
aio_bh_run(struct aio_ctx *ctx)
{
    while (ctx->bh_head) {
        struct aio_bh *bh = ctx->bh_head;

        ctx->bh_head = bh->next;
        bh->scheduled = false;
        bh->cb(bh->opaque);
        ctx->progress = true;
    }
}

bool
aio_ctx_poll(struct aio_ctx *ctx, bool blocking)
{
    int64_t t0, now, t_found, t_end, next_timer, timeout, block_ns;
    size_t found = 0;
    bool any_event;

    assert(ctx->magic == AIO_CTX_MAGIC);
    assert(pthread_equal(ctx->owner, pthread_self()));
    assert(!ctx->in_iteration); /* no nested iterations */
    ctx->in_iteration = true;
    ctx->progress = false;
    ctx->params_changed = false;
    if (ctx->bh_head) {
        blocking = false; /* scheduled outside an iteration: run it now */
    }

    /* SQEs queued since the last iteration go to the kernel first, so the
     * device works while we poll or sleep. */
    uring_submit_pending(ctx);

    t0 = now = clock_now_ns();
    ctx->now = t0;
    next_timer = aio_timer_next_deadline(ctx);

    /* 1. Poll phase.  Non-blocking calls make one pass if polling is on
     * or if sources are still muted from an earlier poll phase. */
    if (ctx->poll_n > 0
        && (ctx->pstate.ns > 0 || (!blocking && ctx->poll_started))) {
        found = aio_poll_phase(ctx, blocking, t0, next_timer, &now);
    }

    /* 2. Block phase. */
    if (found == 0 || ctx->fdmon->need_wait(ctx)) {
        if (!blocking || found > 0) {
            timeout = 0;
        } else if (next_timer == INT64_MAX) {
            timeout = -1;
        } else {
            timeout = next_timer > now ? next_timer - now : 0;
        }
        if (timeout != 0 && ctx->poll_started) {
            /* Re-arm, then look once more: an event that came while the
             * sources were muted signalled nothing. */
            aio_poll_set_started(ctx, false);
            found = aio_poll_pass(ctx);
            if (found > 0) {
                timeout = 0;
            }
        }
        if (found == 0 || ctx->fdmon->need_wait(ctx)) {
            int64_t before = now;
            int r;

            if (timeout != 0) {
                aio_stat_add(&ctx->stats.blocking_waits, 1);
            }
            r = ctx->fdmon->wait(ctx, timeout);
            now = clock_now_ns();
            if (timeout != 0) {
                aio_stat_add(&ctx->stats.blocked_ns, (uint64_t)(now - before));
            }
            if (r < 0 && !ctx->logged_wait_error) {
                /* Handled here: the iteration goes on with what it has. */
                ctx->logged_wait_error = true;
                log_error("aio: %s wait failed: %s", ctx->fdmon->name,
                          strerror(-r));
            }
        }
    }
    t_found = now;
    ctx->now = t_found;
    block_ns = t_found - t0;

    /* 3. Dispatch. */
    any_event = aio_note_events(ctx, t_found);
    aio_dispatch_ready(ctx);
    if (aio_timer_run_expired(ctx, t_found) > 0) {
        ctx->progress = true;
    }
    aio_bh_run(ctx);
    t_end = clock_now_ns();
    aio_stat_add(&ctx->stats.dispatch_ns, (uint64_t)(t_end - t_found));

    /* 4. Policy feedback: a non-blocking call that found nothing measured
     * no interval and must not move the window. */
    if (ctx->params_changed) {
        ctx->params_changed = false;
    } else if (blocking || any_event) {
        policy_update(&ctx->pstate, &ctx->params, ctx->poll_ph, ctx->poll_n,
                      block_ns);
    }
    if (t_found >= ctx->next_idle_check_ns) {
        aio_remove_idle(ctx, t_found);
    }

    aio_stat_add(&ctx->stats.iterations, 1);
    aio_stat_add(&ctx->stats.block_ns_hist[aio_hist_bucket(block_ns)], 1);
    aio_stat_add(&ctx->stats.block_ns_sum, (uint64_t)block_ns);
    aio_stats_policy(ctx);
    if (t_end >= ctx->next_cpu_sample_ns) {
        atomic_store_explicit(&ctx->stats.cpu_ns, clock_thread_cpu_ns(),
                              memory_order_relaxed);
        ctx->next_cpu_sample_ns = t_end + AIO_CPU_SAMPLE_NS;
    }

    aio_free_deleted(ctx);
    ctx->in_iteration = false;
    return ctx->progress;
}

int64_t
aio_ctx_now(const struct aio_ctx *ctx)
{
    return ctx->now;
}
