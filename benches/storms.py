#!/usr/bin/env python3
"""Storms against `loopwise server` in push-diagnostics mode (issue 14, items 7 and 11): how many
`publishDiagnostics` a burst of opens or watched-file events costs, how long a hover waits behind
one, and what indexing a big workspace folder costs.

    python3 benches/storms.py [--server target/release/loopwise] [--only opens,hover,watched,index]

- opens: 300 documents opened one after the other (unsaved: their files are not on disk), then
  the publishes counted until the server is quiet for 3 s. Linear is 300.
- hover: 1,000 opens, then at once a hover on the first document: the time until all 1,000 are
  published and how long the hover waited for its answer.
- watched: 50 open documents, then 200 `workspace/didChangeWatchedFiles` for a module none of them
  imports (rewritten on disk each time), then 200 for a `pyproject.toml`: the publishes that
  follow each burst (the re-lints).
- index: a generated folder of 50,000 Python modules (and a git-ignored folder of 10,000 more),
  or `--tree FOLDER`, as the workspace folder: the modules indexed, the time until the index's
  `$/progress` ends, the peak and final RSS.

Each scenario starts a fresh server. The script speaks JSON-RPC over the server's stdio itself.
"""
import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import jsonrpc

ROOT = Path(__file__).resolve().parent.parent
QUIET = 3.0


class Server:
    """One `loopwise server` on stdio, and what it sent, read on a thread."""

    def __init__(self, command, folder=None):
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
        self.condition = threading.Condition()
        self.publishes = 0
        self.published = {}  # uri -> count of publishes
        self.responses = {}
        self.progress_end = None
        self.progress_message = None
        self.logs = []
        self.last_message = time.perf_counter()
        self.next_id = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        params = {
            "processId": os.getpid(),
            "capabilities": {
                "window": {"workDoneProgress": True},
                "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}},
                "textDocument": {"publishDiagnostics": {"versionSupport": True}},
            },
        }
        if folder is not None:
            params["workspaceFolders"] = [{"uri": Path(folder).as_uri(), "name": "bench"}]
        self.request("initialize", params)
        self.initialized_at = time.perf_counter()
        self.notify("initialized", {})

    def _read(self):
        while True:
            message = jsonrpc.read_message(self.process.stdout)
            if message is None:
                return
            now = time.perf_counter()
            with self.condition:
                self.last_message = now
                method = message.get("method")
                if method == "textDocument/publishDiagnostics":
                    self.publishes += 1
                    uri = message["params"]["uri"]
                    self.published[uri] = self.published.get(uri, 0) + 1
                elif method == "$/progress" and message["params"]["value"].get("kind") == "end":
                    self.progress_end = now
                    self.progress_message = message["params"]["value"].get("message")
                elif method == "window/logMessage":
                    self.logs.append(message["params"]["message"])
                elif "id" in message and method is not None:
                    self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
                elif "id" in message:
                    self.responses[message["id"]] = (message, now)
                self.condition.notify_all()

    def _send(self, message):
        with self.lock:
            self.process.stdin.write(jsonrpc.frame(message))
            self.process.stdin.flush()

    def notify(self, method, params):
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def send_request(self, method, params):
        with self.condition:
            self.next_id += 1
            ident = self.next_id
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        return ident

    def wait_response(self, ident, timeout=900):
        with self.condition:
            if not self.condition.wait_for(lambda: ident in self.responses, timeout):
                raise SystemExit(f"no answer to request {ident} in {timeout} s")
            return self.responses.pop(ident)

    def request(self, method, params, timeout=900):
        return self.wait_response(self.send_request(method, params), timeout)[0]

    def wait(self, predicate, timeout=900):
        with self.condition:
            if not self.condition.wait_for(lambda: predicate(self), timeout):
                raise SystemExit(f"the server did not get there in {timeout} s")

    def quiet(self):
        """Waits until nothing arrived for `QUIET` seconds, counted from this call at the
        earliest (a re-lint may wait for a burst to end); returns when the last message came."""
        called = time.perf_counter()
        while True:
            with self.condition:
                since = time.perf_counter() - max(self.last_message, called)
                if since >= QUIET:
                    return self.last_message
            time.sleep(QUIET - since + 0.01)

    def status(self, key):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self):
        try:
            self.request("shutdown", None, timeout=30)
            self.notify("exit", None)
            self.process.wait(timeout=30)
        except BaseException:  # a bench tidying up: kill whatever is left
            self.process.kill()


def document(index):
    return f"import time\n\n\nasync def job_{index}():\n    time.sleep(1)\n"


def open_documents(server, folder, count):
    uris = []
    for index in range(count):
        uri = (Path(folder) / f"m{index}.py").as_uri()
        server.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": document(index)}})
        uris.append(uri)
    return uris


def opens(command):
    with tempfile.TemporaryDirectory() as folder:
        server = Server(command)
        open_documents(server, folder, 300)
        server.wait(lambda s: len(s.published) == 300)
        server.quiet()
        most = max(server.published.values())
        print(f"opens: 300 opens -> {server.publishes} publishes (at most {most} for one document)")
        server.close()


def hover(command):
    with tempfile.TemporaryDirectory() as folder:
        server = Server(command)
        start = time.perf_counter()
        uris = open_documents(server, folder, 1000)
        asked = time.perf_counter()
        ident = server.send_request("textDocument/hover", {
            "textDocument": {"uri": uris[0]}, "position": {"line": 4, "character": 6}})
        answer, answered = server.wait_response(ident)
        server.wait(lambda s: len(s.published) == 1000)
        last = server.quiet()
        found = "an answer" if answer.get("result") else f"no hover ({answer})"
        print(f"hover: 1,000 opens published in {last - start:.2f} s ({server.publishes} publishes); "
              f"the hover waited {answered - asked:.3f} s ({found})")
        server.close()


def watched(command):
    with tempfile.TemporaryDirectory() as folder:
        unrelated = Path(folder) / "unrelated.py"
        unrelated.write_text("def helper():\n    return 0\n")
        server = Server(command, folder)
        open_documents(server, folder, 50)
        server.wait(lambda s: len(s.published) == 50)
        server.quiet()
        before = server.publishes
        for event in range(200):
            keyword = "async def" if event % 2 == 0 else "def"
            unrelated.write_text(f"{keyword} helper():\n    return {event}\n")
            server.notify("workspace/didChangeWatchedFiles",
                          {"changes": [{"uri": unrelated.as_uri(), "type": 2}]})
        server.quiet()
        print(f"watched: 200 watched-file events, 50 open documents -> {server.publishes - before} re-lints")
        before = server.publishes
        pyproject = Path(folder) / "pyproject.toml"
        for event in range(200):
            pyproject.write_text(f"# {event}\n")
            server.notify("workspace/didChangeWatchedFiles",
                          {"changes": [{"uri": pyproject.as_uri(), "type": 2}]})
        server.quiet()
        print(f"watched: 200 pyproject.toml events, 50 open documents -> {server.publishes - before} re-lints")
        server.close()


def generated_tree():
    """50,000 modules in 500 packages, and 10,000 more in a git-ignored folder; made once."""
    tree = Path(tempfile.gettempdir()) / "loopwise-storms-tree"
    done = tree / ".complete"
    if done.is_file():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    (tree / ".gitignore").write_text("build/\n")
    for top, packages in [(tree / "src", 500), (tree / "build", 100)]:
        for package in range(packages):
            folder = top / f"pkg{package}"
            folder.mkdir(parents=True)
            (folder / "__init__.py").write_text("")
            for module in range(99):
                body = "".join(f"async def fetch_{n}(client):\n    return await client.get({n})\n\n"
                               for n in range(20))
                (folder / f"mod{module}.py").write_text(f"import asyncio\nimport time\n\n{body}")
    done.write_text("")
    return tree


def index(command, tree=None):
    tree = tree or generated_tree()
    server = Server(command, tree)
    server.wait(lambda s: s.progress_end is not None)
    took = server.progress_end - server.initialized_at
    peak, now = server.status("VmHWM:"), server.status("VmRSS:")
    capped = [log for log in server.logs if "index" in log]
    print(f"index: {tree}: {server.progress_message} in {took:.2f} s; "
          f"RSS peak {peak:.0f} MiB, after {now:.0f} MiB; log: {capped}")
    server.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", default=str(ROOT / "target" / "release" / "loopwise"))
    parser.add_argument("--only", default="opens,hover,watched,index")
    parser.add_argument("--tree", help="index this folder instead of the generated one")
    arguments = parser.parse_args()
    command = [arguments.server, "server"]
    scenarios = {"opens": opens, "hover": hover, "watched": watched,
                 "index": lambda command: index(command, arguments.tree)}
    for name in arguments.only.split(","):
        scenarios[name](command)


if __name__ == "__main__":
    main()
