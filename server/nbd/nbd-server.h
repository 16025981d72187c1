/* SPDX-License-Identifier: MIT */
/*
 * The NBD front end: listeners from [nbd] listen, and connections spread
 * over the I/O threads (least connections, or the export's pinned thread
 * once the client has chosen an export).  Fixed-newstyle handshake,
 * structured replies, base:allocation block status, multi-conn.
 */
#ifndef POLLTGT_NBD_NBD_SERVER_H
#define POLLTGT_NBD_NBD_SERVER_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "export.h"
#include "frontend.h"
#include "iothread.h"
#include "tls.h"
#include "util/compiler.h"

struct ev_loop;
struct listener;
struct nbd_conn;

struct nbd_server {
    struct frontend fe;             /* listeners, limits, drain */
    const struct config *cfg;
    const struct export_set *exports;
    struct iothread **iothreads;
    unsigned niothreads;
    struct tls_slot tls;            /* [nbd] tls credentials; empty: off */
};

/* Open the listeners; connections start arriving on the main loop. */
int nbd_server_start(struct nbd_server *srv, struct ev_loop *loop,
                     const struct config *cfg, const struct export_set *exports,
                     struct iothread **iothreads, unsigned niothreads)
    ATTR_NONNULL(1, 2, 3, 4, 5);

/* Stop accepting (listeners closed).  Connections keep running until
 * nbd_server_drain. */
void nbd_server_stop_listening(struct nbd_server *srv) ATTR_NONNULL(1);

/* Graceful shutdown of the connections: stop reading new requests, finish
 * and answer those in flight, flush every export, close.  Waits (bounded
 * by timeout_ns) until every connection is gone.  Main thread. */
void nbd_server_drain(struct nbd_server *srv, int64_t timeout_ns)
    ATTR_NONNULL(1);

/* A reload: load the TLS credentials t names (the files again, even if
 * the paths did not change: renewed certificates) for new connections.
 * On failure logs, keeps the running ones and returns -errno.  Main
 * thread. */
int nbd_server_reload_tls(struct nbd_server *srv, const struct config_tls *t)
    ATTR_NONNULL(1, 2);

/* Free what nbd_server_start allocated, once the I/O threads stopped. */
void nbd_server_free(struct nbd_server *srv) ATTR_NONNULL(1);

/* On I/O thread id: add its NBD connections to the report. */
struct stats_report;
void nbd_server_collect(struct nbd_server *srv, unsigned id,
                        struct stats_report *r) ATTR_NONNULL(1, 3);

#endif /* POLLTGT_NBD_NBD_SERVER_H */
