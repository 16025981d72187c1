/* SPDX-License-Identifier: MIT */
/*
 * MD5 (RFC 1321), for iSCSI CHAP (RFC 1994 / RFC 7143 12.1.3) and nothing
 * else: MD5 is broken as a collision-resistant hash, but CHAP-MD5 is what
 * every iSCSI initiator speaks.  A small local copy keeps the daemon free
 * of an OpenSSL/GnuTLS dependency for 16 bytes of digest per login.
 */
#ifndef POLLTGT_UTIL_MD5_H
#define POLLTGT_UTIL_MD5_H

#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

#define MD5_DIGEST_LEN 16

struct md5_ctx {
    uint32_t state[4];
    uint64_t bytes;     /* message length so far */
    uint8_t buf[64];    /* partial block: bytes % 64 of them are valid */
};

void md5_init(struct md5_ctx *ctx) ATTR_NONNULL(1);
/* data may be NULL when len is 0. */
void md5_update(struct md5_ctx *ctx, const void *data, size_t len)
    ATTR_NONNULL(1);
/* Writes the digest and wipes ctx. */
void md5_final(struct md5_ctx *ctx, uint8_t out[MD5_DIGEST_LEN])
    ATTR_NONNULL(1, 2);
/* One shot: md5_init + md5_update + md5_final. */
void md5_buffer(const void *data, size_t len, uint8_t out[MD5_DIGEST_LEN])
    ATTR_NONNULL(3);

#endif /* POLLTGT_UTIL_MD5_H */
