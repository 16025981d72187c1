/* SPDX-License-Identifier: MIT */
/*
 * The key=value\0 codec (see iscsi-text.h).  The parser never copies a
 * value: it checks the pair in place and hands out a pointer into the
 * data segment, whose terminating NUL it has verified, so the login code
 * can treat values as C strings without a second bounds check.  Keys are
 * copied (at most 63 bytes) so a caller may compare them after the buffer
 * is gone.  Which keys exist and how long each value may be is the
 * business of iscsi-param.c and iscsi-auth.c; here only the RFC 7143 6.1
 * syntax is checked, with ISCSI_TEXT_MAX_VALUE as the hard limit.
 *
 * Pairs continued across PDUs (C bit) are the caller's: it concatenates
 * the data segments and parses once the final PDU arrives.
 */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/iscsi-text.h"

/* RFC 7143 6.1: a key name is letters, digits, '.', '-', '+', '@', '_';
 * and '#', which 6.1 omits but the public extension keys of 13.22 need
 * (X#NodeArchitecture, RFC 4850): refusing it would fail such a login
 * instead of answering NotUnderstood. */
static bool
text_key_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' ||
           c == '@' || c == '_' || c == '#';
}

int
iscsi_text_next(const uint8_t *data, size_t len, size_t *pos,
                struct iscsi_text_pair *pair)
{
    size_t p = *pos, k, v;

    if (p >= len) {
        return 0;
    }
    for (k = p; k < len && data[k] != '=' && data[k] != '\0'; k++) {
        if (k - p >= ISCSI_TEXT_MAX_KEY || !text_key_char(data[k])) {
            return -EINVAL;
        }
    }
    if (k == len || data[k] != '=' || k == p) {
        return -EINVAL; /* no '=' before the NUL, or an empty key */
    }
    /* The value runs to the next NUL, which must be inside the segment. */
    v = k + 1;
    {
        const uint8_t *nul = memchr(data + v, '\0', len - v);

        if (nul == NULL || (size_t)(nul - (data + v)) > ISCSI_TEXT_MAX_VALUE) {
            return -EINVAL;
        }
        memcpy(pair->key, data + p, k - p);
        pair->key[k - p] = '\0';
        pair->value = (const char *)data + v;
        pair->value_len = (size_t)(nul - (data + v));
        *pos = (size_t)(nul - data) + 1;
    }
    return 1;
}

void
iscsi_text_add(struct strbuf *b, const char *key, const char *value)
{
    strbuf_puts(b, key);
    strbuf_append(b, "=", 1);
    strbuf_puts(b, value);
    strbuf_append(b, "", 1); /* the pair's NUL is part of the segment */
}

void
iscsi_text_addf(struct strbuf *b, const char *key, const char *fmt, ...)
{
    va_list ap;
    char *value;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&value, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true; /* sticky, like every other strbuf failure */
        return;
    }
    iscsi_text_add(b, key, value);
    free(value);
}
