/* SPDX-License-Identifier: MIT */
/*
 * PERSISTENT RESERVE IN (SPC-4 6.15): READ KEYS, READ RESERVATION, REPORT
 * CAPABILITIES and READ FULL STATUS, built from the state of scsi-pr.h.
 *
 * The answer is built under the lock into a buffer on the stack sized for
 * the most registrations an LU holds (PR_IN_MAX), so it is one consistent
 * picture, and only then copied out as far as the allocation length lets.
 */
#include <config.h>

#include <string.h>

#include "scsi/scsi-pr-internal.h"

#define PR_TRANSPORT_ID_MIN 24 /* iSCSI TransportID, at least 20 + 4 */
/* READ FULL STATUS: 24 bytes per registration, then its TransportID. */
#define PR_FULL_DESC_MAX (24 + 4 + SCSI_PR_PORT_MAX)
#define PR_IN_MAX (8 + SCSI_PR_MAX_REGS * PR_FULL_DESC_MAX)

bool
scsi_pr_decode_in(struct scsi_cmd *t)
{
    if (!scsi_cmd_check_service_action(t)) {
        return false;
    }
    scsi_cmd_data_in(t, scsi_get_be16(&t->cdb[7]), PR_IN_MAX);
    return true;
}

/* An iSCSI TransportID, format 01b (SPC-4 7.6.4.6): the initiator port
 * name, NUL-terminated, padded to a multiple of 4, at least 20 bytes. */
static uint32_t
pr_transport_id(uint8_t *b, const struct scsi_nexus *n)
{
    size_t len = strlen(n->port) + 1;
    uint32_t padded = (uint32_t)((len + 3) & ~(size_t)3);

    if (padded < 20) {
        padded = 20;
    }
    memset(b, 0, 4 + padded);
    b[0] = 0x40 | 0x05;     /* FORMAT CODE 01b, PROTOCOL IDENTIFIER iSCSI */
    scsi_put_be16(&b[2], (uint16_t)padded);
    memcpy(&b[4], n->port, len);
    return 4 + padded;
}

static uint32_t
pr_in_build(struct scsi_pr *pr, uint8_t sa, uint8_t *b)
{
    uint32_t n = 8;

    memset(b, 0, 8);
    scsi_put_be32(&b[0], pr->generation);
    switch (sa) {
    case SCSI_PRIN_READ_KEYS:
        for (unsigned i = 0; i < pr->nregs; i++, n += 8) {
            scsi_put_be64(&b[n], pr->regs[i].key);
        }
        break;
    case SCSI_PRIN_READ_RESERVATION:
        if (pr->reserved) {
            memset(&b[n], 0, 16);
            /* All registrants: the key is 0 (SPC-4 6.15.3.3). */
            if (!pr_type_all_registrants(pr->type) && pr->holder >= 0) {
                scsi_put_be64(&b[n], pr->regs[pr->holder].key);
            }
            b[n + 13] = pr->type; /* SCOPE 0h, LU_SCOPE */
            n += 16;
        }
        break;
    case SCSI_PRIN_REPORT_CAPABILITIES:
        memset(b, 0, 8);
        scsi_put_be16(&b[0], 8);
        /* CRH, ATP_C (one target port: every port is all of them),
         * PTPL_C when a state file is configured. */
        b[2] = (uint8_t)(0x10 | 0x04 | (pr->path ? 0x01 : 0));
        /* TMV, ALLOW COMMANDS 001b (TEST UNIT READY passes WE and EA),
         * PTPL_A. */
        b[3] = (uint8_t)(0x80 | 0x10 | (pr->aptpl ? 0x01 : 0));
        b[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; /* WR_EX_AR, EX_AC_RO,
                                                  * WR_EX_RO, EX_AC, WR_EX */
        b[5] = 0x01;                             /* EX_AC_AR */
        return 8;
    case SCSI_PRIN_READ_FULL_STATUS:
        for (unsigned i = 0; i < pr->nregs; i++) {
            uint8_t *d = &b[n];
            uint32_t tid;

            memset(d, 0, 24);
            scsi_put_be64(&d[0], pr->regs[i].key);
            if (pr_is_holder(pr, (int)i)) {
                d[12] = 0x01;                     /* R_HOLDER */
                d[13] = pr->type;
            }
            d[12] |= 0x02;                        /* ALL_TG_PT */
            scsi_put_be16(&d[18], pr->regs[i].nexus.rtpi);
            tid = pr_transport_id(&d[24], &pr->regs[i].nexus);
            scsi_put_be32(&d[20], tid);
            n += 24 + tid;
        }
        break;
    }
    scsi_put_be32(&b[4], n - 8); /* ADDITIONAL LENGTH */
    return n;
}

void
scsi_pr_exec_in(struct scsi_cmd *t)
{
    struct scsi_pr *pr = t->lu->pr;
    uint8_t b[PR_IN_MAX];
    uint32_t n;

    pthread_mutex_lock(&pr->lock);
    n = pr_in_build(pr, t->cdb[1] & 0x1f, b);
    pthread_mutex_unlock(&pr->lock);
    scsi_cmd_put_data(t, b, n);
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}
