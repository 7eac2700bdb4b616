use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, Edit, Fix, TaskGroupBlock, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `async with asyncio.TaskGroup() as tg:` blocks whose whole body is one
    /// `tg.create_task(<call>)` statement.
    ///
    /// ## Why is this bad?
    /// A TaskGroup that starts one task and does nothing else while it runs is a slow way to
    /// await the coroutine: a task, a group and an `ExceptionGroup` around any error, for no
    /// concurrency. Awaiting the call directly says what happens and raises the error itself.
    ///
    /// ## Example
    /// ```python
    /// async def refresh():
    ///     async with asyncio.TaskGroup() as tg:
    ///         tg.create_task(reload_config())
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def refresh():
    ///     await reload_config()
    /// ```
    ///
    /// ## Fix safety
    /// The fix (replace the block with `await <call>`) is unsafe: an error now propagates as
    /// itself instead of inside an `ExceptionGroup`, so `except*` handlers around it still
    /// work but `except ExceptionGroup` ones no longer match; the task's context copy and
    /// name are gone too. Comments before the task's statement are kept at the end of the new
    /// line; the fix is not offered when a comment follows it, or when the function uses the
    /// group's name elsewhere.
    ///
    /// ## Known problems
    /// Blocks that pass `tg` into the call (the task may start more tasks) are not flagged.
    ///
    /// ## References
    /// - [Python docs: `asyncio.TaskGroup`](https://docs.python.org/3/library/asyncio-task.html#task-groups)
    code: "LW901",
    name: "single-task-taskgroup",
    summary: "an `async with asyncio.TaskGroup() as tg:` body that only starts one task",
    severity: Info,
    enabled: true,
    aliases: ["ASYNC112"],
    peers: "flake8-async",
    fix: "await the call directly (unsafe)",
    only_in_async_functions: true,
    triggers: ["TaskGroup"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, block: &TaskGroupBlock<'_>) {
    let (true, Some(name)) = (block.single_item, block.name) else { return };
    let mut cursor = block.body.walk();
    let statements: Vec<Node<'_>> =
        block.body.named_children(&mut cursor).filter(|statement| statement.kind() != "comment").collect();
    let [statement] = statements.as_slice() else { return };
    let group = checker.text(name);
    let Some(coroutine) = started_coroutine(checker, *statement, group) else { return };
    let fix = fix(checker, block, group, coroutine);
    let diagnostic = checker.report(
        Rule::SingleTaskTaskgroup,
        block.manager,
        "TaskGroup starts a single task and does nothing else; await the call directly".to_string(),
    );
    diagnostic.fix = fix;
}

/// `await <call>` for the whole statement, keeping comments before the task's statement. None
/// when that would drop a later comment, or when the function uses the group's name
/// elsewhere (the fix removes its binding).
fn fix(checker: &Checker<'_, '_>, block: &TaskGroupBlock<'_>, group: &str, coroutine: Node<'_>) -> Option<Fix> {
    let statement = TextRange::of(block.statement);
    let inside = |start: usize, end: usize| statement.start <= start && end <= statement.end;
    let comments: Vec<TextRange> =
        checker.semantic.comments().iter().copied().filter(|comment| inside(comment.start, comment.end)).collect();
    if comments.iter().any(|comment| comment.start >= block.body.start_byte()) {
        // Comments before the first statement of a block sit outside the block's node.
        return None;
    }
    let body = checker
        .semantic
        .enclosing_function(block.statement.start_byte())
        .and_then(|scope| checker.semantic.scope(scope).node.field(&field::BODY))?;
    let used_elsewhere =
        checker.semantic.nodes_in_same_scope(body, &["identifier"]).into_iter().any(|identifier| {
            checker.text(identifier) == group && !inside(identifier.start_byte(), identifier.end_byte())
        });
    if used_elsewhere {
        return None;
    }
    let mut replacement = format!("await {}", checker.text(coroutine));
    for comment in comments {
        replacement.push_str("  ");
        replacement.push_str(&checker.semantic.source()[comment.start..comment.end]);
    }
    let edit = Edit::replacement(replacement, statement);
    Some(Fix::unsafe_edit("Replace the TaskGroup with `await` of the call", edit))
}

/// `<call>` of a statement that is exactly `tg.create_task(<call>)`, where `<call>` does not
/// mention `tg`.
fn started_coroutine<'n>(checker: &Checker<'_, '_>, statement: Node<'n>, group: &str) -> Option<Node<'n>> {
    if statement.kind() != "expression_statement" || statement.named_child_count() != 1 {
        return None;
    }
    let call = statement.named_child(0).filter(|call| call.kind() == "call")?;
    let callee = call.field(&field::FUNCTION).filter(|callee| callee.kind() == "attribute")?;
    let receiver = callee.field(&field::OBJECT)?;
    let method = callee.field(&field::ATTRIBUTE)?;
    if receiver.kind() != "identifier" || checker.text(receiver) != group || checker.text(method) != "create_task" {
        return None;
    }
    let arguments = call.field(&field::ARGUMENTS)?;
    let mut cursor = arguments.walk();
    let arguments: Vec<Node<'n>> = arguments.named_children(&mut cursor).collect();
    let [coroutine] = arguments.as_slice() else { return None };
    if coroutine.kind() != "call" {
        return None;
    }
    let mentions_group = checker
        .semantic
        .nodes_in_same_scope(*coroutine, &["identifier"])
        .into_iter()
        .any(|identifier| checker.text(identifier) == group);
    (!mentions_group).then_some(*coroutine)
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, lint_source};
    use crate::rules::{Rule, RuleSet};

    #[test]
    fn fix_awaits_the_call_in_place_and_keeps_header_comments() {
        let settings = LintSettings {
            rules: [Rule::SingleTaskTaskgroup].into_iter().collect::<RuleSet>(),
            ..LintSettings::default()
        };
        let source = "import asyncio\n\nasync def f():\n    if x:\n        async with asyncio.TaskGroup() as tg:  # noqa: E1\n            tg.create_task(\n                g(1),\n            )\n    return 1\n";
        let diagnostics = lint_source(source, None, &settings);
        let fix = diagnostics.first().and_then(|diagnostic| diagnostic.fix.as_ref()).expect("a fix");
        let fixed = fix.apply_to(source);
        assert_eq!(
            fixed,
            "import asyncio\n\nasync def f():\n    if x:\n        await g(1)  # noqa: E1\n    return 1\n"
        );
    }
}
