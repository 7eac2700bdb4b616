use tree_sitter::Node;

use crate::analysis::{Checker, Fix};
use crate::rules::Rule;
use crate::rules::pytest_support::{asyncio_marks, delete_decorator_line, is_fixture};

define_rule! {
    /// ## What it does
    /// Checks for `@pytest.mark.asyncio` on a test function that is a plain `def`.
    ///
    /// ## Why is this bad?
    /// The mark tells pytest-asyncio to run a coroutine on an event loop. A sync test is not a
    /// coroutine: the mark does nothing (recent pytest-asyncio versions warn or fail), and it
    /// suggests the test exercises async code when it does not.
    ///
    /// ## Example
    /// ```python
    /// import pytest
    ///
    /// @pytest.mark.asyncio
    /// def test_parse():
    ///     assert parse("1") == 1
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def test_parse():
    ///     assert parse("1") == 1
    /// ```
    ///
    /// ## Fix safety
    /// The fix removes the decorator line; it is safe, since the mark has no effect on a sync
    /// test. It is offered only when the decorator stands alone on its line.
    ///
    /// ## Known problems
    /// Fixtures carrying the mark are LW803's. Marks applied through `pytestmark` are not
    /// flagged: they apply to the async tests of the module or class too.
    ///
    /// ## References
    /// - [pytest-asyncio: markers](https://pytest-asyncio.readthedocs.io/en/latest/reference/markers/index.html)
    code: "LW802",
    name: "asyncio-mark-on-sync-test",
    summary: "`@pytest.mark.asyncio` on a test that is not `async def`",
    severity: Info,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "remove the mark (safe)",
    only_in_async_functions: false,
    triggers: ["pytest"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, function: Node<'_>) {
    if function.child(0).is_some_and(|first| first.kind() == "async") || is_fixture(checker.semantic, function) {
        return;
    }
    for mark in asyncio_marks(checker.semantic, function) {
        let edit = delete_decorator_line(checker.semantic.source(), mark);
        let diagnostic = checker.report(
            Rule::AsyncioMarkOnSyncTest,
            mark,
            "`@pytest.mark.asyncio` on a test that is not `async def`".to_string(),
        );
        diagnostic.fix = edit.map(|edit| Fix::safe_edit("Remove `@pytest.mark.asyncio`", edit));
    }
}
