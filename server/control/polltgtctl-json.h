/* SPDX-License-Identifier: MIT */
/*
 * A small JSON reader for polltgtctl: it parses the status socket's
 * documents into a tree and looks fields up by dotted path
 * ("io.ops.read.count").  It is not a general library: it reads the whole
 * document at once, keeps numbers as doubles (and exact 64-bit unsigned
 * integers alongside, because the counters are uint64), and bounds the
 * nesting depth so a hostile document cannot exhaust the stack.  Written
 * here so that polltgtctl needs no JSON library.
 */
#ifndef POLLTGT_CONTROL_POLLTGTCTL_JSON_H
#define POLLTGT_CONTROL_POLLTGTCTL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

enum ctl_json_type {
    CTL_JSON_NULL,
    CTL_JSON_BOOL,
    CTL_JSON_NUMBER,
    CTL_JSON_STRING,
    CTL_JSON_ARRAY,
    CTL_JSON_OBJECT,
};

struct ctl_json {
    enum ctl_json_type type;
    char *key;               /* member name inside an object, else NULL */
    bool b;                  /* CTL_JSON_BOOL */
    double num;              /* CTL_JSON_NUMBER */
    uint64_t u;              /* the same, exact, if is_u64 */
    bool is_u64;             /* a non-negative integer that fits uint64 */
    char *str;               /* CTL_JSON_STRING, NUL-terminated UTF-8 */
    struct ctl_json *child;  /* first element or member */
    struct ctl_json *next;   /* next sibling */
    size_t n;                /* number of children */
};

/*
 * Parse len bytes of text as one JSON value (white space around it is
 * allowed, anything else after it is not).  Returns the tree, or NULL with
 * a message in err ("line 3: expected ':'"), or "out of memory".
 */
struct ctl_json *ctl_json_parse(const char *text, size_t len, char *err,
                                size_t errlen) ATTR_NONNULL(1, 3);
void ctl_json_free(struct ctl_json *v);

/*
 * The value at a dotted path of member names below v ("" or NULL is v
 * itself), or NULL if a member is missing or v is not an object there.
 */
const struct ctl_json *ctl_json_get(const struct ctl_json *v,
                                    const char *path);

/* Typed lookups with a default for a missing or mistyped value. */
double ctl_json_num(const struct ctl_json *v, const char *path, double dflt);
uint64_t ctl_json_u64(const struct ctl_json *v, const char *path,
                      uint64_t dflt);
const char *ctl_json_str(const struct ctl_json *v, const char *path,
                         const char *dflt);
bool ctl_json_bool(const struct ctl_json *v, const char *path, bool dflt);

#endif /* POLLTGT_CONTROL_POLLTGTCTL_JSON_H */
