/* SPDX-License-Identifier: MIT */
/*
 * The rbd backend's completion queue (rbd-internal.h): librbd calls back
 * on its own threads, and the only thing such a callback may do is hand
 * the request to its I/O thread's loop without blocking it.
 *
 * Why the eventfd is read before the stack is taken: a push that finds
 * the stack empty writes the eventfd after its CAS.  If the owner took
 * the stack first and read the eventfd second, it could swallow the
 * write of a push that landed in between and then sleep on a non-empty
 * stack.  Reading first, a push after the read writes again (its stack
 * was emptied by the take that follows, or it is in that take and the
 * extra wakeup finds nothing, which is harmless).
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backends/rbd-internal.h"

int
rbdq_init(struct rbdq *q)
{
    atomic_init(&q->head, NULL);
    q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return q->efd < 0 ? -errno : 0;
}

void
rbdq_destroy(struct rbdq *q)
{
    if (q->efd >= 0) {
        close(q->efd);
        q->efd = -1;
    }
}

void
rbdq_wake(struct rbdq *q)
{
    uint64_t one = 1;

    if (write(q->efd, &one, sizeof one) < 0) {
        /* EAGAIN: the counter is full, so the owner wakes anyway. */
    }
}

void
rbdq_push(struct rbdq *q, struct rbdq_node *n)
{
    struct rbdq_node *head = atomic_load_explicit(&q->head,
                                                  memory_order_relaxed);

    do {
        n->next = head;
    } while (!atomic_compare_exchange_weak_explicit(
        &q->head, &head, n, memory_order_release, memory_order_relaxed));
    /* A non-empty stack has a wakeup on its way already. */
    if (head == NULL) {
        rbdq_wake(q);
    }
}

struct rbdq_node *
rbdq_take(struct rbdq *q)
{
    struct rbdq_node *n, *fifo = NULL;
    uint64_t v;

    if (read(q->efd, &v, sizeof v) < 0) {
        /* EAGAIN: no wakeup pending; take what is there anyway. */
    }
    n = atomic_exchange_explicit(&q->head, NULL, memory_order_acquire);
    while (n) {
        struct rbdq_node *next = n->next;

        n->next = fifo;
        fifo = n;
        n = next;
    }
    return fifo;
}
