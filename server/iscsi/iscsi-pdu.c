/* SPDX-License-Identifier: MIT */
/*
 * PDUs in and out (RFC 7143 11.1).
 *
 * Receiving: a PDU is handled only once it is whole in the connection's
 * receive buffer (BHS, AHS, header digest, data, padding, data digest), so
 * every handler sees complete input and nothing is parsed twice.  The
 * buffer is sized for the largest PDU the negotiated limits allow; a PDU
 * announcing more is a protocol violation and ends the connection, since
 * there is no way to find the next PDU boundary without reading it all.
 *
 * Sending: a PDU is its BHS (with the header digest), a data segment by
 * reference (Data-In points into the task's buffer) or copied behind the
 * tx, and a trailer of padding and data digest: one iovec each, gathered
 * into one sendmsg with the PDUs queued before it (iscsi-conn.c).
 */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi-digest.h"
#include "iscsi/iscsi-internal.h"
#include "log.h"

/* "Invalid PDU" lines per connection, so a flood does not fill the log. */
#define ISCSI_MAX_REJECT_LOGS 5

struct iscsi_tx *
iscsi_pdu_new(uint8_t opcode, uint8_t flags, size_t copy_len)
{
    struct iscsi_tx *tx = malloc(sizeof *tx + copy_len);

    if (tx == NULL) {
        return NULL;
    }
    tx->task = NULL;
    tx->iovcnt = 0;
    memset(tx->hdr, 0, sizeof tx->hdr);
    tx->hdr[ISCSI_BHS_OPCODE] = opcode;
    tx->hdr[ISCSI_BHS_FLAGS] = flags;
    return tx;
}

uint8_t *
iscsi_pdu_copy_area(struct iscsi_tx *tx)
{
    return (uint8_t *)(tx + 1);
}

void
iscsi_pdu_release(struct iscsi_conn *conn, struct iscsi_tx *tx)
{
    (void)conn;
    if (tx->task) {
        iscsi_task_put(tx->task);
    }
    free(tx);
}

void
iscsi_pdu_seal(struct iscsi_tx *tx, const void *data, uint32_t len, bool hd,
               bool dd)
{
    size_t hlen = ISCSI_BHS_LEN;
    uint32_t pad = (4 - (len & 3)) & 3;
    size_t tlen = pad;

    iscsi_put24(tx->hdr + ISCSI_BHS_DSL, len);
    if (hd) {
        /* Digests go on the wire little-endian: the CRC's bytes in the
         * order the algorithm produces them (RFC 7143 11.1, and the
         * B.4 vectors of RFC 3720). */
        uint32_t d = htole32(iscsi_digest_crc32c(0, tx->hdr, ISCSI_BHS_LEN));

        memcpy(tx->hdr + ISCSI_BHS_LEN, &d, 4);
        hlen += ISCSI_DIGEST_LEN;
    }
    tx->iov[0] = (struct iovec){ tx->hdr, hlen };
    tx->iovcnt = 1;
    if (len) {
        tx->iov[tx->iovcnt++] = (struct iovec){ (void *)data, len };
        memset(tx->trailer, 0, 3);
        if (dd) {
            /* The data digest covers the padding too. */
            uint32_t d = iscsi_digest_crc32c(0, data, len);

            d = htole32(iscsi_digest_crc32c(d, tx->trailer, pad));
            memcpy(tx->trailer + pad, &d, 4);
            tlen += ISCSI_DIGEST_LEN;
        }
        if (tlen) {
            tx->iov[tx->iovcnt++] = (struct iovec){ tx->trailer, tlen };
        }
    }
}

void
iscsi_pdu_queue(struct iscsi_conn *conn, struct iscsi_tx *tx,
                const void *data, uint32_t len)
{
    iscsi_pdu_seal(tx, data, len, conn->hdigest, conn->ddigest);
    conn_queue(&conn->base, &tx->item, tx->iov, tx->iovcnt);
}

void
iscsi_pdu_set_sn(struct iscsi_conn *conn, uint8_t *bhs, bool advance)
{
    uint32_t max_cmdsn = iscsi_task_max_cmdsn(conn);

    iscsi_put32(bhs + ISCSI_BHS_CMDSN, conn->statsn);
    if (advance) {
        conn->statsn++;
    }
    iscsi_put32(bhs + ISCSI_BHS_EXPSTATSN, conn->exp_cmdsn);
    iscsi_put32(bhs + ISCSI_BHS_MAXCMDSN, max_cmdsn);
    /* Initiators keep the highest MaxCmdSN they saw (RFC 7143 4.2.2.1),
     * so that is the window they may fill. */
    if (!conn->max_cmdsn_sent_valid
        || (int32_t)(max_cmdsn - conn->max_cmdsn_sent) > 0) {
        conn->max_cmdsn_sent = max_cmdsn;
        conn->max_cmdsn_sent_valid = true;
    }
}

void
iscsi_pdu_reject(struct iscsi_conn *conn, const uint8_t *bhs, uint8_t reason,
                 const char *why)
{
    struct iscsi_tx *tx = iscsi_pdu_new(ISCSI_OP_REJECT, ISCSI_FLAG_FINAL,
                                        ISCSI_BHS_LEN);

    if (conn->reject_logged < ISCSI_MAX_REJECT_LOGS) {
        conn->reject_logged++;
        log_warn("iscsi %s: rejecting a PDU (opcode 0x%02x): %s%s",
                 conn->base.peer,
                 (unsigned)(bhs[0] & ISCSI_OPCODE_MASK), why,
                 conn->reject_logged == ISCSI_MAX_REJECT_LOGS
                     ? " (further rejects on this connection not logged)"
                     : "");
    }
    if (tx == NULL) {
        conn_close_soon(&conn->base, "out of memory for a Reject");
        return;
    }
    tx->hdr[2] = reason;
    iscsi_put32(tx->hdr + ISCSI_BHS_ITT, ISCSI_RSVD_TAG);
    iscsi_pdu_set_sn(conn, tx->hdr, true);
    memcpy(iscsi_pdu_copy_area(tx), bhs, ISCSI_BHS_LEN);
    iscsi_pdu_queue(conn, tx, iscsi_pdu_copy_area(tx), ISCSI_BHS_LEN);
}

size_t
iscsi_pdu_max_len(uint32_t max_dsl)
{
    return ISCSI_BHS_LEN + ISCSI_MAX_AHS_LEN + ISCSI_DIGEST_LEN + max_dsl + 3 +
           ISCSI_DIGEST_LEN;
}

static uint32_t
iscsi_pdu_get_digest(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return le32toh(v);
}

/* Full feature phase: one PDU to its handler. */
static void
iscsi_pdu_dispatch_full(struct iscsi_conn *conn, const uint8_t *bhs,
                        const uint8_t *data, uint32_t dlen)
{
    uint8_t op = bhs[0] & ISCSI_OPCODE_MASK;

    if (conn->discovery && op != ISCSI_OP_TEXT_REQ && op != ISCSI_OP_LOGOUT_REQ &&
        op != ISCSI_OP_NOP_OUT) {
        /* RFC 7143 4.3: a discovery session carries only Text and Logout. */
        iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR,
                         "not allowed in a discovery session");
        return;
    }
    switch (op) {
    case ISCSI_OP_SCSI_CMD:
        iscsi_task_scsi_cmd(conn, bhs, data, dlen);
        return;
    case ISCSI_OP_DATA_OUT:
        iscsi_task_data_out(conn, bhs, data, dlen);
        return;
    case ISCSI_OP_TMF_REQ:
        iscsi_task_tmf(conn, bhs);
        return;
    case ISCSI_OP_NOP_OUT:
    case ISCSI_OP_TEXT_REQ:
    case ISCSI_OP_LOGOUT_REQ:
        iscsi_conn_session_pdu(conn, bhs, data, dlen);
        return;
    case ISCSI_OP_LOGIN_REQ:
        iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR,
                         "Login request in the full feature phase");
        return;
    case ISCSI_OP_SNACK_REQ:
        /* ErrorRecoveryLevel 0: SNACK is not supported. */
        iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_SNACK,
                         "SNACK with ErrorRecoveryLevel=0");
        return;
    default:
        iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_CMD_UNSUPPORTED,
                         "unknown opcode");
        return;
    }
}

int
iscsi_pdu_parse(const uint8_t *buf, size_t have, bool hd, bool dd,
                uint32_t max_dsl, struct iscsi_pdu_frame *f)
{
    uint32_t padded;
    size_t hdlen, ddlen;

    if (have < ISCSI_BHS_LEN) {
        return -EAGAIN;
    }
    f->ahs_len = (uint32_t)buf[ISCSI_BHS_TOTAHSLEN] * 4;
    f->dlen = iscsi_get24(buf + ISCSI_BHS_DSL);
    if (f->dlen > max_dsl) {
        return -EMSGSIZE;
    }
    padded = (f->dlen + 3) & ~3u;
    hdlen = hd ? ISCSI_DIGEST_LEN : 0;
    ddlen = dd && f->dlen ? ISCSI_DIGEST_LEN : 0;
    f->total = ISCSI_BHS_LEN + f->ahs_len + hdlen + padded + ddlen;
    f->data = buf + ISCSI_BHS_LEN + f->ahs_len + hdlen;
    if (have < f->total) {
        return -EAGAIN;
    }
    if (hd && iscsi_pdu_get_digest(buf + ISCSI_BHS_LEN + f->ahs_len) !=
                  iscsi_digest_crc32c(0, buf, ISCSI_BHS_LEN + f->ahs_len)) {
        return -EBADMSG;
    }
    if (ddlen && iscsi_pdu_get_digest(f->data + padded) !=
                     iscsi_digest_crc32c(0, f->data, padded)) {
        return -EILSEQ;
    }
    return 0;
}

bool
iscsi_pdu_process(struct iscsi_conn *conn)
{
    const uint8_t *bhs = conn->base.rx + conn->base.rx_start;
    struct iscsi_pdu_frame f;
    int r = iscsi_pdu_parse(bhs, conn->base.rx_end - conn->base.rx_start,
                            conn->hdigest,
                            conn->ddigest, conn->max_recv_dsl, &f);

    switch (r) {
    case -EAGAIN:
        return false;
    case -EMSGSIZE: {
        char why[128];

        snprintf(why, sizeof why,
                 "PDU with a %u-byte data segment, over the %u negotiated",
                 f.dlen, conn->max_recv_dsl);
        /* Nothing after it can be framed: the connection ends. */
        conn_close_soon(&conn->base, why);
        return false;
    }
    case -EBADMSG:
        /* RFC 7143 7.8: a header digest error cannot be trusted to frame
         * anything; at ErrorRecoveryLevel 0 the connection is dropped. */
        conn_close_soon(&conn->base, "header digest error");
        return false;
    case -EILSEQ: {
        uint8_t op = bhs[0] & ISCSI_OPCODE_MASK;

        conn->base.rx_start += f.total;
        iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_DATA_DIGEST,
                         "data digest error");
        if (op == ISCSI_OP_SCSI_CMD || op == ISCSI_OP_DATA_OUT) {
            /* The command can never get its data: ErrorRecoveryLevel 0
             * recovers by ending the session. */
            conn_close_soon(&conn->base, NULL);
            return false;
        }
        return true;
    }
    default:
        break;
    }
    conn->base.rx_start += f.total;
    conn->last_rx_ns = aio_ctx_now(conn->base.ctx);
    if (conn->base.life != CONN_OPEN) {
        return false;
    }
    if (conn->state == ISCSI_STATE_LOGIN) {
        if ((bhs[0] & ISCSI_OPCODE_MASK) != ISCSI_OP_LOGIN_REQ) {
            /* RFC 7143 6.3: only Login requests until the login is done. */
            conn_close_soon(&conn->base, "a non-login PDU during login");
            return false;
        }
        iscsi_login_pdu(conn, bhs, f.data, f.dlen);
    } else {
        iscsi_pdu_dispatch_full(conn, bhs, f.data, f.dlen);
    }
    return conn->base.life == CONN_OPEN;
}
