/* SPDX-License-Identifier: MIT */
/*
 * A raw NBD client over TLS 1.3 that sends KeyUpdate messages where no
 * stock client does (libnbd, qemu and gnutls-cli have no rekey command):
 * between requests, asking the server to update its keys too, and in the
 * middle of a write's payload, while the server is only receiving.  The
 * data written must read back, and each request for an update must be
 * answered by the server's own KeyUpdate (counted through a GnuTLS hook),
 * which GnuTLS sends before the server's next record.
 *
 * Usage: nbd-tls-keyupdate SOCKET CA-FILE (the shell test starts the
 * server: certificates are made with certtool there).  The raw NBD
 * framing is tests/nbd/nbd-test-helpers.h's, sent over GnuTLS.  Exit 0
 * on success, 1 with a message on failure, 77 if TLS 1.3 cannot be
 * negotiated.
 */
#include <config.h>

#include <gnutls/gnutls.h>

#define TEST_SERVER_DIR_PREFIX "polltgt-tls"
#include "../nbd/nbd-test-helpers.h"

#define MiB (1u << 20)

static gnutls_session_t gs;
static unsigned key_updates_seen;

/* Over TLS: what the raw helpers do over a plain fd. */
static void
tls_put(const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = gnutls_record_send(gs, p, len);

        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            continue;
        }
        CHECK(n > 0, "TLS send: %s", gnutls_strerror((int)n));
        p += n;
        len -= (size_t)n;
    }
}

static void
tls_get(void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = gnutls_record_recv(gs, p, len);

        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
            continue;
        }
        CHECK(n > 0, "TLS receive: %s",
              n == 0 ? "the server closed the connection"
                     : gnutls_strerror((int)n));
        p += n;
        len -= (size_t)n;
    }
}

/* Send option opt and read its replies up to the final ACK. */
static void
tls_option(uint32_t opt, const void *data, uint32_t len)
{
    static struct raw_opt_reply r;
    uint8_t h[20];

    raw_pack_opt(h, opt, len);
    tls_put(h, 16);
    if (len) {
        tls_put(data, len);
    }
    do {
        tls_get(h, sizeof h);
        raw_parse_opt_reply(h, &r);
        tls_get(r.data, r.len);
        CHECK(r.opt == opt, "a reply to option %u, not %u", r.opt, opt);
        CHECK(!(r.type & 0x80000000u), "option %u refused (reply 0x%x)", opt,
              r.type);
    } while (r.type != RAW_REP_ACK);
}

static void
tls_request(uint16_t type, uint64_t cookie, uint64_t off, uint32_t len)
{
    uint8_t h[28];

    raw_pack_request(h, 0, type, cookie, off, len);
    tls_put(h, sizeof h);
}

static void
tls_reply(uint64_t cookie)
{
    uint8_t h[16];
    uint32_t err;
    uint64_t got;

    tls_get(h, sizeof h);
    raw_parse_simple_reply(h, &err, &got);
    CHECK(got == cookie, "the reply is for request %" PRIu64 ", not %" PRIu64,
          got, cookie);
    CHECK(err == 0, "request %" PRIu64 " failed with NBD error %u", cookie,
          err);
}

static int
on_key_update(gnutls_session_t s, unsigned htype, unsigned when,
              unsigned incoming, const gnutls_datum_t *msg)
{
    (void)s;
    (void)htype;
    (void)when;
    (void)msg;
    if (incoming) {
        key_updates_seen++;
    }
    return 0;
}

/* GnuTLS refuses more than a few key updates a second from a peer. */
static void
pause_between_updates(void)
{
    struct timespec ts = { 1, 100 * 1000 * 1000 };

    nanosleep(&ts, NULL);
}

static void
key_update(unsigned flags)
{
    int r;

    pause_between_updates();
    do {
        r = gnutls_session_key_update(gs, flags);
    } while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
    CHECK(r == 0, "gnutls_session_key_update: %s", gnutls_strerror(r));
}

static void
fill(uint8_t *buf, size_t len, uint8_t seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed + i * 7 + (i >> 12));
    }
}

static void
read_back(uint64_t cookie, uint64_t off, const uint8_t *want, size_t len)
{
    uint8_t *got = malloc(len);

    CHECK(got, "out of memory");
    tls_request(RAW_CMD_READ, cookie, off, (uint32_t)len);
    tls_reply(cookie);
    tls_get(got, len);
    CHECK(memcmp(got, want, len) == 0, "the data read back at %" PRIu64
          " differs (request %" PRIu64 ")", off, cookie);
    free(got);
}

/* Connect, STARTTLS in plaintext, then a TLS 1.3 handshake trusting ca
 * and checking the name localhost, and NBD_OPT_GO for disk0 over TLS. */
static void
connect_nbd_tls(const char *path, const char *ca)
{
    gnutls_certificate_credentials_t cred;
    struct raw_opt_reply rep;
    uint8_t go[64];
    int fd = raw_greeted(path), r;

    raw_send_opt(fd, RAW_OPT_STARTTLS, NULL, 0);
    CHECK(raw_read_opt_reply(fd, &rep, 5000) == 0 && rep.type == RAW_REP_ACK,
          "STARTTLS refused");
    CHECK(gnutls_certificate_allocate_credentials(&cred) >= 0
              && gnutls_certificate_set_x509_trust_file(
                     cred, ca, GNUTLS_X509_FMT_PEM) > 0
              && gnutls_init(&gs, GNUTLS_CLIENT) >= 0
              && gnutls_priority_set_direct(
                     gs, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL) >= 0
              && gnutls_credentials_set(gs, GNUTLS_CRD_CERTIFICATE, cred) >= 0,
          "cannot set up a TLS 1.3 client with CA %s", ca);
    gnutls_session_set_verify_cert(gs, "localhost", 0);
    gnutls_handshake_set_hook_function(gs, GNUTLS_HANDSHAKE_KEY_UPDATE,
                                       GNUTLS_HOOK_POST, on_key_update);
    gnutls_transport_set_int(gs, fd);
    do {
        r = gnutls_handshake(gs);
    } while (r < 0 && !gnutls_error_is_fatal(r));
    if (r == GNUTLS_E_UNSUPPORTED_VERSION_PACKET
        || r == GNUTLS_E_NO_PRIORITIES_WERE_SET) {
        test_skip("TLS 1.3 not negotiated: %s", gnutls_strerror(r));
    }
    CHECK(r >= 0, "TLS handshake: %s", gnutls_strerror(r));
    CHECK(gnutls_protocol_get_version(gs) == GNUTLS_TLS1_3,
          "the server did not negotiate TLS 1.3");
    tls_option(RAW_OPT_GO, go, (uint32_t)raw_build_go(go, "disk0", NULL, 0));
}

int
main(int argc, char **argv)
{
    uint8_t *a = malloc(MiB), *b = malloc(4 * MiB);

    test_init("nbd-tls-keyupdate", 60);
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKET CA-FILE\n", argv[0]);
        return 1;
    }
    CHECK(a && b, "out of memory");
    connect_nbd_tls(argv[1], argv[2]);

    /* Between requests, asking for the server's update too: its own
     * KeyUpdate comes before the reply to the next request. */
    fill(a, MiB, 1);
    tls_request(RAW_CMD_WRITE, 1, 0, MiB);
    tls_put(a, MiB);
    tls_reply(1);
    key_update(GNUTLS_KU_PEER);
    read_back(2, 0, a, MiB);
    CHECK(key_updates_seen == 1, "asked for a key update, the server sent %u",
          key_updates_seen);

    /* In the middle of a write's payload: the server is only receiving
     * when the KeyUpdate reaches it. */
    fill(b, 4 * MiB, 2);
    tls_request(RAW_CMD_WRITE, 3, MiB, 4 * MiB);
    tls_put(b, 2 * MiB + 1000);
    key_update(GNUTLS_KU_PEER);
    tls_put(b + 2 * MiB + 1000, 2 * MiB - 1000);
    tls_reply(3);
    read_back(4, MiB, b, 4 * MiB);
    CHECK(key_updates_seen == 2,
          "asked for a second key update, the server sent %u in all",
          key_updates_seen);

    /* Our keys only: the server must follow without answering. */
    key_update(0);
    read_back(5, 0, a, MiB);
    CHECK(key_updates_seen == 2,
          "the server answered a key update that asked for none");

    tls_request(RAW_CMD_DISC, 6, 0, 0);
    (void)gnutls_bye(gs, GNUTLS_SHUT_WR);
    free(a);
    free(b);
    printf("ok: 3 key updates (2 answered), data intact\n");
    return 0;
}
