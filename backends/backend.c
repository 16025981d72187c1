/* SPDX-License-Identifier: MIT */
/*
 * The backend registry and the backend_*() wrappers, in the manner of
 * nbdkit's server/backend.c: the only code that calls a backend's ops.
 *
 * The wrappers own every check that does not depend on the backend, so a
 * backend can trust what it is given: the range is inside the export (or
 * the request fails here with -EINVAL / -EOVERFLOW), write-type operations
 * on a read-only export fail with -EROFS, operations and flags the cached
 * capabilities lack fail with -ENOTSUP, flags that mean nothing for the
 * operation with -EINVAL, and zero-length data requests complete at once.
 * Such failures call req->done with the error instead of the backend.
 *
 * Capabilities, size and minimum block are asked once at open and cached
 * (nbdkit's struct context): the data path reads plain fields.
 *
 * In debug builds (NDEBUG not defined) each request's done callback is
 * interposed to assert that the backend completes it exactly once, with 0
 * or a plausible -errno, and that block-status answers are well formed;
 * the wrapper stays installed in req->done until the caller's callback has
 * returned, so a second completion by the backend is caught too.  Release
 * builds call the backend directly.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "log.h"

#define BACKEND_MAGIC UINT32_C(0x42454e44) /* "BEND" */

/* check_state values (debug builds). */
#define BACKEND_REQ_IN_FLIGHT UINT32_C(0x52514946) /* "RQIF" */
#define BACKEND_REQ_DONE      UINT32_C(0x52514446) /* "RQDF" */

/* Flags each operation accepts; anything else is -EINVAL. */
#define BACKEND_FLAGS_WRITE BACKEND_FUA
#define BACKEND_FLAGS_TRIM  BACKEND_FUA
#define BACKEND_FLAGS_ZERO  (BACKEND_FUA | BACKEND_MAY_TRIM | BACKEND_FAST_ZERO)
#define BACKEND_FLAGS_BLOCK_STATUS BACKEND_REQ_ONE

/* For the unknown-backend message. */
#ifdef HAVE_RBD
#define BACKEND_RBD_NOTE ", rbd"
#else
#define BACKEND_RBD_NOTE "; rbd is not built in: configure --with-rbd"
#endif

struct backend {
    uint32_t magic;
    const struct backend_ops *ops;
    void *handle;
    char *export_name;
    uint64_t size;
    unsigned caps;
    uint32_t min_block;
    bool readonly;
#ifndef NDEBUG
    atomic_ulong inflight; /* requests handed to the backend, not yet done */
#endif
};

const struct backend_ops *const backend_table[] = {
    &backend_memory_ops,
    &backend_file_ops,
    &backend_null_ops,
    &backend_nbd_ops,
    &backend_iscsi_ops,
#ifdef HAVE_RBD
    &backend_rbd_ops,
#endif
    NULL,
};

const struct backend_ops *
backend_find(const char *name)
{
    for (size_t i = 0; backend_table[i] != NULL; i++) {
        if (strcmp(backend_table[i]->name, name) == 0) {
            return backend_table[i];
        }
    }
    return NULL;
}

int
backend_open(const struct config_export *cfg, struct backend **out)
{
    const struct backend_ops *ops;
    struct backend *b;
    int r;

    *out = NULL;
    ops = backend_find(cfg->backend ? cfg->backend : "");
    if (ops == NULL) {
        log_error("export %s: unknown backend \"%s\" (memory, file, null, "
                  "nbd, iscsi%s)",
                  cfg->name, cfg->backend ? cfg->backend : "",
                  BACKEND_RBD_NOTE);
        return -EINVAL;
    }
    b = calloc(1, sizeof *b);
    if (b == NULL) {
        log_error("export %s: %s", cfg->name, strerror(ENOMEM));
        return -ENOMEM;
    }
    b->export_name = strdup(cfg->name ? cfg->name : "");
    if (b->export_name == NULL) {
        free(b);
        log_error("export %s: %s", cfg->name, strerror(ENOMEM));
        return -ENOMEM;
    }
    r = ops->open(cfg, &b->handle); /* logs its own errors */
    if (r < 0) {
        free(b->export_name);
        free(b);
        return r;
    }
    b->magic = BACKEND_MAGIC;
    b->ops = ops;
    b->size = ops->size(b->handle);
    b->caps = ops->caps(b->handle);
    b->min_block = ops->min_block ? ops->min_block(b->handle) : 1;
    if (b->min_block == 0) {
        b->min_block = 1;
    }
    b->readonly = cfg->readonly || !(b->caps & BACKEND_CAN_WRITE);
    if (b->readonly) {
        b->caps &= ~(BACKEND_CAN_WRITE | BACKEND_CAN_FUA | BACKEND_CAN_TRIM
                     | BACKEND_CAN_ZERO | BACKEND_CAN_FAST_ZERO);
    }
#ifndef NDEBUG
    atomic_init(&b->inflight, 0);
#endif
    *out = b;
    return 0;
}

void
backend_close(struct backend *b)
{
    if (b == NULL) {
        return;
    }
    assert(b->magic == BACKEND_MAGIC);
#ifndef NDEBUG
    /* Every request must have completed before its export goes away. */
    assert(atomic_load(&b->inflight) == 0);
#endif
    b->ops->close(b->handle);
    b->magic = 0;
    free(b->export_name);
    free(b);
}

const char *
backend_name(const struct backend *b)
{
    assert(b->magic == BACKEND_MAGIC);
    return b->ops->name;
}

uint64_t
backend_size(const struct backend *b)
{
    assert(b->magic == BACKEND_MAGIC);
    return b->size;
}

unsigned
backend_caps(const struct backend *b)
{
    assert(b->magic == BACKEND_MAGIC);
    return b->caps;
}

uint32_t
backend_min_block(const struct backend *b)
{
    assert(b->magic == BACKEND_MAGIC);
    return b->min_block;
}

bool
backend_readonly(const struct backend *b)
{
    assert(b->magic == BACKEND_MAGIC);
    return b->readonly;
}

bool
backend_extent_add(struct backend_req *req, uint64_t len, uint32_t type)
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

bool
backend_remote_stats(const struct backend *b, struct backend_remote_stats *out)
{
    assert(b->magic == BACKEND_MAGIC);
    if (b->ops->remote_stats == NULL) {
        return false;
    }
    memset(out, 0, sizeof *out);
    b->ops->remote_stats(b->handle, out);
    return true;
}

static bool
backend_op_writes(enum backend_op op)
{
    return op == BACKEND_OP_WRITE || op == BACKEND_OP_TRIM
           || op == BACKEND_OP_ZERO;
}

int
backend_check(const struct backend *b, enum backend_op op, uint64_t offset,
              uint64_t count)
{
    assert(b->magic == BACKEND_MAGIC);
    /* Flush has no range (NBD sends 0/0, SCSI SYNCHRONIZE CACHE may name
     * one, but we always flush everything). */
    if (op != BACKEND_OP_FLUSH) {
        if (offset + count < offset) {
            return -EOVERFLOW;
        }
        if (offset > b->size || count > b->size - offset) {
            return -EINVAL;
        }
    }
    if (b->readonly && backend_op_writes(op)) {
        return -EROFS;
    }
    return 0;
}

/* The capability and flag checks of one operation: 0 or -errno. */
static int
backend_check_caps(const struct backend *b, enum backend_op op,
                   uint32_t flags)
{
    unsigned need = 0;
    uint32_t allowed = 0;

    switch (op) {
    case BACKEND_OP_READ:
        break;
    case BACKEND_OP_WRITE:
        need = BACKEND_CAN_WRITE;
        allowed = BACKEND_FLAGS_WRITE;
        break;
    case BACKEND_OP_FLUSH:
        need = BACKEND_CAN_FLUSH;
        break;
    case BACKEND_OP_TRIM:
        need = BACKEND_CAN_TRIM;
        allowed = BACKEND_FLAGS_TRIM;
        break;
    case BACKEND_OP_ZERO:
        need = BACKEND_CAN_ZERO;
        allowed = BACKEND_FLAGS_ZERO;
        break;
    case BACKEND_OP_BLOCK_STATUS:
        need = BACKEND_CAN_BLOCK_STATUS;
        allowed = BACKEND_FLAGS_BLOCK_STATUS;
        break;
    case BACKEND_OP_CACHE:
        need = BACKEND_CAN_CACHE;
        break;
    }
    if (flags & ~allowed) {
        return -EINVAL;
    }
    if ((b->caps & need) != need) {
        return -ENOTSUP;
    }
    if ((flags & BACKEND_FUA) && !(b->caps & BACKEND_CAN_FUA)) {
        return -ENOTSUP;
    }
    if ((flags & BACKEND_FAST_ZERO) && !(b->caps & BACKEND_CAN_FAST_ZERO)) {
        return -ENOTSUP;
    }
    return 0;
}

#ifndef NDEBUG
/* The interposed completion: check the backend's answer, then hand it on. */
static void
backend_done_checked(struct backend_req *req, int err)
{
    struct backend *b = req->check_backend;

    assert(req->check_state == BACKEND_REQ_IN_FLIGHT); /* exactly once */
    assert(b != NULL && b->magic == BACKEND_MAGIC);
    assert(err <= 0 && err >= -4095);
    if (err == 0 && req->op == BACKEND_OP_BLOCK_STATUS) {
        uint64_t sum = 0;

        assert(req->nextents >= 1 && req->nextents <= req->max_extents);
        assert(!(req->flags & BACKEND_REQ_ONE) || req->nextents == 1);
        for (size_t i = 0; i < req->nextents; i++) {
            assert(req->extents[i].length > 0);
            sum += req->extents[i].length;
        }
        assert(sum <= req->count);
    }
    req->check_state = BACKEND_REQ_DONE;
    atomic_fetch_sub(&b->inflight, 1);
    req->caller_done(req, err);
}
#endif

/* Fail a request before it reaches the backend. */
static void
backend_fail(struct backend_req *req, int err)
{
    assert(err < 0);
    req->done(req, err);
}

/*
 * The common prologue of every request.  Returns true if the request goes
 * to the backend; false if it was completed here.
 */
static bool
backend_prepare(struct backend *b, struct backend_req *req,
                enum backend_op op)
{
    int r;

    assert(b->magic == BACKEND_MAGIC);
    assert(req->ctx != NULL && req->done != NULL);
    req->op = op;
    req->progress = 0;
    req->step_progress = 0;
    req->stage = 0;
    req->retries = 0;
    req->bounce = NULL;
    req->bounce_len = 0;
    req->bounce_offset = 0;
#ifndef NDEBUG
    if (req->done != backend_done_checked) {
        req->caller_done = req->done;
    }
    /* A caller that resubmits from its callback keeps its own done. */
    req->done = req->caller_done;
    if (op == BACKEND_OP_READ || op == BACKEND_OP_WRITE) {
        uint64_t sum = 0;

        assert(req->iovcnt >= 0 && (req->iovcnt == 0 || req->iov != NULL));
        for (int i = 0; i < req->iovcnt; i++) {
            sum += req->iov[i].iov_len;
        }
        assert(sum == req->count);
    }
#endif

    r = backend_check(b, op, req->offset, req->count);
    if (r == 0) {
        r = backend_check_caps(b, op, req->flags);
    }
    if (r == 0 && op == BACKEND_OP_BLOCK_STATUS
        && (req->count == 0 || req->max_extents == 0
            || req->extents == NULL)) {
        r = -EINVAL;
    }
    if (r < 0) {
        backend_fail(req, r);
        return false;
    }
    if (req->count == 0 && op != BACKEND_OP_FLUSH) {
        req->done(req, 0); /* nothing to do: backends never see count 0 */
        return false;
    }
    if (op == BACKEND_OP_BLOCK_STATUS) {
        req->nextents = 0;
    }
#ifndef NDEBUG
    req->check_backend = b;
    req->check_state = BACKEND_REQ_IN_FLIGHT;
    req->done = backend_done_checked;
    atomic_fetch_add(&b->inflight, 1);
#endif
    return true;
}

void
backend_read(struct backend *b, struct backend_req *req)
{
    if (backend_prepare(b, req, BACKEND_OP_READ)) {
        b->ops->read(b->handle, req);
    }
}

void
backend_write(struct backend *b, struct backend_req *req)
{
    if (backend_prepare(b, req, BACKEND_OP_WRITE)) {
        b->ops->write(b->handle, req);
    }
}

void
backend_flush(struct backend *b, struct backend_req *req)
{
    if (backend_prepare(b, req, BACKEND_OP_FLUSH)) {
        b->ops->flush(b->handle, req);
    }
}

void
backend_trim(struct backend *b, struct backend_req *req)
{
    if (backend_prepare(b, req, BACKEND_OP_TRIM)) {
        b->ops->trim(b->handle, req);
    }
}

void
backend_zero(struct backend *b, struct backend_req *req)
{
    if (backend_prepare(b, req, BACKEND_OP_ZERO)) {
        b->ops->zero(b->handle, req);
    }
}

void
backend_block_status(struct backend *b, struct backend_req *req)
{
    if (backend_prepare(b, req, BACKEND_OP_BLOCK_STATUS)) {
        b->ops->block_status(b->handle, req);
    }
}

void
backend_cache(struct backend *b, struct backend_req *req)
{
    if (backend_prepare(b, req, BACKEND_OP_CACHE)) {
        b->ops->cache(b->handle, req);
    }
}
