/* SPDX-License-Identifier: MIT */
/*
 * PERSISTENT RESERVE OUT (SPC-4 5.14, 6.16): REGISTER, REGISTER AND IGNORE
 * EXISTING KEY, RESERVE, RELEASE, CLEAR, PREEMPT and PREEMPT AND ABORT, on
 * the state of scsi-pr.h.
 *
 * With APTPL (scsi_pr_set_file) a PR OUT is applied to a copy of the
 * state, the copy is written to the state file, and only then does it
 * replace the state; a file that cannot be written fails the command with
 * HARDWARE ERROR and changes nothing.  Unit attentions and legacy
 * reservations are not persisted (SPC-4: a power loss clears them).
 *
 * PREEMPT AND ABORT preempts like PREEMPT, then has the transport abort
 * the tasks of the preempted nexuses on the LU as ABORT TASK SET would
 * (SPC-4 5.14.11.2.5: no status for them; the transport owns the task
 * lists, on whatever session and I/O thread they are:
 * scsi_target.abort_nexuses), and completes once none of them is left in
 * the core, so a write of a fenced node that was already on its way cannot
 * land after GOOD.  The preempted nexuses learn of it from the unit
 * attentions their next commands get: REGISTRATIONS PREEMPTED, then, where
 * commands were aborted, COMMANDS CLEARED BY ANOTHER INITIATOR (the
 * transport queues it: TAS is 0, so the aborted commands get no
 * status).  Which nexuses were preempted is read off the registrations
 * before and after, kept in the command's scratch room (t->buf past the
 * parameter list).
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "scsi/scsi-pr-internal.h"

#define PR_OUT_PARAM_LEN 24   /* basic PR OUT parameter list */

/* --- PERSISTENT RESERVE OUT --------------------------------------------- */

bool
scsi_pr_decode_out(struct scsi_cmd *t)
{
    uint8_t sa = t->cdb[1] & 0x1f;
    uint8_t scope = t->cdb[2] >> 4;
    uint8_t type = t->cdb[2] & 0x0f;

    /* REGISTER AND MOVE (7h) is not offered: no second target port to
     * move a reservation to. */
    if (!scsi_cmd_check_service_action(t)) {
        return false;
    }
    if (sa == SCSI_PROUT_RESERVE || sa == SCSI_PROUT_RELEASE
        || sa == SCSI_PROUT_PREEMPT || sa == SCSI_PROUT_PREEMPT_AND_ABORT) {
        if (scope != 0) {
            return scsi_cmd_invalid_field_at(t, 2, 7);
        }
        if (!pr_type_valid(type)) {
            return scsi_cmd_invalid_field_at(t, 2, 3);
        }
    }
    if (scsi_get_be32(&t->cdb[5]) != PR_OUT_PARAM_LEN) {
        return scsi_cmd_illegal(t, SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
    }
    /* PREEMPT AND ABORT: room for the registrations' nexuses. */
    scsi_cmd_data_out(t, PR_OUT_PARAM_LEN,
                      sa == SCSI_PROUT_PREEMPT_AND_ABORT
                          ? SCSI_PR_MAX_REGS * (uint32_t)sizeof(struct scsi_nexus)
                          : 0);
    return true;
}

/* Release the reservation (lock held); the Registrants Only and All
 * Registrants types tell the other registrants (SPC-4 5.14.11.2.2). */
static void
pr_release(struct scsi_pr *pr, int issuer)
{
    if (pr_type_registrants(pr->type)) {
        scsi_pr_ua_registrants(pr, issuer, SCSI_ASC_RESERVATIONS_RELEASED);
    }
    pr->reserved = false;
    pr->holder = -1;
    pr->type = 0;
}

/* Remove registration i (lock held), and the reservation with it when
 * it was its holder: the last registrant of an all-registrants type, or
 * the holder of another. */
static void
pr_unregister(struct scsi_pr *pr, int i)
{
    if (pr->reserved) {
        if (pr_type_all_registrants(pr->type) ? pr->nregs == 1
                                              : pr->holder == i) {
            pr_release(pr, i);
        }
    }
    memmove(&pr->regs[i], &pr->regs[i + 1],
            (pr->nregs - (unsigned)i - 1) * sizeof pr->regs[0]);
    pr->nregs--;
    if (pr->holder > i) {
        pr->holder--;
    }
}

static bool
pr_out_register(struct scsi_pr *pr, struct scsi_cmd *t, int reg,
                const struct scsi_nexus *n, uint64_t key, uint64_t sakey,
                bool aptpl)
{
    bool ignore = (t->cdb[1] & 0x1f) == SCSI_PROUT_REGISTER_IGNORE;

    if (reg < 0) {
        if (!ignore && key != 0) {
            return pr_conflict(t);
        }
        if (sakey == 0) {
            return true; /* nothing to register, nothing changes */
        }
        if (pr->nregs == SCSI_PR_MAX_REGS) {
            return scsi_cmd_illegal(t, SCSI_ASC_INSUFFICIENT_REG_RESOURCES);
        }
        pr->regs[pr->nregs].nexus = *n;
        pr->regs[pr->nregs].key = sakey;
        pr->nregs++;
    } else if (!ignore && key != pr->regs[reg].key) {
        return pr_conflict(t);
    } else if (sakey == 0) {
        pr_unregister(pr, reg);
    } else {
        pr->regs[reg].key = sakey;
    }
    pr->aptpl = aptpl;
    pr->generation++;
    return true;
}

static bool
pr_out_reserve(struct scsi_pr *pr, struct scsi_cmd *t, int reg, uint8_t type)
{
    if (pr->reserved) {
        /* The holder asking again for what it has is GOOD; anything
         * else is someone else's reservation. */
        if (pr_is_holder(pr, reg) && pr->type == type) {
            return true;
        }
        return pr_conflict(t);
    }
    pr->reserved = true;
    pr->type = type;
    pr->holder = pr_type_all_registrants(type) ? -1 : reg;
    return true;
}

static bool
pr_out_release(struct scsi_pr *pr, struct scsi_cmd *t, int reg, uint8_t type)
{
    if (!pr_is_holder(pr, reg)) {
        return true; /* nothing of ours to release: GOOD (SPC-4 5.14.11.2) */
    }
    if (pr->type != type) {
        return scsi_cmd_illegal(t, SCSI_ASC_INVALID_RELEASE_OF_PR);
    }
    pr_release(pr, reg);
    return true;
}

static void
pr_out_clear(struct scsi_pr *pr, int reg)
{
    scsi_pr_ua_registrants(pr, reg, SCSI_ASC_RESERVATIONS_PREEMPTED);
    pr->reserved = false;
    pr->holder = -1;
    pr->type = 0;
    pr->nregs = 0;
    pr->generation++;
}

/* Remove every registration with key but the issuer's (*reg, kept up
 * to date), telling each removed nexus; returns how many went. */
static unsigned
pr_remove_key(struct scsi_pr *pr, int *reg, uint64_t key, bool any)
{
    unsigned removed = 0;

    for (int i = 0; i < (int)pr->nregs;) {
        if (i == *reg || (!any && pr->regs[i].key != key)) {
            i++;
            continue;
        }
        scsi_pr_ua_add(pr, &pr->regs[i].nexus,
                       SCSI_ASC_REGISTRATIONS_PREEMPTED);
        memmove(&pr->regs[i], &pr->regs[i + 1],
                (pr->nregs - (unsigned)i - 1) * sizeof pr->regs[0]);
        pr->nregs--;
        if (*reg > i) {
            (*reg)--;
        }
        if (pr->holder > i) {
            pr->holder--;
        } else if (pr->holder == i) {
            pr->holder = -1;
        }
        removed++;
    }
    return removed;
}

/* PREEMPT and PREEMPT AND ABORT (SPC-4 5.14.11.4). */
static bool
pr_out_preempt(struct scsi_pr *pr, struct scsi_cmd *t, int reg, uint8_t type,
               uint64_t sakey)
{
    bool ar = pr->reserved && pr_type_all_registrants(pr->type);
    bool holder_key = pr->reserved && !ar && pr->holder >= 0
                      && pr->regs[pr->holder].key == sakey;

    if (ar && sakey == 0) {
        /* All registrants, key 0: everyone else goes, and the issuer
         * takes a new reservation. */
        pr_remove_key(pr, &reg, 0, true);
    } else if (holder_key) {
        uint8_t old = pr->type;

        pr_remove_key(pr, &reg, sakey, false);
        if (old != type) {
            scsi_pr_ua_registrants(pr, reg, SCSI_ASC_RESERVATIONS_RELEASED);
        }
    } else {
        /* Not the holder's key: remove registrations only, and there
         * must be some (SPC-4 5.14.11.4.4). */
        if (sakey == 0) {
            return scsi_cmd_illegal(t, SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
        }
        if (pr_remove_key(pr, &reg, sakey, false) == 0) {
            return pr_conflict(t);
        }
        pr->generation++;
        return true;
    }
    pr->reserved = true;
    pr->type = type;
    pr->holder = pr_type_all_registrants(type) ? -1 : reg;
    pr->generation++;
    return true;
}

/* Apply one PR OUT to pr (lock held); false: refused, status set. */
static bool
pr_out_apply(struct scsi_pr *pr, struct scsi_cmd *t)
{
    const struct scsi_nexus *n = pr_nexus(t);
    const uint8_t *p = t->buf;
    uint8_t sa = t->cdb[1] & 0x1f;
    uint8_t type = t->cdb[2] & 0x0f;
    uint64_t key = scsi_get_be64(&p[0]);
    uint64_t sakey = scsi_get_be64(&p[8]);
    bool aptpl = p[20] & 0x01;
    int reg = pr_find(pr, n);

    /* SPEC_I_PT: registering other initiators is not offered.  APTPL
     * needs somewhere to persist to. */
    if ((p[20] & 0x08) || (aptpl && pr->path == NULL
                           && (sa == SCSI_PROUT_REGISTER
                               || sa == SCSI_PROUT_REGISTER_IGNORE))) {
        return scsi_cmd_illegal(t, SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
    }
    if (sa == SCSI_PROUT_REGISTER || sa == SCSI_PROUT_REGISTER_IGNORE) {
        return pr_out_register(pr, t, reg, n, key, sakey, aptpl);
    }
    /* Everything else needs this nexus registered with this key. */
    if (reg < 0 || pr->regs[reg].key != key) {
        return pr_conflict(t);
    }
    switch (sa) {
    case SCSI_PROUT_RESERVE:
        return pr_out_reserve(pr, t, reg, type);
    case SCSI_PROUT_RELEASE:
        return pr_out_release(pr, t, reg, type);
    case SCSI_PROUT_CLEAR:
        pr_out_clear(pr, reg);
        return true;
    default:
        return pr_out_preempt(pr, t, reg, type, sakey);
    }
}

/* --- APTPL: apply to a copy, persist, then commit --------------------- */

/* The mutable state, without the lock, the flag and the path. */
static void
pr_copy_state(struct scsi_pr *dst, const struct scsi_pr *src)
{
    dst->generation = src->generation;
    memcpy(dst->regs, src->regs, sizeof dst->regs);
    dst->nregs = src->nregs;
    dst->reserved = src->reserved;
    dst->type = src->type;
    dst->holder = src->holder;
    dst->aptpl = src->aptpl;
    dst->legacy = src->legacy;
    dst->legacy_by = src->legacy_by;
    memcpy(dst->uas, src->uas, sizeof dst->uas);
    dst->nuas = src->nuas;
}

/* Apply t to a copy of the state, persist the copy, and only then make
 * it the state: a PR OUT the file did not take has not happened. */
static bool
pr_out_persistent(struct scsi_pr *pr, struct scsi_cmd *t)
{
    struct scsi_pr *next = malloc(sizeof *next);
    bool ok = false;
    int r;

    if (next == NULL) {
        scsi_cmd_set_sense(t, SCSI_SENSE_ABORTED_COMMAND,
                           SCSI_ASC_OUT_OF_MEMORY);
        return false;
    }
    pr_copy_state(next, pr);
    next->path = pr->path;
    if (pr_out_apply(next, t)) {
        r = next->aptpl || pr->aptpl ? scsi_pr_save(next, pr->path) : 0;
        if (r < 0) {
            log_error("%s: cannot save persistent reservations: %s",
                      pr->path, strerror(-r));
            scsi_cmd_set_sense(t, SCSI_SENSE_HARDWARE_ERROR,
                               SCSI_ASC_INTERNAL_TARGET_FAILURE);
        } else {
            pr_copy_state(pr, next);
            t->status = SCSI_STATUS_GOOD;
            ok = true;
        }
    }
    free(next);
    return ok;
}

/* PREEMPT AND ABORT's scratch room: the nexuses registered before. */
static struct scsi_nexus *
pr_preempted(struct scsi_cmd *t)
{
    return (struct scsi_nexus *)(void *)(t->buf + PR_OUT_PARAM_LEN);
}

void
scsi_pr_exec_out(struct scsi_cmd *t)
{
    struct scsi_pr *pr = t->lu->pr;
    bool abort = (t->cdb[1] & 0x1f) == SCSI_PROUT_PREEMPT_AND_ABORT;
    struct scsi_nexus *gone = abort ? pr_preempted(t) : NULL;
    unsigned nbefore = 0, ngone = 0;
    bool ok;

    pthread_mutex_lock(&pr->lock);
    if (gone) {
        nbefore = pr->nregs;
        for (unsigned i = 0; i < nbefore; i++) {
            gone[i] = pr->regs[i].nexus;
        }
    }
    if (pr->path) {
        /* File I/O under the lock, on the I/O thread: reservations
         * change a few times per failover, never per I/O. */
        ok = pr_out_persistent(pr, t);
    } else {
        ok = pr_out_apply(pr, t);
        if (ok) {
            t->status = SCSI_STATUS_GOOD;
        }
    }
    /* The preempted: registered before, not after. */
    for (unsigned i = 0; ok && i < nbefore; i++) {
        if (pr_find(pr, &gone[i]) < 0) {
            gone[ngone++] = gone[i];
        }
    }
    pr_update_busy(pr);
    pthread_mutex_unlock(&pr->lock);
    if (ngone > 0 && t->target && t->target->abort_nexuses) {
        /* scsi_cmd_finish once their tasks are gone. */
        t->target->abort_nexuses(t->target, t->lu, gone, ngone, t,
                                 scsi_cmd_finish);
        return;
    }
    scsi_cmd_finish(t);
}
