/* SPDX-License-Identifier: MIT */
/*
 * Shared harness of the I/O-thread loop tests (test-aio-*.c), #included
 * by each, not compiled on its own: every function is static inline.  The
 * tests run the real loop (server/aio/) on real file descriptors:
 * socketpairs, pipes, eventfds and an io_uring ring, with helper threads
 * that write "a little later" (DELAY_MS) so that a test can tell an event
 * found by polling from one found by the blocking wait.  Every run of the
 * loop is bounded by a guard timer (run_until), so a lost wake-up fails
 * the test instead of hanging it; the tcase timeouts are the second line
 * of defence.  Also here: a test fd handler that counts, echoes and
 * deletes itself or another on demand, and an io_uring request that
 * records its completion.
 */
#ifndef POLLTGT_TESTS_UNIT_AIO_TEST_HELPERS_H
#define POLLTGT_TESTS_UNIT_AIO_TEST_HELPERS_H

#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include "aio/aio.h"
#include "policy/policy.h"
#include "util/clock.h"

/* Generous: the sanitizer build on a loaded 2-core VM is slow. */
#define GUARD_MS 3000
#define LATE_BOUND_NS (150 * NS_PER_MS)
#define DELAY_MS 10

static inline struct poll_params
params_for(const struct policy_ops *ops)
{
    struct poll_params p;

    policy_params_default(&p);
    p.policy = ops;
    return p;
}

static inline struct aio_ctx *
ctx_new_policy(const struct policy_ops *ops, unsigned ring_entries)
{
    struct poll_params p = params_for(ops);
    struct aio_ctx *ctx = NULL;
    int r = aio_ctx_new(&ctx, &p, ring_entries);

    ck_assert_int_eq(r, 0);
    ck_assert_ptr_nonnull(ctx);
    return ctx;
}

static inline struct aio_stats_snapshot
stats_of(struct aio_ctx *ctx)
{
    struct aio_stats_snapshot s;

    aio_ctx_stats_read(ctx, &s);
    return s;
}

/* A timer that ends a run of the loop if the awaited event never comes. */
struct guard {
    struct aio_timer t;
    bool fired;
};

static inline void
guard_cb(void *opaque)
{
    ((struct guard *)opaque)->fired = true;
}

/* Run blocking iterations until *flag (set on the loop thread) or guard. */
static inline bool
run_until(struct aio_ctx *ctx, const bool *flag, int ms)
{
    struct guard g = { .fired = false };

    aio_timer_init(&g.t, guard_cb, &g);
    ck_assert_int_eq(aio_timer_mod(ctx, &g.t, clock_now_ns() + ms * NS_PER_MS),
                     0);
    while (!*flag && !g.fired) {
        aio_ctx_poll(ctx, true);
    }
    aio_timer_del(ctx, &g.t);
    return *flag;
}

/* Run fn(arg) on a helper thread after delay_ms. */
struct later {
    pthread_t th;
    int delay_ms;
    void (*fn)(void *);
    void *arg;
};

static inline void *
later_main(void *opaque)
{
    struct later *l = opaque;

    usleep((useconds_t)l->delay_ms * 1000);
    l->fn(l->arg);
    return NULL;
}

static inline void
later_start(struct later *l, int delay_ms, void (*fn)(void *), void *arg)
{
    l->delay_ms = delay_ms;
    l->fn = fn;
    l->arg = arg;
    ck_assert_int_eq(pthread_create(&l->th, NULL, later_main, l), 0);
}

static inline void
later_join(struct later *l)
{
    ck_assert_int_eq(pthread_join(l->th, NULL), 0);
}

static inline void
write_byte_fn(void *opaque)
{
    int fd = *(int *)opaque;
    char c = 'x';

    ck_assert_int_eq(write(fd, &c, 1), 1);
}

static inline void
write_eventfd_fn(void *opaque)
{
    int fd = *(int *)opaque;
    uint64_t one = 1;

    ck_assert_int_eq(write(fd, &one, sizeof one), (ssize_t)sizeof one);
}

static inline bool
fd_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* A test handler: reads whatever is there, counts, optionally echoes. */
struct th {
    struct aio_ctx *ctx;
    struct aio_handler *h;
    int fd;
    bool is_eventfd;
    bool echo;
    int reads, writes, polls_ready;
    unsigned char got[256];
    size_t ngot;
    size_t want;          /* done once ngot >= want */
    bool done;
    bool del_self;
    struct th *del_other; /* delete this one too */
    bool readd_self;      /* re-register the same fd after deleting */
};

static inline void
th_read(void *opaque)
{
    struct th *t = opaque;
    unsigned char buf[64];
    ssize_t n;

    t->reads++;
    if (t->is_eventfd) {
        uint64_t v;

        if (read(t->fd, &v, sizeof v) == (ssize_t)sizeof v) {
            t->ngot++;
        }
    } else {
        n = read(t->fd, buf, sizeof buf);
        for (ssize_t i = 0; i < n; i++) {
            if (t->ngot < sizeof t->got) {
                t->got[t->ngot] = buf[i];
            }
            t->ngot++;
        }
        if (t->echo && n > 0) {
            ck_assert_int_eq(write(t->fd, buf, (size_t)n), n);
        }
    }
    if (t->ngot >= t->want) {
        t->done = true;
    }
    if (t->del_other && t->del_other->h) {
        aio_handler_del(t->del_other->h);
        t->del_other->h = NULL;
    }
    if (t->del_self) {
        aio_handler_del(t->h);
        t->h = NULL;
    }
}

static inline void
th_write(void *opaque)
{
    struct th *t = opaque;

    t->writes++;
    ck_assert_int_eq(aio_handler_want_write(t->h, false), 0);
}

static inline bool
th_poll(void *opaque)
{
    return fd_readable(((struct th *)opaque)->fd);
}

static const struct aio_handler_ops th_ops_poll = {
    .read = th_read,
    .write = th_write,
    .poll = th_poll,
    .name = "test-poll",
};

static const struct aio_handler_ops th_ops_nopoll = {
    .read = th_read,
    .write = th_write,
    .name = "test-nopoll",
};

static inline void
th_add(struct th *t, struct aio_ctx *ctx, int fd, bool pollable)
{
    t->ctx = ctx;
    t->fd = fd;
    if (t->want == 0) {
        t->want = 1;
    }
    t->h = aio_handler_add(ctx, fd, pollable ? &th_ops_poll : &th_ops_nopoll,
                           t);
    ck_assert_ptr_nonnull(t->h);
}

static inline void
th_del(struct th *t)
{
    if (t->h) {
        aio_handler_del(t->h);
        t->h = NULL;
    }
}

/* The in_poll_set flag of the handler named name with fd (-1: any fd). */
static inline bool
in_poll_set(struct aio_ctx *ctx, const char *name, int fd)
{
    struct aio_handler_stats hs[16];
    size_t n = aio_ctx_handler_stats(ctx, hs, 16);

    ck_assert_uint_le(n, 16);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(hs[i].name, name) == 0 && (fd < 0 || hs[i].fd == fd)) {
            return hs[i].in_poll_set;
        }
    }
    ck_abort_msg("no handler %s", name);
    return false;
}

static inline void
socketpair_nb(int sv[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* An io_uring request recorded by the test. */
struct treq {
    struct aio_sqe_req req;
    int res;
    bool done;
    int64_t done_ns;
};

static inline void
treq_done(struct aio_sqe_req *req, int res)
{
    struct treq *t = (struct treq *)req;

    t->res = res;
    t->done = true;
    t->done_ns = clock_now_ns();
}

/* A flag set by a message run on the loop thread (aio_ctx_run). */
static inline void
run_msg_fn(void *opaque)
{
    *(bool *)opaque = true;
}

struct run_later {
    struct aio_ctx *ctx;
    bool *flag;
};

static inline void
aio_ctx_run_fn(void *opaque)
{
    struct run_later *rl = opaque;

    ck_assert_int_eq(aio_ctx_run(rl->ctx, run_msg_fn, rl->flag), 0);
}

/* The number of policies, for the loop tests over policy_table. */
static inline int
aio_test_npolicies(void)
{
    int npolicies = 0;

    while (policy_table[npolicies]) {
        npolicies++;
    }
    return npolicies;
}

/* Run the suite; the exit status is what make check expects. */
static inline int
aio_test_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* POLLTGT_TESTS_UNIT_AIO_TEST_HELPERS_H */
