/* SPDX-License-Identifier: MIT */
/*
 * The protocol-independent half of the gateway backends: a connection to
 * the remote per (export, I/O thread), its life (connect, serve, lose,
 * reconnect with backoff, close at thread exit), request lists, timeouts,
 * chunking, bounce buffers and counters.  See remote-internal.h.
 *
 * Why one connection per thread rather than a shared pool: the library
 * handles (libnbd, libiscsi) are driven from one loop each, so a handle
 * owned by one thread needs no lock and its completions arrive where the
 * request came from, as the backend contract requires.  NBD multi-conn
 * (and SCSI's shared cache) make the connections equivalent.
 *
 * Why a timeout counts as a lost remote: a request the remote does not
 * answer may still be answered later, into a buffer the front end has
 * reused; closing the session is the one way to be sure the library
 * never touches the request again (QEMU's NBD client does the same).
 *
 * Backoff: the first retry 100 ms after a loss (a restarted server is
 * often back that fast), doubling to 2 s so that a server down for long
 * costs one failed connect per thread every 2 s.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/remote-internal.h"
#include "log.h"
#include "util/clock.h"
#include "util/minmax.h"

#define REMOTE_MAGIC      UINT32_C(0x52454d4f) /* "REMO" */
#define REMOTE_CONN_MAGIC UINT32_C(0x52434f4e) /* "RCON" */
#define REMOTE_BACKOFF_MIN_NS (100 * NS_PER_MS)
#define REMOTE_BACKOFF_MAX_NS (2 * NS_PER_SEC)
/* Timeouts are checked this often at most; a request may so fail up to
 * this much after its deadline. */
#define REMOTE_TICK_MAX_NS (250 * NS_PER_MS)
/* The largest step of one request: reads and writes stay under every
 * NBD server's 32 MiB payload limit, trims and zeroes under NBD's and
 * SCSI's 32-bit counts. */
#define REMOTE_MAX_IO_STEP   (UINT64_C(32) << 20)
#define REMOTE_MAX_OTHER_STEP (UINT64_C(1) << 30)

/* --- Request lists ----------------------------------------------------- */

static void
remote_list_push(struct backend_req **head, struct backend_req **tail,
                 struct backend_req *req)
{
    req->link_next = NULL;
    req->link_prev = *tail;
    if (*tail) {
        (*tail)->link_next = req;
    } else {
        *head = req;
    }
    *tail = req;
}

static void
remote_list_unlink(struct backend_req **head, struct backend_req **tail,
                   struct backend_req *req)
{
    if (req->link_prev) {
        req->link_prev->link_next = req->link_next;
    } else {
        *head = req->link_next;
    }
    if (req->link_next) {
        req->link_next->link_prev = req->link_prev;
    } else {
        *tail = req->link_prev;
    }
    req->link_next = req->link_prev = NULL;
}

/* Queue req for its done callback, run by the bottom half. */
static void
remote_finish(struct remote_conn *c, struct backend_req *req, int err)
{
    req->result = err;
    remote_list_push(&c->done_head, &c->done_tail, req);
    aio_bh_schedule(c->ctx, &c->done_bh);
}

/* --- Buffers and steps -------------------------------------------------- */

static void
remote_iov_copy(struct backend_req *req, bool to_bounce)
{
    uint8_t *p = req->bounce;

    for (int i = 0; i < req->iovcnt; i++) {
        if (to_bounce) {
            memcpy(p, req->iov[i].iov_base, req->iov[i].iov_len);
        } else {
            memcpy(req->iov[i].iov_base, p, req->iov[i].iov_len);
        }
        p += req->iov[i].iov_len;
    }
}

/* The buffer of a read or write (a bounce buffer for several iovecs, the
 * only allocation per request, as in the file backend's O_DIRECT path). */
static int
remote_prepare_buffer(struct backend_req *req)
{
    if ((req->op != BACKEND_OP_READ && req->op != BACKEND_OP_WRITE)
        || req->iovcnt == 1) {
        return 0;
    }
    req->bounce = malloc(req->count);
    if (req->bounce == NULL) {
        return -ENOMEM;
    }
    req->bounce_len = req->count;
    if (req->op == BACKEND_OP_WRITE) {
        remote_iov_copy(req, true);
    }
    return 0;
}

void *
remote_step_data(struct backend_req *req)
{
    uint8_t *base;

    if (req->op != BACKEND_OP_READ && req->op != BACKEND_OP_WRITE) {
        return NULL;
    }
    base = req->bounce ? req->bounce : req->iov[0].iov_base;
    return base + req->progress;
}

/* The remote's limit if it is set and smaller than ours. */
static uint64_t
remote_limit(uint64_t remote_max, uint64_t ours)
{
    return remote_max && remote_max < ours ? remote_max : ours;
}

/* Send req's next step on an UP connection; on failure it is finished. */
static void
remote_send(struct remote_conn *c, struct backend_req *req)
{
    uint64_t left = req->count - req->progress;
    int r;

    switch (req->stage ? BACKEND_OP_FLUSH : req->op) {
    case BACKEND_OP_READ:
    case BACKEND_OP_WRITE:
        req->step_count = MIN(left, remote_limit(c->r->max_io_step,
                                                 REMOTE_MAX_IO_STEP));
        break;
    case BACKEND_OP_TRIM:
        req->step_count = MIN(left, remote_limit(c->r->max_trim_step,
                                                 REMOTE_MAX_OTHER_STEP));
        break;
    case BACKEND_OP_ZERO:
        req->step_count = MIN(left, remote_limit(c->r->max_zero_step,
                                                 REMOTE_MAX_OTHER_STEP));
        break;
    case BACKEND_OP_FLUSH:
    case BACKEND_OP_BLOCK_STATUS:
        req->step_count = left; /* one step; block status may answer less */
        break;
    default:
        req->step_count = MIN(left, REMOTE_MAX_OTHER_STEP);
        break;
    }
    req->start_ns = aio_ctx_now(c->ctx);
    remote_list_push(&c->inflight_head, &c->inflight_tail, req);
    r = c->r->proto->submit(c, req, remote_step_data(req));
    if (r < 0) {
        remote_list_unlink(&c->inflight_head, &c->inflight_tail, req);
        remote_finish(c, req, r == -ENOTCONN ? -EIO : r);
        if (r == -ENOTCONN) {
            remote_conn_lost(c, "the session died");
        }
    }
}

/* --- Timers -------------------------------------------------------------- */

static void
remote_tick_arm(struct remote_conn *c)
{
    int64_t period = MIN(c->r->timeout_ns / 4, REMOTE_TICK_MAX_NS);

    if (c->tick_armed) {
        return;
    }
    c->tick_armed = true;
    aio_timer_mod(c->ctx, &c->tick_timer, clock_now_ns() + period);
}

static void
remote_tick(void *opaque)
{
    struct remote_conn *c = opaque;
    int64_t now = clock_now_ns();

    c->tick_armed = false;
    if (c->state == REMOTE_CONNECTING
        && now - c->connect_start_ns > c->r->timeout_ns) {
        atomic_fetch_add_explicit(&c->timeouts, 1, memory_order_relaxed);
        remote_conn_lost(c, "connect timed out");
        return;
    }
    if (c->state == REMOTE_UP && c->inflight_head
        && now - c->inflight_head->start_ns > c->r->timeout_ns) {
        atomic_fetch_add_explicit(&c->timeouts, 1, memory_order_relaxed);
        remote_conn_lost(c, "a request timed out");
        return;
    }
    if (c->state == REMOTE_CONNECTING || c->inflight_head) {
        remote_tick_arm(c);
    }
}

static void
remote_connect_addr(struct remote_conn *c)
{
    int r = c->r->proto->connect(c);

    if (r < 0) {
        remote_conn_lost(c, strerror(-r));
    }
}

/* The lookup of r->host is done: connect to the address that worked last
 * if it is still there, or else go round the others, one per attempt. */
static void
remote_resolved(void *opaque, const char *err, const struct remote_addrs *a)
{
    struct remote_conn *c = opaque;
    unsigned pick = c->attempts % (a->n ? a->n : 1);
    char why[256];

    c->resolving = NULL;
    if (err) {
        snprintf(why, sizeof why, "cannot resolve %s: %s", c->r->host, err);
        remote_conn_lost(c, why);
        return;
    }
    for (unsigned i = 0; i < a->n; i++) {
        if (strcmp(a->addr[i], c->good_addr) == 0) {
            pick = i;
        }
    }
    memcpy(c->addr, a->addr[pick], sizeof c->addr);
    remote_connect_addr(c);
}

static void
remote_connect(struct remote_conn *c)
{
    c->state = REMOTE_CONNECTING;
    c->connect_start_ns = clock_now_ns();
    c->addr[0] = '\0';
    remote_tick_arm(c); /* the timeout covers the lookup too */
    if (c->r->host == NULL) {
        remote_connect_addr(c);
        return;
    }
    c->resolving = remote_resolve_start(c->ctx, c->r->host, remote_resolved, c);
    if (c->resolving == NULL) {
        remote_conn_lost(c, "cannot start a host name lookup");
    }
}

static void
remote_retry(void *opaque)
{
    struct remote_conn *c = opaque;

    if (c->state == REMOTE_DOWN) {
        log_debug("export %s: %s: reconnecting (attempt %u)",
                  c->r->export_name, c->r->proto->name, c->attempts + 1);
        c->reconnecting = true;
        remote_connect(c);
    }
}

/* --- Completions ---------------------------------------------------------- */

/* A trim or zero with FUA whose data steps are done, on a protocol that
 * makes FUA a flush. */
static bool
remote_needs_flush_step(const struct remote_conn *c,
                        const struct backend_req *req)
{
    return c->r->proto->fua_by_flush && req->stage == 0
           && (req->flags & BACKEND_FUA)
           && (req->op == BACKEND_OP_TRIM || req->op == BACKEND_OP_ZERO);
}

static void
remote_done_bh(void *opaque)
{
    struct remote_conn *c = opaque;
    int64_t now = aio_ctx_now(c->ctx);

    while (c->done_head) {
        struct backend_req *req = c->done_head;
        int err = req->result;

        remote_list_unlink(&c->done_head, &c->done_tail, req);
        if (err == 0 && req->op != BACKEND_OP_BLOCK_STATUS) {
            req->progress += req->step_count;
            if (req->progress < req->count || remote_needs_flush_step(c, req)) {
                if (c->state == REMOTE_UP) {
                    if (req->progress >= req->count) {
                        req->stage = 1;
                    }
                    remote_send(c, req); /* the next step */
                    continue;
                }
                err = -EIO;
            }
        }
        if (req->bounce) {
            if (err == 0 && req->op == BACKEND_OP_READ) {
                remote_iov_copy(req, false);
            }
            free(req->bounce);
            req->bounce = NULL;
        }
        atomic_fetch_add_explicit(&c->requests, 1, memory_order_relaxed);
        if (err < 0) {
            atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
        } else if (req->start_ns) {
            atomic_fetch_add_explicit(&c->latency_ns_sum,
                                      (uint64_t)MAX(now - req->start_ns, 0),
                                      memory_order_relaxed);
            atomic_fetch_add_explicit(&c->latency_count, 1,
                                      memory_order_relaxed);
        }
        req->done(req, err);
    }
}

void
remote_conn_complete(struct remote_conn *c, struct backend_req *req, int err)
{
    assert(c->magic == REMOTE_CONN_MAGIC);
    remote_list_unlink(&c->inflight_head, &c->inflight_tail, req);
    remote_finish(c, req, err);
}

/* --- The fd handler ------------------------------------------------------- */

static void
remote_on_read(void *opaque)
{
    struct remote_conn *c = opaque;

    c->r->proto->service(c, true, false);
}

static void
remote_on_write(void *opaque)
{
    struct remote_conn *c = opaque;

    c->r->proto->service(c, false, true);
}

static const struct aio_handler_ops remote_handler_ops = {
    .read = remote_on_read,
    .write = remote_on_write,
    .name = "remote",
};

static void
remote_unwatch(struct remote_conn *c)
{
    if (c->h) {
        aio_handler_del(c->h);
        c->h = NULL;
    }
    c->fd = -1;
    c->want_write = false;
}

void
remote_conn_watch(struct remote_conn *c, int fd, bool want_write)
{
    if (fd != c->fd) {
        remote_unwatch(c);
        if (fd < 0) {
            return;
        }
        c->h = aio_handler_add(c->ctx, fd, &remote_handler_ops, c);
        if (c->h == NULL) {
            log_error("export %s: %s: cannot watch fd %d: %m",
                      c->r->export_name, c->r->proto->name, fd);
            return; /* the tick times the connection out */
        }
        c->fd = fd;
    }
    if (c->h && want_write != c->want_write) {
        aio_handler_want_write(c->h, want_write);
        c->want_write = want_write;
    }
}

/* --- Life of a connection ------------------------------------------------- */

void
remote_conn_connected(struct remote_conn *c)
{
    assert(c->state == REMOTE_CONNECTING);
    c->state = REMOTE_UP;
    atomic_store_explicit(&c->up, true, memory_order_relaxed);
    if (c->reconnecting) {
        atomic_fetch_add_explicit(&c->reconnects, 1, memory_order_relaxed);
        log_info("export %s: %s: reconnected after %u failed attempt(s)",
                 c->r->export_name, c->r->proto->name, c->attempts);
    }
    c->reconnecting = false;
    c->attempts = 0;
    memcpy(c->good_addr, c->addr, sizeof c->good_addr);
    c->backoff_ns = REMOTE_BACKOFF_MIN_NS;
    while (c->wait_head) {
        struct backend_req *req = c->wait_head;

        remote_list_unlink(&c->wait_head, &c->wait_tail, req);
        remote_send(c, req);
    }
}

/* Fail everything c holds with err, after closing the session. */
static void
remote_fail_all(struct remote_conn *c, int err)
{
    if (c->resolving) {
        remote_resolve_cancel(c->resolving);
        c->resolving = NULL;
    }
    if (c->session) {
        c->r->proto->disconnect(c);
    }
    assert(c->session == NULL);
    remote_unwatch(c);
    while (c->inflight_head) {
        remote_conn_complete(c, c->inflight_head, err);
    }
    while (c->wait_head) {
        struct backend_req *req = c->wait_head;

        remote_list_unlink(&c->wait_head, &c->wait_tail, req);
        remote_finish(c, req, err);
    }
}

void
remote_conn_lost(struct remote_conn *c, const char *why)
{
    assert(c->magic == REMOTE_CONN_MAGIC);
    if (c->state == REMOTE_CLOSED) {
        return;
    }
    if (c->state == REMOTE_UP || c->attempts == 0) {
        log_warn("export %s: %s: %s remote: %s; failing its requests with "
                 "EIO and reconnecting", c->r->export_name,
                 c->r->proto->name,
                 c->state == REMOTE_UP ? "lost the" : "cannot reach the", why);
    } else {
        log_debug("export %s: %s: reconnect failed: %s", c->r->export_name,
                  c->r->proto->name, why);
    }
    if (c->state == REMOTE_CONNECTING) {
        c->good_addr[0] = '\0'; /* go round the addresses */
    }
    c->state = REMOTE_DOWN;
    atomic_store_explicit(&c->up, false, memory_order_relaxed);
    remote_fail_all(c, -EIO);
    c->attempts++;
    aio_timer_mod(c->ctx, &c->retry_timer, clock_now_ns() + c->backoff_ns);
    c->backoff_ns = MIN(c->backoff_ns * 2, REMOTE_BACKOFF_MAX_NS);
}

/* The thread stops: close on it, while its loop still works. */
static void
remote_conn_exit(void *opaque)
{
    struct remote_conn *c = opaque;

    c->state = REMOTE_CLOSED;
    atomic_store_explicit(&c->up, false, memory_order_relaxed);
    aio_timer_del(c->ctx, &c->retry_timer);
    aio_timer_del(c->ctx, &c->tick_timer);
    remote_fail_all(c, -EIO);
    /* Nothing else will run the bottom half. */
    aio_bh_cancel(c->ctx, &c->done_bh);
    remote_done_bh(c);
}

static struct remote_conn *
remote_conn_new(struct remote *r, struct aio_ctx *ctx)
{
    struct remote_conn *c;
    unsigned slot;

    /* Only this thread creates its own connection, so two threads never
     * race for one ctx; they only race for slots. */
    slot = atomic_fetch_add(&r->nconns, 1);
    if (slot >= CONFIG_MAX_IOTHREADS) {
        atomic_fetch_sub(&r->nconns, 1);
        return NULL;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL; /* the slot stays empty; lookups skip it */
    }
    c->magic = REMOTE_CONN_MAGIC;
    c->r = r;
    c->ctx = ctx;
    c->fd = -1;
    c->state = REMOTE_NEW;
    c->backoff_ns = REMOTE_BACKOFF_MIN_NS;
    memcpy(c->good_addr, r->probe_addr, sizeof c->good_addr);
    aio_timer_init(&c->retry_timer, remote_retry, c);
    aio_timer_init(&c->tick_timer, remote_tick, c);
    aio_bh_init(&c->done_bh, remote_done_bh, c);
    c->exit = (struct aio_exit_notifier){ .cb = remote_conn_exit, .opaque = c };
    aio_exit_notifier_add(ctx, &c->exit);
    atomic_store_explicit(&r->conns[slot], c, memory_order_release);
    return c;
}

static struct remote_conn *
remote_conn_find(struct remote *r, struct aio_ctx *ctx)
{
    unsigned n = MIN(atomic_load(&r->nconns), (unsigned)CONFIG_MAX_IOTHREADS);

    for (unsigned i = 0; i < n; i++) {
        struct remote_conn *c =
            atomic_load_explicit(&r->conns[i], memory_order_acquire);

        if (c && c->ctx == ctx) {
            return c;
        }
    }
    return NULL;
}

void
remote_submit(struct remote *r, struct backend_req *req)
{
    struct remote_conn *c;
    int err;

    assert(r->magic == REMOTE_MAGIC);
    c = remote_conn_find(r, req->ctx);
    if (c == NULL) {
        c = remote_conn_new(r, req->ctx);
        if (c == NULL) {
            req->done(req, -ENOMEM);
            return;
        }
    }
    req->handle = c;
    req->start_ns = 0;
    req->step_count = 0;
    err = remote_prepare_buffer(req);
    if (err < 0) {
        req->done(req, err);
        return;
    }
    switch (c->state) {
    case REMOTE_NEW:
        remote_list_push(&c->wait_head, &c->wait_tail, req);
        remote_connect(c);
        break;
    case REMOTE_CONNECTING:
        if (!c->reconnecting) {
            remote_list_push(&c->wait_head, &c->wait_tail, req);
            break;
        }
        /* A reconnect is a lost remote until it succeeds. */
        __attribute__((fallthrough));
    case REMOTE_DOWN:
    case REMOTE_CLOSED:
        remote_finish(c, req, -EIO);
        break;
    case REMOTE_UP:
        remote_send(c, req);
        if (c->state == REMOTE_UP) {
            remote_tick_arm(c);
        }
        break;
    }
}

/* --- Export ---------------------------------------------------------------- */

int
remote_init(struct remote *r, const struct remote_proto *proto,
            const struct config_export *cfg, void *priv)
{
    memset(r, 0, sizeof *r);
    r->export_name = strdup(cfg->name);
    if (r->export_name == NULL) {
        return -ENOMEM;
    }
    r->magic = REMOTE_MAGIC;
    r->proto = proto;
    r->priv = priv;
    r->timeout_ns = cfg->request_timeout_ns ? cfg->request_timeout_ns
                                            : REMOTE_DEFAULT_TIMEOUT_NS;
    return 0;
}

void
remote_fini(struct remote *r)
{
    unsigned n = MIN(atomic_load(&r->nconns), (unsigned)CONFIG_MAX_IOTHREADS);

    assert(r->magic == REMOTE_MAGIC);
    for (unsigned i = 0; i < n; i++) {
        struct remote_conn *c = atomic_load(&r->conns[i]);

        if (c) {
            /* Its thread's exit notifier closed it. */
            assert(c->state == REMOTE_CLOSED && c->session == NULL);
            c->magic = 0;
            free(c);
        }
    }
    free(r->export_name);
    free(r->host);
    r->magic = 0;
}

void
remote_stats(struct remote *r, struct backend_remote_stats *out)
{
    unsigned n = MIN(atomic_load(&r->nconns), (unsigned)CONFIG_MAX_IOTHREADS);

    for (unsigned i = 0; i < n; i++) {
        struct remote_conn *c =
            atomic_load_explicit(&r->conns[i], memory_order_acquire);

        if (c == NULL) {
            continue;
        }
        out->threads++;
        out->connections += atomic_load_explicit(&c->up, memory_order_relaxed);
#define REMOTE_SUM(f) out->f += atomic_load_explicit(&c->f, memory_order_relaxed)
        REMOTE_SUM(requests);
        REMOTE_SUM(errors);
        REMOTE_SUM(timeouts);
        REMOTE_SUM(reconnects);
        REMOTE_SUM(latency_ns_sum);
        REMOTE_SUM(latency_count);
#undef REMOTE_SUM
    }
}
