/* SPDX-License-Identifier: MIT */
/*
 * The running server: what the configuration asks for, started in order
 * (I/O threads, then front ends and the status socket) and stopped in
 * reverse.  main.c owns the process; this owns the parts.
 */
#ifndef POLLTGT_SERVER_SERVER_H
#define POLLTGT_SERVER_SERVER_H

#include "mainloop.h"

struct server;

/* Start everything the main loop's configuration describes.  Logs what
 * failed; returns 0 or -errno. */
int server_start(struct server **out, struct mainloop *ml) ATTR_NONNULL(1, 2);

/* Stop and free; NULL is fine. */
void server_stop(struct server *srv);

#endif /* POLLTGT_SERVER_SERVER_H */
