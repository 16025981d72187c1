/* SPDX-License-Identifier: MIT */
/*
 * polltgtctl metrics: the server's Prometheus text exposition, copied to
 * stdout byte for byte.  polltgtctl does not parse it, so a scraper gets
 * exactly what the daemon wrote, whatever the version of either.
 */
#include <config.h>

#include <stdlib.h>

#include "control/polltgtctl-internal.h"

int
ctl_cmd_metrics(const struct ctl_opts *o, int argc, char **argv)
{
    struct ctl_answer ans;
    int r;

    if (argc > 1) {
        return ctl_usage_error("unexpected argument '%s'", argv[1]);
    }
    r = ctl_ask(o, "metrics", &ans);
    if (r == CTL_EXIT_OK) {
        r = ctl_write_body(&ans);
        free(ans.body);
    }
    return r;
}
