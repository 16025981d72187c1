/* SPDX-License-Identifier: MIT */
/*
 * See frontend.h.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontend.h"
#include "listen.h"
#include "log.h"
#include "util/clock.h"

struct frontend_attach_msg {
    struct frontend *fe;
    struct iothread *t;
    int fd;
    struct sockaddr_storage peer;
    socklen_t peerlen;
};

static void
frontend_attach_on_thread(void *opaque)
{
    struct frontend_attach_msg *m = opaque;

    m->fe->ops->attach(m->fe, m->t, m->fd, &m->peer, m->peerlen);
    free(m);
}

void
frontend_conn_gone(struct frontend *fe, struct iothread *t)
{
    iothread_conn_removed(t);
    atomic_fetch_sub(&fe->nconns, 1);
}

void
frontend_attach(struct frontend *fe, struct iothread *t, int fd,
                const struct sockaddr_storage *peer, socklen_t peerlen)
{
    struct frontend_attach_msg *m = malloc(sizeof *m);

    iothread_conn_added(t);
    if (m == NULL) {
        log_error("%s: cannot accept a connection: out of memory",
                  fe->ops->name);
        close(fd);
        frontend_conn_gone(fe, t);
        return;
    }
    m->fe = fe;
    m->t = t;
    m->fd = fd;
    memcpy(&m->peer, peer, peerlen);
    m->peerlen = peerlen;
    if (iothread_run(t, frontend_attach_on_thread, m) < 0) {
        log_error("%s: cannot hand a connection to iothread %u: out of memory",
                  fe->ops->name, iothread_id(t));
        close(fd);
        frontend_conn_gone(fe, t);
        free(m);
    }
}

static struct iothread *
frontend_pick_thread(struct frontend *fe)
{
    struct iothread *best = fe->iothreads[0];

    for (unsigned i = 1; i < fe->niothreads; i++) {
        if (iothread_nconns(fe->iothreads[i]) < iothread_nconns(best)) {
            best = fe->iothreads[i];
        }
    }
    return best;
}

static void
frontend_on_accept(int fd, const struct sockaddr_storage *peer,
                   socklen_t peerlen, void *opaque)
{
    struct frontend *fe = opaque;
    char name[64];

    if (atomic_load(&fe->stopping)) {
        close(fd);
        return;
    }
    if (atomic_fetch_add(&fe->nconns, 1) >= fe->max_connections) {
        atomic_fetch_sub(&fe->nconns, 1);
        listen_format_peer(peer, peerlen, name, sizeof name);
        log_warn("%s: refusing %s: max-connections (%u) reached",
                 fe->ops->name, name, fe->max_connections);
        close(fd);
        return;
    }
    frontend_attach(fe, frontend_pick_thread(fe), fd, peer, peerlen);
}

int
frontend_start(struct frontend *fe, const struct frontend_ops *ops,
               struct ev_loop *loop, const struct config *cfg,
               const struct config_addrs *addrs, unsigned max_connections,
               struct iothread **iothreads, unsigned niothreads)
{
    fe->ops = ops;
    fe->cfg = cfg;
    fe->iothreads = iothreads;
    fe->niothreads = niothreads;
    fe->max_connections = max_connections;
    fe->nlisteners = 0;
    atomic_store(&fe->nconns, 0);
    atomic_store(&fe->stopping, false);
    fe->listeners = calloc(addrs->n ? addrs->n : 1, sizeof *fe->listeners);
    fe->thread_conns = calloc(niothreads ? niothreads : 1,
                              sizeof *fe->thread_conns);
    if (fe->listeners == NULL || fe->thread_conns == NULL) {
        free(fe->listeners);
        fe->listeners = NULL;
        return -ENOMEM;
    }
    for (size_t i = 0; i < addrs->n; i++) {
        int r = listen_open(loop, &addrs->addr[i], ops->name,
                            frontend_on_accept, fe,
                            &fe->listeners[fe->nlisteners]);

        if (r < 0) {
            frontend_stop_listening(fe);
            return r;
        }
        fe->nlisteners++;
    }
    return 0;
}

void
frontend_stop_listening(struct frontend *fe)
{
    atomic_store(&fe->stopping, true);
    for (size_t i = 0; i < fe->nlisteners; i++) {
        listen_close(fe->listeners[i]);
    }
    fe->nlisteners = 0;
}

struct frontend_drain_msg {
    struct frontend *fe;
    unsigned id;
};

static void
frontend_drain_on_thread(void *opaque)
{
    struct frontend_drain_msg *m = opaque;

    m->fe->ops->drain(m->fe, m->id);
    free(m);
}

void
frontend_drain(struct frontend *fe, int64_t timeout_ns)
{
    int64_t deadline = clock_now_ns() + timeout_ns;

    atomic_store(&fe->stopping, true);
    for (unsigned i = 0; i < fe->niothreads; i++) {
        struct frontend_drain_msg *m = malloc(sizeof *m);

        if (m == NULL) {
            continue; /* those connections close when their thread stops */
        }
        m->fe = fe;
        m->id = i;
        if (iothread_run(fe->iothreads[i], frontend_drain_on_thread, m) < 0) {
            free(m);
        }
    }
    while (atomic_load(&fe->nconns) > 0 && clock_now_ns() < deadline) {
        struct timespec ts = { 0, 5 * NS_PER_MS };

        nanosleep(&ts, NULL);
    }
    if (atomic_load(&fe->nconns) > 0) {
        log_warn("%s: %u connection(s) still busy after the drain timeout",
                 fe->ops->name, atomic_load(&fe->nconns));
    }
    free(fe->listeners);
    fe->listeners = NULL;
}

void
frontend_free(struct frontend *fe)
{
    free(fe->listeners);
    fe->listeners = NULL;
    free(fe->thread_conns);
    fe->thread_conns = NULL;
}

size_t
frontend_nlisteners(const struct frontend *fe)
{
    return fe->nlisteners;
}

const char *
frontend_listener_address(const struct frontend *fe, size_t i)
{
    return i < fe->nlisteners ? listen_address(fe->listeners[i]) : NULL;
}
