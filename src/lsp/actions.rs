//! Code actions and hovers, built from what the server already has: quick fixes and `# noqa`
//! suppressions from a diagnostic's `data`, fix-all from one edit the server computed, and
//! rule explanations for the findings it remembers.
//!
//! Nothing here lints or touches the documents; the server hands in the values.

use std::collections::HashMap;

use ropey::RopeSlice;
use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, Diagnostic, DocumentChanges, Hover, HoverContents, MarkupContent, MarkupKind, OneOf,
    OptionalVersionedTextDocumentIdentifier, TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

use crate::analysis::{Applicability, TextRange};
use crate::position::PositionEncoding;

use super::convert::{self, DiagnosticData, FixData};
use super::documents::Finding;

/// The kind of the fix-all action; `source.fixAll` and `source` requests include it.
pub const FIX_ALL: CodeActionKind = CodeActionKind::new("source.fixAll.loopwise");

pub const FIX_ALL_TITLE: &str = "Fix all safe loopwise findings";

/// The kind of the fix-all of a whole notebook, which VS Code asks for on a notebook's save
/// (`notebook.codeActionsOnSave`).
pub const NOTEBOOK_FIX_ALL: CodeActionKind = CodeActionKind::new("notebook.source.fixAll.loopwise");

/// The notebook fix-all action with its edits: one per changed cell, at the cell's version.
pub fn notebook_fix_all(edits: Vec<(Uri, i32, TextEdit)>, document_changes: bool) -> CodeAction {
    let documents = edits.into_iter().map(|(uri, version, edit)| (uri, version, vec![edit])).collect();
    CodeAction {
        title: FIX_ALL_TITLE.to_string(),
        kind: Some(NOTEBOOK_FIX_ALL),
        edit: Some(workspace_edit_of(documents, document_changes)),
        ..CodeAction::default()
    }
}

/// What a lazily resolved fix-all carries until `codeAction/resolve` computes its edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixAllData {
    pub uri: Uri,
    /// The version the action was offered for: resolving it for another one would be stale.
    pub version: i32,
}

/// Whether the client asked for actions of `kind`. Kinds are hierarchical, so a requested kind
/// covers its sub-kinds (`source` covers `source.fixAll.loopwise`); no `only` asks for all.
pub fn requested(only: Option<&[CodeActionKind]>, kind: &CodeActionKind) -> bool {
    let Some(only) = only else { return true };
    only.iter().any(|wanted| {
        kind.as_str().strip_prefix(wanted.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

/// The quick fixes of one loopwise diagnostic from the client's context: its main fix
/// (preferred), its alternatives and its `# noqa` suppression. None when the diagnostic is not
/// loopwise's or its edits were computed for another version than `version`, the current one.
///
/// `version_of` gives the current version of a notebook's other cells: a fix that also edits
/// one of them is offered only while every cell it edits is as it was analysed.
pub fn quick_fixes(
    uri: &Uri,
    diagnostic: &Diagnostic,
    version: i32,
    document_changes: bool,
    version_of: &dyn Fn(&Uri) -> Option<i32>,
) -> Vec<CodeAction> {
    if diagnostic.source.as_deref() != Some(convert::SOURCE) {
        return Vec::new();
    }
    let Some(data) = diagnostic.data.clone().and_then(|data| serde_json::from_value::<DiagnosticData>(data).ok())
    else {
        return Vec::new();
    };
    if data.version != version {
        return Vec::new();
    }
    let quick_fix = |title: String, documents: Vec<(Uri, i32, Vec<TextEdit>)>, preferred: bool| CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic.clone()]),
        edit: Some(workspace_edit_of(documents, document_changes)),
        is_preferred: preferred.then_some(true),
        ..CodeAction::default()
    };
    let fix_action = |fix: FixData, preferred: bool| {
        if fix.elsewhere.iter().any(|cell| version_of(&cell.uri) != Some(cell.version)) {
            return None;
        }
        let title = fix_title(&fix);
        let mut documents = vec![(uri.clone(), version, fix.edits)];
        documents.extend(fix.elsewhere.into_iter().map(|cell| (cell.uri, cell.version, cell.edits)));
        Some(quick_fix(title, documents, preferred))
    };
    let mut actions = Vec::new();
    if let Some(fix) = data.fix {
        actions.extend(fix_action(fix, true));
    }
    for fix in data.alternatives {
        actions.extend(fix_action(fix, false));
    }
    if let Some(noqa) = data.noqa {
        actions.push(quick_fix(noqa.title, vec![(uri.clone(), version, vec![noqa.edit])], false));
    }
    actions
}

/// The fix's title, marked when the fix may change behaviour (`Replace with ... (unsafe)`), so
/// the user sees which quick fixes keep the meaning.
fn fix_title(fix: &FixData) -> String {
    if fix.applicability == Applicability::Safe.as_str() {
        fix.title.clone()
    } else {
        format!("{} ({})", fix.title, fix.applicability)
    }
}

/// Edits of one document, versioned when the client checks versions (`documentChanges`), so a
/// client whose document moved on refuses them rather than applying them in the wrong place.
pub fn workspace_edit(uri: &Uri, version: i32, edits: Vec<TextEdit>, document_changes: bool) -> WorkspaceEdit {
    workspace_edit_of(vec![(uri.clone(), version, edits)], document_changes)
}

/// Edits of several documents (the cells of one notebook), each at its version.
pub fn workspace_edit_of(documents: Vec<(Uri, i32, Vec<TextEdit>)>, document_changes: bool) -> WorkspaceEdit {
    if document_changes {
        let edits = documents
            .into_iter()
            .map(|(uri, version, edits)| TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier::new(uri, version),
                edits: edits.into_iter().map(OneOf::Left).collect(),
            })
            .collect();
        return WorkspaceEdit { document_changes: Some(DocumentChanges::Edits(edits)), ..WorkspaceEdit::default() };
    }
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for (uri, _, edits) in documents {
        changes.entry(uri).or_default().extend(edits);
    }
    WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() }
}

/// The fix-all action with its edit.
pub fn fix_all(uri: &Uri, version: i32, edit: TextEdit, document_changes: bool) -> CodeAction {
    CodeAction {
        title: FIX_ALL_TITLE.to_string(),
        kind: Some(FIX_ALL),
        edit: Some(workspace_edit(uri, version, vec![edit], document_changes)),
        ..CodeAction::default()
    }
}

/// The fix-all action without its edit, for `codeAction/resolve` to fill in.
pub fn lazy_fix_all(uri: &Uri, version: i32) -> CodeAction {
    CodeAction {
        title: FIX_ALL_TITLE.to_string(),
        kind: Some(FIX_ALL),
        // A struct of a URI and a number always serializes.
        data: serde_json::to_value(FixAllData { uri: uri.clone(), version }).ok(),
        ..CodeAction::default()
    }
}

/// The explanation of every rule reported under byte `offset` of `text`, separated by rules,
/// over the part of the text they all cover. None when no finding is there.
pub fn hover(
    text: RopeSlice<'_>,
    findings: &[Finding],
    offset: usize,
    encoding: PositionEncoding,
    kind: MarkupKind,
) -> Option<Hover> {
    let under: Vec<&Finding> = findings.iter().filter(|finding| covers(finding.range, offset)).collect();
    let first = under.first()?;
    let mut rules = Vec::new();
    for finding in &under {
        if !rules.contains(&finding.rule) {
            rules.push(finding.rule);
        }
    }
    let explanations: Vec<String> = rules.iter().map(|rule| rule.meta().explanation()).collect();
    let markdown = explanations.join("\n---\n\n");
    let value = match kind {
        MarkupKind::Markdown => markdown,
        MarkupKind::PlainText => plain_text(&markdown),
    };
    // Where every listed explanation applies; it holds `offset`, so it is never empty of it.
    let start = under.iter().map(|finding| finding.range.start).max().unwrap_or(first.range.start);
    let end = under.iter().map(|finding| finding.range.end).min().unwrap_or(first.range.end);
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent { kind, value }),
        range: Some(convert::lsp_range(text, start, end.max(start), encoding)),
    })
}

/// Whether a hover at `offset` is over `range`; an empty range is hit at its position.
fn covers(range: TextRange, offset: usize) -> bool {
    (range.start <= offset && offset < range.end) || (range.start == range.end && range.start == offset)
}

/// Markdown for a client that shows only plain text: code fences go, the rest reads as is.
fn plain_text(markdown: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    for line in markdown.lines().filter(|line| !line.trim_start().starts_with("```")) {
        text.push_str(line);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rule;

    #[test]
    fn requested_kinds_are_prefixes() {
        let kinds = |kinds: &[&'static str]| kinds.iter().map(|kind| CodeActionKind::new(kind)).collect::<Vec<_>>();
        assert!(requested(None, &FIX_ALL));
        assert!(requested(Some(&kinds(&["source"])), &FIX_ALL));
        assert!(requested(Some(&kinds(&["source.fixAll"])), &FIX_ALL));
        assert!(requested(Some(&kinds(&["source.fixAll.loopwise"])), &FIX_ALL));
        assert!(!requested(Some(&kinds(&["source.fix"])), &FIX_ALL));
        assert!(!requested(Some(&kinds(&["quickfix"])), &FIX_ALL));
        assert!(!requested(Some(&kinds(&["source.organizeImports"])), &FIX_ALL));
        assert!(requested(Some(&kinds(&["refactor", "quickfix"])), &CodeActionKind::QUICKFIX));
        assert!(!requested(Some(&kinds(&[])), &CodeActionKind::QUICKFIX));
    }

    #[test]
    fn every_repair_is_a_quick_fix_and_only_the_main_fix_is_preferred() {
        let uri: Uri = "file:///project/app.py".parse().expect("uri");
        let edit = |text: &str| serde_json::json!([{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}, "newText": text}]);
        let diagnostic = Diagnostic {
            source: Some("loopwise".to_string()),
            data: Some(serde_json::json!({
                "version": 2,
                "fix": {"title": "Main", "applicability": "unsafe", "edits": edit("a")},
                "alternatives": [
                    {"title": "Other", "applicability": "safe", "edits": edit("b")},
                    {"title": "Shown", "applicability": "display-only", "edits": edit("c")},
                ],
                "noqa": {"title": "Disable LW101 for this line", "edit": edit("d")[0]},
            })),
            ..Diagnostic::default()
        };
        let actions = quick_fixes(&uri, &diagnostic, 2, false, &|_| None);
        let summary: Vec<(&str, Option<bool>, &str)> = actions
            .iter()
            .map(|action| {
                let edits = &action.edit.as_ref().and_then(|edit| edit.changes.as_ref()).expect("changes")[&uri];
                (action.title.as_str(), action.is_preferred, edits[0].new_text.as_str())
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("Main (unsafe)", Some(true), "a"),
                ("Other", None, "b"),
                ("Shown (display-only)", None, "c"),
                ("Disable LW101 for this line", None, "d"),
            ]
        );
        assert!(actions.iter().all(|action| action.diagnostics.as_deref() == Some(std::slice::from_ref(&diagnostic))));
        assert!(quick_fixes(&uri, &diagnostic, 3, false, &|_| None).is_empty(), "edits of version 2 are stale at 3");
    }

    #[test]
    fn hover_lists_each_rule_once_over_their_common_range() {
        let text = ropey::Rope::from_str("asyncio.get_event_loop().run_until_complete(x)\n");
        let finding = |rule, start, end| Finding { rule, range: TextRange::new(start, end), safe_fix: false };
        let findings = [
            finding(Rule::BlockingSleep, 0, 47),
            finding(Rule::GetEventLoopInCoroutine, 0, 24),
            finding(Rule::BlockingSleep, 0, 47),
        ];
        let shown = hover(text.slice(..), &findings, 3, PositionEncoding::Utf16, MarkupKind::Markdown).expect("hover");
        let HoverContents::Markup(content) = shown.contents else { panic!("markup expected") };
        assert_eq!(content.value.matches("(LW101)").count(), 1, "{}", content.value);
        assert_eq!(content.value.matches("\n---\n").count(), 1, "{}", content.value);
        assert!(content.value.contains("(LW502)"), "{}", content.value);
        assert_eq!(shown.range.map(|range| (range.start.character, range.end.character)), Some((0, 24)));
        assert_eq!(hover(text.slice(..), &findings, 47, PositionEncoding::Utf16, MarkupKind::Markdown), None);
        let plain =
            hover(text.slice(..), &findings, 30, PositionEncoding::Utf16, MarkupKind::PlainText).expect("hover");
        let HoverContents::Markup(content) = plain.contents else { panic!("markup expected") };
        assert_eq!(content.kind, MarkupKind::PlainText);
        assert!(!content.value.contains("```"), "{}", content.value);
        assert!(content.value.contains("Why is this bad?"), "{}", content.value);
    }
}
