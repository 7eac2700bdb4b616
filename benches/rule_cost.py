#!/usr/bin/env python3
"""What one off-by-default rule costs a cold `loopwise check`: the same binary on the same tree
with and without `--extend-select RULE`, side by side in one run, as CPU time (alternating
runs, median and minimum) and, with `--callgrind`, as instructions counted by valgrind's
callgrind on one thread, which repeat exactly whatever else the machine does (issue 15's goal:
LW109 adds at most 10% to Home Assistant's cold time).

    python3 benches/rule_cost.py [--rule LW109] [--runs 5] [--callgrind] [--corpus PATH]

Without `--corpus` it uses Home Assistant 2024.3.3 (downloaded once by throughput.py's
`home_assistant()`). The run is in the tree's parent folder on `.`, as `throughput.py` runs it.
A callgrind run of HA takes about ten minutes per side; both sides run at once, one per core.
"""
import argparse
import concurrent.futures
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import throughput  # noqa: E402


def instructions(binary, extra, cwd):
    """The instructions one single-threaded `check --no-cache` runs, as callgrind counts them."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, "check", "--no-cache", *extra, "."],
            cwd=cwd, env={**os.environ, "RAYON_NUM_THREADS": "1"},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if not found:
            raise SystemExit(f"callgrind printed no count (exit {done.returncode}): {done.stderr[-2000:]}")
        return int(found.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rule", default="LW109")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--callgrind", action="store_true", help="also count instructions (valgrind)")
    parser.add_argument("--loopwise", help="a loopwise binary (default: build the release binary)")
    parser.add_argument("--corpus", type=Path, help="a tree to measure on (default: Home Assistant)")
    args = parser.parse_args()
    binary = args.loopwise
    if not binary:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=throughput.ROOT, check=True)
        binary = str(throughput.ROOT / "target" / "release" / "loopwise")
    tree = args.corpus or throughput.home_assistant()
    cwd = tree.parent
    sides = {"off": [], f"+{args.rule}": ["--extend-select", args.rule]}
    cpu = {name: [] for name in sides}
    for _ in range(args.runs):
        for name, extra in sides.items():
            _, seconds, _ = throughput.measure([binary, "check", "--no-cache", *extra, "."], cwd=cwd)
            cpu[name].append(seconds)
    print(f"{tree}: loopwise check --no-cache, without and with {args.rule}, {args.runs} alternating runs")
    for name, values in cpu.items():
        print(f"  {name:>8}: CPU median {statistics.median(values):6.2f} s, minimum {min(values):6.2f} s")
    off, on = (statistics.median(values) for values in cpu.values())
    low_off, low_on = (min(values) for values in cpu.values())
    print(f"  ratio: median {on / off:.3f}, minimum {low_on / low_off:.3f}")
    if args.callgrind:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            counts = list(pool.map(lambda extra: instructions(binary, extra, cwd), sides.values()))
        print(f"  instructions (callgrind, one thread): off {counts[0]:,}, +{args.rule} {counts[1]:,}, "
              f"ratio {counts[1] / counts[0]:.3f}")


if __name__ == "__main__":
    main()
