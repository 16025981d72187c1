#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An invalid `set` is refused with ERR and the same message the INI loader
# gives for the same bad value in a file (the part of `polltgtd
# --check-config` after "FILE:LINE: "), and changes nothing.  polltgtctl
# passes the message on to stderr and exits 1.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/control/common.sh"
set -e

cd "$TMPDIR_TEST"
start_ctl_daemon 2
before=$(ctlpy iothreads | python3 -c 'import json,sys; print(json.dumps([t["params"] for t in json.load(sys.stdin)["iothreads"]]))')

bad=0
# check SECTION KEY VALUE SET-REQUEST
check() {
    local f="$TMPDIR_TEST/bad.ini" want got
    write_ctl_conf 2
    cp "$CONF" "$f"
    printf '[%s]\n%s = %s\n' "$1" "$2" "$3" >>"$f"
    if "$POLLTGTD" --check-config -c "$f" >/dev/null 2>"$TMPDIR_TEST/err"; then
        fail "--check-config accepted [$1] $2 = $3"
    fi
    want=$(sed -n "s|^$f:[0-9]*: ||p" "$TMPDIR_TEST/err" | head -1)
    [ -n "$want" ] || fail "no FILE:LINE message for [$1] $2 = $3: $(cat "$TMPDIR_TEST/err")"
    if got=$(ctlpy "$4"); then
        fail "'$4' was accepted: $got"
    fi
    if [ "$got" = "$want" ]; then
        echo "ok: '$4': $got"
    else
        echo "FAIL: '$4'"
        echo "   set gives: $got"
        echo "   INI gives: $want"
        bad=1
    fi
}
check "iothread 0" weight 99 "set 0 weight 99"
check "iothread 0" max-ns soon "set 0 max-ns soon"
check "iothread 0" policy fast "set 0 policy fast"
check "poll" weight 99 "set all weight 99"
check "poll" grow x "set all grow x"
check "iothread 9" grow 2 "set 9 grow 2"
check "iothread 0" foo 1 "set 0 foo 1"

after=$(ctlpy iothreads | python3 -c 'import json,sys; print(json.dumps([t["params"] for t in json.load(sys.stdin)["iothreads"]]))')
expect_eq "params after refused sets" "$after" "$before"

# polltgtctl: the server's message on stderr, exit status 1.
rc=0
ctl set 0 weight 99 >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err" || rc=$?
expect_eq "polltgtctl exit status on ERR" "$rc" 1
grep -qx "polltgtctl: \[iothread 0\] weight: invalid value '99': .*" "$TMPDIR_TEST/err" ||
    fail "polltgtctl stderr: $(cat "$TMPDIR_TEST/err")"
[ ! -s "$TMPDIR_TEST/out" ] || fail "polltgtctl printed to stdout on ERR"

stop_polltgtd
[ $bad -eq 0 ] || fail "set and the INI loader word some errors differently"
echo ok
