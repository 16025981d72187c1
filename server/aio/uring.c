/* SPDX-License-Identifier: MIT */
/*
 * The per-ctx io_uring: backends queue SQEs with aio_sqe_get(), the loop
 * submits them at the start of each iteration, and the completion queue is
 * an ordinary polled handler of the loop, as SPDK's bdev_uring poller and
 * QEMU's fdmon-io_uring CqeHandler are:
 * - poll: io_uring_cq_ready() (a load of the CQ tail; no system call);
 * - blocking wait: the ring's eventfd (io_uring_register_eventfd) is a
 *   handler fd in the fd monitor;
 * - while polling, the kernel is told not to signal that eventfd
 *   (io_uring_cq_eventfd_toggle), which saves an eventfd wake-up per
 *   completion, and re-armed before the loop may sleep.
 * The ring is set up without IORING_SETUP_COOP_TASKRUN on purpose: with it,
 * completions that need task work appear only when the thread enters the
 * kernel, and a thread busy-polling the CQ would never see them.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>

#include "aio/aio-internal.h"
#include "log.h"

/* aio_ctx_new(..., 0) gets this many SQEs. */
#define URING_DEFAULT_ENTRIES 256

/* Submission attempts in aio_sqe_get before we call the ring broken. */
#define URING_SQE_GET_TRIES 1000

/* Run done() for completed requests; returns how many. */
static unsigned
uring_reap(struct aio_ctx *ctx)
{
    struct uring *u = &ctx->uring;
    unsigned n = 0, max = u->ring.cq.ring_entries;
    struct io_uring_cqe *cqe;

    /* One CQE at a time, seen before done() runs: done() may queue and
     * submit new requests, or reap, without confusing this loop.  The bound
     * keeps a stream of completions from starving the other handlers. */
    while (n < max && io_uring_peek_cqe(&u->ring, &cqe) == 0) {
        struct aio_sqe_req *req = io_uring_cqe_get_data(cqe);
        int res = cqe->res;

        io_uring_cqe_seen(&u->ring, cqe);
        n++;
        if (req != NULL) {
            u->inflight--;
            req->done(req, res);
        }
    }
    if (n > 0) {
        ctx->progress = true;
    }
    if (n == max && (io_uring_cq_ready(&u->ring) > 0 ||
                     io_uring_cq_has_overflow(&u->ring))) {
        /* We stopped at the bound with completions left (or still in the
         * kernel's overflow list, which does not signal the eventfd when
         * it is flushed): make sure the loop comes back for them instead
         * of sleeping on an eventfd that will not fire. */
        eventfd_write(u->efd, 1);
    }
    return n;
}

/* Submit, retrying signals, and making room when the CQ is backed up. */
static int
uring_submit_retry(struct aio_ctx *ctx)
{
    struct uring *u = &ctx->uring;
    int r;

    for (int tries = 0; tries < 3; tries++) {
        r = io_uring_submit(&u->ring);
        if (r == -EINTR) {
            tries--;
            continue;
        }
        if (r != -EBUSY) {
            return r;
        }
        /* -EBUSY: completions are backing up; consume them and retry. */
        uring_reap(ctx);
    }
    return r;
}

void
uring_submit_pending(struct aio_ctx *ctx)
{
    struct uring *u = &ctx->uring;
    int r;

    if (io_uring_sq_ready(&u->ring) == 0) {
        return;
    }
    r = uring_submit_retry(ctx);
    if (r < 0 && r != -EAGAIN && r != -EBUSY && !u->logged_error) {
        /* Handled here: the SQEs stay queued for the next iteration. */
        u->logged_error = true;
        log_error("aio: io_uring submit failed: %s", strerror(-r));
    }
}

int
aio_ctx_submit(struct aio_ctx *ctx)
{
    return uring_submit_retry(ctx);
}

unsigned
aio_ctx_sqe_inflight(const struct aio_ctx *ctx)
{
    return ctx->uring.inflight;
}

struct io_uring_sqe *
aio_sqe_get(struct aio_ctx *ctx, struct aio_sqe_req *req)
{
    struct uring *u = &ctx->uring;
    struct io_uring_sqe *sqe;
    int tries = 0;

    while ((sqe = io_uring_get_sqe(&u->ring)) == NULL) {
        /* The SQ is full: hand it to the kernel and take the next slot. */
        int r = uring_submit_retry(ctx);

        if (r == -EAGAIN || r == -EBUSY) {
            uring_reap(ctx);
        } else if (r < 0 && ++tries >= URING_SQE_GET_TRIES) {
            /* The contract is "never NULL"; a ring that cannot submit at
             * all is broken beyond what a caller could handle. */
            log_error("aio: io_uring submit keeps failing: %s", strerror(-r));
            abort();
        }
    }
    io_uring_sqe_set_data(sqe, req);
    u->inflight++;
    return sqe;
}

/* --- The ring as a handler of the loop ------------------------------- */

static bool
uring_poll(void *opaque)
{
    struct aio_ctx *ctx = opaque;

    /* Overflowed CQEs are not in the ring yet; reaping flushes them. */
    return io_uring_cq_ready(&ctx->uring.ring) > 0
           || io_uring_cq_has_overflow(&ctx->uring.ring);
}

static void
uring_poll_ready(void *opaque)
{
    uring_reap(opaque);
}

/* Woken through the eventfd: clear it, then reap. */
static void
uring_read(void *opaque)
{
    struct aio_ctx *ctx = opaque;
    uint64_t count;

    while (read(ctx->uring.efd, &count, sizeof count) < 0 && errno == EINTR) {
    }
    uring_reap(ctx);
}

static void
uring_poll_begin_end(void *opaque, bool polling)
{
    struct aio_ctx *ctx = opaque;

    /* -EOPNOTSUPP on kernels without the CQ flags word (< 5.8): the
     * eventfd then simply stays armed, which costs wake-ups, not events. */
    (void)io_uring_cq_eventfd_toggle(&ctx->uring.ring, !polling);
}

static const struct aio_handler_ops uring_handler_ops = {
    .read = uring_read,
    .poll = uring_poll,
    .poll_ready = uring_poll_ready,
    .poll_begin_end = uring_poll_begin_end,
    .name = "ring",
};

int
uring_init(struct aio_ctx *ctx, unsigned entries)
{
    struct uring *u = &ctx->uring;
    int r;

    r = io_uring_queue_init(entries ? entries : URING_DEFAULT_ENTRIES,
                            &u->ring, 0);
    if (r < 0) {
        return r;
    }
    u->ring_ok = true;
    u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (u->efd < 0) {
        r = -errno;
        goto err_ring;
    }
    r = io_uring_register_eventfd(&u->ring, u->efd);
    if (r < 0) {
        goto err_efd;
    }
    u->h = aio_handler_add_internal(ctx, u->efd, &uring_handler_ops, ctx);
    if (u->h == NULL) {
        r = -errno;
        goto err_efd;
    }
    return 0;

err_efd:
    close(u->efd);
    u->efd = -1;
err_ring:
    io_uring_queue_exit(&u->ring);
    u->ring_ok = false;
    return r;
}

void
uring_fini(struct aio_ctx *ctx)
{
    struct uring *u = &ctx->uring;

    if (u->h) {
        aio_handler_del(u->h);
        u->h = NULL;
    }
    if (u->ring_ok) {
        /* Requests still in flight are cancelled without done(). */
        io_uring_queue_exit(&u->ring);
        u->ring_ok = false;
    }
    if (u->efd >= 0) {
        close(u->efd);
        u->efd = -1;
    }
}
