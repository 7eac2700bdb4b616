//! The report formats of `loopwise check` that other tools read, named as ruff names them:
//! `github` (workflow commands), `gitlab` (Code Quality), `sarif` (2.1.0), `junit`, `pylint`,
//! `json-lines` and `grouped`, one module each; and `--output-file`.
//!
//! Owns what these formats share: each finding's 1-based row and character column (the same
//! conversion as the `json` format; in a notebook, the row within the finding's cell, and the
//! cell), the project root that `sarif` and `gitlab` write paths
//! relative to, those paths, and the fingerprints that follow a finding across runs. Knows
//! nothing of how findings are made; `cli::output` chooses the format.

pub mod github;
pub mod gitlab;
pub mod grouped;
pub mod json_lines;
pub mod junit;
pub mod pylint;
pub mod sarif;

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use xxhash_rust::xxh3::Xxh3;

use crate::analysis::{Diagnostic, Severity};
use crate::cli::CheckedFile;
use crate::position::{LineStarts, PositionEncoding};

/// A 1-based row and character column, as `cli::output`'s `location` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub row: usize,
    pub column: usize,
}

pub fn location(lines: &LineStarts<'_>, offset: usize) -> Location {
    let position = lines.position(offset, PositionEncoding::Utf32).value;
    Location { row: position.line + 1, column: position.column + 1 }
}

/// Where `offset` of `file` (whose lines are `lines`) is for a reader: in a notebook, the number
/// of the cell that holds it (as ruff numbers cells) and the row within that cell; in any other
/// file, no cell and the row of the file.
pub fn place(file: &CheckedFile, lines: &LineStarts<'_>, offset: usize) -> (Option<usize>, Location) {
    let at = location(lines, offset);
    let Some(cell) = file.cell_at(offset) else { return (None, at) };
    // A cell starts at a line start, so its first row is row 1 and columns are unchanged.
    let first = location(lines, cell.offset).row;
    (Some(cell.number), Location { row: at.row + 1 - first.min(at.row), column: at.column })
}

/// `path`, or `path:cell N` for a finding in a notebook's cell N, as ruff writes locations.
pub fn path_in_cell(path: &Path, cell: Option<usize>) -> String {
    match cell {
        Some(number) => format!("{}:cell {number}", crate::files::shown(path)),
        None => crate::files::shown(path).into_owned(),
    }
}

/// One finding with what every format prints of it.
pub struct Finding<'a> {
    pub file: &'a CheckedFile,
    pub diagnostic: &'a Diagnostic,
    pub start: Location,
    pub end: Location,
    /// The notebook cell `start` and `end` are rows of (a finding ending in a later cell is
    /// cut at the end of its first: no range spans two cells in the file).
    pub cell: Option<usize>,
    /// The text of the finding's first line, without its line break.
    pub line_text: String,
    /// The file's text, to locate the finding's fix.
    pub lines: Rc<LineStarts<'a>>,
}

/// The findings of every file, in the order they are reported.
pub struct Findings<'a> {
    pub findings: Vec<Finding<'a>>,
}

impl<'a> Findings<'a> {
    pub fn of(files: &'a [CheckedFile]) -> Self {
        let mut findings = Vec::new();
        for file in files.iter().filter(|file| !file.diagnostics.is_empty()) {
            let lines = Rc::new(LineStarts::new(&file.source));
            for diagnostic in &file.diagnostics {
                let (cell, start) = place(file, &lines, diagnostic.range.start);
                let (end_cell, mut end) = place(file, &lines, diagnostic.range.end);
                if end_cell != cell {
                    end = start;
                }
                let line_text = lines
                    .line(location(&lines, diagnostic.range.start).row - 1)
                    .map(|line| line.chars().filter(|c| *c != '\n' && *c != '\r').collect())
                    .unwrap_or_default();
                findings.push(Finding { file, diagnostic, start, end, cell, line_text, lines: Rc::clone(&lines) });
            }
        }
        Self { findings }
    }

    /// One fingerprint per finding, in order: a hash of the rule, the path from the project
    /// root and the trimmed text of the finding's line, so that a finding keeps its fingerprint
    /// when lines above it are added or removed, and of how many identical findings came
    /// before it, so that no two findings of a run share one.
    pub fn fingerprints(&self, root: &Path) -> Vec<String> {
        let mut seen: HashMap<u64, usize> = HashMap::new();
        self.findings
            .iter()
            .map(|finding| {
                let mut hasher = Xxh3::new();
                for part in
                    [finding.diagnostic.rule.code(), &relative_path(&finding.file.path, root), finding.line_text.trim()]
                {
                    hasher.update(part.as_bytes());
                    hasher.update(&[0]);
                }
                let key = hasher.digest();
                let occurrence = seen.entry(key).or_default();
                hasher.update(occurrence.to_string().as_bytes());
                *occurrence += 1;
                format!("{:016x}", hasher.digest())
            })
            .collect()
    }
}

/// The absolute form of a reported path, as the `json` format's `filename` writes it.
pub fn absolute(path: &Path) -> PathBuf {
    let joined = match crate::config::current_folder() {
        Some(current) if path.is_relative() => current.join(path),
        _ => path.to_path_buf(),
    };
    std::path::absolute(&joined).unwrap_or(joined)
}

/// The absolute form of `path` with `.` and `..` resolved by their names (no link is
/// followed), so that `../project/app.py` is found below the project root.
pub fn normalized(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in absolute(path).components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

/// The root that `sarif` and `gitlab` paths are relative to: the nearest folder at or above
/// the current one holding `.git` (a folder, or a file in a worktree), since code scanning and
/// Code Quality resolve paths from the repository's root; else the current folder.
pub fn project_root() -> PathBuf {
    let current = normalized(Path::new("."));
    current.ancestors().find(|folder| folder.join(".git").exists()).map_or_else(|| current.clone(), Path::to_path_buf)
}

/// `path` below `root` with `/` between its parts, or `None` when it is not below `root`.
pub fn path_below(path: &Path, root: &Path) -> Option<String> {
    path_below_bytes(path, root).map(lossy)
}

/// [`path_below`] in the name's own bytes.
fn path_below_bytes(path: &Path, root: &Path) -> Option<Vec<u8>> {
    let absolute = normalized(path);
    let rest = absolute.strip_prefix(root).ok()?;
    let parts: Vec<&[u8]> = rest
        .components()
        .map(|component| match component {
            Component::Normal(part) => Some(part.as_encoded_bytes()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    (!parts.is_empty()).then(|| parts.join(&b'/'))
}

/// `path` relative to `root`, or its absolute form (with `/` between parts) outside it.
pub fn relative_path(path: &Path, root: &Path) -> String {
    lossy(relative_path_bytes(path, root))
}

/// [`relative_path`] in the name's own bytes: for a name that is not UTF-8, which a JSON
/// string can only hold lossily.
pub fn relative_path_bytes(path: &Path, root: &Path) -> Vec<u8> {
    path_below_bytes(path, root).unwrap_or_else(|| {
        let normalized = normalized(path);
        let parts: Vec<&[u8]> = normalized
            .components()
            .filter_map(|component| match component {
                Component::RootDir => Some(&b""[..]),
                Component::Prefix(prefix) => Some(prefix.as_os_str().as_encoded_bytes()),
                Component::Normal(part) => Some(part.as_encoded_bytes()),
                Component::CurDir | Component::ParentDir => None,
            })
            .collect();
        parts.join(&b'/')
    })
}

/// Bytes as text, each sequence that is not UTF-8 shown as U+FFFD (`/` is never part of one,
/// so this is the parts' `to_string_lossy` joined).
fn lossy(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// The three levels most CI formats know: errors, warnings, and everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
    Note,
}

impl Level {
    pub fn of(severity: Severity) -> Self {
        match severity {
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
            Severity::Info | Severity::Hint => Level::Note,
        }
    }
}

/// `--output-file`: runs `write` on `file` (making its folders), and names the file in any
/// error, since "permission denied" alone does not say what could not be written.
pub fn write_to_file(file: &Path, write: impl FnOnce(&mut fs::File) -> io::Result<()>) -> io::Result<()> {
    let named = |error: io::Error| io::Error::other(format!("{}: {error}", file.display()));
    if let Some(parent) = file.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(named)?;
    }
    let mut out = fs::File::create(file).map_err(named)?;
    write(&mut out).and_then(|()| out.flush()).map_err(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_below_the_root_are_relative_with_slashes() {
        let root = Path::new("/project");
        assert_eq!(path_below(Path::new("/project/src/app.py"), root).as_deref(), Some("src/app.py"));
        assert_eq!(path_below(Path::new("/elsewhere/app.py"), root), None);
        assert_eq!(relative_path(Path::new("/elsewhere/app.py"), root), "/elsewhere/app.py");
    }
}
