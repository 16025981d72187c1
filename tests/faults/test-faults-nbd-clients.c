/* SPDX-License-Identifier: MIT */
/*
 * NBD clients that misbehave in the data phase (the handshake's own
 * timeouts are tested with the limits):
 *
 *  - disconnecting mid-request: in the header, or after half of a 1 MiB
 *    write's payload, or with several writes queued;
 *  - never reading replies: a client sends 1 MiB READs until the server
 *    stops taking them, and never receives.  The server must push back
 *    (stop reading the socket) instead of queueing the replies: its RSS
 *    grows by less than FAULT_RSS_SLACK_KB while another client is served
 *    normally, and when the stuck client goes its descriptor is closed.
 *
 * After each fault the server is alive, another client is served, and the
 * server's open descriptors are back to what they were.
 */
#include <config.h>

#define TEST_SERVER_DIR_PREFIX "polltgt-faults"
#include "../nbd/nbd-test-helpers.h"
#include "faults-test-helpers.h"

/* What a connection may hold: its requests in flight (the server takes 64
 * at a time, here 1 MiB each) and buffers.  Queueing every reply asked
 * for would be up to 100 GiB. */
#define FAULT_RSS_SLACK_KB (128 * 1024)
#define MIB (1024u * 1024u)
#define READ_SIZE MIB

static const char conf[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 64M\n";

static struct test_server srv;

static void
mid_write_disconnects(int fd_base)
{
    static uint8_t payload[READ_SIZE];
    uint64_t size;
    uint16_t tflags;

    test_fill(payload, sizeof payload, 0, 1);
    for (int i = 0; i < 30; i++) {
        int fd = raw_connect_go(srv.sock, "mem", false, false, &size,
                                &tflags);

        switch (i % 3) {
        case 0: { /* 10 bytes of a 28-byte header */
            uint8_t h[10] = { 0x25, 0x60, 0x95, 0x13, 0, 0, 0, 1, 0, 0 };

            raw_write_full(fd, h, sizeof h);
            break;
        }
        case 1: /* half of the payload */
            raw_send_request(fd, 0, RAW_CMD_WRITE, 1, 0, READ_SIZE);
            raw_write_full(fd, payload, READ_SIZE / 2 + (size_t)i);
            break;
        default: /* whole writes queued, then a cut one */
            for (int k = 0; k < 4; k++) {
                raw_send_request(fd, 0, RAW_CMD_WRITE, (uint64_t)k,
                                 (uint64_t)k * READ_SIZE, READ_SIZE);
                raw_write_full(fd, payload, READ_SIZE);
            }
            raw_send_request(fd, 0, RAW_CMD_WRITE, 9, 0, READ_SIZE);
            raw_write_full(fd, payload, 1000);
            break;
        }
        close(fd);
    }
    fault_nbd_served(&srv, "mem", 8 * MIB, 2, "mid-write disconnects");
    CHECK(fault_wait_fds(&srv, fd_base, 5000) == fd_base,
          "the server holds %d descriptors after the clients went, had %d",
          fault_fd_count(srv.pid), fd_base);
}

/* Send READ requests without receiving until the socket stays full for
 * 1 s; returns how many went. */
static unsigned
flood_reads(int fd)
{
    unsigned sent = 0;

    while (sent < 100000) {
        uint8_t h[28];
        uint32_t m = htobe32(RAW_REQUEST_MAGIC), c = htobe32(READ_SIZE);
        uint16_t z = 0;
        uint64_t k = htobe64(sent);
        uint64_t o = htobe64((uint64_t)(sent % 64) * READ_SIZE);
        int r;

        memcpy(h, &m, 4);
        memcpy(h + 4, &z, 2);
        memcpy(h + 6, &z, 2); /* NBD_CMD_READ */
        memcpy(h + 8, &k, 8);
        memcpy(h + 16, &o, 8);
        memcpy(h + 24, &c, 4);
        r = fault_send_until_stalled(fd, h, sizeof h, 1000);
        if (r == -ETIMEDOUT) {
            break;
        }
        CHECK(r == 0, "send: %s", strerror(-r));
        sent++;
    }
    return sent;
}

static void
reader_that_never_reads(int fd_base)
{
    long rss0 = fault_rss_kb(srv.pid), rss1;
    uint64_t size;
    uint16_t tflags;
    int fd = raw_connect_go(srv.sock, "mem", false, false, &size, &tflags);
    unsigned sent = flood_reads(fd);

    rss1 = fault_rss_kb(srv.pid);
    printf("%s: a client that never reads sent %u reads of 1 MiB before "
           "the server stopped taking them; server RSS %ld -> %ld KiB\n",
           test_name, sent, rss0, rss1);
    CHECK(sent < 100000, "the server took 100000 reads of 1 MiB from a "
          "client that reads no reply");
    FAULT_RSS_CHECK(rss1 - rss0 < FAULT_RSS_SLACK_KB, "the server's RSS "
                    "grew by %ld KiB for a client that reads no reply",
                    rss1 - rss0);
    /* Others are served while it hangs there. */
    fault_nbd_served(&srv, "mem", 16 * MIB, 3, "a stuck reader");
    fault_nbd_served(&srv, "mem", 24 * MIB, 4, "a stuck reader");
    close(fd);
    CHECK(fault_wait_fds(&srv, fd_base, 5000) == fd_base,
          "the server holds %d descriptors after the stuck client went, had "
          "%d", fault_fd_count(srv.pid), fd_base);
    printf("%s: after it went, RSS %ld KiB\n", test_name,
           fault_rss_kb(srv.pid));
    fault_nbd_served(&srv, "mem", 32 * MIB, 5, "the stuck reader left");
}

int
main(void)
{
    int fd_base;

    test_init("test-faults-nbd-clients", 60);
    test_server_start(&srv, conf);
    fault_nbd_served(&srv, "mem", 0, 1, "start");
    fd_base = fault_settled_fds(&srv);
    mid_write_disconnects(fd_base);
    reader_that_never_reads(fd_base);
    test_server_check_alive(&srv);
    test_server_stop(&srv);
    return test_finish();
}
