//! `--output-format github`: one GitHub Actions workflow command per finding, which the runner
//! turns into an annotation on the file's line, in ruff's shape:
//! `::warning title=loopwise (LW101),file=/abs/app.py,line=4,col=5,endLine=4,endColumn=18::app.py:4:5: LW101 message`.
//!
//! Errors are `::error`, warnings `::warning`, information and hints `::notice`. Values are
//! escaped as the runner reads them (`%`, `\r`, `\n`; in properties also `:` and `,`), which
//! ruff leaves undone.

use std::io::{self, Write};

use super::{Findings, Level, absolute, path_in_cell};
use crate::cli::CheckedFile;

pub fn write(out: &mut impl Write, files: &[CheckedFile]) -> io::Result<()> {
    for finding in Findings::of(files).findings {
        let diagnostic = finding.diagnostic;
        let command = match Level::of(diagnostic.severity) {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "notice",
        };
        let code = diagnostic.rule.code();
        let mut message = format!(
            "{}:{}:{}: {code} {}",
            path_in_cell(&finding.file.path, finding.cell),
            finding.start.row,
            finding.start.column,
            diagnostic.message
        );
        if let Some(fix) = &diagnostic.fix {
            // ruff's second line: the fix as help.
            message.push_str("\n  help: ");
            message.push_str(fix.title());
        }
        writeln!(
            out,
            "::{command} title={},file={},line={},col={},endLine={},endColumn={}::{}",
            escape_property(&format!("loopwise ({code})")),
            escape_property(&absolute(&finding.file.path).to_string_lossy()),
            finding.start.row,
            finding.start.column,
            finding.end.row,
            finding.end.column,
            escape_data(&message)
        )?;
    }
    Ok(())
}

/// A command's message, as the runner unescapes it.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A command's property value: also `:` and `,`, which end the value otherwise.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_runner() {
        assert_eq!(escape_data("50% a:b, c\r\nd"), "50%25 a:b, c%0D%0Ad");
        assert_eq!(escape_property("50% a:b, c\nd"), "50%25 a%3Ab%2C c%0Ad");
    }
}
