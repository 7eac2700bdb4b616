use tree_sitter::Node;

use crate::analysis::Checker;
use crate::analysis::semantic::is_async_context_manager_decorator;
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for a `yield` inside `async with asyncio.TaskGroup()` or
    /// `async with asyncio.timeout()` (`timeout_at`, `async_timeout.timeout`) in an async
    /// generator that is not an `@asynccontextmanager`.
    ///
    /// ## Why is this bad?
    /// At the `yield`, control goes to the consumer with the group or the timeout still open.
    /// The consumer's code then runs "inside" it without being so: a timeout cancels whatever
    /// the generator's task happens to run when it fires, a failing child task cancels the
    /// wrong code, and if the consumer stops iterating the generator is closed later (or
    /// never), from another task, so the group or timeout exits in the wrong task.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def ticks(source):
    ///     async with asyncio.timeout(10):
    ///         async for tick in source:
    ///             yield tick
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def ticks(source):
    ///     async for tick in source:
    ///         yield tick
    ///
    /// async def consume(source):
    ///     async with asyncio.timeout(10):
    ///         async for tick in ticks(source):
    ///             ...
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: the group or timeout has to move to the consumer.
    ///
    /// ## Known problems
    /// An `@asynccontextmanager` (from `contextlib`) is exempt: its single `yield` is the
    /// documented way to wrap the caller's block. pytest fixtures are not exempt: with
    /// pytest-asyncio a fixture's setup and teardown run in different tasks, so the group or
    /// timeout does not cover the test and exits in another task.
    ///
    /// ## References
    /// - [flake8-async: ASYNC101, ASYNC119](https://flake8-async.readthedocs.io/en/latest/rules.html)
    /// - [PEP 789: Preventing task-cancellation bugs by limiting yield in async generators](https://peps.python.org/pep-0789/)
    code: "LW603",
    name: "yield-in-taskgroup-or-timeout",
    summary: "`yield` inside `async with asyncio.TaskGroup()`/`asyncio.timeout()` in an async generator",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC101", "ASYNC119"],
    peers: "flake8-async, ruff (preview, 119)",
    fix: "none",
    only_in_async_functions: true,
}

const SCOPED_MANAGERS: &[&str] = &[
    "asyncio.TaskGroup",
    "asyncio.taskgroups.TaskGroup",
    "asyncio.timeout",
    "asyncio.timeout_at",
    "asyncio.timeouts.timeout",
    "asyncio.timeouts.timeout_at",
    "async_timeout.timeout",
    "async_timeout.timeout_at",
];

pub(crate) fn check(checker: &mut Checker<'_, '_>, yield_node: Node<'_>) {
    let semantic = checker.semantic;
    let Some(function) = semantic.enclosing_function(yield_node.start_byte()) else { return };
    let function = semantic.scope(function);
    if !function.is_async_function() {
        return;
    }
    if semantic.decorator_names(function.node).iter().any(|name| is_async_context_manager_decorator(name)) {
        return;
    }
    let Some(manager) = enclosing_scoped_manager(checker, yield_node, function.node) else { return };
    checker.report(
        Rule::YieldInTaskgroupOrTimeout,
        yield_node,
        format!("`yield` inside `async with {manager}` in an async generator; the consumer's code runs inside it"),
    );
}

/// The name of the innermost `async with` manager around `node`, below `function`, that is a
/// task group or a timeout.
fn enclosing_scoped_manager(checker: &Checker<'_, '_>, node: Node<'_>, function: Node<'_>) -> Option<String> {
    let mut child = node;
    let mut current = node.parent();
    while let Some(ancestor) = current {
        if ancestor.id() == function.id() {
            return None;
        }
        let in_body = ancestor.child_by_field_name("body").is_some_and(|body| body.id() == child.id());
        let is_async_with =
            ancestor.kind() == "with_statement" && ancestor.child(0).is_some_and(|first| first.kind() == "async");
        if is_async_with
            && in_body
            && let Some(manager) = scoped_manager(checker, ancestor)
        {
            return Some(manager);
        }
        child = ancestor;
        current = ancestor.parent();
    }
    None
}

fn scoped_manager(checker: &Checker<'_, '_>, with_statement: Node<'_>) -> Option<String> {
    let clause =
        with_statement.named_children(&mut with_statement.walk()).find(|child| child.kind() == "with_clause")?;
    let mut cursor = clause.walk();
    let items: Vec<Node<'_>> = clause.named_children(&mut cursor).filter(|item| item.kind() == "with_item").collect();
    items.into_iter().find_map(|item| {
        let value = item.child_by_field_name("value")?;
        let manager = if value.kind() == "as_pattern" { value.named_child(0)? } else { value };
        let kind = checker.semantic.value_type(manager)?;
        SCOPED_MANAGERS.contains(&kind.as_str()).then(|| format!("{kind}()"))
    })
}
