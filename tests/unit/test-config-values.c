/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the values of [server], [poll], [iothread N], [nbd] and
 * [status] (server/config-value.c, and the layering of [iothread N] over
 * [poll] in config-finish.c): every key read back in every spelling it
 * accepts, and every kind of bad value rejected with a message naming the
 * line, the section, the key, the value and what is accepted.
 */
#include <config.h>

#include <check.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-test-helpers.h"

/* --- Keys ----------------------------------------------------------- */

START_TEST(test_iothreads_number_is_read_back)
{
    struct config *cfg = load_ok("[server]\niothreads = 7\n");

    ck_assert_uint_eq(cfg->iothreads, 7);
    ck_assert(!cfg->iothreads_auto);
    ck_assert_ptr_nonnull(cfg->iothread);
    ck_assert_int_eq(cfg->iothread[6].cpu, -1);
    config_free(cfg);

    cfg = load_ok("[server]\niothreads = 256\n");
    ck_assert_uint_eq(cfg->iothreads, CONFIG_MAX_IOTHREADS);
    config_free(cfg);
}
END_TEST

START_TEST(test_iothreads_auto_is_online_cpu_count)
{
    struct config *cfg = load_ok("[server]\niothreads = auto\n");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned want = n < 1 ? 1 : n > CONFIG_MAX_IOTHREADS ? CONFIG_MAX_IOTHREADS
                                                         : (unsigned)n;

    ck_assert(cfg->iothreads_auto);
    ck_assert_uint_eq(cfg->iothreads, want);
    for (unsigned i = 0; i < want; i++) {
        assert_default_poll(&cfg->iothread[i].params);
    }
    config_free(cfg);
}
END_TEST

static const struct {
    const char *name;
    enum log_level level;
} log_levels[] = {
    { "error", LOG_LEVEL_ERROR },
    { "warn", LOG_LEVEL_WARN },
    { "warning", LOG_LEVEL_WARN },
    { "info", LOG_LEVEL_INFO },
    { "debug", LOG_LEVEL_DEBUG },
};

START_TEST(test_log_level_accepts_each_name)
{
    char text[128];
    struct config *cfg;

    snprintf(text, sizeof text, "[server]\nlog-level = %s\n",
             log_levels[_i].name);
    cfg = load_ok(text);
    ck_assert_msg(cfg->log_level == log_levels[_i].level,
                  "log-level = %s gave %d", log_levels[_i].name,
                  (int)cfg->log_level);
    config_free(cfg);
}
END_TEST

START_TEST(test_pidfile_absolute_is_kept)
{
    struct config *cfg = load_ok("[server]\npidfile = /run/polltgtd.pid\n");

    ck_assert_str_eq(cfg->pidfile, "/run/polltgtd.pid");
    config_free(cfg);
}
END_TEST

START_TEST(test_pidfile_relative_is_made_absolute)
{
    struct config *cfg = load_ok("[server]\npidfile = run/polltgtd.pid\n");
    char *want = cwd_path("run/polltgtd.pid");

    ck_assert_str_eq(cfg->pidfile, want);
    free(want);
    config_free(cfg);
}
END_TEST

static const char *const policy_names[] = {
    "off", "classic", "per-handler", "weighted", "busy",
};

START_TEST(test_poll_policy_accepts_each_name)
{
    char text[128];
    struct config *cfg;

    snprintf(text, sizeof text, "[poll]\npolicy = %s\n", policy_names[_i]);
    cfg = load_ok(text);
    ck_assert_ptr_nonnull(cfg->poll.policy);
    ck_assert_str_eq(cfg->poll.policy->name, policy_names[_i]);
    ck_assert_ptr_eq(cfg->poll.policy, policy_find(policy_names[_i]));
    ck_assert_ptr_eq(cfg->iothread[0].params.policy, cfg->poll.policy);
    config_free(cfg);
}
END_TEST

static const struct {
    const char *value;
    int64_t ns;
} max_ns_values[] = {
    { "0", 0 },
    { "32768", 32768 },
    { "auto", POLICY_MAX_NS_AUTO },
    { "100000", 100000 },
    { "500ns", 500 },
    { "64us", 64000 },
    { "2ms", 2000000 },
    { "1s", 1000000000 },
    { "1000000000", 1000000000 },
};

START_TEST(test_poll_max_ns_plain_is_ns_and_units_convert)
{
    char text[128];
    struct config *cfg;

    snprintf(text, sizeof text, "[poll]\nmax-ns = %s\n", max_ns_values[_i].value);
    cfg = load_ok(text);
    ck_assert_msg(cfg->poll.max_ns == max_ns_values[_i].ns,
                  "max-ns = %s gave %jd", max_ns_values[_i].value,
                  (intmax_t)cfg->poll.max_ns);
    ck_assert_int_eq(cfg->iothread[0].params.max_ns, max_ns_values[_i].ns);
    config_free(cfg);
}
END_TEST

START_TEST(test_poll_grow_shrink_weight_are_read_back)
{
    struct config *cfg = load_ok("[poll]\ngrow = 4\nshrink = 8\nweight = 6\n");

    ck_assert_int_eq(cfg->poll.grow, 4);
    ck_assert_int_eq(cfg->poll.shrink, 8);
    ck_assert_int_eq(cfg->poll.weight, 6);
    config_free(cfg);

    /* The ends of each range, and 0 which means "the policy default". */
    cfg = load_ok("[poll]\ngrow = 0\nshrink = 0\nweight = 0\n");
    ck_assert_int_eq(cfg->poll.grow, 0);
    ck_assert_int_eq(cfg->poll.shrink, 0);
    ck_assert_int_eq(cfg->poll.weight, 0);
    config_free(cfg);

    cfg = load_ok("[poll]\ngrow = 1024\nshrink = 1024\nweight = 63\n");
    ck_assert_int_eq(cfg->poll.grow, 1024);
    ck_assert_int_eq(cfg->poll.shrink, 1024);
    ck_assert_int_eq(cfg->poll.weight, 63);
    config_free(cfg);
}
END_TEST

static const struct {
    const char *value;
    int64_t ms;
} idle_values[] = {
    { "7000", 7000 },
    { "1", 1 },
    { "1500", 1500 },
    { "2s", 2000 },
    { "250ms", 250 },
    { "1m", 60000 },
    { "1h", 3600000 },
    { "3000us", 3 },
};

START_TEST(test_poll_idle_timeout_plain_is_ms_and_units_convert)
{
    char text[128];
    struct config *cfg;

    snprintf(text, sizeof text, "[poll]\nidle-timeout-ms = %s\n",
             idle_values[_i].value);
    cfg = load_ok(text);
    ck_assert_msg(cfg->poll.idle_timeout_ms == idle_values[_i].ms,
                  "idle-timeout-ms = %s gave %jd", idle_values[_i].value,
                  (intmax_t)cfg->poll.idle_timeout_ms);
    config_free(cfg);
}
END_TEST

START_TEST(test_iothread_override_changes_only_given_keys)
{
    struct config *cfg = load_ok("[server]\n"
                                 "iothreads = 3\n"
                                 "[poll]\n"
                                 "policy = classic\n"
                                 "max-ns = 10000\n"
                                 "grow = 4\n"
                                 "[iothread 1]\n"
                                 "policy = busy\n"
                                 "weight = 5\n"
                                 "[iothread 2]\n"
                                 "max-ns = 64us\n"
                                 "idle-timeout-ms = 2s\n"
                                 "shrink = 3\n");
    const struct config_iothread *t = cfg->iothread;

    ck_assert_uint_eq(cfg->iothreads, 3);
    /* Thread 0 has no section: exactly [poll]. */
    ck_assert_ptr_eq(t[0].params.policy, &policy_classic_ops);
    ck_assert_int_eq(t[0].params.max_ns, 10000);
    ck_assert_int_eq(t[0].params.grow, 4);
    ck_assert_int_eq(t[0].params.shrink, 2);
    ck_assert_int_eq(t[0].params.weight, 3);
    ck_assert_int_eq(t[0].params.idle_timeout_ms, 7000);
    ck_assert_uint_eq(t[0].line, 0);
    ck_assert_int_eq(t[0].cpu, -1);

    /* Thread 1: policy and weight overridden, the rest from [poll]. */
    ck_assert_ptr_eq(t[1].params.policy, &policy_busy_ops);
    ck_assert_int_eq(t[1].params.weight, 5);
    ck_assert_int_eq(t[1].params.max_ns, 10000);
    ck_assert_int_eq(t[1].params.grow, 4);
    ck_assert_int_eq(t[1].params.shrink, 2);
    ck_assert_int_eq(t[1].params.idle_timeout_ms, 7000);
    ck_assert_uint_eq(t[1].line, 7);
    ck_assert_int_eq(t[1].cpu, -1);

    /* Thread 2: max-ns, idle timeout and shrink overridden. */
    ck_assert_ptr_eq(t[2].params.policy, &policy_classic_ops);
    ck_assert_int_eq(t[2].params.max_ns, 64000);
    ck_assert_int_eq(t[2].params.idle_timeout_ms, 2000);
    ck_assert_int_eq(t[2].params.shrink, 3);
    ck_assert_int_eq(t[2].params.grow, 4);
    ck_assert_int_eq(t[2].params.weight, 3);
    ck_assert_uint_eq(t[2].line, 10);

    /* [poll] itself is unchanged by the overrides. */
    ck_assert_ptr_eq(cfg->poll.policy, &policy_classic_ops);
    ck_assert_int_eq(cfg->poll.weight, 3);
    config_free(cfg);
}
END_TEST

START_TEST(test_iothread_override_layers_over_poll_given_later)
{
    /* [iothread N] and [server] before [poll]: layering happens at the end. */
    struct config *cfg = load_ok("[iothread 1]\n"
                                 "grow = 8\n"
                                 "[poll]\n"
                                 "grow = 3\n"
                                 "shrink = 5\n"
                                 "[server]\n"
                                 "iothreads = 2\n");

    ck_assert_int_eq(cfg->iothread[0].params.grow, 3);
    ck_assert_int_eq(cfg->iothread[0].params.shrink, 5);
    ck_assert_int_eq(cfg->iothread[1].params.grow, 8);
    ck_assert_int_eq(cfg->iothread[1].params.shrink, 5);
    ck_assert_uint_eq(cfg->iothread[1].line, 1);
    config_free(cfg);
}
END_TEST

START_TEST(test_iothread_override_to_zero_is_applied)
{
    /* 0 is a real value (polling off), not "not given". */
    struct config *cfg = load_ok("[server]\niothreads = 2\n"
                                 "[iothread 0]\nmax-ns = 0\ngrow = 0\n");

    ck_assert_int_eq(cfg->iothread[0].params.max_ns, 0);
    ck_assert_int_eq(cfg->iothread[0].params.grow, 0);
    ck_assert_int_eq(cfg->iothread[1].params.max_ns, POLICY_MAX_NS_AUTO);
    ck_assert_int_eq(cfg->iothread[1].params.grow, 2);
    config_free(cfg);
}
END_TEST

START_TEST(test_iothread_cpu_pins_only_that_thread)
{
    struct config *cfg = load_ok("[server]\niothreads = 3\n"
                                 "[iothread 0]\ncpu = 0\n"
                                 "[iothread 2]\ncpu = 1023\n");

    ck_assert_int_eq(cfg->iothread[0].cpu, 0);
    ck_assert_int_eq(cfg->iothread[1].cpu, -1);
    ck_assert_int_eq(cfg->iothread[2].cpu, 1023);
    assert_default_poll(&cfg->iothread[0].params);
    assert_default_poll(&cfg->iothread[2].params);
    config_free(cfg);
}
END_TEST

START_TEST(test_iothread_section_given_twice_merges_keys)
{
    struct config *cfg = load_ok("[server]\niothreads = 2\n"
                                 "[iothread 1]\npolicy = off\n"
                                 "[poll]\nweight = 4\n"
                                 "[iothread 1]\ncpu = 1\n");

    ck_assert_ptr_eq(cfg->iothread[1].params.policy, &policy_off_ops);
    ck_assert_int_eq(cfg->iothread[1].cpu, 1);
    ck_assert_int_eq(cfg->iothread[1].params.weight, 4);
    ck_assert_uint_eq(cfg->iothread[1].line, 3); /* the first header */
    config_free(cfg);
}
END_TEST

START_TEST(test_nbd_listen_list_of_ipv4_ipv6_unix_and_default_port)
{
    struct config *cfg = load_ok("[nbd]\n"
                                 "listen = 127.0.0.1:10809, [::1]:10810 "
                                 "unix:/run/polltgt-nbd.sock,localhost, :2000, "
                                 "[::]\n");
    const struct parse_addr *a = cfg->nbd_listen.addr;

    ck_assert_uint_eq(cfg->nbd_listen.n, 6);
    assert_tcp(&a[0], "127.0.0.1", "10809");
    assert_tcp(&a[1], "::1", "10810");
    ck_assert_int_eq(a[2].kind, PARSE_ADDR_UNIX);
    ck_assert_str_eq(a[2].path, "/run/polltgt-nbd.sock");
    assert_tcp(&a[3], "localhost", "10809");
    assert_tcp(&a[4], "", "2000");
    assert_tcp(&a[5], "::", "10809");
    config_free(cfg);
}
END_TEST

START_TEST(test_status_socket_relative_is_made_absolute)
{
    struct config *cfg = load_ok("[status]\nsocket = run/ctl.sock\n");
    char *want = cwd_path("run/ctl.sock");

    ck_assert_str_eq(cfg->status_socket, want);
    free(want);
    config_free(cfg);

    cfg = load_ok("[status]\nsocket = /run/polltgt/ctl.sock\n");
    ck_assert_str_eq(cfg->status_socket, "/run/polltgt/ctl.sock");
    config_free(cfg);
}
END_TEST

START_TEST(test_status_socket_none_disables_it)
{
    struct config *cfg = load_ok("[status]\nsocket = none\n");

    ck_assert_ptr_null(cfg->status_socket);
    ck_assert_uint_eq(cfg->status_mode, 0600);
    config_free(cfg);
}
END_TEST

START_TEST(test_status_socket_mode_is_octal)
{
    struct config *cfg = load_ok("[status]\nsocket-mode = 0660\n");

    ck_assert_uint_eq(cfg->status_mode, 0660);
    config_free(cfg);

    cfg = load_ok("[status]\nsocket-mode = 600\n");
    ck_assert_uint_eq(cfg->status_mode, 0600);
    config_free(cfg);
}
END_TEST

START_TEST(test_status_socket_owner_and_group_resolve_names)
{
    struct config *cfg = load_ok("[status]\nsocket-owner = root\n"
                                 "socket-group = 0\n");

    ck_assert_int_eq(cfg->status_uid, 0);
    ck_assert_int_eq(cfg->status_gid, 0);
    config_free(cfg);
    cfg = load_ok("");
    ck_assert_int_eq(cfg->status_uid, -1);
    ck_assert_int_eq(cfg->status_gid, -1);
    config_free(cfg);
    expect_error("[status]\nsocket-owner = no-such-user-here\n", 2,
                 "[status] socket-owner", "no-such-user-here",
                 "user name or number");
    expect_error("[status]\nsocket-group = no-such-group-here\n", 2,
                 "[status] socket-group", "no-such-group-here",
                 "group name or number");
}
END_TEST

START_TEST(test_server_user_and_group_resolve_names)
{
    struct config *cfg = load_ok("[server]\nuser = root\ngroup = 0\n");

    ck_assert_int_eq(cfg->run_uid, 0);
    ck_assert_int_eq(cfg->run_gid, 0);
    config_free(cfg);
    cfg = load_ok("");
    ck_assert_int_eq(cfg->run_uid, -1);
    ck_assert_int_eq(cfg->run_gid, -1);
    config_free(cfg);
    expect_error("[server]\nuser = no-such-user-here\n", 2, "[server] user",
                 "unknown user 'no-such-user-here'", "user name or number");
    expect_error("[server]\ngroup = no-such-group-here\n", 2,
                 "[server] group", "no-such-group-here",
                 "group name or number");
}
END_TEST

START_TEST(test_max_connections_per_client_is_read_back)
{
    struct config *cfg = load_ok("[nbd]\nmax-connections-per-client = 4\n"
                                 "[iscsi]\nmax-connections-per-client = 2\n");

    ck_assert_uint_eq(cfg->nbd_max_connections_per_client, 4);
    ck_assert_uint_eq(cfg->iscsi_max_connections_per_client, 2);
    config_free(cfg);
    cfg = load_ok("");
    ck_assert_uint_eq(cfg->nbd_max_connections_per_client, 0);
    ck_assert_uint_eq(cfg->iscsi_max_connections_per_client, 0);
    config_free(cfg);
    expect_error("[nbd]\nmax-connections-per-client = -1\n", 2,
                 "[nbd] max-connections-per-client", "-1", "from 0 to 65536");
    cfg = load_ok("[nbd]\nmax-inflight = 8\n");
    ck_assert_uint_eq(cfg->nbd_max_inflight, 8);
    config_free(cfg);
    cfg = load_ok("");
    ck_assert_uint_eq(cfg->nbd_max_inflight, 64);
    config_free(cfg);
    expect_error("[nbd]\nmax-inflight = 65\n", 2, "[nbd] max-inflight",
                 "65", "from 1 to 64");
}
END_TEST

START_TEST(test_nbd_tuning_keys_are_read_back)
{
    struct config *cfg = load_ok("[nbd]\n"
                                 "default-export = b\n"
                                 "max-connections = 10\n"
                                 "max-payload = 1M\n"
                                 "handshake-timeout = 30\n"
                                 "[export a]\nbackend = null\nsize = 1M\n"
                                 "[export b]\nbackend = null\nsize = 1M\n");

    ck_assert_str_eq(cfg->nbd_default_export, "b");
    ck_assert_uint_eq(cfg->nbd_max_connections, 10);
    ck_assert_uint_eq(cfg->nbd_max_payload, UINT64_C(1) << 20);
    /* A bare handshake-timeout is in seconds. */
    ck_assert_int_eq(cfg->nbd_handshake_timeout_ns, INT64_C(30) * 1000000000);
    config_free(cfg);

    cfg = load_ok("[nbd]\nmax-connections = 65536\nmax-payload = 4096\n"
                  "handshake-timeout = 500ms\n");
    ck_assert_uint_eq(cfg->nbd_max_connections, 65536);
    ck_assert_uint_eq(cfg->nbd_max_payload, 4096);
    ck_assert_int_eq(cfg->nbd_handshake_timeout_ns, INT64_C(500) * 1000000);
    config_free(cfg);

    cfg = load_ok("[nbd]\nmax-connections = 1\nmax-payload = 1G\n"
                  "handshake-timeout = 1h\n");
    ck_assert_uint_eq(cfg->nbd_max_connections, 1);
    ck_assert_uint_eq(cfg->nbd_max_payload, UINT64_C(1) << 30);
    ck_assert_int_eq(cfg->nbd_handshake_timeout_ns, INT64_C(3600) * 1000000000);
    config_free(cfg);
}
END_TEST

/* How long a graceful stop waits: 30 s unless set, 0 allowed (close at
 * once), at most an hour, as a duration. */
START_TEST(test_server_drain_timeout)
{
    struct config *cfg = load_ok("");

    ck_assert_int_eq(cfg->drain_timeout_ns, INT64_C(30) * 1000000000);
    config_free(cfg);
    cfg = load_ok("[server]\ndrain-timeout = 0\n");
    ck_assert_int_eq(cfg->drain_timeout_ns, 0);
    config_free(cfg);
    cfg = load_ok("[server]\ndrain-timeout = 2500ms\n");
    ck_assert_int_eq(cfg->drain_timeout_ns, INT64_C(2500) * 1000000);
    config_free(cfg);
    expect_error("[server]\ndrain-timeout = 2h\n", 2,
                 "[server] drain-timeout", "2h", "to 3600s");
    expect_error("[server]\ndrain-timeout = soon\n", 2,
                 "[server] drain-timeout", "soon", "a bare number is in seconds");
}
END_TEST

START_TEST(test_nbd_unix_listen_relative_is_made_absolute)
{
    struct config *cfg = load_ok("[nbd]\nlisten = unix:run/nbd.sock\n");
    char *want = cwd_path("run/nbd.sock");

    ck_assert_uint_eq(cfg->nbd_listen.n, 1);
    ck_assert_int_eq(cfg->nbd_listen.addr[0].kind, PARSE_ADDR_UNIX);
    ck_assert_str_eq(cfg->nbd_listen.addr[0].path, want);
    free(want);
    config_free(cfg);
}
END_TEST

START_TEST(test_base_dir_anchors_relative_paths)
{
    struct config *cfg;

    /* Each test runs in its own process (CK_FORK), so this does not leak. */
    config_set_base_dir("/srv/polltgt");
    cfg = load_ok("[server]\npidfile = p.pid\n"
                  "[status]\nsocket = s.sock\n"
                  "[nbd]\nlisten = unix:n.sock\n"
                  "[export f]\nbackend = file\npath = img/f.img\n");
    ck_assert_str_eq(cfg->pidfile, "/srv/polltgt/p.pid");
    ck_assert_str_eq(cfg->status_socket, "/srv/polltgt/s.sock");
    ck_assert_str_eq(cfg->nbd_listen.addr[0].path, "/srv/polltgt/n.sock");
    ck_assert_str_eq(cfg->exports[0].path, "/srv/polltgt/img/f.img");
    config_free(cfg);
}
END_TEST

/* --- Errors --------------------------------------------------------- */

static const struct {
    const char *text;
    unsigned line;
    const char *where, *value, *accepted;
} bad_values[] = {
    /* int */
    { "[server]\niothreads = 2\n[iothread 1]\ncpu = first\n", 4,
      "[iothread 1] cpu", "'first'", "a whole number from 0 to 1023" },
    { "[poll]\ngrow = 2x\n", 2, "[poll] grow", "'2x'",
      "a whole number from 0 to 1024" },
    { "[poll]\nweight = heavy\n", 2, "[poll] weight", "'heavy'",
      "a whole number from 0 to 63" },
    { "[server]\niothreads = two\n", 2, "[server] iothreads", "'two'",
      "a whole number from 1 to 256 or 'auto'" },
    { "[export d]\nbackend = memory\nsize = 1M\niothread = any\n", 4,
      "[export d] iothread", "'any'", "a whole number from 0 to 255" },
    /* size */
    { "[export d]\nbackend = memory\nsize = 1.5G\n", 3, "[export d] size",
      "'1.5G'", "a size in bytes with an optional suffix K, M, G" },
    { "[export d]\nbackend = memory\nsize = big\n", 3, "[export d] size",
      "'big'", "from 1 to 4E" },
    /* bool */
    { "[export d]\nbackend = memory\nsize = 1M\nreadonly = maybe\n", 4,
      "[export d] readonly", "'maybe'", "yes/no, true/false, on/off or 1/0" },
    { "[export d]\nbackend = file\npath = /x\ncreate = y\n", 4,
      "[export d] create", "'y'", "yes/no, true/false, on/off or 1/0" },
    { "[export d]\nbackend = file\npath = /x\ndirect = 2\n", 4,
      "[export d] direct", "'2'", "yes/no, true/false, on/off or 1/0" },
    /* duration */
    { "[poll]\nmax-ns = 5 parsecs\n", 2, "[poll] max-ns", "'5 parsecs'",
      "a bare number is in nanoseconds; units ns, us, ms, s" },
    { "[poll]\nidle-timeout-ms = soon\n", 2, "[poll] idle-timeout-ms", "'soon'",
      "a bare number is in milliseconds; units ns, us, ms, s" },
    { "[poll]\nmax-ns = -5\n", 2, "[poll] max-ns", "'-5'",
      "a duration from 0ns to 1000000000ns" },
    /* policy name */
    { "[poll]\npolicy = fast\n", 2, "[poll] policy", "'fast'",
      "off, classic, per-handler, weighted, busy" },
    { "[iothread 0]\npolicy = Weighted\n", 2, "[iothread 0] policy",
      "'Weighted'", "off, classic, per-handler, weighted, busy" },
    /* log level */
    { "[server]\nlog-level = loud\n", 2, "[server] log-level", "'loud'",
      "error, warn, info or debug" },
    /* listen address */
    { "[nbd]\nlisten = 127.0.0.1:http\n", 2, "[nbd] listen",
      "'127.0.0.1:http'", "HOST:PORT, [IPv6]:PORT or unix:PATH" },
    { "[nbd]\nlisten = :10809, ::1\n", 2, "[nbd] listen", "'::1'",
      "[IPv6]:PORT" },
    { "[iscsi]\nlisten = [1.2.3.4]:3260\n", 2, "[iscsi] listen",
      "'[1.2.3.4]:3260'", "HOST:PORT, [IPv6]:PORT or unix:PATH" },
    { "[iscsi]\nlisten = unix:\n", 2, "[iscsi] listen", "'unix:'",
      "unix:PATH" },
    /* mode */
    { "[status]\nsocket-mode = rw-------\n", 2, "[status] socket-mode",
      "'rw-------'", "an octal file mode such as 0600" },
    { "[status]\nsocket-mode = 0680\n", 2, "[status] socket-mode", "'0680'",
      "an octal file mode such as 0600" },
    /* iqn */
    { "[iscsi]\niqn-prefix = iqn.2026-11.org.Polltgt\n", 2,
      "[iscsi] iqn-prefix", "'iqn.2026-11.org.Polltgt'",
      "iqn.YYYY-MM.reversed.domain in lower case" },
    { "[iscsi]\niqn-prefix = eui.02004567A425678D\n", 2, "[iscsi] iqn-prefix",
      "'eui.02004567A425678D'", "iqn.YYYY-MM.reversed.domain" },
    { "[iscsi]\niqn-prefix = iqn.26-11.org.polltgt\n", 2, "[iscsi] iqn-prefix",
      "'iqn.26-11.org.polltgt'", "iqn.YYYY-MM.reversed.domain" },
    /* backend */
    { "[export d]\nbackend = ramdisk\nsize = 1G\n", 2, "[export d] backend",
      "'ramdisk'", "memory, file, null, nbd, iscsi or rbd" },
};

START_TEST(test_malformed_value_names_file_line_section_key_value_accepted)
{
    char *msg = load_err(bad_values[_i].text);

    assert_error_line(msg, bad_values[_i].line, bad_values[_i].where,
                      bad_values[_i].value, bad_values[_i].accepted);
    free(msg);
}
END_TEST

static const struct {
    const char *text;
    unsigned line;
    const char *where, *value, *accepted;
} out_of_range[] = {
    { "[server]\niothreads = 0\n", 2, "[server] iothreads", "'0'",
      "from 1 to 256 or 'auto'" },
    { "[server]\niothreads = 1000\n", 2, "[server] iothreads", "'1000'",
      "from 1 to 256 or 'auto'" },
    { "[server]\niothreads = 257\n", 2, "[server] iothreads", "'257'",
      "from 1 to 256 or 'auto'" },
    { "[poll]\nweight = 64\n", 2, "[poll] weight", "'64'", "from 0 to 63" },
    { "[poll]\ngrow = 1025\n", 2, "[poll] grow", "'1025'", "from 0 to 1024" },
    { "[poll]\nshrink = -1\n", 2, "[poll] shrink", "'-1'", "from 0 to 1024" },
    { "[poll]\nmax-ns = 2s\n", 2, "[poll] max-ns", "'2s'",
      "from 0ns to 1000000000ns" },
    { "[poll]\nmax-ns = 1000000001\n", 2, "[poll] max-ns", "'1000000001'",
      "from 0ns to 1000000000ns" },
    { "[poll]\nidle-timeout-ms = 0\n", 2, "[poll] idle-timeout-ms", "'0'",
      "from 1ms to 86400000ms" },
    { "[poll]\nidle-timeout-ms = 2d\n", 2, "[poll] idle-timeout-ms", "'2d'",
      "from 1ms to 86400000ms" },
    { "[poll]\nidle-timeout-ms = 25h\n", 2, "[poll] idle-timeout-ms", "'25h'",
      "from 1ms to 86400000ms" },
    /* Not a whole number of milliseconds. */
    { "[poll]\nidle-timeout-ms = 1500us\n", 2, "[poll] idle-timeout-ms",
      "'1500us'", "from 1ms to 86400000ms" },
    { "[iothread 0]\ncpu = 5000\n", 2, "[iothread 0] cpu", "'5000'",
      "from 0 to 1023" },
    { "[iothread 0]\ncpu = -1\n", 2, "[iothread 0] cpu", "'-1'",
      "from 0 to 1023" },
    { "[export d]\nbackend = memory\nsize = 0\n", 3, "[export d] size", "'0'",
      "from 1 to 4E" },
    { "[export d]\nbackend = memory\nsize = 5E\n", 3, "[export d] size", "'5E'",
      "from 1 to 4E" },
    { "[export d]\nbackend = memory\nsize = 16E\n", 3, "[export d] size",
      "'16E'", "from 1 to 4E" },
    { "[export d]\nbackend = memory\nsize = 1M\niothread = 256\n", 4,
      "[export d] iothread", "'256'", "from 0 to 255" },
    { "[status]\nsocket-mode = 10000\n", 2, "[status] socket-mode", "'10000'",
      "octal file mode" },
};

START_TEST(test_out_of_range_value_is_rejected_with_range)
{
    char *msg = load_err(out_of_range[_i].text);

    assert_error_line(msg, out_of_range[_i].line, out_of_range[_i].where,
                      out_of_range[_i].value, out_of_range[_i].accepted);
    free(msg);
}
END_TEST

START_TEST(test_empty_path_and_empty_listen_are_rejected)
{
    expect_error("[server]\npidfile =\n", 2, "[server] pidfile", "empty value",
                 "expected a path");
    expect_error("[status]\nsocket =\n", 2, "[status] socket", "empty value");
    expect_error("[nbd]\nlisten = ,\n", 2, "[nbd] listen", "empty value",
                 "HOST:PORT");
}
END_TEST

START_TEST(test_status_socket_too_long_is_rejected)
{
    char text[256];
    char path[150];

    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    snprintf(text, sizeof text, "[status]\nsocket = %s\n", path);
    expect_error(text, 2, "[status] socket", path, "too long for a Unix socket",
                 "107 bytes");
}
END_TEST

START_TEST(test_nbd_tuning_keys_reject_out_of_range)
{
    expect_error("[nbd]\nmax-connections = 0\n", 2, "[nbd] max-connections",
                 "'0'", "from 1 to 65536");
    expect_error("[nbd]\nmax-connections = 65537\n", 2,
                 "[nbd] max-connections", "'65537'", "from 1 to 65536");
    expect_error("[nbd]\nmax-connections = many\n", 2,
                 "[nbd] max-connections", "'many'", "a whole number");
    expect_error("[nbd]\nmax-payload = 1K\n", 2, "[nbd] max-payload", "'1K'",
                 "from 4K to 1G");
    expect_error("[nbd]\nmax-payload = 2G\n", 2, "[nbd] max-payload", "'2G'",
                 "from 4K to 1G");
    expect_error("[nbd]\nhandshake-timeout = 0\n", 2,
                 "[nbd] handshake-timeout", "'0'", "a bare number is in seconds",
                 "from 1ms to 3600s");
    expect_error("[nbd]\nhandshake-timeout = 2h\n", 2,
                 "[nbd] handshake-timeout", "'2h'", "from 1ms to 3600s");
    expect_error("[nbd]\nhandshake-timeout = soon\n", 2,
                 "[nbd] handshake-timeout", "'soon'", "a duration");
}
END_TEST

START_TEST(test_nbd_default_export_must_exist)
{
    char *msg = load_err("[nbd]\ndefault-export = nope\n"
                         "[export d]\nbackend = null\nsize = 1M\n");

    assert_msg_has(msg, TEST_FILE);
    assert_msg_has(msg, "[nbd] default-export");
    assert_msg_has(msg, "there is no [export nope]");
    free(msg);
}
END_TEST

static Suite *
config_values_suite(void)
{
    Suite *s = suite_create("config-values");
    TCase *tc;

    tc = tcase_create("keys");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_test(tc, test_iothreads_number_is_read_back);
    tcase_add_test(tc, test_iothreads_auto_is_online_cpu_count);
    tcase_add_loop_test(tc, test_log_level_accepts_each_name, 0, N(log_levels));
    tcase_add_test(tc, test_pidfile_absolute_is_kept);
    tcase_add_test(tc, test_pidfile_relative_is_made_absolute);
    tcase_add_loop_test(tc, test_poll_policy_accepts_each_name, 0,
                        N(policy_names));
    tcase_add_loop_test(tc, test_poll_max_ns_plain_is_ns_and_units_convert, 0,
                        N(max_ns_values));
    tcase_add_test(tc, test_poll_grow_shrink_weight_are_read_back);
    tcase_add_loop_test(tc,
                        test_poll_idle_timeout_plain_is_ms_and_units_convert, 0,
                        N(idle_values));
    tcase_add_test(tc, test_iothread_override_changes_only_given_keys);
    tcase_add_test(tc, test_iothread_override_layers_over_poll_given_later);
    tcase_add_test(tc, test_iothread_override_to_zero_is_applied);
    tcase_add_test(tc, test_iothread_cpu_pins_only_that_thread);
    tcase_add_test(tc, test_iothread_section_given_twice_merges_keys);
    tcase_add_test(tc, test_nbd_listen_list_of_ipv4_ipv6_unix_and_default_port);
    tcase_add_test(tc, test_status_socket_relative_is_made_absolute);
    tcase_add_test(tc, test_status_socket_none_disables_it);
    tcase_add_test(tc, test_status_socket_mode_is_octal);
    tcase_add_test(tc, test_status_socket_owner_and_group_resolve_names);
    tcase_add_test(tc, test_nbd_tuning_keys_are_read_back);
    tcase_add_test(tc, test_server_drain_timeout);
    tcase_add_test(tc, test_nbd_unix_listen_relative_is_made_absolute);
    tcase_add_test(tc, test_base_dir_anchors_relative_paths);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_loop_test(tc,
                        test_malformed_value_names_file_line_section_key_value_accepted,
                        0, N(bad_values));
    tcase_add_loop_test(tc, test_out_of_range_value_is_rejected_with_range, 0,
                        N(out_of_range));
    tcase_add_test(tc, test_empty_path_and_empty_listen_are_rejected);
    tcase_add_test(tc, test_status_socket_too_long_is_rejected);
    tcase_add_test(tc, test_nbd_tuning_keys_reject_out_of_range);
    tcase_add_test(tc, test_nbd_default_export_must_exist);
    tcase_add_test(tc, test_server_user_and_group_resolve_names);
    tcase_add_test(tc, test_max_connections_per_client_is_read_back);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    return ct_main(config_values_suite());
}
