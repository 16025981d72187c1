/* SPDX-License-Identifier: MIT */
/*
 * Operational negotiation (see iscsi-param.h) as one table of keys, in the
 * manner of SPDK lib/iscsi/param.c and tgt usr/iscsi/param.c: each row
 * says how the result is computed (boolean AND/OR, numerical min/max, a
 * list, a declaration), where the key may appear, its range and the field
 * of struct iscsi_param_set it sets; the target's own value comes from
 * param_target_value().  Adding a key is one row and, if it has a target
 * value, one case.
 *
 * Answers follow RFC 7143 6.2: a value that does not parse or lies outside
 * the key's range is answered "Reject" and the key keeps its default; a
 * key that only makes sense in Normal sessions is answered "Irrelevant" in
 * a Discovery session; unknown keys, X- and X# keys "NotUnderstood".  What
 * the RFC calls an initiator error -- a key negotiated twice, a key in a
 * stage where it may not appear, a target-only key from the initiator --
 * returns -EINVAL so the login fails with 0200.
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "iscsi/iscsi-param.h"
#include "iscsi/iscsi-text.h"

#define STAGE_BIT(s) (1u << (s))
#define S_SEC STAGE_BIT(ISCSI_PARAM_SECURITY)
#define S_OP STAGE_BIT(ISCSI_PARAM_OPERATIONAL)
#define S_FULL STAGE_BIT(ISCSI_PARAM_FULL)

/* RFC 7143 13.12-13.14: data segment and burst lengths. */
#define LEN_MIN 512u
#define LEN_MAX ((1u << 24) - 1)

enum param_type {
    PT_AND,         /* boolean, result is AND */
    PT_OR,          /* boolean, result is OR */
    PT_MIN,         /* numerical, result is the minimum */
    PT_MAX,         /* numerical, result is the maximum */
    PT_DIGEST,      /* list: first of the initiator's we accept */
    PT_TASKREP,     /* list: we only do RFC3720 */
    PT_MRDSL,       /* MaxRecvDataSegmentLength: declarative, both ways */
    PT_SILENT,      /* declarative from the initiator, nothing to say */
    PT_TARGET_ONLY, /* only the target may send it */
    PT_MARKER,      /* obsoleted by RFC 7143: we answer No */
    PT_MARKINT,     /* obsoleted by RFC 7143: MUST answer Reject */
};

/* Row order = bit order in seen/offered. */
enum {
    K_HEADER_DIGEST,
    K_DATA_DIGEST,
    K_MAX_CONNECTIONS,
    K_INITIAL_R2T,
    K_IMMEDIATE_DATA,
    K_MAX_RECV_DSL,
    K_MAX_BURST,
    K_FIRST_BURST,
    K_TIME2WAIT,
    K_TIME2RETAIN,
    K_MAX_R2T,
    K_DATA_PDU_IN_ORDER,
    K_DATA_SEQ_IN_ORDER,
    K_ERL,
    K_TARGET_ALIAS,
    K_INITIATOR_ALIAS,
    K_TPGT,
    K_TARGET_ADDRESS,
    K_OFMARKER,
    K_IFMARKER,
    K_OFMARKINT,
    K_IFMARKINT,
    K_PROTOCOL_LEVEL,
    K_TASK_REPORTING,
    K__COUNT
};

#define NO_FIELD SIZE_MAX
#define F(field) offsetof(struct iscsi_param_set, field)

struct param_key {
    const char *name;
    enum param_type type;
    unsigned stages;          /* S_* where the initiator may send it */
    bool normal_only;         /* Irrelevant when SessionType=Discovery */
    uint32_t min, max;        /* numerical range */
    size_t field;             /* bool or uint32_t in iscsi_param_set */
};

/* Keys, attributes and ranges from RFC 7143 section 13 (RFC 7144 for
 * iSCSIProtocolLevel).  LO and IO keys are login-only: operational stage.
 * Only keys marked "Any-Stage" (the aliases) may appear in the security
 * stage, and only "Use: ALL" keys in full feature phase. */
static const struct param_key param_keys[K__COUNT] = {
    [K_HEADER_DIGEST] = { "HeaderDigest", PT_DIGEST, S_OP, false, 0, 0,
                          F(header_digest) },
    [K_DATA_DIGEST] = { "DataDigest", PT_DIGEST, S_OP, false, 0, 0,
                        F(data_digest) },
    [K_MAX_CONNECTIONS] = { "MaxConnections", PT_MIN, S_OP, true, 1, 65535,
                            F(max_connections) },
    [K_INITIAL_R2T] = { "InitialR2T", PT_OR, S_OP, true, 0, 0,
                        F(initial_r2t) },
    [K_IMMEDIATE_DATA] = { "ImmediateData", PT_AND, S_OP, true, 0, 0,
                           F(immediate_data) },
    [K_MAX_RECV_DSL] = { "MaxRecvDataSegmentLength", PT_MRDSL, S_OP | S_FULL,
                         false, LEN_MIN, LEN_MAX, F(max_xmit_dsl) },
    [K_MAX_BURST] = { "MaxBurstLength", PT_MIN, S_OP, true, LEN_MIN, LEN_MAX,
                      F(max_burst_length) },
    [K_FIRST_BURST] = { "FirstBurstLength", PT_MIN, S_OP, true, LEN_MIN,
                        LEN_MAX, F(first_burst_length) },
    [K_TIME2WAIT] = { "DefaultTime2Wait", PT_MAX, S_OP, false, 0, 3600,
                      F(default_time2wait) },
    [K_TIME2RETAIN] = { "DefaultTime2Retain", PT_MIN, S_OP, false, 0, 3600,
                        F(default_time2retain) },
    [K_MAX_R2T] = { "MaxOutstandingR2T", PT_MIN, S_OP, true, 1, 65535,
                    F(max_outstanding_r2t) },
    [K_DATA_PDU_IN_ORDER] = { "DataPDUInOrder", PT_OR, S_OP, true, 0, 0,
                              F(data_pdu_in_order) },
    [K_DATA_SEQ_IN_ORDER] = { "DataSequenceInOrder", PT_OR, S_OP, true, 0, 0,
                              F(data_sequence_in_order) },
    [K_ERL] = { "ErrorRecoveryLevel", PT_MIN, S_OP, false, 0, 2,
                F(error_recovery_level) },
    [K_TARGET_ALIAS] = { "TargetAlias", PT_TARGET_ONLY, 0, false, 0, 0,
                         NO_FIELD },
    [K_INITIATOR_ALIAS] = { "InitiatorAlias", PT_SILENT, S_SEC | S_OP | S_FULL,
                            false, 0, 0, NO_FIELD },
    [K_TPGT] = { "TargetPortalGroupTag", PT_TARGET_ONLY, 0, false, 0, 0,
                 NO_FIELD },
    [K_TARGET_ADDRESS] = { "TargetAddress", PT_TARGET_ONLY, 0, false, 0, 0,
                           NO_FIELD },
    [K_OFMARKER] = { "OFMarker", PT_MARKER, S_OP, false, 0, 0, NO_FIELD },
    [K_IFMARKER] = { "IFMarker", PT_MARKER, S_OP, false, 0, 0, NO_FIELD },
    [K_OFMARKINT] = { "OFMarkInt", PT_MARKINT, S_OP, false, 0, 0, NO_FIELD },
    [K_IFMARKINT] = { "IFMarkInt", PT_MARKINT, S_OP, false, 0, 0, NO_FIELD },
    [K_PROTOCOL_LEVEL] = { "iSCSIProtocolLevel", PT_MIN, S_OP, false, 0, 31,
                           F(protocol_level) },
    [K_TASK_REPORTING] = { "TaskReporting", PT_TASKREP, S_OP, true, 0, 0,
                           NO_FIELD },
};

/* Keys that need no answer when we send them (declarations). */
#define DECLARATIVE_MASK (1ull << K_MAX_RECV_DSL)

/* RFC 7143 13 defaults, the session's values for keys nobody sends. */
#define DEFAULT_MAX_RECV_DSL 8192
#define DEFAULT_MAX_BURST 262144
#define DEFAULT_FIRST_BURST 65536

/* Digest bits, as iscsi_param_set stores them: false None, true CRC32C. */
#define DIGEST_NONE (1u << 0)
#define DIGEST_CRC32C (1u << 1)

static uint32_t *
param_u32(struct iscsi_param_neg *n, const struct param_key *k)
{
    return (uint32_t *)((char *)&n->set + k->field);
}

static bool *
param_bool(struct iscsi_param_neg *n, const struct param_key *k)
{
    return (bool *)((char *)&n->set + k->field);
}

static uint32_t
clamp_u64(uint64_t v, uint32_t lo, uint32_t hi)
{
    return v < lo ? lo : v > hi ? hi : (uint32_t)v;
}

/* The target's side of a boolean or numerical key. */
static uint32_t
param_target_value(const struct iscsi_param_neg *n, unsigned idx)
{
    const struct config *cfg = n->cfg;
    uint32_t burst = clamp_u64(cfg->iscsi_max_burst_length, LEN_MIN, LEN_MAX);

    switch (idx) {
    case K_MAX_CONNECTIONS:
        return 1; /* no MC/S: one connection per session */
    case K_INITIAL_R2T:
        return cfg->iscsi_initial_r2t;
    case K_IMMEDIATE_DATA:
        return cfg->iscsi_immediate_data;
    case K_MAX_BURST:
        return burst;
    case K_FIRST_BURST: {
        /* Never above MaxBurstLength (RFC 7143 13.14): our own limit, and
         * the negotiated one when MaxBurstLength came first. */
        uint32_t first =
            clamp_u64(cfg->iscsi_first_burst_length, LEN_MIN, LEN_MAX);

        if (n->seen & (1ull << K_MAX_BURST) &&
            n->set.max_burst_length < burst) {
            burst = n->set.max_burst_length;
        }
        return first < burst ? first : burst;
    }
    case K_TIME2WAIT:
        return 2; /* the RFC default; the initiator's choice when longer */
    case K_TIME2RETAIN:
        /* ERL 0 keeps no task state after a connection drops, so there is
         * nothing to retain: 0 says so (RFC 7143 13.16). */
        return 0;
    case K_MAX_R2T:
        return clamp_u64(cfg->iscsi_max_outstanding_r2t, 1, 65535);
    case K_DATA_PDU_IN_ORDER:
    case K_DATA_SEQ_IN_ORDER:
        return 1; /* we require in-order data: Yes wins under OR */
    case K_ERL:
        return 0; /* only error recovery level 0 */
    case K_PROTOCOL_LEVEL:
        /* Level 1 is RFC 7143 itself; 2 would claim RFC 7144's features
         * (QUERY TASK and friends), which we do not implement. */
        return 1;
    default:
        return 0;
    }
}

/* RFC 7143 6.1 numerical-value: decimal-constant or hex-constant. */
static bool
param_parse_number(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (*s == '\0') {
        return false;
    }
    for (; *s; s++) {
        unsigned d;

        if (*s >= '0' && *s <= '9') {
            d = (unsigned)(*s - '0');
        } else if (base == 16 && *s >= 'a' && *s <= 'f') {
            d = (unsigned)(*s - 'a' + 10);
        } else if (base == 16 && *s >= 'A' && *s <= 'F') {
            d = (unsigned)(*s - 'A' + 10);
        } else {
            return false;
        }
        if (v > (UINT64_MAX - d) / base) {
            return false;
        }
        v = v * base + d;
    }
    *out = v;
    return true;
}

static int
param_parse_bool(const char *s)
{
    if (strcmp(s, "Yes") == 0) {
        return 1;
    }
    if (strcmp(s, "No") == 0) {
        return 0;
    }
    return -1;
}

/* Does the comma-separated list contain item (exact match)?  An empty
 * element or an overlong list item makes the list malformed (-1). */
static int
param_list_has(const char *list, const char *item)
{
    size_t ilen = strlen(item);
    int found = 0;

    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len == 0 || len > 255) {
            return -1;
        }
        if (len == ilen && memcmp(p, item, len) == 0) {
            found = 1;
        }
        if (comma == NULL) {
            return found;
        }
        p = comma + 1;
    }
}

/* The digests [iscsi] accepts: cfg holds "None,CRC32C" (any case, maybe
 * with blanks, as the INI parser writes or a test passes). */
static unsigned
param_digest_accepts(const char *cfgval)
{
    unsigned mask = 0;

    if (cfgval == NULL) {
        return DIGEST_NONE;
    }
    for (const char *p = cfgval; *p;) {
        size_t len;

        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        len = strcspn(p, " \t,");
        if (len == 4 && strncasecmp(p, "none", 4) == 0) {
            mask |= DIGEST_NONE;
        } else if (len == 6 && strncasecmp(p, "crc32c", 6) == 0) {
            mask |= DIGEST_CRC32C;
        }
        p += len;
    }
    return mask ? mask : DIGEST_NONE;
}

static unsigned
param_digest_mask(const struct iscsi_param_neg *n, unsigned idx)
{
    return param_digest_accepts(idx == K_HEADER_DIGEST
                                    ? n->cfg->iscsi_header_digest
                                    : n->cfg->iscsi_data_digest);
}

/* The target's preference order, for an offer: "CRC32C" or "CRC32C,None"
 * or "None,CRC32C" as written in [iscsi]. */
static void
param_digest_offer(const char *cfgval, char out[16])
{
    out[0] = '\0';
    for (const char *p = cfgval ? cfgval : "None"; *p;) {
        size_t len;
        const char *name = NULL;

        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        len = strcspn(p, " \t,");
        if (len == 4 && strncasecmp(p, "none", 4) == 0) {
            name = "None";
        } else if (len == 6 && strncasecmp(p, "crc32c", 6) == 0) {
            name = "CRC32C";
        }
        if (name && strstr(out, name) == NULL) {
            if (out[0]) {
                strcat(out, ",");
            }
            strcat(out, name);
        }
        p += len;
    }
}

/* HeaderDigest / DataDigest from the initiator: the first value of its
 * list that we accept.  None of them: Reject, which leaves the default
 * None -- acceptable only if [iscsi] accepts None; else the login fails,
 * since a session without the digest the target demands must not start. */
static int
param_digest(struct iscsi_param_neg *n, unsigned idx, const char *value,
             struct strbuf *out, const char **why)
{
    const struct param_key *k = &param_keys[idx];
    unsigned accepts = param_digest_mask(n, idx);

    if (param_list_has(value, "None") < 0) {
        iscsi_text_add(out, k->name, "Reject");
        return 1;
    }
    for (const char *p = value;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len == 4 && memcmp(p, "None", 4) == 0 && accepts & DIGEST_NONE) {
            *param_bool(n, k) = false;
            iscsi_text_add(out, k->name, "None");
            return 1;
        }
        if (len == 6 && memcmp(p, "CRC32C", 6) == 0 &&
            accepts & DIGEST_CRC32C) {
            *param_bool(n, k) = true;
            iscsi_text_add(out, k->name, "CRC32C");
            return 1;
        }
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    if (!(accepts & DIGEST_NONE)) {
        *why = "the initiator offers no digest the target accepts";
        return -EINVAL;
    }
    iscsi_text_add(out, k->name, "Reject");
    return 1;
}

/* The initiator answers an offer of ours from iscsi_param_finish.  The
 * answer must be one the offer allows; anything else (Reject included)
 * leaves a default the target cannot run with, so the login fails. */
static int
param_answer(struct iscsi_param_neg *n, unsigned idx, const char *value,
             const char **why)
{
    const struct param_key *k = &param_keys[idx];
    uint64_t v;

    switch (k->type) {
    case PT_DIGEST: {
        unsigned accepts = param_digest_mask(n, idx);

        if (strcmp(value, "CRC32C") == 0 && accepts & DIGEST_CRC32C) {
            *param_bool(n, k) = true;
            return 1;
        }
        if (strcmp(value, "None") == 0 && accepts & DIGEST_NONE) {
            *param_bool(n, k) = false;
            return 1;
        }
        break;
    }
    case PT_AND:
        /* We only offer No (ImmediateData): AND with No is No. */
        if (strcmp(value, "No") == 0) {
            *param_bool(n, k) = false;
            return 1;
        }
        break;
    case PT_MIN:
        if (param_parse_number(value, &v) && v >= k->min &&
            v <= param_target_value(n, idx)) {
            *param_u32(n, k) = (uint32_t)v;
            return 1;
        }
        break;
    default:
        break;
    }
    *why = "the initiator refused a value the target requires";
    return -EINVAL;
}

static int
param_lookup(const char *key)
{
    for (unsigned i = 0; i < K__COUNT; i++) {
        if (strcmp(key, param_keys[i].name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* The login's own keys and the security stage's: not ours to answer. */
static bool
param_callers_key(const char *key)
{
    static const char *const names[] = {
        "InitiatorName", "TargetName", "SessionType", "SendTargets",
        "AuthMethod",
    };

    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        if (strcmp(key, names[i]) == 0) {
            return true;
        }
    }
    return strncmp(key, "CHAP_", 5) == 0;
}

void
iscsi_param_init(struct iscsi_param_neg *n, const struct config *cfg)
{
    memset(n, 0, sizeof *n);
    n->cfg = cfg;
    n->set = (struct iscsi_param_set){
        .header_digest = false,
        .data_digest = false,
        .max_recv_dsl = DEFAULT_MAX_RECV_DSL,
        .max_xmit_dsl = DEFAULT_MAX_RECV_DSL,
        .max_burst_length = DEFAULT_MAX_BURST,
        .first_burst_length = DEFAULT_FIRST_BURST,
        .max_outstanding_r2t = 1,
        .max_connections = 1,
        .default_time2wait = 2,
        .default_time2retain = 20,
        .error_recovery_level = 0,
        .initial_r2t = true,
        .immediate_data = true,
        .data_pdu_in_order = true,
        .data_sequence_in_order = true,
        .discovery = false,
        .protocol_level = 0,
    };
}

/* Our MaxRecvDataSegmentLength, declared once per login. */
static void
param_declare_mrdsl(struct iscsi_param_neg *n, struct strbuf *out)
{
    n->set.max_recv_dsl = clamp_u64(n->cfg->iscsi_max_recv_data_segment_length,
                                    LEN_MIN, LEN_MAX);
    n->offered |= 1ull << K_MAX_RECV_DSL;
    iscsi_text_addf(out, "MaxRecvDataSegmentLength", "%" PRIu32,
                    n->set.max_recv_dsl);
}

int
iscsi_param_key(struct iscsi_param_neg *n, enum iscsi_param_stage stage,
                const char *key, const char *value, struct strbuf *out,
                const char **why)
{
    const struct param_key *k;
    uint64_t bit, v;
    int idx, b;

    if (param_callers_key(key)) {
        return 0;
    }
    idx = param_lookup(key);
    if (idx < 0) {
        /* Unknown keys, and X-/X# extensions we implement none of
         * (RFC 7143 6.2, 13.22). */
        iscsi_text_add(out, key, "NotUnderstood");
        return 1;
    }
    k = &param_keys[idx];
    bit = 1ull << idx;
    if (k->type == PT_TARGET_ONLY) {
        *why = "the initiator sent a key only a target may send";
        return -EINVAL;
    }
    if (!(k->stages & STAGE_BIT(stage))) {
        *why = stage == ISCSI_PARAM_SECURITY
                   ? "operational key in the security stage"
                   : "login-only key in full feature phase";
        return -EINVAL;
    }
    if (n->seen & bit) {
        /* RFC 7143 6.2: renegotiation is an initiator error. */
        *why = "a key negotiated twice";
        return -EINVAL;
    }
    n->seen |= bit;
    if (n->offered & bit & ~DECLARATIVE_MASK) {
        return param_answer(n, (unsigned)idx, value, why);
    }
    if (k->normal_only && n->set.discovery) {
        iscsi_text_add(out, key, "Irrelevant");
        return 1;
    }

    switch (k->type) {
    case PT_AND:
    case PT_OR:
        b = param_parse_bool(value);
        if (b < 0) {
            break;
        }
        if (k->type == PT_AND) {
            b = b && param_target_value(n, (unsigned)idx);
        } else {
            b = b || param_target_value(n, (unsigned)idx);
        }
        *param_bool(n, k) = b;
        iscsi_text_add(out, key, b ? "Yes" : "No");
        return 1;
    case PT_MIN:
    case PT_MAX: {
        uint32_t ours = param_target_value(n, (unsigned)idx);
        uint32_t res;

        if (!param_parse_number(value, &v) || v < k->min || v > k->max) {
            break;
        }
        if (k->type == PT_MIN) {
            res = v < ours ? (uint32_t)v : ours;
        } else {
            res = v > ours ? (uint32_t)v : ours;
        }
        *param_u32(n, k) = res;
        iscsi_text_addf(out, key, "%" PRIu32, res);
        return 1;
    }
    case PT_DIGEST:
        return param_digest(n, (unsigned)idx, value, out, why);
    case PT_TASKREP:
        b = param_list_has(value, "RFC3720");
        iscsi_text_add(out, key, b > 0 ? "RFC3720" : "Reject");
        return 1;
    case PT_MRDSL:
        /* A declaration cannot be refused and negotiated down: a value we
         * cannot honour leaves no safe PDU size to send, so fail. */
        if (!param_parse_number(value, &v) || v < k->min || v > k->max) {
            *why = "MaxRecvDataSegmentLength outside 512..16777215";
            return -EINVAL;
        }
        n->set.max_xmit_dsl = (uint32_t)v;
        if (stage != ISCSI_PARAM_FULL && !(n->offered & bit)) {
            param_declare_mrdsl(n, out);
        }
        return 1;
    case PT_SILENT:
        return 1;
    case PT_MARKER:
        /* RFC 7143 "Obsoleted Keys": Reject SHOULD, No MAY, never
         * NotUnderstood.  No is what an RFC 3720 initiator (open-iscsi
         * sends OFMarker=No, IFMarker=No) understands, so login goes on. */
        iscsi_text_add(out, key, "No");
        return 1;
    case PT_MARKINT:
        /* RFC 7143 "Obsoleted Keys": MUST answer Reject. */
        iscsi_text_add(out, key, "Reject");
        return 1;
    case PT_TARGET_ONLY:
        break; /* handled above */
    }
    /* Malformed or out of range (RFC 7143 6.2): the key keeps its default. */
    iscsi_text_add(out, key, "Reject");
    return 1;
}

/* Offer a numerical limit of ours when the initiator's silence would leave
 * a default above it. */
static void
param_offer_min(struct iscsi_param_neg *n, unsigned idx, uint32_t dflt,
                struct strbuf *out)
{
    uint32_t ours = param_target_value(n, idx);

    if (ours < dflt) {
        n->offered |= 1ull << idx;
        iscsi_text_addf(out, param_keys[idx].name, "%" PRIu32, ours);
    }
}

void
iscsi_param_finish(struct iscsi_param_neg *n, struct strbuf *out)
{
    uint64_t quiet = ~(n->seen | n->offered);

    if (!(n->offered & (1ull << K_MAX_RECV_DSL))) {
        param_declare_mrdsl(n, out);
    }
    for (unsigned idx = K_HEADER_DIGEST; idx <= K_DATA_DIGEST; idx++) {
        if (quiet & (1ull << idx) &&
            !(param_digest_mask(n, idx) & DIGEST_NONE)) {
            char offer[16];

            param_digest_offer(idx == K_HEADER_DIGEST
                                   ? n->cfg->iscsi_header_digest
                                   : n->cfg->iscsi_data_digest,
                               offer);
            n->offered |= 1ull << idx;
            iscsi_text_add(out, param_keys[idx].name, offer);
        }
    }
    if (n->set.discovery) {
        return; /* the rest are Irrelevant there */
    }
    if (quiet & (1ull << K_MAX_BURST)) {
        param_offer_min(n, K_MAX_BURST, n->set.max_burst_length, out);
    }
    /* FirstBurstLength is Irrelevant with InitialR2T=Yes and
     * ImmediateData=No (RFC 7143 13.14): then nothing to limit. */
    if (quiet & (1ull << K_FIRST_BURST) &&
        !(n->set.initial_r2t && !n->set.immediate_data)) {
        param_offer_min(n, K_FIRST_BURST, n->set.first_burst_length, out);
    }
    if (quiet & (1ull << K_IMMEDIATE_DATA) && n->set.immediate_data &&
        !n->cfg->iscsi_immediate_data) {
        n->offered |= 1ull << K_IMMEDIATE_DATA;
        iscsi_text_add(out, "ImmediateData", "No");
    }
    /* A FirstBurstLength answered before a smaller MaxBurstLength arrived
     * (only an initiator offering First > Max can cause this) is bounded
     * here: RFC 7143 13.14 forbids the session to run with First > Max. */
    if (n->set.first_burst_length > n->set.max_burst_length) {
        n->set.first_burst_length = n->set.max_burst_length;
    }
}

bool
iscsi_param_pending(const struct iscsi_param_neg *n)
{
    return (n->offered & ~n->seen & ~DECLARATIVE_MASK) != 0;
}

void
iscsi_param_text_begin(struct iscsi_param_neg *n)
{
    n->seen = 0;
    n->offered = 0;
}
