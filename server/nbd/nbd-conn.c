/* SPDX-License-Identifier: MIT */
/*
 * One NBD connection on its I/O thread: what NBD adds to the socket
 * connection of conn.c (receive loop, transmit queue, close and deferred
 * free live there): the request pool, reading a write's payload straight
 * into its request, the handshake timer, the move to an export's pinned
 * thread, the drain, and keeping a reply sent in pieces together on the
 * wire (other replies wait behind it).
 *
 * Requests come from a fixed per-connection pool (no allocation per
 * request; payload buffers are kept and reused).  When the pool is empty
 * the connection stops reading until a request completes, which is the
 * back-pressure a client sees.  A connection whose peer vanished is freed
 * only when the last in-flight backend request has completed, because the
 * backend still holds pointers into it.
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

static void nbd_conn_release_blob(struct nbd_conn *conn, struct nbd_tx *tx);
static const struct conn_ops nbd_conn_ops;

/* A reply went out (or never will): its owner gets it back.  At the
 * free only copies can be left (no request is out by then). */
static void
nbd_conn_tx_release(struct conn *c, struct txq_item *it)
{
    struct nbd_tx *tx = (struct nbd_tx *)it;

    if (tx->release) {
        tx->release(CONN_OUTER(struct nbd_conn, c), tx);
    }
}

static void
nbd_conn_hs_timeout(void *opaque)
{
    struct nbd_conn *conn = opaque;

    log_warn("nbd %s: handshake not finished within the handshake-timeout; "
             "closing",
             conn->base.peer);
    conn_close_soon(&conn->base, NULL);
}

void
nbd_conn_attach_on_thread(struct nbd_server *srv, struct iothread *t, int fd,
                          const struct sockaddr_storage *peer,
                          socklen_t peerlen)
{
    struct nbd_conn *conn = conn_new(sizeof *conn, &nbd_conn_ops, &srv->fe, t,
                                     fd, peer, peerlen, NBD_RXBUF_SIZE);

    if (conn == NULL) {
        return;
    }
    conn->magic = NBD_CONN_MAGIC;
    conn->srv = srv;
    /* Only max-inflight of the slots are ever used: with max-payload
     * they bound what one connection can make us buffer. */
    assert(srv->cfg->nbd_max_inflight <= NBD_MAX_INFLIGHT);
    for (int i = (int)srv->cfg->nbd_max_inflight - 1; i >= 0; i--) {
        conn->reqs[i].conn = conn;
        conn->reqs[i].next_free = conn->free_reqs;
        conn->free_reqs = &conn->reqs[i];
    }
    aio_timer_init(&conn->hs_timer, nbd_conn_hs_timeout, conn);
    if (conn_start(&conn->base) < 0) {
        return; /* killed, and freed through nbd_conn_free */
    }
    aio_timer_mod(conn->base.ctx, &conn->hs_timer,
                  clock_now_ns() + srv->cfg->nbd_handshake_timeout_ns);
    log_debug("nbd %s: connected on iothread %u", conn->base.peer,
              iothread_id(t));
    nbd_hs_greet(conn);
    conn_flush(&conn->base);
}

/* The protocol's part of the deferred free (conn.c runs it on the
 * connection's own thread once it is dead and quiesced: no request is
 * out, so nothing refers to it). */
static void
nbd_conn_free(struct conn *c)
{
    struct nbd_conn *conn = CONN_OUTER(struct nbd_conn, c);

    assert(conn->inflight == 0);
    for (int i = 0; i < NBD_MAX_INFLIGHT; i++) {
        free(conn->reqs[i].buf);
        free(conn->reqs[i].extents);
        free(conn->reqs[i].bs_buf);
    }
    free(conn->optbuf);
    free(conn->meta_export);
    conn->magic = 0;
}

/* The socket is gone (peer gone, protocol violation, done). */
static void
nbd_conn_on_kill(struct conn *c)
{
    struct nbd_conn *conn = CONN_OUTER(struct nbd_conn, c);

    log_debug("nbd %s: %u request(s) still in flight", c->peer,
              conn->inflight);
    aio_timer_del(c->ctx, &conn->hs_timer);
    /* Replies that waited behind a streamed one will never be sent. */
    conn->tx_owner = NULL;
    while (conn->held != NULL) {
        struct nbd_tx *tx = conn->held;

        conn->held = tx->held_next;
        if (tx->release) {
            tx->release(conn, tx);
        }
    }
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
}

/* On the target thread: take over a connection moved by nbd_conn_migrate. */
static void
nbd_conn_adopt(void *opaque)
{
    struct nbd_conn *conn = opaque;
    unsigned id = iothread_id(conn->base.iothread);

    conn->export_stats = &conn->export->stats[id];
    if (conn_attach(&conn->base) == 0) {
        log_debug("nbd %s: moved to iothread %u", conn->base.peer, id);
    }
}

/*
 * Move the connection to the I/O thread its export is pinned to.  Only
 * between handshake and transmission, when nothing is in flight, so the
 * only state that travels is memory: the fd, buffers and queued replies.
 */
static void
nbd_conn_migrate(struct nbd_conn *conn, struct iothread *target)
{
    struct iothread *from = conn->base.iothread;

    assert(conn->inflight == 0);
    conn_detach(&conn->base);
    iothread_conn_removed(from);
    iothread_conn_added(target);
    conn->base.iothread = target;
    if (iothread_run(target, nbd_conn_adopt, conn) < 0) {
        /* Out of memory for one message: stay here instead. */
        log_warn("nbd %s: cannot move to iothread %u; serving it here",
                 conn->base.peer, iothread_id(target));
        conn->base.iothread = from;
        iothread_conn_removed(target);
        iothread_conn_added(from);
        nbd_conn_adopt(conn);
    }
}

/* After a receive loop: the move the handshake asked for. */
static void
nbd_conn_after_rx(struct conn *c)
{
    struct nbd_conn *conn = CONN_OUTER(struct nbd_conn, c);

    if (conn->migrating && conn->state == NBD_STATE_TX_HEADER) {
        conn->migrating = false;
        c->rx_hold = false;
        nbd_conn_migrate(conn, conn->srv->iothreads[conn->export->iothread]);
    }
}

void
nbd_conn_enter_transmission(struct nbd_conn *conn)
{
    int pin = conn->export->iothread;

    aio_timer_del(conn->base.ctx, &conn->hs_timer);
    free(conn->optbuf);
    conn->optbuf = NULL;
    conn->state = NBD_STATE_TX_HEADER;
    if (pin >= 0 && (unsigned)pin < conn->srv->niothreads &&
        conn->srv->iothreads[pin] != conn->base.iothread) {
        conn->migrating = true;
        conn->base.rx_hold = true; /* nothing more is read here */
    }
}

static void
nbd_conn_push(struct nbd_conn *conn, struct nbd_tx *tx)
{
    conn_queue(&conn->base, &tx->item, tx->iov, tx->iovcnt);
    conn->tx_owner = tx->more ? tx->owner : NULL;
}

/*
 * A reply sent in pieces (a simple READ reply streamed from the backend)
 * has its header before its data: nothing else may go between its
 * pieces, so other replies wait in a list and follow it, in order.
 */
void
nbd_conn_queue(struct nbd_conn *conn, struct nbd_tx *tx)
{
    if (conn->tx_owner != NULL && tx->owner != conn->tx_owner) {
        tx->held_next = NULL;
        if (conn->held == NULL) {
            conn->held_tail = &conn->held;
        }
        *conn->held_tail = tx;
        conn->held_tail = &tx->held_next;
        return;
    }
    nbd_conn_push(conn, tx);
    while (conn->tx_owner == NULL && conn->held != NULL) {
        struct nbd_tx *next = conn->held;

        conn->held = next->held_next;
        nbd_conn_push(conn, next);
    }
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
    tx->owner = NULL;
    tx->more = false;
    nbd_conn_queue(conn, tx);
    return 0;
}

void
nbd_conn_release_req(struct nbd_conn *conn, struct nbd_req *req)
{
    assert(conn->inflight > 0);
    conn->write_bytes -= req->budget;
    req->budget = 0;
    if (req->bufcap > NBD_READ_PIECE) {
        /* Keep small buffers for steady traffic; give back what one
         * large write needed, so an idle connection stays small. */
        free(req->buf);
        req->buf = NULL;
        req->bufcap = 0;
    }
    req->next_free = conn->free_reqs;
    conn->free_reqs = req;
    conn->inflight--;
    if (conn->base.life == CONN_DEAD) {
        conn_maybe_free(&conn->base); /* the last request frees it */
        return;
    }
    if (conn->draining) {
        if (!conn->base.in_flush) {
            nbd_conn_drain_check(conn);
        }
        return;
    }
    /* A request is free again: parse what is buffered and read on. */
    conn_resume_rx(&conn->base);
}

static bool
nbd_conn_quiesced(const struct conn *c)
{
    return CONN_OUTER(const struct nbd_conn, c)->inflight == 0;
}

static void
nbd_conn_on_flushed(struct conn *c)
{
    struct nbd_conn *conn = CONN_OUTER(struct nbd_conn, c);

    if (conn->draining) {
        nbd_conn_drain_check(conn);
    }
}

/* A write's payload goes straight into its request's buffer. */
static bool
nbd_conn_rx_sink(struct conn *c, void **dst, size_t *room)
{
    struct nbd_conn *conn = CONN_OUTER(struct nbd_conn, c);
    struct nbd_req *req = conn->rx_req;

    if (conn->state != NBD_STATE_TX_PAYLOAD || req->discard) {
        return false; /* a discarded payload is dropped from rx */
    }
    *dst = req->buf + conn->rx_got;
    *room = req->payload - conn->rx_got;
    return true;
}

static void
nbd_conn_rx_sunk(struct conn *c, size_t n)
{
    CONN_OUTER(struct nbd_conn, c)->rx_got += n;
}

/* Parse everything buffered. */
static void
nbd_conn_process(struct conn *c)
{
    struct nbd_conn *conn = CONN_OUTER(struct nbd_conn, c);

    while (c->life == CONN_OPEN) {
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
                c->rx_paused = true;
                return;
            }
            if (conn->migrating || c->rx_paused || !nbd_req_process(conn)) {
                return;
            }
            break;
        case NBD_STATE_TX_PAYLOAD:
            if (conn->rx_req->discard) {
                size_t avail = c->rx_end - c->rx_start;
                uint64_t need = conn->rx_req->payload - conn->rx_got;
                size_t take = avail < need ? avail : (size_t)need;

                c->rx_start += take;
                conn->rx_got += take;
            }
            if (conn->rx_got < conn->rx_req->payload) {
                return;
            }
            nbd_req_payload_done(conn);
            break;
        }
    }
}

static void
nbd_conn_on_tls(struct conn *c)
{
    nbd_hs_tls_ready(CONN_OUTER(struct nbd_conn, c));
}

static const struct conn_ops nbd_conn_ops = {
    .name = "nbd",
    .process = nbd_conn_process,
    .rx_sink = nbd_conn_rx_sink,
    .rx_sunk = nbd_conn_rx_sunk,
    .tx_release = nbd_conn_tx_release,
    .quiesced = nbd_conn_quiesced,
    .on_flushed = nbd_conn_on_flushed,
    .after_rx = nbd_conn_after_rx,
    .on_kill = nbd_conn_on_kill,
    .on_tls = nbd_conn_on_tls,
    .free = nbd_conn_free,
};

static void
nbd_conn_drain_flush_done(struct backend_req *breq, int err)
{
    struct nbd_req *req = (struct nbd_req *)breq;
    struct nbd_conn *conn = req->conn;

    if (err < 0) {
        log_error("nbd %s: flush at shutdown failed: %s", conn->base.peer,
                  strerror(-err));
    }
    conn->drain_flushing = false;
    /* CLOSING before the request goes back: releasing it re-runs the drain
     * check, which must see that the final flush is done, or a backend
     * that completes flushes inline would flush again, recursively. */
    if (conn->base.life == CONN_OPEN) {
        conn->base.life = CONN_CLOSING;
    }
    nbd_conn_release_req(conn, req);
    conn_flush(&conn->base);
}

void
nbd_conn_drain(struct nbd_conn *conn)
{
    conn->draining = true;
    if (conn->state < NBD_STATE_TX_HEADER || conn->export == NULL) {
        conn_kill(&conn->base); /* still negotiating: nothing to finish */
        return;
    }
    if (conn->base.life == CONN_DEAD) {
        return;
    }
    /* Stop reading new requests (a write's payload being received is read
     * to its end first); answer what is in flight; then flush and close. */
    if (conn->state != NBD_STATE_TX_PAYLOAD) {
        conn_pause_rx(&conn->base);
    }
    nbd_conn_drain_check(conn);
}

void
nbd_conn_drain_check(struct nbd_conn *conn)
{
    struct nbd_req *req;

    if (!conn->draining || conn->drain_flushing || conn->inflight > 0 ||
        conn->state == NBD_STATE_TX_PAYLOAD || conn->base.life != CONN_OPEN) {
        return;
    }
    req = conn->free_reqs;
    conn->free_reqs = req->next_free;
    conn->inflight++;
    conn->drain_flushing = true;
    memset(&req->breq, 0, sizeof req->breq);
    req->breq.ctx = conn->base.ctx;
    req->breq.done = nbd_conn_drain_flush_done;
    if (backend_caps(conn->export->backend) & BACKEND_CAN_FLUSH) {
        backend_flush(conn->export->backend, &req->breq);
    } else {
        nbd_conn_drain_flush_done(&req->breq, 0);
    }
}
