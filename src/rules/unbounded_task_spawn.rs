use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for tasks created for every item of a non-literal iterable (`create_task` or
    /// `ensure_future` in a loop or comprehension, `gather(*[coro(x) for x in items])`) when
    /// the spawned coroutine, defined in the same file, acquires no semaphore and the spawning
    /// function shows no bound (a semaphore, `asyncio.wait(..., return_when=...)`).
    ///
    /// ## Why is this bad?
    /// The number of concurrent tasks grows with the input: ten thousand URLs open ten
    /// thousand connections at once, exhausting file descriptors, memory or the remote
    /// server's patience. A semaphore or a fixed pool of workers keeps the concurrency bounded.
    ///
    /// ## Example
    /// ```python
    /// async def fetch(session, url):
    ///     async with session.get(url) as response:
    ///         return await response.read()
    ///
    /// async def fetch_all(session, urls):
    ///     return await asyncio.gather(*[fetch(session, url) for url in urls])
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// LIMIT = asyncio.Semaphore(20)
    ///
    /// async def fetch(session, url):
    ///     async with LIMIT, session.get(url) as response:
    ///         return await response.read()
    ///
    /// async def fetch_all(session, urls):
    ///     return await asyncio.gather(*[fetch(session, url) for url in urls])
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: the bound and where it lives are design choices.
    ///
    /// ## Known problems
    /// Off by default: many inputs are small by construction, which the file does not show.
    /// `range(...)` loops are taken as bounded (worker pools), and so is a spawning loop that
    /// waits for a batch inside it (`if len(tasks) >= limit: await asyncio.gather(*tasks)`,
    /// an `if` or `while` on `len(...)` or on `i % n` whose body awaits). Coroutines defined in
    /// other files are not followed, so their spawns are not flagged.
    ///
    /// ## References
    /// - [Python docs: `asyncio.Semaphore`](https://docs.python.org/3/library/asyncio-sync.html#asyncio.Semaphore)
    code: "LW701",
    name: "unbounded-task-spawn",
    summary: "tasks created in a loop over a non-literal iterable with no visible bound",
    severity: Info,
    enabled: false,
    aliases: [],
    peers: "none",
    fix: "none",
    only_in_async_functions: true,
    triggers: ["gather", "create_task", "ensure_future"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    let qualified = call.qualified_name.as_deref();
    let (coroutine, iterable) = if qualified == Some("asyncio.gather") {
        let Some((coroutine, iterable)) = gathered_comprehension(call.arguments) else { return };
        (coroutine, iterable)
    } else if matches!(qualified, Some("asyncio.create_task" | "asyncio.ensure_future"))
        || call.method_name(checker.semantic) == Some("create_task")
    {
        let Some(coroutine) = call.arguments.named_child(0).filter(|argument| argument.kind() == "call") else {
            return;
        };
        let Some(iterable) = enclosing_iteration(call.node) else { return };
        (coroutine, iterable)
    } else {
        return;
    };
    if is_bounded_iterable(checker, iterable) {
        return;
    }
    let Some(callee) = coroutine.field(&field::FUNCTION) else { return };
    let Some(definition) = checker.semantic.helper_definition(callee) else { return };
    if definition.child(0).is_none_or(|first| first.kind() != "async") {
        return;
    }
    let Some(coroutine_body) = definition.field(&field::BODY) else { return };
    let spawner_body = checker
        .semantic
        .enclosing_function(call.node.start_byte())
        .and_then(|scope| checker.semantic.scope(scope).node.field(&field::BODY));
    if shows_bound(checker, coroutine_body) || spawner_body.is_some_and(|body| shows_bound(checker, body)) {
        return;
    }
    if enclosing_for_body(call.node).is_some_and(|body| shows_batch_bound(checker, body)) {
        return;
    }
    checker.report(
        Rule::UnboundedTaskSpawn,
        call.node,
        format!("One task per item of `{}` with no limit on how many run at once", checker.text(iterable)),
    );
}

/// `gather(*[coro(x) for x in items])` or `gather(*(coro(x) for x in items))`: the coroutine
/// call and the iterable.
fn gathered_comprehension(arguments: Node<'_>) -> Option<(Node<'_>, Node<'_>)> {
    let mut cursor = arguments.walk();
    let splat = arguments.named_children(&mut cursor).find(|argument| argument.kind() == "list_splat")?;
    let comprehension =
        splat.named_child(0).filter(|value| matches!(value.kind(), "list_comprehension" | "generator_expression"))?;
    let coroutine = comprehension.field(&field::BODY).filter(|body| body.kind() == "call")?;
    let mut cursor = comprehension.walk();
    let clause = comprehension.named_children(&mut cursor).find(|child| child.kind() == "for_in_clause")?;
    Some((coroutine, clause.field(&field::RIGHT)?))
}

/// The iterable of the nearest loop or comprehension whose body holds `node`, in the same
/// function.
fn enclosing_iteration(node: Node<'_>) -> Option<Node<'_>> {
    let mut child = node;
    let mut parent = node.parent();
    while let Some(current) = parent {
        match current.kind() {
            "function_definition" | "lambda" | "class_definition" => return None,
            "for_statement" => {
                let body = current.field(&field::BODY)?;
                if body.id() == child.id() {
                    return current.field(&field::RIGHT);
                }
            }
            "list_comprehension" | "set_comprehension" | "generator_expression"
                if current.field(&field::BODY).is_some_and(|body| body.id() == child.id()) =>
            {
                let mut cursor = current.walk();
                let clause = current.named_children(&mut cursor).find(|child| child.kind() == "for_in_clause")?;
                return clause.field(&field::RIGHT);
            }
            _ => {}
        }
        child = current;
        parent = current.parent();
    }
    None
}

/// Literal collections and `range(...)` (a fixed pool of workers) are bounded by the code, and
/// so are comprehensions over them, their `.items()`/`.keys()`/`.values()`, and names assigned
/// one of these.
fn is_bounded_iterable(checker: &Checker<'_, '_>, iterable: Node<'_>) -> bool {
    is_bounded_at_depth(checker, iterable, 0)
}

fn is_bounded_at_depth(checker: &Checker<'_, '_>, iterable: Node<'_>, depth: u32) -> bool {
    if depth > 8 {
        return false;
    }
    let depth = depth + 1;
    match iterable.kind() {
        "list" | "tuple" | "set" | "dictionary" | "string" => true,
        "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression" => {
            let mut cursor = iterable.walk();
            let clauses: Vec<Node<'_>> =
                iterable.named_children(&mut cursor).filter(|child| child.kind() == "for_in_clause").collect();
            !clauses.is_empty()
                && clauses.into_iter().all(|clause| {
                    clause.field(&field::RIGHT).is_some_and(|right| is_bounded_at_depth(checker, right, depth))
                })
        }
        "identifier" => {
            checker.semantic.assigned_value(iterable).is_some_and(|value| is_bounded_at_depth(checker, value, depth))
        }
        "parenthesized_expression" => {
            iterable.named_child(0).is_some_and(|inner| is_bounded_at_depth(checker, inner, depth))
        }
        "call" => {
            let Some(callee) = iterable.field(&field::FUNCTION) else { return false };
            if checker.semantic.qualified_name(callee).is_some_and(|name| name == "builtins.range") {
                return true;
            }
            let is_view = callee.kind() == "attribute"
                && callee
                    .field(&field::ATTRIBUTE)
                    .is_some_and(|method| matches!(checker.text(method), "items" | "keys" | "values"));
            is_view && callee.field(&field::OBJECT).is_some_and(|object| is_bounded_at_depth(checker, object, depth))
        }
        _ => false,
    }
}

/// A semaphore acquired (`async with` of a semaphore-like value, `.acquire()`), created, or a
/// sliding window (`asyncio.wait(..., return_when=...)`) in `body`.
fn shows_bound(checker: &Checker<'_, '_>, body: Node<'_>) -> bool {
    checker.semantic.nodes_in_same_scope(body, &["with_item", "call"]).into_iter().any(|node| {
        if node.kind() == "with_item" {
            let Some(value) = node.field(&field::VALUE) else { return false };
            let manager = if value.kind() == "as_pattern" { value.named_child(0).unwrap_or(value) } else { value };
            let text = checker.text(manager).to_ascii_lowercase();
            return text.contains("sem")
                || text.contains("limit")
                || checker.semantic.value_type(manager).is_some_and(|kind| kind.ends_with("Semaphore"));
        }
        let Some(callee) = node.field(&field::FUNCTION) else { return false };
        let is_acquire = callee.kind() == "attribute"
            && callee.field(&field::ATTRIBUTE).is_some_and(|method| checker.text(method) == "acquire");
        let qualified = checker.semantic.qualified_name(callee);
        is_acquire
            || matches!(qualified.as_deref(), Some("asyncio.Semaphore" | "asyncio.BoundedSemaphore"))
            || (qualified.as_deref() == Some("asyncio.wait") && checker.text(node).contains("return_when"))
    })
}

/// The body of the `for` loop whose body holds `node`, in the same function.
fn enclosing_for_body(node: Node<'_>) -> Option<Node<'_>> {
    let mut parent = node.parent();
    while let Some(current) = parent {
        match current.kind() {
            "function_definition" | "lambda" | "class_definition" => return None,
            "for_statement" => {
                let body = current.field(&field::BODY)?;
                if body.start_byte() <= node.start_byte() && node.end_byte() <= body.end_byte() {
                    return Some(body);
                }
            }
            _ => {}
        }
        parent = current.parent();
    }
    None
}

/// A bound inside the spawning loop: an `if` or `while` on how many tasks are out
/// (`len(tasks) >= limit`, `index % batch == 0`) whose body awaits them (`await
/// asyncio.gather(*tasks)`, `await asyncio.wait(tasks)`), so at most a batch runs at once.
fn shows_batch_bound(checker: &Checker<'_, '_>, loop_body: Node<'_>) -> bool {
    let semantic = checker.semantic;
    semantic.nodes_in_same_scope(loop_body, &["if_statement", "while_statement"]).into_iter().any(|statement| {
        let (Some(condition), Some(body)) = (
            statement.field(&field::CONDITION),
            statement.field(&field::CONSEQUENCE).or_else(|| statement.field(&field::BODY)),
        ) else {
            return false;
        };
        let counts = semantic.nodes_in_same_scope(condition, &["comparison_operator"]).into_iter().any(|comparison| {
            semantic.nodes_in_same_scope(comparison, &["call", "binary_operator"]).into_iter().any(|part| {
                if part.kind() == "binary_operator" {
                    return part.field(&field::OPERATOR).is_some_and(|operator| checker.text(operator) == "%");
                }
                part.field(&field::FUNCTION)
                    .and_then(|callee| semantic.qualified_name(callee))
                    .is_some_and(|name| name == "builtins.len")
            })
        });
        counts && !semantic.nodes_in_same_scope(body, &["await"]).is_empty()
    })
}
