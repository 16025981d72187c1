/* SPDX-License-Identifier: MIT */
/*
 * The running server: what the configuration asks for, started in order
 * (I/O threads, then front ends and the status socket) and stopped in
 * reverse.  main.c owns the process; this owns the parts.
 */
#ifndef POLLTGT_SERVER_SERVER_H
#define POLLTGT_SERVER_SERVER_H

#include <stdint.h>

#include "mainloop.h"

struct server;

/* Start everything the main loop's configuration describes.  Logs what
 * failed; returns 0 or -errno. */
int server_start(struct server **out, struct mainloop *ml) ATTR_NONNULL(1, 2);

/* Stop and free; NULL is fine. */
void server_stop(struct server *srv);

/* What the status socket reports on (main thread). */
struct iothread;
struct export_set;
struct nbd_server;
struct iscsi_server;
unsigned server_niothreads(const struct server *srv) ATTR_NONNULL(1);
struct iothread *server_iothread(const struct server *srv, unsigned id)
    ATTR_NONNULL(1);
const struct export_set *server_exports(const struct server *srv)
    ATTR_NONNULL(1);
/* NULL when no NBD listener is configured. */
struct nbd_server *server_nbd(struct server *srv) ATTR_NONNULL(1);
/* NULL when no iSCSI listener is configured. */
struct iscsi_server *server_iscsi(struct server *srv) ATTR_NONNULL(1);
struct mainloop *server_mainloop(const struct server *srv) ATTR_NONNULL(1);
/* CLOCK_MONOTONIC time of the start. */
int64_t server_started_ns(const struct server *srv) ATTR_NONNULL(1);

#endif /* POLLTGT_SERVER_SERVER_H */
