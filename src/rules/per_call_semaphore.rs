use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `asyncio.Semaphore`, `BoundedSemaphore`, `Lock` or `Condition` objects
    /// created into a local variable and only acquired in that same function: not used by a
    /// nested function, not returned, passed, stored or yielded.
    ///
    /// ## Why is this bad?
    /// Every call of the function creates its own semaphore, which no other call ever sees. Ten
    /// concurrent calls each acquire their own, so the limit or the mutual exclusion it was
    /// meant to give is not there at all.
    ///
    /// ## Example
    /// ```python
    /// async def fetch(session, url):
    ///     limit = asyncio.Semaphore(10)
    ///     async with limit:
    ///         return await session.get(url)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// LIMIT = asyncio.Semaphore(10)
    ///
    /// async def fetch(session, url):
    ///     async with LIMIT:
    ///         return await session.get(url)
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: where the shared object should live (module, instance, caller) is a
    /// design choice.
    ///
    /// ## Known problems
    /// A use the rule does not recognise as an acquisition (`async with`, `acquire()`,
    /// `release()`, `locked()`, `wait()`, `notify()`) counts as sharing, so the rule stays quiet.
    ///
    /// ## References
    /// - [Python docs: asyncio synchronization primitives](https://docs.python.org/3/library/asyncio-sync.html)
    code: "LW702",
    name: "per-call-semaphore",
    summary: "an asyncio semaphore or lock created per call and only used in that call",
    severity: Warning,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "none",
    only_in_async_functions: true,
    triggers: ["Semaphore", "Lock", "Condition"],
}

const PRIMITIVES: &[&str] = &[
    "asyncio.Semaphore",
    "asyncio.BoundedSemaphore",
    "asyncio.Lock",
    "asyncio.Condition",
    "asyncio.locks.Semaphore",
    "asyncio.locks.BoundedSemaphore",
    "asyncio.locks.Lock",
    "asyncio.locks.Condition",
];

/// Methods that use the object in place without handing it to anyone.
const LOCAL_METHODS: &[&str] = &["acquire", "release", "locked", "wait", "wait_for", "notify", "notify_all"];

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    let Some(primitive) = call.qualified_name.as_deref().filter(|name| PRIMITIVES.contains(name)) else { return };
    let Some(assignment) = call.node.parent().filter(|parent| parent.kind() == "assignment") else { return };
    let Some(target) = assignment.field(&field::LEFT).filter(|left| left.kind() == "identifier") else {
        return;
    };
    if assignment.field(&field::RIGHT).is_none_or(|right| right.id() != call.node.id())
        || assignment.parent().is_none_or(|parent| parent.kind() != "expression_statement")
    {
        return;
    }
    let Some(function) = checker.semantic.enclosing_function(call.node.start_byte()) else { return };
    let function_scope = checker.semantic.scope(function);
    let Some(body) = function_scope.node.field(&field::BODY) else { return };
    let name = checker.text(target);
    let mut acquired = false;
    // Every mention, nested scopes included: a use in a nested function shares the object.
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
        if node.kind() != "identifier" || checker.text(node) != name || node.id() == target.id() {
            continue;
        }
        if checker.semantic.enclosing_function(node.start_byte()) != Some(function) {
            return;
        }
        match use_of(checker, node) {
            Use::Acquire => acquired = true,
            Use::Local => {}
            Use::Other => return,
        }
    }
    if acquired {
        let function_name =
            function_scope.node.field(&field::NAME).map_or("", |function_name| checker.text(function_name));
        checker.report(
            Rule::PerCallSemaphore,
            call.node,
            format!("Each call of `{function_name}` creates its own `{primitive}`, so it limits nothing"),
        );
    }
}

enum Use {
    Acquire,
    /// A use that neither acquires nor shares (`sem.locked()`).
    Local,
    Other,
}

fn use_of(checker: &Checker<'_, '_>, identifier: Node<'_>) -> Use {
    let Some(parent) = identifier.parent() else { return Use::Other };
    match parent.kind() {
        "with_item" => Use::Acquire,
        "attribute" if parent.field(&field::OBJECT).is_some_and(|object| object.id() == identifier.id()) => {
            let method = parent.field(&field::ATTRIBUTE).map_or("", |method| checker.text(method));
            let is_called = parent.parent().is_some_and(|call| call.kind() == "call");
            match method {
                "acquire" if is_called => Use::Acquire,
                _ if is_called && LOCAL_METHODS.contains(&method) => Use::Local,
                _ => Use::Other,
            }
        }
        _ => Use::Other,
    }
}
