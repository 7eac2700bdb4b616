use tree_sitter::Node;

use crate::analysis::Checker;
use crate::analysis::source::{NodeFields, field};
use crate::rules::Rule;
use crate::rules::pytest_support::{is_fixture_decorator, is_test_code};

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
    /// finalizes them), and neither is a generator the file hands on as a value
    /// (`Depends(dependency)`, `lifespan=run`): the framework that receives it drives and
    /// closes it. `__aiter__` methods implement the async-iterator protocol, which a context
    /// manager cannot replace; abstract methods (`@abstractmethod`) and stubs whose body only
    /// raises or yields a literal define an interface, not a cleanup. In test code (test
    /// modules and `conftest.py`), a fake stream with no `try` or `with` block has nothing to
    /// clean up and is not flagged either.
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
    triggers: ["yield"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, function: Node<'_>) {
    if function.child(0).is_none_or(|first| first.kind() != "async") {
        return;
    }
    let semantic = checker.semantic;
    let mut is_abstract = false;
    let exempt = semantic.decorators(function).into_iter().any(|(_, qualified)| {
        is_abstract |= qualified.as_deref() == Some("abc.abstractmethod");
        qualified.as_deref().is_some_and(|name| name == "contextlib.asynccontextmanager" || is_fixture_decorator(name))
    });
    let (Some(name), Some(body)) = (function.field(&field::NAME), function.field(&field::BODY)) else {
        return;
    };
    if exempt || semantic.nodes_in_same_scope(body, &["yield"]).is_empty() {
        return;
    }
    // The async-iterator protocol: `async for` drives it, a context manager cannot stand in.
    if checker.text(name) == "__aiter__" || is_abstract || is_stub(body) {
        return;
    }
    // A framework that is handed the generator (`Depends(dependency)`, `lifespan=run`) drives
    // and closes it, as pytest does its fixtures.
    if semantic.is_used_as_value(function) {
        return;
    }
    // A fake stream in test code that holds nothing to clean up has no cleanup to run late.
    if checker.path.is_some_and(is_test_code) && !holds_cleanup(checker, body) {
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

/// A stub that only makes the function an async generator: docstrings, `pass`, `...`,
/// `raise ...` and `yield`s of nothing or a literal (`raise NotImplementedError` then
/// `yield`, `yield b""`).
fn is_stub(body: Node<'_>) -> bool {
    let mut cursor = body.walk();
    body.named_children(&mut cursor).filter(|node| node.kind() != "comment").all(|statement| match statement.kind() {
        "pass_statement" | "raise_statement" => true,
        "expression_statement" => statement.named_child(0).is_some_and(|value| match value.kind() {
            "ellipsis" | "string" | "concatenated_string" => true,
            "yield" => value.named_child(0).is_none_or(|yielded| {
                matches!(yielded.kind(), "string" | "integer" | "float" | "none" | "true" | "false" | "ellipsis")
            }),
            _ => false,
        }),
        _ => false,
    })
}

/// Whether the generator's own body has cleanup that a late close would delay: a `try` with
/// `finally` or handlers, or a `with`/`async with` block.
fn holds_cleanup(checker: &Checker<'_, '_>, body: Node<'_>) -> bool {
    checker.semantic.nodes_in_same_scope(body, &["try_statement", "with_statement"]).into_iter().next().is_some()
}
