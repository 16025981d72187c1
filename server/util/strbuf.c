/* SPDX-License-Identifier: MIT */
/* See strbuf.h. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

void
strbuf_init(struct strbuf *b)
{
    memset(b, 0, sizeof *b);
}

void
strbuf_free(struct strbuf *b)
{
    free(b->s);
    strbuf_init(b);
}

static bool
strbuf_reserve(struct strbuf *b, size_t more)
{
    if (b->failed) {
        return false;
    }
    if (b->len + more + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *n;

        while (cap < b->len + more + 1) {
            cap *= 2;
        }
        n = realloc(b->s, cap);
        if (n == NULL) {
            b->failed = true;
            return false;
        }
        b->s = n;
        b->cap = cap;
    }
    return true;
}

void
strbuf_append(struct strbuf *b, const char *s, size_t len)
{
    if (!strbuf_reserve(b, len)) {
        return;
    }
    memcpy(b->s + b->len, s, len);
    b->len += len;
    b->s[b->len] = '\0';
}

void
strbuf_puts(struct strbuf *b, const char *s)
{
    strbuf_append(b, s, strlen(s));
}

void
strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !strbuf_reserve(b, (size_t)n)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void
strbuf_json_string(struct strbuf *b, const char *s)
{
    strbuf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': strbuf_append(b, "\\\"", 2); break;
        case '\\': strbuf_append(b, "\\\\", 2); break;
        case '\n': strbuf_append(b, "\\n", 2); break;
        case '\r': strbuf_append(b, "\\r", 2); break;
        case '\t': strbuf_append(b, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                strbuf_printf(b, "\\u%04x", *p);
            } else {
                strbuf_append(b, (const char *)p, 1);
            }
        }
    }
    strbuf_append(b, "\"", 1);
}

void
strbuf_prom_label(struct strbuf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '\\': strbuf_append(b, "\\\\", 2); break;
        case '"': strbuf_append(b, "\\\"", 2); break;
        case '\n': strbuf_append(b, "\\n", 2); break;
        default: strbuf_append(b, p, 1);
        }
    }
}

bool
strbuf_failed(const struct strbuf *b)
{
    return b->failed;
}
