use crate::analysis::{Call, Checker};
use crate::rules::Rule;
use crate::rules::to_thread_fix::to_thread_fix;

define_rule! {
    /// ## What it does
    /// Checks for calls to the builtin `input()` in an async function.
    ///
    /// ## Why is this bad?
    /// `input()` waits for a line on standard input and blocks the event loop until the user
    /// types it: every other task stops.
    ///
    /// ## Example
    /// ```python
    /// async def ask():
    ///     return input("name? ")
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def ask():
    ///     return await asyncio.to_thread(input, "name? ")
    /// ```
    ///
    /// ## Fix safety
    /// The fix wraps the call in `await asyncio.to_thread(...)` (`input("> ")` becomes
    /// `await asyncio.to_thread(input, "> ")`), adding `import asyncio` when the file lacks it.
    /// It is unsafe: other tasks now run while the prompt waits, and may print over it; a
    /// cancelled task leaves the thread waiting for its line. It is offered for plain calls
    /// only: `await` must apply to the call alone (not `input().strip()`, not in a
    /// comprehension) and no argument may await.
    /// Targets before Python 3.9 (no `asyncio.to_thread`) get no fix. In a trio or anyio
    /// module (one that imports `trio` or `anyio` and not `asyncio`) the fix uses that
    /// library's worker thread instead, `await trio.to_thread.run_sync(f, a)` or
    /// `await anyio.to_thread.run_sync(f, a)`, with `functools.partial(f, a, key=value)` when
    /// the call passes keywords (`run_sync` passes on positional arguments only); there a
    /// cancellation waits until the thread returns. It never adds `import asyncio` there.
    ///
    /// ## Known problems
    /// A local function or variable named `input` shadows the builtin and is not flagged.
    ///
    /// ## References
    /// - [Python docs: `asyncio.to_thread`](https://docs.python.org/3/library/asyncio-task.html#asyncio.to_thread)
    code: "LW105",
    name: "blocking-input",
    summary: "`input()` in an async function",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC250"],
    peers: "ruff, flake8-async",
    fix: "wrap in `await asyncio.to_thread(...)`, or `trio.to_thread.run_sync`/`anyio.to_thread.run_sync` in trio and anyio modules (unsafe, plain calls only)",
    only_in_async_functions: true,
    triggers: ["input"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if call.qualified_name.as_deref() != Some("builtins.input") {
        return;
    }
    let fix = to_thread_fix(checker, call);
    let place = checker.semantic.async_place(call.node.start_byte());
    let diagnostic = checker.report(Rule::BlockingInput, call.node, format!("Blocking call to `input` {place}"));
    diagnostic.fix = fix;
}
