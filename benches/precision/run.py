#!/usr/bin/env python3
"""Precision of loopwise's default rules on a pinned corpus of async projects with their tests.

    python3 benches/precision/run.py download            # fetch, verify and extract the corpus
    python3 benches/precision/run.py run [--loopwise P]  # check every project, print the table
    python3 benches/precision/run.py sample LW104 15     # random findings not yet judged

Stdlib only. It downloads (from PyPI), so it runs outside CI; see README.md beside it. The code
of the corpus is only read, never imported or executed.
"""
import argparse
import hashlib
import io
import json
import random
import subprocess
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CACHE = HERE / ".corpus"
FINDINGS = CACHE / "findings.json"
VERDICTS = HERE / "verdicts.txt"
# Rules off by default that have verdicts (judged with `run --extend-select`).
OFF_BY_DEFAULT = {"LW109"}

# name, version, sdist file, sha256 (as PyPI's JSON API gives it), what it is. None of these
# projects was used to build or tune loopwise. Every sdist ships its test suite.
CORPUS = [
    ("starlette", "1.10.0", "starlette-1.10.0.tar.gz",
     "b8399098d4c1e3522734f7235dc79b1fc967f96cf139c81e0fa30479e0685f9b", "ASGI framework"),
    ("fastapi", "0.165.0", "fastapi-0.165.0.tar.gz",
     "dd94d4128319c1e1d50535ab023ab698f850a4d2822f0e181747b46f4ff3c0ab", "web framework, with docs examples"),
    ("uvicorn", "0.54.0", "uvicorn-0.54.0.tar.gz",
     "a2e33cbfaa0306f8e6b0c13e0cb89d7d7a2da3e62b90c66e18c33d9807b28620", "ASGI server"),
    ("httpx", "0.28.1", "httpx-0.28.1.tar.gz",
     "75e98c5f16b0f35b567856f597f06ff2270a374470a5c2392242528e3e3e42fc", "HTTP client"),
    ("httpcore", "1.0.9", "httpcore-1.0.9.tar.gz",
     "6e34463af53fd2ab5d807f399a9b45ea31c3dfa2276f15a2c3f00afff6e176e8", "HTTP client core, anyio/trio"),
    ("anyio", "4.16.0", "anyio-4.16.0.tar.gz",
     "59bb03251907983d1603d27c3087ddb1e93299ea2163adcdba37899a4fb12ffb", "async library, anyio"),
    ("trio-websocket", "0.12.2", "trio_websocket-0.12.2.tar.gz",
     "22c72c436f3d1e264d0910a3951934798dcc5b00ae56fc4ee079d46c7cf20fae", "WebSocket library, trio"),
    ("asyncclick", "8.4.2.1", "asyncclick-8.4.2.1.tar.gz",
     "8f259376ae8d4fcd91961c8ad3e85e9b63c9cf181a122201c7dfed3d7f6024b8", "CLI framework, anyio"),
    ("aio-pika", "10.2.1", "aio_pika-10.2.1.tar.gz",
     "e4f77afd9179a3cca5a904c3b0a1190256a36d9f90650db908b1b2245eb27487", "AMQP client"),
    ("asyncpg", "0.32.0", "asyncpg-0.32.0.tar.gz",
     "45e64e56714d888330b884aad1dfb363d0bf43fb343e3d1a8968525f3bade478", "PostgreSQL client"),
    ("tortoise-orm", "1.1.9", "tortoise_orm-1.1.9.tar.gz",
     "0399e1aa9518620f8b9c455598ac06ab890332c03e335cfca4b73b48d4e6abaa", "ORM"),
    ("piccolo", "1.38.0", "piccolo-1.38.0.tar.gz",
     "3a6456fb767202baffecf62aa1d9fe22885aa28db3214d5dfb9fa8a48197abd6", "ORM"),
    ("databases", "0.9.0", "databases-0.9.0.tar.gz",
     "d2f259677609bf187737644c95fa41701072e995dfeb8d2882f335795c5b61b0", "database access"),
    ("aiogram", "3.31.0", "aiogram-3.31.0.tar.gz",
     "f2c5064fe52d88898c86af62261c405440a014216e45dd99b2c6555a5602ce30", "Telegram bot framework"),
    ("python-telegram-bot", "22.8", "python_telegram_bot-22.8.tar.gz",
     "f9d3847fcb23ee603477e442800b33bb4adf851a73e0619d2050be879decf1ef", "Telegram bot framework"),
    ("mcp", "2.3.0", "mcp-2.3.0.tar.gz",
     "8b147a50441cf059dc88c684e0aeed3687f0aa0f39c6cde7b90330effd2b34d8", "Model Context Protocol SDK"),
    ("arq", "0.28.0", "arq-0.28.0.tar.gz",
     "a458188aefc2d7ee17d136f80d8fa8df1d6eba4ceebdead87e9f172d027dc311", "task queue"),
    ("taskiq", "0.13.0", "taskiq-0.13.0.tar.gz",
     "7d56609a6c5a20b0c9da67e9f310ec9640266f620b8f81880bccd5f16913e687", "task queue"),
    # Holdout projects (added 2026-12-01), judged after the issue-9 mechanisms were built.
    ("textual", "8.2.8", "textual-8.2.8.tar.gz",
     "3f106a9fbc73e39dd266c9712432087de78a6d644084c7c241d6a25c3169115b", "terminal UI application framework"),
    ("hikari", "2.7.0", "hikari-2.7.0.tar.gz",
     "2a45ed800cb749411c20e665e584d62adbf12b9f0dc70e52e81637fcd4cbf44e", "Discord bot SDK"),
    ("jupyter-server", "2.21.1", "jupyter_server-2.21.1.tar.gz",
     "a8960aa29263f6041283e97d4756b099fb49b767baab6371891ecb1bd40a63df", "Jupyter's web server application"),
    ("gql", "4.4.0", "gql-4.4.0.tar.gz",
     "e54fe470d51347ceb46a04fc88c5553695d2d8c86b05bef13aeee8b8f2d5f61a", "GraphQL client, many transports"),
    ("aiodocker", "0.27.0", "aiodocker-0.27.0.tar.gz",
     "74586f4929aee4563ee7db50996a1a39ac35e06c80701daad31f94aadb6551c7", "Docker API SDK"),
    ("opsdroid", "0.31.0", "opsdroid-0.31.0.tar.gz",
     "3c293103e272e5bc12d5a563dac7e0c366c283e2258e471213224eae8ab9fa04", "chatbot application with many connectors"),
    ("aiomysql", "0.3.2", "aiomysql-0.3.2.tar.gz",
     "72d15ef5cfc34c03468eb41e1b90adb9fd9347b0b589114bd23ead569a02ac1a", "MySQL client"),
    ("motor", "3.7.1", "motor-3.7.1.tar.gz",
     "27b4d46625c87928f331a6ca9d7c51c2f518ba0e270939d395bc1ddc89d64526", "MongoDB driver"),
]

# Folder names loopwise skips by default (src/config/mod.rs DEFAULT_EXCLUDES), for line counts.
EXCLUDED = {".bzr", ".direnv", ".eggs", ".git", ".hg", ".mypy_cache", ".nox", ".pytype", ".ruff_cache",
            ".svn", ".tox", ".venv", "__pypackages__", "_build", "buck-out", "build", "dist",
            "node_modules", "site-packages", "venv"}

# Path parts that make a file test, example or script code (reported apart, for a test-code policy).
TEST_PARTS = {"tests", "test", "testing", "examples", "example", "docs", "docs_src", "scripts", "script",
              "benchmarks", "bench", "tools", "conftest.py"}


def project_root(name, version):
    return CACHE / f"{name}-{version}"


def is_test_path(path):
    parts = Path(path).parts
    return any(part in TEST_PARTS for part in parts) or Path(path).name.startswith("test_")


def download(args):
    CACHE.mkdir(parents=True, exist_ok=True)
    for name, version, filename, sha256, _ in CORPUS:
        target = project_root(name, version)
        if target.is_dir() and not args.force:
            print(f"{name} {version}: present")
            continue
        url, listed = release_file(name, version, filename)
        if listed != sha256:
            raise SystemExit(f"{name} {version}: PyPI now says sha256 {listed}, pinned {sha256}")
        with urllib.request.urlopen(url, timeout=300) as response:
            data = response.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            raise SystemExit(f"{name} {version}: downloaded sha256 {digest}, pinned {sha256}")
        (CACHE / filename).write_bytes(data)
        extract(data, target)
        print(f"{name} {version}: {len(data) // 1024} KiB, sha256 verified, extracted to {target}")


def release_file(name, version, filename):
    """The download URL and PyPI's sha256 of one release file: from the release's JSON API,
    else (a mirror may serve only the project-wide APIs) from the Simple API's JSON form."""
    meta_url = f"https://pypi.org/pypi/{name}/{version}/json"
    try:
        with urllib.request.urlopen(meta_url, timeout=60) as response:
            entries = [(e["filename"], e["url"], e["digests"]["sha256"]) for e in json.load(response)["urls"]]
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        meta_url = f"https://pypi.org/simple/{name}/"
        request = urllib.request.Request(meta_url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            entries = [(e["filename"], e["url"], e["hashes"]["sha256"]) for e in json.load(response)["files"]]
    for found, url, digest in entries:
        if found == filename:
            # Either API may give a URL relative to itself.
            return urllib.parse.urljoin(meta_url, url), digest
    raise SystemExit(f"{name} {version}: {filename} is not among the release's files")


def extract(data, target):
    """Unpack the sdist's single top folder into `target`, refusing paths that leave it."""
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        for member in archive.getmembers():
            parts = Path(member.name).parts
            if len(parts) < 2 or not (member.isfile() or member.isdir()):
                continue
            relative = Path(*parts[1:])
            if relative.is_absolute() or ".." in relative.parts:
                raise SystemExit(f"unsafe path in archive: {member.name}")
            destination = target / relative
            if member.isdir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            if source is not None:
                destination.write_bytes(source.read())


def python_lines(root):
    """Physical lines of the .py/.pyi files loopwise checks under `root`, overall and in test code."""
    total = tests = 0

    def walk(folder):
        nonlocal total, tests
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(".") or entry.name in EXCLUDED:
                continue
            if entry.is_dir():
                walk(entry)
            elif entry.suffix in (".py", ".pyi"):
                count = entry.read_bytes().count(b"\n")
                total += count
                if is_test_path(entry.relative_to(root)):
                    tests += count

    walk(root)
    return total, tests


def read_verdicts():
    """{(project, path, line, code): (verdict, reason, line number in the file)}."""
    verdicts = {}
    if not VERDICTS.exists():
        return verdicts
    for number, raw in enumerate(VERDICTS.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(None, 4)
        if len(fields) < 4 or fields[3] not in ("T", "F", "N") or ":" not in fields[1]:
            raise SystemExit(f"{VERDICTS.name}:{number}: expected `project path:line CODE T|F|N reason`")
        path, _, row = fields[1].rpartition(":")
        key = (fields[0], path, int(row), fields[2])
        if key in verdicts:
            raise SystemExit(f"{VERDICTS.name}:{number}: {fields[1]} {fields[2]} judged twice")
        verdicts[key] = (fields[3], fields[4] if len(fields) > 4 else "", number)
    return verdicts


def run(args):
    if args.loopwise:
        binary = Path(args.loopwise).resolve()
    else:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
        binary = ROOT / "target/release/loopwise"
    findings, lines = [], {}
    for name, version, *_ in CORPUS:
        root = project_root(name, version)
        if not root.is_dir():
            raise SystemExit(f"{root} missing: run `download` first")
        # From the project's root with no path, as a user would: its configuration counts.
        extra = ["--extend-select", ",".join(args.extend_select)] if args.extend_select else []
        done = subprocess.run([str(binary), "check", "--output-format", "json", *extra], cwd=root,
                              capture_output=True, text=True)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{name}: loopwise exited {done.returncode}: {done.stderr[-2000:]}")
        for item in json.loads(done.stdout or "[]"):
            path = Path(item["filename"])
            relative = path.relative_to(root) if path.is_absolute() else path
            findings.append({"project": name, "path": relative.as_posix(), "line": item["location"]["row"],
                             "code": item["code"], "name": item["name"], "message": item["message"],
                             "severity": item["severity"]})
        lines[name] = python_lines(root)
    FINDINGS.write_text(json.dumps({"lines": lines, "findings": findings, "extend_select": args.extend_select},
                                   indent=1))
    report(findings, lines, args.extend_select)


def report(findings, lines, extended=()):
    # The verdicts of an off-by-default rule count only in a run that selected it: otherwise
    # they would all read as findings no longer reported.
    verdicts = {key: value for key, value in read_verdicts().items()
                if key[3] not in OFF_BY_DEFAULT or key[3] in extended}
    total_lines = sum(total for total, _ in lines.values())
    test_lines = sum(tests for _, tests in lines.values())
    print(f"corpus: {len(lines)} projects, {total_lines} lines of Python ({test_lines} in test/example/script code)")
    for name, version, *_ in CORPUS:
        if name in lines:
            count = sum(1 for item in findings if item["project"] == name)
            print(f"  {name:22} {version:10} {lines[name][0]:8} lines {count:6} findings")
    reported = {(item["project"], item["path"], item["line"], item["code"]) for item in findings}
    by_rule = defaultdict(list)
    for item in findings:
        by_rule[item["code"]].append(item)
    judged_by_rule = defaultdict(dict)
    for key, value in verdicts.items():
        judged_by_rule[key[3]][key] = value
    print()
    print("rule   findings  /10k  in-tests  judged: T   F   N  gone   not-false  actionable  noise")
    for code in sorted(set(by_rule) | set(judged_by_rule)):
        items = by_rule.get(code, [])
        in_tests = sum(1 for item in items if is_test_path(item["path"]))
        still = Counter(v[0] for k, v in judged_by_rule[code].items() if k in reported)
        gone = sum(1 for k in judged_by_rule[code] if k not in reported)
        judged = sum(still.values())
        precision = f"{100 * (still['T'] + still['N']) / judged:6.1f}%" if judged else "     -"
        actionable = f"{100 * still['T'] / judged:6.1f}%" if judged else "     -"
        noise = f"{100 * still['N'] / judged:5.1f}%" if judged else "    -"
        per_10k = 10000 * len(items) / total_lines if total_lines else 0
        print(f"{code}  {len(items):8} {per_10k:5.2f}  {in_tests:8}        {still['T']:3} {still['F']:3} {still['N']:3}"
              f"  {gone:4}     {precision}     {actionable}  {noise}")
    print()
    print("judged and still reported, split by where the code is (test = tests, examples, docs, scripts):")
    print("rule   test: T   F   N   other: T   F   N")
    for code in sorted(judged_by_rule):
        split = {True: Counter(), False: Counter()}
        for key, value in judged_by_rule[code].items():
            if key in reported:
                split[is_test_path(key[1])][value[0]] += 1
        t, o = split[True], split[False]
        print(f"{code}      {t['T']:3} {t['F']:3} {t['N']:3}        {o['T']:3} {o['F']:3} {o['N']:3}")
    lost = sorted((k, v) for k, v in verdicts.items() if k not in reported and v[0] == "T")
    gone_other = sorted((k, v) for k, v in verdicts.items() if k not in reported and v[0] != "T")
    if lost:
        print()
        print(f"!!! {len(lost)} TRUE POSITIVES NO LONGER REPORTED (recall lost):")
        for (project, path, row, code), (_, reason, _) in lost:
            print(f"!!!   {project} {path}:{row} {code}  ({reason})")
    if gone_other:
        print()
        print(f"{len(gone_other)} judged F/N findings no longer reported (fixed false positives or noise):")
        for (project, path, row, code), (verdict, reason, _) in gone_other:
            print(f"  {project} {path}:{row} {code} {verdict}  ({reason})")


def sample(args):
    if not FINDINGS.exists():
        raise SystemExit("no findings yet: run `run` first")
    data = json.loads(FINDINGS.read_text())
    verdicts = read_verdicts()
    code = args.rule.upper()
    pool = [item for item in data["findings"] if item["code"] == code
            and (item["project"], item["path"], item["line"], item["code"]) not in verdicts]
    pool.sort(key=lambda item: (item["project"], item["path"], item["line"]))
    picked = random.Random(f"{args.seed}:{code}").sample(pool, min(args.count, len(pool)))
    print(f"{code}: {len(pool)} findings not yet judged, showing {len(picked)}")
    for item in picked:
        root = project_root(item["project"], dict((c[0], c[1]) for c in CORPUS)[item["project"]])
        text = (root / item["path"]).read_text(errors="replace").splitlines()
        row = item["line"]
        print()
        print(f"{item['project']} {item['path']}:{row} {code}  {item['message']}")
        for number in range(max(1, row - args.before), min(len(text), row + args.after) + 1):
            marker = ">>" if number == row else "  "
            print(f"{marker}{number:5} {text[number - 1]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("download", help="fetch, verify and extract the corpus")
    get.add_argument("--force", action="store_true", help="fetch again even when extracted")
    check = commands.add_parser("run", help="check every project and print the table")
    check.add_argument("--loopwise", help="the loopwise binary to run (default: build the release one)")
    check.add_argument("--extend-select", type=lambda text: [code for code in text.split(",") if code], default=[],
                       help="off-by-default rules to run too (LW109,...)")
    table = commands.add_parser("report", help="print the table again from the last run's findings")
    del table
    pick = commands.add_parser("sample", help="random findings of a rule not yet judged, with context")
    pick.add_argument("rule")
    pick.add_argument("count", type=int)
    pick.add_argument("--seed", default="1")
    pick.add_argument("--before", type=int, default=8)
    pick.add_argument("--after", type=int, default=4)
    args = parser.parse_args()
    if args.command == "download":
        download(args)
    elif args.command == "run":
        run(args)
    elif args.command == "report":
        if not FINDINGS.exists():
            raise SystemExit("no findings yet: run `run` first")
        data = json.loads(FINDINGS.read_text())
        report(data["findings"], data["lines"], data.get("extend_select", []))
    else:
        sample(args)


if __name__ == "__main__":
    sys.exit(main())
