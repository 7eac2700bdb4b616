//! End-to-end tests of notebooks in the server (`notebookDocument/*`): the code cells analysed
//! as one module, diagnostics published per cell in cell-relative ranges, quick fixes and
//! hovers inside cells. Each test is a transcript.

mod common;

use std::collections::HashMap;

use common::{TestClient, range};
use loopwise::lsp::PanicSeam;
use loopwise::rules::Rule;
use serde_json::{Value, json};

const NOTEBOOK: &str = "file:///project/demo.ipynb";
const CELL_1: &str = "vscode-notebook-cell:/project/demo.ipynb#c1";
const CELL_2: &str = "vscode-notebook-cell:/project/demo.ipynb#c2";
const CELL_3: &str = "vscode-notebook-cell:/project/demo.ipynb#c3";
const CELL_4: &str = "vscode-notebook-cell:/project/demo.ipynb#c4";

/// A blocking call in a coroutine: LW101 on line 2, columns 4..17.
const SLEEPY: &str = "import time\nasync def f():\n    time.sleep(1)\n";
const NOTES: &str = "# Notes";
/// Top-level `await` (fine in a notebook) and a coroutine called without it (LW201, line 3).
const AWAITING: &str = "async def g():\n    pass\n\nawait g()\ng()\n";

const CODE: i32 = 2;
const MARKUP: i32 = 1;

fn cell(kind: i32, uri: &str) -> Value {
    json!({"kind": kind, "document": uri})
}

fn cell_text(uri: &str, language: &str, version: i32, text: &str) -> Value {
    json!({"uri": uri, "languageId": language, "version": version, "text": text})
}

async fn open_notebook(client: &TestClient) {
    client
        .notify(
            "notebookDocument/didOpen",
            json!({
                "notebookDocument": {
                    "uri": NOTEBOOK,
                    "notebookType": "jupyter-notebook",
                    "version": 1,
                    "cells": [cell(CODE, CELL_1), cell(MARKUP, CELL_2), cell(CODE, CELL_3)],
                },
                "cellTextDocuments": [
                    cell_text(CELL_1, "python", 1, SLEEPY),
                    cell_text(CELL_2, "markdown", 1, NOTES),
                    cell_text(CELL_3, "python", 1, AWAITING),
                ],
            }),
        )
        .await;
}

async fn change_notebook(client: &TestClient, version: i32, cells: Value) {
    client
        .notify(
            "notebookDocument/didChange",
            json!({"notebookDocument": {"uri": NOTEBOOK, "version": version}, "change": {"cells": cells}}),
        )
        .await;
}

/// The next `count` publications, by cell URI: (version, [(code, range)]).
async fn published(client: &mut TestClient, count: usize) -> HashMap<String, (Value, Vec<(String, Value)>)> {
    let mut by_cell = HashMap::new();
    for _ in 0..count {
        let params = client.expect_notification("textDocument/publishDiagnostics").await;
        let findings = params["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .map(|diagnostic| (diagnostic["code"].as_str().unwrap_or("").to_string(), diagnostic["range"].clone()))
            .collect();
        let uri = params["uri"].as_str().expect("a uri").to_string();
        assert!(by_cell.insert(uri, (params["version"].clone(), findings)).is_none(), "one publication per cell");
    }
    by_cell
}

fn finding(code: &str, start: (usize, usize), end: (usize, usize)) -> (String, Value) {
    (code.to_string(), range(start, end))
}

fn sleep_in_cell() -> Vec<(String, Value)> {
    vec![finding("LW101", (2, 4), (2, 17))]
}

fn unawaited_in_cell() -> Vec<(String, Value)> {
    vec![finding("LW201", (4, 0), (4, 3))]
}

#[tokio::test]
async fn initialize_advertises_python_cells_of_jupyter_notebooks() {
    let (_, result) = TestClient::initialized(json!({}), Value::Null).await;
    assert_eq!(
        result["capabilities"]["notebookDocumentSync"],
        json!({"notebookSelector": [{"notebook": "jupyter-notebook", "cells": [{"language": "python"}]}]})
    );
}

#[tokio::test]
async fn a_notebook_is_one_module_with_diagnostics_per_cell() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    open_notebook(&client).await;
    let by_cell = published(&mut client, 3).await;
    assert_eq!(by_cell[CELL_1], (json!(1), sleep_in_cell()), "cell-relative ranges, the cell's version");
    assert_eq!(by_cell[CELL_2], (json!(1), vec![]), "a markdown cell is not Python");
    // No LW203 for the top-level `await`: a cell's top level runs on the event loop.
    assert_eq!(by_cell[CELL_3], (json!(1), unawaited_in_cell()));
}

#[tokio::test]
async fn a_coroutine_of_one_cell_is_known_in_a_later_cell() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    client
        .notify(
            "notebookDocument/didOpen",
            json!({
                "notebookDocument": {
                    "uri": NOTEBOOK, "notebookType": "jupyter-notebook", "version": 1,
                    "cells": [cell(CODE, CELL_1), cell(CODE, CELL_3)],
                },
                "cellTextDocuments": [
                    cell_text(CELL_1, "python", 1, "async def g():\n    pass\n"),
                    cell_text(CELL_3, "python", 1, "x = 1\ng()\n"),
                ],
            }),
        )
        .await;
    let by_cell = published(&mut client, 2).await;
    assert_eq!(by_cell[CELL_1].1, vec![]);
    assert_eq!(by_cell[CELL_3].1, vec![finding("LW201", (1, 0), (1, 3))]);
}

#[tokio::test]
async fn a_cell_text_change_is_published_again() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    open_notebook(&client).await;
    published(&mut client, 3).await;
    // `await ` before `g()` on line 4 of cell 3: its LW201 goes; line 0 of cell 1 gains a
    // blank line, which moves its LW101 down.
    change_notebook(
        &client,
        2,
        json!({"textContent": [
            {"document": {"uri": CELL_3, "version": 2}, "changes": [{"range": range((4, 0), (4, 0)), "text": "await "}]},
            {"document": {"uri": CELL_1, "version": 2}, "changes": [{"range": range((0, 0), (0, 0)), "text": "\n"}]},
        ]}),
    )
    .await;
    let by_cell = published(&mut client, 3).await;
    assert_eq!(by_cell[CELL_1], (json!(2), vec![finding("LW101", (3, 4), (3, 17))]));
    assert_eq!(by_cell[CELL_3], (json!(2), vec![]), "the stale LW201 is cleared");
}

#[tokio::test]
async fn cells_added_and_removed_by_structure_changes_are_followed() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    open_notebook(&client).await;
    published(&mut client, 3).await;
    // A new code cell between the markdown and the last: its blocking call is in an `async def`.
    change_notebook(
        &client,
        2,
        json!({"structure": {
            "array": {"start": 2, "deleteCount": 0, "cells": [cell(CODE, CELL_4)]},
            "didOpen": [cell_text(CELL_4, "python", 1, "async def h():\n    time.sleep(2)\n")],
        }}),
    )
    .await;
    let by_cell = published(&mut client, 4).await;
    assert_eq!(by_cell[CELL_4], (json!(1), vec![finding("LW101", (1, 4), (1, 17))]), "`import time` of cell 1");
    assert_eq!(by_cell[CELL_3].1, unawaited_in_cell());
    // Removing the first cell: its diagnostics clear, and `time` is no longer imported.
    change_notebook(
        &client,
        3,
        json!({"structure": {
            "array": {"start": 0, "deleteCount": 1},
            "didClose": [{"uri": CELL_1}],
        }}),
    )
    .await;
    let by_cell = published(&mut client, 4).await;
    assert_eq!(by_cell[CELL_1], (Value::Null, vec![]), "the removed cell is cleared");
    assert_eq!(by_cell[CELL_4].1, vec![], "`time` is no longer `import time`'s");
    assert_eq!(by_cell[CELL_3].1, unawaited_in_cell());
}

#[tokio::test]
async fn closing_a_notebook_clears_every_cell() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    open_notebook(&client).await;
    published(&mut client, 3).await;
    client
        .notify(
            "notebookDocument/didClose",
            json!({"notebookDocument": {"uri": NOTEBOOK}, "cellTextDocuments": [{"uri": CELL_1}, {"uri": CELL_2}, {"uri": CELL_3}]}),
        )
        .await;
    let by_cell = published(&mut client, 3).await;
    for uri in [CELL_1, CELL_2, CELL_3] {
        assert_eq!(by_cell[uri], (Value::Null, vec![]), "{uri}");
    }
    // The cells are gone: no action for them any more.
    let response = client
        .request_ok(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": CELL_1}, "range": range((2, 4), (2, 17)), "context": {"diagnostics": []}}),
        )
        .await;
    assert_eq!(response, Value::Null);
}

async fn cell_diagnostics(client: &mut TestClient, count: usize, uri: &str) -> Vec<Value> {
    let mut wanted = None;
    for _ in 0..count {
        let params = client.expect_notification("textDocument/publishDiagnostics").await;
        if params["uri"] == uri {
            wanted = Some(params["diagnostics"].as_array().expect("diagnostics").clone());
        }
    }
    wanted.expect("the cell was published")
}

async fn quick_fixes(client: &mut TestClient, uri: &str, diagnostics: &[Value]) -> Vec<Value> {
    let response = client
        .request_ok(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": diagnostics[0]["range"],
                "context": {"diagnostics": diagnostics, "only": ["quickfix"]},
            }),
        )
        .await;
    response.as_array().expect("actions").clone()
}

#[tokio::test]
async fn a_quick_fix_in_a_cell_edits_that_cell() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    open_notebook(&client).await;
    let diagnostics = cell_diagnostics(&mut client, 3, CELL_1).await;
    let actions = quick_fixes(&mut client, CELL_1, &diagnostics).await;
    assert_eq!(actions[0]["title"], "Replace with `await asyncio.sleep(...)` (unsafe)");
    assert_eq!(
        actions[0]["edit"],
        json!({"changes": {CELL_1: [
            {"range": range((0, 0), (0, 0)), "newText": "import asyncio\n"},
            {"range": range((2, 4), (2, 4)), "newText": "await "},
            {"range": range((2, 4), (2, 14)), "newText": "asyncio.sleep"},
        ]}})
    );
    assert_eq!(actions[1]["title"], "Disable LW101 for this line");
    assert_eq!(
        actions[1]["edit"],
        json!({"changes": {CELL_1: [{"range": range((2, 17), (2, 17)), "newText": "  # noqa: LW101"}]}})
    );
}

#[tokio::test]
async fn a_fix_that_imports_in_an_earlier_cell_edits_both_cells_at_their_versions() {
    let capabilities = json!({"workspace": {"workspaceEdit": {"documentChanges": true}}});
    let (mut client, _) = TestClient::initialized(capabilities, Value::Null).await;
    // `import asyncio` goes before the file's first import, which is in the first cell.
    client
        .notify(
            "notebookDocument/didOpen",
            json!({
                "notebookDocument": {
                    "uri": NOTEBOOK, "notebookType": "jupyter-notebook", "version": 1,
                    "cells": [cell(CODE, CELL_1), cell(CODE, CELL_3)],
                },
                "cellTextDocuments": [
                    cell_text(CELL_1, "python", 4, "import time\n"),
                    cell_text(CELL_3, "python", 7, "async def f():\n    time.sleep(1)\n"),
                ],
            }),
        )
        .await;
    let diagnostics = cell_diagnostics(&mut client, 2, CELL_3).await;
    let actions = quick_fixes(&mut client, CELL_3, &diagnostics).await;
    assert_eq!(
        actions[0]["edit"],
        json!({"documentChanges": [
            {"textDocument": {"uri": CELL_3, "version": 7}, "edits": [
                {"range": range((1, 4), (1, 4)), "newText": "await "},
                {"range": range((1, 4), (1, 14)), "newText": "asyncio.sleep"},
            ]},
            {"textDocument": {"uri": CELL_1, "version": 4}, "edits": [
                {"range": range((0, 0), (0, 0)), "newText": "import asyncio\n"},
            ]},
        ]})
    );
    // Once the other cell moved on, the fix's edit there would land wrong: it is not offered.
    change_notebook(
        &client,
        2,
        json!({"textContent": [
            {"document": {"uri": CELL_1, "version": 5}, "changes": [{"range": range((0, 0), (0, 0)), "text": "x = 1\n"}]},
        ]}),
    )
    .await;
    cell_diagnostics(&mut client, 2, CELL_3).await;
    let actions = quick_fixes(&mut client, CELL_3, &diagnostics).await;
    let titles: Vec<&Value> = actions.iter().map(|action| &action["title"]).collect();
    assert_eq!(titles, [&json!("Disable LW101 for this line")]);
}

#[tokio::test]
async fn hover_in_a_cell_explains_the_rule() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    open_notebook(&client).await;
    published(&mut client, 3).await;
    let hover = |line: usize, character: usize| json!({"textDocument": {"uri": CELL_1}, "position": {"line": line, "character": character}});
    let shown = client.request_ok("textDocument/hover", hover(2, 8)).await;
    assert_eq!(
        shown,
        json!({
            "contents": {"kind": "markdown", "value": Rule::BlockingSleep.meta().explanation()},
            "range": range((2, 4), (2, 17)),
        })
    );
    assert_eq!(client.request_ok("textDocument/hover", hover(1, 2)).await, Value::Null);
    // Cell 3's finding is at its own line 4, not cell 1's.
    let shown = client
        .request_ok(
            "textDocument/hover",
            json!({"textDocument": {"uri": CELL_3}, "position": {"line": 4, "character": 1}}),
        )
        .await;
    assert_eq!(shown["range"], range((4, 0), (4, 3)));
}

#[tokio::test]
async fn a_client_that_pulls_gets_each_cells_diagnostics() {
    let capabilities = json!({"textDocument": {"diagnostic": {"dynamicRegistration": false}}});
    let (mut client, _) = TestClient::initialized(capabilities, Value::Null).await;
    open_notebook(&client).await;
    let report = client.request_ok("textDocument/diagnostic", json!({"textDocument": {"uri": CELL_3}})).await;
    let codes: Vec<(&Value, &Value)> = report["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|diagnostic| (&diagnostic["code"], &diagnostic["range"]))
        .collect();
    assert_eq!(codes, [(&json!("LW201"), &range((4, 0), (4, 3)))]);
}

#[tokio::test]
async fn a_panicking_notebook_analysis_is_logged_and_later_changes_still_publish() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    open_notebook(&client).await;
    published(&mut client, 3).await;
    client.state.inject_panic(PanicSeam::Analysis);
    let add_line = |version: i32| {
        json!({"textContent": [
            {"document": {"uri": CELL_1, "version": version}, "changes": [{"range": range((0, 0), (0, 0)), "text": "\n"}]},
        ]})
    };
    change_notebook(&client, 2, add_line(2)).await;
    let logged = client.expect_notification("window/logMessage").await;
    assert!(logged["message"].as_str().unwrap_or("").contains("panic"), "{logged}");
    change_notebook(&client, 3, add_line(3)).await;
    let by_cell = published(&mut client, 3).await;
    assert_eq!(by_cell[CELL_1], (json!(3), vec![finding("LW101", (4, 4), (4, 17))]));
}

#[tokio::test]
async fn magics_are_skipped_and_cells_of_other_languages_are_not_python() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    client
        .notify(
            "notebookDocument/didOpen",
            json!({
                "notebookDocument": {
                    "uri": NOTEBOOK, "notebookType": "jupyter-notebook", "version": 1,
                    "cells": [cell(CODE, CELL_1), cell(CODE, CELL_2), cell(CODE, CELL_3)],
                },
                "cellTextDocuments": [
                    cell_text(CELL_1, "python", 1, "%load_ext autoreload\n!pip install x\nimport time\n"),
                    // Not Python: left out of the module, so its `time.sleep` is not reported.
                    cell_text(CELL_2, "r", 1, "async def f():\n    time.sleep(1)\n"),
                    cell_text(CELL_3, "python", 1, "%%time\ntime.sleep(1)\n"),
                ],
            }),
        )
        .await;
    let by_cell = published(&mut client, 3).await;
    assert_eq!(by_cell[CELL_1].1, vec![]);
    assert_eq!(by_cell[CELL_2].1, vec![]);
    // `%%time` runs its body as Python on the loop: a blocking call at a cell's top level.
    assert_eq!(by_cell[CELL_3].1, vec![finding("LW101", (1, 0), (1, 13))]);
}

#[tokio::test]
async fn a_structure_change_out_of_range_and_changes_to_unknown_cells_do_not_stop_the_server() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    open_notebook(&client).await;
    published(&mut client, 3).await;
    change_notebook(
        &client,
        2,
        json!({
            "structure": {"array": {"start": 99, "deleteCount": 4_000_000_000_u32, "cells": [cell(CODE, CELL_4)]}},
            "textContent": [{"document": {"uri": "vscode-notebook-cell:/elsewhere#x", "version": 1}, "changes": [{"text": "x"}]}],
        }),
    )
    .await;
    let logged = client.expect_notification("window/logMessage").await;
    assert!(logged["message"].as_str().unwrap_or("").contains("not open"), "{logged}");
    // The new cell went to the end; it has no text yet, so it is empty.
    let by_cell = published(&mut client, 4).await;
    assert_eq!(by_cell[CELL_4], (json!(0), vec![]));
    assert_eq!(by_cell[CELL_1].1, sleep_in_cell());
}

#[tokio::test]
async fn notebook_fix_all_applies_the_safe_fixes_of_every_cell() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    client
        .notify(
            "notebookDocument/didOpen",
            json!({
                "notebookDocument": {
                    "uri": NOTEBOOK, "notebookType": "jupyter-notebook", "version": 1,
                    "cells": [cell(CODE, CELL_1), cell(MARKUP, CELL_2), cell(CODE, CELL_3)],
                },
                "cellTextDocuments": [
                    cell_text(CELL_1, "python", 1, "%load_ext x\nasync def g():\n    pass\n"),
                    cell_text(CELL_2, "markdown", 1, NOTES),
                    cell_text(CELL_3, "python", 3, "%time x = 1\ng()\n"),
                ],
            }),
        )
        .await;
    published(&mut client, 3).await;
    let request = |only: &str| {
        json!({
            "textDocument": {"uri": CELL_1},
            "range": range((0, 0), (0, 0)),
            "context": {"diagnostics": [], "only": [only]},
        })
    };
    let actions = client.request_ok("textDocument/codeAction", request("notebook.source.fixAll")).await;
    assert_eq!(
        actions,
        json!([{
            "title": "Fix all safe loopwise findings",
            "kind": "notebook.source.fixAll.loopwise",
            // One edit in the cell that changed; the magic lines stay as they are.
            "edit": {"changes": {CELL_3: [{"range": range((1, 0), (1, 0)), "newText": "await "}]}},
        }])
    );
    // A file's fix-all kind is not a notebook's.
    let actions = client.request_ok("textDocument/codeAction", request("source.fixAll")).await;
    assert_eq!(actions, json!([]));
}
