/* SPDX-License-Identifier: MIT */
/*
 * See nbd-server.h.  The main thread accepts and picks the I/O thread with
 * the fewest connections; the connection is then created on that thread
 * by a message, so every byte of its state is born and dies there.
 */
#include <config.h>

#include <errno.h>
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

struct nbd_attach_msg {
    struct nbd_server *srv;
    struct iothread *t;
    int fd;
    struct sockaddr_storage peer;
    socklen_t peerlen;
};

static void
nbd_server_attach_on_thread(void *opaque)
{
    struct nbd_attach_msg *m = opaque;

    nbd_conn_attach_on_thread(m->srv, m->t, m->fd, &m->peer, m->peerlen);
    free(m);
}

void
nbd_server_attach(struct nbd_server *srv, struct iothread *t, int fd,
                  const struct sockaddr_storage *peer, socklen_t peerlen)
{
    struct nbd_attach_msg *m = malloc(sizeof *m);

    if (m == NULL) {
        log_error("nbd: cannot accept a connection: out of memory");
        close(fd);
        atomic_fetch_sub(&srv->nconns, 1);
        return;
    }
    m->srv = srv;
    m->t = t;
    m->fd = fd;
    memcpy(&m->peer, peer, peerlen);
    m->peerlen = peerlen;
    iothread_conn_added(t);
    if (iothread_run(t, nbd_server_attach_on_thread, m) < 0) {
        log_error("nbd: cannot hand a connection to iothread %u: out of memory",
                  iothread_id(t));
        iothread_conn_removed(t);
        atomic_fetch_sub(&srv->nconns, 1);
        close(fd);
        free(m);
    }
}

static struct iothread *
nbd_server_pick_thread(struct nbd_server *srv)
{
    struct iothread *best = srv->iothreads[0];

    for (unsigned i = 1; i < srv->niothreads; i++) {
        if (iothread_nconns(srv->iothreads[i]) < iothread_nconns(best)) {
            best = srv->iothreads[i];
        }
    }
    return best;
}

static void
nbd_server_on_accept(int fd, const struct sockaddr_storage *peer,
                     socklen_t peerlen, void *opaque)
{
    struct nbd_server *srv = opaque;
    char name[64];

    if (atomic_load(&srv->stopping)) {
        close(fd);
        return;
    }
    if (atomic_fetch_add(&srv->nconns, 1) >= srv->cfg->nbd_max_connections) {
        atomic_fetch_sub(&srv->nconns, 1);
        listen_format_peer(peer, peerlen, name, sizeof name);
        log_warn("nbd: refusing %s: max-connections (%u) reached", name,
                 srv->cfg->nbd_max_connections);
        close(fd);
        return;
    }
    nbd_server_attach(srv, nbd_server_pick_thread(srv), fd, peer, peerlen);
}

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
    srv->thread_conns = calloc(niothreads, sizeof *srv->thread_conns);
    srv->listeners = calloc(cfg->nbd_listen.n ? cfg->nbd_listen.n : 1,
                            sizeof *srv->listeners);
    if (srv->thread_conns == NULL || srv->listeners == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->nbd_listen.n; i++) {
        int r = listen_open(loop, &cfg->nbd_listen.addr[i], "nbd",
                            nbd_server_on_accept, srv,
                            &srv->listeners[srv->nlisteners]);

        if (r < 0) {
            nbd_server_stop_listening(srv);
            return r;
        }
        srv->nlisteners++;
    }
    return 0;
}

void
nbd_server_stop_listening(struct nbd_server *srv)
{
    atomic_store(&srv->stopping, true);
    for (size_t i = 0; i < srv->nlisteners; i++) {
        listen_close(srv->listeners[i]);
    }
    srv->nlisteners = 0;
}

struct nbd_drain_msg {
    struct nbd_server *srv;
    unsigned id;
};

static void
nbd_server_drain_on_thread(void *opaque)
{
    struct nbd_drain_msg *m = opaque;
    struct nbd_conn *conn = m->srv->thread_conns[m->id];

    while (conn) {
        struct nbd_conn *next = conn->next;

        nbd_conn_drain(conn); /* may free conn */
        conn = next;
    }
    free(m);
}

void
nbd_server_drain(struct nbd_server *srv, int64_t timeout_ns)
{
    int64_t deadline = clock_now_ns() + timeout_ns;

    atomic_store(&srv->stopping, true);
    if (srv->thread_conns == NULL) {
        return;
    }
    for (unsigned i = 0; i < srv->niothreads; i++) {
        struct nbd_drain_msg *m = malloc(sizeof *m);

        if (m == NULL) {
            continue; /* those connections close when their thread stops */
        }
        m->srv = srv;
        m->id = i;
        if (iothread_run(srv->iothreads[i], nbd_server_drain_on_thread, m) < 0) {
            free(m);
        }
    }
    while (atomic_load(&srv->nconns) > 0 && clock_now_ns() < deadline) {
        struct timespec ts = { 0, 5 * NS_PER_MS };

        nanosleep(&ts, NULL);
    }
    if (atomic_load(&srv->nconns) > 0) {
        log_warn("nbd: %u connection(s) still busy after the drain timeout",
                 atomic_load(&srv->nconns));
    }
    free(srv->listeners);
    srv->listeners = NULL;
}

void
nbd_server_collect(struct nbd_server *srv, unsigned id, struct stats_report *r)
{
    int64_t now = clock_now_ns();

    for (struct nbd_conn *conn = srv->thread_conns[id]; conn; conn = conn->next) {
        struct stats_report_conn c = { .iothread = id };

        if (conn->state == NBD_STATE_DEAD) {
            continue;
        }
        snprintf(c.protocol, sizeof c.protocol, "nbd");
        snprintf(c.peer, sizeof c.peer, "%s", conn->peer);
        snprintf(c.export, sizeof c.export, "%s",
                 conn->export ? conn->export->name : "");
        c.connected_s = (double)(now - conn->connected_ns) / 1e9;
        stats_io_accumulate(&conn->stats, &c.io);
        if (!stats_report_add_conn(r, &c)) {
            return;
        }
    }
}
