use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `asyncio.gather(..., return_exceptions=True)` whose results are read as
    /// values (indexed, unpacked, returned, or iterated with each item dereferenced as
    /// `item.attribute` or `item[...]`, also through `zip`, `enumerate` and similar builtins)
    /// while the function never tests a value with `isinstance(...)`.
    ///
    /// An identity test of a result (`results[0] is True`) is a check no exception passes, not
    /// a use of the value.
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
    /// the usual way to wait for cancelled tasks; results bound to a name that is never read;
    /// results (or their items) passed to a function other than an iterating builtin, since
    /// helpers that sort out the exceptions are common (the catalog counts "passed" as a use;
    /// on real code every such finding was a helper that checks). Any `isinstance` in the
    /// function counts as a check, whatever it tests: keeping only the expected type
    /// (`[r for r in results if isinstance(r, Reply)]`) handles the exceptions too.
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
    triggers: ["return_exceptions"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if !matches!(call.qualified_name.as_deref(), Some("asyncio.gather" | "asyncio.tasks.gather")) {
        return;
    }
    if call.keyword_argument(checker.semantic, "return_exceptions").is_none_or(|value| checker.text(value) != "True") {
        return;
    }
    let Some(awaited) = call.node.parent().filter(|parent| parent.kind() == "await") else { return };
    if !reads_results(checker, awaited, 0) || function_uses_isinstance(checker, call.node) {
        return;
    }
    checker.report(
        Rule::GatherExceptionsUnchecked,
        call.node,
        "Results of `asyncio.gather(..., return_exceptions=True)` are used without checking for exceptions".to_string(),
    );
}

/// Builtins that hand on the items of their argument unchecked.
const ITERATING_BUILTINS: &[&str] =
    &["zip", "enumerate", "list", "tuple", "sorted", "reversed", "iter", "map", "filter", "dict", "set"];

const MAX_DEPTH: u32 = 8;

/// Whether the results held by `value` (the awaited gather, or a name bound to its results)
/// are read as values: indexed, unpacked, returned, or iterated with each item dereferenced.
/// Passing them to a call other than an iterating builtin is not: the callee may check them.
fn reads_results(checker: &Checker<'_, '_>, value: Node<'_>, depth: u32) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let depth = depth + 1;
    let Some(holder) = value.parent() else { return false };
    match holder.kind() {
        "parenthesized_expression" | "expression_list" => reads_results(checker, holder, depth),
        "return_statement" => true,
        // `results[0] is True`: an identity test is a check that no exception passes, not a use.
        "subscript" => holder.field(&field::VALUE) == Some(value) && !is_identity_test(checker, holder),
        "assignment" if holder.field(&field::RIGHT) == Some(value) => {
            let Some(target) = holder.field(&field::LEFT) else { return false };
            if target.kind() != "identifier" {
                return true;
            }
            later_uses(checker, target, holder).into_iter().any(|name| reads_results(checker, name, depth))
        }
        "for_statement" | "for_in_clause" if holder.field(&field::RIGHT) == Some(value) => {
            items_dereferenced(checker, holder)
        }
        "argument_list" => holder
            .parent()
            .filter(|call| {
                call.field(&field::FUNCTION)
                    .and_then(|callee| checker.semantic.qualified_name(callee))
                    .and_then(|qualified| qualified.strip_prefix("builtins.").map(str::to_string))
                    .is_some_and(|name| ITERATING_BUILTINS.contains(&name.as_str()))
            })
            .is_some_and(|call| reads_results(checker, call, depth)),
        _ => false,
    }
}

/// Whether `operand` is compared with `is` / `is not`.
fn is_identity_test(checker: &Checker<'_, '_>, operand: Node<'_>) -> bool {
    let Some(comparison) = operand.parent().filter(|parent| parent.kind() == "comparison_operator") else {
        return false;
    };
    let mut cursor = comparison.walk();
    let operators: Vec<&str> =
        comparison.children(&mut cursor).filter(|child| !child.is_named()).map(|child| checker.text(child)).collect();
    // `is` and `is not`.
    !operators.is_empty() && operators.iter().all(|operator| operator.starts_with("is"))
}

/// For `for item in results` (a loop or a comprehension clause): whether an item is unpacked,
/// or used as `item.attribute` or `item[...]` in the loop.
fn items_dereferenced(checker: &Checker<'_, '_>, clause: Node<'_>) -> bool {
    let Some(target) = clause.field(&field::LEFT) else { return false };
    if target.kind() != "identifier" {
        return true;
    }
    let scope = if clause.kind() == "for_statement" { clause.field(&field::BODY) } else { clause.parent() };
    let Some(scope) = scope else { return false };
    let name = checker.text(target);
    let mut stack = vec![scope];
    while let Some(node) = stack.pop() {
        if node.kind() == "identifier" && checker.text(node) == name && node.id() != target.id() {
            let dereferenced = node.parent().is_some_and(|parent| match parent.kind() {
                "attribute" => parent.field(&field::OBJECT) == Some(node),
                "subscript" => parent.field(&field::VALUE) == Some(node),
                _ => false,
            });
            if dereferenced {
                return true;
            }
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// The uses of the name bound by `assignment`, after it in the same function.
fn later_uses<'t>(checker: &Checker<'_, 't>, target: Node<'_>, assignment: Node<'_>) -> Vec<Node<'t>> {
    let name = checker.text(target);
    let Some(function) = function_node(checker, assignment) else { return Vec::new() };
    let mut uses = Vec::new();
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        if node.kind() == "identifier" && node.start_byte() >= assignment.end_byte() && checker.text(node) == name {
            uses.push(node);
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    uses
}

fn function_node<'t>(checker: &Checker<'_, 't>, node: Node<'_>) -> Option<Node<'t>> {
    let function = checker.semantic.enclosing_function(node.start_byte())?;
    Some(checker.semantic.scope(function).node)
}

/// An `isinstance(...)` anywhere in the function: a test for an exception class, or a filter
/// that keeps only the expected type, both handle the exceptions among the results.
fn function_uses_isinstance(checker: &Checker<'_, '_>, call: Node<'_>) -> bool {
    let Some(function) = function_node(checker, call) else { return false };
    let mut stack = vec![function];
    while let Some(node) = stack.pop() {
        if node.kind() == "call"
            && node.field(&field::FUNCTION).is_some_and(|callee| checker.text(callee) == "isinstance")
        {
            return true;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}
