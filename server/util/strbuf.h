/* SPDX-License-Identifier: MIT */
/*
 * A growable text buffer for the control socket's answers (JSON,
 * Prometheus text, tables).  Allocation failure is sticky: later appends
 * do nothing and strbuf_failed() tells the caller once at the end.
 */
#ifndef POLLTGT_UTIL_STRBUF_H
#define POLLTGT_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "util/compiler.h"

struct strbuf {
    char *s;
    size_t len, cap;
    bool failed;
};

void strbuf_init(struct strbuf *b) ATTR_NONNULL(1);
void strbuf_free(struct strbuf *b) ATTR_NONNULL(1);
void strbuf_append(struct strbuf *b, const char *s, size_t len)
    ATTR_NONNULL(1, 2);
void strbuf_puts(struct strbuf *b, const char *s) ATTR_NONNULL(1, 2);
void strbuf_printf(struct strbuf *b, const char *fmt, ...)
    ATTR_NONNULL(1, 2) ATTR_FORMAT(2, 3);
/* A JSON string literal, quotes included, escaped per RFC 8259. */
void strbuf_json_string(struct strbuf *b, const char *s) ATTR_NONNULL(1, 2);
/* A Prometheus label value (inside quotes): \\, \" and \n escaped. */
void strbuf_prom_label(struct strbuf *b, const char *s) ATTR_NONNULL(1, 2);
bool strbuf_failed(const struct strbuf *b) ATTR_NONNULL(1);

#endif /* POLLTGT_UTIL_STRBUF_H */
