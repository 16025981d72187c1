/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: NBD request parsing.  The harness does the
 * handshake itself and the input is only what follows: request headers
 * and write payloads, into the real server's connection (fuzz-helpers.h)
 * and so into nbd-request.c's parser and validator, the backend and the
 * reply code.  The input's first byte picks the handshake, so that both
 * reply formats and every export are reached: bit 0 structured replies,
 * bit 1 the base:allocation meta context as well, bits 2-3 the export
 * (disk0, ro, null, disk0).
 */
#include <config.h>

#include <endian.h>

#include "fuzz-nbd.h"
#include "nbd/nbd-protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_nbd_pre {
    uint8_t buf[256];
    size_t len;
};

static void
pre_add(struct fuzz_nbd_pre *p, const void *v, size_t len)
{
    memcpy(p->buf + p->len, v, len);
    p->len += len;
}

static void
pre_be32(struct fuzz_nbd_pre *p, uint32_t v)
{
    v = htobe32(v);
    pre_add(p, &v, sizeof v);
}

static void
pre_option(struct fuzz_nbd_pre *p, uint32_t opt, uint32_t len)
{
    uint64_t magic = htobe64(NBD_IHAVEOPT);

    pre_add(p, &magic, sizeof magic);
    pre_be32(p, opt);
    pre_be32(p, len);
}

/* The client's side of the handshake chosen by the variant byte. */
static void
pre_build(struct fuzz_nbd_pre *p, uint8_t variant)
{
    static const char *const names[4] = { "disk0", "ro", "null", "disk0" };
    static const char ctx[] = "base:allocation";
    const char *name = names[(variant >> 2) & 3];
    uint32_t nlen = (uint32_t)strlen(name);
    uint16_t no_info = 0;

    p->len = 0;
    pre_be32(p, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
    if (variant & 1) {
        pre_option(p, NBD_OPT_STRUCTURED_REPLY, 0);
    }
    if (variant & 2) {
        pre_option(p, NBD_OPT_SET_META_CONTEXT,
                   4 + nlen + 4 + 4 + (uint32_t)strlen(ctx));
        pre_be32(p, nlen);
        pre_add(p, name, nlen);
        pre_be32(p, 1);
        pre_be32(p, (uint32_t)strlen(ctx));
        pre_add(p, ctx, strlen(ctx));
    }
    pre_option(p, NBD_OPT_GO, 4 + nlen + 2);
    pre_be32(p, nlen);
    pre_add(p, name, nlen);
    pre_add(p, &no_info, sizeof no_info);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct fuzz_nbd_pre pre;

    if (!ready) {
        fuzz_nbd_init();
        ready = true;
    }
    if (size == 0) {
        return 0;
    }
    pre_build(&pre, data[0]);
    fuzz_client(&fuzz_nbd_env, &fuzz_nbd_srv.fe, pre.buf, pre.len, data + 1,
                size - 1);
    return 0;
}
