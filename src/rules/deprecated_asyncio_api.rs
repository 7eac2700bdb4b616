use tree_sitter::Node;

use crate::analysis::{Call, Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for asyncio APIs that are deprecated or already removed: the
    /// `@asyncio.coroutine` decorator (removed in Python 3.11), the `loop=` argument of
    /// asyncio functions and classes that dropped it in Python 3.10 (`sleep`, `wait_for`,
    /// `wait`, `gather`, `shield`, `as_completed`, the queues and locks, the stream and
    /// subprocess helpers), `asyncio.get_child_watcher()`/`set_child_watcher()` (deprecated in
    /// 3.12, removed in 3.14) and `asyncio.iscoroutinefunction()` (deprecated in 3.14).
    ///
    /// ## Why is this bad?
    /// Removed APIs fail at run time on current Python (`TypeError: unexpected keyword
    /// argument 'loop'`, `AttributeError: module 'asyncio' has no attribute 'coroutine'`);
    /// deprecated ones warn now and fail on the next upgrade. Editors show these findings as
    /// deprecated code.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def pause(loop):
    ///     await asyncio.sleep(1, loop=loop)
    ///
    /// def is_async(function):
    ///     return asyncio.iscoroutinefunction(function)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    /// import inspect
    ///
    /// async def pause():
    ///     await asyncio.sleep(1)
    ///
    /// def is_async(function):
    ///     return inspect.iscoroutinefunction(function)
    /// ```
    ///
    /// ## Fix safety
    /// Where a one-token replacement exists it is offered as safe: `asyncio.iscoroutinefunction`
    /// becomes `inspect.iscoroutinefunction` when the file already imports `inspect`. The other
    /// findings need a rewrite (`async def` for `@asyncio.coroutine`) or a decision (which loop
    /// the code meant), so they have no fix.
    ///
    /// ## Known problems
    /// Only calls and decorators are checked: `asyncio.iscoroutinefunction` passed as a value
    /// is not flagged. Functions that still accept `loop=` (`ensure_future`,
    /// `run_coroutine_threadsafe`, `Future`, `Task`, `wrap_future`) are not flagged.
    ///
    /// ## References
    /// - [Python 3.10: removed `loop` parameters](https://docs.python.org/3/whatsnew/3.10.html#removed)
    /// - [Python 3.11: removed `@asyncio.coroutine`](https://docs.python.org/3/whatsnew/3.11.html#removed)
    /// - [Python 3.14: deprecated `asyncio.iscoroutinefunction`](https://docs.python.org/3/whatsnew/3.14.html#deprecated)
    code: "LW507",
    name: "deprecated-asyncio-api",
    summary: "deprecated or removed asyncio APIs: `@asyncio.coroutine`, `loop=` arguments, child watchers, `asyncio.iscoroutinefunction` (deprecation)",
    severity: Warning,
    enabled: true,
    aliases: [],
    peers: "pylint (partly)",
    fix: "`inspect.iscoroutinefunction` (safe, when `inspect` is imported)",
    only_in_async_functions: false,
    triggers: ["asyncio"],
}

/// Members of `asyncio` whose `loop` parameter was removed in Python 3.10.
const LOOP_PARAMETER_REMOVED: &[&str] = &[
    "sleep",
    "wait_for",
    "wait",
    "gather",
    "shield",
    "as_completed",
    "Queue",
    "LifoQueue",
    "PriorityQueue",
    "Lock",
    "Event",
    "Condition",
    "Semaphore",
    "BoundedSemaphore",
    "open_connection",
    "start_server",
    "open_unix_connection",
    "start_unix_server",
    "create_subprocess_exec",
    "create_subprocess_shell",
];

pub(crate) fn check_call(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    let Some(qualified) = call.qualified_name.as_deref() else { return };
    let Some(member) = qualified.strip_prefix("asyncio.") else { return };
    let name = member.rsplit('.').next().unwrap_or(member);
    match name {
        "get_child_watcher" | "set_child_watcher" => {
            checker.report(
                Rule::DeprecatedAsyncioApi,
                call.node,
                format!("`asyncio.{name}()` is deprecated since Python 3.12 and removed in 3.14"),
            );
        }
        "iscoroutinefunction" => {
            let fix = (call.callee.kind() == "attribute"
                && checker.semantic.name_resolves_to("inspect", call.node.start_byte(), "inspect"))
            .then(|| {
                Fix::safe_edit(
                    "Replace with `inspect.iscoroutinefunction`",
                    Edit::replacement("inspect.iscoroutinefunction", TextRange::of(call.callee)),
                )
            });
            let diagnostic = checker.report(
                Rule::DeprecatedAsyncioApi,
                call.node,
                "`asyncio.iscoroutinefunction()` is deprecated since Python 3.14; use `inspect.iscoroutinefunction()`"
                    .to_string(),
            );
            diagnostic.fix = fix;
        }
        _ if LOOP_PARAMETER_REMOVED.contains(&name) => {
            let Some(loop_value) = call.keyword_argument(checker.semantic, "loop") else { return };
            let Some(argument) = loop_value.parent() else { return };
            checker.report(
                Rule::DeprecatedAsyncioApi,
                argument,
                format!("The `loop` argument of `asyncio.{name}()` was removed in Python 3.10"),
            );
        }
        _ => {}
    }
}

pub(crate) fn check_decorator(checker: &mut Checker<'_, '_>, decorator: Node<'_>) {
    let Some(expression) = decorator.named_child(0) else { return };
    if !matches!(
        checker.semantic.qualified_name(expression).as_deref(),
        Some("asyncio.coroutine" | "asyncio.coroutines.coroutine")
    ) {
        return;
    }
    checker.report_range(
        Rule::DeprecatedAsyncioApi,
        decorator,
        TextRange::new(decorator.start_byte(), expression.end_byte()),
        "`@asyncio.coroutine` was removed in Python 3.11; use `async def`".to_string(),
    );
}
