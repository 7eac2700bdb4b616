use tree_sitter::Node;

use crate::analysis::fix_builder::ModuleImport;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker, Edit, Fix, TextRange};
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
    /// The fix replaces the call with `pytest.RaisesGroup(Exception)` (`BaseException` for a
    /// `BaseExceptionGroup`), keeping `match=` and `check=`, which `RaisesGroup` takes too. It
    /// is display-only, offered in the editor and never applied in bulk: `Exception` is a
    /// placeholder for the members only the author knows, and `RaisesGroup` expects exactly
    /// the members it lists (one, here). It is not offered for the call form
    /// (`pytest.raises(ExceptionGroup, func, arg)`) or other keywords, nor for a bare
    /// `raises(...)` in a file where `pytest` is not bound.
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
    fix: "use `pytest.RaisesGroup` (display-only)",
    only_in_async_functions: false,
    triggers: ["ExceptionGroup"],
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
    let mut cursor = call.arguments.walk();
    let first = call.arguments.named_children(&mut cursor).find(|argument| argument.kind() != "comment");
    let Some(expected) = first.filter(|argument| argument.kind() != "keyword_argument") else {
        return;
    };
    let Some(group) = checker.semantic.qualified_name(expected).as_deref().and_then(exception_group_name) else {
        return;
    };
    let fix = raises_group_fix(checker, call, expected, group);
    let diagnostic = checker.report(
        Rule::PytestRaisesExceptionGroup,
        call.node,
        format!("`pytest.raises({group})` accepts any group; use `pytest.RaisesGroup` to say what it holds"),
    );
    diagnostic.fix = fix;
}

/// `pytest.raises(ExceptionGroup, match="x")` to `pytest.RaisesGroup(Exception, match="x")`:
/// the rest of the argument list is kept as written.
fn raises_group_fix(checker: &Checker<'_, '_>, call: &Call<'_>, expected: Node<'_>, group: &str) -> Option<Fix> {
    let module = match call.receiver() {
        Some(receiver) => checker.text(receiver),
        None if checker.import_module("pytest", call.node.start_byte()) == ModuleImport::Bound => "pytest",
        None => return None,
    };
    let mut cursor = call.arguments.walk();
    let carries_over = call.arguments.named_children(&mut cursor).all(|argument| {
        argument.id() == expected.id()
            || argument.kind() == "comment"
            || argument.kind() == "keyword_argument"
                && argument.field(&field::NAME).is_some_and(|name| matches!(checker.text(name), "match" | "check"))
    });
    if !carries_over {
        return None;
    }
    let member = if group == "ExceptionGroup" { "Exception" } else { "BaseException" };
    let source = checker.semantic.source();
    let replacement = format!(
        "{module}.RaisesGroup{}{member}{}",
        &source[call.arguments.start_byte()..expected.start_byte()],
        &source[expected.end_byte()..call.node.end_byte()]
    );
    Some(Fix::display_only_edit(
        "Replace with `pytest.RaisesGroup(...)`",
        Edit::replacement(replacement, TextRange::of(call.node)),
    ))
}

#[cfg(test)]
mod tests {
    use crate::analysis::{Applicability, LintSettings, lint_source};
    use crate::rules::{Rule, RuleSet};

    fn fixed(source: &str) -> Option<String> {
        let rules = [Rule::PytestRaisesExceptionGroup].into_iter().collect::<RuleSet>();
        let diagnostics = lint_source(source, None, &LintSettings { rules, ..LintSettings::default() });
        assert_eq!(diagnostics.len(), 1, "{source}: {diagnostics:?}");
        let fix = diagnostics[0].fix.as_ref()?;
        assert_eq!(fix.applicability(), Applicability::DisplayOnly);
        Some(fix.apply_to(source))
    }

    #[test]
    fn the_module_is_spelled_as_the_file_spells_it() {
        let source =
            "import pytest as pt\n\n\ndef test_x(f):\n    with pt.raises(BaseExceptionGroup, check=f):\n        f()\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "import pytest as pt\n\n\ndef test_x(f):\n    with pt.RaisesGroup(BaseException, check=f):\n        f()\n"
            )
        );
    }

    #[test]
    fn no_fix_without_a_name_for_pytest_or_with_other_arguments() {
        assert_eq!(fixed("from pytest import raises\n\nwith raises(ExceptionGroup):\n    f()\n"), None);
        assert_eq!(fixed("import pytest\n\nwith pytest.raises(ExceptionGroup, match='a', flags=1):\n    f()\n"), None);
    }
}
