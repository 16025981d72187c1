#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `set` and `reload` through the status socket change what the next
# `stats` reports and what the loop does:
#  - reload after editing the file applies (OK with the change count); a
#    broken file is refused with its file:line message and the old
#    configuration stays in force;
#  - set 0 max-ns 64us: stats and metrics show 64000 ns for thread 0 only;
#  - set all policy busy: poll_unbounded, and under nbdcopy load the
#    threads find work by polling (poll_hits grow) and block far less
#    often than they iterate;
#  - set 0 policy off: thread 0 keeps working but never polls again.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
. "$abs_top_srcdir/tests/control/common.sh"
requires nbdcopy --version
set -e

cd "$TMPDIR_TEST"
start_ctl_daemon 2
head -c 8M /dev/urandom >"$TMPDIR_TEST/src.img"
load() {
    for _ in 1 2 3 4; do
        timeout 60 nbdcopy "$TMPDIR_TEST/src.img" "$NBDURI" || fail "nbdcopy"
    done
}
snap() { ctlpy stats >"$TMPDIR_TEST/$1.json" || fail "stats"; }

# --- reload ---------------------------------------------------------------
sed -i 's/^max-ns = 32768/max-ns = 50000/' "$CONF"
out=$(ctlpy reload) || fail "reload refused: $out"
expect_eq "reload answer" "$out" "reloaded: 2 live changes applied"
expect_eq "max_ns after reload" "$(jget iothreads iothreads.1.params.max_ns)" 50000

# A broken file: ERR naming file and line; the running config stays.
printf '[iothread 1]\nweight = 99\n' >>"$CONF"
line=$(wc -l <"$CONF")
if out=$(ctlpy reload); then fail "a broken file was accepted: $out"; fi
case $out in
*"$CONF:$line: [iothread 1] weight: invalid value '99'"*"keeping the running configuration"*) ;;
*) fail "broken reload answer: $out" ;;
esac
expect_eq "weight kept" "$(jget iothreads iothreads.1.params.weight)" 3
expect_eq "max_ns kept" "$(jget iothreads iothreads.1.params.max_ns)" 50000
write_ctl_conf 2
out=$(ctlpy reload) || fail "reload of the restored file: $out"
expect_eq "reload back" "$out" "reloaded: 2 live changes applied"

# --- set max-ns -----------------------------------------------------------
out=$(ctlpy "set 0 max-ns 64us") || fail "set max-ns refused: $out"
expect_eq "set answer" "$out" "set 0 max-ns = 64us"
expect_eq "max_ns 0" "$(jget iothreads iothreads.0.params.max_ns)" 64000
expect_eq "max_ns 1" "$(jget iothreads iothreads.1.params.max_ns)" 32768
ctlpy metrics | grep -qx 'polltgt_iothread_poll_max_seconds{iothread="0"} 0.000064000' ||
    fail "metrics do not show max-ns 64us"
log_has 'set: \[iothread 0\] max-ns: 32768 -> 64000' || fail "set not logged"

# --- set all policy busy: the loop polls ------------------------------------
ctlpy "set all policy busy" >/dev/null || fail "set policy busy"
for i in 0 1; do
    expect_eq "policy $i" "$(jget iothreads iothreads.$i.policy)" busy
    expect_eq "poll_unbounded $i" "$(jget iothreads iothreads.$i.poll_unbounded)" true
done
snap busy0
load
snap busy1
python3 - "$TMPDIR_TEST/busy0.json" "$TMPDIR_TEST/busy1.json" <<'EOP' || fail "busy polling"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
d = lambda k: sum(tb[k] - ta[k] for ta, tb in zip(a['iothreads'], b['iothreads']))
print(f"busy: +{d('iterations')} iterations, +{d('poll_hits')} poll hits, "
      f"+{d('blocking_waits')} blocking waits")
w = b['exports'][0]['io']['bytes_written'] - a['exports'][0]['io']['bytes_written']
assert w >= 4 * 8 << 20, f'export bytes_written grew by {w} only'
assert d('poll_hits') > 0, 'no poll hits under busy polling'
assert d('blocking_waits') * 10 <= d('iterations'), \
    'busy threads block as often as they iterate'
EOP

# --- set 0 policy off: thread 0 stops polling -------------------------------
ctlpy "set 0 policy off" >/dev/null || fail "set policy off"
expect_eq "policy 0" "$(jget iothreads iothreads.0.policy)" off
expect_eq "poll_unbounded 0" "$(jget iothreads iothreads.0.poll_unbounded)" false
snap off0
load
snap off1
python3 - "$TMPDIR_TEST/off0.json" "$TMPDIR_TEST/off1.json" <<'EOP' || fail "policy off"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
ta, tb = a['iothreads'][0], b['iothreads'][0]
print(f"off: thread 0 +{tb['iterations'] - ta['iterations']} iterations, "
      f"+{tb['poll_hits'] - ta['poll_hits']} poll hits, "
      f"+{tb['blocking_waits'] - ta['blocking_waits']} blocking waits")
assert tb['iterations'] > ta['iterations'], 'thread 0 saw no work'
assert tb['poll_hits'] == ta['poll_hits'], 'thread 0 still finds work by polling'
assert tb['poll_ns'] == 0, f"poll window {tb['poll_ns']} under policy off"
EOP

kill -0 "$POLLTGTD_PID" || fail "polltgtd died"
stop_polltgtd
[ "$POLLTGTD_STATUS" -eq 0 ] || fail "polltgtd exit status $POLLTGTD_STATUS"
echo ok
