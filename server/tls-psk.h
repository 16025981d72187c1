/* SPDX-License-Identifier: MIT */
/*
 * TLS pre-shared keys: the keys file that nbdkit, qemu-nbd and libnbd
 * share (GnuTLS psktool's output), one `username:hexkey` per line.
 *
 * Parsed in full before it is used, so a reload that finds a bad line
 * keeps the running keys, and the configuration loader can name the bad
 * line at --check-config time.  Pure C, no GnuTLS: the loader and the
 * unit tests use it without a TLS library.
 */
#ifndef POLLTGT_SERVER_TLS_PSK_H
#define POLLTGT_SERVER_TLS_PSK_H

#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

/* Identity and key limits (TLS allows more; nothing real needs it). */
#define TLS_PSK_MAX_USERNAME 255
#define TLS_PSK_MAX_KEY      256 /* bytes, so 512 hex digits */
/* A keys file larger than this is refused unread. */
#define TLS_PSK_MAX_FILE     (1 << 20)

struct tls_psk_key {
    char *username;
    uint8_t *key;
    size_t keylen;
};

struct tls_psk_keys {
    struct tls_psk_key *keys;
    size_t n;
};

/*
 * Parse len bytes of a keys file.  Blank lines and lines starting with #
 * are skipped; every other line is `username:hexkey` (a non-empty
 * username without ':', an even number of hex digits); a username given
 * twice is an error.  Returns 0 and fills *out (free with tls_psk_free),
 * or -EINVAL with "line N: what is wrong" in err (and *out empty), or
 * -ENOMEM.
 */
int tls_psk_parse(const char *text, size_t len, struct tls_psk_keys *out,
                  char *err, size_t errlen) ATTR_NONNULL(1, 3, 4);

/* Read and parse the file at path: err is "PATH: why" or "PATH:N: why". */
int tls_psk_load(const char *path, struct tls_psk_keys *out, char *err,
                 size_t errlen) ATTR_NONNULL(1, 2, 3);

/* The key of username, or NULL. */
const struct tls_psk_key *tls_psk_find(const struct tls_psk_keys *keys,
                                       const char *username)
    ATTR_NONNULL(1, 2);

/* Free the keys, wiping them first (may be called on an empty set). */
void tls_psk_free(struct tls_psk_keys *keys) ATTR_NONNULL(1);

#endif /* POLLTGT_SERVER_TLS_PSK_H */
