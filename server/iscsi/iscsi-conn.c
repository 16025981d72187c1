/* SPDX-License-Identifier: MIT */
/*
 * One iSCSI connection on its I/O thread: socket I/O, transmit queue,
 * timers and lifetime.  The shape is the NBD connection's (nbd-conn.c):
 * the socket is a polled handler whose poll callback does the recv
 * itself, replies are batched into one sendmsg, and a connection whose
 * initiator vanished is freed only when the backend has handed back every
 * task it held.
 *
 * Timers: the login must finish within login-timeout; in the full feature
 * phase an initiator silent for nop-interval gets a NOP-In ping and is
 * dropped if it does not answer within nop-timeout.  One timer serves
 * both and is not re-armed per PDU: it compares the last receive time
 * when it fires.
 */
#include <config.h>

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iscsi/iscsi-internal.h"
#include "listen.h"
#include "log.h"
#include "util/clock.h"

static void iscsi_conn_on_readable(void *opaque);
static void iscsi_conn_on_writable(void *opaque);
static bool iscsi_conn_poll(void *opaque);
static void iscsi_conn_maybe_free(struct iscsi_conn *conn);
static void iscsi_conn_drain_check(struct iscsi_conn *conn);
static void iscsi_conn_flush_bh(void *opaque);

static void
iscsi_conn_tx_release(struct txq_item *it, void *opaque)
{
    iscsi_pdu_release(opaque, (struct iscsi_tx *)it);
}

static const struct aio_handler_ops iscsi_conn_ops = {
    .read = iscsi_conn_on_readable,
    .write = iscsi_conn_on_writable,
    .poll = iscsi_conn_poll,
    .poll_ready = iscsi_conn_on_readable,
    .name = "iscsi",
};

static void
iscsi_conn_login_timeout(void *opaque)
{
    struct iscsi_conn *conn = opaque;

    log_warn("iscsi %s: login not finished within the login-timeout; closing",
             conn->peer);
    iscsi_conn_close_soon(conn, NULL);
}

/* The NOP timer: ping an idle initiator, drop one that does not answer. */
static void
iscsi_conn_nop_timer(void *opaque)
{
    struct iscsi_conn *conn = opaque;
    const struct config *cfg = conn->srv->cfg;
    int64_t now = clock_now_ns();
    int64_t idle = now - conn->last_rx_ns;

    if (conn->state != ISCSI_STATE_FULL) {
        return;
    }
    if (conn->nop_outstanding) {
        if (idle >= cfg->iscsi_nop_timeout_ns) {
            log_warn("iscsi %s: no answer to a NOP-In ping within the "
                     "nop-timeout; closing",
                     conn->peer);
            iscsi_conn_close_soon(conn, NULL);
            return;
        }
        aio_timer_mod(conn->ctx, &conn->nop_timer,
                      conn->last_rx_ns + cfg->iscsi_nop_timeout_ns);
        return;
    }
    if (idle >= cfg->iscsi_nop_interval_ns) {
        iscsi_session_ping(conn);
        conn->last_rx_ns = now; /* the timeout counts from the ping */
        aio_timer_mod(conn->ctx, &conn->nop_timer,
                      now + cfg->iscsi_nop_timeout_ns);
        iscsi_conn_flush(conn);
        return;
    }
    aio_timer_mod(conn->ctx, &conn->nop_timer,
                  conn->last_rx_ns + cfg->iscsi_nop_interval_ns);
}

static void
iscsi_conn_format_portal(struct iscsi_conn *conn)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN];

    conn->portal[0] = '\0';
    if (getsockname(conn->fd, (struct sockaddr *)&ss, &len) < 0) {
        return;
    }
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;

        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        snprintf(conn->portal, sizeof conn->portal, "%s:%u", host,
                 ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;

        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        snprintf(conn->portal, sizeof conn->portal, "[%s]:%u", host,
                 ntohs(sin6->sin6_port));
    }
}

void
iscsi_conn_attach_on_thread(struct iscsi_server *srv, struct iothread *t,
                            int fd, const struct sockaddr_storage *peer,
                            socklen_t peerlen)
{
    struct iscsi_conn *conn = calloc(1, sizeof *conn);
    unsigned id = iothread_id(t);

    if (conn) {
        conn->rx_cap = iscsi_pdu_max_len(ISCSI_LOGIN_MAX_DSL);
        conn->rx = malloc(conn->rx_cap);
    }
    if (conn == NULL || conn->rx == NULL) {
        log_error("iscsi: cannot set up a connection: out of memory");
        free(conn);
        close(fd);
        frontend_conn_gone(&srv->fe, t);
        return;
    }
    conn->magic = ISCSI_CONN_MAGIC;
    conn->srv = srv;
    conn->iothread = t;
    conn->ctx = iothread_ctx(t);
    conn->fd = fd;
    memcpy(&conn->peer_addr, peer, peerlen);
    conn->peer_len = peerlen;
    listen_format_peer(peer, peerlen, conn->peer, sizeof conn->peer);
    iscsi_conn_format_portal(conn);
    txq_init(&conn->txq);
    conn->connected_ns = clock_now_ns();
    conn->last_rx_ns = conn->connected_ns;
    conn->max_recv_dsl = ISCSI_LOGIN_MAX_DSL;
    strbuf_init(&conn->text_out);
    /* Any starting StatSN will do (RFC 7143 4.2.2.2); a random one makes
     * an initiator that assumes 0 or 1 fail in testing, not in the field. */
    if (getrandom(&conn->statsn, sizeof conn->statsn, GRND_NONBLOCK) < 0) {
        conn->statsn = (uint32_t)conn->connected_ns;
    }

    conn->next = srv->thread_conns[id];
    if (conn->next) {
        conn->next->prev = conn;
    }
    srv->thread_conns[id] = conn;

    aio_bh_init(&conn->flush_bh, iscsi_conn_flush_bh, conn);
    aio_timer_init(&conn->login_timer, iscsi_conn_login_timeout, conn);
    aio_timer_init(&conn->nop_timer, iscsi_conn_nop_timer, conn);
    conn->h = aio_handler_add(conn->ctx, fd, &iscsi_conn_ops, conn);
    if (conn->h == NULL) {
        log_error("iscsi %s: cannot register with iothread %u: %m", conn->peer,
                  id);
        conn->state = ISCSI_STATE_DEAD;
        close(fd);
        conn->fd = -1;
        iscsi_conn_maybe_free(conn);
        return;
    }
    aio_timer_mod(conn->ctx, &conn->login_timer,
                  clock_now_ns() + srv->cfg->iscsi_login_timeout_ns);
    log_debug("iscsi %s: connected on iothread %u", conn->peer, id);
}

static void
iscsi_conn_free_on_thread(void *opaque)
{
    struct iscsi_conn *conn = opaque;
    struct iscsi_server *srv = conn->srv;
    unsigned id = iothread_id(conn->iothread);

    assert(conn->magic == ISCSI_CONN_MAGIC);
    assert(conn->state == ISCSI_STATE_DEAD && conn->inflight == 0);
    if (conn->prev) {
        conn->prev->next = conn->next;
    } else {
        srv->thread_conns[id] = conn->next;
    }
    if (conn->next) {
        conn->next->prev = conn->prev;
    }
    iscsi_server_session_remove(srv, conn);
    iscsi_task_pool_free(conn);
    iscsi_login_free(conn);
    free(conn->reset_seen);
    strbuf_free(&conn->text_out);
    free(conn->rx);
    frontend_conn_gone(&srv->fe, conn->iothread);
    conn->magic = 0;
    free(conn);
}

static void
iscsi_conn_maybe_free(struct iscsi_conn *conn)
{
    if (conn->state != ISCSI_STATE_DEAD || conn->inflight > 0 ||
        conn->free_scheduled) {
        return;
    }
    conn->free_scheduled = true;
    if (aio_ctx_run(conn->ctx, iscsi_conn_free_on_thread, conn) < 0) {
        log_error("iscsi %s: out of memory freeing a connection; leaking it",
                  conn->peer);
    }
}

/* Stop all socket I/O now. */
static void
iscsi_conn_kill(struct iscsi_conn *conn)
{
    if (conn->state == ISCSI_STATE_DEAD) {
        return;
    }
    log_debug("iscsi %s: closed (%u task(s) still in the backend)", conn->peer,
              conn->in_core);
    conn->state = ISCSI_STATE_DEAD;
    iscsi_server_session_remove(conn->srv, conn);
    aio_timer_del(conn->ctx, &conn->login_timer);
    aio_timer_del(conn->ctx, &conn->nop_timer);
    aio_bh_cancel(conn->ctx, &conn->flush_bh);
    if (conn->h) {
        aio_handler_del(conn->h);
        conn->h = NULL;
    }
    if (conn->fd >= 0) {
        close(conn->fd);
        conn->fd = -1;
    }
    txq_drop(&conn->txq, iscsi_conn_tx_release, conn);
    /* Tasks waiting for data will never get it; those in the backend
     * come back later and are released then. */
    iscsi_task_abort_all(conn);
    iscsi_conn_maybe_free(conn);
}

static void
iscsi_conn_check_closing(struct iscsi_conn *conn)
{
    if (conn->state == ISCSI_STATE_CLOSING && txq_empty(&conn->txq) &&
        conn->in_core == 0) {
        iscsi_conn_kill(conn);
    }
}

void
iscsi_conn_close_soon(struct iscsi_conn *conn, const char *why)
{
    if (why) {
        log_warn("iscsi %s: %s; closing the connection", conn->peer, why);
    }
    if (conn->state >= ISCSI_STATE_CLOSING) {
        return;
    }
    conn->state = ISCSI_STATE_CLOSING;
    iscsi_conn_flush(conn);
}

static void
iscsi_conn_set_want_write(struct iscsi_conn *conn, bool want)
{
    if (conn->want_write != want && conn->h) {
        conn->want_write = want;
        aio_handler_want_write(conn->h, want);
    }
}

void
iscsi_conn_flush(struct iscsi_conn *conn)
{
    int r;

    if (conn->in_rx || conn->in_flush || conn->state == ISCSI_STATE_DEAD) {
        return; /* the receive loop flushes when it is done */
    }
    conn->in_flush = true;
    r = txq_send(&conn->txq, conn->fd, iscsi_conn_tx_release, conn);
    conn->in_flush = false;
    if (r == -EAGAIN) {
        iscsi_conn_set_want_write(conn, true);
        return;
    }
    if (r < 0) {
        log_debug("iscsi %s: send: %s", conn->peer, strerror(-r));
        iscsi_conn_kill(conn);
        return;
    }
    iscsi_conn_set_want_write(conn, false);
    iscsi_conn_check_closing(conn);
}

static void
iscsi_conn_flush_bh(void *opaque)
{
    iscsi_conn_flush(opaque);
}

void
iscsi_conn_flush_soon(struct iscsi_conn *conn)
{
    if (conn->state != ISCSI_STATE_DEAD) {
        aio_bh_schedule(conn->ctx, &conn->flush_bh);
    }
}

static void
iscsi_conn_on_writable(void *opaque)
{
    iscsi_conn_flush(opaque);
}

/* Read what the socket has.  Returns bytes read, 0 on EOF, -EAGAIN if
 * nothing is there, -errno on error. */
static ssize_t
iscsi_conn_recv(struct iscsi_conn *conn)
{
    size_t need = iscsi_pdu_max_len(conn->max_recv_dsl);
    ssize_t n;

    if (need > conn->rx_cap) {
        /* The login raised MaxRecvDataSegmentLength: grow once. */
        uint8_t *rx = realloc(conn->rx, need);

        if (rx == NULL) {
            return -ENOMEM;
        }
        conn->rx = rx;
        conn->rx_cap = need;
    }
    if (conn->rx_start == conn->rx_end) {
        conn->rx_start = conn->rx_end = 0;
    } else if (conn->rx_end == conn->rx_cap ||
               conn->rx_cap - conn->rx_start < iscsi_pdu_max_len(conn->max_recv_dsl)) {
        /* The partial PDU moves to the front, so a whole one fits. */
        memmove(conn->rx, conn->rx + conn->rx_start,
                conn->rx_end - conn->rx_start);
        conn->rx_end -= conn->rx_start;
        conn->rx_start = 0;
    }
    if (conn->rx_end == conn->rx_cap) {
        return -EAGAIN; /* a full buffer is parsed before more is read */
    }
    n = recv(conn->fd, conn->rx + conn->rx_end, conn->rx_cap - conn->rx_end,
             MSG_DONTWAIT);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    if (n == 0) {
        conn->rx_eof = true;
        return 0;
    }
    conn->rx_end += (size_t)n;
    return n;
}

static bool
iscsi_conn_poll(void *opaque)
{
    struct iscsi_conn *conn = opaque;

    if (conn->rx_paused || conn->state >= ISCSI_STATE_CLOSING) {
        return false;
    }
    return iscsi_conn_recv(conn) != -EAGAIN;
}

static void
iscsi_conn_on_readable(void *opaque)
{
    struct iscsi_conn *conn = opaque;
    int rounds = 0;

    if (conn->state >= ISCSI_STATE_CLOSING) {
        if (conn->state == ISCSI_STATE_CLOSING) {
            char sink[4096];

            if (recv(conn->fd, sink, sizeof sink, MSG_DONTWAIT) == 0) {
                iscsi_conn_kill(conn);
            }
        }
        return;
    }
    conn->in_rx = true;
    for (;;) {
        ssize_t n;

        while (!conn->rx_paused && conn->state <= ISCSI_STATE_FULL &&
               iscsi_pdu_process(conn)) {
        }
        if (conn->state >= ISCSI_STATE_CLOSING || conn->rx_paused ||
            ++rounds > 16) {
            break;
        }
        n = iscsi_conn_recv(conn);
        if (n == -EAGAIN) {
            break;
        }
        if (n <= 0) {
            conn->in_rx = false;
            if (n < 0) {
                log_debug("iscsi %s: recv: %s", conn->peer, strerror((int)-n));
            } else if (conn->rx_start != conn->rx_end) {
                log_info("iscsi %s: initiator disconnected mid-PDU", conn->peer);
            } else {
                log_debug("iscsi %s: initiator closed the connection",
                          conn->peer);
            }
            iscsi_conn_kill(conn);
            return;
        }
    }
    conn->in_rx = false;
    if (conn->rx_paused && conn->h) {
        aio_handler_want_read(conn->h, false);
    }
    iscsi_conn_flush(conn);
}

int
iscsi_conn_enter_full(struct iscsi_conn *conn)
{
    const struct config *cfg = conn->srv->cfg;
    int r;

    /* The receive buffer grows to the new limit at the next recv, never
     * under a PDU handler that still points into it. */
    r = iscsi_task_pool_init(conn, conn->discovery ? 1 : cfg->iscsi_queue_depth);
    if (r < 0) {
        return r;
    }
    conn->max_recv_dsl = conn->params.max_recv_dsl;
    conn->hdigest = conn->params.header_digest;
    conn->ddigest = conn->params.data_digest;
    conn->state = ISCSI_STATE_FULL;
    if (conn->target) {
        const struct iscsi_target *t = conn->target;

        conn->reset_seen = calloc(t->scsi.nluns, sizeof *conn->reset_seen);
        if (conn->reset_seen == NULL) {
            return -ENOMEM;
        }
        for (size_t i = 0; i < t->scsi.nluns; i++) {
            conn->reset_seen[i] = atomic_load(&t->reset_gen[i]);
        }
    }
    aio_timer_del(conn->ctx, &conn->login_timer);
    if (cfg->iscsi_nop_interval_ns > 0) {
        aio_timer_mod(conn->ctx, &conn->nop_timer,
                      clock_now_ns() + cfg->iscsi_nop_interval_ns);
    }
    return 0;
}

void
iscsi_conn_task_released(struct iscsi_conn *conn)
{
    if (conn->state == ISCSI_STATE_DEAD) {
        iscsi_conn_maybe_free(conn);
        return;
    }
    iscsi_task_tmf_check(conn);
    if (conn->inflight == 0) {
        iscsi_session_tasks_idle(conn);
    }
    if (conn->draining) {
        iscsi_conn_drain_check(conn);
        return;
    }
    if (conn->state == ISCSI_STATE_CLOSING) {
        iscsi_conn_flush(conn);
        return;
    }
    if (conn->rx_paused && conn->free_tasks) {
        conn->rx_paused = false;
        if (conn->h) {
            aio_handler_want_read(conn->h, true);
        }
        if (!conn->in_rx) {
            iscsi_conn_on_readable(conn);
        }
    }
}

/* --- Graceful shutdown ------------------------------------------------ */

static void
iscsi_conn_drain_flush_done(struct backend_req *breq, int err)
{
    struct iscsi_conn *conn = breq->opaque;

    if (err < 0) {
        log_error("iscsi %s: flush at shutdown failed: %s", conn->peer,
                  strerror(-err));
    }
    free(breq);
    conn->in_core--;
    conn->inflight--;
    if (conn->state == ISCSI_STATE_DEAD) {
        iscsi_conn_maybe_free(conn);
        return;
    }
    iscsi_conn_flush(conn); /* already CLOSING: closes once all is sent */
}

static struct backend_req *
iscsi_conn_drain_req(struct iscsi_conn *conn)
{
    struct backend_req *breq = calloc(1, sizeof *breq);

    if (breq) {
        breq->ctx = conn->ctx;
        breq->done = iscsi_conn_drain_flush_done;
        breq->opaque = conn;
    }
    return breq;
}

/* Draining: once no task is in the backend, flush the target's exports
 * and close (when the last flush is done and everything is sent). */
static void
iscsi_conn_drain_check(struct iscsi_conn *conn)
{
    const struct iscsi_target *t = conn->target;

    if (!conn->draining || conn->in_core > 0 ||
        conn->state != ISCSI_STATE_FULL) {
        return;
    }
    conn->state = ISCSI_STATE_CLOSING; /* no second flush */
    conn->in_core++; /* not closed under the loop by an inline flush */
    for (size_t i = 0; t && i < t->scsi.nluns; i++) {
        struct backend *b = t->scsi.luns[i].export->backend;
        struct backend_req *breq;

        if (!(backend_caps(b) & BACKEND_CAN_FLUSH) ||
            (breq = iscsi_conn_drain_req(conn)) == NULL) {
            continue;
        }
        conn->in_core++;
        conn->inflight++;
        backend_flush(b, breq);
    }
    conn->in_core--;
    iscsi_conn_flush(conn);
}

void
iscsi_conn_drain(struct iscsi_conn *conn)
{
    conn->draining = true;
    if (conn->state == ISCSI_STATE_LOGIN) {
        iscsi_conn_kill(conn); /* still logging in: nothing to finish */
        return;
    }
    if (conn->state != ISCSI_STATE_FULL) {
        return;
    }
    /* Stop reading: commands waiting for write data will not get it (they
     * were never acknowledged), those in the backend finish and are
     * answered, then the export is flushed and the connection closed. */
    conn->rx_paused = true;
    if (conn->h) {
        aio_handler_want_read(conn->h, false);
    }
    iscsi_task_abort_all(conn);
    iscsi_conn_drain_check(conn);
}
