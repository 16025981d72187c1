/* SPDX-License-Identifier: MIT */
/* See acl.h.  Matching is a prefix compare on the network-order bytes. */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "util/parse.h"

int
acl_parse_entry(const char *s, struct acl_entry *out)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    unsigned maxbits;

    memset(out, 0, sizeof *out);
    if (strcmp(s, "unix") == 0) {
        out->family = AF_UNIX;
        return 0;
    }
    if (len == 0 || len >= sizeof host) {
        return -EINVAL;
    }
    memcpy(host, s, len);
    host[len] = '\0';
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = AF_INET;
        maxbits = 32;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = AF_INET6;
        maxbits = 128;
    } else {
        return -EINVAL;
    }
    out->prefix = maxbits;
    if (slash) {
        int64_t bits;

        if (parse_int64(slash + 1, &bits) < 0 || bits < 0 ||
            bits > (int64_t)maxbits || slash[1] == '\0') {
            return -EINVAL;
        }
        out->prefix = (unsigned)bits;
    }
    return 0;
}

static bool
acl_prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned bytes = bits / 8, rest = bits % 8;

    if (memcmp(a, b, bytes) != 0) {
        return false;
    }
    if (rest) {
        uint8_t mask = (uint8_t)(0xff << (8 - rest));

        return (a[bytes] & mask) == (b[bytes] & mask);
    }
    return true;
}

bool
acl_allows(const struct acl *acl, const struct sockaddr_storage *peer)
{
    const uint8_t *v4 = NULL, *v6 = NULL;
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    if (acl->n == 0) {
        return true;
    }
    if (peer->ss_family == AF_INET) {
        v4 = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
    } else if (peer->ss_family == AF_INET6) {
        v6 = (const uint8_t *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
        if (memcmp(v6, mapped, sizeof mapped) == 0) {
            v4 = v6 + 12;
        }
    }
    for (size_t i = 0; i < acl->n; i++) {
        const struct acl_entry *e = &acl->entries[i];

        if (e->family == AF_UNIX && peer->ss_family == AF_UNIX) {
            return true;
        }
        if (e->family == AF_INET && v4 && acl_prefix_match(e->addr, v4, e->prefix)) {
            return true;
        }
        if (e->family == AF_INET6 && v6 && acl_prefix_match(e->addr, v6, e->prefix)) {
            return true;
        }
    }
    return false;
}
