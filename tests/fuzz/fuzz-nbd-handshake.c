/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: NBD option haggling.  The input is everything a
 * client sends from its first byte (client flags, then options), fed to
 * the real server's connection (fuzz-helpers.h), so nbd-handshake.c's
 * state machine sees it through the receive buffer it always reads
 * from.  An input that gets into transmission goes on into the request
 * parser (fuzz-nbd-request covers that part with a fixed handshake).
 */
#include <config.h>

#include "fuzz-nbd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;

    if (!ready) {
        fuzz_nbd_init();
        ready = true;
    }
    fuzz_client(&fuzz_nbd_env, &fuzz_nbd_srv.fe, NULL, 0, data, size);
    return 0;
}
