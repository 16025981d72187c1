#!/usr/bin/env bash
# SIGHUP re-reads the TLS credential files: after the certificate is
# replaced in place, new clients get the new one (and a client trusting
# only the old CA is refused), a connection opened before the reload keeps
# working on its old session, and a reload that finds a broken key keeps
# the running credentials and says so.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$POLLTGT_SRCDIR/tests/tls/tls-functions.sh"
set -e

requires nbdinfo --version
requires python3 --version
requires timeout --version

cd "$TMPDIR_TEST"
sock="$TMPDIR_TEST/nbd.sock"
make_pki pki
mkdir srv
cp pki/server/server-cert.pem pki/server/server-key.pem srv/
tls_conf polltgt.ini "$sock" "tls = require" \
    "tls-cert = $TMPDIR_TEST/srv/server-cert.pem" \
    "tls-key = $TMPDIR_TEST/srv/server-key.pem"
start_polltgtd polltgt.ini

# libnbd checks the server certificate over TCP (not over a Unix socket).
tcp() { echo "nbds://localhost:$TLS_PORT/disk0?tls-certificates=$TMPDIR_TEST/pki/$1"; }
trusted() { timeout 30 nbdinfo "$(tcp "$1")" >/dev/null 2>&1; }
reloads_done() { grep -c 'reload: done' "$POLLTGTD_LOG" || true; }
more_reloads_than() { [ "$(reloads_done)" -gt "$1" ]; }
reload() { # LOG-REGEX: SIGHUP and wait for the line
    local n
    n=$(reloads_done)
    kill -HUP "$POLLTGTD_PID"
    wait_for 30 more_reloads_than "$n" ||
        { cat "$POLLTGTD_LOG"; fail "the reload did not finish"; }
    log_has "$1" || { cat "$POLLTGTD_LOG"; fail "no '$1' after the reload"; }
}

trusted client || fail "client trusting the first CA refused before the reload"
trusted other/client && fail "client trusting only the other CA got in"

# A TLS connection that stays open across the reload.
mkfifo go
timeout 60 python3 "$POLLTGT_SRCDIR/tests/tls/nbd-tls-raw.py" hold "$sock" \
    pki/client go >hold.txt &
hold_pid=$!
cleanup_fn "kill $hold_pid 2>/dev/null"
wait_for 10 log_has 'nbd unix: export disk0' || fail "the held connection did not start"

# Renewed in place: the other CA's server certificate, same paths.
cp pki/other/server/server-cert.pem pki/other/server/server-key.pem srv/
reload 'reload: \[nbd\] TLS credentials loaded'
trusted other/client || fail "new clients do not get the new certificate"
trusted client && fail "new clients still get the old certificate"
echo go >go
wait "$hold_pid" || { cat hold.txt; fail "the connection opened before the reload broke"; }

# A broken key: the reload logs it and the running credentials stay.
echo "not a key" >srv/server-key.pem
reload 'new connections keep the running TLS credentials'
trusted other/client || fail "a failed reload dropped the running credentials"

kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "SIGTERM: exit status $POLLTGTD_STATUS"
echo "ok"
