use tree_sitter::Node;

use crate::analysis::semantic::ScopeKind;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker, Edit, Fix, TextRange};
use crate::rules::Rule;
use crate::rules::ensure_future_on_coroutine::returns_future;
use crate::rules::pytest_support::{is_fixture, is_test_module};

define_rule! {
    /// ## What it does
    /// Checks for sync code that runs a coroutine on an event loop it makes or fetches itself:
    /// `loop.run_until_complete(...)` where `loop` is bound to `asyncio.new_event_loop()` or
    /// `asyncio.get_event_loop()`.
    ///
    /// A loop fetched with `asyncio.get_event_loop()` inside a `try` that handles
    /// `RuntimeError` (no current loop, then a fallback such as `asyncio.run`) is the caller's,
    /// and is not reported.
    ///
    /// ## Why is this bad?
    /// `asyncio.run(main())` does the whole job: it creates a fresh loop, runs the coroutine,
    /// cancels the tasks left behind, shuts down async generators and the default executor,
    /// and closes the loop. Hand-made loops usually skip some of these steps (leaking tasks,
    /// threads and file descriptors), and `get_event_loop()` outside a running loop is
    /// deprecated. Code that must run several coroutines on one loop can use `asyncio.Runner`
    /// (Python 3.11+).
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// def cli():
    ///     loop = asyncio.new_event_loop()
    ///     loop.run_until_complete(main())
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// def cli():
    ///     asyncio.run(main())
    /// ```
    ///
    /// ## Fix safety
    /// The fix (replace both statements with `asyncio.run(main())`) is unsafe: the loop is now
    /// closed afterwards and leftover tasks are cancelled, and `asyncio.run` refuses a future
    /// or a task. It is offered only when the loop is made in the statement right before, the
    /// loop variable is used nowhere else in the scope, the argument is a call that is not
    /// known to return a future, and `asyncio` is imported as a module.
    ///
    /// ## Known problems
    /// The loop must be made in the same function that runs the coroutine and held in a local
    /// there: a loop stored on an object (`self.loop = asyncio.new_event_loop()` in `setUp`,
    /// `__init__` or `setUpClass`) or made in another function (a module-level loop) is kept
    /// to run many coroutines over time, with state bound to it,
    /// and one `asyncio.run()` cannot replace it (on real code every such finding was a test
    /// base class or a benchmark runner doing so on purpose). The loop must be shown to be
    /// made by `asyncio.new_event_loop()`,
    /// `asyncio.get_event_loop()` or `uvloop.new_event_loop()` in the file: a loop passed in
    /// (a parameter, even one annotated as an event loop, as pytest fixtures and cleanup
    /// helpers receive it) is not flagged, since the caller chose to share it. A loop fetched
    /// with `asyncio.get_event_loop()` is flagged only where nothing shows that someone else
    /// set it up: not in a pytest fixture or a test function of a test module (or code nested
    /// in one), where a fixture or plugin made the loop and the test's objects belong to it,
    /// and not when a fallback makes one only if there is none (`try: loop = get_event_loop()`
    /// `except RuntimeError: loop = new_event_loop()`), the shape of a framework that runs on
    /// its caller's loop. `asyncio.run` would start a new loop there and break that code.
    /// Calls that are part of the manual shutdown (`loop.shutdown_asyncgens()`,
    /// `loop.shutdown_default_executor()`) are not flagged on their own.
    ///
    /// ## References
    /// - [Python docs: `asyncio.run`](https://docs.python.org/3/library/asyncio-runner.html#asyncio.run)
    /// - [Python docs: `asyncio.Runner`](https://docs.python.org/3/library/asyncio-runner.html#asyncio.Runner)
    code: "LW503",
    name: "manual-event-loop",
    summary: "sync code that makes an event loop to run a coroutine (`loop.run_until_complete(main())`)",
    severity: Info,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "`asyncio.run(main())` when the two statements are adjacent (unsafe)",
    only_in_async_functions: false,
    triggers: ["run_until_complete"],
}

/// `asyncio.run` would do these itself; a manual loop's cleanup is not a second finding.
const SHUTDOWN_STEPS: &[&str] = &["shutdown_asyncgens", "shutdown_default_executor"];

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if call.method_name(checker.semantic) != Some("run_until_complete") {
        return;
    }
    let Some(receiver) = call.receiver() else { return };
    if !is_made_here(checker, receiver) {
        return;
    }
    let positional = call.positional_arguments();
    let [argument] = positional.as_slice() else { return };
    if is_shutdown_step(checker, *argument) {
        return;
    }
    let fix = fix(checker, call, receiver, *argument);
    let diagnostic = checker.report(
        Rule::ManualEventLoop,
        call.node,
        "Coroutine run on a hand-made event loop; use `asyncio.run()`".to_string(),
    );
    diagnostic.fix = fix;
}

/// A loop this code makes or fetches itself: `asyncio.new_event_loop()` or
/// `asyncio.get_event_loop()` (followed through variables and `self.` attributes, every
/// assignment of them). A loop handed in (a parameter, even annotated) belongs to someone
/// else, who chose to share it, and so does a fetched loop that is someone else's (see
/// [`is_owned_elsewhere`]).
fn is_made_here(checker: &Checker<'_, '_>, receiver: Node<'_>) -> bool {
    let creations =
        if receiver.kind() == "call" { Some(vec![receiver]) } else { checker.semantic.creating_calls(receiver) };
    let Some(creations) = creations else { return false };
    // A loop made in another function (`self.loop = new_event_loop()` in `__init__` or
    // `setUpClass`, a module-level loop) is kept to run many coroutines over time, with state
    // bound to it (pools, connections): one `asyncio.run()` cannot stand in for it.
    let here = checker.semantic.enclosing_function(receiver.start_byte());
    if receiver.kind() == "attribute"
        || creations.iter().any(|creation| checker.semantic.enclosing_function(creation.start_byte()) != here)
    {
        return false;
    }
    let mut origins = Vec::with_capacity(creations.len());
    for creation in &creations {
        let Some(origin) = loop_origin(checker, *creation) else { return false };
        origins.push((origin, *creation));
    }
    !origins
        .iter()
        .any(|(origin, creation)| *origin == Origin::Fetched && is_owned_elsewhere(checker, *creation, &origins))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Made,
    Fetched,
}

fn loop_origin(checker: &Checker<'_, '_>, creation: Node<'_>) -> Option<Origin> {
    match checker.semantic.value_type(creation)?.as_str() {
        "asyncio.new_event_loop" | "asyncio.events.new_event_loop" | "uvloop.new_event_loop" => Some(Origin::Made),
        "asyncio.get_event_loop" | "asyncio.events.get_event_loop" => Some(Origin::Fetched),
        _ => None,
    }
}

/// `asyncio.get_event_loop()` in sync code returns the loop set for the thread, when one is.
/// Two shapes show that one is, and that `asyncio.run` (a new loop) would break the code,
/// whose objects (connections, futures) belong to that loop:
/// - the fetch runs under a test runner: in a pytest fixture, or a test function of a test
///   module (or code nested in one), where a fixture or plugin set the loop up;
/// - the loop is fetched with a fallback that makes one (`try: loop = get_event_loop()`
///   `except RuntimeError: loop = new_event_loop()`): a framework that runs on its caller's
///   loop by design.
fn is_owned_elsewhere(checker: &Checker<'_, '_>, fetch: Node<'_>, origins: &[(Origin, Node<'_>)]) -> bool {
    if origins.iter().any(|(origin, _)| *origin == Origin::Made) {
        return true;
    }
    let semantic = checker.semantic;
    if fetched_in_a_try_for_no_loop(checker, fetch) {
        return true;
    }
    let in_test_module = checker.path.is_some_and(is_test_module);
    let mut scope = Some(semantic.scope_at(fetch.start_byte()));
    while let Some(id) = scope {
        let current = semantic.scope(id);
        scope = current.parent;
        if !matches!(current.kind, ScopeKind::Function { .. }) {
            continue;
        }
        let is_test = in_test_module
            && current.node.field(&field::NAME).is_some_and(|name| checker.text(name).starts_with("test"));
        if is_test || is_fixture(semantic, current.node) {
            return true;
        }
    }
    false
}

/// `try: loop = asyncio.get_event_loop()` / `except RuntimeError: ...`: the code asks for the
/// caller's loop and handles there being none (falling back to `asyncio.run`, a new loop, or
/// nothing), so a loop it gets is the caller's.
fn fetched_in_a_try_for_no_loop(checker: &Checker<'_, '_>, fetch: Node<'_>) -> bool {
    let mut child = fetch;
    while let Some(parent) = child.parent() {
        match parent.kind() {
            "function_definition" | "lambda" | "class_definition" | "module" => return false,
            "try_statement" if parent.field(&field::BODY).is_some_and(|body| body.id() == child.id()) => {
                let mut cursor = parent.walk();
                let catches_runtime_error = parent.named_children(&mut cursor).any(|clause| {
                    clause.kind() == "except_clause"
                        && crate::rules::cancelled_error_swallowed::caught_types(clause).into_iter().any(|caught| {
                            checker.semantic.qualified_name(caught).as_deref() == Some("builtins.RuntimeError")
                        })
                });
                if catches_runtime_error {
                    return true;
                }
            }
            _ => {}
        }
        child = parent;
    }
    false
}

fn is_shutdown_step(checker: &Checker<'_, '_>, argument: Node<'_>) -> bool {
    argument
        .field(&field::FUNCTION)
        .filter(|callee| callee.kind() == "attribute")
        .and_then(|callee| callee.field(&field::ATTRIBUTE))
        .is_some_and(|name| SHUTDOWN_STEPS.contains(&checker.text(name)))
}

/// `loop = asyncio.new_event_loop()` directly followed by `[x = | return ]loop.run_until_complete(main())`.
fn fix(checker: &Checker<'_, '_>, call: &Call<'_>, receiver: Node<'_>, argument: Node<'_>) -> Option<Fix> {
    if receiver.kind() != "identifier" || argument.kind() != "call" || returns_future(checker, argument) {
        return None;
    }
    let mut cursor = call.arguments.walk();
    if call.arguments.named_children(&mut cursor).count() != 1 {
        return None;
    }
    let semantic = checker.semantic;
    if !semantic.name_resolves_to("asyncio", call.node.start_byte(), "asyncio") {
        return None;
    }
    let statement = statement_of(call.node)?;
    let previous = statement.prev_sibling()?;
    let creation = (previous.kind() == "expression_statement").then(|| previous.named_child(0)).flatten()?;
    let target = creation.field(&field::LEFT)?;
    let value = creation.field(&field::RIGHT)?;
    if creation.kind() != "assignment"
        || target.kind() != "identifier"
        || checker.text(target) != checker.text(receiver)
    {
        return None;
    }
    let callee = value.field(&field::FUNCTION).filter(|_| value.kind() == "call")?;
    if !matches!(semantic.qualified_name(callee).as_deref(), Some("asyncio.new_event_loop" | "asyncio.get_event_loop"))
    {
        return None;
    }
    // The loop variable must have no other use: the target and the receiver only.
    let scope = semantic.scope(semantic.scope_at(call.node.start_byte()));
    let body = scope.node.field(&field::BODY).unwrap_or(scope.node);
    if semantic.references_in(body, checker.text(receiver)).len() != 2 {
        return None;
    }
    let source = semantic.source();
    let lead = source.get(statement.start_byte()..call.node.start_byte())?;
    Some(Fix::unsafe_edit(
        "Replace with `asyncio.run(...)`",
        Edit::replacement(
            format!("{lead}asyncio.run({})", checker.text(argument)),
            TextRange::new(previous.start_byte(), call.node.end_byte()),
        ),
    ))
}

/// The simple statement that holds `call` as its whole value: `f()`, `x = f()`, `return f()`.
fn statement_of(call: Node<'_>) -> Option<Node<'_>> {
    let parent = call.parent()?;
    match parent.kind() {
        "expression_statement" | "return_statement" => Some(parent),
        "assignment" if parent.field(&field::RIGHT).is_some_and(|right| right.id() == call.id()) => {
            parent.parent().filter(|statement| statement.kind() == "expression_statement")
        }
        _ => None,
    }
}
