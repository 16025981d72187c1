/* SPDX-License-Identifier: MIT */
/*
 * Replies: errno mapping, simple replies, and the structured chunks of
 * READ (OFFSET_DATA / OFFSET_HOLE) and BLOCK_STATUS.  Headers are written
 * into the request's own header area and the data is sent from the
 * request's buffer: building a reply allocates nothing.  With extended
 * headers every reply is a chunk with the 32-byte header (no simple
 * replies, even for success without data) and block status uses the
 * 64-bit BLOCK_STATUS_EXT descriptors.
 *
 * A READ longer than NBD_READ_PIECE is replied to a piece at a time (see
 * nbd-request.c).  With chunks, each piece is its own DATA/HOLE chunks,
 * DONE on the last one.  A simple reply (or one DF data chunk) is one
 * header and then all the data: its pieces are marked so nothing else is
 * sent between them (nbd_conn_queue), and a failure after its header went
 * out is a hard disconnect (simple, as the protocol says) or zero padding
 * to the end of the chunk then an error chunk (DF).
 *
 * Reads of zeroed regions: with structured replies and without DF, runs of
 * at least NBD_MIN_HOLE zero bytes (aligned to 4 KiB) are sent as
 * OFFSET_HOLE chunks, which is what lets a client skip them; at most
 * NBD_MAX_READ_CHUNKS chunks per reply, the rest goes as data.  The scan
 * only runs on reads of at least 64 KiB, where it can pay for itself.
 */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "log.h"
#include "nbd/nbd-internal.h"

#define NBD_HOLE_SCAN_MIN (64 * 1024)

uint32_t
nbd_reply_errno(int err)
{
    switch (-err) {
    case 0: return NBD_SUCCESS;
    case EPERM:
    case EROFS: return NBD_EPERM;
    case EIO: return NBD_EIO;
    case ENOMEM: return NBD_ENOMEM;
    case EINVAL: return NBD_EINVAL;
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return NBD_ENOSPC;
    case EOVERFLOW: return NBD_EOVERFLOW;
    case ENOTSUP:
#if EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP:
#endif
        return NBD_ENOTSUP;
    case ESHUTDOWN: return NBD_ESHUTDOWN;
    default: return NBD_EIO;
    }
}

static void
nbd_reply_release(struct nbd_conn *conn, struct nbd_tx *tx)
{
    struct nbd_req *req = (struct nbd_req *)((char *)tx - offsetof(struct nbd_req, tx));

    if (!req->reply_done && conn->base.life != CONN_DEAD) {
        nbd_req_read_next(conn, req); /* the next piece of a READ */
        return;
    }
    nbd_req_account(conn, req, req->reply_done ? 0 : -EIO);
    nbd_conn_release_req(conn, req);
}

/* Append a chunk header (structured or extended, as negotiated) at *pos
 * of req->hdr; returns it. */
static uint8_t *
nbd_reply_chunk(const struct nbd_conn *conn, struct nbd_req *req, size_t *pos,
                uint16_t flags, uint16_t type, uint64_t length)
{
    uint8_t *p = req->hdr + *pos;

    if (conn->extended) {
        struct nbd_wire_extended_reply h = {
            .magic = htobe32(NBD_EXTENDED_REPLY_MAGIC),
            .flags = htobe16(flags),
            .type = htobe16(type),
            .cookie = req->cookie,
            .offset = htobe64(req->offset),
            .length = htobe64(length),
        };

        memcpy(p, &h, sizeof h);
        *pos += sizeof h;
    } else {
        struct nbd_wire_structured_reply h = {
            .magic = htobe32(NBD_STRUCTURED_REPLY_MAGIC),
            .flags = htobe16(flags),
            .type = htobe16(type),
            .cookie = req->cookie,
            .length = htobe32((uint32_t)length),
        };

        memcpy(p, &h, sizeof h);
        *pos += sizeof h;
    }
    return p;
}

static void
nbd_reply_add_iov(struct nbd_req *req, const void *base, size_t len)
{
    struct nbd_tx *tx = &req->tx;

    tx->iov[tx->iovcnt].iov_base = (void *)base;
    tx->iov[tx->iovcnt].iov_len = len;
    tx->iovcnt++;
}

/* An NBD_REPLY_TYPE_ERROR chunk (DONE) at *pos of req->hdr. */
static void
nbd_reply_error_chunk(const struct nbd_conn *conn, struct nbd_req *req,
                      size_t *pos, int err)
{
    const char *msg = strerror(-err);
    size_t msglen = strlen(msg);
    uint32_t be_err = htobe32(nbd_reply_errno(err));
    uint16_t be_len;

    if (msglen > 64) {
        msglen = 64;
    }
    be_len = htobe16((uint16_t)msglen);
    nbd_reply_chunk(conn, req, pos, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR,
                    6 + msglen);
    memcpy(req->hdr + *pos, &be_err, 4);
    memcpy(req->hdr + *pos + 4, &be_len, 2);
    memcpy(req->hdr + *pos + 6, msg, msglen);
    *pos += 6 + msglen;
}

static void
nbd_reply_error(struct nbd_conn *conn, struct nbd_req *req, int err)
{
    if (conn->structured) {
        size_t pos = 0;

        nbd_reply_error_chunk(conn, req, &pos, err);
        nbd_reply_add_iov(req, req->hdr, pos);
    } else {
        struct nbd_wire_simple_reply r = {
            .magic = htobe32(NBD_SIMPLE_REPLY_MAGIC),
            .error = htobe32(nbd_reply_errno(err)),
            .cookie = req->cookie,
        };

        memcpy(req->hdr, &r, sizeof r);
        nbd_reply_add_iov(req, req->hdr, sizeof r);
    }
}

/* Success without data: a simple reply, or with extended headers (which
 * forbid simple replies) a NONE chunk. */
static void
nbd_reply_ok(struct nbd_conn *conn, struct nbd_req *req)
{
    if (conn->extended) {
        size_t pos = 0;

        nbd_reply_chunk(conn, req, &pos, NBD_REPLY_FLAG_DONE,
                        NBD_REPLY_TYPE_NONE, 0);
        nbd_reply_add_iov(req, req->hdr, pos);
    } else {
        struct nbd_wire_simple_reply r = {
            .magic = htobe32(NBD_SIMPLE_REPLY_MAGIC),
            .error = 0,
            .cookie = req->cookie,
        };

        memcpy(req->hdr, &r, sizeof r);
        nbd_reply_add_iov(req, req->hdr, sizeof r);
    }
}

static bool
nbd_reply_block_is_zero(const uint8_t *p, size_t len)
{
    /* Compare the block with itself shifted by 16 bytes: zero iff the first
     * 16 are zero and every byte equals the one 16 before it. */
    static const uint8_t zero[16];

    return memcmp(p, zero, 16) == 0 && memcmp(p, p + 16, len - 16) == 0;
}

/* Emit one OFFSET_DATA or OFFSET_HOLE chunk for [off, end) of the piece
 * in buf; DONE on the last chunk of the last piece. */
static void
nbd_reply_read_chunk(const struct nbd_conn *conn, struct nbd_req *req,
                     size_t *pos, bool hole, uint32_t off, uint32_t end)
{
    bool last = end == req->piece_len &&
                req->piece_off + req->piece_len == req->count;
    uint16_t flags = last ? NBD_REPLY_FLAG_DONE : 0;
    uint64_t be_off = htobe64(req->offset + req->piece_off + off);
    size_t hlen = conn->extended ? sizeof(struct nbd_wire_extended_reply)
                                 : sizeof(struct nbd_wire_structured_reply);
    uint8_t *h;

    if (hole) {
        uint32_t be_len = htobe32(end - off);

        h = nbd_reply_chunk(conn, req, pos, flags, NBD_REPLY_TYPE_OFFSET_HOLE,
                            12);
        memcpy(req->hdr + *pos, &be_off, 8);
        memcpy(req->hdr + *pos + 8, &be_len, 4);
        *pos += 12;
        nbd_reply_add_iov(req, h, hlen + 12);
    } else {
        h = nbd_reply_chunk(conn, req, pos, flags, NBD_REPLY_TYPE_OFFSET_DATA,
                            8 + (uint64_t)(end - off));
        memcpy(req->hdr + *pos, &be_off, 8);
        *pos += 8;
        nbd_reply_add_iov(req, h, hlen + 8);
        nbd_reply_add_iov(req, req->buf + off, end - off);
    }
}

/* Whether the aligned 4 KiB block at off of the piece is all zeros. */
static bool
nbd_reply_zero_at(const struct nbd_req *req, uint32_t off)
{
    return (req->offset + req->piece_off + off) % 4096 == 0 &&
           off + 4096 <= req->piece_len &&
           nbd_reply_block_is_zero(req->buf + off, 4096);
}

/* The piece in buf as DATA and HOLE chunks. */
static void
nbd_reply_read_chunks(struct nbd_conn *conn, struct nbd_req *req)
{
    size_t pos = 0;
    uint32_t off = 0, len = req->piece_len;
    uint64_t base = req->offset + req->piece_off;
    int chunks = 0;
    bool scan = len >= NBD_HOLE_SCAN_MIN;

    while (off < len) {
        uint32_t end;
        /* Keep one chunk in reserve so the rest can always go as data. */
        bool room = scan && chunks < NBD_MAX_READ_CHUNKS - 1;

        if (room && nbd_reply_zero_at(req, off)) {
            end = off + 4096;
            while (nbd_reply_zero_at(req, end)) {
                end += 4096;
            }
            nbd_reply_read_chunk(conn, req, &pos, true, off, end);
        } else {
            /* Data up to the next aligned zero block (or the end). */
            end = (uint32_t)((base + off) / 4096 * 4096 + 4096 - base);
            if (!room || chunks >= NBD_MAX_READ_CHUNKS - 2 || end > len) {
                end = len;
            }
            while (end < len && !nbd_reply_zero_at(req, end)) {
                end = end + 4096 < len ? end + 4096 : len;
            }
            nbd_reply_read_chunk(conn, req, &pos, false, off, end);
        }
        chunks++;
        off = end;
    }
}

/*
 * A piece of a reply that is one header and then all the data: a simple
 * reply, or one OFFSET_DATA chunk for DF.  The header goes with the first
 * piece; a DF chunk split in pieces ends with a NONE chunk (an error
 * could still be met while it was being sent, so it cannot be DONE
 * itself) or the error chunk of a failure met on the way.
 */
static void
nbd_reply_read_whole(struct nbd_conn *conn, struct nbd_req *req)
{
    bool first = req->piece_off == 0;
    bool last = req->piece_off + req->piece_len == req->count;
    size_t pos = 0;

    if (first && !conn->structured) {
        nbd_reply_ok(conn, req);
        pos = sizeof(struct nbd_wire_simple_reply);
    } else if (first) {
        uint64_t be_off = htobe64(req->offset);

        nbd_reply_chunk(conn, req, &pos, last ? NBD_REPLY_FLAG_DONE : 0,
                        NBD_REPLY_TYPE_OFFSET_DATA, 8 + req->count);
        memcpy(req->hdr + pos, &be_off, 8);
        pos += 8;
        nbd_reply_add_iov(req, req->hdr, pos);
    }
    nbd_reply_add_iov(req, req->buf, req->piece_len);
    if (last && !first && conn->structured) {
        size_t at = pos;

        if (req->stream_err < 0) {
            nbd_reply_error_chunk(conn, req, &pos, req->stream_err);
        } else {
            nbd_reply_chunk(conn, req, &pos, NBD_REPLY_FLAG_DONE,
                            NBD_REPLY_TYPE_NONE, 0);
        }
        nbd_reply_add_iov(req, req->hdr + at, pos - at);
    }
    req->tx.more = !last;
}

/* Returns false when the reply cannot go on (the connection is killed). */
static bool
nbd_reply_read(struct nbd_conn *conn, struct nbd_req *req, int err)
{
    bool whole = !conn->structured || (req->flags & NBD_CMD_FLAG_DF);

    if (err < 0 && (req->piece_off == 0 || !whole)) {
        /* Nothing of this reply is out, or chunks that stand alone are:
         * an error reply (chunk) ends it. */
        nbd_reply_error(conn, req, err);
        req->reply_done = true;
        return true;
    }
    if (err < 0 && !conn->structured) {
        /* The protocol: an error after a simple reply header said
         * success is a hard disconnect, no further data. */
        log_warn("nbd %s: read failed in the middle of a %" PRIu64
                 "-byte simple reply: %s; disconnecting",
                 conn->base.peer, req->count, strerror(-err));
        conn_kill(&conn->base);
        return false;
    }
    if (err < 0) {
        /* DF: the chunk is completed with zeros, then the error. */
        req->stream_err = err;
        memset(req->buf, 0, req->piece_len);
    }
    req->reply_done = req->piece_off + req->piece_len == req->count;
    if (req->count == 0 && conn->structured) {
        size_t pos = 0;

        nbd_reply_chunk(conn, req, &pos, NBD_REPLY_FLAG_DONE,
                        NBD_REPLY_TYPE_NONE, 0);
        nbd_reply_add_iov(req, req->hdr, pos);
    } else if (req->count == 0) {
        nbd_reply_ok(conn, req);
    } else if (whole) {
        nbd_reply_read_whole(conn, req);
    } else {
        nbd_reply_read_chunks(conn, req);
    }
    return true;
}

static void
nbd_reply_block_status(struct nbd_conn *conn, struct nbd_req *req)
{
    size_t pos = 0, n = 0;
    uint64_t covered = 0;
    /* Compact: id, then (32-bit length, 32-bit flags); extended: id,
     * count, then (64-bit length, 64-bit flags). */
    size_t dlen = conn->extended ? 16 : 8, dhead = conn->extended ? 8 : 4;
    uint8_t *d = req->bs_buf + dhead;
    uint32_t be_id = htobe32(NBD_CONTEXT_BASE_ALLOCATION_ID);

    memcpy(req->bs_buf, &be_id, 4);
    for (size_t i = 0; i < req->breq.nextents && covered < req->count; i++) {
        uint64_t len = req->breq.extents[i].length;
        uint32_t flags = 0;

        if (len > req->count - covered) {
            len = req->count - covered; /* never past the request */
        }
        if (len == 0) {
            continue;
        }
        if (req->breq.extents[i].type & BACKEND_EXTENT_HOLE) {
            flags |= NBD_STATE_HOLE;
        }
        if (req->breq.extents[i].type & BACKEND_EXTENT_ZERO) {
            flags |= NBD_STATE_ZERO;
        }
        if (conn->extended) {
            uint64_t be_len = htobe64(len), be_flags = htobe64(flags);

            memcpy(d + dlen * n, &be_len, 8);
            memcpy(d + dlen * n + 8, &be_flags, 8);
        } else {
            uint32_t be_len = htobe32((uint32_t)len), be_flags = htobe32(flags);

            memcpy(d + dlen * n, &be_len, 4);
            memcpy(d + dlen * n + 4, &be_flags, 4);
        }
        n++;
        covered += len;
        if (req->flags & NBD_CMD_FLAG_REQ_ONE) {
            break;
        }
    }
    if (n == 0) {
        /* A backend that said nothing: "data" is always a safe answer. */
        memset(d, 0, dlen);
        if (conn->extended) {
            uint64_t be_len = htobe64(req->count);

            memcpy(d, &be_len, 8);
        } else {
            uint32_t be_len = htobe32((uint32_t)req->count);

            memcpy(d, &be_len, 4);
        }
        n = 1;
    }
    if (conn->extended) {
        uint32_t be_n = htobe32((uint32_t)n);

        memcpy(req->bs_buf + 4, &be_n, 4);
    }
    nbd_reply_chunk(conn, req, &pos, NBD_REPLY_FLAG_DONE,
                    conn->extended ? NBD_REPLY_TYPE_BLOCK_STATUS_EXT
                                   : NBD_REPLY_TYPE_BLOCK_STATUS,
                    dhead + dlen * n);
    nbd_reply_add_iov(req, req->hdr, pos);
    nbd_reply_add_iov(req, req->bs_buf, dhead + dlen * n);
}

void
nbd_reply_queue(struct nbd_conn *conn, struct nbd_req *req, int err)
{
    req->tx.iovcnt = 0;
    req->tx.release = nbd_reply_release;
    req->tx.owner = req;
    req->tx.more = false;
    req->reply_done = true;
    if (req->type == NBD_CMD_READ) {
        if (!nbd_reply_read(conn, req, err)) {
            nbd_conn_release_req(conn, req); /* killed: nothing queued */
            return;
        }
    } else if (err < 0) {
        nbd_reply_error(conn, req, err);
    } else if (req->type == NBD_CMD_BLOCK_STATUS) {
        nbd_reply_block_status(conn, req);
    } else {
        nbd_reply_ok(conn, req);
    }
    nbd_conn_queue(conn, &req->tx);
}
