/* SPDX-License-Identifier: MIT */
/*
 * COMPARE AND WRITE is atomic against a plain WRITE to the same blocks,
 * with the two on different sessions and I/O threads (iothreads = 2, a
 * memory export, whose reads and writes are memcpy on each thread, so
 * nothing but the target's own serialisation orders them).
 *
 * Each round stores 'a' in 16 blocks of 4 KiB, then sends at once, one
 * on each session, COMPARE AND WRITE ('a' -> 'b') and WRITE ('c'), and
 * reads the blocks back.  Serialised, either the WRITE came first (the
 * compare fails, 'c' stays) or the COMPARE AND WRITE did ('b', then
 * 'c'): the blocks hold 'c' whenever both succeeded.  'b' after two
 * GOODs is a write lost inside the compare-and-write; a mix of bytes is
 * a torn block.  BUSY is a legal answer and that round is not counted.
 *
 * Then the same with UNMAP in place of the WRITE, on a file export, whose
 * asynchronous reads and writes leave a COMPARE AND WRITE's window open
 * long enough to be hit (unmapped blocks read as zeros on both): either the UNMAP came first (the compare
 * fails against zeros) or the COMPARE AND WRITE did ('b', then zeros):
 * the blocks read back as zeros either way.  'b' after two GOODs is an
 * UNMAP lost inside the compare-and-write.
 */
#include <config.h>

#include "iscsi-test-helpers.h"

static const char conf[] =
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "[server]\n"
    "iothreads = 2\n"
    "[status]\n"
    "socket = none\n"
    "[export race]\n"
    "backend = memory\n"
    "size = 16M\n"
    "block-size = 4096\n"
    "[export racefile]\n"
    "backend = file\n"
    "path = @DIR@/race.img\n"
    "create = yes\n"
    "size = 16M\n"
    "block-size = 4096\n";

#define NBLOCKS 16
#define BS 4096
#define LEN (NBLOCKS * BS)
#define ROUNDS 400

struct op {
    bool done;
    int status;
    int sense_key;
};

static void
op_cb(struct iscsi_context *ctx, int status, void *command_data,
      void *private_data)
{
    struct op *o = private_data;
    struct scsi_task *task = command_data;

    (void)ctx;
    o->status = status;
    o->sense_key = task ? (int)task->sense.key : -1;
    if (task) {
        scsi_free_scsi_task(task);
    }
    o->done = true;
}

/* Serve both contexts until both operations are done. */
static void
wait_both(struct iscsi_context *a, struct op *oa, struct iscsi_context *b,
          struct op *ob)
{
    int64_t deadline = test_now_ms() + 20000;

    while (!oa->done || !ob->done) {
        struct pollfd pfd[2] = {
            { .fd = iscsi_get_fd(a), .events = (short)iscsi_which_events(a) },
            { .fd = iscsi_get_fd(b), .events = (short)iscsi_which_events(b) },
        };
        int r;

        CHECK(test_now_ms() < deadline, "the racing commands did not finish");
        r = poll(pfd, 2, 100);
        CHECK(r >= 0 || errno == EINTR, "poll: %s", strerror(errno));
        CHECK(iscsi_service(a, r > 0 ? pfd[0].revents : 0) == 0,
              "iscsi_service: %s", iscsi_get_error(a));
        CHECK(iscsi_service(b, r > 0 ? pfd[1].revents : 0) == 0,
              "iscsi_service: %s", iscsi_get_error(b));
    }
}

/* What the racer on session B sends against A's COMPARE AND WRITE. */
enum racer { RACE_WRITE, RACE_UNMAP };

/* ROUNDS rounds of one race; returns the rounds where both were GOOD. */
static unsigned
race(struct iscsi_context *a, struct iscsi_context *b, int lun,
     enum racer racer)
{
    static unsigned char caw[2 * LEN], wr[LEN], fill[LEN];
    struct unmap_list um = { .lba = 0, .num = NBLOCKS };
    const char *what = racer == RACE_WRITE ? "WRITE" : "UNMAP";
    unsigned char after = racer == RACE_WRITE ? 'c' : 0;
    unsigned both_good = 0;

    memset(caw, 'a', LEN);
    memset(caw + LEN, 'b', LEN);
    memset(wr, 'c', LEN);
    memset(fill, 'a', LEN);
    for (int round = 0; round < ROUNDS; round++) {
        struct op oa = { 0 }, ob = { 0 };
        struct scsi_task *task;
        const unsigned char *got;

        task = iscsi_write16_sync(a, lun, 0, fill, LEN, BS, 0, 0, 0, 0, 0);
        CHECK_TASK_GOOD(a, task, "round %d: WRITE 'a'", round);
        scsi_free_scsi_task(task);
        /* B first: its command then has a head start that the CAW's read
         * and compare give back, which is where they meet. */
        if (racer == RACE_WRITE) {
            CHECK(iscsi_write16_task(b, lun, 0, wr, LEN, BS, 0, 0, 0, 0, 0,
                                     op_cb, &ob) != NULL, "WRITE task");
        } else {
            CHECK(iscsi_unmap_task(b, lun, 0, 0, &um, 1, op_cb, &ob) != NULL,
                  "UNMAP task");
        }
        CHECK(iscsi_compareandwrite_task(a, lun, 0, caw, 2 * LEN, BS, 0, 0,
                                         0, 0, 0, op_cb, &oa) != NULL,
              "COMPARE AND WRITE task");
        wait_both(a, &oa, b, &ob);
        if (oa.status == SCSI_STATUS_BUSY || ob.status == SCSI_STATUS_BUSY) {
            continue;
        }
        CHECK(ob.status == SCSI_STATUS_GOOD, "round %d: %s status 0x%x",
              round, what, (unsigned)ob.status);
        CHECK(oa.status == SCSI_STATUS_GOOD ||
              (oa.status == SCSI_STATUS_CHECK_CONDITION &&
               oa.sense_key == SCSI_SENSE_MISCOMPARE),
              "round %d: COMPARE AND WRITE status 0x%x sense key 0x%x", round,
              (unsigned)oa.status, (unsigned)oa.sense_key);
        task = iscsi_read16_sync(a, lun, 0, LEN, BS, 0, 0, 0, 0, 0);
        CHECK_TASK_GOOD(a, task, "round %d: READ", round);
        got = task->datain.data;
        for (int i = 0; i < LEN; i++) {
            CHECK(got[i] == got[0], "round %d: %s: torn: byte %d is 0x%02x, "
                  "byte 0 0x%02x", round, what, i, got[i], got[0]);
        }
        if (oa.status == SCSI_STATUS_GOOD) {
            both_good++;
            CHECK(got[0] == after, "round %d: both GOOD but the blocks hold "
                  "0x%02x: the %s was lost inside the COMPARE AND WRITE",
                  round, got[0], what);
        } else {
            CHECK(got[0] == after, "round %d: %s: miscompare, blocks hold "
                  "0x%02x", round, what, got[0]);
        }
        scsi_free_scsi_task(task);
    }
    fprintf(stderr, "%s: %s: %d rounds, %u with both GOOD\n", test_name,
            what, ROUNDS, both_good);
    return both_good;
}

/* Log in two sessions to t and run the races: WRITE (if write) and UNMAP
 * against COMPARE AND WRITE. */
static void
race_target(const struct iscsi_test_target *t, bool write, const char *what)
{
    struct iscsi_test_opts o2 = {
        .initiator = ISCSI_TEST_INITIATOR ":second",
    };
    struct iscsi_context *a, *b;

    fprintf(stderr, "%s: on %s\n", test_name, what);
    a = test_iscsi_login(t, NULL, "session A");
    b = test_iscsi_login(t, &o2, "session B");
    test_iscsi_clear_ua(a, t->lun, "A");
    test_iscsi_clear_ua(b, t->lun, "B");
    if (write) {
        race(a, b, t->lun, RACE_WRITE);
    }
    race(a, b, t->lun, RACE_UNMAP);
    test_iscsi_logout(a, "A");
    test_iscsi_logout(b, "B");
}

int
main(void)
{
    struct test_server s = { 0 };
    struct iscsi_test_target t;

    test_init("test-iscsi-race", 120);
    if (test_iscsi_env_target(&t)) {
        race_target(&t, true, "the target of ISCSI_TEST_URL");
        return test_finish();
    }
    test_iscsi_server_start(&s, conf);
    test_iscsi_export_target(&s, "race", &t);
    race_target(&t, true, "a memory export");
    test_iscsi_export_target(&s, "racefile", &t);
    race_target(&t, false, "a file export");
    test_server_check_alive(&s);
    test_server_stop(&s);
    return test_finish();
}
