/* SPDX-License-Identifier: MIT */
/*
 * NOP-Out/NOP-In, task management and logout:
 *
 *  - an initiator's NOP-Out ping is answered with a NOP-In echoing its
 *    data (several pings, with and without data);
 *  - ABORT TASK of a task tag that does not exist, and of a READ among 16
 *    in flight, is answered "function complete" or "task does not exist";
 *    the other READs complete with the right data, and an aborted READ
 *    gets no answer after the abort's;
 *  - LUN RESET and TARGET WARM RESET, idle and with READs in flight, are
 *    answered "function complete", and the session keeps working (after
 *    any unit attention the reset left);
 *  - with nop-interval = 1s and nop-timeout = 2s: the target pings idle
 *    initiators (NOP-In with ITT 0xffffffff and a target transfer tag);
 *    one that answers (libiscsi) keeps its session over 5 s idle, one
 *    that never answers (raw socket) is disconnected within
 *    interval + timeout + slack;
 *  - logout is answered, and the target then closes the connection.
 *
 * ISCSI_TEST_URL=iscsi://HOST:PORT/TARGET/LUN runs all but the
 * nop-interval checks against that target instead of starting polltgtd.
 */
#include <config.h>

#include "iscsi-test-helpers.h"

static const char conf[] =
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "nop-interval = 1s\n"
    "nop-timeout = 2s\n"
    "[status]\n"
    "socket = none\n"
    "[export disk0]\n"
    "backend = memory\n"
    "size = 64M\n";

/* ---- NOP-Out ping --------------------------------------------------- */

struct nop_state {
    bool done;
    int status;
    unsigned char data[64];
    size_t size;
};

static void
nop_cb(struct iscsi_context *ctx, int status, void *command_data,
       void *private_data)
{
    struct nop_state *n = private_data;
    struct iscsi_data *d = command_data;

    (void)ctx;
    n->status = status;
    n->size = 0;
    if (status == SCSI_STATUS_GOOD && d && d->data) {
        n->size = d->size < sizeof n->data ? d->size : sizeof n->data;
        memcpy(n->data, d->data, n->size);
    }
    n->done = true;
}

static void
check_nop(struct iscsi_context *ctx)
{
    for (int i = 0; i < 4; i++) {
        unsigned char ping[32];
        struct nop_state n = { 0 };
        /* Multiples of 4: libiscsi reports the padded data segment. */
        int len = i * 8 + (i == 3 ? 8 : 0);

        snprintf((char *)ping, sizeof ping, "polltgt ping %d ........", i);
        CHECK(iscsi_nop_out_async(ctx, nop_cb, len ? ping : NULL, len, &n) ==
              0, "iscsi_nop_out_async: %s", iscsi_get_error(ctx));
        test_iscsi_wait(ctx, &n.done, 10000, "NOP-Out ping");
        CHECK(n.status == SCSI_STATUS_GOOD, "NOP-Out ping %d: status 0x%x "
              "(%s)", i, (unsigned)n.status, iscsi_get_error(ctx));
        CHECK(n.size == (size_t)len && memcmp(n.data, ping, (size_t)len) == 0,
              "NOP-Out ping %d with %d bytes of data: the NOP-In echoed %zu "
              "bytes%s", i, len, n.size,
              n.size == (size_t)len ? " that differ" : "");
    }
    printf("ok: NOP-Out pings answered, data echoed\n");
}

/* ---- task management ------------------------------------------------ */

struct tmf_state {
    bool done;
    int status;
    uint32_t response;
};

static void
tmf_cb(struct iscsi_context *ctx, int status, void *command_data,
       void *private_data)
{
    struct tmf_state *st = private_data;

    (void)ctx;
    st->status = status;
    st->response = command_data ? *(uint32_t *)command_data : 0xdead;
    st->done = true;
}

static const char *
tmf_response_str(uint32_t r)
{
    switch (r) {
    case ISCSI_TMR_FUNC_COMPLETE: return "function complete";
    case ISCSI_TMR_TASK_DOES_NOT_EXIST: return "task does not exist";
    case ISCSI_TMR_LUN_DOES_NOT_EXIST: return "LUN does not exist";
    case ISCSI_TMR_TMF_NOT_SUPPORTED: return "not supported";
    case ISCSI_TMR_FUNC_AUTH_FAILED: return "authorization failed";
    case ISCSI_TMR_FUNC_REJECTED: return "rejected";
    default: return "?";
    }
}

static uint32_t
tmf_wait(struct iscsi_context *ctx, struct tmf_state *st, const char *what)
{
    test_iscsi_wait(ctx, &st->done, 15000, what);
    CHECK(st->status == SCSI_STATUS_GOOD, "%s: no task management response "
          "(status 0x%x: %s)", what, (unsigned)st->status,
          iscsi_get_error(ctx));
    return st->response;
}

static bool url_mode;

#define NREADS 16
#define READ_LEN (1 * MIB)

struct reads {
    int pending;
    bool done;
    struct rslot {
        struct reads *r;
        int status;
        bool finished;
        struct scsi_task *task;
    } slot[NREADS];
};

static void
read_cb(struct iscsi_context *ctx, int status, void *command_data,
        void *private_data)
{
    struct rslot *sl = private_data;

    (void)ctx;
    (void)command_data;
    sl->status = status;
    sl->finished = true;
    sl->r->done = --sl->r->pending == 0;
}

/* Queue NREADS reads of READ_LEN over the pattern written at LBA 0. */
static void
queue_reads(struct iscsi_context *ctx, int lun, struct reads *r)
{
    memset(r, 0, sizeof *r);
    r->pending = NREADS;
    for (int i = 0; i < NREADS; i++) {
        struct rslot *sl = &r->slot[i];

        sl->r = r;
        sl->status = -1;
        sl->task = iscsi_read16_task(ctx, lun, (uint64_t)i * READ_LEN / 512,
                                     READ_LEN, 512, 0, 0, 0, 0, 0, read_cb,
                                     sl);
        CHECK(sl->task != NULL, "queueing READ %d: %s", i,
              iscsi_get_error(ctx));
    }
}

static void
write_pattern(struct iscsi_context *ctx, int lun)
{
    uint8_t *buf = malloc(NREADS * READ_LEN);
    struct scsi_task *task;

    CHECK(buf != NULL, "out of memory");
    test_fill(buf, NREADS * READ_LEN, 0, 9);
    for (int i = 0; i < NREADS; i++) {
        task = iscsi_write16_sync(ctx, lun, (uint64_t)i * READ_LEN / 512,
                                  buf + (size_t)i * READ_LEN, READ_LEN, 512,
                                  0, 0, 0, 0, 0);
        CHECK_TASK_GOOD(ctx, task, "writing the pattern, MiB %d", i);
        scsi_free_scsi_task(task);
    }
    free(buf);
}

static void
check_read_data(struct rslot *sl, int i)
{
    uint8_t *want = malloc(READ_LEN);
    ssize_t d;

    CHECK(want != NULL, "out of memory");
    test_fill(want, READ_LEN, (uint64_t)i * READ_LEN, 9);
    CHECK(sl->task->datain.size == (int)READ_LEN, "READ %d returned %d bytes",
          i, sl->task->datain.size);
    d = test_memdiff(sl->task->datain.data, want, READ_LEN);
    CHECK(d < 0, "READ %d (in flight during task management) returned "
          "wrong data at byte %zd", i, d);
    free(want);
}

/* Write out every queued PDU (commands are then all at the target). */
static void
flush_out_queue(struct iscsi_context *ctx)
{
    int64_t deadline = test_now_ms() + 10000;

    while (iscsi_out_queue_length(ctx) > 0) {
        struct pollfd pfd = { .fd = iscsi_get_fd(ctx),
                              .events = (short)iscsi_which_events(ctx) };
        int n = poll(&pfd, 1, 100);

        CHECK(iscsi_service(ctx, n > 0 ? pfd.revents : 0) == 0,
              "iscsi_service: %s", iscsi_get_error(ctx));
        CHECK(test_now_ms() < deadline, "commands not sent within 10 s");
    }
}

static void
check_abort_task(struct iscsi_context *ctx, int lun)
{
    struct tmf_state st = { 0 };
    struct reads *r = calloc(1, sizeof *r);
    struct rslot *victim;
    uint32_t resp;
    bool victim_done_before;

    CHECK(r != NULL, "out of memory");
    /* A task tag nobody uses. */
    CHECK(iscsi_task_mgmt_async(ctx, lun, ISCSI_TM_ABORT_TASK, 0x7eadbeef,
                                0, tmf_cb, &st) == 0,
          "ABORT TASK: %s", iscsi_get_error(ctx));
    resp = tmf_wait(ctx, &st, "ABORT TASK of an unknown task tag");
    CHECK(resp == ISCSI_TMR_FUNC_COMPLETE ||
          resp == ISCSI_TMR_TASK_DOES_NOT_EXIST,
          "ABORT TASK of an unknown task tag: response %u (%s), want "
          "function complete or task does not exist", resp,
          tmf_response_str(resp));

    /* The last of 16 reads in flight.  All of them leave libiscsi before
     * the abort: it sends immediate PDUs (the abort) ahead of its queue. */
    queue_reads(ctx, lun, r);
    victim = &r->slot[NREADS - 1];
    flush_out_queue(ctx);
    memset(&st, 0, sizeof st);
    CHECK(iscsi_task_mgmt_abort_task_async(ctx, victim->task, tmf_cb, &st) ==
          0, "ABORT TASK: %s", iscsi_get_error(ctx));
    resp = tmf_wait(ctx, &st, "ABORT TASK of a READ in flight");
    CHECK(resp == ISCSI_TMR_FUNC_COMPLETE ||
          resp == ISCSI_TMR_TASK_DOES_NOT_EXIST,
          "ABORT TASK of a READ in flight: response %u (%s)", resp,
          tmf_response_str(resp));
    victim_done_before = victim->finished;
    /* The response to the abort is the last on the connection for the
     * aborted task (RFC 7143 section 11.6.1): if the READ has not
     * finished by now, it was aborted, and nothing more comes for it. */
    CHECK(resp == ISCSI_TMR_FUNC_COMPLETE || victim_done_before,
          "ABORT TASK of a READ the target had received and not answered: "
          "response \"task does not exist\"");
    if (!victim_done_before) {
        CHECK(iscsi_scsi_cancel_task(ctx, victim->task) == 0,
              "iscsi_scsi_cancel_task");
    }
    test_iscsi_wait(ctx, &r->done, 20000, "the READs after ABORT TASK");
    for (int i = 0; i < NREADS; i++) {
        struct rslot *sl = &r->slot[i];

        if (sl == victim && !victim_done_before) {
            CHECK(sl->status == SCSI_STATUS_CANCELLED, "the aborted READ "
                  "completed (status 0x%x) after the abort's response",
                  (unsigned)sl->status);
        } else if (sl == victim && sl->status != SCSI_STATUS_GOOD) {
            /* finished before the abort's response: done or aborted */
            CHECK(sl->status == SCSI_STATUS_TASK_ABORTED ||
                  sl->status == SCSI_STATUS_CHECK_CONDITION,
                  "the aborted READ ended with status 0x%x",
                  (unsigned)sl->status);
        } else {
            CHECK(sl->status == SCSI_STATUS_GOOD, "READ %d of %d in flight "
                  "during ABORT TASK of READ %d: status 0x%x", i, NREADS,
                  NREADS - 1, (unsigned)sl->status);
            check_read_data(sl, i);
        }
        scsi_free_scsi_task(sl->task);
    }
    free(r);
    test_iscsi_roundtrip(ctx, lun, 40000, 64 * KIB, 512, 21, false,
                         "after ABORT TASK");
    printf("ok: ABORT TASK answered (%s for the READ in flight, which had "
           "%s), the other READs intact, session works\n",
           tmf_response_str(resp),
           victim_done_before ? "already completed" : "not completed");
}

static void
check_reset(struct iscsi_context *ctx, int lun, bool lun_reset,
            bool in_flight)
{
    const char *name = lun_reset ? "LUN RESET" : "TARGET WARM RESET";
    struct tmf_state st = { 0 };
    struct reads *r = NULL;
    char what[128];
    uint32_t resp;
    int rc;

    snprintf(what, sizeof what, "%s%s", name,
             in_flight ? " with 16 READs in flight" : "");
    if (in_flight) {
        r = calloc(1, sizeof *r);
        CHECK(r != NULL, "out of memory");
        queue_reads(ctx, lun, r);
        /* Let some of them reach the target before the reset. */
        for (int i = 0; i < 5; i++) {
            struct pollfd pfd = { .fd = iscsi_get_fd(ctx),
                                  .events = (short)iscsi_which_events(ctx) };

            if (poll(&pfd, 1, 2) > 0) {
                CHECK(iscsi_service(ctx, pfd.revents) == 0,
                      "iscsi_service: %s", iscsi_get_error(ctx));
            }
        }
    }
    /* libiscsi cancels its own tasks (callbacks with CANCELLED) and
     * ignores what the target still sends for them. */
    rc = lun_reset ? iscsi_task_mgmt_lun_reset_async(ctx, (uint32_t)lun,
                                                     tmf_cb, &st)
                   : iscsi_task_mgmt_target_warm_reset_async(ctx, tmf_cb,
                                                             &st);
    CHECK(rc == 0, "%s: %s", what, iscsi_get_error(ctx));
    resp = tmf_wait(ctx, &st, what);
    if (url_mode && resp == ISCSI_TMR_TMF_NOT_SUPPORTED) {
        printf("skipped: %s: the target does not support it\n", what);
        for (int i = 0; r && i < NREADS; i++) {
            scsi_free_scsi_task(r->slot[i].task);
        }
        free(r);
        test_iscsi_clear_ua(ctx, lun, what);
        return;
    }
    CHECK(resp == ISCSI_TMR_FUNC_COMPLETE, "%s: response %u (%s), want "
          "function complete", what, resp, tmf_response_str(resp));
    if (r) {
        CHECK(r->done, "%s: libiscsi did not finish the READs", what);
        for (int i = 0; i < NREADS; i++) {
            struct rslot *sl = &r->slot[i];

            CHECK(sl->status == SCSI_STATUS_GOOD ||
                  sl->status == SCSI_STATUS_CANCELLED,
                  "%s: READ %d ended with status 0x%x", what, i,
                  (unsigned)sl->status);
            if (sl->status == SCSI_STATUS_GOOD) {
                check_read_data(sl, i);
            }
            scsi_free_scsi_task(sl->task);
        }
        free(r);
    }
    test_iscsi_clear_ua(ctx, lun, what);
    test_iscsi_roundtrip(ctx, lun, 50000, 256 * KIB, 512, 31, false, what);
    test_iscsi_expect(ctx, lun, 0, 1 * MIB, 512, 9,
                      "data written before the reset");
    printf("ok: %s answered function complete, session works\n", what);
}

/* ---- target NOP-In pings (nop-interval, nop-timeout) ------------------- */

static void
check_idle_libiscsi_kept(struct iscsi_context *ctx, int lun)
{
    int64_t end = test_now_ms() + 5000;

    /* Idle, but answering pings: iscsi_service replies to NOP-Ins. */
    while (test_now_ms() < end) {
        struct pollfd pfd = { .fd = iscsi_get_fd(ctx),
                              .events = (short)iscsi_which_events(ctx) };
        int n = poll(&pfd, 1, 100);

        CHECK(iscsi_service(ctx, n > 0 ? pfd.revents : 0) == 0,
              "idle session with nop-interval = 1s: %s (the target dropped "
              "an initiator that answers its pings?)", iscsi_get_error(ctx));
    }
    CHECK(iscsi_is_logged_in(ctx), "the idle session was logged out");
    test_iscsi_roundtrip(ctx, lun, 60000, 64 * KIB, 512, 51, false,
                         "after 5 s idle answering pings");
    printf("ok: an idle initiator that answers NOP-In pings keeps its "
           "session\n");
}

static void
check_idle_raw_dropped(const struct iscsi_test_target *t, int port)
{
    struct raw_iscsi c;
    struct raw_pdu p;
    int64_t t0;
    bool pinged = false, closed = false;

    CHECK(raw_iscsi_connect(&c, port) >= 0, "connect: %s", strerror(errno));
    CHECK(raw_iscsi_login(&c, ISCSI_TEST_INITIATOR, t->iqn, NULL) == 0,
          "raw login to %s failed", t->iqn);
    t0 = test_now_ms();
    /* Never answer: nop-interval 1s + nop-timeout 2s, plus slack. */
    while (test_now_ms() - t0 < 8000) {
        if (raw_iscsi_recv(&c, &p, 8000) != 0) {
            closed = true;
            break;
        }
        if (raw_opcode(&p) == RAW_ISCSI_OP_NOP_IN) {
            CHECK(raw_get32(p.bhs + 16) == 0xffffffffu &&
                  raw_get32(p.bhs + 20) != 0xffffffffu,
                  "the target's ping must be a NOP-In with ITT 0xffffffff "
                  "and a target transfer tag (got ITT 0x%08x, TTT 0x%08x)",
                  raw_get32(p.bhs + 16), raw_get32(p.bhs + 20));
            pinged = true;
        }
        raw_pdu_free(&p);
    }
    close(c.fd);
    CHECK(pinged, "an idle initiator got no NOP-In ping with nop-interval "
          "= 1s");
    CHECK(closed, "an initiator that never answered the pings was still "
          "connected after 8 s (nop-interval 1s, nop-timeout 2s)");
    printf("ok: the target pings idle initiators and drops one that does "
           "not answer (after %.1f s)\n",
           (double)(test_now_ms() - t0) / 1000.0);
}

static void
check_logout(struct iscsi_context *ctx, const struct iscsi_test_target *t)
{
    int fd = iscsi_get_fd(ctx);
    char buf[256];
    ssize_t n;
    struct pollfd pfd = { .fd = fd, .events = POLLIN };

    CHECK(iscsi_logout_sync(ctx) == 0, "logout: %s", iscsi_get_error(ctx));
    CHECK(!iscsi_is_logged_in(ctx), "still logged in after logout");
    /* RFC 7143 section 11.14: after the Logout Response the connection is
     * closed.  The fd is still libiscsi's: only look. */
    CHECK(poll(&pfd, 1, 5000) == 1, "the target did not close the "
          "connection within 5 s of the Logout Response");
    n = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_PEEK);
    CHECK(n == 0 || (n < 0 && errno == ECONNRESET), "after logout the "
          "target sent %zd more bytes instead of closing", n);
    iscsi_destroy_context(ctx);
    /* And a new session is welcome. */
    ctx = test_iscsi_login(t, NULL, "login after logout");
    test_iscsi_expect(ctx, t->lun, 0, 64 * KIB, 512, 9, "after re-login");
    test_iscsi_logout(ctx, "second session");
    printf("ok: logout answered, connection closed, new login works\n");
}

/* A LUN reset from one session is reported once to every session of the
 * LU, the one that asked included, as a unit attention (POWER ON, RESET,
 * OR BUS DEVICE RESET OCCURRED; SAM-5 6.3.3). */
static void
check_reset_unit_attention(const struct iscsi_test_target *t)
{
    struct iscsi_context *a = test_iscsi_login(t, NULL, "session A");
    struct iscsi_context *b = test_iscsi_login(t, NULL, "session B");
    struct scsi_task *task;

    test_iscsi_clear_ua(a, t->lun, "session A");
    test_iscsi_clear_ua(b, t->lun, "session B");
    CHECK(iscsi_task_mgmt_lun_reset_sync(a, (uint32_t)t->lun) == 0,
          "LUN RESET: %s", iscsi_get_error(a));
    task = iscsi_testunitready_sync(b, t->lun);
    CHECK_TASK_SENSE(b, task, SCSI_SENSE_UNIT_ATTENTION, 0x2900, 0xffff,
                     "session B after session A's LUN RESET");
    task = iscsi_testunitready_sync(b, t->lun);
    CHECK_TASK_GOOD(b, task, "session B: the unit attention is reported once");
    scsi_free_scsi_task(task);
    task = iscsi_testunitready_sync(a, t->lun);
    CHECK_TASK_SENSE(a, task, SCSI_SENSE_UNIT_ATTENTION, 0x2900, 0xffff,
                     "session A after its own LUN RESET");
    task = iscsi_testunitready_sync(a, t->lun);
    CHECK_TASK_GOOD(a, task, "session A: the unit attention is reported once");
    scsi_free_scsi_task(task);
    test_iscsi_logout(a, "session A");
    test_iscsi_logout(b, "session B");
    printf("ok: LUN RESET gives each session one unit attention\n");
}

int
main(void)
{
    struct test_server s = { 0 };
    struct iscsi_test_target t;
    struct iscsi_context *ctx;
    bool url;

    test_init("test-iscsi-tmf", 60);
    url = url_mode = test_iscsi_env_target(&t);
    if (!url) {
        test_iscsi_server_start(&s, conf);
        test_iscsi_export_target(&s, "disk0", &t);
    }
    ctx = test_iscsi_login(&t, NULL, "disk0");
    write_pattern(ctx, t.lun);
    check_nop(ctx);
    check_abort_task(ctx, t.lun);
    check_reset(ctx, t.lun, true, false);
    check_reset(ctx, t.lun, true, true);
    check_reset(ctx, t.lun, false, false);
    check_reset(ctx, t.lun, false, true);
    check_nop(ctx);
    if (!url) {
        check_reset_unit_attention(&t);
        /* That reset reaches this session too, as a unit attention. */
        test_iscsi_clear_ua(ctx, t.lun, "first session after the reset");
        check_idle_libiscsi_kept(ctx, t.lun);
    }
    check_logout(ctx, &t);
    if (!url) {
        /* After the logout: while the raw initiator ignores its pings,
         * nothing services the libiscsi session either, and the target
         * would rightly drop that one too. */
        check_idle_raw_dropped(&t, s.port);
        test_server_check_alive(&s);
        test_server_stop(&s);
    }
    return test_finish();
}
