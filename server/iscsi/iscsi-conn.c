/* SPDX-License-Identifier: MIT */
/*
 * One iSCSI connection on its I/O thread: what iSCSI adds to the socket
 * connection of conn.c (receive loop, transmit queue, close and deferred
 * free live there): whole PDUs parsed out of a receive buffer that grows
 * with the negotiated MaxRecvDataSegmentLength, the login and NOP timers,
 * the task pool's back-pressure, and the drain.  A connection whose
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

static void iscsi_conn_drain_check(struct iscsi_conn *conn);
static const struct conn_ops iscsi_conn_ops;

static void
iscsi_conn_tx_release(struct conn *c, struct txq_item *it)
{
    iscsi_pdu_release(CONN_OUTER(struct iscsi_conn, c), (struct iscsi_tx *)it);
}

static void
iscsi_conn_login_timeout(void *opaque)
{
    struct iscsi_conn *conn = opaque;

    log_warn("iscsi %s: login not finished within the login-timeout; closing",
             conn->base.peer);
    conn_close_soon(&conn->base, NULL);
}

/* The NOP timer: ping an idle initiator, drop one that does not answer. */
static void
iscsi_conn_nop_timer(void *opaque)
{
    struct iscsi_conn *conn = opaque;
    const struct config *cfg = conn->srv->cfg;
    int64_t now = clock_now_ns();
    int64_t idle = now - conn->last_rx_ns;

    if (conn->state != ISCSI_STATE_FULL || conn->base.life != CONN_OPEN) {
        return;
    }
    if (conn->nop_outstanding) {
        if (idle >= cfg->iscsi_nop_timeout_ns) {
            log_warn("iscsi %s: no answer to a NOP-In ping within the "
                     "nop-timeout; closing",
                     conn->base.peer);
            conn_close_soon(&conn->base, NULL);
            return;
        }
        aio_timer_mod(conn->base.ctx, &conn->nop_timer,
                      conn->last_rx_ns + cfg->iscsi_nop_timeout_ns);
        return;
    }
    if (idle >= cfg->iscsi_nop_interval_ns) {
        iscsi_session_ping(conn);
        conn->last_rx_ns = now; /* the timeout counts from the ping */
        aio_timer_mod(conn->base.ctx, &conn->nop_timer,
                      now + cfg->iscsi_nop_timeout_ns);
        conn_flush(&conn->base);
        return;
    }
    aio_timer_mod(conn->base.ctx, &conn->nop_timer,
                  conn->last_rx_ns + cfg->iscsi_nop_interval_ns);
}

static void
iscsi_conn_format_portal(struct iscsi_conn *conn)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN];

    conn->portal[0] = '\0';
    if (getsockname(conn->base.fd, (struct sockaddr *)&ss, &len) < 0) {
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
    struct iscsi_conn *conn =
        conn_new(sizeof *conn, &iscsi_conn_ops, &srv->fe, t, fd, peer,
                 peerlen, iscsi_pdu_max_len(ISCSI_LOGIN_MAX_DSL));

    if (conn == NULL) {
        return;
    }
    conn->magic = ISCSI_CONN_MAGIC;
    conn->srv = srv;
    iscsi_conn_format_portal(conn);
    conn->last_rx_ns = conn->base.connected_ns;
    conn->max_recv_dsl = ISCSI_LOGIN_MAX_DSL;
    strbuf_init(&conn->text_out);
    /* Any starting StatSN will do (RFC 7143 4.2.2.2); a random one makes
     * an initiator that assumes 0 or 1 fail in testing, not in the field. */
    if (getrandom(&conn->statsn, sizeof conn->statsn, GRND_NONBLOCK) < 0) {
        conn->statsn = (uint32_t)conn->base.connected_ns;
    }

    aio_timer_init(&conn->login_timer, iscsi_conn_login_timeout, conn);
    aio_timer_init(&conn->nop_timer, iscsi_conn_nop_timer, conn);
    if (conn_start(&conn->base) < 0) {
        return; /* killed, and freed through iscsi_conn_free */
    }
    aio_timer_mod(conn->base.ctx, &conn->login_timer,
                  clock_now_ns() + srv->cfg->iscsi_login_timeout_ns);
    log_debug("iscsi %s: connected on iothread %u", conn->base.peer,
              iothread_id(t));
}

/* The protocol's part of the deferred free (on the connection's thread,
 * once dead and releasable). */
static void
iscsi_conn_free(struct conn *c)
{
    struct iscsi_conn *conn = CONN_OUTER(struct iscsi_conn, c);

    assert(conn->inflight == 0);
    iscsi_server_session_remove(conn->srv, conn);
    iscsi_task_pool_free(conn);
    iscsi_login_free(conn);
    free(conn->reset_seen);
    strbuf_free(&conn->text_out);
    conn->magic = 0;
}

static bool
iscsi_conn_releasable(const struct conn *c)
{
    return CONN_OUTER(const struct iscsi_conn, c)->inflight == 0;
}

static bool
iscsi_conn_quiesced(const struct conn *c)
{
    return CONN_OUTER(const struct iscsi_conn, c)->in_core == 0;
}

/* The socket is gone: the session ends. */
static void
iscsi_conn_on_kill(struct conn *c)
{
    struct iscsi_conn *conn = CONN_OUTER(struct iscsi_conn, c);

    log_debug("iscsi %s: %u task(s) still in the backend", c->peer,
              conn->in_core);
    iscsi_server_session_remove(conn->srv, conn);
    /* I_T nexus loss: legacy reservations of this nexus are released. */
    if (conn->target && conn->state == ISCSI_STATE_FULL) {
        for (size_t i = 0; i < conn->target->scsi.nluns; i++) {
            scsi_pr_nexus_lost(conn->target->scsi.luns[i].pr, &conn->nexus);
        }
    }
    aio_timer_del(c->ctx, &conn->login_timer);
    aio_timer_del(c->ctx, &conn->nop_timer);
    /* Tasks waiting for data will never get it; those in the backend
     * come back later and are released then. */
    iscsi_task_abort_all(conn);
}

/* The buffer holds a whole PDU of the size negotiated now (grown when the
 * login raises MaxRecvDataSegmentLength, at the next recv: never under a
 * PDU handler that still points into it). */
static size_t
iscsi_conn_rx_want(const struct conn *c)
{
    const struct iscsi_conn *conn = CONN_OUTER(const struct iscsi_conn, c);

    return iscsi_pdu_max_len(conn->max_recv_dsl);
}

static void
iscsi_conn_process(struct conn *c)
{
    struct iscsi_conn *conn = CONN_OUTER(struct iscsi_conn, c);

    while (!c->rx_paused && c->life == CONN_OPEN && iscsi_pdu_process(conn)) {
    }
}

static const struct conn_ops iscsi_conn_ops = {
    .name = "iscsi",
    .process = iscsi_conn_process,
    .rx_want = iscsi_conn_rx_want,
    .tx_release = iscsi_conn_tx_release,
    .quiesced = iscsi_conn_quiesced,
    .releasable = iscsi_conn_releasable,
    .on_kill = iscsi_conn_on_kill,
    .free = iscsi_conn_free,
};

int
iscsi_conn_enter_full(struct iscsi_conn *conn)
{
    const struct config *cfg = conn->srv->cfg;
    int r;

    /* The receive buffer grows to the new limit at the next recv
     * (iscsi_conn_rx_want). */
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
        /* One target portal group, so one target port: RTPI 1. */
        scsi_pr_nexus_iscsi(&conn->nexus, conn->initiator_name, conn->isid, 1);
    }
    aio_timer_del(conn->base.ctx, &conn->login_timer);
    if (cfg->iscsi_nop_interval_ns > 0) {
        aio_timer_mod(conn->base.ctx, &conn->nop_timer,
                      clock_now_ns() + cfg->iscsi_nop_interval_ns);
    }
    return 0;
}

void
iscsi_conn_task_released(struct iscsi_conn *conn)
{
    if (conn->base.life == CONN_DEAD) {
        conn_maybe_free(&conn->base);
        return;
    }
    iscsi_task_tmf_check(conn);
    if (conn->inflight == 0) {
        iscsi_session_tasks_idle(conn);
    }
    if (conn->draining) {
        iscsi_conn_drain_check(conn);
    }
    if (conn->base.life == CONN_CLOSING) {
        /* Also a draining one closed by something else (a Logout, an
         * error): nobody else sends what is left and closes it. */
        conn_flush(&conn->base);
        return;
    }
    if (conn->free_tasks && !conn->draining) {
        conn_resume_rx(&conn->base);
    }
}

/* --- Graceful shutdown ------------------------------------------------ */

static void
iscsi_conn_drain_flush_done(struct backend_req *breq, int err)
{
    struct iscsi_conn *conn = breq->opaque;

    if (err < 0) {
        log_error("iscsi %s: flush at shutdown failed: %s", conn->base.peer,
                  strerror(-err));
    }
    free(breq);
    conn->in_core--;
    conn->inflight--;
    if (conn->base.life == CONN_DEAD) {
        conn_maybe_free(&conn->base);
        return;
    }
    conn_flush(&conn->base); /* already CLOSING: closes once all is sent */
}

static struct backend_req *
iscsi_conn_drain_req(struct iscsi_conn *conn)
{
    struct backend_req *breq = calloc(1, sizeof *breq);

    if (breq) {
        breq->ctx = conn->base.ctx;
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
        conn->state != ISCSI_STATE_FULL || conn->base.life != CONN_OPEN) {
        return;
    }
    conn->base.life = CONN_CLOSING; /* no second flush */
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
    conn_flush(&conn->base);
}

void
iscsi_conn_drain(struct iscsi_conn *conn)
{
    conn->draining = true;
    if (conn->base.life != CONN_OPEN) {
        return;
    }
    if (conn->state == ISCSI_STATE_LOGIN) {
        conn_kill(&conn->base); /* still logging in: nothing to finish */
        return;
    }
    /* Stop reading.  Commands waiting for write data will not get it
     * (they were never acknowledged): dropped.  Those in the backend
     * finish and are answered, so the initiator knows its writes and
     * flushes completed; only a SANITIZE waiting for its job is let go
     * unanswered at once (the job, which may run for hours, is ended by
     * iscsi_server_drain).  Then the exports are flushed, everything
     * queued is sent and the connection closed.  No NOP-In ping: its
     * answer could not be read. */
    conn_pause_rx(&conn->base);
    aio_timer_del(conn->base.ctx, &conn->nop_timer);
    iscsi_task_drain(conn);
    iscsi_conn_drain_check(conn);
    if (conn->base.life == CONN_CLOSING) {
        conn_flush(&conn->base); /* closed for another reason meanwhile */
    }
}
