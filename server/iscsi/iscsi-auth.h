/* SPDX-License-Identifier: MIT */
/*
 * The login's security stage (RFC 7143 12): AuthMethod negotiation and
 * CHAP with MD5 (RFC 1994), one-way and mutual.  The target's challenge
 * comes from getrandom(); a response is accepted once per challenge, and a
 * mutual challenge equal to ours (a reflection attempt) is refused.
 *
 * Pure apart from getrandom(); unit-tested with known CHAP vectors in
 * tests/unit/test-iscsi-auth.c.
 */
#ifndef POLLTGT_ISCSI_ISCSI_AUTH_H
#define POLLTGT_ISCSI_ISCSI_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"
#include "util/strbuf.h"

#define ISCSI_AUTH_CHALLENGE_LEN 16

enum iscsi_auth_state {
    ISCSI_AUTH_START,        /* waiting for AuthMethod */
    ISCSI_AUTH_WAIT_A,       /* CHAP chosen: waiting for CHAP_A */
    ISCSI_AUTH_WAIT_NR,      /* challenge sent: waiting for CHAP_N/CHAP_R */
    ISCSI_AUTH_DONE,         /* authenticated (or None accepted) */
    ISCSI_AUTH_FAILED,
};

struct iscsi_auth {
    /* what the target requires: CHAP when username is set, else None */
    const char *username, *secret;               /* the initiator's */
    const char *mutual_username, *mutual_secret; /* the target's own */

    enum iscsi_auth_state state;
    bool chap;                  /* AuthMethod=CHAP chosen */
    uint8_t id;                 /* CHAP_I we sent */
    uint8_t challenge[ISCSI_AUTH_CHALLENGE_LEN];
    /* received in the current PDU */
    char *name;                 /* CHAP_N */
    uint8_t response[16];       /* CHAP_R */
    bool have_response;
    bool have_algorithm;        /* CHAP_A=5 seen */
    uint8_t mutual_id;          /* CHAP_I from the initiator (mutual) */
    bool have_mutual_id;
    uint8_t *mutual_challenge;  /* CHAP_C from the initiator (mutual) */
    size_t mutual_challenge_len;
    bool method_in_pdu;         /* AuthMethod answered in the current PDU */
};

/* Begin the security stage for a target; username == NULL means None is
 * required (CHAP is then refused as an offer the target does not make). */
void iscsi_auth_init(struct iscsi_auth *a, const char *username,
                     const char *secret, const char *mutual_username,
                     const char *mutual_secret) ATTR_NONNULL(1);
void iscsi_auth_free(struct iscsi_auth *a) ATTR_NONNULL(1);

/*
 * One security key from the initiator (AuthMethod, CHAP_A, CHAP_N, CHAP_R,
 * CHAP_I, CHAP_C).  Returns 1 handled (answer appended where the key needs
 * one, e.g. AuthMethod), 0 not a security key (nor a CHAP_ key we know),
 * -EINVAL malformed or out of order (login fails: initiator error),
 * -EACCES authentication failure (AuthMethod without the method the
 * target requires -- "AuthMethod=Reject" is appended --, CHAP_A without
 * 5, a CHAP_R that is not 16 bytes), -ENOMEM.
 */
int iscsi_auth_key(struct iscsi_auth *a, const char *key, const char *value,
                   struct strbuf *out) ATTR_NONNULL(1, 2, 3, 4);

/*
 * After all keys of one login request PDU in the security stage: send the
 * challenge once CHAP_A is agreed, verify CHAP_N/CHAP_R once they came
 * (and answer the mutual challenge).  Returns 0 (continue, or done: see
 * iscsi_auth_done), -EACCES (authentication failed: login status 0201),
 * -EINVAL (protocol error: 0200; e.g. CHAP chosen but the next PDU has no
 * CHAP_A, or the PDU after the challenge lacks CHAP_N or CHAP_R), or the
 * negative errno of a failed getrandom() (target error 0300).
 */
int iscsi_auth_end_pdu(struct iscsi_auth *a, struct strbuf *out)
    ATTR_NONNULL(1, 2);

/* The initiator is authenticated (None accepted or CHAP verified).  Also
 * true before any AuthMethod when the target requires None, so a login
 * that skips the security stage passes exactly when it may. */
bool iscsi_auth_done(const struct iscsi_auth *a) ATTR_NONNULL(1);

/* CHAP-MD5 response: MD5(id || secret || challenge) (RFC 1994 4.1). */
void iscsi_auth_chap_response(uint8_t id, const char *secret,
                              const uint8_t *challenge, size_t challenge_len,
                              uint8_t out[16]) ATTR_NONNULL(2, 3, 5);

#endif /* POLLTGT_ISCSI_ISCSI_AUTH_H */
