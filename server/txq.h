/* SPDX-License-Identifier: MIT */
/*
 * A connection's transmit queue: messages queued as iovecs (headers and
 * data by reference, nothing copied) and sent with as few sendmsg calls
 * as the socket allows, gathering many messages into one.  A partial send
 * leaves the rest queued; each message is handed back through a release
 * callback once all its bytes are out (or the queue is dropped).  Shared
 * by the NBD and iSCSI connections, which embed a struct txq_item in their
 * reply objects.
 */
#ifndef POLLTGT_SERVER_TXQ_H
#define POLLTGT_SERVER_TXQ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "util/compiler.h"

struct txq_item {
    struct txq_item *next;
    const struct iovec *iov;
    int iovcnt;
};

struct txq {
    struct txq_item *head, **tail;
    size_t off; /* bytes of head already sent */
};

typedef void txq_release_fn(struct txq_item *it, void *opaque);

/* A transport's gathered send (sendmsg on a socket, or TLS): the bytes
 * it took (> 0), -EAGAIN, or -errno.  opaque is its own. */
typedef ssize_t txq_sendv_fn(void *opaque, const struct iovec *iov,
                             int iovcnt);

void txq_init(struct txq *q) ATTR_NONNULL(1);

static inline bool
txq_empty(const struct txq *q)
{
    return q->head == NULL;
}

/* Queue a message of iovcnt iovecs at iov (which must stay valid until it
 * is released). */
void txq_push(struct txq *q, struct txq_item *it, const struct iovec *iov,
              int iovcnt) ATTR_NONNULL(1, 2);

/* Send what the socket takes.  Returns 0 when everything went out,
 * -EAGAIN when the socket is full (wait for writability), or -errno when
 * the connection is broken. */
int txq_send(struct txq *q, int fd, txq_release_fn *release, void *opaque)
    ATTR_NONNULL(1, 3);
/* The same through a transport's sendv (conn.c's TLS). */
int txq_send_via(struct txq *q, txq_sendv_fn *sendv, void *sopaque,
                 txq_release_fn *release, void *opaque) ATTR_NONNULL(1, 2, 4);

/* Release everything queued without sending it. */
void txq_drop(struct txq *q, txq_release_fn *release, void *opaque)
    ATTR_NONNULL(1, 2);

#endif /* POLLTGT_SERVER_TXQ_H */
