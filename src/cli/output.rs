//! The output formats of `loopwise check`: `full` (code frames, like ruff), `concise`
//! (`path:row:col: CODE message`) and `json` (ruff's schema), plus `--statistics` and the
//! closing summary (found, fixed, remaining, and which fixes `--fix` would apply).
//!
//! Rows and columns are 1-based; columns count characters. In a notebook, rows are those of
//! the finding's cell, and the cell is named (`demo.ipynb:cell 2:1:8`, JSON's `"cell": 2`). Colour (`--color`) is chosen by the
//! caller and only ever added to the human formats.

use std::collections::BTreeMap;
use std::io::{self, Write};

use rayon::prelude::*;
use serde_json::json;

use anstyle::{AnsiColor, Style};

use crate::analysis::{Applicability, Diagnostic, Severity};
use crate::cli::CheckedFile;
use crate::cli::formats;
use crate::position::{LineStarts, PositionEncoding};
use crate::rules::Rule;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Full,
    Concise,
    Json,
    // The formats CI tools read, written by `cli::formats`.
    JsonLines,
    Github,
    Gitlab,
    Sarif,
    Junit,
    Pylint,
    Grouped,
}

/// A 1-based row and character column.
#[derive(Debug, Clone, Copy)]
struct Location {
    row: usize,
    column: usize,
}

/// What the closing lines say about fixes and about files that could not be checked.
#[derive(Debug, Clone, Copy, Default)]
pub struct FixSummary {
    /// Fixes applied (`--fix`) or that would be (`--diff`).
    pub fixed: usize,
    /// `--unsafe-fixes`: unsafe fixes count as available.
    pub unsafe_fixes: bool,
    /// Errors that stopped a file (or every file under a configuration) from being checked,
    /// already printed: a run with any must never say that all checks passed.
    pub errors: usize,
    /// Files not checked for being larger than `max-file-size`, already warned about: nor may
    /// a run with any of those.
    pub over_limit: usize,
    /// Whether to colour the human formats.
    pub color: bool,
}

/// The styles of the human formats; plain text when colour is off.
#[derive(Debug, Clone, Copy)]
struct Palette {
    on: bool,
}

impl Palette {
    fn paint(self, style: Style, text: impl std::fmt::Display) -> String {
        if self.on { format!("{}{text}{}", style.render(), style.render_reset()) } else { text.to_string() }
    }

    fn severity(severity: Severity) -> Style {
        let color = match severity {
            Severity::Error => AnsiColor::Red,
            Severity::Warning => AnsiColor::Yellow,
            Severity::Info => AnsiColor::Cyan,
            Severity::Hint => AnsiColor::Green,
        };
        Style::new().bold().fg_color(Some(color.into()))
    }

    /// `warning[LW101]`, as ty and rustc head a finding.
    fn heading(self, diagnostic: &Diagnostic) -> String {
        self.paint(
            Self::severity(diagnostic.severity),
            format_args!("{}[{}]", diagnostic.severity.as_str(), diagnostic.rule),
        )
    }

    fn frame(self, text: impl std::fmt::Display) -> String {
        self.paint(Style::new().bold().fg_color(Some(AnsiColor::Blue.into())), text)
    }

    fn bold(self, text: impl std::fmt::Display) -> String {
        self.paint(Style::new().bold(), text)
    }
}

/// How many findings there are of each severity, most severe first.
#[derive(Debug, Clone, Copy, Default)]
struct Counts([usize; 4]);

impl Counts {
    const ORDER: [Severity; 4] = [Severity::Error, Severity::Warning, Severity::Info, Severity::Hint];

    fn of<'a>(diagnostics: impl IntoIterator<Item = &'a Diagnostic>) -> Self {
        let mut counts = Self::default();
        for diagnostic in diagnostics {
            counts.0[diagnostic.severity as usize] += 1;
        }
        counts
    }

    fn total(self) -> usize {
        self.0.iter().sum()
    }

    /// `1 warning, 2 hints`.
    fn breakdown(self) -> String {
        let parts: Vec<String> = Self::ORDER
            .iter()
            .zip(self.0)
            .filter(|(_, count)| *count > 0)
            .map(|(severity, count)| {
                let name = severity.as_str();
                plural(count, name, &format!("{name}s"))
            })
            .collect();
        parts.join(", ")
    }
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

fn location(lines: &LineStarts<'_>, offset: usize) -> Location {
    let position = lines.position(offset, PositionEncoding::Utf32).value;
    Location { row: position.line + 1, column: position.column + 1 }
}

/// [`formats::place`], in this module's `Location`.
fn place(file: &CheckedFile, lines: &LineStarts<'_>, offset: usize) -> (Option<usize>, Location) {
    let (cell, at) = formats::place(file, lines, offset);
    (cell, Location { row: at.row, column: at.column })
}

pub fn write(out: &mut impl Write, files: &[CheckedFile], format: OutputFormat, summary: FixSummary) -> io::Result<()> {
    match format {
        OutputFormat::Json => write_json(out, files),
        OutputFormat::JsonLines => formats::json_lines::write(out, &json_messages(files)),
        OutputFormat::Github => formats::github::write(out, files),
        OutputFormat::Gitlab => formats::gitlab::write(out, files),
        OutputFormat::Sarif => formats::sarif::write(out, files),
        OutputFormat::Junit => formats::junit::write(out, files),
        OutputFormat::Pylint => formats::pylint::write(out, files),
        OutputFormat::Grouped => {
            formats::grouped::write(out, files, summary.unsafe_fixes)?;
            let counts = Counts::of(files.iter().flat_map(|file| &file.diagnostics));
            write_summary(out, counts, files.len(), summary, Fixables::of(files))
        }
        OutputFormat::Concise | OutputFormat::Full => {
            let palette = Palette { on: summary.color };
            // Each file's findings are laid out on every core, then written in order: on one
            // core this was the last tenth of a cached run on HA (191 files with findings).
            let texts: Vec<io::Result<Vec<u8>>> = files
                .par_iter()
                .filter(|file| !file.diagnostics.is_empty())
                .map(|file| {
                    let mut text = Vec::new();
                    write_human(&mut text, palette, format, file)?;
                    Ok(text)
                })
                .collect();
            for text in texts {
                out.write_all(&text?)?;
            }
            let counts = Counts::of(files.iter().flat_map(|file| &file.diagnostics));
            write_summary(out, counts, files.len(), summary, Fixables::of(files))
        }
    }
}

/// One file's findings in the `full` or the `concise` layout.
fn write_human(out: &mut impl Write, palette: Palette, format: OutputFormat, file: &CheckedFile) -> io::Result<()> {
    let lines = LineStarts::new(&file.source);
    for diagnostic in &file.diagnostics {
        if format == OutputFormat::Full {
            write_frame(out, palette, file, &lines, diagnostic)?;
        } else {
            let (cell, start) = place(file, &lines, diagnostic.range.start);
            // The code right after the location, as flake8 and ruff print it, so that their
            // parsers (editors' error formats, reviewdog) still read it.
            let severity = diagnostic.severity;
            writeln!(
                out,
                "{}:{}:{}: {} {} {}",
                palette.bold(formats::path_in_cell(&file.path, cell)),
                start.row,
                start.column,
                palette.paint(Palette::severity(severity), diagnostic.rule),
                palette.paint(Palette::severity(severity), format_args!("[{}]", severity.as_str())),
                diagnostic.message
            )?;
        }
    }
    Ok(())
}

/// The closing lines: `Found 2 findings: 1 warning, 1 hint.` (ruff's `Found 5 errors (3
/// fixed, 2 remaining).`, counted by severity), whether any file could not be checked, then what
/// `--fix` could still do: `[*] 2 fixable with the --fix option.` or `No fixes available (2
/// hidden fixes can be enabled with the --unsafe-fixes option).`
fn write_summary(
    out: &mut impl Write,
    remaining: Counts,
    checked: usize,
    summary: FixSummary,
    fixables: Fixables,
) -> io::Result<()> {
    let found = summary.fixed + remaining.total();
    match (summary.fixed, remaining.total()) {
        (0, 0) if summary.errors == 0 && summary.over_limit == 0 => writeln!(out, "All checks passed!")?,
        (0, 0) if checked == 0 => writeln!(out, "No file was checked.")?,
        (0, 0) if summary.errors == 0 => {
            let files = if checked == 1 { "1 file that was" } else { &format!("{checked} files that were") };
            writeln!(out, "No findings in the {files} checked.")?;
        }
        (0, 0) => writeln!(out, "No findings in the {} that could be checked.", plural(checked, "file", "files"))?,
        (0, _) if remaining.0.iter().filter(|count| **count > 0).count() == 1 => {
            writeln!(out, "Found {}.", remaining.breakdown())?;
        }
        (0, total) => writeln!(out, "Found {}: {}.", plural(total, "finding", "findings"), remaining.breakdown())?,
        (fixed, 0) => writeln!(out, "Found {} ({fixed} fixed, 0 remaining).", plural(found, "finding", "findings"))?,
        (fixed, total) => writeln!(
            out,
            "Found {} ({fixed} fixed, {total} remaining: {}).",
            plural(found, "finding", "findings"),
            remaining.breakdown()
        )?,
    }
    write_incomplete(out, summary)?;
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

/// What the closing lines say of the files that were not checked, if any were not.
fn write_incomplete(out: &mut impl Write, summary: FixSummary) -> io::Result<()> {
    match summary.over_limit {
        0 => {}
        1 => writeln!(out, "1 file was not checked (larger than max-file-size).")?,
        many => writeln!(out, "{many} files were not checked (larger than max-file-size).")?,
    }
    if summary.errors > 0 {
        writeln!(out, "Checking was incomplete: {} above.", plural(summary.errors, "error", "errors"))?;
    }
    Ok(())
}

/// The count `--diff` ends with: `Would fix 3 findings.`, and the unsafe fixes it left out.
pub fn write_diff_summary(out: &mut impl Write, files: &[CheckedFile], summary: FixSummary) -> io::Result<()> {
    let fixables = Fixables::of(files);
    // Unsafe fixes still among the remaining findings were left out for want of --unsafe-fixes.
    let hidden = if summary.unsafe_fixes { 0 } else { fixables.unsafe_ };
    let more = plural(hidden, "fix", "fixes");
    write_incomplete(out, summary)?;
    match (summary.fixed, hidden) {
        (0, 0) => writeln!(out, "No findings would be fixed."),
        (0, _) => writeln!(out, "No findings would be fixed ({more} available with --unsafe-fixes)."),
        (fixed, 0) => writeln!(out, "Would fix {}.", plural(fixed, "finding", "findings")),
        (fixed, _) => {
            let additional = plural(hidden, "additional fix", "additional fixes");
            writeln!(
                out,
                "Would fix {} ({additional} available with --unsafe-fixes).",
                plural(fixed, "finding", "findings")
            )
        }
    }
}

/// ruff's `full` layout: the message, an arrow to the location, and the source lines with
/// carets under the reported range.
/// In a notebook the frame shows the lines of the finding's cell, numbered as in the cell.
fn write_frame(
    out: &mut impl Write,
    palette: Palette,
    file: &CheckedFile,
    lines: &LineStarts<'_>,
    diagnostic: &Diagnostic,
) -> io::Result<()> {
    let start = location(lines, diagnostic.range.start);
    let end = location(lines, diagnostic.range.end);
    // Rows of the file that the frame may show, and what the first of them is numbered.
    let (cell, shown) = match file.cell_at(diagnostic.range.start) {
        Some(cell) => {
            let next = file.notebook.as_ref().and_then(|notebook| {
                notebook.notebook.separators().into_iter().find(|separator| *separator >= diagnostic.range.start)
            });
            // A cell that ends with a line break ends on the row before its end's.
            let end = next.unwrap_or(file.source.len());
            let row = location(lines, end).row;
            let last = if file.source.as_bytes().get(end.wrapping_sub(1)) == Some(&b'\n') { row - 1 } else { row };
            (Some(cell.number), (location(lines, cell.offset).row, last))
        }
        None => (None, (1, lines.len_lines())),
    };
    let number = |row: usize| row + 1 - shown.0;
    writeln!(out, "{}: {}", palette.heading(diagnostic), palette.bold(&diagnostic.message))?;
    let first = start.row.saturating_sub(2).max(shown.0);
    let last = (start.row + 1).min(shown.1).max(start.row);
    let gutter = number(last).to_string().len();
    let bar = palette.frame("|");
    writeln!(
        out,
        "{:gutter$}{} {}:{}:{}",
        "",
        palette.frame("-->"),
        formats::path_in_cell(&file.path, cell),
        number(start.row),
        start.column
    )?;
    writeln!(out, "{:gutter$} {bar}", "")?;
    for row in first..=last {
        let Some(line) = lines.line(row - 1) else { break };
        let text: String = line.chars().filter(|c| *c != '\n' && *c != '\r').collect();
        let shown_row = number(row);
        writeln!(out, "{} {bar} {text}", palette.frame(format_args!("{shown_row:>gutter$}")))?;
        if row == start.row {
            let line_chars = text.chars().count();
            let caret_end = if end.row == start.row { end.column } else { line_chars + 1 };
            let width = caret_end.saturating_sub(start.column).max(1);
            let indent: String =
                text.chars().take(start.column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            let carets = palette.paint(Palette::severity(diagnostic.severity), "^".repeat(width));
            writeln!(out, "{:gutter$} {bar} {indent}{carets}", "")?;
        }
    }
    writeln!(out, "{:gutter$} {bar}", "")?;
    if let Some(fix) = &diagnostic.fix {
        let help = palette.paint(Style::new().bold().fg_color(Some(AnsiColor::Cyan.into())), "help");
        writeln!(out, "{:gutter$} = {help}: {} ({} fix)", "", fix.title(), fix.applicability().as_str())?;
    }
    writeln!(out)
}

fn write_json(out: &mut impl Write, files: &[CheckedFile]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &json_messages(files)).map_err(io::Error::other)?;
    writeln!(out)
}

/// The `json` format's objects, one per finding (`json-lines` writes the same).
fn json_messages(files: &[CheckedFile]) -> Vec<serde_json::Value> {
    let mut messages = Vec::new();
    for file in files.iter().filter(|file| !file.diagnostics.is_empty()) {
        let lines = LineStarts::new(&file.source);
        let filename = std::path::absolute(&file.path).unwrap_or_else(|_| file.path.clone());
        for diagnostic in &file.diagnostics {
            let (cell, start) = place(file, &lines, diagnostic.range.start);
            let (end_cell, end) = place(file, &lines, diagnostic.range.end);
            let end = if end_cell == cell { end } else { start };
            let fix = diagnostic.fix.as_ref().map(|fix| {
                let edits: Vec<_> = fix
                    .edits()
                    .iter()
                    .map(|edit| {
                        let (_, from) = place(file, &lines, edit.range.start);
                        let (_, to) = place(file, &lines, edit.range.end);
                        json!({
                            "content": edit.content,
                            "location": {"row": from.row, "column": from.column},
                            "end_location": {"row": to.row, "column": to.column},
                        })
                    })
                    .collect();
                json!({"applicability": fix.applicability().as_str(), "message": fix.title(), "edits": edits})
            });
            let mut message = json!({
                // ruff's field: the notebook cell the rows are rows of, null in other files.
                "cell": cell,
                "code": diagnostic.rule.code(),
                "name": diagnostic.rule.name(),
                "message": diagnostic.message,
                "severity": diagnostic.severity.as_str(),
                "filename": filename.to_string_lossy(),
                "location": {"row": start.row, "column": start.column},
                "end_location": {"row": end.row, "column": end.column},
                "fix": fix,
                // A syntax error cannot be silenced, as in ruff's schema.
                "noqa_row": (!diagnostic.rule.is_pseudo()).then_some(start.row),
                "url": diagnostic.rule.url(),
            });
            // JSON strings are Unicode: a name that is not UTF-8 is `filename` lossily (ruff's
            // field, as ruff writes it) and its bytes besides, so that no two files read alike.
            if filename.to_str().is_none() {
                message["filename_bytes"] = json!(filename.as_os_str().as_encoded_bytes());
            }
            messages.push(message);
        }
    }
    messages
}

/// `--statistics`: one row per rule, the most frequent first, with ruff's fixable marker (`[*]`
/// every finding has a fix `--fix` would apply, `[~]` some have, `[ ]` none has).
pub fn write_statistics(
    out: &mut impl Write,
    files: &[CheckedFile],
    format: OutputFormat,
    summary: FixSummary,
) -> io::Result<()> {
    // count, fixable count
    let mut counts: BTreeMap<Rule, (usize, usize)> = BTreeMap::new();
    let level = if summary.unsafe_fixes { Applicability::Unsafe } else { Applicability::Safe };
    for diagnostic in files.iter().flat_map(|file| &file.diagnostics) {
        let entry = counts.entry(diagnostic.rule).or_default();
        entry.0 += 1;
        if diagnostic.fix.as_ref().is_some_and(|fix| fix.applies(level)) {
            entry.1 += 1;
        }
    }
    let mut rows: Vec<(Rule, (usize, usize))> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    if format == OutputFormat::Json {
        let rows: Vec<_> = rows
            .iter()
            .map(|(rule, (count, fixable))| {
                json!({
                    "code": rule.code(),
                    "name": rule.name(),
                    "count": count,
                    "fixable": *fixable > 0,
                    "fixable_count": fixable,
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows).map_err(io::Error::other)?;
        return writeln!(out);
    }
    let width = rows.iter().map(|(_, (count, _))| count.to_string().len()).max().unwrap_or(1);
    for (rule, (count, fixable)) in &rows {
        let marker = match *fixable {
            0 => "[ ]",
            all if all == *count => "[*]",
            _ => "[~]",
        };
        writeln!(out, "{count:>width$}\t{}\t{marker} {}", rule.code(), rule.name())?;
    }
    let counts = Counts::of(files.iter().flat_map(|file| &file.diagnostics));
    write_summary(out, counts, files.len(), summary, Fixables::of(files))
}
