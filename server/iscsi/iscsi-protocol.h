/* SPDX-License-Identifier: MIT */
/*
 * iSCSI wire format (RFC 7143 section 11): opcodes, the basic header
 * segment's field offsets, flags, login and reject codes, and big-endian
 * accessors.  The BHS is handled as a 48-byte array with named offsets
 * rather than packed structs, as every opcode reuses the bytes differently.
 */
#ifndef POLLTGT_ISCSI_ISCSI_PROTOCOL_H
#define POLLTGT_ISCSI_ISCSI_PROTOCOL_H

#include <stdint.h>

#define ISCSI_BHS_LEN 48
#define ISCSI_DIGEST_LEN 4
#define ISCSI_RSVD_TAG 0xffffffffu
/* Login PDUs carry at most this much text (RFC 7143 6.2: the default
 * MaxRecvDataSegmentLength applies until the login completes). */
#define ISCSI_LOGIN_MAX_DSL 8192
#define ISCSI_DEFAULT_MAX_DSL 8192
#define ISCSI_TPGT 1

/* Opcodes (byte 0, low 6 bits).  Initiator ... */
#define ISCSI_OP_NOP_OUT      0x00
#define ISCSI_OP_SCSI_CMD     0x01
#define ISCSI_OP_TMF_REQ      0x02
#define ISCSI_OP_LOGIN_REQ    0x03
#define ISCSI_OP_TEXT_REQ     0x04
#define ISCSI_OP_DATA_OUT     0x05
#define ISCSI_OP_LOGOUT_REQ   0x06
#define ISCSI_OP_SNACK_REQ    0x10
/* ... and target. */
#define ISCSI_OP_NOP_IN       0x20
#define ISCSI_OP_SCSI_RSP     0x21
#define ISCSI_OP_TMF_RSP      0x22
#define ISCSI_OP_LOGIN_RSP    0x23
#define ISCSI_OP_TEXT_RSP     0x24
#define ISCSI_OP_DATA_IN      0x25
#define ISCSI_OP_LOGOUT_RSP   0x26
#define ISCSI_OP_R2T          0x31
#define ISCSI_OP_ASYNC_MSG    0x32
#define ISCSI_OP_REJECT       0x3f

#define ISCSI_OPCODE_MASK     0x3f
#define ISCSI_FLAG_IMMEDIATE  0x40 /* byte 0 */
#define ISCSI_FLAG_FINAL      0x80 /* byte 1 */

/* Common BHS offsets. */
#define ISCSI_BHS_OPCODE      0
#define ISCSI_BHS_FLAGS       1
#define ISCSI_BHS_TOTAHSLEN   4
#define ISCSI_BHS_DSL         5   /* 3 bytes */
#define ISCSI_BHS_LUN         8   /* 8 bytes */
#define ISCSI_BHS_ITT         16
#define ISCSI_BHS_TTT         20  /* also: EDTL (SCSI command), RTT (TMF) */
#define ISCSI_BHS_CMDSN       24  /* also: StatSN in target PDUs */
#define ISCSI_BHS_EXPSTATSN   28  /* also: ExpCmdSN in target PDUs */
#define ISCSI_BHS_MAXCMDSN    32  /* target PDUs */
#define ISCSI_BHS_CDB         32  /* SCSI command: 16 bytes */

/* SCSI Command flags (byte 1). */
#define ISCSI_CMD_F           0x80
#define ISCSI_CMD_R           0x40
#define ISCSI_CMD_W           0x20
#define ISCSI_CMD_ATTR_MASK   0x07
/* SCSI Command: expected data transfer length. */
#define ISCSI_CMD_EDTL        20

/* SCSI Response and Data-In flags (byte 1). */
#define ISCSI_RSP_BIDI_OVERFLOW  0x10
#define ISCSI_RSP_BIDI_UNDERFLOW 0x08
#define ISCSI_RSP_OVERFLOW       0x04
#define ISCSI_RSP_UNDERFLOW      0x02
#define ISCSI_DATAIN_ACK         0x40
#define ISCSI_DATAIN_STATUS      0x01
/* SCSI Response: response (byte 2), status (byte 3), ExpDataSN (36),
 * bidi residual (40), residual (44). */
#define ISCSI_RSP_COMPLETED      0x00
#define ISCSI_RSP_TARGET_FAILURE 0x01

/* Data-In / Data-Out / R2T offsets. */
#define ISCSI_DATA_DATASN     36  /* R2T: R2TSN */
#define ISCSI_DATA_OFFSET     40  /* buffer offset */
#define ISCSI_DATA_RESIDUAL   44  /* Data-In; R2T: desired length */

/* Login (byte 1: T C . . CSG(2) NSG(2)). */
#define ISCSI_LOGIN_T         0x80
#define ISCSI_LOGIN_C         0x40
#define ISCSI_LOGIN_CSG(b)    (((b) >> 2) & 3)
#define ISCSI_LOGIN_NSG(b)    ((b) & 3)
#define ISCSI_STAGE_SECURITY    0
#define ISCSI_STAGE_OPERATIONAL 1
#define ISCSI_STAGE_FULL        3
#define ISCSI_LOGIN_VMAX      2
#define ISCSI_LOGIN_VMIN      3
#define ISCSI_LOGIN_ISID      8   /* 6 bytes */
#define ISCSI_LOGIN_TSIH      14  /* 2 bytes */
#define ISCSI_LOGIN_CID       20  /* 2 bytes */
#define ISCSI_LOGIN_STATUS_CLASS  36
#define ISCSI_LOGIN_STATUS_DETAIL 37

/* Login status, class << 8 | detail (RFC 7143 11.13.5). */
#define ISCSI_LOGIN_SUCCESS             0x0000
#define ISCSI_LOGIN_INITIATOR_ERROR     0x0200
#define ISCSI_LOGIN_AUTH_FAILED         0x0201
#define ISCSI_LOGIN_FORBIDDEN           0x0202
#define ISCSI_LOGIN_NOT_FOUND           0x0203
#define ISCSI_LOGIN_TARGET_REMOVED      0x0204
#define ISCSI_LOGIN_UNSUPPORTED_VERSION 0x0205
#define ISCSI_LOGIN_TOO_MANY_CONNS      0x0206
#define ISCSI_LOGIN_MISSING_PARAMETER   0x0207
#define ISCSI_LOGIN_NO_SESSION_SPAN     0x0208
#define ISCSI_LOGIN_UNSUPPORTED_SESSION 0x0209
#define ISCSI_LOGIN_NO_SESSION          0x020a
#define ISCSI_LOGIN_INVALID_REQUEST     0x020b
#define ISCSI_LOGIN_TARGET_ERROR        0x0300
#define ISCSI_LOGIN_OUT_OF_RESOURCES    0x0302

/* Text (byte 1). */
#define ISCSI_TEXT_F          0x80
#define ISCSI_TEXT_C          0x40

/* Logout: reason (byte 1 low 7 bits), response (byte 2). */
#define ISCSI_LOGOUT_CLOSE_SESSION    0
#define ISCSI_LOGOUT_CLOSE_CONNECTION 1
#define ISCSI_LOGOUT_REMOVE_FOR_RECOVERY 2
#define ISCSI_LOGOUT_SUCCESS          0
#define ISCSI_LOGOUT_CID_NOT_FOUND    1
#define ISCSI_LOGOUT_RECOVERY_UNSUPPORTED 2

/* Task management: function (byte 1 low 7 bits), response (byte 2). */
#define ISCSI_TMF_ABORT_TASK          1
#define ISCSI_TMF_ABORT_TASK_SET      2
#define ISCSI_TMF_CLEAR_ACA           3
#define ISCSI_TMF_CLEAR_TASK_SET      4
#define ISCSI_TMF_LUN_RESET           5
#define ISCSI_TMF_TARGET_WARM_RESET   6
#define ISCSI_TMF_TARGET_COLD_RESET   7
#define ISCSI_TMF_TASK_REASSIGN       8
#define ISCSI_TMF_RTT                 20
#define ISCSI_TMF_REFCMDSN            32
#define ISCSI_TMF_RSP_COMPLETE        0
#define ISCSI_TMF_RSP_NO_TASK         1
#define ISCSI_TMF_RSP_NO_LUN          2
#define ISCSI_TMF_RSP_REASSIGN_UNSUPPORTED 4
#define ISCSI_TMF_RSP_NOT_SUPPORTED   5
#define ISCSI_TMF_RSP_REJECTED        255

/* Reject reasons (byte 2). */
#define ISCSI_REJECT_DATA_DIGEST      0x02
#define ISCSI_REJECT_SNACK            0x03
#define ISCSI_REJECT_PROTOCOL_ERROR   0x04
#define ISCSI_REJECT_CMD_UNSUPPORTED  0x05
#define ISCSI_REJECT_IMMEDIATE        0x06
#define ISCSI_REJECT_TASK_IN_PROGRESS 0x07
#define ISCSI_REJECT_INVALID_FIELD    0x09
#define ISCSI_REJECT_LONG_OP          0x0a
#define ISCSI_REJECT_WAITING_LOGOUT   0x0c

static inline uint32_t
iscsi_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static inline uint32_t
iscsi_get24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint16_t
iscsi_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint64_t
iscsi_get64(const uint8_t *p)
{
    return (uint64_t)iscsi_get32(p) << 32 | iscsi_get32(p + 4);
}

static inline void
iscsi_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void
iscsi_put24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static inline void
iscsi_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void
iscsi_put64(uint8_t *p, uint64_t v)
{
    iscsi_put32(p, (uint32_t)(v >> 32));
    iscsi_put32(p + 4, (uint32_t)v);
}

/* Serial number arithmetic (RFC 1982, 32 bits) for CmdSN and StatSN. */
static inline int
iscsi_sn_cmp(uint32_t a, uint32_t b)
{
    return a == b ? 0 : (int32_t)(a - b) < 0 ? -1 : 1;
}

/* The LUN field in single-level format (SAM-5 4.7): 0-255 peripheral,
 * up to 16383 flat. */
static inline uint64_t
iscsi_lun_decode(const uint8_t *p)
{
    switch (p[0] >> 6) {
    case 0: return p[1];
    case 1: return (uint64_t)(p[0] & 0x3f) << 8 | p[1];
    default: return UINT64_MAX; /* other formats: not a LUN we have */
    }
}

#endif /* POLLTGT_ISCSI_ISCSI_PROTOCOL_H */
