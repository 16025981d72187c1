#!/usr/bin/env bash
# tls = on serves TLS and plaintext clients side by side, except an
# export with tls = require, which only TLS clients see and reach; with
# tls-verify-peer a client certificate signed by the CA is required (none,
# or one from another CA, fails the handshake); STARTTLS follows the
# protocol's rules (no data, once only, plaintext state forgotten); and a
# client that sends STARTTLS and then stalls neither blocks other clients
# nor outlives handshake-timeout.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$POLLTGT_SRCDIR/tests/tls/tls-functions.sh"
set -e

requires nbdinfo --version
requires nbdcopy --version
requires python3 --version
requires timeout --version

cd "$TMPDIR_TEST"
sock="$TMPDIR_TEST/nbd.sock"
raw="$POLLTGT_SRCDIR/tests/tls/nbd-tls-raw.py"
make_pki pki
tls_conf polltgt.ini "$sock" "tls = on" "handshake-timeout = 6s" \
    "tls-certificates = $TMPDIR_TEST/pki/server" "tls-verify-peer = yes"
printf '%s\n' '[export secret]' 'backend = memory' 'size = 1M' \
    'tls = require' >>polltgt.ini
start_polltgtd polltgt.ini

x509="nbds+unix:///disk0?socket=$sock&tls-certificates=$TMPDIR_TEST/pki"
plain="nbd+unix:///disk0?socket=$sock"

# Both kinds of client, and data written by one is read by the other.
head -c 8M /dev/urandom >pattern.img
timeout 60 nbdcopy pattern.img "$x509/client" || fail "nbdcopy over TLS"
timeout 60 nbdcopy "$plain" back.img || fail "nbdcopy in plaintext"
cmp <(head -c 8M back.img) pattern.img || fail "plaintext read differs"
timeout 30 nbdinfo "$plain" | grep -q 'without TLS' ||
    fail "plaintext client under tls = on"
timeout 30 nbdinfo "$x509/client" | grep -q 'with TLS' ||
    fail "TLS client under tls = on"
log_has 'client certificate verified' ||
    fail "the client certificate was not reported as verified"

# The TLS-only export: listed and served over TLS only.
timeout 30 nbdinfo --list "nbd+unix:///?socket=$sock" >list-plain.txt ||
    fail "nbdinfo --list in plaintext"
grep -q '^export="disk0":' list-plain.txt || { cat list-plain.txt; fail "disk0 not listed"; }
if grep -q 'secret' list-plain.txt; then
    cat list-plain.txt
    fail "TLS-only export listed in plaintext"
fi
timeout 30 nbdinfo --list "$x509/client" >list-tls.txt ||
    fail "nbdinfo --list over TLS"
grep -q '^export="secret":' list-tls.txt || { cat list-tls.txt; fail "secret not listed over TLS"; }
if timeout 30 nbdinfo "nbd+unix:///secret?socket=$sock" >refused.txt 2>&1; then
    cat refused.txt
    fail "the TLS-only export was served in plaintext"
fi
timeout 30 nbdinfo "nbds+unix:///secret?socket=$sock&tls-certificates=$TMPDIR_TEST/pki/client" |
    grep -q 'export-size: 1048576' || fail "the TLS-only export over TLS"

# verify-peer: no certificate, or one the CA did not sign, is refused.
for d in noclient badclient; do
    if timeout 30 nbdinfo "$x509/$d" >refused.txt 2>&1; then
        cat refused.txt
        fail "client '$d' got in with tls-verify-peer = yes"
    fi
done
[ "$(grep -c 'TLS handshake failed' "$POLLTGTD_LOG")" -ge 2 ] ||
    { cat "$POLLTGTD_LOG"; fail "refused handshakes not logged"; }

# The protocol's STARTTLS rules, checked on the wire.
timeout 30 python3 "$raw" starttls "$sock" pki/client ||
    fail "STARTTLS rules"

# A stalled handshake: while it waits, other clients are served at once,
# and the server closes it at handshake-timeout.
timeout 30 python3 "$raw" stall "$sock" >stall.txt &
stall_pid=$!
cleanup_fn "kill $stall_pid 2>/dev/null"
wait_for 10 grep -q 'acknowledged' stall.txt ||
    fail "the stalling client did not get its STARTTLS answered"
t0=$(date +%s%N)
timeout 10 nbdinfo "$x509/client" >/dev/null || fail "TLS client during a stall"
timeout 10 nbdinfo "$plain" >/dev/null || fail "plaintext client during a stall"
ms=$((($(date +%s%N) - t0) / 1000000))
# Served while the stall lasts, not after it: the stalled connection is
# still open (a loaded machine can make the two clients take seconds).
kill -0 "$stall_pid" 2>/dev/null && ! grep -q 'closed by the server' stall.txt ||
    fail "other clients were served only after the stalled handshake ended (${ms} ms)"
wait "$stall_pid" || fail "the stalled client was not closed"
cat stall.txt
secs=$(sed -n 's/.* after \([0-9]*\)\..*/\1/p' stall.txt)
[ -n "$secs" ] && [ "$secs" -ge 5 ] && [ "$secs" -le 9 ] ||
    fail "stalled handshake closed after '$secs' s, expected about 6"
log_has 'handshake not finished within the handshake-timeout' ||
    fail "the timeout was not logged"

kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "SIGTERM: exit status $POLLTGTD_STATUS"
echo "ok"
