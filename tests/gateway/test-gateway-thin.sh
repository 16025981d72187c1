#!/usr/bin/env bash
# A thin LUN whose disk cannot tell allocation, through a gateway chain:
# nbdkit's memory plugin without structured replies (so trim but no
# base:allocation, as an rbd image or many NBD servers are) is
# re-exported by polltgtd "back" through backend = nbd over iSCSI, and
# polltgtd "front" re-exports that LUN through backend = iscsi over NBD.
# The back's LUN is thin (it can unmap), so it must answer GET LBA STATUS
# (all mapped); the front then offers block status, reports the whole
# disk as data, and clients that map extents (nbdcopy, nbdinfo --map)
# work through it.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/gateway/gateway-functions.sh"
set -e

requires nbdkit --version
requires nbdcopy --version
requires nbdinfo --version
requires timeout --version

cd "$TMPDIR_TEST"
kit_sock="$TMPDIR_TEST/kit.sock"
front_sock="$TMPDIR_TEST/front.sock"
port=$(free_port)

nbdkit --exit-with-parent -f -U "$kit_sock" -P kit.pid \
    --no-sr memory 8M 2>kit.log &
kit_pid=$!
cleanup_fn "kill $kit_pid 2>/dev/null; wait $kit_pid 2>/dev/null || true"
wait_for 20 test -S "$kit_sock" || { cat kit.log >&2; fail "nbdkit did not start"; }

server_ini back.ini 1 "unix:$TMPDIR_TEST/back.sock" "127.0.0.1:$port"
remote_export back.ini thin nbd "nbd+unix:///?socket=$kit_sock" 3s \
    "protocols = iscsi"
server_ini front.ini 1 "unix:$front_sock"
remote_export front.ini gw iscsi \
    "iscsi://127.0.0.1:$port/iqn.2026-11.org.polltgt:thin/0" 3s \
    "protocols = nbd"
start_named back back.ini
start_named front front.ini
front() { echo "nbd+unix:///gw?socket=$front_sock"; }

nbdinfo "$(front)" >info.txt || { front_log; fail "nbdinfo on the front"; }
grep -q 'can_trim: true' info.txt ||
    fail "the back's LUN is not thin: $(cat info.txt)"
grep -q 'base:allocation' info.txt ||
    { front_log; fail "the front offers no block status: $(cat info.txt)"; }
! grep -q 'without GET LBA STATUS' front.log ||
    fail "the back's thin LUN refused GET LBA STATUS"

# Written at the front: extents, then data, read back with extents.
head -c 8M /dev/urandom >a.bin
timeout 30 nbdcopy --flush a.bin "$(front)" || { front_log; fail "write at the front"; }
timeout 30 nbdcopy "$(front)" a.front || { front_log; fail "read at the front"; }
cmp a.bin a.front || fail "data read back through the chain differs"
nbdinfo --map "$(front)" >map.txt || { front_log; fail "nbdinfo --map on the front"; }
[ "$(awk '{print $1, $2, $3}' map.txt)" = "0 8388608 0" ] ||
    fail "the map is not all data: $(cat map.txt)"

stop_named front
[ "$named_status" -eq 0 ] || { front_log; fail "front exit status $named_status"; }
stop_named back
[ "$named_status" -eq 0 ] || { cat back.log >&2; fail "back exit status $named_status"; }
echo "ok: a thin LUN without allocation answers GET LBA STATUS all mapped through the chain"
