use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `@contextlib.contextmanager` on an `async def`, and for
    /// `@contextlib.asynccontextmanager` on a plain `def`.
    ///
    /// ## Why is this bad?
    /// The decorator and the function disagree, and the manager fails the first time it is
    /// used: `contextmanager` calls `next()` on an async generator (a `TypeError`), and
    /// `asynccontextmanager` awaits `__anext__` of a plain generator (an `AttributeError`).
    ///
    /// ## Example
    /// ```python
    /// from contextlib import contextmanager
    ///
    /// @contextmanager
    /// async def connection():
    ///     conn = await connect()
    ///     yield conn
    ///     await conn.close()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// from contextlib import asynccontextmanager
    ///
    /// @asynccontextmanager
    /// async def connection():
    ///     conn = await connect()
    ///     yield conn
    ///     await conn.close()
    /// ```
    ///
    /// ## Fix safety
    /// The fix (swap the decorator) is safe: the code cannot work as written, and the other
    /// decorator is the one the function's kind requires. It replaces the decorator's name and
    /// keeps its module prefix (`contextlib.contextmanager` becomes
    /// `contextlib.asynccontextmanager`); for a from-import it is offered only when the other
    /// name is already imported from `contextlib`. Callers still need `async with` (or `with`).
    ///
    /// ## Known problems
    /// Only decorators the file resolves to `contextlib` count.
    ///
    /// ## References
    /// - [Python docs: `contextlib.asynccontextmanager`](https://docs.python.org/3/library/contextlib.html#contextlib.asynccontextmanager)
    code: "LW604",
    name: "contextmanager-on-async-function",
    summary: "`@contextmanager` on an `async def`, or `@asynccontextmanager` on a plain `def`",
    severity: Error,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "swap the decorator (safe)",
    only_in_async_functions: false,
    // Why: `contextmanager` covers `asynccontextmanager`.
    triggers: ["contextmanager"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, decorator: Node<'_>) {
    let Some(expression) = decorator.named_child(0) else { return };
    let for_async = match checker.semantic.qualified_name(expression).as_deref() {
        Some("contextlib.contextmanager") => false,
        Some("contextlib.asynccontextmanager") => true,
        _ => return,
    };
    let Some(function) = decorator
        .parent()
        .filter(|parent| parent.kind() == "decorated_definition")
        .and_then(|parent| parent.field(&field::DEFINITION))
        .filter(|definition| definition.kind() == "function_definition")
    else {
        return;
    };
    let is_async = function.child(0).is_some_and(|first| first.kind() == "async");
    if is_async == for_async {
        return;
    }
    let (used, wanted, kind) = if for_async {
        ("asynccontextmanager", "contextmanager", "a plain `def`")
    } else {
        ("contextmanager", "asynccontextmanager", "an `async def`")
    };
    let name = match expression.kind() {
        "attribute" => expression.field(&field::ATTRIBUTE),
        "identifier"
            if checker.semantic.name_resolves_to(wanted, decorator.start_byte(), &format!("contextlib.{wanted}")) =>
        {
            Some(expression)
        }
        _ => None,
    };
    // The decorator node runs to the end of its line, comment included: report `@name` alone.
    let diagnostic = checker.report_range(
        Rule::ContextmanagerOnAsyncFunction,
        decorator,
        TextRange::new(decorator.start_byte(), expression.end_byte()),
        format!("`@{used}` on {kind}; use `@{wanted}`"),
    );
    if let Some(name) = name {
        diagnostic.fix =
            Some(Fix::safe_edit(format!("Replace with `@{wanted}`"), Edit::replacement(wanted, TextRange::of(name))));
    }
}
