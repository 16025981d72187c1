/* SPDX-License-Identifier: MIT */
/*
 * The two systemd interfaces polltgtd speaks, without libsystemd: socket
 * activation (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES: listeners bound by
 * the service manager, named nbd or iscsi, used instead of binding the
 * configured addresses) and readiness notification (NOTIFY_SOCKET:
 * READY=1, RELOADING=1, STOPPING=1, STATUS=), so a Type=notify unit knows
 * when polltgtd is serving.  Outside systemd both are no-ops.
 */
#ifndef POLLTGT_SERVER_SYSTEMD_H
#define POLLTGT_SERVER_SYSTEMD_H

#include <stddef.h>

#include "util/compiler.h"

/*
 * Take the descriptors and the notify socket from the environment (once,
 * first thing in main, before forking) and remove the variables.  Returns
 * 0, or -errno with a message in err (a descriptor without the name nbd
 * or iscsi, not a listening stream socket, a malformed variable).
 */
int systemd_init(char *err, size_t errlen) ATTR_NONNULL(1);

/* How many inherited listeners are named name ("nbd", "iscsi"), and the
 * index'th of them (-1 if there is none). */
size_t systemd_listen_count(const char *name) ATTR_NONNULL(1);
int systemd_listen_fd(const char *name, size_t index) ATTR_NONNULL(1);

/* Send one notification ("READY=1\nSTATUS=..."); failures are logged,
 * never fatal. */
void systemd_notify(const char *fmt, ...) ATTR_FORMAT(1, 2);

/* RELOADING=1 with the timestamp Type=notify-reload asks for. */
void systemd_notify_reloading(void);

#endif /* POLLTGT_SERVER_SYSTEMD_H */
