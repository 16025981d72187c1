/* SPDX-License-Identifier: MIT */
/*
 * The TLS pieces that need no network: the PSK keys-file parser
 * (tls-psk.c) line by line, the [nbd] tls keys with the checks the loader
 * makes after the file (credentials present, files readable, the
 * tls-certificates directory resolved), and tls_creds_load's own errors.
 * The handshakes themselves are tested with real clients in tests/tls/.
 */
#include <config.h>

#include <sys/stat.h>

#include "config-test-helpers.h"
#include "server/tls-psk.h"
#include "server/tls.h"

static char tmpdir[] = "/tmp/test-tls-XXXXXX";

/* tmpdir/name with text in it; returns the malloc'd path. */
static char *
put_file(const char *name, const char *text)
{
    char *path;
    FILE *fp;

    ck_assert_int_ge(asprintf(&path, "%s/%s", tmpdir, name), 0);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

static void
expect_psk_error(const char *text, const char *want)
{
    struct tls_psk_keys keys = { (void *)1, 99 };
    char err[256] = "";

    ck_assert_int_eq(tls_psk_parse(text, strlen(text), &keys, err, sizeof err),
                     -EINVAL);
    ck_assert_msg(strstr(err, want) != NULL, "expected \"%s\" in \"%s\"", want,
                  err);
    ck_assert_ptr_null(keys.keys);
    ck_assert_uint_eq(keys.n, 0);
}

START_TEST(test_psk_parses_psktool_lines_comments_and_crlf)
{
    static const char text[] = "# made by psktool\n"
                               "alice:00ff10Ab\r\n"
                               "\n"
                               "bob.smith@example:"
                               "0123456789abcdef0123456789abcdef\n"
                               "carol:99";
    struct tls_psk_keys keys;
    char err[256];
    const struct tls_psk_key *k;

    ck_assert_int_eq(tls_psk_parse(text, strlen(text), &keys, err, sizeof err),
                     0);
    ck_assert_uint_eq(keys.n, 3);
    k = tls_psk_find(&keys, "alice");
    ck_assert_ptr_nonnull(k);
    ck_assert_uint_eq(k->keylen, 4);
    ck_assert_mem_eq(k->key, "\x00\xff\x10\xab", 4);
    k = tls_psk_find(&keys, "bob.smith@example");
    ck_assert_ptr_nonnull(k);
    ck_assert_uint_eq(k->keylen, 16);
    ck_assert_uint_eq(k->key[15], 0xef);
    k = tls_psk_find(&keys, "carol");
    ck_assert_ptr_nonnull(k);
    ck_assert_uint_eq(k->keylen, 1);
    ck_assert_uint_eq(k->key[0], 0x99);
    ck_assert_ptr_null(tls_psk_find(&keys, "mallory"));
    ck_assert_ptr_null(tls_psk_find(&keys, "ALICE"));
    tls_psk_free(&keys);
    ck_assert_uint_eq(keys.n, 0);
}
END_TEST

START_TEST(test_psk_empty_file_has_no_keys)
{
    struct tls_psk_keys keys;
    char err[64];

    ck_assert_int_eq(tls_psk_parse("", 0, &keys, err, sizeof err), 0);
    ck_assert_uint_eq(keys.n, 0);
    tls_psk_free(&keys);
}
END_TEST

START_TEST(test_psk_rejects_malformed_lines_naming_the_line)
{
    expect_psk_error("alice:00\nbob\n", "line 2: expected username:hexkey");
    expect_psk_error(":0011\n", "line 1: empty username");
    expect_psk_error("alice:001\n", "line 1: key of 3 hex digits");
    expect_psk_error("alice:\n", "line 1: key of 0 hex digits");
    expect_psk_error("\n\nalice:00zz\n", "line 3: key has a character");
    expect_psk_error("alice:00\nbob:11\nalice:22\n",
                     "line 3: username 'alice' given twice");
    expect_psk_error("alice: 0011\n", "line 1: key of 5 hex digits");
}
END_TEST

START_TEST(test_psk_limits)
{
    char user[TLS_PSK_MAX_USERNAME + 2], line[2 * TLS_PSK_MAX_KEY + 400];

    memset(user, 'u', sizeof user - 1);
    user[sizeof user - 1] = '\0';
    snprintf(line, sizeof line, "%s:00\n", user);
    expect_psk_error(line, "line 1: username longer than 255 bytes");
    memset(line, 'a', sizeof line);
    memcpy(line, "k:", 2);
    line[2 + 2 * TLS_PSK_MAX_KEY + 2] = '\0';
    expect_psk_error(line, "line 1: key of 514 hex digits");
    line[2 + 2 * TLS_PSK_MAX_KEY] = '\0'; /* exactly the maximum */

    struct tls_psk_keys keys;
    char err[128];
    ck_assert_int_eq(tls_psk_parse(line, strlen(line), &keys, err, sizeof err),
                     0);
    ck_assert_uint_eq(keys.keys[0].keylen, TLS_PSK_MAX_KEY);
    tls_psk_free(&keys);
}
END_TEST

START_TEST(test_psk_load_names_the_file)
{
    char *good = put_file("good.psk", "alice:0011\n");
    char *bad = put_file("bad.psk", "alice:0011\n# c\nbob:1\n");
    struct tls_psk_keys keys;
    char err[512], want[512];

    ck_assert_int_eq(tls_psk_load(good, &keys, err, sizeof err), 0);
    ck_assert_uint_eq(keys.n, 1);
    tls_psk_free(&keys);
    ck_assert_int_eq(tls_psk_load(bad, &keys, err, sizeof err), -EINVAL);
    snprintf(want, sizeof want, "%s:3: key of 1 hex digits", bad);
    ck_assert_msg(strstr(err, want), "expected \"%s\" in \"%s\"", want, err);
    ck_assert_int_eq(tls_psk_load("/nonexistent/k.psk", &keys, err, sizeof err),
                     -ENOENT);
    ck_assert_str_eq(err, "/nonexistent/k.psk: No such file or directory");
    free(good);
    free(bad);
}
END_TEST

START_TEST(test_tls_keys_default_off)
{
    struct config *cfg = load_ok("[nbd]\n");

    ck_assert_int_eq(cfg->nbd_tls.mode, CONFIG_TLS_OFF);
    ck_assert_ptr_null(cfg->nbd_tls.certificates);
    ck_assert_ptr_null(cfg->nbd_tls.cert);
    ck_assert_ptr_null(cfg->nbd_tls.key);
    ck_assert_ptr_null(cfg->nbd_tls.ca);
    ck_assert_ptr_null(cfg->nbd_tls.crl);
    ck_assert_ptr_null(cfg->nbd_tls.psk_file);
    ck_assert(!cfg->nbd_tls.verify_peer);
    config_free(cfg);
}
END_TEST

START_TEST(test_tls_off_does_not_check_files)
{
    struct config *cfg = load_ok("[nbd]\ntls = off\n"
                                 "tls-cert = /nonexistent/c.pem\n");

    ck_assert_str_eq(cfg->nbd_tls.cert, "/nonexistent/c.pem");
    config_free(cfg);
}
END_TEST

START_TEST(test_tls_mode_values)
{
    char *psk = put_file("good.psk", "alice:0011\n");

    for (int i = 0; i < 2; i++) {
        const char *mode = i ? "require" : "on";
        struct config *cfg;
        char *conf;

        ck_assert_int_ge(asprintf(&conf, "[nbd]\ntls = %s\ntls-psk-file = %s\n",
                                  mode, psk), 0);
        cfg = load_ok(conf);
        ck_assert_int_eq(cfg->nbd_tls.mode,
                         i ? CONFIG_TLS_REQUIRE : CONFIG_TLS_ON);
        ck_assert_str_eq(cfg->nbd_tls.psk_file, psk);
        config_free(cfg);
        free(conf);
    }
    expect_error("[nbd]\ntls = yes\n", 2, "[nbd] tls: invalid value 'yes'",
                 "expected off, on or require");
    free(psk);
}
END_TEST

START_TEST(test_tls_needs_credentials)
{
    expect_error("[nbd]\nlisten = unix:/tmp/x.sock\ntls = on\n", 3,
                 "[nbd] tls = on: no credentials",
                 "tls-certificates, tls-cert and tls-key, or tls-psk-file");
    expect_error("[nbd]\ntls = require\ntls-cert = /etc/hosts\n", 3,
                 "[nbd] tls-cert: needs tls-key too");
    expect_error("[nbd]\ntls = require\ntls-key = /etc/hosts\n", 3,
                 "[nbd] tls-key: needs tls-cert too");
}
END_TEST

START_TEST(test_tls_unreadable_files_named)
{
    expect_error("[nbd]\ntls = on\ntls-cert = /etc/hosts\n"
                 "tls-key = /nonexistent/server-key.pem\n",
                 4, "[nbd] tls-key: cannot read /nonexistent/server-key.pem",
                 "No such file or directory");
    expect_error("[nbd]\ntls = on\ntls-psk-file = /nonexistent/keys.psk\n", 3,
                 "[nbd] tls-psk-file: /nonexistent/keys.psk: No such file");
}
END_TEST

START_TEST(test_tls_psk_file_errors_name_its_line)
{
    char *bad = put_file("bad.psk", "alice:0011\nbob\n");
    char *empty = put_file("empty.psk", "# nothing\n");
    char *text, want[512];

    ck_assert_int_ge(asprintf(&text, "[nbd]\ntls = on\ntls-psk-file = %s\n",
                              bad), 0);
    snprintf(want, sizeof want, "[nbd] tls-psk-file: %s:2: expected", bad);
    expect_error(text, 3, want);
    free(text);
    ck_assert_int_ge(asprintf(&text, "[nbd]\ntls = on\ntls-psk-file = %s\n",
                              empty), 0);
    expect_error(text, 3, "no keys in the file");
    free(text);
    free(bad);
    free(empty);
}
END_TEST

START_TEST(test_tls_certificates_dir_resolved)
{
    char *dir, *text;
    struct config *cfg;

    ck_assert_int_ge(asprintf(&dir, "%s/creds", tmpdir), 0);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    free(put_file("creds/server-cert.pem", "x"));
    ck_assert_int_ge(asprintf(&text, "[nbd]\ntls = require\n"
                                     "tls-certificates = %s\n", dir), 0);
    /* No key yet: named with the key and the path. */
    expect_error(text, 3, "[nbd] tls-certificates: cannot read", "server-key.pem");
    free(put_file("creds/server-key.pem", "x"));
    cfg = load_ok(text);
    ck_assert_ptr_nonnull(strstr(cfg->nbd_tls.cert, "/creds/server-cert.pem"));
    ck_assert_ptr_nonnull(strstr(cfg->nbd_tls.key, "/creds/server-key.pem"));
    ck_assert_ptr_null(cfg->nbd_tls.ca); /* optional, absent */
    ck_assert_ptr_null(cfg->nbd_tls.crl);
    config_free(cfg);
    free(text);

    /* verify-peer needs the CA: absent, then present. */
    ck_assert_int_ge(asprintf(&text, "[nbd]\ntls = require\n"
                                     "tls-certificates = %s\n"
                                     "tls-verify-peer = yes\n", dir), 0);
    expect_error(text, 4, "[nbd] tls-verify-peer = yes: needs a CA");
    free(put_file("creds/ca-cert.pem", "x"));
    cfg = load_ok(text);
    ck_assert_ptr_nonnull(strstr(cfg->nbd_tls.ca, "/creds/ca-cert.pem"));
    ck_assert(cfg->nbd_tls.verify_peer);
    config_free(cfg);
    free(text);

    ck_assert_int_ge(asprintf(&text, "[nbd]\ntls = on\n"
                                     "tls-certificates = %s\n"
                                     "tls-cert = /etc/hosts\n", dir), 0);
    expect_error(text, 3, "give either a directory or tls-cert");
    free(text);
    free(dir);
}
END_TEST

START_TEST(test_tls_crl_needs_ca)
{
    expect_error("[nbd]\ntls = on\ntls-cert = /etc/hosts\ntls-key = /etc/hosts\n"
                 "tls-crl = /etc/hosts\n",
                 5, "[nbd] tls-crl: needs tls-ca");
}
END_TEST

START_TEST(test_export_tls)
{
    char *psk = put_file("exp.psk", "alice:0011\n");
    char *text;
    struct config *cfg;

    ck_assert_int_ge(asprintf(&text, "[nbd]\ntls = on\ntls-psk-file = %s\n"
                                     "[export a]\nbackend = memory\nsize = 1M\n"
                                     "[export b]\nbackend = memory\nsize = 1M\n"
                                     "tls = require\n", psk), 0);
    cfg = load_ok(text);
    ck_assert_int_eq(cfg->exports[0].tls, CONFIG_TLS_ON);
    ck_assert_int_eq(cfg->exports[1].tls, CONFIG_TLS_REQUIRE);
    config_free(cfg);
    free(text);
    expect_error("[nbd]\n[export a]\nbackend = memory\nsize = 1M\n"
                 "tls = require\n",
                 2, "[export a] tls = require: [nbd] tls is off");
    expect_error("[export a]\nbackend = memory\nsize = 1M\ntls = off\n", 1,
                 "[export a] tls = off: an export cannot refuse TLS");
    /* Not served over NBD: nothing to require. */
    cfg = load_ok("[export a]\nbackend = memory\nsize = 1M\n"
                  "protocols = iscsi\ntls = require\n");
    config_free(cfg);
    free(psk);
}
END_TEST

START_TEST(test_creds_load_errors_and_psk_only)
{
    char *psk = put_file("creds.psk", "alice:00112233\n");
    char *junk = put_file("junk.pem", "not a certificate\n");
    struct config_tls t = { .mode = CONFIG_TLS_ON, .psk_file = psk };
    struct tls_creds *creds = NULL;
    char err[1024];

    ck_assert_int_eq(tls_creds_load(&t, "nbd", &creds, err, sizeof err), 0);
    ck_assert_str_eq(tls_creds_kind(creds), "PSK");
    tls_creds_unref(creds);

    t = (struct config_tls){ .mode = CONFIG_TLS_ON, .cert = junk, .key = junk };
    creds = NULL;
    ck_assert_int_eq(tls_creds_load(&t, "nbd", &creds, err, sizeof err),
                     -EINVAL);
    ck_assert_ptr_null(creds);
    ck_assert_msg(strstr(err, "[nbd] tls-cert ") && strstr(err, "junk.pem"),
                  "%s", err);
    free(psk);
    free(junk);
}
END_TEST

static Suite *
tls_suite(void)
{
    Suite *s = suite_create("tls");
    TCase *tc = tcase_create("psk keys file");

    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_psk_parses_psktool_lines_comments_and_crlf);
    tcase_add_test(tc, test_psk_empty_file_has_no_keys);
    tcase_add_test(tc, test_psk_rejects_malformed_lines_naming_the_line);
    tcase_add_test(tc, test_psk_limits);
    tcase_add_test(tc, test_psk_load_names_the_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("config keys");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_tls_keys_default_off);
    tcase_add_test(tc, test_tls_off_does_not_check_files);
    tcase_add_test(tc, test_tls_mode_values);
    tcase_add_test(tc, test_tls_needs_credentials);
    tcase_add_test(tc, test_tls_unreadable_files_named);
    tcase_add_test(tc, test_tls_psk_file_errors_name_its_line);
    tcase_add_test(tc, test_tls_certificates_dir_resolved);
    tcase_add_test(tc, test_tls_crl_needs_ca);
    tcase_add_test(tc, test_export_tls);
    suite_add_tcase(s, tc);

    tc = tcase_create("credentials");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_creds_load_errors_and_psk_only);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    char cmd[64];
    int r;

    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    /* One process for all tests: files and directories they make persist
     * in tmpdir between them, in order. */
    setenv("CK_FORK", "no", 1);
    r = ct_main(tls_suite());
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    (void)system(cmd);
    return r;
}
