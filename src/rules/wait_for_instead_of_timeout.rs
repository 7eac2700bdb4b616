use crate::analysis::{Call, Checker, PythonVersion};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `await asyncio.wait_for(x, t)` used as a statement, the value of an
    /// assignment or a returned value, when the target is Python 3.11 or newer.
    ///
    /// ## Why is this bad?
    /// `asyncio.timeout()` (3.11+) bounds a block instead of one awaitable: it needs no extra
    /// task or wrapper, composes with several awaits, and reads as the structured form the
    /// asyncio documentation now recommends.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def fetch(reader):
    ///     data = await asyncio.wait_for(reader.read(100), 5)
    ///     return data
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def fetch(reader):
    ///     async with asyncio.timeout(5):
    ///         data = await reader.read(100)
    ///     return data
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix yet (the block rewrite is planned). It would be unsafe: `wait_for` also
    /// accepts futures and `None`, and a block also bounds what else it holds.
    ///
    /// ## Known problems
    /// `wait_for` inside a larger expression (`f(await wait_for(...))`) is not reported, since
    /// the block form does not fit there.
    ///
    /// ## References
    /// - [Python docs: `asyncio.timeout`](https://docs.python.org/3/library/asyncio-task.html#asyncio.timeout)
    code: "LW402",
    name: "wait-for-instead-of-timeout",
    summary: "`await asyncio.wait_for(x, t)` where `async with asyncio.timeout(t)` fits (target 3.11+)",
    severity: Info,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "none (the `async with asyncio.timeout(t):` rewrite is planned)",
    only_in_async_functions: true,
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if checker.settings.target_version < PythonVersion::PY311 {
        return;
    }
    if !matches!(call.qualified_name.as_deref(), Some("asyncio.wait_for" | "asyncio.tasks.wait_for")) {
        return;
    }
    let Some(awaited) = call.node.parent().filter(|parent| parent.kind() == "await") else { return };
    let Some(holder) = awaited.parent() else { return };
    let whole_statement = match holder.kind() {
        "expression_statement" | "return_statement" => true,
        "assignment" => holder.child_by_field_name("right") == Some(awaited),
        _ => false,
    };
    if whole_statement {
        checker.report(
            Rule::WaitForInsteadOfTimeout,
            awaited,
            "`await asyncio.wait_for(...)` can be an `async with asyncio.timeout(...)` block".to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, PythonVersion, lint_source};
    use crate::rules::Rule;

    #[test]
    fn quiet_below_python_3_11() {
        let source = "import asyncio\nasync def f(x):\n    await asyncio.wait_for(x, 1)\n";
        let settings = |minor| LintSettings {
            target_version: PythonVersion { major: 3, minor },
            rules: [Rule::WaitForInsteadOfTimeout].into_iter().collect(),
            ..LintSettings::default()
        };
        assert!(lint_source(source, None, &settings(10)).is_empty());
        assert_eq!(lint_source(source, None, &settings(12)).len(), 1);
    }
}
