/* SPDX-License-Identifier: MIT */
/*
 * Private to the scsi-pr*.c files: the questions about the reservation
 * state of scsi-pr.h that each of them asks (which nexus sent a command,
 * is it registered, does it hold the reservation, what a type lets
 * registrants do), the unit-attention queue of scsi-pr.c and the state
 * file writer of scsi-pr-aptpl.c.
 *
 * The predicates are static inline because they were static functions of
 * the one file these pieces came from: scsi_pr_check asks them on every
 * command while a reservation exists, and the split must not add a call
 * there.  All but pr_nexus and pr_conflict (which look only at the
 * command) are called with pr->lock held.
 */
#ifndef POLLTGT_SCSI_SCSI_PR_INTERNAL_H
#define POLLTGT_SCSI_SCSI_PR_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "scsi/scsi-internal.h"
#include "scsi/scsi-pr.h"
#include "util/compiler.h"

static inline const struct scsi_nexus *
pr_nexus(const struct scsi_cmd *t)
{
    /* The nexus of a command from a transport that names none. */
    static const struct scsi_nexus pr_anonymous;

    return t->nexus ? t->nexus : &pr_anonymous;
}

static inline bool
pr_nexus_eq(const struct scsi_nexus *a, const struct scsi_nexus *b)
{
    return scsi_pr_nexus_eq(a, b);
}

static inline bool
pr_type_all_registrants(uint8_t type)
{
    return type == SCSI_PR_WRITE_EXCLUSIVE_AR
           || type == SCSI_PR_EXCLUSIVE_ACCESS_AR;
}

static inline bool
pr_type_registrants(uint8_t type)
{
    return type == SCSI_PR_WRITE_EXCLUSIVE_RO
           || type == SCSI_PR_EXCLUSIVE_ACCESS_RO
           || pr_type_all_registrants(type);
}

static inline bool
pr_type_valid(uint8_t type)
{
    switch (type) {
    case SCSI_PR_WRITE_EXCLUSIVE:
    case SCSI_PR_EXCLUSIVE_ACCESS:
    case SCSI_PR_WRITE_EXCLUSIVE_RO:
    case SCSI_PR_EXCLUSIVE_ACCESS_RO:
    case SCSI_PR_WRITE_EXCLUSIVE_AR:
    case SCSI_PR_EXCLUSIVE_ACCESS_AR:
        return true;
    default:
        return false;
    }
}

static inline void
pr_update_busy(struct scsi_pr *pr)
{
    atomic_store_explicit(&pr->busy, pr->reserved || pr->legacy || pr->nuas,
                          memory_order_release);
}

static inline int
pr_find(const struct scsi_pr *pr, const struct scsi_nexus *n)
{
    for (unsigned i = 0; i < pr->nregs; i++) {
        if (pr_nexus_eq(&pr->regs[i].nexus, n)) {
            return (int)i;
        }
    }
    return -1;
}

static inline bool
pr_is_holder(const struct scsi_pr *pr, int reg)
{
    if (!pr->reserved || reg < 0) {
        return false;
    }
    return pr_type_all_registrants(pr->type) || pr->holder == reg;
}

/* RESERVATION CONFLICT, no data; returns false for "refused". */
static inline bool
pr_conflict(struct scsi_cmd *t)
{
    t->status = SCSI_STATUS_RESERVATION_CONFLICT;
    t->sense_len = 0;
    t->data_len = 0;
    return false;
}

/* scsi-pr.c: reservation unit attentions, per nexus, oldest first. */
void scsi_pr_ua_add(struct scsi_pr *pr, const struct scsi_nexus *n,
                    uint16_t asc) ATTR_NONNULL(1, 2);
void scsi_pr_ua_registrants(struct scsi_pr *pr, int except, uint16_t asc)
    ATTR_NONNULL(1);
uint16_t scsi_pr_ua_take(struct scsi_pr *pr, const struct scsi_nexus *n)
    ATTR_NONNULL(1, 2);

/* scsi-pr-aptpl.c: write pr to the state file path, atomically.  Returns
 * 0 or a negative errno (not logged). */
int scsi_pr_save(const struct scsi_pr *pr, const char *path) ATTR_NONNULL(1, 2);

#endif /* POLLTGT_SCSI_SCSI_PR_INTERNAL_H */
