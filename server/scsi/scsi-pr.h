/* SPDX-License-Identifier: MIT */
/*
 * Reservations of a logical unit (SPC-4 5.14): SCSI-3 persistent
 * reservations (PERSISTENT RESERVE IN/OUT) and the legacy RESERVE/RELEASE
 * (6)/(10) of SPC-2, the state they share, and the I_T nexus that keys it.
 *
 * The state is per LU and shared by every session and I/O thread, so it
 * sits behind one mutex: reservations change rarely (a cluster fences a
 * node), while every command asks "may this nexus do this?".  That
 * question is answered without the lock when nothing is reserved and no
 * reservation unit attention is pending (an atomic flag, the fast path).
 *
 * A transport names the I_T nexus of each command (struct scsi_nexus):
 * the initiator port name in SPC-4's TransportID form (iSCSI: the
 * InitiatorName, ",i,0x" and the ISID in hex) and the relative target
 * port identifier.  Registrations survive the nexus (a reconnecting
 * initiator finds its key); a legacy reservation does not (SPC-2 5.5.1:
 * released on I_T nexus loss and on a LUN or target reset).
 *
 * With APTPL the state is also kept in a file (scsi_pr_set_file), written
 * to a temporary name, fsynced, renamed over the old one and the folder
 * fsynced, so a crash leaves the old state or the new, never half of one.
 */
#ifndef POLLTGT_SCSI_SCSI_PR_H
#define POLLTGT_SCSI_SCSI_PR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* An initiator port name: an iSCSI name (at most 223 bytes), ",i,0x", 12
 * hex digits of ISID and the NUL, rounded up. */
#define SCSI_PR_PORT_MAX 256
/* Registrations per LU: a cluster has a few nodes with a few paths each.
 * One more fails INSUFFICIENT REGISTRATION RESOURCES. */
#define SCSI_PR_MAX_REGS 32
/* Reservation unit attentions waiting to be reported, per LU. */
#define SCSI_PR_MAX_UAS 32

/* The I_T nexus a command came on. */
struct scsi_nexus {
    char port[SCSI_PR_PORT_MAX]; /* initiator port name, NUL-terminated */
    uint16_t rtpi;               /* relative target port identifier */
};

struct scsi_pr_reg {
    struct scsi_nexus nexus;
    uint64_t key;
};

struct scsi_pr_ua {
    struct scsi_nexus nexus;
    uint16_t asc;                /* ASC << 8 | ASCQ, sense key UNIT ATTENTION */
};

struct scsi_pr {
    pthread_mutex_t lock;
    /* Something may refuse or hold a command: a reservation of either
     * kind, or a unit attention to report.  Written under lock. */
    atomic_bool busy;
    uint32_t generation;         /* PRgeneration */
    struct scsi_pr_reg regs[SCSI_PR_MAX_REGS]; /* in registration order */
    unsigned nregs;
    bool reserved;               /* a persistent reservation exists */
    uint8_t type;                /* its TYPE (scope is always LU_SCOPE) */
    int holder;                  /* regs[] index of the holder; -1 for the
                                  * all-registrants types, where every
                                  * registrant holds it */
    bool aptpl;                  /* the last REGISTER asked for APTPL */
    bool legacy;                 /* RESERVE(6)/(10) held by legacy_by */
    struct scsi_nexus legacy_by;
    struct scsi_pr_ua uas[SCSI_PR_MAX_UAS];
    unsigned nuas;
    char *path;                  /* APTPL state file, NULL: none */
};

/* Fill n for an iSCSI initiator port: "NAME,i,0xISID" (lower-case hex). */
void scsi_pr_nexus_iscsi(struct scsi_nexus *n, const char *initiator_name,
                         const uint8_t isid[6], uint16_t rtpi);

/* Whether a and b are the same I_T nexus (names compare as iSCSI's do). */
bool scsi_pr_nexus_eq(const struct scsi_nexus *a, const struct scsi_nexus *b);

void scsi_pr_init(struct scsi_pr *pr);
void scsi_pr_destroy(struct scsi_pr *pr);

/*
 * Keep pr's state in path from now on (APTPL), loading what it holds.
 * Returns 0, or a negative errno when the file exists but cannot be read
 * or is not a state file (logged): a reservation silently forgotten could
 * let a fenced node write, so the caller should not serve the LU then.
 * A missing file is no error: nothing was persisted yet.
 */
int scsi_pr_set_file(struct scsi_pr *pr, const char *path);

/* The nexus is gone (logout, connection loss, session reinstatement):
 * a legacy reservation it held is released. */
void scsi_pr_nexus_lost(struct scsi_pr *pr, const struct scsi_nexus *n);

/* Queue a unit attention (ASC << 8 | ASCQ) for nexus n, reported on its
 * next command after those already queued: a transport that aborted n's
 * commands for a PREEMPT AND ABORT of another nexus says COMMANDS CLEARED
 * BY ANOTHER INITIATOR (SAM-5 5.6, TAS 0). */
void scsi_pr_unit_attention(struct scsi_pr *pr, const struct scsi_nexus *n,
                            uint16_t asc);

/* A LUN or target reset: legacy reservations are released; persistent
 * ones survive (SPC-4 5.14.1). */
void scsi_pr_reset(struct scsi_pr *pr);

#endif /* POLLTGT_SCSI_SCSI_PR_H */
