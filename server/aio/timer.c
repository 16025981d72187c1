/* SPDX-License-Identifier: MIT */
/*
 * Timers of the I/O-thread loop: a binary min-heap of caller-owned struct
 * aio_timer, keyed by deadline.  Each timer remembers its heap index, so
 * re-arming and deleting are O(log n) without a search, and the block phase
 * reads the next deadline in O(1).  The heap array only grows (doubling),
 * so a loop that re-arms the same timers allocates nothing in steady state.
 * Timers with equal deadlines fire in no particular order.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "aio/aio-internal.h"

static void
timer_heap_set(struct aio_timer_heap *heap, size_t i, struct aio_timer *t)
{
    heap->v[i] = t;
    t->heap_index = i;
}

static void
timer_sift_up(struct aio_timer_heap *heap, size_t i)
{
    struct aio_timer *t = heap->v[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;

        if (heap->v[parent]->deadline_ns <= t->deadline_ns) {
            break;
        }
        timer_heap_set(heap, i, heap->v[parent]);
        i = parent;
    }
    timer_heap_set(heap, i, t);
}

static void
timer_sift_down(struct aio_timer_heap *heap, size_t i)
{
    struct aio_timer *t = heap->v[i];

    for (;;) {
        size_t child = 2 * i + 1;

        if (child >= heap->n) {
            break;
        }
        if (child + 1 < heap->n
            && heap->v[child + 1]->deadline_ns < heap->v[child]->deadline_ns) {
            child++;
        }
        if (t->deadline_ns <= heap->v[child]->deadline_ns) {
            break;
        }
        timer_heap_set(heap, i, heap->v[child]);
        i = child;
    }
    timer_heap_set(heap, i, t);
}

void
aio_timer_init(struct aio_timer *t, void (*cb)(void *), void *opaque)
{
    t->deadline_ns = 0;
    t->heap_index = AIO_TIMER_UNARMED;
    t->cb = cb;
    t->opaque = opaque;
}

int
aio_timer_mod(struct aio_ctx *ctx, struct aio_timer *t, int64_t deadline_ns)
{
    struct aio_timer_heap *heap = &ctx->timers;

    if (t->heap_index != AIO_TIMER_UNARMED) {
        int64_t old = t->deadline_ns;

        assert(t->heap_index < heap->n && heap->v[t->heap_index] == t);
        t->deadline_ns = deadline_ns;
        if (deadline_ns < old) {
            timer_sift_up(heap, t->heap_index);
        } else {
            timer_sift_down(heap, t->heap_index);
        }
        return 0;
    }
    if (heap->n == heap->cap) {
        size_t cap = heap->cap ? heap->cap * 2 : 32;
        struct aio_timer **v = realloc(heap->v, cap * sizeof *v);

        if (v == NULL) {
            return -ENOMEM;
        }
        heap->v = v;
        heap->cap = cap;
    }
    t->deadline_ns = deadline_ns;
    heap->v[heap->n] = t;
    t->heap_index = heap->n++;
    timer_sift_up(heap, t->heap_index);
    return 0;
}

void
aio_timer_del(struct aio_ctx *ctx, struct aio_timer *t)
{
    struct aio_timer_heap *heap = &ctx->timers;
    size_t i = t->heap_index;
    struct aio_timer *last;

    if (i == AIO_TIMER_UNARMED) {
        return;
    }
    assert(i < heap->n && heap->v[i] == t);
    t->heap_index = AIO_TIMER_UNARMED;
    last = heap->v[--heap->n];
    if (last == t) {
        return;
    }
    timer_heap_set(heap, i, last);
    if (i > 0 && heap->v[(i - 1) / 2]->deadline_ns > last->deadline_ns) {
        timer_sift_up(heap, i);
    } else {
        timer_sift_down(heap, i);
    }
}

int64_t
aio_timer_next_deadline(const struct aio_ctx *ctx)
{
    return ctx->timers.n ? ctx->timers.v[0]->deadline_ns : INT64_MAX;
}

size_t
aio_timer_run_expired(struct aio_ctx *ctx, int64_t now)
{
    struct aio_timer_heap *heap = &ctx->timers;
    size_t budget = heap->n, ran = 0;

    while (ran < budget && heap->n > 0 && heap->v[0]->deadline_ns <= now) {
        struct aio_timer *t = heap->v[0];

        aio_timer_del(ctx, t);
        t->cb(t->opaque); /* may re-arm t or touch other timers */
        ran++;
    }
    return ran;
}

void
aio_timer_heap_fini(struct aio_ctx *ctx)
{
    for (size_t i = 0; i < ctx->timers.n; i++) {
        ctx->timers.v[i]->heap_index = AIO_TIMER_UNARMED;
    }
    free(ctx->timers.v);
    ctx->timers.v = NULL;
    ctx->timers.n = ctx->timers.cap = 0;
}
