/* SPDX-License-Identifier: MIT */
/*
 * Not a test: a helper for the shell tests (test-iscsi-cross.sh).
 *
 *   test-iscsi-copy put FILE URL   write FILE onto the LUN from byte 0
 *                                  (WRITE(16), 256 KiB at a time), then
 *                                  SYNCHRONIZE CACHE(10)
 *   test-iscsi-copy get URL FILE   read the whole LUN into FILE
 *
 * URL is iscsi://HOST:PORT/TARGET/LUN.  FILE must be a whole number of
 * blocks and fit on the LUN.  Exits 0 on success, 1 with a message on
 * any failure (a SCSI status other than GOOD included).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define CHUNK (256 * 1024)

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                      noreturn));

static void
die(const char *fmt, ...)
{
    va_list ap;

    fputs("test-iscsi-copy: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void
check_task(struct iscsi_context *ctx, struct scsi_task *task, const char *what)
{
    if (task == NULL) {
        die("%s: %s", what, iscsi_get_error(ctx));
    }
    if (task->status != SCSI_STATUS_GOOD) {
        die("%s: status 0x%x, sense %s / %s", what, (unsigned)task->status,
            scsi_sense_key_str(task->sense.key),
            scsi_sense_ascq_str(task->sense.ascq));
    }
}

int
main(int argc, char **argv)
{
    struct iscsi_context *ctx;
    struct iscsi_url *url;
    struct scsi_task *task;
    struct scsi_readcapacity16 *rc;
    uint64_t blocks, size;
    uint32_t bs;
    bool put;
    const char *file, *u;
    uint8_t *buf = malloc(CHUNK);
    int fd;

    alarm(60);
    if (argc != 4 || (strcmp(argv[1], "put") && strcmp(argv[1], "get"))) {
        fprintf(stderr, "usage: %s put FILE URL | get URL FILE\n", argv[0]);
        return 2;
    }
    put = strcmp(argv[1], "put") == 0;
    file = put ? argv[2] : argv[3];
    u = put ? argv[3] : argv[2];
    if (buf == NULL) {
        die("out of memory");
    }
    ctx = iscsi_create_context("iqn.2026-11.org.polltgt.test:copy");
    if (ctx == NULL) {
        die("iscsi_create_context");
    }
    iscsi_set_noautoreconnect(ctx, 1);
    iscsi_set_timeout(ctx, 20);
    url = iscsi_parse_full_url(ctx, u);
    if (url == NULL) {
        die("%s: %s", u, iscsi_get_error(ctx));
    }
    if (iscsi_set_targetname(ctx, url->target) != 0 ||
        iscsi_set_session_type(ctx, ISCSI_SESSION_NORMAL) != 0 ||
        iscsi_full_connect_sync(ctx, url->portal, url->lun) != 0) {
        die("login to %s: %s", u, iscsi_get_error(ctx));
    }
    task = iscsi_readcapacity16_sync(ctx, url->lun);
    check_task(ctx, task, "READ CAPACITY(16)");
    rc = scsi_datain_unmarshall(task);
    if (rc == NULL) {
        die("READ CAPACITY(16) data does not parse");
    }
    blocks = rc->returned_lba + 1;
    bs = rc->block_length;
    scsi_free_scsi_task(task);

    if (put) {
        struct stat st;

        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
            die("%s: %s", file, strerror(errno));
        }
        size = (uint64_t)st.st_size;
        if (size % bs || size / bs > blocks) {
            die("%s: %" PRIu64 " bytes is not a whole number of %u-byte "
                "blocks within the LUN's %" PRIu64, file, size, bs, blocks);
        }
    } else {
        size = blocks * bs;
        fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            die("%s: %s", file, strerror(errno));
        }
    }
    for (uint64_t off = 0; off < size; off += CHUNK) {
        uint32_t n = size - off < CHUNK ? (uint32_t)(size - off) : CHUNK;

        if (put) {
            if (pread(fd, buf, n, (off_t)off) != (ssize_t)n) {
                die("%s: short read", file);
            }
            task = iscsi_write16_sync(ctx, url->lun, off / bs, buf, n,
                                      (int)bs, 0, 0, 0, 0, 0);
            check_task(ctx, task, "WRITE(16)");
        } else {
            task = iscsi_read16_sync(ctx, url->lun, off / bs, n, (int)bs, 0,
                                     0, 0, 0, 0);
            check_task(ctx, task, "READ(16)");
            if (task->datain.size != (int)n ||
                pwrite(fd, task->datain.data, n, (off_t)off) != (ssize_t)n) {
                die("%s: short read or write", file);
            }
        }
        scsi_free_scsi_task(task);
    }
    if (put) {
        task = iscsi_synchronizecache10_sync(ctx, url->lun, 0, 0, 0, 0);
        check_task(ctx, task, "SYNCHRONIZE CACHE(10)");
        scsi_free_scsi_task(task);
    } else if (fsync(fd) < 0) {
        die("%s: fsync: %s", file, strerror(errno));
    }
    close(fd);
    if (iscsi_logout_sync(ctx) != 0) {
        die("logout: %s", iscsi_get_error(ctx));
    }
    iscsi_destroy_url(url);
    iscsi_destroy_context(ctx);
    free(buf);
    return 0;
}
