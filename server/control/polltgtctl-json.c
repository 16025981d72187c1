/* SPDX-License-Identifier: MIT */
/*
 * polltgtctl's JSON reader (see polltgtctl-json.h): a recursive-descent
 * parser over RFC 8259, strict about what it accepts (no trailing commas,
 * no comments, no leading zeros, no raw control characters in strings), so
 * that a malformed answer from the server is reported rather than shown
 * half-read.  Nesting is bounded by CTL_JSON_MAX_DEPTH.
 */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/polltgtctl-json.h"

/* The status socket nests five levels deep; 64 leaves room and still
 * cannot overflow a stack. */
#define CTL_JSON_MAX_DEPTH 64

struct ctl_json_parser {
    const char *p, *end, *start;
    char *err;
    size_t errlen;
    bool failed;
};

static void
ctl_json_error(struct ctl_json_parser *ps, const char *fmt, ...)
    ATTR_FORMAT(2, 3);

static void
ctl_json_error(struct ctl_json_parser *ps, const char *fmt, ...)
{
    unsigned line = 1;
    size_t used;
    va_list ap;

    if (ps->failed) {
        return;
    }
    ps->failed = true;
    for (const char *q = ps->start; q < ps->p && q < ps->end; q++) {
        line += *q == '\n';
    }
    used = (size_t)snprintf(ps->err, ps->errlen, "line %u: ", line);
    if (used < ps->errlen) {
        va_start(ap, fmt);
        vsnprintf(ps->err + used, ps->errlen - used, fmt, ap);
        va_end(ap);
    }
}

static void
ctl_json_skip_ws(struct ctl_json_parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
            *ps->p == '\r')) {
        ps->p++;
    }
}

static struct ctl_json *
ctl_json_new(struct ctl_json_parser *ps, enum ctl_json_type type)
{
    struct ctl_json *v = calloc(1, sizeof *v);

    if (v == NULL) {
        ctl_json_error(ps, "out of memory");
        return NULL;
    }
    v->type = type;
    return v;
}

static int
ctl_json_hex4(const char *s)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        char c = s[i];

        v <<= 4;
        if (c >= '0' && c <= '9') {
            v |= c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v |= c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v |= c - 'A' + 10;
        } else {
            return -1;
        }
    }
    return v;
}

static size_t
ctl_json_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string literal at ps->p (the opening quote); a malloc'd copy. */
static char *
ctl_json_string(struct ctl_json_parser *ps)
{
    const char *q = ps->p + 1;
    size_t n = 0;
    char *s;

    /* Escapes only shrink, so the raw length bounds the result. */
    while (q < ps->end && *q != '"') {
        q += *q == '\\' && q + 1 < ps->end ? 2 : 1;
    }
    if (q >= ps->end) {
        ctl_json_error(ps, "unterminated string");
        return NULL;
    }
    s = malloc((size_t)(q - ps->p));
    if (s == NULL) {
        ctl_json_error(ps, "out of memory");
        return NULL;
    }
    ps->p++;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;

        if (c < 0x20) {
            ctl_json_error(ps, "control character in a string");
            free(s);
            return NULL;
        }
        if (c != '\\') {
            s[n++] = (char)c;
            ps->p++;
            continue;
        }
        c = (unsigned char)ps->p[1];
        ps->p += 2;
        switch (c) {
        case '"': s[n++] = '"'; break;
        case '\\': s[n++] = '\\'; break;
        case '/': s[n++] = '/'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u': {
            int hi = ps->end - ps->p >= 4 ? ctl_json_hex4(ps->p) : -1;
            unsigned long cp;

            if (hi < 0) {
                ctl_json_error(ps, "bad \\u escape");
                free(s);
                return NULL;
            }
            ps->p += 4;
            cp = (unsigned long)hi;
            if (hi >= 0xd800 && hi < 0xdc00 && ps->end - ps->p >= 6 &&
                ps->p[0] == '\\' && ps->p[1] == 'u') {
                int lo = ctl_json_hex4(ps->p + 2);

                if (lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + (((unsigned long)hi - 0xd800) << 10) +
                         ((unsigned long)lo - 0xdc00);
                    ps->p += 6;
                }
            }
            if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd; /* a lone surrogate */
            }
            n += ctl_json_utf8(s + n, cp);
            break;
        }
        default:
            ctl_json_error(ps, "bad escape '\\%c' in a string", c);
            free(s);
            return NULL;
        }
    }
    ps->p++;
    s[n] = '\0';
    return s;
}

static struct ctl_json *
ctl_json_number(struct ctl_json_parser *ps)
{
    const char *s = ps->p;
    const char *q = s;
    struct ctl_json *v;
    char buf[64];
    bool integer = true;

    if (q < ps->end && *q == '-') {
        q++;
    }
    if (q < ps->end && *q == '0') {
        q++;
    } else if (q < ps->end && *q >= '1' && *q <= '9') {
        while (q < ps->end && *q >= '0' && *q <= '9') {
            q++;
        }
    } else {
        ctl_json_error(ps, "invalid number");
        return NULL;
    }
    if (q < ps->end && *q == '.') {
        integer = false;
        q++;
        if (q >= ps->end || *q < '0' || *q > '9') {
            ctl_json_error(ps, "invalid number");
            return NULL;
        }
        while (q < ps->end && *q >= '0' && *q <= '9') {
            q++;
        }
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        integer = false;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) {
            q++;
        }
        if (q >= ps->end || *q < '0' || *q > '9') {
            ctl_json_error(ps, "invalid number");
            return NULL;
        }
        while (q < ps->end && *q >= '0' && *q <= '9') {
            q++;
        }
    }
    if ((size_t)(q - s) >= sizeof buf) {
        ctl_json_error(ps, "number too long");
        return NULL;
    }
    memcpy(buf, s, (size_t)(q - s));
    buf[q - s] = '\0';
    v = ctl_json_new(ps, CTL_JSON_NUMBER);
    if (v == NULL) {
        return NULL;
    }
    v->num = strtod(buf, NULL);
    if (integer && buf[0] != '-') {
        errno = 0;
        v->u = strtoull(buf, NULL, 10);
        v->is_u64 = errno == 0;
    }
    ps->p = q;
    return v;
}

static bool
ctl_json_literal(struct ctl_json_parser *ps, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, word, n) == 0) {
        ps->p += n;
        return true;
    }
    return false;
}

static struct ctl_json *ctl_json_value(struct ctl_json_parser *ps,
                                       unsigned depth);

/* An array or object at ps->p; close is ']' or '}'. */
static struct ctl_json *
ctl_json_container(struct ctl_json_parser *ps, unsigned depth, char close)
{
    struct ctl_json *v = ctl_json_new(ps, close == '}' ? CTL_JSON_OBJECT
                                                       : CTL_JSON_ARRAY);
    struct ctl_json **tail;

    if (v == NULL) {
        return NULL;
    }
    tail = &v->child;
    ps->p++;
    ctl_json_skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return v;
    }
    for (;;) {
        struct ctl_json *item;
        char *key = NULL;

        ctl_json_skip_ws(ps);
        if (close == '}') {
            if (ps->p >= ps->end || *ps->p != '"') {
                ctl_json_error(ps, "expected a member name");
                goto err;
            }
            key = ctl_json_string(ps);
            if (key == NULL) {
                goto err;
            }
            ctl_json_skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                ctl_json_error(ps, "expected ':'");
                free(key);
                goto err;
            }
            ps->p++;
        }
        item = ctl_json_value(ps, depth + 1);
        if (item == NULL) {
            free(key);
            goto err;
        }
        item->key = key;
        *tail = item;
        tail = &item->next;
        v->n++;
        ctl_json_skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return v;
        }
        ctl_json_error(ps, "expected ',' or '%c'", close);
        goto err;
    }
err:
    ctl_json_free(v);
    return NULL;
}

static struct ctl_json *
ctl_json_value(struct ctl_json_parser *ps, unsigned depth)
{
    struct ctl_json *v;

    if (depth > CTL_JSON_MAX_DEPTH) {
        ctl_json_error(ps, "nested deeper than %d levels", CTL_JSON_MAX_DEPTH);
        return NULL;
    }
    ctl_json_skip_ws(ps);
    if (ps->p >= ps->end) {
        ctl_json_error(ps, "unexpected end of the document");
        return NULL;
    }
    switch (*ps->p) {
    case '{':
        return ctl_json_container(ps, depth, '}');
    case '[':
        return ctl_json_container(ps, depth, ']');
    case '"': {
        char *s = ctl_json_string(ps);

        if (s == NULL) {
            return NULL;
        }
        v = ctl_json_new(ps, CTL_JSON_STRING);
        if (v == NULL) {
            free(s);
            return NULL;
        }
        v->str = s;
        return v;
    }
    case 't':
    case 'f':
        if (ctl_json_literal(ps, "true") || ctl_json_literal(ps, "false")) {
            v = ctl_json_new(ps, CTL_JSON_BOOL);
            if (v) {
                v->b = ps->p[-1] == 'e' && ps->p[-2] == 'u';
            }
            return v;
        }
        break;
    case 'n':
        if (ctl_json_literal(ps, "null")) {
            return ctl_json_new(ps, CTL_JSON_NULL);
        }
        break;
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
            return ctl_json_number(ps);
        }
        break;
    }
    ctl_json_error(ps, "unexpected character '%c'", *ps->p);
    return NULL;
}

struct ctl_json *
ctl_json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct ctl_json_parser ps = {
        .p = text, .end = text + len, .start = text,
        .err = err, .errlen = errlen,
    };
    struct ctl_json *v;

    if (errlen) {
        err[0] = '\0';
    }
    v = ctl_json_value(&ps, 0);
    if (v == NULL) {
        return NULL;
    }
    ctl_json_skip_ws(&ps);
    if (ps.p != ps.end) {
        ctl_json_error(&ps, "trailing characters after the document");
        ctl_json_free(v);
        return NULL;
    }
    return v;
}

void
ctl_json_free(struct ctl_json *v)
{
    while (v) {
        struct ctl_json *next = v->next;

        ctl_json_free(v->child);
        free(v->key);
        free(v->str);
        free(v);
        v = next;
    }
}

const struct ctl_json *
ctl_json_get(const struct ctl_json *v, const char *path)
{
    while (v && path && *path) {
        size_t n = strcspn(path, ".");
        const struct ctl_json *m = NULL;

        if (v->type == CTL_JSON_OBJECT) {
            for (m = v->child; m; m = m->next) {
                if (strlen(m->key) == n && memcmp(m->key, path, n) == 0) {
                    break;
                }
            }
        }
        v = m;
        path += n;
        path += *path == '.';
    }
    return v;
}

double
ctl_json_num(const struct ctl_json *v, const char *path, double dflt)
{
    v = ctl_json_get(v, path);
    if (v && v->type == CTL_JSON_NUMBER) {
        return v->num;
    }
    if (v && v->type == CTL_JSON_STRING && strcmp(v->str, "+Inf") == 0) {
        return INFINITY;
    }
    return dflt;
}

uint64_t
ctl_json_u64(const struct ctl_json *v, const char *path, uint64_t dflt)
{
    v = ctl_json_get(v, path);
    if (v == NULL || v->type != CTL_JSON_NUMBER) {
        return dflt;
    }
    if (v->is_u64) {
        return v->u;
    }
    return v->num > 0 ? (uint64_t)v->num : 0;
}

const char *
ctl_json_str(const struct ctl_json *v, const char *path, const char *dflt)
{
    v = ctl_json_get(v, path);
    return v && v->type == CTL_JSON_STRING ? v->str : dflt;
}

bool
ctl_json_bool(const struct ctl_json *v, const char *path, bool dflt)
{
    v = ctl_json_get(v, path);
    return v && v->type == CTL_JSON_BOOL ? v->b : dflt;
}
