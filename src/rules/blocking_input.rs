use crate::analysis::{Call, Checker};
use crate::rules::Rule;

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
    /// Wrapping in `asyncio.to_thread` is unsafe: the call then runs in another thread.
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
    fix: "wrap in `await asyncio.to_thread(...)` (unsafe)",
    only_in_async_functions: true,
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if call.qualified_name.as_deref() == Some("builtins.input") {
        checker.report(Rule::BlockingInput, call.node, "Blocking call to `input` in async function".to_string());
    }
}
