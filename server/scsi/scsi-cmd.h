/* SPDX-License-Identifier: MIT */
/*
 * The SCSI target core: the SPC/SBC commands a block device needs, executed
 * against an export's backend.  Transport-independent: the iSCSI front end
 * (and any later SCSI transport) hands in a CDB, moves the data, and sends
 * back status and sense.
 *
 * A command goes through three steps, all on one I/O thread:
 *
 *   1. scsi_cmd_decode(): the CDB is checked and classified.  It sets the
 *      data direction and the number of bytes the command itself wants to
 *      move (xfer_len).  When the CDB is bad the command already carries CHECK
 *      CONDITION and sense, and decode returns false: the transport skips
 *      the data phase and answers at once.
 *   2. The transport provides t->buf with room for buf_len bytes (see
 *      there) and, for a data-out command, fills its first xfer_len bytes
 *      with the initiator's data.
 *   3. scsi_cmd_exec(): the command runs; t->done is called exactly once,
 *      possibly before exec returns (memory backend), with status, sense
 *      and, for a data-in command, t->data_len bytes of data in t->buf.
 *
 * Sense data is fixed format (SPC-4 4.5.3), 18 bytes.
 *
 * A command may take several backend requests (WRITE SAME over a long
 * range, VERIFY comparing chunk by chunk, UNMAP with several descriptors);
 * it still completes with exactly one call of t->done, and it uses only
 * t->buf, never memory of its own, so its footprint is the buf_len the
 * transport saw at decode.  SANITIZE is the one exception: with IMMED, or
 * once the command is aborted, its work outlives the command, so it runs
 * as a job with memory of its own (scsi-sanitize.c).
 *
 * libiscsi owns scsi_task_* (and struct scsi_task), hence scsi_cmd_.
 */
#ifndef POLLTGT_SCSI_SCSI_CMD_H
#define POLLTGT_SCSI_SCSI_CMD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aio/aio.h"
#include "backends/backend.h"
#include "export.h"
#include "scsi/scsi-pr.h"
#include "scsi/scsi-protocol.h"
#include "util/compiler.h"

#define SCSI_SENSE_LEN 18
#define SCSI_CDB_MAX 16

/*
 * The longest READ/WRITE the core accepts, in bytes (reported as MAXIMUM
 * TRANSFER LENGTH in VPD B0h, in blocks; longer ones fail INVALID FIELD IN
 * CDB).  It bounds the buffer a transport needs per command: 4 MiB is
 * above Linux's default max_sectors_kb (1280 KiB), so the initiator's own
 * limit is what splits I/O, and small enough that a full CmdSN window of
 * 128 writes holds 512 MiB at worst, not gigabytes.
 */
#define SCSI_MAX_XFER_BYTES (UINT32_C(4) << 20)

/*
 * The most bytes one command moves through t->buf per backend request
 * when it works in steps (WRITE SAME replicating its block, VERIFY
 * reading back what it compares): bounds the scratch room it asks for in
 * buf_len.  1 MiB is what a transport may keep allocated between
 * commands (iSCSI's ISCSI_KEEP_BUF), and a step of it costs well under a
 * millisecond on any backend, so a long command never holds an I/O thread
 * for long between completions.
 */
#define SCSI_STEP_BYTES (UINT32_C(1) << 20)

/* The most LUNs a target may have: single-level LUNs, peripheral (0-255)
 * or flat space (256-16383) addressing. */
#define SCSI_MAX_LUN 16383

enum scsi_dir {
    SCSI_DIR_NONE,
    SCSI_DIR_READ,  /* data-in: target to initiator */
    SCSI_DIR_WRITE, /* data-out: initiator to target */
};

/*
 * A logical unit: one export seen as a SCSI direct-access block device.
 * Built by the transport from the configuration, read-only afterwards and
 * shared by every I/O thread, but for what ranges and pr point at.
 */
/* COMPARE AND WRITE: the most blocks one command compares and writes
 * (VPD B0h). */
#define SCSI_CAW_MAX_BLOCKS 16
/* LBA ranges locked at once on one LU (scsi-range.c): writes in flight
 * while a read-modify-write runs, and the read-modify-writes. */
#define SCSI_RANGE_SLOTS 64

/* The LBA ranges locked on an LU, from every I/O thread (scsi-range.c):
 * with pr, the mutable part of a struct scsi_lu. */
struct scsi_ranges {
    pthread_mutex_t lock;
    atomic_uint excl;          /* exclusive entries in the table */
    atomic_uint fast;          /* writes in flight outside the table */
    uint64_t next_ticket;
    uint64_t lba[SCSI_RANGE_SLOTS];
    uint64_t n[SCSI_RANGE_SLOTS];      /* 0: the slot is free */
    uint64_t ticket[SCSI_RANGE_SLOTS]; /* entry order */
    bool excl_slot[SCSI_RANGE_SLOTS];
};

/* The sanitize state of an LU (scsi-sanitize.c): with ranges and pr, the
 * mutable part of a struct scsi_lu. */
enum scsi_sanitize_state {
    SCSI_SANITIZE_IDLE,
    SCSI_SANITIZE_RUNNING,
    SCSI_SANITIZE_FAILED,   /* until EXIT FAILURE MODE or a good one */
};

struct scsi_sanitize {
    atomic_uint state;         /* enum scsi_sanitize_state */
    atomic_uint progress;      /* of the running one, in 65536ths */
    atomic_bool ause;          /* the failed one allows EXIT FAILURE MODE */
    atomic_bool stop;          /* shutdown: jobs end at their next step */
};

struct scsi_lu {
    struct export *export;
    uint64_t lun;
    uint32_t block_size;       /* 512 or 4096 */
    unsigned block_shift;      /* log2(block_size) */
    uint64_t nblocks;          /* export size / block_size, rounded down */
    bool readonly;
    char serial[33];           /* VPD 80h, NUL-terminated */
    uint8_t naa[16];           /* VPD 83h NAA IEEE Registered Extended (6h) */
    uint32_t max_xfer_blocks;  /* VPD B0h: SCSI_MAX_XFER_BYTES in blocks;
                                * a transport may lower it after init */
    uint16_t opt_xfer_gran;    /* VPD B0h: blocks per backend min_block */
    uint32_t max_ws_blocks;    /* VPD B0h MAXIMUM WRITE SAME LENGTH; also
                                * VERIFY with BYTCHK 11b */
    uint32_t max_unmap_blocks; /* VPD B0h MAXIMUM UNMAP LBA COUNT */
    struct scsi_ranges *ranges; /* points at range_state below */
    struct scsi_ranges range_state;
    struct scsi_pr *pr;        /* reservations: points at pr_state below */
    struct scsi_pr pr_state;
    struct scsi_sanitize *sanitize; /* points at sanitize_state below */
    struct scsi_sanitize sanitize_state;
};

struct scsi_cmd;

/* A target: its name and its logical units, for REPORT LUNS and VPD 83h. */
struct scsi_target {
    const char *name;          /* iSCSI name, for the SCSI name designator */
    uint16_t tpgt;             /* target portal group tag */
    struct scsi_lu *luns;
    size_t nluns;
    /*
     * The transport's, for PREEMPT AND ABORT (SPC-4 5.14.11.2.5): abort
     * the tasks that the I_T nexuses n[0..count) have on lu, as ABORT TASK
     * SET does (no status for them), on whatever session and I/O thread
     * they are, and once none of them is left in the SCSI core call
     * resume(waiter) on waiter's I/O thread.  n stays valid until then.
     * NULL: the transport cannot, and those tasks run to completion.
     */
    void (*abort_nexuses)(const struct scsi_target *tgt,
                          const struct scsi_lu *lu,
                          const struct scsi_nexus *n, size_t count,
                          struct scsi_cmd *waiter,
                          void (*resume)(struct scsi_cmd *t));
    void *transport;           /* the transport's, for abort_nexuses */
};
struct scsi_step_ops;
struct sanitize_job;
typedef void scsi_done_fn(struct scsi_cmd *t);

struct scsi_cmd {
    struct backend_req breq;   /* first: backend completions hand it back */

    /* set by the transport before decode */
    const struct scsi_target *target;
    const struct scsi_lu *lu;  /* NULL: no such LUN (only INQUIRY, REPORT
                                * LUNS and REQUEST SENSE succeed) */
    uint64_t lun;              /* as addressed, for REPORT LUNS / sense */
    const struct scsi_nexus *nexus; /* the I_T nexus, for reservations;
                                * NULL: one anonymous nexus */
    uint8_t cdb[SCSI_CDB_MAX];
    uint8_t cdb_len;
    struct aio_ctx *ctx;       /* the I/O thread running it */
    scsi_done_fn *done;
    void *opaque;

    /* set by decode */
    enum scsi_dir dir;
    uint32_t xfer_len;         /* bytes the CDB asks to move */
    uint32_t buf_len;          /* bytes of buf the transport provides.
                                * Often less than xfer_len: a data-in
                                * command other than READ produces at most
                                * this much whatever its allocation length.
                                * Sometimes more: a command working in
                                * steps asks for scratch room after its
                                * data-out (at most SCSI_STEP_BYTES more,
                                * plus a few KiB); a data-out command
                                * always has buf_len >= xfer_len */
    int stats_op;              /* enum stats_op, or -1: not counted as I/O
                                * (set for READ/WRITE/SYNCHRONIZE CACHE,
                                * WRITE SAME (ZERO), UNMAP (TRIM), GET LBA
                                * STATUS, PRE-FETCH (CACHE) even when
                                * decode fails: a refused read counts as a
                                * read error, as in NBD) */

    /* data: owned by the transport, buf_len bytes */
    uint8_t *buf;
    uint32_t data_len;         /* data-in bytes produced (<= xfer_len and
                                * <= buf_len) */
    bool short_out;            /* see scsi_cmd_short_data_out */
    uint32_t out_len;

    /* result, valid in done (and after a false decode) */
    uint8_t status;
    uint8_t sense[SCSI_SENSE_LEN];
    uint8_t sense_len;         /* 0 or SCSI_SENSE_LEN */
    int err;                   /* the backend's -errno, 0 otherwise */

    /* private to server/scsi while executing */
    struct iovec iov;
    uint32_t stage;
    const struct scsi_step_ops *step_ops; /* a command working in steps */
    uint64_t step_pos;         /* its progress, in its own unit */
    uint64_t step_end;
    uint64_t step_len;         /* the size of the step in flight */
    int step_err;              /* that step's result, when it was inline */
    uint8_t step_state;
    /* its LBA range lock (scsi-range.c) */
    int range_slot;
    bool range_held;
    bool range_excl;
    uint64_t range_lba, range_n;
    void (*range_go)(struct scsi_cmd *t);
    struct aio_timer range_timer;
    /* a SANITIZE without IMMED: the job it waits for (scsi-sanitize.c) */
    struct sanitize_job *sanitize_job;
};

/*
 * Fill in lu for export e as LUN `lun` of a target: block size from the
 * export's configuration, serial number and NAA designator derived from
 * the target and export names (stable across restarts).
 */
void scsi_lu_init(struct scsi_lu *lu, struct export *e, uint64_t lun,
                  const char *target_name) ATTR_NONNULL(1, 2, 4);

/* Step 1: classify the CDB.  Returns true when the command should proceed to
 * the data phase and exec; false when it has already failed (status and
 * sense set, dir NONE, xfer_len 0): CHECK CONDITION, or RESERVATION
 * CONFLICT without sense. */
bool scsi_cmd_decode(struct scsi_cmd *t) ATTR_NONNULL(1);

/*
 * Between steps 1 and 2: the transport has only len (< xfer_len) bytes of
 * data-out, because the initiator expects to send less than the CDB asks
 * (iSCSI EDTL, FCP_DL).  A WRITE or WRITE AND VERIFY then writes just
 * those bytes from its LBA, as FCP-4 says ("data beyond FCP_DL shall not
 * be requested or transferred"), a partial last block by read-modify-
 * write; buf_len grows for the merge and xfer_len shrinks at exec.
 * Returns false for any other command, which cannot be cut short.  The
 * read-modify-write of a partial block holds that block exclusively
 * (scsi-range.c), so no other write lands between its read and write.
 */
bool scsi_cmd_short_data_out(struct scsi_cmd *t, uint32_t len) ATTR_NONNULL(1);

/*
 * Between steps 1 and 2: the transport expects to move len bytes, more
 * than the command's xfer_len (iSCSI EDTL; an overflow).  Most commands
 * move xfer_len and the transport reports the residual: returns true.
 * COMPARE AND WRITE, whose data-out must be exactly its verify and write
 * halves, returns false with INVALID FIELD IN CDB pointing at NUMBER OF
 * LOGICAL BLOCKS: a mismatch means the initiator's CDB and data disagree
 * (libiscsi's suite asks for this), and nothing is compared or written.
 */
bool scsi_cmd_data_overflow(struct scsi_cmd *t, uint32_t len) ATTR_NONNULL(1);

/* Step 3: run the command; t->done is called exactly once. */
void scsi_cmd_exec(struct scsi_cmd *t) ATTR_NONNULL(1);

/*
 * The transport aborts t, which is in the core (exec ran, done has not):
 * a task management function, a PREEMPT AND ABORT, the end of the
 * session.  Most commands cannot be cut short and call t->done when their
 * backend request comes back, as usual: returns false.  A SANITIZE
 * waiting for its job is let go instead: the job goes on (SBC-4 4.11.1:
 * task management and resets do not stop a sanitize, and every command
 * still sees it in progress), will never touch t again, and t->done is
 * called before this returns true, so the transport may reuse t at once.
 * Either way the transport sends no status for t.  On t's I/O thread.
 */
bool scsi_cmd_abort(struct scsi_cmd *t) ATTR_NONNULL(1);

/*
 * Shutdown (any thread): a SANITIZE running on lu ends at its next step
 * boundary, which leaves the LU partly overwritten (it logs so), and one
 * that starts later ends at its first.  The job ends on its own I/O
 * thread, which must keep running until scsi_sanitize_running(lu) is
 * false; after that nothing of the job is left.
 */
void scsi_sanitize_stop(struct scsi_lu *lu) ATTR_NONNULL(1);
bool scsi_sanitize_running(const struct scsi_lu *lu) ATTR_NONNULL(1);

/* Set CHECK CONDITION with fixed-format sense (key, ASC << 8 | ASCQ). */
void scsi_cmd_set_sense(struct scsi_cmd *t, uint8_t key, uint16_t asc)
    ATTR_NONNULL(1);

/* The same with the INFORMATION field set (and VALID): MISCOMPARE's
 * offset of the first byte that differs. */
void scsi_cmd_set_sense_info(struct scsi_cmd *t, uint8_t key, uint16_t asc,
                             uint32_t info) ATTR_NONNULL(1);

/* Write fixed-format sense into buf (SCSI_SENSE_LEN bytes). */
void scsi_sense_build(uint8_t *buf, uint8_t key, uint16_t asc);

/* The length of a CDB from its operation code (group code), 0 if the
 * group is reserved. */
unsigned scsi_cmd_length(uint8_t opcode);

/* Opcode name for logs ("READ(10)"), or NULL if unknown. */
const char *scsi_cmd_name(uint8_t opcode);

/*
 * LUN encoding (SAM-5 4.7): the 8-byte LUN field of a transport's header
 * to a LUN number and back.  Single-level only: peripheral device
 * addressing (bus 0) for LUNs up to 255, flat space addressing up to
 * SCSI_MAX_LUN.  from_wire returns UINT64_MAX for anything else (other
 * methods, a second level), which the transport maps to "no such LUN".
 */
void scsi_lu_lun_to_wire(uint64_t lun, uint8_t out[8]) ATTR_NONNULL(2);
uint64_t scsi_lu_lun_from_wire(const uint8_t in[8]) ATTR_NONNULL(1);

/* The LU of target t addressed as lun, or NULL. */
const struct scsi_lu *scsi_lu_find(const struct scsi_target *t, uint64_t lun)
    ATTR_NONNULL(1);

#endif /* POLLTGT_SCSI_SCSI_CMD_H */
