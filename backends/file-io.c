/* SPDX-License-Identifier: MIT */
/*
 * The file backend's io_uring request path: read, write, flush, trim and
 * write-zeroes, each on the io_uring of the I/O thread that submitted it
 * (aio_sqe_get on req->ctx), as SPDK's bdev_uring does.  It is the middle
 * of the backend's layers: file.c's ops table calls in here, and this
 * file calls down into file-direct.c for the O_DIRECT bounce buffers; it
 * is the only place that submits or completes a request.
 *
 * Each request is a small state machine kept in the private part of its
 * struct backend_req (req->stage), advanced by file_sqe_done() when a CQE
 * arrives:
 * - read/write: one READV/WRITEV of the caller's iovecs (READ/WRITE on the
 *   fast path of a single buffer).  A short transfer or -EAGAIN is
 *   requeued from req->progress (liburing's io_uring-cp): if the transfer
 *   ended on an iovec boundary the rest of the caller's array is submitted
 *   as is, otherwise the rest of the cut iovec goes as one plain READ/WRITE
 *   and the array continues after it.  No iovec is ever copied or changed.
 *   A read that returns 0 inside the export means the file shrank under
 *   us: -EIO, not zeros that were never written.  FUA is RWF_DSYNC.
 *   Unaligned O_DIRECT requests take the bounce stages file-direct.c sets
 *   up (see file.c for the policy).
 * - flush: FSYNC with IORING_FSYNC_DATASYNC.
 * - trim: FALLOCATE PUNCH_HOLE|KEEP_SIZE; a file system without it makes
 *   trim a successful no-op (trim is advisory).
 * - write-zeroes: PUNCH_HOLE with MAY_TRIM, else ZERO_RANGE; where the
 *   file system lacks ZERO_RANGE (tmpfs), PUNCH_HOLE then a KEEP_SIZE
 *   allocation; where it lacks both, writes from a static zero buffer,
 *   unless FAST_ZERO was asked (-ENOTSUP).  What a file system refused
 *   once is remembered and not asked again.  FUA on trim and zero adds an
 *   FSYNC step.
 *
 * Errors: the kernel's errno reaches the caller unchanged (EIO, ENOSPC,
 * EFBIG, EBADF...), except EDQUOT, reported as ENOSPC, and an -EAGAIN that
 * persists past FILE_MAX_RETRIES requeues, reported as EIO.  The first
 * failure of each kind (read, write or flush, with EIO, ENOSPC or another
 * errno) is logged with the export and the path, and later ones of that
 * kind are not: a file that shrank or a full disk fails every request
 * until someone acts, and one line per request would bury the first.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <inttypes.h>

#include <sys/uio.h>

#include "backends/backend.h"
#include "log.h"
#include "util/minmax.h"

#include "backends/file-internal.h"

/* Read by the kernel only; aligned for O_DIRECT writes. */
static uint8_t file_zero_buf[FILE_ZERO_BUF_SIZE]
    __attribute__((aligned(FILE_DIRECT_ALIGN)));

static void file_zero_next(struct file_store *h, struct backend_req *req);

static bool
file_is_eopnotsupp(int res)
{
    return res == -EOPNOTSUPP || res == -ENOTSUP || res == -ENOSYS;
}

static int
file_map_error(int res)
{
    if (res == -EDQUOT) {
        return -ENOSPC;
    }
    if (res == -EAGAIN || res == -EINTR) {
        return -EIO; /* only after FILE_MAX_RETRIES */
    }
    return res;
}

/* Log the first failure of its kind on this export (see the top). */
static void
file_log_failure(const struct backend_req *req, int err)
{
    struct file_store *h = req->handle;
    const char *what;
    unsigned op, class, bit;

    if (err == -ENOTSUP && (req->flags & BACKEND_FAST_ZERO)) {
        return; /* the answer the client asked for */
    }
    switch (req->op) {
    case BACKEND_OP_READ:
        op = 0;
        what = "read";
        break;
    case BACKEND_OP_FLUSH:
        op = 2;
        what = "flush";
        break;
    default:
        op = 1;
        what = req->op == BACKEND_OP_WRITE ? "write"
               : req->op == BACKEND_OP_ZERO ? "write-zeroes" : "trim";
        break;
    }
    class = err == -EIO ? 0 : err == -ENOSPC ? 1 : 2;
    bit = 1u << (op * 3 + class);
    if (atomic_fetch_or(&h->logged, bit) & bit) {
        return;
    }
    log_error("export %s: %s: %s of %" PRIu64 " bytes at %" PRIu64
              " failed: %s; later %s failures like it are not logged",
              h->name ? h->name : "?", h->path ? h->path : "?", what,
              req->count, req->offset, strerror(-err),
              op == 0 ? "read" : op == 1 ? "write" : "flush");
}

/* The end of a request: release what it holds and tell the caller. */
static void
file_finish(struct backend_req *req, int err)
{
    if (err < 0) {
        file_log_failure(req, err);
    }
    if (req->bounce) {
        free(req->bounce);
        req->bounce = NULL;
    }
    req->done(req, err);
}

/* --- Submission -------------------------------------------------------- */

static int
file_rw_flags(const struct backend_req *req)
{
    return (req->flags & BACKEND_FUA) ? RWF_DSYNC : 0;
}

/* Queue a single-buffer read or write. */
static void
file_prep_buf(struct file_store *h, struct backend_req *req, bool write,
              void *buf, uint64_t len, uint64_t pos)
{
    struct io_uring_sqe *sqe = aio_sqe_get(req->ctx, &req->sqe);
    unsigned n = (unsigned)MIN(len, FILE_MAX_SQE_BYTES);

    if (write) {
        io_uring_prep_write(sqe, h->fd, buf, n, pos);
        sqe->rw_flags = file_rw_flags(req);
    } else {
        io_uring_prep_read(sqe, h->fd, buf, n, pos);
    }
}

/* Queue the rest of a plain read/write from req->progress. */
static void
file_submit_rw(struct file_store *h, struct backend_req *req)
{
    bool write = req->op == BACKEND_OP_WRITE;
    uint64_t skip = req->progress;
    int idx = 0;
    struct io_uring_sqe *sqe;
    unsigned nr;

    while (idx < req->iovcnt && skip >= req->iov[idx].iov_len) {
        skip -= req->iov[idx].iov_len;
        idx++;
    }
    assert(idx < req->iovcnt);
    if (skip > 0 || idx == req->iovcnt - 1) {
        /* The single-buffer fast path, or the rest of a cut iovec. */
        file_prep_buf(h, req, write, (uint8_t *)req->iov[idx].iov_base + skip,
                      req->iov[idx].iov_len - skip, req->offset + req->progress);
        return;
    }
    nr = (unsigned)MIN(req->iovcnt - idx, FILE_MAX_IOVS);
    sqe = aio_sqe_get(req->ctx, &req->sqe);
    if (write) {
        io_uring_prep_writev2(sqe, h->fd, &req->iov[idx], nr,
                              req->offset + req->progress, file_rw_flags(req));
    } else {
        io_uring_prep_readv(sqe, h->fd, &req->iov[idx], nr,
                            req->offset + req->progress);
    }
}

static void
file_prep_fallocate(struct file_store *h, struct backend_req *req, int mode)
{
    struct io_uring_sqe *sqe = aio_sqe_get(req->ctx, &req->sqe);

    io_uring_prep_fallocate(sqe, h->fd, mode, (off_t)req->offset,
                            (off_t)req->count);
}

/* Queue the SQE of req's current stage. */
static void
file_submit(struct file_store *h, struct backend_req *req)
{
    struct io_uring_sqe *sqe;
    void *buf;
    uint64_t len, pos;

    switch ((enum file_stage)req->stage) {
    case FILE_STAGE_RW:
        file_submit_rw(h, req);
        break;
    case FILE_STAGE_BOUNCE_READ:
    case FILE_STAGE_RMW_HEAD:
    case FILE_STAGE_RMW_TAIL:
    case FILE_STAGE_BOUNCE_WRITE:
        file_direct_step(h, req, &buf, &len, &pos);
        file_prep_buf(h, req, req->stage == FILE_STAGE_BOUNCE_WRITE, buf, len,
                      pos);
        break;
    case FILE_STAGE_FSYNC:
        sqe = aio_sqe_get(req->ctx, &req->sqe);
        io_uring_prep_fsync(sqe, h->fd, IORING_FSYNC_DATASYNC);
        break;
    case FILE_STAGE_TRIM:
    case FILE_STAGE_ZERO_PUNCH_TRIM:
    case FILE_STAGE_ZERO_PUNCH:
        file_prep_fallocate(h, req,
                            FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
        break;
    case FILE_STAGE_ZERO_RANGE:
        file_prep_fallocate(h, req,
                            FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
        break;
    case FILE_STAGE_ZERO_ALLOC:
        file_prep_fallocate(h, req, FALLOC_FL_KEEP_SIZE);
        break;
    case FILE_STAGE_ZERO_WRITE:
        pos = req->offset + req->progress;
        len = MIN(req->count - req->progress, (uint64_t)FILE_ZERO_BUF_SIZE);
        if (h->direct) {
            len = file_align_down(len, h->align);
        }
        assert(len > 0);
        sqe = aio_sqe_get(req->ctx, &req->sqe);
        /* The kernel only reads the buffer. */
        io_uring_prep_write(sqe, h->fd, file_zero_buf, (unsigned)len, pos);
        break;
    }
}

/* --- Completion ------------------------------------------------------- */

/* Trim and zero are done: make them durable if FUA was asked. */
static void
file_falloc_done(struct file_store *h, struct backend_req *req)
{
    if (req->flags & BACKEND_FUA) {
        req->stage = FILE_STAGE_FSYNC;
        req->retries = 0;
        file_submit(h, req);
    } else {
        file_finish(req, 0);
    }
}

/* Zero by writing zeros, or refuse if only fast zeroing was acceptable. */
static void
file_zero_by_writing(struct file_store *h, struct backend_req *req)
{
    if (req->flags & BACKEND_FAST_ZERO) {
        file_finish(req, -ENOTSUP);
        return;
    }
    req->progress = 0;
    file_zero_next(h, req);
}

/*
 * Pick the cheapest way of zeroing the file system has not refused.  Each
 * EOPNOTSUPP clears one can_* flag and comes back here, so this ends.
 */
static void
file_zero_start(struct file_store *h, struct backend_req *req)
{
    /* Block devices refuse fallocate ranges not aligned to their blocks. */
    bool falloc_ok = !h->blkdev
                     || ((req->offset | req->count) & (h->lbs - 1)) == 0;

    req->retries = 0;
    if (!falloc_ok) {
        file_zero_by_writing(h, req);
    } else if ((req->flags & BACKEND_MAY_TRIM) && atomic_load(&h->can_punch)) {
        req->stage = FILE_STAGE_ZERO_PUNCH_TRIM;
        file_submit(h, req);
    } else if (atomic_load(&h->can_zero_range)) {
        req->stage = FILE_STAGE_ZERO_RANGE;
        file_submit(h, req);
    } else if (atomic_load(&h->can_punch) && atomic_load(&h->can_alloc)) {
        req->stage = FILE_STAGE_ZERO_PUNCH;
        file_submit(h, req);
    } else {
        file_zero_by_writing(h, req);
    }
}

/* The next piece of zeros to write, from req->progress. */
static void
file_zero_next(struct file_store *h, struct backend_req *req)
{
    uint64_t pos = req->offset + req->progress;
    uint64_t end = req->offset + req->count;
    int r;

    req->retries = 0;
    req->step_progress = 0;
    if (pos >= end) {
        file_falloc_done(h, req);
        return;
    }
    if (h->direct
        && ((pos & (h->align - 1)) != 0 || end - pos < h->align)) {
        /* A partial block: read-modify-write it through the bounce. */
        r = file_direct_alloc(h, req, pos,
                              MIN(end, file_align_down(pos, h->align)
                                           + h->align));
        if (r < 0) {
            file_finish(req, r);
            return;
        }
        file_direct_write_start(h, req);
        file_submit(h, req);
        return;
    }
    req->stage = FILE_STAGE_ZERO_WRITE;
    file_submit(h, req);
}

/* A transfer step of len bytes made res > 0 bytes of progress.  Returns
 * true if the step is complete. */
static bool
file_step_advance(struct backend_req *req, uint64_t *progress, uint64_t len,
                  int res)
{
    *progress += (uint64_t)res;
    req->retries = 0;
    return *progress >= len;
}

static void
file_sqe_done(struct aio_sqe_req *sqe, int res)
{
    struct backend_req *req = (struct backend_req *)(void *)
        ((char *)sqe - offsetof(struct backend_req, sqe));
    struct file_store *h = req->handle;
    enum file_stage stage = (enum file_stage)req->stage;

    if (res == -EAGAIN || res == -EINTR) {
        if (++req->retries <= FILE_MAX_RETRIES) {
            file_submit(h, req);
            return;
        }
        file_finish(req, file_map_error(res));
        return;
    }

    switch (stage) {
    case FILE_STAGE_RW:
        if (res < 0) {
            file_finish(req, file_map_error(res));
        } else if (res == 0) {
            file_finish(req, -EIO); /* the file shrank or vanished */
        } else if (file_step_advance(req, &req->progress, req->count, res)) {
            file_finish(req, 0);
        } else {
            file_submit(h, req);
        }
        return;

    case FILE_STAGE_BOUNCE_READ:
        if (res < 0) {
            file_finish(req, file_map_error(res));
        } else if (res == 0) {
            file_finish(req, -EIO);
        } else if (file_step_advance(req, &req->step_progress,
                                     req->bounce_len, res)) {
            file_direct_copy_out(req);
            file_finish(req, 0);
        } else {
            file_submit(h, req);
        }
        return;

    case FILE_STAGE_RMW_HEAD:
    case FILE_STAGE_RMW_TAIL:
        if (res < 0) {
            file_finish(req, file_map_error(res));
            return;
        }
        if (res == 0) {
            /* Past the end of a file that shrank: those bytes read as
             * zeros, and the write extends the file again. */
            void *buf;
            uint64_t len, pos;

            file_direct_step(h, req, &buf, &len, &pos);
            memset(buf, 0, len);
            res = (int)len;
        }
        if (file_step_advance(req, &req->step_progress, h->align, res)) {
            file_direct_write_next(h, req, true);
        }
        file_submit(h, req);
        return;

    case FILE_STAGE_BOUNCE_WRITE:
        if (res < 0) {
            file_finish(req, file_map_error(res));
        } else if (res == 0) {
            file_finish(req, -EIO);
        } else if (!file_step_advance(req, &req->step_progress,
                                      req->bounce_len, res)) {
            file_submit(h, req);
        } else if (req->op == BACKEND_OP_ZERO) {
            uint64_t lo, hi;

            file_direct_range(req, &lo, &hi);
            req->progress += hi - lo;
            file_zero_next(h, req);
        } else {
            file_finish(req, 0);
        }
        return;

    case FILE_STAGE_FSYNC:
        file_finish(req, res < 0 ? file_map_error(res) : 0);
        return;

    case FILE_STAGE_TRIM:
        if (file_is_eopnotsupp(res)) {
            atomic_store(&h->can_punch, false);
            file_finish(req, 0); /* trim is advisory */
        } else if (res < 0) {
            file_finish(req, file_map_error(res));
        } else {
            file_falloc_done(h, req);
        }
        return;

    case FILE_STAGE_ZERO_PUNCH_TRIM:
    case FILE_STAGE_ZERO_RANGE:
    case FILE_STAGE_ZERO_PUNCH:
        if (file_is_eopnotsupp(res)) {
            atomic_store(stage == FILE_STAGE_ZERO_RANGE ? &h->can_zero_range
                                                        : &h->can_punch,
                         false);
            file_zero_start(h, req); /* the next way */
        } else if (res < 0) {
            file_finish(req, file_map_error(res));
        } else if (stage == FILE_STAGE_ZERO_PUNCH) {
            req->stage = FILE_STAGE_ZERO_ALLOC;
            req->retries = 0;
            file_submit(h, req);
        } else {
            file_falloc_done(h, req);
        }
        return;

    case FILE_STAGE_ZERO_ALLOC:
        if (file_is_eopnotsupp(res)) {
            /* The range is a hole already, which reads as zeros. */
            atomic_store(&h->can_alloc, false);
            file_falloc_done(h, req);
        } else if (res < 0) {
            file_finish(req, file_map_error(res));
        } else {
            file_falloc_done(h, req);
        }
        return;

    case FILE_STAGE_ZERO_WRITE:
        if (res < 0) {
            file_finish(req, file_map_error(res));
        } else if (res == 0) {
            file_finish(req, -EIO);
        } else {
            req->progress += (uint64_t)res;
            file_zero_next(h, req);
        }
        return;
    }
    assert(!"unknown file stage");
}

/* --- Operations: entry points for file.c's ops table ----------------- */

static void
file_start(struct file_store *h, struct backend_req *req, enum file_stage s)
{
    req->handle = h;
    req->sqe.done = file_sqe_done;
    req->stage = s;
    req->retries = 0;
    req->progress = 0;
    req->step_progress = 0;
    req->bounce = NULL;
    req->bounce_len = 0;
}

void
file_io_read(void *handle, struct backend_req *req)
{
    struct file_store *h = handle;
    int r;

    file_start(h, req, FILE_STAGE_RW);
    if (h->direct && !file_direct_aligned(h, req)) {
        r = file_direct_alloc(h, req, req->offset, req->offset + req->count);
        if (r < 0) {
            file_finish(req, r);
            return;
        }
        req->stage = FILE_STAGE_BOUNCE_READ;
    }
    file_submit(h, req);
}

void
file_io_write(void *handle, struct backend_req *req)
{
    struct file_store *h = handle;
    int r;

    file_start(h, req, FILE_STAGE_RW);
    if (h->direct && !file_direct_aligned(h, req)) {
        r = file_direct_alloc(h, req, req->offset, req->offset + req->count);
        if (r < 0) {
            file_finish(req, r);
            return;
        }
        file_direct_write_start(h, req);
    }
    file_submit(h, req);
}

void
file_io_flush(void *handle, struct backend_req *req)
{
    struct file_store *h = handle;

    file_start(h, req, FILE_STAGE_FSYNC);
    file_submit(h, req);
}

void
file_io_trim(void *handle, struct backend_req *req)
{
    struct file_store *h = handle;

    file_start(h, req, FILE_STAGE_TRIM);
    if (!atomic_load(&h->can_punch)
        || (h->blkdev && ((req->offset | req->count) & (h->lbs - 1)) != 0)) {
        /* Advisory: nothing we can cheaply do.  FUA has nothing to make
         * durable. */
        file_finish(req, 0);
        return;
    }
    file_submit(h, req);
}

void
file_io_zero(void *handle, struct backend_req *req)
{
    struct file_store *h = handle;

    file_start(h, req, FILE_STAGE_RW);
    file_zero_start(h, req);
}
