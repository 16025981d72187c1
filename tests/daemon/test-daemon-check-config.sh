#!/usr/bin/env bash
# --check-config accepts the shipped file and rejects broken ones with a
# message naming file, line and key; usage errors exit 2.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

conf="$abs_top_srcdir/conf/polltgt.ini"
out=$("$POLLTGTD" --check-config -c "$conf")
[[ $out == *"OK: 1 I/O thread, 1 export"* ]] || fail "unexpected output: $out"

bad="$TMPDIR_TEST/bad.ini"
cat >"$bad" <<'INI'
[server]
log-level = info
iothred = 2
INI
rc=0
err=$("$POLLTGTD" --check-config -c "$bad" 2>&1) || rc=$?
[ $rc -eq 1 ] || fail "misspelled key: exit $rc, expected 1"
[[ $err == *"$bad:3: [server] unknown key 'iothred'; did you mean 'iothreads'?"* ]] ||
    fail "misspelled key: message was: $err"

# A bad file is rejected whole and no server starts.
cat >"$bad" <<'INI'
[export disk0]
backend = memory
size = lots
INI
rc=0
err=$("$POLLTGTD" --foreground -c "$bad" 2>&1) || rc=$?
[ $rc -eq 1 ] || fail "bad size: exit $rc"
[[ $err == *"$bad:3: [export disk0] size: invalid value 'lots'"* ]] || fail "bad size: $err"

rc=0
err=$("$POLLTGTD" --check-config -c "$TMPDIR_TEST/missing.ini" 2>&1) || rc=$?
[ $rc -eq 1 ] || fail "missing file: exit $rc"
[[ $err == *"missing.ini: cannot open: No such file or directory"* ]] || fail "missing file: $err"

rc=0
"$POLLTGTD" --no-such-option >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "bad option: exit $rc, expected 2"
rc=0
"$POLLTGTD" --log-level=loud -c "$conf" >/dev/null 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "bad --log-level: exit $rc, expected 2"

[[ $("$POLLTGTD" --version) == "polltgt "* ]] || fail "--version"
"$POLLTGTD" --help | grep -q -- '--check-config' || fail "--help"
echo "ok"
