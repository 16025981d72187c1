/* SPDX-License-Identifier: MIT */
/* Name tables for log lines (nbdkit keeps the same in protostrings). */
#include <config.h>

#include "nbd/nbd-names.h"
#include "nbd/nbd-protocol.h"

const char *
nbd_name_opt(uint32_t opt)
{
    switch (opt) {
    case NBD_OPT_EXPORT_NAME: return "NBD_OPT_EXPORT_NAME";
    case NBD_OPT_ABORT: return "NBD_OPT_ABORT";
    case NBD_OPT_LIST: return "NBD_OPT_LIST";
    case NBD_OPT_PEEK_EXPORT: return "NBD_OPT_PEEK_EXPORT";
    case NBD_OPT_STARTTLS: return "NBD_OPT_STARTTLS";
    case NBD_OPT_INFO: return "NBD_OPT_INFO";
    case NBD_OPT_GO: return "NBD_OPT_GO";
    case NBD_OPT_STRUCTURED_REPLY: return "NBD_OPT_STRUCTURED_REPLY";
    case NBD_OPT_LIST_META_CONTEXT: return "NBD_OPT_LIST_META_CONTEXT";
    case NBD_OPT_SET_META_CONTEXT: return "NBD_OPT_SET_META_CONTEXT";
    case NBD_OPT_EXTENDED_HEADERS: return "NBD_OPT_EXTENDED_HEADERS";
    default: return "unknown option";
    }
}

const char *
nbd_name_rep(uint32_t rep)
{
    switch (rep) {
    case NBD_REP_ACK: return "NBD_REP_ACK";
    case NBD_REP_SERVER: return "NBD_REP_SERVER";
    case NBD_REP_INFO: return "NBD_REP_INFO";
    case NBD_REP_META_CONTEXT: return "NBD_REP_META_CONTEXT";
    case NBD_REP_ERR_UNSUP: return "NBD_REP_ERR_UNSUP";
    case NBD_REP_ERR_POLICY: return "NBD_REP_ERR_POLICY";
    case NBD_REP_ERR_INVALID: return "NBD_REP_ERR_INVALID";
    case NBD_REP_ERR_PLATFORM: return "NBD_REP_ERR_PLATFORM";
    case NBD_REP_ERR_TLS_REQD: return "NBD_REP_ERR_TLS_REQD";
    case NBD_REP_ERR_UNKNOWN: return "NBD_REP_ERR_UNKNOWN";
    case NBD_REP_ERR_SHUTDOWN: return "NBD_REP_ERR_SHUTDOWN";
    case NBD_REP_ERR_BLOCK_SIZE_REQD: return "NBD_REP_ERR_BLOCK_SIZE_REQD";
    case NBD_REP_ERR_TOO_BIG: return "NBD_REP_ERR_TOO_BIG";
    case NBD_REP_ERR_EXT_HEADER_REQD: return "NBD_REP_ERR_EXT_HEADER_REQD";
    default: return "unknown reply";
    }
}

const char *
nbd_name_cmd(uint16_t cmd)
{
    switch (cmd) {
    case NBD_CMD_READ: return "NBD_CMD_READ";
    case NBD_CMD_WRITE: return "NBD_CMD_WRITE";
    case NBD_CMD_DISC: return "NBD_CMD_DISC";
    case NBD_CMD_FLUSH: return "NBD_CMD_FLUSH";
    case NBD_CMD_TRIM: return "NBD_CMD_TRIM";
    case NBD_CMD_CACHE: return "NBD_CMD_CACHE";
    case NBD_CMD_WRITE_ZEROES: return "NBD_CMD_WRITE_ZEROES";
    case NBD_CMD_BLOCK_STATUS: return "NBD_CMD_BLOCK_STATUS";
    default: return "unknown command";
    }
}
