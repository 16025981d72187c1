#!/usr/bin/env bash
# backend = rbd on a cluster with cephx required (ceph_start DIR cephx):
# polltgtd authenticates as `id = polltgt` with the key in `keyring`, a
# client allowed only RBD on pool rbd, and serves the image over NBD:
# data written through NBD reads back through NBD and in Ceph (rbd
# export as client.admin).  A key the monitors refuse and a client with
# no key in its keyring each stop polltgtd at startup, in bounded time,
# with an error naming the export, the client and the failure.  One
# cluster start (about 20 s).
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/ceph/ceph-functions.sh"
set -e

requires nbdcopy --version
requires timeout --version
requires python3 --version
ceph_requires

cd "$TMPDIR_TEST"
ceph_start "$TMPDIR_TEST/ceph" cephx
rbd_cli create --size 32M rbd/disk || fail "rbd create"
# client.polltgt's name with a key the cluster never saw.
ceph-authtool --create-keyring wrong.keyring --gen-key -n client.polltgt \
    >/dev/null || fail "ceph-authtool for the wrong key"

sock="$TMPDIR_TEST/nbd.sock"
# rbd_ini NAME ID KEYRING: an NBD-only config with one export NAME of
# rbd/disk, as client.ID with the key in KEYRING.
rbd_ini() {
    cat <<INI
[server]
iothreads = 1
[nbd]
listen = unix:$sock
[status]
socket = none
[export $1]
backend = rbd
pool = rbd
image = disk
conf = $CEPH_CONF
id = $2
keyring = $3
request-timeout = 3s
INI
}

# refused NAME ID KEYRING ERROR: polltgtd, with export NAME as client.ID
# and KEYRING, exits at startup within seconds (not a hang, not a start),
# with the line a user reads: the export, the client, librados's ERROR.
refused() {
    local rc=0 start ms
    rbd_ini "$1" "$2" "$3" >"$1.ini"
    start=$(date +%s%N)
    timeout 30 "$POLLTGTD" --foreground -c "$1.ini" 2>"$1.log" || rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$rc" -ne 124 ] || { cat "$1.log" >&2; fail "$1: polltgtd hung at startup"; }
    [ "$rc" -ne 0 ] || { cat "$1.log" >&2; fail "$1: polltgtd started"; }
    ! grep -q ' started: ' "$1.log" || fail "$1: polltgtd reported a start"
    [ "$ms" -lt 15000 ] || fail "$1: polltgtd took $ms ms to give up"
    grep -Fq "[error]: export $1: rbd rbd/disk: connecting to the cluster as client.$2 (keyring $3): $4" \
        "$1.log" || { cat "$1.log" >&2; fail "$1: no clear error for the authentication failure"; }
}

# The monitors refuse a wrong key; a client with no key in the keyring
# fails in librados before it asks them.
refused wrongkey polltgt "$TMPDIR_TEST/wrong.keyring" "Permission denied"
refused noid nobody "$CEPH_CLIENT_KEYRING" "Operation not permitted"

# The right key: the export serves.
rbd_ini ceph0 polltgt "$CEPH_CLIENT_KEYRING" >rbd.ini
start_polltgtd rbd.ini
nbd="nbd+unix:///ceph0?socket=$sock"
show_log() { cat "$POLLTGTD_LOG" >&2; }
log_has 'export ceph0: rbd image rbd/disk: 33554432 bytes' ||
    { show_log; fail "the image was not opened"; }

head -c 8M /dev/urandom >a.bin
timeout 30 nbdcopy --flush a.bin "$nbd" || { show_log; fail "NBD write"; }
timeout 30 nbdcopy "$nbd" a.nbd || { show_log; fail "NBD read"; }
cmp -n 8388608 a.bin a.nbd || fail "data written over NBD reads back different"
rbd_cli export --no-progress rbd/disk a.ceph >/dev/null 2>&1 || fail "rbd export"
cmp -n 8388608 a.bin a.ceph || fail "data written over NBD differs in Ceph"

stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || { show_log; fail "polltgtd exit status $POLLTGTD_STATUS"; }
echo "ok: rbd as client.polltgt with cephx; a wrong key and a client without one refused at startup"
