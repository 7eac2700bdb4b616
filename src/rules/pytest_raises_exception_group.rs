use crate::analysis::{Call, Checker};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `pytest.raises(ExceptionGroup)` and `pytest.raises(BaseExceptionGroup)`.
    ///
    /// ## Why is this bad?
    /// Code run in a `TaskGroup` raises an `ExceptionGroup` wrapping the real errors. Matching
    /// the group type says only that something failed: the test passes whatever the
    /// exceptions inside are, even an unrelated `TypeError`. `pytest.RaisesGroup` (pytest 8.4+)
    /// states what the group must hold.
    ///
    /// ## Example
    /// ```python
    /// import pytest
    ///
    /// async def test_rejects_bad_input():
    ///     with pytest.raises(ExceptionGroup):
    ///         await run_all(["bad"])
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import pytest
    ///
    /// async def test_rejects_bad_input():
    ///     with pytest.RaisesGroup(ValueError):
    ///         await run_all(["bad"])
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: only the author knows which exceptions the group must hold.
    ///
    /// ## Known problems
    /// Only a group type given directly as the first argument is flagged (not in a tuple).
    ///
    /// ## References
    /// - [pytest: `pytest.RaisesGroup`](https://docs.pytest.org/en/stable/reference/reference.html#pytest.RaisesGroup)
    code: "LW909",
    name: "pytest-raises-exception-group",
    summary: "`pytest.raises(ExceptionGroup)` / `BaseExceptionGroup`",
    severity: Info,
    enabled: true,
    aliases: ["ASYNC401"],
    peers: "flake8-async",
    fix: "none",
    only_in_async_functions: false,
}

/// `ExceptionGroup` and `BaseExceptionGroup`, builtin or from the `exceptiongroup` backport.
pub(crate) fn exception_group_name(qualified: &str) -> Option<&'static str> {
    match qualified {
        "builtins.ExceptionGroup" | "exceptiongroup.ExceptionGroup" => Some("ExceptionGroup"),
        "builtins.BaseExceptionGroup" | "exceptiongroup.BaseExceptionGroup" => Some("BaseExceptionGroup"),
        _ => None,
    }
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if call.qualified_name.as_deref() != Some("pytest.raises") {
        return;
    }
    let Some(expected) = call.arguments.named_child(0).filter(|argument| argument.kind() != "keyword_argument") else {
        return;
    };
    let Some(group) = checker.semantic.qualified_name(expected).as_deref().and_then(exception_group_name) else {
        return;
    };
    checker.report(
        Rule::PytestRaisesExceptionGroup,
        call.node,
        format!("`pytest.raises({group})` accepts any group; use `pytest.RaisesGroup` to say what it holds"),
    );
}
