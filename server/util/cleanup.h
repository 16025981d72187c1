/* SPDX-License-Identifier: MIT */
/*
 * Scope-bound cleanup for setup, config and control paths, in the manner of
 * nbdkit's common/utils/cleanup.h.  The data path allocates nothing per
 * request and so never needs these.
 */
#ifndef POLLTGT_UTIL_CLEANUP_H
#define POLLTGT_UTIL_CLEANUP_H

#include <pthread.h>
#include <stdio.h>

void cleanup_free(void *ptr);
void cleanup_close(int *fd);
void cleanup_fclose(FILE **fp);
void cleanup_unlock(pthread_mutex_t **mutex);

#define CLEANUP_FREE   __attribute__((cleanup(cleanup_free)))
#define CLEANUP_CLOSE  __attribute__((cleanup(cleanup_close)))
#define CLEANUP_FCLOSE __attribute__((cleanup(cleanup_fclose)))

#define ACQUIRE_LOCK_FOR_CURRENT_SCOPE_2(m, line)                         \
    __attribute__((cleanup(cleanup_unlock))) pthread_mutex_t *             \
        cleanup_lock_##line = (pthread_mutex_lock(m), (m))
#define ACQUIRE_LOCK_FOR_CURRENT_SCOPE_1(m, line)                         \
    ACQUIRE_LOCK_FOR_CURRENT_SCOPE_2(m, line)
#define ACQUIRE_LOCK_FOR_CURRENT_SCOPE(m)                                 \
    ACQUIRE_LOCK_FOR_CURRENT_SCOPE_1(m, __LINE__)

#endif /* POLLTGT_UTIL_CLEANUP_H */
