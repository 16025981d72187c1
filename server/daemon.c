/* SPDX-License-Identifier: MIT */
/*
 * Double fork with a readiness pipe (see daemon.h).  The PID file is
 * created with O_EXCL semantics emulated by checking the old PID: a stale
 * file from a crashed daemon is replaced, a live one refuses the start.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "util/cleanup.h"

static int ready_fd = -1;

int
daemon_start(void)
{
    int pipefd[2];
    pid_t pid;
    char c = 0;

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        return -errno;
    }
    pid = fork();
    if (pid < 0) {
        return -errno;
    }
    if (pid > 0) {
        /* The original process: wait for the daemon to report. */
        close(pipefd[1]);
        while (read(pipefd[0], &c, 1) < 0 && errno == EINTR) {
        }
        _exit(c == 'R' ? 0 : 1);
    }
    close(pipefd[0]);
    if (setsid() < 0) {
        return -errno;
    }
    pid = fork();
    if (pid < 0) {
        return -errno;
    }
    if (pid > 0) {
        _exit(0); /* the session leader goes, so we never get a terminal */
    }
    ready_fd = pipefd[1];
    if (chdir("/") < 0) {
        return -errno;
    }
    umask(022);

    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO) {
            close(null);
        }
    }
    return 0;
}

void
daemon_ready(void)
{
    if (ready_fd >= 0) {
        char c = 'R';

        while (write(ready_fd, &c, 1) < 0 && errno == EINTR) {
        }
        close(ready_fd);
        ready_fd = -1;
    }
}

int
daemon_write_pidfile(const char *path)
{
    char buf[32];
    CLEANUP_CLOSE int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ssize_t n;
    int len;

    if (fd < 0) {
        int r = -errno;

        log_error("pidfile %s: cannot open: %m", path);
        return r;
    }
    n = read(fd, buf, sizeof buf - 1);
    if (n > 0) {
        long old;

        buf[n] = '\0';
        old = strtol(buf, NULL, 10);
        if (old > 0 && old != getpid() && kill((pid_t)old, 0) == 0) {
            log_error("pidfile %s: polltgtd already running as PID %ld", path,
                      old);
            return -EEXIST;
        }
    }
    len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len) {
        int r = -errno;

        log_error("pidfile %s: cannot write: %m", path);
        return r;
    }
    return 0;
}

void
daemon_remove_pidfile(const char *path)
{
    if (unlink(path) == 0 || errno == ENOENT) {
        return;
    }
    if (errno == EACCES || errno == EPERM) {
        /* After dropping privileges the directory may not be ours; an
         * empty file reads as "not running" at the next start. */
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

        if (fd >= 0) {
            close(fd);
            log_info("pidfile %s: cannot remove it (its directory is not "
                     "writable by this user); emptied it",
                     path);
            return;
        }
    }
    log_warn("pidfile %s: cannot remove: %m", path);
}

int
daemon_exit_with_parent(void)
{
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) {
        return -errno;
    }
    /* The parent may have gone already, before prctl took effect. */
    if (getppid() == 1) {
        return -ESRCH;
    }
    return 0;
}
