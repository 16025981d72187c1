/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: iSCSI login and text key negotiation.  The input is
 * everything an initiator sends from its first byte: Login PDUs (and
 * whatever follows a login that succeeds: Text requests with
 * SendTargets or renegotiation, Logout), fed to the real server's
 * connection (fuzz-helpers.h).  So the stage machine of iscsi-login.c,
 * the key=value codec of iscsi-text.c (keys continued across PDUs), the
 * negotiation table of iscsi-param.c and CHAP in iscsi-auth.c all see
 * it, as they would from a socket.  Digests are never on during login.
 */
#include <config.h>

#include "fuzz-iscsi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;

    if (!ready) {
        fuzz_iscsi_init();
        ready = true;
    }
    fuzz_client(&fuzz_iscsi_env, &fuzz_iscsi_srv.fe, NULL, 0, data, size);
    return 0;
}
