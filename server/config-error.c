/* SPDX-License-Identifier: MIT */
/*
 * The loader's messages: "FILE:LINE: [section] key: what was given: what
 * is accepted", gathered into one text, and the nearest valid name for an
 * unknown section or key.
 *
 * Errors accumulate (up to CONFIG_MAX_ERRORS) rather than stop the load,
 * so an operator fixes a file in one pass; past the cap one last line says
 * so, which keeps the text to the few dozen lines config.h promises.  The
 * unknown-key text is shared with the status socket's `set`
 * (config_unknown_poll_key_message), so a typo gets the same answer there.
 */
#include <config.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"
#include "util/parse.h"

#define CONFIG_MAX_ERRORS 20

void
config_error(struct config_loader *ld, unsigned line, const char *fmt, ...)
{
    char msg[512];
    int len;
    va_list ap;
    char *n;

    ld->nerrors++;
    if (ld->nerrors > CONFIG_MAX_ERRORS) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ld->nerrors == CONFIG_MAX_ERRORS) {
        snprintf(msg, sizeof msg, "too many errors; stopping here");
    }
    len = line ? snprintf(NULL, 0, "%s:%u: %s\n", ld->name, line, msg)
               : snprintf(NULL, 0, "%s: %s\n", ld->name, msg);
    n = realloc(ld->errors, ld->errors_len + (size_t)len + 1);
    if (n == NULL) {
        ld->oom = true;
        return;
    }
    ld->errors = n;
    if (line) {
        snprintf(n + ld->errors_len, (size_t)len + 1, "%s:%u: %s\n", ld->name,
                 line, msg);
    } else {
        snprintf(n + ld->errors_len, (size_t)len + 1, "%s: %s\n", ld->name, msg);
    }
    ld->errors_len += (size_t)len;
}

const char *
config_error_nearest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    size_t limit = strlen(word) / 3 + 2;

    for (size_t i = 0; i < n; i++) {
        size_t d = parse_edit_distance(word, candidates[i]);

        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best_d <= limit ? best : NULL;
}

/* "[section] unknown key ..." with the nearest valid key of kind. */
static void
unknown_key_message(enum config_section_kind kind, const char *section,
                    const char *key, char *buf, size_t len)
{
    const struct config_key *keys = config_keys_section(kind);
    const char *names[32];
    size_t n = 0;

    if (config_keys_has_poll_params(kind)) {
        for (size_t i = 0; i < policy_nparams && n < 32; i++) {
            names[n++] = policy_params[i].key;
        }
    }
    for (size_t i = 0; keys && keys[i].key && n < 32; i++) {
        names[n++] = keys[i].key;
    }
    const char *near = config_error_nearest(key, names, n);
    if (near) {
        snprintf(buf, len, "[%s] unknown key '%s'; did you mean '%s'?",
                 section, key, near);
        return;
    }
    size_t used = (size_t)snprintf(buf, len,
                                   "[%s] unknown key '%s': valid keys are ",
                                   section, key);
    for (size_t i = 0; i < n && used < len; i++) {
        used += (size_t)snprintf(buf + used, len - used, "%s%s",
                                 i ? ", " : "", names[i]);
    }
}

void
config_unknown_poll_key_message(int iothread, const char *key, char *buf,
                                size_t len)
{
    char section[32];

    if (iothread < 0) {
        unknown_key_message(SEC_POLL, "poll", key, buf, len);
    } else {
        snprintf(section, sizeof section, "iothread %d", iothread);
        unknown_key_message(SEC_IOTHREAD, section, key, buf, len);
    }
}

void
config_error_unknown_key(struct config_loader *ld, const char *key,
                         unsigned line)
{
    char msg[640];

    unknown_key_message(ld->kind, ld->section, key, msg, sizeof msg);
    config_error(ld, line, "%s", msg);
}
