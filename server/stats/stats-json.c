/* SPDX-License-Identifier: MIT */
/*
 * The JSON document of the status socket.  Counters are monotonic totals
 * since start; "timestamp" and "uptime_s" let a client turn two documents
 * into rates.  Histograms are arrays of {"le": upper bound, "count": n}
 * with the count of that bucket only (not cumulative).
 */
#include <config.h>

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "stats/report.h"

void
stats_report_free(struct stats_report *r)
{
    for (size_t i = 0; i < r->nthreads; i++) {
        free(r->threads[i].handlers);
    }
    free(r->threads);
    free(r->exports);
    free(r->conns);
    memset(r, 0, sizeof *r);
}

bool
stats_report_add_conn(struct stats_report *r, const struct stats_report_conn *c)
{
    if (r->nconns == r->conns_cap) {
        size_t cap = r->conns_cap ? r->conns_cap * 2 : 16;
        struct stats_report_conn *n = realloc(r->conns, cap * sizeof *n);

        if (n == NULL) {
            return false;
        }
        r->conns = n;
        r->conns_cap = cap;
    }
    r->conns[r->nconns++] = *c;
    return true;
}

static void
json_io(struct strbuf *b, const struct stats_io_snapshot *io)
{
    strbuf_printf(b, "{\"inflight\":%" PRId64 ",\"bytes_read\":%" PRIu64
                  ",\"bytes_written\":%" PRIu64 ",\"ops\":{",
                  io->inflight, io->bytes_read, io->bytes_written);
    for (int op = 0; op < STATS_NOPS; op++) {
        strbuf_printf(b, "%s\"%s\":{\"count\":%" PRIu64 ",\"errors\":%" PRIu64
                      ",\"latency_sum_s\":%.9f,\"latency_hist\":[",
                      op ? "," : "", stats_op_name((enum stats_op)op),
                      io->ops[op], io->errors[op], io->lat_sum_ns[op] / 1e9);
        for (unsigned k = 0; k < STATS_LAT_BUCKETS; k++) {
            double le = stats_lat_bucket_le(k);

            if (isinf(le)) {
                strbuf_printf(b, "%s{\"le\":\"+Inf\",\"count\":%" PRIu64 "}",
                              k ? "," : "", io->lat_hist[op][k]);
            } else {
                strbuf_printf(b, "%s{\"le\":%g,\"count\":%" PRIu64 "}",
                              k ? "," : "", le, io->lat_hist[op][k]);
            }
        }
        strbuf_puts(b, "]}");
    }
    strbuf_puts(b, "}}");
}

static void
json_thread(struct strbuf *b, const struct stats_report_thread *t)
{
    const struct aio_stats_snapshot *s = &t->loop;
    uint64_t tries = s->poll_hits + s->poll_misses;

    strbuf_printf(b, "{\"id\":%u,\"cpu\":%d,\"policy\":", t->id, t->cpu);
    strbuf_json_string(b, s->policy);
    /* max_ns is the window in effect; max_ns_auto says it was sized from
     * the measured wake-up cost. */
    strbuf_printf(b, ",\"params\":{\"max_ns\":%" PRId64
                  ",\"max_ns_auto\":%s,\"grow\":%" PRId64
                  ",\"shrink\":%" PRId64 ",\"weight\":%" PRId64
                  ",\"idle_timeout_ms\":%" PRId64 "}",
                  s->params.max_ns, s->max_ns_auto ? "true" : "false",
                  s->params.grow, s->params.shrink,
                  s->params.weight, s->params.idle_timeout_ms);
    strbuf_printf(b, ",\"wakeup\":{\"cost_ns\":%" PRId64
                  ",\"blocked_ns\":%" PRId64 ",\"spinning_ns\":%" PRId64 "}",
                  s->wake_cost_ns, s->wake_blocked_ns, s->wake_spinning_ns);
    /* busy polls without a bound: shown as -1 and "poll_unbounded". */
    strbuf_printf(b, ",\"poll_ns\":%" PRId64 ",\"poll_unbounded\":%s",
                  s->poll_ns == POLICY_NS_UNBOUNDED ? -1 : s->poll_ns,
                  s->poll_ns == POLICY_NS_UNBOUNDED ? "true" : "false");
    strbuf_printf(b, ",\"iterations\":%" PRIu64 ",\"poll_hits\":%" PRIu64
                  ",\"poll_misses\":%" PRIu64 ",\"hit_rate\":%.4f"
                  ",\"blocking_waits\":%" PRIu64 ",\"polling_ns\":%" PRIu64
                  ",\"blocked_ns\":%" PRIu64 ",\"dispatch_ns\":%" PRIu64
                  ",\"grows\":%" PRIu64 ",\"shrinks\":%" PRIu64
                  ",\"cpu_ns\":%" PRId64 ",\"connections\":%u",
                  s->iterations, s->poll_hits, s->poll_misses,
                  tries ? (double)s->poll_hits / (double)tries : 0.0,
                  s->blocking_waits, s->polling_ns, s->blocked_ns,
                  s->dispatch_ns, s->grows, s->shrinks, s->cpu_ns, t->nconns);
    strbuf_printf(b, ",\"block_ns_sum\":%" PRIu64 ",\"block_ns_hist\":[",
                  s->block_ns_sum);
    for (unsigned k = 0; k < AIO_STATS_HIST_BUCKETS; k++) {
        if (k + 1 == AIO_STATS_HIST_BUCKETS) {
            strbuf_printf(b, ",{\"le\":\"+Inf\",\"count\":%" PRIu64 "}",
                          s->block_ns_hist[k]);
        } else {
            strbuf_printf(b, "%s{\"le\":%" PRIu64 ",\"count\":%" PRIu64 "}",
                          k ? "," : "", (uint64_t)1 << k, s->block_ns_hist[k]);
        }
    }
    strbuf_puts(b, "],\"io\":");
    json_io(b, &t->io);
    strbuf_puts(b, ",\"handlers\":[");
    for (size_t i = 0; i < t->nhandlers; i++) {
        const struct aio_handler_stats *h = &t->handlers[i];

        strbuf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        strbuf_json_string(b, h->name);
        strbuf_printf(b, ",\"fd\":%d,\"in_poll_set\":%s,\"window_ns\":%" PRId64
                      ",\"events\":%" PRIu64 "}",
                      h->fd, h->in_poll_set ? "true" : "false", h->window_ns,
                      h->events);
    }
    strbuf_puts(b, "]}");
}

void
stats_format_json(const struct stats_report *r, unsigned parts,
                  struct strbuf *out)
{
    strbuf_printf(out, "{\"version\":\"%s\",\"timestamp\":%.6f,\"uptime_s\":%.6f",
                  PACKAGE_VERSION, r->timestamp, r->uptime_s);
    if (parts & STATS_JSON_IOTHREADS) {
        strbuf_puts(out, ",\"iothreads\":[");
        for (size_t i = 0; i < r->nthreads; i++) {
            if (i) {
                strbuf_puts(out, ",");
            }
            json_thread(out, &r->threads[i]);
        }
        strbuf_puts(out, "]");
    }
    if (parts & STATS_JSON_EXPORTS) {
        strbuf_puts(out, ",\"exports\":[");
        for (size_t i = 0; i < r->nexports; i++) {
            const struct stats_report_export *e = &r->exports[i];

            strbuf_puts(out, i ? ",{\"name\":" : "{\"name\":");
            strbuf_json_string(out, e->name);
            strbuf_puts(out, ",\"backend\":");
            strbuf_json_string(out, e->backend);
            strbuf_puts(out, ",\"description\":");
            strbuf_json_string(out, e->description);
            strbuf_printf(out, ",\"size\":%" PRIu64 ",\"readonly\":%s,\"io\":",
                          e->size, e->readonly ? "true" : "false");
            json_io(out, &e->io);
            if (e->has_remote) {
                const struct backend_remote_stats *rs = &e->remote;

                strbuf_printf(out, ",\"remote\":{\"threads\":%u,"
                              "\"connections\":%u,\"requests\":%" PRIu64
                              ",\"errors\":%" PRIu64 ",\"timeouts\":%" PRIu64
                              ",\"reconnects\":%" PRIu64
                              ",\"latency_ns_sum\":%" PRIu64
                              ",\"latency_count\":%" PRIu64 "}",
                              rs->threads, rs->connections, rs->requests,
                              rs->errors, rs->timeouts, rs->reconnects,
                              rs->latency_ns_sum, rs->latency_count);
            }
            strbuf_puts(out, "}");
        }
        strbuf_puts(out, "]");
    }
    if (parts & STATS_JSON_CONNECTIONS) {
        strbuf_puts(out, ",\"connections\":[");
        for (size_t i = 0; i < r->nconns; i++) {
            const struct stats_report_conn *c = &r->conns[i];

            strbuf_puts(out, i ? ",{\"protocol\":" : "{\"protocol\":");
            strbuf_json_string(out, c->protocol);
            strbuf_puts(out, ",\"peer\":");
            strbuf_json_string(out, c->peer);
            strbuf_puts(out, ",\"export\":");
            strbuf_json_string(out, c->export);
            strbuf_printf(out, ",\"iothread\":%u,\"connected_s\":%.3f,\"io\":",
                          c->iothread, c->connected_s);
            json_io(out, &c->io);
            strbuf_puts(out, "}");
        }
        strbuf_puts(out, "]");
    }
    strbuf_puts(out, "}\n");
}
