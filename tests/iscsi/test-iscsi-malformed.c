/* SPDX-License-Identifier: MIT */
/*
 * Malformed and out-of-place input on raw TCP connections.  After each
 * case the server is still running, and a libiscsi client on another
 * connection logs in and reads the data written at the start unchanged:
 *
 *  - 4 KiB of garbage instead of a Login Request: connection closed;
 *  - a Login Request whose DataSegmentLength is 16 MiB - 1, with no data
 *    following: closed (not waited on) within 2 s;
 *  - a SCSI Command before login: no data and no SCSI Response, closed
 *    (RFC 7143 section 6.3);
 *  - a Login Request with VersionMax = VersionMin = 5: Login Response
 *    status 0x0205 "unsupported version", then closed;
 *  - half a BHS, then hang up;
 *  - in full feature phase, a WRITE whose DataSegmentLength exceeds the
 *    negotiated MaxRecvDataSegmentLength: a Reject, a close or silence,
 *    never a GOOD status or an R2T; nothing written;
 *  - with digests on: a WRITE with a bad header digest is discarded or the
 *    connection closed (RFC 7143 section 7.8), never executed; a WRITE
 *    whose immediate data has a bad data digest is answered with a Reject
 *    "data digest error" (a close is accepted), and nothing is written;
 *  - a Logout while a WRITE waits for its unsolicited Data-Out: answered,
 *    then closed;
 *  - a connection that sends nothing is closed after login-timeout (2 s).
 *
 * ISCSI_TEST_URL=iscsi://HOST:PORT/TARGET/LUN runs the same against that
 * target instead of starting polltgtd, without the login-timeout case
 * (its LUN is overwritten).
 */
#include <config.h>

#include "iscsi-test-helpers.h"

static const char conf[] =
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "login-timeout = 2s\n"
    "[status]\n"
    "socket = none\n"
    "[export disk0]\n"
    "backend = memory\n"
    "size = 16M\n";

#define PATTERN_SEED 17
#define PATTERN_LEN (64 * KIB)

static struct test_server srv;
static struct iscsi_test_target tgt;
static int port;
static bool url_mode;

/* The server is alive and serves the pattern to a fresh libiscsi session. */
static void
still_serving(const char *after)
{
    struct iscsi_context *ctx;
    char what[200];

    if (!url_mode) {
        test_server_check_alive(&srv);
    }
    snprintf(what, sizeof what, "a new session after %s", after);
    ctx = test_iscsi_login(&tgt, NULL, what);
    test_iscsi_expect(ctx, tgt.lun, 0, PATTERN_LEN, 512, PATTERN_SEED, what);
    test_iscsi_logout(ctx, what);
    printf("ok: %s: closed or refused; the server still serves\n", after);
}

static int
connect_raw(struct raw_iscsi *c)
{
    int fd = raw_iscsi_connect(c, port);

    CHECK(fd >= 0, "connect to port %d: %s", port, strerror(errno));
    return fd;
}

static void
expect_closed(int fd, int ms, const char *what)
{
    size_t extra;

    CHECK(test_wait_close(fd, ms, &extra), "%s: the connection is still "
          "open after %d ms", what, ms);
    close(fd);
}

static void
case_garbage(void)
{
    struct raw_iscsi c;
    uint8_t junk[4096];

    connect_raw(&c);
    test_fill(junk, sizeof junk, 0, 99);
    junk[0] = 0x3e; /* not a Login Request opcode */
    raw_write_full(c.fd, junk, sizeof junk);
    expect_closed(c.fd, 2000, "4 KiB of garbage");
    still_serving("4 KiB of garbage");
}

static void
case_huge_dsl_login(void)
{
    struct raw_iscsi c;
    uint8_t bhs[48];

    connect_raw(&c);
    raw_login_bhs(&c, bhs, 1, 3, true, 0, 0);
    bhs[5] = bhs[6] = bhs[7] = 0xff;
    raw_iscsi_send_ex(&c, bhs, NULL, 0, true, false, false);
    expect_closed(c.fd, 2000, "a Login Request announcing 16 MiB of text");
    still_serving("a Login Request announcing 16 MiB of text");
}

static void
case_scsi_before_login(void)
{
    struct raw_iscsi c;
    uint8_t bhs[48], cdb[16];
    struct raw_pdu p;

    connect_raw(&c);
    raw_cdb16(cdb, 0x88, 0, 8);
    raw_scsi_bhs(&c, bhs, tgt.lun, cdb, 16, true, false, 4096);
    raw_iscsi_send(&c, bhs, NULL, 0);
    while (raw_iscsi_recv(&c, &p, 2000) == 0) {
        CHECK(raw_opcode(&p) != RAW_ISCSI_OP_DATA_IN &&
              raw_opcode(&p) != RAW_ISCSI_OP_SCSI_RSP,
              "a READ sent before login was answered (opcode 0x%02x): the "
              "LUN is readable without logging in", raw_opcode(&p));
        raw_pdu_free(&p);
    }
    expect_closed(c.fd, 2000, "a SCSI Command before login");
    still_serving("a SCSI Command before login");
}

static void
case_bad_version(void)
{
    struct raw_iscsi c;
    uint8_t bhs[48];
    char text[1024], kv[400];
    size_t len = 0;
    struct raw_pdu p;
    int status;

    connect_raw(&c);
    snprintf(kv, sizeof kv, "InitiatorName=%s", ISCSI_TEST_INITIATOR);
    raw_text_add(text, sizeof text, &len, kv);
    snprintf(kv, sizeof kv, "TargetName=%s", tgt.iqn);
    raw_text_add(text, sizeof text, &len, kv);
    raw_text_add(text, sizeof text, &len, "SessionType=Normal");
    raw_login_bhs(&c, bhs, 1, 3, true, 5, 5);
    raw_iscsi_send(&c, bhs, text, (uint32_t)len);
    CHECK(raw_iscsi_recv(&c, &p, 5000) == 0, "no answer to a Login Request "
          "with version range 5..5");
    CHECK(raw_opcode(&p) == RAW_ISCSI_OP_LOGIN_RSP, "a Login Request with "
          "version range 5..5 was answered by opcode 0x%02x", raw_opcode(&p));
    status = p.bhs[36] << 8 | p.bhs[37];
    CHECK(p.bhs[36] == 0x02, "a Login Request with version range 5..5 got "
          "login status 0x%04x; want initiator error (class 2)",
          (unsigned)status);
    SOFT_CHECK(status == 0x0205, "a Login Request with version range 5..5 "
               "got login status 0x%04x; want 0x0205, unsupported version",
               (unsigned)status);
    raw_pdu_free(&p);
    expect_closed(c.fd, 2000, "a refused login (unsupported version)");
    still_serving("a Login Request with an unsupported version");
}

static void
case_half_bhs(void)
{
    struct raw_iscsi c;
    uint8_t bhs[48];

    connect_raw(&c);
    raw_login_bhs(&c, bhs, 1, 3, true, 0, 0);
    raw_write_full(c.fd, bhs, 20);
    close(c.fd);
    test_sleep_ms(100);
    still_serving("half a BHS and a hang-up");
}

/* A logged-in raw connection, digests as offered. */
static void
raw_logged_in(struct raw_iscsi *c, const char *digest)
{
    char hd[64], dd[64];
    const char *keys[] = { hd, dd, "ImmediateData=Yes", "InitialR2T=No",
                           NULL };
    int status;

    snprintf(hd, sizeof hd, "HeaderDigest=%s", digest);
    snprintf(dd, sizeof dd, "DataDigest=%s", digest);
    connect_raw(c);
    status = raw_iscsi_login(c, ISCSI_TEST_INITIATOR, tgt.iqn, keys);
    CHECK(status == 0, "raw login: status 0x%04x", (unsigned)status);
    raw_iscsi_clear_ua(c, tgt.lun);
}

/* After an answer that is not a SCSI Response with GOOD: wait for either
 * a Reject or a close, whatever else comes. */
static void
expect_reject_or_close(struct raw_iscsi *c, int want_reason, int ms,
                       const char *what)
{
    struct raw_pdu p;
    int64_t deadline = test_now_ms() + ms;

    while (test_now_ms() < deadline) {
        if (raw_iscsi_recv(c, &p, (int)(deadline - test_now_ms())) != 0) {
            close(c->fd);
            return; /* closed (or nothing more within the time) */
        }
        CHECK(raw_opcode(&p) != RAW_ISCSI_OP_SCSI_RSP || p.bhs[3] != 0,
              "%s: the WRITE was executed (SCSI Response GOOD)", what);
        CHECK(raw_opcode(&p) != RAW_ISCSI_OP_R2T, "%s: the target asked for "
              "the rest of the WRITE's data", what);
        if (raw_opcode(&p) == RAW_ISCSI_OP_REJECT) {
            if (want_reason >= 0) {
                SOFT_CHECK(p.bhs[2] == want_reason, "%s: Reject reason "
                           "0x%02x, want 0x%02x", what, p.bhs[2],
                           (unsigned)want_reason);
            }
            raw_pdu_free(&p);
            close(c->fd);
            return;
        }
        raw_pdu_free(&p);
    }
    close(c->fd);
}

static void
case_dsl_over_limit(void)
{
    struct raw_iscsi c;
    uint8_t bhs[48], cdb[16], *zeros = calloc(1, 256 * KIB);
    char what[] = "a WRITE whose DataSegmentLength exceeds "
                  "MaxRecvDataSegmentLength";

    CHECK(zeros != NULL, "out of memory");
    raw_logged_in(&c, "None");
    raw_cdb16(cdb, 0x8a, 0, 8);
    raw_scsi_bhs(&c, bhs, tgt.lun, cdb, 16, false, true, 4096);
    bhs[5] = 0xff; /* 16 MiB - 1 */
    bhs[6] = bhs[7] = 0xff;
    raw_iscsi_send_ex(&c, bhs, NULL, 0, true, false, false);
    raw_write_full(c.fd, zeros, 256 * KIB); /* may fail: closed */
    expect_reject_or_close(&c, -1, 2000, what);
    free(zeros);
    still_serving(what);
}

static void
case_bad_header_digest(void)
{
    struct raw_iscsi c;
    uint8_t bhs[48], cdb[16], zeros[4096] = { 0 };
    const char *v;

    raw_logged_in(&c, "CRC32C");
    v = raw_key(&c, "HeaderDigest");
    CHECK(v && strcmp(v, "CRC32C") == 0, "HeaderDigest=CRC32C offered, "
          "answer %s", v ? v : "none");
    raw_cdb16(cdb, 0x8a, 0, 8);
    raw_scsi_bhs(&c, bhs, tgt.lun, cdb, 16, false, true, sizeof zeros);
    c.itt++;
    raw_iscsi_send_ex(&c, bhs, zeros, sizeof zeros, false, true, false);
    /* RFC 7143 section 7.8: discard, or close the connection. */
    expect_reject_or_close(&c, -1, 2000, "a WRITE with a bad header digest");
    still_serving("a WRITE with a bad header digest");
}

static void
case_bad_data_digest(void)
{
    struct raw_iscsi c;
    uint8_t zeros[4096] = { 0 };
    int r, reason = -1;
    const char *v;

    raw_logged_in(&c, "CRC32C");
    v = raw_key(&c, "DataDigest");
    CHECK(v && strcmp(v, "CRC32C") == 0, "DataDigest=CRC32C offered, "
          "answer %s", v ? v : "none");
    r = raw_iscsi_write16(&c, tgt.lun, 0, zeros, sizeof zeros, 512, true,
                          &reason);
    CHECK(r != 0, "a WRITE whose data has a bad data digest succeeded");
    CHECK(r == -1 || r == -2, "a WRITE whose data has a bad data digest "
          "ended with SCSI status 0x%02x; want a Reject or a close",
          (unsigned)r);
    SOFT_CHECK(r == -1 || reason == RAW_ISCSI_REJECT_DATA_DIGEST,
               "bad data digest: Reject reason 0x%02x, want 0x02 (data "
               "digest error)", (unsigned)reason);
    close(c.fd);
    still_serving("a WRITE with a bad data digest");
}

/*
 * A Logout while a WRITE still waits for its unsolicited Data-Out (F
 * clear, less data than EDTL): the Logout is answered and the connection
 * closed.  The target used to wait for that data, having stopped reading
 * for the Logout, so neither came, ever (found by fuzz-iscsi-pdu).
 */
static void
case_logout_while_write_waits(void)
{
    struct raw_iscsi c;
    struct raw_pdu p;
    uint8_t bhs[48], cdb[16], data[512] = { 0 };
    bool answered = false;
    int64_t deadline;

    raw_logged_in(&c, "None");
    raw_cdb16(cdb, 0x8a, 0, 8);
    raw_scsi_bhs(&c, bhs, tgt.lun, cdb, 16, false, true, 4096);
    bhs[1] &= 0x7f; /* not final: unsolicited Data-Out would follow */
    c.itt++;
    CHECK(raw_iscsi_send(&c, bhs, data, sizeof data), "WRITE: closed");
    c.cmdsn++;
    memset(bhs, 0, sizeof bhs);
    bhs[0] = RAW_ISCSI_OP_LOGOUT | RAW_ISCSI_IMMEDIATE;
    bhs[1] = 0x80; /* close the session */
    raw_put32(bhs + 16, c.itt++);
    raw_put32(bhs + 24, c.cmdsn);
    raw_put32(bhs + 28, c.expstatsn);
    CHECK(raw_iscsi_send(&c, bhs, NULL, 0), "Logout: closed");
    deadline = test_now_ms() + 5000;
    while (!answered && test_now_ms() < deadline &&
           raw_iscsi_recv(&c, &p, (int)(deadline - test_now_ms())) == 0) {
        answered = raw_opcode(&p) == RAW_ISCSI_OP_LOGOUT_RSP && p.bhs[2] == 0;
        raw_pdu_free(&p);
    }
    CHECK(answered, "a Logout while a WRITE waits for its Data-Out was not "
          "answered within 5 s");
    expect_closed(c.fd, 5000, "the connection after the Logout");
    still_serving("a Logout while a WRITE waits for its Data-Out");
}

static void
case_idle_before_login(void)
{
    struct raw_iscsi c;
    int64_t t0 = test_now_ms();

    connect_raw(&c);
    expect_closed(c.fd, 6000, "a connection that never logs in "
                  "(login-timeout = 2s)");
    printf("ok: a connection that never logs in was closed after %.1f s\n",
           (double)(test_now_ms() - t0) / 1000.0);
    still_serving("a connection idle before login");
}

int
main(void)
{
    struct iscsi_context *ctx;

    test_init("test-iscsi-malformed", 60);
    url_mode = test_iscsi_env_target(&tgt);
    if (url_mode) {
        port = atoi(strrchr(tgt.portal, ':') + 1);
    } else {
        test_iscsi_server_start(&srv, conf);
        test_iscsi_export_target(&srv, "disk0", &tgt);
        port = srv.port;
    }
    ctx = test_iscsi_login(&tgt, NULL, "writing the pattern");
    test_iscsi_roundtrip(ctx, tgt.lun, 0, PATTERN_LEN, 512, PATTERN_SEED,
                         false, "writing the pattern");
    test_iscsi_logout(ctx, "writing the pattern");

    case_garbage();
    case_huge_dsl_login();
    case_scsi_before_login();
    case_bad_version();
    case_half_bhs();
    case_dsl_over_limit();
    case_bad_header_digest();
    case_bad_data_digest();
    case_logout_while_write_waits();
    if (!url_mode) {
        case_idle_before_login();
        test_server_stop(&srv);
    }
    return test_finish();
}
