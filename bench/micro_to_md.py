#!/usr/bin/env python3
"""Turns Google Benchmark JSON (run with --benchmark_repetitions and aggregates) into a
Markdown table of medians, with the coefficient of variation as a noise indicator.

Usage: micro_to_md.py [--commit SHA] kms_bench.json > micro.md
"""

import argparse
import json
import sys

# Google Benchmark's time units, in nanoseconds.
_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def format_time(ns):
    """A duration in the largest unit that keeps it at or above 1."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}" if ns / scale < 100 else f"{ns / scale:.0f} {unit}"
    return f"{ns:.3g} ns" if ns < 100 else f"{ns:.0f} ns"


def format_rate(value, suffix, base):
    """A rate with a decimal (k, M, G) or binary (Ki, Mi, Gi) prefix, as `base` says."""
    if value is None:
        return ""
    prefixes = ("Gi", "Mi", "Ki") if base == 1024 else ("G", "M", "k")
    for prefix, scale in zip(prefixes, (base**3, base**2, base)):
        if value >= scale:
            return f"{value / scale:.3g} {prefix}{suffix}"
    return f"{value:.3g} {suffix}"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("json_file")
    parser.add_argument("--commit", default="unknown")
    args = parser.parse_args()

    with open(args.json_file, encoding="utf-8") as f:
        data = json.load(f)

    # run_name -> {"median": {...}, "cv": {...}}, in the order the benchmarks ran.
    rows = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") != "aggregate":
            continue
        rows.setdefault(b["run_name"], {})[b.get("aggregate_name")] = b
        if b.get("error_occurred"):
            rows[b["run_name"]]["error"] = b.get("error_message", "error")

    ctx = data.get("context", {})
    out = sys.stdout
    out.write(f"# kms_bench microbenchmarks, {ctx.get('date', '')}\n\n")
    caches = ", ".join(
        f"L{c['level']} {c['type'][0].lower()} {c['size'] // 1024} KiB"
        for c in ctx.get("caches", [])
    )
    load = ", ".join(f"{x:.2f}" for x in ctx.get("load_avg", []))
    out.write(
        f"- commit `{args.commit}`, host `{ctx.get('host_name', '?')}`, "
        f"{ctx.get('num_cpus', '?')} CPUs @ {ctx.get('mhz_per_cpu', '?')} MHz"
        f"{', CPU scaling on' if ctx.get('cpu_scaling_enabled') else ''}"
        f"{f', caches: {caches}' if caches else ''}\n"
    )
    out.write(f"- load average at start: {load or '?'}\n")
    if ctx.get("library_build_type") == "debug":
        out.write(
            "- the benchmark library reports a debug build (Debian builds it without NDEBUG); "
            "the timed loop is inlined from its header into kms_bench, so timings are unaffected\n"
        )
    out.write(
        "- median of the repetitions; CV = coefficient of variation across them, of real "
        "time / of CPU time (above ~5%, treat the row with care). On a shared machine CPU time is "
        "the steadier figure; real time includes waiting for a core (and, for CreateKey, fsync)\n"
    )
    out.write(
        "- Bytes/s and Ops/s are per CPU second, except rows marked `real_time`, which are per "
        "wall-clock second (all threads together); Bytes/s counts plaintext bytes only\n\n"
    )

    out.write("| Benchmark | Real time | CPU time | Bytes/s | Ops/s | CV real / CPU |\n")
    out.write("|---|--:|--:|--:|--:|--:|\n")
    for name, aggs in rows.items():
        median = aggs.get("median")
        if median is None:
            out.write(f"| `{name}` | error: {aggs.get('error', 'no median')} | | | | |\n")
            continue
        scale = _UNIT_NS[median.get("time_unit", "ns")]
        cv = aggs.get("cv")
        cv_text = (
            f"{cv['real_time'] * 100:.1f}% / {cv['cpu_time'] * 100:.1f}%"
            if cv and "real_time" in cv and "cpu_time" in cv
            else ""
        )
        out.write(
            f"| `{name}` | {format_time(median['real_time'] * scale)} "
            f"| {format_time(median['cpu_time'] * scale)} "
            f"| {format_rate(median.get('bytes_per_second'), 'B/s', 1024)} "
            f"| {format_rate(median.get('items_per_second'), 'op/s', 1000)} "
            f"| {cv_text} |\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
