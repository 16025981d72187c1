#!/usr/bin/env bash
# [server] user = nobody: polltgtd opens its socket and a root-only backing
# file as root, then runs as nobody (checked in /proc), still serves the
# file, keeps running when a reload cannot read the config, applies a
# reload it can read, and on exit empties the PID file it cannot remove.
# An unknown user name is refused before anything starts, a uid without
# a passwd entry needs group =, and root without user gets a warning.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

[ "$(id -u)" -eq 0 ] || { echo "$0: skipped: needs root to change user" >&2; exit 77; }
requires getent passwd nobody
requires nbdcopy --version
nobody_uid=$(getent passwd nobody | cut -d: -f3)
nobody_gid=$(getent passwd nobody | cut -d: -f4)

cd "$TMPDIR_TEST"
chmod 0700 "$TMPDIR_TEST"
head -c 1048576 /dev/urandom >disk.img
chmod 0600 disk.img
conf="$TMPDIR_TEST/polltgt.ini"
chmod 0600 "$conf" 2>/dev/null || true
write_conf() {
    cat >"$conf" <<EOF
[server]
user = nobody
pidfile = $TMPDIR_TEST/polltgtd.pid
[poll]
max-ns = $1
[nbd]
listen = unix:$TMPDIR_TEST/nbd.sock
[status]
socket = $TMPDIR_TEST/status.sock
[export f]
backend = file
path = $TMPDIR_TEST/disk.img
EOF
    chmod 0600 "$conf"
}
write_conf 32768
start_polltgtd "$conf"
log_has "running as user nobody \(uid $nobody_uid\), group $nobody_gid" ||
    { cat "$POLLTGTD_LOG"; fail "no log line for the user change"; }

# Real, effective, saved and filesystem ids are all nobody's.
read -r _ u1 u2 u3 u4 < <(grep '^Uid:' "/proc/$POLLTGTD_PID/status")
read -r _ g1 g2 g3 g4 < <(grep '^Gid:' "/proc/$POLLTGTD_PID/status")
for id in "$u1" "$u2" "$u3" "$u4"; do
    [ "$id" = "$nobody_uid" ] || fail "Uid line: $u1 $u2 $u3 $u4"
done
for id in "$g1" "$g2" "$g3" "$g4"; do
    [ "$id" = "$nobody_gid" ] || fail "Gid line: $g1 $g2 $g3 $g4"
done
groups=$(sed -n 's/^Groups:[[:space:]]*//p' "/proc/$POLLTGTD_PID/status")
for g in $groups; do
    [ "$g" = "$nobody_gid" ] || fail "supplementary group $g kept (Groups: $groups)"
done
capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$POLLTGTD_PID/status")
[ "$capeff" = 0000000000000000 ] || fail "capabilities kept: CapEff $capeff"
nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "/proc/$POLLTGTD_PID/status")
[ "$nnp" = 1 ] || fail "no_new_privs not set after dropping (NoNewPrivs: $nnp)"

# The root-only file was opened before the change: still read and written.
uri="nbd+unix:///f?socket=$TMPDIR_TEST/nbd.sock"
timeout 30 nbdcopy "$uri" back.img || fail "cannot read the export as nobody"
cmp disk.img back.img || fail "data read back differs"
head -c 1048576 /dev/urandom >new.img
timeout 30 nbdcopy --flush new.img "$uri" || fail "cannot write the export"
cmp disk.img new.img || fail "the write did not reach the root-only file"

# The status socket belongs to the user now (so it can still use it).
[ "$(stat -c %u "$TMPDIR_TEST/status.sock")" = "$nobody_uid" ] ||
    fail "status socket owned by $(stat -c %U "$TMPDIR_TEST/status.sock")"

# A reload needs the config readable by nobody: here it is not.
write_conf 65536
kill -HUP "$POLLTGTD_PID"
wait_for 10 log_has "keeping the running configuration" ||
    { cat "$POLLTGTD_LOG"; fail "unreadable config on reload not reported"; }
kill -0 "$POLLTGTD_PID" || fail "the server died on an unreadable reload"
# Readable: the live change applies.
chmod 0711 "$TMPDIR_TEST"
chmod 0644 "$conf"
kill -HUP "$POLLTGTD_PID"
wait_for 10 log_has 'reload: \[iothread 0\] max-ns: 32768 -> 65536' ||
    { cat "$POLLTGTD_LOG"; fail "readable reload not applied"; }

stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "exit status $POLLTGTD_STATUS"
# The directory is root's: the PID file cannot go, but it no longer
# names a process.
if [ -s "$TMPDIR_TEST/polltgtd.pid" ]; then
    fail "PID file still holds $(cat "$TMPDIR_TEST/polltgtd.pid")"
fi

# An unknown user name is refused with the key's line, before anything starts.
sed -i 's/^user = nobody/user = polltgt-no-such-user/' "$conf"
if "$POLLTGTD" --foreground -c "$conf" 2>err.txt; then
    fail "started with an unknown user"
fi
grep -q "polltgt.ini:2: \[server\] user: unknown user 'polltgt-no-such-user'" err.txt ||
    { cat err.txt; fail "unclear message for an unknown user"; }

# A uid with no passwd entry has no primary group: group = is required.
free_uid=54321
while getent passwd "$free_uid" >/dev/null; do free_uid=$((free_uid + 1)); done
sed -i "s/^user = .*/user = $free_uid/" "$conf"
if "$POLLTGTD" --foreground -c "$conf" 2>err.txt; then
    fail "started as uid $free_uid without a group"
fi
grep -q "user $free_uid: no such user in the passwd database, so no primary group: set \[server\] group too" err.txt ||
    { cat err.txt; fail "unclear message for a uid without a passwd entry"; }

# Root without user = : a warning.
sed -i '/^user = /d' "$conf"
start_polltgtd "$conf"
log_has 'running as root: set \[server\] user' ||
    { cat "$POLLTGTD_LOG"; fail "no warning when staying root"; }
stop_polltgtd
echo "ok"
