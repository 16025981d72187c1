/* SPDX-License-Identifier: MIT */
/*
 * Persistent reservations (SPC-4 5.14, 6.15, 6.16) and the legacy
 * RESERVE/RELEASE (6)/(10) (SPC-2 5.5), on the state of scsi-pr.h.
 *
 * Every command passes scsi_pr_check before its own decoder: a pending
 * reservation unit attention for its nexus is reported first (SAM-5:
 * except to INQUIRY, REPORT LUNS and REQUEST SENSE), then a legacy
 * reservation of another nexus refuses everything but the few commands
 * SPC-2 lets through, then a persistent reservation refuses what SPC-4's
 * and SBC-3's tables of commands allowed in the presence of reservations
 * say it refuses.  Those tables reduce to three classes of command:
 * always allowed (INQUIRY, TEST UNIT READY, READ CAPACITY, PR IN/OUT,
 * ...), read-type (READ, VERIFY, PRE-FETCH, ...: refused only by the
 * Exclusive Access types) and everything else, write-type.  A holder may
 * do everything; a registrant may too under the Registrants Only and All
 * Registrants types; anyone else is refused write-type commands under
 * every type and read-type ones under the Exclusive Access types.
 *
 * APTPL (scsi_pr_set_file): a PR OUT is applied to a copy of the state,
 * the copy is written to the state file, and only then does it replace
 * the state; a file that cannot be written fails the command with
 * HARDWARE ERROR and changes nothing.  Unit attentions and legacy
 * reservations are not persisted (SPC-4: a power loss clears them).
 *
 * PREEMPT AND ABORT preempts like PREEMPT, then has the transport abort
 * the tasks of the preempted nexuses on the LU as ABORT TASK SET would
 * (SPC-4 5.14.11.2.5: no status for them; the transport owns the task
 * lists, on whatever session and I/O thread they are:
 * scsi_target.abort_nexuses), and completes once none of them is left in
 * the core, so a write of a fenced node that was already on its way
 * cannot land after GOOD.  The preempted nexuses learn of it from the
 * unit attentions their next commands get: REGISTRATIONS PREEMPTED, then,
 * where commands were aborted, COMMANDS CLEARED BY ANOTHER INITIATOR (the
 * transport queues it: TAS is 0, so the aborted commands get no status).  Which nexuses were
 * preempted is read off the registrations before and after, kept in the
 * command's scratch room (t->buf past the parameter list).
 *
 * RESERVE and RELEASE conflict with registrations as SPC-3 5.6.3
 * (compatible reservation handling, CRH) says: while any nexus is
 * registered, both are RESERVATION CONFLICT; while a legacy reservation
 * is held, PERSISTENT RESERVE IN/OUT from another nexus are too.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "scsi/scsi-internal.h"
#include "scsi/scsi-pr.h"

#define PR_OUT_PARAM_LEN 24   /* basic PR OUT parameter list */
#define PR_TRANSPORT_ID_MIN 24 /* iSCSI TransportID, at least 20 + 4 */
/* READ FULL STATUS: 24 bytes per registration, then its TransportID. */
#define PR_FULL_DESC_MAX (24 + 4 + SCSI_PR_PORT_MAX)
#define PR_IN_MAX (8 + SCSI_PR_MAX_REGS * PR_FULL_DESC_MAX)
#define PR_FILE_MAGIC "polltgt-pr 1"

/* The nexus of a command from a transport that names none. */
static const struct scsi_nexus pr_anonymous;

enum pr_class { PR_ANY, PR_READ, PR_WRITE };

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

static const struct scsi_nexus *
pr_nexus(const struct scsi_cmd *t)
{
    return t->nexus ? t->nexus : &pr_anonymous;
}

/* iSCSI names compare case-insensitively (RFC 3722), the ISID in hex
 * does too. */
bool
scsi_pr_nexus_eq(const struct scsi_nexus *a, const struct scsi_nexus *b)
{
    return a->rtpi == b->rtpi && strcasecmp(a->port, b->port) == 0;
}

static bool
pr_nexus_eq(const struct scsi_nexus *a, const struct scsi_nexus *b)
{
    return scsi_pr_nexus_eq(a, b);
}

static bool
pr_type_all_registrants(uint8_t type)
{
    return type == SCSI_PR_WRITE_EXCLUSIVE_AR
           || type == SCSI_PR_EXCLUSIVE_ACCESS_AR;
}

static bool
pr_type_registrants(uint8_t type)
{
    return type == SCSI_PR_WRITE_EXCLUSIVE_RO
           || type == SCSI_PR_EXCLUSIVE_ACCESS_RO
           || pr_type_all_registrants(type);
}

static bool
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

static void
pr_update_busy(struct scsi_pr *pr)
{
    atomic_store_explicit(&pr->busy, pr->reserved || pr->legacy || pr->nuas,
                          memory_order_release);
}

static int
pr_find(const struct scsi_pr *pr, const struct scsi_nexus *n)
{
    for (unsigned i = 0; i < pr->nregs; i++) {
        if (pr_nexus_eq(&pr->regs[i].nexus, n)) {
            return (int)i;
        }
    }
    return -1;
}

static bool
pr_is_holder(const struct scsi_pr *pr, int reg)
{
    if (!pr->reserved || reg < 0) {
        return false;
    }
    return pr_type_all_registrants(pr->type) || pr->holder == reg;
}

/* --- Unit attentions ---------------------------------------------------- */

/* Queue asc for nexus n, once.  A full table drops it: the table holds
 * more than any cluster produces between two commands of a node. */
static void
pr_ua_add(struct scsi_pr *pr, const struct scsi_nexus *n, uint16_t asc)
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
static void
pr_ua_registrants(struct scsi_pr *pr, int except, uint16_t asc)
{
    for (unsigned i = 0; i < pr->nregs; i++) {
        if ((int)i != except) {
            pr_ua_add(pr, &pr->regs[i].nexus, asc);
        }
    }
}

/* The oldest unit attention for n, removed from the table; 0: none. */
static uint16_t
pr_ua_take(struct scsi_pr *pr, const struct scsi_nexus *n)
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

/* --- The check on every command ----------------------------------------- */

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

static bool
pr_conflict(struct scsi_cmd *t)
{
    t->status = SCSI_STATUS_RESERVATION_CONFLICT;
    t->sense_len = 0;
    t->data_len = 0;
    return false;
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
        asc = pr_ua_take(pr, n);
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

void
scsi_pr_unit_attention(struct scsi_pr *pr, const struct scsi_nexus *n,
                       uint16_t asc)
{
    pthread_mutex_lock(&pr->lock);
    pr_ua_add(pr, n, asc);
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

/* --- RESERVE / RELEASE (6)/(10) ----------------------------------------- */

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

/* --- PERSISTENT RESERVE IN ---------------------------------------------- */

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
        pr_ua_registrants(pr, issuer, SCSI_ASC_RESERVATIONS_RELEASED);
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
    pr_ua_registrants(pr, reg, SCSI_ASC_RESERVATIONS_PREEMPTED);
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
        pr_ua_add(pr, &pr->regs[i].nexus, SCSI_ASC_REGISTRATIONS_PREEMPTED);
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
            pr_ua_registrants(pr, reg, SCSI_ASC_RESERVATIONS_RELEASED);
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

/* --- APTPL: the state file ---------------------------------------------- */

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

/* fsync the folder of path, so a rename or unlink in it is durable. */
static int
pr_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int fd, r = 0;
    size_t len;

    if (slash == NULL || (size_t)(slash - path) >= sizeof dir) {
        return 0;
    }
    len = slash == path ? 1 : (size_t)(slash - path); /* "/x": "/" */
    memcpy(dir, path, len);
    dir[len] = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) {
        r = -errno;
    }
    if (fd >= 0) {
        close(fd);
    }
    return r;
}

/* Write pr's registrations and reservation to pr->path (via a temporary
 * file, synced, renamed), or remove the file when APTPL is off. */
static int
pr_save(const struct scsi_pr *pr, const char *path)
{
    char tmp[4096 + 8];
    FILE *f;
    int r = 0;

    if (!pr->aptpl) {
        if (unlink(path) < 0 && errno != ENOENT) {
            return -errno;
        }
        return pr_sync_dir(path);
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "we");
    if (f == NULL) {
        return -errno;
    }
    fprintf(f, "%s\ngeneration %u\n", PR_FILE_MAGIC, pr->generation);
    for (unsigned i = 0; i < pr->nregs; i++) {
        fprintf(f, "reg %016llx %u %s\n",
                (unsigned long long)pr->regs[i].key, pr->regs[i].nexus.rtpi,
                pr->regs[i].nexus.port);
    }
    if (pr->reserved) {
        fprintf(f, "reservation %u %d\n", pr->type, pr->holder);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
        r = -errno;
    }
    if (fclose(f) != 0 && r == 0) {
        r = -errno;
    }
    if (r == 0 && rename(tmp, path) < 0) {
        r = -errno;
    }
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    return pr_sync_dir(path);
}

static int
pr_load(struct scsi_pr *pr, FILE *f)
{
    char line[64 + SCSI_PR_PORT_MAX];
    bool magic = false;

    while (fgets(line, sizeof line, f)) {
        char port[SCSI_PR_PORT_MAX];
        unsigned long long key;
        unsigned a;
        int b;

        line[strcspn(line, "\n")] = '\0';
        if (!magic) {
            if (strcmp(line, PR_FILE_MAGIC) != 0) {
                return -EINVAL;
            }
            magic = true;
        } else if (sscanf(line, "generation %u", &a) == 1) {
            pr->generation = a;
        } else if (sscanf(line, "reg %llx %u %255s", &key, &a, port) == 3) {
            if (pr->nregs == SCSI_PR_MAX_REGS || a > UINT16_MAX) {
                return -EINVAL;
            }
            snprintf(pr->regs[pr->nregs].nexus.port, SCSI_PR_PORT_MAX, "%s",
                     port);
            pr->regs[pr->nregs].nexus.rtpi = (uint16_t)a;
            pr->regs[pr->nregs].key = key;
            pr->nregs++;
        } else if (sscanf(line, "reservation %u %d", &a, &b) == 2) {
            if (!pr_type_valid((uint8_t)a) || b < -1 || b >= (int)pr->nregs
                || (b < 0) != pr_type_all_registrants((uint8_t)a)) {
                return -EINVAL;
            }
            pr->reserved = true;
            pr->type = (uint8_t)a;
            pr->holder = b;
        } else if (line[0] != '\0') {
            return -EINVAL;
        }
    }
    if (ferror(f)) {
        return -EIO;
    }
    return magic ? 0 : -EINVAL;
}

int
scsi_pr_set_file(struct scsi_pr *pr, const char *path)
{
    FILE *f;
    int r = 0;

    pthread_mutex_lock(&pr->lock);
    free(pr->path);
    pr->path = strdup(path);
    if (pr->path == NULL) {
        r = -ENOMEM;
        goto out;
    }
    f = fopen(path, "re");
    if (f == NULL) {
        r = errno == ENOENT ? 0 : -errno;
    } else {
        r = pr_load(pr, f);
        fclose(f);
        pr->aptpl = r == 0;
    }
    if (r < 0) {
        log_error("%s: cannot load persistent reservations: %s", path,
                  r == -EINVAL ? "not a polltgt reservation file"
                               : strerror(-r));
        pr->nregs = 0;
        pr->reserved = false;
        pr->holder = -1;
    } else if (pr->nregs > 0) {
        log_info("%s: %u registration(s)%s restored (APTPL)", path,
                 pr->nregs, pr->reserved ? " and a reservation" : "");
    }
out:
    pr_update_busy(pr);
    pthread_mutex_unlock(&pr->lock);
    return r;
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
        r = next->aptpl || pr->aptpl ? pr_save(next, pr->path) : 0;
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
