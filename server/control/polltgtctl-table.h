/* SPDX-License-Identifier: MIT */
/*
 * polltgtctl's text output: aligned tables and human units.  A table
 * collects every cell first and prints once, so each column is as wide as
 * its widest cell; widths count characters, not bytes, because "µs" is
 * two bytes and one column.  Numbers are right-aligned and text
 * left-aligned, as ps(1) and top(1) do.
 */
#ifndef POLLTGT_CONTROL_POLLTGTCTL_TABLE_H
#define POLLTGT_CONTROL_POLLTGTCTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/compiler.h"

struct ctl_table {
    unsigned ncols;
    const char *const *heads; /* ncols column titles */
    const char *align;        /* ncols letters: 'l' or 'r' */
    char **cells;             /* row-major, ncells of them */
    size_t ncells, cap;
    bool failed;              /* out of memory: print says so */
};

void ctl_table_init(struct ctl_table *t, unsigned ncols,
                    const char *const *heads, const char *align)
    ATTR_NONNULL(1, 3, 4);
/* Append the next cell (rows fill left to right). */
void ctl_table_cell(struct ctl_table *t, const char *fmt, ...)
    ATTR_NONNULL(1, 2) ATTR_FORMAT(2, 3);
/* Print the titles and rows; returns 0 or -ENOMEM. */
int ctl_table_print(const struct ctl_table *t, FILE *fp) ATTR_NONNULL(1, 2);
void ctl_table_free(struct ctl_table *t) ATTR_NONNULL(1);

/* The size of the buffers the ctl_fmt_ functions write into. */
#define CTL_FMT_LEN 32

/* Use "µs" (true) or "us" (false, for terminals that are not UTF-8). */
void ctl_fmt_set_utf8(bool utf8);
/* A duration: "0", "850ns", "12.3µs", "4.56ms", "1.23s", "2m03s". */
const char *ctl_fmt_ns(char *buf, double ns) ATTR_NONNULL(1);
/* A size in bytes: "512B", "4.00KiB", "1.00GiB". */
const char *ctl_fmt_bytes(char *buf, double bytes) ATTR_NONNULL(1);
/* A count: exact below 100000, then "123k", "4.56M", "7.89G". */
const char *ctl_fmt_count(char *buf, double n) ATTR_NONNULL(1);
/* A fraction as a percentage: "97.3%". */
const char *ctl_fmt_pct(char *buf, double fraction) ATTR_NONNULL(1);
/* An age in seconds: "12s", "3m04s", "2h05m", "3d04h". */
const char *ctl_fmt_age(char *buf, double s) ATTR_NONNULL(1);

#endif /* POLLTGT_CONTROL_POLLTGTCTL_TABLE_H */
