#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# polltgtctl itself: exit status 3 naming the socket when it cannot
# connect (by -s, POLLTGT_SOCKET and the default polltgt.sock), 2 on usage
# errors, 1 when the server answers ERR; -s overrides POLLTGT_SOCKET;
# stats/iothreads/exports/connections tables hold the thread and export
# rows, --json is the server's valid document; metrics pass the format
# checker; set and reload print the server's answer; top -n 2 -d 0.2
# prints two plain frames (no escapes when not a terminal) with rates,
# and shows export IOPS under load; a silent server times out (-t) and a
# malformed answer fails, neither hangs.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/control/common.sh"
set -e
export LC_ALL=C  # units as "us": no UTF-8 assumed

[ -x "$CTL" ] || fail "$CTL not built"
cd "$TMPDIR_TEST"
T=$TMPDIR_TEST

# run WANT-STATUS CMD...: run, keep stdout/stderr in $T/out and $T/err.
run() {
    local want=$1 rc=0
    shift
    "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq "$want" ] ||
        fail "$*: exit status $rc, expected $want; stderr: $(cat "$T/err")"
}
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"; }
out_has() { grep -qE -- "$1" "$T/out" || fail "stdout lacks /$1/: $(cat "$T/out")"; }

# --- no server --------------------------------------------------------------
run 3 "$CTL" -s "$T/none.sock" stats
err_has "'$T/none.sock'"
err_has "No such file or directory"
err_has "-s SOCKET or POLLTGT_SOCKET"
run 3 env POLLTGT_SOCKET="$T/env.sock" "$CTL" stats
err_has "'$T/env.sock'"
mkdir "$T/empty"
(cd "$T/empty" && env -u POLLTGT_SOCKET "$CTL" version >"$T/out" 2>"$T/err") && fail "no server, yet OK"
err_has "'polltgt.sock'"

# --- usage ------------------------------------------------------------------
run 2 "$CTL"
run 2 "$CTL" bogus
err_has "unknown command 'bogus'"
run 2 "$CTL" --bogus stats
run 2 "$CTL" -s
run 2 "$CTL" -s "$T/x" set 0 max-ns
run 2 "$CTL" -s "$T/x" stats --yaml
run 2 "$CTL" -s "$T/x" top -n 0
run 2 "$CTL" -s "$T/x" top -d fast
run 2 "$CTL" -t 0 stats
run 0 "$CTL" -h
out_has '^Usage: polltgtctl'
run 0 "$CTL" help
out_has 'top \[-d SECONDS\] \[-n N\]'
run 0 "$CTL" --version
out_has '^polltgtctl [0-9]'

# --- a misbehaving server: bounded waits --------------------------------------
python3 "$CTLDIR/fake-server.py" "$T/fake.sock" silent &
fake=$!
cleanup_fn "kill $fake 2>/dev/null"
wait_for 10 test -S "$T/fake.sock" || fail "fake server"
start=$SECONDS
run 3 timeout 20 "$CTL" -t 1 -s "$T/fake.sock" stats
err_has "no answer from the status socket '$T/fake.sock' within 1 s"
[ $((SECONDS - start)) -le 5 ] || fail "the timeout took $((SECONDS - start)) s"
kill $fake; wait $fake 2>/dev/null || true
for mode in garbage short; do
    rm -f "$T/fake.sock"
    python3 "$CTLDIR/fake-server.py" "$T/fake.sock" $mode &
    fake=$!
    cleanup_fn "kill $fake 2>/dev/null"
    wait_for 10 test -S "$T/fake.sock" || fail "fake server"
    run 3 timeout 20 "$CTL" -t 5 -s "$T/fake.sock" stats
    kill $fake; wait $fake 2>/dev/null || true
done

# --- the real server ------------------------------------------------------------
start_ctl_daemon 2

run 0 env POLLTGT_SOCKET="$SOCK" "$CTL" version
out_has '^polltgtctl [0-9]'
out_has '^polltgtd: polltgt [0-9]'
run 0 env POLLTGT_SOCKET="$T/none.sock" "$CTL" -s "$SOCK" version
mkdir "$T/cwd" && ln -s "$SOCK" "$T/cwd/polltgt.sock"
(cd "$T/cwd" && env -u POLLTGT_SOCKET "$CTL" version >"$T/out" 2>"$T/err") ||
    fail "the default socket polltgt.sock: $(cat "$T/err")"

run 0 ctl stats
out_has '^polltgtd [0-9.]+, up [0-9]+s: 2 I/O threads, 1 export, 0 connections$'
out_has '^ID +CPU +POLICY +WINDOW +MAX-NS +WAKE-UP +HIT-RATE +ITERATIONS +BLOCKING +GROWS +SHRINKS +CPU-TIME +CONNS$'
out_has '^ +0 +- +weighted +[^ ]+ +32\.8us '
out_has '^ +1 +- +weighted +[^ ]+ +32\.8us '
out_has '^EXPORT +BACKEND +SIZE +READS +WRITES '
out_has '^disk0 +memory +64\.0MiB +0 +0 +0 +0 +0 +0B +0B +0 +0 +-$'
out_has '^\(no connections\)$'
run 0 ctl iothreads
[ "$(grep -cE '^ +[01] +- +weighted ' "$T/out")" -eq 2 ] || fail "iothreads table: $(cat "$T/out")"
run 0 ctl exports
out_has '^disk0 +memory '
run 0 ctl connections
for cmd in stats iothreads exports connections; do
    run 0 ctl $cmd --json
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
part = sys.argv[2]
want = {"iothreads", "exports", "connections"} if part == "stats" else {part}
assert set(d) == {"version", "timestamp", "uptime_s"} | want, sorted(d)
if "iothreads" in want:
    assert len(d["iothreads"]) == 2
' "$T/out" $cmd || fail "$cmd --json: $(head -c 300 "$T/out")"
done
run 0 ctl metrics
python3 "$CTLDIR/prom-check.py" "$T/out" || fail "polltgtctl metrics"

run 0 ctl set 0 max-ns 64us
out_has '^set 0 max-ns = 64us$'
run 0 ctl iothreads
out_has '^ +0 +- +weighted +[^ ]+ +64\.0us '
run 1 ctl set 0 policy fast
err_has "polltgtctl: [iothread 0] policy: unknown policy 'fast'"
run 0 ctl reload
out_has '^reloaded: 1 live change applied$'

# top: bounded frames, plain when not a terminal.
run 0 timeout 20 "$CTL" -s "$SOCK" top -n 2 -d 0.2
# The header shows the measured interval: at least the 0.2 s asked for,
# more on a loaded machine.
[ "$(grep -cE '^polltgtd .* every (0\.[2-9][0-9]|[1-9][0-9]*\.[0-9]+)s$' "$T/out")" -eq 2 ] ||
    fail "top frames: $(cat "$T/out")"
[ "$(grep -cE '^ID +POLICY +WINDOW +MAX-NS +WAKE-UP +HIT-RATE +CPU% +ITER/S +WAITS/S +IOPS +MiB/s +CONNS$' "$T/out")" -eq 2 ] ||
    fail "top thread tables: $(cat "$T/out")"
[ "$(grep -cE '^EXPORT +IOPS +READ/S +WRITE/S +MiB/s +LATENCY +INFLIGHT +ERRORS/S$' "$T/out")" -eq 2 ] ||
    fail "top export tables: $(cat "$T/out")"
[ "$(grep -cE '^ +[01] +weighted ' "$T/out")" -eq 4 ] || fail "top thread rows: $(cat "$T/out")"
! grep -q $'\033' "$T/out" || fail "top wrote escapes to a non-terminal"

# top under load: the export's IOPS and MiB/s are not zero in some frame.
if nbdcopy --version >/dev/null 2>&1; then
    head -c 8M /dev/urandom >"$T/src.img"
    (end=$((SECONDS + 4)); while [ $SECONDS -lt $end ]; do
        timeout 30 nbdcopy "$T/src.img" "$NBDURI" || exit 1; done) &
    loadpid=$!
    cleanup_fn "kill $loadpid 2>/dev/null"
    sleep 0.3
    run 0 timeout 20 "$CTL" -s "$SOCK" top -n 3 -d 0.5
    wait $loadpid || fail "nbdcopy load"
    grep -E '^disk0 +[1-9][0-9]* +[0-9]+ +[1-9][0-9]* +[0-9.]*[1-9][0-9.]* ' "$T/out" >/dev/null ||
        fail "top shows no I/O under load: $(cat "$T/out")"
    grep -E '^disk0 ' "$T/out" | head -3
fi

stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "polltgtd exit status $POLLTGTD_STATUS"
echo ok
