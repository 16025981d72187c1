/* SPDX-License-Identifier: MIT */
/*
 * Becoming a daemon and the PID file.  The parent of a daemonising
 * polltgtd waits until the child says it is serving (or why it is not), so
 * the exit status of `polltgtd -c FILE` tells an init script or a test
 * whether startup worked, as nbdkit and sshd do.
 */
#ifndef POLLTGT_SERVER_DAEMON_H
#define POLLTGT_SERVER_DAEMON_H

#include "util/compiler.h"

/*
 * Fork into the background.  Returns 0 in the daemon; the original process
 * never returns: it exits 0 when the daemon calls daemon_ready(), 1 if the
 * daemon exits before that.  Returns -errno if forking failed.
 */
int daemon_start(void);

/* Tell the waiting parent that startup finished (no-op in the foreground). */
void daemon_ready(void);

/* Write our PID to path, refusing if another live polltgtd holds it.
 * Returns 0 or -errno (logged). */
int daemon_write_pidfile(const char *path) ATTR_NONNULL(1);
void daemon_remove_pidfile(const char *path) ATTR_NONNULL(1);

/* Ask the kernel to send SIGTERM when our parent exits (tests use this). */
int daemon_exit_with_parent(void);

#endif /* POLLTGT_SERVER_DAEMON_H */
