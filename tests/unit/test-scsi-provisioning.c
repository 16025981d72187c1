/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of logical block provisioning (server/scsi/scsi-lbp.c):
 * WRITE SAME(10)/(16) replicating a block over ranges longer than one
 * step, zeroing and unmapping (UNMAP bit, NDOB, with and without the
 * backend's zero), "to the end" lengths and every refusal; UNMAP with
 * several descriptors, each parameter-list error with its exact sense and
 * nothing unmapped when any descriptor is bad; GET LBA STATUS mapped and
 * deallocated descriptors through the memory backend (64 KiB chunks: 128
 * blocks of 512 bytes), truncation, and a hole too long for one
 * descriptor.
 */
#include <config.h>

#include <check.h>
#include <stdlib.h>

#include "scsi-test-helpers.h"

#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)

static const unsigned block_sizes[] = { 512, 4096 };

/* WRITE SAME of n blocks at lba with one block of data (NULL: NDOB). */
static uint8_t
lbp_ws(struct st_env *env, struct st_cmd *c, uint8_t op, uint64_t lba,
       uint32_t n, uint8_t byte1, const uint8_t *block)
{
    uint8_t cdb[SCSI_CDB_MAX];
    size_t len = st_cdb_rw(cdb, op, lba, n, byte1);

    st_cmd_init(c, env, &env->lu[0], cdb, len);
    return st_run(env, c, block, block ? env->lu[0].block_size : 0);
}

/* Every block of [lba, lba + n) on the backend equals block. */
static void
lbp_assert_blocks(struct st_env *env, uint64_t lba, uint64_t n,
                  const uint8_t *block)
{
    uint32_t bs = env->lu[0].block_size;
    uint8_t *raw = bt_xmalloc(n * bs);

    ck_assert_int_eq(bt_read(env->ctx, env->b, lba * bs, raw, n * bs), 0);
    for (uint64_t i = 0; i < n; i++) {
        ck_assert_msg(memcmp(raw + i * bs, block, bs) == 0,
                      "block %llu differs", (unsigned long long)(lba + i));
    }
    free(raw);
}

static void
lbp_fill(struct st_env *env, uint64_t lba, uint64_t n, uint8_t byte)
{
    uint32_t bs = env->lu[0].block_size;
    uint8_t *raw = bt_xmalloc(n * bs);

    memset(raw, byte, n * bs);
    ck_assert_int_eq(bt_write(env->ctx, env->b, lba * bs, raw, n * bs, 0), 0);
    free(raw);
}

START_TEST(test_lbp_write_same_replicates_the_block)
{
    const unsigned bs = block_sizes[_i];
    const uint32_t n = (uint32_t)(3 * MiB / 2 / bs) + 3; /* two steps */
    uint8_t *block = bt_xmalloc(bs), *other = bt_xmalloc(bs);
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, 8 * MiB, bs, false, 1);
    bt_fill(block, bs, 42);
    memset(other, 0x77, bs);
    lbp_fill(&env, 0, n + 20, 0x77);
    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_16, 10, n, 0, block),
                     SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_WRITE);
    ck_assert_uint_eq(c.t.xfer_len, bs);
    ck_assert_uint_eq(c.t.buf_len, MiB); /* one step of scratch */
    ck_assert_int_eq(c.t.stats_op, STATS_OP_ZERO);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_WRITE);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, 10, n, block);
    lbp_assert_blocks(&env, 9, 1, other);
    lbp_assert_blocks(&env, 10 + n, 1, other);

    /* (10), a few blocks: the scratch is just the range. */
    block[0] ^= 0xff;
    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_10, 3, 5, 0, block),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf_len, 5 * bs);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, 3, 5, block);
    lbp_assert_blocks(&env, 8, 1, other);

    /* 0 blocks: to the end of the LU. */
    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_10,
                            env.lu[0].nblocks - 7, 0, 0, block),
                     SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, env.lu[0].nblocks - 7, 7, block);
    /* ... and at the end itself, nothing (the block is still sent). */
    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_16,
                            env.lu[0].nblocks, 0, 0, block), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.xfer_len, bs);
    st_cmd_free(&c);
    free(block);
    free(other);
    st_env_free(&env);
}
END_TEST

/* A block of zeros (or NDOB) goes out as one backend_zero, with MAY_TRIM
 * only for the UNMAP bit; UNMAP with data writes the data. */
START_TEST(test_lbp_write_same_zeroes_and_unmaps)
{
    uint8_t zero[512] = { 0 }, block[512];
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, 4 * MiB, 512, false, 1);
    bt_fill(block, sizeof block, 9);
    lbp_fill(&env, 0, 1024, 0x55);

    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_10, 0, 100, 0, zero),
                     SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_ZERO);
    ck_assert_uint_eq(c.t.breq.flags, 0);
    ck_assert_uint_eq(c.t.breq.count, 100 * 512);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, 0, 100, zero);

    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_16, 128, 256, 0x08,
                            zero), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_ZERO);
    ck_assert_uint_eq(c.t.breq.flags, BACKEND_MAY_TRIM);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, 128, 256, zero);

    /* NDOB: no data-out at all; with UNMAP, deallocating. */
    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_16, 512, 128, 0x09,
                            NULL), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_NONE);
    ck_assert_uint_eq(c.t.xfer_len, 0);
    ck_assert_uint_eq(c.t.breq.flags, BACKEND_MAY_TRIM);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, 512, 128, zero);
    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_16, 640, 10, 0x01,
                            NULL), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.breq.flags, 0);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, 640, 10, zero);

    /* UNMAP with a block that is not zeros: the data is written. */
    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_10, 700, 20, 0x08,
                            block), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_WRITE);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, 700, 20, block);

    /* A backend that cannot zero: zeros are written like any data, and
     * NDOB gets scratch room to write them from. */
    env.e.caps &= ~(unsigned)BACKEND_CAN_ZERO;
    lbp_fill(&env, 800, 40, 0x66);
    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_10, 800, 20, 0x08,
                            zero), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_WRITE);
    st_cmd_free(&c);
    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_16, 820, 20, 0x01,
                            NULL), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf_len, 20 * 512);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_WRITE);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, 800, 40, zero);
    st_env_free(&env);
}
END_TEST

START_TEST(test_lbp_write_same_refusals)
{
    static const struct {
        uint8_t op;
        uint8_t byte1;
    } bad_bits[] = {
        { SCSI_OP_WRITE_SAME_10, 0x20 }, /* WRPROTECT */
        { SCSI_OP_WRITE_SAME_16, 0xe0 },
        { SCSI_OP_WRITE_SAME_10, 0x10 }, /* ANCHOR without UNMAP */
        { SCSI_OP_WRITE_SAME_16, 0x18 }, /* ANCHOR with UNMAP: no ANC_SUP */
        { SCSI_OP_WRITE_SAME_10, 0x02 }, /* LBDATA */
        { SCSI_OP_WRITE_SAME_16, 0x04 }, /* PBDATA */
        { SCSI_OP_WRITE_SAME_10, 0x01 }, /* reserved in (10) */
    };
    uint8_t block[512] = { 1 };
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, 64 * MiB, 512, false, 1); /* 131072 blocks */
    for (size_t i = 0; i < ARRAY_SIZE(bad_bits); i++) {
        lbp_ws(&env, &c, bad_bits[i].op, 0, 1, bad_bits[i].byte1, block);
        ck_assert(!c.decoded);
        st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                        SCSI_ASC_INVALID_FIELD_IN_CDB);
        ck_assert_int_eq(c.t.stats_op, STATS_OP_ZERO);
    }
    /* Out of range: past the end, wrapping, 0 blocks past the end. */
    lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_16, 131072 - 1, 2, 0, block);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_LBA_OUT_OF_RANGE);
    lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_16, UINT64_MAX, 2, 0, block);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_LBA_OUT_OF_RANGE);
    lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_10, 131073, 0, 0, block);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_LBA_OUT_OF_RANGE);
    /* MAXIMUM WRITE SAME LENGTH (65535), also for "to the end". */
    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_16, 0, 65535, 0,
                            block), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_16, 0, 65536, 0, block);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_10, 0, 0, 0, block);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    ck_assert_int_eq(lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_10, 131072 - 65535,
                            0, 0, block), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    st_env_free(&env);

    /* Read-only: WRITE PROTECTED before any data moves. */
    st_env_init(&env, MiB, 512, true, 1);
    lbp_ws(&env, &c, SCSI_OP_WRITE_SAME_10, 0, 1, 0x08, block);
    ck_assert(!c.decoded);
    st_assert_sense(&c.t, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
    st_env_free(&env);
}
END_TEST

/* --- UNMAP --------------------------------------------------------------- */

/* An UNMAP parameter list of n descriptors {lba, count}; returns its
 * length.  bdl_delta skews the BLOCK DESCRIPTOR DATA LENGTH. */
static uint32_t
lbp_unmap_list(uint8_t *p, const uint64_t (*d)[2], uint32_t n, int bdl_delta)
{
    uint32_t len = 8 + 16 * n;

    memset(p, 0, len);
    scsi_put_be16(&p[0], (uint16_t)(len - 2));
    scsi_put_be16(&p[2], (uint16_t)((int)(16 * n) + bdl_delta));
    for (uint32_t i = 0; i < n; i++) {
        scsi_put_be64(&p[8 + 16 * i], d[i][0]);
        scsi_put_be32(&p[8 + 16 * i + 8], (uint32_t)d[i][1]);
    }
    return len;
}

static uint8_t
lbp_unmap(struct st_env *env, struct st_cmd *c, uint8_t byte1,
          const uint8_t *list, uint32_t len)
{
    uint8_t cdb[10] = { SCSI_OP_UNMAP, byte1 };

    scsi_put_be16(&cdb[7], (uint16_t)len);
    st_cmd_init(c, env, &env->lu[0], cdb, sizeof cdb);
    return st_run(env, c, list, len);
}

/* GET LBA STATUS from lba; the answer in c->t.buf. */
static uint8_t
lbp_gls(struct st_env *env, struct st_cmd *c, uint64_t lba, uint32_t alloc)
{
    uint8_t cdb[16] = { SCSI_OP_SERVICE_ACTION_IN_16, 0x12 };

    scsi_put_be64(&cdb[2], lba);
    scsi_put_be32(&cdb[10], alloc);
    st_cmd_init(c, env, &env->lu[0], cdb, sizeof cdb);
    return st_run(env, c, NULL, 0);
}

/* Descriptor i of a GET LBA STATUS answer is {lba, n, status}. */
static void
lbp_assert_desc(const uint8_t *b, unsigned i, uint64_t lba, uint32_t n,
                uint8_t status)
{
    const uint8_t *d = b + 8 + 16 * i;

    ck_assert_msg(st_be64(d) == lba && st_be32(d + 8) == n && d[12] == status,
                  "descriptor %u: {%llu, %u, %u}, want {%llu, %u, %u}", i,
                  (unsigned long long)st_be64(d), st_be32(d + 8), d[12],
                  (unsigned long long)lba, n, status);
}

START_TEST(test_lbp_unmap_deallocates_each_descriptor)
{
    static const uint64_t d[][2] = { { 128, 128 }, { 400, 8 }, { 0, 0 },
                                     { 2048, 0 } };
    uint8_t list[8 + 16 * 4], zero[512] = { 0 }, a[512];
    struct st_env env;
    struct st_cmd c;
    uint32_t len = lbp_unmap_list(list, d, 4, 0);

    st_env_init(&env, MiB, 512, false, 1); /* 2048 blocks */
    memset(a, 0x61, sizeof a);
    lbp_fill(&env, 0, 512, 0x61);
    ck_assert_int_eq(lbp_unmap(&env, &c, 0, list, len), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_WRITE);
    ck_assert_uint_eq(c.t.xfer_len, len);
    ck_assert_int_eq(c.t.stats_op, STATS_OP_TRIM);
    /* The last request: zero with MAY_TRIM (LBPRZ holds), of {400, 8}. */
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_ZERO);
    ck_assert_uint_eq(c.t.breq.flags, BACKEND_MAY_TRIM);
    ck_assert_uint_eq(c.t.breq.offset, 400 * 512);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, 0, 128, a);
    lbp_assert_blocks(&env, 128, 128, zero);
    lbp_assert_blocks(&env, 256, 144, a);
    lbp_assert_blocks(&env, 400, 8, zero);
    lbp_assert_blocks(&env, 408, 104, a);

    /* GET LBA STATUS: chunk 1 (blocks 128-255) was freed; chunk 3 was
     * only partly unmapped, so it stays mapped; the rest was never
     * written. */
    ck_assert_int_eq(lbp_gls(&env, &c, 0, 1024), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.stats_op, STATS_OP_BLOCK_STATUS);
    ck_assert_uint_eq(st_be32(c.t.buf), 4 + 4 * 16);
    ck_assert_uint_eq(c.t.data_len, 8 + 4 * 16);
    lbp_assert_desc(c.t.buf, 0, 0, 128, SCSI_LBA_STATUS_MAPPED);
    lbp_assert_desc(c.t.buf, 1, 128, 128, SCSI_LBA_STATUS_DEALLOCATED);
    lbp_assert_desc(c.t.buf, 2, 256, 256, SCSI_LBA_STATUS_MAPPED);
    lbp_assert_desc(c.t.buf, 3, 512, 1536, SCSI_LBA_STATUS_DEALLOCATED);
    st_cmd_free(&c);

    /* Trim without zero: backend_trim. */
    env.e.caps &= ~(unsigned)BACKEND_CAN_ZERO;
    ck_assert_int_eq(lbp_unmap(&env, &c, 0, list, len), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_TRIM);
    st_cmd_free(&c);
    /* A list of 0 bytes, or with no descriptors: nothing to do. */
    ck_assert_int_eq(lbp_unmap(&env, &c, 0, NULL, 0), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_NONE);
    ck_assert_ptr_null(c.t.breq.ctx);
    st_cmd_free(&c);
    /* Only the header, which claims 4 descriptors: malformed. */
    lbp_unmap(&env, &c, 0, list, 8);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
    st_cmd_free(&c);
    len = lbp_unmap_list(list, d, 0, 0);
    ck_assert_int_eq(lbp_unmap(&env, &c, 0, list, len), SCSI_STATUS_GOOD);
    ck_assert_ptr_null(c.t.breq.ctx);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_lbp_unmap_parameter_list_errors)
{
    static const uint64_t one[][2] = { { 0, 4 } };
    static const uint64_t oob[][2] = { { 0, 4 }, { 2047, 2 } };
    static const uint64_t big[][2] = { { 0, 1u << 20 }, { 1u << 20, 1 } };
    uint8_t *list = bt_xmalloc(8 + 16 * 300), a[512];
    uint64_t (*many)[2] = calloc(257, sizeof *many);
    struct st_env env;
    struct st_cmd c;
    uint32_t len;

    st_env_init(&env, MiB, 512, false, 1);
    memset(a, 0x61, sizeof a);
    lbp_fill(&env, 0, 8, 0x61);
    /* 1-7 bytes: not even the header; refused before the data moves. */
    for (uint32_t n = 1; n < 8; n++) {
        lbp_unmap(&env, &c, 0, list, n);
        ck_assert(!c.decoded);
        st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                        SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
        ck_assert_int_eq(c.t.stats_op, STATS_OP_TRIM);
    }
    /* BLOCK DESCRIPTOR DATA LENGTH past the list. */
    len = lbp_unmap_list(list, one, 1, 16);
    lbp_unmap(&env, &c, 0, list, len);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
    st_cmd_free(&c);
    /* ... a partial last descriptor is ignored, not an error. */
    len = lbp_unmap_list(list, one, 1, -4);
    ck_assert_int_eq(lbp_unmap(&env, &c, 0, list, len), SCSI_STATUS_GOOD);
    ck_assert_ptr_null(c.t.breq.ctx);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, 0, 4, a);
    /* More descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT. */
    len = lbp_unmap_list(list, (const uint64_t (*)[2])many, 257, 0);
    lbp_unmap(&env, &c, 0, list, len);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
    st_cmd_free(&c);
    len = lbp_unmap_list(list, (const uint64_t (*)[2])many, 256, 0);
    ck_assert_int_eq(lbp_unmap(&env, &c, 0, list, len), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    /* A descriptor out of range: LBA OUT OF RANGE, and the good one
     * before it was not unmapped either. */
    len = lbp_unmap_list(list, oob, 2, 0);
    lbp_unmap(&env, &c, 0, list, len);
    ck_assert(c.decoded);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_LBA_OUT_OF_RANGE);
    ck_assert_ptr_null(c.t.breq.ctx);
    st_cmd_free(&c);
    lbp_assert_blocks(&env, 0, 4, a);
    /* ANCHOR: no anchored state. */
    len = lbp_unmap_list(list, one, 1, 0);
    lbp_unmap(&env, &c, 0x01, list, len);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    st_env_free(&env);

    /* More than MAXIMUM UNMAP LBA COUNT (2^20) in all. */
    st_env_init(&env, 2 * GiB, 512, false, 1);
    len = lbp_unmap_list(list, big, 1, 0);
    ck_assert_int_eq(lbp_unmap(&env, &c, 0, list, len), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    len = lbp_unmap_list(list, big, 2, 0);
    lbp_unmap(&env, &c, 0, list, len);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
    st_cmd_free(&c);
    st_env_free(&env);

    /* Read-only: WRITE PROTECTED, before the data moves. */
    st_env_init(&env, MiB, 512, true, 1);
    len = lbp_unmap_list(list, one, 1, 0);
    lbp_unmap(&env, &c, 0, list, len);
    ck_assert(!c.decoded);
    st_assert_sense(&c.t, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
    st_env_free(&env);
    free(many);
    free(list);
}
END_TEST

/* --- GET LBA STATUS ------------------------------------------------------ */

START_TEST(test_lbp_get_lba_status_descriptors)
{
    const unsigned bs = block_sizes[_i];
    const uint64_t nblocks = 4 * MiB / bs;
    const uint32_t per_chunk = 65536 / bs;
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, 4 * MiB, bs, false, 1);
    /* Nothing written: one deallocated extent from the starting LBA. */
    ck_assert_int_eq(lbp_gls(&env, &c, 5, 24), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_READ);
    ck_assert_uint_eq(c.t.xfer_len, 24);
    ck_assert_uint_ge(c.t.buf_len, 24); /* plus room for the extents */
    ck_assert_uint_eq(c.t.data_len, 24);
    ck_assert_uint_eq(st_be32(c.t.buf), 20);
    ck_assert_uint_eq(st_be32(&c.t.buf[4]), 0);
    lbp_assert_desc(c.t.buf, 0, 5, (uint32_t)(nblocks - 5),
                    SCSI_LBA_STATUS_DEALLOCATED);
    st_cmd_free(&c);

    /* One block written in chunk 2: the whole chunk is mapped.  With room
     * for one descriptor, only the first; with more, all three. */
    lbp_fill(&env, 2 * per_chunk + 3, 1, 0xee);
    ck_assert_int_eq(lbp_gls(&env, &c, 0, 24), SCSI_STATUS_GOOD);
    lbp_assert_desc(c.t.buf, 0, 0, 2 * per_chunk,
                    SCSI_LBA_STATUS_DEALLOCATED);
    st_cmd_free(&c);
    ck_assert_int_eq(lbp_gls(&env, &c, 1, 4096), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(st_be32(c.t.buf), 4 + 3 * 16);
    ck_assert_uint_eq(c.t.data_len, 8 + 3 * 16);
    lbp_assert_desc(c.t.buf, 0, 1, 2 * per_chunk - 1,
                    SCSI_LBA_STATUS_DEALLOCATED);
    lbp_assert_desc(c.t.buf, 1, 2 * per_chunk, per_chunk,
                    SCSI_LBA_STATUS_MAPPED);
    lbp_assert_desc(c.t.buf, 2, 3 * per_chunk, (uint32_t)(nblocks
                                                           - 3 * per_chunk),
                    SCSI_LBA_STATUS_DEALLOCATED);
    st_cmd_free(&c);
    /* From inside the mapped chunk; from the last block. */
    ck_assert_int_eq(lbp_gls(&env, &c, 2 * per_chunk + 5, 24),
                     SCSI_STATUS_GOOD);
    lbp_assert_desc(c.t.buf, 0, 2 * per_chunk + 5, per_chunk - 5,
                    SCSI_LBA_STATUS_MAPPED);
    st_cmd_free(&c);
    ck_assert_int_eq(lbp_gls(&env, &c, nblocks - 1, 24), SCSI_STATUS_GOOD);
    lbp_assert_desc(c.t.buf, 0, nblocks - 1, 1, SCSI_LBA_STATUS_DEALLOCATED);
    st_cmd_free(&c);

    /* Truncated: the header says how much there is. */
    ck_assert_int_eq(lbp_gls(&env, &c, 0, 8), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 8);
    ck_assert_uint_eq(st_be32(c.t.buf), 20);
    st_cmd_free(&c);
    ck_assert_int_eq(lbp_gls(&env, &c, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 0);
    st_cmd_free(&c);

    /* The starting LBA must be inside the LU. */
    lbp_gls(&env, &c, nblocks, 24);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_LBA_OUT_OF_RANGE);
    ck_assert_int_eq(c.t.stats_op, STATS_OP_BLOCK_STATUS);
    lbp_gls(&env, &c, UINT64_MAX, 24);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_LBA_OUT_OF_RANGE);
    st_env_free(&env);
}
END_TEST

/* 4 TiB of 512-byte blocks, one chunk written: the hole after it is more
 * than 2^32 blocks, so the answer stops at a full 32-bit descriptor. */
START_TEST(test_lbp_get_lba_status_caps_a_descriptor_at_32_bits)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, 4 * TiB, 512, false, 1);
    lbp_fill(&env, 0, 1, 0x12);
    ck_assert_int_eq(lbp_gls(&env, &c, 0, 1024), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(st_be32(c.t.buf), 4 + 2 * 16);
    lbp_assert_desc(c.t.buf, 0, 0, 128, SCSI_LBA_STATUS_MAPPED);
    lbp_assert_desc(c.t.buf, 1, 128, UINT32_MAX, SCSI_LBA_STATUS_DEALLOCATED);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

/* A thin LU whose backend cannot tell allocation (rbd, an nbd remote
 * without base:allocation) answers every block mapped, even ones it
 * never wrote, in descriptors of at most 2^32 - 1 blocks. */
START_TEST(test_lbp_get_lba_status_without_block_status)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, 4 * MiB, 512, false, 1); /* 8192 blocks */
    env.e.caps &= ~(unsigned)BACKEND_CAN_BLOCK_STATUS;
    ck_assert_int_eq(lbp_gls(&env, &c, 7, 1024), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(st_be32(c.t.buf), 4 + 16);
    ck_assert_uint_eq(c.t.data_len, 24);
    lbp_assert_desc(c.t.buf, 0, 7, 8192 - 7, SCSI_LBA_STATUS_MAPPED);
    st_cmd_free(&c);
    lbp_gls(&env, &c, 8192, 24);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_LBA_OUT_OF_RANGE);
    st_env_free(&env);

    st_env_init(&env, 4 * TiB, 512, false, 1);
    env.e.caps &= ~(unsigned)BACKEND_CAN_BLOCK_STATUS;
    ck_assert_int_eq(lbp_gls(&env, &c, 0, 1024), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(st_be32(c.t.buf), 4 + 16);
    lbp_assert_desc(c.t.buf, 0, 0, UINT32_MAX, SCSI_LBA_STATUS_MAPPED);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

static Suite *
provisioning_suite(void)
{
    Suite *s = suite_create("scsi-provisioning");
    TCase *tc = tcase_create("provisioning");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_lbp_write_same_replicates_the_block, 0, 2);
    tcase_add_test(tc, test_lbp_write_same_zeroes_and_unmaps);
    tcase_add_test(tc, test_lbp_write_same_refusals);
    tcase_add_test(tc, test_lbp_unmap_deallocates_each_descriptor);
    tcase_add_test(tc, test_lbp_unmap_parameter_list_errors);
    tcase_add_loop_test(tc, test_lbp_get_lba_status_descriptors, 0, 2);
    tcase_add_test(tc, test_lbp_get_lba_status_caps_a_descriptor_at_32_bits);
    tcase_add_test(tc, test_lbp_get_lba_status_without_block_status);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return st_main(provisioning_suite());
}
