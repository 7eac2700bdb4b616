//! Lone CR line breaks: the text the engine analyses, and fixes going back to the user's text.
//!
//! Python ends a line at a lone `\r` as at `\n` and `\r\n`, but tree-sitter-python's scanner
//! reads a lone `\r` as blanks (a file with only CR line breaks parsed as one broken line), and
//! the rules find lines by `\n`. So the engine analyses [`normalized`] text, where each lone `\r`
//! is a `\n`: one byte for one byte, so every offset stays the same, and so does every line as
//! ropey (with `cr_lines`) and the LSP count them. What a fix writes goes back through
//! [`restore`], in the line breaks of the user's text.
//!
//! It knows nothing of files, editors or rules: only text and the edits of diagnostics.

use std::borrow::Cow;

use crate::analysis::Diagnostic;
use crate::analysis::fix_builder::line_ending;

/// Whether `text` holds a `\r` that no `\n` follows.
pub fn has_lone_cr(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'\r', bytes).any(|at| bytes.get(at + 1) != Some(&b'\n'))
}

/// `text` with every lone `\r` made a `\n`; borrowed when it has none (the common case costs
/// one scan for `\r`).
pub fn normalized(text: &str) -> Cow<'_, str> {
    if !has_lone_cr(text) {
        return Cow::Borrowed(text);
    }
    let mut bytes = text.as_bytes().to_vec();
    for at in memchr::memchr_iter(b'\r', text.as_bytes()) {
        if text.as_bytes().get(at + 1) != Some(&b'\n') {
            bytes[at] = b'\n';
        }
    }
    // Only ASCII bytes changed, for ASCII bytes: still UTF-8.
    Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|_| text.to_string()))
}

/// The fixes of `diagnostics`, found in the [`normalized`] form of `original`, as they are to be
/// written into `original`: in a text whose first line break is a lone `\r`, the line breaks a
/// fix writes (its own, or text it copied, which the normalized form holds with `\n`) are `\r`.
/// Anywhere, a fix's line break is never written where it would join a `\r` and a `\n` into one
/// CRLF line break, or split one.
pub fn restore(diagnostics: &mut [Diagnostic], original: &str) {
    if !has_lone_cr(original) {
        return;
    }
    let cr_file = line_ending(original) == "\r";
    let bytes = original.as_bytes();
    for diagnostic in diagnostics {
        for fix in diagnostic.fix.iter_mut().chain(&mut diagnostic.alternatives) {
            fix.rewrite_contents(|range, content| {
                let after_cr = range.start > 0 && bytes.get(range.start - 1) == Some(&b'\r');
                let before_lf = bytes.get(range.end) == Some(&b'\n');
                *content = restored(content, cr_file, after_cr, before_lf);
            });
        }
    }
}

/// `content` with its lone `\n`s written as `\r` in a CR file; its first one also after a `\r`
/// of the text, and its last one not before a `\n` of the text.
fn restored(content: &str, cr_file: bool, after_cr: bool, before_lf: bool) -> String {
    let bytes = content.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    for (at, &byte) in bytes.iter().enumerate() {
        let lone_lf = byte == b'\n' && (at == 0 || bytes[at - 1] != b'\r');
        let as_cr = lone_lf && (cr_file || (at == 0 && after_cr)) && !(at + 1 == bytes.len() && before_lf);
        out.push(if as_cr { b'\r' } else { byte });
    }
    String::from_utf8(out).unwrap_or_else(|_| content.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Diagnostic, Edit, Fix, Severity, TextRange};
    use crate::rules::Rule;

    #[test]
    fn lone_crs_become_line_feeds_and_nothing_else_moves() {
        assert!(matches!(normalized("a\nb\r\nc"), Cow::Borrowed(_)));
        assert_eq!(normalized("a\rb\r\nc\r"), "a\nb\r\nc\n");
        assert_eq!(normalized("é\r😀\r\r\n"), "é\n😀\n\r\n");
        assert!(!has_lone_cr("a\r\nb\n"));
        assert!(has_lone_cr("a\r"));
    }

    fn fixed(original: &str, edit: Edit) -> String {
        let mut diagnostics = [Diagnostic {
            rule: Rule::ALL[0],
            range: TextRange::new(0, 0),
            message: String::new(),
            severity: Severity::Warning,
            fix: Some(Fix::safe_edit("fix", edit)),
            alternatives: Vec::new(),
            statement_start: 0,
            related: Vec::new(),
        }];
        restore(&mut diagnostics, original);
        diagnostics[0].fix.as_ref().map(|fix| fix.apply_to(original)).unwrap_or_default()
    }

    #[test]
    fn fixes_write_the_line_breaks_of_the_text() {
        // A CR file gets CR line breaks, CRLF ones stay.
        assert_eq!(fixed("a\rb\r", Edit::insertion("x\ny\r\n", 2)), "a\rx\ry\r\nb\r");
        // An LF file keeps LF, but never joins a lone CR before it into a CRLF.
        assert_eq!(fixed("a\nb\rc\n", Edit::insertion("\nx", 4)), "a\nb\r\rxc\n");
        assert_eq!(fixed("a\nb\rc\n", Edit::insertion("x\n", 4)), "a\nb\rx\nc\n");
        // Nor writes a CR where a LF follows.
        assert_eq!(fixed("a\rb\n", Edit::insertion("x\n", 3)), "a\rbx\n\n");
        // A text without lone CRs is left alone.
        assert_eq!(fixed("a\r\nb", Edit::insertion("\nx", 3)), "a\r\n\nxb");
    }
}
