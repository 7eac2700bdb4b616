use crate::analysis::{Checker, ExceptHandler};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `await` in an `except` handler that does not catch cancellation and that
    /// raises again (`raise`, `raise e`, `raise X from e`).
    ///
    /// ## Why is this bad?
    /// If the task is cancelled while the handler awaits, `CancelledError` is raised at the
    /// `await` and replaces the exception being handled: the `raise` below never runs and the
    /// original error is lost (it survives only as `__context__`).
    ///
    /// ## Example
    /// ```python
    /// async def save(record):
    ///     try:
    ///         await db.insert(record)
    ///     except IntegrityError:
    ///         await db.rollback()
    ///         raise
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def save(record):
    ///     try:
    ///         await db.insert(record)
    ///     except IntegrityError:
    ///         await asyncio.shield(db.rollback())
    ///         raise
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: shielding, a timeout or moving the cleanup out are all design choices.
    ///
    /// ## Known problems
    /// Off by default: cleanup awaits in handlers are common and usually harmless. Handlers
    /// that catch cancellation (bare `except:`, `BaseException`, `CancelledError`) are not
    /// flagged, and neither are handlers that never raise (the exception is dropped anyway).
    /// `await asyncio.shield(...)` is not flagged.
    ///
    /// ## References
    /// - [Python docs: task cancellation](https://docs.python.org/3/library/asyncio-task.html#task-cancellation)
    code: "LW904",
    name: "await-in-except-handler",
    summary: "an `await` in a non-cancellation `except` handler",
    severity: Info,
    enabled: false,
    aliases: ["ASYNC120"],
    peers: "flake8-async",
    fix: "none",
    only_in_async_functions: true,
}

/// Types whose handler also catches `asyncio.CancelledError`.
fn catches_cancellation(qualified: &str) -> bool {
    matches!(
        qualified,
        "builtins.BaseException"
            | "asyncio.CancelledError"
            | "asyncio.exceptions.CancelledError"
            | "concurrent.futures.CancelledError"
            | "builtins.BaseExceptionGroup"
    )
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, handler: &ExceptHandler<'_>) {
    if handler.types.is_empty() {
        return;
    }
    for caught in &handler.types {
        match checker.semantic.qualified_name(*caught) {
            Some(qualified) if !catches_cancellation(&qualified) => {}
            // An unresolved type may be a cancellation alias: do not guess.
            _ => return,
        }
    }
    let nodes = checker.semantic.nodes_in_same_scope(handler.body, &["await", "raise_statement"]);
    let Some(last_raise) = nodes.iter().rev().find(|node| node.kind() == "raise_statement") else { return };
    let last_raise = last_raise.start_byte();
    for awaited in nodes.into_iter().filter(|node| node.kind() == "await" && node.start_byte() < last_raise) {
        let shielded = awaited
            .named_child(0)
            .filter(|value| value.kind() == "call")
            .and_then(|call| call.child_by_field_name("function"))
            .and_then(|callee| checker.semantic.qualified_name(callee))
            .is_some_and(|qualified| qualified == "asyncio.shield");
        if shielded {
            continue;
        }
        checker.report(
            Rule::AwaitInExceptHandler,
            awaited,
            "`await` in an `except` handler: a cancellation here discards the exception being handled".to_string(),
        );
    }
}
