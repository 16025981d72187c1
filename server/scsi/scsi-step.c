/* SPDX-License-Identifier: MIT */
/*
 * The driver of commands that take several backend requests: VERIFY
 * reading back what it compares (scsi-sbc.c), WRITE SAME over a long range
 * and UNMAP with several descriptors (scsi-lbp.c).  A command supplies
 * struct scsi_step_ops: next submits one request, done takes its result;
 * the driver alternates them until one says the command is over, then
 * calls scsi_cmd_finish exactly once.
 *
 * Backends may complete inline (memory always does), so submitting the
 * next step from the completion of the last would recurse once per step:
 * a 32 MiB WRITE SAME is 32 steps, an UNMAP up to 256, and nothing bounds
 * what a future command might need.  The driver therefore loops while
 * steps complete inline (t->step_state tells an inline completion from a
 * later one) and returns to the event loop when one goes asynchronous;
 * that completion resumes the loop.  The stack stays one frame deep
 * either way.
 */
#include <config.h>

#include <assert.h>

#include "scsi/scsi-internal.h"

/* t->step_state */
#define STEP_ASYNC      1 /* a request is in flight; its done resumes */
#define STEP_SUBMITTING 2 /* inside next(): a completion is inline */
#define STEP_INLINE     3 /* ... and it came: step_err holds it */

static void step_loop(struct scsi_cmd *t);

static void
step_done(struct backend_req *req, int err)
{
    struct scsi_cmd *t = (struct scsi_cmd *)req;

    if (t->step_state == STEP_SUBMITTING) {
        /* Inline: the loop in step_loop takes it from here, so a
         * thousand inline steps are a loop, not a thousand frames. */
        t->step_state = STEP_INLINE;
        t->step_err = err;
        return;
    }
    assert(t->step_state == STEP_ASYNC);
    if (!t->step_ops->done(t, err)) {
        scsi_cmd_finish(t);
        return;
    }
    step_loop(t);
}

static void
step_loop(struct scsi_cmd *t)
{
    for (;;) {
        t->step_state = STEP_SUBMITTING;
        if (!t->step_ops->next(t)) {
            t->step_state = 0;
            scsi_cmd_finish(t);
            return;
        }
        if (t->step_state == STEP_SUBMITTING) {
            t->step_state = STEP_ASYNC;
            return; /* step_done resumes; t is not touched after */
        }
        assert(t->step_state == STEP_INLINE);
        if (!t->step_ops->done(t, t->step_err)) {
            t->step_state = 0;
            scsi_cmd_finish(t);
            return;
        }
    }
}

void
scsi_step_start(struct scsi_cmd *t, const struct scsi_step_ops *ops)
{
    t->step_ops = ops;
    step_loop(t);
}

void
scsi_step_req(struct scsi_cmd *t, uint64_t offset, uint64_t count,
              uint32_t flags, uint8_t *buf)
{
    struct backend_req *req = &t->breq;

    req->ctx = t->ctx;
    req->offset = offset;
    req->count = count;
    req->flags = flags;
    t->iov.iov_base = buf;
    t->iov.iov_len = count;
    req->iov = buf ? &t->iov : NULL;
    req->iovcnt = buf ? 1 : 0;
    req->extents = NULL;
    req->max_extents = 0;
    req->done = step_done;
    req->opaque = t->opaque;
    t->step_len = count;
}
