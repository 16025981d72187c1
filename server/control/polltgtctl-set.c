/* SPDX-License-Identifier: MIT */
/*
 * polltgtctl set and reload: the commands that change the running server.
 * Both send their words as one request line, joined by single spaces, and
 * print the server's one-line answer.  The server checks keys and values
 * itself (against the same table as polltgt.ini), so the client refuses
 * only what cannot be framed: a line break inside an argument, or a
 * request longer than CONTROL_MAX_REQUEST.
 */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "control/control-protocol.h"
#include "control/polltgtctl-internal.h"
#include "util/strbuf.h"

/* set and reload: the server's one-line answer on stdout. */
int
ctl_cmd_set(const struct ctl_opts *o, int argc, char **argv)
{
    struct strbuf req;
    struct ctl_answer ans;
    int r;

    if (strcmp(argv[0], "set") == 0 && argc < 4) {
        return ctl_usage_error("%s: expected set ID|all KEY VALUE", "set");
    }
    if (strcmp(argv[0], "reload") == 0 && argc > 1) {
        return ctl_usage_error("unexpected argument '%s'", argv[1]);
    }
    strbuf_init(&req);
    for (int i = 0; i < argc; i++) {
        if (argv[i][strcspn(argv[i], "\r\n")] != '\0') {
            strbuf_free(&req);
            return ctl_usage_error("%s: an argument has a line break",
                                   argv[0]);
        }
        strbuf_printf(&req, "%s%s", i ? " " : "", argv[i]);
    }
    if (strbuf_failed(&req) || req.len >= CONTROL_MAX_REQUEST) {
        strbuf_free(&req);
        return ctl_usage_error("%s: the request is too long", argv[0]);
    }
    r = ctl_ask(o, req.s, &ans);
    strbuf_free(&req);
    if (r == CTL_EXIT_OK) {
        r = ctl_write_body(&ans);
        free(ans.body);
    }
    return r;
}
