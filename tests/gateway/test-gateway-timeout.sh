#!/usr/bin/env bash
# request-timeout: the back polltgtd is stopped (SIGSTOP), so it keeps its
# sockets but answers nothing.  A read at the front, through backend =
# nbd and through backend = iscsi, fails with EIO once request-timeout
# (1 s here) has passed, not later and not never; the timeout is counted;
# after SIGCONT the front reconnects and reads the data written before,
# unchanged.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/gateway/gateway-functions.sh"
set -e

requires nbdcopy --version
requires timeout --version
requires python3 --version

cd "$TMPDIR_TEST"
back_sock="$TMPDIR_TEST/back.sock"
front_sock="$TMPDIR_TEST/front.sock"
status="$TMPDIR_TEST/status.sock"
port=$(free_port)
back_ini back.ini "unix:$back_sock" "127.0.0.1:$port" 4M
server_ini front.ini 1 "unix:$front_sock" "" "$status"
remote_export front.ini gw nbd "nbd+unix:///mem?socket=$back_sock" 1s
remote_export front.ini gw-iscsi iscsi \
    "iscsi://127.0.0.1:$port/$back_iqn/0" 1s
start_named back back.ini
# Registered after start_named's stop: runs first, so a stopped back can
# still be terminated.
cleanup_fn '[ -z "${back_pid:-}" ] || kill -CONT "$back_pid" 2>/dev/null || true'
start_named front front.ini
front="nbd+unix:///gw?socket=$front_sock"
front_iscsi="nbd+unix:///gw-iscsi?socket=$front_sock"

head -c 4M /dev/urandom >a.bin
timeout 30 nbdcopy --flush a.bin "$front" || { front_log; fail "write at the front"; }
# The iSCSI gateway's thread connects now, so the stop finds it serving.
timeout 30 nbdcopy "$front_iscsi" iscsi.bin || { front_log; fail "read gw-iscsi"; }
cmp a.bin iscsi.bin || fail "gw-iscsi does not read what gw wrote"

kill -STOP "$back_pid"
read_fails_fast "$front"
[ "$eio_ms" -ge 900 ] || fail "the read failed after $eio_ms ms, before the 1 s timeout"
grep -q 'gw: nbd: lost the remote: a request timed out' front.log ||
    { front_log; fail "no timeout logged"; }
nbd_ms=$eio_ms
read_fails_fast "$front_iscsi"
[ "$eio_ms" -ge 900 ] || fail "gw-iscsi failed after $eio_ms ms, before the timeout"
grep -q 'gw-iscsi: iscsi: lost the remote: a request timed out' front.log ||
    { front_log; fail "no iSCSI timeout logged"; }
kill -CONT "$back_pid"

read_when_back "$front" again.bin
cmp a.bin again.bin || fail "data read after the timeout differs"
read_when_back "$front_iscsi" again-iscsi.bin
cmp a.bin again-iscsi.bin || fail "gw-iscsi data read after the timeout differs"

PYTHONPATH="$abs_top_srcdir/tests/control" python3 - "$status" <<'PY' ||
import json, sys
from ctl import Conn
ok, body = Conn(sys.argv[1]).request("exports")
assert ok, body
r = {e["name"]: e for e in json.loads(body)["exports"]}["gw"]["remote"]
assert r["timeouts"] >= 1 and r["reconnects"] >= 1, r
print("remote:", r)
PY
    fail "timeout counters in the status socket"

stop_named front
[ "$named_status" -eq 0 ] || { front_log; fail "front exit status $named_status"; }
echo "ok: EIO after $nbd_ms ms (nbd) and $eio_ms ms (iscsi) with request-timeout = 1s, served again after SIGCONT"
