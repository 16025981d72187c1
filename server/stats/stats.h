/* SPDX-License-Identifier: MIT */
/*
 * I/O statistics of exports and connections: operations, bytes, errors,
 * requests in flight and latency histograms per operation.
 *
 * Every struct stats_io has exactly one writer thread: a connection's own
 * counters are written by its I/O thread, and an export keeps one struct
 * per I/O thread (export->stats[thread id]).  So the data path updates
 * them with a relaxed load and store, no read-modify-write and no lock,
 * and a reader on another thread sums them with relaxed loads: counters
 * are monotonic and never torn, though a snapshot is not atomic across
 * fields.
 */
#ifndef POLLTGT_STATS_STATS_H
#define POLLTGT_STATS_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

enum stats_op {
    STATS_OP_READ,
    STATS_OP_WRITE,
    STATS_OP_FLUSH,
    STATS_OP_TRIM,
    STATS_OP_ZERO,
    STATS_OP_BLOCK_STATUS,
    STATS_OP_CACHE,
    STATS_NOPS,
};

/* Latency buckets: bucket k counts latencies in [2^(k-1), 2^k) µs, bucket
 * 0 those under 1 µs; the last is everything from 2^(N-2) µs up. */
#define STATS_LAT_BUCKETS 24

struct stats_io {
    _Atomic uint64_t ops[STATS_NOPS];
    _Atomic uint64_t errors[STATS_NOPS];
    _Atomic uint64_t bytes_read;
    _Atomic uint64_t bytes_written;
    _Atomic int64_t inflight;
    _Atomic uint64_t lat_sum_ns[STATS_NOPS];
    _Atomic uint64_t lat_hist[STATS_NOPS][STATS_LAT_BUCKETS];
};

/* A plain copy, for formatting and summing. */
struct stats_io_snapshot {
    uint64_t ops[STATS_NOPS];
    uint64_t errors[STATS_NOPS];
    uint64_t bytes_read, bytes_written;
    int64_t inflight;
    uint64_t lat_sum_ns[STATS_NOPS];
    uint64_t lat_hist[STATS_NOPS][STATS_LAT_BUCKETS];
};

#define STATS_RELAXED_ADD(field, v)                                        \
    atomic_store_explicit(&(field),                                        \
        atomic_load_explicit(&(field), memory_order_relaxed) + (v),        \
        memory_order_relaxed)

/* The bucket of a latency (ns). */
static inline unsigned
stats_lat_bucket(int64_t ns)
{
    uint64_t us = ns > 0 ? (uint64_t)ns / 1000 : 0;
    unsigned b = us ? 64 - (unsigned)__builtin_clzll(us) : 0;

    return b < STATS_LAT_BUCKETS ? b : STATS_LAT_BUCKETS - 1;
}

/* A request was received (single writer). */
static inline void
stats_io_start(struct stats_io *s)
{
    STATS_RELAXED_ADD(s->inflight, 1);
}

/* A request finished: err is 0 or -errno, lat_ns its latency. */
static inline void
stats_io_done(struct stats_io *s, enum stats_op op, uint64_t bytes, int err,
              int64_t lat_ns)
{
    STATS_RELAXED_ADD(s->inflight, -1);
    STATS_RELAXED_ADD(s->ops[op], 1);
    if (err < 0) {
        STATS_RELAXED_ADD(s->errors[op], 1);
        return;
    }
    if (op == STATS_OP_READ) {
        STATS_RELAXED_ADD(s->bytes_read, bytes);
    } else if (op == STATS_OP_WRITE) {
        STATS_RELAXED_ADD(s->bytes_written, bytes);
    }
    if (lat_ns > 0) {
        STATS_RELAXED_ADD(s->lat_sum_ns[op], (uint64_t)lat_ns);
    }
    STATS_RELAXED_ADD(s->lat_hist[op][stats_lat_bucket(lat_ns)], 1);
}

/* Add the counters of s to out (any thread). */
void stats_io_accumulate(const struct stats_io *s, struct stats_io_snapshot *out)
    ATTR_NONNULL(1, 2);

const char *stats_op_name(enum stats_op op);

/* Upper bound of latency bucket b in seconds (+Inf for the last). */
double stats_lat_bucket_le(unsigned b);

#endif /* POLLTGT_STATS_STATS_H */
