/* SPDX-License-Identifier: MIT */
/*
 * Operational parameter negotiation (RFC 7143 sections 6.2 and 13): every
 * key the login's operational stage (and the security stage, for keys
 * allowed there) may carry, with its type and result function -- boolean
 * AND / OR, numerical minimum / maximum, list (first of the offer we
 * support), declarative -- and the answers NotUnderstood, Irrelevant and
 * Reject.  The target's own offers and limits come from [iscsi].
 *
 * Pure: no I/O, no clock; unit-tested in tests/unit/test-iscsi-param.c.
 */
#ifndef POLLTGT_ISCSI_ISCSI_PARAM_H
#define POLLTGT_ISCSI_ISCSI_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/config.h" /* not "config.h": -I. finds autoconf's first */
#include "util/compiler.h"
#include "util/strbuf.h"

/* The values a session runs with once login completes. */
struct iscsi_param_set {
    bool header_digest;           /* CRC32C negotiated */
    bool data_digest;
    uint32_t max_recv_dsl;        /* we receive at most this per PDU */
    uint32_t max_xmit_dsl;        /* we send at most this per PDU (the
                                   * initiator's MaxRecvDataSegmentLength) */
    uint32_t max_burst_length;
    uint32_t first_burst_length;
    uint32_t max_outstanding_r2t;
    uint32_t max_connections;
    uint32_t default_time2wait;
    uint32_t default_time2retain;
    uint32_t error_recovery_level;
    bool initial_r2t;
    bool immediate_data;
    bool data_pdu_in_order;
    bool data_sequence_in_order;
    bool discovery;               /* SessionType=Discovery */
    uint32_t protocol_level;      /* iSCSIProtocolLevel (RFC 7144), 0..1 */
};

enum iscsi_param_stage {
    ISCSI_PARAM_SECURITY,    /* security negotiation stage */
    ISCSI_PARAM_OPERATIONAL, /* operational negotiation stage */
    ISCSI_PARAM_FULL,        /* Text requests in full feature phase */
};

struct iscsi_param_neg {
    const struct config *cfg;
    struct iscsi_param_set set;
    uint64_t seen;    /* bit per key: the initiator sent it */
    uint64_t offered; /* bit per key: we sent it as our own offer */
};

/* Start a login: RFC defaults, and the target's limits from cfg.
 * set.max_recv_dsl stays at the RFC default (8192) until we declare ours
 * (in an answer or in iscsi_param_finish): the initiator assumes 8192
 * until then.  The caller sets set.discovery from SessionType before it
 * passes the operational keys (scan the first PDU for SessionType first):
 * Discovery sessions answer session-only keys with Irrelevant. */
void iscsi_param_init(struct iscsi_param_neg *n, const struct config *cfg)
    ATTR_NONNULL(1, 2);

/*
 * One key from the initiator (not the names handled by the login itself:
 * InitiatorName, TargetName, SessionType, InitiatorAlias, AuthMethod and
 * CHAP_* are the caller's).  Appends the answer to out.  Returns:
 *   1        handled (answer appended, maybe NotUnderstood / Irrelevant /
 *            Reject as the RFC says; unknown and X-/X# keys are answered
 *            NotUnderstood here; InitiatorAlias is accepted silently; a
 *            reply to one of our iscsi_param_finish offers appends nothing),
 *   0        the caller's key: InitiatorName, TargetName, SessionType,
 *            SendTargets, AuthMethod and CHAP_* (it may be a security
 *            key: pass it to iscsi_auth_key),
 *   -EINVAL  the login must fail with "initiator error" (a key sent twice,
 *            a value outside its range where the RFC says fail, a key not
 *            allowed in this stage).  *why is set to a static explanation.
 */
int iscsi_param_key(struct iscsi_param_neg *n, enum iscsi_param_stage stage,
                    const char *key, const char *value, struct strbuf *out,
                    const char **why) ATTR_NONNULL(1, 3, 4, 5, 6);

/* Before leaving the operational stage: append the declarations the target
 * must make even when the initiator did not ask (our
 * MaxRecvDataSegmentLength, and offers the RFC requires us to make).
 *
 * Offers are made only for keys the initiator did not send whose RFC
 * default the target cannot run with: a digest when [iscsi] does not
 * accept None, MaxBurstLength/FirstBurstLength when the defaults exceed
 * our limits, ImmediateData=No when immediate-data is off.  libiscsi and
 * open-iscsi send all of these, so with them nothing but the declaration
 * is ever appended.  Idempotent: call it in every operational-stage
 * response that would transit; see iscsi_param_pending. */
void iscsi_param_finish(struct iscsi_param_neg *n, struct strbuf *out)
    ATTR_NONNULL(1, 2);

/* True while an offer from iscsi_param_finish awaits the initiator's
 * answer: the response must then keep T=0 (stay in the operational
 * stage) and the answer comes back through iscsi_param_key. */
bool iscsi_param_pending(const struct iscsi_param_neg *n) ATTR_NONNULL(1);

/* A new Text negotiation in full feature phase (ISCSI_PARAM_FULL): forget
 * which keys were seen, so a key sent in an earlier Text exchange (e.g. a
 * new MaxRecvDataSegmentLength) is not taken for a duplicate. */
void iscsi_param_text_begin(struct iscsi_param_neg *n) ATTR_NONNULL(1);

#endif /* POLLTGT_ISCSI_ISCSI_PARAM_H */
