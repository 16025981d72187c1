/* SPDX-License-Identifier: MIT */
/* Names of NBD options, replies, commands and errors, for log lines. */
#ifndef POLLTGT_NBD_NBD_NAMES_H
#define POLLTGT_NBD_NBD_NAMES_H

#include <stdint.h>

const char *nbd_name_opt(uint32_t opt);
const char *nbd_name_rep(uint32_t rep);
const char *nbd_name_cmd(uint16_t cmd);

#endif /* POLLTGT_NBD_NBD_NAMES_H */
