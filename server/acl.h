/* SPDX-License-Identifier: MIT */
/*
 * Client access lists: which peers may use an export.  An entry is an
 * IPv4 or IPv6 network in CIDR notation (10.0.0.0/8, ::1/128), a bare
 * address (a /32 or /128), or the word `unix` for Unix-socket clients.
 * IPv4 entries also match IPv4-mapped IPv6 peers (::ffff:a.b.c.d).
 */
#ifndef POLLTGT_SERVER_ACL_H
#define POLLTGT_SERVER_ACL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/compiler.h"

#define ACL_ACCEPTS \
    "a list of networks (10.0.0.0/8, ::1/128), addresses, or 'unix'"

struct acl_entry {
    int family;        /* AF_INET, AF_INET6 or AF_UNIX */
    uint8_t addr[16];
    unsigned prefix;   /* bits */
};

struct acl {
    struct acl_entry *entries;
    size_t n;          /* 0 entries: everyone is allowed */
};

/* Parse one entry; 0 or -EINVAL. */
int acl_parse_entry(const char *s, struct acl_entry *out) ATTR_NONNULL(1, 2);

/* Whether peer may connect (an empty list allows everyone). */
bool acl_allows(const struct acl *acl, const struct sockaddr_storage *peer)
    ATTR_NONNULL(1, 2);

#endif /* POLLTGT_SERVER_ACL_H */
