/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the I/O-thread loop (server/aio/) on real file descriptors:
 * socketpairs, pipes, eventfds and an io_uring ring, with helper threads
 * that write "a little later" (10 ms) so that a test can tell an event found
 * by polling from one found by the blocking wait.  Every run of the loop is
 * bounded by a guard timer, so a lost wake-up fails the test instead of
 * hanging it; the tcase timeouts are the second line of defence.
 *
 * The test includes aio-internal.h to look at the notifier's and the ring's
 * eventfds: that is the only way to check that a notification was *not*
 * written while the loop polled.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <check.h>

#include "aio/aio-internal.h"
#include "aio/aio.h"
#include "policy/policy.h"
#include "util/clock.h"

/* Generous: the sanitizer build on a loaded 2-core VM is slow. */
#define GUARD_MS 3000
#define LATE_BOUND_NS (150 * NS_PER_MS)
#define DELAY_MS 10

/* --- Helpers ---------------------------------------------------------- */

static struct poll_params
params_for(const struct policy_ops *ops)
{
    struct poll_params p;

    policy_params_default(&p);
    p.policy = ops;
    return p;
}

static struct aio_ctx *
ctx_new_policy(const struct policy_ops *ops, unsigned ring_entries)
{
    struct poll_params p = params_for(ops);
    struct aio_ctx *ctx = NULL;
    int r = aio_ctx_new(&ctx, &p, ring_entries);

    ck_assert_int_eq(r, 0);
    ck_assert_ptr_nonnull(ctx);
    return ctx;
}

static struct aio_stats_snapshot
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

static void
guard_cb(void *opaque)
{
    ((struct guard *)opaque)->fired = true;
}

/* Run blocking iterations until *flag (set on the loop thread) or guard. */
static bool
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

static void *
later_main(void *opaque)
{
    struct later *l = opaque;

    usleep((useconds_t)l->delay_ms * 1000);
    l->fn(l->arg);
    return NULL;
}

static void
later_start(struct later *l, int delay_ms, void (*fn)(void *), void *arg)
{
    l->delay_ms = delay_ms;
    l->fn = fn;
    l->arg = arg;
    ck_assert_int_eq(pthread_create(&l->th, NULL, later_main, l), 0);
}

static void
later_join(struct later *l)
{
    ck_assert_int_eq(pthread_join(l->th, NULL), 0);
}

static void
write_byte_fn(void *opaque)
{
    int fd = *(int *)opaque;
    char c = 'x';

    ck_assert_int_eq(write(fd, &c, 1), 1);
}

static void
write_eventfd_fn(void *opaque)
{
    int fd = *(int *)opaque;
    uint64_t one = 1;

    ck_assert_int_eq(write(fd, &one, sizeof one), (ssize_t)sizeof one);
}

static bool
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

static void
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

static void
th_write(void *opaque)
{
    struct th *t = opaque;

    t->writes++;
    ck_assert_int_eq(aio_handler_want_write(t->h, false), 0);
}

static bool
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

static void
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

static void
th_del(struct th *t)
{
    if (t->h) {
        aio_handler_del(t->h);
        t->h = NULL;
    }
}

/* The in_poll_set flag of the handler named name with fd (-1: any fd). */
static bool
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

static void
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

static void
treq_done(struct aio_sqe_req *req, int res)
{
    struct treq *t = (struct treq *)req;

    t->res = res;
    t->done = true;
    t->done_ns = clock_now_ns();
}

/* --- Core read/write over every policy -------------------------------- */

#define PINGPONG_ROUNDS 50

struct peer {
    int fd;
    _Atomic int ok_rounds;
};

/* The peer sends one byte and waits for its echo, PINGPONG_ROUNDS times. */
static void
peer_pingpong(void *opaque)
{
    struct peer *p = opaque;
    struct timeval tv = { .tv_sec = 3 };

    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (int i = 0; i < PINGPONG_ROUNDS; i++) {
        unsigned char c = (unsigned char)i, e;

        if (write(p->fd, &c, 1) != 1 || read(p->fd, &e, 1) != 1 || e != c) {
            return;
        }
        atomic_fetch_add(&p->ok_rounds, 1);
    }
}

START_TEST(test_read_write_echo_under_each_policy)
{
    const struct policy_ops *ops = policy_table[_i];
    struct aio_ctx *ctx = ctx_new_policy(ops, 0);
    struct th t = { .echo = true, .want = PINGPONG_ROUNDS };
    struct peer p = { .ok_rounds = 0 };
    struct later l;
    struct aio_stats_snapshot s;
    uint64_t hist_sum = 0;
    int sv[2];

    socketpair_nb(sv);
    th_add(&t, ctx, sv[0], true);
    /* Write readiness must be delivered under every policy, busy too. */
    ck_assert_int_eq(aio_handler_want_write(t.h, true), 0);
    p.fd = sv[1];
    later_start(&l, 0, peer_pingpong, &p);
    ck_assert(run_until(ctx, &t.done, GUARD_MS * 2));
    later_join(&l);

    ck_assert_int_eq(atomic_load(&p.ok_rounds), PINGPONG_ROUNDS);
    for (size_t i = 0; i < PINGPONG_ROUNDS; i++) {
        ck_assert_uint_eq(t.got[i], (unsigned char)i);
    }
    ck_assert_int_eq(t.writes, 1);

    s = stats_of(ctx);
    ck_assert_str_eq(s.policy, ops->name);
    ck_assert_uint_gt(s.iterations, 0);
    for (size_t i = 0; i < AIO_STATS_HIST_BUCKETS; i++) {
        hist_sum += s.block_ns_hist[i];
    }
    ck_assert_uint_eq(hist_sum, s.iterations);
    if (ops == &policy_off_ops) {
        ck_assert_uint_eq(s.poll_hits, 0);
        ck_assert_uint_eq(s.polling_ns, 0);
        ck_assert_uint_gt(s.blocking_waits, 0);
    }
    if (ops == &policy_busy_ops) {
        /* A non-empty poll set and a timer: busy never sleeps. */
        ck_assert_uint_eq(s.blocking_waits, 0);
        ck_assert_uint_gt(s.poll_hits, 0);
        ck_assert_int_eq(s.poll_ns, POLICY_NS_UNBOUNDED);
    }

    th_del(&t);
    aio_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* --- Polling finds events without blocking ---------------------------- */

START_TEST(test_busy_poll_finds_socket_event_without_blocking)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_busy_ops, 0);
    struct th t = { 0 };
    struct aio_stats_snapshot before, after;
    struct later l;
    int sv[2];

    socketpair_nb(sv);
    th_add(&t, ctx, sv[0], true);
    aio_ctx_poll(ctx, false); /* enter polling: sources are now muted */
    before = stats_of(ctx);
    later_start(&l, DELAY_MS, write_byte_fn, &sv[1]);
    ck_assert(run_until(ctx, &t.done, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);

    ck_assert_uint_gt(after.poll_hits, before.poll_hits);
    ck_assert_uint_eq(after.blocking_waits, before.blocking_waits);
    ck_assert_uint_gt(after.polling_ns, before.polling_ns);
    ck_assert_int_eq(t.reads, 1);

    th_del(&t);
    aio_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

static void
run_msg_fn(void *opaque)
{
    *(bool *)opaque = true;
}

struct run_later {
    struct aio_ctx *ctx;
    bool *flag;
};

static void
aio_ctx_run_fn(void *opaque)
{
    struct run_later *rl = opaque;

    ck_assert_int_eq(aio_ctx_run(rl->ctx, run_msg_fn, rl->flag), 0);
}

START_TEST(test_notify_skips_eventfd_while_polling)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_busy_ops, 0);
    struct aio_stats_snapshot before, after;
    bool ran = false;
    struct run_later rl = { ctx, &ran };
    struct later l;

    aio_ctx_poll(ctx, false);
    ck_assert(!atomic_load(&ctx->notifier.armed));
    before = stats_of(ctx);
    later_start(&l, DELAY_MS, aio_ctx_run_fn, &rl);
    ck_assert(run_until(ctx, &ran, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);

    ck_assert_uint_gt(after.poll_hits, before.poll_hits);
    ck_assert_uint_eq(after.blocking_waits, before.blocking_waits);
    /* Found by the notifier's poll callback: the eventfd was never written. */
    ck_assert(!fd_readable(ctx->notifier.efd));
    aio_ctx_free(ctx);
}
END_TEST

/*
 * A notification that arrives while the notifier is muted writes no
 * eventfd; the loop must look at the poll callbacks once more after
 * re-arming, or it sleeps through it.  Sending from the loop thread itself
 * makes the race deterministic.
 */
START_TEST(test_rearm_checks_poll_callbacks_before_sleeping)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_busy_ops, 0);
    struct poll_params off = params_for(&policy_off_ops);
    bool ran = false;
    int64_t t0;

    aio_ctx_poll(ctx, false);
    ck_assert(!atomic_load(&ctx->notifier.armed));
    ck_assert_int_eq(aio_ctx_run(ctx, run_msg_fn, &ran), 0);
    ck_assert(!fd_readable(ctx->notifier.efd));
    aio_ctx_set_params(ctx, &off); /* next iteration goes straight to sleep */
    t0 = clock_now_ns();
    ck_assert(run_until(ctx, &ran, GUARD_MS));
    ck_assert_int_lt(clock_now_ns() - t0, GUARD_MS * NS_PER_MS / 2);
    ck_assert(atomic_load(&ctx->notifier.armed));
    aio_ctx_free(ctx);
}
END_TEST

START_TEST(test_busy_poll_finds_ring_completion_with_eventfd_muted)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_busy_ops, 0);
    struct treq tr = { .req.done = treq_done };
    struct aio_stats_snapshot before, after;
    struct io_uring_sqe *sqe;
    struct later l;
    char buf[8];
    int pfd[2];

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    sqe = aio_sqe_get(ctx, &tr.req);
    io_uring_prep_read(sqe, pfd[0], buf, sizeof buf, (uint64_t)-1);
    ck_assert_uint_eq(aio_ctx_sqe_inflight(ctx), 1);
    aio_ctx_poll(ctx, false); /* submits, and starts polling */
    before = stats_of(ctx);
    later_start(&l, DELAY_MS, write_byte_fn, &pfd[1]);
    ck_assert(run_until(ctx, &tr.done, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);

    ck_assert_int_eq(tr.res, 1);
    ck_assert_int_eq(buf[0], 'x');
    ck_assert_uint_eq(aio_ctx_sqe_inflight(ctx), 0);
    ck_assert_uint_gt(after.poll_hits, before.poll_hits);
    ck_assert_uint_eq(after.blocking_waits, before.blocking_waits);
    /* CQ eventfd notifications were off while polling. */
    ck_assert(!fd_readable(ctx->uring.efd));
    aio_ctx_free(ctx);
    close(pfd[0]);
    close(pfd[1]);
}
END_TEST

/* --- The block phase wakes on every kind of source -------------------- */

enum fd_kind { KIND_SOCKET, KIND_PIPE, KIND_EVENTFD, KIND_COUNT };

START_TEST(test_block_phase_wakes_on_socket_pipe_eventfd)
{
    enum fd_kind kind = (enum fd_kind)_i;
    struct aio_ctx *ctx = ctx_new_policy(&policy_off_ops, 0);
    struct th t = { 0 };
    struct aio_stats_snapshot before, after;
    struct later l;
    int rfd, wfd, fds[2];
    int64_t t0;

    switch (kind) {
    case KIND_SOCKET:
        socketpair_nb(fds);
        break;
    case KIND_PIPE:
        ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
        break;
    default:
        fds[0] = fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        ck_assert_int_ge(fds[0], 0);
        t.is_eventfd = true;
        break;
    }
    rfd = fds[0];
    wfd = fds[1];
    /* A poll callback too: with `off` it must never be what finds it. */
    th_add(&t, ctx, rfd, kind != KIND_PIPE);
    before = stats_of(ctx);
    t0 = clock_now_ns();
    later_start(&l, DELAY_MS, kind == KIND_EVENTFD ? write_eventfd_fn
                                                   : write_byte_fn, &wfd);
    ck_assert(run_until(ctx, &t.done, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);

    ck_assert_int_ge(clock_now_ns() - t0, DELAY_MS * NS_PER_MS);
    ck_assert_uint_gt(after.blocking_waits, before.blocking_waits);
    ck_assert_uint_gt(after.blocked_ns, before.blocked_ns);
    ck_assert_uint_eq(after.poll_hits, 0);
    ck_assert_int_eq(t.reads, 1);

    th_del(&t);
    aio_ctx_free(ctx);
    close(rfd);
    if (wfd != rfd) {
        close(wfd);
    }
}
END_TEST

START_TEST(test_block_phase_wakes_on_ring_completion)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_off_ops, 0);
    struct treq tr = { .req.done = treq_done };
    struct aio_stats_snapshot before, after;
    struct io_uring_sqe *sqe;
    struct later l;
    char buf[8];
    int pfd[2];

    ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
    sqe = aio_sqe_get(ctx, &tr.req);
    io_uring_prep_read(sqe, pfd[0], buf, sizeof buf, (uint64_t)-1);
    before = stats_of(ctx);
    later_start(&l, DELAY_MS, write_byte_fn, &pfd[1]);
    ck_assert(run_until(ctx, &tr.done, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);

    ck_assert_int_eq(tr.res, 1);
    ck_assert_uint_gt(after.blocking_waits, before.blocking_waits);
    ck_assert_uint_eq(after.poll_hits, 0);
    aio_ctx_free(ctx);
    close(pfd[0]);
    close(pfd[1]);
}
END_TEST

static void
notify_fn(void *opaque)
{
    aio_ctx_notify(opaque);
}

START_TEST(test_block_phase_wakes_on_notifier)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_off_ops, 0);
    struct aio_stats_snapshot before, after;
    bool ran = false;
    struct run_later rl = { ctx, &ran };
    struct guard g = { .fired = false };
    struct later l;
    bool progress;

    /* aio_ctx_run from another thread. */
    before = stats_of(ctx);
    later_start(&l, DELAY_MS, aio_ctx_run_fn, &rl);
    ck_assert(run_until(ctx, &ran, GUARD_MS));
    later_join(&l);
    after = stats_of(ctx);
    ck_assert_uint_gt(after.blocking_waits, before.blocking_waits);

    /* A bare aio_ctx_notify ends a blocking wait that has no timer... */
    aio_timer_init(&g.t, guard_cb, &g);
    ck_assert_int_eq(aio_timer_mod(ctx, &g.t,
                                   clock_now_ns() + GUARD_MS * NS_PER_MS), 0);
    later_start(&l, DELAY_MS, notify_fn, ctx);
    progress = aio_ctx_poll(ctx, true);
    later_join(&l);
    ck_assert(!g.fired);
    /* ...and is not progress: no user callback ran. */
    ck_assert(!progress);
    aio_timer_del(ctx, &g.t);
    aio_ctx_free(ctx);
}
END_TEST

/* --- io_uring requests ------------------------------------------------ */

START_TEST(test_uring_nop_and_file_read)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_weighted_ops, 8);
    struct treq nops[20];
    struct treq rd = { .req.done = treq_done };
    char path[] = "/tmp/test-aio-XXXXXX";
    char data[4096], buf[64];
    struct io_uring_sqe *sqe;
    bool all = false;
    int fd;

    /* More NOPs than the SQ holds: aio_sqe_get submits when it is full. */
    for (size_t i = 0; i < 20; i++) {
        nops[i] = (struct treq){ .req.done = treq_done, .res = -1 };
        sqe = aio_sqe_get(ctx, &nops[i].req);
        ck_assert_ptr_nonnull(sqe);
        io_uring_prep_nop(sqe);
    }
    ck_assert_uint_eq(aio_ctx_sqe_inflight(ctx), 20);
    ck_assert_int_ge(aio_ctx_submit(ctx), 0);
    for (int iter = 0; iter < 1000 && !all; iter++) {
        aio_ctx_poll(ctx, true);
        all = true;
        for (size_t i = 0; i < 20; i++) {
            all = all && nops[i].done;
        }
    }
    ck_assert(all);
    for (size_t i = 0; i < 20; i++) {
        ck_assert_int_eq(nops[i].res, 0);
    }
    ck_assert_uint_eq(aio_ctx_sqe_inflight(ctx), 0);

    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (char)('a' + i % 26);
    }
    ck_assert_int_eq(write(fd, data, sizeof data), (ssize_t)sizeof data);
    sqe = aio_sqe_get(ctx, &rd.req);
    io_uring_prep_read(sqe, fd, buf, sizeof buf, 1000);
    ck_assert(run_until(ctx, &rd.done, GUARD_MS));
    ck_assert_int_eq(rd.res, (int)sizeof buf);
    ck_assert(memcmp(buf, data + 1000, sizeof buf) == 0);

    /* Errors come back as -errno in res. */
    rd = (struct treq){ .req.done = treq_done };
    sqe = aio_sqe_get(ctx, &rd.req);
    io_uring_prep_read(sqe, 9999, buf, sizeof buf, 0);
    ck_assert(run_until(ctx, &rd.done, GUARD_MS));
    ck_assert_int_eq(rd.res, -EBADF);

    aio_ctx_free(ctx);
    close(fd);
}
END_TEST

/* --- Timers ----------------------------------------------------------- */

struct ttimer {
    struct aio_timer t;
    int id;
    int64_t deadline;
    int64_t fired_ns;
    int *order;
    int *norder;
};

static void
ttimer_cb(void *opaque)
{
    struct ttimer *tt = opaque;

    tt->fired_ns = clock_now_ns();
    tt->order[(*tt->norder)++] = tt->id;
}

START_TEST(test_timers_fire_on_time_in_deadline_order)
{
    const struct policy_ops *ops = policy_table[_i];
    struct aio_ctx *ctx = ctx_new_policy(ops, 0);
    /* ids are the final deadlines in ms */
    static const int ms[] = { 30, 10, 20, 15, 50 };
    struct ttimer tt[5];
    int order[8], norder = 0;
    bool done = false;
    int64_t now = clock_now_ns();

    for (size_t i = 0; i < 5; i++) {
        tt[i] = (struct ttimer){ .id = ms[i], .fired_ns = 0,
                                 .order = order, .norder = &norder };
        aio_timer_init(&tt[i].t, ttimer_cb, &tt[i]);
        tt[i].deadline = now + ms[i] * NS_PER_MS;
        ck_assert_int_eq(aio_timer_mod(ctx, &tt[i].t, tt[i].deadline), 0);
    }
    /* Delete the 15 ms one; move the 50 ms one to 5 ms. */
    aio_timer_del(ctx, &tt[3].t);
    aio_timer_del(ctx, &tt[3].t); /* harmless twice */
    tt[4].deadline = now + 5 * NS_PER_MS;
    tt[4].id = 5;
    ck_assert_int_eq(aio_timer_mod(ctx, &tt[4].t, tt[4].deadline), 0);

    for (int iter = 0; iter < 100000 && norder < 4; iter++) {
        aio_ctx_poll(ctx, true);
    }
    ck_assert_int_eq(norder, 4);
    ck_assert_int_eq(order[0], 5);
    ck_assert_int_eq(order[1], 10);
    ck_assert_int_eq(order[2], 20);
    ck_assert_int_eq(order[3], 30);
    for (size_t i = 0; i < 5; i++) {
        if (i == 3) {
            ck_assert_int_eq(tt[i].fired_ns, 0);
            continue;
        }
        ck_assert_int_ge(tt[i].fired_ns, tt[i].deadline); /* never early */
        ck_assert_int_lt(tt[i].fired_ns, tt[i].deadline + LATE_BOUND_NS);
    }
    /* Nothing armed: a guard run proves the loop still sleeps on timers. */
    ck_assert(!run_until(ctx, &done, 5));
    aio_ctx_free(ctx);
}
END_TEST

/* --- Messages --------------------------------------------------------- */

#define MSG_PER_SENDER 2000

struct msg_rx {
    int last[2];
    int count;
    bool in_order;
    bool done;
};

struct msg {
    struct msg_rx *rx;
    int sender, seq;
};

static void
msg_fn(void *opaque)
{
    struct msg *m = opaque;
    struct msg_rx *rx = m->rx;

    if (m->seq != rx->last[m->sender] + 1) {
        rx->in_order = false;
    }
    rx->last[m->sender] = m->seq;
    if (++rx->count == 2 * MSG_PER_SENDER) {
        rx->done = true;
    }
}

struct sender {
    pthread_t th;
    struct aio_ctx *ctx;
    struct msg *msgs;
};

static void *
sender_main(void *opaque)
{
    struct sender *s = opaque;

    for (int i = 0; i < MSG_PER_SENDER; i++) {
        if (aio_ctx_run(s->ctx, msg_fn, &s->msgs[i]) < 0) {
            return (void *)1;
        }
        if (i % 500 == 0) {
            usleep(1000); /* let the loop fall asleep now and then */
        }
    }
    return NULL;
}

START_TEST(test_messages_keep_order_per_sender)
{
    const struct policy_ops *ops = policy_table[_i];
    struct aio_ctx *ctx = ctx_new_policy(ops, 0);
    struct msg_rx rx = { .last = { -1, -1 }, .in_order = true };
    struct sender s[2];
    void *ret;

    for (int k = 0; k < 2; k++) {
        s[k].ctx = ctx;
        s[k].msgs = calloc(MSG_PER_SENDER, sizeof *s[k].msgs);
        ck_assert_ptr_nonnull(s[k].msgs);
        for (int i = 0; i < MSG_PER_SENDER; i++) {
            s[k].msgs[i] = (struct msg){ &rx, k, i };
        }
        ck_assert_int_eq(pthread_create(&s[k].th, NULL, sender_main, &s[k]),
                         0);
    }
    ck_assert(run_until(ctx, &rx.done, GUARD_MS * 2));
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(pthread_join(s[k].th, &ret), 0);
        ck_assert_ptr_null(ret);
        free(s[k].msgs);
    }
    ck_assert(rx.in_order);
    ck_assert_int_eq(rx.last[0], MSG_PER_SENDER - 1);
    ck_assert_int_eq(rx.last[1], MSG_PER_SENDER - 1);
    aio_ctx_free(ctx);
}
END_TEST

/* --- Idle handlers ---------------------------------------------------- */

START_TEST(test_idle_handlers_leave_poll_set_and_rejoin)
{
    struct poll_params p = params_for(&policy_weighted_ops);
    struct aio_ctx *ctx;
    struct th t = { 0 };
    struct aio_stats_snapshot before, after;
    bool nothing = false, ran = false;
    struct run_later rl;
    struct later l;
    int sv[2];

    p.idle_timeout_ms = 20;
    ck_assert_int_eq(aio_ctx_new(&ctx, &p, 0), 0);
    socketpair_nb(sv);
    th_add(&t, ctx, sv[0], true);
    ck_assert(in_poll_set(ctx, "test-poll", sv[0]));
    ck_assert(in_poll_set(ctx, "ring", -1));
    ck_assert(in_poll_set(ctx, "notifier", -1));

    /* 60 ms of nothing: everyone is idle. */
    ck_assert(!run_until(ctx, &nothing, 60));
    ck_assert(!in_poll_set(ctx, "test-poll", sv[0]));
    ck_assert(!in_poll_set(ctx, "ring", -1));
    ck_assert(!in_poll_set(ctx, "notifier", -1));

    /* An event brings the socket back; the others stay out. */
    write_byte_fn(&sv[1]);
    ck_assert(run_until(ctx, &t.done, GUARD_MS));
    ck_assert(in_poll_set(ctx, "test-poll", sv[0]));
    ck_assert(!in_poll_set(ctx, "ring", -1));

    /* An idle notifier is armed again: a message still wakes the loop. */
    rl = (struct run_later){ ctx, &ran };
    ck_assert(!run_until(ctx, &nothing, 60));
    ck_assert(!in_poll_set(ctx, "notifier", -1));
    later_start(&l, DELAY_MS, aio_ctx_run_fn, &rl);
    ck_assert(run_until(ctx, &ran, GUARD_MS));
    later_join(&l);
    ck_assert(in_poll_set(ctx, "notifier", -1));

    /* busy spins only while something is in the poll set: once all is
     * idle it blocks like any other policy. */
    p.policy = &policy_busy_ops;
    aio_ctx_set_params(ctx, &p);
    before = stats_of(ctx);
    ck_assert(!run_until(ctx, &nothing, 80));
    after = stats_of(ctx);
    ck_assert(!in_poll_set(ctx, "test-poll", sv[0]));
    ck_assert(!in_poll_set(ctx, "notifier", -1));
    ck_assert_uint_gt(after.blocking_waits, before.blocking_waits);

    th_del(&t);
    aio_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* --- Live parameter changes ------------------------------------------- */

static void
set_params_fn(void *opaque)
{
    struct run_later *rl = opaque;
    struct poll_params p = params_for(&policy_weighted_ops);

    p.max_ns = 10000;
    p.weight = 2;
    aio_ctx_set_params(rl->ctx, &p);
    *rl->flag = true;
}

struct tear_reader {
    pthread_t th;
    struct aio_ctx *ctx;
    _Atomic bool stop;
    _Atomic long torn, reads;
};

static void *
tear_reader_main(void *opaque)
{
    struct tear_reader *r = opaque;

    while (!atomic_load(&r->stop)) {
        struct aio_stats_snapshot s;
        bool a, b;

        aio_ctx_stats_read(r->ctx, &s);
        a = strcmp(s.policy, "classic") == 0 && s.params.max_ns == 1000
            && s.params.grow == 3 && s.params.policy == &policy_classic_ops;
        b = strcmp(s.policy, "per-handler") == 0 && s.params.max_ns == 2000
            && s.params.grow == 5
            && s.params.policy == &policy_per_handler_ops;
        if (!a && !b) {
            atomic_fetch_add(&r->torn, 1);
        }
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

START_TEST(test_set_params_changes_policy_live)
{
    struct poll_params p = params_for(&policy_classic_ops);
    struct poll_params pa, pb;
    struct aio_ctx *ctx;
    struct th t = { .want = 1000 };
    struct aio_handler_stats hs[8];
    struct aio_stats_snapshot s;
    bool set = false;
    struct run_later rl;
    struct tear_reader tr = { .stop = false, .torn = 0, .reads = 0 };
    size_t n;
    int sv[2];

    ck_assert_int_eq(aio_ctx_new(&ctx, &p, 0), 0);
    socketpair_nb(sv);
    th_add(&t, ctx, sv[0], true);

    /* Events that are always already there: classic grows its window. */
    for (int i = 0; i < 10; i++) {
        write_byte_fn(&sv[1]);
        aio_ctx_poll(ctx, true);
    }
    s = stats_of(ctx);
    ck_assert_str_eq(s.policy, "classic");
    ck_assert_int_gt(s.poll_ns, 0);
    ck_assert_uint_gt(s.grows, 0);

    /* Change through a message from another thread, as the daemon does. */
    rl = (struct run_later){ ctx, &set };
    ck_assert_int_eq(aio_ctx_run(ctx, set_params_fn, &rl), 0);
    ck_assert(run_until(ctx, &set, GUARD_MS));
    s = stats_of(ctx);
    ck_assert_str_eq(s.policy, "weighted");
    ck_assert_int_eq(s.params.max_ns, 10000);
    ck_assert_int_eq(s.params.weight, 2);
    ck_assert_int_eq(s.poll_ns, 0); /* the window was reset */
    ck_assert_int_eq(aio_ctx_params(ctx)->max_ns, 10000);
    n = aio_ctx_handler_stats(ctx, hs, 8);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(hs[i].window_ns, 0);
    }

    /* busy: the window is unbounded at once. */
    p = params_for(&policy_busy_ops);
    aio_ctx_set_params(ctx, &p);
    s = stats_of(ctx);
    ck_assert_str_eq(s.policy, "busy");
    ck_assert_int_eq(s.poll_ns, POLICY_NS_UNBOUNDED);

    /* Readers on another thread never see half of a change. */
    pa = params_for(&policy_classic_ops);
    pa.max_ns = 1000;
    pa.grow = 3;
    pb = params_for(&policy_per_handler_ops);
    pb.max_ns = 2000;
    pb.grow = 5;
    aio_ctx_set_params(ctx, &pa);
    tr.ctx = ctx;
    ck_assert_int_eq(pthread_create(&tr.th, NULL, tear_reader_main, &tr), 0);
    for (int i = 0; i < 20000 || atomic_load(&tr.reads) < 1000; i++) {
        aio_ctx_set_params(ctx, (i & 1) ? &pa : &pb);
    }
    atomic_store(&tr.stop, true);
    ck_assert_int_eq(pthread_join(tr.th, NULL), 0);
    ck_assert_int_eq(atomic_load(&tr.torn), 0);

    th_del(&t);
    aio_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(test_policy_off_never_counts_poll_hits)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_off_ops, 0);
    struct th t = { .want = 1000 };
    struct aio_stats_snapshot s;
    int sv[2];

    socketpair_nb(sv);
    th_add(&t, ctx, sv[0], true);
    for (int i = 0; i < 50; i++) {
        write_byte_fn(&sv[1]);
        ck_assert(aio_ctx_poll(ctx, true));
    }
    ck_assert_int_eq(t.reads, 50);
    s = stats_of(ctx);
    ck_assert_uint_eq(s.poll_hits, 0);
    ck_assert_uint_eq(s.poll_misses, 0);
    ck_assert_uint_eq(s.polling_ns, 0);
    ck_assert_int_eq(s.poll_ns, 0);
    ck_assert_uint_ge(s.blocking_waits, 50);

    th_del(&t);
    aio_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* --- Deleting handlers from callbacks --------------------------------- */

START_TEST(test_delete_handler_from_its_own_callback)
{
    const struct policy_ops *ops = policy_table[_i];
    struct aio_ctx *ctx = ctx_new_policy(ops, 0);
    struct th a = { 0 }, b = { 0 };
    struct aio_handler *dup;
    int sa[2], sb[2];

    socketpair_nb(sa);
    socketpair_nb(sb);
    th_add(&a, ctx, sa[0], true);
    th_add(&b, ctx, sb[0], false);

    /* Registering an fd twice is refused. */
    errno = 0;
    dup = aio_handler_add(ctx, sa[0], &th_ops_nopoll, &a);
    ck_assert_ptr_null(dup);
    ck_assert_int_eq(errno, EEXIST);

    /* Both ready in the same iteration; whichever runs first deletes
     * itself and the other, which must then not run. */
    a.del_self = b.del_self = true;
    a.del_other = &b;
    b.del_other = &a;
    write_byte_fn(&sa[1]);
    write_byte_fn(&sb[1]);
    usleep(1000);
    ck_assert(aio_ctx_poll(ctx, true));
    ck_assert_int_eq(a.reads + b.reads, 1);
    ck_assert_ptr_null(a.h);
    ck_assert_ptr_null(b.h);
    ck_assert_uint_eq(aio_ctx_handler_stats(ctx, NULL, 0), 2); /* internal */

    /* The fd can be registered again; the loop goes on. */
    a = (struct th){ 0 };
    th_add(&a, ctx, sa[0], true);
    write_byte_fn(&sa[1]);
    ck_assert(run_until(ctx, &a.done, GUARD_MS));
    th_del(&a);

    aio_ctx_free(ctx);
    close(sa[0]);
    close(sa[1]);
    close(sb[0]);
    close(sb[1]);
}
END_TEST

/* --- Bottom halves ----------------------------------------------------- */

struct bh_state {
    struct aio_ctx *ctx;
    struct aio_bh bh, chained;
    int fd;
    int reads;
    int runs, chained_runs;
    int reads_seen;        /* reads when the bottom half ran */
};

static void
bh_chained_cb(void *opaque)
{
    struct bh_state *st = opaque;

    st->chained_runs++;
}

static void
bh_cb(void *opaque)
{
    struct bh_state *st = opaque;

    st->runs++;
    st->reads_seen = st->reads;
    aio_bh_schedule(st->ctx, &st->chained); /* runs in the same pass */
}

static void
bh_read(void *opaque)
{
    struct bh_state *st = opaque;
    char c;

    if (read(st->fd, &c, 1) == 1) {
        st->reads++;
    }
    /* Scheduled twice: runs once, after the handlers. */
    aio_bh_schedule(st->ctx, &st->bh);
    aio_bh_schedule(st->ctx, &st->bh);
}

static const struct aio_handler_ops bh_ops = {
    .read = bh_read,
    .name = "test-bh",
};

START_TEST(test_bottom_halves_run_once_after_handlers)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_off_ops, 0);
    struct bh_state st = { .ctx = ctx };
    struct aio_handler *h;
    int sv[2];

    socketpair_nb(sv);
    st.fd = sv[0];
    aio_bh_init(&st.bh, bh_cb, &st);
    aio_bh_init(&st.chained, bh_chained_cb, &st);
    h = aio_handler_add(ctx, sv[0], &bh_ops, &st);
    ck_assert_ptr_nonnull(h);

    ck_assert_int_eq(write(sv[1], "x", 1), 1);
    ck_assert(aio_ctx_poll(ctx, true));
    ck_assert_int_eq(st.reads, 1);
    ck_assert_int_eq(st.runs, 1);
    ck_assert_int_eq(st.reads_seen, 1);
    ck_assert_int_eq(st.chained_runs, 1);

    /* Cancelled: never runs. */
    aio_bh_schedule(ctx, &st.bh);
    aio_bh_cancel(ctx, &st.bh);
    aio_bh_cancel(ctx, &st.bh);
    (void)aio_ctx_poll(ctx, false);
    ck_assert_int_eq(st.runs, 1);

    /* Scheduled between iterations: the next one does not block (a hang
     * here ends in the test's timeout). */
    aio_bh_schedule(ctx, &st.bh);
    ck_assert(aio_ctx_poll(ctx, true));
    ck_assert_int_eq(st.runs, 2);
    ck_assert_int_eq(st.chained_runs, 2);

    aio_handler_del(h);
    aio_ctx_free(ctx);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

static Suite *
aio_suite(void)
{
    Suite *s = suite_create("aio");
    TCase *tc;
    int npolicies = 0;

    while (policy_table[npolicies]) {
        npolicies++;
    }

    tc = tcase_create("policies");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_read_write_echo_under_each_policy, 0,
                        npolicies);
    tcase_add_loop_test(tc, test_timers_fire_on_time_in_deadline_order, 0,
                        npolicies);
    tcase_add_loop_test(tc, test_messages_keep_order_per_sender, 0,
                        npolicies);
    tcase_add_loop_test(tc, test_delete_handler_from_its_own_callback, 0,
                        npolicies);
    tcase_add_test(tc, test_bottom_halves_run_once_after_handlers);
    suite_add_tcase(s, tc);

    tc = tcase_create("polling");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_busy_poll_finds_socket_event_without_blocking);
    tcase_add_test(tc, test_notify_skips_eventfd_while_polling);
    tcase_add_test(tc, test_rearm_checks_poll_callbacks_before_sleeping);
    tcase_add_test(tc, test_busy_poll_finds_ring_completion_with_eventfd_muted);
    tcase_add_test(tc, test_policy_off_never_counts_poll_hits);
    tcase_add_test(tc, test_idle_handlers_leave_poll_set_and_rejoin);
    tcase_add_test(tc, test_set_params_changes_policy_live);
    suite_add_tcase(s, tc);

    tc = tcase_create("blocking");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_block_phase_wakes_on_socket_pipe_eventfd, 0,
                        KIND_COUNT);
    tcase_add_test(tc, test_block_phase_wakes_on_ring_completion);
    tcase_add_test(tc, test_block_phase_wakes_on_notifier);
    tcase_add_test(tc, test_uring_nop_and_file_read);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(aio_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
