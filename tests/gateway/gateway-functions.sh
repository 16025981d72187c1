# SPDX-License-Identifier: MIT
# Helpers of the gateway chain tests, sourced after tests/functions.sh:
# two polltgtd processes, a back one that holds the disks and a front one
# that re-exports them through backend = nbd or iscsi.  functions.sh
# tracks one server; these track one per name, each stopped by its PID.

# --- Configurations: the stanzas every chain repeats ----------------------

# server_ini FILE IOTHREADS NBD_LISTEN [ISCSI_LISTEN [STATUS_SOCKET]]: a
# new FILE with the [server], [nbd], [iscsi] (when ISCSI_LISTEN is given)
# and [status] stanzas (no status socket unless given); exports follow.
server_ini() {
    {
        printf '[server]\niothreads = %s\n[nbd]\nlisten = %s\n' "$2" "$3"
        [ -z "${4:-}" ] || printf '[iscsi]\nlisten = %s\n' "$4"
        printf '[status]\nsocket = %s\n' "${5:-none}"
    } >"$1"
}

# memory_export FILE NAME SIZE: append a memory disk.
memory_export() {
    printf '[export %s]\nbackend = memory\nsize = %s\n' "$2" "$3" >>"$1"
}

# remote_export FILE NAME nbd|iscsi ADDRESS TIMEOUT [LINE...]: append a
# gateway export of ADDRESS (its uri or url) with request-timeout =
# TIMEOUT, and the extra LINEs as they are.
remote_export() {
    local file=$1 name=$2 backend=$3 addr=$4 timeout=$5 key=uri line
    shift 5
    [ "$backend" = nbd ] || key=url
    printf '[export %s]\nbackend = %s\n%s = %s\nrequest-timeout = %s\n' \
        "$name" "$backend" "$key" "$addr" "$timeout" >>"$file"
    for line in "$@"; do
        printf '%s\n' "$line" >>"$file"
    done
}

# back_ini FILE NBD_LISTEN ISCSI_LISTEN SIZE: the usual back server: one
# I/O thread and a memory disk "mem" of SIZE, over NBD and (when
# ISCSI_LISTEN is not empty) iSCSI as $back_iqn LUN 0.
back_iqn=iqn.2026-11.org.polltgt:mem
back_ini() {
    server_ini "$1" 1 "$2" "$3"
    memory_export "$1" mem "$4"
}

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
