/* SPDX-License-Identifier: MIT */
/*
 * The null backend: reads return zeros, writes are discarded, and every
 * request completes inline.  It is the benchmark floor: what the server
 * costs when storage costs nothing (nbdkit plugins/null, tgt bs_null).
 *
 * The size comes from the export's `size` (0 when not given: an empty
 * disk).  Block status reports the whole disk as one HOLE|ZERO extent,
 * which is true of a disk that keeps nothing.  Nothing here is shared
 * between requests except the read-only handle, so any number of I/O
 * threads may use one instance.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "log.h"

struct null_handle {
    uint64_t size;
    bool readonly;
};

static int
null_open(const struct config_export *cfg, void **handle)
{
    struct null_handle *h = calloc(1, sizeof *h);

    if (h == NULL) {
        log_error("export %s: null backend: %s", cfg->name, strerror(ENOMEM));
        return -ENOMEM;
    }
    h->size = cfg->size;
    h->readonly = cfg->readonly;
    *handle = h;
    return 0;
}

static void
null_close(void *handle)
{
    free(handle);
}

static uint64_t
null_size(void *handle)
{
    const struct null_handle *h = handle;

    return h->size;
}

static unsigned
null_caps(void *handle)
{
    const struct null_handle *h = handle;
    unsigned caps = BACKEND_CAN_FLUSH | BACKEND_CAN_BLOCK_STATUS
                    | BACKEND_CAN_CACHE | BACKEND_CAN_MULTI_CONN;

    if (!h->readonly) {
        caps |= BACKEND_CAN_WRITE | BACKEND_CAN_FUA | BACKEND_CAN_TRIM
                | BACKEND_CAN_ZERO | BACKEND_CAN_FAST_ZERO;
    }
    return caps;
}

static uint32_t
null_min_block(void *handle)
{
    return 1;
}

static void
null_read(void *handle, struct backend_req *req)
{
    for (int i = 0; i < req->iovcnt; i++) {
        memset(req->iov[i].iov_base, 0, req->iov[i].iov_len);
    }
    req->done(req, 0);
}

/* write, flush, trim, zero, cache: nothing to keep, nothing to do. */
static void
null_discard(void *handle, struct backend_req *req)
{
    req->done(req, 0);
}

static void
null_block_status(void *handle, struct backend_req *req)
{
    req->extents[0].length = req->count;
    req->extents[0].type = BACKEND_EXTENT_HOLE | BACKEND_EXTENT_ZERO;
    req->nextents = 1;
    req->done(req, 0);
}

const struct backend_ops backend_null_ops = {
    .name = "null",
    .open = null_open,
    .close = null_close,
    .size = null_size,
    .caps = null_caps,
    .min_block = null_min_block,
    .read = null_read,
    .write = null_discard,
    .flush = null_discard,
    .trim = null_discard,
    .zero = null_discard,
    .block_status = null_block_status,
    .cache = null_discard,
};
