/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the socket connection base (server/conn.c), driven by a
 * tiny line-echo protocol on a real I/O thread over a socketpair: a line
 * split across two sends is answered once whole; a burst of lines is
 * answered in order; "bye" is answered and then the connection closes
 * (what was queued is sent first); a peer that hangs up gets its
 * connection freed and the front end told; and a connection that still
 * has a request "in the backend" is freed only when that comes back.
 */
#include <config.h>

#include <check.h>

#include <errno.h>
#include <poll.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "frontend.h"
#include "iothread.h"
#include "policy/policy.h"

struct echo_conn {
    struct conn base;
    unsigned held;   /* "hold": a request the backend still has */
};

struct echo_tx {
    struct txq_item item;
    struct iovec iov;
    char data[];
};

static sem_t freed;          /* posted by echo_free */
static struct echo_conn *last; /* the connection made by the last attach */

static void
echo_reply(struct conn *c, const char *s, size_t len)
{
    struct echo_tx *tx = malloc(sizeof *tx + len);

    ck_assert_ptr_nonnull(tx);
    memcpy(tx->data, s, len);
    tx->iov.iov_base = tx->data;
    tx->iov.iov_len = len;
    conn_queue(c, &tx->item, &tx->iov, 1);
}

static void
echo_process(struct conn *c)
{
    struct echo_conn *e = (struct echo_conn *)c;

    while (c->life == CONN_OPEN) {
        char *p = (char *)c->rx + c->rx_start;
        char *nl = memchr(p, '\n', c->rx_end - c->rx_start);
        size_t len;

        if (nl == NULL) {
            return; /* a partial line waits for the rest */
        }
        len = (size_t)(nl - p) + 1;
        c->rx_start += len;
        if (len == 4 && memcmp(p, "bye\n", 4) == 0) {
            echo_reply(c, "ok\n", 3);
            conn_close_soon(c, NULL);
        } else if (len == 5 && memcmp(p, "hold\n", 5) == 0) {
            e->held++;
        } else {
            echo_reply(c, p, len);
        }
    }
}

static void
echo_tx_release(struct conn *c, struct txq_item *it)
{
    (void)c;
    free(it);
}

static bool
echo_idle(const struct conn *c)
{
    return ((const struct echo_conn *)c)->held == 0;
}

static void
echo_free(struct conn *c)
{
    (void)c; /* no state of its own; conn.c frees the object */
    sem_post(&freed);
}

static const struct conn_ops echo_ops = {
    .name = "echo",
    .process = echo_process,
    .tx_release = echo_tx_release,
    .quiesced = echo_idle,
    .releasable = echo_idle,
    .free = echo_free,
};

static struct iothread *thread;
static struct frontend fe;

struct on_thread {
    void (*fn)(void *);
    void *arg;
    sem_t done;
};

static void
on_thread_run(void *opaque)
{
    struct on_thread *m = opaque;

    m->fn(m->arg);
    sem_post(&m->done);
}

/* Run fn(arg) on the I/O thread and wait for it. */
static void
run_on_thread(void (*fn)(void *), void *arg)
{
    struct on_thread m = { .fn = fn, .arg = arg };

    sem_init(&m.done, 0, 0);
    ck_assert_int_eq(iothread_run(thread, on_thread_run, &m), 0);
    sem_wait(&m.done);
    sem_destroy(&m.done);
}

static void
attach(void *opaque)
{
    int fd = *(int *)opaque;
    struct sockaddr_storage peer = { .ss_family = AF_UNIX };

    last = conn_new(sizeof *last, &echo_ops, &fe, thread, fd, &peer,
                    sizeof(sa_family_t), 64);
    ck_assert_ptr_nonnull(last);
    ck_assert_int_eq(conn_start(&last->base), 0);
}

static void
release_held(void *opaque)
{
    struct echo_conn *e = opaque;

    e->held = 0;
    conn_maybe_free(&e->base);
}

static void
setup(void)
{
    struct poll_params p;

    policy_params_default(&p);
    p.max_ns = 0; /* no polling: the blocking path is the one under test */
    sem_init(&freed, 0, 0);
    memset(&fe, 0, sizeof fe);
    fe.thread_conns = calloc(1, sizeof *fe.thread_conns);
    ck_assert_int_eq(iothread_start(&thread, 0, &p, -1), 0);
}

static void
teardown(void)
{
    iothread_stop(thread);
    free(fe.thread_conns);
    sem_destroy(&freed);
}

/* A client socket connected to a new echo connection. */
static int
connect_echo(void)
{
    int sv[2];

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
    atomic_fetch_add(&fe.nconns, 1); /* as frontend_attach counts it */
    run_on_thread(attach, &sv[1]);
    return sv[0];
}

/* Read exactly len bytes (or until EOF: returns what came). */
static size_t
read_n(int fd, char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;

        ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
        n = read(fd, buf + got, len - got);
        ck_assert_int_ge(n, 0);
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    return got;
}

/* Freed, and then (the base's last step) the front end told. */
static void
wait_freed(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    ck_assert_msg(sem_timedwait(&freed, &ts) == 0, "connection not freed");
    for (int i = 0; i < 5000 && atomic_load(&fe.nconns) > 0; i++) {
        usleep(1000);
    }
}

START_TEST(test_line_split_across_sends_is_answered_whole)
{
    int fd = connect_echo();
    char buf[32];

    ck_assert_int_eq(write(fd, "hello\nwor", 9), 9);
    ck_assert_uint_eq(read_n(fd, buf, 6), 6);
    ck_assert(memcmp(buf, "hello\n", 6) == 0);
    ck_assert_int_eq(write(fd, "ld\n", 3), 3);
    ck_assert_uint_eq(read_n(fd, buf, 6), 6);
    ck_assert(memcmp(buf, "world\n", 6) == 0);
    close(fd);
    wait_freed();
}
END_TEST

START_TEST(test_burst_longer_than_the_buffer_is_answered_in_order)
{
    int fd = connect_echo();
    char out[400], in[400];
    size_t n = 0;

    /* 40 lines, 400 bytes: more than the 64-byte receive buffer holds. */
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(out + n, sizeof out - n, "line %03d\n", i);
    }
    ck_assert_int_eq(write(fd, out, n), (ssize_t)n);
    ck_assert_uint_eq(read_n(fd, in, n), n);
    ck_assert(memcmp(in, out, n) == 0);
    close(fd);
    wait_freed();
}
END_TEST

START_TEST(test_close_sends_what_is_queued_then_closes)
{
    int fd = connect_echo();
    char buf[16];

    ck_assert_int_eq(write(fd, "a\nbye\nnever\n", 12), 12);
    /* "a", then "ok" for bye; "never" is not read any more; then EOF. */
    ck_assert_uint_eq(read_n(fd, buf, sizeof buf), 5);
    ck_assert(memcmp(buf, "a\nok\n", 5) == 0);
    wait_freed();
    ck_assert_uint_eq(atomic_load(&fe.nconns), 0);
    close(fd);
}
END_TEST

START_TEST(test_peer_hangup_frees_and_tells_the_front_end)
{
    int fd = connect_echo();

    ck_assert_ptr_eq(fe.thread_conns[0], &last->base);
    close(fd);
    wait_freed();
    ck_assert_uint_eq(atomic_load(&fe.nconns), 0);
    ck_assert_ptr_null(fe.thread_conns[0]); /* unlinked */
}
END_TEST

START_TEST(test_free_waits_for_the_backend)
{
    int fd = connect_echo();
    struct echo_conn *e = last;
    char buf[4];
    struct timespec ts;

    ck_assert_int_eq(write(fd, "hold\nx\n", 7), 7);
    ck_assert_uint_eq(read_n(fd, buf, 2), 2); /* "hold" was taken */
    close(fd);
    /* Dead, but a request is out: not freed. */
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    ck_assert_int_eq(sem_timedwait(&freed, &ts), -1);
    ck_assert_uint_eq(atomic_load(&fe.nconns), 1);
    run_on_thread(release_held, e);
    wait_freed();
    ck_assert_uint_eq(atomic_load(&fe.nconns), 0);
}
END_TEST

static Suite *
conn_suite(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("echo");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_line_split_across_sends_is_answered_whole);
    tcase_add_test(tc, test_burst_longer_than_the_buffer_is_answered_in_order);
    tcase_add_test(tc, test_close_sends_what_is_queued_then_closes);
    tcase_add_test(tc, test_peer_hangup_frees_and_tells_the_front_end);
    tcase_add_test(tc, test_free_waits_for_the_backend);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(conn_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
