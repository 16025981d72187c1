/* SPDX-License-Identifier: MIT */
/*
 * Storage backends behind one asynchronous ops struct.
 *
 * A backend instance serves one [export NAME].  Requests are asynchronous:
 * a front end fills a struct backend_req it owns (no allocation per
 * request), calls backend_read() & co on an I/O thread, and req->done runs
 * later on that same thread with 0 or a negative errno.  A backend may
 * complete inline (memory, null): done then runs before the call returns,
 * so callers must not touch req after submitting.  One instance may be
 * used from several I/O threads at once; each request goes through the
 * ring of the thread that submitted it (req->ctx).
 *
 * The backend_*() wrappers in backend.c are the only callers of the ops:
 * they check the range (a request past the end never reaches a backend,
 * it fails with -EINVAL, or -EOVERFLOW when offset + count wraps), flags
 * against capabilities, read-only, and assert the backend's answers.
 *
 * Errors the protocols map: -EIO, -ENOSPC, -EROFS/-EPERM, -EINVAL,
 * -EOVERFLOW, -ENOTSUP (operation or flag not supported), -ENOMEM.
 */
#ifndef POLLTGT_BACKENDS_BACKEND_H
#define POLLTGT_BACKENDS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "aio/aio.h"
#include "../server/config.h"
#include "util/compiler.h"

/* Capabilities (backend_caps). */
#define BACKEND_CAN_WRITE        (1u << 0)
#define BACKEND_CAN_FLUSH        (1u << 1)
#define BACKEND_CAN_FUA          (1u << 2)
#define BACKEND_CAN_TRIM         (1u << 3)
#define BACKEND_CAN_ZERO         (1u << 4)
#define BACKEND_CAN_FAST_ZERO    (1u << 5)
#define BACKEND_CAN_BLOCK_STATUS (1u << 6)
#define BACKEND_CAN_CACHE        (1u << 7)
/* Writes completed on one connection are visible to, and flushed by, every
 * other connection of the export (NBD's CAN_MULTI_CONN). */
#define BACKEND_CAN_MULTI_CONN   (1u << 8)

/* Request flags. */
#define BACKEND_FUA        (1u << 0) /* write/trim/zero: durable on completion */
#define BACKEND_MAY_TRIM   (1u << 1) /* zero: may deallocate */
#define BACKEND_FAST_ZERO  (1u << 2) /* zero: fail -ENOTSUP unless it is fast */
#define BACKEND_REQ_ONE    (1u << 3) /* block status: one extent is enough */

enum backend_op {
    BACKEND_OP_READ,
    BACKEND_OP_WRITE,
    BACKEND_OP_FLUSH,
    BACKEND_OP_TRIM,
    BACKEND_OP_ZERO,
    BACKEND_OP_BLOCK_STATUS,
    BACKEND_OP_CACHE,
};

/* Extent types (block status). */
#define BACKEND_EXTENT_HOLE (1u << 0) /* not allocated */
#define BACKEND_EXTENT_ZERO (1u << 1) /* reads as zeros */

struct backend_extent {
    uint64_t length;
    uint32_t type; /* BACKEND_EXTENT_* */
};

struct backend_req;
typedef void backend_done_fn(struct backend_req *req, int err);

/*
 * One request.  The caller sets the public part; the backend may use the
 * private part while the request is in flight.
 */
struct backend_req {
    /* set by the caller */
    struct aio_ctx *ctx;     /* the submitting I/O thread's loop */
    enum backend_op op;      /* set by the backend_*() wrapper */
    uint64_t offset;
    uint64_t count;          /* bytes */
    uint32_t flags;          /* BACKEND_FUA, ... */
    struct iovec *iov;       /* read/write buffers, covering count bytes */
    int iovcnt;
    struct backend_extent *extents; /* block status: room for max_extents */
    size_t max_extents;
    size_t nextents;         /* block status: set by the backend */
    backend_done_fn *done;
    void *opaque;

    /* private to the backend while in flight */
    struct aio_sqe_req sqe;
    uint64_t progress;       /* bytes done so far (short I/O requeue) */
    void *bounce;            /* O_DIRECT bounce buffer */
    size_t bounce_len;
    uint64_t bounce_offset;
    uint32_t stage;          /* the backend's step in a multi-step request */
    uint32_t retries;        /* -EAGAIN requeues of the current step */
    uint64_t step_progress;  /* bytes of the current step done */
    void *handle;            /* the backend's handle, for completions */
    struct backend_req *link_prev, *link_next; /* a gateway's request lists */
    int64_t start_ns;        /* gateway: when it was sent, for timeouts */
    uint64_t step_count;     /* gateway: bytes of the step in flight */
    int result;              /* gateway: the error it completes with */

    /* private to backend.c: debug checks of the backend's answers */
    backend_done_fn *caller_done;
    void *check_backend;
    uint32_t check_state;
};

struct backend;

/* What a gateway backend (nbd, iscsi) counts, summed over its I/O
 * threads' connections to the remote. */
struct backend_remote_stats {
    uint64_t requests;   /* completed, including failed ones */
    uint64_t errors;     /* completed with an error */
    uint64_t timeouts;   /* requests or connects that took too long */
    uint64_t reconnects; /* sessions re-established after a loss */
    uint64_t latency_ns_sum, latency_count; /* of the completed requests */
    unsigned connections; /* I/O threads connected now */
    unsigned threads;     /* I/O threads that have used the remote */
};

/*
 * The operations of one kind of backend.  Every function is called by the
 * backend_*() wrappers only.  open/close/size/caps run on the main thread;
 * the request functions run on an I/O thread (req->ctx is its loop) and
 * must call req->done exactly once, inline or later on the same thread.
 */
struct backend_ops {
    const char *name; /* as written in `backend = NAME` */

    /* Open the export's backing store.  Returns 0 and sets *handle, or
     * -errno after logging why (the message names the export). */
    int (*open)(const struct config_export *cfg, void **handle);
    void (*close)(void *handle);
    uint64_t (*size)(void *handle);
    unsigned (*caps)(void *handle); /* BACKEND_CAN_* */
    /* Smallest block the backend handles without read-modify-write. */
    uint32_t (*min_block)(void *handle);

    void (*read)(void *handle, struct backend_req *req);
    void (*write)(void *handle, struct backend_req *req);
    void (*flush)(void *handle, struct backend_req *req);
    void (*trim)(void *handle, struct backend_req *req);
    void (*zero)(void *handle, struct backend_req *req);
    void (*block_status)(void *handle, struct backend_req *req);
    void (*cache)(void *handle, struct backend_req *req);

    /* Optional: the counters of a backend that talks to a remote (nbd,
     * iscsi).  Any thread; the counters are relaxed atomics. */
    void (*remote_stats)(void *handle, struct backend_remote_stats *out);
};

/* The explicit table of backends. */
extern const struct backend_ops backend_memory_ops;
extern const struct backend_ops backend_file_ops;
extern const struct backend_ops backend_null_ops;
extern const struct backend_ops backend_nbd_ops;
extern const struct backend_ops backend_iscsi_ops;
extern const struct backend_ops backend_rbd_ops; /* if built with librbd */
extern const struct backend_ops *const backend_table[];

const struct backend_ops *backend_find(const char *name) ATTR_NONNULL(1);

/* Open the backend of an export.  Returns 0 or -errno (logged). */
int backend_open(const struct config_export *cfg, struct backend **out)
    ATTR_NONNULL(1, 2);
void backend_close(struct backend *b);

const char *backend_name(const struct backend *b) ATTR_NONNULL(1);
uint64_t backend_size(const struct backend *b) ATTR_NONNULL(1);
unsigned backend_caps(const struct backend *b) ATTR_NONNULL(1);
uint32_t backend_min_block(const struct backend *b) ATTR_NONNULL(1);
bool backend_readonly(const struct backend *b) ATTR_NONNULL(1);
/* A gateway backend's counters: true and *out filled, or false for a
 * backend without a remote.  Any thread. */
bool backend_remote_stats(const struct backend *b,
                          struct backend_remote_stats *out) ATTR_NONNULL(1, 2);

/* Submit a request (I/O thread).  req->done is always called, possibly
 * before the function returns, with 0 or -errno. */
void backend_read(struct backend *b, struct backend_req *req) ATTR_NONNULL(1, 2);
void backend_write(struct backend *b, struct backend_req *req) ATTR_NONNULL(1, 2);
void backend_flush(struct backend *b, struct backend_req *req) ATTR_NONNULL(1, 2);
void backend_trim(struct backend *b, struct backend_req *req) ATTR_NONNULL(1, 2);
void backend_zero(struct backend *b, struct backend_req *req) ATTR_NONNULL(1, 2);
void backend_block_status(struct backend *b, struct backend_req *req)
    ATTR_NONNULL(1, 2);
void backend_cache(struct backend *b, struct backend_req *req) ATTR_NONNULL(1, 2);

/* For backends: append [len, type] to a block-status answer, merging
 * with the last extent of the same type.  Returns false once the answer
 * is full (max_extents, or one extent under BACKEND_REQ_ONE). */
bool backend_extent_add(struct backend_req *req, uint64_t len, uint32_t type)
    ATTR_NONNULL(1);

/*
 * Check a request against the export before it is submitted: offset and
 * count within the size (-EINVAL past the end, -EOVERFLOW if the sum
 * wraps), write-type operations on a read-only export (-EROFS).  The
 * wrappers call it; front ends may call it first to answer earlier.
 */
int backend_check(const struct backend *b, enum backend_op op, uint64_t offset,
                  uint64_t count) ATTR_NONNULL(1);

#endif /* POLLTGT_BACKENDS_BACKEND_H */
