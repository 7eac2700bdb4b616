use tree_sitter::Node;

use crate::analysis::{Call, Checker};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `asyncio.gather(..., return_exceptions=True)` whose results are used
    /// (iterated, indexed, unpacked, returned or passed on) while the function never checks a
    /// value with `isinstance(..., BaseException)` (or `Exception`, or an error class).
    ///
    /// ## Why is this bad?
    /// With `return_exceptions=True`, a failed awaitable does not raise: its exception object
    /// takes the place of its result. Code that uses the results as values then fails later
    /// and far away (`AttributeError: 'TimeoutError' object has no attribute 'json'`), or
    /// silently stores exceptions as data.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def fetch_all(urls):
    ///     pages = await asyncio.gather(*(fetch(url) for url in urls), return_exceptions=True)
    ///     return [page.text for page in pages]
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def fetch_all(urls):
    ///     pages = await asyncio.gather(*(fetch(url) for url in urls), return_exceptions=True)
    ///     return [page.text for page in pages if not isinstance(page, BaseException)]
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: what to do with a failure is a decision.
    ///
    /// ## Known problems
    /// Not reported: the bare statement `await asyncio.gather(*tasks, return_exceptions=True)`,
    /// the usual way to wait for cancelled tasks, and results bound to a name that is never used
    /// again. Any `isinstance` test against an exception class in the function counts as a
    /// check, whatever it tests. Results passed to a helper that checks them are reported.
    ///
    /// ## References
    /// - [Python docs: `asyncio.gather`](https://docs.python.org/3/library/asyncio-task.html#asyncio.gather)
    code: "LW304",
    name: "gather-exceptions-unchecked",
    summary: "results of `gather(..., return_exceptions=True)` used without an exception check",
    severity: Warning,
    enabled: true,
    aliases: [],
    peers: "none (open ruff PR)",
    fix: "none",
    only_in_async_functions: true,
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if !matches!(call.qualified_name.as_deref(), Some("asyncio.gather" | "asyncio.tasks.gather")) {
        return;
    }
    if call.keyword_argument(checker.semantic, "return_exceptions").is_none_or(|value| checker.text(value) != "True") {
        return;
    }
    let Some(awaited) = call.node.parent().filter(|parent| parent.kind() == "await") else { return };
    let value = outermost_parentheses(awaited);
    let Some(holder) = value.parent() else { return };
    let used = match holder.kind() {
        "assignment" if holder.child_by_field_name("right") == Some(value) => {
            let Some(target) = holder.child_by_field_name("left") else { return };
            target.kind() != "identifier" || is_used_later(checker, target, holder)
        }
        "return_statement" | "argument_list" | "subscript" | "list_splat" => true,
        "for_statement" | "for_in_clause" => holder.child_by_field_name("right") == Some(value),
        _ => false,
    };
    if !used || function_checks_for_exceptions(checker, call.node) {
        return;
    }
    checker.report(
        Rule::GatherExceptionsUnchecked,
        call.node,
        "Results of `asyncio.gather(..., return_exceptions=True)` are used without checking for exceptions".to_string(),
    );
}

fn outermost_parentheses(node: Node<'_>) -> Node<'_> {
    let mut current = node;
    while let Some(parent) = current.parent().filter(|parent| parent.kind() == "parenthesized_expression") {
        current = parent;
    }
    current
}

/// Whether the name bound by `assignment` is read after it in the same function.
fn is_used_later(checker: &Checker<'_, '_>, target: Node<'_>, assignment: Node<'_>) -> bool {
    let name = checker.text(target);
    let Some(function) = function_node(checker, assignment) else { return false };
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        if node.kind() == "identifier" && node.start_byte() >= assignment.end_byte() && checker.text(node) == name {
            return true;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

fn function_node<'t>(checker: &Checker<'_, 't>, node: Node<'_>) -> Option<Node<'t>> {
    let function = checker.semantic.enclosing_function(node.start_byte())?;
    Some(checker.semantic.scope(function).node)
}

/// An `isinstance(x, C)` anywhere in the function where `C` names an exception class.
fn function_checks_for_exceptions(checker: &Checker<'_, '_>, call: Node<'_>) -> bool {
    let Some(function) = function_node(checker, call) else { return false };
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        if node.kind() == "call"
            && node.child_by_field_name("function").is_some_and(|callee| checker.text(callee) == "isinstance")
            && node.child_by_field_name("arguments").and_then(|arguments| arguments.named_child(1)).is_some_and(
                |class| {
                    let class = checker.text(class);
                    class.contains("Exception") || class.contains("Error")
                },
            )
        {
            return true;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}
