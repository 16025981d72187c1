/* SPDX-License-Identifier: MIT */
/*
 * The export model: [export NAME] sections become struct config_export,
 * and exports that name the same iqn become the LUNs of one iSCSI target.
 *
 * An export is begun at its header with the defaults of the keys it does
 * not set, then checked once the whole file is read, because what a key
 * needs depends on other keys (backend = file needs path; create needs
 * size; nbd needs uri, iscsi url, rbd pool and image) and on other sections (iothread against [server] iothreads, LUNs
 * against the other exports of the same target).  An export without iqn
 * gets iqn-prefix:NAME, which is known only after [iscsi] has been read,
 * wherever it is in the file.
 */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"

/* --- [export NAME] -------------------------------------------------- */

static bool
export_name_valid(const char *name)
{
    if (*name == '\0' || strlen(name) > 200) {
        return false;
    }
    /* Names become iSCSI target names too: keep to what RFC 3722 allows. */
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("._-:", *p)) {
            return false;
        }
    }
    return true;
}

void
config_export_begin(struct config_loader *ld, const char *name, unsigned line)
{
    struct config *cfg = ld->cfg;
    struct config_export *n;

    if (!export_name_valid(name)) {
        config_error(ld, line,
                     "[export %s]: invalid export name '%s': expected 1 to 200 "
                     "letters, digits, '.', '_', '-' or ':'",
                     name, name);
        ld->kind = SEC_INVALID;
        return;
    }
    for (size_t i = 0; i < cfg->nexports; i++) {
        if (strcmp(cfg->exports[i].name, name) == 0) {
            config_error(ld, line,
                         "[export %s]: export '%s' is already defined on line %u",
                         name, name, cfg->exports[i].line);
            ld->kind = SEC_INVALID;
            return;
        }
    }
    n = realloc(cfg->exports, (cfg->nexports + 1) * sizeof *n);
    if (n == NULL) {
        ld->oom = true;
        ld->kind = SEC_INVALID;
        return;
    }
    cfg->exports = n;
    ld->export = &n[cfg->nexports++];
    memset(ld->export, 0, sizeof *ld->export);
    ld->export->name = config_load_strdup(ld, name);
    ld->export->line = line;
    ld->export->iothread = -1;
    ld->export->protocols = CONFIG_PROTO_ALL;
    ld->export->tls = CONFIG_TLS_ON;
    ld->export->block_size = 512;
}

/* --- After the whole file ------------------------------------------- */

/* The keys of the gateway backends: each needs its address, and their
 * keys mean nothing to the other backends. */
static void
config_export_finish_remote(struct config_loader *ld,
                            const struct config_export *e, const char *where)
{
    bool nbd = strcmp(e->backend, "nbd") == 0;
    bool iscsi = strcmp(e->backend, "iscsi") == 0;
    bool rbd = strcmp(e->backend, "rbd") == 0;

    if (nbd && e->uri == NULL) {
        config_error(ld, e->line,
                     "%s: missing key 'uri' (required by backend = nbd), e.g. "
                     "uri = nbd://192.0.2.1:10809/disk0",
                     where);
    }
    if (iscsi && e->url == NULL) {
        config_error(ld, e->line,
                     "%s: missing key 'url' (required by backend = iscsi), "
                     "e.g. url = iscsi://192.0.2.1/iqn.2024-01.com.example:t/0",
                     where);
    }
    if (!nbd && e->uri) {
        config_error(ld, e->line, "%s: key 'uri' is only for backend = nbd, "
                     "not %s", where, e->backend);
    }
    if (!iscsi && (e->url || e->initiator_name)) {
        config_error(ld, e->line, "%s: keys 'url' and 'initiator-name' are "
                     "only for backend = iscsi, not %s", where, e->backend);
    }
    if (rbd && (e->rbd_pool == NULL || e->rbd_image == NULL)) {
        config_error(ld, e->line,
                     "%s: missing key '%s' (required by backend = rbd), e.g. "
                     "pool = rbd and image = disk0",
                     where, e->rbd_pool == NULL ? "pool" : "image");
    }
    if (!rbd && (e->rbd_pool || e->rbd_image || e->rbd_conf || e->rbd_id
                 || e->rbd_keyring)) {
        config_error(ld, e->line, "%s: keys 'pool', 'image', 'conf', 'id' and "
                     "'keyring' are only for backend = rbd, not %s", where,
                     e->backend);
    }
    if (!nbd && !iscsi && !rbd && e->request_timeout_ns) {
        config_error(ld, e->line, "%s: key 'request-timeout' is only for "
                     "backend = nbd, iscsi or rbd, not %s", where, e->backend);
    }
}

void
config_export_finish(struct config_loader *ld, struct config_export *e)
{
    char where[256];

    snprintf(where, sizeof where, "[export %s]", e->name);
    if (e->backend == NULL) {
        config_error(ld, e->line,
                     "%s: missing key 'backend': expected memory, file, null, "
                     "nbd, iscsi or rbd",
                     where);
        return;
    }
    config_export_finish_remote(ld, e, where);
    if (strcmp(e->backend, "nbd") == 0 || strcmp(e->backend, "iscsi") == 0
        || strcmp(e->backend, "rbd") == 0) {
        /* The size and the rest come from the remote. */
        if (e->size) {
            config_error(ld, e->line,
                         "%s: key 'size' is not for backend = %s: the size "
                         "is the remote's",
                         where, e->backend);
        }
        if (e->path || e->create || e->direct) {
            config_error(ld, e->line,
                         "%s: keys 'path', 'create' and 'direct' are only for "
                         "backend = file, not %s",
                         where, e->backend);
        }
    } else if (strcmp(e->backend, "file") == 0) {
        if (e->path == NULL) {
            config_error(ld, e->line,
                         "%s: missing key 'path' (required by backend = file)",
                         where);
        }
        if (e->create && e->size == 0) {
            config_error(ld, e->line,
                         "%s: missing key 'size' (required by create = yes)",
                         where);
        }
    } else {
        if (e->size == 0) {
            config_error(ld, e->line,
                         "%s: missing key 'size' (required by backend = %s)",
                         where, e->backend);
        }
        if (e->path) {
            config_error(ld, e->line,
                         "%s: key 'path' is only for backend = file, not %s",
                         where, e->backend);
        }
        if (e->create || e->direct) {
            config_error(ld, e->line,
                         "%s: keys 'create' and 'direct' are only for backend "
                         "= file, not %s",
                         where, e->backend);
        }
    }
    if (e->block_size != 512 && e->block_size != 4096) {
        config_error(ld, e->line, "%s: block-size = %u: expected 512 or 4096",
                     where, e->block_size);
    }
    if (e->size % e->block_size) {
        config_error(ld, e->line,
                     "%s: size is not a multiple of block-size (%u)", where,
                     e->block_size);
    }
    if (!e->chap_username != !e->chap_secret) {
        config_error(ld, e->line,
                     "%s: chap-username and chap-secret go together: set both "
                     "or neither", where);
    }
    if (!e->chap_mutual_username != !e->chap_mutual_secret) {
        config_error(ld, e->line,
                     "%s: chap-mutual-username and chap-mutual-secret go "
                     "together: set both or neither", where);
    }
    if (e->chap_mutual_username && !e->chap_username) {
        config_error(ld, e->line,
                     "%s: mutual CHAP needs chap-username and chap-secret too",
                     where);
    }
    if (e->chap_secret && e->chap_mutual_secret &&
        strcmp(e->chap_secret, e->chap_mutual_secret) == 0) {
        /* RFC 7143 12.1.3: the two directions must not share a secret. */
        config_error(ld, e->line,
                     "%s: chap-secret and chap-mutual-secret must differ",
                     where);
    }
    if (e->iothread >= 0 && (unsigned)e->iothread >= ld->cfg->iothreads) {
        config_error(ld, e->line,
                     "%s: iothread = %d, but iothreads = %u gives threads 0 to %u",
                     where, e->iothread, ld->cfg->iothreads,
                     ld->cfg->iothreads - 1);
    }
}

/* --- iSCSI targets -------------------------------------------------- */

/* An export served over iSCSI as a LUN of a target shared with others:
 * LUN numbers unique, LUN 0 present, target settings on LUN 0 only. */
static void
finish_target_lun(struct config_loader *ld, const struct config_export *e)
{
    const struct config *cfg = ld->cfg;
    const struct config_export *lun0 = NULL;

    if (!(e->protocols & CONFIG_PROTO_ISCSI) || e->iqn == NULL) {
        return;
    }
    for (size_t j = 0; j < cfg->nexports; j++) {
        const struct config_export *o = &cfg->exports[j];

        if (o == e || !(o->protocols & CONFIG_PROTO_ISCSI) || o->iqn == NULL ||
            strcmp(o->iqn, e->iqn) != 0) {
            continue;
        }
        if (o->lun == 0) {
            lun0 = o;
        }
        if (o->lun == e->lun && o < e) {
            config_error(ld, e->line,
                         "[export %s]: LUN %u of iSCSI target %s is already "
                         "[export %s]: give each export of the target its own "
                         "lun",
                         e->name, e->lun, e->iqn, o->name);
        }
    }
    if (e->lun == 0) {
        return;
    }
    if (lun0 == NULL) {
        config_error(ld, e->line,
                     "[export %s]: lun = %u, but iSCSI target %s has no "
                     "export with lun = 0 (initiators need LUN 0)",
                     e->name, e->lun, e->iqn);
    } else if (e->chap_username || e->chap_mutual_username ||
               e->ninitiators) {
        config_error(ld, e->line,
                     "[export %s]: CHAP and initiators of iSCSI target %s are "
                     "set on its LUN 0, [export %s]",
                     e->name, e->iqn, lun0->name);
    }
}

void
config_export_finish_targets(struct config_loader *ld)
{
    struct config *cfg = ld->cfg;

    for (size_t i = 0; i < cfg->nexports && cfg->iqn_prefix; i++) {
        struct config_export *e = &cfg->exports[i];

        if (e->iqn == NULL) {
            char *iqn;

            if (asprintf(&iqn, "%s:%s", cfg->iqn_prefix, e->name) < 0) {
                ld->oom = true;
                return;
            }
            e->iqn = iqn;
        }
    }
    for (size_t i = 0; i < cfg->nexports; i++) {
        finish_target_lun(ld, &cfg->exports[i]);
    }
}

/* --- Lookup --------------------------------------------------------- */

const struct config_export *
config_find_export(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nexports; i++) {
        if (strcmp(cfg->exports[i].name, name) == 0) {
            return &cfg->exports[i];
        }
    }
    return NULL;
}
