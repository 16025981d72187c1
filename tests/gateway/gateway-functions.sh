# SPDX-License-Identifier: MIT
# Helpers of the gateway chain tests, sourced after tests/functions.sh:
# two polltgtd processes, a back one that holds the disks and a front one
# that re-exports them through backend = nbd or iscsi.  functions.sh
# tracks one server; these track one per name, each stopped by its PID.

# start_named NAME CONF: start polltgtd on CONF, logging to
# $TMPDIR_TEST/NAME.log; its PID goes into the variable NAME_pid.
start_named() {
    local name=$1 conf=$2 log="$TMPDIR_TEST/$1.log" pid
    : >"$log"
    "$POLLTGTD" --foreground --exit-with-parent -c "$conf" 2>>"$log" &
    pid=$!
    eval "${name}_pid=$pid"
    cleanup_fn "stop_named $name"
    if ! wait_for 20 grep -q ' started: ' "$log"; then
        cat "$log" >&2
        fail "$name polltgtd did not start"
    fi
}

# stop_named NAME [SIGNAL]: signal the server (TERM by default) and reap it.
stop_named() {
    local pid
    eval "pid=\${${1}_pid:-}"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "-${2:-TERM}" "$pid"
        named_status=0
        wait "$pid" || named_status=$?
    fi
    eval "${1}_pid="
}

# Everything the front logged, for failure messages.
front_log() { cat "$TMPDIR_TEST/front.log" >&2; }
