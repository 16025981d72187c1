/* SPDX-License-Identifier: MIT */
/*
 * Connection churn and idle connections, and what they leave behind:
 *
 *  - 1000 NBD connections and 1000 iSCSI sessions, one after the other,
 *    each doing one read; every other one leaves politely
 *    (NBD_CMD_DISC, Logout), the others just close the socket;
 *  - 200 idle NBD connections and 200 idle iSCSI sessions at once, then
 *    all closed; IDLE_ROUNDS times.
 *
 * After each the server's open descriptors are exactly what they were
 * (within a few seconds: closing is asynchronous) and another client is
 * served.  RSS: after the churn it must be within FAULT_RSS_KEEP_KB of the
 * start.  400 connections at once take some 30 MiB, which glibc keeps
 * for reuse rather than giving it back (freed chunks below live ones), so
 * the idle rounds check that it is reused: from the end of the second
 * round to the end of the last, RSS grows by less than FAULT_RSS_ROUND_KB,
 * a fraction of a KiB per connection per round.  The figures are printed.
 */
#include <config.h>

#define TEST_SERVER_DIR_PREFIX "polltgt-faults"
#include "../iscsi/iscsi-test-helpers.h"
#include "faults-test-helpers.h"

#define CYCLES 1000
#define IDLE 200
#define IDLE_ROUNDS 4
/* Freed memory the allocator may keep, and the I/O thread's caches. */
#define FAULT_RSS_KEEP_KB (8 * 1024)
#define FAULT_RSS_ROUND_KB 2048

static const char conf[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 16M\n";

static struct test_server srv;
static int fd_base;
static long rss_base;

static struct nbd_handle *
nbd_open(void)
{
    struct nbd_handle *nbd = nbd_create();

    CHECK(nbd != NULL && nbd_set_export_name(nbd, "mem") == 0, "nbd_create");
    CHECK(nbd_connect_unix(nbd, srv.sock) == 0, "NBD connect: %s",
          nbd_get_error());
    return nbd;
}

static struct iscsi_context *
iscsi_open(void)
{
    struct iscsi_test_target t;

    test_iscsi_export_target(&srv, "mem", &t);
    return test_iscsi_login(&t, NULL, "churn");
}

/* Back to the start: descriptors exactly; returns the RSS. */
static long
check_released(const char *after)
{
    int fds = fault_wait_fds(&srv, fd_base, 10000);
    long rss = fault_rss_kb(srv.pid);

    printf("%s: after %s: %d descriptors (%d at the start), RSS %ld KiB "
           "(%ld at the start)\n", test_name, after, fds, fd_base, rss,
           rss_base);
    CHECK(fds == fd_base, "after %s the server holds %d descriptors, had "
          "%d", after, fds, fd_base);
    fault_nbd_served(&srv, "mem", MIB, 11, after);
    fault_iscsi_served(&srv, "mem", 4096, 12, after);
    return rss;
}

static void
churn(void)
{
    static uint8_t buf[4096];
    int64_t t0 = test_now_ms(), t1;
    long rss;

    for (int i = 0; i < CYCLES; i++) {
        struct nbd_handle *nbd = nbd_open();

        CHECK(nbd_pread(nbd, buf, sizeof buf, (uint64_t)(i % 64) * 4096, 0)
              == 0, "NBD read on connection %d: %s", i, nbd_get_error());
        if (i % 2 == 0) {
            CHECK(nbd_shutdown(nbd, 0) == 0, "NBD shutdown: %s",
                  nbd_get_error());
        }
        nbd_close(nbd);
    }
    t1 = test_now_ms();
    for (int i = 0; i < CYCLES; i++) {
        struct iscsi_context *ic = iscsi_open();
        struct scsi_task *task = iscsi_read16_sync(ic, 0, (uint64_t)(i % 64),
                                                   512, 512, 0, 0, 0, 0, 0);

        /* The first command of a session may meet the power-on unit
         * attention: any completed status will do. */
        CHECK(task != NULL, "iSCSI read on session %d: %s", i,
              iscsi_get_error(ic));
        scsi_free_scsi_task(task);
        if (i % 2 == 0) {
            test_iscsi_logout(ic, "churn");
        } else {
            iscsi_destroy_context(ic);
        }
    }
    printf("%s: %d NBD connections in %.1f s, %d iSCSI sessions in %.1f s\n",
           test_name, CYCLES, (double)(t1 - t0) / 1000.0, CYCLES,
           (double)(test_now_ms() - t1) / 1000.0);
    test_server_check_alive(&srv);
    rss = check_released("1000 connect/disconnect cycles of each protocol");
    FAULT_RSS_CHECK(rss - rss_base < FAULT_RSS_KEEP_KB, "after the churn "
                    "the server's RSS is %ld KiB, %ld at the start", rss,
                    rss_base);
}

/* One round of idle connections; returns the RSS after they went. */
static long
idle(void)
{
    static struct nbd_handle *nbds[IDLE];
    static struct iscsi_context *ics[IDLE];
    int fds;

    for (int i = 0; i < IDLE; i++) {
        nbds[i] = nbd_open();
        ics[i] = iscsi_open();
    }
    fds = fault_fd_count(srv.pid);
    printf("%s: %d idle NBD connections and %d idle iSCSI sessions: %d "
           "descriptors, RSS %ld KiB\n", test_name, IDLE, IDLE, fds,
           fault_rss_kb(srv.pid));
    CHECK(fds >= fd_base + 2 * IDLE, "%d descriptors with %d connections "
          "open", fds, 2 * IDLE);
    /* They do not stop the others. */
    fault_nbd_served(&srv, "mem", 2 * MIB, 13, "idle connections");
    fault_iscsi_served(&srv, "mem", 8192, 14, "idle connections");
    for (int i = 0; i < IDLE; i++) {
        if (i % 2 == 0) {
            CHECK(nbd_shutdown(nbds[i], 0) == 0, "NBD shutdown: %s",
                  nbd_get_error());
            test_iscsi_logout(ics[i], "idle");
        } else {
            iscsi_destroy_context(ics[i]);
        }
        nbd_close(nbds[i]);
    }
    return check_released("200 idle connections of each protocol");
}

int
main(void)
{
    test_init("test-faults-churn", 120);
    test_iscsi_server_start(&srv, conf);
    /* The baseline after one client of each kind: buffers that stay. */
    fault_nbd_served(&srv, "mem", 0, 1, "start");
    fault_iscsi_served(&srv, "mem", 0, 2, "start");
    fd_base = fault_settled_fds(&srv);
    rss_base = fault_rss_kb(srv.pid);
    churn();
    {
        long second = 0, last = 0;

        for (int r = 1; r <= IDLE_ROUNDS; r++) {
            last = idle();
            if (r == 2) {
                second = last;
            }
        }
        FAULT_RSS_CHECK(last - second < FAULT_RSS_ROUND_KB, "the server's "
                        "RSS grew from %ld to %ld KiB over %d rounds of %d "
                        "idle connections: connections leave memory behind",
                        second, last, IDLE_ROUNDS - 2, 2 * IDLE);
    }
    test_server_check_alive(&srv);
    test_server_stop(&srv);
    return test_finish();
}
