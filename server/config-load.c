/* SPDX-License-Identifier: MIT */
/*
 * polltgt.ini -> struct config (see config.h): the entry points and the
 * reading of the file.
 *
 * inih tokenises the file; everything else is ours.  We feed inih through
 * our own line reader, which gives us what inih's stock build does not: the
 * line number of every key, every section header (even a section without
 * keys) and overlong lines.  The handler looks each key up in the tables of
 * config-keys.c and hands the value to config-value.c; what can only be
 * checked once the whole file is read is config-finish.c's.  Errors
 * accumulate (config-error.c) and the struct config is returned only when
 * there were none.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "config-internal.h"
#include "util/cleanup.h"
#include "util/parse.h"

/* --- Strings and paths ---------------------------------------------- */

char *
config_load_strdup(struct config_loader *ld, const char *s)
{
    char *r = strdup(s);

    if (r == NULL) {
        ld->oom = true;
    }
    return r;
}

/* Where relative paths point: the directory polltgtd was started in,
 * also after it has daemonised and moved to /. */
static char config_base_dir[PATH_MAX];

void
config_set_base_dir(const char *dir)
{
    snprintf(config_base_dir, sizeof config_base_dir, "%s", dir);
}

/* Make a relative path absolute against the base (working) directory. */
char *
config_load_absolute_path(struct config_loader *ld, const char *path)
{
    char cwd[PATH_MAX];
    char *r;

    if (path[0] == '/') {
        return config_load_strdup(ld, path);
    }
    if (config_base_dir[0]) {
        snprintf(cwd, sizeof cwd, "%s", config_base_dir);
    } else if (getcwd(cwd, sizeof cwd) == NULL) {
        return config_load_strdup(ld, path);
    }
    if (asprintf(&r, "%s/%s", cwd, path) < 0) {
        ld->oom = true;
        return NULL;
    }
    return r;
}

/* --- The line reader ------------------------------------------------ */

static void begin_section(struct config_loader *ld, const char *header,
                          unsigned line);

/*
 * inih's reader callback.  We count lines, strip leading white space (so
 * inih's multi-line continuation never applies: an indented line is an
 * ordinary line) and spot section headers before inih does.
 */
static char *
loader_read_line(char *str, int num, void *opaque)
{
    struct config_loader *ld = opaque;
    char buf[4096];
    size_t len;
    char *p;

    if (ld->fp) {
        if (fgets(buf, sizeof buf, ld->fp) == NULL) {
            if (ferror(ld->fp)) {
                ld->read_errno = errno ? errno : EIO;
            }
            return NULL;
        }
        len = strlen(buf);
        if (len == sizeof buf - 1 && buf[len - 1] != '\n') {
            int c;

            while ((c = fgetc(ld->fp)) != EOF && c != '\n') {
                len++; /* swallow the rest of an absurd line */
            }
        }
    } else {
        const char *nl;

        if (*ld->text == '\0') {
            return NULL;
        }
        nl = strchr(ld->text, '\n');
        len = nl ? (size_t)(nl - ld->text) + 1 : strlen(ld->text);
        memcpy(buf, ld->text, len < sizeof buf ? len : sizeof buf - 1);
        buf[len < sizeof buf ? len : sizeof buf - 1] = '\0';
        ld->text += len;
    }
    ld->line++;

    p = buf;
    if (ld->line == 1 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3; /* a UTF-8 byte-order mark */
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    len = strlen(p);
    if (len >= (size_t)num - 1 && !(len == (size_t)num - 1 && p[len - 1] == '\n')) {
        config_error(ld, ld->line, "line too long: at most %d characters", num - 2);
        /* Hand inih a comment so it neither errors nor sees half a key. */
        snprintf(str, (size_t)num, ";\n");
        return str;
    }
    if (*p == '[') {
        char header[CONFIG_MAX_LINE];
        char *end = strchr(p, ']');
        const char *rest;

        if (end == NULL) {
            config_error(ld, ld->line, "syntax error: section header without ']'");
            snprintf(str, (size_t)num, ";\n");
            ld->kind = SEC_INVALID;
            return str;
        }
        rest = end + 1 + strspn(end + 1, " \t\r\n");
        if (*rest != '\0' && *rest != ';' && *rest != '#') {
            config_error(ld, ld->line,
                         "syntax error: text after the section header; put "
                         "each key = value on its own line");
        }
        size_t hl = (size_t)(end - p - 1);

        memcpy(header, p + 1, hl);
        header[hl] = '\0';
        begin_section(ld, header, ld->line);
        snprintf(str, (size_t)num, "[%s]\n", header);
        return str;
    }
    if (*p != '\0' && *p != '\n' && *p != '\r' && *p != ';' && *p != '#' &&
        strpbrk(p, "=:") == NULL) {
        /* inih would report only the first such line, after the fact. */
        config_error(ld, ld->line,
                     "syntax error: expected [section], key = value, or a "
                     "comment starting with ; or #");
        snprintf(str, (size_t)num, ";\n");
        return str;
    }
    snprintf(str, (size_t)num, "%s", p);
    return str;
}

/* --- Sections ------------------------------------------------------- */

static const char *const section_names[] = {
    "server", "poll", "iothread N", "nbd", "iscsi", "status", "export NAME",
};

static void
begin_iothread(struct config_loader *ld, const char *arg, unsigned line)
{
    int64_t id;

    if (parse_int64(arg, &id) < 0 || id < 0 || id >= CONFIG_MAX_IOTHREADS) {
        config_error(ld, line,
                     "[iothread %s]: invalid I/O thread number '%s': expected "
                     "0 to %d",
                     arg, arg, CONFIG_MAX_IOTHREADS - 1);
        ld->kind = SEC_INVALID;
        return;
    }
    if ((size_t)id >= ld->novrs) {
        struct config_iothread_override *n =
            realloc(ld->ovrs, (size_t)(id + 1) * sizeof *n);

        if (n == NULL) {
            ld->oom = true;
            ld->kind = SEC_INVALID;
            return;
        }
        memset(n + ld->novrs, 0, (size_t)(id + 1 - (int64_t)ld->novrs) * sizeof *n);
        for (size_t i = ld->novrs; i <= (size_t)id; i++) {
            n[i].cpu = -1;
        }
        ld->ovrs = n;
        ld->novrs = (size_t)id + 1;
    }
    ld->ovr = &ld->ovrs[id];
    if (ld->ovr->line == 0) {
        ld->ovr->line = line;
    }
}

static void
begin_section(struct config_loader *ld, const char *header, unsigned line)
{
    char word[CONFIG_MAX_LINE];
    const char *arg;
    size_t wl;

    snprintf(ld->section, sizeof ld->section, "%s", header);
    ld->section_line = line;
    ld->export = NULL;
    ld->ovr = NULL;

    while (isspace((unsigned char)*header)) {
        header++;
    }
    wl = strcspn(header, " \t");
    memcpy(word, header, wl);
    word[wl] = '\0';
    arg = header + wl;
    while (isspace((unsigned char)*arg)) {
        arg++;
    }
    /* Trailing white space inside the brackets is not part of the name. */
    char argbuf[CONFIG_MAX_LINE];
    snprintf(argbuf, sizeof argbuf, "%s", arg);
    for (size_t l = strlen(argbuf); l && isspace((unsigned char)argbuf[l - 1]); l--) {
        argbuf[l - 1] = '\0';
    }

    static const struct {
        const char *name;
        enum config_section_kind kind;
        bool takes_arg;
    } kinds[] = {
        { "server", SEC_SERVER, false }, { "poll", SEC_POLL, false },
        { "iothread", SEC_IOTHREAD, true }, { "nbd", SEC_NBD, false },
        { "iscsi", SEC_ISCSI, false }, { "status", SEC_STATUS, false },
        { "export", SEC_EXPORT, true },
    };

    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(word, kinds[i].name) != 0) {
            continue;
        }
        if (kinds[i].takes_arg && argbuf[0] == '\0') {
            config_error(ld, line, "[%s]: section needs a name: [%s]", header,
                         section_names[i]);
            ld->kind = SEC_INVALID;
            return;
        }
        if (!kinds[i].takes_arg && argbuf[0] != '\0') {
            config_error(ld, line, "[%s]: section [%s] takes no name", header,
                         kinds[i].name);
            ld->kind = SEC_INVALID;
            return;
        }
        ld->kind = kinds[i].kind;
        switch (ld->kind) {
        case SEC_EXPORT:
            config_export_begin(ld, argbuf, line);
            break;
        case SEC_IOTHREAD:
            begin_iothread(ld, argbuf, line);
            break;
        case SEC_NBD:
            ld->seen_nbd = true;
            break;
        case SEC_ISCSI:
            ld->seen_iscsi = true;
            break;
        case SEC_STATUS:
            ld->seen_status = true;
            break;
        default:
            break;
        }
        return;
    }

    const char *plain[sizeof kinds / sizeof kinds[0]];
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        plain[i] = kinds[i].name;
    }
    const char *near = config_error_nearest(word, plain,
                                            sizeof kinds / sizeof kinds[0]);
    if (near) {
        config_error(ld, line, "unknown section [%s]; did you mean [%s%s]?",
                     header, near,
                     strcmp(near, "export") == 0 ? " NAME" :
                     strcmp(near, "iothread") == 0 ? " N" : "");
    } else {
        config_error(ld, line,
                     "unknown section [%s]: expected [server], [poll], "
                     "[iothread N], [nbd], [iscsi], [status] or [export NAME]",
                     header);
    }
    ld->kind = SEC_INVALID;
}

/* --- Keys ----------------------------------------------------------- */

/* Record key as set in this section instance; false if set before. */
static bool
mark_seen(struct config_loader *ld, const char *key, unsigned line)
{
    /* Kind and index, not an address: the arrays behind ld->export and
     * ld->ovr move when they grow. */
    uint64_t index = ld->export ? (uint64_t)(ld->export - ld->cfg->exports)
                   : ld->ovr    ? (uint64_t)(ld->ovr - ld->ovrs)
                                : 0;
    uint64_t section = (uint64_t)ld->kind << 32 | index;

    for (size_t i = 0; i < ld->nseen; i++) {
        if (ld->seen[i].section == section && ld->seen[i].key == key) {
            config_error(ld, line, "[%s] %s: already set on line %u",
                         ld->section, key, ld->seen[i].line);
            return false;
        }
    }
    if (ld->nseen == ld->seen_cap) {
        size_t cap = ld->seen_cap ? ld->seen_cap * 2 : 32;
        struct config_seen_key *n = realloc(ld->seen, cap * sizeof *n);

        if (n == NULL) {
            ld->oom = true;
            return false;
        }
        ld->seen = n;
        ld->seen_cap = cap;
    }
    ld->seen[ld->nseen++] = (struct config_seen_key){ section, key, line };
    return true;
}

static int
loader_handler(void *opaque, const char *section, const char *key,
               const char *value)
{
    struct config_loader *ld = opaque;
    unsigned line = ld->line;
    const struct config_key *keys;

    if (ld->kind == SEC_INVALID) {
        return 1; /* the section header was reported already */
    }
    if (ld->kind == SEC_NONE) {
        config_error(ld, line,
                     "key '%s' is outside any section: put it under [server], "
                     "[poll], [export NAME], ...",
                     key);
        return 1;
    }
    if (config_keys_has_poll_params(ld->kind)) {
        const struct policy_param *param = policy_param_find(key);

        if (param) {
            char err[256];
            struct poll_params *target = ld->kind == SEC_POLL
                ? &ld->cfg->poll : &ld->ovr->params;

            if (!mark_seen(ld, param->key, line)) {
                return 1;
            }
            if (policy_param_set(target, param, value, err, sizeof err) < 0) {
                config_error(ld, line, "[%s] %s: %s", ld->section, key, err);
                return 1;
            }
            if (ld->ovr) {
                ld->ovr->set_mask |= 1u << (param - policy_params);
            }
            return 1;
        }
    }
    keys = config_keys_section(ld->kind);
    for (size_t i = 0; keys && keys[i].key; i++) {
        if (strcmp(keys[i].key, key) == 0) {
            void *base = ld->kind == SEC_EXPORT ? (void *)ld->export
                       : ld->kind == SEC_IOTHREAD ? (void *)ld->ovr
                       : (void *)ld->cfg;

            if (mark_seen(ld, keys[i].key, line)) {
                config_value_apply(ld, &keys[i], base, value, line);
            }
            return 1;
        }
    }
    config_error_unknown_key(ld, key, line);
    return 1;
}

/* --- Entry points --------------------------------------------------- */

static int
config_parse(struct config_loader *ld, struct config **out, char **errmsg)
{
    struct config *cfg = calloc(1, sizeof *cfg);
    int r;

    if (cfg == NULL) {
        return -ENOMEM;
    }
    config_keys_defaults(cfg);
    ld->cfg = cfg;
    cfg->file = strdup(ld->name);
    /* The status socket is on by default, in the working directory. */
    cfg->status_socket =
        config_load_absolute_path(ld, CONFIG_DEFAULT_STATUS_SOCKET);

    r = ini_parse_stream(loader_read_line, ld, loader_handler, ld);
    if (ld->read_errno) {
        int e = ld->read_errno;

        free(ld->ovrs);
        free(ld->seen);
        free(ld->errors);
        config_free(cfg);
        if (asprintf(errmsg, "%s: cannot read: %s\n", ld->name, strerror(e)) < 0) {
            *errmsg = NULL;
        }
        return -e;
    }
    if (r > 0) {
        config_error(ld, (unsigned)r,
                     "syntax error: expected [section], key = value, or a "
                     "comment starting with ; or #");
    } else if (r < 0) {
        config_error(ld, 0, "cannot parse: out of memory");
    }
    config_finish(ld);
    if (ld->oom && ld->nerrors == 0) {
        config_error(ld, 0, "out of memory while loading");
    }

    free(ld->ovrs);
    free(ld->seen);
    if (ld->nerrors) {
        config_free(cfg);
        *errmsg = ld->errors ? ld->errors : strdup("unknown error\n");
        return -EINVAL;
    }
    free(ld->errors);
    *out = cfg;
    return 0;
}

int
config_load(const char *path, struct config **out, char **errmsg)
{
    struct config_loader ld = { .name = path };
    CLEANUP_FCLOSE FILE *fp = fopen(path, "re");
    int r;

    if (fp == NULL) {
        r = -errno;
        if (asprintf(errmsg, "%s: cannot open: %s\n", path, strerror(-r)) < 0) {
            *errmsg = NULL;
        }
        return r;
    }
    ld.fp = fp;
    return config_parse(&ld, out, errmsg);
}

int
config_load_string(const char *name, const char *text, struct config **out,
                   char **errmsg)
{
    struct config_loader ld = { .name = name, .text = text };

    return config_parse(&ld, out, errmsg);
}

void
config_tls_free(struct config_tls *t)
{
    free(t->certificates);
    free(t->cert);
    free(t->key);
    free(t->ca);
    free(t->crl);
    free(t->psk_file);
    memset(t, 0, sizeof *t);
}

void
config_free(struct config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    for (size_t i = 0; i < cfg->nexports; i++) {
        struct config_export *e = &cfg->exports[i];

        free(e->name);
        free(e->backend);
        free(e->path);
        free(e->description);
        free(e->allow.entries);
        free(e->iqn);
        free(e->chap_username);
        free(e->chap_secret);
        free(e->chap_mutual_username);
        free(e->chap_mutual_secret);
        config_value_free_names(e->initiators);
        free(e->uri);
        free(e->url);
        free(e->initiator_name);
        free(e->rbd_pool);
        free(e->rbd_image);
        free(e->rbd_conf);
        free(e->rbd_id);
        free(e->rbd_keyring);
    }
    free(cfg->exports);
    free(cfg->iothread);
    free(cfg->nbd_listen.addr);
    free(cfg->nbd_default_export);
    config_tls_free(&cfg->nbd_tls);
    free(cfg->iscsi_listen.addr);
    free(cfg->iqn_prefix);
    free(cfg->iscsi_header_digest);
    free(cfg->iscsi_data_digest);
    free(cfg->iscsi_pr_state_dir);
    free(cfg->status_socket);
    free(cfg->pidfile);
    free(cfg->file);
    free(cfg);
}
