use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, ExceptHandler};
use crate::rules::Rule;
use crate::rules::cancelled_error_swallowed::is_cancelled_error;

define_rule! {
    /// ## What it does
    /// Checks for `await` in an `except` handler that does not catch cancellation, on a path
    /// that goes on to raise (`raise`, `raise e`, `raise X from e`).
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
    /// flagged, and neither are awaits on a path that returns, breaks or continues instead of
    /// raising (the exception is dropped anyway).
    /// `await asyncio.shield(...)` is not flagged, nor an `await` inside a shielded trio or
    /// anyio scope (`with trio.CancelScope(shield=True):`, `anyio.move_on_after(..., shield=True)`).
    /// `trio.Cancelled` counts as cancellation; a handler of `anyio.get_cancelled_exc_class()`
    /// (a call, whose value the file does not show) is not flagged.
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
    triggers: ["except"],
}

/// Types whose handler also catches cancellation (`asyncio.CancelledError`, `trio.Cancelled`).
fn catches_cancellation(qualified: &str) -> bool {
    is_cancelled_error(qualified)
        || matches!(
            qualified,
            "builtins.BaseException" | "concurrent.futures.CancelledError" | "builtins.BaseExceptionGroup"
        )
}

/// Whether `awaited` runs shielded from cancellation: `await asyncio.shield(...)`, or inside
/// a `with trio.CancelScope(shield=True):` (anyio's too, and their `move_on_after`/`fail_after`
/// with `shield=True`) within the handler.
fn is_shielded(checker: &Checker<'_, '_>, awaited: Node<'_>, handler_body: Node<'_>) -> bool {
    let shield_call = awaited
        .named_child(0)
        .filter(|value| value.kind() == "call")
        .and_then(|call| call.field(&field::FUNCTION))
        .and_then(|callee| checker.semantic.qualified_name(callee))
        .is_some_and(|qualified| qualified == "asyncio.shield");
    if shield_call {
        return true;
    }
    let mut current = awaited.parent();
    while let Some(node) = current.filter(|node| node.id() != handler_body.id()) {
        if node.kind() == "with_statement" && opens_shielded_scope(checker, node) {
            return true;
        }
        current = node.parent();
    }
    false
}

fn opens_shielded_scope(checker: &Checker<'_, '_>, with_statement: Node<'_>) -> bool {
    let Some(clause) = with_statement.named_child(0).filter(|clause| clause.kind() == "with_clause") else {
        return false;
    };
    let mut cursor = clause.walk();
    let items: Vec<Node<'_>> = clause.named_children(&mut cursor).collect();
    items.into_iter().filter_map(|item| item.field(&field::VALUE)).any(|value| {
        let call = if value.kind() == "as_pattern" { value.named_child(0) } else { Some(value) };
        let Some(call) = call.filter(|call| call.kind() == "call") else { return false };
        let is_scope = call
            .field(&field::FUNCTION)
            .and_then(|callee| checker.semantic.qualified_name(callee))
            .is_some_and(|qualified| {
                matches!(
                    qualified.as_str(),
                    "trio.CancelScope"
                        | "trio.move_on_after"
                        | "trio.move_on_at"
                        | "trio.fail_after"
                        | "trio.fail_at"
                        | "anyio.CancelScope"
                        | "anyio.move_on_after"
                        | "anyio.fail_after"
                )
            });
        let Some(arguments) = call.field(&field::ARGUMENTS) else { return false };
        let mut cursor = arguments.walk();
        let shield = arguments.named_children(&mut cursor).any(|argument| {
            argument.kind() == "keyword_argument"
                && argument.field(&field::NAME).is_some_and(|name| checker.text(name) == "shield")
                && argument.field(&field::VALUE).is_some_and(|value| checker.text(value) == "True")
        });
        is_scope && shield
    })
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
    for awaited in checker.semantic.nodes_in_same_scope(handler.body, &["await"]) {
        if is_shielded(checker, awaited, handler.body) || !reaches_raise(checker, awaited, handler.body) {
            continue;
        }
        checker.report(
            Rule::AwaitInExceptHandler,
            awaited,
            "`await` in an `except` handler: a cancellation here discards the exception being handled".to_string(),
        );
    }
}

/// Whether the path from `awaited` goes on to a `raise` of the handler: a later statement of
/// the same block or of an enclosing block (up to the handler's body) raises or holds a raise,
/// with no `return`, `break` or `continue` before it. A path that leaves otherwise was dropping
/// the exception anyway.
fn reaches_raise(checker: &Checker<'_, '_>, awaited: Node<'_>, handler_body: Node<'_>) -> bool {
    let Some(mut statement) = enclosing_statement_in_block(awaited) else { return false };
    match statement.kind() {
        "raise_statement" => return !drops_context(checker, statement),
        "return_statement" => return false,
        _ => {}
    }
    loop {
        let mut sibling = statement.next_named_sibling();
        while let Some(next) = sibling {
            if leaves_without_raising(next) {
                return false;
            }
            let raises = checker.semantic.nodes_in_same_scope(next, &["raise_statement"]);
            if raises.into_iter().any(|raise| !drops_context(checker, raise)) {
                return true;
            }
            sibling = next.next_named_sibling();
        }
        let Some(block) = statement.parent() else { return false };
        if block.id() == handler_body.id() {
            return false;
        }
        let Some(outer) = enclosing_statement_in_block(block) else { return false };
        statement = outer;
    }
}

/// The nearest ancestor of `node` (itself included) whose parent is a block.
fn enclosing_statement_in_block(node: Node<'_>) -> Option<Node<'_>> {
    let mut current = node;
    loop {
        let parent = current.parent()?;
        if parent.kind() == "block" {
            return Some(current);
        }
        current = parent;
    }
}

/// `raise X from None` discards the handled exception on purpose.
fn drops_context(checker: &Checker<'_, '_>, raise: Node<'_>) -> bool {
    raise.field(&field::CAUSE).is_some_and(|cause| checker.text(cause) == "None")
}

/// A `return`, `break` or `continue`, or an `if` whose every branch (with an `else`) ends in
/// one: the path leaves here.
fn leaves_without_raising(statement: Node<'_>) -> bool {
    match statement.kind() {
        "return_statement" | "break_statement" | "continue_statement" => true,
        "if_statement" => {
            let mut cursor = statement.walk();
            let clauses: Vec<Node<'_>> = statement.named_children(&mut cursor).collect();
            let has_else = clauses.iter().any(|clause| clause.kind() == "else_clause");
            let blocks = std::iter::once(statement.field(&field::CONSEQUENCE)).chain(
                clauses
                    .iter()
                    .filter(|clause| matches!(clause.kind(), "elif_clause" | "else_clause"))
                    .map(|clause| clause.field(&field::CONSEQUENCE).or_else(|| clause.field(&field::BODY))),
            );
            has_else
                && blocks.into_iter().all(|block| {
                    block
                        .and_then(|block| {
                            let mut cursor = block.walk();
                            block.named_children(&mut cursor).filter(|child| child.kind() != "comment").last()
                        })
                        .is_some_and(leaves_without_raising)
                })
        }
        _ => false,
    }
}
