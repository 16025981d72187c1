#!/usr/bin/env bash
# SIGTERM while clients sit idle in transmission on a memory export (whose
# flush completes inline) and one is still negotiating: the graceful drain
# flushes each connection once, closes it, and polltgtd exits 0 promptly.
# (A drain that re-flushed from its own completion recursed until the stack
# overflowed.)
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e
requires python3 --version

sock="$TMPDIR_TEST/nbd.sock"
conf="$TMPDIR_TEST/polltgt.ini"
cat >"$conf" <<INI
[server]
iothreads = 2
[nbd]
listen = unix:$sock
[status]
socket = none
[export disk0]
backend = memory
size = 1M
INI
start_polltgtd "$conf"

# Three clients that finish the handshake (NBD_OPT_EXPORT_NAME) and then
# say nothing, and one that stops after the greeting.
python3 - "$sock" "$TMPDIR_TEST/ready" <<'PY' &
import socket, struct, sys, time
path, ready = sys.argv[1], sys.argv[2]
conns = []
for i in range(4):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    hello = b""
    while len(hello) < 18:
        hello += s.recv(18 - len(hello))
    assert hello[:8] == b"NBDMAGIC", hello
    if i < 3:
        s.sendall(struct.pack(">I", 3))                     # fixed newstyle, no zeroes
        s.sendall(struct.pack(">QII", 0x49484156454F5054, 1, 5) + b"disk0")
        reply = b""
        while len(reply) < 10:
            reply += s.recv(10 - len(reply))
    conns.append(s)
open(ready, "w").close()
time.sleep(30)
PY
client=$!
cleanup_fn "kill $client 2>/dev/null || true"
wait_for 10 test -e "$TMPDIR_TEST/ready" || fail "clients did not connect"

start=$(date +%s%N)
stop_polltgtd
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$POLLTGTD_STATUS" -eq 0 ] || { cat "$POLLTGTD_LOG"; fail "exit status $POLLTGTD_STATUS after SIGTERM"; }
[ "$elapsed" -lt 5000 ] || fail "shutdown took $elapsed ms"
echo "ok: exit 0 after $elapsed ms with 4 idle clients"
