/* SPDX-License-Identifier: MIT */
/*
 * pingpong: what each poll policy buys, measured on the real loop.
 *
 * One I/O thread (the same aio_ctx and policies polltgtd runs) echoes small
 * messages on socketpairs.  Client threads ping-pong through it and we
 * report round-trip latency (p50, p99) and the I/O thread's CPU time per
 * message, for two workloads:
 *   steady  one client ping-ponging back to back;
 *   mixed   the same client plus eight clients that send one message every
 *           50 ms each: the case the weighted policy targets, where
 *           briefly-active handlers should not hold the loop polling.
 * Policies run alternately, round after round, so drift in the machine
 * affects them alike; the table shows medians over rounds and the spread.
 *
 * Server and clients are pinned to different CPUs (-s, -c) because on a
 * 2-core machine a client sharing the server's core measures the scheduler,
 * not the loop.  This is a benchmark, not a test: nothing here asserts.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aio/aio.h"
#include "iothread.h"
#include "log.h"
#include "policy/policy.h"
#include "util/clock.h"

#define MSG_SIZE 64
#define MAX_CLIENTS 16
#define IDLE_CLIENTS 8
#define IDLE_INTERVAL_NS (50 * NS_PER_MS)

struct echo {
    int fd; /* server end */
    struct aio_handler *h;
};

static bool
echo_poll(void *opaque)
{
    struct echo *e = opaque;
    char c;

    return recv(e->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static void
echo_read(void *opaque)
{
    struct echo *e = opaque;
    char buf[MSG_SIZE * 4];
    ssize_t n = recv(e->fd, buf, sizeof buf, MSG_DONTWAIT);

    if (n > 0 && send(e->fd, buf, (size_t)n, MSG_DONTWAIT) < 0) {
        perror("send");
    }
}

static const struct aio_handler_ops echo_ops = {
    .read = echo_read,
    .poll = echo_poll,
    .name = "echo",
};

struct setup_msg {
    struct iothread *t;
    struct echo *e;
    bool add;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    int64_t cpu_ns;
};

static void
setup_on_thread(void *opaque)
{
    struct setup_msg *m = opaque;

    if (m->e) {
        if (m->add) {
            m->e->h = aio_handler_add(iothread_ctx(m->t), m->e->fd, &echo_ops,
                                      m->e);
            if (m->e->h == NULL) {
                perror("aio_handler_add");
                exit(1);
            }
        } else {
            aio_handler_del(m->e->h);
        }
    }
    m->cpu_ns = clock_thread_cpu_ns();
    pthread_mutex_lock(&m->lock);
    m->done = true;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

/* Run a setup step on the I/O thread and wait; returns its CPU time. */
static int64_t
on_thread(struct iothread *t, struct echo *e, bool add)
{
    struct setup_msg m = { .t = t, .e = e, .add = add };

    pthread_mutex_init(&m.lock, NULL);
    pthread_cond_init(&m.cond, NULL);
    if (iothread_run(t, setup_on_thread, &m) < 0) {
        abort();
    }
    pthread_mutex_lock(&m.lock);
    while (!m.done) {
        pthread_cond_wait(&m.cond, &m.lock);
    }
    pthread_mutex_unlock(&m.lock);
    pthread_mutex_destroy(&m.lock);
    pthread_cond_destroy(&m.cond);
    return m.cpu_ns;
}

static void
pin(int cpu)
{
    cpu_set_t set;

    if (cpu < 0) {
        return;
    }
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void
roundtrip(int fd)
{
    char buf[MSG_SIZE] = { 1 };
    size_t got = 0;

    if (send(fd, buf, sizeof buf, 0) != sizeof buf) {
        perror("client send");
        exit(1);
    }
    while (got < sizeof buf) {
        ssize_t n = recv(fd, buf, sizeof buf - got, 0);

        if (n <= 0) {
            perror("client recv");
            exit(1);
        }
        got += (size_t)n;
    }
}

struct idle_clients {
    int fds[IDLE_CLIENTS];
    int cpu;
    _Atomic bool stop;
    uint64_t messages;
};

/* Eight clients, each sending every 50 ms, staggered across the period. */
static void *
idle_main(void *opaque)
{
    struct idle_clients *ic = opaque;
    int64_t next = clock_now_ns();
    int i = 0;

    pin(ic->cpu);
    while (!atomic_load(&ic->stop)) {
        struct timespec ts;

        next += IDLE_INTERVAL_NS / IDLE_CLIENTS;
        ts.tv_sec = next / NS_PER_SEC;
        ts.tv_nsec = next % NS_PER_SEC;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        roundtrip(ic->fds[i]);
        ic->messages++;
        i = (i + 1) % IDLE_CLIENTS;
    }
    return NULL;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

struct result {
    double p50_us, p99_us, cpu_us_per_msg, msgs_per_s;
};

static int64_t bench_max_ns = -1; /* -m: max-ns for the adaptive policies */

static struct result
run_one(const struct policy_ops *policy, bool mixed, int messages,
        int server_cpu, int client_cpu)
{
    struct poll_params params;
    struct iothread *t;
    struct echo echos[1 + IDLE_CLIENTS];
    int client_fds[1 + IDLE_CLIENTS];
    int nclients = mixed ? 1 + IDLE_CLIENTS : 1;
    struct idle_clients ic = { .cpu = client_cpu };
    pthread_t idle_thread;
    int64_t *lat = malloc((size_t)messages * sizeof *lat);
    int64_t cpu0, cpu1, t0, t1;
    struct result res;

    policy_params_default(&params);
    params.policy = policy;
    if (bench_max_ns >= 0) {
        params.max_ns = bench_max_ns;
    }
    if (iothread_start(&t, 0, &params, server_cpu) < 0) {
        exit(1);
    }
    for (int i = 0; i < nclients; i++) {
        int sv[2];

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
            perror("socketpair");
            exit(1);
        }
        echos[i].fd = sv[0];
        client_fds[i] = sv[1];
        on_thread(t, &echos[i], true);
    }
    pin(client_cpu);
    if (mixed) {
        memcpy(ic.fds, client_fds + 1, sizeof ic.fds);
        pthread_create(&idle_thread, NULL, idle_main, &ic);
    }
    for (int i = 0; i < messages / 10; i++) {
        roundtrip(client_fds[0]); /* warm up: let the window settle */
    }
    cpu0 = on_thread(t, NULL, false);
    t0 = clock_now_ns();
    for (int i = 0; i < messages; i++) {
        int64_t s = clock_now_ns();

        roundtrip(client_fds[0]);
        lat[i] = clock_now_ns() - s;
    }
    t1 = clock_now_ns();
    cpu1 = on_thread(t, NULL, false);
    if (mixed) {
        atomic_store(&ic.stop, true);
        pthread_join(idle_thread, NULL);
    }
    for (int i = 0; i < nclients; i++) {
        on_thread(t, &echos[i], false);
        close(echos[i].fd);
        close(client_fds[i]);
    }
    iothread_stop(t);

    qsort(lat, (size_t)messages, sizeof *lat, cmp_i64);
    res.p50_us = (double)lat[messages / 2] / 1e3;
    res.p99_us = (double)lat[messages * 99 / 100] / 1e3;
    /* CPU per message of the measured client (idle clients' messages are
     * a rounding error: 160 per second). */
    res.cpu_us_per_msg = (double)(cpu1 - cpu0) / 1e3 / messages;
    res.msgs_per_s = messages / ((double)(t1 - t0) / 1e9);
    free(lat);
    return res;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
spread(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n - 1] - v[0];
}

int
main(int argc, char **argv)
{
    int rounds = 5, messages = 20000, server_cpu = 0, client_cpu = 1;
    const char *only = NULL;
    int c;

    log_set_level(LOG_LEVEL_WARN);
    while ((c = getopt(argc, argv, "r:n:s:c:p:m:h")) != -1) {
        switch (c) {
        case 'r': rounds = atoi(optarg); break;
        case 'n': messages = atoi(optarg); break;
        case 's': server_cpu = atoi(optarg); break;
        case 'c': client_cpu = atoi(optarg); break;
        case 'p': only = optarg; break;
        case 'm': bench_max_ns = atoll(optarg); break;
        default:
            fprintf(stderr,
                    "usage: pingpong [-r ROUNDS] [-n MESSAGES] [-s SERVER_CPU] "
                    "[-c CLIENT_CPU] [-p POLICY] [-m MAX_NS]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (rounds < 1 || messages < 100) {
        fprintf(stderr, "pingpong: need -r >= 1 and -n >= 100\n");
        return 2;
    }

    size_t np = 0;
    char max_ns_text[32] = "auto (the built-in default)";

    if (bench_max_ns >= 0) {
        snprintf(max_ns_text, sizeof max_ns_text, "%lld",
                 (long long)bench_max_ns);
    }
    while (policy_table[np]) {
        np++;
    }
    printf("pingpong: %d-byte messages over AF_UNIX socketpairs, %d messages "
           "x %d rounds, I/O thread on CPU %d, clients on CPU %d, max-ns %s\n",
           MSG_SIZE, messages, rounds, server_cpu, client_cpu, max_ns_text);
    fflush(stdout);
    printf("%-7s %-12s %10s %10s %12s %12s %10s\n", "load", "policy",
           "p50 us", "p99 us", "cpu us/msg", "msgs/s", "p50 spread");
    for (int mixed = 0; mixed <= 1; mixed++) {
        double p50[8][64], p99[8][64], cpu[8][64], rate[8][64];

        for (int r = 0; r < rounds && r < 64; r++) {
            for (size_t p = 0; p < np; p++) {
                if (only && strcmp(only, policy_table[p]->name) != 0) {
                    continue;
                }
                struct result res = run_one(policy_table[p], mixed, messages,
                                            server_cpu, client_cpu);
                p50[p][r] = res.p50_us;
                p99[p][r] = res.p99_us;
                cpu[p][r] = res.cpu_us_per_msg;
                rate[p][r] = res.msgs_per_s;
            }
        }
        for (size_t p = 0; p < np; p++) {
            if (only && strcmp(only, policy_table[p]->name) != 0) {
                continue;
            }
            double sp = spread(p50[p], rounds);
            printf("%-7s %-12s %10.1f %10.1f %12.2f %12.0f %10.1f\n",
                   mixed ? "mixed" : "steady", policy_table[p]->name,
                   median(p50[p], rounds), median(p99[p], rounds),
                   median(cpu[p], rounds), median(rate[p], rounds), sp);
        }
    }
    return 0;
}
