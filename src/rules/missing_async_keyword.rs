use tree_sitter::Node;

use crate::analysis::fix_builder;
use crate::analysis::semantic::AsyncProtocol;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for a plain `with` over something that only supports `async with`, and a plain
    /// `for` over an async generator: values bound to `asyncio.Lock`, `Semaphore`,
    /// `BoundedSemaphore` or `Condition`, `asyncio.timeout()`, `asyncio.timeout_at()`,
    /// `asyncio.TaskGroup()`, `aiohttp.ClientSession()`, `httpx.AsyncClient()`, trio's and
    /// anyio's locks, semaphores, conditions and capacity limiters, `trio.open_nursery()`,
    /// `anyio.create_task_group()`, calls of `@asynccontextmanager` functions of the same
    /// file, and calls of async generator functions of the same file.
    ///
    /// ## Why is this bad?
    /// It fails as soon as it runs: these objects have `__aenter__`/`__aexit__` (or
    /// `__aiter__`) but not the sync protocol, so Python raises a `TypeError` (or an
    /// `AttributeError` on older versions).
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// lock = asyncio.Lock()
    ///
    /// async def update(state):
    ///     with lock:
    ///         await state.save()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// lock = asyncio.Lock()
    ///
    /// async def update(state):
    ///     async with lock:
    ///         await state.save()
    /// ```
    ///
    /// ## Fix safety
    /// The fix (add `async`) is safe: the code cannot work as written. It is offered in an
    /// async function only (elsewhere the function must become async first), and for a `with`
    /// only when it has a single item (`async` would apply to every item).
    ///
    /// ## Known problems
    /// Functions of other modules are not known yet: `with imported_manager():` is not
    /// flagged. Comprehensions count too (`[x for x in agen()]`).
    ///
    /// ## References
    /// - [Python docs: The `async with` statement](https://docs.python.org/3/reference/compound_stmts.html#async-with)
    code: "LW602",
    name: "missing-async-keyword",
    summary: "`with`/`for` over an async-only context manager or async generator",
    severity: Error,
    enabled: true,
    aliases: [],
    peers: "pylint E1701, mypy, pyright (as type errors)",
    fix: "add `async` (safe, in an async function)",
    only_in_async_functions: false,
    // Why: an async context manager or generator is an `async def` here or an imported name
    // (the workspace index, `asyncio`/`trio`/`anyio`/`aiohttp`/`httpx` types).
    triggers: ["async", "import"],
}

const ASYNC_ONLY_MANAGERS: &[&str] = &[
    "asyncio.Lock",
    "asyncio.Semaphore",
    "asyncio.BoundedSemaphore",
    "asyncio.Condition",
    "asyncio.timeout",
    "asyncio.timeout_at",
    "asyncio.TaskGroup",
    "aiohttp.ClientSession",
    "httpx.AsyncClient",
    "trio.Lock",
    "trio.StrictFIFOLock",
    "trio.Semaphore",
    "trio.Condition",
    "trio.CapacityLimiter",
    "trio.open_nursery",
    "anyio.Lock",
    "anyio.Semaphore",
    "anyio.Condition",
    "anyio.CapacityLimiter",
    "anyio.create_task_group",
];

/// A plain `with` item `manager` of `with_statement`.
pub(crate) fn check_with(checker: &mut Checker<'_, '_>, with_statement: Node<'_>, manager: Node<'_>) {
    let manager = if manager.kind() == "as_pattern" { manager.named_child(0).unwrap_or(manager) } else { manager };
    // `async with` that error recovery parsed apart is async as typed.
    if fix_builder::follows_async_keyword(checker.semantic.source(), with_statement.start_byte()) {
        return;
    }
    let Some(what) = async_only_manager(checker, manager) else { return };
    let single_item = with_statement
        .named_children(&mut with_statement.walk())
        .find(|child| child.kind() == "with_clause")
        .is_some_and(|clause| clause.named_child_count() == 1);
    let fixable = single_item && checker.semantic.in_async_function(with_statement.start_byte());
    let diagnostic = checker.report(
        Rule::MissingAsyncKeyword,
        manager,
        format!("`with` on {what}, which only supports `async with`"),
    );
    if fixable {
        diagnostic.fix =
            Some(Fix::safe_edit("Use `async with`", Edit::insertion("async ", with_statement.start_byte())));
    }
}

/// A plain `for` loop or comprehension clause.
pub(crate) fn check_for(checker: &mut Checker<'_, '_>, for_loop: Node<'_>) {
    if for_loop.child(0).is_some_and(|first| first.kind() == "async")
        || fix_builder::follows_async_keyword(checker.semantic.source(), for_loop.start_byte())
    {
        return;
    }
    let Some(iterable) = for_loop.field(&field::RIGHT).filter(|right| right.kind() == "call") else { return };
    let Some(callee) = iterable.field(&field::FUNCTION) else { return };
    if checker.async_protocol_of(callee) != Some(AsyncProtocol::AsyncGenerator) {
        return;
    }
    let fixable = checker.semantic.in_async_function(for_loop.start_byte());
    let diagnostic = checker.report_range(
        Rule::MissingAsyncKeyword,
        for_loop,
        TextRange::new(for_loop.start_byte(), iterable.end_byte()),
        format!("`for` over the async generator `{}()`, which only supports `async for`", checker.text(callee)),
    );
    if fixable {
        diagnostic.fix = Some(Fix::safe_edit("Use `async for`", Edit::insertion("async ", for_loop.start_byte())));
    }
}

/// What the manager is, in the message's words, when it only supports `async with`.
fn async_only_manager(checker: &Checker<'_, '_>, manager: Node<'_>) -> Option<String> {
    if manager.kind() == "call" {
        let callee = manager.field(&field::FUNCTION)?;
        if checker.async_protocol_of(callee) == Some(AsyncProtocol::AsyncContextManager) {
            return Some(format!("the async context manager `{}()`", checker.text(callee)));
        }
    }
    let kind = checker.semantic.value_type(manager)?;
    ASYNC_ONLY_MANAGERS.contains(&kind.as_str()).then(|| format!("`{kind}`"))
}
