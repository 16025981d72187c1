/* SPDX-License-Identifier: MIT */
/*
 * Private to server/scsi: the opcode table's entry type, the per-command
 * decode and exec functions of scsi-spc.c and scsi-sbc.c that the table in
 * scsi-cmd.c points at, and big-endian field helpers.
 *
 * The split between decode and exec is the contract of scsi-cmd.h: decode
 * does every check that can fail without I/O (fields, ranges, write
 * protection), so a refused WRITE never makes the transport fetch its
 * data; exec only produces data or submits backend requests, and fails
 * only with what the backend answers, or, for a command whose parameters
 * come as data-out (UNMAP, MODE SELECT), with what is wrong in them,
 * which decode cannot see.  VERIFY's MISCOMPARE is an answer, not a
 * failure of either kind.
 */
#ifndef POLLTGT_SCSI_SCSI_INTERNAL_H
#define POLLTGT_SCSI_SCSI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/scsi-cmd.h"
#include "util/compiler.h"

/* struct scsi_op.flags */
#define SCSI_OP_NO_LU (1u << 0) /* runs when the LUN does not exist */
#define SCSI_OP_SA    (1u << 1) /* has service actions (byte 1, bits 4-0),
                                 * even when we support none of them */

/* Whether a LU offers a command: NULL in a table entry means always. */
typedef bool scsi_avail_fn(const struct scsi_lu *lu);

/* One supported service action of an opcode with SCSI_OP_SA. */
struct scsi_sa {
    uint8_t sa;
    const uint8_t *usage;      /* CDB usage data, as scsi_op.usage */
    scsi_avail_fn *avail;
};

/*
 * One entry of the opcode table, indexed by operation code.  An entry with
 * a name but no decode is an opcode we know and refuse (for logs).
 *
 *   decode: called by scsi_cmd_decode after the generic checks (length,
 *           LUN, availability, CONTROL byte).  Sets dir, xfer_len,
 *           buf_len, stats_op; returns false after scsi_cmd_set_sense.
 *   exec:   produces the answer and calls scsi_cmd_finish exactly once,
 *           possibly from a backend completion.
 *   avail:  NULL, or false when this LU does not offer the command (it is
 *           then INVALID COMMAND OPERATION CODE and absent from REPORT
 *           SUPPORTED OPERATION CODES).
 *   usage:  REPORT SUPPORTED OPERATION CODES' CDB USAGE DATA,
 *           scsi_cmd_length(opcode) bytes: the opcode, then a 1 for each
 *           bit the command accepts set (fields it reads and flags it
 *           honours); reserved bits and the CONTROL byte are 0.  NULL for
 *           an opcode with service actions: see sa.
 *   sa, nsa: the supported service actions of a SCSI_OP_SA opcode.
 */
struct scsi_op {
    const char *name;
    bool (*decode)(struct scsi_cmd *t);
    void (*exec)(struct scsi_cmd *t);
    unsigned flags;
    scsi_avail_fn *avail;
    const uint8_t *usage;
    const struct scsi_sa *sa;
    size_t nsa;
};

/*
 * A command that takes several backend requests, run by scsi_step_start
 * (scsi-step.c).  Both run on the command's I/O thread.
 *
 *   next: submit the next request with scsi_step_req and a backend_*()
 *         call and return true; or return false when there is nothing left
 *         to do, with the final status set (GOOD or CHECK CONDITION).
 *   done: the request submitted by next completed with err (0 or -errno).
 *         Return true to go on (next is called again), false to end the
 *         command with the status it set.
 */
struct scsi_step_ops {
    bool (*next)(struct scsi_cmd *t);
    bool (*done)(struct scsi_cmd *t, int err);
};

/* scsi-cmd.c */
void scsi_cmd_finish(struct scsi_cmd *t) ATTR_NONNULL(1);
/* The opcode table's entry for opcode (never NULL). */
const struct scsi_op *scsi_cmd_op(uint8_t opcode);
/* Whether lu offers opcode (and service action sa, for SCSI_OP_SA
 * opcodes); the entry of sa in *sa_out, if any. */
bool scsi_cmd_supported(const struct scsi_lu *lu, uint8_t opcode, uint8_t sa,
                        const struct scsi_sa **sa_out) ATTR_NONNULL(1);
/* Set data-in sizes: xfer_len = alloc, buf_len = min(alloc, most). */
void scsi_cmd_data_in(struct scsi_cmd *t, uint32_t alloc, uint32_t most)
    ATTR_NONNULL(1);
/* Copy len produced bytes into t->buf, truncated to the allocation
 * length, and set data_len. */
void scsi_cmd_put_data(struct scsi_cmd *t, const uint8_t *data, uint32_t len)
    ATTR_NONNULL(1, 2);
/* Fail with ILLEGAL REQUEST / INVALID FIELD IN CDB; returns false. */
bool scsi_cmd_invalid_field(struct scsi_cmd *t) ATTR_NONNULL(1);
/* The same with the field pointer (SPC-4 4.5.2.4.2) at CDB byte `byte`,
 * bit `bit` (the field's most significant bit). */
bool scsi_cmd_invalid_field_at(struct scsi_cmd *t, uint8_t byte, uint8_t bit)
    ATTR_NONNULL(1);
/* ILLEGAL REQUEST / INVALID FIELD IN PARAMETER LIST with the field
 * pointer at byte `byte`, bit `bit` of the parameter list; false. */
bool scsi_cmd_invalid_param_at(struct scsi_cmd *t, uint16_t byte, uint8_t bit)
    ATTR_NONNULL(1);
/* Byte 1 of a SCSI_OP_SA opcode: reserved bits 7-5 clear and a service
 * action this LU offers, else INVALID FIELD IN CDB pointing at the field
 * (SPC-4 leaves INVALID COMMAND OPERATION CODE as the other choice;
 * initiators read either as "not supported"); returns false then. */
bool scsi_cmd_check_service_action(struct scsi_cmd *t) ATTR_NONNULL(1);
/* Fail with ILLEGAL REQUEST and asc (parameter list errors); false. */
bool scsi_cmd_illegal(struct scsi_cmd *t, uint16_t asc) ATTR_NONNULL(1);
/* Set data-out sizes: xfer_len = out, buf_len = out + scratch. */
void scsi_cmd_data_out(struct scsi_cmd *t, uint32_t out, uint32_t scratch)
    ATTR_NONNULL(1);

/* scsi-spc.c */
bool scsi_spc_decode_tur(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_spc_exec_good(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_spc_decode_inquiry(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_spc_exec_inquiry(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_spc_decode_report_luns(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_spc_exec_report_luns(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_spc_decode_request_sense(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_spc_exec_request_sense(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_spc_decode_mode_sense(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_spc_exec_mode_sense(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_spc_decode_mode_select(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_spc_exec_mode_select(struct scsi_cmd *t) ATTR_NONNULL(1);

/* scsi-pr-check.c */
/* May t run, given the LU's reservations and pending reservation unit
 * attentions?  false: refused, with RESERVATION CONFLICT or CHECK
 * CONDITION (UNIT ATTENTION) set. */
bool scsi_pr_check(struct scsi_cmd *t) ATTR_NONNULL(1);
/* scsi-pr-reserve.c */
bool scsi_pr_decode_reserve(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_pr_exec_reserve(struct scsi_cmd *t) ATTR_NONNULL(1);
/* scsi-pr-in.c */
bool scsi_pr_decode_in(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_pr_exec_in(struct scsi_cmd *t) ATTR_NONNULL(1);
/* scsi-pr-out.c */
bool scsi_pr_decode_out(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_pr_exec_out(struct scsi_cmd *t) ATTR_NONNULL(1);

/* scsi-rsoc.c */
bool scsi_rsoc_decode_maintenance_in(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_rsoc_exec(struct scsi_cmd *t) ATTR_NONNULL(1);

/* scsi-sbc.c */
bool scsi_sbc_decode_rw(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_rw(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_sbc_decode_sync_cache(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_sync_cache(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_sbc_decode_read_capacity_10(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_read_capacity_10(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_sbc_decode_service_action_in(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_service_action_in(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_sbc_decode_verify(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_verify(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_sbc_decode_prefetch(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_prefetch(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_sbc_decode_read_defect_data(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_read_defect_data(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_sbc_decode_start_stop(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_start_stop(struct scsi_cmd *t) ATTR_NONNULL(1);
/* LBA OUT OF RANGE (and false) unless [lba, lba + n) is within the LU. */
bool scsi_sbc_check_range(struct scsi_cmd *t, uint64_t lba, uint64_t n)
    ATTR_NONNULL(1);
/* WRITE PROTECTED (and false) if the LU is read-only. */
bool scsi_sbc_check_writable(struct scsi_cmd *t) ATTR_NONNULL(1);

/* scsi-step.c */
/* Run t as a command in steps (see struct scsi_step_ops). */
void scsi_step_start(struct scsi_cmd *t, const struct scsi_step_ops *ops)
    ATTR_NONNULL(1, 2);
/* Fill t->breq for the next step: count bytes at offset, data at buf
 * (NULL for trim, zero, cache); its completion goes to the driver. */
void scsi_step_req(struct scsi_cmd *t, uint64_t offset, uint64_t count,
                   uint32_t flags, uint8_t *buf) ATTR_NONNULL(1);

/* scsi-lbp.c: logical block provisioning */
/* The LU can unmap: UNMAP works, LBPME and LBPU are set. */
bool scsi_lbp_can_unmap(const struct scsi_lu *lu) ATTR_NONNULL(1);
/* Unmapped blocks read as zeros (LBPRZ), and WRITE SAME can unmap. */
bool scsi_lbp_unmap_zeroes(const struct scsi_lu *lu) ATTR_NONNULL(1);
/* GET LBA STATUS is offered. */
bool scsi_lbp_has_lba_status(const struct scsi_lu *lu) ATTR_NONNULL(1);
/* UNMAP is offered: the LU can unmap, or it is read-only (WRITE
 * PROTECTED then tells the initiator why nothing is unmapped). */
bool scsi_lbp_unmap_avail(const struct scsi_lu *lu) ATTR_NONNULL(1);
#define SCSI_LBP_MAX_UNMAP_DESC 256 /* MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT */
/* scsi-range.c */
void scsi_range_init(struct scsi_ranges *r) ATTR_NONNULL(1);
/* Run go(t) once t holds LBAs [lba, lba + n) of its LU: shared (other
 * whole-block writes may overlap) or exclusive (nothing else that writes
 * may); at once when it can, else from a timer of t's I/O thread.  A
 * range that is not whole backend blocks is taken exclusive.  Sets
 * range_held before go; scsi_cmd_finish releases it. */
void scsi_range_lock(struct scsi_cmd *t, uint64_t lba, uint64_t n, bool excl,
                     void (*go)(struct scsi_cmd *t)) ATTR_NONNULL(1, 5);
void scsi_range_unlock(struct scsi_cmd *t) ATTR_NONNULL(1);

/* scsi-sanitize.c */
void scsi_sanitize_init(struct scsi_sanitize *s) ATTR_NONNULL(1);
/* May t run now?  false while a SANITIZE runs (NOT READY, SANITIZE IN
 * PROGRESS, with its progress) or after one failed (MEDIUM ERROR,
 * SANITIZE COMMAND FAILED), but for INQUIRY, REPORT LUNS and REQUEST
 * SENSE (and SANITIZE after a failure). */
bool scsi_sanitize_check(struct scsi_cmd *t) ATTR_NONNULL(1);
/* REQUEST SENSE's sense data for lu while a SANITIZE runs or after one
 * failed: true and SCSI_SENSE_LEN bytes in buf; false otherwise. */
bool scsi_sanitize_sense(const struct scsi_lu *lu, uint8_t *buf)
    ATTR_NONNULL(1, 2);
/* BLOCK ERASE is offered: the LU deallocates, and reads zeros after. */
bool scsi_sanitize_can_erase(const struct scsi_lu *lu) ATTR_NONNULL(1);
bool scsi_sanitize_decode(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sanitize_exec(struct scsi_cmd *t) ATTR_NONNULL(1);
/* scsi_cmd_abort of t, a SANITIZE waiting for its job (t->sanitize_job):
 * the job goes on without it; t->done is called. */
void scsi_sanitize_abort(struct scsi_cmd *t) ATTR_NONNULL(1);

/* scsi-caw.c */
bool scsi_caw_decode(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_caw_exec(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_caw_decode_orwrite(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_caw_exec_orwrite(struct scsi_cmd *t) ATTR_NONNULL(1);

bool scsi_lbp_decode_write_same(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_lbp_exec_write_same(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_lbp_decode_unmap(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_lbp_exec_unmap(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_lbp_decode_get_lba_status(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_lbp_exec_get_lba_status(struct scsi_cmd *t) ATTR_NONNULL(1);
/* A backend's -errno as CHECK CONDITION and sense, and t->err (write:
 * a write or flush, for the MEDIUM ERROR's ASC).  -EIO: MEDIUM ERROR,
 * -ENOSPC: SPACE ALLOCATION FAILED, -EROFS/-EPERM: WRITE PROTECTED,
 * -ENOMEM: INSUFFICIENT RESOURCES, else INTERNAL TARGET FAILURE. */
void scsi_sbc_set_error(struct scsi_cmd *t, int err, bool write)
    ATTR_NONNULL(1);

/* Big-endian fields of CDBs and parameter data. */
static inline uint16_t
scsi_get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
scsi_get_be24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t
scsi_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16
           | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
scsi_get_be64(const uint8_t *p)
{
    return (uint64_t)scsi_get_be32(p) << 32 | scsi_get_be32(p + 4);
}

static inline void
scsi_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void
scsi_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void
scsi_put_be64(uint8_t *p, uint64_t v)
{
    scsi_put_be32(p, (uint32_t)(v >> 32));
    scsi_put_be32(p + 4, (uint32_t)v);
}

#endif /* POLLTGT_SCSI_SCSI_INTERNAL_H */
