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
 * only with what the backend answers.
 */
#ifndef POLLTGT_SCSI_SCSI_INTERNAL_H
#define POLLTGT_SCSI_SCSI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi/scsi-cmd.h"
#include "util/compiler.h"

/* struct scsi_op.flags */
#define SCSI_OP_NO_LU (1u << 0) /* runs when the LUN does not exist */

/*
 * One entry of the opcode table, indexed by operation code.  An entry with
 * a name but no decode is an opcode we know and refuse (for logs).
 *
 *   decode: called by scsi_cmd_decode after the generic checks (length,
 *           LUN, CONTROL byte).  Sets dir, xfer_len, buf_len, stats_op;
 *           returns false after scsi_cmd_set_sense.
 *   exec:   produces the answer and calls scsi_cmd_finish exactly once,
 *           possibly from a backend completion.
 */
struct scsi_op {
    const char *name;
    bool (*decode)(struct scsi_cmd *t);
    void (*exec)(struct scsi_cmd *t);
    unsigned flags;
};

/* scsi-cmd.c */
void scsi_cmd_finish(struct scsi_cmd *t) ATTR_NONNULL(1);
/* Set data-in sizes: xfer_len = alloc, buf_len = min(alloc, most). */
void scsi_cmd_data_in(struct scsi_cmd *t, uint32_t alloc, uint32_t most)
    ATTR_NONNULL(1);
/* Copy len produced bytes into t->buf, truncated to the allocation
 * length, and set data_len. */
void scsi_cmd_put_data(struct scsi_cmd *t, const uint8_t *data, uint32_t len)
    ATTR_NONNULL(1, 2);
/* Fail with ILLEGAL REQUEST / INVALID FIELD IN CDB; returns false. */
bool scsi_cmd_invalid_field(struct scsi_cmd *t) ATTR_NONNULL(1);

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

/* scsi-sbc.c */
bool scsi_sbc_decode_rw(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_rw(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_sbc_decode_sync_cache(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_sync_cache(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_sbc_decode_read_capacity_10(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_read_capacity_10(struct scsi_cmd *t) ATTR_NONNULL(1);
bool scsi_sbc_decode_service_action_in(struct scsi_cmd *t) ATTR_NONNULL(1);
void scsi_sbc_exec_read_capacity_16(struct scsi_cmd *t) ATTR_NONNULL(1);
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
