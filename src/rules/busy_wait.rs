use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `while` loops whose body only sleeps (`await asyncio.sleep(...)`), or only
    /// sleeps and leaves the loop on a condition (`if done: break`).
    ///
    /// ## Why is this bad?
    /// Polling a condition wakes the task every interval for nothing, and reacts up to a whole
    /// interval late. Waiting on an `asyncio.Event` (or a `Condition`, or the task itself)
    /// wakes exactly when the state changes.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def wait_until_ready(device):
    ///     while not device.ready:
    ///         await asyncio.sleep(0.1)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def wait_until_ready(device):
    ///     await device.ready_event.wait()  # set by whoever makes the device ready
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: the event has to be set where the state changes.
    ///
    /// ## Known problems
    /// Polling state that no code of yours can signal has no event to wait on, so a loop whose
    /// condition (or exit check) awaits (asks a remote service, tries a port), reads a
    /// subprocess's `poll()` or `returncode`, or asks a `threading`/`multiprocessing` event
    /// `is_set()` (set by another thread) is not flagged. Other such state (a file, a flag a
    /// thread sets) the file does not show; suppress the finding there. `anyio.sleep` and
    /// `trio.sleep` count as well, as they do for ruff's ASYNC110; in a trio or anyio module
    /// (one that imports `trio` or `anyio` and not `asyncio`) the message names `trio.sleep`
    /// and `trio.Event` (or anyio's).
    ///
    /// ## References
    /// - [Python docs: `asyncio.Event`](https://docs.python.org/3/library/asyncio-sync.html#asyncio.Event)
    /// - [ruff: ASYNC110](https://docs.astral.sh/ruff/rules/async-busy-wait/)
    code: "LW505",
    name: "busy-wait",
    summary: "a `while` loop whose body only sleeps (`await asyncio.sleep(...)`)",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC110"],
    peers: "ruff",
    fix: "none",
    only_in_async_functions: true,
    // Why: the loop body awaits a `sleep`/`sleep_until`.
    triggers: ["sleep"],
}

const SLEEPS: &[&str] =
    &["asyncio.sleep", "asyncio.tasks.sleep", "anyio.sleep", "anyio.sleep_until", "trio.sleep", "trio.sleep_until"];

pub(crate) fn check(checker: &mut Checker<'_, '_>, while_loop: Node<'_>) {
    let (Some(condition), Some(body)) = (while_loop.field(&field::CONDITION), while_loop.field(&field::BODY)) else {
        return;
    };
    let mut cursor = body.walk();
    let statements: Vec<Node<'_>> = body.named_children(&mut cursor).filter(|node| node.kind() != "comment").collect();
    let exit_check = match statements.as_slice() {
        [only] if is_sleep(checker, *only) => None,
        [first, second] if is_sleep(checker, *first) && is_exit_check(*second) => Some(*second),
        [first, second] if is_exit_check(*first) && is_sleep(checker, *second) => Some(*first),
        _ => return,
    };
    let exit_condition = exit_check.and_then(|check| check.field(&field::CONDITION));
    if [Some(condition), exit_condition].into_iter().flatten().any(|node| reads_unsignalled_state(checker, node)) {
        return;
    }
    let library = checker.async_library();
    checker.report_range(
        Rule::BusyWait,
        while_loop,
        TextRange::new(while_loop.start_byte(), condition.end_byte()),
        format!("Busy-wait loop polling with `{}`; wait on {} instead", library.sleep(), library.event()),
    );
}

/// `await asyncio.sleep(...)` as a whole statement.
fn is_sleep(checker: &Checker<'_, '_>, statement: Node<'_>) -> bool {
    if statement.kind() != "expression_statement" || statement.named_child_count() != 1 {
        return false;
    }
    let Some(awaited) = statement.named_child(0).filter(|node| node.kind() == "await") else { return false };
    let Some(call) = awaited.named_child(0).filter(|node| node.kind() == "call") else { return false };
    let Some(callee) = call.field(&field::FUNCTION) else { return false };
    checker.semantic.qualified_name(callee).is_some_and(|name| SLEEPS.contains(&name.as_str()))
}

/// `if cond: break` (or `return`), with no other branch.
fn is_exit_check(statement: Node<'_>) -> bool {
    if statement.kind() != "if_statement" || statement.field(&field::ALTERNATIVE).is_some() {
        return false;
    }
    let Some(consequence) = statement.field(&field::CONSEQUENCE) else { return false };
    let mut cursor = consequence.walk();
    let inner: Vec<Node<'_>> =
        consequence.named_children(&mut cursor).filter(|node| node.kind() != "comment").collect();
    matches!(inner.as_slice(), [exit] if exit.kind() == "break_statement" || (exit.kind() == "return_statement" && exit.named_child_count() == 0))
}

/// Whether a loop's condition reads state that no asyncio event can signal, so polling is the
/// only way to wait for it: an `await` (the check is itself I/O: a remote service, a port that
/// accepts), a subprocess's `poll()` or `returncode` (a thread blocked in `Popen.wait()`
/// cannot be cancelled), or `is_set()` on a `threading` or `multiprocessing` event, which
/// another thread sets.
fn reads_unsignalled_state(checker: &Checker<'_, '_>, condition: Node<'_>) -> bool {
    let semantic = checker.semantic;
    semantic.nodes_in_same_scope(condition, &["await", "call", "attribute"]).into_iter().any(|node| match node.kind() {
        "await" => true,
        "attribute" => node.field(&field::ATTRIBUTE).is_some_and(|name| checker.text(name) == "returncode"),
        _ => {
            let Some(callee) = node.field(&field::FUNCTION).filter(|callee| callee.kind() == "attribute") else {
                return false;
            };
            let (Some(object), Some(method)) = (callee.field(&field::OBJECT), callee.field(&field::ATTRIBUTE)) else {
                return false;
            };
            match checker.text(method) {
                "poll" => true,
                "is_set" => semantic
                    .value_type(object)
                    .is_some_and(|kind| matches!(kind.as_str(), "threading.Event" | "multiprocessing.Event")),
                _ => false,
            }
        }
    })
}
