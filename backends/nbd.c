/* SPDX-License-Identifier: MIT */
/*
 * The nbd backend: an export of another NBD server (`uri`), re-exported.
 * A gateway in the manner of nbdkit's nbd plugin, but asynchronous on the
 * I/O threads' loops: each thread drives its own libnbd handle through
 * nbd_aio_get_fd / nbd_aio_get_direction / nbd_aio_notify_read/write, and
 * every request maps to one libnbd command (nbd_aio_pread, _pwrite,
 * _flush, _trim, _zero, _cache, _block_status) whose completion callback
 * hands it back to remote.c, which owns connections, timeouts and
 * reconnects (remote-internal.h).
 *
 * Open probes the remote once, synchronously on the main thread (where
 * blocking is fine, for at most request-timeout per address): its size, block size and what it can do become the
 * export's, so clients of the gateway see the remote's own capabilities.
 * A reconnect to a remote whose size changed is refused, since clients
 * were told the old one.  The names here are nbdgw_ because libnbd owns
 * nbd_*.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnbd.h>

#include "backends/backend.h"
#include "backends/remote-internal.h"
#include "log.h"
#include "util/clock.h"
#include "util/minmax.h"

struct nbdgw_export {
    struct remote remote; /* first: remote.c's part */
    char *uri;
    uint64_t size;
    unsigned caps;
    uint32_t min_block;
};

/* A new handle for uri, set up as every connection of ours is. */
static struct nbd_handle *
nbdgw_handle_new(const char *export_name)
{
    struct nbd_handle *h = nbd_create();

    if (h == NULL) {
        return NULL;
    }
    if (nbd_set_handle_name(h, export_name) < 0
        || nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) < 0) {
        nbd_close(h);
        return NULL;
    }
    return h;
}

/* --- Open: the probe ----------------------------------------------------- */

static unsigned
nbdgw_probe_caps(struct nbd_handle *h)
{
    unsigned caps = 0;

    if (nbd_is_read_only(h) == 0) {
        caps |= BACKEND_CAN_WRITE;
    }
    if (nbd_can_flush(h) == 1) {
        caps |= BACKEND_CAN_FLUSH;
    }
    if (nbd_can_fua(h) == 1) {
        caps |= BACKEND_CAN_FUA;
    }
    if (nbd_can_trim(h) == 1) {
        caps |= BACKEND_CAN_TRIM;
    }
    if (nbd_can_zero(h) == 1) {
        caps |= BACKEND_CAN_ZERO;
    }
    if (nbd_can_fast_zero(h) == 1) {
        caps |= BACKEND_CAN_FAST_ZERO;
    }
    if (nbd_can_cache(h) == 1) {
        caps |= BACKEND_CAN_CACHE;
    }
    if (nbd_can_multi_conn(h) == 1) {
        caps |= BACKEND_CAN_MULTI_CONN;
    }
    if (nbd_can_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1) {
        caps |= BACKEND_CAN_BLOCK_STATUS;
    }
    return caps;
}

static int nbdgw_connect(struct remote_conn *c);
static void nbdgw_disconnect(struct remote_conn *c);
static void nbdgw_service(struct remote_conn *c, bool readable, bool writable);
static int nbdgw_submit(struct remote_conn *c, struct backend_req *req,
                        void *data);

static const struct remote_proto nbdgw_proto = {
    .name = "nbd",
    .connect = nbdgw_connect,
    .disconnect = nbdgw_disconnect,
    .service = nbdgw_service,
    .submit = nbdgw_submit,
};

/*
 * The host name to look up off the loop for uri, or NULL: none for Unix
 * sockets, vsock and numeric addresses, and none for nbds:// with
 * certificates, because libnbd 1.14 checks the server's certificate
 * against the host it was given (there is no separate TLS host name), so
 * a numeric address would fail the check.  Those connects resolve the
 * name inside libnbd, on the loop (documented in polltgt.ini(5)).  PSK
 * has no names to check.
 */
static char *
nbdgw_host_to_resolve(const char *uri)
{
    char *host;

    if (strncmp(uri, "nbd://", 6) != 0
        && (strncmp(uri, "nbds://", 7) != 0 || !strstr(uri, "tls-psk-file="))) {
        return NULL;
    }
    host = remote_url_host(uri);
    if (host && remote_host_is_numeric(host)) {
        free(host);
        return NULL;
    }
    return host;
}

/* uri with addr as its host ("": uri itself); NULL: out of memory. */
static char *
nbdgw_uri_at(const char *uri, const char *addr)
{
    return *addr ? remote_url_with_host(uri, addr) : strdup(uri);
}

/*
 * Connect h to uri, waiting at most timeout_ns: a remote that accepts
 * the TCP connect and then says nothing (or drops the SYN) fails the
 * start-up instead of hanging it.  Returns NULL or why not.
 */
static const char *
nbdgw_probe_connect(struct nbd_handle *h, const char *uri, int64_t timeout_ns,
                    char *why, size_t whylen)
{
    int64_t deadline = clock_now_ns() + timeout_ns;

    if (nbd_aio_connect_uri(h, uri) < 0) {
        return nbd_get_error() ? nbd_get_error() : "cannot connect";
    }
    while (nbd_aio_is_connecting(h) == 1) {
        int64_t left = deadline - clock_now_ns();

        if (left <= 0) {
            snprintf(why, whylen, "no answer within %" PRId64 " ms "
                     "(request-timeout)", timeout_ns / NS_PER_MS);
            return why;
        }
        if (nbd_poll(h, (int)MAX(left / NS_PER_MS, 1)) < 0) {
            return nbd_get_error() ? nbd_get_error() : "the connection failed";
        }
    }
    if (nbd_aio_is_ready(h) == 1) {
        return NULL;
    }
    return nbd_get_error() ? nbd_get_error() : "the connection failed";
}

/* Connect a probe handle: each address of the host in turn.  *h is the
 * connected handle; e->remote.probe_addr the address that answered. */
static int
nbdgw_probe_open(struct nbdgw_export *e, const struct config_export *cfg,
                 int64_t timeout_ns, struct nbd_handle **hp)
{
    struct remote_addrs addrs = { .n = 1 }; /* "": the URI as written */
    char *host = nbdgw_host_to_resolve(cfg->uri);
    const char *why = NULL;
    char buf[128];

    if (host) {
        why = remote_resolve_sync(host, &addrs);
        if (why) {
            log_error("export %s: cannot resolve %s in %s: %s", cfg->name,
                      host, cfg->uri, why);
            free(host);
            return -EIO;
        }
    }
    for (unsigned i = 0; i < addrs.n; i++) {
        struct nbd_handle *h = nbdgw_handle_new(cfg->name);
        char *uri = nbdgw_uri_at(cfg->uri, addrs.addr[i]);

        if (h == NULL || uri == NULL) {
            log_error("export %s: nbd backend: %s", cfg->name,
                      h ? strerror(ENOMEM) : nbd_get_error());
            nbd_close(h);
            free(uri);
            free(host);
            return -ENOMEM;
        }
        why = nbdgw_probe_connect(h, uri, timeout_ns, buf, sizeof buf);
        if (why == NULL) {
            memcpy(e->remote.probe_addr, addrs.addr[i], REMOTE_ADDR_LEN);
            *hp = h;
            free(uri);
            free(host);
            return 0;
        }
        log_error("export %s: cannot connect to %s%s%s: %s", cfg->name,
                  cfg->uri, *addrs.addr[i] ? " at " : "", addrs.addr[i], why);
        nbd_close(h);
        free(uri);
    }
    free(host);
    return -EIO;
}

static int
nbdgw_open(const struct config_export *cfg, void **handle)
{
    struct nbdgw_export *e;
    struct nbd_handle *h = NULL;
    int64_t size, minb, maxb;
    int r;

    e = calloc(1, sizeof *e);
    if (e == NULL || (e->uri = strdup(cfg->uri)) == NULL) {
        free(e);
        log_error("export %s: nbd backend: %s", cfg->name, strerror(ENOMEM));
        return -ENOMEM;
    }
    r = remote_init(&e->remote, &nbdgw_proto, cfg, e);
    if (r < 0) {
        log_error("export %s: nbd backend: %s", cfg->name, strerror(-r));
        free(e->uri);
        free(e);
        return r;
    }
    r = nbdgw_probe_open(e, cfg, e->remote.timeout_ns, &h);
    if (r < 0) {
        goto err;
    }
    size = nbd_get_size(h);
    if (size < 0) {
        log_error("export %s: %s: cannot get the size: %s", cfg->name,
                  cfg->uri, nbd_get_error());
        r = -EIO;
        goto err_close;
    }
    e->size = (uint64_t)size;
    e->caps = nbdgw_probe_caps(h);
    if (cfg->readonly) {
        e->caps &= ~(BACKEND_CAN_WRITE | BACKEND_CAN_FUA | BACKEND_CAN_TRIM
                     | BACKEND_CAN_ZERO | BACKEND_CAN_FAST_ZERO);
    }
    minb = nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM);
    e->min_block = minb > 0 && minb <= 65536 ? (uint32_t)minb : 1;
    /* A remote may take less than 32 MiB per read or write. */
    maxb = nbd_get_block_size(h, LIBNBD_SIZE_MAXIMUM);
    (void)nbd_shutdown(h, 0);
    nbd_close(h);
    if (maxb >= (int64_t)e->min_block && maxb >= 512) {
        e->remote.max_io_step = (uint64_t)maxb / e->min_block * e->min_block;
    }
    e->remote.host = nbdgw_host_to_resolve(cfg->uri);
    log_info("export %s: nbd remote %s: %" PRIu64 " bytes, min block %" PRIu32
             ", caps 0x%x", cfg->name, cfg->uri, e->size, e->min_block,
             e->caps);
    *handle = e;
    return 0;

err_close:
    nbd_close(h);
err:
    remote_fini(&e->remote);
    free(e->uri);
    free(e);
    return r;
}

static void
nbdgw_close(void *handle)
{
    struct nbdgw_export *e = handle;

    remote_fini(&e->remote);
    free(e->uri);
    free(e);
}

static uint64_t
nbdgw_size(void *handle)
{
    const struct nbdgw_export *e = handle;

    return e->size;
}

static unsigned
nbdgw_caps(void *handle)
{
    const struct nbdgw_export *e = handle;

    return e->caps;
}

static uint32_t
nbdgw_min_block(void *handle)
{
    const struct nbdgw_export *e = handle;

    return e->min_block;
}

/* --- A connection on an I/O thread ---------------------------------------- */

/* Tell the loop what the handle waits for, and notice the end of a
 * connect or of the session. */
static void
nbdgw_progress(struct remote_conn *c)
{
    struct nbd_handle *h = c->session;
    struct nbdgw_export *e = c->r->priv;

    if (nbd_aio_is_dead(h) == 1 || nbd_aio_is_closed(h) == 1) {
        const char *why = nbd_get_error();

        remote_conn_lost(c, why && *why ? why : "the connection was closed");
        return;
    }
    if (c->state == REMOTE_CONNECTING && nbd_aio_is_ready(h) == 1) {
        int64_t size = nbd_get_size(h);

        if (size < 0 || (uint64_t)size != e->size) {
            remote_conn_lost(c, "the remote's size changed");
            return;
        }
        remote_conn_connected(c);
        if (c->session == NULL) {
            return;
        }
    }
    remote_conn_watch(c, nbd_aio_get_fd(h),
                      (nbd_aio_get_direction(h) & LIBNBD_AIO_DIRECTION_WRITE)
                          != 0);
}

static int
nbdgw_connect(struct remote_conn *c)
{
    struct nbdgw_export *e = c->r->priv;
    struct nbd_handle *h = nbdgw_handle_new(c->r->export_name);
    char *uri = nbdgw_uri_at(e->uri, c->addr);

    if (h == NULL || uri == NULL) {
        nbd_close(h);
        free(uri);
        return -ENOMEM;
    }
    if (nbd_aio_connect_uri(h, uri) < 0) {
        int err = nbd_get_errno();

        log_debug("export %s: nbd: connect to %s: %s", c->r->export_name,
                  uri, nbd_get_error());
        nbd_close(h);
        free(uri);
        return -(err > 0 ? err : EIO);
    }
    free(uri);
    c->session = h;
    nbdgw_progress(c);
    return 0;
}

static void
nbdgw_disconnect(struct remote_conn *c)
{
    struct nbd_handle *h = c->session;

    /* Whatever nbd_close does with the commands in flight (it may call
     * their completions, which land on the done list), it never calls
     * back afterwards; remote.c fails what is left itself. */
    c->session = NULL;
    if (nbd_aio_is_ready(h) == 1) {
        /* A healthy session (a timeout, or the thread stopping): say
         * goodbye; libnbd sends it at once when the socket has room. */
        (void)nbd_aio_disconnect(h, 0);
    }
    nbd_close(h);
}

static void
nbdgw_service(struct remote_conn *c, bool readable, bool writable)
{
    struct nbd_handle *h = c->session;

    if (h == NULL) {
        return;
    }
    if (readable) {
        (void)nbd_aio_notify_read(h);
    }
    if (writable && c->session) {
        (void)nbd_aio_notify_write(h);
    }
    if (c->session) {
        nbdgw_progress(c);
    }
}

/* libnbd's errno for a command; a transport failure is the remote lost. */
static int
nbdgw_errno(int error)
{
    switch (error) {
    case 0:
        return 0;
    case EPERM:
    case EROFS:
    case ENOSPC:
    case EINVAL:
    case ENOTSUP:
    case EOVERFLOW:
    case ENOMEM:
    case EIO:
        return -error;
    default:
        return -EIO;
    }
}

static int
nbdgw_cmd_done(void *user_data, int *error)
{
    struct backend_req *req = user_data;

    remote_conn_complete(req->handle, req, nbdgw_errno(*error));
    return 1; /* retire the command */
}

/* base:allocation extents into the request's answer, clipped to it. */
static int
nbdgw_extents(void *user_data, const char *metacontext, uint64_t offset,
              uint32_t *entries, size_t nr_entries, int *error)
{
    struct backend_req *req = user_data;
    uint64_t covered = 0;

    if (strcmp(metacontext, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0
        || req->nextents > 0) {
        return 0;
    }
    for (size_t i = 0; i + 1 < nr_entries && covered < req->count; i += 2) {
        uint64_t len = MIN((uint64_t)entries[i], req->count - covered);
        uint32_t type = 0;

        if (len == 0) {
            break;
        }
        if (entries[i + 1] & LIBNBD_STATE_HOLE) {
            type |= BACKEND_EXTENT_HOLE;
        }
        if (entries[i + 1] & LIBNBD_STATE_ZERO) {
            type |= BACKEND_EXTENT_ZERO;
        }
        if (!backend_extent_add(req, len, type)) {
            break;
        }
        covered += len;
    }
    return 0;
}

static int
nbdgw_submit(struct remote_conn *c, struct backend_req *req, void *data)
{
    struct nbd_handle *h = c->session;
    nbd_completion_callback done = { .callback = nbdgw_cmd_done,
                                     .user_data = req };
    uint64_t off = req->offset + req->progress, n = req->step_count;
    uint32_t fl = (req->flags & BACKEND_FUA) ? LIBNBD_CMD_FLAG_FUA : 0;
    int64_t cookie = -1;

    switch (req->op) {
    case BACKEND_OP_READ:
        cookie = nbd_aio_pread(h, data, n, off, done, 0);
        break;
    case BACKEND_OP_WRITE:
        cookie = nbd_aio_pwrite(h, data, n, off, done, fl);
        break;
    case BACKEND_OP_FLUSH:
        cookie = nbd_aio_flush(h, done, 0);
        break;
    case BACKEND_OP_TRIM:
        cookie = nbd_aio_trim(h, n, off, done, fl);
        break;
    case BACKEND_OP_ZERO:
        if (!(req->flags & BACKEND_MAY_TRIM)) {
            fl |= LIBNBD_CMD_FLAG_NO_HOLE;
        }
        if (req->flags & BACKEND_FAST_ZERO) {
            fl |= LIBNBD_CMD_FLAG_FAST_ZERO;
        }
        cookie = nbd_aio_zero(h, n, off, done, fl);
        break;
    case BACKEND_OP_CACHE:
        cookie = nbd_aio_cache(h, n, off, done, 0);
        break;
    case BACKEND_OP_BLOCK_STATUS: {
        nbd_extent_callback ext = { .callback = nbdgw_extents,
                                    .user_data = req };

        /* NBD counts are 32-bit; the answer may cover less than asked. */
        n = MIN(n, UINT64_C(1) << 30);
        req->nextents = 0;
        cookie = nbd_aio_block_status(
            h, n, off, ext, done,
            (req->flags & BACKEND_REQ_ONE) ? LIBNBD_CMD_FLAG_REQ_ONE : 0);
        break;
    }
    }
    if (cookie < 0) {
        int err = nbd_get_errno();

        log_debug("export %s: nbd: cannot send a request: %s",
                  c->r->export_name, nbd_get_error());
        if (nbd_aio_is_dead(h) == 1 || nbd_aio_is_closed(h) == 1) {
            return -ENOTCONN;
        }
        return err > 0 ? -err : -EIO;
    }
    remote_conn_watch(c, nbd_aio_get_fd(h),
                      (nbd_aio_get_direction(h) & LIBNBD_AIO_DIRECTION_WRITE)
                          != 0);
    return 0;
}

/* --- Ops -------------------------------------------------------------- */

static void
nbdgw_request(void *handle, struct backend_req *req)
{
    struct nbdgw_export *e = handle;

    remote_submit(&e->remote, req);
}

static void
nbdgw_remote_stats(void *handle, struct backend_remote_stats *out)
{
    struct nbdgw_export *e = handle;

    remote_stats(&e->remote, out);
}

const struct backend_ops backend_nbd_ops = {
    .name = "nbd",
    .open = nbdgw_open,
    .close = nbdgw_close,
    .size = nbdgw_size,
    .caps = nbdgw_caps,
    .min_block = nbdgw_min_block,
    .read = nbdgw_request,
    .write = nbdgw_request,
    .flush = nbdgw_request,
    .trim = nbdgw_request,
    .zero = nbdgw_request,
    .block_status = nbdgw_request,
    .cache = nbdgw_request,
    .remote_stats = nbdgw_remote_stats,
};
