/* SPDX-License-Identifier: MIT */
/*
 * SBC-3 commands of a direct-access block device: READ CAPACITY(10) and
 * (16), READ and WRITE (6)/(10)/(16), SYNCHRONIZE CACHE (10)/(16).
 *
 * Decode does every check (LBA range, maximum transfer length, write
 * protection, protection-information fields, which we do not support),
 * so exec only submits one backend request and maps its errno to sense,
 * tgt's sbc_rw with its `goto sense` turned into a table-shaped switch.
 * The command's own struct backend_req is the first member of struct
 * scsi_cmd: the completion casts back, nothing is allocated per command.
 *
 * FUA on a write becomes BACKEND_FUA when the export can do it, and
 * otherwise a flush after the write (t->stage says which step is
 * running), so FUA always means durable.  FUA on a read, DPO and the group
 * number are hints we do not need.  SYNCHRONIZE CACHE flushes the whole
 * backend whatever range it names (backend_flush has no range), and
 * ignores IMMED: answering only once the flush is done is always allowed.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "scsi/scsi-internal.h"
#include "stats/stats.h"
#include "util/minmax.h"

/* t->stage while a backend request is in flight. */
#define SBC_STAGE_IO          1 /* the read, write or flush itself */
#define SBC_STAGE_WRITE_FLUSH 2 /* a FUA write, to be followed by ... */
#define SBC_STAGE_FLUSH       3 /* ... the flush that makes it durable */

/* A field of a CDB, by opcode: where the LBA and the length are. */
struct sbc_rw_fields {
    uint64_t lba;
    uint32_t nblocks;
    uint8_t flags;        /* byte 1: xPROTECT, DPO, FUA */
    bool write;
};

static void
sbc_rw_fields(const uint8_t *cdb, struct sbc_rw_fields *f)
{
    memset(f, 0, sizeof *f);
    switch (cdb[0]) {
    case SCSI_OP_READ_6:
    case SCSI_OP_WRITE_6:
        /* A 21-bit LBA; a length of 0 means 256 blocks (SBC-3 5.8). */
        f->lba = scsi_get_be24(&cdb[1]) & 0x1fffff;
        f->nblocks = cdb[4] ? cdb[4] : 256;
        break;
    case SCSI_OP_READ_10:
    case SCSI_OP_WRITE_10:
        f->lba = scsi_get_be32(&cdb[2]);
        f->nblocks = scsi_get_be16(&cdb[7]);
        f->flags = cdb[1];
        break;
    case SCSI_OP_READ_16:
    case SCSI_OP_WRITE_16:
        f->lba = scsi_get_be64(&cdb[2]);
        f->nblocks = scsi_get_be32(&cdb[10]);
        f->flags = cdb[1];
        break;
    default:
        assert(!"not a READ or WRITE");
    }
    f->write = cdb[0] == SCSI_OP_WRITE_6 || cdb[0] == SCSI_OP_WRITE_10
               || cdb[0] == SCSI_OP_WRITE_16;
}

/* LBA OUT OF RANGE unless [lba, lba + n) is within the LU.  n 0 at
 * lba == nblocks is fine (SBC-3: no blocks, not an error). */
static bool
sbc_check_range(struct scsi_cmd *t, uint64_t lba, uint64_t n)
{
    if (lba > t->lu->nblocks || n > t->lu->nblocks - lba) {
        scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST,
                           SCSI_ASC_LBA_OUT_OF_RANGE);
        return false;
    }
    return true;
}

static bool
sbc_check_writable(struct scsi_cmd *t)
{
    if (t->lu->readonly) {
        scsi_cmd_set_sense(t, SCSI_SENSE_DATA_PROTECT,
                           SCSI_ASC_WRITE_PROTECTED);
        return false;
    }
    return true;
}

/* --- Completion ---------------------------------------------------------- */

void
scsi_sbc_set_error(struct scsi_cmd *t, int err, bool write)
{
    t->err = err;
    switch (err) {
    case -EIO:
        scsi_cmd_set_sense(t, SCSI_SENSE_MEDIUM_ERROR,
                           write ? SCSI_ASC_WRITE_ERROR : SCSI_ASC_READ_ERROR);
        break;
    case -ENOSPC:
        scsi_cmd_set_sense(t, SCSI_SENSE_DATA_PROTECT,
                           SCSI_ASC_SPACE_ALLOCATION_FAILED);
        break;
    case -EROFS:
    case -EPERM:
        scsi_cmd_set_sense(t, SCSI_SENSE_DATA_PROTECT,
                           SCSI_ASC_WRITE_PROTECTED);
        break;
    case -ENOMEM:
        /* A transient shortage: ABORTED COMMAND is a key initiators
         * retry (Linux's sd does), where ILLEGAL REQUEST or HARDWARE
         * ERROR would fail the I/O at once. */
        scsi_cmd_set_sense(t, SCSI_SENSE_ABORTED_COMMAND,
                           SCSI_ASC_OUT_OF_MEMORY);
        break;
    default:
        scsi_cmd_set_sense(t, SCSI_SENSE_HARDWARE_ERROR,
                           SCSI_ASC_INTERNAL_TARGET_FAILURE);
        break;
    }
}

static void
sbc_submit_flush(struct scsi_cmd *t)
{
    struct backend_req *req = &t->breq;

    t->stage = SBC_STAGE_FLUSH;
    req->offset = 0;
    req->count = 0;
    req->flags = 0;
    req->iov = NULL;
    req->iovcnt = 0;
    backend_flush(t->lu->export->backend, req);
}

static void
sbc_done(struct backend_req *req, int err)
{
    struct scsi_cmd *t = (struct scsi_cmd *)req;
    bool write = t->cdb[0] != SCSI_OP_READ_6 && t->cdb[0] != SCSI_OP_READ_10
                 && t->cdb[0] != SCSI_OP_READ_16;

    assert(t->stage >= SBC_STAGE_IO && t->stage <= SBC_STAGE_FLUSH);
    if (err < 0) {
        scsi_sbc_set_error(t, err, write);
        scsi_cmd_finish(t);
        return;
    }
    if (t->stage == SBC_STAGE_WRITE_FLUSH) {
        sbc_submit_flush(t); /* may complete inline: t is not touched after */
        return;
    }
    if (!write) {
        t->data_len = t->xfer_len;
    }
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}

static void
sbc_req_init(struct scsi_cmd *t, uint64_t offset, uint64_t count,
             uint32_t flags)
{
    struct backend_req *req = &t->breq;

    req->ctx = t->ctx;
    req->offset = offset;
    req->count = count;
    req->flags = flags;
    t->iov.iov_base = t->buf;
    t->iov.iov_len = count;
    req->iov = count ? &t->iov : NULL;
    req->iovcnt = count ? 1 : 0;
    req->done = sbc_done;
    req->opaque = t->opaque;
    t->stage = SBC_STAGE_IO;
}

/* --- READ / WRITE -------------------------------------------------------- */

bool
scsi_sbc_decode_rw(struct scsi_cmd *t)
{
    struct sbc_rw_fields f;

    sbc_rw_fields(t->cdb, &f);
    t->stats_op = f.write ? STATS_OP_WRITE : STATS_OP_READ;
    /* RDPROTECT/WRPROTECT: we have no protection information. */
    if (f.flags & 0xe0) {
        return scsi_cmd_invalid_field(t);
    }
    if (!sbc_check_range(t, f.lba, f.nblocks)) {
        return false;
    }
    if (f.nblocks > t->lu->max_xfer_blocks) {
        return scsi_cmd_invalid_field(t);
    }
    if (f.write && !sbc_check_writable(t)) {
        return false;
    }
    t->dir = f.write ? SCSI_DIR_WRITE : SCSI_DIR_READ;
    t->xfer_len = f.nblocks << t->lu->block_shift;
    t->buf_len = t->xfer_len;
    return true;
}

void
scsi_sbc_exec_rw(struct scsi_cmd *t)
{
    const struct export *e = t->lu->export;
    struct sbc_rw_fields f;
    uint32_t flags = 0;

    sbc_rw_fields(t->cdb, &f);
    if (t->xfer_len == 0) {
        t->status = SCSI_STATUS_GOOD;
        scsi_cmd_finish(t);
        return;
    }
    if (f.write && (f.flags & 0x08) && (e->caps & BACKEND_CAN_FUA)) {
        flags = BACKEND_FUA;
    }
    sbc_req_init(t, f.lba << t->lu->block_shift, t->xfer_len, flags);
    /* FUA without BACKEND_CAN_FUA: write, then flush (if there is no
     * flush either, the write is durable when it completes). */
    if (f.write && (f.flags & 0x08) && !(e->caps & BACKEND_CAN_FUA)
        && (e->caps & BACKEND_CAN_FLUSH)) {
        t->stage = SBC_STAGE_WRITE_FLUSH;
    }
    if (f.write) {
        backend_write(e->backend, &t->breq);
    } else {
        backend_read(e->backend, &t->breq);
    }
}

/* --- SYNCHRONIZE CACHE --------------------------------------------------- */

bool
scsi_sbc_decode_sync_cache(struct scsi_cmd *t)
{
    bool ten = t->cdb[0] == SCSI_OP_SYNCHRONIZE_CACHE_10;
    uint64_t lba = ten ? scsi_get_be32(&t->cdb[2]) : scsi_get_be64(&t->cdb[2]);
    uint32_t n = ten ? scsi_get_be16(&t->cdb[7]) : scsi_get_be32(&t->cdb[10]);

    t->stats_op = STATS_OP_FLUSH;
    /* Byte 1: IMMED (bit 1) and the obsolete SYNC_NV (bit 2). */
    if (t->cdb[1] & ~0x06) {
        return scsi_cmd_invalid_field(t);
    }
    /* NUMBER OF LOGICAL BLOCKS 0 means "to the end", still from lba. */
    return sbc_check_range(t, lba, n);
}

void
scsi_sbc_exec_sync_cache(struct scsi_cmd *t)
{
    const struct export *e = t->lu->export;

    /* Without a cache to flush every write is already durable. */
    if (!(e->caps & BACKEND_CAN_FLUSH)) {
        t->status = SCSI_STATUS_GOOD;
        scsi_cmd_finish(t);
        return;
    }
    sbc_req_init(t, 0, 0, 0);
    backend_flush(e->backend, &t->breq);
}

/* --- READ CAPACITY ------------------------------------------------------- */

bool
scsi_sbc_decode_read_capacity_10(struct scsi_cmd *t)
{
    /* PMI (byte 8 bit 0) is obsolete in SBC-3; with it 0, the LBA field
     * must be 0 too.  We answer the capacity either way. */
    if ((t->cdb[8] & 0x01) == 0 && scsi_get_be32(&t->cdb[2]) != 0) {
        return scsi_cmd_invalid_field(t);
    }
    scsi_cmd_data_in(t, 8, 8); /* a fixed 8 bytes, no allocation length */
    return true;
}

/* The last LBA, the RETURNED LOGICAL BLOCK ADDRESS field. */
static uint64_t
sbc_last_lba(const struct scsi_lu *lu)
{
    return lu->nblocks ? lu->nblocks - 1 : 0;
}

void
scsi_sbc_exec_read_capacity_10(struct scsi_cmd *t)
{
    uint8_t b[8];
    uint64_t last = sbc_last_lba(t->lu);

    /* FFFFFFFFh: too big for this command, ask READ CAPACITY(16). */
    scsi_put_be32(&b[0], last > UINT32_MAX ? UINT32_MAX : (uint32_t)last);
    scsi_put_be32(&b[4], t->lu->block_size);
    scsi_cmd_put_data(t, b, sizeof b);
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}

bool
scsi_sbc_decode_service_action_in(struct scsi_cmd *t)
{
    /* Of SERVICE ACTION IN(16), only READ CAPACITY(16); GET LBA STATUS
     * and the rest are refused as an invalid service action. */
    if ((t->cdb[1] & 0x1f) != SCSI_SAI_READ_CAPACITY_16
        || (t->cdb[1] & 0xe0)) {
        return scsi_cmd_invalid_field(t);
    }
    scsi_cmd_data_in(t, scsi_get_be32(&t->cdb[10]), 32);
    return true;
}

void
scsi_sbc_exec_read_capacity_16(struct scsi_cmd *t)
{
    uint8_t b[32];

    memset(b, 0, sizeof b);
    scsi_put_be64(&b[0], sbc_last_lba(t->lu));
    scsi_put_be32(&b[8], t->lu->block_size);
    /* Byte 12: no protection.  Byte 13: one logical block per physical
     * block (exponent 0).  Byte 14: LBPME 0 (no thin provisioning),
     * LBPRZ 0, lowest aligned LBA 0. */
    scsi_cmd_put_data(t, b, sizeof b);
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}
