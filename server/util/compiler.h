/* SPDX-License-Identifier: MIT */
/*
 * Compiler attributes used across polltgt.  Kept in one place so a header
 * that needs one does not drag in anything else.
 */
#ifndef POLLTGT_UTIL_COMPILER_H
#define POLLTGT_UTIL_COMPILER_H

#define ATTR_NONNULL(...)   __attribute__((nonnull(__VA_ARGS__)))
#define ATTR_FORMAT(f, a)   __attribute__((format(printf, f, a)))
#define ATTR_UNUSED         __attribute__((unused))
#define ATTR_WARN_UNUSED    __attribute__((warn_unused_result))
#define likely(x)           __builtin_expect(!!(x), 1)
#define unlikely(x)         __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a)       (sizeof(a) / sizeof((a)[0]))

#endif /* POLLTGT_UTIL_COMPILER_H */
