/* SPDX-License-Identifier: MIT */
/*
 * Shared harness of the configuration tests (test-config-keys, -values,
 * -export, -iscsi, -load), #included by each, not compiled alone: every
 * function is static.
 *
 * Most tests feed config_load_string() a small file named "test.ini" and
 * read struct config back; error tests check that one line of the message
 * names the file, the line, the section, the key, the bad value and what is
 * accepted, and that *out is left alone (a sentinel pointer survives).  A
 * few tests write a temporary file to cover config_load()'s own line
 * reader.
 */
#ifndef POLLTGT_TESTS_UNIT_CONFIG_TEST_HELPERS_H
#define POLLTGT_TESTS_UNIT_CONFIG_TEST_HELPERS_H

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "util/clock.h"

#define TEST_FILE "test.ini"
#define TEST_TIMEOUT 10

/* *out must still point here after a failed load. */
static struct config sentinel;

static inline struct config *
load_ok_at(const char *file, int line, const char *text)
{
    struct config *cfg = NULL;
    char *msg = NULL;
    int r = config_load_string(TEST_FILE, text, &cfg, &msg);

    ck_assert_msg(r == 0,
                  "%s:%d: config_load_string returned %d; message:\n%s"
                  "--- input:\n%s",
                  file, line, r, msg ? msg : "(none)\n", text);
    ck_assert_msg(msg == NULL, "%s:%d: errmsg set on success: %s", file, line,
                  msg);
    ck_assert_msg(cfg != NULL, "%s:%d: no config on success", file, line);
    return cfg;
}
#define load_ok(text) load_ok_at(__FILE__, __LINE__, (text))

/* Load text that must fail; returns the message (free it). */
static inline char *
load_err_at(const char *file, int line, const char *text)
{
    struct config *cfg = &sentinel;
    char *msg = NULL;
    int r = config_load_string(TEST_FILE, text, &cfg, &msg);

    ck_assert_msg(r == -EINVAL,
                  "%s:%d: expected -EINVAL, got %d; message:\n%s"
                  "--- input:\n%s",
                  file, line, r, msg ? msg : "(none)\n", text);
    ck_assert_msg(cfg == &sentinel, "%s:%d: *out was changed on error", file,
                  line);
    ck_assert_msg(msg != NULL && msg[0] != '\0', "%s:%d: no error message",
                  file, line);
    return msg;
}
#define load_err(text) load_err_at(__FILE__, __LINE__, (text))

#define assert_msg_has(msg, sub)                                              \
    ck_assert_msg((msg) != NULL && strstr((msg), (sub)) != NULL,              \
                  "expected \"%s\" in the error message:\n%s", (sub),         \
                  (msg) ? (msg) : "(null)")

#define assert_msg_lacks(msg, sub)                                            \
    ck_assert_msg((msg) != NULL && strstr((msg), (sub)) == NULL,              \
                  "did not expect \"%s\" in the error message:\n%s", (sub),   \
                  (msg) ? (msg) : "(null)")

/*
 * Assert that some line of msg starts with "test.ini:LINENO: " and contains
 * every one of the NULL-terminated substrings.  Prints the whole message
 * otherwise.
 */
static inline void __attribute__((sentinel))
assert_error_line_at(const char *file, int line, const char *msg,
                     unsigned lineno, ...)
{
    char prefix[64];
    const char *subs[16];
    size_t nsubs = 0;
    va_list ap;
    const char *s;

    va_start(ap, lineno);
    while ((s = va_arg(ap, const char *)) != NULL && nsubs < 16) {
        subs[nsubs++] = s;
    }
    va_end(ap);

    snprintf(prefix, sizeof prefix, TEST_FILE ":%u: ", lineno);
    for (const char *p = msg; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);

        if (len >= strlen(prefix) && strncmp(p, prefix, strlen(prefix)) == 0) {
            char *text = strndup(p, len);
            bool all = true;

            ck_assert_ptr_nonnull(text);
            for (size_t i = 0; i < nsubs; i++) {
                if (strstr(text, subs[i]) == NULL) {
                    all = false;
                }
            }
            free(text);
            if (all) {
                return;
            }
        }
        p = nl ? nl + 1 : NULL;
    }

    char want[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < nsubs && used < sizeof want; i++) {
        used += (size_t)snprintf(want + used, sizeof want - used, " \"%s\"",
                                 subs[i]);
    }
    ck_abort_msg("%s:%d: no line starting \"%s\" contains all of%s; "
                 "the whole message is:\n%s",
                 file, line, prefix, want, msg ? msg : "(null)");
}
#define assert_error_line(msg, lineno, ...)                                   \
    assert_error_line_at(__FILE__, __LINE__, (msg), (lineno), __VA_ARGS__,    \
                         (const char *)NULL)

/* Load text, expect failure with one line matching, free the message. */
#define expect_error(text, lineno, ...)                                       \
    do {                                                                      \
        char *em_ = load_err(text);                                           \
        assert_error_line(em_, (lineno), __VA_ARGS__);                        \
        free(em_);                                                            \
    } while (0)

static inline size_t
count_lines(const char *msg)
{
    size_t n = 0;

    for (const char *p = msg; *p; p++) {
        n += *p == '\n';
    }
    return n;
}

static inline char *
cwd_path(const char *name)
{
    char cwd[PATH_MAX];
    char *r;

    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_ge(asprintf(&r, "%s/%s", cwd, name), 0);
    return r;
}

static inline void
assert_default_poll(const struct poll_params *p)
{
    ck_assert_ptr_eq(p->policy, &policy_weighted_ops);
    ck_assert_int_eq(p->max_ns, POLICY_MAX_NS_AUTO);
    ck_assert_int_eq(p->grow, 2);
    ck_assert_int_eq(p->shrink, 2);
    ck_assert_int_eq(p->weight, 3);
    ck_assert_int_eq(p->idle_timeout_ms, 7000);
}

static inline void
assert_tcp(const struct parse_addr *a, const char *host, const char *port)
{
    ck_assert_int_eq(a->kind, PARSE_ADDR_TCP);
    ck_assert_str_eq(a->host, host);
    ck_assert_str_eq(a->port, port);
}

/* Write text to a fresh temporary file; returns its malloc'd path. */
static inline char *
write_temp(const char *text)
{
    char *path = strdup("/tmp/test-config-XXXXXX");
    int fd;
    FILE *fp;

    ck_assert_ptr_nonnull(path);
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    fp = fdopen(fd, "w");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fputs(text, fp) >= 0, 1);
    ck_assert_int_eq(fclose(fp), 0);
    return path;
}

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static inline int
ct_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* POLLTGT_TESTS_UNIT_CONFIG_TEST_HELPERS_H */
