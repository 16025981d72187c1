/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SBC commands (server/scsi/scsi-sbc.c): READ
 * CAPACITY(10)/(16) for 512- and 4096-byte blocks and for a disk too big
 * for (10), READ/WRITE (6)/(10)/(16) round trips through the memory
 * backend with offsets in blocks, transfer length 0, LBA out of range
 * including LBAs near 2^64, the maximum transfer length, protection
 * fields, writes to a read-only LU, FUA with and without the backend's
 * FUA, SYNCHRONIZE CACHE, and the errno-to-sense mapping.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "scsi-test-helpers.h"

#define MiB (UINT64_C(1) << 20)
#define TiB (UINT64_C(1) << 40)

static const unsigned block_sizes[] = { 512, 4096 };

START_TEST(test_sbc_read_capacity_10_and_16)
{
    const unsigned bs = block_sizes[_i];
    const uint64_t nblocks = 5 * MiB / bs;
    struct st_env env;
    struct st_cmd c;
    const uint8_t *b;

    st_env_init(&env, 5 * MiB, bs, false, 1);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_READ_CAPACITY_10, 0,
                            0, 0, 0, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 8);
    ck_assert_uint_eq(st_be32(&c.t.buf[0]), nblocks - 1);
    ck_assert_uint_eq(st_be32(&c.t.buf[4]), bs);
    ck_assert_int_eq(c.t.stats_op, -1);
    st_cmd_free(&c);

    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0],
                            SCSI_OP_SERVICE_ACTION_IN_16, 0x10, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0, 32, 0, 0), SCSI_STATUS_GOOD);
    b = c.t.buf;
    ck_assert_uint_eq(c.t.data_len, 32);
    ck_assert_uint_eq(st_be64(&b[0]), nblocks - 1);
    ck_assert_uint_eq(st_be32(&b[8]), bs);
    ck_assert_uint_eq(b[12], 0);           /* no protection */
    ck_assert_uint_eq(b[13], 0);           /* one LB per physical block */
    ck_assert_uint_eq(b[14] & 0x80, 0);    /* LBPME */
    ck_assert_uint_eq(b[14] & 0x40, 0);    /* LBPRZ */
    st_cmd_free(&c);

    /* Truncated to 12 bytes; and a large allocation length. */
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0],
                            SCSI_OP_SERVICE_ACTION_IN_16, 0x10, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0, 12, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 12);
    ck_assert_uint_eq(st_be32(&c.t.buf[8]), bs);
    st_cmd_free(&c);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0],
                            SCSI_OP_SERVICE_ACTION_IN_16, 0x10, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 1, 0, 0, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.xfer_len, 65536);
    ck_assert_uint_eq(c.t.data_len, 32);
    st_cmd_free(&c);

    /* READ CAPACITY(10): PMI 0 with an LBA is invalid. */
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_READ_CAPACITY_10, 0, 0, 0, 0, 1, 0,
           0, 0, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    st_env_free(&env);
}
END_TEST

/* 4 TiB of 512-byte blocks: 2^33 blocks, too many for READ CAPACITY(10). */
START_TEST(test_sbc_read_capacity_10_saturates_on_big_disk)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, 4 * TiB, 512, false, 1);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_READ_CAPACITY_10, 0,
                            0, 0, 0, 0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(st_be32(&c.t.buf[0]), 0xffffffff);
    ck_assert_uint_eq(st_be32(&c.t.buf[4]), 512);
    st_cmd_free(&c);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0],
                            SCSI_OP_SERVICE_ACTION_IN_16, 0x10, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0, 32, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(st_be64(&c.t.buf[0]), (UINT64_C(1) << 33) - 1);
    st_cmd_free(&c);

    /* At the boundary: 2^32 blocks, the last LBA is FFFFFFFFh itself... */
    st_env_free(&env);
    st_env_init(&env, (UINT64_C(1) << 32) * 512, 512, false, 1);
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_READ_CAPACITY_10, 0, 0, 0, 0, 0, 0,
           0, 0, 0);
    ck_assert_uint_eq(st_be32(&c.t.buf[0]), 0xffffffff); /* last LBA fits */
    st_cmd_free(&c);
    st_env_free(&env);
    /* ... one more block and it no longer fits: FFFFFFFFh as well. */
    st_env_init(&env, ((UINT64_C(1) << 32) + 1) * 512, 512, false, 1);
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_READ_CAPACITY_10, 0, 0, 0, 0, 0, 0,
           0, 0, 0);
    ck_assert_uint_eq(st_be32(&c.t.buf[0]), 0xffffffff);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

/* Write blocks through one opcode, read them back through another, and
 * check what the backend holds at lba * block size. */
START_TEST(test_sbc_write_read_round_trip)
{
    const unsigned bs = block_sizes[_i];
    static const uint8_t ops[][2] = {
        { SCSI_OP_WRITE_10, SCSI_OP_READ_16 },
        { SCSI_OP_WRITE_16, SCSI_OP_READ_10 },
        { SCSI_OP_WRITE_6, SCSI_OP_READ_6 },
    };
    struct st_env env;
    uint8_t *data = bt_xmalloc(6 * 4096), *raw = bt_xmalloc(6 * 4096);

    st_env_init(&env, 8 * MiB, bs, false, 1);
    for (size_t k = 0; k < ARRAY_SIZE(ops); k++) {
        uint64_t lba = 3 + 100 * k;
        struct st_cmd c;

        bt_fill(data, 4 * bs, 1000 + k);
        ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], ops[k][0], lba, 4, 0,
                               data, 4 * bs), SCSI_STATUS_GOOD);
        ck_assert_int_eq(c.t.stats_op, STATS_OP_WRITE);
        ck_assert_int_eq(c.t.dir, SCSI_DIR_WRITE);
        ck_assert_uint_eq(c.t.data_len, 0);
        st_cmd_free(&c);

        /* The backend has them at byte offset lba * bs. */
        ck_assert_int_eq(bt_read(env.ctx, env.b, lba * bs, raw, 4 * bs), 0);
        ck_assert(memcmp(raw, data, 4 * bs) == 0);

        /* Read one block either side too: those are still zero. */
        ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], ops[k][1], lba - 1, 6,
                               0, NULL, 0), SCSI_STATUS_GOOD);
        ck_assert_int_eq(c.t.stats_op, STATS_OP_READ);
        ck_assert_int_eq(c.t.dir, SCSI_DIR_READ);
        ck_assert_uint_eq(c.t.data_len, 6 * bs);
        ck_assert(bt_is_zero(c.t.buf, bs));
        ck_assert(memcmp(c.t.buf + bs, data, 4 * bs) == 0);
        ck_assert(bt_is_zero(c.t.buf + 5 * bs, bs));
        st_cmd_free(&c);
    }

    /* The last block of the LU. */
    {
        uint64_t last = env.lu[0].nblocks - 1;
        struct st_cmd c;

        bt_fill(data, bs, 77);
        ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_16, last, 1,
                               0, data, bs), SCSI_STATUS_GOOD);
        st_cmd_free(&c);
        ck_assert_int_eq(bt_read(env.ctx, env.b, 8 * MiB - bs, raw, bs), 0);
        ck_assert(memcmp(raw, data, bs) == 0);
    }
    free(data);
    free(raw);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sbc_transfer_length_zero)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    /* (10) and (16): no blocks, GOOD, nothing moves. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_READ_10, 5, 0, 0,
                           NULL, 0), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_NONE);
    ck_assert_uint_eq(c.t.xfer_len, 0);
    ck_assert_uint_eq(c.t.data_len, 0);
    ck_assert_int_eq(c.t.stats_op, STATS_OP_READ);
    st_cmd_free(&c);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_16, 5, 0, 0,
                           NULL, 0), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_NONE);
    st_cmd_free(&c);
    /* At LBA == capacity too (but not past it: see the range test). */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_READ_16, 2048, 0, 0,
                           NULL, 0), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    /* (6): 0 means 256 blocks. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_READ_6, 0, 0, 0,
                           NULL, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.xfer_len, 256 * 512);
    ck_assert_uint_eq(c.t.data_len, 256 * 512);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sbc_lba_out_of_range_and_overflow)
{
    static const struct {
        uint8_t op;
        uint64_t lba;
        uint32_t n;
    } bad[] = {
        { SCSI_OP_READ_10, 2047, 2 },
        { SCSI_OP_READ_10, 2048, 1 },
        { SCSI_OP_READ_10, 2049, 0 },
        { SCSI_OP_WRITE_10, 0xffffffff, 1 },
        { SCSI_OP_READ_16, UINT64_MAX, 1 },
        { SCSI_OP_READ_16, UINT64_MAX, 2 },        /* lba + n wraps */
        { SCSI_OP_WRITE_16, UINT64_MAX - 1, 3 },
        { SCSI_OP_READ_16, UINT64_C(1) << 63, 8 },
        { SCSI_OP_READ_16, 1, 0xffffffff },        /* length past the end */
        { SCSI_OP_READ_6, 2047, 2 },
        { SCSI_OP_WRITE_6, 0x1fffff, 1 },
        { SCSI_OP_SYNCHRONIZE_CACHE_10, 2049, 0 },
        { SCSI_OP_SYNCHRONIZE_CACHE_16, 2000, 49 },
        { SCSI_OP_SYNCHRONIZE_CACHE_16, UINT64_MAX, 2 },
    };
    struct st_env env;
    uint8_t data[512] = { 0 };

    st_env_init(&env, MiB, 512, false, 1); /* 2048 blocks */
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct st_cmd c;

        st_rw(&env, &c, &env.lu[0], bad[i].op, bad[i].lba, bad[i].n, 0, data,
              sizeof data);
        ck_assert_msg(!c.decoded, "case %zu decoded", i);
        st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                        SCSI_ASC_LBA_OUT_OF_RANGE);
        /* A refused I/O still counts as one of its kind. */
        ck_assert_int_ne(c.t.stats_op, -1);
    }
    st_env_free(&env);
}
END_TEST

START_TEST(test_sbc_maximum_transfer_length)
{
    const unsigned bs = block_sizes[_i];
    const uint32_t max = (4 * MiB) / bs;
    uint8_t *data = bt_xmalloc(4 * MiB);
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, 16 * MiB, bs, false, 1);
    bt_fill(data, 4 * MiB, 5);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_16, 1, max, 0,
                           data, 4 * MiB), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_READ_16, 1, max, 0,
                           NULL, 0), SCSI_STATUS_GOOD);
    ck_assert(memcmp(c.t.buf, data, 4 * MiB) == 0);
    st_cmd_free(&c);
    st_rw(&env, &c, &env.lu[0], SCSI_OP_READ_16, 1, max + 1, 0, NULL, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    free(data);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sbc_protection_fields_are_invalid)
{
    struct st_env env;
    struct st_cmd c;
    uint8_t data[512] = { 0 };

    st_env_init(&env, MiB, 512, false, 1);
    st_rw(&env, &c, &env.lu[0], SCSI_OP_READ_10, 0, 1, 0x20, NULL, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_16, 0, 1, 0xe0, data,
          sizeof data);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* DPO and FUA on a read are accepted hints. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_READ_10, 0, 1, 0x18,
                           NULL, 0), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sbc_write_to_read_only_is_data_protect)
{
    static const uint8_t writes[] = {
        SCSI_OP_WRITE_6, SCSI_OP_WRITE_10, SCSI_OP_WRITE_16,
    };
    struct st_env env;
    struct st_cmd c;
    uint8_t data[4096] = { 1 };

    st_env_init(&env, MiB, 512, true, 1);
    ck_assert(env.lu[0].readonly);
    for (size_t i = 0; i < sizeof writes; i++) {
        st_rw(&env, &c, &env.lu[0], writes[i], 8, 8, 0, data, sizeof data);
        ck_assert(!c.decoded);
        st_assert_sense(&c.t, SCSI_SENSE_DATA_PROTECT,
                        SCSI_ASC_WRITE_PROTECTED);
        ck_assert_int_eq(c.t.stats_op, STATS_OP_WRITE);
    }
    /* Reads and SYNCHRONIZE CACHE still work. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_READ_10, 8, 8, 0,
                           NULL, 0), SCSI_STATUS_GOOD);
    ck_assert(bt_is_zero(c.t.buf, 4096));
    st_cmd_free(&c);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_SYNCHRONIZE_CACHE_10,
                           0, 0, 0, NULL, 0), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sbc_fua_uses_backend_fua_or_a_flush)
{
    struct st_env env;
    struct st_cmd c;
    uint8_t data[1024], raw[1024];

    st_env_init(&env, MiB, 512, false, 1);
    bt_fill(data, sizeof data, 3);
    /* The memory backend has FUA: one write with BACKEND_FUA. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_10, 10, 2,
                           0x08, data, sizeof data), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_WRITE);
    ck_assert_uint_eq(c.t.breq.flags, BACKEND_FUA);
    st_cmd_free(&c);

    /* Pretend it has not: the write goes out plain, then a flush. */
    env.e.caps &= ~(unsigned)BACKEND_CAN_FUA;
    bt_fill(data, sizeof data, 4);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_16, 10, 2,
                           0x08, data, sizeof data), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_FLUSH);
    st_cmd_free(&c);
    ck_assert_int_eq(bt_read(env.ctx, env.b, 10 * 512, raw, sizeof raw), 0);
    ck_assert(memcmp(raw, data, sizeof data) == 0);

    /* No FUA bit: a plain write, no flush. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_16, 10, 2, 0,
                           data, sizeof data), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_WRITE);
    ck_assert_uint_eq(c.t.breq.flags, 0);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sbc_synchronize_cache)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    /* Whole LU, a range, IMMED: all flush, all GOOD. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_SYNCHRONIZE_CACHE_10,
                           0, 0, 0, NULL, 0), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.stats_op, STATS_OP_FLUSH);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_NONE);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_FLUSH);
    st_cmd_free(&c);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_SYNCHRONIZE_CACHE_16,
                           100, 1948, 0x02, NULL, 0), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_FLUSH);
    st_cmd_free(&c);
    /* Reserved bits of byte 1. */
    st_rw(&env, &c, &env.lu[0], SCSI_OP_SYNCHRONIZE_CACHE_10, 0, 0, 0x01,
          NULL, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* Without a cache to flush: GOOD without a backend request. */
    env.e.caps &= ~(unsigned)BACKEND_CAN_FLUSH;
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_SYNCHRONIZE_CACHE_10,
                           0, 0, 0, NULL, 0), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sbc_backend_errors_become_sense)
{
    static const struct {
        int err;
        bool write;
        uint8_t key;
        uint16_t asc;
    } map[] = {
        { -EIO, false, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_READ_ERROR },
        { -EIO, true, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR },
        { -ENOSPC, true, SCSI_SENSE_DATA_PROTECT,
          SCSI_ASC_SPACE_ALLOCATION_FAILED },
        { -EROFS, true, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED },
        { -ENOMEM, false, SCSI_SENSE_ABORTED_COMMAND, SCSI_ASC_OUT_OF_MEMORY },
        { -EINVAL, false, SCSI_SENSE_HARDWARE_ERROR,
          SCSI_ASC_INTERNAL_TARGET_FAILURE },
        { -ENOTSUP, true, SCSI_SENSE_HARDWARE_ERROR,
          SCSI_ASC_INTERNAL_TARGET_FAILURE },
    };

    for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
        struct scsi_cmd t;

        memset(&t, 0, sizeof t);
        scsi_sbc_set_error(&t, map[i].err, map[i].write);
        ck_assert_int_eq(t.err, map[i].err);
        st_assert_sense(&t, map[i].key, map[i].asc);
    }
}
END_TEST

static Suite *
sbc_suite(void)
{
    Suite *s = suite_create("scsi-sbc");
    TCase *tc = tcase_create("sbc");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_sbc_read_capacity_10_and_16, 0, 2);
    tcase_add_test(tc, test_sbc_read_capacity_10_saturates_on_big_disk);
    tcase_add_loop_test(tc, test_sbc_write_read_round_trip, 0, 2);
    tcase_add_test(tc, test_sbc_transfer_length_zero);
    tcase_add_test(tc, test_sbc_lba_out_of_range_and_overflow);
    tcase_add_loop_test(tc, test_sbc_maximum_transfer_length, 0, 2);
    tcase_add_test(tc, test_sbc_protection_fields_are_invalid);
    tcase_add_test(tc, test_sbc_write_to_read_only_is_data_protect);
    tcase_add_test(tc, test_sbc_fua_uses_backend_fua_or_a_flush);
    tcase_add_test(tc, test_sbc_synchronize_cache);
    tcase_add_test(tc, test_sbc_backend_errors_become_sense);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return st_main(sbc_suite());
}
