//! `--output-format grouped`: ruff's layout of findings under the name of their file, each as
//! `  row:col CODE [*] message` with rows and columns aligned within the file, and a blank line
//! after each file; `[*]` marks a fix that `--fix` applies. The closing summary is the one of
//! the text formats (`cli::output` writes it after these lines).

use std::io::{self, Write};

use super::{Finding, Findings};
use crate::analysis::Applicability;
use crate::cli::CheckedFile;

/// Writes the findings of `files`. `unsafe_fixes`: unsafe fixes are applied too, so they are
/// marked.
pub fn write(out: &mut impl Write, files: &[CheckedFile], unsafe_fixes: bool) -> io::Result<()> {
    let findings = Findings::of(files).findings;
    let level = if unsafe_fixes { Applicability::Unsafe } else { Applicability::Safe };
    for group in findings.chunk_by(|a, b| std::ptr::eq(a.file, b.file)) {
        let Some(first) = group.first() else { continue };
        writeln!(out, "{}:", crate::files::shown(&first.file.path))?;
        let width = |of: fn(&Finding) -> usize| group.iter().map(|f| of(f).to_string().len()).max().unwrap_or(1);
        let (row_width, column_width) = (width(|f| f.start.row), width(|f| f.start.column));
        for finding in group {
            let fixable = finding.diagnostic.fix.as_ref().is_some_and(|fix| fix.applies(level));
            // As ruff groups a notebook's findings: `cell 2:1:8`.
            let cell = finding.cell.map(|number| format!("cell {number}:")).unwrap_or_default();
            writeln!(
                out,
                "  {cell}{:>row_width$}:{:<column_width$} {} {}{}",
                finding.start.row,
                finding.start.column,
                finding.diagnostic.rule.code(),
                if fixable { "[*] " } else { "" },
                finding.diagnostic.message
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}
