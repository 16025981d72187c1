/* SPDX-License-Identifier: MIT */
/*
 * See tls.h.  The choices that are not GnuTLS defaults:
 *
 * - TLS 1.2 and 1.3 only, as the NBD protocol asks (older versions only
 *   by a configuration change, which we do not offer).
 * - PSK keys are parsed once into memory (tls-psk.c) and found by a
 *   callback, rather than GnuTLS re-reading the file at every handshake,
 *   so a reload that finds a bad file keeps the running keys.
 * - GnuTLS's own handshake timeout is off: the front end's handshake
 *   timer (NBD handshake-timeout) covers the TLS handshake too, so one
 *   setting bounds how long an unauthenticated client may hold a slot.
 * - Sending: small iovecs (reply headers) are gathered into one record
 *   with one copy; a piece of a full record or more (read data) is handed
 *   to GnuTLS in place.  GnuTLS copies whatever it encrypts into its
 *   record buffer either way, so the gather copy is paid only on the few
 *   bytes of headers, and unlike gnutls_record_cork() it leaves exactly
 *   one record outstanding after -EAGAIN, which is what the transmit
 *   queue's accounting needs.  Measured against cork/uncork (GnuTLS
 *   3.7.9, TLS 1.3 AES-GCM, socketpair, reply shapes 20 + 0, 4096 and
 *   131072 bytes, 1 to 16 per flush) the CPU per reply was the same
 *   within 1-5% either way, so the simpler accounting decided.
 */
#include <config.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "log.h"
#include "tls-psk.h"
#include "tls.h"

/* The largest plaintext record (TLS 1.2 and 1.3). */
#define TLS_RECORD 16384

#define TLS_PRIORITY     "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define TLS_PRIORITY_PSK TLS_PRIORITY ":+ECDHE-PSK:+DHE-PSK:+PSK"

struct tls_creds {
    atomic_uint refs;
    gnutls_certificate_credentials_t x509; /* NULL: no certificate */
    gnutls_psk_server_credentials_t psk;   /* NULL: no PSK */
    struct tls_psk_keys keys;
    gnutls_priority_t priority;
    bool verify_peer;
};

struct tls_session {
    gnutls_session_t gs;
    struct tls_creds *creds;
    size_t out_pending; /* plaintext bytes of the record GnuTLS holds */
    char error[256];
    uint8_t out[TLS_RECORD]; /* small iovecs gathered into one record */
};

static void
tls_creds_free(struct tls_creds *c)
{
    if (c->x509) {
        gnutls_certificate_free_credentials(c->x509);
    }
    if (c->psk) {
        gnutls_psk_free_server_credentials(c->psk);
    }
    if (c->priority) {
        gnutls_priority_deinit(c->priority);
    }
    tls_psk_free(&c->keys);
    free(c);
}

/* GnuTLS asks for the key of a PSK identity (on the I/O thread). */
static int
tls_psk_lookup(gnutls_session_t gs, const char *username, gnutls_datum_t *key)
{
    const struct tls_session *s = gnutls_session_get_ptr(gs);
    const struct tls_psk_key *k = tls_psk_find(&s->creds->keys, username);

    if (k == NULL) {
        return -1; /* unknown identity: the handshake fails */
    }
    key->data = gnutls_malloc(k->keylen);
    if (key->data == NULL) {
        return -1;
    }
    memcpy(key->data, k->key, k->keylen);
    key->size = (unsigned)k->keylen;
    return 0;
}

static int
tls_creds_load_x509(struct tls_creds *c, const struct config_tls *t,
                    const char *section, char *err, size_t errlen)
{
    int r = gnutls_certificate_allocate_credentials(&c->x509);

    if (r < 0) {
        snprintf(err, errlen, "[%s] TLS: %s", section, gnutls_strerror(r));
        return -ENOMEM;
    }
    r = gnutls_certificate_set_x509_key_file(c->x509, t->cert, t->key,
                                             GNUTLS_X509_FMT_PEM);
    if (r < 0) {
        snprintf(err, errlen, "[%s] tls-cert %s, tls-key %s: %s", section,
                 t->cert, t->key, gnutls_strerror(r));
        return -EINVAL;
    }
    if (t->ca) {
        r = gnutls_certificate_set_x509_trust_file(c->x509, t->ca,
                                                   GNUTLS_X509_FMT_PEM);
        if (r <= 0) {
            snprintf(err, errlen, "[%s] tls-ca %s: %s", section, t->ca,
                     r < 0 ? gnutls_strerror(r) : "no certificate in the file");
            return -EINVAL;
        }
    }
    if (t->crl) {
        r = gnutls_certificate_set_x509_crl_file(c->x509, t->crl,
                                                 GNUTLS_X509_FMT_PEM);
        if (r < 0) {
            snprintf(err, errlen, "[%s] tls-crl %s: %s", section, t->crl,
                     gnutls_strerror(r));
            return -EINVAL;
        }
    }
    /* For the DHE key exchanges of TLS 1.2 (ECDHE needs nothing). */
    gnutls_certificate_set_known_dh_params(c->x509, GNUTLS_SEC_PARAM_MEDIUM);
    return 0;
}

int
tls_creds_load(const struct config_tls *t, const char *section,
               struct tls_creds **out, char *err, size_t errlen)
{
    struct tls_creds *c = calloc(1, sizeof *c);
    int r;

    if (c == NULL) {
        snprintf(err, errlen, "[%s] TLS: out of memory", section);
        return -ENOMEM;
    }
    atomic_init(&c->refs, 1);
    c->verify_peer = t->verify_peer;
    if (t->cert) {
        r = tls_creds_load_x509(c, t, section, err, errlen);
        if (r < 0) {
            tls_creds_free(c);
            return r;
        }
    }
    if (t->psk_file) {
        char why[512];

        r = tls_psk_load(t->psk_file, &c->keys, why, sizeof why);
        if (r < 0) {
            snprintf(err, errlen, "[%s] tls-psk-file: %s", section, why);
            tls_creds_free(c);
            return r;
        }
        if (gnutls_psk_allocate_server_credentials(&c->psk) < 0) {
            snprintf(err, errlen, "[%s] TLS: out of memory", section);
            tls_creds_free(c);
            return -ENOMEM;
        }
        gnutls_psk_set_server_credentials_function(c->psk, tls_psk_lookup);
        gnutls_psk_set_server_known_dh_params(c->psk, GNUTLS_SEC_PARAM_MEDIUM);
    }
    if (c->x509 == NULL && c->psk == NULL) {
        snprintf(err, errlen, "[%s] TLS: no credentials configured", section);
        tls_creds_free(c);
        return -EINVAL;
    }
    r = gnutls_priority_init(&c->priority,
                             c->psk ? TLS_PRIORITY_PSK : TLS_PRIORITY, NULL);
    if (r < 0) {
        snprintf(err, errlen, "[%s] TLS priority: %s", section,
                 gnutls_strerror(r));
        tls_creds_free(c);
        return -EINVAL;
    }
    *out = c;
    return 0;
}

struct tls_creds *
tls_creds_ref(struct tls_creds *creds)
{
    atomic_fetch_add_explicit(&creds->refs, 1, memory_order_relaxed);
    return creds;
}

void
tls_creds_unref(struct tls_creds *creds)
{
    if (creds &&
        atomic_fetch_sub_explicit(&creds->refs, 1, memory_order_acq_rel) == 1) {
        tls_creds_free(creds);
    }
}

const char *
tls_creds_kind(const struct tls_creds *creds)
{
    return creds->x509 && creds->psk ? "X.509 and PSK"
           : creds->x509             ? "X.509"
                                     : "PSK";
}

void
tls_slot_init(struct tls_slot *slot)
{
    pthread_mutex_init(&slot->lock, NULL);
    slot->creds = NULL;
}

struct tls_creds *
tls_slot_get(struct tls_slot *slot)
{
    struct tls_creds *c;

    pthread_mutex_lock(&slot->lock);
    c = slot->creds ? tls_creds_ref(slot->creds) : NULL;
    pthread_mutex_unlock(&slot->lock);
    return c;
}

void
tls_slot_set(struct tls_slot *slot, struct tls_creds *creds)
{
    struct tls_creds *old;

    pthread_mutex_lock(&slot->lock);
    old = slot->creds;
    slot->creds = creds;
    pthread_mutex_unlock(&slot->lock);
    tls_creds_unref(old);
}

void
tls_slot_destroy(struct tls_slot *slot)
{
    tls_creds_unref(slot->creds);
    slot->creds = NULL;
    pthread_mutex_destroy(&slot->lock);
}

int
tls_session_new(struct tls_creds *creds, int fd, struct tls_session **out)
{
    struct tls_session *s = calloc(1, sizeof *s);
    int r;

    if (s == NULL) {
        return -ENOMEM;
    }
    r = gnutls_init(&s->gs, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
    if (r < 0) {
        free(s);
        return -ENOMEM;
    }
    s->creds = tls_creds_ref(creds);
    gnutls_session_set_ptr(s->gs, s);
    r = gnutls_priority_set(s->gs, creds->priority);
    if (r >= 0 && creds->x509) {
        r = gnutls_credentials_set(s->gs, GNUTLS_CRD_CERTIFICATE, creds->x509);
        if (r >= 0 && creds->verify_peer) {
            gnutls_certificate_server_set_request(s->gs, GNUTLS_CERT_REQUIRE);
            /* Verified against tls-ca during the handshake; no host name
             * to match for a client. */
            gnutls_session_set_verify_cert(s->gs, NULL, 0);
        }
    }
    if (r >= 0 && creds->psk) {
        r = gnutls_credentials_set(s->gs, GNUTLS_CRD_PSK, creds->psk);
    }
    if (r < 0) {
        tls_session_free(s);
        return -ENOMEM;
    }
    gnutls_handshake_set_timeout(s->gs, 0);
    gnutls_transport_set_int(s->gs, fd);
    *out = s;
    return 0;
}

void
tls_session_free(struct tls_session *s)
{
    if (s == NULL) {
        return;
    }
    gnutls_deinit(s->gs);
    tls_creds_unref(s->creds);
    free(s);
}

static void
tls_session_set_error(struct tls_session *s, int r)
{
    if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
        gnutls_datum_t why = { 0 };
        unsigned status = gnutls_session_get_verify_cert_status(s->gs);

        if (gnutls_certificate_verification_status_print(
                status, GNUTLS_CRT_X509, &why, 0) == 0) {
            snprintf(s->error, sizeof s->error,
                     "client certificate not accepted: %s", why.data);
            gnutls_free(why.data);
            return;
        }
    }
    snprintf(s->error, sizeof s->error, "%s", gnutls_strerror(r));
}

int
tls_session_handshake(struct tls_session *s)
{
    for (;;) {
        int r = gnutls_handshake(s->gs);

        if (r == GNUTLS_E_SUCCESS) {
            return 0;
        }
        if (r == GNUTLS_E_AGAIN) {
            return -EAGAIN;
        }
        if (r == GNUTLS_E_INTERRUPTED || !gnutls_error_is_fatal(r)) {
            continue; /* a warning alert: the handshake goes on */
        }
        tls_session_set_error(s, r);
        return r == GNUTLS_E_PREMATURE_TERMINATION ? -ECONNRESET : -EPROTO;
    }
}

bool
tls_session_wants_write(const struct tls_session *s)
{
    return gnutls_record_get_direction(s->gs) == 1;
}

ssize_t
tls_session_recv(struct tls_session *s, void *buf, size_t len)
{
    /* Non-fatal results (a warning alert, a refused renegotiation) are
     * skipped a few times; more of them in a row is a peer playing. */
    for (int tries = 0; tries < 8; tries++) {
        ssize_t r = gnutls_record_recv(s->gs, buf, len);

        if (r >= 0) {
            return r;
        }
        if (r == GNUTLS_E_AGAIN) {
            return -EAGAIN;
        }
        if (r == GNUTLS_E_PREMATURE_TERMINATION) {
            return 0; /* EOF without close_notify: a peer that just hung up */
        }
        if (r == GNUTLS_E_REHANDSHAKE) {
            (void)gnutls_alert_send(s->gs, GNUTLS_AL_WARNING,
                                    GNUTLS_A_NO_RENEGOTIATION);
            continue;
        }
        if (r != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal((int)r)) {
            tls_session_set_error(s, (int)r);
            return -EPROTO;
        }
    }
    return -EAGAIN;
}

bool
tls_session_pending(const struct tls_session *s)
{
    return gnutls_record_check_pending(s->gs) > 0;
}

ssize_t
tls_session_sendv(void *opaque, const struct iovec *iov, int iovcnt)
{
    struct tls_session *s = opaque;
    const void *data;
    size_t len;
    ssize_t r;

    if (s->out_pending) {
        /* Finish the record GnuTLS holds since the last -EAGAIN. */
        data = NULL;
        len = 0;
    } else if (iov[0].iov_len >= TLS_RECORD || iovcnt == 1) {
        data = iov[0].iov_base;
        len = iov[0].iov_len < TLS_RECORD ? iov[0].iov_len : TLS_RECORD;
    } else {
        len = 0;
        for (int i = 0; i < iovcnt && len < TLS_RECORD; i++) {
            size_t take = iov[i].iov_len;

            if (take > TLS_RECORD - len) {
                take = TLS_RECORD - len;
            }
            memcpy(s->out + len, iov[i].iov_base, take);
            len += take;
        }
        data = s->out;
    }
    do {
        r = gnutls_record_send(s->gs, data, len);
    } while (r == GNUTLS_E_INTERRUPTED);
    if (r == GNUTLS_E_AGAIN) {
        if (s->out_pending == 0) {
            s->out_pending = len;
        }
        return -EAGAIN;
    }
    if (r < 0) {
        tls_session_set_error(s, (int)r);
        return -EPIPE;
    }
    s->out_pending = 0;
    return r;
}

void
tls_session_bye(struct tls_session *s)
{
    (void)gnutls_bye(s->gs, GNUTLS_SHUT_WR);
}

const char *
tls_session_error(const struct tls_session *s)
{
    return s->error[0] ? s->error : "TLS error";
}

void
tls_session_describe(const struct tls_session *s, char *buf, size_t len)
{
    const char *ver = gnutls_protocol_get_name(gnutls_protocol_get_version(s->gs));
    const char *cipher = gnutls_cipher_get_name(gnutls_cipher_get(s->gs));
    const char *user = NULL;
    unsigned ncerts = 0;

    if (gnutls_auth_get_type(s->gs) == GNUTLS_CRD_PSK) {
        user = gnutls_psk_server_get_username(s->gs);
    } else {
        (void)gnutls_certificate_get_peers(s->gs, &ncerts);
    }
    snprintf(buf, len, "%s, %s%s%s%s", ver ? ver : "TLS",
             cipher ? cipher : "?", user ? ", PSK identity " : "",
             user ? user : "",
             ncerts && s->creds->verify_peer ? ", client certificate verified" : "");
}
