/* SPDX-License-Identifier: MIT */
/*
 * SANITIZE over iSCSI, where the sanitize outlives its command (raw
 * initiator: the point is which PDUs come back, and which do not):
 *
 *  - ABORT TASK, ABORT TASK SET, CLEAR TASK SET and LUN RESET of a
 *    SANITIZE OVERWRITE without IMMED still waiting for its job are
 *    answered "function complete" within 5 s (not when the sanitize ends:
 *    these LUs are a petabyte of null backend), the SANITIZE itself never
 *    gets a SCSI Response, and the sanitize goes on (SBC-4 4.11.1): TEST
 *    UNIT READY answers NOT READY, SANITIZE IN PROGRESS and REQUEST SENSE
 *    returns the same with the progress indication (SKSV);
 *  - the end of the session of such a SANITIZE does not stop it either;
 *  - SIGTERM while those run, one more SANITIZE is still waiting for its
 *    job, and a SANITIZE OVERWRITE with IMMED of an 8 GiB memory export
 *    has begun: polltgtd exits 0 within 10 s (not after the 30 s drain
 *    timeout or the sanitize), logging for each LU that its sanitize was
 *    interrupted and the LU is partly overwritten.  The sanitizer build
 *    runs this too: a job left behind at exit is a leak there.
 */
#include <config.h>

#include "iscsi-test-helpers.h"

#define RAW_ISCSI_OP_TMF     0x02
#define RAW_ISCSI_OP_TMF_RSP 0x22

#define NTMF 4

static const char conf[] =
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "[status]\n"
    "socket = none\n"
    "[export t1]\nbackend = null\nsize = 1P\n"
    "[export t2]\nbackend = null\nsize = 1P\n"
    "[export t4]\nbackend = null\nsize = 1P\n"
    "[export t5]\nbackend = null\nsize = 1P\n"
    "[export gone]\nbackend = null\nsize = 1P\n"
    "[export wait]\nbackend = null\nsize = 1P\n"
    "[export big]\nbackend = memory\nsize = 8G\n";

/* The task management functions tried, and the export each uses. */
static const struct {
    uint8_t function;
    const char *name;
    const char *export;
} tmfs[NTMF] = {
    { 1, "ABORT TASK", "t1" },
    { 2, "ABORT TASK SET", "t2" },
    { 4, "CLEAR TASK SET", "t4" },
    { 5, "LUN RESET", "t5" },
};

static struct test_server srv;

static void
connect_raw(struct raw_iscsi *c, const char *export, bool clear_ua)
{
    static const char *const keys[] = { "ImmediateData=Yes", NULL };
    char iqn[300];
    int status;

    CHECK(raw_iscsi_connect(c, srv.port) >= 0, "connect: %s", strerror(errno));
    snprintf(iqn, sizeof iqn, "%s:%s", ISCSI_TEST_IQN_PREFIX, export);
    status = raw_iscsi_login(c, ISCSI_TEST_INITIATOR, iqn, keys);
    CHECK(status == 0, "login to %s: status 0x%04x", iqn, (unsigned)status);
    CHECK(c->immediate_data, "ImmediateData=Yes was not agreed");
    if (clear_ua) {
        raw_iscsi_clear_ua(c, 0);
    }
}

static void
connect_to(struct raw_iscsi *c, const char *export)
{
    connect_raw(c, export, true);
}

/* The next PDU that is not a NOP-In, within timeout_ms: 0, or -1 on
 * timeout.  A response of any kind for task forbid fails the test. */
static int
next_pdu(struct raw_iscsi *c, struct raw_pdu *p, int timeout_ms,
         uint32_t forbid, const char *what)
{
    int64_t deadline = test_now_ms() + timeout_ms;

    for (;;) {
        int64_t left = deadline - test_now_ms();

        if (left <= 0 || raw_iscsi_recv(c, p, (int)left) != 0) {
            return -1;
        }
        CHECK(p->hd_ok && p->dd_ok, "%s: bad digest", what);
        if (raw_opcode(p) == RAW_ISCSI_OP_NOP_IN) {
            raw_pdu_free(p);
            continue;
        }
        CHECK(!((raw_opcode(p) == RAW_ISCSI_OP_SCSI_RSP ||
                 raw_opcode(p) == RAW_ISCSI_OP_DATA_IN) &&
                raw_get32(p->bhs + 16) == forbid),
              "%s: the aborted SANITIZE (ITT 0x%x) got a response (status "
              "0x%02x)", what, forbid, p->bhs[3]);
        return 0;
    }
}

/* SANITIZE OVERWRITE, one pass of a 4-byte pattern; returns its ITT
 * (and its CmdSN in *cmdsn).  No answer is read. */
static uint32_t
send_sanitize(struct raw_iscsi *c, bool immed, uint32_t *cmdsn)
{
    static const uint8_t param[8] = { 1, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef };
    const uint8_t cdb[10] = { 0x48, (uint8_t)((immed ? 0x80 : 0) | 0x01),
                              0, 0, 0, 0, 0, 0, sizeof param, 0 };
    uint8_t bhs[48];
    uint32_t itt = c->itt;

    raw_scsi_bhs(c, bhs, 0, cdb, sizeof cdb, false, true, sizeof param);
    *cmdsn = c->cmdsn;
    c->itt++;
    CHECK(raw_iscsi_send(c, bhs, param, sizeof param),
          "SANITIZE: the target closed the connection");
    c->cmdsn++;
    return itt;
}

/* A command without data-out, edtl bytes of data-in at most into buf;
 * returns the status (sense in c). */
static int
command(struct raw_iscsi *c, const uint8_t *cdb, size_t cdblen, uint8_t *buf,
        uint32_t edtl, uint32_t forbid, const char *what)
{
    uint8_t bhs[48];
    uint32_t itt = c->itt;
    struct raw_pdu p;

    raw_scsi_bhs(c, bhs, 0, cdb, cdblen, edtl > 0, false, edtl);
    c->itt++;
    CHECK(raw_iscsi_send(c, bhs, NULL, 0), "%s: closed", what);
    c->cmdsn++;
    for (;;) {
        CHECK(next_pdu(c, &p, 10000, forbid, what) == 0, "%s: no answer",
              what);
        CHECK(raw_get32(p.bhs + 16) == itt, "%s: PDU 0x%02x for ITT 0x%x",
              what, raw_opcode(&p), raw_get32(p.bhs + 16));
        if (raw_opcode(&p) == RAW_ISCSI_OP_DATA_IN) {
            uint32_t off = raw_get32(p.bhs + 40);

            CHECK(off + p.dlen <= edtl, "%s: too much data", what);
            memcpy(buf + off, p.data, p.dlen);
            if (p.bhs[1] & 0x01) {
                int status = p.bhs[3];

                c->expstatsn = raw_get32(p.bhs + 24) + 1;
                raw_pdu_free(&p);
                return status;
            }
        } else {
            int status = p.bhs[3];

            CHECK(raw_opcode(&p) == RAW_ISCSI_OP_SCSI_RSP,
                  "%s: answered by opcode 0x%02x", what, raw_opcode(&p));
            c->expstatsn = raw_get32(p.bhs + 24) + 1;
            raw_keep_sense(c, &p);
            raw_pdu_free(&p);
            return status;
        }
        raw_pdu_free(&p);
    }
}

/* TEST UNIT READY (past a reset's unit attention) and REQUEST SENSE say
 * the sanitize is in progress; returns the progress indication. */
static unsigned
check_in_progress(struct raw_iscsi *c, uint32_t forbid, const char *what)
{
    static const uint8_t tur[6] = { 0 };
    static const uint8_t rs[6] = { 0x03, 0, 0, 0, 18, 0 };
    uint8_t sense[18] = { 0 };
    int status;

    for (int i = 0;; i++) {
        status = command(c, tur, sizeof tur, NULL, 0, forbid, what);
        if (status != 2 || c->sense_key != 6 || i == 3) {
            break;
        }
    }
    SOFT_CHECK(status == 2 && c->sense_key == 2 && c->asc_ascq == 0x041b,
               "%s: TEST UNIT READY: status 0x%02x, sense key 0x%x, ASC/ASCQ "
               "0x%04x; want NOT READY, SANITIZE IN PROGRESS", what,
               (unsigned)status, (unsigned)c->sense_key,
               (unsigned)c->asc_ascq);
    status = command(c, rs, sizeof rs, sense, sizeof sense, forbid, what);
    SOFT_CHECK(status == 0 && (sense[2] & 0x0f) == 2 && sense[12] == 0x04 &&
               sense[13] == 0x1b && (sense[15] & 0x80),
               "%s: REQUEST SENSE: status 0x%02x, sense key 0x%x, ASC/ASCQ "
               "0x%02x%02x, SKSV %d; want NOT READY, SANITIZE IN PROGRESS "
               "with the progress", what, (unsigned)status,
               (unsigned)(sense[2] & 0x0f),
               sense[12], sense[13], sense[15] >> 7);
    return (unsigned)sense[16] << 8 | sense[17];
}

static void
check_tmf(struct raw_iscsi *c, int k)
{
    uint32_t cmdsn, itt = send_sanitize(c, false, &cmdsn);
    uint8_t bhs[48] = { 0 };
    struct raw_pdu p;
    int64_t t0, ms;
    char what[80];

    snprintf(what, sizeof what, "%s of a SANITIZE", tmfs[k].name);
    /* It waits for its job. */
    CHECK(next_pdu(c, &p, 300, itt, what) == -1,
          "%s: an unexpected PDU 0x%02x before the TMF", what,
          raw_opcode(&p));
    bhs[0] = RAW_ISCSI_IMMEDIATE | RAW_ISCSI_OP_TMF;
    bhs[1] = (uint8_t)(0x80 | tmfs[k].function);
    raw_put32(bhs + 16, c->itt++);
    raw_put32(bhs + 20, tmfs[k].function == 1 ? itt : 0xffffffffu);
    raw_put32(bhs + 24, c->cmdsn);
    raw_put32(bhs + 28, c->expstatsn);
    raw_put32(bhs + 32, cmdsn);
    t0 = test_now_ms();
    CHECK(raw_iscsi_send(c, bhs, NULL, 0), "%s: closed", what);
    CHECK(next_pdu(c, &p, 5000, itt, what) == 0,
          "%s: no TMF response within 5 s", what);
    ms = test_now_ms() - t0;
    CHECK(raw_opcode(&p) == RAW_ISCSI_OP_TMF_RSP,
          "%s: answered by opcode 0x%02x", what, raw_opcode(&p));
    c->expstatsn = raw_get32(p.bhs + 24) + 1;
    SOFT_CHECK(p.bhs[2] == 0, "%s: TMF response 0x%02x, want 0 (function "
               "complete)", what, p.bhs[2]);
    raw_pdu_free(&p);
    /* Nor later. */
    CHECK(next_pdu(c, &p, 300, itt, what) == -1,
          "%s: an unexpected PDU 0x%02x after the TMF response", what,
          raw_opcode(&p));
    check_in_progress(c, itt, what);
    printf("ok: %s answered in %" PRId64 " ms, no response for the "
           "SANITIZE, the sanitize goes on\n", tmfs[k].name, ms);
}

int
main(void)
{
    struct raw_iscsi c[NTMF], w, big, g;
    uint32_t cmdsn, itt;
    unsigned progress = 0;
    int64_t deadline, t0, elapsed;
    int status;
    struct raw_pdu p;
    const char *names[] = { "t1", "t2", "t4", "t5", "gone", "wait", "big" };

    test_init("test-iscsi-sanitize", 120);
    test_iscsi_server_start(&srv, conf);

    for (int k = 0; k < NTMF; k++) {
        connect_to(&c[k], tmfs[k].export);
        check_tmf(&c[k], k);
    }

    /* The session of one waiting ends: the sanitize goes on. */
    connect_to(&g, "gone");
    itt = send_sanitize(&g, false, &cmdsn);
    CHECK(next_pdu(&g, &p, 300, itt, "SANITIZE") == -1,
          "SANITIZE: an unexpected PDU 0x%02x", raw_opcode(&p));
    close(g.fd);
    test_sleep_ms(100);
    connect_raw(&g, "gone", false); /* TEST UNIT READY is NOT READY */
    check_in_progress(&g, 0xffffffffu, "after the end of the session");
    printf("ok: the session of a waiting SANITIZE ended, the sanitize "
           "goes on\n");

    /* One left waiting for its job. */
    connect_to(&w, "wait");
    itt = send_sanitize(&w, false, &cmdsn);
    CHECK(next_pdu(&w, &p, 300, itt, "waiting SANITIZE") == -1,
          "waiting SANITIZE: an unexpected PDU 0x%02x", raw_opcode(&p));

    /* IMMED on memory: GOOD at once, then it makes progress. */
    connect_to(&big, "big");
    itt = send_sanitize(&big, true, &cmdsn);
    CHECK(next_pdu(&big, &p, 10000, 0xffffffffu, "SANITIZE IMMED") == 0 &&
          raw_opcode(&p) == RAW_ISCSI_OP_SCSI_RSP &&
          raw_get32(p.bhs + 16) == itt,
          "SANITIZE IMMED: no SCSI Response");
    big.expstatsn = raw_get32(p.bhs + 24) + 1;
    CHECK(p.bhs[3] == 0, "SANITIZE IMMED: status 0x%02x", p.bhs[3]);
    raw_pdu_free(&p);
    deadline = test_now_ms() + 10000;
    while (progress == 0 && test_now_ms() < deadline) {
        progress = check_in_progress(&big, 0xffffffffu, "SANITIZE IMMED");
        if (progress == 0) {
            test_sleep_ms(20);
        }
    }
    CHECK(progress > 0, "SANITIZE IMMED: no progress within 10 s");
    printf("ok: SANITIZE IMMED of 8 GiB answered, at %u/65536\n", progress);

    /* Not test_server_stop_soft: the log is read after the exit. */
    t0 = test_now_ms();
    status = test_server_stop_status(&srv, 45000);
    elapsed = test_now_ms() - t0;
    if (status == -1) {
        test_server_kill(&srv);
    }
    SOFT_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "SIGTERM during sanitizes: polltgtd did not exit 0 (wait "
               "status 0x%x)", (unsigned)status);
    SOFT_CHECK(elapsed <= 10000, "SIGTERM during sanitizes: polltgtd took %"
               PRId64 " ms to exit (want <= 10 s)", elapsed);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char want[160];

        snprintf(want, sizeof want, "export %s: SANITIZE OVERWRITE "
                 "interrupted by shutdown", names[i]);
        SOFT_CHECK(test_server_log_has(&srv, want), "no \"%s\" log line",
                   want);
    }
    SOFT_CHECK(test_server_log_has(&srv, "partly overwritten"),
               "the log does not say the LUs are partly overwritten");
    printf("ok: SIGTERM: exit status 0x%x in %" PRId64 " ms\n",
           (unsigned)status, elapsed);
    for (int k = 0; k < NTMF; k++) {
        close(c[k].fd);
    }
    close(g.fd);
    close(w.fd);
    close(big.fd);
    if (test_soft_failures) {
        test_server_dump_log(&srv);
    }
    test_current_server = NULL;
    test_rmdir(srv.dir);
    return test_finish();
}
