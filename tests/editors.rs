//! The editor integrations in `editors/`: the Helix `languages.toml` against Helix's documented
//! schema, the VS Code extension's settings against the server's configuration keys, and the
//! extension's own checks (`npm test`, offline packaging, what the `.vsix` holds).
//!
//! The VS Code checks need node and `npm ci` in `editors/vscode`; `.ci/run` installs them. On a
//! machine with only Rust they are skipped with a loud line on stderr, except under `CI=true`,
//! where a missing install is a failure.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::TestClient;
use loopwise::config::Options;
use serde_json::{Value, json};

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn vscode_dir() -> PathBuf {
    repository().join("editors/vscode")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Editor settings as the server reads them (`initializationOptions`, Helix's `config`).
fn server_accepts(settings: Value) -> Result<Options, String> {
    Options::from_json(settings).map_err(|error| error.to_string())
}

// ---------------------------------------------------------------------------------------------
// Helix

/// Keys of a `[language-server.NAME]` table (Helix book, languages.md, "Language Server
/// configuration").
const LANGUAGE_SERVER_KEYS: &[&str] =
    &["command", "args", "config", "timeout", "environment", "required-root-patterns"];

/// Keys of a `[[language]]` entry (Helix book, languages.md, "Language configuration").
const LANGUAGE_KEYS: &[&str] = &[
    "name",
    "language-id",
    "scope",
    "injection-regex",
    "file-types",
    "shebangs",
    "roots",
    "auto-format",
    "diagnostic-severity",
    "comment-tokens",
    "comment-token",
    "block-comment-tokens",
    "indent",
    "language-servers",
    "grammar",
    "formatter",
    "soft-wrap",
    "text-width",
    "rulers",
    "path-completion",
    "word-completion",
    "workspace-lsp-roots",
    "persistent-diagnostic-sources",
];

/// The features `only-features` and `except-features` may name (Helix book, languages.md).
const FEATURES: &[&str] = &[
    "format",
    "goto-definition",
    "goto-declaration",
    "goto-type-definition",
    "goto-reference",
    "goto-implementation",
    "signature-help",
    "hover",
    "document-highlight",
    "completion",
    "code-action",
    "workspace-command",
    "document-symbols",
    "workspace-symbols",
    "diagnostics",
    "rename-symbol",
    "inlay-hints",
];

/// Python servers Helix defines itself, which a user's list may name without defining them.
const HELIX_PYTHON_SERVERS: &[&str] = &["pyright", "basedpyright", "ruff", "pylsp", "jedi", "ty"];

const TOP_LEVEL_KEYS: &[&str] = &["language-server", "language", "grammar", "use-grammars"];

fn is_string_array(value: &toml::Value) -> bool {
    value.as_array().is_some_and(|items| items.iter().all(toml::Value::is_str))
}

fn unknown_keys(table: &toml::Table, known: &[&str], place: &str, problems: &mut Vec<String>) {
    for key in table.keys().filter(|key| !known.contains(&key.as_str())) {
        problems.push(format!("{place}: unknown key `{key}` (Helix knows {})", known.join(", ")));
    }
}

/// A key of a table, how to tell a valid value, and what a valid value is (for the message).
type Check = (&'static str, fn(&toml::Value) -> bool, &'static str);

fn check_language_server(name: &str, server: &toml::Value, problems: &mut Vec<String>) {
    let place = format!("[language-server.{name}]");
    let Some(server) = server.as_table() else {
        problems.push(format!("{place} is not a table"));
        return;
    };
    unknown_keys(server, LANGUAGE_SERVER_KEYS, &place, problems);
    match server.get("command") {
        Some(command) if command.as_str().is_some_and(|command| !command.is_empty()) => {}
        Some(_) => problems.push(format!("{place}: `command` must be a non-empty string")),
        None => problems.push(format!("{place}: `command` is required")),
    }
    let checks: [Check; 5] = [
        ("args", is_string_array, "a list of strings"),
        ("config", toml::Value::is_table, "a table"),
        ("timeout", |value| value.as_integer().is_some_and(|seconds| seconds > 0), "a positive integer (seconds)"),
        (
            "environment",
            |value| value.as_table().is_some_and(|table| table.values().all(toml::Value::is_str)),
            "a table of strings",
        ),
        ("required-root-patterns", is_string_array, "a list of glob strings"),
    ];
    for (key, is_valid, expected) in checks {
        if server.get(key).is_some_and(|value| !is_valid(value)) {
            problems.push(format!("{place}: `{key}` must be {expected}"));
        }
    }
    // Helix sends `config` as initializationOptions (and as didChangeConfiguration settings).
    if server.get("command").and_then(toml::Value::as_str) == Some("loopwise")
        && let Some(config) = server.get("config")
        && let Err(error) = serde_json::to_value(config).map_err(|error| error.to_string()).and_then(server_accepts)
    {
        problems.push(format!("{place}: `config` is not accepted by the server: {error}"));
    }
}

fn check_language_server_reference(entry: &toml::Value, place: &str, problems: &mut Vec<String>) -> Option<String> {
    if let Some(name) = entry.as_str() {
        return Some(name.to_string());
    }
    let Some(table) = entry.as_table() else {
        problems.push(format!("{place}: a `language-servers` entry must be a name or a table"));
        return None;
    };
    unknown_keys(table, &["name", "only-features", "except-features"], place, problems);
    if table.contains_key("only-features") && table.contains_key("except-features") {
        problems.push(format!("{place}: `only-features` and `except-features` exclude each other"));
    }
    for key in ["only-features", "except-features"] {
        let Some(features) = table.get(key) else { continue };
        if !is_string_array(features) {
            problems.push(format!("{place}: `{key}` must be a list of feature names"));
            continue;
        }
        for feature in features.as_array().into_iter().flatten().filter_map(toml::Value::as_str) {
            if !FEATURES.contains(&feature) {
                problems.push(format!("{place}: `{key}` names `{feature}`, not a Helix feature"));
            }
        }
    }
    let name = table.get("name").and_then(toml::Value::as_str);
    if name.is_none() {
        problems.push(format!("{place}: a `language-servers` table needs a string `name`"));
    }
    name.map(str::to_string)
}

fn check_language(language: &toml::Value, defined_servers: &[&str], problems: &mut Vec<String>) {
    let Some(language) = language.as_table() else {
        problems.push("a [[language]] entry is not a table".to_string());
        return;
    };
    let name = language.get("name").and_then(toml::Value::as_str);
    let place = format!("[[language]] {}", name.unwrap_or("(no name)"));
    if name.is_none() {
        problems.push(format!("{place}: `name` (a string) is required"));
    }
    unknown_keys(language, LANGUAGE_KEYS, &place, problems);
    for key in ["scope", "language-id", "injection-regex", "grammar"] {
        if language.get(key).is_some_and(|value| !value.is_str()) {
            problems.push(format!("{place}: `{key}` must be a string"));
        }
    }
    for key in ["roots", "shebangs"] {
        if language.get(key).is_some_and(|value| !is_string_array(value)) {
            problems.push(format!("{place}: `{key}` must be a list of strings"));
        }
    }
    if language.get("auto-format").is_some_and(|value| !value.is_bool()) {
        problems.push(format!("{place}: `auto-format` must be true or false"));
    }
    let Some(servers) = language.get("language-servers") else { return };
    let Some(servers) = servers.as_array() else {
        problems.push(format!("{place}: `language-servers` must be a list"));
        return;
    };
    for entry in servers {
        let Some(server) = check_language_server_reference(entry, &place, problems) else { continue };
        if !defined_servers.contains(&server.as_str()) && !HELIX_PYTHON_SERVERS.contains(&server.as_str()) {
            problems.push(format!("{place}: `{server}` is neither defined here nor one of Helix's own servers"));
        }
    }
}

/// What is wrong with a `languages.toml` by Helix's documented schema; empty when nothing is.
fn helix_problems(text: &str) -> Vec<String> {
    let document: toml::Table = match toml::from_str(text) {
        Ok(document) => document,
        Err(error) => return vec![format!("not TOML: {error}")],
    };
    let mut problems = Vec::new();
    unknown_keys(&document, TOP_LEVEL_KEYS, "top level", &mut problems);
    let servers = document.get("language-server").and_then(toml::Value::as_table);
    let defined: Vec<&str> = servers.iter().flat_map(|servers| servers.keys()).map(String::as_str).collect();
    for (name, server) in servers.into_iter().flatten() {
        check_language_server(name, server, &mut problems);
    }
    match document.get("language") {
        None => {}
        Some(toml::Value::Array(languages)) => {
            for language in languages {
                check_language(language, &defined, &mut problems);
            }
        }
        Some(_) => problems.push("`language` must be an array of tables ([[language]])".to_string()),
    }
    problems
}

fn helix_languages() -> String {
    read(&repository().join("editors/helix/languages.toml"))
}

#[test]
fn helix_languages_toml_follows_the_helix_schema() {
    let text = helix_languages();
    assert_eq!(helix_problems(&text), Vec::<String>::new());
    let document: toml::Table = toml::from_str(&text).expect("TOML");
    let loopwise = &document["language-server"]["loopwise"];
    assert_eq!(loopwise["command"].as_str(), Some("loopwise"));
    assert_eq!(loopwise["args"], toml::Value::Array(vec!["server".into()]));
    let python = document["language"]
        .as_array()
        .and_then(|languages| languages.iter().find(|language| language["name"].as_str() == Some("python")))
        .expect("a [[language]] entry for python");
    let names: Vec<&str> = python["language-servers"]
        .as_array()
        .expect("language-servers")
        .iter()
        .filter_map(|entry| entry.as_str().or_else(|| entry.get("name")?.as_str()))
        .collect();
    assert!(names.contains(&"loopwise"), "python's language-servers must list loopwise: {names:?}");
    assert!(names.len() > 1, "loopwise goes beside the user's other Python servers: {names:?}");
}

/// The commented-out lines of `[language-server.loopwise.config]`, uncommented: a user who
/// uncomments them must get settings the server accepts.
fn helix_config_examples(text: &str) -> String {
    let section =
        text.split("[language-server.loopwise.config]").nth(1).expect("a [language-server.loopwise.config] table");
    section
        .lines()
        .take_while(|line| !line.trim_start().starts_with('['))
        .filter_map(|line| line.trim().strip_prefix("# "))
        .filter(|line| line.contains(" = "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn helix_config_examples_are_accepted_by_the_server() {
    let examples = helix_config_examples(&helix_languages());
    let config: toml::Table = toml::from_str(&examples).unwrap_or_else(|error| panic!("{examples}\n{error}"));
    assert!(config.len() >= 3, "the config table shows a few keys: {examples}");
    let options =
        server_accepts(serde_json::to_value(&config).expect("JSON")).expect("the server accepts the examples");
    assert_ne!(options, Options::default());
    let with_examples = format!(
        "{}\n[language-server.loopwise-examples]\ncommand = \"loopwise\"\nconfig = {{ {} }}\n",
        helix_languages(),
        examples.replace('\n', ", ")
    );
    assert_eq!(helix_problems(&with_examples), Vec::<String>::new());
}

#[test]
fn helix_schema_check_rejects_what_helix_rejects() {
    let cases = [
        ("[language-server.x]\ncommand = \"x\"\nargz = []\n", "unknown key `argz`"),
        ("[language-server.x]\nargs = [\"server\"]\n", "`command` is required"),
        ("[language-server.x]\ncommand = \"x\"\nargs = \"server\"\n", "`args` must be a list of strings"),
        ("[language-server.x]\ncommand = \"x\"\ntimeout = \"20\"\n", "`timeout` must be a positive integer"),
        ("[language-server.x]\ncommand = \"x\"\nenvironment = { A = 1 }\n", "`environment` must be a table of strings"),
        (
            "[language-server.loopwise]\ncommand = \"loopwise\"\nconfig = { selekt = [\"LW1\"] }\n",
            "not accepted by the server",
        ),
        (
            "[language-server.loopwise]\ncommand = \"loopwise\"\nconfig = { target-version = \"three\" }\n",
            "not accepted by the server",
        ),
        ("[[language]]\nlanguage-servers = []\n", "`name` (a string) is required"),
        ("[[language]]\nname = \"python\"\nlanguage-server = { command = \"x\" }\n", "unknown key `language-server`"),
        ("[[language]]\nname = \"python\"\nlanguage-servers = [\"pyrigth\"]\n", "`pyrigth` is neither defined here"),
        (
            "[[language]]\nname = \"python\"\nlanguage-servers = [{ name = \"ruff\", only-features = [\"diagnostic\"] }]\n",
            "`diagnostic`, not a Helix feature",
        ),
        (
            "[[language]]\nname = \"python\"\nlanguage-servers = [{ name = \"ruff\", only-features = [], except-features = [] }]\n",
            "exclude each other",
        ),
        ("[language]\nname = \"python\"\n", "must be an array of tables"),
        ("language-servers = [\"loopwise\"]\n", "top level: unknown key"),
    ];
    for (text, expected) in cases {
        let problems = helix_problems(text);
        assert!(
            problems.iter().any(|problem| problem.contains(expected)),
            "{text}\nexpected `{expected}` among {problems:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// VS Code: settings

/// `loopwise.fooBar` -> `foo-bar`, the server's spelling of a setting.
fn server_key(setting: &str) -> String {
    let mut key = String::new();
    for character in setting.chars() {
        if character.is_ascii_uppercase() {
            key.push('-');
            key.push(character.to_ascii_lowercase());
        } else {
            key.push(character);
        }
    }
    key
}

/// Settings of the extension itself, which the server never sees.
const CLIENT_ONLY_SETTINGS: &[&str] = &["path", "trace.server"];

#[test]
fn vscode_settings_are_the_server_configuration_keys() {
    let manifest = read_json(&vscode_dir().join("package.json"));
    let properties = manifest["contributes"]["configuration"]["properties"].as_object().expect("contributed settings");
    let mut contributed: Vec<String> = properties
        .keys()
        .map(|name| name.strip_prefix("loopwise.").unwrap_or_else(|| panic!("`{name}` is not under loopwise.")))
        .filter(|name| !CLIENT_ONLY_SETTINGS.contains(name))
        .map(server_key)
        .collect();
    contributed.sort();
    // What the extension sends for a settings.json that sets everything (its unit tests check
    // that it maps full-settings.json to exactly this).
    let options = read_json(&vscode_dir().join("test/fixtures/full-initialization-options.json"));
    let mut sent: Vec<String> = options.as_object().expect("an object").keys().cloned().collect();
    sent.sort();
    assert_eq!(contributed, sent, "package.json's settings and the fully populated initializationOptions");
}

#[test]
fn vscode_initialization_options_are_accepted_by_the_server() {
    let options = read_json(&vscode_dir().join("test/fixtures/full-initialization-options.json"));
    let parsed = server_accepts(options).expect("the server accepts what the extension sends");
    // Naming every field: a key added to `Options` fails to compile here until the extension
    // offers it as a setting (package.json, src/settings.ts, the test fixtures).
    let Options {
        target_version,
        select,
        extend_select,
        ignore,
        per_file_ignores,
        exclude,
        extend_exclude,
        default_timeout,
        blocking_calls,
        severity,
        test_paths,
        test_ignore,
        // Not a configuration key (serde skips it): the CLI's hidden `--no-prefilter`.
        no_prefilter: _,
    } = parsed;
    let set = [
        target_version.is_some(),
        select.is_some(),
        extend_select.is_some(),
        ignore.is_some(),
        per_file_ignores.is_some(),
        exclude.is_some(),
        extend_exclude.is_some(),
        default_timeout.is_some(),
        blocking_calls.is_some(),
        severity.is_some(),
        test_paths.is_some(),
        test_ignore.is_some(),
    ];
    assert!(set.iter().all(|set| *set), "the fixture sets every configuration key: {set:?}");
}

/// The extension's settings through the real server, as initializationOptions and as a
/// didChangeConfiguration: no settings error, and they take effect (LW104 is an error, LW1 on).
#[tokio::test]
async fn vscode_settings_reach_the_real_server() {
    let options = read_json(&vscode_dir().join("test/fixtures/full-initialization-options.json"));
    let uri = "file:///project/app.py";
    let opened = "import time\nasync def f():\n    time.sleep(1)\n    open('x')\n";
    let (mut client, _) = TestClient::initialized(json!({}), options.clone()).await;
    client.open(uri, 1, opened).await;
    let (published, before) = client.recv_until(|message| message["method"] == "textDocument/publishDiagnostics").await;
    assert!(before.iter().all(|message| message["method"] != "window/showMessage"), "a settings error: {before:?}");
    let severities: Vec<(String, i64)> = published["params"]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|diagnostic| {
            (
                diagnostic["code"].as_str().unwrap_or_default().to_string(),
                diagnostic["severity"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert!(severities.contains(&("LW101".to_string(), 2)), "{severities:?}");
    assert!(severities.contains(&("LW104".to_string(), 1)), "severity LW104 = error applies: {severities:?}");

    client.notify("workspace/didChangeConfiguration", json!({"settings": {"ignore": ["LW1"]}})).await;
    let (published, before) = client.recv_until(|message| message["method"] == "textDocument/publishDiagnostics").await;
    assert!(before.iter().all(|message| message["method"] != "window/showMessage"), "a settings error: {before:?}");
    assert_eq!(published["params"]["diagnostics"], json!([]), "the new settings apply");
    client.notify("workspace/didChangeConfiguration", json!({"settings": options})).await;
    let (published, _) = client.recv_until(|message| message["method"] == "textDocument/publishDiagnostics").await;
    assert_eq!(published["params"]["diagnostics"].as_array().map(Vec::len), Some(2), "{published}");
}

// ---------------------------------------------------------------------------------------------
// VS Code: the extension's own checks

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// Whether node, npm and `editors/vscode/node_modules` are there; if not, fails under CI and
/// says SKIPPED otherwise.
fn npm_is_ready(check: &str) -> bool {
    let npm = Command::new("npm").arg("--version").output();
    let missing = match npm {
        Ok(output) if output.status.success() => {
            if vscode_dir().join("node_modules/.package-lock.json").exists() {
                return true;
            }
            "editors/vscode/node_modules is missing".to_string()
        }
        Ok(output) => format!("`npm --version` failed: {}", String::from_utf8_lossy(&output.stderr)),
        Err(error) => format!("npm is not installed ({error})"),
    };
    let advice = "install Node.js 20+ with npm, then run `npm ci` in editors/vscode";
    assert!(!on_ci(), "{check}: {missing}; {advice} (.ci/run does)");
    // Straight to stderr: the test harness captures `eprintln!`, and this must be seen.
    let _ = writeln!(std::io::stderr(), "\n!!!!! SKIPPED: {check}: {missing} ({advice})\n");
    false
}

fn npm(args: &[&str]) -> String {
    let output = Command::new("npm")
        .args(args)
        .current_dir(vscode_dir())
        .output()
        .unwrap_or_else(|error| panic!("npm {}: {error}", args.join(" ")));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "`npm {}` in editors/vscode failed:\n{text}", args.join(" "));
    text
}

#[test]
fn vscode_extension_checks_and_packages() {
    if !npm_is_ready("the VS Code extension checks") {
        return;
    }
    // Type check, unit tests with the stubbed `vscode` module.
    let tests = npm(&["test"]);
    assert!(tests.contains("# fail 0"), "{tests}");

    let out = tempfile::tempdir().expect("a temporary folder");
    let universal = out.path().join("loopwise.vsix");
    let universal = universal.to_str().expect("a UTF-8 path");
    npm(&["run", "package", "--", "--universal", "--out", universal]);
    npm(&["run", "check-package", "--", universal, "--no-binary"]);

    // The platform-specific variant, with a stand-in for the binary: what is checked is that
    // vsce ships it, executable, in a package marked for this platform.
    let name = if cfg!(windows) { "loopwise.exe" } else { "loopwise" };
    let bundled = out.path().join("loopwise-platform.vsix");
    let bundled = bundled.to_str().expect("a UTF-8 path");
    if vscode_dir().join("bin").join(name).exists() {
        npm(&["run", "package", "--", "--out", bundled]);
    } else {
        let stand_in = out.path().join(name);
        std::fs::write(&stand_in, "#!/bin/sh\necho loopwise\n").expect("write the stand-in binary");
        npm(&["run", "package", "--", "--binary", stand_in.to_str().expect("a UTF-8 path"), "--out", bundled]);
    }
    npm(&["run", "check-package", "--", bundled, "--binary", name]);
}

// ---------------------------------------------------------------------------------------------
// README

/// The fenced blocks of one language in the README's "Editor setup" section.
fn editor_setup_blocks(language: &str) -> Vec<String> {
    let readme = read(&repository().join("README.md"));
    let start = readme.find("\n## Editor setup\n").expect("README has an `## Editor setup` section");
    let section = &readme[start + 1..];
    let section = section.find("\n## ").map_or(section, |end| &section[..end]);
    let fence = format!("```{language}\n");
    section.split(&fence).skip(1).filter_map(|block| block.split("```").next()).map(str::to_string).collect()
}

#[test]
fn readme_helix_setup_follows_the_helix_schema() {
    let blocks = editor_setup_blocks("toml");
    assert!(!blocks.is_empty(), "the Helix setup shows its languages.toml");
    for block in blocks {
        assert_eq!(helix_problems(&block), Vec::<String>::new(), "{block}");
    }
}

#[test]
fn readme_vscode_settings_exist_and_are_accepted_by_the_server() {
    let manifest = read_json(&vscode_dir().join("package.json"));
    let properties = manifest["contributes"]["configuration"]["properties"].as_object().expect("contributed settings");
    let blocks = editor_setup_blocks("json");
    assert!(!blocks.is_empty(), "the VS Code setup shows settings.json");
    for block in blocks {
        let settings: serde_json::Map<String, Value> =
            serde_json::from_str(&block).unwrap_or_else(|error| panic!("{block}\n{error}"));
        let mut options = serde_json::Map::new();
        for (name, value) in settings {
            let Some(setting) = name.strip_prefix("loopwise.") else { continue };
            assert!(properties.contains_key(&name), "README shows `{name}`, which the extension does not contribute");
            if !CLIENT_ONLY_SETTINGS.contains(&setting) {
                options.insert(server_key(setting), value);
            }
        }
        server_accepts(Value::Object(options)).unwrap_or_else(|error| panic!("{block}\n{error}"));
    }
}
