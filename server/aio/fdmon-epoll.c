/* SPDX-License-Identifier: MIT */
/*
 * The epoll fd monitor (struct fdmon_ops in aio-internal.h).  Every handler
 * fd stays registered, level-triggered, for as long as the handler lives,
 * whether or not it is in the poll set: leaving the poll set after the idle
 * timeout then costs nothing here, and an event on an idle handler is seen
 * by the next wait.  epoll_data.ptr holds the handler, so a reported fd
 * costs no lookup.  Waits use epoll_pwait2 for a nanosecond timeout, so a
 * timer due in 100 us is not rounded up to a millisecond; where the kernel
 * lacks it (before 5.11) the timeout is rounded up, never down, so timers
 * never fire early.
 */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <sys/epoll.h>

#include "aio/aio-internal.h"
#include "util/clock.h"

/* Events returned by one wait; more ready fds are reported by the next. */
#define FDMON_EPOLL_MAX_EVENTS 128

static int
fdmon_epoll_init(struct aio_ctx *ctx)
{
    ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ctx->epfd < 0) {
        return -errno;
    }
    ctx->epoll_events = calloc(FDMON_EPOLL_MAX_EVENTS,
                               sizeof *ctx->epoll_events);
    if (ctx->epoll_events == NULL) {
        close(ctx->epfd);
        ctx->epfd = -1;
        return -ENOMEM;
    }
    ctx->epoll_max = FDMON_EPOLL_MAX_EVENTS;
    return 0;
}

static void
fdmon_epoll_fini(struct aio_ctx *ctx)
{
    if (ctx->epfd >= 0) {
        close(ctx->epfd);
        ctx->epfd = -1;
    }
    free(ctx->epoll_events);
    ctx->epoll_events = NULL;
}

static int
fdmon_epoll_update(struct aio_ctx *ctx, struct aio_handler *h,
                   uint32_t new_events)
{
    struct epoll_event ev = { .data.ptr = h };
    int op;

    if (new_events & AIO_EV_READ) {
        ev.events |= EPOLLIN | EPOLLRDHUP;
    }
    if (new_events & AIO_EV_WRITE) {
        ev.events |= EPOLLOUT;
    }
    if (h->events == 0) {
        op = EPOLL_CTL_ADD;
    } else if (new_events == 0) {
        op = EPOLL_CTL_DEL;
    } else {
        op = EPOLL_CTL_MOD;
    }
    if (epoll_ctl(ctx->epfd, op, h->fd, &ev) < 0) {
        return -errno;
    }
    return 0;
}

static int
fdmon_epoll_wait(struct aio_ctx *ctx, int64_t timeout_ns)
{
    struct epoll_event *events = ctx->epoll_events;
    int n, marked = 0;

    if (timeout_ns == 0) {
        n = epoll_wait(ctx->epfd, events, ctx->epoll_max, 0);
    } else if (!ctx->epoll_no_pwait2) {
        struct timespec ts, *tsp = NULL;

        if (timeout_ns > 0) {
            ts.tv_sec = timeout_ns / NS_PER_SEC;
            ts.tv_nsec = timeout_ns % NS_PER_SEC;
            tsp = &ts;
        }
        n = epoll_pwait2(ctx->epfd, events, ctx->epoll_max, tsp, NULL);
        if (n < 0 && errno == ENOSYS) {
            ctx->epoll_no_pwait2 = true;
            return fdmon_epoll_wait(ctx, timeout_ns);
        }
    } else {
        int64_t ms = timeout_ns < 0 ? -1
                                    : (timeout_ns + NS_PER_MS - 1) / NS_PER_MS;

        n = epoll_wait(ctx->epfd, events, ctx->epoll_max,
                       ms > INT_MAX ? INT_MAX : (int)ms);
    }
    if (n < 0) {
        /* A signal ends the wait like a timeout; the caller loops. */
        return errno == EINTR ? 0 : -errno;
    }
    for (int i = 0; i < n; i++) {
        struct aio_handler *h = events[i].data.ptr;
        uint32_t ev = events[i].events;
        unsigned bits = 0;

        if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            bits |= AIO_READY_READ;
        }
        if ((ev & (EPOLLOUT | EPOLLERR)) && (h->events & AIO_EV_WRITE)) {
            bits |= AIO_READY_WRITE;
        }
        if (bits) {
            aio_handler_mark_ready(h, bits);
            marked++;
        }
    }
    return marked;
}

static bool
fdmon_epoll_need_wait(struct aio_ctx *ctx)
{
    return false;
}

const struct fdmon_ops fdmon_epoll_ops = {
    .name = "epoll",
    .init = fdmon_epoll_init,
    .fini = fdmon_epoll_fini,
    .update = fdmon_epoll_update,
    .wait = fdmon_epoll_wait,
    .need_wait = fdmon_epoll_need_wait,
};
