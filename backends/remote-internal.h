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
 * delay.  A remote named by a host name is looked up again before each
 * connect, on a thread of its own (remote-resolve.c), and the library
 * gets a numeric address, so no DNS query blocks the loop.  The protocol
 * plugs in through struct remote_proto.
 */
#ifndef POLLTGT_BACKENDS_REMOTE_INTERNAL_H
#define POLLTGT_BACKENDS_REMOTE_INTERNAL_H

#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "aio/aio.h"
#include "backends/backend.h"
#include "util/compiler.h"

struct remote;
struct remote_conn;
struct remote_resolve;

/* A numeric address as text ("192.0.2.1", "2001:db8::1"). */
#define REMOTE_ADDR_LEN INET6_ADDRSTRLEN
#define REMOTE_MAX_ADDRS 8

/* Every function runs on the connection's I/O thread. */
struct remote_proto {
    const char *name; /* "nbd", "iscsi": log lines */
    /* Trims and zeroes with BACKEND_FUA are followed by a flush step
     * (req->stage 1, step_count 0): for protocols whose trim and zero
     * commands have no FUA bit (SCSI UNMAP, WRITE SAME). */
    bool fua_by_flush;

    /* Start an asynchronous connect of c (c->session is NULL): create the
     * session, begin connecting, and call remote_conn_watch() with its
     * fd.  With c->addr non-empty, connect to that numeric address in
     * place of the URL's host (struct remote's host names it).  Returns 0,
     * or -errno after logging why at debug level. */
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
    /* The lookup of r->host in flight, the address this connect uses
     * ("": the URL as written) and the one that last worked. */
    struct remote_resolve *resolving;
    char addr[REMOTE_ADDR_LEN];
    char good_addr[REMOTE_ADDR_LEN];
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
    /* A host name to look up off the loop before each connect (set by the
     * protocol after remote_init, freed by remote_fini; NULL: none), and
     * the address the probe reached, tried first. */
    char *host;
    char probe_addr[REMOTE_ADDR_LEN];
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

/* --- Host names (remote-resolve.c) ---------------------------------------- */

struct remote_addrs {
    unsigned n;
    char addr[REMOTE_MAX_ADDRS][REMOTE_ADDR_LEN];
};

/* err is NULL or why the lookup failed (gai_strerror's text). */
typedef void remote_resolve_cb(void *opaque, const char *err,
                               const struct remote_addrs *addrs);
typedef int remote_lookup_fn(const char *host, const char *service,
                             const struct addrinfo *hints,
                             struct addrinfo **res);

/* What the lookup threads call: getaddrinfo, unless a test slows it. */
extern remote_lookup_fn *remote_resolve_lookup;

/* Look host up on a thread of its own; done runs later on ctx's loop,
 * unless remote_resolve_cancel (same thread) came first.  NULL: out of
 * memory or threads. */
struct remote_resolve *remote_resolve_start(struct aio_ctx *ctx,
                                            const char *host,
                                            remote_resolve_cb *done,
                                            void *opaque)
    ATTR_NONNULL(1, 2, 3);
void remote_resolve_cancel(struct remote_resolve *q) ATTR_NONNULL(1);
/* The same, blocking: the start-up probe's, on the main thread. */
const char *remote_resolve_sync(const char *host, struct remote_addrs *out)
    ATTR_NONNULL(1, 2);
bool remote_host_is_numeric(const char *host) ATTR_NONNULL(1);
/* SCHEME://[USERINFO@]HOST[:PORT]...: the host (malloc'd, without the
 * brackets of an IPv6 address), or url with addr for its host (bracketed
 * where it needs them).  NULL: no host, or out of memory. */
char *remote_url_host(const char *url) ATTR_NONNULL(1);
char *remote_url_with_host(const char *url, const char *addr)
    ATTR_NONNULL(1, 2);

#endif /* POLLTGT_BACKENDS_REMOTE_INTERNAL_H */
