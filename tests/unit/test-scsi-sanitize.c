/* SPDX-License-Identifier: MIT */
/*
 * SANITIZE (scsi-sanitize.c) on a memory LU: OVERWRITE's pattern, passes
 * and INVERT, BLOCK ERASE, the IMMED bit, what every other command gets
 * while a sanitize runs (NOT READY, SANITIZE IN PROGRESS with progress;
 * REQUEST SENSE's data), the checks of the CDB and the parameter list
 * with their field pointers, and the advertising (VPD B1h).
 *
 * The memory backend completes inline, so a sanitize that ran as one
 * loop of steps would be over before its command returned; these tests
 * see it in progress because each step waits for the next loop
 * iteration, which is what keeps an I/O thread serving others meanwhile.
 */
#include <config.h>

#include "scsi-test-helpers.h"

#define MiB (UINT64_C(1) << 20)
#define SZ (16 * MiB)
#define BS 512

/* SANITIZE with byte 1 (IMMED, AUSE, service action) and a parameter
 * list of len bytes. */
static uint8_t
sz_run(struct st_env *env, struct st_cmd *c, uint8_t byte1,
       const uint8_t *param, uint16_t len)
{
    const uint8_t cdb[10] = { SCSI_OP_SANITIZE, byte1, 0, 0, 0, 0, 0,
                              (uint8_t)(len >> 8), (uint8_t)len, 0 };

    st_cmd_init(c, env, &env->lu[0], cdb, sizeof cdb);
    return st_run(env, c, param, len);
}

/* An OVERWRITE parameter list: byte 0, then the pattern. */
static uint16_t
sz_param(uint8_t *p, uint8_t byte0, const void *pattern, uint16_t plen)
{
    p[0] = byte0;
    p[1] = 0;
    scsi_put_be16(&p[2], plen);
    memcpy(&p[4], pattern, plen);
    return (uint16_t)(4 + plen);
}

/* INVALID FIELD IN PARAMETER LIST pointing at byte, bit of the list. */
static void
sz_assert_param_at(const struct scsi_cmd *t, uint8_t byte, uint8_t bit)
{
    struct scsi_cmd plain = *t;

    ck_assert_uint_eq(t->sense[15], 0x80 | 0x08 | bit); /* C/D 0 */
    ck_assert_uint_eq(t->sense[16], 0);
    ck_assert_uint_eq(t->sense[17], byte);
    memset(&plain.sense[15], 0, 3);
    st_assert_sense(&plain, SCSI_SENSE_ILLEGAL_REQUEST,
                    SCSI_ASC_INVALID_FIELD_IN_PARAMETER);
}

/* TEST UNIT READY's answer while running: NOT READY, SANITIZE IN
 * PROGRESS, SKSV and the progress; returns the progress. */
static uint16_t
sz_tur_in_progress(struct st_env *env)
{
    struct st_cmd c;
    struct scsi_cmd plain;
    uint16_t progress;

    ST_RUN(env, &c, &env->lu[0], SCSI_OP_TEST_UNIT_READY, 0, 0, 0, 0, 0);
    ck_assert_uint_eq(c.t.sense[15], 0x80);
    progress = scsi_get_be16(&c.t.sense[16]);
    plain = c.t;
    memset(&plain.sense[15], 0, 3);
    st_assert_sense(&plain, SCSI_SENSE_NOT_READY,
                    SCSI_ASC_SANITIZE_IN_PROGRESS);
    st_cmd_free(&c);
    return progress;
}

/* Poll until the LU is no longer being sanitized. */
static void
sz_wait_idle(struct st_env *env)
{
    int64_t deadline = clock_now_ns() + BT_DEADLINE_NS;

    while (atomic_load(&env->lu[0].sanitize->state)
           == SCSI_SANITIZE_RUNNING) {
        aio_ctx_poll(env->ctx, false);
        ck_assert_msg(clock_now_ns() < deadline, "sanitize did not end");
    }
}

/* Decode and exec a SANITIZE the way st_run does, but return without
 * waiting for done: the command is on the heap, so that the sanitizer
 * build catches a job that touches it after it was given back. */
static struct st_cmd *
sz_start(struct st_env *env, uint8_t byte1, const uint8_t *param,
         uint16_t len)
{
    const uint8_t cdb[10] = { SCSI_OP_SANITIZE, byte1, 0, 0, 0, 0, 0,
                              (uint8_t)(len >> 8), (uint8_t)len, 0 };
    struct st_cmd *c = bt_xmalloc(sizeof *c);

    st_cmd_init(c, env, &env->lu[0], cdb, sizeof cdb);
    ck_assert(scsi_cmd_decode(&c->t));
    ck_assert_uint_eq(c->t.xfer_len, len);
    c->t.buf = c->t.buf_len ? bt_xmalloc(c->t.buf_len) : NULL;
    if (len > 0) {
        memcpy(c->t.buf, param, len);
    }
    scsi_cmd_exec(&c->t);
    for (int i = 0; i < 2; i++) {
        aio_ctx_poll(env->ctx, false);
    }
    return c;
}

static void
sz_free(struct st_cmd *c)
{
    st_cmd_free(c);
    free(c);
}

/* Every block of [lba, lba + n) holds the pattern from its start. */
static void
sz_assert_pattern(struct st_env *env, uint32_t lba, uint32_t n,
                  const uint8_t *pat, size_t plen)
{
    struct st_cmd c;

    ck_assert_int_eq(st_rw(env, &c, &env->lu[0], SCSI_OP_READ_10, lba, n, 0,
                           NULL, 0), SCSI_STATUS_GOOD);
    for (size_t i = 0; i < (size_t)n * BS; i++) {
        ck_assert_msg(c.t.buf[i] == pat[(i % BS) % plen],
                      "LBA %u byte %zu: 0x%02x, want 0x%02x", lba,
                      i, c.t.buf[i], pat[(i % BS) % plen]);
    }
    st_cmd_free(&c);
}

START_TEST(test_sanitize_overwrite_immed_runs_in_the_background)
{
    static const uint8_t pat[3] = { 0x12, 0x34, 0x56 };
    struct st_env env;
    struct st_cmd c;
    uint8_t p[8], b0[BS];
    uint16_t len, first, later;

    st_env_init(&env, SZ, BS, false, 1);
    /* IMMED, INVERT, two passes: GOOD at once, the job goes on. */
    len = sz_param(p, 0x80 | 2, pat, sizeof pat);
    ck_assert_int_eq(sz_run(&env, &c, 0x80 | SCSI_SANITIZE_OVERWRITE, p, len),
                     SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    ck_assert_uint_eq(atomic_load(&env.lu[0].sanitize->state),
                      SCSI_SANITIZE_RUNNING);
    /* The first of two passes with INVERT writes the inverted pattern
     * (so that the last writes the pattern itself). */
    ck_assert_int_eq(bt_read(env.ctx, env.b, 0, b0, BS), 0);
    for (size_t i = 0; i < BS; i++) {
        ck_assert_uint_eq(b0[i], (uint8_t)~pat[i % sizeof pat]);
    }
    first = sz_tur_in_progress(&env);
    /* Media access, another SANITIZE, and REPORT SUPPORTED OPERATION
     * CODES are refused; INQUIRY, REPORT LUNS, REQUEST SENSE are not. */
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_10, 0, 1, 0,
                           b0, BS), SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(c.t.sense[2], SCSI_SENSE_NOT_READY);
    st_cmd_free(&c);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_READ_10, 0, 1, 0,
                           NULL, 0), SCSI_STATUS_CHECK_CONDITION);
    ck_assert_uint_eq(c.t.sense[2], SCSI_SENSE_NOT_READY);
    st_cmd_free(&c);
    sz_run(&env, &c, SCSI_SANITIZE_OVERWRITE, p, len);
    ck_assert_uint_eq(c.t.sense[2], SCSI_SENSE_NOT_READY);
    ck_assert_uint_eq(c.t.sense[12], 0x04);
    ck_assert_uint_eq(c.t.sense[13], 0x1b);
    st_cmd_free(&c);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 0, 0, 0,
                            96, 0), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_REPORT_LUNS, 0, 0,
                            0, 0, 0, 0, 0, 0, 64, 0, 0), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_REQUEST_SENSE, 0, 0,
                            0, SCSI_SENSE_LEN, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.data_len, SCSI_SENSE_LEN);
    ck_assert_uint_eq(c.t.buf[2], SCSI_SENSE_NOT_READY);
    ck_assert_uint_eq(c.t.buf[12], 0x04);
    ck_assert_uint_eq(c.t.buf[13], 0x1b);
    ck_assert_uint_eq(c.t.buf[15], 0x80);
    st_cmd_free(&c);
    /* It moves on, and says so. */
    later = sz_tur_in_progress(&env);
    ck_assert_uint_gt(later, first);
    sz_wait_idle(&env);
    /* Done: the pattern itself, from each block's start (512 is no
     * multiple of 3), first block to last; TEST UNIT READY is GOOD. */
    sz_assert_pattern(&env, 0, 4, pat, sizeof pat);
    sz_assert_pattern(&env, SZ / BS - 4, 4, pat, sizeof pat);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_TEST_UNIT_READY, 0,
                            0, 0, 0, 0), SCSI_STATUS_GOOD);
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_REQUEST_SENSE, 0, 0,
                            0, SCSI_SENSE_LEN, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[2], SCSI_SENSE_NO_SENSE);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sanitize_overwrite_waits_without_immed)
{
    static const uint8_t pat[BS] = { 0xaa, 0x55, [BS - 1] = 0x99 };
    struct st_env env;
    struct st_cmd c;
    uint8_t p[4 + BS];
    uint16_t len;

    st_env_init(&env, SZ, BS, false, 1);
    len = sz_param(p, 3, pat, BS); /* three passes, a whole block */
    ck_assert_int_eq(sz_run(&env, &c, SCSI_SANITIZE_OVERWRITE, p, len),
                     SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    ck_assert_uint_eq(atomic_load(&env.lu[0].sanitize->state),
                      SCSI_SANITIZE_IDLE);
    sz_assert_pattern(&env, 0, 8, pat, BS);
    sz_assert_pattern(&env, SZ / BS - 8, 8, pat, BS);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sanitize_block_erase_leaves_zeros)
{
    static const uint8_t zero[1] = { 0 };
    struct st_env env;
    struct st_cmd c;
    uint8_t data[8 * BS];

    st_env_init(&env, SZ, BS, false, 1);
    memset(data, 'a', sizeof data);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_10, 0, 8, 0,
                           data, sizeof data), SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    ck_assert_int_eq(st_rw(&env, &c, &env.lu[0], SCSI_OP_WRITE_10,
                           SZ / BS - 8, 8, 0, data, sizeof data),
                     SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    ck_assert_int_eq(sz_run(&env, &c, SCSI_SANITIZE_BLOCK_ERASE, NULL, 0),
                     SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    sz_assert_pattern(&env, 0, 8, zero, 1);
    sz_assert_pattern(&env, SZ / BS - 8, 8, zero, 1);
    /* VPD B1h: WABEREQ 01b, reads after a block erase succeed. */
    ck_assert_int_eq(ST_RUN(&env, &c, &env.lu[0], SCSI_OP_INQUIRY, 0x01,
                            SCSI_VPD_BLOCK_CHARACTERISTICS, 0, 64, 0),
                     SCSI_STATUS_GOOD);
    ck_assert_uint_eq(c.t.buf[7] & 0xf0, 0x40);
    st_cmd_free(&c);
    /* EXIT FAILURE MODE with nothing failed: nothing to exit, GOOD. */
    ck_assert_int_eq(sz_run(&env, &c, SCSI_SANITIZE_EXIT_FAILURE, NULL, 0),
                     SCSI_STATUS_GOOD);
    st_cmd_free(&c);
    st_env_free(&env);
}
END_TEST

START_TEST(test_sanitize_refuses_bad_cdbs_and_parameters)
{
    static const uint8_t pat[4] = { 1, 2, 3, 4 };
    struct st_env env, ro;
    struct st_cmd c;
    uint8_t p[4 + BS + 1];
    uint16_t len;

    st_env_init(&env, SZ, BS, false, 1);
    len = sz_param(p, 1, pat, sizeof pat);
    /* CRYPTOGRAPHIC ERASE (not offered), a reserved service action. */
    sz_run(&env, &c, SCSI_SANITIZE_CRYPTO_ERASE, NULL, 0);
    st_assert_invalid_field_at(&c.t, 1, 4);
    sz_run(&env, &c, 0x04, NULL, 0);
    st_assert_invalid_field_at(&c.t, 1, 4);
    /* ZNR (not a zoned device). */
    sz_run(&env, &c, 0x40 | SCSI_SANITIZE_BLOCK_ERASE, NULL, 0);
    st_assert_invalid_field_at(&c.t, 1, 6);
    /* A reserved CDB byte. */
    st_cmd_init(&c, &env, &env.lu[0],
                (const uint8_t[10]){ SCSI_OP_SANITIZE,
                                     SCSI_SANITIZE_BLOCK_ERASE, 0, 0, 7 },
                10);
    st_run(&env, &c, NULL, 0);
    st_assert_invalid_field_at(&c.t, 4, 7);
    /* PARAMETER LIST LENGTH: 0 for BLOCK ERASE and EXIT FAILURE MODE, 5
     * to a block + 4 for OVERWRITE. */
    sz_run(&env, &c, SCSI_SANITIZE_BLOCK_ERASE, p, len);
    st_assert_invalid_field_at(&c.t, 7, 7);
    sz_run(&env, &c, SCSI_SANITIZE_EXIT_FAILURE, p, len);
    st_assert_invalid_field_at(&c.t, 7, 7);
    sz_run(&env, &c, SCSI_SANITIZE_OVERWRITE, p, 4);
    st_assert_invalid_field_at(&c.t, 7, 7);
    sz_run(&env, &c, SCSI_SANITIZE_OVERWRITE, p, BS + 5);
    st_assert_invalid_field_at(&c.t, 7, 7);
    /* The parameter list: OVERWRITE COUNT 0, TEST, byte 1, the pattern's
     * length 0, longer than the list, longer than a block. */
    p[0] = 0;
    sz_run(&env, &c, SCSI_SANITIZE_OVERWRITE, p, len);
    sz_assert_param_at(&c.t, 0, 4);
    st_cmd_free(&c);
    p[0] = 0x20 | 1;
    sz_run(&env, &c, SCSI_SANITIZE_OVERWRITE, p, len);
    sz_assert_param_at(&c.t, 0, 6);
    st_cmd_free(&c);
    p[0] = 1;
    p[1] = 1;
    sz_run(&env, &c, SCSI_SANITIZE_OVERWRITE, p, len);
    sz_assert_param_at(&c.t, 1, 7);
    st_cmd_free(&c);
    p[1] = 0;
    scsi_put_be16(&p[2], 0);
    sz_run(&env, &c, SCSI_SANITIZE_OVERWRITE, p, len);
    sz_assert_param_at(&c.t, 2, 7);
    st_cmd_free(&c);
    scsi_put_be16(&p[2], (uint16_t)(len - 3));
    sz_run(&env, &c, SCSI_SANITIZE_OVERWRITE, p, len);
    sz_assert_param_at(&c.t, 2, 7);
    st_cmd_free(&c);
    memset(p, 0, sizeof p);
    p[0] = 1;
    scsi_put_be16(&p[2], BS + 1);
    sz_run(&env, &c, SCSI_SANITIZE_OVERWRITE, p, BS + 4);
    sz_assert_param_at(&c.t, 2, 7);
    st_cmd_free(&c);
    /* Nothing refused ran. */
    ck_assert_uint_eq(atomic_load(&env.lu[0].sanitize->state),
                      SCSI_SANITIZE_IDLE);
    st_env_free(&env);

    /* Read-only: WRITE PROTECTED; BLOCK ERASE is not even offered. */
    st_env_init(&ro, SZ, BS, true, 1);
    len = sz_param(p, 1, pat, sizeof pat);
    sz_run(&ro, &c, SCSI_SANITIZE_OVERWRITE, p, len);
    st_assert_sense(&c.t, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
    sz_run(&ro, &c, SCSI_SANITIZE_BLOCK_ERASE, NULL, 0);
    st_assert_invalid_field_at(&c.t, 1, 4);
    st_env_free(&ro);
}
END_TEST

/* An aborted SANITIZE (ABORT TASK, LUN RESET, ...: scsi_cmd_abort) is
 * given back at once, but the sanitize itself goes on to the end (SBC-4
 * 4.11.1), reported in progress meanwhile, and never touches the command
 * again. */
START_TEST(test_sanitize_abort_lets_the_job_go_on)
{
    static const uint8_t pat[2] = { 0x5a, 0xc3 };
    struct st_env env;
    struct st_cmd *c, done;
    uint8_t p[8];
    uint16_t len, first, later;

    st_env_init(&env, SZ, BS, false, 1);
    len = sz_param(p, 1, pat, sizeof pat);
    c = sz_start(&env, SCSI_SANITIZE_OVERWRITE, p, len);
    /* Without IMMED it waits for the job. */
    ck_assert_int_eq(c->ncalls, 0);
    ck_assert(scsi_sanitize_running(&env.lu[0]));
    ck_assert(scsi_cmd_abort(&c->t));
    ck_assert_int_eq(c->ncalls, 1);
    ck_assert_uint_eq(c->t.sense[2], SCSI_SENSE_ABORTED_COMMAND);
    sz_free(c);
    /* The job goes on, and says so to every other command. */
    ck_assert(scsi_sanitize_running(&env.lu[0]));
    first = sz_tur_in_progress(&env);
    ck_assert_int_eq(ST_RUN(&env, &done, &env.lu[0], SCSI_OP_REQUEST_SENSE, 0,
                            0, 0, SCSI_SENSE_LEN, 0), SCSI_STATUS_GOOD);
    ck_assert_uint_eq(done.t.buf[2], SCSI_SENSE_NOT_READY);
    ck_assert_uint_eq(done.t.buf[12], 0x04);
    ck_assert_uint_eq(done.t.buf[13], 0x1b);
    ck_assert_uint_eq(done.t.buf[15], 0x80);
    st_cmd_free(&done);
    later = sz_tur_in_progress(&env);
    ck_assert_uint_gt(later, first);
    sz_wait_idle(&env);
    /* It ended well, over the whole LU. */
    ck_assert_uint_eq(atomic_load(&env.lu[0].sanitize->state),
                      SCSI_SANITIZE_IDLE);
    sz_assert_pattern(&env, 0, 4, pat, sizeof pat);
    sz_assert_pattern(&env, SZ / BS - 4, 4, pat, sizeof pat);
    /* Another command is not let go: it answers when its request
     * comes back, as ever (and has nothing to be let go from here). */
    ck_assert_int_eq(ST_RUN(&env, &done, &env.lu[0], SCSI_OP_TEST_UNIT_READY,
                            0, 0, 0, 0, 0), SCSI_STATUS_GOOD);
    ck_assert(!scsi_cmd_abort(&done.t));
    st_env_free(&env);
}
END_TEST

/* Shutdown (scsi_sanitize_stop): the job ends at its next step, leaves
 * the LU partly overwritten and in failure mode, frees all it had (the
 * sanitizer build's leak check), and answers a command still waiting. */
START_TEST(test_sanitize_stop_ends_the_job_at_its_next_step)
{
    static const uint8_t pat[1] = { 0xee };
    int64_t deadline = clock_now_ns() + BT_DEADLINE_NS;
    struct st_env env;
    struct st_cmd *c, r;
    uint8_t p[8], b[BS];
    uint16_t len;

    st_env_init(&env, SZ, BS, false, 1);
    len = sz_param(p, 1, pat, sizeof pat);
    c = sz_start(&env, 0x80 | SCSI_SANITIZE_OVERWRITE, p, len);
    ck_assert_int_eq(c->ncalls, 1); /* IMMED: answered */
    ck_assert_int_eq(c->t.status, SCSI_STATUS_GOOD);
    sz_free(c);
    ck_assert(scsi_sanitize_running(&env.lu[0]));
    scsi_sanitize_stop(&env.lu[0]);
    while (scsi_sanitize_running(&env.lu[0])) {
        aio_ctx_poll(env.ctx, false);
        ck_assert_msg(clock_now_ns() < deadline, "sanitize did not stop");
    }
    ck_assert_int_eq(aio_ctx_sqe_inflight(env.ctx), 0);
    /* Failure mode, and not one to leave without AUSE. */
    ck_assert_uint_eq(atomic_load(&env.lu[0].sanitize->state),
                      SCSI_SANITIZE_FAILED);
    ST_RUN(&env, &r, &env.lu[0], SCSI_OP_TEST_UNIT_READY, 0, 0, 0, 0, 0);
    st_assert_sense(&r.t, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_SANITIZE_FAILED);
    sz_run(&env, &r, SCSI_SANITIZE_EXIT_FAILURE, NULL, 0);
    st_assert_invalid_field_at(&r.t, 1, 4);
    /* Partly overwritten: the first block is, the last is not. */
    ck_assert_int_eq(bt_read(env.ctx, env.b, 0, b, BS), 0);
    ck_assert_uint_eq(b[0], pat[0]);
    ck_assert_uint_eq(b[BS - 1], pat[0]);
    ck_assert_int_eq(bt_read(env.ctx, env.b, SZ - BS, b, BS), 0);
    ck_assert_uint_eq(b[0], 0);
    ck_assert_uint_eq(b[BS - 1], 0);
    /* One started while stopping (a command the drain let through) ends
     * at its first step, and the command waiting for it is answered. */
    c = sz_start(&env, SCSI_SANITIZE_OVERWRITE, p, len);
    while (c->ncalls == 0) {
        aio_ctx_poll(env.ctx, false);
        ck_assert_msg(clock_now_ns() < deadline, "sanitize did not stop");
    }
    st_assert_sense(&c->t, SCSI_SENSE_MEDIUM_ERROR, SCSI_ASC_SANITIZE_FAILED);
    sz_free(c);
    ck_assert(!scsi_sanitize_running(&env.lu[0]));
    ck_assert_int_eq(bt_read(env.ctx, env.b, SZ - BS, b, BS), 0);
    ck_assert_uint_eq(b[0], 0);
    st_env_free(&env);
}
END_TEST

static Suite *
sanitize_suite(void)
{
    Suite *s = suite_create("scsi-sanitize");
    TCase *tc = tcase_create("sanitize");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sanitize_overwrite_immed_runs_in_the_background);
    tcase_add_test(tc, test_sanitize_overwrite_waits_without_immed);
    tcase_add_test(tc, test_sanitize_block_erase_leaves_zeros);
    tcase_add_test(tc, test_sanitize_refuses_bad_cdbs_and_parameters);
    tcase_add_test(tc, test_sanitize_abort_lets_the_job_go_on);
    tcase_add_test(tc, test_sanitize_stop_ends_the_job_at_its_next_step);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return st_main(sanitize_suite());
}
