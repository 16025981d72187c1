/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition format 0.0.4.  Each metric family is written
 * once with its HELP and TYPE lines and then every labelled sample, as the
 * format requires (samples of one family must not be interleaved with
 * another's).  Time is in seconds, sizes in bytes, per the Prometheus
 * naming conventions; histograms are cumulative with _sum and _count.
 */
#include <config.h>

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "stats/report.h"

static void
prom_family(struct strbuf *b, const char *name, const char *type,
            const char *help)
{
    strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Per-thread loop metric, from an expression on the snapshot. */
#define PROM_THREADS(b, r, name, type, help, fmt, expr)                    \
    do {                                                                  \
        prom_family(b, name, type, help);                                 \
        for (size_t i_ = 0; i_ < (r)->nthreads; i_++) {                   \
            const struct stats_report_thread *t = &(r)->threads[i_];      \
            const struct aio_stats_snapshot *s = &t->loop;                \
            (void)s;                                                      \
            strbuf_printf(b, "%s{iothread=\"%u\"} " fmt "\n", name,       \
                          t->id, (expr));                                 \
        }                                                                 \
    } while (0)

static void
prom_io_labels(struct strbuf *b, const char *kind, const void *obj)
{
    if (kind[0] == 'e') {
        const struct stats_report_export *e = obj;

        strbuf_puts(b, "export=\"");
        strbuf_prom_label(b, e->name);
        strbuf_puts(b, "\"");
    } else {
        const struct stats_report_conn *c = obj;

        strbuf_puts(b, "connection=\"");
        strbuf_prom_label(b, c->peer);
        strbuf_printf(b, "\",protocol=\"%s\",iothread=\"%u\",export=\"",
                      c->protocol, c->iothread);
        strbuf_prom_label(b, c->export);
        strbuf_puts(b, "\"");
    }
}

static const struct stats_io_snapshot *
prom_io_of(const struct stats_report *r, const char *kind, size_t i)
{
    return kind[0] == 'e' ? &r->exports[i].io : &r->conns[i].io;
}

static const void *
prom_obj_of(const struct stats_report *r, const char *kind, size_t i)
{
    return kind[0] == 'e' ? (const void *)&r->exports[i]
                          : (const void *)&r->conns[i];
}

/* A per-operation counter family: the uint64_t[STATS_NOPS] at offset. */
static void
prom_io_per_op(struct strbuf *b, const struct stats_report *r, const char *kind,
               size_t n, const char *suffix, const char *help, size_t offset)
{
    char name[96];

    snprintf(name, sizeof name, "polltgt_%s_%s", kind, suffix);
    prom_family(b, name, "counter", help);
    for (size_t i = 0; i < n; i++) {
        const uint64_t *v =
            (const uint64_t *)((const char *)prom_io_of(r, kind, i) + offset);

        for (int op = 0; op < STATS_NOPS; op++) {
            strbuf_printf(b, "%s{", name);
            prom_io_labels(b, kind, prom_obj_of(r, kind, i));
            strbuf_printf(b, ",op=\"%s\"} %" PRIu64 "\n",
                          stats_op_name((enum stats_op)op), v[op]);
        }
    }
}

/* A family with one sample per export or connection: the 64-bit value at
 * offset (signed for gauges that a race may briefly take below zero). */
static void
prom_io_scalar(struct strbuf *b, const struct stats_report *r, const char *kind,
               size_t n, const char *suffix, const char *type, const char *help,
               size_t offset)
{
    char name[96];

    snprintf(name, sizeof name, "polltgt_%s_%s", kind, suffix);
    prom_family(b, name, type, help);
    for (size_t i = 0; i < n; i++) {
        int64_t v;

        memcpy(&v, (const char *)prom_io_of(r, kind, i) + offset, sizeof v);
        strbuf_printf(b, "%s{", name);
        prom_io_labels(b, kind, prom_obj_of(r, kind, i));
        if (type[0] == 'g') {
            strbuf_printf(b, "} %" PRId64 "\n", v);
        } else {
            strbuf_printf(b, "} %" PRIu64 "\n", (uint64_t)v);
        }
    }
}

/* The counters of the gateway exports (nbd, iscsi backends): one family
 * per field, one sample per such export. */
static void
prom_remote(struct strbuf *b, const struct stats_report *r)
{
    static const struct {
        const char *name, *type, *help;
        size_t offset;
        bool seconds;
    } fams[] = {
#define PROM_REMOTE(n, t, h, f, s) \
    { n, t, h, offsetof(struct backend_remote_stats, f), s }
        PROM_REMOTE("polltgt_remote_requests_total", "counter",
                    "Requests a gateway export completed, failed ones too.",
                    requests, false),
        PROM_REMOTE("polltgt_remote_errors_total", "counter",
                    "Requests a gateway export completed with an error.",
                    errors, false),
        PROM_REMOTE("polltgt_remote_timeouts_total", "counter",
                    "Requests or connects past request-timeout.", timeouts,
                    false),
        PROM_REMOTE("polltgt_remote_reconnects_total", "counter",
                    "Sessions with the remote re-established after a loss.",
                    reconnects, false),
        PROM_REMOTE("polltgt_remote_latency_seconds_sum", "counter",
                    "Time the remote took for the successful requests.",
                    latency_ns_sum, true),
        PROM_REMOTE("polltgt_remote_latency_seconds_count", "counter",
                    "Successful requests timed by the sum above.",
                    latency_count, false),
#undef PROM_REMOTE
    };

    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        bool any = false;

        for (size_t i = 0; i < r->nexports; i++) {
            const struct stats_report_export *e = &r->exports[i];
            uint64_t v;

            if (!e->has_remote) {
                continue;
            }
            if (!any) {
                prom_family(b, fams[f].name, fams[f].type, fams[f].help);
                any = true;
            }
            memcpy(&v, (const char *)&e->remote + fams[f].offset, sizeof v);
            strbuf_printf(b, "%s{export=\"", fams[f].name);
            strbuf_prom_label(b, e->name);
            if (fams[f].seconds) {
                strbuf_printf(b, "\"} %.9f\n", (double)v / 1e9);
            } else {
                strbuf_printf(b, "\"} %" PRIu64 "\n", v);
            }
        }
    }
    for (size_t i = 0, any = 0; i < r->nexports; i++) {
        const struct stats_report_export *e = &r->exports[i];

        if (!e->has_remote) {
            continue;
        }
        if (!any++) {
            prom_family(b, "polltgt_remote_connections", "gauge",
                        "I/O threads connected to the remote now.");
        }
        strbuf_puts(b, "polltgt_remote_connections{export=\"");
        strbuf_prom_label(b, e->name);
        strbuf_printf(b, "\"} %u\n", e->remote.connections);
    }
}

/* The I/O metric families of exports ("export") or connections
 * ("connection"). */
static void
prom_io(struct strbuf *b, const struct stats_report *r, const char *kind)
{
    bool exp = kind[0] == 'e';
    size_t n = exp ? r->nexports : r->nconns;
    char name[96];

#define PROM_IO_OBJ(i) prom_obj_of(r, kind, i)
#define PROM_IO_IO(i) prom_io_of(r, kind, i)

    prom_io_per_op(b, r, kind, n, "requests_total",
                   "Requests completed, by operation.",
                   offsetof(struct stats_io_snapshot, ops));
    prom_io_per_op(b, r, kind, n, "errors_total",
                   "Requests that failed, by operation.",
                   offsetof(struct stats_io_snapshot, errors));
    prom_io_scalar(b, r, kind, n, "read_bytes_total", "counter",
                   "Bytes read by clients.",
                   offsetof(struct stats_io_snapshot, bytes_read));
    prom_io_scalar(b, r, kind, n, "written_bytes_total", "counter",
                   "Bytes written by clients.",
                   offsetof(struct stats_io_snapshot, bytes_written));
    prom_io_scalar(b, r, kind, n, "inflight_requests", "gauge",
                   "Requests received and not yet answered.",
                   offsetof(struct stats_io_snapshot, inflight));
    snprintf(name, sizeof name, "polltgt_%s_request_duration_seconds", kind);
    prom_family(b, name, "histogram",
                "Time from receiving a request to its completion in the server.");
    for (size_t i = 0; i < n; i++) {
        const struct stats_io_snapshot *io = PROM_IO_IO(i);

        for (int op = 0; op < STATS_NOPS; op++) {
            uint64_t cum = 0;

            for (unsigned k = 0; k < STATS_LAT_BUCKETS; k++) {
                double le = stats_lat_bucket_le(k);

                cum += io->lat_hist[op][k];
                strbuf_printf(b, "%s_bucket{", name);
                prom_io_labels(b, kind, PROM_IO_OBJ(i));
                if (isinf(le)) {
                    strbuf_printf(b, ",op=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
                                  stats_op_name((enum stats_op)op), cum);
                } else {
                    strbuf_printf(b, ",op=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                                  stats_op_name((enum stats_op)op), le, cum);
                }
            }
            strbuf_printf(b, "%s_sum{", name);
            prom_io_labels(b, kind, PROM_IO_OBJ(i));
            strbuf_printf(b, ",op=\"%s\"} %.9f\n",
                          stats_op_name((enum stats_op)op),
                          io->lat_sum_ns[op] / 1e9);
            strbuf_printf(b, "%s_count{", name);
            prom_io_labels(b, kind, PROM_IO_OBJ(i));
            strbuf_printf(b, ",op=\"%s\"} %" PRIu64 "\n",
                          stats_op_name((enum stats_op)op), cum);
        }
    }
#undef PROM_IO_OBJ
#undef PROM_IO_IO
}

void
stats_format_prom(const struct stats_report *r, struct strbuf *b)
{
    prom_family(b, "polltgt_info", "gauge", "Version of polltgtd (always 1).");
    strbuf_printf(b, "polltgt_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
    prom_family(b, "polltgt_uptime_seconds", "gauge",
                "Seconds since polltgtd started.");
    strbuf_printf(b, "polltgt_uptime_seconds %.3f\n", r->uptime_s);

    prom_family(b, "polltgt_iothread_policy", "gauge",
                "The poll policy in force (always 1, the policy is a label).");
    for (size_t i = 0; i < r->nthreads; i++) {
        strbuf_printf(b, "polltgt_iothread_policy{iothread=\"%u\",policy=\"%s\"} 1\n",
                      r->threads[i].id, r->threads[i].loop.policy);
    }
    PROM_THREADS(b, r, "polltgt_iothread_poll_max_seconds", "gauge",
                 "The longest poll window in effect (max-ns).", "%.9f",
                 s->params.max_ns / 1e9);
    PROM_THREADS(b, r, "polltgt_iothread_poll_max_auto", "gauge",
                 "1 when max-ns is auto: sized from the measured wake-up cost.",
                 "%d", s->max_ns_auto ? 1 : 0);
    PROM_THREADS(b, r, "polltgt_iothread_wakeup_cost_seconds", "gauge",
                 "What a blocking wake-up costs this I/O thread, as measured "
                 "at start or reload (0: not measured).",
                 "%.9f", s->wake_cost_ns / 1e9);
    prom_family(b, "polltgt_iothread_poll_window_seconds", "gauge",
                "The current poll window (+Inf: busy polling).");
    for (size_t i = 0; i < r->nthreads; i++) {
        const struct stats_report_thread *t = &r->threads[i];

        if (t->loop.poll_ns == POLICY_NS_UNBOUNDED) {
            strbuf_printf(b, "polltgt_iothread_poll_window_seconds"
                          "{iothread=\"%u\"} +Inf\n", t->id);
        } else {
            strbuf_printf(b, "polltgt_iothread_poll_window_seconds"
                          "{iothread=\"%u\"} %.9f\n", t->id,
                          t->loop.poll_ns / 1e9);
        }
    }
    PROM_THREADS(b, r, "polltgt_iothread_iterations_total", "counter",
                 "Loop iterations.", "%" PRIu64, s->iterations);
    PROM_THREADS(b, r, "polltgt_iothread_poll_hits_total", "counter",
                 "Iterations whose poll phase found work.", "%" PRIu64,
                 s->poll_hits);
    PROM_THREADS(b, r, "polltgt_iothread_poll_misses_total", "counter",
                 "Iterations that polled, found nothing and blocked.",
                 "%" PRIu64, s->poll_misses);
    PROM_THREADS(b, r, "polltgt_iothread_blocking_waits_total", "counter",
                 "Blocking waits in the kernel.", "%" PRIu64, s->blocking_waits);
    PROM_THREADS(b, r, "polltgt_iothread_window_grows_total", "counter",
                 "Times the policy grew the window.", "%" PRIu64, s->grows);
    PROM_THREADS(b, r, "polltgt_iothread_window_shrinks_total", "counter",
                 "Times the policy shrank the window.", "%" PRIu64, s->shrinks);
    PROM_THREADS(b, r, "polltgt_iothread_polling_seconds_total", "counter",
                 "Time spent in the poll phase.", "%.9f", s->polling_ns / 1e9);
    PROM_THREADS(b, r, "polltgt_iothread_blocked_seconds_total", "counter",
                 "Time spent blocked in the kernel.", "%.9f",
                 s->blocked_ns / 1e9);
    PROM_THREADS(b, r, "polltgt_iothread_dispatch_seconds_total", "counter",
                 "Time spent running callbacks.", "%.9f", s->dispatch_ns / 1e9);
    PROM_THREADS(b, r, "polltgt_iothread_cpu_seconds_total", "counter",
                 "CPU time of the I/O thread.", "%.9f", s->cpu_ns / 1e9);
    PROM_THREADS(b, r, "polltgt_iothread_connections", "gauge",
                 "Client connections served by the I/O thread.", "%u",
                 t->nconns);

    prom_family(b, "polltgt_iothread_block_duration_seconds", "histogram",
                "Time from the start of an iteration to the work it found.");
    for (size_t i = 0; i < r->nthreads; i++) {
        const struct stats_report_thread *t = &r->threads[i];
        uint64_t cum = 0;

        for (unsigned k = 0; k < AIO_STATS_HIST_BUCKETS; k++) {
            cum += t->loop.block_ns_hist[k];
            if (k + 1 == AIO_STATS_HIST_BUCKETS) {
                strbuf_printf(b, "polltgt_iothread_block_duration_seconds_bucket"
                              "{iothread=\"%u\",le=\"+Inf\"} %" PRIu64 "\n",
                              t->id, cum);
            } else {
                strbuf_printf(b, "polltgt_iothread_block_duration_seconds_bucket"
                              "{iothread=\"%u\",le=\"%.9g\"} %" PRIu64 "\n",
                              t->id, ldexp(1.0, (int)k) * 1e-9, cum);
            }
        }
        strbuf_printf(b, "polltgt_iothread_block_duration_seconds_sum"
                      "{iothread=\"%u\"} %.9f\n",
                      t->id, t->loop.block_ns_sum / 1e9);
        strbuf_printf(b, "polltgt_iothread_block_duration_seconds_count"
                      "{iothread=\"%u\"} %" PRIu64 "\n", t->id, cum);
    }

    prom_family(b, "polltgt_handler_window_seconds", "gauge",
                "A handler's own poll window or interval estimate.");
    for (size_t i = 0; i < r->nthreads; i++) {
        for (size_t j = 0; j < r->threads[i].nhandlers; j++) {
            const struct aio_handler_stats *h = &r->threads[i].handlers[j];

            strbuf_printf(b, "polltgt_handler_window_seconds{iothread=\"%u\","
                          "handler=\"", r->threads[i].id);
            strbuf_prom_label(b, h->name);
            strbuf_printf(b, "\",fd=\"%d\"} %.9f\n", h->fd, h->window_ns / 1e9);
        }
    }
    prom_family(b, "polltgt_handler_events_total", "counter",
                "Iterations in which a handler had an event.");
    for (size_t i = 0; i < r->nthreads; i++) {
        for (size_t j = 0; j < r->threads[i].nhandlers; j++) {
            const struct aio_handler_stats *h = &r->threads[i].handlers[j];

            strbuf_printf(b, "polltgt_handler_events_total{iothread=\"%u\","
                          "handler=\"", r->threads[i].id);
            strbuf_prom_label(b, h->name);
            strbuf_printf(b, "\",fd=\"%d\"} %" PRIu64 "\n", h->fd, h->events);
        }
    }
    prom_io(b, r, "export");
    prom_io(b, r, "connection");
    prom_remote(b, r);
}
