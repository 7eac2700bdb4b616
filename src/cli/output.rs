//! The output formats of `loopwise check`: `full` (code frames, like ruff), `concise`
//! (`path:row:col: CODE message`) and `json` (ruff's schema), plus `--statistics` and the
//! closing summary (found, fixed, remaining, and which fixes `--fix` would apply).
//!
//! Rows and columns are 1-based; columns count characters.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use ropey::Rope;
use serde_json::json;

use crate::analysis::{Applicability, Diagnostic};
use crate::cli::CheckedFile;
use crate::position::{PositionEncoding, offset_to_position};
use crate::rules::Rule;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Full,
    Concise,
    Json,
}

/// A 1-based row and character column.
#[derive(Debug, Clone, Copy)]
struct Location {
    row: usize,
    column: usize,
}

/// What the closing lines say about fixes.
#[derive(Debug, Clone, Copy, Default)]
pub struct FixSummary {
    /// Fixes applied (`--fix`) or that would be (`--diff`).
    pub fixed: usize,
    /// `--unsafe-fixes`: unsafe fixes count as available.
    pub unsafe_fixes: bool,
}

/// The main fixes of the remaining findings, by how sure they are. Alternatives and
/// display-only fixes are never applied in bulk, so they are not counted.
#[derive(Debug, Clone, Copy, Default)]
struct Fixables {
    safe: usize,
    unsafe_: usize,
}

impl Fixables {
    fn of(files: &[CheckedFile]) -> Self {
        let mut fixables = Self::default();
        for fix in files.iter().flat_map(|file| &file.diagnostics).filter_map(|diagnostic| diagnostic.fix.as_ref()) {
            match fix.applicability() {
                Applicability::Safe => fixables.safe += 1,
                Applicability::Unsafe => fixables.unsafe_ += 1,
                Applicability::DisplayOnly => {}
            }
        }
        fixables
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    if count == 1 { format!("{count} {one}") } else { format!("{count} {many}") }
}

fn location(rope: &Rope, offset: usize) -> Location {
    let position = offset_to_position(rope.slice(..), offset, PositionEncoding::Utf32).value;
    Location { row: position.line + 1, column: position.column + 1 }
}

pub fn write(out: &mut impl Write, files: &[CheckedFile], format: OutputFormat, summary: FixSummary) -> io::Result<()> {
    match format {
        OutputFormat::Json => write_json(out, files),
        OutputFormat::Concise | OutputFormat::Full => {
            let mut total = 0;
            for file in files.iter().filter(|file| !file.diagnostics.is_empty()) {
                let rope = Rope::from_str(&file.source);
                for diagnostic in &file.diagnostics {
                    total += 1;
                    if format == OutputFormat::Full {
                        write_frame(out, &file.path, &rope, diagnostic)?;
                    } else {
                        let start = location(&rope, diagnostic.range.start);
                        writeln!(
                            out,
                            "{}:{}:{}: {} {}",
                            file.path.display(),
                            start.row,
                            start.column,
                            diagnostic.rule,
                            diagnostic.message
                        )?;
                    }
                }
            }
            write_summary(out, total, summary, Fixables::of(files))
        }
    }
}

/// ruff's closing lines: `Found 5 errors (3 fixed, 2 remaining).`, then what `--fix` could
/// still do: `[*] 2 fixable with the --fix option.` or `No fixes available (2 hidden fixes can
/// be enabled with the --unsafe-fixes option).`
fn write_summary(out: &mut impl Write, remaining: usize, summary: FixSummary, fixables: Fixables) -> io::Result<()> {
    let found = summary.fixed + remaining;
    match (summary.fixed, remaining) {
        (0, 0) => writeln!(out, "All checks passed!")?,
        (0, _) => writeln!(out, "Found {}.", plural(remaining, "error", "errors"))?,
        (fixed, _) => {
            writeln!(out, "Found {} ({fixed} fixed, {remaining} remaining).", plural(found, "error", "errors"))?;
        }
    }
    let hidden = plural(fixables.unsafe_, "hidden fix", "hidden fixes");
    if summary.unsafe_fixes {
        let fixable = fixables.safe + fixables.unsafe_;
        if fixable > 0 {
            writeln!(out, "[*] {fixable} fixable with the --fix option.")?;
        }
    } else if fixables.safe > 0 && fixables.unsafe_ > 0 {
        writeln!(
            out,
            "[*] {} fixable with the --fix option ({hidden} can be enabled with the --unsafe-fixes option).",
            fixables.safe
        )?;
    } else if fixables.safe > 0 {
        writeln!(out, "[*] {} fixable with the --fix option.", fixables.safe)?;
    } else if fixables.unsafe_ > 0 {
        writeln!(out, "No fixes available ({hidden} can be enabled with the --unsafe-fixes option).")?;
    }
    Ok(())
}

/// The count `--diff` ends with: `Would fix 3 errors.`, and the unsafe fixes it left out.
pub fn write_diff_summary(out: &mut impl Write, files: &[CheckedFile], summary: FixSummary) -> io::Result<()> {
    let fixables = Fixables::of(files);
    // Unsafe fixes still among the remaining findings were left out for want of --unsafe-fixes.
    let hidden = if summary.unsafe_fixes { 0 } else { fixables.unsafe_ };
    let more = plural(hidden, "fix", "fixes");
    match (summary.fixed, hidden) {
        (0, 0) => writeln!(out, "No errors would be fixed."),
        (0, _) => writeln!(out, "No errors would be fixed ({more} available with --unsafe-fixes)."),
        (fixed, 0) => writeln!(out, "Would fix {}.", plural(fixed, "error", "errors")),
        (fixed, _) => {
            let additional = plural(hidden, "additional fix", "additional fixes");
            writeln!(
                out,
                "Would fix {} ({additional} available with --unsafe-fixes).",
                plural(fixed, "error", "errors")
            )
        }
    }
}

/// ruff's `full` layout: the message, an arrow to the location, and the source lines with
/// carets under the reported range.
fn write_frame(out: &mut impl Write, path: &Path, rope: &Rope, diagnostic: &Diagnostic) -> io::Result<()> {
    let start = location(rope, diagnostic.range.start);
    let end = location(rope, diagnostic.range.end);
    writeln!(out, "{} {}", diagnostic.rule, diagnostic.message)?;
    let first = start.row.saturating_sub(2).max(1);
    let last = (start.row + 1).min(rope.len_lines());
    let gutter = last.to_string().len();
    writeln!(out, "{:gutter$}--> {}:{}:{}", "", path.display(), start.row, start.column)?;
    writeln!(out, "{:gutter$} |", "")?;
    for row in first..=last {
        let line = rope.line(row - 1);
        let text: String = line.chars().filter(|c| *c != '\n' && *c != '\r').collect();
        writeln!(out, "{row:>gutter$} | {text}")?;
        if row == start.row {
            let line_chars = text.chars().count();
            let caret_end = if end.row == start.row { end.column } else { line_chars + 1 };
            let width = caret_end.saturating_sub(start.column).max(1);
            let indent: String =
                text.chars().take(start.column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            writeln!(out, "{:gutter$} | {indent}{}", "", "^".repeat(width))?;
        }
    }
    writeln!(out, "{:gutter$} |", "")?;
    if let Some(fix) = &diagnostic.fix {
        writeln!(out, "{:gutter$} = help: {} ({} fix)", "", fix.title(), fix.applicability().as_str())?;
    }
    writeln!(out)
}

fn write_json(out: &mut impl Write, files: &[CheckedFile]) -> io::Result<()> {
    let mut messages = Vec::new();
    for file in files.iter().filter(|file| !file.diagnostics.is_empty()) {
        let rope = Rope::from_str(&file.source);
        let filename = std::path::absolute(&file.path).unwrap_or_else(|_| file.path.clone());
        for diagnostic in &file.diagnostics {
            let start = location(&rope, diagnostic.range.start);
            let end = location(&rope, diagnostic.range.end);
            let fix = diagnostic.fix.as_ref().map(|fix| {
                let edits: Vec<_> = fix
                    .edits()
                    .iter()
                    .map(|edit| {
                        let from = location(&rope, edit.range.start);
                        let to = location(&rope, edit.range.end);
                        json!({
                            "content": edit.content,
                            "location": {"row": from.row, "column": from.column},
                            "end_location": {"row": to.row, "column": to.column},
                        })
                    })
                    .collect();
                json!({"applicability": fix.applicability().as_str(), "message": fix.title(), "edits": edits})
            });
            messages.push(json!({
                "code": diagnostic.rule.code(),
                "name": diagnostic.rule.name(),
                "message": diagnostic.message,
                "severity": diagnostic.severity.as_str(),
                "filename": filename.to_string_lossy(),
                "location": {"row": start.row, "column": start.column},
                "end_location": {"row": end.row, "column": end.column},
                "fix": fix,
                "noqa_row": start.row,
                "url": diagnostic.rule.url(),
            }));
        }
    }
    serde_json::to_writer_pretty(&mut *out, &messages).map_err(io::Error::other)?;
    writeln!(out)
}

pub fn write_statistics(
    out: &mut impl Write,
    files: &[CheckedFile],
    format: OutputFormat,
    summary: FixSummary,
) -> io::Result<()> {
    let mut counts: BTreeMap<Rule, usize> = BTreeMap::new();
    for diagnostic in files.iter().flat_map(|file| &file.diagnostics) {
        *counts.entry(diagnostic.rule).or_default() += 1;
    }
    let mut rows: Vec<(Rule, usize)> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if format == OutputFormat::Json {
        let rows: Vec<_> = rows
            .iter()
            .map(|(rule, count)| json!({"code": rule.code(), "name": rule.name(), "count": count}))
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows).map_err(io::Error::other)?;
        return writeln!(out);
    }
    let width = rows.iter().map(|(_, count)| count.to_string().len()).max().unwrap_or(1);
    for (rule, count) in &rows {
        writeln!(out, "{count:>width$}\t{}\t{}", rule.code(), rule.name())?;
    }
    write_summary(out, rows.iter().map(|(_, count)| count).sum(), summary, Fixables::of(files))
}
