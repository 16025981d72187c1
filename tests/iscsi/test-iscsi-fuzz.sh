#!/usr/bin/env bash
# Random but seeded input (tests/iscsi/fuzz-iscsi.py): 3 x 150 connections
# of random PDUs, most after a valid login.  polltgtd must keep accepting,
# serve a normal initiator afterwards, and stop cleanly on SIGTERM; under
# the sanitizer build any memory error fails the server.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e
requires python3 -c ''
requires iscsi-inq --help

port=$(free_port)
conf="$TMPDIR_TEST/polltgt.ini"
cat >"$conf" <<CONF
[server]
iothreads = 2
[iscsi]
listen = 127.0.0.1:$port
login-timeout = 2s
[status]
socket = none
[export disk0]
backend = memory
size = 16M
CONF
start_polltgtd "$conf"
wait_for 10 log_has "iscsi: listening on 127\.0\.0\.1:$port\$" ||
    fail "no iSCSI listener"
for seed in 1 2 3; do
    timeout 120 python3 "$POLLTGT_SRCDIR/tests/iscsi/fuzz-iscsi.py" \
        "$port" 150 "$seed" || fail "fuzz seed $seed: the server stopped accepting"
    kill -0 "$POLLTGTD_PID" || fail "polltgtd died on fuzz seed $seed"
done
timeout 20 iscsi-inq "iscsi://127.0.0.1:$port/iqn.2026-11.org.polltgt:disk0/0" \
    >/dev/null || fail "a normal initiator is not served after the fuzzing"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || { tail -20 "$POLLTGTD_LOG"; fail "exit status $POLLTGTD_STATUS"; }
echo "ok"
