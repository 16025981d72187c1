/* SPDX-License-Identifier: MIT */
/*
 * The file backend's O_DIRECT bounce buffers, the bottom of its three
 * layers: file.c (open, capabilities, the inline operations) calls
 * file-io.c (the io_uring request path), which calls this file; nothing
 * here calls back up.  Requests whose offset, length or buffers are not
 * aligned to the device's block go through a bounce buffer: reads read the
 * aligned range and copy out; writes read the partial head and tail blocks,
 * copy in and write the aligned range.  This file only plans and copies: it
 * allocates the buffer, chooses a bounced write's next stage, says which
 * piece of the buffer each stage transfers and copies between the buffer
 * and the caller's iovecs.  Submitting and reaping the SQEs stays in
 * file-io.c, so the bounce path needs no I/O primitive of its own and the
 * request state machine has a single place that submits.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/file-internal.h"
#include "util/minmax.h"

/* The bytes of [bounce_offset, + bounce_len) the request really changes. */
void
file_direct_range(const struct backend_req *req, uint64_t *lo, uint64_t *hi)
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
file_direct_alloc(const struct file_store *h, struct backend_req *req,
                  uint64_t lo, uint64_t hi)
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

/*
 * After the head (or nothing) was read: read the tail next, or fill the
 * buffer and write it.  A single-block bounce whose head was read has its
 * tail in the same block, so it is not read twice.
 */
void
file_direct_write_next(const struct file_store *h, struct backend_req *req,
                       bool head_read)
{
    uint64_t lo, hi;
    uint8_t *dst;

    file_direct_range(req, &lo, &hi);
    req->step_progress = 0;
    if (req->stage != FILE_STAGE_RMW_TAIL && (hi & (h->align - 1)) != 0
        && !(head_read && req->bounce_len == h->align)) {
        req->stage = FILE_STAGE_RMW_TAIL;
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
}

/* The first stage of a bounced write (set up by file_direct_alloc). */
void
file_direct_write_start(const struct file_store *h, struct backend_req *req)
{
    uint64_t lo, hi;

    file_direct_range(req, &lo, &hi);
    if ((lo & (h->align - 1)) != 0) {
        req->stage = FILE_STAGE_RMW_HEAD;
        req->step_progress = 0;
    } else {
        /* Any stage but RMW_TAIL: write_next decides whether to read it. */
        req->stage = FILE_STAGE_BOUNCE_WRITE;
        file_direct_write_next(h, req, false);
    }
}

void
file_direct_step(const struct file_store *h, const struct backend_req *req,
                 void **buf, uint64_t *len, uint64_t *pos)
{
    uint64_t at = 0, n = req->bounce_len;

    switch ((enum file_stage)req->stage) {
    case FILE_STAGE_RMW_HEAD:
        n = h->align;
        break;
    case FILE_STAGE_RMW_TAIL:
        at = req->bounce_len - h->align;
        n = h->align;
        break;
    default: /* BOUNCE_READ, BOUNCE_WRITE: the whole buffer */
        break;
    }
    *buf = (uint8_t *)req->bounce + at + req->step_progress;
    *len = n - req->step_progress;
    *pos = req->bounce_offset + at + req->step_progress;
}

void
file_direct_copy_out(struct backend_req *req)
{
    const uint8_t *src = (const uint8_t *)req->bounce
                         + (req->offset - req->bounce_offset);

    for (int i = 0; i < req->iovcnt; i++) {
        memcpy(req->iov[i].iov_base, src, req->iov[i].iov_len);
        src += req->iov[i].iov_len;
    }
}

bool
file_direct_aligned(const struct file_store *h, const struct backend_req *req)
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
