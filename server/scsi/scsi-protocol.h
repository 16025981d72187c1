/* SPDX-License-Identifier: MIT */
/*
 * SCSI wire constants (SAM-5, SPC-4, SBC-3): operation codes, status
 * codes, sense keys, additional sense codes, VPD and mode page codes.
 * Constants only, so a transport, a test or a log formatter can use them
 * without the target core.
 *
 * libiscsi's scsi-lowlevel.h has enum constants named like some of these
 * (SCSI_STATUS_GOOD, SCSI_SENSE_ILLEGAL_REQUEST, ...: the names scsi-cmd.h
 * started with), so one file cannot include both headers.  Everything
 * added here avoids libiscsi's names (SCSI_OP_*, not SCSI_OPCODE_*;
 * SCSI_DESIG_CS_*, not SCSI_CODESET_*), so that stays the only clash.
 */
#ifndef POLLTGT_SCSI_SCSI_PROTOCOL_H
#define POLLTGT_SCSI_SCSI_PROTOCOL_H

/* Status codes (SAM-5). */
#define SCSI_STATUS_GOOD            0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02
/* 0x04 CONDITION MET (PRE-FETCH) is never sent: see scsi-sbc.c. */
#define SCSI_STATUS_BUSY            0x08
#define SCSI_STATUS_RESERVATION_CONFLICT 0x18
#define SCSI_STATUS_TASK_SET_FULL   0x28
#define SCSI_STATUS_TASK_ABORTED    0x40

/* Sense keys. */
#define SCSI_SENSE_NO_SENSE        0x0
#define SCSI_SENSE_NOT_READY       0x2
#define SCSI_SENSE_MEDIUM_ERROR    0x3
#define SCSI_SENSE_HARDWARE_ERROR  0x4
#define SCSI_SENSE_ILLEGAL_REQUEST 0x5
#define SCSI_SENSE_UNIT_ATTENTION  0x6
#define SCSI_SENSE_DATA_PROTECT    0x7
#define SCSI_SENSE_ABORTED_COMMAND 0xb
#define SCSI_SENSE_MISCOMPARE_KEY  0xe /* libiscsi has SCSI_SENSE_MISCOMPARE */

/* Additional sense code and qualifier, as ASC << 8 | ASCQ. */
#define SCSI_ASC_NONE                       0x0000
#define SCSI_ASC_INVALID_OPCODE             0x2000
#define SCSI_ASC_LBA_OUT_OF_RANGE           0x2100
#define SCSI_ASC_INVALID_FIELD_IN_CDB       0x2400
#define SCSI_ASC_LUN_NOT_SUPPORTED          0x2500
#define SCSI_ASC_INVALID_FIELD_IN_PARAMETER 0x2600
#define SCSI_ASC_INVALID_FIELD_IN_IU        0x0e03 /* information unit */
#define SCSI_ASC_WRITE_PROTECTED            0x2700
#define SCSI_ASC_SAVING_NOT_SUPPORTED       0x3900
#define SCSI_ASC_WRITE_ERROR                0x0c00
#define SCSI_ASC_READ_ERROR                 0x1100
#define SCSI_ASC_SPACE_ALLOCATION_FAILED    0x2707
#define SCSI_ASC_INTERNAL_TARGET_FAILURE    0x4400
#define SCSI_ASC_POWER_ON_RESET             0x2900
#define SCSI_ASC_OUT_OF_MEMORY              0x5503 /* insufficient resources */
#define SCSI_ASC_PARAM_LIST_LENGTH_ERROR    0x1a00
#define SCSI_ASC_MISCOMPARE_DURING_VERIFY   0x1d00
#define SCSI_ASC_INVALID_RELEASE_OF_PR      0x2604
#define SCSI_ASC_RESERVATIONS_PREEMPTED     0x2a03
#define SCSI_ASC_RESERVATIONS_RELEASED      0x2a04
#define SCSI_ASC_REGISTRATIONS_PREEMPTED    0x2a05
#define SCSI_ASC_INSUFFICIENT_REG_RESOURCES 0x5504
#define SCSI_ASC_SANITIZE_IN_PROGRESS     0x041b /* LU not ready, sanitize */
#define SCSI_ASC_SANITIZE_FAILED          0x3103 /* SANITIZE COMMAND FAILED */
#define SCSI_ASC_COMMANDS_CLEARED_BY_OTHER 0x2f00 /* ... ANOTHER INITIATOR */

/* Fixed-format sense data (SPC-4 4.5.3). */
#define SCSI_SENSE_RESPONSE_CURRENT 0x70   /* byte 0: current error, fixed */
#define SCSI_SENSE_ADDITIONAL_LEN   10     /* byte 7: bytes after byte 7 */
#define SCSI_SENSE_VALID            0x80   /* byte 0: INFORMATION is valid */
#define SCSI_SENSE_SKSV             0x80   /* byte 15: sense-key specific */
#define SCSI_SENSE_SKS_CD           0x40   /* ... field pointer in the CDB */
#define SCSI_SENSE_SKS_BPV          0x08   /* ... bit pointer valid */

/* Operation codes: the ones the core executes, and a few more that are
 * refused but named in logs. */
#define SCSI_OP_TEST_UNIT_READY      0x00
#define SCSI_OP_REQUEST_SENSE        0x03
#define SCSI_OP_READ_6               0x08
#define SCSI_OP_WRITE_6              0x0a
#define SCSI_OP_INQUIRY              0x12
#define SCSI_OP_MODE_SELECT_6        0x15
#define SCSI_OP_RESERVE_6            0x16
#define SCSI_OP_RELEASE_6            0x17
#define SCSI_OP_MODE_SENSE_6         0x1a
#define SCSI_OP_START_STOP_UNIT      0x1b
#define SCSI_OP_SEND_DIAGNOSTIC      0x1d
#define SCSI_OP_PREVENT_ALLOW        0x1e
#define SCSI_OP_READ_CAPACITY_10     0x25
#define SCSI_OP_READ_10              0x28
#define SCSI_OP_WRITE_10             0x2a
#define SCSI_OP_WRITE_VERIFY_10      0x2e
#define SCSI_OP_VERIFY_10            0x2f
#define SCSI_OP_PREFETCH_10          0x34
#define SCSI_OP_SYNCHRONIZE_CACHE_10 0x35
#define SCSI_OP_READ_DEFECT_DATA_10  0x37
#define SCSI_OP_WRITE_BUFFER         0x3b
#define SCSI_OP_READ_BUFFER          0x3c
#define SCSI_OP_WRITE_SAME_10        0x41
#define SCSI_OP_UNMAP                0x42
#define SCSI_OP_SANITIZE             0x48
#define SCSI_OP_LOG_SELECT           0x4c
#define SCSI_OP_LOG_SENSE            0x4d
#define SCSI_OP_MODE_SELECT_10       0x55
#define SCSI_OP_RESERVE_10           0x56
#define SCSI_OP_RELEASE_10           0x57
#define SCSI_OP_MODE_SENSE_10        0x5a
#define SCSI_OP_PERSISTENT_RESERVE_IN  0x5e
#define SCSI_OP_PERSISTENT_RESERVE_OUT 0x5f
#define SCSI_OP_EXTENDED_COPY        0x83
#define SCSI_OP_RECEIVE_COPY_RESULTS 0x84
#define SCSI_OP_COMPARE_AND_WRITE    0x89
#define SCSI_OP_READ_16              0x88
#define SCSI_OP_WRITE_16             0x8a
#define SCSI_OP_ORWRITE_16           0x8b
#define SCSI_OP_WRITE_VERIFY_16      0x8e
#define SCSI_OP_VERIFY_16            0x8f
#define SCSI_OP_PREFETCH_16          0x90
#define SCSI_OP_SYNCHRONIZE_CACHE_16 0x91
#define SCSI_OP_WRITE_SAME_16        0x93
#define SCSI_OP_SERVICE_ACTION_IN_16 0x9e
#define SCSI_OP_REPORT_LUNS          0xa0
#define SCSI_OP_MAINTENANCE_IN       0xa3
#define SCSI_OP_READ_12              0xa8
#define SCSI_OP_WRITE_12             0xaa
#define SCSI_OP_WRITE_VERIFY_12      0xae
#define SCSI_OP_VERIFY_12            0xaf
#define SCSI_OP_READ_DEFECT_DATA_12  0xb7

/* SERVICE ACTION IN(16) service actions (CDB byte 1, bits 4-0). */
#define SCSI_SAI_READ_CAPACITY_16    0x10
#define SCSI_SAI_GET_LBA_STATUS      0x12

/* MAINTENANCE IN service actions (CDB byte 1, bits 4-0). */
#define SCSI_MI_REPORT_SUPPORTED_OPCODES 0x0c
#define SCSI_MI_REPORT_SUPPORTED_TMFS 0x0d

/* PERSISTENT RESERVE IN service actions. */
#define SCSI_PRIN_READ_KEYS          0x00
#define SCSI_PRIN_READ_RESERVATION   0x01
#define SCSI_PRIN_REPORT_CAPABILITIES 0x02
#define SCSI_PRIN_READ_FULL_STATUS   0x03

/* PERSISTENT RESERVE OUT service actions. */
#define SCSI_PROUT_REGISTER          0x00
#define SCSI_PROUT_RESERVE           0x01
#define SCSI_PROUT_RELEASE           0x02
#define SCSI_PROUT_CLEAR             0x03
#define SCSI_PROUT_PREEMPT           0x04
#define SCSI_PROUT_PREEMPT_AND_ABORT 0x05
#define SCSI_PROUT_REGISTER_IGNORE   0x06 /* REGISTER AND IGNORE EXISTING KEY */

/* SANITIZE service actions (SBC-4 5.30). */
#define SCSI_SANITIZE_OVERWRITE      0x01
#define SCSI_SANITIZE_BLOCK_ERASE    0x02
#define SCSI_SANITIZE_CRYPTO_ERASE   0x03
#define SCSI_SANITIZE_EXIT_FAILURE   0x1f /* EXIT FAILURE MODE */

/* Persistent reservation types (SPC-4 6.16.3.4). */
#define SCSI_PR_WRITE_EXCLUSIVE      0x1
#define SCSI_PR_EXCLUSIVE_ACCESS     0x3
#define SCSI_PR_WRITE_EXCLUSIVE_RO   0x5 /* registrants only */
#define SCSI_PR_EXCLUSIVE_ACCESS_RO  0x6
#define SCSI_PR_WRITE_EXCLUSIVE_AR   0x7 /* all registrants */
#define SCSI_PR_EXCLUSIVE_ACCESS_AR  0x8

/* GET LBA STATUS provisioning status (SBC-3 5.6.2). */
#define SCSI_LBA_STATUS_MAPPED       0x0
#define SCSI_LBA_STATUS_DEALLOCATED  0x1

/* Peripheral byte of INQUIRY data: qualifier << 5 | device type. */
#define SCSI_PERIPH_DISK             0x00 /* qualifier 000b, direct access */
#define SCSI_PERIPH_NO_LU            0x7f /* qualifier 011b, type 1Fh */

/* Version descriptors (SPC-4 table 29), INQUIRY bytes 58-73. */
#define SCSI_VERSION_SPC4            0x06
#define SCSI_VD_SAM5                 0x00a0
#define SCSI_VD_SPC4                 0x0460
#define SCSI_VD_SBC3                 0x04c0

/* VPD pages. */
#define SCSI_VPD_SUPPORTED_PAGES     0x00
#define SCSI_VPD_UNIT_SERIAL         0x80
#define SCSI_VPD_DEVICE_ID           0x83
#define SCSI_VPD_BLOCK_LIMITS        0xb0
#define SCSI_VPD_BLOCK_CHARACTERISTICS 0xb1
#define SCSI_VPD_LB_PROVISIONING     0xb2

/* Device identification designators (SPC-4 7.8.6). */
#define SCSI_DESIG_CS_BINARY         0x1 /* code sets; not libiscsi's */
#define SCSI_DESIG_CS_ASCII          0x2 /* SCSI_CODESET_* names */
#define SCSI_DESIG_CS_UTF8           0x3
#define SCSI_DESIG_T10_VENDOR        0x1
#define SCSI_DESIG_NAA               0x3
#define SCSI_DESIG_SCSI_NAME         0x8
#define SCSI_ASSOC_LU                0x0
#define SCSI_ASSOC_TARGET_PORT       0x1
#define SCSI_ASSOC_TARGET_DEVICE     0x2

/* Mode pages. */
#define SCSI_MODE_PAGE_CACHING       0x08
#define SCSI_MODE_PAGE_CONTROL       0x0a
#define SCSI_MODE_PAGE_IEC           0x1c /* informational exceptions */
#define SCSI_MODE_PAGE_ALL           0x3f
#define SCSI_MODE_SUBPAGE_ALL        0xff

/* MODE SENSE page control (CDB byte 2, bits 7-6). */
#define SCSI_PC_CURRENT              0x0
#define SCSI_PC_CHANGEABLE           0x1
#define SCSI_PC_DEFAULT              0x2
#define SCSI_PC_SAVED                0x3

/* Device-specific parameter of the mode parameter header (SBC-3). */
#define SCSI_MODE_DSP_WP             0x80 /* write protected */
#define SCSI_MODE_DSP_DPOFUA         0x10 /* DPO and FUA bits supported */

/* The CONTROL byte, last of every CDB. */
#define SCSI_CONTROL_NACA            0x04

#endif /* POLLTGT_SCSI_SCSI_PROTOCOL_H */
