/* SPDX-License-Identifier: MIT */
/*
 * The life of a socket connection, shared by the protocol front ends: see
 * conn.h.  Receiving: the socket is a polled handler whose poll callback
 * does the recv itself, so one system call per batch of requests, not a
 * peek and then a read; the receive loop parses, reads on until the
 * socket is empty (at most 16 reads, so one busy client cannot starve
 * the others), and flushes the replies it produced with one sendmsg.
 * Transmitting: a partial send leaves the rest queued and asks for
 * writability.  Lifetime: kill stops socket I/O at once; the free waits
 * for the protocol's last outside reference and runs as a message on the
 * connection's own thread.
 *
 * TLS: the states of enum conn_tls.  While the handshake runs, the read
 * and write callbacks step it and nothing else touches the socket; a
 * stalled client costs one idle handler until the protocol's handshake
 * timer closes it.  Once it is on, conn_recv and conn_flush go through
 * tls.c, and the receive loop also ends with GnuTLS's own buffer in mind.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "listen.h"
#include "log.h"
#include "tls.h"
#include "util/clock.h"

/* Reads per receive loop before the other handlers get their turn. */
#define CONN_RX_ROUNDS 16

static void conn_on_readable(void *opaque);
static void conn_on_writable(void *opaque);
static bool conn_poll(void *opaque);


static void
conn_tx_release(struct txq_item *it, void *opaque)
{
    struct conn *c = opaque;

    c->ops->tx_release(c, it);
}

static void
conn_flush_bh(void *opaque)
{
    conn_flush(opaque);
}

static void
conn_tls_rx_due(void *opaque)
{
    conn_on_readable(opaque);
}

/* Read what GnuTLS holds in the next iteration, after the other
 * handlers had their turn. */
static void
conn_tls_rx_soon(struct conn *c)
{
    if (aio_timer_mod(c->ctx, &c->tls_rx_timer, clock_now_ns()) < 0) {
        conn_kill(c); /* out of memory: it would never be read */
    }
}

static void
conn_link(struct conn *c)
{
    struct conn **head = &c->fe->thread_conns[iothread_id(c->iothread)];

    c->prev = NULL;
    c->next = *head;
    if (c->next) {
        c->next->prev = c;
    }
    *head = c;
}

static void
conn_unlink(struct conn *c)
{
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        c->fe->thread_conns[iothread_id(c->iothread)] = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    c->prev = c->next = NULL;
}

void *
conn_new(size_t size, const struct conn_ops *ops, struct frontend *fe,
         struct iothread *t, int fd, const struct sockaddr_storage *peer,
         socklen_t peerlen, size_t rx_cap)
{
    struct conn *c;

    assert(size >= sizeof *c);
    c = calloc(1, size);
    if (c == NULL || (c->rx = malloc(rx_cap)) == NULL) {
        log_error("%s: cannot set up a connection: out of memory", ops->name);
        free(c);
        close(fd);
        frontend_conn_gone(fe, t, peer);
        return NULL;
    }
    c->magic = CONN_MAGIC;
    c->ops = ops;
    c->fe = fe;
    /* Per connection only so the loop's statistics name the protocol. */
    c->handler_ops = (struct aio_handler_ops){
        .read = conn_on_readable,
        .write = conn_on_writable,
        .poll = conn_poll,
        .poll_ready = conn_on_readable,
        .name = ops->name,
    };
    c->iothread = t;
    c->ctx = iothread_ctx(t);
    c->fd = fd;
    c->rx_cap = rx_cap;
    memcpy(&c->peer_addr, peer, peerlen);
    c->peer_len = peerlen;
    listen_format_peer(peer, peerlen, c->peer, sizeof c->peer);
    c->life = CONN_OPEN;
    c->connected_ns = clock_now_ns();
    txq_init(&c->txq);
    aio_bh_init(&c->flush_bh, conn_flush_bh, c);
    aio_timer_init(&c->tls_rx_timer, conn_tls_rx_due, c);
    conn_link(c);
    return c;
}

int
conn_start(struct conn *c)
{
    int r;

    c->h = aio_handler_add(c->ctx, c->fd, &c->handler_ops, c);
    if (c->h == NULL) {
        r = -errno;
        log_error("%s %s: cannot register with iothread %u: %s",
                  c->ops->name, c->peer, iothread_id(c->iothread),
                  strerror(-r));
        conn_kill(c);
        return r;
    }
    return 0;
}

static bool
conn_releasable(const struct conn *c)
{
    return c->ops->releasable ? c->ops->releasable(c) : c->ops->quiesced(c);
}

/* The deferred free, as a message on the connection's own thread. */
static void
conn_free_on_thread(void *opaque)
{
    struct conn *c = opaque;
    struct frontend *fe = c->fe;
    struct iothread *t = c->iothread;
    struct sockaddr_storage peer = c->peer_addr;

    assert(c->magic == CONN_MAGIC);
    assert(c->life == CONN_DEAD && conn_releasable(c));
    conn_unlink(c);
    /* Whatever was queued after the kill (copies the protocol made). */
    txq_drop(&c->txq, conn_tx_release, c);
    free(c->rx);
    c->rx = NULL;
    c->magic = 0;
    c->ops->free(c);
    free(c);
    frontend_conn_gone(fe, t, &peer);
}

void
conn_maybe_free(struct conn *c)
{
    if (c->life != CONN_DEAD || c->free_scheduled || !conn_releasable(c)) {
        return;
    }
    c->free_scheduled = true;
    if (aio_ctx_run(c->ctx, conn_free_on_thread, c) < 0) {
        log_error("%s %s: out of memory freeing a connection; leaking it",
                  c->ops->name, c->peer);
    }
}

void
conn_kill(struct conn *c)
{
    if (c->life == CONN_DEAD) {
        return;
    }
    log_debug("%s %s: closed", c->ops->name, c->peer);
    c->life = CONN_DEAD;
    if (c->ctx) {
        aio_bh_cancel(c->ctx, &c->flush_bh);
        aio_timer_del(c->ctx, &c->tls_rx_timer);
    }
    if (c->h) {
        aio_handler_del(c->h);
        c->h = NULL;
    }
    if (c->tls) {
        if (c->tls_state == CONN_TLS_ON && c->fd >= 0) {
            tls_session_bye(c->tls);
        }
        tls_session_free(c->tls);
        c->tls = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    /* Nothing queued will be sent now: give back what it holds. */
    txq_drop(&c->txq, conn_tx_release, c);
    if (c->ops->on_kill) {
        c->ops->on_kill(c);
    }
    conn_maybe_free(c);
}

void
conn_close_soon(struct conn *c, const char *why)
{
    if (why) {
        log_warn("%s %s: %s; closing the connection", c->ops->name, c->peer,
                 why);
    }
    if (c->life != CONN_OPEN) {
        return;
    }
    c->life = CONN_CLOSING;
    conn_flush(c);
}

static void
conn_set_want_write(struct conn *c, bool want)
{
    want = want || c->tls_rx_write;
    if (c->want_write != want && c->h) {
        c->want_write = want;
        aio_handler_want_write(c->h, want);
    }
}

/* A step of the TLS handshake; on success TLS is on and what GnuTLS
 * already holds is read in the next iteration.  Returns true when it is
 * done. */
static bool
conn_tls_handshake(struct conn *c)
{
    char desc[256];
    int r = tls_session_handshake(c->tls);

    if (r == -EAGAIN) {
        conn_set_want_write(c, tls_session_wants_write(c->tls));
        return false;
    }
    if (r < 0) {
        log_warn("%s %s: TLS handshake failed: %s", c->ops->name, c->peer,
                 tls_session_error(c->tls));
        conn_kill(c);
        return false;
    }
    c->tls_state = CONN_TLS_ON;
    conn_set_want_write(c, false);
    tls_session_describe(c->tls, desc, sizeof desc);
    log_info("%s %s: TLS: %s", c->ops->name, c->peer, desc);
    if (c->ops->on_tls) {
        c->ops->on_tls(c);
    }
    conn_tls_rx_soon(c);
    return true;
}

int
conn_start_tls(struct conn *c, struct tls_creds *creds)
{
    int r;

    assert(c->tls == NULL);
    if (c->rx_start != c->rx_end) {
        return -EPROTO; /* plaintext the TLS layer would never see */
    }
    r = tls_session_new(creds, c->fd, &c->tls);
    if (r < 0) {
        return r;
    }
    c->tls_state = CONN_TLS_STARTING;
    /* Nothing is read until the reply is out and the handshake runs. */
    if (c->h) {
        aio_handler_want_read(c->h, false);
    }
    conn_flush(c);
    return 0;
}

/* The reply that accepted the upgrade is out: the handshake begins. */
static void
conn_tls_begin(struct conn *c)
{
    c->tls_state = CONN_TLS_HANDSHAKE;
    if (c->h && !c->rx_paused) {
        aio_handler_want_read(c->h, true);
    }
    (void)conn_tls_handshake(c);
}

void
conn_flush(struct conn *c)
{
    int r;

    if (c->in_rx || c->in_flush || c->life == CONN_DEAD) {
        return; /* the receive loop flushes when it is done */
    }
    if (c->tls_state == CONN_TLS_HANDSHAKE) {
        /* Nothing of the protocol's can go out before TLS is up. */
        if (c->life == CONN_CLOSING) {
            conn_kill(c);
        }
        return;
    }
    c->in_flush = true;
    if (c->tls_state == CONN_TLS_ON) {
        r = txq_send_via(&c->txq, tls_session_sendv, c->tls, conn_tx_release,
                         c);
    } else {
        r = txq_send(&c->txq, c->fd, conn_tx_release, c);
    }
    c->in_flush = false;
    if (r == -EAGAIN) {
        conn_set_want_write(c, true);
        return;
    }
    if (r < 0) {
        log_debug("%s %s: send: %s", c->ops->name, c->peer,
                  c->tls_state == CONN_TLS_ON ? tls_session_error(c->tls)
                                              : strerror(-r));
        conn_kill(c);
        return;
    }
    conn_set_want_write(c, false);
    if (c->tls_state == CONN_TLS_STARTING && c->life == CONN_OPEN) {
        conn_tls_begin(c);
        return;
    }
    if (c->ops->on_flushed) {
        c->ops->on_flushed(c);
    }
    if (c->life == CONN_CLOSING && txq_empty(&c->txq) && c->ops->quiesced(c)) {
        conn_kill(c);
    }
}

void
conn_flush_soon(struct conn *c)
{
    if (c->life != CONN_DEAD && c->ctx) {
        aio_bh_schedule(c->ctx, &c->flush_bh);
    }
}

static void
conn_on_writable(void *opaque)
{
    struct conn *c = opaque;

    if (c->tls_state == CONN_TLS_HANDSHAKE && c->life == CONN_OPEN) {
        (void)conn_tls_handshake(c);
        return;
    }
    if (c->tls_rx_write) {
        /* The receive loop retries GnuTLS's write, then flushes ours. */
        c->tls_rx_write = false;
        if (c->life == CONN_OPEN && !c->in_rx) {
            conn_on_readable(c);
            return;
        }
    }
    conn_flush(c);
}

/*
 * Read what the socket has: into the protocol's sink if it has one now,
 * otherwise into the receive buffer.  Returns bytes read, 0 on EOF
 * (rx_eof set), -EAGAIN if nothing is there, -errno on error.  The one
 * place bytes come in from the socket.
 */
static ssize_t
conn_recv(struct conn *c)
{
    bool sink = false;
    size_t want = c->ops->rx_want ? c->ops->rx_want(c) : 0;
    void *dst;
    size_t room;
    ssize_t n;

    if (c->ops->rx_sink) {
        sink = c->ops->rx_sink(c, &dst, &room);
    }
    if (!sink) {
        if (want > c->rx_cap) {
            /* The protocol now accepts longer messages: grow once. */
            uint8_t *rx = realloc(c->rx, want);

            if (rx == NULL) {
                return -ENOMEM;
            }
            c->rx = rx;
            c->rx_cap = want;
        }
        if (c->rx_start == c->rx_end) {
            c->rx_start = c->rx_end = 0;
        } else if (c->rx_end == c->rx_cap || c->rx_cap - c->rx_start < want) {
            /* The partial message moves to the front, so a whole one
             * fits. */
            memmove(c->rx, c->rx + c->rx_start, c->rx_end - c->rx_start);
            c->rx_end -= c->rx_start;
            c->rx_start = 0;
        }
        dst = c->rx + c->rx_end;
        room = c->rx_cap - c->rx_end;
        if (room == 0) {
            return -EAGAIN; /* a full buffer is parsed before more is read */
        }
    }
    if (c->tls) {
        n = tls_session_recv(c->tls, dst, room);
        if (n == -EAGAIN && tls_session_wants_write(c->tls)) {
            /* No readiness of the socket's will come for this if we have
             * nothing to send: ask for POLLOUT now. */
            c->tls_rx_write = true;
            conn_set_want_write(c, true);
        }
        if (n < 0) {
            return n;
        }
    } else {
        n = recv(c->fd, dst, room, MSG_DONTWAIT);
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
    }
    if (n == 0) {
        c->rx_eof = true;
        return 0;
    }
    if (sink) {
        c->ops->rx_sunk(c, (size_t)n);
    } else {
        c->rx_end += (size_t)n;
    }
    return n;
}

static bool
conn_poll(void *opaque)
{
    struct conn *c = opaque;

    if (c->rx_paused || c->life != CONN_OPEN ||
        (c->tls_state != CONN_TLS_NONE && c->tls_state != CONN_TLS_ON)) {
        return false;
    }
    return conn_recv(c) != -EAGAIN;
}

static void
conn_on_readable(void *opaque)
{
    struct conn *c = opaque;
    int rounds = 0;

    if (c->life != CONN_OPEN) {
        if (c->life == CONN_CLOSING) {
            /* Not reading any more: drain the socket to notice EOF. */
            char sink[4096];

            if (recv(c->fd, sink, sizeof sink, MSG_DONTWAIT) == 0) {
                conn_kill(c);
            }
        }
        return;
    }
    if (c->tls_state == CONN_TLS_STARTING) {
        return; /* the client must wait for the reply */
    }
    if (c->tls_state == CONN_TLS_HANDSHAKE) {
        (void)conn_tls_handshake(c); /* on success the loop runs next */
        return;
    }
    c->in_rx = true;
    /* Parse what poll() already read, then read more until the socket is
     * empty, bounded so one busy client cannot starve the others. */
    for (;;) {
        ssize_t n;

        c->ops->process(c);
        if (c->life != CONN_OPEN || c->rx_paused || c->rx_hold ||
            c->tls_state == CONN_TLS_STARTING || ++rounds > CONN_RX_ROUNDS) {
            break;
        }
        n = conn_recv(c);
        if (n == -EAGAIN) {
            break;
        }
        if (n <= 0) {
            c->in_rx = false;
            if (n < 0) {
                log_debug("%s %s: recv: %s", c->ops->name, c->peer,
                          c->tls ? tls_session_error(c->tls)
                                 : strerror((int)-n));
            } else if (c->rx_start != c->rx_end) {
                log_info("%s %s: peer disconnected mid-message", c->ops->name,
                         c->peer);
            } else {
                log_debug("%s %s: peer closed the connection", c->ops->name,
                          c->peer);
            }
            conn_kill(c);
            return;
        }
    }
    c->in_rx = false;
    if (c->rx_paused && c->h) {
        aio_handler_want_read(c->h, false);
    }
    if (c->tls_state == CONN_TLS_ON && c->life == CONN_OPEN &&
        !c->rx_paused && tls_session_pending(c->tls)) {
        /* Decrypted bytes wait inside GnuTLS and the socket may be empty:
         * no readiness will come for them.  (A move to another thread
         * cancels this; conn_attach reads them there.) */
        conn_tls_rx_soon(c);
    }
    conn_flush(c);
    if (c->ops->after_rx && c->life == CONN_OPEN) {
        c->ops->after_rx(c);
    }
}

void
conn_pause_rx(struct conn *c)
{
    c->rx_paused = true;
    if (c->h) {
        aio_handler_want_read(c->h, false);
    }
}

void
conn_resume_rx(struct conn *c)
{
    if (!c->rx_paused) {
        return;
    }
    c->rx_paused = false;
    if (c->h) {
        aio_handler_want_read(c->h, true);
    }
    if (!c->in_rx) {
        conn_on_readable(c);
    }
}

void
conn_detach(struct conn *c)
{
    aio_bh_cancel(c->ctx, &c->flush_bh); /* it is this thread's */
    aio_timer_del(c->ctx, &c->tls_rx_timer);
    if (c->h) {
        aio_handler_del(c->h);
        c->h = NULL;
    }
    conn_unlink(c);
    c->ctx = NULL;
}

int
conn_attach(struct conn *c)
{
    c->ctx = iothread_ctx(c->iothread);
    c->want_write = false;
    c->tls_rx_write = false; /* the read below finds it again */
    conn_link(c);
    c->h = aio_handler_add(c->ctx, c->fd, &c->handler_ops, c);
    if (c->h == NULL) {
        int r = -errno;

        log_error("%s %s: cannot move to iothread %u: %s", c->ops->name,
                  c->peer, iothread_id(c->iothread), strerror(-r));
        conn_kill(c);
        return r;
    }
    /* Requests may already be buffered: serve them now. */
    conn_on_readable(c);
    return 0;
}
