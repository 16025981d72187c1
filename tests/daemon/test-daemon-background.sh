#!/usr/bin/env bash
# Without --foreground polltgtd daemonises: the command returns 0 once the
# server is up, the PID file names the daemon, SIGTERM removes it; a PID
# file held by a live process refuses the start with status 1.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

conf="$TMPDIR_TEST/polltgt.ini"
pidfile="$TMPDIR_TEST/polltgtd.pid"
# Unix sockets only: tests run in parallel and must not fight over a port.
sed "s|^; pidfile = .*|pidfile = $pidfile|; s|^socket = .*|socket = $TMPDIR_TEST/s.sock|; s|^listen = .*|listen = unix:$TMPDIR_TEST/nbd.sock|" \
    "$abs_top_srcdir/conf/polltgt.ini" >"$conf"
grep -q "^pidfile = $pidfile" "$conf" || fail "could not set pidfile"

"$POLLTGTD" -c "$conf" || fail "daemon start failed"
[ -s "$pidfile" ] || fail "no pidfile"
pid=$(cat "$pidfile")
cleanup_fn "kill -TERM $pid 2>/dev/null || true"
kill -0 "$pid" || fail "daemon $pid not running"
[ "$pid" != "$$" ] || fail "pidfile holds the wrong pid"

# A second instance on the same PID file must refuse.
rc=0
"$POLLTGTD" -c "$conf" --foreground 2>"$TMPDIR_TEST/err" || rc=$?
[ $rc -eq 1 ] || fail "second instance: exit $rc"
grep -q "already running as PID $pid" "$TMPDIR_TEST/err" || fail "second instance: $(cat "$TMPDIR_TEST/err")"

kill -TERM "$pid"
wait_for 10 test ! -e "$pidfile" || fail "pidfile not removed at exit"
wait_for 10 sh -c "! kill -0 $pid" || fail "daemon did not exit"
echo "ok"
