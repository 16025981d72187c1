/* SPDX-License-Identifier: MIT */
/*
 * Transmission requests: parse the header, validate it in one place
 * (nbd_req_validate, the only code that rejects a request), read a write's
 * payload, and hand the request to the export's backend.  The backend's
 * completion queues the reply.
 *
 * Two header formats: the 28-byte compact request, and the 32-byte
 * extended request once NBD_OPT_EXTENDED_HEADERS is negotiated, whose
 * 64-bit length is a payload length with NBD_CMD_FLAG_PAYLOAD_LEN (which
 * a write must carry) and an effect length without it.
 *
 * What cannot get an error reply gets a clean disconnect: a bad request
 * magic, including the other mode's magic (we have lost framing), and a
 * write whose payload is larger than max-payload: in compact mode when it
 * is also over 32 MiB (reading it to throw it away would let a client
 * make us read gigabytes; the protocol asks that up to 32 MiB is never
 * treated as an attack), in extended mode always (the protocol's SHOULD).
 * Everything else is answered, and a refused payload is still consumed
 * (dropped as it arrives, never buffered) so the stream stays in sync.
 *
 * READ of any length the export allows up to NBD_MAX_READ is served: up
 * to NBD_READ_PIECE from one buffer, longer ones a piece at a time (read
 * from the backend, sent, then the next), see nbd-reply.c.
 */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nbd/nbd-internal.h"
#include "nbd/nbd-names.h"
#include "util/clock.h"

/* Per connection, this many "invalid request" lines, then silence: a
 * hostile client must not be able to flood the log. */
#define NBD_REQ_LOG_LIMIT 10

static void
nbd_req_log_invalid(struct nbd_conn *conn, const struct nbd_req *req,
                    const char *why)
{
    if (conn->invalid_logged++ < NBD_REQ_LOG_LIMIT) {
        log_warn("nbd %s: invalid request: %s offset %" PRIu64 " count %" PRIu64
                 " flags 0x%x: %s",
                 conn->base.peer, nbd_name_cmd(req->type), req->offset, req->count,
                 req->flags, why);
    }
}

int
nbd_req_validate(struct nbd_conn *conn, const struct nbd_req *req)
{
    const struct export *e = conn->export;
    uint16_t allowed = 0;
    uint16_t tflags = conn->tflags;
    bool ranged = true;

    switch (req->type) {
    case NBD_CMD_READ:
        allowed = conn->structured ? NBD_CMD_FLAG_DF : 0;
        break;
    case NBD_CMD_WRITE:
        if (conn->extended) {
            if (!(req->flags & NBD_CMD_FLAG_PAYLOAD_LEN)) {
                /* Then there is no payload: nothing to write. */
                nbd_req_log_invalid(conn, req,
                                    "write without NBD_CMD_FLAG_PAYLOAD_LEN");
                return -EINVAL;
            }
            allowed = NBD_CMD_FLAG_PAYLOAD_LEN;
        }
        break;
    case NBD_CMD_FLUSH:
        if (!(tflags & NBD_FLAG_SEND_FLUSH)) {
            nbd_req_log_invalid(conn, req, "flush was not advertised");
            return -EINVAL;
        }
        ranged = false;
        break;
    case NBD_CMD_TRIM:
        if (!(tflags & NBD_FLAG_SEND_TRIM)) {
            nbd_req_log_invalid(conn, req, "trim was not advertised");
            return e->readonly ? -EPERM : -EINVAL;
        }
        break;
    case NBD_CMD_CACHE:
        if (!(tflags & NBD_FLAG_SEND_CACHE)) {
            nbd_req_log_invalid(conn, req, "cache was not advertised");
            return -EINVAL;
        }
        break;
    case NBD_CMD_WRITE_ZEROES:
        if (!(tflags & NBD_FLAG_SEND_WRITE_ZEROES)) {
            nbd_req_log_invalid(conn, req, "write zeroes was not advertised");
            return e->readonly ? -EPERM : -EINVAL;
        }
        allowed = NBD_CMD_FLAG_NO_HOLE;
        if (tflags & NBD_FLAG_SEND_FAST_ZERO) {
            allowed |= NBD_CMD_FLAG_FAST_ZERO;
        }
        break;
    case NBD_CMD_BLOCK_STATUS:
        if (!conn->meta_base_allocation) {
            nbd_req_log_invalid(conn, req, "no metadata context was negotiated");
            return -EINVAL;
        }
        allowed = NBD_CMD_FLAG_REQ_ONE;
        if (req->count == 0) {
            nbd_req_log_invalid(conn, req, "zero length");
            return -EINVAL;
        }
        break;
    default:
        nbd_req_log_invalid(conn, req, "unknown command");
        return -EINVAL;
    }
    /* FUA is valid on every command once advertised (the spec says so,
     * and clients set it on flush). */
    if (tflags & NBD_FLAG_SEND_FUA) {
        allowed |= NBD_CMD_FLAG_FUA;
    }
    if (req->flags & ~allowed) {
        nbd_req_log_invalid(conn, req, "flag not valid for this command");
        return -EINVAL;
    }
    if ((req->type == NBD_CMD_WRITE || req->type == NBD_CMD_TRIM ||
         req->type == NBD_CMD_WRITE_ZEROES) && e->readonly) {
        nbd_req_log_invalid(conn, req, "the export is read-only");
        return -EPERM;
    }
    /* Reads are sent in pieces, so any length is served, except: one
     * unfragmented chunk (DF) stays within max-payload, and nothing
     * beyond what a compact request can ask. */
    if (req->type == NBD_CMD_READ && (req->flags & NBD_CMD_FLAG_DF) &&
        req->count > conn->srv->cfg->nbd_max_payload) {
        nbd_req_log_invalid(conn, req, "DF read longer than max-payload");
        return -EOVERFLOW;
    }
    if (req->type == NBD_CMD_READ && req->count > NBD_MAX_READ) {
        nbd_req_log_invalid(conn, req, "read longer than 4 GiB - 1");
        return -EOVERFLOW;
    }
    if (!ranged) {
        if (req->offset != 0 || req->count != 0) {
            nbd_req_log_invalid(conn, req, "offset and length must be 0");
            return -EINVAL;
        }
        return 0;
    }
    if (req->offset > e->size || req->count > e->size - req->offset) {
        nbd_req_log_invalid(conn, req, "beyond the end of the export");
        /* The protocol asks ENOSPC for writes past the end, EINVAL else. */
        return req->type == NBD_CMD_WRITE || req->type == NBD_CMD_WRITE_ZEROES
                   ? -ENOSPC : -EINVAL;
    }
    return 0;
}

/* Make req->buf hold at least len bytes; buffers are kept between
 * requests, so steady traffic allocates nothing. */
static int
nbd_req_buffer(struct nbd_req *req, size_t len)
{
    if (req->bufcap < len) {
        size_t cap = req->bufcap ? req->bufcap : 4096;
        uint8_t *n;

        while (cap < len) {
            cap *= 2;
        }
        n = realloc(req->buf, cap);
        if (n == NULL) {
            return -ENOMEM;
        }
        req->buf = n;
        req->bufcap = cap;
    }
    return 0;
}

static int
nbd_req_stats_op(uint16_t type)
{
    switch (type) {
    case NBD_CMD_READ: return STATS_OP_READ;
    case NBD_CMD_WRITE: return STATS_OP_WRITE;
    case NBD_CMD_FLUSH: return STATS_OP_FLUSH;
    case NBD_CMD_TRIM: return STATS_OP_TRIM;
    case NBD_CMD_WRITE_ZEROES: return STATS_OP_ZERO;
    case NBD_CMD_BLOCK_STATUS: return STATS_OP_BLOCK_STATUS;
    case NBD_CMD_CACHE: return STATS_OP_CACHE;
    default: return -1;
    }
}

void
nbd_req_account(struct nbd_conn *conn, struct nbd_req *req, int err)
{
    int op = nbd_req_stats_op(req->type);
    int64_t lat = aio_ctx_now(conn->base.ctx) - req->start_ns;

    if (req->accounted) {
        return;
    }
    req->accounted = true;
    /* The loop's timestamps, not a clock read per request: latency at the
     * granularity of loop iterations, which is what the server adds. */
    if (op >= 0) {
        stats_io_done(&conn->stats, (enum stats_op)op, req->count, err, lat);
        stats_io_done(conn->export_stats, (enum stats_op)op, req->count, err,
                      lat);
    } else {
        STATS_RELAXED_ADD(conn->stats.inflight, -1);
        STATS_RELAXED_ADD(conn->export_stats->inflight, -1);
    }
}

static void
nbd_req_done(struct backend_req *breq, int err)
{
    struct nbd_req *req = (struct nbd_req *)breq;
    struct nbd_conn *conn = req->conn;

    /* A READ in pieces is finished at its last piece or first failure. */
    if (req->type != NBD_CMD_READ || err < 0 ||
        req->piece_off + req->piece_len >= req->count) {
        nbd_req_account(conn, req, err < 0 ? err : req->stream_err);
    }
    if (conn->base.life == CONN_DEAD) {
        nbd_req_account(conn, req, err < 0 ? err : -EIO);
        nbd_conn_release_req(conn, req); /* may free conn */
        return;
    }
    nbd_reply_queue(conn, req, err);
    /* Other completions of this iteration go in the same sendmsg. */
    conn_flush_soon(&conn->base);
}

static void
nbd_req_submit(struct nbd_conn *conn, struct nbd_req *req)
{
    struct backend *b = conn->export->backend;
    struct backend_req *breq = &req->breq;

    if (req->error < 0) {
        nbd_req_done(breq, req->error);
        return;
    }
    memset(breq, 0, offsetof(struct backend_req, sqe));
    breq->ctx = conn->base.ctx;
    breq->offset = req->offset;
    breq->count = req->count;
    breq->done = nbd_req_done;
    /* FUA is accepted on every command but means something only where
     * data is written. */
    if ((req->flags & NBD_CMD_FLAG_FUA) &&
        (req->type == NBD_CMD_WRITE || req->type == NBD_CMD_TRIM ||
         req->type == NBD_CMD_WRITE_ZEROES)) {
        breq->flags |= BACKEND_FUA;
    }
    /* Zero-length data commands: nothing to do, and backends need not
     * handle them. */
    if (req->count == 0 && req->type != NBD_CMD_FLUSH &&
        req->type != NBD_CMD_BLOCK_STATUS) {
        nbd_req_done(breq, 0);
        return;
    }
    switch (req->type) {
    case NBD_CMD_READ:
        req->piece_off = 0;
        req->piece_len = 0;
        req->stream_err = 0;
        if (nbd_req_buffer(req, req->count < NBD_READ_PIECE ? req->count
                                                            : NBD_READ_PIECE) < 0) {
            nbd_req_done(breq, -ENOMEM);
            return;
        }
        nbd_req_read_next(conn, req);
        break;
    case NBD_CMD_WRITE:
        req->data_iov.iov_base = req->buf;
        req->data_iov.iov_len = req->count;
        breq->iov = &req->data_iov;
        breq->iovcnt = 1;
        backend_write(b, breq);
        break;
    case NBD_CMD_FLUSH:
        breq->flags = 0;
        backend_flush(b, breq);
        break;
    case NBD_CMD_TRIM:
        backend_trim(b, breq);
        break;
    case NBD_CMD_WRITE_ZEROES:
        if (!(req->flags & NBD_CMD_FLAG_NO_HOLE)) {
            breq->flags |= BACKEND_MAY_TRIM;
        }
        if (req->flags & NBD_CMD_FLAG_FAST_ZERO) {
            breq->flags |= BACKEND_FAST_ZERO;
        }
        backend_zero(b, breq);
        break;
    case NBD_CMD_CACHE:
        breq->flags = 0;
        backend_cache(b, breq);
        break;
    case NBD_CMD_BLOCK_STATUS:
        if (req->extents == NULL) {
            req->extents = malloc(NBD_MAX_EXTENTS * sizeof *req->extents);
            req->bs_buf = malloc(4 + 8 * NBD_MAX_EXTENTS);
            if (req->extents == NULL || req->bs_buf == NULL) {
                free(req->extents);
                free(req->bs_buf);
                req->extents = NULL;
                req->bs_buf = NULL;
                nbd_req_done(breq, -ENOMEM);
                return;
            }
        }
        breq->flags = req->flags & NBD_CMD_FLAG_REQ_ONE ? BACKEND_REQ_ONE : 0;
        breq->extents = req->extents;
        breq->max_extents = req->flags & NBD_CMD_FLAG_REQ_ONE ? 1 : NBD_MAX_EXTENTS;
        backend_block_status(b, breq);
        break;
    default:
        nbd_req_done(breq, -EINVAL);
        break;
    }
}

/*
 * Read the next piece of a READ (the first from nbd_req_submit, the rest
 * when the previous piece went out).  After a failure in the middle of a
 * reply that must be sent whole (a DF chunk), the rest is sent as zeros
 * without reading, then the error chunk (see nbd-reply.c).
 */
void
nbd_req_read_next(struct nbd_conn *conn, struct nbd_req *req)
{
    struct backend_req *breq = &req->breq;
    uint64_t left;

    req->piece_off += req->piece_len;
    left = req->count - req->piece_off;
    req->piece_len = (uint32_t)(left < NBD_READ_PIECE ? left : NBD_READ_PIECE);
    if (req->stream_err < 0) {
        memset(req->buf, 0, req->piece_len);
        nbd_req_done(breq, 0);
        return;
    }
    memset(breq, 0, offsetof(struct backend_req, sqe));
    breq->ctx = conn->base.ctx;
    breq->offset = req->offset + req->piece_off;
    breq->count = req->piece_len;
    breq->done = nbd_req_done;
    req->data_iov.iov_base = req->buf;
    req->data_iov.iov_len = req->piece_len;
    breq->iov = &req->data_iov;
    breq->iovcnt = 1;
    backend_read(conn->export->backend, breq);
}

void
nbd_req_payload_done(struct nbd_conn *conn)
{
    struct nbd_req *req = conn->rx_req;

    conn->rx_req = NULL;
    conn->state = NBD_STATE_TX_HEADER;
    nbd_req_submit(conn, req);
}

/* A request given up before it was answered (we hang up). */
static void
nbd_req_drop(struct nbd_conn *conn, struct nbd_req *req, const char *why)
{
    STATS_RELAXED_ADD(conn->stats.inflight, -1);
    STATS_RELAXED_ADD(conn->export_stats->inflight, -1);
    req->accounted = true;
    nbd_conn_release_req(conn, req);
    conn_close_soon(&conn->base, why);
}

/* Parse the header at p (its magic checked) into req, compact or
 * extended as negotiated. */
static void
nbd_req_parse(struct nbd_conn *conn, struct nbd_req *req, const uint8_t *p)
{
    if (conn->extended) {
        struct nbd_wire_extended_request w;

        memcpy(&w, p, sizeof w);
        req->flags = be16toh(w.flags);
        req->type = be16toh(w.type);
        req->cookie = w.cookie; /* opaque: echoed as received */
        req->offset = be64toh(w.offset);
        req->count = be64toh(w.count);
        req->payload = req->flags & NBD_CMD_FLAG_PAYLOAD_LEN ? req->count : 0;
    } else {
        struct nbd_wire_request w;

        memcpy(&w, p, sizeof w);
        req->flags = be16toh(w.flags);
        req->type = be16toh(w.type);
        req->cookie = w.cookie;
        req->offset = be64toh(w.offset);
        req->count = be32toh(w.count);
        req->payload = req->type == NBD_CMD_WRITE ? req->count : 0;
    }
}

/* The payload length of the header at p, before it is taken. */
static uint64_t
nbd_req_peek_payload(const struct nbd_conn *conn, const uint8_t *p)
{
    uint16_t flags, type;
    uint32_t c32;
    uint64_t c64;

    memcpy(&flags, p + 4, 2);
    memcpy(&type, p + 6, 2);
    if (conn->extended) {
        memcpy(&c64, p + 24, 8);
        return be16toh(flags) & NBD_CMD_FLAG_PAYLOAD_LEN ? be64toh(c64) : 0;
    }
    memcpy(&c32, p + 24, 4);
    return be16toh(type) == NBD_CMD_WRITE ? be32toh(c32) : 0;
}

bool
nbd_req_process(struct nbd_conn *conn)
{
    struct nbd_req *req;
    size_t avail = conn->base.rx_end - conn->base.rx_start;
    size_t hlen = conn->extended ? sizeof(struct nbd_wire_extended_request)
                                 : sizeof(struct nbd_wire_request);
    uint32_t want = conn->extended ? NBD_EXTENDED_REQUEST_MAGIC
                                   : NBD_REQUEST_MAGIC;
    const uint8_t *p = conn->base.rx + conn->base.rx_start;
    uint32_t magic;
    uint16_t type;
    uint64_t max = conn->srv->cfg->nbd_max_payload;

    if (avail < hlen) {
        return false;
    }
    memcpy(&magic, p, 4);
    magic = be32toh(magic);
    if (magic != want) {
        /* The other mode's header, or garbage: framing is lost. */
        conn_close_soon(&conn->base,
                        magic == NBD_REQUEST_MAGIC
                            ? "compact request after extended headers were "
                              "negotiated"
                        : magic == NBD_EXTENDED_REQUEST_MAGIC
                            ? "extended request without extended headers"
                            : "bad request magic");
        return false;
    }
    memcpy(&type, p + 6, 2);
    if (be16toh(type) == NBD_CMD_DISC) {
        conn->base.rx_start += hlen;
        log_debug("nbd %s: NBD_CMD_DISC", conn->base.peer);
        /* Answer what is in flight, then close. */
        conn_close_soon(&conn->base, NULL);
        return false;
    }
    req = conn->free_reqs;
    if (req == NULL) {
        conn->base.rx_paused = true; /* resumed by nbd_conn_release_req */
        return false;
    }
    if (conn->write_bytes > 0) {
        /* Bound what a connection's writes buffer: this one waits for
         * others to complete (a refused payload costs nothing). */
        uint64_t len = nbd_req_peek_payload(conn, p);

        if (len <= max && conn->write_bytes + len > NBD_CONN_WRITE_BUDGET) {
            conn->base.rx_paused = true;
            return false;
        }
    }
    conn->free_reqs = req->next_free;
    conn->inflight++;
    conn->base.rx_start += hlen;

    nbd_req_parse(conn, req, p);
    req->discard = false;
    req->accounted = false;
    req->piece_off = 0;
    req->piece_len = 0;
    req->stream_err = 0;
    req->start_ns = aio_ctx_now(conn->base.ctx);
    stats_io_start(&conn->stats);
    stats_io_start(conn->export_stats);
    req->error = nbd_req_validate(conn, req);

    if (req->payload == 0) {
        nbd_req_submit(conn, req);
        return conn->base.life == CONN_OPEN;
    }

    /* A payload follows the header whatever we think of it.  Over
     * max-payload: with extended headers the protocol asks for a hang-up;
     * compact, up to 32 MiB it is consumed and refused (the protocol says
     * no payload that size is an attack), beyond that we hang up unread. */
    if (req->payload > max) {
        nbd_req_log_invalid(conn, req, "payload longer than max-payload");
        if (conn->extended || req->payload > NBD_MAX_DISCARD_PAYLOAD) {
            nbd_req_drop(conn, req, "payload too large to accept");
            return false;
        }
        req->error = -EINVAL;
    }
    /* A refused payload is dropped as it arrives, never buffered. */
    req->discard = req->error < 0;
    if (!req->discard && nbd_req_buffer(req, req->payload) < 0) {
        nbd_req_drop(conn, req, "out of memory for a write payload");
        return false;
    }
    if (!req->discard) {
        req->budget = req->payload;
        conn->write_bytes += req->budget;
    }
    avail = conn->base.rx_end - conn->base.rx_start;
    if (avail > req->payload) {
        avail = req->payload;
    }
    if (!req->discard) {
        memcpy(req->buf, conn->base.rx + conn->base.rx_start, avail);
    }
    conn->base.rx_start += avail;
    conn->rx_req = req;
    conn->rx_got = avail;
    conn->state = NBD_STATE_TX_PAYLOAD;
    return true;
}
