/* SPDX-License-Identifier: MIT */
/*
 * Session-level PDUs of the full feature phase: NOP-Out / NOP-In (both
 * ways), Text requests (SendTargets and negotiation, with responses longer
 * than one PDU sent in pieces), and Logout.  SCSI commands, data and task
 * management are iscsi-task.c's.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi-internal.h"
#include "iscsi/iscsi-text.h"
#include "log.h"
#include "util/minmax.h"

/* Answer a ping: same ITT, our StatSN, the initiator's data echoed. */
static void
iscsi_session_nop_out(struct iscsi_conn *conn, const uint8_t *bhs,
                      const uint8_t *data, uint32_t dlen)
{
    uint32_t itt = iscsi_get32(bhs + ISCSI_BHS_ITT);
    uint32_t echo;
    struct iscsi_tx *tx;

    if (itt == ISCSI_RSVD_TAG) {
        /* An answer to our ping, or a ping wanting no answer. */
        if (!(bhs[0] & ISCSI_FLAG_IMMEDIATE)) {
            iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR,
                             "NOP-Out without ITT must be immediate");
            return;
        }
        if (conn->nop_outstanding &&
            iscsi_get32(bhs + ISCSI_BHS_TTT) == conn->nop_ttt) {
            conn->nop_outstanding = false;
        }
        return;
    }
    if (!iscsi_task_check_cmdsn(conn, bhs)) {
        return;
    }
    echo = MIN(dlen, conn->params.max_xmit_dsl);
    tx = iscsi_pdu_new(ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL, echo);
    if (tx == NULL) {
        conn_close_soon(&conn->base, "out of memory for a NOP-In");
        return;
    }
    memcpy(tx->hdr + ISCSI_BHS_LUN, bhs + ISCSI_BHS_LUN, 8);
    iscsi_put32(tx->hdr + ISCSI_BHS_ITT, itt);
    iscsi_put32(tx->hdr + ISCSI_BHS_TTT, ISCSI_RSVD_TAG);
    iscsi_pdu_set_sn(conn, tx->hdr, true);
    if (echo) {
        memcpy(iscsi_pdu_copy_area(tx), data, echo);
    }
    iscsi_pdu_queue(conn, tx, iscsi_pdu_copy_area(tx), echo);
}

void
iscsi_session_ping(struct iscsi_conn *conn)
{
    struct iscsi_tx *tx = iscsi_pdu_new(ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL, 0);

    if (tx == NULL) {
        return; /* the next tick tries again */
    }
    conn->nop_ttt = (conn->nop_ttt + 1) & 0x7fffffff;
    conn->nop_outstanding = true;
    iscsi_put32(tx->hdr + ISCSI_BHS_ITT, ISCSI_RSVD_TAG);
    iscsi_put32(tx->hdr + ISCSI_BHS_TTT, conn->nop_ttt);
    /* A ping asks for an answer; it does not consume a StatSN. */
    iscsi_pdu_set_sn(conn, tx->hdr, false);
    iscsi_pdu_queue(conn, tx, NULL, 0);
}

/* Send the next piece of conn->text_out. */
static void
iscsi_session_text_piece(struct iscsi_conn *conn, uint32_t itt)
{
    size_t left = conn->text_out.len - conn->text_off;
    uint32_t len = (uint32_t)MIN(left, conn->params.max_xmit_dsl);
    bool last = len == left;
    struct iscsi_tx *tx = iscsi_pdu_new(ISCSI_OP_TEXT_RSP,
                                        last ? ISCSI_TEXT_F : ISCSI_TEXT_C, len);

    if (tx == NULL) {
        conn_close_soon(&conn->base, "out of memory for a Text response");
        return;
    }
    iscsi_put32(tx->hdr + ISCSI_BHS_ITT, itt);
    if (!last) {
        conn->text_ttt = (conn->text_ttt + 1) & 0x7fffffff;
    }
    iscsi_put32(tx->hdr + ISCSI_BHS_TTT, last ? ISCSI_RSVD_TAG : conn->text_ttt);
    iscsi_pdu_set_sn(conn, tx->hdr, true);
    if (len) {
        memcpy(iscsi_pdu_copy_area(tx), conn->text_out.s + conn->text_off, len);
    }
    conn->text_off += len;
    iscsi_pdu_queue(conn, tx, iscsi_pdu_copy_area(tx), len);
    if (last) {
        strbuf_free(&conn->text_out);
        strbuf_init(&conn->text_out);
        conn->text_off = 0;
    }
}

static void
iscsi_session_text(struct iscsi_conn *conn, const uint8_t *bhs,
                   const uint8_t *data, uint32_t dlen)
{
    uint32_t itt = iscsi_get32(bhs + ISCSI_BHS_ITT);
    uint32_t ttt = iscsi_get32(bhs + ISCSI_BHS_TTT);
    struct iscsi_param_neg neg;
    struct iscsi_text_pair p;
    size_t pos = 0;
    int r;

    if (!iscsi_task_check_cmdsn(conn, bhs)) {
        return;
    }
    if (ttt != ISCSI_RSVD_TAG) {
        /* The initiator asks for the rest of a long response. */
        if (conn->text_out.len == 0 || ttt != conn->text_ttt ||
            itt != conn->text_itt) {
            iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_INVALID_FIELD,
                             "Text request continues no response");
            return;
        }
        iscsi_session_text_piece(conn, itt);
        return;
    }
    if (bhs[ISCSI_BHS_FLAGS] & ISCSI_TEXT_C) {
        /* Requests split over PDUs are not needed by any initiator we know
         * of; say so rather than misparse. */
        iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_CMD_UNSUPPORTED,
                         "continued Text requests are not supported");
        return;
    }
    strbuf_free(&conn->text_out);
    strbuf_init(&conn->text_out);
    conn->text_off = 0;
    conn->text_itt = itt;
    /* Negotiation in the full feature phase starts from the session's
     * values; only declarative keys may change them. */
    iscsi_param_init(&neg, conn->srv->cfg);
    neg.set = conn->params;
    iscsi_param_text_begin(&neg);
    while ((r = iscsi_text_next(data, dlen, &pos, &p)) > 0) {
        const char *why = NULL;

        if (strcmp(p.key, "SendTargets") == 0) {
            iscsi_discovery_send_targets(conn, p.value, &conn->text_out);
            continue;
        }
        r = iscsi_param_key(&neg, ISCSI_PARAM_FULL, p.key, p.value,
                            &conn->text_out, &why);
        if (r < 0) {
            iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR,
                             why ? why : "bad Text request");
            return;
        }
        if (r == 0) {
            iscsi_text_add(&conn->text_out, p.key, "NotUnderstood");
        }
    }
    conn->params.max_xmit_dsl = neg.set.max_xmit_dsl;
    if (r < 0) {
        iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR,
                         "malformed key=value text");
        return;
    }
    if (strbuf_failed(&conn->text_out)) {
        conn_close_soon(&conn->base, "out of memory for a Text response");
        return;
    }
    iscsi_session_text_piece(conn, itt);
}

static void
iscsi_session_logout_respond(struct iscsi_conn *conn, uint32_t itt,
                             uint8_t response)
{
    struct iscsi_tx *tx = iscsi_pdu_new(ISCSI_OP_LOGOUT_RSP, ISCSI_FLAG_FINAL, 0);

    if (tx == NULL) {
        conn_close_soon(&conn->base, "out of memory for a Logout response");
        return;
    }
    tx->hdr[2] = response;
    iscsi_put32(tx->hdr + ISCSI_BHS_ITT, itt);
    iscsi_pdu_set_sn(conn, tx->hdr, true);
    /* Time2Wait and Time2Retain: 0, nothing to reconnect to (ERL 0). */
    iscsi_pdu_queue(conn, tx, NULL, 0);
    if (response == ISCSI_LOGOUT_SUCCESS) {
        log_debug("iscsi %s: logout of session %u", conn->base.peer, conn->tsih);
        conn_close_soon(&conn->base, NULL);
    }
}

static void
iscsi_session_logout(struct iscsi_conn *conn, const uint8_t *bhs)
{
    uint8_t reason = bhs[ISCSI_BHS_FLAGS] & 0x7f;
    uint32_t itt = iscsi_get32(bhs + ISCSI_BHS_ITT);

    if (!iscsi_task_check_cmdsn(conn, bhs)) {
        return;
    }
    if (reason == ISCSI_LOGOUT_REMOVE_FOR_RECOVERY) {
        iscsi_session_logout_respond(conn, itt,
                                     ISCSI_LOGOUT_RECOVERY_UNSUPPORTED);
        return;
    }
    if (reason == ISCSI_LOGOUT_CLOSE_CONNECTION &&
        iscsi_get16(bhs + ISCSI_LOGIN_CID) != conn->cid) {
        iscsi_session_logout_respond(conn, itt, ISCSI_LOGOUT_CID_NOT_FOUND);
        return;
    }
    if (reason > ISCSI_LOGOUT_REMOVE_FOR_RECOVERY) {
        iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_INVALID_FIELD,
                         "unknown logout reason");
        return;
    }
    /* Commands still running are answered first (the session is one
     * connection: closing it ends them anyway, but acknowledged writes
     * must be answered).  A command still waiting for Data-Out is not
     * running: the rest of its data will not be read (input stops here),
     * so waiting for it would hold the Logout and the connection forever;
     * it ends now, unanswered, as RFC 7143 11.14 has pending commands end
     * with a Logout. */
    iscsi_task_drop_data_out(conn);
    conn->logout_pending = true;
    conn->logout_itt = itt;
    conn_pause_rx(&conn->base);
    if (conn->inflight == 0) {
        iscsi_session_tasks_idle(conn);
    }
}

void
iscsi_session_tasks_idle(struct iscsi_conn *conn)
{
    if (conn->logout_pending) {
        conn->logout_pending = false;
        iscsi_session_logout_respond(conn, conn->logout_itt,
                                     ISCSI_LOGOUT_SUCCESS);
    }
}

void
iscsi_conn_session_pdu(struct iscsi_conn *conn, const uint8_t *bhs,
                       const uint8_t *data, uint32_t dlen)
{
    switch (bhs[0] & ISCSI_OPCODE_MASK) {
    case ISCSI_OP_NOP_OUT:
        iscsi_session_nop_out(conn, bhs, data, dlen);
        return;
    case ISCSI_OP_TEXT_REQ:
        iscsi_session_text(conn, bhs, data, dlen);
        return;
    case ISCSI_OP_LOGOUT_REQ:
        iscsi_session_logout(conn, bhs);
        return;
    }
}
