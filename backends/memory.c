/* SPDX-License-Identifier: MIT */
/*
 * The memory backend: a sparse RAM disk of the export's `size`, up to
 * 1 PiB of virtual size, completing every request inline.
 *
 * Layout: the disk is cut into 64 KiB chunks, found through a two-level
 * table.  The first level is one array of pointers allocated at open (8
 * bytes per 256 MiB of disk: 32 KiB for 1 TiB); each second-level table
 * holds 4096 chunk pointers and is allocated on the first write into its
 * 256 MiB, published with an atomic compare-and-swap so two threads racing
 * to create it agree on one.  Chunks are allocated (zeroed) on their first
 * write the same way.  Memory use is therefore proportional to what was
 * written, never to `size`.  64 KiB is a compromise: big enough that the
 * table stays small and a 1 MiB request touches 16 chunks, small enough
 * that a 4 KiB write to an empty disk costs 64 KiB of RAM, not megabytes.
 *
 * Trim, and write-zeroes with BACKEND_MAY_TRIM, free whole chunks and
 * memset the partial chunks at either end; write-zeroes without MAY_TRIM
 * memsets what is allocated and leaves it allocated.  Block status reports
 * unallocated chunks (and whole missing second-level tables) as HOLE|ZERO
 * and allocated ones as data, merging neighbours of the same type.
 *
 * Locking: chunk pointers are atomics, so looking one up needs no lock.
 * What needs excluding is freeing a chunk while another thread copies to
 * or from it.  Each chunk maps to one of 64 striped rwlocks (chunk index
 * modulo 64, so neighbouring chunks use different locks): reads, writes
 * and memsets hold the stripe shared, so I/O threads never wait for each
 * other on the data path; freeing takes it exclusively only to swap the
 * pointer to NULL, and frees after unlocking.  Concurrent writes to the
 * same bytes race as they do on any disk (the protocols leave the result
 * undefined).  The locks prefer writers so a stream of reads cannot starve
 * a trim.  Second-level tables are never freed before close.
 */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "log.h"
#include "util/minmax.h"

#define MEMORY_CHUNK_SHIFT 16 /* 64 KiB chunks */
#define MEMORY_CHUNK_SIZE  (UINT64_C(1) << MEMORY_CHUNK_SHIFT)
#define MEMORY_CHUNK_MASK  (MEMORY_CHUNK_SIZE - 1)
#define MEMORY_L2_SHIFT    12 /* 4096 chunks (256 MiB) per L2 table */
#define MEMORY_L2_ENTRIES  (1u << MEMORY_L2_SHIFT)
#define MEMORY_L2_SPAN     (MEMORY_CHUNK_SIZE << MEMORY_L2_SHIFT)
/* 2^22 L1 pointers (32 MiB of table, untouched pages cost nothing) cover
 * 2^50 bytes: 1 PiB. */
#define MEMORY_MAX_SIZE    (UINT64_C(1) << 50)
#define MEMORY_STRIPES     64 /* power of two */
/* Table lookups per block-status request; the answer may cover less than
 * asked (the protocols allow it), which bounds the work of one request. */
#define MEMORY_EXTENTS_MAX_STEPS 65536

struct memory_l2 {
    _Atomic(uint8_t *) chunk[MEMORY_L2_ENTRIES];
};

/* One lock per cache line, so stripes do not share lines. */
union memory_stripe {
    pthread_rwlock_t lock;
    char pad[64];
};

struct memory_handle {
    uint64_t size;
    bool readonly;
    size_t l1_entries;
    _Atomic(struct memory_l2 *) *l1;
    union memory_stripe stripe[MEMORY_STRIPES];
};

/* A position in a request's iovecs. */
struct memory_iov_cursor {
    const struct iovec *iov;
    int iovcnt;
    int idx;
    size_t off;
};

static pthread_rwlock_t *
memory_stripe_lock(struct memory_handle *h, uint64_t ci)
{
    return &h->stripe[ci & (MEMORY_STRIPES - 1)].lock;
}

/*
 * The chunk holding chunk index ci, or NULL.  With alloc, create the
 * chunk (and its L2 table) if needed; *err is then -ENOMEM on failure.
 * The caller holds ci's stripe shared, which keeps the chunk alive.
 */
static uint8_t *
memory_chunk_get(struct memory_handle *h, uint64_t ci, bool alloc, int *err)
{
    size_t l1i = (size_t)(ci >> MEMORY_L2_SHIFT);
    size_t l2i = (size_t)(ci & (MEMORY_L2_ENTRIES - 1));
    struct memory_l2 *l2;
    uint8_t *chunk;

    assert(l1i < h->l1_entries);
    l2 = atomic_load_explicit(&h->l1[l1i], memory_order_acquire);
    if (l2 == NULL) {
        struct memory_l2 *fresh;

        if (!alloc) {
            return NULL;
        }
        fresh = calloc(1, sizeof *fresh);
        if (fresh == NULL) {
            *err = -ENOMEM;
            return NULL;
        }
        l2 = NULL;
        if (atomic_compare_exchange_strong_explicit(
                &h->l1[l1i], &l2, fresh, memory_order_acq_rel,
                memory_order_acquire)) {
            l2 = fresh;
        } else {
            free(fresh); /* another thread won; l2 is its table */
        }
    }
    chunk = atomic_load_explicit(&l2->chunk[l2i], memory_order_acquire);
    if (chunk == NULL && alloc) {
        uint8_t *fresh = calloc(1, MEMORY_CHUNK_SIZE);

        if (fresh == NULL) {
            *err = -ENOMEM;
            return NULL;
        }
        if (atomic_compare_exchange_strong_explicit(
                &l2->chunk[l2i], &chunk, fresh, memory_order_acq_rel,
                memory_order_acquire)) {
            chunk = fresh;
        } else {
            free(fresh);
        }
    }
    return chunk;
}

/* Copy n bytes from src (zeros if NULL) into the iovecs at the cursor. */
static void
memory_iov_copy_out(struct memory_iov_cursor *cur, const uint8_t *src,
                    size_t n)
{
    while (n > 0) {
        const struct iovec *v;
        size_t len;
        uint8_t *dst;

        assert(cur->idx < cur->iovcnt);
        v = &cur->iov[cur->idx];
        len = MIN(n, v->iov_len - cur->off);
        dst = (uint8_t *)v->iov_base + cur->off;
        if (src) {
            memcpy(dst, src, len);
            src += len;
        } else {
            memset(dst, 0, len);
        }
        n -= len;
        cur->off += len;
        if (cur->off == v->iov_len) {
            cur->idx++;
            cur->off = 0;
        }
    }
}

/* Copy n bytes from the iovecs at the cursor into dst. */
static void
memory_iov_copy_in(struct memory_iov_cursor *cur, uint8_t *dst, size_t n)
{
    while (n > 0) {
        const struct iovec *v;
        size_t len;

        assert(cur->idx < cur->iovcnt);
        v = &cur->iov[cur->idx];
        len = MIN(n, v->iov_len - cur->off);
        memcpy(dst, (const uint8_t *)v->iov_base + cur->off, len);
        dst += len;
        n -= len;
        cur->off += len;
        if (cur->off == v->iov_len) {
            cur->idx++;
            cur->off = 0;
        }
    }
}

static int
memory_open(const struct config_export *cfg, void **handle)
{
    struct memory_handle *h;
    pthread_rwlockattr_t attr;

    if (cfg->size == 0) {
        log_error("export %s: memory backend needs a size", cfg->name);
        return -EINVAL;
    }
    if (cfg->size > MEMORY_MAX_SIZE) {
        log_error("export %s: memory backend: size %" PRIu64
                  " is larger than the maximum of 1P", cfg->name, cfg->size);
        return -EINVAL;
    }
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        goto nomem;
    }
    h->size = cfg->size;
    h->readonly = cfg->readonly;
    h->l1_entries = (size_t)((cfg->size + MEMORY_L2_SPAN - 1) / MEMORY_L2_SPAN);
    h->l1 = calloc(h->l1_entries, sizeof *h->l1);
    if (h->l1 == NULL) {
        free(h);
        goto nomem;
    }
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    for (size_t i = 0; i < MEMORY_STRIPES; i++) {
        pthread_rwlock_init(&h->stripe[i].lock, &attr);
    }
    pthread_rwlockattr_destroy(&attr);
    *handle = h;
    return 0;

nomem:
    log_error("export %s: memory backend: %s", cfg->name, strerror(ENOMEM));
    return -ENOMEM;
}

static void
memory_close(void *handle)
{
    struct memory_handle *h = handle;

    for (size_t i = 0; i < h->l1_entries; i++) {
        struct memory_l2 *l2 = atomic_load(&h->l1[i]);

        if (l2 == NULL) {
            continue;
        }
        for (size_t j = 0; j < MEMORY_L2_ENTRIES; j++) {
            free(atomic_load(&l2->chunk[j]));
        }
        free(l2);
    }
    for (size_t i = 0; i < MEMORY_STRIPES; i++) {
        pthread_rwlock_destroy(&h->stripe[i].lock);
    }
    free(h->l1);
    free(h);
}

static uint64_t
memory_size(void *handle)
{
    const struct memory_handle *h = handle;

    return h->size;
}

static unsigned
memory_caps(void *handle)
{
    const struct memory_handle *h = handle;
    unsigned caps = BACKEND_CAN_FLUSH | BACKEND_CAN_BLOCK_STATUS
                    | BACKEND_CAN_CACHE | BACKEND_CAN_MULTI_CONN;

    if (!h->readonly) {
        caps |= BACKEND_CAN_WRITE | BACKEND_CAN_FUA | BACKEND_CAN_TRIM
                | BACKEND_CAN_ZERO | BACKEND_CAN_FAST_ZERO;
    }
    return caps;
}

static uint32_t
memory_min_block(void *handle)
{
    return 1;
}

static void
memory_read(void *handle, struct backend_req *req)
{
    struct memory_handle *h = handle;
    struct memory_iov_cursor cur = { req->iov, req->iovcnt, 0, 0 };
    uint64_t pos = req->offset, end = req->offset + req->count;

    while (pos < end) {
        uint64_t ci = pos >> MEMORY_CHUNK_SHIFT;
        size_t coff = (size_t)(pos & MEMORY_CHUNK_MASK);
        size_t n = (size_t)MIN(end - pos, MEMORY_CHUNK_SIZE - coff);
        pthread_rwlock_t *lock = memory_stripe_lock(h, ci);
        const uint8_t *chunk;

        pthread_rwlock_rdlock(lock);
        chunk = memory_chunk_get(h, ci, false, NULL);
        memory_iov_copy_out(&cur, chunk ? chunk + coff : NULL, n);
        pthread_rwlock_unlock(lock);
        pos += n;
    }
    req->done(req, 0);
}

static void
memory_write(void *handle, struct backend_req *req)
{
    struct memory_handle *h = handle;
    struct memory_iov_cursor cur = { req->iov, req->iovcnt, 0, 0 };
    uint64_t pos = req->offset, end = req->offset + req->count;
    int err = 0;

    while (pos < end) {
        uint64_t ci = pos >> MEMORY_CHUNK_SHIFT;
        size_t coff = (size_t)(pos & MEMORY_CHUNK_MASK);
        size_t n = (size_t)MIN(end - pos, MEMORY_CHUNK_SIZE - coff);
        pthread_rwlock_t *lock = memory_stripe_lock(h, ci);
        uint8_t *chunk;

        pthread_rwlock_rdlock(lock);
        chunk = memory_chunk_get(h, ci, true, &err);
        if (chunk) {
            memory_iov_copy_in(&cur, chunk + coff, n);
        }
        pthread_rwlock_unlock(lock);
        if (chunk == NULL) {
            break; /* -ENOMEM; what was written stays written */
        }
        pos += n;
    }
    req->done(req, err);
}

/* Memory is always durable enough: it lives exactly as long as the server. */
static void
memory_flush(void *handle, struct backend_req *req)
{
    req->done(req, 0);
}

/*
 * Make [offset, offset + count) read as zeros.  may_free: chunks the range
 * covers whole are freed (trim, zero with MAY_TRIM); otherwise allocated
 * chunks are memset and stay allocated.  Unallocated chunks already read
 * as zeros and stay unallocated either way.
 */
static void
memory_discard(struct memory_handle *h, struct backend_req *req,
               bool may_free)
{
    uint64_t pos = req->offset, end = req->offset + req->count;

    while (pos < end) {
        uint64_t ci = pos >> MEMORY_CHUNK_SHIFT;
        size_t coff = (size_t)(pos & MEMORY_CHUNK_MASK);
        size_t n = (size_t)MIN(end - pos, MEMORY_CHUNK_SIZE - coff);
        pthread_rwlock_t *lock = memory_stripe_lock(h, ci);
        /* The last chunk may be cut short by the end of the disk. */
        bool whole = coff == 0 && (n == MEMORY_CHUNK_SIZE || pos + n == h->size);
        struct memory_l2 *l2 = atomic_load_explicit(
            &h->l1[ci >> MEMORY_L2_SHIFT], memory_order_acquire);
        uint8_t *chunk;

        if (l2 == NULL) {
            /* The whole L2 span is a hole: skip to its end. */
            pos = MIN(end, ((ci >> MEMORY_L2_SHIFT) + 1) * MEMORY_L2_SPAN);
            continue;
        }
        if (may_free && whole) {
            _Atomic(uint8_t *) *slot = &l2->chunk[ci & (MEMORY_L2_ENTRIES - 1)];

            if (atomic_load_explicit(slot, memory_order_relaxed) == NULL) {
                pos += n; /* already a hole: no need to exclude anyone */
                continue;
            }
            pthread_rwlock_wrlock(lock);
            chunk = atomic_exchange_explicit(slot, NULL, memory_order_acq_rel);
            pthread_rwlock_unlock(lock);
            free(chunk); /* nobody can reach it any more */
        } else {
            pthread_rwlock_rdlock(lock);
            chunk = memory_chunk_get(h, ci, false, NULL);
            if (chunk) {
                memset(chunk + coff, 0, n);
            }
            pthread_rwlock_unlock(lock);
        }
        pos += n;
    }
    req->done(req, 0);
}

static void
memory_trim(void *handle, struct backend_req *req)
{
    memory_discard(handle, req, true);
}

static void
memory_zero(void *handle, struct backend_req *req)
{
    memory_discard(handle, req, (req->flags & BACKEND_MAY_TRIM) != 0);
}

static void
memory_block_status(void *handle, struct backend_req *req)
{
    struct memory_handle *h = handle;
    uint64_t pos = req->offset, end = req->offset + req->count;

    req->nextents = 0;
    for (unsigned steps = 0; pos < end && steps < MEMORY_EXTENTS_MAX_STEPS;
         steps++) {
        uint64_t ci = pos >> MEMORY_CHUNK_SHIFT;
        struct memory_l2 *l2 = atomic_load_explicit(
            &h->l1[ci >> MEMORY_L2_SHIFT], memory_order_acquire);
        uint64_t next;
        uint32_t type;

        if (l2 == NULL) {
            next = ((ci >> MEMORY_L2_SHIFT) + 1) * MEMORY_L2_SPAN;
            type = BACKEND_EXTENT_HOLE | BACKEND_EXTENT_ZERO;
        } else {
            /* A snapshot: a concurrent write or trim may change it at once,
             * as it may on any disk. */
            uint8_t *chunk = atomic_load_explicit(
                &l2->chunk[ci & (MEMORY_L2_ENTRIES - 1)], memory_order_relaxed);

            next = (ci + 1) << MEMORY_CHUNK_SHIFT;
            type = chunk ? 0 : BACKEND_EXTENT_HOLE | BACKEND_EXTENT_ZERO;
        }
        next = MIN(next, end);
        if (!backend_extent_add(req, next - pos, type)) {
            break;
        }
        pos = next;
    }
    req->done(req, 0);
}

/* Everything is already in memory. */
static void
memory_cache(void *handle, struct backend_req *req)
{
    req->done(req, 0);
}

const struct backend_ops backend_memory_ops = {
    .name = "memory",
    .open = memory_open,
    .close = memory_close,
    .size = memory_size,
    .caps = memory_caps,
    .min_block = memory_min_block,
    .read = memory_read,
    .write = memory_write,
    .flush = memory_flush,
    .trim = memory_trim,
    .zero = memory_zero,
    .block_status = memory_block_status,
    .cache = memory_cache,
};
