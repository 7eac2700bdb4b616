use crate::analysis::{Checker, TaskGroupBlock};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `return`, `break` and `continue` directly inside an
    /// `async with asyncio.TaskGroup()` body (not in a nested function; `break` and `continue`
    /// only when their loop is outside the block).
    ///
    /// ## Why is this bad?
    /// Leaving the block does not leave at once: the group first waits for every task it
    /// started. The `return` reads like an early exit but runs only after all the work is done,
    /// and an error in a task turns it into an `ExceptionGroup` instead.
    ///
    /// ## Example
    /// ```python
    /// async def first_match(urls):
    ///     async with asyncio.TaskGroup() as tg:
    ///         for url in urls:
    ///             tg.create_task(fetch(url))
    ///         if cached := cache.get(urls[0]):
    ///             return cached
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def first_match(urls):
    ///     if cached := cache.get(urls[0]):
    ///         return cached
    ///     async with asyncio.TaskGroup() as tg:
    ///         for url in urls:
    ///             tg.create_task(fetch(url))
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: whether to cancel the tasks or move the statement is a design choice.
    ///
    /// ## Known problems
    /// A statement inside a nested TaskGroup is reported for the innermost group only.
    ///
    /// ## References
    /// - [Python docs: `asyncio.TaskGroup`](https://docs.python.org/3/library/asyncio-task.html#task-groups)
    code: "LW903",
    name: "control-flow-in-taskgroup",
    summary: "`return`, `break` or `continue` directly inside a TaskGroup body",
    severity: Info,
    enabled: true,
    aliases: ["ASYNC121"],
    peers: "flake8-async",
    fix: "none",
    only_in_async_functions: true,
    triggers: ["TaskGroup"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, block: &TaskGroupBlock<'_>) {
    let kinds = ["return_statement", "break_statement", "continue_statement"];
    for statement in checker.semantic.nodes_in_same_scope(block.body, &kinds) {
        let is_loop_jump = statement.kind() != "return_statement";
        let mut parent = statement.parent();
        let mut belongs_here = true;
        while let Some(node) = parent {
            if node.id() == block.body.id() {
                break;
            }
            let is_loop = matches!(node.kind(), "for_statement" | "while_statement");
            let is_inner_group =
                node.kind() == "with_statement" && TaskGroupBlock::opens_task_group(checker.semantic, node);
            if (is_loop_jump && is_loop) || is_inner_group {
                belongs_here = false;
                break;
            }
            parent = node.parent();
        }
        if !belongs_here {
            continue;
        }
        let keyword = statement.kind().trim_end_matches("_statement");
        checker.report(
            Rule::ControlFlowInTaskgroup,
            statement,
            format!("`{keyword}` inside a TaskGroup runs only after every task of the group has finished"),
        );
    }
}
