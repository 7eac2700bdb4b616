use tree_sitter::Node;

use crate::analysis::async_library::cancellation_library;
use crate::analysis::semantic::{SemanticModel, nodes_in_same_scope, suspends};
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{AsyncLibrary, Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `except` clauses in an async function that catch `asyncio.CancelledError`
    /// (however it is spelled or imported, alone or in a tuple) around a `try` body where the
    /// task's cancellation can arrive (it awaits, or yields), and have a path that ends without
    /// raising: the handler returns, or it falls through (or breaks or continues) and the code
    /// that runs next does not raise before the task suspends again.
    /// trio's `trio.Cancelled` and anyio's `anyio.get_cancelled_exc_class()` are checked the
    /// same way.
    ///
    /// ## Why is this bad?
    /// Cancellation is delivered as `CancelledError`. Swallowing it makes the task go on (or
    /// finish normally) although it was cancelled: `asyncio.timeout()` cannot turn it into a
    /// `TimeoutError`, a `TaskGroup` cannot shut down, and `task.cancel()` callers wait forever
    /// or see a result instead of the cancellation. In trio and anyio, a swallowed
    /// cancellation lets code go on inside a cancel scope that was cancelled.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def worker(queue):
    ///     while True:
    ///         try:
    ///             item = await queue.get()
    ///         except asyncio.CancelledError:
    ///             log.info("worker stopping")
    ///         process(item)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def worker(queue):
    ///     while True:
    ///         try:
    ///             item = await queue.get()
    ///         except asyncio.CancelledError:
    ///             log.info("worker stopping")
    ///             raise
    ///         process(item)
    /// ```
    ///
    /// ## Fix safety
    /// The fix appends `raise` to a handler that falls through at its end, or replaces a body
    /// that is only `pass` or `...` with `raise`. It is unsafe: the code after the `try` no
    /// longer runs on cancellation. It is offered only when the clause catches `CancelledError`
    /// alone (in a tuple, `raise` would re-raise the other exceptions too), when no path of the
    /// handler returns or leaves it by `break` or `continue` (that path would still swallow the
    /// cancellation), and, to append, when the handler's body starts on its own line.
    ///
    /// ## Known problems
    /// Not reported: the documented idiom of awaiting a task the same function just cancelled
    /// (`task.cancel()` then `try: await task` / `except CancelledError: pass`, also through a
    /// loop over the tasks and `gather(*tasks)`), and handlers that call `.uncancel()` or test
    /// `asyncio.current_task().cancelling()` (re-raising only when this task is the one being
    /// cancelled, the idiom for telling its own cancellation from that of an awaited future).
    /// Handlers in sync functions (such as done callbacks reading `future.result()`) are not
    /// reported: no task is being cancelled there. Nor is a `try` whose body neither awaits
    /// (`await`, `async for`, `async with`) nor yields: a `CancelledError` raised there comes
    /// from a plain call (`future.result()` of a cancelled future), not from this task being
    /// cancelled. Awaits in nested functions and lambdas do not count.
    ///
    /// What counts as raising (shared with LW302 and LW303):
    /// - a `raise`, or a call statement to a function that never returns: `sys.exit`,
    ///   `os._exit`, `os.abort`, `exit`, `quit`, `pytest.fail`/`skip`/`exit`/`xfail`,
    ///   `typing.assert_never`, a function annotated `-> NoReturn` or `-> Never` (`typing` or
    ///   `typing_extensions`), or a `def` of this file (by name, or a method through `self.` or
    ///   `cls.`; awaited if it is an `async def`) whose every path raises, followed at most
    ///   three functions deep. Functions of other modules are assumed to return, and so are
    ///   methods that raise `NotImplementedError` (a subclass overrides them) and functions
    ///   with other decorators than `staticmethod`, `classmethod`, `final` and `override`;
    /// - after a handler that falls through (or breaks or continues), the code that runs next:
    ///   the statements after the `try`, out of the enclosing `if`, `with`, `try` and handler
    ///   blocks (not past the end of a loop or of the function). It counts when it reaches a
    ///   `raise` before the task suspends again (an `await`, `async for` or `async with`,
    ///   leaving an `async with` included): an outer handler's `try: await conn.rollback()` /
    ///   `except CancelledError: ...` then `raise`. It takes the branch that a flag the handler
    ///   set decides (`cancelled = True`, then `if cancelled: raise ...`). An inner handler in
    ///   a cleanup `for` loop of an outer handler that then re-raises (a bare `raise` after the
    ///   loop, nothing leaving first) counts as raising past the loop's awaits: the cleanup goes
    ///   on past a second cancellation, and the task still ends;
    /// - a handler that keeps the caught exception (`first = exc`, `first = first or exc`,
    ///   `if first is None: first = exc`, `errors.append(exc)`) may complete only if some path
    ///   after it misses a `raise` naming that variable (`raise first`, `raise errors[0]`,
    ///   `raise ExceptionGroup("...", errors)`). Such a raise counts past awaits and past the
    ///   end of the loop around the `try`, when nothing in the loop outside the handler
    ///   reassigns the name, and the loop has no `else` nor `return` and is not `while True:`.
    ///
    /// Tests are decided when written `x`, `not x`, `x is None`, `x is not None` or `and`/`or`
    /// of these, for flags set to `True`, `False` or `None` by a top-level statement of the
    /// handler. A `raise` in the body of an enclosing `try` that has handlers does not count
    /// (they may catch it), and a `with` is assumed not to suppress exceptions.
    ///
    /// ## References
    /// - [Python docs: task cancellation](https://docs.python.org/3/library/asyncio-task.html#task-cancellation)
    code: "LW301",
    name: "cancelled-error-swallowed",
    summary: "`except asyncio.CancelledError` (or trio's, anyio's) with a path that does not re-raise",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC103", "ASYNC104"],
    peers: "flake8-async",
    fix: "append `raise` (unsafe)",
    only_in_async_functions: true,
    triggers: ["except"],
}

/// Whether the qualified name names a cancellation exception: asyncio's `CancelledError`,
/// trio's `Cancelled`, or anyio's `get_cancelled_exc_class` (whose call gives the backend's).
pub(crate) fn is_cancelled_error(qualified: &str) -> bool {
    cancellation_library(qualified).is_some()
}

/// The library whose cancellation exception an `except` clause's type is:
/// `asyncio.CancelledError`, `trio.Cancelled`, `anyio.get_cancelled_exc_class()`.
pub(crate) fn cancellation_type(semantic: &SemanticModel<'_>, caught: Node<'_>) -> Option<AsyncLibrary> {
    if caught.kind() == "call" {
        let callee = caught.field(&field::FUNCTION)?;
        let arguments = caught.field(&field::ARGUMENTS)?;
        if arguments.named_child_count() > 0 {
            return None;
        }
        return cancellation_library(&semantic.qualified_name(callee)?)
            .filter(|&library| library == AsyncLibrary::Anyio);
    }
    cancellation_library(&semantic.qualified_name(caught)?).filter(|&library| library != AsyncLibrary::Anyio)
}

/// The types an `except` clause names: `except A`, `except (A, B)`, `except A, B` (3.14).
pub(crate) fn caught_types(clause: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = clause.walk();
    let mut pending: Vec<Node<'_>> = clause.children_by_field_name("value", &mut cursor).collect();
    let mut types = Vec::new();
    while let Some(node) = pending.pop() {
        match node.kind() {
            // `except A as e` is an `as_pattern` around `A`.
            "as_pattern" => pending.extend(node.named_child(0)),
            "tuple" | "parenthesized_expression" | "expression_list" => {
                let mut inner = node.walk();
                pending.extend(node.named_children(&mut inner).filter(|child| child.kind() != "comment"));
            }
            _ => types.push(node),
        }
    }
    types.sort_by_key(Node::start_byte);
    types
}

/// The handler body of an `except` clause.
pub(crate) fn handler_body(clause: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = clause.walk();
    clause.named_children(&mut cursor).find(|child| child.kind() == "block")
}

/// The caught type that is a cancellation exception (see [`cancellation_type`]), if any.
pub(crate) fn caught_cancelled_error<'n>(semantic: &SemanticModel<'_>, clause: Node<'n>) -> Option<Node<'n>> {
    caught_types(clause).into_iter().find(|caught| cancellation_type(semantic, *caught).is_some())
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, clause: Node<'_>) {
    let Some(cancelled) = caught_cancelled_error(checker.semantic, clause) else { return };
    let (Some(body), Some(try_statement)) = (handler_body(clause), clause.parent()) else { return };
    let Some(try_body) = try_statement.field(&field::BODY) else { return };
    if !receives_cancellation(try_body)
        || !checker.semantic.handler_may_complete_without_raising(clause)
        || inspects_cancellation(checker, body)
        || awaits_what_it_cancelled(checker, try_statement)
    {
        return;
    }
    let library = cancellation_type(checker.semantic, cancelled).unwrap_or(AsyncLibrary::Asyncio);
    let fix = raise_fix(checker, clause, body, library);
    let written = checker.text(cancelled);
    let diagnostic = checker.report(
        Rule::CancelledErrorSwallowed,
        cancelled,
        format!("`{written}` is caught and not re-raised, so the task does not stop when cancelled"),
    );
    diagnostic.fix = fix;
}

/// Whether the task's cancellation can arrive in a `try` body: it suspends (`await`, `async
/// for`, `async with`) or yields (in an `@asynccontextmanager`, the `async with` block's
/// cancellation is thrown in at the `yield`). A `CancelledError` raised by a plain call there
/// (`future.result()` of a cancelled future) is not this task being cancelled.
fn receives_cancellation(try_body: Node<'_>) -> bool {
    suspends(try_body) || nodes_in_same_scope(try_body).into_iter().any(|node| node.kind() == "yield")
}

/// A handler that calls `.uncancel()` or asks `.cancelling()` (and re-raises only when the
/// current task is being cancelled) deals with cancellation on purpose.
fn inspects_cancellation(checker: &Checker<'_, '_>, body: Node<'_>) -> bool {
    nodes_in_same_scope(body).into_iter().any(|node| {
        node.kind() == "call"
            && node
                .field(&field::FUNCTION)
                .and_then(|callee| callee.field(&field::ATTRIBUTE))
                .is_some_and(|method| matches!(checker.text(method), "uncancel" | "cancelling"))
    })
}

/// The idiom `task.cancel()` ... `try: await task` / `except CancelledError: pass`: the
/// function waits for a task it cancelled itself, and the `CancelledError` is the task's, not
/// its own. Also `for t in tasks: t.cancel()` then `await asyncio.gather(*tasks)`.
fn awaits_what_it_cancelled(checker: &Checker<'_, '_>, try_statement: Node<'_>) -> bool {
    let Some(try_body) = try_statement.field(&field::BODY) else { return false };
    let mut awaited: Vec<&str> = Vec::new();
    for node in nodes_in_same_scope(try_body) {
        if node.kind() != "await" {
            continue;
        }
        let Some(value) = node.named_child(0) else { continue };
        awaited.push(checker.text(value));
        if value.kind() == "call"
            && let Some(arguments) = value.field(&field::ARGUMENTS)
        {
            let mut cursor = arguments.walk();
            for argument in arguments.named_children(&mut cursor) {
                let argument = if argument.kind() == "list_splat" { argument.named_child(0) } else { Some(argument) };
                awaited.extend(argument.map(|argument| checker.text(argument)));
            }
        }
    }
    if awaited.is_empty() {
        return false;
    }
    let Some(function) = checker.semantic.enclosing_function(try_statement.start_byte()) else { return false };
    let function_node = checker.semantic.scope(function).node;
    nodes_in_same_scope(function_node).into_iter().any(|node| {
        if node.kind() != "call" || node.start_byte() >= try_statement.end_byte() {
            return false;
        }
        let Some(callee) = node.field(&field::FUNCTION).filter(|callee| callee.kind() == "attribute") else {
            return false;
        };
        let (Some(receiver), Some(method)) = (callee.field(&field::OBJECT), callee.field(&field::ATTRIBUTE)) else {
            return false;
        };
        if checker.text(method) != "cancel" {
            return false;
        }
        let receiver = checker.text(receiver);
        awaited.contains(&receiver)
            || cancelled_loop_iterable(checker, node, receiver).is_some_and(|iterable| awaited.contains(&iterable))
    })
}

/// For `for task in tasks: task.cancel()`, the text `tasks`.
fn cancelled_loop_iterable<'s>(checker: &Checker<'_, 's>, cancel: Node<'_>, receiver: &str) -> Option<&'s str> {
    let mut current = cancel.parent();
    while let Some(node) = current {
        if node.kind() == "for_statement" {
            let target = node.field(&field::LEFT)?;
            if checker.text(target) == receiver {
                return node.field(&field::RIGHT).map(|iterable| checker.text(iterable));
            }
        }
        if matches!(node.kind(), "function_definition" | "lambda") {
            return None;
        }
        current = node.parent();
    }
    None
}

/// `raise` appended after the handler's last statement, at the body's indentation, when the
/// clause catches `CancelledError` alone and every path of the body that does not raise falls
/// through at its end (a path that returns would still swallow the cancellation: the finding
/// would stay after the fix). A body that is only `pass` or `...` becomes `raise`.
fn raise_fix(checker: &Checker<'_, '_>, clause: Node<'_>, body: Node<'_>, library: AsyncLibrary) -> Option<Fix> {
    if caught_types(clause).len() != 1 || !checker.semantic.block_only_falls_through(body) {
        return None;
    }
    let source = checker.semantic.source();
    let mut cursor = body.walk();
    let statements: Vec<Node<'_>> =
        body.named_children(&mut cursor).filter(|statement| statement.kind() != "comment").collect();
    let (first, last) = (statements.first()?, statements.last()?);
    let title = match library {
        AsyncLibrary::Asyncio => "Re-raise the `CancelledError`",
        AsyncLibrary::Trio => "Re-raise the `Cancelled`",
        AsyncLibrary::Anyio => "Re-raise the cancellation exception",
    };
    if let [only] = statements.as_slice()
        && is_placeholder(*only, source)
    {
        return Some(Fix::unsafe_edit(title, Edit::replacement("raise", TextRange::of(*only))));
    }
    let line_start = source[..first.start_byte()].rfind('\n').map_or(0, |index| index + 1);
    let indent = &source[line_start..first.start_byte()];
    if !indent.chars().all(|c| c == ' ' || c == '\t') {
        return None;
    }
    let line_end = source[last.end_byte()..].find('\n').map_or(source.len(), |index| last.end_byte() + index);
    let rest = source[last.end_byte()..line_end].trim();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return None;
    }
    let (at, newline) = if source[..line_end].ends_with('\r') { (line_end - 1, "\r\n") } else { (line_end, "\n") };
    Some(Fix::unsafe_edit(title, Edit::insertion(format!("{newline}{indent}raise"), at)))
}

/// `pass` or `...` alone: a statement that only stands for an empty body.
fn is_placeholder(statement: Node<'_>, source: &str) -> bool {
    match statement.kind() {
        "pass_statement" => true,
        "expression_statement" => source[statement.byte_range()].trim() == "...",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, lint_source};
    use crate::rules::Rule;

    fn fixed(source: &str) -> Option<String> {
        let settings =
            LintSettings { rules: [Rule::CancelledErrorSwallowed].into_iter().collect(), ..LintSettings::default() };
        let diagnostics = lint_source(source, None, &settings);
        let [diagnostic] = diagnostics.as_slice() else { panic!("one finding expected: {diagnostics:?}") };
        let fix = diagnostic.fix.as_ref()?;
        let text = fix.apply_to(source);
        Some(text)
    }

    #[test]
    fn raise_goes_after_the_last_statement_at_the_body_indentation() {
        let source = "import asyncio\nasync def f(q):\n    try:\n        await q.get()\n    except asyncio.CancelledError:\n        if q:\n            log(q)  # why\n    done()\n";
        let expected = "import asyncio\nasync def f(q):\n    try:\n        await q.get()\n    except asyncio.CancelledError:\n        if q:\n            log(q)  # why\n        raise\n    done()\n";
        assert_eq!(fixed(source).as_deref(), Some(expected));
    }

    #[test]
    fn crlf_files_keep_crlf() {
        let source = "import asyncio\r\nasync def f(q):\r\n    try:\r\n        await q.get()\r\n    except asyncio.CancelledError:\r\n        pass\r\n";
        let expected = "import asyncio\r\nasync def f(q):\r\n    try:\r\n        await q.get()\r\n    except asyncio.CancelledError:\r\n        log(q)\r\n        raise\r\n";
        assert_eq!(fixed(&source.replace("pass", "log(q)")).as_deref(), Some(expected));
    }

    #[test]
    fn a_body_that_is_only_pass_or_an_ellipsis_becomes_raise() {
        let head =
            "import asyncio\nasync def f(q):\n    try:\n        await q.get()\n    except asyncio.CancelledError:\n";
        for placeholder in ["pass", "...", "pass  # ignore"] {
            let source = format!("{head}        {placeholder}\n    done()\n");
            let expected = format!(
                "{head}        {}\n    done()\n",
                placeholder.replacen("pass", "raise", 1).replace("...", "raise")
            );
            assert_eq!(fixed(&source), Some(expected), "{placeholder}");
        }
    }

    #[test]
    fn no_fix_when_another_path_would_still_swallow_the_cancellation() {
        // sanic's http1.py: `raise` appended at the end would leave the `return` path.
        let source = "import asyncio\nasync def f(q):\n    try:\n        await q.get()\n    except asyncio.CancelledError:\n        if not q:\n            return\n        log(q)\n";
        assert_eq!(fixed(source), None);
        let source = "import asyncio\nasync def f(q):\n    while q:\n        try:\n            await q.get()\n        except asyncio.CancelledError:\n            if q:\n                continue\n            log(q)\n";
        assert_eq!(fixed(source), None);
    }

    #[test]
    fn no_fix_for_tuples_one_line_statements_or_bodies_that_return() {
        let head = "import asyncio\nasync def f(q):\n    try:\n        await q.get()\n";
        assert_eq!(fixed(&format!("{head}    except (OSError, asyncio.CancelledError):\n        pass\n")), None);
        assert_eq!(fixed(&format!("{head}    except asyncio.CancelledError: log(q)\n")), None);
        assert_eq!(
            fixed(&format!("{head}    except asyncio.CancelledError: pass\n")),
            Some(format!("{head}    except asyncio.CancelledError: raise\n")),
            "a lone `pass` is replaced wherever it is"
        );
        assert_eq!(fixed(&format!("{head}    except asyncio.CancelledError:\n        return 1\n")), None);
    }
}
