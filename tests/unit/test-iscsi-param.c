/* SPDX-License-Identifier: MIT */
/*
 * Operational negotiation, key by key: each result function (AND, OR,
 * min, max, list, declaration) against the target's [iscsi] values, the
 * RFC 7143 6.2 answers (Reject for garbage and out-of-range values,
 * NotUnderstood for unknown and X- keys, Irrelevant in Discovery), the
 * initiator errors that fail the login (a key twice, a key in the wrong
 * stage, a target-only key), FirstBurstLength <= MaxBurstLength, and what
 * iscsi_param_finish declares and offers.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi-param.h"
#include "iscsi/iscsi-text.h"

static struct config cfg;
static struct iscsi_param_neg neg;
static struct strbuf out;
static const char *why;

static void
setup(void)
{
    memset(&cfg, 0, sizeof cfg);
    cfg.iscsi_max_recv_data_segment_length = 256 << 10;
    cfg.iscsi_max_burst_length = 1 << 20;
    cfg.iscsi_first_burst_length = 256 << 10;
    cfg.iscsi_max_outstanding_r2t = 4;
    cfg.iscsi_immediate_data = true;
    cfg.iscsi_initial_r2t = false;
    cfg.iscsi_header_digest = (char *)"None,CRC32C";
    cfg.iscsi_data_digest = (char *)"None,CRC32C";
    iscsi_param_init(&neg, &cfg);
    strbuf_init(&out);
    why = NULL;
}

static void
teardown(void)
{
    strbuf_free(&out);
}

/* One key in the operational stage; the answer is out's only pair. */
static int
op(const char *key, const char *value)
{
    strbuf_free(&out);
    strbuf_init(&out);
    return iscsi_param_key(&neg, ISCSI_PARAM_OPERATIONAL, key, value, &out,
                           &why);
}

static int
in_stage(enum iscsi_param_stage stage, const char *key, const char *value)
{
    strbuf_free(&out);
    strbuf_init(&out);
    return iscsi_param_key(&neg, stage, key, value, &out, &why);
}

/* The value out carries for key, or NULL. */
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

static size_t
npairs(void)
{
    struct iscsi_text_pair p;
    size_t pos = 0, n = 0;

    while (iscsi_text_next((const uint8_t *)out.s, out.len, &pos, &p) > 0) {
        n++;
    }
    return n;
}

#define EXPECT(key, value, ans)                                               \
    do {                                                                      \
        ck_assert_int_eq(op(key, value), 1);                                  \
        ck_assert_ptr_nonnull(answer(key));                                   \
        ck_assert_str_eq(answer(key), ans);                                   \
    } while (0)

START_TEST(test_param_defaults_are_the_rfc_defaults)
{
    ck_assert(!neg.set.header_digest);
    ck_assert(!neg.set.data_digest);
    ck_assert_uint_eq(neg.set.max_recv_dsl, 8192);
    ck_assert_uint_eq(neg.set.max_xmit_dsl, 8192);
    ck_assert_uint_eq(neg.set.max_burst_length, 262144);
    ck_assert_uint_eq(neg.set.first_burst_length, 65536);
    ck_assert_uint_eq(neg.set.max_outstanding_r2t, 1);
    ck_assert_uint_eq(neg.set.max_connections, 1);
    ck_assert_uint_eq(neg.set.default_time2wait, 2);
    ck_assert_uint_eq(neg.set.default_time2retain, 20);
    ck_assert_uint_eq(neg.set.error_recovery_level, 0);
    ck_assert(neg.set.initial_r2t);
    ck_assert(neg.set.immediate_data);
    ck_assert(neg.set.data_pdu_in_order);
    ck_assert(neg.set.data_sequence_in_order);
    ck_assert(!neg.set.discovery);
}
END_TEST

START_TEST(test_param_digest_first_of_initiators_list_we_accept)
{
    EXPECT("HeaderDigest", "CRC32C,None", "CRC32C");
    ck_assert(neg.set.header_digest);
    EXPECT("DataDigest", "None,CRC32C", "None");
    ck_assert(!neg.set.data_digest);
}
END_TEST

START_TEST(test_param_digest_target_preference_limits_choice)
{
    cfg.iscsi_header_digest = (char *)"None";
    cfg.iscsi_data_digest = (char *)"crc32c"; /* any case in [iscsi] */
    EXPECT("HeaderDigest", "CRC32C,None", "None");
    ck_assert(!neg.set.header_digest);
    EXPECT("DataDigest", "None,CRC32C", "CRC32C");
    ck_assert(neg.set.data_digest);
}
END_TEST

START_TEST(test_param_digest_no_common_value)
{
    /* We accept None: Reject, and the session keeps None. */
    cfg.iscsi_header_digest = (char *)"None";
    EXPECT("HeaderDigest", "CRC32C,Y-com.example.x", "Reject");
    ck_assert(!neg.set.header_digest);
    /* We require CRC32C: running with None is not an option. */
    cfg.iscsi_data_digest = (char *)"CRC32C";
    ck_assert_int_eq(op("DataDigest", "None"), -EINVAL);
    ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(test_param_digest_malformed_list_is_rejected)
{
    EXPECT("HeaderDigest", "CRC32C,,None", "Reject");
    EXPECT("DataDigest", "", "Reject");
    ck_assert(!neg.set.header_digest);
}
END_TEST

START_TEST(test_param_max_connections_is_one)
{
    EXPECT("MaxConnections", "8", "1");
    ck_assert_uint_eq(neg.set.max_connections, 1);
}
END_TEST

START_TEST(test_param_initial_r2t_is_or)
{
    EXPECT("InitialR2T", "No", "No"); /* we offer No: No OR No */
    ck_assert(!neg.set.initial_r2t);
    iscsi_param_init(&neg, &cfg);
    EXPECT("InitialR2T", "Yes", "Yes");
    ck_assert(neg.set.initial_r2t);
    cfg.iscsi_initial_r2t = true;
    iscsi_param_init(&neg, &cfg);
    EXPECT("InitialR2T", "No", "Yes"); /* we insist */
    ck_assert(neg.set.initial_r2t);
}
END_TEST

START_TEST(test_param_immediate_data_is_and)
{
    EXPECT("ImmediateData", "Yes", "Yes");
    ck_assert(neg.set.immediate_data);
    iscsi_param_init(&neg, &cfg);
    EXPECT("ImmediateData", "No", "No");
    ck_assert(!neg.set.immediate_data);
    cfg.iscsi_immediate_data = false;
    iscsi_param_init(&neg, &cfg);
    EXPECT("ImmediateData", "Yes", "No");
    ck_assert(!neg.set.immediate_data);
}
END_TEST

START_TEST(test_param_booleans_must_be_yes_or_no)
{
    EXPECT("ImmediateData", "yes", "Reject");
    EXPECT("InitialR2T", "1", "Reject");
    EXPECT("DataPDUInOrder", "", "Reject");
    ck_assert(neg.set.immediate_data); /* defaults kept */
    ck_assert(neg.set.initial_r2t);
}
END_TEST

START_TEST(test_param_in_order_keys_stay_yes)
{
    EXPECT("DataPDUInOrder", "No", "Yes");
    EXPECT("DataSequenceInOrder", "No", "Yes");
    ck_assert(neg.set.data_pdu_in_order);
    ck_assert(neg.set.data_sequence_in_order);
}
END_TEST

START_TEST(test_param_mrdsl_is_declared_both_ways)
{
    ck_assert_int_eq(op("MaxRecvDataSegmentLength", "65536"), 1);
    ck_assert_uint_eq(neg.set.max_xmit_dsl, 65536);
    /* Our own declaration answers it, from [iscsi]. */
    ck_assert_str_eq(answer("MaxRecvDataSegmentLength"), "262144");
    ck_assert_uint_eq(neg.set.max_recv_dsl, 262144);
    /* finish does not declare it a second time. */
    strbuf_free(&out);
    strbuf_init(&out);
    iscsi_param_finish(&neg, &out);
    ck_assert_ptr_null(answer("MaxRecvDataSegmentLength"));
}
END_TEST

START_TEST(test_param_mrdsl_accepts_hex_and_fails_out_of_range)
{
    ck_assert_int_eq(op("MaxRecvDataSegmentLength", "0x2000"), 1);
    ck_assert_uint_eq(neg.set.max_xmit_dsl, 8192);
    iscsi_param_init(&neg, &cfg);
    ck_assert_int_eq(op("MaxRecvDataSegmentLength", "511"), -EINVAL);
    iscsi_param_init(&neg, &cfg);
    ck_assert_int_eq(op("MaxRecvDataSegmentLength", "16777216"), -EINVAL);
    iscsi_param_init(&neg, &cfg);
    ck_assert_int_eq(op("MaxRecvDataSegmentLength", "16777215"), 1);
    ck_assert_uint_eq(neg.set.max_xmit_dsl, 16777215);
    iscsi_param_init(&neg, &cfg);
    ck_assert_int_eq(op("MaxRecvDataSegmentLength", "lots"), -EINVAL);
}
END_TEST

START_TEST(test_param_max_burst_is_min_and_range_checked)
{
    EXPECT("MaxBurstLength", "16776192", "1048576");
    ck_assert_uint_eq(neg.set.max_burst_length, 1 << 20);
    iscsi_param_init(&neg, &cfg);
    EXPECT("MaxBurstLength", "262144", "262144");
    ck_assert_uint_eq(neg.set.max_burst_length, 262144);
    iscsi_param_init(&neg, &cfg);
    EXPECT("MaxBurstLength", "0x40000", "262144");
    iscsi_param_init(&neg, &cfg);
    EXPECT("MaxBurstLength", "511", "Reject");
    ck_assert_uint_eq(neg.set.max_burst_length, 262144); /* default kept */
    iscsi_param_init(&neg, &cfg);
    EXPECT("MaxBurstLength", "16777216", "Reject");
    iscsi_param_init(&neg, &cfg);
    EXPECT("MaxBurstLength", "-1", "Reject");
    iscsi_param_init(&neg, &cfg);
    EXPECT("MaxBurstLength", "99999999999999999999999", "Reject");
    iscsi_param_init(&neg, &cfg);
    EXPECT("MaxBurstLength", "0x", "Reject");
    iscsi_param_init(&neg, &cfg);
    EXPECT("MaxBurstLength", "12ab", "Reject");
}
END_TEST

START_TEST(test_param_first_burst_never_exceeds_max_burst)
{
    /* MaxBurstLength first: FirstBurstLength is bounded by the result. */
    EXPECT("MaxBurstLength", "131072", "131072");
    EXPECT("FirstBurstLength", "262144", "131072");
    ck_assert_uint_eq(neg.set.first_burst_length, 131072);
    /* FirstBurstLength first: bounded by our own limits. */
    iscsi_param_init(&neg, &cfg);
    EXPECT("FirstBurstLength", "1048576", "262144");
    EXPECT("MaxBurstLength", "1048576", "1048576");
    ck_assert_uint_eq(neg.set.first_burst_length, 262144);
    /* A [iscsi] first-burst above max-burst is still capped. */
    cfg.iscsi_first_burst_length = 4 << 20;
    iscsi_param_init(&neg, &cfg);
    EXPECT("FirstBurstLength", "16777215", "1048576");
    /* An initiator offering First > Max: finish enforces the rule. */
    cfg.iscsi_first_burst_length = 256 << 10;
    iscsi_param_init(&neg, &cfg);
    EXPECT("FirstBurstLength", "65536", "65536");
    EXPECT("MaxBurstLength", "4096", "4096");
    iscsi_param_finish(&neg, &out);
    ck_assert_uint_le(neg.set.first_burst_length, neg.set.max_burst_length);
    EXPECT("ErrorRecoveryLevel", "0", "0");
    iscsi_param_init(&neg, &cfg);
    EXPECT("FirstBurstLength", "100", "Reject");
}
END_TEST

START_TEST(test_param_time2wait_is_max_time2retain_is_min)
{
    EXPECT("DefaultTime2Wait", "0", "2");
    ck_assert_uint_eq(neg.set.default_time2wait, 2);
    iscsi_param_init(&neg, &cfg);
    EXPECT("DefaultTime2Wait", "10", "10");
    ck_assert_uint_eq(neg.set.default_time2wait, 10);
    EXPECT("DefaultTime2Retain", "20", "0");
    ck_assert_uint_eq(neg.set.default_time2retain, 0);
    iscsi_param_init(&neg, &cfg);
    EXPECT("DefaultTime2Wait", "3601", "Reject");
    EXPECT("DefaultTime2Retain", "3601", "Reject");
    ck_assert_uint_eq(neg.set.default_time2retain, 20);
}
END_TEST

START_TEST(test_param_max_outstanding_r2t_is_min_of_config)
{
    EXPECT("MaxOutstandingR2T", "16", "4");
    ck_assert_uint_eq(neg.set.max_outstanding_r2t, 4);
    iscsi_param_init(&neg, &cfg);
    EXPECT("MaxOutstandingR2T", "1", "1");
    iscsi_param_init(&neg, &cfg);
    EXPECT("MaxOutstandingR2T", "0", "Reject");
    iscsi_param_init(&neg, &cfg);
    EXPECT("MaxOutstandingR2T", "65536", "Reject");
}
END_TEST

START_TEST(test_param_error_recovery_level_is_zero)
{
    EXPECT("ErrorRecoveryLevel", "2", "0");
    ck_assert_uint_eq(neg.set.error_recovery_level, 0);
    iscsi_param_init(&neg, &cfg);
    EXPECT("ErrorRecoveryLevel", "3", "Reject");
}
END_TEST

START_TEST(test_param_protocol_level_and_task_reporting)
{
    EXPECT("iSCSIProtocolLevel", "2", "1");
    ck_assert_uint_eq(neg.set.protocol_level, 1);
    iscsi_param_init(&neg, &cfg);
    EXPECT("iSCSIProtocolLevel", "0", "0");
    iscsi_param_init(&neg, &cfg);
    EXPECT("iSCSIProtocolLevel", "32", "Reject");
    EXPECT("TaskReporting", "ResponseFence,RFC3720", "RFC3720");
    iscsi_param_init(&neg, &cfg);
    EXPECT("TaskReporting", "FastAbort", "Reject");
}
END_TEST

START_TEST(test_param_obsolete_markers)
{
    /* What open-iscsi sends: No keeps RFC 3720 initiators going. */
    EXPECT("OFMarker", "No", "No");
    EXPECT("IFMarker", "Yes", "No");
    /* RFC 7143: the intervals MUST be answered Reject. */
    EXPECT("OFMarkInt", "2048~8192", "Reject");
    EXPECT("IFMarkInt", "2048", "Reject");
}
END_TEST

START_TEST(test_param_unknown_and_extension_keys_not_understood)
{
    EXPECT("X-com.example.Feature", "Yes", "NotUnderstood");
    EXPECT("X#NodeArchitecture", "polltgt", "NotUnderstood");
    EXPECT("NoSuchKey", "1", "NotUnderstood");
    /* In the security stage too. */
    ck_assert_int_eq(in_stage(ISCSI_PARAM_SECURITY, "X-y", "1"), 1);
    ck_assert_str_eq(answer("X-y"), "NotUnderstood");
}
END_TEST

START_TEST(test_param_callers_keys_are_left_to_the_caller)
{
    static const char *const keys[] = {
        "InitiatorName", "TargetName", "SessionType", "SendTargets",
        "AuthMethod",    "CHAP_A",     "CHAP_R",
    };

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        ck_assert_int_eq(in_stage(ISCSI_PARAM_SECURITY, keys[i], "x"), 0);
        ck_assert_int_eq(op(keys[i], "x"), 0);
        ck_assert_uint_eq(out.len, 0);
    }
}
END_TEST

START_TEST(test_param_key_twice_is_an_initiator_error)
{
    EXPECT("MaxBurstLength", "262144", "262144");
    ck_assert_int_eq(op("MaxBurstLength", "262144"), -EINVAL);
    ck_assert_ptr_nonnull(why);
    /* Even when the first one was rejected. */
    EXPECT("InitialR2T", "Maybe", "Reject");
    ck_assert_int_eq(op("InitialR2T", "Yes"), -EINVAL);
    /* Across stages of one login: the alias in security, then again. */
    ck_assert_int_eq(in_stage(ISCSI_PARAM_SECURITY, "InitiatorAlias", "h"), 1);
    ck_assert_int_eq(op("InitiatorAlias", "h"), -EINVAL);
}
END_TEST

START_TEST(test_param_target_only_keys_from_the_initiator_fail)
{
    ck_assert_int_eq(op("TargetPortalGroupTag", "1"), -EINVAL);
    ck_assert_ptr_nonnull(why);
    ck_assert_int_eq(op("TargetAlias", "disk"), -EINVAL);
    ck_assert_int_eq(op("TargetAddress", "10.0.0.1:3260,1"), -EINVAL);
}
END_TEST

START_TEST(test_param_stage_rules)
{
    /* Operational keys do not belong in the security stage. */
    ck_assert_int_eq(in_stage(ISCSI_PARAM_SECURITY, "MaxBurstLength", "512"),
                     -EINVAL);
    ck_assert_int_eq(in_stage(ISCSI_PARAM_SECURITY, "HeaderDigest", "None"),
                     -EINVAL);
    /* The alias is any-stage and needs no answer. */
    ck_assert_int_eq(in_stage(ISCSI_PARAM_SECURITY, "InitiatorAlias", "h"), 1);
    ck_assert_uint_eq(out.len, 0);
    /* Full feature phase: only "Use: ALL" keys. */
    ck_assert_int_eq(in_stage(ISCSI_PARAM_FULL, "ImmediateData", "No"),
                     -EINVAL);
    ck_assert_int_eq(in_stage(ISCSI_PARAM_FULL, "DataDigest", "None"),
                     -EINVAL);
    ck_assert_int_eq(in_stage(ISCSI_PARAM_FULL, "MaxRecvDataSegmentLength",
                              "32768"),
                     1);
    ck_assert_uint_eq(neg.set.max_xmit_dsl, 32768);
    ck_assert_uint_eq(out.len, 0); /* nothing to declare back in FFP */
}
END_TEST

START_TEST(test_param_text_begin_allows_a_new_declaration)
{
    ck_assert_int_eq(in_stage(ISCSI_PARAM_FULL, "MaxRecvDataSegmentLength",
                              "32768"),
                     1);
    ck_assert_int_eq(in_stage(ISCSI_PARAM_FULL, "MaxRecvDataSegmentLength",
                              "65536"),
                     -EINVAL);
    iscsi_param_text_begin(&neg);
    ck_assert_int_eq(in_stage(ISCSI_PARAM_FULL, "MaxRecvDataSegmentLength",
                              "65536"),
                     1);
    ck_assert_uint_eq(neg.set.max_xmit_dsl, 65536);
}
END_TEST

START_TEST(test_param_discovery_session_keys_are_irrelevant)
{
    static const char *const irrelevant[][2] = {
        { "MaxConnections", "1" },      { "InitialR2T", "Yes" },
        { "ImmediateData", "No" },      { "MaxBurstLength", "512" },
        { "FirstBurstLength", "512" },  { "MaxOutstandingR2T", "1" },
        { "DataPDUInOrder", "Yes" },    { "DataSequenceInOrder", "Yes" },
        { "TaskReporting", "RFC3720" },
    };

    neg.set.discovery = true;
    for (size_t i = 0; i < sizeof irrelevant / sizeof irrelevant[0]; i++) {
        EXPECT(irrelevant[i][0], irrelevant[i][1], "Irrelevant");
    }
    ck_assert(neg.set.immediate_data); /* untouched */
    ck_assert_uint_eq(neg.set.max_burst_length, 262144);
    /* Connection and login keys still negotiate. */
    EXPECT("HeaderDigest", "CRC32C", "CRC32C");
    EXPECT("ErrorRecoveryLevel", "0", "0");
    EXPECT("DefaultTime2Wait", "2", "2");
    ck_assert_int_eq(op("MaxRecvDataSegmentLength", "8192"), 1);
    ck_assert_str_eq(answer("MaxRecvDataSegmentLength"), "262144");
}
END_TEST

START_TEST(test_param_finish_only_declares_mrdsl_for_usual_logins)
{
    /* What libiscsi and open-iscsi send, in a Normal session. */
    EXPECT("HeaderDigest", "None,CRC32C", "None");
    EXPECT("DataDigest", "None,CRC32C", "None");
    EXPECT("InitialR2T", "Yes", "Yes");
    EXPECT("ImmediateData", "Yes", "Yes");
    EXPECT("MaxBurstLength", "16776192", "1048576");
    EXPECT("FirstBurstLength", "262144", "262144");
    EXPECT("MaxConnections", "1", "1");
    EXPECT("DataPDUInOrder", "Yes", "Yes");
    EXPECT("DataSequenceInOrder", "Yes", "Yes");
    EXPECT("DefaultTime2Wait", "2", "2");
    EXPECT("DefaultTime2Retain", "0", "0");
    EXPECT("ErrorRecoveryLevel", "0", "0");
    EXPECT("OFMarker", "No", "No");
    EXPECT("IFMarker", "No", "No");
    strbuf_free(&out);
    strbuf_init(&out);
    iscsi_param_finish(&neg, &out);
    ck_assert_uint_eq(npairs(), 1);
    ck_assert_str_eq(answer("MaxRecvDataSegmentLength"), "262144");
    ck_assert_uint_eq(neg.set.max_recv_dsl, 262144);
    ck_assert(!iscsi_param_pending(&neg));
    /* Idempotent. */
    strbuf_free(&out);
    strbuf_init(&out);
    iscsi_param_finish(&neg, &out);
    ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(test_param_finish_offers_what_defaults_cannot_give)
{
    cfg.iscsi_header_digest = (char *)"CRC32C";
    cfg.iscsi_max_burst_length = 131072;
    cfg.iscsi_first_burst_length = 32768;
    cfg.iscsi_immediate_data = false;
    iscsi_param_init(&neg, &cfg);
    iscsi_param_finish(&neg, &out);
    ck_assert_str_eq(answer("MaxRecvDataSegmentLength"), "262144");
    ck_assert_str_eq(answer("HeaderDigest"), "CRC32C");
    ck_assert_ptr_null(answer("DataDigest")); /* None is fine there */
    ck_assert_str_eq(answer("MaxBurstLength"), "131072");
    ck_assert_str_eq(answer("FirstBurstLength"), "32768");
    ck_assert_str_eq(answer("ImmediateData"), "No");
    ck_assert(iscsi_param_pending(&neg));
    /* The initiator's answers settle the offers; nothing is appended. */
    ck_assert_int_eq(op("HeaderDigest", "CRC32C"), 1);
    ck_assert_int_eq(op("MaxBurstLength", "65536"), 1);
    ck_assert_int_eq(op("FirstBurstLength", "32768"), 1);
    ck_assert(iscsi_param_pending(&neg));
    ck_assert_int_eq(op("ImmediateData", "No"), 1);
    ck_assert_uint_eq(out.len, 0);
    ck_assert(!iscsi_param_pending(&neg));
    ck_assert(neg.set.header_digest);
    ck_assert_uint_eq(neg.set.max_burst_length, 65536);
    ck_assert_uint_eq(neg.set.first_burst_length, 32768);
    ck_assert(!neg.set.immediate_data);
    /* Nothing more to offer. */
    strbuf_free(&out);
    strbuf_init(&out);
    iscsi_param_finish(&neg, &out);
    ck_assert_uint_eq(out.len, 0);
}
END_TEST

START_TEST(test_param_refused_offer_fails_the_login)
{
    cfg.iscsi_max_burst_length = 131072;
    iscsi_param_init(&neg, &cfg);
    iscsi_param_finish(&neg, &out);
    ck_assert_str_eq(answer("MaxBurstLength"), "131072");
    ck_assert_int_eq(op("MaxBurstLength", "262144"), -EINVAL); /* above */
    iscsi_param_init(&neg, &cfg);
    iscsi_param_finish(&neg, &out);
    ck_assert_int_eq(op("MaxBurstLength", "Reject"), -EINVAL);
    cfg.iscsi_data_digest = (char *)"CRC32C";
    iscsi_param_init(&neg, &cfg);
    iscsi_param_finish(&neg, &out);
    ck_assert_int_eq(op("DataDigest", "None"), -EINVAL);
}
END_TEST

START_TEST(test_param_finish_in_discovery_offers_no_session_keys)
{
    cfg.iscsi_max_burst_length = 131072;
    cfg.iscsi_immediate_data = false;
    iscsi_param_init(&neg, &cfg);
    neg.set.discovery = true;
    iscsi_param_finish(&neg, &out);
    ck_assert_uint_eq(npairs(), 1);
    ck_assert_ptr_nonnull(answer("MaxRecvDataSegmentLength"));
    ck_assert(!iscsi_param_pending(&neg));
}
END_TEST

START_TEST(test_param_first_burst_not_offered_when_irrelevant)
{
    /* InitialR2T=Yes + ImmediateData=No: FirstBurstLength is moot. */
    cfg.iscsi_first_burst_length = 4096;
    cfg.iscsi_initial_r2t = true;
    iscsi_param_init(&neg, &cfg);
    EXPECT("ImmediateData", "No", "No");
    EXPECT("InitialR2T", "Yes", "Yes");
    EXPECT("MaxBurstLength", "262144", "262144");
    strbuf_free(&out);
    strbuf_init(&out);
    iscsi_param_finish(&neg, &out);
    ck_assert_ptr_null(answer("FirstBurstLength"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("iscsi-param");
    TCase *tc = tcase_create("param");
    SRunner *sr;
    int failed;

    tcase_set_timeout(tc, 10);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_param_defaults_are_the_rfc_defaults);
    tcase_add_test(tc, test_param_digest_first_of_initiators_list_we_accept);
    tcase_add_test(tc, test_param_digest_target_preference_limits_choice);
    tcase_add_test(tc, test_param_digest_no_common_value);
    tcase_add_test(tc, test_param_digest_malformed_list_is_rejected);
    tcase_add_test(tc, test_param_max_connections_is_one);
    tcase_add_test(tc, test_param_initial_r2t_is_or);
    tcase_add_test(tc, test_param_immediate_data_is_and);
    tcase_add_test(tc, test_param_booleans_must_be_yes_or_no);
    tcase_add_test(tc, test_param_in_order_keys_stay_yes);
    tcase_add_test(tc, test_param_mrdsl_is_declared_both_ways);
    tcase_add_test(tc, test_param_mrdsl_accepts_hex_and_fails_out_of_range);
    tcase_add_test(tc, test_param_max_burst_is_min_and_range_checked);
    tcase_add_test(tc, test_param_first_burst_never_exceeds_max_burst);
    tcase_add_test(tc, test_param_time2wait_is_max_time2retain_is_min);
    tcase_add_test(tc, test_param_max_outstanding_r2t_is_min_of_config);
    tcase_add_test(tc, test_param_error_recovery_level_is_zero);
    tcase_add_test(tc, test_param_protocol_level_and_task_reporting);
    tcase_add_test(tc, test_param_obsolete_markers);
    tcase_add_test(tc, test_param_unknown_and_extension_keys_not_understood);
    tcase_add_test(tc, test_param_callers_keys_are_left_to_the_caller);
    tcase_add_test(tc, test_param_key_twice_is_an_initiator_error);
    tcase_add_test(tc, test_param_target_only_keys_from_the_initiator_fail);
    tcase_add_test(tc, test_param_stage_rules);
    tcase_add_test(tc, test_param_text_begin_allows_a_new_declaration);
    tcase_add_test(tc, test_param_discovery_session_keys_are_irrelevant);
    tcase_add_test(tc, test_param_finish_only_declares_mrdsl_for_usual_logins);
    tcase_add_test(tc, test_param_finish_offers_what_defaults_cannot_give);
    tcase_add_test(tc, test_param_refused_offer_fails_the_login);
    tcase_add_test(tc, test_param_finish_in_discovery_offers_no_session_keys);
    tcase_add_test(tc, test_param_first_burst_not_offered_when_irrelevant);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
