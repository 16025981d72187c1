/* SPDX-License-Identifier: MIT */
/*
 * polltgtctl's client of the status socket: connect, send one request
 * line, read the framed "OK|ERR <length>" answer of control-protocol.h.
 *
 * Every wait is bounded: connect, send and receive share one deadline per
 * request (-t, 10 s by default), so a stuck or hostile server makes
 * polltgtctl fail with a message, never hang.  The socket is non-blocking
 * in effect (MSG_DONTWAIT and poll), so the deadline and a quit signal are
 * checked between any two system calls.
 */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/control-protocol.h"
#include "control/polltgtctl-internal.h"
#include "control/polltgtctl-json.h"

/* A sanity bound on an answer: `stats` of 10000 connections is ~40 MiB. */
#define CTL_MAX_ANSWER (1u << 30)
/* "ERR 18446744073709551615\n" fits with room to spare. */
#define CTL_MAX_HEADER 64

/* --- Time and the quit flag ------------------------------------------ */

volatile sig_atomic_t ctl_quit;

double
ctl_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- The connection --------------------------------------------------- */

static void
ctl_connect_hint(const char *path)
{
    fprintf(stderr,
            "%s: is polltgtd running?  Give its status socket with -s SOCKET "
            "or POLLTGT_SOCKET\n"
            "%s: (the path is 'socket' in [status] of polltgt.ini; default %s "
            "in the directory polltgtd was started in)\n",
            ctl_progname, ctl_progname, CONTROL_DEFAULT_SOCKET);
    (void)path;
}

/* Connect to the status socket; on failure print why and return -errno. */
int
ctl_connect(struct ctl_conn *conn, const struct ctl_opts *o)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct timeval tv;
    int err;

    memset(conn, 0, sizeof *conn);
    conn->fd = -1;
    conn->path = o->socket;
    conn->timeout_s = o->timeout_s;
    if (strlen(o->socket) >= sizeof sun.sun_path) {
        fprintf(stderr, "%s: cannot connect to the status socket '%s': %s "
                "(at most %zu bytes)\n", ctl_progname, o->socket,
                strerror(ENAMETOOLONG), sizeof sun.sun_path - 1);
        return -ENAMETOOLONG;
    }
    strcpy(sun.sun_path, o->socket);
    conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (conn->fd < 0) {
        err = errno;
        fprintf(stderr, "%s: socket: %s\n", ctl_progname, strerror(err));
        return -err;
    }
    /* A connect to a Unix socket whose backlog is full waits, bounded by
     * the send timeout. */
    tv.tv_sec = (time_t)o->timeout_s;
    tv.tv_usec = (suseconds_t)((o->timeout_s - (double)tv.tv_sec) * 1e6);
    (void)setsockopt(conn->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    while (connect(conn->fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        if (errno == EINTR && !ctl_quit) {
            continue;
        }
        err = errno == EINPROGRESS || errno == EAGAIN ? ETIMEDOUT : errno;
        fprintf(stderr, "%s: cannot connect to the status socket '%s': %s\n",
                ctl_progname, o->socket, strerror(err));
        if (err == ENOENT || err == ECONNREFUSED || err == ENOTSOCK) {
            ctl_connect_hint(o->socket);
        }
        close(conn->fd);
        conn->fd = -1;
        return -err;
    }
    return 0;
}

void
ctl_close(struct ctl_conn *conn)
{
    if (conn->fd >= 0) {
        close(conn->fd);
        conn->fd = -1;
    }
}

/* Wait until fd is ready for events or the deadline passes: 0, -ETIMEDOUT,
 * -EINTR (a quit signal) or -errno. */
static int
ctl_wait(int fd, short events, double deadline)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = events };
        double left = deadline - ctl_now();
        int r;

        if (ctl_quit) {
            return -EINTR;
        }
        if (left <= 0) {
            return -ETIMEDOUT;
        }
        r = poll(&pfd, 1, (int)ceil(left * 1000));
        if (r > 0) {
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            return -errno;
        }
    }
}

static void
ctl_io_error(const struct ctl_conn *conn, const char *what, int err)
{
    if (err == -ETIMEDOUT) {
        fprintf(stderr, "%s: %s: no answer from the status socket '%s' "
                "within %g s\n", ctl_progname, what, conn->path,
                conn->timeout_s);
    } else if (err == -EINTR) {
        return; /* top quits on a signal */
    } else if (err == 0) {
        fprintf(stderr, "%s: %s: the server closed the connection on '%s' "
                "before answering\n", ctl_progname, what, conn->path);
    } else {
        fprintf(stderr, "%s: %s: %s: %s\n", ctl_progname, what, conn->path,
                strerror(-err));
    }
}

/* Receive at least one byte into conn->buf; 1, 0 at EOF, or -errno. */
static int
ctl_fill(struct ctl_conn *conn, double deadline)
{
    if (conn->off == conn->len) {
        conn->off = conn->len = 0;
    }
    for (;;) {
        ssize_t n;
        int r;

        n = recv(conn->fd, conn->buf + conn->len, sizeof conn->buf - conn->len,
                 MSG_DONTWAIT);
        if (n > 0) {
            conn->len += (size_t)n;
            return 1;
        }
        if (n == 0) {
            return 0;
        }
        if (errno != EAGAIN && errno != EINTR) {
            return -errno;
        }
        r = ctl_wait(conn->fd, POLLIN, deadline);
        if (r < 0) {
            return r;
        }
    }
}

static int
ctl_send(struct ctl_conn *conn, const char *s, size_t len, double deadline)
{
    while (len) {
        ssize_t n = send(conn->fd, s, len, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n >= 0) {
            s += n;
            len -= (size_t)n;
            continue;
        }
        if (errno != EAGAIN && errno != EINTR) {
            return -errno;
        }
        n = ctl_wait(conn->fd, POLLOUT, deadline);
        if (n < 0) {
            return (int)n;
        }
    }
    return 0;
}

/*
 * Send one request line and read its answer.  Returns 0 with *ans filled
 * in (free ans->body), or -1 after printing why (connection lost, timeout,
 * malformed framing).
 */
int
ctl_request(struct ctl_conn *conn, const char *request, struct ctl_answer *ans)
{
    double deadline = ctl_now() + conn->timeout_s;
    char header[CTL_MAX_HEADER];
    size_t hlen = 0, got = 0;
    unsigned long long len;
    char *end, *nl;
    int r;

    memset(ans, 0, sizeof *ans);
    r = ctl_send(conn, request, strlen(request), deadline);
    if (r == 0) {
        r = ctl_send(conn, "\n", 1, deadline);
    }
    if (r < 0) {
        ctl_io_error(conn, request, r);
        return -1;
    }
    /* The header: "OK <len>\n" or "ERR <len>\n". */
    for (;;) {
        size_t avail = conn->len - conn->off;

        nl = memchr(conn->buf + conn->off, '\n', avail);
        if (nl) {
            avail = (size_t)(nl - (conn->buf + conn->off)) + 1;
        }
        if (hlen + avail >= sizeof header) {
            fprintf(stderr, "%s: %s: the answer on '%s' does not start with "
                    "\"OK <length>\" or \"ERR <length>\"\n", ctl_progname,
                    request, conn->path);
            return -1;
        }
        memcpy(header + hlen, conn->buf + conn->off, avail);
        hlen += avail;
        conn->off += avail;
        if (nl) {
            break;
        }
        r = ctl_fill(conn, deadline);
        if (r <= 0) {
            ctl_io_error(conn, request, r);
            return -1;
        }
    }
    header[hlen - 1] = '\0';
    if (strncmp(header, "OK ", 3) == 0) {
        ans->ok = true;
        end = header + 3;
    } else if (strncmp(header, "ERR ", 4) == 0) {
        end = header + 4;
    } else {
        end = NULL;
    }
    errno = 0;
    len = end && *end >= '0' && *end <= '9' ? strtoull(end, &end, 10) : 0;
    if (end == NULL || *end != '\0' || errno || len > CTL_MAX_ANSWER) {
        fprintf(stderr, "%s: %s: the answer on '%s' does not start with "
                "\"OK <length>\" or \"ERR <length>\": \"%.40s\"\n",
                ctl_progname, request, conn->path, header);
        return -1;
    }
    ans->len = (size_t)len;
    ans->body = malloc(ans->len + 1);
    if (ans->body == NULL) {
        fprintf(stderr, "%s: %s: out of memory for an answer of %zu bytes\n",
                ctl_progname, request, ans->len);
        return -1;
    }
    /* The body: straight from the buffer, then large reads in place. */
    while (got < ans->len) {
        size_t avail = conn->len - conn->off;
        ssize_t n;

        if (avail) {
            size_t take = avail < ans->len - got ? avail : ans->len - got;

            memcpy(ans->body + got, conn->buf + conn->off, take);
            conn->off += take;
            got += take;
            continue;
        }
        n = recv(conn->fd, ans->body + got, ans->len - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            r = -errno;
        } else if (n == 0) {
            r = 0;
        } else {
            r = ctl_wait(conn->fd, POLLIN, deadline);
            if (r == 0) {
                continue;
            }
        }
        if (r == 0) {
            fprintf(stderr, "%s: %s: the server closed the connection on '%s' "
                    "after %zu of %zu bytes\n", ctl_progname, request,
                    conn->path, got, ans->len);
        } else {
            ctl_io_error(conn, request, r);
        }
        free(ans->body);
        ans->body = NULL;
        return -1;
    }
    ans->body[ans->len] = '\0';
    return 0;
}

/* Print an ERR answer as the server worded it. */
void
ctl_print_refusal(const struct ctl_answer *ans)
{
    fprintf(stderr, "%s: ", ctl_progname);
    fwrite(ans->body, 1, ans->len, stderr);
    if (ans->len == 0 || ans->body[ans->len - 1] != '\n') {
        fputc('\n', stderr);
    }
}

/*
 * One request on a fresh connection: 0 with *ans (OK), or the exit status
 * to return (the refusal or failure already printed).
 */
int
ctl_ask(const struct ctl_opts *o, const char *request, struct ctl_answer *ans)
{
    struct ctl_conn conn;
    int r;

    if (ctl_connect(&conn, o) < 0) {
        return CTL_EXIT_CONNECT;
    }
    r = ctl_request(&conn, request, ans);
    ctl_close(&conn);
    if (r < 0) {
        return CTL_EXIT_CONNECT;
    }
    if (!ans->ok) {
        ctl_print_refusal(ans);
        free(ans->body);
        return CTL_EXIT_REFUSED;
    }
    return CTL_EXIT_OK;
}

/* Parse an answer as JSON; NULL after printing why. */
struct ctl_json *
ctl_parse_answer(const char *request, const struct ctl_answer *ans)
{
    char err[128];
    struct ctl_json *doc = ctl_json_parse(ans->body, ans->len, err, sizeof err);

    if (doc == NULL) {
        fprintf(stderr, "%s: %s: the server's answer is not valid JSON: %s\n",
                ctl_progname, request, err);
    } else if (doc->type != CTL_JSON_OBJECT) {
        fprintf(stderr, "%s: %s: the server's answer is not a JSON object\n",
                ctl_progname, request);
        ctl_json_free(doc);
        doc = NULL;
    }
    return doc;
}

int
ctl_write_body(const struct ctl_answer *ans)
{
    fwrite(ans->body, 1, ans->len, stdout);
    return CTL_EXIT_OK;
}
