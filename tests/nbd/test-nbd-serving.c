/* SPDX-License-Identifier: MIT */
/*
 * Serving policy and connection lifetime: max-connections refuses the
 * extra client while the others are served, and frees slots when clients
 * leave (also clients that vanish mid-request); allow lists hide and
 * refuse exports by network (TCP on loopback) and by transport (unix); an
 * export pinned to I/O thread 1 serves correctly; clients that die with
 * requests in flight disturb nobody; SIGTERM with writes in flight answers
 * or cleanly closes, makes the answered writes durable, and exits 0; a
 * client that stopped reading replies holds the drain only until
 * [server] drain-timeout, then is closed, and the server still exits 0.
 */
#include <config.h>

#include <libnbd.h>

#include "nbd-test-helpers.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

/* --- max-connections ---------------------------------------------- */

static const char conf_maxconn[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "max-connections = 2\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 8M\n";

/* Connect, retrying while the server may still be freeing a slot. */
static struct nbd_handle *
open_retry(const struct test_server *s, const char *export, int ms)
{
    int64_t deadline = test_now_ms() + ms;

    for (;;) {
        struct nbd_handle *nbd = test_nbd_create();

        CHECK_NBD(nbd_set_export_name(nbd, export) == 0, "export");
        if (nbd_connect_unix(nbd, s->sock) == 0) {
            return nbd;
        }
        nbd_close(nbd);
        if (test_now_ms() > deadline) {
            return NULL;
        }
        test_sleep_ms(50);
    }
}

static void
rw_check(struct nbd_handle *nbd, uint64_t off, uint32_t seed, const char *what)
{
    uint8_t buf[8192];

    test_fill(buf, sizeof buf, off, seed);
    CHECK_NBD(nbd_pwrite(nbd, buf, sizeof buf, off, 0) == 0, "%s: write", what);
    test_nbd_expect(nbd, buf, sizeof buf, off, 0, what);
}

/* A raw client that sends half of a 1 MiB write and hangs up.  Returns
 * false if the server refused the connection (no greeting). */
static bool
vanish_mid_write(const struct test_server *s)
{
    static uint8_t half[512 * KIB];
    struct raw_opt_reply *r = malloc(sizeof *r);
    int fd = test_connect_unix(s->sock);
    uint8_t g[18], opt[64];
    uint32_t flags = htobe32(3);
    size_t len;

    CHECK(fd >= 0 && r, "connect");
    if (test_read_full(fd, g, sizeof g, 3000) != (ssize_t)sizeof g) {
        close(fd);
        free(r);
        return false;
    }
    raw_write_full(fd, &flags, 4);
    len = raw_build_go(opt, "mem", NULL, 0);
    raw_send_opt(fd, RAW_OPT_GO, opt, (uint32_t)len);
    do {
        CHECK(raw_read_opt_reply(fd, r, 5000) == 0, "no reply to GO");
    } while (r->type == RAW_REP_INFO);
    CHECK(r->type == RAW_REP_ACK, "GO mem: reply 0x%x", r->type);
    raw_send_request(fd, 0, RAW_CMD_WRITE, 1, 0, 1 * MIB);
    raw_write_full(fd, half, sizeof half);
    close(fd);
    free(r);
    return true;
}

static void
test_max_connections(void)
{
    struct test_server s = { 0 };
    struct nbd_handle *a, *b, *c;

    test_server_start(&s, conf_maxconn);
    a = test_nbd_open(&s, "mem");
    b = test_nbd_open(&s, "mem");
    c = test_nbd_create();
    CHECK_NBD(nbd_set_export_name(c, "mem") == 0, "export");
    CHECK(nbd_connect_unix(c, s.sock) == -1,
          "a third client must be refused with max-connections = 2");
    nbd_close(c);
    rw_check(a, 0, 1, "first client while a third was refused");
    rw_check(b, 65536, 2, "second client while a third was refused");

    /* A slot frees when a client leaves. */
    test_nbd_close(b);
    c = open_retry(&s, "mem", 3000);
    CHECK(c != NULL, "a slot did not free after a client disconnected");
    rw_check(c, 131072, 3, "client in a freed slot");
    test_nbd_close(c);

    /* Clients that vanish in the middle of a write payload must free
     * their slot too. */
    for (int i = 0; i < 4; i++) {
        bool in = false;

        /* The previous one may still be on its way out. */
        for (int t = 0; t < 20 && !in; t++) {
            in = vanish_mid_write(&s);
            if (!in) {
                test_sleep_ms(100);
            }
        }
        SOFT_CHECK(in, "client %d was refused: a client that vanished "
                   "mid-write still holds its max-connections slot", i + 1);
        if (!in) {
            break;
        }
    }
    c = open_retry(&s, "mem", 3000);
    SOFT_CHECK(c != NULL, "after clients vanished mid-write, no slot is "
               "free: their connections were never released "
               "(max-connections = 2, one client connected)");
    if (c) {
        rw_check(c, 4096, 4, "after clients vanished mid-write");
        test_nbd_close(c);
    }
    rw_check(a, 0, 5, "first client after others vanished");
    test_nbd_close(a);
    test_server_check_alive(&s);
    test_server_stop_soft(&s, 5000, "max-connections server");
    printf("ok: max-connections refuses the extra client and frees slots\n");
}

/* --- allow lists ---------------------------------------------------- */

static const char conf_allow[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock, 127.0.0.1:@PORT@\n"
    "[status]\n"
    "socket = none\n"
    "[export open]\n"
    "backend = memory\n"
    "size = 1M\n"
    "[export hidden]\n"
    "backend = memory\n"
    "size = 2M\n"
    "allow = 10.0.0.0/8\n"
    "[export local]\n"
    "backend = memory\n"
    "size = 3M\n"
    "allow = 127.0.0.1\n"
    "[export unixonly]\n"
    "backend = memory\n"
    "size = 4M\n"
    "allow = unix\n";

struct names {
    int n;
    char name[8][32];
};

static int
names_cb(void *opaque, const char *name, const char *desc)
{
    struct names *l = opaque;

    (void)desc;
    if (l->n < 8) {
        snprintf(l->name[l->n], sizeof l->name[0], "%s", name);
    }
    l->n++;
    return 0;
}

static bool
listed(const struct names *l, const char *name)
{
    for (int i = 0; i < l->n && i < 8; i++) {
        if (strcmp(l->name[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static struct names
list_exports(const struct test_server *s, bool tcp)
{
    struct nbd_handle *nbd = test_nbd_create();
    struct names l = { 0 };
    char port[16];

    snprintf(port, sizeof port, "%d", s->port);
    CHECK_NBD(nbd_set_opt_mode(nbd, true) == 0, "opt mode");
    CHECK_NBD((tcp ? nbd_connect_tcp(nbd, "127.0.0.1", port)
                   : nbd_connect_unix(nbd, s->sock)) == 0, "connect");
    CHECK_NBD(nbd_opt_list(nbd, (nbd_list_callback){ .callback = names_cb,
                                                     .user_data = &l }) >= 0,
              "NBD_OPT_LIST");
    nbd_opt_abort(nbd);
    nbd_close(nbd);
    return l;
}

static int
go(const struct test_server *s, bool tcp, const char *export)
{
    struct nbd_handle *nbd = test_nbd_create();
    char port[16];
    int r;

    snprintf(port, sizeof port, "%d", s->port);
    CHECK_NBD(nbd_set_export_name(nbd, export) == 0, "export");
    r = tcp ? nbd_connect_tcp(nbd, "127.0.0.1", port)
            : nbd_connect_unix(nbd, s->sock);
    if (r == 0) {
        rw_check(nbd, 4096, 7, export);
        test_nbd_close(nbd);
    } else {
        nbd_close(nbd);
    }
    return r;
}

/* The exact option reply to GO for export over TCP. */
static uint32_t
raw_tcp_go_reply(const struct test_server *s, const char *export)
{
    int fd = test_connect_tcp(s->port);
    struct raw_opt_reply *r = malloc(sizeof *r);
    uint8_t buf[256];
    size_t len;
    uint32_t type;

    CHECK(fd >= 0 && r, "tcp connect");
    raw_greet(fd, 3);
    len = raw_build_go(buf, export, NULL, 0);
    raw_send_opt(fd, RAW_OPT_GO, buf, (uint32_t)len);
    do {
        CHECK(raw_read_opt_reply(fd, r, 5000) == 0, "no reply to GO");
    } while (r->type == RAW_REP_INFO);
    type = r->type;
    if (type != RAW_REP_ACK) {
        raw_send_opt(fd, RAW_OPT_ABORT, NULL, 0);
    }
    close(fd);
    free(r);
    return type;
}

/* LIST_META_CONTEXT over TCP for export: the final reply type. */
static uint32_t
raw_tcp_list_meta(const struct test_server *s, const char *export)
{
    int fd = test_connect_tcp(s->port);
    struct raw_opt_reply *r = malloc(sizeof *r);
    uint8_t q[128];
    uint32_t v, nl = (uint32_t)strlen(export), type;
    size_t p = 0;

    CHECK(fd >= 0 && r, "tcp connect");
    raw_greet(fd, 3);
    raw_send_opt(fd, RAW_OPT_STRUCTURED_REPLY, NULL, 0);
    CHECK(raw_read_opt_reply(fd, r, 5000) == 0 && r->type == RAW_REP_ACK,
          "structured replies");
    v = htobe32(nl);
    memcpy(q + p, &v, 4);
    p += 4;
    memcpy(q + p, export, nl);
    p += nl;
    v = 0;
    memcpy(q + p, &v, 4);
    p += 4;
    raw_send_opt(fd, RAW_OPT_LIST_META_CONTEXT, q, (uint32_t)p);
    do {
        CHECK(raw_read_opt_reply(fd, r, 5000) == 0, "LIST_META_CONTEXT");
    } while (r->type == RAW_REP_META_CONTEXT);
    type = r->type;
    raw_send_opt(fd, RAW_OPT_ABORT, NULL, 0);
    close(fd);
    free(r);
    return type;
}

static void
test_allow(void)
{
    struct test_server s = { 0 };
    struct names l;

    test_server_start(&s, conf_allow);
    l = list_exports(&s, true);
    CHECK(listed(&l, "open") && listed(&l, "local"),
          "TCP LIST must show 'open' and 'local'");
    CHECK(!listed(&l, "hidden"), "an export allowed only to 10.0.0.0/8 "
          "must not be listed to a 127.0.0.1 client");
    CHECK(!listed(&l, "unixonly"), "'allow = unix' export listed over TCP");
    CHECK(l.n == 2, "TCP LIST: %d exports, want 2", l.n);

    CHECK(go(&s, true, "hidden") == -1, "GO 'hidden' from 127.0.0.1 must fail");
    CHECK(raw_tcp_go_reply(&s, "hidden") == RAW_REP_ERR_POLICY,
          "GO 'hidden' from 127.0.0.1 must be NBD_REP_ERR_POLICY");
    CHECK(go(&s, true, "unixonly") == -1, "GO 'unixonly' over TCP must fail");
    /* Meta-context options must not reveal a refused export either. */
    CHECK(raw_tcp_list_meta(&s, "hidden") & UINT32_C(0x80000000),
               "LIST_META_CONTEXT for 'hidden' from 127.0.0.1 succeeded: "
               "the allow list is not applied, the export's existence and "
               "contexts leak (nonexistent exports get ERR_UNKNOWN)");
    CHECK(go(&s, true, "local") == 0, "GO 'local' from 127.0.0.1 must work");
    CHECK(go(&s, true, "open") == 0, "GO 'open' over TCP must work");

    l = list_exports(&s, false);
    CHECK(listed(&l, "open") && listed(&l, "unixonly") && !listed(&l, "hidden")
          && !listed(&l, "local") && l.n == 2,
          "Unix LIST must show exactly 'open' and 'unixonly' (got %d)", l.n);
    CHECK(go(&s, false, "unixonly") == 0, "GO 'unixonly' over Unix must work");
    CHECK(go(&s, false, "local") == -1, "GO 'local' over Unix must fail");
    test_server_check_alive(&s);
    test_server_stop(&s);
    printf("ok: allow lists by network and by transport\n");
}

/* --- pinning, dying clients, graceful shutdown ---------------------- */

static const char conf_threads[] =
    "[server]\n"
    "iothreads = 2\n"
    "log-level = debug\n"
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "max-connections = 4\n"
    "[status]\n"
    "socket = none\n"
    "[export pinned]\n"
    "backend = memory\n"
    "size = 16M\n"
    "iothread = 1\n"
    "[export file]\n"
    "backend = file\n"
    "path = @DIR@/disk.img\n";

#define FILE_SIZE (64 * MIB)

static void
test_pinned(const struct test_server *s)
{
    struct nbd_handle *h[3];

    for (int i = 0; i < 3; i++) {
        h[i] = test_nbd_open(s, "pinned");
    }
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 3; i++) {
            rw_check(h[i], (uint64_t)(i * 4 + round) * MIB + 17,
                     (uint32_t)(round * 3 + i), "pinned export");
        }
    }
    for (int i = 0; i < 3; i++) {
        test_nbd_close(h[i]);
    }
    CHECK(test_server_log_has(s, "moved to iothread 1") ||
          test_server_log_has(s, "connected on iothread 1"),
          "no connection to the pinned export ran on iothread 1");
    printf("ok: export pinned to iothread 1 serves correctly\n");
}

/* A child process floods async writes and exits without waiting.
 * Returns false if the server refused its connection. */
static bool
die_with_requests_in_flight(const struct test_server *s, bool kill_it)
{
    pid_t pid = fork();
    int status;

    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        struct nbd_handle *nbd = nbd_create();
        static uint8_t buf[1 * MIB];

        alarm(30);
        if (nbd == NULL || nbd_set_export_name(nbd, "file") < 0 ||
            nbd_connect_unix(nbd, s->sock) < 0) {
            _exit(2);
        }
        for (int i = 0; i < 48; i++) {
            if (nbd_aio_pwrite(nbd, buf, sizeof buf, (uint64_t)i * MIB,
                               NBD_NULL_COMPLETION, 0) < 0) {
                _exit(3);
            }
        }
        /* Let some go out, then vanish with the rest in flight. */
        for (int i = 0; i < 5; i++) {
            nbd_poll(nbd, 1);
        }
        if (kill_it) {
            raise(SIGKILL);
        }
        _exit(0);
    }
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
        return false;
    }
    CHECK(kill_it ? WIFSIGNALED(status)
                  : (WIFEXITED(status) && WEXITSTATUS(status) == 0),
          "the dying client did not get to send its writes (status 0x%x)",
          (unsigned)status);
    return true;
}

static void
test_dying_clients(struct test_server *s)
{
    struct nbd_handle *other = test_nbd_open(s, "pinned");
    struct nbd_handle *h[4];
    int n = 0;

    for (int i = 0; i < 6; i++) {
        bool in = false;

        for (int t = 0; t < 20 && !in; t++) {
            in = die_with_requests_in_flight(s, i % 2 == 0);
            if (!in) {
                test_sleep_ms(100);
            }
        }
        SOFT_CHECK(in, "dying client %d was refused (max-connections = 4, "
                   "one other client): clients that died with requests in "
                   "flight still hold their slots", i + 1);
        if (!in) {
            break;
        }
        rw_check(other, (uint64_t)i * 65536, 0x50 + (uint32_t)i,
                 "a client while another died with requests in flight");
    }
    test_server_check_alive(s);
    test_nbd_close(other);

    /* All four slots (max-connections = 4) must be usable again. */
    for (n = 0; n < 4; n++) {
        h[n] = open_retry(s, "pinned", 3000);
        if (h[n] == NULL) {
            break;
        }
    }
    SOFT_CHECK(n == 4, "only %d of max-connections = 4 clients could connect "
          "after 6 clients died with requests in flight: their connections "
          "were never freed", n);
    for (int i = 0; i < n; i++) {
        rw_check(h[i], (uint64_t)i * MIB, 0x60 + (uint32_t)i, "after deaths");
        test_nbd_close(h[i]);
    }
    printf("ok: clients dying with requests in flight disturb nobody\n");
}

struct wop {
    uint64_t off;
    int done, err;
};

static int
wop_done(void *opaque, int *error)
{
    struct wop *w = opaque;

    w->done++;
    w->err = *error;
    return 1;
}

#define NW 256

static void
test_graceful_shutdown(struct test_server *s, int filefd)
{
    struct nbd_handle *nbd = test_nbd_open(s, "file");
    static struct wop w[NW];
    uint8_t *buf = malloc(NW * 256 * KIB), *got = malloc(256 * KIB);
    int issued = 0, ok = 0, failed = 0, status = -1;
    int64_t t_term = 0, deadline;
    bool termed = false;

    CHECK(buf && got, "oom");
    test_fill(buf, NW * 256 * KIB, 0, 0xdead);
    deadline = test_now_ms() + 30000;
    /* Keep about 32 writes in flight; SIGTERM after the first 16. */
    for (;;) {
        if (!nbd_aio_is_ready(nbd) && !nbd_aio_is_processing(nbd)) {
            break; /* closed by the server */
        }
        while (issued < NW && nbd_aio_in_flight(nbd) < 32) {
            w[issued].off = (uint64_t)issued * 256 * KIB;
            if (nbd_aio_pwrite(nbd, buf + w[issued].off, 256 * KIB,
                               w[issued].off,
                               (nbd_completion_callback){
                                   .callback = wop_done,
                                   .user_data = &w[issued] },
                               0) < 0) {
                break; /* connection closing */
            }
            issued++;
        }
        if (!termed && issued >= 16) {
            kill(s->pid, SIGTERM);
            t_term = test_now_ms();
            termed = true;
        }
        if (nbd_aio_in_flight(nbd) == 0 && issued >= NW) {
            break;
        }
        if (nbd_poll(nbd, 100) == -1) {
            break; /* connection closed */
        }
        CHECK(test_now_ms() < deadline, "writes neither completed nor "
              "failed within 30 s of SIGTERM");
        if (termed && test_now_ms() - t_term > 15000) {
            int acked = 0;

            for (int i = 0; i < issued; i++) {
                acked += w[i].done && w[i].err == 0;
            }
            FAIL("15 s after SIGTERM the connection is still open: %d writes "
                 "issued, %d acknowledged, %d still in flight (the server "
                 "neither answers them nor closes)", issued, acked,
                 (int)nbd_aio_in_flight(nbd));
        }
    }
    {
        int acked = 0;

        for (int i = 0; i < issued; i++) {
            acked += w[i].done && w[i].err == 0;
        }
        printf("after SIGTERM (%" PRId64 " ms): %d writes issued, %d "
               "acknowledged, connection %s\n", test_now_ms() - t_term,
               issued, acked,
               nbd_aio_is_ready(nbd) ? "still open" : "closed");
        /* Issued after the server started draining, yet acknowledged: the
         * server went on reading requests. */
        SOFT_CHECK(acked < NW, "all %d writes were accepted although SIGTERM "
                   "came after 16: the draining server kept reading new "
                   "requests", NW);
    }
    /* Reap the server: it must exit 0 promptly. */
    for (;;) {
        pid_t r = waitpid(s->pid, &status, WNOHANG);

        if (r == s->pid) {
            s->pid = 0;
            break;
        }
        if (test_now_ms() - t_term > 20000) {
            FAIL("polltgtd did not exit within 20 s of SIGTERM with a client "
                 "that had writes in flight");
        }
        test_sleep_ms(20);
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "polltgtd exited with wait status 0x%x after SIGTERM",
          (unsigned)status);
    for (int i = 0; i < issued; i++) {
        if (w[i].done && w[i].err == 0) {
            ok++;
            CHECK(pread(filefd, got, 256 * KIB, (off_t)w[i].off) == 256 * KIB &&
                  memcmp(got, buf + w[i].off, 256 * KIB) == 0,
                  "write %d was acknowledged before shutdown but is not in "
                  "the backing file", i);
        } else {
            failed++;
            CHECK(!w[i].done || w[i].err == ESHUTDOWN || w[i].err != 0,
                  "write %d: bad completion", i);
        }
    }
    nbd_close(nbd);
    free(buf);
    free(got);
    printf("ok: SIGTERM with writes in flight: %d acknowledged and durable, "
           "%d failed or cut off, exit 0 after %" PRId64 " ms\n",
           ok, failed, test_now_ms() - t_term);
}

/* --- A client that stops reading, at SIGTERM ---------------------- */

static const char conf_stall[] =
    "[server]\n"
    "drain-timeout = 2s\n"
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 64M\n";

/* Reads of 4 MiB of data that libnbd sends but, never polled, does not
 * take the replies of: far more than the socket holds stays queued in the server,
 * so its drain cannot finish.  It must give up at the 2 s drain timeout
 * (not hang, and not abort on the socket left in its loop, as it once
 * did), close the connection and exit 0. */
static void
test_stalled_reader_shutdown(void)
{
    struct test_server s;
    struct nbd_handle *nbd;
    static uint8_t buf[16][4 * MIB];
    int status = -1;
    int64_t t_term, ms = -1;

    test_server_prepare(&s);
    test_server_start(&s, conf_stall);
    nbd = test_nbd_open(&s, "mem");
    /* Data, not holes: a hole's reply is a few bytes, whatever its size. */
    for (int i = 0; i < 16; i++) {
        memset(buf[i], 0x5a + i, sizeof buf[i]);
        CHECK_NBD(nbd_pwrite(nbd, buf[i], sizeof buf[i],
                             (uint64_t)i * sizeof buf[i], 0) == 0,
                  "write %d", i);
    }
    for (int i = 0; i < 16; i++) {
        CHECK_NBD(nbd_aio_pread(nbd, buf[i], sizeof buf[i],
                                (uint64_t)i * sizeof buf[i],
                                NBD_NULL_COMPLETION, 0) >= 0,
                  "read %d", i);
    }
    test_sleep_ms(300);
    CHECK(kill(s.pid, SIGTERM) == 0, "kill: %s", strerror(errno));
    t_term = test_now_ms();
    while (test_now_ms() - t_term < 20000) {
        if (waitpid(s.pid, &status, WNOHANG) == s.pid) {
            ms = test_now_ms() - t_term;
            s.pid = 0;
            break;
        }
        test_sleep_ms(20);
    }
    CHECK(ms >= 0, "polltgtd did not exit within 20 s of SIGTERM with a "
          "client that stopped reading (drain-timeout = 2s)");
    SOFT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "polltgtd exited with wait status 0x%x after SIGTERM with a "
               "client that stopped reading", (unsigned)status);
    SOFT_CHECK(ms >= 1900, "polltgtd exited %" PRId64 " ms after SIGTERM: "
               "before its 2 s drain timeout, with replies still queued", ms);
    SOFT_CHECK(test_server_log_has(&s, "still busy after the drain timeout; "
                                       "closing them"),
               "no log line for the connection the drain could not end");
    if (test_soft_failures) {
        test_server_dump_log(&s);
    }
    nbd_close(nbd);
    test_current_server = NULL;
    test_rmdir(s.dir);
    printf("ok: a client that stopped reading: exit 0x%x %" PRId64 " ms "
           "after SIGTERM\n", (unsigned)status, ms);
}

static void
test_threads(void)
{
    struct test_server s;
    char path[512];
    int fd;

    test_server_prepare(&s);
    snprintf(path, sizeof path, "%s/disk.img", s.dir);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && ftruncate(fd, FILE_SIZE) == 0, "create %s", path);
    test_server_start(&s, conf_threads);
    test_pinned(&s);
    test_dying_clients(&s);
    test_server_check_alive(&s);
    test_server_stop_soft(&s, 5000, "after clients died");
    close(fd);

    /* A fresh server for the shutdown: nothing left over. */
    test_server_prepare(&s);
    snprintf(path, sizeof path, "%s/disk.img", s.dir);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && ftruncate(fd, FILE_SIZE) == 0, "create %s", path);
    test_server_start(&s, conf_threads);
    test_graceful_shutdown(&s, fd);
    close(fd);
    test_current_server = NULL;
    test_rmdir(s.dir);
}

int
main(void)
{
    test_init("test-nbd-serving", 300);
    test_max_connections();
    test_allow();
    test_threads();
    test_stalled_reader_shutdown();
    return test_finish();
}
