//! Engine values -> LSP values: positions through [`crate::position`] in the negotiated
//! encoding, severities, and diagnostics with their fix carried in `data`.

use ropey::RopeSlice;
use serde_json::json;
use tower_lsp_server::ls_types::{
    self, CodeDescription, DiagnosticSeverity, DiagnosticTag, NumberOrString, Position, PositionEncodingKind, Range,
    Uri,
};

use crate::analysis::{Diagnostic, Fix, Severity};
use crate::position::{self, LineColumn, PositionEncoding};

pub const SOURCE: &str = "loopwise";

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

pub fn diagnostic(text: RopeSlice<'_>, diagnostic: &Diagnostic, encoding: PositionEncoding) -> ls_types::Diagnostic {
    let rule = diagnostic.rule;
    ls_types::Diagnostic {
        range: lsp_range(text, diagnostic.range.start, diagnostic.range.end, encoding),
        severity: Some(severity(diagnostic.severity)),
        code: Some(NumberOrString::String(rule.code().to_string())),
        // A rule URL is built from a fixed prefix and a kebab-case name, so it always parses;
        // should it not, the diagnostic is still worth showing without the link.
        code_description: rule.url().parse::<Uri>().ok().map(|href| CodeDescription { href }),
        source: Some(SOURCE.to_string()),
        message: diagnostic.message.clone(),
        related_information: None,
        // Editors strike deprecated code through.
        tags: rule.reports_deprecations().then(|| vec![DiagnosticTag::DEPRECATED]),
        data: diagnostic.fix.as_ref().map(|fix| fix_data(text, fix, encoding)),
    }
}

/// The fix as JSON, in LSP ranges, so a code action can be built without re-running analysis.
fn fix_data(text: RopeSlice<'_>, fix: &Fix, encoding: PositionEncoding) -> serde_json::Value {
    let edits: Vec<serde_json::Value> = fix
        .edits()
        .iter()
        .map(|edit| {
            json!({
                "range": lsp_range(text, edit.range.start, edit.range.end, encoding),
                "newText": edit.content,
            })
        })
        .collect();
    json!({
        "fix": {
            "title": fix.title(),
            "applicability": fix.applicability().as_str(),
            "edits": edits,
        }
    })
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
        };
        let deprecated = diagnostic(text.slice(..), &finding(Rule::DeprecatedAsyncioApi), PositionEncoding::Utf16);
        assert_eq!(deprecated.tags, Some(vec![DiagnosticTag::DEPRECATED]));
        let other = diagnostic(text.slice(..), &finding(Rule::BlockingSleep), PositionEncoding::Utf16);
        assert_eq!(other.tags, None);
    }
}
