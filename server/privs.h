/* SPDX-License-Identifier: MIT */
/*
 * Dropping root: polltgtd binds its ports, opens its backing files and
 * creates its status socket as the user it was started as, then becomes
 * [server] user / group for the rest of its life, so a client that finds
 * a bug in a protocol parser gets an unprivileged process, not root.
 * Files a reload would open later must be reachable by that user; the
 * exports (and so their paths) are restart-only for that reason too.
 */
#ifndef POLLTGT_SERVER_PRIVS_H
#define POLLTGT_SERVER_PRIVS_H

/*
 * Become uid, with group gid (-1: the user's primary group) and the
 * user's supplementary groups, and check that root cannot be regained.
 * uid < 0 does nothing.  Returns 0 or -errno (logged).
 */
int privs_drop(long uid, long gid);

/* Warn when running as root and no user is configured (uid < 0). */
void privs_warn_if_root(long uid);

#endif /* POLLTGT_SERVER_PRIVS_H */
