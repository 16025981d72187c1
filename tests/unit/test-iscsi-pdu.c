/* SPDX-License-Identifier: MIT */
/*
 * PDU framing and building (server/iscsi/iscsi-pdu.c): what a sealed PDU
 * looks like on the wire (DataSegmentLength, padding, digests in the
 * byte order RFC 7143 uses), that the parser finds its end from any split
 * of the bytes, and that it tells a short read from a data segment over
 * the limit, a header digest error and a data digest error.
 */
#include <config.h>

#include <check.h>
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi-digest.h"
#include "iscsi/iscsi-pdu.h"

/* Flatten a sealed tx's iovecs into buf; returns the length. */
static size_t
flatten(const struct iscsi_tx *tx, uint8_t *buf, size_t cap)
{
    size_t n = 0;

    for (int i = 0; i < tx->iovcnt; i++) {
        ck_assert_uint_le(n + tx->iov[i].iov_len, cap);
        memcpy(buf + n, tx->iov[i].iov_base, tx->iov[i].iov_len);
        n += tx->iov[i].iov_len;
    }
    return n;
}

static struct iscsi_tx *
nop_in(void)
{
    struct iscsi_tx *tx = iscsi_pdu_new(ISCSI_OP_NOP_IN, ISCSI_FLAG_FINAL, 0);

    ck_assert_ptr_nonnull(tx);
    iscsi_put32(tx->hdr + ISCSI_BHS_ITT, 0x12345678);
    iscsi_put32(tx->hdr + ISCSI_BHS_TTT, ISCSI_RSVD_TAG);
    return tx;
}

static uint32_t
le32_at(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return le32toh(v);
}

START_TEST(test_seal_without_digests_pads_to_four_bytes)
{
    struct iscsi_tx *tx = nop_in();
    uint8_t wire[128];
    size_t n;

    iscsi_pdu_seal(tx, "hello", 5, false, false);
    ck_assert_int_eq(tx->iovcnt, 3);
    ck_assert_uint_eq(tx->iov[0].iov_len, ISCSI_BHS_LEN);
    ck_assert_uint_eq(tx->iov[1].iov_len, 5);
    ck_assert_uint_eq(tx->iov[2].iov_len, 3);
    n = flatten(tx, wire, sizeof wire);
    ck_assert_uint_eq(n, 56);
    ck_assert_uint_eq(iscsi_get24(wire + ISCSI_BHS_DSL), 5);
    ck_assert_mem_eq(wire + 48, "hello\0\0\0", 8);
    free(tx);
}
END_TEST

START_TEST(test_seal_aligned_data_has_no_padding_and_empty_has_no_segment)
{
    struct iscsi_tx *tx = nop_in();

    iscsi_pdu_seal(tx, "12345678", 8, false, false);
    ck_assert_int_eq(tx->iovcnt, 2);
    iscsi_pdu_seal(tx, NULL, 0, true, true);
    /* No data: no data digest either (RFC 7143 11.1). */
    ck_assert_int_eq(tx->iovcnt, 1);
    ck_assert_uint_eq(tx->iov[0].iov_len, ISCSI_BHS_LEN + 4);
    ck_assert_uint_eq(iscsi_get24(tx->hdr + ISCSI_BHS_DSL), 0);
    free(tx);
}
END_TEST

START_TEST(test_seal_digests_are_crc32c_little_endian_over_padding)
{
    struct iscsi_tx *tx = nop_in();
    uint8_t wire[128], padded[8] = "hello";
    size_t n;

    iscsi_pdu_seal(tx, "hello", 5, true, true);
    n = flatten(tx, wire, sizeof wire);
    ck_assert_uint_eq(n, 48 + 4 + 8 + 4);
    ck_assert_uint_eq(le32_at(wire + 48), iscsi_digest_crc32c(0, wire, 48));
    ck_assert_mem_eq(wire + 52, padded, 8);
    ck_assert_uint_eq(le32_at(wire + 60), iscsi_digest_crc32c(0, padded, 8));
    free(tx);
}
END_TEST

START_TEST(test_parse_round_trip_from_every_split)
{
    struct iscsi_tx *tx = nop_in();
    uint8_t wire[256], data[77];
    struct iscsi_pdu_frame f;
    size_t n;

    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)(i * 7 + 1);
    }
    for (int digests = 0; digests < 4; digests++) {
        bool hd = digests & 1, dd = digests & 2;

        iscsi_pdu_seal(tx, data, sizeof data, hd, dd);
        n = flatten(tx, wire, sizeof wire);
        for (size_t have = 0; have < n; have++) {
            ck_assert_int_eq(iscsi_pdu_parse(wire, have, hd, dd, 8192, &f),
                             -EAGAIN);
        }
        ck_assert_int_eq(iscsi_pdu_parse(wire, n, hd, dd, 8192, &f), 0);
        ck_assert_uint_eq(f.total, n);
        ck_assert_uint_eq(f.dlen, sizeof data);
        ck_assert_uint_eq(f.ahs_len, 0);
        ck_assert_mem_eq(f.data, data, sizeof data);
        /* Bytes of the next PDU behind it change nothing. */
        memset(wire + n, 0xee, 16);
        ck_assert_int_eq(iscsi_pdu_parse(wire, n + 16, hd, dd, 8192, &f), 0);
        ck_assert_uint_eq(f.total, n);
    }
    free(tx);
}
END_TEST

START_TEST(test_parse_ahs_is_covered_by_the_header_digest)
{
    uint8_t wire[48 + 8 + 4 + 4];
    struct iscsi_pdu_frame f;
    uint32_t d;

    memset(wire, 0, sizeof wire);
    wire[0] = ISCSI_OP_SCSI_CMD;
    wire[ISCSI_BHS_TOTAHSLEN] = 2; /* 8 bytes of AHS */
    iscsi_put24(wire + ISCSI_BHS_DSL, 4);
    memcpy(wire + 48, (const uint8_t[8]){ 0, 5, 1, 0, 0x41, 0x42, 0x43, 0x44 }, 8);
    d = htole32(iscsi_digest_crc32c(0, wire, 56));
    memcpy(wire + 56, &d, 4);
    memcpy(wire + 60, "data", 4);
    ck_assert_int_eq(iscsi_pdu_parse(wire, sizeof wire, true, false, 8192, &f),
                     0);
    ck_assert_uint_eq(f.ahs_len, 8);
    ck_assert_uint_eq(f.total, sizeof wire);
    ck_assert_mem_eq(f.data, "data", 4);
    wire[50] ^= 1; /* an AHS byte */
    ck_assert_int_eq(iscsi_pdu_parse(wire, sizeof wire, true, false, 8192, &f),
                     -EBADMSG);
}
END_TEST

START_TEST(test_parse_tells_digest_errors_apart)
{
    struct iscsi_tx *tx = nop_in();
    uint8_t wire[128], bad[128];
    struct iscsi_pdu_frame f;
    size_t n;

    iscsi_pdu_seal(tx, "ping data", 9, true, true);
    n = flatten(tx, wire, sizeof wire);

    memcpy(bad, wire, n);
    bad[ISCSI_BHS_ITT] ^= 0x80;
    ck_assert_int_eq(iscsi_pdu_parse(bad, n, true, true, 8192, &f), -EBADMSG);

    memcpy(bad, wire, n);
    bad[48 + 4 + 2] ^= 0x01; /* a data byte */
    ck_assert_int_eq(iscsi_pdu_parse(bad, n, true, true, 8192, &f), -EILSEQ);
    ck_assert_uint_eq(f.total, n); /* framed: the PDU can be skipped */

    memcpy(bad, wire, n);
    bad[48 + 4 + 11] = 1; /* a padding byte is digested too */
    ck_assert_int_eq(iscsi_pdu_parse(bad, n, true, true, 8192, &f), -EILSEQ);
    free(tx);
}
END_TEST

START_TEST(test_parse_refuses_segments_over_the_limit_from_the_header_alone)
{
    uint8_t bhs[ISCSI_BHS_LEN] = { ISCSI_OP_SCSI_CMD };
    struct iscsi_pdu_frame f;

    iscsi_put24(bhs + ISCSI_BHS_DSL, 8193);
    ck_assert_int_eq(iscsi_pdu_parse(bhs, sizeof bhs, false, false, 8192, &f),
                     -EMSGSIZE);
    iscsi_put24(bhs + ISCSI_BHS_DSL, 0xffffff);
    ck_assert_int_eq(iscsi_pdu_parse(bhs, sizeof bhs, true, true, 262144, &f),
                     -EMSGSIZE);
    iscsi_put24(bhs + ISCSI_BHS_DSL, 8192);
    ck_assert_int_eq(iscsi_pdu_parse(bhs, sizeof bhs, false, false, 8192, &f),
                     -EAGAIN);
    ck_assert_uint_eq(f.total, 48 + 8192);
}
END_TEST

START_TEST(test_max_len_holds_the_largest_pdu)
{
    uint32_t max = 262144;
    size_t cap = iscsi_pdu_max_len(max);
    uint8_t *wire = calloc(1, cap);
    struct iscsi_pdu_frame f;

    ck_assert_ptr_nonnull(wire);
    wire[ISCSI_BHS_TOTAHSLEN] = 255;
    iscsi_put24(wire + ISCSI_BHS_DSL, max - 1);
    /* Digests wrong on purpose: only the framing is checked here. */
    ck_assert_int_ne(iscsi_pdu_parse(wire, cap, true, true, max, &f), -EAGAIN);
    ck_assert_uint_le(f.total, cap);
    free(wire);
}
END_TEST

static Suite *
pdu_suite(void)
{
    Suite *s = suite_create("iscsi-pdu");
    TCase *tc = tcase_create("pdu");

    tcase_add_test(tc, test_seal_without_digests_pads_to_four_bytes);
    tcase_add_test(tc, test_seal_aligned_data_has_no_padding_and_empty_has_no_segment);
    tcase_add_test(tc, test_seal_digests_are_crc32c_little_endian_over_padding);
    tcase_add_test(tc, test_parse_round_trip_from_every_split);
    tcase_add_test(tc, test_parse_ahs_is_covered_by_the_header_digest);
    tcase_add_test(tc, test_parse_tells_digest_errors_apart);
    tcase_add_test(tc, test_parse_refuses_segments_over_the_limit_from_the_header_alone);
    tcase_add_test(tc, test_max_len_holds_the_largest_pdu);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(pdu_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
