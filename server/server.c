/* SPDX-License-Identifier: MIT */
/*
 * See server.h.  Start order: I/O threads, exports (their backends),
 * front ends; stop in reverse, draining clients first.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "control/control.h"
#include "export.h"
#include "iothread.h"
#include "log.h"
#include "iscsi/iscsi-server.h"
#include "nbd/nbd-server.h"
#include "server.h"
#include "util/clock.h"

/* How long a graceful stop waits for clients to finish their requests. */
#define SERVER_DRAIN_TIMEOUT_NS (30 * NS_PER_SEC)

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
        .opaque = srv,
    });
    int r = export_set_open(&srv->exports, cfg);
    if (r < 0) {
        server_stop(srv);
        return r;
    }
    srv->exports_open = true;
    if (cfg->nbd_listen.n) {
        r = nbd_server_start(&srv->nbd, mainloop_ev(ml), cfg, &srv->exports,
                             srv->iothreads, srv->niothreads);
        srv->nbd_started = true;
        if (r < 0) {
            server_stop(srv);
            return r;
        }
    }
    if (cfg->iscsi_listen.n) {
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
                          cfg->status_mode, cfg->status_uid, cfg->status_gid,
                          srv);
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
    if (srv == NULL) {
        return;
    }
    mainloop_set_reload_hooks(srv->ml, &(struct config_reload_hooks){ 0 });
    control_stop(srv->control);
    srv->control = NULL;
    /* Graceful order: stop accepting, let clients' requests finish and
     * flush, then stop the threads, then close the backends. */
    if (srv->nbd_started) {
        nbd_server_stop_listening(&srv->nbd);
    }
    if (srv->iscsi_started) {
        iscsi_server_stop_listening(&srv->iscsi);
    }
    if (srv->nbd_started) {
        nbd_server_drain(&srv->nbd, SERVER_DRAIN_TIMEOUT_NS);
    }
    if (srv->iscsi_started) {
        iscsi_server_drain(&srv->iscsi, SERVER_DRAIN_TIMEOUT_NS);
    }
    for (unsigned id = 0; id < srv->niothreads; id++) {
        iothread_stop(srv->iothreads[id]);
    }
    free(srv->iothreads);
    if (srv->nbd_started) {
        free(srv->nbd.thread_conns);
    }
    if (srv->iscsi_started) {
        iscsi_server_free(&srv->iscsi);
    }
    if (srv->exports_open) {
        export_set_close(&srv->exports);
    }
    free(srv);
}

unsigned
server_niothreads(const struct server *srv)
{
    return srv->niothreads;
}

struct iothread *
server_iothread(const struct server *srv, unsigned id)
{
    return id < srv->niothreads ? srv->iothreads[id] : NULL;
}

const struct export_set *
server_exports(const struct server *srv)
{
    return &srv->exports;
}

struct nbd_server *
server_nbd(struct server *srv)
{
    return srv->nbd_started ? &srv->nbd : NULL;
}

struct iscsi_server *
server_iscsi(struct server *srv)
{
    return srv->iscsi_started ? &srv->iscsi : NULL;
}

struct mainloop *
server_mainloop(const struct server *srv)
{
    return srv->ml;
}

int64_t
server_started_ns(const struct server *srv)
{
    return srv->started_ns;
}
