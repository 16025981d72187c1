/* SPDX-License-Identifier: MIT */
/*
 * The command layer of the SCSI core: the opcode table, the checks every
 * CDB goes through before its own decoder sees it, command completion,
 * and logical unit setup.
 *
 * Dispatch is one table indexed by operation code (tgt's
 * sbc_template.ops[]): 256 entries of {name, decode, exec, flags}, so
 * adding a command is adding a line, and the name of any opcode we know,
 * supported or not, is there for logs.  The generic checks run in a fixed
 * order, the order SAM-5 and SPC-4 imply: a LUN that does not exist
 * (LOGICAL UNIT NOT SUPPORTED; INQUIRY, REPORT LUNS and REQUEST SENSE are
 * the exceptions SPC-4 4.7 requires), then the opcode (INVALID COMMAND
 * OPERATION CODE), then the CDB's length and its CONTROL byte (NACA is
 * not supported, so NACA=1 is INVALID FIELD IN CDB), then the command's
 * own fields.
 *
 * A logical unit's identity (VPD 80h serial, VPD 83h NAA) is a hash of
 * the target and export names: stable across restarts and hosts without
 * storing anything, and different for the same export behind two
 * targets, which initiators' multipath code would otherwise merge.
 */
#include <config.h>

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "scsi/scsi-internal.h"
#include "util/minmax.h"

/*
 * The IEEE COMPANY_ID in our NAA designators.  We own no OUI, so this is
 * a made-up value, 5A-50-54 ("ZPT"): its first octet has the form x'A
 * (X bit set, M bit clear), the IEEE's Company ID (CID) space, which never
 * overlaps an OUI, so our designators cannot collide with a disk vendor's.
 * Replace it if the project registers an OUI or CID.
 */
#define SCSI_NAA_COMPANY_ID UINT32_C(0x5a5054)
#define SCSI_NAA_IEEE_REG_EXT 0x6

/* t->stage between decode and exec. */
#define SCSI_STAGE_DECODED 0x5c5100d1u

static const struct scsi_op scsi_ops[256] = {
    [SCSI_OP_TEST_UNIT_READY] = { "TEST UNIT READY", scsi_spc_decode_tur,
                                  scsi_spc_exec_good, 0 },
    [SCSI_OP_REQUEST_SENSE] = { "REQUEST SENSE", scsi_spc_decode_request_sense,
                                scsi_spc_exec_request_sense, SCSI_OP_NO_LU },
    [SCSI_OP_READ_6] = { "READ(6)", scsi_sbc_decode_rw, scsi_sbc_exec_rw, 0 },
    [SCSI_OP_WRITE_6] = { "WRITE(6)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                          0 },
    [SCSI_OP_INQUIRY] = { "INQUIRY", scsi_spc_decode_inquiry,
                          scsi_spc_exec_inquiry, SCSI_OP_NO_LU },
    [SCSI_OP_MODE_SELECT_6] = { "MODE SELECT(6)", NULL, NULL, 0 },
    [SCSI_OP_RESERVE_6] = { "RESERVE(6)", NULL, NULL, 0 },
    [SCSI_OP_RELEASE_6] = { "RELEASE(6)", NULL, NULL, 0 },
    [SCSI_OP_MODE_SENSE_6] = { "MODE SENSE(6)", scsi_spc_decode_mode_sense,
                               scsi_spc_exec_mode_sense, 0 },
    [SCSI_OP_START_STOP_UNIT] = { "START STOP UNIT", NULL, NULL, 0 },
    [SCSI_OP_SEND_DIAGNOSTIC] = { "SEND DIAGNOSTIC", NULL, NULL, 0 },
    [SCSI_OP_PREVENT_ALLOW] = { "PREVENT ALLOW MEDIUM REMOVAL", NULL, NULL,
                                0 },
    [SCSI_OP_READ_CAPACITY_10] = { "READ CAPACITY(10)",
                                   scsi_sbc_decode_read_capacity_10,
                                   scsi_sbc_exec_read_capacity_10, 0 },
    [SCSI_OP_READ_10] = { "READ(10)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                          0 },
    [SCSI_OP_WRITE_10] = { "WRITE(10)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                           0 },
    [SCSI_OP_WRITE_VERIFY_10] = { "WRITE AND VERIFY(10)", NULL, NULL, 0 },
    [SCSI_OP_VERIFY_10] = { "VERIFY(10)", NULL, NULL, 0 },
    [SCSI_OP_PREFETCH_10] = { "PRE-FETCH(10)", NULL, NULL, 0 },
    [SCSI_OP_SYNCHRONIZE_CACHE_10] = { "SYNCHRONIZE CACHE(10)",
                                       scsi_sbc_decode_sync_cache,
                                       scsi_sbc_exec_sync_cache, 0 },
    [SCSI_OP_WRITE_BUFFER] = { "WRITE BUFFER", NULL, NULL, 0 },
    [SCSI_OP_READ_BUFFER] = { "READ BUFFER", NULL, NULL, 0 },
    [SCSI_OP_WRITE_SAME_10] = { "WRITE SAME(10)", NULL, NULL, 0 },
    [SCSI_OP_UNMAP] = { "UNMAP", NULL, NULL, 0 },
    [SCSI_OP_LOG_SELECT] = { "LOG SELECT", NULL, NULL, 0 },
    [SCSI_OP_LOG_SENSE] = { "LOG SENSE", NULL, NULL, 0 },
    [SCSI_OP_MODE_SELECT_10] = { "MODE SELECT(10)", NULL, NULL, 0 },
    [SCSI_OP_MODE_SENSE_10] = { "MODE SENSE(10)", scsi_spc_decode_mode_sense,
                                scsi_spc_exec_mode_sense, 0 },
    [SCSI_OP_PERSISTENT_RESERVE_IN] = { "PERSISTENT RESERVE IN", NULL, NULL,
                                        0 },
    [SCSI_OP_PERSISTENT_RESERVE_OUT] = { "PERSISTENT RESERVE OUT", NULL,
                                         NULL, 0 },
    [SCSI_OP_EXTENDED_COPY] = { "EXTENDED COPY", NULL, NULL, 0 },
    [SCSI_OP_RECEIVE_COPY_RESULTS] = { "RECEIVE COPY RESULTS", NULL, NULL,
                                       0 },
    [SCSI_OP_READ_16] = { "READ(16)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                          0 },
    [SCSI_OP_COMPARE_AND_WRITE] = { "COMPARE AND WRITE", NULL, NULL, 0 },
    [SCSI_OP_WRITE_16] = { "WRITE(16)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                           0 },
    [SCSI_OP_WRITE_VERIFY_16] = { "WRITE AND VERIFY(16)", NULL, NULL, 0 },
    [SCSI_OP_VERIFY_16] = { "VERIFY(16)", NULL, NULL, 0 },
    [SCSI_OP_PREFETCH_16] = { "PRE-FETCH(16)", NULL, NULL, 0 },
    [SCSI_OP_SYNCHRONIZE_CACHE_16] = { "SYNCHRONIZE CACHE(16)",
                                       scsi_sbc_decode_sync_cache,
                                       scsi_sbc_exec_sync_cache, 0 },
    [SCSI_OP_WRITE_SAME_16] = { "WRITE SAME(16)", NULL, NULL, 0 },
    [SCSI_OP_SERVICE_ACTION_IN_16] = { "SERVICE ACTION IN(16)",
                                       scsi_sbc_decode_service_action_in,
                                       scsi_sbc_exec_read_capacity_16, 0 },
    [SCSI_OP_REPORT_LUNS] = { "REPORT LUNS", scsi_spc_decode_report_luns,
                              scsi_spc_exec_report_luns, SCSI_OP_NO_LU },
    [SCSI_OP_MAINTENANCE_IN] = { "MAINTENANCE IN", NULL, NULL, 0 },
    [SCSI_OP_READ_12] = { "READ(12)", NULL, NULL, 0 },
    [SCSI_OP_WRITE_12] = { "WRITE(12)", NULL, NULL, 0 },
};

unsigned
scsi_cmd_length(uint8_t opcode)
{
    /* SPC-4 4.3.2, by group code (the top 3 bits).  Group 3 is reserved
     * (and the variable-length 7Fh, which we do not take); groups 6 and 7
     * are vendor specific. */
    static const uint8_t len[8] = { 6, 10, 10, 0, 16, 12, 0, 0 };

    return len[opcode >> 5];
}

const char *
scsi_cmd_name(uint8_t opcode)
{
    return scsi_ops[opcode].name;
}

void
scsi_cmd_set_sense(struct scsi_cmd *t, uint8_t key, uint16_t asc)
{
    t->status = SCSI_STATUS_CHECK_CONDITION;
    scsi_sense_build(t->sense, key, asc);
    t->sense_len = SCSI_SENSE_LEN;
    t->data_len = 0;
}

bool
scsi_cmd_invalid_field(struct scsi_cmd *t)
{
    scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST,
                       SCSI_ASC_INVALID_FIELD_IN_CDB);
    return false;
}

void
scsi_cmd_data_in(struct scsi_cmd *t, uint32_t alloc, uint32_t most)
{
    t->dir = SCSI_DIR_READ;
    t->xfer_len = alloc;
    t->buf_len = MIN(alloc, most);
}

void
scsi_cmd_put_data(struct scsi_cmd *t, const uint8_t *data, uint32_t len)
{
    uint32_t n = MIN(len, t->buf_len);

    assert(t->buf_len <= t->xfer_len);
    if (n > 0) {
        memcpy(t->buf, data, n);
    }
    t->data_len = n;
}

void
scsi_cmd_finish(struct scsi_cmd *t)
{
    assert(t->done != NULL);
    t->done(t);
}

bool
scsi_cmd_decode(struct scsi_cmd *t)
{
    const struct scsi_op *op;
    unsigned len;
    bool ok;

    assert(t->cdb_len <= SCSI_CDB_MAX);
    t->dir = SCSI_DIR_NONE;
    t->xfer_len = 0;
    t->buf_len = 0;
    t->stats_op = -1;
    t->data_len = 0;
    t->status = SCSI_STATUS_GOOD;
    t->sense_len = 0;
    t->err = 0;
    t->stage = 0;

    if (t->cdb_len == 0) {
        scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST,
                           SCSI_ASC_INVALID_OPCODE);
        return false;
    }
    op = &scsi_ops[t->cdb[0]];
    len = scsi_cmd_length(t->cdb[0]);
    if (t->lu == NULL && !(op->flags & SCSI_OP_NO_LU)) {
        scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST,
                           SCSI_ASC_LUN_NOT_SUPPORTED);
        return false;
    }
    if (op->decode == NULL || len == 0) {
        scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST,
                           SCSI_ASC_INVALID_OPCODE);
        return false;
    }
    if (t->cdb_len < len || (t->cdb[len - 1] & SCSI_CONTROL_NACA)) {
        return scsi_cmd_invalid_field(t);
    }

    ok = op->decode(t);
    if (!ok) {
        assert(t->status == SCSI_STATUS_CHECK_CONDITION);
        t->dir = SCSI_DIR_NONE;
        t->xfer_len = 0;
        t->buf_len = 0;
        return false;
    }
    assert(t->buf_len <= t->xfer_len);
    if (t->xfer_len == 0) {
        t->dir = SCSI_DIR_NONE; /* nothing moves: no data phase */
    }
    if (t->dir == SCSI_DIR_WRITE) {
        t->buf_len = t->xfer_len;
    }
    t->stage = SCSI_STAGE_DECODED;
    return true;
}

void
scsi_cmd_exec(struct scsi_cmd *t)
{
    if (t->stage != SCSI_STAGE_DECODED) {
        /* Decode failed (or never ran): answer with what it set. */
        if (t->status == SCSI_STATUS_GOOD) {
            scsi_cmd_set_sense(t, SCSI_SENSE_HARDWARE_ERROR,
                               SCSI_ASC_INTERNAL_TARGET_FAILURE);
        }
        scsi_cmd_finish(t);
        return;
    }
    assert(t->buf_len == 0 || t->buf != NULL);
    t->stage = 0;
    scsi_ops[t->cdb[0]].exec(t);
}

/* --- Logical units ------------------------------------------------------ */

/* splitmix64's finaliser: FNV-1a alone mixes the last bytes poorly. */
static uint64_t
lu_mix(uint64_t h)
{
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    return h;
}

/* FNV-1a 64 of target, NUL, export, from a seeded basis. */
static uint64_t
lu_hash(const char *target, const char *export, uint64_t seed)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325) ^ seed;
    const char *s[2] = { target, export };

    for (int i = 0; i < 2; i++) {
        for (const unsigned char *p = (const unsigned char *)s[i]; *p; p++) {
            h = (h ^ *p) * UINT64_C(0x100000001b3);
        }
        h *= UINT64_C(0x100000001b3); /* the NUL separating them */
    }
    return lu_mix(h);
}

void
scsi_lu_init(struct scsi_lu *lu, struct export *e, uint64_t lun,
             const char *target_name)
{
    const char *ename = e->name ? e->name : "";
    uint32_t bs = e->cfg ? e->cfg->block_size : 0;
    uint64_t h1 = lu_hash(target_name, ename, 0);
    uint64_t h2 = lu_hash(target_name, ename, UINT64_C(0x9e3779b97f4a7c15));
    uint64_t vsid = h1 & ((UINT64_C(1) << 36) - 1);
    uint32_t cid = SCSI_NAA_COMPANY_ID;
    uint32_t min_block = e->backend ? backend_min_block(e->backend) : 1;
    uint32_t gran;
    unsigned shift = 9;

    memset(lu, 0, sizeof *lu);
    /* config.c accepts 512 and 4096; anything else would be a bug there,
     * and 512 is what every initiator handles. */
    if (bs == 4096) {
        shift = 12;
    }
    lu->export = e;
    lu->lun = lun;
    lu->block_shift = shift;
    lu->block_size = UINT32_C(1) << shift;
    lu->nblocks = e->size >> shift;
    lu->readonly = e->readonly;
    lu->max_xfer_blocks = SCSI_MAX_XFER_BYTES >> shift;
    gran = MIN(min_block >> shift, UINT32_C(0xffff));
    lu->opt_xfer_gran = (uint16_t)(gran ? gran : 1);

    snprintf(lu->serial, sizeof lu->serial, "%016llx%016llx",
             (unsigned long long)h1, (unsigned long long)h2);

    /* NAA 6h (SPC-4 7.8.6.6.5): NAA, 24-bit COMPANY_ID, 36-bit vendor
     * specific identifier, 64-bit extension, nibble-packed. */
    lu->naa[0] = (uint8_t)(SCSI_NAA_IEEE_REG_EXT << 4 | (cid >> 20));
    lu->naa[1] = (uint8_t)(cid >> 12);
    lu->naa[2] = (uint8_t)(cid >> 4);
    lu->naa[3] = (uint8_t)((cid & 0xf) << 4 | (uint8_t)(vsid >> 32));
    scsi_put_be32(&lu->naa[4], (uint32_t)vsid);
    scsi_put_be64(&lu->naa[8], h2);
}

void
scsi_lu_lun_to_wire(uint64_t lun, uint8_t out[8])
{
    assert(lun <= SCSI_MAX_LUN);
    memset(out, 0, 8);
    if (lun < 256) {
        out[1] = (uint8_t)lun; /* peripheral device addressing, bus 0 */
    } else {
        out[0] = (uint8_t)(0x40 | (lun >> 8)); /* flat space addressing */
        out[1] = (uint8_t)lun;
    }
}

uint64_t
scsi_lu_lun_from_wire(const uint8_t in[8])
{
    for (int i = 2; i < 8; i++) {
        if (in[i] != 0) {
            return UINT64_MAX; /* a second level */
        }
    }
    switch (in[0] >> 6) {
    case 0: /* peripheral: bus identifier must be 0 for a single level */
        return in[0] == 0 ? in[1] : UINT64_MAX;
    case 1: /* flat space */
        return (uint64_t)(in[0] & 0x3f) << 8 | in[1];
    default:
        return UINT64_MAX;
    }
}

const struct scsi_lu *
scsi_lu_find(const struct scsi_target *t, uint64_t lun)
{
    for (size_t i = 0; i < t->nluns; i++) {
        if (t->luns[i].lun == lun) {
            return &t->luns[i];
        }
    }
    return NULL;
}
