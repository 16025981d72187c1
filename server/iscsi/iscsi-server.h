/* SPDX-License-Identifier: MIT */
/*
 * The iSCSI front end: listeners from [iscsi] listen, one target per
 * export served over iSCSI (named by its `iqn`, the export as LUN 0), and
 * connections spread over the I/O threads by frontend.c.
 */
#ifndef POLLTGT_ISCSI_ISCSI_SERVER_H
#define POLLTGT_ISCSI_ISCSI_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "server/config.h"
#include "export.h"
#include "frontend.h"
#include "iothread.h"
#include "scsi/scsi-cmd.h"
#include "util/compiler.h"

struct ev_loop;
struct iscsi_conn;
struct stats_report;

struct iscsi_target {
    struct scsi_target scsi;           /* name, LUNs */
    struct export *export;             /* LUN 0's export */
    const struct config_export *cfg;   /* LUN 0's: CHAP, initiators, allow */
    /* Per LU (index into scsi.luns): bumped by a LUN or target reset, so
     * every other session reports a unit attention once (SAM-5 6.3). */
    _Atomic uint32_t *reset_gen;
};

struct iscsi_server {
    struct frontend fe;                /* listeners, limits, drain */
    const struct config *cfg;
    struct iscsi_target *targets;
    size_t ntargets;
    _Atomic uint32_t next_tsih;
    unsigned niothreads;
    /* Normal sessions in the full feature phase, every thread's, for
     * session reinstatement.  Only their immutable identity (initiator,
     * ISID, target, TSIH, thread) is read under the lock. */
    pthread_mutex_t sessions_lock;
    struct iscsi_conn *sessions;
};

int iscsi_server_start(struct iscsi_server *srv, struct ev_loop *loop,
                       const struct config *cfg,
                       const struct export_set *exports,
                       struct iothread **iothreads, unsigned niothreads)
    ATTR_NONNULL(1, 2, 3, 4, 5);
void iscsi_server_stop_listening(struct iscsi_server *srv) ATTR_NONNULL(1);
/* Let the commands in the backend finish and answer them (a command
 * waiting for Data-Out and a SANITIZE waiting for its job end
 * unanswered), flush, close every session once what is queued is sent,
 * then end the background SANITIZE jobs at their next step (main thread,
 * before the I/O threads stop).  Sessions still busy at timeout_ns are
 * logged and closed (frontend_drain). */
void iscsi_server_drain(struct iscsi_server *srv, int64_t timeout_ns)
    ATTR_NONNULL(1);
/* After the I/O threads stopped. */
void iscsi_server_free(struct iscsi_server *srv) ATTR_NONNULL(1);

/* By target name; NULL if there is none. */
struct iscsi_target *iscsi_server_find_target(struct iscsi_server *srv,
                                              const char *name)
    ATTR_NONNULL(1, 2);

/* On I/O thread id: add its iSCSI connections to the report. */
void iscsi_server_collect(struct iscsi_server *srv, unsigned id,
                          struct stats_report *r) ATTR_NONNULL(1, 3);

#endif /* POLLTGT_ISCSI_ISCSI_SERVER_H */
