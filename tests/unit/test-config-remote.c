/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the gateway backends' keys (server/config-remote.c and
 * the checks of config-export.c): NBD URIs and iSCSI URLs that libnbd and
 * libiscsi accept load and read back, malformed ones are rejected on the
 * key's own line with what is wrong, each backend needs its address and
 * refuses the other's keys and `size`, and request-timeout is read back.
 */
#include <config.h>

#include <check.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "config-test-helpers.h"

static const char *const good_uris[] = {
    "nbd://127.0.0.1:10809/disk0",
    "nbd://localhost",
    "nbd://[::1]:10809/",
    "nbds://storage.example.com/disk0",
    "nbd+unix:///disk0?socket=/run/nbd.sock",
    "nbds+unix:///?socket=/tmp/s",
    "nbd+vsock://2:10809/x",
};

START_TEST(test_nbd_uri_is_read_back)
{
    char text[256];
    struct config *cfg;

    snprintf(text, sizeof text, "[export g]\nbackend = nbd\nuri = %s\n",
             good_uris[_i]);
    cfg = load_ok(text);
    ck_assert_str_eq(cfg->exports[0].backend, "nbd");
    ck_assert_str_eq(cfg->exports[0].uri, good_uris[_i]);
    ck_assert_int_eq(cfg->exports[0].request_timeout_ns, 0); /* default */
    config_free(cfg);
}
END_TEST

static const struct {
    const char *uri;
    const char *why;
} bad_uris[] = {
    { "127.0.0.1:10809", "expected nbd://" },
    { "http://host/disk", "unknown scheme" },
    { "nbd://", "no host" },
    { "nbd://:10809/x", "no host" },
    { "nbd://host:0/x", "invalid port" },
    { "nbd://host:65536/x", "invalid port" },
    { "nbd://host:12ab/x", "invalid port" },
    { "nbd://ho st/x", "invalid host name" },
    { "nbd://[::1/x", "[ADDR]" },
    { "nbd://user@host/x", "user names" },
    { "nbd+unix:///disk0", "needs ?socket=PATH" },
    { "nbd+unix://host/disk0?socket=/s", "takes no host" },
    { "nbd+vsock:///x", "needs a CID" },
};

START_TEST(test_bad_nbd_uri_is_rejected_on_its_line)
{
    char text[256];

    snprintf(text, sizeof text, "[export g]\nbackend = nbd\nuri = %s\n",
             bad_uris[_i].uri);
    expect_error(text, 3, "[export g] uri: invalid value", bad_uris[_i].why);
}
END_TEST

static const char *const good_urls[] = {
    "iscsi://127.0.0.1/iqn.2024-01.com.example:t0/0",
    "iscsi://127.0.0.1:3261/iqn.2024-01.com.example:t0/3",
    "iscsi://alice%secret@san.example.com/iqn.2024-01.com.example:t0/1",
    "iscsi://[::1]:3260/iqn.2024-01.com.example:t0/16383",
    "iscsi://host/eui.0123456789abcdef/0",
};

START_TEST(test_iscsi_url_is_read_back)
{
    char text[256];
    struct config *cfg;

    snprintf(text, sizeof text,
             "[export g]\nbackend = iscsi\nurl = %s\n"
             "initiator-name = iqn.2024-01.com.example:gw\n"
             "request-timeout = 5s\n",
             good_urls[_i]);
    cfg = load_ok(text);
    ck_assert_str_eq(cfg->exports[0].backend, "iscsi");
    ck_assert_str_eq(cfg->exports[0].url, good_urls[_i]);
    ck_assert_str_eq(cfg->exports[0].initiator_name,
                     "iqn.2024-01.com.example:gw");
    ck_assert_int_eq(cfg->exports[0].request_timeout_ns, 5 * NS_PER_SEC);
    config_free(cfg);
}
END_TEST

static const struct {
    const char *url;
    const char *why;
} bad_urls[] = {
    { "nbd://host/x", "expected iscsi://" },
    { "iscsi://host", "no target" },
    { "iscsi:///iqn.2024-01.com.example:t/0", "no host" },
    { "iscsi://host:99999/iqn.2024-01.com.example:t/0", "invalid port" },
    { "iscsi://host/iqn.2024-01.com.example:t", "no target name" },
    { "iscsi://host//0", "no target name" },
    { "iscsi://host/target0/0", "must start with iqn." },
    { "iscsi://host/iqn.2024-01.com.example:t/", "no LUN" },
    { "iscsi://host/iqn.2024-01.com.example:t/x1", "invalid LUN" },
    { "iscsi://host/iqn.2024-01.com.example:t/16384", "invalid LUN" },
    { "iscsi://@host/iqn.2024-01.com.example:t/0", "empty user name" },
    { "iscsi://bob%@host/iqn.2024-01.com.example:t/0", "empty password" },
};

START_TEST(test_bad_iscsi_url_is_rejected_on_its_line)
{
    char text[256];

    snprintf(text, sizeof text, "[export g]\nbackend = iscsi\nurl = %s\n",
             bad_urls[_i].url);
    expect_error(text, 3, "[export g] url: invalid value", bad_urls[_i].why);
}
END_TEST

START_TEST(test_gateway_backends_need_their_address)
{
    expect_error("[export g]\nbackend = nbd\n", 1, "[export g]",
                 "missing key 'uri'", "backend = nbd");
    expect_error("[export g]\nbackend = iscsi\n", 1, "[export g]",
                 "missing key 'url'", "backend = iscsi");
    expect_error("[export g]\nbackend = rbd\nimage = d\n", 1, "[export g]",
                 "missing key 'pool'", "backend = rbd");
    expect_error("[export g]\nbackend = rbd\npool = rbd\n", 1, "[export g]",
                 "missing key 'image'", "backend = rbd");
}
END_TEST

START_TEST(test_gateway_keys_belong_to_their_backend)
{
    expect_error("[export g]\nbackend = iscsi\n"
                 "url = iscsi://h/iqn.2024-01.com.example:t/0\n"
                 "uri = nbd://h/x\n",
                 1, "key 'uri' is only for backend = nbd");
    expect_error("[export g]\nbackend = nbd\nuri = nbd://h/x\n"
                 "initiator-name = iqn.2024-01.com.example:gw\n",
                 1, "'initiator-name' are only for backend = iscsi");
    expect_error("[export m]\nbackend = memory\nsize = 1M\n"
                 "request-timeout = 5s\n",
                 1, "'request-timeout' is only for backend = nbd, iscsi or rbd");
    expect_error("[export g]\nbackend = nbd\nuri = nbd://h/x\nsize = 1M\n",
                 1, "'size' is not for backend = nbd", "the remote's");
    expect_error("[export g]\nbackend = nbd\nuri = nbd://h/x\npath = /x\n",
                 1, "only for backend = file, not nbd");
    expect_error("[export g]\nbackend = nbd\nuri = nbd://h/x\npool = rbd\n",
                 1, "'keyring' are only for backend = rbd, not nbd");
    expect_error("[export g]\nbackend = rbd\npool = p\nimage = i\n"
                 "size = 1M\n",
                 1, "'size' is not for backend = rbd");
}
END_TEST

START_TEST(test_request_timeout_range_is_checked)
{
    expect_error("[export g]\nbackend = nbd\nuri = nbd://h/x\n"
                 "request-timeout = 10ms\n",
                 4, "request-timeout: invalid value '10ms'", "from 100ms");
}
END_TEST

START_TEST(test_rbd_keys_are_read_back)
{
    struct config *cfg = load_ok("[export c]\nbackend = rbd\npool = rbd\n"
                                 "image = vm2\nconf = /etc/ceph/ceph.conf\n"
                                 "id = polltgt\n"
                                 "keyring = /etc/ceph/k.keyring\n"
                                 "request-timeout = 5s\n");
    const struct config_export *e = &cfg->exports[0];

    ck_assert_str_eq(e->backend, "rbd");
    ck_assert_str_eq(e->rbd_pool, "rbd");
    ck_assert_str_eq(e->rbd_image, "vm2");
    ck_assert_str_eq(e->rbd_conf, "/etc/ceph/ceph.conf");
    ck_assert_str_eq(e->rbd_id, "polltgt");
    ck_assert_str_eq(e->rbd_keyring, "/etc/ceph/k.keyring");
    ck_assert_int_eq(e->request_timeout_ns, 5 * NS_PER_SEC);
    config_free(cfg);
}
END_TEST

static Suite *
config_remote_suite(void)
{
    Suite *s = suite_create("config-remote");
    TCase *tc = tcase_create("remote");

    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_loop_test(tc, test_nbd_uri_is_read_back, 0, N(good_uris));
    tcase_add_loop_test(tc, test_bad_nbd_uri_is_rejected_on_its_line, 0,
                        N(bad_uris));
    tcase_add_loop_test(tc, test_iscsi_url_is_read_back, 0, N(good_urls));
    tcase_add_loop_test(tc, test_bad_iscsi_url_is_rejected_on_its_line, 0,
                        N(bad_urls));
    tcase_add_test(tc, test_gateway_backends_need_their_address);
    tcase_add_test(tc, test_gateway_keys_belong_to_their_backend);
    tcase_add_test(tc, test_request_timeout_range_is_checked);
    tcase_add_test(tc, test_rbd_keys_are_read_back);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return ct_main(config_remote_suite());
}
