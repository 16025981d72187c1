/* SPDX-License-Identifier: MIT */
/*
 * Shared harness of the SCSI core tests (test-scsi-cmd, -spc, -sbc),
 * #included by each, not compiled alone: every function is static.
 *
 * A test builds a real export on the memory backend (struct export filled
 * by hand, as export.c would), a target with up to four LUs on it, and
 * runs commands the way a transport does: decode, allocate exactly
 * buf_len bytes (so the sanitizer build catches a command writing past
 * what it announced), copy data-out in (xfer_len bytes, at the start),
 * exec, then spin the aio loop until done has run, checking that it ran
 * exactly once.
 */
#ifndef POLLTGT_TESTS_UNIT_SCSI_TEST_HELPERS_H
#define POLLTGT_TESTS_UNIT_SCSI_TEST_HELPERS_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "backend-test-helpers.h"
#include "scsi/scsi-internal.h"
#include "stats/stats.h"

#define ST_TARGET "iqn.2026-11.org.polltgt:unit"
#define ST_MAX_LUNS 4

struct st_env {
    struct config_export cfg;
    struct backend *b;
    struct export e;
    struct aio_ctx *ctx;
    struct scsi_lu lu[ST_MAX_LUNS];
    struct scsi_target target;
};

/* LUN numbers of the target's LUs: peripheral and flat addressing. */
static const uint64_t st_luns[ST_MAX_LUNS] = { 0, 1, 300, 16383 };

static inline void
st_env_init(struct st_env *env, uint64_t size, unsigned block_size,
            bool readonly, size_t nluns)
{
    memset(env, 0, sizeof *env);
    env->cfg = bt_export("memory", size);
    env->cfg.block_size = block_size;
    env->cfg.readonly = readonly;
    env->b = bt_open(&env->cfg);
    env->e.cfg = &env->cfg;
    env->e.name = env->cfg.name;
    env->e.description = "";
    env->e.backend = env->b;
    env->e.size = backend_size(env->b);
    env->e.caps = backend_caps(env->b);
    if (readonly) {
        env->e.caps &= ~(unsigned)(BACKEND_CAN_WRITE | BACKEND_CAN_TRIM
                                   | BACKEND_CAN_ZERO | BACKEND_CAN_FAST_ZERO);
    }
    env->e.readonly = readonly;
    env->e.iothread = -1;
    env->ctx = bt_ctx_new();
    ck_assert_uint_le(nluns, ST_MAX_LUNS);
    for (size_t i = 0; i < nluns; i++) {
        scsi_lu_init(&env->lu[i], &env->e, st_luns[i], ST_TARGET);
    }
    env->target.name = ST_TARGET;
    env->target.tpgt = 1;
    env->target.luns = env->lu;
    env->target.nluns = nluns;
}

static inline void
st_env_free(struct st_env *env)
{
    for (size_t i = 0; i < env->target.nluns; i++) {
        scsi_pr_destroy(env->lu[i].pr); /* an APTPL path, the mutex */
    }
    aio_ctx_free(env->ctx);
    backend_close(env->b);
}

struct st_cmd {
    struct scsi_cmd t;  /* first: done casts back */
    int ncalls;
    bool decoded;
};

static inline void
st_done(struct scsi_cmd *t)
{
    ((struct st_cmd *)t)->ncalls++;
}

static inline void
st_cmd_init(struct st_cmd *c, struct st_env *env, const struct scsi_lu *lu,
            const uint8_t *cdb, size_t cdb_len)
{
    memset(c, 0, sizeof *c);
    ck_assert_uint_le(cdb_len, SCSI_CDB_MAX);
    c->t.target = &env->target;
    c->t.lu = lu;
    c->t.lun = lu ? lu->lun : 99;
    memcpy(c->t.cdb, cdb, cdb_len);
    c->t.cdb_len = (uint8_t)cdb_len;
    c->t.ctx = env->ctx;
    c->t.done = st_done;
    c->t.status = 0xff; /* decode must set it */
    c->t.stats_op = 1234;
}

/* Exec and wait until done ran exactly once. */
static inline void
st_exec_wait(struct st_env *env, struct st_cmd *c)
{
    int64_t deadline = clock_now_ns() + BT_DEADLINE_NS;

    scsi_cmd_exec(&c->t);
    while (c->ncalls == 0) {
        aio_ctx_poll(env->ctx, false);
        ck_assert_msg(clock_now_ns() < deadline, "command did not complete");
    }
    for (int i = 0; i < 3; i++) {
        aio_ctx_poll(env->ctx, false);
    }
    ck_assert_int_eq(c->ncalls, 1);
    ck_assert_int_eq(aio_ctx_sqe_inflight(env->ctx), 0);
}

/*
 * Run one command the way a transport does.  out/out_len: data-out (must
 * be xfer_len bytes when the command has any).  Returns the status; the
 * data, if any, is in c->t.buf (free with st_cmd_free).
 */
static inline uint8_t
st_run(struct st_env *env, struct st_cmd *c, const void *out, size_t out_len)
{
    c->decoded = scsi_cmd_decode(&c->t);
    if (!c->decoded) {
        ck_assert_int_eq(c->t.status, SCSI_STATUS_CHECK_CONDITION);
        ck_assert_int_eq(c->t.dir, SCSI_DIR_NONE);
        ck_assert_uint_eq(c->t.xfer_len, 0);
        ck_assert_uint_eq(c->t.buf_len, 0);
        /* A transport that calls exec anyway gets the same answer. */
        st_exec_wait(env, c);
        ck_assert_int_eq(c->t.status, SCSI_STATUS_CHECK_CONDITION);
        return c->t.status;
    }
    ck_assert(c->t.xfer_len > 0 || c->t.dir == SCSI_DIR_NONE);
    /* Scratch room past the data is bounded (scsi-cmd.h). */
    ck_assert_uint_le(c->t.buf_len, c->t.xfer_len + SCSI_STEP_BYTES + 4096);
    /* No buffer at all when nothing moves, as a transport may do. */
    c->t.buf = c->t.buf_len ? bt_xmalloc(c->t.buf_len) : NULL;
    if (c->t.buf) {
        memset(c->t.buf, 0xa5, c->t.buf_len);
    }
    if (c->t.dir == SCSI_DIR_WRITE) {
        ck_assert_uint_eq(out_len, c->t.xfer_len);
        ck_assert_uint_ge(c->t.buf_len, c->t.xfer_len);
        memcpy(c->t.buf, out, out_len);
    }
    st_exec_wait(env, c);
    ck_assert_uint_le(c->t.data_len, c->t.buf_len);
    ck_assert_uint_le(c->t.data_len, c->t.xfer_len);
    if (c->t.status == SCSI_STATUS_GOOD) {
        ck_assert_uint_eq(c->t.sense_len, 0);
        if (c->t.dir != SCSI_DIR_READ) {
            ck_assert_uint_eq(c->t.data_len, 0);
        }
    } else {
        ck_assert_uint_eq(c->t.data_len, 0);
    }
    return c->t.status;
}

static inline void
st_cmd_free(struct st_cmd *c)
{
    free(c->t.buf);
    c->t.buf = NULL;
}

/* Build, run, and free-later: the common case of a data-in command. */
static inline uint8_t
st_run_cdb(struct st_env *env, struct st_cmd *c, const struct scsi_lu *lu,
           const uint8_t *cdb, size_t cdb_len)
{
    st_cmd_init(c, env, lu, cdb, cdb_len);
    return st_run(env, c, NULL, 0);
}

#define ST_RUN(env, c, lu, ...)                                             \
    ({                                                                     \
        const uint8_t cdb_[] = { __VA_ARGS__ };                            \
        st_run_cdb((env), (c), (lu), cdb_, sizeof cdb_);                   \
    })

/* CHECK CONDITION with exactly this fixed-format sense, INFORMATION
 * valid and set to info unless info is UINT64_MAX. */
static inline void
st_assert_sense_info(const struct scsi_cmd *t, uint8_t key, uint16_t asc,
                     uint64_t info)
{
    uint8_t want[SCSI_SENSE_LEN] = { 0 };

    want[0] = info == UINT64_MAX ? 0x70 : 0xf0;
    if (info != UINT64_MAX) {
        scsi_put_be32(&want[3], (uint32_t)info);
    }
    want[2] = key;
    want[7] = 10;
    want[12] = (uint8_t)(asc >> 8);
    want[13] = (uint8_t)asc;
    ck_assert_int_eq(t->status, SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(t->sense_len, SCSI_SENSE_LEN);
    for (size_t i = 0; i < SCSI_SENSE_LEN; i++) {
        ck_assert_msg(t->sense[i] == want[i],
                      "sense byte %zu: 0x%02x, want 0x%02x (key %x asc %04x)",
                      i, t->sense[i], want[i], key, asc);
    }
}

/* CHECK CONDITION with exactly this fixed-format sense. */
static inline void
st_assert_sense(const struct scsi_cmd *t, uint8_t key, uint16_t asc)
{
    st_assert_sense_info(t, key, asc, UINT64_MAX);
}

/* INVALID FIELD IN CDB, with the field pointer at CDB byte, bit. */
static inline void
st_assert_invalid_field_at(const struct scsi_cmd *t, uint8_t byte,
                           uint8_t bit)
{
    struct scsi_cmd plain = *t;

    ck_assert_uint_eq(t->sense[15], 0x80 | 0x40 | 0x08 | bit);
    ck_assert_uint_eq(t->sense[16], 0);
    ck_assert_uint_eq(t->sense[17], byte);
    memset(&plain.sense[15], 0, 3);
    st_assert_sense(&plain, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
}

static inline uint16_t
st_be16(const uint8_t *p)
{
    return scsi_get_be16(p);
}

static inline uint32_t
st_be32(const uint8_t *p)
{
    return scsi_get_be32(p);
}

static inline uint64_t
st_be64(const uint8_t *p)
{
    return scsi_get_be64(p);
}

/* CDBs of the I/O commands. */
static inline size_t
st_cdb_rw(uint8_t *cdb, uint8_t op, uint64_t lba, uint32_t n, uint8_t byte1)
{
    memset(cdb, 0, SCSI_CDB_MAX);
    cdb[0] = op;
    switch (op) {
    case SCSI_OP_READ_6:
    case SCSI_OP_WRITE_6:
        cdb[1] = (uint8_t)(lba >> 16) & 0x1f;
        cdb[2] = (uint8_t)(lba >> 8);
        cdb[3] = (uint8_t)lba;
        cdb[4] = (uint8_t)n;
        return 6;
    case SCSI_OP_READ_10:
    case SCSI_OP_WRITE_10:
    case SCSI_OP_WRITE_VERIFY_10:
    case SCSI_OP_VERIFY_10:
    case SCSI_OP_PREFETCH_10:
    case SCSI_OP_SYNCHRONIZE_CACHE_10:
    case SCSI_OP_WRITE_SAME_10:
        cdb[1] = byte1;
        scsi_put_be32(&cdb[2], (uint32_t)lba);
        scsi_put_be16(&cdb[7], (uint16_t)n);
        return 10;
    case SCSI_OP_READ_12:
    case SCSI_OP_WRITE_12:
    case SCSI_OP_WRITE_VERIFY_12:
    case SCSI_OP_VERIFY_12:
        cdb[1] = byte1;
        scsi_put_be32(&cdb[2], (uint32_t)lba);
        scsi_put_be32(&cdb[6], n);
        return 12;
    default:
        cdb[1] = byte1;
        scsi_put_be64(&cdb[2], lba);
        scsi_put_be32(&cdb[10], n);
        return 16;
    }
}

static inline uint8_t
st_rw(struct st_env *env, struct st_cmd *c, const struct scsi_lu *lu,
      uint8_t op, uint64_t lba, uint32_t n, uint8_t byte1, const void *out,
      size_t out_len)
{
    uint8_t cdb[SCSI_CDB_MAX];
    size_t len = st_cdb_rw(cdb, op, lba, n, byte1);

    st_cmd_init(c, env, lu, cdb, len);
    return st_run(env, c, out, out_len);
}

static inline int
st_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* POLLTGT_TESTS_UNIT_SCSI_TEST_HELPERS_H */
