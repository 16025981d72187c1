/* SPDX-License-Identifier: MIT */
/*
 * The legacy RESERVE and RELEASE (6)/(10) (SPC-2 5.5): a reservation of
 * the whole LU by one nexus, kept beside the persistent ones in the state
 * of scsi-pr.h and enforced by scsi_pr_check (scsi-pr-check.c).
 *
 * RESERVE and RELEASE conflict with registrations as SPC-3 5.6.3
 * (compatible reservation handling, CRH) says: while any nexus is
 * registered, both are RESERVATION CONFLICT; while a legacy reservation
 * is held, PERSISTENT RESERVE IN/OUT from another nexus are too.
 */
#include <config.h>

#include "scsi/scsi-pr-internal.h"

bool
scsi_pr_decode_reserve(struct scsi_cmd *t)
{
    bool six = t->cdb[0] == SCSI_OP_RESERVE_6 || t->cdb[0] == SCSI_OP_RELEASE_6;

    /* Third-party and extent reservations (SPC-2's 3RDPTY, LONGID,
     * extents) are obsolete: only the whole LU, for the sender.  (10)'s
     * PARAMETER LIST LENGTH must then be 0. */
    if (t->cdb[1] & (six ? 0x1f : 0x13)) {
        return scsi_cmd_invalid_field_at(t, 1, 4);
    }
    if (six && t->cdb[2]) {
        return scsi_cmd_invalid_field_at(t, 2, 7);    /* RESERVATION ID */
    }
    if (six ? scsi_get_be16(&t->cdb[3]) : scsi_get_be16(&t->cdb[7])) {
        return scsi_cmd_invalid_field_at(t, six ? 3 : 7, 7); /* extents */
    }
    return true;
}

void
scsi_pr_exec_reserve(struct scsi_cmd *t)
{
    struct scsi_pr *pr = t->lu->pr;
    const struct scsi_nexus *n = pr_nexus(t);
    bool reserve = t->cdb[0] == SCSI_OP_RESERVE_6
                   || t->cdb[0] == SCSI_OP_RESERVE_10;

    t->status = SCSI_STATUS_GOOD;
    pthread_mutex_lock(&pr->lock);
    if (pr->nregs > 0 || pr->reserved) {
        t->status = SCSI_STATUS_RESERVATION_CONFLICT;
    } else if (reserve) {
        if (pr->legacy && !pr_nexus_eq(&pr->legacy_by, n)) {
            t->status = SCSI_STATUS_RESERVATION_CONFLICT;
        } else {
            pr->legacy = true;
            pr->legacy_by = *n;
        }
    } else if (pr->legacy && pr_nexus_eq(&pr->legacy_by, n)) {
        pr->legacy = false;
    }
    /* RELEASE by another nexus: GOOD, and nothing changes (SPC-2). */
    pr_update_busy(pr);
    pthread_mutex_unlock(&pr->lock);
    scsi_cmd_finish(t);
}
