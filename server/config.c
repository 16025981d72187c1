/* SPDX-License-Identifier: MIT */
/*
 * polltgt.ini -> struct config (see config.h).
 *
 * inih tokenises the file; everything else is ours.  We feed inih through
 * our own line reader, which gives us what inih's stock build does not: the
 * line number of every key, every section header (even a section without
 * keys) and overlong lines.  Keys are described by tables, one per section;
 * the poll tunables come from policy.c's table.  Errors accumulate (up to
 * CONFIG_MAX_ERRORS) so an operator fixes a file in one pass, and the
 * struct config is returned only when there were none.
 */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <grp.h>
#include <pwd.h>

#include <ini.h>

#include "config.h"
#include "util/cleanup.h"
#include "util/clock.h"

#define CONFIG_MAX_ERRORS 20
#define CONFIG_MAX_LINE 200 /* inih's stack buffer (INI_MAX_LINE) */

enum section_kind {
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

enum key_type {
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
};

struct config_key {
    const char *key;
    enum key_type type;
    size_t offset; /* into struct config, config_export or config_iothread */
    int64_t min, max;
    const char *dflt; /* for documentation; NULL: no default */
};

/* What one [iothread N] section said, layered over [poll] at the end. */
struct iothread_override {
    unsigned line;
    struct poll_params params;
    uint32_t set_mask; /* bit i: policy_params[i] was given */
    int cpu;
};

#define CFG(field) offsetof(struct config, field)
#define EXP(field) offsetof(struct config_export, field)
#define IOT(field) offsetof(struct iothread_override, field)

static const struct config_key server_keys[] = {
    { "iothreads", KT_IOTHREADS, CFG(iothreads), 1, CONFIG_MAX_IOTHREADS, "1" },
    { "log-level", KT_LOGLEVEL, CFG(log_level), 0, 0, "info" },
    { "pidfile", KT_PATH, CFG(pidfile), 0, 0, NULL },
    { NULL },
};

/* Offsets into struct iothread_override: the section is layered later. */
static const struct config_key iothread_keys[] = {
    { "cpu", KT_INT, IOT(cpu), 0, 1023, NULL },
    { NULL },
};

static const struct config_key nbd_keys[] = {
    { "listen", KT_LISTEN, CFG(nbd_listen), 0, 0, "127.0.0.1:" CONFIG_NBD_DEFAULT_PORT },
    { "default-export", KT_STRING, CFG(nbd_default_export), 0, 0, NULL },
    { "max-connections", KT_UINT, CFG(nbd_max_connections), 1, 65536, "1024" },
    { "max-payload", KT_SIZE, CFG(nbd_max_payload), 4096, 32 << 20, "32M" },
    { "handshake-timeout", KT_DURATION, CFG(nbd_handshake_timeout_ns),
      NS_PER_MS, 3600 * NS_PER_SEC, "10s" },
    { NULL },
};

static const struct config_key iscsi_keys[] = {
    { "listen", KT_LISTEN, CFG(iscsi_listen), 0, 0, "127.0.0.1:" CONFIG_ISCSI_DEFAULT_PORT },
    { "iqn-prefix", KT_IQN, CFG(iqn_prefix), 0, 0, CONFIG_DEFAULT_IQN_PREFIX },
    { "max-connections", KT_UINT, CFG(iscsi_max_connections), 1, 65536, "1024" },
    { "login-timeout", KT_DURATION, CFG(iscsi_login_timeout_ns),
      NS_PER_MS, 3600 * NS_PER_SEC, "15s" },
    { "nop-interval", KT_DURATION, CFG(iscsi_nop_interval_ns),
      0, 3600 * NS_PER_SEC, "30s" },
    { "nop-timeout", KT_DURATION, CFG(iscsi_nop_timeout_ns),
      NS_PER_MS, 3600 * NS_PER_SEC, "15s" },
    { "queue-depth", KT_UINT, CFG(iscsi_queue_depth), 1, 1024, "128" },
    { "max-recv-data-segment-length", KT_SIZE,
      CFG(iscsi_max_recv_data_segment_length), 512, (16 << 20) - 1, "256K" },
    { "max-burst-length", KT_SIZE, CFG(iscsi_max_burst_length), 512,
      (16 << 20) - 1, "1M" },
    { "first-burst-length", KT_SIZE, CFG(iscsi_first_burst_length), 512,
      (16 << 20) - 1, "256K" },
    { "max-outstanding-r2t", KT_UINT, CFG(iscsi_max_outstanding_r2t), 1, 65535,
      "1" },
    { "immediate-data", KT_BOOL, CFG(iscsi_immediate_data), 0, 0, "yes" },
    { "initial-r2t", KT_BOOL, CFG(iscsi_initial_r2t), 0, 0, "no" },
    { "header-digest", KT_DIGEST, CFG(iscsi_header_digest), 0, 0, "none, crc32c" },
    { "data-digest", KT_DIGEST, CFG(iscsi_data_digest), 0, 0, "none, crc32c" },
    { NULL },
};

static const struct config_key status_keys[] = {
    { "socket", KT_SOCKET, CFG(status_socket), 0, 0, CONFIG_DEFAULT_STATUS_SOCKET },
    { "socket-mode", KT_MODE, CFG(status_mode), 0, 0, "0600" },
    { "socket-owner", KT_USER, CFG(status_uid), 0, 0, NULL },
    { "socket-group", KT_GROUP, CFG(status_gid), 0, 0, NULL },
    { NULL },
};

static const struct config_key export_keys[] = {
    { "backend", KT_BACKEND, EXP(backend), 0, 0, NULL },
    { "size", KT_SIZE, EXP(size), 0, 0, NULL },
    { "path", KT_PATH, EXP(path), 0, 0, NULL },
    { "readonly", KT_BOOL, EXP(readonly), 0, 0, "no" },
    { "create", KT_BOOL, EXP(create), 0, 0, "no" },
    { "direct", KT_BOOL, EXP(direct), 0, 0, "no" },
    { "description", KT_STRING, EXP(description), 0, 0, NULL },
    { "iothread", KT_INT, EXP(iothread), 0, CONFIG_MAX_IOTHREADS - 1, NULL },
    { "allow", KT_ACL, EXP(allow), 0, 0, NULL },
    { "protocols", KT_PROTOCOLS, EXP(protocols), 0, 0, "nbd, iscsi" },
    { "iqn", KT_IQN, EXP(iqn), 0, 0, NULL },
    { "lun", KT_UINT, EXP(lun), 0, 16383, "0" },
    { "block-size", KT_UINT, EXP(block_size), 512, 4096, "512" },
    { "chap-username", KT_STRING, EXP(chap_username), 0, 0, NULL },
    { "chap-secret", KT_SECRET, EXP(chap_secret), 0, 0, NULL },
    { "chap-mutual-username", KT_STRING, EXP(chap_mutual_username), 0, 0, NULL },
    { "chap-mutual-secret", KT_SECRET, EXP(chap_mutual_secret), 0, 0, NULL },
    { "initiators", KT_NAMES, EXP(initiators), 0, 0, NULL },
    { NULL },
};

/* The backends an export may name; backends/ implements them. */
static const char *const config_backends[] = { "memory", "file", "null", NULL };

static const char *const section_names[] = {
    "server", "poll", "iothread N", "nbd", "iscsi", "status", "export NAME",
};

struct seen_key {
    uint64_t section;    /* identity of the section instance */
    const char *key;     /* points into a key table */
    unsigned line;
};

struct loader {
    const char *name;
    struct config *cfg;

    /* line reader */
    FILE *fp;
    const char *text;
    unsigned line;

    /* current section */
    enum section_kind kind;
    char section[CONFIG_MAX_LINE];
    unsigned section_line;
    struct config_export *export;
    struct iothread_override *ovr;
    bool seen_nbd, seen_iscsi, seen_status;

    struct iothread_override *ovrs; /* indexed by thread id */
    size_t novrs;

    struct seen_key *seen;
    size_t nseen, seen_cap;

    char *errors;
    size_t errors_len;
    unsigned nerrors;
    bool oom;
    int read_errno;
};

static void loader_error(struct loader *ld, unsigned line, const char *fmt, ...)
    ATTR_FORMAT(3, 4);

static void
loader_error(struct loader *ld, unsigned line, const char *fmt, ...)
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

/* The closest of candidates to word, or NULL if none is close. */
static const char *
nearest(const char *word, const char *const *candidates, size_t n)
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

static char *
xstrdup(struct loader *ld, const char *s)
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
static char *
absolute_path(struct loader *ld, const char *path)
{
    char cwd[PATH_MAX];
    char *r;

    if (path[0] == '/') {
        return xstrdup(ld, path);
    }
    if (config_base_dir[0]) {
        snprintf(cwd, sizeof cwd, "%s", config_base_dir);
    } else if (getcwd(cwd, sizeof cwd) == NULL) {
        return xstrdup(ld, path);
    }
    if (asprintf(&r, "%s/%s", cwd, path) < 0) {
        ld->oom = true;
        return NULL;
    }
    return r;
}

/* --- The line reader ------------------------------------------------ */

static void begin_section(struct loader *ld, const char *header, unsigned line);

/*
 * inih's reader callback.  We count lines, strip leading white space (so
 * inih's multi-line continuation never applies: an indented line is an
 * ordinary line) and spot section headers before inih does.
 */
static char *
loader_read_line(char *str, int num, void *opaque)
{
    struct loader *ld = opaque;
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
        loader_error(ld, ld->line, "line too long: at most %d characters", num - 2);
        /* Hand inih a comment so it neither errors nor sees half a key. */
        snprintf(str, (size_t)num, ";\n");
        return str;
    }
    if (*p == '[') {
        char header[CONFIG_MAX_LINE];
        char *end = strchr(p, ']');
        const char *rest;

        if (end == NULL) {
            loader_error(ld, ld->line, "syntax error: section header without ']'");
            snprintf(str, (size_t)num, ";\n");
            ld->kind = SEC_INVALID;
            return str;
        }
        rest = end + 1 + strspn(end + 1, " \t\r\n");
        if (*rest != '\0' && *rest != ';' && *rest != '#') {
            loader_error(ld, ld->line,
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
        loader_error(ld, ld->line,
                     "syntax error: expected [section], key = value, or a "
                     "comment starting with ; or #");
        snprintf(str, (size_t)num, ";\n");
        return str;
    }
    snprintf(str, (size_t)num, "%s", p);
    return str;
}

/* --- Sections ------------------------------------------------------- */

static bool
export_name_valid(const char *name)
{
    if (*name == '\0' || strlen(name) > 200) {
        return false;
    }
    /* Names become iSCSI target names too: keep to what RFC 3722 allows. */
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("._-:", *p)) {
            return false;
        }
    }
    return true;
}

static void
begin_export(struct loader *ld, const char *name, unsigned line)
{
    struct config *cfg = ld->cfg;
    struct config_export *n;

    if (!export_name_valid(name)) {
        loader_error(ld, line,
                     "[export %s]: invalid export name '%s': expected 1 to 200 "
                     "letters, digits, '.', '_', '-' or ':'",
                     name, name);
        ld->kind = SEC_INVALID;
        return;
    }
    for (size_t i = 0; i < cfg->nexports; i++) {
        if (strcmp(cfg->exports[i].name, name) == 0) {
            loader_error(ld, line,
                         "[export %s]: export '%s' is already defined on line %u",
                         name, name, cfg->exports[i].line);
            ld->kind = SEC_INVALID;
            return;
        }
    }
    n = realloc(cfg->exports, (cfg->nexports + 1) * sizeof *n);
    if (n == NULL) {
        ld->oom = true;
        ld->kind = SEC_INVALID;
        return;
    }
    cfg->exports = n;
    ld->export = &n[cfg->nexports++];
    memset(ld->export, 0, sizeof *ld->export);
    ld->export->name = xstrdup(ld, name);
    ld->export->line = line;
    ld->export->iothread = -1;
    ld->export->protocols = CONFIG_PROTO_ALL;
    ld->export->block_size = 512;
}

static void
begin_iothread(struct loader *ld, const char *arg, unsigned line)
{
    int64_t id;

    if (parse_int64(arg, &id) < 0 || id < 0 || id >= CONFIG_MAX_IOTHREADS) {
        loader_error(ld, line,
                     "[iothread %s]: invalid I/O thread number '%s': expected "
                     "0 to %d",
                     arg, arg, CONFIG_MAX_IOTHREADS - 1);
        ld->kind = SEC_INVALID;
        return;
    }
    if ((size_t)id >= ld->novrs) {
        struct iothread_override *n =
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
begin_section(struct loader *ld, const char *header, unsigned line)
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
        enum section_kind kind;
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
            loader_error(ld, line, "[%s]: section needs a name: [%s]", header,
                         section_names[i]);
            ld->kind = SEC_INVALID;
            return;
        }
        if (!kinds[i].takes_arg && argbuf[0] != '\0') {
            loader_error(ld, line, "[%s]: section [%s] takes no name", header,
                         kinds[i].name);
            ld->kind = SEC_INVALID;
            return;
        }
        ld->kind = kinds[i].kind;
        switch (ld->kind) {
        case SEC_EXPORT:
            begin_export(ld, argbuf, line);
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
    const char *near = nearest(word, plain, sizeof kinds / sizeof kinds[0]);
    if (near) {
        loader_error(ld, line, "unknown section [%s]; did you mean [%s%s]?",
                     header, near,
                     strcmp(near, "export") == 0 ? " NAME" :
                     strcmp(near, "iothread") == 0 ? " N" : "");
    } else {
        loader_error(ld, line,
                     "unknown section [%s]: expected [server], [poll], "
                     "[iothread N], [nbd], [iscsi], [status] or [export NAME]",
                     header);
    }
    ld->kind = SEC_INVALID;
}

/* --- Keys ----------------------------------------------------------- */

static const struct config_key *
section_keys(enum section_kind kind)
{
    switch (kind) {
    case SEC_SERVER: return server_keys;
    case SEC_IOTHREAD: return iothread_keys;
    case SEC_NBD: return nbd_keys;
    case SEC_ISCSI: return iscsi_keys;
    case SEC_STATUS: return status_keys;
    case SEC_EXPORT: return export_keys;
    default: return NULL;
    }
}

static bool
section_has_poll_params(enum section_kind kind)
{
    return kind == SEC_POLL || kind == SEC_IOTHREAD;
}

/* Record key as set in this section instance; false if set before. */
static bool
mark_seen(struct loader *ld, const char *key, unsigned line)
{
    /* Kind and index, not an address: the arrays behind ld->export and
     * ld->ovr move when they grow. */
    uint64_t index = ld->export ? (uint64_t)(ld->export - ld->cfg->exports)
                   : ld->ovr    ? (uint64_t)(ld->ovr - ld->ovrs)
                                : 0;
    uint64_t section = (uint64_t)ld->kind << 32 | index;

    for (size_t i = 0; i < ld->nseen; i++) {
        if (ld->seen[i].section == section && ld->seen[i].key == key) {
            loader_error(ld, line, "[%s] %s: already set on line %u",
                         ld->section, key, ld->seen[i].line);
            return false;
        }
    }
    if (ld->nseen == ld->seen_cap) {
        size_t cap = ld->seen_cap ? ld->seen_cap * 2 : 32;
        struct seen_key *n = realloc(ld->seen, cap * sizeof *n);

        if (n == NULL) {
            ld->oom = true;
            return false;
        }
        ld->seen = n;
        ld->seen_cap = cap;
    }
    ld->seen[ld->nseen++] = (struct seen_key){ section, key, line };
    return true;
}

static void
set_string(struct loader *ld, char **field, char *value)
{
    free(*field);
    *field = value;
}

static void
apply_listen(struct loader *ld, const struct config_key *k,
             struct config_addrs *addrs, const char *value, unsigned line)
{
    CLEANUP_FREE char **items = NULL;
    int n = parse_list(value, &items);

    if (n < 0) {
        ld->oom = true;
        return;
    }
    if (n == 0) {
        loader_error(ld, line, "[%s] %s: empty value: expected one or more of %s",
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
            CLEANUP_FREE char *abs = absolute_path(ld, a[i].path);

            if (abs == NULL || strlen(abs) >= sizeof a[i].path) {
                r = -ERANGE;
            } else {
                strcpy(a[i].path, abs);
            }
        }
        if (r < 0) {
            loader_error(ld, line,
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

static void
config_free_names(char **names)
{
    for (size_t i = 0; names && names[i]; i++) {
        free(names[i]);
    }
    free(names);
}

/* A whole number in [k->min, k->max]; reports the error itself. */
static bool
ranged_int(struct loader *ld, const struct config_key *k, const char *value,
           unsigned line, int64_t *out)
{
    if (parse_int64(value, out) < 0 || *out < k->min || *out > k->max) {
        loader_error(ld, line,
                     "[%s] %s: invalid value '%s': expected a whole number "
                     "from %" PRId64 " to %" PRId64,
                     ld->section, k->key, value, k->min, k->max);
        return false;
    }
    return true;
}

/* The list-valued keys: protocols, digests, names. */
static void
apply_list_key(struct loader *ld, const struct config_key *k, void *field,
               const char *value, unsigned line)
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
        loader_error(ld, line, "[%s] %s: empty value", ld->section, k->key);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (k->type == KT_PROTOCOLS) {
            unsigned bit = strcmp(items[i], "nbd") == 0     ? CONFIG_PROTO_NBD
                         : strcmp(items[i], "iscsi") == 0   ? CONFIG_PROTO_ISCSI
                                                            : 0;
            if (bit == 0) {
                loader_error(ld, line,
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
                loader_error(ld, line, "[%s] %s: invalid value '%s': expected %s",
                             ld->section, k->key, value, CONFIG_DIGEST_ACCEPTS);
                return;
            }
            mask |= bit;
            snprintf(canon + strlen(canon), sizeof canon - strlen(canon), "%s%s",
                     i ? "," : "", bit == 1 ? "None" : "CRC32C");
        } else if (strlen(items[i]) > 223) {
            /* RFC 7143 6.1: iSCSI names are at most 223 bytes. */
            loader_error(ld, line, "[%s] %s: name '%s' is longer than 223 bytes",
                         ld->section, k->key, items[i]);
            return;
        }
    }
    if (k->type == KT_PROTOCOLS) {
        *(unsigned *)field = mask;
    } else if (k->type == KT_DIGEST) {
        set_string(ld, field, xstrdup(ld, canon));
    } else {
        char ***names = field;
        size_t *count = (size_t *)((char *)field + sizeof(char **));
        char **copy = calloc((size_t)n + 1, sizeof *copy);

        if (copy == NULL) {
            ld->oom = true;
            return;
        }
        for (int i = 0; i < n; i++) {
            copy[i] = xstrdup(ld, items[i]);
        }
        config_free_names(*names);
        *names = copy;
        *count = (size_t)n;
    }
}

static void
apply_key(struct loader *ld, const struct config_key *k, void *base,
          const char *value, unsigned line)
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
            loader_error(ld, line,
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
            loader_error(ld, line,
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
            loader_error(ld, line, "[%s] %s: empty value: expected a path",
                         ld->section, k->key);
            return;
        }
        if (k->type == KT_SOCKET && strcmp(value, "none") == 0) {
            set_string(ld, field, NULL);
            ld->seen_status = false; /* disabled: no default either */
            return;
        }
        if (k->type == KT_SOCKET) {
            char *abs = absolute_path(ld, value);

            if (abs && strlen(abs) >= sizeof(((struct parse_addr *)0)->path)) {
                loader_error(ld, line,
                             "[%s] %s: path '%s' is too long for a Unix socket "
                             "(at most 107 bytes once made absolute)",
                             ld->section, k->key, value);
                free(abs);
                return;
            }
            set_string(ld, field, abs);
            return;
        }
        set_string(ld, field, absolute_path(ld, value));
        return;
    case KT_STRING:
        set_string(ld, field, xstrdup(ld, value));
        return;
    case KT_LISTEN:
        apply_listen(ld, k, field, value, line);
        return;
    case KT_MODE:
        if (parse_mode(value, &mode) < 0) {
            loader_error(ld, line, "[%s] %s: invalid value '%s': expected %s",
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
            loader_error(ld, line, "[%s] %s: invalid value '%s': expected %s, "
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
            loader_error(ld, line,
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
            loader_error(ld, line,
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
            loader_error(ld, line, "[%s] %s: empty value: expected %s",
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
                loader_error(ld, line, "[%s] %s: invalid entry '%s': expected %s",
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
            loader_error(ld, line, "[%s] %s: invalid value '%s': expected %s",
                         ld->section, k->key, value, PARSE_BOOL_ACCEPTS);
            return;
        }
        *(bool *)field = b;
        return;
    case KT_BACKEND:
        for (size_t i = 0; config_backends[i]; i++) {
            if (strcmp(value, config_backends[i]) == 0) {
                set_string(ld, field, xstrdup(ld, value));
                return;
            }
        }
        loader_error(ld, line,
                     "[%s] %s: unknown backend '%s': expected memory, file or null",
                     ld->section, k->key, value);
        return;
    case KT_INT:
        if (ranged_int(ld, k, value, line, &i64)) {
            *(int *)field = (int)i64;
        }
        return;
    case KT_IQN:
        if (!iqn_valid(value)) {
            loader_error(ld, line,
                         "[%s] %s: invalid value '%s': expected an iSCSI name "
                         "prefix iqn.YYYY-MM.reversed.domain in lower case, e.g. "
                         "%s",
                         ld->section, k->key, value, CONFIG_DEFAULT_IQN_PREFIX);
            return;
        }
        set_string(ld, field, xstrdup(ld, value));
        return;
    case KT_PROTOCOLS:
    case KT_DIGEST:
    case KT_NAMES:
        apply_list_key(ld, k, field, value, line);
        return;
    case KT_SECRET: {
        size_t len = strlen(value);

        if (len < 12 || len > 255) {
            loader_error(ld, line,
                         "[%s] %s: a secret of %zu bytes: expected 12 to 255 "
                         "bytes (RFC 7143 asks for at least 96 bits)",
                         ld->section, k->key, len);
            return;
        }
        set_string(ld, field, xstrdup(ld, value));
        return;
    }
    }
}

/* "[section] unknown key ..." with the nearest valid key of kind. */
static void
unknown_key_message(enum section_kind kind, const char *section,
                    const char *key, char *buf, size_t len)
{
    const struct config_key *keys = section_keys(kind);
    const char *names[32];
    size_t n = 0;

    if (section_has_poll_params(kind)) {
        for (size_t i = 0; i < policy_nparams && n < 32; i++) {
            names[n++] = policy_params[i].key;
        }
    }
    for (size_t i = 0; keys && keys[i].key && n < 32; i++) {
        names[n++] = keys[i].key;
    }
    const char *near = nearest(key, names, n);
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

static void
unknown_key(struct loader *ld, const char *key, unsigned line)
{
    char msg[640];

    unknown_key_message(ld->kind, ld->section, key, msg, sizeof msg);
    loader_error(ld, line, "%s", msg);
}

static int
loader_handler(void *opaque, const char *section, const char *key,
               const char *value)
{
    struct loader *ld = opaque;
    unsigned line = ld->line;
    const struct config_key *keys;

    if (ld->kind == SEC_INVALID) {
        return 1; /* the section header was reported already */
    }
    if (ld->kind == SEC_NONE) {
        loader_error(ld, line,
                     "key '%s' is outside any section: put it under [server], "
                     "[poll], [export NAME], ...",
                     key);
        return 1;
    }
    if (section_has_poll_params(ld->kind)) {
        const struct policy_param *param = policy_param_find(key);

        if (param) {
            char err[256];
            struct poll_params *target = ld->kind == SEC_POLL
                ? &ld->cfg->poll : &ld->ovr->params;

            if (!mark_seen(ld, param->key, line)) {
                return 1;
            }
            if (policy_param_set(target, param, value, err, sizeof err) < 0) {
                loader_error(ld, line, "[%s] %s: %s", ld->section, key, err);
                return 1;
            }
            if (ld->ovr) {
                ld->ovr->set_mask |= 1u << (param - policy_params);
            }
            return 1;
        }
    }
    keys = section_keys(ld->kind);
    for (size_t i = 0; keys && keys[i].key; i++) {
        if (strcmp(keys[i].key, key) == 0) {
            void *base = ld->kind == SEC_EXPORT ? (void *)ld->export
                       : ld->kind == SEC_IOTHREAD ? (void *)ld->ovr
                       : (void *)ld->cfg;

            if (mark_seen(ld, keys[i].key, line)) {
                apply_key(ld, &keys[i], base, value, line);
            }
            return 1;
        }
    }
    unknown_key(ld, key, line);
    return 1;
}

/* --- After the whole file ------------------------------------------ */

static void
finish_export(struct loader *ld, struct config_export *e)
{
    char where[256];

    snprintf(where, sizeof where, "[export %s]", e->name);
    if (e->backend == NULL) {
        loader_error(ld, e->line,
                     "%s: missing key 'backend': expected memory, file or null",
                     where);
        return;
    }
    if (strcmp(e->backend, "file") == 0) {
        if (e->path == NULL) {
            loader_error(ld, e->line,
                         "%s: missing key 'path' (required by backend = file)",
                         where);
        }
        if (e->create && e->size == 0) {
            loader_error(ld, e->line,
                         "%s: missing key 'size' (required by create = yes)",
                         where);
        }
    } else {
        if (e->size == 0) {
            loader_error(ld, e->line,
                         "%s: missing key 'size' (required by backend = %s)",
                         where, e->backend);
        }
        if (e->path) {
            loader_error(ld, e->line,
                         "%s: key 'path' is only for backend = file, not %s",
                         where, e->backend);
        }
        if (e->create || e->direct) {
            loader_error(ld, e->line,
                         "%s: keys 'create' and 'direct' are only for backend "
                         "= file, not %s",
                         where, e->backend);
        }
    }
    if (e->block_size != 512 && e->block_size != 4096) {
        loader_error(ld, e->line, "%s: block-size = %u: expected 512 or 4096",
                     where, e->block_size);
    }
    if (e->size % e->block_size) {
        loader_error(ld, e->line,
                     "%s: size is not a multiple of block-size (%u)", where,
                     e->block_size);
    }
    if (!e->chap_username != !e->chap_secret) {
        loader_error(ld, e->line,
                     "%s: chap-username and chap-secret go together: set both "
                     "or neither", where);
    }
    if (!e->chap_mutual_username != !e->chap_mutual_secret) {
        loader_error(ld, e->line,
                     "%s: chap-mutual-username and chap-mutual-secret go "
                     "together: set both or neither", where);
    }
    if (e->chap_mutual_username && !e->chap_username) {
        loader_error(ld, e->line,
                     "%s: mutual CHAP needs chap-username and chap-secret too",
                     where);
    }
    if (e->chap_secret && e->chap_mutual_secret &&
        strcmp(e->chap_secret, e->chap_mutual_secret) == 0) {
        /* RFC 7143 12.1.3: the two directions must not share a secret. */
        loader_error(ld, e->line,
                     "%s: chap-secret and chap-mutual-secret must differ",
                     where);
    }
    if (e->iothread >= 0 && (unsigned)e->iothread >= ld->cfg->iothreads) {
        loader_error(ld, e->line,
                     "%s: iothread = %d, but iothreads = %u gives threads 0 to %u",
                     where, e->iothread, ld->cfg->iothreads,
                     ld->cfg->iothreads - 1);
    }
}

/* An export served over iSCSI as a LUN of a target shared with others:
 * LUN numbers unique, LUN 0 present, target settings on LUN 0 only. */
static void
finish_target_lun(struct loader *ld, const struct config_export *e)
{
    const struct config *cfg = ld->cfg;
    const struct config_export *lun0 = NULL;

    if (!(e->protocols & CONFIG_PROTO_ISCSI) || e->iqn == NULL) {
        return;
    }
    for (size_t j = 0; j < cfg->nexports; j++) {
        const struct config_export *o = &cfg->exports[j];

        if (o == e || !(o->protocols & CONFIG_PROTO_ISCSI) || o->iqn == NULL ||
            strcmp(o->iqn, e->iqn) != 0) {
            continue;
        }
        if (o->lun == 0) {
            lun0 = o;
        }
        if (o->lun == e->lun && o < e) {
            loader_error(ld, e->line,
                         "[export %s]: LUN %u of iSCSI target %s is already "
                         "[export %s]: give each export of the target its own "
                         "lun",
                         e->name, e->lun, e->iqn, o->name);
        }
    }
    if (e->lun == 0) {
        return;
    }
    if (lun0 == NULL) {
        loader_error(ld, e->line,
                     "[export %s]: lun = %u, but iSCSI target %s has no "
                     "export with lun = 0 (initiators need LUN 0)",
                     e->name, e->lun, e->iqn);
    } else if (e->chap_username || e->chap_mutual_username ||
               e->ninitiators) {
        loader_error(ld, e->line,
                     "[export %s]: CHAP and initiators of iSCSI target %s are "
                     "set on its LUN 0, [export %s]",
                     e->name, e->iqn, lun0->name);
    }
}

/* The line of a key given once in the file (0 if it was not). */
static unsigned
key_line(const struct loader *ld, const char *key)
{
    unsigned line = 0;

    for (size_t i = 0; i < ld->nseen; i++) {
        if (strcmp(ld->seen[i].key, key) == 0) {
            line = ld->seen[i].line;
        }
    }
    return line;
}

static void
loader_finish(struct loader *ld)
{
    struct config *cfg = ld->cfg;

    if (cfg->iothreads_auto) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);

        cfg->iothreads = n < 1 ? 1 : n > CONFIG_MAX_IOTHREADS
                                         ? CONFIG_MAX_IOTHREADS : (unsigned)n;
    }
    for (size_t id = 0; id < ld->novrs; id++) {
        if (ld->ovrs[id].line && id >= cfg->iothreads) {
            loader_error(ld, ld->ovrs[id].line,
                         "[iothread %zu]: there is no I/O thread %zu: "
                         "iothreads = %u gives threads 0 to %u",
                         id, id, cfg->iothreads, cfg->iothreads - 1);
        }
    }
    cfg->iothread = calloc(cfg->iothreads, sizeof *cfg->iothread);
    if (cfg->iothread == NULL) {
        ld->oom = true;
        return;
    }
    for (size_t id = 0; id < cfg->iothreads; id++) {
        struct config_iothread *t = &cfg->iothread[id];

        t->params = cfg->poll;
        t->cpu = -1;
        if (id < ld->novrs && ld->ovrs[id].line) {
            const struct iothread_override *o = &ld->ovrs[id];

            t->line = o->line;
            t->cpu = o->cpu;
            for (size_t i = 0; i < policy_nparams; i++) {
                if (o->set_mask & (1u << i)) {
                    size_t off = policy_params[i].offset;

                    if (policy_params[i].kind == POLICY_PARAM_POLICY) {
                        t->params.policy = o->params.policy;
                    } else {
                        *(int64_t *)((char *)&t->params + off) =
                            *(const int64_t *)((const char *)&o->params + off);
                    }
                }
            }
        }
    }
    for (size_t i = 0; i < cfg->nexports; i++) {
        finish_export(ld, &cfg->exports[i]);
    }
    if (ld->seen_nbd && cfg->nbd_listen.n == 0) {
        apply_listen(ld, &nbd_keys[0], &cfg->nbd_listen, nbd_keys[0].dflt, 0);
    }
    if (ld->seen_iscsi && cfg->iscsi_listen.n == 0) {
        apply_listen(ld, &iscsi_keys[0], &cfg->iscsi_listen, iscsi_keys[0].dflt, 0);
    }
    if (cfg->nbd_default_export &&
        config_find_export(cfg, cfg->nbd_default_export) == NULL) {
        loader_error(ld, key_line(ld, "default-export"),
                     "[nbd] default-export: there is no [export %s]",
                     cfg->nbd_default_export);
    }
    if (cfg->iqn_prefix == NULL) {
        cfg->iqn_prefix = xstrdup(ld, CONFIG_DEFAULT_IQN_PREFIX);
    }
    if (cfg->iscsi_header_digest == NULL) {
        cfg->iscsi_header_digest = xstrdup(ld, "None,CRC32C");
    }
    if (cfg->iscsi_data_digest == NULL) {
        cfg->iscsi_data_digest = xstrdup(ld, "None,CRC32C");
    }
    if (cfg->iscsi_first_burst_length > cfg->iscsi_max_burst_length) {
        loader_error(ld, key_line(ld, "first-burst-length"),
                     "[iscsi] first-burst-length (%" PRIu64 ") is larger than "
                     "max-burst-length (%" PRIu64 "): RFC 7143 forbids it",
                     cfg->iscsi_first_burst_length, cfg->iscsi_max_burst_length);
    }
    for (size_t i = 0; i < cfg->nexports && cfg->iqn_prefix; i++) {
        struct config_export *e = &cfg->exports[i];

        if (e->iqn == NULL) {
            char *iqn;

            if (asprintf(&iqn, "%s:%s", cfg->iqn_prefix, e->name) < 0) {
                ld->oom = true;
                return;
            }
            e->iqn = iqn;
        }
    }
    for (size_t i = 0; i < cfg->nexports; i++) {
        finish_target_lun(ld, &cfg->exports[i]);
    }
}

static void
config_defaults(struct config *cfg)
{
    cfg->iothreads = 1;
    cfg->log_level = LOG_LEVEL_INFO;
    policy_params_default(&cfg->poll);
    cfg->status_mode = 0600;
    cfg->status_uid = -1;
    cfg->status_gid = -1;
    cfg->nbd_max_connections = 1024;
    cfg->nbd_max_payload = 32 << 20;
    cfg->nbd_handshake_timeout_ns = 10 * NS_PER_SEC;
    cfg->iscsi_max_connections = 1024;
    cfg->iscsi_login_timeout_ns = 15 * NS_PER_SEC;
    cfg->iscsi_nop_interval_ns = 30 * NS_PER_SEC;
    cfg->iscsi_nop_timeout_ns = 15 * NS_PER_SEC;
    cfg->iscsi_queue_depth = 128;
    cfg->iscsi_max_recv_data_segment_length = 256 << 10;
    cfg->iscsi_max_burst_length = 1 << 20;
    cfg->iscsi_first_burst_length = 256 << 10;
    cfg->iscsi_max_outstanding_r2t = 1;
    cfg->iscsi_immediate_data = true;
    cfg->iscsi_initial_r2t = false;
}

static int
config_parse(struct loader *ld, struct config **out, char **errmsg)
{
    struct config *cfg = calloc(1, sizeof *cfg);
    int r;

    if (cfg == NULL) {
        return -ENOMEM;
    }
    config_defaults(cfg);
    ld->cfg = cfg;
    cfg->file = strdup(ld->name);
    /* The status socket is on by default, in the working directory. */
    cfg->status_socket = absolute_path(ld, CONFIG_DEFAULT_STATUS_SOCKET);

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
        loader_error(ld, (unsigned)r,
                     "syntax error: expected [section], key = value, or a "
                     "comment starting with ; or #");
    } else if (r < 0) {
        loader_error(ld, 0, "cannot parse: out of memory");
    }
    loader_finish(ld);
    if (ld->oom && ld->nerrors == 0) {
        loader_error(ld, 0, "out of memory while loading");
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
    struct loader ld = { .name = path };
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
    struct loader ld = { .name = name, .text = text };

    return config_parse(&ld, out, errmsg);
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
        config_free_names(e->initiators);
    }
    free(cfg->exports);
    free(cfg->iothread);
    free(cfg->nbd_listen.addr);
    free(cfg->nbd_default_export);
    free(cfg->iscsi_listen.addr);
    free(cfg->iqn_prefix);
    free(cfg->iscsi_header_digest);
    free(cfg->iscsi_data_digest);
    free(cfg->status_socket);
    free(cfg->pidfile);
    free(cfg->file);
    free(cfg);
}

const struct config_export *
config_find_export(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nexports; i++) {
        if (strcmp(cfg->exports[i].name, name) == 0) {
            return &cfg->exports[i];
        }
    }
    return NULL;
}

void
config_foreach_key(void (*fn)(const char *section, const char *key,
                              const char *dflt, void *opaque),
                   void *opaque)
{
    static const struct {
        const char *section;
        const struct config_key *keys;
        bool poll;
    } sections[] = {
        { "server", server_keys, false },
        { "poll", NULL, true },
        { "iothread N", iothread_keys, true },
        { "nbd", nbd_keys, false },
        { "iscsi", iscsi_keys, false },
        { "status", status_keys, false },
        { "export NAME", export_keys, false },
    };
    struct poll_params dflt;

    policy_params_default(&dflt);
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        if (sections[s].poll) {
            for (size_t i = 0; i < policy_nparams; i++) {
                char buf[64];

                policy_param_format(&dflt, &policy_params[i], buf, sizeof buf);
                fn(sections[s].section, policy_params[i].key, buf, opaque);
            }
        }
        for (size_t i = 0; sections[s].keys && sections[s].keys[i].key; i++) {
            fn(sections[s].section, sections[s].keys[i].key,
               sections[s].keys[i].dflt, opaque);
        }
    }
}
