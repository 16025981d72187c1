/* SPDX-License-Identifier: MIT */
/*
 * The command layer of the SCSI core: the opcode table, the checks every
 * CDB goes through before its own decoder sees it, command completion,
 * and logical unit setup.
 *
 * Dispatch is one table indexed by operation code (tgt's
 * sbc_template.ops[]): 256 entries of {name, decode, exec, flags, avail,
 * CDB usage data, service actions}, so adding a command is adding a line,
 * the name of any opcode we know, supported or not, is there for logs,
 * and REPORT SUPPORTED OPERATION CODES answers from the same table the
 * dispatch uses, so the two cannot disagree.  The generic checks run in a
 * fixed order, the order SAM-5 and SPC-4 imply: a LUN that does not exist
 * (LOGICAL UNIT NOT SUPPORTED; INQUIRY, REPORT LUNS and REQUEST SENSE are
 * the exceptions SPC-4 4.7 requires), then the opcode, and whether this
 * LU offers it (INVALID COMMAND OPERATION CODE), then the CDB's length
 * and its CONTROL byte (NACA is not supported, so NACA=1 is INVALID FIELD
 * IN CDB), then the command's own fields.
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

/*
 * The most one WRITE SAME may cover: 32 MiB, at most 32 steps of
 * SCSI_STEP_BYTES when the block is not zeros, and never more than 65535
 * blocks, WRITE SAME(10)'s own limit, so one MAXIMUM WRITE SAME LENGTH
 * holds for both CDBs.  (Zeroing the disk is UNMAP's job, or many of
 * these: Linux splits at this length.)
 */
#define SCSI_MAX_WS_BYTES (UINT32_C(32) << 20)
/* The most blocks one UNMAP may name in all: 512 MiB, 2^20 blocks of 512
 * bytes (libiscsi's conformance suite calls more than 2^20 "insane").
 * The memory backend trims inline, freeing one 64 KiB chunk per step
 * (8192 for 512 MiB, well under a millisecond); a bigger discard is split
 * by the initiator. */
#define SCSI_MAX_UNMAP_BYTES (UINT32_C(1) << 29)

/* t->stage between decode and exec. */
#define SCSI_STAGE_DECODED 0x5c5100d1u

/*
 * CDB USAGE DATA of each supported command (SPC-4 6.35.3, for REPORT
 * SUPPORTED OPERATION CODES): the opcode, then a 1 for each bit the
 * command accepts set.  Group numbers are accepted (and ignored), so their
 * bits are 1; protection fields, ANCHOR, NACA and reserved bits are
 * refused or ignored, so theirs are 0.  test-scsi-cmd checks that every
 * supported command has one, starting with its opcode, and that the
 * flags libiscsi's suite looks for (DPO, FUA) are in it.
 */
#define U_LBA4 0xff, 0xff, 0xff, 0xff
#define U_LBA8 U_LBA4, U_LBA4
static const uint8_t u_tur[] = { 0x00, 0, 0, 0, 0, 0 };
static const uint8_t u_request_sense[] = { 0x03, 0, 0, 0, 0xff, 0 };
static const uint8_t u_read_6[] = { 0x08, 0x1f, 0xff, 0xff, 0xff, 0 };
static const uint8_t u_write_6[] = { 0x0a, 0x1f, 0xff, 0xff, 0xff, 0 };
static const uint8_t u_inquiry[] = { 0x12, 0x01, 0xff, 0xff, 0xff, 0 };
static const uint8_t u_mode_select_6[] = { 0x15, 0x10, 0, 0, 0xff, 0 };
static const uint8_t u_reserve_6[] = { 0x16, 0, 0, 0, 0, 0 };
static const uint8_t u_release_6[] = { 0x17, 0, 0, 0, 0, 0 };
static const uint8_t u_mode_sense_6[] = { 0x1a, 0x08, 0xff, 0xff, 0xff, 0 };
static const uint8_t u_start_stop[] = { 0x1b, 0x01, 0, 0, 0x05, 0 };
static const uint8_t u_read_capacity_10[] = { 0x25, 0, U_LBA4, 0, 0, 0x01,
                                              0 };
static const uint8_t u_read_10[] = { 0x28, 0x18, U_LBA4, 0x1f, 0xff, 0xff,
                                     0 };
static const uint8_t u_write_10[] = { 0x2a, 0x1a, U_LBA4, 0x1f, 0xff, 0xff,
                                      0 };
static const uint8_t u_write_verify_10[] = { 0x2e, 0x12, U_LBA4, 0x1f, 0xff,
                                             0xff, 0 };
static const uint8_t u_verify_10[] = { 0x2f, 0x16, U_LBA4, 0x1f, 0xff, 0xff,
                                       0 };
static const uint8_t u_prefetch_10[] = { 0x34, 0x02, U_LBA4, 0x1f, 0xff,
                                         0xff, 0 };
static const uint8_t u_sync_cache_10[] = { 0x35, 0x06, U_LBA4, 0x1f, 0xff,
                                           0xff, 0 };
static const uint8_t u_write_same_10[] = { 0x41, 0x08, U_LBA4, 0x1f, 0xff,
                                           0xff, 0 };
static const uint8_t u_sanitize[] = { 0x48, 0xbf, 0, 0, 0, 0, 0, 0xff, 0xff,
                                      0 };
static const uint8_t u_unmap[] = { 0x42, 0, 0, 0, 0, 0, 0x1f, 0xff, 0xff, 0 };
static const uint8_t u_mode_select_10[] = { 0x55, 0x10, 0, 0, 0, 0, 0, 0xff,
                                            0xff, 0 };
static const uint8_t u_reserve_10[] = { 0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t u_release_10[] = { 0x57, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t u_prin[] = { 0x5e, 0x1f, 0, 0, 0, 0, 0, 0xff, 0xff, 0 };
static const uint8_t u_prout[] = { 0x5f, 0x1f, 0xff, 0, 0, 0xff, 0xff, 0xff,
                                   0xff, 0 };
static const uint8_t u_mode_sense_10[] = { 0x5a, 0x18, 0xff, 0xff, 0, 0, 0,
                                           0xff, 0xff, 0 };
static const uint8_t u_read_16[] = { 0x88, 0x18, U_LBA8, U_LBA4, 0x1f, 0 };
static const uint8_t u_write_16[] = { 0x8a, 0x1a, U_LBA8, U_LBA4, 0x1f, 0 };
static const uint8_t u_write_verify_16[] = { 0x8e, 0x12, U_LBA8, U_LBA4,
                                             0x1f, 0 };
static const uint8_t u_verify_16[] = { 0x8f, 0x16, U_LBA8, U_LBA4, 0x1f, 0 };
static const uint8_t u_prefetch_16[] = { 0x90, 0x02, U_LBA8, U_LBA4, 0x1f,
                                         0 };
static const uint8_t u_sync_cache_16[] = { 0x91, 0x06, U_LBA8, U_LBA4, 0x1f,
                                           0 };
static const uint8_t u_orwrite_16[] = { 0x8b, 0x1a, U_LBA8, U_LBA4, 0x1f, 0 };
static const uint8_t u_read_defect_10[] = { 0x37, 0, 0x1f, 0, 0, 0, 0, 0xff,
                                            0xff, 0 };
static const uint8_t u_read_defect_12[] = { 0xb7, 0x1f, 0, 0, 0, 0, U_LBA4,
                                            0, 0 };
static const uint8_t u_rstmf[] = { 0xa3, 0x1f, 0x80, 0, 0, 0, U_LBA4, 0, 0 };
static const uint8_t u_compare_and_write[] = { 0x89, 0x1a, U_LBA8, 0, 0, 0,
                                               0xff, 0x1f, 0 };
static const uint8_t u_write_same_16[] = { 0x93, 0x09, U_LBA8, U_LBA4, 0x1f,
                                           0 };
static const uint8_t u_read_capacity_16[] = { 0x9e, 0x1f, 0, 0, 0, 0, 0, 0,
                                              0, 0, U_LBA4, 0, 0 };
static const uint8_t u_get_lba_status[] = { 0x9e, 0x1f, U_LBA8, U_LBA4, 0,
                                            0 };
static const uint8_t u_report_luns[] = { 0xa0, 0, 0xff, 0, 0, 0, U_LBA4, 0,
                                         0 };
static const uint8_t u_rsoc[] = { 0xa3, 0x1f, 0x87, 0xff, 0xff, 0xff, U_LBA4,
                                  0, 0 };
static const uint8_t u_read_12[] = { 0xa8, 0x18, U_LBA4, U_LBA4, 0x1f, 0 };
static const uint8_t u_write_12[] = { 0xaa, 0x1a, U_LBA4, U_LBA4, 0x1f, 0 };
static const uint8_t u_write_verify_12[] = { 0xae, 0x12, U_LBA4, U_LBA4, 0x1f,
                                             0 };
static const uint8_t u_verify_12[] = { 0xaf, 0x16, U_LBA4, U_LBA4, 0x1f, 0 };
#undef U_LBA4
#undef U_LBA8

static const struct scsi_sa sa_service_action_in[] = {
    { SCSI_SAI_READ_CAPACITY_16, u_read_capacity_16, NULL },
    { SCSI_SAI_GET_LBA_STATUS, u_get_lba_status, scsi_lbp_has_lba_status },
};

static const struct scsi_sa sa_prin[] = {
    { SCSI_PRIN_READ_KEYS, u_prin, NULL },
    { SCSI_PRIN_READ_RESERVATION, u_prin, NULL },
    { SCSI_PRIN_REPORT_CAPABILITIES, u_prin, NULL },
    { SCSI_PRIN_READ_FULL_STATUS, u_prin, NULL },
};

static const struct scsi_sa sa_prout[] = {
    { SCSI_PROUT_REGISTER, u_prout, NULL },
    { SCSI_PROUT_RESERVE, u_prout, NULL },
    { SCSI_PROUT_RELEASE, u_prout, NULL },
    { SCSI_PROUT_CLEAR, u_prout, NULL },
    { SCSI_PROUT_PREEMPT, u_prout, NULL },
    { SCSI_PROUT_PREEMPT_AND_ABORT, u_prout, NULL },
    { SCSI_PROUT_REGISTER_IGNORE, u_prout, NULL },
};

/* CRYPTOGRAPHIC ERASE is not offered: no encryption key to change. */
static const struct scsi_sa sa_sanitize[] = {
    { SCSI_SANITIZE_OVERWRITE, u_sanitize, NULL },
    { SCSI_SANITIZE_BLOCK_ERASE, u_sanitize, scsi_sanitize_can_erase },
    { SCSI_SANITIZE_EXIT_FAILURE, u_sanitize, NULL },
};

static const struct scsi_sa sa_maintenance_in[] = {
    { SCSI_MI_REPORT_SUPPORTED_OPCODES, u_rsoc, NULL },
    { SCSI_MI_REPORT_SUPPORTED_TMFS, u_rstmf, NULL },
};

/* A command without service actions: name, decode, exec, flags, usage. */
#define OP(name, dec, ex, flags, usage)                                    \
    { name, dec, ex, flags, NULL, usage, NULL, 0 }
#define OP_AVAIL(name, dec, ex, avail, usage)                              \
    { name, dec, ex, 0, avail, usage, NULL, 0 }
#define OP_SA(name, dec, ex, sa)                                           \
    { name, dec, ex, SCSI_OP_SA, NULL, NULL, sa, ARRAY_SIZE(sa) }
#define OP_REFUSED(name, flags)                                            \
    { name, NULL, NULL, flags, NULL, NULL, NULL, 0 }

static const struct scsi_op scsi_ops[256] = {
    [SCSI_OP_TEST_UNIT_READY] = OP("TEST UNIT READY", scsi_spc_decode_tur,
                                   scsi_spc_exec_good, 0, u_tur),
    [SCSI_OP_REQUEST_SENSE] = OP("REQUEST SENSE",
                                 scsi_spc_decode_request_sense,
                                 scsi_spc_exec_request_sense, SCSI_OP_NO_LU,
                                 u_request_sense),
    [SCSI_OP_READ_6] = OP("READ(6)", scsi_sbc_decode_rw, scsi_sbc_exec_rw, 0,
                          u_read_6),
    [SCSI_OP_WRITE_6] = OP("WRITE(6)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                           0, u_write_6),
    [SCSI_OP_INQUIRY] = OP("INQUIRY", scsi_spc_decode_inquiry,
                           scsi_spc_exec_inquiry, SCSI_OP_NO_LU, u_inquiry),
    [SCSI_OP_MODE_SELECT_6] = OP("MODE SELECT(6)",
                                 scsi_spc_decode_mode_select,
                                 scsi_spc_exec_mode_select, 0,
                                 u_mode_select_6),
    [SCSI_OP_RESERVE_6] = OP("RESERVE(6)", scsi_pr_decode_reserve,
                             scsi_pr_exec_reserve, 0, u_reserve_6),
    [SCSI_OP_RELEASE_6] = OP("RELEASE(6)", scsi_pr_decode_reserve,
                             scsi_pr_exec_reserve, 0, u_release_6),
    [SCSI_OP_MODE_SENSE_6] = OP("MODE SENSE(6)", scsi_spc_decode_mode_sense,
                                scsi_spc_exec_mode_sense, 0, u_mode_sense_6),
    [SCSI_OP_START_STOP_UNIT] = OP("START STOP UNIT",
                                   scsi_sbc_decode_start_stop,
                                   scsi_sbc_exec_start_stop, 0, u_start_stop),
    [SCSI_OP_SEND_DIAGNOSTIC] = OP_REFUSED("SEND DIAGNOSTIC", 0),
    [SCSI_OP_PREVENT_ALLOW] = OP_REFUSED("PREVENT ALLOW MEDIUM REMOVAL", 0),
    [SCSI_OP_READ_CAPACITY_10] = OP("READ CAPACITY(10)",
                                    scsi_sbc_decode_read_capacity_10,
                                    scsi_sbc_exec_read_capacity_10, 0,
                                    u_read_capacity_10),
    [SCSI_OP_READ_10] = OP("READ(10)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                           0, u_read_10),
    [SCSI_OP_WRITE_10] = OP("WRITE(10)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                            0, u_write_10),
    [SCSI_OP_WRITE_VERIFY_10] = OP("WRITE AND VERIFY(10)", scsi_sbc_decode_rw,
                                   scsi_sbc_exec_rw, 0, u_write_verify_10),
    [SCSI_OP_VERIFY_10] = OP("VERIFY(10)", scsi_sbc_decode_verify,
                             scsi_sbc_exec_verify, 0, u_verify_10),
    [SCSI_OP_PREFETCH_10] = OP("PRE-FETCH(10)", scsi_sbc_decode_prefetch,
                               scsi_sbc_exec_prefetch, 0, u_prefetch_10),
    [SCSI_OP_READ_DEFECT_DATA_10] = OP("READ DEFECT DATA(10)",
                                       scsi_sbc_decode_read_defect_data,
                                       scsi_sbc_exec_read_defect_data, 0,
                                       u_read_defect_10),
    [SCSI_OP_SYNCHRONIZE_CACHE_10] = OP("SYNCHRONIZE CACHE(10)",
                                        scsi_sbc_decode_sync_cache,
                                        scsi_sbc_exec_sync_cache, 0,
                                        u_sync_cache_10),
    [SCSI_OP_WRITE_BUFFER] = OP_REFUSED("WRITE BUFFER", 0),
    [SCSI_OP_READ_BUFFER] = OP_REFUSED("READ BUFFER", 0),
    [SCSI_OP_WRITE_SAME_10] = OP("WRITE SAME(10)", scsi_lbp_decode_write_same,
                                 scsi_lbp_exec_write_same, 0,
                                 u_write_same_10),
    [SCSI_OP_UNMAP] = OP_AVAIL("UNMAP", scsi_lbp_decode_unmap,
                               scsi_lbp_exec_unmap, scsi_lbp_unmap_avail,
                               u_unmap),
    [SCSI_OP_SANITIZE] = OP_SA("SANITIZE", scsi_sanitize_decode,
                               scsi_sanitize_exec, sa_sanitize),
    [SCSI_OP_LOG_SELECT] = OP_REFUSED("LOG SELECT", 0),
    [SCSI_OP_LOG_SENSE] = OP_REFUSED("LOG SENSE", 0),
    [SCSI_OP_MODE_SELECT_10] = OP("MODE SELECT(10)",
                                  scsi_spc_decode_mode_select,
                                  scsi_spc_exec_mode_select, 0,
                                  u_mode_select_10),
    [SCSI_OP_MODE_SENSE_10] = OP("MODE SENSE(10)", scsi_spc_decode_mode_sense,
                                 scsi_spc_exec_mode_sense, 0,
                                 u_mode_sense_10),
    [SCSI_OP_RESERVE_10] = OP("RESERVE(10)", scsi_pr_decode_reserve,
                              scsi_pr_exec_reserve, 0, u_reserve_10),
    [SCSI_OP_RELEASE_10] = OP("RELEASE(10)", scsi_pr_decode_reserve,
                              scsi_pr_exec_reserve, 0, u_release_10),
    [SCSI_OP_PERSISTENT_RESERVE_IN] = OP_SA("PERSISTENT RESERVE IN",
                                            scsi_pr_decode_in,
                                            scsi_pr_exec_in, sa_prin),
    [SCSI_OP_PERSISTENT_RESERVE_OUT] = OP_SA("PERSISTENT RESERVE OUT",
                                             scsi_pr_decode_out,
                                             scsi_pr_exec_out, sa_prout),
    [SCSI_OP_EXTENDED_COPY] = OP_REFUSED("EXTENDED COPY", SCSI_OP_SA),
    [SCSI_OP_RECEIVE_COPY_RESULTS] = OP_REFUSED("RECEIVE COPY RESULTS",
                                                SCSI_OP_SA),
    [SCSI_OP_READ_16] = OP("READ(16)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                           0, u_read_16),
    [SCSI_OP_COMPARE_AND_WRITE] = OP("COMPARE AND WRITE", scsi_caw_decode,
                                     scsi_caw_exec, 0, u_compare_and_write),
    [SCSI_OP_WRITE_16] = OP("WRITE(16)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                            0, u_write_16),
    [SCSI_OP_ORWRITE_16] = OP("ORWRITE(16)", scsi_caw_decode_orwrite,
                              scsi_caw_exec_orwrite, 0, u_orwrite_16),
    [SCSI_OP_WRITE_VERIFY_16] = OP("WRITE AND VERIFY(16)", scsi_sbc_decode_rw,
                                   scsi_sbc_exec_rw, 0, u_write_verify_16),
    [SCSI_OP_VERIFY_16] = OP("VERIFY(16)", scsi_sbc_decode_verify,
                             scsi_sbc_exec_verify, 0, u_verify_16),
    [SCSI_OP_PREFETCH_16] = OP("PRE-FETCH(16)", scsi_sbc_decode_prefetch,
                               scsi_sbc_exec_prefetch, 0, u_prefetch_16),
    [SCSI_OP_SYNCHRONIZE_CACHE_16] = OP("SYNCHRONIZE CACHE(16)",
                                        scsi_sbc_decode_sync_cache,
                                        scsi_sbc_exec_sync_cache, 0,
                                        u_sync_cache_16),
    [SCSI_OP_WRITE_SAME_16] = OP("WRITE SAME(16)", scsi_lbp_decode_write_same,
                                 scsi_lbp_exec_write_same, 0,
                                 u_write_same_16),
    [SCSI_OP_SERVICE_ACTION_IN_16] = OP_SA("SERVICE ACTION IN(16)",
                                           scsi_sbc_decode_service_action_in,
                                           scsi_sbc_exec_service_action_in,
                                           sa_service_action_in),
    [SCSI_OP_REPORT_LUNS] = OP("REPORT LUNS", scsi_spc_decode_report_luns,
                               scsi_spc_exec_report_luns, SCSI_OP_NO_LU,
                               u_report_luns),
    [SCSI_OP_MAINTENANCE_IN] = OP_SA("MAINTENANCE IN",
                                     scsi_rsoc_decode_maintenance_in,
                                     scsi_rsoc_exec, sa_maintenance_in),
    [SCSI_OP_READ_12] = OP("READ(12)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                           0, u_read_12),
    [SCSI_OP_WRITE_12] = OP("WRITE(12)", scsi_sbc_decode_rw, scsi_sbc_exec_rw,
                            0, u_write_12),
    [SCSI_OP_WRITE_VERIFY_12] = OP("WRITE AND VERIFY(12)", scsi_sbc_decode_rw,
                                   scsi_sbc_exec_rw, 0, u_write_verify_12),
    [SCSI_OP_VERIFY_12] = OP("VERIFY(12)", scsi_sbc_decode_verify,
                             scsi_sbc_exec_verify, 0, u_verify_12),
    [SCSI_OP_READ_DEFECT_DATA_12] = OP("READ DEFECT DATA(12)",
                                       scsi_sbc_decode_read_defect_data,
                                       scsi_sbc_exec_read_defect_data, 0,
                                       u_read_defect_12),
};

#undef OP
#undef OP_AVAIL
#undef OP_SA
#undef OP_REFUSED

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

const struct scsi_op *
scsi_cmd_op(uint8_t opcode)
{
    return &scsi_ops[opcode];
}

bool
scsi_cmd_supported(const struct scsi_lu *lu, uint8_t opcode, uint8_t sa,
                   const struct scsi_sa **sa_out)
{
    const struct scsi_op *op = &scsi_ops[opcode];

    if (sa_out) {
        *sa_out = NULL;
    }
    if (op->decode == NULL || (op->avail && !op->avail(lu))) {
        return false;
    }
    if (!(op->flags & SCSI_OP_SA)) {
        return true;
    }
    for (size_t i = 0; i < op->nsa; i++) {
        if (op->sa[i].sa == sa) {
            if (op->sa[i].avail && !op->sa[i].avail(lu)) {
                return false;
            }
            if (sa_out) {
                *sa_out = &op->sa[i];
            }
            return true;
        }
    }
    return false;
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
    return scsi_cmd_illegal(t, SCSI_ASC_INVALID_FIELD_IN_CDB);
}

/* The field pointer (SPC-4 4.5.2.4.2): cd, in the CDB or else in the
 * parameter list. */
static bool
cmd_field_pointer(struct scsi_cmd *t, bool cd, uint16_t byte, uint8_t bit)
{
    t->sense[15] = (uint8_t)(SCSI_SENSE_SKSV | (cd ? SCSI_SENSE_SKS_CD : 0)
                             | SCSI_SENSE_SKS_BPV | (bit & 0x07));
    scsi_put_be16(&t->sense[16], byte);
    return false;
}

bool
scsi_cmd_invalid_field_at(struct scsi_cmd *t, uint8_t byte, uint8_t bit)
{
    scsi_cmd_invalid_field(t);
    return cmd_field_pointer(t, true, byte, bit);
}

bool
scsi_cmd_invalid_param_at(struct scsi_cmd *t, uint16_t byte, uint8_t bit)
{
    scsi_cmd_illegal(t, SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
    return cmd_field_pointer(t, false, byte, bit);
}

bool
scsi_cmd_check_service_action(struct scsi_cmd *t)
{
    if (t->cdb[1] & 0xe0) {
        return scsi_cmd_invalid_field_at(t, 1, 7);
    }
    if (!scsi_cmd_supported(t->lu, t->cdb[0], t->cdb[1] & 0x1f, NULL)) {
        return scsi_cmd_invalid_field_at(t, 1, 4); /* SERVICE ACTION */
    }
    return true;
}

bool
scsi_cmd_illegal(struct scsi_cmd *t, uint16_t asc)
{
    scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, asc);
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
scsi_cmd_data_out(struct scsi_cmd *t, uint32_t out, uint32_t scratch)
{
    t->dir = SCSI_DIR_WRITE;
    t->xfer_len = out;
    t->buf_len = out + scratch;
}

void
scsi_cmd_put_data(struct scsi_cmd *t, const uint8_t *data, uint32_t len)
{
    uint32_t room = MIN(t->buf_len, t->xfer_len);
    uint32_t n = MIN(len, room);

    if (n > 0) {
        memcpy(t->buf, data, n);
    }
    t->data_len = n;
}

void
scsi_cmd_finish(struct scsi_cmd *t)
{
    assert(t->done != NULL);
    assert(t->data_len <= t->xfer_len && t->data_len <= t->buf_len);
    scsi_range_unlock(t);
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
    t->step_ops = NULL;
    t->step_state = 0;
    t->range_slot = 0;
    t->range_held = false;
    t->sanitize_job = NULL;

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
    if (op->decode == NULL || len == 0
        || (op->avail && !op->avail(t->lu))) {
        scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST,
                           SCSI_ASC_INVALID_OPCODE);
        return false;
    }
    if (t->cdb_len < len || (t->cdb[len - 1] & SCSI_CONTROL_NACA)) {
        return scsi_cmd_invalid_field(t);
    }
    /* Reservations before the command's own fields: a refused command
     * is refused whatever else is wrong with it. */
    if (t->lu && !scsi_pr_check(t)) {
        return false;
    }
    /* Then a SANITIZE running or failed, which refuses nearly all. */
    if (t->lu && !scsi_sanitize_check(t)) {
        return false;
    }

    ok = op->decode(t);
    if (!ok) {
        assert(t->status == SCSI_STATUS_CHECK_CONDITION);
        t->dir = SCSI_DIR_NONE;
        t->xfer_len = 0;
        t->buf_len = 0;
        return false;
    }
    if (t->xfer_len == 0) {
        t->dir = SCSI_DIR_NONE; /* nothing moves: no data phase */
    }
    if (t->dir == SCSI_DIR_WRITE) {
        t->buf_len = MAX(t->buf_len, t->xfer_len);
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

bool
scsi_cmd_abort(struct scsi_cmd *t)
{
    /* Only a command that waits for work of its own, not for a backend
     * request of its own, can be let go early. */
    if (t->sanitize_job == NULL) {
        return false;
    }
    scsi_sanitize_abort(t);
    return true;
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
    /* config-export.c accepts 512 and 4096; anything else would be a bug
     * there, and 512 is what every initiator handles. */
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
    lu->max_ws_blocks = MIN(SCSI_MAX_WS_BYTES >> shift, UINT32_C(0xffff));
    lu->max_unmap_blocks = SCSI_MAX_UNMAP_BYTES >> shift;
    gran = MIN(min_block >> shift, UINT32_C(0xffff));
    lu->opt_xfer_gran = (uint16_t)(gran ? gran : 1);
    scsi_range_init(&lu->range_state);
    lu->ranges = &lu->range_state;
    scsi_sanitize_init(&lu->sanitize_state);
    lu->sanitize = &lu->sanitize_state;
    scsi_pr_init(&lu->pr_state);
    lu->pr = &lu->pr_state;

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
