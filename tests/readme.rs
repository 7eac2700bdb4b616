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

fn read(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The README from `heading` (a whole line, such as `### pre-commit`) up to the next heading of
/// the same or a higher level.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text.find(&format!("\n{heading}\n")).unwrap_or_else(|| panic!("README has `{heading}`")) + 1;
    let level = heading.split(' ').next().unwrap_or_default();
    let rest = &text[start + heading.len()..];
    let end = (2..=level.len())
        .filter_map(|hashes| rest.find(&format!("\n{} ", "#".repeat(hashes))))
        .min()
        .map_or(text.len(), |end| start + heading.len() + end + 1);
    &text[start..end]
}

/// The fenced blocks of `language` in `text`.
fn blocks<'a>(text: &'a str, language: &str) -> Vec<&'a str> {
    text.split(&format!("```{language}\n")).skip(1).filter_map(|block| block.split("```").next()).collect()
}

fn check_help() -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .args(["check", "--help"])
        .output()
        .expect("the loopwise binary runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn install_section_says_how_and_with_which_rust() {
    let text = readme();
    let install = section(&text, "## Install");
    let commands = blocks(install, "console").concat();
    assert!(commands.contains("pip install ."), "{install}");
    // Not published: the README must not send a user to PyPI for a package that is not there.
    assert!(!commands.contains("pip install loopwise"), "{install}");
    assert!(commands.contains("cargo install --path . --locked"), "{install}");
    let rust = env!("CARGO_PKG_RUST_VERSION");
    assert!(
        install.contains(&format!("Rust {rust} or later")),
        "the install section names Cargo.toml's rust-version {rust}"
    );
    // Without --locked, cargo install resolves every dependency again and builds what it finds.
    for file in [
        "README.md",
        "editors/helix/languages.toml",
        "editors/neovim/lsp/loopwise.lua",
        "editors/vscode/README.md",
        "editors/vscode/src/binary.ts",
    ] {
        let text = read(file);
        for (at, _) in text.match_indices("cargo install --path .") {
            assert!(
                text[at..].starts_with("cargo install --path . --locked"),
                "{file}: `cargo install` without --locked"
            );
        }
    }
}

/// `pip install .` installs what pyproject.toml describes: the package loopwise, built by
/// maturin as a binary, at Cargo.toml's version (tests/distribution.rs builds and installs it).
#[test]
fn pyproject_builds_the_binary_with_cargo_metadata() {
    let pyproject: toml::Table = toml::from_str(&read("pyproject.toml")).expect("pyproject.toml is TOML");
    assert_eq!(pyproject["build-system"]["build-backend"].as_str(), Some("maturin"));
    let requires = pyproject["build-system"]["requires"].as_array().expect("build-system.requires");
    assert!(requires.iter().any(|requirement| requirement.as_str().is_some_and(|it| it.starts_with("maturin>=1."))));
    assert!(requires.iter().any(|requirement| requirement.as_str().is_some_and(|it| it.ends_with(",<2"))));
    assert_eq!(pyproject["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    let project = pyproject["project"].as_table().expect("[project]");
    assert_eq!(project["name"].as_str(), Some(env!("CARGO_PKG_NAME")));
    assert_eq!(project["license"].as_str(), Some(env!("CARGO_PKG_LICENSE")));
    assert_eq!(project["description"].as_str(), Some(env!("CARGO_PKG_DESCRIPTION")));
    assert!(!project.contains_key("version"), "the version comes from Cargo.toml (dynamic), not a second copy");
    assert!(project["dynamic"].as_array().is_some_and(|dynamic| dynamic.contains(&"version".into())));
    assert!(project["requires-python"].as_str().is_some_and(|bound| bound.starts_with(">=3.")));
}

/// `(id, entry)` of each hook in `.pre-commit-hooks.yaml`.
fn pre_commit_hooks() -> Vec<(String, String)> {
    let mut hooks: Vec<(String, String)> = Vec::new();
    for line in read(".pre-commit-hooks.yaml").lines() {
        if let Some(id) = line.strip_prefix("- id: ") {
            hooks.push((id.trim().to_string(), String::new()));
        } else if let Some(entry) = line.strip_prefix("  entry: ") {
            hooks.last_mut().expect("an entry belongs to a hook").1 = entry.trim().to_string();
        }
    }
    hooks
}

#[test]
fn pre_commit_hooks_run_loopwise_with_its_own_flags() {
    let hooks = pre_commit_hooks();
    let ids: Vec<&str> = hooks.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["loopwise-check", "loopwise-fix"]);
    let help = check_help();
    for (id, entry) in &hooks {
        assert!(entry.starts_with("loopwise check"), "{id}: {entry}");
        for flag in entry.split_whitespace().filter(|word| word.starts_with("--")) {
            assert!(
                help.contains(&format!("  {flag} ")) || help.contains(&format!("  {flag}\n")),
                "{id}: `loopwise check` has no {flag}"
            );
        }
    }
    let text = read(".pre-commit-hooks.yaml");
    for key in ["language: python", "types_or: [python, pyi, jupyter]", "require_serial: true"] {
        assert_eq!(text.matches(&format!("  {key}\n")).count(), hooks.len(), "every hook has `{key}`");
    }
}

#[test]
fn readme_pre_commit_snippet_names_the_hooks_at_this_version() {
    let text = readme();
    let snippets = blocks(section(&text, "### pre-commit"), "yaml");
    assert_eq!(snippets.len(), 1, "one .pre-commit-config.yaml");
    let snippet = snippets[0];
    assert!(
        snippet.contains(&format!("    rev: v{}\n", env!("CARGO_PKG_VERSION"))),
        "rev is this version's tag:\n{snippet}"
    );
    let named: Vec<&str> = snippet
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("- id: "))
        .map(|id| id.split('#').next().unwrap_or_default().trim())
        .collect();
    let hooks = pre_commit_hooks();
    let ids: Vec<&str> = hooks.iter().map(|(id, _)| id.as_str()).collect();
    let mut sorted = named.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ids, "the README shows each hook of .pre-commit-hooks.yaml:\n{snippet}");
}

/// `(name, default)` of each input of `action.yml`, read by its indentation.
fn action_inputs() -> Vec<(String, String)> {
    let text = read("action.yml");
    let mut inputs: Vec<(String, String)> = Vec::new();
    let mut in_inputs = false;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') {
            in_inputs = line == "inputs:";
        } else if in_inputs {
            if let Some(name) =
                line.strip_prefix("  ").and_then(|rest| rest.strip_suffix(':')).filter(|name| !name.starts_with(' '))
            {
                inputs.push((name.to_string(), String::new()));
            } else if let Some(default) = line.strip_prefix("    default: ") {
                inputs.last_mut().expect("a default belongs to an input").1 = default.trim().to_string();
            }
        }
    }
    inputs
}

#[test]
fn readme_action_snippet_and_inputs_match_action_yml() {
    let text = readme();
    let section = section(&text, "### GitHub Actions");
    let inputs = action_inputs();
    assert_eq!(inputs.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["version", "args", "src"]);
    let rows: Vec<(String, String)> = section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].trim_matches('`').to_string())
        })
        .collect();
    assert_eq!(rows, inputs, "the README's table of inputs and defaults is action.yml's");
    let snippets = blocks(section, "yaml");
    assert_eq!(snippets.len(), 1, "one workflow snippet");
    let snippet = snippets[0];
    assert!(snippet.contains(&format!("uses: OWNER/loopwise@v{}\n", env!("CARGO_PKG_VERSION"))), "{snippet}");
    for (name, default) in &inputs {
        assert!(
            snippet.contains(&format!("      {name}: {default} ")),
            "the snippet shows `{name}: {default}`:\n{snippet}"
        );
    }
    // The step runs what the README says, with an output format the binary has.
    let script = read("action/run.sh");
    assert!(script.contains("${LOOPWISE_ARGS:-check} --output-format github ${LOOPWISE_SRC:-.}"), "{script}");
    assert!(section.contains("`loopwise <args> --output-format github <src>`"), "{section}");
    assert!(check_help().contains("github"), "`loopwise check --output-format` offers github");
    assert!(read("action.yml").contains("run: bash \"${{ github.action_path }}/action/run.sh\""));
}
