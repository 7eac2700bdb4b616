//! Engine values -> LSP values: positions through [`crate::position`] in the negotiated
//! encoding, severities, and diagnostics with their repairs carried in `data`.

use ropey::RopeSlice;
use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::{
    self, CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag, Location, NumberOrString,
    Position, PositionEncodingKind, Range, TextEdit, Uri,
};

use crate::analysis::noqa::SuppressionLine;
use crate::analysis::{Diagnostic, Edit, Fix, Place, Severity};
use crate::position::{self, LineColumn, PositionEncoding};

pub const SOURCE: &str = "loopwise";

/// What a diagnostic carries in `data`: every repair already in LSP ranges, so a code action
/// is built without analysing the document again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticData {
    /// The document version the ranges refer to: edits for another version are stale.
    pub version: i32,
    /// The main fix (the preferred quick fix, the one fix-all applies when it is safe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<FixData>,
    /// The `# noqa` comment that silences the finding, where a line can hold one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noqa: Option<NoqaData>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixData {
    pub title: String,
    /// `safe`, `unsafe` or `display-only`.
    pub applicability: String,
    pub edits: Vec<TextEdit>,
    /// A notebook cell's fix may edit other cells too (an `import asyncio` in the first
    /// cell): their edits, each cell with the version they were computed for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub elsewhere: Vec<CellEdits>,
}

/// The edits of a fix in another cell of the same notebook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CellEdits {
    pub uri: Uri,
    pub version: i32,
    pub edits: Vec<TextEdit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoqaData {
    pub title: String,
    pub edit: TextEdit,
}

pub fn line_column(position: Position) -> LineColumn {
    LineColumn::new(position.line as usize, position.character as usize)
}

/// An LSP position; lines and columns beyond `u32::MAX` saturate rather than wrap.
pub fn lsp_position(position: LineColumn) -> Position {
    Position::new(u32::try_from(position.line).unwrap_or(u32::MAX), u32::try_from(position.column).unwrap_or(u32::MAX))
}

pub fn lsp_range(text: RopeSlice<'_>, start: usize, end: usize, encoding: PositionEncoding) -> Range {
    let (start, end) = position::range_to_positions(text, start, end, encoding).value;
    Range::new(lsp_position(start), lsp_position(end))
}

pub fn encoding_kind(encoding: PositionEncoding) -> PositionEncodingKind {
    match encoding {
        PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
        PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
        PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
    }
}

pub fn severity(severity: Severity) -> DiagnosticSeverity {
    match severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Info => DiagnosticSeverity::INFORMATION,
        Severity::Hint => DiagnosticSeverity::HINT,
    }
}

/// The LSP diagnostic of a finding in `text` (the document `document` at `version`), with its
/// fixes and its suppression (see [`crate::analysis::noqa::suppression`]) in `data`. Without
/// `document`, related places in the text itself are left out.
pub fn diagnostic(
    text: RopeSlice<'_>,
    (document, version): (Option<&Uri>, i32),
    diagnostic: &Diagnostic,
    encoding: PositionEncoding,
    suppression: Option<&(Edit, SuppressionLine)>,
) -> ls_types::Diagnostic {
    let rule = diagnostic.rule;
    let data = DiagnosticData {
        version,
        fix: diagnostic.fix.as_ref().map(|fix| fix_data(text, fix, encoding)),
        alternatives: diagnostic.alternatives.iter().map(|fix| fix_data(text, fix, encoding)).collect(),
        noqa: suppression.map(|(edit, line)| NoqaData {
            title: match line {
                SuppressionLine::Reported => format!("Disable {} for this line", rule.code()),
                SuppressionLine::StatementStart => format!("Disable {} for this statement", rule.code()),
            },
            edit: text_edit(text, edit, encoding),
        }),
    };
    ls_types::Diagnostic {
        range: lsp_range(text, diagnostic.range.start, diagnostic.range.end, encoding),
        severity: Some(severity(diagnostic.severity)),
        code: Some(NumberOrString::String(rule.code().to_string())),
        // A rule URL is built from a fixed prefix and a kebab-case name, so it always parses;
        // should it not, the diagnostic is still worth showing without the link.
        code_description: rule.url().and_then(|url| url.parse::<Uri>().ok()).map(|href| CodeDescription { href }),
        source: Some(SOURCE.to_string()),
        message: diagnostic.message.clone(),
        // Each place the finding is about (an LW109 chain's steps): in another file as that
        // file's line, whose columns this text cannot tell; a path that makes no URI is left out.
        related_information: Some(
            diagnostic
                .related
                .iter()
                .filter_map(|related| {
                    let location = match &related.place {
                        Place::Elsewhere { path, line } => {
                            let at = Position::new(u32::try_from(line.saturating_sub(1)).ok()?, 0);
                            Location { uri: Uri::from_file_path(path)?, range: Range::new(at, at) }
                        }
                        Place::Here(range) => Location {
                            uri: document?.clone(),
                            range: lsp_range(text, range.start, range.end, encoding),
                        },
                    };
                    Some(DiagnosticRelatedInformation { location, message: related.message.clone() })
                })
                .collect::<Vec<_>>(),
        )
        .filter(|related| !related.is_empty()),
        // Editors strike deprecated code through.
        tags: rule.reports_deprecations().then(|| vec![DiagnosticTag::DEPRECATED]),
        // Plain structs of strings and numbers always serialize.
        data: serde_json::to_value(data).ok(),
    }
}

fn fix_data(text: RopeSlice<'_>, fix: &Fix, encoding: PositionEncoding) -> FixData {
    FixData {
        title: fix.title().to_string(),
        applicability: fix.applicability().as_str().to_string(),
        edits: fix.edits().iter().map(|edit| text_edit(text, edit, encoding)).collect(),
        elsewhere: Vec::new(),
    }
}

pub fn text_edit(text: RopeSlice<'_>, edit: &Edit, encoding: PositionEncoding) -> TextEdit {
    TextEdit::new(lsp_range(text, edit.range.start, edit.range.end, encoding), edit.content.clone())
}

/// One edit turning `old` (the text of `rope`) into `new`: the span between their common
/// prefix and suffix, so the editor keeps its cursor and folds elsewhere.
pub fn replacement(rope: RopeSlice<'_>, old: &str, new: &str, encoding: PositionEncoding) -> TextEdit {
    let (start, old_end, new_end) = changed_span(old, new);
    TextEdit::new(lsp_range(rope, start, old_end, encoding), new[start..new_end].to_string())
}

/// `(start, end in old, end in new)` of the part of `old` that differs from `new`. Both ends are
/// character boundaries and never split a CRLF (the middle of one is not an LSP position), nor
/// a word (`await ` is inserted before `asyncio`, not `wait a` after its `a`).
fn changed_span(old: &str, new: &str) -> (usize, usize, usize) {
    let inside_crlf = |at: usize| at > 0 && old.as_bytes().get(at - 1..=at) == Some(b"\r\n");
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let inside_word =
        |at: usize| old[..at].chars().next_back().is_some_and(is_word) && old[at..].chars().next().is_some_and(is_word);
    let splits = |at: usize| !old.is_char_boundary(at) || inside_crlf(at) || inside_word(at);
    let mut prefix = old.bytes().zip(new.bytes()).take_while(|(a, b)| a == b).count();
    // Equal bytes up to `prefix`: a boundary of one text there is a boundary of the other.
    while splits(prefix) {
        prefix -= 1;
    }
    let longest_suffix = old.len().min(new.len()) - prefix;
    let mut suffix = old.bytes().rev().zip(new.bytes().rev()).take(longest_suffix).take_while(|(a, b)| a == b).count();
    while splits(old.len() - suffix) {
        suffix -= 1;
    }
    (prefix, old.len() - suffix, new.len() - suffix)
}

#[cfg(test)]
mod tests {
    use ropey::Rope;

    use super::*;
    use crate::analysis::TextRange;
    use crate::rules::Rule;

    #[test]
    fn deprecations_are_tagged() {
        let text = Rope::from_str("asyncio.get_child_watcher()\n");
        let finding = |rule| Diagnostic {
            rule,
            range: TextRange::new(0, 27),
            message: String::new(),
            severity: Severity::Warning,
            fix: None,
            alternatives: Vec::new(),
            statement_start: 0,
            related: Vec::new(),
        };
        let deprecated =
            diagnostic(text.slice(..), (None, 1), &finding(Rule::DeprecatedAsyncioApi), PositionEncoding::Utf16, None);
        assert_eq!(deprecated.tags, Some(vec![DiagnosticTag::DEPRECATED]));
        let other = diagnostic(text.slice(..), (None, 1), &finding(Rule::BlockingSleep), PositionEncoding::Utf16, None);
        assert_eq!(other.tags, None);
    }

    #[test]
    fn replacement_covers_only_the_changed_span() {
        let edit = |old: &str, new: &str| {
            let rope = Rope::from_str(old);
            let edit = replacement(rope.slice(..), old, new, PositionEncoding::Utf16);
            let (start, end) = (edit.range.start, edit.range.end);
            ((start.line, start.character), (end.line, end.character), edit.new_text)
        };
        assert_eq!(edit("a\nb\nc\n", "a\nxb\nc\n"), ((1, 0), (1, 0), "x".to_string()));
        assert_eq!(edit("abc", "abc"), ((0, 3), (0, 3), String::new()));
        assert_eq!(
            edit("x\n    asyncio.sleep(1)\n", "x\n    await asyncio.sleep(1)\n"),
            ((1, 4), (1, 4), "await ".to_string())
        );
        assert_eq!(edit("get_event_loop()", "get_running_loop()"), ((0, 0), (0, 14), "get_running_loop".to_string()));
        // Bytes in common inside a character do not count: `é` (c3 a9) and `ê` (c3 aa).
        assert_eq!(edit("😀é", "😀ê"), ((0, 2), (0, 3), "ê".to_string()));
        // Never between the `\r` and the `\n` of a CRLF.
        assert_eq!(edit("a\r\nb", "a\r\r\nb"), ((0, 1), (0, 1), "\r".to_string()));
        assert_eq!(edit("a\r\nb", "a\nb"), ((0, 1), (1, 0), "\n".to_string()));
    }

    #[test]
    fn alternatives_and_suppressions_travel_in_data() {
        let text = Rope::from_str("x = '😀'; y\n");
        let edit = |start, end, content: &str| Edit::replacement(content, TextRange::new(start, end));
        let finding = Diagnostic {
            rule: Rule::BlockingSleep,
            range: TextRange::new(12, 13),
            message: String::new(),
            severity: Severity::Warning,
            fix: Some(Fix::unsafe_edit("Main", edit(12, 13, "z"))),
            alternatives: vec![Fix::safe_edit("Other", edit(12, 13, "w"))],
            statement_start: 12,
            related: Vec::new(),
        };
        let suppression = (edit(13, 13, "  # noqa: LW101"), SuppressionLine::StatementStart);
        let converted = diagnostic(text.slice(..), (None, 3), &finding, PositionEncoding::Utf16, Some(&suppression));
        let range = |start, end| serde_json::json!({"start": {"line": 0, "character": start}, "end": {"line": 0, "character": end}});
        assert_eq!(
            converted.data,
            Some(serde_json::json!({
                "version": 3,
                "fix": {"title": "Main", "applicability": "unsafe", "edits": [{"range": range(10, 11), "newText": "z"}]},
                "alternatives": [
                    {"title": "Other", "applicability": "safe", "edits": [{"range": range(10, 11), "newText": "w"}]},
                ],
                "noqa": {"title": "Disable LW101 for this statement", "edit": {"range": range(11, 11), "newText": "  # noqa: LW101"}},
            }))
        );
    }
}
