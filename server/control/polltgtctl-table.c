/* SPDX-License-Identifier: MIT */
/*
 * polltgtctl's tables and units (see polltgtctl-table.h).  Units keep
 * three significant digits: enough to compare two threads at a glance,
 * few enough that columns stay narrow.  The exact values are in
 * `polltgtctl stats --json`.
 */
#include <config.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/polltgtctl-table.h"

/* Columns are separated by two spaces, as in ps(1). */
#define CTL_TABLE_GAP 2

static const char *ctl_fmt_micro = "us";

void
ctl_table_init(struct ctl_table *t, unsigned ncols, const char *const *heads,
               const char *align)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->heads = heads;
    t->align = align;
}

void
ctl_table_cell(struct ctl_table *t, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    if (t->failed) {
        return;
    }
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **cells = realloc(t->cells, cap * sizeof *cells);

        if (cells == NULL) {
            t->failed = true;
            return;
        }
        t->cells = cells;
        t->cap = cap;
    }
    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = true;
        return;
    }
    t->cells[t->ncells++] = s;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t
ctl_table_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++) {
        w += ((unsigned char)*s & 0xc0) != 0x80;
    }
    return w;
}

static void
ctl_table_row(const struct ctl_table *t, const char *const *row,
              const size_t *widths, FILE *fp)
{
    unsigned last = t->ncols - 1;

    for (unsigned c = 0; c < t->ncols; c++) {
        const char *s = row[c] ? row[c] : "";
        size_t pad = widths[c] - ctl_table_width(s);

        if (c) {
            fprintf(fp, "%*s", CTL_TABLE_GAP, "");
        }
        if (t->align[c] == 'r') {
            fprintf(fp, "%*s%s", (int)pad, "", s);
        } else if (c == last) {
            fputs(s, fp); /* no trailing blanks */
        } else {
            fprintf(fp, "%s%*s", s, (int)pad, "");
        }
    }
    fputc('\n', fp);
}

int
ctl_table_print(const struct ctl_table *t, FILE *fp)
{
    size_t nrows = t->ncells / t->ncols;
    size_t *widths;

    if (t->failed) {
        return -ENOMEM;
    }
    widths = calloc(t->ncols, sizeof *widths);
    if (widths == NULL) {
        return -ENOMEM;
    }
    for (unsigned c = 0; c < t->ncols; c++) {
        widths[c] = ctl_table_width(t->heads[c]);
        for (size_t r = 0; r < nrows; r++) {
            size_t w = ctl_table_width(t->cells[r * t->ncols + c]);

            widths[c] = w > widths[c] ? w : widths[c];
        }
    }
    ctl_table_row(t, t->heads, widths, fp);
    for (size_t r = 0; r < nrows; r++) {
        ctl_table_row(t, (const char *const *)&t->cells[r * t->ncols], widths,
                      fp);
    }
    free(widths);
    return 0;
}

void
ctl_table_free(struct ctl_table *t)
{
    for (size_t i = 0; i < t->ncells; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
    memset(t, 0, sizeof *t);
}

void
ctl_fmt_set_utf8(bool utf8)
{
    ctl_fmt_micro = utf8 ? "\xc2\xb5s" : "us";
}

/* v (>= 1) with three significant digits and a unit. */
static const char *
ctl_fmt_sig3(char *buf, double v, const char *unit)
{
    if (v < 9.995) {
        snprintf(buf, CTL_FMT_LEN, "%.2f%s", v, unit);
    } else if (v < 99.95) {
        snprintf(buf, CTL_FMT_LEN, "%.1f%s", v, unit);
    } else {
        snprintf(buf, CTL_FMT_LEN, "%.0f%s", v, unit);
    }
    return buf;
}

const char *
ctl_fmt_age(char *buf, double s)
{
    unsigned long long t = s > 0 && isfinite(s) ? (unsigned long long)s : 0;

    if (t < 60) {
        snprintf(buf, CTL_FMT_LEN, "%llus", t);
    } else if (t < 3600) {
        snprintf(buf, CTL_FMT_LEN, "%llum%02llus", t / 60, t % 60);
    } else if (t < 86400) {
        snprintf(buf, CTL_FMT_LEN, "%lluh%02llum", t / 3600, t / 60 % 60);
    } else {
        snprintf(buf, CTL_FMT_LEN, "%llud%02lluh", t / 86400, t / 3600 % 24);
    }
    return buf;
}

const char *
ctl_fmt_ns(char *buf, double ns)
{
    if (!isfinite(ns)) {
        snprintf(buf, CTL_FMT_LEN, "%s", ns > 0 ? "inf" : "-");
    } else if (ns <= 0) {
        snprintf(buf, CTL_FMT_LEN, "0");
    } else if (ns < 999.5) {
        snprintf(buf, CTL_FMT_LEN, "%.0fns", ns);
    } else if (ns < 999.5e3) {
        ctl_fmt_sig3(buf, ns / 1e3, ctl_fmt_micro);
    } else if (ns < 999.5e6) {
        ctl_fmt_sig3(buf, ns / 1e6, "ms");
    } else if (ns < 59.995e9) {
        ctl_fmt_sig3(buf, ns / 1e9, "s");
    } else {
        ctl_fmt_age(buf, ns / 1e9);
    }
    return buf;
}

const char *
ctl_fmt_bytes(char *buf, double bytes)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
    unsigned u = 0;

    if (!(bytes >= 1024)) {
        snprintf(buf, CTL_FMT_LEN, "%.0fB", bytes > 0 ? bytes : 0);
        return buf;
    }
    bytes /= 1024;
    while (bytes >= 1023.5 && u + 1 < sizeof units / sizeof units[0]) {
        bytes /= 1024;
        u++;
    }
    return ctl_fmt_sig3(buf, bytes, units[u]);
}

const char *
ctl_fmt_count(char *buf, double n)
{
    static const char *const units[] = { "k", "M", "G", "T", "P" };
    unsigned u = 0;

    if (!(n >= 100000)) {
        snprintf(buf, CTL_FMT_LEN, "%.0f", n > 0 ? n : 0);
        return buf;
    }
    n /= 1000;
    while (n >= 999.5 && u + 1 < sizeof units / sizeof units[0]) {
        n /= 1000;
        u++;
    }
    return ctl_fmt_sig3(buf, n, units[u]);
}

const char *
ctl_fmt_pct(char *buf, double fraction)
{
    if (!isfinite(fraction)) {
        snprintf(buf, CTL_FMT_LEN, "-");
    } else {
        snprintf(buf, CTL_FMT_LEN, "%.1f%%", fraction * 100);
    }
    return buf;
}
