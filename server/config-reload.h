/* SPDX-License-Identifier: MIT */
/*
 * Applying a re-read configuration (SIGHUP, the status socket's `reload`
 * and `set`).  Live keys (the poll tunables of each I/O thread, log-level,
 * the TLS credential files) are copied into the running config and handed to a hook that delivers
 * them to the I/O threads; every other difference is reported as taking
 * effect on restart and left as it runs, so the running config always
 * describes what is in force.
 */
#ifndef POLLTGT_SERVER_CONFIG_RELOAD_H
#define POLLTGT_SERVER_CONFIG_RELOAD_H

#include "config.h"

struct config_reload_hooks {
    /* Deliver new tunables to I/O thread id (main thread; the hook queues
     * the change to the thread, which applies it between iterations). */
    void (*set_poll_params)(unsigned id, const struct poll_params *params,
                            void *opaque);
    /* Measure I/O thread id's wake-up cost again (a reload, for a thread
     * whose max-ns is auto).  Optional. */
    void (*recalibrate)(unsigned id, void *opaque);
    /* Load the TLS credentials of next's [nbd] for new connections: every
     * reload re-reads the files, since a renewed certificate keeps its
     * path.  Returns 0, or -errno after logging (the running credentials
     * stay).  Optional. */
    int (*reload_tls)(const struct config *next, void *opaque);
    void *opaque;
};

/*
 * Compare next with running, log each difference with its old and new
 * value, apply the live ones to running (and through hooks).  Returns the
 * number of live changes applied.
 */
int config_reload_apply(struct config *running, const struct config *next,
                        const struct config_reload_hooks *hooks)
    ATTR_NONNULL(1, 2, 3);

/*
 * One poll tunable of one I/O thread (id), or of all (id < 0), as the
 * status socket's `set` does: validated by the same code as the INI file,
 * with the same message (written to err, prefixed "[iothread N] key: "),
 * applied to running and delivered through hooks, logged with old and new
 * values.  Returns 0, or -EINVAL (unknown key, bad value, no such thread).
 */
int config_reload_set(struct config *running, int id, const char *key,
                      const char *value, const struct config_reload_hooks *hooks,
                      char *err, size_t errlen) ATTR_NONNULL(1, 3, 4, 5, 6);

#endif /* POLLTGT_SERVER_CONFIG_RELOAD_H */
