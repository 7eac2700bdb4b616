"""How much of a tree skipping definitions unparsed could save: the share of its bytes in
synchronous `def`s (module level and methods) whose text holds none of the triggers of the
default rules that report outside `async def`s (LW201's and LW602's `async`/`import` aside),
and, of those, the ones that call no name any `async def` of the tree has (what LW201 would
need to see). Python's own `ast` reads the files; nothing is run.

    python3 benches/skip_estimate.py benches/.corpus/homeassistant-2024.3.3/homeassistant

The trigger list is the union of the `triggers` of the rules with
`only_in_async_functions: false` in src/rules/ (less `async` and `import`).
"""
import ast
import os
import re
import sys

TRIGGERS = ("AsyncClient ClientSession ExceptionGroup Queue TCPConnector TimeoutError asyncio await contextmanager "
            "create_task ensure_future except exceptions pytest run_in_executor run_until_complete socket timeout "
            "yield").split()


def python_files(root):
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def sync_definitions(body):
    for node in body:
        if isinstance(node, ast.ClassDef):
            yield from sync_definitions(node.body)
        elif isinstance(node, ast.FunctionDef):
            yield node


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    sources = {}
    async_names = set()
    for path in python_files(sys.argv[1]):
        with open(path, encoding="utf-8", errors="replace") as file:
            source = file.read()
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        sources[path] = (source, tree)
        async_names.update(node.name for node in ast.walk(tree) if isinstance(node, ast.AsyncFunctionDef))
    calls = re.compile(r"\b(" + "|".join(sorted(map(re.escape, async_names), key=len, reverse=True)) + r")\s*\(")
    total = trigger_free = also_no_async_call = 0
    for source, tree in sources.values():
        data = source.encode()
        total += len(data)
        starts = [0]
        for line in source.splitlines(keepends=True):
            starts.append(starts[-1] + len(line.encode()))
        for definition in sync_definitions(tree.body):
            start, end = starts[definition.lineno - 1], starts[definition.end_lineno]
            text = data[start:end].decode(errors="replace")
            if "async" in text or any(trigger in text for trigger in TRIGGERS):
                continue
            trigger_free += end - start
            if not (async_names and calls.search(text)):
                also_no_async_call += end - start
    print(f"{len(sources)} files, {total / 1e6:.1f} MB, {len(async_names)} names of async functions")
    print(f"synchronous definitions without a trigger: {100 * trigger_free / total:.1f}% of the bytes")
    print(f"  of which call no async function's name: {100 * also_no_async_call / total:.1f}% of the bytes")


if __name__ == "__main__":
    main()
