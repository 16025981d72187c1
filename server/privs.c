/* SPDX-License-Identifier: MIT */
/*
 * See privs.h.  The order is the one every privilege-dropping daemon
 * needs: supplementary groups first and the gid next (both need root),
 * the uid last; then proof that the change cannot be undone, because a
 * setuid that "worked" while a saved set-user-ID stayed 0 would let an
 * exploited process climb back.  glibc applies each call to every
 * thread of the process, so the I/O threads started before change too.
 */
#include <config.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "privs.h"

/* Whether the calling process still has any way back to root. */
static bool
privs_can_regain_root(uid_t uid)
{
    uid_t r, e, s;

    if (uid == 0) {
        return false; /* asked to stay root: nothing to regain */
    }
    if (setuid(0) == 0 || seteuid(0) == 0) {
        return true;
    }
    if (getresuid(&r, &e, &s) < 0 || r == 0 || e == 0 || s == 0) {
        return true;
    }
    return false;
}

int
privs_drop(long uid, long gid)
{
    char buf[4096];
    struct passwd pw, *res = NULL;
    gid_t g;

    if (uid < 0) {
        return 0;
    }
    /* The user's name gives its supplementary groups; its passwd entry
     * its primary group. */
    if (getpwuid_r((uid_t)uid, &pw, buf, sizeof buf, &res) != 0) {
        res = NULL;
    }
    if (res == NULL && gid < 0) {
        log_error("user %ld: no such user in the passwd database, so no "
                  "primary group: set [server] group too",
                  uid);
        return -ENOENT;
    }
    g = gid >= 0 ? (gid_t)gid : res->pw_gid;
    if (geteuid() != 0) {
        if (getuid() == (uid_t)uid && geteuid() == (uid_t)uid &&
            getgid() == g && getegid() == g) {
            return 0; /* already that user: nothing to drop */
        }
        log_error("cannot change to user %ld group %ld: not running as root",
                  uid, (long)g);
        return -EPERM;
    }
    if (res ? initgroups(res->pw_name, g) < 0 : setgroups(0, NULL) < 0) {
        int r = -errno;

        log_error("cannot set the supplementary groups of user %ld: %m", uid);
        return r;
    }
    if (setresgid(g, g, g) < 0) {
        int r = -errno;

        log_error("cannot change to group %ld: %m", (long)g);
        return r;
    }
    if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) {
        int r = -errno;

        log_error("cannot change to user %ld: %m", uid);
        return r;
    }
    if (privs_can_regain_root((uid_t)uid)) {
        log_error("dropped to user %ld but root can still be regained; "
                  "refusing to run",
                  uid);
        return -EPERM;
    }
    /* polltgtd never executes anything; should an attacker make it, a
     * setuid program must not give back what was just dropped. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        log_warn("cannot set no_new_privs: %m");
    }
    log_info("running as user %s (uid %ld), group %ld",
             res ? res->pw_name : "?", uid, (long)g);
    return 0;
}

void
privs_warn_if_root(long uid)
{
    if (uid < 0 && geteuid() == 0) {
        log_warn("running as root: set [server] user = (and group =) to drop "
                 "privileges once the listeners and exports are open");
    }
}
