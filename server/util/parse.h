/* SPDX-License-Identifier: MIT */
/*
 * Typed values as operators write them in polltgt.ini and in the status
 * socket's `set` command: integers, sizes with binary suffixes, durations
 * with units, booleans, lists and listen addresses.  Pure functions: they
 * return 0 or a negative errno (-EINVAL malformed, -ERANGE out of range)
 * and never log; the caller names the file, line and key.  Each kind has an
 * *_ACCEPTS string for "what is accepted" in error messages.
 */
#ifndef POLLTGT_UTIL_PARSE_H
#define POLLTGT_UTIL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

#define PARSE_INT_ACCEPTS "a whole number"
#define PARSE_SIZE_ACCEPTS \
    "a size in bytes with an optional suffix K, M, G, T, P, E (powers of 1024), e.g. 512K or 1G"
#define PARSE_BOOL_ACCEPTS "yes/no, true/false, on/off or 1/0"
#define PARSE_DURATION_ACCEPTS \
    "a duration: a number with an optional unit ns, us, ms, s, m or h"
#define PARSE_LISTEN_ACCEPTS \
    "HOST:PORT, [IPv6]:PORT or unix:PATH, e.g. 127.0.0.1:10809, [::1]:10809, unix:/run/polltgt.sock"
#define PARSE_MODE_ACCEPTS "an octal file mode such as 0600"

int parse_int64(const char *s, int64_t *out) ATTR_NONNULL(1, 2);
/* The value of one hex digit (either case), or -1 (CHAP values, PSK keys). */
static inline int
parse_hex_digit(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}
int parse_size(const char *s, uint64_t *out) ATTR_NONNULL(1, 2);
int parse_bool(const char *s, bool *out) ATTR_NONNULL(1, 2);
/* Octal permission bits, at most 07777. */
int parse_mode(const char *s, unsigned *out) ATTR_NONNULL(1, 2);

/*
 * A duration.  A bare number is in unit_ns (so `max-ns = 32768` is
 * nanoseconds and `idle-timeout-ms = 7000` is milliseconds); a suffix
 * overrides it.  The result is in nanoseconds.
 */
int parse_duration(const char *s, int64_t unit_ns, int64_t *out_ns)
    ATTR_NONNULL(1, 3);

/*
 * Split a list separated by commas and/or white space into a NULL-terminated
 * array of strings (one allocation; free the array with free()).  Empty
 * items are skipped.  Returns the number of items or -ENOMEM.
 */
int parse_list(const char *s, char ***out) ATTR_NONNULL(1, 2);

enum parse_addr_kind {
    PARSE_ADDR_TCP,
    PARSE_ADDR_UNIX,
};

struct parse_addr {
    enum parse_addr_kind kind;
    char host[256]; /* TCP: address or name, without brackets */
    char port[8];   /* TCP: 1..65535 */
    char path[108]; /* Unix: sun_path */
};

/* A listen address: HOST:PORT, [V6]:PORT, :PORT (every address) or
 * unix:PATH.  default_port is used when the port is left out. */
int parse_listen_addr(const char *s, const char *default_port,
                      struct parse_addr *out) ATTR_NONNULL(1, 3);

/* Format a size for people: "1G", "512K", "1000" (exact when possible). */
void parse_format_size(uint64_t v, char *buf, size_t len) ATTR_NONNULL(2);

/* Edit distance, for "did you mean" suggestions. */
size_t parse_edit_distance(const char *a, const char *b) ATTR_NONNULL(1, 2);

#endif /* POLLTGT_UTIL_PARSE_H */
