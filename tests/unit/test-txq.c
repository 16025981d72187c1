/* SPDX-License-Identifier: MIT */
/*
 * The transmit queue (server/txq.c) over a real socket pair: messages
 * arrive whole and in order however the socket splits them, each is
 * released exactly once and only when all its bytes are out, a full socket
 * gives -EAGAIN with the rest still queued, a broken one gives the error,
 * and dropping releases what was never sent.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "txq.h"

#define NMSG 200

struct msg {
    struct txq_item item; /* first */
    struct iovec iov[3];
    uint8_t hdr[16];
    int released;
};

static struct msg msgs[NMSG];
static uint8_t payload[4096];
static int release_order[NMSG];
static int nreleased;

static void
release(struct txq_item *it, void *opaque)
{
    struct msg *m = (struct msg *)it;

    ck_assert_ptr_eq(opaque, msgs);
    m->released++;
    release_order[nreleased++] = (int)(m - msgs);
}

/* Message i: a 16-byte header naming i, then i*13 % 4096 payload bytes in
 * two iovecs (the second may be empty). */
static void
make_msg(int i)
{
    struct msg *m = &msgs[i];
    size_t len = (size_t)i * 13 % sizeof payload;

    memset(m, 0, sizeof *m);
    memset(m->hdr, 0, sizeof m->hdr);
    memcpy(m->hdr, &i, sizeof i);
    memcpy(m->hdr + 8, &len, sizeof len);
    m->iov[0] = (struct iovec){ m->hdr, sizeof m->hdr };
    m->iov[1] = (struct iovec){ payload, len / 2 };
    m->iov[2] = (struct iovec){ payload + len / 2, len - len / 2 };
}

static void
setup_payload(void)
{
    for (size_t i = 0; i < sizeof payload; i++) {
        payload[i] = (uint8_t)(i * 31 + 7);
    }
    nreleased = 0;
}

START_TEST(test_messages_arrive_whole_in_order_and_are_released_once)
{
    int sv[2], one = 4096;
    size_t total = 0, got = 0, off = 0;
    uint8_t *wire;
    struct txq q;

    setup_payload();
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    /* A small send buffer forces partial sends in mid-message. */
    ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one, sizeof one),
                     0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    txq_init(&q);
    ck_assert(txq_empty(&q));
    for (int i = 0; i < NMSG; i++) {
        make_msg(i);
        txq_push(&q, &msgs[i].item, msgs[i].iov, 3);
        total += 16 + (size_t)i * 13 % sizeof payload;
    }
    wire = malloc(total);
    ck_assert_ptr_nonnull(wire);
    /* Send what fits, read what came, until everything is across. */
    while (got < total) {
        int r = txq_send(&q, sv[0], release, msgs);
        ssize_t n;

        ck_assert(r == 0 || r == -EAGAIN);
        ck_assert(r == -EAGAIN || txq_empty(&q));
        while ((n = read(sv[1], wire + got, total - got)) > 0) {
            got += (size_t)n;
        }
        /* Released messages are a prefix, each at most once. */
        for (int j = 0; j < nreleased; j++) {
            ck_assert_int_eq(release_order[j], j);
        }
    }
    ck_assert_int_eq(txq_send(&q, sv[0], release, msgs), 0);
    ck_assert(txq_empty(&q));
    ck_assert_int_eq(nreleased, NMSG);
    for (int i = 0; i < NMSG; i++) {
        int id;
        size_t len;

        ck_assert_int_eq(msgs[i].released, 1);
        memcpy(&id, wire + off, sizeof id);
        memcpy(&len, wire + off + 8, sizeof len);
        ck_assert_int_eq(id, i);
        ck_assert_uint_eq(len, (size_t)i * 13 % sizeof payload);
        ck_assert_mem_eq(wire + off + 16, payload, len);
        off += 16 + len;
    }
    ck_assert_uint_eq(off, total);
    free(wire);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

START_TEST(test_full_socket_keeps_the_rest_and_a_broken_one_fails)
{
    int sv[2];
    struct txq q;
    int r;

    setup_payload();
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    txq_init(&q);
    for (int i = 0; i < NMSG; i++) {
        make_msg(i);
        txq_push(&q, &msgs[i].item, msgs[i].iov, 3);
    }
    /* Nobody reads: the socket fills up before 200 messages of ~1.3 MiB. */
    for (int k = 0; k < 3; k++) {
        r = txq_send(&q, sv[0], release, msgs);
        ck_assert_int_eq(r, -EAGAIN);
    }
    ck_assert(!txq_empty(&q));
    ck_assert_int_lt(nreleased, NMSG);
    close(sv[1]);
    r = txq_send(&q, sv[0], release, msgs);
    ck_assert_int_eq(r, -EPIPE);
    /* Dropping hands back every message not released yet, once. */
    txq_drop(&q, release, msgs);
    ck_assert(txq_empty(&q));
    ck_assert_int_eq(nreleased, NMSG);
    for (int i = 0; i < NMSG; i++) {
        ck_assert_int_eq(msgs[i].released, 1);
    }
    close(sv[0]);
}
END_TEST

static Suite *
txq_suite(void)
{
    Suite *s = suite_create("txq");
    TCase *tc = tcase_create("txq");

    tcase_add_test(tc, test_messages_arrive_whole_in_order_and_are_released_once);
    tcase_add_test(tc, test_full_socket_keeps_the_rest_and_a_broken_one_fails);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(txq_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
