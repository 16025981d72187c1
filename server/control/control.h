/* SPDX-License-Identifier: MIT */
/*
 * The status socket: a Unix socket on the main thread's libev loop where
 * operators, polltgtctl and monitoring ask for statistics (JSON and
 * Prometheus text) and change poll tunables.  See control-protocol.h for
 * the framing and man/polltgtctl.8 for the commands.
 */
#ifndef POLLTGT_CONTROL_CONTROL_H
#define POLLTGT_CONTROL_CONTROL_H

#include <stddef.h>

#include "util/compiler.h"

struct ev_loop;
struct control;
struct stats_report;

/*
 * Everything the status socket may ask of the server that owns it: a
 * snapshot for a report, the hops that collect each I/O thread's part, and
 * the `set` and `reload` commands.  The status socket knows the server
 * only through these, so it depends on no part of it (threads, exports,
 * front ends), and the server never reaches into the status socket.
 * opaque is the pointer given to control_start; every function is called
 * on the main thread, except collect_thread.
 */
struct control_server_ops {
    /* Fill in what the main thread may read at once: r->uptime_s,
     * r->threads (calloc'd, r->nthreads entries with id, cpu, nconns and
     * I/O counters) and r->exports with their counters.  Returns 0 or
     * -ENOMEM; the caller frees r either way (stats_report_free). */
    int (*snapshot)(void *opaque, struct stats_report *r);
    /* Run fn(arg) on I/O thread id (id < r->nthreads of the snapshot).
     * Returns 0 or -ENOMEM (fn will not run). */
    int (*run_on_thread)(void *opaque, unsigned id, void (*fn)(void *arg),
                         void *arg);
    /* On I/O thread id, from a function run there by run_on_thread: fill
     * in r->threads[id] (loop counters, handlers) and add the thread's
     * connections. */
    void (*collect_thread)(void *opaque, unsigned id, struct stats_report *r);
    /* `set`: change poll tunable key of I/O thread id (-1: all).  Returns
     * 0, or -errno with a message for the client in err. */
    int (*set_param)(void *opaque, int id, const char *key,
                     const char *value, char *err, size_t errlen);
    /* `reload`: re-read the configuration file.  Returns the number of
     * live changes, or -errno with *errmsg set (malloc'd, may be NULL). */
    int (*reload)(void *opaque, char **errmsg);
    /* The configuration file's name, for reload's error answer. */
    const char *(*config_file)(void *opaque);
};

/* Bind path (a stale socket is replaced, any other file refused), chmod
 * it to mode and chown it to uid/gid (-1: unchanged), accept clients and
 * answer them through ops (which must outlive the status socket).
 * Returns 0 or -errno (logged). */
int control_start(struct control **out, struct ev_loop *loop, const char *path,
                  unsigned mode, long uid, long gid,
                  const struct control_server_ops *ops, void *opaque)
    ATTR_NONNULL(1, 2, 3, 7);

/* Close the socket and every client; NULL is fine. */
void control_stop(struct control *ctl);

#endif /* POLLTGT_CONTROL_CONTROL_H */
