use crate::analysis::{Call, Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for calls to `time.sleep` in an async function.
    ///
    /// ## Why is this bad?
    /// `time.sleep` blocks the thread, and with it the event loop: no other task, callback or
    /// I/O runs until it returns. `await asyncio.sleep(...)` suspends only the current task.
    ///
    /// ## Example
    /// ```python
    /// import time
    ///
    /// async def poll():
    ///     time.sleep(1)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def poll():
    ///     await asyncio.sleep(1)
    /// ```
    ///
    /// ## Fix safety
    /// The fix (replace with `await asyncio.sleep(...)`, adding `import asyncio` when the file
    /// lacks it) is unsafe: other tasks now run during the pause, which can change the order of
    /// events. It is not offered where `await` would not apply to the call alone (`time.sleep(1).x`)
    /// or inside a comprehension. In a trio or anyio module (one that imports `trio` or `anyio`
    /// and not `asyncio`) it writes `await trio.sleep(...)` or `await anyio.sleep(...)`
    /// instead, and never adds `import asyncio`.
    ///
    /// ## Known problems
    /// A nested sync `def`, a lambda and a reference that is not called (`to_thread(time.sleep, 1)`)
    /// are not flagged, because they do not run on the event loop here. Nor is an `async def`
    /// whose every use in the file runs it on a loop of its own in a worker thread
    /// (`Thread(target=asyncio.run, args=(game_loop(),))`, `asyncio.run(main())` in a thread's
    /// target or in `run` of a `threading.Thread` subclass): the sleep holds up that thread
    /// only. A use the file does not show (another module awaiting it) is not seen.
    ///
    /// ## References
    /// - [Python docs: `asyncio.sleep`](https://docs.python.org/3/library/asyncio-task.html#asyncio.sleep)
    code: "LW101",
    name: "blocking-sleep",
    summary: "`time.sleep(...)` in an async function",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC251"],
    peers: "ruff, flake8-async",
    fix: "`await asyncio.sleep(...)`, or `trio.sleep`/`anyio.sleep` in trio and anyio modules (unsafe; adds the import if missing)",
    only_in_async_functions: true,
    triggers: ["sleep"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if call.qualified_name.as_deref() == Some("time.sleep") {
        let semantic = checker.semantic;
        let function = semantic.enclosing_function(call.node.start_byte()).map(|scope| semantic.scope(scope).node);
        if function.is_some_and(|function| semantic.runs_on_worker_thread_loop(function)) {
            return;
        }
        let fix = sleep_fix(checker, call);
        let diagnostic = checker.report(
            Rule::BlockingSleep,
            call.node,
            format!("Blocking call to `time.sleep` {}", checker.semantic.async_place(call.node.start_byte())),
        );
        diagnostic.fix = fix;
    }
}

/// `time.sleep(x)` to `await asyncio.sleep(x)` (`trio.sleep`, `anyio.sleep`: the file's
/// library's), importing the library when the file does not.
fn sleep_fix(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<Fix> {
    if !checker.can_prefix_await(call.node) {
        return None;
    }
    let library = checker.async_library();
    let sleep = library.sleep();
    let prefix = Edit::insertion("await ", call.node.start_byte());
    let callee = Edit::replacement(sleep, TextRange::of(call.callee));
    let title = format!("Replace with `await {sleep}(...)`");
    let mut rest = checker.import_module(library.module(), call.node.start_byte()).into_edits()?;
    rest.push(callee);
    Some(Fix::unsafe_edits(title, prefix, rest))
}
