/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the typed value parsers (server/util/parse.c).
 *
 * The parsers are strict on purpose (parse.c: a silently truncated value
 * is worse than a refused one), so every function is tested on both sides:
 * what it accepts and the exact result, and what it refuses and with which
 * errno (-EINVAL malformed, -ERANGE out of range).  Tables plus
 * tcase_add_loop_test keep one case per row, so a failure names its input.
 */
#include <config.h>

#include <check.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"

#define TEST_TIMEOUT 10
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* --- parse_int64 ---------------------------------------------------- */

static const struct {
    const char *s;
    int r;
    int64_t v;
} int64_cases[] = {
    { "0", 0, 0 },
    { "42", 0, 42 },
    { "-42", 0, -42 },
    { "+7", 0, 7 },
    { "  12  ", 0, 12 },
    { "\t12\n", 0, 12 },
    { "007", 0, 7 },
    { "9223372036854775807", 0, INT64_MAX },
    { "-9223372036854775808", 0, INT64_MIN },
    { "9223372036854775808", -ERANGE, 0 },
    { "-9223372036854775809", -ERANGE, 0 },
    { "99999999999999999999999", -ERANGE, 0 },
    { "", -EINVAL, 0 },
    { "   ", -EINVAL, 0 },
    { "abc", -EINVAL, 0 },
    { "12abc", -EINVAL, 0 },
    { "1 2", -EINVAL, 0 },
    { "0x10", -EINVAL, 0 },
    { "1.5", -EINVAL, 0 },
    { "-", -EINVAL, 0 },
    { "1K", -EINVAL, 0 },
};

START_TEST(test_int64_parses_whole_numbers_strictly)
{
    int64_t v = -12345;
    int r = parse_int64(int64_cases[_i].s, &v);

    ck_assert_msg(r == int64_cases[_i].r, "parse_int64(\"%s\") returned %d, "
                  "expected %d", int64_cases[_i].s, r, int64_cases[_i].r);
    if (r == 0) {
        ck_assert_msg(v == int64_cases[_i].v, "parse_int64(\"%s\") = %" PRId64,
                      int64_cases[_i].s, v);
    } else {
        ck_assert_msg(v == -12345, "parse_int64(\"%s\") wrote %" PRId64
                      " on error", int64_cases[_i].s, v);
    }
}
END_TEST

/* --- parse_size ----------------------------------------------------- */

static const struct {
    const char *s;
    int r;
    uint64_t v;
} size_cases[] = {
    { "0", 0, 0 },
    { "1", 0, 1 },
    { "4096", 0, 4096 },
    { "512B", 0, 512 },
    { "512b", 0, 512 },
    { "1K", 0, UINT64_C(1) << 10 },
    { "1M", 0, UINT64_C(1) << 20 },
    { "1G", 0, UINT64_C(1) << 30 },
    { "1T", 0, UINT64_C(1) << 40 },
    { "1P", 0, UINT64_C(1) << 50 },
    { "1E", 0, UINT64_C(1) << 60 },
    { "15E", 0, UINT64_C(15) << 60 },
    { "3k", 0, UINT64_C(3) << 10 },
    { "3m", 0, UINT64_C(3) << 20 },
    { "3g", 0, UINT64_C(3) << 30 },
    { "3t", 0, UINT64_C(3) << 40 },
    { "3p", 0, UINT64_C(3) << 50 },
    { "3e", 0, UINT64_C(3) << 60 },
    { "64KB", 0, UINT64_C(64) << 10 },
    { "64kb", 0, UINT64_C(64) << 10 },
    { "64KiB", 0, UINT64_C(64) << 10 },
    { "64kib", 0, UINT64_C(64) << 10 },
    { "2GiB", 0, UINT64_C(2) << 30 },
    { "2GB", 0, UINT64_C(2) << 30 },
    { "  1G  ", 0, UINT64_C(1) << 30 },
    { "\t8M\n", 0, UINT64_C(8) << 20 },
    { "18446744073709551615", 0, UINT64_MAX },
    { "17179869183G", 0, UINT64_C(17179869183) << 30 },
    /* overflow */
    { "18446744073709551616", -ERANGE, 0 },
    { "16E", -ERANGE, 0 },
    { "17179869184G", -ERANGE, 0 },
    { "99999999999999999999999K", -ERANGE, 0 },
    /* garbage */
    { "", -EINVAL, 0 },
    { " ", -EINVAL, 0 },
    { "G", -EINVAL, 0 },
    { "B", -EINVAL, 0 },
    { "1X", -EINVAL, 0 },
    { "1.5G", -EINVAL, 0 },
    { "1 G", -EINVAL, 0 },
    { "1Gx", -EINVAL, 0 },
    { "1GG", -EINVAL, 0 },
    { "1Ki", -EINVAL, 0 },
    { "1KiBB", -EINVAL, 0 },
    { "1BB", -EINVAL, 0 },
    { "0x10", -EINVAL, 0 },
    { "1 2", -EINVAL, 0 },
    /* negative and signed numbers are refused */
    { "-1", -EINVAL, 0 },
    { "-1G", -EINVAL, 0 },
    { "+1G", -EINVAL, 0 },
};

START_TEST(test_size_accepts_binary_suffixes_and_refuses_garbage)
{
    uint64_t v = 12345;
    int r = parse_size(size_cases[_i].s, &v);

    ck_assert_msg(r == size_cases[_i].r, "parse_size(\"%s\") returned %d, "
                  "expected %d", size_cases[_i].s, r, size_cases[_i].r);
    if (r == 0) {
        ck_assert_msg(v == size_cases[_i].v, "parse_size(\"%s\") = %" PRIu64
                      ", expected %" PRIu64, size_cases[_i].s, v,
                      size_cases[_i].v);
    } else {
        ck_assert_msg(v == 12345, "parse_size(\"%s\") wrote %" PRIu64
                      " on error", size_cases[_i].s, v);
    }
}
END_TEST

/* --- parse_bool ----------------------------------------------------- */

static const struct {
    const char *s;
    int r;
    bool v;
} bool_cases[] = {
    { "yes", 0, true },  { "no", 0, false },   { "true", 0, true },
    { "false", 0, false }, { "on", 0, true },  { "off", 0, false },
    { "1", 0, true },    { "0", 0, false },    { "YES", 0, true },
    { "No", 0, false },  { "TRUE", 0, true },  { "False", 0, false },
    { "ON", 0, true },   { "oFF", 0, false },
    { "", -EINVAL, false }, { "y", -EINVAL, false }, { "n", -EINVAL, false },
    { "2", -EINVAL, false }, { "yess", -EINVAL, false },
    { "enabled", -EINVAL, false }, { "-1", -EINVAL, false },
    { "01", -EINVAL, false },
};

START_TEST(test_bool_accepts_each_spelling_in_any_case)
{
    bool v = !bool_cases[_i].v;
    bool before = v;
    int r = parse_bool(bool_cases[_i].s, &v);

    ck_assert_msg(r == bool_cases[_i].r, "parse_bool(\"%s\") returned %d",
                  bool_cases[_i].s, r);
    if (r == 0) {
        ck_assert_msg(v == bool_cases[_i].v, "parse_bool(\"%s\") = %d",
                      bool_cases[_i].s, (int)v);
    } else {
        ck_assert(v == before);
    }
}
END_TEST

/* --- parse_mode ----------------------------------------------------- */

static const struct {
    const char *s;
    int r;
    unsigned v;
} mode_cases[] = {
    { "0600", 0, 0600 },
    { "600", 0, 0600 },
    { "0660", 0, 0660 },
    { "0", 0, 0 },
    { "0000", 0, 0 },
    { "7777", 0, 07777 },
    { "07777", 0, 07777 },
    { "0000000644", 0, 0644 },
    { "10000", -ERANGE, 0 },
    { "77777", -ERANGE, 0 },
    { "", -EINVAL, 0 },
    { "0680", -EINVAL, 0 },
    { "8", -EINVAL, 0 },
    { "rw-r--r--", -EINVAL, 0 },
    { "0o600", -EINVAL, 0 },
    { "0x180", -EINVAL, 0 },
    { "-600", -EINVAL, 0 },
    { "600 ", -EINVAL, 0 },
};

START_TEST(test_mode_is_octal_up_to_07777)
{
    unsigned v = 12345;
    int r = parse_mode(mode_cases[_i].s, &v);

    ck_assert_msg(r == mode_cases[_i].r, "parse_mode(\"%s\") returned %d, "
                  "expected %d", mode_cases[_i].s, r, mode_cases[_i].r);
    if (r == 0) {
        ck_assert_msg(v == mode_cases[_i].v, "parse_mode(\"%s\") = %o",
                      mode_cases[_i].s, v);
    } else {
        ck_assert_uint_eq(v, 12345);
    }
}
END_TEST

/* --- parse_duration ------------------------------------------------- */

#define NS INT64_C(1)
#define US INT64_C(1000)
#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)

static const struct {
    const char *s;
    int64_t unit;
    int r;
    int64_t ns;
} duration_cases[] = {
    /* each unit */
    { "5ns", MS, 0, 5 },
    { "5us", MS, 0, 5 * US },
    { "5ms", NS, 0, 5 * MS },
    { "5s", NS, 0, 5 * SEC },
    { "5m", NS, 0, 300 * SEC },
    { "5h", NS, 0, 5 * 3600 * SEC },
    /* a bare number is in the given unit */
    { "32768", NS, 0, 32768 },
    { "7000", MS, 0, 7000 * MS },
    { "3", SEC, 0, 3 * SEC },
    { "12", US, 0, 12 * US },
    { "0", MS, 0, 0 },
    { "0s", NS, 0, 0 },
    /* white space around the whole value */
    { "  64us", NS, 0, 64 * US },
    { "64us  ", NS, 0, 64 * US },
    /* largest values and overflow */
    { "9223372036854775807", NS, 0, INT64_MAX },
    { "9223372036854775807ns", MS, 0, INT64_MAX },
    { "9223372036854775808", NS, -ERANGE, 0 },
    { "9223372036854775808ns", NS, -ERANGE, 0 },
    { "9223372036854", MS, 0, INT64_C(9223372036854) * MS },
    { "9223372036855", MS, -ERANGE, 0 },
    { "9223372036855ms", NS, -ERANGE, 0 },
    { "2562048h", NS, -ERANGE, 0 },
    { "2562047h", NS, 0, INT64_C(2562047) * 3600 * SEC },
    { "99999999999999999999999", NS, -ERANGE, 0 },
    /* malformed */
    { "", NS, -EINVAL, 0 },
    { "ms", NS, -EINVAL, 0 },
    { "-5", NS, -EINVAL, 0 },
    { "-5ms", NS, -EINVAL, 0 },
    { "+5ms", NS, -EINVAL, 0 },
    { "1.5s", NS, -EINVAL, 0 },
    { "5 ms", NS, -EINVAL, 0 },
    { "5MS", NS, -EINVAL, 0 },
    { "5sec", NS, -EINVAL, 0 },
    { "5d", NS, -EINVAL, 0 },
    { "5msx", NS, -EINVAL, 0 },
    { "5ms 3", NS, -EINVAL, 0 },
    { "5x", NS, -EINVAL, 0 },
};

START_TEST(test_duration_units_and_bare_number_in_given_unit)
{
    int64_t v = -12345;
    int r = parse_duration(duration_cases[_i].s, duration_cases[_i].unit, &v);

    ck_assert_msg(r == duration_cases[_i].r,
                  "parse_duration(\"%s\", %" PRId64 ") returned %d, expected %d",
                  duration_cases[_i].s, duration_cases[_i].unit, r,
                  duration_cases[_i].r);
    if (r == 0) {
        ck_assert_msg(v == duration_cases[_i].ns,
                      "parse_duration(\"%s\", %" PRId64 ") = %" PRId64
                      ", expected %" PRId64,
                      duration_cases[_i].s, duration_cases[_i].unit, v,
                      duration_cases[_i].ns);
    } else {
        ck_assert_msg(v == -12345, "parse_duration(\"%s\") wrote %" PRId64
                      " on error", duration_cases[_i].s, v);
    }
}
END_TEST

/* --- parse_list ----------------------------------------------------- */

static const struct {
    const char *s;
    int n;
    const char *items[5];
} list_cases[] = {
    { "", 0, { NULL } },
    { "   ", 0, { NULL } },
    { ",,, ,\t,", 0, { NULL } },
    { "a", 1, { "a" } },
    { "a,b", 2, { "a", "b" } },
    { "a b", 2, { "a", "b" } },
    { "a\tb", 2, { "a", "b" } },
    { "a, b ,c", 3, { "a", "b", "c" } },
    { ",a,,b,", 2, { "a", "b" } },
    { "  127.0.0.1:10809,  [::1]:10809 unix:/run/x.sock ", 3,
      { "127.0.0.1:10809", "[::1]:10809", "unix:/run/x.sock" } },
    { "one,two,three,four,five", 5, { "one", "two", "three", "four", "five" } },
};

START_TEST(test_list_splits_on_commas_and_spaces_skipping_empty_items)
{
    char **list = NULL;
    int n = parse_list(list_cases[_i].s, &list);

    ck_assert_msg(n == list_cases[_i].n, "parse_list(\"%s\") returned %d, "
                  "expected %d", list_cases[_i].s, n, list_cases[_i].n);
    ck_assert_ptr_nonnull(list);
    for (int i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(list[i]);
        ck_assert_str_eq(list[i], list_cases[_i].items[i]);
    }
    ck_assert_ptr_null(list[n]);
    free(list); /* one allocation */
}
END_TEST

START_TEST(test_list_items_are_copies_of_the_input)
{
    char input[] = "alpha,beta";
    char **list = NULL;
    int n = parse_list(input, &list);

    ck_assert_int_eq(n, 2);
    memset(input, 'z', sizeof input - 1);
    ck_assert_str_eq(list[0], "alpha");
    ck_assert_str_eq(list[1], "beta");
    free(list);
}
END_TEST

/* --- parse_listen_addr --------------------------------------------- */

static const struct {
    const char *s;
    const char *dflt;
    int r;
    enum parse_addr_kind kind;
    const char *host, *port, *path;
} addr_cases[] = {
    /* IPv4 and names */
    { "127.0.0.1:10809", "1", 0, PARSE_ADDR_TCP, "127.0.0.1", "10809", "" },
    { "0.0.0.0:1", NULL, 0, PARSE_ADDR_TCP, "0.0.0.0", "1", "" },
    { "localhost:65535", NULL, 0, PARSE_ADDR_TCP, "localhost", "65535", "" },
    { "127.0.0.1:080", NULL, 0, PARSE_ADDR_TCP, "127.0.0.1", "80", "" },
    /* IPv6 in brackets */
    { "[::1]:10809", NULL, 0, PARSE_ADDR_TCP, "::1", "10809", "" },
    { "[::]:3260", NULL, 0, PARSE_ADDR_TCP, "::", "3260", "" },
    { "[fe80::1%eth0]:80", NULL, 0, PARSE_ADDR_TCP, "fe80::1%eth0", "80", "" },
    /* :PORT is every address */
    { ":10809", NULL, 0, PARSE_ADDR_TCP, "", "10809", "" },
    /* default port */
    { "127.0.0.1", "10809", 0, PARSE_ADDR_TCP, "127.0.0.1", "10809", "" },
    { "[::1]", "3260", 0, PARSE_ADDR_TCP, "::1", "3260", "" },
    { "example.com", "3260", 0, PARSE_ADDR_TCP, "example.com", "3260", "" },
    /* Unix sockets */
    { "unix:/run/polltgt.sock", NULL, 0, PARSE_ADDR_UNIX, "", "",
      "/run/polltgt.sock" },
    { "unix:rel/x.sock", "1", 0, PARSE_ADDR_UNIX, "", "", "rel/x.sock" },
    /* invalid ports */
    { "127.0.0.1:0", NULL, -ERANGE, 0, NULL, NULL, NULL },
    { "127.0.0.1:65536", NULL, -ERANGE, 0, NULL, NULL, NULL },
    { "[::1]:0", NULL, -ERANGE, 0, NULL, NULL, NULL },
    { "127.0.0.1:abc", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "127.0.0.1:", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "127.0.0.1:+80", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "127.0.0.1:-80", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "127.0.0.1:80x", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "[::1]:", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "127.0.0.1", "0", -ERANGE, 0, NULL, NULL, NULL },
    /* bare IPv6 is ambiguous */
    { "::1", "10809", -EINVAL, 0, NULL, NULL, NULL },
    { "::1:10809", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "fe80::1", "10809", -EINVAL, 0, NULL, NULL, NULL },
    /* brackets are for IPv6 only, and must be closed and followed by :PORT */
    { "[1.2.3.4]:80", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "[localhost]:80", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "[::1", "1", -EINVAL, 0, NULL, NULL, NULL },
    { "[]:80", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "[::1]80", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "[::1]x:80", NULL, -EINVAL, 0, NULL, NULL, NULL },
    /* no port and no default; empty */
    { "127.0.0.1", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "[::1]", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "", "10809", -EINVAL, 0, NULL, NULL, NULL },
    /* hosts with characters no address has */
    { "a b:80", NULL, -EINVAL, 0, NULL, NULL, NULL },
    { "10.0.0.0/8:80", NULL, -EINVAL, 0, NULL, NULL, NULL },
    /* empty Unix path */
    { "unix:", NULL, -EINVAL, 0, NULL, NULL, NULL },
};

START_TEST(test_listen_addr_accepts_v4_v6_port_only_and_unix)
{
    struct parse_addr a;
    const char *dflt = addr_cases[_i].dflt;
    int r;

    memset(&a, 0x55, sizeof a);
    r = parse_listen_addr(addr_cases[_i].s, dflt, &a);
    ck_assert_msg(r == addr_cases[_i].r,
                  "parse_listen_addr(\"%s\", %s) returned %d, expected %d",
                  addr_cases[_i].s, dflt ? dflt : "NULL", r, addr_cases[_i].r);
    if (r != 0) {
        return;
    }
    ck_assert_int_eq(a.kind, addr_cases[_i].kind);
    if (a.kind == PARSE_ADDR_TCP) {
        ck_assert_str_eq(a.host, addr_cases[_i].host);
        ck_assert_str_eq(a.port, addr_cases[_i].port);
    } else {
        ck_assert_str_eq(a.path, addr_cases[_i].path);
    }
}
END_TEST

START_TEST(test_listen_addr_refuses_overlong_unix_path_and_host)
{
    struct parse_addr a;
    char s[512];
    char fill[400];

    memset(fill, 'p', sizeof fill);

    /* sun_path holds 107 bytes and a NUL. */
    snprintf(s, sizeof s, "unix:/%.*s", 106, fill);
    ck_assert_int_eq(parse_listen_addr(s, NULL, &a), 0);
    ck_assert_uint_eq(strlen(a.path), 107);
    snprintf(s, sizeof s, "unix:/%.*s", 107, fill);
    ck_assert_int_eq(parse_listen_addr(s, NULL, &a), -ERANGE);

    /* host holds 255 bytes and a NUL. */
    snprintf(s, sizeof s, "%.*s:80", 255, fill);
    ck_assert_int_eq(parse_listen_addr(s, NULL, &a), 0);
    ck_assert_uint_eq(strlen(a.host), 255);
    snprintf(s, sizeof s, "%.*s:80", 256, fill);
    ck_assert_int_eq(parse_listen_addr(s, NULL, &a), -ERANGE);
}
END_TEST

START_TEST(test_listen_addr_unix_has_no_host_or_port)
{
    struct parse_addr a;

    memset(&a, 0x55, sizeof a);
    ck_assert_int_eq(parse_listen_addr("unix:/run/x.sock", "10809", &a), 0);
    ck_assert_int_eq(a.kind, PARSE_ADDR_UNIX);
    ck_assert_str_eq(a.host, "");
    ck_assert_str_eq(a.port, "");

    memset(&a, 0x55, sizeof a);
    ck_assert_int_eq(parse_listen_addr("[::1]:1", NULL, &a), 0);
    ck_assert_str_eq(a.path, "");
}
END_TEST

/* --- parse_format_size --------------------------------------------- */

static const struct {
    uint64_t v;
    const char *s;
} format_cases[] = {
    { 0, "0" },
    { 1, "1" },
    { 1000, "1000" },
    { 1023, "1023" },
    { 1024, "1K" },
    { 1536, "1536" },
    { 512 * 1024, "512K" },
    { UINT64_C(1) << 20, "1M" },
    { UINT64_C(1) << 30, "1G" },
    { UINT64_C(3) << 30, "3G" },
    { (UINT64_C(1) << 30) + 1024, "1048577K" },
    { UINT64_C(1) << 40, "1T" },
    { UINT64_C(1) << 50, "1P" },
    { UINT64_C(1) << 60, "1E" },
    { UINT64_C(4) << 60, "4E" },
    { UINT64_C(1) << 63, "8E" },
    { UINT64_MAX, "18446744073709551615" },
};

START_TEST(test_format_size_uses_largest_exact_suffix)
{
    char buf[32];

    memset(buf, 'x', sizeof buf);
    parse_format_size(format_cases[_i].v, buf, sizeof buf);
    ck_assert_str_eq(buf, format_cases[_i].s);
}
END_TEST

START_TEST(test_format_size_round_trips_through_parse_size)
{
    for (int i = 0; i < N(format_cases); i++) {
        char buf[32];
        uint64_t back = 0;

        parse_format_size(format_cases[i].v, buf, sizeof buf);
        ck_assert_msg(parse_size(buf, &back) == 0, "parse_size(\"%s\")", buf);
        ck_assert_msg(back == format_cases[i].v, "%" PRIu64 " -> \"%s\" -> %"
                      PRIu64, format_cases[i].v, buf, back);
    }
}
END_TEST

START_TEST(test_format_size_truncates_to_buffer)
{
    char buf[3];

    parse_format_size(UINT64_C(1) << 30, buf, sizeof buf);
    ck_assert_str_eq(buf, "1G");
    parse_format_size(123456, buf, sizeof buf);
    ck_assert_str_eq(buf, "12");
}
END_TEST

/* --- parse_edit_distance ------------------------------------------- */

static const struct {
    const char *a, *b;
    size_t d;
} distance_cases[] = {
    { "", "", 0 },
    { "abc", "", 3 },
    { "", "abc", 3 },
    { "same", "same", 0 },
    { "kitten", "sitting", 3 },
    { "flaw", "lawn", 2 },
    { "iothred", "iothreads", 2 },
    { "weigth", "weight", 2 },
    { "bakend", "backend", 1 },
    { "servr", "server", 1 },
    { "max_ns", "max-ns", 1 },
    { "abc", "xyz", 3 },
};

START_TEST(test_edit_distance_is_levenshtein_and_symmetric)
{
    const char *a = distance_cases[_i].a, *b = distance_cases[_i].b;

    ck_assert_msg(parse_edit_distance(a, b) == distance_cases[_i].d,
                  "distance(\"%s\", \"%s\") = %zu, expected %zu", a, b,
                  parse_edit_distance(a, b), distance_cases[_i].d);
    ck_assert_uint_eq(parse_edit_distance(b, a), distance_cases[_i].d);
}
END_TEST

START_TEST(test_edit_distance_of_long_strings_is_far)
{
    char s63[64], s64[65];

    memset(s63, 'a', 63);
    s63[63] = '\0';
    memset(s64, 'a', 64);
    s64[64] = '\0';
    ck_assert_uint_eq(parse_edit_distance(s63, s63), 0);
    ck_assert_uint_eq(parse_edit_distance(s63, "a"), 62);
    ck_assert_uint_eq(parse_edit_distance(s64, "a"), SIZE_MAX);
    ck_assert_uint_eq(parse_edit_distance("a", s64), SIZE_MAX);
    ck_assert_uint_eq(parse_edit_distance(s64, s64), SIZE_MAX);
}
END_TEST

/* --- The suite ------------------------------------------------------ */

static Suite *
parse_suite(void)
{
    Suite *s = suite_create("parse");
    TCase *tc;

    tc = tcase_create("numbers");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_loop_test(tc, test_int64_parses_whole_numbers_strictly, 0,
                        N(int64_cases));
    tcase_add_loop_test(tc, test_size_accepts_binary_suffixes_and_refuses_garbage,
                        0, N(size_cases));
    tcase_add_loop_test(tc, test_bool_accepts_each_spelling_in_any_case, 0,
                        N(bool_cases));
    tcase_add_loop_test(tc, test_mode_is_octal_up_to_07777, 0, N(mode_cases));
    tcase_add_loop_test(tc, test_duration_units_and_bare_number_in_given_unit, 0,
                        N(duration_cases));
    suite_add_tcase(s, tc);

    tc = tcase_create("lists");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_loop_test(tc,
                        test_list_splits_on_commas_and_spaces_skipping_empty_items,
                        0, N(list_cases));
    tcase_add_test(tc, test_list_items_are_copies_of_the_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("listen");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_loop_test(tc, test_listen_addr_accepts_v4_v6_port_only_and_unix, 0,
                        N(addr_cases));
    tcase_add_test(tc, test_listen_addr_refuses_overlong_unix_path_and_host);
    tcase_add_test(tc, test_listen_addr_unix_has_no_host_or_port);
    suite_add_tcase(s, tc);

    tc = tcase_create("format");
    tcase_set_timeout(tc, TEST_TIMEOUT);
    tcase_add_loop_test(tc, test_format_size_uses_largest_exact_suffix, 0,
                        N(format_cases));
    tcase_add_test(tc, test_format_size_round_trips_through_parse_size);
    tcase_add_test(tc, test_format_size_truncates_to_buffer);
    tcase_add_loop_test(tc, test_edit_distance_is_levenshtein_and_symmetric, 0,
                        N(distance_cases));
    tcase_add_test(tc, test_edit_distance_of_long_strings_is_far);
    suite_add_tcase(s, tc);

    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(parse_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
