#!/usr/bin/env bash
# A chain on loopback: polltgtd "back" exports a memory disk and a file
# disk over NBD; polltgtd "front" re-exports both through backend = nbd.
# Data written at the front reads back at the back and the other way; the
# front advertises what the back does.  Then the back is killed: reads at
# the front fail at once with an I/O error instead of hanging, and once
# the back is started again the front serves the file disk again, with
# the data written before the kill, and counts the reconnects.  The front
# also offers the gateway exports over iSCSI.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/gateway/gateway-functions.sh"
set -e

requires nbdcopy --version
requires nbdinfo --version
requires timeout --version

cd "$TMPDIR_TEST"
back_sock="$TMPDIR_TEST/back.sock"
front_sock="$TMPDIR_TEST/front.sock"
status="$TMPDIR_TEST/status.sock"
iscsi_port=$(free_port)
server_ini back.ini 1 "unix:$back_sock"
memory_export back.ini mem 8M
cat >>back.ini <<INI
[export disk]
backend = file
path = $TMPDIR_TEST/disk.img
create = yes
size = 8M
INI
server_ini front.ini 2 "unix:$front_sock" "127.0.0.1:$iscsi_port" "$status"
remote_export front.ini gw-mem nbd "nbd+unix:///mem?socket=$back_sock" 3s
remote_export front.ini gw-disk nbd "nbd+unix:///disk?socket=$back_sock" 3s
start_named back back.ini
start_named front front.ini
back() { echo "nbd+unix:///$1?socket=$back_sock"; }
front() { echo "nbd+unix:///$1?socket=$front_sock"; }

# The front offers the remote's size and capabilities.
nbdinfo "$(front gw-mem)" >info.txt || { front_log; fail "nbdinfo on the front"; }
grep -q 'export-size: 8388608' info.txt || fail "front size: $(cat info.txt)"
grep -q 'can_trim: true' info.txt || fail "front does not offer trim"
grep -q 'base:allocation' info.txt || fail "front does not offer block status"

# The front serves the gateway export over iSCSI too.
if iscsi-readcapacity16 --help >/dev/null 2>&1; then
    size=$(timeout 20 iscsi-readcapacity16 -s \
        "iscsi://127.0.0.1:$iscsi_port/iqn.2026-11.org.polltgt:gw-mem/0") ||
        { front_log; fail "iscsi-readcapacity16 on the front"; }
    [ "$size" = 8388608 ] || fail "iSCSI size at the front: $size"
fi

# Front -> back, and back -> front (nbdcopy uses several connections,
# which the front spreads over its two I/O threads).
copy_both_ways "$(front gw-mem)" "$(back mem)"

# The file disk: written through the front, then the back is killed.
timeout 30 nbdcopy --flush a.bin "$(front gw-disk)" || { front_log; fail "write gw-disk"; }
stop_named back KILL
read_fails_fast "$(front gw-disk)"
grep -q 'gw-disk: nbd: lost the remote' front.log || { front_log; fail "no loss logged"; }

# Back again: the front reconnects and serves what was written before.
start_named back back.ini
read_when_back "$(front gw-disk)" again.bin
cmp a.bin again.bin || fail "data read after the reconnect differs"
grep -q 'gw-disk: nbd: reconnected' front.log || fail "no reconnect logged"

# The status socket counts it, as JSON and as Prometheus metrics.
PYTHONPATH="$abs_top_srcdir/tests/control" python3 - "$status" <<'PY' ||
import json, sys
from ctl import Conn
c = Conn(sys.argv[1])
ok, body = c.request("stats")
assert ok, body
exp = {e["name"]: e for e in json.loads(body)["exports"]}
r = exp["gw-disk"]["remote"]
assert r["reconnects"] >= 1, r
assert r["errors"] >= 1, r
assert r["requests"] > r["errors"], r
assert r["connections"] >= 1 and r["threads"] >= r["connections"], r
assert r["latency_count"] >= 1 and r["latency_ns_sum"] > 0, r
ok, body = c.request("metrics")
assert ok, body
assert 'polltgt_remote_reconnects_total{export="gw-disk"}' in body, body
print("remote:", r)
PY
    fail "remote counters in the status socket"

stop_named front
[ "$named_status" -eq 0 ] || { front_log; fail "front exit status $named_status"; }
echo "ok: chain, EIO after $eio_ms ms with the back dead, served again after restart"
