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
 * Usage: nbd-tls-keyupdate SOCKET CA-FILE.  Exit 0 on success, 1 with a
 * message on failure, 77 if TLS 1.3 cannot be negotiated.
 */
#include <config.h>

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#define IHAVEOPT UINT64_C(0x49484156454F5054)
#define OPT_REPLY_MAGIC UINT64_C(0x3e889045565a9)
#define REQUEST_MAGIC 0x25609513u
#define SIMPLE_REPLY_MAGIC 0x67446698u
#define OPT_STARTTLS 5u
#define OPT_GO 7u
#define REP_ACK 1u
#define CMD_READ 0
#define CMD_WRITE 1
#define CMD_DISC 2
#define MiB (1u << 20)

static int fd = -1;
static gnutls_session_t gs;
static bool tls_on;
static unsigned key_updates_seen;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "FAIL: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void
put_all(const void *buf, size_t len)
{
    const uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = tls_on ? gnutls_record_send(gs, p, len)
                           : write(fd, p, len);

        if (n < 0) {
            if (tls_on && (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)) {
                continue;
            }
            die("send: %s", tls_on ? gnutls_strerror((int)n) : strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
}

static void
get_all(void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = tls_on ? gnutls_record_recv(gs, p, len)
                           : read(fd, p, len);

        if (n < 0 && tls_on && (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)) {
            continue;
        }
        if (n <= 0) {
            die("receive: %s", n == 0 ? "the server closed the connection"
                               : tls_on ? gnutls_strerror((int)n)
                                        : strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
}

static void
put_option(uint32_t opt, const void *data, uint32_t len)
{
    uint8_t h[16];
    uint64_t magic = htobe64(IHAVEOPT);
    uint32_t o = htobe32(opt), l = htobe32(len);

    memcpy(h, &magic, 8);
    memcpy(h + 8, &o, 4);
    memcpy(h + 12, &l, 4);
    put_all(h, sizeof h);
    if (len) {
        put_all(data, len);
    }
}

/* Read option replies until the final one; fails on an error reply. */
static void
get_option_ack(uint32_t opt)
{
    for (;;) {
        uint8_t h[20], skip[4096];
        uint64_t magic;
        uint32_t o, type, len;

        get_all(h, sizeof h);
        memcpy(&magic, h, 8);
        memcpy(&o, h + 8, 4);
        memcpy(&type, h + 12, 4);
        memcpy(&len, h + 16, 4);
        o = be32toh(o);
        type = be32toh(type);
        len = be32toh(len);
        if (be64toh(magic) != OPT_REPLY_MAGIC || o != opt) {
            die("bad option reply to option %u", opt);
        }
        while (len > 0) {
            uint32_t n = len < sizeof skip ? len : sizeof skip;

            get_all(skip, n);
            len -= n;
        }
        if (type & 0x80000000u) {
            die("option %u refused with reply type 0x%x", opt, type);
        }
        if (type == REP_ACK) {
            return;
        }
    }
}

static void
put_request(uint16_t type, uint64_t cookie, uint64_t off, uint32_t len)
{
    uint8_t h[28];
    uint32_t magic = htobe32(REQUEST_MAGIC), l = htobe32(len);
    uint16_t flags = 0, t = htobe16(type);
    uint64_t c = htobe64(cookie), o = htobe64(off);

    memcpy(h, &magic, 4);
    memcpy(h + 4, &flags, 2);
    memcpy(h + 6, &t, 2);
    memcpy(h + 8, &c, 8);
    memcpy(h + 16, &o, 8);
    memcpy(h + 24, &l, 4);
    put_all(h, sizeof h);
}

static void
get_reply(uint64_t cookie)
{
    uint8_t h[16];
    uint32_t magic, err;
    uint64_t c;

    get_all(h, sizeof h);
    memcpy(&magic, h, 4);
    memcpy(&err, h + 4, 4);
    memcpy(&c, h + 8, 8);
    if (be32toh(magic) != SIMPLE_REPLY_MAGIC || be64toh(c) != cookie) {
        die("bad reply for request %llu", (unsigned long long)cookie);
    }
    if (err) {
        die("request %llu failed with NBD error %u",
            (unsigned long long)cookie, be32toh(err));
    }
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
    if (r < 0) {
        die("gnutls_session_key_update: %s", gnutls_strerror(r));
    }
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

    if (got == NULL) {
        die("out of memory");
    }
    put_request(CMD_READ, cookie, off, (uint32_t)len);
    get_reply(cookie);
    get_all(got, len);
    if (memcmp(got, want, len) != 0) {
        die("the data read back at %llu differs (request %llu)",
            (unsigned long long)off, (unsigned long long)cookie);
    }
    free(got);
}

static void
connect_nbd_tls(const char *path, const char *ca)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    gnutls_certificate_credentials_t cred;
    uint8_t greet[18];
    uint32_t cflags = htobe32(3); /* FIXED_NEWSTYLE | NO_ZEROES */
    int r;

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        die("connect %s: %s", path, strerror(errno));
    }
    get_all(greet, sizeof greet);
    if (memcmp(greet, "NBDMAGIC", 8) != 0) {
        die("not an NBD server");
    }
    put_all(&cflags, 4);
    put_option(OPT_STARTTLS, NULL, 0);
    get_option_ack(OPT_STARTTLS);

    if (gnutls_certificate_allocate_credentials(&cred) < 0
        || gnutls_certificate_set_x509_trust_file(cred, ca,
                                                  GNUTLS_X509_FMT_PEM) <= 0
        || gnutls_init(&gs, GNUTLS_CLIENT) < 0
        || gnutls_priority_set_direct(
               gs, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL) < 0
        || gnutls_credentials_set(gs, GNUTLS_CRD_CERTIFICATE, cred) < 0) {
        die("cannot set up a TLS 1.3 client with CA %s", ca);
    }
    gnutls_session_set_verify_cert(gs, "localhost", 0);
    gnutls_handshake_set_hook_function(gs, GNUTLS_HANDSHAKE_KEY_UPDATE,
                                       GNUTLS_HOOK_POST, on_key_update);
    gnutls_transport_set_int(gs, fd);
    do {
        r = gnutls_handshake(gs);
    } while (r < 0 && !gnutls_error_is_fatal(r));
    if (r < 0) {
        if (r == GNUTLS_E_UNSUPPORTED_VERSION_PACKET
            || r == GNUTLS_E_NO_PRIORITIES_WERE_SET) {
            fprintf(stderr, "SKIP: TLS 1.3 not negotiated: %s\n",
                    gnutls_strerror(r));
            exit(77);
        }
        die("TLS handshake: %s", gnutls_strerror(r));
    }
    if (gnutls_protocol_get_version(gs) != GNUTLS_TLS1_3) {
        fprintf(stderr, "SKIP: the server did not negotiate TLS 1.3\n");
        exit(77);
    }
    tls_on = true;
}

int
main(int argc, char **argv)
{
    static const char name[] = "disk0";
    uint8_t go[4 + sizeof name - 1 + 2];
    uint32_t nlen = htobe32(sizeof name - 1);
    uint8_t *a = malloc(MiB), *b = malloc(4 * MiB);

    signal(SIGPIPE, SIG_IGN);
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKET CA-FILE\n", argv[0]);
        return 1;
    }
    if (a == NULL || b == NULL) {
        die("out of memory");
    }
    connect_nbd_tls(argv[1], argv[2]);
    memcpy(go, &nlen, 4);
    memcpy(go + 4, name, sizeof name - 1);
    memset(go + 4 + sizeof name - 1, 0, 2); /* no information requests */
    put_option(OPT_GO, go, sizeof go);
    get_option_ack(OPT_GO);

    /* Between requests, asking for the server's update too: its own
     * KeyUpdate comes before the reply to the next request. */
    fill(a, MiB, 1);
    put_request(CMD_WRITE, 1, 0, MiB);
    put_all(a, MiB);
    get_reply(1);
    key_update(GNUTLS_KU_PEER);
    read_back(2, 0, a, MiB);
    if (key_updates_seen != 1) {
        die("asked for a key update, the server sent %u", key_updates_seen);
    }

    /* In the middle of a write's payload: the server is only receiving
     * when the KeyUpdate reaches it. */
    fill(b, 4 * MiB, 2);
    put_request(CMD_WRITE, 3, MiB, 4 * MiB);
    put_all(b, 2 * MiB + 1000);
    key_update(GNUTLS_KU_PEER);
    put_all(b + 2 * MiB + 1000, 2 * MiB - 1000);
    get_reply(3);
    read_back(4, MiB, b, 4 * MiB);
    if (key_updates_seen != 2) {
        die("asked for a second key update, the server sent %u in all",
            key_updates_seen);
    }

    /* Our keys only: the server must follow without answering. */
    key_update(0);
    read_back(5, 0, a, MiB);
    if (key_updates_seen != 2) {
        die("the server answered a key update that asked for none");
    }

    put_request(CMD_DISC, 6, 0, 0);
    (void)gnutls_bye(gs, GNUTLS_SHUT_WR);
    close(fd);
    free(a);
    free(b);
    printf("ok: 3 key updates (2 answered), data intact\n");
    return 0;
}
