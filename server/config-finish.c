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

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config-internal.h"

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
    config_export_finish_targets(ld);
}
