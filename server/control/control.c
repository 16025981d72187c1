/* SPDX-License-Identifier: MIT */
/*
 * The status socket (see control.h, control-protocol.h).
 *
 * Everything runs on the main thread's libev loop and nothing here blocks:
 * clients are non-blocking, a client that sends nothing costs an idle fd
 * until its idle timeout, a client that does not read its answer only
 * fills its own buffer, and a request longer than CONTROL_MAX_REQUEST is
 * refused and the client disconnected.
 *
 * Statistics that only an I/O thread may read (its handlers, its
 * connections) are collected the way SPDK's framework_get_reactors does:
 * a job visits each I/O thread in turn by message, each thread fills in its
 * part of the report, and the main thread is woken (ev_async) to send the
 * job on to the next thread, or to answer when the last one has replied.
 * No lock is taken on any data path; counters the main thread may read
 * directly (export counters) are read directly.  What is read, and how a
 * thread is reached, is the server's business: this file sees it only
 * through struct control_server_ops (control.h).
 */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "control/control-protocol.h"
#include "control/control.h"
#include "listen.h"
#include "log.h"
#include "stats/report.h"
#include "util/clock.h"
#include "util/strbuf.h"

/* A client that sends nothing for this long is disconnected. */
#define CONTROL_IDLE_TIMEOUT 300.0
/* Answers a client has not read beyond this are dropped with the client. */
#define CONTROL_MAX_OUTPUT (64u << 20)

struct control_client;

enum control_job_kind {
    CONTROL_JOB_JSON,
    CONTROL_JOB_METRICS,
};

struct control_job {
    struct control *ctl;
    struct control_client *client; /* NULL once the client has gone */
    enum control_job_kind kind;
    unsigned parts;
    unsigned next_thread;
    struct stats_report report;
    struct control_job *next_done;
};

struct control_client {
    struct control *ctl;
    struct control_client *prev, *next;
    int fd;
    ev_io rio, wio;
    ev_timer idle;
    char in[CONTROL_MAX_REQUEST];
    size_t inlen;
    struct strbuf out;
    size_t out_off;
    struct control_job *job;
    bool closing; /* close once the output is sent */
};

struct control {
    struct ev_loop *loop;
    const struct control_server_ops *ops;
    void *opaque; /* for ops */
    struct listener *listener;
    ev_async async;
    pthread_mutex_t lock;
    struct control_job *done; /* jobs an I/O thread has finished with */
    struct control_client *clients;
    unsigned jobs_in_flight;
};

static void control_client_read(struct control_client *c);
static void control_client_process(struct control_client *c);
static void control_job_visit(struct control_job *job);
static void control_job_done(struct control_job *job);
static bool control_client_alive(const struct control *ctl,
                                 const struct control_client *c);

/* --- Responses ------------------------------------------------------ */

static void
control_client_close(struct control_client *c)
{
    struct control *ctl = c->ctl;

    if (c->job) {
        c->job->client = NULL; /* the job finishes and is dropped */
    }
    ev_io_stop(ctl->loop, &c->rio);
    ev_io_stop(ctl->loop, &c->wio);
    ev_timer_stop(ctl->loop, &c->idle);
    close(c->fd);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        ctl->clients = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    strbuf_free(&c->out);
    free(c);
}

static void
control_client_flush(struct control_client *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.s + c->out_off, c->out.len - c->out_off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                ev_io_start(c->ctl->loop, &c->wio);
                return;
            }
            control_client_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    ev_io_stop(c->ctl->loop, &c->wio);
    strbuf_free(&c->out);
    c->out_off = 0;
    if (c->closing) {
        control_client_close(c);
    }
}

/* Queue one framed response: "OK|ERR <len>\n" + body. */
static void
control_respond(struct control_client *c, bool ok, const char *body, size_t len)
{
    strbuf_printf(&c->out, "%s %zu\n", ok ? "OK" : "ERR", len);
    strbuf_append(&c->out, body, len);
    if (strbuf_failed(&c->out) || c->out.len > CONTROL_MAX_OUTPUT) {
        log_warn("status socket: a client is not reading its answers; "
                 "disconnecting it");
        control_client_close(c);
        return;
    }
    control_client_flush(c);
}

static void
control_respondf(struct control_client *c, bool ok, const char *fmt, ...)
    ATTR_FORMAT(3, 4);

static void
control_respondf(struct control_client *c, bool ok, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }
    control_respond(c, ok, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
}

/* --- Statistics jobs ------------------------------------------------ */

/* On I/O thread job->next_thread: fill in its part of the report. */
static void
control_job_on_thread(void *opaque)
{
    struct control_job *job = opaque;
    struct control *ctl = job->ctl;
    unsigned id = job->next_thread;

    ctl->ops->collect_thread(ctl->opaque, id, &job->report);
    job->report.threads[id].collected = true;

    pthread_mutex_lock(&ctl->lock);
    job->next_done = ctl->done;
    ctl->done = job;
    pthread_mutex_unlock(&ctl->lock);
    ev_async_send(ctl->loop, &ctl->async);
}

static void
control_job_finish(struct control_job *job)
{
    struct control_client *c = job->client;
    struct strbuf b;

    job->ctl->jobs_in_flight--;
    if (c) {
        c->job = NULL;
        strbuf_init(&b);
        if (job->kind == CONTROL_JOB_METRICS) {
            stats_format_prom(&job->report, &b);
        } else {
            stats_format_json(&job->report, job->parts, &b);
        }
        if (strbuf_failed(&b)) {
            control_respondf(c, false, "out of memory\n");
        } else {
            control_respond(c, true, b.s ? b.s : "", b.len);
        }
        strbuf_free(&b);
        /* The client may have been closed by the respond; if not, read on. */
    }
    stats_report_free(&job->report);
    free(job);
}

static bool
control_client_alive(const struct control *ctl, const struct control_client *c)
{
    for (const struct control_client *it = ctl->clients; it; it = it->next) {
        if (it == c) {
            return true;
        }
    }
    return false;
}

/* Answer the job's client and let it go on with pipelined requests. */
static void
control_job_done(struct control_job *job)
{
    struct control *ctl = job->ctl;
    struct control_client *c = job->client;

    control_job_finish(job);
    if (c && control_client_alive(ctl, c) && !c->closing) {
        /* Requests pipelined behind this one are already buffered. */
        control_client_process(c);
        if (control_client_alive(ctl, c) && !c->closing) {
            control_client_read(c);
        }
    } else if (c && control_client_alive(ctl, c) && c->out.len <= c->out_off) {
        control_client_close(c); /* half-closed and answered */
    }
}

/* Send the job to the next I/O thread, or finish it. */
static void
control_job_visit(struct control_job *job)
{
    struct control *ctl = job->ctl;

    while (job->next_thread < job->report.nthreads) {
        if (ctl->ops->run_on_thread(ctl->opaque, job->next_thread,
                                    control_job_on_thread, job) == 0) {
            return;
        }
        job->next_thread++; /* out of memory: report without this thread */
    }
    control_job_done(job);
}

static void
control_on_async(struct ev_loop *loop, ev_async *w, int revents)
{
    struct control *ctl = w->data;
    struct control_job *jobs;

    pthread_mutex_lock(&ctl->lock);
    jobs = ctl->done;
    ctl->done = NULL;
    pthread_mutex_unlock(&ctl->lock);
    while (jobs) {
        struct control_job *job = jobs;
        struct control_client *c = job->client;

        (void)c;
        jobs = job->next_done;
        job->next_thread++;
        control_job_visit(job);
    }
}

static void
control_start_job(struct control_client *c, enum control_job_kind kind,
                  unsigned parts)
{
    struct control *ctl = c->ctl;
    struct control_job *job = calloc(1, sizeof *job);
    struct timespec now;

    if (job == NULL) {
        control_respondf(c, false, "out of memory\n");
        return;
    }
    job->ctl = ctl;
    job->client = c;
    job->kind = kind;
    job->parts = parts;
    clock_gettime(CLOCK_REALTIME, &now);
    job->report.timestamp = (double)now.tv_sec + now.tv_nsec / 1e9;
    /* What the main thread may read is read here; a thread's loop counters
     * and tunables are read on that thread (control_job_on_thread), after
     * every message sent to it before this request: a `set` just answered
     * shows. */
    if (ctl->ops->snapshot(ctl->opaque, &job->report) < 0) {
        stats_report_free(&job->report);
        free(job);
        control_respondf(c, false, "out of memory\n");
        return;
    }
    c->job = job;
    ctl->jobs_in_flight++;
    ev_io_stop(ctl->loop, &c->rio); /* answers stay in request order */
    job->next_thread = 0;
    control_job_visit(job);
}

/* --- Commands ------------------------------------------------------- */

static const char control_help[] =
    "commands:\n"
    "  help                          this text\n"
    "  version                       the server's version\n"
    "  stats                         everything, as JSON\n"
    "  iothreads                     I/O threads and their polling loops, JSON\n"
    "  exports                       exports and their I/O counters, JSON\n"
    "  connections                   client connections, JSON\n"
    "  metrics                       Prometheus text exposition format 0.0.4\n"
    "  set <iothread-id|all> <key> <value>\n"
    "                                change a poll tunable live: policy, max-ns,\n"
    "                                grow, shrink, weight, idle-timeout-ms\n"
    "  reload                        re-read the configuration file (as SIGHUP)\n";

static void
control_cmd_set(struct control_client *c, char *args)
{
    char *save = NULL;
    char *who = strtok_r(args, " \t", &save);
    char *key = who ? strtok_r(NULL, " \t", &save) : NULL;
    char *value = key ? strtok_r(NULL, "", &save) : NULL;
    char err[512];
    int id;

    if (value) {
        value += strspn(value, " \t");
    }
    if (who == NULL || key == NULL || value == NULL || *value == '\0') {
        control_respondf(c, false, "usage: set <iothread-id|all> <key> <value>\n");
        return;
    }
    if (strcmp(who, "all") == 0) {
        id = -1;
    } else {
        char *end;
        long v = strtol(who, &end, 10);

        if (*end != '\0' || end == who || v < 0 || v > 1000000) {
            control_respondf(c, false,
                             "invalid I/O thread '%s': expected a number or 'all'\n",
                             who);
            return;
        }
        id = (int)v;
    }
    if (c->ctl->ops->set_param(c->ctl->opaque, id, key, value, err,
                               sizeof err) < 0) {
        control_respondf(c, false, "%s\n", err);
        return;
    }
    control_respondf(c, true, "set %s %s = %s\n", who, key, value);
}

static void
control_cmd_reload(struct control_client *c)
{
    struct control *ctl = c->ctl;
    char *errmsg = NULL;
    int r = ctl->ops->reload(ctl->opaque, &errmsg);

    if (r < 0) {
        control_respondf(c, false, "%s%s has errors; keeping the running "
                         "configuration\n",
                         errmsg ? errmsg : "",
                         ctl->ops->config_file(ctl->opaque));
        free(errmsg);
        return;
    }
    control_respondf(c, true, "reloaded: %d live change%s applied\n", r,
                     r == 1 ? "" : "s");
}

static void
control_execute(struct control_client *c, char *line)
{
    char *args;
    size_t len = strlen(line);

    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' ||
                   line[len - 1] == '\t')) {
        line[--len] = '\0';
    }
    line += strspn(line, " \t");
    args = line + strcspn(line, " \t");
    if (*args) {
        *args++ = '\0';
        args += strspn(args, " \t");
    }
    if (strcmp(line, "help") == 0) {
        control_respond(c, true, control_help, sizeof control_help - 1);
    } else if (strcmp(line, "version") == 0) {
        control_respondf(c, true, "%s\n", PACKAGE_STRING);
    } else if (strcmp(line, "stats") == 0) {
        control_start_job(c, CONTROL_JOB_JSON, STATS_JSON_ALL);
    } else if (strcmp(line, "iothreads") == 0) {
        control_start_job(c, CONTROL_JOB_JSON, STATS_JSON_IOTHREADS);
    } else if (strcmp(line, "exports") == 0) {
        control_start_job(c, CONTROL_JOB_JSON, STATS_JSON_EXPORTS);
    } else if (strcmp(line, "connections") == 0) {
        control_start_job(c, CONTROL_JOB_JSON, STATS_JSON_CONNECTIONS);
    } else if (strcmp(line, "metrics") == 0) {
        control_start_job(c, CONTROL_JOB_METRICS, 0);
    } else if (strcmp(line, "set") == 0) {
        control_cmd_set(c, args);
    } else if (strcmp(line, "reload") == 0) {
        control_cmd_reload(c);
    } else if (*line == '\0') {
        control_respondf(c, false, "empty request; try 'help'\n");
    } else {
        control_respondf(c, false, "unknown command '%.64s'; try 'help'\n", line);
    }
}

/* Execute every complete line buffered, unless a job is pending. */
static void
control_client_process(struct control_client *c)
{
    struct control *ctl = c->ctl;

    while (c->job == NULL) {
        char *nl = memchr(c->in, '\n', c->inlen);
        size_t used;

        if (nl == NULL) {
            if (c->inlen == sizeof c->in) {
                c->closing = true;
                control_respondf(c, false, "request longer than %d bytes\n",
                                 CONTROL_MAX_REQUEST);
            }
            return;
        }
        *nl = '\0';
        used = (size_t)(nl - c->in) + 1;
        {
            char line[CONTROL_MAX_REQUEST];

            memcpy(line, c->in, used);
            memmove(c->in, c->in + used, c->inlen - used);
            c->inlen -= used;
            /* control_execute may close c: check it is still listed. */
            control_execute(c, line);
        }
        if (!control_client_alive(ctl, c) || c->closing) {
            return;
        }
    }
}

static void
control_client_read(struct control_client *c)
{
    struct control *ctl = c->ctl; /* c may be freed below; ctl is not */

    for (;;) {
        ssize_t n;

        if (c->job || c->closing) {
            return;
        }
        if (c->inlen == sizeof c->in) {
            control_client_process(c);
            return;
        }
        if (!ev_is_active(&c->rio)) {
            ev_io_start(ctl->loop, &c->rio);
        }
        n = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, MSG_DONTWAIT);
        if (n == 0) {
            /* Answer what was asked before the client half-closed. */
            control_client_process(c);
            if (control_client_alive(ctl, c)) {
                if (c->job || c->out.len > c->out_off) {
                    c->closing = true;
                    ev_io_stop(c->ctl->loop, &c->rio);
                } else {
                    control_client_close(c);
                }
            }
            return;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) {
                control_client_close(c);
            }
            return;
        }
        c->inlen += (size_t)n;
        ev_timer_again(c->ctl->loop, &c->idle);
        control_client_process(c);
        if (!control_client_alive(ctl, c)) {
            return;
        }
    }
}

static void
control_on_client_readable(struct ev_loop *loop, ev_io *w, int revents)
{
    control_client_read(w->data);
}

static void
control_on_client_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    control_client_flush(w->data);
}

static void
control_on_client_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct control_client *c = w->data;

    if (c->job) {
        ev_timer_again(loop, w); /* waiting for us, not idle */
        return;
    }
    control_client_close(c);
}

/* listen.c accepted a client of the status socket (main thread). */
static void
control_on_accept(int fd, const struct sockaddr_storage *peer,
                  socklen_t peerlen, void *opaque)
{
    struct control *ctl = opaque;
    struct control_client *c = calloc(1, sizeof *c);

    (void)peer;
    (void)peerlen;
    if (c == NULL) {
        close(fd);
        return;
    }
    c->ctl = ctl;
    c->fd = fd;
    strbuf_init(&c->out);
    ev_io_init(&c->rio, control_on_client_readable, fd, EV_READ);
    ev_io_init(&c->wio, control_on_client_writable, fd, EV_WRITE);
    ev_init(&c->idle, control_on_client_idle);
    c->idle.repeat = CONTROL_IDLE_TIMEOUT;
    c->rio.data = c->wio.data = c->idle.data = c;
    c->next = ctl->clients;
    if (c->next) {
        c->next->prev = c;
    }
    ctl->clients = c;
    ev_io_start(ctl->loop, &c->rio);
    ev_timer_again(ctl->loop, &c->idle);
}

/* --- Start and stop ------------------------------------------------- */

int
control_start(struct control **out, struct ev_loop *loop, const char *path,
              unsigned mode, long uid, long gid,
              const struct control_server_ops *ops, void *opaque)
{
    struct control *ctl = calloc(1, sizeof *ctl);
    int r;

    if (ctl == NULL) {
        return -ENOMEM;
    }
    ctl->loop = loop;
    ctl->ops = ops;
    ctl->opaque = opaque;
    r = listen_open_unix(loop, path, "status socket", mode, uid, gid,
                         control_on_accept, ctl, &ctl->listener);
    if (r < 0) {
        free(ctl);
        return r;
    }
    pthread_mutex_init(&ctl->lock, NULL);
    ev_async_init(&ctl->async, control_on_async);
    ctl->async.data = ctl;
    ev_async_start(loop, &ctl->async);
    *out = ctl;
    return 0;
}

void
control_stop(struct control *ctl)
{
    if (ctl == NULL) {
        return;
    }
    while (ctl->clients) {
        control_client_close(ctl->clients);
    }
    /* Jobs still visiting I/O threads finish there before the threads
     * stop; let them come back so nothing is left pointing at us. */
    for (int i = 0; i < 2000 && ctl->jobs_in_flight; i++) {
        struct timespec ts = { 0, NS_PER_MS };

        nanosleep(&ts, NULL);
        control_on_async(ctl->loop, &ctl->async, 0);
    }
    ev_async_stop(ctl->loop, &ctl->async);
    listen_close(ctl->listener);
    pthread_mutex_destroy(&ctl->lock);
    if (ctl->jobs_in_flight == 0) {
        free(ctl);
    }
}
