use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, Edit, Fix, TextRange, fix_builder};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `@contextlib.contextmanager` on an `async def`, and for
    /// `@contextlib.asynccontextmanager` on a plain `def`.
    ///
    /// ## Why is this bad?
    /// The decorator and the function disagree, and the manager fails the first time it is
    /// used: `contextmanager` calls `next()` on an async generator (a `TypeError`), and
    /// `asynccontextmanager` awaits `__anext__` of a plain generator (an `AttributeError`).
    ///
    /// ## Example
    /// ```python
    /// from contextlib import contextmanager
    ///
    /// @contextmanager
    /// async def connection():
    ///     conn = await connect()
    ///     yield conn
    ///     await conn.close()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// from contextlib import asynccontextmanager
    ///
    /// @asynccontextmanager
    /// async def connection():
    ///     conn = await connect()
    ///     yield conn
    ///     await conn.close()
    /// ```
    ///
    /// ## Fix safety
    /// The fix (swap the decorator) is safe: the code cannot work as written, and the other
    /// decorator is the one the function's kind requires. It replaces the decorator's name and
    /// keeps its module prefix (`contextlib.contextmanager` becomes
    /// `contextlib.asynccontextmanager`); for a from-import the other name is added to the
    /// `from contextlib import ...` statement (or imported on its own line), unless the name is
    /// bound to something else. Callers still need `async with` (or `with`).
    ///
    /// ## Known problems
    /// Only decorators the file resolves to `contextlib` count.
    ///
    /// ## References
    /// - [Python docs: `contextlib.asynccontextmanager`](https://docs.python.org/3/library/contextlib.html#contextlib.asynccontextmanager)
    code: "LW604",
    name: "contextmanager-on-async-function",
    summary: "`@contextmanager` on an `async def`, or `@asynccontextmanager` on a plain `def`",
    severity: Error,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "swap the decorator (safe)",
    only_in_async_functions: false,
    // Why: `contextmanager` covers `asynccontextmanager`.
    triggers: ["contextmanager"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, decorator: Node<'_>) {
    let Some(expression) = decorator.named_child(0) else { return };
    let for_async = match checker.semantic.qualified_name(expression).as_deref() {
        Some("contextlib.contextmanager") => false,
        Some("contextlib.asynccontextmanager") => true,
        _ => return,
    };
    let Some(function) = decorator
        .parent()
        .filter(|parent| parent.kind() == "decorated_definition")
        .and_then(|parent| parent.field(&field::DEFINITION))
        .filter(|definition| definition.kind() == "function_definition")
    else {
        return;
    };
    let is_async = function.child(0).is_some_and(|first| first.kind() == "async");
    if is_async == for_async {
        return;
    }
    let (used, wanted, kind) = if for_async {
        ("asynccontextmanager", "contextmanager", "a plain `def`")
    } else {
        ("contextmanager", "asynccontextmanager", "an `async def`")
    };
    // The name to replace, and the import the replacement needs: none for
    // `contextlib.contextmanager` or when `wanted` is already imported; `from contextlib import
    // wanted` when the name is free; no fix when it is bound to something else.
    let position = decorator.start_byte();
    let replaced = match expression.kind() {
        "attribute" => expression.field(&field::ATTRIBUTE).map(|name| (name, None)),
        "identifier" if checker.semantic.name_resolves_to(wanted, position, &format!("contextlib.{wanted}")) => {
            Some((expression, None))
        }
        "identifier"
            if checker.semantic.qualified_name_of_name(wanted, position).as_deref()
                == Some(&format!("builtins.{wanted}")) =>
        {
            let source = checker.semantic.source();
            Some((
                expression,
                Some(fix_builder::from_import(source, checker.semantic.scope(0).node, "contextlib", wanted)),
            ))
        }
        _ => None,
    };
    // The decorator node runs to the end of its line, comment included: report `@name` alone.
    let diagnostic = checker.report_range(
        Rule::ContextmanagerOnAsyncFunction,
        decorator,
        TextRange::new(decorator.start_byte(), expression.end_byte()),
        format!("`@{used}` on {kind}; use `@{wanted}`"),
    );
    if let Some((name, import)) = replaced {
        let title = format!("Replace with `@{wanted}`");
        let swap = Edit::replacement(wanted, TextRange::of(name));
        diagnostic.fix = Some(match import {
            None => Fix::safe_edit(title, swap),
            Some(import) => Fix::safe_edits(title, import, vec![swap]),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, lint_source};
    use crate::rules::Rule;

    fn fixed(source: &str) -> Option<String> {
        let settings = LintSettings {
            rules: [Rule::ContextmanagerOnAsyncFunction].into_iter().collect(),
            ..LintSettings::default()
        };
        let diagnostics = lint_source(source, None, &settings);
        let [diagnostic] = diagnostics.as_slice() else { panic!("one finding expected: {diagnostics:?}") };
        Some(diagnostic.fix.as_ref()?.apply_to(source))
    }

    #[test]
    fn a_from_import_gains_the_other_name() {
        let body = "\n@contextmanager\nasync def f():\n    yield\n";
        assert_eq!(
            fixed(&format!("from contextlib import contextmanager\n{body}")),
            Some(format!(
                "from contextlib import contextmanager, asynccontextmanager\n{}",
                body.replace("@contextmanager", "@asynccontextmanager")
            ))
        );
        assert_eq!(
            fixed(&format!(
                "from contextlib import contextmanager as cm\nimport os\n{}",
                body.replace("@contextmanager", "@cm")
            )),
            Some(format!(
                "from contextlib import contextmanager as cm, asynccontextmanager\nimport os\n{}",
                body.replace("@contextmanager", "@asynccontextmanager")
            )),
        );
        // No leading `from contextlib import`: a line of its own.
        let guarded = "try:\n    from contextlib import contextmanager\nexcept ImportError:\n    raise\n";
        assert_eq!(
            fixed(&format!("import os\n{guarded}{body}")),
            Some(format!(
                "import os\nfrom contextlib import asynccontextmanager\n{guarded}{}",
                body.replace("@contextmanager", "@asynccontextmanager")
            )),
        );
    }

    #[test]
    fn no_fix_when_the_other_name_is_bound_to_something_else() {
        let source = "from contextlib import contextmanager\nasynccontextmanager = 1\n@contextmanager\nasync def f():\n    yield\n";
        assert_eq!(fixed(source), None);
    }
}
