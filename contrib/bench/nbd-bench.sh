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
# timeout) is measured per server in the first repetition.  The helpers
# it shares with iscsi-bench.sh are in bench-lib.sh.
#
# TLS: the servers polltgt-tls and nbdkit-tls serve with TLS required
# (X.509, a CA and server certificate made with certtool for this run) and
# fio's nbd engine connects with an nbds:// URI.  fio does not let libnbd
# read local files named in a URI (tls-certificates=, tls-psk-file= need
# nbd_set_uri_allow_local_file), so fio runs with HOME pointing at a
# directory whose .pki/libnbd/ca-cert.pem is the CA: libnbd's default
# place.  PSK cannot be passed that way, so there is no PSK variant.  They
# are not in the default list: name them with -s, next to their plaintext
# counterparts, e.g.
#   -s polltgt-weighted,polltgt-tls,nbdkit,nbdkit-tls -w rr4k-qd1,sr128k-qd8
# (the ratio table then compares each polltgt server with the best of all
# peers, so read TLS against TLS in the main table).
#
# Ceph RBD: polltgt-rbd (backend = rbd) and qemu-nbd-rbd (qemu-nbd on an
# rbd: image) serve the same existing image of a running cluster, named by
# RBD_CONF (its ceph.conf) and RBD_IMAGE (POOL/IMAGE, at least
# WORKING_SET).  Not in the default list either: name them with -s, e.g.
#   RBD_CONF=/etc/ceph/ceph.conf RBD_IMAGE=rbd/bench \
#   contrib/bench/nbd-bench.sh -s polltgt-rbd,qemu-nbd-rbd -I
# They measure the cluster as much as the servers: compare them with each
# other only.
#
# Usage: contrib/bench/nbd-bench.sh [-q] [-n REPS] [-t SECONDS] [-o DIR]
#            [-b POLLTGTD] [-s SERVERS] [-w WORKLOADS] [-S CPU] [-C CPU] [-T] [-I]
# See contrib/bench/README.md.

set -eu -o pipefail

BENCH=nbd-bench
# shellcheck source=contrib/bench/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"

usage() {
    cat <<'EOF'
usage: nbd-bench.sh [options]
  -n REPS       repetitions of every measurement (default 3)
  -t SECONDS    fio runtime of each measurement (default 10)
  -q            quick smoke run: 1 repetition of 3 s (an explicit -n/-t wins)
  -o DIR        results directory (default /tmp/nbd-bench-DATE)
  -b PATH       the polltgtd binary (default: server/polltgtd of this tree)
  -s LIST       servers, comma-separated (default: all but the TLS ones):
                polltgt-off,polltgt-classic,polltgt-per-handler,
                polltgt-weighted,polltgt-busy,nbdkit,qemu-nbd,
                and with TLS required: polltgt-tls,nbdkit-tls,
                and on Ceph (RBD_CONF, RBD_IMAGE): polltgt-rbd,qemu-nbd-rbd
  -w LIST       workloads, comma-separated (default: all):
                rr4k-qd1,rw4k-qd1,rr4k-qd16,rr4k-4conn,sr128k-qd8,sw128k-qd8
  -S CPU        the server's CPU (default 0)
  -C CPU        fio's CPU (default 1)
  -T            use TCP on 127.0.0.1 instead of Unix sockets
  -I            skip the idle-CPU measurement (about 25 s per server)
Environment: QEMU_NBD_ARGS (default "--aio=io_uring"), NBDKIT_ARGS
(default empty), WORKING_SET (default 256M), EXPORT_SIZE (default 1G),
TLS_POLICY (the poll policy of polltgt-tls*, default weighted), RBD_CONF,
RBD_IMAGE (the rbd servers' ceph.conf and POOL/IMAGE; RBD_POLICY, default
weighted, is polltgt-rbd's poll policy).
EOF
}

# --- Options ---------------------------------------------------------------

REPS='' RUNTIME='' QUICK=0 OUT='' POLLTGTD=${POLLTGTD:-} TRANSPORT=unix
SERVER_CPU=0 CLIENT_CPU=1 IDLE=1
ALL_SERVERS=(polltgt-off polltgt-classic polltgt-per-handler polltgt-weighted
    polltgt-busy nbdkit qemu-nbd)
TLS_SERVERS=(polltgt-tls nbdkit-tls)
RBD_SERVERS=(polltgt-rbd qemu-nbd-rbd)
KNOWN_SERVERS=("${ALL_SERVERS[@]}" "${TLS_SERVERS[@]}" "${RBD_SERVERS[@]}")
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
TLS_POLICY=${TLS_POLICY:-weighted}
RBD_CONF=${RBD_CONF:-} RBD_IMAGE=${RBD_IMAGE:-rbd/bench}
RBD_POLICY=${RBD_POLICY:-weighted}
check_counts "$REPS" "$RUNTIME"
check_list server KNOWN_SERVERS "${SERVERS[@]}"
check_list workload ALL_WORKLOADS "${WORKLOADS[@]}"

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
if [[ " ${SERVERS[*]} " == *-tls* ]]; then
    need "certtool (package gnutls-bin), for the TLS servers" \
        certtool --version
fi
if wants_server qemu-nbd; then
    need "qemu-nbd (package qemu-utils)" qemu-nbd --version
    need "a writable /dev/shm for qemu-nbd's image" test -w /dev/shm
fi
if [[ " ${SERVERS[*]} " == *-rbd* ]]; then
    need "RBD_CONF, a readable ceph.conf of the cluster of RBD_IMAGE" \
        test -r "$RBD_CONF"
    need "the image RBD_IMAGE=$RBD_IMAGE (rbd create --size 1G $RBD_IMAGE)" \
        rbd -c "$RBD_CONF" info "$RBD_IMAGE"
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

# make_tls_creds DIR: a CA, a server certificate for localhost and
# 127.0.0.1 (DIR/server, the layout polltgtd, nbdkit and qemu read) and
# the client's view (DIR/client: the CA only; DIR/home/.pki/libnbd, the
# same for fio's libnbd through HOME).
make_tls_creds() {
    local d=$1
    mkdir -p "$d/server" "$d/client" "$d/home/.pki/libnbd"
    printf 'cn = nbd-bench CA\nca\ncert_signing_key\nexpiration_days = 7\n' \
        >"$d/ca.info"
    printf '%s\n' 'cn = localhost' 'dns_name = localhost' \
        'ip_address = 127.0.0.1' tls_www_server encryption_key signing_key \
        'expiration_days = 7' >"$d/server.info"
    certtool --generate-privkey --outfile "$d/ca-key.pem" 2>/dev/null &&
    certtool --generate-self-signed --load-privkey "$d/ca-key.pem" \
        --template "$d/ca.info" --outfile "$d/server/ca-cert.pem" 2>/dev/null &&
    certtool --generate-privkey --outfile "$d/server/server-key.pem" 2>/dev/null &&
    certtool --generate-certificate --load-privkey "$d/server/server-key.pem" \
        --load-ca-certificate "$d/server/ca-cert.pem" \
        --load-ca-privkey "$d/ca-key.pem" --template "$d/server.info" \
        --outfile "$d/server/server-cert.pem" 2>/dev/null &&
    cp "$d/server/ca-cert.pem" "$d/client/" &&
    cp "$d/server/ca-cert.pem" "$d/home/.pki/libnbd/"
} >/dev/null
# How fio is started: with HOME at the libnbd CA for the TLS servers.
FIO_ENV=(env)
TLS_DIR="$SHM/tls"
if [[ " ${SERVERS[*]} " == *-tls* ]]; then
    make_tls_creds "$TLS_DIR" ||
        { echo "nbd-bench: cannot make TLS credentials" >&2; exit 1; }
fi

# --- Processes we start, and cleanup --------------------------------------

SRV_PID='' SRV_NAME='' SRV_STATUS='' IDLE_PID='' IDLE_FD_OPEN=0
bench_traps

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
    # What the idle client (qemu-io) gets: the URI, or for TLS an object
    # and image options (qemu takes no TLS in its NBD URIs).
    SRV_QEMU=(-f raw "$SRV_URI")
    local policy=${name#polltgt-} tls_keys='' qemu_where
    if [ "$TRANSPORT" = unix ]; then
        qemu_where="path=$SRV_ADDR"
    else
        qemu_where="host=localhost,port=$SRV_ADDR"
    fi
    FIO_ENV=(env)
    case $name in
    *-tls)
        if [ "$TRANSPORT" = unix ]; then
            SRV_URI="nbds+unix:///disk0?socket=$SRV_ADDR"
        else
            SRV_URI="nbds://localhost:$SRV_ADDR/disk0"
        fi
        FIO_ENV=(env "HOME=$TLS_DIR/home")
        tls_keys="tls-certificates = $TLS_DIR/server"
        SRV_QEMU=(--object "tls-creds-x509,id=tls0,dir=$TLS_DIR/client,endpoint=client"
            --image-opts "driver=nbd,$qemu_where,export=disk0,tls-creds=tls0,tls-hostname=localhost")
        ;;
    esac
    [ "$name" != polltgt-tls ] || policy=$TLS_POLICY
    [ "$name" != polltgt-rbd ] || policy=$RBD_POLICY
    local disk="backend = memory
size = $EXPORT_SIZE"
    [ "$name" != polltgt-rbd ] || disk="backend = rbd
pool = ${RBD_IMAGE%%/*}
image = ${RBD_IMAGE#*/}
conf = $RBD_CONF"
    SRV_STATUS=
    case $name in
    polltgt-*)
        SRV_STATUS="$SHM/$name.status"
        cat >"$dir/polltgt.ini" <<EOF
; nbd-bench.sh: one I/O thread on CPU $SERVER_CPU, policy $policy.
[server]
iothreads = 1
log-level = warn
[poll]
policy = $policy
${MAX_NS:+max-ns = $MAX_NS}
[iothread 0]
cpu = $SERVER_CPU
[nbd]
listen = $listen
; room for slow or idle clients during the handshake
handshake-timeout = 60s
${tls_keys:+tls = require}
$tls_keys
[status]
socket = $SRV_STATUS
[export disk0]
$disk
EOF
        taskset -c "$SERVER_CPU" "$POLLTGTD" --foreground --exit-with-parent \
            -c "$dir/polltgt.ini" 2>>"$dir/server.log" &
        SRV_PID=$!
        ;;
    nbdkit*)
        local where=(-U "$SRV_ADDR") tls=()
        [ "$TRANSPORT" = unix ] || where=(-i 127.0.0.1 -p "$SRV_ADDR")
        [ "$name" != nbdkit-tls ] ||
            tls=(--tls=require "--tls-certificates=$TLS_DIR/server")
        # shellcheck disable=SC2086
        taskset -c "$SERVER_CPU" nbdkit -f --exit-with-parent "${where[@]}" \
            ${tls[@]+"${tls[@]}"} -e disk0 $NBDKIT_ARGS memory "$EXPORT_SIZE" \
            2>>"$dir/server.log" &
        SRV_PID=$!
        ;;
    qemu-nbd-rbd)
        local where=(-k "$SRV_ADDR")
        [ "$TRANSPORT" = unix ] || where=(-b 127.0.0.1 -p "$SRV_ADDR")
        taskset -c "$SERVER_CPU" qemu-nbd -f raw -x disk0 -t -e 16 \
            "${where[@]}" "rbd:$RBD_IMAGE:conf=$RBD_CONF" \
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
    wait_listening "$TRANSPORT" "$SRV_ADDR" "$dir/server.log"
}

# server_stop: stop the server we started, by PID.
server_stop() {
    stop_pid "$SRV_PID"
    SRV_PID=
    rm -f "$SHM/disk0.raw"
}

# idle_client_start: one client that completes the handshake and then sits
# idle (qemu-io waiting on a FIFO we hold open; it quits when we close it).
idle_client_start() {
    local fifo="$SHM/idle.fifo"
    rm -f "$fifo"
    mkfifo "$fifo"
    qemu-io "${SRV_QEMU[@]}" <"$fifo" >/dev/null 2>&1 &
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

# run_workload WORKLOAD: one measurement; appends a line to results.tsv.
run_workload() {
    local wl=$1 dir="$RUN_DIR/$SRV_NAME"
    # shellcheck disable=SC2046
    measure "$wl" fio "$dir/$wl.fio.json" "$dir/$wl.fio.log" $((RUNTIME + 60)) \
        "${FIO_ENV[@]}" fio --name="$wl" --ioengine=nbd --uri="$SRV_URI" \
        $(workload_args "$wl") --size="$WORKING_SET" \
        --time_based --runtime="$RUNTIME" --group_reporting \
        --output-format=json --output="$dir/$wl.fio.json"
}

# prefill: write the working set once so reads hit allocated data on every
# server (a sparse RAM disk reads holes faster than data).  Not measured.
prefill() {
    taskset -c "$CLIENT_CPU" timeout 120 "${FIO_ENV[@]}" fio --name=prefill --ioengine=nbd \
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
results_header
bench_loop "$IDLE"

# --- Report ------------------------------------------------------------------

REPORT_IDLE="qemu-io, handshake done" bench_report
echo
echo "raw results: $OUT (results.tsv, idle.tsv, rep*/SERVER/*.fio.json," \
    "*.server-cpu.json, *.server-stats.json)"
