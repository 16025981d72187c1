/* SPDX-License-Identifier: MIT */
/*
 * The file backend: a regular file or a block device, with every data
 * request on the io_uring of the I/O thread that submitted it
 * (aio_sqe_get on req->ctx), as SPDK's bdev_uring does.
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
 * - flush: FSYNC with IORING_FSYNC_DATASYNC.
 * - trim: FALLOCATE PUNCH_HOLE|KEEP_SIZE; a file system without it makes
 *   trim a successful no-op (trim is advisory).
 * - write-zeroes: PUNCH_HOLE with MAY_TRIM, else ZERO_RANGE; where the
 *   file system lacks ZERO_RANGE (tmpfs), PUNCH_HOLE then a KEEP_SIZE
 *   allocation; where it lacks both, writes from a static zero buffer,
 *   unless FAST_ZERO was asked (-ENOTSUP).  What a file system refused
 *   once is remembered and not asked again.  FUA on trim and zero adds an
 *   FSYNC step.
 * - cache: posix_fadvise(WILLNEED) inline (it only starts readahead).
 * - block status: SEEK_DATA/SEEK_HOLE inline.  lseek can be slow on some
 *   file systems (it may walk extent trees or ask a server), so one request
 *   makes at most FILE_EXTENTS_MAX_LSEEK calls and reports the rest of its
 *   range as allocated data, which is always a safe answer.
 *
 * O_DIRECT (`direct = yes`, the bounce path in file-direct.c): requests
 * whose offset, length and buffers are
 * aligned to the logical block size (4096 for files, a safe value on every
 * file system; the device's own for block devices) go straight to the
 * kernel.  The others go through a bounce buffer, allocated per request
 * with posix_memalign (the only per-request allocation of the backend):
 * reads read the aligned range and copy out; writes read the partial head
 * and tail blocks, copy in and write the aligned range.  Such a
 * read-modify-write is not serialised against a concurrent write to the
 * same block; min_block() advertises the alignment, so clients that honour
 * it never send one.  A file whose size is not a multiple of the alignment
 * is served without O_DIRECT (with a warning), because its tail block
 * could not be written without growing it.
 *
 * Errors: the kernel's errno reaches the caller unchanged (EIO, ENOSPC,
 * EFBIG, EBADF...), except EDQUOT, reported as ENOSPC, and an -EAGAIN that
 * persists past FILE_MAX_RETRIES requeues, reported as EIO.  Open errors
 * are logged once, with the export and the path.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

/* The end of a request: release what it holds and tell the caller. */
static void
file_finish(struct backend_req *req, int err)
{
    if (req->bounce) {
        free(req->bounce);
        req->bounce = NULL;
    }
    req->done(req, err);
}

/* --- Open and close ---------------------------------------------------- */

static int
file_create(const struct config_export *cfg)
{
    int fd, r;

    if (cfg->size == 0) {
        log_error("export %s: %s: `create` needs a size", cfg->name,
                  cfg->path);
        return -EINVAL;
    }
    fd = open(cfg->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) {
            return 0; /* use it as it is */
        }
        r = -errno;
        log_error("export %s: cannot create %s: %m", cfg->name, cfg->path);
        return r;
    }
    if (ftruncate(fd, (off_t)cfg->size) < 0) {
        r = -errno;
        log_error("export %s: cannot size %s to %" PRIu64 " bytes: %m",
                  cfg->name, cfg->path, cfg->size);
        close(fd);
        unlink(cfg->path);
        return r;
    }
    close(fd);
    return 0;
}

static int
file_open(const struct config_export *cfg, void **handle)
{
    struct file_store *h;
    struct stat st;
    int flags, r;

    if (cfg->path == NULL || cfg->path[0] == '\0') {
        log_error("export %s: file backend needs a path", cfg->name);
        return -EINVAL;
    }
    if (cfg->create) {
        r = file_create(cfg);
        if (r < 0) {
            return r;
        }
    }
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        log_error("export %s: %s: %s", cfg->name, cfg->path, strerror(ENOMEM));
        return -ENOMEM;
    }
    flags = (cfg->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
    if (cfg->direct) {
        flags |= O_DIRECT;
    }
    h->fd = open(cfg->path, flags);
    if (h->fd < 0) {
        r = -errno;
        if (cfg->direct && errno == EINVAL) {
            log_error("export %s: cannot open %s: the file system does not "
                      "support direct I/O", cfg->name, cfg->path);
        } else {
            log_error("export %s: cannot open %s: %m", cfg->name, cfg->path);
        }
        goto err_free;
    }
    if (fstat(h->fd, &st) < 0) {
        r = -errno;
        log_error("export %s: cannot stat %s: %m", cfg->name, cfg->path);
        goto err_close;
    }
    h->lbs = 1;
    if (S_ISREG(st.st_mode)) {
        h->size = (uint64_t)st.st_size;
    } else if (S_ISBLK(st.st_mode)) {
        int lbs = 512;

        h->blkdev = true;
        if (ioctl(h->fd, BLKGETSIZE64, &h->size) < 0) {
            r = -errno;
            log_error("export %s: cannot get the size of %s: %m", cfg->name,
                      cfg->path);
            goto err_close;
        }
        if (ioctl(h->fd, BLKSSZGET, &lbs) < 0 || lbs < 512) {
            lbs = 512;
        }
        h->lbs = (uint32_t)lbs;
    } else {
        r = -EINVAL;
        log_error("export %s: %s is not a regular file or a block device",
                  cfg->name, cfg->path);
        goto err_close;
    }

    h->readonly = cfg->readonly;
    h->direct = cfg->direct;
    h->align = 1;
    if (h->direct) {
        h->align = h->blkdev ? MAX(h->lbs, 512u) : FILE_DIRECT_ALIGN;
        if (h->size % h->align != 0) {
            log_warn("export %s: %s: size %" PRIu64 " is not a multiple of "
                     "%" PRIu32 ", serving it without direct I/O", cfg->name,
                     cfg->path, h->size, h->align);
            if (fcntl(h->fd, F_SETFL, fcntl(h->fd, F_GETFL) & ~O_DIRECT) < 0) {
                r = -errno;
                log_error("export %s: %s: cannot turn direct I/O off: %m",
                          cfg->name, cfg->path);
                goto err_close;
            }
            h->direct = false;
            h->align = 1;
        }
    }
    atomic_init(&h->can_punch, true);
    atomic_init(&h->can_zero_range, true);
    atomic_init(&h->can_alloc, !h->blkdev);
    *handle = h;
    return 0;

err_close:
    close(h->fd);
err_free:
    free(h);
    return r;
}

static void
file_close(void *handle)
{
    struct file_store *h = handle;

    close(h->fd);
    free(h);
}

static uint64_t
file_size(void *handle)
{
    const struct file_store *h = handle;

    return h->size;
}

static unsigned
file_caps(void *handle)
{
    const struct file_store *h = handle;
    /* Every connection shares the fd, and fdatasync covers the file. */
    unsigned caps = BACKEND_CAN_FLUSH | BACKEND_CAN_CACHE
                    | BACKEND_CAN_MULTI_CONN;

    if (!h->blkdev) {
        caps |= BACKEND_CAN_BLOCK_STATUS;
    }
    if (!h->readonly) {
        caps |= BACKEND_CAN_WRITE | BACKEND_CAN_FUA | BACKEND_CAN_TRIM
                | BACKEND_CAN_ZERO | BACKEND_CAN_FAST_ZERO;
    }
    return caps;
}

static uint32_t
file_min_block(void *handle)
{
    const struct file_store *h = handle;

    return h->direct ? h->align : h->lbs;
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
void
file_submit(struct file_store *h, struct backend_req *req)
{
    uint8_t *bounce = req->bounce;
    uint64_t tail;
    struct io_uring_sqe *sqe;

    switch ((enum file_stage)req->stage) {
    case FILE_STAGE_RW:
        file_submit_rw(h, req);
        break;
    case FILE_STAGE_BOUNCE_READ:
        file_prep_buf(h, req, false, bounce + req->step_progress,
                      req->bounce_len - req->step_progress,
                      req->bounce_offset + req->step_progress);
        break;
    case FILE_STAGE_RMW_HEAD:
        file_prep_buf(h, req, false, bounce + req->step_progress,
                      h->align - req->step_progress,
                      req->bounce_offset + req->step_progress);
        break;
    case FILE_STAGE_RMW_TAIL:
        tail = req->bounce_len - h->align;
        file_prep_buf(h, req, false, bounce + tail + req->step_progress,
                      h->align - req->step_progress,
                      req->bounce_offset + tail + req->step_progress);
        break;
    case FILE_STAGE_BOUNCE_WRITE:
        file_prep_buf(h, req, true, bounce + req->step_progress,
                      req->bounce_len - req->step_progress,
                      req->bounce_offset + req->step_progress);
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
    case FILE_STAGE_ZERO_WRITE: {
        uint64_t pos = req->offset + req->progress;
        uint64_t len = MIN(req->count - req->progress,
                           (uint64_t)FILE_ZERO_BUF_SIZE);

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
        r = file_bounce_alloc(h, req, pos,
                              MIN(end, file_align_down(pos, h->align)
                                           + h->align));
        if (r < 0) {
            file_finish(req, r);
            return;
        }
        file_rmw_start(h, req);
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
            file_bounce_copy_out(req);
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
            uint64_t at = stage == FILE_STAGE_RMW_HEAD
                              ? 0 : req->bounce_len - h->align;

            memset((uint8_t *)req->bounce + at + req->step_progress, 0,
                   h->align - req->step_progress);
            res = (int)(h->align - req->step_progress);
        }
        if (!file_step_advance(req, &req->step_progress, h->align, res)) {
            file_submit(h, req);
        } else {
            file_rmw_next(h, req, true);
        }
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

            file_bounce_range(req, &lo, &hi);
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

/* --- Operations ------------------------------------------------------- */

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

static void
file_read(void *handle, struct backend_req *req)
{
    struct file_store *h = handle;
    int r;

    file_start(h, req, FILE_STAGE_RW);
    if (h->direct && !file_req_aligned(h, req)) {
        r = file_bounce_alloc(h, req, req->offset, req->offset + req->count);
        if (r < 0) {
            file_finish(req, r);
            return;
        }
        req->stage = FILE_STAGE_BOUNCE_READ;
    }
    file_submit(h, req);
}

static void
file_write(void *handle, struct backend_req *req)
{
    struct file_store *h = handle;
    int r;

    file_start(h, req, FILE_STAGE_RW);
    if (h->direct && !file_req_aligned(h, req)) {
        r = file_bounce_alloc(h, req, req->offset, req->offset + req->count);
        if (r < 0) {
            file_finish(req, r);
            return;
        }
        file_rmw_start(h, req);
        return;
    }
    file_submit(h, req);
}

static void
file_flush(void *handle, struct backend_req *req)
{
    struct file_store *h = handle;

    file_start(h, req, FILE_STAGE_FSYNC);
    file_submit(h, req);
}

static void
file_trim(void *handle, struct backend_req *req)
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

static void
file_zero(void *handle, struct backend_req *req)
{
    struct file_store *h = handle;

    file_start(h, req, FILE_STAGE_RW);
    file_zero_start(h, req);
}

/* Append [len, type] to the answer, merging with the last extent.  Returns
 * false when the answer is full. */
static bool
file_extent_add(struct backend_req *req, uint64_t len, uint32_t type)
{
    size_t n = req->nextents;

    if (n > 0 && req->extents[n - 1].type == type) {
        req->extents[n - 1].length += len;
        return true;
    }
    if (n == req->max_extents || (n == 1 && (req->flags & BACKEND_REQ_ONE))) {
        return false;
    }
    req->extents[n].length = len;
    req->extents[n].type = type;
    req->nextents = n + 1;
    return true;
}

static void
file_block_status(void *handle, struct backend_req *req)
{
    struct file_store *h = handle;
    uint64_t pos = req->offset, end = req->offset + req->count;
    const uint32_t hole = BACKEND_EXTENT_HOLE | BACKEND_EXTENT_ZERO;
    unsigned lseeks = 0;

    req->nextents = 0;
    while (pos < end) {
        uint64_t next = end;
        uint32_t type = 0;
        off_t r;

        if (lseeks + 2 > FILE_EXTENTS_MAX_LSEEK) {
            /* Out of budget: the rest is reported as data. */
            file_extent_add(req, end - pos, 0);
            break;
        }
        lseeks++;
        r = lseek(h->fd, (off_t)pos, SEEK_DATA);
        if (r < 0) {
            /* ENXIO: no data from pos to the end of the file. Anything
             * else (no SEEK_DATA support): call it data. */
            type = errno == ENXIO ? hole : 0;
        } else if ((uint64_t)r > pos) {
            type = hole;
            next = MIN(end, (uint64_t)r);
        } else {
            lseeks++;
            r = lseek(h->fd, (off_t)pos, SEEK_HOLE);
            if (r > 0 && (uint64_t)r > pos) {
                next = MIN(end, (uint64_t)r);
            }
        }
        if (!file_extent_add(req, next - pos, type)) {
            break;
        }
        pos = next;
    }
    file_finish(req, 0);
}

static void
file_cache(void *handle, struct backend_req *req)
{
    struct file_store *h = handle;

    if (!h->direct) {
        /* Advice: an error here changes nothing for the client. */
        (void)posix_fadvise(h->fd, (off_t)req->offset, (off_t)req->count,
                            POSIX_FADV_WILLNEED);
    }
    req->done(req, 0);
}

const struct backend_ops backend_file_ops = {
    .name = "file",
    .open = file_open,
    .close = file_close,
    .size = file_size,
    .caps = file_caps,
    .min_block = file_min_block,
    .read = file_read,
    .write = file_write,
    .flush = file_flush,
    .trim = file_trim,
    .zero = file_zero,
    .block_status = file_block_status,
    .cache = file_cache,
};
