#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# policy-study.sh: the poll policy study.  polltgtd alone (no peers), its
# memory backend over NBD on loopback TCP, driven by fio's nbd engine,
# under a list of poll configurations (policy, weight, max-ns) across
# workloads, fio job counts (one connection each) and I/O thread counts.
# Not a test: make check never runs it.
#
# The point is to compare policies against each other, in the format of the
# weighted-intervals review (throughput and CPU change against
# per-handler), so the configurations must take turns closely: one
# polltgtd is started per I/O thread count and repetition, and the
# configuration is switched live through the status socket (polltgtctl set)
# between fio runs, in an order rotated from one cell and repetition to the
# next.  Server CPU time comes from /proc/PID/stat, sampled during each run
# so that it covers fio's measured interval only (not its start-up and ramp,
# during which busy would spin for nothing); the loop's own counters come
# from the status socket before, during and after each run.  The shell part
# only runs things and keeps the raw files; policy-study-report.py turns
# them into results.tsv, report.md and the plots, and can be rerun on a
# results directory.  The helpers it shares with nbd-bench.sh are in
# bench-lib.sh.
#
# Usage: contrib/bench/policy-study.sh [-q] [-n REPS] [-t SECONDS] [-o DIR] ...
# See contrib/bench/README.md.

set -eu -o pipefail

BENCH=policy-study
# shellcheck source=contrib/bench/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"

usage() {
    cat <<'EOF'
usage: policy-study.sh [options]
  -q            quick mode: 1 repetition, numjobs 1, 1 I/O thread, six
                configurations, all workloads (about 1.5 minutes)
  -n REPS       repetitions of every cell (full 3, quick 1)
  -t SECONDS    fio runtime of each cell (default 2)
  -r MS         fio ramp time before it, not measured (default 250)
  -T SECONDS    length of each mixed-load window trace, 0 for none (default 3)
  -k LIST       configurations, comma-separated: POLICY[-wWEIGHT][@MAX_NS]
                (default full: off,classic,per-handler,weighted-w2,
                weighted-w3,busy,weighted-w3@32768,weighted-w3@262144;
                quick: off,per-handler,weighted-w3,weighted-w3@32768,
                weighted-w3@262144,busy); without @, max-ns = auto
  -w LIST       workloads, comma-separated (default all):
                rr4k-qd1,rw4k-qd1,rr4k-qd16,sr64k-qd4,mixed
  -j LIST       fio numjobs, comma-separated (full 1,4,8; quick 1)
  -i LIST       I/O thread counts, comma-separated (full 1,2; quick 1)
  -S CPUS       the server's CPUs, a taskset list; I/O thread k is pinned
                to the k-th (round robin) (default 0)
  -C CPUS       the clients' CPUs (fio, polltgtctl, this script) (default 1)
  -o DIR        results directory (default /tmp/policy-study-DATE)
  -b PATH       the polltgtd binary (default: server/polltgtd of this tree)
  -c PATH       the polltgtctl binary (default: server/polltgtctl of this tree)
Environment: WORKING_SET (default 256M), EXPORT_SIZE (default 1G),
PYTHON (a python3 with matplotlib, default: python3, else /usr/bin/python3).
EOF
}

# --- Options ---------------------------------------------------------------

FULL_CONFIGS=(off classic per-handler weighted-w2 weighted-w3 busy
    weighted-w3@32768 weighted-w3@262144)
QUICK_CONFIGS=(off per-handler weighted-w3 weighted-w3@32768
    weighted-w3@262144 busy)
ALL_WORKLOADS=(rr4k-qd1 rw4k-qd1 rr4k-qd16 sr64k-qd4 mixed)
# The window a configuration gets when it names none: polltgtd's shipped
# default, auto (sized from the measured wake-up cost), so that policies
# are compared at the window users get; @32768 (QEMU's bare-metal value,
# the one the review's table was measured with) and @262144 are the fixed
# windows auto is compared with.
DEFAULT_MAX_NS=auto
DEFAULT_WEIGHT=3

QUICK=0 REPS='' RUNTIME=2 RAMP_MS=250 TRACE_S=3 OUT=''
POLLTGTD=${POLLTGTD:-} POLLTGTCTL=${POLLTGTCTL:-}
SERVER_CPUS=0 CLIENT_CPUS=1
CONFIGS=() WORKLOADS=() NUMJOBS=() IOTHREADS=()
while getopts qn:t:r:T:k:w:j:i:S:C:o:b:c:h opt; do
    case $opt in
    q) QUICK=1 ;;
    n) REPS=$OPTARG ;;
    t) RUNTIME=$OPTARG ;;
    r) RAMP_MS=$OPTARG ;;
    T) TRACE_S=$OPTARG ;;
    k) IFS=, read -r -a CONFIGS <<<"$OPTARG" ;;
    w) IFS=, read -r -a WORKLOADS <<<"$OPTARG" ;;
    j) IFS=, read -r -a NUMJOBS <<<"$OPTARG" ;;
    i) IFS=, read -r -a IOTHREADS <<<"$OPTARG" ;;
    S) SERVER_CPUS=$OPTARG ;;
    C) CLIENT_CPUS=$OPTARG ;;
    o) OUT=$OPTARG ;;
    b) POLLTGTD=$OPTARG ;;
    c) POLLTGTCTL=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { usage >&2; exit 2; }
if [ "$QUICK" -eq 1 ]; then
    REPS=${REPS:-1}
    [ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=("${QUICK_CONFIGS[@]}")
    [ ${#NUMJOBS[@]} -gt 0 ] || NUMJOBS=(1)
    [ ${#IOTHREADS[@]} -gt 0 ] || IOTHREADS=(1)
fi
REPS=${REPS:-3}
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=("${FULL_CONFIGS[@]}")
[ ${#WORKLOADS[@]} -gt 0 ] || WORKLOADS=("${ALL_WORKLOADS[@]}")
[ ${#NUMJOBS[@]} -gt 0 ] || NUMJOBS=(1 4 8)
[ ${#IOTHREADS[@]} -gt 0 ] || IOTHREADS=(1 2)
WORKING_SET=${WORKING_SET:-256M}
EXPORT_SIZE=${EXPORT_SIZE:-1G}
check_counts "$REPS" "$RUNTIME"
check_list workload ALL_WORKLOADS "${WORKLOADS[@]}"
for x in "$RAMP_MS" "$TRACE_S" "${NUMJOBS[@]}" "${IOTHREADS[@]}"; do
    case $x in
    '' | *[!0-9]*)
        echo "$BENCH: -r, -T, -j and -i take whole numbers" >&2; exit 2 ;;
    esac
done
for x in "${NUMJOBS[@]}" "${IOTHREADS[@]}"; do
    [ "$x" -ge 1 ] || { echo "$BENCH: -j and -i must be at least 1" >&2; exit 2; }
done

# parse_config NAME: sets C_POLICY, C_WEIGHT, C_MAXNS; fails on bad syntax.
parse_config() {
    local n=$1
    C_MAXNS=$DEFAULT_MAX_NS C_WEIGHT=$DEFAULT_WEIGHT
    if [[ $n == *@* ]]; then
        C_MAXNS=${n#*@}
        n=${n%%@*}
    fi
    if [[ $n =~ ^(.+)-w([0-9]+)$ ]]; then
        n=${BASH_REMATCH[1]}
        C_WEIGHT=${BASH_REMATCH[2]}
    fi
    C_POLICY=$n
    [[ $C_POLICY =~ ^[a-z-]+$ && $C_MAXNS =~ ^[0-9a-z]+$ ]]
}
for c in "${CONFIGS[@]}"; do
    parse_config "$c" ||
        { echo "$BENCH: bad configuration '$c' (POLICY[-wWEIGHT][@MAX_NS])" >&2; exit 2; }
done

# fio's job options of each workload, for NUMJOBS jobs (one connection
# each); the global ones come first on fio's command line (fio_global).
# mixed has its own job count: one back-to-back reader and seven that read
# once every 20 ms (rate_iops=50), in two groups so fio reports them apart.
workload_args() {
    case $1 in
    rr4k-qd1)  echo "--name=$1 --rw=randread --bs=4k --iodepth=1 --numjobs=$2" ;;
    rw4k-qd1)  echo "--name=$1 --rw=randwrite --bs=4k --iodepth=1 --numjobs=$2" ;;
    rr4k-qd16) echo "--name=$1 --rw=randread --bs=4k --iodepth=16 --numjobs=$2" ;;
    sr64k-qd4) echo "--name=$1 --rw=read --bs=64k --iodepth=4 --numjobs=$2" ;;
    mixed)
        echo "--name=busy --rw=randread --bs=4k --iodepth=1 --numjobs=1" \
            "--name=slow --new_group --rw=randread --bs=4k --iodepth=1" \
            "--numjobs=7 --rate_iops=50"
        ;;
    esac
}
# fio_global RUNTIME [RAMP_MS]: the options every job shares.
fio_global() {
    echo "--ioengine=nbd --uri=$SRV_URI --size=$WORKING_SET --time_based" \
        "--runtime=$1 ${2:+--ramp_time=${2}ms} --group_reporting"
}

# The cells of one server, in the order they run: every workload, and for
# every workload but mixed every job count.
CELLS=()
for wl in "${WORKLOADS[@]}"; do
    if [ "$wl" = mixed ]; then
        CELLS+=("mixed:8")
    else
        for nj in "${NUMJOBS[@]}"; do CELLS+=("$wl:$nj"); done
    fi
done

# --- Prerequisites -----------------------------------------------------------

TOP="$(cd "$(dirname "$0")/../.." && pwd)"
POLLTGTD=${POLLTGTD:-$TOP/server/polltgtd}
POLLTGTCTL=${POLLTGTCTL:-$TOP/server/polltgtctl}
REPORT="$(cd "$(dirname "$0")" && pwd)/policy-study-report.py"

# The real interpreter, not a version manager's shim (whose start-up would
# add to every cell), and one that has matplotlib for the plots.
find_python() {
    local p exe
    for p in ${PYTHON:-} python3 /usr/bin/python3; do
        exe=$("$p" -c 'import sys; print(sys.executable)' 2>/dev/null) ||
            continue
        if "$exe" -c 'import matplotlib' 2>/dev/null; then
            echo "$exe"
            return 0
        fi
    done
    return 1
}

need "python3" python3 --version
PY=$(find_python) ||
    need "python3-matplotlib (Debian package python3-matplotlib), for the plots" false
need "taskset (util-linux) to pin server and clients" taskset --version
need "getconf (CLK_TCK)" getconf CLK_TCK
need "fio (package fio)" fio --version
need "fio with the nbd engine (fio --enghelp=nbd; Debian's fio has it)" \
    fio --enghelp=nbd
need "an executable polltgtd at $POLLTGTD (build it, or pass -b)" \
    test -x "$POLLTGTD"
need "an executable polltgtctl at $POLLTGTCTL (build it, or pass -c)" \
    test -x "$POLLTGTCTL"
need "the report script $REPORT" test -r "$REPORT"
need "server CPUs '$SERVER_CPUS' online (taskset -c)" taskset -c "$SERVER_CPUS" true
need "client CPUs '$CLIENT_CPUS' online (taskset -c)" taskset -c "$CLIENT_CPUS" true
[ "$missing" -eq 0 ] || exit 1
IFS=, read -r -a SRV_CPU_LIST <<<"$(taskset -c "$SERVER_CPUS" \
    "$PY" -c 'import os; print(",".join(map(str, sorted(os.sched_getaffinity(0)))))')"
CLI_CPU_LIST=$(taskset -c "$CLIENT_CPUS" \
    "$PY" -c 'import os; print(",".join(map(str, sorted(os.sched_getaffinity(0)))))')
for c in "${SRV_CPU_LIST[@]}"; do
    if in_list "$c" "${CLI_CPU_LIST//,/ }"; then
        echo "$BENCH: server CPUs ($SERVER_CPUS) and client CPUs ($CLIENT_CPUS) overlap" >&2
        exit 1
    fi
done

CLK_TCK=$(getconf CLK_TCK)
OUT=${OUT:-/tmp/policy-study-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SHM=$(mktemp -d /dev/shm/policy-study.XXXXXX)
# Everything this script runs from here on (fio, polltgtctl, the samplers)
# runs on the client CPUs; polltgtd is started with its own mask.
taskset -cp "$CLIENT_CPUS" $$ >/dev/null

# --- Processes we start, and cleanup --------------------------------------

SRV_PID='' SRV_NAME='' SRV_STATUS='' SRV_INI='' SAMPLER_PID=''
# bench-lib's cleanup stops "the idle client" and the server; this script's
# only other process is a sampler.
idle_client_stop() {
    [ -n "$SAMPLER_PID" ] || return 0
    stop_pid "$SAMPLER_PID" 1
    SAMPLER_PID=
}
server_stop() {
    stop_pid "$SRV_PID"
    SRV_PID=
}
bench_traps

ctl() { "$POLLTGTCTL" -s "$SRV_STATUS" -t 5 "$@"; }

# write_ini FILE IOTHREADS PORT STATUS POLICY WEIGHT MAX_NS
write_ini() {
    local f=$1 nt=$2 k
    {
        echo "; policy-study.sh: $nt I/O thread(s) on CPUs ${SRV_CPU_LIST[*]}"
        echo "[server]"
        echo "iothreads = $nt"
        echo "log-level = warn"
        echo "[poll]"
        echo "policy = $5"
        echo "weight = $6"
        echo "max-ns = $7"
        for ((k = 0; k < nt; k++)); do
            echo "[iothread $k]"
            echo "cpu = ${SRV_CPU_LIST[$((k % ${#SRV_CPU_LIST[@]}))]}"
        done
        echo "[nbd]"
        echo "listen = 127.0.0.1:$3"
        echo "; room for slow clients during the handshake"
        echo "handshake-timeout = 60s"
        echo "[status]"
        echo "socket = $4"
        echo "[export disk0]"
        echo "backend = memory"
        echo "size = $EXPORT_SIZE"
    } >"$f"
}

# server_start IOTHREADS DIR: one polltgtd pinned to the server CPUs, with
# the first configuration; waits until it serves.
server_start() {
    local nt=$1 dir=$2 port
    mkdir -p "$dir"
    port=$(free_port)
    SRV_NAME="polltgtd-it$nt"
    SRV_STATUS="$SHM/it$nt.status"
    SRV_INI="$dir/polltgt.ini"
    SRV_URI="nbd://127.0.0.1:$port/disk0"
    SRV_PORT=$port
    parse_config "${CONFIGS[0]}"
    write_ini "$SRV_INI" "$nt" "$port" "$SRV_STATUS" "$C_POLICY" "$C_WEIGHT" \
        "$C_MAXNS"
    taskset -c "$SERVER_CPUS" "$POLLTGTD" --foreground --exit-with-parent \
        -c "$SRV_INI" 2>>"$dir/server.log" &
    SRV_PID=$!
    wait_listening tcp "$port" "$dir/server.log" &&
        wait_listening unix "$SRV_STATUS" "$dir/server.log"
}

# set_config NAME: switch the running server to configuration NAME, live.
# polltgtctl set first; a value set refuses but the file accepts (max-ns
# auto while only the file knows it) goes through the file and a reload.
SET_NOTES=''
set_config() {
    local n=$1 err
    parse_config "$n"
    if err=$({ ctl set all policy "$C_POLICY" && ctl set all weight "$C_WEIGHT" &&
        ctl set all max-ns "$C_MAXNS"; } 2>&1 >/dev/null); then
        return 0
    fi
    write_ini "$SRV_INI" "${SRV_NAME#polltgtd-it}" "$SRV_PORT" "$SRV_STATUS" \
        "$C_POLICY" "$C_WEIGHT" "$C_MAXNS"
    if ctl reload >/dev/null 2>>"$OUT/bench.log"; then
        case $SET_NOTES in
        *"[$n]"*) ;;
        *) SET_NOTES+="[$n] polltgtctl set refused it ($err); applied by reload instead. "
           log "$n: set refused ($err); using reload" ;;
        esac
        return 0
    fi
    log "$n: neither polltgtctl set nor reload accepted it: $err"
    return 1
}

# sampler CPUFILE MIDFILE MID_USEC: until the flag file goes, the server's
# CPU ticks every 50 ms with the time, and one status-socket reading at
# MID_USEC (microseconds since the epoch).  Its own cost lands on the client
# CPU; only the one mid-run reading costs the server anything.
sampler() {
    local f=$1 midf=$2 mid=$3 stat now done_mid=0
    while [ -e "$SHM/sampling" ]; do
        read -r stat <"/proc/$SRV_PID/stat" || break
        now=$EPOCHREALTIME
        stat=${stat##*) }
        # shellcheck disable=SC2086
        set -- $stat
        echo "$now $((${12} + ${13}))"
        if [ "$done_mid" -eq 0 ] && [ "${now%.*}${now#*.}" -ge "$mid" ]; then
            ctl iothreads --json >"$midf" 2>/dev/null || true
            done_mid=1
        fi
        sleep 0.05
    done >"$f"
}

# trace_sampler FILE: the I/O threads' part of the status document every
# 100 ms, one JSON document a line, until the flag file goes.
trace_sampler() {
    while [ -e "$SHM/sampling" ]; do
        ctl iothreads --json || true
        sleep 0.1
    done >"$1" 2>/dev/null
}

# sampler_stop: end the sampler we started, by its PID (its last sleep, at
# most 100 ms, ends by itself).
sampler_stop() {
    rm -f "$SHM/sampling"
    [ -n "$SAMPLER_PID" ] || return 0
    kill -TERM "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    SAMPLER_PID=
}

# clog MESSAGE: log() without its two forks, for the line of every cell.
clog() {
    local l
    printf -v l '%(%H:%M:%S)T %s' -1 "$*"
    echo "$l" >>"$OUT/bench.log"
    echo "$l" >&2
}

usec_now() { local t=$EPOCHREALTIME; echo "${t%.*}${t#*.}"; }

# run_cell DIR WORKLOAD NUMJOBS: one fio run against the running server,
# with its raw files in DIR.
run_cell() {
    local dir=$1 wl=$2 nj=$3 t0 t1 w0 w1 rc=0 mid
    mkdir -p "$dir"
    ctl stats --json >"$dir/stats-before.json" 2>>"$dir/fio.log" || true
    # The mid-run reading: halfway through fio's measured interval (fio
    # takes some 0.1 s to start its jobs).
    mid=$(($(usec_now) + 100000 + RAMP_MS * 1000 + RUNTIME * 500000))
    : >"$SHM/sampling"
    sampler "$dir/cpu.samples" "$dir/stats-mid.json" "$mid" &
    SAMPLER_PID=$!
    t0=$(cpu_ticks "$SRV_PID")
    w0=$EPOCHREALTIME
    # shellcheck disable=SC2046
    timeout $((RUNTIME + RAMP_MS / 1000 + 60)) fio \
        $(fio_global "$RUNTIME" "$RAMP_MS") $(workload_args "$wl" "$nj") \
        --output-format=json --output="$dir/fio.json" >>"$dir/fio.log" 2>&1 ||
        rc=$?
    w1=$EPOCHREALTIME
    t1=$(cpu_ticks "$SRV_PID" 2>/dev/null || echo -1)
    sampler_stop
    ctl stats --json >"$dir/stats-after.json" 2>>"$dir/fio.log" || true
    printf '%s\n' "rep=$REP" "iothreads=$IT" "workload=$wl" "numjobs=$nj" \
        "config=$CFG" "policy=$C_POLICY" "weight=$C_WEIGHT" "max_ns=$C_MAXNS" \
        "client_status=$rc" "ticks_before=$t0" "ticks_after=$t1" \
        "wall_before=$w0" "wall_after=$w1" "clk_tck=$CLK_TCK" \
        "runtime_s=$RUNTIME" "ramp_ms=$RAMP_MS" "server_pid=$SRV_PID" \
        >"$dir/meta.txt"
    return "$rc"
}

# run_trace DIR: the mixed load once more, not measured, with the window
# sampled every 100 ms.
run_trace() {
    local dir=$1 rc=0
    mkdir -p "$dir"
    : >"$SHM/sampling"
    trace_sampler "$dir/trace.jsonl" &
    SAMPLER_PID=$!
    # shellcheck disable=SC2046
    timeout $((TRACE_S + 60)) fio $(fio_global "$TRACE_S") \
        $(workload_args mixed 8) --output-format=json --output="$dir/fio.json" \
        >>"$dir/fio.log" 2>&1 || rc=$?
    sleep 0.2
    sampler_stop
    printf '%s\n' "iothreads=$IT" "config=$CFG" "policy=$C_POLICY" \
        "weight=$C_WEIGHT" "max_ns=$C_MAXNS" "client_status=$rc" \
        "trace_s=$TRACE_S" >"$dir/meta.txt"
}

# prefill: write the working set once so reads hit allocated chunks (a
# sparse RAM disk reads holes faster than data).  Not measured.
prefill() {
    timeout 120 fio --name=prefill --ioengine=nbd --uri="$SRV_URI" \
        --rw=write --bs=1M --iodepth=8 --size="$WORKING_SET" \
        --output="$1/prefill.log" >/dev/null 2>&1
}

# --- Which configurations polltgtd accepts -----------------------------------

# Every configuration is checked with polltgtd --check-config first, so one
# this polltgtd does not know yet (max-ns = auto, before it lands) is
# skipped with a note instead of failing its server.
printf 'config\tpolicy\tweight\tmax_ns\tstatus\tnote\n' >"$OUT/configs.tsv"
RUN_CONFIGS=() SKIPPED=()
for c in "${CONFIGS[@]}"; do
    parse_config "$c"
    write_ini "$SHM/check.ini" 1 10809 "$SHM/check.status" "$C_POLICY" \
        "$C_WEIGHT" "$C_MAXNS"
    if msg=$("$POLLTGTD" --check-config -c "$SHM/check.ini" 2>&1); then
        RUN_CONFIGS+=("$c")
        printf '%s\t%s\t%s\t%s\tok\t\n' "$c" "$C_POLICY" "$C_WEIGHT" "$C_MAXNS" \
            >>"$OUT/configs.tsv"
    else
        msg=$(echo "$msg" | head -1)
        msg=${msg#"$SHM/check.ini:"}
        SKIPPED+=("$c")
        printf '%s\t%s\t%s\t%s\tskipped\tpolltgtd --check-config rejects it: %s\n' \
            "$c" "$C_POLICY" "$C_WEIGHT" "$C_MAXNS" "$msg" >>"$OUT/configs.tsv"
        echo "$BENCH: skipping configuration $c: polltgtd rejects it ($msg)" >&2
    fi
done
[ ${#RUN_CONFIGS[@]} -gt 0 ] || { echo "$BENCH: no configuration to run" >&2; exit 1; }
CONFIGS=("${RUN_CONFIGS[@]}")
NCONF=${#CONFIGS[@]}

# --- The run -----------------------------------------------------------------

# Estimated duration, from what a cell costs on a small machine: the fio
# run itself, ~0.3 s of fio start-up and exit (whatever the run's length),
# ~10 ms per job, and ~0.05 s of this script's own work (switching the
# configuration, the status readings, the sampler); each server start
# with its prefill ~2.5 s.
estimate() {
    "$PY" - "$REPS" "$RUNTIME" "$RAMP_MS" "$TRACE_S" "$NCONF" \
        "${#IOTHREADS[@]}" "${CELLS[@]}" <<'PY'
import sys
reps, rt, ramp, trace, nconf, nit = (float(x) for x in sys.argv[1:7])
cells = [c.split(":") for c in sys.argv[7:]]
per_server = sum(rt + ramp / 1000 + 0.35 + 0.01 * int(nj) for _, nj in cells)
total = reps * nit * (nconf * per_server + 2.5)
if trace > 0:
    total += nit * nconf * (trace + 0.6)
print("%d" % total)
PY
}
EST=$(estimate)
NMEAS=$((REPS * ${#IOTHREADS[@]} * ${#CELLS[@]} * NCONF))

{
    echo "date: $(date -Is)"
    echo "host: $(uname -srm), $(getconf _NPROCESSORS_ONLN) CPUs online"
    grep -m1 'model name' /proc/cpuinfo || true
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "polltgtd: $POLLTGTD ($("$POLLTGTD" --version 2>&1 | head -1))"
    echo "polltgtctl: $POLLTGTCTL"
    fio --version
    echo "python: $PY"
    echo "mode: $([ "$QUICK" -eq 1 ] && echo quick || echo full)"
    echo "reps=$REPS runtime=${RUNTIME}s ramp=${RAMP_MS}ms trace=${TRACE_S}s"
    echo "server-cpus=${SRV_CPU_LIST[*]} client-cpus=$CLI_CPU_LIST transport=tcp 127.0.0.1"
    echo "working-set=$WORKING_SET export-size=$EXPORT_SIZE backend=memory"
    echo "configs: ${CONFIGS[*]}"
    echo "skipped configs: ${SKIPPED[*]:-(none)}"
    echo "workloads: ${WORKLOADS[*]}"
    echo "numjobs: ${NUMJOBS[*]} (mixed: 1 busy + 7 at 50 IOPS)"
    echo "iothreads: ${IOTHREADS[*]}"
    echo "cells per server: ${CELLS[*]}"
    echo "measurements: $NMEAS; estimated duration: $((EST / 60)) min $((EST % 60)) s"
} >"$OUT/environment.txt"
cat "$OUT/environment.txt" >&2
printf '%s\n' "reps=$REPS" "runtime_s=$RUNTIME" "ramp_ms=$RAMP_MS" \
    "trace_s=$TRACE_S" "quick=$QUICK" "baseline=per-handler" \
    "configs=${CONFIGS[*]}" "skipped=${SKIPPED[*]:-}" \
    "workloads=${WORKLOADS[*]}" "numjobs=${NUMJOBS[*]}" \
    "iothreads=${IOTHREADS[*]}" "server_cpus=${SRV_CPU_LIST[*]}" \
    "client_cpus=$CLI_CPU_LIST" "working_set=$WORKING_SET" >"$OUT/study.txt"

START=$SECONDS DONE=0 NIT=${#IOTHREADS[@]}
for ((REP = 1; REP <= REPS; REP++)); do
    for ((ki = 0; ki < NIT; ki++)); do
        IT=${IOTHREADS[$(((ki + REP - 1) % NIT))]}
        sdir="$OUT/servers/rep$REP-it$IT"
        log "rep $REP/$REPS: polltgtd with $IT I/O thread(s)"
        if ! server_start "$IT" "$sdir" || ! prefill "$sdir"; then
            log "  polltgtd with $IT I/O thread(s) did not serve; its cells are missing (see $sdir)"
            server_stop
            DONE=$((DONE + ${#CELLS[@]} * NCONF))
            continue
        fi
        for ((ci = 0; ci < ${#CELLS[@]}; ci++)); do
            wl=${CELLS[$ci]%%:*} nj=${CELLS[$ci]##*:}
            # Rotated by cell and by repetition: every configuration takes
            # every place in the order, and none always follows a workload
            # change.
            for ((k = 0; k < NCONF; k++)); do
                CFG=${CONFIGS[$(((k + ci + REP - 1) % NCONF))]}
                DONE=$((DONE + 1))
                if ! kill -0 "$SRV_PID" 2>/dev/null; then
                    log "  polltgtd died; see $sdir/server.log"
                    break 2
                fi
                set_config "$CFG" || continue
                cdir="$OUT/cells/rep$REP/it$IT/$wl-nj$nj/$CFG"
                rc=0
                run_cell "$cdir" "$wl" "$nj" || rc=$?
                el=$((SECONDS - START))
                clog "  [$DONE/$NMEAS] it$IT $wl nj$nj $CFG" \
                    "$([ "$rc" -eq 0 ] || echo "fio exited $rc, ")elapsed ${el}s of ~${EST}s"
            done
        done
        if [ "$REP" -eq 1 ] && [ "$TRACE_S" -gt 0 ] && in_list mixed "${WORKLOADS[@]}" &&
            kill -0 "$SRV_PID" 2>/dev/null; then
            for CFG in "${CONFIGS[@]}"; do
                set_config "$CFG" || continue
                log "  window trace, mixed load: it$IT $CFG"
                run_trace "$OUT/traces/it$IT/$CFG"
            done
        fi
        server_stop
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/environment.txt"
[ -z "$SET_NOTES" ] || echo "set_notes=$SET_NOTES" >>"$OUT/study.txt"
log "measured in $((SECONDS - START)) s (estimated ${EST} s)"
echo "wall_s=$((SECONDS - START))" >>"$OUT/study.txt"

# --- Report ------------------------------------------------------------------

"$PY" "$REPORT" "$OUT"
echo
echo "report: $OUT/report.md; raw results: $OUT (results.tsv, cells/, traces/, *.png)"
