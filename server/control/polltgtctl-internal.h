/* SPDX-License-Identifier: MIT */
/*
 * What the files of polltgtctl share, and nothing of the daemon.
 * polltgtctl.c parses the global options and dispatches through its
 * command table to one entry point per command file, ctl_cmd_<file>();
 * polltgtctl-client.c is the only file that touches the socket, so every
 * command gets the same deadlines, framing checks and messages.  The
 * stats file also reads the I/O totals that top turns into rates, so the
 * two views cannot disagree on what an "op" or a "latency" is.
 */
#ifndef POLLTGT_CONTROL_POLLTGTCTL_INTERNAL_H
#define POLLTGT_CONTROL_POLLTGTCTL_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/compiler.h"

struct ctl_json;

/* Exit statuses, as polltgtctl(8) documents them. */
#define CTL_EXIT_OK      0
#define CTL_EXIT_REFUSED 1 /* the server answered ERR */
#define CTL_EXIT_USAGE   2
#define CTL_EXIT_CONNECT 3 /* no connection, or no valid answer */

/* The global options, read by main before the command runs. */
struct ctl_opts {
    const char *socket;
    double timeout_s;
};

/* "polltgtctl", the start of every message. */
extern const char *const ctl_progname;

/* --- polltgtctl.c ------------------------------------------------------ */

/* Print "polltgtctl: <message>" and the hint to try help on stderr;
 * returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *fmt, ...) ATTR_FORMAT(1, 2);

/* --- polltgtctl-client.c: the status socket ---------------------------- */

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

/* Set by top's signal handler: every wait gives up at once. */
extern volatile sig_atomic_t ctl_quit;

/* The monotonic clock in seconds, for deadlines. */
double ctl_now(void);

/* Connect to the status socket; on failure print why and return -errno. */
int ctl_connect(struct ctl_conn *conn, const struct ctl_opts *o)
    ATTR_NONNULL(1, 2);
void ctl_close(struct ctl_conn *conn) ATTR_NONNULL(1);
/*
 * Send one request line and read its answer.  Returns 0 with *ans filled
 * in (free ans->body), or -1 after printing why (connection lost, timeout,
 * malformed framing).
 */
int ctl_request(struct ctl_conn *conn, const char *request,
                struct ctl_answer *ans) ATTR_NONNULL(1, 2, 3);
/* Print an ERR answer as the server worded it. */
void ctl_print_refusal(const struct ctl_answer *ans) ATTR_NONNULL(1);
/*
 * One request on a fresh connection: 0 with *ans (OK), or the exit status
 * to return (the refusal or failure already printed).
 */
int ctl_ask(const struct ctl_opts *o, const char *request,
            struct ctl_answer *ans) ATTR_NONNULL(1, 2, 3);
/* Parse an answer as JSON; NULL after printing why. */
struct ctl_json *ctl_parse_answer(const char *request,
                                  const struct ctl_answer *ans)
    ATTR_NONNULL(1, 2);
/* Copy an answer's body to stdout as it came. */
int ctl_write_body(const struct ctl_answer *ans) ATTR_NONNULL(1);

/* --- polltgtctl-stats.c: stats, iothreads, exports, connections -------- */

#define CTL_NOPS 7 /* read write flush trim zero block_status cache */

/* The I/O totals of an "io" object: every operation, and the mean
 * latency of those that succeeded. */
struct ctl_io {
    double ops[CTL_NOPS];
    double errors, total, lat_s, done;
    double bytes_read, bytes_written, inflight;
};

/* Read io (NULL reads as all zero) into *out. */
void ctl_io_read(const struct ctl_json *io, struct ctl_io *out)
    ATTR_NONNULL(2);
/* These write into buf (CTL_FMT_LEN bytes) and return it; "-" when there
 * is nothing to average. */
const char *ctl_mean_latency(char *buf, double lat_s, double n)
    ATTR_NONNULL(1);
const char *ctl_hit_rate(char *buf, double hits, double misses)
    ATTR_NONNULL(1);
/* The poll window of an iothreads entry: a duration, or "busy". */
const char *ctl_window(char *buf, const struct ctl_json *t) ATTR_NONNULL(1);
/* A thread's max-ns in force, "262µs auto" when sized from the wake-up
 * cost; and that measured cost ("-" when not measured). */
const char *ctl_max_ns(char *buf, const struct ctl_json *t) ATTR_NONNULL(1, 2);
const char *ctl_wakeup(char *buf, const struct ctl_json *t) ATTR_NONNULL(1, 2);
/* The number of elements of the array what in doc, 0 if there is none. */
size_t ctl_count(const struct ctl_json *doc, const char *what);

int ctl_cmd_stats(const struct ctl_opts *o, int argc, char **argv);

/* --- polltgtctl-metrics.c, -set.c (set and reload), -top.c ------------- */

int ctl_cmd_metrics(const struct ctl_opts *o, int argc, char **argv);
int ctl_cmd_set(const struct ctl_opts *o, int argc, char **argv);
int ctl_cmd_top(const struct ctl_opts *o, int argc, char **argv);

#endif /* POLLTGT_CONTROL_POLLTGTCTL_INTERNAL_H */
