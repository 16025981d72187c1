/* SPDX-License-Identifier: MIT */
/*
 * polltgtd: command line, start and stop order, exit codes.
 *
 * Order matters: the configuration is loaded and checked before anything
 * is started (so --check-config and a real start reject exactly the same
 * files), signals are blocked before any thread exists (so only the main
 * thread's libev loop receives them), and the daemonising parent exits
 * only once startup has succeeded.
 *
 * Exit codes: 0 clean shutdown or valid config; 1 bad configuration or a
 * failed start; 2 bad command line.
 */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "mainloop.h"
#include "privs.h"
#include "tls.h"
#include "server.h"
#include "systemd.h"

enum {
    OPT_CHECK_CONFIG = 256,
    OPT_LOG_LEVEL,
    OPT_EXIT_WITH_PARENT,
};

static const struct option long_options[] = {
    { "config", required_argument, NULL, 'c' },
    { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
    { "foreground", no_argument, NULL, 'f' },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "exit-with-parent", no_argument, NULL, OPT_EXIT_WITH_PARENT },
    { "version", no_argument, NULL, 'V' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static void
usage(FILE *fp)
{
    fprintf(fp,
            "Usage: polltgtd [OPTION]...\n"
            "Serve disks over NBD and iSCSI from adaptive-polling I/O threads.\n"
            "\n"
            "  -c, --config=FILE      configuration file (default %s)\n"
            "      --check-config     validate the configuration and exit\n"
            "  -f, --foreground       stay in the foreground, log to stderr\n"
            "      --log-level=LEVEL  error, warn, info or debug (overrides the file)\n"
            "      --exit-with-parent exit when the parent process exits\n"
            "  -V, --version          print the version and exit\n"
            "  -h, --help             print this help and exit\n"
            "\n"
            "Signals: SIGHUP reloads the configuration, SIGTERM/SIGINT stop.\n"
            "See polltgtd(8) and polltgt.ini(5).\n",
            CONFIG_DEFAULT_PATH);
}

/* Print the loader's report, one line per problem, to stderr. */
static void
print_config_errors(const char *errmsg)
{
    fprintf(stderr, "%s", errmsg ? errmsg : "configuration error\n");
}

/*
 * Everything that needs root is open: ports, backing files, the status
 * socket.  Become [server] user; the PID file becomes the user's first,
 * so it can still be emptied at exit (removing it needs its directory).
 */
static int
drop_privileges(const struct config *cfg)
{
    if (cfg->run_uid >= 0 && cfg->pidfile &&
        chown(cfg->pidfile, (uid_t)cfg->run_uid, (gid_t)cfg->run_gid) < 0) {
        log_warn("pidfile %s: cannot hand it to user %ld: %m", cfg->pidfile,
                 cfg->run_uid);
    }
    if (privs_drop(cfg->run_uid, cfg->run_gid) < 0) {
        return -EPERM;
    }
    privs_warn_if_root(cfg->run_uid);
    return 0;
}

/*
 * --check-config: load the TLS credentials the start would load (the PEM
 * files parsed, certificate and key checked to be a pair, CA and CRL
 * parsed, the PSK file read), so that a bad file is reported by the check
 * and not first at start or on reload.  Returns 0 or 1 (exit code).
 */
static int
check_tls(const struct config *cfg, const char *config_path)
{
    struct tls_creds *creds;
    char err[1024];

    if (cfg->nbd_tls.mode == CONFIG_TLS_OFF) {
        return 0;
    }
    if (tls_creds_load(&cfg->nbd_tls, "nbd", &creds, err, sizeof err) < 0) {
        fprintf(stderr, "polltgtd: %s: %s\n", config_path, err);
        return 1;
    }
    printf("%s: [nbd] TLS credentials: %s\n", config_path,
           tls_creds_kind(creds));
    tls_creds_unref(creds);
    return 0;
}

int
main(int argc, char **argv)
{
    const char *config_path = CONFIG_DEFAULT_PATH;
    bool check_only = false, foreground = false, exit_with_parent = false;
    bool level_given = false;
    enum log_level level = LOG_LEVEL_INFO;
    struct config *cfg = NULL;
    struct mainloop *ml = NULL;
    struct server *srv = NULL;
    char *errmsg = NULL;
    int c, r, status = 1;

    /* A process started with stdin/stdout/stderr closed would hand those
     * numbers to its first sockets, and a later write to "stderr" would go
     * to a client: make sure 0, 1 and 2 are open. */
    for (int fd; (fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0;) {
        if (fd > 2) {
            close(fd);
            break;
        }
        fcntl(fd, F_SETFD, 0);
    }

    while ((c = getopt_long(argc, argv, "c:fVh", long_options, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case OPT_CHECK_CONFIG:
            check_only = true;
            break;
        case 'f':
            foreground = true;
            break;
        case OPT_LOG_LEVEL:
            if (log_level_parse(optarg, &level) < 0) {
                fprintf(stderr,
                        "polltgtd: --log-level: invalid value '%s': expected "
                        "error, warn, info or debug\n",
                        optarg);
                return 2;
            }
            level_given = true;
            break;
        case OPT_EXIT_WITH_PARENT:
            exit_with_parent = true;
            break;
        case 'V':
            printf("%s\n", PACKAGE_STRING);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "polltgtd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    /* Before anything forks: LISTEN_PID names this process. */
    char sderr[256];
    if (!check_only && systemd_init(sderr, sizeof sderr) < 0) {
        fprintf(stderr, "polltgtd: %s\n", sderr);
        return 1;
    }
    if (exit_with_parent && !foreground && !check_only) {
        fprintf(stderr, "polltgtd: --exit-with-parent needs --foreground\n");
        return 2;
    }
    /* Relative paths, in argv and in the file, stay relative to where we
     * were started, also for reloads after daemonising. */
    char cwd[PATH_MAX] = "";
    if (getcwd(cwd, sizeof cwd)) {
        config_set_base_dir(cwd);
    }
    char abs_config[PATH_MAX];
    if (config_path[0] != '/' && cwd[0] &&
        snprintf(abs_config, sizeof abs_config, "%s/%s", cwd, config_path) <
            (int)sizeof abs_config) {
        config_path = abs_config;
    }

    r = config_load(config_path, &cfg, &errmsg);
    if (r < 0) {
        print_config_errors(errmsg);
        free(errmsg);
        return 1;
    }
    if (check_only) {
        r = check_tls(cfg, config_path);
        if (r == 0) {
            printf("%s: OK: %u I/O thread%s, %zu export%s\n", config_path,
                   cfg->iothreads, cfg->iothreads == 1 ? "" : "s",
                   cfg->nexports, cfg->nexports == 1 ? "" : "s");
        }
        config_free(cfg);
        return r;
    }

    log_set_level(cfg->log_level);
    if (level_given) {
        log_pin_level(level);
    }
    if (exit_with_parent && daemon_exit_with_parent() < 0) {
        fprintf(stderr, "polltgtd: --exit-with-parent: the parent has gone "
                "already; not starting\n");
        config_free(cfg);
        return 1;
    }
    if (!foreground) {
        r = daemon_start();
        if (r < 0) {
            fprintf(stderr, "polltgtd: cannot daemonise: %s\n", strerror(-r));
            config_free(cfg);
            return 1;
        }
        log_set_sink(LOG_SINK_SYSLOG, "polltgtd");
    }

    /* Sockets report a vanished peer as EPIPE, never as a signal. */
    signal(SIGPIPE, SIG_IGN);

    if (cfg->pidfile && daemon_write_pidfile(cfg->pidfile) < 0) {
        config_free(cfg);
        return 1;
    }
    r = mainloop_new(&ml, config_path, cfg);
    if (r < 0) {
        log_error("cannot create the main loop: %s", strerror(-r));
        goto out;
    }
    cfg = NULL; /* owned by the main loop now */
    r = server_start(&srv, ml);
    if (r < 0) {
        goto out;
    }
    if (drop_privileges(mainloop_config(ml)) < 0) {
        goto out;
    }
    log_info("%s started: config %s, pid %ld", PACKAGE_STRING, config_path,
             (long)getpid());
    daemon_ready();
    systemd_notify("READY=1\nMAINPID=%ld\nSTATUS=serving %zu export%s",
                   (long)getpid(), mainloop_config(ml)->nexports,
                   mainloop_config(ml)->nexports == 1 ? "" : "s");
    mainloop_run(ml);
    systemd_notify("STOPPING=1\nSTATUS=stopping: draining clients");
    status = 0;

out:
    server_stop(srv);
    if (ml && mainloop_config(ml)->pidfile) {
        daemon_remove_pidfile(mainloop_config(ml)->pidfile);
    } else if (cfg && cfg->pidfile) {
        daemon_remove_pidfile(cfg->pidfile);
    }
    mainloop_free(ml);
    config_free(cfg);
    if (status == 0) {
        log_info("stopped");
    }
    return status;
}
