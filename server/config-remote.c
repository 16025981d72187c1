/* SPDX-License-Identifier: MIT */
/*
 * The addresses of gateway backends' remotes: `uri` (backend = nbd) and
 * `url` (backend = iscsi), checked when the key is read so that a typo is
 * reported as FILE:LINE: key: what is wrong, and not as a failed connect
 * at startup.  libnbd and libiscsi parse them again when they connect;
 * the checks here are the subset both accept and no more lenient, and
 * they are pure string functions so the unit tests need no library.
 */
#include <config.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"

/* The schemes libnbd's nbd_connect_uri understands (nbd_supports_uri). */
static const struct {
    const char *scheme;
    bool unix_socket;
    bool vsock;
} nbd_schemes[] = {
    { "nbd", false, false },
    { "nbds", false, false },
    { "nbd+unix", true, false },
    { "nbds+unix", true, false },
    { "nbd+vsock", false, true },
    { "nbds+vsock", false, true },
};

/* "PORT" of 1 to 65535; len bytes at p. */
static bool
port_valid(const char *p, size_t len)
{
    unsigned long v = 0;

    if (len == 0 || len > 5) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)p[i])) {
            return false;
        }
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

/*
 * "HOST[:PORT]" or "[V6ADDR][:PORT]" of len bytes at p; a host is
 * letters, digits, '.', '-' and '_'.  Returns NULL or what is wrong.
 */
static const char *
host_port_check(const char *p, size_t len)
{
    const char *end = p + len, *colon;

    if (len == 0) {
        return "no host";
    }
    if (*p == '[') {
        const char *close = memchr(p, ']', len);

        if (close == NULL || close == p + 1) {
            return "an IPv6 address must be written [ADDR]";
        }
        for (const char *q = p + 1; q < close; q++) {
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.') {
                return "invalid IPv6 address";
            }
        }
        if (close + 1 == end) {
            return NULL;
        }
        if (close[1] != ':' || !port_valid(close + 2, (size_t)(end - close - 2))) {
            return "invalid port: expected 1 to 65535";
        }
        return NULL;
    }
    colon = memchr(p, ':', len);
    for (const char *q = p; q < (colon ? colon : end); q++) {
        if (!isalnum((unsigned char)*q) && !strchr(".-_", *q)) {
            return "invalid host name";
        }
    }
    if (colon == p) {
        return "no host";
    }
    if (colon && !port_valid(colon + 1, (size_t)(end - colon - 1))) {
        return "invalid port: expected 1 to 65535";
    }
    return NULL;
}

const char *
config_remote_check_nbd_uri(const char *uri)
{
    const char *sep = strstr(uri, "://"), *auth, *path, *query;
    size_t slen, alen;
    bool unix_socket = false, vsock = false, known = false;

    if (sep == NULL) {
        return "expected nbd://HOST[:PORT][/EXPORT], nbds://... or "
               "nbd+unix:///EXPORT?socket=PATH";
    }
    slen = (size_t)(sep - uri);
    for (size_t i = 0; i < sizeof nbd_schemes / sizeof nbd_schemes[0]; i++) {
        if (strlen(nbd_schemes[i].scheme) == slen
            && strncmp(uri, nbd_schemes[i].scheme, slen) == 0) {
            known = true;
            unix_socket = nbd_schemes[i].unix_socket;
            vsock = nbd_schemes[i].vsock;
        }
    }
    if (!known) {
        return "unknown scheme: expected nbd, nbds, nbd+unix, nbds+unix, "
               "nbd+vsock or nbds+vsock";
    }
    auth = sep + 3;
    alen = strcspn(auth, "/?#");
    path = auth + alen;
    query = strchr(path, '?');
    if (unix_socket) {
        if (alen != 0) {
            return "nbd+unix:// takes no host: write nbd+unix:///EXPORT?socket=PATH";
        }
        if (query == NULL
            || (strncmp(query, "?socket=", 8) != 0 && !strstr(query, "&socket="))) {
            return "nbd+unix:// needs ?socket=PATH";
        }
        return NULL;
    }
    if (vsock) {
        for (size_t i = 0; i < alen; i++) {
            if (!isdigit((unsigned char)auth[i]) && auth[i] != ':') {
                return "nbd+vsock:// takes a numeric CID[:PORT]";
            }
        }
        return alen ? NULL : "nbd+vsock:// needs a CID";
    }
    if (memchr(auth, '@', alen)) {
        return "user names in NBD URIs are not supported";
    }
    return host_port_check(auth, alen);
}

const char *
config_remote_check_iscsi_url(const char *url)
{
    const char *auth, *slash, *at, *target, *lun;
    size_t alen;
    unsigned long v = 0;

    if (strncmp(url, "iscsi://", 8) != 0) {
        return "expected iscsi://[USER%PASSWORD@]HOST[:PORT]/IQN/LUN";
    }
    auth = url + 8;
    slash = strchr(auth, '/');
    if (slash == NULL) {
        return "no target: expected iscsi://HOST[:PORT]/IQN/LUN";
    }
    alen = (size_t)(slash - auth);
    at = NULL;
    for (const char *q = auth; q < slash; q++) {
        if (*q == '@') {
            at = q;
        }
    }
    if (at) {
        const char *pct = memchr(auth, '%', (size_t)(at - auth));

        if (at == auth || pct == auth) {
            return "empty user name before '@'";
        }
        if (pct && pct + 1 == at) {
            return "empty password after '%'";
        }
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    {
        const char *why = host_port_check(auth, alen);

        if (why) {
            return why;
        }
    }
    target = slash + 1;
    lun = strchr(target, '/');
    if (lun == NULL || lun == target) {
        return "no target name: expected iscsi://HOST[:PORT]/IQN/LUN";
    }
    if (strncmp(target, "iqn.", 4) != 0 && strncmp(target, "eui.", 4) != 0
        && strncmp(target, "naa.", 4) != 0) {
        return "the target name must start with iqn., eui. or naa.";
    }
    lun++;
    if (*lun == '\0') {
        return "no LUN: expected iscsi://HOST[:PORT]/IQN/LUN";
    }
    for (const char *q = lun; *q; q++) {
        if (!isdigit((unsigned char)*q) || v > 16383) {
            return "invalid LUN: expected a number from 0 to 16383";
        }
        v = v * 10 + (unsigned long)(*q - '0');
    }
    if (v > 16383) {
        return "invalid LUN: expected a number from 0 to 16383";
    }
    return NULL;
}
