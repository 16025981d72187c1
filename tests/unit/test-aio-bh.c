/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of bottom halves on the I/O-thread loop (server/aio/aio.c):
 * one scheduled twice runs once, after the handlers of the iteration; one
 * scheduled from a bottom half runs in the same pass; a cancelled one
 * never runs; one scheduled between iterations keeps the next from
 * blocking.  Also exit notifiers, the other deferred work: run by
 * aio_ctx_free newest first, able to delete handlers, never once removed.
 *
 * Real file descriptors and helper threads that act "a little later"
 * (DELAY_MS), every run of the loop bounded by a guard timer: see
 * aio-test-helpers.h.
 */
#include <config.h>

#include <check.h>

#include "aio-test-helpers.h"

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

/* Exit notifiers: run by aio_ctx_free, newest first, while a handler
 * they own may still be deleted; a removed one never runs. */
struct exit_state {
    struct aio_handler *h;
    int order[3];
    int n;
};

static struct exit_state exit_st;

static void
exit_cb(void *opaque)
{
    int id = (int)(intptr_t)opaque;

    exit_st.order[exit_st.n++] = id;
    if (id == 1 && exit_st.h) {
        aio_handler_del(exit_st.h); /* the loop still works here */
        exit_st.h = NULL;
    }
}

START_TEST(test_exit_notifiers_run_newest_first_at_free)
{
    struct aio_ctx *ctx = ctx_new_policy(&policy_off_ops, 0);
    struct aio_exit_notifier a, b, c;
    struct bh_state st = { .ctx = ctx };
    int sv[2];

    memset(&exit_st, 0, sizeof exit_st);
    socketpair_nb(sv);
    exit_st.h = aio_handler_add(ctx, sv[0], &bh_ops, &st);
    ck_assert_ptr_nonnull(exit_st.h);
    a = (struct aio_exit_notifier){ .cb = exit_cb, .opaque = (void *)1 };
    b = (struct aio_exit_notifier){ .cb = exit_cb, .opaque = (void *)2 };
    c = (struct aio_exit_notifier){ .cb = exit_cb, .opaque = (void *)3 };
    aio_exit_notifier_add(ctx, &a);
    aio_exit_notifier_add(ctx, &b);
    aio_exit_notifier_add(ctx, &c);
    aio_exit_notifier_del(ctx, &b);
    aio_exit_notifier_del(ctx, &b);
    aio_ctx_free(ctx); /* asserts no handler is left: a deleted it */
    ck_assert_int_eq(exit_st.n, 2);
    ck_assert_int_eq(exit_st.order[0], 3);
    ck_assert_int_eq(exit_st.order[1], 1);
    ck_assert_ptr_null(exit_st.h);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

static Suite *
aio_bh_suite(void)
{
    Suite *s = suite_create("aio-bh");
    TCase *tc;

    tc = tcase_create("bh");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_bottom_halves_run_once_after_handlers);
    tcase_add_test(tc, test_exit_notifiers_run_newest_first_at_free);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return aio_test_main(aio_bh_suite());
}
