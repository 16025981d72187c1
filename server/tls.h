/* SPDX-License-Identifier: MIT */
/*
 * TLS for the front ends, on GnuTLS: credentials loaded from the
 * configuration (X.509 certificate and key with an optional CA for client
 * certificates and CRL, and/or PSK keys), and one non-blocking session
 * per connection that conn.c drives from the I/O thread's handlers.
 *
 * Credentials are reference counted: each session holds the credentials
 * it started with, so a reload can swap in renewed certificates for new
 * connections while existing ones keep theirs.  A struct tls_slot is the
 * swap point: the main thread sets it, I/O threads take a reference from
 * it when a client asks for TLS (rare enough for a mutex).
 *
 * Sessions never block: every call returns -EAGAIN when the socket is
 * not ready, and tls_session_wants_write() says which way to wait.
 * GnuTLS may hold decrypted bytes the socket will not announce again
 * (tls_session_pending()), which the receive loop must drain itself.
 */
#ifndef POLLTGT_SERVER_TLS_H
#define POLLTGT_SERVER_TLS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "config.h"
#include "util/compiler.h"

struct tls_creds;
struct tls_session;

/*
 * Load the credentials t names (section names the config section in
 * messages, "nbd").  Returns 0 and a new reference in *out, or -errno
 * with a message naming the key and file in err.
 */
int tls_creds_load(const struct config_tls *t, const char *section,
                   struct tls_creds **out, char *err, size_t errlen)
    ATTR_NONNULL(1, 2, 3, 4);
struct tls_creds *tls_creds_ref(struct tls_creds *creds) ATTR_NONNULL(1);
void tls_creds_unref(struct tls_creds *creds);
/* "X.509", "PSK" or "X.509 and PSK", for log lines. */
const char *tls_creds_kind(const struct tls_creds *creds) ATTR_NONNULL(1);

struct tls_slot {
    pthread_mutex_t lock;
    struct tls_creds *creds; /* NULL: TLS is off */
};

void tls_slot_init(struct tls_slot *slot) ATTR_NONNULL(1);
/* A new reference to the current credentials, or NULL. */
struct tls_creds *tls_slot_get(struct tls_slot *slot) ATTR_NONNULL(1);
/* Install creds (the slot takes the reference); the old ones go when
 * their last session ends. */
void tls_slot_set(struct tls_slot *slot, struct tls_creds *creds)
    ATTR_NONNULL(1);
void tls_slot_destroy(struct tls_slot *slot) ATTR_NONNULL(1);

/* A server session on fd (non-blocking), holding a reference to creds.
 * Returns 0 or -errno. */
int tls_session_new(struct tls_creds *creds, int fd, struct tls_session **out)
    ATTR_NONNULL(1, 3);
void tls_session_free(struct tls_session *s);

/* One step of the handshake: 0 when done, -EAGAIN to wait (see
 * tls_session_wants_write), or -errno with tls_session_error() set. */
int tls_session_handshake(struct tls_session *s) ATTR_NONNULL(1);
/* After -EAGAIN: GnuTLS waits to write (true) or to read (false). */
bool tls_session_wants_write(const struct tls_session *s) ATTR_NONNULL(1);

/* Read decrypted bytes: n > 0, 0 at the end (close_notify or EOF),
 * -EAGAIN, or -errno with tls_session_error() set. */
ssize_t tls_session_recv(struct tls_session *s, void *buf, size_t len)
    ATTR_NONNULL(1, 2);
/* Decrypted bytes are waiting inside GnuTLS. */
bool tls_session_pending(const struct tls_session *s) ATTR_NONNULL(1);

/*
 * Send from iovcnt iovecs (a struct tls_session * as opaque, the shape of
 * txq_sendv_fn): at most one record, returns the bytes taken (> 0),
 * -EAGAIN, or -errno.  After -EAGAIN GnuTLS holds the encrypted record;
 * the next call finishes it and returns its length, whatever iov is then,
 * so the caller must offer the same bytes first again (txq does: nothing
 * is retired until sent).
 */
ssize_t tls_session_sendv(void *s, const struct iovec *iov, int iovcnt)
    ATTR_NONNULL(1, 2);

/* Best-effort close_notify (does not wait for the socket). */
void tls_session_bye(struct tls_session *s) ATTR_NONNULL(1);

/* The last error, for log lines. */
const char *tls_session_error(const struct tls_session *s) ATTR_NONNULL(1);
/* "TLS1.3, AES-256-GCM, PSK identity alice", for log lines. */
void tls_session_describe(const struct tls_session *s, char *buf, size_t len)
    ATTR_NONNULL(1, 2);

#endif /* POLLTGT_SERVER_TLS_H */
