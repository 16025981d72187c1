/* SPDX-License-Identifier: MIT */
/*
 * A report: everything the status socket tells, collected at one moment
 * (each I/O thread contributes its own part: control.c visits the threads,
 * server.c fills the parts in through control.h's control_server_ops) and
 * then formatted as JSON (stats-json.c) or Prometheus text (stats-prom.c).
 * Plain data, owned by the report.
 */
#ifndef POLLTGT_STATS_REPORT_H
#define POLLTGT_STATS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aio/aio.h"
#include "backends/backend.h"
#include "stats/stats.h"
#include "util/strbuf.h"

struct stats_report_conn {
    char protocol[8];
    char peer[64];
    char export[256];
    unsigned iothread;
    double connected_s;       /* how long it has been connected */
    struct stats_io_snapshot io;
};

struct stats_report_thread {
    unsigned id;
    int cpu;                  /* pinned CPU or -1 */
    unsigned nconns;
    struct aio_stats_snapshot loop;
    struct aio_handler_stats *handlers;
    size_t nhandlers;
    struct stats_io_snapshot io; /* I/O of every export on this thread */
    bool collected;           /* the thread answered */
};

struct stats_report_export {
    const char *name;
    const char *backend;
    const char *description;
    uint64_t size;
    bool readonly;
    struct stats_io_snapshot io;
    bool has_remote;          /* a gateway backend (nbd, iscsi) */
    struct backend_remote_stats remote;
};

struct stats_report {
    double timestamp;         /* seconds since the epoch */
    double uptime_s;
    struct stats_report_thread *threads;
    size_t nthreads;
    struct stats_report_export *exports;
    size_t nexports;
    struct stats_report_conn *conns;
    size_t nconns, conns_cap;
};

/* Parts of a JSON document. */
#define STATS_JSON_IOTHREADS   (1u << 0)
#define STATS_JSON_EXPORTS     (1u << 1)
#define STATS_JSON_CONNECTIONS (1u << 2)
#define STATS_JSON_ALL         (STATS_JSON_IOTHREADS | STATS_JSON_EXPORTS | \
                                STATS_JSON_CONNECTIONS)

void stats_report_free(struct stats_report *r);
/* Append a connection (owning thread's collector); false on ENOMEM. */
bool stats_report_add_conn(struct stats_report *r,
                           const struct stats_report_conn *c);

void stats_format_json(const struct stats_report *r, unsigned parts,
                       struct strbuf *out);
void stats_format_prom(const struct stats_report *r, struct strbuf *out);

#endif /* POLLTGT_STATS_REPORT_H */
