/* SPDX-License-Identifier: MIT */
/*
 * Private to the gateway backends (nbd.c, iscsi.c): the part of talking
 * to a remote server that does not depend on the protocol, in remote.c.
 *
 * An export has one struct remote; each I/O thread that sends it a
 * request gets its own struct remote_conn, created on that thread on its
 * first request and driven only from that thread's loop: the protocol
 * library's fd is a handler there, its completions are collected on a
 * list and handed to the front end by a bottom half (so a front end never
 * runs inside the library's callback, and may submit from its done
 * callback), and a timer checks the oldest request against the timeout.
 * A lost remote (the library says the session died, or a request or the
 * connect took longer than request-timeout) fails everything outstanding
 * and everything new with -EIO, and a timer reconnects with a doubling
 * delay.  The protocol plugs in through struct remote_proto.
 */
#ifndef POLLTGT_BACKENDS_REMOTE_INTERNAL_H
#define POLLTGT_BACKENDS_REMOTE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "aio/aio.h"
#include "backends/backend.h"
#include "util/compiler.h"

struct remote;
struct remote_conn;

/* Every function runs on the connection's I/O thread. */
struct remote_proto {
    const char *name; /* "nbd", "iscsi": log lines */
    /* Trims and zeroes with BACKEND_FUA are followed by a flush step
     * (req->stage 1, step_count 0): for protocols whose trim and zero
     * commands have no FUA bit (SCSI UNMAP, WRITE SAME). */
    bool fua_by_flush;

    /* Start an asynchronous connect of c (c->session is NULL): create the
     * session, begin connecting, and call remote_conn_watch() with its
     * fd.  Returns 0, or -errno after logging why at debug level. */
    int (*connect)(struct remote_conn *c);

    /* Close c->session now and set it to NULL.  Completions the library
     * reports while closing go through remote_conn_complete() as usual;
     * after this returns it must never call back for any request. */
    void (*disconnect)(struct remote_conn *c);

    /* The fd is readable / writable (or, with events == 0, a tick). */
    void (*service)(struct remote_conn *c, bool readable, bool writable);

    /* Send req's next step: req->progress bytes are done, the step is
     * req->step_count bytes from req->offset + req->progress (remote.c
     * chose it), into or from the request's buffer at data (NULL for
     * operations without one).  Returns 0 (completion through
     * remote_conn_complete) or -errno if nothing was sent: -ENOTCONN if
     * the session is dead (remote.c then treats the remote as lost). */
    int (*submit)(struct remote_conn *c, struct backend_req *req, void *data);
};

enum remote_state {
    REMOTE_NEW,        /* no session yet */
    REMOTE_CONNECTING, /* first connect: requests wait */
    REMOTE_UP,         /* serving */
    REMOTE_DOWN,       /* lost: requests fail, a timer reconnects */
    REMOTE_CLOSED,     /* its thread is stopping */
};

struct remote_conn {
    uint32_t magic;
    struct remote *r;
    struct aio_ctx *ctx;
    enum remote_state state;
    bool reconnecting;       /* the connect in progress follows a loss */
    void *session;           /* the library's handle */
    int fd;
    struct aio_handler *h;
    bool want_write;
    int64_t connect_start_ns;
    int64_t backoff_ns;
    unsigned attempts;       /* failed connects since the last success */
    struct aio_timer retry_timer;
    struct aio_timer tick_timer;
    bool tick_armed;
    struct aio_bh done_bh;
    struct aio_exit_notifier exit;
    /* Requests sent, oldest first; waiting for the first connect; done. */
    struct backend_req *inflight_head, *inflight_tail;
    struct backend_req *wait_head, *wait_tail;
    struct backend_req *done_head, *done_tail;

    /* Counters: this thread writes, any thread reads. */
    _Atomic uint64_t requests, errors, timeouts, reconnects;
    _Atomic uint64_t latency_ns_sum, latency_count;
    _Atomic bool up;
};

struct remote {
    uint32_t magic;
    const struct remote_proto *proto;
    char *export_name;
    void *priv;              /* the protocol's per-export state */
    int64_t timeout_ns;
    /* The largest step of a read or write, of a trim, of a zero: the
     * remote's limits if it has smaller ones than remote.c's (set by the
     * protocol after remote_init; 0 keeps remote.c's). */
    uint64_t max_io_step, max_trim_step, max_zero_step;
    _Atomic unsigned nconns; /* slots claimed in conns[] */
    _Atomic(struct remote_conn *) conns[CONFIG_MAX_IOTHREADS];
};

#define REMOTE_DEFAULT_TIMEOUT_NS (30 * INT64_C(1000000000))

/* Main thread, in the backend's open / close.  remote_fini runs after
 * every I/O thread stopped (their exit notifiers closed the sessions). */
int remote_init(struct remote *r, const struct remote_proto *proto,
                const struct config_export *cfg, void *priv)
    ATTR_NONNULL(1, 2, 3);
void remote_fini(struct remote *r) ATTR_NONNULL(1);

/* The backend ops' request entry point (I/O thread). */
void remote_submit(struct remote *r, struct backend_req *req) ATTR_NONNULL(1, 2);

/* Where the step in flight of a read or write goes or comes from (a
 * contiguous buffer: remote.c bounces several iovecs); NULL for others. */
void *remote_step_data(struct backend_req *req) ATTR_NONNULL(1);

/* The counters (any thread). */
void remote_stats(struct remote *r, struct backend_remote_stats *out)
    ATTR_NONNULL(1, 2);

/* --- For the protocol, on the connection's thread ----------------------- */

/* The session's fd and whether it wants to write; fd < 0: none yet. */
void remote_conn_watch(struct remote_conn *c, int fd, bool want_write)
    ATTR_NONNULL(1);
/* The connect finished: serve. */
void remote_conn_connected(struct remote_conn *c) ATTR_NONNULL(1);
/* The session is gone or unusable; why is logged.  Not from inside a
 * library callback (it closes the session). */
void remote_conn_lost(struct remote_conn *c, const char *why)
    ATTR_NONNULL(1, 2);
/* req (sent by submit) finished its step with 0 or -errno.  Safe from
 * inside a library callback: it only moves req to the done list. */
void remote_conn_complete(struct remote_conn *c, struct backend_req *req,
                          int err) ATTR_NONNULL(1, 2);

#endif /* POLLTGT_BACKENDS_REMOTE_INTERNAL_H */
