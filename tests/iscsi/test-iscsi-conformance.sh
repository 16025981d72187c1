#!/usr/bin/env bash
# libiscsi's conformance suite (iscsi-test-cu) against a fresh polltgtd:
# the whole suite (ALL, with -d: destructive tests allowed) on a memory
# export, the families whose answers depend on the backend again on a
# file export, and the write-protection family on a read-only export;
# then the SANITIZE tests (-S) on the memory and file exports, all but
# Sanitize.Reset (see the README: it needs a sanitize that outlasts 3 s,
# which a 64 MiB LU's does not, and it sleeps 4 s).
# Every test named in conformance-expected.txt must pass; the test fails
# when one does not, when iscsi-test-cu hangs or crashes, or when
# polltgtd dies or does not exit 0 at the end.  Tests not on the list may
# do anything but hang; the README's "iSCSI conformance" section says why
# each is not on it.  A pass/fail/skip table per family is printed.
#
# CONFORMANCE_WRITE_EXPECTED=FILE writes the tests that passed to FILE
# (in the list's format) instead of checking, to update the list.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

requires iscsi-test-cu --list
requires timeout --version

expected="$abs_top_srcdir/tests/iscsi/conformance-expected.txt"
[ -r "$expected" ] || fail "no $expected"

port=$(free_port)
conf="$TMPDIR_TEST/polltgt.ini"
cat >"$conf" <<CONF
[iscsi]
listen = 127.0.0.1:$port
[status]
socket = none
[export mem]
backend = memory
size = 64M
[export file]
backend = file
path = $TMPDIR_TEST/file.img
create = yes
size = 64M
[export ro]
backend = memory
size = 16M
readonly = yes
CONF
start_polltgtd "$conf"
wait_for 10 log_has "iscsi: listening on 127\.0\.0\.1:$port\$" ||
    fail "no 'iscsi: listening on 127.0.0.1:$port' log line"

# Families run on each export: ALL on memory; on the file export those
# whose commands go to the backend differently (provisioning, caching,
# flush, read-modify-write); on the read-only export write protection.
file_families=SCSI.CompareAndWrite,SCSI.GetLBAStatus,SCSI.OrWrite,SCSI.Prefetch10,SCSI.Prefetch16,SCSI.Read10,SCSI.Unmap,SCSI.Verify10,SCSI.Write10,SCSI.WriteSame10,SCSI.WriteSame16,SCSI.WriteVerify10
ro_families=SCSI.ReadOnly
sanitize_tests=SCSI.Sanitize.BlockErase,SCSI.Sanitize.BlockEraseReserved,SCSI.Sanitize.CryptoErase,SCSI.Sanitize.CryptoEraseReserved,SCSI.Sanitize.ExitFailureMode,SCSI.Sanitize.InvalidServiceAction,SCSI.Sanitize.Overwrite,SCSI.Sanitize.OverwriteReserved,SCSI.Sanitize.Readonly,SCSI.Sanitize.Reservations

results="$TMPDIR_TEST/results"
: >"$results"

# run_cu EXPORT PATTERNS SECONDS [OPTION...]: one bounded iscsi-test-cu
# run; appends "EXPORT SUITE.TEST STATUS" lines to $results.  A run that
# is killed or crashes records the test it was in as "hung" or "crashed".
run_cu() {
    local export=$1 tests=$2 secs=$3 rc=0
    shift 3
    local url="iscsi://127.0.0.1:$port/iqn.2026-11.org.polltgt:$export/0"
    local out="$TMPDIR_TEST/cu-$export.txt"

    (cd "$TMPDIR_TEST" && timeout -k 5 "$secs" stdbuf -o0 -e0 \
        iscsi-test-cu -d -V "$@" -t "$tests" \
        -i iqn.2026-11.org.polltgt.test:conformance-1 \
        -I iqn.2026-11.org.polltgt.test:conformance-2 \
        "$url" "$url") >"$out" 2>&1 </dev/null || rc=$?
    # Verdicts: "  Test: NAME ..." then "passed" or "FAILED" after the
    # dots or at the start of a later line; a [SKIPPED] note in between
    # makes a pass a skip (libiscsi counts skips as passes).
    awk -v export="$export" -v rc="$rc" '
        function verdict(v) {
            if (v == "passed" && skipped) v = "skipped"
            print export, suite "." test, v
            intest = 0
        }
        /^Suite: / { suite = $2; next }
        /^  Test: / {
            if (intest) print export, suite "." test, "unfinished"
            line = substr($0, 9)
            p = index(line, " ...")
            test = p ? substr(line, 1, p - 1) : line
            rest = p ? substr(line, p + 4) : ""
            intest = 1; skipped = index(rest, "[SKIPPED]") > 0
            if (rest ~ /^ *passed/) verdict("passed")
            else if (rest ~ /^ *FAILED/) verdict("failed")
            next
        }
        intest && /\[SKIPPED\]/ { skipped = 1 }
        intest && /^passed/ { verdict("passed"); next }
        intest && /^FAILED/ { verdict("failed"); next }
        END {
            if (intest) print export, suite "." test, (rc == 124 || rc == 137) ? "hung" : "crashed"
        }' "$out" >>"$results"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        tail -n 20 "$out" >&2
        fail "iscsi-test-cu on $export did not finish within ${secs}s"
    fi
    if [ "$rc" -ge 128 ]; then
        tail -n 20 "$out" >&2
        fail "iscsi-test-cu on $export died (exit $rc)"
    fi
    kill -0 "$POLLTGTD_PID" 2>/dev/null ||
        fail "polltgtd died during the $export run (see $POLLTGTD_LOG)"
}

run_cu mem ALL 240
run_cu file "$file_families" 120
run_cu ro "$ro_families" 60
run_cu mem "$sanitize_tests" 60 -S
run_cu file "$sanitize_tests" 60 -S

# A test run twice (Sanitize: skipped without -S, then run) counts once,
# with its last verdict.
awk '{ k = $1 " " $2; if (!(k in v)) o[++n] = k; v[k] = $3 }
     END { for (i = 1; i <= n; i++) print o[i], v[o[i]] }' "$results" \
    >"$results.last" && mv "$results.last" "$results"

# Per family and export: passed, failed, skipped.
echo "iscsi-test-cu per family (export: passed/failed/skipped):"
awk '{ split($2, x, "."); k = $1 " " x[1]; if (!(k in n)) o[++m] = k; n[k]++
       if ($3 == "passed") p[k]++; else if ($3 == "skipped") s[k]++; else f[k]++
       tp += ($3 == "passed"); tn++ }
     END { for (i = 1; i <= m; i++) printf "  %-4s %-24s %3d/%d/%d\n", substr(o[i], 1, index(o[i], " ") - 1), substr(o[i], index(o[i], " ") + 1), p[o[i]], f[o[i]], s[o[i]]
           printf "total: %d of %d passed\n", tp, tn }' "$results"

if [ -n "${CONFORMANCE_WRITE_EXPECTED:-}" ]; then
    awk '$3 == "passed" { print $1, $2 }' "$results" >"$CONFORMANCE_WRITE_EXPECTED"
    echo "wrote $(wc -l <"$CONFORMANCE_WRITE_EXPECTED") passing tests to $CONFORMANCE_WRITE_EXPECTED"
fi

# Every listed test must have passed.
missing=$(awk 'NR == FNR { if ($3 == "passed") ok[$1 " " $2] = 1; next }
               /^[[:space:]]*(#|$)/ { next }
               !(($1 " " $2) in ok) { print "  " $1 " " $2 }' "$results" "$expected")
if [ -n "$missing" ]; then
    echo "expected to pass, but did not:" >&2
    echo "$missing" >&2
    grep -E ' (failed|hung|crashed|unfinished)$' "$results" >&2 || true
    fail "$(echo "$missing" | wc -l) listed conformance test(s) did not pass"
fi

stop_polltgtd
[ "$POLLTGTD_STATUS" = 0 ] || fail "polltgtd exited with status $POLLTGTD_STATUS"
