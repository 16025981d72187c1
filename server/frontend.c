/* SPDX-License-Identifier: MIT */
/*
 * See frontend.h.  The per-client counts are a small array searched
 * linearly: it holds at most max-connections entries and is touched once
 * per connect and once per close, never per request, so a hash table
 * would buy nothing.  IPv4 peers are counted under their IPv4-mapped
 * IPv6 form, so one client is one entry whichever listener it used.
 */
#include <config.h>

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "frontend.h"
#include "listen.h"
#include "log.h"
#include "systemd.h"
#include "util/clock.h"

/* How often a refused connection may be logged. */
#define FRONTEND_REFUSED_LOG_NS NS_PER_SEC
/* After the drain timeout, how long the killed connections' frees may
 * take. */
#define FRONTEND_KILL_WAIT_NS NS_PER_SEC

struct frontend_client {
    uint8_t addr[16];
    unsigned n;
};

/* The counting key of a TCP peer; false for Unix peers (not counted). */
static bool
frontend_client_key(const struct sockaddr_storage *peer, uint8_t key[16])
{
    if (peer->ss_family == AF_INET) {
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)peer)->sin_addr, 4);
        return true;
    }
    if (peer->ss_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
        return true;
    }
    return false;
}

static struct frontend_client *
frontend_client_find(struct frontend *fe, const uint8_t key[16])
{
    for (size_t i = 0; i < fe->nclients; i++) {
        if (memcmp(fe->clients[i].addr, key, 16) == 0) {
            return &fe->clients[i];
        }
    }
    return NULL;
}

/* Count one more connection from peer; false if it is one too many (or
 * there is no memory to count it). */
static bool
frontend_client_add(struct frontend *fe, const struct sockaddr_storage *peer)
{
    struct frontend_client *cl;
    uint8_t key[16];
    bool ok = true;

    if (fe->max_per_client == 0 || !frontend_client_key(peer, key)) {
        return true;
    }
    pthread_mutex_lock(&fe->clients_lock);
    cl = frontend_client_find(fe, key);
    if (cl == NULL) {
        if (fe->nclients == fe->clients_cap) {
            size_t cap = fe->clients_cap ? fe->clients_cap * 2 : 16;
            struct frontend_client *n = realloc(fe->clients, cap * sizeof *n);

            if (n == NULL) {
                pthread_mutex_unlock(&fe->clients_lock);
                return false;
            }
            fe->clients = n;
            fe->clients_cap = cap;
        }
        cl = &fe->clients[fe->nclients++];
        memcpy(cl->addr, key, 16);
        cl->n = 0;
    }
    if (cl->n >= fe->max_per_client) {
        ok = false;
    } else {
        cl->n++;
    }
    pthread_mutex_unlock(&fe->clients_lock);
    return ok;
}

static void
frontend_client_remove(struct frontend *fe, const struct sockaddr_storage *peer)
{
    struct frontend_client *cl;
    uint8_t key[16];

    if (fe->max_per_client == 0 || !frontend_client_key(peer, key)) {
        return;
    }
    pthread_mutex_lock(&fe->clients_lock);
    cl = frontend_client_find(fe, key);
    if (cl && --cl->n == 0) {
        *cl = fe->clients[--fe->nclients]; /* order does not matter */
    }
    pthread_mutex_unlock(&fe->clients_lock);
}

/* Close a connection over a limit, logging at most once a second so a
 * client hammering the port cannot flood the log. */
static void
frontend_refuse(struct frontend *fe, int fd,
                const struct sockaddr_storage *peer, socklen_t peerlen,
                const char *limit, unsigned value)
{
    int64_t now = clock_now_ns();
    char name[64];

    close(fd);
    if (fe->refused_log_ns && now - fe->refused_log_ns < FRONTEND_REFUSED_LOG_NS) {
        fe->refused_quiet++;
        return;
    }
    listen_format_peer(peer, peerlen, name, sizeof name);
    if (fe->refused_quiet) {
        log_warn("%s: refusing %s: %s (%u) reached (and %u more refused "
                 "since the last message)",
                 fe->ops->name, name, limit, value, fe->refused_quiet);
    } else {
        log_warn("%s: refusing %s: %s (%u) reached", fe->ops->name, name,
                 limit, value);
    }
    fe->refused_log_ns = now;
    fe->refused_quiet = 0;
}

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
frontend_conn_gone(struct frontend *fe, struct iothread *t,
                   const struct sockaddr_storage *peer)
{
    frontend_client_remove(fe, peer);
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
        frontend_conn_gone(fe, t, peer);
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
        frontend_conn_gone(fe, t, peer);
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

    if (atomic_load(&fe->stopping)) {
        close(fd);
        return;
    }
    if (atomic_fetch_add(&fe->nconns, 1) >= fe->max_connections) {
        atomic_fetch_sub(&fe->nconns, 1);
        frontend_refuse(fe, fd, peer, peerlen, "max-connections",
                        fe->max_connections);
        return;
    }
    if (!frontend_client_add(fe, peer)) {
        atomic_fetch_sub(&fe->nconns, 1);
        frontend_refuse(fe, fd, peer, peerlen, "max-connections-per-client",
                        fe->max_per_client);
        return;
    }
    frontend_attach(fe, frontend_pick_thread(fe), fd, peer, peerlen);
}

int
frontend_start(struct frontend *fe, const struct frontend_ops *ops,
               struct ev_loop *loop, const struct config *cfg,
               const struct config_addrs *addrs, unsigned max_connections,
               unsigned max_per_client, struct iothread **iothreads,
               unsigned niothreads)
{
    fe->ops = ops;
    fe->cfg = cfg;
    fe->iothreads = iothreads;
    fe->niothreads = niothreads;
    fe->max_connections = max_connections;
    fe->max_per_client = max_per_client;
    pthread_mutex_init(&fe->clients_lock, NULL);
    fe->clients = NULL;
    fe->nclients = fe->clients_cap = 0;
    fe->refused_log_ns = 0;
    fe->refused_quiet = 0;
    fe->nlisteners = 0;
    atomic_store(&fe->nconns, 0);
    atomic_store(&fe->stopping, false);
    size_t nactivated = systemd_listen_count(ops->name);
    size_t nlisten = nactivated ? nactivated : addrs->n;

    fe->listeners = calloc(nlisten ? nlisten : 1, sizeof *fe->listeners);
    fe->thread_conns = calloc(niothreads ? niothreads : 1,
                              sizeof *fe->thread_conns);
    if (fe->listeners == NULL || fe->thread_conns == NULL) {
        free(fe->listeners);
        fe->listeners = NULL;
        return -ENOMEM;
    }
    if (nactivated && addrs->n) {
        log_info("%s: socket-activated: the configured listen addresses are "
                 "not bound",
                 ops->name);
    }
    for (size_t i = 0; i < nlisten; i++) {
        int r = nactivated
                    ? listen_adopt(loop, systemd_listen_fd(ops->name, i),
                                   ops->name, frontend_on_accept, fe,
                                   &fe->listeners[fe->nlisteners])
                    : listen_open(loop, &addrs->addr[i], ops->name,
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

/* Past the drain timeout, on thread id: close what is left. */
static void
frontend_kill_on_thread(void *opaque)
{
    struct frontend_drain_msg *m = opaque;

    for (struct conn *c = conn_first(m->fe, m->id); c; c = c->next) {
        conn_kill(c); /* the free is deferred: c->next stays valid */
    }
    free(m);
}

static void
frontend_wait_conns(struct frontend *fe, int64_t deadline)
{
    while (atomic_load(&fe->nconns) > 0 && clock_now_ns() < deadline) {
        struct timespec ts = { 0, 5 * NS_PER_MS };

        nanosleep(&ts, NULL);
    }
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
    frontend_wait_conns(fe, deadline);
    if (atomic_load(&fe->nconns) > 0) {
        log_warn("%s: %u connection(s) still busy after the drain timeout; "
                 "closing them",
                 fe->ops->name, atomic_load(&fe->nconns));
        /* A client that stopped reading, a backend that does not answer:
         * their sockets must not outlive the threads' loops.  Ahead of
         * the threads' stop messages, so before the loops go. */
        for (unsigned i = 0; i < fe->niothreads; i++) {
            struct frontend_drain_msg *m = malloc(sizeof *m);

            if (m == NULL) {
                continue;
            }
            m->fe = fe;
            m->id = i;
            if (iothread_run(fe->iothreads[i], frontend_kill_on_thread, m) < 0) {
                free(m);
            }
        }
        /* Their frees wait only for the backend to hand back requests. */
        frontend_wait_conns(fe, clock_now_ns() + FRONTEND_KILL_WAIT_NS);
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
    free(fe->clients);
    fe->clients = NULL;
    fe->nclients = fe->clients_cap = 0;
    pthread_mutex_destroy(&fe->clients_lock);
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
