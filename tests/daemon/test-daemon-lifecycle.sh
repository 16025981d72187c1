#!/usr/bin/env bash
# The daemon starts on the default config, SIGHUP applies live changes and
# survives a broken file, SIGTERM ends it with status 0.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

cd "$TMPDIR_TEST"
conf="$TMPDIR_TEST/polltgt.ini"
# Unix sockets only: tests run in parallel and must not fight over a port.
sed "s|^listen = .*|listen = unix:$TMPDIR_TEST/nbd.sock|" \
    "$abs_top_srcdir/conf/polltgt.ini" >"$conf"
start_polltgtd "$conf"
log_has 'polltgt .* started: config' || fail "no start line"

# A live change: the poll window of every I/O thread.
sed -i 's/^; max-ns = auto/max-ns = 65536/' "$conf"
kill -HUP "$POLLTGTD_PID"
wait_for 10 log_has 'reload: \[iothread 0\] max-ns: auto -> 65536' ||
    { cat "$POLLTGTD_LOG"; fail "max-ns change not applied"; }

# A broken file: errors logged with file and line, old config kept.
printf '[poll]\nmax-ns = soon\n' >>"$conf"
kill -HUP "$POLLTGTD_PID"
wait_for 10 log_has "keeping the running configuration" ||
    { cat "$POLLTGTD_LOG"; fail "broken reload not reported"; }
log_has "polltgt.ini:[0-9]+: \[poll\] max-ns: (invalid value 'soon'|already set)" ||
    { cat "$POLLTGTD_LOG"; fail "broken reload message lacks file/line/key"; }
kill -0 "$POLLTGTD_PID" || fail "server died on a broken reload"

# A restart-only change is reported, not silently ignored.
sed "s|^listen = .*|listen = unix:$TMPDIR_TEST/nbd.sock|; s/^iothreads = 1/iothreads = 2/" \
    "$abs_top_srcdir/conf/polltgt.ini" >"$conf"
kill -HUP "$POLLTGTD_PID"
wait_for 10 log_has 'iothreads changed: takes effect on restart' ||
    { cat "$POLLTGTD_LOG"; fail "restart-only change not reported"; }

# The drain timeout is live: read when the server stops.
sed -i 's/^; drain-timeout = 30s/drain-timeout = 2s/' "$conf"
grep -q '^drain-timeout = 2s' "$conf" || fail "the shipped config has no drain-timeout line"
kill -HUP "$POLLTGTD_PID"
wait_for 10 log_has 'reload: \[server\] drain-timeout: 30000 ms -> 2000 ms' ||
    { cat "$POLLTGTD_LOG"; fail "drain-timeout change not applied"; }

stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "SIGTERM: exit status $POLLTGTD_STATUS"
log_has 'stopped' || fail "no stop line"
echo "ok"
