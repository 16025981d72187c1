/* SPDX-License-Identifier: MIT */
/*
 * Private to the rbd backend: the queue on which librbd's threads hand
 * finished requests to the I/O thread that sent them (rbd-queue.c).  A
 * lock-free stack plus an eventfd the I/O thread's loop watches: a push
 * from any thread never blocks and never takes a lock, and writes the
 * eventfd only when the stack was empty (the owner drains it all at
 * once, so one wakeup per batch is enough).  Kept apart from rbd.c so
 * the unit test exercises the push/take protocol with threads and no
 * cluster.
 */
#ifndef POLLTGT_BACKENDS_RBD_INTERNAL_H
#define POLLTGT_BACKENDS_RBD_INTERNAL_H

#include <stdatomic.h>

#include "util/compiler.h"

struct rbdq_node {
    struct rbdq_node *next;
};

struct rbdq {
    _Atomic(struct rbdq_node *) head;
    int efd; /* readable when there is something to take */
};

/* Returns 0 or -errno (no eventfd). */
int rbdq_init(struct rbdq *q) ATTR_NONNULL(1);
/* The queue must be empty or its nodes no longer needed. */
void rbdq_destroy(struct rbdq *q) ATTR_NONNULL(1);

/* Any thread: queue n and wake the owner if it may be asleep. */
void rbdq_push(struct rbdq *q, struct rbdq_node *n) ATTR_NONNULL(1, 2);
/* Any thread: wake the owner without queueing (it has other news). */
void rbdq_wake(struct rbdq *q) ATTR_NONNULL(1);
/* The owner, when efd is readable (or at any time): consume the wakeup,
 * then take every node queued, oldest first (a list through next).
 * Nothing pushed after the wakeup it consumed is lost: such a push
 * writes the eventfd again. */
struct rbdq_node *rbdq_take(struct rbdq *q) ATTR_NONNULL(1);

#endif /* POLLTGT_BACKENDS_RBD_INTERNAL_H */
