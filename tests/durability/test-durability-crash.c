/* SPDX-License-Identifier: MIT */
/*
 * Crash consistency: every write the server acknowledged as durable is in
 * the backing file after polltgtd is killed with SIGKILL.
 *
 * One polltgtd serves two file exports, one written over NBD (libnbd) and
 * one over iSCSI (libiscsi), both at once, each with up to DUR_QD requests
 * in flight: writes of 1 to 8 blocks of 4 KiB, a third of them with FUA
 * (NBD_CMD_FLAG_FUA, the FUA bit of WRITE(16)), the others made durable by
 * a later NBD_CMD_FLUSH or SYNCHRONIZE CACHE(16) (IMMED = 0).  Each block
 * carries its export, block number and a generation, and its bytes follow
 * from those three, so a block read back is either a whole version, zeros
 * or torn.  A write counts as durable when its FUA reply came, or when a
 * flush sent after its reply was answered.  At a random moment the server
 * is killed by PID, the files are read directly and each block must hold
 * a generation at least as new as its newest durable write (zeros only if
 * it had none).  Neither NBD nor SBC promises that a block being written
 * when the server dies is whole, so a torn block is accepted only where a
 * write was in flight, and counted; anything else torn, a block of another
 * place, or an older generation fails.  The server is then restarted, must
 * serve the same bytes over both protocols, and the next cycle goes on.
 *
 * What this covers: process crashes.  SIGKILL leaves the page cache
 * intact, so it cannot show a missing fdatasync; power-loss durability
 * rests on the file backend submitting IORING_FSYNC_DATASYNC for a flush
 * and RWF_DSYNC for FUA before it replies, which
 * tests/unit/test-backend-file-durable checks.  The same source built with
 * DUR_DIRECT runs the exports with `direct = yes` (O_DIRECT), on a file
 * system that takes it (TMPDIR, else /var/tmp; skipped if none does).
 *
 * DURABILITY_CYCLES (default 3) sets the number of kills; the long run
 * documented in tests/README.tests uses 100.  DURABILITY_SEED makes a run
 * repeatable.  The figures are printed at the end.
 */
#include <config.h>

#define TEST_SERVER_DIR_PREFIX "polltgt-durable"
#include "../iscsi/iscsi-test-helpers.h"

#include <libnbd.h>

#ifdef DUR_DIRECT
#define DUR_NAME "test-durability-crash-direct"
#else
#define DUR_NAME "test-durability-crash"
#endif

#define DUR_BS 4096u
#define DUR_BLOCKS 2048u         /* 8 MiB per export */
#define DUR_MAX_RUN 8u           /* blocks per write */
#define DUR_QD 8u                /* requests in flight per export */
#define DUR_SLOTS (2 * DUR_QD)
#define DUR_MAGIC UINT64_C(0x4b4c425255445450) /* "PTDURBLK" */

enum dur_side_id { SIDE_NBD, SIDE_SCSI, NSIDES };
enum dur_kind { OP_WRITE, OP_FLUSH };

/* Written plain and acknowledged: durable once a later flush is. */
struct dur_span {
    uint32_t block, n;
    uint64_t gen;
};

struct dur_side;

/* One request in flight. */
struct dur_op {
    bool used;
    enum dur_kind kind;
    struct dur_side *sd;
    uint32_t block, n;
    uint64_t gen;
    bool fua;
    uint8_t *buf;
    struct dur_span *cover; /* flush: the writes it makes durable */
    size_t ncover;
};

struct dur_stats {
    uint64_t writes_acked, fua_acked, flushes_acked;
    uint64_t blocks_durable_checked; /* blocks with a durable generation */
    uint64_t inflight_at_kill;       /* requests */
    uint64_t torn_inflight;          /* torn blocks under an in-flight write */
    uint64_t newer_than_durable;     /* blocks newer than their durable gen */
    uint64_t acked_kept, acked_total; /* newest acked gen (durable or not) */
};

struct dur_side {
    enum dur_side_id id;
    const char *name;
    char path[512];
    uint64_t durable[DUR_BLOCKS];  /* newest durable generation, 0: none */
    uint64_t acked[DUR_BLOCKS];    /* newest acknowledged generation */
    uint8_t busy[DUR_BLOCKS];      /* a write is in flight on the block */
    struct dur_span *unflushed;
    size_t nunflushed, capunflushed;
    struct dur_op slots[DUR_SLOTS];
    unsigned inflight;
    struct dur_stats st;
};

static struct dur_side sides[NSIDES];
static bool killed;       /* replies after the kill are ignored */
static uint64_t next_gen = 1;
static uint64_t rng_state;

static uint64_t
dur_rand(void)
{
    /* xorshift64*: repeatable from DURABILITY_SEED. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static uint32_t
dur_below(uint32_t n)
{
    return (uint32_t)(dur_rand() % n);
}

/* --- Block contents --------------------------------------------------- */

static void
dur_put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

static uint64_t
dur_get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;
}

/* The one version (side, block, gen) of a block. */
static void
dur_make_block(uint8_t *p, enum dur_side_id side, uint32_t block,
               uint64_t gen)
{
    uint64_t x = (gen * UINT64_C(0x9e3779b97f4a7c15)) ^ ((uint64_t)block << 20)
                 ^ (uint64_t)side;

    dur_put64(p, DUR_MAGIC);
    dur_put64(p + 8, ((uint64_t)side << 32) | block);
    dur_put64(p + 16, gen);
    for (size_t i = 24; i < DUR_BS; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        dur_put64(p + i, x);
    }
}

enum dur_state { B_ZERO, B_VALID, B_TORN, B_MISPLACED };

static enum dur_state
dur_check_block(const uint8_t *p, enum dur_side_id side, uint32_t block,
                uint64_t *gen)
{
    static uint8_t want[DUR_BS];
    uint64_t where = dur_get64(p + 8);
    bool zero = true;

    for (size_t i = 0; i < DUR_BS && zero; i++) {
        zero = p[i] == 0;
    }
    if (zero) {
        return B_ZERO;
    }
    if (dur_get64(p) != DUR_MAGIC) {
        return B_TORN;
    }
    *gen = dur_get64(p + 16);
    if (*gen == 0 || *gen >= next_gen) {
        return B_TORN;
    }
    dur_make_block(want, (enum dur_side_id)(where >> 32),
                   (uint32_t)where, *gen);
    if (memcmp(p, want, DUR_BS) != 0) {
        return B_TORN;
    }
    if (where != (((uint64_t)side << 32) | block)) {
        return B_MISPLACED;
    }
    return B_VALID;
}

/* --- Requests --------------------------------------------------------- */

static struct dur_op *
dur_op_get(struct dur_side *sd)
{
    for (unsigned i = 0; i < DUR_SLOTS; i++) {
        if (!sd->slots[i].used) {
            struct dur_op *op = &sd->slots[i];

            memset(op, 0, sizeof *op);
            op->used = true;
            op->sd = sd;
            sd->inflight++;
            return op;
        }
    }
    FAIL("%s: no free request slot", sd->name);
}

static void
dur_op_put(struct dur_op *op)
{
    struct dur_side *sd = op->sd;

    if (op->kind == OP_WRITE) {
        for (uint32_t i = 0; i < op->n; i++) {
            sd->busy[op->block + i] = 0;
        }
    }
    free(op->buf);
    free(op->cover);
    op->buf = NULL;
    op->cover = NULL;
    op->used = false;
    sd->inflight--;
}

static void
dur_raise(uint64_t *a, uint32_t block, uint32_t n, uint64_t gen)
{
    for (uint32_t i = 0; i < n; i++) {
        if (a[block + i] < gen) {
            a[block + i] = gen;
        }
    }
}

/* The server answered op; ok is whether it succeeded. */
static void
dur_op_done(struct dur_op *op, bool ok)
{
    struct dur_side *sd = op->sd;

    if (killed) {
        dur_op_put(op);
        return;
    }
    if (!ok) {
        FAIL("%s: a %s failed while the server was up", sd->name,
             op->kind == OP_WRITE ? "write" : "flush");
    }
    if (op->kind == OP_WRITE) {
        sd->st.writes_acked++;
        dur_raise(sd->acked, op->block, op->n, op->gen);
        if (op->fua) {
            sd->st.fua_acked++;
            dur_raise(sd->durable, op->block, op->n, op->gen);
        } else {
            if (sd->nunflushed == sd->capunflushed) {
                sd->capunflushed = sd->capunflushed ? 2 * sd->capunflushed
                                                    : 256;
                sd->unflushed = realloc(sd->unflushed, sd->capunflushed
                                                       * sizeof *sd->unflushed);
                CHECK(sd->unflushed != NULL, "out of memory");
            }
            sd->unflushed[sd->nunflushed++] =
                (struct dur_span){ op->block, op->n, op->gen };
        }
    } else {
        sd->st.flushes_acked++;
        for (size_t i = 0; i < op->ncover; i++) {
            dur_raise(sd->durable, op->cover[i].block, op->cover[i].n,
                      op->cover[i].gen);
        }
    }
    dur_op_put(op);
}

static int
dur_nbd_cb(void *opaque, int *error)
{
    dur_op_done(opaque, *error == 0);
    return 1;
}

static void
dur_scsi_cb(struct iscsi_context *ctx, int status, void *data, void *opaque)
{
    (void)ctx;
    dur_op_done(opaque, status == SCSI_STATUS_GOOD);
    if (data) {
        scsi_free_scsi_task(data);
    }
}

/* Pick a free run of blocks for a write; false if none was found. */
static bool
dur_pick_run(struct dur_side *sd, uint32_t *block, uint32_t *n)
{
    for (int tries = 0; tries < 8; tries++) {
        uint32_t len = 1 + dur_below(DUR_MAX_RUN);
        uint32_t at = dur_below(DUR_BLOCKS - len + 1);
        bool free_run = true;

        for (uint32_t i = 0; i < len && free_run; i++) {
            free_run = !sd->busy[at + i];
        }
        if (free_run) {
            *block = at;
            *n = len;
            return true;
        }
    }
    return false;
}

static void
dur_submit(struct dur_side *sd, struct nbd_handle *nbd,
           struct iscsi_context *ic)
{
    struct dur_op *op;
    uint32_t block, n;

    if (sd->nunflushed > 0 && dur_below(10) == 0) {
        op = dur_op_get(sd);
        op->kind = OP_FLUSH;
        /* It covers what was acknowledged before it is sent. */
        op->cover = sd->unflushed;
        op->ncover = sd->nunflushed;
        sd->unflushed = NULL;
        sd->nunflushed = sd->capunflushed = 0;
        if (sd->id == SIDE_NBD) {
            nbd_completion_callback cb = { .callback = dur_nbd_cb,
                                           .user_data = op };

            CHECK(nbd_aio_flush(nbd, cb, 0) >= 0, "nbd_aio_flush: %s",
                  nbd_get_error());
        } else {
            CHECK(iscsi_synchronizecache16_task(ic, 0, 0, 0, 0, 0,
                                                dur_scsi_cb, op) != NULL,
                  "SYNCHRONIZE CACHE(16): %s", iscsi_get_error(ic));
        }
        return;
    }
    if (!dur_pick_run(sd, &block, &n)) {
        return;
    }
    op = dur_op_get(sd);
    op->kind = OP_WRITE;
    op->block = block;
    op->n = n;
    op->gen = next_gen++;
    op->fua = dur_below(3) == 0;
    op->buf = malloc((size_t)n * DUR_BS);
    CHECK(op->buf != NULL, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        dur_make_block(op->buf + (size_t)i * DUR_BS, sd->id, block + i,
                       op->gen);
        sd->busy[block + i] = 1;
    }
    if (sd->id == SIDE_NBD) {
        nbd_completion_callback cb = { .callback = dur_nbd_cb,
                                       .user_data = op };

        CHECK(nbd_aio_pwrite(nbd, op->buf, (size_t)n * DUR_BS,
                             (uint64_t)block * DUR_BS, cb,
                             op->fua ? LIBNBD_CMD_FLAG_FUA : 0) >= 0,
              "nbd_aio_pwrite: %s", nbd_get_error());
    } else {
        CHECK(iscsi_write16_task(ic, 0, block, op->buf, n * DUR_BS,
                                 (int)DUR_BS, 0, 0, op->fua ? 1 : 0, 0, 0,
                                 dur_scsi_cb, op) != NULL,
              "WRITE(16): %s", iscsi_get_error(ic));
    }
}

/* --- Server and clients ---------------------------------------------- */

static const char conf_fmt[] =
    "[nbd]\n"
    "listen = unix:@DIR@/nbd.sock\n"
    "[iscsi]\n"
    "listen = 127.0.0.1:@PORT@\n"
    "[status]\n"
    "socket = none\n"
    "[export nbdfile]\n"
    "backend = file\n"
    "path = %s\n"
    "direct = %s\n"
    "[export scsifile]\n"
    "backend = file\n"
    "path = %s\n"
    "direct = %s\n"
    "block-size = 4096\n";

static char conf[4096];

static struct nbd_handle *
dur_nbd_connect(const struct test_server *s)
{
    struct nbd_handle *nbd = nbd_create();

    CHECK(nbd != NULL, "nbd_create: %s", nbd_get_error());
    CHECK(nbd_set_export_name(nbd, "nbdfile") == 0, "nbd_set_export_name");
    CHECK(nbd_connect_unix(nbd, s->sock) == 0, "nbd_connect_unix: %s",
          nbd_get_error());
    CHECK(nbd_can_fua(nbd) == 1 && nbd_can_flush(nbd) == 1,
          "the NBD export must offer FUA and FLUSH");
    return nbd;
}

static struct iscsi_context *
dur_scsi_connect(const struct test_server *s)
{
    struct iscsi_test_target t;
    struct iscsi_context *ic;

    test_iscsi_export_target(s, "scsifile", &t);
    ic = test_iscsi_login(&t, NULL, "login");
    test_iscsi_clear_ua(ic, 0, "after login");
    return ic;
}

/* The server serves the bytes the file holds (after a restart). */
static void
dur_check_served(struct nbd_handle *nbd, struct iscsi_context *ic,
                 const uint8_t *file, enum dur_side_id side)
{
    const size_t chunk = 1024 * 1024;
    uint8_t *buf = malloc(chunk);

    CHECK(buf != NULL, "out of memory");
    for (size_t off = 0; off < (size_t)DUR_BLOCKS * DUR_BS; off += chunk) {
        const uint8_t *got = buf;
        struct scsi_task *task = NULL;
        ssize_t d;

        if (side == SIDE_NBD) {
            CHECK(nbd_pread(nbd, buf, chunk, off, 0) == 0, "nbd_pread: %s",
                  nbd_get_error());
        } else {
            task = iscsi_read16_sync(ic, 0, off / DUR_BS, (uint32_t)chunk,
                                     (int)DUR_BS, 0, 0, 0, 0, 0);
            CHECK_TASK_GOOD(ic, task, "READ(16) after the restart");
            CHECK(task->datain.size == (int)chunk, "short READ(16)");
            got = task->datain.data;
        }
        d = test_memdiff(got, file + off, chunk);
        CHECK(d < 0, "%s: after the restart the server serves other bytes "
              "than the file holds, at offset %zu", sides[side].name,
              off + (size_t)d);
        if (task) {
            scsi_free_scsi_task(task);
        }
    }
    free(buf);
}

static uint8_t *
dur_read_file(const char *path)
{
    size_t len = (size_t)DUR_BLOCKS * DUR_BS;
    uint8_t *p = malloc(len);
    int fd = open(path, O_RDONLY);

    CHECK(p != NULL, "out of memory");
    CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
    CHECK(pread(fd, p, len, 0) == (ssize_t)len, "read %s: %s", path,
          strerror(errno));
    close(fd);
    return p;
}

/* Every block against the model, right after the kill. */
static void
dur_verify(struct dur_side *sd, const uint8_t *file, unsigned cycle)
{
    for (uint32_t b = 0; b < DUR_BLOCKS; b++) {
        uint64_t gen = 0;
        enum dur_state s = dur_check_block(file + (size_t)b * DUR_BS, sd->id,
                                           b, &gen);

        if (sd->durable[b] > 0) {
            sd->st.blocks_durable_checked++;
        }
        if (sd->acked[b] > 0) {
            sd->st.acked_total++;
        }
        switch (s) {
        case B_ZERO:
            CHECK(sd->durable[b] == 0, "cycle %u: %s block %u reads as zeros "
                  "but generation %" PRIu64 " was acknowledged durable",
                  cycle, sd->name, b, sd->durable[b]);
            break;
        case B_VALID:
            CHECK(gen >= sd->durable[b], "cycle %u: %s block %u holds "
                  "generation %" PRIu64 ", older than the durable %" PRIu64,
                  cycle, sd->name, b, gen, sd->durable[b]);
            if (gen > sd->durable[b] && sd->durable[b] > 0) {
                sd->st.newer_than_durable++;
            }
            if (sd->acked[b] > 0 && gen >= sd->acked[b]) {
                sd->st.acked_kept++;
            }
            break;
        case B_TORN:
            CHECK(sd->busy[b], "cycle %u: %s block %u is torn and no write "
                  "to it was in flight (durable generation %" PRIu64 ")",
                  cycle, sd->name, b, sd->durable[b]);
            sd->st.torn_inflight++;
            break;
        case B_MISPLACED:
            FAIL("cycle %u: %s block %u holds a block written elsewhere",
                 cycle, sd->name, b);
        }
    }
}

/* Make the directory of the images; for O_DIRECT, one that takes it. */
static void
dur_image_dir(const struct test_server *s, char *dir, size_t len)
{
#ifdef DUR_DIRECT
    const char *cands[] = { s->dir, "/var/tmp" };

    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        char probe[600];
        int fd;

        if (i == 0) {
            snprintf(dir, len, "%s", s->dir);
        } else {
            snprintf(dir, len, "%s/polltgt-durable.XXXXXX", cands[i]);
            if (mkdtemp(dir) == NULL) {
                continue;
            }
        }
        snprintf(probe, sizeof probe, "%s/probe", dir);
        fd = open(probe, O_RDWR | O_CREAT | O_DIRECT, 0600);
        unlink(probe);
        if (fd >= 0) {
            close(fd);
            return;
        }
        fprintf(stderr, "%s: O_DIRECT refused in %s (%s)\n", test_name, dir,
                strerror(errno));
        if (i > 0) {
            rmdir(dir);
        }
    }
    test_skip("no directory here takes O_DIRECT (TMPDIR, /var/tmp)");
#else
    snprintf(dir, len, "%s", s->dir);
#endif
}

static void
dur_make_image(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

    CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
    CHECK(ftruncate(fd, (off_t)DUR_BLOCKS * DUR_BS) == 0, "ftruncate: %s",
          strerror(errno));
    close(fd);
}

static unsigned
dur_env_uint(const char *name, unsigned def)
{
    const char *v = getenv(name);

    return v && v[0] ? (unsigned)strtoul(v, NULL, 10) : def;
}

int
main(void)
{
    static struct test_server srv;
    unsigned cycles = dur_env_uint("DURABILITY_CYCLES", 3);
    unsigned seed = dur_env_uint("DURABILITY_SEED", (unsigned)time(NULL));
    const char *direct = "no";
    char imgdir[400];
    int64_t t0;

    /* About 1.5 s per cycle, plus the restarts. */
    test_init(DUR_NAME, 30 + cycles * 5);
    rng_state = (uint64_t)seed * 2 + 1;
    printf("%s: %u cycles, DURABILITY_SEED=%u\n", test_name, cycles, seed);

    test_server_prepare(&srv);
    dur_image_dir(&srv, imgdir, sizeof imgdir);
#ifdef DUR_DIRECT
    direct = "yes";
#endif
    sides[SIDE_NBD].id = SIDE_NBD;
    sides[SIDE_NBD].name = "NBD";
    sides[SIDE_SCSI].id = SIDE_SCSI;
    sides[SIDE_SCSI].name = "iSCSI";
    for (int i = 0; i < NSIDES; i++) {
        snprintf(sides[i].path, sizeof sides[i].path, "%s/%s.img", imgdir,
                 i == SIDE_NBD ? "nbd" : "scsi");
        dur_make_image(sides[i].path);
    }
    snprintf(conf, sizeof conf, conf_fmt, sides[SIDE_NBD].path, direct,
             sides[SIDE_SCSI].path, direct);
    test_iscsi_server_start(&srv, conf);
    CHECK(!test_server_log_has(&srv, "without direct I/O"),
          "the exports must really use the configured direct = %s", direct);

    t0 = test_now_ms();
    for (unsigned cycle = 1; cycle <= cycles; cycle++) {
        struct nbd_handle *nbd = dur_nbd_connect(&srv);
        struct iscsi_context *ic = dur_scsi_connect(&srv);
        int64_t kill_at = test_now_ms() + 50 + dur_below(450);
        uint8_t *file[NSIDES];

        killed = false;
        while (test_now_ms() < kill_at) {
            struct pollfd pfd[2];
            unsigned dir;
            int r;

            for (int i = 0; i < NSIDES; i++) {
                while (sides[i].inflight < DUR_QD) {
                    unsigned before = sides[i].inflight;

                    dur_submit(&sides[i], nbd, ic);
                    if (sides[i].inflight == before) {
                        break; /* no free run this time */
                    }
                }
            }
            dir = nbd_aio_get_direction(nbd);
            pfd[0].fd = nbd_aio_get_fd(nbd);
            pfd[0].events = (short)(((dir & LIBNBD_AIO_DIRECTION_READ) ? POLLIN : 0)
                                    | ((dir & LIBNBD_AIO_DIRECTION_WRITE) ? POLLOUT : 0));
            pfd[1].fd = iscsi_get_fd(ic);
            pfd[1].events = (short)iscsi_which_events(ic);
            r = poll(pfd, 2, 20);
            CHECK(r >= 0 || errno == EINTR, "poll: %s", strerror(errno));
            if (r <= 0) {
                continue;
            }
            if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                CHECK(nbd_aio_notify_read(nbd) == 0, "NBD: %s",
                      nbd_get_error());
            }
            if (pfd[0].revents & POLLOUT) {
                CHECK(nbd_aio_notify_write(nbd) == 0, "NBD: %s",
                      nbd_get_error());
            }
            CHECK(iscsi_service(ic, pfd[1].revents) == 0, "iSCSI: %s",
                  iscsi_get_error(ic));
        }

        /* Crash.  What is still in flight is what may be torn. */
        test_server_kill(&srv);
        killed = true;
        /* The ring's last O_DIRECT writes may complete just after the
         * process is reaped (io_uring tears down asynchronously). */
        test_sleep_ms(50);
        for (int i = 0; i < NSIDES; i++) {
            sides[i].st.inflight_at_kill += sides[i].inflight;
            file[i] = dur_read_file(sides[i].path);
            dur_verify(&sides[i], file[i], cycle);
        }
        nbd_close(nbd);
        iscsi_destroy_context(ic);
        for (int i = 0; i < NSIDES; i++) {
            for (unsigned k = 0; k < DUR_SLOTS; k++) {
                if (sides[i].slots[k].used) {
                    dur_op_put(&sides[i].slots[k]);
                }
            }
            /* Unflushed writes stay unflushed: the next flush is on a new
             * server and cannot cover them. */
            sides[i].nunflushed = 0;
        }

        test_iscsi_server_start(&srv, conf);
        nbd = dur_nbd_connect(&srv);
        ic = dur_scsi_connect(&srv);
        dur_check_served(nbd, ic, file[SIDE_NBD], SIDE_NBD);
        dur_check_served(nbd, ic, file[SIDE_SCSI], SIDE_SCSI);
        CHECK(nbd_shutdown(nbd, 0) == 0, "nbd_shutdown: %s", nbd_get_error());
        nbd_close(nbd);
        test_iscsi_logout(ic, "after the check");
        free(file[SIDE_NBD]);
        free(file[SIDE_SCSI]);
    }

    for (int i = 0; i < NSIDES; i++) {
        const struct dur_stats *st = &sides[i].st;

        printf("%s: %s: %u kills in %.1f s; %" PRIu64 " writes acked (%"
               PRIu64 " FUA), %" PRIu64 " flushes acked; %" PRIu64
               " block checks with a durable generation, all present (%"
               PRIu64 " newer); %" PRIu64 " requests in flight at the "
               "kills, %" PRIu64 " torn blocks under them; newest acked "
               "generation kept in %" PRIu64 " of %" PRIu64 " block checks\n",
               test_name, sides[i].name, cycles,
               (double)(test_now_ms() - t0) / 1000.0, st->writes_acked,
               st->fua_acked, st->flushes_acked, st->blocks_durable_checked,
               st->newer_than_durable, st->inflight_at_kill,
               st->torn_inflight, st->acked_kept, st->acked_total);
        CHECK(st->fua_acked > 0 && st->flushes_acked > 0,
              "%s: the run must have acknowledged FUA writes and flushes",
              sides[i].name);
        free(sides[i].unflushed);
    }
    if (strcmp(imgdir, srv.dir) != 0) {
        /* The /var/tmp fallback of the O_DIRECT build. */
        unlink(sides[SIDE_NBD].path);
        unlink(sides[SIDE_SCSI].path);
        rmdir(imgdir);
    }
    test_server_stop(&srv);
    return test_finish();
}
