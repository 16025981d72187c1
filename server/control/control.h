/* SPDX-License-Identifier: MIT */
/*
 * The status socket: a Unix socket on the main thread's libev loop where
 * operators, polltgtctl and monitoring ask for statistics (JSON and
 * Prometheus text) and change poll tunables.  See control-protocol.h for
 * the framing and man/polltgtctl.8 for the commands.
 */
#ifndef POLLTGT_CONTROL_CONTROL_H
#define POLLTGT_CONTROL_CONTROL_H

#include "util/compiler.h"

struct ev_loop;
struct server;
struct control;

/* Bind path (a stale socket is replaced, any other file refused), chmod
 * it to mode and chown it to uid/gid (-1: unchanged), accept clients.
 * Returns 0 or -errno (logged). */
int control_start(struct control **out, struct ev_loop *loop, const char *path,
                  unsigned mode, long uid, long gid, struct server *srv)
    ATTR_NONNULL(1, 2, 3, 7);

/* Close the socket and every client; NULL is fine. */
void control_stop(struct control *ctl);

#endif /* POLLTGT_CONTROL_CONTROL_H */
