/* SPDX-License-Identifier: MIT */
/*
 * The security stage driven PDU by PDU through iscsi_auth_key and
 * iscsi_auth_end_pdu, as the login code drives it.  The CHAP arithmetic
 * is pinned by vectors computed outside polltgt (Python's hashlib):
 *
 *   MD5(0x01 || "abcdefghijkl" || 00 01 .. 0f)
 *       = 0ba5fab36926a6aab1f2e4aa6cf1158d  (base64 C6X6s2kmpqqx8uSqbPEVjQ==)
 *   MD5(0x42 || "targetsecret99" || 64 65 .. 77)
 *       = 0ac034532df1f5818bbee74aab3ad911
 *
 * The flows overwrite the random CHAP_I and challenge with the vector's
 * before the initiator's answer, so a full login is checked end to end
 * against those constants.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi-auth.h"
#include "iscsi/iscsi-text.h"

#define USER "iqn.2026-01.org.example:initiator"
#define SECRET "abcdefghijkl"
#define TUSER "iqn.2026-11.org.polltgt:target"
#define TSECRET "targetsecret99"
#define VECTOR_R "0ba5fab36926a6aab1f2e4aa6cf1158d"
#define VECTOR_R_B64 "C6X6s2kmpqqx8uSqbPEVjQ=="
#define MUTUAL_C "0x6465666768696a6b6c6d6e6f7071727374757677"
#define MUTUAL_R "0x0ac034532df1f5818bbee74aab3ad911"

static struct iscsi_auth auth;
static struct strbuf out;

static void
setup(void)
{
    strbuf_init(&out);
}

static void
teardown(void)
{
    iscsi_auth_free(&auth);
    strbuf_free(&out);
}

static void
reset_out(void)
{
    strbuf_free(&out);
    strbuf_init(&out);
}

static const char *
answer(const char *key)
{
    struct iscsi_text_pair p;
    size_t pos = 0;

    while (iscsi_text_next((const uint8_t *)out.s, out.len, &pos, &p) > 0) {
        if (strcmp(p.key, key) == 0) {
            return p.value;
        }
    }
    return NULL;
}

static int
key(const char *k, const char *v)
{
    return iscsi_auth_key(&auth, k, v, &out);
}

static void
hex(const uint8_t *p, size_t len, char *s)
{
    s += sprintf(s, "0x");
    for (size_t i = 0; i < len; i++) {
        s += sprintf(s, "%02x", p[i]);
    }
}

/* PDUs 1 and 2: AuthMethod, then CHAP_A; check the challenge we sent and
 * replace it with the vector's (CHAP_I 1, challenge 00..0f). */
static void
to_challenge(void)
{
    char want[2 + 2 * ISCSI_AUTH_CHALLENGE_LEN + 1];
    char id[8];

    reset_out();
    ck_assert_int_eq(key("AuthMethod", "None,CHAP"), 1);
    ck_assert_str_eq(answer("AuthMethod"), "CHAP");
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert(!iscsi_auth_done(&auth));
    reset_out();
    ck_assert_int_eq(key("CHAP_A", "7,5"), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert_str_eq(answer("CHAP_A"), "5");
    snprintf(id, sizeof id, "%u", (unsigned)auth.id);
    ck_assert_str_eq(answer("CHAP_I"), id);
    hex(auth.challenge, ISCSI_AUTH_CHALLENGE_LEN, want);
    ck_assert_str_eq(answer("CHAP_C"), want);
    ck_assert(!iscsi_auth_done(&auth));
    reset_out();
    auth.id = 1;
    for (int i = 0; i < ISCSI_AUTH_CHALLENGE_LEN; i++) {
        auth.challenge[i] = (uint8_t)i;
    }
}

START_TEST(test_auth_chap_md5_known_vector)
{
    uint8_t chal[16], r[16];
    char s[40];

    for (int i = 0; i < 16; i++) {
        chal[i] = (uint8_t)i;
    }
    iscsi_auth_chap_response(1, SECRET, chal, sizeof chal, r);
    hex(r, 16, s);
    ck_assert_str_eq(s, "0x" VECTOR_R);
}
END_TEST

START_TEST(test_auth_one_way_chap_hex_response)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert(iscsi_auth_done(&auth));
    ck_assert_uint_eq(out.len, 0); /* one-way: nothing to say */
}
END_TEST

START_TEST(test_auth_one_way_chap_upper_case_hex_and_key_order)
{
    char upper[40] = "0X" VECTOR_R;

    for (char *p = upper + 2; *p; p++) {
        if (*p >= 'a' && *p <= 'f') {
            *p = (char)(*p - 'a' + 'A');
        }
    }
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    to_challenge();
    ck_assert_int_eq(key("CHAP_R", upper), 1);
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert(iscsi_auth_done(&auth));
}
END_TEST

START_TEST(test_auth_one_way_chap_base64_response)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(key("CHAP_R", "0b" VECTOR_R_B64), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert(iscsi_auth_done(&auth));
}
END_TEST

START_TEST(test_auth_base64_without_padding_and_malformed)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(key("CHAP_R", "0BC6X6s2kmpqqx8uSqbPEVjQ"), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert(iscsi_auth_done(&auth));
    iscsi_auth_free(&auth);

    static const char *const bad[] = {
        "0bC6X6s2kmpqqx8uSqbPEVjQ=A=", /* data after padding */
        "0bC6X6s2km!qqx8uSqbPEVjQ==",  /* not base64 */
        "0bC6X6s2kmpqqx8uSqbPEVjQ===", /* too much padding */
        "0b",                          /* empty */
        "0bC",                         /* a lone sextet */
        "0x",                          /* empty hex */
        "0xzz",                        /* not hex */
        "1" VECTOR_R,                  /* no 0x or 0b prefix */
        "",                            /* nothing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
        to_challenge();
        ck_assert_msg(key("CHAP_R", bad[i]) == -EINVAL, "CHAP_R=%s", bad[i]);
        iscsi_auth_free(&auth);
    }
}
END_TEST

START_TEST(test_auth_mutual_chap_answers_with_target_credentials)
{
    iscsi_auth_init(&auth, USER, SECRET, TUSER, TSECRET);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), 1);
    ck_assert_int_eq(key("CHAP_I", "0x42"), 1);
    ck_assert_int_eq(key("CHAP_C", MUTUAL_C), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert(iscsi_auth_done(&auth));
    ck_assert_str_eq(answer("CHAP_N"), TUSER);
    ck_assert_str_eq(answer("CHAP_R"), MUTUAL_R);
}
END_TEST

START_TEST(test_auth_mutual_decimal_id_and_odd_hex_challenge)
{
    static const uint8_t chal[2] = { 0x01, 0x23 };
    uint8_t r[16];
    char want[40];

    iscsi_auth_chap_response(66, TSECRET, chal, sizeof chal, r);
    hex(r, 16, want);
    iscsi_auth_init(&auth, USER, SECRET, TUSER, TSECRET);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), 1);
    ck_assert_int_eq(key("CHAP_I", "66"), 1);
    ck_assert_int_eq(key("CHAP_C", "0x123"), 1); /* odd: leading 0 nibble */
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert_str_eq(answer("CHAP_R"), want);
}
END_TEST

START_TEST(test_auth_mutual_without_target_credentials_fails)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), 1);
    ck_assert_int_eq(key("CHAP_I", "7"), 1);
    ck_assert_int_eq(key("CHAP_C", MUTUAL_C), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EACCES);
    ck_assert(!iscsi_auth_done(&auth));
    ck_assert_ptr_null(answer("CHAP_R"));
}
END_TEST

START_TEST(test_auth_reflected_challenge_is_refused)
{
    iscsi_auth_init(&auth, USER, SECRET, TUSER, TSECRET);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), 1);
    ck_assert_int_eq(key("CHAP_I", "1"), 1);
    ck_assert_int_eq(key("CHAP_C", "0x000102030405060708090a0b0c0d0e0f"), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EACCES);
    ck_assert(!iscsi_auth_done(&auth));
    ck_assert_ptr_null(answer("CHAP_R"));
}
END_TEST

START_TEST(test_auth_mutual_is_not_answered_for_a_wrong_response)
{
    /* No oracle: a bad initiator response gets no CHAP_R of ours. */
    iscsi_auth_init(&auth, USER, "wrongsecret!", TUSER, TSECRET);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), 1);
    ck_assert_int_eq(key("CHAP_I", "0x42"), 1);
    ck_assert_int_eq(key("CHAP_C", MUTUAL_C), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EACCES);
    ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(test_auth_wrong_secret_fails)
{
    iscsi_auth_init(&auth, USER, "abcdefghijkm", NULL, NULL);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EACCES);
    ck_assert(!iscsi_auth_done(&auth));
    ck_assert_int_eq(auth.state, ISCSI_AUTH_FAILED);
    /* And stays failed. */
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EACCES);
}
END_TEST

START_TEST(test_auth_wrong_name_fails)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER "x"), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EACCES);
    ck_assert(!iscsi_auth_done(&auth));
}
END_TEST

START_TEST(test_auth_response_of_wrong_length_fails)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    to_challenge();
    /* 15 bytes. */
    ck_assert_int_eq(key("CHAP_R", "0x0ba5fab36926a6aab1f2e4aa6cf115"),
                     -EACCES);
    iscsi_auth_free(&auth);
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    to_challenge();
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R "00"), -EACCES);
}
END_TEST

START_TEST(test_auth_chap_r_before_challenge_is_an_error)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), -EINVAL);
    ck_assert_int_eq(key("CHAP_N", USER), -EINVAL);
    ck_assert_int_eq(key("AuthMethod", "CHAP"), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), -EINVAL); /* before A */
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), -EINVAL);
}
END_TEST

START_TEST(test_auth_missing_chap_a_after_method_is_an_error)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    ck_assert_int_eq(key("AuthMethod", "CHAP"), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EINVAL);
}
END_TEST

START_TEST(test_auth_missing_response_after_challenge_is_an_error)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EINVAL);
    iscsi_auth_free(&auth);
    /* CHAP_I without CHAP_C: half a mutual request. */
    iscsi_auth_init(&auth, USER, SECRET, TUSER, TSECRET);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), 1);
    ck_assert_int_eq(key("CHAP_I", "3"), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EINVAL);
}
END_TEST

START_TEST(test_auth_response_is_accepted_once)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    to_challenge();
    ck_assert_int_eq(key("CHAP_N", USER), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), 1);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), -EINVAL); /* twice */
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert(iscsi_auth_done(&auth));
    /* The challenge is spent: a replay is out of order. */
    ck_assert_int_eq(key("CHAP_N", USER), -EINVAL);
    ck_assert_int_eq(key("CHAP_R", "0x" VECTOR_R), -EINVAL);
    ck_assert_int_eq(key("AuthMethod", "CHAP"), -EINVAL);
}
END_TEST

START_TEST(test_auth_bad_chap_i_and_chap_c)
{
    char *big = malloc(2 + 2 * 1025 + 1);

    ck_assert_ptr_nonnull(big);
    iscsi_auth_init(&auth, USER, SECRET, TUSER, TSECRET);
    to_challenge();
    ck_assert_int_eq(key("CHAP_I", "256"), -EINVAL);
    ck_assert_int_eq(key("CHAP_I", "x1"), -EINVAL);
    ck_assert_int_eq(key("CHAP_C", "0x"), -EINVAL);
    /* 1024 bytes is the limit; 1025 is over. */
    strcpy(big, "0x");
    memset(big + 2, 'a', 2 * 1025);
    big[2 + 2 * 1025] = '\0';
    ck_assert_int_eq(key("CHAP_C", big), -EINVAL);
    big[2 + 2 * 1024] = '\0';
    ck_assert_int_eq(key("CHAP_C", big), 1);
    ck_assert_uint_eq(auth.mutual_challenge_len, 1024);
    ck_assert_int_eq(key("CHAP_C", big), -EINVAL); /* twice */
    free(big);
}
END_TEST

START_TEST(test_auth_none_required_chap_offered)
{
    iscsi_auth_init(&auth, NULL, NULL, NULL, NULL);
    ck_assert(iscsi_auth_done(&auth)); /* may skip the security stage */
    ck_assert_int_eq(key("AuthMethod", "CHAP"), -EACCES);
    ck_assert_str_eq(answer("AuthMethod"), "Reject");
    ck_assert(!iscsi_auth_done(&auth));
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EACCES);
    iscsi_auth_free(&auth);

    reset_out();
    iscsi_auth_init(&auth, NULL, NULL, NULL, NULL);
    ck_assert_int_eq(key("AuthMethod", "CHAP,None"), 1);
    ck_assert_str_eq(answer("AuthMethod"), "None");
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert(iscsi_auth_done(&auth));
    ck_assert(!auth.chap);
}
END_TEST

START_TEST(test_auth_chap_required_none_offered)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    ck_assert(!iscsi_auth_done(&auth));
    ck_assert_int_eq(key("AuthMethod", "None"), -EACCES);
    ck_assert_str_eq(answer("AuthMethod"), "Reject");
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EACCES);
    ck_assert(!iscsi_auth_done(&auth));
}
END_TEST

START_TEST(test_auth_chap_a_without_md5_fails)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    ck_assert_int_eq(key("AuthMethod", "CHAP"), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    reset_out();
    ck_assert_int_eq(key("CHAP_A", "6,7"), -EACCES);
    ck_assert_str_eq(answer("CHAP_A"), "Reject");
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), -EACCES);
}
END_TEST

START_TEST(test_auth_method_and_algorithm_in_one_pdu)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    ck_assert_int_eq(key("AuthMethod", "CHAP"), 1);
    ck_assert_int_eq(key("CHAP_A", "5"), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert_str_eq(answer("AuthMethod"), "CHAP");
    ck_assert_str_eq(answer("CHAP_A"), "5");
    ck_assert_ptr_nonnull(answer("CHAP_C"));
    ck_assert_int_eq(auth.state, ISCSI_AUTH_WAIT_NR);
}
END_TEST

START_TEST(test_auth_other_keys_are_not_security_keys)
{
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    ck_assert_int_eq(key("MaxBurstLength", "512"), 0);
    ck_assert_int_eq(key("InitiatorName", USER), 0);
    ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(test_auth_challenges_differ)
{
    uint8_t first[ISCSI_AUTH_CHALLENGE_LEN];

    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    ck_assert_int_eq(key("AuthMethod", "CHAP"), 1);
    ck_assert_int_eq(key("CHAP_A", "5"), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    memcpy(first, auth.challenge, sizeof first);
    iscsi_auth_free(&auth);
    iscsi_auth_init(&auth, USER, SECRET, NULL, NULL);
    ck_assert_int_eq(key("AuthMethod", "CHAP"), 1);
    ck_assert_int_eq(key("CHAP_A", "5"), 1);
    ck_assert_int_eq(iscsi_auth_end_pdu(&auth, &out), 0);
    ck_assert(memcmp(first, auth.challenge, sizeof first) != 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("iscsi-auth");
    TCase *tc = tcase_create("auth");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_auth_chap_md5_known_vector);
    tcase_add_test(tc, test_auth_one_way_chap_hex_response);
    tcase_add_test(tc, test_auth_one_way_chap_upper_case_hex_and_key_order);
    tcase_add_test(tc, test_auth_one_way_chap_base64_response);
    tcase_add_test(tc, test_auth_base64_without_padding_and_malformed);
    tcase_add_test(tc, test_auth_mutual_chap_answers_with_target_credentials);
    tcase_add_test(tc, test_auth_mutual_decimal_id_and_odd_hex_challenge);
    tcase_add_test(tc, test_auth_mutual_without_target_credentials_fails);
    tcase_add_test(tc, test_auth_reflected_challenge_is_refused);
    tcase_add_test(tc, test_auth_mutual_is_not_answered_for_a_wrong_response);
    tcase_add_test(tc, test_auth_wrong_secret_fails);
    tcase_add_test(tc, test_auth_wrong_name_fails);
    tcase_add_test(tc, test_auth_response_of_wrong_length_fails);
    tcase_add_test(tc, test_auth_chap_r_before_challenge_is_an_error);
    tcase_add_test(tc, test_auth_missing_chap_a_after_method_is_an_error);
    tcase_add_test(tc, test_auth_missing_response_after_challenge_is_an_error);
    tcase_add_test(tc, test_auth_response_is_accepted_once);
    tcase_add_test(tc, test_auth_bad_chap_i_and_chap_c);
    tcase_add_test(tc, test_auth_none_required_chap_offered);
    tcase_add_test(tc, test_auth_chap_required_none_offered);
    tcase_add_test(tc, test_auth_chap_a_without_md5_fails);
    tcase_add_test(tc, test_auth_method_and_algorithm_in_one_pdu);
    tcase_add_test(tc, test_auth_other_keys_are_not_security_keys);
    tcase_add_test(tc, test_auth_challenges_differ);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
