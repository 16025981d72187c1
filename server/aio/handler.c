/* SPDX-License-Identifier: MIT */
/*
 * The handler registry of the I/O-thread loop: adding a handler for an fd,
 * changing what the fd monitor watches it for, deleting it, and the
 * per-handler stats.  The iteration that dispatches handlers is aio.c.
 *
 * Design choices (the loop's side of each is in aio.c):
 * - Handlers live on a doubly linked list so deletion is O(1) from any
 *   callback; the fd monitor finds a handler from its fd in O(1) on its
 *   own (epoll_data.ptr), so nothing here is looked up by fd.
 * - aio_handler_del() unlinks at once and, inside an iteration, defers the
 *   free to its end, so a handler can delete itself or any other handler
 *   from a callback; the deleted flag keeps it from being dispatched.
 * - The poll-set arrays are grown here, when a handler with a poll
 *   callback is added, so that joining the poll set in the iteration never
 *   allocates.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "aio/aio-internal.h"
#include "util/clock.h"

static struct aio_handler *
aio_handler_new(struct aio_ctx *ctx, int fd, const struct aio_handler_ops *ops,
                void *opaque, bool internal)
{
    struct aio_handler *h;
    int r;

    assert(ctx->magic == AIO_CTX_MAGIC);
    if (fd < 0 || ops->read == NULL) {
        errno = EINVAL;
        return NULL;
    }
    /* Size the poll-set arrays now so that joining never allocates. */
    if (ops->poll && ctx->npollable + 1 > ctx->poll_cap) {
        size_t cap = ctx->poll_cap ? ctx->poll_cap * 2 : 16;
        struct aio_handler **set;
        struct policy_handler **ph;

        set = realloc(ctx->poll_set, cap * sizeof *set);
        if (set == NULL) {
            return NULL;
        }
        ctx->poll_set = set;
        ph = realloc(ctx->poll_ph, cap * sizeof *ph);
        if (ph == NULL) {
            return NULL;
        }
        ctx->poll_ph = ph;
        ctx->poll_cap = cap;
    }
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        return NULL;
    }
    h->magic = AIO_HANDLER_MAGIC;
    h->fd = fd;
    h->ctx = ctx;
    h->ops = ops;
    h->opaque = opaque;
    h->internal = internal;
    r = ctx->fdmon->update(ctx, h, AIO_EV_READ);
    if (r < 0) {
        free(h);
        errno = -r;
        return NULL;
    }
    h->events = AIO_EV_READ;

    h->next = ctx->handlers;
    if (ctx->handlers) {
        ctx->handlers->prev = h;
    }
    ctx->handlers = h;
    ctx->nhandlers++;
    if (!internal) {
        ctx->nuser++;
    }
    if (ops->poll) {
        ctx->npollable++;
        /* Setup path: one clock read, so a new handler is not idle at once. */
        h->last_event_ns = clock_now_ns();
        aio_poll_set_add(ctx, h);
    }
    return h;
}

struct aio_handler *
aio_handler_add(struct aio_ctx *ctx, int fd, const struct aio_handler_ops *ops,
                void *opaque)
{
    return aio_handler_new(ctx, fd, ops, opaque, false);
}

struct aio_handler *
aio_handler_add_internal(struct aio_ctx *ctx, int fd,
                         const struct aio_handler_ops *ops, void *opaque)
{
    return aio_handler_new(ctx, fd, ops, opaque, true);
}

/* Change what the fd monitor watches h for; events 0 unregisters it
 * (a paused reader without pending writes) until the next change. */
static int
aio_handler_set_events(struct aio_handler *h, uint32_t events)
{
    bool had_write = h->events & AIO_EV_WRITE;
    int r;

    assert(h->magic == AIO_HANDLER_MAGIC && !h->deleted);
    if (events == h->events) {
        return 0;
    }
    r = h->ctx->fdmon->update(h->ctx, h, events);
    if (r < 0) {
        return r;
    }
    h->events = events;
    if ((events & AIO_EV_WRITE) && !had_write) {
        h->ctx->nwant_write++;
    } else if (!(events & AIO_EV_WRITE) && had_write) {
        h->ctx->nwant_write--;
    }
    return 0;
}

int
aio_handler_want_write(struct aio_handler *h, bool want)
{
    uint32_t events = (h->read_paused ? 0 : AIO_EV_READ) |
                      (want ? AIO_EV_WRITE : 0);

    return aio_handler_set_events(h, events);
}

int
aio_handler_want_read(struct aio_handler *h, bool want)
{
    uint32_t events = (h->events & AIO_EV_WRITE) | (want ? AIO_EV_READ : 0);

    h->read_paused = !want;
    return aio_handler_set_events(h, events);
}

void
aio_handler_del(struct aio_handler *h)
{
    struct aio_ctx *ctx = h->ctx;

    assert(h->magic == AIO_HANDLER_MAGIC && !h->deleted);
    if (h->events & AIO_EV_WRITE) {
        ctx->nwant_write--;
    }
    if (h->events) {
        /* ENOENT/EBADF only if the caller closed the fd first: harmless. */
        (void)ctx->fdmon->update(ctx, h, 0);
        h->events = 0;
    }
    if (h->in_poll_set) {
        aio_poll_set_remove(ctx, h, false);
    }
    if (h->ops->poll) {
        ctx->npollable--;
    }
    if (h->prev) {
        h->prev->next = h->next;
    } else {
        ctx->handlers = h->next;
    }
    if (h->next) {
        h->next->prev = h->prev;
    }
    ctx->nhandlers--;
    if (!h->internal) {
        ctx->nuser--;
    }
    h->deleted = true;
    if (ctx->in_iteration) {
        /* It may be on the ready list or running: free after dispatch. */
        h->deleted_next = ctx->deleted;
        ctx->deleted = h;
    } else {
        aio_handler_free(h);
    }
}

size_t
aio_ctx_handler_stats(struct aio_ctx *ctx, struct aio_handler_stats *out,
                      size_t max)
{
    size_t i = 0;

    for (struct aio_handler *h = ctx->handlers; h; h = h->next, i++) {
        if (i < max && out) {
            struct aio_handler_stats *s = &out[i];

            snprintf(s->name, sizeof s->name, "%s",
                     h->ops->name ? h->ops->name : "");
            s->fd = h->fd;
            s->in_poll_set = h->in_poll_set;
            s->window_ns = h->ph.ns;
            s->events = h->nevents;
        }
    }
    return i;
}
