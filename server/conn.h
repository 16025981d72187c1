/* SPDX-License-Identifier: MIT */
/*
 * A socket connection on its I/O thread, whatever the protocol: the life
 * every front end shares (NBD, iSCSI), written once.
 *
 * The base owns the fd and its loop handler, the receive buffer (grown to
 * what the protocol says a whole message needs, the partial message moved
 * to the front), the receive loop (bounded, so one busy client cannot
 * starve the others), the poll callback that does the recv itself (a poll
 * pass that finds a request has also read it), the transmit queue sent in
 * one gathered sendmsg per batch, the bottom half that flushes at the end
 * of an iteration, the close (send what is queued, then close) and the
 * kill (stop all socket I/O now), and the deferred free: a connection is
 * freed by a message to its own thread, once it is dead and the protocol
 * says nothing refers to it any more (backend requests hold pointers
 * into it), so no caller up the stack is left with a freed pointer.
 *
 * The protocol embeds struct conn first in its own connection object and
 * plugs in through struct conn_ops: it parses what arrived, says what a
 * whole message needs, releases what it queued, and frees its own state.
 * Every byte to or from the socket goes through conn.c (conn_recv and the
 * transmit queue), so TLS fits in at this one place: once the protocol
 * calls conn_start_tls (NBD_OPT_STARTTLS), what it queued so far goes out
 * in plaintext, then the TLS handshake owns the socket (driven by the
 * same read and write callbacks, never blocking the loop), and from its
 * end every byte in and out is a TLS record (tls.h).
 *
 * Threading: everything here runs on the connection's I/O thread.
 */
#ifndef POLLTGT_SERVER_CONN_H
#define POLLTGT_SERVER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "aio/aio.h"
#include "frontend.h"
#include "iothread.h"
#include "txq.h"
#include "util/compiler.h"

#define CONN_MAGIC 0xc0cc0c0cu

struct conn;
struct tls_creds;
struct tls_session;

enum conn_life {
    CONN_OPEN,    /* reading and writing */
    CONN_CLOSING, /* not reading: send what is queued, then close */
    CONN_DEAD,    /* socket closed; freed once nothing refers to it */
};

enum conn_tls {
    CONN_TLS_NONE,      /* plaintext */
    CONN_TLS_STARTING,  /* plaintext queued before the upgrade goes out */
    CONN_TLS_HANDSHAKE, /* the handshake owns the socket */
    CONN_TLS_ON,        /* every byte is a TLS record */
};

struct conn_ops {
    const char *name; /* "nbd", "iscsi": log lines */

    /*
     * Parse and act on what is buffered (rx[rx_start, rx_end), or the
     * protocol's own sink).  Called in the receive loop; returns when it
     * needs more bytes, or after setting rx_paused (no room for another
     * request), rx_hold, or closing the connection.  Required.
     */
    void (*process)(struct conn *c);

    /*
     * Optional: the next recv goes into the protocol's own buffer instead
     * of rx (NBD reads a write's payload straight into the request).
     * Return true and set *dst and *room (> 0) to redirect it; rx_sunk()
     * then hears how many bytes arrived there.
     */
    bool (*rx_sink)(struct conn *c, void **dst, size_t *room);
    void (*rx_sunk)(struct conn *c, size_t n);

    /*
     * Optional: the longest whole message the protocol accepts now.  The
     * receive buffer grows to it, and a partial message is moved to the
     * front when less than that is left behind it (0: only when full).
     */
    size_t (*rx_want)(const struct conn *c);

    /* Give back a queued item: sent, or dropped at the kill.  Required. */
    void (*tx_release)(struct conn *c, struct txq_item *it);

    /* Nothing is in the backend any more: a closing connection may close
     * once everything queued is sent.  Required. */
    bool (*quiesced)(const struct conn *c);
    /* Nothing refers to the connection: a dead one may be freed.
     * Optional: without it, quiesced decides. */
    bool (*releasable)(const struct conn *c);

    /* Optional: everything queued went out (NBD's drain goes on). */
    void (*on_flushed)(struct conn *c);
    /* Optional: after a receive loop, its replies flushed (NBD moves the
     * connection to its export's pinned thread here). */
    void (*after_rx)(struct conn *c);
    /* Optional: the connection just died (socket closed, queue dropped):
     * stop timers, forget what waited for input. */
    void (*on_kill)(struct conn *c);
    /* Optional: the TLS handshake finished (the protocol forgets what was
     * negotiated in plaintext). */
    void (*on_tls)(struct conn *c);
    /* Free the protocol's state (on c's thread); the base then frees the
     * object conn_new allocated.  Required. */
    void (*free)(struct conn *c);
};

struct conn {
    uint32_t magic;
    const struct conn_ops *ops;
    struct frontend *fe;
    struct conn *prev, *next; /* fe->thread_conns[this thread] */
    struct iothread *iothread;
    struct aio_ctx *ctx;    /* NULL while moving between threads */
    struct aio_handler *h;
    struct aio_handler_ops handler_ops; /* conn.c's, named after ops->name */
    int fd;
    char peer[64];          /* "127.0.0.1:4711", for log lines */
    struct sockaddr_storage peer_addr;
    socklen_t peer_len;
    enum conn_life life;
    int64_t connected_ns;

    /* receive: unparsed bytes are rx[rx_start, rx_end) */
    uint8_t *rx;
    size_t rx_cap, rx_start, rx_end;
    bool rx_eof;
    bool rx_paused;         /* no room for another request: stop reading */
    bool rx_hold;           /* stop this receive loop; read again later */
    bool in_rx;             /* inside the receive loop: flushes wait */

    /* transmit */
    struct txq txq;
    struct aio_bh flush_bh; /* replies of one iteration, one sendmsg */
    bool want_write;
    bool in_flush;          /* inside conn_flush: no nested flush */
    bool free_scheduled;

    /* TLS (conn_start_tls) */
    enum conn_tls tls_state;
    struct tls_session *tls;
    /* A receive stopped on GnuTLS needing to write (an alert, a record of
     * its own): wait for POLLOUT even with nothing of ours to send, then
     * receive again, which finishes that write. */
    bool tls_rx_write;
    /* GnuTLS holds bytes the socket will not announce: read them in the
     * next iteration (a timer due now, not a bottom half, which would run
     * again in this one and let a busy client starve the others) */
    struct aio_timer tls_rx_timer;
};

/*
 * Allocate a protocol connection object of size bytes (struct conn
 * first, zeroed) for fd, accepted from peer by front end fe, on I/O
 * thread t (the calling thread), with a receive buffer of rx_cap bytes,
 * and link it into fe's list of t's connections.  On failure (out of
 * memory) logs, closes fd, tells fe the connection is gone and returns
 * NULL.  The caller fills in its part, then calls conn_start.
 */
void *conn_new(size_t size, const struct conn_ops *ops, struct frontend *fe,
               struct iothread *t, int fd, const struct sockaddr_storage *peer,
               socklen_t peerlen, size_t rx_cap) ATTR_NONNULL(2, 3, 4, 6);

/* The connections of I/O thread id of fe (on that thread): walk with
 * c->next; a connection unlinks itself only when it is freed, by a
 * message, so a walk that kills or drains is safe. */
static inline struct conn *
conn_first(const struct frontend *fe, unsigned id)
{
    return fe->thread_conns[id];
}

/*
 * Start watching the socket (on t's thread).  On failure logs, kills the
 * connection (which frees it through ops->free once releasable) and
 * returns -errno.
 */
int conn_start(struct conn *c) ATTR_NONNULL(1);

/* The protocol's connection object holding c: struct conn is its first
 * member (type may be const-qualified). */
#define CONN_OUTER(type, c) ((type *)(c))

/* Queue iovcnt iovecs (valid until ops->tx_release gets it back). */
static inline void
conn_queue(struct conn *c, struct txq_item *it, const struct iovec *iov,
           int iovcnt)
{
    txq_push(&c->txq, it, iov, iovcnt);
}

/* Send what is queued now (deferred inside the receive loop, which
 * flushes when it ends). */
void conn_flush(struct conn *c) ATTR_NONNULL(1);
/* Flush at the end of this loop iteration, after other completions. */
void conn_flush_soon(struct conn *c) ATTR_NONNULL(1);
/* Stop reading; close once everything queued is sent and the protocol
 * is quiesced.  why (may be NULL) is logged as a warning. */
void conn_close_soon(struct conn *c, const char *why) ATTR_NONNULL(1);
/* Stop all socket I/O now (peer gone, protocol violation, done). */
void conn_kill(struct conn *c) ATTR_NONNULL(1);
/* Free when dead and releasable (call when what made it unreleasable
 * went away: the last backend request came back). */
void conn_maybe_free(struct conn *c) ATTR_NONNULL(1);

/*
 * Upgrade to TLS with creds (the protocol's reply saying so is queued
 * already and goes out in plaintext first; conn takes its own reference
 * to creds).  The receive loop stops until the handshake is done, then
 * ops->on_tls runs and parsing goes on over TLS.  Returns 0, -EPROTO if
 * unparsed plaintext is buffered (the client did not wait for the
 * reply), or -ENOMEM; the caller closes the connection on failure.
 */
int conn_start_tls(struct conn *c, struct tls_creds *creds) ATTR_NONNULL(1, 2);

/* TLS is up (the handshake finished). */
static inline bool
conn_tls_on(const struct conn *c)
{
    return c->tls_state == CONN_TLS_ON;
}

/* Stop reading (a drain, a logout): the socket is not watched for input
 * until conn_resume_rx. */
void conn_pause_rx(struct conn *c) ATTR_NONNULL(1);
/* Read again, and parse what is buffered at once (unless inside the
 * receive loop, which goes on by itself). */
void conn_resume_rx(struct conn *c) ATTR_NONNULL(1);

/*
 * Moving to another I/O thread (nothing in flight, between iterations):
 * conn_detach on the old thread drops the handler; the new thread sets
 * c->iothread and calls conn_attach, which registers it there and reads
 * what is buffered.  conn_attach returns 0, or -errno after killing c.
 */
void conn_detach(struct conn *c) ATTR_NONNULL(1);
int conn_attach(struct conn *c) ATTR_NONNULL(1);

#endif /* POLLTGT_SERVER_CONN_H */
