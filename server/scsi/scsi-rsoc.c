/* SPDX-License-Identifier: MIT */
/*
 * REPORT SUPPORTED OPERATION CODES (SPC-4 6.35) and REPORT SUPPORTED TASK
 * MANAGEMENT FUNCTIONS (SPC-4 6.36), the service actions of MAINTENANCE
 * IN we have.
 *
 * The answer is read off the opcode table of scsi-cmd.c, the table that
 * dispatches commands: an opcode is listed when it has a decoder and this
 * LU offers it (scsi_cmd_supported: UNMAP needs a backend that trims, GET
 * LBA STATUS one that reports allocation), and its CDB usage data is the
 * table's.  A command added to the table is therefore reported without
 * touching this file, and a command a LU refuses is never advertised.
 *
 * All four REPORTING OPTIONS are answered: 000b every command, 001b one
 * command without service actions, 010b one command with its service
 * action, 011b one command, with the service action if the opcode has
 * them (SPC-4 r37 and later).  001b names an opcode with service actions,
 * or 010b one without, is INVALID FIELD IN CDB, as SPC-4 requires.  With
 * RCTD each descriptor carries a command timeouts descriptor whose
 * timeouts are 0, "not specified": how long a command takes depends on
 * the backend, not on us.
 */
#include <config.h>

#include <assert.h>
#include <string.h>

#include "scsi/scsi-internal.h"
#include "util/minmax.h"

#define RSOC_ALL          0x0 /* REPORTING OPTIONS */
#define RSOC_ONE          0x1
#define RSOC_ONE_SA       0x2
#define RSOC_ONE_MAYBE_SA 0x3

#define RSOC_TIMEOUTS_LEN 12   /* command timeouts descriptor */
/* Room for the all-commands answer: 4 + 20 per command, with room to
 * spare for the 60-odd the table could grow to. */
#define RSOC_MAX          1536

/* CDB byte 2: RCTD (bit 7), REPORTING OPTIONS (bits 2-0). */
static bool
rsoc_rctd(const struct scsi_cmd *t)
{
    return t->cdb[2] & 0x80;
}

bool
scsi_rsoc_decode_maintenance_in(struct scsi_cmd *t)
{
    uint8_t sa = t->cdb[1] & 0x1f;
    uint8_t opts = t->cdb[2] & 0x07;
    const struct scsi_op *op = scsi_cmd_op(t->cdb[3]);

    if (!scsi_cmd_check_service_action(t)) {
        return false;
    }
    if (sa == SCSI_MI_REPORT_SUPPORTED_TMFS) {
        /* Byte 2: REPD; the rest is reserved.  SPC-4 6.36: an
         * allocation length under 4 is an invalid field. */
        if (t->cdb[2] & 0x7f) {
            return scsi_cmd_invalid_field_at(t, 2, 6);
        }
        if (scsi_get_be32(&t->cdb[6]) < 4) {
            return scsi_cmd_invalid_field_at(t, 6, 7);
        }
        scsi_cmd_data_in(t, scsi_get_be32(&t->cdb[6]), 16);
        return true;
    }
    /* Reserved bits of byte 2, reporting options past 011b, and the
     * mismatches between option and opcode SPC-4 6.35.1 lists.  The field
     * pointer matters: without one, an initiator cannot tell "this
     * REPORTING OPTIONS is wrong" from "no such service action". */
    if (t->cdb[2] & 0x78) {
        return scsi_cmd_invalid_field_at(t, 2, 6);
    }
    if (opts > RSOC_ONE_MAYBE_SA
        || (opts == RSOC_ONE && (op->flags & SCSI_OP_SA))
        || (opts == RSOC_ONE_SA && !(op->flags & SCSI_OP_SA))) {
        return scsi_cmd_invalid_field_at(t, 2, 2);
    }
    scsi_cmd_data_in(t, scsi_get_be32(&t->cdb[6]), RSOC_MAX);
    return true;
}

/* A command timeouts descriptor (SPC-4 6.35.4); returns its size. */
static uint32_t
rsoc_timeouts(uint8_t *b)
{
    memset(b, 0, RSOC_TIMEOUTS_LEN);
    scsi_put_be16(b, RSOC_TIMEOUTS_LEN - 2);
    return RSOC_TIMEOUTS_LEN;
}

/* One command descriptor of the all-commands format (SPC-4 6.35.2). */
static uint32_t
rsoc_descriptor(uint8_t *b, uint8_t opcode, uint8_t sa, bool servactv,
                bool rctd)
{
    memset(b, 0, 8);
    b[0] = opcode;
    scsi_put_be16(&b[2], sa);
    b[5] = (uint8_t)((rctd ? 0x02 : 0) | (servactv ? 0x01 : 0));
    scsi_put_be16(&b[6], (uint16_t)scsi_cmd_length(opcode));
    return 8 + (rctd ? rsoc_timeouts(&b[8]) : 0);
}

static uint32_t
rsoc_all(const struct scsi_cmd *t, uint8_t *b)
{
    bool rctd = rsoc_rctd(t);
    uint32_t n = 4;

    for (unsigned opcode = 0; opcode < 256; opcode++) {
        const struct scsi_op *op = scsi_cmd_op((uint8_t)opcode);

        if (!(op->flags & SCSI_OP_SA)) {
            if (scsi_cmd_supported(t->lu, (uint8_t)opcode, 0, NULL)) {
                n += rsoc_descriptor(&b[n], (uint8_t)opcode, 0, false, rctd);
            }
            continue;
        }
        for (size_t i = 0; i < op->nsa; i++) {
            if (scsi_cmd_supported(t->lu, (uint8_t)opcode, op->sa[i].sa,
                                   NULL)) {
                n += rsoc_descriptor(&b[n], (uint8_t)opcode, op->sa[i].sa,
                                     true, rctd);
            }
        }
        assert(n <= RSOC_MAX);
    }
    assert(n <= RSOC_MAX);
    scsi_put_be32(&b[0], n - 4); /* COMMAND DATA LENGTH */
    return n;
}

/* The one_command format (SPC-4 6.35.3). */
static uint32_t
rsoc_one(const struct scsi_cmd *t, uint8_t *b)
{
    uint8_t opcode = t->cdb[3];
    const struct scsi_op *op = scsi_cmd_op(opcode);
    const struct scsi_sa *sa = NULL;
    uint16_t want = scsi_get_be16(&t->cdb[4]);
    bool has_sa = op->flags & SCSI_OP_SA;
    const uint8_t *usage;
    uint32_t len;

    memset(b, 0, 4);
    if (rsoc_rctd(t)) {
        b[1] = 0x80; /* CTDP */
    }
    /* A service action is 5 bits; a bigger one names nothing we have. */
    if ((has_sa && want > 0x1f)
        || !scsi_cmd_supported(t->lu, opcode, (uint8_t)want, &sa)) {
        b[1] = 0x01; /* SUPPORT 001b: not supported; no CDB usage data */
        return 4;
    }
    usage = has_sa ? sa->usage : op->usage;
    len = scsi_cmd_length(opcode);
    assert(usage != NULL && usage[0] == opcode);
    b[1] |= 0x03; /* SUPPORT 011b: supported as the standard says */
    scsi_put_be16(&b[2], (uint16_t)len);
    memcpy(&b[4], usage, len);
    return 4 + len + (rsoc_rctd(t) ? rsoc_timeouts(&b[4 + len]) : 0);
}

/* REPORT SUPPORTED TASK MANAGEMENT FUNCTIONS (SPC-4 6.36): what the
 * iSCSI front end answers "function complete" to. */
static uint32_t
rsoc_tmfs(const struct scsi_cmd *t, uint8_t *b)
{
    bool repd = t->cdb[2] & 0x80;

    memset(b, 0, 16);
    /* ATS (ABORT TASK), ATSS (ABORT TASK SET), CTSS (CLEAR TASK SET),
     * LURS (LOGICAL UNIT RESET), TRS (TARGET RESET); no CLEAR ACA (no
     * NACA), no QUERY TASK, no I_T NEXUS RESET. */
    b[0] = 0x80 | 0x40 | 0x10 | 0x08 | 0x02;
    if (repd) {
        b[3] = 0x0c; /* ADDITIONAL DATA LENGTH; no TMF timeouts */
        return 16;
    }
    return 4;
}

void
scsi_rsoc_exec(struct scsi_cmd *t)
{
    uint8_t b[RSOC_MAX];
    uint32_t n;

    if ((t->cdb[1] & 0x1f) == SCSI_MI_REPORT_SUPPORTED_TMFS) {
        n = rsoc_tmfs(t, b);
    } else if ((t->cdb[2] & 0x07) == RSOC_ALL) {
        n = rsoc_all(t, b);
    } else {
        n = rsoc_one(t, b);
    }
    scsi_cmd_put_data(t, b, n);
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}
