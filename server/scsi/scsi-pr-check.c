/* SPDX-License-Identifier: MIT */
/*
 * The reservation check every command passes before its own decoder
 * (scsi_pr_check), on the state of scsi-pr.h.
 *
 * A pending reservation unit attention for the command's nexus is reported
 * first (SAM-5: except to INQUIRY, REPORT LUNS and REQUEST SENSE), then a
 * legacy reservation of another nexus refuses everything but the few
 * commands SPC-2 lets through, then a persistent reservation refuses what
 * SPC-4's and SBC-3's tables of commands allowed in the presence of
 * reservations say it refuses.  Those tables reduce to three classes of
 * command: always allowed (INQUIRY, TEST UNIT READY, READ CAPACITY, PR
 * IN/OUT, ...), read-type (READ, VERIFY, PRE-FETCH, ...: refused only by
 * the Exclusive Access types) and everything else, write-type.  A holder
 * may do everything; a registrant may too under the Registrants Only and
 * All Registrants types; anyone else is refused write-type commands under
 * every type and read-type ones under the Exclusive Access types.
 *
 * The check takes the lock only while something is reserved or a unit
 * attention is pending (the busy flag): otherwise it is one atomic load.
 */
#include <config.h>

#include "scsi/scsi-pr-internal.h"

enum pr_class { PR_ANY, PR_READ, PR_WRITE };

static enum pr_class
pr_class(const struct scsi_cmd *t)
{
    switch (t->cdb[0]) {
    case SCSI_OP_INQUIRY:
    case SCSI_OP_REPORT_LUNS:
    case SCSI_OP_REQUEST_SENSE:
    case SCSI_OP_TEST_UNIT_READY:
    case SCSI_OP_LOG_SENSE:
    case SCSI_OP_READ_CAPACITY_10:
    case SCSI_OP_MAINTENANCE_IN:
    case SCSI_OP_PERSISTENT_RESERVE_IN:
    case SCSI_OP_PERSISTENT_RESERVE_OUT:
    /* RESERVE and RELEASE decide for themselves (registrations). */
    case SCSI_OP_RESERVE_6:
    case SCSI_OP_RELEASE_6:
    case SCSI_OP_RESERVE_10:
    case SCSI_OP_RELEASE_10:
        return PR_ANY;
    case SCSI_OP_SERVICE_ACTION_IN_16:
        /* READ CAPACITY(16) is allowed; GET LBA STATUS reads. */
        return (t->cdb[1] & 0x1f) == SCSI_SAI_READ_CAPACITY_16 ? PR_ANY
                                                               : PR_READ;
    case SCSI_OP_START_STOP_UNIT:
        /* SBC-3: START 1 with POWER CONDITION 0 is allowed. */
        return (t->cdb[4] & 0xf1) == 0x01 ? PR_ANY : PR_WRITE;
    case SCSI_OP_READ_6:
    case SCSI_OP_READ_10:
    case SCSI_OP_READ_12:
    case SCSI_OP_READ_16:
    case SCSI_OP_VERIFY_10:
    case SCSI_OP_VERIFY_12:
    case SCSI_OP_VERIFY_16:
    case SCSI_OP_PREFETCH_10:
    case SCSI_OP_PREFETCH_16:
    case SCSI_OP_READ_DEFECT_DATA_10:
    case SCSI_OP_READ_DEFECT_DATA_12:
        return PR_READ;
    default:
        return PR_WRITE;
    }
}

/* SPC-2 5.5.1: what another nexus may still do under RESERVE. */
static bool
pr_legacy_allowed(uint8_t opcode)
{
    switch (opcode) {
    case SCSI_OP_INQUIRY:
    case SCSI_OP_REPORT_LUNS:
    case SCSI_OP_REQUEST_SENSE:
    case SCSI_OP_LOG_SENSE:
    case SCSI_OP_RELEASE_6:
    case SCSI_OP_RELEASE_10:
        return true;
    default:
        return false;
    }
}

/* Whether the persistent reservation lets nexus n run t (lock held). */
static bool
pr_allowed(const struct scsi_pr *pr, const struct scsi_cmd *t,
           const struct scsi_nexus *n)
{
    enum pr_class c = pr_class(t);
    int reg;
    bool ea;

    if (!pr->reserved || c == PR_ANY) {
        return true;
    }
    reg = pr_find(pr, n);
    if (pr_is_holder(pr, reg)) {
        return true;
    }
    if (reg >= 0 && pr_type_registrants(pr->type)) {
        return true;
    }
    ea = pr->type == SCSI_PR_EXCLUSIVE_ACCESS
         || pr->type == SCSI_PR_EXCLUSIVE_ACCESS_RO
         || pr->type == SCSI_PR_EXCLUSIVE_ACCESS_AR;
    return c == PR_READ && !ea;
}

bool
scsi_pr_check(struct scsi_cmd *t)
{
    struct scsi_pr *pr = t->lu->pr;
    const struct scsi_nexus *n = pr_nexus(t);
    uint8_t op = t->cdb[0];
    uint16_t asc = 0;
    bool ok = true;

    if (!atomic_load_explicit(&pr->busy, memory_order_acquire)) {
        return true;
    }
    pthread_mutex_lock(&pr->lock);
    if (op != SCSI_OP_INQUIRY && op != SCSI_OP_REPORT_LUNS
        && op != SCSI_OP_REQUEST_SENSE) {
        asc = scsi_pr_ua_take(pr, n);
    }
    if (asc == 0) {
        if (pr->legacy && !pr_nexus_eq(&pr->legacy_by, n)) {
            ok = pr_legacy_allowed(op);
        } else {
            ok = pr_allowed(pr, t, n);
        }
    }
    pr_update_busy(pr);
    pthread_mutex_unlock(&pr->lock);
    if (asc != 0) {
        scsi_cmd_set_sense(t, SCSI_SENSE_UNIT_ATTENTION, asc);
        return false;
    }
    return ok || pr_conflict(t);
}
