/* SPDX-License-Identifier: MIT */
/*
 * SCSI commands over iSCSI (RFC 7143 4.2, 11.2-11.8): the CmdSN window,
 * SCSI Command -> struct scsi_cmd, write data (immediate, unsolicited
 * Data-Out up to FirstBurstLength, then R2Ts of at most MaxBurstLength with
 * at most MaxOutstandingR2T outstanding), Data-In in PDUs of the
 * initiator's MaxRecvDataSegmentLength with the status in the last one,
 * SCSI Response with sense and residuals, and task management.
 *
 * Tasks come from a per-connection pool of queue-depth slots (plus a few
 * for immediate commands); the window we advertise (MaxCmdSN) never lets
 * the initiator send more than the pool holds.  A task whose Data-In PDUs
 * are still queued keeps its buffer until the last one is sent.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi-internal.h"
#include "log.h"
#include "util/minmax.h"

/* The largest transfer one command may ask for (the SCSI core advertises
 * its limit in VPD B0h; this guards the allocation whatever it says). */
#define ISCSI_MAX_XFER (32u << 20)
/* Buffers larger than this are not kept for the next task. */
#define ISCSI_KEEP_BUF (1u << 20)
#define ISCSI_TTT(task) ((uint32_t)(task)->gen << 12 | (task)->index)

static void iscsi_task_respond(struct iscsi_task *task);
static bool iscsi_task_unit_attention(struct iscsi_conn *conn,
                                      struct scsi_cmd *cmd);

int
iscsi_task_pool_init(struct iscsi_conn *conn, unsigned depth)
{
    unsigned n = depth + ISCSI_EXTRA_TASKS;

    conn->tasks = calloc(n, sizeof *conn->tasks);
    if (conn->tasks == NULL) {
        return -ENOMEM;
    }
    conn->ntasks = n;
    conn->window = depth;
    for (unsigned i = n; i-- > 0;) {
        struct iscsi_task *task = &conn->tasks[i];

        task->conn = conn;
        task->index = (uint16_t)i;
        task->next_free = conn->free_tasks;
        conn->free_tasks = task;
    }
    return 0;
}

void
iscsi_task_pool_free(struct iscsi_conn *conn)
{
    for (unsigned i = 0; i < conn->ntasks; i++) {
        free(conn->tasks[i].buf);
    }
    free(conn->tasks);
    conn->tasks = NULL;
    conn->ntasks = 0;
    conn->free_tasks = NULL;
}

uint32_t
iscsi_task_max_cmdsn(const struct iscsi_conn *conn)
{
    unsigned used = conn->inflight, room;

    if (conn->ntasks == 0) {
        return conn->exp_cmdsn; /* login: one command, the first */
    }
    room = conn->window > used ? conn->window - used : 0;
    /* room 0 gives ExpCmdSN - 1: the window is closed (RFC 7143 4.2.2.1). */
    return conn->exp_cmdsn + room - 1;
}

bool
iscsi_task_check_cmdsn(struct iscsi_conn *conn, const uint8_t *bhs)
{
    uint32_t cmdsn = iscsi_get32(bhs + ISCSI_BHS_CMDSN);

    if (bhs[0] & ISCSI_FLAG_IMMEDIATE) {
        return true; /* immediate delivery: CmdSN is not advanced */
    }
    if (cmdsn == conn->exp_cmdsn) {
        if (conn->max_cmdsn_sent_valid
            && (int32_t)(cmdsn - conn->max_cmdsn_sent) > 0) {
            /* Past the window we gave: ignored like the others below,
             * and not answered with TASK SET FULL, whose responses would
             * pile up without bound under an initiator that sends on and
             * reads nothing. */
            log_debug("iscsi %s: CmdSN %u ignored (MaxCmdSN %u)",
                      conn->base.peer, cmdsn, conn->max_cmdsn_sent);
            return false;
        }
        conn->exp_cmdsn++;
        return true;
    }
    /* One connection per session delivers in order, so anything else is
     * a duplicate or outside the window: silently ignored (RFC 7143
     * 4.2.2.1). */
    log_debug("iscsi %s: CmdSN %u ignored (expected %u)", conn->base.peer, cmdsn,
              conn->exp_cmdsn);
    return false;
}

static void
iscsi_task_release(struct iscsi_task *task)
{
    struct iscsi_conn *conn = task->conn;

    if (task->prev) {
        task->prev->next = task->next;
    } else {
        conn->active = task->next;
    }
    if (task->next) {
        task->next->prev = task->prev;
    }
    if (task->bufcap > ISCSI_KEEP_BUF) {
        free(task->buf);
        task->buf = NULL;
        task->bufcap = 0;
    }
    task->state = ISCSI_TASK_FREE;
    task->gen++;
    task->next_free = conn->free_tasks;
    conn->free_tasks = task;
    conn->inflight--;
    if (task->aborted) {
        task->aborted = false;
    }
    if (task->abort_wait) {
        iscsi_server_abort_wait_put(task->abort_wait);
        task->abort_wait = NULL;
    }
    iscsi_conn_task_released(conn);
}

void
iscsi_task_put(struct iscsi_task *task)
{
    if (--task->refs == 0 && task->state == ISCSI_TASK_SENDING) {
        iscsi_task_release(task);
    }
}

/* Send a SCSI Response for task (or, task == NULL, for a command that never
 * got one: itt only). */
static void
iscsi_task_send_response(struct iscsi_conn *conn, uint32_t itt, uint8_t status,
                         const uint8_t *sense, uint8_t sense_len,
                         uint8_t res_flags, uint32_t residual, uint32_t expdatasn)
{
    uint32_t dlen = sense_len ? 2u + sense_len : 0;
    struct iscsi_tx *tx = iscsi_pdu_new(ISCSI_OP_SCSI_RSP,
                                        ISCSI_FLAG_FINAL | res_flags, dlen);

    if (tx == NULL) {
        conn_close_soon(&conn->base, "out of memory for a SCSI response");
        return;
    }
    tx->hdr[2] = ISCSI_RSP_COMPLETED;
    tx->hdr[3] = status;
    iscsi_put32(tx->hdr + ISCSI_BHS_ITT, itt);
    iscsi_pdu_set_sn(conn, tx->hdr, true);
    iscsi_put32(tx->hdr + 36, expdatasn);
    iscsi_put32(tx->hdr + 44, residual);
    if (dlen) {
        uint8_t *d = iscsi_pdu_copy_area(tx);

        iscsi_put16(d, sense_len);
        memcpy(d + 2, sense, sense_len);
    }
    iscsi_pdu_queue(conn, tx, iscsi_pdu_copy_area(tx), dlen);
}

/* Residual flags and count: what the initiator expected (edtl) against
 * what the command moves (want) and what actually moved (moved). */
static uint8_t
iscsi_task_residual(uint32_t edtl, uint32_t want, uint32_t moved,
                    uint32_t *residual)
{
    if (want > edtl) {
        *residual = want - edtl;
        return ISCSI_RSP_OVERFLOW;
    }
    if (moved < edtl) {
        *residual = edtl - moved;
        return ISCSI_RSP_UNDERFLOW;
    }
    *residual = 0;
    return 0;
}

static void
iscsi_task_send_data_in(struct iscsi_task *task, uint32_t len)
{
    struct iscsi_conn *conn = task->conn;
    uint32_t maxpdu = conn->params.max_xmit_dsl;
    uint32_t burst = conn->params.max_burst_length;
    uint32_t off = 0, residual;
    uint8_t rflags = iscsi_task_residual(task->edtl, task->cmd.data_len, len,
                                         &residual);

    while (off < len) {
        uint32_t n = MIN(maxpdu, len - off);
        bool last, end_of_burst;
        struct iscsi_tx *tx;
        uint8_t flags = 0;

        /* A sequence (burst) may not cross a MaxBurstLength boundary. */
        n = MIN(n, burst - off % burst);
        last = off + n == len;
        end_of_burst = last || (off + n) % burst == 0;
        if (end_of_burst) {
            flags |= ISCSI_FLAG_FINAL;
        }
        if (last) {
            flags |= ISCSI_DATAIN_STATUS | rflags;
        }
        tx = iscsi_pdu_new(ISCSI_OP_DATA_IN, flags, 0);
        if (tx == NULL) {
            conn_close_soon(&conn->base, "out of memory for Data-In");
            return;
        }
        if (last) {
            tx->hdr[3] = SCSI_STATUS_GOOD;
            iscsi_put32(tx->hdr + ISCSI_DATA_RESIDUAL, residual);
        }
        memcpy(tx->hdr + ISCSI_BHS_LUN, &(uint8_t[8]){ 0 }, 8);
        iscsi_put32(tx->hdr + ISCSI_BHS_ITT, task->itt);
        iscsi_put32(tx->hdr + ISCSI_BHS_TTT, ISCSI_RSVD_TAG);
        /* Only the PDU carrying status consumes a StatSN. */
        iscsi_pdu_set_sn(conn, tx->hdr, last);
        if (!last) {
            iscsi_put32(tx->hdr + ISCSI_BHS_CMDSN, 0);
        }
        iscsi_put32(tx->hdr + ISCSI_DATA_DATASN, task->datasn++);
        iscsi_put32(tx->hdr + ISCSI_DATA_OFFSET, off);
        tx->task = task;
        task->refs++;
        iscsi_pdu_queue(conn, tx, task->buf + off, n);
        off += n;
    }
}

static void
iscsi_task_respond(struct iscsi_task *task)
{
    struct iscsi_conn *conn = task->conn;
    struct scsi_cmd *cmd = &task->cmd;
    uint32_t residual;
    uint8_t rflags;

    if (cmd->dir == SCSI_DIR_READ && cmd->status == SCSI_STATUS_GOOD &&
        cmd->data_len > 0 && task->edtl > 0) {
        /* Phase collapse: the status rides on the last Data-In. */
        task->state = ISCSI_TASK_SENDING;
        task->refs++; /* held while queuing */
        iscsi_task_send_data_in(task, MIN(cmd->data_len, task->edtl));
        iscsi_task_put(task);
        return;
    }
    if (cmd->dir == SCSI_DIR_READ) {
        rflags = iscsi_task_residual(task->edtl, cmd->data_len, 0, &residual);
    } else {
        uint32_t moved = cmd->status == SCSI_STATUS_GOOD ? task->want : 0;

        rflags = iscsi_task_residual(task->edtl, task->spdtl, moved,
                                     &residual);
    }
    iscsi_task_send_response(conn, task->itt, cmd->status, cmd->sense,
                             cmd->sense_len, rflags, residual,
                             cmd->dir == SCSI_DIR_WRITE ? task->r2tsn
                                                        : task->datasn);
    iscsi_task_release(task);
}

/* The statistics of the export behind the task's LU, this thread's. */
static struct stats_io *
iscsi_task_export_stats(const struct iscsi_task *task)
{
    return &task->cmd.lu->export->stats[iothread_id(task->conn->base.iothread)];
}

static void
iscsi_task_done(struct scsi_cmd *cmd)
{
    struct iscsi_task *task = (struct iscsi_task *)cmd;
    struct iscsi_conn *conn = task->conn;

    conn->in_core--;
    if (cmd->stats_op >= 0) {
        int64_t lat = aio_ctx_now(conn->base.ctx) - task->start_ns;
        uint64_t bytes = cmd->dir == SCSI_DIR_READ ? cmd->data_len
                                                   : cmd->xfer_len;
        int err = cmd->status == SCSI_STATUS_GOOD ? 0 : -EIO;

        stats_io_done(&conn->stats, (enum stats_op)cmd->stats_op, bytes, err,
                      lat);
        stats_io_done(iscsi_task_export_stats(task),
                      (enum stats_op)cmd->stats_op, bytes, err, lat);
    }
    if (conn->base.life == CONN_DEAD || task->aborted) {
        /* Nobody to answer (an aborted task gets no response). */
        iscsi_task_release(task);
        return;
    }
    iscsi_task_respond(task);
    /* Other completions of this iteration go in the same sendmsg. */
    conn_flush_soon(&conn->base);
}

static void
iscsi_task_exec(struct iscsi_task *task)
{
    struct iscsi_conn *conn = task->conn;

    task->state = ISCSI_TASK_EXEC;
    conn->in_core++;
    if (task->cmd.stats_op >= 0) {
        stats_io_start(&conn->stats);
        stats_io_start(iscsi_task_export_stats(task));
    }
    scsi_cmd_exec(&task->cmd);
}

/* Solicit what is still missing, within MaxOutstandingR2T. */
static void
iscsi_task_send_r2ts(struct iscsi_task *task)
{
    struct iscsi_conn *conn = task->conn;
    uint32_t want = task->want;

    while (task->r2t_outstanding < conn->params.max_outstanding_r2t &&
           task->r2t_next < want) {
        uint32_t len = MIN(conn->params.max_burst_length, want - task->r2t_next);
        struct iscsi_tx *tx = iscsi_pdu_new(ISCSI_OP_R2T, ISCSI_FLAG_FINAL, 0);

        if (tx == NULL) {
            conn_close_soon(&conn->base, "out of memory for an R2T");
            return;
        }
        memcpy(tx->hdr + ISCSI_BHS_LUN, &(uint8_t[8]){ 0 }, 8);
        iscsi_put32(tx->hdr + ISCSI_BHS_ITT, task->itt);
        iscsi_put32(tx->hdr + ISCSI_BHS_TTT, ISCSI_TTT(task));
        iscsi_pdu_set_sn(conn, tx->hdr, false);
        iscsi_put32(tx->hdr + ISCSI_DATA_DATASN, task->r2tsn++);
        iscsi_put32(tx->hdr + ISCSI_DATA_OFFSET, task->r2t_next);
        iscsi_put32(tx->hdr + ISCSI_DATA_RESIDUAL, len);
        iscsi_pdu_queue(conn, tx, NULL, 0);
        task->r2t_next += len;
        task->r2t_outstanding++;
    }
}

/* Write data arrived (or the command came): run it once all is here. */
static void
iscsi_task_write_progress(struct iscsi_task *task)
{
    if (task->data_got >= task->want) {
        iscsi_task_exec(task);
        return;
    }
    if (task->unsol_done) {
        if (task->r2t_next < task->data_got) {
            task->r2t_next = task->data_got;
        }
        iscsi_task_send_r2ts(task);
    }
}

/* Take bytes of write data at offset into the task's buffer; bytes the
 * command does not need (EDTL larger than the CDB's length) are dropped. */
static void
iscsi_task_take_data(struct iscsi_task *task, uint32_t offset,
                     const uint8_t *data, uint32_t len)
{
    uint32_t want = task->want;

    if (offset < want) {
        memcpy(task->buf + offset, data, MIN(len, want - offset));
    }
    task->data_got = offset + len;
}

static bool
iscsi_task_ensure_buf(struct iscsi_task *task, uint32_t len)
{
    if (len <= task->bufcap) {
        return true;
    }
    free(task->buf);
    task->buf = malloc(len);
    task->bufcap = task->buf ? len : 0;
    return task->buf != NULL;
}

void
iscsi_task_scsi_cmd(struct iscsi_conn *conn, const uint8_t *bhs,
                    const uint8_t *data, uint32_t dlen)
{
    uint8_t flags = bhs[ISCSI_BHS_FLAGS];
    uint32_t itt = iscsi_get32(bhs + ISCSI_BHS_ITT);
    uint32_t edtl = iscsi_get32(bhs + ISCSI_CMD_EDTL);
    uint64_t lun = iscsi_lun_decode(bhs + ISCSI_BHS_LUN);
    struct iscsi_target *t = conn->target;
    struct iscsi_task *task;
    struct scsi_cmd *cmd;

    if (!iscsi_task_check_cmdsn(conn, bhs)) {
        return;
    }
    if (dlen && (!(flags & ISCSI_CMD_W) || !conn->params.immediate_data ||
                 dlen > conn->params.first_burst_length || dlen > edtl)) {
        iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR,
                         "immediate data not allowed here or too long");
        return;
    }
    task = conn->free_tasks;
    if (task == NULL) {
        iscsi_task_send_response(conn, itt, SCSI_STATUS_TASK_SET_FULL, NULL, 0,
                                 edtl ? ISCSI_RSP_UNDERFLOW : 0, edtl, 0);
        return;
    }
    conn->free_tasks = task->next_free;
    conn->inflight++;
    task->prev = NULL;
    task->next = conn->active;
    if (task->next) {
        task->next->prev = task;
    }
    conn->active = task;
    task->itt = itt;
    task->cmdsn = iscsi_get32(bhs + ISCSI_BHS_CMDSN);
    task->edtl = edtl;
    task->immediate = bhs[0] & ISCSI_FLAG_IMMEDIATE;
    task->aborted = false;
    task->abort_wait = NULL;
    task->data_got = 0;
    task->spdtl = task->want = 0;
    task->data_sn = 0;
    task->unsol_done = false;
    task->r2t_next = 0;
    task->r2t_outstanding = 0;
    task->r2tsn = 0;
    task->datasn = 0;
    task->refs = 0;
    task->start_ns = aio_ctx_now(conn->base.ctx);

    cmd = &task->cmd;
    memset(cmd, 0, sizeof *cmd);
    cmd->target = &t->scsi;
    cmd->lu = scsi_lu_find(&t->scsi, lun);
    cmd->lun = lun;
    cmd->nexus = &conn->nexus;
    memcpy(cmd->cdb, bhs + ISCSI_BHS_CDB, SCSI_CDB_MAX);
    cmd->cdb_len = SCSI_CDB_MAX;
    cmd->ctx = conn->base.ctx;
    cmd->done = iscsi_task_done;
    cmd->opaque = task;
    task->state = ISCSI_TASK_EXEC;

    if (iscsi_task_unit_attention(conn, cmd) || !scsi_cmd_decode(cmd)) {
        iscsi_task_respond(task);
        return;
    }
    if (cmd->buf_len > ISCSI_MAX_XFER) {
        scsi_cmd_set_sense(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
                           SCSI_ASC_INVALID_FIELD_IN_CDB);
        cmd->dir = SCSI_DIR_NONE;
        iscsi_task_respond(task);
        return;
    }
    task->spdtl = task->want = cmd->xfer_len;
    if ((flags & ISCSI_CMD_W) && edtl > cmd->xfer_len &&
        !scsi_cmd_data_overflow(cmd, edtl)) {
        task->spdtl = task->want = 0;
        iscsi_task_respond(task);
        return;
    }
    if (cmd->dir == SCSI_DIR_WRITE && edtl < cmd->xfer_len) {
        /* Less data than the CDB writes: a WRITE writes just those bytes
         * (FCP-4), anything else is refused; the residual overflow says
         * so either way. */
        if (!scsi_cmd_short_data_out(cmd, edtl)) {
            scsi_cmd_set_sense(cmd, SCSI_SENSE_ILLEGAL_REQUEST,
                               SCSI_ASC_INVALID_FIELD_IN_IU);
            cmd->dir = SCSI_DIR_NONE;
            iscsi_task_respond(task);
            return;
        }
        task->want = edtl;
    }
    if (!iscsi_task_ensure_buf(task, MAX(cmd->buf_len, 1u))) {
        scsi_cmd_set_sense(cmd, SCSI_SENSE_ABORTED_COMMAND,
                           SCSI_ASC_OUT_OF_MEMORY);
        cmd->dir = SCSI_DIR_NONE;
        iscsi_task_respond(task);
        return;
    }
    cmd->buf = task->buf;
    if (cmd->dir != SCSI_DIR_WRITE) {
        iscsi_task_exec(task);
        return;
    }
    /* Write: immediate data, then unsolicited Data-Out unless InitialR2T,
     * up to FirstBurstLength; R2Ts for the rest. */
    task->state = ISCSI_TASK_DATA_OUT;
    task->unsol_len = conn->params.initial_r2t
                          ? dlen
                          : MIN(edtl, conn->params.first_burst_length);
    iscsi_task_take_data(task, 0, data, dlen);
    task->unsol_done = (flags & ISCSI_CMD_F) || task->data_got >= task->unsol_len;
    iscsi_task_write_progress(task);
}

/*
 * A LUN or target reset since this session last looked: report it once as a unit attention (SAM-5 6.3), except to the
 * commands that must work through one (INQUIRY, REPORT LUNS, REQUEST
 * SENSE).  Returns true when cmd now carries it.
 */
static bool
iscsi_task_unit_attention(struct iscsi_conn *conn, struct scsi_cmd *cmd)
{
    const struct iscsi_target *t = conn->target;
    size_t i;
    uint32_t gen;

    if (cmd->lu == NULL) {
        return false;
    }
    i = (size_t)(cmd->lu - t->scsi.luns);
    gen = atomic_load_explicit(&t->reset_gen[i], memory_order_relaxed);
    if (gen == conn->reset_seen[i] || cmd->cdb[0] == 0x12 ||
        cmd->cdb[0] == 0xa0 || cmd->cdb[0] == 0x03) {
        return false;
    }
    conn->reset_seen[i] = gen;
    scsi_cmd_set_sense(cmd, SCSI_SENSE_UNIT_ATTENTION, SCSI_ASC_POWER_ON_RESET);
    return true;
}

/* A reset of LU index i (SIZE_MAX: all): every session of the target,
 * this one included, reports it once (SAM-5 6.3.3: a unit attention for
 * every I_T nexus). */
static void
iscsi_task_reset_lus(struct iscsi_conn *conn, size_t which)
{
    struct iscsi_target *t = conn->target;

    for (size_t i = 0; t && i < t->scsi.nluns; i++) {
        if (which == SIZE_MAX || which == i) {
            atomic_fetch_add(&t->reset_gen[i], 1);
            scsi_pr_reset(t->scsi.luns[i].pr);
        }
    }
}

static struct iscsi_task *
iscsi_task_find_itt(struct iscsi_conn *conn, uint32_t itt)
{
    for (struct iscsi_task *task = conn->active; task; task = task->next) {
        if (task->itt == itt) {
            return task;
        }
    }
    return NULL;
}

void
iscsi_task_data_out(struct iscsi_conn *conn, const uint8_t *bhs,
                    const uint8_t *data, uint32_t dlen)
{
    uint32_t itt = iscsi_get32(bhs + ISCSI_BHS_ITT);
    uint32_t ttt = iscsi_get32(bhs + ISCSI_BHS_TTT);
    uint32_t offset = iscsi_get32(bhs + ISCSI_DATA_OFFSET);
    bool final = bhs[ISCSI_BHS_FLAGS] & ISCSI_FLAG_FINAL;
    struct iscsi_task *task = NULL;

    if (ttt != ISCSI_RSVD_TAG) {
        unsigned index = ttt & 0xfff;

        if (index < conn->ntasks && ISCSI_TTT(&conn->tasks[index]) == ttt) {
            task = &conn->tasks[index];
        }
    } else {
        task = iscsi_task_find_itt(conn, itt);
    }
    if (task == NULL || task->state != ISCSI_TASK_DATA_OUT || task->itt != itt) {
        /* Data for a command already answered (refused early, aborted):
         * nothing to do with it. */
        log_debug("iscsi %s: Data-Out for no waiting command (ITT 0x%x)",
                  conn->base.peer, itt);
        return;
    }
    if ((uint64_t)offset + dlen > task->edtl ||
        (ttt == ISCSI_RSVD_TAG && offset + dlen > task->unsol_len)) {
        iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_PROTOCOL_ERROR,
                         "Data-Out beyond the expected or unsolicited length");
        return;
    }
    if (iscsi_get32(bhs + ISCSI_DATA_DATASN) != task->data_sn) {
        /* Each sequence counts its Data-Out PDUs from 0 (RFC 7143
         * 11.7.5); a wrong one means a lost or reordered PDU, which
         * ErrorRecoveryLevel 0 recovers by ending the session. */
        conn_close_soon(&conn->base, "Data-Out with an unexpected DataSN");
        return;
    }
    task->data_sn = final ? 0 : task->data_sn + 1;
    if (offset != task->data_got) {
        /* DataPDUInOrder=Yes was negotiated; at ErrorRecoveryLevel 0 a gap
         * is recovered only by ending the session. */
        conn_close_soon(&conn->base, "Data-Out out of order");
        return;
    }
    iscsi_task_take_data(task, offset, data, dlen);
    if (final) {
        if (ttt == ISCSI_RSVD_TAG) {
            task->unsol_done = true;
        } else if (task->r2t_outstanding > 0) {
            task->r2t_outstanding--;
        }
    }
    if (ttt == ISCSI_RSVD_TAG && task->data_got >= task->unsol_len) {
        task->unsol_done = true;
    }
    iscsi_task_write_progress(task);
}

/* --- Task management ------------------------------------------------- */

static void
iscsi_task_send_tmf_response(struct iscsi_conn *conn, uint32_t itt,
                             uint8_t response)
{
    struct iscsi_tx *tx = iscsi_pdu_new(ISCSI_OP_TMF_RSP, ISCSI_FLAG_FINAL, 0);

    if (tx == NULL) {
        conn_close_soon(&conn->base, "out of memory for a TMF response");
        return;
    }
    tx->hdr[2] = response;
    iscsi_put32(tx->hdr + ISCSI_BHS_ITT, itt);
    iscsi_pdu_set_sn(conn, tx->hdr, true);
    iscsi_pdu_queue(conn, tx, NULL, 0);
}

/* Abort one task.  Returns true if it is still in the backend (its end
 * must be waited for before the TMF is answered). */
static bool
iscsi_task_abort(struct iscsi_task *task)
{
    switch (task->state) {
    case ISCSI_TASK_DATA_OUT:
        iscsi_task_release(task);
        return false;
    case ISCSI_TASK_EXEC:
        task->aborted = true;
        /* A SANITIZE waiting for its job is let go at once (the job goes
         * on): its done, unanswered, has released the task. */
        return !scsi_cmd_abort(&task->cmd);
    default:
        return false; /* answered already */
    }
}

/* Abort the tasks of lun (UINT64_MAX: all) but except_itt's
 * (ISCSI_RSVD_TAG: none; a command may carry that tag too, and must not
 * escape an abort).  Returns how many are still in the backend. */
static unsigned
iscsi_task_abort_lun(struct iscsi_conn *conn, uint64_t lun, uint32_t except_itt)
{
    unsigned busy = 0;
    struct iscsi_task *task = conn->active;

    while (task) {
        struct iscsi_task *next = task->next;

        if ((lun == UINT64_MAX || task->cmd.lun == lun) &&
            (except_itt == ISCSI_RSVD_TAG || task->itt != except_itt)) {
            busy += iscsi_task_abort(task);
        }
        task = next;
    }
    return busy;
}

unsigned
iscsi_task_abort_preempted(struct iscsi_conn *conn, uint64_t lun,
                           struct iscsi_abort_wait *w, unsigned *aborted)
{
    unsigned waited = 0;
    struct iscsi_task *task = conn->active;

    *aborted = 0;
    while (task) {
        struct iscsi_task *next = task->next;

        if (task->cmd.lun != lun) {
            task = next;
            continue;
        }
        /* Answered already, or aborted by a TMF already: not ours to
         * report, but one still in the backend is waited for. */
        if (task->state != ISCSI_TASK_SENDING && !task->aborted) {
            (*aborted)++;
        }
        /* One wait per task: a second PREEMPT AND ABORT of the same
         * task in flight does not wait for it again. */
        if (iscsi_task_abort(task) && task->abort_wait == NULL) {
            task->abort_wait = w;
            waited++;
        }
        task = next;
    }
    return waited;
}

void
iscsi_task_abort_all(struct iscsi_conn *conn)
{
    iscsi_task_abort_lun(conn, UINT64_MAX, ISCSI_RSVD_TAG);
}

void
iscsi_task_drop_data_out(struct iscsi_conn *conn)
{
    struct iscsi_task *task = conn->active;

    while (task) {
        struct iscsi_task *next = task->next;

        if (task->state == ISCSI_TASK_DATA_OUT) {
            iscsi_task_release(task);
        }
        task = next;
    }
}

void
iscsi_task_drain(struct iscsi_conn *conn)
{
    struct iscsi_task *task = conn->active;

    /* Held so that no release below lets the drain close the connection
     * (and its kill walk this list) under the walk. */
    conn->in_core++;
    while (task) {
        struct iscsi_task *next = task->next;

        if (task->state == ISCSI_TASK_DATA_OUT ||
            (task->state == ISCSI_TASK_EXEC && task->cmd.sanitize_job)) {
            iscsi_task_abort(task);
        }
        task = next;
    }
    conn->in_core--;
}

static bool
iscsi_task_any_aborted(const struct iscsi_conn *conn)
{
    for (const struct iscsi_task *t = conn->active; t; t = t->next) {
        if (t->aborted) {
            return true;
        }
    }
    return false;
}

void
iscsi_task_tmf_check(struct iscsi_conn *conn)
{
    if (conn->tmf_pending && !iscsi_task_any_aborted(conn)) {
        conn->tmf_pending = false;
        iscsi_task_send_tmf_response(conn, conn->tmf_itt, conn->tmf_response);
    }
}

void
iscsi_task_tmf(struct iscsi_conn *conn, const uint8_t *bhs)
{
    uint8_t function = bhs[ISCSI_BHS_FLAGS] & 0x7f;
    uint32_t itt = iscsi_get32(bhs + ISCSI_BHS_ITT);
    uint32_t rtt = iscsi_get32(bhs + ISCSI_TMF_RTT);
    uint32_t refcmdsn = iscsi_get32(bhs + ISCSI_TMF_REFCMDSN);
    uint32_t cmdsn = iscsi_get32(bhs + ISCSI_BHS_CMDSN);
    uint64_t lun = iscsi_lun_decode(bhs + ISCSI_BHS_LUN);
    const struct scsi_lu *lu =
        conn->target ? scsi_lu_find(&conn->target->scsi, lun) : NULL;
    bool lun_ok = lu != NULL;
    uint8_t response = ISCSI_TMF_RSP_COMPLETE;
    struct iscsi_task *task;

    if (!iscsi_task_check_cmdsn(conn, bhs)) {
        return;
    }
    if (conn->tmf_pending) {
        iscsi_pdu_reject(conn, bhs, ISCSI_REJECT_TASK_IN_PROGRESS,
                         "a task management request is still in progress");
        return;
    }
    switch (function) {
    case ISCSI_TMF_ABORT_TASK:
        task = iscsi_task_find_itt(conn, rtt);
        if (task) {
            iscsi_task_abort(task);
        } else if (iscsi_sn_cmp(refcmdsn, conn->exp_cmdsn) < 0 ||
                   iscsi_sn_cmp(refcmdsn, cmdsn) >= 0) {
            /* RFC 7143 11.5.1: done already (below the window), or not
             * sent before this request. */
            response = ISCSI_TMF_RSP_NO_TASK;
        }
        /* Otherwise a command still on its way: "function complete", and
         * it will be found missing (ErrorRecoveryLevel 0). */
        break;
    case ISCSI_TMF_ABORT_TASK_SET:
    case ISCSI_TMF_CLEAR_TASK_SET:
    case ISCSI_TMF_LUN_RESET:
        if (!lun_ok) {
            response = ISCSI_TMF_RSP_NO_LUN;
            break;
        }
        iscsi_task_abort_lun(conn, lun, ISCSI_RSVD_TAG);
        if (function == ISCSI_TMF_LUN_RESET) {
            iscsi_task_reset_lus(conn, (size_t)(lu - conn->target->scsi.luns));
        }
        break;
    case ISCSI_TMF_TARGET_WARM_RESET:
    case ISCSI_TMF_TARGET_COLD_RESET:
        iscsi_task_abort_all(conn);
        iscsi_task_reset_lus(conn, SIZE_MAX);
        break;
    case ISCSI_TMF_CLEAR_ACA:
        response = ISCSI_TMF_RSP_NOT_SUPPORTED; /* no ACA (NACA bit refused) */
        break;
    case ISCSI_TMF_TASK_REASSIGN:
        response = ISCSI_TMF_RSP_REASSIGN_UNSUPPORTED; /* ErrorRecoveryLevel 0 */
        break;
    default:
        response = ISCSI_TMF_RSP_REJECTED;
        break;
    }
    log_info("iscsi %s: task management function %u answered %u", conn->base.peer,
             function, response);
    conn->tmf_pending = true;
    conn->tmf_itt = itt;
    conn->tmf_response = response;
    iscsi_task_tmf_check(conn);
    if (function == ISCSI_TMF_TARGET_COLD_RESET &&
        response == ISCSI_TMF_RSP_COMPLETE) {
        /* A cold reset also ends the connections (RFC 7143 11.5.1). */
        conn_close_soon(&conn->base, NULL);
    }
}
