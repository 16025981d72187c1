/* SPDX-License-Identifier: MIT */
/*
 * The login phase (RFC 7143 6): stages and transitions (CSG/NSG, T and C
 * bits), the leading keys (InitiatorName, TargetName, SessionType), access
 * checks, the security stage (iscsi-auth.c), operational negotiation
 * (iscsi-param.c), TSIH assignment, and the Login Response with its status.
 *
 * Every failure answers with a status class/detail and closes the
 * connection once the response is sent, as the RFC requires; the reason is
 * logged once here, naming the initiator.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "iscsi/iscsi-internal.h"
#include "iscsi/iscsi-text.h"
#include "log.h"

struct iscsi_login {
    struct iscsi_param_neg neg;
    struct iscsi_auth auth;
    bool auth_inited;
    bool started;          /* the first PDU was accepted */
    bool leading_done;     /* names and target checked */
    int stage;             /* current stage as agreed */
    uint32_t itt;
    struct strbuf in;      /* text collected over continued PDUs */
};

static const char *
iscsi_login_stage_name(int stage)
{
    return stage == ISCSI_STAGE_SECURITY      ? "security"
           : stage == ISCSI_STAGE_OPERATIONAL ? "operational"
                                              : "full feature";
}

void
iscsi_login_free(struct iscsi_conn *conn)
{
    struct iscsi_login *l = conn->login;

    if (l == NULL) {
        return;
    }
    if (l->auth_inited) {
        iscsi_auth_free(&l->auth);
    }
    strbuf_free(&l->in);
    free(l);
    conn->login = NULL;
}

/* Queue a Login Response. */
static void
iscsi_login_respond(struct iscsi_conn *conn, const uint8_t *req, uint8_t flags,
                    uint16_t status, const struct strbuf *text)
{
    size_t len = text && !strbuf_failed(text) ? text->len : 0;
    struct iscsi_tx *tx = iscsi_pdu_new(ISCSI_OP_LOGIN_RSP, flags, len);

    if (tx == NULL) {
        conn_close_soon(&conn->base, "out of memory for a Login response");
        return;
    }
    tx->hdr[ISCSI_LOGIN_VMAX] = 0;
    tx->hdr[ISCSI_LOGIN_VMIN] = 0; /* version-active */
    memcpy(tx->hdr + ISCSI_LOGIN_ISID, req + ISCSI_LOGIN_ISID, 6);
    iscsi_put16(tx->hdr + ISCSI_LOGIN_TSIH, conn->tsih);
    memcpy(tx->hdr + ISCSI_BHS_ITT, req + ISCSI_BHS_ITT, 4);
    iscsi_pdu_set_sn(conn, tx->hdr, true);
    tx->hdr[ISCSI_LOGIN_STATUS_CLASS] = (uint8_t)(status >> 8);
    tx->hdr[ISCSI_LOGIN_STATUS_DETAIL] = (uint8_t)status;
    if (len) {
        memcpy(iscsi_pdu_copy_area(tx), text->s, len);
    }
    iscsi_pdu_queue(conn, tx, iscsi_pdu_copy_area(tx), (uint32_t)len);
}

/* Refuse the login: the response carries the status, then we close. */
static void
iscsi_login_fail(struct iscsi_conn *conn, const uint8_t *req, uint16_t status,
                 const char *why)
{
    const char *init = conn->initiator_name[0] ? conn->initiator_name : "?";

    if (status >> 8 == 2) {
        log_warn("iscsi %s: login of %s refused: %s", conn->base.peer, init, why);
    } else {
        log_error("iscsi %s: login of %s failed: %s", conn->base.peer, init, why);
    }
    iscsi_login_respond(conn, req, req[ISCSI_BHS_FLAGS] & 0x0c, status, NULL);
    conn_close_soon(&conn->base, NULL);
}

/*
 * The keys that pick the session: InitiatorName, SessionType, TargetName.
 * They come in the first request (RFC 7143 13.4-13.6).  Returns a login
 * status, and on failure *why.
 */
static uint16_t
iscsi_login_leading(struct iscsi_conn *conn, struct strbuf *out,
                    const char **why)
{
    struct iscsi_login *l = conn->login;
    struct iscsi_text_pair p;
    size_t pos = 0;
    const char *type = "Normal";
    char target[224] = "";
    int r;

    while ((r = iscsi_text_next((const uint8_t *)l->in.s, l->in.len, &pos,
                                &p)) > 0) {
        if (strcmp(p.key, "InitiatorName") == 0) {
            if (p.value_len == 0 || p.value_len >= sizeof conn->initiator_name) {
                *why = "InitiatorName is empty or longer than 223 bytes";
                return ISCSI_LOGIN_INITIATOR_ERROR;
            }
            memcpy(conn->initiator_name, p.value, p.value_len + 1);
        } else if (strcmp(p.key, "SessionType") == 0) {
            type = p.value;
        } else if (strcmp(p.key, "TargetName") == 0) {
            if (p.value_len >= sizeof target) {
                *why = "TargetName longer than 223 bytes";
                return ISCSI_LOGIN_INITIATOR_ERROR;
            }
            memcpy(target, p.value, p.value_len + 1);
        }
    }
    if (r < 0) {
        *why = "malformed key=value text";
        return ISCSI_LOGIN_INITIATOR_ERROR;
    }
    if (conn->initiator_name[0] == '\0') {
        *why = "no InitiatorName in the first Login request";
        return ISCSI_LOGIN_MISSING_PARAMETER;
    }
    if (strcmp(type, "Discovery") == 0) {
        conn->discovery = true;
    } else if (strcmp(type, "Normal") != 0) {
        *why = "SessionType is neither Normal nor Discovery";
        return ISCSI_LOGIN_UNSUPPORTED_SESSION;
    }
    if (!conn->discovery) {
        struct iscsi_target *t;

        if (target[0] == '\0') {
            *why = "a Normal session without TargetName";
            return ISCSI_LOGIN_MISSING_PARAMETER;
        }
        t = iscsi_server_find_target(conn->srv, target);
        if (t == NULL) {
            *why = "no such target";
            log_info("iscsi %s: %s asked for unknown target %s", conn->base.peer,
                     conn->initiator_name, target);
            return ISCSI_LOGIN_NOT_FOUND;
        }
        if (!iscsi_discovery_allowed(conn, t)) {
            *why = "initiator not in the target's allow or initiators list";
            return ISCSI_LOGIN_FORBIDDEN;
        }
        conn->target = t;
        iscsi_auth_init(&l->auth, t->cfg->chap_username, t->cfg->chap_secret,
                        t->cfg->chap_mutual_username,
                        t->cfg->chap_mutual_secret);
        /* RFC 7143 13.9: the first response of a Normal session names
         * the portal group. */
        iscsi_text_addf(out, "TargetPortalGroupTag", "%u", (unsigned)ISCSI_TPGT);
    } else {
        iscsi_auth_init(&l->auth, NULL, NULL, NULL, NULL);
    }
    l->auth_inited = true;
    return ISCSI_LOGIN_SUCCESS;
}

static bool
iscsi_login_is_leading_key(const char *key)
{
    return strcmp(key, "InitiatorName") == 0 || strcmp(key, "TargetName") == 0 ||
           strcmp(key, "SessionType") == 0 ||
           strcmp(key, "InitiatorAlias") == 0;
}

/* Negotiate the keys of one (reassembled) request in stage csg. */
static uint16_t
iscsi_login_keys(struct iscsi_conn *conn, int csg, struct strbuf *out,
                 const char **why)
{
    struct iscsi_login *l = conn->login;
    enum iscsi_param_stage stage = csg == ISCSI_STAGE_SECURITY
                                       ? ISCSI_PARAM_SECURITY
                                       : ISCSI_PARAM_OPERATIONAL;
    struct iscsi_text_pair p;
    size_t pos = 0;
    int r;

    while ((r = iscsi_text_next((const uint8_t *)l->in.s, l->in.len, &pos,
                                &p)) > 0) {
        if (iscsi_login_is_leading_key(p.key)) {
            continue;
        }
        r = 0;
        if (csg == ISCSI_STAGE_SECURITY) {
            r = iscsi_auth_key(&l->auth, p.key, p.value, out);
            if (r == -EACCES) {
                *why = "authentication failed";
                return ISCSI_LOGIN_AUTH_FAILED;
            }
            if (r == -ENOMEM) {
                *why = "out of memory";
                return ISCSI_LOGIN_OUT_OF_RESOURCES;
            }
            if (r < 0) {
                *why = "malformed security key";
                return ISCSI_LOGIN_INITIATOR_ERROR;
            }
        } else if (strcmp(p.key, "AuthMethod") == 0 ||
                   strncmp(p.key, "CHAP_", 5) == 0) {
            *why = "a security key in the operational stage";
            return ISCSI_LOGIN_INITIATOR_ERROR;
        }
        if (r == 0) {
            r = iscsi_param_key(&l->neg, stage, p.key, p.value, out, why);
            if (r < 0) {
                return ISCSI_LOGIN_INITIATOR_ERROR;
            }
        }
        if (r == 0) {
            iscsi_text_add(out, p.key, "NotUnderstood");
        }
    }
    if (r < 0) {
        *why = "malformed key=value text";
        return ISCSI_LOGIN_INITIATOR_ERROR;
    }
    if (csg == ISCSI_STAGE_SECURITY) {
        r = iscsi_auth_end_pdu(&l->auth, out);
        if (r == -EACCES) {
            *why = "authentication failed";
            return ISCSI_LOGIN_AUTH_FAILED;
        }
        if (r < 0) {
            *why = "CHAP exchange out of order or malformed";
            return ISCSI_LOGIN_INITIATOR_ERROR;
        }
    }
    return ISCSI_LOGIN_SUCCESS;
}

/* The first request: version, ISID/TSIH, the initial CmdSN. */
static uint16_t
iscsi_login_first(struct iscsi_conn *conn, const uint8_t *bhs,
                  const char **why)
{
    struct iscsi_login *l = conn->login;

    if (bhs[ISCSI_LOGIN_VMIN] > 0) {
        *why = "no common protocol version (we speak version 0)";
        return ISCSI_LOGIN_UNSUPPORTED_VERSION;
    }
    if (iscsi_get16(bhs + ISCSI_LOGIN_TSIH) != 0) {
        /* MaxConnections=1: there is no session to add a connection to. */
        *why = "adding a connection to a session (TSIH given)";
        return ISCSI_LOGIN_NO_SESSION;
    }
    memcpy(conn->isid, bhs + ISCSI_LOGIN_ISID, 6);
    conn->cid = iscsi_get16(bhs + ISCSI_LOGIN_CID);
    conn->exp_cmdsn = iscsi_get32(bhs + ISCSI_BHS_CMDSN);
    l->itt = iscsi_get32(bhs + ISCSI_BHS_ITT);
    l->stage = ISCSI_LOGIN_CSG(bhs[ISCSI_BHS_FLAGS]);
    l->started = true;
    return ISCSI_LOGIN_SUCCESS;
}

static uint16_t
iscsi_login_enter_full(struct iscsi_conn *conn, const char **why)
{
    struct iscsi_login *l = conn->login;
    uint32_t tsih;

    conn->params = l->neg.set;
    conn->params.discovery = conn->discovery;
    do {
        tsih = atomic_fetch_add(&conn->srv->next_tsih, 1) & 0xffff;
    } while (tsih == 0);
    conn->tsih = (uint16_t)tsih;
    if (iscsi_conn_enter_full(conn) < 0) {
        *why = "out of memory";
        return ISCSI_LOGIN_OUT_OF_RESOURCES;
    }
    return ISCSI_LOGIN_SUCCESS;
}

void
iscsi_login_pdu(struct iscsi_conn *conn, const uint8_t *bhs,
                const uint8_t *data, uint32_t dlen)
{
    struct iscsi_login *l = conn->login;
    uint8_t flags = bhs[ISCSI_BHS_FLAGS];
    int csg = ISCSI_LOGIN_CSG(flags), nsg = ISCSI_LOGIN_NSG(flags);
    bool transit = flags & ISCSI_LOGIN_T;
    const char *why = NULL;
    struct strbuf out;
    uint16_t status;
    uint8_t rflags;

    if (l == NULL) {
        l = conn->login = calloc(1, sizeof *l);
        if (l == NULL) {
            iscsi_login_fail(conn, bhs, ISCSI_LOGIN_OUT_OF_RESOURCES,
                             "out of memory");
            return;
        }
        strbuf_init(&l->in);
        iscsi_param_init(&l->neg, conn->srv->cfg);
    }
    strbuf_init(&out);
    if (!l->started) {
        status = iscsi_login_first(conn, bhs, &why);
        if (status != ISCSI_LOGIN_SUCCESS) {
            goto fail;
        }
    } else if (iscsi_get32(bhs + ISCSI_BHS_ITT) != l->itt ||
               memcmp(bhs + ISCSI_LOGIN_ISID, conn->isid, 6) != 0) {
        status = ISCSI_LOGIN_INITIATOR_ERROR;
        why = "ITT or ISID changed during the login";
        goto fail;
    }
    if (csg == 2 || csg == ISCSI_STAGE_FULL || csg < l->stage ||
        (transit && (nsg == 2 || nsg <= csg)) ||
        ((flags & ISCSI_LOGIN_C) && transit)) {
        status = ISCSI_LOGIN_INITIATOR_ERROR;
        why = "invalid stage transition";
        goto fail;
    }
    l->stage = csg;
    if (l->in.len + dlen > ISCSI_MAX_TEXT) {
        status = ISCSI_LOGIN_INITIATOR_ERROR;
        why = "login text longer than 64 KiB";
        goto fail;
    }
    strbuf_append(&l->in, (const char *)data, dlen);
    if (strbuf_failed(&l->in)) {
        status = ISCSI_LOGIN_OUT_OF_RESOURCES;
        why = "out of memory";
        goto fail;
    }
    if (flags & ISCSI_LOGIN_C) {
        /* More text follows: acknowledge with an empty response. */
        iscsi_login_respond(conn, bhs, (uint8_t)(csg << 2), 0, NULL);
        return;
    }
    if (!l->leading_done) {
        status = iscsi_login_leading(conn, &out, &why);
        if (status != ISCSI_LOGIN_SUCCESS) {
            goto fail;
        }
        l->leading_done = true;
        l->neg.set.discovery = conn->discovery;
    }
    if (csg == ISCSI_STAGE_OPERATIONAL && !iscsi_auth_done(&l->auth)) {
        /* Skipping the security stage is only fine when the target asks
         * for no authentication: that is when None is already agreed. */
        struct strbuf none;

        strbuf_init(&none);
        if (iscsi_auth_key(&l->auth, "AuthMethod", "None", &none) != 1 ||
            iscsi_auth_end_pdu(&l->auth, &none) < 0 ||
            !iscsi_auth_done(&l->auth)) {
            strbuf_free(&none);
            status = ISCSI_LOGIN_AUTH_FAILED;
            why = "the target requires CHAP; the initiator skipped it";
            goto fail;
        }
        strbuf_free(&none);
    }
    status = iscsi_login_keys(conn, csg, &out, &why);
    if (status != ISCSI_LOGIN_SUCCESS) {
        goto fail;
    }
    /* Transit only where the target agrees: security needs the
     * initiator authenticated first. */
    if (transit && csg == ISCSI_STAGE_SECURITY && !iscsi_auth_done(&l->auth)) {
        transit = false;
    }
    if (transit && nsg == ISCSI_STAGE_FULL && csg == ISCSI_STAGE_OPERATIONAL) {
        /* Declarations belong to the operational stage; a login that
         * skips it runs with the RFC defaults. */
        iscsi_param_finish(&l->neg, &out);
        if (iscsi_param_pending(&l->neg)) {
            transit = false; /* our offers need the initiator's answer */
        }
    }
    if (strbuf_failed(&out) || out.len > ISCSI_LOGIN_MAX_DSL) {
        status = ISCSI_LOGIN_TARGET_ERROR;
        why = strbuf_failed(&out) ? "out of memory"
                                  : "login response text too long";
        goto fail;
    }
    strbuf_free(&l->in);
    strbuf_init(&l->in);
    rflags = (uint8_t)(csg << 2);
    if (transit) {
        rflags |= ISCSI_LOGIN_T | (uint8_t)nsg;
    }
    if (transit && nsg == ISCSI_STAGE_FULL) {
        status = iscsi_login_enter_full(conn, &why);
        if (status != ISCSI_LOGIN_SUCCESS) {
            goto fail;
        }
        /* The response goes out without digests: they start after it. */
        conn->hdigest = conn->ddigest = false;
        iscsi_login_respond(conn, bhs, rflags, ISCSI_LOGIN_SUCCESS, &out);
        conn->hdigest = conn->params.header_digest;
        conn->ddigest = conn->params.data_digest;
        if (conn->target) {
            iscsi_server_session_add(conn->srv, conn);
        }
        log_info("iscsi %s: %s session %u of %s%s%s, digests %s/%s", conn->base.peer,
                 conn->discovery ? "discovery" : "normal", conn->tsih,
                 conn->initiator_name, conn->target ? " to " : "",
                 conn->target ? conn->target->scsi.name : "",
                 conn->hdigest ? "CRC32C" : "None",
                 conn->ddigest ? "CRC32C" : "None");
        iscsi_login_free(conn);
    } else {
        if (transit) {
            l->stage = nsg;
        }
        iscsi_login_respond(conn, bhs, rflags, ISCSI_LOGIN_SUCCESS, &out);
        log_debug("iscsi %s: login %s stage%s", conn->base.peer,
                  iscsi_login_stage_name(csg), transit ? ", transit" : "");
    }
    strbuf_free(&out);
    return;

fail:
    strbuf_free(&out);
    iscsi_login_fail(conn, bhs, status, why ? why : "refused");
}
