/* SPDX-License-Identifier: MIT */
/*
 * CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 section
 * 13.1, test vectors in RFC 3720 appendix B.4).  Uses the SSE4.2 crc32
 * instruction when the CPU has it, a slicing-by-8 table otherwise; the
 * choice is made once, at first use.
 *
 * libiscsi owns iscsi_* (and exports its own crc32c), hence the second
 * name part.
 */
#ifndef POLLTGT_ISCSI_ISCSI_DIGEST_H
#define POLLTGT_ISCSI_ISCSI_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC32C over len bytes.  Start with crc = 0; the result is the
 * digest value (already complemented), and can be passed back in to
 * continue over a buffer in pieces. */
uint32_t iscsi_digest_crc32c(uint32_t crc, const void *buf, size_t len);

/* The same with the portable table code, whatever the CPU (for tests). */
uint32_t iscsi_digest_crc32c_table(uint32_t crc, const void *buf, size_t len);

/* Whether the hardware instruction is in use. */
int iscsi_digest_has_hw(void);

#endif /* POLLTGT_ISCSI_ISCSI_DIGEST_H */
