/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets on the main thread's libev loop: TCP (IPv4, IPv6) and
 * Unix.  Each accepted connection is non-blocking and close-on-exec, with
 * TCP_NODELAY on TCP, and is handed to the front end's accept callback,
 * which places it on an I/O thread.  The main thread never reads from it.
 */
#ifndef POLLTGT_SERVER_LISTEN_H
#define POLLTGT_SERVER_LISTEN_H

#include <sys/socket.h>

#include "util/compiler.h"
#include "util/parse.h"

struct ev_loop;
struct listener;

/* Called on the main thread for every accepted connection; owns fd. */
typedef void listen_accept_fn(int fd, const struct sockaddr_storage *peer,
                              socklen_t peerlen, void *opaque);

/*
 * Bind and listen on addr.  what names the protocol in log lines ("nbd").
 * Unix sockets: a stale socket file is replaced, any other file is an
 * error; the socket gets mode 0666 & ~umask.  Returns 0 or -errno (logged
 * with the address).
 */
int listen_open(struct ev_loop *loop, const struct parse_addr *addr,
                const char *what, listen_accept_fn *fn, void *opaque,
                struct listener **out) ATTR_NONNULL(1, 2, 3, 4, 6);

/*
 * A Unix socket at path with the given mode and, where not -1, owner and
 * group, set before it listens (so nobody connects through looser
 * permissions); otherwise as listen_open.  For the status socket.
 */
int listen_open_unix(struct ev_loop *loop, const char *path, const char *what,
                     unsigned mode, long uid, long gid, listen_accept_fn *fn,
                     void *opaque, struct listener **out)
    ATTR_NONNULL(1, 2, 3, 7, 9);

/*
 * Watch fd, a socket already bound and listening (socket activation):
 * made non-blocking, otherwise used as it is; listen_close closes it but
 * leaves any socket path to whoever created it.  Returns 0 or -errno
 * (logged).
 */
int listen_adopt(struct ev_loop *loop, int fd, const char *what,
                 listen_accept_fn *fn, void *opaque, struct listener **out)
    ATTR_NONNULL(1, 3, 4, 6);

/* Stop accepting; close the socket (unlink a Unix socket's path). */
void listen_close(struct listener *l);

/* The bound address as text ("127.0.0.1:10809", "[::1]:10809",
 * "unix:/path"); with port 0 in the config this shows the real port. */
const char *listen_address(const struct listener *l) ATTR_NONNULL(1);

/* Format a peer address for logs and stats. */
void listen_format_peer(const struct sockaddr_storage *ss, socklen_t len,
                        char *buf, size_t buflen) ATTR_NONNULL(1, 3);

#endif /* POLLTGT_SERVER_LISTEN_H */
