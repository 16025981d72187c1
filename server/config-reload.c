/* SPDX-License-Identifier: MIT */
/*
 * See config-reload.h.  The restart-only comparison is deliberately coarse
 * (a section differs or it does not): its job is to tell the operator that
 * an edit is not in force yet, not to describe the edit.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config-reload.h"
#include "log.h"
#include "util/clock.h"

static bool
str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool
addrs_eq(const struct config_addrs *a, const struct config_addrs *b)
{
    return a->n == b->n &&
           (a->n == 0 || memcmp(a->addr, b->addr, a->n * sizeof *a->addr) == 0);
}

static bool
export_eq(const struct config_export *a, const struct config_export *b)
{
    return str_eq(a->name, b->name) && str_eq(a->backend, b->backend) &&
           a->size == b->size && str_eq(a->path, b->path) &&
           a->readonly == b->readonly && a->create == b->create &&
           a->direct == b->direct && str_eq(a->description, b->description) &&
           a->iothread == b->iothread && a->tls == b->tls &&
           a->allow.n == b->allow.n &&
           str_eq(a->uri, b->uri) && str_eq(a->url, b->url) &&
           str_eq(a->initiator_name, b->initiator_name) &&
           a->request_timeout_ns == b->request_timeout_ns &&
           str_eq(a->rbd_pool, b->rbd_pool) &&
           str_eq(a->rbd_image, b->rbd_image) &&
           str_eq(a->rbd_conf, b->rbd_conf) && str_eq(a->rbd_id, b->rbd_id) &&
           str_eq(a->rbd_keyring, b->rbd_keyring) &&
           (a->allow.n == 0 ||
            memcmp(a->allow.entries, b->allow.entries,
                   a->allow.n * sizeof *a->allow.entries) == 0);
}

static bool
exports_eq(const struct config *a, const struct config *b)
{
    if (a->nexports != b->nexports) {
        return false;
    }
    for (size_t i = 0; i < a->nexports; i++) {
        if (!export_eq(&a->exports[i], &b->exports[i])) {
            return false;
        }
    }
    return true;
}

/* Copy next's TLS paths into running once they are in force. */
static void
reload_copy_tls(struct config_tls *running, const struct config_tls *next)
{
    struct config_tls t = { .mode = next->mode,
                            .verify_peer = next->verify_peer };
    const char *const from[] = { next->certificates, next->cert, next->key,
                                 next->ca, next->crl, next->psk_file };
    char **to[] = { &t.certificates, &t.cert, &t.key, &t.ca, &t.crl,
                    &t.psk_file };

    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        if (from[i] && (*to[i] = strdup(from[i])) == NULL) {
            config_tls_free(&t);
            return; /* out of memory: the old paths stay on display */
        }
    }
    config_tls_free(running);
    *running = t;
}

static void
restart_only(const char *what)
{
    log_warn("reload: %s changed: takes effect on restart; the running value "
             "stays in force",
             what);
}

static int
reload_poll_params(struct config *running, const struct config *next,
                   const struct config_reload_hooks *hooks)
{
    int changes = 0;

    for (unsigned id = 0; id < running->iothreads && id < next->iothreads; id++) {
        struct poll_params *cur = &running->iothread[id].params;
        const struct poll_params *nxt = &next->iothread[id].params;
        bool changed = false;

        for (size_t i = 0; i < policy_nparams; i++) {
            char a[64], b[64];

            policy_param_format(cur, &policy_params[i], a, sizeof a);
            policy_param_format(nxt, &policy_params[i], b, sizeof b);
            if (strcmp(a, b) != 0) {
                log_info("reload: [iothread %u] %s: %s -> %s", id,
                         policy_params[i].key, a, b);
                changed = true;
            }
        }
        if (running->iothread[id].cpu != next->iothread[id].cpu) {
            char what[64];

            snprintf(what, sizeof what, "[iothread %u] cpu", id);
            restart_only(what);
        }
        if (changed) {
            *cur = *nxt;
            changes++;
            if (hooks->set_poll_params) {
                hooks->set_poll_params(id, cur, hooks->opaque);
            }
        }
        /* After the new tunables, so the window is sized under them: the
         * host may have changed since the last measurement (a migrated VM,
         * another idle driver). */
        if (cur->max_ns == POLICY_MAX_NS_AUTO && hooks->recalibrate) {
            hooks->recalibrate(id, hooks->opaque);
        }
    }
    running->poll = next->poll;
    return changes;
}

int
config_reload_apply(struct config *running, const struct config *next,
                    const struct config_reload_hooks *hooks)
{
    int changes = 0;

    if (running->log_level != next->log_level) {
        log_info("reload: [server] log-level: %s -> %s",
                 log_level_name(running->log_level),
                 log_level_name(next->log_level));
        running->log_level = next->log_level;
        log_set_level(next->log_level);
        changes++;
    }
    if (running->drain_timeout_ns != next->drain_timeout_ns) {
        /* Read when the server stops: nothing else to change now. */
        log_info("reload: [server] drain-timeout: %" PRId64 " ms -> %" PRId64
                 " ms", running->drain_timeout_ns / NS_PER_MS,
                 next->drain_timeout_ns / NS_PER_MS);
        running->drain_timeout_ns = next->drain_timeout_ns;
        changes++;
    }
    if (running->iothreads != next->iothreads) {
        restart_only("[server] iothreads");
    }
    if (!str_eq(running->pidfile, next->pidfile)) {
        restart_only("[server] pidfile");
    }
    if (running->run_uid != next->run_uid || running->run_gid != next->run_gid) {
        restart_only("[server] user or group");
    }
    changes += reload_poll_params(running, next, hooks);
    if (!addrs_eq(&running->nbd_listen, &next->nbd_listen) ||
        !str_eq(running->nbd_default_export, next->nbd_default_export) ||
        running->nbd_max_connections != next->nbd_max_connections ||
        running->nbd_max_connections_per_client !=
            next->nbd_max_connections_per_client ||
        running->nbd_max_payload != next->nbd_max_payload ||
        running->nbd_max_inflight != next->nbd_max_inflight ||
        running->nbd_handshake_timeout_ns != next->nbd_handshake_timeout_ns) {
        restart_only("[nbd]");
    }
    if (running->nbd_tls.mode != next->nbd_tls.mode) {
        restart_only("[nbd] tls");
    } else if (running->nbd_tls.mode != CONFIG_TLS_OFF && hooks->reload_tls &&
               hooks->reload_tls(next, hooks->opaque) == 0) {
        reload_copy_tls(&running->nbd_tls, &next->nbd_tls);
        changes++;
    }
    if (!addrs_eq(&running->iscsi_listen, &next->iscsi_listen) ||
        !str_eq(running->iqn_prefix, next->iqn_prefix) ||
        running->iscsi_max_connections != next->iscsi_max_connections ||
        running->iscsi_max_connections_per_client !=
            next->iscsi_max_connections_per_client ||
        running->iscsi_login_timeout_ns != next->iscsi_login_timeout_ns ||
        !str_eq(running->iscsi_pr_state_dir, next->iscsi_pr_state_dir)) {
        restart_only("[iscsi]");
    }
    if (!str_eq(running->status_socket, next->status_socket) ||
        running->status_mode != next->status_mode ||
        running->status_uid != next->status_uid ||
        running->status_gid != next->status_gid) {
        restart_only("[status]");
    }
    if (!exports_eq(running, next)) {
        restart_only("the [export] sections");
    }
    return changes;
}

int
config_reload_set(struct config *running, int id, const char *key,
                  const char *value, const struct config_reload_hooks *hooks,
                  char *err, size_t errlen)
{
    const struct policy_param *param = policy_param_find(key);
    unsigned first = id < 0 ? 0 : (unsigned)id;
    unsigned last = id < 0 ? running->iothreads : (unsigned)id + 1;
    char msg[256];

    if (id >= 0 && (unsigned)id >= running->iothreads) {
        snprintf(err, errlen,
                 "[iothread %d]: there is no I/O thread %d: iothreads = %u "
                 "gives threads 0 to %u",
                 id, id, running->iothreads, running->iothreads - 1);
        return -EINVAL;
    }
    if (param == NULL) {
        config_unknown_poll_key_message(id, key, err, errlen);
        return -EINVAL;
    }
    /* Validate once, on a copy, before anything changes. */
    struct poll_params probe = running->iothread[first].params;
    if (policy_param_set(&probe, param, value, msg, sizeof msg) < 0) {
        if (id < 0) {
            snprintf(err, errlen, "[poll] %s: %s", key, msg);
        } else {
            snprintf(err, errlen, "[iothread %d] %s: %s", id, key, msg);
        }
        return -EINVAL;
    }
    for (unsigned t = first; t < last; t++) {
        struct poll_params *cur = &running->iothread[t].params;
        char a[64], b[64];

        policy_param_format(cur, param, a, sizeof a);
        (void)policy_param_set(cur, param, value, msg, sizeof msg);
        policy_param_format(cur, param, b, sizeof b);
        log_info("set: [iothread %u] %s: %s -> %s", t, key, a, b);
        if (hooks->set_poll_params) {
            hooks->set_poll_params(t, cur, hooks->opaque);
        }
    }
    if (id < 0) {
        (void)policy_param_set(&running->poll, param, value, msg, sizeof msg);
    }
    return 0;
}
