/* SPDX-License-Identifier: MIT */
/*
 * The configuration: polltgt.ini parsed into one struct config.
 *
 * The loader builds a fresh struct config and either returns all of it or
 * nothing (a bad file changes nothing), so SIGHUP can load the new file
 * beside the running one and swap only when it is valid.  Every error
 * message has the form "FILE:LINE: [section] key: what was given: what is
 * accepted", and unknown sections and keys suggest the nearest valid name.
 *
 * The key tables in config-keys.c are the one list of keys; the poll
 * tunables come from policy.c's parameter table so the status socket
 * validates them the same way.  The loader's parts share
 * config-internal.h.
 */
#ifndef POLLTGT_SERVER_CONFIG_H
#define POLLTGT_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "log.h"
#include "policy/policy.h"
#include "util/compiler.h"
#include "util/parse.h"

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/polltgt/polltgt.ini"
#define CONFIG_MAX_IOTHREADS 256
#define CONFIG_NBD_DEFAULT_PORT "10809"
#define CONFIG_ISCSI_DEFAULT_PORT "3260"
#define CONFIG_DEFAULT_STATUS_SOCKET "polltgt.sock"
#define CONFIG_DEFAULT_IQN_PREFIX "iqn.2026-11.org.polltgt"

/* config_export.protocols */
#define CONFIG_PROTO_NBD   (1u << 0)
#define CONFIG_PROTO_ISCSI (1u << 1)
#define CONFIG_PROTO_ALL   (CONFIG_PROTO_NBD | CONFIG_PROTO_ISCSI)

struct config_addrs {
    struct parse_addr *addr;
    size_t n;
};

/* [nbd] tls */
enum config_tls_mode {
    CONFIG_TLS_OFF,
    CONFIG_TLS_ON,      /* offered: each client chooses */
    CONFIG_TLS_REQUIRE, /* nothing but STARTTLS and ABORT before TLS */
};

/* A front end's TLS settings.  After loading, tls-certificates DIR is
 * resolved into cert, key and (when present) ca and crl, so users of the
 * config see explicit paths only.  Paths are absolute; NULL: not given. */
struct config_tls {
    enum config_tls_mode mode;
    char *certificates; /* qemu's tls-creds-x509 directory layout */
    char *cert, *key, *ca, *crl;
    bool verify_peer;   /* require a client certificate signed by ca */
    char *psk_file;     /* username:hexkey lines */
};

struct config_iothread {
    struct poll_params params; /* [poll] with this thread's overrides */
    int cpu;                   /* -1: not pinned */
    unsigned line;             /* of its [iothread N] header; 0 if none */
};

struct config_export {
    char *name;
    unsigned line;        /* of its [export NAME] header */
    char *backend;        /* memory | file | null | nbd | iscsi | rbd */
    uint64_t size;        /* 0 when not given */
    char *path;           /* file backend, absolute */
    bool readonly;
    bool create;          /* file: create a sparse file of `size` */
    bool direct;          /* file: O_DIRECT */
    char *description;
    int iothread;         /* -1: any I/O thread */
    struct acl allow;     /* clients allowed; empty: everyone */
    unsigned protocols;   /* CONFIG_PROTO_*: which front ends serve it */
    enum config_tls_mode tls; /* NBD: ON (as [nbd] tls allows) or REQUIRE */

    /* iSCSI: the export is LUN `lun` of target `iqn`; exports naming the
     * same iqn are the LUNs of one target, whose LUN 0 export holds the
     * target's CHAP, initiators and allow settings */
    char *iqn;            /* explicit, or iqn-prefix:name (always set) */
    unsigned lun;
    unsigned block_size;  /* logical block size: 512 or 4096 */
    char *chap_username;  /* CHAP required when set (with chap_secret) */
    char *chap_secret;
    char *chap_mutual_username; /* the target's own name and secret ... */
    char *chap_mutual_secret;   /* ... for mutual CHAP */
    char **initiators;    /* initiator names allowed; none: every one */
    size_t ninitiators;

    /* gateway backends: the remote they re-export */
    char *uri;            /* nbd: nbd://, nbds://, nbd+unix:// ... */
    char *url;            /* iscsi: iscsi://[user%password@]host[:port]/iqn/lun */
    char *initiator_name; /* iscsi: our initiator name; NULL: a default */
    int64_t request_timeout_ns; /* 0: the backend's default (30 s) */
    /* rbd: the Ceph image it re-exports and how to reach the cluster */
    char *rbd_pool;
    char *rbd_image;
    char *rbd_conf;       /* ceph.conf; NULL: librados's search path */
    char *rbd_id;         /* client name without "client."; NULL: admin */
    char *rbd_keyring;    /* NULL: what ceph.conf says */
};

struct config {
    char *file;               /* the file it was read from */

    /* [server] */
    unsigned iothreads;       /* resolved: `auto` is the number of CPUs */
    bool iothreads_auto;
    enum log_level log_level;
    char *pidfile;            /* absolute, or NULL */
    long run_uid;             /* user = : -1 keeps the starting user */
    long run_gid;             /* group = : -1 is the user's primary group */
    int64_t drain_timeout_ns; /* a graceful stop waits this long for clients */

    /* [poll] and [iothread N]: one entry per I/O thread */
    struct poll_params poll;
    struct config_iothread *iothread; /* iothreads entries */

    /* [nbd] and [iscsi] */
    struct config_addrs nbd_listen;
    char *nbd_default_export;     /* for the empty name; NULL: the first */
    unsigned nbd_max_connections;
    unsigned nbd_max_connections_per_client; /* 0: no limit */
    uint64_t nbd_max_payload;     /* bytes */
    unsigned nbd_max_inflight;    /* requests per connection */
    int64_t nbd_handshake_timeout_ns;
    struct config_tls nbd_tls;
    struct config_addrs iscsi_listen;
    char *iqn_prefix;
    unsigned iscsi_max_connections;
    unsigned iscsi_max_connections_per_client; /* 0: no limit */
    int64_t iscsi_login_timeout_ns;
    int64_t iscsi_nop_interval_ns;  /* 0: never ping idle initiators */
    int64_t iscsi_nop_timeout_ns;
    unsigned iscsi_queue_depth;     /* commands per session (CmdSN window) */
    /* What the target offers and accepts in operational negotiation. */
    uint64_t iscsi_max_recv_data_segment_length;
    uint64_t iscsi_max_burst_length;
    uint64_t iscsi_first_burst_length;
    unsigned iscsi_max_outstanding_r2t;
    bool iscsi_immediate_data;
    bool iscsi_initial_r2t;
    char *iscsi_header_digest;      /* "None,CRC32C": preference order */
    char *iscsi_data_digest;
    char *iscsi_pr_state_dir;       /* APTPL reservations; NULL: not offered */

    /* [status] */
    char *status_socket;      /* absolute, or NULL when disabled */
    unsigned status_mode;
    long status_uid;          /* -1: leave as created */
    long status_gid;          /* -1: leave as created */

    /* [export NAME] in file order */
    struct config_export *exports;
    size_t nexports;
};

/*
 * Load path.  On success *out is a new config and 0 is returned.  On error
 * returns -EINVAL (bad contents) or -errno (cannot read), *out is untouched
 * and *errmsg is a malloc'd text with one line per problem (at most a few
 * dozen), each naming file and line.
 */
int config_load(const char *path, struct config **out, char **errmsg)
    ATTR_NONNULL(1, 2, 3);

/* The same from a string; name is used in messages. */
int config_load_string(const char *name, const char *text,
                       struct config **out, char **errmsg)
    ATTR_NONNULL(1, 2, 3, 4);

void config_free(struct config *cfg);
/* Free the paths of t (reload replaces a running config's TLS part). */
void config_tls_free(struct config_tls *t) ATTR_NONNULL(1);

/* Resolve relative paths in later loads against dir (main calls this with
 * the starting directory, before daemonising moves to /). */
void config_set_base_dir(const char *dir) ATTR_NONNULL(1);

const struct config_export *config_find_export(const struct config *cfg,
                                               const char *name)
    ATTR_NONNULL(1, 2);

/* The loader's message for an unknown key in [poll] (iothread < 0) or
 * [iothread N], for the status socket's `set`. */
void config_unknown_poll_key_message(int iothread, const char *key, char *buf,
                                     size_t len) ATTR_NONNULL(2, 3);

/* Every key of every section, for documentation tests: "section key". */
void config_foreach_key(void (*fn)(const char *section, const char *key,
                                   const char *dflt, void *opaque),
                        void *opaque) ATTR_NONNULL(1);

#endif /* POLLTGT_SERVER_CONFIG_H */
