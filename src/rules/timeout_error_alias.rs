use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, Edit, Fix, PythonVersion, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `asyncio.TimeoutError` and `asyncio.exceptions.TimeoutError` (also imported
    /// with `from asyncio import TimeoutError`) when the target is Python 3.11 or newer, and
    /// for `socket.timeout` when it is 3.10 or newer.
    ///
    /// ## Why is this bad?
    /// Since Python 3.11 `asyncio.TimeoutError` is only an alias of the builtin `TimeoutError`,
    /// which is what `asyncio.timeout()` and `asyncio.wait_for()` raise (and since 3.10, so is
    /// `socket.timeout`). The alias suggests a
    /// separate exception class and makes readers wonder whether a plain `except TimeoutError`
    /// would miss it.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def fetch(reader):
    ///     try:
    ///         async with asyncio.timeout(5):
    ///             return await reader.read()
    ///     except asyncio.TimeoutError:
    ///         return b""
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def fetch(reader):
    ///     try:
    ///         async with asyncio.timeout(5):
    ///             return await reader.read()
    ///     except TimeoutError:
    ///         return b""
    /// ```
    ///
    /// ## Fix safety
    /// Replacing the attribute with the builtin `TimeoutError` is safe: on 3.11+ both names are
    /// the same class. No fix is offered where the file binds the name `TimeoutError` to
    /// something else, nor for a name imported with `from asyncio import TimeoutError` (the
    /// import would have to go too).
    ///
    /// ## Known problems
    /// Only names spelled `TimeoutError` (or `timeout`) are found: `from asyncio import
    /// TimeoutError as T` and uses of `T` are not reported. Unlike ruff's UP041, which looks
    /// only at `except` clauses and `raise`, every use is reported (`isinstance` tests, base
    /// classes, tuples of exceptions).
    ///
    /// ## References
    /// - [Python docs: `asyncio.TimeoutError`](https://docs.python.org/3/library/asyncio-exceptions.html#asyncio.TimeoutError)
    code: "LW403",
    name: "timeout-error-alias",
    summary: "`asyncio.TimeoutError` (target 3.11+) or `socket.timeout` (3.10+) instead of the builtin `TimeoutError`",
    severity: Warning,
    enabled: true,
    aliases: ["UP041"],
    peers: "ruff",
    fix: "builtin `TimeoutError` (safe)",
    only_in_async_functions: false,
    triggers: ["TimeoutError", "socket"],
    // `asyncio.TimeoutError`, `from asyncio import TimeoutError`, `socket.timeout`,
    // `from socket import timeout`: other files are not parsed for this rule.
}

/// The first Python version where `qualified` is the builtin `TimeoutError`.
fn alias_since(qualified: &str) -> Option<PythonVersion> {
    match qualified {
        "asyncio.TimeoutError" | "asyncio.exceptions.TimeoutError" => Some(PythonVersion::PY311),
        "socket.timeout" => Some(PythonVersion { major: 3, minor: 10 }),
        _ => None,
    }
}

/// `reference` is a `TimeoutError`/`timeout` identifier or an attribute chain ending in one.
pub(crate) fn check(checker: &mut Checker<'_, '_>, reference: Node<'_>) {
    if reference.kind() == "identifier" && !is_name_use(reference) {
        return;
    }
    let Some(qualified) = checker.semantic.qualified_name(reference) else { return };
    if alias_since(&qualified).is_none_or(|since| checker.settings.target_version < since) {
        return;
    }
    // Writing the bare name is only right where it still means the builtin.
    let fixable =
        reference.kind() == "attribute" && checker.semantic.is_builtin_name("TimeoutError", reference.start_byte());
    let message = if reference.kind() == "attribute" {
        format!("`{}` is an alias of the builtin `TimeoutError`", checker.text(reference))
    } else {
        let module = qualified.rsplit_once('.').map_or("", |(module, _)| module);
        format!("`{}` imported from `{module}` is an alias of the builtin `TimeoutError`", checker.text(reference))
    };
    let diagnostic = checker.report(Rule::TimeoutErrorAlias, reference, message);
    if fixable {
        diagnostic.fix = Some(Fix::safe_edit(
            "Replace with builtin `TimeoutError`",
            Edit::replacement("TimeoutError", TextRange::of(reference)),
        ));
    }
}

/// Whether an identifier is a use of the name: not the attribute part of `x.TimeoutError`
/// (matched with its whole chain), not a name in an import statement, not a keyword.
fn is_name_use(identifier: Node<'_>) -> bool {
    let Some(parent) = identifier.parent() else { return true };
    match parent.kind() {
        "attribute" => parent.field(&field::ATTRIBUTE) != Some(identifier),
        "keyword_argument" => parent.field(&field::NAME) != Some(identifier),
        "dotted_name" | "aliased_import" | "import_from_statement" => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, PythonVersion, lint_source};
    use crate::rules::Rule;

    #[test]
    fn quiet_below_python_3_11() {
        let source = "import asyncio\ntry:\n    pass\nexcept asyncio.TimeoutError:\n    pass\n";
        let settings = |minor| LintSettings {
            target_version: PythonVersion { major: 3, minor },
            rules: [Rule::TimeoutErrorAlias].into_iter().collect(),
            ..LintSettings::default()
        };
        assert!(lint_source(source, None, &settings(10)).is_empty());
        assert_eq!(lint_source(source, None, &settings(11)).len(), 1);
        let socket = "import socket\ntry:\n    pass\nexcept socket.timeout:\n    pass\n";
        assert!(lint_source(socket, None, &settings(9)).is_empty());
        assert_eq!(lint_source(socket, None, &settings(10)).len(), 1);
    }
}
