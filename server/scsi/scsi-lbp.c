/* SPDX-License-Identifier: MIT */
/*
 * Logical block provisioning (SBC-3 4.7, 5.x): WRITE SAME(10)/(16), UNMAP
 * and GET LBA STATUS, and the capability answers that VPD B0h/B2h and
 * READ CAPACITY(16) report, so every place that advertises provisioning
 * asks the same four functions.
 *
 * What is advertised follows the export's capabilities:
 * - BACKEND_CAN_TRIM: the LU is thin provisioned (LBPME, LBPU, B2h
 *   provisioning type 010b), and UNMAP deallocates.
 * - and BACKEND_CAN_ZERO: unmapped blocks read as zeros (LBPRZ), because
 *   UNMAP then goes out as backend_zero with BACKEND_MAY_TRIM, which must
 *   leave zeros wherever it deallocates or not.  backend_trim promises no
 *   such thing (the file backend's trim is a no-op on a file system
 *   without hole punching), so with trim alone LBPRZ stays 0.  WRITE
 *   SAME's UNMAP bit (LBPWS, LBPWS10) needs the same promise: SBC-3 lets
 *   it unmap only where reading the blocks back gives the data written.
 * - BACKEND_CAN_BLOCK_STATUS: GET LBA STATUS tells mapped from
 *   deallocated; a thin LU without it answers GET LBA STATUS all mapped.
 * A read-only LU unmaps nothing: UNMAP and WRITE SAME fail WRITE
 * PROTECTED, and it reports full provisioning.
 *
 * WRITE SAME replicates its one data-out block over the range through a
 * buffer of at most SCSI_STEP_BYTES (the transport allocates it: buf_len),
 * one backend write per step.  An all-zero block (or NDOB) goes out as
 * one backend_zero instead, with MAY_TRIM when the UNMAP bit asks for
 * deallocation and the LU can honour it.  NUMBER OF LOGICAL BLOCKS 0 means
 * "to the end of the LU" (WSNZ 0), within MAXIMUM WRITE SAME LENGTH like
 * any other length.
 *
 * UNMAP checks the whole parameter list before unmapping anything, so a
 * bad descriptor leaves the LU untouched, then takes the LBA range of its
 * descriptors (scsi-range.c) like a write and issues one request per
 * non-empty descriptor, in order.  ANCHOR is refused (ANC_SUP 0): we have
 * no anchored state.
 */
#include <config.h>

#include <assert.h>
#include <stdalign.h>
#include <string.h>

#include "scsi/scsi-internal.h"
#include "stats/stats.h"
#include "util/minmax.h"

/* GET LBA STATUS: the most descriptors one answer carries.  The first
 * is what initiators use (Linux asks for one at a time); 64 keeps the
 * scratch room at 2 KiB. */
#define LBP_GLS_MAX_DESC 64

/* t->stage of WRITE SAME: how the range is written. */
#define LBP_WS_WRITE     1 /* the block replicated through t->buf */
#define LBP_WS_ZERO      2 /* backend_zero */
#define LBP_WS_UNMAP     3 /* backend_zero with BACKEND_MAY_TRIM */

bool
scsi_lbp_can_unmap(const struct scsi_lu *lu)
{
    return !lu->readonly && (lu->export->caps & BACKEND_CAN_TRIM);
}

bool
scsi_lbp_unmap_zeroes(const struct scsi_lu *lu)
{
    return scsi_lbp_can_unmap(lu) && (lu->export->caps & BACKEND_CAN_ZERO);
}

/* SBC-3 has a thin provisioned LU answer GET LBA STATUS, and initiators
 * (and polltgt's own iscsi backend) ask one that sets LBPME: where the
 * backend cannot tell allocation, every block is reported mapped, which
 * is always true of a block that reads back its data. */
bool
scsi_lbp_has_lba_status(const struct scsi_lu *lu)
{
    return (lu->export->caps & BACKEND_CAN_BLOCK_STATUS) != 0
           || scsi_lbp_can_unmap(lu);
}

bool
scsi_lbp_unmap_avail(const struct scsi_lu *lu)
{
    return lu->readonly || scsi_lbp_can_unmap(lu);
}

/* --- WRITE SAME ---------------------------------------------------------- */

struct lbp_ws_fields {
    uint64_t lba;
    uint64_t nblocks;     /* as in the CDB: 0 means to the end */
    bool unmap;
    bool ndob;
};

static void
lbp_ws_fields(const uint8_t *cdb, struct lbp_ws_fields *f)
{
    if (cdb[0] == SCSI_OP_WRITE_SAME_10) {
        f->lba = scsi_get_be32(&cdb[2]);
        f->nblocks = scsi_get_be16(&cdb[7]);
        f->ndob = false;
    } else {
        f->lba = scsi_get_be64(&cdb[2]);
        f->nblocks = scsi_get_be32(&cdb[10]);
        f->ndob = cdb[1] & 0x01;
    }
    f->unmap = cdb[1] & 0x08;
}

/* The blocks a checked WRITE SAME covers. */
static uint64_t
lbp_ws_count(const struct scsi_lu *lu, const struct lbp_ws_fields *f)
{
    return f->nblocks ? f->nblocks : lu->nblocks - f->lba;
}

bool
scsi_lbp_decode_write_same(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    struct lbp_ws_fields f;
    uint32_t reserved = t->cdb[0] == SCSI_OP_WRITE_SAME_10 ? 0x01 : 0;
    uint64_t n;
    uint32_t room;

    lbp_ws_fields(t->cdb, &f);
    t->stats_op = STATS_OP_ZERO;
    /* WRPROTECT (no protection information), ANCHOR (ANC_SUP 0, with or
     * without UNMAP), the obsolete PBDATA/LBDATA, and (10)'s reserved
     * bit 0; (16)'s bit 0 is NDOB. */
    if (t->cdb[1] & (0xe0 | 0x10 | 0x06 | reserved)) {
        return scsi_cmd_invalid_field(t);
    }
    if (!scsi_sbc_check_range(t, f.lba, f.nblocks)) {
        return false;
    }
    n = lbp_ws_count(lu, &f);
    if (n > lu->max_ws_blocks) {
        return scsi_cmd_invalid_field(t);
    }
    if (!scsi_sbc_check_writable(t)) {
        return false;
    }
    /* Room to replicate into: the range, up to one step. */
    room = (uint32_t)MIN(n << lu->block_shift, (uint64_t)SCSI_STEP_BYTES);
    if (f.ndob) {
        /* No data-out; zeros, written through buf only if the backend
         * cannot zero. */
        if (!(lu->export->caps & BACKEND_CAN_ZERO)) {
            t->buf_len = room;
        }
        return true;
    }
    /* One block of data-out whatever the range (SBC-3 5.41), so the
     * transport fetches what the initiator sends even for 0 blocks. */
    scsi_cmd_data_out(t, lu->block_size,
                      room > lu->block_size ? room - lu->block_size : 0);
    return true;
}

static bool
lbp_is_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static bool
lbp_ws_next(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    struct backend *b = lu->export->backend;
    struct lbp_ws_fields f;
    uint64_t offset, left = t->step_end - t->step_pos;

    if (left == 0) {
        t->status = SCSI_STATUS_GOOD;
        return false;
    }
    lbp_ws_fields(t->cdb, &f);
    offset = (f.lba << lu->block_shift) + t->step_pos;
    switch (t->stage) {
    case LBP_WS_UNMAP:
        scsi_step_req(t, offset, left, BACKEND_MAY_TRIM, NULL);
        backend_zero(b, &t->breq);
        break;
    case LBP_WS_ZERO:
        scsi_step_req(t, offset, left, 0, NULL);
        backend_zero(b, &t->breq);
        break;
    default:
        scsi_step_req(t, offset, MIN(left, (uint64_t)t->buf_len), 0, t->buf);
        backend_write(b, &t->breq);
        break;
    }
    return true;
}

static bool
lbp_ws_done(struct scsi_cmd *t, int err)
{
    if (err < 0) {
        scsi_sbc_set_error(t, err, true);
        return false;
    }
    t->step_pos += t->step_len;
    return true;
}

static const struct scsi_step_ops lbp_ws_ops = {
    .next = lbp_ws_next,
    .done = lbp_ws_done,
};

void
scsi_lbp_exec_write_same(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    uint32_t bs = lu->block_size;
    struct lbp_ws_fields f;
    uint64_t n;
    bool zeros;

    lbp_ws_fields(t->cdb, &f);
    n = lbp_ws_count(lu, &f);
    if (n == 0) {
        t->status = SCSI_STATUS_GOOD;
        scsi_cmd_finish(t);
        return;
    }
    if (!t->range_held) {
        /* A write like any other: not inside a COMPARE AND WRITE. */
        scsi_range_lock(t, f.lba, n, false, scsi_lbp_exec_write_same);
        return;
    }
    zeros = f.ndob || lbp_is_zero(t->buf, bs);
    if (zeros && f.unmap && scsi_lbp_unmap_zeroes(lu)) {
        t->stage = LBP_WS_UNMAP;
    } else if (zeros && (lu->export->caps & BACKEND_CAN_ZERO)) {
        t->stage = LBP_WS_ZERO;
    } else {
        t->stage = LBP_WS_WRITE;
        assert(t->buf_len >= bs && t->buf_len % bs == 0);
        if (f.ndob) {
            memset(t->buf, 0, t->buf_len);
        } else {
            /* Double the filled part each time: log2(steps) memcpys. */
            for (uint32_t have = bs; have < t->buf_len;) {
                uint32_t k = MIN(have, t->buf_len - have);

                memcpy(t->buf + have, t->buf, k);
                have += k;
            }
        }
    }
    t->step_pos = 0;
    t->step_end = n << lu->block_shift;
    scsi_step_start(t, &lbp_ws_ops);
}

/* --- UNMAP --------------------------------------------------------------- */

bool
scsi_lbp_decode_unmap(struct scsi_cmd *t)
{
    uint16_t len = scsi_get_be16(&t->cdb[7]);

    t->stats_op = STATS_OP_TRIM;
    /* Byte 1: ANCHOR (ANC_SUP 0) and reserved bits. */
    if (t->cdb[1] != 0) {
        return scsi_cmd_invalid_field(t);
    }
    if (!scsi_sbc_check_writable(t)) {
        return false;
    }
    /* 0: nothing to unmap, not an error.  1-7: not even the header
     * (SBC-3 5.28). */
    if (len > 0 && len < 8) {
        return scsi_cmd_illegal(t, SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
    }
    scsi_cmd_data_out(t, len, 0);
    return true;
}

/* The descriptors of a checked parameter list (the last one cut short by
 * the lengths is ignored, as SBC-3 says). */
static uint32_t
lbp_unmap_count(const struct scsi_cmd *t)
{
    uint32_t bdl = scsi_get_be16(&t->buf[2]);

    return MIN(bdl, t->xfer_len - 8) / 16;
}

static const uint8_t *
lbp_unmap_desc(const struct scsi_cmd *t, uint64_t i)
{
    return &t->buf[8 + 16 * i];
}

/* Every descriptor in range, within the limits: or false with sense. */
static bool
lbp_unmap_check(struct scsi_cmd *t)
{
    uint32_t bdl = scsi_get_be16(&t->buf[2]);
    uint32_t count = lbp_unmap_count(t);
    uint64_t total = 0;

    /* The block descriptors must fit in what was sent; a list that
     * claims more than it holds is malformed, not truncated. */
    if (bdl > t->xfer_len - 8 || count > SCSI_LBP_MAX_UNMAP_DESC) {
        return scsi_cmd_illegal(t, SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
    }
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *d = lbp_unmap_desc(t, i);
        uint64_t lba = scsi_get_be64(d);
        uint32_t n = scsi_get_be32(d + 8);

        if (!scsi_sbc_check_range(t, lba, n)) {
            return false;
        }
        total += n;
        if (total > t->lu->max_unmap_blocks) {
            return scsi_cmd_illegal(t, SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
        }
    }
    return true;
}

static bool
lbp_unmap_next(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    struct backend *b = lu->export->backend;

    for (; t->step_pos < t->step_end; t->step_pos++) {
        const uint8_t *d = lbp_unmap_desc(t, t->step_pos);
        uint64_t lba = scsi_get_be64(d);
        uint64_t n = scsi_get_be32(d + 8);

        if (n == 0) {
            continue;
        }
        if (scsi_lbp_unmap_zeroes(lu)) {
            scsi_step_req(t, lba << lu->block_shift, n << lu->block_shift,
                          BACKEND_MAY_TRIM, NULL);
            backend_zero(b, &t->breq);
        } else {
            scsi_step_req(t, lba << lu->block_shift, n << lu->block_shift,
                          0, NULL);
            backend_trim(b, &t->breq);
        }
        return true;
    }
    t->status = SCSI_STATUS_GOOD;
    return false;
}

static bool
lbp_unmap_done(struct scsi_cmd *t, int err)
{
    if (err < 0) {
        scsi_sbc_set_error(t, err, true);
        return false;
    }
    t->step_pos++;
    return true;
}

static const struct scsi_step_ops lbp_unmap_ops = {
    .next = lbp_unmap_next,
    .done = lbp_unmap_done,
};

/* The blocks from the lowest descriptor to the end of the highest, in
 * *lba and *n; *n 0 when every descriptor is empty. */
static void
lbp_unmap_span(const struct scsi_cmd *t, uint64_t *lba, uint64_t *n)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    uint32_t count = lbp_unmap_count(t);

    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *d = lbp_unmap_desc(t, i);
        uint64_t start = scsi_get_be64(d);
        uint32_t len = scsi_get_be32(d + 8);

        if (len > 0) {
            lo = MIN(lo, start);
            hi = MAX(hi, start + len);
        }
    }
    *lba = lo;
    *n = hi > lo ? hi - lo : 0;
}

static void
lbp_unmap_go(struct scsi_cmd *t)
{
    t->step_pos = 0;
    t->step_end = lbp_unmap_count(t);
    scsi_step_start(t, &lbp_unmap_ops);
}

void
scsi_lbp_exec_unmap(struct scsi_cmd *t)
{
    uint64_t lba, n;

    if (t->xfer_len == 0 || !lbp_unmap_check(t)) {
        if (t->status != SCSI_STATUS_CHECK_CONDITION) {
            t->status = SCSI_STATUS_GOOD;
        }
        scsi_cmd_finish(t);
        return;
    }
    lbp_unmap_span(t, &lba, &n);
    if (n == 0) {
        t->status = SCSI_STATUS_GOOD;
        scsi_cmd_finish(t);
        return;
    }
    /* Deallocating replaces whole blocks, as a write does: shared, so a
     * COMPARE AND WRITE or a partial-block read-modify-write on any of
     * them runs entirely before or after it.  One range over the span of
     * the descriptors, not one per descriptor: a lock held while the
     * next is awaited could deadlock against an exclusive claim in
     * between, and UNMAPs with far-apart descriptors are rare enough
     * that the coarser range costs nothing. */
    scsi_range_lock(t, lba, n, false, lbp_unmap_go);
}

/* --- GET LBA STATUS ------------------------------------------------------ */

/* Descriptors an allocation length has room for, at least one. */
static uint32_t
lbp_gls_ndesc(uint32_t alloc)
{
    return alloc >= 24 ? MIN((alloc - 8) / 16, (uint32_t)LBP_GLS_MAX_DESC) : 1;
}

/* Where the backend's extents go in t->buf: after the answer, aligned. */
static struct backend_extent *
lbp_gls_extents(const struct scsi_cmd *t)
{
    uint32_t ndesc = lbp_gls_ndesc(scsi_get_be32(&t->cdb[10]));
    uintptr_t p = (uintptr_t)t->buf + 8 + 16 * ndesc;
    uintptr_t a = alignof(struct backend_extent);

    return (struct backend_extent *)((p + a - 1) & ~(a - 1));
}

bool
scsi_lbp_decode_get_lba_status(struct scsi_cmd *t)
{
    uint64_t lba = scsi_get_be64(&t->cdb[2]);
    uint32_t alloc = scsi_get_be32(&t->cdb[10]);
    uint32_t ndesc = lbp_gls_ndesc(alloc);
    uint32_t out = 8 + 16 * ndesc;

    t->stats_op = STATS_OP_BLOCK_STATUS;
    /* The starting LBA must be a block of the LU (SBC-3 5.6). */
    if (lba >= t->lu->nblocks) {
        scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST,
                           SCSI_ASC_LBA_OUT_OF_RANGE);
        return false;
    }
    scsi_cmd_data_in(t, alloc, out);
    /* Scratch room after the answer for the extents, plus alignment. */
    t->buf_len = out + ndesc * (uint32_t)sizeof(struct backend_extent)
                 + (uint32_t)alignof(struct backend_extent);
    return true;
}

static void
lbp_gls_done(struct backend_req *req, int err)
{
    struct scsi_cmd *t = (struct scsi_cmd *)req;
    const struct scsi_lu *lu = t->lu;
    uint64_t lba = scsi_get_be64(&t->cdb[2]);
    uint32_t max = lbp_gls_ndesc(scsi_get_be32(&t->cdb[10]));
    const struct backend_extent *ext = lbp_gls_extents(t);
    uint64_t cur = lba, bytes = 0;
    uint32_t n = 0;

    if (err < 0) {
        scsi_sbc_set_error(t, err, false);
        scsi_cmd_finish(t);
        return;
    }
    memset(t->buf, 0, 8 + 16 * max); /* the extents are past this */
    /* Extents are in bytes; a block partly allocated counts as mapped,
     * so a hole's end rounds down and data's end rounds up. */
    for (size_t i = 0; i < req->nextents; i++) {
        bool hole = ext[i].type & BACKEND_EXTENT_HOLE;
        uint8_t st = hole ? SCSI_LBA_STATUS_DEALLOCATED
                          : SCSI_LBA_STATUS_MAPPED;
        uint64_t end;
        uint8_t *d;

        bytes += ext[i].length;
        end = lba + (hole ? bytes >> lu->block_shift
                          : (bytes + lu->block_size - 1) >> lu->block_shift);
        end = MIN(end, lu->nblocks);
        if (end <= cur) {
            continue;
        }
        if (n > 0) {
            uint32_t prev;

            d = &t->buf[8 + 16 * (n - 1)];
            prev = scsi_get_be32(d + 8);
            if (d[12] == st && end - cur <= UINT32_MAX - prev) {
                scsi_put_be32(d + 8, (uint32_t)(prev + (end - cur)));
                cur = end;
                continue;
            }
        }
        if (n == max) {
            break;
        }
        d = &t->buf[8 + 16 * n++];
        scsi_put_be64(d, cur);
        d[12] = st;
        if (end - cur > UINT32_MAX) {
            /* NUMBER OF LOGICAL BLOCKS is 32 bits: the answer stops here,
             * and the initiator asks again from where it ends. */
            scsi_put_be32(d + 8, UINT32_MAX);
            break;
        }
        scsi_put_be32(d + 8, (uint32_t)(end - cur));
        cur = end;
    }
    if (n == 0) {
        /* Less than a block answered (a backend's odd granularity):
         * one block, mapped, is always a true answer. */
        scsi_put_be64(&t->buf[8], lba);
        scsi_put_be32(&t->buf[16], 1);
        n = 1;
    }
    scsi_put_be32(&t->buf[0], 4 + 16 * n); /* PARAMETER DATA LENGTH */
    t->data_len = MIN(8 + 16 * n, t->xfer_len);
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}

void
scsi_lbp_exec_get_lba_status(struct scsi_cmd *t)
{
    const struct scsi_lu *lu = t->lu;
    struct backend_req *req = &t->breq;
    uint64_t lba = scsi_get_be64(&t->cdb[2]);

    req->ctx = t->ctx;
    req->offset = lba << lu->block_shift;
    req->count = (lu->nblocks - lba) << lu->block_shift;
    req->flags = 0;
    req->iov = NULL;
    req->iovcnt = 0;
    req->extents = lbp_gls_extents(t);
    req->max_extents = lbp_gls_ndesc(scsi_get_be32(&t->cdb[10]));
    req->done = lbp_gls_done;
    req->opaque = t->opaque;
    if (!(lu->export->caps & BACKEND_CAN_BLOCK_STATUS)) {
        req->extents[0].length = req->count;
        req->extents[0].type = 0;
        req->nextents = 1;
        lbp_gls_done(req, 0);
        return;
    }
    backend_block_status(lu->export->backend, req);
}
