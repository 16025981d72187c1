#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# policy-study-report.py: turns the raw files of a policy-study.sh run into
# results.tsv (one line per measurement), report.md (each configuration
# against per-handler, in the weighted-intervals review's format, plus the
# absolute medians and their spread) and the PNG plots (p50 latency against
# server CPU per I/O; the poll window over time under the mixed load).
# Kept apart from the shell script so a run that was interrupted, or one
# whose report should be read differently, can be reported again:
#
#     contrib/bench/policy-study-report.py RESULTS_DIR [--baseline CONFIG]
#
# The plots need matplotlib (Debian package python3-matplotlib); without
# it the tables are still written.

import argparse
import csv
import glob
import json
import math
import os
import statistics
import sys

WORKLOAD_ORDER = ["rr4k-qd1", "rw4k-qd1", "rr4k-qd16", "sr64k-qd4", "mixed"]
WORKLOAD_TEXT = {
    "rr4k-qd1": "4k random read, QD1",
    "rw4k-qd1": "4k random write, QD1",
    "rr4k-qd16": "4k random read, QD16",
    "sr64k-qd4": "64k sequential read, QD4",
    "mixed": "mixed: 1 busy 4k QD1 reader + 7 readers at 50 IOPS",
}
COLUMNS = ["rep", "iothreads", "workload", "numjobs", "config", "policy",
           "weight", "max_ns", "max_ns_effective", "status", "iops", "MBps",
           "p50_us", "p99_us", "slow_p50_us", "slow_p99_us", "ios", "cpu_s",
           "cpu_us_per_io", "server_cpu_pct", "iothread_cpu_pct", "hit_rate",
           "polling_pct", "window_mid_ns", "interval_s"]


def read_kv(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, sep, v = line.rstrip("\n").partition("=")
                if sep:
                    out[k] = v
    except OSError:
        pass
    return out


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load_jsonl(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def fio_side(job):
    return job["read"] if job["read"]["total_ios"] > 0 else job["write"]


def pct_us(side, p):
    v = side.get("clat_ns", {}).get("percentile", {}).get(p)
    return None if v is None else v / 1000.0


def fio_result(fio):
    """Throughput and latency of the first group (the busy connection under
    mixed), all I/Os of all groups, the second group's latency, and when
    fio's measured interval ended."""
    jobs = fio["jobs"]
    for j in jobs:
        if j["error"] != 0:
            raise ValueError("fio job %s error %d" % (j["jobname"], j["error"]))
    main = fio_side(jobs[0])
    ios = sum(j["read"]["total_ios"] + j["write"]["total_ios"] for j in jobs)
    if ios <= 0:
        raise ValueError("no I/O completed")
    r = {"iops": main["iops"], "MBps": main["bw_bytes"] / 1e6,
         "p50_us": pct_us(main, "50.000000"), "p99_us": pct_us(main, "99.000000"),
         "ios": ios, "slow_p50_us": None, "slow_p99_us": None,
         "end": fio.get("timestamp_ms", 0) / 1000.0}
    if len(jobs) > 1:
        slow = fio_side(jobs[1])
        r["slow_p50_us"] = pct_us(slow, "50.000000")
        r["slow_p99_us"] = pct_us(slow, "99.000000")
    return r


def interp(samples, t):
    """Clock ticks at time t, linear between the two samples around it."""
    if t <= samples[0][0]:
        return samples[0][1]
    for (ta, va), (tb, vb) in zip(samples, samples[1:]):
        if ta <= t <= tb:
            return va if tb == ta else va + (vb - va) * (t - ta) / (tb - ta)
    return samples[-1][1]


def server_cpu(meta, cell_dir, end, runtime):
    """Server CPU seconds over fio's measured interval [end - runtime, end],
    from the 50 ms samples of /proc/PID/stat; the whole fio run when the
    samples do not cover it."""
    hz = int(meta["clk_tck"])
    t0, t1 = int(meta["ticks_before"]), int(meta["ticks_after"])
    w0, w1 = float(meta["wall_before"]), float(meta["wall_after"])
    if t1 < 0:
        return None, None
    samples = [(w0, t0)]
    try:
        with open(os.path.join(cell_dir, "cpu.samples")) as f:
            for line in f:
                p = line.split()
                if len(p) == 2:
                    samples.append((float(p[0]), int(p[1])))
    except OSError:
        pass
    samples.append((w1, t1))
    samples.sort()
    if w0 < end - runtime and end <= w1 + 0.05 and len(samples) > 3:
        end = min(end, w1)
        return (interp(samples, end) - interp(samples, end - runtime)) / hz, runtime
    return (t1 - t0) / hz, w1 - w0


def loop_stats(before, after, mid, wall):
    """Poll hit rate, share of time polling and the I/O threads' CPU over
    the run; the window each thread had half-way through."""
    if not before or not after:
        return {}
    b = {t["id"]: t for t in before["iothreads"]}
    hits = misses = polling = cpu = 0
    for t in after["iothreads"]:
        o = b.get(t["id"])
        if o is None:
            continue
        hits += t["poll_hits"] - o["poll_hits"]
        misses += t["poll_misses"] - o["poll_misses"]
        polling += t["polling_ns"] - o["polling_ns"]
        cpu += t["cpu_ns"] - o["cpu_ns"]
    r = {"hit_rate": hits / (hits + misses) if hits + misses else None,
         "polling_pct": polling / 1e9 / wall * 100 if wall else None,
         "iothread_cpu_pct": cpu / 1e9 / wall * 100 if wall else None}
    th = before["iothreads"]
    r["policy_seen"] = {t["policy"] for t in th}
    r["weight_seen"] = {t["params"]["weight"] for t in th}
    r["max_ns_effective"] = th[0]["params"]["max_ns"] if th else None
    if mid and "iothreads" in mid:
        r["window_mid_ns"] = ",".join(
            "busy" if t["poll_unbounded"] else str(t["poll_ns"])
            for t in mid["iothreads"])
    return r


def collect(out):
    rows = []
    for meta_path in sorted(glob.glob(os.path.join(out, "cells", "rep*", "it*",
                                                   "*", "*", "meta.txt"))):
        d = os.path.dirname(meta_path)
        m = read_kv(meta_path)
        row = {c: None for c in COLUMNS}
        for k in ("rep", "iothreads", "workload", "numjobs", "config",
                  "policy", "weight", "max_ns"):
            row[k] = m.get(k)
        row["status"] = "ok"
        try:
            if m.get("client_status") != "0":
                raise ValueError("fio exit status %s" % m.get("client_status"))
            fio = load_json(os.path.join(d, "fio.json"))
            if fio is None:
                raise ValueError("no fio JSON")
            r = fio_result(fio)
            runtime = float(m["runtime_s"])
            cpu_s, interval = server_cpu(m, d, r["end"], runtime)
            if cpu_s is None:
                raise ValueError("server gone")
            ls = loop_stats(load_json(os.path.join(d, "stats-before.json")),
                            load_json(os.path.join(d, "stats-after.json")),
                            load_json(os.path.join(d, "stats-mid.json")),
                            float(m["wall_after"]) - float(m["wall_before"]))
            for k in ("iops", "MBps", "p50_us", "p99_us", "slow_p50_us",
                      "slow_p99_us", "ios"):
                row[k] = r[k]
            row["cpu_s"] = cpu_s
            row["interval_s"] = interval
            # When the samples did not cover fio's interval, cpu_s is over
            # the whole fio run: scale the I/Os to it.
            row["cpu_us_per_io"] = cpu_s * 1e6 / (r["ios"] * interval / runtime)
            row["server_cpu_pct"] = cpu_s / interval * 100
            for k in ("hit_rate", "polling_pct", "iothread_cpu_pct",
                      "max_ns_effective", "window_mid_ns"):
                row[k] = ls.get(k)
            if ls and (ls["policy_seen"] != {m["policy"]} or
                       (m["policy"] == "weighted" and
                        ls["weight_seen"] != {int(m["weight"])})):
                row["status"] = "config-mismatch"
        except (ValueError, KeyError, IndexError, TypeError) as e:
            row["status"] = "NA"
            print("policy-study-report: %s: %s" % (d, e), file=sys.stderr)
        rows.append(row)
    return rows


def fmt_tsv(v):
    if v is None:
        return "NA"
    if isinstance(v, float):
        return "%.4f" % v if abs(v) < 10 else "%.1f" % v
    return str(v)


def write_tsv(out, rows):
    with open(os.path.join(out, "results.tsv"), "w") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([fmt_tsv(r[c]) for c in COLUMNS])


# --- Aggregation ----------------------------------------------------------

def cell_key(r):
    wl = r["workload"]
    wi = WORKLOAD_ORDER.index(wl) if wl in WORKLOAD_ORDER else 99
    return (int(r["iothreads"]), wi, wl, int(r["numjobs"]))


def cell_name(key):
    it, _, wl, nj = key
    jobs = "1+7 jobs" if wl == "mixed" else "%d job%s" % (nj, "s" if nj > 1 else "")
    return "%s, %s, %d I/O thread%s" % (wl, jobs, it, "s" if it > 1 else "")


def med(v):
    return statistics.median(v) if v else None


def aggregate(rows):
    """{cell key: {config: {metric: [values]}}}, good measurements only."""
    cells = {}
    for r in rows:
        if r["status"] != "ok":
            continue
        c = cells.setdefault(cell_key(r), {}).setdefault(r["config"], {})
        for k in ("iops", "MBps", "p50_us", "p99_us", "slow_p50_us",
                  "slow_p99_us", "cpu_us_per_io", "server_cpu_pct",
                  "hit_rate", "polling_pct"):
            if r[k] is not None:
                c.setdefault(k, []).append(r[k])
        if r["window_mid_ns"]:
            c.setdefault("window_mid_ns", []).append(r["window_mid_ns"])
        if r["max_ns_effective"] is not None:
            c.setdefault("max_ns_effective", []).append(r["max_ns_effective"])
    return cells


def change(v, base):
    if v is None or not base:
        return None
    return (v / base - 1) * 100


def num(v, prec=None):
    if v is None:
        return "NA"
    if prec is None:
        prec = 0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2
    return "%.*f" % (prec, v)


def spread(v, prec=None):
    if not v:
        return "NA"
    if len(v) == 1:
        return num(v[0], prec)
    return "%s (%s–%s)" % (num(med(v), prec), num(min(v), prec), num(max(v), prec))


def pct(v):
    return "NA" if v is None else "%+.1f%%" % v


# --- Report ---------------------------------------------------------------

def report(out, rows, study, configs_tsv, baseline):
    cells = aggregate(rows)
    configs = study.get("configs", "").split()
    if baseline not in configs and configs:
        baseline = configs[0]
    others = [c for c in configs if c != baseline]
    L = []
    w = L.append
    w("# Poll policy study")
    w("")
    env = []
    try:
        with open(os.path.join(out, "environment.txt")) as f:
            env = [line.rstrip("\n") for line in f]
    except OSError:
        pass
    w("polltgtd alone, memory backend over NBD on 127.0.0.1 (TCP), fio's nbd "
      "engine, one connection per fio job. Mode %s: %s repetition(s) of %s s "
      "per cell (after a %s ms ramp), configurations in a rotated order, "
      "switched live on one polltgtd per I/O thread count and repetition."
      % ("quick" if study.get("quick") == "1" else "full", study.get("reps"),
         study.get("runtime_s"), study.get("ramp_ms")))
    w("")
    w("```")
    L.extend(env)
    if "wall_s" in study:
        w("wall time of the measurements: %s s" % study["wall_s"])
    w("```")
    w("")
    w("Definitions:")
    w("")
    w("- **throughput**: fio's IOPS (MB/s in the detail tables); under `mixed`, "
      "the busy connection's (the seven slow ones are rate-limited to 50 IOPS "
      "each).")
    w("- **CPU/IO**: server CPU per I/O, the primary CPU figure: polltgtd's "
      "CPU time (utime + stime of the whole process, all threads, from "
      "`/proc/PID/stat`) over fio's measured interval only (sampled every "
      "50 ms; fio's start-up and ramp excluded), divided by every I/O fio "
      "completed in it (all connections).")
    w("- **CPU util**: the same CPU time over the interval's length, in % of "
      "one CPU. The review reports CPU consumption, i.e. utilisation; with "
      "closed-loop clients a policy that serves more I/Os also uses more CPU, "
      "so CPU/IO is the fairer comparison, and both are given.")
    w("- **p50/p99**: fio's completion latency (clat) percentiles, µs.")
    w("- **hit rate**: the poll hits / (hits + misses) of the I/O threads "
      "over the run, from the status socket; **window**: each thread's poll "
      "window (`poll_ns`) half-way through the run (`busy` = unbounded).")
    w("- configurations are `POLICY[-wWEIGHT][@MAX_NS]`; without `@`, "
      "max-ns is `auto`, polltgtd's default (sized from the measured "
      "wake-up cost); `@32768` is QEMU's fixed value, the one the review "
      "measured with. Changes are against `%s`, medians of "
      "each side, so a change is (median / %s's median − 1)." % (baseline, baseline))
    w("")
    notes = []
    for c in configs_tsv:
        if c["status"] != "ok":
            notes.append("`%s` was **skipped**: %s" % (c["config"], c["note"]))
    if study.get("set_notes"):
        notes.append(study["set_notes"])
    bad = [r for r in rows if r["status"] != "ok"]
    if bad:
        notes.append("%d measurement(s) failed or did not match their "
                     "configuration (status column of results.tsv): %s"
                     % (len(bad), ", ".join(sorted({"%s it%s %s nj%s" % (
                         r["config"], r["iothreads"], r["workload"],
                         r["numjobs"]) for r in bad}))))
    if notes:
        w("Notes:")
        w("")
        for n in notes:
            w("- " + n)
        w("")

    # The review's table: the average over all cells of the per-cell change.
    def changes(metric, cfg, pred=lambda k: True):
        out = []
        for k, per in cells.items():
            if not pred(k) or cfg not in per or baseline not in per:
                continue
            ch = change(med(per[cfg].get(metric, [])),
                        med(per[baseline].get(metric, [])))
            if ch is not None:
                out.append(ch)
        return out

    def avg(v):
        return statistics.mean(v) if v else None

    w("## Summary: change against %s" % baseline)
    w("")
    w("In the review's format: the mean over all %d cells (workload × "
      "numjobs × I/O threads) of each cell's change of medians. Negative CPU "
      "is better, negative throughput worse, negative latency better."
      % len(cells))
    w("")
    if others:
        w("| | " + " | ".join("`%s`" % c for c in others) + " |")
        w("|---|" + "---|" * len(others))
        for label, metric in (("Throughput avg", "iops"),
                              ("CPU per I/O avg", "cpu_us_per_io"),
                              ("CPU utilisation avg", "server_cpu_pct"),
                              ("p50 latency avg", "p50_us")):
            w("| %s | " % label + " | ".join(
                pct(avg(changes(metric, c))) for c in others) + " |")
        w("")
        w("By workload (throughput / CPU per I/O, mean over that workload's "
          "cells):")
        w("")
        w("| workload | " + " | ".join("`%s`" % c for c in others) + " |")
        w("|---|" + "---|" * len(others))
        for wl in WORKLOAD_ORDER:
            if not any(k[2] == wl for k in cells):
                continue
            p = (lambda wl: lambda k: k[2] == wl)(wl)
            w("| %s | " % wl + " | ".join(
                "%s / %s" % (pct(avg(changes("iops", c, p))),
                             pct(avg(changes("cpu_us_per_io", c, p))))
                for c in others) + " |")
        w("")
        w("## Per cell: throughput / CPU per I/O against %s" % baseline)
        w("")
        w("| cell | " + " | ".join("`%s`" % c for c in others) + " |")
        w("|---|" + "---|" * len(others))
        for k in sorted(cells):
            per = cells[k]
            b = per.get(baseline, {})
            ents = []
            for c in others:
                if c not in per or not b:
                    ents.append("NA")
                    continue
                ents.append("%s / %s" % (
                    pct(change(med(per[c].get("iops")), med(b.get("iops")))),
                    pct(change(med(per[c].get("cpu_us_per_io")),
                               med(b.get("cpu_us_per_io"))))))
            w("| %s | " % cell_name(k) + " | ".join(ents) + " |")
        w("")

    w("## Per cell: absolute medians (min–max over repetitions)")
    w("")
    for k in sorted(cells):
        per = cells[k]
        b = per.get(baseline, {})
        mixed = k[2] == "mixed"
        w("### %s" % cell_name(k))
        w("")
        w(WORKLOAD_TEXT.get(k[2], k[2]) + ".")
        w("")
        hdr = ["config", "IOPS", "MB/s", "p50 µs", "p99 µs"]
        if mixed:
            hdr += ["slow p50 µs", "slow p99 µs"]
        hdr += ["CPU µs/IO", "CPU util %", "Δ thr", "Δ CPU/IO", "Δ CPU util",
                "hit rate", "polling %", "window ns (mid-run)"]
        w("| " + " | ".join(hdr) + " |")
        w("|" + "---|" * len(hdr))
        for c in configs:
            v = per.get(c)
            if v is None:
                w("| `%s` | " % c + " | ".join(["NA"] * (len(hdr) - 1)) + " |")
                continue
            ent = ["`%s`" % c, spread(v.get("iops"), 0), spread(v.get("MBps"), 1),
                   spread(v.get("p50_us"), 1), spread(v.get("p99_us"), 1)]
            if mixed:
                ent += [spread(v.get("slow_p50_us"), 1), spread(v.get("slow_p99_us"), 1)]
            ent += [spread(v.get("cpu_us_per_io"), 2),
                    spread(v.get("server_cpu_pct"), 1)]
            if c == baseline:
                ent += ["—"] * 3
            else:
                ent += [pct(change(med(v.get(m)), med(b.get(m))))
                        for m in ("iops", "cpu_us_per_io", "server_cpu_pct")]
            hr = v.get("hit_rate")
            ent += ["NA" if not hr else "%.1f%%" % (med(hr) * 100),
                    spread(v.get("polling_pct"), 1),
                    " ".join(sorted(set(v.get("window_mid_ns", []))))[:60] or "NA"]
            w("| " + " | ".join(ent) + " |")
        eff = {c: sorted(set(per[c].get("max_ns_effective", [])))
               for c in configs if c in per and c.endswith("@auto")}
        for c, e in eff.items():
            w("")
            w("`%s` ran with max-ns = %s ns (the value polltgtd reports)."
              % (c, ", ".join(str(x) for x in e) or "NA"))
        w("")
    w("## Plots")
    w("")
    for p in sorted(glob.glob(os.path.join(out, "*.png"))):
        w("- [%s](%s)" % (os.path.basename(p), os.path.basename(p)))
    w("")
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(L))
    return cells, baseline


# --- Plots ----------------------------------------------------------------

def style(configs):
    markers = "osD^vP*XhH<>"
    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("tab10")
    return {c: (cmap(i % 10), markers[i % len(markers)])
            for i, c in enumerate(configs)}


def plot_latency_cpu(out, cells, configs):
    import matplotlib.pyplot as plt
    st = style(configs)
    made = []
    for it in sorted({k[0] for k in cells}):
        keys = sorted(k for k in cells if k[0] == it)
        n = len(keys)
        cols = min(3, n)
        rows = math.ceil(n / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.2 * rows),
                                 squeeze=False)
        for ax, k in zip(axes.flat, keys):
            for c in configs:
                v = cells[k].get(c)
                if not v or not v.get("cpu_us_per_io") or not v.get("p50_us"):
                    continue
                x, y = v["cpu_us_per_io"], v["p50_us"]
                mx, my = med(x), med(y)
                color, marker = st[c]
                ax.errorbar([mx], [my], xerr=[[mx - min(x)], [max(x) - mx]],
                            yerr=[[my - min(y)], [max(y) - my]], fmt=marker,
                            color=color, ms=7, capsize=2, lw=0.8, label=c)
            ax.set_title(cell_name(k), fontsize=9)
            ax.set_xlabel("server CPU per I/O (µs)")
            ax.set_ylabel("p50 latency (µs)" + (", busy conn." if k[2] == "mixed" else ""))
            ax.grid(True, alpha=0.3)
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        handles, labels = [], []
        for ax in axes.flat:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 8),
                   fontsize=9, frameon=False)
        fig.suptitle("p50 latency against server CPU per I/O, %d I/O thread%s "
                     "(medians, bars: min–max)" % (it, "s" if it > 1 else ""))
        fig.tight_layout(rect=(0, 0.06, 1, 0.96))
        name = "latency-cpu-it%d.png" % it
        fig.savefig(os.path.join(out, name), dpi=90)
        plt.close(fig)
        made.append(name)
    return made


def plot_window_traces(out, configs):
    import matplotlib.pyplot as plt
    made = []
    for itdir in sorted(glob.glob(os.path.join(out, "traces", "it*"))):
        it = os.path.basename(itdir)[2:]
        traces = []
        for c in configs:
            docs = load_jsonl(os.path.join(itdir, c, "trace.jsonl"))
            if docs:
                traces.append((c, docs))
        if not traces:
            continue
        n = len(traces)
        cols = min(3, n)
        rows = math.ceil(n / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows),
                                 squeeze=False)
        for ax, (c, docs) in zip(axes.flat, traces):
            t0 = docs[0]["timestamp"]
            nth = len(docs[0]["iothreads"])
            ymax = 0
            for i in range(nth):
                ts, ys, unb = [], [], False
                for d in docs:
                    th = d["iothreads"][i]
                    ts.append(d["timestamp"] - t0)
                    if th["poll_unbounded"]:
                        unb = True
                        ys.append(float("nan"))
                    else:
                        ys.append(th["poll_ns"] / 1000.0)
                        ymax = max(ymax, th["poll_ns"] / 1000.0)
                ax.plot(ts, ys, lw=1, marker=".", ms=4, label="thread %d" % i)
                if unb:
                    ax.text(0.5, 0.5, "unbounded (busy)", transform=ax.transAxes,
                            ha="center", va="center", fontsize=11, color="gray")
            maxns = docs[0]["iothreads"][0]["params"]["max_ns"] / 1000.0
            ax.axhline(maxns, ls="--", color="gray", lw=0.8)
            ax.text(0.99, maxns, " max-ns %.1f µs" % maxns, color="gray",
                    fontsize=7, ha="right", va="bottom",
                    transform=ax.get_yaxis_transform())
            ax.set_ylim(0, max(ymax, maxns) * 1.15 or 1)
            ax.set_xlim(0, max(docs[-1]["timestamp"] - t0, 0.1))
            a, b = docs[0]["iothreads"], docs[-1]["iothreads"]
            hits = sum(y["poll_hits"] - x["poll_hits"] for x, y in zip(a, b))
            miss = sum(y["poll_misses"] - x["poll_misses"] for x, y in zip(a, b))
            hr = ", hit rate %.0f%%" % (100.0 * hits / (hits + miss)) if hits + miss else ""
            ax.set_title("%s%s" % (c, hr), fontsize=9)
            ax.set_xlabel("time (s)")
            ax.set_ylabel("poll window (µs)")
            ax.grid(True, alpha=0.3)
            if nth > 1:
                ax.legend(fontsize=7, loc="upper left")
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        fig.suptitle("Poll window under the mixed load (1 busy + 7 × 50 IOPS), "
                     "%s I/O thread(s), sampled every 100 ms" % it)
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        name = "window-mixed-it%s.png" % it
        fig.savefig(os.path.join(out, name), dpi=90)
        plt.close(fig)
        made.append(name)
    return made


def main():
    ap = argparse.ArgumentParser(description="Report a policy-study.sh run.")
    ap.add_argument("dir", help="the results directory")
    ap.add_argument("--baseline", default=None,
                    help="the configuration changes are against "
                         "(default: the run's, per-handler)")
    a = ap.parse_args()
    out = os.path.abspath(a.dir)
    study = read_kv(os.path.join(out, "study.txt"))
    try:
        with open(os.path.join(out, "configs.tsv")) as f:
            configs_tsv = list(csv.DictReader(f, delimiter="\t"))
    except OSError:
        configs_tsv = []
    rows = collect(out)
    write_tsv(out, rows)
    baseline = a.baseline or study.get("baseline", "per-handler")
    configs = study.get("configs", "").split()
    cells = aggregate(rows)
    try:
        import matplotlib
        matplotlib.use("Agg")
        have_mpl = True
    except ImportError:
        have_mpl = False
        print("policy-study-report: no matplotlib (Debian package "
              "python3-matplotlib): no plots", file=sys.stderr)
    if have_mpl:
        for p in glob.glob(os.path.join(out, "*.png")):
            os.remove(p)
        plot_latency_cpu(out, cells, configs)
        plot_window_traces(out, configs)
    report(out, rows, study, configs_tsv, baseline)
    print("policy-study-report: %d measurement(s), %d cell(s): %s"
          % (len(rows), len(cells), os.path.join(out, "report.md")))
    # A short table on the terminal: the review's summary.
    with open(os.path.join(out, "report.md")) as f:
        text = f.read()
    start = text.find("## Summary")
    end = text.find("## Per cell")
    if start >= 0:
        print(text[start:end if end > 0 else None].rstrip())


if __name__ == "__main__":
    main()
