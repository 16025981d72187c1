/* SPDX-License-Identifier: MIT */
/*
 * What blocking costs on this host: the measurement behind `max-ns = auto`.
 *
 * A poll window is worth its CPU only if it saves wake-ups, and what a
 * wake-up costs differs by two orders of magnitude between hosts: a few
 * microseconds on bare metal with shallow C-states, around 100 us in a VM
 * whose idle vCPU halts and must be scheduled back in by the hypervisor.
 * So instead of a fixed window, each I/O thread measures the cost on its
 * own CPU before it serves anything.
 *
 * The method: a waker thread, pinned to another CPU, writes an eventfd at a
 * recorded time; the measuring thread notices the write either from a
 * blocking epoll_wait (the loop's block phase) or while spinning on a
 * non-blocking read (the loop's poll phase), and records when.  The waker
 * pauses before each write, long enough for the measuring thread's CPU to
 * go idle as it does between requests.  The wake-up cost is the median
 * latency blocked minus the median latency spinning: what a blocked loop
 * pays on top of the cross-CPU signal itself.  Both use CLOCK_MONOTONIC,
 * which is one clock across CPUs.
 *
 * The whole measurement takes a few tens of milliseconds and runs before
 * the thread's loop serves clients (at start, and when a reload asks for
 * it), so it never competes with requests for the CPU.
 */
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "aio/aio.h"
#include "util/clock.h"

/* Samples per mode: enough for a stable median, few enough to stay quick. */
#define WAKECOST_SAMPLES 31
/* The waker's pause before each write: the measuring CPU has gone idle
 * (halted, on a VM) well before it, as it has between requests. */
#define WAKECOST_PAUSE_NS (200 * NS_PER_US)
/* Give up on a write nobody noticed after this (a lost wake-up).  Not
 * shorter: on a loaded host the waker can wait tens of milliseconds for
 * its CPU, which makes one slow sample, not a failed measurement; the
 * median shrugs it off, and a real loss costs one second once, at start. */
#define WAKECOST_TIMEOUT_MS 1000

enum wakecost_mode { WAKECOST_BLOCK, WAKECOST_SPIN };

struct wakecost_run {
    int efd;
    int waker_cpu;
    _Atomic int turn;       /* sample the waker may send next */
    _Atomic bool stop;
    int64_t sent_ns[2 * WAKECOST_SAMPLES];
};

static void
wakecost_pause(int64_t ns)
{
    struct timespec ts = { .tv_sec = 0, .tv_nsec = ns };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* The waker: for each sample, wait for its turn, pause, stamp, write. */
static void *
wakecost_waker(void *opaque)
{
    struct wakecost_run *run = opaque;
    uint64_t one = 1;

    if (run->waker_cpu >= 0) {
        cpu_set_t set;

        CPU_ZERO(&set);
        CPU_SET(run->waker_cpu, &set);
        if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) {
            run->waker_cpu = -1; /* a cpuset forbids it: reported as such */
        }
    }
    for (int i = 0; i < 2 * WAKECOST_SAMPLES; i++) {
        while (atomic_load_explicit(&run->turn, memory_order_acquire) < i) {
            if (atomic_load_explicit(&run->stop, memory_order_relaxed)) {
                return NULL;
            }
            sched_yield();
        }
        wakecost_pause(WAKECOST_PAUSE_NS);
        run->sent_ns[i] = clock_now_ns();
        atomic_thread_fence(memory_order_release);
        if (write(run->efd, &one, sizeof one) != sizeof one) {
            return NULL;
        }
    }
    return NULL;
}

static int
wakecost_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static int64_t
wakecost_median(int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, wakecost_cmp);
    return v[n / 2];
}

/* A CPU the waker may use other than the caller's, or -1 (then it runs
 * wherever the scheduler puts it, and the figure is a same-CPU one). */
static int
wakecost_pick_waker_cpu(void)
{
    cpu_set_t set;
    int self = sched_getcpu();
    long ncpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        /* The caller may be pinned: look at the process's CPUs instead. */
        if (CPU_COUNT(&set) <= 1) {
            CPU_ZERO(&set);
            for (int c = 0; c < CPU_SETSIZE && c < ncpus; c++) {
                CPU_SET(c, &set);
            }
        }
        for (int c = 0; c < CPU_SETSIZE; c++) {
            if (c != self && CPU_ISSET(c, &set)) {
                return c;
            }
        }
    }
    return -1;
}

int
aio_wakecost_measure(struct aio_wakecost *out)
{
    struct wakecost_run run;
    struct epoll_event ev = { .events = EPOLLIN };
    int64_t lat[2][WAKECOST_SAMPLES];
    pthread_t waker;
    int epfd, r = 0;
    uint64_t v;

    memset(out, 0, sizeof *out);
    memset(&run, 0, sizeof run);
    run.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (run.efd < 0) {
        return -errno;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, run.efd, &ev) < 0) {
        r = -errno;
        goto out_close;
    }
    run.waker_cpu = wakecost_pick_waker_cpu();
    r = -pthread_create(&waker, NULL, wakecost_waker, &run);
    if (r < 0) {
        goto out_close;
    }
    /* Alternate the modes, so drift of the host affects both alike. */
    for (int i = 0; i < 2 * WAKECOST_SAMPLES; i++) {
        enum wakecost_mode mode = i % 2 ? WAKECOST_SPIN : WAKECOST_BLOCK;
        int64_t deadline = clock_now_ns() + WAKECOST_TIMEOUT_MS * NS_PER_MS;
        int64_t seen;

        atomic_store_explicit(&run.turn, i, memory_order_release);
        if (mode == WAKECOST_BLOCK) {
            int n;

            do {
                n = epoll_wait(epfd, &ev, 1, WAKECOST_TIMEOUT_MS);
            } while (n < 0 && errno == EINTR);
            seen = clock_now_ns();
            if (n != 1) {
                r = n < 0 ? -errno : -ETIMEDOUT;
                break;
            }
        } else {
            while (read(run.efd, &v, sizeof v) != sizeof v) {
                if (clock_now_ns() > deadline) {
                    r = -ETIMEDOUT;
                    break;
                }
            }
            seen = clock_now_ns();
            if (r < 0) {
                break;
            }
        }
        if (mode == WAKECOST_BLOCK && read(run.efd, &v, sizeof v) != sizeof v) {
            r = -EIO;
            break;
        }
        atomic_thread_fence(memory_order_acquire);
        lat[mode][i / 2] = seen - run.sent_ns[i];
    }
    atomic_store_explicit(&run.stop, true, memory_order_relaxed);
    atomic_store_explicit(&run.turn, 2 * WAKECOST_SAMPLES,
                          memory_order_release);
    pthread_join(waker, NULL);
    if (r == 0) {
        out->blocked_ns = wakecost_median(lat[WAKECOST_BLOCK],
                                          WAKECOST_SAMPLES);
        out->spinning_ns = wakecost_median(lat[WAKECOST_SPIN],
                                           WAKECOST_SAMPLES);
        out->cost_ns = out->blocked_ns > out->spinning_ns
                           ? out->blocked_ns - out->spinning_ns
                           : 0;
        out->samples = WAKECOST_SAMPLES;
        out->waker_cpu = run.waker_cpu;
    }

out_close:
    if (epfd >= 0) {
        close(epfd);
    }
    close(run.efd);
    return r;
}
