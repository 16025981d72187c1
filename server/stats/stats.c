/* SPDX-License-Identifier: MIT */
/* See stats.h. */
#include <config.h>

#include <math.h>

#include "stats/stats.h"

void
stats_io_accumulate(const struct stats_io *s, struct stats_io_snapshot *out)
{
    for (int op = 0; op < STATS_NOPS; op++) {
        out->ops[op] += atomic_load_explicit(&s->ops[op], memory_order_relaxed);
        out->errors[op] +=
            atomic_load_explicit(&s->errors[op], memory_order_relaxed);
        out->lat_sum_ns[op] +=
            atomic_load_explicit(&s->lat_sum_ns[op], memory_order_relaxed);
        for (int b = 0; b < STATS_LAT_BUCKETS; b++) {
            out->lat_hist[op][b] +=
                atomic_load_explicit(&s->lat_hist[op][b], memory_order_relaxed);
        }
    }
    out->bytes_read += atomic_load_explicit(&s->bytes_read, memory_order_relaxed);
    out->bytes_written +=
        atomic_load_explicit(&s->bytes_written, memory_order_relaxed);
    out->inflight += atomic_load_explicit(&s->inflight, memory_order_relaxed);
}

const char *
stats_op_name(enum stats_op op)
{
    static const char *const names[STATS_NOPS] = {
        [STATS_OP_READ] = "read",
        [STATS_OP_WRITE] = "write",
        [STATS_OP_FLUSH] = "flush",
        [STATS_OP_TRIM] = "trim",
        [STATS_OP_ZERO] = "zero",
        [STATS_OP_BLOCK_STATUS] = "block_status",
        [STATS_OP_CACHE] = "cache",
    };

    return (unsigned)op < STATS_NOPS ? names[op] : "?";
}

double
stats_lat_bucket_le(unsigned b)
{
    if (b + 1 >= STATS_LAT_BUCKETS) {
        return INFINITY;
    }
    return ldexp(1.0, (int)b) * 1e-6; /* bucket b ends at 2^b us */
}
