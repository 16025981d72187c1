/* SPDX-License-Identifier: MIT */
/*
 * Private to server/nbd/: the connection and request objects shared by the
 * handshake, request and reply code.  A connection lives on one I/O thread
 * from attach to free; nothing here is touched by any other thread, except
 * the server-wide counters in struct nbd_server (atomics).
 */
#ifndef POLLTGT_NBD_NBD_INTERNAL_H
#define POLLTGT_NBD_NBD_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "aio/aio.h"
#include "backends/backend.h"
#include "conn.h"
#include "export.h"
#include "nbd/nbd-protocol.h"
#include "nbd/nbd-server.h"
#include "stats/stats.h"
#include "txq.h"

#define NBD_CONN_MAGIC 0xb0dc0cc5
#define NBD_RXBUF_SIZE (64 * 1024)
/* Requests a connection may have in flight; more wait in the socket, which
 * is the back-pressure a client sees as a full TCP window. */
#define NBD_MAX_INFLIGHT 64 /* the top of [nbd] max-inflight (config-keys.c) */
/* Option data beyond this is refused unread (the longest legitimate option
 * is a meta-context query: a 4096-byte name and a few 4096-byte queries). */
#define NBD_MAX_OPTLEN (16 * 1024)
/* Extents returned for one block-status request. */
#define NBD_MAX_EXTENTS 256
/* READ replies split into at most this many DATA/HOLE chunks per piece. */
#define NBD_MAX_READ_CHUNKS 8
/* Holes shorter than this are sent as data: a chunk header costs more. */
#define NBD_MIN_HOLE 4096
/* The longest write payload read only to be refused (see nbd-request.c). */
#define NBD_MAX_DISCARD_PAYLOAD (32u << 20)
/* A READ longer than this is read from the backend and sent in pieces of
 * this size, one piece in memory at a time, so a request holds at most
 * this much whatever its length. */
#define NBD_READ_PIECE (4u << 20)
/* Write payloads a connection buffers at once: past this, a further write
 * waits in the socket until others complete (one always proceeds). */
#define NBD_CONN_WRITE_BUDGET (256u << 20)
/* The longest READ served: what a compact request can express.  Longer
 * extended-header reads get EOVERFLOW, as the protocol allows. */
#define NBD_MAX_READ UINT64_C(0xffffffff)
/* The only metadata context we serve. */
#define NBD_CONTEXT_BASE_ALLOCATION_ID 1

enum nbd_conn_state {
    NBD_STATE_HS_CLIENT_FLAGS, /* greeting sent, waiting for client flags */
    NBD_STATE_HS_OPTION,       /* waiting for an option header */
    NBD_STATE_HS_OPTION_DATA,  /* reading option data */
    NBD_STATE_TX_HEADER,       /* transmission: waiting for a request */
    NBD_STATE_TX_PAYLOAD,      /* reading a write's payload */
};  /* closing and dead: conn.life */

/* Something queued for sending: a reply (embedded in a request) or a blob. */
struct nbd_tx {
    struct txq_item item;     /* first: the transmit queue hands it back */
    struct iovec iov[3 + 2 * NBD_MAX_READ_CHUNKS];
    int iovcnt;
    void (*release)(struct nbd_conn *conn, struct nbd_tx *tx);
    /* A reply sent in several pieces that must not be interleaved with
     * other replies (a simple READ reply, or one DF data chunk): more is
     * set on every piece but the last, and owner names the request. */
    const void *owner;
    bool more;
    struct nbd_tx *held_next; /* waiting behind another reply's pieces */
};

struct nbd_req {
    struct backend_req breq;  /* first: the backend hands this back */
    struct nbd_conn *conn;
    struct nbd_req *next_free;
    struct nbd_tx tx;         /* its reply */
    uint16_t type, flags;
    uint64_t cookie;
    uint64_t offset;
    uint64_t count;           /* effect length (a write's: its payload) */
    uint64_t payload;         /* bytes following the header */
    bool discard;             /* payload read only to be thrown away */
    int error;                /* -errno decided before submission */
    /* READ in pieces: buf holds [piece_off, piece_off + piece_len) of the
     * request; stream_err is a failure met after the reply began. */
    uint64_t piece_off;
    uint32_t piece_len;
    int stream_err;
    bool reply_done;          /* the last piece of the reply is queued */
    uint64_t budget;          /* bytes charged to conn->write_bytes */
    bool accounted;           /* counted in the statistics */
    uint8_t *buf;             /* payload, kept between requests */
    size_t bufcap;
    struct iovec data_iov;    /* the backend's view of buf */
    /* reply headers: chunk headers of up to 32 bytes (extended) */
    uint8_t hdr[(32 + 12) * NBD_MAX_READ_CHUNKS + 32 + 32 + 6 + 64];
    struct backend_extent *extents; /* NBD_MAX_EXTENTS, on first use */
    uint8_t *bs_buf;          /* block status descriptors, on first use */
    int64_t start_ns;         /* for latency stats */
};

struct nbd_conn {
    struct conn base;         /* first: socket, buffers, life (conn.h) */
    uint32_t magic;
    struct nbd_server *srv;
    enum nbd_conn_state state;

    /* receive (the buffer is base.rx) */
    struct nbd_req *rx_req;   /* NBD_STATE_TX_PAYLOAD: whose payload */
    uint64_t rx_got;          /* payload bytes read so far */

    /* handshake */
    uint32_t client_flags;
    uint32_t opt, optlen;
    uint8_t *optbuf;
    uint32_t opt_got;
    bool structured;          /* reply chunks: NBD_OPT_STRUCTURED_REPLY
                               * or NBD_OPT_EXTENDED_HEADERS negotiated */
    bool extended;            /* NBD_OPT_EXTENDED_HEADERS negotiated */
    bool meta_base_allocation;/* base:allocation selected ... */
    char *meta_export;        /* ... for this export */
    struct aio_timer hs_timer;

    /* transmission */
    struct export *export;
    uint16_t tflags;
    struct nbd_req reqs[NBD_MAX_INFLIGHT];
    struct nbd_req *free_reqs;
    unsigned inflight;        /* requests taken from the pool */
    uint64_t write_bytes;     /* write payloads buffered (NBD_CONN_WRITE_BUDGET) */
    const void *tx_owner;     /* sending a reply in pieces (see nbd_tx) */
    struct nbd_tx *held, **held_tail; /* replies waiting for it */
    bool draining;            /* server shutdown: finish, flush, close */
    bool migrating;           /* move to the export's pinned I/O thread */
    unsigned invalid_logged;  /* "invalid request" lines logged so far */
    bool drain_flushing;      /* the final backend flush is in flight */

    /* statistics: written by this thread only (see stats.h) */
    struct stats_io stats;
    struct stats_io *export_stats; /* export->stats[this thread] */
};

/* nbd-conn.c */
/* Queue a reply; it waits while another reply is sent in pieces. */
void nbd_conn_queue(struct nbd_conn *conn, struct nbd_tx *tx)
    ATTR_NONNULL(1, 2);
/* Queue a copy of len bytes (handshake replies). Returns 0 or -ENOMEM. */
int nbd_conn_queue_copy(struct nbd_conn *conn, const void *buf, size_t len)
    ATTR_NONNULL(1, 2);
void nbd_conn_release_req(struct nbd_conn *conn, struct nbd_req *req)
    ATTR_NONNULL(1, 2);
void nbd_conn_enter_transmission(struct nbd_conn *conn) ATTR_NONNULL(1);
/* Graceful stop of one connection (on its thread). */
void nbd_conn_drain(struct nbd_conn *conn) ATTR_NONNULL(1);
/* Draining: once nothing is in flight, flush the export and close. */
void nbd_conn_drain_check(struct nbd_conn *conn) ATTR_NONNULL(1);
/* Create on the current I/O thread and send the greeting. */
void nbd_conn_attach_on_thread(struct nbd_server *srv, struct iothread *t,
                               int fd, const struct sockaddr_storage *peer,
                               socklen_t peerlen) ATTR_NONNULL(1, 2, 4);

/* nbd-handshake.c */
void nbd_hs_greet(struct nbd_conn *conn) ATTR_NONNULL(1);
/* Consume handshake bytes from the receive buffer.  Returns false when it
 * needs more bytes. */
bool nbd_hs_process(struct nbd_conn *conn) ATTR_NONNULL(1);
/* TLS is up: forget the options negotiated before it. */
void nbd_hs_tls_ready(struct nbd_conn *conn) ATTR_NONNULL(1);
uint16_t nbd_hs_transmission_flags(const struct export *e, bool structured)
    ATTR_NONNULL(1);

/* nbd-request.c */
/* Consume transmission bytes; returns false when it needs more bytes. */
bool nbd_req_process(struct nbd_conn *conn) ATTR_NONNULL(1);
/* The payload of conn->rx_req is complete: submit it. */
void nbd_req_payload_done(struct nbd_conn *conn) ATTR_NONNULL(1);
/* Count a finished request in the statistics (once; later calls do
 * nothing). */
void nbd_req_account(struct nbd_conn *conn, struct nbd_req *req, int err)
    ATTR_NONNULL(1, 2);
/* A piece of a READ went out: read and send the next one. */
void nbd_req_read_next(struct nbd_conn *conn, struct nbd_req *req)
    ATTR_NONNULL(1, 2);
/* Check a parsed request; logs "invalid request" and returns -errno. */
int nbd_req_validate(struct nbd_conn *conn, const struct nbd_req *req)
    ATTR_NONNULL(1, 2);

/* nbd-reply.c */
uint32_t nbd_reply_errno(int err);
/* Build and queue the reply of a finished request (err 0 or -errno); for
 * a READ in pieces, of its current piece. */
void nbd_reply_queue(struct nbd_conn *conn, struct nbd_req *req, int err)
    ATTR_NONNULL(1, 2);

#endif /* POLLTGT_NBD_NBD_INTERNAL_H */
