/* SPDX-License-Identifier: MIT */
/*
 * Shared harness of the network fuzz targets (fuzz-nbd-*, fuzz-iscsi-*),
 * #included by each, not compiled alone: every function is static.
 *
 * A target runs the real front end, not a copy of its parser: one I/O
 * thread, the exports of an INI text (memory backends), and the NBD or
 * iSCSI server started without listeners.  Each input becomes one
 * client: a socketpair whose server end is handed to the front end the
 * way an accepted socket is (frontend_attach), the input written to the
 * client end (after a fixed preamble that gets a harness past the
 * handshake), then the write side shut, every reply read and thrown
 * away, and the harness waits until the server closed the socket and
 * freed the connection.  Half the inputs are cut in two at a byte of
 * their own (fuzz_split), the second part sent once the server has read
 * the first, so messages also arrive in pieces.  So the server's whole
 * path runs: receive buffer, state machine, backend requests, replies,
 * close and deferred free, under ASan and UBSan.  A server that neither
 * closes a client whose input ended nor frees it is a bug too: the
 * harness aborts after FUZZ_DEADLINE_NS, and libFuzzer keeps the input.
 */
#ifndef POLLTGT_TESTS_FUZZ_FUZZ_HELPERS_H
#define POLLTGT_TESTS_FUZZ_FUZZ_HELPERS_H

#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "export.h"
#include "frontend.h"
#include "iothread.h"
#include "log.h"
#include "server/config.h"
#include "util/clock.h"

/* Long enough for a slow sanitizer build on a loaded machine, well below
 * the handshake and login timeouts (10 s, 15 s) that would close the
 * connection by themselves. */
#define FUZZ_DEADLINE_NS (8 * NS_PER_SEC)

struct fuzz_env {
    struct config *cfg;
    struct iothread *thread;
    struct export_set exports;
    struct ev_loop *loop;  /* never runs: no listener needs it */
};

static void
fuzz_die(const char *what)
{
    fprintf(stderr, "fuzz harness: %s\n", what);
    abort();
}

/*
 * Once per process: the configuration (listeners dropped: clients come
 * through fuzz_client only), one I/O thread that blocks instead of
 * polling (the machine is shared), and the exports.  FUZZ_LOG=debug
 * (or info, warn) shows the server's log while a crash is reproduced;
 * by default only errors are logged, so hostile input does not spend
 * the run formatting warnings.
 */
static void
fuzz_env_init(struct fuzz_env *env, const char *ini)
{
    const char *lvl = getenv("FUZZ_LOG");
    enum log_level level = LOG_LEVEL_ERROR;
    char *err = NULL;

    if (lvl && log_level_parse(lvl, &level) < 0) {
        fuzz_die("FUZZ_LOG: want error, warn, info or debug");
    }
    log_set_sink(LOG_SINK_STDERR, "polltgt-fuzz");
    log_pin_level(level);
    if (config_load_string("fuzz.ini", ini, &env->cfg, &err) < 0) {
        fprintf(stderr, "fuzz harness: %s\n", err ? err : "bad configuration");
        abort();
    }
    env->cfg->nbd_listen.n = 0;
    env->cfg->iscsi_listen.n = 0;
    if (iothread_start(&env->thread, 0, &env->cfg->iothread[0].params, -1) < 0) {
        fuzz_die("cannot start the I/O thread");
    }
    if (export_set_open(&env->exports, env->cfg) < 0) {
        fuzz_die("cannot open the exports");
    }
    env->loop = ev_loop_new(EVFLAG_AUTO);
    if (env->loop == NULL) {
        fuzz_die("cannot create an event loop");
    }
}

static void
fuzz_barrier_reached(void *opaque)
{
    atomic_store((_Atomic bool *)opaque, true);
}

/*
 * Wait until the I/O thread has finished what the last client left it
 * (the free's message, handlers removed during a dispatch), so that
 * every allocation of the input is freed when it returns: libFuzzer
 * takes more mallocs than frees for a possible leak and runs the input
 * again under LeakSanitizer, which would halve the speed.  The barrier's
 * own message is freed just after it runs: the spin covers that.
 */
static void
fuzz_quiesce(struct fuzz_env *env)
{
    _Atomic bool reached = false;

    if (iothread_run(env->thread, fuzz_barrier_reached, &reached) < 0) {
        fuzz_die("out of memory for a message");
    }
    while (!atomic_load(&reached)) {
        sched_yield();
    }
    for (int i = 0; i < 4; i++) {
        sched_yield();
    }
}

/* Write what is left of the input; false once the server stopped
 * reading for good (it closed, and the rest is not wanted). */
static bool
fuzz_write_some(int fd, const uint8_t **p, size_t *left)
{
    ssize_t n = send(fd, *p, *left, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            return true;
        }
        if (errno == EPIPE || errno == ECONNRESET) {
            return false;
        }
        fuzz_die("send to the server failed");
    }
    *p += n;
    *left -= (size_t)n;
    return true;
}

/*
 * Where the input is cut in two (0: it is not), a function of its bytes
 * so that a run is repeatable: the second part is written only once the
 * server has read the first, so it finds a message cut at that byte and
 * must wait for the rest (half the inputs are sent whole).
 */
static size_t
fuzz_split(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (size_t i = 0; i < size; i++) {
        h = (h ^ data[i]) * 16777619u;
    }
    if (size < 2 || (h & 1)) {
        return 0;
    }
    return 1 + (h >> 1) % (size - 1);
}

/* The first part is written: has the server read it all (or given up
 * reading for a millisecond, closing or paused)? */
static bool
fuzz_drained(int fd, int64_t since)
{
    int queued = 0;

    if (ioctl(fd, SIOCOUTQ, &queued) < 0) {
        fuzz_die("SIOCOUTQ failed");
    }
    return queued == 0 || clock_now_ns() - since > NS_PER_MS;
}

/*
 * One client: pre (the harness's fixed preamble, may be empty) and then
 * data, as a byte stream to the front end fe, served on env's thread.
 * Returns once the server closed the connection and freed it.
 */
static void
fuzz_client(struct fuzz_env *env, struct frontend *fe, const uint8_t *pre,
            size_t prelen, const uint8_t *data, size_t size)
{
    static uint8_t sink[256 * 1024];
    struct sockaddr_storage peer = { .ss_family = AF_UNIX };
    size_t split = fuzz_split(data, size);
    const uint8_t *parts[3] = { pre, data, data + split };
    size_t lens[3] = { prelen, split, size - split };
    int part = 0;
    bool writing = true;
    int64_t drain_since = 0; /* part 1 written at, until drained */
    int64_t deadline = clock_now_ns() + FUZZ_DEADLINE_NS;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        fuzz_die("socketpair failed");
    }
    atomic_fetch_add(&fe->nconns, 1); /* as the accept path counts it */
    frontend_attach(fe, env->thread, sv[1], &peer, sizeof(sa_family_t));
    for (;;) {
        struct pollfd p = { .fd = sv[0], .events = POLLIN };
        int64_t now = clock_now_ns();
        int timeout = (int)((deadline - now) / NS_PER_MS) + 1;
        ssize_t n;

        while (writing && part < 3 && lens[part] == 0) {
            if (part == 1 && split > 0 && drain_since == 0) {
                drain_since = now;
            }
            if (drain_since && !fuzz_drained(sv[0], drain_since)) {
                break;
            }
            drain_since = 0;
            part++;
        }
        if (writing && part == 3) {
            shutdown(sv[0], SHUT_WR); /* the client has nothing more */
            writing = false;
        }
        if (drain_since) {
            timeout = 0; /* spin until the server has read part 1 */
        } else if (writing) {
            p.events |= POLLOUT;
        }
        if (now > deadline) {
            fuzz_die("the server neither closed nor read the connection");
        }
        if (poll(&p, 1, timeout) < 0 && errno != EINTR) {
            fuzz_die("poll failed");
        }
        if (p.revents & POLLOUT) {
            writing = fuzz_write_some(sv[0], &parts[part], &lens[part]);
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            n = recv(sv[0], sink, sizeof sink, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                break; /* the server closed its end */
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                fuzz_die("recv from the server failed");
            }
        }
    }
    close(sv[0]);
    /* The free is a message on the I/O thread, after the close. */
    while (atomic_load(&fe->nconns) != 0) {
        if (clock_now_ns() > deadline) {
            fuzz_die("the server closed the connection but never freed it");
        }
        usleep(20);
    }
    fuzz_quiesce(env);
}

#endif /* POLLTGT_TESTS_FUZZ_FUZZ_HELPERS_H */
