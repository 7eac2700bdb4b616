use tree_sitter::Node;

use crate::analysis::Checker;
use crate::rules::Rule;
use crate::rules::pytest_support::is_fixture_decorator;

define_rule! {
    /// ## What it does
    /// Checks for async generators (an `async def` containing `yield`) that are not wrapped in
    /// `@contextlib.asynccontextmanager`.
    ///
    /// ## Why is this bad?
    /// When the consumer stops iterating early (a `break`, an exception, a cancellation), the
    /// generator's `finally` blocks and `async with` exits do not run until the generator is
    /// garbage-collected and the event loop's async-generator hooks finalize it, possibly on
    /// another task or never (PEP 533). Cleanup that must happen belongs in a context manager,
    /// or the consumer must close the generator (`contextlib.aclosing`).
    ///
    /// ## Example
    /// ```python
    /// async def rows(pool):
    ///     async with pool.acquire() as connection:
    ///         async for row in connection.cursor("SELECT ..."):
    ///             yield row
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// from contextlib import asynccontextmanager
    ///
    /// @asynccontextmanager
    /// async def rows(pool):
    ///     async with pool.acquire() as connection:
    ///         yield connection.cursor("SELECT ...")
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: turning a generator into a context manager changes every caller.
    ///
    /// ## Known problems
    /// Off by default: most async generators are fine when their consumers use
    /// `contextlib.aclosing`, which the rule cannot see. pytest fixtures are not flagged (pytest
    /// finalizes them).
    ///
    /// ## References
    /// - [PEP 533: deterministic cleanup for iterators](https://peps.python.org/pep-0533/)
    /// - [Python docs: `contextlib.aclosing`](https://docs.python.org/3/library/contextlib.html#contextlib.aclosing)
    code: "LW908",
    name: "unsafe-async-generator",
    summary: "an async generator not wrapped in `@asynccontextmanager`",
    severity: Info,
    enabled: false,
    aliases: ["ASYNC900"],
    peers: "flake8-async",
    fix: "none",
    only_in_async_functions: false,
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, function: Node<'_>) {
    if function.child(0).is_none_or(|first| first.kind() != "async") {
        return;
    }
    let exempt = checker.semantic.decorators(function).into_iter().any(|(_, qualified)| {
        qualified.as_deref().is_some_and(|name| name == "contextlib.asynccontextmanager" || is_fixture_decorator(name))
    });
    let (Some(name), Some(body)) = (function.child_by_field_name("name"), function.child_by_field_name("body")) else {
        return;
    };
    if exempt || checker.semantic.nodes_in_same_scope(body, &["yield"]).is_empty() {
        return;
    }
    checker.report(
        Rule::UnsafeAsyncGenerator,
        name,
        format!(
            "Async generator `{}` may run its cleanup late or never; use `@asynccontextmanager`",
            checker.text(name)
        ),
    );
}
