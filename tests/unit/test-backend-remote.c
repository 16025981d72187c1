/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the gateway backends' common half (backends/remote.c),
 * on a real loop with a fake protocol that records what it is asked to
 * send and lets the test decide when the connect and each request end:
 * requests wait for the first connect; a lost remote fails what is
 * outstanding and what comes next with EIO, then reconnects after the
 * backoff and serves again; the oldest request past request-timeout
 * counts as a loss; big requests go in steps (smaller ones where the
 * remote has limits), several iovecs through a bounce buffer; a trim with FUA gets a flush step where the protocol
 * asks for one; the thread's exit closes the session and fails what is
 * left; a host name is looked up off the loop (a slow lookup holds
 * neither the loop nor a stopping thread) and the protocol gets a
 * numeric address.  The real protocols are covered by tests/gateway/.
 */
#include <config.h>

#include <check.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend-test-helpers.h"
#include "backends/remote-internal.h"

#define MiB (UINT64_C(1) << 20)
#define MAX_SENT 64

/* What the fake protocol saw. */
static struct {
    int connects, disconnects;
    bool fail_connect;
    struct remote_conn *conn;
    struct backend_req *sent[MAX_SENT];
    uint64_t sent_off[MAX_SENT], sent_len[MAX_SENT];
    uint32_t sent_stage[MAX_SENT];
    int nsent;
} fake;

static int
fake_connect(struct remote_conn *c)
{
    fake.connects++;
    fake.conn = c;
    if (fake.fail_connect) {
        return -ECONNREFUSED;
    }
    c->session = &fake;
    remote_conn_watch(c, -1, false);
    return 0;
}

static void
fake_disconnect(struct remote_conn *c)
{
    fake.disconnects++;
    c->session = NULL;
}

static void
fake_service(struct remote_conn *c, bool readable, bool writable)
{
}

static int
fake_submit(struct remote_conn *c, struct backend_req *req, void *data)
{
    ck_assert_int_lt(fake.nsent, MAX_SENT);
    fake.sent[fake.nsent] = req;
    fake.sent_off[fake.nsent] = req->offset + req->progress;
    fake.sent_len[fake.nsent] = req->step_count;
    fake.sent_stage[fake.nsent] = req->stage;
    fake.nsent++;
    if (req->op == BACKEND_OP_READ) {
        memset(data, 0xab, req->step_count);
    }
    return 0;
}

static const struct remote_proto fake_proto = {
    .name = "fake",
    .connect = fake_connect,
    .disconnect = fake_disconnect,
    .service = fake_service,
    .submit = fake_submit,
};

static const struct remote_proto fake_proto_fua_flush = {
    .name = "fake",
    .fua_by_flush = true,
    .connect = fake_connect,
    .disconnect = fake_disconnect,
    .service = fake_service,
    .submit = fake_submit,
};

/* A lookup as slow as a DNS server that does not answer at once. */
static int
slow_lookup(const char *host, const char *service,
            const struct addrinfo *hints, struct addrinfo **res)
{
    struct timespec ts = { 0, 400 * 1000 * 1000 };

    nanosleep(&ts, NULL);
    return getaddrinfo(host, service, hints, res);
}

static void
timer_fired(void *opaque)
{
    *(int64_t *)opaque = clock_now_ns();
}

static struct remote *
fake_remote(const struct remote_proto *proto, int64_t timeout_ns)
{
    char name[] = "g";
    struct config_export cfg = { .name = name, .request_timeout_ns = timeout_ns };
    struct remote *r = calloc(1, sizeof *r);

    ck_assert_ptr_nonnull(r);
    memset(&fake, 0, sizeof fake);
    ck_assert_int_eq(remote_init(r, proto, &cfg, NULL), 0);
    return r;
}

/* Run the loop a few times without blocking (bottom halves). */
static void
spin(struct aio_ctx *ctx)
{
    for (int i = 0; i < 3; i++) {
        aio_ctx_poll(ctx, false);
    }
}

/* Block in the loop until cond holds or ms pass. */
#define wait_until(ctx, cond, ms)                                           \
    do {                                                                    \
        int64_t dl_ = clock_now_ns() + (ms) * NS_PER_MS;                    \
        while (!(cond) && clock_now_ns() < dl_) {                           \
            aio_ctx_poll((ctx), true);                                      \
        }                                                                   \
        ck_assert_msg((cond), "timed out waiting for " #cond);              \
    } while (0)

static void
teardown(struct aio_ctx *ctx, struct remote *r)
{
    aio_ctx_free(ctx); /* the exit notifier closes the connection */
    remote_fini(r);
    free(r);
}

/* b as a request of op on [off, off + len) with flags, on ctx's thread,
 * with iovcnt iovecs at iov (reads and writes; NULL, 0 for others). */
static void
fake_req(struct bt_req *b, struct aio_ctx *ctx, enum backend_op op,
         uint64_t off, uint64_t len, uint32_t flags, struct iovec *iov,
         int iovcnt)
{
    bt_req_init(b, ctx, off, len, flags);
    b->req.op = op;
    b->req.iov = iov;
    b->req.iovcnt = iovcnt;
}

/* Answer the steps sent from first to last - 1 with success as they
 * come (each is sent once the one before is done). */
static void
complete_steps(struct aio_ctx *ctx, int first, int last)
{
    for (int step = first; step < last; step++) {
        wait_until(ctx, fake.nsent == step + 1, 2000);
        remote_conn_complete(fake.conn, fake.sent[step], 0);
    }
}

START_TEST(test_requests_wait_for_the_first_connect)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct remote *r = fake_remote(&fake_proto, 0);
    struct bt_req a, b;
    char buf[512];
    struct iovec iov = { buf, sizeof buf };

    fake_req(&a, ctx, BACKEND_OP_READ, 0, sizeof buf, 0, &iov, 1);
    fake_req(&b, ctx, BACKEND_OP_FLUSH, 0, 0, 0, NULL, 0);
    remote_submit(r, &a.req);
    remote_submit(r, &b.req);
    ck_assert_int_eq(fake.connects, 1);
    ck_assert_int_eq(fake.nsent, 0); /* still connecting */
    remote_conn_connected(fake.conn);
    ck_assert_int_eq(fake.nsent, 2);
    ck_assert_ptr_eq(fake.sent[0], &a.req); /* in order */
    remote_conn_complete(fake.conn, &a.req, 0);
    remote_conn_complete(fake.conn, &b.req, 0);
    ck_assert_int_eq(a.ncalls, 0); /* never inside the library's callback */
    spin(ctx);
    ck_assert_int_eq(a.ncalls, 1);
    ck_assert_int_eq(a.err, 0);
    ck_assert_int_eq(b.ncalls, 1);
    ck_assert_uint_eq((uint8_t)buf[0], 0xab);
    teardown(ctx, r);
}
END_TEST

START_TEST(test_lost_remote_fails_with_eio_then_reconnects)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct remote *r = fake_remote(&fake_proto, 0);
    struct backend_remote_stats st = { 0 };
    struct bt_req a, b, c;

    fake_req(&a, ctx, BACKEND_OP_TRIM, 0, 4096, 0, NULL, 0);
    remote_submit(r, &a.req);
    remote_conn_connected(fake.conn);
    ck_assert_int_eq(fake.nsent, 1);

    remote_conn_lost(fake.conn, "test");
    ck_assert_int_eq(fake.disconnects, 1);
    spin(ctx);
    ck_assert_int_eq(a.ncalls, 1);
    ck_assert_int_eq(a.err, -EIO);

    /* While down: EIO at once, nothing sent. */
    fake_req(&b, ctx, BACKEND_OP_TRIM, 0, 4096, 0, NULL, 0);
    remote_submit(r, &b.req);
    spin(ctx);
    ck_assert_int_eq(b.ncalls, 1);
    ck_assert_int_eq(b.err, -EIO);
    ck_assert_int_eq(fake.nsent, 1);

    /* The retry timer connects again (100 ms backoff). */
    wait_until(ctx, fake.connects == 2, 2000);
    remote_conn_connected(fake.conn);
    fake_req(&c, ctx, BACKEND_OP_TRIM, 0, 4096, 0, NULL, 0);
    remote_submit(r, &c.req);
    ck_assert_int_eq(fake.nsent, 2);
    remote_conn_complete(fake.conn, &c.req, 0);
    spin(ctx);
    ck_assert_int_eq(c.err, 0);

    remote_stats(r, &st);
    ck_assert_uint_eq(st.requests, 3);
    ck_assert_uint_eq(st.errors, 2);
    ck_assert_uint_eq(st.reconnects, 1);
    ck_assert_uint_eq(st.connections, 1);
    ck_assert_uint_eq(st.threads, 1);
    teardown(ctx, r);
}
END_TEST

START_TEST(test_failed_connects_back_off)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct remote *r = fake_remote(&fake_proto, 0);
    struct bt_req a;
    int64_t t0;

    fake.fail_connect = true;
    fake_req(&a, ctx, BACKEND_OP_FLUSH, 0, 0, 0, NULL, 0);
    t0 = clock_now_ns();
    remote_submit(r, &a.req);
    spin(ctx);
    ck_assert_int_eq(a.err, -EIO); /* the first connect failed */
    /* 100, 200, 400 ms: the fourth attempt comes after 700 ms at least. */
    wait_until(ctx, fake.connects == 4, 3000);
    ck_assert_int_ge(clock_now_ns() - t0, 700 * NS_PER_MS);
    teardown(ctx, r);
}
END_TEST

START_TEST(test_request_past_timeout_is_a_lost_remote)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct remote *r = fake_remote(&fake_proto, 200 * NS_PER_MS);
    struct backend_remote_stats st = { 0 };
    struct bt_req a;
    int64_t t0;

    fake_req(&a, ctx, BACKEND_OP_ZERO, 0, 4096, 0, NULL, 0);
    remote_submit(r, &a.req);
    remote_conn_connected(fake.conn);
    t0 = clock_now_ns();
    wait_until(ctx, a.ncalls == 1, 3000); /* never answered */
    ck_assert_int_eq(a.err, -EIO);
    ck_assert_int_ge(clock_now_ns() - t0, 200 * NS_PER_MS);
    ck_assert_int_eq(fake.disconnects, 1);
    remote_stats(r, &st);
    ck_assert_uint_eq(st.timeouts, 1);
    teardown(ctx, r);
}
END_TEST

START_TEST(test_big_requests_go_in_steps)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct remote *r = fake_remote(&fake_proto, 0);
    uint64_t len = 70 * MiB;
    uint8_t *buf = malloc(len);
    struct iovec iov[2] = { { buf, 1 * MiB }, { buf + MiB, len - MiB } };
    struct bt_req a, t;

    ck_assert_ptr_nonnull(buf);
    memset(buf, 0, len);
    fake_req(&a, ctx, BACKEND_OP_READ, 4096, len, 0, iov, 2);
    remote_submit(r, &a.req);
    remote_conn_connected(fake.conn);
    complete_steps(ctx, 0, 3);
    spin(ctx);
    ck_assert_int_eq(a.ncalls, 1);
    ck_assert_int_eq(a.err, 0);
    ck_assert_uint_eq(fake.sent_off[0], 4096);
    ck_assert_uint_eq(fake.sent_len[0], 32 * MiB);
    ck_assert_uint_eq(fake.sent_off[1], 4096 + 32 * MiB);
    ck_assert_uint_eq(fake.sent_len[2], 6 * MiB);
    ck_assert_uint_eq(buf[0], 0xab); /* copied out of the bounce buffer */
    ck_assert_uint_eq(buf[len - 1], 0xab);
    ck_assert_ptr_null(a.req.bounce);

    fake_req(&t, ctx, BACKEND_OP_TRIM, 0, UINT64_C(3) << 30, 0, NULL, 0);
    remote_submit(r, &t.req);
    for (int step = 3; step < 6; step++) {
        wait_until(ctx, fake.nsent == step + 1, 2000);
        ck_assert_uint_eq(fake.sent_len[step], UINT64_C(1) << 30);
        remote_conn_complete(fake.conn, fake.sent[step], 0);
    }
    spin(ctx);
    ck_assert_int_eq(t.err, 0);
    ck_assert_int_eq(fake.nsent, 6);
    free(buf);
    teardown(ctx, r);
}
END_TEST

START_TEST(test_remote_limits_make_smaller_steps)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct remote *r = fake_remote(&fake_proto, 0);
    uint8_t *buf = calloc(1, 20 * MiB);
    struct iovec iov = { buf, 20 * MiB };
    struct bt_req w, z;

    ck_assert_ptr_nonnull(buf);
    r->max_io_step = 8 * MiB;  /* the remote's maximum block size ... */
    r->max_zero_step = 3 * MiB; /* ... and WRITE SAME length */
    fake_req(&w, ctx, BACKEND_OP_WRITE, 0, 20 * MiB, BACKEND_FUA, &iov, 1);
    remote_submit(r, &w.req);
    remote_conn_connected(fake.conn);
    complete_steps(ctx, 0, 3);
    spin(ctx);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(fake.sent_len[0], 8 * MiB);
    ck_assert_uint_eq(fake.sent_len[1], 8 * MiB);
    ck_assert_uint_eq(fake.sent_len[2], 4 * MiB);

    fake_req(&z, ctx, BACKEND_OP_ZERO, 0, 7 * MiB, 0, NULL, 0);
    remote_submit(r, &z.req);
    complete_steps(ctx, 3, 6);
    spin(ctx);
    ck_assert_int_eq(z.err, 0);
    ck_assert_uint_eq(fake.sent_len[5], 1 * MiB);
    free(buf);
    teardown(ctx, r);
}
END_TEST

START_TEST(test_trim_with_fua_gets_a_flush_step)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct remote *r = fake_remote(&fake_proto_fua_flush, 0);
    struct bt_req a;

    fake_req(&a, ctx, BACKEND_OP_TRIM, 0, 8192, BACKEND_FUA, NULL, 0);
    remote_submit(r, &a.req);
    remote_conn_connected(fake.conn);
    remote_conn_complete(fake.conn, fake.sent[0], 0);
    wait_until(ctx, fake.nsent == 2, 2000);
    ck_assert_uint_eq(fake.sent_stage[1], 1);
    ck_assert_uint_eq(fake.sent_len[1], 0);
    ck_assert_int_eq(a.ncalls, 0);
    remote_conn_complete(fake.conn, fake.sent[1], 0);
    spin(ctx);
    ck_assert_int_eq(a.ncalls, 1);
    ck_assert_int_eq(a.err, 0);
    teardown(ctx, r);
}
END_TEST

START_TEST(test_thread_exit_closes_and_fails_what_is_left)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct remote *r = fake_remote(&fake_proto, 0);
    struct bt_req a;

    fake_req(&a, ctx, BACKEND_OP_TRIM, 0, 4096, 0, NULL, 0);
    remote_submit(r, &a.req);
    remote_conn_connected(fake.conn);
    aio_ctx_free(ctx);
    ck_assert_int_eq(fake.disconnects, 1);
    ck_assert_int_eq(a.ncalls, 1);
    ck_assert_int_eq(a.err, -EIO);
    remote_fini(r);
    free(r);
}
END_TEST

/* A flush to r (named by host, looked up by lookup) in b. */
static void
flush_by_name(struct aio_ctx *ctx, struct remote *r, const char *host,
              remote_lookup_fn *lookup, struct bt_req *b)
{
    r->host = strdup(host);
    remote_resolve_lookup = lookup;
    fake_req(b, ctx, BACKEND_OP_FLUSH, 0, 0, 0, NULL, 0);
    remote_submit(r, &b->req);
}

START_TEST(test_host_lookup_does_not_block_the_loop)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct remote *r = fake_remote(&fake_proto, 0);
    struct aio_timer t;
    int64_t t0, fired = 0;
    struct bt_req a;

    aio_timer_init(&t, timer_fired, &fired);
    t0 = clock_now_ns();
    flush_by_name(ctx, r, "localhost", slow_lookup, &a);
    ck_assert_int_lt(clock_now_ns() - t0, 100 * NS_PER_MS);
    ck_assert_int_eq(fake.connects, 0); /* still looking up */
    aio_timer_mod(ctx, &t, clock_now_ns() + 50 * NS_PER_MS);
    wait_until(ctx, fired != 0, 2000);
    ck_assert_int_lt(fired - t0, 300 * NS_PER_MS); /* not after the lookup */
    ck_assert_int_eq(fake.connects, 0);
    wait_until(ctx, fake.connects == 1, 3000);
    ck_assert_int_ge(clock_now_ns() - t0, 400 * NS_PER_MS);
    ck_assert_str_eq(fake.conn->addr, "127.0.0.1");
    remote_conn_connected(fake.conn);
    remote_conn_complete(fake.conn, &a.req, 0);
    spin(ctx);
    ck_assert_int_eq(a.err, 0);
    remote_resolve_lookup = getaddrinfo;
    teardown(ctx, r);
}
END_TEST

START_TEST(test_failed_lookup_is_a_lost_remote)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct remote *r = fake_remote(&fake_proto, 0);
    struct bt_req a;

    flush_by_name(ctx, r, "no-such-host.invalid", getaddrinfo, &a);
    wait_until(ctx, a.ncalls == 1, 10000);
    ck_assert_int_eq(a.err, -EIO);
    ck_assert_int_eq(fake.connects, 0);
    teardown(ctx, r);
}
END_TEST

START_TEST(test_thread_exit_during_a_lookup)
{
    struct aio_ctx *ctx = bt_ctx_new();
    struct remote *r = fake_remote(&fake_proto, 0);
    struct bt_req a;
    struct timespec ts = { 0, 600 * 1000 * 1000 };

    flush_by_name(ctx, r, "localhost", slow_lookup, &a);
    aio_ctx_free(ctx); /* the lookup is still sleeping: it is forgotten */
    ck_assert_int_eq(a.ncalls, 1);
    ck_assert_int_eq(a.err, -EIO);
    remote_fini(r);
    free(r);
    nanosleep(&ts, NULL); /* the lookup ends and frees itself */
    ck_assert_int_eq(fake.connects, 0);
    remote_resolve_lookup = getaddrinfo;
}
END_TEST

START_TEST(test_url_host_replaced)
{
    char *s;

    s = remote_url_host("iscsi://u%p@host.example:3260/iqn.x/0");
    ck_assert_str_eq(s, "host.example");
    free(s);
    s = remote_url_host("nbd://[::1]:10809/e");
    ck_assert_str_eq(s, "::1");
    free(s);
    ck_assert_ptr_null(remote_url_host("nbd+unix:///e?socket=/s"));
    s = remote_url_with_host("nbd://localhost:10809/e?x=1", "::1");
    ck_assert_str_eq(s, "nbd://[::1]:10809/e?x=1");
    free(s);
    s = remote_url_with_host("iscsi://u%p@[fe80::1]/iqn.x/0", "192.0.2.1");
    ck_assert_str_eq(s, "iscsi://u%p@192.0.2.1/iqn.x/0");
    free(s);
    s = remote_url_with_host("nbds://h/e", "10.0.0.1");
    ck_assert_str_eq(s, "nbds://10.0.0.1/e");
    free(s);
    ck_assert(remote_host_is_numeric("::1"));
    ck_assert(remote_host_is_numeric("127.0.0.1"));
    ck_assert(!remote_host_is_numeric("localhost"));
}
END_TEST

static Suite *
remote_suite(void)
{
    Suite *s = suite_create("backend-remote");
    TCase *tc = tcase_create("remote");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_requests_wait_for_the_first_connect);
    tcase_add_test(tc, test_lost_remote_fails_with_eio_then_reconnects);
    tcase_add_test(tc, test_failed_connects_back_off);
    tcase_add_test(tc, test_request_past_timeout_is_a_lost_remote);
    tcase_add_test(tc, test_big_requests_go_in_steps);
    tcase_add_test(tc, test_remote_limits_make_smaller_steps);
    tcase_add_test(tc, test_trim_with_fua_gets_a_flush_step);
    tcase_add_test(tc, test_thread_exit_closes_and_fails_what_is_left);
    tcase_add_test(tc, test_host_lookup_does_not_block_the_loop);
    tcase_add_test(tc, test_failed_lookup_is_a_lost_remote);
    tcase_add_test(tc, test_thread_exit_during_a_lookup);
    tcase_add_test(tc, test_url_host_replaced);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(remote_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
