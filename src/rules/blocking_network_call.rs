use crate::analysis::{Call, Checker};
use crate::rules::Rule;
use crate::rules::to_thread_fix::to_thread_fix;

define_rule! {
    /// ## What it does
    /// Checks for synchronous network calls in an async function: `requests.*` calls and
    /// methods of a `requests.Session`; `httpx` module functions and methods of an
    /// `httpx.Client`; `urllib.request.urlopen`; `urllib3.request` and `PoolManager().request`;
    /// requests on `http.client` connections; `socket.create_connection`; `smtplib` and
    /// `ftplib` clients.
    ///
    /// ## Why is this bad?
    /// A synchronous request blocks the event loop for a whole network round trip, often
    /// hundreds of milliseconds, during which no other task runs.
    ///
    /// ## Example
    /// ```python
    /// import requests
    ///
    /// async def fetch(url):
    ///     return requests.get(url).json()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import httpx
    ///
    /// async def fetch(url):
    ///     async with httpx.AsyncClient(timeout=10) as client:
    ///         response = await client.get(url)
    ///         return response.json()
    /// ```
    ///
    /// ## Fix safety
    /// The fix wraps the call in `await asyncio.to_thread(...)` (`requests.get(url, timeout=5)`
    /// becomes `await asyncio.to_thread(requests.get, url, timeout=5)`), adding `import asyncio`
    /// when the file lacks it. It is unsafe: the call then runs in another thread, at the same
    /// time as other tasks, and the task waits for it at an `await` where it can be cancelled.
    /// It is offered for plain calls only: the callee is a name or a dotted chain of names,
    /// `await` applies to the call alone (not `requests.get(url).json()`, not in a
    /// comprehension), the call is not a `with` item (the blocking goes on in the body), and no
    /// argument awaits. `httpx.stream(...)` gets no fix: it is a context manager.
    /// Targets before Python 3.9 (no `asyncio.to_thread`) get no fix. In a trio or anyio
    /// module (one that imports `trio` or `anyio` and not `asyncio`) the fix uses that
    /// library's worker thread instead, `await trio.to_thread.run_sync(f, a)` or
    /// `await anyio.to_thread.run_sync(f, a)`, with `functools.partial(f, a, key=value)` when
    /// the call passes keywords (`run_sync` passes on positional arguments only); there a
    /// cancellation waits until the thread returns. It never adds `import asyncio` there.
    ///
    /// ## Known problems
    /// A method is flagged only when the file shows that the receiver is a sync client (created
    /// in the same function, a `with ... as` target, a `self.` attribute assigned in the class,
    /// or an annotated parameter); an unknown `client.get(...)` is not guessed.
    ///
    /// ## References
    /// - [HTTPX async support](https://www.python-httpx.org/async/)
    code: "LW102",
    name: "blocking-network-call",
    summary: "synchronous HTTP, socket, SMTP or FTP calls in an async function",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC210", "ASYNC211", "ASYNC212"],
    peers: "ruff, flake8-async",
    fix: "wrap in `await asyncio.to_thread(...)`, or `trio.to_thread.run_sync`/`anyio.to_thread.run_sync` in trio and anyio modules (unsafe, plain calls only)",
    only_in_async_functions: true,
    triggers: ["requests", "httpx", "urllib", "socket", "smtplib", "ftplib", "HTTPConnection", "HTTPSConnection"],
}

const HTTP_METHODS: &[&str] = &["get", "options", "head", "post", "put", "patch", "delete", "request"];

fn is_blocking_function(qualified: &str) -> bool {
    if let Some((module, name)) = qualified.rsplit_once('.') {
        if matches!(module, "requests" | "requests.api") && HTTP_METHODS.contains(&name) {
            return true;
        }
        if module == "httpx" && (HTTP_METHODS.contains(&name) || name == "stream") {
            return true;
        }
    }
    matches!(
        qualified,
        "urllib.request.urlopen" | "urllib.request.urlretrieve" | "urllib3.request" | "socket.create_connection"
    )
}

/// Constructors that connect as soon as they are given a host.
fn is_connecting_constructor(qualified: &str) -> bool {
    matches!(qualified, "smtplib.SMTP" | "smtplib.SMTP_SSL" | "smtplib.LMTP" | "ftplib.FTP" | "ftplib.FTP_TLS")
}

fn is_blocking_method(receiver_type: &str, method: &str) -> bool {
    match receiver_type {
        "requests.Session" => HTTP_METHODS.contains(&method) || method == "send",
        "httpx.Client" => HTTP_METHODS.contains(&method) || matches!(method, "send" | "stream"),
        "urllib3.PoolManager"
        | "urllib3.poolmanager.PoolManager"
        | "urllib3.ProxyManager"
        | "urllib3.HTTPConnectionPool"
        | "urllib3.HTTPSConnectionPool"
        | "urllib3.connection_from_url" => {
            matches!(method, "request" | "urlopen" | "request_encode_url" | "request_encode_body")
        }
        "http.client.HTTPConnection" | "http.client.HTTPSConnection" => {
            matches!(method, "request" | "getresponse" | "connect")
        }
        "smtplib.SMTP" | "smtplib.SMTP_SSL" | "smtplib.LMTP" => {
            matches!(method, "connect" | "login" | "sendmail" | "send_message" | "starttls" | "ehlo" | "helo")
        }
        "ftplib.FTP" | "ftplib.FTP_TLS" => {
            matches!(
                method,
                "connect" | "login" | "retrbinary" | "retrlines" | "storbinary" | "storlines" | "nlst" | "cwd" | "dir"
            )
        }
        _ => false,
    }
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if let Some(qualified) = call.qualified_name.as_deref() {
        let connects = is_connecting_constructor(qualified) && call.arguments.named_child_count() > 0;
        if is_blocking_function(qualified) || connects {
            // `httpx.stream` hands back a context manager: the request runs when it is entered.
            let fix = (qualified != "httpx.stream").then(|| to_thread_fix(checker, call)).flatten();
            let diagnostic = checker.report(
                Rule::BlockingNetworkCall,
                call.node,
                format!("Blocking network call `{qualified}` {}", checker.semantic.async_place(call.node.start_byte())),
            );
            diagnostic.fix = fix;
            return;
        }
    }
    let (Some(receiver), Some(method)) = (call.receiver(), call.method_name(checker.semantic)) else { return };
    let Some(receiver_type) = checker.semantic.value_type(receiver) else { return };
    if is_blocking_method(&receiver_type, method) {
        let fix = (method != "stream").then(|| to_thread_fix(checker, call)).flatten();
        let diagnostic = checker.report(
            Rule::BlockingNetworkCall,
            call.node,
            format!(
                "Blocking network call `{method}` on a `{receiver_type}` {}",
                checker.semantic.async_place(call.node.start_byte())
            ),
        );
        diagnostic.fix = fix;
    }
}
