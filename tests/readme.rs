//! The README tells the truth about the rules: every rule has a row with its code, name, fix,
//! aliases and default state, and the table names no rule that does not exist.

use loopwise::rules::Rule;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

#[test]
fn readme_starts_with_the_two_commands() {
    let text = readme();
    let check_command = text.find("cargo run --release -- check examples/").expect("the check command");
    let test_command = text.find("cargo test").expect("the test command");
    let first_table = text.find("| code |").expect("the rule table");
    assert!(check_command < first_table && test_command < first_table, "the two commands come before anything else");
}

#[test]
fn rule_table_matches_the_registry() {
    let text = readme();
    let rows: Vec<&str> = text.lines().filter(|line| line.starts_with("| LW")).collect();
    for rule in Rule::ALL {
        let meta = rule.meta();
        let row = rows
            .iter()
            .find(|row| row.starts_with(&format!("| {} | {} |", meta.code, meta.name)))
            .unwrap_or_else(|| panic!("README has no row `| {} | {} |`", meta.code, meta.name));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let aliases = if meta.aliases.is_empty() { "none".to_string() } else { meta.aliases.join(", ") };
        assert_eq!(cells[4], meta.fix, "fix of {} (the rule's `fix:` metadata)", meta.code);
        assert_eq!(cells[5], aliases, "aliases of {}", meta.code);
        let default = if meta.enabled_by_default {
            meta.default_severity.as_str().to_string()
        } else {
            format!("off ({})", meta.default_severity.as_str())
        };
        assert_eq!(cells[7], default, "default of {}", meta.code);
    }
    for row in rows {
        let code = row.split('|').nth(1).map(str::trim).unwrap_or_default();
        assert!(Rule::from_code(code).is_some(), "README lists `{code}`, which is not a rule");
    }
}

/// The configuration example shows the real defaults of the test-code profile.
#[test]
fn test_code_defaults_match_the_configuration() {
    let text = readme();
    let quoted = |items: &[&str]| items.iter().map(|item| format!("\"{item}\"")).collect::<Vec<_>>().join(", ");
    let paths = format!("test-paths = [{}]", quoted(loopwise::config::DEFAULT_TEST_PATHS));
    let ignore = format!("test-ignore = [{}]", quoted(loopwise::rules::DEFAULT_TEST_IGNORE));
    assert!(text.contains(&paths), "README should show `{paths}`");
    assert!(text.contains(&ignore), "README should show `{ignore}`");
}
