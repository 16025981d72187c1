/* SPDX-License-Identifier: MIT */
/*
 * Logging: one sink chosen at startup (stderr in the foreground, syslog when
 * daemonised), four levels.  Every function preserves errno, so "%m" works
 * and a caller can log and then return -errno.  log_debug() costs a branch
 * when debug output is off.
 */
#ifndef POLLTGT_SERVER_LOG_H
#define POLLTGT_SERVER_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "util/compiler.h"

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
};

enum log_sink {
    LOG_SINK_STDERR,
    LOG_SINK_SYSLOG,
};

extern enum log_level log_current_level;

/* Called from main before any thread starts. */
void log_set_sink(enum log_sink sink, const char *ident);
void log_set_level(enum log_level level);
/* Set the level and ignore later log_set_level calls (--log-level). */
void log_pin_level(enum log_level level);

/* Parse "error|warn|info|debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out) ATTR_NONNULL(1, 2);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...) ATTR_FORMAT(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
    ATTR_FORMAT(2, 0);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)                                                     \
    do {                                                                  \
        if (log_current_level >= LOG_LEVEL_INFO) {                        \
            log_msg(LOG_LEVEL_INFO, __VA_ARGS__);                         \
        }                                                                 \
    } while (0)
#define log_debug(...)                                                    \
    do {                                                                  \
        if (unlikely(log_current_level >= LOG_LEVEL_DEBUG)) {             \
            log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__);                        \
        }                                                                 \
    } while (0)

#endif /* POLLTGT_SERVER_LOG_H */
