use tree_sitter::Node;

use crate::analysis::{Call, Checker, Edit, Fix};
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
    /// For aiohttp requests the fix adds `timeout=aiohttp.ClientTimeout(total=N)`, where `N` is
    /// the `default-timeout` setting (10 seconds). It is unsafe: a slow but healthy request now
    /// fails with `TimeoutError`. It is offered only where the file imports `aiohttp` as
    /// `aiohttp` and the call passes no `**kwargs`. Wrapping in `asyncio.timeout` is planned.
    ///
    /// ## Known problems
    /// Not reported: calls inside `async with asyncio.timeout(...)`/`timeout_at(...)`,
    /// `async_timeout.timeout(...)`, `anyio.fail_after(...)`/`move_on_after(...)` or in the
    /// arguments of `asyncio.wait_for(...)`; sessions whose creation the function does not
    /// show (a parameter, a value returned by a helper); calls passing `**kwargs`; loops other
    /// than a visible `asyncio.get_running_loop()`/`get_event_loop()`/`new_event_loop()`.
    /// A timeout set by the caller around this function cannot be seen.
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
    fix: "aiohttp requests: add `timeout=aiohttp.ClientTimeout(total=N)` (unsafe); wrapping in `asyncio.timeout` is planned",
    only_in_async_functions: true,
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
    let fix = if aiohttp_request { client_timeout_fix(checker, call) } else { None };
    let callee = checker.text(call.callee);
    let message = match what {
        "aiohttp" => format!("`{callee}(...)` on an `aiohttp.ClientSession` has no timeout"),
        "httpx" => format!("`{callee}(...)` on an `httpx.AsyncClient` has its timeout disabled"),
        _ => format!("`{callee}(...)` is awaited with no timeout"),
    };
    let diagnostic = checker.report(Rule::MissingTimeout, call.node, message);
    diagnostic.fix = fix;
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
    let creator = checker.semantic.qualified_name(creation.child_by_field_name("function")?)?;
    let creation_arguments = creation.child_by_field_name("arguments")?;
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
        .find(|argument| argument.child_by_field_name("name").is_some_and(|key| checker.text(key) == name))
        .and_then(|argument| argument.child_by_field_name("value"))
        .map(|value| checker.text(value))
}

/// Inside a timeout block's body or the arguments of `asyncio.wait_for`, in the same function.
fn is_bounded(checker: &Checker<'_, '_>, call: Node<'_>) -> bool {
    let mut child = call;
    let mut current = call.parent();
    while let Some(node) = current {
        match node.kind() {
            "function_definition" | "lambda" | "class_definition" => return false,
            "with_statement" if node.child_by_field_name("body") == Some(child) && with_bounds_time(checker, node) => {
                return true;
            }
            "call" if node.child_by_field_name("arguments") == Some(child) => {
                let callee =
                    node.child_by_field_name("function").and_then(|callee| checker.semantic.qualified_name(callee));
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
        items.extend(clause.named_children(&mut inner).filter_map(|item| item.child_by_field_name("value")));
    }
    items.into_iter().any(|manager| {
        let manager = if manager.kind() == "as_pattern" { manager.named_child(0).unwrap_or(manager) } else { manager };
        let Some(callee) = manager.child_by_field_name("function").filter(|_| manager.kind() == "call") else {
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
    )
}

/// `timeout=aiohttp.ClientTimeout(total=N)` added as the call's last argument.
fn client_timeout_fix(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<Fix> {
    if call.arguments.kind() != "argument_list"
        || checker.semantic.import_of_name("aiohttp", call.node.start_byte()) != Some("aiohttp")
    {
        return None;
    }
    let seconds = checker.settings.default_timeout;
    let seconds =
        if seconds.fract() == 0.0 && seconds.abs() < 1e15 { format!("{seconds:.0}") } else { seconds.to_string() };
    let keyword = format!("timeout=aiohttp.ClientTimeout(total={seconds})");
    let mut cursor = call.arguments.walk();
    let last = call.arguments.named_children(&mut cursor).filter(|argument| argument.kind() != "comment").last();
    let edit = match last {
        Some(last) => Edit::insertion(format!(", {keyword}"), last.end_byte()),
        None => Edit::insertion(keyword, call.arguments.start_byte() + 1),
    };
    Some(Fix::unsafe_edit(format!("Add `timeout=aiohttp.ClientTimeout(total={seconds})`"), edit))
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, lint_source};
    use crate::rules::Rule;

    fn fixed(source: &str, default_timeout: f64) -> Option<String> {
        let settings = LintSettings {
            rules: [Rule::MissingTimeout].into_iter().collect(),
            default_timeout,
            ..LintSettings::default()
        };
        let diagnostics = lint_source(source, None, &settings);
        let [diagnostic] = diagnostics.as_slice() else { panic!("one finding expected: {diagnostics:?}") };
        let fix = diagnostic.fix.as_ref()?;
        let text = fix.apply_to(source);
        Some(text)
    }

    const HEAD: &str = "import aiohttp\nasync def f(url):\n    async with aiohttp.ClientSession() as s:\n";

    #[test]
    fn adds_a_client_timeout_with_the_default() {
        assert_eq!(
            fixed(&format!("{HEAD}        await s.get(url,)\n"), 10.0).as_deref(),
            Some(format!("{HEAD}        await s.get(url, timeout=aiohttp.ClientTimeout(total=10),)\n").as_str())
        );
        assert_eq!(
            fixed(&format!("{HEAD}        await s.get()\n"), 2.5).as_deref(),
            Some(format!("{HEAD}        await s.get(timeout=aiohttp.ClientTimeout(total=2.5))\n").as_str())
        );
    }

    #[test]
    fn no_fix_without_the_aiohttp_name() {
        let source = "from aiohttp import ClientSession\nasync def f(url):\n    async with ClientSession() as s:\n        await s.get(url)\n";
        assert_eq!(fixed(source, 10.0), None);
    }
}
