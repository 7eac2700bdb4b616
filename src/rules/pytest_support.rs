//! What the pytest rules (LW801–LW803, LW909) share: which decorators are marks and fixtures,
//! what a test module is, and the edits that add or remove a decorator line. Not a rule.

use std::path::Path;

use tree_sitter::Node;

use crate::analysis::semantic::SemanticModel;
use crate::analysis::{Edit, TextRange};

pub(crate) const ASYNCIO_MARK: &str = "pytest.mark.asyncio";

/// Marks that make a runner plugin run an `async def` test.
pub(crate) const RUNNER_MARKS: &[&str] = &[ASYNCIO_MARK, "pytest.mark.anyio", "pytest.mark.trio"];

pub(crate) fn is_fixture_decorator(qualified: &str) -> bool {
    matches!(qualified, "pytest.fixture" | "pytest_asyncio.fixture")
}

/// The expressions of the decorators of `function` that are `@pytest.mark.asyncio` (called or
/// not). The expression, not the `decorator` node, which also holds a trailing comment.
pub(crate) fn asyncio_marks<'n>(semantic: &SemanticModel<'_>, function: Node<'n>) -> Vec<Node<'n>> {
    semantic
        .decorators(function)
        .into_iter()
        .filter(|(_, qualified)| qualified.as_deref() == Some(ASYNCIO_MARK))
        .filter_map(|(decorator, _)| decorator.named_child(0))
        .collect()
}

pub(crate) fn is_fixture(semantic: &SemanticModel<'_>, function: Node<'_>) -> bool {
    semantic.decorators(function).iter().any(|(_, qualified)| qualified.as_deref().is_some_and(is_fixture_decorator))
}

/// `test_*.py` and `*_test.py`, the file names pytest collects by default.
pub(crate) fn is_test_module(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else { return false };
    let Some(stem) = name.strip_suffix(".py") else { return false };
    stem.starts_with("test_") || stem.ends_with("_test")
}

/// Test code: a test module or a `conftest.py` (its fixtures and fakes). Helpers elsewhere
/// under `tests/` are not told apart from the project's code.
pub(crate) fn is_test_code(path: &Path) -> bool {
    is_test_module(path) || path.file_name().is_some_and(|name| name == "conftest.py")
}

/// Deletes the whole line of a decorator (given by its expression) that stands alone on its
/// line: indentation, `@`, the expression, an optional comment, the line break. `None` when
/// something else shares the line.
pub(crate) fn delete_decorator_line(source: &str, expression: Node<'_>) -> Option<Edit> {
    let line_start = source[..expression.start_byte()].rfind('\n').map_or(0, |index| index + 1);
    if source[line_start..expression.start_byte()].trim() != "@" {
        return None;
    }
    let rest = &source[expression.end_byte()..];
    let line_end = rest.find('\n').map(|index| expression.end_byte() + index + 1)?;
    let after = source[expression.end_byte()..line_end].trim();
    if !(after.is_empty() || after.starts_with('#')) {
        return None;
    }
    Some(Edit::deletion(TextRange::new(line_start, line_end)))
}
