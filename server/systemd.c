/* SPDX-License-Identifier: MIT */
/*
 * See systemd.h.  Both protocols are small and stable (sd_listen_fds(3),
 * sd_notify(3)), so they are spoken here directly rather than through
 * libsystemd: LISTEN_FDS descriptors start at 3, LISTEN_PID guards
 * against variables inherited by the wrong process, LISTEN_FDNAMES is a
 * colon-separated list; a notification is one datagram of
 * newline-separated assignments to the AF_UNIX socket NOTIFY_SOCKET,
 * where a leading '@' names the abstract namespace.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "systemd.h"
#include "util/clock.h"

#define SYSTEMD_LISTEN_FDS_START 3
/* More would be a unit file mistake; the bound keeps the table static. */
#define SYSTEMD_MAX_FDS 64

static struct {
    int fd;
    char name[32];
} systemd_fds[SYSTEMD_MAX_FDS];
static size_t systemd_nfds_total;
static struct sockaddr_un systemd_notify_addr;
static socklen_t systemd_notify_len;

/* Parse a decimal number that must be all of s; -1 if it is not. */
static long
systemd_parse_long(const char *s)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0') {
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    return errno || *end || v < 0 ? -1 : v;
}

static int
systemd_init_listen(char *err, size_t errlen)
{
    const char *pid_s = getenv("LISTEN_PID");
    const char *fds_s = getenv("LISTEN_FDS");
    const char *names = getenv("LISTEN_FDNAMES");
    long pid = systemd_parse_long(pid_s), n = systemd_parse_long(fds_s);

    if (fds_s == NULL) {
        return 0;
    }
    if (pid != (long)getpid()) {
        /* Meant for another process (our parent, before an exec). */
        return 0;
    }
    if (n < 0 || n > SYSTEMD_MAX_FDS) {
        snprintf(err, errlen, "socket activation: LISTEN_FDS=%s: expected 0 "
                 "to %d descriptors", fds_s, SYSTEMD_MAX_FDS);
        return -EINVAL;
    }
    for (long i = 0; i < n; i++) {
        int fd = SYSTEMD_LISTEN_FDS_START + (int)i;
        const char *colon = names ? strchr(names, ':') : NULL;
        size_t len = names ? (colon ? (size_t)(colon - names) : strlen(names))
                           : 0;
        int type = 0, listening = 0;
        socklen_t sl = sizeof type;

        if (len == 0 || len >= sizeof systemd_fds[i].name) {
            snprintf(err, errlen,
                     "socket activation: descriptor %d has no usable name: "
                     "give each socket FileDescriptorName=nbd or "
                     "FileDescriptorName=iscsi",
                     fd);
            return -EINVAL;
        }
        memcpy(systemd_fds[i].name, names, len);
        systemd_fds[i].name[len] = '\0';
        names = colon ? colon + 1 : names + len;
        if (strcmp(systemd_fds[i].name, "nbd") != 0 &&
            strcmp(systemd_fds[i].name, "iscsi") != 0) {
            snprintf(err, errlen,
                     "socket activation: descriptor %d is named '%s': "
                     "expected nbd or iscsi (FileDescriptorName=)",
                     fd, systemd_fds[i].name);
            return -EINVAL;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0 ||
            type != SOCK_STREAM ||
            getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
                       &(socklen_t){ sizeof listening }) < 0 ||
            !listening) {
            snprintf(err, errlen,
                     "socket activation: descriptor %d (%s) is not a "
                     "listening stream socket",
                     fd, systemd_fds[i].name);
            return -EINVAL;
        }
        /* Not for anything we might run later. */
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
            snprintf(err, errlen, "socket activation: descriptor %d: %s", fd,
                     strerror(errno));
            return -errno;
        }
        systemd_fds[i].fd = fd;
        systemd_nfds_total = (size_t)i + 1;
    }
    return 0;
}

static int
systemd_init_notify(char *err, size_t errlen)
{
    const char *path = getenv("NOTIFY_SOCKET");
    size_t len;

    if (path == NULL || *path == '\0') {
        return 0;
    }
    len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') ||
        len >= sizeof systemd_notify_addr.sun_path) {
        snprintf(err, errlen,
                 "NOTIFY_SOCKET=%s: expected an absolute path or @abstract "
                 "name of at most %zu bytes",
                 path, sizeof systemd_notify_addr.sun_path - 1);
        return -EINVAL;
    }
    systemd_notify_addr.sun_family = AF_UNIX;
    memcpy(systemd_notify_addr.sun_path, path, len);
    if (path[0] == '@') {
        systemd_notify_addr.sun_path[0] = '\0'; /* abstract: no NUL end */
    }
    systemd_notify_len =
        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                    (path[0] == '@' ? 0 : 1));
    return 0;
}

int
systemd_init(char *err, size_t errlen)
{
    int r = systemd_init_listen(err, errlen);

    if (r == 0) {
        r = systemd_init_notify(err, errlen);
    }
    /* What we took is ours: nothing we start should see it. */
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    unsetenv("NOTIFY_SOCKET");
    return r;
}

size_t
systemd_listen_count(const char *name)
{
    size_t n = 0;

    for (size_t i = 0; i < systemd_nfds_total; i++) {
        n += strcmp(systemd_fds[i].name, name) == 0;
    }
    return n;
}

int
systemd_listen_fd(const char *name, size_t index)
{
    for (size_t i = 0; i < systemd_nfds_total; i++) {
        if (strcmp(systemd_fds[i].name, name) == 0 && index-- == 0) {
            return systemd_fds[i].fd;
        }
    }
    return -1;
}

void
systemd_notify(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    int fd, len;

    if (systemd_notify_len == 0) {
        return;
    }
    va_start(ap, fmt);
    len = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof msg) {
        len = (int)strlen(msg);
    }
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_warn("notify socket: %m");
        return;
    }
    if (sendto(fd, msg, (size_t)len, MSG_NOSIGNAL,
               (const struct sockaddr *)&systemd_notify_addr,
               systemd_notify_len) < 0) {
        log_warn("notify socket: cannot send: %m");
    }
    close(fd);
}

void
systemd_notify_reloading(void)
{
    /* systemd 253 wants the clock with RELOADING=1 (Type=notify-reload);
     * older versions ignore it. */
    systemd_notify("RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=reloading",
                   (long long)(clock_now_ns() / 1000));
}
