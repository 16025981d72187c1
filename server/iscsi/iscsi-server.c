/* SPDX-License-Identifier: MIT */
/*
 * See iscsi-server.h.  Targets are built once at start from the exports
 * whose `protocols` include iscsi; they are read-only afterwards and
 * shared by every I/O thread.
 *
 * PREEMPT AND ABORT reaches every session: the SCSI core names the
 * preempted I_T nexuses (scsi_target.abort_nexuses), a message goes to
 * each I/O thread, which aborts those sessions' tasks on the LU as ABORT
 * TASK SET does (iscsi_task_abort_preempted), and a count of what is
 * still to happen (threads not visited yet, aborted tasks still in the
 * core) finishes the PREEMPT AND ABORT on its own thread when it reaches
 * zero, the same wait a TMF makes for its aborted tasks.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "iscsi/iscsi-internal.h"
#include "iscsi/iscsi-server.h"
#include "log.h"
#include "scsi/scsi-cmd.h"
#include "stats/report.h"
#include "util/clock.h"

/* Under sessions_lock. */
static void
iscsi_server_session_unlink(struct iscsi_server *srv, struct iscsi_conn *conn)
{
    if (!conn->sess_linked) {
        return;
    }
    if (conn->sess_prev) {
        conn->sess_prev->sess_next = conn->sess_next;
    } else {
        srv->sessions = conn->sess_next;
    }
    if (conn->sess_next) {
        conn->sess_next->sess_prev = conn->sess_prev;
    }
    conn->sess_linked = false;
}

static void
iscsi_server_attach_on_thread(struct frontend *fe, struct iothread *t, int fd,
                              const struct sockaddr_storage *peer,
                              socklen_t peerlen)
{
    iscsi_conn_attach_on_thread((struct iscsi_server *)fe, t, fd, peer,
                                peerlen);
}

static void
iscsi_server_drain_on_thread(struct frontend *fe, unsigned id)
{
    for (struct conn *c = conn_first(fe, id); c; c = c->next) {
        iscsi_conn_drain((struct iscsi_conn *)c); /* the free is deferred */
    }
}

static const struct frontend_ops iscsi_frontend_ops = {
    .name = "iscsi",
    .attach = iscsi_server_attach_on_thread,
    .drain = iscsi_server_drain_on_thread,
};

static bool
iscsi_server_serves(const struct export *e)
{
    return e->cfg->protocols & CONFIG_PROTO_ISCSI;
}

/* --- PREEMPT AND ABORT ---------------------------------------------- */

struct iscsi_abort_wait {
    atomic_uint pending;       /* threads to visit + tasks in the core */
    struct scsi_cmd *waiter;   /* the PREEMPT AND ABORT */
    void (*resume)(struct scsi_cmd *t);
};

/* To one I/O thread: the nexuses (in the waiter's buffer, valid until it
 * resumes) whose tasks on lun go. */
struct iscsi_abort_msg {
    struct iscsi_server *srv;
    const struct iscsi_target *target;
    const struct scsi_lu *lu;
    uint64_t lun;
    const struct scsi_nexus *n;
    size_t count;
    unsigned id;
    struct iscsi_abort_wait *w;
};

static void
iscsi_server_abort_resume(void *opaque)
{
    struct iscsi_abort_wait *w = opaque;

    w->resume(w->waiter);
    free(w);
}

void
iscsi_server_abort_wait_put(struct iscsi_abort_wait *w)
{
    if (atomic_fetch_sub(&w->pending, 1) != 1) {
        return;
    }
    /* The last one, on any thread: the waiter resumes on its own. */
    while (aio_ctx_run(w->waiter->ctx, iscsi_server_abort_resume, w) < 0) {
        log_error("iscsi: out of memory finishing a PREEMPT AND ABORT; "
                  "retrying");
        nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
    }
}

static void
iscsi_server_abort_on_thread(void *opaque)
{
    struct iscsi_abort_msg *m = opaque;

    for (struct conn *it = conn_first(&m->srv->fe, m->id); it; it = it->next) {
        struct iscsi_conn *c = (struct iscsi_conn *)it;

        if (c->target != m->target || c->state != ISCSI_STATE_FULL) {
            continue;
        }
        for (size_t i = 0; i < m->count; i++) {
            if (scsi_pr_nexus_eq(&c->nexus, &m->n[i])) {
                unsigned aborted;
                unsigned k = iscsi_task_abort_preempted(c, m->lun, m->w,
                                                        &aborted);

                atomic_fetch_add(&m->w->pending, k);
                if (aborted > 0) {
                    /* SAM-5 5.6 with TAS 0: no status for them, a unit
                     * attention instead. */
                    scsi_pr_unit_attention(m->lu->pr, &c->nexus,
                                           SCSI_ASC_COMMANDS_CLEARED_BY_OTHER);
                    log_info("iscsi %s: PREEMPT AND ABORT: %u command(s) of "
                             "%s aborted, %u still in the backend",
                             c->base.peer, aborted, c->nexus.port, k);
                }
                break;
            }
        }
    }
    iscsi_server_abort_wait_put(m->w); /* this thread's visit */
    free(m);
}

static void
iscsi_server_abort_nexuses(const struct scsi_target *tgt,
                           const struct scsi_lu *lu,
                           const struct scsi_nexus *n, size_t count,
                           struct scsi_cmd *waiter,
                           void (*resume)(struct scsi_cmd *t))
{
    struct iscsi_server *srv = tgt->transport;
    struct iscsi_abort_wait *w = malloc(sizeof *w);

    if (w == NULL) {
        /* The preemption stands; only the abort is not done. */
        log_error("iscsi: out of memory: PREEMPT AND ABORT does not abort");
        resume(waiter);
        return;
    }
    /* One for each thread and one held while the messages go out. */
    atomic_init(&w->pending, srv->niothreads + 1);
    w->waiter = waiter;
    w->resume = resume;
    for (unsigned id = 0; id < srv->niothreads; id++) {
        struct iscsi_abort_msg *m = malloc(sizeof *m);

        if (m != NULL) {
            m->srv = srv;
            m->target = (const struct iscsi_target *)tgt; /* scsi first */
            m->lu = lu;
            m->lun = lu->lun;
            m->n = n;
            m->count = count;
            m->id = id;
            m->w = w;
        }
        if (m == NULL || iothread_run(srv->fe.iothreads[id],
                                      iscsi_server_abort_on_thread, m) < 0) {
            log_error("iscsi: out of memory: PREEMPT AND ABORT skips the "
                      "sessions of I/O thread %u", id);
            free(m);
            iscsi_server_abort_wait_put(w);
        }
    }
    iscsi_server_abort_wait_put(w);
}

/* --- Targets --------------------------------------------------------- */

/* One target per LUN 0 export; the exports naming the same iqn are its
 * other LUNs (the configuration guarantees LUN 0 and unique numbers). */
static int
iscsi_server_build_target(struct iscsi_server *srv, struct iscsi_target *t,
                          struct export *lun0,
                          const struct export_set *exports,
                          const char *pr_dir)
{
    size_t n = 0;

    for (size_t i = 0; i < exports->n; i++) {
        const struct export *e = &exports->exports[i];

        n += iscsi_server_serves(e) && strcmp(e->cfg->iqn, lun0->cfg->iqn) == 0;
    }
    t->export = lun0;
    t->cfg = lun0->cfg;
    t->scsi.name = lun0->cfg->iqn;
    t->scsi.tpgt = ISCSI_TPGT;
    t->scsi.abort_nexuses = iscsi_server_abort_nexuses;
    t->scsi.transport = srv;
    t->scsi.luns = calloc(n, sizeof *t->scsi.luns);
    t->reset_gen = calloc(n, sizeof *t->reset_gen);
    if (t->scsi.luns == NULL || t->reset_gen == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < exports->n; i++) {
        struct export *e = &exports->exports[i];

        if (!iscsi_server_serves(e) || strcmp(e->cfg->iqn, t->scsi.name) != 0) {
            continue;
        }
        scsi_lu_init(&t->scsi.luns[t->scsi.nluns++], e, e->cfg->lun,
                     t->scsi.name);
        if (pr_dir) {
            char path[4096];
            int r;

            snprintf(path, sizeof path, "%s/%s.pr", pr_dir, e->name);
            r = scsi_pr_set_file(t->scsi.luns[t->scsi.nluns - 1].pr, path);
            if (r < 0) {
                return r;
            }
        }
        log_info("iscsi: target %s: export %s as LUN %u, %u-byte blocks%s",
                 t->scsi.name, e->name, e->cfg->lun, e->cfg->block_size,
                 e == lun0 && e->cfg->chap_username ? ", CHAP required" : "");
    }
    return 0;
}

static int
iscsi_server_build_targets(struct iscsi_server *srv,
                           const struct export_set *exports)
{
    srv->targets = calloc(exports->n ? exports->n : 1, sizeof *srv->targets);
    if (srv->targets == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < exports->n; i++) {
        struct export *e = &exports->exports[i];
        int r;

        if (!iscsi_server_serves(e) || e->cfg->lun != 0) {
            continue;
        }
        r = iscsi_server_build_target(srv, &srv->targets[srv->ntargets], e,
                                      exports,
                                      srv->cfg->iscsi_pr_state_dir);
        srv->ntargets++; /* freed by iscsi_server_free even half built */
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

int
iscsi_server_start(struct iscsi_server *srv, struct ev_loop *loop,
                   const struct config *cfg, const struct export_set *exports,
                   struct iothread **iothreads, unsigned niothreads)
{
    int r;

    memset(srv, 0, sizeof *srv);
    srv->cfg = cfg;
    srv->niothreads = niothreads;
    log_info("iscsi: a session buffers at most %u commands of up to %u KiB "
             "(queue-depth + %d immediate, x the largest READ/WRITE)",
             cfg->iscsi_queue_depth + ISCSI_EXTRA_TASKS,
             (unsigned)(SCSI_MAX_XFER_BYTES >> 10), ISCSI_EXTRA_TASKS);
    pthread_mutex_init(&srv->sessions_lock, NULL);
    atomic_store(&srv->next_tsih, 1);
    r = iscsi_server_build_targets(srv, exports);
    if (r < 0) {
        log_error("iscsi: cannot set up targets: %s", strerror(-r));
        return r;
    }
    return frontend_start(&srv->fe, &iscsi_frontend_ops, loop, cfg,
                          &cfg->iscsi_listen, cfg->iscsi_max_connections,
                          cfg->iscsi_max_connections_per_client,
                          iothreads, niothreads);
}

void
iscsi_server_stop_listening(struct iscsi_server *srv)
{
    frontend_stop_listening(&srv->fe);
}

/* After the drain: every LU's background SANITIZE ends at its next step
 * (scsi_sanitize_stop) on its I/O thread, which is still running; wait
 * for that, so that no job is left in a loop, on a backend or in memory
 * that are about to go. */
static void
iscsi_server_stop_sanitize(struct iscsi_server *srv, int64_t timeout_ns)
{
    int64_t deadline = clock_now_ns() + timeout_ns;
    bool running;

    for (size_t i = 0; i < srv->ntargets; i++) {
        for (size_t j = 0; j < srv->targets[i].scsi.nluns; j++) {
            scsi_sanitize_stop(&srv->targets[i].scsi.luns[j]);
        }
    }
    for (;;) {
        running = false;
        for (size_t i = 0; i < srv->ntargets && !running; i++) {
            for (size_t j = 0; j < srv->targets[i].scsi.nluns; j++) {
                if (scsi_sanitize_running(&srv->targets[i].scsi.luns[j])) {
                    running = true;
                    break;
                }
            }
        }
        if (!running || clock_now_ns() >= deadline) {
            break;
        }
        nanosleep(&(struct timespec){ .tv_nsec = 5 * NS_PER_MS }, NULL);
    }
    if (running) {
        log_warn("iscsi: a SANITIZE still runs after the drain timeout; "
                 "stopping anyway");
    }
}

void
iscsi_server_drain(struct iscsi_server *srv, int64_t timeout_ns)
{
    frontend_drain(&srv->fe, timeout_ns);
    iscsi_server_stop_sanitize(srv, timeout_ns);
}

void
iscsi_server_free(struct iscsi_server *srv)
{
    for (size_t i = 0; i < srv->ntargets; i++) {
        for (size_t j = 0; j < srv->targets[i].scsi.nluns; j++) {
            scsi_pr_destroy(srv->targets[i].scsi.luns[j].pr);
        }
        free(srv->targets[i].scsi.luns);
        free((void *)srv->targets[i].reset_gen);
    }
    free(srv->targets);
    frontend_free(&srv->fe);
    pthread_mutex_destroy(&srv->sessions_lock);
    srv->targets = NULL;
    srv->ntargets = 0;
}

struct iscsi_reinstate_msg {
    struct iscsi_server *srv;
    unsigned id;
    uint16_t tsih;
};

/* On the old session's thread: end it, if it is still there. */
static void
iscsi_server_reinstate_on_thread(void *opaque)
{
    struct iscsi_reinstate_msg *m = opaque;

    for (struct conn *it = conn_first(&m->srv->fe, m->id); it; it = it->next) {
        struct iscsi_conn *c = (struct iscsi_conn *)it;

        if (c->tsih == m->tsih && c->state == ISCSI_STATE_FULL &&
            c->base.life == CONN_OPEN) {
            log_info("iscsi %s: session %u reinstated by a new login of %s",
                     c->base.peer, c->tsih, c->initiator_name);
            conn_close_soon(&c->base, NULL);
            iscsi_task_abort_all(c);
            break;
        }
    }
    free(m);
}

void
iscsi_server_session_add(struct iscsi_server *srv, struct iscsi_conn *conn)
{
    struct iscsi_reinstate_msg *m = NULL;
    struct iscsi_conn *old;

    pthread_mutex_lock(&srv->sessions_lock);
    for (old = srv->sessions; old; old = old->sess_next) {
        if (old->target == conn->target &&
            memcmp(old->isid, conn->isid, sizeof old->isid) == 0 &&
            strcasecmp(old->initiator_name, conn->initiator_name) == 0) {
            break;
        }
    }
    if (old && (m = malloc(sizeof *m)) != NULL) {
        m->srv = srv;
        m->id = iothread_id(old->base.iothread);
        m->tsih = old->tsih;
    }
    if (old) {
        iscsi_server_session_unlink(srv, old); /* one reinstatement only */
    }
    conn->sess_prev = NULL;
    conn->sess_next = srv->sessions;
    if (srv->sessions) {
        srv->sessions->sess_prev = conn;
    }
    srv->sessions = conn;
    conn->sess_linked = true;
    pthread_mutex_unlock(&srv->sessions_lock);
    if (m && iothread_run(srv->fe.iothreads[m->id],
                          iscsi_server_reinstate_on_thread, m) < 0) {
        free(m);
    }
}

void
iscsi_server_session_remove(struct iscsi_server *srv, struct iscsi_conn *conn)
{
    pthread_mutex_lock(&srv->sessions_lock);
    iscsi_server_session_unlink(srv, conn);
    pthread_mutex_unlock(&srv->sessions_lock);
}

struct iscsi_target *
iscsi_server_find_target(struct iscsi_server *srv, const char *name)
{
    /* iSCSI names compare case-insensitively once normalised (RFC 3722);
     * ours are lower case by configuration, so fold the initiator's. */
    for (size_t i = 0; i < srv->ntargets; i++) {
        if (strcasecmp(srv->targets[i].scsi.name, name) == 0) {
            return &srv->targets[i];
        }
    }
    return NULL;
}

void
iscsi_server_collect(struct iscsi_server *srv, unsigned id,
                     struct stats_report *r)
{
    int64_t now = clock_now_ns();

    for (struct conn *it = conn_first(&srv->fe, id); it; it = it->next) {
        const struct iscsi_conn *conn = (const struct iscsi_conn *)it;
        struct stats_report_conn c = { .iothread = id };

        if (conn->base.life == CONN_DEAD) {
            continue;
        }
        snprintf(c.protocol, sizeof c.protocol, "iscsi");
        snprintf(c.peer, sizeof c.peer, "%s", conn->base.peer);
        snprintf(c.export, sizeof c.export, "%s",
                 conn->target ? conn->target->export->name : "");
        c.connected_s = (double)(now - conn->base.connected_ns) / 1e9;
        stats_io_accumulate(&conn->stats, &c.io);
        if (!stats_report_add_conn(r, &c)) {
            return;
        }
    }
}
