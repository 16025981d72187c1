/* SPDX-License-Identifier: MIT */
/*
 * MD5 against the RFC 1321 appendix A.5 test suite, the same digests fed
 * in every split (a CHAP response hashes id, secret and challenge as three
 * updates), and a million-byte message that crosses the length-padding
 * block boundary many times.
 */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/md5.h"

static const struct {
    const char *msg;
    const char *hex;
} rfc1321_suite[] = {
    { "", "d41d8cd98f00b204e9800998ecf8427e" },
    { "a", "0cc175b9c0f1b6a831c399e269772661" },
    { "abc", "900150983cd24fb0d6963f7d28e17f72" },
    { "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
    { "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
    { "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
      "d174ab98d277d9f5a5611c2c9f419d9f" },
    { "1234567890123456789012345678901234567890"
      "1234567890123456789012345678901234567890",
      "57edf4a22be3c955ac49da2e2107b67a" },
};

static void
to_hex(const uint8_t d[MD5_DIGEST_LEN], char out[2 * MD5_DIGEST_LEN + 1])
{
    for (int i = 0; i < MD5_DIGEST_LEN; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

START_TEST(test_md5_rfc1321_suite)
{
    for (size_t i = 0; i < sizeof rfc1321_suite / sizeof rfc1321_suite[0];
         i++) {
        uint8_t d[MD5_DIGEST_LEN];
        char hex[2 * MD5_DIGEST_LEN + 1];

        md5_buffer(rfc1321_suite[i].msg, strlen(rfc1321_suite[i].msg), d);
        to_hex(d, hex);
        ck_assert_str_eq(hex, rfc1321_suite[i].hex);
    }
}
END_TEST

START_TEST(test_md5_same_digest_for_every_split)
{
    for (size_t i = 0; i < sizeof rfc1321_suite / sizeof rfc1321_suite[0];
         i++) {
        const char *m = rfc1321_suite[i].msg;
        size_t len = strlen(m);

        for (size_t cut1 = 0; cut1 <= len; cut1++) {
            for (size_t cut2 = cut1; cut2 <= len; cut2 += 7) {
                struct md5_ctx ctx;
                uint8_t d[MD5_DIGEST_LEN];
                char hex[2 * MD5_DIGEST_LEN + 1];

                md5_init(&ctx);
                md5_update(&ctx, m, cut1);
                md5_update(&ctx, NULL, 0);
                md5_update(&ctx, m + cut1, cut2 - cut1);
                md5_update(&ctx, m + cut2, len - cut2);
                md5_final(&ctx, d);
                to_hex(d, hex);
                ck_assert_str_eq(hex, rfc1321_suite[i].hex);
            }
        }
    }
}
END_TEST

START_TEST(test_md5_padding_boundaries_and_a_million_a)
{
    /* Lengths 55, 56 and 64 are where the padding needs a second block. */
    static const struct {
        size_t n;
        const char *hex;
    } as[] = {
        { 55, "ef1772b6dff9a122358552954ad0df65" },
        { 56, "3b0c8ac703f828b04c6c197006d17218" },
        { 63, "b06521f39153d618550606be297466d5" },
        { 64, "014842d480b571495a4a0363793f7367" },
        { 1000000, "7707d6ae4e027c70eea2a935c2296f21" },
    };
    char *buf = malloc(1000000);

    ck_assert_ptr_nonnull(buf);
    memset(buf, 'a', 1000000);
    for (size_t i = 0; i < sizeof as / sizeof as[0]; i++) {
        uint8_t d[MD5_DIGEST_LEN];
        char hex[2 * MD5_DIGEST_LEN + 1];

        md5_buffer(buf, as[i].n, d);
        to_hex(d, hex);
        ck_assert_str_eq(hex, as[i].hex);
    }
    free(buf);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("md5");
    TCase *tc = tcase_create("md5");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_md5_rfc1321_suite);
    tcase_add_test(tc, test_md5_same_digest_for_every_split);
    tcase_add_test(tc, test_md5_padding_boundaries_and_a_million_a);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
