/* SPDX-License-Identifier: MIT */
/*
 * See txq.h.
 */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>

#include "txq.h"

/* iovecs gathered into one sendmsg (well under IOV_MAX). */
#define TXQ_MAX_IOV 64

void
txq_init(struct txq *q)
{
    q->head = NULL;
    q->tail = &q->head;
    q->off = 0;
}

void
txq_push(struct txq *q, struct txq_item *it, const struct iovec *iov,
         int iovcnt)
{
    it->next = NULL;
    it->iov = iov;
    it->iovcnt = iovcnt;
    *q->tail = it;
    q->tail = &it->next;
}

static size_t
txq_item_len(const struct txq_item *it)
{
    size_t len = 0;

    for (int i = 0; i < it->iovcnt; i++) {
        len += it->iov[i].iov_len;
    }
    return len;
}

/* Hand back the messages that went out completely. */
static void
txq_retire(struct txq *q, txq_release_fn *release, void *opaque)
{
    struct txq_item *it;

    while ((it = q->head) != NULL) {
        size_t len = txq_item_len(it);

        if (q->off < len) {
            break;
        }
        q->off -= len;
        q->head = it->next;
        if (q->head == NULL) {
            q->tail = &q->head;
        }
        release(it, opaque);
    }
}

static ssize_t
txq_sendmsg(void *opaque, const struct iovec *iov, int iovcnt)
{
    struct msghdr msg = { .msg_iov = (struct iovec *)iov,
                          .msg_iovlen = (size_t)iovcnt };
    int fd = (int)(intptr_t)opaque;

    for (;;) {
        ssize_t sent = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);

        if (sent >= 0) {
            return sent;
        }
        if (errno != EINTR) {
            return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
    }
}

int
txq_send(struct txq *q, int fd, txq_release_fn *release, void *opaque)
{
    return txq_send_via(q, txq_sendmsg, (void *)(intptr_t)fd, release, opaque);
}

int
txq_send_via(struct txq *q, txq_sendv_fn *sendv, void *sopaque,
             txq_release_fn *release, void *opaque)
{
    struct iovec iov[TXQ_MAX_IOV];

    while (q->head) {
        size_t skip = q->off;
        int n = 0;
        ssize_t sent;

        for (struct txq_item *it = q->head; it; it = it->next) {
            if (n + it->iovcnt > TXQ_MAX_IOV && n > 0) {
                break;
            }
            for (int i = 0; i < it->iovcnt && n < TXQ_MAX_IOV; i++) {
                if (skip >= it->iov[i].iov_len) {
                    skip -= it->iov[i].iov_len;
                    continue;
                }
                iov[n].iov_base = (char *)it->iov[i].iov_base + skip;
                iov[n].iov_len = it->iov[i].iov_len - skip;
                skip = 0;
                n++;
            }
        }
        if (n == 0) {
            /* Only empty messages left: they are sent by definition. */
            txq_retire(q, release, opaque);
            continue;
        }
        sent = sendv(sopaque, iov, n);
        if (sent < 0) {
            return (int)sent;
        }
        q->off += (size_t)sent;
        txq_retire(q, release, opaque);
    }
    return 0;
}

void
txq_drop(struct txq *q, txq_release_fn *release, void *opaque)
{
    while (q->head) {
        struct txq_item *it = q->head;

        q->head = it->next;
        release(it, opaque);
    }
    txq_init(q);
}
