use tree_sitter::Node;

use crate::analysis::fix_builder;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker, Edit, Fix, PythonVersion, TextRange};
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
    /// The fix puts the statement in an `async with asyncio.timeout(t):` block with `await x`
    /// in place of `await asyncio.wait_for(x, t)`, adding `import asyncio` when the file lacks
    /// it. It is unsafe: `t` is now evaluated before `x`, and before Python 3.12 `wait_for` ran
    /// a coroutine `x` in a task of its own, so its context variable changes stayed there. It
    /// is not offered where the statement does not stand on its own lines,
    /// where `x` or `t` holds an `await` or an assignment expression (their order would show),
    /// for other arguments or splats, or where `asyncio` names something else.
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
    fix: "`async with asyncio.timeout(t):` block (unsafe; adds `import asyncio` if missing)",
    only_in_async_functions: true,
    triggers: ["wait_for"],
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
        "assignment" => holder.field(&field::RIGHT) == Some(awaited),
        _ => false,
    };
    if !whole_statement {
        return;
    }
    let fix = timeout_block_fix(checker, call, awaited);
    let diagnostic = checker.report(
        Rule::WaitForInsteadOfTimeout,
        awaited,
        "`await asyncio.wait_for(...)` can be an `async with asyncio.timeout(...)` block".to_string(),
    );
    diagnostic.fix = fix;
}

/// The statement holding `await asyncio.wait_for(x, t)` as `async with asyncio.timeout(t):`
/// over the statement with `await x`. Comments of the call move to the end of the statement.
fn timeout_block_fix(checker: &Checker<'_, '_>, call: &Call<'_>, awaited: Node<'_>) -> Option<Fix> {
    let (awaitable, timeout) = wait_for_arguments(checker, call)?;
    // `t` now runs before `x` and `x` is bounded along with its await: refuse where that shows
    // (an await or a walrus), and keep a timeout scope from spanning a `yield` (LW603).
    let semantic = checker.semantic;
    if !semantic.nodes_in_same_scope(timeout, &["await", "named_expression"]).is_empty()
        || !semantic.nodes_in_same_scope(awaitable, &["await", "named_expression"]).is_empty()
        || !semantic.nodes_in_same_scope(awaited, &["yield"]).is_empty()
    {
        return None;
    }
    let statement = statement_of(awaited)?;
    let source = semantic.source();
    let root = semantic.scope(0).node;
    let lines = fix_builder::own_lines(source, root, statement)?;
    let indentation = fix_builder::indentation_at(source, statement.start_byte());
    let unit = &checker.stylist().indent;
    let piece = |node: Node<'_>, to: &str| {
        let from = fix_builder::indentation_at(source, node.start_byte());
        fix_builder::reindent_text(source, root, TextRange::of(node), from, to)
    };
    let await_line = format!("{}{unit}", fix_builder::indentation_at(source, awaited.start_byte()));
    let mut text = format!(
        "async with asyncio.timeout({}):\n{indentation}{unit}{}await {}{}{}",
        piece(timeout, indentation),
        fix_builder::indent_text(source, root, TextRange::new(statement.start_byte(), awaited.start_byte()), unit),
        piece(awaitable, &await_line),
        fix_builder::indent_text(source, root, TextRange::new(awaited.end_byte(), statement.end_byte()), unit),
        &source[statement.end_byte()..lines.end],
    );
    let kept =
        |comment: &TextRange, node: Node<'_>| node.start_byte() <= comment.start && comment.end <= node.end_byte();
    for comment in semantic.comments() {
        let in_call = awaited.start_byte() <= comment.start && comment.end <= awaited.end_byte();
        if in_call && !kept(comment, awaitable) && !kept(comment, timeout) {
            text.push_str("  ");
            text.push_str(&source[comment.start..comment.end]);
        }
    }
    let block = Edit::replacement(text, TextRange::new(statement.start_byte(), lines.end));
    let title = "Rewrite as an `async with asyncio.timeout(...)` block";
    let import = checker.import_module("asyncio", call.node.start_byte()).into_edits()?;
    Some(Fix::unsafe_edits(title, block, import))
}

/// `x` and `t` of `wait_for(x, t)`, passed by position or as `fut=`/`timeout=`; None for any
/// other argument or a splat.
fn wait_for_arguments<'n>(checker: &Checker<'_, '_>, call: &Call<'n>) -> Option<(Node<'n>, Node<'n>)> {
    if call.arguments.kind() != "argument_list" {
        return None;
    }
    let mut positional = Vec::new();
    let mut awaitable = None;
    let mut timeout = None;
    let mut cursor = call.arguments.walk();
    for argument in call.arguments.named_children(&mut cursor) {
        match argument.kind() {
            "comment" => {}
            "keyword_argument" => {
                let value = argument.field(&field::VALUE)?;
                let slot = match argument.field(&field::NAME).map(|name| checker.text(name)) {
                    Some("fut") => &mut awaitable,
                    Some("timeout") => &mut timeout,
                    _ => return None,
                };
                if slot.replace(value).is_some() {
                    return None;
                }
            }
            "list_splat" | "dictionary_splat" | "parenthesized_list_splat" => return None,
            _ => positional.push(argument),
        }
    }
    match positional.as_slice() {
        [] => {}
        [first] if awaitable.is_none() => awaitable = Some(*first),
        [first, second] if awaitable.is_none() && timeout.is_none() => {
            awaitable = Some(*first);
            timeout = Some(*second);
        }
        _ => return None,
    }
    Some((awaitable?, timeout?))
}

/// The statement the awaited call makes up: the expression statement, `return`, or the
/// assignment (`a = b = await ...` included).
fn statement_of(awaited: Node<'_>) -> Option<Node<'_>> {
    let mut current = awaited.parent()?;
    while current.kind() == "assignment" {
        current = current.parent()?;
    }
    matches!(current.kind(), "expression_statement" | "return_statement").then_some(current)
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, PythonVersion, lint_source};
    use crate::rules::Rule;

    fn settings() -> LintSettings {
        LintSettings { rules: [Rule::WaitForInsteadOfTimeout].into_iter().collect(), ..LintSettings::default() }
    }

    fn fixed(source: &str) -> Option<String> {
        let diagnostics = lint_source(source, None, &settings());
        let [diagnostic] = diagnostics.as_slice() else { panic!("one finding expected: {diagnostics:?}") };
        diagnostic.fix.as_ref().map(|fix| fix.apply_to(source))
    }

    const HEAD: &str = "import asyncio\n\n\nasync def f(reader):\n    if reader:\n";

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

    #[test]
    fn statement_assignment_and_return_become_blocks() {
        for (before, after) in [
            ("await asyncio.wait_for(reader.read(), 5)", "await reader.read()"),
            ("data = await asyncio.wait_for(reader.read(100), timeout=t)", "data = await reader.read(100)"),
            ("a = b = await asyncio.wait_for(fut=reader.read(), timeout=t)", "a = b = await reader.read()"),
            ("data: bytes = await asyncio.wait_for(timeout=t, fut=reader.read())", "data: bytes = await reader.read()"),
            ("return await asyncio.wait_for(reader.read(), t)  # why", "return await reader.read()  # why"),
        ] {
            let timeout = if before.contains("5)") { "5" } else { "t" };
            assert_eq!(
                fixed(&format!("{HEAD}        {before}\n        done()\n")),
                Some(format!(
                    "{HEAD}        async with asyncio.timeout({timeout}):\n            {after}\n        done()\n"
                )),
                "{before}"
            );
        }
    }

    #[test]
    fn multi_line_arguments_keep_their_shape_and_comments_move_to_the_end() {
        let source = format!(
            "{HEAD}        data = await asyncio.wait_for(  # one\n            reader.read(\n                100,  # two\n            ),\n            # three\n            timeout=deadline(\n                5,\n            ),\n        )  # four\n"
        );
        assert_eq!(
            fixed(&source),
            Some(format!(
                "{HEAD}        async with asyncio.timeout(deadline(\n            5,\n        )):\n            data = await reader.read(\n                100,  # two\n            )  # four  # one  # three\n"
            )),
        );
    }

    #[test]
    fn keeps_tabs_crlf_and_strings() {
        let source = "import asyncio\r\nasync def f(r):\r\n\tawait asyncio.wait_for(r.send('''a\r\n  b'''), 1)\r\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "import asyncio\r\nasync def f(r):\r\n\tasync with asyncio.timeout(1):\r\n\t\tawait r.send('''a\r\n  b''')\r\n"
            ),
        );
    }

    #[test]
    fn imports_asyncio_after_the_docstring_and_future_imports() {
        let source = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nfrom asyncio import wait_for\n\n\nasync def f(r):\n    await wait_for(r.read(), 1)\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport asyncio\nfrom asyncio import wait_for\n\n\nasync def f(r):\n    async with asyncio.timeout(1):\n        await r.read()\n"
            ),
        );
    }

    #[test]
    fn no_fix_where_the_order_shows_or_the_shape_does_not_fit() {
        for statement in [
            "await asyncio.wait_for(reader.read(), await limit())",
            "await asyncio.wait_for(await make(), 1)",
            "await asyncio.wait_for(reader.read(), (t := 1))",
            "await asyncio.wait_for(reader.read(), 1, loop=None)",
            "await asyncio.wait_for(*args)",
            "await asyncio.wait_for(reader.read(), **options)",
            "await asyncio.wait_for(reader.read(), 1, timeout=2)",
            "await asyncio.wait_for(reader.read())",
            "x = 1; await asyncio.wait_for(reader.read(), 1)",
        ] {
            assert_eq!(fixed(&format!("{HEAD}        {statement}\n")), None, "{statement}");
        }
        let shadowed = "from asyncio import wait_for\nasync def f(asyncio, r):\n    await wait_for(r.read(), 1)\n";
        assert_eq!(fixed(shadowed), None);
    }
}
