/* SPDX-License-Identifier: MIT */
/*
 * See nbd-server.h.  Accepting and placing connections is frontend.c's;
 * this plugs the NBD connection into it.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "nbd/nbd-internal.h"
#include "nbd/nbd-server.h"
#include "stats/report.h"
#include "util/clock.h"

static void
nbd_server_attach_on_thread(struct frontend *fe, struct iothread *t, int fd,
                            const struct sockaddr_storage *peer,
                            socklen_t peerlen)
{
    struct nbd_server *srv = (struct nbd_server *)fe;

    nbd_conn_attach_on_thread(srv, t, fd, peer, peerlen);
}

static void
nbd_server_drain_on_thread(struct frontend *fe, unsigned id)
{
    for (struct conn *c = conn_first(fe, id); c; c = c->next) {
        nbd_conn_drain((struct nbd_conn *)c); /* the free is deferred */
    }
}

static const struct frontend_ops nbd_frontend_ops = {
    .name = "nbd",
    .attach = nbd_server_attach_on_thread,
    .drain = nbd_server_drain_on_thread,
};

int
nbd_server_start(struct nbd_server *srv, struct ev_loop *loop,
                 const struct config *cfg, const struct export_set *exports,
                 struct iothread **iothreads, unsigned niothreads)
{
    memset(srv, 0, sizeof *srv);
    srv->cfg = cfg;
    srv->exports = exports;
    srv->iothreads = iothreads;
    srv->niothreads = niothreads;
    log_info("nbd: a connection buffers at most %" PRIu64 " MiB of writes "
             "and %u reads of up to %u MiB (max-inflight)",
             (cfg->nbd_max_payload > NBD_CONN_WRITE_BUDGET
                  ? cfg->nbd_max_payload : NBD_CONN_WRITE_BUDGET) >> 20,
             cfg->nbd_max_inflight, NBD_READ_PIECE >> 20);
    tls_slot_init(&srv->tls);
    if (cfg->nbd_tls.mode != CONFIG_TLS_OFF) {
        struct tls_creds *creds;
        char err[1024];
        int r = tls_creds_load(&cfg->nbd_tls, "nbd", &creds, err, sizeof err);

        if (r < 0) {
            log_error("%s: %s", cfg->file ? cfg->file : "config", err);
            return r;
        }
        log_info("nbd: TLS %s with %s credentials",
                 cfg->nbd_tls.mode == CONFIG_TLS_REQUIRE ? "required"
                                                         : "offered",
                 tls_creds_kind(creds));
        tls_slot_set(&srv->tls, creds);
    }
    return frontend_start(&srv->fe, &nbd_frontend_ops, loop, cfg,
                          &cfg->nbd_listen, cfg->nbd_max_connections,
                          cfg->nbd_max_connections_per_client,
                          iothreads, niothreads);
}

void
nbd_server_stop_listening(struct nbd_server *srv)
{
    frontend_stop_listening(&srv->fe);
}

void
nbd_server_drain(struct nbd_server *srv, int64_t timeout_ns)
{
    frontend_drain(&srv->fe, timeout_ns);
}

int
nbd_server_reload_tls(struct nbd_server *srv, const struct config_tls *t)
{
    struct tls_creds *creds;
    char err[1024];
    int r = tls_creds_load(t, "nbd", &creds, err, sizeof err);

    if (r < 0) {
        log_error("reload: %s; new connections keep the running TLS "
                  "credentials",
                  err);
        return r;
    }
    log_info("reload: [nbd] TLS credentials loaded (%s) for new connections",
             tls_creds_kind(creds));
    tls_slot_set(&srv->tls, creds);
    return 0;
}

void
nbd_server_free(struct nbd_server *srv)
{
    frontend_free(&srv->fe);
    tls_slot_destroy(&srv->tls);
}

void
nbd_server_collect(struct nbd_server *srv, unsigned id, struct stats_report *r)
{
    int64_t now = clock_now_ns();

    for (struct conn *it = conn_first(&srv->fe, id); it; it = it->next) {
        const struct nbd_conn *conn = (const struct nbd_conn *)it;
        struct stats_report_conn c = { .iothread = id };

        if (conn->base.life == CONN_DEAD) {
            continue;
        }
        snprintf(c.protocol, sizeof c.protocol, "nbd");
        snprintf(c.peer, sizeof c.peer, "%s", conn->base.peer);
        snprintf(c.export, sizeof c.export, "%s",
                 conn->export ? conn->export->name : "");
        c.connected_s = (double)(now - conn->base.connected_ns) / 1e9;
        stats_io_accumulate(&conn->stats, &c.io);
        if (!stats_report_add_conn(r, &c)) {
            return;
        }
    }
}
