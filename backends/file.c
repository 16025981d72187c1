/* SPDX-License-Identifier: MIT */
/*
 * The file backend: a regular file or a block device.  This file is the
 * top of the backend's three layers and holds what does not go through
 * the io_uring: open and close, size and capabilities, block status and
 * cache, and the ops table.  Its queued requests (read, write, flush,
 * trim, zero) are file-io.c's, which runs them on the I/O thread's
 * io_uring and calls down into file-direct.c for O_DIRECT bounce buffers;
 * no layer calls back up (file-internal.h).
 *
 * - cache: posix_fadvise(WILLNEED) inline (it only starts readahead).
 * - block status: SEEK_DATA/SEEK_HOLE inline.  lseek can be slow on some
 *   file systems (it may walk extent trees or ask a server), so one request
 *   makes at most FILE_EXTENTS_MAX_LSEEK calls and reports the rest of its
 *   range as allocated data, which is always a safe answer.
 *
 * O_DIRECT (`direct = yes`): requests whose offset, length and buffers are
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
 * Open errors are logged once, with the export and the path; request
 * errors, logged once per kind, are described in file-io.c.
 */
#include <config.h>

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

#include "backends/backend.h"
#include "log.h"
#include "util/minmax.h"

#include "backends/file-internal.h"

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
    if (h != NULL) {
        h->name = strdup(cfg->name);
        h->path = strdup(cfg->path);
    }
    if (h == NULL || h->name == NULL || h->path == NULL) {
        log_error("export %s: %s: %s", cfg->name, cfg->path, strerror(ENOMEM));
        r = -ENOMEM;
        goto err_free;
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
    atomic_init(&h->logged, 0);
    *handle = h;
    return 0;

err_close:
    close(h->fd);
err_free:
    if (h != NULL) {
        free(h->name);
        free(h->path);
    }
    free(h);
    return r;
}

static void
file_close(void *handle)
{
    struct file_store *h = handle;

    close(h->fd);
    free(h->name);
    free(h->path);
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

/* --- Inline operations ------------------------------------------------ */

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
            backend_extent_add(req, end - pos, 0);
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
        if (!backend_extent_add(req, next - pos, type)) {
            break;
        }
        pos = next;
    }
    req->done(req, 0);
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
    .read = file_io_read,
    .write = file_io_write,
    .flush = file_io_flush,
    .trim = file_io_trim,
    .zero = file_io_zero,
    .block_status = file_block_status,
    .cache = file_cache,
};
