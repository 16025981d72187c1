/* SPDX-License-Identifier: MIT */
/*
 * SANITIZE (SBC-4 4.11, 5.30): OVERWRITE and BLOCK ERASE of a whole
 * logical unit, run in the background on the I/O thread that received
 * the command, and the state every other command is checked against
 * while it runs or after it failed.
 *
 * A sanitize is a job of its own, not the command: with IMMED the command
 * is answered as soon as its parameters are checked, and the job goes on
 * long after the transport reused the command's memory; without IMMED
 * the command waits for the job and gets its result.  The job carries a
 * struct scsi_cmd of its own (never seen by a transport) so that it runs
 * through the same step driver (scsi-step.c) and range lock (scsi-range.c)
 * as any long command: one backend request of at most SCSI_STEP_BYTES
 * (OVERWRITE) or SANITIZE_ERASE_STEP (BLOCK ERASE) at a time, each
 * submitted from a timer due at once (not a bottom half: those chain
 * within one iteration), so the I/O thread goes back to its event loop
 * between any two steps even on a backend that completes inline
 * (memory, whose 16 GiB would otherwise be one call of seconds) and keeps
 * serving its other connections; and the whole LU held exclusive, so no
 * write that got past the check before the sanitize began lands on the
 * blocks after it.  A final flush makes the result durable.
 *
 * While a job runs, every command but INQUIRY, REPORT LUNS and REQUEST
 * SENSE ends NOT READY, LOGICAL UNIT NOT READY, SANITIZE IN PROGRESS,
 * with the progress indication in the sense-key specific bytes; REQUEST
 * SENSE reports the same as its data.  A job that fails (a backend error)
 * leaves the LU in failure mode: MEDIUM ERROR, SANITIZE COMMAND FAILED to
 * all but those and SANITIZE, until a later sanitize succeeds or, when
 * the failed one had AUSE set, EXIT FAILURE MODE.  A LUN or target reset
 * does not stop a job (SBC-4 4.11.1: a sanitize survives task management
 * and resets), and neither does the end of the session that asked for it.
 * What those abort is the command waiting without IMMED: scsi_cmd_abort
 * lets it go at once (no status goes out for it; the job forgets it), so
 * the TMF's answer does not wait for the sanitize.
 *
 * Shutdown is the one thing that stops a job: scsi_sanitize_stop sets a
 * flag that the job reads at its next step boundary, on its own thread,
 * and ends there, freeing what it has, leaving the LU partly overwritten
 * (logged) and in failure mode; the transport waits for that before the
 * I/O threads and backends go.  Nothing is kept to resume it from after
 * a restart.
 *
 * BLOCK ERASE is a write-zeroes that may deallocate (BACKEND_MAY_TRIM), so
 * it is offered only where UNMAP reads back zeros (scsi_lbp_unmap_zeroes:
 * memory, a file on a file system that punches holes): there every block
 * ends deallocated and reads as zeros, which VPD B1h's WABEREQ 01b says.
 * CRYPTOGRAPHIC ERASE is not offered: there is no media key to change.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scsi/scsi-internal.h"
#include "util/clock.h"
#include "util/minmax.h"

/* BLOCK ERASE deallocates this much per backend request: a file
 * backend's hole punch of 256 MiB is a few milliseconds. */
#define SANITIZE_ERASE_STEP (UINT64_C(256) << 20)
#define SANITIZE_BUF_ALIGN 4096
#define SANITIZE_CDB_IMMED 0x80
#define SANITIZE_CDB_ZNR   0x40
#define SANITIZE_CDB_AUSE  0x20

struct sanitize_job {
    struct scsi_cmd inner;     /* first: the steps hand it back */
    struct scsi_cmd *cmd;      /* the SANITIZE waiting (IMMED 0), or NULL */
    struct aio_timer timer;    /* submits the step inner.breq holds */
    enum backend_op op;        /* ... with this */
    struct scsi_sanitize *s;
    uint8_t sa;
    bool invert;
    bool flushed;
    unsigned count;            /* OVERWRITE passes */
    int filled;                /* the pass whose pattern is in inner.buf */
    uint64_t lu_bytes;
    uint32_t pattern_len;
    uint8_t pattern[4096];     /* at most one block */
};

void
scsi_sanitize_init(struct scsi_sanitize *s)
{
    atomic_init(&s->state, SCSI_SANITIZE_IDLE);
    atomic_init(&s->progress, 0);
    atomic_init(&s->ause, false);
    atomic_init(&s->stop, false);
}

void
scsi_sanitize_stop(struct scsi_lu *lu)
{
    atomic_store(&lu->sanitize->stop, true);
}

bool
scsi_sanitize_running(const struct scsi_lu *lu)
{
    return atomic_load(&lu->sanitize->state) == SCSI_SANITIZE_RUNNING;
}

bool
scsi_sanitize_can_erase(const struct scsi_lu *lu)
{
    return scsi_lbp_unmap_zeroes(lu);
}

/* NOT READY, SANITIZE IN PROGRESS, with the progress (SPC-4 4.5.2.4.4). */
static void
sanitize_sense_progress(const struct scsi_lu *lu, uint8_t *buf)
{
    scsi_sense_build(buf, SCSI_SENSE_NOT_READY, SCSI_ASC_SANITIZE_IN_PROGRESS);
    buf[15] = SCSI_SENSE_SKSV;
    scsi_put_be16(&buf[16], (uint16_t)atomic_load(&lu->sanitize->progress));
}

bool
scsi_sanitize_sense(const struct scsi_lu *lu, uint8_t *buf)
{
    switch (atomic_load(&lu->sanitize->state)) {
    case SCSI_SANITIZE_RUNNING:
        sanitize_sense_progress(lu, buf);
        return true;
    case SCSI_SANITIZE_FAILED:
        scsi_sense_build(buf, SCSI_SENSE_MEDIUM_ERROR,
                         SCSI_ASC_SANITIZE_FAILED);
        return true;
    default:
        return false;
    }
}

bool
scsi_sanitize_check(struct scsi_cmd *t)
{
    unsigned st = atomic_load(&t->lu->sanitize->state);

    if (st == SCSI_SANITIZE_IDLE) {
        return true;
    }
    switch (t->cdb[0]) {
    case SCSI_OP_INQUIRY:
    case SCSI_OP_REPORT_LUNS:
    case SCSI_OP_REQUEST_SENSE:
        return true;
    case SCSI_OP_SANITIZE:
        if (st == SCSI_SANITIZE_FAILED) {
            return true; /* the way out of failure mode */
        }
        break;
    default:
        break;
    }
    if (!scsi_sanitize_sense(t->lu, t->sense)) {
        return true; /* it ended just now */
    }
    t->status = SCSI_STATUS_CHECK_CONDITION;
    t->sense_len = SCSI_SENSE_LEN;
    t->data_len = 0;
    return false;
}

bool
scsi_sanitize_decode(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    uint8_t sa = t->cdb[1] & 0x1f;
    uint16_t len = scsi_get_be16(&t->cdb[7]);

    /* ZNR means something for a zoned device only, which this is not. */
    if (t->cdb[1] & SANITIZE_CDB_ZNR) {
        return scsi_cmd_invalid_field_at(t, 1, 6);
    }
    if (!scsi_cmd_supported(lu, SCSI_OP_SANITIZE, sa, NULL)) {
        return scsi_cmd_invalid_field_at(t, 1, 4); /* SERVICE ACTION */
    }
    for (uint8_t i = 2; i <= 6; i++) {
        if (t->cdb[i] != 0) {
            return scsi_cmd_invalid_field_at(t, i, 7);
        }
    }
    /* SBC-4 table 73: OVERWRITE takes the header and 1 to a block of
     * pattern; the others no parameter list at all. */
    if (sa == SCSI_SANITIZE_OVERWRITE ? len < 5 || len > lu->block_size + 4
                                      : len != 0) {
        return scsi_cmd_invalid_field_at(t, 7, 7);
    }
    if (sa != SCSI_SANITIZE_EXIT_FAILURE && !scsi_sbc_check_writable(t)) {
        return false;
    }
    if (len > 0) {
        scsi_cmd_data_out(t, len, 0);
    }
    return true;
}

/* The OVERWRITE parameter list (SBC-4 5.30.2.2) into j; false with
 * INVALID FIELD IN PARAMETER LIST pointing at what is wrong. */
static bool
sanitize_parse_overwrite(struct scsi_cmd *t, struct sanitize_job *j)
{
    const uint8_t *p = t->buf;
    uint32_t plen = scsi_get_be16(&p[2]);

    /* TEST selects a vendor's test mode; there are none. */
    if (p[0] & 0x60) {
        return scsi_cmd_invalid_param_at(t, 0, 6);
    }
    if ((p[0] & 0x1f) == 0) {
        return scsi_cmd_invalid_param_at(t, 0, 4); /* OVERWRITE COUNT */
    }
    if (p[1] != 0) {
        return scsi_cmd_invalid_param_at(t, 1, 7);
    }
    if (plen == 0 || plen > t->lu->block_size || plen > t->xfer_len - 4) {
        return scsi_cmd_invalid_param_at(t, 2, 7);
    }
    j->invert = p[0] & 0x80;
    j->count = p[0] & 0x1f;
    j->pattern_len = plen;
    memcpy(j->pattern, &p[4], plen);
    return true;
}

/* Fill the buffer with pass `pass`'s blocks: the pattern repeated from
 * each block's start, inverted on alternate passes with INVERT so that
 * the last pass writes the pattern itself. */
static void
sanitize_fill(struct sanitize_job *j, unsigned pass)
{
    struct scsi_cmd *in = &j->inner;
    uint32_t bs = in->lu->block_size;
    uint8_t x = j->invert && ((j->count - 1 - pass) & 1) ? 0xff : 0;

    for (uint32_t i = 0; i < bs; i++) {
        in->buf[i] = j->pattern[i % j->pattern_len] ^ x;
    }
    for (uint32_t have = bs; have < in->buf_len;) {
        uint32_t k = MIN(have, in->buf_len - have);

        memcpy(in->buf + have, in->buf, k);
        have += k;
    }
    j->filled = (int)pass;
}

static void
sanitize_submit(void *opaque)
{
    struct sanitize_job *j = opaque;
    struct backend *b = j->inner.lu->export->backend;

    switch (j->op) {
    case BACKEND_OP_FLUSH:
        backend_flush(b, &j->inner.breq);
        break;
    case BACKEND_OP_ZERO:
        backend_zero(b, &j->inner.breq);
        break;
    default:
        backend_write(b, &j->inner.breq);
        break;
    }
}

static bool
sanitize_next(struct scsi_cmd *in)
{
    struct sanitize_job *j = (struct sanitize_job *)in;
    const struct scsi_lu *lu = in->lu;
    uint64_t left = in->step_end - in->step_pos;
    uint64_t off;
    unsigned pass;

    if (left > 0 && atomic_load(&j->s->stop)) {
        /* Shutdown: the I/O thread and the backend are going away, and
         * nothing survives to resume a job of gigabytes later. */
        in->err = -ECANCELED;
        in->status = SCSI_STATUS_CHECK_CONDITION;
        return false;
    }
    if (left == 0) {
        if (j->flushed || !(lu->export->caps & BACKEND_CAN_FLUSH)) {
            in->status = SCSI_STATUS_GOOD;
            return false;
        }
        j->flushed = true;
        scsi_step_req(in, 0, 0, 0, NULL);
        j->op = BACKEND_OP_FLUSH;
    } else if (j->sa == SCSI_SANITIZE_BLOCK_ERASE) {
        scsi_step_req(in, in->step_pos, MIN(left, SANITIZE_ERASE_STEP),
                      BACKEND_MAY_TRIM, NULL);
        j->op = BACKEND_OP_ZERO;
    } else {
        pass = (unsigned)(in->step_pos / j->lu_bytes);
        off = in->step_pos % j->lu_bytes;
        if ((int)pass != j->filled) {
            sanitize_fill(j, pass);
        }
        scsi_step_req(in, off, MIN(j->lu_bytes - off, (uint64_t)in->buf_len),
                      0, in->buf);
        j->op = BACKEND_OP_WRITE;
    }
    /* To the step driver this is a request in flight; the timer submits
     * it on the loop's next turn. */
    if (aio_timer_mod(in->ctx, &j->timer, clock_now_ns()) < 0) {
        sanitize_submit(j); /* no timer: on at once rather than not */
    }
    return true;
}

static bool
sanitize_step_done(struct scsi_cmd *in, int err)
{
    struct sanitize_job *j = (struct sanitize_job *)in;

    if (err < 0) {
        in->err = err;
        in->status = SCSI_STATUS_CHECK_CONDITION;
        return false;
    }
    in->step_pos += in->step_len;
    atomic_store(&j->s->progress,
                 (unsigned)((double)in->step_pos / (double)in->step_end
                            * 65535.0));
    return true;
}

static const struct scsi_step_ops sanitize_ops = {
    .next = sanitize_next,
    .done = sanitize_step_done,
};

static void
sanitize_go(struct scsi_cmd *in)
{
    scsi_step_start(in, &sanitize_ops);
}

/* The job is over (inner's scsi_cmd_finish, its range released). */
static void
sanitize_job_done(struct scsi_cmd *in)
{
    struct sanitize_job *j = (struct sanitize_job *)in;
    struct scsi_sanitize *s = j->s;
    bool ok = in->status == SCSI_STATUS_GOOD;
    struct scsi_cmd *t = j->cmd;
    const char *what = j->sa == SCSI_SANITIZE_OVERWRITE ? "OVERWRITE"
                                                        : "BLOCK ERASE";

    if (ok) {
        log_info("scsi: export %s: SANITIZE %s done", in->lu->export->name,
                 what);
    } else if (in->err == -ECANCELED) {
        log_warn("scsi: export %s: SANITIZE %s interrupted by shutdown at "
                 "%.1f%%: the LU is partly %s", in->lu->export->name, what,
                 (double)in->step_pos * 100.0 / (double)in->step_end,
                 j->sa == SCSI_SANITIZE_OVERWRITE ? "overwritten" : "erased");
    } else {
        log_error("scsi: export %s: SANITIZE failed: %s; the LU is in "
                  "sanitize failure mode", in->lu->export->name,
                  strerror(in->err < 0 ? -in->err : EIO));
    }
    free(in->buf);
    free(j);
    /* Once not running, a shutdown waiting in scsi_sanitize_running goes
     * on to stop this thread: that is a message, run after this callback,
     * so answering t below still happens first. */
    atomic_store(&s->progress, 0);
    atomic_store(&s->state, ok ? SCSI_SANITIZE_IDLE : SCSI_SANITIZE_FAILED);
    if (t) {
        t->sanitize_job = NULL;
        if (ok) {
            t->status = SCSI_STATUS_GOOD;
        } else {
            scsi_cmd_set_sense(t, SCSI_SENSE_MEDIUM_ERROR,
                               SCSI_ASC_SANITIZE_FAILED);
        }
        scsi_cmd_finish(t);
    }
}

void
scsi_sanitize_abort(struct scsi_cmd *t)
{
    struct sanitize_job *j = t->sanitize_job;

    assert(j != NULL && j->cmd == t);
    log_info("scsi: export %s: SANITIZE command aborted; the sanitize goes "
             "on", t->lu->export->name);
    j->cmd = NULL;
    t->sanitize_job = NULL;
    /* No status goes out for an aborted command; this one is for the
     * transport's bookkeeping only. */
    scsi_cmd_set_sense(t, SCSI_SENSE_ABORTED_COMMAND, SCSI_ASC_NONE);
    scsi_cmd_finish(t);
}

/* EXIT FAILURE MODE: out of failure mode if the failed sanitize allowed
 * it (AUSE); with nothing failed there is nothing to exit. */
static void
sanitize_exit_failure(struct scsi_cmd *t)
{
    struct scsi_sanitize *s = t->lu->sanitize;
    unsigned failed = SCSI_SANITIZE_FAILED;

    t->status = SCSI_STATUS_GOOD;
    if (atomic_load(&s->state) == SCSI_SANITIZE_FAILED) {
        if (!atomic_load(&s->ause)) {
            scsi_cmd_invalid_field_at(t, 1, 4);
        } else {
            atomic_compare_exchange_strong(&s->state, &failed,
                                           SCSI_SANITIZE_IDLE);
        }
    }
    scsi_cmd_finish(t);
}

/* Mark the LU running, from idle or failed; false with sense when it
 * cannot start (another one started first, or a failed one without AUSE
 * and this one asking for the unrestricted mode, SBC-4 4.11.3). */
static bool
sanitize_claim(struct scsi_cmd *t)
{
    struct scsi_sanitize *s = t->lu->sanitize;
    unsigned cur = atomic_load(&s->state);

    for (;;) {
        if (cur == SCSI_SANITIZE_RUNNING) {
            t->status = SCSI_STATUS_CHECK_CONDITION;
            sanitize_sense_progress(t->lu, t->sense);
            t->sense_len = SCSI_SENSE_LEN;
            return false;
        }
        if (cur == SCSI_SANITIZE_FAILED && !atomic_load(&s->ause)
            && (t->cdb[1] & SANITIZE_CDB_AUSE)) {
            return scsi_cmd_invalid_field_at(t, 1, 5);
        }
        if (atomic_compare_exchange_weak(&s->state, &cur,
                                         SCSI_SANITIZE_RUNNING)) {
            return true;
        }
    }
}

void
scsi_sanitize_exec(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    uint8_t sa = t->cdb[1] & 0x1f;
    uint64_t lu_bytes = lu->nblocks << lu->block_shift;
    struct sanitize_job *j;
    uint32_t buf_len = 0;
    void *buf = NULL;

    if (sa == SCSI_SANITIZE_EXIT_FAILURE) {
        sanitize_exit_failure(t);
        return;
    }
    j = calloc(1, sizeof *j);
    if (j == NULL) {
        scsi_sbc_set_error(t, -ENOMEM, true);
        scsi_cmd_finish(t);
        return;
    }
    j->sa = sa;
    j->filled = -1;
    aio_timer_init(&j->timer, sanitize_submit, j);
    j->lu_bytes = lu_bytes;
    if (sa == SCSI_SANITIZE_OVERWRITE) {
        if (!sanitize_parse_overwrite(t, j)) {
            free(j);
            scsi_cmd_finish(t);
            return;
        }
        buf_len = (uint32_t)MIN((uint64_t)SCSI_STEP_BYTES, lu_bytes);
        if (buf_len > 0
            && posix_memalign(&buf, SANITIZE_BUF_ALIGN, buf_len) != 0) {
            free(j);
            scsi_sbc_set_error(t, -ENOMEM, true);
            scsi_cmd_finish(t);
            return;
        }
    }
    if (lu->nblocks == 0 || !sanitize_claim(t)) {
        if (lu->nblocks == 0) {
            t->status = SCSI_STATUS_GOOD;
        }
        free(buf);
        free(j);
        scsi_cmd_finish(t);
        return;
    }
    j->s = lu->sanitize;
    atomic_store(&j->s->ause, (t->cdb[1] & SANITIZE_CDB_AUSE) != 0);
    atomic_store(&j->s->progress, 0);
    j->inner.lu = lu;
    j->inner.target = t->target;
    j->inner.lun = t->lun;
    j->inner.ctx = t->ctx;
    j->inner.done = sanitize_job_done;
    j->inner.buf = buf;
    j->inner.buf_len = buf_len;
    j->inner.step_end = sa == SCSI_SANITIZE_OVERWRITE ? lu_bytes * j->count
                                                      : lu_bytes;
    log_info("scsi: export %s: SANITIZE %s started%s", lu->export->name,
             sa == SCSI_SANITIZE_OVERWRITE ? "OVERWRITE" : "BLOCK ERASE",
             t->cdb[1] & SANITIZE_CDB_IMMED ? " (IMMED)" : "");
    if (t->cdb[1] & SANITIZE_CDB_IMMED) {
        /* Answered now; t is the transport's again, the job goes on. */
        t->status = SCSI_STATUS_GOOD;
        scsi_cmd_finish(t);
    } else {
        /* Waits for the job, unless aborted (scsi_sanitize_abort). */
        j->cmd = t;
        t->sanitize_job = j;
    }
    scsi_range_lock(&j->inner, 0, lu->nblocks, true, sanitize_go);
}
