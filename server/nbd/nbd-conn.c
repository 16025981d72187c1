/* SPDX-License-Identifier: MIT */
/*
 * One NBD connection on its I/O thread: receive buffer, transmit queue,
 * request pool, lifetime.
 *
 * Receiving: the socket is a polled handler.  Its poll callback does the
 * recv itself (into the receive buffer, or straight into a write's payload
 * buffer), so a poll pass that finds a request has also read it: one
 * system call per batch of requests, not a peek and then a read.
 *
 * Transmitting: replies are queued as iovecs (header + data, no copy) and
 * sent with one sendmsg per batch: when the receive loop has parsed
 * everything it has, or when an asynchronous completion arrives outside
 * it.  A partial send leaves the rest queued and asks for writability.
 *
 * Lifetime: requests come from a fixed per-connection pool (no allocation
 * per request; payload buffers are kept and reused).  When the pool is
 * empty the connection stops reading until a request completes, which is
 * the back-pressure a client sees.  A connection whose peer vanishes stops
 * I/O at once but is freed only when the last in-flight backend request
 * has completed, because the backend still holds pointers into it.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "nbd/nbd-internal.h"
#include "util/clock.h"

static void nbd_conn_on_readable(void *opaque);
static void nbd_conn_on_writable(void *opaque);
static bool nbd_conn_poll(void *opaque);
static void nbd_conn_maybe_free(struct nbd_conn *conn);
static void nbd_conn_release_blob(struct nbd_conn *conn, struct nbd_tx *tx);
static void nbd_conn_flush_bh(void *opaque);

/* A reply went out (or never will): its owner gets it back. */
static void
nbd_conn_tx_release(struct txq_item *it, void *opaque)
{
    struct nbd_tx *tx = (struct nbd_tx *)it;

    if (tx->release) {
        tx->release(opaque, tx);
    }
}

/* At the free: only copies are left to free (requests are gone). */
static void
nbd_conn_tx_forget(struct txq_item *it, void *opaque)
{
    struct nbd_tx *tx = (struct nbd_tx *)it;

    (void)opaque;
    if (tx->release == nbd_conn_release_blob) {
        free(tx);
    }
}

static const struct aio_handler_ops nbd_conn_ops = {
    .read = nbd_conn_on_readable,
    .write = nbd_conn_on_writable,
    .poll = nbd_conn_poll,
    .poll_ready = nbd_conn_on_readable,
    .name = "nbd",
};

static void
nbd_conn_hs_timeout(void *opaque)
{
    struct nbd_conn *conn = opaque;

    log_warn("nbd %s: handshake not finished within the handshake-timeout; "
             "closing",
             conn->peer);
    nbd_conn_close_soon(conn, NULL);
}

void
nbd_conn_attach_on_thread(struct nbd_server *srv, struct iothread *t, int fd,
                          const struct sockaddr_storage *peer,
                          socklen_t peerlen)
{
    struct nbd_conn *conn = calloc(1, sizeof *conn);
    unsigned id = iothread_id(t);

    if (conn == NULL || (conn->rx = malloc(NBD_RXBUF_SIZE)) == NULL) {
        log_error("nbd: cannot set up a connection: out of memory");
        free(conn);
        close(fd);
        frontend_conn_gone(&srv->fe, t);
        return;
    }
    conn->magic = NBD_CONN_MAGIC;
    conn->srv = srv;
    conn->iothread = t;
    conn->ctx = iothread_ctx(t);
    conn->fd = fd;
    memcpy(&conn->peer_addr, peer, peerlen);
    conn->peer_len = peerlen;
    listen_format_peer(peer, peerlen, conn->peer, sizeof conn->peer);
    txq_init(&conn->txq);
    conn->connected_ns = clock_now_ns();
    for (int i = NBD_MAX_INFLIGHT - 1; i >= 0; i--) {
        conn->reqs[i].conn = conn;
        conn->reqs[i].next_free = conn->free_reqs;
        conn->free_reqs = &conn->reqs[i];
    }

    conn->next = srv->thread_conns[id];
    if (conn->next) {
        conn->next->prev = conn;
    }
    srv->thread_conns[id] = conn;

    conn->h = aio_handler_add(conn->ctx, fd, &nbd_conn_ops, conn);
    if (conn->h == NULL) {
        log_error("nbd %s: cannot register with iothread %u: %m", conn->peer,
                  id);
        conn->state = NBD_STATE_DEAD;
        close(fd);
        conn->fd = -1;
        nbd_conn_maybe_free(conn);
        return;
    }
    aio_timer_init(&conn->hs_timer, nbd_conn_hs_timeout, conn);
    aio_bh_init(&conn->flush_bh, nbd_conn_flush_bh, conn);
    aio_timer_mod(conn->ctx, &conn->hs_timer,
                  clock_now_ns() + srv->cfg->nbd_handshake_timeout_ns);
    log_debug("nbd %s: connected on iothread %u", conn->peer, id);
    nbd_hs_greet(conn);
    nbd_conn_flush(conn);
}

/* The deferred free: runs as a message on the connection's own thread, so
 * no caller up the stack is left holding a freed pointer. */
static void
nbd_conn_free_on_thread(void *opaque)
{
    struct nbd_conn *conn = opaque;
    struct nbd_server *srv = conn->srv;
    unsigned id = iothread_id(conn->iothread);

    assert(conn->magic == NBD_CONN_MAGIC);
    assert(conn->state == NBD_STATE_DEAD && conn->inflight == 0);
    if (conn->prev) {
        conn->prev->next = conn->next;
    } else {
        srv->thread_conns[id] = conn->next;
    }
    if (conn->next) {
        conn->next->prev = conn->prev;
    }
    txq_drop(&conn->txq, nbd_conn_tx_forget, conn);
    for (int i = 0; i < NBD_MAX_INFLIGHT; i++) {
        free(conn->reqs[i].buf);
        free(conn->reqs[i].extents);
        free(conn->reqs[i].bs_buf);
    }
    free(conn->optbuf);
    free(conn->meta_export);
    free(conn->rx);
    frontend_conn_gone(&srv->fe, conn->iothread);
    conn->magic = 0;
    free(conn);
}

/* Free once nothing refers to the connection any more: dead, and no
 * request still held by a backend. */
static void
nbd_conn_maybe_free(struct nbd_conn *conn)
{
    if (conn->state != NBD_STATE_DEAD || conn->inflight > 0 ||
        conn->free_scheduled) {
        return;
    }
    conn->free_scheduled = true;
    if (aio_ctx_run(conn->ctx, nbd_conn_free_on_thread, conn) < 0) {
        log_error("nbd %s: out of memory freeing a connection; leaking it",
                  conn->peer);
    }
}

/* Stop all socket I/O now (peer gone, protocol violation, done). */
static void
nbd_conn_kill(struct nbd_conn *conn)
{
    if (conn->state == NBD_STATE_DEAD) {
        return;
    }
    log_debug("nbd %s: closed (%u request(s) still in flight)", conn->peer,
              conn->inflight);
    conn->state = NBD_STATE_DEAD;
    if (conn->rx_req) {
        /* A write whose payload will never arrive: never submitted, so
         * nothing but us holds it. */
        struct nbd_req *req = conn->rx_req;

        conn->rx_req = NULL;
        STATS_RELAXED_ADD(conn->stats.inflight, -1);
        if (conn->export_stats) {
            STATS_RELAXED_ADD(conn->export_stats->inflight, -1);
        }
        nbd_conn_release_req(conn, req);
    }
    aio_timer_del(conn->ctx, &conn->hs_timer);
    aio_bh_cancel(conn->ctx, &conn->flush_bh);
    if (conn->h) {
        aio_handler_del(conn->h);
        conn->h = NULL;
    }
    if (conn->fd >= 0) {
        close(conn->fd);
        conn->fd = -1;
    }
    /* Nothing queued will be sent now: give back what it holds. */
    txq_drop(&conn->txq, nbd_conn_tx_release, conn);
    nbd_conn_maybe_free(conn);
}

void
nbd_conn_close_soon(struct nbd_conn *conn, const char *why)
{
    if (why) {
        log_warn("nbd %s: %s; closing the connection", conn->peer, why);
    }
    if (conn->state == NBD_STATE_DEAD) {
        return;
    }
    conn->state = NBD_STATE_CLOSING;
    nbd_conn_flush(conn);
}

/* On the target thread: take over a connection moved by nbd_conn_migrate. */
static void
nbd_conn_adopt(void *opaque)
{
    struct nbd_conn *conn = opaque;
    struct nbd_server *srv = conn->srv;
    unsigned id = iothread_id(conn->iothread);

    conn->ctx = iothread_ctx(conn->iothread);
    conn->export_stats = &conn->export->stats[id];
    conn->prev = NULL;
    conn->next = srv->thread_conns[id];
    if (conn->next) {
        conn->next->prev = conn;
    }
    srv->thread_conns[id] = conn;
    conn->want_write = false;
    conn->h = aio_handler_add(conn->ctx, conn->fd, &nbd_conn_ops, conn);
    if (conn->h == NULL) {
        log_error("nbd %s: cannot move to iothread %u: %m", conn->peer, id);
        nbd_conn_kill(conn);
        return;
    }
    log_debug("nbd %s: moved to iothread %u", conn->peer, id);
    /* Requests may already be buffered: serve them now. */
    nbd_conn_on_readable(conn);
}

/*
 * Move the connection to the I/O thread its export is pinned to.  Only
 * between handshake and transmission, when nothing is in flight, so the
 * only state that travels is memory: the fd, buffers and queued replies.
 */
static void
nbd_conn_migrate(struct nbd_conn *conn, struct iothread *target)
{
    struct nbd_server *srv = conn->srv;
    unsigned id = iothread_id(conn->iothread);

    assert(conn->inflight == 0);
    aio_bh_cancel(conn->ctx, &conn->flush_bh); /* it is this thread's */
    aio_handler_del(conn->h);
    conn->h = NULL;
    if (conn->prev) {
        conn->prev->next = conn->next;
    } else {
        srv->thread_conns[id] = conn->next;
    }
    if (conn->next) {
        conn->next->prev = conn->prev;
    }
    iothread_conn_removed(conn->iothread);
    iothread_conn_added(target);
    conn->iothread = target;
    conn->ctx = NULL;
    if (iothread_run(target, nbd_conn_adopt, conn) < 0) {
        /* Out of memory for one message: stay here instead. */
        log_warn("nbd %s: cannot move to iothread %u; serving it here",
                 conn->peer, iothread_id(target));
        conn->iothread = srv->iothreads[id];
        iothread_conn_removed(target);
        iothread_conn_added(conn->iothread);
        nbd_conn_adopt(conn);
    }
}

void
nbd_conn_enter_transmission(struct nbd_conn *conn)
{
    int pin = conn->export->iothread;

    aio_timer_del(conn->ctx, &conn->hs_timer);
    free(conn->optbuf);
    conn->optbuf = NULL;
    conn->state = NBD_STATE_TX_HEADER;
    if (pin >= 0 && (unsigned)pin < conn->srv->niothreads &&
        conn->srv->iothreads[pin] != conn->iothread) {
        conn->migrating = true;
    }
}

void
nbd_conn_queue(struct nbd_conn *conn, struct nbd_tx *tx)
{
    txq_push(&conn->txq, &tx->item, tx->iov, tx->iovcnt);
}

static void
nbd_conn_release_blob(struct nbd_conn *conn, struct nbd_tx *tx)
{
    free(tx);
}

int
nbd_conn_queue_copy(struct nbd_conn *conn, const void *buf, size_t len)
{
    struct nbd_tx *tx = malloc(sizeof *tx + len);

    if (tx == NULL) {
        return -ENOMEM;
    }
    memcpy(tx + 1, buf, len);
    tx->iov[0].iov_base = tx + 1;
    tx->iov[0].iov_len = len;
    tx->iovcnt = 1;
    tx->release = nbd_conn_release_blob;
    nbd_conn_queue(conn, tx);
    return 0;
}

void
nbd_conn_release_req(struct nbd_conn *conn, struct nbd_req *req)
{
    assert(conn->inflight > 0);
    req->next_free = conn->free_reqs;
    conn->free_reqs = req;
    conn->inflight--;
    if (conn->state == NBD_STATE_DEAD) {
        nbd_conn_maybe_free(conn); /* the last request frees the connection */
        return;
    }
    if (conn->draining) {
        if (!conn->in_flush) {
            nbd_conn_drain_check(conn);
        }
        return;
    }
    if (conn->rx_paused) {
        /* A request is free again: parse what is buffered and read on. */
        conn->rx_paused = false;
        if (conn->h) {
            aio_handler_want_read(conn->h, true);
        }
        if (!conn->in_rx) {
            nbd_conn_on_readable(conn);
        }
    }
}

static void
nbd_conn_set_want_write(struct nbd_conn *conn, bool want)
{
    if (conn->want_write != want && conn->h) {
        conn->want_write = want;
        aio_handler_want_write(conn->h, want);
    }
}

/* The connection is done with the handshake or drain: close it when all
 * is sent and nothing is in flight. */
static void
nbd_conn_check_closing(struct nbd_conn *conn)
{
    if (conn->state == NBD_STATE_CLOSING && txq_empty(&conn->txq) &&
        conn->inflight == 0) {
        nbd_conn_kill(conn);
    }
}

void
nbd_conn_flush(struct nbd_conn *conn)
{
    int r;

    if (conn->in_rx || conn->in_flush || conn->state == NBD_STATE_DEAD) {
        return; /* the receive loop flushes when it is done */
    }
    conn->in_flush = true;
    r = txq_send(&conn->txq, conn->fd, nbd_conn_tx_release, conn);
    conn->in_flush = false;
    if (r == -EAGAIN) {
        nbd_conn_set_want_write(conn, true);
        return;
    }
    if (r < 0) {
        log_debug("nbd %s: send: %s", conn->peer, strerror(-r));
        nbd_conn_kill(conn);
        return;
    }
    nbd_conn_set_want_write(conn, false);
    if (conn->draining) {
        nbd_conn_drain_check(conn);
    }
    nbd_conn_check_closing(conn);
}

static void
nbd_conn_flush_bh(void *opaque)
{
    nbd_conn_flush(opaque);
}

void
nbd_conn_flush_soon(struct nbd_conn *conn)
{
    if (conn->state != NBD_STATE_DEAD) {
        aio_bh_schedule(conn->ctx, &conn->flush_bh);
    }
}

static void
nbd_conn_on_writable(void *opaque)
{
    nbd_conn_flush(opaque);
}

/*
 * Read what the socket has: into a write's payload buffer if one is being
 * filled, otherwise into the receive buffer.  Returns bytes read, 0 on EOF
 * (conn->rx_eof set), -EAGAIN if nothing is there, -errno on error.
 */
static ssize_t
nbd_conn_recv(struct nbd_conn *conn)
{
    void *dst;
    size_t room;
    ssize_t n;

    if (conn->state == NBD_STATE_TX_PAYLOAD) {
        struct nbd_req *req = conn->rx_req;

        dst = req->buf + conn->rx_got;
        room = req->count - conn->rx_got;
    } else {
        if (conn->rx_start == conn->rx_end) {
            conn->rx_start = conn->rx_end = 0;
        } else if (conn->rx_end == NBD_RXBUF_SIZE) {
            /* Move the partial message to the front to make room. */
            memmove(conn->rx, conn->rx + conn->rx_start,
                    conn->rx_end - conn->rx_start);
            conn->rx_end -= conn->rx_start;
            conn->rx_start = 0;
        }
        dst = conn->rx + conn->rx_end;
        room = NBD_RXBUF_SIZE - conn->rx_end;
        if (room == 0) {
            return -EAGAIN; /* a full buffer is parsed before more is read */
        }
    }
    n = recv(conn->fd, dst, room, MSG_DONTWAIT);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    if (n == 0) {
        conn->rx_eof = true;
        return 0;
    }
    if (conn->state == NBD_STATE_TX_PAYLOAD) {
        conn->rx_got += (uint32_t)n;
    } else {
        conn->rx_end += (size_t)n;
    }
    return n;
}

/* Parse everything buffered. */
static void
nbd_conn_process(struct nbd_conn *conn)
{
    for (;;) {
        switch (conn->state) {
        case NBD_STATE_HS_CLIENT_FLAGS:
        case NBD_STATE_HS_OPTION:
        case NBD_STATE_HS_OPTION_DATA:
            if (!nbd_hs_process(conn)) {
                return;
            }
            break;
        case NBD_STATE_TX_HEADER:
            if (conn->draining) {
                /* Shutting down: no new requests (a payload in progress
                 * was still read to the end). */
                conn->rx_paused = true;
                return;
            }
            if (conn->migrating || conn->rx_paused || !nbd_req_process(conn)) {
                return;
            }
            break;
        case NBD_STATE_TX_PAYLOAD:
            if (conn->rx_got < conn->rx_req->count) {
                return;
            }
            nbd_req_payload_done(conn);
            break;
        default:
            return;
        }
    }
}

static bool
nbd_conn_poll(void *opaque)
{
    struct nbd_conn *conn = opaque;

    if (conn->rx_paused || conn->state >= NBD_STATE_CLOSING) {
        return false;
    }
    return nbd_conn_recv(conn) != -EAGAIN;
}

static void
nbd_conn_on_readable(void *opaque)
{
    struct nbd_conn *conn = opaque;
    int rounds = 0;

    if (conn->state >= NBD_STATE_CLOSING) {
        if (conn->state == NBD_STATE_CLOSING) {
            /* Not reading any more: drain the socket to notice EOF. */
            char sink[4096];

            if (recv(conn->fd, sink, sizeof sink, MSG_DONTWAIT) == 0) {
                nbd_conn_kill(conn);
            }
        }
        return;
    }
    conn->in_rx = true;
    /* Parse what poll() already read, then read more until the socket is
     * empty, bounded so one busy client cannot starve the others. */
    for (;;) {
        ssize_t n;

        nbd_conn_process(conn);
        if (conn->state >= NBD_STATE_CLOSING || conn->rx_paused ||
            conn->migrating || ++rounds > 16) {
            break;
        }
        n = nbd_conn_recv(conn);
        if (n == -EAGAIN) {
            break;
        }
        if (n <= 0) {
            if (n < 0) {
                log_debug("nbd %s: recv: %s", conn->peer, strerror((int)-n));
            }
            conn->in_rx = false;
            if (conn->state == NBD_STATE_TX_HEADER &&
                conn->rx_start == conn->rx_end && n == 0) {
                log_debug("nbd %s: client closed the connection", conn->peer);
            } else if (n == 0) {
                log_info("nbd %s: client disconnected mid-message", conn->peer);
            }
            nbd_conn_kill(conn);
            return;
        }
    }
    conn->in_rx = false;
    if (conn->rx_paused && conn->h) {
        aio_handler_want_read(conn->h, false);
    }
    nbd_conn_flush(conn);
    if (conn->migrating && conn->state == NBD_STATE_TX_HEADER) {
        conn->migrating = false;
        nbd_conn_migrate(conn, conn->srv->iothreads[conn->export->iothread]);
    }
}

static void
nbd_conn_drain_flush_done(struct backend_req *breq, int err)
{
    struct nbd_req *req = (struct nbd_req *)breq;
    struct nbd_conn *conn = req->conn;

    if (err < 0) {
        log_error("nbd %s: flush at shutdown failed: %s", conn->peer,
                  strerror(-err));
    }
    conn->drain_flushing = false;
    /* CLOSING before the request goes back: releasing it re-runs the drain
     * check, which must see that the final flush is done, or a backend
     * that completes flushes inline would flush again, recursively. */
    conn->state = NBD_STATE_CLOSING;
    nbd_conn_release_req(conn, req);
    nbd_conn_flush(conn);
}

void
nbd_conn_drain(struct nbd_conn *conn)
{
    conn->draining = true;
    if (conn->state < NBD_STATE_TX_HEADER || conn->export == NULL) {
        nbd_conn_kill(conn); /* still negotiating: nothing to finish */
        return;
    }
    if (conn->state == NBD_STATE_DEAD) {
        return;
    }
    /* Stop reading new requests (a write's payload being received is read
     * to its end first); answer what is in flight; then flush and close. */
    if (conn->state != NBD_STATE_TX_PAYLOAD) {
        conn->rx_paused = true;
        if (conn->h) {
            aio_handler_want_read(conn->h, false);
        }
    }
    nbd_conn_drain_check(conn);
}

void
nbd_conn_drain_check(struct nbd_conn *conn)
{
    struct nbd_req *req;

    if (!conn->draining || conn->drain_flushing || conn->inflight > 0 ||
        conn->state == NBD_STATE_TX_PAYLOAD ||
        conn->state == NBD_STATE_DEAD || conn->state == NBD_STATE_CLOSING) {
        return;
    }
    req = conn->free_reqs;
    conn->free_reqs = req->next_free;
    conn->inflight++;
    conn->drain_flushing = true;
    memset(&req->breq, 0, sizeof req->breq);
    req->breq.ctx = conn->ctx;
    req->breq.done = nbd_conn_drain_flush_done;
    if (backend_caps(conn->export->backend) & BACKEND_CAN_FLUSH) {
        backend_flush(conn->export->backend, &req->breq);
    } else {
        nbd_conn_drain_flush_done(&req->breq, 0);
    }
}
