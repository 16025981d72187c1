#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# max-ns = auto: each I/O thread measures what a wake-up costs at start,
# logs the cost and the window it chose, and the window lies in the
# documented range (16 us .. 1 ms) and is what the rule gives for the
# logged cost (4 wake-ups).  A fixed [iothread N] max-ns overrides auto
# for that thread; `set N max-ns auto` switches it to the measured window
# live; a reload measures again.  JSON and Prometheus show all of it.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

conf="$TMPDIR_TEST/polltgt.ini"
sock="$TMPDIR_TEST/ctl.sock"
cat >"$conf" <<INI
[server]
iothreads = 2
[poll]
max-ns = auto
[iothread 1]
max-ns = 20us
[nbd]
listen = unix:$TMPDIR_TEST/nbd.sock
[status]
socket = $sock
[export disk0]
backend = memory
size = 1M
INI
start_polltgtd "$conf"
ctl() { polltgtctl -s "$sock" "$@"; }

# "iothread 0: a wake-up costs C ns (...): max-ns auto is W ns"
line=$(grep 'iothread 0: a wake-up costs' "$POLLTGTD_LOG") ||
    fail "no wake-up measurement logged for iothread 0"
cost=$(sed -n 's/.*a wake-up costs \([0-9]*\) ns.*/\1/p' <<<"$line")
win=$(sed -n 's/.*max-ns auto is \([0-9]*\) ns$/\1/p' <<<"$line")
[ -n "$cost" ] && [ -n "$win" ] || fail "unparsable log line: $line"
[ "$win" -ge 16000 ] && [ "$win" -le 1000000 ] ||
    fail "auto window $win ns outside 16000..1000000"
want=$((cost * 4))
[ $want -lt 16000 ] && want=16000
[ $want -gt 1000000 ] && want=1000000
[ "$win" -eq $want ] || fail "cost $cost ns gave window $win, expected $want"
log_has 'iothread 0: started, policy weighted, max-ns auto: '"$win"' ns' ||
    fail "the start line does not show the auto window"
# Thread 1 is fixed: measured too, but says the figure is not in use.
log_has 'iothread 1: a wake-up costs .*\(not in use: max-ns is fixed\)$' ||
    fail "iothread 1 did not log its measurement as unused"

ctl stats --json >"$TMPDIR_TEST/s1.json" || fail "stats --json"
python3 - "$TMPDIR_TEST/s1.json" "$win" "$cost" <<'PY' || fail "stats JSON"
import json, sys
d = json.load(open(sys.argv[1])); win, cost = int(sys.argv[2]), int(sys.argv[3])
t0, t1 = d['iothreads'][0], d['iothreads'][1]
assert t0['params']['max_ns_auto'] is True, t0['params']
assert t0['params']['max_ns'] == win, (t0['params'], win)
assert t0['wakeup']['cost_ns'] == cost, (t0['wakeup'], cost)
assert t0['wakeup']['blocked_ns'] >= t0['wakeup']['spinning_ns'] > 0 or \
    t0['wakeup']['cost_ns'] == 0, t0['wakeup']
assert t1['params']['max_ns_auto'] is False, t1['params']
assert t1['params']['max_ns'] == 20000, t1['params']
assert t1['wakeup']['spinning_ns'] > 0, t1['wakeup']
PY
ctl metrics >"$TMPDIR_TEST/m1.txt" || fail "metrics"
grep -q '^polltgt_iothread_poll_max_auto{iothread="0"} 1$' "$TMPDIR_TEST/m1.txt" ||
    fail "metrics: thread 0 not auto"
grep -q '^polltgt_iothread_poll_max_auto{iothread="1"} 0$' "$TMPDIR_TEST/m1.txt" ||
    fail "metrics: thread 1 shown as auto"
grep -Eq '^polltgt_iothread_wakeup_cost_seconds\{iothread="0"\} [0-9.]+$' \
    "$TMPDIR_TEST/m1.txt" || fail "metrics: no wake-up cost"

# polltgtctl stats: thread 0's window says auto, with the measured cost
# (0 when a loaded host made blocking no dearer than spinning).
ctl stats >"$TMPDIR_TEST/t1.txt" || fail "polltgtctl stats"
grep -Eq '^ *0 .* auto +([0-9.]+(ns|µs|us|ms)|0) ' "$TMPDIR_TEST/t1.txt" ||
    fail "polltgtctl stats does not show thread 0 as auto: $(cat "$TMPDIR_TEST/t1.txt")"
grep -Eq '^ *1 .* [0-9.]+(µs|us) +([0-9.]+(ns|µs|us|ms)|0) ' "$TMPDIR_TEST/t1.txt" ||
    fail "polltgtctl stats: thread 1: $(cat "$TMPDIR_TEST/t1.txt")"
! grep -Eq '^ *1 .* auto ' "$TMPDIR_TEST/t1.txt" || fail "thread 1 shown as auto"

# set 1 max-ns auto: thread 1 takes its own measured window.
ctl set 1 max-ns auto >/dev/null || fail "set 1 max-ns auto refused"
ctl stats --json >"$TMPDIR_TEST/s2.json"
python3 - "$TMPDIR_TEST/s2.json" <<'PY' || fail "after set: stats JSON"
import json, sys
t1 = json.load(open(sys.argv[1]))['iothreads'][1]
c = t1['wakeup']['cost_ns']
want = min(max(4 * c, 16000), 1000000)
assert t1['params']['max_ns_auto'] is True, t1['params']
assert t1['params']['max_ns'] == want, (t1, want)
PY

# A reload measures again (a thread whose max-ns is auto).
n=$(grep -c 'iothread 0: a wake-up costs' "$POLLTGTD_LOG")
kill -HUP "$POLLTGTD_PID"
measured_again() {
    [ "$(grep -c 'iothread 0: a wake-up costs' "$POLLTGTD_LOG")" -gt "$n" ]
}
wait_for 10 measured_again ||
    { cat "$POLLTGTD_LOG" >&2; fail "no new measurement after SIGHUP"; }
echo ok
