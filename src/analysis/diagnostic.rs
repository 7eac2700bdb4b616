//! What a rule reports: a byte range, a message, a severity and an optional fix.
//!
//! Ranges are byte offsets into the source text, the engine's only coordinate system;
//! turning them into rows and columns is the job of [`crate::position`].

use crate::rules::Rule;

/// A half-open byte range `[start, end)` into the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TextRange {
    pub start: usize,
    pub end: usize,
}

impl TextRange {
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    pub fn of(node: tree_sitter::Node<'_>) -> Self {
        Self::new(node.start_byte(), node.end_byte())
    }
}

/// How loudly a finding is shown; ordered from the most to the least severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
    Info,
    Hint,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
            Severity::Hint => "hint",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" | "information" => Some(Severity::Info),
            "hint" => Some(Severity::Hint),
            _ => None,
        }
    }
}

/// How sure a fix is; ordered so that `fix.applies(level)` is a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Applicability {
    /// Shown to the user, never applied in bulk.
    DisplayOnly,
    /// Probably what was meant, still valid code, but may change behaviour.
    Unsafe,
    /// Keeps the meaning, or is certainly what was meant.
    Safe,
}

impl Applicability {
    pub const fn as_str(self) -> &'static str {
        match self {
            Applicability::DisplayOnly => "display-only",
            Applicability::Unsafe => "unsafe",
            Applicability::Safe => "safe",
        }
    }
}

/// Replace `range` with `content` (an insertion when the range is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: TextRange,
    pub content: String,
}

impl Edit {
    pub fn replacement(content: impl Into<String>, range: TextRange) -> Self {
        Self { range, content: content.into() }
    }

    pub fn insertion(content: impl Into<String>, at: usize) -> Self {
        Self { range: TextRange::new(at, at), content: content.into() }
    }

    pub fn deletion(range: TextRange) -> Self {
        Self { range, content: String::new() }
    }
}

/// A non-empty, sorted set of edits with a title and an applicability.
///
/// The constructors name the intent and take at least one edit, so an empty fix cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    title: String,
    applicability: Applicability,
    edits: Vec<Edit>,
}

impl Fix {
    pub fn safe_edit(title: impl Into<String>, edit: Edit) -> Self {
        Self::new(title, Applicability::Safe, edit, Vec::new())
    }

    pub fn safe_edits(title: impl Into<String>, first: Edit, rest: Vec<Edit>) -> Self {
        Self::new(title, Applicability::Safe, first, rest)
    }

    pub fn unsafe_edit(title: impl Into<String>, edit: Edit) -> Self {
        Self::new(title, Applicability::Unsafe, edit, Vec::new())
    }

    pub fn unsafe_edits(title: impl Into<String>, first: Edit, rest: Vec<Edit>) -> Self {
        Self::new(title, Applicability::Unsafe, first, rest)
    }

    pub fn display_only_edit(title: impl Into<String>, edit: Edit) -> Self {
        Self::new(title, Applicability::DisplayOnly, edit, Vec::new())
    }

    fn new(title: impl Into<String>, applicability: Applicability, first: Edit, rest: Vec<Edit>) -> Self {
        let mut edits = rest;
        edits.push(first);
        edits.sort_by_key(|edit| (edit.range.start, edit.range.end));
        Self { title: title.into(), applicability, edits }
    }

    /// A fix rebuilt from the parts another fix gave (the CLI's cache stores fixes as data),
    /// in their order: `edits` must be sorted, as [`Fix::edits`] gives them. `None` when it is
    /// empty or unsorted.
    pub fn from_parts(title: String, applicability: Applicability, edits: Vec<Edit>) -> Option<Self> {
        let sorted = edits
            .windows(2)
            .all(|pair| (pair[0].range.start, pair[0].range.end) <= (pair[1].range.start, pair[1].range.end));
        (!edits.is_empty() && sorted).then_some(Self { title, applicability, edits })
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn applicability(&self) -> Applicability {
        self.applicability
    }

    pub fn edits(&self) -> &[Edit] {
        &self.edits
    }

    /// Rewrites what each edit writes, in place; where it writes stays, so the edits stay sorted
    /// and apart.
    pub fn rewrite_contents(&mut self, mut rewrite: impl FnMut(TextRange, &mut String)) {
        for edit in &mut self.edits {
            rewrite(edit.range, &mut edit.content);
        }
    }

    /// `source` with this fix's edits applied (they are sorted and do not overlap).
    pub fn apply_to(&self, source: &str) -> String {
        let mut text = source.to_string();
        for edit in self.edits.iter().rev() {
            text.replace_range(edit.range.start..edit.range.end, &edit.content);
        }
        text
    }

    /// Whether this fix may be applied when the user accepts fixes up to `level`.
    pub fn applies(&self, level: Applicability) -> bool {
        self.applicability >= level
    }

    /// Moves the edits that lie in `part` by `delta` bytes (the part moved in the text); the
    /// others stay where they are.
    pub(crate) fn move_part(&mut self, part: TextRange, delta: isize) {
        for edit in &mut self.edits {
            edit.range = edit.range.moved_in(part, delta);
        }
    }

    /// Writes every inserted line break as `line_ending`: rules write `\n`, and the checker
    /// turns it into the file's own line break in this one place.
    pub(crate) fn use_line_ending(&mut self, line_ending: &str) {
        if line_ending == "\n" {
            return;
        }
        for edit in &mut self.edits {
            edit.content = edit.content.replace("\r\n", "\n").replace('\n', line_ending);
        }
    }
}

impl TextRange {
    /// This range counted from `origin` (which it does not start before) instead of the text's start.
    pub(crate) fn relative_to(self, origin: usize) -> TextRange {
        TextRange::new(self.start - origin, self.end - origin)
    }

    /// A range counted from `origin` ([`TextRange::relative_to`]) counted from the text's start again.
    pub(crate) fn moved_by(self, origin: usize) -> TextRange {
        TextRange::new(self.start + origin, self.end + origin)
    }

    /// This range after the text of `part` moved by `delta` bytes: moved when it lies in `part`.
    pub(crate) fn moved_in(self, part: TextRange, delta: isize) -> TextRange {
        if part.start <= self.start && self.end <= part.end {
            TextRange::new(self.start.saturating_add_signed(delta), self.end.saturating_add_signed(delta))
        } else {
            self
        }
    }
}

impl Diagnostic {
    /// Every range this diagnostic names: where it is, its statement's start, its fixes' edits.
    pub(crate) fn ranges(&self) -> impl Iterator<Item = TextRange> + '_ {
        [self.range, TextRange::new(self.statement_start, self.statement_start)]
            .into_iter()
            .chain(self.fix.iter().chain(&self.alternatives).flat_map(|fix| fix.edits.iter().map(|edit| edit.range)))
            .chain(self.related.iter().filter_map(|related| match related.place {
                Place::Here(range) => Some(range),
                Place::Elsewhere { .. } => None,
            }))
    }

    /// This diagnostic of the text of `part` after that text moved by `delta` bytes.
    pub(crate) fn moved(&self, part: TextRange, delta: isize) -> Diagnostic {
        let mut moved = self.clone();
        moved.range = self.range.moved_in(part, delta);
        moved.statement_start = TextRange::new(self.statement_start, self.statement_start).moved_in(part, delta).start;
        for fix in moved.fix.iter_mut().chain(&mut moved.alternatives) {
            fix.move_part(part, delta);
        }
        for related in &mut moved.related {
            if let Place::Here(range) = &mut related.place {
                *range = range.moved_in(part, delta);
            }
        }
        moved
    }
}

/// One finding of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: Rule,
    pub range: TextRange,
    pub message: String,
    pub severity: Severity,
    /// The main fix: the one `--fix` and fix-all apply, and the preferred quick fix.
    pub fix: Option<Fix>,
    /// Other repairs, offered only as quick fixes (never applied in bulk).
    pub alternatives: Vec<Fix>,
    /// Byte offset of the start of the statement that holds the finding: a `# noqa` comment on
    /// that line counts as well as one on the reported line.
    pub statement_start: usize,
    /// Other places the finding is about (each step of an LW109 chain), for an editor's
    /// related information.
    pub related: Vec<Related>,
}

/// A place a finding is about, and what happens there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    pub place: Place,
    pub message: String,
}

/// Where a [`Related`] place is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A line of another file (1-based), as that file was read.
    Elsewhere { path: std::path::PathBuf, line: usize },
    /// A range of the analysed text itself: it moves with the text, as the finding's does.
    Here(TextRange),
}
