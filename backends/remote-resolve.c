/* SPDX-License-Identifier: MIT */
/*
 * Host names of the gateway backends' remotes, looked up off the I/O
 * thread's loop.  libnbd and libiscsi call getaddrinfo inside their
 * connect calls, which for a name means a DNS query that may take the
 * resolver's whole timeout; on a loop that also serves other exports
 * that is a stall for all of them.  So before each connect remote.c asks
 * for the name here: a short-lived detached thread runs getaddrinfo and
 * wakes the loop through an eventfd of the lookup's own, and the library
 * is then handed a numeric address, which it parses without a query.
 *
 * Why a thread per lookup and not glibc's getaddrinfo_a: there are at
 * most a few lookups a second (one per reconnect attempt per thread),
 * and a thread that shares nothing with the loop but a refcounted lookup
 * and an fd lets a cancelled lookup (a connect timeout, the thread
 * stopping) simply be forgotten: whichever side lets go last frees it.
 * Also the strings that find and replace the host in a URL (the gateway
 * URLs are SCHEME://[USERINFO@]HOST[:PORT]/...).
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/remote-internal.h"
#include "log.h"

struct remote_resolve {
    _Atomic int refs;         /* the thread's and the loop's */
    int efd;
    struct aio_handler *h;    /* the loop's watch of efd; NULL: cancelled */
    char *host;
    _Atomic bool finished;
    int gai_err;
    struct remote_addrs addrs;
    remote_resolve_cb *done;
    void *opaque;
};

remote_lookup_fn *remote_resolve_lookup = getaddrinfo;

/* getaddrinfo's answer as numeric strings, in its order, duplicates
 * (one per socket type it may still return) dropped. */
static int
remote_lookup(const char *host, struct remote_addrs *out)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int err;

    memset(out, 0, sizeof *out);
    err = remote_resolve_lookup(host, NULL, &hints, &res);
    if (err != 0) {
        return err;
    }
    for (struct addrinfo *ai = res; ai && out->n < REMOTE_MAX_ADDRS;
         ai = ai->ai_next) {
        char buf[REMOTE_ADDR_LEN];
        const void *a;
        bool dup = false;

        if (ai->ai_family == AF_INET) {
            a = &((const struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr;
        } else if (ai->ai_family == AF_INET6) {
            a = &((const struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr;
        } else {
            continue;
        }
        if (inet_ntop(ai->ai_family, a, buf, sizeof buf) == NULL) {
            continue;
        }
        for (unsigned i = 0; i < out->n; i++) {
            dup = dup || strcmp(out->addr[i], buf) == 0;
        }
        if (!dup) {
            memcpy(out->addr[out->n++], buf, sizeof buf);
        }
    }
    if (res) {
        freeaddrinfo(res);
    }
    return out->n ? 0 : EAI_NONAME;
}

static void
remote_resolve_unref(struct remote_resolve *q)
{
    if (atomic_fetch_sub(&q->refs, 1) == 1) {
        close(q->efd);
        free(q->host);
        free(q);
    }
}

static void *
remote_resolve_thread(void *opaque)
{
    struct remote_resolve *q = opaque;
    uint64_t one = 1;

    q->gai_err = remote_lookup(q->host, &q->addrs);
    atomic_store_explicit(&q->finished, true, memory_order_release);
    if (write(q->efd, &one, sizeof one) < 0) {
        /* An eventfd write fails only on overflow, which one write
         * cannot cause; the connect timeout covers it anyway. */
    }
    remote_resolve_unref(q);
    return NULL;
}

static void
remote_resolve_on_read(void *opaque)
{
    struct remote_resolve *q = opaque;
    uint64_t v;

    if (read(q->efd, &v, sizeof v) < 0
        || !atomic_load_explicit(&q->finished, memory_order_acquire)) {
        return;
    }
    aio_handler_del(q->h);
    q->h = NULL;
    q->done(q->opaque, q->gai_err ? gai_strerror(q->gai_err) : NULL,
            &q->addrs);
    remote_resolve_unref(q);
}

static const struct aio_handler_ops remote_resolve_ops = {
    .read = remote_resolve_on_read,
    .name = "resolve",
};

struct remote_resolve *
remote_resolve_start(struct aio_ctx *ctx, const char *host,
                     remote_resolve_cb *done, void *opaque)
{
    struct remote_resolve *q = calloc(1, sizeof *q);
    sigset_t all, old;
    pthread_attr_t attr;
    pthread_t tid;
    int err;

    if (q == NULL) {
        return NULL;
    }
    q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    q->host = strdup(host);
    if (q->efd < 0 || q->host == NULL) {
        goto fail;
    }
    q->done = done;
    q->opaque = opaque;
    q->h = aio_handler_add(ctx, q->efd, &remote_resolve_ops, q);
    if (q->h == NULL) {
        goto fail;
    }
    atomic_init(&q->refs, 2);
    /* Signals stay with the threads that handle them. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    err = pthread_create(&tid, &attr, remote_resolve_thread, q);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        aio_handler_del(q->h);
        goto fail;
    }
    return q;

fail:
    if (q->efd >= 0) {
        close(q->efd);
    }
    free(q->host);
    free(q);
    return NULL;
}

void
remote_resolve_cancel(struct remote_resolve *q)
{
    aio_handler_del(q->h);
    q->h = NULL;
    remote_resolve_unref(q);
}

const char *
remote_resolve_sync(const char *host, struct remote_addrs *out)
{
    int err = remote_lookup(host, out);

    return err ? gai_strerror(err) : NULL;
}

bool
remote_host_is_numeric(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1
           || inet_pton(AF_INET6, host, buf) == 1;
}

/* Where the host of url starts and how long it is; false if none. */
static bool
remote_url_host_span(const char *url, size_t *off, size_t *len)
{
    const char *auth = strstr(url, "://"), *end, *at, *host;

    if (auth == NULL) {
        return false;
    }
    auth += 3;
    end = auth + strcspn(auth, "/?#");
    at = NULL;
    for (const char *p = auth; p < end; p++) {
        if (*p == '@') {
            at = p;
        }
    }
    host = at ? at + 1 : auth;
    if (*host == '[') {
        const char *close = memchr(host, ']', (size_t)(end - host));

        if (close == NULL) {
            return false;
        }
        *off = (size_t)(host + 1 - url);
        *len = (size_t)(close - host - 1);
    } else {
        const char *colon = memchr(host, ':', (size_t)(end - host));

        *off = (size_t)(host - url);
        *len = (size_t)((colon ? colon : end) - host);
    }
    return *len > 0;
}

char *
remote_url_host(const char *url)
{
    size_t off, len;

    if (!remote_url_host_span(url, &off, &len)) {
        return NULL;
    }
    return strndup(url + off, len);
}

char *
remote_url_with_host(const char *url, const char *addr)
{
    size_t off, len;
    bool v6 = strchr(addr, ':') != NULL;
    bool bracketed;
    char *out;

    if (!remote_url_host_span(url, &off, &len)) {
        return NULL;
    }
    bracketed = off > 0 && url[off - 1] == '[';
    if (bracketed) {
        /* Replace the brackets too, so that v6 decides alone. */
        off--;
        len += 2;
    }
    if (asprintf(&out, "%.*s%s%s%s%s", (int)off, url, v6 ? "[" : "", addr,
                 v6 ? "]" : "", url + off + len) < 0) {
        return NULL;
    }
    return out;
}
