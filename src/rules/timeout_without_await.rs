use tree_sitter::Node;

use crate::analysis::Checker;
use crate::analysis::semantic::suspends;
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `async with asyncio.timeout(...)` and `async with asyncio.timeout_at(...)`
    /// blocks whose body has no `await`, `async for` or `async with`.
    ///
    /// ## Why is this bad?
    /// An asyncio timeout cancels the task at its next suspension point. A body that never
    /// suspends cannot be interrupted, so the timeout does nothing; usually the `await` that
    /// was meant to be bounded sits after the block, or a blocking call is inside it.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def read(reader):
    ///     async with asyncio.timeout(5):
    ///         request = reader.read(100)
    ///     return await request
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def read(reader):
    ///     async with asyncio.timeout(5):
    ///         return await reader.read(100)
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix yet: removing the block and dedenting its body is left to another
    /// change, and the right fix is often to move an `await` into the block instead.
    ///
    /// ## Known problems
    /// Awaits in nested functions, lambdas and classes do not count: they do not run in the
    /// block. `async_timeout.timeout` and anyio scopes are not checked.
    ///
    /// ## References
    /// - [Python docs: `asyncio.timeout`](https://docs.python.org/3/library/asyncio-task.html#asyncio.timeout)
    code: "LW405",
    name: "timeout-without-await",
    summary: "`async with asyncio.timeout(...)` whose body never awaits",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC100"],
    peers: "ruff, flake8-async",
    fix: "none (removing the block and dedenting is planned)",
    only_in_async_functions: true,
}

/// `with_statement` is an `async with`; `manager` one of its context managers.
pub(crate) fn check(checker: &mut Checker<'_, '_>, with_statement: Node<'_>, manager: Node<'_>) {
    let call = if manager.kind() == "as_pattern" { manager.named_child(0).unwrap_or(manager) } else { manager };
    if call.kind() != "call" {
        return;
    }
    let Some(callee) = call.child_by_field_name("function") else { return };
    let Some(qualified) = checker.semantic.qualified_name(callee) else { return };
    let name = match qualified.as_str() {
        "asyncio.timeout" | "asyncio.timeouts.timeout" => "timeout",
        "asyncio.timeout_at" | "asyncio.timeouts.timeout_at" => "timeout_at",
        _ => return,
    };
    let Some(body) = with_statement.child_by_field_name("body") else { return };
    // Entering another manager of the same `async with` awaits its `__aenter__` inside the scope.
    let mut cursor = with_statement.walk();
    let items: usize = with_statement
        .named_children(&mut cursor)
        .filter(|child| child.kind() == "with_clause")
        .map(|clause| clause.named_child_count())
        .sum();
    if items > 1 || suspends(body) {
        return;
    }
    checker.report(
        Rule::TimeoutWithoutAwait,
        call,
        format!("`asyncio.{name}()` block has no `await`, so the timeout can never fire"),
    );
}
