use tree_sitter::Node;

use crate::analysis::semantic::CONCURRENT_FUTURE;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for waits on thread and process synchronization objects in an async function:
    /// `with X`, `X.acquire()`, `X.wait()`, `X.get()`, `X.put()`, `X.join()` and `X.result()`
    /// where `X` is a `threading` lock, event, condition, semaphore or barrier, a `queue` or
    /// `multiprocessing` queue, a `threading.Thread` or `multiprocessing.Process`, or a
    /// `concurrent.futures` future.
    ///
    /// `result()`, `exception()` and `join()` are not reported when the function already
    /// awaited the completion: a future with a done callback (`future.add_done_callback(...)`)
    /// or a thread started with a future it sets (`Thread(target=work, args=(done,))`, then
    /// `await done`), awaited before the call.
    ///
    /// ## Why is this bad?
    /// These wait by blocking the thread. On the event loop's thread that stops every task,
    /// and if the object is to be released by a task on the same loop, it never is: a deadlock.
    ///
    /// ## Example
    /// ```python
    /// import threading
    ///
    /// class Cache:
    ///     def __init__(self):
    ///         self._lock = threading.Lock()
    ///
    ///     async def refresh(self):
    ///         with self._lock:
    ///             await self._reload()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// class Cache:
    ///     def __init__(self):
    ///         self._lock = asyncio.Lock()
    ///
    ///     async def refresh(self):
    ///         async with self._lock:
    ///             await self._reload()
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: the right replacement depends on who else uses the object.
    ///
    /// ## Known problems
    /// Non-blocking forms (`acquire(blocking=False)`, `get(block=False)`, `get_nowait()`) are
    /// not flagged. The object must be bound to its class where the file shows it.
    /// `put` on a queue made without a bound (`queue.Queue()`, `maxsize` of 0 or less, any
    /// `queue.SimpleQueue`) is not flagged: it never waits, as a thread bridge that a worker
    /// drains relies on; every creation of the queue must be visible (a local, `self.x` in the
    /// class, a module attribute), so a queue passed in is still flagged. `get` and `join` on
    /// such a queue still block.
    ///
    /// ## References
    /// - [Python docs: asyncio synchronization primitives](https://docs.python.org/3/library/asyncio-sync.html)
    code: "LW107",
    name: "blocking-thread-sync",
    summary: "waiting on `threading`/`queue`/`multiprocessing` objects or `concurrent.futures` futures in an async function",
    severity: Warning,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "none",
    only_in_async_functions: true,
    // Why: a `concurrent.futures.Future` also comes from `asyncio.run_coroutine_threadsafe`.
    triggers: ["threading", "multiprocessing", "queue", "concurrent", "run_coroutine_threadsafe"],
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SyncKind {
    Lock,
    Condition,
    Event,
    Barrier,
    Queue,
    Worker,
    Future,
}

fn sync_kind(qualified: &str) -> Option<SyncKind> {
    Some(match qualified {
        "threading.Lock"
        | "threading.RLock"
        | "threading.Semaphore"
        | "threading.BoundedSemaphore"
        | "multiprocessing.Lock"
        | "multiprocessing.RLock"
        | "multiprocessing.Semaphore"
        | "multiprocessing.BoundedSemaphore" => SyncKind::Lock,
        "threading.Condition" | "multiprocessing.Condition" => SyncKind::Condition,
        "threading.Event" | "multiprocessing.Event" => SyncKind::Event,
        "threading.Barrier" | "multiprocessing.Barrier" => SyncKind::Barrier,
        "queue.Queue"
        | "queue.LifoQueue"
        | "queue.PriorityQueue"
        | "queue.SimpleQueue"
        | "multiprocessing.Queue"
        | "multiprocessing.JoinableQueue"
        | "multiprocessing.SimpleQueue" => SyncKind::Queue,
        "threading.Thread" | "multiprocessing.Process" => SyncKind::Worker,
        CONCURRENT_FUTURE => SyncKind::Future,
        _ => return None,
    })
}

fn blocks(kind: SyncKind, method: &str) -> bool {
    match kind {
        SyncKind::Lock => method == "acquire",
        SyncKind::Condition => matches!(method, "acquire" | "wait" | "wait_for"),
        SyncKind::Event | SyncKind::Barrier => method == "wait",
        SyncKind::Queue => matches!(method, "get" | "put" | "join"),
        SyncKind::Worker => method == "join",
        SyncKind::Future => matches!(method, "result" | "exception"),
    }
}

/// `acquire(False)`, `acquire(blocking=False)`, `get(False)`, `get(block=False)`,
/// `put(item, False)`, `put(item, block=False)` return at once, and so does any of these
/// waits with a zero timeout (`join(timeout=0)`, `wait(0)`, `result(0)`).
fn is_non_blocking(checker: &Checker<'_, '_>, call: &Call<'_>, method: &str) -> bool {
    let is_zero = |node: Node<'_>| matches!(checker.text(node), "0" | "0.0" | "0." | ".0");
    if call.keyword_argument(checker.semantic, "timeout").is_some_and(is_zero) {
        return true;
    }
    let keyword = if method == "acquire" { "blocking" } else { "block" };
    if let Some(value) = call.keyword_argument(checker.semantic, keyword) {
        return checker.text(value) == "False";
    }
    let mut cursor = call.arguments.walk();
    let positional: Vec<Node<'_>> = call
        .arguments
        .named_children(&mut cursor)
        .filter(|argument| argument.kind() != "keyword_argument" && argument.kind() != "comment")
        .collect();
    // (position of the blocking flag, position of the timeout) in each method's signature.
    let (flag, timeout) = match method {
        "acquire" | "get" => (Some(0), Some(1)),
        "put" => (Some(1), Some(2)),
        "join" | "wait" | "result" | "exception" => (None, Some(0)),
        _ => (None, None),
    };
    flag.and_then(|index| positional.get(index)).is_some_and(|node| checker.text(*node) == "False")
        || timeout.and_then(|index| positional.get(index)).is_some_and(|node| is_zero(*node))
}

/// Whether every queue `receiver` may be was created without a bound where the file shows it
/// (`queue.Queue()`, `Queue(maxsize=0)`, `multiprocessing.Queue(-1)`, any `queue.SimpleQueue`):
/// then `put` never waits (it is `put_nowait`); only `get` and `join` can. A
/// `multiprocessing.SimpleQueue` writes to a pipe, whose `put` can block when it is full.
fn is_unbounded_queue(checker: &Checker<'_, '_>, receiver: Node<'_>) -> bool {
    let semantic = checker.semantic;
    let creations = if receiver.kind() == "call" { Some(vec![receiver]) } else { semantic.creating_calls(receiver) };
    let Some(creations) = creations else { return false };
    creations.into_iter().all(|creation| {
        let Some(callee) = creation.field(&field::FUNCTION) else { return false };
        let Some(arguments) = creation.field(&field::ARGUMENTS) else { return false };
        match semantic.qualified_name(callee).as_deref() {
            Some("queue.SimpleQueue") => true,
            Some(
                "queue.Queue"
                | "queue.LifoQueue"
                | "queue.PriorityQueue"
                | "multiprocessing.Queue"
                | "multiprocessing.JoinableQueue",
            ) => has_no_bound(checker, arguments),
            _ => false,
        }
    })
}

/// `()`, `(0)`, `(maxsize=0)` or a negative literal: `maxsize <= 0` means no bound.
fn has_no_bound(checker: &Checker<'_, '_>, arguments: Node<'_>) -> bool {
    let mut cursor = arguments.walk();
    let given: Vec<Node<'_>> = arguments.named_children(&mut cursor).filter(|node| node.kind() != "comment").collect();
    let maxsize = match given.as_slice() {
        [] => return true,
        [only] if only.kind() == "keyword_argument" => {
            let is_maxsize = only.field(&field::NAME).is_some_and(|name| checker.text(name) == "maxsize");
            match only.field(&field::VALUE) {
                Some(value) if is_maxsize => value,
                _ => return false,
            }
        }
        [only] => *only,
        _ => return false,
    };
    let text = checker.text(maxsize).replace(' ', "");
    text == "0" || (text.starts_with('-') && text[1..].chars().all(|digit| digit.is_ascii_digit()) && text.len() > 1)
}

pub(crate) fn check_call(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    let (Some(receiver), Some(method)) = (call.receiver(), call.method_name(checker.semantic)) else { return };
    if !matches!(method, "acquire" | "wait" | "wait_for" | "get" | "put" | "join" | "result" | "exception") {
        return;
    }
    let Some(receiver_type) = checker.semantic.value_type(receiver) else { return };
    let Some(kind) = sync_kind(&receiver_type) else { return };
    if !blocks(kind, method) || is_non_blocking(checker, call, method) {
        return;
    }
    if method == "put" && is_unbounded_queue(checker, receiver) {
        return;
    }
    if matches!(method, "result" | "exception" | "join") && completion_awaited(checker, call.node, receiver) {
        return;
    }
    checker.report(
        Rule::BlockingThreadSync,
        call.node,
        format!(
            "Blocking `{method}()` on a `{receiver_type}` {}",
            checker.semantic.async_place(call.node.start_byte())
        ),
    );
}

/// Whether the function has the loop told when `receiver` (a future, a thread) completes and
/// awaits that before the call: `receiver.add_done_callback(...)` on a future, or a thread
/// started with a name among its arguments (`Thread(target=work, args=(done,))`) that the
/// function awaits. Then `result()` / `join()` returns at once, or nearly.
fn completion_awaited(checker: &Checker<'_, '_>, call: Node<'_>, receiver: Node<'_>) -> bool {
    if receiver.kind() != "identifier" {
        return false;
    }
    let semantic = checker.semantic;
    let Some(function) = semantic.enclosing_function(call.start_byte()) else { return false };
    let Some(body) = semantic.scope(function).node.field(&field::BODY) else { return false };
    let name = checker.text(receiver);
    let before = |node: Node<'_>| node.end_byte() <= call.start_byte();
    let awaits_before: Vec<Node<'_>> =
        semantic.nodes_in_same_scope(body, &["await"]).into_iter().filter(|node| before(*node)).collect();
    if awaits_before.is_empty() {
        return false;
    }
    let references = semantic.references_in(body, name);
    let notified = references.iter().any(|reference| {
        before(*reference)
            && reference.parent().is_some_and(|attribute| {
                attribute.kind() == "attribute"
                    && attribute
                        .field(&field::ATTRIBUTE)
                        .is_some_and(|method| checker.text(method) == "add_done_callback")
            })
    });
    if notified {
        return true;
    }
    // `thread = Thread(target=..., args=(future,))` ... `await future` ... `thread.join()`.
    let Some(creation) = semantic.creating_call(receiver) else { return false };
    let Some(arguments) = creation.field(&field::ARGUMENTS) else { return false };
    let awaited: Vec<&str> = awaits_before
        .iter()
        .filter_map(|node| node.named_child(0))
        .filter(|value| value.kind() == "identifier")
        .map(|value| checker.text(value))
        .collect();
    let mut stack = vec![arguments];
    while let Some(node) = stack.pop() {
        if node.kind() == "identifier" && awaited.contains(&checker.text(node)) {
            return true;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    false
}

/// A sync `with X:` in an async function, where `X` is a thread or process lock.
pub(crate) fn check_with(checker: &mut Checker<'_, '_>, manager: Node<'_>) {
    if !checker.enabled(Rule::BlockingThreadSync) {
        return;
    }
    let manager = if manager.kind() == "as_pattern" { manager.named_child(0).unwrap_or(manager) } else { manager };
    let Some(manager_type) = checker.semantic.value_type(manager) else { return };
    if matches!(sync_kind(&manager_type), Some(SyncKind::Lock | SyncKind::Condition)) {
        checker.report(
            Rule::BlockingThreadSync,
            manager,
            format!("Blocking `with` on a `{manager_type}` {}", checker.semantic.async_place(manager.start_byte())),
        );
    }
}
