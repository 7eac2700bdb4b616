use tree_sitter::Node;

use crate::analysis::Checker;
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `yield from` inside an `async def`.
    ///
    /// ## Why is this bad?
    /// It is a `SyntaxError`: an async generator cannot delegate to another generator with
    /// `yield from`. The module does not import.
    ///
    /// ## Example
    /// ```python
    /// async def stream(source):
    ///     yield from source
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def stream(source):
    ///     for item in source:
    ///         yield item
    /// ```
    ///
    /// Or, when `source` is an async iterable, `async for item in source: yield item`.
    ///
    /// ## Fix safety
    /// There is no fix: whether the source is a sync or an async iterable decides the loop.
    ///
    /// ## Known problems
    /// A `yield from` in a nested sync `def` or a lambda inside the `async def` is valid and
    /// not flagged.
    ///
    /// ## References
    /// - [PEP 525: Asynchronous Generators](https://peps.python.org/pep-0525/#asynchronous-yield-from)
    code: "LW206",
    name: "yield-from-in-async-function",
    summary: "`yield from` inside an `async def`",
    severity: Error,
    enabled: true,
    aliases: ["PLE1700"],
    peers: "ruff, pylint",
    fix: "none",
    only_in_async_functions: true,
    triggers: ["yield"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, node: Node<'_>) {
    if checker.semantic.in_async_function(node.start_byte()) {
        checker.report(Rule::YieldFromInAsyncFunction, node, "`yield from` in an async function".to_string());
    }
}
