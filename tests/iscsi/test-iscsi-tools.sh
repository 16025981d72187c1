#!/usr/bin/env bash
# libiscsi's command-line tools against polltgtd, as an administrator would
# use them: iscsi-ls finds every iSCSI target (and no NBD-only export) on
# the portal and, with -s, LUN 0 of each as a direct-access disk of the
# configured size; iscsi-inq shows a connected direct-access device, its
# unit serial number and an NAA designator; iscsi-readcapacity16 gives the
# exact size and block size of a 512- and a 4096-byte export; while
# iscsi-perf runs, polltgtctl lists its iSCSI session and the export's
# read counters move.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

requires iscsi-ls --help
requires iscsi-inq --help
requires iscsi-readcapacity16 --help
requires command -v iscsi-perf
requires python3 -c ''
requires timeout --version

port=$(free_port)
conf="$TMPDIR_TEST/polltgt.ini"
cat >"$conf" <<CONF
[iscsi]
listen = 127.0.0.1:$port
[status]
socket = $TMPDIR_TEST/status.sock
[export disk0]
backend = memory
size = 64M
[export disk4k]
backend = memory
size = 16M
block-size = 4096
[export nbdonly]
backend = memory
size = 1M
protocols = nbd
CONF
start_polltgtd "$conf"
wait_for 10 log_has "iscsi: listening on 127\.0\.0\.1:$port\$" ||
    fail "no 'iscsi: listening on 127.0.0.1:$port' log line"
[ "$(listen_port iscsi)" = "$port" ] || fail "listen_port iscsi: wrong port"

iqn=iqn.2026-11.org.polltgt
portal="iscsi://127.0.0.1:$port"
url() { echo "$portal/$iqn:$1/0"; }
run() { timeout 20 "$@" 2>"$TMPDIR_TEST/err" || { cat "$TMPDIR_TEST/err" >&2; fail "$* failed"; }; }

# Discovery.
out=$(run iscsi-ls "$portal")
echo "$out"
for t in disk0 disk4k; do
    echo "$out" | grep -Eq "^Target:$iqn:$t Portal:127\.0\.0\.1:$port,[0-9]+\$" ||
        fail "iscsi-ls does not list $iqn:$t at 127.0.0.1:$port"
done
if echo "$out" | grep -q "nbdonly"; then
    fail "iscsi-ls lists the export with protocols = nbd"
fi
[ "$(echo "$out" | grep -c '^Target:')" -eq 2 ] ||
    fail "iscsi-ls lists $(echo "$out" | grep -c '^Target:') targets, want 2"

# iscsi-ls -s logs in to each target and shows its LUNs, with the size it
# computes as READ CAPACITY(10)'s last LBA times the block size, in whole
# K/M/G/T.
ls_size() {
    local size=$(( ($1 - 1) * $2 )) i=0 sf=(B K M G T)
    while [ $i -lt 4 ] && [ $size -gt 1024 ]; do
        size=$((size / 1024))
        i=$((i + 1))
    done
    echo "$size${sf[$i]}"
}
out=$(run iscsi-ls -s "$portal")
echo "$out"
lun_lines() { echo "$out" | awk -v t="Target:$iqn:$1 " 'index($0, t) == 1 { p = 1; next } /^Target:/ { p = 0 } p'; }
want=$(ls_size $((64 * 1024 * 1024 / 512)) 512)
lun_lines disk0 | grep -Eq "^Lun:0 +Type:DIRECT_ACCESS \(Size:$want\)\$" ||
    fail "iscsi-ls -s: disk0 has no 'Lun:0 Type:DIRECT_ACCESS (Size:$want)'"
[ "$(lun_lines disk0 | grep -c '^Lun:')" -eq 1 ] || fail "disk0 has more than LUN 0"
want=$(ls_size $((16 * 1024 * 1024 / 4096)) 4096)
lun_lines disk4k | grep -Eq "^Lun:0 +Type:DIRECT_ACCESS \(Size:$want\)\$" ||
    fail "iscsi-ls -s: disk4k has no 'Lun:0 Type:DIRECT_ACCESS (Size:$want)'"

# INQUIRY.
out=$(run iscsi-inq "$(url disk0)")
echo "$out" | grep -qx "Peripheral Qualifier:CONNECTED" ||
    fail "iscsi-inq: not CONNECTED"
echo "$out" | grep -qx "Peripheral Device Type:DIRECT_ACCESS" ||
    fail "iscsi-inq: not DIRECT_ACCESS"
echo "$out" | grep -Eq "^Vendor:[^ ]" || fail "iscsi-inq: no vendor"
serial0=$(run iscsi-inq -e 1 -c 128 "$(url disk0)")
serial4k=$(run iscsi-inq -e 1 -c 128 "$(url disk4k)")
echo "$serial0" | grep -Eq '^Unit Serial Number:\[ *[^] ]' ||
    fail "iscsi-inq VPD 0x80: no unit serial number: $serial0"
[ "$serial0" != "$serial4k" ] || fail "disk0 and disk4k have one serial number"
out=$(run iscsi-inq -e 1 -c 131 "$(url disk0)")
echo "$out" | grep -qx "Designator Type:(3) NAA" ||
    fail "iscsi-inq VPD 0x83: no NAA designator"

# READ CAPACITY(16).
out=$(run iscsi-readcapacity16 "$(url disk0)")
echo "$out" | grep -qx "LOGICAL BLOCK LENGTH IN BYTES:512" || fail "disk0: block length"
echo "$out" | grep -qx "Total size:67108864" || fail "disk0: total size"
echo "$out" | grep -qx "RETURNED LOGICAL BLOCK ADDRESS:131071" || fail "disk0: last LBA"
out=$(run iscsi-readcapacity16 "$(url disk4k)")
echo "$out" | grep -qx "LOGICAL BLOCK LENGTH IN BYTES:4096" || fail "disk4k: block length"
echo "$out" | grep -qx "Total size:16777216" || fail "disk4k: total size"

# An NBD-only export is no iSCSI target.
if timeout 20 iscsi-inq "$(url nbdonly)" >/dev/null 2>&1; then
    fail "iscsi-inq reached the export with protocols = nbd"
fi

# The status socket sees an iSCSI session and its reads.
timeout 20 iscsi-perf -t 3 "$(url disk0)" >/dev/null 2>&1 &
perf=$!
cleanup_fn "kill $perf 2>/dev/null || true"
wait_for 10 sh -c "polltgtctl -s '$TMPDIR_TEST/status.sock' connections |
    grep -q ' iscsi  *disk0 '" ||
    fail "polltgtctl connections does not list the iSCSI session"
# The session is listed once logged in; its first READ comes a little
# later (iscsi-perf reads the capacity first), so wait for the counter.
disk0_read() {
    polltgtctl -s "$TMPDIR_TEST/status.sock" exports --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
e = [x for x in d["exports"] if x["name"] == "disk0"][0]
assert e["io"]["bytes_read"] > 0, e["io"]["bytes_read"]
print("status socket: disk0 read %d bytes over iSCSI" % e["io"]["bytes_read"])
'
}
wait_for 10 disk0_read ||
    fail "the export's read counter did not move under iscsi-perf"
disk0_read
wait "$perf" || true

kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "SIGTERM: exit status $POLLTGTD_STATUS"
echo "ok"
