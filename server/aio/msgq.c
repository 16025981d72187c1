/* SPDX-License-Identifier: MIT */
/*
 * Cross-thread messages for aio_ctx_run: a lock-free multi-producer,
 * single-consumer queue.  Producers push onto an intrusive stack with a
 * compare-and-swap; the owner takes the whole stack with one exchange and
 * reverses it, which gives sending order back (for one sender, and across
 * senders as ordered by their pushes).  ABA cannot happen: producers only
 * push and the consumer only swaps the head for NULL.  Producers never
 * block, the owner's check for work is one atomic load (the notifier's
 * poll callback), and the only allocation is the message itself, off the
 * data path.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "aio/aio-internal.h"

int
msgq_push(struct msgq *q, void (*fn)(void *), void *opaque)
{
    struct msgq_msg *m = malloc(sizeof *m);

    if (m == NULL) {
        return -ENOMEM;
    }
    m->fn = fn;
    m->opaque = opaque;
    m->next = atomic_load_explicit(&q->head, memory_order_relaxed);
    /* Sequentially consistent, like the consumer's exchange: with the
     * notifier's flag this forms the ordering argued in notifier.c. */
    while (!atomic_compare_exchange_weak(&q->head, &m->next, m)) {
    }
    return 0;
}

bool
msgq_empty(struct msgq *q)
{
    return atomic_load_explicit(&q->head, memory_order_acquire) == NULL;
}

/* Take everything queued, oldest first. */
static struct msgq_msg *
msgq_take(struct msgq *q)
{
    struct msgq_msg *m = atomic_exchange(&q->head, NULL);
    struct msgq_msg *fifo = NULL;

    while (m) {
        struct msgq_msg *next = m->next;

        m->next = fifo;
        fifo = m;
        m = next;
    }
    return fifo;
}

size_t
msgq_run(struct msgq *q)
{
    struct msgq_msg *m = msgq_take(q);
    size_t n = 0;

    /* Messages a callback sends to this thread go to the next batch. */
    while (m) {
        struct msgq_msg *next = m->next;

        m->fn(m->opaque);
        free(m);
        m = next;
        n++;
    }
    return n;
}

void
msgq_fini(struct msgq *q)
{
    struct msgq_msg *m = msgq_take(q);

    while (m) {
        struct msgq_msg *next = m->next;

        free(m);
        m = next;
    }
}

int
aio_ctx_run(struct aio_ctx *ctx, void (*fn)(void *), void *opaque)
{
    int r = msgq_push(&ctx->msgq, fn, opaque);

    if (r < 0) {
        return r;
    }
    /* Pushed before notifying: the owner clears `pending` before it takes
     * the queue, so it sees this message (see notifier.c). */
    aio_ctx_notify(ctx);
    return 0;
}
