/* SPDX-License-Identifier: MIT */
/*
 * SBC-3 commands of a direct-access block device: READ CAPACITY(10) and
 * (16), READ and WRITE (6)/(10)/(12)/(16), WRITE AND VERIFY
 * (10)/(12)/(16), VERIFY (10)/(12)/(16), PRE-FETCH (10)/(16), SYNCHRONIZE
 * CACHE (10)/(16), READ DEFECT DATA (10)/(12) (empty lists) and START
 * STOP UNIT.
 *
 * Decode does every check (LBA range, maximum transfer length, write
 * protection, protection-information fields, which we do not support),
 * so exec only submits backend requests and maps their errno to sense,
 * tgt's sbc_rw with its `goto sense` turned into a table-shaped switch.
 * The command's own struct backend_req is the first member of struct
 * scsi_cmd: the completion casts back, nothing is allocated per command.
 *
 * FUA on a write becomes BACKEND_FUA when the export can do it, and
 * otherwise a flush after the write (t->stage says which step is
 * running), so FUA always means durable.  WRITE AND VERIFY is a write
 * with FUA: what the backend acknowledged durable is what it will read
 * back, so the verification (BYTCHK 0, of the medium, or 1, against the
 * data just written) has nothing left to find.  FUA on a read, DPO and
 * the group number are hints we do not need.  SYNCHRONIZE CACHE flushes
 * the whole backend whatever range it names (backend_flush has no
 * range), and ignores IMMED: answering only once the flush is done is
 * always allowed.
 *
 * VERIFY with BYTCHK 01b compares the data-out buffer with the stored
 * blocks, reading them SCSI_STEP_BYTES at a time (scsi-step.c) into
 * scratch room after
 * the data-out (buf_len), and fails MISCOMPARE with the offset of the
 * first differing byte in INFORMATION; BYTCHK 11b compares every block of
 * the range with the single data-out block.  BYTCHK 00b only checks the
 * range: our backends have no media errors to find without reading the
 * whole range, which could be terabytes for one command.
 *
 * PRE-FETCH answers GOOD, never CONDITION MET: SBC-3 5.9 keeps CONDITION
 * MET for blocks known to be in the cache, and backend_cache only starts
 * caching (the file backend's posix_fadvise(WILLNEED) is a readahead
 * hint), so GOOD, "not all of them are known to be cached", is the true
 * answer.  With IMMED the answer comes before any backend request: the
 * command owns its request, so it cannot go on once answered.
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
#define SBC_STAGE_TAIL_READ   4 /* a short write's partial last block */

/* A field of a CDB, by opcode: where the LBA and the length are. */
struct sbc_rw_fields {
    uint64_t lba;
    uint32_t nblocks;
    uint8_t flags;        /* byte 1: xPROTECT, DPO, FUA (BYTCHK) */
    bool write;
    bool verify;          /* WRITE AND VERIFY */
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
    case SCSI_OP_WRITE_VERIFY_10:
        f->lba = scsi_get_be32(&cdb[2]);
        f->nblocks = scsi_get_be16(&cdb[7]);
        f->flags = cdb[1];
        break;
    case SCSI_OP_READ_12:
    case SCSI_OP_WRITE_12:
    case SCSI_OP_WRITE_VERIFY_12:
        f->lba = scsi_get_be32(&cdb[2]);
        f->nblocks = scsi_get_be32(&cdb[6]);
        f->flags = cdb[1];
        break;
    case SCSI_OP_READ_16:
    case SCSI_OP_WRITE_16:
    case SCSI_OP_WRITE_VERIFY_16:
        f->lba = scsi_get_be64(&cdb[2]);
        f->nblocks = scsi_get_be32(&cdb[10]);
        f->flags = cdb[1];
        break;
    default:
        assert(!"not a READ or WRITE");
    }
    f->verify = cdb[0] == SCSI_OP_WRITE_VERIFY_10
                || cdb[0] == SCSI_OP_WRITE_VERIFY_12
                || cdb[0] == SCSI_OP_WRITE_VERIFY_16;
    f->write = f->verify || cdb[0] == SCSI_OP_WRITE_6
               || cdb[0] == SCSI_OP_WRITE_10 || cdb[0] == SCSI_OP_WRITE_12
               || cdb[0] == SCSI_OP_WRITE_16;
}

/* Whether a backend error of this command is a read error (else write). */
static bool
sbc_op_reads(uint8_t op)
{
    switch (op) {
    case SCSI_OP_READ_6:
    case SCSI_OP_READ_10:
    case SCSI_OP_READ_12:
    case SCSI_OP_READ_16:
    case SCSI_OP_VERIFY_10:
    case SCSI_OP_VERIFY_12:
    case SCSI_OP_VERIFY_16:
    case SCSI_OP_PREFETCH_10:
    case SCSI_OP_PREFETCH_16:
        return true;
    default:
        return false;
    }
}

/* LBA OUT OF RANGE unless [lba, lba + n) is within the LU.  n 0 at
 * lba == nblocks is fine (SBC-3: no blocks, not an error). */
bool
scsi_sbc_check_range(struct scsi_cmd *t, uint64_t lba, uint64_t n)
{
    if (lba > t->lu->nblocks || n > t->lu->nblocks - lba) {
        scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST,
                           SCSI_ASC_LBA_OUT_OF_RANGE);
        return false;
    }
    return true;
}

bool
scsi_sbc_check_writable(struct scsi_cmd *t)
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

static void sbc_submit_rw(struct scsi_cmd *t);

/* The stored last block is in buf[full, full + bs); the initiator's part
 * of it waits at buf[full + bs]: lay it over, then write. */
static void
sbc_short_write_merge(struct scsi_cmd *t)
{
    uint32_t bs = t->lu->block_size;
    uint32_t full = t->out_len & ~(bs - 1);

    memcpy(t->buf + full, t->buf + full + bs, t->out_len - full);
    sbc_submit_rw(t);
}

static void
sbc_done(struct backend_req *req, int err)
{
    struct scsi_cmd *t = (struct scsi_cmd *)req;
    bool write = !sbc_op_reads(t->cdb[0]);

    assert(t->stage >= SBC_STAGE_IO && t->stage <= SBC_STAGE_TAIL_READ);
    if (err < 0) {
        scsi_sbc_set_error(t, err, write && t->stage != SBC_STAGE_TAIL_READ);
        scsi_cmd_finish(t);
        return;
    }
    if (t->stage == SBC_STAGE_TAIL_READ) {
        sbc_short_write_merge(t); /* may complete inline */
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
    /* RDPROTECT/WRPROTECT: we have no protection information.  WRITE
     * AND VERIFY: BYTCHK 1xb is reserved (SBC-3) or needs a one-block
     * data-out we do not take (SBC-4). */
    if ((f.flags & 0xe0) || (f.verify && (f.flags & 0x04))) {
        return scsi_cmd_invalid_field(t);
    }
    if (!scsi_sbc_check_range(t, f.lba, f.nblocks)) {
        return false;
    }
    if (f.nblocks > t->lu->max_xfer_blocks) {
        return scsi_cmd_invalid_field(t);
    }
    if (f.write && !scsi_sbc_check_writable(t)) {
        return false;
    }
    t->dir = f.write ? SCSI_DIR_WRITE : SCSI_DIR_READ;
    t->xfer_len = f.nblocks << t->lu->block_shift;
    t->buf_len = t->xfer_len;
    return true;
}

bool
scsi_cmd_short_data_out(struct scsi_cmd *t, uint32_t len)
{
    uint32_t bs, full;

    switch (t->cdb[0]) {
    case SCSI_OP_WRITE_6:
    case SCSI_OP_WRITE_10:
    case SCSI_OP_WRITE_12:
    case SCSI_OP_WRITE_16:
    case SCSI_OP_WRITE_VERIFY_10:
    case SCSI_OP_WRITE_VERIFY_12:
    case SCSI_OP_WRITE_VERIFY_16:
        break;
    default:
        return false;
    }
    if (t->lu == NULL || t->dir != SCSI_DIR_WRITE || len >= t->xfer_len) {
        return false;
    }
    bs = t->lu->block_size;
    full = len & ~(bs - 1);
    t->short_out = true;
    t->out_len = len;
    if (len > full && t->buf_len < full + 2 * bs) {
        t->buf_len = full + 2 * bs; /* the stored block, then the new part */
    }
    return true;
}

/* A short write (scsi_cmd_short_data_out): whole blocks are written as
 * they are; a partial last one needs the stored block first. */
static bool
sbc_short_write_start(struct scsi_cmd *t, const struct sbc_rw_fields *f)
{
    uint32_t bs = t->lu->block_size;
    uint32_t full = t->out_len & ~(bs - 1);
    uint32_t part = t->out_len - full;
    struct backend_req *req = &t->breq;

    if (part == 0) {
        t->xfer_len = full;
        return false;
    }
    memmove(t->buf + full + bs, t->buf + full, part);
    t->xfer_len = full + bs;
    sbc_req_init(t, (f->lba << t->lu->block_shift) + full, bs, 0);
    t->iov.iov_base = t->buf + full;
    t->stage = SBC_STAGE_TAIL_READ;
    backend_read(t->lu->export->backend, req);
    return true;
}

void
scsi_sbc_exec_rw(struct scsi_cmd *t)
{
    struct sbc_rw_fields f;

    sbc_rw_fields(t->cdb, &f);
    if (f.write && !t->range_held && t->xfer_len > 0) {
        /* A short write's partial last block is read, merged and
         * written back: exclusive, so no other write lands in between. */
        uint32_t len = t->short_out ? t->out_len : t->xfer_len;
        uint64_t n = ((uint64_t)len + t->lu->block_size - 1)
                     >> t->lu->block_shift;

        if (n > 0) {
            scsi_range_lock(t, f.lba, n,
                            t->short_out && (len & (t->lu->block_size - 1)),
                            scsi_sbc_exec_rw);
            return;
        }
    }
    if (t->short_out && sbc_short_write_start(t, &f)) {
        return;
    }
    sbc_submit_rw(t);
}

static void
sbc_submit_rw(struct scsi_cmd *t)
{
    const struct export *e = t->lu->export;
    struct sbc_rw_fields f;
    uint32_t flags = 0;
    bool fua;

    sbc_rw_fields(t->cdb, &f);
    if (t->xfer_len == 0) {
        t->status = SCSI_STATUS_GOOD;
        scsi_cmd_finish(t);
        return;
    }
    fua = f.write && (f.verify || (f.flags & 0x08));
    if (fua && (e->caps & BACKEND_CAN_FUA)) {
        flags = BACKEND_FUA;
    }
    sbc_req_init(t, f.lba << t->lu->block_shift, t->xfer_len, flags);
    /* FUA without BACKEND_CAN_FUA: write, then flush (if there is no
     * flush either, the write is durable when it completes). */
    if (fua && !(e->caps & BACKEND_CAN_FUA) && (e->caps & BACKEND_CAN_FLUSH)) {
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
    return scsi_sbc_check_range(t, lba, n);
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
    uint8_t sa = t->cdb[1] & 0x1f;

    /* READ CAPACITY(16), and GET LBA STATUS where the backend reports
     * allocation. */
    if (!scsi_cmd_check_service_action(t)) {
        return false;
    }
    if (sa == SCSI_SAI_GET_LBA_STATUS) {
        return scsi_lbp_decode_get_lba_status(t);
    }
    scsi_cmd_data_in(t, scsi_get_be32(&t->cdb[10]), 32);
    return true;
}

static void
sbc_exec_read_capacity_16(struct scsi_cmd *t)
{
    uint8_t b[32];

    memset(b, 0, sizeof b);
    scsi_put_be64(&b[0], sbc_last_lba(t->lu));
    scsi_put_be32(&b[8], t->lu->block_size);
    /* Byte 12: no protection.  Byte 13: one logical block per physical
     * block (exponent 0).  Byte 14: LBPME when the LU can unmap, LBPRZ
     * when unmapped blocks read as zeros; lowest aligned LBA 0. */
    if (scsi_lbp_can_unmap(t->lu)) {
        b[14] |= 0x80;
    }
    if (scsi_lbp_unmap_zeroes(t->lu)) {
        b[14] |= 0x40;
    }
    scsi_cmd_put_data(t, b, sizeof b);
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}

void
scsi_sbc_exec_service_action_in(struct scsi_cmd *t)
{
    if ((t->cdb[1] & 0x1f) == SCSI_SAI_GET_LBA_STATUS) {
        scsi_lbp_exec_get_lba_status(t);
    } else {
        sbc_exec_read_capacity_16(t);
    }
}

/* --- VERIFY -------------------------------------------------------------- */

struct sbc_verify_fields {
    uint64_t lba;
    uint32_t nblocks;
    uint8_t bytchk;
};

static void
sbc_verify_fields(const uint8_t *cdb, struct sbc_verify_fields *f)
{
    switch (cdb[0]) {
    case SCSI_OP_VERIFY_10:
        f->lba = scsi_get_be32(&cdb[2]);
        f->nblocks = scsi_get_be16(&cdb[7]);
        break;
    case SCSI_OP_VERIFY_12:
        f->lba = scsi_get_be32(&cdb[2]);
        f->nblocks = scsi_get_be32(&cdb[6]);
        break;
    default:
        f->lba = scsi_get_be64(&cdb[2]);
        f->nblocks = scsi_get_be32(&cdb[10]);
        break;
    }
    f->bytchk = (cdb[1] >> 1) & 0x03;
}

bool
scsi_sbc_decode_verify(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    struct sbc_verify_fields f;
    uint64_t bytes;

    sbc_verify_fields(t->cdb, &f);
    /* VRPROTECT (no protection information), reserved bit 3, obsolete
     * bit 0, and BYTCHK 10b (reserved) are refused; DPO is a hint. */
    if ((t->cdb[1] & 0xe9) || f.bytchk == 2) {
        return scsi_cmd_invalid_field(t);
    }
    if (!scsi_sbc_check_range(t, f.lba, f.nblocks)) {
        return false;
    }
    if (f.bytchk == 0 || f.nblocks == 0) {
        return true; /* nothing moves */
    }
    /* BYTCHK 01b moves the whole range, so READ's limit applies; 11b
     * moves one block and reads the range, so WRITE SAME's does. */
    if (f.nblocks > (f.bytchk == 1 ? lu->max_xfer_blocks
                                   : lu->max_ws_blocks)) {
        return scsi_cmd_invalid_field(t);
    }
    bytes = (uint64_t)f.nblocks << lu->block_shift;
    scsi_cmd_data_out(t, f.bytchk == 1 ? (uint32_t)bytes : lu->block_size,
                      (uint32_t)MIN(bytes, (uint64_t)SCSI_STEP_BYTES));
    return true;
}

/* Offset of the first byte where a and b differ (n if none). */
static uint32_t
sbc_first_diff(const uint8_t *a, const uint8_t *b, uint32_t n)
{
    if (memcmp(a, b, n) == 0) {
        return n;
    }
    for (uint32_t i = 0;; i++) {
        if (a[i] != b[i]) {
            return i;
        }
    }
}

static bool
sbc_verify_next(struct scsi_cmd *t)
{
    struct sbc_verify_fields f;
    uint64_t len = MIN(t->step_end - t->step_pos,
                       (uint64_t)(t->buf_len - t->xfer_len));

    if (t->step_pos == t->step_end) {
        t->status = SCSI_STATUS_GOOD;
        return false;
    }
    sbc_verify_fields(t->cdb, &f);
    scsi_step_req(t, (f.lba << t->lu->block_shift) + t->step_pos, len, 0,
                  t->buf + t->xfer_len);
    backend_read(t->lu->export->backend, &t->breq);
    return true;
}

static bool
sbc_verify_done(struct scsi_cmd *t, int err)
{
    const uint8_t *stored = t->buf + t->xfer_len;
    uint32_t len = (uint32_t)t->step_len;
    uint32_t bs = t->lu->block_size;
    uint64_t at = UINT64_MAX;

    if (err < 0) {
        scsi_sbc_set_error(t, err, false);
        return false;
    }
    if (((t->cdb[1] >> 1) & 0x03) == 3) {
        /* BYTCHK 11b: each stored block against the one sent. */
        for (uint32_t off = 0; off < len && at == UINT64_MAX; off += bs) {
            uint32_t d = sbc_first_diff(t->buf, stored + off, bs);

            if (d < bs) {
                at = t->step_pos + off + d;
            }
        }
    } else {
        uint32_t d = sbc_first_diff(t->buf + t->step_pos, stored, len);

        if (d < len) {
            at = t->step_pos + d;
        }
    }
    if (at != UINT64_MAX) {
        /* INFORMATION: offset into the data-out buffer (for 11b, into
         * the range as if the block had been sent once per LBA); a
         * range is at most 32 MiB, so it fits 32 bits. */
        scsi_cmd_set_sense_info(t, SCSI_SENSE_MISCOMPARE_KEY,
                                SCSI_ASC_MISCOMPARE_DURING_VERIFY,
                                (uint32_t)at);
        return false;
    }
    t->step_pos += len;
    return true;
}

static const struct scsi_step_ops sbc_verify_ops = {
    .next = sbc_verify_next,
    .done = sbc_verify_done,
};

void
scsi_sbc_exec_verify(struct scsi_cmd *t)
{
    struct sbc_verify_fields f;

    if (t->xfer_len == 0) {
        t->status = SCSI_STATUS_GOOD; /* BYTCHK 0: the range was checked */
        scsi_cmd_finish(t);
        return;
    }
    sbc_verify_fields(t->cdb, &f);
    t->step_pos = 0;
    t->step_end = (uint64_t)f.nblocks << t->lu->block_shift;
    scsi_step_start(t, &sbc_verify_ops);
}

/* --- PRE-FETCH ----------------------------------------------------------- */

bool
scsi_sbc_decode_prefetch(struct scsi_cmd *t)
{
    bool ten = t->cdb[0] == SCSI_OP_PREFETCH_10;
    uint64_t lba = ten ? scsi_get_be32(&t->cdb[2]) : scsi_get_be64(&t->cdb[2]);
    uint32_t n = ten ? scsi_get_be16(&t->cdb[7]) : scsi_get_be32(&t->cdb[10]);

    t->stats_op = STATS_OP_CACHE;
    /* Byte 1: IMMED (bit 1); the rest is reserved or obsolete. */
    if (t->cdb[1] & ~0x02) {
        return scsi_cmd_invalid_field(t);
    }
    /* PREFETCH LENGTH 0 means "to the end", still from lba. */
    return scsi_sbc_check_range(t, lba, n);
}

void
scsi_sbc_exec_prefetch(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    bool ten = t->cdb[0] == SCSI_OP_PREFETCH_10;
    uint64_t lba = ten ? scsi_get_be32(&t->cdb[2]) : scsi_get_be64(&t->cdb[2]);
    uint64_t n = ten ? scsi_get_be16(&t->cdb[7]) : scsi_get_be32(&t->cdb[10]);

    if (n == 0) {
        n = lu->nblocks - lba;
    }
    if ((t->cdb[1] & 0x02) || n == 0
        || !(lu->export->caps & BACKEND_CAN_CACHE)) {
        t->status = SCSI_STATUS_GOOD;
        scsi_cmd_finish(t);
        return;
    }
    sbc_req_init(t, lba << lu->block_shift, n << lu->block_shift, 0);
    t->breq.iov = NULL;
    t->breq.iovcnt = 0;
    backend_cache(lu->export->backend, &t->breq);
}

/* --- READ DEFECT DATA ---------------------------------------------------- */

bool
scsi_sbc_decode_read_defect_data(struct scsi_cmd *t)
{
    bool ten = t->cdb[0] == SCSI_OP_READ_DEFECT_DATA_10;
    uint8_t flags = ten ? t->cdb[2] : t->cdb[1];

    /* REQ_PLIST, REQ_GLIST and the DEFECT LIST FORMAT; the rest of that
     * byte is reserved. */
    if (flags & 0xe0) {
        return scsi_cmd_invalid_field_at(t, ten ? 2 : 1, 7);
    }
    scsi_cmd_data_in(t, ten ? scsi_get_be16(&t->cdb[7])
                            : scsi_get_be32(&t->cdb[6]), 8);
    return true;
}

void
scsi_sbc_exec_read_defect_data(struct scsi_cmd *t)
{
    bool ten = t->cdb[0] == SCSI_OP_READ_DEFECT_DATA_10;
    uint8_t flags = ten ? t->cdb[2] : t->cdb[1];
    uint8_t b[8] = { 0 };

    /* A virtual disk has no defects: the lists asked for are valid
     * (PLISTV, GLISTV) and empty, in the format asked for. */
    b[1] = flags & 0x1f;
    scsi_cmd_put_data(t, b, ten ? 4 : 8);
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}

/* --- START STOP UNIT ----------------------------------------------------- */

bool
scsi_sbc_decode_start_stop(struct scsi_cmd *t)
{
    /* Byte 1: IMMED.  Byte 3: POWER CONDITION MODIFIER, and byte 4's
     * POWER CONDITION: we have no power conditions, so only 0h
     * (START_VALID).  LOEJ: there is no removable medium to load or
     * eject.  NO_FLUSH and START are honoured; bit 3 is reserved. */
    if ((t->cdb[1] & ~0x01) || (t->cdb[3] & 0x0f) || (t->cdb[4] & 0xfa)) {
        return scsi_cmd_invalid_field(t);
    }
    return true;
}

void
scsi_sbc_exec_start_stop(struct scsi_cmd *t)
{
    const struct export *e = t->lu->export;

    /* A virtual disk is always ready: START 1 has nothing to spin up and
     * START 0 stops nothing, but a stop without NO_FLUSH first writes the
     * cache out, as a disk about to lose power would (Linux sends it at
     * shutdown). */
    if ((t->cdb[4] & 0x05) == 0 && (e->caps & BACKEND_CAN_FLUSH)) {
        sbc_req_init(t, 0, 0, 0);
        backend_flush(e->backend, &t->breq);
        return;
    }
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}
