/* SPDX-License-Identifier: MIT */
/*
 * Shared by the two NBD fuzz targets, #included by each (every function
 * static): the NBD server of fuzz-helpers.h on three exports that take
 * the handshake and the request code down their different paths: a
 * writable RAM disk with 4096-byte blocks (the default export), a
 * read-only one, and a null export (no data, every write accepted).
 * Small, so a READ of the whole disk stays cheap.
 */
#ifndef POLLTGT_TESTS_FUZZ_FUZZ_NBD_H
#define POLLTGT_TESTS_FUZZ_FUZZ_NBD_H

#include "fuzz-helpers.h"
#include "nbd/nbd-server.h"

static const char fuzz_nbd_ini[] =
    "[poll]\n"
    "max-ns = 0\n"
    "[nbd]\n"
    "default-export = disk0\n"
    "handshake-timeout = 1h\n"
    "max-payload = 1M\n"
    "[export disk0]\n"
    "backend = memory\n"
    "size = 1M\n"
    "block-size = 4096\n"
    "description = fuzz disk\n"
    "[export ro]\n"
    "backend = memory\n"
    "size = 64K\n"
    "readonly = yes\n"
    "[export null]\n"
    "backend = null\n"
    "size = 1G\n";

static struct fuzz_env fuzz_nbd_env;
static struct nbd_server fuzz_nbd_srv;

/* Once per process: the server. */
static void
fuzz_nbd_init(void)
{
    fuzz_env_init(&fuzz_nbd_env, fuzz_nbd_ini);
    if (nbd_server_start(&fuzz_nbd_srv, fuzz_nbd_env.loop,
                         fuzz_nbd_env.cfg, &fuzz_nbd_env.exports,
                         &fuzz_nbd_env.thread, 1) < 0) {
        fuzz_die("cannot start the NBD server");
    }
}

#endif /* POLLTGT_TESTS_FUZZ_FUZZ_NBD_H */
