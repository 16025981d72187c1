/* SPDX-License-Identifier: MIT */
/*
 * Typed value parsers (see parse.h).  Strict by design: trailing garbage,
 * signs where none make sense and overflow are errors, because a config
 * value that is silently truncated is worse than one that is refused.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/clock.h"
#include "util/parse.h"

int
parse_int64(const char *s, int64_t *out)
{
    char *end;
    long long v;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (*s == '\0') {
        return -EINVAL;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s) {
        return -EINVAL;
    }
    while (isspace((unsigned char)*end)) {
        end++;
    }
    if (*end != '\0') {
        return -EINVAL;
    }
    if (errno == ERANGE) {
        return -ERANGE;
    }
    *out = v;
    return 0;
}

/* Parse an unsigned decimal prefix; *end points past it. */
static int
parse_u64_prefix(const char *s, uint64_t *out, const char **end)
{
    uint64_t v = 0;
    const char *p = s;

    if (!isdigit((unsigned char)*p)) {
        return -EINVAL;
    }
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');

        if (v > (UINT64_MAX - d) / 10) {
            return -ERANGE;
        }
        v = v * 10 + d;
    }
    *out = v;
    *end = p;
    return 0;
}

int
parse_size(const char *s, uint64_t *out)
{
    static const char suffixes[] = "KMGTPE";
    const char *p;
    uint64_t v;
    unsigned shift = 0;
    int r;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    r = parse_u64_prefix(s, &v, &p);
    if (r < 0) {
        return r;
    }
    if (*p != '\0' && !isspace((unsigned char)*p)) {
        const char *where = strchr(suffixes, toupper((unsigned char)*p));

        if (where == NULL) {
            if (toupper((unsigned char)*p) == 'B') {
                p++; /* "512B" */
                goto tail;
            }
            return -EINVAL;
        }
        shift = 10 * (unsigned)(where - suffixes + 1);
        p++;
        /* Accept K, KB, KiB (all binary: disks are sized in powers of 2). */
        if (*p == 'i' || *p == 'I') {
            p++;
            if (toupper((unsigned char)*p) != 'B') {
                return -EINVAL;
            }
        }
        if (toupper((unsigned char)*p) == 'B') {
            p++;
        }
    }
tail:
    while (isspace((unsigned char)*p)) {
        p++;
    }
    if (*p != '\0') {
        return -EINVAL;
    }
    if (shift && v > (UINT64_MAX >> shift)) {
        return -ERANGE;
    }
    *out = v << shift;
    return 0;
}

int
parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

int
parse_mode(const char *s, unsigned *out)
{
    unsigned v = 0;

    if (*s == '\0') {
        return -EINVAL;
    }
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '7') {
            return -EINVAL;
        }
        v = v * 8 + (unsigned)(*p - '0');
        if (v > 07777) {
            return -ERANGE;
        }
    }
    *out = v;
    return 0;
}

int
parse_duration(const char *s, int64_t unit_ns, int64_t *out_ns)
{
    static const struct {
        const char *suffix;
        int64_t ns;
    } units[] = {
        { "ns", 1 },
        { "us", NS_PER_US },
        { "ms", NS_PER_MS },
        { "s", NS_PER_SEC },
        { "m", 60 * NS_PER_SEC },
        { "h", 3600 * NS_PER_SEC },
    };
    const char *p;
    uint64_t v;
    int64_t unit = unit_ns;
    int r;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    r = parse_u64_prefix(s, &v, &p);
    if (r < 0) {
        return r;
    }
    if (*p != '\0') {
        size_t len = strcspn(p, " \t");
        bool found = false;

        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (strlen(units[i].suffix) == len &&
                strncmp(p, units[i].suffix, len) == 0) {
                unit = units[i].ns;
                found = true;
                break;
            }
        }
        if (!found) {
            return -EINVAL;
        }
        p += len;
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (*p != '\0') {
            return -EINVAL;
        }
    }
    if (v > (uint64_t)(INT64_MAX / unit)) {
        return -ERANGE;
    }
    *out_ns = (int64_t)v * unit;
    return 0;
}

int
parse_list(const char *s, char ***out)
{
    static const char seps[] = ", \t";
    size_t n = 0, chars = 0;
    const char *p;
    char **list, *strings;

    /* Count items and bytes first, so the result is one allocation. */
    for (p = s; *p;) {
        size_t len;

        p += strspn(p, seps);
        len = strcspn(p, seps);
        if (len) {
            n++;
            chars += len + 1;
        }
        p += len;
    }
    list = malloc((n + 1) * sizeof *list + chars);
    if (list == NULL) {
        return -ENOMEM;
    }
    strings = (char *)(list + n + 1);
    n = 0;
    for (p = s; *p;) {
        size_t len;

        p += strspn(p, seps);
        len = strcspn(p, seps);
        if (len) {
            memcpy(strings, p, len);
            strings[len] = '\0';
            list[n++] = strings;
            strings += len + 1;
        }
        p += len;
    }
    list[n] = NULL;
    *out = list;
    return (int)n;
}

static int
parse_port(const char *s, char *out, size_t outlen)
{
    int64_t v;

    if (*s == '\0' || parse_int64(s, &v) < 0 || strspn(s, "0123456789") !=
        strlen(s)) {
        return -EINVAL;
    }
    if (v < 1 || v > 65535) {
        return -ERANGE;
    }
    snprintf(out, outlen, "%" PRId64, v);
    return 0;
}

int
parse_listen_addr(const char *s, const char *default_port,
                  struct parse_addr *out)
{
    const char *host, *colon;
    size_t hostlen;

    memset(out, 0, sizeof *out);
    if (strncmp(s, "unix:", 5) == 0) {
        const char *path = s + 5;

        if (*path == '\0') {
            return -EINVAL;
        }
        if (strlen(path) >= sizeof out->path) {
            return -ERANGE;
        }
        out->kind = PARSE_ADDR_UNIX;
        strcpy(out->path, path);
        return 0;
    }

    out->kind = PARSE_ADDR_TCP;
    if (*s == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close == s + 1) {
            return -EINVAL;
        }
        host = s + 1;
        hostlen = (size_t)(close - host);
        if (memchr(host, ':', hostlen) == NULL) {
            return -EINVAL; /* brackets are for IPv6 literals */
        }
        colon = close[1] == ':' ? close + 1 : NULL;
        if (close[1] != '\0' && colon == NULL) {
            return -EINVAL;
        }
    } else {
        host = s;
        colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon) {
            return -EINVAL; /* bare IPv6 without brackets is ambiguous */
        }
        hostlen = colon ? (size_t)(colon - s) : strlen(s);
    }
    if (hostlen >= sizeof out->host) {
        return -ERANGE;
    }
    memcpy(out->host, host, hostlen);
    out->host[hostlen] = '\0';
    if (strpbrk(out->host, " \t/")) {
        return -EINVAL;
    }
    if (colon) {
        return parse_port(colon + 1, out->port, sizeof out->port);
    }
    if (default_port == NULL || out->host[0] == '\0') {
        return -EINVAL;
    }
    return parse_port(default_port, out->port, sizeof out->port);
}

void
parse_format_size(uint64_t v, char *buf, size_t len)
{
    static const char suffixes[] = "KMGTPE";
    int i = -1;

    while (v && (v & 1023) == 0 && i < 5) {
        v >>= 10;
        i++;
    }
    if (i < 0) {
        snprintf(buf, len, "%" PRIu64, v);
    } else {
        snprintf(buf, len, "%" PRIu64 "%c", v, suffixes[i]);
    }
}

size_t
parse_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[64];

    /* Keys are short; longer strings are simply "far". */
    if (lb >= sizeof row / sizeof row[0] || la >= 64) {
        return SIZE_MAX;
    }
    for (size_t j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;

            if (up + 1 < best) {
                best = up + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}
