/* SPDX-License-Identifier: MIT */
/*
 * Replies: errno mapping, simple replies, and the structured chunks of
 * READ (OFFSET_DATA / OFFSET_HOLE) and BLOCK_STATUS.  Headers are written
 * into the request's own header area and the data is sent from the
 * request's buffer: building a reply allocates nothing.
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

    nbd_conn_release_req(conn, req);
}

/* Append a structured chunk header at *pos of req->hdr; returns it. */
static uint8_t *
nbd_reply_chunk(struct nbd_req *req, size_t *pos, uint16_t flags,
                uint16_t type, uint32_t length)
{
    struct nbd_wire_structured_reply h = {
        .magic = htobe32(NBD_STRUCTURED_REPLY_MAGIC),
        .flags = htobe16(flags),
        .type = htobe16(type),
        .cookie = req->cookie,
        .length = htobe32(length),
    };
    uint8_t *p = req->hdr + *pos;

    memcpy(p, &h, sizeof h);
    *pos += sizeof h;
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

static void
nbd_reply_error(struct nbd_conn *conn, struct nbd_req *req, int err)
{
    uint32_t nbd_err = nbd_reply_errno(err);

    if (conn->structured) {
        const char *msg = strerror(-err);
        size_t msglen = strlen(msg), pos = 0;
        uint32_t be_err = htobe32(nbd_err);
        uint16_t be_len;

        if (msglen > 64) {
            msglen = 64;
        }
        be_len = htobe16((uint16_t)msglen);
        nbd_reply_chunk(req, &pos, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR,
                        (uint32_t)(6 + msglen));
        memcpy(req->hdr + pos, &be_err, 4);
        memcpy(req->hdr + pos + 4, &be_len, 2);
        memcpy(req->hdr + pos + 6, msg, msglen);
        pos += 6 + msglen;
        nbd_reply_add_iov(req, req->hdr, pos);
    } else {
        struct nbd_wire_simple_reply r = {
            .magic = htobe32(NBD_SIMPLE_REPLY_MAGIC),
            .error = htobe32(nbd_err),
            .cookie = req->cookie,
        };

        memcpy(req->hdr, &r, sizeof r);
        nbd_reply_add_iov(req, req->hdr, sizeof r);
    }
}

static void
nbd_reply_simple_ok(struct nbd_req *req, bool with_data)
{
    struct nbd_wire_simple_reply r = {
        .magic = htobe32(NBD_SIMPLE_REPLY_MAGIC),
        .error = 0,
        .cookie = req->cookie,
    };

    memcpy(req->hdr, &r, sizeof r);
    nbd_reply_add_iov(req, req->hdr, sizeof r);
    if (with_data && req->count) {
        nbd_reply_add_iov(req, req->buf, req->count);
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

/* Emit one OFFSET_DATA or OFFSET_HOLE chunk for [off, end). */
static void
nbd_reply_read_chunk(struct nbd_req *req, size_t *pos, bool hole,
                     uint32_t off, uint32_t end)
{
    uint16_t flags = end == req->count ? NBD_REPLY_FLAG_DONE : 0;
    uint64_t be_off = htobe64(req->offset + off);
    uint8_t *h;

    if (hole) {
        uint32_t be_len = htobe32(end - off);

        h = nbd_reply_chunk(req, pos, flags, NBD_REPLY_TYPE_OFFSET_HOLE, 12);
        memcpy(req->hdr + *pos, &be_off, 8);
        memcpy(req->hdr + *pos + 8, &be_len, 4);
        *pos += 12;
        nbd_reply_add_iov(req, h, sizeof(struct nbd_wire_structured_reply) + 12);
    } else {
        h = nbd_reply_chunk(req, pos, flags, NBD_REPLY_TYPE_OFFSET_DATA,
                            8 + (end - off));
        memcpy(req->hdr + *pos, &be_off, 8);
        *pos += 8;
        nbd_reply_add_iov(req, h, sizeof(struct nbd_wire_structured_reply) + 8);
        nbd_reply_add_iov(req, req->buf + off, end - off);
    }
}

/* Whether the aligned 4 KiB block at off is all zeros. */
static bool
nbd_reply_zero_at(const struct nbd_req *req, uint32_t off)
{
    return (req->offset + off) % 4096 == 0 && off + 4096 <= req->count &&
           nbd_reply_block_is_zero(req->buf + off, 4096);
}

static void
nbd_reply_read(struct nbd_conn *conn, struct nbd_req *req)
{
    size_t pos = 0;
    uint32_t off = 0;
    int chunks = 0;
    bool scan = !(req->flags & NBD_CMD_FLAG_DF) &&
                req->count >= NBD_HOLE_SCAN_MIN;

    if (req->count == 0) {
        nbd_reply_chunk(req, &pos, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE, 0);
        nbd_reply_add_iov(req, req->hdr, pos);
        return;
    }
    while (off < req->count) {
        uint32_t end;
        /* Keep one chunk in reserve so the rest can always go as data. */
        bool room = scan && chunks < NBD_MAX_READ_CHUNKS - 1;

        if (room && nbd_reply_zero_at(req, off)) {
            end = off + 4096;
            while (nbd_reply_zero_at(req, end)) {
                end += 4096;
            }
            nbd_reply_read_chunk(req, &pos, true, off, end);
        } else {
            /* Data up to the next aligned zero block (or the end). */
            end = (uint32_t)((req->offset + off) / 4096 * 4096 + 4096 -
                             req->offset);
            if (!room || chunks >= NBD_MAX_READ_CHUNKS - 2 || end > req->count) {
                end = req->count;
            }
            while (end < req->count && !nbd_reply_zero_at(req, end)) {
                end = end + 4096 < req->count ? end + 4096 : req->count;
            }
            nbd_reply_read_chunk(req, &pos, false, off, end);
        }
        chunks++;
        off = end;
    }
}

static void
nbd_reply_block_status(struct nbd_conn *conn, struct nbd_req *req)
{
    size_t pos = 0, n = 0;
    uint64_t covered = 0;
    uint8_t *d = req->bs_buf + 4;
    uint32_t be_id = htobe32(NBD_CONTEXT_BASE_ALLOCATION_ID);

    memcpy(req->bs_buf, &be_id, 4);
    for (size_t i = 0; i < req->breq.nextents && covered < req->count; i++) {
        uint64_t len = req->breq.extents[i].length;
        uint32_t flags = 0, be_len, be_flags;

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
        be_len = htobe32((uint32_t)len);
        be_flags = htobe32(flags);
        memcpy(d + 8 * n, &be_len, 4);
        memcpy(d + 8 * n + 4, &be_flags, 4);
        n++;
        covered += len;
        if (req->flags & NBD_CMD_FLAG_REQ_ONE) {
            break;
        }
    }
    if (n == 0) {
        /* A backend that said nothing: "data" is always a safe answer. */
        uint32_t be_len = htobe32(req->count), zero = 0;

        memcpy(d, &be_len, 4);
        memcpy(d + 4, &zero, 4);
        n = 1;
    }
    nbd_reply_chunk(req, &pos, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_BLOCK_STATUS,
                    (uint32_t)(4 + 8 * n));
    nbd_reply_add_iov(req, req->hdr, pos);
    nbd_reply_add_iov(req, req->bs_buf, 4 + 8 * n);
}

void
nbd_reply_queue(struct nbd_conn *conn, struct nbd_req *req, int err)
{
    req->tx.iovcnt = 0;
    req->tx.release = nbd_reply_release;
    if (err < 0) {
        nbd_reply_error(conn, req, err);
    } else if (req->type == NBD_CMD_READ) {
        if (conn->structured) {
            nbd_reply_read(conn, req);
        } else {
            nbd_reply_simple_ok(req, true);
        }
    } else if (req->type == NBD_CMD_BLOCK_STATUS) {
        nbd_reply_block_status(conn, req);
    } else {
        nbd_reply_simple_ok(req, false);
    }
    nbd_conn_queue(conn, &req->tx);
}
