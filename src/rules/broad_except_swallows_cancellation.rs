use tree_sitter::Node;

use crate::analysis::Checker;
use crate::analysis::semantic::{may_complete_without_raising, nodes_in_same_scope, suspends};
use crate::rules::Rule;
use crate::rules::cancelled_error_swallowed::{caught_cancelled_error, caught_types, handler_body, is_cancelled_error};

define_rule! {
    /// ## What it does
    /// Checks for a bare `except:` or `except BaseException` in an async function, when the
    /// `try` body awaits, the handler has a path that ends without raising, and no earlier
    /// handler of the same `try` catches `asyncio.CancelledError`.
    ///
    /// ## Why is this bad?
    /// `asyncio.CancelledError` derives from `BaseException` (since Python 3.8), so these
    /// handlers catch the cancellation delivered at the `await` and, by not re-raising, make
    /// the task carry on although it was cancelled: timeouts, `TaskGroup`s and shutdown stop
    /// working.
    ///
    /// ## Example
    /// ```python
    /// async def poll(client):
    ///     try:
    ///         await client.refresh()
    ///     except BaseException:
    ///         log.exception("refresh failed")
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def poll(client):
    ///     try:
    ///         await client.refresh()
    ///     except asyncio.CancelledError:
    ///         raise
    ///     except BaseException:
    ///         log.exception("refresh failed")
    /// ```
    ///
    /// Or catch `Exception`, which does not include `CancelledError`.
    ///
    /// ## Fix safety
    /// There is no fix yet (inserting the `except asyncio.CancelledError: raise` clause is
    /// planned); it would be unsafe, since code after the `try` no longer runs on cancellation.
    ///
    /// ## Known problems
    /// A handler whose body both mentions `CancelledError` and raises (`if isinstance(e,
    /// asyncio.CancelledError): raise`) is taken to re-raise it. Any earlier handler of the same
    /// `try` that catches `CancelledError` keeps this rule quiet: if that handler swallows it,
    /// LW301 reports it there. Awaits in nested functions do not count. A call that always
    /// raises is assumed to return.
    ///
    /// ## References
    /// - [Python docs: task cancellation](https://docs.python.org/3/library/asyncio-task.html#task-cancellation)
    code: "LW302",
    name: "broad-except-swallows-cancellation",
    summary: "bare `except:`/`except BaseException` around an `await` that can swallow cancellation",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC103"],
    peers: "flake8-async",
    fix: "none (inserting `except asyncio.CancelledError: raise` is planned)",
    only_in_async_functions: true,
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, clause: Node<'_>) {
    let types = caught_types(clause);
    let reported = if types.is_empty() {
        let Some(keyword) = clause.child(0) else { return };
        keyword
    } else {
        let Some(base) = types
            .into_iter()
            .find(|caught| checker.semantic.qualified_name(*caught).as_deref() == Some("builtins.BaseException"))
        else {
            return;
        };
        base
    };
    let (Some(body), Some(try_statement)) = (handler_body(clause), clause.parent()) else { return };
    let Some(try_body) = try_statement.child_by_field_name("body") else { return };
    if !suspends(try_body) || !may_complete_without_raising(body) || reraises_cancellation(checker, body) {
        return;
    }
    let mut cursor = try_statement.walk();
    let earlier_catches_cancellation =
        try_statement.named_children(&mut cursor).take_while(|sibling| sibling.id() != clause.id()).any(|sibling| {
            sibling.kind() == "except_clause" && caught_cancelled_error(checker.semantic, sibling).is_some()
        });
    if earlier_catches_cancellation {
        return;
    }
    let message = if reported.kind() == "except" {
        "Bare `except:` around an `await` catches `asyncio.CancelledError` and may not re-raise it"
    } else {
        "`except BaseException` around an `await` catches `asyncio.CancelledError` and may not re-raise it"
    };
    checker.report(Rule::BroadExceptSwallowsCancellation, reported, message.to_string());
}

/// A body that raises somewhere and names `CancelledError` (an `isinstance` test before a
/// bare `raise`) handles cancellation on purpose.
fn reraises_cancellation(checker: &Checker<'_, '_>, body: Node<'_>) -> bool {
    let nodes = nodes_in_same_scope(body);
    nodes.iter().any(|node| node.kind() == "raise_statement")
        && nodes.iter().any(|node| {
            matches!(node.kind(), "identifier" | "attribute")
                && checker.semantic.qualified_name(*node).is_some_and(|qualified| is_cancelled_error(&qualified))
        })
}
