use tree_sitter::Node;

use crate::analysis::async_library::AsyncLibrary;
use crate::analysis::semantic::ScopeKind;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, Edit, Fix};
use crate::rules::Rule;
use crate::rules::pytest_support::{RUNNER_MARKS, is_fixture, is_test_module};

define_rule! {
    /// ## What it does
    /// Checks for `async def test_*` functions in a test module (`test_*.py`, `*_test.py`)
    /// with no `pytest.mark.asyncio`, `pytest.mark.anyio` or `pytest.mark.trio` mark on the
    /// function, its class or the module's `pytestmark`, in a pytest project where nothing
    /// runs unmarked async tests.
    ///
    /// The project's pytest files are read the way pytest finds them (the nearest `pytest.ini`,
    /// `.pytest.ini`, pyproject.toml `[tool.pytest.ini_options]` or `[tool.pytest]`, tox.ini
    /// `[pytest]`, setup.cfg `[tool:pytest]`), and the rule stays quiet when any of these run
    /// unmarked async tests, or may: pytest-asyncio's `asyncio_mode = auto` (or
    /// `--asyncio-mode=auto` in `addopts`), pytest-trio's `trio_mode = true`, `anyio_mode =
    /// auto`, a plugin that runs them (`-p pytest_aio`, `pytest_plugins`, or pytest-aio /
    /// pytest-tornasync among the declared dependencies), or a `conftest.py` between the
    /// test and pytest's root folder that defines `pytest_pyfunc_call` or
    /// `pytest_pycollect_makeitem`, adds runner marks in `pytest_collection_modifyitems`,
    /// defines an `anyio_backend` fixture or an async fixture under a plain `@pytest.fixture`
    /// (which only such a runner can set up). `pytest_plugins` (and the plugin modules it
    /// names, read in turn) naming a plugin loopwise does not know counts as "may"; so does
    /// pytest-jupyter, which brings pytest-tornasync. In the test module itself, a test that
    /// requests `anyio_backend` is run by anyio, and a module defining a plain async fixture
    /// or `pytest_plugins` is left alone. A test module that never imports pytest, with no pytest configuration or
    /// `conftest.py` around it, is run by something else (unittest, a script) and is not
    /// checked. `loopwise check --show-settings FILE` says which of these applies.
    ///
    /// ## Why is this bad?
    /// Without a runner, pytest calls the test, gets a coroutine object and never awaits it:
    /// the body does not run and the test is skipped with a warning, or even passes, so the
    /// suite reports success for code it never exercised.
    ///
    /// ## Example
    /// ```python
    /// async def test_fetch():
    ///     assert await fetch() == 1
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import pytest
    ///
    /// @pytest.mark.asyncio
    /// async def test_fetch():
    ///     assert await fetch() == 1
    /// ```
    ///
    /// ## Fix safety
    /// The fix adds `@pytest.mark.asyncio` above the function (and `import pytest` after the
    /// module docstring and `__future__` imports when the file does not import it); it is safe.
    /// There is no fix when the name `pytest` is bound to something else.
    ///
    /// ## Known problems
    /// A mode given only on the command line (in a CI script or a Makefile) is not seen. The
    /// `conftest.py` files are read as text, never imported: a hook defined under another name
    /// and assigned, or a mark added through a helper, is not recognised. Test classes with base
    /// classes (such as `unittest.IsolatedAsyncioTestCase`, which runs its own loop) are
    /// skipped.
    ///
    /// ## References
    /// - [pytest-asyncio: modes](https://pytest-asyncio.readthedocs.io/en/latest/concepts.html#test-discovery-modes)
    code: "LW801",
    name: "async-test-without-runner",
    summary: "`async def test_*` with no asyncio/anyio/trio mark in a pytest project where nothing runs unmarked async tests",
    severity: Warning,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "add `@pytest.mark.asyncio` (safe; adds `import pytest`)",
    only_in_async_functions: false,
    triggers: ["async"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, function: Node<'_>) {
    let runners = checker.settings.test_runners;
    if runners.runs_unmarked || !checker.path.is_some_and(is_test_module) {
        return;
    }
    // A test module that never imports pytest, with no pytest configuration around it, is run
    // by another runner (unittest, a custom script): pytest's marks mean nothing there.
    if !runners.pytest_configured && !imports_pytest(checker) {
        return;
    }
    let Some(name) = function.field(&field::NAME) else { return };
    if function.child(0).is_none_or(|first| first.kind() != "async")
        || !checker.text(name).starts_with("test_")
        || is_fixture(checker.semantic, function)
        || has_runner_mark(checker, function)
        || takes_anyio_backend(checker, function)
        || has_wrapping_decorator(checker, function)
        || module_needs_a_runner_elsewhere(checker)
        || is_trio_or_anyio_module(checker)
    {
        return;
    }
    let semantic = checker.semantic;
    let scope = semantic.scope(semantic.scope_at(function.start_byte()));
    match scope.kind {
        ScopeKind::Module => {}
        ScopeKind::Class => {
            let class = scope.node;
            let is_test_class = class.field(&field::NAME).is_some_and(|name| checker.text(name).starts_with("Test"));
            if !is_test_class
                || class.field(&field::SUPERCLASSES).is_some_and(|bases| bases.named_child_count() > 0)
                || has_runner_mark(checker, class)
                || module_level_scope(checker, class).is_none()
            {
                return;
            }
        }
        _ => return,
    }
    if pytestmark_has_runner(checker, checker.semantic.scope(0).node) {
        return;
    }
    let fix = mark_fix(checker, function);
    let diagnostic = checker.report(
        Rule::AsyncTestWithoutRunner,
        name,
        format!("Async test `{}` has no `pytest.mark.asyncio` mark, so it never runs", checker.text(name)),
    );
    diagnostic.fix = fix;
}

/// Any form of `import pytest`, `from pytest import ...`, `import pytest_asyncio`, wherever
/// it sits (imports in `try`/`if` blocks count).
fn imports_pytest(checker: &Checker<'_, '_>) -> bool {
    checker.semantic.source().lines().any(|line| {
        let line = line.trim_start();
        (line.starts_with("import ") || line.starts_with("from "))
            && line
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == "pytest" || word == "pytest_asyncio")
    })
}

/// A decorator that is not pytest's (a project's `@async_test`, `@run_in_loop`) may turn the
/// coroutine function into a function that runs it: loopwise cannot tell, so it stays quiet.
fn has_wrapping_decorator(checker: &Checker<'_, '_>, function: Node<'_>) -> bool {
    checker.semantic.decorators(function).iter().any(|(_, qualified)| {
        !qualified.as_deref().is_some_and(|name| name.starts_with("pytest.") || name.starts_with("pytest_asyncio."))
    })
}

/// A module that imports trio or anyio and not asyncio tests trio or anyio code: its runner is
/// pytest-trio or anyio's plugin (often configured outside the files loopwise sees, such as
/// `trio_mode` in a CI command line), and `pytest.mark.asyncio` would be the wrong fix.
fn is_trio_or_anyio_module(checker: &Checker<'_, '_>) -> bool {
    checker.async_library() != AsyncLibrary::Asyncio
}

/// anyio's plugin runs every test that requests its `anyio_backend` fixture.
fn takes_anyio_backend(checker: &Checker<'_, '_>, function: Node<'_>) -> bool {
    let Some(parameters) = function.field(&field::PARAMETERS) else { return false };
    let mut cursor = parameters.walk();
    parameters.named_children(&mut cursor).any(|parameter| {
        let name = match parameter.kind() {
            "identifier" => Some(parameter),
            _ => parameter.field(&field::NAME).or_else(|| parameter.named_child(0)),
        };
        name.is_some_and(|name| checker.text(name) == "anyio_backend")
    })
}

/// The module itself shows that a runner taking unmarked async code is configured elsewhere:
/// it defines a plain `@pytest.fixture` on an `async def` (which only such a runner can set
/// up), an `anyio_backend` fixture, or `pytest_plugins`.
fn module_needs_a_runner_elsewhere(checker: &Checker<'_, '_>) -> bool {
    let semantic = checker.semantic;
    let module = semantic.scope(0).node;
    let mut cursor = module.walk();
    let statements: Vec<Node<'_>> = module.named_children(&mut cursor).collect();
    statements.into_iter().any(|statement| {
        let definition = match statement.kind() {
            "decorated_definition" => statement.field(&field::DEFINITION),
            "expression_statement" => {
                return statement.named_child(0).is_some_and(|assignment| {
                    assignment.kind() == "assignment"
                        && assignment.field(&field::LEFT).is_some_and(|left| checker.text(left) == "pytest_plugins")
                });
            }
            _ => None,
        };
        let Some(definition) = definition.filter(|definition| definition.kind() == "function_definition") else {
            return false;
        };
        let decorators = semantic.decorators(definition);
        let plain_fixture = decorators.iter().any(|(_, name)| name.as_deref() == Some("pytest.fixture"));
        let is_async = definition.child(0).is_some_and(|first| first.kind() == "async");
        let name = definition.field(&field::NAME).map(|name| checker.text(name));
        plain_fixture && (is_async || name == Some("anyio_backend"))
    })
}

/// The class is defined at module level (pytest does not collect nested classes' parents).
fn module_level_scope(checker: &Checker<'_, '_>, class: Node<'_>) -> Option<()> {
    let scope = checker.semantic.scope(checker.semantic.scope_at(class.start_byte()));
    (scope.kind == ScopeKind::Module).then_some(())
}

/// A runner mark among the decorators of a function or class, or in a class's `pytestmark`.
fn has_runner_mark(checker: &Checker<'_, '_>, definition: Node<'_>) -> bool {
    let decorated = checker
        .semantic
        .decorators(definition)
        .iter()
        .any(|(_, qualified)| qualified.as_deref().is_some_and(|name| RUNNER_MARKS.contains(&name)));
    decorated
        || (definition.kind() == "class_definition"
            && definition.field(&field::BODY).is_some_and(|body| pytestmark_has_runner(checker, body)))
}

/// `pytestmark = <mark>` or `pytestmark = [<mark>, ...]` among the statements of a module or
/// class body, with a runner mark.
fn pytestmark_has_runner(checker: &Checker<'_, '_>, body: Node<'_>) -> bool {
    let mut cursor = body.walk();
    let statements: Vec<Node<'_>> = body.named_children(&mut cursor).collect();
    statements
        .into_iter()
        .filter(|statement| statement.kind() == "expression_statement")
        .filter_map(|statement| statement.named_child(0))
        .filter(|assignment| assignment.kind() == "assignment")
        .filter(|assignment| assignment.field(&field::LEFT).is_some_and(|left| checker.text(left) == "pytestmark"))
        .filter_map(|assignment| assignment.field(&field::RIGHT))
        .any(|value| {
            let marks: Vec<Node<'_>> = if matches!(value.kind(), "list" | "tuple") {
                let mut cursor = value.walk();
                value.named_children(&mut cursor).collect()
            } else {
                vec![value]
            };
            marks.into_iter().any(|mark| {
                let mark = if mark.kind() == "call" { mark.field(&field::FUNCTION).unwrap_or(mark) } else { mark };
                checker.semantic.qualified_name(mark).is_some_and(|name| RUNNER_MARKS.contains(&name.as_str()))
            })
        })
}

/// `@pytest.mark.asyncio` above the function, plus `import pytest` when the file lacks it.
fn mark_fix(checker: &Checker<'_, '_>, function: Node<'_>) -> Option<Fix> {
    let source = checker.semantic.source();
    let definition = function.parent().filter(|parent| parent.kind() == "decorated_definition").unwrap_or(function);
    let line_start = source[..definition.start_byte()].rfind('\n').map_or(0, |index| index + 1);
    let indent = &source[line_start..definition.start_byte()];
    if !indent.trim().is_empty() {
        return None;
    }
    let mark = Edit::insertion(format!("@pytest.mark.asyncio\n{indent}"), definition.start_byte());
    let pytest = checker.semantic.qualified_name_of_name("pytest", definition.start_byte());
    match pytest.as_deref() {
        Some("pytest") => Some(Fix::safe_edit("Add `@pytest.mark.asyncio`", mark)),
        Some("builtins.pytest") => {
            let import = Edit::insertion("import pytest\n", import_position(checker)?);
            Some(Fix::safe_edits("Add `@pytest.mark.asyncio`", mark, vec![import]))
        }
        _ => None,
    }
}

/// The start of the first module statement after the docstring and `from __future__`
/// imports: where a new import goes.
fn import_position(checker: &Checker<'_, '_>) -> Option<usize> {
    let module = checker.semantic.scope(0).node;
    let mut cursor = module.walk();
    let statements: Vec<Node<'_>> =
        module.named_children(&mut cursor).filter(|node| node.kind() != "comment").collect();
    let mut position = statements.first()?.start_byte();
    for (index, statement) in statements.iter().enumerate() {
        let is_docstring = index == 0
            && statement.kind() == "expression_statement"
            && statement.named_child(0).is_some_and(|value| value.kind() == "string");
        if !(is_docstring || statement.kind() == "future_import_statement") {
            position = statement.start_byte();
            break;
        }
        position = statements.get(index + 1).map_or(statement.end_byte(), Node::start_byte);
    }
    Some(position)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::analysis::settings::TestRunners;
    use crate::analysis::{LintSettings, lint_source};
    use crate::rules::{Rule, RuleSet};

    fn fixed(source: &str, settings: &LintSettings) -> Option<String> {
        let diagnostics = lint_source(source, Some(Path::new("tests/test_api.py")), settings);
        let fix = diagnostics.first()?.fix.as_ref()?;
        let fixed = fix.apply_to(source);
        Some(fixed)
    }

    #[test]
    fn fix_adds_the_mark_and_the_import_after_docstring_and_future_imports() {
        let settings = LintSettings {
            rules: [Rule::AsyncTestWithoutRunner].into_iter().collect::<RuleSet>(),
            test_runners: TestRunners { pytest_configured: true, runs_unmarked: false },
            ..LintSettings::default()
        };
        let source = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport os\n\n\nclass TestApi:\n    async def test_get(self):\n        pass\n";
        let expected = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport pytest\nimport os\n\n\nclass TestApi:\n    @pytest.mark.asyncio\n    async def test_get(self):\n        pass\n";
        assert_eq!(fixed(source, &settings).as_deref(), Some(expected));
        let source = "import pytest\n\n@pytest.mark.slow\nasync def test_get():\n    pass\n";
        let expected = "import pytest\n\n@pytest.mark.asyncio\n@pytest.mark.slow\nasync def test_get():\n    pass\n";
        assert_eq!(fixed(source, &settings).as_deref(), Some(expected));
    }

    #[test]
    fn auto_mode_and_other_file_names_are_quiet() {
        let rules = [Rule::AsyncTestWithoutRunner].into_iter().collect::<RuleSet>();
        let source = "async def test_get():\n    pass\n";
        let auto = LintSettings {
            rules,
            test_runners: TestRunners { pytest_configured: true, runs_unmarked: true },
            ..LintSettings::default()
        };
        assert!(lint_source(source, Some(Path::new("test_api.py")), &auto).is_empty());
        let strict = LintSettings {
            rules,
            test_runners: TestRunners { pytest_configured: true, runs_unmarked: false },
            ..LintSettings::default()
        };
        assert_eq!(lint_source(source, Some(Path::new("api_test.py")), &strict).len(), 1);
        assert!(lint_source(source, Some(Path::new("api.py")), &strict).is_empty());
        assert!(lint_source(source, None, &strict).is_empty());
        // Without pytest configuration and without `import pytest`: not a pytest test.
        let unconfigured = LintSettings { rules, ..LintSettings::default() };
        assert!(lint_source(source, Some(Path::new("test_api.py")), &unconfigured).is_empty());
        let imported = "import pytest\n\nasync def test_get():\n    pass\n";
        assert_eq!(lint_source(imported, Some(Path::new("test_api.py")), &unconfigured).len(), 1);
    }
}
