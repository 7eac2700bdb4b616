use crate::analysis::{Call, Checker, PythonVersion};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `await asyncio.gather(...)` without `return_exceptions=True` when the target
    /// is Python 3.11 or later.
    ///
    /// ## Why is this bad?
    /// When one awaitable fails, `gather` raises its exception at once but leaves the others
    /// running, unsupervised: their errors are lost and they may outlive the caller.
    /// `asyncio.TaskGroup` cancels the siblings, waits for them, and raises every error in an
    /// `ExceptionGroup`.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def main():
    ///     users, orders = await asyncio.gather(fetch_users(), fetch_orders())
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def main():
    ///     async with asyncio.TaskGroup() as tg:
    ///         users_task = tg.create_task(fetch_users())
    ///         orders_task = tg.create_task(fetch_orders())
    ///     users, orders = users_task.result(), orders_task.result()
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix yet. The rewrite changes behaviour: errors cancel the siblings and
    /// arrive as an `ExceptionGroup`, so `except SomeError:` around the call no longer matches.
    ///
    /// ## Known problems
    /// `gather` with `return_exceptions=True` (or any value but a literal `False`) collects
    /// errors on purpose and is not flagged. Below Python 3.11 there is no `TaskGroup`, and
    /// nothing is reported.
    ///
    /// ## References
    /// - [Python docs: Task groups](https://docs.python.org/3/library/asyncio-task.html#task-groups)
    code: "LW501",
    name: "gather-instead-of-taskgroup",
    summary: "`await asyncio.gather(...)` without `return_exceptions=True` (target 3.11+)",
    severity: Info,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "none",
    only_in_async_functions: true,
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if checker.settings.target_version < PythonVersion::PY311 {
        return;
    }
    if !matches!(call.qualified_name.as_deref(), Some("asyncio.gather" | "asyncio.tasks.gather")) {
        return;
    }
    if call.node.parent().is_none_or(|parent| parent.kind() != "await") {
        return;
    }
    if call.keyword_argument(checker.semantic, "return_exceptions").is_some_and(|value| value.kind() != "false") {
        return;
    }
    checker.report(
        Rule::GatherInsteadOfTaskgroup,
        call.node,
        "`asyncio.gather()` leaves the other tasks running when one fails; use `asyncio.TaskGroup`".to_string(),
    );
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, PythonVersion, lint_source};
    use crate::rules::Rule;

    #[test]
    fn reports_only_from_python_3_11() {
        let source = "import asyncio\n\nasync def main(a, b):\n    return await asyncio.gather(a(), b())\n";
        let at = |minor| LintSettings {
            target_version: PythonVersion { major: 3, minor },
            rules: [Rule::GatherInsteadOfTaskgroup].into_iter().collect(),
            ..LintSettings::default()
        };
        assert_eq!(lint_source(source, None, &at(11)).len(), 1);
        assert_eq!(lint_source(source, None, &at(12)).len(), 1);
        assert!(lint_source(source, None, &at(10)).is_empty());
    }
}
