/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: SCSI CDB decoding and execution.  The SCSI core is
 * transport-independent (scsi-cmd.h), so the harness is the transport:
 * a target of two LUs (RAM disks with 512- and 4096-byte blocks, opened
 * from an INI text by export.c) on an aio loop of this thread, and each
 * input a sequence of commands, each run the way iscsi-task.c runs one:
 * decode, a buffer of exactly buf_len bytes (so ASan sees a command that
 * writes past what it announced), data-out copied in, exec, then the
 * loop spun until done.  The contract of scsi-cmd.h is checked on every
 * command (done exactly once, data within xfer_len and buf_len, no data
 * with a failure, sense with CHECK CONDITION only) and a breach aborts.
 *
 * A command in the input: one byte of flags (bits 0-1: LU 0, LU 1, no
 * such LUN, LU 0; bit 2: the data-out is short of what the CDB asks, as
 * iSCSI's EDTL allows), 16 bytes of CDB, a big-endian 16-bit data-out
 * length and that much data-out (repeated to fill what the CDB asks).
 * The LUs keep their state from one command to the next (COMPARE AND
 * WRITE ranges, data), and across inputs.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "log.h"
#include "policy/policy.h"
#include "scsi/scsi-cmd.h"
#include "scsi/scsi-protocol.h"
#include "server/config.h"

#define FUZZ_TARGET "iqn.2026-11.org.polltgt:fuzz"
#define FUZZ_CMD_HDR (1 + SCSI_CDB_MAX + 2)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_scsi_ini[] =
    "[export lu0]\n"
    "backend = memory\n"
    "size = 1M\n"
    "[export lu1]\n"
    "backend = memory\n"
    "size = 256K\n"
    "block-size = 4096\n";

static struct config *cfg;
static struct export_set exports;
static struct aio_ctx *ctx;
static struct scsi_lu lus[2];
static struct scsi_target target;

static void
check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz-scsi-cdb: contract broken: %s\n", what);
        abort();
    }
}

static void
setup(void)
{
    struct poll_params params;
    char *err = NULL;

    log_pin_level(LOG_LEVEL_ERROR);
    check(config_load_string("fuzz.ini", fuzz_scsi_ini, &cfg, &err) == 0,
          "configuration");
    check(export_set_open(&exports, cfg) == 0, "exports");
    policy_params_default(&params);
    params.max_ns = 0;
    check(aio_ctx_new(&ctx, &params, 64) == 0, "aio_ctx_new");
    for (size_t i = 0; i < 2; i++) {
        scsi_lu_init(&lus[i], &exports.exports[i], i, FUZZ_TARGET);
    }
    target.name = FUZZ_TARGET;
    target.tpgt = 1;
    target.luns = lus;
    target.nluns = 2;
}

struct fuzz_cmd {
    struct scsi_cmd t; /* first: done casts back */
    int ncalls;
};

static void
fuzz_done(struct scsi_cmd *t)
{
    ((struct fuzz_cmd *)t)->ncalls++;
}

static void
run_one(uint8_t flags, const uint8_t *cdb, const uint8_t *out, size_t outlen)
{
    struct fuzz_cmd c;
    uint32_t want;

    memset(&c, 0, sizeof c);
    c.t.target = &target;
    c.t.lu = (flags & 3) == 2 ? NULL : &lus[(flags & 3) == 1];
    c.t.lun = c.t.lu ? c.t.lu->lun : 7;
    memcpy(c.t.cdb, cdb, SCSI_CDB_MAX);
    c.t.cdb_len = SCSI_CDB_MAX;
    c.t.ctx = ctx;
    c.t.done = fuzz_done;
    if (!scsi_cmd_decode(&c.t)) {
        check(c.t.status == SCSI_STATUS_CHECK_CONDITION &&
              c.t.dir == SCSI_DIR_NONE && c.t.xfer_len == 0,
              "a refused command has CHECK CONDITION and no data phase");
    } else {
        check(c.t.xfer_len > 0 || c.t.dir == SCSI_DIR_NONE,
              "a data phase has a length");
        check(c.t.buf_len <= c.t.xfer_len + SCSI_STEP_BYTES + 4096,
              "scratch room is bounded");
        want = c.t.xfer_len;
        if (c.t.dir == SCSI_DIR_WRITE && (flags & 4) && outlen < want &&
            scsi_cmd_short_data_out(&c.t, (uint32_t)outlen)) {
            want = (uint32_t)outlen;
        }
        c.t.buf = c.t.buf_len ? malloc(c.t.buf_len) : NULL;
        check(c.t.buf_len == 0 || c.t.buf != NULL, "out of memory");
        if (c.t.buf) {
            memset(c.t.buf, 0xa5, c.t.buf_len);
        }
        if (c.t.dir == SCSI_DIR_WRITE) {
            check(c.t.buf_len >= want, "a data-out fits its buffer");
            for (uint32_t i = 0; i < want; i++) {
                c.t.buf[i] = outlen ? out[i % outlen] : 0;
            }
        }
    }
    scsi_cmd_exec(&c.t);
    while (c.ncalls == 0) {
        aio_ctx_poll(ctx, true);
    }
    aio_ctx_poll(ctx, false); /* a second done would show here */
    check(c.ncalls == 1, "done runs exactly once");
    check(aio_ctx_sqe_inflight(ctx) == 0, "nothing left in flight");
    check(c.t.data_len <= c.t.xfer_len && c.t.data_len <= c.t.buf_len,
          "data-in within xfer_len and buf_len");
    if (c.t.status == SCSI_STATUS_GOOD) {
        check(c.t.sense_len == 0, "no sense with GOOD");
        check(c.t.dir == SCSI_DIR_READ || c.t.data_len == 0,
              "data-in only from a data-in command");
    } else {
        check(c.t.data_len == 0, "no data with a failure");
    }
    free(c.t.buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;

    if (!ready) {
        setup();
        ready = true;
    }
    while (size >= FUZZ_CMD_HDR) {
        size_t outlen = (size_t)data[1 + SCSI_CDB_MAX] << 8 |
                        data[2 + SCSI_CDB_MAX];

        if (outlen > size - FUZZ_CMD_HDR) {
            outlen = size - FUZZ_CMD_HDR;
        }
        run_one(data[0], data + 1, data + FUZZ_CMD_HDR, outlen);
        data += FUZZ_CMD_HDR + outlen;
        size -= FUZZ_CMD_HDR + outlen;
    }
    return 0;
}
