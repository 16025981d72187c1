/* SPDX-License-Identifier: MIT */
/*
 * The rbd backend: a Ceph RBD image (`pool`, `image`, `conf`, `id`,
 * `keyring`) exported through librbd's AIO API.  remote.c owns what all
 * gateways share (per-thread state, timeouts, EIO while the remote is
 * lost, reconnects with backoff, counters); this file plugs librbd in.
 *
 * Unlike libnbd and libiscsi, librbd has no fd to drive: it runs its own
 * threads and calls a completion callback on one of them.  So each I/O
 * thread has a channel with a queue (rbd-queue.c: a lock-free stack and
 * an eventfd on its loop): the callback only pushes the finished op, and
 * the loop hands the results to remote.c.
 *
 * One session (cluster connection, open image) serves every thread of
 * the export, because librbd is thread-safe and because two handles on
 * one image would pass its exclusive lock back and forth on every write;
 * a shared handle also makes one flush cover every connection, so the
 * export offers multi-conn.  Connecting blocks (rados_connect,
 * rbd_open), so it never runs on a loop: open does it on the main thread
 * and a helper thread does it again after a loss, and closes lost
 * sessions there too (rbd_close waits for what is in flight).
 *
 * A lost session (a request timed out, librbd answered ETIMEDOUT or the
 * client was blocklisted) is marked broken and every thread reconnects
 * onto a new one.  Ops still in flight in a broken session are orphaned:
 * their requests were already failed with EIO, so reads land in a buffer
 * of the op and writes were copied by librbd at submission (we set
 * rbd_disable_zero_copy_writes), and the late completion only frees the
 * op.  rados_osd_op_timeout is the request timeout, so librbd itself
 * gives up on a request the cluster does not answer and a broken session
 * closes in bounded time.  A write that failed that way may still have
 * reached an OSD: the region is undefined, as after any failed write.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "backends/backend.h"
#include "backends/rbd-internal.h"
#include "backends/remote-internal.h"
#include "log.h"
#include "util/clock.h"
#include "util/minmax.h"

struct rbdgw_export;

/* A cluster connection with the image open. */
struct rbdgw_session {
    rados_t cluster;
    rados_ioctx_t io;
    rbd_image_t image;
    unsigned refs;               /* channels attached (under e->lock) */
    _Atomic bool broken;         /* lost: no new requests, close when unused */
    struct rbdgw_session *next;  /* on e->dead */
};

struct rbdgw_op;

/* One I/O thread's view of the export. */
struct rbdgw_chan {
    struct rbdgw_export *e;
    struct remote_conn *c;
    struct rbdq done;                /* pushed by librbd's threads */
    _Atomic bool kick;               /* a connect finished, or a reset */
    struct rbdgw_session *sess;      /* attached (changed under e->lock) */
    bool waiting;                    /* for the helper's connect (lock) */
    bool ready;                      /* ... which finished (lock) */
    struct rbdgw_op *ops;            /* in flight, not orphaned (loop) */
};

struct rbdgw_op {
    struct rbdq_node node;           /* first: on ch->done */
    struct rbdgw_op *prev, *next;    /* in ch->ops */
    struct rbdgw_chan *ch;
    struct backend_req *req;         /* NULL: orphaned */
    void *data;                      /* where a read is copied to */
    void *buf;                       /* what librbd reads into */
    size_t len;
    rbd_completion_t comp;
    ssize_t ret;
};

struct rbdgw_export {
    struct remote remote; /* first: remote.c's part */
    char *pool, *image, *conf, *id, *keyring;
    int64_t timeout_ns;
    bool readonly;
    uint64_t size;
    unsigned caps;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct rbdgw_session *cur;   /* the healthy session, or NULL */
    struct rbdgw_session *dead;  /* broken and unused: to close */
    bool want_connect, stop;
    int last_err;                /* of the helper's last connect */
    pthread_t helper;
    bool helper_started;
    _Atomic unsigned nchans;
    _Atomic(struct rbdgw_chan *) chans[CONFIG_MAX_IOTHREADS];
};

/* --- Sessions (blocking: main thread or the helper) --------------------- */

static void
rbdgw_session_close(struct rbdgw_session *s)
{
    if (s->image) {
        (void)rbd_close(s->image);
    }
    if (s->io) {
        rados_ioctx_destroy(s->io);
    }
    if (s->cluster) {
        rados_shutdown(s->cluster);
    }
    free(s);
}

static int
rbdgw_conf_set(struct rbdgw_session *s, const char *key, const char *value,
               const char **why)
{
    int r = rados_conf_set(s->cluster, key, value);

    if (r < 0) {
        *why = key;
    }
    return r;
}

/* The step of rbdgw_session_open that authenticates: a failure there is
 * most often the client's name or key, which the log line then names. */
static const char rbdgw_connect_step[] = "connecting to the cluster";

/* Connect and open the image; *why names the step that failed. */
static int
rbdgw_session_open(struct rbdgw_export *e, struct rbdgw_session **out,
                   uint64_t *size, const char **why)
{
    struct rbdgw_session *s = calloc(1, sizeof *s);
    rbd_image_info_t info;
    char secs[32];
    int r;

    if (s == NULL) {
        *why = "allocation";
        return -ENOMEM;
    }
    *why = "rados_create";
    r = rados_create(&s->cluster, e->id);
    if (r < 0) {
        s->cluster = NULL;
        goto err;
    }
    *why = e->conf ? e->conf : "the default ceph.conf";
    r = rados_conf_read_file(s->cluster, e->conf);
    if (r < 0) {
        goto err;
    }
    /* Ceph's timeouts are whole seconds: round up. */
    snprintf(secs, sizeof secs, "%" PRId64,
             (e->timeout_ns + NS_PER_SEC - 1) / NS_PER_SEC);
    if ((e->keyring && (r = rbdgw_conf_set(s, "keyring", e->keyring, why)) < 0)
        || (r = rbdgw_conf_set(s, "rados_osd_op_timeout", secs, why)) < 0
        || (r = rbdgw_conf_set(s, "rados_mon_op_timeout", secs, why)) < 0
        || (r = rbdgw_conf_set(s, "client_mount_timeout", secs, why)) < 0
        || (r = rbdgw_conf_set(s, "rbd_disable_zero_copy_writes", "true",
                               why)) < 0) {
        goto err;
    }
    *why = rbdgw_connect_step;
    r = rados_connect(s->cluster);
    if (r < 0) {
        goto err;
    }
    *why = "opening the pool";
    r = rados_ioctx_create(s->cluster, e->pool, &s->io);
    if (r < 0) {
        s->io = NULL;
        goto err;
    }
    *why = "opening the image";
    r = e->readonly ? rbd_open_read_only(s->io, e->image, &s->image, NULL)
                    : rbd_open(s->io, e->image, &s->image, NULL);
    if (r < 0) {
        s->image = NULL;
        goto err;
    }
    *why = "rbd_stat";
    r = rbd_stat(s->image, &info, sizeof info);
    if (r < 0) {
        goto err;
    }
    *size = info.size;
    *out = s;
    return 0;

err:
    rbdgw_session_close(s);
    return r;
}

/* Wake a channel's loop: its session was reset or a connect finished. */
static void
rbdgw_chan_kick(struct rbdgw_chan *ch)
{
    atomic_store(&ch->kick, true);
    rbdq_wake(&ch->done);
}

/* The helper thread: connects when a channel asks, closes lost sessions. */
static void *
rbdgw_helper(void *opaque)
{
    struct rbdgw_export *e = opaque;

    pthread_mutex_lock(&e->lock);
    while (!e->stop) {
        if (e->dead) {
            struct rbdgw_session *s = e->dead;

            e->dead = s->next;
            pthread_mutex_unlock(&e->lock);
            rbdgw_session_close(s);
            pthread_mutex_lock(&e->lock);
            continue;
        }
        if (e->want_connect && e->cur == NULL) {
            struct rbdgw_session *s = NULL;
            const char *why = "";
            uint64_t size = 0;
            int r;

            e->want_connect = false;
            pthread_mutex_unlock(&e->lock);
            r = rbdgw_session_open(e, &s, &size, &why);
            if (r == 0 && size < e->size) {
                /* Clients were told the old size. */
                rbdgw_session_close(s);
                why = "the image shrank";
                r = -EIO;
            }
            if (r < 0) {
                log_debug("export %s: rbd: reconnect: %s: %s",
                          e->remote.export_name, why, strerror(-r));
            }
            pthread_mutex_lock(&e->lock);
            e->cur = r == 0 ? s : NULL;
            e->last_err = r;
            for (unsigned i = 0; i < atomic_load(&e->nchans); i++) {
                struct rbdgw_chan *ch = atomic_load(&e->chans[i]);

                if (ch && ch->waiting) {
                    ch->waiting = false;
                    ch->ready = true;
                    rbdgw_chan_kick(ch);
                }
            }
            continue;
        }
        pthread_cond_wait(&e->cond, &e->lock);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* --- Channels (the I/O thread) -------------------------------------------- */

/* librbd's thread: queue the op for its channel's loop. */
static void
rbdgw_aio_done(rbd_completion_t comp, void *arg)
{
    struct rbdgw_op *op = arg;

    op->ret = rbd_aio_get_return_value(comp);
    rbdq_push(&op->ch->done, &op->node);
}

static void
rbdgw_op_free(struct rbdgw_op *op)
{
    if (op->comp) {
        rbd_aio_release(op->comp);
    }
    free(op->buf);
    free(op);
}

static void
rbdgw_op_unlink(struct rbdgw_chan *ch, struct rbdgw_op *op)
{
    if (op->prev) {
        op->prev->next = op->next;
    } else {
        ch->ops = op->next;
    }
    if (op->next) {
        op->next->prev = op->prev;
    }
    op->prev = op->next = NULL;
}

/* librbd's answer for a request: 0 or -errno; *lost if the session is. */
static int
rbdgw_errno(ssize_t ret, bool *lost)
{
    if (ret >= 0) {
        return 0;
    }
    switch (-ret) {
    case ETIMEDOUT:
    case ESHUTDOWN: /* EBLOCKLISTED */
    case ENOTCONN:
        *lost = true;
        return -EIO;
    case EROFS:
    case EPERM:
    case ENOSPC:
    case EDQUOT:
    case EINVAL:
    case ENOMEM:
        return ret == -EDQUOT ? -ENOSPC : (int)ret;
    default:
        return -EIO;
    }
}

static struct rbdgw_chan *
rbdgw_chan_get(struct rbdgw_export *e, struct remote_conn *c)
{
    unsigned n = atomic_load(&e->nchans), slot;
    struct rbdgw_chan *ch;

    for (unsigned i = 0; i < n; i++) {
        ch = atomic_load(&e->chans[i]);
        if (ch && ch->c == c) {
            return ch;
        }
    }
    ch = calloc(1, sizeof *ch);
    if (ch == NULL) {
        return NULL;
    }
    if (rbdq_init(&ch->done) < 0) {
        free(ch);
        return NULL;
    }
    ch->e = e;
    ch->c = c;
    /* remote.c has one conn per thread and as many slots as threads. */
    pthread_mutex_lock(&e->lock);
    slot = atomic_fetch_add(&e->nchans, 1);
    atomic_store(&e->chans[slot], ch);
    pthread_mutex_unlock(&e->lock);
    return ch;
}

static int
rbdgw_connect(struct remote_conn *c)
{
    struct rbdgw_export *e = c->r->priv;
    struct rbdgw_chan *ch = rbdgw_chan_get(e, c);

    if (ch == NULL) {
        return -ENOMEM;
    }
    c->session = ch;
    pthread_mutex_lock(&e->lock);
    if (e->cur) {
        ch->ready = true;
    } else {
        ch->waiting = true;
        e->want_connect = true;
        pthread_cond_signal(&e->cond);
    }
    pthread_mutex_unlock(&e->lock);
    remote_conn_watch(c, ch->done.efd, false);
    if (ch->ready) {
        rbdgw_chan_kick(ch); /* attach from the loop, not from here */
    }
    return 0;
}

static void
rbdgw_disconnect(struct remote_conn *c)
{
    struct rbdgw_chan *ch = c->session;
    struct rbdgw_export *e = ch->e;
    struct rbdgw_session *s;

    c->session = NULL;
    /* remote.c fails their requests; librbd may still finish them. */
    while (ch->ops) {
        struct rbdgw_op *op = ch->ops;

        op->req = NULL;
        rbdgw_op_unlink(ch, op);
    }
    pthread_mutex_lock(&e->lock);
    ch->waiting = ch->ready = false;
    s = ch->sess;
    ch->sess = NULL;
    if (s) {
        if (c->state != REMOTE_CLOSED && !atomic_load(&s->broken)) {
            /* Lost here, lost for all: the others move off it too. */
            atomic_store(&s->broken, true);
            if (e->cur == s) {
                e->cur = NULL;
            }
            for (unsigned i = 0; i < atomic_load(&e->nchans); i++) {
                struct rbdgw_chan *o = atomic_load(&e->chans[i]);

                if (o && o != ch && o->sess == s) {
                    rbdgw_chan_kick(o);
                }
            }
        }
        if (--s->refs == 0 && atomic_load(&s->broken)) {
            s->next = e->dead;
            e->dead = s;
            pthread_cond_signal(&e->cond);
        }
    }
    pthread_mutex_unlock(&e->lock);
}

/* Deliver what librbd finished; returns why the session is lost, or NULL. */
static const char *
rbdgw_deliver(struct remote_conn *c, struct rbdgw_chan *ch)
{
    const char *lost_why = NULL;
    struct rbdq_node *n = rbdq_take(&ch->done);

    while (n) {
        struct rbdgw_op *op = (struct rbdgw_op *)n;
        struct rbdq_node *next = n->next;
        struct backend_req *req = op->req;

        if (req) {
            bool lost = false;
            int err = rbdgw_errno(op->ret, &lost);

            if (err == 0 && op->buf) {
                size_t got = MIN((size_t)op->ret, op->len);

                memcpy(op->data, op->buf, got);
                memset((char *)op->data + got, 0, op->len - got);
            }
            if (lost) {
                lost_why = op->ret == -ETIMEDOUT ? "a request timed out in librbd"
                           : op->ret == -ESHUTDOWN ? "the client was blocklisted"
                                                   : "the cluster connection failed";
            }
            rbdgw_op_unlink(ch, op);
            remote_conn_complete(c, req, err);
        }
        rbdgw_op_free(op);
        n = next;
    }
    return lost_why;
}

static void
rbdgw_service(struct remote_conn *c, bool readable, bool writable)
{
    struct rbdgw_chan *ch = c->session;
    struct rbdgw_export *e;
    const char *why;

    if (ch == NULL) {
        return;
    }
    e = ch->e;
    why = rbdgw_deliver(c, ch);
    if (why) {
        remote_conn_lost(c, why);
        return;
    }
    if (!atomic_exchange(&ch->kick, false)) {
        return;
    }
    if (ch->sess && atomic_load(&ch->sess->broken)) {
        remote_conn_lost(c, "the session was lost on another thread");
        return;
    }
    if (c->state == REMOTE_CONNECTING) {
        int err = 0;

        pthread_mutex_lock(&e->lock);
        if (ch->ready) {
            ch->ready = false;
            if (e->cur) {
                ch->sess = e->cur;
                e->cur->refs++;
            } else {
                err = e->last_err < 0 ? e->last_err : -EIO;
            }
        }
        pthread_mutex_unlock(&e->lock);
        if (ch->sess) {
            remote_conn_connected(c);
        } else if (err < 0) {
            remote_conn_lost(c, strerror(-err));
        }
    }
}

static int
rbdgw_submit(struct remote_conn *c, struct backend_req *req, void *data)
{
    struct rbdgw_chan *ch = c->session;
    struct rbdgw_session *s = ch->sess;
    uint64_t off = req->offset + req->progress;
    size_t n = (size_t)req->step_count;
    struct rbdgw_op *op;
    int r;

    if (s == NULL || atomic_load(&s->broken)) {
        return -ENOTCONN;
    }
    op = calloc(1, sizeof *op);
    if (op == NULL) {
        return -ENOMEM;
    }
    op->ch = ch;
    op->req = req;
    op->len = n;
    op->data = data;
    if (req->op == BACKEND_OP_READ && (op->buf = malloc(n)) == NULL) {
        free(op);
        return -ENOMEM;
    }
    r = rbd_aio_create_completion(op, rbdgw_aio_done, &op->comp);
    if (r < 0) {
        op->comp = NULL;
        rbdgw_op_free(op);
        return r;
    }
    /* Linked first: librbd may call back before it returns. */
    op->next = ch->ops;
    if (ch->ops) {
        ch->ops->prev = op;
    }
    ch->ops = op;
    switch (req->op) {
    case BACKEND_OP_READ:
        r = rbd_aio_read(s->image, off, n, op->buf, op->comp);
        break;
    case BACKEND_OP_WRITE:
        r = rbd_aio_write(s->image, off, n, data, op->comp);
        break;
    case BACKEND_OP_FLUSH:
        r = rbd_aio_flush(s->image, op->comp);
        break;
    case BACKEND_OP_TRIM:
        r = rbd_aio_discard(s->image, off, n, op->comp);
        break;
    case BACKEND_OP_ZERO:
        /* Without MAY_TRIM the zeroes stay allocated. */
        r = rbd_aio_write_zeroes(s->image, off, n, op->comp,
                                 (req->flags & BACKEND_MAY_TRIM)
                                     ? 0
                                     : RBD_WRITE_ZEROES_FLAG_THICK_PROVISION,
                                 0);
        break;
    default:
        r = -ENOTSUP;
        break;
    }
    if (r < 0) {
        rbdgw_op_unlink(ch, op);
        rbdgw_op_free(op);
        log_debug("export %s: rbd: cannot submit a request: %s",
                  c->r->export_name, strerror(-r));
        return r == -ESHUTDOWN ? -ENOTCONN : r;
    }
    return 0;
}

static const struct remote_proto rbdgw_proto = {
    .name = "rbd",
    .connect = rbdgw_connect,
    .disconnect = rbdgw_disconnect,
    .service = rbdgw_service,
    .submit = rbdgw_submit,
};

/* --- Export (main thread) ---------------------------------------------------- */

static void
rbdgw_free(struct rbdgw_export *e)
{
    free(e->pool);
    free(e->image);
    free(e->conf);
    free(e->id);
    free(e->keyring);
    free(e);
}

static char *
rbdgw_strdup(const char *s, bool *failed)
{
    char *d;

    if (s == NULL) {
        return NULL;
    }
    d = strdup(s);
    if (d == NULL) {
        *failed = true;
    }
    return d;
}

static int
rbdgw_open(const struct config_export *cfg, void **handle)
{
    struct rbdgw_export *e = calloc(1, sizeof *e);
    bool failed = false;
    const char *why = "";
    int r;

    if (e == NULL) {
        log_error("export %s: rbd backend: %s", cfg->name, strerror(ENOMEM));
        return -ENOMEM;
    }
    e->pool = rbdgw_strdup(cfg->rbd_pool, &failed);
    e->image = rbdgw_strdup(cfg->rbd_image, &failed);
    e->conf = rbdgw_strdup(cfg->rbd_conf, &failed);
    e->id = rbdgw_strdup(cfg->rbd_id, &failed);
    e->keyring = rbdgw_strdup(cfg->rbd_keyring, &failed);
    if (failed) {
        rbdgw_free(e);
        log_error("export %s: rbd backend: %s", cfg->name, strerror(ENOMEM));
        return -ENOMEM;
    }
    e->readonly = cfg->readonly;
    e->timeout_ns = cfg->request_timeout_ns ? cfg->request_timeout_ns
                                            : REMOTE_DEFAULT_TIMEOUT_NS;
    r = rbdgw_session_open(e, &e->cur, &e->size, &why);
    if (r < 0) {
        if (why == rbdgw_connect_step) {
            /* librados's account of it goes to its own log, if anywhere:
             * name who we tried to be, the usual cause. */
            log_error("export %s: rbd %s/%s: %s as client.%s (keyring %s): %s",
                      cfg->name, e->pool, e->image, why,
                      e->id ? e->id : "admin",
                      e->keyring ? e->keyring : "as ceph.conf says",
                      strerror(-r));
        } else {
            log_error("export %s: rbd %s/%s: %s: %s", cfg->name, e->pool,
                      e->image, why, strerror(-r));
        }
        rbdgw_free(e);
        return r;
    }
    e->caps = BACKEND_CAN_FLUSH | BACKEND_CAN_MULTI_CONN;
    if (!e->readonly) {
        e->caps |= BACKEND_CAN_WRITE | BACKEND_CAN_TRIM | BACKEND_CAN_ZERO;
    }
    r = remote_init(&e->remote, &rbdgw_proto, cfg, e);
    if (r < 0) {
        goto err_session;
    }
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    r = -pthread_create(&e->helper, NULL, rbdgw_helper, e);
    if (r < 0) {
        pthread_cond_destroy(&e->cond);
        pthread_mutex_destroy(&e->lock);
        remote_fini(&e->remote);
        goto err_session;
    }
    e->helper_started = true;
    log_info("export %s: rbd image %s/%s: %" PRIu64 " bytes", cfg->name,
             e->pool, e->image, e->size);
    *handle = e;
    return 0;

err_session:
    log_error("export %s: rbd backend: %s", cfg->name, strerror(-r));
    rbdgw_session_close(e->cur);
    rbdgw_free(e);
    return r;
}

static void
rbdgw_close(void *handle)
{
    struct rbdgw_export *e = handle;
    unsigned n;

    /* Every I/O thread has stopped: no channel is attached any more. */
    pthread_mutex_lock(&e->lock);
    e->stop = true;
    pthread_cond_signal(&e->cond);
    pthread_mutex_unlock(&e->lock);
    pthread_join(e->helper, NULL);
    while (e->dead) {
        struct rbdgw_session *s = e->dead;

        e->dead = s->next;
        rbdgw_session_close(s);
    }
    if (e->cur) {
        rbdgw_session_close(e->cur); /* flushes librbd's cache */
    }
    /* Every session is closed, so every callback has run. */
    n = atomic_load(&e->nchans);
    for (unsigned i = 0; i < n; i++) {
        struct rbdgw_chan *ch = atomic_load(&e->chans[i]);
        struct rbdq_node *node = rbdq_take(&ch->done);

        while (node) {
            struct rbdq_node *next = node->next;

            rbdgw_op_free((struct rbdgw_op *)node);
            node = next;
        }
        rbdq_destroy(&ch->done);
        free(ch);
    }
    remote_fini(&e->remote);
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->lock);
    rbdgw_free(e);
}

static uint64_t
rbdgw_size(void *handle)
{
    const struct rbdgw_export *e = handle;

    return e->size;
}

static unsigned
rbdgw_caps(void *handle)
{
    const struct rbdgw_export *e = handle;

    return e->caps;
}

static void
rbdgw_request(void *handle, struct backend_req *req)
{
    struct rbdgw_export *e = handle;

    remote_submit(&e->remote, req);
}

static void
rbdgw_remote_stats(void *handle, struct backend_remote_stats *out)
{
    struct rbdgw_export *e = handle;

    remote_stats(&e->remote, out);
}

const struct backend_ops backend_rbd_ops = {
    .name = "rbd",
    .open = rbdgw_open,
    .close = rbdgw_close,
    .size = rbdgw_size,
    .caps = rbdgw_caps,
    .read = rbdgw_request,
    .write = rbdgw_request,
    .flush = rbdgw_request,
    .trim = rbdgw_request,
    .zero = rbdgw_request,
    .remote_stats = rbdgw_remote_stats,
};
