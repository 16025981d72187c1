#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Counters move under a small NBD load: nbdcopy of 4 MiB into the memory
# export raises its bytes_written and write count (JSON and metrics), a
# read-back raises bytes_read and returns the data; while a client holds a
# connection open (nbdcopy reading from a FIFO), `connections` lists it
# with its export, thread and bytes, its thread counts it, and once it
# closes the list is empty again.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/control/common.sh"
requires nbdcopy --version
set -e

cd "$TMPDIR_TEST"
start_ctl_daemon 2
head -c 4M /dev/urandom >"$TMPDIR_TEST/src.img"
ctlpy stats >"$TMPDIR_TEST/s0.json"
timeout 60 nbdcopy "$TMPDIR_TEST/src.img" "$NBDURI" || fail "nbdcopy write"
ctlpy stats >"$TMPDIR_TEST/s1.json"
timeout 60 nbdcopy "$NBDURI" "$TMPDIR_TEST/back.img" || fail "nbdcopy read"
ctlpy stats >"$TMPDIR_TEST/s2.json"
cmp -n $((4 << 20)) "$TMPDIR_TEST/src.img" "$TMPDIR_TEST/back.img" ||
    fail "read back differs"

python3 - "$TMPDIR_TEST"/s0.json "$TMPDIR_TEST"/s1.json "$TMPDIR_TEST"/s2.json <<'EOP' || fail "counters"
import json, sys
s0, s1, s2 = (json.load(open(f))['exports'][0]['io'] for f in sys.argv[1:4])
w = s1['bytes_written'] - s0['bytes_written']
n = s1['ops']['write']['count'] - s0['ops']['write']['count']
print(f'write: +{w} bytes in +{n} requests')
assert w == 4 << 20, f'bytes_written grew by {w}, expected {4 << 20}'
assert n > 0 and s1['ops']['write']['latency_sum_s'] > s0['ops']['write']['latency_sum_s']
assert s1['ops']['write']['errors'] == 0
r = s2['bytes_read'] - s1['bytes_read']
print(f'read: +{r} bytes in +{s2["ops"]["read"]["count"] - s1["ops"]["read"]["count"]} requests')
assert r >= 4 << 20, f'bytes_read grew by {r}'
assert s2['inflight'] == 0
EOP
ctlpy metrics | python3 -c '
import sys
for l in sys.stdin:
    if l.startswith("polltgt_export_written_bytes_total{export=\"disk0\"} "):
        v = float(l.split()[-1]); assert v >= 4 << 20, v; print("metrics:", l.strip()); break
else:
    sys.exit("no polltgt_export_written_bytes_total for disk0")' || fail "metrics"

# A connection held open: nbdcopy reads a FIFO we keep open.
mkfifo "$TMPDIR_TEST/fifo"
exec 3<>"$TMPDIR_TEST/fifo"
timeout 60 nbdcopy "$TMPDIR_TEST/fifo" "$NBDURI" 3>&- &
copy_pid=$!
cleanup_fn "kill $copy_pid 2>/dev/null"
head -c 1M "$TMPDIR_TEST/src.img" >&3
conn_ok() {
    ctlpy stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
cs = d["connections"]
assert cs and all(c["export"] == "disk0" and c["protocol"] == "nbd" and
                  c["peer"] == "unix" and c["connected_s"] >= 0 for c in cs)
assert sum(c["io"]["bytes_written"] for c in cs) >= 1 << 20
assert sum(t["connections"] for t in d["iothreads"]) == len(cs)
for c in cs:
    assert d["iothreads"][c["iothread"]]["connections"] >= 1
'
}
wait_for 20 conn_ok || { ctlpy connections; fail "open connection not listed"; }
ctlpy connections | python3 -c 'import json,sys; print("open:", [(c["peer"], c["iothread"], c["io"]["bytes_written"]) for c in json.load(sys.stdin)["connections"]])'
ctl connections | grep -Eq '^unix +nbd +disk0 ' || fail "polltgtctl connections: $(ctl connections)"
exec 3>&-
wait $copy_pid || fail "nbdcopy from the FIFO failed"
no_conns() { [ "$(jget connections connections)" = "[]" ]; }
wait_for 10 no_conns || fail "connections listed after they closed: $(ctlpy connections)"

stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "polltgtd exit status $POLLTGTD_STATUS"
echo ok
