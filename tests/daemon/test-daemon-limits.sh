#!/usr/bin/env bash
# max-connections-per-client on NBD and iSCSI over TCP loopback: the
# connection over the limit is closed at once, before any greeting, while
# the same client's other connections and another client address
# (127.0.0.2) are served; a slot frees when a connection closes; a burst
# of refusals logs a handful of lines, not one per connection.  Unix
# clients are not counted, and max-inflight = 1 (one request buffered per
# connection) still serves nbdcopy's pipelined requests, 4 connections.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

requires python3 --version
cd "$TMPDIR_TEST"
nbd_port=$(free_port)
iscsi_port=$(free_port)
conf="$TMPDIR_TEST/polltgt.ini"
cat >"$conf" <<EOF
[nbd]
listen = 127.0.0.1:$nbd_port, unix:$TMPDIR_TEST/nbd.sock
max-connections-per-client = 2
max-inflight = 1
[iscsi]
listen = 127.0.0.1:$iscsi_port
max-connections-per-client = 1
[status]
socket = none
[export disk0]
backend = memory
size = 8M
EOF
start_polltgtd "$conf"
log_has 'nbd: a connection buffers at most 256 MiB of writes and 1 reads of up to 4 MiB \(max-inflight\)' ||
    { cat "$POLLTGTD_LOG"; fail "no log line with the per-connection bound"; }

timeout 60 python3 - "$nbd_port" "$iscsi_port" <<'EOF' || fail "see above"
import socket, sys, time

nbd_port, iscsi_port = int(sys.argv[1]), int(sys.argv[2])

def connect(port, src="127.0.0.1"):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s

def nbd_greeting(s):
    """The 18-byte newstyle greeting, or b'' if the server hung up."""
    s.settimeout(5)
    buf = b""
    while len(buf) < 18:
        try:
            b = s.recv(18 - len(buf))
        except ConnectionResetError:
            return b""
        if not b:
            return buf
        buf += b
    return buf

def closed_at_once(s):
    """True if the server closes s within 2 s without sending anything."""
    s.settimeout(2)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False

def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)

# NBD: two from 127.0.0.1 are greeted, the third is closed unspoken.
a, b = connect(nbd_port), connect(nbd_port)
for s in (a, b):
    if not nbd_greeting(s).startswith(b"NBDMAGIC"):
        fail("nbd: a connection within the per-client limit got no greeting")
c = connect(nbd_port)
if nbd_greeting(c) != b"":
    fail("nbd: a third connection from 127.0.0.1 was greeted "
         "(max-connections-per-client = 2)")
c.close()
# Another client address is another client.
d = connect(nbd_port, "127.0.0.2")
if not nbd_greeting(d).startswith(b"NBDMAGIC"):
    fail("nbd: 127.0.0.2 refused while only 127.0.0.1 is at its limit")
# A slot frees when a connection closes.
a.close()
for _ in range(40):
    e = connect(nbd_port)
    if nbd_greeting(e).startswith(b"NBDMAGIC"):
        break
    e.close()
    time.sleep(0.05)
else:
    fail("nbd: the slot of a closed connection never freed")
# A burst over the limit: every one closed.
for _ in range(30):
    f = connect(nbd_port)
    if nbd_greeting(f) != b"":
        fail("nbd: a connection of the burst was greeted")
    f.close()

# iSCSI: one from 127.0.0.1 is kept open (it has not logged in yet), the
# second is closed at once; 127.0.0.2 is kept open.
g = connect(iscsi_port)
if closed_at_once(g):
    fail("iscsi: the first connection was closed")
h = connect(iscsi_port)
if not closed_at_once(h):
    fail("iscsi: a second connection from 127.0.0.1 stayed open "
         "(max-connections-per-client = 1)")
i = connect(iscsi_port, "127.0.0.2")
if closed_at_once(i):
    fail("iscsi: 127.0.0.2 refused while only 127.0.0.1 is at its limit")
for s in (b, d, e, g, i):
    s.close()
print("ok")
EOF

if command -v nbdcopy >/dev/null; then
    uri="nbd+unix:///disk0?socket=$TMPDIR_TEST/nbd.sock"
    head -c 8388608 /dev/urandom >src.img
    timeout 60 nbdcopy --connections=4 --requests=32 --flush src.img "$uri" ||
        fail "nbdcopy to the export (max-inflight = 1, 4 Unix connections)"
    timeout 60 nbdcopy --connections=4 --requests=32 "$uri" back.img ||
        fail "nbdcopy from the export"
    cmp src.img back.img || fail "data differs after the max-inflight = 1 copy"
else
    echo "$0: nbdcopy not installed: the max-inflight copy is skipped" >&2
fi

log_has 'nbd: refusing 127\.0\.0\.1:[0-9]+: max-connections-per-client \(2\) reached' ||
    { cat "$POLLTGTD_LOG"; fail "no log line for the NBD refusal"; }
log_has 'iscsi: refusing 127\.0\.0\.1:[0-9]+: max-connections-per-client \(1\) reached' ||
    { cat "$POLLTGTD_LOG"; fail "no log line for the iSCSI refusal"; }
n=$(grep -c 'nbd: refusing' "$POLLTGTD_LOG")
[ "$n" -le 10 ] || fail "$n log lines for 31 NBD refusals: not rate-limited"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "exit status $POLLTGTD_STATUS"
echo "ok"
