/* SPDX-License-Identifier: MIT */
/*
 * polltgtctl: the command-line client of polltgtd's status socket.
 *
 * It speaks the protocol of control-protocol.h (one request line, one
 * framed "OK|ERR <length>" answer) and turns the JSON documents into
 * tables, or into a top(1)-like view of rates computed from two snapshots.
 * It links none of the daemon: only the protocol header, the string
 * buffer, and a JSON reader of its own (polltgtctl-json.c), so it runs on
 * any host that can reach the socket.
 *
 * Every wait is bounded: connect, send and receive share one deadline per
 * request (-t, 10 s by default), so a stuck or hostile server makes
 * polltgtctl fail with a message, never hang.  Exit status: 0 done, 1 the
 * server answered ERR, 2 usage error, 3 cannot connect or no valid answer.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "control/control-protocol.h"
#include "control/polltgtctl-json.h"
#include "control/polltgtctl-table.h"
#include "util/strbuf.h"

#define CTL_EXIT_OK      0
#define CTL_EXIT_REFUSED 1 /* the server answered ERR */
#define CTL_EXIT_USAGE   2
#define CTL_EXIT_CONNECT 3 /* no connection, or no valid answer */

/* Long enough for a `stats` of thousands of connections on a loaded
 * server, short enough that a script notices a hung daemon. */
#define CTL_DEFAULT_TIMEOUT_S 10.0
/* A sanity bound on an answer: `stats` of 10000 connections is ~40 MiB. */
#define CTL_MAX_ANSWER (1u << 30)
/* "ERR 18446744073709551615\n" fits with room to spare. */
#define CTL_MAX_HEADER 64

static const char *progname = "polltgtctl";

struct ctl_opts {
    const char *socket;
    double timeout_s;
};

struct ctl_conn {
    int fd;
    const char *path;
    double timeout_s;
    char buf[4096]; /* bytes received beyond the last answer */
    size_t off, len;
};

struct ctl_answer {
    bool ok;
    char *body; /* NUL-terminated for convenience; len excludes it */
    size_t len;
};

/* --- Time and signals ------------------------------------------------- */

static volatile sig_atomic_t ctl_quit;

static void
ctl_on_signal(int sig)
{
    (void)sig;
    ctl_quit = 1;
}

static double
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
            progname, progname, CONTROL_DEFAULT_SOCKET);
    (void)path;
}

/* Connect to the status socket; on failure print why and return -errno. */
static int
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
                "(at most %zu bytes)\n", progname, o->socket,
                strerror(ENAMETOOLONG), sizeof sun.sun_path - 1);
        return -ENAMETOOLONG;
    }
    strcpy(sun.sun_path, o->socket);
    conn->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (conn->fd < 0) {
        err = errno;
        fprintf(stderr, "%s: socket: %s\n", progname, strerror(err));
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
                progname, o->socket, strerror(err));
        if (err == ENOENT || err == ECONNREFUSED || err == ENOTSOCK) {
            ctl_connect_hint(o->socket);
        }
        close(conn->fd);
        conn->fd = -1;
        return -err;
    }
    return 0;
}

static void
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
                "within %g s\n", progname, what, conn->path, conn->timeout_s);
    } else if (err == -EINTR) {
        return; /* top quits on a signal */
    } else if (err == 0) {
        fprintf(stderr, "%s: %s: the server closed the connection on '%s' "
                "before answering\n", progname, what, conn->path);
    } else {
        fprintf(stderr, "%s: %s: %s: %s\n", progname, what, conn->path,
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
static int
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
                    "\"OK <length>\" or \"ERR <length>\"\n", progname, request,
                    conn->path);
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
                "\"OK <length>\" or \"ERR <length>\": \"%.40s\"\n", progname,
                request, conn->path, header);
        return -1;
    }
    ans->len = (size_t)len;
    ans->body = malloc(ans->len + 1);
    if (ans->body == NULL) {
        fprintf(stderr, "%s: %s: out of memory for an answer of %zu bytes\n",
                progname, request, ans->len);
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
                    "after %zu of %zu bytes\n", progname, request, conn->path,
                    got, ans->len);
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
static void
ctl_print_refusal(const struct ctl_answer *ans)
{
    fprintf(stderr, "%s: ", progname);
    fwrite(ans->body, 1, ans->len, stderr);
    if (ans->len == 0 || ans->body[ans->len - 1] != '\n') {
        fputc('\n', stderr);
    }
}

/*
 * One request on a fresh connection: 0 with *ans (OK), or the exit status
 * to return (the refusal or failure already printed).
 */
static int
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
static struct ctl_json *
ctl_parse_answer(const char *request, const struct ctl_answer *ans)
{
    char err[128];
    struct ctl_json *doc = ctl_json_parse(ans->body, ans->len, err, sizeof err);

    if (doc == NULL) {
        fprintf(stderr, "%s: %s: the server's answer is not valid JSON: %s\n",
                progname, request, err);
    } else if (doc->type != CTL_JSON_OBJECT) {
        fprintf(stderr, "%s: %s: the server's answer is not a JSON object\n",
                progname, request);
        ctl_json_free(doc);
        doc = NULL;
    }
    return doc;
}

/* --- Tables ----------------------------------------------------------- */

static const char *const ctl_ops[] = {
    "read", "write", "flush", "trim", "zero", "block_status", "cache",
};
#define CTL_NOPS (sizeof ctl_ops / sizeof ctl_ops[0])

/* The I/O totals of an "io" object: every operation, and the mean
 * latency of those that succeeded. */
struct ctl_io {
    double ops[CTL_NOPS];
    double errors, total, lat_s, done;
    double bytes_read, bytes_written, inflight;
};

static void
ctl_io_read(const struct ctl_json *io, struct ctl_io *out)
{
    char path[64];

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < CTL_NOPS; i++) {
        double errors;

        snprintf(path, sizeof path, "ops.%s.count", ctl_ops[i]);
        out->ops[i] = (double)ctl_json_u64(io, path, 0);
        snprintf(path, sizeof path, "ops.%s.errors", ctl_ops[i]);
        errors = (double)ctl_json_u64(io, path, 0);
        snprintf(path, sizeof path, "ops.%s.latency_sum_s", ctl_ops[i]);
        out->lat_s += ctl_json_num(io, path, 0);
        out->total += out->ops[i];
        out->errors += errors;
        out->done += out->ops[i] - errors; /* the latency is of these */
    }
    out->bytes_read = (double)ctl_json_u64(io, "bytes_read", 0);
    out->bytes_written = (double)ctl_json_u64(io, "bytes_written", 0);
    out->inflight = ctl_json_num(io, "inflight", 0);
}

static const char *
ctl_mean_latency(char *buf, double lat_s, double n)
{
    if (n <= 0) {
        snprintf(buf, CTL_FMT_LEN, "-");
        return buf;
    }
    return ctl_fmt_ns(buf, lat_s / n * 1e9);
}

static const char *
ctl_hit_rate(char *buf, double hits, double misses)
{
    if (hits + misses <= 0) {
        snprintf(buf, CTL_FMT_LEN, "-");
        return buf;
    }
    return ctl_fmt_pct(buf, hits / (hits + misses));
}

static const char *
ctl_window(char *buf, const struct ctl_json *t)
{
    if (ctl_json_bool(t, "poll_unbounded", false)) {
        snprintf(buf, CTL_FMT_LEN, "busy");
        return buf;
    }
    return ctl_fmt_ns(buf, ctl_json_num(t, "poll_ns", 0));
}

static int
ctl_table_done(struct ctl_table *t)
{
    int r = ctl_table_print(t, stdout);

    ctl_table_free(t);
    if (r < 0) {
        fprintf(stderr, "%s: out of memory\n", progname);
        return CTL_EXIT_REFUSED;
    }
    return CTL_EXIT_OK;
}

static int
ctl_print_iothreads(const struct ctl_json *doc)
{
    static const char *const heads[] = {
        "ID", "CPU", "POLICY", "WINDOW", "MAX-NS", "HIT-RATE", "ITERATIONS",
        "BLOCKING", "GROWS", "SHRINKS", "CPU-TIME", "CONNS",
    };
    const struct ctl_json *list = ctl_json_get(doc, "iothreads");
    struct ctl_table t;
    char a[CTL_FMT_LEN], b[CTL_FMT_LEN], c[CTL_FMT_LEN], d[CTL_FMT_LEN];
    char e[CTL_FMT_LEN], f[CTL_FMT_LEN], g[CTL_FMT_LEN], h[CTL_FMT_LEN];

    ctl_table_init(&t, 12, heads, "rrllrrrrrrrr");
    for (const struct ctl_json *it = list ? list->child : NULL; it;
         it = it->next) {
        double cpu = ctl_json_num(it, "cpu", -1);
        double hits = (double)ctl_json_u64(it, "poll_hits", 0);
        double misses = (double)ctl_json_u64(it, "poll_misses", 0);

        ctl_table_cell(&t, "%.0f", ctl_json_num(it, "id", 0));
        if (cpu < 0) {
            ctl_table_cell(&t, "-");
        } else {
            ctl_table_cell(&t, "%.0f", cpu);
        }
        ctl_table_cell(&t, "%s", ctl_json_str(it, "policy", "?"));
        ctl_table_cell(&t, "%s", ctl_window(a, it));
        ctl_table_cell(&t, "%s",
                       ctl_fmt_ns(b, ctl_json_num(it, "params.max_ns", 0)));
        ctl_table_cell(&t, "%s", ctl_hit_rate(c, hits, misses));
        ctl_table_cell(&t, "%s", ctl_fmt_count(
                                     d, (double)ctl_json_u64(it, "iterations",
                                                             0)));
        ctl_table_cell(&t, "%s", ctl_fmt_count(
                                     e, (double)ctl_json_u64(it,
                                                             "blocking_waits",
                                                             0)));
        ctl_table_cell(&t, "%s",
                       ctl_fmt_count(f, (double)ctl_json_u64(it, "grows", 0)));
        ctl_table_cell(&t, "%s", ctl_fmt_count(
                                     g, (double)ctl_json_u64(it, "shrinks",
                                                             0)));
        ctl_table_cell(&t, "%s", ctl_fmt_ns(h, ctl_json_num(it, "cpu_ns", 0)));
        ctl_table_cell(&t, "%.0f", ctl_json_num(it, "connections", 0));
    }
    return ctl_table_done(&t);
}

static int
ctl_print_exports(const struct ctl_json *doc)
{
    static const char *const heads[] = {
        "EXPORT", "BACKEND", "SIZE", "READS", "WRITES", "FLUSHES", "TRIMS",
        "ZEROES", "READ", "WRITTEN", "ERRORS", "INFLIGHT", "LATENCY",
    };
    const struct ctl_json *list = ctl_json_get(doc, "exports");
    struct ctl_table t;
    char a[CTL_FMT_LEN], b[CTL_FMT_LEN], c[CTL_FMT_LEN], d[CTL_FMT_LEN];
    char e[CTL_FMT_LEN], f[CTL_FMT_LEN], g[CTL_FMT_LEN], h[CTL_FMT_LEN];
    char i[CTL_FMT_LEN], j[CTL_FMT_LEN];

    ctl_table_init(&t, 13, heads, "llrrrrrrrrrrr");
    for (const struct ctl_json *it = list ? list->child : NULL; it;
         it = it->next) {
        struct ctl_io io;

        ctl_io_read(ctl_json_get(it, "io"), &io);
        ctl_table_cell(&t, "%s%s", ctl_json_str(it, "name", "?"),
                       ctl_json_bool(it, "readonly", false) ? " (ro)" : "");
        ctl_table_cell(&t, "%s", ctl_json_str(it, "backend", "?"));
        ctl_table_cell(&t, "%s",
                       ctl_fmt_bytes(a, (double)ctl_json_u64(it, "size", 0)));
        ctl_table_cell(&t, "%s", ctl_fmt_count(b, io.ops[0]));
        ctl_table_cell(&t, "%s", ctl_fmt_count(c, io.ops[1]));
        ctl_table_cell(&t, "%s", ctl_fmt_count(d, io.ops[2]));
        ctl_table_cell(&t, "%s", ctl_fmt_count(e, io.ops[3]));
        ctl_table_cell(&t, "%s", ctl_fmt_count(f, io.ops[4]));
        ctl_table_cell(&t, "%s", ctl_fmt_bytes(g, io.bytes_read));
        ctl_table_cell(&t, "%s", ctl_fmt_bytes(h, io.bytes_written));
        ctl_table_cell(&t, "%s", ctl_fmt_count(i, io.errors));
        ctl_table_cell(&t, "%.0f", io.inflight);
        ctl_table_cell(&t, "%s", ctl_mean_latency(j, io.lat_s, io.done));
    }
    return ctl_table_done(&t);
}

static int
ctl_print_connections(const struct ctl_json *doc)
{
    static const char *const heads[] = {
        "PEER", "PROTO", "EXPORT", "IOTHREAD", "AGE", "OPS", "READ",
        "WRITTEN", "INFLIGHT", "LATENCY",
    };
    const struct ctl_json *list = ctl_json_get(doc, "connections");
    struct ctl_table t;
    char a[CTL_FMT_LEN], b[CTL_FMT_LEN], c[CTL_FMT_LEN], d[CTL_FMT_LEN];
    char e[CTL_FMT_LEN];

    if (list == NULL || list->n == 0) {
        printf("(no connections)\n");
        return CTL_EXIT_OK;
    }
    ctl_table_init(&t, 10, heads, "lllrrrrrrr");
    for (const struct ctl_json *it = list->child; it; it = it->next) {
        struct ctl_io io;

        ctl_io_read(ctl_json_get(it, "io"), &io);
        ctl_table_cell(&t, "%s", ctl_json_str(it, "peer", "?"));
        ctl_table_cell(&t, "%s", ctl_json_str(it, "protocol", "?"));
        ctl_table_cell(&t, "%s", ctl_json_str(it, "export", "?"));
        ctl_table_cell(&t, "%.0f", ctl_json_num(it, "iothread", 0));
        ctl_table_cell(&t, "%s",
                       ctl_fmt_age(a, ctl_json_num(it, "connected_s", 0)));
        ctl_table_cell(&t, "%s", ctl_fmt_count(b, io.total));
        ctl_table_cell(&t, "%s", ctl_fmt_bytes(c, io.bytes_read));
        ctl_table_cell(&t, "%s", ctl_fmt_bytes(d, io.bytes_written));
        ctl_table_cell(&t, "%.0f", io.inflight);
        ctl_table_cell(&t, "%s", ctl_mean_latency(e, io.lat_s, io.done));
    }
    return ctl_table_done(&t);
}

static size_t
ctl_count(const struct ctl_json *doc, const char *what)
{
    const struct ctl_json *v = ctl_json_get(doc, what);

    return v && v->type == CTL_JSON_ARRAY ? v->n : 0;
}

static void
ctl_print_summary(const struct ctl_json *doc)
{
    char up[CTL_FMT_LEN];
    size_t nt = ctl_count(doc, "iothreads"), ne = ctl_count(doc, "exports");
    size_t nc = ctl_count(doc, "connections");

    printf("polltgtd %s, up %s: %zu I/O thread%s, %zu export%s, "
           "%zu connection%s\n",
           ctl_json_str(doc, "version", "?"),
           ctl_fmt_age(up, ctl_json_num(doc, "uptime_s", 0)),
           nt, nt == 1 ? "" : "s", ne, ne == 1 ? "" : "s",
           nc, nc == 1 ? "" : "s");
}

/* --- Commands --------------------------------------------------------- */

static void
ctl_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s [-s SOCKET] [-t SECONDS] COMMAND [ARGS]\n"
            "Query and tune a running polltgtd through its status socket.\n"
            "\n"
            "Commands:\n"
            "  stats [--json]            I/O threads, exports and connections\n"
            "  iothreads [--json]        I/O threads and their polling loops\n"
            "  exports [--json]          exports and their I/O counters\n"
            "  connections [--json]      client connections\n"
            "  top [-d SECONDS] [-n N]   rates, refreshed every SECONDS (1)\n"
            "  metrics                   Prometheus text exposition format\n"
            "  set ID|all KEY VALUE      change a poll tunable of an I/O "
            "thread\n"
            "                            (policy, max-ns, grow, shrink, "
            "weight,\n"
            "                            idle-timeout-ms), as in polltgt.ini\n"
            "  reload                    re-read the configuration file\n"
            "  version                   versions of polltgtctl and polltgtd\n"
            "  help                      this text\n"
            "\n"
            "Options:\n"
            "  -s, --socket=SOCKET       the status socket (default: "
            "$POLLTGT_SOCKET,\n"
            "                            else %s in this directory)\n"
            "  -t, --timeout=SECONDS     give up on a silent server (default "
            "%g)\n"
            "  -h, --help                this text\n"
            "  -V, --version             the version of polltgtctl\n"
            "\n"
            "Exit status: 0 done, 1 refused by the server, 2 usage error,\n"
            "3 cannot connect or no valid answer.  See polltgtctl(8).\n",
            progname, CONTROL_DEFAULT_SOCKET, CTL_DEFAULT_TIMEOUT_S);
}

static int
ctl_usage_error(const char *fmt, ...) ATTR_FORMAT(1, 2);

static int
ctl_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s help'.\n", progname);
    return CTL_EXIT_USAGE;
}

/* Parse "--json" (or "-j") as the only argument of a JSON command. */
static int
ctl_json_flag(int argc, char **argv, bool *json)
{
    *json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0) {
            *json = true;
        } else {
            return ctl_usage_error("unexpected argument '%s'", argv[i]);
        }
    }
    return CTL_EXIT_OK;
}

static int
ctl_write_body(const struct ctl_answer *ans)
{
    fwrite(ans->body, 1, ans->len, stdout);
    return CTL_EXIT_OK;
}

static int
ctl_cmd_help(const struct ctl_opts *o, int argc, char **argv)
{
    ctl_usage(stdout);
    return CTL_EXIT_OK;
}

static int
ctl_cmd_version(const struct ctl_opts *o, int argc, char **argv)
{
    struct ctl_answer ans;
    int r;

    if (argc > 1) {
        return ctl_usage_error("unexpected argument '%s'", argv[1]);
    }
    printf("polltgtctl %s\n", PACKAGE_VERSION);
    fflush(stdout);
    r = ctl_ask(o, "version", &ans);
    if (r == CTL_EXIT_OK) {
        printf("polltgtd: %s", ans.body);
        free(ans.body);
    }
    return r;
}

/* stats, iothreads, exports, connections: tables or the raw document. */
static int
ctl_cmd_document(const struct ctl_opts *o, int argc, char **argv)
{
    const char *cmd = argv[0];
    struct ctl_answer ans;
    struct ctl_json *doc;
    bool json;
    int r = ctl_json_flag(argc, argv, &json);

    if (r != CTL_EXIT_OK) {
        return r;
    }
    r = ctl_ask(o, cmd, &ans);
    if (r != CTL_EXIT_OK) {
        return r;
    }
    if (json) {
        r = ctl_write_body(&ans);
        free(ans.body);
        return r;
    }
    doc = ctl_parse_answer(cmd, &ans);
    free(ans.body);
    if (doc == NULL) {
        return CTL_EXIT_CONNECT;
    }
    if (strcmp(cmd, "stats") == 0) {
        ctl_print_summary(doc);
        printf("\nI/O THREADS\n");
        r = ctl_print_iothreads(doc);
        printf("\nEXPORTS\n");
        r = r ? r : ctl_print_exports(doc);
        printf("\nCONNECTIONS\n");
        r = r ? r : ctl_print_connections(doc);
    } else if (strcmp(cmd, "iothreads") == 0) {
        r = ctl_print_iothreads(doc);
    } else if (strcmp(cmd, "exports") == 0) {
        r = ctl_print_exports(doc);
    } else {
        r = ctl_print_connections(doc);
    }
    ctl_json_free(doc);
    return r;
}

static int
ctl_cmd_metrics(const struct ctl_opts *o, int argc, char **argv)
{
    struct ctl_answer ans;
    int r;

    if (argc > 1) {
        return ctl_usage_error("unexpected argument '%s'", argv[1]);
    }
    r = ctl_ask(o, "metrics", &ans);
    if (r == CTL_EXIT_OK) {
        r = ctl_write_body(&ans);
        free(ans.body);
    }
    return r;
}

/* set and reload: the server's one-line answer on stdout. */
static int
ctl_cmd_message(const struct ctl_opts *o, int argc, char **argv)
{
    struct strbuf req;
    struct ctl_answer ans;
    int r;

    if (strcmp(argv[0], "set") == 0 && argc < 4) {
        return ctl_usage_error("%s: expected set ID|all KEY VALUE", "set");
    }
    if (strcmp(argv[0], "reload") == 0 && argc > 1) {
        return ctl_usage_error("unexpected argument '%s'", argv[1]);
    }
    strbuf_init(&req);
    for (int i = 0; i < argc; i++) {
        if (argv[i][strcspn(argv[i], "\r\n")] != '\0') {
            strbuf_free(&req);
            return ctl_usage_error("%s: an argument has a line break",
                                   argv[0]);
        }
        strbuf_printf(&req, "%s%s", i ? " " : "", argv[i]);
    }
    if (strbuf_failed(&req) || req.len >= CONTROL_MAX_REQUEST) {
        strbuf_free(&req);
        return ctl_usage_error("%s: the request is too long", argv[0]);
    }
    r = ctl_ask(o, req.s, &ans);
    strbuf_free(&req);
    if (r == CTL_EXIT_OK) {
        r = ctl_write_body(&ans);
        free(ans.body);
    }
    return r;
}

/* --- top -------------------------------------------------------------- */

struct ctl_top {
    struct ctl_conn conn;
    bool tty;           /* stdout is a terminal: redraw in place */
    bool keys;          /* stdin is a terminal in raw mode: q quits */
    struct termios saved;
};

static struct ctl_top *ctl_top_active; /* for the exit handler */

static void
ctl_top_restore(void)
{
    if (ctl_top_active && ctl_top_active->keys) {
        tcsetattr(STDIN_FILENO, TCSANOW, &ctl_top_active->saved);
        ctl_top_active->keys = false;
    }
}

/* Has a connection of cur also been in prev?  Peers of Unix sockets all
 * read "unix", so the start time (timestamp - connected_s) tells apart
 * connections of the same peer and export; each of prev is used once. */
static const struct ctl_json *
ctl_top_match_conn(const struct ctl_json *prev_doc, const struct ctl_json *c,
                   double cur_ts, bool *used, size_t nused)
{
    const struct ctl_json *list = ctl_json_get(prev_doc, "connections");
    double prev_ts = ctl_json_num(prev_doc, "timestamp", 0);
    double start = cur_ts - ctl_json_num(c, "connected_s", 0);
    size_t i = 0;

    for (const struct ctl_json *p = list ? list->child : NULL;
         p && i < nused; p = p->next, i++) {
        double pstart = prev_ts - ctl_json_num(p, "connected_s", 0);

        if (used[i] || fabs(pstart - start) > 1.0 ||
            strcmp(ctl_json_str(p, "peer", ""), ctl_json_str(c, "peer", "")) ||
            strcmp(ctl_json_str(p, "export", ""),
                   ctl_json_str(c, "export", "")) ||
            strcmp(ctl_json_str(p, "protocol", ""),
                   ctl_json_str(c, "protocol", ""))) {
            continue;
        }
        used[i] = true;
        return p;
    }
    return NULL;
}

static double
ctl_top_delta(const struct ctl_json *cur, const struct ctl_json *prev,
              const char *path)
{
    double a = (double)ctl_json_u64(cur, path, 0);
    double b = prev ? (double)ctl_json_u64(prev, path, 0) : 0;

    return a > b ? a - b : 0; /* counters restart with the server */
}

static const struct ctl_json *
ctl_top_find(const struct ctl_json *doc, const char *list_name,
             const char *key, const struct ctl_json *like)
{
    const struct ctl_json *list = ctl_json_get(doc, list_name);
    const struct ctl_json *want = ctl_json_get(like, key);

    for (const struct ctl_json *it = list ? list->child : NULL; it;
         it = it->next) {
        const struct ctl_json *v = ctl_json_get(it, key);

        if (v && want && v->type == want->type &&
            ((v->type == CTL_JSON_STRING && strcmp(v->str, want->str) == 0) ||
             (v->type == CTL_JSON_NUMBER && v->num == want->num))) {
            return it;
        }
    }
    return NULL;
}

/* Print one frame: rates between the snapshots prev and cur. */
static void
ctl_top_frame(struct ctl_top *top, const struct ctl_json *prev,
              const struct ctl_json *cur)
{
    static const char *const theads[] = {
        "ID", "POLICY", "WINDOW", "MAX-NS", "HIT-RATE", "CPU%", "ITER/S",
        "WAITS/S", "IOPS", "MiB/s", "CONNS",
    };
    static const char *const eheads[] = {
        "EXPORT", "IOPS", "READ/S", "WRITE/S", "MiB/s", "LATENCY", "INFLIGHT",
        "ERRORS/S",
    };
    double dt = ctl_json_num(cur, "uptime_s", 0) -
                ctl_json_num(prev, "uptime_s", 0);
    double cur_ts = ctl_json_num(cur, "timestamp", 0);
    const struct ctl_json *threads = ctl_json_get(cur, "iothreads");
    const struct ctl_json *conns = ctl_json_get(cur, "connections");
    size_t nthreads = ctl_count(cur, "iothreads");
    size_t nprev = ctl_count(prev, "connections");
    double *t_ops = calloc(nthreads + 1, sizeof *t_ops);
    double *t_bytes = calloc(nthreads + 1, sizeof *t_bytes);
    bool *used = calloc(nprev + 1, sizeof *used);
    char a[CTL_FMT_LEN], b[CTL_FMT_LEN], c[CTL_FMT_LEN], up[CTL_FMT_LEN];
    struct ctl_table t;

    if (t_ops == NULL || t_bytes == NULL || used == NULL) {
        nthreads = nprev = 0;
    }
    if (dt <= 0) {
        dt = 1e-9;
    }
    /* Per thread I/O: the connections it serves, over the interval (the
     * I/O of a connection that closed within it is not seen). */
    for (const struct ctl_json *it = conns ? conns->child : NULL;
         it && nthreads; it = it->next) {
        const struct ctl_json *p = used
            ? ctl_top_match_conn(prev, it, cur_ts, used, nprev) : NULL;
        const struct ctl_json *io = ctl_json_get(it, "io");
        const struct ctl_json *pio = p ? ctl_json_get(p, "io") : NULL;
        double id = ctl_json_num(it, "iothread", -1);
        struct ctl_io x, y;

        if (id < 0 || id >= (double)nthreads) {
            continue;
        }
        ctl_io_read(io, &x);
        if (pio) {
            ctl_io_read(pio, &y);
        } else {
            memset(&y, 0, sizeof y);
        }
        t_ops[(size_t)id] += x.total > y.total ? x.total - y.total : 0;
        t_bytes[(size_t)id] += (x.bytes_read + x.bytes_written) -
                               (y.bytes_read + y.bytes_written);
    }

    if (top->tty) {
        fputs("\033[H\033[2J", stdout);
    }
    printf("polltgtd %s on %s, up %s: %zu I/O thread%s, %zu export%s, "
           "%zu connection%s; every %.2fs%s\n\n",
           ctl_json_str(cur, "version", "?"), top->conn.path,
           ctl_fmt_age(up, ctl_json_num(cur, "uptime_s", 0)),
           nthreads, nthreads == 1 ? "" : "s",
           ctl_count(cur, "exports"), ctl_count(cur, "exports") == 1 ? "" : "s",
           ctl_count(cur, "connections"),
           ctl_count(cur, "connections") == 1 ? "" : "s", dt,
           top->keys ? " (q quits)" : "");

    ctl_table_init(&t, 11, theads, "rllrrrrrrrr");
    for (const struct ctl_json *it = threads ? threads->child : NULL; it;
         it = it->next) {
        const struct ctl_json *p = ctl_top_find(prev, "iothreads", "id", it);
        double id = ctl_json_num(it, "id", 0);
        double hits = ctl_top_delta(it, p, "poll_hits");
        double misses = ctl_top_delta(it, p, "poll_misses");
        double cpu = ctl_json_num(it, "cpu_ns", 0) -
                     (p ? ctl_json_num(p, "cpu_ns", 0) : 0);
        size_t i = id >= 0 && id < (double)nthreads ? (size_t)id : nthreads;

        ctl_table_cell(&t, "%.0f", id);
        ctl_table_cell(&t, "%s", ctl_json_str(it, "policy", "?"));
        ctl_table_cell(&t, "%s", ctl_window(a, it));
        ctl_table_cell(&t, "%s",
                       ctl_fmt_ns(b, ctl_json_num(it, "params.max_ns", 0)));
        ctl_table_cell(&t, "%s", ctl_hit_rate(c, hits, misses));
        ctl_table_cell(&t, "%.1f", cpu > 0 ? cpu / (dt * 1e9) * 100 : 0.0);
        ctl_table_cell(&t, "%.0f", ctl_top_delta(it, p, "iterations") / dt);
        ctl_table_cell(&t, "%.0f", ctl_top_delta(it, p, "blocking_waits") / dt);
        if (ctl_json_get(it, "io")) {
            /* A server that counts I/O per thread: exact, including
             * connections that closed during the interval. */
            struct ctl_io x, y;

            ctl_io_read(ctl_json_get(it, "io"), &x);
            ctl_io_read(p ? ctl_json_get(p, "io") : NULL, &y);
            ctl_table_cell(&t, "%.0f", (x.total - y.total) / dt);
            ctl_table_cell(&t, "%.1f", (x.bytes_read + x.bytes_written -
                                        y.bytes_read - y.bytes_written) /
                                       dt / 1048576.0);
        } else {
            ctl_table_cell(&t, "%.0f", i < nthreads ? t_ops[i] / dt : 0.0);
            ctl_table_cell(&t, "%.1f",
                           i < nthreads ? t_bytes[i] / dt / 1048576.0 : 0.0);
        }
        ctl_table_cell(&t, "%.0f", ctl_json_num(it, "connections", 0));
    }
    ctl_table_print(&t, stdout);
    ctl_table_free(&t);
    putchar('\n');

    ctl_table_init(&t, 8, eheads, "lrrrrrrr");
    for (const struct ctl_json *it = ctl_json_get(cur, "exports")
                                     ? ctl_json_get(cur, "exports")->child
                                     : NULL;
         it; it = it->next) {
        const struct ctl_json *p = ctl_top_find(prev, "exports", "name", it);
        struct ctl_io x, y;

        ctl_io_read(ctl_json_get(it, "io"), &x);
        if (p) {
            ctl_io_read(ctl_json_get(p, "io"), &y);
        } else {
            memset(&y, 0, sizeof y);
        }
        ctl_table_cell(&t, "%s", ctl_json_str(it, "name", "?"));
        ctl_table_cell(&t, "%.0f", (x.total - y.total) / dt);
        ctl_table_cell(&t, "%.0f", (x.ops[0] - y.ops[0]) / dt);
        ctl_table_cell(&t, "%.0f", (x.ops[1] - y.ops[1]) / dt);
        ctl_table_cell(&t, "%.1f", (x.bytes_read + x.bytes_written -
                                    y.bytes_read - y.bytes_written) /
                                   dt / 1048576.0);
        ctl_table_cell(&t, "%s",
                       ctl_mean_latency(a, x.lat_s - y.lat_s, x.done - y.done));
        ctl_table_cell(&t, "%.0f", x.inflight);
        ctl_table_cell(&t, "%.0f", (x.errors - y.errors) / dt);
    }
    ctl_table_print(&t, stdout);
    ctl_table_free(&t);
    if (!top->tty) {
        putchar('\n');
    }
    fflush(stdout);
    free(t_ops);
    free(t_bytes);
    free(used);
}

/* Wait delay seconds, or until q is pressed or a signal arrives: true to
 * go on. */
static bool
ctl_top_sleep(struct ctl_top *top, double delay)
{
    double deadline = ctl_now() + delay;

    while (!ctl_quit) {
        double left = deadline - ctl_now();
        struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
        int r;

        if (left <= 0) {
            return true;
        }
        r = poll(&pfd, top->keys ? 1 : 0, (int)ceil(left * 1000));
        if (r > 0) {
            char ch;

            if (read(STDIN_FILENO, &ch, 1) != 1 || ch == 'q' || ch == 'Q') {
                return false;
            }
        }
    }
    return false;
}

static struct ctl_json *
ctl_top_snapshot(struct ctl_top *top, int *status)
{
    struct ctl_answer ans;
    struct ctl_json *doc;

    if (ctl_request(&top->conn, "stats", &ans) < 0) {
        *status = ctl_quit ? CTL_EXIT_OK : CTL_EXIT_CONNECT;
        return NULL;
    }
    if (!ans.ok) {
        ctl_print_refusal(&ans);
        free(ans.body);
        *status = CTL_EXIT_REFUSED;
        return NULL;
    }
    doc = ctl_parse_answer("stats", &ans);
    free(ans.body);
    if (doc == NULL) {
        *status = CTL_EXIT_CONNECT;
    }
    return doc;
}

static int
ctl_cmd_top(const struct ctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "delay", required_argument, NULL, 'd' },
        { "iterations", required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 },
    };
    struct ctl_top top = { .conn.fd = -1 };
    struct sigaction sa = { .sa_handler = ctl_on_signal };
    struct ctl_json *prev, *cur;
    double delay = 1.0;
    long frames = -1;
    int status = CTL_EXIT_OK;
    int c;

    opterr = 0;
    optind = 0; /* glibc: start over on the command's own arguments */
    while ((c = getopt_long(argc, argv, "+d:n:", longopts, NULL)) != -1) {
        char *end;

        switch (c) {
        case 'd':
            errno = 0;
            delay = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(delay >= 0.01) ||
                delay > 86400) {
                return ctl_usage_error("top: -d: invalid delay '%s': expected "
                                       "seconds from 0.01 to 86400", optarg);
            }
            break;
        case 'n':
            errno = 0;
            frames = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || frames < 1) {
                return ctl_usage_error("top: -n: invalid number of frames "
                                       "'%s': expected 1 or more", optarg);
            }
            break;
        default:
            return ctl_usage_error("top: unknown option or missing value "
                                   "'%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return ctl_usage_error("top: unexpected argument '%s'", argv[optind]);
    }

    if (ctl_connect(&top.conn, o) < 0) {
        return CTL_EXIT_CONNECT;
    }
    /* Ctrl-C and TERM end top cleanly, the terminal restored. */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    top.tty = isatty(STDOUT_FILENO);
    if (top.tty && isatty(STDIN_FILENO) &&
        tcgetattr(STDIN_FILENO, &top.saved) == 0) {
        struct termios raw = top.saved;

        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 1;
        raw.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
            top.keys = true;
            ctl_top_active = &top;
            atexit(ctl_top_restore);
        }
    }
    if (top.tty) {
        /* One write per frame: no flicker. */
        setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    }

    prev = ctl_top_snapshot(&top, &status);
    while (prev && frames != 0 && ctl_top_sleep(&top, delay)) {
        cur = ctl_top_snapshot(&top, &status);
        if (cur == NULL) {
            break;
        }
        ctl_top_frame(&top, prev, cur);
        ctl_json_free(prev);
        prev = cur;
        if (frames > 0) {
            frames--;
        }
    }
    ctl_json_free(prev);
    ctl_top_restore();
    ctl_close(&top.conn);
    return status;
}

/* --- main ------------------------------------------------------------- */

struct ctl_cmd {
    const char *name;
    int (*run)(const struct ctl_opts *o, int argc, char **argv);
};

static const struct ctl_cmd ctl_cmds[] = {
    { "help", ctl_cmd_help },
    { "version", ctl_cmd_version },
    { "stats", ctl_cmd_document },
    { "iothreads", ctl_cmd_document },
    { "exports", ctl_cmd_document },
    { "connections", ctl_cmd_document },
    { "metrics", ctl_cmd_metrics },
    { "set", ctl_cmd_message },
    { "reload", ctl_cmd_message },
    { "top", ctl_cmd_top },
};

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 's' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct ctl_opts o = { .timeout_s = CTL_DEFAULT_TIMEOUT_S };
    const char *env = getenv("POLLTGT_SOCKET");
    const char *codeset;
    int c, r;

    setlocale(LC_CTYPE, "");
    codeset = nl_langinfo(CODESET);
    ctl_fmt_set_utf8(codeset && strcmp(codeset, "UTF-8") == 0);

    o.socket = env && *env ? env : CONTROL_DEFAULT_SOCKET;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+s:t:hV", longopts, NULL)) != -1) {
        char *end;

        switch (c) {
        case 's':
            if (*optarg == '\0') {
                return ctl_usage_error("-s: the socket path is empty");
            }
            o.socket = optarg;
            break;
        case 't':
            errno = 0;
            o.timeout_s = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(o.timeout_s >= 0.1) ||
                o.timeout_s > 86400) {
                return ctl_usage_error("-t: invalid timeout '%s': expected "
                                       "seconds from 0.1 to 86400", optarg);
            }
            break;
        case 'h':
            ctl_usage(stdout);
            return CTL_EXIT_OK;
        case 'V':
            printf("polltgtctl %s\n", PACKAGE_VERSION);
            return CTL_EXIT_OK;
        default:
            if (optopt && strchr("st", optopt)) {
                return ctl_usage_error("option '%s' needs a value",
                                       argv[optind - 1]);
            }
            return ctl_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        return ctl_usage_error("no command given");
    }

    /* A reader that goes away (| head) is a write error, not a signal. */
    signal(SIGPIPE, SIG_IGN);

    for (size_t i = 0; i < sizeof ctl_cmds / sizeof ctl_cmds[0]; i++) {
        if (strcmp(argv[optind], ctl_cmds[i].name) == 0) {
            r = ctl_cmds[i].run(&o, argc - optind, argv + optind);
            if (fflush(stdout) != 0 || ferror(stdout)) {
                if (errno != EPIPE) {
                    fprintf(stderr, "%s: write error: %s\n", progname,
                            strerror(errno));
                }
                return r ? r : CTL_EXIT_REFUSED;
            }
            return r;
        }
    }
    return ctl_usage_error("unknown command '%s'", argv[optind]);
}
