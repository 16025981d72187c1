/* SPDX-License-Identifier: MIT */
/*
 * Print every configuration key the loader accepts, one per line:
 * "section<TAB>key<TAB>default" (default empty when there is none), in the
 * order of config-keys.c's tables.  tests/docs/test-docs-keys.sh compares
 * this list with man/polltgt.ini.5, so a key added to the tables without a
 * manual entry fails `make check` instead of going undocumented.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "server/config.h"

static void
print_key(const char *section, const char *key, const char *dflt,
          void *opaque)
{
    printf("%s\t%s\t%s\n", section, key, dflt ? dflt : "");
}

int
main(void)
{
    config_foreach_key(print_key, NULL);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("dump-keys: stdout");
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
