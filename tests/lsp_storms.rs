//! Storms against the server in push-diagnostics mode (issue 14, items 7 and 11): a burst of
//! opens or of files changed on disk lints again only the open documents that asked about a
//! module whose answers changed, once per burst; a hover is answered in the middle of one; the
//! workspace index walks as the command line does and stops at its limit, saying so.
//!
//! Counts, never times: a storm is linear when each document is published a bounded number of
//! times.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use common::TestClient;
use serde_json::{Value, json};

/// Long enough for the re-lint that follows a burst (it waits for 50 ms without a change).
const QUIET: Duration = Duration::from_millis(800);

fn push_client() -> Value {
    json!({"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}})
}

fn sleepy(index: usize) -> String {
    format!("import time\n\n\nasync def job_{index}():\n    time.sleep(1)\n")
}

fn write(root: &Path, name: &str, text: &str) -> String {
    let path = root.join(name);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("folders");
    std::fs::write(&path, text).expect("write");
    format!("file://{}", path.display())
}

fn uri_in(root: &Path, name: &str) -> String {
    format!("file://{}", root.join(name).display())
}

/// How many times each document was published among `messages`.
fn publishes(messages: &[Value]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for message in messages.iter().filter(|message| message["method"] == "textDocument/publishDiagnostics") {
        let uri = message["params"]["uri"].as_str().expect("a URI").to_string();
        *counts.entry(uri).or_default() += 1;
    }
    counts
}

/// Every message until each of `uris` was published at least once, and then until the server
/// has been quiet for [`QUIET`].
async fn until_all_published_and_quiet(client: &mut TestClient, uris: &[String]) -> Vec<Value> {
    let mut messages = Vec::new();
    while uris.iter().any(|uri| !publishes(&messages).contains_key(uri)) {
        messages.push(client.recv().await);
    }
    messages.extend(client.drain(QUIET).await);
    messages
}

#[tokio::test]
async fn sixty_unrelated_opens_publish_each_document_once() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    // Unsaved documents: each open gives a module the workspace did not know.
    let uris: Vec<String> = (0..60).map(|index| uri_in(folder.path(), &format!("m{index}.py"))).collect();
    for (index, uri) in uris.iter().enumerate() {
        client.open(uri, 1, &sleepy(index)).await;
    }
    let messages = until_all_published_and_quiet(&mut client, &uris).await;
    let counts = publishes(&messages);
    let total: usize = counts.values().sum();
    // Before: every open published every document opened before it again, 1,770 in all.
    assert_eq!(total, 60, "{counts:?}");
    assert!(counts.values().all(|count| *count == 1), "{counts:?}");
}

#[tokio::test]
async fn watched_file_events_for_a_module_no_document_imports_publish_nothing_again() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    let unrelated = write(root, "unrelated.py", "def helper():\n    return 0\n");
    let folder_uri = format!("file://{}", root.display());
    let (mut client, _) = TestClient::initialized_with(json!({
        "processId": null,
        "capabilities": push_client(),
        "workspaceFolders": [{"uri": folder_uri, "name": "project"}],
    }))
    .await;
    let uris: Vec<String> = (0..50).map(|index| uri_in(root, &format!("m{index}.py"))).collect();
    for (index, uri) in uris.iter().enumerate() {
        client.open(uri, 1, &sleepy(index)).await;
    }
    until_all_published_and_quiet(&mut client, &uris).await;
    for event in 0..40 {
        // Its summary changes every time (`def` and `async def` in turn), and no one asked.
        let keyword = if event % 2 == 0 { "async def" } else { "def" };
        std::fs::write(root.join("unrelated.py"), format!("{keyword} helper():\n    return {event}\n")).expect("write");
        client.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": unrelated, "type": 2}]})).await;
    }
    let hover = json!({"textDocument": {"uri": uris[0]}, "position": {"line": 4, "character": 6}});
    let (_, mut messages) = client.request_with_id("textDocument/hover", hover).await;
    messages.extend(client.drain(QUIET).await);
    // Before: every event linted and published all 50 documents again, 2,000 in all.
    assert_eq!(publishes(&messages), HashMap::new());
}

#[tokio::test]
async fn a_burst_of_configuration_file_events_lints_each_document_again_at_most_twice() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    let uris: Vec<String> = (0..20).map(|index| uri_in(root, &format!("m{index}.py"))).collect();
    for (index, uri) in uris.iter().enumerate() {
        client.open(uri, 1, &sleepy(index)).await;
    }
    until_all_published_and_quiet(&mut client, &uris).await;
    let pyproject = write(root, "pyproject.toml", "");
    for event in 0..40 {
        std::fs::write(root.join("pyproject.toml"), format!("# {event}\n")).expect("write");
        client.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": pyproject, "type": 2}]})).await;
    }
    let messages = until_all_published_and_quiet(&mut client, &uris).await;
    let counts = publishes(&messages);
    // Before: every event published every document again, 800 in all.
    assert!(counts.values().all(|count| *count <= 2), "{counts:?}");
}

#[tokio::test]
async fn an_open_of_a_module_turned_async_re_diagnoses_its_importer_and_only_it() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    let helpers = write(root, "helpers.py", "def refresh():\n    return 1\n");
    let app_text = "from helpers import refresh\n\nasync def main():\n    refresh()\n";
    let app = write(root, "app.py", app_text);
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    client.open(&app, 1, app_text).await;
    let others: Vec<String> = (0..10).map(|index| uri_in(root, &format!("m{index}.py"))).collect();
    for (index, uri) in others.iter().enumerate() {
        client.open(uri, 1, &sleepy(index)).await;
    }
    let mut all = vec![app.clone()];
    all.extend(others.iter().cloned());
    let messages = until_all_published_and_quiet(&mut client, &all).await;
    let (_, published) = messages
        .iter()
        .filter(|message| message["method"] == "textDocument/publishDiagnostics")
        .map(|message| (message["params"]["uri"].clone(), message["params"]["diagnostics"].clone()))
        .find(|(uri, _)| *uri == json!(app))
        .expect("the importer was published");
    assert_eq!(published, json!([]), "a plain function call is fine");
    // Opened unsaved, as a coroutine function: the importer is linted again, the others not.
    client.open(&helpers, 1, "async def refresh():\n    return 1\n").await;
    let messages = until_all_published_and_quiet(&mut client, std::slice::from_ref(&helpers)).await;
    let counts = publishes(&messages);
    assert_eq!(counts, HashMap::from([(helpers.clone(), 1), (app.clone(), 1)]), "{messages:?}");
    let published = messages
        .iter()
        .find(|message| {
            message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == json!(app)
        })
        .expect("the importer was published again");
    assert_eq!(published["params"]["diagnostics"][0]["code"], "LW201", "{published}");
}

#[tokio::test]
async fn closing_an_unsaved_module_re_diagnoses_its_importer_from_the_disk() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    let helpers = write(root, "helpers.py", "def refresh():\n    return 1\n");
    let app_text = "from helpers import refresh\n\nasync def main():\n    refresh()\n";
    let app = write(root, "app.py", app_text);
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    client.open(&app, 1, app_text).await;
    until_all_published_and_quiet(&mut client, std::slice::from_ref(&app)).await;
    client.open(&helpers, 1, "async def refresh():\n    return 1\n").await;
    let messages = until_all_published_and_quiet(&mut client, &[helpers.clone(), app.clone()]).await;
    let last_of_app = |messages: &[Value]| {
        messages
            .iter()
            .rfind(|message| {
                message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == json!(app)
            })
            .map(|message| message["params"]["diagnostics"].clone())
    };
    assert_eq!(last_of_app(&messages).expect("published")[0]["code"], "LW201");
    // Closed without saving: the file on disk, a plain function, answers again.
    client.notify("textDocument/didClose", json!({"textDocument": {"uri": helpers}})).await;
    let messages = until_all_published_and_quiet(&mut client, std::slice::from_ref(&app)).await;
    assert_eq!(last_of_app(&messages), Some(json!([])), "{messages:?}");
}

#[tokio::test]
async fn a_burst_of_changes_to_an_imported_module_lints_each_importer_again_at_most_twice() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    let helpers = write(root, "helpers.py", "def refresh():\n    return 1\n");
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    let importers: Vec<String> = (0..20).map(|index| uri_in(root, &format!("app{index}.py"))).collect();
    let importer = "from helpers import refresh\n\nasync def main():\n    refresh()\n";
    for uri in &importers {
        client.open(uri, 1, importer).await;
    }
    let bystanders: Vec<String> = (0..20).map(|index| uri_in(root, &format!("m{index}.py"))).collect();
    for (index, uri) in bystanders.iter().enumerate() {
        client.open(uri, 1, &sleepy(index)).await;
    }
    let mut all = importers.clone();
    all.extend(bystanders.iter().cloned());
    until_all_published_and_quiet(&mut client, &all).await;
    // 40 saves of the helper, `def` and `async def` in turn, the last one `async def`.
    for event in 0..40 {
        let keyword = if event % 2 == 1 { "async def" } else { "def" };
        std::fs::write(root.join("helpers.py"), format!("{keyword} refresh():\n    return {event}\n")).expect("write");
        client.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": helpers, "type": 2}]})).await;
    }
    let mut messages = Vec::new();
    while importers.iter().any(|uri| !publishes(&messages).contains_key(uri)) {
        messages.push(client.recv().await);
    }
    messages.extend(client.drain(QUIET).await);
    let counts = publishes(&messages);
    // Before: each event published all 40 documents again, 1,600 in all.
    assert!(bystanders.iter().all(|uri| !counts.contains_key(uri)), "{counts:?}");
    assert!(importers.iter().all(|uri| counts.get(uri).is_some_and(|count| *count <= 2)), "{counts:?}");
    for uri in &importers {
        let last = messages
            .iter()
            .rfind(|message| {
                message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == json!(uri)
            })
            .expect("published");
        assert_eq!(last["params"]["diagnostics"][0]["code"], "LW201", "the last save holds: {last}");
    }
}

#[tokio::test]
async fn a_hover_in_an_open_storm_is_answered_before_any_document_is_published_twice() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    let uris: Vec<String> = (0..100).map(|index| uri_in(folder.path(), &format!("m{index}.py"))).collect();
    for (index, uri) in uris.iter().enumerate() {
        client.open(uri, 1, &sleepy(index)).await;
    }
    let hover = json!({"textDocument": {"uri": uris[0]}, "position": {"line": 4, "character": 6}});
    let (answer, before) = client.request_with_id("textDocument/hover", hover).await;
    let contents = answer["result"]["contents"]["value"].as_str().unwrap_or_default();
    assert!(contents.contains("LW101"), "{answer}");
    // Before: the hover waited behind thousands of publishes (a quadratic number of re-lints).
    let counts = publishes(&before);
    assert!(counts.values().all(|count| *count == 1), "{counts:?}");
    assert!(counts.values().sum::<usize>() <= uris.len(), "{counts:?}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_index_walks_as_the_command_line_does_and_stops_at_its_limit_naming_the_folder() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    // A repository: its `.gitignore` applies, as it does to `loopwise check`.
    std::fs::create_dir(root.join(".git")).expect("a repository");
    write(root, ".gitignore", "build/\n");
    for index in 0..4 {
        write(root, &format!("pkg/mod{index}.py"), "async def fetch(): ...\n");
    }
    write(root, "build/generated.py", "async def fetch(): ...\n");
    write(root, "excluded/skipped.py", "async def fetch(): ...\n");
    write(root, "loopwise.toml", "extend-exclude = [\"excluded\"]\nmax-file-size = 200\n");
    write(root, "big.py", &format!("async def fetch(): ...\n{}", "# padding\n".repeat(30)));
    let outside = tempfile::tempdir().expect("another folder");
    write(outside.path(), "linked.py", "async def fetch(): ...\n");
    std::os::unix::fs::symlink(outside.path().join("linked.py"), root.join("linked.py")).expect("symlink");
    let folder_uri = format!("file://{}", root.display());
    let initialize = json!({
        "processId": null,
        "capabilities": {"window": {"workDoneProgress": true}},
        "workspaceFolders": [{"uri": folder_uri, "name": "project"}],
    });

    // The bound set by the test seam, or by the `indexLimit` setting.
    let indexed = |limit: Option<usize>, options: Value| {
        let mut initialize = initialize.clone();
        initialize["initializationOptions"] = options;
        async move {
            let mut client = TestClient::start();
            if let Some(limit) = limit {
                client.state.limit_index(limit);
            }
            client.request_ok("initialize", initialize).await;
            client.notify("initialized", json!({})).await;
            let (end, before) = client
                .recv_until(|message| message["method"] == "$/progress" && message["params"]["value"]["kind"] == "end")
                .await;
            let logs: Vec<String> = before
                .iter()
                .filter(|message| message["method"] == "window/logMessage")
                .filter_map(|message| message["params"]["message"].as_str().map(str::to_string))
                .collect();
            (end["params"]["value"]["message"].clone(), logs)
        }
    };
    // Only the four modules of `pkg`: not the ignored, the excluded, the large or the linked file.
    let (message, logs) = indexed(Some(100), Value::Null).await;
    assert_eq!(message, "4 modules indexed", "{logs:?}");
    let too_large = format!("{}: 1 Python files larger than max-file-size are not indexed", root.display());
    assert!(logs.contains(&too_large), "{logs:?}");
    assert!(!logs.iter().any(|log| log.contains("at most")), "{logs:?}");

    let (message, logs) = indexed(Some(3), Value::Null).await;
    assert_eq!(message, "3 modules indexed", "{logs:?}");
    let (by_setting, _) = indexed(None, json!({"indexLimit": 3})).await;
    assert_eq!(by_setting, "3 modules indexed", "the indexLimit setting bounds the index too");
    let limit = format!(
        "{}: the workspace index holds at most 3 Python files; the others are read only when a document imports them",
        root.display()
    );
    assert_eq!(logs.iter().filter(|log| **log == limit).count(), 1, "said once, naming the folder: {logs:?}");
}

/// LW109 in the editor across modules: an edit of an open helper module's function body (its
/// summary unchanged) re-diagnoses the async code that calls it, and only that.
#[tokio::test]
async fn editing_an_open_helpers_body_re_diagnoses_its_async_callers() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    let blocking = "def load(path):\n    return open(path).read()\n";
    let helpers = write(root, "helpers.py", blocking);
    let app_text = "from helpers import load\n\n\nasync def main(path):\n    return load(path)\n";
    let app = write(root, "app.py", app_text);
    let other = uri_in(root, "other.py");
    let (mut client, _) = TestClient::initialized(push_client(), json!({"extend-select": ["LW109"]})).await;
    client.open(&app, 1, app_text).await;
    client.open(&other, 1, &sleepy(0)).await;
    client.open(&helpers, 1, blocking).await;
    let messages = until_all_published_and_quiet(&mut client, &[app.clone(), other.clone(), helpers.clone()]).await;
    let last_of = |messages: &[Value], uri: &str| -> Option<Value> {
        messages
            .iter()
            .rev()
            .find(|message| {
                message["method"] == "textDocument/publishDiagnostics" && message["params"]["uri"] == json!(uri)
            })
            .map(|message| message["params"]["diagnostics"].clone())
    };
    let published = last_of(&messages, &app).expect("the caller was published");
    assert_eq!(published[0]["code"], "LW109", "{published}");
    assert!(
        published[0]["message"].as_str().is_some_and(|m| m.contains("calls `open()` (helpers.py:2)")),
        "{published}"
    );
    // The step in the other module is related information, at its line there.
    assert_eq!(
        published[0]["relatedInformation"],
        json!([{
            "location": {"uri": helpers, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}},
            "message": "it calls `open()` (helpers.py:2)",
        }]),
        "{published}"
    );

    // `open(path).read()` becomes `path.upper()`: `load` no longer blocks.
    client.change(&helpers, 2, (1, 11), (1, 28), "path.upper()").await;
    let messages = until_all_published_and_quiet(&mut client, std::slice::from_ref(&helpers)).await;
    let counts = publishes(&messages);
    assert_eq!(counts.get(&app), Some(&1), "the caller is linted again: {messages:?}");
    assert_eq!(counts.get(&other), None, "a document that does not call it is not: {messages:?}");
    assert_eq!(last_of(&messages, &app), Some(json!([])), "{messages:?}");
}

/// A project file the settings could not read is said in the log, once, naming it and why:
/// the defaults stand in for what it may declare (as `loopwise check` warns on every run).
#[tokio::test]
async fn a_project_file_that_cannot_be_read_is_named_in_the_log_once() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    std::fs::write(root.join("setup.cfg"), b"[metadata]\nname = caf\xe9\n[options]\npython_requires = >=3.9\n")
        .expect("write");
    let app = write(root, "app.py", &sleepy(0));
    let other = write(root, "other.py", &sleepy(1));
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    client.open(&app, 1, &sleepy(0)).await;
    client.open(&other, 1, &sleepy(1)).await;
    let messages = until_all_published_and_quiet(&mut client, &[app.clone(), other.clone()]).await;
    let said: Vec<&str> = messages
        .iter()
        .filter(|message| message["method"] == "window/logMessage")
        .filter_map(|message| message["params"]["message"].as_str())
        .filter(|text| text.contains("setup.cfg"))
        .collect();
    assert_eq!(said.len(), 1, "once for the session: {messages:?}");
    assert!(
        said[0].contains(
            "setup.cfg: not valid UTF-8 (byte 0xe9 at offset 21, line 2): not read, so the project's Python version"
        ),
        "{}",
        said[0]
    );
}

/// A module a conftest.py names in `pytest_plugins` is a project file: when it starts to define
/// an `anyio_backend` fixture on disk, an open async test runs under anyio and LW801 goes away,
/// though no file with a project file's name changed (it stayed after the per-module re-lints).
#[tokio::test]
async fn a_changed_pytest_plugins_module_changes_the_findings_of_open_tests() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    write(root, "pyproject.toml", "[project]\nname = \"demo\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n");
    write(root, "tests/conftest.py", "pytest_plugins = [\"tests.helpers\"]\n");
    let plugin = write(root, "tests/helpers.py", "import pytest\n");
    let (mut client, _) = TestClient::initialized(push_client(), Value::Null).await;
    let test = uri_in(root, "tests/test_app.py");
    client.open(&test, 1, "import pytest\n\n\nasync def test_fetch():\n    assert True\n").await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"][0]["code"], "LW801", "{published}");
    std::fs::write(
        root.join("tests/helpers.py"),
        "import pytest\n\n\n@pytest.fixture\ndef anyio_backend():\n    return \"asyncio\"\n",
    )
    .expect("write");
    client.notify("workspace/didChangeWatchedFiles", json!({"changes": [{"uri": plugin, "type": 2}]})).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["diagnostics"], json!([]), "the plugin's fixture runs the test: {published}");
}
