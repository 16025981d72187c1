#!/usr/bin/env bash
# backend = rbd against a real Ceph cluster: a single-node cluster on
# loopback (ceph-functions.sh), an RBD image exported by polltgtd over
# NBD and iSCSI.  Data written through NBD reads back through iSCSI and
# in Ceph itself (rbd export), data written through iSCSI and by another
# librbd client (qemu-io on rbd:) reads back through NBD; write-zeroes and
# discard read as zeros in Ceph.  Then the OSD is stopped mid-run:
# requests fail with EIO within the request timeout instead of hanging,
# and once the OSD is back the export serves again, with the data, and
# counts the reconnect.  One cluster start for all of it (about 10 s).
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/gateway/gateway-functions.sh"
. "$abs_top_srcdir/tests/ceph/ceph-functions.sh"
set -e

requires nbdcopy --version
requires nbdinfo --version
requires timeout --version
requires python3 --version
requires qemu-io --version
ceph_requires

cd "$TMPDIR_TEST"
ceph_start "$TMPDIR_TEST/ceph"
rbd_cli create --size 32M rbd/disk || fail "rbd create"

sock="$TMPDIR_TEST/nbd.sock"
port=$(free_port)
cat >rbd.ini <<INI
[server]
iothreads = 2
[nbd]
listen = unix:$sock
[iscsi]
listen = 127.0.0.1:$port
[status]
socket = $TMPDIR_TEST/status.sock
[export ceph0]
backend = rbd
pool = rbd
image = disk
conf = $CEPH_CONF
request-timeout = 3s
INI
start_polltgtd rbd.ini
nbd="nbd+unix:///ceph0?socket=$sock"
show_log() { cat "$POLLTGTD_LOG" >&2; }

nbdinfo "$nbd" >info.txt || { show_log; fail "nbdinfo"; }
grep -q 'export-size: 33554432' info.txt || fail "size: $(cat info.txt)"
for cap in can_flush can_trim can_zero can_multi_conn; do
    grep -q "$cap: true" info.txt || fail "$cap is not offered: $(cat info.txt)"
done

# The iSCSI client: a second polltgtd whose backend = iscsi (libiscsi)
# logs in to the LUN and re-exports it over NBD.  The LUN is thin (UNMAP)
# and librbd tells no allocation, so GET LBA STATUS answers all mapped
# and nbdcopy's block status through the chain sees one data extent.
isock="$TMPDIR_TEST/initiator.sock"
cat >initiator.ini <<INI
[server]
iothreads = 1
[nbd]
listen = unix:$isock
[status]
socket = none
[export lun]
backend = iscsi
url = iscsi://127.0.0.1:$port/iqn.2026-11.org.polltgt:ceph0/0
initiator-name = iqn.2026-11.org.polltgt:test-ceph
protocols = nbd
INI
start_named initiator initiator.ini
iscsi="nbd+unix:///lun?socket=$isock"

# NBD -> Ceph and iSCSI.
head -c 8M /dev/urandom >a.bin
timeout 30 nbdcopy --flush a.bin "$nbd" || { show_log; fail "NBD write"; }
rbd_cli export --no-progress rbd/disk a.ceph >/dev/null 2>&1 || fail "rbd export"
cmp -n 8388608 a.bin a.ceph || fail "data written over NBD differs in Ceph"
timeout 30 nbdcopy "$iscsi" a.iscsi || { show_log; fail "iSCSI read"; }
nbdinfo --map "$iscsi" >map.txt || { show_log; fail "nbdinfo --map through iSCSI"; }
[ "$(awk '{print $1, $2, $3}' map.txt)" = "0 33554432 0" ] ||
    fail "the rbd LUN's map is not all data: $(cat map.txt)"
cmp -n 8388608 a.bin a.iscsi || fail "data written over NBD differs over iSCSI"

# iSCSI -> NBD, at 8M (qemu-io's pattern writes, through the initiator).
timeout 30 qemu-io -f raw "$iscsi" -c "write -P 0x3c 8M 8M" -c flush \
    >qio-iscsi.out 2>&1 || { cat qio-iscsi.out; show_log; fail "iSCSI write"; }
head -c 8M /dev/zero | tr '\0' '\074' >b.bin
timeout 30 nbdcopy "$nbd" b.nbd || fail "NBD read after the iSCSI write"
cmp -i 8388608:0 -n 8388608 b.nbd b.bin ||
    fail "data written over iSCSI differs over NBD"
stop_named initiator
[ "$named_status" -eq 0 ] || fail "the iSCSI initiator polltgtd exited with $named_status"

# Another librbd client writes at 16M (the image's exclusive lock moves
# to it and back): polltgtd reads what it wrote, not a stale cache.
timeout 60 qemu-io -f raw "rbd:rbd/disk:conf=$CEPH_CONF" \
    -c "write -P 0xa5 16M 4M" >qio-rbd.out 2>&1 ||
    { cat qio-rbd.out; fail "qemu-io write to rbd:"; }
head -c 4M /dev/zero | tr '\0' '\245' >c.bin
timeout 30 nbdcopy "$nbd" c.nbd || fail "NBD read after the librbd write"
cmp -i 16777216:0 -n 4194304 c.nbd c.bin ||
    fail "data written by another librbd client differs over NBD"

# Write-zeroes and discard through NBD read as zeros in Ceph.
timeout 30 qemu-io -f raw "$nbd" -c "write -z 0 1M" -c "discard 4M 4M" \
    -c "flush" >qio.out 2>&1 || { cat qio.out; show_log; fail "qemu-io zero/discard"; }
rbd_cli export --no-progress rbd/disk z.ceph >/dev/null 2>&1 || fail "rbd export"
cmp -n 1048576 z.ceph /dev/zero || fail "write-zeroes did not zero in Ceph"
cmp -i 4194304:0 -n 4194304 z.ceph /dev/zero ||
    fail "a discard of whole objects did not read as zeros in Ceph"
cmp -i 1048576:1048576 -n 3145728 z.ceph a.bin ||
    fail "data next to the zeroed range changed"
timeout 30 nbdcopy "$nbd" before.nbd || fail "NBD read before the OSD restart"

# The OSD goes away mid-run: a read fails with EIO after about the
# request timeout (3 s), not a hang.
ceph_osd_stop
start=$(date +%s%N)
rc=0
timeout 30 nbdcopy "$nbd" dead.bin 2>dead.err || rc=$?
dead_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" -ne 124 ] || fail "a read hung with the OSD down"
[ "$rc" -ne 0 ] || fail "a read succeeded with the OSD down"
grep -qi 'input/output error' dead.err || fail "expected EIO, got: $(cat dead.err)"
[ "$dead_ms" -lt 15000 ] || fail "the read took $dead_ms ms to fail"
log_has 'ceph0: rbd: lost the remote' || { show_log; fail "no loss logged"; }

# Back: the export serves again, with the data, and takes writes.
# A restart under a loaded host (the sanitizer build, the suite in
# parallel) once took longer than 30 s.
ceph_osd_restart 60 || { ceph_show_logs; fail "the OSD did not come back"; }
served=
for i in $(seq 1 60); do
    if timeout 30 nbdcopy "$nbd" back.nbd 2>/dev/null; then
        served=1
        break
    fi
    sleep 0.5
done
[ -n "$served" ] || { show_log; fail "the export did not serve again after the OSD restart"; }
cmp back.nbd before.nbd || fail "the data read after the OSD restart differs"
timeout 30 nbdcopy --flush a.bin "$nbd" || { show_log; fail "NBD write after the restart"; }
rbd_cli export --no-progress rbd/disk a2.ceph >/dev/null 2>&1 || fail "rbd export"
cmp -n 8388608 a.bin a2.ceph || fail "data written after the restart differs in Ceph"
log_has 'ceph0: rbd: reconnected' || { show_log; fail "no reconnect logged"; }

# The remote counters show the loss and the reconnect.
"$abs_top_builddir/server/polltgtctl" -s "$TMPDIR_TEST/status.sock" metrics \
    >metrics.txt || fail "polltgtctl metrics"
grep -Eq '^polltgt_remote_reconnects_total\{export="ceph0"\} [1-9]' metrics.txt ||
    fail "no reconnect counted: $(grep remote metrics.txt)"
grep -Eq '^polltgt_remote_errors_total\{export="ceph0"\} [1-9]' metrics.txt ||
    fail "no error counted: $(grep remote metrics.txt)"

stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || { show_log; fail "polltgtd exit status $POLLTGTD_STATUS"; }
echo "ok: rbd over NBD and iSCSI, EIO after $dead_ms ms with the OSD down, served again after its restart"
