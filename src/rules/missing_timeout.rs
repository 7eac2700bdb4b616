use tree_sitter::Node;

use crate::analysis::fix_builder;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{AsyncLibrary, Call, Checker, Edit, Fix, PythonVersion, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for awaited network calls with no bound on how long they take:
    /// - request methods (`get`, `post`, `put`, `patch`, `delete`, `head`, `options`,
    ///   `request`, `ws_connect`) of an `aiohttp.ClientSession(...)` created without
    ///   `timeout=`, when the call passes no `timeout=` either;
    /// - requests of an `httpx.AsyncClient(timeout=None)`, and `httpx.AsyncClient` requests
    ///   with `timeout=None`;
    /// - `asyncio.open_connection`, `asyncio.open_unix_connection` and
    ///   `loop.create_connection`.
    ///
    /// `async with session.get(...) as response:` counts as awaited.
    ///
    /// A connection made from an already connected socket (`sock=`) waits for nothing and is
    /// not reported.
    ///
    /// ## Why is this bad?
    /// A peer that accepts the connection and never answers keeps the task waiting forever,
    /// holding its connection, its memory and whatever waits for it. aiohttp's default
    /// (five minutes in total) is far longer than most callers expect, and the streams API
    /// has no default bound at all.
    ///
    /// ## Example
    /// ```python
    /// import aiohttp
    ///
    /// async def status(url):
    ///     async with aiohttp.ClientSession() as session:
    ///         async with session.get(url) as response:
    ///             return response.status
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import aiohttp
    ///
    /// async def status(url):
    ///     async with aiohttp.ClientSession() as session:
    ///         async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
    ///             return response.status
    /// ```
    ///
    /// ## Fix safety
    /// All fixes are unsafe: a slow but healthy request now fails with `TimeoutError`. `N` is
    /// the `default-timeout` setting (10 seconds).
    ///
    /// On Python 3.11 and newer, the fix wraps the statement that awaits the call in
    /// `async with asyncio.timeout(N):` (for `async with session.get(...) as response:`, the
    /// whole block, so reading the response is bounded too). It is offered only where the
    /// statement stands on its own lines and the call is not in the header of an `if`, `for`
    /// or `while`, in a comprehension, or next to a `yield`. On older targets it wraps the
    /// awaited call in `asyncio.wait_for(..., timeout=N)`, which cannot take the
    /// `async with session.get(...)` form. Either adds `import asyncio` when the file lacks it,
    /// and is not offered where the name `asyncio` means something else. In a trio or anyio
    /// module (one that imports `trio` or `anyio` and not `asyncio`) it wraps the statement in
    /// `with trio.fail_after(N):` or `with anyio.fail_after(N):` on any target instead, adding
    /// `import trio` or `import anyio` when missing and never `import asyncio`; a request that
    /// runs out of time then raises `trio.TooSlowError` (anyio: `TimeoutError`).
    ///
    /// For aiohttp requests, adding `timeout=aiohttp.ClientTimeout(total=N)` to the call is
    /// offered as well (the fix where no block or `wait_for` fits), adding `import aiohttp`
    /// when the file imports only names from it. Calls passing `**kwargs` get no fix.
    ///
    /// ## Known problems
    /// Not reported: calls inside `async with asyncio.timeout(...)`/`timeout_at(...)`,
    /// `async_timeout.timeout(...)`, `anyio.fail_after(...)`/`move_on_after(...)`,
    /// `trio.fail_after(...)`/`fail_at(...)`/`move_on_after(...)`/`move_on_at(...)` or in the
    /// arguments of `asyncio.wait_for(...)`; sessions whose creation the function does not
    /// show (a parameter, a value returned by a helper); calls passing `**kwargs`; loops other
    /// than a visible `asyncio.get_running_loop()`/`get_event_loop()`/`new_event_loop()`.
    /// A timeout set by the caller around this function cannot be seen.
    ///
    /// A connection primitive that returns what it opens (`async def connect(host, port):
    /// return await loop.create_connection(...)`) is reported, though its callers may hold
    /// the timeout: on the precision corpus (`benches/precision`: 18 projects with their
    /// tests, 855k lines) this rule reported once with the default settings, and that was
    /// such a primitive in anyio's asyncio backend. One finding cannot show a rate, and the
    /// rule stays on.
    ///
    /// ## References
    /// - [aiohttp: timeouts](https://docs.aiohttp.org/en/stable/client_quickstart.html#timeouts)
    /// - [Python docs: `asyncio.timeout`](https://docs.python.org/3/library/asyncio-task.html#asyncio.timeout)
    code: "LW401",
    name: "missing-timeout",
    summary: "awaited network call with no timeout",
    severity: Warning,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "wrap in `async with asyncio.timeout(N):` (3.11+) or `asyncio.wait_for(..., timeout=N)` (trio and anyio modules: `with trio.fail_after(N):`, `with anyio.fail_after(N):`); aiohttp: also add `timeout=aiohttp.ClientTimeout(total=N)` (all unsafe)",
    only_in_async_functions: true,
    // Why: `connection` covers `open_connection`, `open_unix_connection` and
    // `loop.create_connection`.
    triggers: ["connection", "aiohttp", "httpx"],
}

const AIOHTTP_SESSIONS: &[&str] = &["aiohttp.ClientSession", "aiohttp.client.ClientSession"];
const HTTPX_CLIENTS: &[&str] = &["httpx.AsyncClient", "httpx._client.AsyncClient"];

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if !is_awaited(call.node) || has_keyword_splat(call.arguments) {
        return;
    }
    let (what, aiohttp_request) = if let Some(name) = stream_connection(checker, call) {
        (name, false)
    } else if let Some(kind) = unbounded_client_request(checker, call) {
        (kind, kind == "aiohttp")
    } else {
        return;
    };
    if is_bounded(checker, call.node) {
        return;
    }
    let bound = bound_fix(checker, call);
    let client_timeout = if aiohttp_request { client_timeout_fix(checker, call) } else { None };
    let callee = checker.text(call.callee);
    let message = match what {
        "aiohttp" => format!("`{callee}(...)` on an `aiohttp.ClientSession` has no timeout"),
        "httpx" => format!("`{callee}(...)` on an `httpx.AsyncClient` has its timeout disabled"),
        _ => format!("`{callee}(...)` is awaited with no timeout"),
    };
    let diagnostic = checker.report(Rule::MissingTimeout, call.node, message);
    // Where no bound can be wrapped around the call (`async with s.get(...)` before 3.11, a
    // call in an `if` condition), the aiohttp timeout argument is the fix.
    if bound.is_some() {
        diagnostic.fix = bound;
        diagnostic.alternatives.extend(client_timeout);
    } else {
        diagnostic.fix = client_timeout;
    }
}

/// `await call(...)`, or `async with call(...) [as x]:`.
fn is_awaited(call: Node<'_>) -> bool {
    let Some(parent) = call.parent() else { return false };
    let item = match parent.kind() {
        "await" => return true,
        "as_pattern" => parent.parent(),
        "with_item" => Some(parent),
        _ => None,
    };
    item.filter(|item| item.kind() == "with_item")
        .and_then(|item| item.parent())
        .and_then(|clause| clause.parent())
        .is_some_and(|statement| {
            statement.kind() == "with_statement" && statement.child(0).is_some_and(|first| first.kind() == "async")
        })
}

fn has_keyword_splat(arguments: Node<'_>) -> bool {
    let mut cursor = arguments.walk();
    arguments.named_children(&mut cursor).any(|argument| argument.kind() == "dictionary_splat")
}

/// `asyncio.open_connection(...)`, `open_unix_connection(...)`, `loop.create_connection(...)`.
fn stream_connection(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<&'static str> {
    // `sock=`: the socket is already connected; the call only wraps it in a transport, with
    // nothing to wait for.
    if call.keyword_argument(checker.semantic, "sock").is_some() {
        return None;
    }
    match call.qualified_name.as_deref() {
        Some("asyncio.open_connection" | "asyncio.streams.open_connection") => return Some("open_connection"),
        Some("asyncio.open_unix_connection" | "asyncio.streams.open_unix_connection") => {
            return Some("open_unix_connection");
        }
        _ => {}
    }
    if call.method_name(checker.semantic) != Some("create_connection") {
        return None;
    }
    let loop_type = checker.semantic.value_type(call.receiver()?)?;
    matches!(loop_type.as_str(), "asyncio.get_running_loop" | "asyncio.get_event_loop" | "asyncio.new_event_loop")
        .then_some("create_connection")
}

/// A request on a client whose creation the file shows without a bound: `"aiohttp"` or `"httpx"`.
fn unbounded_client_request(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<&'static str> {
    let method = call.method_name(checker.semantic)?;
    let creation = checker.semantic.creating_call(call.receiver()?)?;
    let creator = checker.semantic.qualified_name(creation.field(&field::FUNCTION)?)?;
    let creation_arguments = creation.field(&field::ARGUMENTS)?;
    let creation_timeout = keyword_value(checker, creation_arguments, "timeout");
    let call_timeout = call.keyword_argument(checker.semantic, "timeout").map(|value| checker.text(value));
    if AIOHTTP_SESSIONS.contains(&creator.as_str()) {
        let is_request = matches!(
            method,
            "get" | "post" | "put" | "patch" | "delete" | "head" | "options" | "request" | "ws_connect"
        );
        let unbounded = creation_timeout.is_none() && !has_keyword_splat(creation_arguments) && call_timeout.is_none();
        return (is_request && unbounded).then_some("aiohttp");
    }
    if HTTPX_CLIENTS.contains(&creator.as_str()) {
        let is_request = matches!(
            method,
            "get" | "post" | "put" | "patch" | "delete" | "head" | "options" | "request" | "send" | "stream"
        );
        let disabled = match call_timeout {
            Some(value) => value == "None",
            None => creation_timeout == Some("None"),
        };
        return (is_request && disabled).then_some("httpx");
    }
    None
}

fn keyword_value<'s>(checker: &Checker<'_, 's>, arguments: Node<'_>, name: &str) -> Option<&'s str> {
    let mut cursor = arguments.walk();
    arguments
        .named_children(&mut cursor)
        .filter(|argument| argument.kind() == "keyword_argument")
        .find(|argument| argument.field(&field::NAME).is_some_and(|key| checker.text(key) == name))
        .and_then(|argument| argument.field(&field::VALUE))
        .map(|value| checker.text(value))
}

/// Inside a timeout block's body or the arguments of `asyncio.wait_for`, in the same function.
fn is_bounded(checker: &Checker<'_, '_>, call: Node<'_>) -> bool {
    let mut child = call;
    let mut current = call.parent();
    while let Some(node) = current {
        match node.kind() {
            "function_definition" | "lambda" | "class_definition" => return false,
            "with_statement" if node.field(&field::BODY) == Some(child) && with_bounds_time(checker, node) => {
                return true;
            }
            "call" if node.field(&field::ARGUMENTS) == Some(child) => {
                let callee = node.field(&field::FUNCTION).and_then(|callee| checker.semantic.qualified_name(callee));
                if matches!(callee.as_deref(), Some("asyncio.wait_for" | "asyncio.tasks.wait_for")) {
                    return true;
                }
            }
            _ => {}
        }
        child = node;
        current = node.parent();
    }
    false
}

fn with_bounds_time(checker: &Checker<'_, '_>, with_statement: Node<'_>) -> bool {
    let mut items = Vec::new();
    let mut cursor = with_statement.walk();
    for clause in with_statement.named_children(&mut cursor).filter(|child| child.kind() == "with_clause") {
        let mut inner = clause.walk();
        items.extend(clause.named_children(&mut inner).filter_map(|item| item.field(&field::VALUE)));
    }
    items.into_iter().any(|manager| {
        let manager = if manager.kind() == "as_pattern" { manager.named_child(0).unwrap_or(manager) } else { manager };
        let Some(callee) = manager.field(&field::FUNCTION).filter(|_| manager.kind() == "call") else {
            return false;
        };
        if callee.kind() == "identifier" {
            // A name imported in one of several ways (`asyncio.timeout` on 3.11+, else
            // `async_timeout.timeout`) bounds time if any of the ways does.
            return checker
                .semantic
                .possible_imports_of_name(checker.text(callee), callee.start_byte())
                .into_iter()
                .any(is_timeout_scope);
        }
        checker.semantic.qualified_name(callee).is_some_and(|qualified| is_timeout_scope(&qualified))
    })
}

fn is_timeout_scope(qualified: &str) -> bool {
    matches!(
        qualified,
        "asyncio.timeout"
            | "asyncio.timeout_at"
            | "asyncio.timeouts.timeout"
            | "asyncio.timeouts.timeout_at"
            | "async_timeout.timeout"
            | "async_timeout.timeout_at"
            | "anyio.fail_after"
            | "anyio.move_on_after"
            | "trio.fail_after"
            | "trio.fail_at"
            | "trio.move_on_after"
            | "trio.move_on_at"
    )
}

/// `N` of the `default-timeout` setting as Python writes it: `10`, `2.5`.
fn seconds(checker: &Checker<'_, '_>) -> String {
    let seconds = checker.settings.default_timeout;
    if seconds.fract() == 0.0 && seconds.abs() < 1e15 { format!("{seconds:.0}") } else { seconds.to_string() }
}

/// The main fix: on 3.11+, the statement holding the call wrapped in
/// `async with asyncio.timeout(N):`; before, the awaited call wrapped in
/// `asyncio.wait_for(..., timeout=N)`. In a trio or anyio module, on any target, the
/// statement wrapped in `with trio.fail_after(N):` or `with anyio.fail_after(N):`. The
/// library's import is added when missing.
fn bound_fix(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<Fix> {
    let seconds = seconds(checker);
    let library = checker.async_library();
    let (title, mut edits) =
        if library != AsyncLibrary::Asyncio || checker.settings.target_version >= PythonVersion::PY311 {
            let header = library.timeout_block(&seconds);
            (format!("Wrap in `{header}`"), vec![timeout_block(checker, call.node, &header)?])
        } else {
            // `async with s.get(...)` takes a context manager, which `wait_for` does not return.
            if call.node.parent().is_none_or(|parent| parent.kind() != "await") {
                return None;
            }
            let edits = vec![
                Edit::insertion("asyncio.wait_for(", call.node.start_byte()),
                Edit::insertion(format!(", timeout={seconds})"), call.node.end_byte()),
            ];
            (format!("Wrap in `asyncio.wait_for(..., timeout={seconds})`"), edits)
        };
    edits.extend(checker.import_module(library.module(), call.node.start_byte()).into_edits()?);
    let first = edits.remove(0);
    Some(Fix::unsafe_edits(title, first, edits))
}

/// The edit that puts the statement holding `call` in a `header:` block, re-indented one
/// level; trailing comments move with it.
fn timeout_block(checker: &Checker<'_, '_>, call: Node<'_>, header: &str) -> Option<Edit> {
    let statement = wrappable_statement(call)?;
    // A timeout scope must not stay open across a `yield` (LW603).
    if !checker.semantic.nodes_in_same_scope(statement, &["yield"]).is_empty() {
        return None;
    }
    let source = checker.semantic.source();
    let root = checker.semantic.scope(0).node;
    let lines = fix_builder::own_lines(source, root, statement)?;
    let indentation = fix_builder::indentation_at(source, statement.start_byte());
    let unit = &checker.stylist().indent;
    let range = TextRange::new(statement.start_byte(), lines.end);
    let body = fix_builder::indent_text(source, root, range, unit);
    Some(Edit::replacement(format!("{header}:\n{indentation}{unit}{body}"), range))
}

/// The statement a timeout block can wrap: the whole `async with` block whose item is the
/// call, or the simple statement holding `await call(...)`. None for a call in a compound
/// statement's header (`if await s.get(...):`) or in a comprehension.
fn wrappable_statement(call: Node<'_>) -> Option<Node<'_>> {
    let parent = call.parent()?;
    if parent.kind() != "await" {
        // `async with call(...) [as x]:` (see `is_awaited`): the item, its clause, the statement.
        let mut current = parent;
        while current.kind() != "with_statement" {
            current = current.parent()?;
        }
        return Some(current);
    }
    let mut current = parent;
    loop {
        let holder = current.parent()?;
        match holder.kind() {
            "block" | "module" => break,
            "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression"
            | "lambda" => return None,
            _ => current = holder,
        }
    }
    matches!(current.kind(), "expression_statement" | "return_statement" | "raise_statement" | "assert_statement")
        .then_some(current)
}

/// `timeout=aiohttp.ClientTimeout(total=N)` added as the call's last argument, with
/// `import aiohttp` when the file imports only names from it.
fn client_timeout_fix(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<Fix> {
    if call.arguments.kind() != "argument_list" {
        return None;
    }
    let import = checker.import_module("aiohttp", call.node.start_byte()).into_edits()?.pop();
    let seconds = seconds(checker);
    let keyword = format!("timeout=aiohttp.ClientTimeout(total={seconds})");
    let mut cursor = call.arguments.walk();
    let last = call.arguments.named_children(&mut cursor).filter(|argument| argument.kind() != "comment").last();
    let edit = match last {
        Some(last) => keyword_after(checker, last, &keyword),
        None => Edit::insertion(keyword.clone(), call.arguments.start_byte() + 1),
    };
    Some(Fix::unsafe_edits(format!("Add `{keyword}`"), edit, import.into_iter().collect()))
}

/// The insertion of `keyword` after the argument `last`: on a line of its own when the
/// arguments are written one per line with a trailing comma, else right after it.
fn keyword_after(checker: &Checker<'_, '_>, last: Node<'_>, keyword: &str) -> Edit {
    let source = checker.semantic.source();
    let comma = last.next_sibling().filter(|next| next.kind() == ",");
    let mut closing = comma.and_then(|comma| comma.next_sibling());
    while let Some(comment) = closing.filter(|next| next.kind() == "comment") {
        closing = comment.next_sibling();
    }
    let closing = closing.filter(|next| next.kind() == ")");
    if let (Some(comma), Some(closing)) = (comma, closing) {
        // Only a comment may follow the comma on its line.
        let line_end = fix_builder::line_end(source, comma.end_byte());
        if closing.start_byte() > line_end && fix_builder::is_first_on_line(source, last.start_byte()) {
            let indentation = fix_builder::indentation_at(source, last.start_byte());
            return Edit::insertion(format!("\n{indentation}{keyword},"), line_end);
        }
    }
    Edit::insertion(format!(", {keyword}"), last.end_byte())
}

#[cfg(test)]
mod tests {
    use crate::analysis::fixer::fix_until_stable;
    use crate::analysis::{Applicability, LintSettings, PythonVersion, lint_source};
    use crate::rules::Rule;

    fn settings(minor: u8) -> LintSettings {
        LintSettings {
            rules: [Rule::MissingTimeout].into_iter().collect(),
            target_version: PythonVersion { major: 3, minor },
            ..LintSettings::default()
        }
    }

    /// The text after the main fix, then after each alternative, of the one finding.
    fn fixes_with(source: &str, settings: &LintSettings) -> (Option<String>, Vec<String>) {
        let diagnostics = lint_source(source, None, settings);
        let [diagnostic] = diagnostics.as_slice() else { panic!("one finding expected: {diagnostics:?}") };
        let main = diagnostic.fix.as_ref().map(|fix| fix.apply_to(source));
        (main, diagnostic.alternatives.iter().map(|fix| fix.apply_to(source)).collect())
    }

    fn main_fix(source: &str) -> Option<String> {
        fixes_with(source, &settings(11)).0
    }

    const HEAD: &str =
        "import asyncio\nimport aiohttp\n\n\nasync def f(url):\n    async with aiohttp.ClientSession() as s:\n";

    #[test]
    fn wraps_simple_statements_in_a_timeout_block() {
        for statement in ["await s.get(url)", "r = await s.get(url)", "return await s.get(url)"] {
            assert_eq!(
                main_fix(&format!("{HEAD}        {statement}  # why\n        done()\n")),
                Some(format!(
                    "{HEAD}        async with asyncio.timeout(10):\n            {statement}  # why\n        done()\n"
                )),
            );
        }
        assert_eq!(
            main_fix(&format!("{HEAD}        data = await (await s.get(url)).json()\n")),
            Some(format!(
                "{HEAD}        async with asyncio.timeout(10):\n            data = await (await s.get(url)).json()\n"
            )),
        );
    }

    #[test]
    fn wraps_the_whole_async_with_block_and_keeps_comments_above() {
        let source = format!(
            "{HEAD}        # Fetch it.\n        async with s.get(url) as r:  # one\n            # two\n            text = '''a\nb'''\n\n            return await r.text()\n        done()\n"
        );
        assert_eq!(
            main_fix(&source),
            Some(format!(
                "{HEAD}        # Fetch it.\n        async with asyncio.timeout(10):\n            async with s.get(url) as r:  # one\n                # two\n                text = '''a\nb'''\n\n                return await r.text()\n        done()\n"
            )),
        );
    }

    #[test]
    fn wraps_multi_line_statements() {
        let source = format!(
            "{HEAD}        r = await s.post(\n            url,\n            data='''x\ny''',  # keep\n        )\n"
        );
        assert_eq!(
            main_fix(&source),
            Some(format!(
                "{HEAD}        async with asyncio.timeout(10):\n            r = await s.post(\n                url,\n                data='''x\ny''',  # keep\n            )\n"
            )),
        );
    }

    #[test]
    fn keeps_tabs_and_crlf() {
        let source = "import asyncio\r\nimport aiohttp\r\nasync def f(url):\r\n\tasync with aiohttp.ClientSession() as s:\r\n\t\tr = await s.get(\r\n\t\t\turl)\r\n";
        assert_eq!(
            main_fix(source).as_deref(),
            Some(
                "import asyncio\r\nimport aiohttp\r\nasync def f(url):\r\n\tasync with aiohttp.ClientSession() as s:\r\n\t\tasync with asyncio.timeout(10):\r\n\t\t\tr = await s.get(\r\n\t\t\t\turl)\r\n"
            ),
        );
    }

    #[test]
    fn imports_asyncio_after_the_docstring_and_future_imports() {
        let source = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport aiohttp\n\n\nasync def f(url):\n    async with aiohttp.ClientSession() as s:\n        await s.get(url)\n";
        assert_eq!(
            main_fix(source).as_deref(),
            Some(
                "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport aiohttp\nimport asyncio\n\n\nasync def f(url):\n    async with aiohttp.ClientSession() as s:\n        async with asyncio.timeout(10):\n            await s.get(url)\n"
            ),
        );
    }

    #[test]
    fn headers_shared_lines_and_yields_get_only_the_client_timeout() {
        for body in [
            "if await s.get(url):\n            pass",
            "for x in await s.get(url):\n            pass",
            "while await s.get(url):\n            pass",
            "x = 1; await s.get(url)",
            "await s.get(url); x = 1",
            "yield await s.get(url)",
        ] {
            let source = format!("{HEAD}        {body}\n");
            let diagnostics = lint_source(&source, None, &settings(11));
            let [diagnostic] = diagnostics.as_slice() else { panic!("one finding expected: {diagnostics:?}") };
            let fix = diagnostic.fix.as_ref().expect("the aiohttp fix");
            assert!(fix.title().starts_with("Add `timeout="), "{body}: {}", fix.title());
            assert!(diagnostic.alternatives.is_empty(), "{body}");
        }
        let stream = "import asyncio\nasync def f():\n    if await asyncio.open_connection('h', 1):\n        pass\n";
        assert_eq!(fixes_with(stream, &settings(11)), (None, Vec::new()));
    }

    #[test]
    fn no_fix_naming_a_shadowed_asyncio() {
        let source = "from asyncio import open_connection\nasync def f(asyncio):\n    await open_connection('h', 1)\n";
        assert_eq!(fixes_with(source, &settings(11)), (None, Vec::new()));
        assert_eq!(fixes_with(source, &settings(10)), (None, Vec::new()));
    }

    #[test]
    fn the_client_timeout_is_the_alternative() {
        let source = format!("{HEAD}        await s.get(url,)\n");
        let (_, alternatives) = fixes_with(&source, &settings(11));
        assert_eq!(
            alternatives,
            [format!("{HEAD}        await s.get(url, timeout=aiohttp.ClientTimeout(total=10),)\n")]
        );
        let custom = LintSettings { default_timeout: 2.5, ..settings(11) };
        let (main, alternatives) = fixes_with(&format!("{HEAD}        await s.get()\n"), &custom);
        assert_eq!(main, Some(format!("{HEAD}        async with asyncio.timeout(2.5):\n            await s.get()\n")));
        assert_eq!(alternatives, [format!("{HEAD}        await s.get(timeout=aiohttp.ClientTimeout(total=2.5))\n")]);
    }

    #[test]
    fn the_client_timeout_goes_on_its_own_line_after_a_trailing_comma() {
        let source = format!("{HEAD}        await s.get(\n            url,  # why\n            # more\n        )\n");
        let (_, alternatives) = fixes_with(&source, &settings(11));
        assert_eq!(
            alternatives,
            [format!(
                "{HEAD}        await s.get(\n            url,  # why\n            timeout=aiohttp.ClientTimeout(total=10),\n            # more\n        )\n"
            )]
        );
    }

    #[test]
    fn the_client_timeout_imports_aiohttp_when_only_names_are_imported() {
        let source = "import asyncio\nfrom aiohttp import ClientSession\nasync def f(url):\n    async with ClientSession() as s:\n        await s.get(url)\n";
        let (_, alternatives) = fixes_with(source, &settings(11));
        assert_eq!(
            alternatives,
            [
                "import aiohttp\nimport asyncio\nfrom aiohttp import ClientSession\nasync def f(url):\n    async with ClientSession() as s:\n        await s.get(url, timeout=aiohttp.ClientTimeout(total=10))\n"
            ]
        );
    }

    #[test]
    fn older_targets_wrap_the_awaited_call_in_wait_for() {
        let source = "import aiohttp\nasync def f(url):\n    async with aiohttp.ClientSession() as s:\n        r = [await s.get(u) for u in url]\n";
        assert_eq!(
            fixes_with(source, &settings(10)).0.as_deref(),
            Some(
                "import aiohttp\nimport asyncio\nasync def f(url):\n    async with aiohttp.ClientSession() as s:\n        r = [await asyncio.wait_for(s.get(u), timeout=10) for u in url]\n"
            ),
        );
        // `wait_for` cannot take the context manager: the client timeout is the fix.
        let source = "import aiohttp\nasync def f(url):\n    async with aiohttp.ClientSession() as s:\n        async with s.get(url) as r:\n            pass\n";
        let (main, alternatives) = fixes_with(source, &settings(10));
        assert!(main.is_some_and(|text| text.contains("s.get(url, timeout=aiohttp.ClientTimeout(total=10))")));
        assert!(alternatives.is_empty());
    }

    #[test]
    fn several_findings_in_one_statement_get_one_block() {
        let source = format!(
            "{HEAD}        a, b = await s.get(url), await s.post(url)\n        async with s.get(url) as r:\n            await s.put(url)\n"
        );
        let settings = settings(11);
        let fixed = fix_until_stable(&source, Applicability::Unsafe, |text| lint_source(text, None, &settings));
        assert_eq!(
            fixed.text,
            format!(
                "{HEAD}        async with asyncio.timeout(10):\n            a, b = await s.get(url), await s.post(url)\n        async with asyncio.timeout(10):\n            async with s.get(url) as r:\n                await s.put(url)\n"
            )
        );
        assert!(fixed.remaining.is_empty());
    }
}
