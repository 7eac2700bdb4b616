//! Analysis of a text that is being edited, by units: after an edit only the parts of the file
//! whose text changed are analysed again, and the others keep their findings, moved.
//!
//! A file's units are its top-level statements, with each class split into its header (up to
//! its body) and its members. What units share is the file's skeleton: every statement that is
//! not a function body (imports, module and class attributes, class headers, `def` lines with
//! their decorators), the text before the first definition, the rules the text lets through,
//! the settings and the workspace's generation (or a newer one, when no module the analyses
//! asked about changed since: [`Incremental::rebase_generation`]). While the skeleton is
//! unchanged, a unit whose text is unchanged gives the same findings, with two exceptions this
//! module watches for:
//! - what another unit's body tells the rest of the file, its *digest*: the file's own
//!   functions it names and how (called, handed on, to which call), the `self.` attributes it
//!   assigns, the modules its imports name, whether it is a generator or never returns, and
//!   its whole body when a question about other code read it (a helper that re-raises). When
//!   the changed units' digests are not the digests of the units they replaced, everything is
//!   analysed again;
//! - a skipped body binds no names, so a question that looks up inside one a name the body
//!   binds (its last analysis recorded which) may be answered wrongly: the model says so
//!   ([`SemanticModel::doubted`]) and everything is analysed again;
//! - a finding with a fix that edits outside its own unit (past the head, where `import`s go)
//!   cannot be moved with its unit: such a unit is analysed every time;
//! - tree-sitter recovers from a syntax error differently depending on the edits before: a
//!   unit that holds one is the same unit only with the same tree (its shape is in its key).
//!   An error inside a function's body leaves the skeleton as it was: typing `value =` or
//!   `self.` in a method analyses that method alone. So does typing inside an unclosed bracket
//!   when tree-sitter's recovery puts the statements before it into an `ERROR` between the
//!   method's `:` and its block ([`crate::analysis::source::FunctionBody`]); the key that opens
//!   or closes the bracket costs a whole analysis when the recovery takes in the next method
//!   (a unit of the skeleton gone), and so does any key while the recovery takes in the class.
//!
//! Cost: the skeleton is still walked on every update (about a tenth of a file's nodes; a
//! skipped method costs its name, its scope and its recorded facts, its `self.` assignments
//! bound only if a question about its class needs them), so an update grows with the file's
//! size; an edit that changes the skeleton or breaks the syntax across statements costs a
//! whole analysis. The prefilter's scan is kept per unit (`Incremental::scan`): only the
//! units an edit changed are scanned again.
//!
//! The changed units are analysed with a [`SemanticModel`] that skips the other units' bodies
//! (their instance attributes and imports are replayed from what their last analysis
//! recorded), so an analysis costs about the size of the skeleton and of the changed units.
//! A finding of that analysis outside the changed units, or one that no unit holds, makes a
//! whole analysis; so does any doubt. The result is always the findings a whole analysis of the
//! same text gives (`tests/incremental.rs` checks it after every edit of random edit sequences).
//!
//! It owns no text and knows nothing of editors: the caller hands it each version's text and
//! tree, and keeps the [`Incremental`] with the document.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use tree_sitter::{Node, Tree};
use xxhash_rust::xxh3::{Xxh3, xxh3_64, xxh3_64_with_seed};

use crate::analysis::fix_builder::Stylist;
use crate::analysis::prefilter::{self, SegmentScan, TextScan};
use crate::analysis::semantic::{SemanticModel, SkippedBody, is_generator};
use crate::analysis::settings::LintSettings;
use crate::analysis::source::{NodeFields, field, function_body, named_kind_table};
use crate::analysis::{Diagnostic, FileInputs, FileRules, TextRange, WorkspaceView, lint_parts, rules_for_scan};

/// How an update analysed the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analysed {
    /// No rule can report in this text.
    Nothing,
    /// The whole file.
    Whole,
    /// Only the units whose text changed: `changed` of `units`.
    Units { changed: usize, units: usize },
}

/// The findings of the last analysis of a document, by unit, and what they depended on.
#[derive(Default)]
pub struct Incremental {
    state: Option<State>,
    /// The prefilter's scans of the last text's pieces (a unit and the white space after it),
    /// by their text: only the pieces an edit changed are scanned again. A `foldhash` map, as
    /// every map looked up per unit on the keystroke path: the standard library's `SipHash`
    /// was a cost there.
    scans: foldhash::HashMap<u64, Kept<SegmentScan>>,
    /// Where the body of a unit without a syntax error is, from its start, by the unit's text
    /// and place: the same text gives the same tree there, so an unchanged unit's body is not
    /// looked for in the tree again (field lookups per unit were a twentieth of a keystroke).
    bodies: foldhash::HashMap<(u64, u64), Kept<Option<TextRange>>>,
    /// The number of the update, to tell the entries of `scans` and `bodies` the last one used.
    round: u64,
}

/// An entry of a map kept across updates, with the last update that used it: the others are
/// dropped when the map holds more than twice what one update uses (text typed and deleted
/// again keeps its entries for a while, and memory stays bounded by the file).
struct Kept<T> {
    value: T,
    used: u64,
}

/// The value of `key` in `map`, made by `make` if it has none, marked as used by `round`.
fn kept<K: std::hash::Hash + Eq, V>(
    map: &mut foldhash::HashMap<K, Kept<V>>,
    key: K,
    round: u64,
    make: impl FnOnce() -> V,
) -> &V {
    let entry = map.entry(key).or_insert_with(|| Kept { value: make(), used: round });
    entry.used = round;
    &entry.value
}

/// Drops the entries of `map` the update `round` did not use once it holds more than twice
/// the `used` entries: moving every entry into a new map each update cost more than the
/// lookups.
fn forget_unused<K, V>(map: &mut foldhash::HashMap<K, Kept<V>>, used: usize, round: u64) {
    if map.len() > 2 * used + 64 {
        map.retain(|_, entry| entry.used == round);
    }
}

/// What a text's analysis depends on besides the text of its units.
struct State {
    settings: Arc<LintSettings>,
    path: Option<PathBuf>,
    module: Option<(String, bool)>,
    workspace_generation: u64,
    skeleton: u64,
    units: Vec<UnitState>,
    /// The functions some analysis since the last whole one asked whether they never return:
    /// only their digests hold the answer (finding it for every function cost more than
    /// the rest of a whole analysis).
    never_returns_asked: HashSet<String>,
    /// The same for the functions whose references some question read: only the digests of
    /// the units that name one of them hold how they name it.
    references_asked: HashSet<String>,
    /// The functions whose bodies some question about other code read: their digests hold
    /// their whole body.
    bodies_asked: HashSet<String>,
    /// The modules the analyses since the last whole one asked the workspace about, as the
    /// caller noted them ([`Incremental::note_modules_asked`]).
    modules_asked: HashSet<String>,
}

/// A unit as its last analysis saw it.
struct UnitState {
    key: (u64, u64),
    range: TextRange,
    diagnostics: Vec<Diagnostic>,
    digest: u64,
    /// `self.name = value` assignments of the function itself, for a walk that skips its body,
    /// from the unit's start: an unchanged unit keeps them as they are wherever it moves
    /// (moving and copying them for every unit was an allocation per unit per keystroke).
    receiver_assignments: Arc<[TextRange]>,
    /// The modules its body imports, shared for the same reason.
    imports: Arc<[String]>,
    /// The hashes of the names its body binds, for a walk that skips it.
    locals: Arc<[(u64, bool)]>,
    /// A finding's fix edits outside the unit: analysed again every time.
    volatile: bool,
    /// For a function: where its name is, from the unit's start, for a walk that skips it.
    name: Option<TextRange>,
}

/// A statement the file is analysed by.
#[derive(Debug, Clone, Copy)]
struct Unit<'t> {
    /// Its statement (for a class's header, the class's).
    node: Node<'t>,
    range: TextRange,
    /// For a function (a top-level one or a method): its body.
    body: Option<TextRange>,
    /// The hash of its text (its key's first half, before its shape).
    text_hash: u64,
    /// The hash of the header of the class it is a member of (0 at the top level).
    context: u64,
    is_comment: bool,
    /// For a unit that holds a syntax error, the shape of its tree (0 for one without):
    /// tree-sitter recovers from an error differently depending on the edits before, so the
    /// same text does not always give the same tree, and findings.
    shape: u64,
    /// The same for its part of the skeleton: a function whose error is in its body has the
    /// skeleton of one without (the body's text and shape are in its key, what other units
    /// see of it in its digest).
    skeleton_shape: u64,
}

impl<'t> Unit<'t> {
    /// Its text and its place: units with the same key give the same findings.
    fn key(&self) -> (u64, u64) {
        (self.text_hash ^ self.shape, self.context)
    }

    /// For a function (a top-level one or a method): its definition.
    fn function(&self) -> Option<Node<'t>> {
        self.body.and(definition_of(self.node))
    }

    /// The part of it that belongs to the skeleton: a function's header, a comment's nothing,
    /// anything else whole.
    fn skeleton_part(&self) -> Option<TextRange> {
        match self.body {
            _ if self.is_comment => None,
            Some(body) => Some(TextRange::new(self.range.start, body.start)),
            None => Some(self.range),
        }
    }
}

impl std::fmt::Debug for Incremental {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let units = self.state.as_ref().map_or(0, |state| state.units.len());
        formatter
            .debug_struct("Incremental")
            .field("units", &units)
            .field("scans", &self.scans.len())
            .finish_non_exhaustive()
    }
}

impl Incremental {
    pub fn new() -> Self {
        Self::default()
    }

    /// The findings of `source` (parsed into `tree`), exactly those of
    /// [`crate::analysis::lint_in_workspace`], analysing again only what changed since the last
    /// update. `workspace_generation` must change whenever what the workspace answers may have.
    pub fn update(
        &mut self,
        source: &str,
        tree: &Tree,
        path: Option<&Path>,
        settings: &Arc<LintSettings>,
        workspace: Option<&WorkspaceView<'_>>,
        workspace_generation: u64,
    ) -> (Vec<Diagnostic>, Analysed) {
        self.round += 1;
        let units = self.units(tree, source);
        let rules = rules_for_scan(source, path, settings, || self.scan(source, &units));
        if rules.checked.is_empty() {
            self.state = None;
            return (Vec::new(), Analysed::Nothing);
        }
        let skeleton = skeleton_hash(source, tree, &units, rules);
        let module = workspace.map(|view| (view.module.to_string(), view.is_package));
        let previous = self.state.take().filter(|state| {
            state.skeleton == skeleton
                && Arc::ptr_eq(&state.settings, settings)
                && state.path.as_deref() == path
                && state.module == module
                && state.workspace_generation == workspace_generation
        });
        let inputs = Inputs {
            file: FileInputs { source, tree, path, settings, workspace, rules },
            units: &units,
            references_asked: std::cell::RefCell::default(),
            never_returns_asked: std::cell::RefCell::default(),
            bodies_asked: std::cell::RefCell::default(),
        };
        let mut modules_asked = HashSet::new();
        let analysed = previous.and_then(|mut previous| {
            modules_asked = std::mem::take(&mut previous.modules_asked);
            inputs.never_returns_asked.borrow_mut().clone_from(&previous.never_returns_asked);
            inputs.references_asked.borrow_mut().clone_from(&previous.references_asked);
            inputs.bodies_asked.borrow_mut().clone_from(&previous.bodies_asked);
            inputs.changed_units(&previous)
        });
        let (unit_states, how) = if let Some(result) = analysed {
            result
        } else {
            inputs.never_returns_asked.borrow_mut().clear();
            inputs.references_asked.borrow_mut().clear();
            inputs.bodies_asked.borrow_mut().clear();
            modules_asked.clear();
            (inputs.whole(), Analysed::Whole)
        };
        let mut diagnostics: Vec<Diagnostic> =
            unit_states.iter().flat_map(|unit| unit.diagnostics.iter().cloned()).collect();
        diagnostics.sort_by_key(|diagnostic| (diagnostic.range.start, diagnostic.range.end, diagnostic.rule));
        self.state = Some(State {
            settings: Arc::clone(settings),
            path: path.map(Path::to_path_buf),
            module,
            workspace_generation,
            skeleton,
            units: unit_states,
            never_returns_asked: inputs.never_returns_asked.take(),
            references_asked: inputs.references_asked.take(),
            bodies_asked: inputs.bodies_asked.take(),
            modules_asked,
        });
        (diagnostics, how)
    }

    /// Notes the modules the last update's analysis asked the workspace about (the caller
    /// watches its [`WorkspaceView`]'s source), for [`Incremental::rebase_generation`].
    pub fn note_modules_asked(&mut self, asked: impl IntoIterator<Item = String>) {
        if let Some(state) = &mut self.state {
            state.modules_asked.extend(asked);
        }
    }

    /// The modules the analyses behind the kept findings asked the workspace about: the
    /// findings hold while these modules answer as they did.
    pub fn modules_asked(&self) -> Option<&HashSet<String>> {
        self.state.as_ref().map(|state| &state.modules_asked)
    }

    /// The workspace is at generation `to`. The kept findings, made at an older generation,
    /// hold at `to` too when `unchanged(their generation, the modules they asked about)`: a
    /// change of a module no analysis behind them asked about (another document opened, or
    /// this one's own summary after its whole analysis) does not make the next update analyse
    /// everything again. Returns whether the findings hold at `to`.
    pub fn rebase_generation(&mut self, to: u64, unchanged: impl FnOnce(u64, &HashSet<String>) -> bool) -> bool {
        let Some(state) = &mut self.state else { return false };
        if state.workspace_generation == to {
            return true;
        }
        if state.workspace_generation > to || !unchanged(state.workspace_generation, &state.modules_asked) {
            return false;
        }
        state.workspace_generation = to;
        true
    }
}

impl Incremental {
    /// The prefilter's scan of `source`, the same as [`prefilter::scan`]'s, from the scans of
    /// its pieces: each unit with the white space up to the next one. A piece is scanned with
    /// the start of the text after it, so its key holds that too.
    fn scan(&mut self, source: &str, units: &[Unit<'_>]) -> TextScan {
        let extension = prefilter::longest_trigger().saturating_sub(1);
        let mut starts: Vec<usize> = Vec::with_capacity(units.len() + 1);
        starts.push(0);
        for unit in units {
            if unit.range.start > starts[starts.len() - 1] && unit.range.start < source.len() {
                starts.push(unit.range.start);
            }
        }
        if !starts.iter().all(|start| source.is_char_boundary(*start)) {
            return prefilter::scan(source);
        }
        let round = self.round;
        let mut keys = Vec::with_capacity(starts.len());
        for (index, &start) in starts.iter().enumerate() {
            let end = starts.get(index + 1).copied().unwrap_or(source.len());
            let mut until = (end + extension).min(source.len());
            while !source.is_char_boundary(until) {
                until += 1;
            }
            let piece = &source[start..until];
            let key = xxh3_64_with_seed(piece.as_bytes(), (end - start) as u64);
            kept(&mut self.scans, key, round, || prefilter::scan_segment(piece, end - start));
            keys.push(key);
        }
        forget_unused(&mut self.scans, keys.len(), round);
        let scans = &self.scans;
        let pieces: Vec<(usize, &SegmentScan)> =
            starts.iter().zip(&keys).filter_map(|(start, key)| Some((*start, &scans.get(key)?.value))).collect();
        prefilter::combine(source, pieces)
    }
}

/// The analysis's `self.` assignments and imports, sorted by position once: each unit's body
/// takes its own by a binary search (filtering them all for every unit was quadratic, a
/// seventh of a whole analysis at 100k lines).
struct BodyFacts<'m> {
    assignments: Vec<TextRange>,
    imports: Vec<(usize, &'m str)>,
}

impl<'m> BodyFacts<'m> {
    fn of(semantic: &'m SemanticModel<'_>) -> Self {
        let mut assignments = semantic.receiver_assignments().to_vec();
        // Stable, and the walk's order already: only a guard.
        assignments.sort_by_key(|range| range.start);
        let mut imports: Vec<(usize, &str)> = semantic.imports_at().collect();
        imports.sort_by_key(|(position, _)| *position);
        Self { assignments, imports }
    }

    /// The assignments that start at `start` or later, in order.
    fn assignments_from(&self, start: usize) -> &[TextRange] {
        &self.assignments[self.assignments.partition_point(|range| range.start < start)..]
    }

    /// The imports that end after `start`, in order.
    fn imports_after(&self, start: usize) -> &[(usize, &'m str)] {
        &self.imports[self.imports.partition_point(|(position, _)| *position <= start)..]
    }
}

struct Inputs<'a> {
    file: FileInputs<'a>,
    units: &'a [Unit<'a>],
    /// The functions whose digest holds whether they never return.
    never_returns_asked: std::cell::RefCell<HashSet<String>>,
    references_asked: std::cell::RefCell<HashSet<String>>,
    bodies_asked: std::cell::RefCell<HashSet<String>>,
}

impl<'a> Inputs<'a> {
    /// A whole analysis, its findings and facts sorted into units (a finding no unit holds is
    /// kept by the first, which is then analysed every time).
    fn whole(&self) -> Vec<UnitState> {
        let (semantic, diagnostics) = lint_parts(&self.file, &[], None);
        self.close_never_returns_asked(&semantic);
        let facts = BodyFacts::of(&semantic);
        let mut states: Vec<UnitState> =
            self.units.iter().map(|unit| self.unit_state(&semantic, &facts, unit)).collect();
        let head_end = head_end(self.units, self.file.source);
        for diagnostic in diagnostics {
            let index = unit_at(self.units, diagnostic.range.start);
            let Some(state) = states.get_mut(index.unwrap_or(0)) else { continue };
            state.volatile |= index.is_none() || !stays_with(&diagnostic, state.range, head_end);
            state.diagnostics.push(diagnostic);
        }
        states
    }

    /// Analyses only the units whose text changed since `previous`; `None` when the change
    /// may reach other units (then only a whole analysis is right).
    fn changed_units(&self, previous: &State) -> Option<(Vec<UnitState>, Analysed)> {
        // The previous units by key: `first` holds a key's first unit not matched yet and `next`
        // the one after it with the same key (a vector per key was an allocation per unit).
        let mut first: foldhash::HashMap<(u64, u64), usize> = foldhash::HashMapExt::with_capacity(previous.units.len());
        let mut next = vec![usize::MAX; previous.units.len()];
        for (index, state) in previous.units.iter().enumerate().rev() {
            if !state.volatile
                && let Some(after) = first.insert(state.key, index)
            {
                next[index] = after;
            }
        }
        // For each unit, the previous unit with the same text and place, if any.
        let matched: Vec<Option<usize>> = self
            .units
            .iter()
            .map(|unit| {
                let key = unit.key();
                let slot = first.get_mut(&key)?;
                let index = *slot;
                if next[index] == usize::MAX {
                    first.remove(&key);
                } else {
                    *slot = next[index];
                }
                Some(index)
            })
            .collect();
        let changed: Vec<TextRange> =
            self.units.iter().zip(&matched).filter(|(_, old)| old.is_none()).map(|(unit, _)| unit.range).collect();
        let mut kept = vec![false; previous.units.len()];
        let mut skipped = Vec::with_capacity(self.units.len());
        for (unit, old) in self.units.iter().zip(&matched) {
            let Some(old) = *old else { continue };
            kept[old] = true;
            if let Some(body) = unit.body {
                let old = &previous.units[old];
                skipped.push(SkippedBody {
                    definition: unit.range,
                    body,
                    receiver_assignments: &old.receiver_assignments,
                    imports: &old.imports,
                    locals: &old.locals,
                    name: old.name,
                });
            }
        }
        let (semantic, diagnostics) = lint_parts(&self.file, &skipped, Some(&changed));
        self.close_never_returns_asked(&semantic);
        if semantic.doubted() {
            return None;
        }
        let head_end = head_end(self.units, self.file.source);

        let mut facts = None;
        let mut states = Vec::with_capacity(self.units.len());
        let mut new_digests = Vec::new();
        for (unit, old) in self.units.iter().zip(&matched) {
            if let Some(old) = old {
                let old = &previous.units[*old];
                let delta = delta(unit.range.start, old.range.start);
                states.push(UnitState {
                    key: old.key,
                    range: unit.range,
                    diagnostics: old.diagnostics.iter().map(|diagnostic| diagnostic.moved(old.range, delta)).collect(),
                    digest: old.digest,
                    receiver_assignments: Arc::clone(&old.receiver_assignments),
                    imports: Arc::clone(&old.imports),
                    locals: Arc::clone(&old.locals),
                    volatile: false,
                    name: old.name,
                });
            } else {
                let state = self.unit_state(&semantic, facts.get_or_insert_with(|| BodyFacts::of(&semantic)), unit);
                new_digests.push(state.digest);
                states.push(state);
            }
        }
        let mut old_digests: Vec<u64> =
            previous.units.iter().zip(&kept).filter(|(_, kept)| !**kept).map(|(state, _)| state.digest).collect();
        new_digests.sort_unstable();
        old_digests.sort_unstable();
        if new_digests != old_digests {
            return None;
        }
        for diagnostic in diagnostics {
            let index = unit_at(self.units, diagnostic.range.start).filter(|index| matched[*index].is_none())?;
            let state = &mut states[index];
            state.volatile |= !stays_with(&diagnostic, state.range, head_end);
            state.diagnostics.push(diagnostic);
        }
        Some((states, Analysed::Units { changed: changed.len(), units: self.units.len() }))
    }

    /// Adds the functions the analysis asked whether they never return, and the helpers that
    /// answering for those asks about in turn (a function never returns when a helper it ends
    /// with never does): each of their digests must hold its answer.
    fn close_never_returns_asked(&self, semantic: &SemanticModel<'a>) {
        self.references_asked.borrow_mut().extend(semantic.references_asked());
        self.bodies_asked.borrow_mut().extend(semantic.bodies_asked());
        let mut seen = 0;
        loop {
            let asked = semantic.never_returns_asked();
            if asked.len() == seen {
                return;
            }
            let new: Vec<String> = asked[seen..].to_vec();
            seen = asked.len();
            let mut known = self.never_returns_asked.borrow_mut();
            let fresh: Vec<String> = new.into_iter().filter(|name| known.insert(name.clone())).collect();
            drop(known);
            for unit in self.units {
                let Some(function) = unit.function() else { continue };
                let named = function
                    .field(&field::NAME)
                    .is_some_and(|name| fresh.iter().any(|fresh| fresh == text(self.file.source, TextRange::of(name))));
                if named {
                    semantic.function_never_returns(function, false);
                }
            }
        }
    }

    /// A unit just analysed with `semantic`, its findings still to come.
    fn unit_state(&self, semantic: &SemanticModel<'_>, facts: &BodyFacts<'_>, unit: &Unit) -> UnitState {
        let (receiver_assignments, imports): (Arc<[TextRange]>, Arc<[String]>) = match unit.body {
            Some(body) => (
                facts
                    .assignments_from(body.start)
                    .iter()
                    .take_while(|range| range.start <= body.end)
                    .filter(|range| range.end <= body.end)
                    .map(|range| range.relative_to(unit.range.start))
                    .collect(),
                facts
                    .imports_after(body.start)
                    .iter()
                    .take_while(|(position, _)| *position <= body.end)
                    .map(|(_, module)| (*module).to_string())
                    .collect(),
            ),
            None => (Arc::default(), Arc::default()),
        };
        let locals = unit.body.map(|body| semantic.names_bound_within(body)).unwrap_or_default().into();
        UnitState {
            key: unit.key(),
            range: unit.range,
            diagnostics: Vec::new(),
            digest: self.digest(semantic, unit, &receiver_assignments, &imports),
            receiver_assignments,
            imports,
            locals,
            volatile: false,
            name: unit
                .function()
                .and_then(|function| function.field(&field::NAME))
                .map(|name| TextRange::of(name).relative_to(unit.range.start)),
        }
    }

    /// What the body of `unit` tells the rest of the file (see the module doc); 0 for a unit
    /// without a body, whose whole text is in the skeleton.
    fn digest(
        &self,
        semantic: &SemanticModel<'_>,
        unit: &Unit,
        receiver_assignments: &[TextRange],
        imports: &[String],
    ) -> u64 {
        let (Some(body), Some(definition)) = (unit.body, unit.function()) else { return 0 };
        let mut hasher = Xxh3::new();
        hasher.update(text(self.file.source, TextRange::new(unit.range.start, body.start)).as_bytes());
        for entry in self.references_named(unit, definition) {
            hasher.update(&entry.to_le_bytes());
        }
        for range in receiver_assignments {
            hasher.update(text(self.file.source, range.moved_by(unit.range.start)).as_bytes());
            hasher.update(b"\0");
        }
        for import in imports {
            hasher.update(import.as_bytes());
            hasher.update(b"\0");
        }
        // Cheap texts first: most bodies have no `yield` and raise no `NotImplementedError`,
        // and those questions walk the body.
        let body_text = text(self.file.source, body);
        let generator = body_text.contains("yield") && is_generator(definition);
        let name = definition.field(&field::NAME).map_or("", |name| text(self.file.source, TextRange::of(name)));
        if self.bodies_asked.borrow().contains(name) {
            hasher.update(body_text.as_bytes());
            hasher.update(&unit.shape.to_le_bytes());
        }
        let asked = self.never_returns_asked.borrow().contains(name);
        let never_returns = asked && !generator && semantic.function_never_returns(definition, false);
        let never_returns_through_receiver = if asked && body_text.contains("NotImplementedError") {
            !generator && semantic.function_never_returns(definition, true)
        } else {
            never_returns
        };
        hasher.update(&[u8::from(generator), u8::from(never_returns), u8::from(never_returns_through_receiver)]);
        hasher.digest()
    }

    /// How `definition` (the function of `unit`) names the functions whose references were
    /// asked about, sorted; walked only when its text may name one.
    fn references_named(&self, unit: &Unit<'_>, definition: Node<'_>) -> Vec<u64> {
        let asked = self.references_asked.borrow();
        let unit_text = text(self.file.source, unit.range);
        if !asked.iter().any(|name| unit_text.contains(name.as_str())) {
            return Vec::new();
        }
        let mut entries = Vec::new();
        let mut cursor = definition.walk();
        loop {
            let node = cursor.node();
            if node.kind() == "identifier" && asked.contains(text(self.file.source, TextRange::of(node))) {
                entries.push(self.reference_context(node, definition));
            }
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() || cursor.node().id() == definition.id() {
                    entries.sort_unstable();
                    return entries;
                }
            }
        }
    }

    /// How a name of one of the file's functions is used at `node`: its name, the kinds of the
    /// nodes around it up to its statement, the callees of the calls among them, and the header
    /// of the function it is in.
    fn reference_context(&self, node: Node<'_>, definition: Node<'_>) -> u64 {
        let mut hasher = Xxh3::new();
        hasher.update(text(self.file.source, TextRange::of(node)).as_bytes());
        let mut current = node;
        for _ in 0..8 {
            let Some(parent) = current.parent() else { break };
            hasher.update(&parent.kind_id().to_le_bytes());
            let is_callee = parent.field(&field::FUNCTION).is_some_and(|callee| callee.id() == current.id());
            hasher.update(&[u8::from(is_callee)]);
            if parent.kind() == "call"
                && let Some(callee) = parent.field(&field::FUNCTION)
            {
                hasher.update(text(self.file.source, TextRange::of(callee)).as_bytes());
            }
            if parent.id() == definition.id() || parent.kind().ends_with("_statement") {
                break;
            }
            current = parent;
        }
        // The innermost function around the reference, by its header.
        let mut scope = node.parent();
        while let Some(candidate) = scope {
            if matches!(candidate.kind(), "function_definition" | "lambda") {
                let header_end = candidate.field(&field::BODY).map_or(candidate.end_byte(), |body| body.start_byte());
                hasher.update(text(self.file.source, TextRange::new(candidate.start_byte(), header_end)).as_bytes());
                break;
            }
            scope = candidate.parent();
        }
        hasher.digest()
    }
}

impl Incremental {
    /// The file's units, in order.
    fn units<'t>(&mut self, tree: &'t Tree, source: &str) -> Vec<Unit<'t>> {
        let root = tree.root_node();
        let mut units = Vec::with_capacity(usize::try_from(root.child_count()).unwrap_or(0) * 2);
        let mut cursor = root.walk();
        for statement in root.children(&mut cursor) {
            let definition = definition_of(statement);
            if let Some(class) = definition.filter(|node| unit_kind(*node) == UnitKind::Class)
                && let Some(body) = class.field(&field::BODY).filter(|body| body.child_count() > 0)
            {
                let header = TextRange::new(statement.start_byte(), body.start_byte());
                let body_range = TextRange::of(body);
                let header_shape =
                    if header_has_error(statement, body_range) { shape_of(statement, Some(body_range)) } else { 0 };
                let header_hash = xxh3_64(text(source, header).as_bytes());
                let context = header_hash | 1;
                units.push(Unit {
                    node: statement,
                    range: header,
                    body: None,
                    text_hash: header_hash,
                    context: 0,
                    is_comment: false,
                    shape: header_shape,
                    skeleton_shape: header_shape,
                });
                let mut members = body.walk();
                for member in body.children(&mut members) {
                    units.push(self.unit_of(member, source, context));
                }
                continue;
            }
            units.push(self.unit_of(statement, source, 0));
        }
        forget_unused(&mut self.bodies, units.len(), self.round);
        units
    }

    fn unit_of<'t>(&mut self, statement: Node<'t>, source: &str, context: u64) -> Unit<'t> {
        let range = TextRange::of(statement);
        let text_hash = xxh3_64(text(source, range).as_bytes());
        let is_comment = unit_kind(statement) == UnitKind::Comment;
        if !statement.has_error() {
            let body = kept(&mut self.bodies, (text_hash, context), self.round, || {
                function_body_of(statement).map(|body| body.relative_to(range.start))
            })
            .map(|body| body.moved_by(range.start));
            return Unit { node: statement, range, body, text_hash, context, is_comment, shape: 0, skeleton_shape: 0 };
        }
        let body = function_body_of(statement);
        let shape = shape_of(statement, None);
        let skeleton_shape = match body {
            Some(body) if header_has_error(statement, body) => shape_of(statement, Some(body)),
            Some(_) => 0,
            None => shape,
        };
        Unit { node: statement, range, body, text_hash, context, is_comment, shape, skeleton_shape }
    }
}

/// The body of the function `statement` defines (through its decorators), if it has one.
fn function_body_of(statement: Node<'_>) -> Option<TextRange> {
    let function = definition_of(statement).filter(|node| unit_kind(*node) == UnitKind::Function)?;
    function_body(function).map(|body| body.range).filter(|body| body.start < body.end)
}

/// The kinds and places (from the start of `statement`) of the nodes of `statement`'s tree,
/// without the nodes inside `skip` (a body), as one hash (never 0).
fn shape_of(statement: Node<'_>, skip: Option<TextRange>) -> u64 {
    let start = statement.start_byte();
    let mut hasher = Xxh3::new();
    let mut cursor = statement.walk();
    loop {
        let node = cursor.node();
        let skipped = skip.is_some_and(|skip| node.id() != statement.id() && is_within(node, skip));
        if !skipped {
            hasher.update(&node.kind_id().to_le_bytes());
            hasher.update(&(node.start_byte() - start).to_le_bytes());
            hasher.update(&(node.end_byte() - start).to_le_bytes());
        }
        if !skipped && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() || cursor.node().id() == statement.id() {
                return hasher.digest() | 1;
            }
        }
    }
}

/// Whether a definition statement has a syntax error outside its body `body`.
fn header_has_error(statement: Node<'_>, body: TextRange) -> bool {
    let mut cursor = statement.walk();
    let children: Vec<Node<'_>> = statement.children(&mut cursor).collect();
    children.into_iter().any(|child| match child.kind() {
        "class_definition" | "function_definition" => header_has_error(child, body),
        _ => !is_within(child, body) && child.has_error(),
    }) || statement.is_error()
        || statement.is_missing()
}

/// Whether `node` lies inside `range` (a node that starts where an empty range is counts).
fn is_within(node: Node<'_>, range: TextRange) -> bool {
    range.start <= node.start_byte() && node.end_byte() <= range.end.max(range.start)
}

/// The kinds a file's units are told apart by, by kind id: comparing `kind()` strings for
/// every unit on every keystroke was a cost.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UnitKind {
    Other,
    Function,
    Class,
    Decorated,
    Comment,
}

fn unit_kind(node: Node<'_>) -> UnitKind {
    static KINDS: LazyLock<Vec<UnitKind>> = LazyLock::new(|| {
        named_kind_table(UnitKind::Other, |name| match name {
            "function_definition" => Some(UnitKind::Function),
            "class_definition" => Some(UnitKind::Class),
            "decorated_definition" => Some(UnitKind::Decorated),
            "comment" => Some(UnitKind::Comment),
            _ => None,
        })
    });
    KINDS.get(usize::from(node.kind_id())).copied().unwrap_or(UnitKind::Other)
}

/// The definition a statement makes, through its decorators.
fn definition_of(statement: Node<'_>) -> Option<Node<'_>> {
    match unit_kind(statement) {
        UnitKind::Function | UnitKind::Class => Some(statement),
        UnitKind::Decorated => statement.field(&field::DEFINITION),
        UnitKind::Other | UnitKind::Comment => None,
    }
}

/// The hash of everything the units share (see the module doc).
fn skeleton_hash(source: &str, tree: &Tree, units: &[Unit<'_>], rules: FileRules) -> u64 {
    let mut hasher = Xxh3::new();
    let head_end = head_end(units, source);
    hasher.update(text(source, TextRange::new(0, head_end)).as_bytes());
    for unit in units.iter().filter(|unit| unit.range.start >= head_end) {
        hasher.update(&unit.context.to_le_bytes());
        if let Some(part) = unit.skeleton_part() {
            hash_without_comments(&mut hasher, source, unit.node, part);
            hasher.update(&unit.skeleton_shape.to_le_bytes());
        }
        hasher.update(&[u8::from(unit.body.is_some()), u8::from(unit.is_comment)]);
    }
    let stylist = Stylist::detect(source, tree.root_node());
    hasher.update(format!("{stylist:?}").as_bytes());
    hasher.update(format!("{:?}{:?}", rules.enabled, rules.checked).as_bytes());
    hasher.digest()
}

/// Hashes the text of `part` of `statement` without its comments: typing in a comment of a
/// module-level statement changes what that statement's own findings may be (a `# noqa` on its
/// lines), never what the other units see of it.
fn hash_without_comments(hasher: &mut Xxh3, source: &str, statement: Node<'_>, part: TextRange) {
    let whole = text(source, part);
    if memchr::memchr(b'#', whole.as_bytes()).is_none() {
        hasher.update(whole.as_bytes());
        return;
    }
    let mut at = part.start;
    let mut cursor = statement.walk();
    loop {
        let node = cursor.node();
        let overlaps = node.start_byte() < part.end && part.start < node.end_byte();
        if overlaps && unit_kind(node) == UnitKind::Comment {
            let start = node.start_byte().clamp(at, part.end);
            hasher.update(text(source, TextRange::new(at, start)).as_bytes());
            at = node.end_byte().clamp(at, part.end);
        } else if overlaps && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() || cursor.node().id() == statement.id() {
                hasher.update(text(source, TextRange::new(at, part.end)).as_bytes());
                return;
            }
        }
    }
}

/// Where the first definition starts: the text before it is shared by every unit (a fix's
/// `import` goes there), the end of the text when there is none.
fn head_end(units: &[Unit<'_>], source: &str) -> usize {
    units.iter().find(|unit| unit.body.is_some() || unit.context != 0).map_or(source.len(), |unit| unit.range.start)
}

/// Whether every position `diagnostic` names moves with the unit at `range` or lies in the head.
fn stays_with(diagnostic: &Diagnostic, range: TextRange, head_end: usize) -> bool {
    diagnostic.ranges().all(|part| (range.start <= part.start && part.end <= range.end) || part.end <= head_end)
}

/// The unit whose range holds `position`.
fn unit_at(units: &[Unit<'_>], position: usize) -> Option<usize> {
    let index = units.partition_point(|unit| unit.range.end <= position);
    units.get(index).filter(|unit| unit.range.start <= position).map(|_| index)
}

fn delta(new: usize, old: usize) -> isize {
    // Text offsets fit in `isize` (a `str` is never longer than `isize::MAX`).
    isize::try_from(new).unwrap_or(isize::MAX) - isize::try_from(old).unwrap_or(isize::MAX)
}

fn text(source: &str, range: TextRange) -> &str {
    source.get(range.start..range.end).unwrap_or("")
}
