/* SPDX-License-Identifier: MIT */
/*
 * Sense data builders.  Only fixed format (SPC-4 4.5.3): every initiator
 * reads it, and descriptor format buys nothing until an LBA or a sense
 * descriptor no longer fits in 32 bits, which nothing we report needs.
 * The 18 bytes are the minimum with ASC/ASCQ and the sense-key specific
 * field; COMMAND-SPECIFIC INFORMATION stays zero, and so does INFORMATION
 * (with VALID 0, so initiators ignore it) except where a command defines
 * it: VERIFY's MISCOMPARE gives the offset of the first byte that differs.
 */
#include <config.h>

#include <string.h>

#include "scsi/scsi-internal.h"

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

void
scsi_cmd_set_sense_info(struct scsi_cmd *t, uint8_t key, uint16_t asc,
                        uint32_t info)
{
    scsi_cmd_set_sense(t, key, asc);
    t->sense[0] |= SCSI_SENSE_VALID;
    scsi_put_be32(&t->sense[3], info);
}
