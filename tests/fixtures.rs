//! Rule fixtures: `tests/fixtures/lwNNN_*.py`, and the `.py` files of a folder
//! `tests/fixtures/lwNNN_*/` (for rules that depend on the file's name, such as test modules:
//! the folder names the rule, and the folder as a whole needs a marker). A trailing `# LWNNN` comment marks a line where
//! that rule must report; every other line must stay quiet for it. Lines starting with
//! `# settings: ` hold configuration (TOML keys of loopwise.toml) for that fixture. A failure lists `missing`
//! and `noisy` lines with the file and line number. Each fixture also has an insta snapshot of
//! its findings (range, message, fix).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use loopwise::analysis::{Fix, LintSettings, lint_source};
use loopwise::config::{Options, ProjectFacts, lint_settings};
use loopwise::rules::{Rule, RuleSet};

fn python_files(folder: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| entry.expect("readable fixture entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "py"))
        .collect()
}

fn fixture_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The fixture files: `tests/fixtures/*.py` and `tests/fixtures/lwNNN_*/*.py`.
fn fixtures() -> Vec<PathBuf> {
    let folder = fixture_folder();
    let mut files = python_files(&folder);
    for entry in std::fs::read_dir(&folder).unwrap_or_else(|error| panic!("{}: {error}", folder.display())) {
        let path = entry.expect("readable fixture entry").path();
        if path.is_dir() && path.file_name().is_some_and(|name| name.to_string_lossy().starts_with("lw")) {
            files.extend(python_files(&path));
        }
    }
    files.sort();
    files
}

/// The `lwNNN_*` folder holding a fixture, if it is not a top-level file.
fn fixture_subfolder(path: &Path) -> Option<String> {
    let parent = path.parent()?;
    (parent != fixture_folder()).then(|| parent.file_name().map(|name| name.to_string_lossy().into_owned())).flatten()
}

/// `lw101_blocking_sleep.py` -> LW101; `lw801_async_test_without_runner/test_x.py` -> LW801.
fn rule_of(path: &Path) -> Rule {
    let stem = fixture_subfolder(path)
        .unwrap_or_else(|| path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default().to_string());
    let code = stem.split('_').next().unwrap_or_default().to_ascii_uppercase();
    Rule::from_code(&code)
        .unwrap_or_else(|| panic!("{}: the file name does not start with a rule code", path.display()))
}

/// Settings for a fixture: its `# settings: KEY = VALUE` header lines (configuration-file TOML,
/// read by the real configuration code), with only the fixture's own rule selected; a folder
/// fixture also gets the test runners its pytest files and conftest.py declare.
fn settings_for(path: &Path, source: &str, rule: Rule) -> LintSettings {
    let toml = source.lines().filter_map(|line| line.strip_prefix("# settings: ")).collect::<Vec<_>>().join("\n");
    let options = Options::from_file(Path::new("loopwise.toml"), &toml)
        .unwrap_or_else(|error| panic!("{}: bad `# settings:` header: {error}", path.display()))
        .unwrap_or_default();
    let mut settings = LintSettings { rules: [rule].into_iter().collect::<RuleSet>(), ..lint_settings(&options) };
    // A folder fixture is a small project: what its pytest files say counts, read by the real
    // configuration code.
    if fixture_subfolder(path).is_some()
        && let Some(folder) = path.parent()
    {
        settings.test_runners = ProjectFacts::default().pytest(folder).runners();
    }
    settings
}

/// The 1-based lines carrying a trailing `# CODE` marker for `rule`: a comment after code
/// whose only words are codes (so prose mentioning a code is not a marker).
fn expected_lines(source: &str, rule: Rule) -> BTreeSet<usize> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let Some((code, comment)) = line.rsplit_once('#') else { return false };
            let words: Vec<&str> = comment.split([',', ' ']).filter(|word| !word.is_empty()).collect();
            !code.trim().is_empty() && words.iter().all(|word| word.starts_with("LW")) && words.contains(&rule.code())
        })
        .map(|(index, _)| index + 1)
        .collect()
}

fn line_of(source: &str, offset: usize) -> usize {
    source[..offset].matches('\n').count() + 1
}

#[test]
fn every_rule_has_a_fixture() {
    let covered: Vec<Rule> = fixtures().iter().map(|path| rule_of(path)).collect();
    for rule in Rule::ALL {
        assert!(covered.contains(rule), "no fixture for {} ({})", rule.code(), rule.name());
    }
}

#[test]
fn fixtures_report_exactly_the_marked_lines() {
    let mut failures = String::new();
    let mut folders_with_markers: BTreeSet<String> = BTreeSet::new();
    let mut folders: BTreeSet<String> = BTreeSet::new();
    for path in fixtures() {
        let rule = rule_of(&path);
        let source = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let expected = expected_lines(&source, rule);
        if let Some(folder) = fixture_subfolder(&path) {
            if !expected.is_empty() {
                folders_with_markers.insert(folder.clone());
            }
            folders.insert(folder);
        } else {
            assert!(!expected.is_empty(), "{}: no `# {}` marker", path.display(), rule.code());
        }
        let diagnostics = lint_source(&source, Some(&path), &settings_for(&path, &source, rule));
        let actual: BTreeSet<usize> =
            diagnostics.iter().map(|diagnostic| line_of(&source, diagnostic.range.start)).collect();
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        for line in expected.difference(&actual) {
            let _ = writeln!(failures, "missing: {name}:{line}: expected {} here", rule.code());
        }
        for line in actual.difference(&expected) {
            let message =
                diagnostics.iter().find(|d| line_of(&source, d.range.start) == *line).map(|d| d.message.as_str());
            let _ =
                writeln!(failures, "noisy: {name}:{line}: unexpected {}: {}", rule.code(), message.unwrap_or_default());
        }
    }
    for folder in folders.difference(&folders_with_markers) {
        let _ = writeln!(failures, "missing: {folder}/: no file has a marker");
    }
    assert!(failures.is_empty(), "\n{failures}");
}

#[test]
fn fixture_snapshots() {
    for path in fixtures() {
        let rule = rule_of(&path);
        let source = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let mut report = String::new();
        for diagnostic in lint_source(&source, Some(&path), &settings_for(&path, &source, rule)) {
            let start = line_of(&source, diagnostic.range.start);
            let text = &source[diagnostic.range.start..diagnostic.range.end];
            let _ = writeln!(
                report,
                "{}:{start} {} `{}`\n    {}",
                rule.code(),
                diagnostic.severity.as_str(),
                text,
                diagnostic.message
            );
            for (fix, kind) in diagnostic
                .fix
                .iter()
                .map(|fix| (fix, "fix"))
                .chain(diagnostic.alternatives.iter().map(|fix| (fix, "alternative")))
            {
                let _ = writeln!(report, "    {kind} ({}): {}", fix.applicability().as_str(), fix.title());
                report.push_str(&fix_diff(&source, fix));
            }
        }
        let stem = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
        let name = match fixture_subfolder(&path) {
            Some(folder) => format!("{folder}__{stem}"),
            None => stem,
        };
        insta::assert_snapshot!(name, report);
    }
}

/// The lines a fix changes, as a unified diff with one line of context, indented under it.
fn fix_diff(source: &str, fix: &Fix) -> String {
    let fixed = fix.apply_to(source);
    let diff = similar::TextDiff::from_lines(source, &fixed);
    let mut text = String::new();
    for hunk in diff.unified_diff().context_radius(1).iter_hunks() {
        for line in hunk.to_string().lines() {
            let _ = writeln!(text, "      {line}");
        }
    }
    text
}

/// Every fix of every fixture, applied alone, leaves code that parses, and its finding is gone.
#[test]
fn fixes_parse_and_silence_their_finding() {
    let mut failures = String::new();
    for path in fixtures() {
        let rule = rule_of(&path);
        let source = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let settings = settings_for(&path, &source, rule);
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        for diagnostic in lint_source(&source, Some(&path), &settings) {
            for fix in diagnostic.fix.iter().chain(&diagnostic.alternatives) {
                let fixed = fix.apply_to(&source);
                let line = line_of(&source, diagnostic.range.start);
                if loopwise::analysis::source::parse(&fixed).root_node().has_error() {
                    let _ = writeln!(failures, "{name}:{line}: `{}` leaves code that does not parse", fix.title());
                }
                let still = lint_source(&fixed, Some(&path), &settings)
                    .iter()
                    .any(|after| line_of(&fixed, after.range.start) == line && after.message == diagnostic.message);
                if still {
                    let _ = writeln!(failures, "{name}:{line}: `{}` does not silence the finding", fix.title());
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{failures}");
}

/// The fixture with every four-space indentation step written as a tab, and CRLF line breaks.
fn with_tabs_and_crlf(source: &str) -> String {
    let mut text = String::new();
    for line in source.lines() {
        let trimmed = line.trim_start_matches(' ');
        let spaces = line.len() - trimmed.len();
        text.push_str(&"\t".repeat(spaces / 4));
        text.push_str(&" ".repeat(spaces % 4));
        text.push_str(trimmed);
        text.push_str("\r\n");
    }
    text
}

/// On a file indented with tabs and using CRLF, every fix still parses, writes only CRLF
/// line breaks, and indents the lines it writes with tabs alone.
#[test]
fn fixes_keep_tabs_and_crlf() {
    let mut failures = String::new();
    let mut checked = 0;
    for path in fixtures() {
        let rule = rule_of(&path);
        let original = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let source = with_tabs_and_crlf(&original);
        let settings = settings_for(&path, &source, rule);
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        for diagnostic in lint_source(&source, Some(&path), &settings) {
            for fix in diagnostic.fix.iter().chain(&diagnostic.alternatives) {
                checked += 1;
                let fixed = fix.apply_to(&source);
                let line = line_of(&source, diagnostic.range.start);
                if loopwise::analysis::source::parse(&fixed).root_node().has_error() {
                    let _ = writeln!(failures, "{name}:{line}: `{}` leaves code that does not parse", fix.title());
                }
                if fixed.replace("\r\n", "").contains(['\n', '\r']) {
                    let _ = writeln!(failures, "{name}:{line}: `{}` writes a line break that is not CRLF", fix.title());
                }
                let diff = similar::TextDiff::from_lines(&source, &fixed);
                let spaced = diff.iter_all_changes().any(|change| {
                    change.tag() == similar::ChangeTag::Insert
                        && change.value().trim_start_matches('\t').starts_with(' ')
                        && !change.value().trim().is_empty()
                });
                if spaced {
                    let _ = writeln!(failures, "{name}:{line}: `{}` indents with spaces in a tab file", fix.title());
                }
            }
        }
    }
    assert!(checked > 0, "no fix was checked");
    assert!(failures.is_empty(), "\n{failures}");
}

/// The rules the catalog (`shared/spec/rules.md`) gives a fix: each must offer one in its
/// fixture, and every other rule must offer none. The `fix:` metadata (README, `loopwise rule`,
/// docs) must say "none" exactly for the rules without one.
#[test]
fn the_catalog_fixes_exist_and_only_they() {
    const WITH_FIX: &[&str] = &[
        "LW101", "LW102", "LW103", "LW104", "LW105", "LW109", "LW201", "LW202", "LW203", "LW204", "LW301", "LW302",
        "LW401", "LW402", "LW403", "LW405", "LW501", "LW502", "LW503", "LW504", "LW506", "LW507", "LW601", "LW602",
        "LW604", "LW801", "LW802", "LW803", "LW901", "LW909",
    ];
    let mut offered: BTreeSet<&str> = BTreeSet::new();
    for path in fixtures() {
        let rule = rule_of(&path);
        let source = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let diagnostics = lint_source(&source, Some(&path), &settings_for(&path, &source, rule));
        if diagnostics.iter().any(|diagnostic| diagnostic.fix.is_some() || !diagnostic.alternatives.is_empty()) {
            offered.insert(rule.code());
        }
    }
    let expected: BTreeSet<&str> = WITH_FIX.iter().copied().collect();
    assert_eq!(offered, expected, "rules offering a fix in their fixtures vs the catalog");
    for rule in Rule::ALL {
        let says_none = rule.meta().fix.starts_with("none");
        assert_eq!(
            says_none,
            !expected.contains(rule.code()),
            "`fix:` metadata of {}: {}",
            rule.code(),
            rule.meta().fix
        );
    }
}

/// A fixture rewritten for another async library: every `asyncio` (and `uvloop`) becomes `library` (the
/// `# settings:` lines are kept), so whatever `asyncio` a finding then speaks of, a rule wrote;
/// and `import library` at the end, so that a fixture importing no async library is one too.
fn converted_to(source: &str, library: &str) -> String {
    let mut text: String = source
        .split_inclusive('\n')
        .map(|line| {
            if line.starts_with("# settings: ") {
                line.to_string()
            } else {
                line.replace("asyncio", library).replace("uvloop", library)
            }
        })
        .collect();
    let _ = write!(text, "\nimport {library}\n");
    text
}

/// In a trio or anyio module (one that imports `trio` or `anyio` and not `asyncio`) no finding
/// or fix speaks of asyncio: every fixture, rewritten for trio and for anyio, linted with every
/// rule; and the trio and anyio fixtures as they are.
#[test]
fn trio_and_anyio_modules_hear_nothing_of_asyncio() {
    let mut failures = String::new();
    let mut findings = 0;
    for path in fixtures() {
        let rule = rule_of(&path);
        let original = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let stem = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
        let mut variants = vec![("trio", converted_to(&original, "trio")), ("anyio", converted_to(&original, "anyio"))];
        if stem.ends_with("_trio") || stem.ends_with("_anyio") {
            variants.push(("as written", original.clone()));
        }
        for (library, source) in variants {
            let settings = LintSettings { rules: RuleSet::all(), ..settings_for(&path, &source, rule) };
            for diagnostic in lint_source(&source, Some(&path), &settings) {
                findings += 1;
                let line = line_of(&source, diagnostic.range.start);
                let mut said = vec![("message", diagnostic.message.clone())];
                for fix in diagnostic.fix.iter().chain(&diagnostic.alternatives) {
                    said.push(("fix title", fix.title().to_string()));
                    said.extend(fix.edits().iter().map(|edit| ("fix edit", edit.content.clone())));
                }
                for (what, text) in said.into_iter().filter(|(_, text)| text.contains("asyncio")) {
                    let _ = writeln!(failures, "{name} ({library}):{line}: {} {what}: {text}", diagnostic.rule.code());
                }
            }
        }
    }
    assert!(findings > 100, "the rewritten fixtures report too little to prove anything: {findings}");
    assert!(failures.is_empty(), "\n{failures}");
}

/// Blocking is blocking: each blocking-call rule reports the same lines in its fixture
/// rewritten for trio or anyio as in the original (but for lines naming an asyncio API, such as
/// `asyncio.run_coroutine_threadsafe(...).result()`).
#[test]
fn blocking_rules_still_report_in_trio_and_anyio_modules() {
    for path in fixtures() {
        let rule = rule_of(&path);
        // Its quiet lines are coroutines run by `asyncio.run(coro())` in a thread: rewritten,
        // `trio.run(coro())` is a call trio refuses (it takes the function), so nothing runs
        // them on a thread's loop and they are rightly reported.
        let asyncio_only = path.file_stem().is_some_and(|stem| {
            stem == "lw101_blocking_sleep_worker_thread" || stem == "lw109_blocking_helper_call_worker_thread"
        });
        if !rule.code().starts_with("LW1") || asyncio_only {
            continue;
        }
        let original = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let asyncio_lines: BTreeSet<usize> = original
            .lines()
            .enumerate()
            .filter(|(_, line)| line.contains("asyncio"))
            .map(|(index, _)| index + 1)
            .collect();
        let count = |source: &str| -> BTreeSet<usize> {
            lint_source(source, Some(&path), &settings_for(&path, source, rule))
                .iter()
                .map(|diagnostic| line_of(source, diagnostic.range.start))
                .filter(|line| !asyncio_lines.contains(line))
                .collect()
        };
        let expected = count(&original);
        assert!(!expected.is_empty(), "{}: no finding to compare", path.display());
        for library in ["trio", "anyio"] {
            let converted = converted_to(&original, library);
            assert_eq!(count(&converted), expected, "{} rewritten for {library}", path.display());
        }
    }
}

/// The prefilter only skips what cannot report: every fixture and every example, linted with
/// every rule (and the fixture's own settings), gives the same findings with it and without it.
/// The prefilter must also have dropped rules somewhere, or this would prove nothing.
#[test]
fn the_prefilter_changes_no_finding() {
    use loopwise::analysis::prefilter::applicable_rules;
    use loopwise::analysis::{WorkspaceView, lint_source_in_workspace};
    use loopwise::workspace::Workspace;

    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<(PathBuf, Option<Rule>)> = fixtures().into_iter().map(|path| (path, None)).collect();
    for entry in std::fs::read_dir(&examples).unwrap_or_else(|error| panic!("{}: {error}", examples.display())) {
        let path = entry.expect("readable example entry").path();
        let folder_files = if path.is_dir() { python_files(&path) } else { vec![path] };
        files.extend(
            folder_files.into_iter().filter(|file| file.extension().is_some_and(|e| e == "py")).map(|f| (f, None)),
        );
    }
    for (path, rule) in &mut files {
        if path.starts_with(fixture_folder()) {
            *rule = Some(rule_of(path));
        }
    }
    let workspace = Workspace::default();
    let (mut findings, mut dropped, mut failures) = (0, 0, String::new());
    for (path, rule) in &files {
        let source = std::fs::read_to_string(path).expect("UTF-8 source");
        let base = match rule {
            Some(rule) => settings_for(path, &source, *rule),
            None => lint_settings(&Options::default()),
        };
        let on = LintSettings { rules: RuleSet::all(), prefilter: true, ..base.clone() };
        let off = LintSettings { prefilter: false, ..on.clone() };
        let module = workspace.module_of(path);
        let view = module.as_ref().map(|module| WorkspaceView {
            modules: &workspace,
            module: &module.name,
            is_package: module.is_package,
        });
        let filtered = lint_source_in_workspace(&source, Some(path), &on, view.as_ref());
        let unfiltered = lint_source_in_workspace(&source, Some(path), &off, view.as_ref());
        findings += unfiltered.len();
        dropped += RuleSet::all().subtract(applicable_rules(RuleSet::all(), &source, &on)).iter().count();
        if filtered != unfiltered {
            let _ = writeln!(
                failures,
                "{}: with the prefilter {:?}\nwithout it {:?}",
                path.display(),
                filtered.iter().map(|d| (d.rule.code(), line_of(&source, d.range.start))).collect::<Vec<_>>(),
                unfiltered.iter().map(|d| (d.rule.code(), line_of(&source, d.range.start))).collect::<Vec<_>>()
            );
        }
    }
    assert!(findings > 500, "too few findings to prove anything: {findings}");
    assert!(dropped > 1000, "the prefilter dropped almost no rule, so this proves nothing: {dropped}");
    assert!(failures.is_empty(), "\n{failures}");
}
