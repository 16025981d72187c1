/* SPDX-License-Identifier: MIT */
/*
 * Functions behind the CLEANUP_* attributes of cleanup.h.  They take a
 * pointer to the variable, as __attribute__((cleanup)) requires.
 */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"

void
cleanup_free(void *ptr)
{
    free(*(void **)ptr);
}

void
cleanup_close(int *fd)
{
    if (*fd >= 0) {
        int saved = errno;
        close(*fd);
        errno = saved;
    }
}

void
cleanup_fclose(FILE **fp)
{
    if (*fp) {
        fclose(*fp);
    }
}

void
cleanup_unlock(pthread_mutex_t **mutex)
{
    pthread_mutex_unlock(*mutex);
}
