use tree_sitter::Node;

use crate::analysis::Checker;
use crate::analysis::semantic::is_async_context_manager_decorator;
use crate::analysis::source::{NodeFields, field};
use crate::rules::Rule;
use crate::rules::pytest_support::is_fixture;

define_rule! {
    /// ## What it does
    /// Checks for a `yield` inside `async with asyncio.TaskGroup()` or
    /// `async with asyncio.timeout()` (`timeout_at`, `async_timeout.timeout`) in an async
    /// generator that is not an `@asynccontextmanager`; likewise inside a trio or anyio
    /// nursery (`async with trio.open_nursery()`, `anyio.create_task_group()`) or cancel scope
    /// (`with trio.CancelScope()`, `trio.move_on_after()`, `fail_after()`, their `_at` forms,
    /// anyio's).
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
    /// timeout does not cover the test and exits in another task. A fixture may yield inside a
    /// trio or anyio nursery or cancel scope, though: pytest-trio and anyio's pytest plugin run
    /// its setup and teardown in one task, as flake8-async's ASYNC101 allows. So may a
    /// generator decorated with `@trio.as_safe_channel`, which runs it in a task of its own.
    ///
    /// ## References
    /// - [flake8-async: ASYNC101, ASYNC119](https://flake8-async.readthedocs.io/en/latest/rules.html)
    /// - [PEP 789: Preventing task-cancellation bugs by limiting yield in async generators](https://peps.python.org/pep-0789/)
    code: "LW603",
    name: "yield-in-taskgroup-or-timeout",
    summary: "`yield` inside `async with asyncio.TaskGroup()`/`asyncio.timeout()` (or a trio/anyio nursery or cancel scope) in an async generator",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC101", "ASYNC119"],
    peers: "flake8-async, ruff (preview, 119)",
    fix: "none",
    only_in_async_functions: true,
    triggers: ["yield"],
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

/// trio's and anyio's nurseries and cancel scopes (ASYNC101): the same problem, but a pytest
/// fixture may yield in them (pytest-trio and anyio's plugin run its setup and teardown in one
/// task). The cancel scopes are sync context managers (`with trio.move_on_after(1):`).
const TRIO_ANYIO_SCOPES: &[&str] = &[
    "trio.open_nursery",
    "trio.CancelScope",
    "trio.move_on_after",
    "trio.move_on_at",
    "trio.fail_after",
    "trio.fail_at",
    "anyio.create_task_group",
    "anyio.CancelScope",
    "anyio.move_on_after",
    "anyio.fail_after",
];

pub(crate) fn check(checker: &mut Checker<'_, '_>, yield_node: Node<'_>) {
    let semantic = checker.semantic;
    let Some(function) = semantic.enclosing_function(yield_node.start_byte()) else { return };
    let function = semantic.scope(function);
    if !function.is_async_function() {
        return;
    }
    // `@trio.as_safe_channel` runs the generator in a task of its own, for exactly this.
    if semantic
        .decorator_names(function.node)
        .iter()
        .any(|name| is_async_context_manager_decorator(name) || name == "trio.as_safe_channel")
    {
        return;
    }
    let is_fixture = is_fixture(semantic, function.node)
        || semantic.decorator_names(function.node).iter().any(|name| name == "pytest_trio.trio_fixture");
    let Some((with, manager)) = enclosing_scoped_manager(checker, yield_node, function.node, is_fixture) else {
        return;
    };
    checker.report(
        Rule::YieldInTaskgroupOrTimeout,
        yield_node,
        format!("`yield` inside `{with} {manager}` in an async generator; the consumer's code runs inside it"),
    );
}

/// The keyword (`async with` or `with`) and the name of the innermost manager around `node`,
/// below `function`, that is a task group, a timeout or (but in a pytest fixture) a trio or
/// anyio nursery or cancel scope.
fn enclosing_scoped_manager(
    checker: &Checker<'_, '_>,
    node: Node<'_>,
    function: Node<'_>,
    is_fixture: bool,
) -> Option<(&'static str, String)> {
    let mut child = node;
    let mut current = node.parent();
    while let Some(ancestor) = current {
        if ancestor.id() == function.id() {
            return None;
        }
        let in_body = ancestor.field(&field::BODY).is_some_and(|body| body.id() == child.id());
        if ancestor.kind() == "with_statement" && in_body {
            let is_async = ancestor.child(0).is_some_and(|first| first.kind() == "async");
            if let Some(manager) = scoped_manager(checker, ancestor, is_async, is_fixture) {
                return Some((if is_async { "async with" } else { "with" }, manager));
            }
        }
        child = ancestor;
        current = ancestor.parent();
    }
    None
}

fn scoped_manager(
    checker: &Checker<'_, '_>,
    with_statement: Node<'_>,
    is_async: bool,
    is_fixture: bool,
) -> Option<String> {
    let clause =
        with_statement.named_children(&mut with_statement.walk()).find(|child| child.kind() == "with_clause")?;
    let mut cursor = clause.walk();
    let items: Vec<Node<'_>> = clause.named_children(&mut cursor).filter(|item| item.kind() == "with_item").collect();
    items.into_iter().find_map(|item| {
        let value = item.field(&field::VALUE)?;
        let manager = if value.kind() == "as_pattern" { value.named_child(0)? } else { value };
        let kind = checker.semantic.value_type(manager)?;
        let scoped = (is_async && SCOPED_MANAGERS.contains(&kind.as_str()))
            || (!is_fixture && TRIO_ANYIO_SCOPES.contains(&kind.as_str()));
        scoped.then(|| format!("{kind}()"))
    })
}
