/* SPDX-License-Identifier: MIT */
/*
 * Monotonic time in nanoseconds.  CLOCK_MONOTONIC is served by the vDSO, so
 * a read costs tens of nanoseconds, not a system call; the poll loop still
 * reads it sparingly (once per batch of poll passes, once per iteration).
 */
#ifndef POLLTGT_UTIL_CLOCK_H
#define POLLTGT_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

#define NS_PER_US  INT64_C(1000)
#define NS_PER_MS  INT64_C(1000000)
#define NS_PER_SEC INT64_C(1000000000)

static inline int64_t
clock_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* CPU time consumed by the calling thread, for the stats. */
static inline int64_t
clock_thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

#endif /* POLLTGT_UTIL_CLOCK_H */
