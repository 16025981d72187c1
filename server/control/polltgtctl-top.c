/* SPDX-License-Identifier: MIT */
/*
 * polltgtctl top: a top(1)-like view of rates, each frame the difference
 * of two `stats` snapshots taken on one connection, divided by the
 * server's own uptime between them (not the client's clock, so a slow
 * answer does not inflate a rate).  Per-thread I/O comes from the
 * thread's own counters when the server has them, else from the
 * connections the thread serves.  On a terminal the frame is redrawn in
 * place and q quits; Ctrl-C and TERM end it with the terminal restored.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "control/polltgtctl-internal.h"
#include "control/polltgtctl-json.h"
#include "control/polltgtctl-table.h"

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

/* Ctrl-C and TERM: top leaves its loop at the next wait. */
static void
ctl_top_on_signal(int sig)
{
    (void)sig;
    ctl_quit = 1;
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
        "ID", "POLICY", "WINDOW", "MAX-NS", "WAKE-UP", "HIT-RATE", "CPU%",
        "ITER/S", "WAITS/S", "IOPS", "MiB/s", "CONNS",
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
    char w[CTL_FMT_LEN];
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

    ctl_table_init(&t, 12, theads, "rllrrrrrrrrr");
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
        ctl_table_cell(&t, "%s", ctl_max_ns(b, it));
        ctl_table_cell(&t, "%s", ctl_wakeup(w, it));
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

int
ctl_cmd_top(const struct ctl_opts *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "delay", required_argument, NULL, 'd' },
        { "iterations", required_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 },
    };
    struct ctl_top top = { .conn.fd = -1 };
    struct sigaction sa = { .sa_handler = ctl_top_on_signal };
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
