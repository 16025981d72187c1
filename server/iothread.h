/* SPDX-License-Identifier: MIT */
/*
 * I/O threads: each one owns an aio_ctx (its polling loop, io_uring ring,
 * handlers and statistics) and runs it until told to stop.  Other threads
 * talk to an I/O thread only through messages (iothread_run), so nothing
 * an I/O thread owns is ever written from outside.
 */
#ifndef POLLTGT_SERVER_IOTHREAD_H
#define POLLTGT_SERVER_IOTHREAD_H

#include <stdbool.h>

#include "aio/aio.h"
#include "policy/policy.h"
#include "util/compiler.h"

struct iothread;

/*
 * Start I/O thread id with the given tunables, pinned to cpu (or not, if
 * cpu < 0).  Returns once the thread's loop exists, so the caller can use
 * iothread_ctx() at once.  Returns 0 or -errno (logged).
 */
int iothread_start(struct iothread **out, unsigned id,
                   const struct poll_params *params, int cpu)
    ATTR_NONNULL(1, 3);

/* Ask the thread to leave its loop, wait for it and free it. NULL is ok. */
void iothread_stop(struct iothread *t);

unsigned iothread_id(const struct iothread *t) ATTR_NONNULL(1);

/* The thread's loop.  Only the thread itself may call into it, except for
 * the any-thread functions of aio.h. */
struct aio_ctx *iothread_ctx(struct iothread *t) ATTR_NONNULL(1);

/* Run fn(opaque) on the thread.  Returns 0 or -ENOMEM. */
int iothread_run(struct iothread *t, void (*fn)(void *), void *opaque)
    ATTR_NONNULL(1, 2);

/* Deliver new tunables; the thread applies them between iterations. */
int iothread_set_params(struct iothread *t, const struct poll_params *params)
    ATTR_NONNULL(1, 2);

/*
 * Measure the wake-up cost again and, where max-ns is auto, size the
 * window from it (a reload does this: the host may have changed).  The
 * thread stalls for the few tens of milliseconds it takes.  Returns 0 or
 * -ENOMEM.
 */
int iothread_calibrate(struct iothread *t) ATTR_NONNULL(1);

/* Connections owned by the thread, for least-loaded placement (any thread). */
unsigned iothread_nconns(const struct iothread *t) ATTR_NONNULL(1);
void iothread_conn_added(struct iothread *t) ATTR_NONNULL(1);
void iothread_conn_removed(struct iothread *t) ATTR_NONNULL(1);

#endif /* POLLTGT_SERVER_IOTHREAD_H */
