/* SPDX-License-Identifier: MIT */
/*
 * See mainloop.h.  Signals are taken by libev watchers on the default loop,
 * so the handlers run as ordinary callbacks on the main thread and may
 * allocate, log and parse; I/O threads block every signal at creation so
 * that the kernel always delivers to this thread.
 */
#include <config.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "log.h"
#include "mainloop.h"
#include "systemd.h"

struct mainloop {
    struct ev_loop *loop;
    char *config_path;
    struct config *cfg;
    struct config_reload_hooks hooks;
    ev_signal sigterm, sigint, sighup;
};

static void
mainloop_on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct mainloop *ml = w->data;

    log_info("received SIG%s: shutting down", sigabbrev_np(w->signum));
    mainloop_stop(ml);
}

static void
mainloop_on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct mainloop *ml = w->data;

    log_info("received SIGHUP: reloading %s", ml->config_path);
    (void)mainloop_reload(ml, NULL);
}

int
mainloop_new(struct mainloop **out, const char *config_path, struct config *cfg)
{
    struct mainloop *ml = calloc(1, sizeof *ml);

    if (ml == NULL) {
        return -ENOMEM;
    }
    ml->loop = ev_default_loop(EVFLAG_AUTO | EVFLAG_SIGNALFD);
    ml->config_path = strdup(config_path);
    if (ml->loop == NULL || ml->config_path == NULL) {
        free(ml->config_path);
        free(ml);
        return -ENOMEM;
    }
    ml->cfg = cfg;

    ev_signal_init(&ml->sigterm, mainloop_on_stop_signal, SIGTERM);
    ev_signal_init(&ml->sigint, mainloop_on_stop_signal, SIGINT);
    ev_signal_init(&ml->sighup, mainloop_on_sighup, SIGHUP);
    ml->sigterm.data = ml->sigint.data = ml->sighup.data = ml;
    ev_signal_start(ml->loop, &ml->sigterm);
    ev_signal_start(ml->loop, &ml->sigint);
    ev_signal_start(ml->loop, &ml->sighup);
    *out = ml;
    return 0;
}

void
mainloop_free(struct mainloop *ml)
{
    if (ml == NULL) {
        return;
    }
    ev_signal_stop(ml->loop, &ml->sigterm);
    ev_signal_stop(ml->loop, &ml->sigint);
    ev_signal_stop(ml->loop, &ml->sighup);
    config_free(ml->cfg);
    free(ml->config_path);
    free(ml);
}

struct config *
mainloop_config(struct mainloop *ml)
{
    return ml->cfg;
}

void
mainloop_set_reload_hooks(struct mainloop *ml,
                          const struct config_reload_hooks *hooks)
{
    ml->hooks = *hooks;
}

struct ev_loop *
mainloop_ev(struct mainloop *ml)
{
    return ml->loop;
}

int
mainloop_reload(struct mainloop *ml, char **errmsg)
{
    struct config *next = NULL;
    char *msg = NULL;
    int r;

    systemd_notify_reloading();
    r = config_load(ml->config_path, &next, &msg);
    if (r < 0) {
        /* Log each line of the loader's report, then keep running. */
        for (char *line = msg, *nl; line && *line; line = nl + 1) {
            nl = strchr(line, '\n');
            if (nl) {
                *nl = '\0';
            }
            log_error("reload: %s", line);
            if (nl == NULL) {
                break;
            }
            *nl = '\n';
        }
        log_error("reload: %s has errors; keeping the running configuration",
                  ml->config_path);
        systemd_notify("READY=1\nSTATUS=serving; the last reload failed: "
                       "see the log");
        if (errmsg) {
            *errmsg = msg;
        } else {
            free(msg);
        }
        return -EINVAL;
    }
    r = config_reload_apply(ml->cfg, next, &ml->hooks);
    log_info("reload: done, %d live change%s applied", r, r == 1 ? "" : "s");
    systemd_notify("READY=1\nSTATUS=serving; reloaded, %d live change%s", r,
                   r == 1 ? "" : "s");
    config_free(next);
    return r;
}

int
mainloop_set_param(struct mainloop *ml, int id, const char *key,
                   const char *value, char *err, size_t errlen)
{
    return config_reload_set(ml->cfg, id, key, value, &ml->hooks, err, errlen);
}

void
mainloop_run(struct mainloop *ml)
{
    ev_run(ml->loop, 0);
}

void
mainloop_stop(struct mainloop *ml)
{
    ev_break(ml->loop, EVBREAK_ALL);
}
