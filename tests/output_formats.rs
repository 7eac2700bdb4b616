//! The CI report formats of `loopwise check` (`github`, `gitlab`, `sarif`, `junit`, `pylint`,
//! `json-lines`, `grouped`) and `--output-file`, end to end: the built binary on files in a
//! temporary folder. Every format's rows and columns are compared with the `json` format's;
//! SARIF is validated against the OASIS schema with Python's `jsonschema`, `JUnit` parsed with
//! Python's XML parser.
//!
//! Python is `$LOOPWISE_PYTHON` (`.ci/run` makes it from `tests/pytest_lsp/requirements.txt`),
//! else `python3`. Without it, or without `jsonschema`, those checks fail under `CI=true` and
//! are skipped with a loud `SKIPPED:` line otherwise. The schema is `tests/schemas/`'s copy of
//! the shared folder's (`../shared/schemas/`), checked against it where that folder is present.

mod binary;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use binary::{loopwise, stderr, stdout};
use serde_json::Value;

/// One finding of each severity (LW205 hint, LW101 warning with an unsafe fix, LW201 error
/// with a safe fix, LW303 information, LW403 warning with a safe fix), one after a non-ASCII
/// text: `é🎉` is two characters, three UTF-16 units and six bytes.
const SERVICE: &str = r#"import asyncio
import time


async def work():
    await asyncio.sleep(1)


async def idle():
    return 1


async def main():
    x = "é🎉"; time.sleep(1)
    work()
    try:
        await work()
    except Exception:
        pass
    try:
        await work()
    except asyncio.TimeoutError:
        raise
    return x
"#;

/// LW101 at 5:5, and nothing else.
const BLOCKING: &str = "import asyncio\nimport time\n\nasync def f():\n    time.sleep(1)\n    await asyncio.sleep(0)\n";

const CLEAN: &str = "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n";

/// What every run here selects, so that each severity shows.
const SELECT: [&str; 5] = ["--no-cache", "--target-version", "3.12", "--extend-select", "LW205"];

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let folder = tempfile::tempdir().expect("temporary folder");
    for (name, content) in files {
        binary::write(folder.path(), name, content.as_bytes());
    }
    folder
}

/// `loopwise check --output-format FORMAT` with [`SELECT`] and `extra` in `folder`.
fn check(folder: &Path, format: &str, extra: &[&str]) -> Output {
    let mut args = vec!["check", "--output-format", format];
    args.extend(SELECT);
    args.extend(extra);
    loopwise(folder, &args)
}

/// The real path of `folder`, as the binary's current folder reports it.
fn real(folder: &Path) -> PathBuf {
    folder.canonicalize().expect("the folder exists")
}

/// `text` with the folder's absolute path as `[ROOT]` and the package version as `[VERSION]`.
fn normalized(text: &str, folder: &Path) -> String {
    text.replace(&real(folder).display().to_string(), "[ROOT]").replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}

/// Each finding of the `json` format: code, start row and column, end row and column.
fn json_locations(folder: &Path, extra: &[&str]) -> Vec<(String, u64, u64, u64, u64)> {
    let output = check(folder, "json", extra);
    let messages: Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let number = |value: &Value| value.as_u64().expect("a number");
    messages
        .as_array()
        .expect("an array")
        .iter()
        .map(|message| {
            (
                message["code"].as_str().expect("a code").to_string(),
                number(&message["location"]["row"]),
                number(&message["location"]["column"]),
                number(&message["end_location"]["row"]),
                number(&message["end_location"]["column"]),
            )
        })
        .collect()
}

// --- Python, for the validators ---

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

fn python() -> PathBuf {
    std::env::var_os("LOOPWISE_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

/// Whether Python can `import module`; if not, fails under CI and says SKIPPED otherwise.
fn python_has(module: &str, check: &str) -> bool {
    let probe = Command::new(python()).args(["-c", &format!("import {module}")]).output();
    let missing = match probe {
        Ok(output) if output.status.success() => return true,
        Ok(output) => format!(
            "`{}` cannot import {module}: {}",
            python().display(),
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or_default()
        ),
        Err(error) => format!("`{}` cannot run ({error}); LOOPWISE_PYTHON names the Python to use", python().display()),
    };
    let advice = "make a virtualenv, `pip install -r tests/pytest_lsp/requirements.txt` in it and name its python \
                  in LOOPWISE_PYTHON";
    assert!(!on_ci(), "{check}: {missing}; {advice} (.ci/run does)");
    // Straight to stderr: the test harness captures `eprintln!`, and this must be seen.
    let _ = writeln!(std::io::stderr(), "\n!!!!! SKIPPED: {check}: {missing} ({advice})\n");
    false
}

/// Runs `script` with `input` on standard input; `Err` holds what it printed when it failed.
fn run_python(script: &str, args: &[&Path], input: &[u8]) -> Result<(), String> {
    let mut child = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{}: {error}", python().display()));
    child.stdin.take().expect("stdin").write_all(input).expect("write stdin");
    let output = child.wait_with_output().expect("python ends");
    if output.status.success() { Ok(()) } else { Err(format!("{}{}", stdout(&output), stderr(&output))) }
}

/// The SARIF 2.1.0 schema: the copy in `tests/schemas/`, so that a clone checks SARIF without
/// the shared folder; where the shared folder sits beside the repository (`../shared/schemas/`,
/// where the project's schemas are kept), the copy must be byte for byte the same.
fn sarif_schema() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = root.join("tests/schemas/sarif-schema-2.1.0.json");
    let copy = std::fs::read(&schema).unwrap_or_else(|error| panic!("{}: {error}", schema.display()));
    let shared = root.join("../shared/schemas/sarif-schema-2.1.0.json");
    if let Ok(original) = std::fs::read(&shared) {
        assert!(
            copy == original,
            "{} differs from {}: copy the shared schema again",
            schema.display(),
            shared.display()
        );
    }
    schema
}

/// Every error the schema finds, one per line with its JSON path.
const VALIDATE_SARIF: &str = r##"
import json, sys
from jsonschema import Draft7Validator
with open(sys.argv[1], encoding="utf-8") as file:
    schema = json.load(file)
Draft7Validator.check_schema(schema)
if not any(key in schema for key in ("properties", "$ref", "required")):
    # The shared copy keeps the log object's own schema under definitions/Root with nothing
    # pointing at it, so the file alone would accept any JSON at all: validate against Root.
    if "Root" not in schema.get("definitions", {}):
        sys.exit("the schema constrains nothing at its root and has no definitions/Root")
    schema = {**schema, "$ref": "#/definitions/Root"}
validator = Draft7Validator(schema, format_checker=Draft7Validator.FORMAT_CHECKER)
errors = sorted(validator.iter_errors(json.load(sys.stdin)), key=lambda error: list(error.absolute_path))
for error in errors:
    print("/".join(map(str, error.absolute_path)) + ": " + error.message)
sys.exit(1 if errors else 0)
"##;

fn validate_sarif(log: &[u8]) -> Result<(), String> {
    run_python(VALIDATE_SARIF, &[&sarif_schema()], log)
}

// --- github ---

#[test]
fn github_annotations_follow_ruffs_shape_with_levels_by_severity() {
    let folder = project(&[("app.py", SERVICE)]);
    let output = check(folder.path(), "github", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("github", normalized(&stdout(&output), folder.path()));
    // Each annotation's range is the json format's.
    let annotations: Vec<(String, u64, u64, u64, u64)> = stdout(&output)
        .lines()
        .map(|line| {
            let properties = line.split("::").nth(1).expect("properties");
            let value = |key: &str| -> u64 {
                let prefix = format!("{key}=");
                properties
                    .split(',')
                    .find_map(|property| property.strip_prefix(&prefix))
                    .and_then(|value| value.parse().ok())
                    .unwrap_or_else(|| panic!("{key} in {line}"))
            };
            let code = properties.split(['(', ')']).nth(1).expect("a code").to_string();
            (code, value("line"), value("col"), value("endLine"), value("endColumn"))
        })
        .collect();
    assert_eq!(annotations, json_locations(folder.path(), &[]));
}

#[test]
fn github_escapes_percent_comma_colon_and_line_breaks() {
    // A file name may hold every character the workflow-command syntax gives a meaning to. The
    // message shows it as the concise format does: quoted, its line break escaped.
    let name = "50%,a:b\nc.py";
    let folder = project(&[(name, BLOCKING)]);
    let output = check(folder.path(), "github", &[]);
    let text = normalized(&stdout(&output), folder.path());
    assert_eq!(
        text,
        "::warning title=loopwise (LW101),file=[ROOT]/50%25%2Ca%3Ab%0Ac.py,line=5,col=5,endLine=5,endColumn=18::\
         \"50%25,a:b\\nc.py\":5:5: LW101 Blocking call to `time.sleep` in async function%0A  help: Replace with `await \
         asyncio.sleep(...)`\n"
    );
}

// --- sarif ---

#[test]
fn sarif_validates_against_the_schema_and_points_at_its_rules() {
    let folder = project(&[("app.py", SERVICE), ("süd/app 1.py", BLOCKING)]);
    let output = check(folder.path(), "sarif", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let log: Value = serde_json::from_slice(&output.stdout).expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "loopwise");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    // A link only where Cargo.toml names a repository; none is made up.
    assert_eq!(driver["informationUri"].as_str(), option_env!("CARGO_PKG_REPOSITORY").filter(|uri| !uri.is_empty()));
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let root_uri = run["originalUriBaseIds"]["%SRCROOT%"]["uri"].as_str().expect("the root's URI");
    assert!(root_uri.starts_with("file:///") && root_uri.ends_with('/'), "{root_uri}");

    // The reported rules, in code order, each described from its metadata.
    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().map(|rule| rule["id"].as_str().expect("an id")).collect();
    assert_eq!(ids, ["LW101", "LW201", "LW205", "LW303", "LW403"]);
    for rule in rules {
        let id = rule["id"].as_str().expect("an id");
        let explanation = stdout(&loopwise(folder.path(), &["rule", id]));
        assert_eq!(rule["help"]["text"], explanation.as_str(), "{id}");
        assert!(rule["shortDescription"]["text"].as_str().is_some_and(|text| !text.is_empty()), "{id}");
        assert!(rule["name"].as_str().is_some_and(|name| explanation.contains(name)), "{id}");
    }
    assert_eq!(rules[2]["defaultConfiguration"], serde_json::json!({"enabled": false, "level": "note"}));
    assert_eq!(rules[1]["defaultConfiguration"], serde_json::json!({"enabled": true, "level": "error"}));

    let results = run["results"].as_array().expect("results");
    let mut regions = Vec::new();
    for result in results {
        let index = usize::try_from(result["ruleIndex"].as_u64().expect("a rule index")).expect("small");
        assert_eq!(rules[index]["id"], result["ruleId"], "{result}");
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let uri = location["artifactLocation"]["uri"].as_str().expect("a URI");
        let region = &location["region"];
        let number = |key: &str| region[key].as_u64().expect("a number");
        if uri == "app.py" {
            let code = result["ruleId"].as_str().expect("an id").to_string();
            regions.push((code, number("startLine"), number("startColumn"), number("endLine"), number("endColumn")));
        } else {
            // Spaces and non-ASCII names are percent-encoded (UTF-8).
            assert_eq!(uri, "s%C3%BCd/app%201.py");
        }
        assert!(result["partialFingerprints"]["loopwise/v1"].as_str().is_some_and(|hash| hash.len() == 16));
    }
    assert_eq!(regions, json_locations(folder.path(), &["app.py"]));
    let levels: Vec<&str> = results.iter().filter_map(|result| result["level"].as_str()).collect();
    assert_eq!(levels, ["note", "warning", "error", "note", "warning", "warning"]);
    // Safe and unsafe fixes are offered, with their edits; the hint and the information have none.
    let fixes: Vec<bool> = results.iter().map(|result| result.get("fixes").is_some()).collect();
    assert_eq!(fixes, [false, true, true, false, true, true]);
    insta::assert_json_snapshot!("sarif_lw201_result", results[2]);

    if !python_has("jsonschema", "validating SARIF against its schema") {
        return;
    }
    if let Err(errors) = validate_sarif(&output.stdout) {
        panic!("the SARIF log breaks the SARIF 2.1.0 schema:\n{errors}");
    }
    // The validator does catch what breaks the schema, at the log's root and deep inside.
    for (pointer, value, expected) in
        [("/version", "3", "version: '3' is not one of"), ("/runs/0/results/0/level", "info", "level: 'info'")]
    {
        let mut broken = log.clone();
        *broken.pointer_mut(pointer).expect("the property exists") = Value::from(value);
        let broken = serde_json::to_vec(&broken).expect("JSON");
        let verdict = validate_sarif(&broken);
        assert!(verdict.as_ref().is_err_and(|errors| errors.contains(expected)), "{pointer} = {value}: {verdict:?}");
    }
}

#[test]
fn sarif_of_a_clean_run_is_a_valid_log_with_no_results() {
    let folder = project(&[("app.py", CLEAN)]);
    let output = check(folder.path(), "sarif", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let log: Value = serde_json::from_slice(&output.stdout).expect("SARIF is JSON");
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(log["runs"][0]["tool"]["driver"]["rules"], serde_json::json!([]));
    if python_has("jsonschema", "validating SARIF against its schema")
        && let Err(errors) = validate_sarif(&output.stdout)
    {
        panic!("the SARIF log of a clean run breaks the schema:\n{errors}");
    }
}

#[test]
fn sarif_paths_are_relative_to_the_repository_root() {
    // Run from a subfolder of a repository: paths start at the repository's root.
    let folder = project(&[("pkg/app.py", BLOCKING)]);
    std::fs::create_dir(folder.path().join(".git")).expect("make .git");
    let output = check(&folder.path().join("pkg"), "sarif", &[]);
    let log: Value = serde_json::from_slice(&output.stdout).expect("SARIF is JSON");
    let run = &log["runs"][0];
    assert_eq!(run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "pkg/app.py");
    let root = format!("file://{}/", real(folder.path()).display());
    assert_eq!(run["originalUriBaseIds"]["%SRCROOT%"]["uri"], root.as_str());
}

#[test]
fn sarif_fingerprints_ignore_line_numbers_and_tell_identical_lines_apart() {
    let source = "import asyncio\nimport time\n\nasync def f():\n    time.sleep(1)\n    time.sleep(1)\n    await asyncio.sleep(0)\n";
    let folder = project(&[("app.py", source)]);
    let fingerprints = || -> Vec<String> {
        let log: Value = serde_json::from_slice(&check(folder.path(), "sarif", &[]).stdout).expect("JSON");
        let results = log["runs"][0]["results"].as_array().expect("results").clone();
        results.iter().map(|result| result["partialFingerprints"]["loopwise/v1"].to_string()).collect()
    };
    let before = fingerprints();
    assert_eq!(before.len(), 2);
    assert_ne!(before[0], before[1], "two findings share a fingerprint");
    assert_eq!(fingerprints(), before, "not stable across runs");
    binary::write(folder.path(), "app.py", format!("# moved down\n\n{source}").as_bytes());
    assert_eq!(fingerprints(), before, "moving the lines changed the fingerprints");
}

// --- gitlab ---

#[test]
fn gitlab_code_quality_report_has_unique_stable_fingerprints() {
    let twice = "import asyncio\nimport time\n\nasync def f():\n    time.sleep(1)\n    time.sleep(1)\n    await asyncio.sleep(0)\n";
    let folder = project(&[("app.py", SERVICE), ("pkg/twice.py", twice)]);
    let output = check(folder.path(), "gitlab", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let issues: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    let issues = issues.as_array().expect("an array");
    insta::assert_json_snapshot!("gitlab_first_two", issues[..2]);
    let severities: Vec<&str> = issues.iter().filter_map(|issue| issue["severity"].as_str()).collect();
    assert_eq!(severities, ["info", "major", "critical", "minor", "major", "major", "major"]);
    let paths: Vec<&str> = issues.iter().filter_map(|issue| issue["location"]["path"].as_str()).collect();
    assert_eq!(paths, ["app.py", "app.py", "app.py", "app.py", "app.py", "pkg/twice.py", "pkg/twice.py"]);
    let positions: Vec<_> = issues
        .iter()
        .filter(|issue| issue["location"]["path"] == "app.py")
        .map(|issue| {
            let positions = &issue["location"]["positions"];
            let number = |value: &Value| value.as_u64().expect("a number");
            (
                issue["check_name"].as_str().expect("a name").to_string(),
                number(&positions["begin"]["line"]),
                number(&positions["begin"]["column"]),
                number(&positions["end"]["line"]),
                number(&positions["end"]["column"]),
            )
        })
        .collect();
    assert_eq!(positions, json_locations(folder.path(), &["app.py"]));

    let fingerprints = |output: &Output| -> Vec<String> {
        let issues: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
        issues.as_array().expect("an array").iter().map(|issue| issue["fingerprint"].to_string()).collect()
    };
    let before = fingerprints(&output);
    let mut unique = before.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), before.len(), "fingerprints repeat: {before:?}");
    binary::write(folder.path(), "app.py", format!("\n\n{SERVICE}").as_bytes());
    assert_eq!(fingerprints(&check(folder.path(), "gitlab", &[])), before, "moving lines changed them");
}

#[test]
fn gitlab_report_of_a_clean_run_is_an_empty_array() {
    let folder = project(&[("app.py", CLEAN)]);
    let output = check(folder.path(), "gitlab", &[]);
    assert_eq!((output.status.code(), stdout(&output).as_str()), (Some(0), "[]\n"));
}

// --- junit ---

/// Parses the report with Python's XML parser; `Err` says why it is not well-formed.
fn parse_xml(report: &[u8]) -> Result<(), String> {
    run_python("import sys, xml.etree.ElementTree as tree; tree.parse(sys.stdin.buffer)", &[], report)
}

#[test]
fn junit_report_has_a_failed_case_per_finding() {
    let folder = project(&[("app.py", SERVICE), ("a&b <c>.py", BLOCKING)]);
    let output = check(folder.path(), "junit", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    insta::assert_snapshot!("junit", stdout(&output));
    if python_has("xml.etree.ElementTree", "parsing the JUnit report")
        && let Err(error) = parse_xml(&output.stdout)
    {
        panic!("the JUnit report is not well-formed XML: {error}");
    }
}

#[test]
fn junit_report_of_a_clean_run_is_one_passing_case() {
    let folder = project(&[("app.py", CLEAN)]);
    let output = check(folder.path(), "junit", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"loopwise\" tests=\"1\" skipped=\"0\" failures=\"0\" errors=\"0\">\n    \
         <testsuite name=\"loopwise\" tests=\"1\" skipped=\"0\" errors=\"0\" failures=\"0\" package=\"org.loopwise\">\n        \
         <testcase name=\"No errors found\" classname=\"loopwise\"/>\n    </testsuite>\n</testsuites>\n"
    );
    if python_has("xml.etree.ElementTree", "parsing the JUnit report")
        && let Err(error) = parse_xml(&output.stdout)
    {
        panic!("the JUnit report is not well-formed XML: {error}");
    }
}

// --- pylint, json-lines, grouped ---

#[test]
fn pylint_lines_name_path_row_and_code() {
    let folder = project(&[("app.py", SERVICE)]);
    let output = check(folder.path(), "pylint", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "app.py:9: [LW205] Async function `idle` has no `await`, `async for` or `async with`\n\
         app.py:14: [LW101] Blocking call to `time.sleep` in async function\n\
         app.py:15: [LW201] The coroutine created by `work(...)` is never awaited\n\
         app.py:18: [LW303] `except Exception` around an `await` silences every error without a trace\n\
         app.py:22: [LW403] `asyncio.TimeoutError` is an alias of the builtin `TimeoutError`\n"
    );
    let clean = project(&[("app.py", CLEAN)]);
    assert_eq!(stdout(&check(clean.path(), "pylint", &[])), "");
}

#[test]
fn json_lines_hold_the_json_formats_objects_one_per_line() {
    let folder = project(&[("app.py", SERVICE), ("b.py", BLOCKING)]);
    let output = check(folder.path(), "json-lines", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let lines: Vec<Value> =
        stdout(&output).lines().map(|line| serde_json::from_str(line).expect("each line is JSON")).collect();
    let array: Value = serde_json::from_slice(&check(folder.path(), "json", &[]).stdout).expect("JSON");
    assert_eq!(lines.len(), 6);
    assert_eq!(Value::from(lines), array);
    let clean = project(&[("app.py", CLEAN)]);
    let output = check(clean.path(), "json-lines", &[]);
    assert_eq!((output.status.code(), stdout(&output).as_str()), (Some(0), ""));
}

#[test]
fn grouped_lists_findings_under_their_file_with_aligned_locations() {
    let folder = project(&[("app.py", SERVICE), ("b.py", BLOCKING)]);
    let output = check(folder.path(), "grouped", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!(
            "app.py:\n   \
         9:11 LW205 Async function `idle` has no `await`, `async for` or `async with`\n  \
         14:15 LW101 Blocking call to `time.sleep` in async function\n  \
         15:5  LW201 [*] The coroutine created by `work(...)` is never awaited\n  \
         18:12 LW303 `except Exception` around an `await` silences every error without a trace\n  \
         22:12 LW403 [*] `asyncio.TimeoutError` is an alias of the builtin `TimeoutError`\n\
         \n\
         b.py:\n  \
         5:5 LW101 Blocking call to `time.sleep` in async function\n\
         \n{}",
            closing_lines(folder.path(), &[])
        )
    );
    // With --unsafe-fixes, the unsafe fixes are marked too.
    let unsafe_ = stdout(&check(folder.path(), "grouped", &["--unsafe-fixes"]));
    assert!(unsafe_.contains("  14:15 LW101 [*] Blocking call"), "{unsafe_}");
    let clean = project(&[("app.py", CLEAN)]);
    assert_eq!(stdout(&check(clean.path(), "grouped", &[])), closing_lines(clean.path(), &[]));
    assert_eq!(closing_lines(clean.path(), &[]), "All checks passed!\n");
}

/// The summary the `concise` format ends with (`cli::output` writes it for `grouped` too):
/// its lines after the findings.
fn closing_lines(folder: &Path, extra: &[&str]) -> String {
    let findings = json_locations(folder, extra).len();
    let concise = stdout(&check(folder, "concise", extra));
    concise.split_inclusive('\n').skip(findings).collect()
}

// --- --output-file ---

#[test]
fn output_file_takes_the_report_and_makes_its_folders() {
    let folder = project(&[("app.py", SERVICE)]);
    let output = check(folder.path(), "sarif", &["--output-file", "reports/ci/loopwise.sarif"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "", "the report went to stdout too");
    let written = std::fs::read(folder.path().join("reports/ci/loopwise.sarif")).expect("the report file");
    assert_eq!(written, check(folder.path(), "sarif", &[]).stdout);
}

#[test]
fn output_file_that_cannot_be_written_is_an_error_naming_it() {
    let folder = project(&[("app.py", SERVICE), ("taken", "a file, not a folder")]);
    let output = check(folder.path(), "gitlab", &["-o", "taken/report.json"]);
    assert_eq!(output.status.code(), Some(2));
    let text = stderr(&output);
    assert!(text.contains("error: cannot write the report: taken/report.json: "), "{text}");
}

#[test]
fn output_file_with_fix_on_stdin_keeps_the_fixed_text_on_stdout() {
    let folder = project(&[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .current_dir(folder.path())
        .args(["check", "-", "--fix", "--no-cache", "--output-format", "pylint", "-o", "report.txt"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the loopwise binary runs");
    // The coroutine is awaited by the safe fix; the blocking call's fix is unsafe, so it remains.
    let source = "import asyncio\nimport time\n\nasync def f():\n    asyncio.sleep(1)\n    time.sleep(1)\n";
    child.stdin.take().expect("stdin").write_all(source.as_bytes()).expect("write stdin");
    let output = child.wait_with_output().expect("loopwise ends");
    assert_eq!(stdout(&output), source.replacen("    asyncio.sleep(1)\n", "    await asyncio.sleep(1)\n", 1));
    assert_eq!(stderr(&output), "");
    let report = std::fs::read_to_string(folder.path().join("report.txt")).expect("the report file");
    assert_eq!(report, "-:6: [LW101] Blocking call to `time.sleep` in async function\n");
}

#[test]
fn output_file_is_refused_with_diff() {
    let folder = project(&[("app.py", SERVICE)]);
    let output = check(folder.path(), "full", &["--diff", "--output-file", "report.txt"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot be used with"), "{}", stderr(&output));
    assert!(!folder.path().join("report.txt").exists());
}

// --- the cache ---

#[test]
fn cached_runs_print_every_format_as_uncached_runs_do() {
    let folder = project(&[("app.py", SERVICE), ("süd/b.py", BLOCKING)]);
    for format in ["json-lines", "github", "gitlab", "sarif", "junit", "pylint", "grouped"] {
        let base = ["check", "--output-format", format, "--target-version", "3.12", "--extend-select", "LW205"];
        let uncached = loopwise(folder.path(), &[&base[..], &["--no-cache"]].concat());
        // The first run fills the cache (the first format's, at least), the second reads every
        // file from it.
        for run in 0..2 {
            let cached = loopwise(folder.path(), &[&base[..], &["--cache-dir", ".cache", "-v"]].concat());
            assert_eq!(stdout(&cached), stdout(&uncached), "{format}");
            assert_eq!(cached.status.code(), Some(1), "{format}: {}", stderr(&cached));
            if run == 1 {
                assert!(stderr(&cached).contains("2 files, 2 of them from the cache"), "{}", stderr(&cached));
            }
        }
    }
}
