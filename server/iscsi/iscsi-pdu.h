/* SPDX-License-Identifier: MIT */
/*
 * PDU framing and building (RFC 7143 11.1), free of connection state so
 * it can be tested alone: where a PDU ends in a receive buffer and whether
 * its digests hold (iscsi_pdu_parse), and the iovecs of a PDU to send with
 * its DataSegmentLength, padding and digests (iscsi_pdu_seal).  The
 * connection-level parts (queueing, dispatch) are in iscsi-internal.h.
 */
#ifndef POLLTGT_ISCSI_ISCSI_PDU_H
#define POLLTGT_ISCSI_ISCSI_PDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "iscsi/iscsi-protocol.h"
#include "txq.h"
#include "util/compiler.h"

#define ISCSI_MAX_AHS_LEN (255 * 4)

struct iscsi_task;

/* One PDU queued for sending: BHS (+ header digest), data segment by
 * reference, padding and data digest. */
struct iscsi_tx {
    struct txq_item item;    /* first: the transmit queue hands it back */
    struct iovec iov[4];
    int iovcnt;
    struct iscsi_task *task; /* holds a reference on task's buffer */
    uint8_t hdr[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
    uint8_t trailer[3 + ISCSI_DIGEST_LEN]; /* padding, data digest */
    /* copied data (small segments: text, sense, ping data) follows */
};

/* Where one received PDU's parts are. */
struct iscsi_pdu_frame {
    size_t total;          /* bytes of the whole PDU, digests included */
    uint32_t ahs_len;      /* bytes of additional header segments */
    uint32_t dlen;         /* DataSegmentLength, without padding */
    const uint8_t *data;   /* the data segment */
};

/*
 * Frame the PDU at the front of buf (have bytes).  Returns 0 when it is
 * whole (f filled), -EAGAIN when more bytes are needed, -EMSGSIZE when
 * its data segment is over max_dsl (nothing after it can be framed),
 * -EBADMSG on a header digest error (likewise), and -EILSEQ on a data
 * digest error (f is filled: the PDU can be skipped).  hd and dd say
 * which digests are in effect.
 */
int iscsi_pdu_parse(const uint8_t *buf, size_t have, bool hd, bool dd,
                    uint32_t max_dsl, struct iscsi_pdu_frame *f)
    ATTR_NONNULL(1, 6);

/* Start a target PDU: a zeroed BHS with opcode and flags, and room for
 * copy_len bytes of copied data behind it.  NULL: out of memory. */
struct iscsi_tx *iscsi_pdu_new(uint8_t opcode, uint8_t flags, size_t copy_len);
/* The copied-data area of a tx made with copy_len > 0. */
uint8_t *iscsi_pdu_copy_area(struct iscsi_tx *tx) ATTR_NONNULL(1);

/* Finish a PDU for sending: DataSegmentLength, the iovecs of header
 * (with its digest when hd), data (len bytes at data), padding and data
 * digest (when dd and len > 0).  The BHS must be complete before. */
void iscsi_pdu_seal(struct iscsi_tx *tx, const void *data, uint32_t len,
                    bool hd, bool dd) ATTR_NONNULL(1);

/* The room a whole PDU needs in a receive buffer, given the limit. */
size_t iscsi_pdu_max_len(uint32_t max_dsl);

#endif /* POLLTGT_ISCSI_ISCSI_PDU_H */
