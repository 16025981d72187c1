/* SPDX-License-Identifier: MIT */
/*
 * CRC32C against RFC 3720 appendix B.4's vectors and the usual check
 * value, and the hardware path against the table path over every length
 * and alignment a PDU can have (both must agree bit for bit: a digest
 * mismatch drops the initiator's connection).
 */
#include <config.h>

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi-digest.h"

START_TEST(test_crc32c_rfc3720_vectors)
{
    uint8_t buf[32];

    memset(buf, 0, sizeof buf);
    ck_assert_uint_eq(iscsi_digest_crc32c(0, buf, 32), 0x8a9136aa);
    ck_assert_uint_eq(iscsi_digest_crc32c_table(0, buf, 32), 0x8a9136aa);
    memset(buf, 0xff, sizeof buf);
    ck_assert_uint_eq(iscsi_digest_crc32c(0, buf, 32), 0x62a8ab43);
    ck_assert_uint_eq(iscsi_digest_crc32c_table(0, buf, 32), 0x62a8ab43);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)i;
    }
    ck_assert_uint_eq(iscsi_digest_crc32c(0, buf, 32), 0x46dd794e);
    ck_assert_uint_eq(iscsi_digest_crc32c_table(0, buf, 32), 0x46dd794e);
    for (int i = 0; i < 32; i++) {
        buf[i] = (uint8_t)(31 - i);
    }
    ck_assert_uint_eq(iscsi_digest_crc32c(0, buf, 32), 0x113fdb5c);
    ck_assert_uint_eq(iscsi_digest_crc32c_table(0, buf, 32), 0x113fdb5c);
}
END_TEST

START_TEST(test_crc32c_check_value_and_empty)
{
    ck_assert_uint_eq(iscsi_digest_crc32c(0, "123456789", 9), 0xe3069283);
    ck_assert_uint_eq(iscsi_digest_crc32c_table(0, "123456789", 9), 0xe3069283);
    ck_assert_uint_eq(iscsi_digest_crc32c(0, "", 0), 0);
}
END_TEST

START_TEST(test_crc32c_hw_matches_table_at_every_length_and_alignment)
{
    uint8_t *buf = malloc(4096 + 16);

    ck_assert_ptr_nonnull(buf);
    srand(12345);
    for (int i = 0; i < 4096 + 16; i++) {
        buf[i] = (uint8_t)rand();
    }
    for (size_t align = 0; align < 16; align++) {
        for (size_t len = 0; len <= 300; len++) {
            ck_assert_uint_eq(iscsi_digest_crc32c(0, buf + align, len),
                              iscsi_digest_crc32c_table(0, buf + align, len));
        }
        ck_assert_uint_eq(iscsi_digest_crc32c(0, buf + align, 4096),
                          iscsi_digest_crc32c_table(0, buf + align, 4096));
    }
    free(buf);
}
END_TEST

START_TEST(test_crc32c_continues_over_pieces)
{
    const char *s = "123456789";

    for (size_t cut = 0; cut <= 9; cut++) {
        uint32_t c = iscsi_digest_crc32c(0, s, cut);

        ck_assert_uint_eq(iscsi_digest_crc32c(c, s + cut, 9 - cut), 0xe3069283);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("iscsi-digest");
    TCase *tc = tcase_create("crc32c");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_crc32c_rfc3720_vectors);
    tcase_add_test(tc, test_crc32c_check_value_and_empty);
    tcase_add_test(tc, test_crc32c_hw_matches_table_at_every_length_and_alignment);
    tcase_add_test(tc, test_crc32c_continues_over_pieces);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
