#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# iscsi-bench.sh: polltgtd under each poll policy against tgt (tgtd, with
# the rdwr and the aio backing store), over iSCSI on loopback, measured in
# one run with libiscsi clients.  Not a test: make check never runs it.
#
# Same method as nbd-bench.sh (helpers in bench-lib.sh): the server on one
# CPU, the client on another (taskset); IOPS, MB/s, p50/p99 latency where
# the client reports it, and the server's CPU time per I/O from
# /proc/PID/stat (utime + stime of all its threads, before and after each
# run); every measurement repeated, the servers taking turns in an order
# rotated per repetition; medians with min-max spread and, per workload, the
# ratio of each polltgtd policy to the best tgt configuration.
#
# Clients: reads go through libiscsi's iscsi-perf (the tool the iSCSI
# issue's reference figures come from; it only reads, and reports only
# IOPS), or with -c load through contrib/bench/iscsi-load; writes always go
# through iscsi-load (Debian's fio has no libiscsi engine).  iscsi-load
# reports p50/p99 latency too.
#
# Usage: contrib/bench/iscsi-bench.sh [-q] [-n REPS] [-t SECONDS] [-o DIR]
#            [-b POLLTGTD] [-l ISCSI_LOAD] [-c perf|load] [-s SERVERS]
#            [-w WORKLOADS] [-S CPU] [-C CPU] [-I]
# See contrib/bench/README.md.

set -eu -o pipefail

BENCH=iscsi-bench
# shellcheck source=contrib/bench/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"

usage() {
    cat <<'EOF'
usage: iscsi-bench.sh [options]
  -n REPS       repetitions of every measurement (default 3)
  -t SECONDS    client runtime of each measurement (default 10)
  -q            quick smoke run: 1 repetition of 3 s (an explicit -n/-t wins)
  -o DIR        results directory (default /tmp/iscsi-bench-DATE)
  -b PATH       the polltgtd binary (default: server/polltgtd of this tree)
  -l PATH       the iscsi-load client (default: contrib/bench/iscsi-load
                of this tree)
  -c CLIENT     reads through "perf" (libiscsi's iscsi-perf: IOPS only, the
                default) or "load" (iscsi-load: IOPS, p50, p99); writes
                always use iscsi-load
  -s LIST       servers, comma-separated (default: the first seven):
                polltgt-off,polltgt-classic,polltgt-per-handler,
                polltgt-weighted,polltgt-busy,tgt-rdwr,tgt-aio,
                polltgt-mem-off,polltgt-mem-classic,polltgt-mem-per-handler,
                polltgt-mem-weighted,polltgt-mem-busy
  -w LIST       workloads, comma-separated (default: the first four):
                rr4k-qd1,rw4k-qd1,rr4k-qd32,rr128k-qd32,
                sr128k-qd32,rw4k-qd32,sw128k-qd32
  -S CPU        the server's CPU (default 0)
  -C CPU        the client's CPU (default 1)
  -I            skip the idle-CPU measurement (about 25 s per server)
Environment: EXPORT_SIZE (default 1G), TGTD_ARGS (default empty, e.g.
"-t 4" for tgtd's I/O threads).
EOF
}

# --- Options ---------------------------------------------------------------

REPS='' RUNTIME='' QUICK=0 OUT='' POLLTGTD=${POLLTGTD:-}
ISCSI_LOAD=${ISCSI_LOAD:-} CLIENT=perf SERVER_CPU=0 CLIENT_CPU=1 IDLE=1
POLICIES=(off classic per-handler weighted busy)
DEFAULT_SERVERS=(polltgt-off polltgt-classic polltgt-per-handler
    polltgt-weighted polltgt-busy tgt-rdwr tgt-aio)
ALL_SERVERS=("${DEFAULT_SERVERS[@]}")
for p in "${POLICIES[@]}"; do ALL_SERVERS+=("polltgt-mem-$p"); done
DEFAULT_WORKLOADS=(rr4k-qd1 rw4k-qd1 rr4k-qd32 rr128k-qd32)
# shellcheck disable=SC2034 # read by check_list
ALL_WORKLOADS=("${DEFAULT_WORKLOADS[@]}" sr128k-qd32 rw4k-qd32 sw128k-qd32)
SERVERS=("${DEFAULT_SERVERS[@]}")
WORKLOADS=("${DEFAULT_WORKLOADS[@]}")
while getopts n:t:qo:b:l:c:s:w:S:C:Ih opt; do
    case $opt in
    n) REPS=$OPTARG ;;
    t) RUNTIME=$OPTARG ;;
    q) QUICK=1 ;;
    o) OUT=$OPTARG ;;
    b) POLLTGTD=$OPTARG ;;
    l) ISCSI_LOAD=$OPTARG ;;
    c) CLIENT=$OPTARG ;;
    s) IFS=, read -r -a SERVERS <<<"$OPTARG" ;;
    w) IFS=, read -r -a WORKLOADS <<<"$OPTARG" ;;
    S) SERVER_CPU=$OPTARG ;;
    C) CLIENT_CPU=$OPTARG ;;
    I) IDLE=0 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { usage >&2; exit 2; }
if [ "$QUICK" -eq 1 ]; then
    REPS=${REPS:-1} RUNTIME=${RUNTIME:-3}
fi
REPS=${REPS:-3} RUNTIME=${RUNTIME:-10}
EXPORT_SIZE=${EXPORT_SIZE:-1G}
TGTD_ARGS=${TGTD_ARGS:-}
check_counts "$REPS" "$RUNTIME"
check_list server ALL_SERVERS "${SERVERS[@]}"
check_list workload ALL_WORKLOADS "${WORKLOADS[@]}"
case $CLIENT in
perf | load) ;;
*) echo "$BENCH: -c takes perf or load" >&2; exit 2 ;;
esac

# workload WL: sets WL_RW (read|write), WL_RANDOM (1|0), WL_BS, WL_QD.
workload() {
    case $1 in
    rr*) WL_RW=read WL_RANDOM=1 ;;
    sr*) WL_RW=read WL_RANDOM=0 ;;
    rw*) WL_RW=write WL_RANDOM=1 ;;
    sw*) WL_RW=write WL_RANDOM=0 ;;
    esac
    local x=${1:2}
    WL_BS=$((${x%%k-*} * 1024))
    WL_QD=${x##*-qd}
}

# The client of a workload: writes (and every workload with -c load) need
# iscsi-load.
client_of() {
    workload "$1"
    if [ "$WL_RW" = read ] && [ "$CLIENT" = perf ]; then
        echo iscsi-perf
    else
        echo iscsi-load
    fi
}

# --- Prerequisites -----------------------------------------------------------

wants_server() { [[ " ${SERVERS[*]} " == *" $1"* ]]; }

TREE="$(cd "$(dirname "$0")/../.." && pwd)"
POLLTGTD=${POLLTGTD:-$TREE/server/polltgtd}
ISCSI_LOAD=${ISCSI_LOAD:-$TREE/contrib/bench/iscsi-load}
need "python3 (to read the clients' output)" python3 --version
need "taskset (util-linux) to pin server and client" taskset --version
need "getconf (CLK_TCK)" getconf CLK_TCK
need "an executable iscsi-load at $ISCSI_LOAD (make builds it; or pass -l)" \
    test -x "$ISCSI_LOAD"
need "iscsi-readcapacity16 (package libiscsi-bin)" \
    sh -c 'command -v iscsi-readcapacity16'
for wl in "${WORKLOADS[@]}"; do
    if [ "$(client_of "$wl")" = iscsi-perf ]; then
        need "iscsi-perf (package libiscsi-bin), or pass -c load" \
            sh -c 'command -v iscsi-perf'
        break
    fi
done
if wants_server polltgt-; then
    need "an executable polltgtd at $POLLTGTD (build it, or pass -b)" \
        test -x "$POLLTGTD"
fi
need "a writable /dev/shm for the 1 GiB backing file" test -w /dev/shm
for cpu in "$SERVER_CPU" "$CLIENT_CPU"; do
    need "CPU $cpu online (taskset -c $cpu)" taskset -c "$cpu" true
done
[ "$SERVER_CPU" != "$CLIENT_CPU" ] ||
    { echo "$BENCH: server and client need different CPUs" >&2; missing=1; }
[ "$missing" -eq 0 ] || exit 1

# tgt is optional: without it (or without root, which tgtd needs for
# /var/run/tgtd) its rows are NA and say why.
SKIP_SERVERS=() TGT_NOTE=''
if wants_server tgt-; then
    if ! command -v tgtd >/dev/null 2>&1 || ! command -v tgtadm >/dev/null 2>&1; then
        TGT_NOTE="tgt is not installed: its rows are NA. Install it with"
        TGT_NOTE+=" 'apt-get install tgt'; Debian's package also starts a"
        TGT_NOTE+=" tgt service on port 3260 ('systemctl disable --now tgt'"
        TGT_NOTE+=" stops it; this script starts its own tgtd on free ports"
        TGT_NOTE+=" either way)."
    elif [ "$(id -u)" -ne 0 ]; then
        TGT_NOTE="tgtd needs root (its control socket is in /var/run/tgtd):"
        TGT_NOTE+=" tgt rows are NA."
    fi
    if [ -n "$TGT_NOTE" ]; then
        for s in "${SERVERS[@]}"; do
            [[ $s != tgt-* ]] || SKIP_SERVERS+=("$s")
        done
        echo "$BENCH: $TGT_NOTE" >&2
    fi
fi

CLK_TCK=$(getconf CLK_TCK)
OUT=${OUT:-/tmp/iscsi-bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SHM=$(mktemp -d /dev/shm/iscsi-bench.XXXXXX)
IMAGE="$SHM/disk0.img"
INITIATOR=iqn.2026-11.org.polltgt:iscsi-bench

# --- Processes we start, and cleanup --------------------------------------

SRV_PID='' SRV_NAME='' SRV_STATUS='' SRV_KIND='' SRV_CTL='' IDLE_PID=''
IDLE_FD_OPEN=0
bench_traps

# tgtadm_ ARGS...: manage the tgtd we started (control port SRV_CTL).
tgtadm_() { tgtadm -C "$SRV_CTL" --lld iscsi "$@"; }

# server_start NAME: start one server pinned to SERVER_CPU on a free port;
# sets SRV_PID, SRV_URL and SRV_BLOCK (the LUN's block size), and waits
# until an initiator can log in and read the capacity.
server_start() {
    local name=$1 dir="$RUN_DIR/$1" port backend policy iqn
    SRV_NAME=$name SRV_STATUS='' SRV_CTL=''
    port=$(free_port)
    case $name in
    polltgt-*)
        SRV_KIND=polltgt
        policy=${name#polltgt-}
        backend="file"
        if [[ $policy == mem-* ]]; then
            backend=memory policy=${policy#mem-}
        fi
        SRV_STATUS="$SHM/$name.status"
        iqn=iqn.2026-11.org.polltgt:disk0
        {
            echo "; iscsi-bench.sh: one I/O thread on CPU $SERVER_CPU, policy $policy."
            echo "[server]"
            echo "iothreads = 1"
            echo "log-level = warn"
            echo "[poll]"
            echo "policy = $policy"
            [ -z "${MAX_NS:-}" ] || echo "max-ns = $MAX_NS"
            echo "[iothread 0]"
            echo "cpu = $SERVER_CPU"
            echo "[iscsi]"
            echo "listen = 127.0.0.1:$port"
            echo "iqn-prefix = iqn.2026-11.org.polltgt"
            echo "[status]"
            echo "socket = $SRV_STATUS"
            echo "[export disk0]"
            echo "protocols = iscsi"
            if [ "$backend" = file ]; then
                echo "backend = file"
                echo "path = $IMAGE"
            else
                echo "backend = memory"
                echo "size = $EXPORT_SIZE"
            fi
        } >"$dir/polltgt.ini"
        taskset -c "$SERVER_CPU" "$POLLTGTD" --foreground --exit-with-parent \
            -c "$dir/polltgt.ini" 2>>"$dir/server.log" &
        SRV_PID=$!
        SRV_URL="iscsi://127.0.0.1:$port/$iqn/0"
        wait_listening tcp "$port" "$dir/server.log" || return 1
        ;;
    tgt-*)
        SRV_KIND=tgt
        # tgtd's control socket is /var/run/tgtd/socket.CTL (CTL at most
        # 32767): one not in use, apart from a system tgtd (socket.0).
        SRV_CTL=$((20000 + port % 12000))
        while [ -e "/var/run/tgtd/socket.$SRV_CTL" ]; do
            SRV_CTL=$((20000 + (SRV_CTL - 20000 + 1) % 12000))
        done
        iqn=iqn.2026-11.org.polltgt:tgt
        # shellcheck disable=SC2086
        taskset -c "$SERVER_CPU" tgtd -f -C "$SRV_CTL" \
            --iscsi "portal=127.0.0.1:$port" $TGTD_ARGS \
            >>"$dir/server.log" 2>&1 </dev/null &
        SRV_PID=$!
        SRV_URL="iscsi://127.0.0.1:$port/$iqn/1"
        wait_listening tcp "$port" "$dir/server.log" || return 1
        {
            tgtadm_ --mode target --op new --tid 1 --targetname "$iqn" &&
                tgtadm_ --mode logicalunit --op new --tid 1 --lun 1 \
                    --backing-store "$IMAGE" --bstype "${name#tgt-}" &&
                tgtadm_ --mode target --op bind --tid 1 \
                    --initiator-address ALL
        } >>"$dir/server.log" 2>&1 ||
            { log "$name: tgtadm failed (see $dir/server.log)"; return 1; }
        echo "tgtd -f -C $SRV_CTL --iscsi portal=127.0.0.1:$port $TGTD_ARGS;" \
            "LUN 1: --bstype ${name#tgt-} --backing-store $IMAGE" \
            >"$dir/cmdline"
        ;;
    esac
    local i out
    for ((i = 0; i < 50; i++)); do
        if out=$(iscsi-readcapacity16 -i "$INITIATOR" "$SRV_URL" 2>&1); then
            SRV_BLOCK=$(sed -n 's/^LOGICAL BLOCK LENGTH IN BYTES:\([0-9]*\).*/\1/p' <<<"$out")
            [ -n "$SRV_BLOCK" ] && return 0
        fi
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "$out" >>"$dir/server.log"
    log "$name: no login to $SRV_URL (see $dir/server.log)"
    return 1
}

# server_stop: stop the server we started, by PID (tgtd: remove its target
# first and ask it to exit; it leaves its control socket behind).
server_stop() {
    if [ "$SRV_KIND" = tgt ] && [ -n "$SRV_PID" ] &&
        kill -0 "$SRV_PID" 2>/dev/null; then
        tgtadm_ --mode target --op delete --force --tid 1 >/dev/null 2>&1 || true
        tgtadm -C "$SRV_CTL" --mode system --op delete >/dev/null 2>&1 || true
    fi
    # tgtd ignores SIGTERM: after "system delete" it is gone or gets SIGKILL.
    stop_pid "$SRV_PID" 2
    if [ "$SRV_KIND" = tgt ] && [ -n "$SRV_CTL" ]; then
        rm -f "/var/run/tgtd/socket.$SRV_CTL" "/var/run/tgtd/socket.$SRV_CTL.lock"
    fi
    SRV_PID='' SRV_KIND='' SRV_CTL=''
}

# idle_client_start: one initiator that logs in and then stays idle
# (iscsi-load -I, answering NOP-Ins, until the FIFO we hold open closes).
idle_client_start() {
    local fifo="$SHM/idle.fifo"
    rm -f "$fifo"
    mkfifo "$fifo"
    taskset -c "$CLIENT_CPU" "$ISCSI_LOAD" -I -i "$INITIATOR" "$SRV_URL" \
        <"$fifo" >/dev/null 2>&1 &
    IDLE_PID=$!
    exec 7>"$fifo"
    IDLE_FD_OPEN=1
}
idle_client_stop() {
    if [ "$IDLE_FD_OPEN" -eq 1 ]; then
        exec 7>&-
        IDLE_FD_OPEN=0
    fi
    if [ -n "$IDLE_PID" ]; then
        stop_pid "$IDLE_PID" 2
        IDLE_PID=
    fi
    rm -f "$SHM/idle.fifo"
}

# prefill: the file every file-backed server shares was written whole at
# the start; a memory export is written once here so that reads hit
# allocated data (a sparse RAM disk reads holes faster).  Not measured.
prefill() {
    [[ $SRV_NAME == polltgt-mem-* ]] || return 0
    taskset -c "$CLIENT_CPU" timeout 300 "$ISCSI_LOAD" -i "$INITIATOR" \
        -w -1 -s 1M -m 8 -t 240 "$SRV_URL" \
        >"$RUN_DIR/$SRV_NAME/prefill.log" 2>&1
}

# run_workload WORKLOAD: one measurement; appends a line to results.tsv.
run_workload() {
    local wl=$1 dir="$RUN_DIR/$SRV_NAME" client args
    client=$(client_of "$wl")
    workload "$wl"
    if [ $((WL_BS % SRV_BLOCK)) -ne 0 ]; then
        log "  $wl: block size $SRV_BLOCK does not divide $WL_BS"
        na_row "$SRV_NAME" "$wl"
        return
    fi
    if [ "$client" = iscsi-perf ]; then
        args=(-m "$WL_QD" -b $((WL_BS / SRV_BLOCK)) -t "$RUNTIME")
        [ "$WL_RANDOM" -eq 0 ] || args+=(-r)
        MEASURE_RUNTIME=$RUNTIME MEASURE_BS=$WL_BS
        measure "$wl" iscsi-perf "$dir/$wl.iscsi-perf.log" \
            "$dir/$wl.iscsi-perf.log" $((RUNTIME + 60)) \
            iscsi-perf -i "$INITIATOR" "${args[@]}" "$SRV_URL"
    else
        args=(-m "$WL_QD" -s "$WL_BS" -t "$RUNTIME")
        [ "$WL_RANDOM" -eq 0 ] || args+=(-r)
        [ "$WL_RW" = read ] || args+=(-w)
        measure "$wl" iscsi-load "$dir/$wl.iscsi-load.log" \
            "$dir/$wl.iscsi-load.log" $((RUNTIME + 60)) \
            "$ISCSI_LOAD" -i "$INITIATOR" "${args[@]}" "$SRV_URL"
    fi
}

# --- The run -----------------------------------------------------------------

{
    echo "date: $(date -Is)"
    echo "host: $(uname -srm), $(nproc) CPUs"
    grep -m1 'model name' /proc/cpuinfo || true
    echo "load average at start: $(cat /proc/loadavg)"
    echo "polltgtd: $POLLTGTD"
    "$POLLTGTD" --version 2>&1 | head -1 || true
    echo "iscsi-load: $ISCSI_LOAD"
    echo "tgtd: $(tgtd --version 2>/dev/null | head -1 || echo 'not installed')"
    echo "libiscsi-bin (iscsi-perf): $(dpkg-query -W -f '${Version}' libiscsi-bin 2>/dev/null || echo '?')"
    echo "reps=$REPS runtime=${RUNTIME}s server-cpu=$SERVER_CPU" \
        "client-cpu=$CLIENT_CPU export-size=$EXPORT_SIZE read-client=$CLIENT"
    echo "backing file (file-backed polltgtd and tgt): $IMAGE, written once with zeros"
    echo "tgtd args: ${TGTD_ARGS:-(none)}"
    echo "servers: ${SERVERS[*]}"
    echo "workloads: ${WORKLOADS[*]}"
    for wl in "${WORKLOADS[@]}"; do echo "  $wl: $(client_of "$wl")"; done
    [ -z "$TGT_NOTE" ] || echo "note: $TGT_NOTE"
} >"$OUT/environment.txt"
cat "$OUT/environment.txt" >&2

log "writing the $EXPORT_SIZE backing file $IMAGE"
dd if=/dev/zero of="$IMAGE" bs=1M count=$(($(numfmt --from=iec "$EXPORT_SIZE") / 1048576)) \
    status=none
results_header
bench_loop "$IDLE"
echo "load average at end: $(cat /proc/loadavg)" >>"$OUT/environment.txt"

# --- Report ------------------------------------------------------------------

notes="Clients (client on CPU $CLIENT_CPU, server on CPU $SERVER_CPU, one session):"
for wl in "${WORKLOADS[@]}"; do
    case $(client_of "$wl") in
    iscsi-perf) notes+=$'\n'"  $wl: iscsi-perf (reads only; IOPS only, so p50/p99 NA;"
        notes+=" I/Os for CPU/IO = IOPS x runtime)" ;;
    iscsi-load) notes+=$'\n'"  $wl: contrib/bench/iscsi-load (READ/WRITE(16); per-command latency)" ;;
    esac
done
notes+=$'\n'"polltgt-*: file backend on $EXPORT_SIZE in /dev/shm (the same file as tgt);"
notes+=" polltgt-mem-*: memory backend"
[ -z "$TGT_NOTE" ] || notes+=$'\n'"$TGT_NOTE"
REPORT_NOTES=$notes REPORT_IDLE="iscsi-load -I, logged in" \
    REPORT_TARGETS="rr4k-qd1:1.7 rw4k-qd1:1.7 rr4k-qd32:1.2:cpu rr128k-qd32:1.2:cpu sr128k-qd32:1.2:cpu rw4k-qd32:1.2:cpu sw128k-qd32:1.2:cpu" \
    bench_report
echo
echo "raw results: $OUT (results.tsv, idle.tsv, rep*/SERVER/*.iscsi-*.log," \
    "*.server-cpu.json, *.server-stats.json)"
