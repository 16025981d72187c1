/* SPDX-License-Identifier: MIT */
/*
 * Server start/stop and check helpers shared by the C protocol tests
 * (tests/nbd/test-nbd-*.c, tests/iscsi/test-iscsi-*.c).
 *
 * Each test starts its own polltgtd, the way nbdkit's C tests spawn their
 * server: a private mkdtemp directory holds the configuration, the Unix
 * socket and the server log; the daemon runs in the foreground with
 * --exit-with-parent (a killed test never leaves it behind) and is stopped
 * by PID with SIGTERM, and its exit status is checked.  Any failed check
 * prints the file:line, the reason and the server log, stops the server
 * and exits 1.  A missing prerequisite exits 77, never 0.  alarm() bounds
 * every test (liburing's per-test limit).
 *
 * Configuration text may use @DIR@ (the temporary directory) and @PORT@
 * (a free loopback TCP port, picked by binding port 0) placeholders.
 *
 * Define TEST_SERVER_DIR_PREFIX before including to name the temporary
 * directories ("polltgt-test" by default).  Everything is static: each
 * test is one .c file.
 */
#ifndef POLLTGT_TESTS_SERVER_TEST_HELPERS_H
#define POLLTGT_TESTS_SERVER_TEST_HELPERS_H

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TEST_SERVER_DIR_PREFIX
#define TEST_SERVER_DIR_PREFIX "polltgt-test"
#endif

#define T_EXIT_PASS 0
#define T_EXIT_FAIL 1
#define T_EXIT_SKIP 77

struct test_server {
    char dir[256];
    char sock[300];     /* DIR/nbd.sock */
    char conf[300];
    char log[300];
    int port;           /* 0 unless @PORT@ was used */
    pid_t pid;
};

/* The server a failure must print and stop (one per test at a time). */
static struct test_server *test_current_server;
static const char *test_name = "test";


static inline void test_server_dump_log(const struct test_server *s);
static inline void test_server_kill(struct test_server *s);
static inline void test_rmdir(const char *dir);
static inline bool test_server_log_has(const struct test_server *s,
                                       const char *needle);

static inline void test_fail_exit(void) __attribute__((noreturn));

static inline void
test_fail_exit(void)
{
    if (test_current_server) {
        test_server_dump_log(test_current_server);
        test_server_kill(test_current_server);
        test_rmdir(test_current_server->dir);
    }
    exit(T_EXIT_FAIL);
}

static inline void test_failf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static inline void
test_failf(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: FAIL: %s:%d: ", test_name, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    test_fail_exit();
}

#define FAIL(...) test_failf(__FILE__, __LINE__, __VA_ARGS__)
/* CHECK(cond, "what was expected", ...) */
#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond)) {                                                        \
            test_failf(__FILE__, __LINE__, __VA_ARGS__);                      \
        }                                                                     \
    } while (0)

/* A failed check that lets the test go on to find more; the test then
 * ends with test_finish(), which fails if any was recorded. */
static unsigned test_soft_failures;

#define SOFT_CHECK(cond, ...)                                                 \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s: FAIL: %s:%d: ", test_name, __FILE__,        \
                    __LINE__);                                                \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
            test_soft_failures++;                                             \
        }                                                                     \
    } while (0)

static inline void test_skip(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static inline void
test_skip(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: SKIP: ", test_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (test_current_server) {
        test_server_kill(test_current_server);
        test_rmdir(test_current_server->dir);
    }
    exit(T_EXIT_SKIP);
}

static inline void
test_on_alarm(int sig)
{
    static const char msg[] = "FAIL: test timed out (alarm)\n";

    (void)sig;
    if (write(2, msg, sizeof msg - 1) < 0) {
        /* nothing more to do */
    }
    /* Not async-signal-safe, but the test is over either way and the log
     * is what tells why. */
    test_fail_exit();
}

/* Call first: names the test and bounds its run time. */
static inline void
test_init(const char *name, unsigned timeout_s)
{
    test_name = name;
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, test_on_alarm);
    alarm(timeout_s);
}

static inline int64_t
test_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void
test_sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static inline int
test_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) < 0 ? 0 : 0;
}

static inline void
test_rmdir(const char *dir)
{
    if (dir[0]) {
        nftw(dir, test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    }
}

static inline void
test_server_dump_log(const struct test_server *s)
{
    FILE *fp = fopen(s->log, "r");
    char line[1024];

    if (fp == NULL) {
        return;
    }
    fprintf(stderr, "----- polltgtd log (%s) -----\n", s->log);
    while (fgets(line, sizeof line, fp)) {
        fputs(line, stderr);
    }
    fprintf(stderr, "----- end of log -----\n");
    fclose(fp);
}

static inline void
test_server_kill(struct test_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

/* Skip unless the daemon was built. */
static inline const char *
test_polltgtd_path(void)
{
    static char path[4096];
    const char *b = getenv("POLLTGT_BUILDDIR");

    if (b == NULL || b[0] == '\0') {
        test_skip("POLLTGT_BUILDDIR is not set (run through make check)");
    }
    snprintf(path, sizeof path, "%s/server/polltgtd", b);
    if (access(path, X_OK) < 0) {
        test_skip("%s is not executable", path);
    }
    return path;
}

/* A loopback TCP port free right now (bind port 0 and ask). */
static inline int
test_pick_port(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

    if (fd < 0) {
        test_skip("no TCP sockets: %s", strerror(errno));
    }
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
        close(fd);
        test_skip("cannot bind a loopback port: %s", strerror(errno));
    }
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

/* Replace every @DIR@ and @PORT@ of text; returns a malloc'd string. */
static inline char *
test_expand(const struct test_server *s, const char *text)
{
    size_t cap = strlen(text) * 2 + 4096, n = 0;
    char *out = malloc(cap);
    char port[16];

    snprintf(port, sizeof port, "%d", s->port);
    if (out == NULL) {
        FAIL("out of memory");
    }
    while (*text) {
        const char *rep = NULL;
        size_t skip = 0;

        if (strncmp(text, "@DIR@", 5) == 0) {
            rep = s->dir;
            skip = 5;
        } else if (strncmp(text, "@PORT@", 6) == 0) {
            rep = port;
            skip = 6;
        }
        if (rep) {
            size_t l = strlen(rep);

            if (n + l + 1 >= cap) {
                FAIL("configuration too long");
            }
            memcpy(out + n, rep, l);
            n += l;
            text += skip;
        } else {
            if (n + 2 >= cap) {
                FAIL("configuration too long");
            }
            out[n++] = *text++;
        }
    }
    out[n] = '\0';
    return out;
}

static inline int
test_connect_unix(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -1;
    }
    if (strlen(path) >= sizeof sun.sun_path) {
        close(fd);
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static inline int
test_connect_tcp(int port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        return -1;
    }
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Make a temporary directory (no server yet): for tests that need files
 * in it before the configuration is written. */
static inline void
test_server_prepare(struct test_server *s)
{
    const char *tmp = getenv("TMPDIR");

    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/" TEST_SERVER_DIR_PREFIX ".XXXXXX",
             tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(s->dir) == NULL) {
        test_skip("mkdtemp: %s", strerror(errno));
    }
    snprintf(s->sock, sizeof s->sock, "%s/nbd.sock", s->dir);
    snprintf(s->conf, sizeof s->conf, "%s/polltgt.ini", s->dir);
    snprintf(s->log, sizeof s->log, "%s/polltgtd.log", s->dir);
    test_current_server = s;
}

/*
 * Write the configuration and start polltgtd on it; returns when the
 * server accepts on the Unix socket (or on @PORT@ if the configuration
 * has no Unix listener), within 10 s.  Call test_server_prepare first if
 * files must exist before; otherwise pass a zeroed struct.
 */
static inline void
test_server_start(struct test_server *s, const char *conf_text)
{
    const char *daemon = test_polltgtd_path();
    bool use_port, has_unix;
    char *conf;
    FILE *fp;
    int64_t deadline;

    if (s->dir[0] == '\0') {
        test_server_prepare(s);
    }
    test_current_server = s;
    use_port = strstr(conf_text, "@PORT@") != NULL;
    has_unix = strstr(conf_text, "unix:") != NULL;
    if (use_port && s->port == 0) {
        s->port = test_pick_port();
    }
    conf = test_expand(s, conf_text);
    fp = fopen(s->conf, "w");
    if (fp == NULL || fputs(conf, fp) < 0 || fclose(fp) != 0) {
        FAIL("cannot write %s: %s", s->conf, strerror(errno));
    }
    free(conf);

    s->pid = fork();
    if (s->pid < 0) {
        FAIL("fork: %s", strerror(errno));
    }
    if (s->pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

        if (fd >= 0) {
            dup2(fd, 2);
        }
        alarm(0);
        signal(SIGALRM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        if (chdir(s->dir) < 0) {
            _exit(126);
        }
        execl(daemon, daemon, "--foreground", "--exit-with-parent", "-c",
              s->conf, (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", daemon, strerror(errno));
        _exit(127);
    }

    deadline = test_now_ms() + 10000;
    for (;;) {
        int status, fd;
        pid_t r = waitpid(s->pid, &status, WNOHANG);

        if (r == s->pid) {
            s->pid = 0;
            FAIL("polltgtd exited during start-up (status 0x%x)", (unsigned)status);
        }
        fd = has_unix ? test_connect_unix(s->sock) : test_connect_tcp(s->port);
        if (fd >= 0) {
            close(fd);
            break;
        }
        if (test_now_ms() > deadline) {
            FAIL("polltgtd did not accept connections within 10 s");
        }
        test_sleep_ms(20);
    }
}

/* End of main: fail if a soft check failed (printing the server log). */
static inline int
test_finish(void)
{
    if (test_soft_failures) {
        fprintf(stderr, "%s: %u check(s) failed\n", test_name,
                test_soft_failures);
        test_fail_exit();
    }
    return T_EXIT_PASS;
}

/* SIGTERM the server and reap it within timeout_ms; returns its wait
 * status, or -1 if it did not exit in time (then it is killed). */
static inline int
test_server_stop_status(struct test_server *s, int timeout_ms)
{
    int64_t deadline = test_now_ms() + timeout_ms;
    int status;

    if (s->pid <= 0) {
        return -1;
    }
    kill(s->pid, SIGTERM);
    for (;;) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);

        if (r == s->pid) {
            s->pid = 0;
            return status;
        }
        if (test_now_ms() > deadline) {
            return -1;
        }
        test_sleep_ms(10);
    }
}

/* Stop the server and require a clean exit 0, then remove the directory. */
static inline void
test_server_stop(struct test_server *s)
{
    int status = test_server_stop_status(s, 20000);

    CHECK(status != -1, "polltgtd did not exit within 20 s of SIGTERM");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "polltgtd did not exit 0 after SIGTERM (wait status 0x%x%s)",
          (unsigned)status,
          WIFSIGNALED(status) ? ", killed by a signal" : "");
    test_current_server = NULL;
    test_rmdir(s->dir);
    s->dir[0] = '\0';
}

/* Stop the server; a slow (over want_ms) or unclean exit is a soft
 * failure, so the test can go on.  Waits at most 45 s. */
static inline void
test_server_stop_soft(struct test_server *s, int want_ms, const char *what)
{
    int64_t t0 = test_now_ms(), t;
    int status = test_server_stop_status(s, 45000);

    t = test_now_ms() - t0;
    if (status == -1) {
        test_server_kill(s);
    }
    SOFT_CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "%s: polltgtd did not exit 0 after SIGTERM (wait status "
               "0x%x)", what, (unsigned)status);
    SOFT_CHECK(t <= want_ms, "%s: polltgtd took %" PRId64 " ms to exit "
               "after SIGTERM (want <= %d ms)", what, t, want_ms);
    if (test_soft_failures) {
        test_server_dump_log(s);
    }
    test_current_server = NULL;
    test_rmdir(s->dir);
    s->dir[0] = '\0';
}

/* The server is still running (not exited or crashed). */
static inline void
test_server_check_alive(struct test_server *s)
{
    int status;

    CHECK(s->pid > 0, "no server");
    if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
        s->pid = 0;
        FAIL("polltgtd died (wait status 0x%x)", (unsigned)status);
    }
}

/* The server log contains needle. */
static inline bool
test_server_log_has(const struct test_server *s, const char *needle)
{
    FILE *fp = fopen(s->log, "r");
    char line[2048];
    bool found = false;

    if (fp == NULL) {
        return false;
    }
    while (!found && fgets(line, sizeof line, fp)) {
        found = strstr(line, needle) != NULL;
    }
    fclose(fp);
    return found;
}

/* Deterministic test data: byte i of a pattern seeded with seed. */
static inline void
test_fill(void *buf, size_t len, uint64_t offset, uint32_t seed)
{
    uint8_t *p = buf;

    for (size_t i = 0; i < len; i++) {
        uint64_t x = (offset + i) * 0x9e3779b97f4a7c15ull + seed;

        x ^= x >> 29;
        p[i] = (uint8_t)(x ^ (x >> 17) ^ seed);
        if (p[i] == 0) {
            p[i] = 0x5a; /* never zero: holes must be told from data */
        }
    }
}

/* First differing index of a and b, or -1. */
static inline ssize_t
test_memdiff(const void *a, const void *b, size_t len)
{
    const uint8_t *x = a, *y = b;

    for (size_t i = 0; i < len; i++) {
        if (x[i] != y[i]) {
            return (ssize_t)i;
        }
    }
    return -1;
}

/* --- Raw sockets ------------------------------------------------------- */

/* Read exactly len bytes within timeout_ms.  Returns len, 0..len-1 on EOF
 * (bytes read before it), -ETIMEDOUT, or -errno. */
static inline ssize_t
test_read_full(int fd, void *buf, size_t len, int timeout_ms)
{
    size_t got = 0;
    int64_t deadline = test_now_ms() + timeout_ms;

    while (got < len) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int64_t left = deadline - test_now_ms();
        ssize_t n;

        if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
            return -ETIMEDOUT;
        }
        n = recv(fd, (char *)buf + got, len - got, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            return (ssize_t)got;
        }
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Send all of buf.  Returns 0 or -errno. */
static inline int
test_send_full(int fd, const void *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = send(fd, (const char *)buf + done, len - done,
                         MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        done += (size_t)n;
    }
    return 0;
}

/* The peer closes the connection within timeout_ms (EOF or reset),
 * whatever it sends before (*extra counts those bytes).  Returns false if
 * it stayed open. */
static inline bool
test_wait_close(int fd, int timeout_ms, size_t *extra)
{
    char buf[4096];
    int64_t deadline = test_now_ms() + timeout_ms;

    *extra = 0;
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int64_t left = deadline - test_now_ms();
        ssize_t n;

        if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
            return false;
        }
        n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n <= 0) {
            return true; /* EOF, reset or another error: closed */
        }
        *extra += (size_t)n;
    }
}

#endif /* POLLTGT_TESTS_SERVER_TEST_HELPERS_H */
