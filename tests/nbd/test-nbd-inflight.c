/* SPDX-License-Identifier: MIT */
/*
 * Many requests in flight on one connection: hundreds of asynchronous
 * writes, then reads, of mixed sizes (512 B to 2 MiB, aligned and not), all
 * issued before any reply is awaited, so far more than the server's
 * per-connection pool of 64 are outstanding and the server must apply
 * back-pressure and resume.  Replies may come in any order; each must
 * carry its own cookie and data, and every byte must read back exactly.
 * Runs on a memory export (inline completions) and a file export
 * (io_uring completions, which can finish out of order).
 */
#include <config.h>

#include <libnbd.h>

#include "nbd-test-helpers.h"

#define KIB 1024u
#define MIB (1024u * 1024u)
#define SIZE (256 * MIB)
#define NOPS 300

static const char conf_text[] =
    "[server]\n"
    "iothreads = 2\n"
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 256M\n"
    "[export file]\n"
    "backend = file\n"
    "path = @DIR@/disk.img\n";

struct op {
    uint64_t off;
    size_t len;
    uint8_t *wbuf, *rbuf;
    int done;     /* completions seen */
    int err;
    unsigned seq; /* completion order */
};

static unsigned completed;

static int
op_done(void *opaque, int *error)
{
    struct op *op = opaque;

    op->done++;
    op->err = *error;
    op->seq = completed++;
    return 1; /* retire the command */
}

static void
wait_all(struct nbd_handle *nbd, const char *what)
{
    int64_t deadline = test_now_ms() + 60000;

    while (nbd_aio_in_flight(nbd) > 0) {
        CHECK_NBD(nbd_poll(nbd, 1000) != -1, "%s: nbd_poll", what);
        CHECK(test_now_ms() < deadline, "%s: %d requests still in flight "
              "after 60 s", what, nbd_aio_in_flight(nbd));
    }
}

static size_t
op_size(unsigned i)
{
    static const size_t sizes[] = {
        512, 4096, 65536, 1 * MIB, 3000, 131072 + 17, 2 * MIB, 8192, 1, 700000,
    };

    return sizes[(i * 7 + i / 10) % (sizeof sizes / sizeof sizes[0])];
}

static void
run(const struct test_server *s, const char *export)
{
    struct nbd_handle *nbd = test_nbd_open(s, export);
    struct op *ops = calloc(NOPS, sizeof *ops);
    uint64_t pos = 0;
    unsigned out_of_order = 0;
    int64_t max_inflight = 0;

    CHECK(ops != NULL, "oom");
    /* Disjoint ranges, odd gaps so alignment varies. */
    for (unsigned i = 0; i < NOPS; i++) {
        ops[i].len = op_size(i);
        ops[i].off = pos;
        pos += ops[i].len + (i % 5) * 333;
        CHECK(pos < SIZE, "test layout exceeds the export");
        ops[i].wbuf = malloc(ops[i].len);
        ops[i].rbuf = malloc(ops[i].len);
        CHECK(ops[i].wbuf && ops[i].rbuf, "oom");
        test_fill(ops[i].wbuf, ops[i].len, ops[i].off, 0xabc + i);
        memset(ops[i].rbuf, 0xee, ops[i].len);
    }

    /* All writes at once (plus a FUA one every so often). */
    completed = 0;
    for (unsigned i = 0; i < NOPS; i++) {
        int64_t c = nbd_aio_pwrite(
            nbd, ops[i].wbuf, ops[i].len, ops[i].off,
            (nbd_completion_callback){ .callback = op_done,
                                       .user_data = &ops[i] },
            i % 17 == 0 ? LIBNBD_CMD_FLAG_FUA : 0);

        CHECK_NBD(c > 0, "%s: aio_pwrite %u", export, i);
        if (nbd_aio_in_flight(nbd) > max_inflight) {
            max_inflight = nbd_aio_in_flight(nbd);
        }
    }
    CHECK(max_inflight > 64, "%s: only %" PRId64 " requests were in flight "
          "at once; the test wants more than 64", export, max_inflight);
    wait_all(nbd, "writes");
    for (unsigned i = 0; i < NOPS; i++) {
        CHECK(ops[i].done == 1, "%s: write %u completed %d times", export, i,
              ops[i].done);
        CHECK(ops[i].err == 0, "%s: write %u (%zu bytes at %" PRIu64
              ") failed: %s", export, i, ops[i].len, ops[i].off,
              strerror(ops[i].err));
        if (i > 0 && ops[i].seq < ops[i - 1].seq) {
            out_of_order++;
        }
        ops[i].done = 0;
    }

    /* A flush, then all reads at once, in reverse order. */
    CHECK_NBD(nbd_flush(nbd, 0) == 0, "%s: flush", export);
    completed = 0;
    for (unsigned j = 0; j < NOPS; j++) {
        unsigned i = NOPS - 1 - j;
        int64_t c = nbd_aio_pread(
            nbd, ops[i].rbuf, ops[i].len, ops[i].off,
            (nbd_completion_callback){ .callback = op_done,
                                       .user_data = &ops[i] },
            0);

        CHECK_NBD(c > 0, "%s: aio_pread %u", export, i);
    }
    wait_all(nbd, "reads");
    for (unsigned i = 0; i < NOPS; i++) {
        ssize_t d;

        CHECK(ops[i].done == 1 && ops[i].err == 0, "%s: read %u: done %d, %s",
              export, i, ops[i].done, strerror(ops[i].err));
        d = test_memdiff(ops[i].rbuf, ops[i].wbuf, ops[i].len);
        CHECK(d < 0, "%s: read %u (%zu bytes at %" PRIu64 ") differs at "
              "byte %zd", export, i, ops[i].len, ops[i].off, d);
        if (i + 1 < NOPS && ops[i].seq < ops[i + 1].seq) {
            out_of_order++;
        }
    }

    /* Mixed: reads of the first half and rewrites of the second half, in
     * flight together. */
    completed = 0;
    for (unsigned i = 0; i < NOPS; i++) {
        int64_t c;

        ops[i].done = 0;
        if (i < NOPS / 2) {
            memset(ops[i].rbuf, 0xee, ops[i].len);
            c = nbd_aio_pread(nbd, ops[i].rbuf, ops[i].len, ops[i].off,
                              (nbd_completion_callback){
                                  .callback = op_done, .user_data = &ops[i] },
                              0);
        } else {
            test_fill(ops[i].wbuf, ops[i].len, ops[i].off, 0x777 + i);
            c = nbd_aio_pwrite(nbd, ops[i].wbuf, ops[i].len, ops[i].off,
                               (nbd_completion_callback){
                                   .callback = op_done, .user_data = &ops[i] },
                               0);
        }
        CHECK_NBD(c > 0, "%s: mixed aio %u", export, i);
    }
    wait_all(nbd, "mixed");
    for (unsigned i = 0; i < NOPS; i++) {
        CHECK(ops[i].done == 1 && ops[i].err == 0, "%s: mixed %u failed",
              export, i);
        if (i < NOPS / 2) {
            CHECK(test_memdiff(ops[i].rbuf, ops[i].wbuf, ops[i].len) < 0,
                  "%s: mixed read %u differs", export, i);
        } else {
            test_nbd_expect(nbd, ops[i].wbuf, ops[i].len, ops[i].off, 0,
                            "rewritten while reads were in flight");
        }
    }

    for (unsigned i = 0; i < NOPS; i++) {
        free(ops[i].wbuf);
        free(ops[i].rbuf);
    }
    free(ops);
    test_nbd_close(nbd);
    printf("ok: %s: %d requests in flight at most, %u completions out of "
           "order, all data exact\n", export, (int)max_inflight, out_of_order);
}

int
main(void)
{
    struct test_server s;
    char path[512];
    int fd;

    test_init("test-nbd-inflight", 240);
    test_server_prepare(&s);
    snprintf(path, sizeof path, "%s/disk.img", s.dir);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0 && ftruncate(fd, SIZE) == 0, "create %s", path);
    close(fd);
    test_server_start(&s, conf_text);
    run(&s, "mem");
    run(&s, "file");
    test_server_check_alive(&s);
    test_server_stop(&s);
    return T_EXIT_PASS;
}
