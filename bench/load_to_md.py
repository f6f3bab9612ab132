#!/usr/bin/env python3
"""Turns the scytale-loadgen JSON files of one bench/run_load.sh run into a Markdown table of
medians over the repetitions.

Files are named NN_ROW_rREP.json (NN orders the rows; row 00 is the baseline). A row's ratio is
the median, over the repetitions, of its rps divided by the baseline's rps of the same
repetition, so slow drift of the shared machine cancels out.

With --scale FILE (run_load.sh --scale) a section follows the table: the preload, start-up times
and RSS from FILE, and the hot set's rps against the 10-key row's (rows "ten" and "hot"), each
checked against issue 11's targets.

Usage: load_to_md.py [--title T] [--commit SHA] [--load-before "a b c"] [--load-after "a b c"]
                     [--nginx V]
                     [--postgres V] [--server-args A] [--scale FILE] RESULTS_DIR > load.md
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import sys

_NAME = re.compile(r"^(\d+)_(.+)_r(\d+)\.json$")


def load(results_dir):
    """{(order, row): {rep: report}} from the directory's files."""
    rows = {}
    for name in sorted(os.listdir(results_dir)):
        m = _NAME.match(name)
        if not m:
            continue
        with open(os.path.join(results_dir, name), encoding="utf-8") as f:
            rows.setdefault((int(m.group(1)), m.group(2)), {})[int(m.group(3))] = json.load(f)
    return rows


def median(values):
    return statistics.median(values) if values else float("nan")


def fmt_ms(v):
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def fmt_rps(v):
    return f"{v:,.0f}"


# Issue 11 item 4's targets (goals, not timed tests).
HOT_SET_MIN_RATIO = 0.90
RSS_MAX_MIB = 256
START_MAX_S = 2.0


def met(ok):
    return "**met**" if ok else "**missed**"


def scale_section(scale, rows):
    """Markdown lines for run_load.sh --scale."""
    by_name = {name: reps for (_, name), reps in rows.items()}
    ten, hot = by_name.get("ten", {}), by_name.get("hot", {})
    p = scale["preload"]
    out = ["", "## At scale", ""]
    out.append(f"- preload (bench/preload_keys.cc, `scytale-preload`): {p['keys']:,} keys, "
               f"{p['bulk_keys']:,} of them through `Store::ImportAll` in one SQLite "
               f"transaction in {p['import_s']:.1f} s ({p['keys_per_s']:,.0f} keys/s; rows "
               f"made and handed over in {p['fill_s']:.1f} s, the rest is the commit), the last "
               f"through `KeyService::CreateKey` and compared with them; "
               f"{p['verified_keys']} bulk keys encrypted and decrypted; database "
               f"{scale['db_bytes'] / 2**20:,.0f} MiB")
    restarts = scale["restarts_s"]
    start = median(restarts)
    out.append(f"- start-up, launch to the first 200 from /healthz: median of {len(restarts)} "
               f"restarts {start:.2f} s ({', '.join(f'{s:.2f}' for s in restarts)}); the first "
               f"start, which also bootstraps the admin credentials, {scale['first_start_s']:.2f} s "
               f"— target ≤ {START_MAX_S:g} s: {met(start <= START_MAX_S)}")
    rss0, hwm0 = (v / 1024 for v in scale["rss_after_start_kib"])
    rss1, hwm1 = (v / 1024 for v in scale["rss_after_load_kib"])
    out.append(f"- RSS of the server: after start {rss0:.0f} MiB (VmRSS); after the load "
               f"{rss1:.0f} MiB, peak {hwm1:.0f} MiB (VmHWM) — target ≤ {RSS_MAX_MIB} MiB (peak): "
               f"{met(hwm1 <= RSS_MAX_MIB)}")
    ratios = [hot[n]["total"]["rps"] / ten[n]["total"]["rps"]
              for n in sorted(hot) if n in ten and ten[n]["total"]["rps"] > 0]
    p50 = [hot[n]["total"]["p50_ms"] / ten[n]["total"]["p50_ms"]
           for n in sorted(hot) if n in ten and ten[n]["total"]["p50_ms"] > 0]
    if ratios:
        r = median(ratios)
        out.append(f"- Encrypt over the hot set of {scale['hot_keys']:,} keys / over 10 keys, rps "
                   f"in the same repetition: median {r:.3f} "
                   f"({', '.join(f'{x:.3f}' for x in ratios)}); p50 latency ratio median "
                   f"{median(p50):.3f} — target ≥ {HOT_SET_MIN_RATIO:.2f} (within 10 %): "
                   f"{met(r >= HOT_SET_MIN_RATIO)}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--title", default="Scytale HTTP load")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--load-before", default="")
    ap.add_argument("--load-after", default="")
    ap.add_argument("--nginx", default="")
    ap.add_argument("--postgres", default="")
    ap.add_argument("--server-args", default="")
    ap.add_argument("--scale", default="", help="run_load.sh --scale's summary JSON")
    ap.add_argument("results_dir")
    args = ap.parse_args()

    rows = load(args.results_dir)
    if not rows:
        sys.exit("load_to_md.py: no results in " + args.results_dir)
    order = sorted(rows)
    baseline = rows[order[0]]
    any_report = next(iter(baseline.values()))

    now = datetime.datetime.now(datetime.timezone.utc).astimezone().isoformat(timespec="seconds")
    out = [f"# {args.title}, {now}", ""]
    out.append(f"- commit `{args.commit}`, host `{platform.node()}`, {os.cpu_count()} CPUs; "
               f"load average before the run: {args.load_before or 'n/a'}, after: "
               f"{args.load_after or 'n/a'}")
    out.append(f"- scytale-loadgen: {any_report['connections']} keep-alive connections on "
               f"{any_report['threads']} client thread(s), {any_report['duration_s']:g} s measured "
               f"after {any_report['warmup_s']:g} s of warm-up, payload "
               f"{any_report['payload_bytes']} B, "
               + ("keys as each row says, a pool of "
                  f"{any_report.get('pool', '?')} signed requests per row, " if args.scale
                  else f"{any_report['keys']} key(s) of each kind, ") +
               f"{len(baseline)} repetition(s); every request SigV4-signed (pre-signed pool, "
               "replayed) and verified by the server")
    out.append("- client, servers and baseline share this machine's cores (and other engineers' "
               "work): compare rows of this table, not runs")
    out.append(f"- baseline: {args.nginx or 'nginx'}, `return 200` with an Encrypt-shaped JSON "
               "body (same size as a real answer), `worker_processes auto`, hit by the same load "
               "generator with the same kind of signed Encrypt requests (placeholder keys)")
    server = "`scytale serve` (Release, -O2), audit log on (it always is), default flags"
    if args.server_args:
        server += f" plus `{args.server_args}`"
    server += " (request log at info, to a file)"
    out.append(f"- server: {server}")
    if args.postgres:
        out.append(f"- PostgreSQL: {args.postgres}, private cluster in a temporary directory, "
                   "default durability (fsync, synchronous_commit on), same machine")
    out.append("- rps: successful (200) responses per second; ratio: median over repetitions of "
               "rps / the baseline's rps in the same repetition; latencies: median over "
               "repetitions of each run's percentile (nearest rank over every request of the "
               "run); errors: non-200 and transport errors, summed over repetitions; loadgen "
               "CPU: the client's CPU time / wall time (100% = its thread is saturated)")
    out.append("")
    out.append("| operation | rps | ratio to baseline | p50 ms | p99 ms | p99.9 ms | errors "
               "| loadgen CPU |")
    out.append("|---|--:|--:|--:|--:|--:|--:|--:|")
    error_notes = []
    for key in order:
        reps = rows[key]
        label = next(iter(reps.values()))["label"] or key[1]
        rps = [r["total"]["rps"] for r in reps.values()]
        ratios = [reps[n]["total"]["rps"] / baseline[n]["total"]["rps"]
                  for n in reps if n in baseline and baseline[n]["total"]["rps"] > 0]
        p50 = median([r["total"]["p50_ms"] for r in reps.values()])
        p99 = median([r["total"]["p99_ms"] for r in reps.values()])
        p999 = median([r["total"]["p99_9_ms"] for r in reps.values()])
        errors = sum(r["total"]["errors"] for r in reps.values())
        cpu = median([r["client_cpu_s"] / (r["duration_s"] + r["warmup_s"])
                      for r in reps.values()])
        ratio = "1 (baseline)" if key == order[0] else f"{median(ratios):.3f}"
        out.append(f"| {label} | {fmt_rps(median(rps))} | {ratio} | {fmt_ms(p50)} | "
                   f"{fmt_ms(p99)} | {fmt_ms(p999)} | {errors} | {cpu:.0%} |")
        types = {}
        for r in reps.values():
            for op in r["ops"].values():
                for t, n in op["errors_by_type"].items():
                    types[t] = types.get(t, 0) + n
            for t, n in r["total"]["connect_errors"].items():
                types["connect: " + t] = types.get("connect: " + t, 0) + n
        for t, n in sorted(types.items()):
            error_notes.append(f"- {label}: {t} ×{n}")
    baseline_cpu = median([r["client_cpu_s"] / (r["duration_s"] + r["warmup_s"])
                           for r in baseline.values()])
    if baseline_cpu >= 0.9:
        out.append("")
        out.append(f"The baseline kept the client thread busy ({baseline_cpu:.0%} CPU): there "
                   "the ceiling is the load generator's, not nginx's, and the ratios are to what "
                   "this client can send. The Scytale rows leave the client mostly idle: they "
                   "are bound by the server.")
    if args.scale:
        with open(args.scale, encoding="utf-8") as f:
            out.extend(scale_section(json.load(f), rows))
    out.append("")
    out.append("Per repetition, rps (baseline first):")
    out.append("")
    for key in order:
        reps = rows[key]
        label = next(iter(reps.values()))["label"] or key[1]
        out.append(f"- {label}: " + ", ".join(fmt_rps(reps[n]["total"]["rps"])
                                              for n in sorted(reps)))
    if error_notes:
        out.append("")
        out.append("Errors:")
        out.append("")
        out.extend(error_notes)
    print("\n".join(out))


if __name__ == "__main__":
    main()
