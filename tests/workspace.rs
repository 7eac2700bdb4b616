//! The workspace index across files: `tests/workspace/shop` is a small package whose modules
//! import each other by every shape the index resolves (absolute, relative, package
//! re-exports, aliases). Markers as in the rule fixtures: a trailing `# LW201` comment marks a
//! line that must report; every other line stays quiet for the rules under test.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use loopwise::analysis::{
    LintSettings, ModuleRequest, WorkspaceView, helper_facts, lint_source_for_importers, lint_source_in_workspace,
};
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

/// The command line takes a module's helper facts (LW109) from the module's own check, not
/// from a second parse: those facts must be the ones a reading of the file for them alone
/// gives, whatever rules the check runs, on the fixtures, the package and real code.
#[test]
fn a_checks_own_helper_facts_are_those_a_reading_for_them_gives() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files = python_files(&tests.join("fixtures"));
    files.extend(python_files(&tests.join("workspace")));
    files.extend(python_files(&tests.join("real_code")));
    let workspace = Workspace::default();
    let all = LintSettings { rules: RuleSet::all(), ..LintSettings::default() };
    let few = LintSettings { rules: [Rule::BlockingHelperCall].into_iter().collect::<RuleSet>(), ..all.clone() };
    let mut with_facts = 0;
    for path in &files {
        let source = std::fs::read_to_string(path).expect("UTF-8 fixture");
        let (module, is_package) = ("pkg.mod", false);
        let alone = helper_facts(&source, module, is_package);
        with_facts += usize::from(!alone.functions.is_empty());
        for (settings, always) in [(&all, false), (&few, true), (&LintSettings::default(), true)] {
            let view = WorkspaceView { modules: &workspace, module, is_package };
            let request = ModuleRequest { module: (module, is_package), always, facts: true };
            let (_, outputs) = lint_source_for_importers(&source, Some(path), settings, Some(&view), request);
            if always || outputs.facts.is_some() {
                assert_eq!(outputs.facts.as_ref(), Some(&alone), "{}", path.display());
            }
        }
    }
    assert!(with_facts >= 5, "only {with_facts} files with facts: the comparison compares nothing");
}

/// On the command line, LW109 finds the package's marked lines and names each step's place in
/// another module whichever check ran first (one thread or two): the facts a module's own
/// check gives its importers are theirs.
#[test]
fn the_command_line_finds_the_helper_chains_across_modules() {
    // A copy: in the repository, its pyproject.toml would make the modules `tests.workspace.…`.
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/workspace");
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    let mut expected = BTreeSet::new();
    for path in python_files(&fixture) {
        let source = std::fs::read_to_string(&path).expect("UTF-8 fixture");
        let relative = path.strip_prefix(&fixture).expect("below the fixture");
        let copy = root.join(relative);
        std::fs::create_dir_all(copy.parent().expect("a folder")).expect("folders");
        std::fs::write(&copy, &source).expect("copy");
        let name = relative.display().to_string();
        for (index, line) in source.lines().enumerate() {
            if marked(line, Rule::BlockingHelperCall) {
                expected.insert(format!("{name}:{}", index + 1));
            }
        }
    }
    assert!(expected.len() >= 4, "the package fixture lost its LW109 markers");
    let mut messages = Vec::new();
    for threads in ["1", "2"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_loopwise"))
            .args(["check", "--no-cache", "--select", "LW109", "--output-format", "concise", "."])
            .current_dir(root)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .expect("loopwise runs");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let found: BTreeSet<String> = stdout
            .lines()
            .filter(|line| line.contains(": LW109"))
            .filter_map(|line| {
                let mut parts = line.splitn(3, ':');
                Some(format!("{}:{}", parts.next()?, parts.next()?))
            })
            .collect();
        assert_eq!(found, expected, "{threads} thread(s):\n{stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("(shop/helpers/config.py:"), "a step in another module names its place:\n{stdout}");
        messages.push(stdout);
    }
    assert_eq!(messages[0], messages[1], "the findings depend on which check ran first");
}
