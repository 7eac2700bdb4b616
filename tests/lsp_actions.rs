//! End-to-end tests of the server's code actions (quick fixes, `# noqa`, fix-all and its lazy
//! resolution) and hovers: the real server in-process, each test a transcript.

mod common;

use common::{TestClient, apply_edits, range, workspace_edits};
use loopwise::analysis::source::parse;
use loopwise::lsp::PanicSeam;
use loopwise::rules::Rule;
use serde_json::{Value, json};

const URI: &str = "file:///project/app.py";

/// `x = "😀"; ` is 16 bytes but 14 UTF-16 code units: a column counted in the wrong unit
/// lands in the wrong place.
const EMOJI_LINE: &str = "import time\nasync def f():\n    x = \"😀\"; time.sleep(1)\n";

/// An LW201 finding (safe fix: insert `await`) and an LW101 finding (unsafe fix).
const SAFE_AND_UNSAFE: &str =
    "import asyncio\nimport time\n\nasync def f():\n    asyncio.sleep(1)\n    time.sleep(2)\n";

fn utf8_client() -> Value {
    json!({"general": {"positionEncodings": ["utf-8"]}})
}

/// A client that resolves a code action's edit lazily and checks document versions.
fn lazy_client() -> Value {
    json!({
        "textDocument": {"codeAction": {"dataSupport": true, "resolveSupport": {"properties": ["edit"]}}},
        "workspace": {"workspaceEdit": {"documentChanges": true}},
    })
}

/// Opens `text` and returns its published diagnostics.
async fn open_and_diagnose(client: &mut TestClient, version: i32, text: &str) -> Vec<Value> {
    client.open(URI, version, text).await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    published["diagnostics"].as_array().expect("diagnostics").clone()
}

async fn code_actions(client: &mut TestClient, diagnostics: &[Value], only: Option<&[&str]>) -> Value {
    let whole = range((0, 0), (0, 0));
    let request_range = diagnostics.first().map_or(whole, |diagnostic| diagnostic["range"].clone());
    let mut context = json!({"diagnostics": diagnostics});
    if let Some(only) = only {
        context["only"] = json!(only);
    }
    client
        .request_ok(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": request_range, "context": context}),
        )
        .await
}

async fn hover(client: &mut TestClient, line: usize, character: usize) -> Value {
    client
        .request_ok(
            "textDocument/hover",
            json!({"textDocument": {"uri": URI}, "position": {"line": line, "character": character}}),
        )
        .await
}

/// Sends the edits to the server as the client's own change, and returns the new text and
/// the diagnostics published for it.
async fn apply_and_diagnose(client: &mut TestClient, text: &str, edits: &Value, version: i32) -> (String, Value) {
    let fixed = apply_edits(text, edits, false);
    let change = json!({"text": fixed});
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": [change]}),
        )
        .await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["version"], version);
    (fixed, published["diagnostics"].clone())
}

#[tokio::test]
async fn initialize_advertises_code_actions_and_hover() {
    let (_, result) = TestClient::initialized(json!({}), Value::Null).await;
    assert_eq!(
        result["capabilities"]["codeActionProvider"],
        json!({
            "codeActionKinds": ["quickfix", "source.fixAll.loopwise", "notebook.source.fixAll.loopwise"],
            "resolveProvider": true,
        })
    );
    assert_eq!(result["capabilities"]["hoverProvider"], true);
}

#[tokio::test]
async fn lw101_quick_fix_and_noqa_land_after_the_emoji_in_both_encodings() {
    for (capabilities, utf8, start, end) in [(utf8_client(), true, 16, 29), (json!({}), false, 14, 27)] {
        let (mut client, _) = TestClient::initialized(capabilities, Value::Null).await;
        let diagnostics = open_and_diagnose(&mut client, 1, EMOJI_LINE).await;
        let diagnostic = &diagnostics[0];
        assert_eq!(diagnostic["range"], range((2, start), (2, end)));
        let actions = code_actions(&mut client, &diagnostics, None).await;
        let fix_edits = json!([
            {"range": range((0, 0), (0, 0)), "newText": "import asyncio\n"},
            {"range": range((2, start), (2, start)), "newText": "await "},
            {"range": range((2, start), (2, start + 10)), "newText": "asyncio.sleep"},
        ]);
        let noqa_edits = json!([{"range": range((2, end), (2, end)), "newText": "  # noqa: LW101"}]);
        assert_eq!(
            actions,
            json!([
                {
                    "title": "Replace with `await asyncio.sleep(...)` (unsafe)",
                    "kind": "quickfix",
                    "diagnostics": [diagnostic],
                    "edit": {"changes": {URI: fix_edits}},
                    "isPreferred": true,
                },
                {
                    "title": "Disable LW101 for this line",
                    "kind": "quickfix",
                    "diagnostics": [diagnostic],
                    "edit": {"changes": {URI: noqa_edits}},
                },
            ]),
            "utf-8: {utf8}"
        );
        assert_eq!(
            apply_edits(EMOJI_LINE, &fix_edits, utf8),
            "import asyncio\nimport time\nasync def f():\n    x = \"😀\"; await asyncio.sleep(1)\n"
        );
        assert_eq!(
            apply_edits(EMOJI_LINE, &noqa_edits, utf8),
            "import time\nasync def f():\n    x = \"😀\"; time.sleep(1)  # noqa: LW101\n"
        );
    }
}

#[tokio::test]
async fn a_safe_fix_is_preferred_and_unmarked_and_versioned_for_clients_that_check() {
    let capabilities = json!({"workspace": {"workspaceEdit": {"documentChanges": true}}});
    let (mut client, _) = TestClient::initialized(capabilities, Value::Null).await;
    let text = "import asyncio\n\nasync def f():\n    asyncio.sleep(1)\n";
    let diagnostics = open_and_diagnose(&mut client, 4, text).await;
    assert_eq!(diagnostics[0]["code"], "LW201");
    let actions = code_actions(&mut client, &diagnostics, Some(&["quickfix"])).await;
    assert_eq!(
        actions[0],
        json!({
            "title": "Insert `await`",
            "kind": "quickfix",
            "diagnostics": [diagnostics[0]],
            "edit": {"documentChanges": [{
                "textDocument": {"uri": URI, "version": 4},
                "edits": [{"range": range((3, 4), (3, 4)), "newText": "await "}],
            }]},
            "isPreferred": true,
        })
    );
    assert_eq!(actions[1]["title"], "Disable LW201 for this line");
    let (fixed, diagnostics) =
        apply_and_diagnose(&mut client, text, &workspace_edits(&actions[0]["edit"], URI), 5).await;
    assert_eq!(fixed, "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n");
    assert_eq!(diagnostics, json!([]));
}

#[tokio::test]
async fn quick_fixes_of_an_older_version_are_not_offered() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    let diagnostics = open_and_diagnose(&mut client, 1, EMOJI_LINE).await;
    client.change(URI, 2, (0, 0), (0, 0), "# moved\n").await;
    let actions = code_actions(&mut client, &diagnostics, Some(&["quickfix"])).await;
    assert_eq!(actions, json!([]));
    // Diagnostics of other tools are left to them.
    let mut foreign = diagnostics[0].clone();
    foreign["source"] = json!("ruff");
    assert_eq!(code_actions(&mut client, &[foreign], Some(&["quickfix"])).await, json!([]));
}

#[tokio::test]
async fn noqa_is_added_or_extended_and_silences_the_finding() {
    let cases = [
        ("import time\nasync def f():\n    time.sleep(1)\n", "    time.sleep(1)  # noqa: LW101\n"),
        (
            "import time\nasync def f():\n    time.sleep(1)  # noqa: LW102\n",
            "    time.sleep(1)  # noqa: LW102, LW101\n",
        ),
        ("import time\nasync def f():\n    time.sleep(1)  # wait\n", "    time.sleep(1)  # wait  # noqa: LW101\n"),
    ];
    for (text, fixed_line) in cases {
        let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
        let diagnostics = open_and_diagnose(&mut client, 1, text).await;
        let actions = code_actions(&mut client, &diagnostics, Some(&["quickfix"])).await;
        let noqa = actions
            .as_array()
            .expect("actions")
            .iter()
            .find(|action| action["title"] == "Disable LW101 for this line")
            .unwrap_or_else(|| panic!("no noqa action in {actions}"));
        assert_eq!(noqa["kind"], "quickfix");
        assert_eq!(noqa.get("isPreferred"), None);
        let (fixed, diagnostics) = apply_and_diagnose(&mut client, text, &workspace_edits(&noqa["edit"], URI), 2).await;
        assert_eq!(fixed, format!("import time\nasync def f():\n{fixed_line}"));
        assert_eq!(diagnostics, json!([]), "{fixed}");
    }
}

#[tokio::test]
async fn noqa_goes_on_the_statement_line_when_the_reported_line_ends_in_a_string() {
    let text = "import time\nasync def f():\n    x = [1,\n         time.sleep(len(\"\"\"\nabc\"\"\")), 2]\n";
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    let diagnostics = open_and_diagnose(&mut client, 1, text).await;
    let actions = code_actions(&mut client, &diagnostics, Some(&["quickfix"])).await;
    let noqa = &actions[1];
    assert_eq!(noqa["title"], "Disable LW101 for this statement");
    let (fixed, diagnostics) = apply_and_diagnose(&mut client, text, &workspace_edits(&noqa["edit"], URI), 2).await;
    assert!(fixed.contains("    x = [1,  # noqa: LW101\n"), "{fixed}");
    assert_eq!(diagnostics, json!([]), "{fixed}");
}

#[tokio::test]
async fn fix_all_applies_safe_fixes_only_and_answers_source_requests() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    let diagnostics = open_and_diagnose(&mut client, 1, SAFE_AND_UNSAFE).await;
    assert_eq!(diagnostics.len(), 2);
    let expected = json!([{
        "title": "Fix all safe loopwise findings",
        "kind": "source.fixAll.loopwise",
        "edit": {"changes": {URI: [{"range": range((4, 4), (4, 4)), "newText": "await "}]}},
    }]);
    for only in [&["source.fixAll"][..], &["source"], &["source.fixAll.loopwise"]] {
        assert_eq!(code_actions(&mut client, &[], Some(only)).await, expected, "only: {only:?}");
    }
    for only in [&["quickfix"][..], &["source.organizeImports"]] {
        assert_eq!(code_actions(&mut client, &[], Some(only)).await, json!([]), "only: {only:?}");
    }
    let all = code_actions(&mut client, &diagnostics, None).await;
    assert_eq!(all.as_array().and_then(|actions| actions.last()), Some(&expected[0]));

    let edits = workspace_edits(&expected[0]["edit"], URI);
    let (fixed, remaining) = apply_and_diagnose(&mut client, SAFE_AND_UNSAFE, &edits, 2).await;
    assert_eq!(fixed, SAFE_AND_UNSAFE.replace("    asyncio.sleep(1)", "    await asyncio.sleep(1)"));
    assert!(!parse(&fixed).root_node().has_error(), "{fixed}");
    let codes: Vec<&Value> = remaining.as_array().expect("diagnostics").iter().map(|d| &d["code"]).collect();
    assert_eq!(codes, [&json!("LW101")], "the unsafe fix is not applied");
    // Nothing safe left to fix: no action.
    assert_eq!(code_actions(&mut client, &[], Some(&["source.fixAll"])).await, json!([]));
}

#[tokio::test]
async fn fix_all_keeps_crlf_and_tabs() {
    let text = SAFE_AND_UNSAFE.replace("    ", "\t").replace('\n', "\r\n");
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    open_and_diagnose(&mut client, 1, &text).await;
    let actions = code_actions(&mut client, &[], Some(&["source.fixAll"])).await;
    let edits = workspace_edits(&actions[0]["edit"], URI);
    assert_eq!(edits, json!([{"range": range((4, 1), (4, 1)), "newText": "await "}]));
    let (fixed, remaining) = apply_and_diagnose(&mut client, &text, &edits, 2).await;
    assert_eq!(fixed, text.replace("\tasyncio.sleep(1)", "\tawait asyncio.sleep(1)"));
    assert_eq!(remaining.as_array().map(Vec::len), Some(1), "{remaining}");
}

/// Lines end at a lone `\r` as at `\n` (for Python and for the LSP): findings land on their
/// lines, fixes write `\r` line breaks, and an edit that makes a lone `\r` half of a CRLF
/// leaves every line where it was.
#[tokio::test]
async fn lone_cr_line_breaks_are_lines_and_fixes_keep_them() {
    let text = "import time\r\rasync def f():\r    time.sleep(2)\r    g()\r\rasync def g():\r    pass\r";
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    let lines = |diagnostics: &[Value]| -> Vec<(Value, Value)> {
        diagnostics.iter().map(|d| (d["code"].clone(), d["range"]["start"].clone())).collect()
    };
    let diagnostics = open_and_diagnose(&mut client, 1, text).await;
    let expected =
        [(json!("LW101"), json!({"line": 3, "character": 4})), (json!("LW201"), json!({"line": 4, "character": 4}))];
    assert_eq!(lines(&diagnostics), expected);
    let actions = code_actions(&mut client, &diagnostics[..1], Some(&["quickfix"])).await;
    assert_eq!(
        workspace_edits(&actions[0]["edit"], URI)[0],
        json!({"range": range((0, 0), (0, 0)), "newText": "import asyncio\r"})
    );

    // The first `\r` becomes a CRLF: the same lines.
    client.change(URI, 2, (1, 0), (1, 0), "\n").await;
    let published = client.expect_notification("textDocument/publishDiagnostics").await;
    assert_eq!(published["version"], 2);
    assert_eq!(lines(published["diagnostics"].as_array().expect("diagnostics")), expected);
    let actions = code_actions(&mut client, &[], Some(&["source.fixAll"])).await;
    assert_eq!(
        workspace_edits(&actions[0]["edit"], URI),
        json!([{"range": range((4, 4), (4, 4)), "newText": "await "}])
    );
}

#[tokio::test]
async fn lazy_fix_all_is_computed_on_resolve() {
    let (mut client, _) = TestClient::initialized(lazy_client(), Value::Null).await;
    open_and_diagnose(&mut client, 3, SAFE_AND_UNSAFE).await;
    let actions = code_actions(&mut client, &[], Some(&["source.fixAll"])).await;
    let lazy = json!({
        "title": "Fix all safe loopwise findings",
        "kind": "source.fixAll.loopwise",
        "data": {"uri": URI, "version": 3},
    });
    assert_eq!(actions, json!([lazy]));
    let resolved = client.request_ok("codeAction/resolve", lazy.clone()).await;
    let mut expected = lazy.clone();
    expected["edit"] = json!({"documentChanges": [{
        "textDocument": {"uri": URI, "version": 3},
        "edits": [{"range": range((4, 4), (4, 4)), "newText": "await "}],
    }]});
    assert_eq!(resolved, expected);
    let (fixed, remaining) =
        apply_and_diagnose(&mut client, SAFE_AND_UNSAFE, &workspace_edits(&resolved["edit"], URI), 4).await;
    assert!(!parse(&fixed).root_node().has_error(), "{fixed}");
    assert_eq!(remaining.as_array().map(Vec::len), Some(1), "{remaining}");
    assert_eq!(remaining[0]["code"], "LW101");
}

#[tokio::test]
async fn a_stale_fix_all_resolves_to_no_edit() {
    let (mut client, _) = TestClient::initialized(lazy_client(), Value::Null).await;
    open_and_diagnose(&mut client, 1, SAFE_AND_UNSAFE).await;
    let actions = code_actions(&mut client, &[], Some(&["source.fixAll"])).await;
    let lazy = actions[0].clone();
    client.change(URI, 2, (0, 0), (0, 0), "# typed meanwhile\n").await;
    let resolved = client.request_ok("codeAction/resolve", lazy.clone()).await;
    assert_eq!(resolved, lazy, "a stale action gets no edit");
    // Offered again for the new version, it resolves.
    let actions = code_actions(&mut client, &[], Some(&["source.fixAll"])).await;
    assert_eq!(actions[0]["data"], json!({"uri": URI, "version": 2}));
    let resolved = client.request_ok("codeAction/resolve", actions[0].clone()).await;
    assert_eq!(workspace_edits(&resolved["edit"], URI), json!([{"range": range((5, 4), (5, 4)), "newText": "await "}]));
}

#[tokio::test]
async fn a_panicking_fix_all_answers_an_error_and_the_server_goes_on() {
    let (mut client, _) = TestClient::initialized(lazy_client(), Value::Null).await;
    open_and_diagnose(&mut client, 1, SAFE_AND_UNSAFE).await;
    let actions = code_actions(&mut client, &[], Some(&["source.fixAll"])).await;
    client.state.inject_panic(PanicSeam::Analysis);
    let response = client.request("codeAction/resolve", actions[0].clone()).await;
    assert_eq!(response["error"]["code"], -32603, "{response}");
    let resolved = client.request_ok("codeAction/resolve", actions[0].clone()).await;
    assert!(resolved.get("edit").is_some(), "{resolved}");
}

#[tokio::test]
async fn hover_explains_the_rule_over_the_diagnostic_range_in_both_encodings() {
    let explanation = Rule::BlockingSleep.meta().explanation();
    for text in ["LW101", "blocking-sleep", "Why is this bad?", "```python", "Fix safety", "ASYNC251"] {
        assert!(explanation.contains(text), "{text} missing from {explanation}");
    }
    for (capabilities, start, end) in [(utf8_client(), 16, 29), (json!({}), 14, 27)] {
        let (mut client, _) = TestClient::initialized(capabilities, Value::Null).await;
        open_and_diagnose(&mut client, 1, EMOJI_LINE).await;
        let expected = json!({
            "contents": {"kind": "markdown", "value": explanation},
            "range": range((2, start), (2, end)),
        });
        assert_eq!(hover(&mut client, 2, start).await, expected);
        assert_eq!(hover(&mut client, 2, end - 1).await, expected);
        assert_eq!(hover(&mut client, 2, end).await, Value::Null, "just after the call");
        assert_eq!(hover(&mut client, 2, start - 1).await, Value::Null, "just before the call");
        assert_eq!(hover(&mut client, 0, 3).await, Value::Null);
    }
}

#[tokio::test]
async fn hover_is_plain_text_for_clients_that_want_it() {
    let capabilities = json!({"textDocument": {"hover": {"contentFormat": ["plaintext"]}}});
    let (mut client, _) = TestClient::initialized(capabilities, Value::Null).await;
    open_and_diagnose(&mut client, 1, EMOJI_LINE).await;
    let shown = hover(&mut client, 2, 20).await;
    assert_eq!(shown["contents"]["kind"], "plaintext");
    let value = shown["contents"]["value"].as_str().expect("text");
    assert!(value.contains("Why is this bad?") && !value.contains("```"), "{value}");
}

#[tokio::test]
async fn hover_never_explains_an_older_text() {
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    open_and_diagnose(&mut client, 1, EMOJI_LINE).await;
    assert_ne!(hover(&mut client, 2, 20).await, Value::Null);
    // The call is gone; the hover right after the change must not use the old findings.
    client.change(URI, 2, (2, 14), (2, 27), "pass").await;
    assert_eq!(hover(&mut client, 2, 15).await, Value::Null);
    // And a change that moves the call: the hover follows it.
    client.change(URI, 3, (2, 14), (2, 18), "time.sleep(1)").await;
    client.change(URI, 4, (0, 0), (0, 0), "\n").await;
    assert_eq!(hover(&mut client, 3, 15).await["range"], range((3, 14), (3, 27)));
}

/// LW202 outside a `TaskGroup`: the main fix keeps a strong reference (preferred), the
/// alternative awaits the task; each, applied alone, leaves valid code the server finds clean.
#[tokio::test]
async fn alternatives_are_quick_fixes_too_and_each_one_works() {
    let text = "import asyncio\n\n\nasync def work():\n    await asyncio.sleep(1)\n\n\nasync def f():\n    asyncio.create_task(work())\n";
    let (mut client, _) = TestClient::initialized(json!({}), Value::Null).await;
    let diagnostics = open_and_diagnose(&mut client, 1, text).await;
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(diagnostics[0]["code"], "LW202");
    let actions = code_actions(&mut client, &diagnostics, Some(&["quickfix"])).await;
    let actions = actions.as_array().expect("code actions");
    let titles: Vec<&str> = actions.iter().filter_map(|action| action["title"].as_str()).collect();
    assert_eq!(
        titles,
        [
            "Keep a reference to the task in `background_tasks` (unsafe)",
            "Await the task (unsafe)",
            "Disable LW202 for this line"
        ],
    );
    let preferred: Vec<bool> = actions.iter().map(|action| action["isPreferred"] == true).collect();
    assert_eq!(preferred, [true, false, false]);
    let mut version = 1;
    for action in &actions[..2] {
        // Back to the original text, then the fix as the client's own edit.
        version += 1;
        client.change(URI, version, (0, 0), (9, 0), text).await;
        client.expect_notification("textDocument/publishDiagnostics").await;
        version += 1;
        let edits = workspace_edits(&action["edit"], URI);
        let (fixed, published) = apply_and_diagnose(&mut client, text, &edits, version).await;
        assert!(!parse(&fixed).root_node().has_error(), "{fixed}");
        assert_eq!(published, json!([]), "{fixed}");
    }
}

/// Every finding of every rule fixture, through the server: the quick fixes are the engine's
/// fixes (main first, then alternatives, then the noqa action), each one's edits, converted to
/// UTF-16 positions and back, leave code that parses with the finding gone, and the hover
/// explains the rule.
#[tokio::test]
async fn every_fixture_finding_has_its_quick_fixes_and_a_hover() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(&folder).expect("fixtures folder") {
        let path = entry.expect("fixture entry").path();
        if path.extension().is_some_and(|extension| extension == "py") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut checked_fixes = 0;
    for path in paths {
        let stem = path.file_stem().and_then(|stem| stem.to_str()).expect("fixture name").to_string();
        let rule = Rule::from_code(&stem[..5].to_ascii_uppercase()).expect("fixture named after its rule");
        let text = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        // The fixture's `# settings:` header (configuration TOML) becomes the editor settings.
        let header = text.lines().filter_map(|line| line.strip_prefix("# settings: ")).collect::<Vec<_>>().join("\n");
        let mut settings: Value =
            serde_json::to_value(toml::from_str::<toml::Table>(&header).expect("settings header")).expect("JSON");
        settings["select"] = json!([rule.code()]);
        // The fixtures live under `tests/`: test code, which the default profile does not check.
        settings["test-ignore"] = json!([]);
        let options = loopwise::config::Options::from_file(std::path::Path::new("loopwise.toml"), &header)
            .expect("settings header")
            .unwrap_or_default();
        let engine_settings = loopwise::analysis::LintSettings {
            rules: [rule].into_iter().collect(),
            ..loopwise::config::lint_settings(&options)
        };
        let uri = format!("file://{}", path.display());
        let (mut client, _) = TestClient::initialized(json!({}), settings).await;
        client.open(&uri, 1, &text).await;
        let published = client.expect_notification("textDocument/publishDiagnostics").await;
        let diagnostics = published["diagnostics"].as_array().expect("diagnostics").clone();
        let engine = loopwise::analysis::lint_source(&text, Some(&path), &engine_settings);
        assert!(!diagnostics.is_empty(), "{stem}: no findings through the server");
        assert_eq!(diagnostics.len(), engine.len(), "{stem}: the server and the engine disagree");
        for (diagnostic, expected) in diagnostics.iter().zip(&engine) {
            let context = json!({"diagnostics": [diagnostic], "only": ["quickfix"]});
            let params = json!({"textDocument": {"uri": uri}, "range": diagnostic["range"], "context": context});
            let actions = client.request_ok("textDocument/codeAction", params).await;
            let actions = actions.as_array().expect("code actions");
            let line = diagnostic["range"]["start"]["line"].as_u64().expect("line");
            let (noqa, fixes) = actions.split_last().expect("at least the noqa action");
            assert_eq!(noqa["title"], format!("Disable {} for this line", rule.code()), "{stem}:{line}");
            let titles: Vec<&str> = fixes.iter().filter_map(|action| action["title"].as_str()).collect();
            let expected_titles: Vec<&str> =
                expected.fix.iter().chain(&expected.alternatives).map(loopwise::analysis::Fix::title).collect();
            assert_eq!(titles.len(), expected_titles.len(), "{stem}:{line}: {titles:?} vs {expected_titles:?}");
            for (title, expected_title) in titles.iter().zip(&expected_titles) {
                assert!(title.starts_with(expected_title), "{stem}:{line}: {title} vs {expected_title}");
            }
            for action in fixes {
                checked_fixes += 1;
                let after_fix = apply_edits(&text, &workspace_edits(&action["edit"], &uri), false);
                assert!(
                    !parse(&after_fix).root_node().has_error(),
                    "{stem}:{line}: {} leaves broken code",
                    action["title"]
                );
                let still =
                    loopwise::analysis::lint_source(&after_fix, Some(&path), &engine_settings).iter().any(|after| {
                        after_fix[..after.range.start].matches('\n').count() as u64 == line
                            && after.message == diagnostic["message"]
                    });
                assert!(!still, "{stem}:{line}: {} leaves the finding", action["title"]);
            }
            let start = &diagnostic["range"]["start"];
            let position = json!({"line": start["line"], "character": start["character"]});
            let hover = client
                .request_ok("textDocument/hover", json!({"textDocument": {"uri": uri}, "position": position}))
                .await;
            let markdown = hover["contents"]["value"].as_str().unwrap_or_default();
            assert!(
                markdown.contains(rule.code()) && markdown.contains("Why is this bad?"),
                "{stem}:{line}: hover {hover}"
            );
        }
    }
    assert!(checked_fixes > 100, "only {checked_fixes} quick fixes were checked");
}
