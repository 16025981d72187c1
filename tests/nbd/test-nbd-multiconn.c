/* SPDX-License-Identifier: MIT */
/*
 * Multiple connections to one export (NBD_FLAG_CAN_MULTI_CONN): a write
 * completed on connection A is visible on B and C, a FLUSH on B covers
 * it, and for a file export the bytes are in the backing file (read with
 * pread(2) by the test, the durability check) after A's write and B's
 * flush.  Six connections spread over two I/O threads write and read each
 * other's regions concurrently.
 */
#include <config.h>

#include <libnbd.h>

#include "nbd-test-helpers.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define SIZE (32 * MIB)
#define NCONN 6

static const char conf_text[] =
    "[server]\n"
    "iothreads = 2\n"
    "log-level = debug\n"
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 32M\n"
    "[export file]\n"
    "backend = file\n"
    "path = @DIR@/disk.img\n";

static void
abc(const struct test_server *s, const char *export, int filefd)
{
    struct nbd_handle *a = test_nbd_open(s, export);
    struct nbd_handle *b = test_nbd_open(s, export);
    struct nbd_handle *c = test_nbd_open(s, export);
    uint8_t *buf = malloc(1 * MIB), *got = malloc(1 * MIB);

    CHECK(buf && got, "oom");
    CHECK(nbd_can_multi_conn(a) == 1 && nbd_can_multi_conn(b) == 1 &&
          nbd_can_multi_conn(c) == 1,
          "%s: NBD_FLAG_CAN_MULTI_CONN must be advertised", export);

    for (int round = 0; round < 8; round++) {
        struct nbd_handle *w = round % 3 == 0 ? a : round % 3 == 1 ? b : c;
        struct nbd_handle *f = round % 3 == 0 ? b : round % 3 == 1 ? c : a;
        struct nbd_handle *r = round % 3 == 0 ? c : round % 3 == 1 ? a : b;
        uint64_t off = (uint64_t)round * 3 * MIB + (uint64_t)round * 511;
        size_t len = round % 2 ? 1 * MIB : 4096 + (size_t)round * 777;

        test_fill(buf, len, off, 0x100 + (uint32_t)round);
        CHECK_NBD(nbd_pwrite(w, buf, len, off, 0) == 0, "%s: write", export);
        /* Visible at once on another connection... */
        test_nbd_expect(r, buf, len, off, 0, "write on one connection, "
                        "read on another");
        /* ...and covered by a flush on a third. */
        CHECK_NBD(nbd_flush(f, 0) == 0, "%s: flush on another connection",
                  export);
        test_nbd_expect(r, buf, len, off, 0, "after the flush");
        if (filefd >= 0) {
            ssize_t n = pread(filefd, got, len, (off_t)off);

            CHECK(n == (ssize_t)len, "pread of the backing file: %zd", n);
            CHECK(memcmp(got, buf, len) == 0,
                  "round %d: the backing file does not hold the data written "
                  "on one connection and flushed on another", round);
        }
    }

    /* Zeroes and trim through one connection, seen through the others. */
    CHECK_NBD(nbd_zero(a, 64 * KIB, 3 * MIB + 511, 0) == 0, "zero");
    CHECK_NBD(nbd_flush(b, 0) == 0, "flush");
    memset(buf, 0, 64 * KIB);
    test_nbd_expect(c, buf, 64 * KIB, 3 * MIB + 511, 0, "zeroed elsewhere");
    if (filefd >= 0) {
        CHECK(pread(filefd, got, 64 * KIB, 3 * MIB + 511) == 64 * KIB &&
              memcmp(got, buf, 64 * KIB) == 0,
              "the backing file does not read zeros after WRITE_ZEROES + "
              "FLUSH on another connection");
    }

    test_nbd_close(a);
    test_nbd_close(b);
    test_nbd_close(c);
    free(buf);
    free(got);
    printf("ok: %s: write on A, flush on B, read on C%s\n", export,
           filefd >= 0 ? ", backing file checked" : "");
}

struct cop {
    int done, err;
};

static int
cop_done(void *opaque, int *error)
{
    struct cop *c = opaque;

    c->done++;
    c->err = *error;
    return 1;
}

/* NCONN connections at once, each writing its own region concurrently,
 * then each reading its neighbour's. */
static void
spread(const struct test_server *s)
{
    struct nbd_handle *h[NCONN];
    uint8_t *data[NCONN], *got = malloc(2 * MIB);
    struct cop ops[NCONN][4];
    int64_t deadline;
    bool busy;

    CHECK(got, "oom");
    for (int i = 0; i < NCONN; i++) {
        h[i] = test_nbd_open(s, "mem");
        data[i] = malloc(2 * MIB);
        CHECK(data[i], "oom");
        test_fill(data[i], 2 * MIB, (uint64_t)i * 4 * MIB, 0x900 + (uint32_t)i);
    }
    memset(ops, 0, sizeof ops);
    for (int i = 0; i < NCONN; i++) {
        for (int k = 0; k < 4; k++) {
            uint64_t off = (uint64_t)i * 4 * MIB + (uint64_t)k * 512 * KIB;

            CHECK_NBD(nbd_aio_pwrite(h[i], data[i] + k * 512 * KIB, 512 * KIB,
                                     off,
                                     (nbd_completion_callback){
                                         .callback = cop_done,
                                         .user_data = &ops[i][k] },
                                     0) > 0, "aio_pwrite");
        }
    }
    /* Drive all handles until every write is answered. */
    deadline = test_now_ms() + 30000;
    do {
        busy = false;
        for (int i = 0; i < NCONN; i++) {
            if (nbd_aio_in_flight(h[i]) > 0) {
                busy = true;
                CHECK_NBD(nbd_poll(h[i], 10) != -1, "poll");
            }
        }
        CHECK(test_now_ms() < deadline, "concurrent writes did not finish");
    } while (busy);
    for (int i = 0; i < NCONN; i++) {
        for (int k = 0; k < 4; k++) {
            CHECK(ops[i][k].done == 1 && ops[i][k].err == 0,
                  "connection %d write %d failed", i, k);
        }
    }
    CHECK_NBD(nbd_flush(h[0], 0) == 0, "flush");
    for (int i = 0; i < NCONN; i++) {
        int j = (i + 1) % NCONN;

        test_nbd_expect(h[i], data[j], 2 * MIB, (uint64_t)j * 4 * MIB, 0,
                        "a region written by another connection");
    }
    for (int i = 0; i < NCONN; i++) {
        test_nbd_close(h[i]);
        free(data[i]);
    }
    free(got);
    CHECK(test_server_log_has(s, "connected on iothread 0") &&
          test_server_log_has(s, "connected on iothread 1"),
          "connections were not spread over both I/O threads");
    printf("ok: %d concurrent connections over 2 I/O threads\n", NCONN);
}

int
main(void)
{
    struct test_server s;
    char path[512];
    int fd;

    test_init("test-nbd-multiconn", 120);
    test_server_prepare(&s);
    snprintf(path, sizeof path, "%s/disk.img", s.dir);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && ftruncate(fd, SIZE) == 0, "create %s", path);
    test_server_start(&s, conf_text);
    abc(&s, "mem", -1);
    abc(&s, "file", fd);
    spread(&s);
    close(fd);
    test_server_check_alive(&s);
    test_server_stop(&s);
    return T_EXIT_PASS;
}
