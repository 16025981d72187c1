#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# nbd-bench.sh: polltgtd under each poll policy against nbdkit (memory
# plugin) and qemu-nbd (raw file on /dev/shm), measured in one run with
# fio's nbd engine.  Not a test: make check never runs it.
#
# The server runs on one CPU and fio on another (taskset), so the server's
# polling cannot steal the client's CPU and its CPU time is its own.  For
# each server and workload it records IOPS (and MB/s), the p50/p99
# completion latency from fio's JSON, and the server's CPU time per I/O
# from /proc/PID/stat (utime + stime, before and after the run).  Each
# measurement is repeated; within a repetition the servers take turns, in
# an order rotated from one repetition to the next, so slow drift of the
# machine spreads over all of them instead of favouring whoever ran first.
# The report gives medians with min-max spread and, per workload, the ratio
# of each polltgtd policy to the best peer.  Idle CPU (no client, and one
# connected idle client, each before and after the 7 s poll-set idle
# timeout) is measured per server in the first repetition.
#
# Usage: contrib/bench/nbd-bench.sh [-q] [-n REPS] [-t SECONDS] [-o DIR]
#            [-b POLLTGTD] [-s SERVERS] [-w WORKLOADS] [-S CPU] [-C CPU] [-T] [-I]
# See contrib/bench/README.md.

set -eu -o pipefail

usage() {
    cat <<'EOF'
usage: nbd-bench.sh [options]
  -n REPS       repetitions of every measurement (default 3)
  -t SECONDS    fio runtime of each measurement (default 10)
  -q            quick smoke run: 1 repetition of 3 s (an explicit -n/-t wins)
  -o DIR        results directory (default /tmp/nbd-bench-DATE)
  -b PATH       the polltgtd binary (default: server/polltgtd of this tree)
  -s LIST       servers, comma-separated (default: all):
                polltgt-off,polltgt-classic,polltgt-per-handler,
                polltgt-weighted,polltgt-busy,nbdkit,qemu-nbd
  -w LIST       workloads, comma-separated (default: all):
                rr4k-qd1,rw4k-qd1,rr4k-qd16,rr4k-4conn,sr128k-qd8,sw128k-qd8
  -S CPU        the server's CPU (default 0)
  -C CPU        fio's CPU (default 1)
  -T            use TCP on 127.0.0.1 instead of Unix sockets
  -I            skip the idle-CPU measurement (about 25 s per server)
Environment: QEMU_NBD_ARGS (default "--aio=io_uring"), NBDKIT_ARGS
(default empty), WORKING_SET (default 256M), EXPORT_SIZE (default 1G).
EOF
}

# --- Options ---------------------------------------------------------------

REPS='' RUNTIME='' QUICK=0 OUT='' POLLTGTD=${POLLTGTD:-} TRANSPORT=unix
SERVER_CPU=0 CLIENT_CPU=1 IDLE=1
ALL_SERVERS=(polltgt-off polltgt-classic polltgt-per-handler polltgt-weighted
    polltgt-busy nbdkit qemu-nbd)
ALL_WORKLOADS=(rr4k-qd1 rw4k-qd1 rr4k-qd16 rr4k-4conn sr128k-qd8 sw128k-qd8)
SERVERS=("${ALL_SERVERS[@]}")
WORKLOADS=("${ALL_WORKLOADS[@]}")
while getopts n:t:qo:b:s:w:S:C:TIh opt; do
    case $opt in
    n) REPS=$OPTARG ;;
    t) RUNTIME=$OPTARG ;;
    q) QUICK=1 ;;
    o) OUT=$OPTARG ;;
    b) POLLTGTD=$OPTARG ;;
    s) IFS=, read -r -a SERVERS <<<"$OPTARG" ;;
    w) IFS=, read -r -a WORKLOADS <<<"$OPTARG" ;;
    S) SERVER_CPU=$OPTARG ;;
    C) CLIENT_CPU=$OPTARG ;;
    T) TRANSPORT=tcp ;;
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
IDLE_SECONDS=3
WORKING_SET=${WORKING_SET:-256M}
EXPORT_SIZE=${EXPORT_SIZE:-1G}
QEMU_NBD_ARGS=${QEMU_NBD_ARGS:---aio=io_uring}
NBDKIT_ARGS=${NBDKIT_ARGS:-}
case $REPS$RUNTIME in
*[!0-9]*) echo "nbd-bench: -n and -t take whole numbers" >&2; exit 2 ;;
esac
if [ "$REPS" -lt 1 ] || [ "$RUNTIME" -lt 1 ]; then
    echo "nbd-bench: -n and -t must be at least 1" >&2
    exit 2
fi
for s in "${SERVERS[@]}"; do
    [[ " ${ALL_SERVERS[*]} " == *" $s "* ]] ||
        { echo "nbd-bench: unknown server '$s'" >&2; usage >&2; exit 2; }
done
for w in "${WORKLOADS[@]}"; do
    [[ " ${ALL_WORKLOADS[*]} " == *" $w "* ]] ||
        { echo "nbd-bench: unknown workload '$w'" >&2; usage >&2; exit 2; }
done

# fio arguments of each workload.
workload_args() {
    case $1 in
    rr4k-qd1)   echo "--rw=randread --bs=4k --iodepth=1 --numjobs=1" ;;
    rw4k-qd1)   echo "--rw=randwrite --bs=4k --iodepth=1 --numjobs=1" ;;
    rr4k-qd16)  echo "--rw=randread --bs=4k --iodepth=16 --numjobs=1" ;;
    rr4k-4conn) echo "--rw=randread --bs=4k --iodepth=1 --numjobs=4" ;;
    sr128k-qd8) echo "--rw=read --bs=128k --iodepth=8 --numjobs=1" ;;
    sw128k-qd8) echo "--rw=write --bs=128k --iodepth=8 --numjobs=1" ;;
    esac
}

# --- Prerequisites -----------------------------------------------------------

missing=0
need() { # DESCRIPTION CMD...
    local what=$1
    shift
    if ! "$@" >/dev/null 2>&1; then
        echo "nbd-bench: missing prerequisite: $what" >&2
        missing=1
    fi
}
wants_server() { [[ " ${SERVERS[*]} " == *" $1"* ]]; }

if [ -z "$POLLTGTD" ]; then
    # This script lives in contrib/bench/ of a build tree (logical path, so a
    # symlinked build mirror finds its own binary).
    POLLTGTD="$(cd "$(dirname "$0")/../.." && pwd)/server/polltgtd"
fi
need "python3 (to read fio's JSON)" python3 --version
need "taskset (util-linux) to pin server and client" taskset --version
need "getconf (CLK_TCK)" getconf CLK_TCK
need "fio (package fio)" fio --version
need "fio with the nbd engine (fio --enghelp=nbd; Debian's fio has it)" \
    fio --enghelp=nbd
need "qemu-io (package qemu-utils), for the idle-client measurement" \
    qemu-io --version
if wants_server polltgt-; then
    need "an executable polltgtd at $POLLTGTD (build it, or pass -b)" \
        test -x "$POLLTGTD"
fi
if wants_server nbdkit; then
    need "nbdkit with its memory plugin (package nbdkit)" \
        nbdkit --dump-plugin memory
fi
if wants_server qemu-nbd; then
    need "qemu-nbd (package qemu-utils)" qemu-nbd --version
    need "a writable /dev/shm for qemu-nbd's image" test -w /dev/shm
fi
for cpu in "$SERVER_CPU" "$CLIENT_CPU"; do
    need "CPU $cpu online (taskset -c $cpu)" taskset -c "$cpu" true
done
[ "$SERVER_CPU" != "$CLIENT_CPU" ] ||
    { echo "nbd-bench: server and client need different CPUs" >&2; missing=1; }
[ "$missing" -eq 0 ] || exit 1

CLK_TCK=$(getconf CLK_TCK)
OUT=${OUT:-/tmp/nbd-bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SHM=$(mktemp -d /dev/shm/nbd-bench.XXXXXX)

# --- Processes we start, and cleanup --------------------------------------

SRV_PID='' SRV_NAME='' IDLE_PID='' IDLE_FD_OPEN=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    idle_client_stop
    server_stop
    rm -rf "$SHM"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/bench.log" >&2; }

# A free TCP port on loopback (there is a small window before the server
# binds it; fine on a benchmark machine).
free_port() {
    python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# can_connect: the server's socket accepts connections.
can_connect() {
    python3 - "$TRANSPORT" "$SRV_ADDR" <<'PY' 2>/dev/null
import socket, sys
kind, addr = sys.argv[1], sys.argv[2]
if kind == "unix":
    s = socket.socket(socket.AF_UNIX)
    s.connect(addr)
else:
    s = socket.create_connection(("127.0.0.1", int(addr)))
s.close()
PY
}

# server_start NAME: start one server pinned to SERVER_CPU; sets SRV_PID,
# SRV_URI and SRV_ADDR, and waits until it accepts connections.
server_start() {
    local name=$1 dir="$RUN_DIR/$1" listen
    mkdir -p "$dir"
    SRV_NAME=$name
    if [ "$TRANSPORT" = unix ]; then
        SRV_ADDR="$SHM/$name.sock"
        rm -f "$SRV_ADDR"
        listen="unix:$SRV_ADDR"
        SRV_URI="nbd+unix:///disk0?socket=$SRV_ADDR"
    else
        SRV_ADDR=$(free_port)
        listen="127.0.0.1:$SRV_ADDR"
        SRV_URI="nbd://127.0.0.1:$SRV_ADDR/disk0"
    fi
    SRV_STATUS=
    case $name in
    polltgt-*)
        SRV_STATUS="$SHM/$name.status"
        cat >"$dir/polltgt.ini" <<EOF
; nbd-bench.sh: one I/O thread on CPU $SERVER_CPU, policy ${name#polltgt-}.
[server]
iothreads = 1
log-level = warn
[poll]
policy = ${name#polltgt-}
[iothread 0]
cpu = $SERVER_CPU
[nbd]
listen = $listen
; room for slow or idle clients during the handshake
handshake-timeout = 60s
[status]
socket = $SRV_STATUS
[export disk0]
backend = memory
size = $EXPORT_SIZE
EOF
        taskset -c "$SERVER_CPU" "$POLLTGTD" --foreground --exit-with-parent \
            -c "$dir/polltgt.ini" 2>>"$dir/server.log" &
        SRV_PID=$!
        ;;
    nbdkit)
        local where=(-U "$SRV_ADDR")
        [ "$TRANSPORT" = unix ] || where=(-i 127.0.0.1 -p "$SRV_ADDR")
        # shellcheck disable=SC2086
        taskset -c "$SERVER_CPU" nbdkit -f --exit-with-parent "${where[@]}" \
            -e disk0 $NBDKIT_ARGS memory "$EXPORT_SIZE" \
            2>>"$dir/server.log" &
        SRV_PID=$!
        ;;
    qemu-nbd)
        local where=(-k "$SRV_ADDR")
        [ "$TRANSPORT" = unix ] || where=(-b 127.0.0.1 -p "$SRV_ADDR")
        rm -f "$SHM/disk0.raw"
        truncate -s "$EXPORT_SIZE" "$SHM/disk0.raw"
        # -t: keep serving after the last client; -e: several clients.
        # shellcheck disable=SC2086
        taskset -c "$SERVER_CPU" qemu-nbd -f raw -x disk0 -t -e 16 \
            "${where[@]}" $QEMU_NBD_ARGS "$SHM/disk0.raw" \
            2>>"$dir/server.log" &
        SRV_PID=$!
        ;;
    esac
    local i
    for ((i = 0; i < 200; i++)); do
        can_connect && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$dir/server.log" >&2
    log "$name did not start"
    return 1
}

# server_stop: SIGTERM the server we started, by PID, and reap it.
server_stop() {
    if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
        kill -TERM "$SRV_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$SRV_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -0 "$SRV_PID" 2>/dev/null && kill -KILL "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null || true
    fi
    SRV_PID=
    rm -f "$SHM/disk0.raw"
}

# idle_client_start: one client that completes the handshake and then sits
# idle (qemu-io waiting on a FIFO we hold open; it quits when we close it).
idle_client_start() {
    local fifo="$SHM/idle.fifo"
    rm -f "$fifo"
    mkfifo "$fifo"
    qemu-io -f raw "$SRV_URI" <"$fifo" >/dev/null 2>&1 &
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
        local i
        for ((i = 0; i < 40; i++)); do
            kill -0 "$IDLE_PID" 2>/dev/null || break
            sleep 0.05
        done
        kill -0 "$IDLE_PID" 2>/dev/null && kill -TERM "$IDLE_PID" 2>/dev/null
        wait "$IDLE_PID" 2>/dev/null || true
        IDLE_PID=
    fi
    rm -f "$SHM/idle.fifo"
}

# cpu_ticks PID: utime + stime of the whole process, in clock ticks (the
# fields after the ')' that ends the command name).
cpu_ticks() {
    local stat
    read -r stat <"/proc/$1/stat" || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo $((${12} + ${13}))
}

# thread_ticks PID: "tid comm ticks" per thread, one a line.
thread_ticks() {
    local t stat comm
    for t in /proc/"$1"/task/*; do
        { read -r stat <"$t/stat" && read -r comm <"$t/comm"; } 2>/dev/null ||
            continue
        stat=${stat##*) }
        # shellcheck disable=SC2086
        set -- $stat
        echo "${t##*/} ${comm// /_} $((${12} + ${13}))"
    done
}

# status_json FILE: the polltgtd status socket's "stats" answer, if any.
status_json() {
    [ -n "$SRV_STATUS" ] && [ -S "$SRV_STATUS" ] || return 0
    python3 - "$SRV_STATUS" "$1" <<'PY' 2>/dev/null || true
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
f = s.makefile("rwb")
f.write(b"stats\n")
f.flush()
head = f.readline().split()
body = f.read(int(head[1]))
if head[0] == b"OK":
    open(sys.argv[2], "wb").write(body)
PY
}

# idle_cpu: the server's CPU use over IDLE_SECONDS, as % of one CPU.
idle_cpu() {
    local t0 t1 w0 w1
    t0=$(cpu_ticks "$SRV_PID")
    w0=$(date +%s.%N)
    sleep "$IDLE_SECONDS"
    t1=$(cpu_ticks "$SRV_PID")
    w1=$(date +%s.%N)
    python3 -c "print('%.2f' % (($t1 - $t0) / $CLK_TCK / ($w1 - $w0) * 100))"
}

# idle_measure NAME: idle CPU of a freshly started server, before any I/O:
# with no client, just after start and again once idle-timeout-ms (7 s by
# default, polltgtd's poll-set idle rule) has passed; then with one
# connected idle client, just after it connected and again 8 s later.
# Appends a line to idle.tsv.
idle_measure() {
    local a b c d t_start
    t_start=$SECONDS
    sleep 1
    a=$(idle_cpu)
    sleep $((9 - (SECONDS - t_start) > 0 ? 9 - (SECONDS - t_start) : 0))
    b=$(idle_cpu)
    idle_client_start
    sleep 0.5
    c=$(idle_cpu)
    sleep 5
    d=$(idle_cpu)
    idle_client_stop
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$a" "$b" "$c" "$d" >>"$OUT/idle.tsv"
    log "  idle CPU %: no client ${a} then ${b}; one idle client ${c} then ${d}"
}

# run_fio WORKLOAD: one measurement; appends a line to results.tsv.
run_fio() {
    local wl=$1 dir="$RUN_DIR/$SRV_NAME" t0 t1 w0 w1 rc=0
    local json="$dir/$wl.fio.json"
    thread_ticks "$SRV_PID" >"$dir/$wl.threads-before"
    t0=$(cpu_ticks "$SRV_PID")
    w0=$(date +%s.%N)
    # shellcheck disable=SC2046
    taskset -c "$CLIENT_CPU" timeout $((RUNTIME + 60)) fio \
        --name="$wl" --ioengine=nbd --uri="$SRV_URI" \
        $(workload_args "$wl") --size="$WORKING_SET" \
        --time_based --runtime="$RUNTIME" --group_reporting \
        --output-format=json --output="$json" >"$dir/$wl.fio.log" 2>&1 ||
        rc=$?
    t1=$(cpu_ticks "$SRV_PID" 2>/dev/null || echo -1)
    w1=$(date +%s.%N)
    thread_ticks "$SRV_PID" >"$dir/$wl.threads-after" 2>/dev/null || true
    status_json "$dir/$wl.server-stats.json"
    python3 - "$json" "$rc" "$t0" "$t1" "$w0" "$w1" "$CLK_TCK" \
        "$REP" "$SRV_NAME" "$wl" "$dir/$wl.threads-before" \
        "$dir/$wl.threads-after" "$dir/$wl.server-cpu.json" \
        >>"$OUT/results.tsv" <<'PY'
import json, sys
(jf, rc, t0, t1, w0, w1, hz, rep, srv, wl, tb, ta, cpuf) = sys.argv[1:]
rc, t0, t1, hz = int(rc), int(t0), int(t1), int(hz)
w0, w1 = float(w0), float(w1)
def threads(f):
    out = {}
    try:
        for line in open(f):
            tid, comm, ticks = line.split()
            out[tid] = (comm, int(ticks))
    except OSError:
        pass
    return out
before, after = threads(tb), threads(ta)
per_thread = {"%s/%s" % (c, tid): (t - before.get(tid, (c, 0))[1]) / hz
              for tid, (c, t) in after.items()}
cpu_s = (t1 - t0) / hz if t1 >= 0 else None
json.dump({"server": srv, "workload": wl, "rep": int(rep), "fio_status": rc,
           "clk_tck": hz, "ticks_before": t0, "ticks_after": t1,
           "wall_s": w1 - w0, "server_cpu_s": cpu_s,
           "server_cpu_s_per_thread": per_thread},
          open(cpuf, "w"), indent=1)
na = "\t".join(["NA"] * 6)
try:
    job = json.load(open(jf))["jobs"][0]
    if rc != 0 or job["error"] != 0 or cpu_s is None:
        raise ValueError("fio status %d" % rc)
    d = job["read"] if job["read"]["total_ios"] > 0 else job["write"]
    ios = job["read"]["total_ios"] + job["write"]["total_ios"]
    pct = d["clat_ns"]["percentile"]
    print("\t".join([rep, srv, wl, "%.0f" % d["iops"],
                     "%.1f" % (d["bw_bytes"] / 1e6),
                     "%.1f" % (pct["50.000000"] / 1000),
                     "%.1f" % (pct["99.000000"] / 1000),
                     "%.2f" % (cpu_s * 1e6 / ios),
                     "%.1f" % (cpu_s / (w1 - w0) * 100)]))
except Exception as e:
    print("nbd-bench: %s %s rep %s: no result (%s)" % (srv, wl, rep, e),
          file=sys.stderr)
    print("\t".join([rep, srv, wl, na, "NA"]))
PY
    [ "$rc" -eq 0 ] || log "$SRV_NAME $wl: fio exited $rc (see $dir/$wl.fio.log)"
}

# prefill: write the working set once so reads hit allocated data on every
# server (a sparse RAM disk reads holes faster than data).  Not measured.
prefill() {
    taskset -c "$CLIENT_CPU" timeout 120 fio --name=prefill --ioengine=nbd \
        --uri="$SRV_URI" --rw=write --bs=1M --iodepth=8 \
        --size="$WORKING_SET" --output="$RUN_DIR/$SRV_NAME/prefill.log" \
        >/dev/null 2>&1
}

# --- The run -----------------------------------------------------------------

{
    echo "date: $(date -Is)"
    echo "host: $(uname -srm), $(nproc) CPUs"
    grep -m1 'model name' /proc/cpuinfo || true
    echo "polltgtd: $POLLTGTD"
    "$POLLTGTD" --version 2>&1 | head -1 || true
    nbdkit --version 2>/dev/null | head -1 || true
    qemu-nbd --version 2>/dev/null | head -1 || true
    fio --version
    echo "reps=$REPS runtime=${RUNTIME}s transport=$TRANSPORT" \
        "server-cpu=$SERVER_CPU client-cpu=$CLIENT_CPU" \
        "working-set=$WORKING_SET export-size=$EXPORT_SIZE"
    echo "qemu-nbd args: $QEMU_NBD_ARGS; nbdkit args: ${NBDKIT_ARGS:-(none)}"
    echo "servers: ${SERVERS[*]}"
    echo "workloads: ${WORKLOADS[*]}"
} >"$OUT/environment.txt"
cat "$OUT/environment.txt" >&2
printf 'rep\tserver\tworkload\tiops\tMBps\tp50_us\tp99_us\tcpu_us_per_io\tserver_cpu_pct\n' \
    >"$OUT/results.tsv"
printf 'server\tno_client_1s\tno_client_9s\tidle_client_0s\tidle_client_8s\n' \
    >"$OUT/idle.tsv"

nserv=${#SERVERS[@]}
for ((REP = 1; REP <= REPS; REP++)); do
    RUN_DIR="$OUT/rep$REP"
    mkdir -p "$RUN_DIR"
    for ((k = 0; k < nserv; k++)); do
        # Rotate the order by one server per repetition.
        s=${SERVERS[$(((k + REP - 1) % nserv))]}
        log "rep $REP/$REPS: $s"
        if ! server_start "$s"; then
            for wl in "${WORKLOADS[@]}"; do
                printf '%s\t%s\t%s\tNA\tNA\tNA\tNA\tNA\tNA\n' "$REP" "$s" "$wl" \
                    >>"$OUT/results.tsv"
            done
            server_stop
            continue
        fi
        if [ "$REP" -eq 1 ] && [ "$IDLE" -eq 1 ]; then
            idle_measure "$s"
        fi
        prefill || log "  $s: prefill failed"
        for wl in "${WORKLOADS[@]}"; do
            if ! kill -0 "$SRV_PID" 2>/dev/null; then
                log "  $s: server died; see $RUN_DIR/$s/server.log"
                printf '%s\t%s\t%s\tNA\tNA\tNA\tNA\tNA\tNA\n' "$REP" "$s" "$wl" \
                    >>"$OUT/results.tsv"
                continue
            fi
            run_fio "$wl"
            log "  $wl: $(tail -1 "$OUT/results.tsv" | cut -f4-9)"
        done
        server_stop
    done
done

# --- Report ------------------------------------------------------------------

python3 - "$OUT/results.tsv" "$OUT/idle.tsv" "$REPS" "$RUNTIME" \
    "${SERVERS[*]}" "${WORKLOADS[*]}" <<'PY' | tee "$OUT/summary.txt"
import csv, statistics, sys
res, idle, reps, runtime = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
servers, workloads = sys.argv[5].split(), sys.argv[6].split()
peers = [s for s in servers if not s.startswith("polltgt-")]
rows = list(csv.DictReader(open(res), delimiter="\t"))
metrics = ["iops", "MBps", "p50_us", "p99_us", "cpu_us_per_io"]

def vals(srv, wl, m):
    out = []
    for r in rows:
        if r["server"] == srv and r["workload"] == wl and r[m] != "NA":
            out.append(float(r[m]))
    return out

def med(v):
    return statistics.median(v) if v else None

def cell(v, fmt):
    if not v:
        return "NA"
    if len(v) == 1:
        return fmt % v[0]
    return (fmt + " [" + fmt + "-" + fmt + "]") % (med(v), min(v), max(v))

print("nbd-bench: medians over %s repetition(s) of %s s, [min-max]" % (reps, runtime))
print("CPU us/IO: server CPU time (user+sys, all threads) per completed I/O")
print()
hdr = "%-11s %-20s %-26s %-22s %-22s %-24s %-22s" % (
    "workload", "server", "IOPS", "MB/s", "p50 us", "p99 us", "CPU us/IO")
print(hdr)
print("-" * len(hdr))
for wl in workloads:
    for s in servers:
        print("%-11s %-20s %-26s %-22s %-22s %-24s %-22s" % (
            wl, s, cell(vals(s, wl, "iops"), "%.0f"),
            cell(vals(s, wl, "MBps"), "%.1f"),
            cell(vals(s, wl, "p50_us"), "%.1f"),
            cell(vals(s, wl, "p99_us"), "%.1f"),
            cell(vals(s, wl, "cpu_us_per_io"), "%.2f")))
    print()

if peers:
    print("Ratios of each polltgtd policy to the best peer (%s) per workload:"
          % ", ".join(peers))
    print("IOPS x >1 is better; p50, p99 and CPU/IO x <1 are better; "
          "(peer) names the best peer for that column")
    hdr = "%-11s %-20s %-18s %-18s %-18s %-18s" % (
        "workload", "server", "IOPS x", "p50 x", "p99 x", "CPU/IO x")
    print(hdr)
    print("-" * len(hdr))
    for wl in workloads:
        best = {}
        for m, better in (("iops", max), ("p50_us", min), ("p99_us", min),
                          ("cpu_us_per_io", min)):
            cand = [(med(vals(p, wl, m)), p) for p in peers if vals(p, wl, m)]
            best[m] = better(cand) if cand else (None, None)
        for s in servers:
            if not s.startswith("polltgt-"):
                continue
            cols = []
            for m in ("iops", "p50_us", "p99_us", "cpu_us_per_io"):
                mine, (ref, who) = med(vals(s, wl, m)), best[m]
                if mine is None or not ref:
                    cols.append("NA")
                else:
                    cols.append("%.2f (%s)" % (mine / ref, who))
            print("%-11s %-20s %-18s %-18s %-18s %-18s" % (wl, s, *cols))
        print()

irows = list(csv.DictReader(open(idle), delimiter="\t"))
if not irows:
    sys.exit(0)
print("Idle server CPU, % of one CPU over 3 s (first repetition only):")
print("  no client: from 1 s and from 9 s after start (poll-set idle timeout 7 s);")
print("  one idle connected client (qemu-io, handshake done): from 0.5 s and 8.5 s")
print("%-20s %12s %12s %14s %14s" % ("server", "none @1s", "none @9s",
                                     "client @0.5s", "client @8.5s"))
for r in irows:
    print("%-20s %12s %12s %14s %14s" % (r["server"], r["no_client_1s"],
          r["no_client_9s"], r["idle_client_0s"], r["idle_client_8s"]))
PY
echo
echo "raw results: $OUT (results.tsv, idle.tsv, rep*/SERVER/*.fio.json," \
    "*.server-cpu.json, *.server-stats.json)"
