/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of reservations (server/scsi/scsi-pr.c) against SPC-4's
 * tables: which commands each persistent reservation type lets a holder,
 * another registrant and an unregistered nexus run; REGISTER and REGISTER
 * AND IGNORE EXISTING KEY with right and wrong keys and PRgeneration;
 * RELEASE of the wrong type or by a non-holder; the unit attentions
 * RELEASE, CLEAR and PREEMPT leave for the other nexuses (and not for the
 * one that sent them); all-registrants reservations outliving their
 * first registrant; READ FULL STATUS' TransportIDs; the CDB and
 * parameter list errors; and the legacy RESERVE/RELEASE(6) with its
 * conflicts, its release on nexus loss and reset, and its exclusion by
 * registrations; APTPL's state file written, loaded into a fresh LU,
 * refused when corrupt, and a failed write changing nothing.  Three nexuses (two initiators, one with two ISIDs) on
 * one memory-backend LU, through scsi-test-helpers.h.
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "scsi-test-helpers.h"

#define MiB (UINT64_C(1) << 20)

static struct scsi_nexus nx[3];

static void
pr_nexuses(void)
{
    static const uint8_t isid1[6] = { 0x80, 0x12, 0x34, 0x56, 0, 1 };
    static const uint8_t isid2[6] = { 0x80, 0x12, 0x34, 0x56, 0, 2 };

    scsi_pr_nexus_iscsi(&nx[0], "iqn.2026-12.test:node-a", isid1, 1);
    scsi_pr_nexus_iscsi(&nx[1], "iqn.2026-12.test:node-b", isid1, 1);
    scsi_pr_nexus_iscsi(&nx[2], "iqn.2026-12.test:node-a", isid2, 1);
}

/* Run cdb from nexus `who` (data-out `out` when the command takes any).
 * Unlike st_run this accepts RESERVATION CONFLICT from decode. */
static uint8_t
pr_run(struct st_env *env, struct st_cmd *c, int who, const uint8_t *cdb,
       size_t len, const uint8_t *out)
{
    st_cmd_init(c, env, &env->lu[0], cdb, len);
    c->t.nexus = &nx[who];
    if (!scsi_cmd_decode(&c->t)) {
        uint8_t status = c->t.status;

        ck_assert(status == SCSI_STATUS_CHECK_CONDITION
                  || (status == SCSI_STATUS_RESERVATION_CONFLICT
                      && c->t.sense_len == 0));
        st_exec_wait(env, c);
        ck_assert_int_eq(c->t.status, status);
        return status;
    }
    c->t.buf = c->t.buf_len ? bt_xmalloc(c->t.buf_len) : NULL;
    if (c->t.dir == SCSI_DIR_WRITE) {
        memcpy(c->t.buf, out, c->t.xfer_len);
    }
    st_exec_wait(env, c);
    return c->t.status;
}

/* PERSISTENT RESERVE OUT: sa, type, key, service action key, byte 20. */
static uint8_t
pr_out(struct st_env *env, int who, uint8_t sa, uint8_t type, uint64_t key,
       uint64_t sakey, uint8_t flags)
{
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT, sa, type, 0, 0,
                        0, 0, 0, 24, 0 };
    uint8_t p[24] = { 0 };
    struct st_cmd c;
    uint8_t status;

    scsi_put_be64(&p[0], key);
    scsi_put_be64(&p[8], sakey);
    p[20] = flags;
    status = pr_run(env, &c, who, cdb, sizeof cdb, p);
    st_cmd_free(&c);
    return status;
}

/* PERSISTENT RESERVE IN sa into out (at most n bytes); its status. */
static uint8_t
pr_in(struct st_env *env, int who, uint8_t sa, uint8_t *out, size_t n)
{
    uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_IN, sa, 0, 0, 0, 0, 0,
                        (uint8_t)(n >> 8), (uint8_t)n, 0 };
    struct st_cmd c;
    uint8_t status = pr_run(env, &c, who, cdb, sizeof cdb, NULL);

    memset(out, 0, n);
    memcpy(out, c.t.buf, c.t.data_len);
    st_cmd_free(&c);
    return status;
}

/* PRgeneration, as nexus 1 sees it (it never has a unit attention
 * pending when the tests ask). */
static uint32_t
pr_generation(struct st_env *env)
{
    uint8_t b[8];

    ck_assert_int_eq(pr_in(env, 1, SCSI_PRIN_READ_KEYS, b, sizeof b),
                     SCSI_STATUS_GOOD);
    return st_be32(b);
}

/* A plain command from `who`; returns its status, *asc the sense. */
static uint8_t
pr_cmd(struct st_env *env, int who, uint8_t op, uint16_t *asc)
{
    uint8_t cdb[SCSI_CDB_MAX];
    uint8_t data[512];
    size_t len;
    struct st_cmd c;
    uint8_t status;

    memset(data, 0x5a, sizeof data);
    memset(cdb, 0, sizeof cdb);
    switch (op) {
    case SCSI_OP_READ_10:
    case SCSI_OP_WRITE_10:
        len = st_cdb_rw(cdb, op, 8, 1, 0);
        break;
    case SCSI_OP_INQUIRY:
        cdb[0] = op;
        cdb[4] = 36;
        len = 6;
        break;
    default:
        cdb[0] = op;
        len = scsi_cmd_length(op);
        break;
    }
    status = pr_run(env, &c, who, cdb, len, data);
    if (asc) {
        *asc = c.t.sense_len ? (uint16_t)(c.t.sense[12] << 8 | c.t.sense[13])
                             : 0;
        if (c.t.sense_len) {
            ck_assert_uint_eq(c.t.sense[2], SCSI_SENSE_UNIT_ATTENTION);
        }
    }
    st_cmd_free(&c);
    return status;
}

/* The unit attention waiting for `who`, 0 if none (TUR consumes it). */
static uint16_t
pr_ua(struct st_env *env, int who)
{
    uint16_t asc = 0;

    if (pr_cmd(env, who, SCSI_OP_TEST_UNIT_READY, &asc) == SCSI_STATUS_GOOD) {
        return 0;
    }
    return asc;
}

#define GOOD SCSI_STATUS_GOOD
#define CONFLICT SCSI_STATUS_RESERVATION_CONFLICT

START_TEST(test_pr_register_keys_and_generation)
{
    struct st_env env;
    uint8_t b[64];
    uint32_t gen;

    st_env_init(&env, MiB, 512, false, 1);
    pr_nexuses();
    gen = pr_generation(&env);
    /* An unregistered nexus with a non-zero key: conflict. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 7, 0xa1, 0),
                     CONFLICT);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0, 0xa1, 0),
                     GOOD);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER_IGNORE, 0, 99, 0xb1,
                            0), GOOD);
    ck_assert_uint_eq(pr_generation(&env), gen + 2);
    ck_assert_int_eq(pr_in(&env, 0, SCSI_PRIN_READ_KEYS, b, sizeof b), GOOD);
    ck_assert_uint_eq(st_be32(&b[4]), 16);
    ck_assert_uint_eq(st_be64(&b[8]), 0xa1);
    ck_assert_uint_eq(st_be64(&b[16]), 0xb1);
    /* Registered, wrong key: conflict, nothing changes. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0xb1, 0xa2, 0),
                     CONFLICT);
    ck_assert_uint_eq(pr_generation(&env), gen + 2);
    /* Right key: the key changes; IGNORE takes any key. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0xa1, 0xa2, 0),
                     GOOD);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER_IGNORE, 0, 0, 0xa3,
                            0), GOOD);
    /* Key 0 unregisters; from an unregistered nexus it does nothing. */
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER, 0, 0xb1, 0, 0),
                     GOOD);
    gen = pr_generation(&env);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER, 0, 0, 0, 0), GOOD);
    ck_assert_uint_eq(pr_generation(&env), gen);
    ck_assert_int_eq(pr_in(&env, 2, SCSI_PRIN_READ_KEYS, b, sizeof b), GOOD);
    ck_assert_uint_eq(st_be32(&b[4]), 8);
    ck_assert_uint_eq(st_be64(&b[8]), 0xa3);
    /* Nothing but REGISTER works unregistered, or with the wrong key. */
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_RESERVE,
                            SCSI_PR_WRITE_EXCLUSIVE, 0xb1, 0, 0), CONFLICT);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RESERVE,
                            SCSI_PR_WRITE_EXCLUSIVE, 0xa1, 0, 0), CONFLICT);
    st_env_free(&env);
}
END_TEST

/*
 * SPC-4 / SBC-3 commands allowed in the presence of persistent
 * reservations, for a registered non-holder and an unregistered nexus:
 * read (READ), write (WRITE) and always-allowed (TEST UNIT READY,
 * INQUIRY).  The holder may do everything.
 */
static const struct {
    uint8_t type;
    bool reg_read, reg_write, unreg_read, unreg_write;
} access_table[] = {
    { SCSI_PR_WRITE_EXCLUSIVE, true, false, true, false },
    { SCSI_PR_EXCLUSIVE_ACCESS, false, false, false, false },
    { SCSI_PR_WRITE_EXCLUSIVE_RO, true, true, true, false },
    { SCSI_PR_EXCLUSIVE_ACCESS_RO, true, true, false, false },
    { SCSI_PR_WRITE_EXCLUSIVE_AR, true, true, true, false },
    { SCSI_PR_EXCLUSIVE_ACCESS_AR, true, true, false, false },
};

START_TEST(test_pr_access_by_type)
{
    struct st_env env;
    uint8_t type = access_table[_i].type;
    uint8_t b[32];

    st_env_init(&env, MiB, 512, false, 1);
    pr_nexuses();
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0, 0xa, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER, 0, 0, 0xb, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RESERVE, type, 0xa, 0, 0),
                     GOOD);
    /* Reserving again as the holder is GOOD; another type is not. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RESERVE, type, 0xa, 0, 0),
                     GOOD);
    ck_assert_int_eq(pr_in(&env, 2, SCSI_PRIN_READ_RESERVATION, b, sizeof b),
                     GOOD);
    ck_assert_uint_eq(st_be32(&b[4]), 16);
    ck_assert_uint_eq(st_be64(&b[8]),
                      type >= SCSI_PR_WRITE_EXCLUSIVE_AR ? 0 : 0xa);
    ck_assert_uint_eq(b[21], type);

    ck_assert_int_eq(pr_cmd(&env, 0, SCSI_OP_READ_10, NULL), GOOD);
    ck_assert_int_eq(pr_cmd(&env, 0, SCSI_OP_WRITE_10, NULL), GOOD);
    ck_assert_int_eq(pr_cmd(&env, 1, SCSI_OP_READ_10, NULL),
                     access_table[_i].reg_read ? GOOD : CONFLICT);
    ck_assert_int_eq(pr_cmd(&env, 1, SCSI_OP_WRITE_10, NULL),
                     access_table[_i].reg_write ? GOOD : CONFLICT);
    ck_assert_int_eq(pr_cmd(&env, 2, SCSI_OP_READ_10, NULL),
                     access_table[_i].unreg_read ? GOOD : CONFLICT);
    ck_assert_int_eq(pr_cmd(&env, 2, SCSI_OP_WRITE_10, NULL),
                     access_table[_i].unreg_write ? GOOD : CONFLICT);
    ck_assert_int_eq(pr_cmd(&env, 2, SCSI_OP_SYNCHRONIZE_CACHE_10, NULL),
                     access_table[_i].unreg_write ? GOOD : CONFLICT);
    for (int who = 1; who <= 2; who++) {
        ck_assert_int_eq(pr_cmd(&env, who, SCSI_OP_TEST_UNIT_READY, NULL),
                         GOOD);
        ck_assert_int_eq(pr_cmd(&env, who, SCSI_OP_INQUIRY, NULL), GOOD);
        ck_assert_int_eq(pr_cmd(&env, who, SCSI_OP_READ_CAPACITY_10, NULL),
                         GOOD);
    }
    /* A registrant that is not the holder cannot take another type. */
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_RESERVE,
                            type == SCSI_PR_WRITE_EXCLUSIVE
                                ? SCSI_PR_EXCLUSIVE_ACCESS
                                : SCSI_PR_WRITE_EXCLUSIVE, 0xb, 0, 0),
                     CONFLICT);
    /* Released, everyone may do everything again. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RELEASE, type, 0xa, 0, 0),
                     GOOD);
    ck_assert_int_eq(pr_cmd(&env, 2, SCSI_OP_WRITE_10, NULL), GOOD);
    st_env_free(&env);
}
END_TEST

START_TEST(test_pr_release_rules_and_unit_attentions)
{
    struct st_env env;
    struct st_cmd c;
    uint8_t b[32];

    st_env_init(&env, MiB, 512, false, 1);
    pr_nexuses();
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(pr_out(&env, i, SCSI_PROUT_REGISTER, 0, 0,
                                0x10 + (uint64_t)i, 0), GOOD);
    }
    /* Write Exclusive: RELEASE by a non-holder is GOOD and changes
     * nothing; of the wrong type it is INVALID RELEASE. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RESERVE,
                            SCSI_PR_WRITE_EXCLUSIVE, 0x10, 0, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_RELEASE,
                            SCSI_PR_WRITE_EXCLUSIVE, 0x11, 0, 0), GOOD);
    ck_assert_int_eq(pr_cmd(&env, 1, SCSI_OP_WRITE_10, NULL), CONFLICT);
    {
        uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT,
                            SCSI_PROUT_RELEASE, SCSI_PR_EXCLUSIVE_ACCESS, 0, 0,
                            0, 0, 0, 24, 0 };
        uint8_t p[24] = { 0 };

        p[7] = 0x10;
        ck_assert_int_eq(pr_run(&env, &c, 0, cdb, sizeof cdb, p),
                         SCSI_STATUS_CHECK_CONDITION);
        st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                        SCSI_ASC_INVALID_RELEASE_OF_PR);
        st_cmd_free(&c);
    }
    /* Write Exclusive released: no unit attention for anyone. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RELEASE,
                            SCSI_PR_WRITE_EXCLUSIVE, 0x10, 0, 0), GOOD);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(pr_ua(&env, i), 0);
    }
    /* Registrants Only released: RESERVATIONS RELEASED to the other
     * registrants, not to the holder that released it. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RESERVE,
                            SCSI_PR_WRITE_EXCLUSIVE_RO, 0x10, 0, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RELEASE,
                            SCSI_PR_WRITE_EXCLUSIVE_RO, 0x10, 0, 0), GOOD);
    ck_assert_uint_eq(pr_ua(&env, 0), 0);
    /* INQUIRY does not consume it; TEST UNIT READY reports it once. */
    ck_assert_int_eq(pr_cmd(&env, 1, SCSI_OP_INQUIRY, NULL), GOOD);
    ck_assert_uint_eq(pr_ua(&env, 1), SCSI_ASC_RESERVATIONS_RELEASED);
    ck_assert_uint_eq(pr_ua(&env, 1), 0);
    ck_assert_uint_eq(pr_ua(&env, 2), SCSI_ASC_RESERVATIONS_RELEASED);
    /* The holder of a Registrants Only reservation unregistering
     * releases it, with the same unit attention. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RESERVE,
                            SCSI_PR_EXCLUSIVE_ACCESS_RO, 0x10, 0, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0x10, 0, 0),
                     GOOD);
    ck_assert_int_eq(pr_in(&env, 0, SCSI_PRIN_READ_RESERVATION, b, sizeof b),
                     GOOD);
    ck_assert_uint_eq(st_be32(&b[4]), 0);
    ck_assert_uint_eq(pr_ua(&env, 0), 0);
    ck_assert_uint_eq(pr_ua(&env, 1), SCSI_ASC_RESERVATIONS_RELEASED);
    ck_assert_uint_eq(pr_ua(&env, 2), SCSI_ASC_RESERVATIONS_RELEASED);
    st_env_free(&env);
}
END_TEST

START_TEST(test_pr_all_registrants_outlive_their_first_registrant)
{
    struct st_env env;
    uint8_t b[32];

    st_env_init(&env, MiB, 512, false, 1);
    pr_nexuses();
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0, 0xa, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER, 0, 0, 0xb, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RESERVE,
                            SCSI_PR_WRITE_EXCLUSIVE_AR, 0xa, 0, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0xa, 0, 0), GOOD);
    ck_assert_int_eq(pr_in(&env, 1, SCSI_PRIN_READ_RESERVATION, b, sizeof b),
                     GOOD);
    ck_assert_uint_eq(st_be32(&b[4]), 16);
    /* nexus 1 holds it too, and may release it. */
    ck_assert_int_eq(pr_cmd(&env, 1, SCSI_OP_WRITE_10, NULL), GOOD);
    ck_assert_int_eq(pr_cmd(&env, 0, SCSI_OP_WRITE_10, NULL), CONFLICT);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER, 0, 0xb, 0, 0), GOOD);
    ck_assert_int_eq(pr_in(&env, 1, SCSI_PRIN_READ_RESERVATION, b, sizeof b),
                     GOOD);
    ck_assert_uint_eq(st_be32(&b[4]), 0);
    ck_assert_int_eq(pr_cmd(&env, 0, SCSI_OP_WRITE_10, NULL), GOOD);
    st_env_free(&env);
}
END_TEST

START_TEST(test_pr_preempt_and_clear)
{
    struct st_env env;
    uint8_t b[64];
    uint32_t gen;

    st_env_init(&env, MiB, 512, false, 1);
    pr_nexuses();
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0, 0xa, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER, 0, 0, 0xb, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 2, SCSI_PROUT_REGISTER, 0, 0, 0xc, 0), GOOD);
    /* Without a reservation: registrations go, there must be some, and
     * key 0 is an invalid field. */
    gen = pr_generation(&env);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_PREEMPT,
                            SCSI_PR_EXCLUSIVE_ACCESS, 0xb, 0xf, 0), CONFLICT);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_PREEMPT,
                            SCSI_PR_EXCLUSIVE_ACCESS, 0xb, 0,
                            0), SCSI_STATUS_CHECK_CONDITION);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_PREEMPT,
                            SCSI_PR_EXCLUSIVE_ACCESS, 0xb, 0xc, 0), GOOD);
    ck_assert_uint_eq(pr_generation(&env), gen + 1);
    ck_assert_uint_eq(pr_ua(&env, 2), SCSI_ASC_REGISTRATIONS_PREEMPTED);
    ck_assert_uint_eq(pr_ua(&env, 1), 0);
    /* Preempting the holder: its registration and reservation go, the
     * preempting nexus holds a reservation of the type it named. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RESERVE,
                            SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_PREEMPT_AND_ABORT,
                            SCSI_PR_EXCLUSIVE_ACCESS, 0xb, 0xa, 0), GOOD);
    ck_assert_uint_eq(pr_ua(&env, 0), SCSI_ASC_REGISTRATIONS_PREEMPTED);
    ck_assert_int_eq(pr_in(&env, 1, SCSI_PRIN_READ_RESERVATION, b, sizeof b),
                     GOOD);
    ck_assert_uint_eq(st_be64(&b[8]), 0xb);
    ck_assert_uint_eq(b[21], SCSI_PR_EXCLUSIVE_ACCESS);
    ck_assert_int_eq(pr_cmd(&env, 0, SCSI_OP_READ_10, NULL), CONFLICT);
    ck_assert_int_eq(pr_in(&env, 1, SCSI_PRIN_READ_KEYS, b, sizeof b), GOOD);
    ck_assert_uint_eq(st_be32(&b[4]), 8);
    /* CLEAR: everything goes; RESERVATIONS PREEMPTED to the others. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0, 0xa, 0), GOOD);
    gen = pr_generation(&env);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_CLEAR, 0, 0xb, 0, 0), GOOD);
    ck_assert_uint_eq(pr_generation(&env), gen + 1);
    ck_assert_uint_eq(pr_ua(&env, 0), SCSI_ASC_RESERVATIONS_PREEMPTED);
    ck_assert_uint_eq(pr_ua(&env, 1), 0);
    ck_assert_int_eq(pr_in(&env, 1, SCSI_PRIN_READ_KEYS, b, sizeof b), GOOD);
    ck_assert_uint_eq(st_be32(&b[4]), 0);
    ck_assert_int_eq(pr_cmd(&env, 0, SCSI_OP_WRITE_10, NULL), GOOD);
    st_env_free(&env);
}
END_TEST

/* A transport's abort_nexuses that records what it was asked and
 * resumes only when the test says. */
static struct {
    int calls;
    const struct scsi_lu *lu;
    struct scsi_nexus n[4];
    size_t count;
    struct scsi_cmd *waiter;
    void (*resume)(struct scsi_cmd *t);
} fake_abort;

static void
fake_abort_nexuses(const struct scsi_target *tgt, const struct scsi_lu *lu,
                   const struct scsi_nexus *n, size_t count,
                   struct scsi_cmd *waiter, void (*resume)(struct scsi_cmd *t))
{
    (void)tgt;
    fake_abort.calls++;
    fake_abort.lu = lu;
    ck_assert_uint_le(count, 4);
    memcpy(fake_abort.n, n, count * sizeof *n);
    fake_abort.count = count;
    fake_abort.waiter = waiter;
    fake_abort.resume = resume;
}

START_TEST(test_pr_preempt_and_abort_aborts_through_the_transport)
{
    static const uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT,
                                     SCSI_PROUT_PREEMPT_AND_ABORT,
                                     SCSI_PR_EXCLUSIVE_ACCESS, 0, 0, 0, 0,
                                     0, 24, 0 };
    struct st_env env;
    struct st_cmd c;
    uint8_t p[24] = { 0 };

    st_env_init(&env, MiB, 512, false, 1);
    env.target.abort_nexuses = fake_abort_nexuses;
    memset(&fake_abort, 0, sizeof fake_abort);
    pr_nexuses();
    /* Nexuses 0 and 2 share key a; 0 holds Write Exclusive. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0, 0xa, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER, 0, 0, 0xb, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 2, SCSI_PROUT_REGISTER, 0, 0, 0xa, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_RESERVE,
                            SCSI_PR_WRITE_EXCLUSIVE, 0xa, 0, 0), GOOD);
    /* PREEMPT alone aborts nothing; nor does a refused PREEMPT AND ABORT
     * (wrong reservation key). */
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_PREEMPT_AND_ABORT,
                            SCSI_PR_EXCLUSIVE_ACCESS, 0xbad, 0xa, 0),
                     CONFLICT);
    ck_assert_int_eq(fake_abort.calls, 0);

    /* Nexus 1 preempts key a: the transport is asked to abort the tasks
     * of 0 and 2 (not 1's) on this LU, and the command waits for it. */
    scsi_put_be64(&p[0], 0xb);
    scsi_put_be64(&p[8], 0xa);
    st_cmd_init(&c, &env, &env.lu[0], cdb, sizeof cdb);
    c.t.nexus = &nx[1];
    ck_assert(scsi_cmd_decode(&c.t));
    c.t.buf = bt_xmalloc(c.t.buf_len);
    memcpy(c.t.buf, p, sizeof p);
    scsi_cmd_exec(&c.t);
    for (int i = 0; i < 5; i++) {
        aio_ctx_poll(env.ctx, false);
    }
    ck_assert_int_eq(fake_abort.calls, 1);
    ck_assert_int_eq(c.ncalls, 0);
    ck_assert_ptr_eq(fake_abort.lu, &env.lu[0]);
    ck_assert_ptr_eq(fake_abort.waiter, &c.t);
    ck_assert_uint_eq(fake_abort.count, 2);
    ck_assert(scsi_pr_nexus_eq(&fake_abort.n[0], &nx[0]));
    ck_assert(scsi_pr_nexus_eq(&fake_abort.n[1], &nx[2]));
    /* The preemption itself is in force already. */
    ck_assert_int_eq(pr_cmd(&env, 0, SCSI_OP_WRITE_10, NULL),
                     SCSI_STATUS_CHECK_CONDITION); /* the unit attention */
    ck_assert_int_eq(pr_cmd(&env, 0, SCSI_OP_READ_10, NULL), CONFLICT);
    fake_abort.resume(fake_abort.waiter);
    ck_assert_int_eq(c.ncalls, 1);
    ck_assert_int_eq(c.t.status, GOOD);
    st_cmd_free(&c);
    /* A transport's unit attention comes after those already queued. */
    scsi_pr_unit_attention(env.lu[0].pr, &nx[2],
                           SCSI_ASC_COMMANDS_CLEARED_BY_OTHER);
    ck_assert_uint_eq(pr_ua(&env, 2), SCSI_ASC_REGISTRATIONS_PREEMPTED);
    ck_assert_uint_eq(pr_ua(&env, 2), SCSI_ASC_COMMANDS_CLEARED_BY_OTHER);
    ck_assert_uint_eq(pr_ua(&env, 2), 0);

    /* Plain PREEMPT of nexus 1 by 2, re-registered: no abort. */
    ck_assert_int_eq(pr_out(&env, 2, SCSI_PROUT_REGISTER, 0, 0, 0xc, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 2, SCSI_PROUT_PREEMPT,
                            SCSI_PR_EXCLUSIVE_ACCESS, 0xc, 0xb, 0), GOOD);
    ck_assert_int_eq(fake_abort.calls, 1);
    st_env_free(&env);
}
END_TEST

START_TEST(test_pr_read_full_status_and_capabilities)
{
    struct st_env env;
    uint8_t b[512];
    const char *want = "iqn.2026-12.test:node-b,i,0x801234560001";
    uint32_t tid;

    st_env_init(&env, MiB, 512, false, 1);
    pr_nexuses();
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0, 0xa, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER, 0, 0, 0xb, 0), GOOD);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_RESERVE,
                            SCSI_PR_EXCLUSIVE_ACCESS_RO, 0xb, 0, 0), GOOD);
    ck_assert_int_eq(pr_in(&env, 0, SCSI_PRIN_READ_FULL_STATUS, b, sizeof b),
                     GOOD);
    /* The first descriptor: nexus 0, not the holder. */
    ck_assert_uint_eq(st_be64(&b[8]), 0xa);
    ck_assert_uint_eq(b[8 + 12] & 0x01, 0);
    tid = st_be32(&b[8 + 20]);
    ck_assert_uint_eq(tid % 4, 0);
    /* The second: nexus 1, holder, type, its TransportID. */
    {
        const uint8_t *d = &b[8 + 24 + tid];

        ck_assert_uint_eq(st_be64(d), 0xb);
        ck_assert_uint_eq(d[12] & 0x01, 0x01);
        ck_assert_uint_eq(d[13], SCSI_PR_EXCLUSIVE_ACCESS_RO);
        ck_assert_uint_eq(st_be16(&d[18]), 1);
        ck_assert_uint_eq(d[24], 0x45); /* format 01b, iSCSI */
        ck_assert_str_eq((const char *)&d[28], want);
        ck_assert_uint_eq(st_be32(&b[4]),
                          2 * 24 + tid + st_be32(&d[20]));
    }
    ck_assert_int_eq(pr_in(&env, 0, SCSI_PRIN_REPORT_CAPABILITIES, b, 8),
                     GOOD);
    ck_assert_uint_eq(st_be16(b), 8);
    ck_assert_uint_eq(b[2] & 0x01, 0); /* PTPL_C: no state file here */
    ck_assert_uint_eq(b[4], 0xea);
    ck_assert_uint_eq(b[5], 0x01);
    st_env_free(&env);
}
END_TEST

START_TEST(test_pr_cdb_and_parameter_errors)
{
    struct st_env env;
    struct st_cmd c;

    st_env_init(&env, MiB, 512, false, 1);
    pr_nexuses();
    /* PR IN service actions past READ FULL STATUS. */
    for (uint8_t sa = 4; sa < 0x20; sa++) {
        uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_IN, sa, 0, 0, 0, 0, 0,
                            0, 64, 0 };

        ck_assert_int_eq(pr_run(&env, &c, 0, cdb, sizeof cdb, NULL),
                         SCSI_STATUS_CHECK_CONDITION);
        st_assert_invalid_field_at(&c.t, 1, 4);
        st_cmd_free(&c);
    }
    /* RESERVE with a type that does not exist, or another scope. */
    {
        uint8_t cdb[10] = { SCSI_OP_PERSISTENT_RESERVE_OUT,
                            SCSI_PROUT_RESERVE, 0x02, 0, 0, 0, 0, 0, 24, 0 };

        ck_assert_int_eq(pr_run(&env, &c, 0, cdb, sizeof cdb, NULL),
                         SCSI_STATUS_CHECK_CONDITION);
        st_assert_invalid_field_at(&c.t, 2, 3);
        st_cmd_free(&c);
        cdb[2] = 0x11;
        ck_assert_int_eq(pr_run(&env, &c, 0, cdb, sizeof cdb, NULL),
                         SCSI_STATUS_CHECK_CONDITION);
        st_assert_invalid_field_at(&c.t, 2, 7);
        st_cmd_free(&c);
        /* A parameter list that is not 24 bytes. */
        cdb[2] = SCSI_PR_WRITE_EXCLUSIVE;
        cdb[8] = 20;
        ck_assert_int_eq(pr_run(&env, &c, 0, cdb, sizeof cdb, NULL),
                         SCSI_STATUS_CHECK_CONDITION);
        st_assert_sense(&c.t, SCSI_SENSE_ILLEGAL_REQUEST,
                        SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
        st_cmd_free(&c);
    }
    /* SPEC_I_PT, and APTPL without a state file. */
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0, 0xa, 0x08),
                     SCSI_STATUS_CHECK_CONDITION);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0, 0xa, 0x01),
                     SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(pr_generation(&env), 0);
    /* Registration resources run out at SCSI_PR_MAX_REGS. */
    for (int i = 0; i < SCSI_PR_MAX_REGS; i++) {
        struct scsi_nexus saved = nx[2];
        uint8_t isid[6] = { 0x80, 0, 0, 0, 0, (uint8_t)i };

        scsi_pr_nexus_iscsi(&nx[2], "iqn.2026-12.test:many", isid, 1);
        ck_assert_int_eq(pr_out(&env, 2, SCSI_PROUT_REGISTER, 0, 0, 1, 0),
                         GOOD);
        nx[2] = saved;
    }
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0, 0xa, 0),
                     SCSI_STATUS_CHECK_CONDITION);
    st_env_free(&env);
}
END_TEST

START_TEST(test_pr_legacy_reserve_release)
{
    struct st_env env;
    struct st_cmd c;
    const uint8_t reserve[6] = { SCSI_OP_RESERVE_6, 0, 0, 0, 0, 0 };
    const uint8_t release[6] = { SCSI_OP_RELEASE_6, 0, 0, 0, 0, 0 };
    const uint8_t reserve10[10] = { SCSI_OP_RESERVE_10, 0, 0, 0, 0, 0, 0, 0,
                                    0, 0 };

    st_env_init(&env, MiB, 512, false, 1);
    pr_nexuses();
    ck_assert_int_eq(pr_run(&env, &c, 0, reserve, 6, NULL), GOOD);
    ck_assert_int_eq(pr_run(&env, &c, 0, reserve10, 10, NULL), GOOD);
    ck_assert_int_eq(pr_run(&env, &c, 1, reserve, 6, NULL), CONFLICT);
    /* The other initiator's I_T nexus, and the same initiator's other
     * ISID, are both someone else. */
    for (int who = 1; who <= 2; who++) {
        ck_assert_int_eq(pr_cmd(&env, who, SCSI_OP_READ_10, NULL), CONFLICT);
        ck_assert_int_eq(pr_cmd(&env, who, SCSI_OP_TEST_UNIT_READY, NULL),
                         CONFLICT);
        ck_assert_int_eq(pr_cmd(&env, who, SCSI_OP_MODE_SENSE_6, NULL),
                         CONFLICT);
        ck_assert_int_eq(pr_cmd(&env, who, SCSI_OP_INQUIRY, NULL), GOOD);
        ck_assert_int_eq(pr_cmd(&env, who, SCSI_OP_REPORT_LUNS, NULL), GOOD);
    }
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER, 0, 0, 0xb, 0),
                     CONFLICT);
    /* RELEASE by another nexus: GOOD, and still reserved. */
    ck_assert_int_eq(pr_run(&env, &c, 1, release, 6, NULL), GOOD);
    ck_assert_int_eq(pr_cmd(&env, 1, SCSI_OP_WRITE_10, NULL), CONFLICT);
    ck_assert_int_eq(pr_cmd(&env, 0, SCSI_OP_WRITE_10, NULL), GOOD);
    /* Nexus loss of another nexus changes nothing; the holder's frees it. */
    scsi_pr_nexus_lost(env.lu[0].pr, &nx[1]);
    ck_assert_int_eq(pr_cmd(&env, 1, SCSI_OP_WRITE_10, NULL), CONFLICT);
    scsi_pr_nexus_lost(env.lu[0].pr, &nx[0]);
    ck_assert_int_eq(pr_cmd(&env, 1, SCSI_OP_WRITE_10, NULL), GOOD);
    /* A reset frees it too. */
    ck_assert_int_eq(pr_run(&env, &c, 1, reserve, 6, NULL), GOOD);
    ck_assert_int_eq(pr_cmd(&env, 0, SCSI_OP_WRITE_10, NULL), CONFLICT);
    scsi_pr_reset(env.lu[0].pr);
    ck_assert_int_eq(pr_cmd(&env, 0, SCSI_OP_WRITE_10, NULL), GOOD);
    /* With a registration, RESERVE and RELEASE conflict (SPC-3 5.6.3). */
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER, 0, 0, 0xb, 0), GOOD);
    ck_assert_int_eq(pr_run(&env, &c, 0, reserve, 6, NULL), CONFLICT);
    ck_assert_int_eq(pr_run(&env, &c, 1, release, 6, NULL), CONFLICT);
    /* Extents and third parties are refused. */
    {
        const uint8_t third[6] = { SCSI_OP_RESERVE_6, 0x10, 0, 0, 0, 0 };

        const uint8_t extent[10] = { SCSI_OP_RESERVE_10, 0, 0, 0, 0, 0, 0,
                                     0, 8, 0 };

        ck_assert_int_eq(pr_run(&env, &c, 0, third, 6, NULL),
                         SCSI_STATUS_CHECK_CONDITION);
        st_assert_invalid_field_at(&c.t, 1, 4);
        ck_assert_int_eq(pr_run(&env, &c, 0, extent, 10, NULL),
                         SCSI_STATUS_CHECK_CONDITION);
        st_assert_invalid_field_at(&c.t, 7, 7);
    }
    st_env_free(&env);
}
END_TEST

START_TEST(test_pr_aptpl_state_file)
{
    struct st_env env, again;
    char dir[] = "/tmp/polltgt-pr-XXXXXX";
    char path[64], bad[80];
    uint8_t b[32];
    FILE *f;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/lu.pr", dir);
    st_env_init(&env, MiB, 512, false, 1);
    pr_nexuses();
    ck_assert_int_eq(scsi_pr_set_file(env.lu[0].pr, path), 0);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0, 0xa, 0x01),
                     GOOD);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_REGISTER, 0, 0, 0xb, 0x01),
                     GOOD);
    ck_assert_int_eq(pr_out(&env, 1, SCSI_PROUT_RESERVE,
                            SCSI_PR_EXCLUSIVE_ACCESS_RO, 0xb, 0, 0), GOOD);
    ck_assert_int_eq(pr_in(&env, 0, SCSI_PRIN_REPORT_CAPABILITIES, b, 8),
                     GOOD);
    ck_assert_uint_eq(b[2] & 0x01, 0x01); /* PTPL_C */
    ck_assert_uint_eq(b[3] & 0x01, 0x01); /* PTPL_A */
    ck_assert_int_eq(access(path, F_OK), 0);

    /* A fresh LU (a restart) finds the keys and the reservation. */
    st_env_init(&again, MiB, 512, false, 1);
    ck_assert_int_eq(scsi_pr_set_file(again.lu[0].pr, path), 0);
    ck_assert_int_eq(pr_in(&again, 0, SCSI_PRIN_READ_RESERVATION, b, 32),
                     GOOD);
    ck_assert_uint_eq(st_be64(&b[8]), 0xb);
    ck_assert_uint_eq(b[21], SCSI_PR_EXCLUSIVE_ACCESS_RO);
    ck_assert_uint_eq(st_be32(&b[0]), 2);
    ck_assert_int_eq(pr_cmd(&again, 2, SCSI_OP_READ_10, NULL), CONFLICT);
    ck_assert_int_eq(pr_cmd(&again, 0, SCSI_OP_WRITE_10, NULL), GOOD);
    st_env_free(&again);

    /* A directory that is not there: the PR OUT fails, nothing changes. */
    snprintf(bad, sizeof bad, "%s/missing/lu.pr", dir);
    ck_assert_int_eq(scsi_pr_set_file(env.lu[0].pr, bad), 0);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0xa, 0xc, 0x01),
                     SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(pr_generation(&env), 2);
    /* Back to the real file; REGISTER without APTPL removes it. */
    ck_assert_int_eq(scsi_pr_set_file(env.lu[0].pr, path), 0);
    ck_assert_int_eq(pr_out(&env, 0, SCSI_PROUT_REGISTER, 0, 0xa, 0xd, 0),
                     GOOD);
    ck_assert_int_ne(access(path, F_OK), 0);
    st_env_free(&env);

    /* Not a state file: refused, so the LU is not served without it. */
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("reservation 1 0\n", f);
    fclose(f);
    st_env_init(&again, MiB, 512, false, 1);
    ck_assert_int_eq(scsi_pr_set_file(again.lu[0].pr, path), -EINVAL);
    st_env_free(&again);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *
pr_suite(void)
{
    Suite *s = suite_create("scsi-pr");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_pr_register_keys_and_generation);
    tcase_add_loop_test(tc, test_pr_access_by_type, 0,
                        (int)ARRAY_SIZE(access_table));
    tcase_add_test(tc, test_pr_release_rules_and_unit_attentions);
    tcase_add_test(tc, test_pr_all_registrants_outlive_their_first_registrant);
    tcase_add_test(tc, test_pr_preempt_and_clear);
    tcase_add_test(tc, test_pr_preempt_and_abort_aborts_through_the_transport);
    tcase_add_test(tc, test_pr_read_full_status_and_capabilities);
    tcase_add_test(tc, test_pr_cdb_and_parameter_errors);
    tcase_add_test(tc, test_pr_legacy_reserve_release);
    tcase_add_test(tc, test_pr_aptpl_state_file);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return st_main(pr_suite());
}
