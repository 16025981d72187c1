/* SPDX-License-Identifier: MIT */
/*
 * LBA range locks of a logical unit: what makes COMPARE AND WRITE,
 * ORWRITE and the read-modify-write of a partial block atomic against
 * every other write to the same blocks, from any session and I/O thread.
 *
 * A write that replaces whole blocks (of the backend's granularity, so a
 * backend that bounces a partial sector is never handed two at once)
 * takes its range shared; a command that reads blocks and writes them
 * back takes its range exclusive: it runs alone on those blocks, while
 * writes elsewhere go on.  Nobody sleeps: a command that cannot have its
 * range yet retries on a short timer of its I/O thread, and runs from
 * there.
 *
 * The common case, no exclusive range anywhere on the LU, costs a plain
 * write two atomic operations and no lock: it counts itself in `fast`
 * and, seeing `excl` 0, goes on without an entry in the table.  An
 * exclusive claim enters the table and counts itself in `excl` (under
 * the lock), then waits until `fast` is 0: the two sides increment their
 * own counter before reading the other's (sequentially consistent), so
 * at least one of them sees the other, and from then on every plain
 * write enters the table and is checked against it.  Overlapping
 * exclusive claims run in the order they entered the table (a ticket),
 * so none waits forever on another.
 *
 * UNMAP and WRITE SAME (with or without UNMAP) deallocate or replace
 * whole blocks, so they take their range shared like a write (UNMAP the
 * span of its descriptors), as does a SANITIZE, exclusive over the whole
 * LU.  READs take none: a READ racing a write may see part of it, as SBC
 * allows for anything but WRITE ATOMIC, which is not offered for that
 * reason.
 */
#include <config.h>

#include <assert.h>

#include "scsi/scsi-internal.h"
#include "util/clock.h"

/* scsi_cmd.range_slot: 0 (a zeroed command) holds nothing, -1 is a
 * write outside the table, and slot i of the table is i + 1. */
#define RANGE_NONE 0
#define RANGE_FAST (-1)
#define RANGE_RETRY_NS 20000 /* 20 us: a write in flight takes about that */

void
scsi_range_init(struct scsi_ranges *r)
{
    pthread_mutex_init(&r->lock, NULL);
    atomic_init(&r->excl, 0);
    atomic_init(&r->fast, 0);
    r->next_ticket = 1;
    for (int i = 0; i < SCSI_RANGE_SLOTS; i++) {
        r->n[i] = 0;
    }
}

static bool
range_overlaps(const struct scsi_ranges *r, int i, uint64_t lba, uint64_t n)
{
    return r->n[i] != 0 && lba < r->lba[i] + r->n[i] && r->lba[i] < lba + n;
}

static int
range_free_slot(const struct scsi_ranges *r)
{
    for (int i = 0; i < SCSI_RANGE_SLOTS; i++) {
        if (r->n[i] == 0) {
            return i;
        }
    }
    return -1;
}

/* A shared range: no exclusive one may overlap it. */
static bool
range_try_shared(struct scsi_ranges *r, struct scsi_cmd *t)
{
    int slot;

    atomic_fetch_add(&r->fast, 1);
    if (atomic_load(&r->excl) == 0) {
        t->range_slot = RANGE_FAST;
        return true;
    }
    atomic_fetch_sub(&r->fast, 1);
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < SCSI_RANGE_SLOTS; i++) {
        if (r->excl_slot[i] && range_overlaps(r, i, t->range_lba, t->range_n)) {
            pthread_mutex_unlock(&r->lock);
            return false;
        }
    }
    slot = range_free_slot(r);
    if (slot >= 0) {
        r->lba[slot] = t->range_lba;
        r->n[slot] = t->range_n;
        r->excl_slot[slot] = false;
        r->ticket[slot] = r->next_ticket++;
        t->range_slot = slot + 1;
    }
    pthread_mutex_unlock(&r->lock);
    return slot >= 0;
}

/* An exclusive range: entered at the first try, held once no earlier
 * overlapping entry and no write outside the table is left. */
static bool
range_try_exclusive(struct scsi_ranges *r, struct scsi_cmd *t)
{
    bool ok = true;
    int me;

    pthread_mutex_lock(&r->lock);
    me = t->range_slot - 1;
    if (me < 0) {
        me = range_free_slot(r);
        if (me < 0) {
            pthread_mutex_unlock(&r->lock);
            return false;
        }
        r->lba[me] = t->range_lba;
        r->n[me] = t->range_n;
        r->excl_slot[me] = true;
        r->ticket[me] = r->next_ticket++;
        t->range_slot = me + 1;
        atomic_fetch_add(&r->excl, 1);
    }
    for (int i = 0; i < SCSI_RANGE_SLOTS && ok; i++) {
        if (i != me && r->ticket[i] < r->ticket[me]
            && range_overlaps(r, i, t->range_lba, t->range_n)) {
            ok = false;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return ok && atomic_load(&r->fast) == 0;
}

static void
range_retry(void *opaque)
{
    struct scsi_cmd *t = opaque;
    struct scsi_ranges *r = t->lu->ranges;
    bool ok = t->range_excl ? range_try_exclusive(r, t)
                            : range_try_shared(r, t);

    if (ok) {
        t->range_held = true;
        t->range_go(t);
        return;
    }
    if (aio_timer_mod(t->ctx, &t->range_timer,
                      clock_now_ns() + RANGE_RETRY_NS) < 0) {
        /* Cannot wait: the initiator retries a BUSY. */
        t->status = SCSI_STATUS_BUSY;
        scsi_cmd_finish(t);
    }
}

void
scsi_range_lock(struct scsi_cmd *t, uint64_t lba, uint64_t n, bool excl,
                void (*go)(struct scsi_cmd *t))
{
    uint64_t g = t->lu->opt_xfer_gran ? t->lu->opt_xfer_gran : 1;
    uint64_t lo = lba / g * g;
    uint64_t hi = (lba + n + g - 1) / g * g;

    assert(!t->range_held && n > 0);
    t->range_lba = lo;
    t->range_n = hi - lo;
    /* Part of a backend block: the backend reads and writes it back. */
    t->range_excl = excl || lo != lba || hi != lba + n;
    t->range_go = go;
    aio_timer_init(&t->range_timer, range_retry, t);
    range_retry(t);
}

void
scsi_range_unlock(struct scsi_cmd *t)
{
    struct scsi_ranges *r;
    int i = t->range_slot - 1;

    if (t->range_slot == RANGE_NONE) {
        return;
    }
    r = t->lu->ranges;
    if (t->range_slot == RANGE_FAST) {
        atomic_fetch_sub(&r->fast, 1);
    } else {
        pthread_mutex_lock(&r->lock);
        if (r->excl_slot[i]) {
            atomic_fetch_sub(&r->excl, 1);
        }
        r->n[i] = 0;
        r->ticket[i] = 0;
        pthread_mutex_unlock(&r->lock);
    }
    t->range_slot = RANGE_NONE;
    t->range_held = false;
}
