/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the INI loader.  The input is a configuration file's
 * text, given to config_load_string, the entry point polltgtd's
 * config_load and --check-config share after reading the file: inih's
 * tokenizer, every key's value parser (sizes, durations, addresses,
 * ACLs, IQNs, lists), the cross-checks of config-finish.c and the error
 * messages.  An accepted configuration is also walked the way the
 * server reads it (each export looked up by name), and freed; LSan
 * catches what either path leaks.  Nothing is opened: no backend, no
 * socket.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct config *cfg = NULL;
    char *err = NULL;
    char *text;

    if (!ready) {
        log_pin_level(LOG_LEVEL_ERROR);
        ready = true;
    }
    /* A file's text: NUL-terminated, and cut at an embedded NUL. */
    text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (config_load_string("fuzz.ini", text, &cfg, &err) == 0) {
        for (size_t i = 0; i < cfg->nexports; i++) {
            const char *name = cfg->exports[i].name;

            if (config_find_export(cfg, name) == NULL) {
                abort(); /* every export is found by its own name */
            }
        }
        config_free(cfg);
    }
    free(err);
    free(text);
    return 0;
}
