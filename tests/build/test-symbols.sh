#!/usr/bin/env bash
# Our global symbols must not collide with the libraries we link: libnbd
# owns nbd_*, libiscsi iscsi_* and scsi_*, glibc aio_* and much else.  A
# collision either fails to link or, worse, silently interposes on the
# library.  Compares `nm --defined-only -g` of everything we build with
# `nm -D` of those libraries.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e
requires nm --version

ours="$TMPDIR_TEST/ours"
nm --defined-only -g "$abs_top_builddir/server/libpolltgt.a" 2>/dev/null |
    awk 'NF == 3 { print $3 }' | sort -u >"$ours"
[ -s "$ours" ] || fail "no symbols found in libpolltgt.a"

libs=()
for pc in libnbd libiscsi; do
    dir=$(pkg-config --variable=libdir "$pc" 2>/dev/null) || continue
    name=${pc#lib}
    for f in "$dir/lib$name.so" "$dir"/lib"$name".so.*; do
        [ -e "$f" ] && { libs+=("$f"); break; }
    done
done
libc=$(ldd "$abs_top_builddir/server/polltgtd" | awk '/libc\.so/ { print $3 }')
[ -n "$libc" ] && libs+=("$libc")
[ ${#libs[@]} -ge 3 ] || fail "could not find libnbd, libiscsi and libc (found: ${libs[*]})"

theirs="$TMPDIR_TEST/theirs"
for l in "${libs[@]}"; do
    nm -D --defined-only "$l" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }'
done | sort -u >"$theirs"

clash=$(comm -12 "$ours" "$theirs")
if [ -n "$clash" ]; then
    echo "symbols defined by polltgt and by ${libs[*]}:" >&2
    echo "$clash" >&2
    exit 1
fi
# The prefixes themselves are reserved even where no symbol clashes yet.
bad=$(grep -E '^(nbd|iscsi|scsi|aio)_[a-z0-9]+$' "$ours" |
      grep -v -E '^(nbd|iscsi|scsi|aio)_(req|hs|conn|reply|names|pdu|login|text|param|session|task|discovery|sbc|spc|sense|cmd|ctx|handler|timer|sqe|digest)_' || true)
[ -z "$bad" ] || fail "symbols without a second name part: $bad"
echo "ok: $(wc -l <"$ours") symbols, no clash with ${#libs[@]} libraries"
