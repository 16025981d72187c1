/* SPDX-License-Identifier: MIT */
/*
 * polltgtctl stats, iothreads, exports and connections: one JSON document
 * each, printed as aligned tables or, with --json, passed through as the
 * server wrote it.  The four share the readers of the document (an "io"
 * object's totals, a thread's poll window), and top uses them too, so its
 * rates are differences of the very totals these tables show.
 */
#include <config.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/polltgtctl-internal.h"
#include "control/polltgtctl-json.h"
#include "control/polltgtctl-table.h"

/* --- The document ----------------------------------------------------- */

static const char *const ctl_ops[] = {
    "read", "write", "flush", "trim", "zero", "block_status", "cache",
};
_Static_assert(ARRAY_SIZE(ctl_ops) == CTL_NOPS,
               "CTL_NOPS counts the operations of ctl_ops");

void
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

const char *
ctl_mean_latency(char *buf, double lat_s, double n)
{
    if (n <= 0) {
        snprintf(buf, CTL_FMT_LEN, "-");
        return buf;
    }
    return ctl_fmt_ns(buf, lat_s / n * 1e9);
}

const char *
ctl_hit_rate(char *buf, double hits, double misses)
{
    if (hits + misses <= 0) {
        snprintf(buf, CTL_FMT_LEN, "-");
        return buf;
    }
    return ctl_fmt_pct(buf, hits / (hits + misses));
}

const char *
ctl_window(char *buf, const struct ctl_json *t)
{
    if (ctl_json_bool(t, "poll_unbounded", false)) {
        snprintf(buf, CTL_FMT_LEN, "busy");
        return buf;
    }
    return ctl_fmt_ns(buf, ctl_json_num(t, "poll_ns", 0));
}

const char *
ctl_max_ns(char *buf, const struct ctl_json *t)
{
    size_t n = strlen(ctl_fmt_ns(buf, ctl_json_num(t, "params.max_ns", 0)));

    if (ctl_json_bool(t, "params.max_ns_auto", false) && n < CTL_FMT_LEN) {
        snprintf(buf + n, CTL_FMT_LEN - n, " auto");
    }
    return buf;
}

const char *
ctl_wakeup(char *buf, const struct ctl_json *t)
{
    double ns = ctl_json_num(t, "wakeup.cost_ns", 0);

    if (ns <= 0 && ctl_json_num(t, "wakeup.spinning_ns", 0) <= 0) {
        snprintf(buf, CTL_FMT_LEN, "-"); /* not measured */
        return buf;
    }
    return ctl_fmt_ns(buf, ns);
}

size_t
ctl_count(const struct ctl_json *doc, const char *what)
{
    const struct ctl_json *v = ctl_json_get(doc, what);

    return v && v->type == CTL_JSON_ARRAY ? v->n : 0;
}

/* --- Tables ----------------------------------------------------------- */

static int
ctl_table_done(struct ctl_table *t)
{
    int r = ctl_table_print(t, stdout);

    ctl_table_free(t);
    if (r < 0) {
        fprintf(stderr, "%s: out of memory\n", ctl_progname);
        return CTL_EXIT_REFUSED;
    }
    return CTL_EXIT_OK;
}

static int
ctl_print_iothreads(const struct ctl_json *doc)
{
    static const char *const heads[] = {
        "ID", "CPU", "POLICY", "WINDOW", "MAX-NS", "WAKE-UP", "HIT-RATE",
        "ITERATIONS", "BLOCKING", "GROWS", "SHRINKS", "CPU-TIME", "CONNS",
    };
    const struct ctl_json *list = ctl_json_get(doc, "iothreads");
    struct ctl_table t;
    char a[CTL_FMT_LEN], b[CTL_FMT_LEN], c[CTL_FMT_LEN], d[CTL_FMT_LEN];
    char e[CTL_FMT_LEN], f[CTL_FMT_LEN], g[CTL_FMT_LEN], h[CTL_FMT_LEN];
    char i[CTL_FMT_LEN];

    ctl_table_init(&t, 13, heads, "rrllrrrrrrrrr");
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
        ctl_table_cell(&t, "%s", ctl_max_ns(b, it));
        ctl_table_cell(&t, "%s", ctl_wakeup(i, it));
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

/* --- The command ---------------------------------------------------- */

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

/* stats, iothreads, exports, connections: tables or the raw document. */
int
ctl_cmd_stats(const struct ctl_opts *o, int argc, char **argv)
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
