//! Every fix of every fixture, applied alone, gives code that parses (no ERROR node) and
//! removes one finding of its rule: ruff's `test_path` check, over the fixture files.

use std::path::{Path, PathBuf};

use loopwise::analysis::{LintSettings, lint_source, source};
use loopwise::rules::{Rule, RuleSet};

fn fixtures() -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| entry.expect("readable fixture entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "py"))
        .collect();
    files.sort();
    files
}

fn rule_of(path: &Path) -> Rule {
    let stem = path.file_stem().and_then(|stem| stem.to_str()).unwrap_or_default();
    Rule::from_code(stem.split('_').next().unwrap_or_default()).expect("fixture names start with a rule code")
}

#[test]
fn every_fix_parses_and_removes_its_finding() {
    let mut failures = Vec::new();
    for path in fixtures() {
        let rule = rule_of(&path);
        let original = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let settings = LintSettings { rules: [rule].into_iter().collect::<RuleSet>(), ..LintSettings::default() };
        let before = lint_source(&original, Some(&path), &settings);
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        for diagnostic in &before {
            let Some(fix) = &diagnostic.fix else { continue };
            let mut fixed = original.clone();
            // Edits are sorted and do not overlap: apply from the end.
            for edit in fix.edits().iter().rev() {
                fixed.replace_range(edit.range.start..edit.range.end, &edit.content);
            }
            let line = original[..diagnostic.range.start].matches('\n').count() + 1;
            if source::parse(&fixed).root_node().has_error() {
                failures.push(format!("{name}:{line}: `{}` gives code that does not parse", fix.title()));
            }
            if lint_source(&fixed, Some(&path), &settings).len() >= before.len() {
                failures.push(format!("{name}:{line}: `{}` does not remove the finding", fix.title()));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
