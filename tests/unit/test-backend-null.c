/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the null backend through the backend_*() wrappers inside
 * a real aio_ctx: reads are zeros whatever was written, every operation
 * succeeds inline, block status is one HOLE|ZERO extent, and the
 * wrappers' size, range and read-only checks apply to it as to any other.
 */
#include <config.h>

#include <check.h>
#include <pthread.h>
#include <stdlib.h>

#include "backend-test-helpers.h"

#define MiB (UINT64_C(1) << 20)

START_TEST(test_null_size_and_caps_from_config)
{
    struct config_export cfg = bt_export("null", 7 * MiB + 3);
    struct backend *b = bt_open(&cfg);

    ck_assert_str_eq(backend_name(b), "null");
    ck_assert_uint_eq(backend_size(b), 7 * MiB + 3);
    ck_assert_uint_eq(backend_caps(b),
                      BACKEND_CAN_WRITE | BACKEND_CAN_FLUSH | BACKEND_CAN_FUA
                          | BACKEND_CAN_TRIM | BACKEND_CAN_ZERO
                          | BACKEND_CAN_FAST_ZERO | BACKEND_CAN_BLOCK_STATUS
                          | BACKEND_CAN_CACHE | BACKEND_CAN_MULTI_CONN);
    ck_assert_uint_eq(backend_min_block(b), 1);
    backend_close(b);

    /* No size: an empty disk, where only empty requests fit. */
    cfg = bt_export("null", 0);
    b = bt_open(&cfg);
    ck_assert_uint_eq(backend_size(b), 0);
    ck_assert_int_eq(backend_check(b, BACKEND_OP_READ, 0, 0), 0);
    ck_assert_int_eq(backend_check(b, BACKEND_OP_READ, 0, 1), -EINVAL);
    backend_close(b);
}
END_TEST

START_TEST(test_null_reads_zeros_after_writes)
{
    struct config_export cfg = bt_export("null", 16 * MiB);
    struct backend *b = bt_open(&cfg);
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t *buf = bt_xmalloc(MiB);

    bt_fill(buf, MiB, 3);
    ck_assert_int_eq(bt_write(ctx, b, 3, buf, MiB, 0), 0);
    ck_assert_int_eq(bt_write(ctx, b, 5 * MiB, buf, MiB, BACKEND_FUA), 0);
    memset(buf, 0xee, MiB);
    ck_assert_int_eq(bt_rw(ctx, b, false, 3, buf, MiB, 0, 5), 0);
    ck_assert(bt_is_zero(buf, MiB));
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_FLUSH, 0, 0, 0), 0);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_TRIM, 0, MiB, BACKEND_FUA), 0);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_ZERO, 1, MiB,
                           BACKEND_MAY_TRIM | BACKEND_FAST_ZERO), 0);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_CACHE, 0, 16 * MiB, 0), 0);
    free(buf);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

START_TEST(test_null_block_status_is_one_hole)
{
    struct config_export cfg = bt_export("null", 16 * MiB);
    struct backend *b = bt_open(&cfg);
    struct aio_ctx *ctx = bt_ctx_new();
    struct backend_extent ext[4];
    uint8_t byte = 1;
    size_t n;

    ck_assert_int_eq(bt_write(ctx, b, MiB, &byte, 1, 0), 0);
    ck_assert_int_eq(bt_block_status(ctx, b, 1, 16 * MiB - 1, 0, ext, 4, &n),
                     0);
    ck_assert_uint_eq(n, 1);
    bt_assert_extent(ext[0], 16 * MiB - 1, BT_HOLE);
    ck_assert_int_eq(bt_block_status(ctx, b, 0, MiB, BACKEND_REQ_ONE, ext, 1,
                                     &n), 0);
    ck_assert_uint_eq(n, 1);
    bt_assert_extent(ext[0], MiB, BT_HOLE);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

START_TEST(test_null_range_and_readonly_checks)
{
    struct config_export cfg = bt_export("null", MiB);
    struct backend *b;
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t buf[4096];

    cfg.readonly = true;
    b = bt_open(&cfg);
    ck_assert(backend_readonly(b));
    ck_assert_int_eq(bt_write(ctx, b, 0, buf, sizeof buf, 0), -EROFS);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_TRIM, 0, 1, 0), -EROFS);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_ZERO, 0, 1, 0), -EROFS);
    ck_assert_int_eq(bt_read(ctx, b, MiB - 4095, buf, sizeof buf), -EINVAL);
    ck_assert_int_eq(bt_read(ctx, b, UINT64_MAX - 100, buf, sizeof buf),
                     -EOVERFLOW);
    ck_assert_int_eq(bt_read(ctx, b, MiB - 4096, buf, sizeof buf), 0);
    ck_assert_int_eq(bt_op(ctx, b, BACKEND_OP_FLUSH, 0, 0, 0), 0);
    aio_ctx_free(ctx);
    backend_close(b);
}
END_TEST

/* Two I/O threads, each with its own loop, on one instance. */
static void *
null_thread(void *opaque)
{
    struct backend *b = opaque;
    struct aio_ctx *ctx = bt_ctx_new();
    uint8_t buf[8192];
    long failures = 0;

    for (int i = 0; i < 20000; i++) {
        uint64_t off = (uint64_t)(i * 4096) % (MiB - sizeof buf);

        if (i % 2) {
            failures += bt_write(ctx, b, off, buf, sizeof buf, 0) != 0;
        } else {
            buf[100] = 1;
            failures += bt_read(ctx, b, off, buf, sizeof buf) != 0;
            failures += buf[100] != 0;
        }
    }
    aio_ctx_free(ctx);
    return (void *)failures;
}

START_TEST(test_null_two_iothreads)
{
    struct config_export cfg = bt_export("null", MiB);
    struct backend *b = bt_open(&cfg);
    pthread_t t[2];
    void *res;

    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, null_thread, b), 0);
    }
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(t[i], &res), 0);
        ck_assert_ptr_null(res);
    }
    backend_close(b);
}
END_TEST

static Suite *
null_suite(void)
{
    Suite *s = suite_create("backend-null");
    TCase *tc = tcase_create("null");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_null_size_and_caps_from_config);
    tcase_add_test(tc, test_null_reads_zeros_after_writes);
    tcase_add_test(tc, test_null_block_status_is_one_hole);
    tcase_add_test(tc, test_null_range_and_readonly_checks);
    tcase_add_test(tc, test_null_two_iothreads);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(null_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
