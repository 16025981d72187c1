/* SPDX-License-Identifier: MIT */
/*
 * One value of each key type (enum config_key_type): parse it, check it
 * against the key's range or list, and store it where the key table says.
 *
 * Every rejection names the section, the key, the value given and what is
 * accepted, using the same *_ACCEPTS texts as util/parse.h and acl.h, so
 * the messages cannot drift from the parsers.  Paths are made absolute
 * here, at load time, because polltgtd later moves to / when it
 * daemonises.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <grp.h>
#include <pwd.h>

#include "config-internal.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/parse.h"

/* The backends an export may name; backends/ implements them. */
static const char *const config_backends[] = { "memory", "file", "null",
                                               "nbd", "iscsi", "rbd", NULL };

static void
set_string(struct config_loader *ld, char **field, char *value)
{
    free(*field);
    *field = value;
}

void
config_value_listen(struct config_loader *ld, const struct config_key *k,
                    struct config_addrs *addrs, const char *value,
                    unsigned line)
{
    CLEANUP_FREE char **items = NULL;
    int n = parse_list(value, &items);

    if (n < 0) {
        ld->oom = true;
        return;
    }
    if (n == 0) {
        config_error(ld, line, "[%s] %s: empty value: expected one or more of %s",
                     ld->section, k->key, PARSE_LISTEN_ACCEPTS);
        return;
    }
    struct parse_addr *a = calloc((size_t)n, sizeof *a);
    if (a == NULL) {
        ld->oom = true;
        return;
    }
    const char *port = strchr(k->dflt, ':') + 1;
    for (int i = 0; i < n; i++) {
        int r = parse_listen_addr(items[i], port, &a[i]);

        if (r == 0 && a[i].kind == PARSE_ADDR_UNIX && a[i].path[0] != '/') {
            CLEANUP_FREE char *abs = config_load_absolute_path(ld, a[i].path);

            if (abs == NULL || strlen(abs) >= sizeof a[i].path) {
                r = -ERANGE;
            } else {
                strcpy(a[i].path, abs);
            }
        }
        if (r < 0) {
            config_error(ld, line,
                         "[%s] %s: invalid address '%s': expected %s",
                         ld->section, k->key, items[i], PARSE_LISTEN_ACCEPTS);
            free(a);
            return;
        }
    }
    free(addrs->addr);
    addrs->addr = a;
    addrs->n = (size_t)n;
}

static bool
iqn_valid(const char *s)
{
    /* RFC 3720 3.2.6.3.1: iqn.YYYY-MM.reversed.domain[:...] */
    if (strncmp(s, "iqn.", 4) != 0 || strlen(s) < 12 || strlen(s) > 200) {
        return false;
    }
    if (!isdigit((unsigned char)s[4]) || !isdigit((unsigned char)s[5]) ||
        !isdigit((unsigned char)s[6]) || !isdigit((unsigned char)s[7]) ||
        s[8] != '-' || !isdigit((unsigned char)s[9]) ||
        !isdigit((unsigned char)s[10]) || s[11] != '.' || s[12] == '\0' ||
        s[12] == '.') {
        return false;
    }
    int month = (s[9] - '0') * 10 + (s[10] - '0');
    if (month < 1 || month > 12) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
              strchr(".-:", *p))) {
            return false;
        }
    }
    return true;
}

void
config_value_free_names(char **names)
{
    for (size_t i = 0; names && names[i]; i++) {
        free(names[i]);
    }
    free(names);
}

/* A whole number in [k->min, k->max]; reports the error itself. */
static bool
ranged_int(struct config_loader *ld, const struct config_key *k,
           const char *value, unsigned line, int64_t *out)
{
    if (parse_int64(value, out) < 0 || *out < k->min || *out > k->max) {
        config_error(ld, line,
                     "[%s] %s: invalid value '%s': expected a whole number "
                     "from %" PRId64 " to %" PRId64,
                     ld->section, k->key, value, k->min, k->max);
        return false;
    }
    return true;
}

/* The list-valued keys: protocols, digests, names. */
static void
apply_list_key(struct config_loader *ld, const struct config_key *k,
               void *field, const char *value, unsigned line)
{
    CLEANUP_FREE char **items = NULL;
    int n = parse_list(value, &items);
    unsigned mask = 0;
    char canon[32] = "";

    if (n < 0) {
        ld->oom = true;
        return;
    }
    if (n == 0) {
        config_error(ld, line, "[%s] %s: empty value", ld->section, k->key);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (k->type == KT_PROTOCOLS) {
            unsigned bit = strcmp(items[i], "nbd") == 0     ? CONFIG_PROTO_NBD
                         : strcmp(items[i], "iscsi") == 0   ? CONFIG_PROTO_ISCSI
                                                            : 0;
            if (bit == 0) {
                config_error(ld, line,
                             "[%s] %s: unknown protocol '%s': expected nbd, "
                             "iscsi or both",
                             ld->section, k->key, items[i]);
                return;
            }
            mask |= bit;
        } else if (k->type == KT_DIGEST) {
            unsigned bit = strcasecmp(items[i], "none") == 0     ? 1
                         : strcasecmp(items[i], "crc32c") == 0   ? 2
                                                                 : 0;
            if (bit == 0 || (mask & bit)) {
                config_error(ld, line, "[%s] %s: invalid value '%s': expected %s",
                             ld->section, k->key, value, CONFIG_DIGEST_ACCEPTS);
                return;
            }
            mask |= bit;
            snprintf(canon + strlen(canon), sizeof canon - strlen(canon), "%s%s",
                     i ? "," : "", bit == 1 ? "None" : "CRC32C");
        } else if (strlen(items[i]) > 223) {
            /* RFC 7143 6.1: iSCSI names are at most 223 bytes. */
            config_error(ld, line, "[%s] %s: name '%s' is longer than 223 bytes",
                         ld->section, k->key, items[i]);
            return;
        }
    }
    if (k->type == KT_PROTOCOLS) {
        *(unsigned *)field = mask;
    } else if (k->type == KT_DIGEST) {
        set_string(ld, field, config_load_strdup(ld, canon));
    } else {
        char ***names = field;
        size_t *count = (size_t *)((char *)field + sizeof(char **));
        char **copy = calloc((size_t)n + 1, sizeof *copy);

        if (copy == NULL) {
            ld->oom = true;
            return;
        }
        for (int i = 0; i < n; i++) {
            copy[i] = config_load_strdup(ld, items[i]);
        }
        config_value_free_names(*names);
        *names = copy;
        *count = (size_t)n;
    }
}

void
config_value_apply(struct config_loader *ld, const struct config_key *k,
                   void *base, const char *value, unsigned line)
{
    void *field = (char *)base + k->offset;
    int64_t i64;
    uint64_t u64;
    bool b;
    unsigned mode;
    enum log_level level;

    switch (k->type) {
    case KT_IOTHREADS:
        if (strcmp(value, "auto") == 0) {
            ld->cfg->iothreads_auto = true;
            return;
        }
        if (parse_int64(value, &i64) < 0 || i64 < k->min || i64 > k->max) {
            config_error(ld, line,
                         "[%s] %s: invalid value '%s': expected a whole number "
                         "from %" PRId64 " to %" PRId64 " or 'auto'",
                         ld->section, k->key, value, k->min, k->max);
            return;
        }
        ld->cfg->iothreads_auto = false;
        *(unsigned *)field = (unsigned)i64;
        return;
    case KT_LOGLEVEL:
        if (log_level_parse(value, &level) < 0) {
            config_error(ld, line,
                         "[%s] %s: invalid value '%s': expected error, warn, "
                         "info or debug",
                         ld->section, k->key, value);
            return;
        }
        *(enum log_level *)field = level;
        return;
    case KT_PATH:
    case KT_SOCKET:
        if (*value == '\0') {
            config_error(ld, line, "[%s] %s: empty value: expected a path",
                         ld->section, k->key);
            return;
        }
        if (k->type == KT_SOCKET && strcmp(value, "none") == 0) {
            set_string(ld, field, NULL);
            ld->seen_status = false; /* disabled: no default either */
            return;
        }
        if (k->type == KT_SOCKET) {
            char *abs = config_load_absolute_path(ld, value);

            if (abs && strlen(abs) >= sizeof(((struct parse_addr *)0)->path)) {
                config_error(ld, line,
                             "[%s] %s: path '%s' is too long for a Unix socket "
                             "(at most 107 bytes once made absolute)",
                             ld->section, k->key, value);
                free(abs);
                return;
            }
            set_string(ld, field, abs);
            return;
        }
        set_string(ld, field, config_load_absolute_path(ld, value));
        return;
    case KT_STRING:
        set_string(ld, field, config_load_strdup(ld, value));
        return;
    case KT_LISTEN:
        config_value_listen(ld, k, field, value, line);
        return;
    case KT_MODE:
        if (parse_mode(value, &mode) < 0) {
            config_error(ld, line, "[%s] %s: invalid value '%s': expected %s",
                         ld->section, k->key, value, PARSE_MODE_ACCEPTS);
            return;
        }
        *(unsigned *)field = mode;
        return;
    case KT_SIZE: {
        uint64_t lo = k->min ? (uint64_t)k->min : 1;
        uint64_t hi = k->max ? (uint64_t)k->max : UINT64_C(1) << 62;
        char los[32], his[32];

        if (parse_size(value, &u64) < 0 || u64 < lo || u64 > hi) {
            parse_format_size(lo, los, sizeof los);
            parse_format_size(hi, his, sizeof his);
            config_error(ld, line, "[%s] %s: invalid value '%s': expected %s, "
                         "from %s to %s",
                         ld->section, k->key, value, PARSE_SIZE_ACCEPTS, los,
                         his);
            return;
        }
        *(uint64_t *)field = u64;
        return;
    }
    case KT_UINT:
        if (ranged_int(ld, k, value, line, &i64)) {
            *(unsigned *)field = (unsigned)i64;
        }
        return;
    case KT_DURATION:
        if (parse_duration(value, NS_PER_SEC, &i64) < 0 || i64 < k->min ||
            i64 > k->max) {
            config_error(ld, line,
                         "[%s] %s: invalid value '%s': expected %s (a bare "
                         "number is in seconds), from %" PRId64 "ms to %" PRId64
                         "s",
                         ld->section, k->key, value, PARSE_DURATION_ACCEPTS,
                         k->min / NS_PER_MS, k->max / NS_PER_SEC);
            return;
        }
        *(int64_t *)field = i64;
        return;
    case KT_USER:
    case KT_GROUP: {
        char buf[4096];
        long id = -1;

        if (parse_int64(value, &i64) == 0 && i64 >= 0 && i64 < INT32_MAX) {
            id = (long)i64;
        } else if (k->type == KT_USER) {
            struct passwd pw, *res = NULL;

            if (getpwnam_r(value, &pw, buf, sizeof buf, &res) == 0 && res) {
                id = (long)res->pw_uid;
            }
        } else {
            struct group gr, *res = NULL;

            if (getgrnam_r(value, &gr, buf, sizeof buf, &res) == 0 && res) {
                id = (long)res->gr_gid;
            }
        }
        if (id < 0) {
            config_error(ld, line,
                         "[%s] %s: unknown %s '%s': expected a %s name or "
                         "number that exists on this system",
                         ld->section, k->key,
                         k->type == KT_USER ? "user" : "group", value,
                         k->type == KT_USER ? "user" : "group");
            return;
        }
        *(long *)field = id;
        return;
    }
    case KT_ACL: {
        CLEANUP_FREE char **items = NULL;
        struct acl *acl = field;
        int n = parse_list(value, &items);
        struct acl_entry *entries;

        if (n < 0) {
            ld->oom = true;
            return;
        }
        if (n == 0) {
            config_error(ld, line, "[%s] %s: empty value: expected %s",
                         ld->section, k->key, ACL_ACCEPTS);
            return;
        }
        entries = calloc((size_t)n, sizeof *entries);
        if (entries == NULL) {
            ld->oom = true;
            return;
        }
        for (int j = 0; j < n; j++) {
            if (acl_parse_entry(items[j], &entries[j]) < 0) {
                config_error(ld, line, "[%s] %s: invalid entry '%s': expected %s",
                             ld->section, k->key, items[j], ACL_ACCEPTS);
                free(entries);
                return;
            }
        }
        free(acl->entries);
        acl->entries = entries;
        acl->n = (size_t)n;
        return;
    }
    case KT_BOOL:
        if (parse_bool(value, &b) < 0) {
            config_error(ld, line, "[%s] %s: invalid value '%s': expected %s",
                         ld->section, k->key, value, PARSE_BOOL_ACCEPTS);
            return;
        }
        *(bool *)field = b;
        return;
    case KT_BACKEND:
        for (size_t i = 0; config_backends[i]; i++) {
            if (strcmp(value, config_backends[i]) == 0) {
                set_string(ld, field, config_load_strdup(ld, value));
                return;
            }
        }
        config_error(ld, line,
                     "[%s] %s: unknown backend '%s': expected memory, file, "
                     "null, nbd, iscsi or rbd",
                     ld->section, k->key, value);
        return;
    case KT_INT:
        if (ranged_int(ld, k, value, line, &i64)) {
            *(int *)field = (int)i64;
        }
        return;
    case KT_IQN:
        if (!iqn_valid(value)) {
            config_error(ld, line,
                         "[%s] %s: invalid value '%s': expected an iSCSI name "
                         "prefix iqn.YYYY-MM.reversed.domain in lower case, e.g. "
                         "%s",
                         ld->section, k->key, value, CONFIG_DEFAULT_IQN_PREFIX);
            return;
        }
        set_string(ld, field, config_load_strdup(ld, value));
        return;
    case KT_PROTOCOLS:
    case KT_DIGEST:
    case KT_NAMES:
        apply_list_key(ld, k, field, value, line);
        return;
    case KT_TLS:
        if (strcmp(value, "off") == 0) {
            *(enum config_tls_mode *)field = CONFIG_TLS_OFF;
        } else if (strcmp(value, "on") == 0) {
            *(enum config_tls_mode *)field = CONFIG_TLS_ON;
        } else if (strcmp(value, "require") == 0) {
            *(enum config_tls_mode *)field = CONFIG_TLS_REQUIRE;
        } else {
            config_error(ld, line,
                         "[%s] %s: invalid value '%s': expected off, on or "
                         "require",
                         ld->section, k->key, value);
        }
        return;
    case KT_NBD_URI:
    case KT_ISCSI_URL: {
        const char *why = k->type == KT_NBD_URI
                              ? config_remote_check_nbd_uri(value)
                              : config_remote_check_iscsi_url(value);

        if (why) {
            config_error(ld, line, "[%s] %s: invalid value '%s': %s",
                         ld->section, k->key, value, why);
            return;
        }
        set_string(ld, field, config_load_strdup(ld, value));
        return;
    }
    case KT_SECRET: {
        size_t len = strlen(value);

        if (len < 12 || len > 255) {
            config_error(ld, line,
                         "[%s] %s: a secret of %zu bytes: expected 12 to 255 "
                         "bytes (RFC 7143 asks for at least 96 bits)",
                         ld->section, k->key, len);
            return;
        }
        set_string(ld, field, config_load_strdup(ld, value));
        return;
    }
    }
}
