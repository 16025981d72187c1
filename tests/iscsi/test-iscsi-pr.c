/* SPDX-License-Identifier: MIT */
/*
 * Reservations as a two-node cluster sees them, through two libiscsi
 * sessions from two initiator names on one LU (two I/O threads, so the
 * sessions may sit on different ones):
 *
 *  - both register; node A takes an Exclusive Access reservation: node B
 *    can neither read nor write (RESERVATION CONFLICT), A can do both,
 *    and B still gets INQUIRY and READ CAPACITY answered;
 *  - B preempts A into a Write Exclusive reservation (fencing): A's
 *    next command reports REGISTRATIONS PREEMPTED, then A can read but
 *    not write; READ KEYS shows only B's key, READ RESERVATION B's, and
 *    READ FULL STATUS names B's iSCSI initiator port;
 *  - a node C whose WRITE waits for its data (InitialR2T, no immediate
 *    data) when B preempts it: after PREEMPT the WRITE, already
 *    accepted, lands once its data comes; after PREEMPT AND ABORT it is
 *    aborted, in another session on another I/O thread: no status for
 *    it, its data is dropped, and C's next commands report REGISTRATIONS
 *    PREEMPTED, then COMMANDS CLEARED BY ANOTHER INITIATOR;
 *  - CLEAR, then RESERVE(6) from A: B conflicts even on TEST UNIT READY;
 *    A logs out and B can reserve (a legacy reservation ends with its
 *    I_T nexus);
 *  - with pr-state-dir: A registers with APTPL and reserves, polltgtd
 *    restarts, and B finds A's key and reservation and cannot write; an
 *    APTPL-less registration afterwards removes the state file.
 *
 * ISCSI_TEST_URL=iscsi://HOST:PORT/TARGET/LUN runs it against another
 * target (a scratch LUN: it writes block 100).
 */
#include <config.h>

#include "iscsi-test-helpers.h"

static const char conf[] =
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "pr-state-dir = @DIR@\n"
    "[server]\n"
    "iothreads = 2\n"
    "[status]\n"
    "socket = none\n"
    "[export disk0]\n"
    "backend = memory\n"
    "size = 16M\n";

#define NODE_A ISCSI_TEST_INITIATOR ":node-a"
#define NODE_B ISCSI_TEST_INITIATOR ":node-b"
#define NODE_C ISCSI_TEST_INITIATOR ":node-c"
#define KEY_C UINT64_C(0xcccc000000000003)
#define KEY_A UINT64_C(0xaaaa000000000001)
#define KEY_B UINT64_C(0xbbbb000000000002)
#define ASCQ_REGISTRATIONS_PREEMPTED 0x2a05
#define ASCQ_COMMANDS_CLEARED_BY_ANOTHER 0x2f00
#define LBA 100

static unsigned char block[512];

static void
prout_aptpl(struct iscsi_context *ctx, int lun, int sa, int type,
            uint64_t key, uint64_t sakey, bool aptpl, const char *what)
{
    struct scsi_persistent_reserve_out_basic p = {
        .reservation_key = key,
        .service_action_reservation_key = sakey,
        .aptpl = aptpl,
    };
    struct scsi_task *task = iscsi_persistent_reserve_out_sync(
        ctx, lun, sa, SCSI_PERSISTENT_RESERVE_SCOPE_LU, type, &p);

    CHECK_TASK_GOOD(ctx, task, "%s", what);
    scsi_free_scsi_task(task);
}

static void
prout(struct iscsi_context *ctx, int lun, int sa, int type, uint64_t key,
      uint64_t sakey, const char *what)
{
    prout_aptpl(ctx, lun, sa, type, key, sakey, false, what);
}

/* The status of a one-block READ(10) or WRITE(10) at LBA. */
static int
rw_status(struct iscsi_context *ctx, int lun, bool write)
{
    struct scsi_task *task;
    int status;

    if (write) {
        task = iscsi_write10_sync(ctx, lun, LBA, block, sizeof block, 512, 0,
                                  0, 0, 0, 0);
    } else {
        task = iscsi_read10_sync(ctx, lun, LBA, sizeof block, 512, 0, 0, 0, 0,
                                 0);
    }
    CHECK(task != NULL, "%s: %s", write ? "WRITE(10)" : "READ(10)",
          iscsi_get_error(ctx));
    status = task->status;
    scsi_free_scsi_task(task);
    return status;
}

#define CHECK_RW(ctx, lun, write, want, who)                                  \
    do {                                                                      \
        int st_ = rw_status(ctx, lun, write);                                 \
        CHECK(st_ == (want), "%s %s: status 0x%x, want 0x%x", who,           \
              (write) ? "WRITE" : "READ", (unsigned)st_, (unsigned)(want));   \
    } while (0)

static void
check_always_allowed(struct iscsi_context *ctx, int lun, const char *who)
{
    struct scsi_task *task = iscsi_inquiry_sync(ctx, lun, 0, 0, 64);

    CHECK_TASK_GOOD(ctx, task, "%s: INQUIRY under a reservation", who);
    scsi_free_scsi_task(task);
    task = iscsi_readcapacity10_sync(ctx, lun, 0, 0);
    CHECK_TASK_GOOD(ctx, task, "%s: READ CAPACITY under a reservation", who);
    scsi_free_scsi_task(task);
}

static void
check_exclusive_access(struct iscsi_context *a, struct iscsi_context *b,
                       int lun)
{
    prout(a, lun, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY, 0,
          0, KEY_A, "A: REGISTER AND IGNORE EXISTING KEY");
    prout(b, lun, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, KEY_B,
          "B: REGISTER");
    prout(a, lun, SCSI_PERSISTENT_RESERVE_RESERVE,
          SCSI_PERSISTENT_RESERVE_TYPE_EXCLUSIVE_ACCESS, KEY_A, 0,
          "A: RESERVE Exclusive Access");
    CHECK_RW(a, lun, true, SCSI_STATUS_GOOD, "A (holder)");
    CHECK_RW(a, lun, false, SCSI_STATUS_GOOD, "A (holder)");
    CHECK_RW(b, lun, false, SCSI_STATUS_RESERVATION_CONFLICT, "B");
    CHECK_RW(b, lun, true, SCSI_STATUS_RESERVATION_CONFLICT, "B");
    check_always_allowed(b, lun, "B");
}

static void
check_preempt(struct iscsi_context *a, struct iscsi_context *b, int lun,
              bool ours)
{
    struct scsi_task *task;
    struct scsi_persistent_reserve_in_read_keys *rk;
    struct scsi_persistent_reserve_in_read_reservation *rr;

    prout(b, lun, SCSI_PERSISTENT_RESERVE_PREEMPT,
          SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE, KEY_B, KEY_A,
          "B: PREEMPT A into Write Exclusive");
    task = iscsi_testunitready_sync(a, lun);
    CHECK_TASK_SENSE(a, task, SCSI_SENSE_UNIT_ATTENTION,
                     ASCQ_REGISTRATIONS_PREEMPTED, 0xffff,
                     "A after being preempted");
    CHECK_RW(a, lun, false, SCSI_STATUS_GOOD, "A (preempted, WE)");
    CHECK_RW(a, lun, true, SCSI_STATUS_RESERVATION_CONFLICT,
             "A (preempted, WE)");
    CHECK_RW(b, lun, true, SCSI_STATUS_GOOD, "B (new holder)");

    task = iscsi_persistent_reserve_in_sync(a, lun,
                                            SCSI_PERSISTENT_RESERVE_READ_KEYS,
                                            512);
    CHECK_TASK_GOOD(a, task, "A: READ KEYS");
    rk = scsi_datain_unmarshall(task);
    CHECK(rk != NULL && rk->num_keys == 1 && rk->keys[0] == KEY_B,
          "READ KEYS after the preemption: want only B's key");
    scsi_free_scsi_task(task);

    task = iscsi_persistent_reserve_in_sync(
        a, lun, SCSI_PERSISTENT_RESERVE_READ_RESERVATION, 512);
    CHECK_TASK_GOOD(a, task, "A: READ RESERVATION");
    rr = scsi_datain_unmarshall(task);
    CHECK(rr != NULL && rr->reserved && rr->reservation_key == KEY_B &&
          rr->pr_type == SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE,
          "READ RESERVATION: want B's key, Write Exclusive");
    scsi_free_scsi_task(task);

    if (ours) {
        /* The TransportID of B's registration: format 01b, iSCSI, and
         * B's initiator port name (its ISID is libiscsi's). */
        const char *want = NODE_B ",i,0x";

        task = iscsi_persistent_reserve_in_sync(
            a, lun, SCSI_PERSISTENT_RESERVE_READ_FULL_STATUS, 1024);
        CHECK_TASK_GOOD(a, task, "A: READ FULL STATUS");
        CHECK(task->datain.size >= 8 + 24 + 4 + (int)strlen(want),
              "READ FULL STATUS: %d bytes", task->datain.size);
        CHECK(task->datain.data[8 + 24] == 0x45 &&
              strncmp((const char *)&task->datain.data[8 + 28], want,
                      strlen(want)) == 0,
              "READ FULL STATUS: TransportID is not B's port");
        scsi_free_scsi_task(task);
    }
    prout(b, lun, SCSI_PERSISTENT_RESERVE_CLEAR, 0, KEY_B, 0, "B: CLEAR");
    test_iscsi_clear_ua(a, lun, "A after CLEAR");
    test_iscsi_clear_ua(b, lun, "B after CLEAR");
    CHECK_RW(a, lun, true, SCSI_STATUS_GOOD, "A (no reservation left)");
}

struct late_write {
    bool done;
    int status;
};

static void
late_write_cb(struct iscsi_context *ctx, int status, void *command_data,
              void *private_data)
{
    struct late_write *w = private_data;

    (void)ctx;
    w->done = true;
    w->status = status;
    if (command_data) {
        scsi_free_scsi_task(command_data);
    }
}

/* Serve ctx for ms milliseconds (or until *done). */
static void
serve(struct iscsi_context *ctx, int ms, const bool *done)
{
    int64_t deadline = test_now_ms() + ms;

    while (test_now_ms() < deadline && !(done && *done)) {
        struct pollfd pfd = { .fd = iscsi_get_fd(ctx),
                              .events = (short)iscsi_which_events(ctx) };
        int r = poll(&pfd, 1, 10);

        CHECK(r >= 0 || errno == EINTR, "poll: %s", strerror(errno));
        CHECK(iscsi_service(ctx, r > 0 ? pfd.revents : 0) == 0,
              "iscsi_service: %s", iscsi_get_error(ctx));
    }
}

/*
 * C (registered, Write Exclusive - Registrants Only held by B) sends a
 * WRITE of 'C' to lba and only the command goes out: the target asks for
 * the data (R2T) and waits.  Then B preempts C's key (abort: PREEMPT AND
 * ABORT), and C goes on.  Returns whether C's WRITE got a status; *st is
 * it.
 */
static bool
preempt_late_write(struct iscsi_context *b, struct iscsi_context *c, int lun,
                   uint32_t lba, bool abort, int *st)
{
    static unsigned char data[512];
    struct late_write w = { 0 };
    struct scsi_task *task, *wtask;
    bool answered;

    memset(data, 'C', sizeof data);
    prout(c, lun, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY,
          0, 0, KEY_C, "C: REGISTER");
    wtask = iscsi_write10_task(c, lun, lba, data, sizeof data, 512, 0, 0, 0,
                               0, 0, late_write_cb, &w);
    CHECK(wtask != NULL, "C: WRITE task");
    while (iscsi_which_events(c) & POLLOUT) {
        CHECK(iscsi_service(c, POLLOUT) == 0, "iscsi_service: %s",
              iscsi_get_error(c));
    }
    /* Time for the target to take the command and send its R2T, which C
     * does not read yet. */
    usleep(200 * 1000);
    CHECK(!w.done, "C's WRITE answered before its data was sent");
    prout(b, lun,
          abort ? SCSI_PERSISTENT_RESERVE_PREEMPT_AND_ABORT
                : SCSI_PERSISTENT_RESERVE_PREEMPT,
          SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE_REGISTRANTS_ONLY,
          KEY_B, KEY_C, abort ? "B: PREEMPT AND ABORT C" : "B: PREEMPT C");
    /* C reads the R2T and sends the data; then its next command. */
    serve(c, 300, &w.done);
    task = iscsi_testunitready_sync(c, lun);
    CHECK_TASK_SENSE(c, task, SCSI_SENSE_UNIT_ATTENTION,
                     ASCQ_REGISTRATIONS_PREEMPTED, 0xffff,
                     "C after being preempted");
    serve(c, 200, &w.done);
    *st = w.status;
    answered = w.done;
    if (!answered) {
        /* Never to be answered: libiscsi forgets it (and frees it in the
         * callback, with SCSI_STATUS_CANCELLED). */
        iscsi_scsi_cancel_task(c, wtask);
    }
    return answered;
}

static void
check_preempt_and_abort(struct iscsi_context *b, const struct iscsi_test_target *t)
{
    struct iscsi_test_opts oc = {
        .initiator = NODE_C,
        .no_immediate_data = true,
        .initial_r2t = true,
    };
    struct iscsi_context *c = test_iscsi_login(t, &oc, "node C");
    struct scsi_task *task;
    int st = -1;

    test_iscsi_clear_ua(c, t->lun, "C");
    /* B holds Write Exclusive - Registrants Only, so that C may write. */
    prout(b, t->lun, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY,
          0, 0, KEY_B, "B: REGISTER");
    prout(b, t->lun, SCSI_PERSISTENT_RESERVE_RESERVE,
          SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE_REGISTRANTS_ONLY, KEY_B,
          0, "B: RESERVE WE-RO");

    /* PREEMPT: the accepted WRITE runs to completion, data and all. */
    CHECK(preempt_late_write(b, c, t->lun, LBA + 1, false, &st) &&
          st == SCSI_STATUS_GOOD,
          "after PREEMPT, C's WRITE that was waiting for data: want GOOD");
    task = iscsi_read10_sync(b, t->lun, LBA + 1, 512, 512, 0, 0, 0, 0, 0);
    CHECK_TASK_GOOD(b, task, "B: READ");
    CHECK(task->datain.data[0] == 'C' && task->datain.data[511] == 'C',
          "after PREEMPT: C's WRITE did not land");
    scsi_free_scsi_task(task);

    /* PREEMPT AND ABORT: it is aborted; no status, nothing written. */
    CHECK(!preempt_late_write(b, c, t->lun, LBA + 2, true, &st),
          "after PREEMPT AND ABORT, C's aborted WRITE got status 0x%x",
          (unsigned)st);
    task = iscsi_read10_sync(b, t->lun, LBA + 2, 512, 512, 0, 0, 0, 0, 0);
    CHECK_TASK_GOOD(b, task, "B: READ");
    CHECK(task->datain.data[0] != 'C' && task->datain.data[511] != 'C',
          "after PREEMPT AND ABORT: C's aborted WRITE landed");
    scsi_free_scsi_task(task);
    /* C is told its commands were aborted (SAM-5, TAS 0), and its session
     * goes on. */
    task = iscsi_testunitready_sync(c, t->lun);
    CHECK_TASK_SENSE(c, task, SCSI_SENSE_UNIT_ATTENTION,
                     ASCQ_COMMANDS_CLEARED_BY_ANOTHER, 0xffff,
                     "C after its WRITE was aborted");
    task = iscsi_testunitready_sync(c, t->lun);
    CHECK_TASK_GOOD(c, task, "C: TEST UNIT READY after the abort");
    scsi_free_scsi_task(task);
    test_iscsi_logout(c, "C");
    /* Nothing registered, as check_legacy expects. */
    prout(b, t->lun, SCSI_PERSISTENT_RESERVE_CLEAR, 0, KEY_B, 0, "B: CLEAR");
}

static void
check_legacy(struct iscsi_context *a, struct iscsi_context *b,
             const struct iscsi_test_target *t)
{
    struct scsi_task *task = iscsi_reserve6_sync(a, t->lun);

    CHECK_TASK_GOOD(a, task, "A: RESERVE(6)");
    scsi_free_scsi_task(task);
    task = iscsi_testunitready_sync(b, t->lun);
    CHECK(task && task->status == SCSI_STATUS_RESERVATION_CONFLICT,
          "B: TEST UNIT READY under A's RESERVE(6): %s",
          test_task_str(b, task));
    scsi_free_scsi_task(task);
    task = iscsi_reserve6_sync(b, t->lun);
    CHECK(task && task->status == SCSI_STATUS_RESERVATION_CONFLICT,
          "B: RESERVE(6) under A's: %s", test_task_str(b, task));
    scsi_free_scsi_task(task);
    test_iscsi_logout(a, "A");
    /* The logout is answered before the session's nexus is gone: retry
     * for a moment. */
    for (int i = 0;; i++) {
        task = iscsi_reserve6_sync(b, t->lun);
        CHECK(task != NULL, "B: RESERVE(6): %s", iscsi_get_error(b));
        if (task->status == SCSI_STATUS_GOOD || i == 50) {
            break;
        }
        scsi_free_scsi_task(task);
        test_sleep_ms(20);
    }
    CHECK_TASK_GOOD(b, task, "B: RESERVE(6) once A logged out");
    scsi_free_scsi_task(task);
    task = iscsi_release6_sync(b, t->lun);
    CHECK_TASK_GOOD(b, task, "B: RELEASE(6)");
    scsi_free_scsi_task(task);
}

static void
check_aptpl_restart(struct test_server *s, const struct iscsi_test_target *t)
{
    struct iscsi_test_opts oa = { .initiator = NODE_A };
    struct iscsi_test_opts ob = { .initiator = NODE_B };
    struct scsi_persistent_reserve_in_read_reservation *rr;
    struct iscsi_context *a = test_iscsi_login(t, &oa, "node A (APTPL)");
    struct iscsi_context *b;
    struct scsi_task *task;
    char path[400];
    int status;

    snprintf(path, sizeof path, "%s/disk0.pr", s->dir);
    test_iscsi_clear_ua(a, t->lun, "A");
    prout_aptpl(a, t->lun, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, KEY_A,
                true, "A: REGISTER with APTPL");
    prout(a, t->lun, SCSI_PERSISTENT_RESERVE_RESERVE,
          SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE, KEY_A, 0,
          "A: RESERVE Write Exclusive");
    CHECK(access(path, F_OK) == 0, "no %s after an APTPL registration", path);
    iscsi_destroy_context(a); /* no logout: the server goes away */
    status = test_server_stop_status(s, 20000);
    CHECK(status == 0, "polltgtd did not exit 0 (status 0x%x)",
          (unsigned)status);
    test_iscsi_server_start(s, conf);

    b = test_iscsi_login(t, &ob, "node B after the restart");
    test_iscsi_clear_ua(b, t->lun, "B after the restart");
    task = iscsi_persistent_reserve_in_sync(
        b, t->lun, SCSI_PERSISTENT_RESERVE_READ_RESERVATION, 512);
    CHECK_TASK_GOOD(b, task, "B: READ RESERVATION after the restart");
    rr = scsi_datain_unmarshall(task);
    CHECK(rr != NULL && rr->reserved && rr->reservation_key == KEY_A &&
          rr->pr_type == SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE,
          "the APTPL reservation did not survive the restart");
    scsi_free_scsi_task(task);
    CHECK_RW(b, t->lun, true, SCSI_STATUS_RESERVATION_CONFLICT,
             "B (A's reservation restored)");
    /* B takes over and drops APTPL: the file goes. */
    prout(b, t->lun, SCSI_PERSISTENT_RESERVE_REGISTER, 0, 0, KEY_B,
          "B: REGISTER without APTPL");
    prout(b, t->lun, SCSI_PERSISTENT_RESERVE_PREEMPT,
          SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE, KEY_B, KEY_A,
          "B: PREEMPT A");
    CHECK_RW(b, t->lun, true, SCSI_STATUS_GOOD, "B (new holder)");
    CHECK(access(path, F_OK) != 0, "%s is left after APTPL was dropped",
          path);
    test_iscsi_logout(b, "B");
}

int
main(void)
{
    struct test_server s = { 0 };
    struct iscsi_test_target t;
    struct iscsi_test_opts oa = { .initiator = NODE_A };
    struct iscsi_test_opts ob = { .initiator = NODE_B };
    struct iscsi_context *a, *b;
    bool url;

    test_init("test-iscsi-pr", 60);
    memset(block, 0x5a, sizeof block);
    url = test_iscsi_env_target(&t);
    if (!url) {
        test_iscsi_server_start(&s, conf);
        test_iscsi_export_target(&s, "disk0", &t);
    }
    a = test_iscsi_login(&t, &oa, "node A");
    b = test_iscsi_login(&t, &ob, "node B");
    test_iscsi_clear_ua(a, t.lun, "A");
    test_iscsi_clear_ua(b, t.lun, "B");
    check_exclusive_access(a, b, t.lun);
    check_preempt(a, b, t.lun, !url);
    check_preempt_and_abort(b, &t);
    check_legacy(a, b, &t);
    test_iscsi_logout(b, "B");
    if (!url) {
        check_aptpl_restart(&s, &t);
        test_server_check_alive(&s);
        test_server_stop(&s);
    }
    return test_finish();
}
