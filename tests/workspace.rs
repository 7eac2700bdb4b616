//! The workspace index across files: `tests/workspace/shop` is a small package whose modules
//! import each other by every shape the index resolves (absolute, relative, package
//! re-exports, aliases). Markers as in the rule fixtures: a trailing `# LW201` comment marks a
//! line that must report; every other line stays quiet for the rules under test.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use loopwise::analysis::{LintSettings, WorkspaceView, lint_source_in_workspace};
use loopwise::rules::{Rule, RuleSet};
use loopwise::workspace::Workspace;

const RULES: [Rule; 3] = [Rule::UnawaitedCoroutine, Rule::MissingAsyncKeyword, Rule::BlockingHelperCall];

fn python_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap_or_else(|error| panic!("{}: {error}", folder.display())) {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            files.extend(python_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "py") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn marked(line: &str, rule: Rule) -> bool {
    line.rsplit_once('#').is_some_and(|(code, comment)| {
        !code.trim().is_empty() && comment.split([',', ' ']).any(|word| word == rule.code())
    })
}

#[test]
fn cross_module_calls_resolve_through_the_index() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workspace");
    let workspace = Workspace::default();
    let settings = LintSettings { rules: RULES.into_iter().collect::<RuleSet>(), ..LintSettings::default() };
    let mut failures = String::new();
    let mut marked_lines = 0;
    for path in python_files(&root) {
        let source = std::fs::read_to_string(&path).expect("UTF-8 fixture");
        let module = workspace.module_of(&path).expect("a module name");
        let view = WorkspaceView { modules: &workspace, module: &module.name, is_package: module.is_package };
        let diagnostics = lint_source_in_workspace(&source, Some(&path), &settings, Some(&view));
        let name = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
        for rule in RULES {
            let expected: BTreeSet<usize> =
                source.lines().enumerate().filter(|(_, line)| marked(line, rule)).map(|(index, _)| index + 1).collect();
            marked_lines += expected.len();
            let actual: BTreeSet<usize> = diagnostics
                .iter()
                .filter(|diagnostic| diagnostic.rule == rule)
                .map(|diagnostic| source[..diagnostic.range.start].matches('\n').count() + 1)
                .collect();
            for line in expected.difference(&actual) {
                let _ = writeln!(failures, "missing: {name}:{line}: expected {}", rule.code());
            }
            for line in actual.difference(&expected) {
                let _ = writeln!(failures, "noisy: {name}:{line}: unexpected {}", rule.code());
            }
        }
    }
    assert!(marked_lines >= 8, "the package fixture lost its markers");
    assert!(failures.is_empty(), "\n{failures}");
}

/// A module of the trio package that imports no async library (trio's own sources import each
/// other relatively) is trio code: fixes speak trio there, not asyncio.
#[test]
fn modules_of_the_trio_package_are_trio_code() {
    let workspace = Workspace::default();
    let settings =
        LintSettings { rules: [Rule::BlockingSleep].into_iter().collect::<RuleSet>(), ..LintSettings::default() };
    let source = "import time\n\nfrom .. import _core\n\n\nasync def f():\n    time.sleep(1)\n";
    let fix_of = |module: &str| {
        let view = WorkspaceView { modules: &workspace, module, is_package: false };
        let diagnostics = lint_source_in_workspace(source, None, &settings, Some(&view));
        let [diagnostic] = diagnostics.as_slice() else { panic!("one finding expected: {diagnostics:?}") };
        diagnostic.fix.as_ref().map(|fix| fix.title().to_string())
    };
    assert_eq!(fix_of("trio._core._run").as_deref(), Some("Replace with `await trio.sleep(...)`"));
    assert_eq!(fix_of("anyio._core._fileio").as_deref(), Some("Replace with `await anyio.sleep(...)`"));
    assert_eq!(fix_of("shop.orders").as_deref(), Some("Replace with `await asyncio.sleep(...)`"));
}

/// With the workspace index, the prefilter keeps every file that calls another module's
/// coroutine function (under any local name): every rule, with and without it, same findings.
#[test]
fn the_prefilter_keeps_cross_module_findings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workspace");
    let workspace = Workspace::default();
    let on = LintSettings { rules: RuleSet::all(), ..LintSettings::default() };
    let off = LintSettings { prefilter: false, ..on.clone() };
    let mut findings = 0;
    for path in python_files(&root) {
        let source = std::fs::read_to_string(&path).expect("UTF-8 fixture");
        let module = workspace.module_of(&path).expect("a module name");
        let view = WorkspaceView { modules: &workspace, module: &module.name, is_package: module.is_package };
        let unfiltered = lint_source_in_workspace(&source, Some(&path), &off, Some(&view));
        findings += unfiltered.iter().filter(|diagnostic| diagnostic.rule == Rule::UnawaitedCoroutine).count();
        assert_eq!(lint_source_in_workspace(&source, Some(&path), &on, Some(&view)), unfiltered, "{}", path.display());
    }
    assert!(findings > 0, "no cross-module finding to keep");
}
