//! `loopwise check` and `loopwise rule` end to end: the built binary on files in a temporary
//! folder, checking stdout, stderr and the exit code as a user sees them.

mod binary;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use binary::{loopwise, stderr, stdout};

const BLOCKING: &str = "import time\n\nasync def handler():\n    time.sleep(1)\n";

fn project(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let folder = tempfile::tempdir().expect("temporary folder");
    for (name, content) in files {
        binary::write(folder.path(), name, content);
    }
    folder
}

#[test]
fn clean_project_exits_zero() {
    let folder = project(&[("app.py", b"import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n")]);
    let output = loopwise(folder.path(), &["check"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "All checks passed!\n");
}

#[test]
fn findings_exit_one_in_concise_format() {
    let folder = project(&[("app.py", BLOCKING.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "app.py:4:5: LW101 [warning] Blocking call to `time.sleep` in async function\nFound 1 warning.\n\
         No fixes available (1 hidden fix can be enabled with the --unsafe-fixes option).\n"
    );
}

#[test]
fn full_format_shows_a_code_frame() {
    let folder = project(&[("app.py", BLOCKING.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "app.py"]);
    let text = stdout(&output);
    assert!(
        text.starts_with("warning[LW101]: Blocking call to `time.sleep` in async function\n --> app.py:4:5\n"),
        "{text}"
    );
    assert!(text.contains("4 |     time.sleep(1)\n  |     ^^^^^^^^^^^^^\n"), "{text}");
}

#[test]
fn json_format_follows_ruffs_schema_with_character_columns() {
    // The emoji is one character but two UTF-16 units and four bytes: columns count characters
    // (the call starts at character 14, UTF-16 unit 15, byte 17).
    let source = "import time\n\nasync def handler():\n    x = \"🎉\"; time.sleep(1)\n";
    let folder = project(&[("app.py", source.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "--output-format", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let messages: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let message = &messages[0];
    assert_eq!(message["code"], "LW101");
    assert_eq!(message["name"], "blocking-sleep");
    assert_eq!(message["severity"], "warning");
    assert_eq!(message["location"], serde_json::json!({"row": 4, "column": 14}));
    assert_eq!(message["end_location"], serde_json::json!({"row": 4, "column": 27}));
    assert_eq!(message["noqa_row"], 4);
    assert_eq!(message["fix"]["applicability"], "unsafe");
    assert_eq!(message["fix"]["message"], "Replace with `await asyncio.sleep(...)`");
    assert_eq!(
        message["fix"]["edits"],
        serde_json::json!([
            {"content": "import asyncio\n", "location": {"row": 1, "column": 1}, "end_location": {"row": 1, "column": 1}},
            {"content": "await ", "location": {"row": 4, "column": 14}, "end_location": {"row": 4, "column": 14}},
            {"content": "asyncio.sleep", "location": {"row": 4, "column": 14}, "end_location": {"row": 4, "column": 24}},
        ])
    );
    assert!(message["filename"].as_str().is_some_and(|name| name.ends_with("app.py") && Path::new(name).is_absolute()));
    // Cargo.toml names no repository, and no other page documents the rules: no link.
    assert_eq!(message["url"], serde_json::Value::Null);
}

#[test]
fn stdin_with_a_file_name() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .args(["check", "-", "--stdin-filename", "service/api.py", "--output-format", "concise"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(BLOCKING.as_bytes()).expect("write stdin");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).starts_with("service/api.py:4:5: LW101 "), "{}", stdout(&output));
}

#[test]
fn unreadable_file_is_an_error_and_the_rest_is_still_checked() {
    let folder = project(&[("a_bad.py", b"x = 1\ny = '\xff\xfe'\n"), ("b_good.py", BLOCKING.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("a_bad.py:2: not valid UTF-8"), "{}", stderr(&output));
    assert!(stdout(&output).contains("b_good.py:4:5: LW101"), "{}", stdout(&output));
}

#[test]
fn unknown_config_key_names_file_line_and_key() {
    let folder = project(&[
        ("pyproject.toml", b"[project]\nname = \"demo\"\n\n[tool.loopwise]\nignore = [\"LW102\"]\nselct = [\"LW1\"]\n"),
        ("app.py", BLOCKING.as_bytes()),
        ("other.py", BLOCKING.as_bytes()),
    ]);
    let output = loopwise(folder.path(), &["check"]);
    assert_eq!(output.status.code(), Some(2));
    let errors = stderr(&output);
    assert!(errors.contains("pyproject.toml:6: unknown field `selct`"), "{errors}");
    assert_eq!(errors.matches("selct").count(), 1, "reported once: {errors}");
}

#[test]
fn unknown_code_in_config_is_an_error() {
    let folder =
        project(&[("loopwise.toml", b"select = [\n  \"LW1\",\n  \"LW777\",\n]\n"), ("app.py", BLOCKING.as_bytes())]);
    let output = loopwise(folder.path(), &["check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("loopwise.toml:3: `select`: unknown rule selector `LW777`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn unknown_code_on_the_command_line_is_an_error() {
    let folder = project(&[("app.py", BLOCKING.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "--ignore", "LW1O1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("unknown rule selector `LW1O1`"), "{}", stderr(&output));
}

#[test]
fn selection_by_alias_and_prefix_from_cli_and_config() {
    let folder = project(&[("app.py", b"import time\n\nasync def f():\n    time.sleep(1)\n    input()\n")]);
    let concise = ["check", "--output-format", "concise"];
    let run = |extra: &[&str]| stdout(&loopwise(folder.path(), &[&concise[..], extra].concat()));
    assert!(run(&[]).contains("LW101") && run(&[]).contains("LW105"));
    let ignored = run(&["--ignore", "ASYNC251"]);
    assert!(!ignored.contains("LW101") && ignored.contains("LW105"), "{ignored}");
    let selected = run(&["--select", "LW10,LW999"]);
    assert!(selected.is_empty(), "an unknown code must fail, not be skipped: {selected}");
    let selected = run(&["--select", "LW101"]);
    assert!(selected.contains("LW101") && !selected.contains("LW105"), "{selected}");
    std::fs::write(folder.path().join(".loopwise.toml"), "ignore = [\"LW1\"]\n").expect("write config");
    assert_eq!(run(&[]), "All checks passed!\n");
    let extended = run(&["--extend-select", "LW105"]);
    assert!(!extended.contains("LW101") && extended.contains("LW105"), "{extended}");
}

#[test]
fn nearest_configuration_wins() {
    let folder = project(&[
        ("pyproject.toml", b"[tool.loopwise]\nignore = [\"LW105\"]\n"),
        ("pkg/loopwise.toml", b"ignore = [\"LW101\"]\n"),
        ("top.py", b"import time\nasync def f():\n    time.sleep(1)\n    input()\n"),
        ("pkg/inner.py", b"import time\nasync def f():\n    time.sleep(1)\n    input()\n"),
    ]);
    let text = stdout(&loopwise(folder.path(), &["check", "--output-format", "concise"]));
    assert!(text.contains("top.py:3:5: LW101"), "{text}");
    assert!(!text.contains("top.py:4:5: LW105"), "{text}");
    assert!(text.contains("pkg/inner.py:4:5: LW105"), "{text}");
    assert!(!text.contains("pkg/inner.py:3:5: LW101"), "{text}");
}

#[test]
fn per_file_ignores_noqa_and_file_level_noqa() {
    let folder = project(&[
        ("pyproject.toml", b"[tool.loopwise.per-file-ignores]\n\"tests/*.py\" = [\"LW101\"]\n\"scripts.py\" = [\"ASYNC250\"]\n"),
        ("tests/test_app.py", BLOCKING.as_bytes()),
        ("scripts.py", b"async def f():\n    input()\n"),
        ("quiet.py", b"import time\nasync def f():\n    time.sleep(1)  # noqa: ASYNC251\n    time.sleep(2)  # noqa\n    time.sleep(3)  # noqa: LW105\n"),
        (
            "multi.py",
            b"import time\nasync def f():\n    x = [  # noqa: LW101\n        time.sleep(1),\n    ]\n    y = [\n        time.sleep(2),\n    ]\n",
        ),
        ("whole.py", b"#!/usr/bin/env python\n# loopwise: noqa\nimport time\nasync def f():\n    time.sleep(1)\n"),
    ]);
    let text = stdout(&loopwise(folder.path(), &["check", "--output-format", "concise"]));
    assert!(!text.contains("tests/test_app.py"), "{text}");
    assert!(!text.contains("scripts.py"), "{text}");
    assert!(!text.contains("quiet.py:3:") && !text.contains("quiet.py:4:"), "{text}");
    assert!(text.contains("quiet.py:5:5: LW101"), "{text}");
    assert!(!text.contains("multi.py:4:"), "noqa on the first line of a statement: {text}");
    assert!(text.contains("multi.py:7:9: LW101"), "{text}");
    assert!(!text.contains("whole.py"), "{text}");
}

#[test]
fn walking_honours_gitignore_hidden_folders_and_exclude() {
    let folder = project(&[
        (".gitignore", b"generated/\n"),
        ("generated/api.py", BLOCKING.as_bytes()),
        (".hidden/x.py", BLOCKING.as_bytes()),
        (".venv/lib/y.py", BLOCKING.as_bytes()),
        ("legacy/old.py", BLOCKING.as_bytes()),
        ("loopwise.toml", b"extend-exclude = [\"legacy\"]\n"),
        ("src/app.py", BLOCKING.as_bytes()),
        ("notes.txt", b"time.sleep(1)\n"),
    ]);
    // The ignore crate reads .gitignore only inside a git repository, as ripgrep and ruff do.
    std::fs::create_dir(folder.path().join(".git")).expect("mark as repository");
    let text = stdout(&loopwise(folder.path(), &["check", "--output-format", "concise"]));
    assert!(
        text.starts_with(
            "src/app.py:4:5: LW101 [warning] Blocking call to `time.sleep` in async function\nFound 1 warning.\n"
        ),
        "{text}"
    );
    let explicit = stdout(&loopwise(folder.path(), &["check", "--output-format", "concise", "legacy/old.py"]));
    assert!(explicit.contains("legacy/old.py:4:5: LW101"), "a named file is always checked: {explicit}");
}

#[test]
fn a_folder_named_on_the_command_line_is_checked_even_when_excluded() {
    let folder = project(&[
        ("pyproject.toml", b"[project]\nname = \"x\"\n"),
        ("build/a.py", BLOCKING.as_bytes()),
        ("build/sub/b.py", BLOCKING.as_bytes()),
        ("build/sub/build/c.py", BLOCKING.as_bytes()),
        ("src/app.py", BLOCKING.as_bytes()),
    ]);
    let whole = stdout(&loopwise(folder.path(), &["check", "--no-cache", "--output-format", "concise"]));
    assert!(
        whole.starts_with("src/app.py:4:5: LW101") && whole.contains("Found 1 warning."),
        "build/ is excluded by default: {whole}"
    );
    // As with ruff, the named folder's contents are walked; a folder below it named like an
    // excluded one is still excluded.
    let named = stdout(&loopwise(folder.path(), &["check", "--no-cache", "--output-format", "concise", "build"]));
    assert!(
        named.starts_with(
            "build/a.py:4:5: LW101 [warning] Blocking call to `time.sleep` in async function\nbuild/sub/b.py:4:5: LW101"
        ) && named.contains("Found 2 warnings."),
        "{named}"
    );
}

#[test]
fn statistics_exit_zero_and_explicit_config() {
    let folder = project(&[
        ("a.py", b"import time\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n    input()\n"),
        ("conf/strict.toml", b"select = [\"LW105\"]\n"),
    ]);
    let output = loopwise(folder.path(), &["check", "--statistics"]);
    assert!(
        stdout(&output).starts_with("2\tLW101\t[ ] blocking-sleep\n1\tLW105\t[ ] blocking-input\nFound 3 warnings.\n"),
        "{}",
        stdout(&output)
    );
    let output = loopwise(folder.path(), &["check", "--exit-zero"]);
    assert_eq!(output.status.code(), Some(0));
    let output = loopwise(folder.path(), &["check", "--config", "conf/strict.toml", "--output-format", "concise"]);
    assert!(
        stdout(&output)
            .starts_with("a.py:5:5: LW105 [warning] Blocking call to `input` in async function\nFound 1 warning.\n"),
        "{}",
        stdout(&output)
    );
    let output = loopwise(folder.path(), &["check", "--config", "missing.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("missing.toml: configuration file not found"));
}

#[test]
fn missing_path_is_an_error() {
    let folder = project(&[("a.py", BLOCKING.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "nope", "a.py"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("nope: no such file or folder"));
    assert!(stdout(&output).contains("LW101"), "the other path is still checked");
}

#[test]
fn rule_explains_and_lists() {
    let folder = project(&[]);
    let output = loopwise(folder.path(), &["rule", "ASYNC251"]);
    let text = stdout(&output);
    assert!(text.starts_with("# blocking-sleep (LW101)\n"), "{text}");
    assert!(text.contains("## Why is this bad?\n") && text.contains("await asyncio.sleep(1)"), "{text}");
    assert_eq!(stdout(&loopwise(folder.path(), &["rule", "blocking-sleep"])), text, "by name too");
    let output = loopwise(folder.path(), &["rule", "--all"]);
    let list = stdout(&output);
    assert_eq!(list.lines().count(), loopwise::rules::Rule::ALL.len() + 1, "a header and a line per rule");
    let columns = |code: &str| -> Vec<String> {
        let line = list.lines().find(|line| line.starts_with(code)).unwrap_or_else(|| panic!("{code}: {list}"));
        line.split("  ").map(str::trim).filter(|cell| !cell.is_empty()).map(str::to_string).collect()
    };
    assert_eq!(columns("code")[..4], ["code", "name", "default", "fix"]);
    assert_eq!(columns("LW101")[..4], ["LW101", "blocking-sleep", "warning", "unsafe"]);
    assert_eq!(columns("LW502")[..4], ["LW502", "get-event-loop-in-coroutine", "warning", "safe"]);
    assert_eq!(columns("LW205")[..4], ["LW205", "async-without-await", "off (hint)", "none"]);
    assert_eq!(loopwise(folder.path(), &["rule", "LW000"]).status.code(), Some(2));
}

#[test]
fn rule_reference_as_one_markdown_document() {
    let folder = project(&[]);
    let output = loopwise(folder.path(), &["rule", "--all", "--output-format", "markdown"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert_eq!(text, loopwise::cli::rules_markdown());
    assert!(text.starts_with("# loopwise rules\n"), "{text}");
    assert!(text.contains("| [LW101](#blocking-sleep-lw101) | blocking-sleep | warning | `await asyncio.sleep(...)`"));
    assert!(text.contains("\n## blocking-sleep (LW101)\n") && text.contains("\n### Why is this bad?\n"), "{text}");
}

/// Reads one `Content-Length` framed message.
fn read_message(reader: &mut impl std::io::BufRead) -> serde_json::Value {
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).expect("read a header line");
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some(value) = header.strip_prefix("Content-Length: ") {
            length = value.parse().expect("a numeric Content-Length");
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("read the body");
    serde_json::from_slice(&body).expect("a JSON body")
}

/// `loopwise server` with piped stdin and stdout, and a way to send it framed messages.
fn server_binary() -> (std::process::Child, impl FnMut(&str), std::io::BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .arg("server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the server");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let send = move |message: &str| {
        write!(stdin, "Content-Length: {}\r\n\r\n{message}", message.len()).expect("write a message");
        stdin.flush().expect("flush");
    };
    (child, send, stdout)
}

/// The server's exit status, within 10 s; the pipe stays open, as an editor keeps it.
fn exit_status_within_10_s(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("poll the server") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within 10 s of `exit`");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn server_binary_answers_and_exits_on_exit() {
    let (mut child, mut send, mut stdout) = server_binary();
    send(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#);
    let initialized = read_message(&mut stdout);
    assert_eq!(initialized["result"]["capabilities"]["positionEncoding"], "utf-16", "{initialized}");
    send(r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#);
    assert_eq!(read_message(&mut stdout)["id"], 2);
    send(r#"{"jsonrpc":"2.0","method":"exit"}"#);
    // `exit` alone must end the process.
    let status = exit_status_within_10_s(&mut child);
    assert!(status.success(), "{status}");
}

#[test]
fn server_binary_exits_with_one_on_exit_without_shutdown() {
    let (mut child, mut send, mut stdout) = server_binary();
    send(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#);
    read_message(&mut stdout);
    send(r#"{"jsonrpc":"2.0","method":"exit"}"#);
    assert_eq!(exit_status_within_10_s(&mut child).code(), Some(1), "LSP: exit without shutdown is an error");
}

#[test]
fn configured_severity_reaches_the_output() {
    let folder =
        project(&[("loopwise.toml", b"severity = { ASYNC251 = \"error\" }\n"), ("app.py", BLOCKING.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "--output-format", "json"]);
    let messages: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    assert_eq!(messages[0]["severity"], "error", "{messages}");
}

#[test]
fn pytest_asyncio_auto_mode_silences_unmarked_async_tests() {
    let unmarked = b"async def test_get():\n    pass\n";
    let folder = project(&[
        ("strict/tests/test_api.py", b"import pytest\n\nasync def test_get():\n    pass\n"),
        ("auto/pyproject.toml", b"[tool.pytest.ini_options]\nasyncio_mode = \"auto\"\n"),
        ("auto/tests/test_api.py", unmarked),
        ("ini/pytest.ini", b"[pytest]\nasyncio_mode = auto\n"),
        ("ini/test_api.py", unmarked),
        ("cfg/setup.cfg", b"[tool:pytest]\nasyncio_mode = strict\n"),
        ("cfg/test_api.py", unmarked),
        ("tox/tox.ini", b"[tox]\nenvlist = py311\n\n[pytest]\nasyncio_mode=auto\n"),
        ("tox/test_api.py", unmarked),
    ]);
    let text = stdout(&loopwise(folder.path(), &["check", "--select", "LW801", "--output-format", "concise"]));
    assert!(text.contains("strict/tests/test_api.py:3:11: LW801"), "{text}");
    assert!(text.contains("cfg/test_api.py:1:11: LW801"), "{text}");
    assert!(!text.contains("auto/"), "{text}");
    assert!(!text.contains("ini/"), "{text}");
    assert!(!text.contains("tox/"), "{text}");
}

/// Each way a project can run unmarked async tests (or not use pytest at all) silences LW801,
/// next to the same file in a plain strict pytest project, which is reported.
#[test]
fn test_runners_the_project_declares_decide_lw801() {
    let unmarked: &[u8] = b"async def test_get():\n    pass\n";
    let with_pytest: &[u8] = b"import pytest\n\n\nasync def test_get():\n    pass\n";
    let strict_ini: &[u8] = b"[pytest]\n";
    let folder = project(&[
        // Reported: a pytest project in strict mode, with or without `import pytest`.
        ("strict/pytest.ini", strict_ini),
        ("strict/tests/test_api.py", unmarked),
        ("strict/tests/conftest.py", b"def pytest_collection_modifyitems(items):\n    items.sort()\n"),
        ("imports/pyproject.toml", b"[project]\nname = \"x\"\n"),
        ("imports/tests/test_api.py", with_pytest),
        // Not pytest: no pytest configuration and no pytest import (unittest, a script).
        ("plain/pyproject.toml", b"[project]\nname = \"x\"\n"),
        ("plain/tests/test_api.py", unmarked),
        // Runners that take unmarked async tests.
        ("trio/pytest.ini", b"[pytest]\ntrio_mode = true\n"),
        ("trio/test_api.py", with_pytest),
        ("native/pyproject.toml", b"[tool.pytest]\nasyncio_mode = \"auto\"\n"),
        ("native/test_api.py", with_pytest),
        ("hook/pytest.ini", strict_ini),
        (
            "hook/tests/conftest.py",
            b"import pytest\n\n\ndef pytest_collection_modifyitems(items):\n    for item in items:\n        item.add_marker(pytest.mark.asyncio)\n",
        ),
        ("hook/tests/test_api.py", with_pytest),
        ("fixture/pytest.ini", strict_ini),
        ("fixture/conftest.py", b"import pytest\n\n\n@pytest.fixture\nasync def client():\n    yield 1\n"),
        ("fixture/tests/test_api.py", with_pytest),
        ("anyio/pytest.ini", strict_ini),
        ("anyio/conftest.py", b"import pytest\n\n\n@pytest.fixture\ndef anyio_backend():\n    return \"asyncio\"\n"),
        ("anyio/test_api.py", with_pytest),
        ("plugin/pytest.ini", b"[pytest]\naddopts = -p pytest_aio\n"),
        ("plugin/test_api.py", with_pytest),
        ("deps/pyproject.toml", b"[project]\nname = \"x\"\n\n[project.optional-dependencies]\ntest = [\"pytest\", \"pytest-aio>=1.5\"]\n"),
        ("deps/tests/test_api.py", with_pytest),
    ]);
    let text = stdout(&loopwise(folder.path(), &["check", "--select", "LW801", "--output-format", "concise"]));
    assert!(text.contains("strict/tests/test_api.py:1:11: LW801"), "{text}");
    assert!(text.contains("imports/tests/test_api.py:4:11: LW801"), "{text}");
    for quiet in ["plain/", "trio/", "native/", "hook/", "fixture/", "anyio/", "plugin/", "deps/"] {
        assert!(!text.contains(quiet), "{quiet}: {text}");
    }
    let shown = stdout(&loopwise(folder.path(), &["check", "--show-settings", "hook/tests/test_api.py"]));
    assert!(shown.contains("unmarked async tests run: yes"), "{shown}");
    assert!(shown.contains("hook `pytest_collection_modifyitems`, which adds runner marks"), "{shown}");
}

/// Test code (tests folders, test modules, conftest.py) is not checked for blocking calls and
/// missing timeouts by default; `test-ignore = []` checks it, `test-paths` says what it is.
#[test]
fn test_code_profile_skips_blocking_rules_in_tests() {
    let reads = b"async def test_reads():\n    open(\"fixture.json\").read()\n";
    let files: [(&str, &[u8]); 6] = [
        ("pyproject.toml", b"[project]\nname = \"x\"\n"),
        ("src/app.py", reads),
        ("tests/helpers/data.py", reads),
        ("pkg/test_unit.py", reads),
        ("pkg/conftest.py", reads),
        ("testsuite/check.py", reads),
    ];
    let folder = project(&files);
    let text = stdout(&loopwise(folder.path(), &["check", "--select", "LW104", "--output-format", "concise"]));
    assert!(text.contains("src/app.py:2:5: LW104"), "{text}");
    assert!(text.contains("testsuite/check.py:2:5: LW104"), "a name matches whole components: {text}");
    for quiet in ["tests/helpers/data.py", "pkg/test_unit.py", "pkg/conftest.py"] {
        assert!(!text.contains(quiet), "{quiet}: {text}");
    }
    let shown = stdout(&loopwise(folder.path(), &["check", "--show-settings", "tests/helpers/data.py"]));
    assert!(shown.contains("not run on this file: LW101, LW102"), "{shown}");
    let shown = stdout(&loopwise(folder.path(), &["check", "--show-settings", "src/app.py"]));
    assert!(shown.contains("not run on this file: none"), "{shown}");
    let configured =
        project(&[("pyproject.toml", b"[tool.loopwise]\ntest-ignore = []\n"), ("tests/test_io.py", reads)]);
    let text = stdout(&loopwise(configured.path(), &["check", "--select", "LW104", "--output-format", "concise"]));
    assert!(text.contains("tests/test_io.py:2:5: LW104"), "{text}");
    let configured = project(&[
        ("loopwise.toml", b"test-paths = [\"testsuite\"]\ntest-ignore = [\"LW104\"]\n"),
        ("testsuite/check.py", reads),
        ("tests/test_io.py", reads),
    ]);
    let text = stdout(&loopwise(configured.path(), &["check", "--select", "LW104", "--output-format", "concise"]));
    assert!(!text.contains("testsuite/"), "{text}");
    assert!(text.contains("tests/test_io.py:2:5: LW104"), "{text}");
    let bad = project(&[("loopwise.toml", b"test-ignore = [\"LW999\"]\n"), ("app.py", reads)]);
    let output = loopwise(bad.path(), &["check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("loopwise.toml:1: `test-ignore`: unknown rule selector `LW999`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn target_version_comes_from_the_nearest_declaration_and_show_settings_says_where() {
    let gather = b"import asyncio\n\n\nasync def main(a, b):\n    await asyncio.gather(a(), b())\n";
    let folder = project(&[
        ("setup_py/setup.py", b"from setuptools import setup\n\nsetup(name=\"x\", python_requires=\">=3.9\")\n"),
        ("setup_py/app.py", gather),
        ("poetry/pyproject.toml", b"[tool.poetry.dependencies]\npython = \"^3.10\"\n"),
        ("poetry/app.py", gather),
        ("ruff/ruff.toml", b"target-version = \"py311\"\n"),
        ("ruff/app.py", gather),
        ("cfg/setup.cfg", b"[options]\npython_requires = >=3.8, <4\n"),
        ("cfg/app.py", gather),
        (
            "own/pyproject.toml",
            b"[project]\nrequires-python = \">=3.9\"\n\n[tool.loopwise]\ntarget-version = \"3.12\"\n",
        ),
        ("own/app.py", gather),
    ]);
    // LW501 (gather -> TaskGroup) needs 3.11: only the ruff and loopwise targets allow it.
    let text = stdout(&loopwise(folder.path(), &["check", "--select", "LW501", "--output-format", "concise"]));
    assert!(text.contains("ruff/app.py:5:11: LW501"), "{text}");
    assert!(text.contains("own/app.py:5:11: LW501"), "{text}");
    for quiet in ["setup_py/", "poetry/", "cfg/"] {
        assert!(!text.contains(quiet), "{quiet}: {text}");
    }
    let shown = stdout(&loopwise(folder.path(), &["check", "--show-settings", "setup_py/app.py"]));
    assert!(shown.contains("target-version: 3.9"), "{shown}");
    assert!(shown.contains("setup.py (python_requires= \">=3.9\")"), "{shown}");
    let shown = stdout(&loopwise(folder.path(), &["check", "--show-settings", "poetry/app.py"]));
    assert!(shown.contains("target-version: 3.10"), "{shown}");
    assert!(shown.contains("tool.poetry.dependencies.python"), "{shown}");
    let shown = stdout(&loopwise(folder.path(), &["check", "--show-settings", "own/app.py"]));
    assert!(shown.contains("target-version: 3.12"), "{shown}");
    assert!(shown.contains("own/pyproject.toml (target-version \"3.12\")"), "{shown}");
    let output = loopwise(folder.path(), &["check", "--show-settings", "missing.py"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("missing.py: no such file or folder"), "{}", stderr(&output));
}

// `check --fix`, `--unsafe-fixes` and `--diff`. LW101 (`time.sleep`) has an unsafe fix, LW502
// (`asyncio.get_event_loop()` in a coroutine) a safe one.

const MIXED: &str = "import asyncio\nimport time\n\n\nasync def handler():\n    loop = asyncio.get_event_loop()\n    time.sleep(1)\n    return loop\n";

const MIXED_SAFE_FIXED: &str = "import asyncio\nimport time\n\n\nasync def handler():\n    loop = asyncio.get_running_loop()\n    time.sleep(1)\n    return loop\n";

fn read(folder: &tempfile::TempDir, name: &str) -> String {
    std::fs::read_to_string(folder.path().join(name)).expect("read file")
}

#[test]
fn fix_with_unsafe_fixes_rewrites_blocking_sleep_and_adds_the_import() {
    let folder = project(&[("app.py", BLOCKING.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "--fix", "--unsafe-fixes"]);
    assert_eq!(stdout(&output), "Found 1 finding (1 fixed, 0 remaining).\n");
    assert_eq!(output.status.code(), Some(0), "nothing remains: {}", stderr(&output));
    assert_eq!(
        read(&folder, "app.py"),
        "import asyncio\nimport time\n\nasync def handler():\n    await asyncio.sleep(1)\n"
    );
    let again = loopwise(folder.path(), &["check"]);
    assert_eq!((again.status.code(), stdout(&again)), (Some(0), "All checks passed!\n".to_string()));
}

#[test]
fn fix_applies_only_safe_fixes_unless_unsafe_fixes_is_given() {
    let folder = project(&[("app.py", MIXED.as_bytes())]);
    let concise = ["check", "--output-format", "concise"];
    let before = loopwise(folder.path(), &concise);
    assert!(
        stdout(&before).ends_with(
            "Found 2 warnings.\n[*] 1 fixable with the --fix option (1 hidden fix can be enabled with the --unsafe-fixes option).\n"
        ),
        "{}",
        stdout(&before)
    );
    let counted = loopwise(folder.path(), &[&concise[..], &["--unsafe-fixes"]].concat());
    assert!(
        stdout(&counted).ends_with("Found 2 warnings.\n[*] 2 fixable with the --fix option.\n"),
        "{}",
        stdout(&counted)
    );
    assert_eq!(read(&folder, "app.py"), MIXED, "--unsafe-fixes alone writes nothing");

    let fixed = loopwise(folder.path(), &[&concise[..], &["--fix"]].concat());
    assert_eq!(fixed.status.code(), Some(1), "a finding remains");
    assert_eq!(
        stdout(&fixed),
        "app.py:7:5: LW101 [warning] Blocking call to `time.sleep` in async function\n\
         Found 2 findings (1 fixed, 1 remaining: 1 warning).\n\
         No fixes available (1 hidden fix can be enabled with the --unsafe-fixes option).\n"
    );
    assert_eq!(read(&folder, "app.py"), MIXED_SAFE_FIXED);
    assert_eq!(loopwise(folder.path(), &["check", "--fix", "--exit-zero"]).status.code(), Some(0));

    let all = loopwise(folder.path(), &["check", "--fix", "--unsafe-fixes"]);
    assert_eq!((all.status.code(), stdout(&all)), (Some(0), "Found 1 finding (1 fixed, 0 remaining).\n".to_string()));
    assert!(read(&folder, "app.py").contains("    await asyncio.sleep(1)\n"));
}

#[test]
fn json_after_fix_reports_what_remains() {
    let folder = project(&[("app.py", MIXED.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "--fix", "--output-format", "json"]);
    let messages: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    let codes: Vec<&str> = messages.as_array().expect("an array").iter().filter_map(|m| m["code"].as_str()).collect();
    assert_eq!(codes, ["LW101"]);
    assert_eq!(messages[0]["location"], serde_json::json!({"row": 7, "column": 5}));
}

#[test]
fn diff_prints_a_patch_and_writes_nothing() {
    let folder = project(&[("pkg/app.py", MIXED.as_bytes()), ("clean.py", b"x = 1\n")]);
    let output = loopwise(folder.path(), &["check", "--diff"]);
    assert_eq!(output.status.code(), Some(1), "there would be changes");
    assert_eq!(
        stdout(&output),
        "--- a/pkg/app.py\n+++ b/pkg/app.py\n@@ -3,6 +3,6 @@\n \n \n async def handler():\n\
         -    loop = asyncio.get_event_loop()\n+    loop = asyncio.get_running_loop()\n     time.sleep(1)\n     return loop\n"
    );
    assert_eq!(stderr(&output), "Would fix 1 finding (1 additional fix available with --unsafe-fixes).\n");
    assert_eq!(read(&folder, "pkg/app.py"), MIXED, "byte-identical");

    let output = loopwise(folder.path(), &["check", "--diff", "--unsafe-fixes", "--fix"]);
    assert!(stdout(&output).contains("+    await asyncio.sleep(1)\n"), "{}", stdout(&output));
    assert_eq!(stderr(&output), "Would fix 2 findings.\n");
    assert_eq!(read(&folder, "pkg/app.py"), MIXED, "--diff wins over --fix");
    assert_eq!(loopwise(folder.path(), &["check", "--diff", "--exit-zero"]).status.code(), Some(0));

    let output = loopwise(folder.path(), &["check", "--diff", "clean.py"]);
    assert_eq!((output.status.code(), stdout(&output)), (Some(0), String::new()));
    assert_eq!(stderr(&output), "No findings would be fixed.\n");
}

#[test]
fn fix_keeps_crlf_line_endings() {
    let source = BLOCKING.replace('\n', "\r\n");
    let folder = project(&[("app.py", source.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "--fix", "--unsafe-fixes"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        std::fs::read(folder.path().join("app.py")).expect("read"),
        b"import asyncio\r\nimport time\r\n\r\nasync def handler():\r\n    await asyncio.sleep(1)\r\n"
    );
}

#[cfg(unix)]
#[test]
fn fix_keeps_the_file_mode() {
    use std::os::unix::fs::PermissionsExt;
    let folder = project(&[("app.py", MIXED.as_bytes())]);
    let path = folder.path().join("app.py");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    loopwise(folder.path(), &["check", "--fix"]);
    assert_eq!(read(&folder, "app.py"), MIXED_SAFE_FIXED);
    assert_eq!(std::fs::metadata(&path).expect("stat").permissions().mode() & 0o7777, 0o640);
}

#[cfg(unix)]
#[test]
fn a_file_that_cannot_be_written_is_an_error_and_the_others_are_still_fixed() {
    use std::os::unix::fs::PermissionsExt;
    let folder = project(&[("a_locked.py", MIXED.as_bytes()), ("b_open.py", MIXED.as_bytes())]);
    let locked = folder.path().join("a_locked.py");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let output = loopwise(folder.path(), &["check", "--fix", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("error: a_locked.py: cannot write the fixes: the file is read-only"),
        "{}",
        stderr(&output)
    );
    assert_eq!(read(&folder, "a_locked.py"), MIXED);
    assert_eq!(read(&folder, "b_open.py"), MIXED_SAFE_FIXED);
    let report = stdout(&output);
    assert!(report.contains("a_locked.py:6:12: LW502"), "the unwritten file keeps its finding: {report}");
    assert!(report.contains("Found 4 findings (1 fixed, 3 remaining: 3 warnings).\n"), "{report}");
    assert!(report.contains("Checking was incomplete: 1 error above.\n"), "never a clean-looking summary: {report}");
}

#[cfg(unix)]
#[test]
fn a_folder_that_cannot_be_written_is_an_error_naming_the_file() {
    use std::os::unix::fs::PermissionsExt;
    let folder = project(&[("locked/app.py", MIXED.as_bytes()), ("open.py", MIXED.as_bytes())]);
    let locked = folder.path().join("locked");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // The superuser may write anyway: then there is nothing to test.
    let writable = std::fs::write(locked.join("probe"), "").is_ok();
    if !writable {
        let output = loopwise(folder.path(), &["check", "--fix"]);
        assert_eq!(output.status.code(), Some(2));
        assert!(stderr(&output).contains("error: locked/app.py: cannot write the fixes: "), "{}", stderr(&output));
        assert_eq!(read(&folder, "locked/app.py"), MIXED);
        assert_eq!(read(&folder, "open.py"), MIXED_SAFE_FIXED);
    }
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod back");
}

fn run_with_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn stdin_fix_prints_the_fixed_text_and_reports_on_stderr() {
    let args = ["check", "-", "--stdin-filename", "service/api.py", "--output-format", "concise", "--fix"];
    let output = run_with_stdin(&args, MIXED);
    assert_eq!(stdout(&output), MIXED_SAFE_FIXED);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).starts_with("service/api.py:7:5: LW101 "), "{}", stderr(&output));
    assert!(stderr(&output).contains("Found 2 findings (1 fixed, 1 remaining: 1 warning).\n"), "{}", stderr(&output));

    let output = run_with_stdin(&["check", "-", "--fix"], "x = 1\n");
    assert_eq!((output.status.code(), stdout(&output)), (Some(0), "x = 1\n".to_string()), "a clean text is echoed");

    let folder = project(&[("loopwise.toml", b"selct = []\n")]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .current_dir(folder.path())
        .args(["check", "-", "--stdin-filename", "app.py", "--fix"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(MIXED.as_bytes()).expect("write stdin");
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stdout(&output), MIXED, "a configuration error echoes the text unchanged");
    assert!(stderr(&output).contains("loopwise.toml:1: unknown field `selct`"), "{}", stderr(&output));

    let args = ["check", "-", "--stdin-filename", "service/api.py", "--diff"];
    let output = run_with_stdin(&args, MIXED);
    assert!(stdout(&output).starts_with("--- a/service/api.py\n+++ b/service/api.py\n@@ "), "{}", stdout(&output));
    assert_eq!(output.status.code(), Some(1));
}

fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("list folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy file");
        }
    }
}

fn python_files(folder: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).expect("list folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            files.extend(python_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "py") {
            files.push(path);
        }
    }
    files
}

fn finding_count(folder: &Path) -> usize {
    let output = loopwise(folder, &["check", "--output-format", "json", "examples/"]);
    let messages: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    messages.as_array().expect("an array").len()
}

#[test]
fn examples_diff_and_fix() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = loopwise(root, &["check", "--diff", "--unsafe-fixes", "examples/"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("--- a/examples/"), "{}", stdout(&output));
    assert!(stderr(&output).starts_with("Would fix "), "{}", stderr(&output));

    let copy = tempfile::tempdir().expect("temporary folder");
    copy_folder(&root.join("examples"), &copy.path().join("examples"));
    let before = finding_count(copy.path());
    let output = loopwise(copy.path(), &["check", "--fix", "--unsafe-fixes", "examples/"]);
    assert!(stdout(&output).contains(" fixed, "), "{}", stdout(&output));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    for file in python_files(&copy.path().join("examples")) {
        let text = std::fs::read_to_string(&file).expect("read");
        let tree = loopwise::analysis::source::parse(&text);
        assert!(!tree.root_node().has_error(), "{} no longer parses:\n{text}", file.display());
    }
    let after = finding_count(copy.path());
    assert!(after < before, "{before} findings before, {after} after");
    for file in python_files(&root.join("examples")) {
        let original = file.strip_prefix(root).expect("below the root");
        let unchanged = std::fs::read(&file).expect("read") == std::fs::read(root.join(original)).expect("read");
        assert!(unchanged, "{} was written by --diff", file.display());
    }
}

/// Python ends a line at a lone `\r` as at `\n`: the examples with CR line breaks give the
/// same findings at the same places as with LF, and `--fix` the same fixed code, in CRs.
#[test]
fn lone_cr_line_breaks_check_and_fix_as_line_feeds_do() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (lf, cr) = (tempfile::tempdir().expect("temporary folder"), tempfile::tempdir().expect("temporary folder"));
    copy_folder(&root.join("examples"), &lf.path().join("examples"));
    copy_folder(&root.join("examples"), &cr.path().join("examples"));
    for file in python_files(&cr.path().join("examples")) {
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(!text.contains('\r'), "{} has CRs already", file.display());
        std::fs::write(&file, text.replace('\n', "\r")).expect("write");
    }
    let check = |folder: &Path, args: &[&str]| {
        let output =
            loopwise(folder, &[&["check", "--no-cache", "--output-format", "concise"], args, &["examples/"]].concat());
        assert!(stderr(&output).is_empty(), "{}", stderr(&output));
        stdout(&output)
    };
    let findings = check(lf.path(), &[]);
    assert!(findings.contains(": LW101 ") && findings.contains(": LW104 "), "{findings}");
    assert_eq!(check(cr.path(), &[]), findings);
    assert_eq!(check(cr.path(), &["--fix", "--unsafe-fixes"]), check(lf.path(), &["--fix", "--unsafe-fixes"]));
    for file in python_files(&lf.path().join("examples")) {
        let fixed = std::fs::read_to_string(&file).expect("read");
        let relative = file.strip_prefix(lf.path()).expect("below the copy");
        let fixed_cr = std::fs::read_to_string(cr.path().join(relative)).expect("read");
        assert_eq!(fixed_cr, fixed.replace('\n', "\r"), "{}", relative.display());
    }
}

#[test]
fn modules_checked_ahead_of_their_turn_report_once_and_the_same() {
    // `a_app` is checked first and asks for `z_lib`, which asks for `zz_util`: both are checked
    // then, from the parse that gives their summaries, and not again on their turn.
    let folder = project(&[
        ("a_app.py", b"from z_lib import fetch\n\n\nasync def handler():\n    fetch()\n"),
        (
            "z_lib.py",
            b"import time\n\nfrom zz_util import helper\n\n\nasync def fetch():\n    time.sleep(1)\n    helper()\n",
        ),
        ("zz_util.py", b"import time\n\n\nasync def helper():\n    time.sleep(2)\n"),
    ]);
    let expected = ["a_app.py:5:5: LW201", "z_lib.py:7:5: LW101", "z_lib.py:8:5: LW201", "zz_util.py:5:5: LW101"];
    let cache = folder.path().join("cache");
    let cache = cache.to_str().expect("UTF-8 path");
    for (threads, args) in [
        ("1", vec!["check", "--no-cache", "--output-format", "concise", "."]),
        ("2", vec!["check", "--no-cache", "--output-format", "concise", "."]),
        ("1", vec!["check", "--cache-dir", cache, "--output-format", "concise", "."]),
        ("1", vec!["check", "--cache-dir", cache, "--output-format", "concise", "."]),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_loopwise"))
            .current_dir(folder.path())
            .env("RAYON_NUM_THREADS", threads)
            .args(&args)
            .output()
            .expect("the loopwise binary runs");
        let codes: Vec<String> = stdout(&output)
            .lines()
            .filter(|line| line.contains(": LW"))
            .map(|line| line.split(' ').take(2).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(codes, expected, "{args:?} with {threads} threads: {}", stdout(&output));
    }
}

#[test]
fn a_run_with_errors_never_says_that_all_checks_passed() {
    let typo = project(&[("pyproject.toml", b"[tool.loopwise]\nextend-selct = [\"LW1\"]\n"), ("app.py", b"x = 1\n")]);
    let output = loopwise(typo.path(), &["check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("pyproject.toml:2: unknown field `extend-selct`"), "{}", stderr(&output));
    assert_eq!(stdout(&output), "No file was checked.\nChecking was incomplete: 1 error above.\n");

    let folder = project(&[("app.py", b"x = 1\n"), ("latin.py", b"s = '\xe9'\n")]);
    for args in [&["check", "missing.py", "app.py"][..], &["check", "latin.py", "app.py"]] {
        let output = loopwise(folder.path(), args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stdout(&output),
            "No findings in the 1 file that could be checked.\nChecking was incomplete: 1 error above.\n",
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let with_findings = project(&[("app.py", BLOCKING.as_bytes()), ("latin.py", b"s = '\xe9'\n")]);
    let output = loopwise(with_findings.path(), &["check", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stdout(&output).contains("Found 1 warning.\nChecking was incomplete: 1 error above.\n"),
        "{}",
        stdout(&output)
    );
    let output = loopwise(with_findings.path(), &["check", "--diff", "--unsafe-fixes"]);
    assert!(
        stderr(&output).contains("Checking was incomplete: 1 error above.\nWould fix 1 finding.\n"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn only_target_versions_loopwise_knows_are_accepted() {
    let folder = project(&[("app.py", BLOCKING.as_bytes())]);
    for version in ["2.7", "3.99", "py40", "eleven"] {
        let output = loopwise(folder.path(), &["check", "--target-version", version]);
        assert_eq!(output.status.code(), Some(2), "{version}");
        assert!(
            stderr(&output).starts_with(&format!("error: --target-version: `{version}` is not a Python version")),
            "{version}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("from 3.7 to 3.14"), "{}", stderr(&output));
    }
    for version in ["3.7", "py314", "3.11"] {
        assert_eq!(
            loopwise(folder.path(), &["check", "--target-version", version]).status.code(),
            Some(1),
            "{version}"
        );
    }
    std::fs::write(folder.path().join("loopwise.toml"), "target-version = \"3.99\"\n").expect("write config");
    let output = loopwise(folder.path(), &["check"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("loopwise.toml:1: `target-version`: `3.99` is not a Python version loopwise knows"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn severity_is_shown_counted_and_decides_the_exit_code_with_fail_on() {
    let source = "import time\n\nasync def handler():\n    time.sleep(1)\n    input()\n";
    let folder = project(&[
        ("app.py", source.as_bytes()),
        ("loopwise.toml", b"severity = { LW101 = \"hint\", LW105 = \"error\" }\n"),
    ]);
    let output = loopwise(folder.path(), &["check", "--output-format", "concise"]);
    assert_eq!(
        stdout(&output),
        "app.py:4:5: LW101 [hint] Blocking call to `time.sleep` in async function\n\
         app.py:5:5: LW105 [error] Blocking call to `input` in async function\n\
         Found 2 findings: 1 error, 1 hint.\n\
         No fixes available (2 hidden fixes can be enabled with the --unsafe-fixes option).\n"
    );
    assert_eq!(output.status.code(), Some(1));
    let full = stdout(&loopwise(folder.path(), &["check"]));
    assert!(full.starts_with("hint[LW101]: Blocking call") && full.contains("\nerror[LW105]: Blocking call"), "{full}");

    std::fs::write(folder.path().join("loopwise.toml"), "severity = { LW101 = \"hint\" }\nselect = [\"LW101\"]\n")
        .expect("write config");
    let hint_only = loopwise(folder.path(), &["check", "--output-format", "concise"]);
    assert_eq!(hint_only.status.code(), Some(0), "a hint passes by default: {}", stdout(&hint_only));
    assert!(stdout(&hint_only).contains("Found 1 hint.\n"), "{}", stdout(&hint_only));
    assert_eq!(loopwise(folder.path(), &["check", "--fail-on", "hint"]).status.code(), Some(1));
    std::fs::write(folder.path().join("loopwise.toml"), "select = [\"LW101\"]\n").expect("write config");
    assert_eq!(
        loopwise(folder.path(), &["check", "--fail-on", "error"]).status.code(),
        Some(0),
        "a warning is below error"
    );
    assert_eq!(loopwise(folder.path(), &["check", "--fail-on", "warning"]).status.code(), Some(1));
    assert_eq!(loopwise(folder.path(), &["check", "--fail-on", "hint", "--exit-zero"]).status.code(), Some(0));
}

#[test]
fn colour_follows_the_flag_and_no_color_and_force_color() {
    let folder = project(&[("app.py", BLOCKING.as_bytes())]);
    let coloured = |args: &[&str], env: &[(&str, &str)]| {
        let output = binary::loopwise_with_env(folder.path(), &[&["check"], args].concat(), env);
        assert_eq!(output.status.code(), Some(1));
        stdout(&output).contains('\u{1b}')
    };
    // Not a terminal here: `auto` is plain unless FORCE_COLOR says otherwise.
    assert!(!coloured(&[], &[]));
    assert!(coloured(&["--color", "always"], &[]));
    assert!(coloured(&["--color", "always", "--output-format", "concise"], &[("NO_COLOR", "1")]), "the flag wins");
    assert!(!coloured(&["--color", "never"], &[("FORCE_COLOR", "1")]), "the flag wins");
    assert!(coloured(&[], &[("FORCE_COLOR", "1")]));
    assert!(!coloured(&[], &[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]));
    assert!(!coloured(&[], &[("FORCE_COLOR", "")]), "an empty FORCE_COLOR is unset");
    let json =
        binary::loopwise_with_env(folder.path(), &["check", "--output-format", "json", "--color", "always"], &[]);
    assert!(!stdout(&json).contains('\u{1b}'), "machine formats are never coloured");
    let plain = stdout(&binary::loopwise_with_env(folder.path(), &["check", "--color", "always"], &[]));
    let stripped: String = anstream::adapter::strip_str(&plain).to_string();
    assert_eq!(stripped, stdout(&loopwise(folder.path(), &["check"])), "colour adds only escapes");
}

#[test]
fn statistics_mark_what_fix_would_fix() {
    // Two LW502 with a safe fix, one LW101 with an unsafe one.
    let source = "import asyncio\nimport time\n\nasync def a():\n    asyncio.get_event_loop()\n    asyncio.get_event_loop()\n    time.sleep(1)\n";
    let folder = project(&[("app.py", source.as_bytes())]);
    let text = stdout(&loopwise(folder.path(), &["check", "--statistics"]));
    assert!(text.starts_with("2\tLW502\t[*] get-event-loop-in-coroutine\n1\tLW101\t[ ] blocking-sleep\n"), "{text}");
    let text = stdout(&loopwise(folder.path(), &["check", "--statistics", "--unsafe-fixes"]));
    assert!(text.contains("1\tLW101\t[*] blocking-sleep\n"), "{text}");
    let output = loopwise(folder.path(), &["check", "--statistics", "--output-format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(
        rows,
        serde_json::json!([
            {"code": "LW502", "name": "get-event-loop-in-coroutine", "count": 2, "fixable": true, "fixable_count": 2},
            {"code": "LW101", "name": "blocking-sleep", "count": 1, "fixable": false, "fixable_count": 0},
        ])
    );
    // An unawaited coroutine in an `async def` gets `await`; in a plain function it cannot.
    let partial = project(&[("app.py", b"async def g():\n    pass\n\nasync def a():\n    g()\n\ndef s():\n    g()\n")]);
    let text = stdout(&loopwise(partial.path(), &["check", "--statistics", "--unsafe-fixes"]));
    assert!(text.starts_with("2\tLW201\t[~] unawaited-coroutine\n"), "{text}");
}

/// A whole `time.sleep`, one in a list with a stray `2`, and one in a function whose `(`
/// lacks its `)`.
const BROKEN: &str = "import time\nasync def f():\n    time.sleep(1)\n\nasync def g():\n    x = [time.sleep(2) 2]  # noqa\n\nasync def h(:\n    time.sleep(3)\n";

#[test]
fn syntax_errors_are_reported_and_no_fix_is_applied_in_a_broken_construct() {
    let folder = project(&[("app.py", BROKEN.as_bytes())]);
    let concise = ["check", "--output-format", "concise"];
    let expected = "app.py:3:5: LW101 [warning] Blocking call to `time.sleep` in async function\n\
                    app.py:6:24: invalid-syntax [error] Invalid syntax: unexpected `2`\n\
                    app.py:8:13: invalid-syntax [error] Expected `)`\n\
                    app.py:9:5: LW101 [warning] Blocking call to `time.sleep` in async function\n\
                    Found 4 findings: 2 errors, 2 warnings.\n";
    for _ in 0..2 {
        // The second run reads the cache.
        let output = loopwise(folder.path(), &concise);
        assert_eq!(output.status.code(), Some(1));
        assert!(stdout(&output).starts_with(expected), "`# noqa` does not silence a syntax error: {}", stdout(&output));
    }
    let output = loopwise(folder.path(), &["check", "--output-format", "json"]);
    let messages: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(messages[1]["code"], "invalid-syntax");
    assert_eq!(messages[1]["name"], "invalid-syntax");
    assert_eq!(messages[1]["severity"], "error");
    assert_eq!(messages[1]["fix"], serde_json::Value::Null);
    assert_eq!(messages[1]["noqa_row"], serde_json::Value::Null, "a syntax error cannot be silenced");
    assert_eq!(messages[0]["noqa_row"], 3);

    let broken_list = "import time\nasync def g():\n    x = [time.sleep(2) 2]\n";
    let folder = project(&[("app.py", broken_list.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "--fix", "--unsafe-fixes"]);
    assert_eq!(read(&folder, "app.py"), broken_list, "no fix inside the broken list: {}", stdout(&output));
    assert_eq!(output.status.code(), Some(1));
}

/// `loopwise ARGS` in `folder`, killed after 20 s: a run that waits on a FIFO fails the test
/// instead of hanging it.
#[cfg(unix)]
fn loopwise_within_20_s(folder: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .current_dir(folder)
        .env_remove("LOOPWISE_CACHE_DIR")
        .env_remove("FORCE_COLOR")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().expect("poll").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("`loopwise {}` did not finish within 20 s", args.join(" "));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("wait")
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[cfg(unix)]
#[test]
fn special_files_are_refused_naming_them_and_never_block_the_run() {
    let folder = project(&[("app.py", BLOCKING.as_bytes()), ("sub/b.py", BLOCKING.as_bytes())]);
    mkfifo(&folder.path().join("named.py"));
    mkfifo(&folder.path().join("sub/.gitignore"));
    std::os::unix::fs::symlink("/dev/zero", folder.path().join("zero.py")).expect("symlink");

    let output =
        loopwise_within_20_s(folder.path(), &["check", "--no-cache", "--output-format", "concise", "named.py"]);
    assert_eq!(output.status.code(), Some(2), "a FIFO named on the command line is an error");
    assert!(
        stderr(&output).contains("error: named.py: not a regular file or a folder (a FIFO): not checked"),
        "{}",
        stderr(&output)
    );

    let output = loopwise_within_20_s(folder.path(), &["check", "--no-cache", "--output-format", "concise"]);
    let (out, err) = (stdout(&output), stderr(&output));
    assert!(out.starts_with("app.py:4:5: LW101"), "the regular files are still checked: {out}{err}");
    assert!(err.contains("warning: ./named.py: not a regular file (a FIFO): not checked"), "{err}");
    assert!(err.contains("warning: ./sub/.gitignore: not a regular file, so the folder ./sub is not checked"), "{err}");
    assert!(!out.contains("sub/b.py"), "{out}");

    std::fs::remove_file(folder.path().join("sub/.gitignore")).expect("remove");
    mkfifo(&folder.path().join("loopwise.toml"));
    let output = loopwise_within_20_s(folder.path(), &["check", "--no-cache", "app.py"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("loopwise.toml: cannot read configuration file: not a regular file (a FIFO)"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_file(folder.path().join("loopwise.toml")).expect("remove");
    std::os::unix::fs::symlink("/dev/zero", folder.path().join("loopwise.toml")).expect("symlink");
    let output = loopwise_within_20_s(folder.path(), &["check", "--no-cache", "app.py"]);
    assert!(
        stderr(&output).contains("loopwise.toml: cannot read configuration file: not a regular file (a device)"),
        "{}",
        stderr(&output)
    );
    std::fs::remove_file(folder.path().join("loopwise.toml")).expect("remove");

    // Project facts are read the same way: a FIFO named pytest.ini is passed over, not waited on.
    mkfifo(&folder.path().join("pytest.ini"));
    let output = loopwise_within_20_s(folder.path(), &["check", "--no-cache", "--output-format", "concise", "app.py"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_reported_without_ambiguity() {
    use std::os::unix::ffi::OsStrExt;
    // The byte 0xff, and its lossy twin: the character U+FFFD, which `to_string_lossy` shows
    // for it. Each must be told from the other in every format.
    let folder = project(&[("bad\u{fffd}name.py", BLOCKING.as_bytes())]);
    let raw = folder.path().join(std::ffi::OsStr::from_bytes(b"bad\xffname.py"));
    std::fs::write(&raw, BLOCKING).expect("a name with the byte 0xff");
    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "concise"]);
    let out = stdout(&output);
    assert!(out.contains("\"bad\\xFFname.py\":4:5: LW101 [warning] "), "{out}");
    assert!(out.contains("bad\u{fffd}name.py:4:5: LW101 [warning] "), "{out}");
    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "full"]);
    assert!(stdout(&output).contains(" --> \"bad\\xFFname.py\":4:5\n"), "{}", stdout(&output));

    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "json"]);
    let messages: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output is valid Unicode");
    let messages = messages.as_array().expect("an array");
    assert_eq!(messages.len(), 2);
    for message in messages {
        let filename = message["filename"].as_str().expect("a string");
        assert!(filename.ends_with("/bad\u{fffd}name.py"), "{filename}");
    }
    let bytes: Vec<Vec<u8>> = messages
        .iter()
        .filter_map(|message| serde_json::from_value(message.get("filename_bytes")?.clone()).ok())
        .collect();
    assert_eq!(bytes.len(), 1, "only the name that is not UTF-8 has its bytes: {messages:?}");
    assert_eq!(Path::new(std::ffi::OsStr::from_bytes(&bytes[0])), std::path::absolute(&raw).expect("absolute"));

    // SARIF's URIs percent-encode the name's own bytes.
    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&output.stdout).expect("SARIF is JSON");
    let mut uris: Vec<String> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|result| {
            let uri = &result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
            uri.as_str().expect("a URI").to_string()
        })
        .collect();
    uris.sort();
    assert_eq!(uris, ["bad%EF%BF%BDname.py", "bad%FFname.py"]);

    // GitLab reads `location.path`, a JSON string: lossy, with the name's bytes besides.
    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "gitlab"]);
    let issues: serde_json::Value = serde_json::from_slice(&output.stdout).expect("GitLab's report is JSON");
    let issues = issues.as_array().expect("an array");
    assert_eq!(issues.len(), 2);
    assert!(issues.iter().all(|issue| issue["location"]["path"] == "bad\u{fffd}name.py"), "{issues:?}");
    let bytes: Vec<Vec<u8>> = issues
        .iter()
        .filter_map(|issue| serde_json::from_value(issue["location"].get("path_bytes")?.clone()).ok())
        .collect();
    assert_eq!(bytes, [b"bad\xffname.py".to_vec()], "only the name that is not UTF-8 has its bytes: {issues:?}");

    // GitHub's runner reads text: `file=` can only be lossy, so the message names the file as
    // the other text formats do.
    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "github"]);
    let out = stdout(&output);
    assert!(out.contains("::\"bad\\xFFname.py\":4:5: LW101 "), "{out}");
    assert!(out.contains("::bad\u{fffd}name.py:4:5: LW101 "), "{out}");
}

#[cfg(unix)]
#[test]
fn project_files_that_cannot_be_read_are_named_and_not_claimed_as_read() {
    let folder = project(&[
        ("app.py", BLOCKING.as_bytes()),
        ("setup.cfg", b"[metadata]\nname = caf\xe9\n[options]\npython_requires = >=3.9\n"),
        ("ruff.toml", b"target-version = \n"),
    ]);
    mkfifo(&folder.path().join("pytest.ini"));
    let output = loopwise_within_20_s(folder.path(), &["check", "--no-cache", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(1), "a warning: the files are still checked: {}", stderr(&output));
    let err = stderr(&output);
    let unread = "not read, so the project's Python version and test runners it may declare are not known";
    for (file, why) in [
        ("pytest.ini", "not a regular file (a FIFO)"),
        ("ruff.toml", "not TOML: string values must be quoted, expected literal string (line 1)"),
        ("setup.cfg", "not valid UTF-8 (byte 0xe9 at offset 21, line 2)"),
    ] {
        assert!(err.contains(&format!("warning: {file}: {why}: {unread}\n")), "{file}: {err}");
    }
    let output = loopwise_within_20_s(folder.path(), &["check", "--show-settings", "app.py"]);
    let out = stdout(&output);
    assert!(
        out.contains("(the default: nothing that could be read in this folder or above declares a Python version)"),
        "{out}"
    );
    assert!(out.contains("hook found in the files that could be read)"), "{out}");
    let listed = out.lines().find(|line| line.contains("project files not read: ")).unwrap_or_default();
    assert!(["pytest.ini", "ruff.toml", "setup.cfg"].iter().all(|name| listed.contains(name)), "{out}");
    assert!(stderr(&output).contains("warning: pytest.ini: not a regular file (a FIFO)"), "{}", stderr(&output));
}

#[test]
fn a_pyproject_with_a_loopwise_table_that_is_not_utf8_is_an_error_naming_it() {
    let folder = project(&[
        ("pyproject.toml", b"[tool.loopwise]\nselect = [\"LW1\"]\n# \xff\n"),
        ("app.py", BLOCKING.as_bytes()),
    ]);
    let output = loopwise(folder.path(), &["check", "--no-cache"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "pyproject.toml:3: cannot read configuration file: not valid UTF-8 (byte 0xff at offset 35, line 3)"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_pyproject_that_no_tool_can_read_is_an_error_naming_it_with_or_without_a_loopwise_table() {
    // As in ruff: discovery cannot tell whether such a file holds `[tool.loopwise]`, and no
    // tool can read it (TOML is UTF-8), so it is an error, never passed over in silence.
    let folder = project(&[
        ("pyproject.toml", b"[project]\nname = \"caf\xe9\"\n"),
        ("app.py", BLOCKING.as_bytes()),
        ("sub/pyproject.toml", b"[project\nname = \"x\"\n"),
        ("sub/b.py", BLOCKING.as_bytes()),
    ]);
    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains(
            "/pyproject.toml:2: cannot read configuration file: not valid UTF-8 (byte 0xe9 at offset 21, line 2); \
             TOML files are UTF-8\n"
        ),
        "{err}"
    );
    assert!(err.contains("/sub/pyproject.toml:1: unclosed table"), "the TOML error names the file and line: {err}");
    assert_eq!(err.matches("error:").count(), 2, "each file reported once: {err}");
    assert_eq!(stdout(&output), "No file was checked.\nChecking was incomplete: 2 errors above.\n");
    // A configuration file of loopwise's own in the folder wins, and pyproject.toml is not its
    // configuration.
    binary::write(folder.path(), ".loopwise.toml", b"select = [\"LW1\"]\n");
    binary::write(folder.path(), "sub/.loopwise.toml", b"select = [\"LW1\"]\n");
    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn files_over_max_file_size_are_said_and_not_checked() {
    let folder = project(&[("app.py", BLOCKING.as_bytes()), ("big.py", BLOCKING.repeat(40).as_bytes())]);
    std::fs::write(folder.path().join("loopwise.toml"), "max-file-size = \"1kB\"\n").expect("write config");
    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("app.py:4:5: LW101"), "{}", stdout(&output));
    assert!(!stdout(&output).contains("big.py"), "{}", stdout(&output));
    let size = BLOCKING.len() * 40;
    assert!(
        stderr(&output)
            .contains(&format!("warning: big.py: {size} bytes, more than max-file-size (1000 bytes): not checked")),
        "{}",
        stderr(&output)
    );
    // A run that passed a file over never says that all checks passed.
    assert!(
        stdout(&output).contains("Found 1 warning.\n1 file was not checked (larger than max-file-size).\n"),
        "{}",
        stdout(&output)
    );
    std::fs::write(folder.path().join("app.py"), "x = 1\n").expect("write");
    for args in [&["check", "--no-cache"][..], &["check", "--no-cache", "--statistics"]] {
        let output = loopwise(folder.path(), args);
        assert_eq!(output.status.code(), Some(0), "a documented limit is a warning: {}", stderr(&output));
        assert_eq!(
            stdout(&output),
            "No findings in the 1 file that was checked.\n1 file was not checked (larger than max-file-size).\n"
        );
    }
    let output = loopwise(folder.path(), &["check", "--no-cache", "--diff"]);
    assert_eq!(
        stderr(&output).lines().skip(1).collect::<Vec<_>>(),
        ["1 file was not checked (larger than max-file-size).", "No findings would be fixed."]
    );
    // Nothing checked at all is no pass.
    let output = loopwise(folder.path(), &["check", "--no-cache", "big.py"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(stdout(&output), "No file was checked.\n1 file was not checked (larger than max-file-size).\n");
    std::fs::write(folder.path().join("loopwise.toml"), "max-file-size = \"ten\"\n").expect("write config");
    let output = loopwise(folder.path(), &["check", "--no-cache"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("`max-file-size`"), "{}", stderr(&output));
    std::fs::write(folder.path().join("loopwise.toml"), "max-file-size = \"2 MiB\"\n").expect("write config");
    let output = loopwise(folder.path(), &["check", "--show-settings", "app.py"]);
    assert!(stdout(&output).contains("max-file-size: 2097152 bytes"), "{}", stdout(&output));
}
