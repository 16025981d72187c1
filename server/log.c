/* SPDX-License-Identifier: MIT */
/*
 * The log sinks.  stderr lines carry a wall-clock timestamp and the level so
 * an operator running in the foreground can correlate them with client
 * activity; syslog adds its own timestamp, so that sink sends the message
 * alone with the matching priority.
 */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

enum log_level log_current_level = LOG_LEVEL_INFO;
static enum log_sink log_sink = LOG_SINK_STDERR;

static const char *const log_level_names[] = {
    [LOG_LEVEL_ERROR] = "error",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_DEBUG] = "debug",
};

void
log_set_sink(enum log_sink sink, const char *ident)
{
    log_sink = sink;
    if (sink == LOG_SINK_SYSLOG) {
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    }
}

/* Set by --log-level: the command line beats the file, also on reload. */
static bool log_level_pinned;

void
log_set_level(enum log_level level)
{
    if (!log_level_pinned) {
        log_current_level = level;
    }
}

void
log_pin_level(enum log_level level)
{
    log_current_level = level;
    log_level_pinned = true;
}

const char *
log_level_name(enum log_level level)
{
    if ((unsigned)level < sizeof log_level_names / sizeof log_level_names[0]) {
        return log_level_names[level];
    }
    return "?";
}

int
log_level_parse(const char *s, enum log_level *out)
{
    for (unsigned i = 0; i < sizeof log_level_names / sizeof log_level_names[0];
         i++) {
        if (strcmp(s, log_level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (strcmp(s, "warning") == 0) {
        *out = LOG_LEVEL_WARN;
        return 0;
    }
    return -EINVAL;
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    static const int syslog_prio[] = {
        [LOG_LEVEL_ERROR] = LOG_ERR,
        [LOG_LEVEL_WARN] = LOG_WARNING,
        [LOG_LEVEL_INFO] = LOG_INFO,
        [LOG_LEVEL_DEBUG] = LOG_DEBUG,
    };
    int saved_errno = errno;

    if (level > log_current_level) {
        return;
    }
    if (log_sink == LOG_SINK_SYSLOG) {
        errno = saved_errno;
        vsyslog(syslog_prio[level], fmt, ap);
    } else {
        char stamp[32], line[2048];
        struct timeval tv;
        struct tm tm;

        gettimeofday(&tv, NULL);
        localtime_r(&tv.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        errno = saved_errno;
        vsnprintf(line, sizeof line, fmt, ap);
        /* One fprintf per line: stdio locks the stream, so lines from
         * several threads do not interleave. */
        fprintf(stderr, "%s.%03ld polltgtd[%s]: %s\n", stamp,
                (long)(tv.tv_usec / 1000), log_level_name(level), line);
    }
    errno = saved_errno;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
