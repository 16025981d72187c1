#!/usr/bin/env bash
# A chain on loopback through iSCSI: polltgtd "back" exports a memory
# disk over NBD and iSCSI; polltgtd "front" re-exports its iSCSI LUN
# through backend = iscsi, over NBD.  Data written at the front reads back
# at the back (over NBD) and the other way; zero, trim, FUA and block
# status go through.
# Then the back is killed: reads at the front fail at once with an I/O
# error, and once the back is started again the front logs in again and
# serves (the memory disk starts empty again).
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/gateway/gateway-functions.sh"
set -e

requires nbdcopy --version
requires nbdinfo --version
requires timeout --version
requires python3 --version

cd "$TMPDIR_TEST"
back_sock="$TMPDIR_TEST/back.sock"
front_sock="$TMPDIR_TEST/front.sock"
port=$(free_port)
iqn=$back_iqn
back_ini back.ini "unix:$back_sock" "127.0.0.1:$port" 8M
server_ini front.ini 2 "unix:$front_sock"
remote_export front.ini gw iscsi "iscsi://127.0.0.1:$port/$iqn/0" 3s \
    "initiator-name = iqn.2026-11.org.polltgt:test-gateway" "protocols = nbd"
start_named back back.ini
start_named front front.ini
back() { echo "nbd+unix:///mem?socket=$back_sock"; }
front() { echo "nbd+unix:///gw?socket=$front_sock"; }

nbdinfo "$(front)" >info.txt || { front_log; fail "nbdinfo on the front"; }
grep -q 'export-size: 8388608' info.txt || fail "front size: $(cat info.txt)"
grep -q 'can_trim: true' info.txt || fail "front does not offer UNMAP as trim"
grep -q 'block_size_minimum: 512' info.txt || fail "front block size: $(cat info.txt)"
grep -q 'iqn.2026-11.org.polltgt:test-gateway' back.log ||
    fail "the back did not see the gateway's initiator name"

copy_both_ways "$(front)" "$(back)"

# Write-zeroes with FUA (WRITE SAME (16), then SYNCHRONIZE CACHE) and
# trim (UNMAP) through the front read as zeros at the back, a FUA write
# (WRITE (16) with FUA) reads back, the rest is untouched, and block
# status through the front (GET LBA STATUS) reports the trimmed range as
# a hole.
if qemu-io --version >/dev/null 2>&1; then
    timeout 30 qemu-io -f raw "$(front)" -c "write -z -f 0 2M" \
        -c "discard 2M 2M" -c "write -f -P 0x5a 4M 64k" >qio.out 2>&1 ||
        { cat qio.out; front_log; fail "qemu-io zero/discard/FUA write"; }
    timeout 30 nbdcopy "$(back)" z.back || fail "read at the back after zeroing"
    cmp -n 4194304 z.back /dev/zero || fail "zeroed/trimmed range is not zero at the back"
    head -c 65536 /dev/zero | tr '\0' 'Z' >z5a.bin
    cmp -i 4194304:0 -n 65536 z.back z5a.bin || fail "the FUA write did not reach the back"
    cmp -i 4259840 z.back b.bin || fail "data past the written ranges changed"
    nbdinfo --map "$(front)" >map.txt || fail "nbdinfo --map on the front"
    grep -Eq '^ *2097152 +2097152 +3' map.txt ||
        fail "trimmed range not reported as a hole: $(cat map.txt)"
fi

stop_named back KILL
read_fails_fast "$(front)"
grep -q 'gw: iscsi: lost the remote' front.log || { front_log; fail "no loss logged"; }

start_named back back.ini
read_when_back "$(front)" empty.bin
cmp empty.bin <(head -c 8M /dev/zero) || fail "a fresh back disk did not read as zeros"
timeout 30 nbdcopy --flush a.bin "$(front)" || { front_log; fail "write after the reconnect"; }
timeout 30 nbdcopy "$(back)" a.again || fail "read at the back after the reconnect"
cmp a.bin a.again || fail "data written after the reconnect differs at the back"
grep -q 'gw: iscsi: reconnected' front.log || fail "no reconnect logged"

stop_named front
[ "$named_status" -eq 0 ] || { front_log; fail "front exit status $named_status"; }
echo "ok: iSCSI chain, EIO after $eio_ms ms with the back dead, served again after restart"
