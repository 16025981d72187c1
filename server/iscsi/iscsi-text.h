/* SPDX-License-Identifier: MIT */
/*
 * iSCSI text: the key=value pairs of Login and Text PDUs (RFC 7143 6.1).
 * A data segment is a sequence of "key=value\0" strings; keys are at most
 * 63 bytes of letters, digits and . - + @ _ # ('#' for X# keys), values
 * at most 255 bytes unless the key says otherwise
 * (8192 for CHAP_C/CHAP_R binary values).  Replies are built in a strbuf
 * with each pair's terminating NUL included.
 */
#ifndef POLLTGT_ISCSI_ISCSI_TEXT_H
#define POLLTGT_ISCSI_ISCSI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"
#include "util/strbuf.h"

#define ISCSI_TEXT_MAX_KEY 63
#define ISCSI_TEXT_MAX_VALUE 8192

struct iscsi_text_pair {
    char key[ISCSI_TEXT_MAX_KEY + 1];
    const char *value;   /* points into the parsed buffer, NUL-terminated */
    size_t value_len;
};

/* Iterate over the pairs of a data segment.  *pos starts at 0.  Returns 1
 * and fills *pair, 0 at the end, or -EINVAL for a malformed pair (no '=',
 * empty or overlong key, bad key characters, value too long, missing
 * terminating NUL); *pos is then at the bad pair.  data may be NULL when
 * len is 0 (an empty strbuf's s is NULL). */
int iscsi_text_next(const uint8_t *data, size_t len, size_t *pos,
                    struct iscsi_text_pair *pair) ATTR_NONNULL(3, 4);

/* Append "key=value\0". */
void iscsi_text_add(struct strbuf *b, const char *key, const char *value)
    ATTR_NONNULL(1, 2, 3);
void iscsi_text_addf(struct strbuf *b, const char *key, const char *fmt, ...)
    ATTR_NONNULL(1, 2, 3) ATTR_FORMAT(3, 4);

#endif /* POLLTGT_ISCSI_ISCSI_TEXT_H */
