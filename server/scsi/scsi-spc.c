/* SPDX-License-Identifier: MIT */
/*
 * SPC-4 commands every SCSI device answers: TEST UNIT READY, INQUIRY
 * (standard data and the VPD pages 00h, 80h, 83h, B0h, B1h, B2h), REPORT
 * LUNS, REQUEST SENSE, MODE SENSE(6)/(10) and MODE SELECT(6)/(10).
 * REPORT SUPPORTED OPERATION CODES is in scsi-rsoc.c.
 *
 * Data-in answers are built whole in a small buffer on the stack and then
 * cut to the allocation length (scsi_cmd_put_data), the way SPC-4 4.2.5.6
 * describes truncation: the initiator gets the first bytes of the full
 * answer, with the full lengths in its headers, so it can ask again with
 * a bigger allocation length.  REPORT LUNS alone grows with the target and
 * is written straight into the transport's buffer.
 *
 * Nothing in the mode pages is changeable, so the changeable values are
 * all zero, default equals current, and saved values are refused with
 * SAVING PARAMETERS NOT SUPPORTED.  MODE SELECT therefore accepts exactly
 * the parameter lists that change nothing (what MODE SENSE returned, sent
 * back: sg_modes/sdparm do that) and refuses any other value with
 * INVALID FIELD IN PARAMETER LIST, as SPC-4 6.11 asks of a field that is
 * not changeable; SP=1 is INVALID FIELD IN CDB (no saved pages).  Sense
 * is reported with
 * the command that caused it (autosense), so REQUEST SENSE has nothing
 * pending to return.
 */
#include <config.h>

#include <string.h>

#include "scsi/scsi-internal.h"
#include "util/minmax.h"

/* Room for the largest answer built on the stack: VPD 83h with a 223-byte
 * iSCSI name is 4 + 20 + 44 + 228 bytes. */
#define SPC_SCRATCH 512

#define SPC_STD_INQUIRY_LEN 96
#define SPC_VENDOR   "POLLTGT"       /* T10 vendor identification */
#define SPC_PRODUCT  "VIRTUAL DISK"
#define SPC_VPD_B0_B1_LEN 0x3c       /* page length of B0h and B1h */
#define SPC_MODE_MAX 128             /* header, descriptor and 3 pages: 68 */

/* Copy s into dst, space-padded to n bytes (SPC-4 4.4.1: ASCII fields are
 * left-aligned and padded with spaces, never NUL-terminated). */
static void
spc_pad(uint8_t *dst, const char *s, size_t n)
{
    size_t len = strlen(s);

    memset(dst, ' ', n);
    memcpy(dst, s, MIN(len, n));
}

static uint8_t
spc_periph(const struct scsi_cmd *t)
{
    return t->lu ? SCSI_PERIPH_DISK : SCSI_PERIPH_NO_LU;
}

/* --- TEST UNIT READY ----------------------------------------------------- */

bool
scsi_spc_decode_tur(struct scsi_cmd *t)
{
    (void)t; /* nothing moves; the LU exists (checked by the caller) */
    return true;
}

void
scsi_spc_exec_good(struct scsi_cmd *t)
{
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}

/* --- INQUIRY ------------------------------------------------------------- */

static bool
spc_vpd_supported(uint8_t page)
{
    switch (page) {
    case SCSI_VPD_SUPPORTED_PAGES:
    case SCSI_VPD_UNIT_SERIAL:
    case SCSI_VPD_DEVICE_ID:
    case SCSI_VPD_BLOCK_LIMITS:
    case SCSI_VPD_BLOCK_CHARACTERISTICS:
    case SCSI_VPD_LB_PROVISIONING:
        return true;
    default:
        return false;
    }
}

bool
scsi_spc_decode_inquiry(struct scsi_cmd *t)
{
    bool evpd = t->cdb[1] & 0x01;
    uint8_t page = t->cdb[2];

    /* Bit 1 is the obsolete CMDDT: we have no command support data. */
    if ((t->cdb[1] & ~0x01) || (!evpd && page != 0)) {
        return scsi_cmd_invalid_field(t);
    }
    if (evpd && t->lu == NULL) {
        /* Nothing identifies a LU that does not exist. */
        scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST,
                           SCSI_ASC_LUN_NOT_SUPPORTED);
        return false;
    }
    if (evpd && !spc_vpd_supported(page)) {
        return scsi_cmd_invalid_field(t);
    }
    scsi_cmd_data_in(t, scsi_get_be16(&t->cdb[3]), SPC_SCRATCH);
    return true;
}

/* The revision level: the package version without a trailing dot
 * ("0.1.0" gives "0.1 "). */
static void
spc_revision(uint8_t dst[4])
{
    char rev[5] = "";

    memcpy(rev, PACKAGE_VERSION, MIN(sizeof PACKAGE_VERSION - 1, (size_t)4));
    if (rev[0] && rev[strlen(rev) - 1] == '.') {
        rev[strlen(rev) - 1] = '\0';
    }
    spc_pad(dst, rev, 4);
}

static uint32_t
spc_inquiry_standard(const struct scsi_cmd *t, uint8_t *b)
{
    memset(b, 0, SPC_STD_INQUIRY_LEN);
    b[0] = spc_periph(t);
    b[2] = SCSI_VERSION_SPC4;
    b[3] = 0x10 | 0x02;  /* HISUP (hierarchical LUNs), response format 2 */
    b[4] = SPC_STD_INQUIRY_LEN - 5;
    b[7] = 0x02;         /* CMDQUE: full task management, queued commands */
    spc_pad(&b[8], SPC_VENDOR, 8);
    spc_pad(&b[16], SPC_PRODUCT, 16);
    spc_revision(&b[32]);
    scsi_put_be16(&b[58], SCSI_VD_SAM5);
    scsi_put_be16(&b[60], SCSI_VD_SPC4);
    scsi_put_be16(&b[62], SCSI_VD_SBC3);
    return SPC_STD_INQUIRY_LEN;
}

/* One designation descriptor header (SPC-4 7.8.6.1); returns its size. */
static uint32_t
spc_designator(uint8_t *d, uint8_t codeset, uint8_t assoc, uint8_t type,
               const void *id, uint8_t len)
{
    d[0] = codeset;            /* protocol identifier 0, PIV 0 */
    d[1] = (uint8_t)(assoc << 4 | type);
    d[2] = 0;
    d[3] = len;
    memcpy(&d[4], id, len);
    return 4u + len;
}

static uint32_t
spc_vpd_device_id(const struct scsi_cmd *t, uint8_t *b)
{
    const struct scsi_lu *lu = t->lu;
    uint8_t t10[8 + sizeof lu->serial - 1];
    uint32_t n = 4;

    n += spc_designator(&b[n], SCSI_DESIG_CS_BINARY, SCSI_ASSOC_LU,
                        SCSI_DESIG_NAA, lu->naa, sizeof lu->naa);

    /* T10 vendor ID: vendor, then our serial number (SPC-4 7.8.6.4). */
    spc_pad(t10, SPC_VENDOR, 8);
    memcpy(&t10[8], lu->serial, strlen(lu->serial));
    n += spc_designator(&b[n], SCSI_DESIG_CS_ASCII, SCSI_ASSOC_LU,
                        SCSI_DESIG_T10_VENDOR, t10,
                        (uint8_t)(8 + strlen(lu->serial)));

    /* SCSI name string of the target device (SPC-4 7.8.6.11): UTF-8,
     * NUL-terminated, padded with NULs to a multiple of 4, at most 252
     * bytes in all (an iSCSI name is at most 223). */
    if (t->target && t->target->name && t->target->name[0]) {
        size_t len = MIN(strlen(t->target->name), (size_t)251);
        uint8_t dlen = (uint8_t)((len + 1 + 3) & ~(size_t)3);

        b[n] = SCSI_DESIG_CS_UTF8;
        b[n + 1] = SCSI_ASSOC_TARGET_DEVICE << 4 | SCSI_DESIG_SCSI_NAME;
        b[n + 2] = 0;
        b[n + 3] = dlen;
        memset(&b[n + 4], 0, dlen);
        memcpy(&b[n + 4], t->target->name, len);
        n += 4u + dlen;
    }
    return n;
}

static uint32_t
spc_inquiry_vpd(const struct scsi_cmd *t, uint8_t page, uint8_t *b)
{
    const struct scsi_lu *lu = t->lu;
    static const uint8_t pages[] = {
        SCSI_VPD_SUPPORTED_PAGES, SCSI_VPD_UNIT_SERIAL, SCSI_VPD_DEVICE_ID,
        SCSI_VPD_BLOCK_LIMITS, SCSI_VPD_BLOCK_CHARACTERISTICS,
        SCSI_VPD_LB_PROVISIONING,
    };
    uint32_t n = 4;

    memset(b, 0, SPC_SCRATCH);
    b[0] = spc_periph(t);
    b[1] = page;
    switch (page) {
    case SCSI_VPD_SUPPORTED_PAGES:
        memcpy(&b[4], pages, sizeof pages);
        n += sizeof pages;
        break;
    case SCSI_VPD_UNIT_SERIAL:
        memcpy(&b[4], lu->serial, strlen(lu->serial));
        n += (uint32_t)strlen(lu->serial);
        break;
    case SCSI_VPD_DEVICE_ID:
        n = spc_vpd_device_id(t, b);
        break;
    case SCSI_VPD_BLOCK_LIMITS:
        /* Byte 4 WSNZ 0: WRITE SAME of 0 blocks means "to the end".  No
         * PRE-FETCH limit (16-19), no unmap granularity (28-35): those
         * stay 0, "no limit reported". */
        b[5] = SCSI_CAW_MAX_BLOCKS;
        scsi_put_be16(&b[6], lu->opt_xfer_gran);
        scsi_put_be32(&b[8], lu->max_xfer_blocks);
        scsi_put_be32(&b[12], lu->max_xfer_blocks);
        if (scsi_lbp_can_unmap(lu)) {
            scsi_put_be32(&b[20], lu->max_unmap_blocks);
            scsi_put_be32(&b[24], SCSI_LBP_MAX_UNMAP_DESC);
        }
        scsi_put_be64(&b[36], lu->max_ws_blocks);
        n += SPC_VPD_B0_B1_LEN;
        break;
    case SCSI_VPD_BLOCK_CHARACTERISTICS:
        scsi_put_be16(&b[4], 0x0001); /* non-rotating medium */
        /* WABEREQ 01b: reads after a BLOCK ERASE succeed (zeros). */
        if (scsi_sanitize_can_erase(lu)) {
            b[7] = 0x40;
        }
        n += SPC_VPD_B0_B1_LEN;
        break;
    case SCSI_VPD_LB_PROVISIONING:
        /* Byte 5: LBPU (UNMAP), LBPWS and LBPWS10 (WRITE SAME with
         * UNMAP), LBPRZ (bit 2; SBC-4's 3-bit field reads 001b, zeros);
         * ANC_SUP and DP 0.  Byte 6: provisioning type 010b, thin.  See
         * scsi-lbp.c for when each holds. */
        if (scsi_lbp_can_unmap(lu)) {
            b[5] = 0x80;
            if (scsi_lbp_unmap_zeroes(lu)) {
                b[5] |= 0x40 | 0x20 | 0x04;
            }
            b[6] = 0x02;
        }
        n += 4;
        break;
    }
    scsi_put_be16(&b[2], (uint16_t)(n - 4));
    return n;
}

void
scsi_spc_exec_inquiry(struct scsi_cmd *t)
{
    uint8_t b[SPC_SCRATCH];
    uint32_t n;

    if (t->cdb[1] & 0x01) {
        n = spc_inquiry_vpd(t, t->cdb[2], b);
    } else {
        n = spc_inquiry_standard(t, b);
    }
    scsi_cmd_put_data(t, b, n);
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}

/* --- REPORT LUNS --------------------------------------------------------- */

/* LUNs in the answer: SELECT REPORT 0 and 2 list every LU, 1 the
 * well-known LUs, of which we have none. */
static size_t
spc_report_luns_count(const struct scsi_cmd *t)
{
    if (t->cdb[2] == 0x01 || t->target == NULL) {
        return 0;
    }
    return t->target->nluns;
}

bool
scsi_spc_decode_report_luns(struct scsi_cmd *t)
{
    uint64_t len;

    if (t->cdb[2] > 0x02) {
        return scsi_cmd_invalid_field(t);
    }
    len = 8 + 8 * (uint64_t)spc_report_luns_count(t);
    scsi_cmd_data_in(t, scsi_get_be32(&t->cdb[6]),
                     (uint32_t)MIN(len, (uint64_t)UINT32_MAX));
    return true;
}

void
scsi_spc_exec_report_luns(struct scsi_cmd *t)
{
    size_t count = spc_report_luns_count(t);
    uint64_t list_len = 8 * (uint64_t)count;
    uint8_t e[8];
    uint32_t room = t->buf_len;
    uint32_t n = 0;

    /* Header: LUN LIST LENGTH (of the whole list), 4 reserved bytes. */
    scsi_put_be32(e, (uint32_t)MIN(list_len, (uint64_t)UINT32_MAX - 8));
    memset(&e[4], 0, 4);
    for (size_t i = 0; n < room; i++) {
        uint32_t k;

        if (i > 0) {
            if (i > count) {
                break;
            }
            scsi_lu_lun_to_wire(t->target->luns[i - 1].lun, e);
        }
        k = MIN((uint32_t)8, room - n);
        memcpy(&t->buf[n], e, k);
        n += k;
    }
    t->data_len = n;
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}

/* --- REQUEST SENSE ------------------------------------------------------- */

bool
scsi_spc_decode_request_sense(struct scsi_cmd *t)
{
    /* DESC=1 asks for descriptor format, which we do not produce. */
    if (t->cdb[1] != 0) {
        return scsi_cmd_invalid_field(t);
    }
    scsi_cmd_data_in(t, t->cdb[4], SCSI_SENSE_LEN);
    return true;
}

void
scsi_spc_exec_request_sense(struct scsi_cmd *t)
{
    uint8_t b[SCSI_SENSE_LEN];

    /* SPC-4 4.7: a LUN that does not exist answers REQUEST SENSE with
     * LOGICAL UNIT NOT SUPPORTED in the data (and GOOD status). */
    if (t->lu == NULL) {
        scsi_sense_build(b, SCSI_SENSE_ILLEGAL_REQUEST,
                         SCSI_ASC_LUN_NOT_SUPPORTED);
    } else if (scsi_sanitize_sense(t->lu, b)) {
        /* SBC-4 4.11.1: a running SANITIZE's progress, or its failure. */
    } else {
        scsi_sense_build(b, SCSI_SENSE_NO_SENSE, SCSI_ASC_NONE);
    }
    scsi_cmd_put_data(t, b, sizeof b);
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}

/* --- MODE SENSE ---------------------------------------------------------- */

bool
scsi_spc_decode_mode_sense(struct scsi_cmd *t)
{
    bool six = t->cdb[0] == SCSI_OP_MODE_SENSE_6;
    uint8_t pc = t->cdb[2] >> 6;
    uint8_t page = t->cdb[2] & 0x3f;
    uint8_t subpage = t->cdb[3];

    /* Byte 1: DBD, and LLBAA in MODE SENSE(10); the rest is reserved. */
    if (t->cdb[1] & (six ? ~0x08 : ~0x18)) {
        return scsi_cmd_invalid_field(t);
    }
    if (pc == SCSI_PC_SAVED) {
        scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST,
                           SCSI_ASC_SAVING_NOT_SUPPORTED);
        return false;
    }
    switch (page) {
    case SCSI_MODE_PAGE_CACHING:
    case SCSI_MODE_PAGE_CONTROL:
    case SCSI_MODE_PAGE_IEC:
    case SCSI_MODE_PAGE_ALL:
        break;
    default:
        return scsi_cmd_invalid_field(t);
    }
    /* Our pages have no subpages: subpage 0, or FFh (all subpages). */
    if (subpage != 0 && subpage != SCSI_MODE_SUBPAGE_ALL) {
        return scsi_cmd_invalid_field(t);
    }
    scsi_cmd_data_in(t, six ? t->cdb[4] : scsi_get_be16(&t->cdb[7]),
                     SPC_MODE_MAX);
    return true;
}

/* One mode page at b; returns its size.  Changeable values: all zero. */
static uint32_t
spc_mode_page(const struct scsi_cmd *t, uint8_t page, uint8_t pc, uint8_t *b)
{
    bool values = pc != SCSI_PC_CHANGEABLE;
    uint32_t n;

    switch (page) {
    case SCSI_MODE_PAGE_CACHING:
        n = 20;
        memset(b, 0, n);
        /* WCE: writes are acknowledged before they are durable when the
         * backend has a cache to flush; RCD 0: reads may use it. */
        if (values && (t->lu->export->caps & BACKEND_CAN_FLUSH)) {
            b[2] = 0x04;
        }
        break;
    case SCSI_MODE_PAGE_CONTROL:
        n = 12;
        memset(b, 0, n);
        if (values) {
            b[2] = 0x02;  /* GLTSD: no log parameters are saved */
            b[3] = 0x10;  /* queue algorithm modifier 1: unrestricted */
        }
        break;
    case SCSI_MODE_PAGE_IEC:
        n = 12;
        memset(b, 0, n);
        if (values) {
            b[2] = 0x08;  /* DEXCPT: no informational exceptions */
        }
        break;
    default:
        return 0;
    }
    b[0] = page;          /* PS 0: not savable */
    b[1] = (uint8_t)(n - 2);
    return n;
}

void
scsi_spc_exec_mode_sense(struct scsi_cmd *t)
{
    static const uint8_t all[] = {
        SCSI_MODE_PAGE_CACHING, SCSI_MODE_PAGE_CONTROL, SCSI_MODE_PAGE_IEC,
    };
    const struct scsi_lu *lu = t->lu;
    bool six = t->cdb[0] == SCSI_OP_MODE_SENSE_6;
    bool dbd = t->cdb[1] & 0x08;
    bool llbaa = !six && (t->cdb[1] & 0x10);
    uint8_t pc = t->cdb[2] >> 6;
    uint8_t page = t->cdb[2] & 0x3f;
    uint8_t b[SPC_MODE_MAX];
    uint32_t hdr = six ? 4 : 8;
    uint32_t bdlen = dbd ? 0 : llbaa ? 16 : 8;
    uint32_t n = hdr;
    uint8_t dsp = SCSI_MODE_DSP_DPOFUA;

    memset(b, 0, sizeof b);
    if (lu->readonly) {
        dsp |= SCSI_MODE_DSP_WP;
    }

    /* The block descriptor: short (SBC-3 6.4.2) or, with LLBAA, long. */
    if (bdlen == 8) {
        scsi_put_be32(&b[n], (uint32_t)MIN(lu->nblocks, (uint64_t)UINT32_MAX));
        b[n + 5] = (uint8_t)(lu->block_size >> 16);
        scsi_put_be16(&b[n + 6], (uint16_t)lu->block_size);
    } else if (bdlen == 16) {
        scsi_put_be64(&b[n], lu->nblocks);
        scsi_put_be32(&b[n + 12], lu->block_size);
    }
    n += bdlen;

    if (page == SCSI_MODE_PAGE_ALL) {
        for (size_t i = 0; i < sizeof all; i++) {
            n += spc_mode_page(t, all[i], pc, &b[n]);
        }
    } else {
        n += spc_mode_page(t, page, pc, &b[n]);
    }

    /* The header: MODE DATA LENGTH counts the bytes after itself. */
    if (six) {
        b[0] = (uint8_t)(n - 1);
        b[2] = dsp;
        b[3] = (uint8_t)bdlen;
    } else {
        scsi_put_be16(&b[0], (uint16_t)(n - 2));
        b[3] = dsp;
        b[4] = llbaa && !dbd ? 0x01 : 0x00; /* LONGLBA */
        scsi_put_be16(&b[6], (uint16_t)bdlen);
    }
    scsi_cmd_put_data(t, b, n);
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
}

/* --- MODE SELECT --------------------------------------------------------- */

bool
scsi_spc_decode_mode_select(struct scsi_cmd *t)
{
    bool six = t->cdb[0] == SCSI_OP_MODE_SELECT_6;
    uint32_t len = six ? t->cdb[4] : scsi_get_be16(&t->cdb[7]);

    /* Byte 1: PF (bit 4) and SP (bit 0); the rest is reserved.  PF 0
     * (vendor-specific pages) is taken as PF 1: our pages are SPC's. */
    if ((t->cdb[1] & ~0x11) || (t->cdb[1] & 0x01)) {
        return scsi_cmd_invalid_field(t);
    }
    /* A list too short for its own header. */
    if (len > 0 && len < (six ? 4u : 8u)) {
        return scsi_cmd_illegal(t, SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
    }
    scsi_cmd_data_out(t, len, 0);
    return true;
}

/* Block descriptors (SBC-3 6.4.2): only the current geometry, or 0
 * blocks ("no change"). */
static bool
spc_mode_select_blocks(const struct scsi_cmd *t, const uint8_t *d,
                       uint32_t len, bool longlba)
{
    const struct scsi_lu *lu = t->lu;
    uint32_t dlen = longlba ? 16 : 8;

    if (len % dlen) {
        return false;
    }
    for (; len > 0; d += dlen, len -= dlen) {
        uint64_t nb = longlba ? scsi_get_be64(d) : scsi_get_be32(d);
        uint32_t bl = longlba ? scsi_get_be32(d + 12) : scsi_get_be24(d + 5);
        uint64_t cur = longlba ? lu->nblocks
                               : MIN(lu->nblocks, (uint64_t)UINT32_MAX);

        if ((nb != 0 && nb != cur) || bl != lu->block_size
            || (!longlba && d[4] != 0)) {
            return false;
        }
    }
    return true;
}

void
scsi_spc_exec_mode_select(struct scsi_cmd *t)
{
    bool six = t->cdb[0] == SCSI_OP_MODE_SELECT_6;
    const uint8_t *p = t->buf;
    uint32_t n = t->xfer_len;
    uint32_t hdr = six ? 4 : 8;
    uint32_t bdlen, off;
    uint16_t asc = SCSI_ASC_INVALID_FIELD_IN_PARAMETER;

    if (n == 0) {
        goto good;
    }
    /* Header: MODE DATA LENGTH is reserved here; MEDIUM TYPE must be 0
     * (SBC); the device-specific parameter's bits are ignored by MODE
     * SELECT (SBC-3 6.4.1). */
    bdlen = six ? p[3] : scsi_get_be16(&p[6]);
    if (p[six ? 1 : 2] != 0) {
        goto bad;
    }
    if (hdr + bdlen > n) {
        asc = SCSI_ASC_PARAM_LIST_LENGTH_ERROR;
        goto bad;
    }
    if (!spc_mode_select_blocks(t, p + hdr, bdlen, !six && (p[4] & 0x01))) {
        goto bad;
    }
    for (off = hdr + bdlen; off < n;) {
        uint8_t ours[SPC_MODE_MAX];
        uint32_t plen, m;

        if (n - off < 2 || n - off < 2u + p[off + 1]) {
            asc = SCSI_ASC_PARAM_LIST_LENGTH_ERROR;
            goto bad;
        }
        plen = 2u + p[off + 1];
        /* SPF (subpage format): we have no subpages.  PS is reserved. */
        if (p[off] & 0x40) {
            goto bad;
        }
        m = spc_mode_page(t, p[off] & 0x3f, SCSI_PC_CURRENT, ours);
        if (m == 0 || m != plen || memcmp(p + off + 2, ours + 2, m - 2)) {
            goto bad;
        }
        off += plen;
    }
good:
    t->status = SCSI_STATUS_GOOD;
    scsi_cmd_finish(t);
    return;
bad:
    scsi_cmd_set_sense(t, SCSI_SENSE_ILLEGAL_REQUEST, asc);
    scsi_cmd_finish(t);
}
