use tree_sitter::Node;

use crate::analysis::fix_builder;
use crate::analysis::semantic::suspends;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `async with asyncio.timeout(...)` and `async with asyncio.timeout_at(...)`
    /// blocks whose body has no `await`, `async for` or `async with`.
    ///
    /// ## Why is this bad?
    /// An asyncio timeout cancels the task at its next suspension point. A body that never
    /// suspends cannot be interrupted, so the timeout does nothing; usually the `await` that
    /// was meant to be bounded sits after the block, or a blocking call is inside it.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def read(reader):
    ///     async with asyncio.timeout(5):
    ///         request = reader.read(100)
    ///     return await request
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def read(reader):
    ///     async with asyncio.timeout(5):
    ///         return await reader.read(100)
    /// ```
    ///
    /// ## Fix safety
    /// The fix removes the timeout. A block that opens only the timeout is replaced by its
    /// body, dedented one level (lines inside multi-line strings are left alone), with the
    /// header's comments on their own lines above it; a body on the header's line stays where
    /// it is. In `async with lock, asyncio.timeout(1):` only the timeout item and its comma go.
    /// It is unsafe: the intent was probably to bound an `await` that sits after the block,
    /// and moving it in may be the better repair. It is not offered when the `as` name is
    /// used, when a comment sits in the removed header or item, or when the body's lines are
    /// not indented as the block says (a comment at the margin, tabs mixed with spaces).
    ///
    /// ## Known problems
    /// Awaits in nested functions, lambdas and classes do not count: they do not run in the
    /// block. A manager listed after the timeout in the same `async with` awaits its
    /// `__aenter__` inside the scope, so such blocks are not flagged; one listed before it is
    /// entered before the timeout starts. `async_timeout.timeout` and anyio scopes are not
    /// checked.
    ///
    /// ## References
    /// - [Python docs: `asyncio.timeout`](https://docs.python.org/3/library/asyncio-task.html#asyncio.timeout)
    code: "LW405",
    name: "timeout-without-await",
    summary: "`async with asyncio.timeout(...)` whose body never awaits",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC100"],
    peers: "ruff, flake8-async",
    fix: "remove the block and dedent its body (unsafe)",
    only_in_async_functions: true,
    // Why: `timeout` covers `timeout_at`.
    triggers: ["timeout"],
}

/// `with_statement` is an `async with`; `manager` one of its context managers.
pub(crate) fn check(checker: &mut Checker<'_, '_>, with_statement: Node<'_>, manager: Node<'_>) {
    let call = if manager.kind() == "as_pattern" { manager.named_child(0).unwrap_or(manager) } else { manager };
    if call.kind() != "call" {
        return;
    }
    let Some(callee) = call.field(&field::FUNCTION) else { return };
    let Some(qualified) = checker.semantic.qualified_name(callee) else { return };
    let name = match qualified.as_str() {
        "asyncio.timeout" | "asyncio.timeouts.timeout" => "timeout",
        "asyncio.timeout_at" | "asyncio.timeouts.timeout_at" => "timeout_at",
        _ => return,
    };
    let Some(body) = with_statement.field(&field::BODY) else { return };
    let items = with_items(with_statement);
    let Some(index) = items
        .iter()
        .position(|item| item.start_byte() <= manager.start_byte() && manager.end_byte() <= item.end_byte())
    else {
        return;
    };
    // Managers listed after the timeout are entered and left inside its scope, awaiting their
    // `__aenter__`/`__aexit__` there; those listed before it are not.
    if index + 1 < items.len() || suspends(body) {
        return;
    }
    let fix = if items.len() == 1 {
        remove_block_fix(checker, with_statement, manager, name)
    } else {
        remove_item_fix(checker, &items, index, manager, name)
    };
    let diagnostic = checker.report(
        Rule::TimeoutWithoutAwait,
        call,
        format!("`asyncio.{name}()` block has no `await`, so the timeout can never fire"),
    );
    diagnostic.fix = fix;
}

/// The `with_item`s of a `with` statement, in order.
fn with_items(with_statement: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = with_statement.walk();
    let Some(clause) = with_statement.named_children(&mut cursor).find(|child| child.kind() == "with_clause") else {
        return Vec::new();
    };
    let mut cursor = clause.walk();
    clause.named_children(&mut cursor).filter(|child| child.kind() == "with_item").collect()
}

/// Whether dropping the `as name` of `manager` loses nothing: it has none, or the function
/// never mentions the name elsewhere.
fn alias_is_unused(checker: &Checker<'_, '_>, manager: Node<'_>) -> bool {
    if manager.kind() != "as_pattern" {
        return true;
    }
    let Some(alias) = manager.field(&field::ALIAS).and_then(|alias| alias.named_child(0)) else {
        return false;
    };
    if alias.kind() != "identifier" {
        return false;
    }
    let Some(function) = checker.semantic.enclosing_function(manager.start_byte()) else { return false };
    let Some(body) = checker.semantic.scope(function).node.field(&field::BODY) else { return false };
    checker.semantic.references_in(body, checker.text(alias)).iter().all(|reference| reference.id() == alias.id())
}

/// The body in place of the whole statement, dedented one level; the header's comments go on
/// their own lines above it.
fn remove_block_fix(checker: &Checker<'_, '_>, with_statement: Node<'_>, manager: Node<'_>, name: &str) -> Option<Fix> {
    let source = checker.semantic.source();
    let body = with_statement.field(&field::BODY)?;
    if !fix_builder::is_first_on_line(source, with_statement.start_byte()) || !alias_is_unused(checker, manager) {
        return None;
    }
    let title = format!("Remove the `asyncio.{name}()` block");
    if !fix_builder::is_first_on_line(source, body.start_byte()) {
        // `async with asyncio.timeout(1): x = 1`: the body takes the header's place on its line.
        let header = TextRange::new(with_statement.start_byte(), body.start_byte());
        let holds_comment = checker
            .semantic
            .comments()
            .iter()
            .any(|comment| header.start <= comment.start && comment.end <= header.end);
        return (!holds_comment).then(|| Fix::unsafe_edit(title, Edit::deletion(header)));
    }
    let mut cursor = with_statement.walk();
    let colon = with_statement.children(&mut cursor).find(|child| child.kind() == ":")?;
    let indent = fix_builder::indentation_at(source, with_statement.start_byte());
    let unit =
        fix_builder::indentation_at(source, body.start_byte()).strip_prefix(indent).filter(|unit| !unit.is_empty())?;
    // Taking `unit` off the front of a line stands for taking it off after `indent` only when
    // both are one repeated character (all tabs or all spaces).
    let mut characters = indent.chars().chain(unit.chars());
    let first = characters.next()?;
    if !characters.all(|character| character == first) {
        return None;
    }
    let region = TextRange::new(fix_builder::next_line_start(source, colon.end_byte()), with_statement.end_byte());
    let root = checker.semantic.scope(0).node;
    let mut dedented = fix_builder::dedent_text(source, root, region, unit)?;
    // `dedent_text` leaves the first line to the caller.
    let first_line = &source[region.start..fix_builder::line_end(source, region.start)];
    if !first_line.trim().is_empty() {
        if !first_line.starts_with(unit) {
            return None;
        }
        dedented.drain(..unit.len());
    }
    let mut replacement = String::new();
    for comment in checker
        .semantic
        .comments()
        .iter()
        .filter(|comment| with_statement.start_byte() <= comment.start && comment.end <= region.start)
    {
        replacement.push_str(indent);
        replacement.push_str(&source[comment.start..comment.end]);
        replacement.push('\n');
    }
    replacement.push_str(&dedented);
    let statement =
        TextRange::new(fix_builder::line_start(source, with_statement.start_byte()), with_statement.end_byte());
    Some(Fix::unsafe_edit(title, Edit::replacement(replacement, statement)))
}

/// `async with a, asyncio.timeout(1):` to `async with a:`: the timeout is the last item (one
/// after it would await inside it), so it goes with the comma before it.
fn remove_item_fix(
    checker: &Checker<'_, '_>,
    items: &[Node<'_>],
    index: usize,
    manager: Node<'_>,
    name: &str,
) -> Option<Fix> {
    let previous = items.get(index.checked_sub(1)?)?;
    let range = TextRange::new(previous.end_byte(), items.get(index)?.end_byte());
    let holds_comment =
        checker.semantic.comments().iter().any(|comment| range.start <= comment.start && comment.start < range.end);
    if holds_comment || !alias_is_unused(checker, manager) {
        return None;
    }
    Some(Fix::unsafe_edit(format!("Remove `asyncio.{name}()` from the `async with`"), Edit::deletion(range)))
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, lint_source};
    use crate::rules::{Rule, RuleSet};

    fn fixed(source: &str) -> Option<String> {
        let rules = [Rule::TimeoutWithoutAwait].into_iter().collect::<RuleSet>();
        let diagnostics = lint_source(source, None, &LintSettings { rules, ..LintSettings::default() });
        assert_eq!(diagnostics.len(), 1, "{source}: {diagnostics:?}");
        diagnostics[0].fix.as_ref().map(|fix| fix.apply_to(source))
    }

    #[test]
    fn body_is_dedented_in_a_tab_crlf_file_and_strings_stay() {
        let source = "import asyncio\r\n\r\nasync def f(xs):\r\n\tif xs:\r\n\t\tasync with asyncio.timeout(1):  # why\r\n\r\n\t\t\tfor x in xs:\r\n\t\t\t\tprint(x, \"\"\"a\r\n\t\t\t\tb\"\"\")\r\n\t\t\t# done\r\n\treturn xs\r\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "import asyncio\r\n\r\nasync def f(xs):\r\n\tif xs:\r\n\t\t# why\r\n\r\n\t\tfor x in xs:\r\n\t\t\tprint(x, \"\"\"a\r\n\t\t\t\tb\"\"\")\r\n\t\t# done\r\n\treturn xs\r\n"
            )
        );
    }

    #[test]
    fn multi_line_header_comments_move_above_the_body() {
        let source = "from asyncio import timeout\n\n\nasync def f():\n    async with timeout(  # why\n        5,\n    ):  # more\n        # lead\n        x = 1\n    return x\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "from asyncio import timeout\n\n\nasync def f():\n    # why\n    # more\n    # lead\n    x = 1\n    return x\n"
            )
        );
    }

    #[test]
    fn a_body_on_the_header_line_takes_the_header_place() {
        let source = "import asyncio\n\n\nasync def f():\n    async with asyncio.timeout(1): x = 1; y = 2  # why\n    return x, y\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some("import asyncio\n\n\nasync def f():\n    x = 1; y = 2  # why\n    return x, y\n")
        );
    }

    #[test]
    fn only_the_timeout_item_goes_when_another_manager_comes_first() {
        let source = "import asyncio\n\n\nasync def f(lock):\n    async with lock, asyncio.timeout(1) as unused:\n        x = 1\n    return x\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some("import asyncio\n\n\nasync def f(lock):\n    async with lock:\n        x = 1\n    return x\n")
        );
    }

    #[test]
    fn shapes_the_removal_cannot_take_have_no_fix() {
        let body = |text: &str| format!("import asyncio\n\n\nasync def f():\n{text}\n");
        assert_eq!(fixed(&body("    async with asyncio.timeout(  # why\n        1): x = 1")), None);
        assert_eq!(fixed(&body("    async with asyncio.timeout(1) as t:\n        t.reschedule(None)")), None);
        assert_eq!(fixed(&body("    async with asyncio.timeout(1):\n        x = 1\n# margin\n        y = 2")), None);
        assert_eq!(fixed(&body("\tasync with asyncio.timeout(1):\n\t    x = 1")), None);
    }
}
