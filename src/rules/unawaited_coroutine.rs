use crate::analysis::semantic::CalleeKind;
use crate::analysis::{Call, Checker, Edit, Fix};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for calls that create a coroutine and then drop it: as a statement, as a
    /// condition (`if fetch():`, `not fetch()`, an operand of `and`/`or` that is only tested),
    /// or bound to a local the function never mentions again. Coroutine functions are the
    /// `async def`s of the file (module functions; methods through `self.`, `cls.` or the
    /// class name) and the `asyncio` coroutine functions (`asyncio.sleep`, `wait_for`, `wait`,
    /// `open_connection`, `start_server`, `create_subprocess_exec`, `to_thread`, ...) and
    /// methods (`acquire`/`wait`/`get`/`put`/`join` of `asyncio` locks, events, conditions and
    /// queues, `loop.getaddrinfo`, `loop.create_connection`, ...) where the file shows the
    /// object's class; a dropped `asyncio.gather(...)` is flagged too.
    ///
    /// ## Why is this bad?
    /// Calling an `async def` only creates a coroutine object; its body never runs unless it is
    /// awaited or scheduled. The call silently does nothing (Python warns "coroutine was never
    /// awaited" at garbage collection, if anyone looks), and a coroutine used as a condition is
    /// always true.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def save(record): ...
    ///
    /// async def handler(record):
    ///     save(record)
    ///     asyncio.sleep(1)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def save(record): ...
    ///
    /// async def handler(record):
    ///     await save(record)
    ///     await asyncio.sleep(1)
    /// ```
    ///
    /// ## Fix safety
    /// The fix (insert `await `) is safe: the code did nothing before, and awaiting is what was
    /// meant. It is offered only inside an async function, outside comprehensions and generator
    /// expressions (where `await` would change what kind of object they build).
    ///
    /// ## Known problems
    /// A callee the file does not show is never guessed: a method of an unknown receiver
    /// (`client.fetch()`), an `async def` behind a decorator other than `staticmethod`,
    /// `classmethod`, `abstractmethod`, `override` or `wraps`, and (for now) `async def`s of
    /// other modules of the workspace. Calling an async generator function creates no
    /// coroutine and is not flagged.
    ///
    /// ## References
    /// - [Python docs: Coroutines](https://docs.python.org/3/library/asyncio-task.html#coroutines)
    code: "LW201",
    name: "unawaited-coroutine",
    summary: "a coroutine created and dropped without being awaited",
    severity: Error,
    enabled: true,
    aliases: ["ASYNC105"],
    peers: "pyright/basedpyright `reportUnusedCoroutine`, mypy `unused-coroutine`, PyCharm",
    fix: "insert `await ` (safe, inside an async function)",
    only_in_async_functions: false,
    // Why: a coroutine function is an `async def` here, an `asyncio` name, or one the workspace
    // index finds through an import, under any local name: `import` is the only text such a
    // file must hold.
    triggers: ["async", "import"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    let is_gather = matches!(call.qualified_name.as_deref(), Some("asyncio.gather" | "asyncio.tasks.gather"));
    // Cheapest question first: what the file itself says of the callee (a callee it does not
    // know and no import names is never known: most method calls); then whether the result
    // is dropped (it may walk the function); only then the workspace index, which may have
    // to read a module.
    let in_file = if is_gather { CalleeKind::Coroutine } else { checker.semantic.callee_kind(call.callee) };
    if in_file == CalleeKind::NotCoroutine || (in_file == CalleeKind::Unknown && !checker.workspace_may_know(call)) {
        return;
    }
    if !checker.is_result_discarded(call.node, true) {
        return;
    }
    if !is_gather && checker.callee_kind_beyond(call, in_file) != CalleeKind::Coroutine {
        return;
    }
    let callee = checker.text(call.callee);
    let message = if is_gather {
        format!("The future returned by `{callee}(...)` is never awaited")
    } else {
        format!("The coroutine created by `{callee}(...)` is never awaited")
    };
    let fix = await_fix(checker, call);
    let diagnostic = checker.report(Rule::UnawaitedCoroutine, call.node, message);
    diagnostic.fix = fix;
}

/// Insert `await ` before the call, where the result is certainly valid and means the same.
fn await_fix(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<Fix> {
    if !checker.semantic.in_async_function(call.node.start_byte()) {
        return None;
    }
    let mut current = call.node.parent();
    while let Some(node) = current {
        if node.kind().ends_with("_statement") || node.kind() == "elif_clause" {
            break;
        }
        // `await` in a comprehension makes an async comprehension (or async generator).
        if matches!(
            node.kind(),
            "list_comprehension" | "set_comprehension" | "dictionary_comprehension" | "generator_expression"
        ) {
            return None;
        }
        current = node.parent();
    }
    Some(Fix::safe_edit("Insert `await`", Edit::insertion("await ", call.node.start_byte())))
}
