#!/usr/bin/env bash
# TLS 1.3 KeyUpdate from the client, which none of the stock clients can
# send: nbd-tls-keyupdate updates its keys between requests and in the
# middle of a write's payload, asking the server to update its own, and
# then once without asking.  Data round-trips, each request is answered
# by the server's KeyUpdate, and the session lives on.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$POLLTGT_SRCDIR/tests/tls/tls-functions.sh"
set -e

requires timeout --version

cd "$TMPDIR_TEST"
sock="$TMPDIR_TEST/nbd.sock"
make_pki pki
tls_conf polltgt.ini "$sock" "tls = require" \
    "tls-certificates = $TMPDIR_TEST/pki/server"
start_polltgtd polltgt.ini

rc=0
timeout 60 "$POLLTGT_BUILDDIR/tests/tls/nbd-tls-keyupdate" "$sock" \
    "$TMPDIR_TEST/pki/client/ca-cert.pem" || rc=$?
[ "$rc" -ne 77 ] || exit 77
[ "$rc" -eq 0 ] || { cat "$POLLTGTD_LOG" >&2; fail "the key update client failed ($rc)"; }
log_has 'nbd unix: TLS: TLS1\.3, ' || fail "not TLS 1.3 in the server log"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "polltgtd exit status $POLLTGTD_STATUS"
echo "ok: key updates from the client handled"
