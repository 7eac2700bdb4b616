//! The open notebooks (`notebookDocument/*`): each notebook's cells in order, the text of each
//! cell document, and the analysis of a notebook as one module whose findings are handed out
//! per cell, in cell-relative LSP ranges.
//!
//! The joined source and its blanked magics are [`crate::notebook`]'s; this module only keeps
//! the cells in step with the client and moves ranges between the joined source and the cells.
//! Like [`super::documents`], every method drops the map's guard before returning.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use ropey::Rope;
use tower_lsp_server::ls_types::{
    self, NotebookCell, NotebookCellKind, NotebookDocumentCellChange, TextDocumentItem, TextEdit, Uri,
};

use crate::analysis::noqa::SuppressionLine;
use crate::analysis::{Diagnostic, Edit, Fix, TextRange};
use crate::notebook::Notebook;
use crate::position::PositionEncoding;

use super::convert::{self, CellEdits, DiagnosticData, FixData, NoqaData};
use super::documents::{self, Finding};

/// The findings of one analysis of a notebook, per cell document, in cell-relative ranges.
pub type CellFindings = Arc<HashMap<Uri, Arc<[Finding]>>>;

/// The language of the cells loopwise analyses.
const PYTHON: &str = "python";

/// A cell of a notebook: its document and whether it is code.
#[derive(Debug, Clone)]
struct Cell {
    uri: Uri,
    code: bool,
}

/// The text document of a cell, as `didOpen` and the text changes left it.
#[derive(Debug, Clone)]
struct CellText {
    language: String,
    rope: Rope,
    version: i32,
}

#[derive(Debug)]
struct OpenNotebook {
    /// The server's count of the notebook's changes (any cell's text, or its structure).
    revision: u64,
    cells: Vec<Cell>,
    texts: HashMap<Uri, CellText>,
    /// The findings of the last analysis, per cell, and the revision it analysed.
    findings: Option<(u64, CellFindings)>,
    /// The modules its last analysis asked the workspace about (see [`super::documents`]).
    modules_asked: Arc<HashSet<String>>,
}

/// A notebook detached from the map, for one analysis.
#[derive(Debug, Clone)]
pub struct NotebookSnapshot {
    pub revision: u64,
    /// Every cell in order: its document, its version, its text, and whether it is analysed.
    pub cells: Vec<CellSnapshot>,
    pub findings: Option<CellFindings>,
}

#[derive(Debug, Clone)]
pub struct CellSnapshot {
    pub uri: Uri,
    pub version: i32,
    pub rope: Rope,
    /// A code cell in Python: part of the module.
    pub analysed: bool,
}

/// What one analysis of a notebook reports for one cell.
#[derive(Debug, Clone)]
pub struct CellReport {
    pub uri: Uri,
    pub version: i32,
    pub diagnostics: Vec<ls_types::Diagnostic>,
    pub findings: Arc<[Finding]>,
}

/// What a notebook change did that the server should act on or log.
#[derive(Debug, Default)]
pub struct NotebookChange {
    /// The cell documents that left the notebook: their diagnostics must be cleared.
    pub removed: Vec<Uri>,
    /// Text changes to cells the notebook does not hold.
    pub unknown_cells: Vec<Uri>,
    /// Cells whose change had a range outside the text (clamped).
    pub clamped: Vec<Uri>,
}

#[derive(Debug, Default)]
pub struct Notebooks {
    open: DashMap<Uri, OpenNotebook>,
    /// The notebook each open cell document belongs to.
    cell_owners: DashMap<Uri, Uri>,
    revisions: AtomicU64,
}

fn cell_of(cell: &NotebookCell) -> Cell {
    Cell { uri: cell.document.clone(), code: cell.kind == NotebookCellKind::CODE }
}

fn text_of(item: &TextDocumentItem) -> CellText {
    CellText { language: item.language_id.clone(), rope: Rope::from_str(&item.text), version: item.version }
}

impl Notebooks {
    fn next_revision(&self) -> u64 {
        self.revisions.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn open(&self, uri: Uri, cells: &[NotebookCell], texts: &[TextDocumentItem]) {
        let cells: Vec<Cell> = cells.iter().map(cell_of).collect();
        for cell in &cells {
            self.cell_owners.insert(cell.uri.clone(), uri.clone());
        }
        let texts = texts.iter().map(|item| (item.uri.clone(), text_of(item))).collect();
        let revision = self.next_revision();
        self.open.insert(uri, OpenNotebook { revision, cells, texts, findings: None, modules_asked: Arc::default() });
    }

    /// Forgets the notebook; returns its cell documents, whose diagnostics must be cleared.
    pub fn close(&self, uri: &Uri) -> Option<Vec<Uri>> {
        let (_, notebook) = self.open.remove(uri)?;
        let mut cells: Vec<Uri> = notebook.cells.into_iter().map(|cell| cell.uri).collect();
        for uri in notebook.texts.into_keys() {
            if !cells.contains(&uri) {
                cells.push(uri);
            }
        }
        for cell in &cells {
            self.cell_owners.remove(cell);
        }
        Some(cells)
    }

    /// Applies a `notebookDocument/didChange`: the structure first (cells added, removed or
    /// moved, their documents opened and closed), then cell kinds, then text changes. `None`
    /// when the notebook is not open.
    pub fn change(
        &self,
        uri: &Uri,
        change: Option<&NotebookDocumentCellChange>,
        encoding: PositionEncoding,
    ) -> Option<NotebookChange> {
        let mut entry = self.open.get_mut(uri)?;
        entry.revision = self.next_revision();
        let mut report = NotebookChange::default();
        let Some(change) = change else { return Some(report) };
        let notebook = &mut *entry;
        if let Some(structure) = &change.structure {
            let array = &structure.array;
            let start = usize::try_from(array.start).unwrap_or(usize::MAX).min(notebook.cells.len());
            let end = start.saturating_add(usize::try_from(array.delete_count).unwrap_or(usize::MAX));
            let end = end.min(notebook.cells.len());
            let added: Vec<Cell> = array.cells.iter().flatten().map(cell_of).collect();
            for cell in &added {
                self.cell_owners.insert(cell.uri.clone(), uri.clone());
            }
            let removed: Vec<Cell> = notebook.cells.splice(start..end, added).collect();
            for cell in removed {
                // A moved cell is removed and added again in the same change.
                if !notebook.cells.iter().any(|kept| kept.uri == cell.uri) {
                    report.removed.push(cell.uri);
                }
            }
            for item in structure.did_open.iter().flatten() {
                notebook.texts.insert(item.uri.clone(), text_of(item));
            }
            for closed in structure.did_close.iter().flatten() {
                notebook.texts.remove(&closed.uri);
                if !notebook.cells.iter().any(|cell| cell.uri == closed.uri) && !report.removed.contains(&closed.uri) {
                    report.removed.push(closed.uri.clone());
                }
            }
            for removed in &report.removed {
                self.cell_owners.remove(removed);
            }
        }
        for data in change.data.iter().flatten() {
            if let Some(cell) = notebook.cells.iter_mut().find(|cell| cell.uri == data.document) {
                cell.code = data.kind == NotebookCellKind::CODE;
            }
        }
        for content in change.text_content.iter().flatten() {
            let Some(text) = notebook.texts.get_mut(&content.document.uri) else {
                report.unknown_cells.push(content.document.uri.clone());
                continue;
            };
            if !documents::apply_changes(&mut text.rope, &content.changes, encoding).is_empty() {
                report.clamped.push(content.document.uri.clone());
            }
            text.version = content.document.version;
        }
        Some(report)
    }

    /// The notebook that holds the cell document `cell`.
    pub fn owner(&self, cell: &Uri) -> Option<Uri> {
        self.cell_owners.get(cell).map(|owner| owner.clone())
    }

    pub fn snapshot(&self, uri: &Uri) -> Option<NotebookSnapshot> {
        let entry = self.open.get(uri)?;
        let cells = entry
            .cells
            .iter()
            .map(|cell| {
                let text = entry.texts.get(&cell.uri);
                CellSnapshot {
                    uri: cell.uri.clone(),
                    version: text.map_or(0, |text| text.version),
                    rope: text.map(|text| text.rope.clone()).unwrap_or_default(),
                    analysed: cell.code && text.is_some_and(|text| text.language == PYTHON),
                }
            })
            .collect();
        let findings = entry
            .findings
            .as_ref()
            .filter(|(revision, _)| *revision == entry.revision)
            .map(|(_, findings)| Arc::clone(findings));
        Some(NotebookSnapshot { revision: entry.revision, cells, findings })
    }

    pub fn revision(&self, uri: &Uri) -> Option<u64> {
        self.open.get(uri).map(|entry| entry.revision)
    }

    /// The version of an open cell document.
    pub fn cell_version(&self, cell: &Uri) -> Option<i32> {
        let owner = self.owner(cell)?;
        let entry = self.open.get(&owner)?;
        entry.texts.get(cell).map(|text| text.version)
    }

    /// Remembers the findings of an analysis of `revision`, unless the notebook changed since.
    pub fn set_findings(&self, uri: &Uri, revision: u64, findings: CellFindings) {
        if let Some(mut entry) = self.open.get_mut(uri)
            && entry.revision == revision
        {
            entry.findings = Some((revision, findings));
        }
    }

    /// Remembers the modules the notebook's last analysis asked the workspace about.
    pub fn set_modules_asked(&self, uri: &Uri, asked: HashSet<String>) {
        if let Some(mut entry) = self.open.get_mut(uri)
            && *entry.modules_asked != asked
        {
            entry.modules_asked = Arc::new(asked);
        }
    }

    /// The open notebooks whose last analysis asked about one of `modules`.
    pub fn asking_about(&self, modules: &HashSet<String>) -> Vec<Uri> {
        self.open
            .iter()
            .filter(|entry| modules.iter().any(|module| entry.modules_asked.contains(module)))
            .map(|entry| entry.key().clone())
            .collect()
    }

    pub fn uris(&self) -> Vec<Uri> {
        self.open.iter().map(|entry| entry.key().clone()).collect()
    }
}

/// The analysed cells of `snapshot` as one module: the joined source, and for each code cell
/// (by its index among them) its index in `snapshot.cells`.
pub fn joined(snapshot: &NotebookSnapshot) -> (Notebook, Vec<usize>) {
    let analysed: Vec<usize> = (0..snapshot.cells.len()).filter(|&index| snapshot.cells[index].analysed).collect();
    let texts: Vec<String> = analysed.iter().map(|&index| snapshot.cells[index].rope.to_string()).collect();
    (Notebook::from_cells(texts.iter().map(String::as_str)), analysed)
}

/// The joined-source findings `found` turned into each cell's LSP diagnostics. A finding's
/// fix whose edits cross a cell boundary or touch a magic is dropped, the finding kept.
pub fn cell_reports(
    snapshot: &NotebookSnapshot,
    notebook: &Notebook,
    analysed: &[usize],
    found: &[(Diagnostic, Option<(Edit, SuppressionLine)>)],
    encoding: PositionEncoding,
) -> Vec<CellReport> {
    let mut diagnostics: Vec<Vec<ls_types::Diagnostic>> = vec![Vec::new(); snapshot.cells.len()];
    let mut findings: Vec<Vec<Finding>> = vec![Vec::new(); snapshot.cells.len()];
    // Where each joined-source edit lands: the cell (in `snapshot.cells`) and its start.
    let locate = |start: usize, end: usize| {
        let (code_index, offset) = notebook.cell_of_range(start, end)?;
        Some((*analysed.get(code_index)?, offset))
    };
    for (diagnostic, suppression) in found {
        // A finding is one node: it cannot span two cells, which are never one statement.
        let Some((cell, offset)) = notebook
            .cell_holding(diagnostic.range.start, diagnostic.range.end)
            .and_then(|(code_index, offset)| Some((*analysed.get(code_index)?, offset)))
        else {
            continue;
        };
        let here = &snapshot.cells[cell];
        let text = here.rope.slice(..);
        let shift = |range: TextRange| TextRange::new(range.start - offset, range.end - offset);
        let fix_data = |fix: &Fix| -> Option<FixData> {
            let mut edits = Vec::new();
            let mut elsewhere: Vec<CellEdits> = Vec::new();
            for edit in fix.edits() {
                let (other, other_offset) = locate(edit.range.start, edit.range.end)?;
                let target = &snapshot.cells[other];
                let moved = Edit::replacement(
                    edit.content.clone(),
                    TextRange::new(edit.range.start - other_offset, edit.range.end - other_offset),
                );
                let converted: TextEdit = convert::text_edit(target.rope.slice(..), &moved, encoding);
                if other == cell {
                    edits.push(converted);
                } else if let Some(cell_edits) = elsewhere.iter_mut().find(|cell_edits| cell_edits.uri == target.uri) {
                    cell_edits.edits.push(converted);
                } else {
                    elsewhere.push(CellEdits {
                        uri: target.uri.clone(),
                        version: target.version,
                        edits: vec![converted],
                    });
                }
            }
            Some(FixData {
                title: fix.title().to_string(),
                applicability: fix.applicability().as_str().to_string(),
                edits,
                elsewhere,
            })
        };
        let noqa = suppression.as_ref().and_then(|(edit, line)| {
            let (other, other_offset) = locate(edit.range.start, edit.range.end)?;
            (other == cell).then(|| {
                let moved = Edit::replacement(
                    edit.content.clone(),
                    TextRange::new(edit.range.start - other_offset, edit.range.end - other_offset),
                );
                NoqaData {
                    title: match line {
                        SuppressionLine::Reported => format!("Disable {} for this line", diagnostic.rule.code()),
                        SuppressionLine::StatementStart => {
                            format!("Disable {} for this statement", diagnostic.rule.code())
                        }
                    },
                    edit: convert::text_edit(text, &moved, encoding),
                }
            })
        });
        let data = DiagnosticData {
            version: here.version,
            fix: diagnostic.fix.as_ref().and_then(fix_data),
            alternatives: diagnostic.alternatives.iter().filter_map(fix_data).collect(),
            noqa,
        };
        let local =
            Diagnostic { range: shift(diagnostic.range), fix: None, alternatives: Vec::new(), ..diagnostic.clone() };
        // A related place in the joined text may be in another cell: left out.
        let mut converted = convert::diagnostic(text, (None, here.version), &local, encoding, None);
        // Plain structs of strings and numbers always serialize.
        converted.data = serde_json::to_value(data).ok();
        diagnostics[cell].push(converted);
        findings[cell].push(Finding { range: local.range, ..Finding::of(diagnostic) });
    }
    snapshot
        .cells
        .iter()
        .zip(diagnostics.into_iter().zip(findings))
        .map(|(cell, (diagnostics, findings))| CellReport {
            uri: cell.uri.clone(),
            version: cell.version,
            diagnostics,
            findings: findings.into(),
        })
        .collect()
}

/// Which cells a fixed joined source changed, as one edit each in the cell's own text (magics
/// restored, through [`Notebook::write_back`]); `None` when the fixes do not fit the cells.
pub fn fixed_cells(
    snapshot: &NotebookSnapshot,
    notebook: &Notebook,
    analysed: &[usize],
    fixed: &str,
    separators: &[usize],
    encoding: PositionEncoding,
) -> Option<Vec<(Uri, i32, TextEdit)>> {
    let written = notebook.write_back(fixed, separators).ok()?;
    let mut edits = Vec::new();
    for changed in written.changed {
        // `from_cells` numbers the cells it was given from 1.
        let cell = &snapshot.cells[*analysed.get(changed.number.checked_sub(1)?)?];
        let edit = convert::replacement(cell.rope.slice(..), &changed.before, &changed.after, encoding);
        edits.push((cell.uri.clone(), cell.version, edit));
    }
    Some(edits)
}
