#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Set up polltgt on Debian 12 from a fresh checkout, then build, and
# optionally run the server or the test suite.
#
#   contrib/setup.sh          install packages, build
#   contrib/setup.sh run      ... then run polltgtd on conf/polltgt.ini (foreground)
#   contrib/setup.sh check    ... then run the whole test suite, plain and
#                                 under ASan/UBSan, and each fuzz harness
#                                 for a few seconds on its corpus
#   contrib/setup.sh fuzz     ... build only the libFuzzer harnesses, in
#                                 build-fuzz/ (contrib/fuzz.sh runs them)
#
# Idempotent: packages already installed are not touched, and the build is
# incremental.  Works as root or through sudo.
set -euo pipefail

cd "$(dirname "$0")/.."
top=$(pwd)
mode=${1:-build}

# Everything the build, the tests and the interop peers need, and the
# benchmarks: python3-matplotlib draws contrib/bench/policy-study.sh's plots;
# clang and its libFuzzer runtime build the fuzz harnesses (tests/fuzz/).
# librbd-dev builds backend = rbd; ceph-mon, ceph-osd and ceph-common run
# the single-node cluster of tests/ceph; qemu-block-extra gives qemu-io and
# qemu-nbd rbd: (and iscsi:) images.
packages=(
    build-essential pkg-config autoconf automake libtool
    liburing-dev libev-dev libinih-dev check libnbd-dev libnbd-bin
    libiscsi-dev libiscsi-bin qemu-utils nbdkit fio
    libgnutls28-dev gnutls-bin
    groff-base man-db python3 binutils
    python3-matplotlib
    librbd-dev librados-dev ceph-mon ceph-osd ceph-common qemu-block-extra
    systemd
    clang libclang-rt-14-dev
)

log() { printf 'setup: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "need root (or sudo) to run: $*"
        exit 1
    fi
}

install_packages() {
    local missing=()
    for p in "${packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "all Debian packages present"
        return
    fi
    log "installing: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# build DIR [configure args...]: an in-tree build of the sources in DIR.
build() {
    local dir=$1
    shift
    if [ ! -x "$dir/configure" ] || [ "$dir/configure.ac" -nt "$dir/configure" ]; then
        log "autoreconf in $dir"
        (cd "$dir" && autoreconf -fi >/dev/null 2>&1) || (cd "$dir" && autoreconf -fi)
    fi
    if [ ! -f "$dir/Makefile" ] || [ "$dir/configure" -nt "$dir/config.status" ]; then
        log "configure in $dir: $*"
        (cd "$dir" && ./configure "$@" >configure.out) || {
            cat "$dir/configure.out" "$dir/config.log" >&2 || true
            exit 1
        }
    fi
    log "make in $dir${make_target:+ ($make_target)}"
    make -C "$dir" -j"$(nproc)" ${make_target:-} >/dev/null
}

# check DIR: run the suite in DIR; print the failing logs and a summary.
run_check() {
    local dir=$1 rc=0
    log "make check in $dir"
    make -C "$dir" -j"$(nproc)" check || rc=$?
    if [ $rc -ne 0 ] && [ -f "$dir/test-suite.log" ]; then
        cat "$dir/test-suite.log" >&2
    fi
    return $rc
}

summary() {
    local pass=0 fail=0 skip=0 f
    for f in "$@"; do
        [ -f "$f" ] || continue
        pass=$((pass + $(sed -n 's/^# PASS: *//p' "$f" | head -1)))
        fail=$((fail + $(sed -n 's/^# FAIL: *//p' "$f" | head -1) + $(sed -n 's/^# ERROR: *//p' "$f" | head -1) + $(sed -n 's/^# XPASS: *//p' "$f" | head -1)))
        skip=$((skip + $(sed -n 's/^# SKIP: *//p' "$f" | head -1)))
    done
    printf '%d passed, %d failed, %d skipped\n' "$pass" "$fail" "$skip"
}

# copy_tree DIR: the sources (tracked and new, not ignored) copied into
# DIR, a build of its own that never shares objects with the tree's.
copy_tree() {
    mkdir -p "$1"
    (cd "$top" && git ls-files -co --exclude-standard -z |
        tar --null -T - -cf -) | tar -xpf - -C "$1"
}

# The libFuzzer harnesses (only them: the daemon and the suite are the
# other builds' job), built with Clang in build-fuzz/.
build_fuzz() {
    local make_target=fuzz-harnesses
    copy_tree "$top/build-fuzz"
    build "$top/build-fuzz" CC=clang --enable-werror --enable-fuzzing
}

install_packages
case "$mode" in
build)
    build "$top"
    log "built: server/polltgtd"
    ;;
run)
    build "$top"
    log "starting polltgtd on conf/polltgt.ini (Ctrl-C stops it)"
    exec "$top/server/polltgtd" --foreground -c "$top/conf/polltgt.ini"
    ;;
check)
    build "$top" --enable-werror
    rc=0
    run_check "$top" || rc=1
    # The same suite under AddressSanitizer and UndefinedBehaviorSanitizer,
    # built from a copy of the sources in build-san/ so that the two builds
    # never share objects (the plain build stays in the tree, where scripts
    # expect server/polltgtd).
    copy_tree "$top/build-san"
    build "$top/build-san" --enable-werror --enable-sanitizers
    run_check "$top/build-san" || rc=1
    summary "$top/test-suite.log" "$top/build-san/test-suite.log"
    # Each fuzz harness for a few seconds on its corpus (seeds and
    # regression inputs); contrib/fuzz.sh runs them for longer.
    build_fuzz
    log "fuzz harnesses in build-fuzz"
    make -C "$top/build-fuzz" fuzz-check || rc=1
    exit $rc
    ;;
fuzz)
    build_fuzz
    log "built: build-fuzz/tests/fuzz/fuzz-*"
    ;;
*)
    echo "usage: $0 [build|run|check|fuzz]" >&2
    exit 2
    ;;
esac
