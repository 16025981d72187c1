/* SPDX-License-Identifier: MIT */
/*
 * Private to the file backend: the handle, the request stages and the
 * calls between its three files, which form layers that only call down:
 * file.c (open, capabilities, block status, cache and the ops table) calls
 * file-io.c (read, write, flush, trim and zero on the io_uring), which calls
 * file-direct.c (the O_DIRECT bounce buffers: planning and copying, no I/O).
 */
#ifndef POLLTGT_BACKENDS_FILE_INTERNAL_H
#define POLLTGT_BACKENDS_FILE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/backend.h"
#include "util/compiler.h"

/* Alignment for O_DIRECT on regular files. */
#define FILE_DIRECT_ALIGN 4096u
/* One SQE transfers at most this much (READ/WRITE take an unsigned). */
#define FILE_MAX_SQE_BYTES (UINT64_C(1) << 30)
/* The kernel's UIO_MAXIOV. */
#define FILE_MAX_IOVS 1024
/* Requeues of -EAGAIN/-EINTR without progress before giving up. */
#define FILE_MAX_RETRIES 1000
/* lseek calls per block-status request; see the file comment. */
#define FILE_EXTENTS_MAX_LSEEK 32
/* Write-zeroes fallback: zeros written per SQE. */
#define FILE_ZERO_BUF_SIZE (1024u * 1024u)

/* req->stage */
enum file_stage {
    FILE_STAGE_RW,           /* read/write the caller's iovecs */
    FILE_STAGE_BOUNCE_READ,  /* direct: read the aligned range */
    FILE_STAGE_RMW_HEAD,     /* direct: read the first block */
    FILE_STAGE_RMW_TAIL,     /* direct: read the last block */
    FILE_STAGE_BOUNCE_WRITE, /* direct: write the aligned range */
    FILE_STAGE_FSYNC,        /* flush, or FUA after trim/zero */
    FILE_STAGE_TRIM,         /* trim: punch a hole */
    FILE_STAGE_ZERO_PUNCH_TRIM, /* zero with MAY_TRIM: punch a hole */
    FILE_STAGE_ZERO_RANGE,   /* zero: ZERO_RANGE */
    FILE_STAGE_ZERO_PUNCH,   /* zero emulated: punch a hole... */
    FILE_STAGE_ZERO_ALLOC,   /* ...and allocate it again */
    FILE_STAGE_ZERO_WRITE,   /* zero emulated: write zeros */
};

struct file_store {
    int fd;
    char *name;       /* the export's, for log lines */
    char *path;
    uint64_t size;
    bool readonly;
    bool blkdev;
    bool direct;
    uint32_t align;   /* direct: alignment of offsets, lengths, buffers */
    uint32_t lbs;     /* block device: logical block size; files: 1 */
    /* Cleared the first time the file system says EOPNOTSUPP. */
    atomic_bool can_punch;
    atomic_bool can_zero_range;
    atomic_bool can_alloc;
    /* The request failures already logged: one bit per operation and
     * errno class (file_log_failure in file-io.c). */
    atomic_uint logged;
};

static inline uint64_t
file_align_down(uint64_t v, uint32_t align)
{
    return v & ~(uint64_t)(align - 1);
}

static inline uint64_t
file_align_up(uint64_t v, uint32_t align)
{
    return (v + align - 1) & ~(uint64_t)(align - 1);
}

/* file-io.c: the requests that go through the io_uring. */
void file_io_read(void *handle, struct backend_req *req) ATTR_NONNULL(1, 2);
void file_io_write(void *handle, struct backend_req *req) ATTR_NONNULL(1, 2);
void file_io_flush(void *handle, struct backend_req *req) ATTR_NONNULL(1, 2);
void file_io_trim(void *handle, struct backend_req *req) ATTR_NONNULL(1, 2);
void file_io_zero(void *handle, struct backend_req *req) ATTR_NONNULL(1, 2);

/*
 * file-direct.c: the bounce-buffer path of O_DIRECT.  These functions set
 * up req->bounce and req->stage; the caller submits the stage.
 */
/* Whether req's offset, length and buffers all suit O_DIRECT. */
bool file_direct_aligned(const struct file_store *h,
                         const struct backend_req *req) ATTR_NONNULL(1, 2);
/* Allocate req->bounce for [lo, hi) widened to the alignment (or reuse a
 * big enough one).  0 or -ENOMEM. */
int file_direct_alloc(const struct file_store *h, struct backend_req *req,
                      uint64_t lo, uint64_t hi) ATTR_NONNULL(1, 2);
/* The bytes of the bounce buffer the request changes: [*lo, *hi). */
void file_direct_range(const struct backend_req *req, uint64_t *lo,
                       uint64_t *hi) ATTR_NONNULL(1, 2, 3);
/* Set req->stage to the first stage of a bounced write or zero. */
void file_direct_write_start(const struct file_store *h,
                             struct backend_req *req) ATTR_NONNULL(1, 2);
/* After a head or tail read: set req->stage to reading the tail, or fill
 * the buffer and set it to writing it.  head_read: the head was read. */
void file_direct_write_next(const struct file_store *h,
                            struct backend_req *req, bool head_read)
    ATTR_NONNULL(1, 2);
/* The rest of the current bounce stage (BOUNCE_READ, RMW_HEAD, RMW_TAIL or
 * BOUNCE_WRITE) from req->step_progress: *len bytes at *buf, file
 * offset *pos. */
void file_direct_step(const struct file_store *h,
                      const struct backend_req *req, void **buf,
                      uint64_t *len, uint64_t *pos) ATTR_NONNULL(1, 2, 3, 4, 5);
/* A bounced read is complete: copy its bytes to the caller's iovecs. */
void file_direct_copy_out(struct backend_req *req) ATTR_NONNULL(1);

#endif /* POLLTGT_BACKENDS_FILE_INTERNAL_H */
