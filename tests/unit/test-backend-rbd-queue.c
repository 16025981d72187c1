/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the rbd backend's completion queue (backends/rbd-queue.c),
 * the one place where librbd's threads meet an I/O thread: nodes come out
 * oldest first, a push to an empty queue makes the eventfd readable and a
 * take clears it, and with several threads pushing at once while the
 * owner sleeps in poll() on the eventfd, every node arrives, each
 * thread's in the order it pushed them, and no wakeup is lost (a lost one
 * shows as a poll that times out with nodes still to come).
 */
#include <config.h>

#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>

#include "backends/rbd-internal.h"

struct item {
    struct rbdq_node node; /* first */
    unsigned producer;
    unsigned seq;
};

static bool
readable(const struct rbdq *q)
{
    struct pollfd p = { .fd = q->efd, .events = POLLIN };

    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

START_TEST(test_rbdq_take_is_oldest_first_and_clears_the_wakeup)
{
    struct rbdq q;
    struct item it[3];
    struct rbdq_node *n;

    ck_assert_int_eq(rbdq_init(&q), 0);
    ck_assert_ptr_null(rbdq_take(&q));
    ck_assert(!readable(&q));
    for (unsigned i = 0; i < 3; i++) {
        it[i].seq = i;
        rbdq_push(&q, &it[i].node);
        ck_assert(readable(&q));
    }
    n = rbdq_take(&q);
    ck_assert(!readable(&q));
    for (unsigned i = 0; i < 3; i++) {
        ck_assert_ptr_nonnull(n);
        ck_assert_uint_eq(((struct item *)n)->seq, i);
        n = n->next;
    }
    ck_assert_ptr_null(n);
    ck_assert_ptr_null(rbdq_take(&q));

    /* A wake without a node: readable, and a take finds nothing. */
    rbdq_wake(&q);
    ck_assert(readable(&q));
    ck_assert_ptr_null(rbdq_take(&q));
    ck_assert(!readable(&q));
    rbdq_destroy(&q);
}
END_TEST

#define PRODUCERS 4u
#define PER_PRODUCER 20000u

struct producer {
    pthread_t thread;
    struct rbdq *q;
    unsigned id;
    struct item *items;
};

static void *
produce(void *opaque)
{
    struct producer *p = opaque;

    for (unsigned i = 0; i < PER_PRODUCER; i++) {
        p->items[i].producer = p->id;
        p->items[i].seq = i;
        rbdq_push(p->q, &p->items[i].node);
        if (i % 1000 == 0) {
            sched_yield(); /* let the owner drain mid-run */
        }
    }
    return NULL;
}

START_TEST(test_rbdq_threads_lose_no_node_and_no_wakeup)
{
    struct rbdq q;
    struct producer p[PRODUCERS];
    unsigned next[PRODUCERS] = { 0 };
    unsigned got = 0, wakeups = 0;

    ck_assert_int_eq(rbdq_init(&q), 0);
    for (unsigned i = 0; i < PRODUCERS; i++) {
        p[i].q = &q;
        p[i].id = i;
        p[i].items = calloc(PER_PRODUCER, sizeof *p[i].items);
        ck_assert_ptr_nonnull(p[i].items);
        ck_assert_int_eq(pthread_create(&p[i].thread, NULL, produce, &p[i]), 0);
    }
    while (got < PRODUCERS * PER_PRODUCER) {
        struct pollfd pfd = { .fd = q.efd, .events = POLLIN };
        struct rbdq_node *n;

        /* Nodes still to come and no wakeup for 5 s: one was lost. */
        ck_assert_msg(poll(&pfd, 1, 5000) == 1,
                      "no wakeup with %u of %u nodes taken", got,
                      PRODUCERS * PER_PRODUCER);
        wakeups++;
        for (n = rbdq_take(&q); n; n = n->next) {
            struct item *it = (struct item *)n;

            ck_assert_uint_lt(it->producer, PRODUCERS);
            ck_assert_uint_eq(it->seq, next[it->producer]);
            next[it->producer]++;
            got++;
        }
    }
    for (unsigned i = 0; i < PRODUCERS; i++) {
        pthread_join(p[i].thread, NULL);
        ck_assert_uint_eq(next[i], PER_PRODUCER);
        free(p[i].items);
    }
    ck_assert_ptr_null(rbdq_take(&q));
    ck_assert_uint_gt(wakeups, 0);
    rbdq_destroy(&q);
}
END_TEST

static Suite *
rbdq_suite(void)
{
    Suite *s = suite_create("backend-rbd-queue");
    TCase *tc = tcase_create("queue");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rbdq_take_is_oldest_first_and_clears_the_wakeup);
    tcase_add_test(tc, test_rbdq_threads_lose_no_node_and_no_wakeup);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(rbdq_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
