/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SCSI command layer (server/scsi/scsi-cmd.c,
 * scsi-sense.c): CDB lengths by group, opcode names, decoding of every
 * supported opcode (direction, transfer and buffer lengths, stats op),
 * the exact sense of an unknown opcode and of the generic checks (no such
 * LUN, NACA, short CDB), the LUN wire format, and logical unit setup.
 * Commands run against a memory-backend export through
 * scsi-test-helpers.h.
 */
#include <config.h>

#include <check.h>
#include <ctype.h>
#include <stdlib.h>

#include "scsi-test-helpers.h"

#define MiB (UINT64_C(1) << 20)

START_TEST(test_cmd_length_follows_group_code)
{
    ck_assert_uint_eq(scsi_cmd_length(SCSI_OP_TEST_UNIT_READY), 6);
    ck_assert_uint_eq(scsi_cmd_length(SCSI_OP_INQUIRY), 6);
    ck_assert_uint_eq(scsi_cmd_length(0x1f), 6);
    ck_assert_uint_eq(scsi_cmd_length(SCSI_OP_READ_10), 10);
    ck_assert_uint_eq(scsi_cmd_length(SCSI_OP_MODE_SENSE_10), 10);
    ck_assert_uint_eq(scsi_cmd_length(0x60), 0); /* group 3: reserved */
    ck_assert_uint_eq(scsi_cmd_length(0x7f), 0); /* variable length */
    ck_assert_uint_eq(scsi_cmd_length(SCSI_OP_READ_16), 16);
    ck_assert_uint_eq(scsi_cmd_length(SCSI_OP_SERVICE_ACTION_IN_16), 16);
    ck_assert_uint_eq(scsi_cmd_length(SCSI_OP_REPORT_LUNS), 12);
    ck_assert_uint_eq(scsi_cmd_length(0xc0), 0); /* vendor specific */
    ck_assert_uint_eq(scsi_cmd_length(0xff), 0);
}
END_TEST

START_TEST(test_cmd_names_known_and_unknown)
{
    ck_assert_str_eq(scsi_cmd_name(SCSI_OP_READ_10), "READ(10)");
    ck_assert_str_eq(scsi_cmd_name(SCSI_OP_WRITE_16), "WRITE(16)");
    ck_assert_str_eq(scsi_cmd_name(SCSI_OP_INQUIRY), "INQUIRY");
    ck_assert_str_eq(scsi_cmd_name(SCSI_OP_REPORT_LUNS), "REPORT LUNS");
    ck_assert_str_eq(scsi_cmd_name(SCSI_OP_UNMAP), "UNMAP"); /* refused */
    ck_assert_ptr_null(scsi_cmd_name(0x02));
    ck_assert_ptr_null(scsi_cmd_name(0xff));
}
END_TEST

START_TEST(test_cmd_sense_build_is_fixed_format)
{
    uint8_t b[SCSI_SENSE_LEN];
    static const uint8_t want[SCSI_SENSE_LEN] = {
        0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x21, 0x00, 0, 0, 0, 0,
    };

    memset(b, 0xee, sizeof b);
    scsi_sense_build(b, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
    ck_assert(memcmp(b, want, sizeof b) == 0);
    scsi_sense_build(b, SCSI_SENSE_DATA_PROTECT,
                     SCSI_ASC_SPACE_ALLOCATION_FAILED);
    ck_assert_uint_eq(b[2], 0x07);
    ck_assert_uint_eq(b[12], 0x27);
    ck_assert_uint_eq(b[13], 0x07);
}
END_TEST

/* Every supported opcode: what decode says about it. */
struct decode_case {
    uint8_t cdb[SCSI_CDB_MAX];
    enum scsi_dir dir;
    uint32_t xfer_len;
    int64_t buf_len; /* -1: only <= xfer_len */
    int stats_op;
};

static const struct decode_case decode_cases[] = {
    { { SCSI_OP_TEST_UNIT_READY }, SCSI_DIR_NONE, 0, 0, -1 },
    { { SCSI_OP_REQUEST_SENSE, 0, 0, 0, 252 }, SCSI_DIR_READ, 252, 18, -1 },
    { { SCSI_OP_READ_6, 0, 0, 1, 2 }, SCSI_DIR_READ, 1024, 1024,
      STATS_OP_READ },
    { { SCSI_OP_READ_6, 0, 0, 0, 0 }, SCSI_DIR_READ, 256 * 512, 256 * 512,
      STATS_OP_READ },
    { { SCSI_OP_WRITE_6, 0, 0, 1, 2 }, SCSI_DIR_WRITE, 1024, 1024,
      STATS_OP_WRITE },
    { { SCSI_OP_INQUIRY, 0, 0, 0, 96 }, SCSI_DIR_READ, 96, 96, -1 },
    { { SCSI_OP_INQUIRY, 1, 0x83, 0x10, 0 }, SCSI_DIR_READ, 4096, -1, -1 },
    { { SCSI_OP_MODE_SENSE_6, 0, 0x3f, 0, 255 }, SCSI_DIR_READ, 255, -1, -1 },
    { { SCSI_OP_READ_CAPACITY_10 }, SCSI_DIR_READ, 8, 8, -1 },
    { { SCSI_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 8 }, SCSI_DIR_READ, 4096, 4096,
      STATS_OP_READ },
    { { SCSI_OP_WRITE_10, 0x08, 0, 0, 0, 9, 0, 0, 8 }, SCSI_DIR_WRITE, 4096,
      4096, STATS_OP_WRITE },
    { { SCSI_OP_READ_10 }, SCSI_DIR_NONE, 0, 0, STATS_OP_READ },
    { { SCSI_OP_SYNCHRONIZE_CACHE_10, 0x02 }, SCSI_DIR_NONE, 0, 0,
      STATS_OP_FLUSH },
    { { SCSI_OP_MODE_SENSE_10, 0x08, 0x08, 0, 0, 0, 0, 0x03, 0xe8 },
      SCSI_DIR_READ, 1000, -1, -1 },
    { { SCSI_OP_READ_16, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 16 },
      SCSI_DIR_READ, 8192, 8192, STATS_OP_READ },
    { { SCSI_OP_WRITE_16, 0x10, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 16 },
      SCSI_DIR_WRITE, 8192, 8192, STATS_OP_WRITE },
    { { SCSI_OP_SYNCHRONIZE_CACHE_16 }, SCSI_DIR_NONE, 0, 0, STATS_OP_FLUSH },
    { { SCSI_OP_SERVICE_ACTION_IN_16, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        32 }, SCSI_DIR_READ, 32, 32, -1 },
    { { SCSI_OP_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 0x10, 0 }, SCSI_DIR_READ,
      4096, 8 + 3 * 8, -1 },
    { { SCSI_OP_MODE_SELECT_6, 0x10 }, SCSI_DIR_NONE, 0, 0, -1 },
    { { SCSI_OP_START_STOP_UNIT, 0, 0, 0, 0x01 }, SCSI_DIR_NONE, 0, 0, -1 },
    { { SCSI_OP_WRITE_VERIFY_10, 0x02, 0, 0, 0, 9, 0, 0, 8 }, SCSI_DIR_WRITE,
      4096, 4096, STATS_OP_WRITE },
    { { SCSI_OP_VERIFY_10, 0, 0, 0, 0, 0, 0, 0, 8 }, SCSI_DIR_NONE, 0, 0,
      -1 },
    /* BYTCHK 1: the data, then room to read the blocks back into. */
    { { SCSI_OP_VERIFY_10, 0x02, 0, 0, 0, 0, 0, 0, 8 }, SCSI_DIR_WRITE, 4096,
      8192, -1 },
    { { SCSI_OP_PREFETCH_10, 0, 0, 0, 0, 0, 0, 0, 8 }, SCSI_DIR_NONE, 0, 0,
      STATS_OP_CACHE },
    /* One block of data, room to replicate it over the 8. */
    { { SCSI_OP_WRITE_SAME_10, 0, 0, 0, 0, 16, 0, 0, 8 }, SCSI_DIR_WRITE, 512,
      4096, STATS_OP_ZERO },
    { { SCSI_OP_UNMAP }, SCSI_DIR_NONE, 0, 0, STATS_OP_TRIM },
    { { SCSI_OP_SANITIZE, SCSI_SANITIZE_EXIT_FAILURE }, SCSI_DIR_NONE, 0, 0,
      -1 },
    { { SCSI_OP_MODE_SELECT_10, 0x10 }, SCSI_DIR_NONE, 0, 0, -1 },
    { { SCSI_OP_WRITE_VERIFY_16, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1 },
      SCSI_DIR_WRITE, 512, 512, STATS_OP_WRITE },
    { { SCSI_OP_VERIFY_16, 0x06, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 16 },
      SCSI_DIR_WRITE, 512, 512 + 8192, -1 },
    { { SCSI_OP_PREFETCH_16, 0x02 }, SCSI_DIR_NONE, 0, 0, STATS_OP_CACHE },
    /* NDOB: no data, and the memory backend zeroes without a buffer. */
    { { SCSI_OP_WRITE_SAME_16, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8 },
      SCSI_DIR_NONE, 0, 0, STATS_OP_ZERO },
    /* COMPARE AND WRITE of 2 blocks: verify and write data, and room for
     * the stored blocks. */
    { { SCSI_OP_COMPARE_AND_WRITE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 },
      SCSI_DIR_WRITE, 2048, 3072, STATS_OP_WRITE },
    /* GET LBA STATUS: scratch room for extents past the answer. */
    { { SCSI_OP_SERVICE_ACTION_IN_16, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        24 }, SCSI_DIR_READ, 24, -1, STATS_OP_BLOCK_STATUS },
    { { SCSI_OP_MAINTENANCE_IN, 0x0c, 0, 0, 0, 0, 0, 0, 0x04, 0 },
      SCSI_DIR_READ, 1024, -1, -1 },
    { { SCSI_OP_READ_12, 0, 0, 0, 0, 1, 0, 0, 0, 2 }, SCSI_DIR_READ, 1024,
      1024, STATS_OP_READ },
    { { SCSI_OP_WRITE_12, 0x08, 0, 0, 0, 1, 0, 0, 0, 2 }, SCSI_DIR_WRITE, 1024,
      1024, STATS_OP_WRITE },
    { { SCSI_OP_WRITE_VERIFY_12, 0, 0, 0, 0, 1, 0, 0, 0, 2 }, SCSI_DIR_WRITE,
      1024, 1024, STATS_OP_WRITE },
    { { SCSI_OP_VERIFY_12, 0x10, 0, 0, 0, 1, 0, 0, 0, 2 }, SCSI_DIR_NONE, 0, 0,
      -1 },
    { { SCSI_OP_ORWRITE_16, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2 },
      SCSI_DIR_WRITE, 1024, 2048, STATS_OP_WRITE },
    { { SCSI_OP_READ_DEFECT_DATA_10, 0, 0x18, 0, 0, 0, 0, 0, 32 },
      SCSI_DIR_READ, 32, 8, -1 },
    { { SCSI_OP_READ_DEFECT_DATA_12, 0x18, 0, 0, 0, 0, 0, 0, 0, 32 },
      SCSI_DIR_READ, 32, 8, -1 },
    { { SCSI_OP_RESERVE_6 }, SCSI_DIR_NONE, 0, 0, -1 },
    { { SCSI_OP_RELEASE_6 }, SCSI_DIR_NONE, 0, 0, -1 },
    { { SCSI_OP_RESERVE_10 }, SCSI_DIR_NONE, 0, 0, -1 },
    { { SCSI_OP_RELEASE_10 }, SCSI_DIR_NONE, 0, 0, -1 },
    /* READ KEYS; REGISTER of key 0 by an unregistered nexus (no-op). */
    { { SCSI_OP_PERSISTENT_RESERVE_IN, 0, 0, 0, 0, 0, 0, 0, 64 },
      SCSI_DIR_READ, 64, -1, -1 },
    { { SCSI_OP_PERSISTENT_RESERVE_OUT, 0, 0, 0, 0, 0, 0, 0, 24 },
      SCSI_DIR_WRITE, 24, 24, -1 },
};

/* Distinct opcodes among decode_cases. */
#define CMD_NSUPPORTED 44

START_TEST(test_cmd_decode_every_supported_opcode)
{
    const struct decode_case *dc = &decode_cases[_i];
    uint8_t op = dc->cdb[0];
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 3);
    ck_assert_ptr_nonnull(scsi_cmd_name(op));
    st_cmd_init(&c, &env, &env.lu[0], dc->cdb, scsi_cmd_length(op));
    ck_assert_msg(scsi_cmd_decode(&c.t), "%s refused", scsi_cmd_name(op));
    ck_assert_int_eq(c.t.status, SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.sense_len, 0);
    ck_assert_int_eq(c.t.dir, dc->dir);
    ck_assert_uint_eq(c.t.xfer_len, dc->xfer_len);
    if (dc->buf_len >= 0) {
        ck_assert_uint_eq(c.t.buf_len, (uint32_t)dc->buf_len);
    }
    if (dc->dir == SCSI_DIR_WRITE) {
        ck_assert_uint_ge(c.t.buf_len, c.t.xfer_len);
    }
    ck_assert_int_eq(c.t.stats_op, dc->stats_op);
    /* And it runs to GOOD with the buffer it asked for. */
    c.t.buf = bt_xmalloc(c.t.buf_len);
    memset(c.t.buf, 0, c.t.buf_len);
    st_exec_wait(&env, &c);
    ck_assert_int_eq(c.t.status, SCSI_STATUS_GOOD);
    ck_assert_uint_le(c.t.data_len, c.t.buf_len);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

static bool
cmd_supported(uint8_t op)
{
    for (size_t i = 0; i < ARRAY_SIZE(decode_cases); i++) {
        if (decode_cases[i].cdb[0] == op) {
            return true;
        }
    }
    return false;
}

START_TEST(test_cmd_unknown_opcodes_fail_invalid_opcode)
{
    static const uint8_t want[SCSI_SENSE_LEN] = {
        0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0x00, 0, 0, 0, 0,
    };
    struct st_env env;
    unsigned n = 0;

    st_env_init(&env, MiB, 512, false, 1);
    for (unsigned op = 0; op < 256; op++) {
        uint8_t cdb[SCSI_CDB_MAX] = { (uint8_t)op };
        struct st_cmd c;

        if (cmd_supported((uint8_t)op)) {
            continue;
        }
        st_cmd_init(&c, &env, &env.lu[0], cdb, sizeof cdb);
        ck_assert_int_eq(st_run(&env, &c, NULL, 0),
                         SCSI_STATUS_CHECK_CONDITION);
        ck_assert(!c.decoded);
        ck_assert_uint_eq(c.t.sense_len, SCSI_SENSE_LEN);
        ck_assert_msg(memcmp(c.t.sense, want, SCSI_SENSE_LEN) == 0,
                      "opcode 0x%02x", op);
        ck_assert_int_eq(c.t.stats_op, -1);
        n++;
    }
    ck_assert_uint_eq(n, 256 - CMD_NSUPPORTED);
    st_env_free(&env);
}
END_TEST

START_TEST(test_cmd_refused_service_action_is_invalid_field)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    /* A service action nobody has, of SERVICE ACTION IN and of
     * MAINTENANCE IN (0Ah: REPORT TARGET PORT GROUPS, not ours). */
    /* The exact sense: the field pointer names the SERVICE ACTION field
     * (byte 1, from bit 4), which initiators read as "not supported". */
    static const uint8_t want[SCSI_SENSE_LEN] = {
        0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0x00, 0, 0xcc, 0, 1,
    };

    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_SERVICE_ACTION_IN_16, 0x05, 0, 0, 0,
           0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0);
    ck_assert(memcmp(c.t.sense, want, SCSI_SENSE_LEN) == 0);
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_MAINTENANCE_IN, 0x0a, 0, 0, 0, 0, 0,
           0, 1, 0, 0, 0);
    st_assert_invalid_field_at(&c.t, 1, 4);
    /* GET LBA STATUS on a backend without block status: still offered
     * while the LU is thin (it answers all mapped), not once it is not. */
    env.e.caps &= ~(unsigned)BACKEND_CAN_BLOCK_STATUS;
    ck_assert(scsi_cmd_supported(&env.lu[0], SCSI_OP_SERVICE_ACTION_IN_16,
                                 SCSI_SAI_GET_LBA_STATUS, NULL));
    /* UNMAP on a backend that cannot trim: not offered at all, and
     * neither is GET LBA STATUS on a thick LU that cannot tell. */
    env.e.caps &= ~(unsigned)BACKEND_CAN_TRIM;
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_UNMAP, 0, 0, 0, 0, 0, 0, 0, 24, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_SERVICE_ACTION_IN_16, 0x12, 0, 0, 0,
           0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0);
    st_assert_invalid_field_at(&c.t, 1, 4);
    ck_assert(!scsi_cmd_supported(&env.lu[0], SCSI_OP_SERVICE_ACTION_IN_16,
                                  SCSI_SAI_GET_LBA_STATUS, NULL));
    ck_assert(scsi_cmd_supported(&env.lu[0], SCSI_OP_SERVICE_ACTION_IN_16,
                                 SCSI_SAI_READ_CAPACITY_16, NULL));
    st_env_free(&env);
}
END_TEST

/* Every supported command has CDB usage data for REPORT SUPPORTED
 * OPERATION CODES: its opcode first, and DPO/FUA where it honours them
 * (libiscsi's dpofua tests compare these with MODE SENSE's DPOFUA). */
START_TEST(test_cmd_every_supported_opcode_has_usage_data)
{
    static const struct {
        uint8_t op;
        uint8_t byte1;
    } flags[] = {
        { SCSI_OP_READ_10, 0x18 }, { SCSI_OP_READ_12, 0x18 },
        { SCSI_OP_READ_16, 0x18 }, { SCSI_OP_WRITE_10, 0x18 },
        { SCSI_OP_WRITE_12, 0x18 }, { SCSI_OP_WRITE_16, 0x18 },
        { SCSI_OP_VERIFY_10, 0x10 }, { SCSI_OP_VERIFY_12, 0x10 },
        { SCSI_OP_VERIFY_16, 0x10 }, { SCSI_OP_WRITE_VERIFY_10, 0x10 },
        { SCSI_OP_WRITE_VERIFY_12, 0x10 }, { SCSI_OP_WRITE_VERIFY_16, 0x10 },
    };
    unsigned n = 0;

    for (unsigned op = 0; op < 256; op++) {
        const struct scsi_op *e = scsi_cmd_op((uint8_t)op);

        if (e->decode == NULL) {
            ck_assert_ptr_null(e->usage);
            ck_assert_uint_eq(e->nsa, 0);
            continue;
        }
        n++;
        ck_assert_msg(cmd_supported((uint8_t)op), "0x%02x has no decode case",
                      op);
        if (e->flags & SCSI_OP_SA) {
            ck_assert_ptr_null(e->usage);
            ck_assert_uint_gt(e->nsa, 0);
            for (size_t i = 0; i < e->nsa; i++) {
                ck_assert_uint_eq(e->sa[i].usage[0], op);
                /* The SERVICE ACTION field, and flags beside it
                 * (SANITIZE's IMMED and AUSE). */
                ck_assert_uint_eq(e->sa[i].usage[1] & 0x1f, 0x1f);
            }
        } else {
            ck_assert_ptr_nonnull(e->usage);
            ck_assert_uint_eq(e->usage[0], op);
            /* The CONTROL byte: we use none of its bits. */
            ck_assert_uint_eq(e->usage[scsi_cmd_length((uint8_t)op) - 1], 0);
        }
    }
    ck_assert_uint_eq(n, CMD_NSUPPORTED);
    for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
        const uint8_t *u = scsi_cmd_op(flags[i].op)->usage;

        ck_assert_uint_eq(u[1] & flags[i].byte1, flags[i].byte1);
        ck_assert_uint_eq(u[1] & 0xe0, 0); /* no protection fields */
    }
}
END_TEST

START_TEST(test_cmd_naca_and_short_cdb_are_invalid_field)
{
    struct st_env env;
    struct st_cmd c;
    uint8_t cdb[SCSI_CDB_MAX] = { SCSI_OP_READ_10 };

    st_env_init(&env, MiB, 512, false, 1);
    /* NACA in the CONTROL byte (the last of each CDB). */
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_TEST_UNIT_READY, 0, 0, 0, 0, 0x04);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_READ_16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           0, 0, 1, 0, 0x04);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* The link bit (0x01) and vendor bits are not refused. */
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_TEST_UNIT_READY, 0,
                            0, 0, 0, 0xc0), SCSI_STATUS_GOOD);
    /* A 10-byte command in 6 bytes. */
    st_cmd_init(&c, &env, &env.lu[0], cdb, 6);
    st_run(&env, &c, NULL, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* No CDB at all. */
    st_cmd_init(&c, &env, &env.lu[0], cdb, 0);
    st_run(&env, &c, NULL, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
    st_env_free(&env);
}
END_TEST

START_TEST(test_cmd_no_lun_allows_inquiry_luns_and_sense)
{
    static const uint8_t refused[] = {
        SCSI_OP_TEST_UNIT_READY, SCSI_OP_READ_10, SCSI_OP_WRITE_10,
        SCSI_OP_MODE_SENSE_6, SCSI_OP_READ_CAPACITY_10,
        SCSI_OP_SYNCHRONIZE_CACHE_10, SCSI_OP_UNMAP, 0x02, 0xff,
    };
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    for (size_t i = 0; i < sizeof refused; i++) {
        uint8_t cdb[SCSI_CDB_MAX] = { refused[i], 0, 0, 0, 0, 0, 0, 0, 1 };

        st_cmd_init(&c, &env, NULL, cdb, sizeof cdb);
        st_run(&env, &c, NULL, 0);
        st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                        SCSI_ASC_LUN_NOT_SUPPORTED);
    }

    /* INQUIRY: peripheral qualifier 011b, device type 1Fh. */
    ck_assert_int_eq(ST_RUN(&env, &c, NULL, SCSI_OP_INQUIRY, 0, 0, 0, 96, 0),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 96);
    ck_assert_uint_eq(c.t.buf[0], 0x7f);
    ck_assert_uint_eq(c.t.buf[2], 0x06);
    st_cmd_free(&c);
    /* ... but no VPD: nothing identifies it. */
    ST_RUN(&env, &c, NULL, SCSI_OP_INQUIRY, 1, 0x80, 0, 96, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_LUN_NOT_SUPPORTED);

    /* REPORT LUNS lists the target's LUs. */
    ck_assert_int_eq(ST_RUN(&env, &c, NULL, SCSI_OP_REPORT_LUNS, 0, 0, 0, 0, 0,
                            0, 0, 1, 0, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 16);
    ck_assert_uint_eq(st_be32(c.t.buf), 8);
    st_cmd_free(&c);

    /* REQUEST SENSE: GOOD, with LOGICAL UNIT NOT SUPPORTED as data. */
    ck_assert_int_eq(ST_RUN(&env, &c, NULL, SCSI_OP_REQUEST_SENSE, 0, 0, 0, 18,
                            0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 18);
    ck_assert_uint_eq(c.t.buf[0], 0x70);
    ck_assert_uint_eq(c.t.buf[2], SCSI_SENSE_ILLEGAL_REQUEST);
    ck_assert_uint_eq(c.t.buf[12], 0x25);
    ck_assert_uint_eq(c.t.buf[13], 0x00);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_cmd_lun_wire_format_round_trips)
{
    static const uint64_t luns[] = { 0, 1, 5, 255, 256, 300, 4095, 16383 };
    uint8_t w[8];

    for (size_t i = 0; i < ARRAY_SIZE(luns); i++) {
        scsi_lu_lun_to_wire(luns[i], w);
        ck_assert_uint_eq(scsi_lu_lun_from_wire(w), luns[i]);
        for (int j = 2; j < 8; j++) {
            ck_assert_uint_eq(w[j], 0);
        }
    }
    scsi_lu_lun_to_wire(5, w);
    ck_assert_uint_eq(w[0], 0x00); /* peripheral device addressing */
    ck_assert_uint_eq(w[1], 5);
    scsi_lu_lun_to_wire(300, w);
    ck_assert_uint_eq(w[0], 0x41); /* flat space: 01b, then 300 >> 8 */
    ck_assert_uint_eq(w[1], 300 & 0xff);

    /* Refused: a second level, a bus number, other methods. */
    memcpy(w, (uint8_t[8]){ 0, 1, 0, 2, 0, 0, 0, 0 }, 8);
    ck_assert_uint_eq(scsi_lu_lun_from_wire(w), UINT64_MAX);
    memcpy(w, (uint8_t[8]){ 0x01, 1, 0, 0, 0, 0, 0, 0 }, 8);
    ck_assert_uint_eq(scsi_lu_lun_from_wire(w), UINT64_MAX);
    memcpy(w, (uint8_t[8]){ 0x80, 1, 0, 0, 0, 0, 0, 0 }, 8);
    ck_assert_uint_eq(scsi_lu_lun_from_wire(w), UINT64_MAX);
    memcpy(w, (uint8_t[8]){ 0xc1, 0, 0, 0, 0, 0, 0, 0 }, 8);
    ck_assert_uint_eq(scsi_lu_lun_from_wire(w), UINT64_MAX);
}
END_TEST

START_TEST(test_cmd_lu_init_geometry_and_identity)
{
    static const unsigned sizes[] = { 512, 4096 };
    const unsigned bs = sizes[_i];
    struct st_env env;
    struct scsi_lu other;

    st_env_init(&env, 3 * MiB, bs, false, 2);
    ck_assert_ptr_eq(env.lu[0].export, &env.e);
    ck_assert_uint_eq(env.lu[0].block_size, bs);
    ck_assert_uint_eq(1u << env.lu[0].block_shift, bs);
    ck_assert_uint_eq(env.lu[0].nblocks, 3 * MiB / bs);
    ck_assert(!env.lu[0].readonly);
    ck_assert_uint_eq(env.lu[0].max_xfer_blocks, SCSI_MAX_XFER_BYTES / bs);
    ck_assert_uint_eq(env.lu[0].opt_xfer_gran, 1); /* memory: min_block 1 */

    /* Serial: 32 hex digits.  NAA: type 6h, our company ID. */
    ck_assert_uint_eq(strlen(env.lu[0].serial), 32);
    for (size_t i = 0; i < 32; i++) {
        ck_assert(isxdigit((unsigned char)env.lu[0].serial[i]));
    }
    ck_assert_uint_eq(env.lu[0].naa[0], 0x65);
    ck_assert_uint_eq(env.lu[0].naa[1], 0xa5);
    ck_assert_uint_eq(env.lu[0].naa[2], 0x05);
    ck_assert_uint_eq(env.lu[0].naa[3] >> 4, 0x4);

    /* The same names give the same identity (LUN does not enter)... */
    ck_assert_str_eq(env.lu[0].serial, env.lu[1].serial);
    ck_assert(memcmp(env.lu[0].naa, env.lu[1].naa, 16) == 0);
    scsi_lu_init(&other, &env.e, 0, ST_TARGET);
    ck_assert_str_eq(env.lu[0].serial, other.serial);
    /* ... another target or export name another one. */
    scsi_lu_init(&other, &env.e, 0, ST_TARGET "x");
    ck_assert_str_ne(env.lu[0].serial, other.serial);
    ck_assert(memcmp(env.lu[0].naa, other.naa, 16) != 0);
    env.e.name = "test2";
    scsi_lu_init(&other, &env.e, 0, ST_TARGET);
    ck_assert_str_ne(env.lu[0].serial, other.serial);
    ck_assert(memcmp(env.lu[0].naa, other.naa, 16) != 0);
    st_env_free(&env);
}
END_TEST

START_TEST(test_cmd_lu_find_by_number)
{
    struct st_env env;

    st_env_init(&env, MiB, 512, false, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_ptr_eq(scsi_lu_find(&env.target, st_luns[i]), &env.lu[i]);
    }
    ck_assert_ptr_null(scsi_lu_find(&env.target, 2));
    st_env_free(&env);
}
END_TEST

static Suite *
cmd_suite(void)
{
    Suite *s = suite_create("scsi-cmd");
    TCase *tc = tcase_create("cmd");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cmd_length_follows_group_code);
    tcase_add_test(tc, test_cmd_names_known_and_unknown);
    tcase_add_test(tc, test_cmd_sense_build_is_fixed_format);
    tcase_add_loop_test(tc, test_cmd_decode_every_supported_opcode, 0,
                        ARRAY_SIZE(decode_cases));
    tcase_add_test(tc, test_cmd_unknown_opcodes_fail_invalid_opcode);
    tcase_add_test(tc, test_cmd_refused_service_action_is_invalid_field);
    tcase_add_test(tc, test_cmd_every_supported_opcode_has_usage_data);
    tcase_add_test(tc, test_cmd_naca_and_short_cdb_are_invalid_field);
    tcase_add_test(tc, test_cmd_no_lun_allows_inquiry_luns_and_sense);
    tcase_add_test(tc, test_cmd_lun_wire_format_round_trips);
    tcase_add_loop_test(tc, test_cmd_lu_init_geometry_and_identity, 0, 2);
    tcase_add_test(tc, test_cmd_lu_find_by_number);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return st_main(cmd_suite());
}
