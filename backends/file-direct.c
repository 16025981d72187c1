/* SPDX-License-Identifier: MIT */
/*
 * The file backend's O_DIRECT path (see file.c): requests whose offset,
 * length or buffers are not aligned to the device's block go through a
 * bounce buffer.  Reads read the aligned range and copy out; writes read
 * the partial head and tail blocks, copy in and write the aligned range.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/file-internal.h"
#include "util/minmax.h"

/* The bytes of [bounce_offset, + bounce_len) the request really changes. */
void
file_bounce_range(const struct backend_req *req, uint64_t *lo, uint64_t *hi)
{
    if (req->op == BACKEND_OP_ZERO) {
        *lo = req->offset + req->progress;
        *hi = MIN(req->offset + req->count,
                  req->bounce_offset + req->bounce_len);
    } else {
        *lo = req->offset;
        *hi = req->offset + req->count;
    }
}

/* Allocate req->bounce covering [lo, hi) aligned.  0 or -ENOMEM. */
int
file_bounce_alloc(struct file_store *h, struct backend_req *req, uint64_t lo,
                  uint64_t hi)
{
    uint64_t alo = file_align_down(lo, h->align);
    uint64_t ahi = file_align_up(hi, h->align);
    void *p;

    if (req->bounce && req->bounce_len >= ahi - alo) {
        p = req->bounce; /* the zero fallback reuses its block */
    } else {
        free(req->bounce);
        req->bounce = NULL;
        if (posix_memalign(&p, MAX(h->align, FILE_DIRECT_ALIGN),
                           (size_t)(ahi - alo)) != 0) {
            return -ENOMEM;
        }
    }
    req->bounce = p;
    req->bounce_offset = alo;
    req->bounce_len = (size_t)(ahi - alo);
    req->step_progress = 0;
    return 0;
}

/* After the head (or nothing) was read: read the tail, or fill and write. */
void
file_rmw_next(struct file_store *h, struct backend_req *req, bool head_read)
{
    uint64_t lo, hi;
    uint8_t *dst;

    file_bounce_range(req, &lo, &hi);
    req->step_progress = 0;
    if (req->stage != FILE_STAGE_RMW_TAIL && (hi & (h->align - 1)) != 0
        && !(head_read && req->bounce_len == h->align)) {
        req->stage = FILE_STAGE_RMW_TAIL;
        file_submit(h, req);
        return;
    }
    dst = (uint8_t *)req->bounce + (lo - req->bounce_offset);
    if (req->op == BACKEND_OP_ZERO) {
        memset(dst, 0, hi - lo);
    } else {
        for (int i = 0; i < req->iovcnt; i++) {
            memcpy(dst, req->iov[i].iov_base, req->iov[i].iov_len);
            dst += req->iov[i].iov_len;
        }
    }
    req->stage = FILE_STAGE_BOUNCE_WRITE;
    file_submit(h, req);
}

/* Start a bounced write of [lo, hi) (set up by file_bounce_alloc). */
void
file_rmw_start(struct file_store *h, struct backend_req *req)
{
    uint64_t lo, hi;

    file_bounce_range(req, &lo, &hi);
    if ((lo & (h->align - 1)) != 0) {
        req->stage = FILE_STAGE_RMW_HEAD;
        req->step_progress = 0;
        file_submit(h, req);
    } else {
        /* Any stage but RMW_TAIL: rmw_next decides whether to read it. */
        req->stage = FILE_STAGE_BOUNCE_WRITE;
        file_rmw_next(h, req, false);
    }
}

void
file_bounce_copy_out(struct backend_req *req)
{
    const uint8_t *src = (const uint8_t *)req->bounce
                         + (req->offset - req->bounce_offset);

    for (int i = 0; i < req->iovcnt; i++) {
        memcpy(req->iov[i].iov_base, src, req->iov[i].iov_len);
        src += req->iov[i].iov_len;
    }
}

bool
file_req_aligned(const struct file_store *h, const struct backend_req *req)
{
    uint64_t mask = h->align - 1;

    if (((req->offset | req->count) & mask) != 0) {
        return false;
    }
    for (int i = 0; i < req->iovcnt; i++) {
        if ((((uintptr_t)req->iov[i].iov_base | req->iov[i].iov_len) & mask)
            != 0) {
            return false;
        }
    }
    return true;
}
