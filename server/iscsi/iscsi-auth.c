/* SPDX-License-Identifier: MIT */
/*
 * The security stage (see iscsi-auth.h): AuthMethod, then CHAP-MD5 as
 * RFC 7143 12.1.3 lays it out over login PDUs --
 *
 *   I->T AuthMethod=CHAP,None      T->I AuthMethod=CHAP
 *   I->T CHAP_A=5                  T->I CHAP_A=5 CHAP_I=<id> CHAP_C=<chal>
 *   I->T CHAP_N=<n> CHAP_R=<resp>  (mutual: also CHAP_I=<id'> CHAP_C=<c'>)
 *                                  T->I (mutual) CHAP_N=<n'> CHAP_R=<r'>
 *
 * Keys only record what arrived; iscsi_auth_end_pdu acts once the whole
 * PDU is read, so the order of keys inside a PDU does not matter.  The
 * initiator's response is checked before its mutual challenge is
 * answered: answering first would let anyone use the target as an oracle
 * for MD5(id || mutual secret || chosen challenge).  Each challenge is
 * checked once and then wiped; a mutual challenge equal to ours is the
 * reflection attack of RFC 7143 12.1.3 and fails the login.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "iscsi/iscsi-auth.h"
#include "iscsi/iscsi-text.h"
#include "util/md5.h"
#include "util/parse.h"

/* The longest mutual CHAP_C we take: RFC 7143 12.1.3's bound for a
 * challenge, far above the 16 bytes initiators send; it also bounds the
 * memory one login can make us hold. */
#define AUTH_MAX_MUTUAL_CHALLENGE 1024
#define AUTH_CHAP_MD5 "5" /* CHAP_A value for MD5 (RFC 1994, IANA PPP) */

void
iscsi_auth_init(struct iscsi_auth *a, const char *username,
                const char *secret, const char *mutual_username,
                const char *mutual_secret)
{
    memset(a, 0, sizeof *a);
    a->username = username;
    a->secret = secret;
    a->mutual_username = mutual_username;
    a->mutual_secret = mutual_secret;
    a->state = ISCSI_AUTH_START;
}

/* Forget what the current PDU carried. */
static void
auth_clear_pdu(struct iscsi_auth *a)
{
    free(a->name);
    a->name = NULL;
    free(a->mutual_challenge);
    a->mutual_challenge = NULL;
    a->mutual_challenge_len = 0;
    a->have_response = false;
    a->have_mutual_id = false;
    a->method_in_pdu = false;
}

void
iscsi_auth_free(struct iscsi_auth *a)
{
    auth_clear_pdu(a);
    explicit_bzero(a->challenge, sizeof a->challenge);
    explicit_bzero(a->response, sizeof a->response);
}

static int
auth_fail(struct iscsi_auth *a)
{
    a->state = ISCSI_AUTH_FAILED;
    explicit_bzero(a->challenge, sizeof a->challenge);
    return -EACCES;
}

/* Is item one of the comma-separated values of list? */
static bool
auth_list_has(const char *list, const char *item)
{
    size_t ilen = strlen(item);

    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);

        if (len == ilen && memcmp(p, item, len) == 0) {
            return true;
        }
        if (comma == NULL) {
            return false;
        }
        p = comma + 1;
    }
}

static int
auth_b64val(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * RFC 7143 6.1 binary-value: "0x" hex (an odd digit count implies a
 * leading zero nibble) or "0b" base64 (RFC 4648, '=' padding optional).
 * Decodes into out (at most max bytes).  Returns the length, -EINVAL for
 * a malformed value, -E2BIG when it does not fit.
 */
static int
auth_decode_binary(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;

    if (s[0] != '0' || s[1] == '\0') {
        return -EINVAL;
    }
    if (s[1] == 'x' || s[1] == 'X') {
        const char *p = s + 2;
        size_t digits = strlen(p);

        if (digits == 0) {
            return -EINVAL;
        }
        if ((digits + 1) / 2 > max) {
            return -E2BIG;
        }
        if (digits % 2) {
            int lo = parse_hex_digit(*p++);

            if (lo < 0) {
                return -EINVAL;
            }
            out[n++] = (uint8_t)lo;
        }
        for (; *p; p += 2) {
            int hi = parse_hex_digit(p[0]), lo = parse_hex_digit(p[1]);

            if (hi < 0 || lo < 0) {
                return -EINVAL;
            }
            out[n++] = (uint8_t)(hi << 4 | lo);
        }
        return (int)n;
    }
    if (s[1] == 'b' || s[1] == 'B') {
        const char *p = s + 2;
        uint32_t acc = 0;
        unsigned bits = 0, chars = 0, pad = 0;

        for (; *p; p++) {
            int v;

            if (*p == '=') {
                pad++;
                continue;
            }
            v = auth_b64val(*p);
            if (v < 0 || pad) {
                return -EINVAL; /* bad character, or data after '=' */
            }
            chars++;
            acc = acc << 6 | (uint32_t)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                if (n == max) {
                    return -E2BIG;
                }
                out[n++] = (uint8_t)(acc >> bits);
            }
        }
        /* One leftover character cannot encode a byte; padding completes
         * a quantum of 4 and no more. */
        if (chars == 0 || chars % 4 == 1 || pad > 2 ||
            (pad && (chars + pad) % 4) || (acc & ((1u << bits) - 1))) {
            return -EINVAL;
        }
        return (int)n;
    }
    return -EINVAL;
}

/* CHAP_I: an identifier 0..255, decimal or hex (RFC 7143 12.1.3). */
static int
auth_parse_id(const char *s, uint8_t *id)
{
    unsigned long v = 0;
    unsigned base = 10;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (*s == '\0') {
        return -EINVAL;
    }
    for (; *s; s++) {
        int d = parse_hex_digit(*s);

        if (d < 0 || (unsigned)d >= base) {
            return -EINVAL;
        }
        v = v * base + (unsigned)d;
        if (v > 255) {
            return -EINVAL;
        }
    }
    *id = (uint8_t)v;
    return 0;
}

/* Compare without an early exit, so timing says nothing about where a
 * forged response first differs. */
static bool
auth_equal(const uint8_t *x, const uint8_t *y, size_t len)
{
    volatile uint8_t diff = 0;

    for (size_t i = 0; i < len; i++) {
        diff |= x[i] ^ y[i];
    }
    return diff == 0;
}

static void
auth_add_hex(struct strbuf *out, const char *key, const uint8_t *p,
             size_t len)
{
    char hex[2 + 2 * 64 + 1];
    static const char digits[] = "0123456789abcdef";

    hex[0] = '0';
    hex[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        hex[2 + 2 * i] = digits[p[i] >> 4];
        hex[3 + 2 * i] = digits[p[i] & 15];
    }
    hex[2 + 2 * len] = '\0';
    iscsi_text_add(out, key, hex);
}

void
iscsi_auth_chap_response(uint8_t id, const char *secret,
                         const uint8_t *challenge, size_t challenge_len,
                         uint8_t out[16])
{
    struct md5_ctx ctx;

    md5_init(&ctx);
    md5_update(&ctx, &id, 1);
    md5_update(&ctx, secret, strlen(secret));
    md5_update(&ctx, challenge, challenge_len);
    md5_final(&ctx, out);
}

static int
auth_method(struct iscsi_auth *a, const char *value, struct strbuf *out)
{
    const char *want = a->username ? "CHAP" : "None";

    if (a->state != ISCSI_AUTH_START) {
        return -EINVAL; /* negotiated twice */
    }
    if (!auth_list_has(value, want)) {
        /* The initiator will not do what the target requires. */
        iscsi_text_add(out, "AuthMethod", "Reject");
        return auth_fail(a);
    }
    iscsi_text_add(out, "AuthMethod", want);
    a->method_in_pdu = true;
    if (a->username) {
        a->chap = true;
        a->state = ISCSI_AUTH_WAIT_A;
    } else {
        a->state = ISCSI_AUTH_DONE;
    }
    return 1;
}

int
iscsi_auth_key(struct iscsi_auth *a, const char *key, const char *value,
               struct strbuf *out)
{
    int r;

    if (strcmp(key, "AuthMethod") == 0) {
        return auth_method(a, value, out);
    }
    if (strncmp(key, "CHAP_", 5) != 0) {
        return 0;
    }
    if (strcmp(key, "CHAP_A") == 0) {
        if (a->state != ISCSI_AUTH_WAIT_A || a->have_algorithm) {
            return -EINVAL;
        }
        if (!auth_list_has(value, AUTH_CHAP_MD5)) {
            iscsi_text_add(out, "CHAP_A", "Reject");
            return auth_fail(a);
        }
        a->have_algorithm = true;
        return 1;
    }
    /* The rest answer our challenge: only after it went out. */
    if (a->state != ISCSI_AUTH_WAIT_NR) {
        return -EINVAL;
    }
    if (strcmp(key, "CHAP_N") == 0) {
        if (a->name) {
            return -EINVAL;
        }
        a->name = strdup(value);
        return a->name ? 1 : -ENOMEM;
    }
    if (strcmp(key, "CHAP_R") == 0) {
        uint8_t buf[sizeof a->response + 1];

        if (a->have_response) {
            return -EINVAL;
        }
        r = auth_decode_binary(value, buf, sizeof buf);
        if (r == -EINVAL) {
            return -EINVAL;
        }
        if (r != (int)sizeof a->response) {
            return auth_fail(a); /* not an MD5 digest: wrong response */
        }
        memcpy(a->response, buf, sizeof a->response);
        a->have_response = true;
        return 1;
    }
    if (strcmp(key, "CHAP_I") == 0) {
        if (a->have_mutual_id || auth_parse_id(value, &a->mutual_id) < 0) {
            return -EINVAL;
        }
        a->have_mutual_id = true;
        return 1;
    }
    if (strcmp(key, "CHAP_C") == 0) {
        uint8_t *buf;

        if (a->mutual_challenge) {
            return -EINVAL;
        }
        buf = malloc(AUTH_MAX_MUTUAL_CHALLENGE);
        if (buf == NULL) {
            return -ENOMEM;
        }
        r = auth_decode_binary(value, buf, AUTH_MAX_MUTUAL_CHALLENGE);
        if (r <= 0) {
            free(buf);
            return -EINVAL; /* malformed, empty, or over 1024 bytes */
        }
        a->mutual_challenge = buf;
        a->mutual_challenge_len = (size_t)r;
        return 1;
    }
    return 0; /* some other CHAP_ key: NotUnderstood is the caller's */
}

/* CHAP_A agreed: send CHAP_A, CHAP_I and a fresh challenge. */
static int
auth_send_challenge(struct iscsi_auth *a, struct strbuf *out)
{
    uint8_t rnd[1 + ISCSI_AUTH_CHALLENGE_LEN];
    size_t got = 0;

    while (got < sizeof rnd) {
        ssize_t r = getrandom(rnd + got, sizeof rnd - got, 0);

        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        got += (size_t)r;
    }
    a->id = rnd[0];
    memcpy(a->challenge, rnd + 1, ISCSI_AUTH_CHALLENGE_LEN);
    explicit_bzero(rnd, sizeof rnd);
    iscsi_text_add(out, "CHAP_A", AUTH_CHAP_MD5);
    iscsi_text_addf(out, "CHAP_I", "%u", (unsigned)a->id);
    auth_add_hex(out, "CHAP_C", a->challenge, ISCSI_AUTH_CHALLENGE_LEN);
    a->state = ISCSI_AUTH_WAIT_NR;
    return 0;
}

/* CHAP_N/CHAP_R arrived: check them, then answer a mutual challenge. */
static int
auth_verify(struct iscsi_auth *a, struct strbuf *out)
{
    bool mutual = a->have_mutual_id || a->mutual_challenge;
    uint8_t expect[16];
    bool ok;

    if (a->name == NULL || !a->have_response ||
        a->have_mutual_id != (a->mutual_challenge != NULL)) {
        return -EINVAL; /* RFC 7143 12.1.3: N and R (and I with C) together */
    }
    if (a->secret == NULL) {
        return auth_fail(a);
    }
    iscsi_auth_chap_response(a->id, a->secret, a->challenge,
                             ISCSI_AUTH_CHALLENGE_LEN, expect);
    /* Check both before deciding, so a wrong name costs the same. */
    ok = auth_equal(expect, a->response, sizeof expect);
    ok &= strcmp(a->name, a->username) == 0;
    explicit_bzero(expect, sizeof expect);
    if (!ok) {
        return auth_fail(a);
    }
    if (mutual) {
        uint8_t resp[16];

        if (a->mutual_username == NULL || a->mutual_secret == NULL) {
            return auth_fail(a); /* asked to prove who we are: we can't */
        }
        if (a->mutual_challenge_len == ISCSI_AUTH_CHALLENGE_LEN &&
            memcmp(a->mutual_challenge, a->challenge,
                   ISCSI_AUTH_CHALLENGE_LEN) == 0) {
            return auth_fail(a); /* our own challenge reflected */
        }
        iscsi_auth_chap_response(a->mutual_id, a->mutual_secret,
                                 a->mutual_challenge, a->mutual_challenge_len,
                                 resp);
        iscsi_text_add(out, "CHAP_N", a->mutual_username);
        auth_add_hex(out, "CHAP_R", resp, sizeof resp);
        explicit_bzero(resp, sizeof resp);
    }
    /* One response per challenge: this one is spent. */
    explicit_bzero(a->challenge, sizeof a->challenge);
    a->state = ISCSI_AUTH_DONE;
    return 0;
}

int
iscsi_auth_end_pdu(struct iscsi_auth *a, struct strbuf *out)
{
    int r = 0;

    switch (a->state) {
    case ISCSI_AUTH_START:
    case ISCSI_AUTH_DONE:
        break;
    case ISCSI_AUTH_FAILED:
        r = -EACCES;
        break;
    case ISCSI_AUTH_WAIT_A:
        if (a->have_algorithm) {
            r = auth_send_challenge(a, out);
        } else if (!a->method_in_pdu) {
            r = -EINVAL; /* CHAP chosen earlier, and still no CHAP_A */
        }
        break;
    case ISCSI_AUTH_WAIT_NR:
        r = auth_verify(a, out);
        break;
    }
    if (r == -EINVAL) {
        a->state = ISCSI_AUTH_FAILED;
    }
    auth_clear_pdu(a);
    return r;
}

bool
iscsi_auth_done(const struct iscsi_auth *a)
{
    /* With no credentials configured there is nothing to prove, even if
     * the initiator never sent AuthMethod (it skipped the security stage,
     * RFC 7143 6.3). */
    return a->state == ISCSI_AUTH_DONE ||
           (a->state == ISCSI_AUTH_START && a->username == NULL);
}
