/* SPDX-License-Identifier: MIT */
/*
 * After the whole file: what no single key can decide alone.
 *
 * iothreads = auto becomes the number of online CPUs, each [iothread N]
 * is checked against that count and layered over [poll] (only the keys it
 * gave), every export is checked, sections given without listen = get
 * their default address, and keys that constrain each other are compared.
 * This runs after the file, not as keys arrive, because the file may give
 * them in any order: [iothread 3] before [server] iothreads = 4 is fine.
 * The order of the steps is the order of their messages.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-internal.h"
#include "tls-psk.h"

/* The line of a key given once in the file (0 if it was not). */
static unsigned
key_line(const struct config_loader *ld, const char *key)
{
    unsigned line = 0;

    for (size_t i = 0; i < ld->nseen; i++) {
        if (strcmp(ld->seen[i].key, key) == 0) {
            line = ld->seen[i].line;
        }
    }
    return line;
}

/* The file at path can be opened for reading; otherwise an error on the
 * line of key.  Checked here so --check-config and a reload catch what
 * would fail when the credentials are loaded. */
static bool
readable(struct config_loader *ld, const char *section, const char *key,
         const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        config_error(ld, key_line(ld, key), "[%s] %s: cannot read %s: %s",
                     section, key, path, strerror(errno));
        return false;
    }
    close(fd);
    return true;
}

/* dir/name as a new string in *field, if the file exists (or required). */
static void
tls_dir_file(struct config_loader *ld, const char *section, const char *dir,
             const char *name, bool required, char **field)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!required && access(path, F_OK) != 0) {
        return;
    }
    if (readable(ld, section, "tls-certificates", path)) {
        *field = config_load_strdup(ld, path);
    }
}

/* The TLS keys of one section: which credentials, and are they there. */
static void
config_finish_tls(struct config_loader *ld, struct config_tls *t,
                  const char *section)
{
    unsigned line = key_line(ld, "tls");
    bool x509;

    for (size_t i = 0; i < ld->cfg->nexports; i++) {
        const struct config_export *e = &ld->cfg->exports[i];

        if (e->tls == CONFIG_TLS_OFF) {
            config_error(ld, e->line,
                         "[export %s] tls = off: an export cannot refuse TLS: "
                         "expected on (as [%s] tls allows) or require",
                         e->name, section);
        } else if (e->tls == CONFIG_TLS_REQUIRE && t->mode == CONFIG_TLS_OFF &&
                   (e->protocols & CONFIG_PROTO_NBD)) {
            config_error(ld, e->line,
                         "[export %s] tls = require: [%s] tls is off, so no "
                         "client could reach it: set [%s] tls = on",
                         e->name, section, section);
        }
    }
    if (t->mode == CONFIG_TLS_OFF) {
        return; /* keys for later are fine; nothing is loaded */
    }
    if (t->certificates && (t->cert || t->key || t->ca || t->crl)) {
        config_error(ld, key_line(ld, "tls-certificates"),
                     "[%s] tls-certificates: give either a directory or "
                     "tls-cert, tls-key, tls-ca and tls-crl, not both",
                     section);
        return;
    }
    if (!t->certificates && (t->cert == NULL) != (t->key == NULL)) {
        config_error(ld, key_line(ld, t->cert ? "tls-cert" : "tls-key"),
                     "[%s] %s: needs %s too", section,
                     t->cert ? "tls-cert" : "tls-key",
                     t->cert ? "tls-key" : "tls-cert");
        return;
    }
    if (t->certificates) {
        tls_dir_file(ld, section, t->certificates, "server-cert.pem", true,
                     &t->cert);
        tls_dir_file(ld, section, t->certificates, "server-key.pem", true,
                     &t->key);
        tls_dir_file(ld, section, t->certificates, "ca-cert.pem", false,
                     &t->ca);
        tls_dir_file(ld, section, t->certificates, "ca-crl.pem", false,
                     &t->crl);
        if (t->cert == NULL || t->key == NULL) {
            return;
        }
    } else {
        const char *keys[] = { "tls-cert", "tls-key", "tls-ca", "tls-crl" };
        const char *paths[] = { t->cert, t->key, t->ca, t->crl };

        for (size_t i = 0; i < 4; i++) {
            if (paths[i] && !readable(ld, section, keys[i], paths[i])) {
                return;
            }
        }
    }
    x509 = t->cert != NULL;
    if (!x509 && t->psk_file == NULL) {
        config_error(ld, line,
                     "[%s] tls = %s: no credentials: give tls-certificates, "
                     "tls-cert and tls-key, or tls-psk-file",
                     section, t->mode == CONFIG_TLS_ON ? "on" : "require");
        return;
    }
    if (t->crl && t->ca == NULL) {
        config_error(ld, key_line(ld, "tls-crl"),
                     "[%s] tls-crl: needs tls-ca (the CA the list is of)",
                     section);
    }
    if (t->verify_peer && t->ca == NULL) {
        config_error(ld, key_line(ld, "tls-verify-peer"),
                     "[%s] tls-verify-peer = yes: needs a CA to verify client "
                     "certificates against: tls-ca, or ca-cert.pem in "
                     "tls-certificates",
                     section);
    }
    if (t->verify_peer && !x509) {
        config_error(ld, key_line(ld, "tls-verify-peer"),
                     "[%s] tls-verify-peer = yes: needs a server certificate "
                     "(tls-certificates, or tls-cert and tls-key)",
                     section);
    }
    if (t->psk_file) {
        struct tls_psk_keys keys = { 0 };
        char why[512];
        int r = tls_psk_load(t->psk_file, &keys, why, sizeof why);

        if (r == -ENOMEM) {
            ld->oom = true;
        } else if (r < 0) {
            config_error(ld, key_line(ld, "tls-psk-file"),
                         "[%s] tls-psk-file: %s", section, why);
        } else if (keys.n == 0) {
            config_error(ld, key_line(ld, "tls-psk-file"),
                         "[%s] tls-psk-file: %s: no keys in the file", section,
                         t->psk_file);
        }
        tls_psk_free(&keys);
    }
}

void
config_finish(struct config_loader *ld)
{
    struct config *cfg = ld->cfg;

    if (cfg->iothreads_auto) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        cfg->iothreads = n < 1 ? 1 : n > CONFIG_MAX_IOTHREADS
                                         ? CONFIG_MAX_IOTHREADS : (unsigned)n;
    }
    for (size_t id = 0; id < ld->novrs; id++) {
        if (ld->ovrs[id].line && id >= cfg->iothreads) {
            config_error(ld, ld->ovrs[id].line,
                         "[iothread %zu]: there is no I/O thread %zu: "
                         "iothreads = %u gives threads 0 to %u",
                         id, id, cfg->iothreads, cfg->iothreads - 1);
        }
    }
    cfg->iothread = calloc(cfg->iothreads, sizeof *cfg->iothread);
    if (cfg->iothread == NULL) {
        ld->oom = true;
        return;
    }
    for (size_t id = 0; id < cfg->iothreads; id++) {
        struct config_iothread *t = &cfg->iothread[id];

        t->params = cfg->poll;
        t->cpu = -1;
        if (id < ld->novrs && ld->ovrs[id].line) {
            const struct config_iothread_override *o = &ld->ovrs[id];

            t->line = o->line;
            t->cpu = o->cpu;
            for (size_t i = 0; i < policy_nparams; i++) {
                if (o->set_mask & (1u << i)) {
                    size_t off = policy_params[i].offset;

                    if (policy_params[i].kind == POLICY_PARAM_POLICY) {
                        t->params.policy = o->params.policy;
                    } else {
                        *(int64_t *)((char *)&t->params + off) =
                            *(const int64_t *)((const char *)&o->params + off);
                    }
                }
            }
        }
    }
    for (size_t i = 0; i < cfg->nexports; i++) {
        config_export_finish(ld, &cfg->exports[i]);
    }
    /* A section given without listen = listens on its default address,
     * the dflt of listen, the first key of [nbd] and of [iscsi]. */
    if (ld->seen_nbd && cfg->nbd_listen.n == 0) {
        const struct config_key *k = &config_keys_section(SEC_NBD)[0];

        config_value_listen(ld, k, &cfg->nbd_listen, k->dflt, 0);
    }
    if (ld->seen_iscsi && cfg->iscsi_listen.n == 0) {
        const struct config_key *k = &config_keys_section(SEC_ISCSI)[0];

        config_value_listen(ld, k, &cfg->iscsi_listen, k->dflt, 0);
    }
    if (cfg->nbd_default_export &&
        config_find_export(cfg, cfg->nbd_default_export) == NULL) {
        config_error(ld, key_line(ld, "default-export"),
                     "[nbd] default-export: there is no [export %s]",
                     cfg->nbd_default_export);
    }
    if (cfg->iqn_prefix == NULL) {
        cfg->iqn_prefix = config_load_strdup(ld, CONFIG_DEFAULT_IQN_PREFIX);
    }
    if (cfg->iscsi_header_digest == NULL) {
        cfg->iscsi_header_digest = config_load_strdup(ld, "None,CRC32C");
    }
    if (cfg->iscsi_data_digest == NULL) {
        cfg->iscsi_data_digest = config_load_strdup(ld, "None,CRC32C");
    }
    if (cfg->iscsi_first_burst_length > cfg->iscsi_max_burst_length) {
        config_error(ld, key_line(ld, "first-burst-length"),
                     "[iscsi] first-burst-length (%" PRIu64 ") is larger than "
                     "max-burst-length (%" PRIu64 "): RFC 7143 forbids it",
                     cfg->iscsi_first_burst_length, cfg->iscsi_max_burst_length);
    }
    config_finish_tls(ld, &cfg->nbd_tls, "nbd");
    config_export_finish_targets(ld);
}
