#!/usr/bin/env bash
# nbdcopy moves 64 MiB of random data into a memory export and back
# unchanged, into a file export whose backing file then equals the source
# byte for byte, and from one export to another.  nbdcopy opens several
# connections per export (the exports advertise multi-conn), which the
# server spreads over its two I/O threads.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

requires nbdcopy --version
requires timeout --version
requires sha256sum --version

cd "$TMPDIR_TEST"
sock="$TMPDIR_TEST/nbd.sock"
conf="$TMPDIR_TEST/polltgt.ini"
cat >"$conf" <<EOF
[server]
iothreads = 2
log-level = debug
[nbd]
listen = unix:$sock
[status]
socket = none
[export mem]
backend = memory
size = 64M
[export file0]
backend = file
path = $TMPDIR_TEST/file0.img
create = yes
size = 64M
[export file1]
backend = file
path = $TMPDIR_TEST/file1.img
create = yes
size = 64M
EOF
start_polltgtd "$conf"
uri() { echo "nbd+unix:///$1?socket=$sock"; }
sum() { sha256sum "$1" | cut -d' ' -f1; }

head -c 64M /dev/urandom >src.bin
want=$(sum src.bin)

# Local file -> memory export -> local file.
timeout 60 nbdcopy --flush src.bin "$(uri mem)" || fail "nbdcopy src.bin -> mem"
timeout 60 nbdcopy "$(uri mem)" back.bin || fail "nbdcopy mem -> back.bin"
[ "$(sum back.bin)" = "$want" ] || fail "mem: sha256 of the copy differs"

# Local file -> file export: the backing file is the data, byte for byte.
timeout 60 nbdcopy --flush src.bin "$(uri file0)" || fail "nbdcopy -> file0"
cmp src.bin file0.img || fail "file0.img differs from what was copied in"
timeout 60 nbdcopy "$(uri file0)" back0.bin || fail "nbdcopy file0 -> back0"
cmp src.bin back0.bin || fail "file0: data read back differs"

# Export -> export through the same server.
timeout 60 nbdcopy --flush "$(uri mem)" "$(uri file1)" ||
    fail "nbdcopy mem -> file1"
cmp src.bin file1.img || fail "file1.img differs from the memory export"

# New data with one connection and a deep queue, read back with
# synchronous requests.
head -c 64M /dev/urandom >src2.bin
timeout 60 nbdcopy --connections=1 --requests=64 src2.bin "$(uri mem)" ||
    fail "nbdcopy --connections=1 -> mem"
timeout 60 nbdcopy --synchronous "$(uri mem)" back2.bin ||
    fail "nbdcopy --synchronous mem -> back2.bin"
cmp src2.bin back2.bin || fail "mem (1 connection, 64 requests): data differs"

# The connections really were spread over both I/O threads.
if ! { log_has 'connected on iothread 0' && log_has 'connected on iothread 1'; }; then
    grep 'connected on iothread' "$POLLTGTD_LOG" >&2
    fail "connections not spread over both I/O threads"
fi

kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "SIGTERM: exit status $POLLTGTD_STATUS"
echo "ok"
