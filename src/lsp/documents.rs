//! The open documents, keyed by URI, and the translation of LSP content changes into byte edits.
//!
//! Every method takes the map's guard and drops it before returning: callers run in async
//! handlers, and a guard held across an `.await` would block other handlers on the same shard
//! (or deadlock a handler that comes back to the same entry).

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use ropey::Rope;
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};
use tree_sitter::Tree;

use crate::analysis::document::Document;
use crate::analysis::incremental::Incremental;
use crate::analysis::{Applicability, Diagnostic, TextRange};
use crate::position::{self, PositionEncoding};
use crate::rules::Rule;

use super::convert;

/// What an analysis needs from a document, detached from the map.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub rope: Rope,
    /// The same text, whole ([`Document::text`]).
    pub text: Arc<String>,
    /// The text the engine reads, of which `tree` is the tree ([`Document::analysis_text`]).
    pub analysis_text: Arc<String>,
    pub tree: Tree,
    pub version: i32,
    pub revision: u64,
    /// The findings of this very text, when an analysis of it has finished.
    pub findings: Option<Arc<[Finding]>>,
    /// The document's findings by unit, for analysing only what an edit changed. It is a
    /// cache checked against each text, so an analysis of an older text may update it too.
    pub incremental: Arc<Mutex<Incremental>>,
}

/// What the server remembers of a finding after publishing it: enough for a hover and for
/// knowing whether fix-all has anything to do, without linting again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub range: TextRange,
    /// Its main fix is safe, so fix-all applies it.
    pub safe_fix: bool,
}

impl Finding {
    pub fn of(diagnostic: &Diagnostic) -> Self {
        Self {
            rule: diagnostic.rule,
            range: diagnostic.range,
            safe_fix: diagnostic.fix.as_ref().is_some_and(|fix| fix.applies(Applicability::Safe)),
        }
    }
}

/// Something odd about a change that the server survived and should log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeProblem {
    UnknownDocument,
    /// The change at this index had a range outside the text; it was clamped.
    ClampedRange {
        change: usize,
    },
}

/// The byte range of `text` a ranged change replaces, and whether its range had to be clamped
/// into the text (it was outside, or ended before it started); `None` for a whole-text change.
pub fn change_offsets(
    text: ropey::RopeSlice<'_>,
    change: &TextDocumentContentChangeEvent,
    encoding: PositionEncoding,
) -> Option<(usize, usize, bool)> {
    let range = change.range?;
    let start = position::position_to_offset(text, convert::line_column(range.start), encoding);
    let end = position::position_to_offset(text, convert::line_column(range.end), encoding);
    let clamped = start.clamped || end.clamped || end.value < start.value;
    Some((start.value, end.value.max(start.value), clamped))
}

/// Applies LSP content changes to a plain rope (a notebook cell's text), in order; returns the
/// indexes of the changes whose range was clamped.
pub fn apply_changes(
    rope: &mut Rope,
    changes: &[TextDocumentContentChangeEvent],
    encoding: PositionEncoding,
) -> Vec<usize> {
    let mut clamped_changes = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        let Some((start, end, clamped)) = change_offsets(rope.slice(..), change, encoding) else {
            *rope = Rope::from_str(&change.text);
            continue;
        };
        if clamped {
            clamped_changes.push(index);
        }
        // Offsets from `position_to_offset` are character boundaries within the rope.
        let (start, end) = (rope.byte_to_char(start), rope.byte_to_char(end));
        rope.remove(start..end);
        rope.insert(start, &change.text);
    }
    clamped_changes
}

/// A document and the server's own count of its changes.
///
/// The client's version cannot tell two texts apart when a client repeats or reuses version
/// numbers; the revision, unique across the server's life, always can.
#[derive(Debug)]
struct OpenDocument {
    document: Document,
    revision: u64,
    /// The findings of the last analysis and the revision it analysed.
    findings: Option<(u64, Arc<[Finding]>)>,
    incremental: Arc<Mutex<Incremental>>,
    /// The modules its last analysis asked the workspace about: it is linted again when one of
    /// them changes, and only then.
    modules_asked: Arc<HashSet<String>>,
}

#[derive(Debug, Default)]
pub struct Documents {
    open: DashMap<Uri, OpenDocument>,
    revisions: AtomicU64,
}

impl Documents {
    pub fn open(&self, uri: Uri, text: &str, version: i32) {
        let revision = self.next_revision();
        self.open.insert(
            uri,
            OpenDocument {
                document: Document::new(text, version),
                revision,
                findings: None,
                incremental: Arc::default(),
                modules_asked: Arc::default(),
            },
        );
    }

    fn next_revision(&self) -> u64 {
        self.revisions.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn close(&self, uri: &Uri) -> bool {
        self.open.remove(uri).is_some()
    }

    /// Applies `changes` in order (each range refers to the text left by the previous one, as
    /// the LSP specifies), reparses once, and records `version`.
    pub fn change(
        &self,
        uri: &Uri,
        version: i32,
        changes: &[TextDocumentContentChangeEvent],
        encoding: PositionEncoding,
    ) -> Vec<ChangeProblem> {
        let Some(mut entry) = self.open.get_mut(uri) else {
            return vec![ChangeProblem::UnknownDocument];
        };
        entry.revision = self.next_revision();
        let document = &mut entry.document;
        let mut problems = Vec::new();
        for (index, change) in changes.iter().enumerate() {
            let Some((start, end, clamped)) = change_offsets(document.rope().slice(..), change, encoding) else {
                document.replace_all(&change.text);
                continue;
            };
            if clamped {
                problems.push(ChangeProblem::ClampedRange { change: index });
            }
            document.apply_edit(start, end, &change.text);
        }
        document.reparse();
        document.set_version(version);
        problems
    }

    pub fn snapshot(&self, uri: &Uri) -> Option<Snapshot> {
        let entry = self.open.get(uri)?;
        Some(Snapshot {
            rope: entry.document.rope().clone(),
            text: Arc::clone(entry.document.text()),
            analysis_text: Arc::clone(entry.document.analysis_text()),
            tree: entry.document.tree().clone(),
            version: entry.document.version(),
            revision: entry.revision,
            findings: entry
                .findings
                .as_ref()
                .filter(|(revision, _)| *revision == entry.revision)
                .map(|(_, findings)| Arc::clone(findings)),
            incremental: Arc::clone(&entry.incremental),
        })
    }

    /// Remembers the findings of an analysis of `revision`, unless the text changed since.
    pub fn set_findings(&self, uri: &Uri, revision: u64, findings: Arc<[Finding]>) {
        if let Some(mut entry) = self.open.get_mut(uri)
            && entry.revision == revision
        {
            entry.findings = Some((revision, findings));
        }
    }

    /// Remembers the modules the document's last analysis asked the workspace about.
    pub fn set_modules_asked(&self, uri: &Uri, asked: &HashSet<String>) {
        if let Some(mut entry) = self.open.get_mut(uri)
            && *entry.modules_asked != *asked
        {
            entry.modules_asked = Arc::new(asked.clone());
        }
    }

    /// The open documents whose last analysis asked about one of `modules`.
    pub fn asking_about(&self, modules: &HashSet<String>) -> Vec<Uri> {
        self.open
            .iter()
            .filter(|entry| modules.iter().any(|module| entry.modules_asked.contains(module)))
            .map(|entry| entry.key().clone())
            .collect()
    }

    pub fn revision(&self, uri: &Uri) -> Option<u64> {
        self.open.get(uri).map(|entry| entry.revision)
    }

    pub fn version(&self, uri: &Uri) -> Option<i32> {
        self.open.get(uri).map(|entry| entry.document.version())
    }

    pub fn text(&self, uri: &Uri) -> Option<Arc<String>> {
        self.open.get(uri).map(|entry| Arc::clone(entry.document.text()))
    }

    pub fn uris(&self) -> Vec<Uri> {
        self.open.iter().map(|entry| entry.key().clone()).collect()
    }
}
