//! `--output-format junit`: a `JUnit` XML report in ruff's shape, which CI systems show as test
//! results: one `testsuite` per file with findings, one failed `testcase` per finding
//! (`name="org.loopwise.LW101"`, the file's path without its extension as `classname`, the
//! severity as a property). A run without findings is one suite with one passing case, as
//! ruff writes it, so that a report with no failures still counts as a test run.

use std::io::{self, Write};

use super::Findings;
use crate::cli::CheckedFile;

pub fn write(out: &mut impl Write, files: &[CheckedFile]) -> io::Result<()> {
    let findings = Findings::of(files).findings;
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    if findings.is_empty() {
        writeln!(out, r#"<testsuites name="loopwise" tests="1" skipped="0" failures="0" errors="0">"#)?;
        writeln!(
            out,
            r#"    <testsuite name="loopwise" tests="1" skipped="0" errors="0" failures="0" package="org.loopwise">"#
        )?;
        writeln!(out, r#"        <testcase name="No errors found" classname="loopwise"/>"#)?;
        writeln!(out, "    </testsuite>")?;
        return writeln!(out, "</testsuites>");
    }
    let total = findings.len();
    writeln!(out, r#"<testsuites name="loopwise" tests="{total}" skipped="0" failures="{total}" errors="0">"#)?;
    for group in findings.chunk_by(|a, b| std::ptr::eq(a.file, b.file)) {
        let Some(first) = group.first() else { continue };
        let path = crate::files::shown(&first.file.path);
        let classname = first.file.path.with_extension("");
        let count = group.len();
        writeln!(
            out,
            r#"    <testsuite name="{}" tests="{count}" skipped="0" errors="0" failures="{count}" package="org.loopwise">"#,
            escape(&path)
        )?;
        for finding in group {
            let diagnostic = finding.diagnostic;
            let message = escape(&diagnostic.message);
            writeln!(
                out,
                r#"        <testcase name="org.loopwise.{}" classname="{}" line="{}" column="{}">"#,
                diagnostic.rule.code(),
                escape(&classname.to_string_lossy()),
                finding.start.row,
                finding.start.column
            )?;
            writeln!(out, "            <properties>")?;
            writeln!(out, r#"                <property name="severity" value="{}"/>"#, diagnostic.severity.as_str())?;
            writeln!(out, "            </properties>")?;
            let cell = finding.cell.map(|number| format!("cell {number}, ")).unwrap_or_default();
            writeln!(
                out,
                r#"            <failure message="{message}">{cell}line {}, col {}, {message}</failure>"#,
                finding.start.row, finding.start.column
            )?;
            writeln!(out, "        </testcase>")?;
        }
        writeln!(out, "    </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

/// `text` as XML 1.0 attribute or element text: the five markup characters as entities, line
/// breaks and tabs as character references (an attribute's own would be read as spaces), and
/// the control characters XML cannot hold at all as U+FFFD.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\n' => escaped.push_str("&#10;"),
            '\r' => escaped.push_str("&#13;"),
            '\t' => escaped.push_str("&#9;"),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => escaped.push('\u{fffd}'),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_line_breaks_and_forbidden_characters() {
        assert_eq!(escape("a<b & \"c\" 'd'>\n\u{1}é"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;&#10;\u{fffd}é");
    }
}
