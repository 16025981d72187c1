#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The status socket's protocol, with a raw client (protocol-checks.py):
# every command's answer parses (JSON through Python's json, Prometheus
# text through prom-check.py and promtool when installed) and has the
# configured values; counters and time only go forward; refusals; a
# request over 4096 bytes is refused and the client disconnected;
# pipelined requests are answered in order; two clients at once, and a
# silent or non-reading client does not block another.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/control/common.sh"
set -e

cd "$TMPDIR_TEST"
start_ctl_daemon 2
timeout 120 python3 "$CTLDIR/protocol-checks.py" "$SOCK" 2 ||
    { tail -20 "$POLLTGTD_LOG"; fail "protocol checks"; }
kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "polltgtd exit status $POLLTGTD_STATUS"
echo ok
