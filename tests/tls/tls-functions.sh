# SPDX-License-Identifier: MIT
# Helpers for the TLS tests; source after tests/functions.sh.
#
# make_pki DIR: a CA, a server certificate for localhost/127.0.0.1 and a
# client certificate signed by it, in qemu's tls-creds-x509 layout:
#   DIR/server/{ca-cert.pem,server-cert.pem,server-key.pem}  (polltgtd)
#   DIR/client/{ca-cert.pem,client-cert.pem,client-key.pem}  (qemu, libnbd)
#   DIR/noclient/ca-cert.pem    (a client that trusts the CA, has no cert)
#   DIR/badclient/              (trusts the CA, but its client certificate
#                                is signed by another CA)
# plus DIR/other/: a second, unrelated CA with its own server and client
# certificates, which the first one does not trust.
# make_psk FILE USER: a PSK keys file with one fresh key for USER (psktool).

requires certtool --version
requires psktool --version

_certtool() { certtool "$@" >/dev/null 2>&1 || fail "certtool $*"; }

_make_ca() { # DIR NAME
    cat >"$1/ca.info" <<EOT
cn = $2
ca
cert_signing_key
expiration_days = 2
EOT
    _certtool --generate-privkey --key-type=ecdsa --outfile "$1/ca-key.pem"
    _certtool --generate-self-signed --load-privkey "$1/ca-key.pem" \
        --template "$1/ca.info" --outfile "$1/ca-cert.pem"
}

_make_cert() { # CADIR KIND(server|client) OUTDIR
    local ca=$1 kind=$2 out=$3
    mkdir -p "$out"
    if [ "$kind" = server ]; then
        cat >"$ca/$kind.info" <<EOT
organization = polltgt test
cn = localhost
dns_name = localhost
ip_address = 127.0.0.1
tls_www_server
encryption_key
signing_key
expiration_days = 2
EOT
    else
        cat >"$ca/$kind.info" <<EOT
country = XX
organization = polltgt test
cn = polltgt test client
tls_www_client
encryption_key
signing_key
expiration_days = 2
EOT
    fi
    _certtool --generate-privkey --key-type=ecdsa --outfile "$out/$kind-key.pem"
    _certtool --generate-certificate --load-privkey "$out/$kind-key.pem" \
        --load-ca-certificate "$ca/ca-cert.pem" \
        --load-ca-privkey "$ca/ca-key.pem" \
        --template "$ca/$kind.info" --outfile "$out/$kind-cert.pem"
    cp "$ca/ca-cert.pem" "$out/ca-cert.pem"
    chmod 0600 "$out/$kind-key.pem"
}

make_pki() {
    local d=$1
    mkdir -p "$d/ca" "$d/noclient" "$d/other/ca"
    _make_ca "$d/ca" "polltgt test CA"
    _make_cert "$d/ca" server "$d/server"
    _make_cert "$d/ca" client "$d/client"
    cp "$d/ca/ca-cert.pem" "$d/noclient/ca-cert.pem"
    _make_ca "$d/other/ca" "another CA"
    _make_cert "$d/other/ca" server "$d/other/server"
    _make_cert "$d/other/ca" client "$d/other/client"
    mkdir -p "$d/badclient"
    cp "$d/other/client/client-cert.pem" "$d/other/client/client-key.pem" \
        "$d/badclient/"
    cp "$d/ca/ca-cert.pem" "$d/badclient/"
}

make_psk() {
    psktool -u "$2" -p "$1" >/dev/null 2>&1 || fail "psktool -u $2 -p $1"
}

# tls_conf FILE SOCK TLS-KEYS...: a polltgtd configuration listening on
# the Unix socket SOCK and on 127.0.0.1:$TLS_PORT, with the [nbd] keys
# given (one "key = value" per argument) and a 16 MiB memory export disk0.
# A fixed poll window: no wake-up measurement at start or reload, which a
# loaded machine can make slow.
tls_conf() {
    local f=$1 sock=$2 k
    shift 2
    {
        echo "[poll]"
        echo "max-ns = 50us"
        echo "[nbd]"
        echo "listen = unix:$sock, 127.0.0.1:$TLS_PORT"
        for k in "$@"; do echo "$k"; done
        echo "[status]"
        echo "socket = none"
        echo "[export disk0]"
        echo "backend = memory"
        echo "size = 16M"
    } >"$f"
}
TLS_PORT=$(free_port)

# sha FILE: its SHA-256.
sha() { sha256sum "$1" | cut -d' ' -f1; }
