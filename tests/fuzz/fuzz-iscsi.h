/* SPDX-License-Identifier: MIT */
/*
 * Shared by the two iSCSI fuzz targets, #included by each (every function
 * static): the iSCSI server of fuzz-helpers.h with two targets, so the
 * login code meets both kinds: disk0 (no authentication, two LUNs on RAM
 * disks of 512- and 4096-byte blocks) and secure (CHAP, mutual CHAP
 * offered, an initiator name list).  Small disks, so a command over the
 * whole disk stays cheap.
 */
#ifndef POLLTGT_TESTS_FUZZ_FUZZ_ISCSI_H
#define POLLTGT_TESTS_FUZZ_FUZZ_ISCSI_H

#include "fuzz-helpers.h"
#include "iscsi/iscsi-server.h"

#define FUZZ_ISCSI_IQN "iqn.2026-11.org.polltgt"

static const char fuzz_iscsi_ini[] =
    "[poll]\n"
    "max-ns = 0\n"
    "[iscsi]\n"
    "iqn-prefix = " FUZZ_ISCSI_IQN "\n"
    "login-timeout = 1h\n"
    "nop-interval = 0\n"
    "queue-depth = 16\n"
    "max-recv-data-segment-length = 64K\n"
    "max-burst-length = 256K\n"
    "first-burst-length = 64K\n"
    "[export disk0]\n"
    "backend = memory\n"
    "size = 1M\n"
    "protocols = iscsi\n"
    "[export disk0-lun1]\n"
    "backend = memory\n"
    "size = 256K\n"
    "block-size = 4096\n"
    "protocols = iscsi\n"
    "iqn = " FUZZ_ISCSI_IQN ":disk0\n"
    "lun = 1\n"
    "[export secure]\n"
    "backend = memory\n"
    "size = 64K\n"
    "protocols = iscsi\n"
    "chap-username = fuzzuser\n"
    "chap-secret = fuzzsecret123\n"
    "chap-mutual-username = fuzztarget\n"
    "chap-mutual-secret = fuzzmutual456\n"
    "initiators = iqn.2026-11.org.fuzz:init\n";

static struct fuzz_env fuzz_iscsi_env;
static struct iscsi_server fuzz_iscsi_srv;

/* Once per process: the server. */
static void
fuzz_iscsi_init(void)
{
    fuzz_env_init(&fuzz_iscsi_env, fuzz_iscsi_ini);
    if (iscsi_server_start(&fuzz_iscsi_srv, fuzz_iscsi_env.loop,
                           fuzz_iscsi_env.cfg, &fuzz_iscsi_env.exports,
                           &fuzz_iscsi_env.thread, 1) < 0) {
        fuzz_die("cannot start the iSCSI server");
    }
}

#endif /* POLLTGT_TESTS_FUZZ_FUZZ_ISCSI_H */
