#!/usr/bin/env bash
# nbdinfo sees what the configuration says: export names, sizes,
# descriptions, capability flags and block sizes (--json and --list), and
# --map reports data where data was written and hole,zero everywhere else,
# on a memory export and on a file export.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

requires nbdinfo --version
requires nbdcopy --version
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
[export disk0]
backend = memory
size = 64M
description = RAM disk for nbdinfo
[export ro]
backend = memory
size = 1M
readonly = yes
description = read-only RAM disk
[export file0]
backend = file
path = $TMPDIR_TEST/file0.img
create = yes
size = 8M
description = file disk, created sparse
EOF
start_polltgtd "$conf"
uri() { echo "nbd+unix:///$1?socket=$sock"; }

# check_json EXPORT PYTHON-ASSERTIONS: nbdinfo --json of EXPORT parses and
# the assertions hold for e = its only export.
check_json() {
    local name=$1 asserts=$2 out="$TMPDIR_TEST/info-$1.json"
    timeout 30 nbdinfo --json "$(uri "$name")" >"$out" ||
        fail "nbdinfo --json $(uri "$name") failed"
    python3 - "$out" "$asserts" <<'PY' || { cat "$out" >&2; fail "nbdinfo --json '$name'"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["protocol"] == "newstyle-fixed", d["protocol"]
assert len(d["exports"]) == 1, d["exports"]
e = d["exports"][0]
for line in sys.argv[2].strip().splitlines():
    line = line.strip()
    if line and not eval(line):
        sys.exit("assertion failed: %s  (export: %r)" % (line, e))
PY
}

rw_caps='
e["is_read_only"] is False
e["can_flush"] and e["can_fua"] and e["can_trim"] and e["can_zero"]
e["can_fast_zero"] and e["can_multi_conn"] and e["can_cache"] and e["can_df"]
"base:allocation" in e["contexts"]
e["block_size_minimum"] >= 1 and e["block_size_minimum"] <= 4096
e["block_size_preferred"] == 4096
e["block_size_maximum"] == 64 * 1024 * 1024
'
check_json disk0 "
e['export-name'] == 'disk0'
e['export-size'] == 64 * 1024 * 1024
e['description'] == 'RAM disk for nbdinfo'
e['block_size_minimum'] == 1
$rw_caps"
check_json file0 "
e['export-name'] == 'file0'
e['export-size'] == 8 * 1024 * 1024
e['description'] == 'file disk, created sparse'
$rw_caps"
check_json ro "
e['export-name'] == 'ro'
e['export-size'] == 1024 * 1024
e['description'] == 'read-only RAM disk'
e['is_read_only'] is True
not e['can_trim'] and not e['can_zero'] and not e['can_fua']
not e['can_fast_zero']
e['can_flush'] and e['can_multi_conn']
"

# The empty name is the default export, the first section: disk0.
timeout 30 nbdinfo --json "nbd+unix:///?socket=$sock" >default.json ||
    fail "nbdinfo on the default export failed"
python3 -c '
import json, sys
e = json.load(sys.stdin)["exports"][0]
assert e["export-name"] == "disk0" and e["export-size"] == 64 << 20, e
' <default.json || { cat default.json; fail "default export is not disk0"; }

# --list: every export, each with its description.
timeout 30 nbdinfo --list "nbd+unix:///?socket=$sock" >list.txt ||
    fail "nbdinfo --list failed"
for pair in 'disk0|RAM disk for nbdinfo' 'ro|read-only RAM disk' \
            'file0|file disk, created sparse'; do
    name=${pair%%|*} desc=${pair#*|}
    grep -q "^export=\"$name\":" list.txt ||
        { cat list.txt; fail "nbdinfo --list lacks export $name"; }
    # The description line belongs to this export's block.
    awk -v n="export=\"$name\":" -v d="description: $desc" '
        $0 == n { inside = 1; next }
        /^export=/ { inside = 0 }
        inside && index($0, d) { found = 1 }
        END { exit !found }' list.txt ||
        { cat list.txt; fail "nbdinfo --list: $name lacks '$desc'"; }
done
timeout 30 nbdinfo --list --json "nbd+unix:///?socket=$sock" >list.json ||
    fail "nbdinfo --list --json failed"
python3 -c '
import json, sys
got = {e["export-name"]: e.get("description") for e in json.load(sys.stdin)["exports"]}
want = {"disk0": "RAM disk for nbdinfo", "ro": "read-only RAM disk",
        "file0": "file disk, created sparse"}
assert got == want, got
' <list.json || { cat list.json; fail "nbdinfo --list --json"; }

# --map: write random data at known offsets through nbdcopy (which copies
# only the data of a sparse source into a destination known to be zero),
# then the map must show exactly those ranges as data.  The memory backend
# allocates in 64 KiB chunks, so the ranges are 64 KiB aligned.
mkimage() { # FILE SIZE OFFSET:LENGTH... (offsets and lengths in KiB)
    local f=$1 size=$2 r
    shift 2
    truncate -s "$size" "$f"
    for r in "$@"; do
        head -c "$((${r#*:} * 1024))" /dev/urandom |
            dd of="$f" bs=1K seek="${r%:*}" conv=notrunc status=none
    done
}
# expect_map EXPORT IMAGE START:LENGTH:TYPE... (bytes; type 0 data, 3 hole,zero)
expect_map() {
    local name=$1 img=$2
    shift 2
    timeout 60 nbdcopy --destination-is-zero "$img" "$(uri "$name")" ||
        fail "nbdcopy $img -> $name failed"
    timeout 30 nbdinfo --map --json "$(uri "$name")" >"map-$name.json" ||
        fail "nbdinfo --map $name failed"
    timeout 30 nbdinfo --map "$(uri "$name")" >"map-$name.txt"
    python3 - "map-$name.json" "$@" <<'PY' || { cat "map-$name.txt" >&2; fail "nbdinfo --map $name"; }
import json, sys
got = [(x["offset"], x["length"], x["type"]) for x in json.load(open(sys.argv[1]))]
want = [tuple(int(v) for v in a.split(":")) for a in sys.argv[2:]]
if got != want:
    sys.exit("map: got %r\n      want %r" % (got, want))
PY
    # What was written reads back.
    timeout 60 nbdcopy "$(uri "$name")" "readback-$name.img"
    cmp "$img" "readback-$name.img" || fail "$name: data read back differs"
}

K=1024 M=$((1024 * 1024))
mkimage disk0.img 64M 1024:64 8256:128 65472:64
expect_map disk0 disk0.img \
    0:$M:3 \
    $M:$((64 * K)):0 \
    $((M + 64 * K)):$((8256 * K - M - 64 * K)):3 \
    $((8256 * K)):$((128 * K)):0 \
    $((8384 * K)):$((65472 * K - 8384 * K)):3 \
    $((65472 * K)):$((64 * K)):0
grep -E -q '^ +1048576 +65536 +0 +data$' map-disk0.txt ||
    { cat map-disk0.txt; fail "nbdinfo --map text lacks the data extent at 1M"; }
grep -E -q '^ +0 +1048576 +3 +hole,zero$' map-disk0.txt ||
    { cat map-disk0.txt; fail "nbdinfo --map text lacks the leading hole"; }

# The file backend reports what the file system knows.  The local image
# lives on the same file system as the export's backing file, so if the
# image itself does not show its holes (no SEEK_HOLE support), only check
# that everything reads back.
mkimage file0.img 8M 512:64 4096:256
if python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
sys.exit(0 if os.lseek(fd, 0, os.SEEK_DATA) == 512 * 1024 else 1)
' file0.img; then
    expect_map file0 file0.img \
        0:$((512 * K)):3 \
        $((512 * K)):$((64 * K)):0 \
        $((576 * K)):$((4096 * K - 576 * K)):3 \
        $((4096 * K)):$((256 * K)):0 \
        $((4352 * K)):$((8 * M - 4352 * K)):3
else
    echo "note: this file system does not report holes; file map not checked"
    timeout 60 nbdcopy file0.img "$(uri file0)" || fail "nbdcopy -> file0"
fi

kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "SIGTERM: exit status $POLLTGTD_STATUS"
echo "ok"
