/* SPDX-License-Identifier: MIT */
/*
 * See server.h.  Start order: I/O threads, exports (their backends),
 * front ends, status socket; stop in reverse, draining clients first.
 * The status socket is told nothing of the parts: it gets the
 * control_server_ops below, which read them on the right thread (export
 * counters on the main thread, a thread's loop and connections on that
 * thread), so the dependency goes one way, from here to control.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "control/control.h"
#include "export.h"
#include "iothread.h"
#include "log.h"
#include "iscsi/iscsi-server.h"
#include "nbd/nbd-server.h"
#include "server.h"
#include "stats/report.h"
#include "systemd.h"
#include "util/clock.h"

struct server {
    struct mainloop *ml;
    struct iothread **iothreads;
    unsigned niothreads;
    struct export_set exports;
    bool exports_open;
    struct nbd_server nbd;
    bool nbd_started;
    struct iscsi_server iscsi;
    bool iscsi_started;
    struct control *control;
    int64_t started_ns;
};

/* Reload hook: hand new tunables to one I/O thread. */
static void
server_set_poll_params(unsigned id, const struct poll_params *params,
                       void *opaque)
{
    struct server *srv = opaque;

    if (id < srv->niothreads &&
        iothread_set_params(srv->iothreads[id], params) < 0) {
        log_error("iothread %u: cannot deliver new poll tunables: out of memory",
                  id);
    }
}

/* Reload hook: measure a thread's wake-up cost again (max-ns = auto). */
static void
server_recalibrate(unsigned id, void *opaque)
{
    struct server *srv = opaque;

    if (id < srv->niothreads && iothread_calibrate(srv->iothreads[id]) < 0) {
        log_error("iothread %u: cannot ask for a new wake-up measurement: "
                  "out of memory",
                  id);
    }
}

/* --- What the status socket may ask (control.h) ------------------------ */

static int
server_status_snapshot(void *opaque, struct stats_report *r)
{
    struct server *srv = opaque;
    const struct config *cfg = mainloop_config(srv->ml);
    const struct export_set *exports = &srv->exports;
    unsigned n = srv->niothreads;

    r->uptime_s = (double)(clock_now_ns() - srv->started_ns) / 1e9;
    r->threads = calloc(n ? n : 1, sizeof *r->threads);
    r->exports = calloc(exports->n ? exports->n : 1, sizeof *r->exports);
    if (r->threads == NULL || r->exports == NULL) {
        return -ENOMEM;
    }
    /* Export counters may be read from any thread (one writer each,
     * relaxed atomics): here. */
    r->nthreads = n;
    for (unsigned i = 0; i < n; i++) {
        struct stats_report_thread *rt = &r->threads[i];

        rt->id = i;
        rt->cpu = i < cfg->iothreads ? cfg->iothread[i].cpu : -1;
        rt->nconns = iothread_nconns(srv->iothreads[i]);
    }
    r->nexports = exports->n;
    for (size_t i = 0; i < exports->n; i++) {
        const struct export *e = &exports->exports[i];
        struct stats_report_export *re = &r->exports[i];

        re->name = e->name;
        re->backend = backend_name(e->backend);
        re->description = e->description;
        re->size = e->size;
        re->readonly = e->readonly;
        re->has_remote = backend_remote_stats(e->backend, &re->remote);
        for (unsigned t = 0; t < e->nstats; t++) {
            stats_io_accumulate(&e->stats[t], &re->io);
            if (t < n) {
                stats_io_accumulate(&e->stats[t], &r->threads[t].io);
            }
        }
    }
    return 0;
}

static int
server_status_run_on_thread(void *opaque, unsigned id, void (*fn)(void *arg),
                            void *arg)
{
    struct server *srv = opaque;

    assert(id < srv->niothreads);
    return iothread_run(srv->iothreads[id], fn, arg);
}

/* On I/O thread id: what only that thread may read. */
static void
server_status_collect_thread(void *opaque, unsigned id, struct stats_report *r)
{
    struct server *srv = opaque;
    struct stats_report_thread *rt = &r->threads[id];
    struct aio_ctx *ctx = iothread_ctx(srv->iothreads[id]);
    size_t n = aio_ctx_handler_stats(ctx, NULL, 0);

    aio_ctx_stats_read(ctx, &rt->loop);
    rt->handlers = calloc(n ? n : 1, sizeof *rt->handlers);
    if (rt->handlers) {
        rt->nhandlers = aio_ctx_handler_stats(ctx, rt->handlers, n);
        if (rt->nhandlers > n) {
            rt->nhandlers = n;
        }
    }
    if (srv->nbd_started) {
        nbd_server_collect(&srv->nbd, id, r);
    }
    if (srv->iscsi_started) {
        iscsi_server_collect(&srv->iscsi, id, r);
    }
    /* The loop samples its CPU time at most once a second; this thread
     * can read its own clock exactly. */
    rt->loop.cpu_ns = clock_thread_cpu_ns();
}

static int
server_status_set_param(void *opaque, int id, const char *key,
                        const char *value, char *err, size_t errlen)
{
    struct server *srv = opaque;

    return mainloop_set_param(srv->ml, id, key, value, err, errlen);
}

static int
server_status_reload(void *opaque, char **errmsg)
{
    struct server *srv = opaque;

    return mainloop_reload(srv->ml, errmsg);
}

static const char *
server_status_config_file(void *opaque)
{
    struct server *srv = opaque;

    return mainloop_config(srv->ml)->file;
}

static const struct control_server_ops server_status_ops = {
    .snapshot = server_status_snapshot,
    .run_on_thread = server_status_run_on_thread,
    .collect_thread = server_status_collect_thread,
    .set_param = server_status_set_param,
    .reload = server_status_reload,
    .config_file = server_status_config_file,
};

static int
server_reload_tls(const struct config *next, void *opaque)
{
    struct server *srv = opaque;

    if (!srv->nbd_started) {
        return 0;
    }
    return nbd_server_reload_tls(&srv->nbd, &next->nbd_tls);
}

/* --- Start and stop ---------------------------------------------------- */

int
server_start(struct server **out, struct mainloop *ml)
{
    struct server *srv = calloc(1, sizeof *srv);
    const struct config *cfg = mainloop_config(ml);

    if (srv == NULL) {
        log_error("cannot start: out of memory");
        return -ENOMEM;
    }
    srv->ml = ml;
    srv->started_ns = clock_now_ns();
    srv->iothreads = calloc(cfg->iothreads, sizeof *srv->iothreads);
    if (srv->iothreads == NULL) {
        free(srv);
        return -ENOMEM;
    }
    for (unsigned id = 0; id < cfg->iothreads; id++) {
        int r = iothread_start(&srv->iothreads[id], id,
                               &cfg->iothread[id].params,
                               cfg->iothread[id].cpu);

        if (r < 0) {
            server_stop(srv);
            return r;
        }
        srv->niothreads++;
    }
    mainloop_set_reload_hooks(ml, &(struct config_reload_hooks){
        .set_poll_params = server_set_poll_params,
        .recalibrate = server_recalibrate,
        .reload_tls = server_reload_tls,
        .opaque = srv,
    });
    int r = export_set_open(&srv->exports, cfg);
    if (r < 0) {
        server_stop(srv);
        return r;
    }
    srv->exports_open = true;
    if (cfg->nbd_listen.n || systemd_listen_count("nbd")) {
        r = nbd_server_start(&srv->nbd, mainloop_ev(ml), cfg, &srv->exports,
                             srv->iothreads, srv->niothreads);
        srv->nbd_started = true;
        if (r < 0) {
            server_stop(srv);
            return r;
        }
    }
    if (cfg->iscsi_listen.n || systemd_listen_count("iscsi")) {
        r = iscsi_server_start(&srv->iscsi, mainloop_ev(ml), cfg,
                               &srv->exports, srv->iothreads, srv->niothreads);
        srv->iscsi_started = true;
        if (r < 0) {
            server_stop(srv);
            return r;
        }
    }
    if (cfg->status_socket) {
        r = control_start(&srv->control, mainloop_ev(ml), cfg->status_socket,
                          cfg->status_mode,
                          /* Owned by the user polltgtd drops to, unless
                           * told otherwise, so it may still use it. */
                          cfg->status_uid >= 0 ? cfg->status_uid : cfg->run_uid,
                          cfg->status_gid >= 0 ? cfg->status_gid : cfg->run_gid,
                          &server_status_ops, srv);
        if (r < 0) {
            server_stop(srv);
            return r;
        }
    }
    *out = srv;
    return 0;
}

void
server_stop(struct server *srv)
{
    int64_t drain_ns;

    if (srv == NULL) {
        return;
    }
    /* [server] drain-timeout as last reloaded. */
    drain_ns = mainloop_config(srv->ml)->drain_timeout_ns;
    mainloop_set_reload_hooks(srv->ml, &(struct config_reload_hooks){ 0 });
    control_stop(srv->control);
    srv->control = NULL;
    /* Graceful order: stop accepting, let clients' requests finish and
     * flush (and the iSCSI drain end background SANITIZE jobs, which run
     * on the threads and backends), then stop the threads, then close the
     * backends. */
    if (srv->nbd_started) {
        nbd_server_stop_listening(&srv->nbd);
    }
    if (srv->iscsi_started) {
        iscsi_server_stop_listening(&srv->iscsi);
    }
    if (srv->nbd_started) {
        nbd_server_drain(&srv->nbd, drain_ns);
    }
    if (srv->iscsi_started) {
        iscsi_server_drain(&srv->iscsi, drain_ns);
    }
    for (unsigned id = 0; id < srv->niothreads; id++) {
        iothread_stop(srv->iothreads[id]);
    }
    free(srv->iothreads);
    if (srv->nbd_started) {
        nbd_server_free(&srv->nbd);
    }
    if (srv->iscsi_started) {
        iscsi_server_free(&srv->iscsi);
    }
    if (srv->exports_open) {
        export_set_close(&srv->exports);
    }
    free(srv);
}
