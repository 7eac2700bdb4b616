//! The output formats of `loopwise check`: `full` (code frames, like ruff), `concise`
//! (`path:row:col: CODE message`) and `json` (ruff's schema), plus `--statistics`.
//!
//! Rows and columns are 1-based; columns count characters.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use ropey::Rope;
use serde_json::json;

use crate::analysis::Diagnostic;
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

fn location(rope: &Rope, offset: usize) -> Location {
    let position = offset_to_position(rope.slice(..), offset, PositionEncoding::Utf32).value;
    Location { row: position.line + 1, column: position.column + 1 }
}

pub fn write(out: &mut impl Write, files: &[CheckedFile], format: OutputFormat) -> io::Result<()> {
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
            write_summary(out, total)
        }
    }
}

fn write_summary(out: &mut impl Write, total: usize) -> io::Result<()> {
    match total {
        0 => writeln!(out, "All checks passed!"),
        1 => writeln!(out, "Found 1 error."),
        _ => writeln!(out, "Found {total} errors."),
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

pub fn write_statistics(out: &mut impl Write, files: &[CheckedFile], format: OutputFormat) -> io::Result<()> {
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
    write_summary(out, rows.iter().map(|(_, count)| count).sum())
}
