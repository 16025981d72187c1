/* SPDX-License-Identifier: MIT */
/*
 * Private to server/iscsi/: the connection, task and transmit objects
 * shared by the PDU, login, task and discovery code.
 *
 * Sessions have one connection (MaxConnections=1, ErrorRecoveryLevel=0),
 * so the session state (ISID, TSIH, CmdSN window, tasks) lives in the
 * connection.  A connection lives on one I/O thread from attach to free;
 * nothing here is touched by another thread except the server's atomics.
 */
#ifndef POLLTGT_ISCSI_ISCSI_INTERNAL_H
#define POLLTGT_ISCSI_ISCSI_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "aio/aio.h"
#include "conn.h"
#include "export.h"
#include "iscsi/iscsi-auth.h"
#include "iscsi/iscsi-param.h"
#include "iscsi/iscsi-pdu.h"
#include "iscsi/iscsi-protocol.h"
#include "iscsi/iscsi-server.h"
#include "scsi/scsi-cmd.h"
#include "stats/stats.h"
#include "util/strbuf.h"

#define ISCSI_CONN_MAGIC 0x15c51c0u
/* Commands beyond the CmdSN window: immediate ones (TMF, NOP) may come
 * while the window is full. */
#define ISCSI_EXTRA_TASKS 4
/* Text (login, SendTargets) collected across continued PDUs, at most. */
#define ISCSI_MAX_TEXT (64 * 1024)
/* Sense data travels with a 2-byte length in front. */
#define ISCSI_SENSE_SEGMENT (2 + SCSI_SENSE_LEN)

enum iscsi_conn_state {
    ISCSI_STATE_LOGIN,   /* login phase */
    ISCSI_STATE_FULL,    /* full feature phase */
};  /* closing and dead: conn.life */

struct iscsi_conn;
struct iscsi_task;
struct iscsi_abort_wait;

enum iscsi_task_state {
    ISCSI_TASK_FREE,
    ISCSI_TASK_DATA_OUT, /* collecting write data */
    ISCSI_TASK_EXEC,     /* in the SCSI core / backend */
    ISCSI_TASK_SENDING,  /* answered; Data-In PDUs still hold the buffer */
};

struct iscsi_task {
    struct scsi_cmd cmd;   /* first: the SCSI core hands this back */
    struct iscsi_conn *conn;
    struct iscsi_task *next_free;
    struct iscsi_task *prev, *next; /* conn->active */
    enum iscsi_task_state state;
    uint16_t index, gen;   /* pool slot; TTT = gen << 12 | index */
    uint32_t itt;
    uint32_t cmdsn;
    uint32_t edtl;         /* expected data transfer length */
    uint32_t spdtl;        /* bytes the CDB transfers (for residuals) */
    uint32_t want;         /* write data to collect: min(edtl, spdtl) */
    bool immediate;
    bool aborted;          /* by a TMF: no response */
    struct iscsi_abort_wait *abort_wait; /* a PREEMPT AND ABORT waiting for
                            * it to leave the core (iscsi-server.c) */
    uint8_t *buf;          /* kept between tasks */
    size_t bufcap;
    /* write data */
    uint32_t data_got;     /* bytes received */
    uint32_t data_sn;      /* DataSN the next Data-Out must carry */
    uint32_t unsol_len;    /* unsolicited bytes allowed (immediate + out) */
    bool unsol_done;       /* the unsolicited burst has ended */
    uint32_t r2t_next;     /* next offset to solicit */
    uint32_t r2t_outstanding;
    uint32_t r2tsn;
    uint32_t datasn;       /* Data-In PDUs sent (or R2Ts: ExpDataSN) */
    unsigned refs;         /* queued PDUs using buf */
    int64_t start_ns;
};

struct iscsi_login;

struct iscsi_conn {
    struct conn base;          /* first: socket, buffers, life (conn.h) */
    uint32_t magic;
    struct iscsi_server *srv;
    char portal[80];           /* our address as the initiator reached it */
    enum iscsi_conn_state state;

    /* receive: whole PDUs are parsed out of base.rx */
    bool hdigest, ddigest;     /* in effect (after login) */
    uint32_t max_recv_dsl;     /* what we accept per PDU now */

    /* login, then the session */
    struct iscsi_login *login; /* during the login phase only */
    struct iscsi_param_set params;
    char initiator_name[224];
    uint8_t isid[6];
    struct scsi_nexus nexus;   /* the I_T nexus, once logged in */
    uint16_t tsih;
    uint16_t cid;
    bool discovery;
    struct iscsi_target *target; /* NULL for discovery sessions */
    struct iscsi_conn *sess_prev, *sess_next; /* srv->sessions */
    bool sess_linked;
    uint32_t *reset_seen;      /* per LU: the reset_gen last reported */
    uint32_t statsn;           /* next StatSN to send */
    uint32_t exp_cmdsn;
    /* The highest MaxCmdSN sent (once max_cmdsn_sent_valid): commands
     * past it are outside the window the initiator was given. */
    uint32_t max_cmdsn_sent;
    bool max_cmdsn_sent_valid;

    /* tasks */
    struct iscsi_task *tasks;
    unsigned ntasks;           /* pool size */
    unsigned window;           /* CmdSN window (queue-depth) */
    struct iscsi_task *free_tasks;
    struct iscsi_task *active; /* newest first */
    unsigned inflight;         /* tasks taken from the pool */
    unsigned in_core;          /* tasks inside the SCSI core/backend */

    /* a task management request waiting for aborted tasks to finish */
    bool tmf_pending;
    uint32_t tmf_itt;
    uint8_t tmf_response;

    /* logout requested: answered once every task is done */
    bool logout_pending;
    uint32_t logout_itt;

    /* text responses longer than one PDU, sent in pieces (C bit) */
    struct strbuf text_out;
    size_t text_off;
    uint32_t text_ttt, text_itt;

    bool draining;

    /* timers */
    struct aio_timer login_timer;
    struct aio_timer nop_timer;
    bool nop_outstanding;      /* our ping awaits its answer */
    uint32_t nop_ttt;
    int64_t last_rx_ns;

    unsigned reject_logged;
    struct stats_io stats;
};

/* iscsi-conn.c */
void iscsi_conn_attach_on_thread(struct iscsi_server *srv, struct iothread *t,
                                 int fd, const struct sockaddr_storage *peer,
                                 socklen_t peerlen) ATTR_NONNULL(1, 2, 4);
void iscsi_conn_drain(struct iscsi_conn *conn) ATTR_NONNULL(1);
/* Login done: digests and limits take effect, the session starts. */
int iscsi_conn_enter_full(struct iscsi_conn *conn) ATTR_NONNULL(1);
/* A task went back to the pool (the conn may resume reading or close). */
void iscsi_conn_task_released(struct iscsi_conn *conn) ATTR_NONNULL(1);

/* iscsi-session.c: NOP-Out, Text and Logout in the full feature phase. */
void iscsi_conn_session_pdu(struct iscsi_conn *conn, const uint8_t *bhs,
                            const uint8_t *data, uint32_t dlen)
    ATTR_NONNULL(1, 2);
/* Send our NOP-In ping (idle initiator). */
void iscsi_session_ping(struct iscsi_conn *conn) ATTR_NONNULL(1);
/* Every task is done: answer a pending Logout or TMF. */
void iscsi_session_tasks_idle(struct iscsi_conn *conn) ATTR_NONNULL(1);

/* iscsi-pdu.c */
/* Finish and queue: data segment (len bytes at data; for copy PDUs pass
 * iscsi_pdu_copy_area), padding, digests as negotiated, StatSN fields set
 * by the caller. */
void iscsi_pdu_queue(struct iscsi_conn *conn, struct iscsi_tx *tx,
                     const void *data, uint32_t len) ATTR_NONNULL(1, 2);
void iscsi_pdu_release(struct iscsi_conn *conn, struct iscsi_tx *tx)
    ATTR_NONNULL(1, 2);
/* Fill StatSN (advancing it when advance), ExpCmdSN and MaxCmdSN. */
void iscsi_pdu_set_sn(struct iscsi_conn *conn, uint8_t *bhs, bool advance)
    ATTR_NONNULL(1, 2);
/* Reject a PDU (its BHS goes back as the data segment). */
void iscsi_pdu_reject(struct iscsi_conn *conn, const uint8_t *bhs,
                      uint8_t reason, const char *why) ATTR_NONNULL(1, 2, 4);
/* Parse whole PDUs out of the receive buffer and dispatch them.  Returns
 * false when it needs more bytes (or the connection stopped). */
bool iscsi_pdu_process(struct iscsi_conn *conn) ATTR_NONNULL(1);

/* iscsi-login.c */
void iscsi_login_pdu(struct iscsi_conn *conn, const uint8_t *bhs,
                     const uint8_t *data, uint32_t dlen) ATTR_NONNULL(1, 2);
void iscsi_login_free(struct iscsi_conn *conn) ATTR_NONNULL(1);

/* iscsi-server.c: the registry of normal sessions. */
/* Add conn (logged in); an older session of the same initiator, ISID and
 * target is ended: session reinstatement (RFC 7143 6.3.5). */
void iscsi_server_session_add(struct iscsi_server *srv, struct iscsi_conn *conn)
    ATTR_NONNULL(1, 2);
void iscsi_server_session_remove(struct iscsi_server *srv,
                                 struct iscsi_conn *conn) ATTR_NONNULL(1, 2);

/* A PREEMPT AND ABORT's wait for the aborted tasks: one reference per
 * task it waits for, from any thread. */
void iscsi_server_abort_wait_put(struct iscsi_abort_wait *w) ATTR_NONNULL(1);

/* iscsi-discovery.c */
/* Whether this connection's initiator may see and use target t (the
 * export's allow and initiators lists). */
bool iscsi_discovery_allowed(const struct iscsi_conn *conn,
                             const struct iscsi_target *t) ATTR_NONNULL(1, 2);
/* SendTargets=value answer for this connection's initiator. */
void iscsi_discovery_send_targets(struct iscsi_conn *conn, const char *value,
                                  struct strbuf *out) ATTR_NONNULL(1, 2, 3);

/* iscsi-task.c */
int iscsi_task_pool_init(struct iscsi_conn *conn, unsigned depth)
    ATTR_NONNULL(1);
void iscsi_task_pool_free(struct iscsi_conn *conn) ATTR_NONNULL(1);
void iscsi_task_scsi_cmd(struct iscsi_conn *conn, const uint8_t *bhs,
                         const uint8_t *data, uint32_t dlen) ATTR_NONNULL(1, 2);
void iscsi_task_data_out(struct iscsi_conn *conn, const uint8_t *bhs,
                         const uint8_t *data, uint32_t dlen) ATTR_NONNULL(1, 2);
void iscsi_task_tmf(struct iscsi_conn *conn, const uint8_t *bhs)
    ATTR_NONNULL(1, 2);
/* Answer a task management request once its aborted tasks are gone. */
void iscsi_task_tmf_check(struct iscsi_conn *conn) ATTR_NONNULL(1);
/* Drop a reference a queued PDU held. */
void iscsi_task_put(struct iscsi_task *task) ATTR_NONNULL(1);
/* PREEMPT AND ABORT: abort conn's tasks on lun as ABORT TASK SET does;
 * each still in the core holds a reference of w until it leaves.
 * Returns how many do; *aborted is how many were aborted in all. */
unsigned iscsi_task_abort_preempted(struct iscsi_conn *conn, uint64_t lun,
                                    struct iscsi_abort_wait *w,
                                    unsigned *aborted) ATTR_NONNULL(1, 3, 4);
/* The connection died: forget tasks not in the backend. */
void iscsi_task_abort_all(struct iscsi_conn *conn) ATTR_NONNULL(1);
/* A Logout: end the commands still waiting for Data-Out, unanswered. */
void iscsi_task_drop_data_out(struct iscsi_conn *conn) ATTR_NONNULL(1);
/* A graceful stop, reception paused: end unanswered the commands whose
 * Data-Out will not come now and a SANITIZE waiting for its job (which
 * may run for hours and is ended by iscsi_server_drain); the others in
 * the backend finish and are answered. */
void iscsi_task_drain(struct iscsi_conn *conn) ATTR_NONNULL(1);
/* Whether a CmdSN may be accepted now (and advance ExpCmdSN). */
bool iscsi_task_check_cmdsn(struct iscsi_conn *conn, const uint8_t *bhs)
    ATTR_NONNULL(1, 2);
uint32_t iscsi_task_max_cmdsn(const struct iscsi_conn *conn) ATTR_NONNULL(1);

#endif /* POLLTGT_ISCSI_ISCSI_INTERNAL_H */
