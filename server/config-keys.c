/* SPDX-License-Identifier: MIT */
/*
 * The configuration keys: one table per section, each key with its type,
 * where it is stored, its range and its documented default, plus the
 * built-in values a struct config starts from.
 *
 * These tables are the one list of keys: the loader looks keys up here,
 * config_foreach_key() hands them to the documentation test, and the poll
 * tunables come from policy.c's parameter table so the status socket
 * validates them the same way.  The built-in defaults sit next to the
 * tables so that a default changed in one place is seen to need changing
 * in the other (test-docs-keys.sh checks the manual against the dflt
 * strings, the unit tests check what an empty file loads as).
 */
#include <config.h>

#include <stdbool.h>
#include <stddef.h>

#include "config-internal.h"
#include "util/clock.h"

#define CFG(field) offsetof(struct config, field)
#define EXP(field) offsetof(struct config_export, field)
#define IOT(field) offsetof(struct config_iothread_override, field)

static const struct config_key server_keys[] = {
    { "iothreads", KT_IOTHREADS, CFG(iothreads), 1, CONFIG_MAX_IOTHREADS, "1" },
    { "log-level", KT_LOGLEVEL, CFG(log_level), 0, 0, "info" },
    { "pidfile", KT_PATH, CFG(pidfile), 0, 0, NULL },
    { "user", KT_USER, CFG(run_uid), 0, 0, NULL },
    { "group", KT_GROUP, CFG(run_gid), 0, 0, NULL },
    { "drain-timeout", KT_DURATION, CFG(drain_timeout_ns), 0,
      3600 * NS_PER_SEC, "30s" },
    { NULL },
};

/* Offsets into struct config_iothread_override: the section is layered
 * later. */
static const struct config_key iothread_keys[] = {
    { "cpu", KT_INT, IOT(cpu), 0, 1023, NULL },
    { NULL },
};

static const struct config_key nbd_keys[] = {
    { "listen", KT_LISTEN, CFG(nbd_listen), 0, 0, "127.0.0.1:" CONFIG_NBD_DEFAULT_PORT },
    { "default-export", KT_STRING, CFG(nbd_default_export), 0, 0, NULL },
    { "max-connections", KT_UINT, CFG(nbd_max_connections), 1, 65536, "1024" },
    { "max-connections-per-client", KT_UINT, CFG(nbd_max_connections_per_client),
      0, 65536, "0" },
    { "max-payload", KT_SIZE, CFG(nbd_max_payload), 4096, 1 << 30, "64M" },
    { "max-inflight", KT_UINT, CFG(nbd_max_inflight), 1, 64, "64" },
    { "handshake-timeout", KT_DURATION, CFG(nbd_handshake_timeout_ns),
      NS_PER_MS, 3600 * NS_PER_SEC, "10s" },
    { "tls", KT_TLS, CFG(nbd_tls.mode), 0, 0, "off" },
    { "tls-certificates", KT_PATH, CFG(nbd_tls.certificates), 0, 0, NULL },
    { "tls-cert", KT_PATH, CFG(nbd_tls.cert), 0, 0, NULL },
    { "tls-key", KT_PATH, CFG(nbd_tls.key), 0, 0, NULL },
    { "tls-ca", KT_PATH, CFG(nbd_tls.ca), 0, 0, NULL },
    { "tls-crl", KT_PATH, CFG(nbd_tls.crl), 0, 0, NULL },
    { "tls-verify-peer", KT_BOOL, CFG(nbd_tls.verify_peer), 0, 0, "no" },
    { "tls-psk-file", KT_PATH, CFG(nbd_tls.psk_file), 0, 0, NULL },
    { NULL },
};

static const struct config_key iscsi_keys[] = {
    { "listen", KT_LISTEN, CFG(iscsi_listen), 0, 0, "127.0.0.1:" CONFIG_ISCSI_DEFAULT_PORT },
    { "iqn-prefix", KT_IQN, CFG(iqn_prefix), 0, 0, CONFIG_DEFAULT_IQN_PREFIX },
    { "max-connections", KT_UINT, CFG(iscsi_max_connections), 1, 65536, "1024" },
    { "max-connections-per-client", KT_UINT,
      CFG(iscsi_max_connections_per_client), 0, 65536, "0" },
    { "login-timeout", KT_DURATION, CFG(iscsi_login_timeout_ns),
      NS_PER_MS, 3600 * NS_PER_SEC, "15s" },
    { "nop-interval", KT_DURATION, CFG(iscsi_nop_interval_ns),
      0, 3600 * NS_PER_SEC, "30s" },
    { "nop-timeout", KT_DURATION, CFG(iscsi_nop_timeout_ns),
      NS_PER_MS, 3600 * NS_PER_SEC, "15s" },
    { "queue-depth", KT_UINT, CFG(iscsi_queue_depth), 1, 1024, "128" },
    { "max-recv-data-segment-length", KT_SIZE,
      CFG(iscsi_max_recv_data_segment_length), 512, (16 << 20) - 1, "256K" },
    { "max-burst-length", KT_SIZE, CFG(iscsi_max_burst_length), 512,
      (16 << 20) - 1, "1M" },
    { "first-burst-length", KT_SIZE, CFG(iscsi_first_burst_length), 512,
      (16 << 20) - 1, "256K" },
    { "max-outstanding-r2t", KT_UINT, CFG(iscsi_max_outstanding_r2t), 1, 65535,
      "1" },
    { "immediate-data", KT_BOOL, CFG(iscsi_immediate_data), 0, 0, "yes" },
    { "initial-r2t", KT_BOOL, CFG(iscsi_initial_r2t), 0, 0, "no" },
    { "header-digest", KT_DIGEST, CFG(iscsi_header_digest), 0, 0, "none, crc32c" },
    { "data-digest", KT_DIGEST, CFG(iscsi_data_digest), 0, 0, "none, crc32c" },
    { "pr-state-dir", KT_PATH, CFG(iscsi_pr_state_dir), 0, 0, NULL },
    { NULL },
};

static const struct config_key status_keys[] = {
    { "socket", KT_SOCKET, CFG(status_socket), 0, 0, CONFIG_DEFAULT_STATUS_SOCKET },
    { "socket-mode", KT_MODE, CFG(status_mode), 0, 0, "0600" },
    { "socket-owner", KT_USER, CFG(status_uid), 0, 0, NULL },
    { "socket-group", KT_GROUP, CFG(status_gid), 0, 0, NULL },
    { NULL },
};

static const struct config_key export_keys[] = {
    { "backend", KT_BACKEND, EXP(backend), 0, 0, NULL },
    { "size", KT_SIZE, EXP(size), 0, 0, NULL },
    { "path", KT_PATH, EXP(path), 0, 0, NULL },
    { "readonly", KT_BOOL, EXP(readonly), 0, 0, "no" },
    { "create", KT_BOOL, EXP(create), 0, 0, "no" },
    { "direct", KT_BOOL, EXP(direct), 0, 0, "no" },
    { "description", KT_STRING, EXP(description), 0, 0, NULL },
    { "iothread", KT_INT, EXP(iothread), 0, CONFIG_MAX_IOTHREADS - 1, NULL },
    { "allow", KT_ACL, EXP(allow), 0, 0, NULL },
    { "protocols", KT_PROTOCOLS, EXP(protocols), 0, 0, "nbd, iscsi" },
    { "tls", KT_TLS, EXP(tls), 0, 0, "on" },
    { "iqn", KT_IQN, EXP(iqn), 0, 0, NULL },
    { "lun", KT_UINT, EXP(lun), 0, 16383, "0" },
    { "block-size", KT_UINT, EXP(block_size), 512, 4096, "512" },
    { "chap-username", KT_STRING, EXP(chap_username), 0, 0, NULL },
    { "chap-secret", KT_SECRET, EXP(chap_secret), 0, 0, NULL },
    { "chap-mutual-username", KT_STRING, EXP(chap_mutual_username), 0, 0, NULL },
    { "chap-mutual-secret", KT_SECRET, EXP(chap_mutual_secret), 0, 0, NULL },
    { "initiators", KT_NAMES, EXP(initiators), 0, 0, NULL },
    { "uri", KT_NBD_URI, EXP(uri), 0, 0, NULL },
    { "url", KT_ISCSI_URL, EXP(url), 0, 0, NULL },
    { "initiator-name", KT_STRING, EXP(initiator_name), 0, 0, NULL },
    { "request-timeout", KT_DURATION, EXP(request_timeout_ns), 100 * NS_PER_MS,
      3600 * NS_PER_SEC, "30s" },
    { "pool", KT_STRING, EXP(rbd_pool), 0, 0, NULL },
    { "image", KT_STRING, EXP(rbd_image), 0, 0, NULL },
    { "conf", KT_PATH, EXP(rbd_conf), 0, 0, NULL },
    { "id", KT_STRING, EXP(rbd_id), 0, 0, NULL },
    { "keyring", KT_PATH, EXP(rbd_keyring), 0, 0, NULL },
    { NULL },
};

const struct config_key *
config_keys_section(enum config_section_kind kind)
{
    switch (kind) {
    case SEC_SERVER: return server_keys;
    case SEC_IOTHREAD: return iothread_keys;
    case SEC_NBD: return nbd_keys;
    case SEC_ISCSI: return iscsi_keys;
    case SEC_STATUS: return status_keys;
    case SEC_EXPORT: return export_keys;
    default: return NULL;
    }
}

bool
config_keys_has_poll_params(enum config_section_kind kind)
{
    return kind == SEC_POLL || kind == SEC_IOTHREAD;
}

void
config_keys_defaults(struct config *cfg)
{
    cfg->iothreads = 1;
    cfg->log_level = LOG_LEVEL_INFO;
    policy_params_default(&cfg->poll);
    cfg->status_mode = 0600;
    cfg->status_uid = -1;
    cfg->status_gid = -1;
    cfg->run_uid = -1;
    cfg->run_gid = -1;
    cfg->drain_timeout_ns = 30 * NS_PER_SEC;
    cfg->nbd_max_connections = 1024;
    cfg->nbd_max_payload = 64 << 20;
    cfg->nbd_max_inflight = 64;
    cfg->nbd_handshake_timeout_ns = 10 * NS_PER_SEC;
    cfg->iscsi_max_connections = 1024;
    cfg->iscsi_login_timeout_ns = 15 * NS_PER_SEC;
    cfg->iscsi_nop_interval_ns = 30 * NS_PER_SEC;
    cfg->iscsi_nop_timeout_ns = 15 * NS_PER_SEC;
    cfg->iscsi_queue_depth = 128;
    cfg->iscsi_max_recv_data_segment_length = 256 << 10;
    cfg->iscsi_max_burst_length = 1 << 20;
    cfg->iscsi_first_burst_length = 256 << 10;
    cfg->iscsi_max_outstanding_r2t = 1;
    cfg->iscsi_immediate_data = true;
    cfg->iscsi_initial_r2t = false;
}

void
config_foreach_key(void (*fn)(const char *section, const char *key,
                              const char *dflt, void *opaque),
                   void *opaque)
{
    static const struct {
        const char *section;
        const struct config_key *keys;
        bool poll;
    } sections[] = {
        { "server", server_keys, false },
        { "poll", NULL, true },
        { "iothread N", iothread_keys, true },
        { "nbd", nbd_keys, false },
        { "iscsi", iscsi_keys, false },
        { "status", status_keys, false },
        { "export NAME", export_keys, false },
    };
    struct poll_params dflt;

    policy_params_default(&dflt);
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        if (sections[s].poll) {
            for (size_t i = 0; i < policy_nparams; i++) {
                char buf[64];

                policy_param_format(&dflt, &policy_params[i], buf, sizeof buf);
                fn(sections[s].section, policy_params[i].key, buf, opaque);
            }
        }
        for (size_t i = 0; sections[s].keys && sections[s].keys[i].key; i++) {
            fn(sections[s].section, sections[s].keys[i].key,
               sections[s].keys[i].dflt, opaque);
        }
    }
}
