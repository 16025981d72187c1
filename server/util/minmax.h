/* SPDX-License-Identifier: MIT */
/* Type-generic MIN/MAX that evaluate their arguments once. */
#ifndef POLLTGT_UTIL_MINMAX_H
#define POLLTGT_UTIL_MINMAX_H

#define MIN(a, b) ({ __typeof__(a) a_ = (a); __typeof__(b) b_ = (b); \
                     a_ < b_ ? a_ : b_; })
#define MAX(a, b) ({ __typeof__(a) a_ = (a); __typeof__(b) b_ = (b); \
                     a_ > b_ ? a_ : b_; })

#endif /* POLLTGT_UTIL_MINMAX_H */
