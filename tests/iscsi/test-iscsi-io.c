/* SPDX-License-Identifier: MIT */
/*
 * SCSI commands over iSCSI with libiscsi, as an initiator uses them:
 *
 *  - READ CAPACITY(16) gives the configured size and block size (a 512-
 *    and a 4096-byte export); INQUIRY standard data and VPD pages 0x00,
 *    0x80 and 0x83 (an NAA designator, different for each export, as are
 *    the serial numbers); REPORT LUNS lists LUN 0 only; TEST UNIT READY;
 *    MODE SENSE(6) of all pages, with the write-protect bit set only on a
 *    readonly export;
 *  - writes read back intact at many sizes: one block, 8 blocks, and sizes
 *    around first-burst-length (64K) and max-burst-length (128K) up to 1M,
 *    both with unsolicited data (ImmediateData=Yes, InitialR2T=No) and
 *    solicited only (ImmediateData=No, InitialR2T=Yes asked by the
 *    initiator); what one session wrote the other reads;
 *  - WRITE with FUA, SYNCHRONIZE CACHE, and for a file export the backing
 *    file holds the data;
 *  - reading or writing past the end: CHECK CONDITION, ILLEGAL REQUEST,
 *    LBA OUT OF RANGE; writing a readonly export: DATA PROTECT; an unknown
 *    opcode: ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE;
 *  - 32 writes then 32 reads in flight at once (async API), all complete.
 *
 * ISCSI_TEST_URL=iscsi://HOST:PORT/TARGET/LUN runs the checks that do not
 * depend on polltgt's configuration against that target instead of
 * starting polltgtd (the capacity is taken as given; no 4096-byte,
 * readonly or file export; REPORT LUNS need only contain the LUN).  The
 * target's LUN is overwritten.
 */
#include <config.h>

#include "iscsi-test-helpers.h"

static const char conf[] =
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "first-burst-length = 64K\n"
    "max-burst-length = 128K\n"
    "[status]\n"
    "socket = none\n"
    "[export disk0]\n"
    "backend = memory\n"
    "size = 64M\n"
    "[export disk4k]\n"
    "backend = memory\n"
    "size = 16M\n"
    "block-size = 4096\n"
    "[export ro]\n"
    "backend = memory\n"
    "size = 1M\n"
    "readonly = yes\n"
    "[export filedisk]\n"
    "backend = file\n"
    "path = @DIR@/file.img\n"
    "create = yes\n"
    "size = 4M\n"
    "[export multi0]\n"
    "backend = memory\n"
    "size = 8M\n"
    "iqn = " ISCSI_TEST_IQN_PREFIX ":multi\n"
    "[export multi5]\n"
    "backend = memory\n"
    "size = 4M\n"
    "block-size = 4096\n"
    "iqn = " ISCSI_TEST_IQN_PREFIX ":multi\n"
    "lun = 5\n";

static bool url_mode;

struct geom {
    uint64_t blocks;
    uint32_t bs;
};

/* READ CAPACITY(16); when want_blocks is not 0, it must match. */
static struct geom
check_capacity(struct iscsi_context *ctx, int lun, uint64_t want_blocks,
               uint32_t want_bs, const char *what)
{
    struct scsi_task *task = iscsi_readcapacity16_sync(ctx, lun);
    struct scsi_readcapacity16 *rc;
    struct geom g;

    CHECK_TASK_GOOD(ctx, task, "%s: READ CAPACITY(16)", what);
    rc = scsi_datain_unmarshall(task);
    CHECK(rc != NULL, "%s: READ CAPACITY(16) data does not parse", what);
    g.blocks = rc->returned_lba + 1;
    g.bs = rc->block_length;
    if (want_bs) {
        CHECK(g.bs == want_bs, "%s: READ CAPACITY(16) block length %u, "
              "want %u", what, g.bs, want_bs);
    } else {
        CHECK(g.bs == 512 || g.bs == 4096, "%s: block length %u", what, g.bs);
    }
    if (want_blocks) {
        CHECK(g.blocks == want_blocks, "%s: READ CAPACITY(16) says %" PRIu64
              " blocks (last LBA %" PRIu64 "), want %" PRIu64, what, g.blocks,
              rc->returned_lba, want_blocks);
    }
    scsi_free_scsi_task(task);
    return g;
}

/* Standard INQUIRY and the VPD pages; the serial number and NAA
 * designator are returned (malloc'd) so exports can be compared. */
static void
check_inquiry(struct iscsi_context *ctx, int lun, char **serial, char **naa,
              int *naa_len, const char *what)
{
    struct scsi_task *task;
    struct scsi_inquiry_standard *std;
    struct scsi_inquiry_supported_pages *sp;
    struct scsi_inquiry_unit_serial_number *usn;
    struct scsi_inquiry_device_identification *id;
    bool p00 = false, p80 = false, p83 = false;

    task = iscsi_inquiry_sync(ctx, lun, 0, 0, 255);
    CHECK_TASK_GOOD(ctx, task, "%s: standard INQUIRY", what);
    CHECK(task->datain.size >= 36, "%s: standard INQUIRY data is %d bytes, "
          "want at least 36", what, task->datain.size);
    std = scsi_datain_unmarshall(task);
    CHECK(std != NULL, "%s: INQUIRY data does not parse", what);
    CHECK(std->qualifier == SCSI_INQUIRY_PERIPHERAL_QUALIFIER_CONNECTED &&
          std->device_type ==
              SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS,
          "%s: INQUIRY: qualifier %d, device type %d; want a connected "
          "direct-access device (0, 0)", what, (int)std->qualifier,
          (int)std->device_type);
    CHECK(std->response_data_format == 2, "%s: INQUIRY response data format "
          "%d, want 2", what, std->response_data_format);
    CHECK(std->additional_length + 5 >= 36, "%s: INQUIRY additional length "
          "%d", what, std->additional_length);
    SOFT_CHECK(std->version >= 5, "%s: INQUIRY version %d, want SPC-3 (5) or "
               "later", what, std->version);
    SOFT_CHECK(std->cmdque, "%s: INQUIRY CmdQue is 0: initiators will send "
               "one command at a time", what);
    CHECK(std->vendor_identification[0] != ' ' &&
          std->vendor_identification[0] != '\0',
          "%s: INQUIRY vendor identification is blank", what);
    scsi_free_scsi_task(task);

    task = iscsi_inquiry_sync(ctx, lun, 1, SCSI_INQUIRY_PAGECODE_SUPPORTED_VPD_PAGES,
                              255);
    CHECK_TASK_GOOD(ctx, task, "%s: INQUIRY VPD 0x00", what);
    sp = scsi_datain_unmarshall(task);
    CHECK(sp != NULL, "%s: VPD 0x00 does not parse", what);
    for (int i = 0; i < sp->num_pages; i++) {
        p00 |= sp->pages[i] == 0x00;
        p80 |= sp->pages[i] == 0x80;
        p83 |= sp->pages[i] == 0x83;
    }
    CHECK(p00 && p80 && p83, "%s: VPD 0x00 lists %d pages, without%s%s%s",
          what, sp->num_pages, p00 ? "" : " 0x00", p80 ? "" : " 0x80",
          p83 ? "" : " 0x83");
    scsi_free_scsi_task(task);

    task = iscsi_inquiry_sync(ctx, lun, 1,
                              SCSI_INQUIRY_PAGECODE_UNIT_SERIAL_NUMBER, 255);
    CHECK_TASK_GOOD(ctx, task, "%s: INQUIRY VPD 0x80", what);
    usn = scsi_datain_unmarshall(task);
    CHECK(usn != NULL && usn->usn != NULL && usn->usn[0] != '\0',
          "%s: VPD 0x80 has no unit serial number", what);
    *serial = strdup(usn->usn);
    scsi_free_scsi_task(task);

    task = iscsi_inquiry_sync(ctx, lun, 1,
                              SCSI_INQUIRY_PAGECODE_DEVICE_IDENTIFICATION, 255);
    CHECK_TASK_GOOD(ctx, task, "%s: INQUIRY VPD 0x83", what);
    id = scsi_datain_unmarshall(task);
    CHECK(id != NULL, "%s: VPD 0x83 does not parse", what);
    *naa = NULL;
    for (struct scsi_inquiry_device_designator *d = id->designators; d;
         d = d->next) {
        if (d->designator_type == SCSI_DESIGNATOR_TYPE_NAA &&
            d->association == SCSI_ASSOCIATION_LOGICAL_UNIT && *naa == NULL) {
            CHECK(d->code_set == SCSI_CODESET_BINARY &&
                  (d->designator_length == 8 || d->designator_length == 16),
                  "%s: NAA designator: code set %d, %d bytes; want binary, "
                  "8 or 16 bytes", what, (int)d->code_set,
                  d->designator_length);
            *naa = malloc((size_t)d->designator_length);
            CHECK(*naa != NULL, "out of memory");
            memcpy(*naa, d->designator, (size_t)d->designator_length);
            *naa_len = d->designator_length;
        }
    }
    CHECK(*naa != NULL, "%s: VPD 0x83 has no NAA designator for the logical "
          "unit", what);
    scsi_free_scsi_task(task);
}

static void
check_report_luns(struct iscsi_context *ctx, int lun, const char *what)
{
    struct scsi_task *task = iscsi_reportluns_sync(ctx, 0, 512);
    struct scsi_reportluns_list *l;
    bool found = false;

    CHECK_TASK_GOOD(ctx, task, "%s: REPORT LUNS", what);
    l = scsi_datain_unmarshall(task);
    CHECK(l != NULL, "%s: REPORT LUNS data does not parse", what);
    for (uint32_t i = 0; i < l->num; i++) {
        found |= l->luns[i] == lun;
    }
    CHECK(found, "%s: REPORT LUNS lists %u LUNs, not LUN %d", what, l->num,
          lun);
    if (!url_mode) {
        CHECK(l->num == 1, "%s: REPORT LUNS lists %u LUNs; the export is "
              "the only one, LUN 0", what, l->num);
    }
    scsi_free_scsi_task(task);
}

static void
check_mode_sense(struct iscsi_context *ctx, int lun, bool readonly,
                 uint32_t bs, const char *what)
{
    struct scsi_task *task;
    struct scsi_mode_sense *ms;

    task = iscsi_modesense6_sync(ctx, lun, 0, SCSI_MODESENSE_PC_CURRENT,
                                 SCSI_MODEPAGE_RETURN_ALL_PAGES, 0, 255);
    CHECK_TASK_GOOD(ctx, task, "%s: MODE SENSE(6) all pages", what);
    CHECK(task->datain.size >= 4, "%s: MODE SENSE(6) returned %d bytes", what,
          task->datain.size);
    CHECK(task->datain.data[0] + 1 >= task->datain.size,
          "%s: MODE SENSE(6) mode data length %d, but %d bytes came", what,
          task->datain.data[0], task->datain.size);
    ms = scsi_datain_unmarshall(task);
    CHECK(ms != NULL, "%s: MODE SENSE(6) data does not parse", what);
    CHECK(!!(ms->device_specific_parameter & 0x80) == readonly,
          "%s: MODE SENSE(6) write-protect bit is %d on a %s export", what,
          !!(ms->device_specific_parameter & 0x80),
          readonly ? "readonly" : "writable");
    if (ms->block_descriptor_length == 8 && task->datain.size >= 12) {
        const uint8_t *bd = task->datain.data + 4;
        uint32_t len = (uint32_t)bd[5] << 16 | (uint32_t)bd[6] << 8 | bd[7];

        CHECK(len == bs, "%s: MODE SENSE(6) block descriptor says %u-byte "
              "blocks, want %u", what, len, bs);
    }
    scsi_free_scsi_task(task);
}

static void
check_tur(struct iscsi_context *ctx, int lun, const char *what)
{
    struct scsi_task *task = iscsi_testunitready_sync(ctx, lun);

    CHECK_TASK_GOOD(ctx, task, "%s: TEST UNIT READY", what);
    scsi_free_scsi_task(task);
}

/* Round trips at many sizes on two sessions: unsolicited data allowed, and
 * solicited only; each reads what the other wrote. */
static void
check_roundtrips(const struct iscsi_test_target *t, struct geom g,
                 const char *what)
{
    static const uint32_t sizes[] = {
        512, 4096, 63 * KIB, 64 * KIB, 65 * KIB, 128 * KIB, 129 * KIB,
        200 * KIB, 1 * MIB,
    };
    struct iscsi_test_opts solicited = { .no_immediate_data = true,
                                         .initial_r2t = true };
    struct iscsi_context *a = test_iscsi_login(t, NULL, what);
    struct iscsi_context *b = test_iscsi_login(t, &solicited, what);
    uint64_t lba = 0, lbas[2][sizeof sizes / sizeof sizes[0]];
    char desc[160];

    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            uint32_t len = sizes[i];

            if (len % g.bs) {
                len += g.bs - len % g.bs; /* 4096-byte blocks */
            }
            lba += 3; /* unaligned starts, gaps between */
            CHECK((lba + len / g.bs) <= g.blocks, "%s: the LUN is too small "
                  "for the round trips", what);
            snprintf(desc, sizeof desc, "%s: %s, %u bytes", what,
                     s ? "solicited data only (ImmediateData=No, "
                         "InitialR2T=Yes)"
                       : "unsolicited data (ImmediateData=Yes, InitialR2T=No)",
                     len);
            test_iscsi_roundtrip(s ? b : a, t->lun, lba, len, g.bs,
                                 (uint32_t)(s * 100 + i + 1), false, desc);
            lbas[s][i] = lba;
            lba += len / g.bs;
        }
    }
    /* Each session sees what the other wrote. */
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            uint32_t len = sizes[i];

            if (len % g.bs) {
                len += g.bs - len % g.bs;
            }
            snprintf(desc, sizeof desc, "%s: %u bytes written by the %s "
                     "session, read by the other", what, len,
                     s ? "solicited" : "unsolicited");
            test_iscsi_expect(s ? a : b, t->lun, lbas[s][i], len, g.bs,
                              (uint32_t)(s * 100 + i + 1), desc);
        }
    }
    test_iscsi_logout(a, what);
    test_iscsi_logout(b, what);
}

static void
check_fua_and_sync(struct iscsi_context *ctx, int lun, struct geom g,
                   const char *backing_file, const char *what)
{
    struct scsi_task *task;
    uint64_t lba = g.blocks / 2;
    uint32_t len = 64 * KIB;

    test_iscsi_roundtrip(ctx, lun, lba, len, g.bs, 77, true, what);
    task = iscsi_synchronizecache10_sync(ctx, lun, 0, 0, 0, 0);
    CHECK_TASK_GOOD(ctx, task, "%s: SYNCHRONIZE CACHE(10) of the whole LUN",
                    what);
    scsi_free_scsi_task(task);
    task = iscsi_synchronizecache10_sync(ctx, lun, (int)lba, 16, 0, 0);
    CHECK_TASK_GOOD(ctx, task, "%s: SYNCHRONIZE CACHE(10) of 16 blocks", what);
    scsi_free_scsi_task(task);
    if (backing_file) {
        uint8_t *want = malloc(len), *got = malloc(len);
        int fd = open(backing_file, O_RDONLY | O_CLOEXEC);
        ssize_t d;

        CHECK(want && got, "out of memory");
        CHECK(fd >= 0, "%s: open %s: %s", what, backing_file, strerror(errno));
        CHECK(pread(fd, got, len, (off_t)(lba * g.bs)) == (ssize_t)len,
              "%s: short read of %s", what, backing_file);
        close(fd);
        test_fill(want, len, lba * g.bs, 77);
        d = test_memdiff(got, want, len);
        CHECK(d < 0, "%s: the backing file does not hold the FUA write "
              "(first difference at byte %zd)", what, d);
        free(want);
        free(got);
    }
}

static void
check_errors(struct iscsi_context *ctx, int lun, struct geom g,
             const char *what)
{
    uint8_t *buf = calloc(2, g.bs);
    char desc[160];
    struct scsi_task *task;
    /* Opcode 0x20: reserved in SBC (10-byte CDB group). */
    unsigned char cdb[10] = { 0x20 };

    CHECK(buf != NULL, "out of memory");
    snprintf(desc, sizeof desc, "%s: READ(16) of 2 blocks at the last LBA",
             what);
    CHECK_TASK_SENSE(ctx, iscsi_read16_sync(ctx, lun, g.blocks - 1, 2 * g.bs,
                                            (int)g.bs, 0, 0, 0, 0, 0),
                     SCSI_SENSE_ILLEGAL_REQUEST,
                     SCSI_SENSE_ASCQ_LBA_OUT_OF_RANGE, 0xffff, desc);
    snprintf(desc, sizeof desc, "%s: READ(16) of 1 block just past the end",
             what);
    CHECK_TASK_SENSE(ctx, iscsi_read16_sync(ctx, lun, g.blocks, g.bs,
                                            (int)g.bs, 0, 0, 0, 0, 0),
                     SCSI_SENSE_ILLEGAL_REQUEST,
                     SCSI_SENSE_ASCQ_LBA_OUT_OF_RANGE, 0xffff, desc);
    snprintf(desc, sizeof desc, "%s: READ(16) at LBA 2^63", what);
    CHECK_TASK_SENSE(ctx, iscsi_read16_sync(ctx, lun, UINT64_C(1) << 63, g.bs,
                                            (int)g.bs, 0, 0, 0, 0, 0),
                     SCSI_SENSE_ILLEGAL_REQUEST,
                     SCSI_SENSE_ASCQ_LBA_OUT_OF_RANGE, 0xffff, desc);
    snprintf(desc, sizeof desc, "%s: WRITE(16) of 2 blocks at the last LBA",
             what);
    CHECK_TASK_SENSE(ctx, iscsi_write16_sync(ctx, lun, g.blocks - 1, buf,
                                             2 * g.bs, (int)g.bs, 0, 0, 0, 0,
                                             0),
                     SCSI_SENSE_ILLEGAL_REQUEST,
                     SCSI_SENSE_ASCQ_LBA_OUT_OF_RANGE, 0xffff, desc);

    task = scsi_create_task(sizeof cdb, cdb, SCSI_XFER_NONE, 0);
    CHECK(task != NULL, "scsi_create_task");
    snprintf(desc, sizeof desc, "%s: unknown opcode 0x20", what);
    CHECK_TASK_SENSE(ctx, iscsi_scsi_command_sync(ctx, lun, task, NULL),
                     SCSI_SENSE_ILLEGAL_REQUEST,
                     SCSI_SENSE_ASCQ_INVALID_OPERATION_CODE, 0xffff, desc);
    /* The session is still good after the errors. */
    check_tur(ctx, lun, what);
    free(buf);
}

/* The initiator expects to send less than the CDB writes (EDTL 200 for a
 * one-block WRITE(10)): only those 200 bytes are written (FCP-4), the
 * answer is GOOD with a residual overflow of the rest. */
static void
check_short_write(struct iscsi_context *ctx, int lun, struct geom g,
                  const char *what)
{
    uint32_t bs = g.bs;
    uint8_t old[4096], data[4096], cdb[10] = { 0x2a };
    struct iscsi_data d = { .size = 200, .data = data };
    struct scsi_task *task;
    uint64_t lba = g.blocks / 2 + 3;

    test_fill(old, bs, lba * bs, 71);
    task = iscsi_write16_sync(ctx, lun, lba, old, bs, (int)bs, 0, 0, 0, 0, 0);
    CHECK_TASK_GOOD(ctx, task, "%s: WRITE(16) before the short write", what);
    scsi_free_scsi_task(task);
    memset(data, 'b', sizeof data);
    cdb[2] = (uint8_t)(lba >> 24);
    cdb[3] = (uint8_t)(lba >> 16);
    cdb[4] = (uint8_t)(lba >> 8);
    cdb[5] = (uint8_t)lba;
    cdb[8] = 1;
    task = scsi_create_task(sizeof cdb, cdb, SCSI_XFER_WRITE, 200);
    CHECK(task != NULL, "scsi_create_task");
    task = iscsi_scsi_command_sync(ctx, lun, task, &d);
    CHECK_TASK_GOOD(ctx, task, "%s: WRITE(10) of a block with EDTL 200", what);
    CHECK(task->residual_status == SCSI_RESIDUAL_OVERFLOW &&
          task->residual == bs - 200,
          "%s: short write: residual status %d, residual %zu; expected "
          "overflow of %u", what, (int)task->residual_status,
          (size_t)task->residual, bs - 200);
    scsi_free_scsi_task(task);
    memset(old, 'b', 200);
    task = iscsi_read16_sync(ctx, lun, lba, bs, (int)bs, 0, 0, 0, 0, 0);
    CHECK_TASK_GOOD(ctx, task, "%s: READ(16) after the short write", what);
    CHECK(task->datain.size == (int)bs &&
          memcmp(task->datain.data, old, bs) == 0,
          "%s: a short write of 200 bytes changed other bytes of the block "
          "(or not those)", what);
    scsi_free_scsi_task(task);
    printf("ok: %s: a short WRITE wrote its 200 bytes, not the block\n", what);
}

/* ---- many commands in flight ---------------------------------------- */

#define INFLIGHT 32

struct inflight;

struct slot {
    struct inflight *f;
    int status;          /* -1 until the callback */
    struct scsi_task *task;
};

struct inflight {
    int pending;
    bool done;
    struct slot slot[INFLIGHT];
};

static void
inflight_cb(struct iscsi_context *ctx, int status, void *command_data,
            void *private_data)
{
    struct slot *sl = private_data;

    (void)ctx;
    (void)command_data;
    sl->status = status;
    sl->f->done = --sl->f->pending == 0;
}

static void
check_inflight(struct iscsi_context *ctx, int lun, struct geom g,
               const char *what)
{
    uint32_t len = 64 * KIB;
    uint8_t *bufs = malloc((size_t)INFLIGHT * len);
    struct inflight *f = calloc(1, sizeof *f);
    uint64_t base = 1024 * (4096 / g.bs);

    CHECK(bufs && f, "out of memory");
    CHECK(base + (uint64_t)INFLIGHT * 2 * len / g.bs <= g.blocks,
          "%s: the LUN is too small", what);
    for (int pass = 0; pass < 2; pass++) {
        bool reads = pass == 1;

        f->pending = INFLIGHT;
        f->done = false;
        for (int i = 0; i < INFLIGHT; i++) {
            /* Every other 64K: the writes land apart from each other. */
            uint64_t lba = base + (uint64_t)i * 2 * len / g.bs;
            struct slot *sl = &f->slot[i];

            sl->f = f;
            sl->status = -1;
            if (reads) {
                sl->task = iscsi_read16_task(ctx, lun, lba, len, (int)g.bs, 0,
                                             0, 0, 0, 0, inflight_cb, sl);
            } else {
                test_fill(bufs + (size_t)i * len, len, lba * g.bs,
                          500 + (uint32_t)i);
                sl->task = iscsi_write16_task(ctx, lun, lba,
                                              bufs + (size_t)i * len, len,
                                              (int)g.bs, 0, 0, 0, 0, 0,
                                              inflight_cb, sl);
            }
            CHECK(sl->task != NULL, "%s: queueing %s %d: %s", what,
                  reads ? "READ(16)" : "WRITE(16)", i, iscsi_get_error(ctx));
        }
        test_iscsi_wait(ctx, &f->done, 30000, what);
        for (int i = 0; i < INFLIGHT; i++) {
            struct slot *sl = &f->slot[i];

            CHECK(sl->status == SCSI_STATUS_GOOD, "%s: %s %d of %d in "
                  "flight ended with status 0x%x (%s)", what,
                  reads ? "READ(16)" : "WRITE(16)", i, INFLIGHT,
                  (unsigned)sl->status, test_task_str(ctx, sl->task));
            if (reads) {
                ssize_t d;

                CHECK(sl->task->datain.size == (int)len, "%s: read %d "
                      "returned %d bytes", what, i, sl->task->datain.size);
                d = test_memdiff(sl->task->datain.data,
                                 bufs + (size_t)i * len, len);
                CHECK(d < 0, "%s: read %d of %d in flight differs from write "
                      "%d at byte %zd", what, i, INFLIGHT, i, d);
            }
            scsi_free_scsi_task(sl->task);
        }
    }
    free(bufs);
    free(f);
}

/* Everything that works on any target. */
static struct geom
check_generic(const struct iscsi_test_target *t, uint64_t want_blocks,
              uint32_t want_bs, const char *backing, const char *what,
              char **serial, char **naa, int *naa_len)
{
    struct iscsi_context *ctx = test_iscsi_login(t, NULL, what);
    struct geom g = check_capacity(ctx, t->lun, want_blocks, want_bs, what);

    check_inquiry(ctx, t->lun, serial, naa, naa_len, what);
    check_report_luns(ctx, t->lun, what);
    check_tur(ctx, t->lun, what);
    check_mode_sense(ctx, t->lun, false, g.bs, what);
    printf("ok: %s: capacity %" PRIu64 " x %u, INQUIRY, VPD, REPORT LUNS, "
           "TEST UNIT READY, MODE SENSE\n", what, g.blocks, g.bs);
    check_errors(ctx, t->lun, g, what);
    if (!url_mode) {
        check_short_write(ctx, t->lun, g, what);
    }
    printf("ok: %s: out-of-range and unknown-opcode errors\n", what);
    check_fua_and_sync(ctx, t->lun, g, backing, what);
    printf("ok: %s: FUA write and SYNCHRONIZE CACHE\n", what);
    check_inflight(ctx, t->lun, g, what);
    printf("ok: %s: %d writes and %d reads in flight\n", what, INFLIGHT,
           INFLIGHT);
    test_iscsi_logout(ctx, what);
    check_roundtrips(t, g, what);
    printf("ok: %s: round trips, unsolicited and solicited data\n", what);
    return g;
}

static void
check_readonly(const struct iscsi_test_target *t)
{
    struct iscsi_context *ctx = test_iscsi_login(t, NULL, "readonly");
    struct geom g = check_capacity(ctx, t->lun, 1 * MIB / 512, 512,
                                   "readonly");
    uint8_t buf[4096] = { 0 };
    struct scsi_task *task;

    check_mode_sense(ctx, t->lun, true, 512, "readonly");
    task = iscsi_read16_sync(ctx, t->lun, 0, sizeof buf, 512, 0, 0, 0, 0, 0);
    CHECK_TASK_GOOD(ctx, task, "readonly: READ(16)");
    scsi_free_scsi_task(task);
    CHECK_TASK_SENSE(ctx, iscsi_write16_sync(ctx, t->lun, 0, buf, sizeof buf,
                                             512, 0, 0, 0, 0, 0),
                     SCSI_SENSE_DATA_PROTECTION,
                     SCSI_SENSE_ASCQ_WRITE_PROTECTED, 0xff00,
                     "readonly: WRITE(16)");
    CHECK_TASK_SENSE(ctx, iscsi_write16_sync(ctx, t->lun, g.blocks - 8, buf,
                                             sizeof buf, 512, 0, 0, 1, 0, 0),
                     SCSI_SENSE_DATA_PROTECTION,
                     SCSI_SENSE_ASCQ_WRITE_PROTECTED, 0xff00,
                     "readonly: WRITE(16) with FUA");
    check_tur(ctx, t->lun, "readonly after refused writes");
    test_iscsi_logout(ctx, "readonly");
    printf("ok: readonly export: reads work, writes get DATA PROTECT\n");
}

/* Two exports named by one iqn are LUNs 0 and 5 of one target: REPORT
 * LUNS lists both, each has its own geometry and data, and a LUN that is
 * not there is refused. */
static void
check_multi_lun(struct iscsi_test_target *t)
{
    struct iscsi_context *ctx;
    struct scsi_task *task;
    struct scsi_reportluns_list *l;
    uint8_t buf[4096];

    test_iscsi_export_target_lun(t, "multi", 0);
    ctx = test_iscsi_login(t, NULL, "multi-LUN target");
    test_iscsi_clear_ua(ctx, 0, "multi-LUN target");
    task = iscsi_reportluns_sync(ctx, 0, 512);
    CHECK_TASK_GOOD(ctx, task, "multi-LUN target: REPORT LUNS");
    l = scsi_datain_unmarshall(task);
    CHECK(l != NULL && l->num == 2 &&
          ((l->luns[0] == 0 && l->luns[1] == 5) ||
           (l->luns[0] == 5 && l->luns[1] == 0)),
          "multi-LUN target: REPORT LUNS should list LUNs 0 and 5");
    scsi_free_scsi_task(task);
    check_capacity(ctx, 0, 8 * MIB / 512, 512, "multi-LUN target, LUN 0");
    check_capacity(ctx, 5, 4 * MIB / 4096, 4096, "multi-LUN target, LUN 5");
    test_iscsi_roundtrip(ctx, 5, 3, 4096, 4096, 55, false, "LUN 5");
    task = iscsi_read16_sync(ctx, 0, 24, 4096, 512, 0, 0, 0, 0, 0);
    CHECK_TASK_GOOD(ctx, task, "multi-LUN target: READ(16) of LUN 0");
    memset(buf, 0, sizeof buf);
    CHECK(task->datain.size == 4096 &&
          memcmp(task->datain.data, buf, sizeof buf) == 0,
          "a write to LUN 5 changed LUN 0");
    scsi_free_scsi_task(task);
    task = iscsi_testunitready_sync(ctx, 1);
    CHECK_TASK_SENSE(ctx, task, SCSI_SENSE_ILLEGAL_REQUEST, 0x2500, 0xffff,
                     "multi-LUN target: TEST UNIT READY of LUN 1");
    test_iscsi_logout(ctx, "multi-LUN target");
    printf("ok: one target with LUNs 0 and 5, separate geometry and data\n");
}

int
main(void)
{
    struct test_server s = { 0 };
    struct iscsi_test_target t;
    char *serial[2] = { NULL, NULL }, *naa[2] = { NULL, NULL };
    int naa_len[2] = { 0, 0 };
    char backing[400];

    test_init("test-iscsi-io", 60);
    if (test_iscsi_env_target(&t)) {
        url_mode = true;
        check_generic(&t, 0, 0, NULL, t.iqn, &serial[0], &naa[0], &naa_len[0]);
        return test_finish();
    }
    test_iscsi_server_start(&s, conf);

    test_iscsi_export_target(&s, "disk0", &t);
    check_generic(&t, 64 * MIB / 512, 512, NULL, "disk0 (512-byte blocks)",
                  &serial[0], &naa[0], &naa_len[0]);
    test_iscsi_export_target(&s, "disk4k", &t);
    check_generic(&t, 16 * MIB / 4096, 4096, NULL, "disk4k (4096-byte blocks)",
                  &serial[1], &naa[1], &naa_len[1]);
    SOFT_CHECK(strcmp(serial[0], serial[1]) != 0, "disk0 and disk4k have the "
               "same unit serial number '%s'", serial[0]);
    SOFT_CHECK(naa_len[0] != naa_len[1] ||
               memcmp(naa[0], naa[1], (size_t)naa_len[0]) != 0,
               "disk0 and disk4k have the same NAA designator: multipath "
               "would take them for one disk");

    test_iscsi_export_target(&s, "ro", &t);
    check_readonly(&t);

    test_iscsi_export_target(&s, "filedisk", &t);
    {
        struct iscsi_context *ctx = test_iscsi_login(&t, NULL, "filedisk");
        struct geom g = check_capacity(ctx, 0, 4 * MIB / 512, 512, "filedisk");

        snprintf(backing, sizeof backing, "%s/file.img", s.dir);
        check_fua_and_sync(ctx, 0, g, backing, "filedisk");
        test_iscsi_logout(ctx, "filedisk");
        printf("ok: filedisk: a FUA write is in the backing file\n");
    }

    test_iscsi_export_target(&s, "multi0", &t);
    check_multi_lun(&t);

    for (int i = 0; i < 2; i++) {
        free(serial[i]);
        free(naa[i]);
    }
    test_server_check_alive(&s);
    test_server_stop(&s);
    return test_finish();
}
