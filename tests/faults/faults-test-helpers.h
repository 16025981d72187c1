/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the fault and load tests (tests/faults/test-faults-*.c):
 * what an operator would look at to see that a server freed what a fault
 * took (its resident memory and open descriptors, from /proc), and the
 * check that follows every fault: another client is served correctly.
 *
 * The iSCSI check is there only when tests/iscsi/iscsi-test-helpers.h
 * was included first (it cannot be included with the NBD raw client of
 * tests/nbd/nbd-test-helpers.h).  Everything is static.
 */
#ifndef POLLTGT_TESTS_FAULTS_FAULTS_TEST_HELPERS_H
#define POLLTGT_TESTS_FAULTS_FAULTS_TEST_HELPERS_H

#include <dirent.h>
#include <libnbd.h>

#include "../server-test-helpers.h"

/*
 * Checks on the server's RSS, which mean nothing under AddressSanitizer:
 * its quarantine keeps freed memory (up to 256 MiB) on purpose.  There
 * they are only reported; the plain build of make check asserts them.
 */
#if defined(__SANITIZE_ADDRESS__)
#define FAULT_RSS_CHECK(cond, ...)                                            \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s: not checked under AddressSanitizer: ",      \
                    test_name);                                               \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)
#else
#define FAULT_RSS_CHECK(cond, ...) CHECK(cond, __VA_ARGS__)
#endif

/* VmRSS of pid in KiB, or -1. */
static inline long
fault_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *fp;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    fp = fopen(path, "r");
    if (fp == NULL) {
        return -1;
    }
    while (fgets(line, sizeof line, fp)) {
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) {
            break;
        }
    }
    fclose(fp);
    return kb;
}

/* Open descriptors of pid, or -1. */
static inline int
fault_fd_count(pid_t pid)
{
    char path[64];
    struct dirent *d;
    int n = 0;
    DIR *dir;

    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    dir = opendir(path);
    if (dir == NULL) {
        return -1;
    }
    while ((d = readdir(dir)) != NULL) {
        n += d->d_name[0] != '.';
    }
    closedir(dir);
    return n;
}

/* Wait up to timeout_ms for the server's descriptors to be back at want
 * (closing a connection is asynchronous); returns the last count. */
static inline int
fault_wait_fds(const struct test_server *s, int want, int timeout_ms)
{
    int64_t deadline = test_now_ms() + timeout_ms;
    int n;

    while ((n = fault_fd_count(s->pid)) != want
           && test_now_ms() < deadline) {
        test_sleep_ms(20);
    }
    return n;
}

/* The server's descriptors once they stop changing for 200 ms (within
 * 5 s): a baseline taken while a connection is still closing would be
 * one too many. */
static inline int
fault_settled_fds(const struct test_server *s)
{
    int64_t deadline = test_now_ms() + 5000;
    int n = fault_fd_count(s->pid), m;

    for (;;) {
        test_sleep_ms(200);
        m = fault_fd_count(s->pid);
        if (m == n || test_now_ms() > deadline) {
            return m;
        }
        n = m;
    }
}

/* Lines of the server log containing needle. */
static inline unsigned
fault_log_count(const struct test_server *s, const char *needle)
{
    FILE *fp = fopen(s->log, "r");
    char line[2048];
    unsigned n = 0;

    if (fp == NULL) {
        return 0;
    }
    while (fgets(line, sizeof line, fp)) {
        n += strstr(line, needle) != NULL;
    }
    fclose(fp);
    return n;
}

/* All lines of the server log. */
static inline unsigned
fault_log_lines(const struct test_server *s)
{
    return fault_log_count(s, "");
}

/*
 * Send all of buf on a non-blocking socket, for a client that floods the
 * server and never reads.  Returns 0, -ETIMEDOUT if the socket stayed
 * full for stall_ms (the server stopped reading), or -errno.
 */
static inline int
fault_send_until_stalled(int fd, const void *buf, size_t len, int stall_ms)
{
    int64_t stalled_since = 0;
    size_t done = 0;

    while (done < len) {
        ssize_t n = send(fd, (const char *)buf + done, len - done,
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (stalled_since == 0) {
                stalled_since = test_now_ms();
            } else if (test_now_ms() - stalled_since > stall_ms) {
                return -ETIMEDOUT;
            }
            test_sleep_ms(5);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -errno;
        }
        stalled_since = 0;
        done += (size_t)n;
    }
    return 0;
}

/* A new NBD client on export name writes 64 KiB at offset and reads it
 * back intact; what follows every fault. */
static inline void
fault_nbd_served(const struct test_server *s, const char *name,
                 uint64_t offset, uint32_t seed, const char *after)
{
    static uint8_t want[65536], got[65536];
    struct nbd_handle *nbd = nbd_create();

    test_server_check_alive((struct test_server *)s);
    CHECK(nbd != NULL, "nbd_create: %s", nbd_get_error());
    CHECK(nbd_set_export_name(nbd, name) == 0, "nbd_set_export_name");
    CHECK(nbd_connect_unix(nbd, s->sock) == 0, "after %s: NBD connect: %s",
          after, nbd_get_error());
    test_fill(want, sizeof want, offset, seed);
    CHECK(nbd_pwrite(nbd, want, sizeof want, offset, 0) == 0,
          "after %s: NBD write: %s", after, nbd_get_error());
    CHECK(nbd_pread(nbd, got, sizeof got, offset, 0) == 0,
          "after %s: NBD read: %s", after, nbd_get_error());
    CHECK(memcmp(want, got, sizeof want) == 0,
          "after %s: NBD read back other data", after);
    CHECK(nbd_shutdown(nbd, 0) == 0, "after %s: NBD shutdown: %s", after,
          nbd_get_error());
    nbd_close(nbd);
}

#ifdef POLLTGT_TESTS_ISCSI_ISCSI_TEST_HELPERS_H
/* The same over iSCSI: log in to name, write and read back 64 KiB at
 * lba (512-byte blocks), log out. */
static inline void
fault_iscsi_served(const struct test_server *s, const char *name,
                   uint64_t lba, uint32_t seed, const char *after)
{
    struct iscsi_test_target t;
    struct iscsi_context *ic;

    test_server_check_alive((struct test_server *)s);
    test_iscsi_export_target(s, name, &t);
    ic = test_iscsi_login(&t, NULL, after);
    test_iscsi_clear_ua(ic, 0, after);
    test_iscsi_roundtrip(ic, 0, lba, 65536, 512, seed, false, after);
    test_iscsi_logout(ic, after);
}
#endif

#endif /* POLLTGT_TESTS_FAULTS_FAULTS_TEST_HELPERS_H */
