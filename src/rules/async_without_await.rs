use tree_sitter::Node;

use crate::analysis::Checker;
use crate::analysis::semantic::ScopeKind;
use crate::analysis::source::{NodeFields, field};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `async def` functions whose own body never awaits: no `await`, `async for`
    /// or `async with` (those of nested functions do not count). Methods, decorated
    /// functions, functions passed on as callbacks, async generators and stubs (`...`, `pass`,
    /// a docstring, `raise NotImplementedError`) are not flagged.
    ///
    /// ## Why is this bad?
    /// A coroutine that never suspends gives nothing to the event loop: every caller must
    /// await it for no benefit, and it often means an `await` was forgotten (a call to another
    /// coroutine that is never awaited) or a blocking call is hiding inside.
    ///
    /// ## Example
    /// ```python
    /// async def total(items):
    ///     return sum(item.price for item in items)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def total(items):
    ///     return sum(item.price for item in items)
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: every caller would have to stop awaiting the function.
    ///
    /// ## Known problems
    /// Off by default: frameworks require coroutine functions by interface (entry points looked
    /// up by name, callbacks, handlers) even when they do not await, and the file cannot show
    /// it. On Home Assistant 2024.3 nearly all of 2,597 findings are such hooks
    /// (`async_setup_entry`, `async_setup`, `async_get_config_entry_diagnostics`, ...), and a
    /// nested `async def` returned as a handler (aiohttp) is one too. Methods and decorated
    /// functions are skipped for the same reason, and so is a function the file hands on as a
    /// value rather than only calling it: passed as an argument (`add_handler(on_message)`,
    /// `Depends(get_user)`, `run_in_executor`-style registries), assigned (`app.on_startup =
    /// start`), returned or put in a collection, since whoever calls it then may require a
    /// coroutine function (callbacks awaited by a framework, `inspect.iscoroutinefunction`
    /// checks). Plain and nested functions that are only called are flagged. Async
    /// generators without `await` are not flagged: they implement the async-iterator protocol,
    /// which a plain generator cannot replace.
    ///
    /// ## References
    /// - [Python docs: Coroutine function definition](https://docs.python.org/3/reference/compound_stmts.html#async-def)
    code: "LW205",
    name: "async-without-await",
    summary: "an `async def` that never awaits",
    severity: Hint,
    enabled: false,
    aliases: ["RUF029", "ASYNC124"],
    peers: "ruff (preview), flake8-async",
    fix: "none",
    only_in_async_functions: false,
    triggers: ["async"],
}

/// Runs after the shared pass, which recorded the functions that await.
pub(crate) fn check(checker: &mut Checker<'_, '_>) {
    let semantic = checker.semantic;
    let mut functions: Vec<_> = semantic.async_functions().collect();
    functions.sort_unstable();
    for id in functions {
        let scope = semantic.scope(id);
        if checker.awaiting_functions.contains(&id) || !checker.is_analysed(scope.node.start_byte()) {
            continue;
        }
        let is_method = scope.parent.is_some_and(|parent| semantic.scope(parent).kind == ScopeKind::Class);
        let is_decorated = scope.node.parent().is_some_and(|parent| parent.kind() == "decorated_definition");
        if is_method
            || is_decorated
            || is_stub(checker, scope.node)
            || semantic.is_generator_function(scope.node)
            || semantic.is_used_as_value(scope.node)
        {
            continue;
        }
        let Some(name) = scope.node.field(&field::NAME) else { continue };
        let message = format!("Async function `{}` has no `await`, `async for` or `async with`", checker.text(name));
        checker.report(Rule::AsyncWithoutAwait, name, message);
    }
}

/// A body of only `...`, `pass`, a docstring and `raise NotImplementedError`.
fn is_stub(checker: &Checker<'_, '_>, function: Node<'_>) -> bool {
    let Some(body) = function.field(&field::BODY) else { return false };
    let mut cursor = body.walk();
    let statements: Vec<Node<'_>> = body.named_children(&mut cursor).filter(|node| node.kind() != "comment").collect();
    statements.iter().all(|statement| match statement.kind() {
        "pass_statement" => true,
        "expression_statement" => statement
            .named_child(0)
            .is_some_and(|value| matches!(value.kind(), "ellipsis" | "string" | "concatenated_string")),
        "raise_statement" => {
            let raised = checker.text(*statement).trim_start_matches("raise").trim();
            raised.starts_with("NotImplementedError")
        }
        _ => false,
    })
}
