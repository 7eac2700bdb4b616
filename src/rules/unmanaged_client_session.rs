use tree_sitter::Node;

use crate::analysis::fix_builder;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for an `aiohttp.ClientSession(...)`, `aiohttp.TCPConnector(...)` or
    /// `httpx.AsyncClient(...)` bound to a local variable that is neither used with
    /// `async with`, nor closed in a `finally` (`await x.close()` / `await x.aclose()`), nor
    /// handed on (returned, yielded, stored in an attribute or a container, passed to another
    /// call such as `AsyncExitStack.enter_async_context`).
    ///
    /// ## Why is this bad?
    /// A client owns a connection pool. If it is not closed on every path (an exception
    /// included), its sockets stay open until garbage collection, aiohttp warns
    /// `Unclosed client session`, and a long-running service leaks connections.
    ///
    /// ## Example
    /// ```python
    /// import aiohttp
    ///
    /// async def fetch(url):
    ///     session = aiohttp.ClientSession()
    ///     response = await session.get(url)
    ///     await session.close()
    ///     return await response.text()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import aiohttp
    ///
    /// async def fetch(url):
    ///     async with aiohttp.ClientSession() as session:
    ///         async with session.get(url) as response:
    ///             return await response.text()
    /// ```
    ///
    /// ## Fix safety
    /// The fix turns the assignment into `async with Client(...) as name:` and moves the rest
    /// of its block (comments included) under it, re-indented; a final `await name.close()`
    /// goes, since leaving the block now closes the client (an empty block gets `pass`). It
    /// is unsafe: the client is now closed when the block ends, also on `return` or an
    /// exception, so a response returned unread can no longer be read. It is offered only in
    /// an `async def`, where the assignment stands on its own lines, has no annotation, and
    /// the name is not used after the block.
    ///
    /// ## Known problems
    /// Any use of the variable other than reading an attribute or calling a method (a
    /// comparison, an alias, a re-assignment, use in a nested function) counts as handing it
    /// on, so such sessions are not flagged. A `close()` outside a `finally` does not count:
    /// an exception before it leaks the session.
    ///
    /// ## References
    /// - [aiohttp: Client session](https://docs.aiohttp.org/en/stable/client_reference.html#client-session)
    /// - [HTTPX: Async client](https://www.python-httpx.org/async/)
    code: "LW601",
    name: "unmanaged-client-session",
    summary: "an `aiohttp`/`httpx` async client bound to a local that is never closed on every path",
    severity: Warning,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "turn it into an `async with` block over the rest of the body (unsafe)",
    only_in_async_functions: false,
    triggers: ["ClientSession", "TCPConnector", "AsyncClient"],
}

const CLIENTS: &[&str] = &[
    "aiohttp.ClientSession",
    "aiohttp.client.ClientSession",
    "aiohttp.TCPConnector",
    "aiohttp.connector.TCPConnector",
    "httpx.AsyncClient",
];

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    let Some(client) = call.qualified_name.as_deref().filter(|name| CLIENTS.contains(name)) else { return };
    let Some(assignment) = call.node.parent().filter(|parent| parent.kind() == "assignment") else { return };
    // `a = b = Client()` and `x: T = Client()` inside an expression are not simple locals.
    if assignment.parent().is_none_or(|statement| statement.kind() != "expression_statement") {
        return;
    }
    let Some(target) = assignment.field(&field::LEFT).filter(|left| left.kind() == "identifier") else {
        return;
    };
    let semantic = checker.semantic;
    let Some(function) = semantic.enclosing_function(call.node.start_byte()) else { return };
    let function = semantic.scope(function);
    let Some(body) = function.node.field(&field::BODY).filter(|_| function.node.kind() == "function_definition") else {
        return;
    };
    let name = checker.text(target);
    let mut closed = false;
    for reference in semantic.references_in(body, name) {
        if reference.id() == target.id() {
            continue;
        }
        match use_of(checker, reference, body) {
            Use::Member => {}
            Use::ClosedInFinally => closed = true,
            Use::Managed | Use::HandedOn => return,
        }
    }
    if closed {
        return;
    }
    let fix = if function.is_async_function() { async_with_fix(checker, call.node, assignment, body) } else { None };
    let short = client.rsplit('.').next().unwrap_or(client);
    let diagnostic = checker.report(
        Rule::UnmanagedClientSession,
        call.node,
        format!("`{short}` bound to `{name}` is not closed on every path; use `async with`"),
    );
    diagnostic.fix = fix;
}

/// `name = Client(...)` and the statements after it in its block as
/// `async with Client(...) as name:` over those statements, re-indented. None when the
/// assignment does not stand on its own lines, is annotated, or the name is used outside the
/// new block (it would be closed there).
fn async_with_fix(checker: &Checker<'_, '_>, call: Node<'_>, assignment: Node<'_>, body: Node<'_>) -> Option<Fix> {
    if assignment.field(&field::TYPE).is_some() {
        return None;
    }
    let target = assignment.field(&field::LEFT)?;
    let statement = assignment.parent()?;
    let block = statement.parent().filter(|block| block.kind() == "block")?;
    let source = checker.semantic.source();
    let root = checker.semantic.scope(0).node;
    let lines = fix_builder::own_lines(source, root, statement)?;
    let indentation = fix_builder::indentation_at(source, statement.start_byte());
    // The rest of the block; comments after its last statement go along only when indented
    // like the block (a comment further left introduces what follows it).
    let mut cursor = block.walk();
    let last = block
        .named_children(&mut cursor)
        .filter(|child| child.start_byte() >= lines.end)
        .filter(|child| {
            child.kind() != "comment"
                || fix_builder::indentation_at(source, child.start_byte()).len() >= indentation.len()
        })
        .last();
    let end = last.map_or(lines.end, |last| fix_builder::line_end(source, last.end_byte()));
    let name = checker.text(target);
    let outside = checker.semantic.references_in(body, name).into_iter().any(|reference| {
        reference.id() != target.id() && !(lines.end <= reference.start_byte() && reference.end_byte() <= end)
    });
    if outside {
        return None;
    }
    // A closing `await name.close()` that ends the block is what `async with` now does there.
    let kept_end = match last {
        Some(close)
            if closes(checker, close, name)
                && fix_builder::own_lines(source, root, close).is_some_and(|own| own.end == close.end_byte()) =>
        {
            close
                .prev_named_sibling()
                .filter(|previous| previous.start_byte() >= lines.end)
                .map(|previous| fix_builder::line_end(source, previous.end_byte()))
        }
        Some(_) => Some(end),
        None => None,
    };
    let unit = &checker.stylist().indent;
    let rest = match kept_end {
        Some(kept_end) => fix_builder::indent_text(source, root, TextRange::new(lines.end, kept_end), unit),
        None => format!("\n{indentation}{unit}pass"),
    };
    let text =
        format!("async with {} as {name}:{}{rest}", checker.text(call), &source[statement.end_byte()..lines.end]);
    let edit = Edit::replacement(text, TextRange::new(statement.start_byte(), end));
    Some(Fix::unsafe_edit(format!("Open `{name}` with `async with` over the rest of the block"), edit))
}

/// Whether `statement` is `await name.close()` or `await name.aclose()`.
fn closes(checker: &Checker<'_, '_>, statement: Node<'_>, name: &str) -> bool {
    let Some(call) = statement
        .named_child(0)
        .filter(|_| statement.kind() == "expression_statement" && statement.named_child_count() == 1)
        .filter(|awaited| awaited.kind() == "await")
        .and_then(|awaited| awaited.named_child(0))
        .filter(|call| call.kind() == "call")
    else {
        return false;
    };
    let Some(callee) = call.field(&field::FUNCTION).filter(|callee| callee.kind() == "attribute") else {
        return false;
    };
    let receiver = callee.field(&field::OBJECT).map(|object| (object.kind(), checker.text(object)));
    let method = callee.field(&field::ATTRIBUTE).map(|method| checker.text(method));
    let no_arguments = call.field(&field::ARGUMENTS).is_some_and(|arguments| arguments.named_child_count() == 0);
    receiver == Some(("identifier", name)) && matches!(method, Some("close" | "aclose")) && no_arguments
}

enum Use {
    /// `x.get(...)`, `x.closed`: the client stays here.
    Member,
    /// `await x.close()` / `x.aclose()` inside a `finally` clause.
    ClosedInFinally,
    /// `async with x` (or `with x`, another rule's finding).
    Managed,
    /// Anything else: returned, stored, passed, aliased, compared, used by a nested function.
    HandedOn,
}

fn use_of(checker: &Checker<'_, '_>, reference: Node<'_>, body: Node<'_>) -> Use {
    let semantic = checker.semantic;
    // A nested function or lambda may outlive this one: the client is handed on.
    if semantic.enclosing_function(reference.start_byte()) != semantic.enclosing_function(body.start_byte()) {
        return Use::HandedOn;
    }
    let Some(parent) = reference.parent() else { return Use::HandedOn };
    match parent.kind() {
        "attribute" => {
            let method = parent.field(&field::ATTRIBUTE).map_or("", |name| checker.text(name));
            let called = parent.parent().is_some_and(|call| call.kind() == "call");
            if called && matches!(method, "close" | "aclose") && in_finally(parent, body) {
                Use::ClosedInFinally
            } else {
                Use::Member
            }
        }
        "with_item" => Use::Managed,
        "as_pattern" if parent.parent().is_some_and(|item| item.kind() == "with_item") => Use::Managed,
        _ => Use::HandedOn,
    }
}

fn in_finally(node: Node<'_>, body: Node<'_>) -> bool {
    let mut current = node.parent();
    while let Some(ancestor) = current {
        if ancestor.id() == body.id() {
            return false;
        }
        if ancestor.kind() == "finally_clause" {
            return true;
        }
        current = ancestor.parent();
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, lint_source};
    use crate::rules::Rule;

    fn fixed(source: &str) -> Option<String> {
        let settings =
            LintSettings { rules: [Rule::UnmanagedClientSession].into_iter().collect(), ..LintSettings::default() };
        let diagnostics = lint_source(source, None, &settings);
        let [diagnostic] = diagnostics.as_slice() else { panic!("one finding expected: {diagnostics:?}") };
        diagnostic.fix.as_ref().map(|fix| fix.apply_to(source))
    }

    #[test]
    fn the_rest_of_the_body_goes_under_async_with() {
        let source = "import aiohttp\n\n\nasync def f(url):\n    # Make one.\n    session = aiohttp.ClientSession(\n        headers={},\n    )  # why\n    # Fetch.\n    response = await session.get(url)\n\n    text = '''a\nb'''\n    if text:\n        return await response.text()\n    log(session.closed)\n# The next function.\n\n\nasync def g():\n    pass\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "import aiohttp\n\n\nasync def f(url):\n    # Make one.\n    async with aiohttp.ClientSession(\n        headers={},\n    ) as session:  # why\n        # Fetch.\n        response = await session.get(url)\n\n        text = '''a\nb'''\n        if text:\n            return await response.text()\n        log(session.closed)\n# The next function.\n\n\nasync def g():\n    pass\n"
            ),
        );
    }

    #[test]
    fn nested_blocks_wrap_only_their_own_rest() {
        let source = "import httpx\nasync def f(url, retry):\n    try:\n        if retry:\n            client = httpx.AsyncClient()\n            await client.get(url)\n        log()\n    except ValueError:\n        pass\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "import httpx\nasync def f(url, retry):\n    try:\n        if retry:\n            async with httpx.AsyncClient() as client:\n                await client.get(url)\n        log()\n    except ValueError:\n        pass\n"
            ),
        );
    }

    #[test]
    fn a_closing_close_at_the_end_goes() {
        let head = "import aiohttp\nasync def f(url):\n    session = aiohttp.ClientSession()\n";
        assert_eq!(
            fixed(&format!("{head}    await session.get(url)\n    # Done.\n\n    await session.close()\n")),
            Some(
                "import aiohttp\nasync def f(url):\n    async with aiohttp.ClientSession() as session:\n        await session.get(url)\n        # Done.\n".to_string()
            ),
        );
        assert_eq!(
            fixed(&format!("{head}    await session.close()\n")).as_deref(),
            Some(
                "import aiohttp\nasync def f(url):\n    async with aiohttp.ClientSession() as session:\n        pass\n"
            ),
        );
        // A comment on it, or a close before other work, stays.
        for rest in ["    await session.close()  # why\n", "    await session.close()\n    await later()\n"] {
            let fixed = fixed(&format!("{head}{rest}")).expect("a fix");
            assert!(fixed.contains("        await session.close()"), "{fixed}");
        }
    }

    #[test]
    fn an_empty_rest_becomes_pass() {
        let source = "import aiohttp\nasync def f():\n    connector = aiohttp.TCPConnector()\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some("import aiohttp\nasync def f():\n    async with aiohttp.TCPConnector() as connector:\n        pass\n"),
        );
    }

    #[test]
    fn keeps_tabs_and_crlf() {
        let source = "import aiohttp\r\nasync def f(url):\r\n\tif url:\r\n\t\tsession = aiohttp.ClientSession()\r\n\t\tawait session.get(\r\n\t\t\turl)\r\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "import aiohttp\r\nasync def f(url):\r\n\tif url:\r\n\t\tasync with aiohttp.ClientSession() as session:\r\n\t\t\tawait session.get(\r\n\t\t\t\turl)\r\n"
            ),
        );
    }

    #[test]
    fn no_fix_where_the_block_would_close_it_too_early_or_cannot_be_written() {
        for source in [
            // Used after the `if` that would hold the block.
            "import aiohttp\nasync def f(url, a):\n    if a:\n        session = aiohttp.ClientSession()\n        await session.get(url)\n    await session.post(url)\n",
            // A sync function cannot hold `async with`.
            "import aiohttp\ndef f(url):\n    session = aiohttp.ClientSession()\n    session.get(url)\n",
            // The annotation has no place in `async with`.
            "import aiohttp\nasync def f(url):\n    session: aiohttp.ClientSession = aiohttp.ClientSession()\n    await session.get(url)\n",
            // Shares its line.
            "import aiohttp\nasync def f(url):\n    session = aiohttp.ClientSession(); await session.get(url)\n",
        ] {
            assert_eq!(fixed(source), None, "{source}");
        }
    }
}
