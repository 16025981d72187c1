/* SPDX-License-Identifier: MIT */
/*
 * The read-modify-write commands: COMPARE AND WRITE (SBC-3 5.2): read n
 * blocks, compare them with the first half of the data-out, and only if
 * they match write the second half -- the primitive VMware's ATS locking
 * is built on; and ORWRITE(16) (SBC-3 5.9): read the blocks, OR the
 * data-out into them, write them back, SCSI_STEP_BYTES at a time.
 *
 * Atomicity: the command holds its LBA range exclusively (scsi-range.c)
 * for its whole read-compare-write, so neither another COMPARE AND WRITE
 * nor a plain WRITE, from any session or I/O thread, lands on those
 * blocks between the read and the write; they wait for it, and it waits
 * for the writes already in flight there.  ORWRITE holds its whole range
 * the same way for all its steps.
 */
#include <config.h>

#include <string.h>

#include "scsi/scsi-internal.h"
#include "stats/stats.h"
#include "util/minmax.h"

/* t->step_pos */
#define CAW_READ  0
#define CAW_WRITE 1
#define CAW_FLUSH 2 /* FUA without BACKEND_CAN_FUA */
#define CAW_DONE  3

static uint64_t
caw_lba(const struct scsi_cmd *t)
{
    return scsi_get_be64(&t->cdb[2]);
}

static uint32_t
caw_blocks(const struct scsi_cmd *t)
{
    return t->cdb[13];
}

static bool
caw_fua(const struct scsi_cmd *t)
{
    return t->cdb[1] & 0x08;
}

bool
scsi_caw_decode(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    uint32_t n = caw_blocks(t);
    uint32_t len;

    t->stats_op = STATS_OP_WRITE;
    /* WRPROTECT (no protection information) and the reserved bits; DPO,
     * FUA and FUA_NV are fine. */
    if (t->cdb[1] & (0xe0 | 0x05)) {
        return scsi_cmd_invalid_field(t);
    }
    if (n > SCSI_CAW_MAX_BLOCKS) {
        return scsi_cmd_invalid_field_at(t, 13, 7);
    }
    if (!scsi_sbc_check_range(t, caw_lba(t), n) || !scsi_sbc_check_writable(t)) {
        return false;
    }
    if (n == 0) {
        return true; /* nothing compared or written (SBC-3): GOOD */
    }
    len = n << lu->block_shift;
    /* Data-out: verify data, then write data; scratch: what is stored. */
    scsi_cmd_data_out(t, 2 * len, len);
    return true;
}

static bool
caw_next(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    struct backend *b = lu->export->backend;
    uint32_t len = caw_blocks(t) << lu->block_shift;
    uint64_t offset = caw_lba(t) << lu->block_shift;

    switch (t->step_pos) {
    case CAW_READ:
        scsi_step_req(t, offset, len, 0, t->buf + 2 * len);
        backend_read(b, &t->breq);
        return true;
    case CAW_WRITE:
        scsi_step_req(t, offset, len,
                      caw_fua(t) && (lu->export->caps & BACKEND_CAN_FUA)
                          ? BACKEND_FUA : 0,
                      t->buf + len);
        backend_write(b, &t->breq);
        return true;
    case CAW_FLUSH:
        scsi_step_req(t, 0, 0, 0, NULL);
        backend_flush(b, &t->breq);
        return true;
    default:
        t->status = SCSI_STATUS_GOOD;
        return false;
    }
}

static bool
caw_done(struct scsi_cmd *t, int err)
{
    const struct scsi_lu *lu = t->lu;
    uint32_t len = caw_blocks(t) << lu->block_shift;

    if (err < 0) {
        scsi_sbc_set_error(t, err, t->step_pos != CAW_READ);
        return false;
    }
    switch (t->step_pos) {
    case CAW_READ:
        for (uint32_t i = 0; i < len; i++) {
            if (t->buf[i] != t->buf[2 * len + i]) {
                /* INFORMATION: the offset of the first byte that differs
                 * (SBC-3 5.2); nothing is written. */
                scsi_cmd_set_sense_info(t, SCSI_SENSE_MISCOMPARE_KEY,
                                        SCSI_ASC_MISCOMPARE_DURING_VERIFY, i);
                return false;
            }
        }
        t->step_pos = CAW_WRITE;
        return true;
    case CAW_WRITE:
        t->step_pos = caw_fua(t) && !(lu->export->caps & BACKEND_CAN_FUA) &&
                              (lu->export->caps & BACKEND_CAN_FLUSH)
                          ? CAW_FLUSH
                          : CAW_DONE;
        return true;
    default:
        t->step_pos = CAW_DONE;
        return true;
    }
}

static const struct scsi_step_ops caw_step_ops = {
    .next = caw_next,
    .done = caw_done,
};

void
scsi_caw_exec(struct scsi_cmd *t)
{
    if (t->xfer_len == 0) {
        t->status = SCSI_STATUS_GOOD;
        scsi_cmd_finish(t);
        return;
    }
    if (!t->range_held) {
        scsi_range_lock(t, caw_lba(t), caw_blocks(t), true, scsi_caw_exec);
        return;
    }
    t->step_pos = CAW_READ;
    scsi_step_start(t, &caw_step_ops);
}

bool
scsi_cmd_data_overflow(struct scsi_cmd *t, uint32_t len)
{
    if (t->cdb[0] != SCSI_OP_COMPARE_AND_WRITE || len <= t->xfer_len) {
        return true;
    }
    scsi_cmd_invalid_field_at(t, 13, 7);
    t->dir = SCSI_DIR_NONE;
    t->xfer_len = 0;
    t->buf_len = 0;
    t->stage = 0;
    return false;
}

/* --- ORWRITE(16) -------------------------------------------------------- */

/* t->stage of an ORWRITE step */
#define ORW_READ  0
#define ORW_WRITE 1
#define ORW_FLUSH 2

bool
scsi_caw_decode_orwrite(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    uint64_t lba = scsi_get_be64(&t->cdb[2]);
    uint32_t n = scsi_get_be32(&t->cdb[10]);
    uint32_t len;

    t->stats_op = STATS_OP_WRITE;
    /* ORPROTECT (no protection information) and reserved bits 2, 0;
     * DPO, FUA and FUA_NV are fine. */
    if (t->cdb[1] & (0xe0 | 0x05)) {
        return scsi_cmd_invalid_field_at(t, 1, 7);
    }
    if (!scsi_sbc_check_range(t, lba, n)) {
        return false;
    }
    if (n > lu->max_xfer_blocks) {
        return scsi_cmd_invalid_field_at(t, 13, 7);
    }
    if (!scsi_sbc_check_writable(t)) {
        return false;
    }
    len = n << lu->block_shift;
    /* Data-out, then room to read one step of stored blocks into. */
    scsi_cmd_data_out(t, len, MIN(len, SCSI_STEP_BYTES));
    return true;
}

static bool
orw_next(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    struct backend *b = lu->export->backend;
    uint64_t offset = (scsi_get_be64(&t->cdb[2]) << lu->block_shift)
                      + t->step_pos;
    uint64_t len = MIN(t->step_end - t->step_pos,
                       (uint64_t)(t->buf_len - t->xfer_len));
    bool fua = t->cdb[1] & 0x08;

    if (t->stage == ORW_FLUSH) {
        scsi_step_req(t, 0, 0, 0, NULL);
        backend_flush(b, &t->breq);
        return true;
    }
    if (t->step_pos == t->step_end) {
        if (fua && !(lu->export->caps & BACKEND_CAN_FUA)
            && (lu->export->caps & BACKEND_CAN_FLUSH)) {
            t->stage = ORW_FLUSH;
            return orw_next(t);
        }
        t->status = SCSI_STATUS_GOOD;
        return false;
    }
    if (t->stage == ORW_READ) {
        scsi_step_req(t, offset, len, 0, t->buf + t->xfer_len);
        backend_read(b, &t->breq);
    } else {
        scsi_step_req(t, offset, len,
                      fua && (lu->export->caps & BACKEND_CAN_FUA)
                          ? BACKEND_FUA : 0,
                      t->buf + t->step_pos);
        backend_write(b, &t->breq);
    }
    return true;
}

static bool
orw_done(struct scsi_cmd *t, int err)
{
    uint8_t *data = t->buf + t->step_pos;
    const uint8_t *stored = t->buf + t->xfer_len;

    if (err < 0) {
        scsi_sbc_set_error(t, err, t->stage != ORW_READ);
        return false;
    }
    switch (t->stage) {
    case ORW_READ:
        for (uint64_t i = 0; i < t->step_len; i++) {
            data[i] |= stored[i];
        }
        t->stage = ORW_WRITE;
        break;
    case ORW_WRITE:
        t->step_pos += t->step_len;
        t->stage = ORW_READ;
        break;
    default:
        t->status = SCSI_STATUS_GOOD;
        return false;
    }
    return true;
}

static const struct scsi_step_ops orw_step_ops = {
    .next = orw_next,
    .done = orw_done,
};

void
scsi_caw_exec_orwrite(struct scsi_cmd *t)
{
    if (t->xfer_len == 0) {
        t->status = SCSI_STATUS_GOOD;
        scsi_cmd_finish(t);
        return;
    }
    if (!t->range_held) {
        scsi_range_lock(t, scsi_get_be64(&t->cdb[2]),
                        t->xfer_len >> t->lu->block_shift, true,
                        scsi_caw_exec_orwrite);
        return;
    }
    t->stage = ORW_READ;
    t->step_pos = 0;
    t->step_end = t->xfer_len;
    scsi_step_start(t, &orw_step_ops);
}
