#!/usr/bin/env python3
"""loopwise server against ruff server, side by side in one run: how long after each keystroke
the diagnostics of that very version arrive (issue 11's goals: typing in a function body of a
20k-line file, median <= 0.2x ruff's and p95 <= 0.5x; a 100k-line file's median at most 2x the
20k-line one's; opening within 1.5x of tree-sitter's own parse; RSS after opening the 100k-line
file and after 1,000 edits).

    python3 benches/keystroke.py [--ruff /tmp/peers/bin/ruff] [--keys 120] [--only 20k] [--extend-select LW109]

The files are real code: aiohttp 3.11.18 and redis 5.2.1 (sdists from PyPI, downloaded once into
benches/.corpus/, git-ignored), their modules concatenated until 20,000 and 100,000 lines. Each
server is a plain stdio client away: this script speaks JSON-RPC itself, advertises push
diagnostics with versions and no pull, opens the file, then types one character at a time and
waits for the `publishDiagnostics` of each version before the next key. Scenarios alternate
between the servers. The downloaded code is read by the servers, never run.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import jsonrpc

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benches" / ".corpus"
PACKAGES = [("aiohttp", "3.11.18", "aiohttp"), ("redis", "5.2.1", "redis")]
# The rules of ruff's that loopwise's default set covers (the peers named in docs/rules.md).
RUFF_SELECT = ["ASYNC", "RUF006", "UP041", "PLE1142"]
# Rules loopwise runs besides its defaults (`--extend-select`, for an off-by-default rule's cost).
EXTEND_SELECT = []


def sources():
    """The Python modules of the two packages, largest first, as texts."""
    texts = []
    for name, version, package in PACKAGES:
        target = CACHE / f"{name}-{version}"
        if not (target / package).is_dir():
            CACHE.mkdir(parents=True, exist_ok=True)
            archive = CACHE / f"{name}-{version}.tar.gz"
            if not archive.is_file():
                done = subprocess.run(
                    [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                     f"{name}=={version}", "-d", str(CACHE)],
                    capture_output=True, text=True,
                )
                if done.returncode != 0 or not archive.is_file():
                    raise SystemExit(f"cannot download {name} {version}: {done.stderr[-1000:]}")
            with tarfile.open(archive) as tar:
                tar.extractall(CACHE, filter="data")
        for path in sorted((target / package).rglob("*.py")):
            texts.append(path.read_text(encoding="utf-8"))
    texts.sort(key=len, reverse=True)
    return texts


def build_file(texts, lines):
    """Modules concatenated (repeating them if need be) until the text has `lines` lines."""
    parts, count, index = [], 0, 0
    while count < lines:
        text = texts[index % len(texts)]
        if not text.endswith("\n"):
            text += "\n"
        parts.append(text)
        count += text.count("\n")
        index += 1
    return "".join(parts)


class Server:
    """One language server on stdio, and the messages it sent, read on a thread."""

    def __init__(self, name, command, folder):
        self.name = name
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, cwd=folder)
        self.condition = threading.Condition()
        self.published = {}  # uri -> (version, count, arrival time)
        self.responses = {}
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        uri = Path(folder).as_uri()
        self.request("initialize", {
            "processId": os.getpid(),
            "rootUri": uri,
            "workspaceFolders": [{"uri": uri, "name": "bench"}],
            "capabilities": {
                "general": {"positionEncodings": ["utf-16"]},
                "textDocument": {
                    "synchronization": {"didSave": False},
                    "publishDiagnostics": {"versionSupport": True},
                },
                "workspace": {"configuration": False, "workspaceFolders": True},
            },
            "initializationOptions": (
                {"settings": {"lint": {"select": RUFF_SELECT}}} if name == "ruff"
                else {"extend-select": EXTEND_SELECT} if EXTEND_SELECT else {}
            ),
        })
        self.notify("initialized", {})

    def _read(self):
        while True:
            message = jsonrpc.read_message(self.process.stdout)
            if message is None:
                return
            now = time.perf_counter()
            with self.condition:
                if message.get("method") == "textDocument/publishDiagnostics":
                    params = message["params"]
                    self.published[params["uri"]] = (params.get("version"), len(params["diagnostics"]), now)
                elif "id" in message and "method" in message:
                    # A request from the server (configuration, registration): answer null.
                    self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
                elif "id" in message:
                    self.responses[message["id"]] = message
                self.condition.notify_all()

    def _send(self, message):
        self.process.stdin.write(jsonrpc.frame(message))
        self.process.stdin.flush()

    def notify(self, method, params):
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params, timeout=120):
        self.next_id += 1
        ident = self.next_id
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        with self.condition:
            if not self.condition.wait_for(lambda: ident in self.responses, timeout):
                raise SystemExit(f"{self.name}: no answer to {method} in {timeout} s")
            return self.responses.pop(ident)

    def wait_published(self, uri, version, timeout=120):
        """The arrival time and count of the diagnostics of `version`."""
        with self.condition:
            if not self.condition.wait_for(
                lambda: self.published.get(uri, (None,))[0] == version, timeout
            ):
                raise SystemExit(f"{self.name}: no diagnostics of version {version} in {timeout} s "
                                 f"(last: {self.published.get(uri)})")
            _, count, arrival = self.published[uri]
            return arrival, count

    def rss_mib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self):
        try:
            self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        except Exception:  # noqa: BLE001 - a bench tidying up; kill whatever is left
            self.process.kill()


class Session:
    """An open document in one server, and the versions sent to it."""

    def __init__(self, server, path, text):
        self.server, self.uri, self.text, self.version = server, Path(path).as_uri(), text, 1
        start = time.perf_counter()
        server.notify("textDocument/didOpen", {"textDocument": {
            "uri": self.uri, "languageId": "python", "version": 1, "text": text}})
        arrival, self.count = server.wait_published(self.uri, 1)
        self.open_seconds = arrival - start

    def edit(self, offset, removed, inserted, wait=True):
        """Replaces `removed` characters at `offset` (a str index) with `inserted`."""
        start_position = position(self.text, offset)
        end_position = position(self.text, offset + removed)
        self.text = self.text[:offset] + inserted + self.text[offset + removed:]
        self.version += 1
        sent = time.perf_counter()
        self.server.notify("textDocument/didChange", {
            "textDocument": {"uri": self.uri, "version": self.version},
            "contentChanges": [{"range": {"start": start_position, "end": end_position}, "text": inserted}],
        })
        if not wait:
            return None
        arrival, self.count = self.server.wait_published(self.uri, self.version)
        return arrival - sent


def position(text, offset):
    """The LSP position (UTF-16) of a str index."""
    line = text.count("\n", 0, offset)
    line_start = text.rfind("\n", 0, offset) + 1
    column = len(text[line_start:offset].encode("utf-16-le")) // 2
    return {"line": line, "character": column}


def body_offset(text):
    """Where to type code: a new line in the middle of a method body, at its indentation."""
    middle = len(text) // 2
    index = text.find("\n        return ", middle)
    if index < 0:
        raise SystemExit("no method body to type in")
    return index + 1, " " * 8


def comment_offset(text):
    middle = len(text) // 2
    index = text.find("  # ", middle)
    if index < 0:
        index = text.find("# ", middle)
    return text.find("\n", index)


def keystrokes(text, indent):
    """`text` as an editor receives it typed: a character at a time, a line break with the
    indentation that the editor's auto-indent adds in the same change (typed without it, the
    next line would start at column 0 and end the class, a change of the file's structure)."""
    return ["\n" + indent if key == "\n" else key for key in text]


def type_keys(session, offset, keys):
    """Types `keys` one at a time at `offset`; the latency of each."""
    latencies = []
    for key in keys:
        latencies.append(session.edit(offset, 0, key))
        offset += len(key)
    return latencies


CODE = "value = await self._request(key, timeout=10)  # x\n"
COMMENT = " and so the connection is released here"


def scenarios(text, keys):
    """(name, function typing into a session) for every measured kind of edit."""
    body, indent = body_offset(text)
    code = (CODE * (keys // len(CODE) + 1))[:keys]
    comment_at = comment_offset(text)
    comment = (COMMENT * (keys // len(COMMENT) + 1))[:keys]

    def in_body(session):
        session.edit(body, 0, indent + "\n")
        return type_keys(session, body + len(indent), keystrokes(code, indent))

    def in_body_paired(session):
        """As an editor that closes brackets does (VS Code's default): `(` inserts `()`, and
        typing `)` before an inserted `)` only moves past it."""
        session.edit(body, 0, indent + "\n")
        at, pending, latencies = body + len(indent), 0, []
        for key in keystrokes(code, indent):
            if key == ")" and pending:
                pending -= 1
                at += 1
                continue
            inserted = "()" if key == "(" else key
            pending += inserted == "()"
            latencies.append(session.edit(at, 0, inserted))
            at += 1 if inserted == "()" else len(inserted)  # between the brackets
        return latencies

    def in_comment(session):
        return type_keys(session, comment_at, comment)

    def dependencies(session):
        """Edits that change what other code depends on, each measured once."""
        times = []
        sync_def = session.text.find("\n    def ", len(session.text) // 3) + 5
        times.append(session.edit(sync_def, 0, "async "))  # a method becomes a coroutine function
        times.append(session.edit(sync_def, 6, ""))  # and back
        times.append(session.edit(0, 0, "import time\n"))  # an import added
        times.append(session.edit(0, 12, ""))  # and removed
        top = session.text.find("\nclass ", len(session.text) // 2) + 1
        times.append(session.edit(top, 0, "LIMIT = 10\n"))  # a module-level binding
        times.append(session.edit(top, 11, ""))
        header_end = session.text.find(":\n", top) + 2
        times.append(session.edit(header_end, 0, "    async def added(self):\n        pass\n"))  # a method
        times.append(session.edit(header_end, 40, ""))
        return times

    return [("typing in a method body", in_body), ("same, brackets paired", in_body_paired),
            ("typing in a comment", in_comment),
            ("edits others depend on", dependencies)]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def parse_floor(path):
    """tree-sitter's own full parse of the file, in seconds (each of its rounds)."""
    done = subprocess.run(["cargo", "bench", "--quiet", "--bench", "parse_floor", "--", str(path)],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"parse_floor failed: {done.stderr[-1000:]}")
    seconds = [float(line.split("parsed in ")[1].split(" s")[0]) for line in done.stdout.splitlines()
               if "parsed in " in line]
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ruff", default="/tmp/peers/bin/ruff")
    parser.add_argument("--keys", type=int, default=120, help="keys typed per scenario")
    parser.add_argument("--only", choices=["20k", "100k"])
    parser.add_argument("--edits", type=int, default=1000, help="edits before the last RSS reading")
    parser.add_argument("--extend-select", default="", help="loopwise rules besides the defaults (LW109,...)")
    args = parser.parse_args()
    EXTEND_SELECT.extend(code for code in args.extend_select.split(",") if code)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    loopwise = [str(ROOT / "target/release/loopwise"), "server"]
    ruff = [args.ruff, "server"]
    texts = sources()
    sizes = [("20k", 20_000), ("100k", 100_000)]
    medians = {}
    for label, lines in sizes:
        if args.only and args.only != label:
            continue
        text = build_file(texts, lines)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "big_module.py"
            path.write_text(text, encoding="utf-8")
            # Measured before the servers run and again after them (below): the machine's
            # speed drifts, and the opens are spread over the whole run.
            floors = parse_floor(path)
            floor = statistics.median(floors)
            print(f"\n== {label}: {text.count(chr(10)):,} lines, {len(text.encode()) / 1e6:.2f} MB; "
                  f"tree-sitter's full parse {floor * 1000:.1f} ms")
            results = {}
            for name, command in (("loopwise", loopwise), ("ruff", ruff)):
                server = Server(name, command, folder)
                session = Session(server, path, text)
                results[name] = {"opens": [session.open_seconds], "rss open": server.rss_mib(), "count": session.count}
                server.close()
            for scenario, run in scenarios(text, args.keys):
                for name, command in (("loopwise", loopwise), ("ruff", ruff)):
                    server = Server(name, command, folder)
                    session = Session(server, path, text)
                    results[name]["opens"].append(session.open_seconds)
                    results[name][scenario] = run(session)
                    server.close()
            # RSS after many edits: typed as fast as they come, then the last version awaited.
            for name, command in (("loopwise", loopwise), ("ruff", ruff)):
                server = Server(name, command, folder)
                session = Session(server, path, text)
                results[name]["opens"].append(session.open_seconds)
                body, indent = body_offset(text)
                session.edit(body, 0, indent + "\n")
                offset = body + len(indent)
                keys = keystrokes(CODE, indent)
                for index in range(args.edits):
                    key = keys[index % len(keys)]
                    session.edit(offset, 0, key, wait=False)
                    offset += len(key)
                server.wait_published(session.uri, session.version, timeout=600)
                results[name]["rss edits"] = server.rss_mib()
                server.close()
            floors += parse_floor(path)
            floor = statistics.median(floors)
            lw, rf = results["loopwise"], results["ruff"]
            # Every scenario opens the file in a fresh server: the median of those opens, as a
            # single one swung by a third between runs.
            for tool in (lw, rf):
                tool["open"] = statistics.median(tool["opens"])
            print(f"open (median of {len(lw['opens'])}): loopwise {lw['open'] * 1000:.1f} ms, ruff {rf['open'] * 1000:.1f} ms, "
                  f"tree-sitter's parse {floor * 1000:.1f} ms (before and after), "
                  f"loopwise / parse {lw['open'] / floor:.2f} (goal <= 1.5), loopwise / ruff {lw['open'] / rf['open']:.2f}")
            print(f"findings at open: loopwise {lw['count']}, ruff {rf['count']}")
            print(f"{'scenario':<26} {'loopwise med / p95 ms':>22} {'ruff med / p95 ms':>20} {'ratio med / p95':>16}")
            for scenario, _ in scenarios(text, args.keys):
                a, b = lw[scenario], rf[scenario]
                am, ap, bm, bp = (statistics.median(a) * 1000, percentile(a, 0.95) * 1000,
                                  statistics.median(b) * 1000, percentile(b, 0.95) * 1000)
                print(f"{scenario:<26} {am:>10.2f} / {ap:>8.2f} {bm:>9.2f} / {bp:>8.2f} {am / bm:>7.2f} / {ap / bp:>6.2f}")
                medians[(label, scenario)] = am
            print(f"RSS MiB: loopwise {lw['rss open']:.0f} after opening, {lw['rss edits']:.0f} after "
                  f"{args.edits} edits; ruff {rf['rss open']:.0f} and {rf['rss edits']:.0f}")
    scenario = "typing in a method body"
    if ("20k", scenario) in medians and ("100k", scenario) in medians:
        growth = medians[("100k", scenario)] / medians[("20k", scenario)]
        print(f"\nloopwise, 100k-line median / 20k-line median, typing in a body: {growth:.2f} (goal <= 2)")


if __name__ == "__main__":
    main()
