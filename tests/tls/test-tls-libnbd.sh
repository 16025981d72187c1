#!/usr/bin/env bash
# TLS with libnbd's clients (nbdinfo, nbdcopy) against tls = require:
# X.509 over the Unix socket and TCP, and PSK; data written over TLS reads
# back the same; a client that does not trust the server's certificate,
# a wrong PSK and an unknown PSK user are refused; plaintext is refused,
# and raw options before STARTTLS get NBD_REP_ERR_TLS_REQD.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$POLLTGT_SRCDIR/tests/tls/tls-functions.sh"
set -e

requires nbdinfo --version
requires nbdcopy --version
requires python3 --version
requires timeout --version

cd "$TMPDIR_TEST"
sock="$TMPDIR_TEST/nbd.sock"
make_pki pki
make_psk keys.psk alice
make_psk wrong.psk alice   # same user, another key
make_psk mallory.psk mallory
tls_conf polltgt.ini "$sock" "tls = require" \
    "tls-certificates = $TMPDIR_TEST/pki/server" \
    "tls-psk-file = $TMPDIR_TEST/keys.psk"
start_polltgtd polltgt.ini
log_has 'nbd: TLS required with X.509 and PSK credentials' ||
    fail "no TLS start-up line in the log"

x509="nbds+unix:///disk0?socket=$sock&tls-certificates=$TMPDIR_TEST/pki/client"
psk="nbds+unix://alice@/disk0?socket=$sock&tls-psk-file=$TMPDIR_TEST/keys.psk"
tcp="nbds://localhost:$TLS_PORT/disk0?tls-certificates=$TMPDIR_TEST/pki/client"

# X.509: the handshake happens and the export is seen through it.
timeout 30 nbdinfo "$x509" >info.txt || fail "nbdinfo over TLS (X.509) failed"
grep -q 'newstyle-fixed with TLS' info.txt || { cat info.txt; fail "not TLS"; }
grep -q 'export-size: 16777216' info.txt || { cat info.txt; fail "size"; }
log_has 'nbd unix: TLS: TLS1\.[23], ' || fail "no TLS line in the server log"

# Data round-trips over X.509 (Unix and TCP) and PSK.
head -c 16M /dev/urandom >pattern.img
timeout 60 nbdcopy pattern.img "$x509" || fail "nbdcopy to the export (X.509)"
timeout 60 nbdcopy "$tcp" back-tcp.img || fail "nbdcopy over TCP (X.509)"
[ "$(sha back-tcp.img)" = "$(sha pattern.img)" ] ||
    fail "data read over TLS/TCP differs from what was written"
head -c 4M /dev/urandom >half.img
timeout 60 nbdcopy half.img "$psk" || fail "nbdcopy to the export (PSK)"
log_has 'PSK identity alice' || fail "no PSK identity in the server log"
timeout 60 nbdcopy "$psk" back-psk.img || fail "nbdcopy from the export (PSK)"
{ cat half.img; tail -c +$((4 * 1024 * 1024 + 1)) pattern.img; } >want.img
[ "$(sha back-psk.img)" = "$(sha want.img)" ] ||
    fail "data read over TLS/PSK differs from what was written"

# Refusals: each must fail, and the server must go on serving.
expect_refused() { # WHAT URI
    if timeout 30 nbdinfo "$2" >refused.txt 2>&1; then
        cat refused.txt
        fail "$1: nbdinfo succeeded"
    fi
}
expect_refused "server certificate from another CA (libnbd checks it over TCP)" \
    "nbds://localhost:$TLS_PORT/disk0?tls-certificates=$TMPDIR_TEST/pki/other/client"
expect_refused "wrong PSK" \
    "nbds+unix://alice@/disk0?socket=$sock&tls-psk-file=$TMPDIR_TEST/wrong.psk"
expect_refused "PSK user the server does not know" \
    "nbds+unix://mallory@/disk0?socket=$sock&tls-psk-file=$TMPDIR_TEST/mallory.psk"
log_has 'TLS handshake failed' || fail "no handshake failure in the server log"
expect_refused "plaintext under tls = require" "nbd+unix:///disk0?socket=$sock"
timeout 30 python3 "$POLLTGT_SRCDIR/tests/tls/nbd-tls-raw.py" require "$sock" ||
    fail "options before STARTTLS were not refused as the protocol says"
log_has 'NBD_OPT_EXPORT_NAME without TLS' ||
    fail "the hang-up on NBD_OPT_EXPORT_NAME was not logged"

timeout 30 nbdinfo "$x509" >/dev/null || fail "server stopped serving"
kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "SIGTERM: exit status $POLLTGTD_STATUS"
echo "ok"
