#!/usr/bin/env bash
# One file-backed export served over iSCSI and NBD at once: random data
# written over iSCSI (then SYNCHRONIZE CACHE) reads back the same over NBD
# and is in the backing file byte for byte; data written over NBD (with a
# flush) reads back the same over iSCSI; after the server stops (exit 0),
# the backing file holds the last data.  A polltgtd without the iSCSI
# front end skips.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

copy="$abs_top_builddir/tests/iscsi/test-iscsi-copy"
requires test -x "$copy"
requires nbdcopy --version
requires python3 -c ''
requires timeout --version

cd "$TMPDIR_TEST"
port=$(free_port)
sock="$TMPDIR_TEST/nbd.sock"
conf="$TMPDIR_TEST/polltgt.ini"
cat >"$conf" <<CONF
[iscsi]
listen = 127.0.0.1:$port
[nbd]
listen = unix:$sock
[status]
socket = none
[export shared]
backend = file
path = $TMPDIR_TEST/shared.img
create = yes
size = 16M
CONF
start_polltgtd "$conf"
wait_for 10 log_has "iscsi: listening on 127\.0\.0\.1:$port\$" ||
    fail "no 'iscsi: listening on 127.0.0.1:$port' log line"
iscsi_url="iscsi://127.0.0.1:$port/iqn.2026-11.org.polltgt:shared/0"
nbd_uri="nbd+unix:///shared?socket=$sock"

# iSCSI -> NBD and the backing file.
head -c 16M /dev/urandom >src1.bin
timeout 60 "$copy" put src1.bin "$iscsi_url" || fail "iSCSI write failed"
timeout 60 nbdcopy "$nbd_uri" back1.bin || fail "nbdcopy from the export"
cmp src1.bin back1.bin || fail "data written over iSCSI reads back different over NBD"
cmp src1.bin shared.img || fail "data written over iSCSI is not in the backing file"

# NBD -> iSCSI.
head -c 16M /dev/urandom >src2.bin
timeout 60 nbdcopy --flush src2.bin "$nbd_uri" || fail "nbdcopy to the export"
timeout 60 "$copy" get "$iscsi_url" back2.bin || fail "iSCSI read failed"
cmp src2.bin back2.bin || fail "data written over NBD reads back different over iSCSI"

# A last iSCSI write, then stop: the file holds it.
head -c 8M /dev/urandom >src3.bin
timeout 60 "$copy" put src3.bin "$iscsi_url" || fail "second iSCSI write failed"
kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "SIGTERM: exit status $POLLTGTD_STATUS"
cmp src3.bin <(head -c 8M shared.img) ||
    fail "after the server stopped, the backing file lacks the last iSCSI write"
cmp <(tail -c 8M src2.bin) <(tail -c 8M shared.img) ||
    fail "the second half of the file (written over NBD) changed"
echo "ok"
