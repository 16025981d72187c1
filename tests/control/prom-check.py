#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A strict checker of the Prometheus text exposition format 0.0.4.

Reads the exposition on stdin (or from the file named as the argument),
prints one line per problem and exits 1 if there is any, else 0.  Used by
the status socket tests when promtool is not installed, and as well as it
when it is: promtool lints names, this checks structure.

It checks what a scraper relies on:
  - every line is a comment, HELP, TYPE, a sample or empty, and the text
    ends with a newline;
  - metric and label names are valid, label names are not reserved (__)
    nor repeated, label values use only the escapes \\\\ \\" \\n;
  - HELP and TYPE appear at most once per family, before its samples;
  - a family's samples are not split by another family's;
  - sample values are Go floats (incl. +Inf, -Inf, NaN), timestamps ints;
  - no sample (name and label set) appears twice;
  - counters are named *_total and are not negative;
  - histograms: per label set, buckets with increasing le, cumulative
    counts, the last le="+Inf", and _sum and _count (= the +Inf bucket).
"""
import math
import re
import sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
FLOAT = r'[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]Inf|NaN'
NAME_RE = re.compile(NAME + r'$')
FLOAT_RE = re.compile(r'(?:' + FLOAT + r')$')
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}


def parse_float(s):
    if not FLOAT_RE.match(s):
        raise ValueError(s)
    if s in ('+Inf', '-Inf'):
        return math.inf if s[0] == '+' else -math.inf
    return float(s)


def parse_labels(s, pos, errs, where):
    """Parse {a="b",...} at s[pos] == '{'; returns (labels, pos after)."""
    labels = []
    pos += 1
    while True:
        if pos < len(s) and s[pos] == '}':
            return labels, pos + 1
        m = re.compile(LABEL).match(s, pos)
        if not m:
            errs.append(f'{where}: bad label name at column {pos + 1}')
            return None, pos
        name = m.group(0)
        if name.startswith('__'):
            errs.append(f'{where}: reserved label name {name}')
        pos = m.end()
        if s[pos:pos + 2] != '="':
            errs.append(f'{where}: expected =" after label {name}')
            return None, pos
        pos += 2
        val = []
        while True:
            if pos >= len(s):
                errs.append(f'{where}: unterminated value of label {name}')
                return None, pos
            c = s[pos]
            if c == '\\':
                nxt = s[pos + 1:pos + 2]
                if nxt not in ('\\', '"', 'n'):
                    errs.append(f'{where}: invalid escape \\{nxt} in label {name}')
                    return None, pos
                val.append('\n' if nxt == 'n' else nxt)
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                val.append(c)
                pos += 1
        if any(n == name for n, _ in labels):
            errs.append(f'{where}: label {name} repeated')
        labels.append((name, ''.join(val)))
        if pos < len(s) and s[pos] == ',':
            pos += 1
            continue
        if pos < len(s) and s[pos] == '}':
            return labels, pos + 1
        errs.append(f'{where}: expected , or }} after label {name}')
        return None, pos


def check(text):
    errs = []
    if text and not text.endswith('\n'):
        errs.append('the text does not end with a newline')
    helps, types = {}, {}
    family_order = []           # families in the order their samples came
    closed = set()              # families whose samples have ended
    current = None
    seen = set()
    samples = []                # (family, name, labels, value, where)

    def family_of(name):
        for suffix in ('_bucket', '_sum', '_count'):
            if name.endswith(suffix):
                base = name[:-len(suffix)]
                if types.get(base) in ('histogram', 'summary'):
                    return base
        return name

    for n, line in enumerate(text.split('\n')[:-1] if text.endswith('\n')
                             else text.split('\n'), 1):
        where = f'line {n}'
        if line.strip() == '':
            continue
        if line.startswith('#'):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ('HELP', 'TYPE'):
                if len(parts) < 3 or not NAME_RE.match(parts[2]):
                    errs.append(f'{where}: {parts[1]} without a valid metric name')
                    continue
                name = parts[2]
                if name in closed or name == current:
                    errs.append(f'{where}: {parts[1]} {name} after its samples')
                if parts[1] == 'HELP':
                    if name in helps:
                        errs.append(f'{where}: second HELP for {name}')
                    doc = parts[3] if len(parts) > 3 else ''
                    if re.search(r'\\[^\\n]', doc.replace('\\\\', '')):
                        errs.append(f'{where}: HELP {name}: invalid escape')
                    helps[name] = doc
                else:
                    if name in types:
                        errs.append(f'{where}: second TYPE for {name}')
                    if len(parts) < 4 or parts[3] not in TYPES:
                        errs.append(f'{where}: TYPE {name}: invalid type')
                        continue
                    types[name] = parts[3]
            continue
        m = re.compile(NAME).match(line)
        if not m:
            errs.append(f'{where}: not a valid sample: {line[:60]!r}')
            continue
        name = m.group(0)
        pos = m.end()
        labels = []
        if pos < len(line) and line[pos] == '{':
            labels, pos = parse_labels(line, pos, errs, where)
            if labels is None:
                continue
        rest = line[pos:]
        if not rest.startswith(' '):
            errs.append(f'{where}: expected a space before the value')
            continue
        fields = rest.split()
        if len(fields) not in (1, 2) or rest != ' ' + ' '.join(fields):
            errs.append(f'{where}: expected a value and an optional timestamp')
            continue
        try:
            value = parse_float(fields[0])
        except ValueError:
            errs.append(f'{where}: invalid value {fields[0]!r}')
            continue
        if len(fields) == 2 and not re.match(r'-?[0-9]+$', fields[1]):
            errs.append(f'{where}: invalid timestamp {fields[1]!r}')
        fam = family_of(name)
        if fam != current:
            if fam in closed:
                errs.append(f'{where}: the samples of {fam} are split by '
                            f'another family')
            if current is not None:
                closed.add(current)
            current = fam
            family_order.append(fam)
        key = (name, tuple(sorted(labels)))
        if key in seen:
            errs.append(f'{where}: duplicate sample {name}{dict(labels)}')
        seen.add(key)
        samples.append((fam, name, labels, value, where))

    for fam in family_order:
        t = types.get(fam, 'untyped')
        if fam not in types:
            errs.append(f'{fam}: no TYPE line')
        if fam not in helps:
            errs.append(f'{fam}: no HELP line')
        fs = [s for s in samples if s[0] == fam]
        if t == 'counter':
            if not fam.endswith('_total'):
                errs.append(f'{fam}: a counter whose name does not end in _total')
            for _, name, _, value, where in fs:
                if name != fam:
                    errs.append(f'{where}: sample {name} in counter family {fam}')
                if value < 0 or math.isnan(value):
                    errs.append(f'{where}: counter {fam} is {value}')
        elif t in ('gauge', 'untyped'):
            for _, name, _, _, where in fs:
                if name != fam:
                    errs.append(f'{where}: sample {name} in {t} family {fam}')
        elif t == 'histogram':
            series = {}
            for _, name, labels, value, where in fs:
                suffix = name[len(fam):]
                if suffix not in ('_bucket', '_sum', '_count'):
                    errs.append(f'{where}: sample {name} in histogram {fam}')
                    continue
                rest = tuple(sorted((k, v) for k, v in labels if k != 'le'))
                s = series.setdefault(rest, {'buckets': [], 'sum': None,
                                             'count': None, 'where': where})
                if suffix == '_bucket':
                    le = dict(labels).get('le')
                    if le is None:
                        errs.append(f'{where}: {name} without le')
                        continue
                    try:
                        s['buckets'].append((parse_float(le), value, where))
                    except ValueError:
                        errs.append(f'{where}: le="{le}" is not a float')
                else:
                    if 'le' in dict(labels):
                        errs.append(f'{where}: {name} has an le label')
                    s[suffix[1:]] = value
            for rest, s in series.items():
                where, b = s['where'], s['buckets']
                lbl = dict(rest)
                if not b:
                    errs.append(f'{where}: {fam}{lbl}: no buckets')
                    continue
                for (le0, c0, _), (le1, c1, w1) in zip(b, b[1:]):
                    if not le1 > le0:
                        errs.append(f'{w1}: {fam}{lbl}: le not increasing')
                    if c1 < c0:
                        errs.append(f'{w1}: {fam}{lbl}: bucket counts not '
                                    f'cumulative ({c0} then {c1})')
                if b[-1][0] != math.inf:
                    errs.append(f'{where}: {fam}{lbl}: last bucket is not '
                                f'le="+Inf"')
                if s['sum'] is None:
                    errs.append(f'{where}: {fam}{lbl}: no _sum')
                if s['count'] is None:
                    errs.append(f'{where}: {fam}{lbl}: no _count')
                elif s['count'] != b[-1][1]:
                    errs.append(f'{where}: {fam}{lbl}: _count {s["count"]} != '
                                f'+Inf bucket {b[-1][1]}')
    for name in set(helps) | set(types):
        if name not in family_order and name not in types:
            errs.append(f'{name}: HELP without TYPE')
    return errs


def main():
    if len(sys.argv) > 1:
        with open(sys.argv[1], encoding='utf-8') as f:
            text = f.read()
    else:
        text = sys.stdin.read()
    errs = check(text)
    for e in errs:
        print(f'prom-check: {e}')
    if not errs:
        fams = len({l.split()[2] for l in text.splitlines()
                    if l.startswith('# TYPE ')})
        print(f'prom-check: ok, {fams} families')
    return 1 if errs else 0


if __name__ == '__main__':
    sys.exit(main())
