#!/usr/bin/env bash
# Every header compiles on its own (nbdkit's test-just-plugin-header): a
# header that needs another one to be included first is a trap for the
# next file that uses it.
. "$POLLTGT_BUILDDIR/tests/functions.sh"
set -e
requires ${CC:-cc} --version

n=0
while IFS= read -r -d '' h; do
    rel=${h#"$abs_top_srcdir"/}
    printf '#include <config.h>\n#include "%s"\n' "$rel" >"$TMPDIR_TEST/t.c"
    ${CC:-cc} -fsyntax-only -Wall -Wextra -Werror \
        -I"$abs_top_builddir" -I"$abs_top_srcdir" -I"$abs_top_srcdir/server" \
        $(pkg-config --cflags liburing inih) "$TMPDIR_TEST/t.c" ||
        fail "$rel does not compile alone"
    n=$((n + 1))
done < <(find "$abs_top_srcdir/server" "$abs_top_srcdir/backends" -name '*.h' -print0 2>/dev/null)
[ $n -gt 0 ] || fail "no headers found"
echo "ok: $n headers"
