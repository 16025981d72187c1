#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Long fuzzing runs of the libFuzzer harnesses (tests/fuzz/), built in
# build-fuzz/ by `contrib/setup.sh fuzz` when needed.
#
#   contrib/fuzz.sh [-t SECONDS] [-j JOBS] [TARGET...]
#
#   -t SECONDS  fuzzing time per target (default 600)
#   -j JOBS     targets run at the same time (default 1)
#   TARGET      nbd-handshake nbd-request iscsi-pdu iscsi-login scsi-cdb
#               config (default: all)
#
# Each target keeps its state under $POLLTGT_FUZZ_DIR (default
# ~/.cache/polltgt-fuzz), outside the tree: TARGET/corpus grows from run
# to run (the checked-in seeds are read, never written), so running again
# resumes where the last run stopped; TARGET/runs.tsv has one line per
# run (date, seconds, executions, cov, ft, corpus size, exec/s, result,
# CPU seconds)
# and the summary adds them up, so several short runs count towards a
# long campaign; TARGET/artifacts/ keeps what crashed, leaked or hung,
# and TARGET/last.log the last run's output.  The summary quotes
# libFuzzer's final figures: cov (code edges reached), ft (features:
# edges with hit counts and comparisons) and exec/s.
#
# Runs at nice 10: the harnesses keep a core busy each.  Exits 1 if any
# target found something (reproduce with build-fuzz/tests/fuzz/fuzz-TARGET
# ARTIFACT, FUZZ_LOG=debug for the server's log; fix it, and check the
# input in as tests/fuzz/corpus/TARGET/regress-NAME).
set -euo pipefail

cd "$(dirname "$0")/.."
top=$(pwd)
all=(nbd-handshake nbd-request iscsi-pdu iscsi-login scsi-cdb config)
secs=600
jobs=1

usage() {
    sed -n '6,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

while getopts t:j:h opt; do
    case $opt in
    t) secs=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $secs =~ ^[0-9]+$ && $secs -gt 0 ]] || usage
[[ $jobs =~ ^[0-9]+$ && $jobs -gt 0 ]] || usage
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t" >&2; usage; }
done

state=${POLLTGT_FUZZ_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/polltgt-fuzz}
bindir="$top/build-fuzz/tests/fuzz"

# Build (or bring up to date) the harnesses.
"$top/contrib/setup.sh" fuzz

# run_one TARGET: one run, its line appended to runs.tsv.
run_one() {
    local t=$1 d="$state/$1" rc=0 done_line execs result a cpu start=$SECONDS
    mkdir -p "$d/corpus" "$d/artifacts"
    # In a subshell so that `times` reports this harness's CPU time alone:
    # on a shared machine the wall time overstates the fuzzing done.
    (
        rc=0
        nice -n 10 "$bindir/fuzz-$t" -max_total_time="$secs" -timeout=30 \
            -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$d/artifacts/" \
            "$d/corpus" "$top/tests/fuzz/corpus/$t" >"$d/last.log" 2>&1 || rc=$?
        times >"$d/last.times"
        exit $rc
    ) || rc=$?
    cpu=$(sed -n 2p "$d/last.times" | awk '{
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
        printf "%d", t }')
    done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$d/last.log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$d/last.log")
    result=ok
    if [ $rc -ne 0 ]; then
        a=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$d/last.log" | tail -1)
        result="FOUND:${a:-see $d/last.log}"
    fi
    # The time it ran: a finding stops it early.
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" \
        "$((SECONDS - start))" \
        "${execs:-0}" \
        "$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")" \
        "$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")" \
        "$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$done_line")" \
        "$(sed -n 's/.* exec\/s: \([0-9]*\).*/\1/p' <<<"$done_line")" \
        "$result" "$cpu" >>"$d/runs.tsv"
}

echo "fuzz.sh: ${targets[*]}: ${secs}s each, $jobs at a time; state in $state" >&2
running=0
for t in "${targets[@]}"; do
    if [ $running -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    run_one "$t" &
    running=$((running + 1))
done
wait

# The summary: this run's figures and the totals over every run.
found=0
fmt='%-14s %6s %6s %10s %6s %7s %7s %7s %7s %9s %11s  %s\n'
printf "$fmt" target secs cpu-s execs cov ft corpus 'exec/s' 'total-h' 'total-cpu-h' 'total-execs' result
for t in "${targets[@]}"; do
    f="$state/$t/runs.tsv"
    IFS=$'\t' read -r _ s e cov ft corp eps result c < <(tail -1 "$f")
    # Runs recorded before the CPU column count only their wall time.
    read -r th tc te < <(awk -F'\t' '{ s += $2; c += ($9 != "" ? $9 : $2); e += $3 }
        END { printf "%.2f %.2f %d\n", s / 3600, c / 3600, e }' "$f")
    printf "$fmt" "$t" "$s" "${c:--}" "$e" "$cov" "$ft" "$corp" "$eps" "$th" "$tc" "$te" "$result"
    [[ $result == ok ]] || found=1
done
exit $found
