#!/usr/bin/env python3
"""Side by side with ruff on one folder: wall time, peak memory and findings per rule.

    python3 benches/compare_ruff.py PATH [--ruff RUFF] [--runs 3]

Runs `loopwise check` (the release binary) and `ruff check --select ASYNC` over the same files,
prints medians and ratios, the same for computing fixes (`--diff --unsafe-fixes` on both; ruff
with its async-related fixable rules), then findings per loopwise rule next to ruff's codes for the same
problem (the rule's aliases), and the findings only one of the two tools reports.
"""
import argparse
import json
import statistics
import subprocess
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(command):
    """Wall seconds, peak RSS of this one run in MiB (GNU time's %M), stdout."""
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return wall, peak_kib / 1024, done.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--ruff", default="/tmp/peers/bin/ruff")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    loopwise = [str(ROOT / "target/release/loopwise"), "check", args.path, "--output-format", "json"]
    ruff = [args.ruff, "check", "--select", "ASYNC", "--output-format", "json", "--no-cache", "--isolated", args.path]
    lines = sum(p.read_bytes().count(b"\n") for p in Path(args.path).rglob("*.py"))
    results = {}
    for name, command in (("loopwise", loopwise), ("ruff", ruff)):
        runs = [timed(command) for _ in range(args.runs)]
        results[name] = (statistics.median(r[0] for r in runs), max(r[1] for r in runs), json.loads(runs[-1][2]))
    (lw_wall, lw_mem, lw), (ruff_wall, ruff_mem, rf) = results["loopwise"], results["ruff"]
    print(f"{args.path}: {lines} lines of Python, median of {args.runs} runs")
    print(f"  wall   loopwise {lw_wall:6.2f} s   ruff {ruff_wall:6.2f} s   ratio {lw_wall / ruff_wall:5.2f}x")
    print(f"  memory loopwise {lw_mem:6.0f} MiB ruff {ruff_mem:6.0f} MiB ratio {lw_mem / ruff_mem:5.2f}x")
    # Fixes: both tools compute every fix (safe and unsafe) and print a diff, writing nothing.
    lw_fix = [str(ROOT / "target/release/loopwise"), "check", args.path, "--diff", "--unsafe-fixes"]
    ruff_fix = [args.ruff, "check", "--select", "ASYNC,UP041,RUF006", "--diff", "--unsafe-fixes", "--no-cache",
                "--isolated", "--target-version", "py311", args.path]
    fix_runs = {name: [timed(command) for _ in range(args.runs)] for name, command in (("loopwise", lw_fix), ("ruff", ruff_fix))}
    lw_fix_wall, ruff_fix_wall = (statistics.median(r[0] for r in fix_runs[name]) for name in ("loopwise", "ruff"))
    lw_hunks, ruff_hunks = (fix_runs[name][-1][2].count("\n@@ -") for name in ("loopwise", "ruff"))
    print(f"  --diff loopwise {lw_fix_wall:6.2f} s   ruff {ruff_fix_wall:6.2f} s   ratio {lw_fix_wall / ruff_fix_wall:5.2f}x"
          f"   diff hunks: loopwise {lw_hunks}, ruff {ruff_hunks}")
    lw_counts = Counter(item["code"] for item in lw)
    rf_counts = Counter(item["code"] for item in rf)
    print("  findings per code:")
    for code in sorted(set(lw_counts) | set(rf_counts)):
        print(f"    {code:9} {lw_counts.get(code, 0) if code.startswith('LW') else rf_counts.get(code, 0):5}")
    lw_at = {(item["filename"], item["location"]["row"]): item for item in lw}
    rf_at = {(item["filename"], item["location"]["row"]): item for item in rf if item["code"].startswith("ASYNC2")}
    print(f"  ruff ASYNC2xx findings also reported by loopwise: {len(set(rf_at) & set(lw_at))} of {len(rf_at)}")
    for key in sorted(set(rf_at) - set(lw_at)):
        print(f"    ruff only:     {rf_at[key]['code']:9} {key[0]}:{key[1]} {rf_at[key]['message']}")
    for key in sorted(set(lw_at) - set(rf_at)):
        print(f"    loopwise only: {lw_at[key]['code']:9} {key[0]}:{key[1]} {lw_at[key]['message']}")


if __name__ == "__main__":
    main()
