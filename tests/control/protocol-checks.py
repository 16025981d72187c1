#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Protocol checks of the status socket against a running polltgtd.

Usage: protocol-checks.py SOCKET IOTHREADS
(run by test-control-protocol.sh on its daemon: 2 I/O threads, [poll]
defaults, one 64 MiB memory export disk0 described as "test disk").
Exits 0 if every check passes, else 1 after printing each failure.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctl  # noqa: E402
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location(
    'prom_check', os.path.join(os.path.dirname(os.path.abspath(__file__)),
                               'prom-check.py'))
prom_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(prom_check)

SOCK = sys.argv[1]
NTHREADS = int(sys.argv[2])
POLICIES = {'off', 'classic', 'per-handler', 'weighted', 'busy'}
LOOP_COUNTERS = ['iterations', 'poll_hits', 'poll_misses', 'blocking_waits',
                 'polling_ns', 'blocked_ns', 'dispatch_ns', 'grows', 'shrinks',
                 'cpu_ns', 'block_ns_sum']
OPS = ['read', 'write', 'flush', 'trim', 'zero', 'block_status', 'cache']
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f'FAIL: {what}', flush=True)
    return cond


def ask(line):
    ok, body = ctl.request(SOCK, line)
    return ok, body


def ask_json(line):
    ok, body = ask(line)
    check(ok, f'{line}: answered ERR: {body!r}')
    check(body.endswith('\n'), f'{line}: the document does not end in a newline')
    return json.loads(body)  # a real parser: raises on any syntax error


def is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def check_io(io, where):
    check(set(io) == {'inflight', 'bytes_read', 'bytes_written', 'ops'},
          f'{where}: io keys {sorted(io)}')
    check(isinstance(io['inflight'], int) and io['inflight'] >= 0,
          f'{where}: inflight {io["inflight"]}')
    check(is_count(io['bytes_read']) and is_count(io['bytes_written']),
          f'{where}: byte counters')
    check(list(io['ops']) == OPS, f'{where}: ops {list(io["ops"])}')
    for op, o in io['ops'].items():
        check(is_count(o['count']) and is_count(o['errors']) and
              o['errors'] <= o['count'], f'{where}: {op} count/errors')
        check(isinstance(o['latency_sum_s'], (int, float)) and
              o['latency_sum_s'] >= 0, f'{where}: {op} latency_sum_s')
        h = o['latency_hist']
        check(h and h[-1]['le'] == '+Inf', f'{where}: {op} hist ends in +Inf')
        les = [b['le'] for b in h[:-1]]
        check(all(isinstance(x, (int, float)) for x in les) and
              les == sorted(les) and len(set(les)) == len(les),
              f'{where}: {op} hist bounds increasing')
        check(sum(b['count'] for b in h) == o['count'] - o['errors'],
              f'{where}: {op} hist total {sum(b["count"] for b in h)} != '
              f'count - errors {o["count"] - o["errors"]}')


def check_thread(t, i):
    w = f'iothreads[{i}]'
    check(t['id'] == i, f'{w}: id {t["id"]}')
    check(t['policy'] in POLICIES, f'{w}: policy {t["policy"]!r}')
    check(t['params'] == {'max_ns': 32768, 'max_ns_auto': False, 'grow': 2,
                          'shrink': 2, 'weight': 3, 'idle_timeout_ms': 7000},
          f'{w}: params {t["params"]} are not the configured ones')
    wk = t['wakeup']
    check(set(wk) == {'cost_ns', 'blocked_ns', 'spinning_ns'} and
          all(is_count(v) for v in wk.values()), f'{w}: wakeup {wk}')
    check(isinstance(t['poll_unbounded'], bool), f'{w}: poll_unbounded')
    check(isinstance(t['poll_ns'], int) and
          (t['poll_ns'] == -1) == t['poll_unbounded'], f'{w}: poll_ns')
    check(0 <= t['poll_ns'] <= t['params']['max_ns'] or t['poll_unbounded'],
          f'{w}: poll_ns {t["poll_ns"]} outside [0, max_ns]')
    for k in LOOP_COUNTERS + ['connections']:
        check(is_count(t[k]), f'{w}: {k} = {t[k]!r}')
    check(0.0 <= t['hit_rate'] <= 1.0, f'{w}: hit_rate {t["hit_rate"]}')
    h = t['block_ns_hist']
    check(len(h) == 40 and h[-1]['le'] == '+Inf', f'{w}: block_ns_hist shape')
    check(all(h[k]['le'] == 1 << k for k in range(len(h) - 1)),
          f'{w}: block_ns_hist bounds are not powers of two')
    check(isinstance(t['handlers'], list) and t['handlers'],
          f'{w}: no handlers')
    for hd in t['handlers']:
        check(set(hd) == {'name', 'fd', 'in_poll_set', 'window_ns', 'events'},
              f'{w}: handler keys {sorted(hd)}')


def check_stats_doc(d):
    check(set(d) == {'version', 'timestamp', 'uptime_s', 'iothreads',
                     'exports', 'connections'}, f'stats: keys {sorted(d)}')
    check(len(d['iothreads']) == NTHREADS,
          f'stats: {len(d["iothreads"])} iothreads, expected {NTHREADS}')
    for i, t in enumerate(d['iothreads']):
        check_thread(t, i)
    check(len(d['exports']) == 1, 'stats: one export')
    e = d['exports'][0]
    check((e['name'], e['backend'], e['size'], e['readonly'],
           e['description']) == ('disk0', 'memory', 64 << 20, False,
                                 'test disk'), f'stats: export {e["name"]}')
    check_io(e['io'], 'exports[0].io')
    check(isinstance(d['connections'], list), 'stats: connections list')
    for i, c in enumerate(d['connections']):
        check_io(c['io'], f'connections[{i}].io')


def monotonic(a, b):
    """Every counter of stats document b is >= that of a."""
    check(b['timestamp'] > a['timestamp'], 'timestamp did not increase')
    check(b['uptime_s'] > a['uptime_s'], 'uptime_s did not increase')
    for ta, tb in zip(a['iothreads'], b['iothreads']):
        for k in LOOP_COUNTERS:
            check(tb[k] >= ta[k], f'iothread {ta["id"]}: {k} went back '
                                  f'{ta[k]} -> {tb[k]}')
        for ka, kb in zip(ta['block_ns_hist'], tb['block_ns_hist']):
            check(kb['count'] >= ka['count'], 'block_ns_hist went back')
    ia, ib = a['exports'][0]['io'], b['exports'][0]['io']
    for k in ('bytes_read', 'bytes_written'):
        check(ib[k] >= ia[k], f'export {k} went back')
    for op in OPS:
        check(ib['ops'][op]['count'] >= ia['ops'][op]['count'],
              f'export {op} count went back')


# --- every command's answer parses ---------------------------------------

ok, body = ask('help')
check(ok and all(c in body for c in ('help', 'version', 'stats', 'iothreads',
                                     'exports', 'connections', 'metrics',
                                     'set', 'reload')),
      f'help: {ok} {body!r}')
ok, body = ask('version')
check(ok and body.startswith('polltgt ') and body.endswith('\n') and
      body.count('\n') == 1, f'version: {body!r}')

d1 = ask_json('stats')
check_stats_doc(d1)
for part in ('iothreads', 'exports', 'connections'):
    d = ask_json(part)
    check(set(d) == {'version', 'timestamp', 'uptime_s', part},
          f'{part}: keys {sorted(d)}')
    check(d[part] == d1[part] if part == 'exports' else
          isinstance(d[part], list), f'{part}: content')
time.sleep(0.2)
d2 = ask_json('stats')
check_stats_doc(d2)
monotonic(d1, d2)

ok, metrics = ask('metrics')
check(ok, 'metrics: ERR')
errs = prom_check.check(metrics)
for e in errs:
    check(False, f'metrics: {e}')
promtool = shutil.which('promtool')
if promtool:
    r = subprocess.run([promtool, 'check', 'metrics'], input=metrics,
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, f'promtool check metrics: {r.stdout}{r.stderr}')
    print('promtool check metrics: ' + ('ok' if r.returncode == 0 else 'FAIL'))
else:
    print('promtool not installed: metrics checked by prom-check.py only')
for i in range(NTHREADS):
    check(f'polltgt_iothread_poll_max_seconds{{iothread="{i}"}} 0.000032768\n'
          in metrics, f'metrics: poll_max_seconds of iothread {i}')
    check(f'polltgt_iothread_policy{{iothread="{i}",policy="weighted"}} 1\n'
          in metrics, f'metrics: policy of iothread {i}')
check('polltgt_export_requests_total{export="disk0",op="read"} ' in metrics,
      'metrics: export requests of disk0')

ok, body = ask('set all grow 2')
check(ok and body == 'set all grow = 2\n', f'set: {ok} {body!r}')
ok, body = ask('reload')
check(ok and body.startswith('reloaded: '), f'reload: {ok} {body!r}')

# --- refusals ---------------------------------------------------------------

for line, want in (('', 'empty request'), ('   ', 'empty request'),
                   ('bogus', "unknown command 'bogus'"),
                   ('set 0 max-ns', 'usage: set'),
                   ('set', 'usage: set'),
                   ('set x grow 2', "invalid I/O thread 'x'")):
    ok, body = ask(line)
    check(not ok and want in body and body.endswith('\n'),
          f'{line!r}: expected ERR with {want!r}, got {ok} {body!r}')

# A request longer than CONTROL_MAX_REQUEST: ERR, then the server hangs up.
for payload in (b'x' * 5000, b'stats ' + b'y' * 5000 + b'\n'):
    c = ctl.Conn(SOCK)
    c.send(payload)
    ok, body = c.answer()
    check(not ok and 'longer than 4096' in body,
          f'oversized request: {ok} {body!r}')
    check(c.closed_by_server(), 'oversized request: connection not closed')
    c.close()
# Exactly at the limit (4095 bytes + newline) is a request, not an overflow.
c = ctl.Conn(SOCK)
ok, body = c.request('x' * (4096 - 1))
check(not ok and 'unknown command' in body, f'4096-byte request: {body!r}')
ok, body = c.request('version')
check(ok, 'the connection serves on after a 4096-byte request')
c.close()

# --- pipelining: several requests in one write, answers in order ----------

c = ctl.Conn(SOCK)
c.send(b'version\nhelp\nstats\nbogus\niothreads\nmetrics\nexports\n')
answers = [c.answer() for _ in range(7)]
check(answers[0][0] and answers[0][1].startswith('polltgt '), 'pipelined 1')
check(answers[1][0] and 'commands:' in answers[1][1], 'pipelined 2')
check(answers[2][0] and 'connections' in json.loads(answers[2][1]),
      'pipelined 3')
check(not answers[3][0] and 'bogus' in answers[3][1], 'pipelined 4')
check(answers[4][0] and set(json.loads(answers[4][1])) ==
      {'version', 'timestamp', 'uptime_s', 'iothreads'}, 'pipelined 5')
check(answers[5][0] and answers[5][1].startswith('# HELP'), 'pipelined 6')
check(answers[6][0] and 'exports' in json.loads(answers[6][1]), 'pipelined 7')
# \r\n line ends are accepted.
ok, body = c.request('version\r')
check(ok and body.startswith('polltgt '), f'CRLF request: {body!r}')
c.close()

# A client that half-closes after its requests still gets every answer,
# also those queued behind a statistics request.
for reqs in (b'version\nstats\n', b'stats\nversion\nmetrics\nversion\n'):
    c = ctl.Conn(SOCK, timeout=5)
    c.send(reqs)
    c.sock.shutdown(socket.SHUT_WR)
    try:
        got = [c.answer()[0] for _ in range(reqs.count(b'\n'))]
    except (OSError, ctl.ProtocolError) as e:
        got = [str(e)]
    check(got == [True] * reqs.count(b'\n'),
          f'half-closed client after {reqs!r}: answers {got}')
    check(c.closed_by_server(), 'half-closed client: connection not closed')
    c.close()

# --- several clients ------------------------------------------------------

# Two clients at once, each with its own stream of requests.
results = {}


def worker(name, n):
    got = []
    try:
        c = ctl.Conn(SOCK)
        for i in range(n):
            ok, body = c.request('stats' if i % 2 == 0 else 'metrics')
            if i % 2 == 0:
                got.append(ok and len(json.loads(body)['iothreads']) == NTHREADS)
            else:
                got.append(ok and body.startswith('# HELP'))
        c.close()
    except Exception as e:  # noqa: BLE001 - reported as a failure
        got.append(f'{type(e).__name__}: {e}')
    results[name] = got


threads = [threading.Thread(target=worker, args=(n, 20)) for n in ('a', 'b')]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
for n in ('a', 'b'):
    check(results.get(n) == [True] * 20, f'concurrent client {n}: {results.get(n)}')

# Interleaved: a partial request on A does not hold up B.
a, b = ctl.Conn(SOCK), ctl.Conn(SOCK)
a.send(b'sta')
ok, body = b.request('version')
check(ok, 'B answered while A is mid-request')
a.send(b'ts\n')
ok, body = a.answer()
check(ok and 'iothreads' in json.loads(body), 'A answered after completing')
a.close()
b.close()

# A client that connects and says nothing, and one that asks and does not
# read, do not block a third.
silent = ctl.Conn(SOCK)
greedy = ctl.Conn(SOCK)
greedy.send(b'stats\n' * 200)
t0 = time.monotonic()
other = ctl.Conn(SOCK, timeout=5)
ok, body = other.request('stats')
check(ok and json.loads(body)['iothreads'], 'stats beside a silent client')
check(time.monotonic() - t0 < 5, 'stats beside a silent client took too long')
other.close()
ok, body = silent.request('version')
check(ok, 'the silent client is still served when it speaks')
silent.close()
greedy.close()
# And the server still answers after those went away.
check(ask('version')[0], 'version after the silent and greedy clients')

if failures:
    print(f'{len(failures)} check(s) failed')
    sys.exit(1)
print('protocol checks: ok')
