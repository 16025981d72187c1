/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SBC commands (server/scsi/scsi-sbc.c): READ
 * CAPACITY(10)/(16) for 512- and 4096-byte blocks and for a disk too big
 * for (10), READ/WRITE (6)/(10)/(12)/(16) and WRITE AND VERIFY round
 * trips through the memory backend with offsets in blocks, transfer
 * length 0, LBA out of range including LBAs near 2^64, the maximum
 * transfer length, protection fields, writes to a read-only LU, FUA with
 * and without the backend's FUA, SYNCHRONIZE CACHE, VERIFY with each
 * BYTCHK (MISCOMPARE with the offset in INFORMATION, across steps),
 * PRE-FETCH, START STOP UNIT, and the errno-to-sense mapping.  WRITE SAME,
 * UNMAP and GET LBA STATUS are in test-scsi-provisioning.c.
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
    ck_assert_uint_eq(b[14], 0xc0);        /* LBPME, LBPRZ: memory
                                            * trims and zeroes */
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

    /* Trim without zero: LBPME alone; no trim: neither. */
    env.e.caps &= ~(unsigned)BACKEND_CAN_ZERO;
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0],
                            SCSI_OP_SERVICE_ACTION_IN_16, 0x10, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0, 32, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[14], 0x80);
    st_cmd_free(&c);
    env.e.caps &= ~(unsigned)BACKEND_CAN_TRIM;
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0],
                            SCSI_OP_SERVICE_ACTION_IN_16, 0x10, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0, 32, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[14], 0x00);
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
        { SCSI_OP_WRITE_12, SCSI_OP_READ_12 },
        { SCSI_OP_WRITE_VERIFY_10, SCSI_OP_READ_16 },
        { SCSI_OP_WRITE_VERIFY_12, SCSI_OP_READ_10 },
        { SCSI_OP_WRITE_VERIFY_16, SCSI_OP_READ_12 },
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

/* Transport has less data-out than the CDB asks (iSCSI EDTL): a WRITE
 * writes just those bytes, a partial last block merged with what is
 * stored; other commands refuse to be cut short. */
START_TEST(test_sbc_short_data_out_writes_only_what_came)
{
    const unsigned bs = block_sizes[_i];
    static const uint32_t lens[] = { 0, 200, 1, 0 /* bs */, 0 /* bs + 200 */ };
    struct st_env env;
    uint8_t *old = bt_xmalloc(4 * 4096), *data = bt_xmalloc(4 * 4096);
    uint8_t *want = bt_xmalloc(4 * 4096), *raw = bt_xmalloc(4 * 4096);

    st_env_init(&env, 8 * MiB, bs, false, 1);
    for (size_t k = 0; k < ARRAY_SIZE(lens); k++) {
        uint32_t len = k == 3 ? bs : k == 4 ? bs + 200 : lens[k];
        uint64_t lba = 10 + 10 * k;
        uint8_t cdb[SCSI_CDB_MAX];
        size_t cdb_len = st_cdb_rw(cdb, SCSI_OP_WRITE_10, lba, 3, 0);
        struct st_cmd c;

        bt_fill(old, 3 * bs, 50 + k);
        ck_assert_int_eq(bt_write(env.ctx, env.b, lba * bs, old, 3 * bs, 0), 0);
        bt_fill(data, 3 * bs, 90 + k);
        st_cmd_init(&c, &env, &env.lu[0], cdb, cdb_len);
        ck_assert(scsi_cmd_decode(&c.t));
        ck_assert_uint_eq(c.t.xfer_len, 3 * bs);
        ck_assert(scsi_cmd_short_data_out(&c.t, len));
        ck_assert_uint_ge(c.t.buf_len, 3 * bs);
        c.t.buf = bt_xmalloc(c.t.buf_len);
        memcpy(c.t.buf, data, len);
        st_exec_wait(&env, &c);
        ck_assert_int_eq(c.t.status, SCSI_STATUS_GOOD);
        st_cmd_free(&c);

        memcpy(want, old, 3 * bs);
        memcpy(want, data, len);
        ck_assert_int_eq(bt_read(env.ctx, env.b, lba * bs, raw, 3 * bs), 0);
        ck_assert_msg(memcmp(raw, want, 3 * bs) == 0,
                      "short write of %u bytes (block size %u)", len, bs);
    }

    /* Not a plain write: refused, nothing changes. */
    {
        uint8_t cdb[SCSI_CDB_MAX];
        size_t cdb_len = st_cdb_rw(cdb, SCSI_OP_READ_10, 0, 2, 0);
        struct st_cmd c;

        st_cmd_init(&c, &env, &env.lu[0], cdb, cdb_len);
        ck_assert(scsi_cmd_decode(&c.t));
        ck_assert(!scsi_cmd_short_data_out(&c.t, 100));
        ck_assert(!c.t.short_out);
    }
    free(old);
    free(data);
    free(want);
    free(raw);
    st_env_free(&env);
}
END_TEST

static size_t
caw_cdb(uint8_t *cdb, uint64_t lba, uint8_t n, uint8_t byte1)
{
    memset(cdb, 0, 16);
    cdb[0] = SCSI_OP_COMPARE_AND_WRITE;
    cdb[1] = byte1;
    for (int i = 0; i < 8; i++) {
        cdb[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
    }
    cdb[13] = n;
    return 16;
}

/* Decode and exec without waiting (the data-out is out, len bytes). */
static void
sbc_start(struct st_env *env, struct st_cmd *c, const uint8_t *cdb,
          size_t cdb_len, const uint8_t *out, size_t len)
{
    st_cmd_init(c, env, &env->lu[0], cdb, cdb_len);
    ck_assert(scsi_cmd_decode(&c->t));
    ck_assert_uint_eq(c->t.xfer_len, len);
    c->t.buf = bt_xmalloc(c->t.buf_len);
    memcpy(c->t.buf, out, len);
    scsi_cmd_exec(&c->t);
}

/* Run the loop for about ms milliseconds. */
static void
sbc_spin(struct st_env *env, int ms)
{
    int64_t end = clock_now_ns() + (int64_t)ms * 1000000;

    while (clock_now_ns() < end) {
        aio_ctx_poll(env->ctx, false);
    }
}

/* COMPARE AND WRITE: writes only when the stored blocks match, reports
 * where they differ otherwise, waits for a range another command holds. */
START_TEST(test_sbc_compare_and_write)
{
    const unsigned bs = block_sizes[_i];
    struct st_env env;
    uint8_t cdb[16];
    uint8_t *stored = bt_xmalloc(4 * 4096), *out = bt_xmalloc(8 * 4096);
    uint8_t *raw = bt_xmalloc(4 * 4096);
    struct st_cmd c;
    uint64_t lba = 40;

    st_env_init(&env, 8 * MiB, bs, false, 1);
    bt_fill(stored, 2 * bs, 7);
    ck_assert_int_eq(bt_write(env.ctx, env.b, lba * bs, stored, 2 * bs, 0), 0);

    /* Match: the second half is written. */
    memcpy(out, stored, 2 * bs);
    bt_fill(out + 2 * bs, 2 * bs, 8);
    st_cmd_init(&c, &env, &env.lu[0], cdb, caw_cdb(cdb, lba, 2, 0));
    ck_assert_int_eq(st_run(&env, &c, out, 4 * bs), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.stats_op, STATS_OP_WRITE);
    st_cmd_free(&c);
    ck_assert_int_eq(bt_read(env.ctx, env.b, lba * bs, raw, 2 * bs), 0);
    ck_assert(memcmp(raw, out + 2 * bs, 2 * bs) == 0);

    /* Mismatch at byte bs + 5: MISCOMPARE with that offset, nothing
     * written. */
    memcpy(out, raw, 2 * bs);
    out[bs + 5] ^= 0x40;
    bt_fill(out + 2 * bs, 2 * bs, 9);
    st_cmd_init(&c, &env, &env.lu[0], cdb, caw_cdb(cdb, lba, 2, 0x08));
    ck_assert_int_eq(st_run(&env, &c, out, 4 * bs),
                     SCSI_STATUS_CHECK_CONDITION);
    st_assert_sense_info(&c.t, SCSI_SENSE_MISCOMPARE_KEY,
                         SCSI_ASC_MISCOMPARE_DURING_VERIFY, bs + 5);
    st_cmd_free(&c);
    ck_assert_int_eq(bt_read(env.ctx, env.b, lba * bs, out, 2 * bs), 0);
    ck_assert(memcmp(raw, out, 2 * bs) == 0);

    /* Another read-modify-write holds an overlapping range: this one
     * waits for it (on a timer, not BUSY), and so does a plain WRITE of
     * those blocks; a WRITE elsewhere does not wait. */
    {
        struct scsi_ranges *r = env.lu[0].ranges;
        struct st_cmd w, w2;
        uint8_t wcdb[SCSI_CDB_MAX];

        pthread_mutex_lock(&r->lock);
        r->lba[3] = lba + 1;
        r->n[3] = 1;
        r->excl_slot[3] = true;
        r->ticket[3] = r->next_ticket++;
        atomic_fetch_add(&r->excl, 1);
        pthread_mutex_unlock(&r->lock);
        memcpy(out, raw, 2 * bs);
        sbc_start(&env, &c, cdb, caw_cdb(cdb, lba, 2, 0), out, 4 * bs);
        sbc_start(&env, &w, wcdb, st_cdb_rw(wcdb, SCSI_OP_WRITE_10, lba + 1,
                                            1, 0), out, bs);
        sbc_start(&env, &w2, wcdb, st_cdb_rw(wcdb, SCSI_OP_WRITE_10, lba + 8,
                                             1, 0), out, bs);
        sbc_spin(&env, 20);
        ck_assert_int_eq(c.ncalls, 0);
        ck_assert_int_eq(w.ncalls, 0);
        ck_assert_int_eq(w2.ncalls, 1);
        pthread_mutex_lock(&r->lock);
        r->n[3] = 0;
        r->ticket[3] = 0;
        atomic_fetch_sub(&r->excl, 1);
        pthread_mutex_unlock(&r->lock);
        /* The COMPARE AND WRITE entered first, so it runs first: the
         * WRITE it overlaps completes after it. */
        while (w.ncalls == 0) {
            sbc_spin(&env, 1);
        }
        ck_assert_int_eq(c.ncalls, 1);
        ck_assert_int_eq(c.t.status, SCSI_STATUS_GOOD);
        ck_assert_int_eq(w.t.status, SCSI_STATUS_GOOD);
        st_cmd_free(&c);
        st_cmd_free(&w);
        st_cmd_free(&w2);
        /* A write in flight outside the table holds off a new one. */
        atomic_fetch_add(&r->fast, 1);
        ck_assert_int_eq(bt_read(env.ctx, env.b, lba * bs, out, 2 * bs), 0);
        sbc_start(&env, &c, cdb, caw_cdb(cdb, lba, 2, 0), out, 4 * bs);
        sbc_spin(&env, 10);
        ck_assert_int_eq(c.ncalls, 0);
        atomic_fetch_sub(&r->fast, 1);
        while (c.ncalls == 0) {
            sbc_spin(&env, 1);
        }
        ck_assert_int_eq(c.t.status, SCSI_STATUS_GOOD);
        st_cmd_free(&c);
        for (int i = 0; i < SCSI_RANGE_SLOTS; i++) {
            ck_assert_uint_eq(r->n[i], 0); /* all released */
        }
        ck_assert_uint_eq(atomic_load(&r->excl), 0);
        ck_assert_uint_eq(atomic_load(&r->fast), 0);
    }

    /* More data-out than the CDB's blocks (0 of them, or 1 for 4
     * blocks' worth): refused before anything moves; a WRITE is not. */
    st_cmd_init(&c, &env, &env.lu[0], cdb, caw_cdb(cdb, lba, 0, 0));
    ck_assert(scsi_cmd_decode(&c.t));
    ck_assert(!scsi_cmd_data_overflow(&c.t, 4 * bs));
    st_assert_invalid_field_at(&c.t, 13, 7);
    ck_assert_uint_eq(c.t.xfer_len, 0);
    st_cmd_init(&c, &env, &env.lu[0], cdb, caw_cdb(cdb, lba, 1, 0));
    ck_assert(scsi_cmd_decode(&c.t));
    ck_assert(scsi_cmd_data_overflow(&c.t, 2 * bs));
    ck_assert(!scsi_cmd_data_overflow(&c.t, 4 * bs));
    {
        uint8_t wcdb[SCSI_CDB_MAX];

        st_cmd_init(&c, &env, &env.lu[0], wcdb,
                    st_cdb_rw(wcdb, SCSI_OP_WRITE_10, lba, 1, 0));
        ck_assert(scsi_cmd_decode(&c.t));
        ck_assert(scsi_cmd_data_overflow(&c.t, 4 * bs));
    }

    /* 0 blocks: nothing to do; over the limit, WRPROTECT: refused. */
    st_cmd_init(&c, &env, &env.lu[0], cdb, caw_cdb(cdb, lba, 0, 0));
    ck_assert_int_eq(st_run(&env, &c, NULL, 0), SCSI_STATUS_GOOD);
    st_cmd_init(&c, &env, &env.lu[0], cdb,
                caw_cdb(cdb, lba, SCSI_CAW_MAX_BLOCKS + 1, 0));
    ck_assert_int_eq(st_run(&env, &c, NULL, 0), SCSI_STATUS_CHECK_CONDITION);
    st_assert_invalid_field_at(&c.t, 13, 7);
    st_cmd_init(&c, &env, &env.lu[0], cdb, caw_cdb(cdb, lba, 1, 0x20));
    ck_assert_int_eq(st_run(&env, &c, NULL, 0), SCSI_STATUS_CHECK_CONDITION);
    st_cmd_init(&c, &env, &env.lu[0], cdb,
                caw_cdb(cdb, env.lu[0].nblocks - 1, 2, 0));
    ck_assert_int_eq(st_run(&env, &c, NULL, 0), SCSI_STATUS_CHECK_CONDITION);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_LBA_OUT_OF_RANGE);
    free(stored);
    free(out);
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
        { SCSI_OP_READ_12, 2048, 1 },
        { SCSI_OP_WRITE_12, 0xffffffff, 2 },
        { SCSI_OP_READ_12, 1, 0xffffffff },
        { SCSI_OP_WRITE_VERIFY_10, 2048, 1 },
        { SCSI_OP_WRITE_VERIFY_12, 2047, 2 },
        { SCSI_OP_WRITE_VERIFY_16, UINT64_MAX, 1 },
        { SCSI_OP_VERIFY_10, 2049, 0 },
        { SCSI_OP_VERIFY_12, 2000, 49 },
        { SCSI_OP_VERIFY_16, UINT64_MAX, 1 },
        { SCSI_OP_PREFETCH_10, 0xffffffff, 0 },
        { SCSI_OP_PREFETCH_16, 2047, 2 },
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
        /* A refused I/O still counts as one of its kind (VERIFY is
         * not I/O the stats count). */
        if (bad[i].op != SCSI_OP_VERIFY_10 && bad[i].op != SCSI_OP_VERIFY_12
            && bad[i].op != SCSI_OP_VERIFY_16) {
            ck_assert_int_ne(c.t.stats_op, -1);
        }
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
        SCSI_OP_WRITE_6, SCSI_OP_WRITE_10, SCSI_OP_WRITE_12, SCSI_OP_WRITE_16,
        SCSI_OP_WRITE_VERIFY_10, SCSI_OP_WRITE_VERIFY_12,
        SCSI_OP_WRITE_VERIFY_16,
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
    /* Reads, VERIFY and SYNCHRONIZE CACHE still work. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_VERIFY_16, 8, 8,
                           0x02, data, sizeof data),
                     SCSI_STATUS_CHECK_CONDITION); /* data is not zeros */
    st_assert_sense_info(&c.t, SCSI_SENSE_MISCOMPARE_KEY,
                         SCSI_ASC_MISCOMPARE_DURING_VERIFY, 0);
    st_cmd_free(&c);
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

/* WRITE AND VERIFY is a FUA write; BYTCHK 1x and WRPROTECT are refused. */
START_TEST(test_sbc_write_and_verify_is_durable)
{
    struct st_env env;
    struct st_cmd c;
    uint8_t data[1024], raw[1024];

    st_env_init(&env, MiB, 512, false, 1);
    bt_fill(data, sizeof data, 8);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_VERIFY_10, 4,
                           2, 0x12, data, sizeof data), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_WRITE);
    ck_assert_uint_eq(c.t.breq.flags, BACKEND_FUA);
    ck_assert_int_eq(c.t.stats_op, STATS_OP_WRITE);
    st_cmd_free(&c);
    ck_assert_int_eq(bt_read(env.ctx, env.b, 4 * 512, raw, sizeof raw), 0);
    ck_assert(memcmp(raw, data, sizeof data) == 0);
    /* Without the backend's FUA: the write, then a flush. */
    env.e.caps &= ~(unsigned)BACKEND_CAN_FUA;
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_VERIFY_16, 4,
                           2, 0, data, sizeof data), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_FLUSH);
    st_cmd_free(&c);
    st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_VERIFY_12, 4, 2, 0x04, data,
          sizeof data);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_VERIFY_10, 4, 2, 0x20, data,
          sizeof data);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sbc_verify_bytchk_0_checks_the_range_only)
{
    static const uint8_t ops[] = {
        SCSI_OP_VERIFY_10, SCSI_OP_VERIFY_12, SCSI_OP_VERIFY_16,
    };
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    for (size_t i = 0; i < sizeof ops; i++) {
        /* Whole LU, DPO: no data, no backend request. */
        ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], ops[i], 0, 2048, 0x10,
                               NULL, 0), SCSI_STATUS_GOOD);
        ck_assert_int_eq(c.t.dir, SCSI_DIR_NONE);
        ck_assert_uint_eq(c.t.xfer_len, 0);
        ck_assert_ptr_null(c.t.breq.ctx);
        ck_assert_int_eq(c.t.stats_op, -1);
        st_cmd_free(&c);
        /* VRPROTECT, BYTCHK 10b, reserved bit 3. */
        st_rw(&env, &c, &env.lu[0], ops[i], 0, 1, 0x20, NULL, 0);
        st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                        SCSI_ASC_INVALID_FIELD_IN_CDB);
        st_rw(&env, &c, &env.lu[0], ops[i], 0, 1, 0x04, NULL, 0);
        st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                        SCSI_ASC_INVALID_FIELD_IN_CDB);
        st_rw(&env, &c, &env.lu[0], ops[i], 0, 1, 0x08, NULL, 0);
        st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                        SCSI_ASC_INVALID_FIELD_IN_CDB);
        /* BYTCHK 1 of 0 blocks at the end: nothing to compare. */
        ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], ops[i], 2048, 0, 0x02,
                               NULL, 0), SCSI_STATUS_GOOD);
        ck_assert_int_eq(c.t.dir, SCSI_DIR_NONE);
        st_cmd_free(&c);
    }
    st_env_free(&env);
}
END_TEST

/* BYTCHK 01b: equal data is GOOD, a difference is MISCOMPARE with the
 * offset in the data-out buffer, also past the first 1 MiB step. */
START_TEST(test_sbc_verify_bytchk_1_compares)
{
    const unsigned bs = block_sizes[_i];
    const uint32_t len = 4 * MiB;
    const uint32_t n = len / bs;
    static const uint32_t flips[] = { 0, 1, 511, 4095, MiB - 1, MiB,
                                      3 * MiB + 17, 4 * MiB - 1 };
    uint8_t *data = bt_xmalloc(len);
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, 16 * MiB, bs, false, 1);
    bt_fill(data, len, 21);
    ck_assert_int_eq(bt_write(env.ctx, env.b, 2 * bs, data, len, 0), 0);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_VERIFY_16, 2, n,
                           0x02, data, len), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_WRITE);
    ck_assert_uint_eq(c.t.xfer_len, len);
    ck_assert_uint_eq(c.t.buf_len, len + MiB); /* room for one step */
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_READ);
    st_cmd_free(&c);
    for (size_t i = 0; i < ARRAY_SIZE(flips); i++) {
        data[flips[i]] ^= 0x5a;
        st_rw(&env, &c, &env.lu[0], SCSI_OP_VERIFY_16, 2, n, 0x02, data,
              len);
        st_assert_sense_info(&c.t, SCSI_SENSE_MISCOMPARE_KEY,
                             SCSI_ASC_MISCOMPARE_DURING_VERIFY, flips[i]);
        st_cmd_free(&c);
        data[flips[i]] ^= 0x5a;
    }
    /* (10) and (12) on a few blocks; one more than the maximum. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_VERIFY_10, 3, 2,
                           0x12, data + bs, 2 * bs), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    data[bs + 7] ^= 1;
    st_rw(&env, &c, &env.lu[0], SCSI_OP_VERIFY_12, 3, 2, 0x02, data + bs,
          2 * bs);
    st_assert_sense_info(&c.t, SCSI_SENSE_MISCOMPARE_KEY,
                         SCSI_ASC_MISCOMPARE_DURING_VERIFY, 7);
    st_cmd_free(&c);
    st_rw(&env, &c, &env.lu[0], SCSI_OP_VERIFY_16, 0, n + 1, 0x02, NULL, 0);
    ck_assert(!c.decoded);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    free(data);
    st_env_free(&env);
}
END_TEST

/* BYTCHK 11b: one block compared with every block of the range. */
START_TEST(test_sbc_verify_bytchk_3_compares_one_block_everywhere)
{
    const uint32_t n = 3000; /* 1.5 MiB: two steps */
    uint8_t blk[512];
    uint8_t *raw = bt_xmalloc(n * 512);
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, 4 * MiB, 512, false, 1);
    bt_fill(blk, sizeof blk, 3);
    for (uint32_t i = 0; i < n; i++) {
        memcpy(raw + i * 512, blk, 512);
    }
    ck_assert_int_eq(bt_write(env.ctx, env.b, 10 * 512, raw, n * 512, 0), 0);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_VERIFY_16, 10, n,
                           0x06, blk, 512), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.xfer_len, 512);
    st_cmd_free(&c);
    /* One byte of block 2500 differs: offset 2500 * 512 + 99. */
    raw[0] = (uint8_t)(blk[99] ^ 0xff);
    ck_assert_int_eq(bt_write(env.ctx, env.b, (10 + 2500) * 512 + 99, raw, 1,
                              0), 0);
    st_rw(&env, &c, &env.lu[0], SCSI_OP_VERIFY_10, 10, n, 0x06, blk, 512);
    st_assert_sense_info(&c.t, SCSI_SENSE_MISCOMPARE_KEY,
                         SCSI_ASC_MISCOMPARE_DURING_VERIFY, 2500 * 512 + 99);
    st_cmd_free(&c);
    /* Past MAXIMUM WRITE SAME LENGTH: refused. */
    st_env_free(&env);
    st_env_init(&env, 64 * MiB, 512, false, 1);
    st_rw(&env, &c, &env.lu[0], SCSI_OP_VERIFY_16, 0, 65536, 0x06, blk, 512);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    free(raw);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sbc_prefetch_caches_and_answers_good)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_PREFETCH_10, 8, 16,
                           0, NULL, 0), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_NONE);
    ck_assert_int_eq(c.t.stats_op, STATS_OP_CACHE);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_CACHE);
    ck_assert_uint_eq(c.t.breq.offset, 8 * 512);
    ck_assert_uint_eq(c.t.breq.count, 16 * 512);
    st_cmd_free(&c);
    /* Length 0: to the end of the LU. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_PREFETCH_16, 48, 0,
                           0, NULL, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.breq.count, (2048 - 48) * 512);
    st_cmd_free(&c);
    /* IMMED: answered before any request. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_PREFETCH_16, 0, 1,
                           0x02, NULL, 0), SCSI_STATUS_GOOD);
    ck_assert_ptr_null(c.t.breq.ctx);
    st_cmd_free(&c);
    /* Reserved and obsolete bits of byte 1. */
    st_rw(&env, &c, &env.lu[0], SCSI_OP_PREFETCH_10, 0, 1, 0x01, NULL, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* Without the backend's cache: GOOD, nothing submitted. */
    env.e.caps &= ~(unsigned)BACKEND_CAN_CACHE;
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_PREFETCH_10, 8, 16,
                           0, NULL, 0), SCSI_STATUS_GOOD);
    ck_assert_ptr_null(c.t.breq.ctx);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sbc_start_stop_unit)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    /* START, with and without IMMED: GOOD, nothing to do. */
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_START_STOP_UNIT, 1,
                            0, 0, 0x01, 0), SCSI_STATUS_GOOD);
    ck_assert_ptr_null(c.t.breq.ctx);
    st_cmd_free(&c);
    /* STOP flushes first, unless NO_FLUSH. */
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_START_STOP_UNIT, 0,
                            0, 0, 0x00, 0), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.breq.op, BACKEND_OP_FLUSH);
    st_cmd_free(&c);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_START_STOP_UNIT, 0,
                            0, 0, 0x04, 0), SCSI_STATUS_GOOD);
    ck_assert_ptr_null(c.t.breq.ctx);
    st_cmd_free(&c);
    /* LOEJ (no removable medium), a power condition, a modifier. */
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_START_STOP_UNIT, 0, 0, 0, 0x02, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_START_STOP_UNIT, 0, 0, 0, 0x31, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_START_STOP_UNIT, 0, 0, 1, 0x01, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
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

/* ORWRITE(16) ORs the data-out into the stored blocks, over more than
 * one step; ORPROTECT is refused. */
START_TEST(test_sbc_orwrite_ors_into_stored_blocks)
{
    struct st_env env;
    struct st_cmd c;
    uint8_t cdb[16] = { SCSI_OP_ORWRITE_16 };
    uint32_t n = (SCSI_STEP_BYTES / 512) + 3; /* two steps */
    uint32_t len = n * 512;
    uint8_t *stored = bt_xmalloc(len), *out = bt_xmalloc(len);
    uint8_t *raw = bt_xmalloc(len);

    st_env_init(&env, 8 * MiB, 512, false, 1);
    for (uint32_t i = 0; i < len; i++) {
        stored[i] = (uint8_t)(0x11 * (i % 3));
        out[i] = (uint8_t)(1u << (i % 7));
    }
    ck_assert_int_eq(bt_write(env.ctx, env.b, 512, stored, len, 0), 0);
    scsi_put_be64(&cdb[2], 1);
    scsi_put_be32(&cdb[10], n);
    cdb[1] = 0x08; /* FUA */
    st_cmd_init(&c, &env, &env.lu[0], cdb, sizeof cdb);
    ck_assert_int_eq(st_run(&env, &c, out, len), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.stats_op, STATS_OP_WRITE);
    st_cmd_free(&c);
    ck_assert_int_eq(bt_read(env.ctx, env.b, 512, raw, len), 0);
    for (uint32_t i = 0; i < len; i++) {
        ck_assert_msg(raw[i] == (stored[i] | out[i]), "byte %u", i);
    }
    cdb[1] = 0x20; /* ORPROTECT */
    st_cmd_init(&c, &env, &env.lu[0], cdb, sizeof cdb);
    ck_assert_int_eq(st_run(&env, &c, NULL, 0), SCSI_STATUS_CHECK_CONDITION);
    st_assert_invalid_field_at(&c.t, 1, 7);
    free(stored);
    free(out);
    free(raw);
    st_env_free(&env);
}
END_TEST

/* READ DEFECT DATA: an empty list, in the format asked for. */
START_TEST(test_sbc_read_defect_data_is_empty)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_READ_DEFECT_DATA_10,
                            0, 0x1d, 0, 0, 0, 0, 0, 32, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 4);
    ck_assert_uint_eq(c.t.buf[1], 0x1d);
    ck_assert_uint_eq(st_be16(&c.t.buf[2]), 0);
    st_cmd_free(&c);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_READ_DEFECT_DATA_12,
                            0x08, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 8);
    ck_assert_uint_eq(st_be32(&c.t.buf[4]), 0);
    st_cmd_free(&c);
    st_env_free(&env);
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
    tcase_add_loop_test(tc, test_sbc_short_data_out_writes_only_what_came, 0, 2);
    tcase_add_loop_test(tc, test_sbc_compare_and_write, 0, 2);
    tcase_add_test(tc, test_sbc_transfer_length_zero);
    tcase_add_test(tc, test_sbc_orwrite_ors_into_stored_blocks);
    tcase_add_test(tc, test_sbc_read_defect_data_is_empty);
    tcase_add_test(tc, test_sbc_lba_out_of_range_and_overflow);
    tcase_add_loop_test(tc, test_sbc_maximum_transfer_length, 0, 2);
    tcase_add_test(tc, test_sbc_protection_fields_are_invalid);
    tcase_add_test(tc, test_sbc_write_to_read_only_is_data_protect);
    tcase_add_test(tc, test_sbc_fua_uses_backend_fua_or_a_flush);
    tcase_add_test(tc, test_sbc_synchronize_cache);
    tcase_add_test(tc, test_sbc_write_and_verify_is_durable);
    tcase_add_test(tc, test_sbc_verify_bytchk_0_checks_the_range_only);
    tcase_add_loop_test(tc, test_sbc_verify_bytchk_1_compares, 0, 2);
    tcase_add_test(tc, test_sbc_verify_bytchk_3_compares_one_block_everywhere);
    tcase_add_test(tc, test_sbc_prefetch_caches_and_answers_good);
    tcase_add_test(tc, test_sbc_start_stop_unit);
    tcase_add_test(tc, test_sbc_backend_errors_become_sense);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return st_main(sbc_suite());
}
