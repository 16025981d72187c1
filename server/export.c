/* SPDX-License-Identifier: MIT */
/*
 * See export.h.  Capabilities are computed once here (nbdkit caches them
 * per connection; ours cannot change while the export exists), so the
 * front ends answer handshakes without asking the backend again.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "log.h"

#define EXPORT_MAGIC 0xe4b0e7e5

int
export_set_open(struct export_set *set, const struct config *cfg)
{
    set->exports = calloc(cfg->nexports ? cfg->nexports : 1,
                          sizeof *set->exports);
    set->n = 0;
    if (set->exports == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->nexports; i++) {
        const struct config_export *ce = &cfg->exports[i];
        struct export *e = &set->exports[i];
        struct backend_remote_stats remote;
        int r = backend_open(ce, &e->backend);

        if (r < 0) {
            export_set_close(set);
            return r;
        }
        set->n++;
        e->stats = NULL;
        e->magic = EXPORT_MAGIC;
        e->cfg = ce;
        e->name = ce->name;
        e->description = ce->description ? ce->description : "";
        e->size = backend_size(e->backend);
        e->readonly = ce->readonly || backend_readonly(e->backend);
        e->caps = backend_caps(e->backend);
        if (e->readonly) {
            e->caps &= ~(BACKEND_CAN_WRITE | BACKEND_CAN_TRIM |
                         BACKEND_CAN_ZERO | BACKEND_CAN_FAST_ZERO);
        }
        e->iothread = ce->iothread;
        e->nstats = cfg->iothreads;
        e->stats = calloc(cfg->iothreads, sizeof *e->stats);
        if (e->stats == NULL) {
            export_set_close(set);
            return -ENOMEM;
        }
        if ((ce->protocols & CONFIG_PROTO_ISCSI)
            && backend_remote_stats(e->backend, &remote)
            && backend_min_block(e->backend) > ce->block_size) {
            /* A gateway to a disk of bigger blocks: iSCSI initiators would
             * send requests the remote refuses. */
            log_warn("export %s: the backend's blocks are %" PRIu32 " bytes, "
                     "larger than block-size = %u: iSCSI requests not aligned "
                     "to them fail; set block-size = %" PRIu32, e->name,
                     backend_min_block(e->backend), ce->block_size,
                     backend_min_block(e->backend));
        }
        log_info("export %s: %s backend, %" PRIu64 " bytes%s", e->name,
                 backend_name(e->backend), e->size,
                 e->readonly ? ", read-only" : "");
    }
    return 0;
}

void
export_set_close(struct export_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        backend_close(set->exports[i].backend);
        free(set->exports[i].stats);
        set->exports[i].magic = 0;
    }
    free(set->exports);
    set->exports = NULL;
    set->n = 0;
}

struct export *
export_find(const struct export_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->exports[i].name, name) == 0) {
            return &set->exports[i];
        }
    }
    return NULL;
}
