/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the iSCSI protocol tests (tests/iscsi/test-iscsi-*.c).
 *
 * Starting and stopping a private polltgtd, CHECK/FAIL/SOFT_CHECK, time
 * bounds and test data come from tests/server-test-helpers.h.  Here:
 *
 *  - test_iscsi_server_start(): start polltgtd on a configuration whose
 *    [iscsi] listen is 127.0.0.1:@PORT@ and wait for its
 *    "iscsi: listening on 127.0.0.1:PORT" line;
 *  - libiscsi conveniences (synchronous API): log in with options, check a
 *    task's status and sense, clear unit attentions;
 *  - a small raw iSCSI initiator (plain sockets, RFC 7143 PDUs, CRC32C
 *    digests) for what libiscsi cannot or will not send: data digests,
 *    broken digests, PDUs out of place, malformed headers.
 *
 * ISCSI_TEST_URL=iscsi://HOST:PORT/TARGET/LUN in the environment makes the
 * tests that support it skip starting polltgtd and run their
 * target-independent checks against that target instead (used to check
 * the tests themselves against another target, e.g. tgt; see each test's
 * comment for what it runs then).
 *
 * Everything is static: each test is one .c file.
 */
#ifndef POLLTGT_TESTS_ISCSI_ISCSI_TEST_HELPERS_H
#define POLLTGT_TESTS_ISCSI_ISCSI_TEST_HELPERS_H

#ifndef TEST_SERVER_DIR_PREFIX
#define TEST_SERVER_DIR_PREFIX "polltgt-iscsi"
#endif
#include "../server-test-helpers.h"

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define KIB 1024u
#define MIB (1024u * 1024u)

/* The default iqn-prefix; exports are targets <prefix>:<export name>. */
#define ISCSI_TEST_IQN_PREFIX "iqn.2026-11.org.polltgt"
#define ISCSI_TEST_INITIATOR "iqn.2026-11.org.polltgt.test:initiator"

/* Where the tests log in: polltgtd's portal, or ISCSI_TEST_URL's. */
struct iscsi_test_target {
    char portal[300];   /* HOST:PORT */
    char iqn[300];
    int lun;
};

/* ISCSI_TEST_URL parsed into t; false when it is not set. */
static inline bool
test_iscsi_env_target(struct iscsi_test_target *t)
{
    const char *url = getenv("ISCSI_TEST_URL");
    struct iscsi_context *ctx;
    struct iscsi_url *u;

    if (url == NULL || url[0] == '\0') {
        return false;
    }
    ctx = iscsi_create_context(ISCSI_TEST_INITIATOR);
    CHECK(ctx != NULL, "iscsi_create_context");
    u = iscsi_parse_full_url(ctx, url);
    CHECK(u != NULL, "ISCSI_TEST_URL=%s: %s", url, iscsi_get_error(ctx));
    snprintf(t->portal, sizeof t->portal, "%s", u->portal);
    snprintf(t->iqn, sizeof t->iqn, "%s", u->target);
    t->lun = u->lun;
    iscsi_destroy_url(u);
    iscsi_destroy_context(ctx);
    fprintf(stderr, "%s: using ISCSI_TEST_URL %s (portal %s, target %s, "
            "LUN %d): polltgt-specific checks are left out\n",
            test_name, url, t->portal, t->iqn, t->lun);
    return true;
}

/* The target of export name on the server s (LUN 0). */
static inline void
test_iscsi_export_target(const struct test_server *s, const char *name,
                         struct iscsi_test_target *t)
{
    snprintf(t->portal, sizeof t->portal, "127.0.0.1:%d", s->port);
    snprintf(t->iqn, sizeof t->iqn, "%s:%s", ISCSI_TEST_IQN_PREFIX, name);
    t->lun = 0;
}

/* LUN lun of target <prefix>:name, on the portal already in t. */
static inline void
test_iscsi_export_target_lun(struct iscsi_test_target *t, const char *name,
                             int lun)
{
    snprintf(t->iqn, sizeof t->iqn, "%s:%s", ISCSI_TEST_IQN_PREFIX, name);
    t->lun = lun;
}

/*
 * Start polltgtd on conf_text (which must have "[iscsi]\nlisten =
 * 127.0.0.1:@PORT@") and wait for the iSCSI listener's log line.
 */
static inline void
test_iscsi_server_start(struct test_server *s, const char *conf_text)
{
    char want[80];
    int64_t deadline;

    CHECK(strstr(conf_text, "127.0.0.1:@PORT@") != NULL,
          "iSCSI test configurations listen on 127.0.0.1:@PORT@");
    test_server_start(s, conf_text);
    snprintf(want, sizeof want, "iscsi: listening on 127.0.0.1:%d", s->port);
    deadline = test_now_ms() + 10000;
    while (!test_server_log_has(s, want)) {
        test_server_check_alive(s);
        CHECK(test_now_ms() < deadline, "no \"%s\" log line within 10 s",
              want);
        test_sleep_ms(20);
    }
}

/* ------------------------------------------------------------------ */
/* libiscsi                                                             */

/* Login options; a zeroed struct is a plain login as ISCSI_TEST_INITIATOR
 * with libiscsi's defaults (ImmediateData=Yes, InitialR2T=No, no digest). */
struct iscsi_test_opts {
    const char *initiator;           /* NULL: ISCSI_TEST_INITIATOR */
    const char *user, *secret;       /* CHAP */
    const char *target_user, *target_secret; /* mutual CHAP */
    bool header_digest;              /* offer only CRC32C */
    bool no_immediate_data;          /* ImmediateData=No */
    bool initial_r2t;                /* InitialR2T=Yes */
};

static inline struct iscsi_context *
test_iscsi_context(const struct iscsi_test_opts *o)
{
    struct iscsi_context *ctx =
        iscsi_create_context(o && o->initiator ? o->initiator
                                               : ISCSI_TEST_INITIATOR);

    CHECK(ctx != NULL, "iscsi_create_context failed");
    /* A dropped connection must show, not be mended behind our back. */
    iscsi_set_noautoreconnect(ctx, 1);
    iscsi_set_reconnect_max_retries(ctx, 0);
    /* Every PDU is answered in 20 s or the call fails (alarm is 60 s). */
    iscsi_set_timeout(ctx, 20);
    return ctx;
}

/* Log in to target t (normal session, t->lun tested ready by libiscsi);
 * NULL on failure, with libiscsi's error in err. */
static inline struct iscsi_context *
test_iscsi_try_login(const struct iscsi_test_target *t,
                     const struct iscsi_test_opts *o, char *err,
                     size_t errlen)
{
    struct iscsi_context *ctx = test_iscsi_context(o);

    CHECK(iscsi_set_targetname(ctx, t->iqn) == 0, "iscsi_set_targetname");
    CHECK(iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL) == 0,
          "iscsi_set_session_type");
    if (o && o->header_digest) {
        CHECK(iscsi_set_header_digest(ctx, ISCSI_HEADER_DIGEST_CRC32C) == 0,
              "iscsi_set_header_digest");
    }
    if (o && o->no_immediate_data) {
        CHECK(iscsi_set_immediate_data(ctx, ISCSI_IMMEDIATE_DATA_NO) == 0,
              "iscsi_set_immediate_data");
    }
    if (o && o->initial_r2t) {
        CHECK(iscsi_set_initial_r2t(ctx, ISCSI_INITIAL_R2T_YES) == 0,
              "iscsi_set_initial_r2t");
    }
    if (o && o->user) {
        CHECK(iscsi_set_initiator_username_pwd(ctx, o->user, o->secret) == 0,
              "iscsi_set_initiator_username_pwd");
    }
    if (o && o->target_user) {
        CHECK(iscsi_set_target_username_pwd(ctx, o->target_user,
                                            o->target_secret) == 0,
              "iscsi_set_target_username_pwd");
    }
    if (iscsi_full_connect_sync(ctx, t->portal, t->lun) != 0) {
        snprintf(err, errlen, "%s", iscsi_get_error(ctx));
        iscsi_destroy_context(ctx);
        return NULL;
    }
    err[0] = '\0';
    return ctx;
}

/* The same, failing the test if the login fails. */
static inline struct iscsi_context *
test_iscsi_login(const struct iscsi_test_target *t,
                 const struct iscsi_test_opts *o, const char *what)
{
    char err[512];
    struct iscsi_context *ctx = test_iscsi_try_login(t, o, err, sizeof err);

    CHECK(ctx != NULL, "%s: login to %s at %s failed: %s", what, t->iqn,
          t->portal, err);
    return ctx;
}

/* Log out (the target must answer) and free the context. */
static inline void
test_iscsi_logout(struct iscsi_context *ctx, const char *what)
{
    CHECK(iscsi_logout_sync(ctx) == 0, "%s: logout failed: %s", what,
          iscsi_get_error(ctx));
    iscsi_destroy_context(ctx);
}

/* What a finished task says, for messages. */
static inline const char *
test_task_str(struct iscsi_context *ctx, const struct scsi_task *task)
{
    static char buf[512];

    if (task == NULL) {
        snprintf(buf, sizeof buf, "no task (transport error: %s)",
                 iscsi_get_error(ctx));
    } else if (task->status == SCSI_STATUS_CHECK_CONDITION) {
        snprintf(buf, sizeof buf,
                 "CHECK CONDITION, sense key %s (0x%x), ASC/ASCQ %s (0x%04x)",
                 scsi_sense_key_str(task->sense.key), (unsigned)task->sense.key,
                 scsi_sense_ascq_str(task->sense.ascq),
                 (unsigned)task->sense.ascq);
    } else {
        snprintf(buf, sizeof buf, "status 0x%x (%s)", (unsigned)task->status,
                 iscsi_get_error(ctx));
    }
    return buf;
}

/* The task completed with GOOD status (else fail, saying how it ended).
 * Does not free the task. */
#define CHECK_TASK_GOOD(ctx, task, ...)                                       \
    do {                                                                      \
        struct scsi_task *t_ = (task);                                        \
        if (t_ == NULL || t_->status != SCSI_STATUS_GOOD) {                   \
            fprintf(stderr, "%s: %s\n", test_name, test_task_str(ctx, t_));  \
            test_failf(__FILE__, __LINE__, __VA_ARGS__);                      \
        }                                                                     \
    } while (0)

/* The task ended in CHECK CONDITION with sense key key and ASC/ASCQ ascq
 * (ascq_mask 0xff00 compares the ASC only).  Succeeding or a transport
 * error fails hard; a different sense is a soft failure.  Frees task. */
#define CHECK_TASK_SENSE(ctx, task, key, ascq, ascq_mask, what)               \
    test_check_sense(__FILE__, __LINE__, ctx, task, key, ascq, ascq_mask, what)

static inline void
test_check_sense(const char *file, int line, struct iscsi_context *ctx,
                 struct scsi_task *task, int key, int ascq, int ascq_mask,
                 const char *what)
{
    if (task == NULL || task->status != SCSI_STATUS_CHECK_CONDITION) {
        test_failf(file, line,
                   "%s: expected CHECK CONDITION %s / %s (0x%04x), got %s",
                   what, scsi_sense_key_str(key), scsi_sense_ascq_str(ascq),
                   (unsigned)ascq, test_task_str(ctx, task));
    }
    if ((int)task->sense.key != key ||
        (task->sense.ascq & ascq_mask) != (ascq & ascq_mask)) {
        fprintf(stderr, "%s: FAIL: %s:%d: %s: expected sense %s / %s "
                "(0x%04x), got %s\n", test_name, file, line, what,
                scsi_sense_key_str(key), scsi_sense_ascq_str(ascq),
                (unsigned)ascq, test_task_str(ctx, task));
        test_soft_failures++;
    }
    scsi_free_scsi_task(task);
}

/* Consume unit attentions (after a reset the next commands may report
 * one, SAM-5 6.3): TEST UNIT READY until GOOD, at most 4 times. */
static inline void
test_iscsi_clear_ua(struct iscsi_context *ctx, int lun, const char *what)
{
    for (int i = 0; i < 4; i++) {
        struct scsi_task *task = iscsi_testunitready_sync(ctx, lun);

        CHECK(task != NULL, "%s: TEST UNIT READY: %s", what,
              iscsi_get_error(ctx));
        if (task->status == SCSI_STATUS_GOOD) {
            scsi_free_scsi_task(task);
            return;
        }
        CHECK(task->status == SCSI_STATUS_CHECK_CONDITION &&
              task->sense.key == SCSI_SENSE_UNIT_ATTENTION,
              "%s: TEST UNIT READY: %s", what, test_task_str(ctx, task));
        scsi_free_scsi_task(task);
    }
    FAIL("%s: TEST UNIT READY still reports unit attentions after 4 tries",
         what);
}

/* Write len bytes (a pattern from seed) at lba, read them back, compare. */
static inline void
test_iscsi_roundtrip(struct iscsi_context *ctx, int lun, uint64_t lba,
                     uint32_t len, uint32_t bs, uint32_t seed, bool fua,
                     const char *what)
{
    uint8_t *buf = malloc(len), *got = malloc(len);
    struct scsi_task *task;
    ssize_t d;

    CHECK(buf && got, "out of memory");
    test_fill(buf, len, lba * bs, seed);
    task = iscsi_write16_sync(ctx, lun, lba, buf, len, (int)bs, 0, 0,
                              fua ? 1 : 0, 0, 0);
    CHECK_TASK_GOOD(ctx, task, "%s: WRITE(16) of %u bytes at LBA %" PRIu64
                    "%s", what, len, lba, fua ? " with FUA" : "");
    scsi_free_scsi_task(task);
    task = iscsi_read16_sync(ctx, lun, lba, len, (int)bs, 0, 0, 0, 0, 0);
    CHECK_TASK_GOOD(ctx, task, "%s: READ(16) of %u bytes at LBA %" PRIu64,
                    what, len, lba);
    CHECK(task->datain.size == (int)len,
          "%s: READ(16) of %u bytes returned %d bytes", what, len,
          task->datain.size);
    memcpy(got, task->datain.data, len);
    scsi_free_scsi_task(task);
    d = test_memdiff(got, buf, len);
    CHECK(d < 0, "%s: %u bytes at LBA %" PRIu64 " read back differ from "
          "what was written, first at byte %zd (got 0x%02x, want 0x%02x)",
          what, len, lba, d, got[d > 0 ? d : 0], buf[d > 0 ? d : 0]);
    free(buf);
    free(got);
}

/* Read len bytes at lba and require the pattern (offset, seed). */
static inline void
test_iscsi_expect(struct iscsi_context *ctx, int lun, uint64_t lba,
                  uint32_t len, uint32_t bs, uint32_t seed, const char *what)
{
    uint8_t *want = malloc(len);
    struct scsi_task *task;
    ssize_t d;

    CHECK(want != NULL, "out of memory");
    test_fill(want, len, lba * bs, seed);
    task = iscsi_read16_sync(ctx, lun, lba, len, (int)bs, 0, 0, 0, 0, 0);
    CHECK_TASK_GOOD(ctx, task, "%s: READ(16) of %u bytes at LBA %" PRIu64,
                    what, len, lba);
    CHECK(task->datain.size == (int)len, "%s: READ(16) returned %d bytes, "
          "want %u", what, task->datain.size, len);
    d = test_memdiff(task->datain.data, want, len);
    CHECK(d < 0, "%s: data at LBA %" PRIu64 " differs at byte %zd (got "
          "0x%02x, want 0x%02x)", what, lba, d,
          task->datain.data[d > 0 ? d : 0], want[d > 0 ? d : 0]);
    scsi_free_scsi_task(task);
    free(want);
}

/* Run the libiscsi event loop until *done or timeout_ms passes. */
static inline void
test_iscsi_wait(struct iscsi_context *ctx, const bool *done, int timeout_ms,
                const char *what)
{
    int64_t deadline = test_now_ms() + timeout_ms;

    while (!*done) {
        struct pollfd pfd = { .fd = iscsi_get_fd(ctx),
                              .events = (short)iscsi_which_events(ctx) };
        int r;

        CHECK(test_now_ms() < deadline, "%s: not done within %d ms", what,
              timeout_ms);
        r = poll(&pfd, 1, 100);
        CHECK(r >= 0 || errno == EINTR, "poll: %s", strerror(errno));
        CHECK(iscsi_service(ctx, r > 0 ? pfd.revents : 0) == 0,
              "%s: iscsi_service: %s", what, iscsi_get_error(ctx));
    }
}

/* ------------------------------------------------------------------ */
/* Raw iSCSI initiator (no libiscsi).                                   */

/* Opcodes (RFC 7143 section 11.1.1). */
#define RAW_ISCSI_OP_NOP_OUT      0x00
#define RAW_ISCSI_OP_SCSI_CMD     0x01
#define RAW_ISCSI_OP_LOGIN        0x03
#define RAW_ISCSI_OP_DATA_OUT     0x05
#define RAW_ISCSI_OP_LOGOUT       0x06
#define RAW_ISCSI_OP_NOP_IN       0x20
#define RAW_ISCSI_OP_SCSI_RSP     0x21
#define RAW_ISCSI_OP_LOGIN_RSP    0x23
#define RAW_ISCSI_OP_DATA_IN      0x25
#define RAW_ISCSI_OP_LOGOUT_RSP   0x26
#define RAW_ISCSI_OP_R2T          0x31
#define RAW_ISCSI_OP_REJECT       0x3f
#define RAW_ISCSI_IMMEDIATE       0x40

#define RAW_ISCSI_REJECT_DATA_DIGEST 0x02

/* CRC32C (Castagnoli), reflected, as iSCSI digests use it. */
static inline uint32_t
raw_crc32c(const void *buf, size_t len)
{
    static uint32_t table[256];
    const uint8_t *p = buf;
    uint32_t crc = 0xffffffffu;

    if (table[1] == 0) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;

            for (int k = 0; k < 8; k++) {
                c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
            }
            table[i] = c;
        }
    }
    for (size_t i = 0; i < len; i++) {
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    }
    return crc ^ 0xffffffffu;
}

/* A digest as it goes on the wire: least significant byte first (the
 * RFC 3720 B.4 vectors: 32 zero bytes give aa 36 91 8a). */
static inline void
raw_put_digest(uint8_t *p, uint32_t crc)
{
    p[0] = (uint8_t)crc;
    p[1] = (uint8_t)(crc >> 8);
    p[2] = (uint8_t)(crc >> 16);
    p[3] = (uint8_t)(crc >> 24);
}

static inline void
raw_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t
raw_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

/* Send all of buf; false if the peer has gone (EPIPE/ECONNRESET). */
static inline bool
raw_write_full(int fd, const void *buf, size_t len)
{
    int r = test_send_full(fd, buf, len);

    if (r == -EPIPE || r == -ECONNRESET) {
        return false;
    }
    if (r < 0) {
        FAIL("send: %s", strerror(-r));
    }
    return true;
}

/* One connection of the raw initiator. */
struct raw_iscsi {
    int fd;
    bool hd, dd;            /* digests in use (after login) */
    uint32_t itt;           /* next initiator task tag */
    uint32_t cmdsn;
    uint32_t expstatsn;
    uint32_t max_xmit_dsl;  /* the target's MaxRecvDataSegmentLength */
    uint32_t first_burst;
    bool immediate_data;
    bool initial_r2t;
    char keys[8192];        /* the target's login answers, "k=v\n"... */
    uint8_t sense_key;      /* of the last CHECK CONDITION */
    uint16_t asc_ascq;
};

/* A received PDU. */
struct raw_pdu {
    uint8_t bhs[48];
    uint8_t *data;          /* malloc'd, dlen (+ up to 3) bytes */
    uint32_t dlen;
    bool hd_ok, dd_ok;      /* the digests checked out (true if none) */
};

static inline uint8_t
raw_opcode(const struct raw_pdu *p)
{
    return p->bhs[0] & 0x3f;
}

/* Keep the sense data of a SCSI Response (fixed or descriptor format). */
static inline void
raw_keep_sense(struct raw_iscsi *c, const struct raw_pdu *p)
{
    const uint8_t *s = p->data + 2;
    uint32_t sl = p->dlen >= 2 ? (uint32_t)p->data[0] << 8 | p->data[1] : 0;

    c->sense_key = 0;
    c->asc_ascq = 0;
    if (sl < 8 || sl + 2 > p->dlen) {
        return;
    }
    if ((s[0] & 0x7f) == 0x72 || (s[0] & 0x7f) == 0x73) {
        c->sense_key = s[1] & 0x0f;
        c->asc_ascq = (uint16_t)(s[2] << 8 | s[3]);
    } else if (sl >= 14) {
        c->sense_key = s[2] & 0x0f;
        c->asc_ascq = (uint16_t)(s[12] << 8 | s[13]);
    }
}

static inline void
raw_pdu_free(struct raw_pdu *p)
{
    free(p->data);
    p->data = NULL;
}

/* Send BHS + data, with digests as c says; corrupt_hd / corrupt_dd flip a
 * bit of that digest.  The BHS's DataSegmentLength is set to len unless
 * keep_dsl.  Returns false if the peer had gone. */
static inline bool
raw_iscsi_send_ex(struct raw_iscsi *c, uint8_t *bhs, const void *data,
                  uint32_t len, bool keep_dsl, bool corrupt_hd,
                  bool corrupt_dd)
{
    uint32_t pad = (4 - (len & 3)) & 3;
    size_t total = 48 + (c->hd ? 4 : 0) + len + pad + (c->dd && len ? 4 : 0);
    uint8_t *out = calloc(1, total);
    size_t pos = 48;
    bool ok;

    CHECK(out != NULL, "out of memory");
    if (!keep_dsl) {
        bhs[5] = (uint8_t)(len >> 16);
        bhs[6] = (uint8_t)(len >> 8);
        bhs[7] = (uint8_t)len;
    }
    memcpy(out, bhs, 48);
    if (c->hd) {
        raw_put_digest(out + pos, raw_crc32c(bhs, 48) ^ (corrupt_hd ? 1 : 0));
        pos += 4;
    }
    if (len) {
        memcpy(out + pos, data, len);
        pos += len + pad;
        if (c->dd) {
            raw_put_digest(out + pos,
                           raw_crc32c(out + pos - len - pad, len + pad) ^
                               (corrupt_dd ? 1 : 0));
            pos += 4;
        }
    }
    ok = raw_write_full(c->fd, out, pos);
    free(out);
    return ok;
}

static inline bool
raw_iscsi_send(struct raw_iscsi *c, uint8_t *bhs, const void *data,
               uint32_t len)
{
    return raw_iscsi_send_ex(c, bhs, data, len, false, false, false);
}

/* Receive one PDU: 0, or -1 on EOF/timeout/reset. */
static inline int
raw_iscsi_recv(struct raw_iscsi *c, struct raw_pdu *p, int timeout_ms)
{
    uint8_t dig[4];
    uint32_t ahs, pad;

    memset(p, 0, sizeof *p);
    p->hd_ok = p->dd_ok = true;
    if (test_read_full(c->fd, p->bhs, 48, timeout_ms) != 48) {
        return -1;
    }
    ahs = (uint32_t)p->bhs[4] * 4;
    p->dlen = (uint32_t)p->bhs[5] << 16 | (uint32_t)p->bhs[6] << 8 |
              p->bhs[7];
    CHECK(ahs == 0, "target sent a PDU (opcode 0x%02x) with %u bytes of "
          "AHS, none asked for", (unsigned)(p->bhs[0] & 0x3f), ahs);
    if (c->hd) {
        if (test_read_full(c->fd, dig, 4, timeout_ms) != 4) {
            return -1;
        }
        p->hd_ok = raw_crc32c(p->bhs, 48) ==
                   ((uint32_t)dig[0] | (uint32_t)dig[1] << 8 |
                    (uint32_t)dig[2] << 16 | (uint32_t)dig[3] << 24);
    }
    CHECK(p->dlen <= 16 * MIB, "PDU with a %u-byte data segment", p->dlen);
    pad = (4 - (p->dlen & 3)) & 3;
    p->data = calloc(1, p->dlen + pad + 1);
    CHECK(p->data != NULL, "out of memory");
    if (p->dlen) {
        if (test_read_full(c->fd, p->data, p->dlen + pad, timeout_ms) !=
            (ssize_t)(p->dlen + pad)) {
            raw_pdu_free(p);
            return -1;
        }
        if (c->dd) {
            if (test_read_full(c->fd, dig, 4, timeout_ms) != 4) {
                raw_pdu_free(p);
                return -1;
            }
            p->dd_ok = raw_crc32c(p->data, p->dlen + pad) ==
                       ((uint32_t)dig[0] | (uint32_t)dig[1] << 8 |
                        (uint32_t)dig[2] << 16 | (uint32_t)dig[3] << 24);
        }
    }
    return 0;
}

static inline int
raw_iscsi_connect(struct raw_iscsi *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = test_connect_tcp(port);
    c->itt = 1;
    c->cmdsn = 1;
    c->max_xmit_dsl = 8192; /* RFC default until the target declares */
    c->first_burst = 65536;
    c->initial_r2t = true;
    return c->fd;
}

/* A Login Request BHS: CSG/NSG, transit, versions, ISID, TSIH 0. */
static inline void
raw_login_bhs(struct raw_iscsi *c, uint8_t *bhs, int csg, int nsg,
              bool transit, uint8_t vmax, uint8_t vmin)
{
    static const uint8_t isid[6] = { 0x80, 0x00, 0x00, 0x70, 0x67, 0x74 };

    memset(bhs, 0, 48);
    bhs[0] = RAW_ISCSI_IMMEDIATE | RAW_ISCSI_OP_LOGIN;
    bhs[1] = (uint8_t)((transit ? 0x80 : 0) | (csg << 2) | nsg);
    bhs[2] = vmax;
    bhs[3] = vmin;
    memcpy(bhs + 8, isid, 6);   /* TSIH (14..15) 0: a new session */
    raw_put32(bhs + 16, c->itt);
    /* CID (20..21) 0 */
    raw_put32(bhs + 24, c->cmdsn);
    raw_put32(bhs + 28, c->expstatsn);
}

/* Append "key=value\0" to a text buffer. */
static inline void
raw_text_add(char *buf, size_t cap, size_t *len, const char *kv)
{
    size_t l = strlen(kv) + 1;

    CHECK(*len + l <= cap, "login text too long");
    memcpy(buf + *len, kv, l);
    *len += l;
}

/* The value of key in a "k=v\n" list, or NULL (points into a static). */
static inline const char *
raw_key(const struct raw_iscsi *c, const char *key)
{
    static char val[256];
    size_t kl = strlen(key);
    const char *p = c->keys;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);

        if (l > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            snprintf(val, sizeof val, "%.*s", (int)(l - kl - 1), p + kl + 1);
            return val;
        }
        p += l + (nl ? 1 : 0);
    }
    return NULL;
}

/* Record the keys of a login/text response data segment. */
static inline void
raw_collect_keys(struct raw_iscsi *c, const struct raw_pdu *p)
{
    size_t used = strlen(c->keys);

    for (uint32_t i = 0; i < p->dlen;) {
        const char *kv = (const char *)p->data + i;
        size_t l = strnlen(kv, p->dlen - i);

        if (l && used + l + 2 < sizeof c->keys) {
            memcpy(c->keys + used, kv, l);
            used += l;
            c->keys[used++] = '\n';
            c->keys[used] = '\0';
        }
        i += (uint32_t)l + 1;
    }
}

/*
 * Log in with a normal session straight into the operational stage (no
 * security stage: for targets without CHAP), offering the keys in extra
 * ("k=v" strings, NULL-terminated) after InitiatorName/TargetName/
 * SessionType.  Answers with empty Login Requests while the target keeps
 * T=0.  Returns the final Login Response status (class << 8 | detail);
 * 0 means the session is in full feature phase, with the negotiated
 * values in c (digests take effect from the next PDU on).
 */
static inline int
raw_iscsi_login(struct raw_iscsi *c, const char *initiator, const char *target,
                const char *const *extra)
{
    char text[4096], kv[512];
    size_t len = 0;
    uint8_t bhs[48];
    struct raw_pdu p;
    const char *v;

    snprintf(kv, sizeof kv, "InitiatorName=%s", initiator);
    raw_text_add(text, sizeof text, &len, kv);
    snprintf(kv, sizeof kv, "TargetName=%s", target);
    raw_text_add(text, sizeof text, &len, kv);
    raw_text_add(text, sizeof text, &len, "SessionType=Normal");
    for (size_t i = 0; extra && extra[i]; i++) {
        raw_text_add(text, sizeof text, &len, extra[i]);
    }
    c->keys[0] = '\0';
    for (int round = 0; round < 8; round++) {
        int status;

        raw_login_bhs(c, bhs, 1, 3, true, 0, 0);
        CHECK(raw_iscsi_send(c, bhs, text, (uint32_t)len),
              "the target closed the connection during login");
        CHECK(raw_iscsi_recv(c, &p, 10000) == 0, "no Login Response");
        CHECK(raw_opcode(&p) == RAW_ISCSI_OP_LOGIN_RSP,
              "expected a Login Response, got opcode 0x%02x", raw_opcode(&p));
        c->expstatsn = raw_get32(p.bhs + 24) + 1;
        status = p.bhs[36] << 8 | p.bhs[37];
        raw_collect_keys(c, &p);
        if (status != 0) {
            raw_pdu_free(&p);
            return status;
        }
        if ((p.bhs[1] & 0x80) && (p.bhs[1] & 3) == 3) {
            raw_pdu_free(&p);
            break;
        }
        raw_pdu_free(&p);
        len = 0; /* nothing more to say; ask again to move on */
        CHECK(round < 7, "the target never moved to full feature phase");
    }
    /* Login Requests are immediate: the first command in full feature
     * phase carries the login's CmdSN (RFC 7143 section 11.12.8). */
    c->hd = (v = raw_key(c, "HeaderDigest")) && strcmp(v, "CRC32C") == 0;
    c->dd = (v = raw_key(c, "DataDigest")) && strcmp(v, "CRC32C") == 0;
    if ((v = raw_key(c, "MaxRecvDataSegmentLength"))) {
        c->max_xmit_dsl = (uint32_t)strtoul(v, NULL, 10);
    }
    if ((v = raw_key(c, "FirstBurstLength"))) {
        c->first_burst = (uint32_t)strtoul(v, NULL, 10);
    }
    c->immediate_data = (v = raw_key(c, "ImmediateData")) &&
                        strcmp(v, "Yes") == 0;
    c->initial_r2t = !((v = raw_key(c, "InitialR2T")) && strcmp(v, "No") == 0);
    c->itt++;
    return 0;
}

/* A SCSI Command BHS for LUN lun (flat addressing below 256). */
static inline void
raw_scsi_bhs(struct raw_iscsi *c, uint8_t *bhs, int lun, const uint8_t *cdb,
             size_t cdblen, bool read, bool write, uint32_t edtl)
{
    memset(bhs, 0, 48);
    bhs[0] = RAW_ISCSI_OP_SCSI_CMD;
    bhs[1] = (uint8_t)(0x80 | (read ? 0x40 : 0) | (write ? 0x20 : 0) | 1);
    bhs[9] = (uint8_t)lun;
    raw_put32(bhs + 16, c->itt);
    raw_put32(bhs + 20, edtl);
    raw_put32(bhs + 24, c->cmdsn);
    raw_put32(bhs + 28, c->expstatsn);
    memcpy(bhs + 32, cdb, cdblen);
}

static inline void
raw_cdb16(uint8_t *cdb, uint8_t op, uint64_t lba, uint32_t blocks)
{
    memset(cdb, 0, 16);
    cdb[0] = op;
    for (int i = 0; i < 8; i++) {
        cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
    }
    raw_put32(cdb + 10, blocks);
}

/*
 * WRITE(16) of len bytes at lba through the raw connection, answering
 * R2Ts with Data-Out, within the negotiated limits.  corrupt_dd flips a
 * bit of the data digest of the first data the target gets.  Returns the
 * SCSI status (0 GOOD), or -1 if the connection closed first, or -2 if the
 * target answered with a Reject (its reason in *reject_reason).
 */
static inline int
raw_iscsi_write16(struct raw_iscsi *c, int lun, uint64_t lba,
                  const uint8_t *buf, uint32_t len, uint32_t bs,
                  bool corrupt_dd, int *reject_reason)
{
    uint8_t bhs[48], cdb[16];
    uint32_t imm = 0, itt = c->itt;
    struct raw_pdu p;
    bool corrupt = corrupt_dd;

    raw_cdb16(cdb, 0x8a, lba, len / bs);
    raw_scsi_bhs(c, bhs, lun, cdb, 16, false, true, len);
    c->itt++;
    if (c->immediate_data) {
        imm = len;
        if (imm > c->first_burst) {
            imm = c->first_burst;
        }
        if (imm > c->max_xmit_dsl) {
            imm = c->max_xmit_dsl;
        }
    }
    CHECK(c->initial_r2t || imm == len,
          "raw client: unsolicited Data-Out is not implemented");
    if (!raw_iscsi_send_ex(c, bhs, buf, imm, false, false, corrupt && imm)) {
        return -1;
    }
    if (imm) {
        corrupt = false;
    }
    c->cmdsn++;
    for (;;) {
        if (raw_iscsi_recv(c, &p, 15000) != 0) {
            return -1;
        }
        CHECK(p.hd_ok && p.dd_ok, "target's PDU (opcode 0x%02x) has a bad "
              "%s digest", raw_opcode(&p), p.hd_ok ? "data" : "header");
        switch (raw_opcode(&p)) {
        case RAW_ISCSI_OP_R2T: {
            uint32_t ttt = raw_get32(p.bhs + 20), off = raw_get32(p.bhs + 40);
            uint32_t want = raw_get32(p.bhs + 44), sn = 0;

            CHECK(raw_get32(p.bhs + 16) == itt, "R2T for another task");
            CHECK((uint64_t)off + want <= len, "R2T for bytes %u..%u of a "
                  "%u-byte write", off, off + want, len);
            while (want) {
                uint32_t n = want < c->max_xmit_dsl ? want : c->max_xmit_dsl;
                uint8_t d[48] = { 0 };

                d[0] = RAW_ISCSI_OP_DATA_OUT;
                d[1] = n == want ? 0x80 : 0;
                d[9] = (uint8_t)lun;
                raw_put32(d + 16, itt);
                raw_put32(d + 20, ttt);
                raw_put32(d + 28, c->expstatsn);
                raw_put32(d + 36, sn++);
                raw_put32(d + 40, off);
                if (!raw_iscsi_send_ex(c, d, buf + off, n, false, false,
                                       corrupt)) {
                    raw_pdu_free(&p);
                    return -1;
                }
                corrupt = false;
                off += n;
                want -= n;
            }
            break;
        }
        case RAW_ISCSI_OP_SCSI_RSP: {
            int status = p.bhs[3];

            c->expstatsn = raw_get32(p.bhs + 24) + 1;
            CHECK(p.bhs[2] == 0, "SCSI Response: iSCSI response 0x%02x",
                  p.bhs[2]);
            raw_keep_sense(c, &p);
            raw_pdu_free(&p);
            return status;
        }
        case RAW_ISCSI_OP_REJECT:
            *reject_reason = p.bhs[2];
            raw_pdu_free(&p);
            return -2;
        case RAW_ISCSI_OP_NOP_IN:
            break; /* a ping; not answered (tests keep it short) */
        default:
            FAIL("unexpected PDU opcode 0x%02x during a write",
                 raw_opcode(&p));
        }
        raw_pdu_free(&p);
    }
}

/* READ(16) of len bytes at lba into buf.  Returns the SCSI status, -1 if
 * the connection closed. */
static inline int
raw_iscsi_read16(struct raw_iscsi *c, int lun, uint64_t lba, uint8_t *buf,
                 uint32_t len, uint32_t bs)
{
    uint8_t bhs[48], cdb[16];
    uint32_t itt = c->itt, got = 0;
    struct raw_pdu p;

    raw_cdb16(cdb, 0x88, lba, len / bs);
    raw_scsi_bhs(c, bhs, lun, cdb, 16, true, false, len);
    c->itt++;
    if (!raw_iscsi_send(c, bhs, NULL, 0)) {
        return -1;
    }
    c->cmdsn++;
    for (;;) {
        if (raw_iscsi_recv(c, &p, 15000) != 0) {
            return -1;
        }
        CHECK(p.hd_ok, "target's PDU (opcode 0x%02x) has a bad header "
              "digest", raw_opcode(&p));
        CHECK(p.dd_ok, "target's PDU (opcode 0x%02x) has a bad data digest",
              raw_opcode(&p));
        switch (raw_opcode(&p)) {
        case RAW_ISCSI_OP_DATA_IN: {
            uint32_t off = raw_get32(p.bhs + 40);

            CHECK(raw_get32(p.bhs + 16) == itt, "Data-In for another task");
            CHECK((uint64_t)off + p.dlen <= len, "Data-In for bytes %u..%u "
                  "of a %u-byte read", off, off + p.dlen, len);
            memcpy(buf + off, p.data, p.dlen);
            got += p.dlen;
            if (p.bhs[1] & 0x01) { /* S: status in the last Data-In */
                int status = p.bhs[3];

                c->expstatsn = raw_get32(p.bhs + 24) + 1;
                raw_pdu_free(&p);
                CHECK(got == len, "read of %u bytes got %u", len, got);
                return status;
            }
            break;
        }
        case RAW_ISCSI_OP_SCSI_RSP: {
            int status = p.bhs[3];

            c->expstatsn = raw_get32(p.bhs + 24) + 1;
            raw_keep_sense(c, &p);
            raw_pdu_free(&p);
            CHECK(status != 0 || got == len, "read of %u bytes got %u", len,
                  got);
            return status;
        }
        case RAW_ISCSI_OP_NOP_IN:
            break;
        default:
            FAIL("unexpected PDU opcode 0x%02x during a read", raw_opcode(&p));
        }
        raw_pdu_free(&p);
    }
}

/* TEST UNIT READY until GOOD, consuming unit attentions (a new I_T nexus
 * may start with one: libiscsi's full connect does the same). */
static inline void
raw_iscsi_clear_ua(struct raw_iscsi *c, int lun)
{
    static const uint8_t cdb[6] = { 0 };

    for (int i = 0; i < 4; i++) {
        uint8_t bhs[48];
        struct raw_pdu p;
        int status;

        raw_scsi_bhs(c, bhs, lun, cdb, sizeof cdb, false, false, 0);
        c->itt++;
        CHECK(raw_iscsi_send(c, bhs, NULL, 0), "TEST UNIT READY: the target "
              "closed the connection");
        c->cmdsn++;
        do {
            CHECK(raw_iscsi_recv(c, &p, 15000) == 0, "no answer to TEST UNIT "
                  "READY");
            if (raw_opcode(&p) == RAW_ISCSI_OP_NOP_IN) {
                raw_pdu_free(&p);
            }
        } while (raw_opcode(&p) == RAW_ISCSI_OP_NOP_IN);
        CHECK(raw_opcode(&p) == RAW_ISCSI_OP_SCSI_RSP, "TEST UNIT READY "
              "answered by opcode 0x%02x", raw_opcode(&p));
        CHECK(p.hd_ok && p.dd_ok, "TEST UNIT READY: bad digest in the "
              "response");
        c->expstatsn = raw_get32(p.bhs + 24) + 1;
        status = p.bhs[3];
        raw_keep_sense(c, &p);
        raw_pdu_free(&p);
        if (status == 0) {
            return;
        }
        CHECK(status == 2 && c->sense_key == 6, "TEST UNIT READY: status "
              "0x%02x, sense key 0x%x, ASC/ASCQ 0x%04x", (unsigned)status,
              (unsigned)c->sense_key, (unsigned)c->asc_ascq);
    }
    FAIL("TEST UNIT READY: still unit attentions after 4 tries");
}

#endif /* POLLTGT_TESTS_ISCSI_ISCSI_TEST_HELPERS_H */
