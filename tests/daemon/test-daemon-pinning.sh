#!/usr/bin/env bash
# [iothread N] cpu = K pins that I/O thread (and only it) to CPU K, and the
# thread is named iothreadN so operators can find it in top -H.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e
requires test "$(nproc)" -ge 2

conf="$TMPDIR_TEST/polltgt.ini"
cat >"$conf" <<INI
[server]
iothreads = 2
[iothread 1]
cpu = 1
[nbd]
listen = unix:$TMPDIR_TEST/nbd.sock
[status]
socket = none
[export disk0]
backend = memory
size = 1M
INI
start_polltgtd "$conf"

found=0
for status in /proc/"$POLLTGTD_PID"/task/*/status; do
    name=$(awk '/^Name:/ { print $2 }' "$status")
    cpus=$(awk '/^Cpus_allowed_list:/ { print $2 }' "$status")
    case "$name" in
    iothread1)
        [ "$cpus" = 1 ] || fail "iothread1 runs on CPUs $cpus, expected 1"
        found=$((found + 1))
        ;;
    iothread0)
        [ "$cpus" != 1 ] || fail "iothread0 was pinned too ($cpus)"
        found=$((found + 1))
        ;;
    esac
done
[ "$found" -eq 2 ] || fail "found $found I/O threads named iothreadN, expected 2"

# A CPU that does not exist is a start-up error, not a silent fallback.
stop_polltgtd
sed -i 's/^cpu = 1/cpu = 1000/' "$conf"
rc=0
"$POLLTGTD" --foreground -c "$conf" 2>"$TMPDIR_TEST/err" || rc=$?
[ $rc -eq 1 ] || fail "cpu = 1000: exit $rc, expected 1"
grep -q "iothread 1: cannot pin to cpu 1000" "$TMPDIR_TEST/err" ||
    fail "cpu = 1000: $(cat "$TMPDIR_TEST/err")"
echo ok
