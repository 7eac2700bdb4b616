use crate::analysis::{Call, Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for calls to `asyncio.get_event_loop()` in an async function.
    ///
    /// ## Why is this bad?
    /// In a coroutine there is always a running loop, and `asyncio.get_running_loop()` returns
    /// it and says so. `get_event_loop()` has policy-dependent behaviour outside a running loop
    /// (it is deprecated there and may create a new loop), so readers and later refactorings
    /// (moving the code into a sync helper) cannot rely on it.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def fetch(path):
    ///     loop = asyncio.get_event_loop()
    ///     return await loop.run_in_executor(None, read, path)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def fetch(path):
    ///     loop = asyncio.get_running_loop()
    ///     return await loop.run_in_executor(None, read, path)
    /// ```
    ///
    /// ## Fix safety
    /// The fix (replace with `asyncio.get_running_loop()`) is safe: inside a coroutine both
    /// return the running loop. It is offered when the callee is spelled through the `asyncio`
    /// module (`asyncio.get_event_loop`, `aio.get_event_loop`); for
    /// `from asyncio import get_event_loop` there is no fix, since `get_running_loop` may not be
    /// imported.
    ///
    /// ## Known problems
    /// A nested sync `def` or a lambda inside the coroutine is not flagged: it may run where no
    /// loop is running.
    ///
    /// ## References
    /// - [Python docs: `asyncio.get_running_loop`](https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.get_running_loop)
    /// - [Python docs: `asyncio.get_event_loop`](https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.get_event_loop)
    code: "LW502",
    name: "get-event-loop-in-coroutine",
    summary: "`asyncio.get_event_loop()` in an async function",
    severity: Warning,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "`asyncio.get_running_loop()` (safe)",
    only_in_async_functions: true,
    triggers: ["get_event_loop"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if !matches!(call.qualified_name.as_deref(), Some("asyncio.get_event_loop" | "asyncio.events.get_event_loop")) {
        return;
    }
    let diagnostic = checker.report(
        Rule::GetEventLoopInCoroutine,
        call.node,
        "`asyncio.get_event_loop()` in async function; use `asyncio.get_running_loop()`".to_string(),
    );
    // Only `<module>.get_event_loop`: a from-import binds no name for `get_running_loop`.
    if let Some(name) = call.method_name_node() {
        diagnostic.fix = Some(Fix::safe_edit(
            "Replace with `asyncio.get_running_loop()`",
            Edit::replacement("get_running_loop", TextRange::of(name)),
        ));
    }
}
