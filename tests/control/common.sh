# SPDX-License-Identifier: MIT
# Shared by the status socket tests; source after functions.sh:
#   . "$abs_top_srcdir/tests/control/common.sh"
# start_ctl_daemon [IOTHREADS] writes $CONF (a 64 MiB memory export disk0,
# NBD and the status socket on Unix sockets in $TMPDIR_TEST), starts
# polltgtd on it and waits for the status socket.  ctl runs polltgtctl on
# it, ctlpy the raw protocol client (tests/control/ctl.py).

requires python3 --version

CTL="$abs_top_builddir/server/polltgtctl"
CTLDIR="$abs_top_srcdir/tests/control"
CONF="$TMPDIR_TEST/polltgt.ini"
SOCK="$TMPDIR_TEST/ctl.sock"
NBDSOCK="$TMPDIR_TEST/nbd.sock"
NBDURI="nbd+unix:///disk0?socket=$NBDSOCK"

write_ctl_conf() {
    cat >"$CONF" <<EOC
[server]
iothreads = ${1:-2}
log-level = info

[poll]
policy = weighted
max-ns = 32768

[nbd]
listen = unix:$NBDSOCK

[status]
socket = $SOCK

[export disk0]
backend = memory
size = 64M
description = test disk
EOC
}

start_ctl_daemon() {
    write_ctl_conf "${1:-2}"
    start_polltgtd "$CONF"
    # Runs before stop_polltgtd (cleanups run in reverse order).
    cleanup_fn kill_hung_polltgtd
    wait_for 10 test -S "$SOCK" || { cat "$POLLTGTD_LOG" >&2; fail "no status socket"; }
}

# A main thread that no longer answers the status socket cannot handle
# SIGTERM either, and stop_polltgtd would wait for ever: kill it by PID.
kill_hung_polltgtd() {
    if [ -n "${POLLTGTD_PID:-}" ] && kill -0 "$POLLTGTD_PID" 2>/dev/null &&
        ! timeout 10 python3 "$CTLDIR/ctl.py" "$SOCK" version >/dev/null 2>&1; then
        echo "polltgtd $POLLTGTD_PID does not answer its status socket: killing it" >&2
        kill -KILL "$POLLTGTD_PID"
    fi
}

ctl() { "$CTL" -s "$SOCK" "$@"; }
ctlpy() { python3 "$CTLDIR/ctl.py" "$SOCK" "$@"; }
# jget REQUEST PATH: the value at PATH of the JSON answer to REQUEST.
jget() { python3 "$CTLDIR/ctl.py" "$SOCK" --json-path "$2" "$1"; }

# expect_eq WHAT GOT WANT
expect_eq() {
    [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}
