use crate::analysis::{AsyncLibrary, Call, Checker, Edit, Fix, PythonVersion, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `loop.run_in_executor(None, func, *args)`: running a sync function in the
    /// loop's default thread pool through the low-level loop API.
    ///
    /// ## Why is this bad?
    /// `asyncio.to_thread(func, *args)` (Python 3.9+) does the same with the running loop, takes
    /// keyword arguments, and carries the caller's `contextvars` into the thread (with
    /// `run_in_executor` a context variable set in the task is not seen by `func`). It also
    /// does not need a loop object fetched first.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def load(path):
    ///     loop = asyncio.get_running_loop()
    ///     return await loop.run_in_executor(None, read_file, path)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def load(path):
    ///     return await asyncio.to_thread(read_file, path)
    /// ```
    ///
    /// ## Fix safety
    /// The fix (replace with `asyncio.to_thread(func, *args)`) is unsafe: `func` now sees the
    /// caller's context variables, and the thread runs for the running loop rather than for
    /// the receiver (they differ only if the receiver is another loop). It is offered only when
    /// the call is awaited at once in an async function (`to_thread` returns a coroutine, not a
    /// future, so a stored result could not be cancelled or given callbacks the same way), when
    /// `asyncio` is imported as a module, and for a target of Python 3.9 or later.
    ///
    /// ## Known problems
    /// Any receiver of a method named `run_in_executor` counts, with `None` as its first
    /// argument: the receiver is rarely shown to be a loop in the same file (`self._loop`,
    /// `hass.loop`), and no other common API shares this name and signature. A trio or anyio
    /// module (one that imports `trio` or `anyio` and not `asyncio`) has no asyncio loop, so
    /// nothing is reported there.
    ///
    /// ## References
    /// - [Python docs: `asyncio.to_thread`](https://docs.python.org/3/library/asyncio-task.html#asyncio.to_thread)
    /// - [Python docs: `loop.run_in_executor`](https://docs.python.org/3/library/asyncio-eventloop.html#asyncio.loop.run_in_executor)
    code: "LW504",
    name: "run-in-executor-default-pool",
    summary: "`loop.run_in_executor(None, f, *args)` instead of `asyncio.to_thread(f, *args)`",
    severity: Info,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "`asyncio.to_thread(f, *args)` (unsafe)",
    only_in_async_functions: false,
    triggers: ["run_in_executor"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>, in_async_function: bool) {
    // `run_in_executor` is an asyncio loop's method; a trio or anyio module has none.
    if checker.async_library() != AsyncLibrary::Asyncio
        || call.receiver().is_none()
        || call.method_name(checker.semantic) != Some("run_in_executor")
    {
        return;
    }
    let positional = call.positional_arguments();
    let Some((executor, rest)) = positional.split_first() else { return };
    if executor.kind() != "none" || rest.is_empty() {
        return;
    }
    let fix = fix(checker, call, rest, in_async_function);
    let diagnostic = checker.report(
        Rule::RunInExecutorDefaultPool,
        call.node,
        "`run_in_executor(None, ...)` runs in the default pool; use `asyncio.to_thread(...)`".to_string(),
    );
    diagnostic.fix = fix;
}

fn fix(
    checker: &Checker<'_, '_>,
    call: &Call<'_>,
    rest: &[tree_sitter::Node<'_>],
    in_async_function: bool,
) -> Option<Fix> {
    let awaited = call.node.parent().is_some_and(|parent| parent.kind() == "await");
    if !in_async_function || !awaited || checker.settings.target_version < (PythonVersion { major: 3, minor: 9 }) {
        return None;
    }
    if !checker.semantic.name_resolves_to("asyncio", call.node.start_byte(), "asyncio") {
        return None;
    }
    // Every named child must be a plain positional argument: no keywords, no comments to lose.
    let mut cursor = call.arguments.walk();
    if call.arguments.named_children(&mut cursor).count() != rest.len() + 1 {
        return None;
    }
    let arguments: Vec<&str> = rest.iter().map(|argument| checker.text(*argument)).collect();
    Some(Fix::unsafe_edit(
        "Replace with `asyncio.to_thread(...)`",
        Edit::replacement(format!("asyncio.to_thread({})", arguments.join(", ")), TextRange::of(call.node)),
    ))
}
