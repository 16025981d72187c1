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

# read_fails_fast URI: a read of URI fails with an I/O error, quickly
# (not a hang until the timeout); sets eio_ms.
read_fails_fast() {
    local rc=0 start
    start=$(date +%s%N)
    timeout 20 nbdcopy "$1" "$TMPDIR_TEST/dead.bin" 2>"$TMPDIR_TEST/dead.err" || rc=$?
    eio_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$rc" -ne 124 ] || fail "a read of $1 hung after the back died"
    [ "$rc" -ne 0 ] || fail "a read of $1 succeeded with the back dead"
    grep -qi 'input/output error' "$TMPDIR_TEST/dead.err" ||
        fail "expected EIO, got: $(cat "$TMPDIR_TEST/dead.err")"
    [ "$eio_ms" -lt 5000 ] || fail "the read took $eio_ms ms to fail"
}

# read_when_back URI FILE: read URI into FILE, retrying for 5 s while the
# front reconnects.
read_when_back() {
    local i
    for i in $(seq 1 50); do
        if timeout 20 nbdcopy "$1" "$2" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    front_log
    fail "the front did not serve $1 again after the back restarted"
}

# copy_both_ways FRONT_URI BACK_URI: 8 MiB of random data written at the
# front reads back at the back, and other data written at the back reads
# back at the front.  Leaves a.bin and b.bin (what both ends now hold)
# in the current directory.
copy_both_ways() {
    head -c 8M /dev/urandom >a.bin
    head -c 8M /dev/urandom >b.bin
    timeout 30 nbdcopy --flush a.bin "$1" || { front_log; fail "write at the front"; }
    timeout 30 nbdcopy "$2" a.back || fail "read at the back"
    cmp a.bin a.back || fail "data written at the front differs at the back"
    timeout 30 nbdcopy --flush b.bin "$2" || fail "write at the back"
    timeout 30 nbdcopy "$1" b.front || { front_log; fail "read at the front"; }
    cmp b.bin b.front || fail "data written at the back differs at the front"
}
