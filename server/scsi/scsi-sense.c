/* SPDX-License-Identifier: MIT */
/*
 * Sense data builders.  Only fixed format (SPC-4 4.5.3): every initiator
 * reads it, and descriptor format buys nothing until an LBA or a sense
 * descriptor no longer fits in 32 bits, which nothing we report needs.
 * The 18 bytes are the minimum with ASC/ASCQ and the sense-key specific
 * field; INFORMATION and COMMAND-SPECIFIC INFORMATION stay zero (VALID is
 * 0, so initiators ignore them).
 */
#include <config.h>

#include <string.h>

#include "scsi/scsi-cmd.h"

void
scsi_sense_build(uint8_t *buf, uint8_t key, uint16_t asc)
{
    memset(buf, 0, SCSI_SENSE_LEN);
    buf[0] = SCSI_SENSE_RESPONSE_CURRENT;
    buf[2] = key & 0x0f;
    buf[7] = SCSI_SENSE_ADDITIONAL_LEN;
    buf[12] = (uint8_t)(asc >> 8);
    buf[13] = (uint8_t)asc;
}
