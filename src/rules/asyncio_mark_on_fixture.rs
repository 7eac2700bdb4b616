use tree_sitter::Node;

use crate::analysis::{Checker, Fix};
use crate::rules::Rule;
use crate::rules::pytest_support::{asyncio_marks, delete_decorator_line, is_fixture};

define_rule! {
    /// ## What it does
    /// Checks for `@pytest.mark.asyncio` on a fixture (`@pytest.fixture` or
    /// `@pytest_asyncio.fixture`).
    ///
    /// ## Why is this bad?
    /// Marks apply to tests, not fixtures: pytest ignores the mark here (and newer versions
    /// warn). An async fixture runs because of `@pytest_asyncio.fixture` or pytest-asyncio's
    /// auto mode, never because of the mark, so the mark only misleads the reader.
    ///
    /// ## Example
    /// ```python
    /// import pytest
    /// import pytest_asyncio
    ///
    /// @pytest.mark.asyncio
    /// @pytest_asyncio.fixture
    /// async def client():
    ///     async with make_client() as client:
    ///         yield client
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import pytest_asyncio
    ///
    /// @pytest_asyncio.fixture
    /// async def client():
    ///     async with make_client() as client:
    ///         yield client
    /// ```
    ///
    /// ## Fix safety
    /// The fix removes the decorator line; it is safe, since the mark has no effect on a
    /// fixture. It is offered only when the decorator stands alone on its line.
    ///
    /// ## Known problems
    /// Fixture decorators are recognised through the file's imports (`pytest.fixture`,
    /// `pytest_asyncio.fixture`); a re-exported fixture decorator of another module is not.
    ///
    /// ## References
    /// - [pytest: marks have no effect on fixtures](https://docs.pytest.org/en/stable/deprecations.html#applying-a-mark-to-a-fixture-function)
    code: "LW803",
    name: "asyncio-mark-on-fixture",
    summary: "`@pytest.mark.asyncio` on a fixture",
    severity: Warning,
    enabled: true,
    aliases: ["PT024"],
    peers: "ruff",
    fix: "remove the mark (safe)",
    only_in_async_functions: false,
    triggers: ["pytest"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, function: Node<'_>) {
    if !is_fixture(checker.semantic, function) {
        return;
    }
    for mark in asyncio_marks(checker.semantic, function) {
        let edit = delete_decorator_line(checker.semantic.source(), mark);
        let diagnostic = checker.report(
            Rule::AsyncioMarkOnFixture,
            mark,
            "`@pytest.mark.asyncio` has no effect on a fixture".to_string(),
        );
        diagnostic.fix = edit.map(|edit| Fix::safe_edit("Remove `@pytest.mark.asyncio`", edit));
    }
}
