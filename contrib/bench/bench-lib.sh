# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# bench-lib.sh: the parts nbd-bench.sh and iscsi-bench.sh share.  Sourced,
# never run; bash only.  Not a test: make check never runs either script.
#
# The sourcing script sets BENCH (its name, for messages) before sourcing,
# and then, before calling the functions below that need them:
#   OUT        results directory (absolute)
#   SHM        its private scratch directory on /dev/shm
#   CLK_TCK    getconf CLK_TCK
#   CLIENT_CPU the client's CPU
#   SRV_PID    the PID of the server being measured ('' when none)
#   SRV_NAME   its name; SRV_STATUS its polltgtd status socket, or ''
#   RUN_DIR    the current repetition's directory; REP its number
# and defines these hooks:
#   server_start NAME   start server NAME, set SRV_PID (and SRV_NAME), wait
#                       until it serves; return non-zero if it cannot
#   server_stop         stop the server started last, by its PID only
#   idle_client_start / idle_client_stop
#                       one connected client that does nothing
#   prefill             not measured: make reads hit allocated data
#   run_workload WL     one measurement, through `measure`
# bench_loop then runs every repetition, server and workload, and
# bench_report prints the table.  Everything the scripts start is stopped by
# PID, also on interrupt (bench_traps).

# shellcheck disable=SC2034 # read by the sourcing script
missing=0
# need DESCRIPTION CMD...: CMD must succeed, else name what is missing.
need() {
    local what=$1
    shift
    if ! "$@" >/dev/null 2>&1; then
        echo "$BENCH: missing prerequisite: $what" >&2
        missing=1
    fi
}

# in_list WORD LIST...: WORD is one of LIST.
in_list() {
    local w=$1
    shift
    [[ " $* " == *" $w "* ]]
}

# check_list WHAT ALLOWED_ARRAY_NAME ITEMS...: every item is allowed.
check_list() {
    local what=$1 allowed=$2 x
    shift 2
    local -n _allowed=$allowed
    for x in "$@"; do
        in_list "$x" "${_allowed[@]}" ||
            { echo "$BENCH: unknown $what '$x'" >&2; usage >&2; exit 2; }
    done
}

# check_counts REPS RUNTIME: whole numbers, at least 1.
check_counts() {
    case $1$2 in
    *[!0-9]* | '') echo "$BENCH: -n and -t take whole numbers" >&2; exit 2 ;;
    esac
    if [ "$1" -lt 1 ] || [ "$2" -lt 1 ]; then
        echo "$BENCH: -n and -t must be at least 1" >&2
        exit 2
    fi
}

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$OUT/bench.log" >&2; }

# bench_traps: on exit or interrupt, stop the idle client and the server
# (the script's own hooks, which act on PIDs it recorded) and remove $SHM.
bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    idle_client_stop
    server_stop
    [ -z "${SHM:-}" ] || rm -rf "$SHM"
    exit "$rc"
}
bench_traps() {
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# stop_pid PID [SECONDS]: SIGTERM one process we started, wait for it (5 s
# by default), SIGKILL it if it is still there, and reap it.
stop_pid() {
    local pid=$1 limit=$((${2:-5} * 20)) i
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < limit; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null || true
}

# A free TCP port on loopback (there is a small window before the server
# binds it; fine on a benchmark machine).
free_port() {
    python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# can_connect unix PATH | can_connect tcp PORT: something accepts there.
can_connect() {
    python3 - "$1" "$2" <<'PY' 2>/dev/null
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

# wait_listening KIND ADDR LOG: wait (10 s at most) until SRV_PID accepts
# connections at ADDR; on failure show LOG.
wait_listening() {
    local i
    for ((i = 0; i < 200; i++)); do
        can_connect "$1" "$2" && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$3" >&2
    log "$SRV_NAME did not start"
    return 1
}

# cpu_ticks PID: utime + stime of the whole process (all its threads), in
# clock ticks (fields 14 and 15 of /proc/PID/stat, counted after the ')'
# that ends the command name).
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
    [ -n "${SRV_STATUS:-}" ] && [ -S "$SRV_STATUS" ] || return 0
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
IDLE_SECONDS=3
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

# measure WL KIND RESULT LOG TIMEOUT CMD...: one measurement of the running
# server.  Runs CMD pinned to CLIENT_CPU (stdout and stderr to LOG, killed
# after TIMEOUT s) between two readings of the server's CPU time, collects
# polltgtd's stats, and appends a line to results.tsv.  KIND says how to
# read the client's result from RESULT:
#   fio         fio --output-format=json
#   iscsi-load  contrib/bench/iscsi-load's JSON line
#   iscsi-perf  libiscsi's iscsi-perf ("iops average N"); it reports neither
#               latency nor a count of I/Os: I/Os = IOPS x MEASURE_RUNTIME,
#               MB/s = IOPS x MEASURE_BS, p50 and p99 are NA.
# Sets MEASURE_RC to the client's exit status.
MEASURE_RUNTIME=0 MEASURE_BS=0
measure() {
    local wl=$1 kind=$2 result=$3 clog=$4 limit=$5
    shift 5
    local dir="$RUN_DIR/$SRV_NAME" t0 t1 w0 w1
    MEASURE_RC=0
    thread_ticks "$SRV_PID" >"$dir/$wl.threads-before"
    t0=$(cpu_ticks "$SRV_PID")
    w0=$(date +%s.%N)
    taskset -c "$CLIENT_CPU" timeout "$limit" "$@" >"$clog" 2>&1 ||
        MEASURE_RC=$?
    t1=$(cpu_ticks "$SRV_PID" 2>/dev/null || echo -1)
    w1=$(date +%s.%N)
    thread_ticks "$SRV_PID" >"$dir/$wl.threads-after" 2>/dev/null || true
    status_json "$dir/$wl.server-stats.json"
    python3 - "$kind" "$result" "$MEASURE_RC" "$t0" "$t1" "$w0" "$w1" \
        "$CLK_TCK" "$REP" "$SRV_NAME" "$wl" "$dir/$wl.threads-before" \
        "$dir/$wl.threads-after" "$dir/$wl.server-cpu.json" \
        "$MEASURE_RUNTIME" "$MEASURE_BS" "$BENCH" \
        >>"$OUT/results.tsv" <<'PY'
import json, re, sys
(kind, rf, rc, t0, t1, w0, w1, hz, rep, srv, wl, tb, ta, cpuf,
 runtime, bs, bench) = sys.argv[1:]
rc, t0, t1, hz = int(rc), int(t0), int(t1), int(hz)
w0, w1, runtime, bs = float(w0), float(w1), float(runtime), float(bs)
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
json.dump({"server": srv, "workload": wl, "rep": int(rep), "client": kind,
           "client_status": rc, "clk_tck": hz, "ticks_before": t0,
           "ticks_after": t1, "wall_s": w1 - w0, "server_cpu_s": cpu_s,
           "server_cpu_s_per_thread": per_thread},
          open(cpuf, "w"), indent=1)
na = "\t".join(["NA"] * 6)
try:
    if rc != 0 or cpu_s is None:
        raise ValueError("client exit status %d" % rc)
    if kind == "fio":
        job = json.load(open(rf))["jobs"][0]
        if job["error"] != 0:
            raise ValueError("fio job error %d" % job["error"])
        d = job["read"] if job["read"]["total_ios"] > 0 else job["write"]
        ios = job["read"]["total_ios"] + job["write"]["total_ios"]
        pct = d["clat_ns"]["percentile"]
        iops, bw = d["iops"], d["bw_bytes"]
        p50, p99 = pct["50.000000"] / 1000, pct["99.000000"] / 1000
    elif kind == "iscsi-load":
        line = [l for l in open(rf) if l.startswith("{")][-1]
        d = json.loads(line)
        ios, iops, bw = d["ios"], d["iops"], d["bw_bytes"]
        p50, p99 = d["lat_p50_us"], d["lat_p99_us"]
    elif kind == "iscsi-perf":
        m = re.findall(r"iops average (\d+)", open(rf, errors="replace").read())
        if not m:
            raise ValueError("no 'iops average' in the output")
        iops = float(m[-1])
        ios, bw, p50, p99 = iops * runtime, iops * bs, None, None
    else:
        raise ValueError("unknown client kind " + kind)
    if ios <= 0:
        raise ValueError("no I/O completed")
    f1 = lambda v: "NA" if v is None else "%.1f" % v
    print("\t".join([rep, srv, wl, "%.0f" % iops, "%.1f" % (bw / 1e6),
                     f1(p50), f1(p99), "%.2f" % (cpu_s * 1e6 / ios),
                     "%.1f" % (cpu_s / (w1 - w0) * 100)]))
except Exception as e:
    print("%s: %s %s rep %s: no result (%s)" % (bench, srv, wl, rep, e),
          file=sys.stderr)
    print("\t".join([rep, srv, wl, na, "NA"]))
PY
    [ "$MEASURE_RC" -eq 0 ] ||
        log "$SRV_NAME $wl: client exited $MEASURE_RC (see $clog)"
}

# results_header: start results.tsv and idle.tsv.
results_header() {
    printf 'rep\tserver\tworkload\tiops\tMBps\tp50_us\tp99_us\tcpu_us_per_io\tserver_cpu_pct\n' \
        >"$OUT/results.tsv"
    printf 'server\tno_client_1s\tno_client_9s\tidle_client_0s\tidle_client_8s\n' \
        >"$OUT/idle.tsv"
}

na_row() { # SERVER WORKLOAD
    printf '%s\t%s\t%s\tNA\tNA\tNA\tNA\tNA\tNA\n' "$REP" "$1" "$2" \
        >>"$OUT/results.tsv"
}

# bench_loop IDLE: every repetition; within one, every server in SERVERS (an
# order rotated by one server per repetition), and for each server every
# workload in WORKLOADS.  IDLE=1 measures idle CPU in the first repetition.
# A server listed in SKIP_SERVERS gets NA rows without being started.
bench_loop() {
    local idle=$1 nserv=${#SERVERS[@]} k s wl
    for ((REP = 1; REP <= REPS; REP++)); do
        RUN_DIR="$OUT/rep$REP"
        mkdir -p "$RUN_DIR"
        for ((k = 0; k < nserv; k++)); do
            s=${SERVERS[$(((k + REP - 1) % nserv))]}
            if in_list "$s" ${SKIP_SERVERS[@]+"${SKIP_SERVERS[@]}"}; then
                for wl in "${WORKLOADS[@]}"; do na_row "$s" "$wl"; done
                continue
            fi
            log "rep $REP/$REPS: $s"
            mkdir -p "$RUN_DIR/$s"
            if ! server_start "$s"; then
                for wl in "${WORKLOADS[@]}"; do na_row "$s" "$wl"; done
                server_stop
                continue
            fi
            if [ "$REP" -eq 1 ] && [ "$idle" -eq 1 ]; then
                idle_measure "$s"
            fi
            prefill || log "  $s: prefill failed"
            for wl in "${WORKLOADS[@]}"; do
                if ! kill -0 "$SRV_PID" 2>/dev/null; then
                    log "  $s: server died; see $RUN_DIR/$s/server.log"
                    na_row "$s" "$wl"
                    continue
                fi
                run_workload "$wl"
                log "  $wl: $(tail -1 "$OUT/results.tsv" | cut -f4-9)"
            done
            server_stop
        done
    done
}

# bench_report: the table, from results.tsv and idle.tsv, to stdout and
# summary.txt.  Peers are the servers whose names do not start with
# "polltgt-".  Environment, all optional:
#   REPORT_NOTES   extra lines printed under the title
#   REPORT_IDLE    how the idle client connected (for the idle table)
#   REPORT_TARGETS "WORKLOAD:RATIO[:cpu] ...": per polltgtd policy, check
#                  IOPS >= RATIO x the best peer's (and, with :cpu, less
#                  CPU per I/O than the best peer's)
bench_report() {
    python3 - "$OUT/results.tsv" "$OUT/idle.tsv" "$REPS" "$RUNTIME" \
        "${SERVERS[*]}" "${WORKLOADS[*]}" "$BENCH" "${REPORT_NOTES:-}" \
        "${REPORT_IDLE:-}" "${REPORT_TARGETS:-}" <<'PY' | tee "$OUT/summary.txt"
import csv, statistics, sys
(res, idle, reps, runtime, servers, workloads, bench, notes, idle_client,
 targets) = sys.argv[1:]
servers, workloads = servers.split(), workloads.split()
peers = [s for s in servers if not s.startswith("polltgt-")]
rows = list(csv.DictReader(open(res), delimiter="\t"))
wlw = max([11] + [len(w) + 1 for w in workloads])
sw = max([20] + [len(s) + 1 for s in servers])

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

print("%s: medians over %s repetition(s) of %s s, [min-max]" % (bench, reps, runtime))
print("CPU us/IO: server CPU time (user+sys, all threads) per completed I/O")
if notes:
    print(notes)
print()
fmt = "%%-%ds %%-%ds %%-26s %%-22s %%-22s %%-24s %%-22s" % (wlw, sw)
hdr = fmt % ("workload", "server", "IOPS", "MB/s", "p50 us", "p99 us",
             "CPU us/IO")
print(hdr)
print("-" * len(hdr))
for wl in workloads:
    for s in servers:
        print(fmt % (
            wl, s, cell(vals(s, wl, "iops"), "%.0f"),
            cell(vals(s, wl, "MBps"), "%.1f"),
            cell(vals(s, wl, "p50_us"), "%.1f"),
            cell(vals(s, wl, "p99_us"), "%.1f"),
            cell(vals(s, wl, "cpu_us_per_io"), "%.2f")))
    print()

def best_of(wl, m, better):
    cand = [(med(vals(p, wl, m)), p) for p in peers if vals(p, wl, m)]
    return better(cand) if cand else (None, None)

mine_servers = [s for s in servers if s.startswith("polltgt-")]
if peers and mine_servers:
    print("Ratios of each polltgtd policy to the best peer (%s) per workload:"
          % ", ".join(peers))
    print("IOPS x >1 is better; p50, p99 and CPU/IO x <1 are better; "
          "(peer) names the best peer for that column")
    fmt = "%%-%ds %%-%ds %%-18s %%-18s %%-18s %%-18s" % (wlw, sw)
    hdr = fmt % ("workload", "server", "IOPS x", "p50 x", "p99 x", "CPU/IO x")
    print(hdr)
    print("-" * len(hdr))
    for wl in workloads:
        best = {}
        for m, better in (("iops", max), ("p50_us", min), ("p99_us", min),
                          ("cpu_us_per_io", min)):
            best[m] = best_of(wl, m, better)
        for s in mine_servers:
            cols = []
            for m in ("iops", "p50_us", "p99_us", "cpu_us_per_io"):
                mine, (ref, who) = med(vals(s, wl, m)), best[m]
                if mine is None or not ref:
                    cols.append("NA")
                else:
                    cols.append("%.2f (%s)" % (mine / ref, who))
            print(fmt % (wl, s, *cols))
        print()

checks = []
for t in targets.split():
    parts = t.split(":")
    if parts[0] in workloads:
        checks.append((parts[0], float(parts[1]), "cpu" in parts[2:]))
if peers and mine_servers and checks:
    print("Targets (medians; best peer per column):")
    for wl, ratio, cpu in checks:
        ref, who = best_of(wl, "iops", max)
        cref, cwho = best_of(wl, "cpu_us_per_io", min)
        want = "IOPS >= %.2fx %s" % (ratio, who or "NA")
        if cpu:
            want += ", CPU/IO < %s" % (cwho or "NA")
        print("  %s: %s" % (wl, want))
        for s in mine_servers:
            iops, c = med(vals(s, wl, "iops")), med(vals(s, wl, "cpu_us_per_io"))
            if iops is None or not ref:
                print("    %-22s NA" % s)
                continue
            ok = iops >= ratio * ref
            txt = "IOPS %.2fx" % (iops / ref)
            if cpu:
                if c is None or not cref:
                    ok, txt = False, txt + ", CPU/IO NA"
                else:
                    ok = ok and c < cref
                    txt += ", CPU/IO %.2fx" % (c / cref)
            print("    %-22s %-8s %s" % (s, "meets" if ok else "MISSES", txt))
    print()

irows = list(csv.DictReader(open(idle), delimiter="\t"))
if not irows:
    sys.exit(0)
print("Idle server CPU, % of one CPU over 3 s (first repetition only):")
print("  no client: from 1 s and from 9 s after start (poll-set idle timeout 7 s);")
print("  one idle connected client (%s): from 0.5 s and 8.5 s"
      % (idle_client or "connected, no I/O"))
print("%-20s %12s %12s %14s %14s" % ("server", "none @1s", "none @9s",
                                     "client @0.5s", "client @8.5s"))
for r in irows:
    print("%-20s %12s %12s %14s %14s" % (r["server"], r["no_client_1s"],
          r["no_client_9s"], r["idle_client_0s"], r["idle_client_8s"]))
PY
}
