#!/usr/bin/env python3
"""loopwise check against ruff check, side by side in one run: cold and warm wall time, CPU time
and peak RSS of both tools, their ratios, and how the cost grows with 1x, 2x and 4x copies of a
tree (issue 10's goals: warm ratio <= 1.0, cold <= 3.0, peak memory <= 1.5x ruff's, linear cost).

    python3 benches/throughput.py [--runs 3] [--ruff /tmp/peers/bin/ruff] [--corpus PATH ...]

Without `--corpus` it uses Home Assistant 2024.3.3 (the wheel from PyPI, downloaded once into
benches/.corpus/, git-ignored) and the precision corpus (benches/precision/.corpus/, made by
`benches/precision/run.py download`). Runs alternate between the tools so that a change in the
machine's load hits both. Both run in the tree's folder on `.`, as a user or pre-commit does.
"cold" is `--no-cache` for both; "warm" is each tool's run with its cache (in a temporary folder)
after one warm-up run. Wall time comes from a monotonic clock, CPU time and peak RSS from the
child's own resource usage. The downloaded code is read by the linters, never run.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benches" / ".corpus"
HA_WHEEL = "homeassistant-2024.3.3-py3-none-any.whl"
# The rules of ruff's that loopwise's default set covers (the peers named in docs/rules.md).
RUFF_SELECT = "ASYNC,RUF006,UP041,PLE1142"


def home_assistant():
    """The extracted HA package folder, downloaded and unpacked on first use."""
    target = CACHE / "homeassistant-2024.3.3"
    if (target / "homeassistant").is_dir():
        return target / "homeassistant"
    CACHE.mkdir(parents=True, exist_ok=True)
    wheel = CACHE / HA_WHEEL
    if not wheel.is_file():
        # pip resolves the file's real address; plain urllib would need the hashed path.
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
             "homeassistant==2024.3.3", "-d", str(CACHE)],
            capture_output=True, text=True,
        )
        if done.returncode != 0 or not wheel.is_file():
            raise SystemExit(f"cannot download {HA_WHEEL}: {done.stderr[-1000:]}")
    with zipfile.ZipFile(wheel) as archive:
        members = [name for name in archive.namelist() if name.startswith("homeassistant/") and name.endswith(".py")]
        archive.extractall(target, members)
    return target / "homeassistant"


def measure(command, cwd=None):
    """(wall s, CPU s, peak RSS MiB) of one run: the wall time from a monotonic clock and the
    child's own resource usage from wait4 (GNU time prints the wall time in hundredths of a
    second, too coarse for a cached run of 60 ms)."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        code = child.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    if code not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({code}): {stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def lines_and_bytes(path):
    lines = size = 0
    for file in Path(path).rglob("*.py"):
        data = file.read_bytes()
        lines += data.count(b"\n")
        size += len(data)
    return lines, size


def compare(name, path, loopwise, ruff, runs):
    lines, size = lines_and_bytes(path)
    print(f"\n{name}: {path}  ({lines:,} lines, {size / 1e6:.1f} MB of Python), median of {runs} alternating runs")
    with tempfile.TemporaryDirectory() as ruff_cache, tempfile.TemporaryDirectory() as loopwise_cache:
        # Both run in the tree's folder on `.`, as a user or pre-commit runs them.
        commands = {
            ("loopwise", "cold"): [loopwise, "check", "--no-cache", ".", "--output-format", "concise", "--exit-zero"],
            ("ruff", "cold"): [ruff, "check", "--isolated", "--no-cache", "--select", RUFF_SELECT,
                               "--output-format", "concise", "--exit-zero", "."],
            ("loopwise", "warm"): [loopwise, "check", "--cache-dir", loopwise_cache, ".", "--output-format",
                                   "concise", "--exit-zero"],
            ("ruff", "warm"): [ruff, "check", "--isolated", "--cache-dir", ruff_cache, "--select", RUFF_SELECT,
                               "--output-format", "concise", "--exit-zero", "."],
        }
        # One warm-up run each fills ruff's cache and the page cache for both.
        measure(commands[("ruff", "warm")], cwd=path)
        measure(commands[("loopwise", "warm")], cwd=path)
        results = {key: [] for key in commands}
        for _ in range(runs):
            for key, command in commands.items():
                results[key].append(measure(command, cwd=path))
    table = {key: tuple(statistics.median(run[i] for run in values) for i in range(3)) for key, values in results.items()}
    print("           wall s   CPU s   peak MiB")
    for mode in ("cold", "warm"):
        for tool in ("loopwise", "ruff"):
            wall, cpu, peak = table[(tool, mode)]
            print(f"  {mode} {tool:9} {wall:7.2f} {cpu:7.2f} {peak:9.0f}")
        lw, rf = table[("loopwise", mode)], table[("ruff", mode)]
        print(f"  {mode} ratio     {lw[0] / rf[0]:7.2f} {lw[1] / rf[1]:7.2f} {lw[2] / rf[2]:9.2f}")
    return table


def scaling(path, loopwise, ruff, runs):
    """Cold wall time of both tools on 1, 2 and 4 copies of the tree."""
    print(f"\nscaling, cold, {path.name}: copies -> wall s (loopwise, ruff) and s per copy")
    with tempfile.TemporaryDirectory() as scratch:
        for copies in (1, 2, 4):
            tree = Path(scratch) / f"x{copies}"
            for index in range(copies):
                # Hard links: the same bytes, distinct paths, no copying cost.
                shutil.copytree(path, tree / f"copy{index}", copy_function=os.link)
            lw = statistics.median(measure([loopwise, "check", "--no-cache", ".", "--exit-zero",
                                            "--output-format", "concise"], cwd=tree)[0]
                                   for _ in range(runs))
            rf = statistics.median(measure([ruff, "check", "--isolated", "--no-cache", "--select", RUFF_SELECT,
                                            "--exit-zero", "--output-format", "concise", "."], cwd=tree)[0]
                                   for _ in range(runs))
            print(f"  {copies}x  loopwise {lw:6.2f} s ({lw / copies:5.2f}/copy)   ruff {rf:6.2f} s ({rf / copies:5.2f}/copy)"
                  f"   ratio {lw / rf:5.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ruff", default="/tmp/peers/bin/ruff")
    parser.add_argument("--loopwise", help="a loopwise binary (default: build the release binary)")
    parser.add_argument("--corpus", action="append", type=Path, help="a tree to compare on (repeatable)")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1x/2x/4x copies")
    args = parser.parse_args()
    if not Path(args.ruff).is_file():
        raise SystemExit(f"no ruff at {args.ruff}: python3 -m venv /tmp/peers && /tmp/peers/bin/pip install ruff==0.17.6")
    if args.loopwise:
        # The tools run in the tree's folder, so a relative path given here must not be taken
        # relative to that folder.
        loopwise = str(Path(args.loopwise).resolve())
    else:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        loopwise = str(ROOT / "target" / "release" / "loopwise")
    ruff_version = subprocess.run([args.ruff, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"loopwise: {loopwise}\nruff: {ruff_version} --select {RUFF_SELECT}")
    corpora = [(path.name, path) for path in args.corpus] if args.corpus else []
    if not corpora:
        corpora.append(("Home Assistant 2024.3.3", home_assistant()))
        precision = ROOT / "benches" / "precision" / ".corpus"
        if precision.is_dir():
            corpora.append(("precision corpus", precision))
        else:
            print("\n(no precision corpus: run `python3 benches/precision/run.py download` for the second corpus)")
    for name, path in corpora:
        compare(name, path, loopwise, str(Path(args.ruff).resolve()), args.runs)
    if not args.no_scaling:
        scaling(corpora[0][1], loopwise, args.ruff, max(1, args.runs // 2))


if __name__ == "__main__":
    main()
