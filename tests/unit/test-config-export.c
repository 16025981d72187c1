/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for [export NAME] (server/config-export.c and the export
 * keys of config-keys.c): every key read back, the checks made once the
 * whole file is read (what each backend needs and forbids, iothread
 * against [server] iothreads), export names, and config_find_export().
 */
#include <config.h>

#include <check.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "config-test-helpers.h"

/* --- Keys ----------------------------------------------------------- */

static const struct {
    const char *value;
    uint64_t bytes;
} export_sizes[] = {
    { "4096", 4096 },
    { "512B", 512 },
    { "64K", UINT64_C(64) << 10 },
    { "1M", UINT64_C(1) << 20 },
    { "1G", UINT64_C(1) << 30 },
    { "2T", UINT64_C(2) << 40 },
    { "1P", UINT64_C(1) << 50 },
    { "4E", UINT64_C(4) << 60 },
    { "512k", UINT64_C(512) << 10 },
    { "16MB", UINT64_C(16) << 20 },
    { "3GiB", UINT64_C(3) << 30 },
};

START_TEST(test_export_size_accepts_suffixes)
{
    char text[128];
    struct config *cfg;

    snprintf(text, sizeof text, "[export d]\nbackend = memory\nsize = %s\n",
             export_sizes[_i].value);
    cfg = load_ok(text);
    ck_assert_msg(cfg->exports[0].size == export_sizes[_i].bytes,
                  "size = %s gave %ju", export_sizes[_i].value,
                  (uintmax_t)cfg->exports[0].size);
    config_free(cfg);
}
END_TEST

START_TEST(test_export_file_backend_keys_are_read_back)
{
    struct config *cfg = load_ok("[export disk1]\n"
                                 "backend = file\n"
                                 "path = /var/lib/polltgt/disk1.img\n"
                                 "size = 10G\n"
                                 "create = yes\n"
                                 "direct = yes\n"
                                 "readonly = no\n"
                                 "description = scratch disk; sparse\n"
                                 "iothread = 0\n");
    const struct config_export *e = &cfg->exports[0];

    ck_assert_str_eq(e->name, "disk1");
    ck_assert_str_eq(e->backend, "file");
    ck_assert_str_eq(e->path, "/var/lib/polltgt/disk1.img");
    ck_assert_uint_eq(e->size, UINT64_C(10) << 30);
    ck_assert(e->create);
    ck_assert(e->direct);
    ck_assert(!e->readonly);
    ck_assert_str_eq(e->description, "scratch disk; sparse");
    ck_assert_int_eq(e->iothread, 0);
    config_free(cfg);
}
END_TEST

START_TEST(test_export_file_relative_path_is_made_absolute)
{
    struct config *cfg = load_ok("[export f]\nbackend = file\n"
                                 "path = images/f.img\nreadonly = yes\n");
    char *want = cwd_path("images/f.img");

    ck_assert_str_eq(cfg->exports[0].path, want);
    ck_assert(cfg->exports[0].readonly);
    ck_assert_uint_eq(cfg->exports[0].size, 0);
    free(want);
    config_free(cfg);
}
END_TEST

START_TEST(test_export_null_backend_is_read_back)
{
    struct config *cfg = load_ok("[export zero]\nbackend = null\nsize = 1T\n"
                                 "readonly = true\n");

    ck_assert_str_eq(cfg->exports[0].backend, "null");
    ck_assert_uint_eq(cfg->exports[0].size, UINT64_C(1) << 40);
    ck_assert(cfg->exports[0].readonly);
    config_free(cfg);
}
END_TEST

static const struct {
    const char *spelling;
    bool value;
} bool_spellings[] = {
    { "yes", true }, { "no", false }, { "true", true }, { "false", false },
    { "on", true },  { "off", false }, { "1", true },   { "0", false },
    { "YES", true }, { "Off", false },
};

START_TEST(test_export_booleans_accept_every_spelling)
{
    const char *s = bool_spellings[_i].spelling;
    bool v = bool_spellings[_i].value;
    char text[256];
    struct config *cfg;

    snprintf(text, sizeof text,
             "[export f]\nbackend = file\npath = /tmp/f.img\nsize = 1M\n"
             "readonly = %s\ncreate = %s\ndirect = %s\n",
             s, s, s);
    cfg = load_ok(text);
    ck_assert_msg(cfg->exports[0].readonly == v && cfg->exports[0].create == v &&
                  cfg->exports[0].direct == v,
                  "'%s' did not read back as %s", s, v ? "true" : "false");
    config_free(cfg);
}
END_TEST

START_TEST(test_export_iothread_is_read_back)
{
    struct config *cfg = load_ok("[server]\niothreads = 4\n"
                                 "[export a]\nbackend = memory\nsize = 1M\n"
                                 "iothread = 3\n");

    ck_assert_int_eq(cfg->exports[0].iothread, 3);
    config_free(cfg);
}
END_TEST

START_TEST(test_exports_keep_file_order_and_header_lines)
{
    struct config *cfg = load_ok("[export b]\nbackend = memory\nsize = 1M\n"
                                 "[export a.1_x-y:z]\nbackend = null\nsize = 2M\n"
                                 "[export c]\nbackend = file\npath = /c.img\n");

    ck_assert_uint_eq(cfg->nexports, 3);
    ck_assert_str_eq(cfg->exports[0].name, "b");
    ck_assert_str_eq(cfg->exports[1].name, "a.1_x-y:z");
    ck_assert_str_eq(cfg->exports[2].name, "c");
    ck_assert_uint_eq(cfg->exports[0].line, 1);
    ck_assert_uint_eq(cfg->exports[1].line, 4);
    ck_assert_uint_eq(cfg->exports[2].line, 7);
    config_free(cfg);
}
END_TEST

START_TEST(test_export_allow_list_is_read_back)
{
    struct config *cfg = load_ok("[export d]\nbackend = memory\nsize = 1M\n"
                                 "allow = 10.0.0.0/8, ::1/128 unix,192.168.1.7\n");
    const struct acl *acl = &cfg->exports[0].allow;

    ck_assert_uint_eq(acl->n, 4);
    ck_assert_int_eq(acl->entries[0].family, AF_INET);
    ck_assert_uint_eq(acl->entries[0].prefix, 8);
    ck_assert_int_eq(acl->entries[1].family, AF_INET6);
    ck_assert_uint_eq(acl->entries[1].prefix, 128);
    ck_assert_int_eq(acl->entries[2].family, AF_UNIX);
    ck_assert_int_eq(acl->entries[3].family, AF_INET);
    ck_assert_uint_eq(acl->entries[3].prefix, 32);
    config_free(cfg);
}
END_TEST

/* --- Errors --------------------------------------------------------- */

START_TEST(test_invalid_export_name_is_rejected)
{
    expect_error("[export bad/name]\nbackend = memory\nsize = 1M\n", 1,
                 "[export bad/name]", "invalid export name 'bad/name'",
                 "letters, digits, '.', '_', '-' or ':'");
    expect_error("[export two words]\n", 1, "invalid export name 'two words'");
    expect_error("[export caf\xc3\xa9]\n", 1, "invalid export name");
}
END_TEST

START_TEST(test_duplicate_export_names_first_definition)
{
    char *msg = load_err("[export d]\nbackend = memory\nsize = 1M\n"
                         "[export e]\nbackend = null\nsize = 1M\n"
                         "[export d]\nbackend = null\nsize = 1M\n");

    assert_error_line(msg, 7, "[export d]", "export 'd' is already defined",
                      "on line 1");
    ck_assert_msg(count_lines(msg) == 1, "expected one error, got:\n%s", msg);
    free(msg);
}
END_TEST

START_TEST(test_export_without_backend_is_rejected)
{
    expect_error("[server]\n[export d]\nsize = 1G\n", 2, "[export d]",
                 "missing key 'backend'", "memory, file, null, nbd, iscsi or rbd");
}
END_TEST

START_TEST(test_memory_and_null_exports_need_size)
{
    expect_error("[export d]\nbackend = memory\n", 1, "[export d]",
                 "missing key 'size'", "backend = memory");
    expect_error("[export d]\nbackend = null\n", 1, "[export d]",
                 "missing key 'size'", "backend = null");
}
END_TEST

START_TEST(test_file_export_needs_path)
{
    expect_error("\n[export f]\nbackend = file\nsize = 1G\n", 2, "[export f]",
                 "missing key 'path'", "backend = file");
}
END_TEST

START_TEST(test_file_export_create_needs_size)
{
    expect_error("[export f]\nbackend = file\npath = /x.img\ncreate = yes\n", 1,
                 "[export f]", "missing key 'size'", "create = yes");
}
END_TEST

START_TEST(test_path_on_memory_export_is_rejected)
{
    expect_error("[export m]\nbackend = memory\nsize = 1G\npath = /x.img\n", 1,
                 "[export m]", "key 'path' is only for backend = file",
                 "not memory");
    expect_error("[export n]\nbackend = null\nsize = 1G\npath = /x.img\n", 1,
                 "[export n]", "key 'path' is only for backend = file",
                 "not null");
}
END_TEST

START_TEST(test_create_and_direct_on_memory_export_are_rejected)
{
    expect_error("[export m]\nbackend = memory\nsize = 1G\ncreate = yes\n", 1,
                 "[export m]", "'create' and 'direct' are only for backend = file");
    expect_error("[export m]\nbackend = null\nsize = 1G\ndirect = on\n", 1,
                 "[export m]", "'create' and 'direct' are only for backend = file");
}
END_TEST

START_TEST(test_export_iothread_beyond_iothreads_is_rejected)
{
    expect_error("[server]\niothreads = 2\n"
                 "[export d]\nbackend = memory\nsize = 1M\niothread = 2\n",
                 3, "[export d]", "iothread = 2",
                 "iothreads = 2 gives threads 0 to 1");
}
END_TEST

START_TEST(test_export_allow_rejects_bad_entries)
{
    expect_error("[export d]\nbackend = null\nsize = 1M\n"
                 "allow = 10.0.0.0/8, 10.0.0.0/33\n",
                 4, "[export d] allow", "invalid entry '10.0.0.0/33'",
                 "a list of networks");
    expect_error("[export d]\nbackend = null\nsize = 1M\nallow = everyone\n",
                 4, "[export d] allow", "'everyone'", "'unix'");
    expect_error("[export d]\nbackend = null\nsize = 1M\nallow = ,\n", 4,
                 "[export d] allow", "empty value");
}
END_TEST

/* --- Lookups -------------------------------------------------------- */

START_TEST(test_find_export_by_name)
{
    struct config *cfg = load_ok("[export a]\nbackend = null\nsize = 1M\n"
                                 "[export b]\nbackend = memory\nsize = 2M\n");
    const struct config_export *e;

    e = config_find_export(cfg, "b");
    ck_assert_ptr_eq(e, &cfg->exports[1]);
    ck_assert_uint_eq(e->size, UINT64_C(2) << 20);
    ck_assert_ptr_eq(config_find_export(cfg, "a"), &cfg->exports[0]);
    ck_assert_ptr_null(config_find_export(cfg, "c"));
    ck_assert_ptr_null(config_find_export(cfg, "A"));
    ck_assert_ptr_null(config_find_export(cfg, ""));
    config_free(cfg);

    cfg = load_ok("");
    ck_assert_ptr_null(config_find_export(cfg, "a"));
    config_free(cfg);
}
END_TEST

static Suite *
config_export_suite(void)
{
    Suite *s = suite_create("config-export");
    TCase *tc;

    tc = tcase_create("keys");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_loop_test(tc, test_export_size_accepts_suffixes, 0,
                        N(export_sizes));
    tcase_add_test(tc, test_export_file_backend_keys_are_read_back);
    tcase_add_test(tc, test_export_file_relative_path_is_made_absolute);
    tcase_add_test(tc, test_export_null_backend_is_read_back);
    tcase_add_loop_test(tc, test_export_booleans_accept_every_spelling, 0,
                        N(bool_spellings));
    tcase_add_test(tc, test_export_iothread_is_read_back);
    tcase_add_test(tc, test_exports_keep_file_order_and_header_lines);
    tcase_add_test(tc, test_export_allow_list_is_read_back);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_invalid_export_name_is_rejected);
    tcase_add_test(tc, test_duplicate_export_names_first_definition);
    tcase_add_test(tc, test_export_without_backend_is_rejected);
    tcase_add_test(tc, test_memory_and_null_exports_need_size);
    tcase_add_test(tc, test_file_export_needs_path);
    tcase_add_test(tc, test_file_export_create_needs_size);
    tcase_add_test(tc, test_path_on_memory_export_is_rejected);
    tcase_add_test(tc, test_create_and_direct_on_memory_export_are_rejected);
    tcase_add_test(tc, test_export_iothread_beyond_iothreads_is_rejected);
    tcase_add_test(tc, test_export_allow_rejects_bad_entries);
    suite_add_tcase(s, tc);

    tc = tcase_create("lookups");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_find_export_by_name);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    return ct_main(config_export_suite());
}
