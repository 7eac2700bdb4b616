//! The editor integrations in `editors/`: the Helix `languages.toml` against Helix's documented
//! schema (and the README's copy of it), the VS Code extension's settings against the server's
//! configuration keys, and the extension's own checks (`npm test`, offline packaging under the
//! names the README gives, what the `.vsix` holds, where `copy-binary` takes the binary from).
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
use loopwise::lsp::EditorSettings;
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
/// The settings as the server reads them (`initializationOptions`, `didChangeConfiguration`).
fn server_accepts(settings: Value) -> Result<EditorSettings, String> {
    loopwise::lsp::editor_settings(Some(settings)).map_err(|error| error.to_string())
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
    // The list replaces Helix's own: which other servers run is the user's to write, so the
    // file names none that a copy would impose.
    assert_eq!(names, ["loopwise"], "python's language-servers lists loopwise alone");
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
    assert_ne!(options.options, Options::default());
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
    // Naming every field: a key added to `Options` or to the server's own settings fails to
    // compile here until the extension offers it (package.json, src/settings.ts, the fixtures).
    let EditorSettings { options: parsed, show_syntax_errors, index_limit } = parsed;
    assert!(show_syntax_errors, "the fixture turns showSyntaxErrors on");
    assert_eq!(index_limit, Some(5000), "the fixture sets indexLimit");
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
        max_file_size,
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
        max_file_size.is_some(),
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

    // Into folders, where vsce names the packages as it does by default, for the README's
    // names to be checked against.
    let out = tempfile::tempdir().expect("a temporary folder");
    let universal_dir = out.path().join("universal");
    std::fs::create_dir(&universal_dir).expect("a folder for the universal package");
    npm(&["run", "package", "--", "--universal", "--out", universal_dir.to_str().expect("a UTF-8 path")]);
    let universal = only_file(&universal_dir);
    npm(&["run", "check-package", "--", universal.to_str().expect("a UTF-8 path"), "--no-binary"]);

    // The platform-specific variant, with a stand-in for the binary: what is checked is that
    // vsce ships it, executable, in a package marked for this platform.
    let name = if cfg!(windows) { "loopwise.exe" } else { "loopwise" };
    let bundled_dir = out.path().join("platform");
    std::fs::create_dir(&bundled_dir).expect("a folder for the platform package");
    let bundled_dir_arg = bundled_dir.to_str().expect("a UTF-8 path");
    if vscode_dir().join("bin").join(name).exists() {
        npm(&["run", "package", "--", "--out", bundled_dir_arg]);
    } else {
        let stand_in = out.path().join(name);
        std::fs::write(&stand_in, "#!/bin/sh\necho loopwise\n").expect("write the stand-in binary");
        npm(&["run", "package", "--", "--binary", stand_in.to_str().expect("a UTF-8 path"), "--out", bundled_dir_arg]);
    }
    let bundled = only_file(&bundled_dir);
    npm(&["run", "check-package", "--", bundled.to_str().expect("a UTF-8 path"), "--binary", name]);

    // The README names the files `npm run package` makes.
    let version = read_json(&vscode_dir().join("package.json"))["version"].as_str().expect("a version").to_string();
    let universal_name = universal.file_name().and_then(|name| name.to_str()).expect("a file name");
    assert_eq!(universal_name, format!("loopwise-{version}.vsix"));
    let bundled_name = bundled.file_name().and_then(|name| name.to_str()).expect("a file name");
    let host = bundled_name
        .strip_prefix("loopwise-")
        .and_then(|rest| rest.strip_suffix(&format!("-{version}.vsix")))
        .unwrap_or_else(|| panic!("{bundled_name} is not loopwise-<target>-{version}.vsix"));
    let readme = readme_subsection("VS Code");
    let install = format!("code --install-extension {universal_name}\n");
    assert!(readme.contains(&install), "the README installs `{universal_name}`:\n{readme}");
    // The README's example is Linux on x64; on another machine the target in the name differs.
    let documented = bundled_name.replace(host, "linux-x64");
    assert!(readme.contains(&format!("`{documented}`")), "the README names `{documented}`:\n{readme}");
    assert!(!readme.contains(&format!("{version}-linux-x64")), "vsce puts the target before the version:\n{readme}");
}

fn only_file(folder: &Path) -> PathBuf {
    let files: Vec<PathBuf> =
        std::fs::read_dir(folder).expect("a folder").flatten().map(|entry| entry.path()).collect();
    assert_eq!(files.len(), 1, "one package in {}: {files:?}", folder.display());
    files.into_iter().next().expect("one file")
}

/// The README's `### TITLE` subsection, up to the next heading of level 2 or 3.
fn readme_subsection(title: &str) -> String {
    let readme = read(&repository().join("README.md"));
    let heading = format!("\n### {title}\n");
    let start = readme.find(&heading).unwrap_or_else(|| panic!("README has a `### {title}` subsection"));
    let section = &readme[start + heading.len()..];
    let end = [section.find("\n## "), section.find("\n### ")].into_iter().flatten().min();
    section[..end.map_or(section.len(), |end| end + 1)].to_string()
}

fn node_is_ready(check: &str) -> bool {
    let missing = match Command::new("node").arg("--version").output() {
        Ok(output) if output.status.success() => return true,
        Ok(output) => format!("`node --version` failed: {}", String::from_utf8_lossy(&output.stderr)),
        Err(error) => format!("node is not installed ({error})"),
    };
    let advice = "install Node.js 20+";
    assert!(!on_ci(), "{check}: {missing}; {advice} (.ci/run does)");
    // Straight to stderr: the test harness captures `eprintln!`, and this must be seen.
    let _ = writeln!(std::io::stderr(), "\n!!!!! SKIPPED: {check}: {missing} ({advice})\n");
    false
}

/// `npm run copy-binary` takes release/loopwise from cargo's target folder: `CARGO_TARGET_DIR`
/// when set (relative to the folder npm started in), else `target/` of the repository. Run on a
/// copy of the script in a scratch repository, so the real `bin/` stays as it is.
#[test]
fn vscode_copy_binary_honours_cargo_target_dir() {
    if !node_is_ready("the VS Code copy-binary script") {
        return;
    }
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let checkout = scratch.path().join("loopwise");
    let extension = checkout.join("editors/vscode");
    std::fs::create_dir_all(extension.join("scripts")).expect("the scripts folder");
    std::fs::copy(vscode_dir().join("scripts/copy-binary.mjs"), extension.join("scripts/copy-binary.mjs"))
        .expect("copy the script");
    let name = if cfg!(windows) { "loopwise.exe" } else { "loopwise" };
    let builds = [
        (checkout.join("target/release").join(name), "the default target folder"),
        (scratch.path().join("elsewhere/release").join(name), "an absolute CARGO_TARGET_DIR"),
        (checkout.join("relative/release").join(name), "a relative CARGO_TARGET_DIR"),
    ];
    for (binary, build) in &builds {
        std::fs::create_dir_all(binary.parent().expect("a folder")).expect("a release folder");
        std::fs::write(binary, build).expect("a stand-in binary");
    }
    let copy = |target_dir: Option<&Path>| {
        let mut command = Command::new("node");
        command.arg("scripts/copy-binary.mjs").current_dir(&extension).env_remove("CARGO_TARGET_DIR");
        // npm sets INIT_CWD to the folder `npm run` was started in.
        command.env("INIT_CWD", &checkout);
        if let Some(target_dir) = target_dir {
            command.env("CARGO_TARGET_DIR", target_dir);
        }
        let output = command.output().expect("node runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        read(&extension.join("bin").join(name))
    };
    assert_eq!(copy(None), builds[0].1);
    assert_eq!(copy(Some(&scratch.path().join("elsewhere"))), builds[1].1);
    assert_eq!(copy(Some(Path::new("relative"))), builds[2].1);
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

/// A copy of the README's Helix setup is a copy of the file, comments and all.
#[test]
fn readme_helix_setup_is_the_languages_toml_file() {
    let section = readme_subsection("Helix");
    let blocks: Vec<&str> = section.split("```toml\n").skip(1).filter_map(|block| block.split("```").next()).collect();
    assert_eq!(blocks, [helix_languages().as_str()], "the README's Helix block is editors/helix/languages.toml");
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
