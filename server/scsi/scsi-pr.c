/* SPDX-License-Identifier: MIT */
/*
 * The reservation state of a logical unit (scsi-pr.h): how a transport
 * names the I_T nexus, the state's lifetime, the queue of reservation unit
 * attentions, and what the transport tells it (nexus loss, resets).
 *
 * The commands on that state have a file each: scsi-pr-check.c (the check
 * every command passes first, per SPC-4's tables), scsi-pr-reserve.c (the
 * legacy RESERVE/RELEASE (6)/(10)), scsi-pr-in.c and scsi-pr-out.c
 * (PERSISTENT RESERVE IN and OUT); scsi-pr-aptpl.c keeps the state in its
 * APTPL file.  What they share is in scsi-pr-internal.h.
 *
 * A unit attention waits in the LU's table, keyed by nexus, until that
 * nexus's next command takes it (scsi_pr_check), on whichever session and
 * I/O thread that command arrives.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi-pr-internal.h"

void
scsi_pr_nexus_iscsi(struct scsi_nexus *n, const char *initiator_name,
                    const uint8_t isid[6], uint16_t rtpi)
{
    snprintf(n->port, sizeof n->port, "%s,i,0x%02x%02x%02x%02x%02x%02x",
             initiator_name, isid[0], isid[1], isid[2], isid[3], isid[4],
             isid[5]);
    n->rtpi = rtpi;
}

void
scsi_pr_init(struct scsi_pr *pr)
{
    memset(pr, 0, sizeof *pr);
    pthread_mutex_init(&pr->lock, NULL);
    atomic_init(&pr->busy, false);
    pr->holder = -1;
}

void
scsi_pr_destroy(struct scsi_pr *pr)
{
    pthread_mutex_destroy(&pr->lock);
    free(pr->path);
    pr->path = NULL;
}

/* iSCSI names compare case-insensitively (RFC 3722), the ISID in hex
 * does too. */
bool
scsi_pr_nexus_eq(const struct scsi_nexus *a, const struct scsi_nexus *b)
{
    return a->rtpi == b->rtpi && strcasecmp(a->port, b->port) == 0;
}

/* --- Unit attentions ---------------------------------------------------- */

/* Queue asc for nexus n, once.  A full table drops it: the table holds
 * more than any cluster produces between two commands of a node. */
void
scsi_pr_ua_add(struct scsi_pr *pr, const struct scsi_nexus *n, uint16_t asc)
{
    for (unsigned i = 0; i < pr->nuas; i++) {
        if (pr->uas[i].asc == asc && pr_nexus_eq(&pr->uas[i].nexus, n)) {
            return;
        }
    }
    if (pr->nuas < SCSI_PR_MAX_UAS) {
        pr->uas[pr->nuas].nexus = *n;
        pr->uas[pr->nuas].asc = asc;
        pr->nuas++;
    }
}

/* asc for every registrant but the one at index except (-1: none). */
void
scsi_pr_ua_registrants(struct scsi_pr *pr, int except, uint16_t asc)
{
    for (unsigned i = 0; i < pr->nregs; i++) {
        if ((int)i != except) {
            scsi_pr_ua_add(pr, &pr->regs[i].nexus, asc);
        }
    }
}

/* The oldest unit attention for n, removed from the table; 0: none. */
uint16_t
scsi_pr_ua_take(struct scsi_pr *pr, const struct scsi_nexus *n)
{
    for (unsigned i = 0; i < pr->nuas; i++) {
        if (pr_nexus_eq(&pr->uas[i].nexus, n)) {
            uint16_t asc = pr->uas[i].asc;

            memmove(&pr->uas[i], &pr->uas[i + 1],
                    (pr->nuas - i - 1) * sizeof pr->uas[0]);
            pr->nuas--;
            return asc;
        }
    }
    return 0;
}

void
scsi_pr_unit_attention(struct scsi_pr *pr, const struct scsi_nexus *n,
                       uint16_t asc)
{
    pthread_mutex_lock(&pr->lock);
    scsi_pr_ua_add(pr, n, asc);
    pr_update_busy(pr);
    pthread_mutex_unlock(&pr->lock);
}

/* --- Nexus loss and resets ---------------------------------------------- */

void
scsi_pr_nexus_lost(struct scsi_pr *pr, const struct scsi_nexus *n)
{
    pthread_mutex_lock(&pr->lock);
    if (pr->legacy && pr_nexus_eq(&pr->legacy_by, n)) {
        pr->legacy = false;
    }
    pr_update_busy(pr);
    pthread_mutex_unlock(&pr->lock);
}

void
scsi_pr_reset(struct scsi_pr *pr)
{
    pthread_mutex_lock(&pr->lock);
    pr->legacy = false;
    pr_update_busy(pr);
    pthread_mutex_unlock(&pr->lock);
}
