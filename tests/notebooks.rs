//! `loopwise check` on Jupyter notebooks end to end: the fixture notebook
//! (`tests/fixtures/notebooks/demo.ipynb`: markdown cells, `!pip`, `%time` and `%%bash` magics,
//! an empty cell, top-level `await`, a coroutine of one cell called without `await` in a later
//! one, `time.sleep` in an `async def` and at a cell's top level, CRLF inside a cell) copied into a
//! temporary project, with every output compared whole.

mod binary;

use std::path::Path;

use binary::{loopwise, stderr, stdout};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notebooks").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A project holding the demo notebook and a plain module with one finding.
fn project() -> tempfile::TempDir {
    let folder = tempfile::tempdir().expect("temporary folder");
    binary::write(folder.path(), "demo.ipynb", &fixture("demo.ipynb"));
    binary::write(folder.path(), "app.py", b"import time\n\nasync def handler():\n    time.sleep(1)\n");
    folder
}

const CONCISE: &str = "\
app.py:4:5: LW101 [warning] Blocking call to `time.sleep` in async function
demo.ipynb:cell 3:2:5: LW101 [warning] Blocking call to `time.sleep` in async function
demo.ipynb:cell 5:1:1: LW201 [error] The coroutine created by `fetch(...)` is never awaited
demo.ipynb:cell 5:3:1: LW101 [warning] Blocking call to `time.sleep` at a notebook cell's top level
demo.ipynb:cell 8:2:5: LW203 [error] `await` in a non-async function
Found 5 findings: 2 errors, 3 warnings.
[*] 1 fixable with the --fix option (4 hidden fixes can be enabled with the --unsafe-fixes option).
";

#[test]
fn notebooks_are_walked_and_located_by_cell() {
    let folder = project();
    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "concise"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), CONCISE);
    // Named on the command line too.
    let named = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "concise", "demo.ipynb"]);
    assert!(stdout(&named).starts_with("demo.ipynb:cell 3:2:5: LW101"), "{}", stdout(&named));
}

#[test]
fn a_cached_run_prints_what_an_uncached_one_prints() {
    let folder = project();
    for format in ["concise", "full", "json"] {
        let uncached = loopwise(folder.path(), &["check", "--no-cache", "--output-format", format]);
        let first = loopwise(folder.path(), &["check", "--output-format", format, "-v"]);
        let second = loopwise(folder.path(), &["check", "--output-format", format, "-v"]);
        assert!(stderr(&second).contains("2 files, 2 of them from the cache"), "{}", stderr(&second));
        assert_eq!(stdout(&first), stdout(&uncached), "{format}");
        assert_eq!(stdout(&second), stdout(&uncached), "{format}");
    }
}

#[test]
fn json_names_the_cell_and_counts_rows_in_it() {
    let folder = project();
    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "json"]);
    let mut messages: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON output");
    for message in messages.as_array_mut().expect("an array") {
        let name =
            message["filename"].as_str().and_then(|name| Path::new(name).file_name()?.to_str()).map(str::to_string);
        message["filename"] = serde_json::json!(name);
        // The fixes are compared below for one finding; their titles and edits are each rule's.
        message["fix"] = serde_json::json!(message["fix"]["edits"].as_array().map(Vec::len));
    }
    let finding = |cell: Option<usize>, code: &str, name: &str, message: &str, rows: [usize; 4], file: &str| {
        serde_json::json!({
            "cell": cell,
            "code": code,
            "name": name,
            "message": message,
            "severity": if code == "LW101" { "warning" } else { "error" },
            "filename": file,
            "location": {"row": rows[0], "column": rows[1]},
            "end_location": {"row": rows[2], "column": rows[3]},
            // app.py's sleep fix also imports asyncio; the notebook imports it in cell 2.
            "fix": match (code, file) {
                ("LW101", "app.py") => 3,
                ("LW101", _) => 2,
                _ => 1,
            },
            "noqa_row": rows[0],
            "url": null,
        })
    };
    let sleep = "Blocking call to `time.sleep` in async function";
    let top_level_sleep = "Blocking call to `time.sleep` at a notebook cell's top level".to_string();
    let expected = serde_json::json!([
        finding(None, "LW101", "blocking-sleep", sleep, [4, 5, 4, 18], "app.py"),
        finding(Some(3), "LW101", "blocking-sleep", sleep, [2, 5, 2, 18], "demo.ipynb"),
        finding(
            Some(5),
            "LW201",
            "unawaited-coroutine",
            "The coroutine created by `fetch(...)` is never awaited",
            [1, 1, 1, 15],
            "demo.ipynb"
        ),
        finding(Some(5), "LW101", "blocking-sleep", &top_level_sleep, [3, 1, 3, 14], "demo.ipynb"),
        finding(
            Some(8),
            "LW203",
            "await-outside-async",
            "`await` in a non-async function",
            [2, 5, 2, 27],
            "demo.ipynb"
        ),
    ]);
    let expected = expected.as_array().expect("an array").iter().map(|message| {
        let mut message = message.clone();
        if message["url"].is_null() {
            message.as_object_mut().expect("an object").remove("url");
        }
        message
    });
    let actual = messages.as_array().expect("an array").iter().map(|message| {
        let mut message = message.clone();
        message.as_object_mut().expect("an object").remove("url");
        message
    });
    assert_eq!(actual.collect::<Vec<_>>(), expected.collect::<Vec<_>>());

    // A fix's edits are located in the cell too: `await ` before `fetch("paris")`.
    let lines = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "json-lines", "demo.ipynb"]);
    let unawaited: serde_json::Value =
        serde_json::from_str(stdout(&lines).lines().nth(1).expect("a second line")).expect("a JSON line");
    assert_eq!(unawaited["cell"], 5);
    assert_eq!(
        unawaited["fix"]["edits"],
        serde_json::json!([{"content": "await ", "location": {"row": 1, "column": 1}, "end_location": {"row": 1, "column": 1}}])
    );
}

#[test]
fn the_full_frame_shows_the_cells_own_lines() {
    let folder = project();
    let output = loopwise(folder.path(), &["check", "--no-cache", "demo.ipynb"]);
    let text = stdout(&output);
    let frame = "warning[LW101]: Blocking call to `time.sleep` at a notebook cell's top level\n \
                 --> demo.ipynb:cell 5:3:1\n  |\n\
                 1 | fetch(\"paris\")\n\
                 2 | print(await fetch(\"berlin\"))\n\
                 3 | time.sleep(2)\n  | ^^^^^^^^^^^^^\n  |\n";
    assert!(text.contains(frame), "{text}");
    // The cell's last line is its last: no empty row of the joined text after it.
    let last = "2 |     await asyncio.sleep(1)\n  |     ^^^^^^^^^^^^^^^^^^^^^^\n  |\n";
    assert!(text.contains(last), "{text}");
}

#[test]
fn ci_formats_name_the_cell_with_rows_in_it() {
    let folder = project();
    let run = |format: &str| {
        stdout(&loopwise(folder.path(), &["check", "--no-cache", "--output-format", format, "demo.ipynb"]))
    };
    let pylint = run("pylint");
    assert!(pylint.starts_with("demo.ipynb:cell 3:2: [LW101] Blocking call"), "{pylint}");
    let github = run("github");
    let first = github.lines().next().expect("an annotation");
    assert!(first.starts_with("::warning title=loopwise (LW101),file="), "{first}");
    assert!(first.ends_with(
        ",line=2,col=5,endLine=2,endColumn=18::demo.ipynb:cell 3:2:5: LW101 Blocking call to `time.sleep` in async function%0A  help: Replace with `await asyncio.sleep(...)`"
    ), "{first}");
    let grouped = run("grouped");
    assert!(grouped.starts_with("demo.ipynb:\n  cell 3:2:5 LW101 Blocking call"), "{grouped}");
    assert!(grouped.contains("\n  cell 5:1:1 LW201 [*] The coroutine"), "{grouped}");
    let sarif: serde_json::Value = serde_json::from_str(&run("sarif")).expect("SARIF");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["properties"]["cell"], 3);
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 2);
    let junit = run("junit");
    assert!(junit.contains(">cell 3, line 2, col 5, Blocking call"), "{junit}");
    let gitlab: serde_json::Value = serde_json::from_str(&run("gitlab")).expect("GitLab JSON");
    assert_eq!(gitlab[0]["description"], "LW101: cell 3: Blocking call to `time.sleep` in async function");
    assert_eq!(gitlab[0]["location"]["positions"]["begin"]["line"], 2);
}

#[test]
fn statistics_count_notebook_findings() {
    let folder = project();
    let output = loopwise(folder.path(), &["check", "--no-cache", "--statistics", "demo.ipynb"]);
    assert_eq!(
        stdout(&output),
        "2\tLW101\t[ ] blocking-sleep\n1\tLW201\t[*] unawaited-coroutine\n1\tLW203\t[ ] await-outside-async\n\
         Found 4 findings: 2 errors, 2 warnings.\n\
         [*] 1 fixable with the --fix option (3 hidden fixes can be enabled with the --unsafe-fixes option).\n"
    );
}

#[test]
fn fix_rewrites_only_the_changed_cell() {
    let folder = project();
    let output = loopwise(folder.path(), &["check", "--no-cache", "--fix", "--output-format", "concise", "demo.ipynb"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let fixed = std::fs::read(folder.path().join("demo.ipynb")).expect("the notebook");
    assert_eq!(String::from_utf8_lossy(&fixed), String::from_utf8_lossy(&fixture("demo.fixed.ipynb")));
    assert_eq!(
        stdout(&output),
        "demo.ipynb:cell 3:2:5: LW101 [warning] Blocking call to `time.sleep` in async function\n\
         demo.ipynb:cell 5:3:1: LW101 [warning] Blocking call to `time.sleep` at a notebook cell's top level\n\
         demo.ipynb:cell 8:2:5: LW203 [error] `await` in a non-async function\n\
         Found 4 findings (1 fixed, 3 remaining: 1 error, 2 warnings).\n\
         No fixes available (3 hidden fixes can be enabled with the --unsafe-fixes option).\n"
    );
    // The expected notebook differs from the fixture in that one line of cell 5 alone.
    let original = String::from_utf8(fixture("demo.ipynb")).expect("UTF-8");
    let expected = String::from_utf8(fixture("demo.fixed.ipynb")).expect("UTF-8");
    let changed: Vec<(&str, &str)> = original.lines().zip(expected.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(changed, [("    \"fetch(\\\"paris\\\")\\n\",", "    \"await fetch(\\\"paris\\\")\\n\",")]);
    assert_eq!(original.lines().count(), expected.lines().count());
}

#[test]
fn unsafe_fixes_keep_magics_crlf_and_the_other_cells() {
    let folder = project();
    let output = loopwise(folder.path(), &["check", "--no-cache", "--fix", "--unsafe-fixes", "demo.ipynb"]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    let fixed = std::fs::read_to_string(folder.path().join("demo.ipynb")).expect("the notebook");
    let original = String::from_utf8(fixture("demo.ipynb")).expect("UTF-8");
    let expected = original
        .replace("\"    time.sleep(1)\\r\\n\"", "\"    await asyncio.sleep(1)\\r\\n\"")
        .replace("\"fetch(\\\"paris\\\")\\n\"", "\"await fetch(\\\"paris\\\")\\n\"")
        .replace("\"time.sleep(2)\"", "\"await asyncio.sleep(2)\"")
        .replace("\"def sync_helper():\\n\"", "\"async def sync_helper():\\n\"");
    assert_eq!(fixed, expected);
    assert!(fixed.contains("\"!pip install aiohttp\\n\"") && fixed.contains("\"%time x = 1\""), "{fixed}");
}

#[test]
fn diff_shows_each_changed_cell_and_writes_nothing() {
    let folder = project();
    let output = loopwise(folder.path(), &["check", "--no-cache", "--diff", "--unsafe-fixes", "demo.ipynb"]);
    // Cell 3 is written with CRLF line breaks: the diff shows them as they are.
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "--- demo.ipynb:cell 3\n+++ demo.ipynb:cell 3\n@@ -1,3 +1,3 @@\n async def fetch(city):\r\n\
         -    time.sleep(1)\r\n+    await asyncio.sleep(1)\r\n     return city\r\n\
         --- demo.ipynb:cell 5\n+++ demo.ipynb:cell 5\n@@ -1,3 +1,3 @@\n-fetch(\"paris\")\n\
         +await fetch(\"paris\")\n print(await fetch(\"berlin\"))\n-time.sleep(2)\n\\ No newline at end of file\n\
         +await asyncio.sleep(2)\n\\ No newline at end of file\n\
         --- demo.ipynb:cell 8\n+++ demo.ipynb:cell 8\n@@ -1,2 +1,2 @@\n-def sync_helper():\n\
         +async def sync_helper():\n     await asyncio.sleep(1)\n"
    );
    assert_eq!(stderr(&output), "Would fix 4 findings.\n");
    assert_eq!(std::fs::read(folder.path().join("demo.ipynb")).expect("the notebook"), fixture("demo.ipynb"));
}

#[test]
fn an_invalid_notebook_is_an_error_naming_it_and_is_never_rewritten() {
    let folder = project();
    let cases: [(&str, &[u8], &str); 3] = [
        ("broken.ipynb", b"{\n \"cells\": [\n", "broken.ipynb:3: not a valid notebook"),
        ("nocells.ipynb", b"{\"metadata\": {}}\n", "nocells.ipynb:1: not a valid notebook"),
        (
            "numbers.ipynb",
            b"{\"cells\": [\n {\"cell_type\": \"code\",\n  \"source\": [1]}\n]}\n",
            "numbers.ipynb:3: not a valid notebook: cell 1: `source` is neither a string nor a list of strings",
        ),
    ];
    for (name, content, error) in cases {
        binary::write(folder.path(), name, content);
        let output = loopwise(folder.path(), &["check", "--no-cache", "--fix", "--unsafe-fixes", name]);
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(stderr(&output).starts_with(&format!("error: {error}")), "{name}: {}", stderr(&output));
        assert_eq!(std::fs::read(folder.path().join(name)).expect("the file"), content, "{name}");
    }
}

#[test]
fn extend_exclude_drops_notebooks() {
    let folder = project();
    binary::write(folder.path(), "pyproject.toml", b"[tool.loopwise]\nextend-exclude = [\"*.ipynb\"]\n");
    let output = loopwise(folder.path(), &["check", "--no-cache", "--output-format", "concise"]);
    assert_eq!(
        stdout(&output),
        "app.py:4:5: LW101 [warning] Blocking call to `time.sleep` in async function\nFound 1 warning.\n\
         No fixes available (1 hidden fix can be enabled with the --unsafe-fixes option).\n"
    );
}

#[test]
fn standard_input_named_as_a_notebook_is_one_and_fix_prints_its_json() {
    use std::io::Write as _;
    let folder = project();
    let run = |args: &[&str]| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_loopwise"))
            .current_dir(folder.path())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child.stdin.take().expect("stdin").write_all(&fixture("demo.ipynb")).expect("write stdin");
        child.wait_with_output().expect("wait")
    };
    let checked = run(&["check", "-", "--stdin-filename", "demo.ipynb", "--output-format", "concise"]);
    assert!(stdout(&checked).starts_with("demo.ipynb:cell 3:2:5: LW101 "), "{}", stdout(&checked));
    let fixed = run(&["check", "-", "--stdin-filename", "demo.ipynb", "--fix"]);
    assert_eq!(String::from_utf8_lossy(&fixed.stdout), String::from_utf8_lossy(&fixture("demo.fixed.ipynb")));
}
