/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the iSCSI side of the configuration: [iscsi] and its
 * negotiation tunables, the iSCSI keys of [export NAME] (iqn, lun,
 * block-size, CHAP, initiators), and the targets that exports sharing an
 * iqn make (server/config-export.c): one LUN number each, a LUN 0, and
 * target settings on LUN 0 only.
 */
#include <config.h>

#include <check.h>

#include <stdlib.h>

#include "config-test-helpers.h"

/* --- Keys ----------------------------------------------------------- */

START_TEST(test_iscsi_listen_and_iqn_prefix_are_read_back)
{
    struct config *cfg = load_ok("[iscsi]\n"
                                 "listen = 0.0.0.0, [::1]:3261\n"
                                 "iqn-prefix = iqn.2001-04.com.example:storage\n");

    ck_assert_uint_eq(cfg->iscsi_listen.n, 2);
    assert_tcp(&cfg->iscsi_listen.addr[0], "0.0.0.0", "3260");
    assert_tcp(&cfg->iscsi_listen.addr[1], "::1", "3261");
    ck_assert_str_eq(cfg->iqn_prefix, "iqn.2001-04.com.example:storage");
    ck_assert_uint_eq(cfg->nbd_listen.n, 0);
    config_free(cfg);
}
END_TEST

START_TEST(test_iscsi_tunables_defaults_and_read_back)
{
    struct config *cfg = load_ok("[iscsi]\n");

    ck_assert_uint_eq(cfg->iscsi_max_connections, 1024);
    ck_assert_int_eq(cfg->iscsi_login_timeout_ns, 15 * NS_PER_SEC);
    ck_assert_int_eq(cfg->iscsi_nop_interval_ns, 30 * NS_PER_SEC);
    ck_assert_uint_eq(cfg->iscsi_queue_depth, 128);
    ck_assert_uint_eq(cfg->iscsi_max_recv_data_segment_length, 256 << 10);
    ck_assert_uint_eq(cfg->iscsi_max_burst_length, 1 << 20);
    ck_assert_uint_eq(cfg->iscsi_first_burst_length, 256 << 10);
    ck_assert_uint_eq(cfg->iscsi_max_outstanding_r2t, 1);
    ck_assert(cfg->iscsi_immediate_data);
    ck_assert(!cfg->iscsi_initial_r2t);
    ck_assert_str_eq(cfg->iscsi_header_digest, "None,CRC32C");
    ck_assert_str_eq(cfg->iscsi_data_digest, "None,CRC32C");
    config_free(cfg);

    cfg = load_ok("[iscsi]\n"
                  "nop-interval = 0\n"
                  "queue-depth = 32\n"
                  "max-burst-length = 128K\n"
                  "first-burst-length = 64K\n"
                  "initial-r2t = yes\n"
                  "header-digest = CRC32C\n"
                  "data-digest = crc32c, none\n");
    ck_assert_int_eq(cfg->iscsi_nop_interval_ns, 0);
    ck_assert_uint_eq(cfg->iscsi_queue_depth, 32);
    ck_assert_uint_eq(cfg->iscsi_max_burst_length, 128 << 10);
    ck_assert_uint_eq(cfg->iscsi_first_burst_length, 64 << 10);
    ck_assert(cfg->iscsi_initial_r2t);
    ck_assert_str_eq(cfg->iscsi_header_digest, "CRC32C");
    ck_assert_str_eq(cfg->iscsi_data_digest, "CRC32C,None");
    config_free(cfg);
}
END_TEST

START_TEST(test_export_iscsi_keys_defaults_and_read_back)
{
    struct config *cfg = load_ok("[iscsi]\n"
                                 "iqn-prefix = iqn.2001-04.com.example\n"
                                 "[export a]\nbackend = null\nsize = 1M\n"
                                 "[export b]\nbackend = null\nsize = 1M\n"
                                 "protocols = iscsi\n"
                                 "iqn = iqn.2001-04.com.example:other\n"
                                 "block-size = 4096\n"
                                 "chap-username = alice\n"
                                 "chap-secret = 0123456789ab\n"
                                 "chap-mutual-username = tgt\n"
                                 "chap-mutual-secret = ba9876543210\n"
                                 "initiators = iqn.1994-05.com.redhat:a, "
                                 "iqn.1994-05.com.redhat:b\n");
    const struct config_export *a = &cfg->exports[0], *b = &cfg->exports[1];

    ck_assert_uint_eq(a->protocols, CONFIG_PROTO_NBD | CONFIG_PROTO_ISCSI);
    ck_assert_str_eq(a->iqn, "iqn.2001-04.com.example:a");
    ck_assert_uint_eq(a->block_size, 512);
    ck_assert_ptr_null(a->chap_username);
    ck_assert_uint_eq(a->ninitiators, 0);
    ck_assert_uint_eq(b->protocols, CONFIG_PROTO_ISCSI);
    ck_assert_str_eq(b->iqn, "iqn.2001-04.com.example:other");
    ck_assert_uint_eq(b->block_size, 4096);
    ck_assert_str_eq(b->chap_username, "alice");
    ck_assert_str_eq(b->chap_secret, "0123456789ab");
    ck_assert_str_eq(b->chap_mutual_username, "tgt");
    ck_assert_str_eq(b->chap_mutual_secret, "ba9876543210");
    ck_assert_uint_eq(b->ninitiators, 2);
    ck_assert_str_eq(b->initiators[1], "iqn.1994-05.com.redhat:b");
    ck_assert_uint_eq(b->lun, 0);
    config_free(cfg);

    cfg = load_ok("[export a]\nbackend = null\nsize = 1M\n"
                  "iqn = iqn.2001-04.com.example:t\n"
                  "[export b]\nbackend = null\nsize = 1M\n"
                  "iqn = iqn.2001-04.com.example:t\nlun = 7\n");
    ck_assert_uint_eq(cfg->exports[1].lun, 7);
    config_free(cfg);
}
END_TEST

/* --- Errors --------------------------------------------------------- */

START_TEST(test_iscsi_key_errors_name_line_key_and_accepted_values)
{
    expect_error("[iscsi]\nheader-digest = md5\n", 2, "[iscsi] header-digest",
                 "'md5'", "none and crc32c");
    expect_error("[iscsi]\nqueue-depth = 0\n", 2, "[iscsi] queue-depth",
                 "from 1 to 1024");
    expect_error("[iscsi]\nmax-burst-length = 64K\nfirst-burst-length = 128K\n",
                 3, "first-burst-length", "max-burst-length");
    expect_error("[export a]\nbackend = null\nsize = 1M\nprotocols = nfs\n", 4,
                 "[export a] protocols", "'nfs'", "nbd, iscsi");
    expect_error("[export a]\nbackend = null\nsize = 1M\nblock-size = 1024\n", 1,
                 "block-size = 1024", "512 or 4096");
    expect_error("[export a]\nbackend = null\nsize = 1000\nblock-size = 512\n", 1,
                 "not a multiple of block-size");
    expect_error("[export a]\nbackend = null\nsize = 1M\nchap-secret = short\n",
                 4, "[export a] chap-secret", "12 to 255 bytes");
    expect_error("[export a]\nbackend = null\nsize = 1M\n"
                 "chap-secret = 0123456789ab\n",
                 1, "chap-username and chap-secret go together");
    expect_error("[export a]\nbackend = null\nsize = 1M\n"
                 "chap-username = u\nchap-secret = 0123456789ab\n"
                 "chap-mutual-username = t\n"
                 "chap-mutual-secret = 0123456789ab\n",
                 1, "must differ");
    expect_error("[export a]\nbackend = null\nsize = 1M\niqn = iqn.x\n", 4,
                 "[export a] iqn", "'iqn.x'");
    expect_error("[export a]\nbackend = null\nsize = 1M\n"
                 "iqn = iqn.2001-04.com.example:t\n"
                 "[export b]\nbackend = null\nsize = 1M\n"
                 "iqn = iqn.2001-04.com.example:t\n",
                 5, "LUN 0 of iSCSI target iqn.2001-04.com.example:t",
                 "[export a]");
    expect_error("[export b]\nbackend = null\nsize = 1M\n"
                 "iqn = iqn.2001-04.com.example:t\nlun = 1\n",
                 1, "has no export with lun = 0");
    expect_error("[export a]\nbackend = null\nsize = 1M\n"
                 "iqn = iqn.2001-04.com.example:t\n"
                 "[export b]\nbackend = null\nsize = 1M\n"
                 "iqn = iqn.2001-04.com.example:t\nlun = 3\n"
                 "initiators = iqn.1994-05.com.redhat:a\n",
                 5, "set on its LUN 0, [export a]");
}
END_TEST

static Suite *
config_iscsi_suite(void)
{
    Suite *s = suite_create("config-iscsi");
    TCase *tc;

    tc = tcase_create("keys");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_iscsi_listen_and_iqn_prefix_are_read_back);
    tcase_add_test(tc, test_iscsi_tunables_defaults_and_read_back);
    tcase_add_test(tc, test_export_iscsi_keys_defaults_and_read_back);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_iscsi_key_errors_name_line_key_and_accepted_values);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    return ct_main(config_iscsi_suite());
}
