/* SPDX-License-Identifier: MIT */
/*
 * I/O thread start and stop, in the shape of QEMU's iothread.c: the
 * creator waits on a start handshake until the thread has built its loop
 * (the loop must be created on the thread that owns it: io_uring rings and
 * thread CPU clocks are per thread), and a stop is a message the thread
 * runs on itself, so it leaves its loop between iterations with nothing
 * half done.
 *
 * Signals are blocked in every I/O thread so that SIGHUP, SIGTERM and
 * SIGINT always reach the main thread's libev loop.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iothread.h"
#include "log.h"
#include "util/clock.h"

#define IOTHREAD_MAGIC 0x10743ead
#define IOTHREAD_RING_ENTRIES 256
/* How often a thread logs its loop counters at debug level. */
#define IOTHREAD_DEBUG_INTERVAL_NS (5 * NS_PER_SEC)

struct iothread {
    uint32_t magic;
    unsigned id;
    int cpu;
    pthread_t thread;
    struct aio_ctx *ctx;
    struct poll_params params; /* initial tunables, read by the thread */
    bool stopping;             /* written and read on the thread only */
    _Atomic unsigned nconns;
    struct aio_timer debug_timer;

    /* start handshake */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool started;
    int start_error;
};

struct iothread_params_msg {
    struct iothread *t;
    struct poll_params params;
};

static void
iothread_log_stats(void *opaque)
{
    struct iothread *t = opaque;
    struct aio_stats_snapshot s;

    aio_ctx_stats_read(t->ctx, &s);
    log_debug("iothread %u: policy %s poll_ns %" PRId64 " iterations %" PRIu64
              " hits %" PRIu64 " misses %" PRIu64 " waits %" PRIu64
              " grows %" PRIu64 " shrinks %" PRIu64 " polling %" PRIu64
              "ns blocked %" PRIu64 "ns dispatch %" PRIu64 "ns cpu %" PRId64
              "ns",
              t->id, s.policy, s.poll_ns, s.iterations, s.poll_hits,
              s.poll_misses, s.blocking_waits, s.grows, s.shrinks,
              s.polling_ns, s.blocked_ns, s.dispatch_ns, s.cpu_ns);
    aio_timer_mod(t->ctx, &t->debug_timer,
                  clock_now_ns() + IOTHREAD_DEBUG_INTERVAL_NS);
}

/* Measure the wake-up cost and size the automatic window (on the thread). */
static void
iothread_calibrate_now(struct iothread *t)
{
    const struct aio_wakecost *wc;
    int r = aio_ctx_calibrate(t->ctx);

    if (r < 0) {
        log_warn("iothread %u: cannot measure the wake-up cost (%s); "
                 "max-ns auto uses %" PRId64 " ns",
                 t->id, strerror(-r), policy_max_ns_auto(-1));
        return;
    }
    wc = aio_ctx_wakecost(t->ctx);
    log_info("iothread %u: a wake-up costs %" PRId64 " ns (blocked %" PRId64
             " ns, spinning %" PRId64 " ns, medians of %u, waker on cpu %d): "
             "max-ns auto is %" PRId64 " ns%s",
             t->id, wc->cost_ns, wc->blocked_ns, wc->spinning_ns, wc->samples,
             wc->waker_cpu, policy_max_ns_auto(wc->cost_ns),
             aio_ctx_max_ns_auto(t->ctx) ? "" : " (not in use: max-ns is fixed)");
}

static int
iothread_pin(struct iothread *t)
{
    cpu_set_t set;
    int r;

    if (t->cpu < 0) {
        return 0;
    }
    CPU_ZERO(&set);
    CPU_SET(t->cpu, &set);
    r = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (r != 0) {
        log_error("iothread %u: cannot pin to cpu %d: %s", t->id, t->cpu,
                  strerror(r));
        return -r;
    }
    return 0;
}

static void *
iothread_main(void *opaque)
{
    struct iothread *t = opaque;
    char name[16];
    int r;

    snprintf(name, sizeof name, "iothread%u", t->id);
    pthread_setname_np(pthread_self(), name);

    r = iothread_pin(t);
    if (r == 0) {
        r = aio_ctx_new(&t->ctx, &t->params, IOTHREAD_RING_ENTRIES);
        if (r < 0) {
            log_error("iothread %u: cannot create its event loop: %s", t->id,
                      strerror(-r));
        }
    }
    /* Before the handshake: no client can be waiting on this thread yet.
     * Measured under a fixed max-ns too: operators see what it saves. */
    if (r == 0) {
        iothread_calibrate_now(t);
    }
    pthread_mutex_lock(&t->lock);
    t->started = true;
    t->start_error = r;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    if (r < 0) {
        return NULL;
    }

    if (log_current_level >= LOG_LEVEL_DEBUG) {
        aio_timer_init(&t->debug_timer, iothread_log_stats, t);
        aio_timer_mod(t->ctx, &t->debug_timer,
                      clock_now_ns() + IOTHREAD_DEBUG_INTERVAL_NS);
    }
    while (!t->stopping) {
        aio_ctx_poll(t->ctx, true);
    }
    if (log_current_level >= LOG_LEVEL_DEBUG) {
        aio_timer_del(t->ctx, &t->debug_timer);
    }
    aio_ctx_free(t->ctx);
    t->ctx = NULL;
    return NULL;
}

int
iothread_start(struct iothread **out, unsigned id,
               const struct poll_params *params, int cpu)
{
    struct iothread *t = calloc(1, sizeof *t);
    sigset_t all, old;
    int r;

    if (t == NULL) {
        return -ENOMEM;
    }
    t->magic = IOTHREAD_MAGIC;
    t->id = id;
    t->cpu = cpu;
    t->params = *params;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);

    /* The new thread inherits this mask: it never takes a signal. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    r = pthread_create(&t->thread, NULL, iothread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        log_error("iothread %u: cannot create thread: %s", id, strerror(r));
        free(t);
        return -r;
    }

    pthread_mutex_lock(&t->lock);
    while (!t->started) {
        pthread_cond_wait(&t->cond, &t->lock);
    }
    r = t->start_error;
    pthread_mutex_unlock(&t->lock);
    if (r < 0) {
        pthread_join(t->thread, NULL);
        free(t);
        return r;
    }
    log_info("iothread %u: started, policy %s, max-ns %s%" PRId64 " ns%s", id,
             params->policy->name,
             params->max_ns == POLICY_MAX_NS_AUTO ? "auto: " : "",
             aio_ctx_params(t->ctx)->max_ns, cpu >= 0 ? ", pinned" : "");
    *out = t;
    return 0;
}

static void
iothread_stop_on_thread(void *opaque)
{
    struct iothread *t = opaque;

    t->stopping = true;
}

void
iothread_stop(struct iothread *t)
{
    if (t == NULL) {
        return;
    }
    assert(t->magic == IOTHREAD_MAGIC);
    while (iothread_run(t, iothread_stop_on_thread, t) < 0) {
        /* Out of memory for one message: try again shortly. */
        sched_yield();
    }
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    t->magic = 0;
    free(t);
}

unsigned
iothread_id(const struct iothread *t)
{
    return t->id;
}

struct aio_ctx *
iothread_ctx(struct iothread *t)
{
    return t->ctx;
}

int
iothread_run(struct iothread *t, void (*fn)(void *), void *opaque)
{
    return aio_ctx_run(t->ctx, fn, opaque);
}

static void
iothread_apply_params(void *opaque)
{
    struct iothread_params_msg *msg = opaque;

    aio_ctx_set_params(msg->t->ctx, &msg->params);
    free(msg);
}

int
iothread_set_params(struct iothread *t, const struct poll_params *params)
{
    struct iothread_params_msg *msg = malloc(sizeof *msg);
    int r;

    if (msg == NULL) {
        return -ENOMEM;
    }
    msg->t = t;
    msg->params = *params;
    r = iothread_run(t, iothread_apply_params, msg);
    if (r < 0) {
        free(msg);
    }
    return r;
}

static void
iothread_calibrate_on_thread(void *opaque)
{
    iothread_calibrate_now(opaque);
}

int
iothread_calibrate(struct iothread *t)
{
    return iothread_run(t, iothread_calibrate_on_thread, t);
}

unsigned
iothread_nconns(const struct iothread *t)
{
    return atomic_load_explicit(&t->nconns, memory_order_relaxed);
}

void
iothread_conn_added(struct iothread *t)
{
    atomic_fetch_add_explicit(&t->nconns, 1, memory_order_relaxed);
}

void
iothread_conn_removed(struct iothread *t)
{
    atomic_fetch_sub_explicit(&t->nconns, 1, memory_order_relaxed);
}
