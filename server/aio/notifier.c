/* SPDX-License-Identifier: MIT */
/*
 * The notifier: how other threads wake an I/O thread (aio_ctx_notify, and
 * aio_ctx_run through msgq.c).  An eventfd is the wake-up for a thread that
 * sleeps in the fd monitor; while the thread polls, writing it would cost
 * the sender a system call and the owner a spurious wake-up, so senders set
 * `pending` and write the eventfd only if the owner is `armed` (may sleep
 * without looking at `pending`), in the manner of QEMU's notify_me and
 * SPDK's spdk_event_call.
 *
 * Ordering (a store-buffer pattern, hence sequentially consistent
 * operations on both sides):
 *   sender: pending = true (exchange); if armed: write eventfd
 *   owner:  armed = true; check poll callbacks (reads pending); sleep
 * At least one side sees the other's store, so a notification is never
 * slept through.  A sender that finds pending already set skips everything:
 * the sender that set it has done what was needed, and the owner clears
 * pending before it runs the queued messages.
 *
 * The notifier is a polled handler of the loop: its poll callback is one
 * atomic load, and poll_begin_end() is what disarms and re-arms it.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include "aio/aio-internal.h"

int
notifier_init(struct notifier *n)
{
    n->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (n->efd < 0) {
        return -errno;
    }
    atomic_init(&n->armed, true);
    atomic_init(&n->pending, false);
    return 0;
}

void
notifier_fini(struct notifier *n)
{
    if (n->efd >= 0) {
        close(n->efd);
        n->efd = -1;
    }
}

void
notifier_notify(struct notifier *n)
{
    uint64_t one = 1;

    if (atomic_exchange(&n->pending, true)) {
        return;
    }
    if (atomic_load(&n->armed)) {
        /* EAGAIN means the counter is saturated: it is readable anyway. */
        while (write(n->efd, &one, sizeof one) < 0 && errno == EINTR) {
        }
    }
}

/* Owner: take the pending flag before running what it announced. */
static void
notifier_ack(struct aio_ctx *ctx)
{
    /* An exchange reads the sender's store of `true`, so everything the
     * sender did before (its message push) is visible to msgq_run. */
    (void)atomic_exchange(&ctx->notifier.pending, false);
    if (msgq_run(&ctx->msgq) > 0) {
        ctx->progress = true;
    }
}

static bool
notifier_poll(void *opaque)
{
    struct aio_ctx *ctx = opaque;

    return atomic_load_explicit(&ctx->notifier.pending, memory_order_acquire);
}

static void
notifier_poll_ready(void *opaque)
{
    /* Found by polling: the eventfd was not written (or will be drained
     * by the read callback when the fd monitor reports it). */
    notifier_ack(opaque);
}

static void
notifier_read(void *opaque)
{
    struct aio_ctx *ctx = opaque;
    uint64_t count;

    while (read(ctx->notifier.efd, &count, sizeof count) < 0
           && errno == EINTR) {
    }
    notifier_ack(ctx);
}

static void
notifier_poll_begin_end(void *opaque, bool polling)
{
    struct aio_ctx *ctx = opaque;

    atomic_store(&ctx->notifier.armed, !polling);
}

static const struct aio_handler_ops notifier_handler_ops = {
    .read = notifier_read,
    .poll = notifier_poll,
    .poll_ready = notifier_poll_ready,
    .poll_begin_end = notifier_poll_begin_end,
    .name = "notifier",
};

int
notifier_attach(struct aio_ctx *ctx)
{
    int r = notifier_init(&ctx->notifier);

    if (r < 0) {
        return r;
    }
    ctx->notifier_h = aio_handler_add_internal(ctx, ctx->notifier.efd,
                                               &notifier_handler_ops, ctx);
    if (ctx->notifier_h == NULL) {
        r = -errno;
        notifier_fini(&ctx->notifier);
        return r;
    }
    return 0;
}

void
aio_ctx_notify(struct aio_ctx *ctx)
{
    assert(ctx->magic == AIO_CTX_MAGIC);
    notifier_notify(&ctx->notifier);
}
