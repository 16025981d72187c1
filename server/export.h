/* SPDX-License-Identifier: MIT */
/*
 * Exports: an [export NAME] section bound to an open backend.  Opened by
 * the main thread at startup, shared read-only by every I/O thread and
 * every protocol that serves them; the backend is the only part with
 * state, and it is safe to use from several threads.
 */
#ifndef POLLTGT_SERVER_EXPORT_H
#define POLLTGT_SERVER_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/backend.h"
#include "config.h"
#include "stats/stats.h"
#include "util/compiler.h"

struct export {
    uint32_t magic;
    const struct config_export *cfg; /* owned by the running config */
    const char *name;
    const char *description;         /* "" if none */
    struct backend *backend;
    uint64_t size;
    unsigned caps;                   /* BACKEND_CAN_*, less writes if readonly */
    bool readonly;
    int iothread;                    /* -1: any */
    struct stats_io *stats;          /* one per I/O thread, its only writer */
    unsigned nstats;
};

struct export_set {
    struct export *exports;
    size_t n;
};

/* Open the backend of every export of cfg; on failure nothing stays open.
 * Returns 0 or -errno (logged, naming the export). */
int export_set_open(struct export_set *set, const struct config *cfg)
    ATTR_NONNULL(1, 2);
void export_set_close(struct export_set *set) ATTR_NONNULL(1);

/* By name; NULL if there is none. */
struct export *export_find(const struct export_set *set, const char *name)
    ATTR_NONNULL(1, 2);

#endif /* POLLTGT_SERVER_EXPORT_H */
