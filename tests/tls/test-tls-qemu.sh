#!/usr/bin/env bash
# QEMU as a TLS client (--object tls-creds-x509 / tls-creds-psk with
# --image-opts ...,tls-creds=tls0) against tls = require: qemu-img
# convert copies to the export and back with the same checksum, qemu-io
# pattern writes read back over PSK, and a client that does not trust the
# server's certificate or holds a wrong key is refused.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$POLLTGT_SRCDIR/tests/tls/tls-functions.sh"
set -e

requires qemu-img --version
requires qemu-io --version
requires python3 --version
requires timeout --version

cd "$TMPDIR_TEST"
sock="$TMPDIR_TEST/nbd.sock"
make_pki pki
mkdir psk wrongpsk
make_psk psk/keys.psk alice  # qemu's tls-creds-psk reads DIR/keys.psk
make_psk wrongpsk/keys.psk alice
tls_conf polltgt.ini "$sock" "tls = require" \
    "tls-certificates = $TMPDIR_TEST/pki/server" \
    "tls-psk-file = $TMPDIR_TEST/psk/keys.psk"
start_polltgtd polltgt.ini

# QEMU checks the server's name, which a Unix socket does not give:
# X.509 goes over TCP to localhost, PSK over the Unix socket.
x509_obj() { echo "tls-creds-x509,id=tls0,dir=$TMPDIR_TEST/pki/$1,endpoint=client"; }
psk_obj() { echo "tls-creds-psk,id=tls0,dir=$TMPDIR_TEST/$1,username=alice,endpoint=client"; }
tcp_opts="driver=nbd,host=localhost,port=$TLS_PORT,export=disk0,tls-creds=tls0"
unix_opts="driver=nbd,path=$sock,export=disk0,tls-creds=tls0"

timeout 30 qemu-img info --object "$(x509_obj client)" --image-opts "$tcp_opts" \
    >info.txt || fail "qemu-img info over TLS (X.509)"
grep -q 'virtual size: 16 MiB (16777216 bytes)' info.txt ||
    { cat info.txt; fail "qemu-img info: wrong size"; }

head -c 16M /dev/urandom >pattern.img
timeout 60 qemu-img convert -n -f raw pattern.img --object "$(x509_obj client)" \
    --target-image-opts "$tcp_opts" || fail "qemu-img convert to the export"
timeout 60 qemu-img convert --object "$(x509_obj client)" \
    --image-opts "$tcp_opts" -O raw back.img || fail "qemu-img convert back"
[ "$(sha back.img)" = "$(sha pattern.img)" ] ||
    fail "data read back over TLS differs from what was written"

out=$(timeout 60 qemu-io --object "$(psk_obj psk)" --image-opts "$unix_opts" \
    -c "write -P 0xa5 1M 3M" -c "read -P 0xa5 1M 3M" -c "read -v 0 16" 2>&1) ||
    { echo "$out"; fail "qemu-io over TLS (PSK)"; }
if grep -E -q 'Pattern verification failed|failed|error' <<<"$out"; then
    echo "$out"
    fail "qemu-io over TLS (PSK): pattern did not read back"
fi
# Outside the written range the data from convert is still there.
[ "$(head -c 16 pattern.img | od -An -tx1 | tr -d ' \n')" = \
  "$(sed -n 's/^00000000: \(.*\)  .*/\1/p' <<<"$out" | tr -d ' ')" ] ||
    { echo "$out"; fail "qemu-io read -v: not the converted data"; }
log_has 'PSK identity alice' || fail "no PSK identity in the server log"

refused() { # WHAT OBJECT OPTS
    if timeout 30 qemu-img info --object "$2" --image-opts "$3" >refused.txt 2>&1; then
        cat refused.txt
        fail "$1: qemu-img info succeeded"
    fi
}
refused "server certificate from another CA" "$(x509_obj other/client)" "$tcp_opts"
refused "wrong PSK" "$(psk_obj wrongpsk)" "$unix_opts"
if timeout 30 qemu-img info -f raw "nbd+unix:///disk0?socket=$sock" >refused.txt 2>&1; then
    cat refused.txt
    fail "plaintext qemu-img under tls = require succeeded"
fi

kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "SIGTERM: exit status $POLLTGTD_STATUS"
echo "ok"
