use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `asyncio.run(...)`, `loop.run_until_complete(...)` and `loop.run_forever()`
    /// in an async function, where `loop` is an event loop the file shows
    /// (`asyncio.get_event_loop()`, `get_running_loop()`, `new_event_loop()`, or annotated).
    ///
    /// Not reported in the child branch of `os.fork()` (`if pid == 0:` after `pid =
    /// os.fork()`), which runs no event loop.
    ///
    /// ## Why is this bad?
    /// An async function runs on an event loop that is already running. Starting a loop from
    /// it raises `RuntimeError: asyncio.run() cannot be called from a running event loop`
    /// (or `This event loop is already running`).
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def handler():
    ///     data = asyncio.run(fetch())
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def handler():
    ///     data = await fetch()
    /// ```
    ///
    /// ## Fix safety
    /// The fix (`asyncio.run(x)` to `await x`) is unsafe: the awaited code now shares the
    /// caller's loop and context. It is offered only for a single positional argument that
    /// needs no parentheses after `await`, and when the call is not the object of an attribute,
    /// a subscript or another call.
    ///
    /// ## Known problems
    /// A loop the file does not show (`self.hass.loop`, a parameter without annotation) is not
    /// followed. Calls in a nested sync `def` (often run in a thread) are not flagged.
    ///
    /// ## References
    /// - [Python docs: `asyncio.run`](https://docs.python.org/3/library/asyncio-runner.html#asyncio.run)
    code: "LW204",
    name: "nested-event-loop",
    summary: "`asyncio.run`, `loop.run_until_complete` or `loop.run_forever` in an async function",
    severity: Error,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "`asyncio.run(x)` to `await x` (unsafe)",
    only_in_async_functions: true,
    triggers: ["asyncio", "run_until_complete", "run_forever"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if !checker.semantic.in_async_function(call.node.start_byte()) {
        return;
    }
    // `in_fork_child` climbs the tree through `Node::parent`, which searches down from the
    // root: asked last, only of the calls that would be reported.
    if call.qualified_name.as_deref() == Some("asyncio.run") {
        if in_fork_child(checker, call.node) {
            return;
        }
        let fix = await_fix(checker, call);
        let diagnostic = checker.report(
            Rule::NestedEventLoop,
            call.node,
            "`asyncio.run` in an async function, whose event loop is already running".to_string(),
        );
        diagnostic.fix = fix;
        return;
    }
    let (Some(receiver), Some(method)) = (call.receiver(), call.method_name(checker.semantic)) else { return };
    if matches!(method, "run_until_complete" | "run_forever")
        && checker.semantic.is_event_loop(receiver)
        && !in_fork_child(checker, call.node)
    {
        checker.report(
            Rule::NestedEventLoop,
            call.node,
            format!("`loop.{method}` in an async function, whose event loop is already running"),
        );
    }
}

/// Inside `if pid == 0:` after `pid = os.fork()` (or `if os.fork() == 0:`): the forked child
/// runs no event loop, so a loop started there is not nested.
fn in_fork_child(checker: &Checker<'_, '_>, node: Node<'_>) -> bool {
    let semantic = checker.semantic;
    let is_fork = |value: Node<'_>| {
        value.kind() == "call"
            && value
                .field(&field::FUNCTION)
                .is_some_and(|callee| semantic.qualified_name(callee).as_deref() == Some("os.fork"))
    };
    let mut child = node;
    while let Some(parent) = child.parent() {
        if matches!(parent.kind(), "function_definition" | "lambda" | "class_definition") {
            return false;
        }
        if parent.kind() == "if_statement"
            && parent.field(&field::CONSEQUENCE).is_some_and(|body| body.id() == child.id())
            && let Some(condition) = parent.field(&field::CONDITION)
            && condition.kind() == "comparison_operator"
        {
            let mut cursor = condition.walk();
            let parts: Vec<Node<'_>> = condition.children(&mut cursor).collect();
            if let [left, operator, right] = parts.as_slice()
                && checker.text(*operator) == "=="
            {
                let (pid, zero) = if checker.text(*right) == "0" { (*left, *right) } else { (*right, *left) };
                let forked =
                    is_fork(pid) || (pid.kind() == "identifier" && semantic.assigned_value(pid).is_some_and(is_fork));
                if checker.text(zero) == "0" && forked {
                    return true;
                }
            }
        }
        child = parent;
    }
    false
}

/// `asyncio.run(x)` -> `await x`, when `x` is a primary and the call is not part of one.
fn await_fix(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<Fix> {
    // Exactly one argument and no comment, which the replacement would drop.
    let mut cursor = call.arguments.walk();
    let arguments: Vec<Node<'_>> = call.arguments.named_children(&mut cursor).collect();
    let [argument] = arguments[..] else { return None };
    let is_primary =
        matches!(argument.kind(), "call" | "identifier" | "attribute" | "subscript" | "parenthesized_expression");
    if !is_primary || call.arguments.kind() != "argument_list" {
        return None;
    }
    // `asyncio.run(x).y` -> `await x.y` and `await asyncio.run(x)` -> `await await x` break.
    let inside_primary = call.node.parent().is_some_and(|parent| {
        parent.kind() == "await"
            || (matches!(parent.kind(), "attribute" | "subscript" | "call")
                && parent.named_child(0).is_some_and(|first| first.id() == call.node.id()))
    });
    if inside_primary {
        return None;
    }
    let replacement = format!("await {}", checker.text(argument));
    Some(Fix::unsafe_edit("Replace with `await`", Edit::replacement(replacement, TextRange::of(call.node))))
}
