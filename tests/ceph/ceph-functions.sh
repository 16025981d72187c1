# SPDX-License-Identifier: MIT
# A throwaway single-node Ceph cluster on loopback for the rbd backend's
# tests and benchmark: one ceph-mon with a fresh monmap, one ceph-osd on
# memstore (RAM, saved to its directory on a clean stop, so an OSD
# restart keeps the data), no ceph-mgr (I/O does not need one), auth
# none (or cephx: ceph_start DIR cephx), pools of size 1, everything
# under one directory and every daemon in the foreground of this shell,
# stopped by its PID.
#
# Source after tests/functions.sh (for free_port, wait_for and
# cleanup_fn).  ceph_start sets CEPH_CONF and the daemons' PIDs, and
# registers ceph_stop as a cleanup.

# The Debian packages' programs this needs.
ceph_requires() {
    local p
    for p in ceph-mon ceph-osd ceph rbd monmaptool ceph-authtool; do
        if ! command -v "$p" >/dev/null 2>&1; then
            echo "$0: skipped: '$p' is not installed (contrib/setup.sh" \
                "installs ceph-mon, ceph-osd and ceph-common)" >&2
            exit 77
        fi
    done
}

# ceph_skip WHAT: the cluster cannot start here: say why and skip.
ceph_skip() {
    echo "$0: skipped: the test Ceph cluster did not start: $1" >&2
    ceph_show_logs
    exit 77
}

# ceph_show_logs: the daemons' last words, for a failure message (the
# cluster's directory goes with the test's).
ceph_show_logs() {
    local f
    for f in "$CEPH_DIR"/log/*.log "$CEPH_DIR"/*.out; do
        [ -s "$f" ] || continue
        echo "--- $f (last lines)" >&2
        tail -n 15 "$f" >&2
    done
}

# ceph_wait SECONDS CMD...: retry CMD until it succeeds, for SECONDS of
# wall time (each try of a ceph command takes a fraction of a second).
ceph_wait() {
    local end=$(($(date +%s) + $1))
    shift
    while ! "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.2
    done
}

# ceph_cli ARGS...: the ceph CLI on this cluster, bounded in time.
ceph_cli() { timeout 30 ceph -c "$CEPH_CONF" "$@"; }
rbd_cli() { timeout 60 rbd -c "$CEPH_CONF" "$@"; }

ceph_osd_start() {
    ceph-osd -c "$CEPH_CONF" -i 0 -f >>"$CEPH_DIR/osd.out" 2>&1 &
    ceph_osd_pid=$!
}

# ceph_osd_stop: SIGTERM the OSD and reap it (memstore saves its data).
ceph_osd_stop() {
    if [ -n "${ceph_osd_pid:-}" ] && kill -0 "$ceph_osd_pid" 2>/dev/null; then
        kill -TERM "$ceph_osd_pid"
        wait "$ceph_osd_pid" || true
    fi
    ceph_osd_pid=
}

# ceph_osd_up: the monitors see the OSD up.
ceph_osd_up() { ceph_cli osd stat 2>/dev/null | grep -q ' 1 up'; }

# ceph_osd_restart SECONDS: start the OSD again and wait until it is up;
# an OSD that died in its start-up (refused by the monitor, as Ceph
# sometimes does right after a restart on a loaded host) is started once
# more, up to five times.
ceph_osd_restart() {
    local try
    for try in 1 2 3 4 5; do
        ceph_osd_start
        if ceph_wait "$1" ceph_osd_up_or_dead && ceph_osd_up; then
            return 0
        fi
        ceph_osd_stop
        echo "$0: the OSD did not come back (try $try)" >&2
    done
    return 1
}
ceph_osd_up_or_dead() { ceph_osd_up || ! kill -0 "$ceph_osd_pid" 2>/dev/null; }

ceph_stop() {
    ceph_osd_stop
    if [ -n "${ceph_mon_pid:-}" ] && kill -0 "$ceph_mon_pid" 2>/dev/null; then
        kill -TERM "$ceph_mon_pid"
        wait "$ceph_mon_pid" || true
    fi
    ceph_mon_pid=
}

# _ceph_start_once: one attempt; returns 1 with CEPH_WHY set on failure.
_ceph_start_once() {
    local port fsid uuid
    mkdir -p "$CEPH_DIR/run" "$CEPH_DIR/log" "$CEPH_DIR/mon" "$CEPH_DIR/osd"
    port=$(free_port)
    fsid=$(cat /proc/sys/kernel/random/uuid)
    uuid=$(cat /proc/sys/kernel/random/uuid)
    cat >"$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$port
ms bind msgr2 = false
public addr = 127.0.0.1
auth cluster required = $CEPH_AUTH
auth service required = $CEPH_AUTH
auth client required = $CEPH_AUTH
run dir = $CEPH_DIR/run
admin socket = $CEPH_DIR/run/\$name.asok
log file = $CEPH_DIR/log/\$name.log
pid file = $CEPH_DIR/run/\$name.pid
keyring = $CEPH_DIR/keyring
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
mon allow pool size one = true
mon data avail warn = 1
mon data = $CEPH_DIR/mon
osd data = $CEPH_DIR/osd
osd objectstore = memstore
memstore device bytes = 536870912
osd op num shards = 1
osd op num threads per shard = 1
; the device class is cosmetic here, and its update at start is where a
; restarted OSD was once refused by the monitor ("wrong fsid")
osd class update on start = false
; a clean stop saves memstore's data: the restart tests need it
osd fast shutdown = false
[client]
; several clients at once (polltgtd, rbd, qemu): none takes the socket
admin socket =
CONF
    if [ "$CEPH_AUTH" = cephx ]; then
        # The OSD's own key, in its data directory (made by its --mkfs).
        printf '[osd]\nkeyring = %s\n' "$CEPH_DIR/osd/keyring" >>"$CEPH_CONF"
    fi
    CEPH_WHY="ceph-authtool failed"
    ceph-authtool --create-keyring "$CEPH_DIR/keyring" --gen-key -n mon. \
        --cap mon 'allow *' >"$CEPH_DIR/mkfs.out" 2>&1 || return 1
    if [ "$CEPH_AUTH" = cephx ]; then
        # The CLIs' key, in the monitor's auth database from its mkfs.
        CEPH_WHY="ceph-authtool failed for client.admin"
        ceph-authtool "$CEPH_DIR/keyring" --gen-key -n client.admin \
            --cap mon 'allow *' --cap osd 'allow *' \
            >>"$CEPH_DIR/mkfs.out" 2>&1 || return 1
    fi
    CEPH_WHY="monmaptool failed"
    monmaptool --create --fsid "$fsid" --addv a "[v1:127.0.0.1:$port]" \
        "$CEPH_DIR/monmap" >>"$CEPH_DIR/mkfs.out" 2>&1 || return 1
    CEPH_WHY="ceph-mon --mkfs failed"
    timeout 30 ceph-mon -c "$CEPH_CONF" --mkfs -i a \
        --monmap "$CEPH_DIR/monmap" --keyring "$CEPH_DIR/keyring" \
        >>"$CEPH_DIR/mkfs.out" 2>&1 || return 1
    ceph-mon -c "$CEPH_CONF" -i a -f >>"$CEPH_DIR/mon.out" 2>&1 &
    ceph_mon_pid=$!
    CEPH_WHY="the monitor did not answer on 127.0.0.1:$port"
    ceph_cli osd new "$uuid" >>"$CEPH_DIR/mkfs.out" 2>&1 || return 1
    CEPH_WHY="ceph-osd --mkfs failed"
    if [ "$CEPH_AUTH" = cephx ]; then
        # No key to fetch the monitors' config with yet: skip that.
        timeout 30 ceph-osd -c "$CEPH_CONF" -i 0 --mkfs --mkkey \
            --no-mon-config --osd-uuid "$uuid" \
            >>"$CEPH_DIR/mkfs.out" 2>&1 || return 1
        CEPH_WHY="ceph auth add osd.0 failed"
        ceph_cli auth add osd.0 mon 'allow profile osd' osd 'allow *' \
            -i "$CEPH_DIR/osd/keyring" >>"$CEPH_DIR/mkfs.out" 2>&1 || return 1
    else
        timeout 30 ceph-osd -c "$CEPH_CONF" -i 0 --mkfs --osd-uuid "$uuid" \
            >>"$CEPH_DIR/mkfs.out" 2>&1 || return 1
    fi
    ceph_osd_start
    CEPH_WHY="the OSD did not come up"
    ceph_wait 30 ceph_osd_up || return 1
    CEPH_WHY="cannot create a pool"
    ceph_cli osd pool create rbd 8 >>"$CEPH_DIR/mkfs.out" 2>&1 || return 1
    CEPH_WHY="rbd pool init failed"
    rbd_cli pool init rbd >>"$CEPH_DIR/mkfs.out" 2>&1 || return 1
    if [ "$CEPH_AUTH" = cephx ]; then
        CEPH_WHY="cannot create client.polltgt"
        ceph_cli auth get-or-create client.polltgt mon 'profile rbd' \
            osd 'profile rbd pool=rbd' -o "$CEPH_CLIENT_KEYRING" \
            >>"$CEPH_DIR/mkfs.out" 2>&1 || return 1
    fi
}

# ceph_start DIR [cephx]: a cluster in DIR with a pool "rbd" for images,
# within about a minute; skips the test with what failed if it cannot
# start.  A failed start is tried once more in a clean directory, on a
# new port (once, an OSD was refused by its monitor with "wrong fsid").
# With cephx, every daemon and client must authenticate: the CLIs above
# are client.admin (its key in DIR/keyring, which ceph.conf names), and
# client.polltgt, allowed only RBD on pool rbd, has its key in
# CEPH_CLIENT_KEYRING (DIR/polltgt.keyring) for polltgtd's id and keyring.
ceph_start() {
    CEPH_DIR=$1
    CEPH_AUTH=${2:-none}
    CEPH_CONF=$CEPH_DIR/ceph.conf
    CEPH_CLIENT_KEYRING=$CEPH_DIR/polltgt.keyring
    case $CEPH_AUTH in
    none | cephx) ;;
    *) fail "ceph_start: auth '$CEPH_AUTH' is neither none nor cephx" ;;
    esac
    cleanup_fn ceph_stop
    _ceph_start_once && return 0
    echo "$0: the Ceph cluster did not start ($CEPH_WHY); trying again" >&2
    ceph_stop
    mv "$CEPH_DIR" "$CEPH_DIR.failed"
    _ceph_start_once && return 0
    ceph_skip "$CEPH_WHY"
}
