/* SPDX-License-Identifier: MIT */
/*
 * See server.h.  Front ends that the configuration names but this version
 * does not provide yet are reported at startup, loudly, rather than
 * silently ignored.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "server.h"

struct server {
    struct mainloop *ml;
};

int
server_start(struct server **out, struct mainloop *ml)
{
    struct server *srv = calloc(1, sizeof *srv);
    const struct config *cfg = mainloop_config(ml);

    if (srv == NULL) {
        log_error("cannot start: out of memory");
        return -ENOMEM;
    }
    srv->ml = ml;
    if (cfg->nbd_listen.n) {
        log_warn("[nbd] listen is set, but this version of polltgtd has no "
                 "NBD front end yet: no NBD listener is opened");
    }
    if (cfg->iscsi_listen.n) {
        log_warn("[iscsi] listen is set, but this version of polltgtd has no "
                 "iSCSI front end yet: no iSCSI listener is opened");
    }
    *out = srv;
    return 0;
}

void
server_stop(struct server *srv)
{
    free(srv);
}
