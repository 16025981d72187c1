#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The systemd units of contrib/systemd: the generated service names the
# installed paths (no @placeholders@ left), the socket units pass the
# descriptor names polltgtd accepts (nbd, iscsi), and systemd-analyze
# verify finds nothing to say about any of them, with ExecStart pointed
# at the polltgtd just built.  Skips (77) the verify step only when
# systemd-analyze is not installed.

set -u
srcdir=${POLLTGT_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${POLLTGT_BUILDDIR:-.}
units=$srcdir/contrib/systemd
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -r "$builddir/contrib/systemd/polltgtd.service" ] ||
    fail "contrib/systemd/polltgtd.service was not generated"
if grep -n '@[a-z]*@' "$builddir/contrib/systemd/polltgtd.service"; then
    fail "placeholders left in the generated service unit"
fi
grep -q '^Type=notify$' "$units/polltgtd.service.in" || fail "service is not Type=notify"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$units/polltgtd.service.in" ||
    fail "service has no ExecReload sending SIGHUP"
grep -q '^FileDescriptorName=nbd$' "$units/polltgtd-nbd.socket" || fail "nbd socket name"
grep -q '^FileDescriptorName=iscsi$' "$units/polltgtd-iscsi.socket" || fail "iscsi socket name"

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "$0: skipped: systemd-analyze is not installed (the unit checks above passed)" >&2
    exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/polltgt-units.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
sed -e "s|@sbindir@|$(cd "$builddir/server" && pwd)|g" -e "s|@sysconfdir@|/etc|g" \
    "$units/polltgtd.service.in" >"$tmp/polltgtd.service"
cp "$units/polltgtd-nbd.socket" "$units/polltgtd-iscsi.socket" "$tmp/"
# --man=no: the manual pages are not installed where man looks.
(cd "$tmp" && systemd-analyze verify --man=no ./polltgtd.service \
    ./polltgtd-nbd.socket ./polltgtd-iscsi.socket) >"$tmp/out" 2>&1
rc=$?
if [ "$rc" -ne 0 ] || [ -s "$tmp/out" ]; then
    cat "$tmp/out" >&2
    fail "systemd-analyze verify: status $rc"
fi
echo "ok"
