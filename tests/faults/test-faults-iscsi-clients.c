/* SPDX-License-Identifier: MIT */
/*
 * iSCSI initiators that misbehave in full feature phase (login timeouts
 * are tested with the limits):
 *
 *  - disconnecting mid-PDU: in a BHS, in a WRITE's immediate data, in the
 *    Data-Out answering an R2T;
 *  - never reading responses: an initiator sends 100000 READ(16)s of 256
 *    KiB, CmdSN after CmdSN, and never receives.  The target must not
 *    queue responses for them: its RSS grows by less than what its window
 *    of commands holds, and stops growing once that is full, while
 *    another initiator is served; when the stuck one goes its descriptor
 *    is closed.
 *
 * After each fault the target is alive, another initiator is served, and
 * its open descriptors are back to what they were.
 */
#include <config.h>

#define TEST_SERVER_DIR_PREFIX "polltgt-faults"
#include "../iscsi/iscsi-test-helpers.h"
#include "faults-test-helpers.h"

/* The target's command window times 256 KiB, and buffers; queueing every
 * response asked for would be up to 25 GiB. */
#define FAULT_RSS_SLACK_KB (128 * 1024)
#define READ_SIZE (256u * KIB)
#define MAX_READS 300000u

static const char conf[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "queue-depth = 16\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 64M\n";

static struct test_server srv;

static void
raw_login_mem(struct raw_iscsi *c, const char *const *keys)
{
    char iqn[300];

    CHECK(raw_iscsi_connect(c, srv.port) >= 0, "connect: %s",
          strerror(errno));
    snprintf(iqn, sizeof iqn, "%s:mem", ISCSI_TEST_IQN_PREFIX);
    CHECK(raw_iscsi_login(c, ISCSI_TEST_INITIATOR, iqn, keys) == 0,
          "raw login failed");
}

static void
mid_pdu_disconnects(int fd_base)
{
    static const char *const imm[] = { "ImmediateData=Yes", "InitialR2T=No",
                                       NULL };
    static const char *const r2t[] = { "ImmediateData=No", "InitialR2T=Yes",
                                       NULL };
    static uint8_t data[READ_SIZE];

    test_fill(data, sizeof data, 0, 1);
    for (int i = 0; i < 30; i++) {
        struct raw_iscsi c;
        uint8_t bhs[48], cdb[16];
        uint32_t dsl;

        raw_login_mem(&c, i % 3 == 2 ? r2t : imm);
        raw_cdb16(cdb, 0x8a, (uint64_t)i * 512, READ_SIZE / 512);
        raw_scsi_bhs(&c, bhs, 0, cdb, 16, false, true, READ_SIZE);
        switch (i % 3) {
        case 0: /* 20 bytes of a BHS */
            raw_write_full(c.fd, bhs, 20);
            break;
        case 1: /* half of the immediate data */
            dsl = c.max_xmit_dsl < c.first_burst ? c.max_xmit_dsl
                                                 : c.first_burst;
            bhs[5] = (uint8_t)(dsl >> 16);
            bhs[6] = (uint8_t)(dsl >> 8);
            bhs[7] = (uint8_t)dsl;
            raw_iscsi_send_ex(&c, bhs, data, dsl / 2, true, false, false);
            break;
        default: { /* half of the Data-Out the R2T asked for */
            struct raw_pdu p;
            uint8_t d[48] = { 0 };
            uint32_t want;

            CHECK(raw_iscsi_send(&c, bhs, NULL, 0), "send");
            CHECK(raw_iscsi_recv(&c, &p, 10000) == 0
                  && raw_opcode(&p) == RAW_ISCSI_OP_R2T, "no R2T");
            want = raw_get32(p.bhs + 44);
            dsl = want < c.max_xmit_dsl ? want : c.max_xmit_dsl;
            d[0] = RAW_ISCSI_OP_DATA_OUT;
            d[1] = 0x80;
            raw_put32(d + 16, raw_get32(p.bhs + 16));
            raw_put32(d + 20, raw_get32(p.bhs + 20));
            raw_put32(d + 28, c.expstatsn);
            raw_put32(d + 40, raw_get32(p.bhs + 40));
            d[5] = (uint8_t)(dsl >> 16);
            d[6] = (uint8_t)(dsl >> 8);
            d[7] = (uint8_t)dsl;
            raw_pdu_free(&p);
            raw_iscsi_send_ex(&c, d, data, dsl / 2, true, false, false);
            break;
        }
        }
        close(c.fd);
    }
    fault_iscsi_served(&srv, "mem", 16384, 2, "mid-PDU disconnects");
    CHECK(fault_wait_fds(&srv, fd_base, 5000) == fd_base,
          "the target holds %d descriptors after the initiators went, had "
          "%d", fault_fd_count(srv.pid), fd_base);
}

/* Send READ(16)s, without receiving, until the socket stays full for
 * 1 s or count went; returns how many went. */
static unsigned
flood_reads(struct raw_iscsi *c, unsigned count)
{
    unsigned sent = 0;

    while (sent < count) {
        uint8_t bhs[48], cdb[16];
        int r;

        raw_cdb16(cdb, 0x88, (uint64_t)(sent % 256) * (READ_SIZE / 512),
                  READ_SIZE / 512);
        raw_scsi_bhs(c, bhs, 0, cdb, 16, true, false, READ_SIZE);
        r = fault_send_until_stalled(c->fd, bhs, sizeof bhs, 1000);
        if (r == -ETIMEDOUT) {
            break;
        }
        CHECK(r == 0, "send: %s", strerror(-r));
        sent++;
        c->itt++;
        c->cmdsn++;
    }
    return sent;
}

/*
 * The target may read and ignore what comes past its CmdSN window (RFC
 * 7143 4.2.2.1) or stop reading; either way its memory must stop growing
 * once the window is full: RSS after FLOOD_FIRST commands and after
 * FLOOD_ALL differ by less than FLAT_SLACK_KB.  (Answering each command
 * past the window with TASK SET FULL queued some 200 bytes a command.)
 */
#define FLOOD_FIRST 20000u
#define FLOOD_ALL 100000u
#define FLAT_SLACK_KB 4096

static void
initiator_that_never_reads(int fd_base)
{
    long rss0 = fault_rss_kb(srv.pid), rss1, rss2;
    struct raw_iscsi c;
    unsigned sent;

    raw_login_mem(&c, NULL);
    sent = flood_reads(&c, FLOOD_FIRST);
    rss1 = fault_rss_kb(srv.pid);
    sent += flood_reads(&c, FLOOD_ALL - sent);
    rss2 = fault_rss_kb(srv.pid);
    printf("%s: an initiator that never reads sent %u READ(16)s of 256 KiB; "
           "target RSS %ld KiB before, %ld after %u, %ld at the end\n",
           test_name, sent, rss0, rss1, FLOOD_FIRST, rss2);
    FAULT_RSS_CHECK(rss1 - rss0 < FAULT_RSS_SLACK_KB, "the target's RSS "
                    "grew by %ld KiB for an initiator that reads no "
                    "response", rss1 - rss0);
    FAULT_RSS_CHECK(rss2 - rss1 < FLAT_SLACK_KB, "the target's RSS went on "
                    "growing, by %ld KiB, under an initiator that reads no "
                    "response", rss2 - rss1);
    fault_iscsi_served(&srv, "mem", 32768, 3, "a stuck initiator");
    fault_nbd_served(&srv, "mem", 24 * MIB, 4, "a stuck initiator");
    close(c.fd);
    CHECK(fault_wait_fds(&srv, fd_base, 5000) == fd_base,
          "the target holds %d descriptors after the stuck initiator went, "
          "had %d", fault_fd_count(srv.pid), fd_base);
    printf("%s: after it went, RSS %ld KiB\n", test_name,
           fault_rss_kb(srv.pid));
    fault_iscsi_served(&srv, "mem", 65536, 5, "the stuck initiator left");
}

int
main(void)
{
    int fd_base;

    test_init("test-faults-iscsi-clients", 60);
    test_iscsi_server_start(&srv, conf);
    fault_iscsi_served(&srv, "mem", 0, 1, "start");
    fd_base = fault_settled_fds(&srv);
    mid_pdu_disconnects(fd_base);
    initiator_that_never_reads(fd_base);
    test_server_check_alive(&srv);
    test_server_stop(&srv);
    return test_finish();
}
