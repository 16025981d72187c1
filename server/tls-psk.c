/* SPDX-License-Identifier: MIT */
/*
 * See tls-psk.h.  The file format has no escapes and no quoting, so one
 * pass over the lines does: split at the first ':', check the hex.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tls-psk.h"
#include "util/parse.h"

/* Parse one non-blank line into k; returns 0, -EINVAL (err set) or
 * -ENOMEM. */
static int
parse_line(const char *line, size_t len, struct tls_psk_key *k, char *err,
           size_t errlen)
{
    const char *colon = memchr(line, ':', len);
    size_t ulen, hlen;
    const char *hex;

    if (colon == NULL) {
        snprintf(err, errlen, "expected username:hexkey, found no ':'");
        return -EINVAL;
    }
    ulen = (size_t)(colon - line);
    hex = colon + 1;
    hlen = len - ulen - 1;
    if (ulen == 0) {
        snprintf(err, errlen, "empty username before ':'");
        return -EINVAL;
    }
    if (ulen > TLS_PSK_MAX_USERNAME) {
        snprintf(err, errlen, "username longer than %d bytes",
                 TLS_PSK_MAX_USERNAME);
        return -EINVAL;
    }
    if (memchr(line, '\0', len)) {
        snprintf(err, errlen, "NUL byte in the line");
        return -EINVAL;
    }
    if (hlen == 0 || hlen % 2 != 0 || hlen / 2 > TLS_PSK_MAX_KEY) {
        snprintf(err, errlen,
                 "key of %zu hex digits: expected an even number from 2 to %d",
                 hlen, 2 * TLS_PSK_MAX_KEY);
        return -EINVAL;
    }
    k->username = strndup(line, ulen);
    k->key = malloc(hlen / 2);
    if (k->username == NULL || k->key == NULL) {
        return -ENOMEM;
    }
    k->keylen = hlen / 2;
    for (size_t i = 0; i < hlen; i += 2) {
        int hi = parse_hex_digit(hex[i]), lo = parse_hex_digit(hex[i + 1]);

        if (hi < 0 || lo < 0) {
            snprintf(err, errlen, "key has a character that is not a hex digit");
            return -EINVAL;
        }
        k->key[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int
tls_psk_parse(const char *text, size_t len, struct tls_psk_keys *out,
              char *err, size_t errlen)
{
    struct tls_psk_keys keys = { 0 };
    size_t cap = 0;
    unsigned lineno = 0;
    const char *p = text, *end = text + len;
    int r = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        size_t llen = (size_t)(eol - p);
        char why[128];

        lineno++;
        while (llen > 0 && (p[llen - 1] == '\r' || p[llen - 1] == ' ' ||
                            p[llen - 1] == '\t')) {
            llen--;
        }
        if (llen == 0 || p[0] == '#') {
            p = nl ? nl + 1 : end;
            continue;
        }
        if (keys.n == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            struct tls_psk_key *nk = realloc(keys.keys, ncap * sizeof *nk);

            if (nk == NULL) {
                r = -ENOMEM;
                break;
            }
            keys.keys = nk;
            cap = ncap;
        }
        memset(&keys.keys[keys.n], 0, sizeof keys.keys[keys.n]);
        keys.n++;
        r = parse_line(p, llen, &keys.keys[keys.n - 1], why, sizeof why);
        if (r == 0 && tls_psk_find(&(struct tls_psk_keys){ keys.keys, keys.n - 1 },
                                   keys.keys[keys.n - 1].username)) {
            snprintf(why, sizeof why, "username '%s' given twice",
                     keys.keys[keys.n - 1].username);
            r = -EINVAL;
        }
        if (r == -EINVAL) {
            snprintf(err, errlen, "line %u: %s", lineno, why);
        }
        if (r < 0) {
            break;
        }
        p = nl ? nl + 1 : end;
    }
    if (r < 0) {
        tls_psk_free(&keys);
        *out = (struct tls_psk_keys){ 0 };
        return r;
    }
    *out = keys;
    return 0;
}

int
tls_psk_load(const char *path, struct tls_psk_keys *out, char *err,
             size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf;
    ssize_t n;
    int r;

    if (fd < 0 || fstat(fd, &st) < 0) {
        r = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(-r));
        if (fd >= 0) {
            close(fd);
        }
        return r;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > TLS_PSK_MAX_FILE) {
        snprintf(err, errlen, "%s: not a regular file of at most %d bytes",
                 path, TLS_PSK_MAX_FILE);
        close(fd);
        return -EINVAL;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return -ENOMEM;
    }
    n = read(fd, buf, (size_t)st.st_size);
    r = n < 0 ? -errno : 0;
    close(fd);
    if (r < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-r));
        free(buf);
        return r;
    }
    char why[256];
    r = tls_psk_parse(buf, (size_t)n, out, why, sizeof why);
    explicit_bzero(buf, (size_t)n);
    free(buf);
    if (r == -EINVAL) {
        /* "line N: ..." becomes "PATH:N: ..." */
        snprintf(err, errlen, "%s:%s", path, why + strlen("line "));
    } else if (r < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-r));
    }
    return r;
}

const struct tls_psk_key *
tls_psk_find(const struct tls_psk_keys *keys, const char *username)
{
    for (size_t i = 0; i < keys->n; i++) {
        if (keys->keys[i].username &&
            strcmp(keys->keys[i].username, username) == 0) {
            return &keys->keys[i];
        }
    }
    return NULL;
}

void
tls_psk_free(struct tls_psk_keys *keys)
{
    for (size_t i = 0; i < keys->n; i++) {
        if (keys->keys[i].key) {
            explicit_bzero(keys->keys[i].key, keys->keys[i].keylen);
        }
        free(keys->keys[i].key);
        free(keys->keys[i].username);
    }
    free(keys->keys);
    keys->keys = NULL;
    keys->n = 0;
}
