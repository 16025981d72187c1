/* SPDX-License-Identifier: MIT */
/*
 * The backing file of a file export removed, then another one truncated,
 * while an NBD and an iSCSI client keep it busy:
 *
 *  - unlink: the server keeps the open file, so every read and write goes
 *    on succeeding, and what is written reads back;
 *  - truncate to a quarter of the export under a read load: reads past the
 *    new end fail (NBD_EIO; CHECK CONDITION, MEDIUM ERROR, UNRECOVERED
 *    READ ERROR), reads before it still return the data, the server does
 *    not die (no mmap, so no SIGBUS) and logs the failure once, not once
 *    per request: a thousand failing reads later the log has one line for
 *    the export;
 *  - after each fault a new client of another export is served.
 *
 * The load runs in two threads, one per protocol, while the main thread
 * applies the fault.
 */
#include <config.h>

#include <pthread.h>
#include <stdatomic.h>

#define TEST_SERVER_DIR_PREFIX "polltgt-faults"
#include "../iscsi/iscsi-test-helpers.h"
#include "faults-test-helpers.h"

#define EXPORT_SIZE (16u * MIB)
#define CUT (EXPORT_SIZE / 4)
#define IO_MAX (64u * KIB)

static const char conf[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "[status]\n"
    "socket = none\n"
    "[export mem]\n"
    "backend = memory\n"
    "size = 16M\n"
    "[export gone]\n"
    "backend = file\n"
    "path = @DIR@/gone.img\n"
    "create = yes\n"
    "size = 16M\n"
    "[export cut]\n"
    "backend = file\n"
    "path = @DIR@/cut.img\n"
    "create = yes\n"
    "size = 16M\n";

static struct test_server srv;

struct load {
    const char *export;
    bool writes;             /* else reads only */
    bool past_cut_may_fail;  /* reads ending past CUT may fail */
    atomic_bool stop;
    unsigned ok, failed;
};

/* The data of the export at [off, off + len): written by fill_export,
 * and by the loads (same pattern, so any order of writes reads back the
 * same). */
static void
pattern(uint8_t *buf, uint32_t len, uint64_t off)
{
    test_fill(buf, len, off, 17);
}

static uint64_t
load_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One request: offset and length multiple of 4 KiB. */
static void
load_pick(uint64_t *s, uint64_t *off, uint32_t *len, bool *write,
          const struct load *l)
{
    *len = (uint32_t)(1 + load_rand(s) % (IO_MAX / 4096)) * 4096;
    *off = (load_rand(s) % ((EXPORT_SIZE - *len) / 4096 + 1)) * 4096;
    *write = l->writes && load_rand(s) % 2 == 0;
}

/* Checks a read: the pattern, or (past the cut) a failure. */
static void
load_account(struct load *l, bool ok, bool write, uint64_t off,
             uint32_t len, const uint8_t *got, uint8_t *want,
             const char *proto)
{
    if (!ok) {
        CHECK(!write && l->past_cut_may_fail && off + len > CUT,
              "%s: %s of %u bytes at %" PRIu64 " on %s failed", proto,
              write ? "write" : "read", len, off, l->export);
        l->failed++;
        return;
    }
    if (!write) {
        pattern(want, len, off);
        CHECK(memcmp(got, want, len) == 0 || off + len > CUT,
              "%s: read of %u bytes at %" PRIu64 " on %s returned other "
              "data", proto, len, off, l->export);
    }
    l->ok++;
}

static void *
nbd_load(void *opaque)
{
    struct load *l = opaque;
    static uint8_t buf[IO_MAX], want[IO_MAX];
    struct nbd_handle *nbd = nbd_create();
    uint64_t s = 0x1234567;

    CHECK(nbd != NULL && nbd_set_export_name(nbd, l->export) == 0,
          "nbd_create");
    CHECK(nbd_connect_unix(nbd, srv.sock) == 0, "NBD connect: %s",
          nbd_get_error());
    while (!atomic_load(&l->stop)) {
        uint64_t off;
        uint32_t len;
        bool write;
        int r;

        load_pick(&s, &off, &len, &write, l);
        if (write) {
            pattern(buf, len, off);
            r = nbd_pwrite(nbd, buf, len, off, 0);
        } else {
            r = nbd_pread(nbd, buf, len, off, 0);
            CHECK(r == 0 || nbd_get_errno() == EIO, "NBD read failed with "
                  "%s, want EIO", strerror(nbd_get_errno()));
        }
        load_account(l, r == 0, write, off, len, buf, want, "NBD");
    }
    CHECK(nbd_shutdown(nbd, 0) == 0, "NBD shutdown: %s", nbd_get_error());
    nbd_close(nbd);
    return NULL;
}

static void *
iscsi_load(void *opaque)
{
    struct load *l = opaque;
    static uint8_t buf[IO_MAX], want[IO_MAX];
    struct iscsi_test_target t;
    struct iscsi_context *ic;
    uint64_t s = 0x7654321;

    test_iscsi_export_target(&srv, l->export, &t);
    ic = test_iscsi_login(&t, NULL, "load");
    test_iscsi_clear_ua(ic, 0, "load");
    while (!atomic_load(&l->stop)) {
        struct scsi_task *task;
        uint64_t off;
        uint32_t len;
        bool write, ok;

        load_pick(&s, &off, &len, &write, l);
        if (write) {
            pattern(buf, len, off);
            task = iscsi_write16_sync(ic, 0, off / 512, buf, len, 512, 0, 0,
                                      0, 0, 0);
        } else {
            task = iscsi_read16_sync(ic, 0, off / 512, len, 512, 0, 0, 0, 0,
                                     0);
        }
        CHECK(task != NULL, "iSCSI: %s", iscsi_get_error(ic));
        ok = task->status == SCSI_STATUS_GOOD;
        if (!ok) {
            CHECK(task->status == SCSI_STATUS_CHECK_CONDITION
                  && task->sense.key == SCSI_SENSE_MEDIUM_ERROR
                  && task->sense.ascq == 0x1100,
                  "iSCSI read failed with %s, want MEDIUM ERROR, "
                  "UNRECOVERED READ ERROR", test_task_str(ic, task));
        } else if (!write) {
            CHECK(task->datain.size == (int)len, "short READ(16)");
            memcpy(buf, task->datain.data, len);
        }
        scsi_free_scsi_task(task);
        load_account(l, ok, write, off, len, buf, want, "iSCSI");
    }
    test_iscsi_logout(ic, "load");
    return NULL;
}

/* Run both loads on export for ms, with fault() in the middle. */
static void
run_loads(const char *export, bool writes, bool may_fail, unsigned ms,
          void (*fault)(void), struct load *nl, struct load *il)
{
    pthread_t tn, ti;

    *nl = (struct load){ .export = export, .writes = writes,
                         .past_cut_may_fail = may_fail };
    *il = *nl;
    CHECK(pthread_create(&tn, NULL, nbd_load, nl) == 0, "pthread_create");
    CHECK(pthread_create(&ti, NULL, iscsi_load, il) == 0, "pthread_create");
    test_sleep_ms(ms / 2);
    fault();
    test_sleep_ms(ms / 2);
    atomic_store(&nl->stop, true);
    atomic_store(&il->stop, true);
    pthread_join(tn, NULL);
    pthread_join(ti, NULL);
    test_server_check_alive(&srv);
    printf("%s: %s: NBD %u ok, %u failed; iSCSI %u ok, %u failed\n",
           test_name, export, nl->ok, nl->failed, il->ok, il->failed);
    CHECK(nl->ok > 0 && il->ok > 0, "the loads made no progress");
}

static void
fill_export(const char *path)
{
    uint8_t *buf = malloc(EXPORT_SIZE);
    int fd = open(path, O_WRONLY);

    CHECK(buf != NULL && fd >= 0, "open %s: %s", path, strerror(errno));
    pattern(buf, EXPORT_SIZE, 0);
    CHECK(pwrite(fd, buf, EXPORT_SIZE, 0) == (ssize_t)EXPORT_SIZE,
          "pwrite: %s", strerror(errno));
    close(fd);
    free(buf);
}

static void
fault_unlink(void)
{
    char path[600];

    snprintf(path, sizeof path, "%s/gone.img", srv.dir);
    CHECK(unlink(path) == 0, "unlink %s: %s", path, strerror(errno));
}

static void
fault_truncate(void)
{
    char path[600];

    snprintf(path, sizeof path, "%s/cut.img", srv.dir);
    CHECK(truncate(path, CUT) == 0, "truncate %s: %s", path,
          strerror(errno));
}

int
main(void)
{
    struct load nl, il;
    struct nbd_handle *nbd;
    struct iscsi_test_target t;
    struct iscsi_context *ic;
    static uint8_t buf[4096];
    unsigned lines0, cut_lines0, cut_lines;
    char path[600];

    test_init("test-faults-backing", 90);
    test_iscsi_server_start(&srv, conf);
    snprintf(path, sizeof path, "%s/gone.img", srv.dir);
    fill_export(path);
    snprintf(path, sizeof path, "%s/cut.img", srv.dir);
    fill_export(path);
    lines0 = fault_log_lines(&srv);

    /* Removed: the open file is still the export. */
    run_loads("gone", true, false, 600, fault_unlink, &nl, &il);
    CHECK(nl.failed == 0 && il.failed == 0, "requests failed after unlink");
    fault_nbd_served(&srv, "gone", 3 * MIB, 5, "unlink");
    fault_nbd_served(&srv, "mem", 0, 6, "unlink");
    fault_iscsi_served(&srv, "mem", 1024, 7, "unlink");

    /* Truncated under a read load. */
    cut_lines0 = fault_log_count(&srv, "export cut: ");
    run_loads("cut", false, true, 600, fault_truncate, &nl, &il);
    CHECK(nl.failed + il.failed > 0, "no read past the cut failed");

    /* A thousand more reads past the end: errors, and no log flood. */
    nbd = nbd_create();
    CHECK(nbd != NULL && nbd_set_export_name(nbd, "cut") == 0, "nbd_create");
    CHECK(nbd_connect_unix(nbd, srv.sock) == 0, "NBD connect: %s",
          nbd_get_error());
    test_iscsi_export_target(&srv, "cut", &t);
    ic = test_iscsi_login(&t, NULL, "cut");
    test_iscsi_clear_ua(ic, 0, "cut");
    for (int i = 0; i < 500; i++) {
        uint64_t off = CUT + (uint64_t)(i % 64) * 65536;
        struct scsi_task *task;

        CHECK(nbd_pread(nbd, buf, sizeof buf, off, 0) == -1
              && nbd_get_errno() == EIO,
              "NBD read past the end of the truncated file: want EIO");
        task = iscsi_read16_sync(ic, 0, off / 512, sizeof buf, 512, 0, 0, 0,
                                 0, 0);
        CHECK(task != NULL && task->status == SCSI_STATUS_CHECK_CONDITION
              && task->sense.key == SCSI_SENSE_MEDIUM_ERROR,
              "iSCSI read past the end of the truncated file: want MEDIUM "
              "ERROR");
        scsi_free_scsi_task(task);
    }
    /* Before the cut the data is intact. */
    CHECK(nbd_pread(nbd, buf, sizeof buf, CUT - sizeof buf, 0) == 0,
          "NBD read before the cut: %s", nbd_get_error());
    {
        static uint8_t want[4096];

        pattern(want, sizeof want, CUT - sizeof want);
        CHECK(memcmp(buf, want, sizeof buf) == 0,
              "data before the cut changed");
    }
    CHECK(nbd_shutdown(nbd, 0) == 0, "NBD shutdown");
    nbd_close(nbd);
    test_iscsi_logout(ic, "cut");

    test_server_check_alive(&srv);
    cut_lines = fault_log_count(&srv, "export cut: ") - cut_lines0;
    printf("%s: %u log lines for the truncated export, %u in all since "
           "the start\n", test_name, cut_lines,
           fault_log_lines(&srv) - lines0);
    CHECK(cut_lines == 1, "want the read failures of export cut logged "
          "once, found %u lines", cut_lines);
    CHECK(fault_log_lines(&srv) - lines0 < 40, "the log grew by %u lines",
          fault_log_lines(&srv) - lines0);
    fault_nbd_served(&srv, "mem", MIB, 8, "truncate");
    fault_iscsi_served(&srv, "mem", 4096, 9, "truncate");
    test_server_stop(&srv);
    return test_finish();
}
