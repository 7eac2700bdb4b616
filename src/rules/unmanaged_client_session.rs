use tree_sitter::Node;

use crate::analysis::{Call, Checker};
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
    /// There is no fix yet.
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
    fix: "none",
    only_in_async_functions: false,
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
    let Some(target) = assignment.child_by_field_name("left").filter(|left| left.kind() == "identifier") else {
        return;
    };
    let semantic = checker.semantic;
    let Some(function) = semantic.enclosing_function(call.node.start_byte()) else { return };
    let function = semantic.scope(function);
    let Some(body) =
        function.node.child_by_field_name("body").filter(|_| function.node.kind() == "function_definition")
    else {
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
    let short = client.rsplit('.').next().unwrap_or(client);
    checker.report(
        Rule::UnmanagedClientSession,
        call.node,
        format!("`{short}` bound to `{name}` is not closed on every path; use `async with`"),
    );
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
            let method = parent.child_by_field_name("attribute").map_or("", |name| checker.text(name));
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
