/* SPDX-License-Identifier: MIT */
/*
 * The APTPL state file of a logical unit's reservations (SPC-4's
 * "activate persist through power loss"): loading it when the LU is set
 * up (scsi_pr_set_file) and writing it for each PR OUT that changes the
 * state (scsi-pr-out.c).
 *
 * The file is lines of text: a magic line, the PRgeneration, one line per
 * registration (key, relative target port, initiator port name) and the
 * reservation if there is one.  It is written to a temporary name,
 * fsynced, renamed over the old one and the folder fsynced, so a crash
 * leaves the old state or the new, never half of one.  Unit attentions
 * and legacy reservations are not persisted (SPC-4: a power loss clears
 * them).
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "scsi/scsi-pr-internal.h"

#define PR_FILE_MAGIC "polltgt-pr 1"

/* fsync the folder of path, so a rename or unlink in it is durable. */
static int
pr_sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int fd, r = 0;
    size_t len;

    if (slash == NULL || (size_t)(slash - path) >= sizeof dir) {
        return 0;
    }
    len = slash == path ? 1 : (size_t)(slash - path); /* "/x": "/" */
    memcpy(dir, path, len);
    dir[len] = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) {
        r = -errno;
    }
    if (fd >= 0) {
        close(fd);
    }
    return r;
}

/* Write pr's registrations and reservation to pr->path (via a temporary
 * file, synced, renamed), or remove the file when APTPL is off. */
int
scsi_pr_save(const struct scsi_pr *pr, const char *path)
{
    char tmp[4096 + 8];
    FILE *f;
    int r = 0;

    if (!pr->aptpl) {
        if (unlink(path) < 0 && errno != ENOENT) {
            return -errno;
        }
        return pr_sync_dir(path);
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "we");
    if (f == NULL) {
        return -errno;
    }
    fprintf(f, "%s\ngeneration %u\n", PR_FILE_MAGIC, pr->generation);
    for (unsigned i = 0; i < pr->nregs; i++) {
        fprintf(f, "reg %016llx %u %s\n",
                (unsigned long long)pr->regs[i].key, pr->regs[i].nexus.rtpi,
                pr->regs[i].nexus.port);
    }
    if (pr->reserved) {
        fprintf(f, "reservation %u %d\n", pr->type, pr->holder);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
        r = -errno;
    }
    if (fclose(f) != 0 && r == 0) {
        r = -errno;
    }
    if (r == 0 && rename(tmp, path) < 0) {
        r = -errno;
    }
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    return pr_sync_dir(path);
}

static int
pr_load(struct scsi_pr *pr, FILE *f)
{
    char line[64 + SCSI_PR_PORT_MAX];
    bool magic = false;

    while (fgets(line, sizeof line, f)) {
        char port[SCSI_PR_PORT_MAX];
        unsigned long long key;
        unsigned a;
        int b;

        line[strcspn(line, "\n")] = '\0';
        if (!magic) {
            if (strcmp(line, PR_FILE_MAGIC) != 0) {
                return -EINVAL;
            }
            magic = true;
        } else if (sscanf(line, "generation %u", &a) == 1) {
            pr->generation = a;
        } else if (sscanf(line, "reg %llx %u %255s", &key, &a, port) == 3) {
            if (pr->nregs == SCSI_PR_MAX_REGS || a > UINT16_MAX) {
                return -EINVAL;
            }
            snprintf(pr->regs[pr->nregs].nexus.port, SCSI_PR_PORT_MAX, "%s",
                     port);
            pr->regs[pr->nregs].nexus.rtpi = (uint16_t)a;
            pr->regs[pr->nregs].key = key;
            pr->nregs++;
        } else if (sscanf(line, "reservation %u %d", &a, &b) == 2) {
            if (!pr_type_valid((uint8_t)a) || b < -1 || b >= (int)pr->nregs
                || (b < 0) != pr_type_all_registrants((uint8_t)a)) {
                return -EINVAL;
            }
            pr->reserved = true;
            pr->type = (uint8_t)a;
            pr->holder = b;
        } else if (line[0] != '\0') {
            return -EINVAL;
        }
    }
    if (ferror(f)) {
        return -EIO;
    }
    return magic ? 0 : -EINVAL;
}

int
scsi_pr_set_file(struct scsi_pr *pr, const char *path)
{
    FILE *f;
    int r = 0;

    pthread_mutex_lock(&pr->lock);
    free(pr->path);
    pr->path = strdup(path);
    if (pr->path == NULL) {
        r = -ENOMEM;
        goto out;
    }
    f = fopen(path, "re");
    if (f == NULL) {
        r = errno == ENOENT ? 0 : -errno;
    } else {
        r = pr_load(pr, f);
        fclose(f);
        pr->aptpl = r == 0;
    }
    if (r < 0) {
        log_error("%s: cannot load persistent reservations: %s", path,
                  r == -EINVAL ? "not a polltgt reservation file"
                               : strerror(-r));
        pr->nregs = 0;
        pr->reserved = false;
        pr->holder = -1;
    } else if (pr->nregs > 0) {
        log_info("%s: %u registration(s)%s restored (APTPL)", path,
                 pr->nregs, pr->reserved ? " and a reservation" : "");
    }
out:
    pr_update_busy(pr);
    pthread_mutex_unlock(&pr->lock);
    return r;
}
