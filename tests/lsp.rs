//! End-to-end tests of `loopwise server`: the real server in-process over a duplex pipe.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{TestClient, range, utf16_position};
use loopwise::analysis::{LintSettings, lint_source};
use loopwise::lsp::PanicSeam;
use loopwise::position::{self, PositionEncoding};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ropey::Rope;
use serde_json::{Value, json};

const URI: &str = "file:///project/app.py";
const SLEEPY: &str = "import time\nasync def f():\n    time.sleep(1)\n";
const SLEEP_MESSAGE: &str = "Blocking call to `time.sleep` in async function";

fn push_client() -> Value {
    json!({"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}})
}

fn pull_client() -> Value {
    json!({"textDocument": {"diagnostic": {"dynamicRegistration": false}}})
}

/// The LW101 finding of document `version` on `time.sleep(1)` spanning `start..end` of
/// `SLEEPY`-like text (whose line 0 is `import time` and whose call ends its line), with its fix
/// and its `# noqa` edit in `data`.
fn sleep_diagnostic(version: i32, start: (usize, usize), end: (usize, usize)) -> Value {
    let callee_end = (start.0, start.1 + "time.sleep".len());
    json!({
        "data": {
            "version": version,
            "fix": {
                "title": "Replace with `await asyncio.sleep(...)`",
                "applicability": "unsafe",
                "edits": [
                    {"range": range((0, 0), (0, 0)), "newText": "import asyncio\n"},
                    {"range": range(start, start), "newText": "await "},
                    {"range": range(start, callee_end), "newText": "asyncio.sleep"},
                ],
            },
            "noqa": {
                "title": "Disable LW101 for this line",
                "edit": {"range": range(end, end), "newText": "  # noqa: LW101"},
            },
        },
        "range": range(start, end),
        "severity": 2,
        "code": "LW101",
        "source": "loopwise",
        "message": SLEEP_MESSAGE,
    })
}

#[tokio::test]
async fn initialize_picks_utf8_when_the_client_offers_it() {
    let capabilities = json!({"general": {"positionEncodings": ["utf-16", "utf-8"]}});
    let (client, result) = TestClient::initialized(capabilities, Value::Null).await;
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-8");
    assert_eq!(result["capabilities"]["textDocumentSync"], json!({"openClose": true, "change": 2}));
    assert_eq!(result["capabilities"].get("diagnosticProvider"), None, "push mode has no diagnostic provider");
    assert_eq!(client.state.position_encoding(), PositionEncoding::Utf8);
}

#[tokio::test]
async fn initialize_falls_back_to_utf16() {
    let capabilities = json!({"general": {"positionEncodings": ["utf-32", "utf-16"]}});
    let (client, result) = TestClient::initialized(capabilities, Value::Null).await;
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
    assert_eq!(client.state.position_encoding(), PositionEncoding::Utf16);
    let (_, result) = TestClient::initialized(json!({}), Value::Null).await;
    assert_eq!(result["capabilities"]["positionEncoding"], "utf-16");
}

#[tokio::test]
async fn initialized_registers_config_and_python_file_watchers() {
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    let (request, _) = client.recv_until(|message| message["method"] == "client/registerCapability").await;
    let registration = &request["params"]["registrations"][0];
    assert_eq!(registration["method"], "workspace/didChangeWatchedFiles");
    let globs: Vec<&Value> =
        registration["registerOptions"]["watchers"].as_array().unwrap().iter().map(|w| &w["globPattern"]).collect();
    let expected = [
        "**/pyproject.toml",
        "**/loopwise.toml",
        "**/.loopwise.toml",
        "**/ruff.toml",
        "**/.ruff.toml",
        "**/setup.cfg",
        "**/pytest.ini",
        "**/.pytest.ini",
        "**/tox.ini",
        "**/requirements*.txt",
        "**/*.py",
    ]
    .map(|glob| json!(glob));
    assert_eq!(globs, expected.iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn did_open_publishes_versioned_diagnostics() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    client.open(URI, 7, SLEEPY).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published, json!({"uri": URI, "version": 7, "diagnostics": [sleep_diagnostic(7, (2, 4), (2, 17))]}));
}

/// `x = "😀"; ` is 16 bytes but 14 UTF-16 code units, so the call starts at a different
/// column in each encoding.
const EMOJI_LINE: &str = "import time\nasync def f():\n    x = \"😀\"; time.sleep(1)\n";

#[tokio::test]
async fn ranges_are_in_utf8_when_negotiated() {
    let capabilities = json!({"general": {"positionEncodings": ["utf-8"]}});
    let (mut client, _) = TestClient::initialized(capabilities, Value::Null).await;
    client.open(URI, 1, EMOJI_LINE).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"], json!([sleep_diagnostic(1, (2, 16), (2, 29))]));
}

#[tokio::test]
async fn ranges_are_in_utf16_by_default() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    client.open(URI, 1, EMOJI_LINE).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"], json!([sleep_diagnostic(1, (2, 14), (2, 27))]));
}

#[tokio::test]
async fn edits_in_utf16_land_after_the_emoji() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    client.open(URI, 1, EMOJI_LINE).await;
    client.expect_notification("textDocument/publishDiagnostics").await;
    // Replace `time` (UTF-16 columns 14..18) with `asyncio`: if the server counted bytes it
    // would cut into the emoji's quotes instead.
    client.change(URI, 2, (2, 14), (2, 18), "asyncio").await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published, json!({"uri": URI, "version": 2, "diagnostics": []}));
    let expected = EMOJI_LINE.replace("; time.", "; asyncio.");
    assert_eq!(client.state.document_text(&URI.parse().unwrap()), Some(expected));
}

#[tokio::test]
async fn three_hundred_rapid_changes_end_in_sync() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    let mut text = SLEEPY.to_string();
    client.open(URI, 0, &text).await;
    let mut rng = StdRng::seed_from_u64(300);
    for version in 1..=300 {
        let (start, end, insert) = random_edit(&mut rng, &text);
        client.change(URI, version, utf16_position(&text, start), utf16_position(&text, end), insert).await;
        text.replace_range(start..end, insert);
    }
    let (last, _) = client
        .recv_until(|message| {
            message["method"] == "textDocument/publishDiagnostics" && message["params"]["version"] == 300
        })
        .await;
    let later = client.drain(Duration::from_millis(300)).await;
    assert!(
        later.iter().all(|message| message["method"] != "textDocument/publishDiagnostics"),
        "diagnostics published after the ones for the last version: {later:?}"
    );
    assert_eq!(client.state.document_text(&URI.parse().unwrap()).as_deref(), Some(text.as_str()));
    assert_eq!(diagnostic_summary(&last["params"]["diagnostics"]), expected_summary(&text, PositionEncoding::Utf16));
}

#[tokio::test]
async fn pull_mode_answers_diagnostic_requests_and_never_pushes() {
    let (mut client, result) = TestClient::initialized(pull_client(), Value::Null).await;
    assert_eq!(
        result["capabilities"]["diagnosticProvider"],
        json!({"identifier": "loopwise", "interFileDependencies": false, "workspaceDiagnostics": false})
    );
    client.open(URI, 1, SLEEPY).await;
    let (report, before) =
        client.request_with_id("textDocument/diagnostic", json!({"textDocument": {"uri": URI}})).await;
    assert_eq!(report["result"], json!({"kind": "full", "items": [sleep_diagnostic(1, (2, 4), (2, 17))]}));
    client.change(URI, 2, (2, 4), (2, 17), "pass").await;
    let report = client.request_ok("textDocument/diagnostic", json!({"textDocument": {"uri": URI}})).await;
    assert_eq!(report, json!({"kind": "full", "items": []}));
    let later = client.drain(Duration::from_millis(200)).await;
    let pushed: Vec<_> =
        before.iter().chain(&later).filter(|message| message["method"] == "textDocument/publishDiagnostics").collect();
    assert!(pushed.is_empty(), "pull mode pushed: {pushed:?}");
}

#[tokio::test]
async fn did_close_clears_diagnostics() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    client.open(URI, 1, SLEEPY).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"].as_array().map(Vec::len), Some(1));
    client.notify("textDocument/didClose", json!({"textDocument": {"uri": URI}})).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published, json!({"uri": URI, "diagnostics": []}));
    assert_eq!(client.state.document_text(&URI.parse().unwrap()), None);
}

#[tokio::test]
async fn initialization_options_select_rules() {
    for options in [json!({"ignore": ["LW101"]}), json!({"loopwise": {"ignore": ["LW101"]}})] {
        let (mut client, _) = TestClient::initialized(json!({}), options.clone()).await;
        client.open(URI, 1, SLEEPY).await;
        let published = client.expect_notification("textDocument/publishDiagnostics").await;
        assert_eq!(published["diagnostics"], json!([]), "with {options}");
    }
}

/// Neovim sends an empty Lua table (`init_options = {}`, `settings = { loopwise = {} }`) as `[]`.
#[tokio::test]
async fn empty_lua_tables_are_no_settings() {
    for options in [json!([]), json!({"loopwise": []})] {
        let (mut client, _) = TestClient::initialized(json!({}), options.clone()).await;
        client.open(URI, 1, SLEEPY).await;
        let (published, before) =
            client.recv_until(|message| message["method"] == "textDocument/publishDiagnostics").await;
        assert!(before.iter().all(|message| message["method"] != "window/showMessage"), "with {options}: {before:?}");
        assert_eq!(published["params"]["diagnostics"].as_array().map(Vec::len), Some(1), "with {options}");
        client.notify("workspace/didChangeConfiguration", json!({"settings": options})).await;
        let (_, before) = client.recv_until(|message| message["method"] == "textDocument/publishDiagnostics").await;
        assert!(before.iter().all(|message| message["method"] != "window/showMessage"), "with {options}: {before:?}");
    }
}

#[tokio::test]
async fn invalid_settings_are_shown_once_and_defaults_used() {
    let (mut client, _) = TestClient::initialized(json!({}), json!({"selekt": ["LW1"]})).await;
    let shown = client.expect_notification("window/showMessage").await;
    assert_eq!(shown["type"], 1);
    assert!(shown["message"].as_str().unwrap().contains("selekt"), "{shown}");
    client.open(URI, 1, SLEEPY).await;
    let (published, before) = client.recv_until(|message| message["method"] == "textDocument/publishDiagnostics").await;
    assert_eq!(published["params"]["diagnostics"].as_array().map(Vec::len), Some(1));
    client.notify("workspace/didChangeConfiguration", json!({"settings": {"selekt": ["LW1"]}})).await;
    client.expect_notification("textDocument/publishDiagnostics").await;
    let shown_again = before
        .iter()
        .chain(&client.drain(Duration::from_millis(200)).await)
        .any(|message| message["method"] == "window/showMessage");
    assert!(!shown_again, "the same settings error was shown twice");
}

#[tokio::test]
async fn did_change_configuration_rediagnoses_open_documents() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    client.open(URI, 4, SLEEPY).await;
    client.expect_notification("textDocument/publishDiagnostics").await;
    client.notify("workspace/didChangeConfiguration", json!({"settings": {"loopwise": {}}})).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["version"], 4);
    client
        .notify(
            "workspace/didChangeWatchedFiles",
            json!({"changes": [{"uri": "file:///project/pyproject.toml", "type": 2}]}),
        )
        .await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["version"], 4);
}

#[tokio::test]
async fn a_panicking_analysis_answers_an_error_and_the_server_goes_on() {
    let (mut client, _) = TestClient::initialized(pull_client(), Value::Null).await;
    client.open(URI, 1, SLEEPY).await;
    let params = json!({"textDocument": {"uri": URI}});
    // A round trip first, so the seam cannot catch the didOpen still in flight.
    client.request_ok("textDocument/diagnostic", params.clone()).await;
    client.state.inject_panic(PanicSeam::Analysis);
    let response = client.request("textDocument/diagnostic", params.clone()).await;
    assert_eq!(response["error"]["code"], -32603, "{response}");
    let report = client.request_ok("textDocument/diagnostic", params).await;
    assert_eq!(report["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_panicking_handler_answers_an_error_and_the_server_goes_on() {
    let (mut client, _) = TestClient::initialized(pull_client(), Value::Null).await;
    client.open(URI, 1, SLEEPY).await;
    let params = json!({"textDocument": {"uri": URI}});
    // A round trip first, so the seam cannot catch the didOpen still in flight.
    client.request_ok("textDocument/diagnostic", params.clone()).await;
    client.state.inject_panic(PanicSeam::Handler);
    let (response, before) = client.request_with_id("textDocument/diagnostic", params.clone()).await;
    assert_eq!(response["error"]["code"], -32603, "{response}");
    // The log travels on the client channel, the response on the service's: tower-lsp-server
    // merges the two, so the log may arrive on either side of the response.
    let is_panic_log = |message: &Value| {
        message["method"] == "window/logMessage"
            && message["params"]["message"].as_str().is_some_and(|text| text.contains("panicked"))
    };
    if !before.iter().any(is_panic_log) {
        client.recv_until(is_panic_log).await;
    }
    let report = client.request_ok("textDocument/diagnostic", params).await;
    assert_eq!(report["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_panicking_notification_is_logged_and_later_changes_still_publish() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    client.open(URI, 1, SLEEPY).await;
    client.expect_notification("textDocument/publishDiagnostics").await;
    client.state.inject_panic(PanicSeam::Analysis);
    client.change(URI, 2, (0, 0), (0, 0), "# hi\n").await;
    let logged = client.expect_notification("window/logMessage").await;
    assert!(logged["message"].as_str().unwrap().contains("panic"), "{logged}");
    client.change(URI, 3, (0, 0), (1, 0), "").await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["version"], 3);
    assert_eq!(published["diagnostics"], json!([sleep_diagnostic(3, (2, 4), (2, 17))]));
}

#[tokio::test]
async fn garbage_on_the_wire_does_not_stop_the_server() {
    let (mut client, _) = TestClient::initialized(pull_client(), Value::Null).await;
    client.open(URI, 1, SLEEPY).await;
    client.send_raw(b"this is not a header\r\n\r\n").await;
    client.send_raw(b"Content-Length: 9\r\n\r\n{not json").await;
    client.send_raw(b"Content-Length: nine\r\n\r\n").await;
    client.send_raw("Content-Length: 4\r\n\r\n\u{1F600}".as_bytes()).await;
    // Valid JSON, but neither a request nor a response: the client gets an error for its id.
    let body = br#"{"jsonrpc":"2.0","id":77,"method":42}"#;
    client.send_raw(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes()).await;
    client.send_raw(body).await;
    let (error, _) = client.recv_until(|message| message["id"] == 77).await;
    assert_eq!(error["error"]["code"], -32600, "{error}");
    let report = client.request_ok("textDocument/diagnostic", json!({"textDocument": {"uri": URI}})).await;
    assert_eq!(report["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn bad_edits_are_logged_and_survived() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    client.change("file:///project/never-opened.py", 1, (0, 0), (0, 0), "x").await;
    let logged = client.expect_notification("window/logMessage").await;
    assert!(logged["message"].as_str().unwrap().contains("not open"), "{logged}");

    client.open(URI, 1, SLEEPY).await;
    client.expect_notification("textDocument/publishDiagnostics").await;
    // Line 99 does not exist: the insertion clamps to the end of the text.
    client.change(URI, 2, (99, 3), (99, 5), "x = 1\n").await;
    let logged = client.expect_notification("window/logMessage").await;
    assert!(logged["message"].as_str().unwrap().contains("clamped"), "{logged}");
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["version"], 2);
    assert_eq!(client.state.document_text(&URI.parse().unwrap()), Some(format!("{SLEEPY}x = 1\n")));
    // A column past the end of a line clamps to the line's end, before its line break.
    client.change(URI, 3, (0, 50), (0, 60), " as t").await;
    client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(
        client.state.document_text(&URI.parse().unwrap()),
        Some(format!("{}x = 1\n", SLEEPY.replacen("import time", "import time as t", 1)))
    );
}

/// Whole lines that make and break async functions and blocking calls.
const LINES: &[&str] = &[
    "    time.sleep(1)\n",
    "    x = \"😀\"; time.sleep(2)\n",
    "    requests.get('u')\n",
    "    await asyncio.sleep(1)\n",
    "async def g():\n",
    "import time\n",
    "    y = '日本'\n",
    "\n",
];

/// Small in-line insertions, like typing.
const CHARS: &[&str] = &["", "x", " ", "日本", "😀", "(", ")", "."];

/// A random edit of `text`: (start byte, end byte, replacement). Most edits keep the code
/// parseable, so that the runs keep having something to report.
fn random_edit(rng: &mut StdRng, text: &str) -> (usize, usize, &'static str) {
    let line_starts: Vec<usize> = [0].into_iter().chain(text.match_indices('\n').map(|(at, _)| at + 1)).collect();
    let line = rng.random_range(0..line_starts.len());
    let line_start = line_starts[line];
    let line_end = line_starts.get(line + 1).copied().unwrap_or(text.len());
    match rng.random_range(0..10) {
        0..6 => (line_start, line_start, LINES[rng.random_range(0..LINES.len())]),
        6..9 => {
            let boundaries: Vec<usize> =
                text[line_start..line_end].char_indices().map(|(at, _)| line_start + at).chain([line_end]).collect();
            let at = rng.random_range(0..boundaries.len());
            let end = boundaries[(at + rng.random_range(0..2)).min(boundaries.len() - 1)];
            (boundaries[at], end, CHARS[rng.random_range(0..CHARS.len())])
        }
        _ => (line_start, line_end, ""),
    }
}

/// (code, range, message) of published diagnostics, sorted.
fn diagnostic_summary(diagnostics: &Value) -> Vec<(String, Value, String)> {
    let mut summary: Vec<_> = diagnostics
        .as_array()
        .expect("diagnostics are an array")
        .iter()
        .map(|d| {
            (d["code"].as_str().unwrap().to_string(), d["range"].clone(), d["message"].as_str().unwrap().to_string())
        })
        .collect();
    summary.sort_by_key(|(code, range, message)| (code.clone(), range.to_string(), message.clone()));
    summary
}

/// What the engine reports on `text` when linted from scratch, in LSP terms.
fn expected_summary(text: &str, encoding: PositionEncoding) -> Vec<(String, Value, String)> {
    let rope = Rope::from_str(text);
    let diagnostics = lint_source(text, Some(Path::new("/project/app.py")), &LintSettings::default());
    let published: Vec<Value> = diagnostics
        .iter()
        .map(|d| {
            let (start, end) = position::range_to_positions(rope.slice(..), d.range.start, d.range.end, encoding).value;
            json!({
                "code": d.rule.code(),
                "range": range((start.line, start.column), (end.line, end.column)),
                "message": d.message,
            })
        })
        .collect();
    diagnostic_summary(&Value::Array(published))
}

#[tokio::test]
async fn random_edit_sequences_publish_what_a_fresh_lint_reports() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    let mut nonempty_runs = 0;
    for seed in 0..20 {
        let uri = format!("file:///project/run{seed}.py");
        let mut rng = StdRng::seed_from_u64(seed);
        let mut text = String::from(
            "import time\nimport asyncio\nimport requests\n\nasync def main():\n    time.sleep(1)\n    requests.get('x')\n    await asyncio.sleep(0)\n",
        );
        client.open(&uri, 0, &text).await;
        for version in 1..=40 {
            let (start, end, insert) = random_edit(&mut rng, &text);
            client.change(&uri, version, utf16_position(&text, start), utf16_position(&text, end), insert).await;
            text.replace_range(start..end, insert);
        }
        let (last, _) = client
            .recv_until(|message| {
                message["method"] == "textDocument/publishDiagnostics"
                    && message["params"]["uri"] == uri.as_str()
                    && message["params"]["version"] == 40
            })
            .await;
        let expected = expected_summary(&text, PositionEncoding::Utf16);
        assert_eq!(diagnostic_summary(&last["params"]["diagnostics"]), expected, "seed {seed}, text:\n{text}");
        if !expected.is_empty() {
            nonempty_runs += 1;
        }
        client.notify("textDocument/didClose", json!({"textDocument": {"uri": uri}})).await;
    }
    // The comparison means little if every run ended with nothing to report.
    assert!(nonempty_runs >= 6, "only {nonempty_runs} runs ended with diagnostics");
}

#[tokio::test]
async fn changed_configuration_files_are_re_read() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let config = folder.path().join("loopwise.toml");
    std::fs::write(&config, "ignore = []\n").expect("write config");
    let uri = format!("file://{}", folder.path().join("app.py").display());
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    client.open(&uri, 1, SLEEPY).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"].as_array().map(Vec::len), Some(1), "{published}");

    std::fs::write(&config, "ignore = [\"ASYNC251\"]\n").expect("rewrite config");
    let config_uri = format!("file://{}", config.display());
    client.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": config_uri, "type": 2}]})).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"], json!([]), "the new configuration applies: {published}");
}

#[tokio::test]
async fn editor_settings_change_what_is_reported() {
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    client.open(URI, 1, SLEEPY).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"].as_array().map(Vec::len), Some(1), "{published}");
    client.notify("workspace/didChangeConfiguration", json!({"settings": {"loopwise": {"ignore": ["LW1"]}}})).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"], json!([]), "{published}");
    client.notify("workspace/didChangeConfiguration", json!({"settings": {"severity": {"LW101": "error"}}})).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"][0]["severity"], 1, "{published}");
}

#[tokio::test]
async fn workspace_index_reports_progress() {
    let folder = tempfile::tempdir().expect("temporary folder");
    for (name, text) in
        [("pkg/__init__.py", ""), ("pkg/client.py", "async def fetch(): ...\n"), ("app.py", "import pkg\n")]
    {
        let path = folder.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folders");
        std::fs::write(path, text).expect("write");
    }
    let folder_uri = format!("file://{}", folder.path().display());
    let (mut client, _) = TestClient::initialized_with(json!({
        "processId": null,
        "capabilities": {"window": {"workDoneProgress": true}},
        "workspaceFolders": [{"uri": folder_uri, "name": "project"}],
    }))
    .await;
    let (create, _) = client.recv_until(|message| message["method"] == "window/workDoneProgress/create").await;
    let token = create["params"]["token"].clone();
    let mut kinds = Vec::new();
    while kinds.last() != Some(&json!("end")) {
        let (progress, _) = client.recv_until(|message| message["method"] == "$/progress").await;
        assert_eq!(progress["params"]["token"], token);
        kinds.push(progress["params"]["value"]["kind"].clone());
        if progress["params"]["value"]["kind"] == "end" {
            assert_eq!(progress["params"]["value"]["message"], "3 modules indexed", "{progress}");
        }
    }
    assert_eq!(kinds.first(), Some(&json!("begin")));
    assert!(kinds.contains(&json!("report")), "{kinds:?}");
}

#[tokio::test]
async fn no_progress_without_the_capability() {
    let folder = tempfile::tempdir().expect("temporary folder");
    std::fs::write(folder.path().join("app.py"), "async def f(): ...\n").expect("write");
    let folder_uri = format!("file://{}", folder.path().display());
    let (mut client, _) = TestClient::initialized_with(json!({
        "processId": null,
        "capabilities": {},
        "workspaceFolders": [{"uri": folder_uri, "name": "project"}],
    }))
    .await;
    let messages = client.drain(Duration::from_millis(300)).await;
    assert!(
        messages
            .iter()
            .all(|message| message["method"] != "$/progress" && message["method"] != "window/workDoneProgress/create"),
        "{messages:?}"
    );
}

#[tokio::test]
async fn a_function_turning_async_re_diagnoses_its_open_callers() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let write = |name: &str, text: &str| {
        let path = folder.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folders");
        std::fs::write(&path, text).expect("write");
        format!("file://{}", path.display())
    };
    write("pkg/__init__.py", "");
    let helpers = write("pkg/helpers.py", "def refresh():\n    return 1\n");
    let app_text = "from .helpers import refresh\n\nasync def main():\n    refresh()\n";
    let app = write("pkg/app.py", app_text);
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    client.open(&app, 1, app_text).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"], json!([]), "a plain function call is fine: {published}");
    client.open(&helpers, 1, "def refresh():\n    return 1\n").await;
    client.expect_notification("textDocument/publishDiagnostics").await;
    // The helper becomes a coroutine function in the editor, unsaved: the caller is re-linted.
    client.change(&helpers, 2, (0, 0), (0, 0), "async ").await;
    let (published, _) = client
        .recv_until(|message| {
            message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == json!(app)
        })
        .await;
    let diagnostics = &published["params"]["diagnostics"];
    assert_eq!(diagnostics[0]["code"], "LW201", "{published}");
    assert_eq!(diagnostics[0]["range"], range((3, 4), (3, 13)));
    // And back: the finding goes away.
    client.change(&helpers, 3, (0, 0), (0, 6), "").await;
    let (published, _) = client
        .recv_until(|message| {
            message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == json!(app)
        })
        .await;
    assert_eq!(published["params"]["diagnostics"], json!([]), "{published}");
}

/// The first `time.sleep` is whole; the second is in a list with a stray `2`, a broken
/// construct; the `(` of `h` lacks its `)`, which breaks only its parameters.
const BROKEN: &str = "import time\nasync def f():\n    time.sleep(1)\n\nasync def g():\n    x = [time.sleep(2) 2]\n\nasync def h(:\n    time.sleep(3)\n";

#[tokio::test]
async fn syntax_errors_are_shown_only_with_show_syntax_errors_and_no_fix_is_offered_in_a_broken_region() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    client.open(URI, 1, BROKEN).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    let diagnostics = published["diagnostics"].as_array().expect("an array");
    let codes: Vec<&str> = diagnostics.iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(codes, ["LW101", "LW101", "LW101"], "hidden by default: {diagnostics:?}");
    let fixed: Vec<bool> = diagnostics.iter().map(|d| d["data"]["fix"].is_object()).collect();
    assert_eq!(fixed, [true, false, true], "no fix inside the broken list: {diagnostics:?}");

    let settings = json!({"loopwise": {"showSyntaxErrors": true}});
    client.notify("workspace/didChangeConfiguration", json!({"settings": settings})).await;
    let (published, _) = client
        .recv_until(|message| {
            message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["diagnostics"].as_array().is_some_and(|d| d.len() == 5)
        })
        .await;
    let diagnostics = &published["params"]["diagnostics"];
    let summary: Vec<(&str, &str, i64)> = diagnostics
        .as_array()
        .expect("an array")
        .iter()
        .map(|d| {
            (d["code"].as_str().unwrap_or(""), d["message"].as_str().unwrap_or(""), d["severity"].as_i64().unwrap_or(0))
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("LW101", SLEEP_MESSAGE, 2),
            ("LW101", SLEEP_MESSAGE, 2),
            ("invalid-syntax", "Invalid syntax: unexpected `2`", 1),
            ("invalid-syntax", "Expected `)`", 1),
            ("LW101", SLEEP_MESSAGE, 2),
        ]
    );
    assert_eq!(diagnostics[3]["range"], range((7, 12), (7, 12)));
    assert_eq!(diagnostics[3]["data"]["noqa"], Value::Null, "a syntax error cannot be silenced");
}

#[tokio::test]
async fn a_show_syntax_errors_that_is_not_a_boolean_is_a_settings_error() {
    let (mut client, _) = TestClient::initialized(json!({}), json!({"showSyntaxErrors": "yes"})).await;
    let (message, _) = client.recv_until(|message| message["method"] == "window/showMessage").await;
    let text = message["params"]["message"].as_str().unwrap_or_default();
    assert!(text.contains("`showSyntaxErrors` must be true or false"), "{text}");
}

#[tokio::test]
async fn an_index_limit_that_is_not_a_whole_number_is_a_settings_error() {
    for bad in [json!(-1), json!("many"), json!(2.5)] {
        let (mut client, _) = TestClient::initialized(json!({}), json!({"indexLimit": bad})).await;
        let (message, _) = client.recv_until(|message| message["method"] == "window/showMessage").await;
        let text = message["params"]["message"].as_str().unwrap_or_default();
        assert!(text.contains("`indexLimit` must be a whole number of files"), "{bad}: {text}");
    }
}

#[tokio::test]
async fn ids_the_decoder_cannot_hold_are_answered_with_the_clients_id_and_the_server_lives_on() {
    let (mut client, _) = TestClient::initialized(pull_client(), Value::Null).await;
    client.open(URI, 1, SLEEPY).await;
    for id in ["1.5", "1.0", "1e3", "9223372036854775808", "-1.5e300"] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"textDocument/hover","params":{{}}}}"#);
        client.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes()).await;
        let expected: Value = serde_json::from_str(id).expect("a JSON number");
        let (answer, _) = client.recv_until(|message| message.get("id") == Some(&expected)).await;
        assert_eq!(answer["error"]["code"], -32600, "{id}: {answer}");
    }
    // A response with such an id answers nothing: it is dropped, and the stream goes on.
    let body = r#"{"jsonrpc":"2.0","id":2.5,"result":null}"#;
    client.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes()).await;
    let report = client.request_ok("textDocument/diagnostic", json!({"textDocument": {"uri": URI}})).await;
    assert_eq!(report["items"].as_array().map(Vec::len), Some(1), "the server still answers");
}

#[cfg(unix)]
#[tokio::test]
async fn special_files_in_the_workspace_do_not_stop_indexing_or_diagnostics() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    std::fs::write(root.join("helpers.py"), "async def fetch(): ...\n").expect("write");
    std::fs::create_dir(root.join("sub")).expect("folder");
    for fifo in [root.join("z.py"), root.join("sub/.gitignore")] {
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo").success());
    }
    std::os::unix::fs::symlink("/dev/zero", root.join("zero.py")).expect("symlink");
    let folder_uri = format!("file://{}", root.display());
    let (mut client, _) = TestClient::initialized_with(json!({
        "processId": null,
        "capabilities": {},
        "workspaceFolders": [{"uri": folder_uri, "name": "project"}],
    }))
    .await;
    let (warning, _) = client
        .recv_until(|message| {
            message["method"] == "window/logMessage"
                && message["params"]["message"].as_str().is_some_and(|text| text.contains(".gitignore"))
        })
        .await;
    assert!(
        warning["params"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not a regular file, so its folder is not indexed"),
        "{warning}"
    );
    // A document importing the FIFO's and the device's modules, and a real one, still gets its
    // diagnostics: nothing waits on them.
    let text = "import z\nimport zero\nfrom helpers import fetch\n\nasync def main():\n    fetch()\n";
    let uri = format!("file://{}/app.py", root.display());
    client.open(&uri, 1, text).await;
    let (published, _) = client.recv_until(|message| message["method"] == "textDocument/publishDiagnostics").await;
    let codes: Vec<&str> = published["params"]["diagnostics"]
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(codes, ["LW201"], "{published}");
}

#[tokio::test]
async fn a_lone_surrogate_is_replaced_and_positions_stay_those_of_the_client() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    // A JavaScript client can hold a lone surrogate, one UTF-16 unit, as U+FFFD is.
    let text = r"import time\nasync def f():\n    x = '\ud800'; time.sleep(1)\n";
    let body = format!(
        r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"{URI}","languageId":"python","version":1,"text":"{text}"}}}}}}"#
    );
    client.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes()).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"][0]["range"], range((2, 13), (2, 26)), "{published}");
    // A change holding one is applied too: the sleep moves one unit to the right.
    let change = format!(
        r#"{{"jsonrpc":"2.0","method":"textDocument/didChange","params":{{"textDocument":{{"uri":"{URI}","version":2}},"contentChanges":[{{"range":{{"start":{{"line":2,"character":4}},"end":{{"line":2,"character":4}}}},"text":"\udc00"}}]}}}}"#
    );
    client.send_raw(format!("Content-Length: {}\r\n\r\n{change}", change.len()).as_bytes()).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["version"], 2, "{published}");
    assert_eq!(published["diagnostics"][0]["range"], range((2, 14), (2, 27)), "{published}");
}

#[tokio::test]
async fn a_document_over_max_file_size_gets_no_findings_and_the_log_says_why() {
    let (mut client, _) = TestClient::initialized(json!({}), json!({"maxFileSize": 20})).await;
    client.open(URI, 1, SLEEPY).await;
    let (published, others) = client.recv_until(|message| message["method"] == "textDocument/publishDiagnostics").await;
    assert_eq!(published["params"]["diagnostics"], json!([]), "{published}");
    let mut messages = others;
    messages.extend(client.drain(Duration::from_millis(200)).await);
    let size = SLEEPY.len();
    assert!(
        messages.iter().any(|message| message["method"] == "window/logMessage"
            && message["params"]["message"].as_str().is_some_and(
                |text| text.ends_with(&format!(": {size} bytes, more than max-file-size (20 bytes): not checked"))
            )),
        "{messages:?}"
    );
}

/// LW109 in the editor: the finding at the call follows the helper's body as it is edited,
/// though the edit is far from the call (the incremental analysis re-checks the caller).
#[tokio::test]
async fn a_helper_call_finding_follows_the_helpers_body() {
    let text = "import asyncio\n\n\nasync def handle(path):\n    return load(path)\n\n\ndef load(path):\n    return open(path).read()\n";
    let (mut client, _) = TestClient::initialized(json!({}), json!({"extend-select": ["LW109"]})).await;
    let codes = |published: &Value| -> Vec<(Value, Value)> {
        let diagnostics = published["diagnostics"].as_array().expect("diagnostics");
        diagnostics.iter().map(|d| (d["code"].clone(), d["range"]["start"]["line"].clone())).collect()
    };
    client.open(URI, 1, text).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(codes(&published), [(json!("LW109"), json!(4))]);
    assert!(
        published["diagnostics"][0]["message"].as_str().is_some_and(|m| m.contains("it calls `open()`")),
        "{published}"
    );
    // `open(path).read()` becomes `path.open`, no call: nothing blocks any more (and the file
    // still holds `open`, so the rules checked stay the same and only `load` is analysed again).
    client.change(URI, 2, (8, 11), (8, 28), "path.open").await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["version"], 2);
    assert_eq!(codes(&published), []);
    client.change(URI, 3, (8, 11), (8, 20), "open(path).read()").await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(codes(&published), [(json!("LW109"), json!(4))]);
}

/// LW109's steps in the same file name their lines, and editors get each as related
/// information at the call: both follow the helper when an edit between the caller and the
/// helper moves it, though neither the caller's text nor its place changed.
#[tokio::test]
async fn a_same_file_helper_step_is_related_information_that_moves_with_the_helper() {
    let text = "import asyncio\n\n\nasync def handle(path):\n    return load(path)\n\n\ndef other():\n    return 1\n\n\ndef load(path):\n    return open(path).read()\n";
    let (mut client, _) = TestClient::initialized(json!({}), json!({"extend-select": ["LW109"]})).await;
    let step = |published: &Value| -> (String, Value, Value) {
        let diagnostic = &published["diagnostics"][0];
        assert_eq!(diagnostic["code"], "LW109", "{published}");
        let related = &diagnostic["relatedInformation"];
        assert_eq!(related.as_array().map(Vec::len), Some(1), "{published}");
        assert_eq!(related[0]["location"]["uri"], URI, "{published}");
        assert_eq!(related[0]["message"], "it calls `open()`", "{published}");
        let message = diagnostic["message"].as_str().expect("a message").to_string();
        (message, related[0]["location"]["range"]["start"].clone(), diagnostic["range"]["start"].clone())
    };
    client.open(URI, 1, text).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    let (message, at, call) = step(&published);
    assert_eq!(message, "`load()` blocks the event loop: it calls `open()` (line 13)");
    assert_eq!((at, call), (json!({"line": 12, "character": 11}), json!({"line": 4, "character": 11})));
    // The function between them grows by two lines: the caller (neither its text nor its
    // place changed) stays as it was, the helper moves down.
    client.change(URI, 2, (8, 12), (8, 12), "\n    return 2\n    return 3").await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["version"], 2);
    let (message, at, call) = step(&published);
    assert_eq!(message, "`load()` blocks the event loop: it calls `open()` (line 15)");
    assert_eq!((at, call), (json!({"line": 14, "character": 11}), json!({"line": 4, "character": 11})));
}
