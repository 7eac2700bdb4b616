use tree_sitter::Node;

use crate::analysis::fix_builder;
use crate::analysis::semantic::{nodes_in_same_scope, suspends};
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{AsyncLibrary, Checker, Edit, Fix};
use crate::rules::Rule;
use crate::rules::cancelled_error_swallowed::{caught_cancelled_error, caught_types, handler_body, is_cancelled_error};

define_rule! {
    /// ## What it does
    /// Checks for a bare `except:` or `except BaseException` in an async function, when the
    /// `try` body awaits, the handler has a path that ends without raising, and no earlier
    /// handler of the same `try` catches `asyncio.CancelledError`.
    ///
    /// ## Why is this bad?
    /// `asyncio.CancelledError` derives from `BaseException` (since Python 3.8), so these
    /// handlers catch the cancellation delivered at the `await` and, by not re-raising, make
    /// the task carry on although it was cancelled: timeouts, `TaskGroup`s and shutdown stop
    /// working. trio's `Cancelled` (and so anyio's cancellation on either backend) derives
    /// from `BaseException` too.
    ///
    /// ## Example
    /// ```python
    /// async def poll(client):
    ///     try:
    ///         await client.refresh()
    ///     except BaseException:
    ///         log.exception("refresh failed")
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def poll(client):
    ///     try:
    ///         await client.refresh()
    ///     except asyncio.CancelledError:
    ///         raise
    ///     except BaseException:
    ///         log.exception("refresh failed")
    /// ```
    ///
    /// Or catch `Exception`, which does not include `CancelledError`.
    ///
    /// ## Fix safety
    /// The fix inserts `except asyncio.CancelledError:` / `raise` just before the broad handler
    /// (above the comment lines that lead into it), at its indentation, adding `import asyncio`
    /// when the file lacks it (`except*` for an `except*` handler). It is unsafe: on
    /// cancellation the handler's body and the code after the `try` no longer run. It is not
    /// offered when the handler does not start its line or when `asyncio` names something
    /// else. In a trio or anyio module (one that imports `trio` or `anyio` and not `asyncio`)
    /// the message and the fix name that library's cancellation instead,
    /// `except trio.Cancelled:` or `except anyio.get_cancelled_exc_class():`, importing `trio`
    /// or `anyio` when needed and never `asyncio`.
    ///
    /// ## Known problems
    /// A handler whose body both mentions `CancelledError` and raises (`if isinstance(e,
    /// asyncio.CancelledError): raise`), or raises after `not isinstance(e, Exception)`
    /// (cancellation is not an `Exception`), is taken to re-raise it; so is one that calls a
    /// function of the file (by name, or through `self.`/`cls.`) whose body does so, and one
    /// that raises unless another context manager's `__exit__`/`__aexit__` (given the caught
    /// exception) says to suppress it: a cancel scope suppressing only its own cancellation. Any earlier handler of the same
    /// `try` that catches `CancelledError` (or `trio.Cancelled`, or
    /// `anyio.get_cancelled_exc_class()`) keeps this rule quiet: if that handler swallows it,
    /// LW301 reports it there. Awaits in nested functions do not count.
    ///
    /// What counts as raising is what LW301 (cancelled-error-swallowed) describes: a
    /// `raise`, a call statement to a function that never returns (`sys.exit`, `pytest.fail`,
    /// `-> NoReturn`, a `def` of this file whose every path raises, three functions deep), the
    /// code after the `try` reaching a `raise` before the task suspends again (an outer
    /// handler's `try: await conn.close()` / `except BaseException: pass` then `raise`; a
    /// flag set in the handler and tested by `if failed: raise ...`), or the caught exception
    /// kept in a name (`first = exc`, `errors.append(exc)`) that a later `raise` names on every
    /// path, even past awaits and the end of the enclosing loop. Functions of other modules
    /// are assumed to return.
    ///
    /// LW303 (exception-silenced) does not report a handler that this rule reports, as long as
    /// this rule is enabled.
    ///
    /// ## References
    /// - [Python docs: task cancellation](https://docs.python.org/3/library/asyncio-task.html#task-cancellation)
    code: "LW302",
    name: "broad-except-swallows-cancellation",
    summary: "bare `except:`/`except BaseException` around an `await` that can swallow cancellation",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC103"],
    peers: "flake8-async",
    fix: "insert `except asyncio.CancelledError: raise` (`trio.Cancelled`, `anyio.get_cancelled_exc_class()` in trio and anyio modules) before it (unsafe)",
    only_in_async_functions: true,
    // Why: the same as LW303's, which defers to this rule: dropping one drops both.
    triggers: ["except"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, clause: Node<'_>) {
    let Some(reported) = swallows_cancellation(checker, clause) else { return };
    let library = checker.async_library();
    let handler = if reported.kind() == "except" { "Bare `except:`" } else { "`except BaseException`" };
    let message =
        format!("{handler} around an `await` catches {} and may not re-raise it", library.cancelled_in_prose());
    let fix = reraise_fix(checker, clause, library);
    let diagnostic = checker.report(Rule::BroadExceptSwallowsCancellation, reported, message);
    diagnostic.fix = fix;
}

/// The node to report when this rule's condition holds for `clause`: the bare `except`
/// keyword or the caught `BaseException`. LW303 asks it too, to leave these handlers to this
/// rule.
pub(crate) fn swallows_cancellation<'n>(checker: &Checker<'_, '_>, clause: Node<'n>) -> Option<Node<'n>> {
    let types = caught_types(clause);
    let reported = if types.is_empty() {
        clause.child(0)?
    } else {
        types
            .into_iter()
            .find(|caught| checker.semantic.qualified_name(*caught).as_deref() == Some("builtins.BaseException"))?
    };
    let (body, try_statement) = (handler_body(clause)?, clause.parent()?);
    let try_body = try_statement.field(&field::BODY)?;
    if !suspends(try_body)
        || !checker.semantic.handler_may_complete_without_raising(clause)
        || reraises_cancellation(checker, body)
    {
        return None;
    }
    let mut cursor = try_statement.walk();
    let earlier_catches_cancellation =
        try_statement.named_children(&mut cursor).take_while(|sibling| sibling.id() != clause.id()).any(|sibling| {
            sibling.kind() == "except_clause" && caught_cancelled_error(checker.semantic, sibling).is_some()
        });
    (!earlier_catches_cancellation).then_some(reported)
}

/// `except asyncio.CancelledError:` / `raise` (`trio.Cancelled`,
/// `anyio.get_cancelled_exc_class()`: the file's library's) on new lines before `clause`, and
/// before the comment lines at its indentation that lead into it (they speak of the broad
/// handler).
fn reraise_fix(checker: &Checker<'_, '_>, clause: Node<'_>, library: AsyncLibrary) -> Option<Fix> {
    let source = checker.semantic.source();
    if !fix_builder::is_first_on_line(source, clause.start_byte()) {
        return None;
    }
    let indent = fix_builder::indentation_at(source, clause.start_byte());
    let mut position = fix_builder::line_start(source, clause.start_byte());
    while position > 0 {
        let previous = fix_builder::line_start(source, position - 1);
        let comment_start = previous + indent.len();
        let is_comment_line = source[previous..position].starts_with(indent)
            && checker.semantic.comments().iter().any(|comment| comment.start == comment_start);
        if !is_comment_line {
            break;
        }
        position = previous;
    }
    let mut cursor = clause.walk();
    let keyword = if clause.children(&mut cursor).any(|child| child.kind() == "*") { "except*" } else { "except" };
    let unit = &checker.stylist().indent;
    let cancelled = library.cancelled();
    let insert = Edit::insertion(format!("{indent}{keyword} {cancelled}:\n{indent}{unit}raise\n"), position);
    let title = format!("Insert `{keyword} {cancelled}: raise` before it");
    let import = checker.import_module(library.module(), clause.start_byte()).into_edits()?;
    Some(Fix::unsafe_edits(title, insert, import))
}

/// A body that raises somewhere and names `CancelledError` (an `isinstance` test before a
/// bare `raise`) handles cancellation on purpose.
fn reraises_cancellation(checker: &Checker<'_, '_>, body: Node<'_>) -> bool {
    reraises_here(checker, body)
        || delegates_to_an_exit(checker, body)
        // `await self.handle_error(exc)`: a function of the file that re-raises cancellation
        // itself (its bare `raise` re-raises the exception being handled).
        || nodes_in_same_scope(body).into_iter().filter(|node| node.kind() == "call").any(|call| {
            call.field(&field::FUNCTION)
                .and_then(|callee| checker.semantic.helper_definition(callee))
                .and_then(|definition| definition.field(&field::BODY))
                .is_some_and(|helper| reraises_here(checker, helper))
        })
}

/// `if scope.__exit__(type(exc), exc, exc.__traceback__): return True` then `raise`: the
/// handler lets another context manager's exit decide, which is how a context manager
/// suppresses only what it owns (a cancel scope, its own cancellation). loopwise cannot see
/// that decision.
fn delegates_to_an_exit(checker: &Checker<'_, '_>, body: Node<'_>) -> bool {
    let nodes = nodes_in_same_scope(body);
    nodes.iter().any(|node| node.kind() == "raise_statement")
        && nodes.iter().any(|node| {
            node.kind() == "call"
                && node
                    .field(&field::FUNCTION)
                    .filter(|callee| callee.kind() == "attribute")
                    .and_then(|callee| callee.field(&field::ATTRIBUTE))
                    .is_some_and(|method| matches!(checker.text(method), "__exit__" | "__aexit__"))
        })
}

/// A `raise` in `body` and a test for cancellation: a cancellation class named, or
/// `not isinstance(exc, Exception)` (cancellation is not an `Exception`).
fn reraises_here(checker: &Checker<'_, '_>, body: Node<'_>) -> bool {
    let nodes = nodes_in_same_scope(body);
    nodes.iter().any(|node| node.kind() == "raise_statement")
        && nodes.iter().any(|node| {
            (matches!(node.kind(), "identifier" | "attribute")
                && checker.semantic.qualified_name(*node).is_some_and(|qualified| is_cancelled_error(&qualified)))
                || is_not_an_exception_test(checker, *node)
        })
}

/// `not isinstance(x, Exception)`.
fn is_not_an_exception_test(checker: &Checker<'_, '_>, node: Node<'_>) -> bool {
    if node.kind() != "not_operator" {
        return false;
    }
    let Some(call) = node.field(&field::ARGUMENT).filter(|argument| argument.kind() == "call") else {
        return false;
    };
    let is_isinstance = call.field(&field::FUNCTION).is_some_and(|callee| checker.text(callee) == "isinstance");
    let classes = call.field(&field::ARGUMENTS).and_then(|arguments| arguments.named_child(1));
    is_isinstance
        && classes.is_some_and(|class| checker.semantic.qualified_name(class).as_deref() == Some("builtins.Exception"))
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, lint_source};
    use crate::rules::{Rule, RuleSet};

    fn fixed(source: &str) -> Option<String> {
        let rules = [Rule::BroadExceptSwallowsCancellation].into_iter().collect::<RuleSet>();
        let diagnostics = lint_source(source, None, &LintSettings { rules, ..LintSettings::default() });
        assert_eq!(diagnostics.len(), 1, "{source}: {diagnostics:?}");
        diagnostics[0].fix.as_ref().map(|fix| fix.apply_to(source))
    }

    #[test]
    fn clause_goes_in_at_the_handler_indentation_of_a_tab_crlf_file() {
        let source = "import asyncio\r\n\r\nasync def f(c):\r\n\tif c:\r\n\t\ttry:\r\n\t\t\tawait c.run()\r\n\t\texcept:  # why\r\n\t\t\tpass\r\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "import asyncio\r\n\r\nasync def f(c):\r\n\tif c:\r\n\t\ttry:\r\n\t\t\tawait c.run()\r\n\t\texcept asyncio.CancelledError:\r\n\t\t\traise\r\n\t\texcept:  # why\r\n\t\t\tpass\r\n"
            )
        );
    }

    #[test]
    fn missing_import_goes_after_docstring_and_future_imports() {
        let source = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\n\nasync def f(c):\n    try:\n        await c.run()\n    except ValueError:\n        pass\n    # Anything else: carry on.\n    except BaseException:\n        pass\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nimport asyncio\n\n\nasync def f(c):\n    try:\n        await c.run()\n    except ValueError:\n        pass\n    except asyncio.CancelledError:\n        raise\n    # Anything else: carry on.\n    except BaseException:\n        pass\n"
            )
        );
    }

    #[test]
    fn no_fix_when_asyncio_names_something_else() {
        let source = "async def f(c, asyncio):\n    try:\n        await c.run()\n    except:\n        pass\n";
        assert_eq!(fixed(source), None);
    }
}
