/* SPDX-License-Identifier: MIT */
/*
 * See listen.h.  accept4 runs in a loop until EAGAIN so a burst of
 * connections costs one wakeup of the main thread; EMFILE/ENFILE pause
 * accepting for a moment instead of spinning on a listener that stays
 * readable.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "listen.h"
#include "log.h"

/* How long accepting pauses when the process is out of descriptors. */
#define LISTEN_EMFILE_BACKOFF 0.1

struct listener {
    ev_io io;
    ev_timer backoff;
    struct ev_loop *loop;
    int fd;
    struct parse_addr addr;
    char name[160];
    const char *what;
    listen_accept_fn *fn;
    void *opaque;
    bool adopted;       /* listen_adopt: bound by someone else, kept as is */
    bool perm;          /* listen_open_unix: mode, uid, gid below */
    unsigned mode;
    long uid, gid;
};

void
listen_format_peer(const struct sockaddr_storage *ss, socklen_t len,
                   char *buf, size_t buflen)
{
    char host[INET6_ADDRSTRLEN];

    switch (ss->ss_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(buf, buflen, "%s:%u", host, ntohs(in->sin_port));
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(buf, buflen, "[%s]:%u", host, ntohs(in6->sin6_port));
        break;
    }
    case AF_UNIX:
        snprintf(buf, buflen, "unix");
        break;
    default:
        snprintf(buf, buflen, "?");
        break;
    }
}

static void
listen_on_backoff(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct listener *l = w->data;

    ev_io_start(loop, &l->io);
}

static void
listen_on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    struct listener *l = w->data;

    for (;;) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof peer;
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                log_error("%s %s: cannot accept: %m; pausing for %.0f ms",
                          l->what, l->name, LISTEN_EMFILE_BACKOFF * 1e3);
                ev_io_stop(loop, &l->io);
                ev_timer_set(&l->backoff, LISTEN_EMFILE_BACKOFF, 0);
                ev_timer_start(loop, &l->backoff);
            } else if (errno != EAGAIN) {
                log_error("%s %s: accept: %m", l->what, l->name);
            }
            return;
        }
        if (peer.ss_family == AF_INET || peer.ss_family == AF_INET6) {
            int one = 1;

            /* Replies are written whole: never wait for Nagle. */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        l->fn(fd, &peer, len, l->opaque);
    }
}

static int
listen_bind_unix(struct listener *l)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;
    int fd;

    if (lstat(l->addr.path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_error("%s unix:%s: exists and is not a socket; not replacing it",
                      l->what, l->addr.path);
            return -EEXIST;
        }
        unlink(l->addr.path); /* stale socket of a previous run */
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -errno;
    }
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", l->addr.path);
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        int r = -errno;

        log_error("%s unix:%s: cannot bind: %m", l->what, l->addr.path);
        close(fd);
        return r;
    }
    if (l->perm && (chmod(l->addr.path, l->mode) < 0 ||
                    ((l->uid >= 0 || l->gid >= 0) &&
                     chown(l->addr.path, (uid_t)l->uid, (gid_t)l->gid) < 0))) {
        int r = -errno;

        log_error("%s unix:%s: cannot set mode %04o or owner: %m", l->what,
                  l->addr.path, l->mode);
        close(fd);
        unlink(l->addr.path);
        return r;
    }
    snprintf(l->name, sizeof l->name, "unix:%s", l->addr.path);
    return fd;
}

static int
listen_bind_tcp(struct listener *l)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
    };
    struct addrinfo *res = NULL;
    int fd = -1, r, one = 1;

    r = getaddrinfo(l->addr.host[0] ? l->addr.host : NULL, l->addr.port,
                    &hints, &res);
    if (r != 0) {
        log_error("%s %s:%s: cannot resolve: %s", l->what, l->addr.host,
                  l->addr.port, gai_strerror(r));
        return -EINVAL;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (res->ai_family == AF_INET6) {
        /* [::]:P means IPv6 only; 0.0.0.0:P is a listener of its own. */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
        r = -errno;
        log_error("%s %s:%s: cannot bind: %m", l->what, l->addr.host,
                  l->addr.port);
        close(fd);
        fd = -1;
        goto out;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        listen_format_peer(&ss, len, l->name, sizeof l->name);
    }
    r = fd;
out:
    freeaddrinfo(res);
    return r;
}

static int listen_start(struct listener *l, struct listener **out);

/* A listener not yet bound or watched; NULL when out of memory. */
static struct listener *
listen_alloc(struct ev_loop *loop, const char *what, listen_accept_fn *fn,
             void *opaque)
{
    struct listener *l = calloc(1, sizeof *l);

    if (l) {
        l->loop = loop;
        l->what = what;
        l->fn = fn;
        l->opaque = opaque;
    }
    return l;
}

int
listen_open(struct ev_loop *loop, const struct parse_addr *addr,
            const char *what, listen_accept_fn *fn, void *opaque,
            struct listener **out)
{
    struct listener *l = listen_alloc(loop, what, fn, opaque);

    if (l == NULL) {
        return -ENOMEM;
    }
    l->addr = *addr;
    return listen_start(l, out);
}

int
listen_open_unix(struct ev_loop *loop, const char *path, const char *what,
                 unsigned mode, long uid, long gid, listen_accept_fn *fn,
                 void *opaque, struct listener **out)
{
    struct listener *l;

    if (strlen(path) >= sizeof l->addr.path ||
        strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        log_error("%s unix:%s: path too long", what, path);
        return -ENAMETOOLONG;
    }
    l = listen_alloc(loop, what, fn, opaque);
    if (l == NULL) {
        return -ENOMEM;
    }
    l->addr.kind = PARSE_ADDR_UNIX;
    strcpy(l->addr.path, path);
    l->perm = true;
    l->mode = mode;
    l->uid = uid;
    l->gid = gid;
    return listen_start(l, out);
}

int
listen_adopt(struct ev_loop *loop, int fd, const char *what,
             listen_accept_fn *fn, void *opaque, struct listener **out)
{
    struct listener *l = listen_alloc(loop, what, fn, opaque);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int flags = fcntl(fd, F_GETFL);

    if (l == NULL) {
        return -ENOMEM;
    }
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        int r = -errno;

        log_error("%s: inherited descriptor %d: %m", what, fd);
        free(l);
        return r;
    }
    l->adopted = true;
    l->fd = fd;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_UNIX) {
            const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;

            snprintf(l->name, sizeof l->name, "unix:%s",
                     sun->sun_path[0] ? sun->sun_path : "@abstract");
        } else {
            listen_format_peer(&ss, len, l->name, sizeof l->name);
        }
    } else {
        snprintf(l->name, sizeof l->name, "fd %d", fd);
    }
    return listen_start(l, out);
}

/* Bind, listen and watch l (freed on failure). */
static int
listen_start(struct listener *l, struct listener **out)
{
    const char *what = l->what;
    int fd;

    if (l->adopted) {
        fd = l->fd;
        goto watch; /* the service manager chose the backlog */
    }
    fd = l->addr.kind == PARSE_ADDR_UNIX ? listen_bind_unix(l)
                                       : listen_bind_tcp(l);
    if (fd < 0) {
        free(l);
        return fd;
    }
    /* A deep backlog: connections arrive in bursts (multi-conn clients). */
    if (listen(fd, 1024) < 0) {
        int r = -errno;

        log_error("%s %s: cannot listen: %m", what, l->name);
        close(fd);
        free(l);
        return r;
    }
    l->fd = fd;
watch:
    ev_io_init(&l->io, listen_on_readable, fd, EV_READ);
    ev_init(&l->backoff, listen_on_backoff);
    l->io.data = l->backoff.data = l;
    ev_io_start(l->loop, &l->io);
    if (l->perm) {
        log_info("%s: listening on %s (mode %04o)", what, l->name, l->mode);
    } else if (l->adopted) {
        log_info("%s: listening on %s (socket-activated, fd %d)", what,
                 l->name, fd);
    } else {
        log_info("%s: listening on %s", what, l->name);
    }
    *out = l;
    return 0;
}

void
listen_close(struct listener *l)
{
    if (l == NULL) {
        return;
    }
    ev_io_stop(l->loop, &l->io);
    ev_timer_stop(l->loop, &l->backoff);
    close(l->fd);
    if (l->addr.kind == PARSE_ADDR_UNIX && !l->adopted) {
        unlink(l->addr.path);
    }
    free(l);
}

const char *
listen_address(const struct listener *l)
{
    return l->name;
}
