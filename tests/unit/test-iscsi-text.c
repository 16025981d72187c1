/* SPDX-License-Identifier: MIT */
/*
 * The key=value\0 codec: what RFC 7143 6.1 allows parses, everything a
 * hostile initiator could send instead (no '=', no NUL, a long key, a bad
 * key character, a value over the hard limit) is refused at the bad pair
 * without reading past the segment, and built pairs round-trip.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi-text.h"

#define SEG(s) ((const uint8_t *)(s)), (sizeof(s) - 1)

START_TEST(test_text_parses_pairs_in_order)
{
    static const char seg[] = "InitiatorName=iqn.2026-01.org.x:i\0"
                              "MaxBurstLength=262144\0"
                              "X-com.example.k=\0";
    struct iscsi_text_pair p;
    size_t pos = 0;

    ck_assert_int_eq(iscsi_text_next(SEG(seg), &pos, &p), 1);
    ck_assert_str_eq(p.key, "InitiatorName");
    ck_assert_str_eq(p.value, "iqn.2026-01.org.x:i");
    ck_assert_uint_eq(p.value_len, strlen("iqn.2026-01.org.x:i"));
    ck_assert_int_eq(iscsi_text_next(SEG(seg), &pos, &p), 1);
    ck_assert_str_eq(p.key, "MaxBurstLength");
    ck_assert_str_eq(p.value, "262144");
    ck_assert_int_eq(iscsi_text_next(SEG(seg), &pos, &p), 1);
    ck_assert_str_eq(p.key, "X-com.example.k");
    ck_assert_str_eq(p.value, ""); /* an empty value is syntactically fine */
    ck_assert_uint_eq(p.value_len, 0);
    ck_assert_int_eq(iscsi_text_next(SEG(seg), &pos, &p), 0);
    ck_assert_uint_eq(pos, sizeof seg - 1);
    ck_assert_int_eq(iscsi_text_next(SEG(seg), &pos, &p), 0);
}
END_TEST

START_TEST(test_text_value_may_hold_equals_and_any_byte)
{
    static const char seg[] = "TargetAlias=a=b c,d\xc3\xa9\0";
    struct iscsi_text_pair p;
    size_t pos = 0;

    ck_assert_int_eq(iscsi_text_next(SEG(seg), &pos, &p), 1);
    ck_assert_str_eq(p.key, "TargetAlias");
    ck_assert_str_eq(p.value, "a=b c,d\xc3\xa9");
}
END_TEST

START_TEST(test_text_empty_segment_has_no_pairs)
{
    struct iscsi_text_pair p;
    size_t pos = 0;

    ck_assert_int_eq(iscsi_text_next((const uint8_t *)"", 0, &pos, &p), 0);
    /* An empty strbuf has no buffer at all. */
    ck_assert_int_eq(iscsi_text_next(NULL, 0, &pos, &p), 0);
}
END_TEST

START_TEST(test_text_key_characters)
{
    static const char ok[] = "a.b-c+d@e_F9#x=1\0";
    static const char *const bad[] = {
        "a b=1", "a/b=1", "a:b=1", "\xc3\xa9=1", "a\tb=1", "a,b=1",
    };
    struct iscsi_text_pair p;
    size_t pos = 0;

    ck_assert_int_eq(iscsi_text_next(SEG(ok), &pos, &p), 1);
    ck_assert_str_eq(p.key, "a.b-c+d@e_F9#x");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = strlen(bad[i]) + 1; /* with its NUL */

        pos = 0;
        ck_assert_int_eq(iscsi_text_next((const uint8_t *)bad[i], len, &pos,
                                         &p),
                         -EINVAL);
        ck_assert_uint_eq(pos, 0);
    }
}
END_TEST

START_TEST(test_text_key_length_limit_is_63)
{
    char buf[128];
    struct iscsi_text_pair p;
    size_t pos = 0;

    memset(buf, 'K', 63);
    memcpy(buf + 63, "=v", 3); /* with the NUL */
    ck_assert_int_eq(iscsi_text_next((const uint8_t *)buf, 66, &pos, &p), 1);
    ck_assert_uint_eq(strlen(p.key), 63);
    memset(buf, 'K', 64);
    memcpy(buf + 64, "=v", 3);
    pos = 0;
    ck_assert_int_eq(iscsi_text_next((const uint8_t *)buf, 67, &pos, &p),
                     -EINVAL);
}
END_TEST

START_TEST(test_text_value_length_limit_is_the_hard_limit)
{
    size_t klen = strlen("CHAP_C=");
    size_t len = klen + ISCSI_TEXT_MAX_VALUE + 1;
    uint8_t *buf = malloc(len + 1);
    struct iscsi_text_pair p;
    size_t pos = 0;

    ck_assert_ptr_nonnull(buf);
    memcpy(buf, "CHAP_C=", klen);
    memset(buf + klen, 'a', ISCSI_TEXT_MAX_VALUE);
    buf[len - 1] = '\0';
    ck_assert_int_eq(iscsi_text_next(buf, len, &pos, &p), 1);
    ck_assert_uint_eq(p.value_len, ISCSI_TEXT_MAX_VALUE);
    /* One more byte is over. */
    memset(buf + klen, 'a', ISCSI_TEXT_MAX_VALUE + 1);
    buf[len] = '\0';
    pos = 0;
    ck_assert_int_eq(iscsi_text_next(buf, len + 1, &pos, &p), -EINVAL);
    free(buf);
}
END_TEST

START_TEST(test_text_malformed_pairs_stop_at_the_bad_one)
{
    static const char no_eq[] = "A=1\0NoEquals\0";
    static const char empty_key[] = "A=1\0=v\0";
    static const char no_nul[] = "A=1\0B=2";
    static const char empty_pair[] = "A=1\0\0";
    static const char nul_in_key[] = "A=1\0B\0=2\0";
    struct iscsi_text_pair p;
    size_t pos;

#define EXPECT_BAD_SECOND(seg)                                                \
    pos = 0;                                                                  \
    ck_assert_int_eq(iscsi_text_next(SEG(seg), &pos, &p), 1);                 \
    ck_assert_int_eq(iscsi_text_next(SEG(seg), &pos, &p), -EINVAL);           \
    ck_assert_uint_eq(pos, 4)
    EXPECT_BAD_SECOND(no_eq);
    EXPECT_BAD_SECOND(empty_key);
    EXPECT_BAD_SECOND(no_nul);
    EXPECT_BAD_SECOND(empty_pair);
    EXPECT_BAD_SECOND(nul_in_key);
#undef EXPECT_BAD_SECOND
}
END_TEST

START_TEST(test_text_key_cut_by_segment_end)
{
    /* A key running to the end of the segment with no '=' or NUL. */
    static const char seg[] = "LongKeyWithoutEnd";
    struct iscsi_text_pair p;
    size_t pos = 0;

    ck_assert_int_eq(iscsi_text_next(SEG(seg), &pos, &p), -EINVAL);
    /* And one ending exactly at '='. */
    pos = 0;
    ck_assert_int_eq(iscsi_text_next((const uint8_t *)"Key=", 4, &pos, &p),
                     -EINVAL);
}
END_TEST

START_TEST(test_text_build_round_trips)
{
    struct strbuf b;
    struct iscsi_text_pair p;
    size_t pos = 0;

    strbuf_init(&b);
    iscsi_text_add(&b, "HeaderDigest", "None");
    iscsi_text_addf(&b, "MaxRecvDataSegmentLength", "%u", 262144u);
    iscsi_text_add(&b, "TargetAlias", "");
    ck_assert(!strbuf_failed(&b));
    ck_assert_uint_eq(b.len, sizeof("HeaderDigest=None\0"
                                    "MaxRecvDataSegmentLength=262144\0"
                                    "TargetAlias=\0") -
                                 1);
    ck_assert_int_eq(memcmp(b.s,
                            "HeaderDigest=None\0"
                            "MaxRecvDataSegmentLength=262144\0"
                            "TargetAlias=\0",
                            b.len),
                     0);
    ck_assert_int_eq(iscsi_text_next((const uint8_t *)b.s, b.len, &pos, &p), 1);
    ck_assert_str_eq(p.key, "HeaderDigest");
    ck_assert_int_eq(iscsi_text_next((const uint8_t *)b.s, b.len, &pos, &p), 1);
    ck_assert_str_eq(p.value, "262144");
    ck_assert_int_eq(iscsi_text_next((const uint8_t *)b.s, b.len, &pos, &p), 1);
    ck_assert_str_eq(p.key, "TargetAlias");
    ck_assert_int_eq(iscsi_text_next((const uint8_t *)b.s, b.len, &pos, &p), 0);
    strbuf_free(&b);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("iscsi-text");
    TCase *tc = tcase_create("text");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_text_parses_pairs_in_order);
    tcase_add_test(tc, test_text_value_may_hold_equals_and_any_byte);
    tcase_add_test(tc, test_text_empty_segment_has_no_pairs);
    tcase_add_test(tc, test_text_key_characters);
    tcase_add_test(tc, test_text_key_length_limit_is_63);
    tcase_add_test(tc, test_text_value_length_limit_is_the_hard_limit);
    tcase_add_test(tc, test_text_malformed_pairs_stop_at_the_bad_one);
    tcase_add_test(tc, test_text_key_cut_by_segment_end);
    tcase_add_test(tc, test_text_build_round_trips);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
