/* SPDX-License-Identifier: MIT */
/*
 * polltgtctl: the command-line client of polltgtd's status socket.
 *
 * It speaks the protocol of control-protocol.h (one request line, one
 * framed "OK|ERR <length>" answer) and turns the JSON documents into
 * tables, or into a top(1)-like view of rates computed from two snapshots.
 * It links none of the daemon: only the protocol header, the string
 * buffer, and a JSON reader of its own (polltgtctl-json.c), so it runs on
 * any host that can reach the socket.
 *
 * This file reads the global options and runs a command from the table;
 * each command lives in polltgtctl-<command>.c and talks to the server
 * through polltgtctl-client.c.  Exit status: 0 done, 1 the server
 * answered ERR, 2 usage error, 3 cannot connect or no valid answer.
 */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/control-protocol.h"
#include "control/polltgtctl-internal.h"
#include "control/polltgtctl-table.h"

/* Long enough for a `stats` of thousands of connections on a loaded
 * server, short enough that a script notices a hung daemon. */
#define CTL_DEFAULT_TIMEOUT_S 10.0

const char *const ctl_progname = "polltgtctl";

/* --- Commands --------------------------------------------------------- */

static void
ctl_usage(FILE *fp)
{
    fprintf(fp,
            "Usage: %s [-s SOCKET] [-t SECONDS] COMMAND [ARGS]\n"
            "Query and tune a running polltgtd through its status socket.\n"
            "\n"
            "Commands:\n"
            "  stats [--json]            I/O threads, exports and connections\n"
            "  iothreads [--json]        I/O threads and their polling loops\n"
            "  exports [--json]          exports and their I/O counters\n"
            "  connections [--json]      client connections\n"
            "  top [-d SECONDS] [-n N]   rates, refreshed every SECONDS (1)\n"
            "  metrics                   Prometheus text exposition format\n"
            "  set ID|all KEY VALUE      change a poll tunable of an I/O "
            "thread\n"
            "                            (policy, max-ns, grow, shrink, "
            "weight,\n"
            "                            idle-timeout-ms), as in polltgt.ini\n"
            "  reload                    re-read the configuration file\n"
            "  version                   versions of polltgtctl and polltgtd\n"
            "  help                      this text\n"
            "\n"
            "Options:\n"
            "  -s, --socket=SOCKET       the status socket (default: "
            "$POLLTGT_SOCKET,\n"
            "                            else %s in this directory)\n"
            "  -t, --timeout=SECONDS     give up on a silent server (default "
            "%g)\n"
            "  -h, --help                this text\n"
            "  -V, --version             the version of polltgtctl\n"
            "\n"
            "Exit status: 0 done, 1 refused by the server, 2 usage error,\n"
            "3 cannot connect or no valid answer.  See polltgtctl(8).\n",
            ctl_progname, CONTROL_DEFAULT_SOCKET, CTL_DEFAULT_TIMEOUT_S);
}

int
ctl_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", ctl_progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s help'.\n", ctl_progname);
    return CTL_EXIT_USAGE;
}

static int
ctl_cmd_help(const struct ctl_opts *o, int argc, char **argv)
{
    ctl_usage(stdout);
    return CTL_EXIT_OK;
}

static int
ctl_cmd_version(const struct ctl_opts *o, int argc, char **argv)
{
    struct ctl_answer ans;
    int r;

    if (argc > 1) {
        return ctl_usage_error("unexpected argument '%s'", argv[1]);
    }
    printf("polltgtctl %s\n", PACKAGE_VERSION);
    fflush(stdout);
    r = ctl_ask(o, "version", &ans);
    if (r == CTL_EXIT_OK) {
        printf("polltgtd: %s", ans.body);
        free(ans.body);
    }
    return r;
}

/* --- main ------------------------------------------------------------- */

struct ctl_cmd {
    const char *name;
    int (*run)(const struct ctl_opts *o, int argc, char **argv);
};

static const struct ctl_cmd ctl_cmds[] = {
    { "help", ctl_cmd_help },
    { "version", ctl_cmd_version },
    { "stats", ctl_cmd_stats },
    { "iothreads", ctl_cmd_stats },
    { "exports", ctl_cmd_stats },
    { "connections", ctl_cmd_stats },
    { "metrics", ctl_cmd_metrics },
    { "set", ctl_cmd_set },
    { "reload", ctl_cmd_set },
    { "top", ctl_cmd_top },
};

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "socket", required_argument, NULL, 's' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct ctl_opts o = { .timeout_s = CTL_DEFAULT_TIMEOUT_S };
    const char *env = getenv("POLLTGT_SOCKET");
    const char *codeset;
    int c, r;

    setlocale(LC_CTYPE, "");
    codeset = nl_langinfo(CODESET);
    ctl_fmt_set_utf8(codeset && strcmp(codeset, "UTF-8") == 0);

    o.socket = env && *env ? env : CONTROL_DEFAULT_SOCKET;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+s:t:hV", longopts, NULL)) != -1) {
        char *end;

        switch (c) {
        case 's':
            if (*optarg == '\0') {
                return ctl_usage_error("-s: the socket path is empty");
            }
            o.socket = optarg;
            break;
        case 't':
            errno = 0;
            o.timeout_s = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(o.timeout_s >= 0.1) ||
                o.timeout_s > 86400) {
                return ctl_usage_error("-t: invalid timeout '%s': expected "
                                       "seconds from 0.1 to 86400", optarg);
            }
            break;
        case 'h':
            ctl_usage(stdout);
            return CTL_EXIT_OK;
        case 'V':
            printf("polltgtctl %s\n", PACKAGE_VERSION);
            return CTL_EXIT_OK;
        default:
            if (optopt && strchr("st", optopt)) {
                return ctl_usage_error("option '%s' needs a value",
                                       argv[optind - 1]);
            }
            return ctl_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        return ctl_usage_error("no command given");
    }

    /* A reader that goes away (| head) is a write error, not a signal. */
    signal(SIGPIPE, SIG_IGN);

    for (size_t i = 0; i < sizeof ctl_cmds / sizeof ctl_cmds[0]; i++) {
        if (strcmp(argv[optind], ctl_cmds[i].name) == 0) {
            r = ctl_cmds[i].run(&o, argc - optind, argv + optind);
            if (fflush(stdout) != 0 || ferror(stdout)) {
                if (errno != EPIPE) {
                    fprintf(stderr, "%s: write error: %s\n", ctl_progname,
                            strerror(errno));
                }
                return r ? r : CTL_EXIT_REFUSED;
            }
            return r;
        }
    }
    return ctl_usage_error("unknown command '%s'", argv[optind]);
}
