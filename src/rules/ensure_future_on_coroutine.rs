use tree_sitter::Node;

use crate::analysis::semantic::ScopeKind;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `asyncio.ensure_future(<call>)`: wrapping a freshly created coroutine in a
    /// task with the function meant for "anything awaitable".
    ///
    /// Reported in async functions, in sync callbacks defined inside one (they run on its
    /// loop) and wherever `loop=` names the loop; not in other sync code (`__del__`, plain
    /// functions), which may run with no running loop, where `create_task` would raise.
    ///
    /// ## Why is this bad?
    /// `asyncio.create_task(coro)` says what happens (a task is scheduled on the running loop),
    /// takes a `name=` and a `context=`, and fails loudly when no loop is running, where
    /// `ensure_future` falls back to `get_event_loop()` (deprecated there). The asyncio docs
    /// recommend `create_task` for coroutines.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def main():
    ///     task = asyncio.ensure_future(worker())
    ///     await task
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def main():
    ///     task = asyncio.create_task(worker())
    ///     await task
    /// ```
    ///
    /// ## Fix safety
    /// The fix (replace with `asyncio.create_task(...)`) is unsafe: if the call returns a future
    /// rather than a coroutine, `create_task` raises a `TypeError`. It is offered only in an
    /// async function (where a loop runs), for a single argument, and when the callee is
    /// spelled through the `asyncio` module.
    ///
    /// ## Known problems
    /// Calls known to return futures or tasks (`gather`, `shield`, `run_in_executor`,
    /// `create_future`, `wrap_future`, `create_task`, `ensure_future`,
    /// `run_coroutine_threadsafe`) are not flagged; any other call is taken to make a coroutine.
    ///
    /// ## References
    /// - [Python docs: `asyncio.create_task`](https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task)
    /// - [Python docs: `asyncio.ensure_future`](https://docs.python.org/3/library/asyncio-future.html#asyncio.ensure_future)
    code: "LW506",
    name: "ensure-future-on-coroutine",
    summary: "`asyncio.ensure_future(<call>)` instead of `asyncio.create_task(<call>)`",
    severity: Info,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "`asyncio.create_task(<call>)` (unsafe)",
    only_in_async_functions: false,
    triggers: ["ensure_future"],
}

/// Callees whose result is already a future or a task, not a coroutine.
const FUTURE_FACTORIES: &[&str] = &[
    "gather",
    "shield",
    "run_in_executor",
    "create_future",
    "wrap_future",
    "create_task",
    "ensure_future",
    "run_coroutine_threadsafe",
    "Future",
    "Task",
];

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>, in_async_function: bool) {
    if !matches!(call.qualified_name.as_deref(), Some("asyncio.ensure_future" | "asyncio.tasks.ensure_future")) {
        return;
    }
    // `create_task` needs a running loop. Sync code has one when it is a callback defined inside
    // a coroutine, or names its loop; elsewhere (`__del__`, module level, a plain function)
    // `ensure_future` may be what keeps it working with no running loop.
    let explicit_loop = call.keyword_argument(checker.semantic, "loop").is_some();
    if !in_async_function && !explicit_loop && !inside_a_coroutine(checker, call.node.start_byte()) {
        return;
    }
    let positional = call.positional_arguments();
    let Some(argument) = positional.first() else { return };
    if argument.kind() != "call" || returns_future(checker, *argument) {
        return;
    }
    let mut cursor = call.arguments.walk();
    let only_argument = call.arguments.named_children(&mut cursor).count() == 1;
    let fixable = in_async_function && only_argument;
    let name = call.method_name_node();
    // With an explicit loop, the modern spelling is that loop's own `create_task`.
    let replacement = if explicit_loop { "loop.create_task()" } else { "asyncio.create_task()" };
    let diagnostic = checker.report(
        Rule::EnsureFutureOnCoroutine,
        call.node,
        format!("`asyncio.ensure_future()` on a coroutine; use `{replacement}`"),
    );
    if let Some(name) = name.filter(|_| fixable) {
        diagnostic.fix = Some(Fix::unsafe_edit(
            "Replace with `asyncio.create_task(...)`",
            Edit::replacement("create_task", TextRange::of(name)),
        ));
    }
}

pub(crate) fn returns_future(checker: &Checker<'_, '_>, call: Node<'_>) -> bool {
    let Some(callee) = call.field(&field::FUNCTION) else { return true };
    let name = match callee.kind() {
        "attribute" => callee.field(&field::ATTRIBUTE).map_or("", |name| checker.text(name)),
        "identifier" => checker.text(callee),
        _ => return false,
    };
    FUTURE_FACTORIES.contains(&name)
}

/// Whether some function enclosing `position` is an `async def`.
fn inside_a_coroutine(checker: &Checker<'_, '_>, position: usize) -> bool {
    let semantic = checker.semantic;
    let mut scope = Some(semantic.scope_at(position));
    while let Some(id) = scope {
        let current = semantic.scope(id);
        if current.kind == (ScopeKind::Function { is_async: true }) {
            return true;
        }
        scope = current.parent;
    }
    false
}
