#!/usr/bin/env bash
# fio's nbd engine: 4 connections at queue depth 16 write random 4 KiB
# blocks, each into its own 16 MiB region, then read every block back and
# check its crc32c; the same with 2 connections over TCP into a file
# export.  fio must exit 0 and report no verify errors, and the
# connections must have been spread over both I/O threads.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

requires fio --version
requires fio --enghelp=nbd
requires python3 --version
requires timeout --version

cd "$TMPDIR_TEST"
sock="$TMPDIR_TEST/nbd.sock"
conf="$TMPDIR_TEST/polltgt.ini"

# A free TCP port on loopback (fio could use the Unix socket too; the
# second pass is there to cover the TCP path).
port=$(python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
')

cat >"$conf" <<EOF
[server]
iothreads = 2
log-level = debug
[nbd]
listen = unix:$sock, 127.0.0.1:$port
[status]
socket = none
[export mem]
backend = memory
size = 64M
[export file0]
backend = file
path = $TMPDIR_TEST/file0.img
create = yes
size = 64M
EOF
start_polltgtd "$conf"

# run_fio NAME URI NUMJOBS: random writes with verification; each job owns
# size/NUMJOBS bytes so jobs never overwrite each other's blocks.
run_fio() {
    local name=$1 uri=$2 jobs=$3 rc=0
    local per=$((64 / jobs))M
    timeout 120 fio --name="$name" --ioengine=nbd --uri="$uri" \
        --rw=randwrite --bs=4k --iodepth=16 --numjobs="$jobs" \
        --size="$per" --offset_increment="$per" \
        --verify=crc32c --do_verify=1 --verify_fatal=1 \
        --runtime=30 --output-format=json --output="$name.json" \
        >"$name.out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] || grep -q 'verify:' "$name.out" "$name.json"; then
        cat "$name.out" "$name.json" >&2
        fail "fio $name: status $rc"
    fi
    python3 - "$name.json" "$jobs" <<'PY' || { cat "$name.json" >&2; fail "fio $name: results"; }
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
assert len(jobs) == int(sys.argv[2]), "%d jobs reported" % len(jobs)
for j in jobs:
    w, r = j["write"]["io_bytes"], j["read"]["io_bytes"]
    assert j["error"] == 0, "job error %d" % j["error"]
    assert w > 0, "nothing written"
    # The verify phase read back every block that was written.
    assert r == w, "wrote %d bytes, verified %d" % (w, r)
    print("%s: wrote and verified %d KiB, %.0f write IOPS"
          % (j["jobname"], w // 1024, j["write"]["iops"]))
PY
}

run_fio unix4 "nbd+unix:///mem?socket=$sock" 4
run_fio tcp2 "nbd://127.0.0.1:$port/file0" 2

if ! { log_has 'connected on iothread 0' && log_has 'connected on iothread 1'; }; then
    grep 'connected on iothread' "$POLLTGTD_LOG" >&2
    fail "connections not spread over both I/O threads"
fi

kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "SIGTERM: exit status $POLLTGTD_STATUS"
echo "ok"
