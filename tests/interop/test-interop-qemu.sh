#!/usr/bin/env bash
# QEMU's block layer as a client: qemu-img info shows the size, qemu-img
# convert copies to and from the export and qemu-img compare agrees,
# qemu-io pattern writes read back, write -z and discard read back as
# zeroes, and qemu-img map shows data only where data was written.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

requires qemu-img --version
requires qemu-io --version
requires python3 --version
requires timeout --version

cd "$TMPDIR_TEST"
sock="$TMPDIR_TEST/nbd.sock"
conf="$TMPDIR_TEST/polltgt.ini"
cat >"$conf" <<EOF
[server]
iothreads = 2
[nbd]
listen = unix:$sock
[status]
socket = none
[export mem]
backend = memory
size = 64M
[export file0]
backend = file
path = $TMPDIR_TEST/file0.img
create = yes
size = 32M
EOF
start_polltgtd "$conf"
uri() { echo "nbd+unix:///$1?socket=$sock"; }
# qio EXPORT qemu-io-args...: run qemu-io; qemu-io exits 0 even when a
# read -P finds other data, so its output is checked as well.
qio() {
    local u out rc=0
    u=$(uri "$1")
    shift
    out=$(timeout 60 qemu-io -f raw "$@" "$u" 2>&1) || rc=$?
    echo "$out"
    if [ "$rc" -ne 0 ] || grep -E -q 'Pattern verification failed|failed:|error' <<<"$out"; then
        echo "$out" >&2
        fail "qemu-io $* $u: status $rc"
    fi
}

# qemu-img info: the size.
timeout 30 qemu-img info --output=json -f raw "$(uri mem)" >info.json ||
    fail "qemu-img info failed"
python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["virtual-size"] == 64 << 20 and d["format"] == "raw", d
' <info.json || { cat info.json; fail "qemu-img info: wrong size"; }
timeout 30 qemu-img info -f raw "$(uri file0)" | grep -q 'virtual size: 32 MiB (33554432 bytes)' ||
    fail "qemu-img info file0: wrong size"

# convert to the export and back; compare both ways.  The source is a
# qcow2 image with data in a few places, so convert also writes zeroes
# (or skips them) for the rest.
timeout 30 qemu-img create -q -f qcow2 src.qcow2 64M
timeout 30 qemu-io -f qcow2 -c 'write -P 0x11 0 1M' -c 'write -P 0x22 17M 3M' \
    -c 'write -P 0x33 63M 1M' src.qcow2 >/dev/null
timeout 60 qemu-img convert -n -f qcow2 -O raw src.qcow2 "$(uri mem)" ||
    fail "qemu-img convert src.qcow2 -> mem"
timeout 60 qemu-img compare -f qcow2 -F raw src.qcow2 "$(uri mem)" ||
    fail "qemu-img compare src.qcow2 mem"
timeout 60 qemu-img convert -f raw -O qcow2 "$(uri mem)" back.qcow2 ||
    fail "qemu-img convert mem -> back.qcow2"
timeout 60 qemu-img compare -f qcow2 -F qcow2 src.qcow2 back.qcow2 ||
    fail "qemu-img compare src.qcow2 back.qcow2"
# A difference is noticed (compare is not vacuous): exit status 1.
qio mem -c 'write -P 0x44 5M 4k' >/dev/null
rc=0
timeout 60 qemu-img compare -q -f qcow2 -F raw src.qcow2 "$(uri mem)" || rc=$?
[ "$rc" -eq 1 ] || fail "qemu-img compare after a change: status $rc, want 1"

# Into the file export: the backing file holds the data.
timeout 30 qemu-img convert -f qcow2 -O raw src.qcow2 src.raw
truncate -s 32M src.raw
timeout 60 qemu-img convert -n -f raw -O raw src.raw "$(uri file0)" ||
    fail "qemu-img convert src.raw -> file0"
cmp src.raw file0.img || fail "file0.img differs from what qemu-img wrote"

# qemu-io: patterns, write zeroes, discard, each read back.
for e in mem file0; do
    out=$(qio "$e" \
        -c 'write -P 0xa5 0 1M' -c 'read -P 0xa5 0 1M' \
        -c 'write -P 0x5a 1M 64k' -c 'read -P 0x5a 1M 64k' \
        -c 'write -P 0x3c 4097 1000' -c 'read -P 0x3c 4097 1000' \
        -c 'read -P 0xa5 0 4097' -c 'read -P 0xa5 5097 1043479' \
        -c 'write -z 256k 256k' -c 'read -P 0 256k 256k' \
        -c 'read -P 0xa5 512k 512k' \
        -c 'write -P 0x77 2M 1M' -c 'discard 2M 1M' -c 'read -P 0 2M 1M' \
        -c 'write -P 0x66 8M 128k' -c 'write -z -u 8M 64k' \
        -c 'read -P 0 8M 64k' -c 'read -P 0x66 8256k 64k' \
        -c 'write -f -P 0x99 12M 64k' -c 'flush' -c 'read -P 0x99 12M 64k' \
        )
    n=$(grep -c '^read ' <<<"$out") || true
    [ "$n" -eq 11 ] || { echo "$out"; fail "$e: $n of 11 reads completed"; }
done

# qemu-img map: discard everything, then write, zero and discard at known
# 64 KiB-aligned places (the memory backend's allocation unit).  The zero
# write has -u (may unmap): without it the client sends NO_HOLE and the
# server rightly keeps the range allocated, which a map may show as data.
qio mem -c 'discard 0 64M' -c 'read -P 0 0 64M' >/dev/null ||
    fail "discard of the whole export"
qio mem -c 'write -P 1 1M 64k' -c 'write -P 2 3M 192k' -c 'write -z -u 3M 64k' \
    -c 'write -P 3 10M 1M' -c 'discard 10M 512k' >/dev/null ||
    fail "qemu-io writes for the map failed"
timeout 30 qemu-img map --output=json -f raw "$(uri mem)" >map.json ||
    fail "qemu-img map failed"
python3 - map.json <<'PY' || { cat map.json; fail "qemu-img map"; }
import json, sys
K, M = 1024, 1024 * 1024
got = [(x["start"], x["length"], x["data"], x["zero"]) for x in json.load(open(sys.argv[1]))]
# Merge neighbours of one kind; a server may split extents where it likes.
merged = []
for s, l, d, z in got:
    if merged and merged[-1][2:] == (d, z) and merged[-1][0] + merged[-1][1] == s:
        merged[-1] = (merged[-1][0], merged[-1][1] + l, d, z)
    else:
        merged.append((s, l, d, z))
want = [
    (0, 1 * M, False, True),
    (1 * M, 64 * K, True, False),
    (1 * M + 64 * K, 2 * M, False, True),
    (3 * M + 64 * K, 128 * K, True, False),
    (3 * M + 192 * K, 10 * M + 512 * K - (3 * M + 192 * K), False, True),
    (10 * M + 512 * K, 512 * K, True, False),
    (11 * M, 53 * M, False, True),
]
if merged != want:
    sys.exit("qemu-img map:\n got  %r\n want %r" % (merged, want))
PY
timeout 30 qemu-img map -f raw "$(uri mem)" >map.txt
grep -E -q '^0x100000 +0x10000 +0x100000 ' map.txt ||
    { cat map.txt; fail "qemu-img map (human) lacks the 64 KiB at 1M"; }

kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "SIGTERM: exit status $POLLTGTD_STATUS"
echo "ok"
