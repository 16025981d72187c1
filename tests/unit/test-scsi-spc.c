/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SPC commands (server/scsi/scsi-spc.c): standard
 * INQUIRY data field by field, every VPD page's length and key fields,
 * allocation-length truncation, REPORT LUNS for 1 and 3 LUNs and each
 * SELECT REPORT, REQUEST SENSE, TEST UNIT READY, and MODE SENSE(6)/(10)
 * pages, block descriptors (short, long, none), the WP bit and every
 * page control value.  Against a memory-backend export, through
 * scsi-test-helpers.h.
 */
#include <config.h>

#include <check.h>
#include <stdlib.h>

#include "scsi-test-helpers.h"

#define MiB (UINT64_C(1) << 20)

START_TEST(test_spc_test_unit_ready_is_good)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_TEST_UNIT_READY, 0,
                            0, 0, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_NONE);
    ck_assert_int_eq(c.t.stats_op, -1);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_inquiry_standard_fields)
{
    struct st_env env;
    struct st_cmd c;
    const uint8_t *b;

    st_env_init(&env, MiB, 512, false, 1);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 0, 0, 0,
                            255, 0), SCSI_STATUS_GOOD);
    b = c.t.buf;
    ck_assert_uint_eq(c.t.data_len, 96);
    ck_assert_uint_eq(b[0], 0x00);       /* qualifier 0, direct access */
    ck_assert_uint_eq(b[1], 0x00);       /* not removable */
    ck_assert_uint_eq(b[2], 0x06);       /* SPC-4 */
    ck_assert_uint_eq(b[3] & 0x0f, 2);   /* response data format */
    ck_assert_uint_eq(b[3] & 0x10, 0x10); /* HISUP */
    ck_assert_uint_eq(b[4], 96 - 5);     /* additional length */
    ck_assert_uint_eq(b[7] & 0x02, 0x02); /* CMDQUE */
    ck_assert(memcmp(&b[8], "POLLTGT ", 8) == 0);
    ck_assert(memcmp(&b[16], "VIRTUAL DISK    ", 16) == 0);
    for (int i = 32; i < 36; i++) {     /* printable, space padded */
        ck_assert(b[i] >= 0x20 && b[i] < 0x7f);
    }
    ck_assert(memcmp(&b[32], "0.1 ", 4) == 0 || b[32] != ' ');
    ck_assert_uint_eq(st_be16(&b[58]), 0x00a0); /* SAM-5 */
    ck_assert_uint_eq(st_be16(&b[60]), 0x0460); /* SPC-4 */
    ck_assert_uint_eq(st_be16(&b[62]), 0x04c0); /* SBC-3 */
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_inquiry_truncates_to_allocation_length)
{
    struct st_env env;
    struct st_cmd c;
    uint8_t full[96];

    st_env_init(&env, MiB, 512, false, 1);
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 0, 0, 0, 96, 0);
    memcpy(full, c.t.buf, sizeof full);
    st_cmd_free(&c);

    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 0, 0, 0,
                            36, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.xfer_len, 36);
    ck_assert_uint_eq(c.t.data_len, 36);
    ck_assert(memcmp(c.t.buf, full, 36) == 0);
    ck_assert_uint_eq(c.t.buf[4], 91); /* still the full length */
    st_cmd_free(&c);

    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 0, 0, 0,
                            5, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 5);
    st_cmd_free(&c);

    /* Allocation length 0: no data, not an error. */
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 0, 0, 0,
                            0, 0), SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_NONE);
    ck_assert_uint_eq(c.t.data_len, 0);
    st_cmd_free(&c);

    /* A 16-bit allocation length: 0x1000 is 4096, not 16 or 0. */
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 0, 0, 0x10,
                            0x00, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.xfer_len, 4096);
    ck_assert_uint_eq(c.t.data_len, 96);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_inquiry_invalid_fields)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    /* EVPD 0 with a page code. */
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 0, 0x80, 0, 96, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* CMDDT. */
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 2, 0, 0, 96, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* A VPD page we do not have. */
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 1, 0x86, 0, 96, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    st_env_free(&env);
}
END_TEST

/* Run INQUIRY for a VPD page with a big allocation length. */
static void
spc_vpd(struct st_env *env, struct st_cmd *c, uint8_t page)
{
    ck_assert_int_eq(ST_RUN(env, c, &env->lu[0], SCSI_OP_INQUIRY, 1, page,
                            0x02, 0x00, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c->t.buf[0], 0x00);
    ck_assert_uint_eq(c->t.buf[1], page);
    ck_assert_uint_eq(c->t.data_len, 4u + st_be16(&c->t.buf[2]));
}

START_TEST(test_spc_vpd_supported_pages_and_serial)
{
    static const uint8_t pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    spc_vpd(&env, &c, 0x00);
    ck_assert_uint_eq(st_be16(&c.t.buf[2]), sizeof pages);
    ck_assert(memcmp(&c.t.buf[4], pages, sizeof pages) == 0);
    st_cmd_free(&c);
    /* Every page listed is answered. */
    for (size_t i = 0; i < sizeof pages; i++) {
        spc_vpd(&env, &c, pages[i]);
        st_cmd_free(&c);
    }

    spc_vpd(&env, &c, 0x80);
    ck_assert_uint_eq(st_be16(&c.t.buf[2]), 32);
    ck_assert(memcmp(&c.t.buf[4], env.lu[0].serial, 32) == 0);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_vpd_device_identification)
{
    struct st_env env;
    struct st_cmd c;
    const uint8_t *d;
    size_t name_len = strlen(ST_TARGET);
    uint32_t len, off;

    st_env_init(&env, MiB, 512, false, 1);
    spc_vpd(&env, &c, 0x83);
    len = st_be16(&c.t.buf[2]);

    /* NAA: binary, LU association, type 3, 16 bytes, NAA 6h. */
    d = &c.t.buf[4];
    ck_assert_uint_eq(d[0], 0x01);
    ck_assert_uint_eq(d[1], 0x03);
    ck_assert_uint_eq(d[3], 16);
    ck_assert_uint_eq(d[4] >> 4, 0x6);
    ck_assert(memcmp(&d[4], env.lu[0].naa, 16) == 0);
    off = 4 + 20;

    /* T10 vendor ID: ASCII, type 1, vendor then serial. */
    d = &c.t.buf[off];
    ck_assert_uint_eq(d[0], 0x02);
    ck_assert_uint_eq(d[1], 0x01);
    ck_assert_uint_eq(d[3], 8 + 32);
    ck_assert(memcmp(&d[4], "POLLTGT ", 8) == 0);
    ck_assert(memcmp(&d[12], env.lu[0].serial, 32) == 0);
    off += 4 + 40;

    /* SCSI name string: UTF-8, target device association, type 8,
     * NUL-terminated and padded to a multiple of 4. */
    d = &c.t.buf[off];
    ck_assert_uint_eq(d[0], 0x03);
    ck_assert_uint_eq(d[1], 0x28);
    ck_assert_uint_eq(d[3] % 4, 0);
    ck_assert_uint_ge(d[3], name_len + 1);
    ck_assert_uint_lt(d[3], name_len + 1 + 4);
    ck_assert(memcmp(&d[4], ST_TARGET, name_len) == 0);
    for (size_t i = name_len; i < d[3]; i++) {
        ck_assert_uint_eq(d[4 + i], 0);
    }
    off += 4u + d[3];
    ck_assert_uint_eq(len, off - 4);
    st_cmd_free(&c);

    /* Truncated: the page length still says how much there is. */
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 1, 0x83, 0,
                            8, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 8);
    ck_assert_uint_eq(st_be16(&c.t.buf[2]), len);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_vpd_block_pages)
{
    static const unsigned sizes[] = { 512, 4096 };
    const unsigned bs = sizes[_i];
    struct st_env env;
    struct st_cmd c;
    const uint8_t *b;

    st_env_init(&env, 8 * MiB, bs, false, 1);
    /* B0h: block limits. */
    spc_vpd(&env, &c, 0xb0);
    b = c.t.buf;
    ck_assert_uint_eq(st_be16(&b[2]), 0x3c);
    ck_assert_uint_eq(st_be16(&b[6]), 1);                  /* granularity */
    ck_assert_uint_eq(st_be32(&b[8]), (4 * MiB) / bs);     /* maximum */
    ck_assert_uint_eq(st_be32(&b[12]), (4 * MiB) / bs);    /* optimal */
    ck_assert_uint_eq(st_be32(&b[20]), 0);                 /* no UNMAP */
    ck_assert_uint_eq(st_be64(&b[36]), 0);                 /* no WRITE SAME */
    st_cmd_free(&c);

    /* B1h: a non-rotating medium. */
    spc_vpd(&env, &c, 0xb1);
    ck_assert_uint_eq(st_be16(&c.t.buf[2]), 0x3c);
    ck_assert_uint_eq(st_be16(&c.t.buf[4]), 1);
    st_cmd_free(&c);

    /* B2h: no UNMAP, no WRITE SAME unmapping. */
    spc_vpd(&env, &c, 0xb2);
    ck_assert_uint_eq(st_be16(&c.t.buf[2]), 4);
    ck_assert_uint_eq(c.t.buf[5], 0); /* LBPU, LBPWS, LBPWS10, LBPRZ */
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

/* REPORT LUNS with allocation length alloc and SELECT REPORT sel. */
static uint8_t
spc_report_luns(struct st_env *env, struct st_cmd *c, uint8_t sel,
                uint32_t alloc)
{
    return ST_RUN(env, c, &env->lu[0], SCSI_OP_REPORT_LUNS, 0, sel, 0, 0, 0,
                  (uint8_t)(alloc >> 24), (uint8_t)(alloc >> 16),
                  (uint8_t)(alloc >> 8), (uint8_t)alloc, 0, 0);
}

START_TEST(test_spc_report_luns_one_and_three)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    ck_assert_int_eq(spc_report_luns(&env, &c, 0, 4096), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 16);
    ck_assert_uint_eq(st_be32(&c.t.buf[0]), 8);
    ck_assert_uint_eq(st_be32(&c.t.buf[4]), 0);
    ck_assert_uint_eq(st_be64(&c.t.buf[8]), 0);
    st_cmd_free(&c);
    st_env_free(&env);

    st_env_init(&env, MiB, 512, false, 3); /* LUNs 0, 1, 300 */
    for (uint8_t sel = 0; sel <= 2; sel += 2) {
        ck_assert_int_eq(spc_report_luns(&env, &c, sel, 4096),
                         SCSI_STATUS_GOOD);
        ck_assert_uint_eq(c.t.data_len, 32);
        ck_assert_uint_eq(st_be32(&c.t.buf[0]), 24);
        ck_assert_uint_eq(st_be64(&c.t.buf[8]), 0);
        ck_assert_uint_eq(st_be64(&c.t.buf[16]), UINT64_C(1) << 48);
        ck_assert_uint_eq(st_be64(&c.t.buf[24]),
                          UINT64_C(0x412c) << 48); /* flat space, 300 */
        st_cmd_free(&c);
    }
    /* Well-known LUs only: we have none. */
    ck_assert_int_eq(spc_report_luns(&env, &c, 1, 4096), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 8);
    ck_assert_uint_eq(st_be32(&c.t.buf[0]), 0);
    st_cmd_free(&c);
    /* Other SELECT REPORT values. */
    spc_report_luns(&env, &c, 3, 4096);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_report_luns_truncates_to_allocation_length)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 3);
    ck_assert_int_eq(spc_report_luns(&env, &c, 0, 16), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 16);
    ck_assert_uint_eq(st_be32(&c.t.buf[0]), 24); /* the whole list's size */
    ck_assert_uint_eq(st_be64(&c.t.buf[8]), 0);
    st_cmd_free(&c);
    /* In the middle of an entry, and in the header. */
    ck_assert_int_eq(spc_report_luns(&env, &c, 0, 19), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 19);
    ck_assert_uint_eq(c.t.buf[17], 1);
    st_cmd_free(&c);
    ck_assert_int_eq(spc_report_luns(&env, &c, 0, 3), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 3);
    st_cmd_free(&c);
    /* A huge allocation length needs only the list's room. */
    ck_assert_int_eq(spc_report_luns(&env, &c, 0, UINT32_MAX),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.xfer_len, UINT32_MAX);
    ck_assert_uint_eq(c.t.buf_len, 32);
    ck_assert_uint_eq(c.t.data_len, 32);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_request_sense_reports_no_sense)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_REQUEST_SENSE, 0, 0,
                            0, 252, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 18);
    ck_assert_uint_eq(c.t.buf[0], 0x70);
    ck_assert_uint_eq(c.t.buf[2], SCSI_SENSE_NO_SENSE);
    ck_assert_uint_eq(c.t.buf[7], 10);
    ck_assert_uint_eq(c.t.buf[12], 0);
    ck_assert_uint_eq(c.t.buf[13], 0);
    st_cmd_free(&c);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_REQUEST_SENSE, 0, 0,
                            0, 8, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 8);
    st_cmd_free(&c);
    /* DESC: descriptor format is not supported. */
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_REQUEST_SENSE, 1, 0, 0, 252, 0);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    st_env_free(&env);
}
END_TEST

/* MODE SENSE(6) with byte 1 b1 and byte 2 b2 (PC and page). */
static uint8_t
spc_mode_sense6(struct st_env *env, struct st_cmd *c, uint8_t b1, uint8_t b2,
                uint8_t alloc)
{
    return ST_RUN(env, c, &env->lu[0], SCSI_OP_MODE_SENSE_6, b1, b2, 0, alloc,
                  0);
}

static uint8_t
spc_mode_sense10(struct st_env *env, struct st_cmd *c, uint8_t b1, uint8_t b2,
                 uint8_t subpage, uint16_t alloc)
{
    return ST_RUN(env, c, &env->lu[0], SCSI_OP_MODE_SENSE_10, b1, b2, subpage,
                  0, 0, 0, (uint8_t)(alloc >> 8), (uint8_t)alloc, 0);
}

START_TEST(test_spc_mode_sense6_caching_page_and_descriptor)
{
    struct st_env env;
    struct st_cmd c;
    const uint8_t *b;

    st_env_init(&env, 3 * MiB, 4096, false, 1);
    ck_assert_int_eq(spc_mode_sense6(&env, &c, 0, 0x08, 255),
                     SCSI_STATUS_GOOD);
    b = c.t.buf;
    ck_assert_uint_eq(c.t.data_len, 4 + 8 + 20);
    ck_assert_uint_eq(b[0], 4 + 8 + 20 - 1);  /* mode data length */
    ck_assert_uint_eq(b[2] & 0x80, 0);        /* not write protected */
    ck_assert_uint_eq(b[2] & 0x10, 0x10);     /* DPOFUA */
    ck_assert_uint_eq(b[3], 8);               /* block descriptor length */
    ck_assert_uint_eq(st_be32(&b[4]), 3 * MiB / 4096);
    ck_assert_uint_eq(st_be32(&b[8]) & 0xffffff, 4096);
    ck_assert_uint_eq(b[12], 0x08);
    ck_assert_uint_eq(b[13], 0x12);
    ck_assert_uint_eq(b[14] & 0x04, 0x04);    /* WCE: memory can flush */
    ck_assert_uint_eq(b[14] & 0x01, 0);       /* RCD */
    st_cmd_free(&c);

    /* DBD: no block descriptor. */
    ck_assert_int_eq(spc_mode_sense6(&env, &c, 0x08, 0x08, 255),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 4 + 20);
    ck_assert_uint_eq(c.t.buf[0], 4 + 20 - 1);
    ck_assert_uint_eq(c.t.buf[3], 0);
    ck_assert_uint_eq(c.t.buf[4], 0x08);
    st_cmd_free(&c);

    /* Without flush in the export's caps, WCE is 0. */
    env.e.caps &= ~(unsigned)BACKEND_CAN_FLUSH;
    ck_assert_int_eq(spc_mode_sense6(&env, &c, 0x08, 0x08, 255),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[6] & 0x04, 0);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_mode_sense_all_pages_and_page_controls)
{
    struct st_env env;
    struct st_cmd c;
    const uint8_t *b;
    uint8_t current[64];

    st_env_init(&env, MiB, 512, false, 1);
    ck_assert_int_eq(spc_mode_sense6(&env, &c, 0x08, 0x3f, 255),
                     SCSI_STATUS_GOOD);
    b = c.t.buf;
    ck_assert_uint_eq(c.t.data_len, 4 + 20 + 12 + 12);
    ck_assert_uint_eq(b[0], 4 + 20 + 12 + 12 - 1);
    ck_assert_uint_eq(b[4], 0x08);
    ck_assert_uint_eq(b[24], 0x0a);            /* control */
    ck_assert_uint_eq(b[25], 0x0a);
    ck_assert_uint_eq(b[26] & 0x04, 0);        /* D_SENSE 0: fixed */
    ck_assert_uint_eq(b[36], 0x1c);            /* informational exc. */
    ck_assert_uint_eq(b[37], 0x0a);
    ck_assert_uint_eq(b[38] & 0x08, 0x08);     /* DEXCPT */
    memcpy(current, b, c.t.data_len);
    st_cmd_free(&c);

    /* Subpage FFh (all subpages) is the same answer. */
    ck_assert_int_eq(spc_mode_sense10(&env, &c, 0x08, 0x3f, 0xff, 255),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 8 + 44);
    ck_assert(memcmp(&c.t.buf[8], &current[4], 44) == 0);
    st_cmd_free(&c);

    /* Default equals current; changeable is all zero. */
    ck_assert_int_eq(spc_mode_sense6(&env, &c, 0x08, 0x80 | 0x3f, 255),
                     SCSI_STATUS_GOOD);
    ck_assert(memcmp(c.t.buf, current, 48) == 0);
    st_cmd_free(&c);
    ck_assert_int_eq(spc_mode_sense6(&env, &c, 0x08, 0x40 | 0x3f, 255),
                     SCSI_STATUS_GOOD);
    b = c.t.buf;
    ck_assert_uint_eq(c.t.data_len, 48);
    ck_assert_uint_eq(b[4], 0x08);
    ck_assert_uint_eq(b[5], 0x12);
    ck_assert_uint_eq(b[6], 0);                /* WCE not changeable */
    ck_assert_uint_eq(b[26], 0);
    ck_assert_uint_eq(b[38], 0);
    st_cmd_free(&c);

    /* Saved values: not supported. */
    spc_mode_sense6(&env, &c, 0, 0xc0 | 0x08, 255);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_SAVING_NOT_SUPPORTED);
    /* A page we do not have, a subpage we do not have. */
    spc_mode_sense6(&env, &c, 0, 0x19, 255);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    spc_mode_sense10(&env, &c, 0, 0x08, 0x01, 255);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_mode_sense_write_protect_bit)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, true, 1);
    ck_assert_int_eq(spc_mode_sense6(&env, &c, 0, 0x3f, 255),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[2] & 0x80, 0x80);
    st_cmd_free(&c);
    ck_assert_int_eq(spc_mode_sense10(&env, &c, 0, 0x3f, 0, 255),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[3] & 0x80, 0x80);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_mode_sense10_descriptors_and_truncation)
{
    struct st_env env;
    struct st_cmd c;
    const uint8_t *b;

    st_env_init(&env, 2 * MiB, 512, false, 1);
    /* Short descriptor. */
    ck_assert_int_eq(spc_mode_sense10(&env, &c, 0, 0x0a, 0, 1000),
                     SCSI_STATUS_GOOD);
    b = c.t.buf;
    ck_assert_uint_eq(c.t.data_len, 8 + 8 + 12);
    ck_assert_uint_eq(st_be16(&b[0]), 8 + 8 + 12 - 2);
    ck_assert_uint_eq(b[4] & 0x01, 0);            /* LONGLBA */
    ck_assert_uint_eq(st_be16(&b[6]), 8);
    ck_assert_uint_eq(st_be32(&b[8]), 4096);
    ck_assert_uint_eq(st_be32(&b[12]), 512);
    ck_assert_uint_eq(b[16], 0x0a);
    st_cmd_free(&c);

    /* LLBAA: the long descriptor. */
    ck_assert_int_eq(spc_mode_sense10(&env, &c, 0x10, 0x0a, 0, 1000),
                     SCSI_STATUS_GOOD);
    b = c.t.buf;
    ck_assert_uint_eq(c.t.data_len, 8 + 16 + 12);
    ck_assert_uint_eq(st_be16(&b[0]), 8 + 16 + 12 - 2);
    ck_assert_uint_eq(b[4] & 0x01, 1);
    ck_assert_uint_eq(st_be16(&b[6]), 16);
    ck_assert_uint_eq(st_be64(&b[8]), 4096);
    ck_assert_uint_eq(st_be32(&b[20]), 512);
    ck_assert_uint_eq(b[24], 0x0a);
    st_cmd_free(&c);

    /* DBD wins over LLBAA. */
    ck_assert_int_eq(spc_mode_sense10(&env, &c, 0x18, 0x1c, 0, 1000),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 8 + 12);
    ck_assert_uint_eq(c.t.buf[4], 0);
    ck_assert_uint_eq(st_be16(&c.t.buf[6]), 0);
    ck_assert_uint_eq(c.t.buf[8], 0x1c);
    st_cmd_free(&c);

    /* Truncated: MODE DATA LENGTH still counts everything. */
    ck_assert_int_eq(spc_mode_sense10(&env, &c, 0, 0x3f, 0, 4),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 4);
    ck_assert_uint_eq(st_be16(&c.t.buf[0]), 8 + 8 + 44 - 2);
    st_cmd_free(&c);

    /* Reserved bits of byte 1 (MODE SENSE(6) has no LLBAA). */
    spc_mode_sense6(&env, &c, 0x10, 0x08, 255);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    st_env_free(&env);
}
END_TEST

static Suite *
spc_suite(void)
{
    Suite *s = suite_create("scsi-spc");
    TCase *tc = tcase_create("spc");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_spc_test_unit_ready_is_good);
    tcase_add_test(tc, test_spc_inquiry_standard_fields);
    tcase_add_test(tc, test_spc_inquiry_truncates_to_allocation_length);
    tcase_add_test(tc, test_spc_inquiry_invalid_fields);
    tcase_add_test(tc, test_spc_vpd_supported_pages_and_serial);
    tcase_add_test(tc, test_spc_vpd_device_identification);
    tcase_add_loop_test(tc, test_spc_vpd_block_pages, 0, 2);
    tcase_add_test(tc, test_spc_report_luns_one_and_three);
    tcase_add_test(tc, test_spc_report_luns_truncates_to_allocation_length);
    tcase_add_test(tc, test_spc_request_sense_reports_no_sense);
    tcase_add_test(tc, test_spc_mode_sense6_caching_page_and_descriptor);
    tcase_add_test(tc, test_spc_mode_sense_all_pages_and_page_controls);
    tcase_add_test(tc, test_spc_mode_sense_write_protect_bit);
    tcase_add_test(tc, test_spc_mode_sense10_descriptors_and_truncation);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return st_main(spc_suite());
}
