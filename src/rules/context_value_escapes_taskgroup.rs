use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, TaskGroupBlock};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for values bound by a context manager opened inside a TaskGroup body
    /// (`with open(...) as f`, `async with session.get(...) as response`) that are passed to
    /// `tg.create_task(...)`.
    ///
    /// ## Why is this bad?
    /// `create_task` only schedules the task. The inner `with` block ends right after, closing
    /// the file, connection or response, while the task has not even started: it then works on
    /// a closed resource. The TaskGroup waits for the task at its own end, too late.
    ///
    /// ## Example
    /// ```python
    /// async def upload_all(paths):
    ///     async with asyncio.TaskGroup() as tg:
    ///         for path in paths:
    ///             with open(path, "rb") as data:
    ///                 tg.create_task(upload(data))
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def upload_one(path):
    ///     with open(path, "rb") as data:
    ///         await upload(data)
    ///
    /// async def upload_all(paths):
    ///     async with asyncio.TaskGroup() as tg:
    ///         for path in paths:
    ///             tg.create_task(upload_one(path))
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: the context manager has to move into the task.
    ///
    /// ## Known problems
    /// Only names bound by `as` and used in the `create_task(...)` arguments are seen, not a
    /// value that reaches the task through another variable.
    ///
    /// ## References
    /// - [Python docs: `asyncio.TaskGroup.create_task`](https://docs.python.org/3/library/asyncio-task.html#asyncio.TaskGroup.create_task)
    code: "LW902",
    name: "context-value-escapes-taskgroup",
    summary: "a value from a context manager opened inside a TaskGroup body passed to `tg.create_task(...)`",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC111"],
    peers: "flake8-async",
    fix: "none",
    only_in_async_functions: true,
    triggers: ["TaskGroup"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, block: &TaskGroupBlock<'_>) {
    let Some(group) = block.name.map(|name| checker.text(name)) else { return };
    for inner in checker.semantic.nodes_in_same_scope(block.body, &["with_statement"]) {
        let names = bound_names(checker, inner);
        let Some(body) = inner.field(&field::BODY).filter(|_| !names.is_empty()) else { continue };
        for call in checker.semantic.nodes_in_same_scope(body, &["call"]) {
            if !is_create_task_of(checker, call, group) {
                continue;
            }
            let Some(arguments) = call.field(&field::ARGUMENTS) else { continue };
            for identifier in checker.semantic.nodes_in_same_scope(arguments, &["identifier"]) {
                let name = checker.text(identifier);
                if names.contains(&name) && is_reference(identifier) {
                    checker.report(
                        Rule::ContextValueEscapesTaskgroup,
                        identifier,
                        format!("`{name}` is closed when its `with` block ends, before the task using it finishes"),
                    );
                }
            }
        }
    }
}

/// The names bound by `as name` in a `with` statement's items.
fn bound_names<'s>(checker: &Checker<'_, 's>, statement: Node<'_>) -> Vec<&'s str> {
    let Some(clause) = statement.named_child(0).filter(|clause| clause.kind() == "with_clause") else {
        return Vec::new();
    };
    let mut cursor = clause.walk();
    let items: Vec<Node<'_>> = clause.named_children(&mut cursor).collect();
    items
        .into_iter()
        .filter_map(|item| item.field(&field::VALUE))
        .filter(|value| value.kind() == "as_pattern")
        .filter_map(|value| value.field(&field::ALIAS).and_then(|alias| alias.named_child(0)))
        .filter(|target| target.kind() == "identifier")
        .map(|target| checker.text(target))
        .collect()
}

fn is_create_task_of(checker: &Checker<'_, '_>, call: Node<'_>, group: &str) -> bool {
    let Some(callee) = call.field(&field::FUNCTION).filter(|callee| callee.kind() == "attribute") else {
        return false;
    };
    let receiver = callee.field(&field::OBJECT);
    let method = callee.field(&field::ATTRIBUTE);
    receiver.is_some_and(|receiver| receiver.kind() == "identifier" && checker.text(receiver) == group)
        && method.is_some_and(|method| checker.text(method) == "create_task")
}

/// An identifier that reads a variable: not the attribute name of `x.name`, not a keyword.
fn is_reference(identifier: Node<'_>) -> bool {
    let Some(parent) = identifier.parent() else { return true };
    let field_name = |field: &str| parent.child_by_field_name(field).is_some_and(|child| child.id() == identifier.id());
    match parent.kind() {
        "attribute" => !field_name("attribute"),
        "keyword_argument" => !field_name("name"),
        _ => true,
    }
}
