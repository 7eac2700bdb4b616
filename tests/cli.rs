//! `loopwise check` and `loopwise rule` end to end: the built binary on files in a temporary
//! folder, checking stdout, stderr and the exit code as a user sees them.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BLOCKING: &str = "import time\n\nasync def handler():\n    time.sleep(1)\n";

fn loopwise(folder: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .current_dir(folder)
        .args(args)
        .output()
        .expect("the loopwise binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn project(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let folder = tempfile::tempdir().expect("temporary folder");
    for (name, content) in files {
        let path = folder.path().join(name);
        std::fs::create_dir_all(path.parent().expect("file has a parent")).expect("create folders");
        std::fs::write(path, content).expect("write file");
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
    assert_eq!(stdout(&output), "app.py:4:5: LW101 Blocking call to `time.sleep` in async function\nFound 1 error.\n");
}

#[test]
fn full_format_shows_a_code_frame() {
    let folder = project(&[("app.py", BLOCKING.as_bytes())]);
    let output = loopwise(folder.path(), &["check", "app.py"]);
    let text = stdout(&output);
    assert!(text.starts_with("LW101 Blocking call to `time.sleep` in async function\n --> app.py:4:5\n"), "{text}");
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
            {"content": "import asyncio\n", "location": {"row": 2, "column": 1}, "end_location": {"row": 2, "column": 1}},
            {"content": "await ", "location": {"row": 4, "column": 14}, "end_location": {"row": 4, "column": 14}},
            {"content": "asyncio.sleep", "location": {"row": 4, "column": 14}, "end_location": {"row": 4, "column": 24}},
        ])
    );
    assert!(message["filename"].as_str().is_some_and(|name| name.ends_with("app.py") && Path::new(name).is_absolute()));
    assert!(message["url"].as_str().is_some_and(|url| url.contains("blocking-sleep")));
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
    assert_eq!(text, "src/app.py:4:5: LW101 Blocking call to `time.sleep` in async function\nFound 1 error.\n");
    let explicit = stdout(&loopwise(folder.path(), &["check", "--output-format", "concise", "legacy/old.py"]));
    assert!(explicit.contains("legacy/old.py:4:5: LW101"), "a named file is always checked: {explicit}");
}

#[test]
fn statistics_exit_zero_and_explicit_config() {
    let folder = project(&[
        ("a.py", b"import time\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n    input()\n"),
        ("conf/strict.toml", b"select = [\"LW105\"]\n"),
    ]);
    let output = loopwise(folder.path(), &["check", "--statistics"]);
    assert_eq!(stdout(&output), "2\tLW101\tblocking-sleep\n1\tLW105\tblocking-input\nFound 3 errors.\n");
    let output = loopwise(folder.path(), &["check", "--exit-zero"]);
    assert_eq!(output.status.code(), Some(0));
    let output = loopwise(folder.path(), &["check", "--config", "conf/strict.toml", "--output-format", "concise"]);
    assert_eq!(stdout(&output), "a.py:5:5: LW105 Blocking call to `input` in async function\nFound 1 error.\n");
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
    let output = loopwise(folder.path(), &["rule", "--all"]);
    assert_eq!(stdout(&output).lines().count(), loopwise::rules::Rule::ALL.len());
    assert_eq!(loopwise(folder.path(), &["rule", "LW000"]).status.code(), Some(2));
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

#[test]
fn server_binary_answers_and_exits_on_exit() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .arg("server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the server");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut send = |message: &str| {
        write!(stdin, "Content-Length: {}\r\n\r\n{message}", message.len()).expect("write a message");
        stdin.flush().expect("flush");
    };
    send(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#);
    let initialized = read_message(&mut stdout);
    assert_eq!(initialized["result"]["capabilities"]["positionEncoding"], "utf-16", "{initialized}");
    send(r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#);
    assert_eq!(read_message(&mut stdout)["id"], 2);
    send(r#"{"jsonrpc":"2.0","method":"exit"}"#);
    // The pipe stays open, as an editor keeps it: `exit` alone must end the process.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the server") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit within 10 s of `exit`");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
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
        ("strict/tests/test_api.py", unmarked),
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
    assert!(text.contains("strict/tests/test_api.py:1:11: LW801"), "{text}");
    assert!(text.contains("cfg/test_api.py:1:11: LW801"), "{text}");
    assert!(!text.contains("auto/"), "{text}");
    assert!(!text.contains("ini/"), "{text}");
    assert!(!text.contains("tox/"), "{text}");
}
