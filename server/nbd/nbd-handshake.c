/* SPDX-License-Identifier: MIT */
/*
 * The fixed-newstyle handshake: greeting, client flags, then options until
 * NBD_OPT_EXPORT_NAME or NBD_OPT_GO enters transmission.
 *
 * Option data is bounded (NBD_MAX_OPTLEN): a longer option is answered
 * with NBD_REP_ERR_TOO_BIG and the connection is closed without reading
 * the data, so a client cannot make us buffer gigabytes before the first
 * byte of export data.  Every other malformed option gets
 * NBD_REP_ERR_INVALID and negotiation continues, as the protocol asks.
 * Clients refused by an export's allow list learn nothing about it beyond
 * NBD_REP_ERR_POLICY.
 *
 * TLS ([nbd] tls): with `require` (the protocol's FORCEDTLS) every option
 * before NBD_OPT_STARTTLS but NBD_OPT_ABORT is refused with
 * NBD_REP_ERR_TLS_REQD and NBD_OPT_EXPORT_NAME hangs up; with `on` the
 * client chooses, except for exports with tls = require (SELECTIVETLS):
 * those answer only over TLS and are left out of NBD_OPT_LIST before it.  After the upgrade everything negotiated in plaintext
 * is forgotten (nbd_hs_tls_ready), so a man in the middle cannot have
 * chosen it.
 */
#include <config.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "nbd/nbd-internal.h"
#include "nbd/nbd-names.h"

/* Option reply with payload (handshake replies are rare: copied). */
static void
nbd_hs_reply(struct nbd_conn *conn, uint32_t opt, uint32_t reply,
             const void *data, size_t len)
{
    struct {
        struct nbd_wire_fixed_new_option_reply hdr;
        uint8_t data[NBD_MAX_STRING + 64];
    } __attribute__((packed)) msg;

    if (len > sizeof msg.data) {
        len = sizeof msg.data;
    }
    msg.hdr.magic = htobe64(NBD_REP_MAGIC);
    msg.hdr.option = htobe32(opt);
    msg.hdr.reply = htobe32(reply);
    msg.hdr.replylen = htobe32((uint32_t)len);
    if (len) {
        memcpy(msg.data, data, len);
    }
    if (nbd_conn_queue_copy(conn, &msg, sizeof msg.hdr + len) < 0) {
        conn_close_soon(&conn->base, "out of memory for a handshake reply");
    }
}

static void
nbd_hs_error(struct nbd_conn *conn, uint32_t opt, uint32_t reply,
             const char *msg)
{
    log_debug("nbd %s: option %s: %s: %s", conn->base.peer, nbd_name_opt(opt),
              nbd_name_rep(reply), msg);
    nbd_hs_reply(conn, opt, reply, msg, strlen(msg));
}

void
nbd_hs_greet(struct nbd_conn *conn)
{
    struct nbd_wire_new_handshake hs = {
        .nbdmagic = htobe64(NBD_MAGIC),
        .version = htobe64(NBD_IHAVEOPT),
        .gflags = htobe16(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES),
    };

    conn->state = NBD_STATE_HS_CLIENT_FLAGS;
    if (nbd_conn_queue_copy(conn, &hs, sizeof hs) < 0) {
        conn_close_soon(&conn->base, "out of memory for the greeting");
    }
}

uint16_t
nbd_hs_transmission_flags(const struct export *e, bool structured)
{
    uint16_t f = NBD_FLAG_HAS_FLAGS;

    if (e->readonly) {
        f |= NBD_FLAG_READ_ONLY;
    }
    if (e->caps & BACKEND_CAN_FLUSH) {
        f |= NBD_FLAG_SEND_FLUSH;
    }
    if (e->caps & BACKEND_CAN_FUA) {
        f |= NBD_FLAG_SEND_FUA;
    }
    if (e->caps & BACKEND_CAN_TRIM) {
        f |= NBD_FLAG_SEND_TRIM;
    }
    if (e->caps & BACKEND_CAN_ZERO) {
        f |= NBD_FLAG_SEND_WRITE_ZEROES;
        if (e->caps & BACKEND_CAN_FAST_ZERO) {
            f |= NBD_FLAG_SEND_FAST_ZERO;
        }
    }
    if (structured) {
        f |= NBD_FLAG_SEND_DF;
    }
    if (e->caps & BACKEND_CAN_MULTI_CONN) {
        f |= NBD_FLAG_CAN_MULTI_CONN;
    }
    if (e->caps & BACKEND_CAN_CACHE) {
        f |= NBD_FLAG_SEND_CACHE;
    }
    return f;
}

/* The export for a client-given name: "" is the default export. */
static struct export *
nbd_hs_lookup(struct nbd_conn *conn, const char *name)
{
    const struct nbd_server *srv = conn->srv;
    struct export *e = NULL;

    if (name[0] != '\0') {
        e = export_find(srv->exports, name);
    } else if (srv->cfg->nbd_default_export) {
        e = export_find(srv->exports, srv->cfg->nbd_default_export);
    } else {
        /* The first export served over NBD. */
        for (size_t i = 0; i < srv->exports->n && e == NULL; i++) {
            if (srv->exports->exports[i].cfg->protocols & CONFIG_PROTO_NBD) {
                e = &srv->exports->exports[i];
            }
        }
    }
    /* `protocols = iscsi`: not an NBD export at all. */
    return e && (e->cfg->protocols & CONFIG_PROTO_NBD) ? e : NULL;
}

static bool
nbd_hs_allowed(const struct nbd_conn *conn, const struct export *e)
{
    return acl_allows(&e->cfg->allow, &conn->base.peer_addr);
}

/* An export with tls = require, and no TLS yet (SELECTIVETLS). */
static bool
nbd_hs_tls_missing(const struct nbd_conn *conn, const struct export *e)
{
    return e->cfg->tls == CONFIG_TLS_REQUIRE && !conn_tls_on(&conn->base);
}

/* Choose the export and, if the export is pinned elsewhere, remember it:
 * the connection then moves to that thread (see nbd-conn.c). */
static void
nbd_hs_bind(struct nbd_conn *conn, struct export *e)
{
    conn->export = e;
    /* Counters of the thread serving it; re-pointed if the connection
     * moves to the export's pinned thread. */
    conn->export_stats = &e->stats[iothread_id(conn->base.iothread)];
    conn->tflags = nbd_hs_transmission_flags(e, conn->structured);
    if (conn->meta_export && strcmp(conn->meta_export, e->name) != 0 &&
        !(conn->meta_export[0] == '\0' &&
          nbd_hs_lookup(conn, "") == e)) {
        /* Contexts were negotiated for another export: none apply. */
        conn->meta_base_allocation = false;
    }
    log_info("nbd %s: export %s%s%s", conn->base.peer, e->name,
             conn->extended     ? ", extended headers"
             : conn->structured ? ", structured replies"
                                : "",
             conn->meta_base_allocation ? ", base:allocation" : "");
}

static void
nbd_hs_opt_export_name(struct nbd_conn *conn)
{
    char name[NBD_MAX_STRING + 1];
    struct export *e;
    struct {
        uint64_t size;
        uint16_t flags;
        uint8_t zeroes[124];
    } __attribute__((packed)) reply = { 0 };
    size_t len;

    if (conn->extended) {
        /* The protocol forbids it after extended headers, and it has no
         * error reply: hang up. */
        conn_close_soon(&conn->base,
                        "NBD_OPT_EXPORT_NAME after NBD_OPT_EXTENDED_HEADERS");
        return;
    }
    memcpy(name, conn->optbuf, conn->optlen);
    name[conn->optlen] = '\0';
    e = nbd_hs_lookup(conn, name);
    /* NBD_OPT_EXPORT_NAME has no error reply: a refusal is a disconnect. */
    if (e == NULL) {
        log_info("nbd %s: NBD_OPT_EXPORT_NAME: no export '%s'", conn->base.peer,
                 name);
        conn_close_soon(&conn->base, NULL);
        return;
    }
    if (!nbd_hs_allowed(conn, e)) {
        log_warn("nbd %s: export %s: client not in its allow list", conn->base.peer,
                 e->name);
        conn_close_soon(&conn->base, NULL);
        return;
    }
    if (nbd_hs_tls_missing(conn, e)) {
        log_info("nbd %s: NBD_OPT_EXPORT_NAME: export %s requires TLS; "
                 "closing", conn->base.peer, e->name);
        conn_close_soon(&conn->base, NULL);
        return;
    }
    nbd_hs_bind(conn, e);
    reply.size = htobe64(e->size);
    reply.flags = htobe16(conn->tflags);
    len = conn->client_flags & NBD_FLAG_C_NO_ZEROES ? 10 : sizeof reply;
    if (nbd_conn_queue_copy(conn, &reply, len) < 0) {
        conn_close_soon(&conn->base, "out of memory");
        return;
    }
    nbd_conn_enter_transmission(conn);
}

static void
nbd_hs_opt_list(struct nbd_conn *conn)
{
    const struct export_set *set = conn->srv->exports;

    if (conn->optlen != 0) {
        nbd_hs_error(conn, NBD_OPT_LIST, NBD_REP_ERR_INVALID,
                     "NBD_OPT_LIST takes no data");
        return;
    }
    for (size_t i = 0; i < set->n; i++) {
        const struct export *e = &set->exports[i];
        uint8_t buf[4 + 2 * (NBD_MAX_STRING + 1)];
        size_t nl = strlen(e->name), dl = strlen(e->description);
        uint32_t be = htobe32((uint32_t)nl);

        if (!nbd_hs_allowed(conn, e) || !(e->cfg->protocols & CONFIG_PROTO_NBD) ||
            nbd_hs_tls_missing(conn, e)) {
            continue; /* do not reveal exports the client may not use */
        }
        if (dl > NBD_MAX_STRING) {
            dl = NBD_MAX_STRING;
        }
        memcpy(buf, &be, 4);
        memcpy(buf + 4, e->name, nl);
        memcpy(buf + 4 + nl, e->description, dl);
        nbd_hs_reply(conn, NBD_OPT_LIST, NBD_REP_SERVER, buf, 4 + nl + dl);
    }
    nbd_hs_reply(conn, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
}

/* Read a 32-bit-length-prefixed string at *pos; false if malformed. */
static bool
nbd_hs_get_string(const struct nbd_conn *conn, uint32_t *pos, char *out,
                  size_t outlen)
{
    uint32_t len;

    if (conn->optlen - *pos < 4) {
        return false;
    }
    memcpy(&len, conn->optbuf + *pos, 4);
    len = be32toh(len);
    *pos += 4;
    if (len > conn->optlen - *pos || len >= outlen) {
        return false;
    }
    memcpy(out, conn->optbuf + *pos, len);
    out[len] = '\0';
    if (memchr(out, '\0', len)) {
        return false; /* NBD strings are UTF-8 without NUL */
    }
    *pos += len;
    return true;
}

static void
nbd_hs_opt_info_go(struct nbd_conn *conn)
{
    uint32_t opt = conn->opt, pos = 0;
    char name[NBD_MAX_STRING + 1];
    uint16_t ninfo;
    bool want_name = false, want_desc = false;
    struct export *e;

    if (!nbd_hs_get_string(conn, &pos, name, sizeof name) ||
        conn->optlen - pos < 2) {
        nbd_hs_error(conn, opt, NBD_REP_ERR_INVALID,
                     "malformed export name or information request count");
        return;
    }
    memcpy(&ninfo, conn->optbuf + pos, 2);
    ninfo = be16toh(ninfo);
    pos += 2;
    if (conn->optlen - pos != 2u * ninfo) {
        nbd_hs_error(conn, opt, NBD_REP_ERR_INVALID,
                     "option length does not match the information requests");
        return;
    }
    for (uint16_t i = 0; i < ninfo; i++) {
        uint16_t type;

        memcpy(&type, conn->optbuf + pos + 2u * i, 2);
        type = be16toh(type);
        want_name |= type == NBD_INFO_NAME;
        want_desc |= type == NBD_INFO_DESCRIPTION;
        /* NBD_INFO_BLOCK_SIZE is always sent; unknown types are ignored. */
    }
    e = nbd_hs_lookup(conn, name);
    if (e == NULL) {
        char msg[NBD_MAX_STRING + 32];

        snprintf(msg, sizeof msg, "no export named '%s'", name);
        nbd_hs_error(conn, opt, NBD_REP_ERR_UNKNOWN, msg);
        return;
    }
    if (!nbd_hs_allowed(conn, e)) {
        log_warn("nbd %s: export %s: client not in its allow list", conn->base.peer,
                 e->name);
        nbd_hs_error(conn, opt, NBD_REP_ERR_POLICY,
                     "access to this export is not allowed from your address");
        return;
    }
    if (nbd_hs_tls_missing(conn, e)) {
        nbd_hs_error(conn, opt, NBD_REP_ERR_TLS_REQD,
                     "this export requires TLS: send NBD_OPT_STARTTLS first");
        return;
    }

    uint16_t tflags = nbd_hs_transmission_flags(e, conn->structured);
    struct {
        uint16_t type;
        uint64_t size;
        uint16_t flags;
    } __attribute__((packed)) info_export = {
        htobe16(NBD_INFO_EXPORT), htobe64(e->size), htobe16(tflags),
    };
    nbd_hs_reply(conn, opt, NBD_REP_INFO, &info_export, sizeof info_export);

    /* Real limits: any alignment works (the backends read-modify-write
     * where they must), 4 KiB is where they stop doing so, and the payload
     * is bounded by [nbd] max-payload. */
    uint32_t min_block = backend_min_block(e->backend);
    struct {
        uint16_t type;
        uint32_t min, preferred, max;
    } __attribute__((packed)) info_bs = {
        htobe16(NBD_INFO_BLOCK_SIZE), htobe32(min_block),
        htobe32(min_block > 4096 ? min_block : 4096),
        htobe32((uint32_t)conn->srv->cfg->nbd_max_payload),
    };
    nbd_hs_reply(conn, opt, NBD_REP_INFO, &info_bs, sizeof info_bs);

    if (want_name || name[0] == '\0') {
        uint8_t buf[2 + NBD_MAX_STRING];
        uint16_t t = htobe16(NBD_INFO_NAME);
        size_t nl = strlen(e->name);

        memcpy(buf, &t, 2);
        memcpy(buf + 2, e->name, nl);
        nbd_hs_reply(conn, opt, NBD_REP_INFO, buf, 2 + nl);
    }
    if (want_desc && e->description[0]) {
        uint8_t buf[2 + NBD_MAX_STRING];
        uint16_t t = htobe16(NBD_INFO_DESCRIPTION);
        size_t dl = strlen(e->description);

        if (dl > NBD_MAX_STRING) {
            dl = NBD_MAX_STRING;
        }
        memcpy(buf, &t, 2);
        memcpy(buf + 2, e->description, dl);
        nbd_hs_reply(conn, opt, NBD_REP_INFO, buf, 2 + dl);
    }
    nbd_hs_reply(conn, opt, NBD_REP_ACK, NULL, 0);
    if (opt == NBD_OPT_GO) {
        nbd_hs_bind(conn, e);
        nbd_conn_enter_transmission(conn);
    }
}

static void
nbd_hs_opt_meta_context(struct nbd_conn *conn)
{
    uint32_t opt = conn->opt, pos = 0, nqueries;
    char name[NBD_MAX_STRING + 1], query[NBD_MAX_STRING + 1];
    bool set = opt == NBD_OPT_SET_META_CONTEXT;
    bool match = false;
    struct export *e;

    if (!conn->structured) {
        nbd_hs_error(conn, opt, NBD_REP_ERR_INVALID,
                     "negotiate NBD_OPT_STRUCTURED_REPLY or "
                     "NBD_OPT_EXTENDED_HEADERS first");
        return;
    }
    if (!nbd_hs_get_string(conn, &pos, name, sizeof name) ||
        conn->optlen - pos < 4) {
        nbd_hs_error(conn, opt, NBD_REP_ERR_INVALID, "malformed option");
        return;
    }
    memcpy(&nqueries, conn->optbuf + pos, 4);
    nqueries = be32toh(nqueries);
    pos += 4;
    e = nbd_hs_lookup(conn, name);
    if (e == NULL) {
        nbd_hs_error(conn, opt, NBD_REP_ERR_UNKNOWN, "no such export");
        return;
    }
    if (!nbd_hs_allowed(conn, e)) {
        nbd_hs_error(conn, opt, NBD_REP_ERR_POLICY,
                     "access to this export is not allowed from your address");
        return;
    }
    if (nbd_hs_tls_missing(conn, e)) {
        nbd_hs_error(conn, opt, NBD_REP_ERR_TLS_REQD,
                     "this export requires TLS: send NBD_OPT_STARTTLS first");
        return;
    }
    /* Validate every query before answering anything. */
    uint32_t p = pos;
    for (uint32_t i = 0; i < nqueries; i++) {
        if (!nbd_hs_get_string(conn, &p, query, sizeof query)) {
            nbd_hs_error(conn, opt, NBD_REP_ERR_INVALID, "malformed query");
            return;
        }
    }
    if (p != conn->optlen) {
        nbd_hs_error(conn, opt, NBD_REP_ERR_INVALID, "trailing option data");
        return;
    }
    if (nqueries == 0) {
        match = !set; /* LIST with no query lists everything; SET selects none */
    }
    for (uint32_t i = 0; i < nqueries; i++) {
        nbd_hs_get_string(conn, &pos, query, sizeof query);
        if (strcmp(query, "base:allocation") == 0 ||
            (!set && (strcmp(query, "base:") == 0))) {
            match = true;
        }
    }
    if (match && (e->caps & BACKEND_CAN_BLOCK_STATUS)) {
        static const char ctx_name[] = "base:allocation";
        uint8_t buf[4 + sizeof ctx_name];
        /* LIST answers with id 0: ids mean something only after SET. */
        uint32_t id = htobe32(set ? NBD_CONTEXT_BASE_ALLOCATION_ID : 0);

        memcpy(buf, &id, 4);
        memcpy(buf + 4, ctx_name, sizeof ctx_name - 1);
        nbd_hs_reply(conn, opt, NBD_REP_META_CONTEXT, buf,
                     4 + sizeof ctx_name - 1);
    } else {
        match = false;
    }
    if (set) {
        conn->meta_base_allocation = match;
        free(conn->meta_export);
        conn->meta_export = strdup(name);
    }
    nbd_hs_reply(conn, opt, NBD_REP_ACK, NULL, 0);
}

/* Allowed with or without structured replies first; once acked, every
 * reply is an extended chunk (structured replies are implied). */
static void
nbd_hs_opt_extended_headers(struct nbd_conn *conn)
{
    if (conn->optlen != 0) {
        nbd_hs_error(conn, conn->opt, NBD_REP_ERR_INVALID,
                     "NBD_OPT_EXTENDED_HEADERS takes no data");
    } else if (conn->extended) {
        nbd_hs_error(conn, conn->opt, NBD_REP_ERR_INVALID,
                     "extended headers are already negotiated");
    } else {
        conn->extended = true;
        conn->structured = true;
        nbd_hs_reply(conn, conn->opt, NBD_REP_ACK, NULL, 0);
    }
}

static void
nbd_hs_opt_starttls(struct nbd_conn *conn)
{
    struct tls_creds *creds;
    int r;

    if (conn->srv->cfg->nbd_tls.mode == CONFIG_TLS_OFF) {
        nbd_hs_error(conn, conn->opt, NBD_REP_ERR_POLICY,
                     "TLS is not enabled on this server");
        return;
    }
    if (conn_tls_on(&conn->base)) {
        nbd_hs_error(conn, conn->opt, NBD_REP_ERR_INVALID,
                     "TLS is already negotiated");
        return;
    }
    if (conn->optlen != 0) {
        nbd_hs_error(conn, conn->opt, NBD_REP_ERR_INVALID,
                     "NBD_OPT_STARTTLS takes no data");
        return;
    }
    creds = tls_slot_get(&conn->srv->tls);
    if (creds == NULL) {
        nbd_hs_error(conn, conn->opt, NBD_REP_ERR_POLICY,
                     "TLS is not enabled on this server");
        return;
    }
    nbd_hs_reply(conn, NBD_OPT_STARTTLS, NBD_REP_ACK, NULL, 0);
    r = conn_start_tls(&conn->base, creds);
    tls_creds_unref(creds);
    if (r == -EPROTO) {
        conn_close_soon(&conn->base, "client sent data after NBD_OPT_STARTTLS "
                                     "without waiting for the reply");
    } else if (r < 0) {
        conn_close_soon(&conn->base, "cannot start TLS: out of memory");
    }
}

void
nbd_hs_tls_ready(struct nbd_conn *conn)
{
    conn->structured = false;
    conn->extended = false;
    conn->meta_base_allocation = false;
    free(conn->meta_export);
    conn->meta_export = NULL;
}

static void
nbd_hs_option(struct nbd_conn *conn)
{
    if (conn->srv->cfg->nbd_tls.mode == CONFIG_TLS_REQUIRE &&
        !conn_tls_on(&conn->base) && conn->opt != NBD_OPT_STARTTLS &&
        conn->opt != NBD_OPT_ABORT) {
        if (conn->opt == NBD_OPT_EXPORT_NAME) {
            /* No error reply exists for it: hang up. */
            log_info("nbd %s: NBD_OPT_EXPORT_NAME without TLS, which this "
                     "server requires; closing",
                     conn->base.peer);
            conn_close_soon(&conn->base, NULL);
            return;
        }
        nbd_hs_error(conn, conn->opt, NBD_REP_ERR_TLS_REQD,
                     "this server requires TLS: send NBD_OPT_STARTTLS first");
        return;
    }
    switch (conn->opt) {
    case NBD_OPT_EXPORT_NAME:
        nbd_hs_opt_export_name(conn);
        break;
    case NBD_OPT_ABORT:
        /* The client may hang up before reading this: that is fine. */
        nbd_hs_reply(conn, NBD_OPT_ABORT, NBD_REP_ACK, NULL, 0);
        conn_close_soon(&conn->base, NULL);
        break;
    case NBD_OPT_LIST:
        nbd_hs_opt_list(conn);
        break;
    case NBD_OPT_STARTTLS:
        nbd_hs_opt_starttls(conn);
        break;
    case NBD_OPT_INFO:
    case NBD_OPT_GO:
        nbd_hs_opt_info_go(conn);
        break;
    case NBD_OPT_STRUCTURED_REPLY:
        if (conn->optlen != 0) {
            nbd_hs_error(conn, conn->opt, NBD_REP_ERR_INVALID,
                         "NBD_OPT_STRUCTURED_REPLY takes no data");
        } else if (conn->extended) {
            /* The protocol's answer: extended headers take precedence. */
            nbd_hs_error(conn, conn->opt, NBD_REP_ERR_EXT_HEADER_REQD,
                         "extended headers are already negotiated");
        } else if (conn->structured) {
            nbd_hs_error(conn, conn->opt, NBD_REP_ERR_INVALID,
                         "structured replies are already negotiated");
        } else {
            conn->structured = true;
            nbd_hs_reply(conn, conn->opt, NBD_REP_ACK, NULL, 0);
        }
        break;
    case NBD_OPT_LIST_META_CONTEXT:
    case NBD_OPT_SET_META_CONTEXT:
        nbd_hs_opt_meta_context(conn);
        break;
    case NBD_OPT_EXTENDED_HEADERS:
        nbd_hs_opt_extended_headers(conn);
        break;
    default:
        nbd_hs_error(conn, conn->opt, NBD_REP_ERR_UNSUP,
                     "option not supported by this server");
        break;
    }
}

bool
nbd_hs_process(struct nbd_conn *conn)
{
    size_t avail = conn->base.rx_end - conn->base.rx_start;
    const uint8_t *p = conn->base.rx + conn->base.rx_start;

    switch (conn->state) {
    case NBD_STATE_HS_CLIENT_FLAGS: {
        uint32_t flags;

        if (avail < 4) {
            return false;
        }
        memcpy(&flags, p, 4);
        conn->base.rx_start += 4;
        conn->client_flags = be32toh(flags);
        if (conn->client_flags &
            ~(uint32_t)(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
            conn_close_soon(&conn->base, "unknown client flags");
            return false;
        }
        conn->state = NBD_STATE_HS_OPTION;
        return true;
    }
    case NBD_STATE_HS_OPTION: {
        struct nbd_wire_option opt;

        if (avail < sizeof opt) {
            return false;
        }
        memcpy(&opt, p, sizeof opt);
        conn->base.rx_start += sizeof opt;
        if (be64toh(opt.version) != NBD_IHAVEOPT) {
            conn_close_soon(&conn->base, "bad option magic");
            return false;
        }
        conn->opt = be32toh(opt.option);
        conn->optlen = be32toh(opt.optlen);
        if (conn->opt == NBD_OPT_EXPORT_NAME && conn->optlen > NBD_MAX_STRING) {
            /* NBD_OPT_EXPORT_NAME has no error reply: hang up. */
            conn_close_soon(&conn->base, "export name longer than 4096 bytes");
            return false;
        }
        if (conn->optlen > NBD_MAX_OPTLEN) {
            /* Refuse without reading the data, then hang up. */
            nbd_hs_error(conn, conn->opt, NBD_REP_ERR_TOO_BIG,
                         "option data too long");
            conn_close_soon(&conn->base, "option data too long");
            return false;
        }
        free(conn->optbuf);
        conn->optbuf = malloc(conn->optlen ? conn->optlen : 1);
        if (conn->optbuf == NULL) {
            conn_close_soon(&conn->base, "out of memory");
            return false;
        }
        conn->opt_got = 0;
        conn->state = NBD_STATE_HS_OPTION_DATA;
        return true;
    }
    case NBD_STATE_HS_OPTION_DATA: {
        size_t need = conn->optlen - conn->opt_got;
        size_t take = avail < need ? avail : need;

        memcpy(conn->optbuf + conn->opt_got, p, take);
        conn->base.rx_start += take;
        conn->opt_got += (uint32_t)take;
        if (conn->opt_got < conn->optlen) {
            return false;
        }
        conn->state = NBD_STATE_HS_OPTION;
        log_debug("nbd %s: option %s, %u bytes", conn->base.peer,
                  nbd_name_opt(conn->opt), conn->optlen);
        nbd_hs_option(conn);
        return conn->base.life == CONN_OPEN;
    }
    default:
        return false;
    }
}
