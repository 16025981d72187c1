/* SPDX-License-Identifier: MIT */
/*
 * NBD wire format: magics, option/reply/info/command numbers, flags and
 * errors of the fixed-newstyle protocol, as in the NBD protocol document
 * (doc/proto.md of the NetworkBlockDevice project).  Values only: the
 * structs are packed exactly as on the wire, big-endian fields converted
 * by the code that reads them.  No symbols: libnbd owns the nbd_ prefix.
 */
#ifndef POLLTGT_NBD_NBD_PROTOCOL_H
#define POLLTGT_NBD_NBD_PROTOCOL_H

#include <stdint.h>

/* Handshake */
#define NBD_MAGIC            UINT64_C(0x4e42444d41474943) /* "NBDMAGIC" */
#define NBD_IHAVEOPT         UINT64_C(0x49484156454f5054) /* "IHAVEOPT" */
#define NBD_REP_MAGIC        UINT64_C(0x0003e889045565a9)

#define NBD_FLAG_FIXED_NEWSTYLE   (1u << 0) /* handshake flags (16 bits) */
#define NBD_FLAG_NO_ZEROES        (1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE (1u << 0) /* client flags (32 bits) */
#define NBD_FLAG_C_NO_ZEROES      (1u << 1)

/* Transmission flags (16 bits) */
#define NBD_FLAG_HAS_FLAGS        (1u << 0)
#define NBD_FLAG_READ_ONLY        (1u << 1)
#define NBD_FLAG_SEND_FLUSH       (1u << 2)
#define NBD_FLAG_SEND_FUA         (1u << 3)
#define NBD_FLAG_ROTATIONAL       (1u << 4)
#define NBD_FLAG_SEND_TRIM        (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_SEND_DF          (1u << 7)
#define NBD_FLAG_CAN_MULTI_CONN   (1u << 8)
#define NBD_FLAG_SEND_RESIZE      (1u << 9)
#define NBD_FLAG_SEND_CACHE       (1u << 10)
#define NBD_FLAG_SEND_FAST_ZERO   (1u << 11)

/* Options */
#define NBD_OPT_EXPORT_NAME       1
#define NBD_OPT_ABORT             2
#define NBD_OPT_LIST              3
#define NBD_OPT_PEEK_EXPORT       4
#define NBD_OPT_STARTTLS          5
#define NBD_OPT_INFO              6
#define NBD_OPT_GO                7
#define NBD_OPT_STRUCTURED_REPLY  8
#define NBD_OPT_LIST_META_CONTEXT 9
#define NBD_OPT_SET_META_CONTEXT  10
#define NBD_OPT_EXTENDED_HEADERS  11

/* Option replies */
#define NBD_REP_ACK               1
#define NBD_REP_SERVER            2
#define NBD_REP_INFO              3
#define NBD_REP_META_CONTEXT      4
#define NBD_REP_FLAG_ERROR        (UINT32_C(1) << 31)
#define NBD_REP_ERR_UNSUP         (NBD_REP_FLAG_ERROR | 1)
#define NBD_REP_ERR_POLICY        (NBD_REP_FLAG_ERROR | 2)
#define NBD_REP_ERR_INVALID       (NBD_REP_FLAG_ERROR | 3)
#define NBD_REP_ERR_PLATFORM      (NBD_REP_FLAG_ERROR | 4)
#define NBD_REP_ERR_TLS_REQD      (NBD_REP_FLAG_ERROR | 5)
#define NBD_REP_ERR_UNKNOWN       (NBD_REP_FLAG_ERROR | 6)
#define NBD_REP_ERR_SHUTDOWN      (NBD_REP_FLAG_ERROR | 7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD (NBD_REP_FLAG_ERROR | 8)
#define NBD_REP_ERR_TOO_BIG       (NBD_REP_FLAG_ERROR | 9)
#define NBD_REP_ERR_EXT_HEADER_REQD (NBD_REP_FLAG_ERROR | 10)

/* NBD_REP_INFO types */
#define NBD_INFO_EXPORT           0
#define NBD_INFO_NAME             1
#define NBD_INFO_DESCRIPTION      2
#define NBD_INFO_BLOCK_SIZE       3

/* Transmission */
#define NBD_REQUEST_MAGIC         UINT32_C(0x25609513)
#define NBD_SIMPLE_REPLY_MAGIC    UINT32_C(0x67446698)
#define NBD_STRUCTURED_REPLY_MAGIC UINT32_C(0x668e33ef)
/* NBD_OPT_EXTENDED_HEADERS (the extension-ext-header branch of the
 * protocol document): 32-byte requests and reply chunks. */
#define NBD_EXTENDED_REQUEST_MAGIC UINT32_C(0x21e41c71)
#define NBD_EXTENDED_REPLY_MAGIC  UINT32_C(0x6e8a278c)

#define NBD_CMD_READ              0
#define NBD_CMD_WRITE             1
#define NBD_CMD_DISC              2
#define NBD_CMD_FLUSH             3
#define NBD_CMD_TRIM              4
#define NBD_CMD_CACHE             5
#define NBD_CMD_WRITE_ZEROES      6
#define NBD_CMD_BLOCK_STATUS      7

#define NBD_CMD_FLAG_FUA          (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE      (1u << 1)
#define NBD_CMD_FLAG_DF           (1u << 2)
#define NBD_CMD_FLAG_REQ_ONE      (1u << 3)
#define NBD_CMD_FLAG_FAST_ZERO    (1u << 4)
#define NBD_CMD_FLAG_PAYLOAD_LEN  (1u << 5) /* extended headers only */

#define NBD_REPLY_FLAG_DONE       (1u << 0)
#define NBD_REPLY_TYPE_NONE       0
#define NBD_REPLY_TYPE_OFFSET_DATA 1
#define NBD_REPLY_TYPE_OFFSET_HOLE 2
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_TYPE_BLOCK_STATUS_EXT 6 /* extended headers only */
#define NBD_REPLY_TYPE_ERROR      ((1u << 15) + 1)
#define NBD_REPLY_TYPE_ERROR_OFFSET ((1u << 15) + 2)

/* base:allocation states */
#define NBD_STATE_HOLE            (1u << 0)
#define NBD_STATE_ZERO            (1u << 1)

/* Errors */
#define NBD_SUCCESS               0
#define NBD_EPERM                 1
#define NBD_EIO                   5
#define NBD_ENOMEM                12
#define NBD_EINVAL                22
#define NBD_ENOSPC                28
#define NBD_EOVERFLOW             75
#define NBD_ENOTSUP               95
#define NBD_ESHUTDOWN             108

/* Limits of the protocol */
#define NBD_MAX_STRING            4096 /* export names, descriptions */

/* Wire structs (big-endian). */
struct nbd_wire_new_handshake {
    uint64_t nbdmagic;
    uint64_t version; /* NBD_IHAVEOPT */
    uint16_t gflags;
} __attribute__((packed));

struct nbd_wire_option {
    uint64_t version; /* NBD_IHAVEOPT */
    uint32_t option;
    uint32_t optlen;
} __attribute__((packed));

struct nbd_wire_fixed_new_option_reply {
    uint64_t magic; /* NBD_REP_MAGIC */
    uint32_t option;
    uint32_t reply;
    uint32_t replylen;
} __attribute__((packed));

struct nbd_wire_request {
    uint32_t magic; /* NBD_REQUEST_MAGIC */
    uint16_t flags;
    uint16_t type;
    uint64_t cookie;
    uint64_t offset;
    uint32_t count;
} __attribute__((packed));

struct nbd_wire_extended_request {
    uint32_t magic; /* NBD_EXTENDED_REQUEST_MAGIC */
    uint16_t flags;
    uint16_t type;
    uint64_t cookie;
    uint64_t offset;
    uint64_t count; /* payload length with NBD_CMD_FLAG_PAYLOAD_LEN, else
                     * effect length */
} __attribute__((packed));

struct nbd_wire_simple_reply {
    uint32_t magic; /* NBD_SIMPLE_REPLY_MAGIC */
    uint32_t error;
    uint64_t cookie;
} __attribute__((packed));

struct nbd_wire_structured_reply {
    uint32_t magic; /* NBD_STRUCTURED_REPLY_MAGIC */
    uint16_t flags;
    uint16_t type;
    uint64_t cookie;
    uint32_t length;
} __attribute__((packed));

struct nbd_wire_extended_reply {
    uint32_t magic; /* NBD_EXTENDED_REPLY_MAGIC */
    uint16_t flags;
    uint16_t type;
    uint64_t cookie;
    uint64_t offset; /* the request's */
    uint64_t length;
} __attribute__((packed));

#endif /* POLLTGT_NBD_NBD_PROTOCOL_H */
