/* SPDX-License-Identifier: MIT */
/*
 * What every protocol front end (NBD, iSCSI) does the same way: listeners
 * on the main thread, a connection limit, placing each accepted socket on
 * the I/O thread with the fewest connections (the connection is then
 * created on that thread by a message, so all its state is born and dies
 * there), and the graceful drain at shutdown.  The protocol plugs in
 * through struct frontend_ops.
 */
#ifndef POLLTGT_SERVER_FRONTEND_H
#define POLLTGT_SERVER_FRONTEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config.h"
#include "iothread.h"
#include "util/compiler.h"

struct conn;
struct ev_loop;
struct frontend;
struct listener;

struct frontend_ops {
    const char *name; /* "nbd", "iscsi": log lines and listener names */
    /* On I/O thread t: create a connection that owns fd.  When it is
     * finally freed the protocol calls frontend_conn_gone(). */
    void (*attach)(struct frontend *fe, struct iothread *t, int fd,
                   const struct sockaddr_storage *peer, socklen_t peerlen);
    /* On I/O thread id: begin the graceful stop of its connections. */
    void (*drain)(struct frontend *fe, unsigned id);
};

struct frontend {
    const struct frontend_ops *ops;
    const struct config *cfg;
    struct iothread **iothreads;
    unsigned niothreads;
    unsigned max_connections;
    unsigned max_per_client;  /* 0: no limit */
    /* Live TCP connections per client address (max_per_client > 0):
     * counted up on the main thread, down on the I/O threads. */
    pthread_mutex_t clients_lock;
    struct frontend_client *clients;
    size_t nclients, clients_cap;
    /* Refusals are logged at most once a second (main thread). */
    int64_t refused_log_ns;
    unsigned refused_quiet;
    struct listener **listeners;
    size_t nlisteners;
    /* Each I/O thread's live connections (conn.c links and unlinks them,
     * on that thread only). */
    struct conn **thread_conns;
    _Atomic unsigned nconns;
    _Atomic bool stopping;
};

/*
 * Open a listener for each of addrs; connections start arriving on the
 * main loop.  Beyond max_connections at once, or max_per_client (0: no
 * limit) from one TCP client address, a connection is closed as soon as
 * it is accepted, before the protocol says a word.  Returns 0 or -errno
 * (logged).
 */
int frontend_start(struct frontend *fe, const struct frontend_ops *ops,
                   struct ev_loop *loop, const struct config *cfg,
                   const struct config_addrs *addrs, unsigned max_connections,
                   unsigned max_per_client, struct iothread **iothreads,
                   unsigned niothreads) ATTR_NONNULL(1, 2, 3, 4, 5, 8);

/* Stop accepting; existing connections go on until frontend_drain. */
void frontend_stop_listening(struct frontend *fe) ATTR_NONNULL(1);

/* Ask every I/O thread to drain its connections and wait (bounded by
 * timeout_ns) until all are gone; those left then (a client that stopped
 * reading, a backend that does not answer) are killed on their threads,
 * so no socket outlives its loop.  Main thread. */
void frontend_drain(struct frontend *fe, int64_t timeout_ns) ATTR_NONNULL(1);

/* Free what frontend_start allocated, after the I/O threads stopped. */
void frontend_free(struct frontend *fe) ATTR_NONNULL(1);

/* Place an accepted socket on I/O thread t (main thread).  Only for
 * connections frontend_start's accept path counted, since the count goes
 * down when the connection is gone. */
void frontend_attach(struct frontend *fe, struct iothread *t, int fd,
                     const struct sockaddr_storage *peer, socklen_t peerlen)
    ATTR_NONNULL(1, 2, 4);

/* A connection of thread t from peer is gone (or never came to be): any
 * thread. */
void frontend_conn_gone(struct frontend *fe, struct iothread *t,
                        const struct sockaddr_storage *peer)
    ATTR_NONNULL(1, 2, 3);

/* The addresses actually bound ("127.0.0.1:3260"), for portals. */
size_t frontend_nlisteners(const struct frontend *fe) ATTR_NONNULL(1);
const char *frontend_listener_address(const struct frontend *fe, size_t i)
    ATTR_NONNULL(1);

#endif /* POLLTGT_SERVER_FRONTEND_H */
