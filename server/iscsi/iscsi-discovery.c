/* SPDX-License-Identifier: MIT */
/*
 * SendTargets (RFC 7143 appendix C): each target the initiator may use,
 * with the portal it reached us on.  Targets the initiator is not allowed
 * to log in to are not revealed.
 */
#include <config.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "acl.h"
#include "iscsi/iscsi-internal.h"
#include "iscsi/iscsi-text.h"

bool
iscsi_discovery_allowed(const struct iscsi_conn *conn,
                        const struct iscsi_target *t)
{
    const struct config_export *ce = t->cfg;

    if (!acl_allows(&ce->allow, &conn->base.peer_addr)) {
        return false;
    }
    if (ce->ninitiators == 0) {
        return true;
    }
    for (size_t i = 0; i < ce->ninitiators; i++) {
        if (strcasecmp(ce->initiators[i], conn->initiator_name) == 0) {
            return true;
        }
    }
    return false;
}

static void
iscsi_discovery_add(struct iscsi_conn *conn, const struct iscsi_target *t,
                    struct strbuf *out)
{
    iscsi_text_add(out, "TargetName", t->scsi.name);
    if (conn->portal[0]) {
        iscsi_text_addf(out, "TargetAddress", "%s,%u", conn->portal,
                        t->scsi.tpgt);
    }
}

void
iscsi_discovery_send_targets(struct iscsi_conn *conn, const char *value,
                             struct strbuf *out)
{
    struct iscsi_server *srv = conn->srv;

    if (strcmp(value, "All") == 0) {
        if (!conn->discovery) {
            /* RFC 7143 C: All is for discovery sessions only. */
            iscsi_text_add(out, "SendTargets", "Reject");
            return;
        }
        for (size_t i = 0; i < srv->ntargets; i++) {
            if (iscsi_discovery_allowed(conn, &srv->targets[i])) {
                iscsi_discovery_add(conn, &srv->targets[i], out);
            }
        }
        return;
    }
    if (value[0] == '\0') {
        /* In a Normal session: the target of this session. */
        if (conn->target) {
            iscsi_discovery_add(conn, conn->target, out);
        }
        return;
    }
    struct iscsi_target *t = iscsi_server_find_target(srv, value);
    if (t && iscsi_discovery_allowed(conn, t)) {
        iscsi_discovery_add(conn, t, out);
    }
}
