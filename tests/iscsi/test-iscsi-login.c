/* SPDX-License-Identifier: MIT */
/*
 * Discovery and login, as initiators do them:
 *
 *  - a discovery session's SendTargets=All lists the target of every
 *    iSCSI export (default names <iqn-prefix>:<export>, an explicit iqn
 *    instead of its default), each with the portal 127.0.0.1:PORT, and no
 *    export that has protocols = nbd;
 *  - a normal login works and the LUN reads; a wrong target name, the
 *    default name of an export with an explicit iqn and the name of an
 *    NBD-only export fail;
 *  - an export with CHAP refuses a login without credentials, with a wrong
 *    secret and with a wrong user name, and accepts the right ones;
 *  - mutual CHAP: with the right target secret the login succeeds, with a
 *    wrong one the initiator refuses the target;
 *  - initiators = list: the listed initiator logs in, another is refused;
 *  - allow = networks: a target allowed to 127.0.0.0/8 is listed and logs
 *    in, one allowed only to 10.0.0.0/8 is neither listed nor logged in
 *    to, and its login reject (0x0202) carries no key at all, so nothing
 *    about the target is said before the address check;
 *  - HeaderDigest=CRC32C (libiscsi): 256K and 1M round trips;
 *  - HeaderDigest=CRC32C and DataDigest=CRC32C (raw initiator, as libiscsi
 *    never offers data digests): both negotiated, a write with immediate
 *    data and a read come back intact with every digest right, and a
 *    libiscsi session reads the same data; offering None gets None.
 *
 * ISCSI_TEST_URL=iscsi://HOST:PORT/TARGET/LUN runs the discovery (the
 * target is listed), plain login, wrong-name and digest checks against
 * that target instead of starting polltgtd; CHAP, ACL and the
 * configuration-specific names are left out.
 */
#include <config.h>

#include "iscsi-test-helpers.h"

#define ALLOWED_INITIATOR "iqn.2026-11.org.polltgt.test:allowed"
#define OTHER_INITIATOR "iqn.2026-11.org.polltgt.test:someone-else"
#define CUSTOM_IQN "iqn.2026-11.com.example:custom-name"

static const char conf[] =
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "[status]\n"
    "socket = none\n"
    "[export disk0]\n"
    "backend = memory\n"
    "size = 16M\n"
    "[export nbdonly]\n"
    "backend = memory\n"
    "size = 1M\n"
    "protocols = nbd\n"
    "[export named]\n"
    "backend = memory\n"
    "size = 1M\n"
    "iqn = " CUSTOM_IQN "\n"
    "[export chap]\n"
    "backend = memory\n"
    "size = 1M\n"
    "chap-username = alice\n"
    "chap-secret = alice-secret-12\n"
    "[export mutual]\n"
    "backend = memory\n"
    "size = 1M\n"
    "chap-username = bob\n"
    "chap-secret = bob-secret-0123\n"
    "chap-mutual-username = target-mutual\n"
    "chap-mutual-secret = target-secret-456\n"
    "[export acl]\n"
    "backend = memory\n"
    "size = 1M\n"
    "initiators = " ALLOWED_INITIATOR "\n"
    "[export loopacl]\n"
    "backend = memory\n"
    "size = 1M\n"
    "allow = 127.0.0.0/8\n"
    "[export netacl]\n"
    "backend = memory\n"
    "size = 1M\n"
    "allow = 10.0.0.0/8\n";

/* SendTargets=All; want[] must be listed, each with a portal starting
 * with portal, and unwanted[] must not be. */
static void
check_discovery(const char *portal, const char *const *want,
                const char *const *unwanted)
{
    struct iscsi_context *ctx = test_iscsi_context(NULL);
    struct iscsi_discovery_address *list, *a;

    CHECK(iscsi_set_session_type(ctx, ISCSI_SESSION_DISCOVERY) == 0,
          "iscsi_set_session_type");
    CHECK(iscsi_connect_sync(ctx, portal) == 0, "connect %s: %s", portal,
          iscsi_get_error(ctx));
    CHECK(iscsi_login_sync(ctx) == 0, "discovery login at %s failed: %s",
          portal, iscsi_get_error(ctx));
    list = iscsi_discovery_sync(ctx);
    CHECK(list != NULL, "SendTargets=All failed: %s", iscsi_get_error(ctx));
    for (size_t i = 0; want[i]; i++) {
        bool found = false;

        for (a = list; a; a = a->next) {
            if (strcmp(a->target_name, want[i]) == 0) {
                bool has_portal = false;

                found = true;
                for (struct iscsi_target_portal *p = a->portals; p;
                     p = p->next) {
                    has_portal |=
                        strncmp(p->portal, portal, strlen(portal)) == 0 &&
                        (p->portal[strlen(portal)] == ',' ||
                         p->portal[strlen(portal)] == '\0');
                }
                CHECK(has_portal, "SendTargets: %s is listed without the "
                      "portal %s (first: %s)", want[i], portal,
                      a->portals ? a->portals->portal : "none");
            }
        }
        if (!found) {
            fprintf(stderr, "SendTargets listed:\n");
            for (a = list; a; a = a->next) {
                fprintf(stderr, "  %s\n", a->target_name);
            }
        }
        CHECK(found, "SendTargets=All does not list %s", want[i]);
    }
    for (size_t i = 0; unwanted && unwanted[i]; i++) {
        for (a = list; a; a = a->next) {
            CHECK(strcmp(a->target_name, unwanted[i]) != 0,
                  "SendTargets=All lists %s", unwanted[i]);
        }
    }
    iscsi_free_discovery_data(ctx, list);
    test_iscsi_logout(ctx, "discovery session");
    printf("ok: SendTargets=All lists the iSCSI targets with their portal\n");
}

/* The login fails; also, the server is still there afterwards. */
static void
expect_login_fails(struct test_server *s, const struct iscsi_test_target *t,
                   const struct iscsi_test_opts *o, const char *what)
{
    char err[512];
    struct iscsi_context *ctx = test_iscsi_try_login(t, o, err, sizeof err);

    if (ctx != NULL) {
        iscsi_destroy_context(ctx);
        FAIL("%s: login to %s succeeded; it must be refused", what, t->iqn);
    }
    if (s) {
        test_server_check_alive(s);
    }
    printf("ok: %s: refused (%s)\n", what, err);
}

/* A login refused by the address allow list says nothing else. */
static void
check_allow_reject_raw(int port, const char *iqn)
{
    struct raw_iscsi c;
    int status;

    CHECK(raw_iscsi_connect(&c, port) >= 0, "connect to port %d: %s", port,
          strerror(errno));
    status = raw_iscsi_login(&c, ISCSI_TEST_INITIATOR, iqn, NULL);
    CHECK(status == 0x0202, "login to %s from outside its allow list: status "
          "0x%04x, want 0x0202 (forbidden)", iqn, (unsigned)status);
    CHECK(c.keys[0] == '\0', "the reject of %s carries keys (%s): the target "
          "says something before the allow list is checked", iqn, c.keys);
    close(c.fd);
    printf("ok: allow = 10.0.0.0/8: login from 127.0.0.1 rejected 0x0202, "
           "no keys\n");
}

/* Log in, write and read back 64K, log out. */
static void
expect_login_works(const struct iscsi_test_target *t,
                   const struct iscsi_test_opts *o, uint32_t seed,
                   const char *what)
{
    struct iscsi_context *ctx = test_iscsi_login(t, o, what);

    test_iscsi_roundtrip(ctx, t->lun, 16, 64 * KIB, 512, seed, false, what);
    test_iscsi_logout(ctx, what);
    printf("ok: %s: logged in, data round trip, logged out\n", what);
}

static void
check_header_digest(const struct iscsi_test_target *t)
{
    struct iscsi_test_opts o = { .header_digest = true };
    struct iscsi_context *ctx = test_iscsi_login(t, &o, "HeaderDigest=CRC32C");

    test_iscsi_roundtrip(ctx, t->lun, 100, 256 * KIB, 512, 41, false,
                         "HeaderDigest=CRC32C, 256K");
    test_iscsi_roundtrip(ctx, t->lun, 1000, 1 * MIB, 512, 42, true,
                         "HeaderDigest=CRC32C, 1M with FUA");
    test_iscsi_logout(ctx, "HeaderDigest=CRC32C");
    printf("ok: HeaderDigest=CRC32C (libiscsi): data round trips\n");
}

/* Raw login offering digests; returns the connection. */
static void
raw_digest_login(struct raw_iscsi *c, int port, const char *iqn, int lun,
                 const char *offer)
{
    char hd[64], dd[64];
    const char *keys[] = { hd, dd, "ImmediateData=Yes", "InitialR2T=No",
                           "MaxRecvDataSegmentLength=65536", NULL };
    int status;

    snprintf(hd, sizeof hd, "HeaderDigest=%s", offer);
    snprintf(dd, sizeof dd, "DataDigest=%s", offer);
    CHECK(raw_iscsi_connect(c, port) >= 0, "connect to port %d: %s", port,
          strerror(errno));
    status = raw_iscsi_login(c, ISCSI_TEST_INITIATOR, iqn, keys);
    CHECK(status == 0, "raw login to %s offering digests %s: login status "
          "0x%04x", iqn, offer, (unsigned)status);
    raw_iscsi_clear_ua(c, lun);
}

static void
check_data_digest(const struct iscsi_test_target *t, int port)
{
    struct raw_iscsi c;
    uint8_t want[8192], got[8192];
    const char *v;
    struct iscsi_context *ctx;
    int r, reason = 0;

    raw_digest_login(&c, port, t->iqn, t->lun, "CRC32C");
    v = raw_key(&c, "HeaderDigest");
    CHECK(v && strcmp(v, "CRC32C") == 0, "offered only HeaderDigest=CRC32C, "
          "the target answered %s", v ? v : "nothing");
    v = raw_key(&c, "DataDigest");
    CHECK(v && strcmp(v, "CRC32C") == 0, "offered only DataDigest=CRC32C, "
          "the target answered %s", v ? v : "nothing");
    test_fill(want, sizeof want, 3000 * 512, 61);
    r = raw_iscsi_write16(&c, t->lun, 3000, want, sizeof want, 512, false,
                          &reason);
    CHECK(r == 0, "digests on: WRITE(16) of 8K: %s %d (sense key 0x%x, "
          "ASC/ASCQ 0x%04x)",
          r == -2 ? "Reject, reason" : r == -1 ? "connection lost" : "status",
          r == -2 ? reason : r, (unsigned)c.sense_key, (unsigned)c.asc_ascq);
    memset(got, 0, sizeof got);
    r = raw_iscsi_read16(&c, t->lun, 3000, got, sizeof got, 512);
    CHECK(r == 0, "digests on: READ(16) of 8K: %s %d",
          r == -1 ? "connection lost" : "status", r);
    CHECK(memcmp(got, want, sizeof want) == 0,
          "digests on: the 8K read back differ from what was written");
    close(c.fd);

    /* What was written with digests is what a plain session reads. */
    ctx = test_iscsi_login(t, NULL, "after the data-digest session");
    test_iscsi_expect(ctx, t->lun, 3000, sizeof want, 512, 61,
                      "written with digests, read without");
    test_iscsi_logout(ctx, "after the data-digest session");

    raw_digest_login(&c, port, t->iqn, t->lun, "None");
    v = raw_key(&c, "DataDigest");
    CHECK(v == NULL || strcmp(v, "None") == 0, "offered only "
          "DataDigest=None, the target answered %s", v);
    v = raw_key(&c, "HeaderDigest");
    CHECK(v == NULL || strcmp(v, "None") == 0, "offered only "
          "HeaderDigest=None, the target answered %s", v);
    r = raw_iscsi_read16(&c, t->lun, 3000, got, sizeof got, 512);
    CHECK(r == 0 && memcmp(got, want, sizeof want) == 0,
          "digests off: READ(16) of 8K: status %d or data differ", r);
    close(c.fd);
    printf("ok: HeaderDigest and DataDigest CRC32C (raw initiator): "
           "negotiated, write and read intact\n");
}

/* A second login with the same initiator name, ISID and target while the
 * first session lives reinstates it (RFC 7143 6.3.5): the target closes
 * the old connection, and the new session works. */
static void
check_reinstatement(const struct iscsi_test_target *t, int port)
{
    struct raw_iscsi old, new;
    uint8_t buf[512];
    size_t extra;
    const char *keys[] = { "HeaderDigest=None", "DataDigest=None", NULL };

    CHECK(raw_iscsi_connect(&old, port) >= 0, "connect: %s", strerror(errno));
    CHECK(raw_iscsi_login(&old, ISCSI_TEST_INITIATOR, t->iqn, keys) == 0,
          "first session: login refused");
    CHECK(raw_iscsi_connect(&new, port) >= 0, "connect: %s", strerror(errno));
    CHECK(raw_iscsi_login(&new, ISCSI_TEST_INITIATOR, t->iqn, keys) == 0,
          "second session with the same ISID: login refused");
    CHECK(test_wait_close(old.fd, 5000, &extra),
          "the reinstated session's connection stayed open");
    raw_iscsi_clear_ua(&new, t->lun);
    CHECK(raw_iscsi_read16(&new, t->lun, 0, buf, sizeof buf, 512) == 0,
          "the reinstating session cannot read");
    close(old.fd);
    close(new.fd);
    printf("ok: a login with a live session's ISID reinstates it\n");
}

int
main(void)
{
    struct test_server s = { 0 };
    struct iscsi_test_target t, bad;
    struct iscsi_test_opts o;
    int port;

    test_init("test-iscsi-login", 60);
    if (test_iscsi_env_target(&t)) {
        const char *want[] = { t.iqn, NULL };

        port = atoi(strrchr(t.portal, ':') + 1);
        check_discovery(t.portal, want, NULL);
        expect_login_works(&t, NULL, 1, "plain login");
        bad = t;
        CHECK(strlen(t.iqn) + 16 < sizeof bad.iqn, "target name too long");
        memcpy(bad.iqn + strlen(t.iqn), "-no-such-target", 16);
        expect_login_fails(NULL, &bad, NULL, "wrong target name");
        check_header_digest(&t);
        check_data_digest(&t, port);
        return test_finish();
    }

    test_iscsi_server_start(&s, conf);
    port = s.port;
    {
        const char *want[] = {
            ISCSI_TEST_IQN_PREFIX ":disk0", CUSTOM_IQN,
            ISCSI_TEST_IQN_PREFIX ":chap", ISCSI_TEST_IQN_PREFIX ":mutual",
            ISCSI_TEST_IQN_PREFIX ":loopacl",
            NULL,
        };
        const char *unwanted[] = {
            ISCSI_TEST_IQN_PREFIX ":nbdonly", ISCSI_TEST_IQN_PREFIX ":named",
            ISCSI_TEST_IQN_PREFIX ":netacl",
            NULL,
        };
        char portal[64];

        snprintf(portal, sizeof portal, "127.0.0.1:%d", s.port);
        check_discovery(portal, want, unwanted);
    }

    /* Plain login, and names that are no iSCSI target. */
    test_iscsi_export_target(&s, "disk0", &t);
    expect_login_works(&t, NULL, 1, "plain login to disk0");
    check_reinstatement(&t, port);
    test_iscsi_export_target(&s, "no-such-export", &bad);
    expect_login_fails(&s, &bad, NULL, "wrong target name");
    test_iscsi_export_target(&s, "nbdonly", &bad);
    expect_login_fails(&s, &bad, NULL, "an export with protocols = nbd");
    test_iscsi_export_target(&s, "named", &bad);
    expect_login_fails(&s, &bad, NULL,
                       "the default name of an export with an explicit iqn");
    bad = t;
    snprintf(bad.iqn, sizeof bad.iqn, "%s", CUSTOM_IQN);
    expect_login_works(&bad, NULL, 2, "the explicit iqn of export named");

    /* One-way CHAP. */
    test_iscsi_export_target(&s, "chap", &t);
    expect_login_fails(&s, &t, NULL, "CHAP export, no credentials");
    o = (struct iscsi_test_opts){ .user = "alice",
                                  .secret = "wrong-secret-1234" };
    expect_login_fails(&s, &t, &o, "CHAP export, wrong secret");
    o = (struct iscsi_test_opts){ .user = "mallory",
                                  .secret = "alice-secret-12" };
    expect_login_fails(&s, &t, &o, "CHAP export, wrong user name");
    o = (struct iscsi_test_opts){ .user = "bob", .secret = "bob-secret-0123" };
    expect_login_fails(&s, &t, &o, "CHAP export, another export's "
                       "credentials");
    o = (struct iscsi_test_opts){ .user = "alice",
                                  .secret = "alice-secret-12" };
    expect_login_works(&t, &o, 3, "CHAP export, right credentials");

    /* Mutual CHAP. */
    test_iscsi_export_target(&s, "mutual", &t);
    expect_login_fails(&s, &t, NULL, "mutual CHAP export, no credentials");
    o = (struct iscsi_test_opts){ .user = "bob", .secret = "bob-secret-0123",
                                  .target_user = "target-mutual",
                                  .target_secret = "target-secret-456" };
    expect_login_works(&t, &o, 4, "mutual CHAP, right target secret");
    o.target_secret = "not-the-target-secret";
    expect_login_fails(&s, &t, &o, "mutual CHAP, wrong target secret "
                       "(the initiator must refuse the target)");
    o = (struct iscsi_test_opts){ .user = "bob", .secret = "wrong-secret-1234",
                                  .target_user = "target-mutual",
                                  .target_secret = "target-secret-456" };
    expect_login_fails(&s, &t, &o, "mutual CHAP, wrong initiator secret");

    /* initiators = list */
    test_iscsi_export_target(&s, "acl", &t);
    o = (struct iscsi_test_opts){ .initiator = ALLOWED_INITIATOR };
    expect_login_works(&t, &o, 5, "initiators: the listed initiator");
    o = (struct iscsi_test_opts){ .initiator = OTHER_INITIATOR };
    expect_login_fails(&s, &t, &o, "initiators: an initiator not listed");
    expect_login_fails(&s, &t, NULL, "initiators: the default test "
                       "initiator, not listed");

    /* allow = networks (the peer is 127.0.0.1). */
    test_iscsi_export_target(&s, "loopacl", &t);
    expect_login_works(&t, NULL, 6, "allow = 127.0.0.0/8 from 127.0.0.1");
    test_iscsi_export_target(&s, "netacl", &t);
    expect_login_fails(&s, &t, NULL, "allow = 10.0.0.0/8 from 127.0.0.1");
    check_allow_reject_raw(port, t.iqn);

    /* Digests. */
    test_iscsi_export_target(&s, "disk0", &t);
    check_header_digest(&t);
    check_data_digest(&t, port);

    test_server_check_alive(&s);
    test_server_stop(&s);
    return test_finish();
}
