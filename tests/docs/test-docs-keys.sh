#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The manual pages against the code:
#  1. every key of config-keys.c's tables (printed by tests/docs/dump-keys)
#     has an entry in man/polltgt.ini.5, in the subsection of its section,
#     and states the built-in default the code uses;
#  2. every key entry in the page names a key the code accepts (no stale
#     entries after a rename);
#  3. every option in `polltgtd --help` appears in man/polltgtd.8;
#  4. both pages render without a single groff warning.
#
# The key-entry convention (see the comment at the top of polltgt.ini.5):
# a subsection  .SS "[section]"  per section, with the argument of
# [iothread N] / [export NAME] in \fI..\fP; each key a line  .B key  (a
# hyphen written \-) right after .TP or .TQ; a built-in default written
# Default: \fBvalue\fR  within the key's entry.
#
# Exit status: 0 pass, 1 fail, 77 skip (the key checks passed but neither
# groff nor man is installed to check rendering), 99 hard error.

set -u

srcdir=${POLLTGT_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${POLLTGT_BUILDDIR:-.}

page5=$srcdir/man/polltgt.ini.5
page8=$srcdir/man/polltgtd.8
dump=$builddir/tests/docs/dump-keys
daemon=$builddir/server/polltgtd

for f in "$page5" "$page8"; do
    if [ ! -r "$f" ]; then
        echo "$0: cannot read $f" >&2
        exit 99
    fi
done
if [ ! -x "$dump" ]; then
    echo "$0: $dump not built" >&2
    exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-docs-keys.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT

if ! "$dump" > "$tmp/keys"; then
    echo "$0: $dump failed" >&2
    exit 99
fi
if [ ! -s "$tmp/keys" ]; then
    echo "$0: $dump printed no keys" >&2
    exit 99
fi

fail=0

# --- 1 and 2: keys ---------------------------------------------------
# First file: section TAB key TAB default.  Second file: the page.
awk -F '	' -v page="$page5" '
function esc(s,    out, i, c) {         # as written in roff: - is \-
    out = ""
    for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        out = out (c == "-" ? "\\-" : c)
    }
    return out
}
function unesc(s,    out, p) {
    out = ""
    while ((p = index(s, "\\-")) > 0) {
        out = out substr(s, 1, p - 1) "-"
        s = substr(s, p + 2)
    }
    return out s
}
function header(s) {                    # .SS "[iothread \fIN\fP]" -> [iothread N]
    sub(/^\.S[HS][ \t]+/, "", s)
    gsub(/"/, "", s)
    gsub(/\\f[BIRP]/, "", s)
    return s
}
FNR == NR {
    n++
    ksec[n] = $1; kkey[n] = $2; kdef[n] = $3
    known[$1, $2] = 1
    if ($1 == "poll") pollkey[$2] = 1
    next
}
{ line[++m] = $0 }
END {
    bad = 0
    cur = ""
    for (i = 1; i <= m; i++) {
        if (line[i] ~ /^\.S[HS]([ \t]|$)/) {
            h = header(line[i])
            cur = (h ~ /^\[.*\]$/) ? substr(h, 2, length(h) - 2) : ""
            if (cur != "") {
                if (cur in seen_sec) {
                    printf "%s:%d: subsection [%s] appears twice\n", page, i, cur
                    bad = 1
                }
                seen_sec[cur] = i
            }
            continue
        }
        if (cur == "" || line[i] !~ /^\.B / || line[i - 1] !~ /^\.T[PQ]([ \t]|$)/)
            continue
        tag = unesc(substr(line[i], 4))
        if (!((cur, tag) in known)) {
            printf "%s:%d: [%s] %s: documented, but the code has no such key\n", \
                page, i, cur, tag
            bad = 1
        }
        doc[cur, tag] = i
    }
    for (k = 1; k <= n; k++) {
        s = ksec[k]; key = kkey[k]
        if (!(s in seen_sec)) {
            if (!(s in told)) {
                printf "%s: no subsection .SS \"[%s]\" for section [%s]\n", page, s, s
                told[s] = 1
            }
            bad = 1
            continue
        }
        if (!((s, key) in doc)) {
            printf "%s: [%s] %s: not documented (expected a line \".B %s\" after .TP or .TQ)\n", \
                page, s, key, esc(key)
            bad = 1
            continue
        }
        if (kdef[k] == "" || (s == "iothread N" && (key in pollkey)))
            continue                    # no default, or "the value in [poll]"
        want = "Default: \\fB" esc(kdef[k]) "\\fR"
        text = ""
        for (i = doc[s, key] + 1; i <= m && line[i] !~ /^\.(TP|SS|SH)([ \t]|$)/; i++)
            text = text line[i] "\n"
        if (index(text, want) == 0) {
            printf "%s:%d: [%s] %s: the entry does not say %s (the code default)\n", \
                page, doc[s, key], s, key, want
            bad = 1
        }
    }
    exit bad
}
' "$tmp/keys" "$page5" || fail=1

nkeys=$(wc -l < "$tmp/keys")
echo "checked $nkeys keys against $page5"

# --- 3: options --------------------------------------------------------
if [ -x "$daemon" ]; then
    "$daemon" --help > "$tmp/help" 2>&1 || {
        echo "$0: $daemon --help failed" >&2
        exit 99
    }
    # The tag lines of OPTIONS: the line after each .TP up to the next .SH.
    awk '/^\.SH/ { opts = ($0 ~ /^\.SH "?OPTIONS"?$/); next }
         opts && tp { print } { tp = opts && /^\.TP([ \t]|$)/ }' \
        "$page8" > "$tmp/tags"
    for opt in $(grep -o -e '--[a-z][a-z-]*' -e '^  -[a-zA-Z]' "$tmp/help" | sed 's/^ *//' | sort -u); do
        # "-c" written \-c, not as part of \-\-check\-config: the ERE is
        # (^|[^-])\\-c([^a-z\]|$)
        ere=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
        if ! grep -qE -e "(^|[^-])$ere([^a-z\\]|\$)" "$tmp/tags"; then
            echo "$page8: option $opt (from polltgtd --help) has no entry under OPTIONS"
            fail=1
        fi
    done
    echo "checked the options of polltgtd --help against $page8"
else
    echo "$0: $daemon not built; options not checked" >&2
    exit 99
fi

# --- 4: rendering ------------------------------------------------------
render=
if command -v groff > /dev/null 2>&1; then
    render=groff
elif command -v man > /dev/null 2>&1; then
    render=man
fi
for page in "$page5" "$page8"; do
    case $render in
    groff)
        groff -man -Tutf8 -ww -z "$page" > "$tmp/warn" 2>&1
        ;;
    man)
        MANWIDTH=80 MANPAGER=cat PAGER=cat man --warnings=w -l "$page" \
            2> "$tmp/warn" > /dev/null
        ;;
    *)
        continue
        ;;
    esac
    status=$?
    if [ $status -ne 0 ] || [ -s "$tmp/warn" ]; then
        echo "$page: $render reports (exit status $status):"
        cat "$tmp/warn"
        fail=1
    fi
done

if [ $fail -ne 0 ]; then
    exit 1
fi
if [ -z "$render" ]; then
    echo "$0: neither groff nor man is installed: rendering not checked" >&2
    exit 77
fi
echo "both pages render without warnings ($render)"
exit 0
