/* SPDX-License-Identifier: MIT */
/*
 * CRC32C (see iscsi-digest.h).  The table code is slicing-by-8 (8 KiB of
 * tables, 8 bytes per step), about 1 byte/cycle; the SSE4.2 code does 8
 * bytes per crc32q, several times faster, which matters because a data
 * digest touches every byte of every PDU.
 */
#include <config.h>

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "iscsi/iscsi-digest.h"

#define CRC32C_POLY_REFLECTED 0x82f63b78u

static uint32_t crc32c_tables[8][256];

static void
crc32c_tables_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++) {
            c = c & 1 ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
        }
        crc32c_tables[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) {
            uint32_t prev = crc32c_tables[t - 1][i];

            crc32c_tables[t][i] = (prev >> 8) ^ crc32c_tables[0][prev & 0xff];
        }
    }
}

/* The raw (uncomplemented) CRC register over buf, table version. */
static uint32_t
crc32c_sw(uint32_t c, const uint8_t *p, size_t len)
{
    while (len && ((uintptr_t)p & 7)) {
        c = (c >> 8) ^ crc32c_tables[0][(c ^ *p++) & 0xff];
        len--;
    }
    while (len >= 8) {
        uint64_t v;

        memcpy(&v, p, 8);
        v ^= c; /* little-endian: the low 4 bytes take the register */
        c = crc32c_tables[7][v & 0xff] ^ crc32c_tables[6][(v >> 8) & 0xff] ^
            crc32c_tables[5][(v >> 16) & 0xff] ^
            crc32c_tables[4][(v >> 24) & 0xff] ^
            crc32c_tables[3][(v >> 32) & 0xff] ^
            crc32c_tables[2][(v >> 40) & 0xff] ^
            crc32c_tables[1][(v >> 48) & 0xff] ^ crc32c_tables[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) {
        c = (c >> 8) ^ crc32c_tables[0][(c ^ *p++) & 0xff];
    }
    return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t c, const uint8_t *p, size_t len)
{
    uint64_t c64 = c;

    while (len && ((uintptr_t)p & 7)) {
        c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t v;

        memcpy(&v, p, 8);
        c64 = __builtin_ia32_crc32di(c64, v);
        p += 8;
        len -= 8;
    }
    while (len--) {
        c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
    }
    return (uint32_t)c64;
}
#endif

static uint32_t (*crc32c_impl)(uint32_t, const uint8_t *, size_t);

static void
crc32c_choose(void)
{
    crc32c_tables_init();
    crc32c_impl = crc32c_sw;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
        crc32c_impl = crc32c_hw;
    }
#endif
}

static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

uint32_t
iscsi_digest_crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc32c_once, crc32c_choose);
    return ~crc32c_impl(~crc, buf, len);
}

uint32_t
iscsi_digest_crc32c_table(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc32c_once, crc32c_choose);
    return ~crc32c_sw(~crc, buf, len);
}

int
iscsi_digest_has_hw(void)
{
    pthread_once(&crc32c_once, crc32c_choose);
    return crc32c_impl != crc32c_sw;
}
