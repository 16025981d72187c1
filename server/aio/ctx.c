/* SPDX-License-Identifier: MIT */
/*
 * The life of an I/O-thread loop context: creating it (fd monitor,
 * notifier, ring) and freeing it (exit notifiers first), its poll
 * parameters and the wake-up calibration that sizes max-ns = auto, and the
 * snapshot other threads read of its parameters and stats.  The iteration
 * itself is aio.c.
 *
 * Parameters are applied on the owning thread only (aio_ctx_set_params is
 * reached through a message); other threads read them through a seqlock
 * over relaxed atomics (aio_params_publish, aio_ctx_stats_read), so no
 * field is written across threads and the loop takes no lock.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aio/aio-internal.h"
#include "util/clock.h"

/* Idle checks happen at most this often (QEMU checks every iteration). */
#define AIO_IDLE_CHECK_MAX_NS (100 * NS_PER_MS)

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
