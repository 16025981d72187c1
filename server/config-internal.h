/* SPDX-License-Identifier: MIT */
/*
 * Private to the config-*.c files: the key tables' types and the loader's
 * state, shared by the files that together turn polltgt.ini into a struct
 * config.  The loader is one struct passed to every step (read a line,
 * begin a section, apply a value, finish) so each step can live in the
 * file of its job and still report "FILE:LINE: ..." errors into one list.
 *
 *   config-load.c    entry points, line reader, section headers, inih handler
 *   config-keys.c    the key tables, built-in defaults, config_foreach_key
 *   config-value.c   one value of each key type: parse, check, store
 *   config-error.c   "FILE:LINE: ..." messages, nearest-name suggestions
 *   config-export.c  [export NAME] and the iSCSI targets made of exports
 *   config-remote.c  the remote addresses of gateway backends (uri, url)
 *   config-finish.c  after the whole file: resolve, layer, cross-check
 */
#ifndef POLLTGT_SERVER_CONFIG_INTERNAL_H
#define POLLTGT_SERVER_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "policy/policy.h"
#include "util/compiler.h"

#define CONFIG_MAX_LINE 200 /* inih's stack buffer (INI_MAX_LINE) */

/* Digest preference lists as iSCSI writes them ("CRC32C,None"). */
#define CONFIG_DIGEST_ACCEPTS "a list of none and crc32c, in order of preference"

enum config_section_kind {
    SEC_NONE,    /* before the first header */
    SEC_INVALID, /* after an unknown header: its keys are not reported */
    SEC_SERVER,
    SEC_POLL,
    SEC_IOTHREAD,
    SEC_NBD,
    SEC_ISCSI,
    SEC_STATUS,
    SEC_EXPORT,
};

enum config_key_type {
    KT_IOTHREADS, /* unsigned: 1..max or "auto" */
    KT_LOGLEVEL,
    KT_PATH,      /* char *, made absolute */
    KT_STRING,    /* char * */
    KT_SOCKET,    /* char *, made absolute; "none" disables */
    KT_LISTEN,    /* struct config_addrs; min is unused, dflt is the port */
    KT_MODE,      /* unsigned, octal */
    KT_SIZE,      /* uint64_t */
    KT_BOOL,      /* bool */
    KT_BACKEND,   /* char *, one of config_backends */
    KT_INT,       /* int, min..max */
    KT_IQN,       /* char *, an iSCSI qualified name prefix */
    KT_UINT,      /* unsigned, min..max */
    KT_DURATION,  /* int64_t ns, min..max (in ns), bare numbers in seconds */
    KT_ACL,       /* struct acl */
    KT_USER,      /* long uid, from a user name or number */
    KT_GROUP,     /* long gid, from a group name or number */
    KT_PROTOCOLS, /* unsigned CONFIG_PROTO_* mask */
    KT_DIGEST,    /* char *, canonical iSCSI list ("CRC32C,None") */
    KT_SECRET,    /* char *, a CHAP secret: 12 to 255 bytes */
    KT_NAMES,     /* char ** list (count at offset + sizeof(char **)) */
    KT_TLS,       /* enum config_tls_mode: off, on, require */
    KT_NBD_URI,   /* char *, an NBD URI (config-remote.c) */
    KT_ISCSI_URL, /* char *, an iSCSI URL (config-remote.c) */
};

struct config_key {
    const char *key;
    enum config_key_type type;
    size_t offset; /* into struct config, config_export or config_iothread */
    int64_t min, max;
    const char *dflt; /* for documentation; NULL: no default */
};

/* What one [iothread N] section said, layered over [poll] at the end. */
struct config_iothread_override {
    unsigned line;
    struct poll_params params;
    uint32_t set_mask; /* bit i: policy_params[i] was given */
    int cpu;
};

struct config_seen_key {
    uint64_t section;    /* identity of the section instance */
    const char *key;     /* points into a key table */
    unsigned line;
};

struct config_loader {
    const char *name;
    struct config *cfg;

    /* line reader */
    FILE *fp;
    const char *text;
    unsigned line;

    /* current section */
    enum config_section_kind kind;
    char section[CONFIG_MAX_LINE];
    unsigned section_line;
    struct config_export *export;
    struct config_iothread_override *ovr;
    bool seen_nbd, seen_iscsi, seen_status;

    struct config_iothread_override *ovrs; /* indexed by thread id */
    size_t novrs;

    struct config_seen_key *seen;
    size_t nseen, seen_cap;

    char *errors;
    size_t errors_len;
    unsigned nerrors;
    bool oom;
    int read_errno;
};

/* --- config-keys.c ------------------------------------------------- */

/* The key table of a section kind; NULL for [poll] (policy.c's table
 * holds its keys) and for no section. */
const struct config_key *config_keys_section(enum config_section_kind kind);

/* [poll] and [iothread N] also take policy.c's parameters. */
bool config_keys_has_poll_params(enum config_section_kind kind);

/* The built-in value of every key, before the file is read. */
void config_keys_defaults(struct config *cfg) ATTR_NONNULL(1);

/* --- config-error.c ------------------------------------------------ */

/* Add "FILE:LINE: message" (line 0: "FILE: message") to the loader's
 * errors, up to CONFIG_MAX_ERRORS. */
void config_error(struct config_loader *ld, unsigned line, const char *fmt,
                  ...) ATTR_FORMAT(3, 4) ATTR_NONNULL(1, 3);

/* The closest of candidates to word, or NULL if none is close. */
const char *config_error_nearest(const char *word,
                                 const char *const *candidates, size_t n)
    ATTR_NONNULL(1);

/* "[section] unknown key 'key'" with the nearest key of ld's section. */
void config_error_unknown_key(struct config_loader *ld, const char *key,
                              unsigned line) ATTR_NONNULL(1, 2);

/* --- config-load.c ------------------------------------------------- */

/* strdup that notes running out of memory in ld->oom. */
char *config_load_strdup(struct config_loader *ld, const char *s)
    ATTR_NONNULL(1, 2);

/* path made absolute against the base directory (config_set_base_dir);
 * NULL when out of memory. */
char *config_load_absolute_path(struct config_loader *ld, const char *path)
    ATTR_NONNULL(1, 2);

/* --- config-value.c ------------------------------------------------ */

/* Parse value as key k and store it at base + k->offset; errors name
 * line, ld->section and the key. */
void config_value_apply(struct config_loader *ld, const struct config_key *k,
                        void *base, const char *value, unsigned line)
    ATTR_NONNULL(1, 2, 3, 4);

/* A KT_LISTEN value into addrs (also used for the [nbd] and [iscsi]
 * defaults, with line 0). */
void config_value_listen(struct config_loader *ld, const struct config_key *k,
                         struct config_addrs *addrs, const char *value,
                         unsigned line) ATTR_NONNULL(1, 2, 3, 4);

/* Free a KT_NAMES list (NULL-terminated; NULL is fine). */
void config_value_free_names(char **names);

/* --- config-export.c ----------------------------------------------- */

/* An "[export NAME]" header: a new export with its defaults. */
void config_export_begin(struct config_loader *ld, const char *name,
                         unsigned line) ATTR_NONNULL(1, 2);

/* After the file: the keys one export's backend needs and forbids. */
void config_export_finish(struct config_loader *ld, struct config_export *e)
    ATTR_NONNULL(1, 2);

/* After the file, once iqn-prefix is known: name each export's iSCSI
 * target and check the LUNs of each target. */
void config_export_finish_targets(struct config_loader *ld) ATTR_NONNULL(1);

/* --- config-remote.c ----------------------------------------------- */

/* NULL if uri is an NBD URI libnbd can connect to, else what is wrong. */
const char *config_remote_check_nbd_uri(const char *uri) ATTR_NONNULL(1);
/* NULL if url is iscsi://[USER%PASSWORD@]HOST[:PORT]/IQN/LUN, else what
 * is wrong. */
const char *config_remote_check_iscsi_url(const char *url) ATTR_NONNULL(1);

/* --- config-finish.c ----------------------------------------------- */

/* After the whole file: resolve iothreads = auto, layer [iothread N] over
 * [poll], fill late defaults and check keys against each other. */
void config_finish(struct config_loader *ld) ATTR_NONNULL(1);

#endif /* POLLTGT_SERVER_CONFIG_INTERNAL_H */
