#!/usr/bin/env bash
# systemd's interfaces, with tests/daemon/sd-harness.py as the service
# manager: polltgtd serves NBD (nbdinfo) and iSCSI (iscsi-inq) through
# inherited listeners instead of its configured addresses, and tells the
# notify socket READY=1 (with MAINPID), RELOADING=1 then READY=1 on
# SIGHUP, STOPPING=1 on SIGTERM; an abstract (@) notify socket works;
# a descriptor without a known name is refused; a LISTEN_PID that is
# not ours is ignored.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

requires python3 --version
requires nbdinfo --version
requires timeout --version
harness="$abs_top_srcdir/tests/daemon/sd-harness.py"
cd "$TMPDIR_TEST"
nbd_port=$(free_port)
iscsi_port=$(free_port)
config_port=$(free_port)
config_iscsi_port=$(free_port)
conf="$TMPDIR_TEST/polltgt.ini"
cat >"$conf" <<EOF
[nbd]
listen = 127.0.0.1:$config_port
[iscsi]
listen = 127.0.0.1:$config_iscsi_port
[status]
socket = none
[export disk0]
backend = memory
size = 4M
EOF
log="$TMPDIR_TEST/polltgtd.log"
notes="$TMPDIR_TEST/notify.log"
: >"$notes"

python3 "$harness" --notify "$TMPDIR_TEST/notify.sock" --notify-log "$notes" \
    --listen "nbd=127.0.0.1:$nbd_port" --listen "iscsi=127.0.0.1:$iscsi_port" \
    --pidfile "$TMPDIR_TEST/child.pid" -- \
    "$POLLTGTD" --foreground --exit-with-parent -c "$conf" 2>"$log" &
harness_pid=$!
cleanup_fn 'kill -TERM $harness_pid 2>/dev/null; wait $harness_pid 2>/dev/null'
wait_for 20 grep -q '^READY=1' "$notes" ||
    { cat "$log" "$notes"; fail "no READY=1 on the notify socket"; }
pid=$(cat "$TMPDIR_TEST/child.pid")
grep -q "^READY=1 | MAINPID=$pid | STATUS=serving 1 export" "$notes" ||
    { cat "$notes"; fail "READY=1 without MAINPID=$pid and STATUS"; }
grep -q 'nbd: listening on 127.0.0.1:'"$nbd_port"' (socket-activated, fd 3)' "$log" ||
    { cat "$log"; fail "the NBD listener is not the inherited fd 3"; }
grep -q 'iscsi: listening on 127.0.0.1:'"$iscsi_port"' (socket-activated, fd 4)' "$log" ||
    { cat "$log"; fail "the iSCSI listener is not the inherited fd 4"; }

# Served through the inherited descriptors, not the configured address.
out=$(timeout 20 nbdinfo "nbd://127.0.0.1:$nbd_port/disk0") ||
    fail "nbdinfo through the socket-activated listener failed"
echo "$out" | grep -q 'export-size: 4194304' || { echo "$out"; fail "nbdinfo: wrong size"; }
if timeout 5 nbdinfo "nbd://127.0.0.1:$config_port/disk0" >/dev/null 2>&1; then
    fail "the configured [nbd] listen address was bound as well"
fi
if command -v iscsi-inq >/dev/null; then
    out=$(timeout 20 iscsi-inq \
        "iscsi://127.0.0.1:$iscsi_port/iqn.2026-11.org.polltgt:disk0/0") ||
        fail "iscsi-inq through the socket-activated listener failed"
    echo "$out" | grep -q 'CONNECTED' || { echo "$out"; fail "iscsi-inq: not connected"; }
else
    echo "$0: iscsi-inq not installed: the iSCSI client check is skipped" >&2
fi

# Reload: RELOADING=1 (with the clock) and READY=1 again.
kill -HUP "$pid"
wait_for 10 grep -q 'STATUS=serving; reloaded' "$notes" ||
    { cat "$log" "$notes"; fail "no READY=1 after the reload"; }
grep -q '^RELOADING=1 | MONOTONIC_USEC=[0-9][0-9]* | STATUS=reloading$' "$notes" ||
    { cat "$notes"; fail "no RELOADING=1 with MONOTONIC_USEC"; }
[ "$(grep -n '^RELOADING=1' "$notes" | cut -d: -f1)" -lt \
  "$(grep -n 'reloaded' "$notes" | cut -d: -f1)" ] || fail "READY=1 came before RELOADING=1"

kill -TERM "$pid"
status=0
wait "$harness_pid" || status=$?
[ "$status" -eq 0 ] || { cat "$log"; fail "exit status $status"; }
grep -q '^STOPPING=1' "$notes" || { cat "$notes"; fail "no STOPPING=1"; }

# An abstract notify socket.
: >"$notes"
python3 "$harness" --notify "@polltgt-test-$$" --notify-log "$notes" \
    --pidfile "$TMPDIR_TEST/child.pid" -- \
    "$POLLTGTD" --foreground --exit-with-parent -c "$conf" 2>"$log" &
harness_pid=$!
wait_for 20 grep -q '^READY=1' "$notes" ||
    { cat "$log" "$notes"; fail "no READY=1 on an abstract notify socket"; }
# No activation: the configured address is bound.
timeout 20 nbdinfo "nbd://127.0.0.1:$config_port/disk0" >/dev/null ||
    fail "without socket activation the configured address is not served"
kill -TERM "$(cat "$TMPDIR_TEST/child.pid")"
wait "$harness_pid" || fail "abstract notify run: exit status $?"

# A descriptor of an unknown name: refused with the reason.
if python3 "$harness" --listen "web=127.0.0.1:$nbd_port" -- \
    "$POLLTGTD" --foreground -c "$conf" 2>"$log"; then
    fail "started with a descriptor named 'web'"
fi
grep -q "socket activation: descriptor 3 is named 'web': expected nbd or iscsi" "$log" ||
    { cat "$log"; fail "unclear message for an unknown descriptor name"; }

# LISTEN_PID of another process: the descriptors are not ours.
python3 "$harness" --bad-pid --listen "nbd=127.0.0.1:$nbd_port" \
    --pidfile "$TMPDIR_TEST/child.pid" -- \
    "$POLLTGTD" --foreground --exit-with-parent -c "$conf" 2>"$log" &
harness_pid=$!
wait_for 20 grep -q ' started: ' "$log" || { cat "$log"; fail "bad-pid run did not start"; }
grep -q "nbd: listening on 127.0.0.1:$config_port\$" "$log" ||
    { cat "$log"; fail "with a foreign LISTEN_PID the configured address is not used"; }
kill -TERM "$(cat "$TMPDIR_TEST/child.pid")"
wait "$harness_pid" || fail "bad-pid run: exit status $?"
echo "ok"
