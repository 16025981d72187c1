/* SPDX-License-Identifier: MIT */
/*
 * A graceful stop answers the iSCSI commands that are in the backend
 * (raw initiator: the point is which PDUs come back before the close).
 *
 * The export is backend = nbd on nbdkit's file plugin behind its delay
 * filter, so reads and writes take DELAY_MS there.  One session sends a
 * WRITE(10) with its data (immediate), a READ(10), a SYNCHRONIZE
 * CACHE(10), and a WRITE(10) whose data it never sends (it waits for
 * Data-Out after its R2T); once the first two are in the backend,
 * SIGTERM.  Then, before the target closes the connection:
 *
 *  - the WRITE gets its SCSI Response, GOOD (an initiator must learn
 *    that a write of its completed, not time out on it);
 *  - the READ gets its Data-In, GOOD, with the file's data;
 *  - the SYNCHRONIZE CACHE is answered GOOD;
 *  - the WRITE waiting for Data-Out gets no response (it was never
 *    acknowledged, and its data can no longer come);
 *
 * the connection closes, polltgtd exits 0 within 10 s (not after the
 * 30 s default drain timeout), and the written data is in nbdkit's file.
 *
 * Then a session that stopped reading, with 64 MiB of Data-In queued
 * (more than the sockets hold): the drain cannot end it, so polltgtd
 * closes it at the drain timeout ([server] drain-timeout = 2s here) and
 * still exits 0 (its loop used to assert on the socket left behind),
 * after the 2 s and well before the 30 s default.
 *
 * Skips (77) without nbdkit or its delay filter.
 */
#include <config.h>

#include "iscsi-test-helpers.h"

#define BS 512u
#define DELAY_MS 2000
#define DISK_SIZE (8 * MIB)
#define WRITE_LBA 16u
#define WRITE_LEN (4 * KIB)
#define READ_LBA 1024u
#define READ_LEN (4 * KIB)
#define STUCK_LBA 4096u
#define STUCK_LEN (8 * KIB)

static const char conf[] =
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "[status]\n"
    "socket = none\n"
    "[export slow]\n"
    "backend = nbd\n"
    "uri = nbd+unix:///?socket=@DIR@/kit.sock\n"
    "request-timeout = 30s\n"
    "block-size = 512\n";

static const char conf_stall[] =
    "[server]\n"
    "drain-timeout = 2s\n"
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 8M\n";

static struct test_server srv;

static void
require_nbdkit(void)
{
    if (system("nbdkit --version >/dev/null 2>&1") != 0) {
        test_skip("nbdkit is not installed");
    }
    if (system("nbdkit --filter=delay null --dump-plugin >/dev/null 2>&1") !=
        0) {
        test_skip("nbdkit's delay filter is not installed");
    }
}

static void
fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed + i * 7 + (i >> 9));
    }
}

/* nbdkit serving path over DIR/kit.sock, reads and writes delayed. */
static pid_t
start_nbdkit(const char *path)
{
    char sock[300], file[320], log[300], rd[32], wr[32];
    int64_t deadline;
    pid_t pid;

    snprintf(sock, sizeof sock, "%s/kit.sock", srv.dir);
    snprintf(file, sizeof file, "file=%s", path);
    snprintf(log, sizeof log, "%s/nbdkit.log", srv.dir);
    snprintf(rd, sizeof rd, "delay-read=%dms", DELAY_MS);
    snprintf(wr, sizeof wr, "delay-write=%dms", DELAY_MS);
    pid = fork();
    CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        alarm(0);
        execlp("nbdkit", "nbdkit", "--exit-with-parent", "-f", "-U", sock,
               "--filter=delay", "file", file, rd, wr, (char *)NULL);
        _exit(127);
    }
    deadline = test_now_ms() + 10000;
    for (;;) {
        int fd = test_connect_unix(sock);

        if (fd >= 0) {
            close(fd);
            return pid;
        }
        CHECK(waitpid(pid, NULL, WNOHANG) == 0, "nbdkit exited at start-up "
              "(see %s)", log);
        CHECK(test_now_ms() < deadline, "nbdkit did not listen within 10 s");
        test_sleep_ms(20);
    }
}

static void
cdb10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t blocks)
{
    memset(cdb, 0, 10);
    cdb[0] = op;
    raw_put32(cdb + 2, lba);
    cdb[7] = (uint8_t)(blocks >> 8);
    cdb[8] = (uint8_t)blocks;
}

/* Send a command (data: immediate, all of it); returns its ITT. */
static uint32_t
send_cmd(struct raw_iscsi *c, const uint8_t *cdb, bool read, bool write,
         uint32_t edtl, const void *data, uint32_t dlen, const char *what)
{
    uint8_t bhs[48];
    uint32_t itt = c->itt;

    raw_scsi_bhs(c, bhs, 0, cdb, 10, read, write, edtl);
    c->itt++;
    CHECK(raw_iscsi_send(c, bhs, data, dlen), "%s: the target closed the "
          "connection", what);
    c->cmdsn++;
    return itt;
}

static int64_t
wait_exit(pid_t pid, int timeout_ms, int *status)
{
    int64_t t0 = test_now_ms();

    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid) {
            return test_now_ms() - t0;
        }
        if (test_now_ms() - t0 > timeout_ms) {
            return -1;
        }
        test_sleep_ms(10);
    }
}

/* A session that reads nothing of 16 READs of 4 MiB (the largest
 * transfer VPD B0h allows). */
static void
check_stalled_reader(void)
{
    struct test_server s2 = { 0 };
    struct raw_iscsi c;
    char iqn[300];
    int status;
    int64_t ms;

    test_iscsi_server_start(&s2, conf_stall);
    CHECK(raw_iscsi_connect(&c, s2.port) >= 0, "connect: %s",
          strerror(errno));
    snprintf(iqn, sizeof iqn, "%s:mem", ISCSI_TEST_IQN_PREFIX);
    status = raw_iscsi_login(&c, ISCSI_TEST_INITIATOR, iqn, NULL);
    CHECK(status == 0, "login to %s: status 0x%04x", iqn, (unsigned)status);
    raw_iscsi_clear_ua(&c, 0);
    for (int i = 0; i < 16; i++) {
        uint8_t bhs[48], cdb[16];

        raw_cdb16(cdb, 0x88, 0, 4 * MIB / BS);
        raw_scsi_bhs(&c, bhs, 0, cdb, 16, true, false, 4 * MIB);
        c.itt++;
        CHECK(raw_iscsi_send(&c, bhs, NULL, 0), "READ(16) %d: the target "
              "closed the connection", i);
        c.cmdsn++;
    }
    test_sleep_ms(300);
    CHECK(kill(s2.pid, SIGTERM) == 0, "kill: %s", strerror(errno));
    ms = wait_exit(s2.pid, 20000, &status);
    if (ms < 0) {
        test_server_kill(&s2);
    } else {
        s2.pid = 0;
    }
    SOFT_CHECK(ms >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "a session that stopped reading: polltgtd did not exit 0 "
               "within 20 s of SIGTERM (wait status 0x%x)",
               ms >= 0 ? (unsigned)status : 0u);
    /* It waited for the drain timeout it was given, not the default. */
    SOFT_CHECK(ms < 0 || ms >= 1900,
               "polltgtd exited %" PRId64 " ms after SIGTERM, before its 2 s "
               "drain timeout", ms);
    SOFT_CHECK(test_server_log_has(&s2, "still busy after the drain "
                                        "timeout; closing them"),
               "no log line for the session the drain could not end");
    printf("ok: a session that stopped reading: exit 0x%x in %" PRId64
           " ms\n", (unsigned)status, ms);
    close(c.fd);
    if (test_soft_failures) {
        test_server_dump_log(&s2);
    }
    test_rmdir(s2.dir);
}

int
main(void)
{
    static const char *const keys[] = { "ImmediateData=Yes",
                                        "InitialR2T=Yes", NULL };
    static uint8_t wbuf[WRITE_LEN], rwant[READ_LEN], rgot[READ_LEN],
        disk[WRITE_LEN];
    char path[300], iqn[300];
    uint8_t cdb[10];
    uint32_t itt_w, itt_r, itt_s, itt_x;
    bool got_w = false, got_r = false, got_s = false, got_r2t = false;
    uint32_t rbytes = 0;
    struct raw_iscsi c;
    struct raw_pdu p;
    pid_t kit;
    int fd, status;
    int64_t t_sent, deadline, ms;

    test_init("test-iscsi-drain", 120);
    require_nbdkit();
    test_server_prepare(&srv);

    /* The disk: zeros but for known data where the READ reads. */
    snprintf(path, sizeof path, "%s/disk.img", srv.dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, DISK_SIZE) == 0, "%s: %s", path,
          strerror(errno));
    fill(rwant, sizeof rwant, 0x5a);
    CHECK(pwrite(fd, rwant, sizeof rwant, (off_t)READ_LBA * BS) ==
          (ssize_t)sizeof rwant, "pwrite %s: %s", path, strerror(errno));
    close(fd);
    kit = start_nbdkit(path);
    test_iscsi_server_start(&srv, conf);

    CHECK(raw_iscsi_connect(&c, srv.port) >= 0, "connect: %s",
          strerror(errno));
    snprintf(iqn, sizeof iqn, "%s:slow", ISCSI_TEST_IQN_PREFIX);
    status = raw_iscsi_login(&c, ISCSI_TEST_INITIATOR, iqn, keys);
    CHECK(status == 0, "login to %s: status 0x%04x", iqn, (unsigned)status);
    CHECK(c.immediate_data && c.initial_r2t, "ImmediateData=Yes and "
          "InitialR2T=Yes were not agreed");
    CHECK(c.first_burst >= WRITE_LEN && c.max_xmit_dsl >= WRITE_LEN,
          "FirstBurstLength %u / MaxRecvDataSegmentLength %u: the WRITE's "
          "data does not fit in its command", c.first_burst, c.max_xmit_dsl);
    raw_iscsi_clear_ua(&c, 0);

    fill(wbuf, sizeof wbuf, 0xa5);
    cdb10(cdb, 0x2a, WRITE_LBA, WRITE_LEN / BS);
    itt_w = send_cmd(&c, cdb, false, true, WRITE_LEN, wbuf, WRITE_LEN,
                     "WRITE(10)");
    cdb10(cdb, 0x28, READ_LBA, READ_LEN / BS);
    itt_r = send_cmd(&c, cdb, true, false, READ_LEN, NULL, 0, "READ(10)");
    cdb10(cdb, 0x35, 0, 0);
    itt_s = send_cmd(&c, cdb, false, false, 0, NULL, 0,
                     "SYNCHRONIZE CACHE(10)");
    cdb10(cdb, 0x2a, STUCK_LBA, STUCK_LEN / BS);
    itt_x = send_cmd(&c, cdb, false, true, STUCK_LEN, NULL, 0,
                     "WRITE(10) without its data");
    t_sent = test_now_ms();

    /* Let them reach the backend; answer nothing (the R2T for the last
     * WRITE is expected, a SYNCHRONIZE CACHE may finish meanwhile). */
    while (test_now_ms() - t_sent < 300) {
        if (raw_iscsi_recv(&c, &p, (int)(300 - (test_now_ms() - t_sent))) !=
            0) {
            break;
        }
        if (raw_opcode(&p) == RAW_ISCSI_OP_R2T &&
            raw_get32(p.bhs + 16) == itt_x) {
            got_r2t = true;
        } else if (raw_opcode(&p) == RAW_ISCSI_OP_SCSI_RSP &&
                   raw_get32(p.bhs + 16) == itt_s) {
            c.expstatsn = raw_get32(p.bhs + 24) + 1;
            CHECK(p.bhs[3] == 0, "SYNCHRONIZE CACHE: status 0x%02x",
                  p.bhs[3]);
            got_s = true;
        } else {
            FAIL("before the stop: unexpected PDU 0x%02x for ITT 0x%x (the "
                 "backend delays by %d ms)", raw_opcode(&p),
                 raw_get32(p.bhs + 16), DELAY_MS);
        }
        raw_pdu_free(&p);
    }
    CHECK(got_r2t, "no R2T for the WRITE sent without its data");

    CHECK(kill(srv.pid, SIGTERM) == 0, "kill: %s", strerror(errno));
    /* Everything until the target closes the connection. */
    deadline = test_now_ms() + 15000;
    for (;;) {
        int64_t left = deadline - test_now_ms();
        uint32_t itt;

        CHECK(left > 0, "the connection was not closed within 15 s of "
              "SIGTERM");
        if (raw_iscsi_recv(&c, &p, (int)left) != 0) {
            break; /* closed (or the deadline, checked above) */
        }
        CHECK(p.hd_ok && p.dd_ok, "bad digest"); /* none negotiated */
        itt = raw_get32(p.bhs + 16);
        switch (raw_opcode(&p)) {
        case RAW_ISCSI_OP_SCSI_RSP:
            CHECK(itt != itt_x, "the WRITE waiting for Data-Out was "
                  "answered (status 0x%02x)", p.bhs[3]);
            CHECK(p.bhs[2] == 0, "ITT 0x%x: iSCSI response 0x%02x", itt,
                  p.bhs[2]);
            CHECK(p.bhs[3] == 0, "ITT 0x%x: status 0x%02x, want GOOD", itt,
                  p.bhs[3]);
            if (itt == itt_w) {
                got_w = true;
            } else if (itt == itt_s) {
                got_s = true;
            } else {
                FAIL("a SCSI Response for ITT 0x%x, sent by no command "
                     "(or the READ without its data)", itt);
            }
            break;
        case RAW_ISCSI_OP_DATA_IN: {
            uint32_t off = raw_get32(p.bhs + 40);

            CHECK(itt == itt_r, "Data-In for ITT 0x%x", itt);
            CHECK((uint64_t)off + p.dlen <= READ_LEN, "Data-In beyond the "
                  "READ");
            memcpy(rgot + off, p.data, p.dlen);
            rbytes += p.dlen;
            if (p.bhs[1] & 0x01) {
                CHECK(p.bhs[3] == 0, "READ: status 0x%02x", p.bhs[3]);
                got_r = true;
            }
            break;
        }
        case RAW_ISCSI_OP_NOP_IN:
            break;
        default:
            FAIL("after SIGTERM: unexpected PDU 0x%02x for ITT 0x%x",
                 raw_opcode(&p), itt);
        }
        raw_pdu_free(&p);
    }
    close(c.fd);
    SOFT_CHECK(got_w, "no SCSI Response for the WRITE(10) that was in the "
               "backend at SIGTERM");
    SOFT_CHECK(got_r && rbytes == READ_LEN &&
               memcmp(rgot, rwant, READ_LEN) == 0,
               "READ(10) in the backend at SIGTERM: %s",
               !got_r ? "no status" : "wrong data");
    SOFT_CHECK(got_s, "no SCSI Response for the SYNCHRONIZE CACHE(10)");
    printf("ok: after SIGTERM: WRITE %s, READ %s, SYNCHRONIZE CACHE %s, "
           "the WRITE waiting for Data-Out dropped, then the close\n",
           got_w ? "GOOD" : "unanswered", got_r ? "GOOD" : "unanswered",
           got_s ? "GOOD" : "unanswered");

    ms = wait_exit(srv.pid, 40000, &status);
    if (ms < 0) {
        test_server_kill(&srv);
    } else {
        srv.pid = 0;
    }
    SOFT_CHECK(ms >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "polltgtd did not exit 0 after SIGTERM (wait status 0x%x)",
               ms >= 0 ? (unsigned)status : 0u);
    SOFT_CHECK(ms >= 0 && ms <= 10000, "polltgtd took %" PRId64 " ms to "
               "exit (want <= 10 s)", ms);
    SOFT_CHECK(!test_server_log_has(&srv, "still busy after the drain"),
               "the drain timed out");

    /* What nbdkit wrote for the WRITE. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && pread(fd, disk, sizeof disk, (off_t)WRITE_LBA * BS) ==
          (ssize_t)sizeof disk, "read back %s: %s", path, strerror(errno));
    close(fd);
    SOFT_CHECK(memcmp(disk, wbuf, WRITE_LEN) == 0,
               "the WRITE's data is not in the backend's file");
    printf("ok: polltgtd exited 0x%x in %" PRId64 " ms, the data is on "
           "the disk\n", (unsigned)status, ms);

    kill(kit, SIGTERM);
    waitpid(kit, NULL, 0);
    if (test_soft_failures) {
        test_server_dump_log(&srv);
    }
    test_rmdir(srv.dir);

    check_stalled_reader();
    test_current_server = NULL;
    return test_finish();
}
