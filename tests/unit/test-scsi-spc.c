/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SPC commands (server/scsi/scsi-spc.c): standard
 * INQUIRY data field by field, every VPD page's length and key fields,
 * allocation-length truncation, REPORT LUNS for 1 and 3 LUNs and each
 * SELECT REPORT, REQUEST SENSE, TEST UNIT READY, and MODE SENSE(6)/(10)
 * pages, block descriptors (short, long, none), the WP bit and every
 * page control value; the provisioning fields of VPD B0h/B2h by backend
 * capability; MODE SELECT(6)/(10) taking back what MODE SENSE gave and
 * refusing any change; REPORT SUPPORTED OPERATION CODES in each reporting
 * option (server/scsi/scsi-rsoc.c).  Against a memory-backend export,
 * through scsi-test-helpers.h.
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
    ck_assert_uint_eq(b[4] & 0x01, 0);                     /* WSNZ */
    ck_assert_uint_eq(b[5], SCSI_CAW_MAX_BLOCKS); /* COMPARE AND WRITE */
    /* UNMAP: 512 MiB in at most 256 descriptors; WRITE SAME: 32 MiB, at
     * most 65535 blocks. */
    ck_assert_uint_eq(st_be32(&b[20]), (512 * MiB) / bs);
    ck_assert_uint_le(st_be32(&b[20]), 1u << 20);
    ck_assert_uint_eq(st_be32(&b[24]), 256);
    ck_assert_uint_eq(st_be32(&b[28]), 0);                 /* granularity */
    ck_assert_uint_eq(st_be64(&b[36]), bs == 512 ? 65535 : 8192);
    st_cmd_free(&c);

    /* B1h: a non-rotating medium. */
    spc_vpd(&env, &c, 0xb1);
    ck_assert_uint_eq(st_be16(&c.t.buf[2]), 0x3c);
    ck_assert_uint_eq(st_be16(&c.t.buf[4]), 1);
    st_cmd_free(&c);

    /* B2h: the memory backend trims and zeroes: thin, LBPU, LBPWS,
     * LBPWS10, LBPRZ; no anchors, no provisioning group descriptor. */
    spc_vpd(&env, &c, 0xb2);
    ck_assert_uint_eq(st_be16(&c.t.buf[2]), 4);
    ck_assert_uint_eq(c.t.buf[4], 0);    /* threshold exponent */
    ck_assert_uint_eq(c.t.buf[5], 0xe4);
    ck_assert_uint_eq(c.t.buf[6], 0x02); /* provisioning type: thin */
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

/* B0h/B2h follow the export's capabilities and read-only. */
START_TEST(test_spc_vpd_provisioning_follows_capabilities)
{
    struct st_env env;
    struct st_cmd c;

    /* Trim without zero: UNMAP, but no LBPRZ and no WRITE SAME unmap. */
    st_env_init(&env, 8 * MiB, 512, false, 1);
    env.e.caps &= ~(unsigned)BACKEND_CAN_ZERO;
    spc_vpd(&env, &c, 0xb2);
    ck_assert_uint_eq(c.t.buf[5], 0x80);
    ck_assert_uint_eq(c.t.buf[6], 0x02);
    st_cmd_free(&c);
    spc_vpd(&env, &c, 0xb0);
    ck_assert_uint_eq(st_be32(&c.t.buf[20]), 1u << 20);
    st_cmd_free(&c);

    /* No trim: fully provisioned, no UNMAP limits; WRITE SAME still. */
    env.e.caps &= ~(unsigned)BACKEND_CAN_TRIM;
    spc_vpd(&env, &c, 0xb2);
    ck_assert_uint_eq(c.t.buf[5], 0);
    ck_assert_uint_eq(c.t.buf[6], 0);
    st_cmd_free(&c);
    spc_vpd(&env, &c, 0xb0);
    ck_assert_uint_eq(st_be32(&c.t.buf[20]), 0);
    ck_assert_uint_eq(st_be32(&c.t.buf[24]), 0);
    ck_assert_uint_eq(st_be64(&c.t.buf[36]), 65535);
    st_cmd_free(&c);
    st_env_free(&env);

    /* Read-only: unmaps nothing. */
    st_env_init(&env, 8 * MiB, 512, true, 1);
    spc_vpd(&env, &c, 0xb2);
    ck_assert_uint_eq(c.t.buf[5], 0);
    ck_assert_uint_eq(c.t.buf[6], 0);
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

/* --- MODE SELECT --------------------------------------------------------- */

static uint8_t
spc_mode_select(struct st_env *env, struct st_cmd *c, bool six, uint8_t b1,
                const uint8_t *data, uint32_t len)
{
    uint8_t cdb[10] = { 0 };

    cdb[0] = six ? SCSI_OP_MODE_SELECT_6 : SCSI_OP_MODE_SELECT_10;
    cdb[1] = b1;
    if (six) {
        cdb[4] = (uint8_t)len;
    } else {
        scsi_put_be16(&cdb[7], (uint16_t)len);
    }
    st_cmd_init(c, env, &env->lu[0], cdb, six ? 6 : 10);
    return st_run(env, c, data, len);
}

/* MODE SENSE's answer sent back is accepted; any change is refused. */
START_TEST(test_spc_mode_select_takes_back_what_mode_sense_gave)
{
    struct st_env env;
    struct st_cmd c;
    uint8_t p6[255], p10[255];
    uint32_t n6, n10;

    st_env_init(&env, 3 * MiB, 512, false, 1);
    /* MODE SENSE(6), all pages with the block descriptor. */
    ck_assert_int_eq(spc_mode_sense6(&env, &c, 0, 0x3f, 255),
                     SCSI_STATUS_GOOD);
    n6 = c.t.data_len;
    memcpy(p6, c.t.buf, n6);
    st_cmd_free(&c);
    p6[0] = 0; /* MODE DATA LENGTH is reserved in MODE SELECT */
    ck_assert_int_eq(spc_mode_select(&env, &c, true, 0x10, p6, n6),
                     SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_WRITE);
    ck_assert_uint_eq(c.t.xfer_len, n6);
    st_cmd_free(&c);
    /* The same through (10), long LBA descriptor included. */
    ck_assert_int_eq(spc_mode_sense10(&env, &c, 0x10, 0x3f, 0, 255),
                     SCSI_STATUS_GOOD);
    n10 = c.t.data_len;
    memcpy(p10, c.t.buf, n10);
    st_cmd_free(&c);
    ck_assert_int_eq(spc_mode_select(&env, &c, false, 0x10, p10, n10),
                     SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    /* A list of 0 bytes changes nothing either. */
    ck_assert_int_eq(spc_mode_select(&env, &c, true, 0x10, NULL, 0),
                     SCSI_STATUS_GOOD);
    ck_assert_int_eq(c.t.dir, SCSI_DIR_NONE);
    st_cmd_free(&c);
    /* Only the header, block count 0 ("no change"). */
    {
        uint8_t h[12] = { 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0x02, 0x00 };

        ck_assert_int_eq(spc_mode_select(&env, &c, true, 0x10, h, 12),
                         SCSI_STATUS_GOOD);
        st_cmd_free(&c);
        h[10] = 0x10; /* block length 4096: a change */
        spc_mode_select(&env, &c, true, 0x10, h, 12);
        st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                        SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
        st_cmd_free(&c);
    }

    /* Clearing WCE in the caching page (at 4 + 8 + 2). */
    ck_assert_uint_eq(p6[12], 0x08);
    p6[14] &= (uint8_t)~0x04;
    spc_mode_select(&env, &c, true, 0x10, p6, n6);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
    st_cmd_free(&c);
    p6[14] |= 0x04;
    /* A page we do not have; a subpage; a wrong page length. */
    p6[12] = 0x19;
    spc_mode_select(&env, &c, true, 0x10, p6, n6);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
    st_cmd_free(&c);
    p6[12] = 0x48;
    spc_mode_select(&env, &c, true, 0x10, p6, n6);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
    st_cmd_free(&c);
    p6[12] = 0x88; /* PS is reserved in MODE SELECT: ignored */
    ck_assert_int_eq(spc_mode_select(&env, &c, true, 0x10, p6, n6),
                     SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    /* A page cut short by the list's end. */
    spc_mode_select(&env, &c, true, 0x10, p6, 4 + 8 + 10);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
    st_cmd_free(&c);
    /* A block descriptor length past the list. */
    p6[3] = 200;
    spc_mode_select(&env, &c, true, 0x10, p6, n6);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_mode_select_cdb_errors)
{
    uint8_t h[8] = { 0 };
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    /* SP: no saved pages.  A reserved bit of byte 1. */
    spc_mode_select(&env, &c, true, 0x11, h, 4);
    ck_assert(!c.decoded);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    spc_mode_select(&env, &c, false, 0x12, h, 8);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_CDB);
    /* Shorter than the header: refused before any data moves. */
    spc_mode_select(&env, &c, true, 0x10, h, 3);
    ck_assert(!c.decoded);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
    spc_mode_select(&env, &c, false, 0x10, h, 7);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
    /* A medium type other than 0. */
    h[1] = 0x01;
    spc_mode_select(&env, &c, true, 0x10, h, 4);
    st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

/* --- REPORT SUPPORTED OPERATION CODES ------------------------------------ */

static uint8_t
spc_rsoc(struct st_env *env, struct st_cmd *c, uint8_t byte2, uint8_t op,
         uint16_t sa, uint32_t alloc)
{
    return ST_RUN(env, c, &env->lu[0], SCSI_OP_MAINTENANCE_IN, 0x0c, byte2, op,
                  (uint8_t)(sa >> 8), (uint8_t)sa, (uint8_t)(alloc >> 24),
                  (uint8_t)(alloc >> 16), (uint8_t)(alloc >> 8),
                  (uint8_t)alloc, 0, 0);
}

/* The descriptor of opcode/sa in an all-commands answer, or NULL. */
static const uint8_t *
spc_rsoc_find(const uint8_t *b, uint32_t dlen, uint8_t op, uint16_t sa)
{
    for (uint32_t off = 4; off < 4 + st_be32(b); off += dlen) {
        if (b[off] == op && st_be16(&b[off + 2]) == sa) {
            return &b[off];
        }
    }
    return NULL;
}

START_TEST(test_spc_rsoc_all_commands)
{
    struct st_env env;
    struct st_cmd c;
    const uint8_t *b, *d;
    uint32_t all;

    st_env_init(&env, MiB, 512, false, 1);
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x00, 0, 0, 4096), SCSI_STATUS_GOOD);
    b = c.t.buf;
    /* 38 commands without service actions, READ CAPACITY(16), GET LBA
     * STATUS, REPORT SUPPORTED OPERATION CODES and TASK MANAGEMENT
     * FUNCTIONS, the 4 + 7 of PERSISTENT RESERVE IN and OUT, and the 3 of
     * SANITIZE (OVERWRITE, BLOCK ERASE, EXIT FAILURE MODE) with. */
    all = st_be32(b);
    ck_assert_uint_eq(all, 57 * 8);
    ck_assert_uint_eq(c.t.data_len, 4 + all);
    d = spc_rsoc_find(b, 8, SCSI_OP_READ_12, 0);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d[5], 0);               /* no CTDP, no SERVACTV */
    ck_assert_uint_eq(st_be16(&d[6]), 12);    /* CDB length */
    d = spc_rsoc_find(b, 8, SCSI_OP_SERVICE_ACTION_IN_16, 0x12);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d[5], 0x01);            /* SERVACTV */
    ck_assert_uint_eq(st_be16(&d[6]), 16);
    ck_assert_ptr_nonnull(spc_rsoc_find(b, 8, SCSI_OP_SERVICE_ACTION_IN_16,
                                        0x10));
    ck_assert_ptr_nonnull(spc_rsoc_find(b, 8, SCSI_OP_MAINTENANCE_IN, 0x0c));
    ck_assert_ptr_nonnull(spc_rsoc_find(b, 8, SCSI_OP_UNMAP, 0));
    ck_assert_ptr_nonnull(spc_rsoc_find(b, 8, SCSI_OP_COMPARE_AND_WRITE, 0));
    ck_assert_ptr_nonnull(spc_rsoc_find(b, 8, SCSI_OP_RESERVE_6, 0));
    ck_assert_ptr_nonnull(spc_rsoc_find(b, 8, SCSI_OP_PERSISTENT_RESERVE_OUT,
                                        SCSI_PROUT_PREEMPT_AND_ABORT));
    ck_assert_ptr_null(spc_rsoc_find(b, 8, SCSI_OP_SEND_DIAGNOSTIC, 0));
    /* Every descriptor without SERVACTV has service action 0. */
    for (uint32_t off = 4; off < 4 + all; off += 8) {
        ck_assert(b[off + 5] & 0x01 || st_be16(&b[off + 2]) == 0);
    }
    st_cmd_free(&c);

    /* RCTD: 20 bytes each, CTDP, a timeouts descriptor of length 0Ah. */
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x80, 0, 0, 4096), SCSI_STATUS_GOOD);
    b = c.t.buf;
    ck_assert_uint_eq(st_be32(b), 57 * 20);
    for (uint32_t off = 4; off < 4 + st_be32(b); off += 20) {
        ck_assert_uint_eq(b[off + 5] & 0x02, 0x02);
        ck_assert_uint_eq(st_be16(&b[off + 8]), 0x0a);
    }
    st_cmd_free(&c);

    /* Truncated: the header still tells the whole length. */
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x00, 0, 0, 10), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 10);
    ck_assert_uint_eq(st_be32(c.t.buf), 57 * 8);
    st_cmd_free(&c);

    /* Without trim and block status: no UNMAP, no GET LBA STATUS, no
     * SANITIZE BLOCK ERASE. */
    env.e.caps &= ~(unsigned)(BACKEND_CAN_TRIM | BACKEND_CAN_BLOCK_STATUS);
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x00, 0, 0, 4096), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(st_be32(c.t.buf), 54 * 8);
    ck_assert_ptr_null(spc_rsoc_find(c.t.buf, 8, SCSI_OP_SANITIZE,
                                     SCSI_SANITIZE_BLOCK_ERASE));
    ck_assert_ptr_nonnull(spc_rsoc_find(c.t.buf, 8, SCSI_OP_SANITIZE,
                                        SCSI_SANITIZE_OVERWRITE));
    ck_assert_ptr_null(spc_rsoc_find(c.t.buf, 8, SCSI_OP_UNMAP, 0));
    ck_assert_ptr_null(spc_rsoc_find(c.t.buf, 8, SCSI_OP_SERVICE_ACTION_IN_16,
                                     0x12));
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_rsoc_one_command)
{
    struct st_env env;
    struct st_cmd c;
    const uint8_t *b;

    st_env_init(&env, MiB, 512, false, 1);
    /* 001b, READ(12): supported, its usage data with DPO and FUA. */
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x01, SCSI_OP_READ_12, 0, 512),
                     SCSI_STATUS_GOOD);
    b = c.t.buf;
    ck_assert_uint_eq(c.t.data_len, 4 + 12);
    ck_assert_uint_eq(b[1], 0x03);
    ck_assert_uint_eq(st_be16(&b[2]), 12);
    ck_assert_uint_eq(b[4], SCSI_OP_READ_12);
    ck_assert_uint_eq(b[5], 0x18);
    ck_assert_uint_eq(b[15], 0x00);           /* CONTROL */
    st_cmd_free(&c);
    /* With RCTD: CTDP and the timeouts descriptor after the usage. */
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x81, SCSI_OP_VERIFY_10, 0, 512),
                     SCSI_STATUS_GOOD);
    b = c.t.buf;
    ck_assert_uint_eq(c.t.data_len, 4 + 10 + 12);
    ck_assert_uint_eq(b[1], 0x83);
    ck_assert_uint_eq(b[5] & 0x10, 0x10);     /* DPO */
    ck_assert_uint_eq(st_be16(&b[14]), 0x0a);
    st_cmd_free(&c);
    /* Not supported: SUPPORT 001b and no usage data. */
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x01, SCSI_OP_SEND_DIAGNOSTIC, 0,
                              512), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 4);
    ck_assert_uint_eq(c.t.buf[1], 0x01);
    ck_assert_uint_eq(st_be16(&c.t.buf[2]), 0);
    st_cmd_free(&c);
    /* 010b with a service action: supported, and one that is not. */
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x02, SCSI_OP_SERVICE_ACTION_IN_16,
                              0x10, 512), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[1], 0x03);
    ck_assert_uint_eq(st_be16(&c.t.buf[2]), 16);
    ck_assert_uint_eq(c.t.buf[4], 0x9e);
    ck_assert_uint_eq(c.t.buf[5], 0x1f);
    st_cmd_free(&c);
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x02, SCSI_OP_SERVICE_ACTION_IN_16,
                              0x11, 512), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[1], 0x01);
    st_cmd_free(&c);
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x02, SCSI_OP_SERVICE_ACTION_IN_16,
                              0x110, 512), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[1], 0x01);
    st_cmd_free(&c);
    /* 011b: the service action counts only where the opcode has them. */
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x03, SCSI_OP_READ_10, 5, 512),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[1], 0x03);
    st_cmd_free(&c);
    ck_assert_int_eq(spc_rsoc(&env, &c, 0x03, SCSI_OP_MAINTENANCE_IN, 0x0c,
                              512), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[1], 0x03);
    st_cmd_free(&c);

    /* 001b for an opcode with service actions, 010b for one without,
     * reporting options past 011b, reserved bits: INVALID FIELD IN CDB. */
    spc_rsoc(&env, &c, 0x01, SCSI_OP_SERVICE_ACTION_IN_16, 0, 512);
    st_assert_invalid_field_at(&c.t, 2, 2);
    spc_rsoc(&env, &c, 0x01, SCSI_OP_PERSISTENT_RESERVE_IN, 0, 512);
    st_assert_invalid_field_at(&c.t, 2, 2);
    spc_rsoc(&env, &c, 0x02, SCSI_OP_READ_10, 0, 512);
    st_assert_invalid_field_at(&c.t, 2, 2);
    spc_rsoc(&env, &c, 0x04, 0, 0, 512);
    st_assert_invalid_field_at(&c.t, 2, 2);
    spc_rsoc(&env, &c, 0x08, 0, 0, 512);
    st_assert_invalid_field_at(&c.t, 2, 6);
    st_env_free(&env);
}
END_TEST

START_TEST(test_spc_report_supported_tmfs)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_MAINTENANCE_IN,
                            SCSI_MI_REPORT_SUPPORTED_TMFS, 0, 0, 0, 0, 0, 0,
                            0, 64, 0, 0), SCSI_STATUS_GOOD);
    /* ABORT TASK, ABORT TASK SET, CLEAR TASK SET, LUN RESET, TARGET
     * RESET: what the iSCSI front end completes. */
    ck_assert_uint_eq(c.t.data_len, 4);
    ck_assert_uint_eq(c.t.buf[0], 0xda);
    st_cmd_free(&c);
    /* REPD: the 16-byte extended format. */
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_MAINTENANCE_IN,
                            SCSI_MI_REPORT_SUPPORTED_TMFS, 0x80, 0, 0, 0, 0,
                            0, 0, 64, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, 16);
    ck_assert_uint_eq(c.t.buf[3], 0x0c);
    st_cmd_free(&c);
    /* Reserved bits, and an allocation length under 4. */
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_MAINTENANCE_IN,
           SCSI_MI_REPORT_SUPPORTED_TMFS, 0x01, 0, 0, 0, 0, 0, 0, 64, 0, 0);
    st_assert_invalid_field_at(&c.t, 2, 6);
    ST_RUN(&env, &c, &env.lu[0], SCSI_OP_MAINTENANCE_IN,
           SCSI_MI_REPORT_SUPPORTED_TMFS, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0);
    st_assert_invalid_field_at(&c.t, 6, 7);
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
    tcase_add_test(tc, test_spc_vpd_provisioning_follows_capabilities);
    tcase_add_test(tc, test_spc_mode_select_takes_back_what_mode_sense_gave);
    tcase_add_test(tc, test_spc_mode_select_cdb_errors);
    tcase_add_test(tc, test_spc_rsoc_all_commands);
    tcase_add_test(tc, test_spc_rsoc_one_command);
    tcase_add_test(tc, test_spc_report_supported_tmfs);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return st_main(spc_suite());
}
