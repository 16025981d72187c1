/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: iSCSI PDU parsing in the full feature phase.  The
 * harness logs in itself (one Login PDU straight to the full feature
 * phase, CmdSN 1, target disk0) and the input is what follows: BHS, AHS,
 * data segments, padding and digests, into the real server's connection
 * (fuzz-helpers.h), so the receive state machine of iscsi-pdu.c, the
 * per-opcode handlers, the command window, R2T and Data-Out, and the
 * SCSI core behind them all see it.  The input's first byte picks the
 * login: bit 0 CRC32C header and data digests (a seed must carry right
 * digests to get past them), bit 1 InitialR2T=Yes and ImmediateData=No
 * (every write's data by R2T).
 */
#include <config.h>

#include "fuzz-iscsi.h"
#include "iscsi/iscsi-protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_iscsi_pre {
    uint8_t buf[ISCSI_BHS_LEN + 512];
    size_t len;
};

static void
pre_key(struct fuzz_iscsi_pre *p, const char *kv)
{
    size_t n = strlen(kv) + 1; /* with its NUL */

    memcpy(p->buf + p->len, kv, n);
    p->len += n;
}

static void
pre_build(struct fuzz_iscsi_pre *p, uint8_t variant)
{
    static const uint8_t isid[6] = { 0x80, 0, 0, 0x12, 0x34, 0 };
    uint8_t *bhs = p->buf;
    size_t dsl;

    memset(p->buf, 0, sizeof p->buf);
    p->len = ISCSI_BHS_LEN;
    pre_key(p, "InitiatorName=iqn.2026-11.org.fuzz:init");
    pre_key(p, "SessionType=Normal");
    pre_key(p, "TargetName=" FUZZ_ISCSI_IQN ":disk0");
    pre_key(p, variant & 1 ? "HeaderDigest=CRC32C" : "HeaderDigest=None");
    pre_key(p, variant & 1 ? "DataDigest=CRC32C" : "DataDigest=None");
    pre_key(p, variant & 2 ? "InitialR2T=Yes" : "InitialR2T=No");
    pre_key(p, variant & 2 ? "ImmediateData=No" : "ImmediateData=Yes");
    pre_key(p, "MaxRecvDataSegmentLength=65536");
    dsl = p->len - ISCSI_BHS_LEN;
    bhs[ISCSI_BHS_OPCODE] = ISCSI_FLAG_IMMEDIATE | ISCSI_OP_LOGIN_REQ;
    bhs[ISCSI_BHS_FLAGS] = ISCSI_LOGIN_T | ISCSI_STAGE_OPERATIONAL << 2 |
                           ISCSI_STAGE_FULL;
    iscsi_put24(&bhs[ISCSI_BHS_DSL], (uint32_t)dsl);
    memcpy(&bhs[ISCSI_LOGIN_ISID], isid, sizeof isid);
    iscsi_put32(&bhs[ISCSI_BHS_ITT], 0x1000);
    iscsi_put32(&bhs[ISCSI_BHS_CMDSN], 1);
    p->len += (4 - dsl % 4) % 4; /* padding: already zero */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct fuzz_iscsi_pre pre;

    if (!ready) {
        fuzz_iscsi_init();
        ready = true;
    }
    if (size == 0) {
        return 0;
    }
    pre_build(&pre, data[0]);
    fuzz_client(&fuzz_iscsi_env, &fuzz_iscsi_srv.fe, pre.buf, pre.len,
                data + 1, size - 1);
    return 0;
}
