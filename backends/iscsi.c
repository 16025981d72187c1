/* SPDX-License-Identifier: MIT */
/*
 * The iscsi backend: a LUN of another iSCSI target (`url`), re-exported.
 * Asynchronous on the I/O threads' loops in the manner of SPDK's
 * bdev_iscsi: each thread logs in with its own libiscsi context, whose fd
 * is a handler on the loop (iscsi_get_fd, iscsi_which_events,
 * iscsi_service), and each request step is one SCSI task: READ (16),
 * WRITE (16), SYNCHRONIZE CACHE (16), UNMAP, WRITE SAME (16), GET LBA
 * STATUS.  remote.c
 * owns connections, timeouts and reconnects (remote-internal.h);
 * libiscsi's own automatic reconnect is off, because it would hold the
 * tasks of a dead session instead of failing them.
 *
 * Open probes the LUN once, synchronously on the main thread, each step
 * bounded by request-timeout: READ
 * CAPACITY (16) for the size and block size and whether the LUN is thin
 * (LBPME: then GET LBA STATUS answers block status), the logical block
 * provisioning VPD page for UNMAP.  Writes carry FUA in WRITE (16); UNMAP
 * and WRITE SAME have no FUA bit, so a trim or zero with FUA is followed
 * by SYNCHRONIZE CACHE (remote.c's flush step).  Not offered: fast zero
 * and cache.  Requests must be aligned to the remote's block size, which
 * min_block advertises; others fail with EINVAL.
 * Names here are iscsigw_ because libiscsi owns iscsi_* and scsi_*.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "backends/backend.h"
#include "backends/remote-internal.h"
#include "log.h"
#include "util/clock.h"
#include "util/minmax.h"

/* SBC-3 4.7.3.6; libiscsi 1.19 has no name for it. */
#define ISCSIGW_ASCQ_SPACE_ALLOCATION_FAILED 0x2707

struct iscsigw_export {
    struct remote remote; /* first: remote.c's part */
    char *url;
    char *initiator;
    uint64_t size;
    uint32_t block;
    bool lbprz;           /* unmapped blocks read as zeros */
    unsigned caps;
    uint8_t *zero_block;  /* WRITE SAME's data: one block of zeros */
    /* The block limits VPD page's, in blocks (0: not stated). */
    uint64_t max_xfer, max_unmap, max_ws;
};

/* What one connect made; remote_conn's session. */
struct iscsigw_session {
    struct iscsi_context *iscsi;
    int lun;
    /* The connect, in three steps driven by libiscsi's callbacks: TCP,
     * login, TEST UNIT READY until the unit attentions of a new session
     * are consumed.  The callbacks only record; service() acts. */
    bool ready, failed;
    unsigned unit_attentions;
    /* Why the connect failed, taken in the callback: libiscsi's own error
     * text is overwritten by the time iscsi_service returns. */
    char why[256];
};

/* A context for url (e's, perhaps with a numeric host), set up as every
 * one of ours is.  *lun gets its LUN. */
static struct iscsi_context *
iscsigw_context_new(const struct iscsigw_export *e, const char *url,
                    char **portal, int *lun)
{
    struct iscsi_context *iscsi = iscsi_create_context(e->initiator);
    struct iscsi_url *u;

    if (iscsi == NULL) {
        return NULL;
    }
    u = iscsi_parse_full_url(iscsi, url);
    if (u == NULL) {
        iscsi_destroy_context(iscsi);
        return NULL;
    }
    *lun = u->lun;
    *portal = strdup(u->portal);
    if (*portal == NULL
        || iscsi_set_targetname(iscsi, u->target) < 0
        || iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL) < 0
        || iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C) < 0
        || (u->user[0]
            && iscsi_set_initiator_username_pwd(iscsi, u->user, u->passwd) < 0)) {
        free(*portal);
        *portal = NULL;
        iscsi_destroy_url(u);
        iscsi_destroy_context(iscsi);
        return NULL;
    }
    iscsi_destroy_url(u);
    iscsi_set_noautoreconnect(iscsi, 1);
    return iscsi;
}

static struct iscsigw_session *iscsigw_session_start(struct iscsigw_export *e,
                                                     const char *addr);
static void iscsigw_session_free(struct iscsigw_session *s);
static void iscsigw_connect_failed(struct iscsigw_session *s,
                                   const char *step);
static const char *iscsigw_session_error(const struct iscsigw_session *s);

/* --- Open: the probe ----------------------------------------------------- */

/* Whether the LUN answers GET LBA STATUS.  SBC-3 has a thin LUN
 * (LBPME) answer it, but not every target does (older polltgtd on rbd
 * did not), and block status that fails would fail every client
 * asking for it (nbdcopy does) instead of reporting data. */
static bool
iscsigw_probe_lba_status(struct iscsi_context *iscsi, int lun)
{
    struct scsi_task *task = iscsi_get_lba_status_sync(iscsi, lun, 0, 24);
    bool ok = task && task->status == SCSI_STATUS_GOOD;

    if (task) {
        scsi_free_scsi_task(task);
    }
    return ok;
}

/* The block limits VPD page: the largest READ/WRITE, UNMAP and WRITE
 * SAME the LUN takes, which become remote.c's step sizes. */
static void
iscsigw_probe_limits(struct iscsigw_export *e, struct iscsi_context *iscsi,
                     int lun)
{
    struct scsi_task *vpd = iscsi_inquiry_sync(
        iscsi, lun, 1, SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS, 255);
    struct scsi_inquiry_block_limits *bl =
        vpd && vpd->status == SCSI_STATUS_GOOD ? scsi_datain_unmarshall(vpd)
                                                : NULL;

    if (bl) {
        e->max_xfer = bl->max_xfer_len;
        e->max_unmap = bl->max_unmap == 0xffffffff ? 0 : bl->max_unmap;
        e->max_ws = bl->max_ws_len;
    }
    if (vpd) {
        scsi_free_scsi_task(vpd);
    }
}

/* The host name to look up off the loop, or NULL for a numeric one. */
static char *
iscsigw_host_to_resolve(const char *url)
{
    char *host = remote_url_host(url);

    if (host && remote_host_is_numeric(host)) {
        free(host);
        return NULL;
    }
    return host;
}

/*
 * Log in to addr ("": the URL's host) as the connects on the loop do,
 * waiting at most timeout_ns, so that a remote that accepts the TCP
 * connect and then says nothing fails the start-up instead of hanging
 * it.  Returns the session or NULL after logging why.
 */
static struct iscsigw_session *
iscsigw_probe_login(struct iscsigw_export *e, const struct config_export *cfg,
                    const char *addr, int64_t timeout_ns)
{
    struct iscsigw_session *s = iscsigw_session_start(e, addr);
    int64_t deadline = clock_now_ns() + timeout_ns;
    const char *why = NULL;
    char buf[128];

    if (s == NULL) {
        log_error("export %s: iscsi backend: cannot set up a session for %s",
                  cfg->name, cfg->url);
        return NULL;
    }
    while (!s->ready && !s->failed) {
        struct pollfd pfd = { .fd = iscsi_get_fd(s->iscsi),
                              .events = (short)iscsi_which_events(s->iscsi) };
        int64_t left = deadline - clock_now_ns();
        int n;

        if (left <= 0) {
            snprintf(buf, sizeof buf, "no answer within %" PRId64 " ms "
                     "(request-timeout)", timeout_ns / NS_PER_MS);
            why = buf;
            break;
        }
        n = poll(&pfd, 1, (int)MAX(left / NS_PER_MS, 1));
        if (n < 0 && errno != EINTR) {
            why = strerror(errno);
            break;
        }
        if (n > 0 && iscsi_service(s->iscsi, pfd.revents) < 0) {
            iscsigw_connect_failed(s, "connect");
        }
    }
    if (why == NULL && s->failed) {
        why = iscsigw_session_error(s);
    }
    if (why) {
        log_error("export %s: cannot log in to %s%s%s: %s", cfg->name,
                  cfg->url, *addr ? " at " : "", addr, why);
        iscsigw_session_free(s);
        return NULL;
    }
    /* What follows is synchronous: bound it the same way (seconds). */
    iscsi_set_timeout(s->iscsi, (int)MAX(timeout_ns / NS_PER_SEC, 1));
    return s;
}

static int
iscsigw_probe(struct iscsigw_export *e, const struct config_export *cfg,
              int64_t timeout_ns)
{
    struct remote_addrs addrs = { .n = 1 }; /* "": the URL as written */
    struct iscsigw_session *s = NULL;
    struct iscsi_context *iscsi;
    struct scsi_task *task;
    struct scsi_readcapacity16 *rc;
    char *host = iscsigw_host_to_resolve(cfg->url);
    int lun, r = -EIO;

    if (host) {
        const char *why = remote_resolve_sync(host, &addrs);

        if (why) {
            log_error("export %s: cannot resolve %s in %s: %s", cfg->name,
                      host, cfg->url, why);
            free(host);
            return -EIO;
        }
    }
    free(host);
    for (unsigned i = 0; i < addrs.n && s == NULL; i++) {
        s = iscsigw_probe_login(e, cfg, addrs.addr[i], timeout_ns);
        if (s) {
            memcpy(e->remote.probe_addr, addrs.addr[i], REMOTE_ADDR_LEN);
        }
    }
    if (s == NULL) {
        return -EIO;
    }
    iscsi = s->iscsi;
    lun = s->lun;
    task = iscsi_readcapacity16_sync(iscsi, lun);
    rc = task && task->status == SCSI_STATUS_GOOD ? scsi_datain_unmarshall(task)
                                                   : NULL;
    if (rc == NULL || rc->block_length < 512 || rc->block_length > 65536) {
        log_error("export %s: %s: READ CAPACITY (16) failed: %s", cfg->name,
                  cfg->url, iscsi_get_error(iscsi));
        if (task) {
            scsi_free_scsi_task(task);
        }
        goto out;
    }
    e->block = rc->block_length;
    e->size = (rc->returned_lba + 1) * rc->block_length;
    e->caps = BACKEND_CAN_FLUSH | BACKEND_CAN_MULTI_CONN;
    if (!cfg->readonly) {
        e->caps |= BACKEND_CAN_WRITE | BACKEND_CAN_FUA | BACKEND_CAN_ZERO;
    }
    e->lbprz = rc->lbprz != 0;
    if (rc->lbpme) {
        if (iscsigw_probe_lba_status(iscsi, lun)) {
            e->caps |= BACKEND_CAN_BLOCK_STATUS;
        } else {
            log_info("export %s: %s: thin LUN without GET LBA STATUS: "
                     "all of it reported as data",
                     cfg->name, cfg->url);
        }
        struct scsi_task *vpd = iscsi_inquiry_sync(
            iscsi, lun, 1, SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING,
            255);
        struct scsi_inquiry_logical_block_provisioning *lbp =
            vpd && vpd->status == SCSI_STATUS_GOOD ? scsi_datain_unmarshall(vpd)
                                                    : NULL;

        if (lbp && lbp->lbpu && !cfg->readonly) {
            e->caps |= BACKEND_CAN_TRIM;
        }
        if (vpd) {
            scsi_free_scsi_task(vpd);
        }
    }
    iscsigw_probe_limits(e, iscsi, lun);
    scsi_free_scsi_task(task);
    (void)iscsi_logout_sync(iscsi);
    r = 0;
out:
    iscsigw_session_free(s);
    return r;
}

static int iscsigw_connect(struct remote_conn *c);
static void iscsigw_disconnect(struct remote_conn *c);
static void iscsigw_service(struct remote_conn *c, bool readable,
                            bool writable);
static int iscsigw_submit(struct remote_conn *c, struct backend_req *req,
                          void *data);

static const struct remote_proto iscsigw_proto = {
    .name = "iscsi",
    .fua_by_flush = true,
    .connect = iscsigw_connect,
    .disconnect = iscsigw_disconnect,
    .service = iscsigw_service,
    .submit = iscsigw_submit,
};

static void
iscsigw_free(struct iscsigw_export *e)
{
    free(e->url);
    free(e->initiator);
    free(e->zero_block);
    free(e);
}

static int
iscsigw_open(const struct config_export *cfg, void **handle)
{
    struct iscsigw_export *e = calloc(1, sizeof *e);
    int r;

    if (e == NULL || (e->url = strdup(cfg->url)) == NULL) {
        goto nomem;
    }
    if (cfg->initiator_name) {
        e->initiator = strdup(cfg->initiator_name);
    } else if (asprintf(&e->initiator, "%s:gateway:%s",
                        CONFIG_DEFAULT_IQN_PREFIX, cfg->name) < 0) {
        e->initiator = NULL;
    }
    if (e->initiator == NULL) {
        goto nomem;
    }
    r = remote_init(&e->remote, &iscsigw_proto, cfg, e);
    if (r < 0) {
        goto nomem;
    }
    r = iscsigw_probe(e, cfg, e->remote.timeout_ns);
    if (r < 0) {
        remote_fini(&e->remote);
        iscsigw_free(e);
        return r;
    }
    e->zero_block = calloc(1, e->block);
    if (e->zero_block == NULL) {
        remote_fini(&e->remote);
        goto nomem;
    }
    e->remote.host = iscsigw_host_to_resolve(cfg->url);
    e->remote.max_io_step = e->max_xfer * e->block;
    e->remote.max_trim_step = e->max_unmap * e->block;
    e->remote.max_zero_step = e->max_ws * e->block;
    log_info("export %s: iscsi remote %s: %" PRIu64 " bytes, blocks of %"
             PRIu32 ", caps 0x%x", cfg->name, cfg->url, e->size, e->block,
             e->caps);
    *handle = e;
    return 0;

nomem:
    log_error("export %s: iscsi backend: %s", cfg->name, strerror(ENOMEM));
    if (e) {
        iscsigw_free(e);
    }
    return -ENOMEM;
}

static void
iscsigw_close(void *handle)
{
    struct iscsigw_export *e = handle;

    remote_fini(&e->remote);
    iscsigw_free(e);
}

static uint64_t
iscsigw_size(void *handle)
{
    const struct iscsigw_export *e = handle;

    return e->size;
}

static unsigned
iscsigw_caps(void *handle)
{
    const struct iscsigw_export *e = handle;

    return e->caps;
}

static uint32_t
iscsigw_min_block(void *handle)
{
    const struct iscsigw_export *e = handle;

    return e->block;
}

/* --- A connection on an I/O thread ---------------------------------------- */

static void
iscsigw_watch(struct remote_conn *c)
{
    struct iscsigw_session *s = c->session;

    remote_conn_watch(c, iscsi_get_fd(s->iscsi),
                      (iscsi_which_events(s->iscsi) & POLLOUT) != 0);
}

/*
 * The connect's callbacks, inside libiscsi.  Why not
 * iscsi_full_connect_async, which does the same: it allocates a state of
 * its own that a context destroyed in the middle of the login leaks, and
 * a remote that drops us then would leak one per reconnect attempt.
 */
static void
iscsigw_connect_failed(struct iscsigw_session *s, const char *step)
{
    if (!s->failed) {
        snprintf(s->why, sizeof s->why, "%s: %s", step,
                 iscsi_get_error(s->iscsi));
    }
    s->failed = true;
}

/* Why the session failed: the connect's reason if it has one. */
static const char *
iscsigw_session_error(const struct iscsigw_session *s)
{
    return s->why[0] ? s->why : iscsi_get_error(s->iscsi);
}

static void
iscsigw_tur_done(struct iscsi_context *iscsi, int status, void *command_data,
                 void *private_data)
{
    struct iscsigw_session *s = private_data;
    struct scsi_task *task = command_data;

    if (status == SCSI_STATUS_CHECK_CONDITION && task
        && task->sense.key == SCSI_SENSE_UNIT_ATTENTION
        && ++s->unit_attentions <= 10) {
        /* A new session's power-on or reset notice: ask again. */
        if (iscsi_testunitready_task(iscsi, s->lun, iscsigw_tur_done, s)
            == NULL) {
            iscsigw_connect_failed(s, "TEST UNIT READY");
        }
    } else if (status == SCSI_STATUS_GOOD) {
        s->ready = true;
    } else {
        iscsigw_connect_failed(s, "TEST UNIT READY");
    }
    if (task) {
        scsi_free_scsi_task(task);
    }
}

static void
iscsigw_login_done(struct iscsi_context *iscsi, int status,
                   void *command_data, void *private_data)
{
    struct iscsigw_session *s = private_data;

    if (status != SCSI_STATUS_GOOD) {
        iscsigw_connect_failed(s, "login");
    } else if (iscsi_testunitready_task(iscsi, s->lun, iscsigw_tur_done, s)
               == NULL) {
        iscsigw_connect_failed(s, "TEST UNIT READY");
    }
}

static void
iscsigw_tcp_done(struct iscsi_context *iscsi, int status, void *command_data,
                 void *private_data)
{
    struct iscsigw_session *s = private_data;

    if (s->ready || s->failed) {
        return; /* the call libiscsi makes when the socket goes later */
    }
    if (status != SCSI_STATUS_GOOD) {
        iscsigw_connect_failed(s, "TCP connect");
    } else if (iscsi_login_async(iscsi, iscsigw_login_done, s) != 0) {
        iscsigw_connect_failed(s, "login");
    }
}

/* A session of e's connecting to addr ("": the URL's host), or NULL. */
static struct iscsigw_session *
iscsigw_session_start(struct iscsigw_export *e, const char *addr)
{
    struct iscsigw_session *s = calloc(1, sizeof *s);
    char *url = *addr ? remote_url_with_host(e->url, addr) : strdup(e->url);
    char *portal = NULL;

    if (s == NULL || url == NULL) {
        goto fail;
    }
    s->iscsi = iscsigw_context_new(e, url, &portal, &s->lun);
    if (s->iscsi == NULL) {
        goto fail;
    }
    if (iscsi_connect_async(s->iscsi, portal, iscsigw_tcp_done, s) < 0) {
        log_debug("export %s: iscsi: connect to %s: %s", e->remote.export_name,
                  portal, iscsi_get_error(s->iscsi));
        iscsi_destroy_context(s->iscsi);
        goto fail;
    }
    free(portal);
    free(url);
    return s;

fail:
    free(portal);
    free(url);
    free(s);
    return NULL;
}

static void
iscsigw_session_free(struct iscsigw_session *s)
{
    iscsi_destroy_context(s->iscsi);
    free(s);
}

static int
iscsigw_connect(struct remote_conn *c)
{
    struct iscsigw_session *s = iscsigw_session_start(c->r->priv, c->addr);

    if (s == NULL) {
        return -ECONNREFUSED;
    }
    c->session = s;
    iscsigw_watch(c);
    return 0;
}

static void
iscsigw_disconnect(struct remote_conn *c)
{
    struct iscsigw_session *s = c->session;

    /* Tasks in flight are called back with SCSI_STATUS_CANCELLED here. */
    c->session = NULL;
    iscsigw_session_free(s);
}

static void
iscsigw_service(struct remote_conn *c, bool readable, bool writable)
{
    struct iscsigw_session *s = c->session;
    int revents = (readable ? POLLIN : 0) | (writable ? POLLOUT : 0);

    if (s == NULL) {
        return;
    }
    if (iscsi_service(s->iscsi, revents) < 0) {
        remote_conn_lost(c, iscsigw_session_error(s));
        return;
    }
    if (c->state == REMOTE_CONNECTING && (s->failed || s->ready)) {
        if (s->failed) {
            remote_conn_lost(c, iscsigw_session_error(s));
            return;
        }
        remote_conn_connected(c);
        if (c->session == NULL) {
            return;
        }
    }
    iscsigw_watch(c);
}

/* A SCSI status and sense as an errno. */
static int
iscsigw_errno(int status, const struct scsi_task *task)
{
    if (status == SCSI_STATUS_GOOD) {
        return 0;
    }
    if (status == SCSI_STATUS_CHECK_CONDITION && task) {
        switch (task->sense.key) {
        case SCSI_SENSE_DATA_PROTECTION:
            /* 27h/07h: space allocation failed (thin provisioning). */
            return task->sense.ascq == ISCSIGW_ASCQ_SPACE_ALLOCATION_FAILED
                       ? -ENOSPC
                       : -EROFS;
        case SCSI_SENSE_ILLEGAL_REQUEST:
            return -EINVAL;
        default:
            break;
        }
    }
    return -EIO;
}

/* GET LBA STATUS descriptors into the request's answer, from its offset
 * on and clipped to it; the whole range is data if they say nothing. */
static int
iscsigw_lba_status(struct backend_req *req, struct scsi_task *task)
{
    struct remote_conn *c = req->handle;
    const struct iscsigw_export *e = c->r->priv;
    struct scsi_get_lba_status *st = scsi_datain_unmarshall(task);
    uint64_t pos = req->offset, end = req->offset + req->count;

    if (st == NULL) {
        return -EIO;
    }
    req->nextents = 0;
    for (uint32_t i = 0; i < st->num_descriptors && pos < end; i++) {
        const struct scsi_lba_status_descriptor *d = &st->descriptors[i];
        uint64_t start = d->lba * e->block;
        uint64_t stop = start + (uint64_t)d->num_blocks * e->block;
        uint32_t type = 0;

        if (start > pos || stop <= pos) {
            break; /* a gap or going back: the rest is not known */
        }
        if (d->provisioning != SCSI_PROVISIONING_TYPE_MAPPED) {
            type = BACKEND_EXTENT_HOLE | (e->lbprz ? BACKEND_EXTENT_ZERO : 0);
        }
        stop = stop < end ? stop : end;
        if (!backend_extent_add(req, stop - pos, type)) {
            break;
        }
        pos = stop;
    }
    if (req->nextents == 0) {
        req->extents[0].length = req->count;
        req->extents[0].type = 0;
        req->nextents = 1;
    }
    return 0;
}

static void
iscsigw_task_done(struct iscsi_context *iscsi, int status, void *command_data,
                  void *private_data)
{
    struct backend_req *req = private_data;
    struct scsi_task *task = command_data;
    int err = iscsigw_errno(status, task);

    if (err == 0 && req->op == BACKEND_OP_READ && task) {
        if (task->datain.size < 0
            || (uint64_t)task->datain.size != req->step_count) {
            err = -EIO;
        } else {
            memcpy(remote_step_data(req), task->datain.data,
                   req->step_count);
        }
    }
    if (err == 0 && req->op == BACKEND_OP_BLOCK_STATUS) {
        err = task ? iscsigw_lba_status(req, task) : -EIO;
    }
    if (task) {
        scsi_free_scsi_task(task);
    }
    remote_conn_complete(req->handle, req, err);
}

static int
iscsigw_submit(struct remote_conn *c, struct backend_req *req, void *data)
{
    struct iscsigw_session *s = c->session;
    struct iscsigw_export *e = c->r->priv;
    uint64_t off = req->offset + req->progress, n = req->step_count;
    uint64_t lba = off / e->block;
    uint32_t nblocks = (uint32_t)(n / e->block);
    struct scsi_task *task = NULL;

    if (off % e->block || n % e->block) {
        return -EINVAL;
    }
    if (req->stage == 1) {
        /* The FUA of a trim or zero: the whole cache, as flush does. */
        task = iscsi_synchronizecache16_task(s->iscsi, s->lun, 0, 0, 0, 0,
                                             iscsigw_task_done, req);
        goto sent;
    }
    switch (req->op) {
    case BACKEND_OP_READ:
        task = iscsi_read16_task(s->iscsi, s->lun, lba, (uint32_t)n,
                                 (int)e->block, 0, 0, 0, 0, 0,
                                 iscsigw_task_done, req);
        break;
    case BACKEND_OP_WRITE:
        task = iscsi_write16_task(s->iscsi, s->lun, lba, data, (uint32_t)n,
                                  (int)e->block, 0, 0,
                                  (req->flags & BACKEND_FUA) != 0, 0, 0,
                                  iscsigw_task_done, req);
        break;
    case BACKEND_OP_FLUSH:
        task = iscsi_synchronizecache16_task(s->iscsi, s->lun, 0, 0, 0, 0,
                                             iscsigw_task_done, req);
        break;
    case BACKEND_OP_TRIM: {
        struct unmap_list list = { .lba = lba, .num = nblocks };

        task = iscsi_unmap_task(s->iscsi, s->lun, 0, 0, &list, 1,
                                iscsigw_task_done, req);
        break;
    }
    case BACKEND_OP_ZERO:
        task = iscsi_writesame16_task(
            s->iscsi, s->lun, lba, e->zero_block, e->block, nblocks, 0,
            (req->flags & BACKEND_MAY_TRIM) && (e->caps & BACKEND_CAN_TRIM),
            0, 0, iscsigw_task_done, req);
        break;
    case BACKEND_OP_BLOCK_STATUS: {
        /* Room for the descriptors the answer can hold: 8 bytes of header,
         * 16 per descriptor. */
        size_t want = req->max_extents < 256 ? req->max_extents : 256;

        task = iscsi_get_lba_status_task(s->iscsi, s->lun, lba,
                                         (uint32_t)(8 + 16 * want),
                                         iscsigw_task_done, req);
        break;
    }
    case BACKEND_OP_CACHE:
        return -ENOTSUP; /* not offered in caps */
    }
sent:
    if (task == NULL) {
        log_debug("export %s: iscsi: cannot send a request: %s",
                  c->r->export_name, iscsi_get_error(s->iscsi));
        return iscsi_get_fd(s->iscsi) < 0 ? -ENOTCONN : -ENOMEM;
    }
    iscsigw_watch(c);
    return 0;
}

/* --- Ops -------------------------------------------------------------- */

static void
iscsigw_request(void *handle, struct backend_req *req)
{
    struct iscsigw_export *e = handle;

    remote_submit(&e->remote, req);
}

static void
iscsigw_remote_stats(void *handle, struct backend_remote_stats *out)
{
    struct iscsigw_export *e = handle;

    remote_stats(&e->remote, out);
}

const struct backend_ops backend_iscsi_ops = {
    .name = "iscsi",
    .open = iscsigw_open,
    .close = iscsigw_close,
    .size = iscsigw_size,
    .caps = iscsigw_caps,
    .min_block = iscsigw_min_block,
    .read = iscsigw_request,
    .write = iscsigw_request,
    .flush = iscsigw_request,
    .trim = iscsigw_request,
    .zero = iscsigw_request,
    .block_status = iscsigw_request,
    .cache = iscsigw_request,
    .remote_stats = iscsigw_remote_stats,
};
