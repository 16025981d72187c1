#!/usr/bin/env bash
# Remotes named by host name, and remotes that do not answer.  A front
# whose uri/url say "localhost" serves (the name is looked up off the
# loop and libnbd/libiscsi get a numeric address).  A start-up probe of a
# port nobody listens on fails at once, and one of a listener that never
# accepts (a black hole: its backlog full) fails after request-timeout,
# not never; both say which export and which address.  While the back is
# down and the front keeps reconnecting, the same I/O thread goes on
# serving a local export without delay.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/gateway/gateway-functions.sh"
set -e

requires nbdcopy --version
requires timeout --version
requires python3 --version
requires getent hosts localhost

cd "$TMPDIR_TEST"
iqn=$back_iqn
nport=$(free_port)
iport=$(free_port)
dead=$(free_port)

# A black hole: listens (so a SYN is answered while the backlog has room)
# and never accepts nor reads.
python3 - "$TMPDIR_TEST/hole.port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(0)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)
PY
hole_pid=$!
cleanup_fn "kill $hole_pid 2>/dev/null || true"
wait_for 10 test -s hole.port || fail "the black hole did not start"
hole=$(cat hole.port)

# start_fails NAME nbd|iscsi ADDRESS [TIMEOUT]: polltgtd with one gateway
# export (request-timeout TIMEOUT, 1s unless given) fails its start-up
# within 6 s; sets fail_ms and leaves NAME.log.
start_fails() {
    local start rc=0
    server_ini "$1.ini" 1 "unix:$TMPDIR_TEST/$1.sock"
    remote_export "$1.ini" "$1" "$2" "$3" "${4:-1s}"
    start=$(date +%s%N)
    timeout 20 "$POLLTGTD" --foreground --exit-with-parent -c "$1.ini" \
        2>"$1.log" || rc=$?
    fail_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$rc" -ne 124 ] || fail "$1: the start-up hung"
    [ "$rc" -ne 0 ] || fail "$1: started with an unreachable remote"
    [ "$fail_ms" -lt 6000 ] || fail "$1: the start-up took $fail_ms ms to fail"
}

# A refused connect fails at once, not at the request timeout: with a
# 5 s timeout, well before it (start-up itself, measuring the wake-up
# cost, takes most of a second under the sanitizer build on a busy host).
start_fails refused nbd "nbd://127.0.0.1:$dead/mem" 5s
grep -q "export refused: cannot connect to nbd://127.0.0.1:$dead/mem: " refused.log ||
    { cat refused.log >&2; fail "no message naming the export and address"; }
[ "$fail_ms" -lt 4000 ] || fail "a refused connect took $fail_ms ms to fail"

start_fails refusedi iscsi "iscsi://127.0.0.1:$dead/$iqn/0" 5s
grep -q "export refusedi: cannot log in to iscsi://127.0.0.1:$dead/$iqn/0: " refusedi.log ||
    { cat refusedi.log >&2; fail "no iSCSI message naming the export and address"; }
[ "$fail_ms" -lt 4000 ] || fail "a refused iSCSI connect took $fail_ms ms to fail"

start_fails hole nbd "nbd://localhost:$hole/mem"
grep -q "export hole: cannot connect to nbd://localhost:$hole/mem at 127.0.0.1: no answer within 1000 ms" hole.log ||
    { cat hole.log >&2; fail "no timeout message naming the export and address"; }
[ "$fail_ms" -ge 900 ] || fail "the black hole failed after $fail_ms ms, before the timeout"
hole_ms=$fail_ms

start_fails holei iscsi "iscsi://localhost:$hole/$iqn/0"
grep -q "export holei: cannot log in to iscsi://localhost:$hole/$iqn/0 at 127.0.0.1: no answer within 1000 ms" holei.log ||
    { cat holei.log >&2; fail "no iSCSI timeout message naming the export and address"; }

start_fails noname nbd "nbd://no-such-host.invalid:$dead/mem"
grep -q "export noname: cannot resolve no-such-host.invalid in " noname.log ||
    { cat noname.log >&2; fail "no message for a name that does not resolve"; }

back_ini back.ini "127.0.0.1:$nport" "127.0.0.1:$iport" 8M
front_sock="$TMPDIR_TEST/front.sock"
status="$TMPDIR_TEST/status.sock"
server_ini front.ini 1 "unix:$front_sock" "" "$status"
remote_export front.ini gw nbd "nbd://localhost:$nport/mem" 2s
remote_export front.ini gw-iscsi iscsi "iscsi://localhost:$iport/$iqn/0" 2s
memory_export front.ini local 1M
start_named back back.ini
start_named front front.ini
front() { echo "nbd+unix:///$1?socket=$front_sock"; }

copy_both_ways "$(front gw)" "nbd://127.0.0.1:$nport/mem"
timeout 30 nbdcopy "$(front gw-iscsi)" iscsi.bin || { front_log; fail "read gw-iscsi"; }
cmp b.bin iscsi.bin || fail "gw-iscsi (by name) does not read what the back holds"

stop_named back
read_fails_fast "$(front gw)"
# The thread reconnects (a lookup and a connect every 100 ms to 2 s) for
# 3 s; the local export on the same thread keeps answering.  A loaded
# machine makes one nbdcopy take over a second by itself, so the bound is
# loose: that the loop is never held by a lookup is test-backend-remote's
# slow-lookup case.
end=$(( $(date +%s) + 3 ))
reads=0
while [ "$(date +%s)" -lt "$end" ]; do
    start=$(date +%s%N)
    timeout 10 nbdcopy "$(front local)" local.bin || { front_log; fail "local export"; }
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$ms" -lt 5000 ] || fail "a local read took $ms ms while gw reconnects"
    reads=$((reads + 1))
done
[ "$reads" -ge 1 ] || fail "no local read in 3 s"

start_named back back.ini
read_when_back "$(front gw)" again.bin
timeout 30 nbdcopy --flush a.bin "$(front gw)" || { front_log; fail "write after the restart"; }
read_when_back "$(front gw-iscsi)" again-iscsi.bin
cmp a.bin again-iscsi.bin || fail "gw-iscsi does not read what gw wrote after the restart"
grep -q 'gw: nbd: reconnected' front.log || { front_log; fail "no reconnect logged"; }
! grep -q 'cannot resolve' front.log || { front_log; fail "a lookup of localhost failed"; }

stop_named front
[ "$named_status" -eq 0 ] || { front_log; fail "front exit status $named_status"; }
echo "ok: localhost served; refused fails at once, a black hole after $hole_ms ms; $reads local reads while reconnecting"
