use tree_sitter::Node;

use crate::analysis::{Call, Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for tasks whose only reference is dropped: the result of `asyncio.create_task`,
    /// `asyncio.ensure_future` or `loop.create_task` (`loop` an event loop the file shows) used
    /// as a statement, or bound to a local that the function never mentions again.
    ///
    /// ## Why is this bad?
    /// The event loop keeps only a weak reference to a task. A task nobody references can be
    /// garbage-collected before it finishes, and its exception is never seen.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def handle(request):
    ///     asyncio.create_task(audit(request))
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// background_tasks = set()
    ///
    /// async def handle(request):
    ///     task = asyncio.create_task(audit(request))
    ///     background_tasks.add(task)
    ///     task.add_done_callback(background_tasks.discard)
    /// ```
    ///
    /// ## Fix safety
    /// Inside `async with asyncio.TaskGroup() as tg:` the fix uses `tg.create_task(...)`, which
    /// keeps the task and waits for it (safe). Elsewhere there is no fix yet.
    ///
    /// ## Known problems
    /// `tg.create_task` on a TaskGroup, tasks stored in a set, list or attribute, returned or
    /// awaited are not flagged. A loop the file does not show (`self.hass.loop`) is not followed.
    /// A module-level variable that is never read again is not flagged (ruff's RUF006 flags
    /// it): the module's globals keep the task alive.
    ///
    /// ## References
    /// - [Python docs: `asyncio.create_task`](https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task)
    code: "LW202",
    name: "dangling-task",
    summary: "the result of `asyncio.create_task`/`ensure_future`/`loop.create_task` dropped",
    severity: Warning,
    enabled: true,
    aliases: ["RUF006", "ASYNC300"],
    peers: "ruff, flake8-async",
    fix: "inside a TaskGroup block: use `tg.create_task` (safe)",
    only_in_async_functions: false,
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    let name = match call.qualified_name.as_deref() {
        Some("asyncio.create_task" | "asyncio.tasks.create_task") => "asyncio.create_task",
        Some("asyncio.ensure_future" | "asyncio.tasks.ensure_future") => "asyncio.ensure_future",
        _ => {
            let is_loop_method = call.method_name(checker.semantic) == Some("create_task")
                && call.receiver().is_some_and(|receiver| checker.semantic.is_event_loop(receiver));
            if !is_loop_method {
                return;
            }
            "loop.create_task"
        }
    };
    if !checker.semantic.is_result_discarded(call.node, false) {
        return;
    }
    let fix = (name == "asyncio.create_task").then(|| task_group_fix(checker, call)).flatten();
    let diagnostic =
        checker.report(Rule::DanglingTask, call.node, format!("Store a reference to the task created by `{name}`"));
    diagnostic.fix = fix;
}

/// `asyncio.create_task(...)` inside `async with asyncio.TaskGroup() as tg:` (in the same
/// function) becomes `tg.create_task(...)`.
fn task_group_fix(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<Fix> {
    let function = checker.semantic.enclosing_function(call.node.start_byte());
    let mut current = call.node.parent();
    while let Some(node) = current {
        current = node.parent();
        if matches!(node.kind(), "function_definition" | "lambda" | "class_definition") {
            return None;
        }
        if node.kind() != "with_statement" || node.child(0).is_none_or(|first| first.kind() != "async") {
            continue;
        }
        let Some(group) = task_group_name(checker, node) else { continue };
        // The block must be the same function's: the name is then the group, not a shadow.
        if checker.semantic.enclosing_function(node.start_byte()) != function {
            return None;
        }
        let replacement = format!("{group}.create_task");
        return Some(Fix::safe_edit(
            format!("Replace with `{group}.create_task`"),
            Edit::replacement(replacement, TextRange::of(call.callee)),
        ));
    }
    None
}

/// The `tg` of `async with asyncio.TaskGroup() as tg:`.
fn task_group_name<'s>(checker: &Checker<'_, 's>, with_statement: Node<'_>) -> Option<&'s str> {
    let mut cursor = with_statement.walk();
    let clause = with_statement.named_children(&mut cursor).find(|child| child.kind() == "with_clause")?;
    let mut cursor = clause.walk();
    let items: Vec<Node<'_>> = clause.named_children(&mut cursor).collect();
    items.into_iter().find_map(|item| {
        let pattern = item.child_by_field_name("value").filter(|value| value.kind() == "as_pattern")?;
        let manager = pattern.named_child(0).filter(|manager| manager.kind() == "call")?;
        let callee = manager.child_by_field_name("function")?;
        let qualified = checker.semantic.qualified_name(callee)?;
        if !matches!(qualified.as_str(), "asyncio.TaskGroup" | "asyncio.taskgroups.TaskGroup") {
            return None;
        }
        let target = pattern.child_by_field_name("alias")?.named_child(0)?;
        (target.kind() == "identifier").then(|| checker.text(target))
    })
}
