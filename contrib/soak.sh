#!/bin/bash
# SPDX-License-Identifier: MIT
#
# contrib/soak.sh: a bounded soak of polltgtd under mixed NBD and iSCSI
# load, to show that nothing piles up over time: it reports the server's
# RSS and open descriptors at the start and the end (and every minute),
# and fails if they are not flat or if any client saw an error.  Not a
# test (make check does not run it) and not a benchmark: the load is
# niced and its rates are only reported.  See contrib/bench/README.md.
#
#   contrib/soak.sh [-d SECONDS] [-b BUILDDIR] [-k]
#
# -d  duration of the load (default 600, or $SOAK_DURATION)
# -b  the build directory (default: the current directory)
# -k  keep the working directory (config, log, images, outputs)
#
# The load, all at once until the deadline:
#  - fio's nbd engine: 2 jobs at queue depth 8, random 4-64 KiB reads and
#    writes with verification, on a 256 MiB file export;
#  - iscsi-perf: random reads, 32 in flight, on a 256 MiB memory export;
#  - nbdcopy loops: the memory export copied to a 256 MiB file export over
#    NBD (a new pair of connections each time);
#  - iSCSI copy loops: a 16 MiB file written with WRITE(16) and
#    SYNCHRONIZE CACHE, read back and compared (tests/iscsi/test-iscsi-copy,
#    built by make check);
#  - churn: nbdinfo and iscsi-inq, a new connection five times a second.
# The start figures are taken 15 s into the load, the end figures just
# before it stops, and the descriptors also when idle, before and after.
set -euo pipefail

duration=${SOAK_DURATION:-600}
builddir=.
keep=no
while getopts d:b:kh opt; do
    case $opt in
    d) duration=$OPTARG ;;
    b) builddir=$OPTARG ;;
    k) keep=yes ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//' | head -n -1
       exit 2 ;;
    esac
done
[[ $duration =~ ^[0-9]+$ ]] && [ "$duration" -ge 30 ] ||
    { echo "soak: -d wants a number of seconds, at least 30" >&2; exit 2; }
builddir=$(cd "$builddir" && pwd)
daemon=$builddir/server/polltgtd
copy=$builddir/tests/iscsi/test-iscsi-copy

die() { echo "soak: $*" >&2; exit 2; }
[ -x "$daemon" ] || die "$daemon not built (run make)"
[ -x "$copy" ] || die "$copy not built (run make check, or make tests/iscsi/test-iscsi-copy)"
for t in fio nbdcopy nbdinfo iscsi-perf iscsi-inq python3 cmp; do
    command -v "$t" >/dev/null || die "$t is missing (contrib/setup.sh installs it)"
done
fio --enghelp=nbd >/dev/null 2>&1 || die "fio has no nbd engine"

dir=$(mktemp -d /var/tmp/polltgt-soak.XXXXXX)
pids=()
server=
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if [ "$keep" = yes ]; then
        echo "soak: kept $dir"
    else
        rm -rf "$dir"
    fi
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
iqn=iqn.2026-11.org.polltgt
sock=$dir/nbd.sock
cat >"$dir/polltgt.ini" <<EOF
[nbd]
listen = unix:$sock
[iscsi]
listen = 127.0.0.1:$port
[status]
socket = none
[export mem]
backend = memory
size = 256M
[export file]
backend = file
path = $dir/file.img
create = yes
size = 256M
[export copy]
backend = file
path = $dir/copy.img
create = yes
size = 256M
[export scsi]
backend = file
path = $dir/scsi.img
create = yes
size = 64M
EOF

"$daemon" --foreground -c "$dir/polltgt.ini" 2>"$dir/polltgtd.log" &
server=$!
for _ in $(seq 100); do
    grep -q "iscsi: listening on 127.0.0.1:$port" "$dir/polltgtd.log" 2>/dev/null &&
        [ -S "$sock" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$dir/polltgtd.log" >&2; die "polltgtd exited"; }
    sleep 0.1
done
[ -S "$sock" ] || die "polltgtd did not start"

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$server/status"; }
fds() { find "/proc/$server/fd" -mindepth 1 -maxdepth 1 | wc -l; }

fds_idle0=$(fds)
rss_idle0=$(rss)
start=$(date +%s)
deadline=$((start + duration))
echo "soak: polltgtd pid $server, ${duration} s of load, working in $dir"
echo "soak: idle before the load: RSS ${rss_idle0} KiB, $fds_idle0 descriptors"

# fio: random reads and writes, verified (its verify state files go in
# the working directory).
cd "$dir"
nice -n 10 fio --name=soak --ioengine=nbd \
    --uri="nbd+unix:///file?socket=$sock" --rw=randrw --bsrange=4k-64k \
    --iodepth=8 --numjobs=2 --size=128M --offset_increment=128M \
    --time_based --runtime="$duration" --verify=crc32c --verify_fatal=1 \
    --output-format=json --output="$dir/fio.json" >"$dir/fio.out" 2>&1 &
pids+=($!)
fio_pid=$!

nice -n 10 iscsi-perf -r -t "$duration" "iscsi://127.0.0.1:$port/$iqn:mem/0" \
    >"$dir/iscsi-perf.out" 2>&1 &
pids+=($!)
perf_pid=$!

# One round of each loop; loop_until_deadline counts rounds and failures
# in NAME.count.
nbdcopy_once() {
    nice -n 10 nbdcopy "nbd+unix:///mem?socket=$sock" \
        "nbd+unix:///copy?socket=$sock" 2>>"$dir/nbdcopy.err"
}
iscsi_copy_once() {
    local url="iscsi://127.0.0.1:$port/$iqn:scsi/0"

    nice -n 10 "$copy" put "$dir/put.bin" "$url" 2>>"$dir/iscsi-copy.err" &&
        nice -n 10 "$copy" get "$url" "$dir/get.bin" 2>>"$dir/iscsi-copy.err" &&
        cmp -s -n 16777216 "$dir/put.bin" "$dir/get.bin"
}
churn_once() {
    nbdinfo --size "nbd+unix:///mem?socket=$sock" >/dev/null 2>>"$dir/churn.err" &&
        iscsi-inq "iscsi://127.0.0.1:$port/$iqn:mem/0" >/dev/null 2>>"$dir/churn.err" &&
        sleep 0.2
}
loop_until_deadline() {
    local name=$1 n=0 bad=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
        if "${name//-/_}_once"; then
            n=$((n + 1))
        else
            bad=$((bad + 1))
        fi
        echo "$n $bad" >"$dir/$name.count"
    done
}
head -c 16M /dev/urandom >"$dir/put.bin"
loop_until_deadline nbdcopy & pids+=($!)
loop_until_deadline iscsi-copy & pids+=($!)
loop_until_deadline churn & pids+=($!)

sample() {
    printf 'soak: %4d s  RSS %7d KiB  %4d descriptors  %6d log lines\n' \
        $(($(date +%s) - start)) "$(rss)" "$(fds)" "$(wc -l <"$dir/polltgtd.log")"
}

sleep 15
rss_start=$(rss)
fds_start=$(fds)
sample
next=$((start + 60))
while [ "$(date +%s)" -lt $((deadline - 3)) ]; do
    kill -0 "$server" 2>/dev/null || { tail -20 "$dir/polltgtd.log" >&2; die "polltgtd died"; }
    if [ "$(date +%s)" -ge "$next" ]; then
        sample
        next=$((next + 60))
    fi
    sleep 1
done
rss_end=$(rss)
fds_end=$(fds)
sample

fail=0
wait "$fio_pid" || { echo "soak: fio failed"; tail -20 "$dir/fio.out"; fail=1; }
wait "$perf_pid" || { echo "soak: iscsi-perf failed"; tail -5 "$dir/iscsi-perf.out"; fail=1; }
for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
done
pids=()
sleep 2
fds_idle1=$(fds)
rss_idle1=$(rss)
kill -0 "$server" 2>/dev/null || { echo "soak: polltgtd died"; fail=1; }

python3 - "$dir/fio.json" <<'PY' || fail=1
import json, sys
j = json.load(open(sys.argv[1]))
r = w = 0
err = 0
for job in j["jobs"]:
    r += job["read"]["io_bytes"]
    w += job["write"]["io_bytes"]
    err += job["error"]
print(f"soak: fio (NBD, verified): {r / 2**30:.1f} GiB read, "
      f"{w / 2**30:.1f} GiB written, errors {err}")
sys.exit(1 if err else 0)
PY
echo "soak: iscsi-perf (iSCSI reads): $(grep -o 'iops average [0-9]* ([0-9]* MB/s)' "$dir/iscsi-perf.out" | tail -1)"
for loop in nbdcopy iscsi-copy churn; do
    read -r n bad <"$dir/$loop.count" || { n=0; bad=0; }
    echo "soak: $loop: $n rounds, $bad failed"
    [ "$bad" -eq 0 ] && [ "$n" -gt 0 ] || fail=1
done
errors=$(grep -c 'polltgtd\[error\]' "$dir/polltgtd.log" || true)
echo "soak: server log: $(wc -l <"$dir/polltgtd.log") lines, $errors errors"
[ "$errors" -eq 0 ] || { grep 'polltgtd\[error\]' "$dir/polltgtd.log" | head -5; fail=1; }

echo "soak: under load: RSS ${rss_start} KiB at 15 s, ${rss_end} KiB at the end; descriptors $fds_start, $fds_end"
echo "soak: idle: RSS ${rss_idle0} KiB before, ${rss_idle1} KiB after; descriptors $fds_idle0 before, $fds_idle1 after"
# Flat: the idle descriptors come back exactly, and RSS under load does
# not grow by more than 10 % + 8 MiB from 15 s to the end.
if [ "$fds_idle1" -ne "$fds_idle0" ]; then
    echo "soak: FAIL: descriptors not back to $fds_idle0"
    fail=1
fi
if [ "$rss_end" -gt $((rss_start + rss_start / 10 + 8192)) ]; then
    echo "soak: FAIL: RSS grew from $rss_start to $rss_end KiB"
    fail=1
fi
[ "$fail" -eq 0 ] && echo "soak: flat: ok" || echo "soak: FAILED"
exit "$fail"
