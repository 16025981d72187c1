#!/usr/bin/env bash
# polltgtd --check-config loads the TLS credentials a start would: good
# files pass (and say which credentials), and a certificate with another
# certificate's key, a CA or CRL file that does not parse, and a PSK file
# that does not parse each fail with exit status 1 and a message naming
# the key and the file.  Nothing is started: no socket appears.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$POLLTGT_SRCDIR/tests/tls/tls-functions.sh"
set -e

cd "$TMPDIR_TEST"
sock="$TMPDIR_TEST/nbd.sock"
make_pki pki
make_psk keys.psk alice
srv="$TMPDIR_TEST/pki/server"
echo "not a PEM file" >garbage.pem
printf 'alice:zz-not-hex\n' >bad.psk

# check NAME STATUS TLS-KEYS...: --check-config on a config with those
# [nbd] keys exits with STATUS; its output is in NAME.out and NAME.err.
check() {
    local name=$1 want=$2 rc=0
    shift 2
    tls_conf "$name.ini" "$sock" "tls = require" "$@"
    timeout 30 "$POLLTGTD" --check-config -c "$name.ini" \
        >"$name.out" 2>"$name.err" || rc=$?
    [ "$rc" -eq "$want" ] ||
        { cat "$name.out" "$name.err" >&2; fail "$name: exit status $rc, expected $want"; }
    [ ! -e "$sock" ] || fail "$name: --check-config created the socket"
}

# expect_err NAME TEXT: NAME.err has TEXT (fixed string).
expect_err() {
    grep -qF -- "$2" "$1.err" || { cat "$1.err" >&2; fail "$1: no '$2' in the message"; }
}

check good 0 "tls-certificates = $srv" "tls-psk-file = $TMPDIR_TEST/keys.psk" \
    "tls-verify-peer = yes"
grep -qF '[nbd] TLS credentials: X.509 and PSK' good.out ||
    { cat good.out >&2; fail "no credentials line"; }
grep -q ': OK: ' good.out || fail "no OK line"

check mismatch 1 "tls-cert = $srv/server-cert.pem" \
    "tls-key = $TMPDIR_TEST/pki/other/server/server-key.pem"
expect_err mismatch "tls-cert $srv/server-cert.pem, tls-key $TMPDIR_TEST/pki/other/server/server-key.pem: "
grep -qi 'match' mismatch.err || { cat mismatch.err >&2; fail "the mismatch is not said"; }

pair=("tls-cert = $srv/server-cert.pem" "tls-key = $srv/server-key.pem")
check badca 1 "${pair[@]}" "tls-ca = $TMPDIR_TEST/garbage.pem"
expect_err badca "tls-ca $TMPDIR_TEST/garbage.pem: "

check badcrl 1 "${pair[@]}" "tls-ca = $srv/ca-cert.pem" "tls-crl = $TMPDIR_TEST/garbage.pem"
expect_err badcrl "tls-crl $TMPDIR_TEST/garbage.pem: "

check badkey 1 "tls-cert = $srv/server-cert.pem" "tls-key = $TMPDIR_TEST/garbage.pem"
expect_err badkey "tls-key $TMPDIR_TEST/garbage.pem: "

check badpsk 1 "tls-psk-file = $TMPDIR_TEST/bad.psk"
expect_err badpsk "tls-psk-file: "
expect_err badpsk "bad.psk"

echo "ok: --check-config loads and checks the TLS files"
