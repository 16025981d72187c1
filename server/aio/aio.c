/* SPDX-License-Identifier: MIT */
/*
 * One iteration of the I/O-thread loop: poll window -> blocking wait ->
 * dispatch -> policy feedback, in the shape of QEMU's aio_poll()
 * (util/aio-posix.c), with the policy kept outside the loop (policy/).
 * Handlers are added and deleted in handler.c, the context is created,
 * tuned and read by other threads in ctx.c; this file is what runs every
 * iteration.
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

/* --- The poll set ----------------------------------------------------- */

void
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
void
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

/* --- The ready list --------------------------------------------------- */

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
