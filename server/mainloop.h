/* SPDX-License-Identifier: MIT */
/*
 * The main thread's libev loop: signals (SIGTERM/SIGINT stop, SIGHUP
 * reloads), and later the listeners and the status socket.  It never
 * touches the data path: I/O threads are reached by messages.
 */
#ifndef POLLTGT_SERVER_MAINLOOP_H
#define POLLTGT_SERVER_MAINLOOP_H

#include "config.h"
#include "config-reload.h"

struct mainloop;

/* Takes ownership of cfg (the running configuration). */
int mainloop_new(struct mainloop **out, const char *config_path,
                 struct config *cfg) ATTR_NONNULL(1, 2, 3);
void mainloop_free(struct mainloop *ml);

struct config *mainloop_config(struct mainloop *ml) ATTR_NONNULL(1);
void mainloop_set_reload_hooks(struct mainloop *ml,
                               const struct config_reload_hooks *hooks)
    ATTR_NONNULL(1, 2);

/* The libev loop, for modules that add watchers (listeners, status). */
struct ev_loop *mainloop_ev(struct mainloop *ml) ATTR_NONNULL(1);

/*
 * Re-read the configuration file.  On error the running configuration
 * stays, the errors are logged and -EINVAL is returned with *errmsg set
 * (malloc'd) when errmsg is not NULL.  Returns the number of live changes.
 */
int mainloop_reload(struct mainloop *ml, char **errmsg) ATTR_NONNULL(1);

/* The status socket's `set`: see config_reload_set. */
int mainloop_set_param(struct mainloop *ml, int id, const char *key,
                       const char *value, char *err, size_t errlen)
    ATTR_NONNULL(1, 3, 4, 5);

/* Run until SIGTERM/SIGINT or mainloop_stop(). */
void mainloop_run(struct mainloop *ml) ATTR_NONNULL(1);
void mainloop_stop(struct mainloop *ml) ATTR_NONNULL(1);

#endif /* POLLTGT_SERVER_MAINLOOP_H */
