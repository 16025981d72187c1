#!/usr/bin/env bash
# Run every libFuzzer harness of this build (./configure --enable-fuzzing)
# for a few seconds on its checked-in corpus: first every input of
# tests/fuzz/corpus/TARGET (the seeds and the regression inputs of what
# fuzzing found), then mutations of them.  Fails on any crash, leak,
# sanitizer report or hang, printing the harness's report and the input
# that caused it.  FUZZ_CHECK_SECONDS (default 5) is the fuzzing time per
# harness; contrib/fuzz.sh is for long runs.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e

secs=${FUZZ_CHECK_SECONDS:-5}
corpus="$POLLTGT_SRCDIR/tests/fuzz/corpus"
shopt -s nullglob
bins=()
for f in "$POLLTGT_BUILDDIR"/tests/fuzz/fuzz-*; do
    # The harnesses, not their sources (an in-tree build has both).
    [[ -x $f && ${f##*/} != *.* ]] && bins+=("$f")
done
[ ${#bins[@]} -gt 0 ] || {
    echo "no fuzz harnesses in $POLLTGT_BUILDDIR/tests/fuzz: configure with --enable-fuzzing"
    exit 77
}
failed=0
for bin in "${bins[@]}"; do
    t=${bin##*/fuzz-}
    [ -d "$corpus/$t" ] || fail "fuzz-$t has no seed corpus in $corpus/$t"
    work="$TMPDIR_TEST/$t"
    mkdir -p "$work/new"
    # New inputs go to a scratch directory, never into the source tree.
    if "$bin" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/" \
        "$work/new" "$corpus/$t" >"$work/log" 2>&1; then
        printf 'fuzz-%s: %s corpus inputs, %s\n' "$t" "$(ls "$corpus/$t" | wc -l)" \
            "$(grep -E '^#[0-9]+[[:space:]]+DONE' "$work/log" | tail -1)"
    else
        echo "fuzz-$t FAILED:"
        tail -60 "$work/log"
        for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
            echo "input: $a (add it to $corpus/$t once fixed)"
            od -A d -t x1 "$a" | head -20
        done
        failed=1
    fi
done
exit $failed
