/* SPDX-License-Identifier: MIT */
/*
 * Shared harness of the backend unit tests: requests go through the
 * backend_*() wrappers inside a real aio_ctx (and so a real io_uring)
 * created on the calling thread, and the harness spins aio_ctx_poll()
 * until the request's done callback fires, failing the test if that takes
 * longer than BT_DEADLINE_NS or if done fires more than once.  Also: a
 * deterministic PRNG, byte patterns, export configs and a scratch
 * directory removed at the end.  Header-only, every function static.
 */
#ifndef POLLTGT_TESTS_UNIT_BACKEND_TEST_HELPERS_H
#define POLLTGT_TESTS_UNIT_BACKEND_TEST_HELPERS_H

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend.h"
#include "policy/policy.h"
#include "util/clock.h"

#define BT_DEADLINE_NS (20 * NS_PER_SEC)
#define BT_MAX_IOV 8

/* --- Loop -------------------------------------------------------------- */

static inline struct aio_ctx *
bt_ctx_new(void)
{
    struct poll_params params;
    struct aio_ctx *ctx = NULL;
    int r;

    policy_params_default(&params);
    r = aio_ctx_new(&ctx, &params, 64);
    ck_assert_msg(r == 0, "aio_ctx_new: %s", strerror(-r));
    return ctx;
}

struct bt_req {
    struct backend_req req; /* first: the done callback casts back */
    int ncalls;
    int err;
};

static inline void
bt_done(struct backend_req *req, int err)
{
    struct bt_req *r = (struct bt_req *)req;

    r->ncalls++;
    r->err = err;
}

/* Spin the loop until r completes; returns its error. */
static inline int
bt_wait(struct aio_ctx *ctx, struct bt_req *r)
{
    int64_t deadline = clock_now_ns() + BT_DEADLINE_NS;

    while (r->ncalls == 0) {
        aio_ctx_poll(ctx, false);
        ck_assert_msg(clock_now_ns() < deadline, "request did not complete");
    }
    /* Let stray completions show up: done must have run exactly once. */
    for (int i = 0; i < 3; i++) {
        aio_ctx_poll(ctx, false);
    }
    ck_assert_int_eq(r->ncalls, 1);
    ck_assert_int_eq(aio_ctx_sqe_inflight(ctx), 0);
    return r->err;
}

static inline void
bt_req_init(struct bt_req *r, struct aio_ctx *ctx, uint64_t offset,
            uint64_t count, uint32_t flags)
{
    memset(r, 0, sizeof *r);
    r->req.ctx = ctx;
    r->req.offset = offset;
    r->req.count = count;
    r->req.flags = flags;
    r->req.done = bt_done;
}

/*
 * Split buf into up to nsplit iovecs at pseudo-random places (nsplit 1:
 * one iovec).  iov must have room for BT_MAX_IOV.
 */
static inline int
bt_split(struct iovec *iov, void *buf, uint64_t len, int nsplit, uint32_t seed)
{
    uint8_t *p = buf;
    int n = 0;

    if (nsplit > BT_MAX_IOV) {
        nsplit = BT_MAX_IOV;
    }
    while (len > 0) {
        uint64_t piece = len;

        if (n < nsplit - 1 && len > 1) {
            seed = seed * 1103515245u + 12345u;
            piece = 1 + (seed >> 8) % (len - 1);
        }
        iov[n].iov_base = p;
        iov[n].iov_len = piece;
        p += piece;
        len -= piece;
        n++;
    }
    return n;
}

static inline int
bt_rw(struct aio_ctx *ctx, struct backend *b, bool write, uint64_t offset,
      void *buf, uint64_t len, uint32_t flags, int nsplit)
{
    struct iovec iov[BT_MAX_IOV];
    struct bt_req r;

    bt_req_init(&r, ctx, offset, len, flags);
    r.req.iov = iov;
    r.req.iovcnt = bt_split(iov, buf, len, nsplit, (uint32_t)offset);
    if (write) {
        backend_write(b, &r.req);
    } else {
        backend_read(b, &r.req);
    }
    return bt_wait(ctx, &r);
}

static inline int
bt_read(struct aio_ctx *ctx, struct backend *b, uint64_t offset, void *buf,
        uint64_t len)
{
    return bt_rw(ctx, b, false, offset, buf, len, 0, 1);
}

static inline int
bt_write(struct aio_ctx *ctx, struct backend *b, uint64_t offset,
         const void *buf, uint64_t len, uint32_t flags)
{
    return bt_rw(ctx, b, true, offset, (void *)(uintptr_t)buf, len, flags, 1);
}

/* flush, trim, zero, cache. */
static inline int
bt_op(struct aio_ctx *ctx, struct backend *b, enum backend_op op,
      uint64_t offset, uint64_t len, uint32_t flags)
{
    struct bt_req r;

    bt_req_init(&r, ctx, offset, len, flags);
    switch (op) {
    case BACKEND_OP_FLUSH:
        backend_flush(b, &r.req);
        break;
    case BACKEND_OP_TRIM:
        backend_trim(b, &r.req);
        break;
    case BACKEND_OP_ZERO:
        backend_zero(b, &r.req);
        break;
    case BACKEND_OP_CACHE:
        backend_cache(b, &r.req);
        break;
    default:
        ck_abort_msg("bt_op: not for this op");
    }
    return bt_wait(ctx, &r);
}

static inline int
bt_block_status(struct aio_ctx *ctx, struct backend *b, uint64_t offset,
                uint64_t len, uint32_t flags, struct backend_extent *ext,
                size_t max, size_t *n)
{
    struct bt_req r;
    int err;

    bt_req_init(&r, ctx, offset, len, flags);
    r.req.extents = ext;
    r.req.max_extents = max;
    backend_block_status(b, &r.req);
    err = bt_wait(ctx, &r);
    *n = r.req.nextents;
    return err;
}

#define BT_HOLE (BACKEND_EXTENT_HOLE | BACKEND_EXTENT_ZERO)

#define bt_assert_extent(e, len, typ)                                      \
    do {                                                                   \
        ck_assert_uint_eq((e).length, (len));                              \
        ck_assert_uint_eq((e).type, (typ));                                \
    } while (0)

/* --- Data -------------------------------------------------------------- */

/* xorshift64*: deterministic, seeded per test. */
static inline uint64_t
bt_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static inline void
bt_fill(void *buf, size_t len, uint64_t seed)
{
    uint8_t *p = buf;
    uint64_t s = seed | 1;

    for (size_t i = 0; i < len; i++) {
        if ((i & 7) == 0) {
            s = bt_rand(&s);
        }
        p[i] = (uint8_t)(s >> ((i & 7) * 8));
    }
}

static inline bool
bt_is_zero(const void *buf, size_t len)
{
    const uint8_t *p = buf;

    for (size_t i = 0; i < len; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static inline void *
bt_xmalloc(size_t len)
{
    void *p = malloc(len ? len : 1);

    ck_assert_ptr_nonnull(p);
    return p;
}

/* --- Exports ----------------------------------------------------------- */

static inline struct config_export
bt_export(const char *backend, uint64_t size)
{
    struct config_export cfg;

    memset(&cfg, 0, sizeof cfg);
    cfg.name = (char *)(uintptr_t)"test";
    cfg.backend = (char *)(uintptr_t)backend;
    cfg.size = size;
    cfg.iothread = -1;
    return cfg;
}

static inline struct backend *
bt_open(const struct config_export *cfg)
{
    struct backend *b = NULL;
    int r = backend_open(cfg, &b);

    ck_assert_msg(r == 0, "backend_open: %s", strerror(-r));
    ck_assert_ptr_nonnull(b);
    return b;
}

/* --- Scratch directory (unchecked fixture: made and removed once per
 * test case, outside the forked test processes) ------------------------ */

static char bt_dir[256];

static inline void
bt_dir_setup(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(bt_dir, sizeof bt_dir, "%s/polltgt-backend-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(bt_dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

static inline int
bt_dir_rm1(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static inline void
bt_dir_teardown(void)
{
    if (bt_dir[0]) {
        nftw(bt_dir, bt_dir_rm1, 16, FTW_DEPTH | FTW_PHYS);
        bt_dir[0] = '\0';
    }
}

/* A path in the scratch directory (static storage, reused after 8). */
static inline const char *
bt_path(const char *name)
{
    static char path[8][512];
    static unsigned next;
    char *p = path[next++ % 8];

    snprintf(p, sizeof path[0], "%s/%s", bt_dir, name);
    return p;
}

#endif /* POLLTGT_TESTS_UNIT_BACKEND_TEST_HELPERS_H */
