/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the key tables (server/config-keys.c): the built-in
 * defaults an empty or nearly empty file gives, the list of keys that
 * config_foreach_key() hands to the documentation test, and whole sample
 * files (the design brief's and the shipped conf/polltgt.ini) loading
 * with the values they say.
 */
#include <config.h>

#include <check.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-test-helpers.h"

/* --- Defaults ------------------------------------------------------- */

START_TEST(test_empty_file_gives_documented_defaults)
{
    struct config *cfg = load_ok("");
    char *sock = cwd_path(CONFIG_DEFAULT_STATUS_SOCKET);

    ck_assert_str_eq(cfg->file, TEST_FILE);
    ck_assert_uint_eq(cfg->iothreads, 1);
    ck_assert(!cfg->iothreads_auto);
    ck_assert_int_eq(cfg->log_level, LOG_LEVEL_INFO);
    ck_assert_ptr_null(cfg->pidfile);
    assert_default_poll(&cfg->poll);
    ck_assert_ptr_nonnull(cfg->iothread);
    assert_default_poll(&cfg->iothread[0].params);
    ck_assert_int_eq(cfg->iothread[0].cpu, -1);
    ck_assert_uint_eq(cfg->iothread[0].line, 0);
    ck_assert_uint_eq(cfg->nbd_listen.n, 0);
    ck_assert_uint_eq(cfg->iscsi_listen.n, 0);
    ck_assert_str_eq(cfg->iqn_prefix, "iqn.2026-11.org.polltgt");
    ck_assert_str_eq(cfg->iqn_prefix, CONFIG_DEFAULT_IQN_PREFIX);
    ck_assert_ptr_nonnull(cfg->status_socket);
    ck_assert_int_eq(cfg->status_socket[0], '/');
    ck_assert_uint_ge(strlen(cfg->status_socket), strlen("/polltgt.sock"));
    ck_assert_str_eq(cfg->status_socket + strlen(cfg->status_socket) -
                     strlen("/polltgt.sock"), "/polltgt.sock");
    ck_assert_str_eq(cfg->status_socket, sock);
    ck_assert_uint_eq(cfg->status_mode, 0600);
    ck_assert_uint_eq(cfg->nexports, 0);
    ck_assert_ptr_null(cfg->nbd_default_export);
    ck_assert_uint_eq(cfg->nbd_max_connections, 1024);
    ck_assert_uint_eq(cfg->nbd_max_payload, UINT64_C(64) << 20);
    ck_assert_int_eq(cfg->nbd_handshake_timeout_ns, INT64_C(10) * 1000000000);
    free(sock);
    config_free(cfg);
}
END_TEST

START_TEST(test_comments_and_blank_lines_give_defaults)
{
    struct config *cfg = load_ok("; a comment\n"
                                 "# another comment\n"
                                 "\n"
                                 "   \n"
                                 "\t; indented comment\n");

    ck_assert_uint_eq(cfg->iothreads, 1);
    ck_assert_uint_eq(cfg->nexports, 0);
    assert_default_poll(&cfg->poll);
    config_free(cfg);
}
END_TEST

START_TEST(test_empty_sections_give_defaults_except_listeners)
{
    struct config *cfg = load_ok("[server]\n[poll]\n[status]\n");

    ck_assert_uint_eq(cfg->iothreads, 1);
    ck_assert_int_eq(cfg->log_level, LOG_LEVEL_INFO);
    assert_default_poll(&cfg->poll);
    assert_default_poll(&cfg->iothread[0].params);
    ck_assert_uint_eq(cfg->status_mode, 0600);
    ck_assert_ptr_nonnull(cfg->status_socket);
    ck_assert_uint_eq(cfg->nbd_listen.n, 0);
    ck_assert_uint_eq(cfg->iscsi_listen.n, 0);
    config_free(cfg);
}
END_TEST

START_TEST(test_every_iothread_gets_poll_params_and_no_cpu)
{
    struct config *cfg = load_ok("[server]\n"
                                 "iothreads = 4\n"
                                 "[poll]\n"
                                 "policy = classic\n"
                                 "max-ns = 1000\n"
                                 "grow = 3\n"
                                 "shrink = 4\n"
                                 "weight = 5\n"
                                 "idle-timeout-ms = 100\n");

    ck_assert_uint_eq(cfg->iothreads, 4);
    for (unsigned i = 0; i < 4; i++) {
        const struct config_iothread *t = &cfg->iothread[i];

        ck_assert_ptr_eq(t->params.policy, &policy_classic_ops);
        ck_assert_int_eq(t->params.max_ns, 1000);
        ck_assert_int_eq(t->params.grow, 3);
        ck_assert_int_eq(t->params.shrink, 4);
        ck_assert_int_eq(t->params.weight, 5);
        ck_assert_int_eq(t->params.idle_timeout_ms, 100);
        ck_assert_int_eq(t->cpu, -1);
        ck_assert_uint_eq(t->line, 0);
    }
    config_free(cfg);
}
END_TEST

START_TEST(test_default_threads_get_default_poll_params)
{
    struct config *cfg = load_ok("[server]\niothreads = 3\n");

    for (unsigned i = 0; i < 3; i++) {
        assert_default_poll(&cfg->iothread[i].params);
        ck_assert_int_eq(cfg->iothread[i].cpu, -1);
    }
    config_free(cfg);
}
END_TEST

START_TEST(test_no_listeners_when_nbd_and_iscsi_sections_absent)
{
    struct config *cfg = load_ok("[server]\niothreads = 2\n"
                                 "[export d]\nbackend = null\nsize = 1G\n");

    ck_assert_uint_eq(cfg->nbd_listen.n, 0);
    ck_assert_uint_eq(cfg->iscsi_listen.n, 0);
    config_free(cfg);
}
END_TEST

START_TEST(test_nbd_section_without_listen_uses_loopback_10809)
{
    struct config *cfg = load_ok("[nbd]\n");

    ck_assert_uint_eq(cfg->nbd_listen.n, 1);
    assert_tcp(&cfg->nbd_listen.addr[0], "127.0.0.1", "10809");
    ck_assert_str_eq(cfg->nbd_listen.addr[0].port, CONFIG_NBD_DEFAULT_PORT);
    ck_assert_uint_eq(cfg->iscsi_listen.n, 0);
    config_free(cfg);
}
END_TEST

START_TEST(test_iscsi_section_without_keys_uses_port_3260_and_default_iqn)
{
    struct config *cfg = load_ok("[iscsi]\n");

    ck_assert_uint_eq(cfg->iscsi_listen.n, 1);
    assert_tcp(&cfg->iscsi_listen.addr[0], "127.0.0.1", "3260");
    ck_assert_str_eq(cfg->iscsi_listen.addr[0].port, CONFIG_ISCSI_DEFAULT_PORT);
    ck_assert_str_eq(cfg->iqn_prefix, CONFIG_DEFAULT_IQN_PREFIX);
    ck_assert_uint_eq(cfg->nbd_listen.n, 0);
    config_free(cfg);
}
END_TEST

START_TEST(test_export_optional_keys_default_off)
{
    struct config *cfg = load_ok("[export d]\nbackend = memory\nsize = 1M\n");
    const struct config_export *e = &cfg->exports[0];

    ck_assert_uint_eq(cfg->nexports, 1);
    ck_assert_str_eq(e->name, "d");
    ck_assert_uint_eq(e->line, 1);
    ck_assert_str_eq(e->backend, "memory");
    ck_assert_uint_eq(e->size, 1024 * 1024);
    ck_assert_ptr_null(e->path);
    ck_assert(!e->readonly);
    ck_assert(!e->create);
    ck_assert(!e->direct);
    ck_assert_ptr_null(e->description);
    ck_assert_int_eq(e->iothread, -1);
    ck_assert_uint_eq(e->allow.n, 0); /* everyone */
    config_free(cfg);
}
END_TEST

/* --- Key list ------------------------------------------------------- */

#define MAX_KEYS 128

struct key_list {
    size_t n;
    char section[MAX_KEYS][32];
    char key[MAX_KEYS][32];
    char dflt[MAX_KEYS][64];
    bool has_dflt[MAX_KEYS];
};

static void
collect_key(const char *section, const char *key, const char *dflt,
            void *opaque)
{
    struct key_list *l = opaque;

    ck_assert_uint_lt(l->n, MAX_KEYS);
    snprintf(l->section[l->n], sizeof l->section[0], "%s", section);
    snprintf(l->key[l->n], sizeof l->key[0], "%s", key);
    l->has_dflt[l->n] = dflt != NULL;
    snprintf(l->dflt[l->n], sizeof l->dflt[0], "%s", dflt ? dflt : "");
    l->n++;
}

static int
find_key(const struct key_list *l, const char *section, const char *key)
{
    int found = -1;

    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->section[i], section) == 0 && strcmp(l->key[i], key) == 0) {
            ck_assert_msg(found < 0, "[%s] %s listed twice", section, key);
            found = (int)i;
        }
    }
    return found;
}

static const struct {
    const char *section, *key;
} all_keys[] = {
    { "server", "iothreads" }, { "server", "log-level" }, { "server", "pidfile" },
    { "server", "user" }, { "server", "group" }, { "server", "drain-timeout" },
    { "poll", "policy" }, { "poll", "max-ns" }, { "poll", "grow" },
    { "poll", "shrink" }, { "poll", "weight" }, { "poll", "idle-timeout-ms" },
    { "iothread N", "policy" }, { "iothread N", "max-ns" },
    { "iothread N", "grow" }, { "iothread N", "shrink" },
    { "iothread N", "weight" }, { "iothread N", "idle-timeout-ms" },
    { "iothread N", "cpu" },
    { "nbd", "listen" }, { "nbd", "default-export" },
    { "nbd", "max-connections" }, { "nbd", "max-payload" },
    { "nbd", "max-connections-per-client" }, { "nbd", "max-inflight" },
    { "iscsi", "max-connections-per-client" },
    { "nbd", "handshake-timeout" },
    { "nbd", "tls" }, { "nbd", "tls-certificates" }, { "nbd", "tls-cert" },
    { "nbd", "tls-key" }, { "nbd", "tls-ca" }, { "nbd", "tls-crl" },
    { "nbd", "tls-verify-peer" }, { "nbd", "tls-psk-file" },
    { "iscsi", "listen" }, { "iscsi", "iqn-prefix" },
    { "iscsi", "max-connections" }, { "iscsi", "login-timeout" },
    { "iscsi", "nop-interval" }, { "iscsi", "nop-timeout" },
    { "iscsi", "queue-depth" }, { "iscsi", "max-recv-data-segment-length" },
    { "iscsi", "max-burst-length" }, { "iscsi", "first-burst-length" },
    { "iscsi", "max-outstanding-r2t" }, { "iscsi", "immediate-data" },
    { "iscsi", "initial-r2t" }, { "iscsi", "header-digest" },
    { "iscsi", "data-digest" },
    { "iscsi", "pr-state-dir" },
    { "status", "socket" }, { "status", "socket-mode" },
    { "status", "socket-owner" }, { "status", "socket-group" },
    { "export NAME", "backend" }, { "export NAME", "size" },
    { "export NAME", "path" }, { "export NAME", "readonly" },
    { "export NAME", "create" }, { "export NAME", "direct" },
    { "export NAME", "description" }, { "export NAME", "iothread" },
    { "export NAME", "allow" }, { "export NAME", "protocols" },
    { "export NAME", "tls" },
    { "export NAME", "iqn" }, { "export NAME", "block-size" },
    { "export NAME", "chap-username" }, { "export NAME", "chap-secret" },
    { "export NAME", "chap-mutual-username" },
    { "export NAME", "chap-mutual-secret" }, { "export NAME", "initiators" },
    { "export NAME", "lun" },
    { "export NAME", "uri" }, { "export NAME", "url" },
    { "export NAME", "initiator-name" }, { "export NAME", "request-timeout" },
    { "export NAME", "pool" }, { "export NAME", "image" },
    { "export NAME", "conf" }, { "export NAME", "id" },
    { "export NAME", "keyring" },
};

START_TEST(test_foreach_key_lists_every_key_once_per_section)
{
    struct key_list l = { 0 };

    config_foreach_key(collect_key, &l);
    ck_assert_uint_eq(l.n, sizeof all_keys / sizeof all_keys[0]);
    for (size_t i = 0; i < sizeof all_keys / sizeof all_keys[0]; i++) {
        ck_assert_msg(find_key(&l, all_keys[i].section, all_keys[i].key) >= 0,
                      "[%s] %s not listed", all_keys[i].section,
                      all_keys[i].key);
    }
    for (size_t i = 0; i < l.n; i++) {
        (void)find_key(&l, l.section[i], l.key[i]); /* asserts uniqueness */
    }
}
END_TEST

START_TEST(test_foreach_key_includes_every_policy_param_with_default)
{
    struct key_list l = { 0 };
    struct poll_params dflt;

    policy_params_default(&dflt);
    config_foreach_key(collect_key, &l);
    for (size_t i = 0; i < policy_nparams; i++) {
        char want[64];

        policy_param_format(&dflt, &policy_params[i], want, sizeof want);
        for (int s = 0; s < 2; s++) {
            const char *section = s ? "iothread N" : "poll";
            int k = find_key(&l, section, policy_params[i].key);

            ck_assert_msg(k >= 0, "[%s] %s not listed", section,
                          policy_params[i].key);
            ck_assert(l.has_dflt[k]);
            ck_assert_str_eq(l.dflt[k], want);
        }
    }
    ck_assert_str_eq(l.dflt[find_key(&l, "poll", "policy")], "weighted");
    ck_assert_str_eq(l.dflt[find_key(&l, "poll", "max-ns")], "auto");
    ck_assert_str_eq(l.dflt[find_key(&l, "poll", "idle-timeout-ms")], "7000");
    ck_assert_str_eq(l.dflt[find_key(&l, "server", "iothreads")], "1");
    ck_assert_str_eq(l.dflt[find_key(&l, "server", "log-level")], "info");
    ck_assert_str_eq(l.dflt[find_key(&l, "nbd", "listen")], "127.0.0.1:10809");
    ck_assert_str_eq(l.dflt[find_key(&l, "iscsi", "listen")], "127.0.0.1:3260");
    ck_assert_str_eq(l.dflt[find_key(&l, "status", "socket-mode")], "0600");
    ck_assert_str_eq(l.dflt[find_key(&l, "nbd", "max-connections")], "1024");
    ck_assert_str_eq(l.dflt[find_key(&l, "nbd", "max-payload")], "64M");
    ck_assert_str_eq(l.dflt[find_key(&l, "nbd", "handshake-timeout")], "10s");
    ck_assert(!l.has_dflt[find_key(&l, "server", "pidfile")]);
}
END_TEST

START_TEST(test_every_listed_key_is_known_to_the_loader)
{
    struct key_list l = { 0 };

    config_foreach_key(collect_key, &l);
    for (size_t i = 0; i < l.n; i++) {
        char text[256];
        const char *header = strcmp(l.section[i], "iothread N") == 0 ? "iothread 0"
                           : strcmp(l.section[i], "export NAME") == 0 ? "export d"
                           : l.section[i];
        struct config *cfg = &sentinel;
        char *msg = NULL;

        snprintf(text, sizeof text, "[%s]\n%s = %s\n", header, l.key[i],
                 l.has_dflt[i] ? l.dflt[i] : "x");
        (void)config_load_string(TEST_FILE, text, &cfg, &msg);
        if (cfg != &sentinel) {
            config_free(cfg);
        }
        if (msg) {
            ck_assert_msg(strstr(msg, "unknown key") == NULL,
                          "[%s] %s listed but unknown:\n%s", l.section[i],
                          l.key[i], msg);
            free(msg);
        }
    }
}
END_TEST

/* --- Samples -------------------------------------------------------- */

START_TEST(test_design_brief_sample_loads)
{
    struct config *cfg = load_ok(
        "[server]\n"
        "iothreads = 2                 ; or auto\n"
        "log-level = info\n"
        "\n"
        "[poll]                        ; defaults for every I/O thread\n"
        "policy = weighted             ; off | classic | per-handler | weighted | busy\n"
        "max-ns = 32768\n"
        "grow = 2\n"
        "shrink = 2\n"
        "weight = 3\n"
        "idle-timeout-ms = 7000\n"
        "\n"
        "[iothread 1]                  ; overrides for one I/O thread\n"
        "policy = busy\n"
        "cpu = 1\n"
        "\n"
        "[nbd]\n"
        "listen = 127.0.0.1:10809\n"
        "\n"
        "[iscsi]\n"
        "listen = 127.0.0.1:3260\n"
        "iqn-prefix = iqn.2026-11.org.polltgt\n"
        "\n"
        "[status]\n"
        "socket = polltgt.sock\n"
        "\n"
        "[export disk0]\n"
        "backend = memory\n"
        "size = 1G\n");

    ck_assert_uint_eq(cfg->iothreads, 2);
    ck_assert_ptr_eq(cfg->iothread[0].params.policy, &policy_weighted_ops);
    ck_assert_ptr_eq(cfg->iothread[1].params.policy, &policy_busy_ops);
    ck_assert_int_eq(cfg->iothread[1].cpu, 1);
    ck_assert_uint_eq(cfg->nbd_listen.n, 1);
    ck_assert_uint_eq(cfg->iscsi_listen.n, 1);
    ck_assert_uint_eq(cfg->nexports, 1);
    config_free(cfg);
}
END_TEST

START_TEST(test_shipped_polltgt_ini_loads_cleanly)
{
    const char *srcdir = getenv("POLLTGT_SRCDIR");
    char *path;
    struct config *cfg = NULL;
    char *msg = NULL;
    int r;

    ck_assert_ptr_nonnull(srcdir); /* only registered when set */
    ck_assert_int_ge(asprintf(&path, "%s/conf/polltgt.ini", srcdir), 0);
    r = config_load(path, &cfg, &msg);
    ck_assert_msg(r == 0, "%s: returned %d:\n%s", path, r, msg ? msg : "");
    ck_assert_ptr_null(msg);
    ck_assert_uint_eq(cfg->iothreads, 1);
    ck_assert_int_eq(cfg->log_level, LOG_LEVEL_INFO);
    ck_assert_ptr_null(cfg->pidfile);
    assert_default_poll(&cfg->poll);
    assert_default_poll(&cfg->iothread[0].params);
    ck_assert_uint_eq(cfg->nbd_listen.n, 1);
    assert_tcp(&cfg->nbd_listen.addr[0], "127.0.0.1", "10809");
    ck_assert_uint_eq(cfg->iscsi_listen.n, 1);
    assert_tcp(&cfg->iscsi_listen.addr[0], "127.0.0.1", "3260");
    ck_assert_str_eq(cfg->exports[0].iqn, "iqn.2026-11.org.polltgt:disk0");
    ck_assert_ptr_nonnull(cfg->status_socket);
    ck_assert_uint_eq(cfg->status_mode, 0600);
    ck_assert_uint_eq(cfg->nexports, 1);
    ck_assert_str_eq(cfg->exports[0].backend, "memory");
    ck_assert_uint_eq(cfg->exports[0].size, UINT64_C(1) << 30);
    ck_assert_ptr_nonnull(config_find_export(cfg, cfg->exports[0].name));
    config_free(cfg);
    free(path);
}
END_TEST

static Suite *
config_keys_suite(void)
{
    Suite *s = suite_create("config-keys");
    TCase *tc;

    tc = tcase_create("defaults");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_empty_file_gives_documented_defaults);
    tcase_add_test(tc, test_comments_and_blank_lines_give_defaults);
    tcase_add_test(tc, test_empty_sections_give_defaults_except_listeners);
    tcase_add_test(tc, test_every_iothread_gets_poll_params_and_no_cpu);
    tcase_add_test(tc, test_default_threads_get_default_poll_params);
    tcase_add_test(tc, test_no_listeners_when_nbd_and_iscsi_sections_absent);
    tcase_add_test(tc, test_nbd_section_without_listen_uses_loopback_10809);
    tcase_add_test(tc, test_iscsi_section_without_keys_uses_port_3260_and_default_iqn);
    tcase_add_test(tc, test_export_optional_keys_default_off);
    suite_add_tcase(s, tc);

    tc = tcase_create("key list");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_foreach_key_lists_every_key_once_per_section);
    tcase_add_test(tc,
                   test_foreach_key_includes_every_policy_param_with_default);
    tcase_add_test(tc, test_every_listed_key_is_known_to_the_loader);
    suite_add_tcase(s, tc);

    tc = tcase_create("samples");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_design_brief_sample_loads);
    if (getenv("POLLTGT_SRCDIR")) {
        tcase_add_test(tc, test_shipped_polltgt_ini_loads_cleanly);
    } else {
        fprintf(stderr, "SKIP: test_shipped_polltgt_ini_loads_cleanly: "
                        "POLLTGT_SRCDIR is not set\n");
    }
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    return ct_main(config_keys_suite());
}
