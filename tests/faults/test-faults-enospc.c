/* SPDX-License-Identifier: MIT */
/*
 * A full disk: a sparse 64 MiB file export on a 4 MiB tmpfs.  Writes over
 * NBD fail, once the file system is full, with NBD_ENOSPC; an iSCSI
 * WRITE(16) gets CHECK CONDITION, DATA PROTECT, SPACE ALLOCATION FAILED
 * WRITE PROTECT (27h/07h, what SBC-4 names for a thin-provisioned unit out
 * of space); the server logs the condition once however many writes fail;
 * reads go on working; a trim gives the space back and writes succeed
 * again; and a client of another export is served throughout.
 *
 * The tmpfs is mounted in a private mount namespace (unshare), which the
 * server inherits and which vanishes with the test, so nothing is left
 * mounted if it dies.  Without the privilege to do that the test skips.
 */
#include <config.h>

#include <sched.h>
#include <sys/mount.h>

#define TEST_SERVER_DIR_PREFIX "polltgt-faults"
#include "../iscsi/iscsi-test-helpers.h"
#include "faults-test-helpers.h"

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
    "[export full]\n"
    "backend = file\n"
    "path = @DIR@/small/full.img\n"
    "create = yes\n"
    "size = 64M\n";

/* A 4 MiB tmpfs on dir/small, in a mount namespace of our own. */
static void
mount_small_fs(const struct test_server *s, char *mnt, size_t len)
{
    snprintf(mnt, len, "%s/small", s->dir);
    CHECK(mkdir(mnt, 0700) == 0, "mkdir %s: %s", mnt, strerror(errno));
    if (unshare(CLONE_NEWNS) < 0) {
        test_skip("cannot make a private mount namespace: %s",
                  strerror(errno));
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        test_skip("cannot make / private in the new namespace: %s",
                  strerror(errno));
    }
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=4m,mode=0700") < 0) {
        test_skip("cannot mount a 4 MiB tmpfs: %s", strerror(errno));
    }
}

int
main(void)
{
    static struct test_server srv;
    static uint8_t buf[1024 * 1024];
    struct iscsi_test_target t;
    struct iscsi_context *ic;
    struct scsi_task *task;
    struct nbd_handle *nbd;
    char mnt[400];
    uint64_t off;
    unsigned full_lines;

    test_init("test-faults-enospc", 60);
    test_server_prepare(&srv);
    mount_small_fs(&srv, mnt, sizeof mnt);
    test_iscsi_server_start(&srv, conf);

    nbd = nbd_create();
    CHECK(nbd != NULL && nbd_set_export_name(nbd, "full") == 0, "nbd_create");
    CHECK(nbd_connect_unix(nbd, srv.sock) == 0, "NBD connect: %s",
          nbd_get_error());
    test_fill(buf, sizeof buf, 0, 3);
    for (off = 0; off < 16 * MIB; off += sizeof buf) {
        if (nbd_pwrite(nbd, buf, sizeof buf, off, 0) != 0) {
            break;
        }
    }
    CHECK(off < 16 * MIB, "16 MiB went into a 4 MiB file system");
    CHECK(nbd_get_errno() == ENOSPC, "NBD write on a full disk failed with "
          "%s, want ENOSPC", strerror(nbd_get_errno()));
    printf("%s: NBD: ENOSPC after %" PRIu64 " KiB\n", test_name,
           off / 1024);
    for (int i = 0; i < 200; i++) {
        CHECK(nbd_pwrite(nbd, buf, 65536, 32 * MIB + (uint64_t)i * 65536, 0)
              == -1 && nbd_get_errno() == ENOSPC,
              "NBD write %d on the full disk: want ENOSPC", i);
    }
    /* What was written before reads back. */
    CHECK(nbd_pread(nbd, buf, 65536, 0, 0) == 0, "NBD read on the full "
          "disk: %s", nbd_get_error());

    test_iscsi_export_target(&srv, "full", &t);
    ic = test_iscsi_login(&t, NULL, "full");
    test_iscsi_clear_ua(ic, 0, "full");
    for (int i = 0; i < 200; i++) {
        task = iscsi_write16_sync(ic, 0, (48 * MIB + (uint64_t)i * 65536)
                                             / 512,
                                  buf, 65536, 512, 0, 0, 0, 0, 0);
        CHECK(task != NULL && task->status == SCSI_STATUS_CHECK_CONDITION
              && task->sense.key == SCSI_SENSE_DATA_PROTECTION
              && task->sense.ascq == 0x2707,
              "iSCSI write on the full disk: want DATA PROTECT, SPACE "
              "ALLOCATION FAILED WRITE PROTECT, got %s",
              task ? test_task_str(ic, task) : iscsi_get_error(ic));
        scsi_free_scsi_task(task);
    }

    full_lines = fault_log_count(&srv, "No space left on device");
    printf("%s: %u log lines about the full disk after 400+ failed writes\n",
           test_name, full_lines);
    CHECK(full_lines == 1, "want the full disk logged once, found %u lines",
          full_lines);
    fault_nbd_served(&srv, "mem", 0, 4, "ENOSPC");
    fault_iscsi_served(&srv, "mem", 2048, 5, "ENOSPC");

    /* Space given back: writes succeed again. */
    CHECK(nbd_trim(nbd, 16 * MIB, 0, 0) == 0, "NBD trim: %s",
          nbd_get_error());
    test_fill(buf, sizeof buf, 32 * MIB, 6);
    CHECK(nbd_pwrite(nbd, buf, sizeof buf, 32 * MIB, 0) == 0,
          "NBD write after the trim freed space: %s", nbd_get_error());
    test_iscsi_roundtrip(ic, 0, 48 * MIB / 512, 65536, 512, 7, true,
                         "after the trim");
    test_iscsi_logout(ic, "full");
    CHECK(nbd_shutdown(nbd, 0) == 0, "NBD shutdown");
    nbd_close(nbd);

    test_server_check_alive(&srv);
    {
        int status = test_server_stop_status(&srv, 20000);

        CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "polltgtd did not exit 0 after SIGTERM (wait status 0x%x)",
              (unsigned)status);
    }
    /* The mount goes with the namespace; its directory must not stay. */
    umount2(mnt, MNT_DETACH);
    test_current_server = NULL;
    test_rmdir(srv.dir);
    return test_finish();
}
