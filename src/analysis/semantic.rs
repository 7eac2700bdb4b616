//! The per-file semantic context, computed once per analysis by one walk over the tree and
//! shared by every rule: scopes, the import map, and simple bindings.
//!
//! It answers these questions, and never guesses a name the file does not bind:
//! - *in an async function?* The nearest enclosing function-like scope of a position. A nested
//!   `def`, a `lambda` and a class body are scopes; comprehensions are not (they run in place).
//!   Decorators, parameter defaults and annotations belong to the outer scope.
//! - *resolved qualified name* of a name or attribute chain, through `import a.b as c`,
//!   `from a import b as c` and relative imports; a name bound by anything but an import
//!   (a local, a parameter, a loop variable) is not a module.
//! - *bound to X*: the class a value was created from, followed through assignments,
//!   `with ... as name`, `self.name` assigned in the same class, class and module attributes,
//!   and parameter annotations.
//! - *what a called function is* for `async with`/`async for` ([`SemanticModel::async_protocol_of`]):
//!   an `@asynccontextmanager` or an async generator defined in the file.
//!
//! It knows nothing of rules, settings, files or the LSP.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use tree_sitter::{Node, Tree};

use crate::analysis::TextRange;
use crate::analysis::async_library::AsyncLibrary;
use crate::analysis::source::named_kind_table;
use crate::analysis::source::{Ancestry, FunctionBody, NodeFields, field, function_body, kind};

pub type ScopeId = usize;
/// Index of an import's qualified name in the model.
pub type ImportId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Module,
    Function { is_async: bool },
    Lambda,
    Class,
}

#[derive(Debug)]
pub struct Scope<'t> {
    pub kind: ScopeKind,
    /// Where names resolve in this scope: a function's or class's body, a lambda's expression.
    pub range: TextRange,
    pub parent: Option<ScopeId>,
    /// The `function_definition`, `lambda`, `class_definition` or `module` node.
    pub node: Node<'t>,
    /// For a method: the name of its first parameter (`self`, `cls`).
    receiver: Receiver<'t>,
    /// A name's bindings in place: most names are bound once, and a vector per name was an
    /// allocation per binding of every keystroke's skeleton walk.
    bindings: HashMap<&'t str, Bindings<'t>>,
    /// For a class: attributes assigned through the receiver in its methods (`self.x = ...`).
    instance_attributes: HashMap<&'t str, Vec<Binding<'t>>>,
    /// For the scope of a skipped body: the hashes of the names bound anywhere in it (sorted),
    /// which its scopes would bind but do not hold, each with whether it is bound only as the
    /// function's parameter (then found in its `parameters` when asked).
    unknown_locals: Option<Arc<[(u64, bool)]>>,
    /// For a class: the `self.name = value` assignments of its skipped methods, with the
    /// method's scope. They are bound on the first question about the class's attributes
    /// (finding their nodes again cost a tenth of a keystroke's analysis, mostly for classes
    /// nobody asked about).
    deferred_attributes: Vec<(TextRange, ScopeId)>,
    /// Which of `deferred_attributes` assign which name (by [`name_hash`]), made on the first
    /// question. Without borrows: a borrowed one would make the model invariant in `'t`.
    deferred_names: std::cell::OnceCell<HashMap<u64, Vec<usize>>>,
}

impl Scope<'_> {
    pub fn is_async_function(&self) -> bool {
        matches!(self.kind, ScopeKind::Function { is_async: true })
    }
}

/// A name's bindings in a scope, in order. One of them is kept in place: most names are bound
/// once, and a vector per name was an allocation for every binding of every keystroke's walk
/// of the skeleton. (An enum of covariant parts, so the model stays covariant in `'t`.)
#[derive(Debug, Clone)]
enum Bindings<'t> {
    One(Binding<'t>),
    Many(Vec<Binding<'t>>),
}

impl<'t> Bindings<'t> {
    fn push(&mut self, binding: Binding<'t>) {
        match self {
            Bindings::One(first) => *self = Bindings::Many(vec![*first, binding]),
            Bindings::Many(bindings) => bindings.push(binding),
        }
    }

    fn sort_by_position(&mut self) {
        if let Bindings::Many(bindings) = self {
            bindings.sort_by_key(|binding| binding.position);
        }
    }
}

impl<'t> std::ops::Deref for Bindings<'t> {
    type Target = [Binding<'t>];

    fn deref(&self) -> &[Binding<'t>] {
        match self {
            Bindings::One(binding) => std::slice::from_ref(binding),
            Bindings::Many(bindings) => bindings,
        }
    }
}

impl<'a, 't> IntoIterator for &'a Bindings<'t> {
    type Item = &'a Binding<'t>;
    type IntoIter = std::slice::Iter<'a, Binding<'t>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Adds `binding` to the bindings of `name` in `bindings`.
fn add_binding<'t>(bindings: &mut HashMap<&'t str, Bindings<'t>>, name: &'t str, binding: Binding<'t>) {
    match bindings.entry(name) {
        std::collections::hash_map::Entry::Occupied(mut entry) => entry.get_mut().push(binding),
        std::collections::hash_map::Entry::Vacant(entry) => {
            entry.insert(Bindings::One(binding));
        }
    }
}

/// A method's receiver, the name of its first parameter (`self`, `cls`).
#[derive(Debug, Clone, Copy)]
enum Receiver<'t> {
    None,
    Named(&'t str),
    /// A method whose body the walk skipped: its receiver is found only if a question needs it
    /// (for most of them none does).
    OfSkipped {
        function: Node<'t>,
        decorated: Option<Node<'t>>,
    },
}

impl<'t> Receiver<'t> {
    fn name(self, source: &'t str) -> Option<&'t str> {
        match self {
            Self::None => None,
            Self::Named(name) => Some(name),
            Self::OfSkipped { function, decorated } => {
                if decorated.is_some_and(|decorated| is_staticmethod(decorated, source)) {
                    return None;
                }
                first_parameter(function).and_then(|parameter| source.get(parameter.byte_range()))
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Binding<'t> {
    /// Byte offset after which the binding is in effect.
    pub position: usize,
    pub kind: BindingKind<'t>,
}

#[derive(Debug, Clone, Copy)]
pub enum BindingKind<'t> {
    /// `import a.b` binds `a` to `a`; `import a.b as c` binds `c` to `a.b`;
    /// `from a import b as c` binds `c` to `a.b`. Relative imports keep their leading dots.
    Import {
        import: ImportId,
    },
    /// Assigned, walrus-bound or bound by `with <value> as name`.
    Value {
        value: Node<'t>,
    },
    /// A parameter or a declaration with an annotation.
    Annotated {
        annotation: Node<'t>,
    },
    /// `name = None`: ignored when merging, so `try: import x / except: x = None` stays `x`.
    NoneValue,
    Function {
        node: Node<'t>,
        is_async: bool,
    },
    Class {
        node: Node<'t>,
    },
    /// Anything else: loop targets, unpacking, `except ... as`, parameters without annotation.
    Unknown,
}

pub struct SemanticModel<'t> {
    source: &'t str,
    scopes: Vec<Scope<'t>>,
    /// Scope ids sorted by the start of their range, for position lookups.
    by_start: Vec<ScopeId>,
    /// Qualified names of imports, owned here so bindings can borrow them.
    imports: Vec<String>,
    comments: Vec<TextRange>,
    /// The async library the file's imports name, if any.
    imported_async_library: Option<AsyncLibrary>,
    /// Per scope, how often each name is mentioned in it (nested scopes included), counted
    /// on the first question: asking per assignment walked a function once for each.
    /// Owned names: a borrowed one would make the model invariant in `'t`.
    mentions: Vec<std::cell::OnceCell<HashMap<u64, u32>>>,
    /// Where each import of `imports` ends, in the same order.
    import_positions: Vec<usize>,
    /// The `self.name = value` assignments that gave a class an instance attribute.
    receiver_assignments: Vec<TextRange>,
    /// The names of the functions of the file that the control-flow analysis asked whether
    /// they never return, for [`crate::analysis::incremental`].
    never_returns_asked: std::cell::RefCell<Vec<String>>,
    /// The names of the functions whose references anywhere in the file some question read.
    references_asked: std::cell::RefCell<Vec<String>>,
    /// [`SemanticModel::runs_on_worker_thread_loop`]'s answers by function node: each reads
    /// every reference in the file, and a function with a thousand `time.sleep` calls asked a
    /// thousand times.
    worker_loop_answers: std::cell::RefCell<foldhash::HashMap<usize, bool>>,
    /// Every identifier and attribute of the file by name (an attribute by its last part), as
    /// byte ranges, built on the first question about a function's references: a walk of the
    /// whole file per function made a file of 8,000 functions quadratic. Ranges rather than
    /// nodes keep the model covariant in its tree's lifetime.
    name_index: std::cell::RefCell<Option<foldhash::HashMap<String, Vec<TextRange>>>>,
    /// The names of the functions whose bodies a question about other code read
    /// ([`SemanticModel::helper_definition`]).
    bodies_asked: std::cell::RefCell<Vec<String>>,
    /// Whether a question looked up, inside a skipped body, a name that body binds: its
    /// answer may differ from a whole model's.
    doubted: std::cell::Cell<bool>,
    /// Whether a function (by node id) is a generator, found on the first question: callers of
    /// a coroutine function ask it for every call.
    generators: std::cell::RefCell<HashMap<usize, bool>>,
    /// The module's top level is async code ([`crate::analysis::LintSettings::top_level_await`]).
    top_level_await: bool,
}

/// The body of a function that a walk does not enter (its text is known not to have changed
/// since it was last walked), with what the walk would have taken from it for other code: the
/// `self.name = value` assignments of the function itself and the modules its imports name.
#[derive(Debug, Clone, Copy)]
pub struct SkippedBody<'a> {
    /// The statement that defines the function (with its decorators).
    pub definition: TextRange,
    pub body: TextRange,
    /// The `self.name = value` assignments of its body, from the start of `definition`.
    pub receiver_assignments: &'a [TextRange],
    pub imports: &'a [String],
    /// The hashes of the names bound anywhere in the body, each with whether it is bound only
    /// as a parameter ([`SemanticModel::names_bound_within`]).
    pub locals: &'a Arc<[(u64, bool)]>,
    /// Where the function's name is, from the start of `definition`, as its last analysis
    /// found it (the same text gives the same tree); `None` to find it in the tree.
    pub name: Option<TextRange>,
}

const MAX_INFERENCE_DEPTH: u32 = 12;

impl<'t> SemanticModel<'t> {
    pub fn build(tree: &'t Tree, source: &'t str) -> Self {
        Self::build_with(tree, source, |_| {})
    }

    /// [`SemanticModel::build`], showing `each` every node of the tree in the walk's order
    /// (depth first, as a `TreeCursor` goes): another whole-file walk then needs no walk of its
    /// own.
    pub fn build_with(tree: &'t Tree, source: &'t str, mut each: impl FnMut(Node<'t>)) -> Self {
        let mut builder = Builder::new(tree, source, &[]);
        builder.walk(&mut each);
        builder.finish()
    }

    /// [`SemanticModel::build_with`] without entering the bodies in `skipped` (sorted, apart):
    /// their functions' scopes exist but hold no bindings of their own, and what they give
    /// other code (instance attributes, the async library their imports name) comes from the
    /// [`SkippedBody`] records instead. Questions about positions inside a skipped body are not
    /// for this model; questions that read the tree itself (references, control flow) still see
    /// all of it. With `analysed` (sorted ranges), `each` is shown every node inside them but
    /// not always the nodes outside.
    pub fn build_skipping(
        tree: &'t Tree,
        source: &'t str,
        skipped: &[SkippedBody<'_>],
        analysed: Option<&[TextRange]>,
        mut each: impl FnMut(Node<'t>),
    ) -> Self {
        let mut builder = Builder::new(tree, source, skipped);
        builder.analysed = analysed;
        builder.walk(&mut each);
        builder.finish()
    }

    /// Where each import ends and the module it names, in the order of the file.
    pub fn imports_at(&self) -> impl Iterator<Item = (usize, &str)> + '_ {
        self.import_positions.iter().copied().zip(self.imports.iter().map(String::as_str))
    }

    /// The `self.name = value` assignments that gave a class an instance attribute.
    pub fn receiver_assignments(&self) -> &[TextRange] {
        &self.receiver_assignments
    }

    pub(crate) fn note_never_returns_asked(&self, definition: Node<'_>) {
        if let Some(name) = definition.field(&field::NAME) {
            self.never_returns_asked.borrow_mut().push(self.text(name).to_string());
        }
    }

    /// The functions whose references some question read ([`SemanticModel::is_used_as_value`],
    /// [`SemanticModel::runs_on_worker_thread_loop`]), by name.
    pub fn references_asked(&self) -> Vec<String> {
        self.references_asked.borrow().clone()
    }

    /// Whether some question looked up, inside a skipped body, a name the body binds: then
    /// its answer may not be a whole model's, and only a whole analysis is right.
    pub fn doubted(&self) -> bool {
        self.doubted.get()
    }

    /// The hashes of the names bound in the scopes inside `range` (a function's body), sorted
    /// and without repeats, each with whether it is bound only as a parameter of the function
    /// itself: what [`SkippedBody::locals`] needs.
    pub fn names_bound_within(&self, range: TextRange) -> Vec<(u64, bool)> {
        let first = self.by_start.partition_point(|&id| self.scopes[id].range.start < range.start);
        let mut names: Vec<(u64, bool)> = self.by_start[first..]
            .iter()
            .map(|&id| &self.scopes[id])
            .take_while(|scope| scope.range.start <= range.end)
            .filter(|scope| scope.range.end <= range.end)
            .flat_map(|scope| {
                // A function's parameters are bound where its body starts, and nothing else is.
                let own = scope.range.start == range.start;
                scope
                    .bindings
                    .iter()
                    .map(move |(name, bindings)| {
                        let parameter = own && bindings.iter().all(|binding| binding.position == range.start);
                        (name_hash(name), parameter)
                    })
                    .chain(scope.unknown_locals.iter().flat_map(|locals| locals.iter().map(|(name, _)| (*name, false))))
            })
            .collect();
        names.sort_unstable_by_key(|(name, _)| *name);
        // A name bound as a parameter and anywhere else is not only a parameter.
        names.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 &= later.1;
            }
            same
        });
        names
    }

    /// The functions whose bodies [`SemanticModel::helper_definition`] handed out, by name.
    pub fn bodies_asked(&self) -> Vec<String> {
        self.bodies_asked.borrow().clone()
    }

    /// The functions asked about by [`SemanticModel::note_never_returns_asked`], by name.
    pub fn never_returns_asked(&self) -> Vec<String> {
        self.never_returns_asked.borrow().clone()
    }

    pub fn source(&self) -> &'t str {
        self.source
    }

    pub fn text(&self, node: Node<'_>) -> &'t str {
        self.source.get(node.byte_range()).unwrap_or("")
    }

    pub fn scope(&self, id: ScopeId) -> &Scope<'t> {
        &self.scopes[id]
    }

    /// The bodies of the outermost `async def`s, in source order: every position inside an
    /// async function lies in exactly one of them.
    pub fn async_function_bodies(&self) -> Vec<TextRange> {
        let mut bodies: Vec<TextRange> = Vec::new();
        for &id in &self.by_start {
            let scope = &self.scopes[id];
            if !scope.is_async_function() {
                continue;
            }
            if bodies.last().is_some_and(|last| scope.range.start < last.end) {
                continue;
            }
            bodies.push(scope.range);
        }
        bodies
    }

    /// Every comment of the file, in source order.
    pub fn comments(&self) -> &[TextRange] {
        &self.comments
    }

    /// The async library the file's imports (at any scope) show it is written for
    /// ([`AsyncLibrary::of_imports`]); `None` when it imports none. Rules ask
    /// `Checker::async_library`, which decides for files importing none.
    pub fn imported_async_library(&self) -> Option<AsyncLibrary> {
        self.imported_async_library
    }

    /// The innermost scope whose range holds `position`.
    pub fn scope_at(&self, position: usize) -> ScopeId {
        let index = self.by_start.partition_point(|&id| self.scopes[id].range.start <= position);
        let mut candidate = if index == 0 { 0 } else { self.by_start[index - 1] };
        loop {
            let scope = &self.scopes[candidate];
            if scope.range.start <= position && position <= scope.range.end {
                return candidate;
            }
            match scope.parent {
                Some(parent) => candidate = parent,
                None => return 0,
            }
        }
    }

    /// The nearest function-like scope (function or lambda) holding `position`, stopping at a
    /// class body.
    pub fn enclosing_function(&self, position: usize) -> Option<ScopeId> {
        let id = self.scope_at(position);
        match self.scopes[id].kind {
            ScopeKind::Function { .. } | ScopeKind::Lambda => Some(id),
            ScopeKind::Module | ScopeKind::Class => None,
        }
    }

    /// Whether the nearest enclosing function scope of `position` is an `async def`, or, when
    /// the top level is async code (a notebook), whether `position` is at the top level.
    pub fn in_async_function(&self, position: usize) -> bool {
        let id = self.scope_at(position);
        match self.scopes[id].kind {
            ScopeKind::Function { .. } | ScopeKind::Lambda => self.scopes[id].is_async_function(),
            ScopeKind::Module => self.top_level_await,
            ScopeKind::Class => false,
        }
    }

    /// Where async code at `position` runs, for messages: `in async function`, or `at a
    /// notebook cell's top level` when the top level is async code there.
    pub fn async_place(&self, position: usize) -> &'static str {
        if self.top_level_await && matches!(self.scopes[self.scope_at(position)].kind, ScopeKind::Module) {
            "at a notebook cell's top level"
        } else {
            "in async function"
        }
    }

    /// Makes the top level async code (a notebook's cells run on a running loop) or not.
    pub fn set_top_level_await(&mut self, top_level_await: bool) {
        self.top_level_await = top_level_await;
    }

    /// The scope that binds `name` as seen from `position` (class bodies are not visible from
    /// the functions nested in them), with its bindings of the name, and whether it is the
    /// scope of the use itself.
    fn binding_scope(&self, name: &str, position: usize) -> Option<(Cow<'_, [Binding<'t>]>, bool)> {
        let origin = self.scope_at(position);
        let mut current = Some(origin);
        while let Some(id) = current {
            let scope = &self.scopes[id];
            current = scope.parent;
            if scope.kind == ScopeKind::Class && id != origin {
                continue;
            }
            if let Some(locals) = &scope.unknown_locals
                && let Ok(index) = locals.binary_search_by_key(&name_hash(name), |(hash, _)| *hash)
            {
                // A parameter of a skipped function is found in its parameters when a question
                // needs it (the value of `self._client = client` in a skipped `__init__`):
                // binding every skipped function's parameters cost a tenth of a keystroke.
                if locals[index].1
                    && let Some(binding) = parameter_binding(scope, name, self.source)
                {
                    return Some((Cow::Owned(vec![binding]), id == origin));
                }
                self.doubted.set(true);
            }
            if let Some(bindings) = scope.bindings.get(name) {
                return Some((Cow::Borrowed(&**bindings), id == origin));
            }
        }
        None
    }

    /// The bindings `name` may refer to at `position`: in the scope of the use, the last one
    /// before it; in an enclosing scope (which runs earlier, the use runs later), all of them.
    fn candidates(&self, name: &str, position: usize) -> Vec<BindingKind<'t>> {
        match self.binding_scope(name, position) {
            Some((bindings, true)) => {
                let before = bindings.iter().rev().find(|binding| binding.position <= position);
                before.or_else(|| bindings.first()).map(|binding| binding.kind).into_iter().collect()
            }
            Some((bindings, false)) => merge_candidates(&bindings),
            None => Vec::new(),
        }
    }

    /// Every binding `name` may refer to at `position`, flow aside: all of those of the scope
    /// that binds it, earlier or later, so `try: x = a() / except E: x = b()` gives both.
    fn every_candidate(&self, name: &str, position: usize) -> Vec<BindingKind<'t>> {
        self.binding_scope(name, position).map_or_else(Vec::new, |(bindings, _)| merge_candidates(&bindings))
    }

    /// The qualified name an identifier or attribute chain resolves to through the file's
    /// imports: `pause` after `from time import sleep as pause` is `time.sleep`. A name the
    /// file does not bind resolves to `builtins.NAME`.
    pub fn qualified_name(&self, node: Node<'_>) -> Option<String> {
        match node.kind() {
            "identifier" => self.qualified_name_of_name(self.text(node), node.start_byte()),
            "attribute" => {
                let object = node.field(&field::OBJECT)?;
                let attribute = node.field(&field::ATTRIBUTE)?;
                let mut base = self.qualified_name(object)?;
                if base.starts_with("builtins.") {
                    return None;
                }
                base.push('.');
                base.push_str(self.text(attribute));
                Some(base)
            }
            "parenthesized_expression" => self.qualified_name(node.named_child(0)?),
            _ => None,
        }
    }

    /// The qualified name of the class `node`'s value was created from, when the file shows it.
    pub fn value_type(&self, node: Node<'_>) -> Option<String> {
        self.value_type_at_depth(node, 0)
    }

    fn value_type_at_depth(&self, node: Node<'_>, depth: u32) -> Option<String> {
        if depth > MAX_INFERENCE_DEPTH {
            return None;
        }
        let depth = depth + 1;
        match node.kind() {
            "call" => {
                let callee = node.field(&field::FUNCTION)?;
                if let Some(qualified) = self.qualified_name(callee)
                    && !qualified.starts_with('.')
                    && !qualified.starts_with("builtins.")
                {
                    return Some(factory_type(&qualified).unwrap_or(&qualified).to_string());
                }
                if callee.kind() != "attribute" {
                    return None;
                }
                let receiver = callee.field(&field::OBJECT)?;
                let method = self.text(callee.field(&field::ATTRIBUTE)?);
                let receiver_type = self.value_type_at_depth(receiver, depth)?;
                method_return_type(&receiver_type, method).map(str::to_string)
            }
            "identifier" => {
                let candidates = self.candidates(self.text(node), node.start_byte());
                self.merge_types(&candidates, depth)
            }
            "attribute" => {
                let object = node.field(&field::OBJECT)?;
                let attribute = self.text(node.field(&field::ATTRIBUTE)?);
                if let Some(bindings) = self.receiver_attribute(object, attribute) {
                    return self.merge_types(&bindings, depth);
                }
                let object_type = self.value_type_at_depth(object, depth)?;
                attribute_type(&object_type, attribute).map(str::to_string)
            }
            "binary_operator" => {
                let operator = node.field(&field::OPERATOR)?;
                if self.text(operator) != "/" {
                    return None;
                }
                let left = node.field(&field::LEFT)?;
                let right = node.field(&field::RIGHT)?;
                [left, right]
                    .into_iter()
                    .filter_map(|side| self.value_type_at_depth(side, depth))
                    .find(|kind| kind == PATH)
            }
            "parenthesized_expression" => self.value_type_at_depth(node.named_child(0)?, depth),
            _ => None,
        }
    }

    fn merge_types(&self, candidates: &[BindingKind<'t>], depth: u32) -> Option<String> {
        let mut merged: Option<String> = None;
        for candidate in candidates {
            let this = match *candidate {
                BindingKind::Value { value } => self.value_type_at_depth(value, depth)?,
                BindingKind::Annotated { annotation } => self.annotation_type(annotation)?,
                BindingKind::NoneValue => continue,
                _ => return None,
            };
            if merged.as_ref().is_some_and(|known| *known != this) {
                return None;
            }
            merged = Some(this);
        }
        merged
    }

    /// The class an annotation names: `X`, `mod.X`, `X | None`, `Optional[X]`.
    fn annotation_type(&self, annotation: Node<'_>) -> Option<String> {
        let mut node = annotation;
        loop {
            match node.kind() {
                "type" | "parenthesized_expression" => node = node.named_child(0)?,
                "binary_operator" => {
                    let left = node.field(&field::LEFT)?;
                    let right = node.field(&field::RIGHT)?;
                    node = if self.text(right) == "None" {
                        left
                    } else if self.text(left) == "None" {
                        right
                    } else {
                        return None;
                    };
                }
                "union_type" => {
                    let mut cursor = node.walk();
                    let members: Vec<_> =
                        node.named_children(&mut cursor).filter(|member| self.text(*member) != "None").collect();
                    let [only] = members.as_slice() else { return None };
                    node = *only;
                }
                "generic_type" | "subscript" => {
                    let base = node.named_child(0)?;
                    let name = self.qualified_name(base).or_else(|| Some(self.text(base).to_string()))?;
                    if !name.ends_with("Optional") {
                        return None;
                    }
                    let argument = node.named_child(1)?;
                    node = if argument.kind() == "type_parameter" { argument.named_child(0)? } else { argument };
                }
                "identifier" | "attribute" => {
                    let qualified = self.qualified_name(node)?;
                    if qualified.starts_with("builtins.") || qualified.starts_with('.') {
                        return None;
                    }
                    return Some(qualified);
                }
                _ => return None,
            }
        }
    }

    /// `self.name` / `cls.name` inside a method: the class's bindings of `name`, from its body
    /// and from assignments through the receiver in any of its methods.
    fn receiver_attribute(&self, object: Node<'_>, attribute: &str) -> Option<Vec<BindingKind<'t>>> {
        if object.kind() != "identifier" {
            return None;
        }
        let name = self.text(object);
        // A function nested in a method sees the method's receiver unless it binds the name.
        let mut method = self.enclosing_function(object.start_byte())?;
        while self.scopes[method].receiver.name(self.source).is_none() {
            let scope = &self.scopes[method];
            let parent = scope.parent?;
            if scope.bindings.contains_key(name) || !matches!(self.scopes[parent].kind, ScopeKind::Function { .. }) {
                return None;
            }
            method = parent;
        }
        let method_scope = &self.scopes[method];
        let receiver = method_scope.receiver.name(self.source)?;
        if receiver != name {
            return None;
        }
        self.class_attribute(method_scope.parent?, attribute, 0)
    }

    /// What `attribute` is bound to in the class scope `class` (its body and `self.x = ...` in
    /// its methods), else in its base classes defined in the same file, nearest first as the
    /// method resolution order goes for single inheritance.
    fn class_attribute(&self, class: ScopeId, attribute: &str, depth: u32) -> Option<Vec<BindingKind<'t>>> {
        // Deep enough for real hierarchies; a cycle of names (`class A(B)`, `class B(A)`) ends.
        const MAX_BASES: u32 = 8;
        let scope = &self.scopes[class];
        let mut bindings: Vec<Binding<'t>> = Vec::new();
        bindings.extend(scope.instance_attributes.get(attribute).into_iter().flatten());
        if !scope.deferred_attributes.is_empty() {
            let names = scope.deferred_names.get_or_init(|| self.deferred_names(scope));
            let replayed = names.get(&name_hash(attribute)).into_iter().flatten().filter_map(|index| {
                let (name, binding) = self.replay_attribute(scope.deferred_attributes[*index])?;
                (name == attribute).then_some(binding)
            });
            let walked = bindings.len();
            bindings.extend(replayed);
            if bindings.len() > walked {
                // In the order of the file, as a walk of every body binds them.
                bindings.sort_by_key(|binding| binding.position);
            }
        }
        bindings.extend(scope.bindings.get(attribute).into_iter().flatten());
        if !bindings.is_empty() {
            return Some(bindings.into_iter().map(|binding| binding.kind).collect());
        }
        if depth >= MAX_BASES || scope.kind != ScopeKind::Class {
            return None;
        }
        let bases = scope.node.field(&field::SUPERCLASSES)?;
        let mut cursor = bases.walk();
        // `class A(Base)` and a generic `class A(Base[T])`.
        let names: Vec<Node<'t>> = bases
            .named_children(&mut cursor)
            .filter_map(|base| if base.kind() == "subscript" { base.field(&field::VALUE) } else { Some(base) })
            .filter(|base| base.kind() == "identifier")
            .collect();
        names.into_iter().find_map(|base| {
            let candidates = self.candidates(self.text(base), base.start_byte());
            let [BindingKind::Class { node }] = candidates.as_slice() else { return None };
            let base_scope = self.scope_at(node.field(&field::BODY)?.start_byte());
            if self.scopes[base_scope].node.id() != node.id() {
                return None;
            }
            self.class_attribute(base_scope, attribute, depth + 1)
        })
    }

    /// Which of the class's deferred receiver assignments assign which name.
    fn deferred_names(&self, class: &Scope<'t>) -> HashMap<u64, Vec<usize>> {
        let mut names: HashMap<u64, Vec<usize>> = HashMap::new();
        for (index, deferred) in class.deferred_attributes.iter().enumerate() {
            if let Some((name, _)) = self.replay_attribute(*deferred) {
                names.entry(name_hash(name)).or_default().push(index);
            }
        }
        names
    }

    /// The instance attribute a skipped method's `self.name = value` at `range` binds, as the
    /// walk of its body would have bound it.
    fn replay_attribute(&self, (range, method): (TextRange, ScopeId)) -> Option<(&'t str, Binding<'t>)> {
        let method = &self.scopes[method];
        let receiver = method.receiver.name(self.source)?;
        let assignment = method
            .node
            .descendant_for_byte_range(range.start, range.end)
            .filter(|node| node.kind() == "assignment" && TextRange::of(*node) == range)?;
        let (target, position, kind) = assignment_binding(assignment)?;
        let name = (target.kind() == "attribute").then(|| receiver_attribute_name(target, receiver, self.source))??;
        Some((name, Binding { position, kind }))
    }

    // LW2xx (coroutines and tasks): what a call creates and whether its result is kept.

    /// What calling `callee` creates, as far as the file shows; rules ask through
    /// `Checker::callee_kind`, where the workspace index answers the names this gives
    /// [`CalleeKind::Unknown`] for (imports of modules other than `asyncio`, relative imports).
    pub fn callee_kind(&self, callee: Node<'_>) -> CalleeKind {
        match callee.kind() {
            "identifier" => {
                let candidates = self.candidates(self.text(callee), callee.start_byte());
                // No binding: a builtin, and no builtin is a coroutine function.
                if candidates.is_empty() { CalleeKind::NotCoroutine } else { self.callee_kind_of(&candidates) }
            }
            "attribute" => {
                let (Some(object), Some(attribute)) = (callee.field(&field::OBJECT), callee.field(&field::ATTRIBUTE))
                else {
                    return CalleeKind::Unknown;
                };
                let attribute = self.text(attribute);
                if let Some(bindings) = self.receiver_attribute(object, attribute) {
                    return self.callee_kind_of(&bindings);
                }
                if let Some(class) = self.class_of_name(object) {
                    let bindings = self.scopes[class].bindings.get(attribute);
                    let kinds: Vec<_> = bindings.into_iter().flatten().map(|binding| binding.kind).collect();
                    return if kinds.is_empty() { CalleeKind::Unknown } else { self.callee_kind_of(&kinds) };
                }
                // A method of an `asyncio` object the file shows (`lock = asyncio.Lock()`).
                if let Some(kind) = self.value_type(object).and_then(|kind| asyncio_method_kind(&kind, attribute)) {
                    return kind;
                }
                self.qualified_name(callee).map_or(CalleeKind::Unknown, |qualified| imported_callee_kind(&qualified))
            }
            "parenthesized_expression" => {
                callee.named_child(0).map_or(CalleeKind::Unknown, |inner| self.callee_kind(inner))
            }
            _ => CalleeKind::Unknown,
        }
    }

    fn callee_kind_of(&self, candidates: &[BindingKind<'t>]) -> CalleeKind {
        let mut merged: Option<CalleeKind> = None;
        for candidate in candidates {
            let this = match *candidate {
                BindingKind::Function { node, is_async: true } => {
                    if has_unknown_decorator(node, self.source) {
                        // `@async_response`, `@pytest.fixture`, ...: the name may no longer be the coroutine function.
                        CalleeKind::Unknown
                    } else if self.is_generator_function(node) {
                        CalleeKind::NotCoroutine
                    } else {
                        CalleeKind::Coroutine
                    }
                }
                BindingKind::Function { is_async: false, .. } | BindingKind::Class { .. } => CalleeKind::NotCoroutine,
                BindingKind::Import { import } => imported_callee_kind(&self.imports[import]),
                _ => CalleeKind::Unknown,
            };
            if merged.is_some_and(|known| known != this) {
                return CalleeKind::Unknown;
            }
            merged = Some(this);
        }
        merged.unwrap_or(CalleeKind::Unknown)
    }

    /// The class scope a name refers to, when its only binding is a class of this file.
    fn class_of_name(&self, name: Node<'_>) -> Option<ScopeId> {
        if name.kind() != "identifier" {
            return None;
        }
        let [BindingKind::Class { node }] = self.candidates(self.text(name), name.start_byte())[..] else {
            return None;
        };
        self.scopes.iter().position(|scope| scope.kind == ScopeKind::Class && scope.node.id() == node.id())
    }

    /// Whether `node` is an event loop where the file shows it: created by
    /// `asyncio.get_event_loop()`, `get_running_loop()`, `new_event_loop()`, or annotated as one.
    pub fn is_event_loop(&self, node: Node<'_>) -> bool {
        self.value_type(node).is_some_and(|kind| EVENT_LOOP_TYPES.contains(&kind.as_str()))
    }

    /// Whether the value of an expression is thrown away: it is an expression statement, or the
    /// value bound to a local of a function that never mentions the name again, or (with
    /// `conditions`) only tested for truth (`if x:`, `not x`, the left operand of `and`).
    /// `path` holds the nodes from the root down to the expression: asking each node for its
    /// parent costs a descent from the root every time.
    pub fn is_result_discarded(&self, path: &[Node<'_>], conditions: bool) -> bool {
        let Some((&expression, ancestors)) = path.split_last() else { return false };
        let mut node = expression;
        for &parent in ancestors.iter().rev() {
            let is_field = |field: &str| parent.child_by_field_name(field).is_some_and(|child| child.id() == node.id());
            match parent.kind() {
                "parenthesized_expression" => node = parent,
                "expression_statement" => return true,
                "assignment" => {
                    let Some(target) = parent.field(&field::LEFT) else { return false };
                    return is_field("right") && target.kind() == "identifier" && self.is_unused_local(target);
                }
                _ if !conditions => return false,
                "not_operator" | "if_clause" => return true,
                "if_statement" | "elif_clause" | "while_statement" => return is_field("condition"),
                "conditional_expression" => {
                    return parent.named_child(1).is_some_and(|condition| condition.id() == node.id());
                }
                "boolean_operator" => {
                    let is_and = parent.field(&field::OPERATOR).is_some_and(|op| self.text(op) == "and");
                    if is_and && is_field("left") {
                        return true;
                    }
                    node = parent;
                }
                _ => return false,
            }
        }
        false
    }

    /// Whether `target`, a name assigned in a function, is mentioned nowhere else in that
    /// function (nested functions included). Module and class attributes are kept by their owner.
    fn is_unused_local(&self, target: Node<'_>) -> bool {
        let Some(function) = self.enclosing_function(target.start_byte()) else { return false };
        let scope = &self.scopes[function];
        if !matches!(scope.kind, ScopeKind::Function { .. }) {
            return false;
        }
        let name = self.text(target);
        let mentions = self.mentions[function].get_or_init(|| self.count_mentions(scope.node));
        // The target is one mention of its name.
        mentions.get(&name_hash(name)).copied().unwrap_or(0) <= 1
    }

    /// How often each identifier is mentioned below `node`; `obj.name` and `f(name=...)` do
    /// not mention a local `name`.
    fn count_mentions(&self, node: Node<'_>) -> HashMap<u64, u32> {
        /// 1: an identifier, 2: an attribute, 3: a keyword argument, by kind id.
        static KINDS: LazyLock<Vec<u8>> = LazyLock::new(|| {
            named_kind_table(0, |name| match name {
                "identifier" => Some(1),
                "attribute" => Some(2),
                "keyword_argument" => Some(3),
                _ => None,
            })
        });
        let kind = |node: Node<'_>| KINDS.get(usize::from(node.kind_id())).copied().unwrap_or(0);
        let mut counts: HashMap<u64, u32> = HashMap::new();
        let mut cursor = node.walk();
        // The kinds of the nodes from `node` down to the cursor's parent.
        let mut parents: Vec<u8> = Vec::new();
        loop {
            let current = cursor.node();
            if kind(current) == 1 {
                let field = cursor.field_id().map_or(0, std::num::NonZero::get);
                let is_other_name = matches!(
                    (parents.last(), field),
                    (Some(2), id) if id == field::ATTRIBUTE.id()
                ) || matches!((parents.last(), field), (Some(3), id) if id == field::NAME.id());
                if !is_other_name {
                    *counts.entry(name_hash(self.text(current))).or_default() += 1;
                }
            }
            if cursor.goto_first_child() {
                parents.push(kind(current));
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if parents.pop().is_none() || !cursor.goto_parent() {
                    return counts;
                }
            }
        }
    }

    /// Whether a function's own body has a `yield` (an async one is an async generator).
    pub fn is_generator_function(&self, function: Node<'_>) -> bool {
        if let Some(known) = self.generators.borrow().get(&function.id()) {
            return *known;
        }
        // Most functions never spell `yield`: the text tells them apart without a walk.
        let generator = self.text(function).contains("yield") && is_generator(function);
        self.generators.borrow_mut().insert(function.id(), generator);
        generator
    }

    /// The scopes of every `async def`, in no particular order.
    pub fn async_functions(&self) -> impl Iterator<Item = ScopeId> + '_ {
        (0..self.scopes.len()).filter(|&id| self.scopes[id].is_async_function())
    }

    // --- LW3xx/LW4xx: cancellation, errors and timeouts ---

    /// Whether the bare name `name` is the builtin at `position`: the file binds it nowhere
    /// visible from there, so a fix may write it.
    pub fn is_builtin_name(&self, name: &str, position: usize) -> bool {
        self.candidates(name, position).is_empty()
    }

    /// The qualified name of the import the bare name `name` refers to at `position`, if every
    /// binding visible there is that one import.
    pub fn import_of_name(&self, name: &str, position: usize) -> Option<&str> {
        let mut found: Option<&str> = None;
        for candidate in self.candidates(name, position) {
            let BindingKind::Import { import } = candidate else { return None };
            let this = self.imports[import].as_str();
            if found.is_some_and(|known| known != this) {
                return None;
            }
            found = Some(this);
        }
        found
    }

    /// Every import the bare name `name` may refer to at `position`, for names imported one
    /// way or another (`try: from asyncio import timeout` / `except: from async_timeout import
    /// timeout`).
    pub fn possible_imports_of_name(&self, name: &str, position: usize) -> Vec<&str> {
        self.candidates(name, position)
            .into_iter()
            .filter_map(|candidate| match candidate {
                BindingKind::Import { import } => Some(self.imports[import].as_str()),
                _ => None,
            })
            .collect()
    }

    // --- LW5xx/LW6xx: structured concurrency, current APIs, resources, async protocols ---

    /// Whether the bare name `name` is, at `position`, an import of `qualified` (so an edit may
    /// write `name` and mean `qualified`).
    pub fn name_resolves_to(&self, name: &str, position: usize, qualified: &str) -> bool {
        let candidates = self.candidates(name, position);
        !candidates.is_empty()
            && candidates.iter().all(
                |candidate| matches!(candidate, BindingKind::Import { import } if self.imports[*import] == qualified),
            )
    }

    /// The qualified names of the decorators of a `function_definition` (or `class_definition`)
    /// that resolve; `@pytest.fixture(scope="module")` counts as `pytest.fixture`.
    pub fn decorator_names(&self, definition: Node<'_>) -> Vec<String> {
        let Some(parent) = definition.parent().filter(|parent| parent.kind() == "decorated_definition") else {
            return Vec::new();
        };
        let mut cursor = parent.walk();
        parent
            .named_children(&mut cursor)
            .filter(|child| child.kind() == "decorator")
            .filter_map(|decorator| {
                let expression = decorator.named_child(0)?;
                let expression =
                    if expression.kind() == "call" { expression.field(&field::FUNCTION)? } else { expression };
                self.qualified_name(expression)
            })
            .collect()
    }

    /// The call that created `node`'s value, where the file shows exactly one: followed
    /// through names, `with ... as name` and `self.name`. A parameter has no visible creation.
    pub fn creating_call(&self, node: Node<'_>) -> Option<Node<'t>> {
        self.creating_call_at_depth(node, 0)
    }

    fn creating_call_at_depth(&self, node: Node<'_>, depth: u32) -> Option<Node<'t>> {
        if depth > MAX_INFERENCE_DEPTH {
            return None;
        }
        let mut candidates = match node.kind() {
            "identifier" => self.candidates(self.text(node), node.start_byte()),
            "attribute" => {
                let object = node.field(&field::OBJECT)?;
                let attribute = self.text(node.field(&field::ATTRIBUTE)?);
                self.receiver_attribute(object, attribute)?
            }
            "parenthesized_expression" => return self.creating_call_at_depth(node.named_child(0)?, depth + 1),
            _ => return None,
        };
        candidates.retain(|candidate| !matches!(candidate, BindingKind::NoneValue));
        let [BindingKind::Value { value }] = candidates.as_slice() else { return None };
        match value.kind() {
            "call" => Some(*value),
            "identifier" | "attribute" | "parenthesized_expression" => self.creating_call_at_depth(*value, depth + 1),
            _ => None,
        }
    }

    /// Every call that may have created `node`'s value, when the file shows all of them:
    /// followed through names (every assignment in the binding scope, before or after, since
    /// branches and handlers may bind it), `with ... as name`, `self.name` (every assignment of the
    /// attribute in the class's methods) and class or module attributes. `None` when one of
    /// the values is not a visible call (a parameter, a loop target, an unpacking). An
    /// annotation without a value on an attribute (`_queue: Queue` in the class body) declares
    /// it and creates nothing; on a name it may be a parameter, whose value is unknown.
    pub fn creating_calls(&self, node: Node<'_>) -> Option<Vec<Node<'t>>> {
        let mut calls = Vec::new();
        self.collect_creating_calls(node, 0, &mut calls)?;
        (!calls.is_empty()).then_some(calls)
    }

    fn collect_creating_calls(&self, node: Node<'_>, depth: u32, calls: &mut Vec<Node<'t>>) -> Option<()> {
        if depth > MAX_INFERENCE_DEPTH {
            return None;
        }
        let (candidates, declarations_create_nothing) = match node.kind() {
            "identifier" => (self.every_candidate(self.text(node), node.start_byte()), false),
            "attribute" => {
                let object = node.field(&field::OBJECT)?;
                let attribute = self.text(node.field(&field::ATTRIBUTE)?);
                (self.receiver_attribute(object, attribute)?, true)
            }
            "parenthesized_expression" => return self.collect_creating_calls(node.named_child(0)?, depth + 1, calls),
            _ => return None,
        };
        for candidate in candidates {
            match candidate {
                BindingKind::NoneValue => {}
                BindingKind::Annotated { .. } if declarations_create_nothing => {}
                BindingKind::Value { value } if value.kind() == "call" => calls.push(value),
                BindingKind::Value { value }
                    if matches!(value.kind(), "identifier" | "attribute" | "parenthesized_expression") =>
                {
                    self.collect_creating_calls(value, depth + 1, calls)?;
                }
                _ => return None,
            }
        }
        Some(())
    }

    /// What the function a callee names is, for the async-protocol rules: the one place that
    /// answers "is this an async generator / async context manager function?". Today it knows
    /// the functions of this file (`gen`, `self.gen`, `cls.gen`); a workspace index can plug in
    /// here for imported ones.
    pub fn async_protocol_of(&self, callee: Node<'_>) -> Option<AsyncProtocol> {
        let node = self.function_definition(callee)?;
        let is_async = node.child(0).is_some_and(|first| first.kind() == "async");
        let decorators = self.decorator_names(node);
        if decorators.iter().any(|name| is_async_context_manager_decorator(name)) {
            return Some(AsyncProtocol::AsyncContextManager);
        }
        if is_async && decorators.is_empty() && self.is_generator_function(node) {
            return Some(AsyncProtocol::AsyncGenerator);
        }
        None
    }

    /// The identifiers in `body` that name `name` (attribute names and keyword names excluded),
    /// nested scopes included. They come from the file's name index, built once: a walk of
    /// `body` per question made asking about each of the module's functions quadratic (4,000
    /// async functions: 25 s).
    pub fn references_in(&self, body: Node<'t>, name: &str) -> Vec<Node<'t>> {
        self.references_with_parents_in(body, name).into_iter().map(|(reference, _)| reference).collect()
    }

    /// [`Self::references_in`], each with its parent node. One [`Ancestry`] finds them all, in
    /// order: asking each reference for its parent cost a descent from the root, and a
    /// function called 8,000 times in one operator chain took seconds.
    fn references_with_parents_in(&self, body: Node<'t>, name: &str) -> Vec<(Node<'t>, Option<Node<'t>>)> {
        let mut index = self.name_index.borrow_mut();
        let index = index.get_or_insert_with(|| name_index(self.source, self.scopes[0].node));
        let Some(ranges) = index.get(name) else { return Vec::new() };
        // The index lists ranges in the order of a pre-order walk: by start.
        let first = ranges.partition_point(|range| range.start < body.start_byte());
        let mut ancestry = Ancestry::default();
        let mut found = Vec::new();
        for range in ranges[first..].iter().take_while(|range| range.start < body.end_byte()) {
            if range.end > body.end_byte() {
                continue;
            }
            let path = ancestry.path_to_range(self.scopes[0].node, *range);
            let Some((&node, ancestors)) = path.split_last() else { continue };
            let parent = ancestors.last().copied();
            let in_body = path.iter().any(|ancestor| ancestor.id() == body.id());
            if in_body
                && node.kind() == "identifier"
                && node.byte_range() == (range.start..range.end)
                && self.text(node) == name
                && !parent.is_some_and(|parent| is_member_name_of(node, parent))
            {
                found.push((node, parent));
            }
        }
        found
    }

    // LW7xx–LW9xx (concurrency limits, async tests, TaskGroups and exception groups).

    /// The qualified name a bare `name` resolves to at `position` (see [`Self::qualified_name`]).
    pub fn qualified_name_of_name(&self, name: &str, position: usize) -> Option<String> {
        let candidates = self.candidates(name, position);
        if candidates.is_empty() {
            return Some(format!("builtins.{name}"));
        }
        let mut qualified: Option<&str> = None;
        for candidate in candidates {
            let BindingKind::Import { import } = candidate else { return None };
            let this = self.imports[import].as_str();
            if qualified.is_some_and(|known| known != this) {
                return None;
            }
            qualified = Some(this);
        }
        qualified.map(str::to_string)
    }

    /// The nodes of `kinds` under `root` that belong to `root`'s own scope: nested `def`s,
    /// lambdas and classes are not entered, since their code runs elsewhere or later.
    pub fn nodes_in_same_scope<'n>(&self, root: Node<'n>, kinds: &[&str]) -> Vec<Node<'n>> {
        let mut found = Vec::new();
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            // Keywords share some kinds with their expressions (`await`, `yield`).
            if node.is_named() && kinds.contains(&node.kind()) {
                found.push(node);
            }
            let is_scope = matches!(node.kind(), "function_definition" | "lambda" | "class_definition");
            if is_scope && node.id() != root.id() {
                continue;
            }
            let mut cursor = node.walk();
            let children: Vec<Node<'n>> = node.children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
        }
        found.sort_by_key(Node::start_byte);
        found
    }

    /// The decorators of a function or class definition, each with the qualified name of what
    /// it names or calls (`@pytest.mark.asyncio(loop_scope="module")` -> `pytest.mark.asyncio`).
    pub fn decorators<'n>(&self, definition: Node<'n>) -> Vec<(Node<'n>, Option<String>)> {
        let Some(parent) = definition.parent().filter(|parent| parent.kind() == "decorated_definition") else {
            return Vec::new();
        };
        let mut cursor = parent.walk();
        let decorators: Vec<Node<'n>> =
            parent.named_children(&mut cursor).filter(|child| child.kind() == "decorator").collect();
        decorators
            .into_iter()
            .map(|decorator| {
                let mut expression = decorator.named_child(0);
                if let Some(call) = expression.filter(|node| node.kind() == "call") {
                    expression = call.field(&field::FUNCTION);
                }
                (decorator, expression.and_then(|expression| self.qualified_name(expression)))
            })
            .collect()
    }

    /// Whether the function `definition` defines is handed on as a value somewhere in the
    /// scope that binds its name (nested scopes included): passed as an argument
    /// (`Depends(dependency)`, `add_handler(on_message)`), assigned (`app.lifespan = run`),
    /// returned, put in a collection, rather than only called. Code the file does not show
    /// (a framework, a registry) then calls it, and decides what kind of function it must be.
    pub fn is_used_as_value(&self, definition: Node<'t>) -> bool {
        let Some(name) = definition.field(&field::NAME) else { return false };
        self.references_asked.borrow_mut().push(self.text(name).to_string());
        let binding_scope = &self.scopes[self.scope_at(definition.start_byte())];
        let name_text = self.text(name);
        self.references_with_parents_in(binding_scope.node, name_text).into_iter().any(|(reference, parent)| {
            if reference.id() == name.id() {
                return false;
            }
            let called = parent.is_some_and(|parent| {
                matches!(parent.kind(), "call" | "decorator")
                    && parent.field(&field::FUNCTION).or_else(|| parent.named_child(0)).map(|callee| callee.id())
                        == Some(reference.id())
            });
            !called
                && !parent.is_some_and(|parent| is_binding_occurrence_of(reference, parent))
                && self.function_definition(reference).is_some_and(|node| node.id() == definition.id())
        })
    }

    /// Whether the coroutine function `function` only ever runs on an event loop of its own
    /// in a worker thread, where the file shows every use of it: each use is a call `f(...)`
    /// handed to `asyncio.run` by a thread (`Thread(target=asyncio.run, args=(f(),))`,
    /// `to_thread(asyncio.run, f())`), or run by `asyncio.run`/`run_until_complete` in a
    /// lambda or sync function that is a thread's entry point (`Thread(target=main)`,
    /// `executor.submit(main)`, `run` of a `threading.Thread` subclass). Blocking that loop
    /// holds up no other code's tasks.
    pub fn runs_on_worker_thread_loop(&self, function: Node<'t>) -> bool {
        if let Some(known) = self.worker_loop_answers.borrow().get(&function.id()) {
            return *known;
        }
        let answer = self.runs_on_worker_thread_loop_uncached(function);
        self.worker_loop_answers.borrow_mut().insert(function.id(), answer);
        answer
    }

    fn runs_on_worker_thread_loop_uncached(&self, function: Node<'t>) -> bool {
        let references = self.references_to_function(function);
        !references.is_empty()
            && references.into_iter().all(|reference| {
                reference
                    .parent()
                    .filter(|parent| {
                        parent.kind() == "call"
                            && parent.field(&field::FUNCTION).is_some_and(|callee| callee.id() == reference.id())
                    })
                    .is_some_and(|call| self.runs_coroutine_on_worker_thread(call))
            })
    }

    fn runs_coroutine_on_worker_thread(&self, coroutine: Node<'_>) -> bool {
        // The call that receives the coroutine, through `args=(...)` tuples and lists.
        let mut current = coroutine;
        let receiver = loop {
            let Some(parent) = current.parent() else { return false };
            match parent.kind() {
                "tuple" | "list" | "keyword_argument" | "argument_list" | "parenthesized_expression" => {
                    current = parent;
                }
                "call" => break parent,
                _ => return false,
            }
        };
        if self.is_thread_spawner(receiver) {
            return call_arguments(receiver)
                .into_iter()
                .any(|argument| self.qualified_name(argument).is_some_and(|qualified| qualified == "asyncio.run"));
        }
        let Some(callee) = receiver.field(&field::FUNCTION) else { return false };
        let is_runner = self.qualified_name(callee).is_some_and(|qualified| qualified == "asyncio.run")
            || (callee.kind() == "attribute"
                && callee.field(&field::ATTRIBUTE).is_some_and(|method| self.text(method) == "run_until_complete"));
        if !is_runner {
            return false;
        }
        let scope = &self.scopes[self.scope_at(receiver.start_byte())];
        match scope.kind {
            ScopeKind::Lambda => self.is_handed_to_thread(scope.node),
            ScopeKind::Function { is_async: false } => {
                self.is_thread_run_method(scope)
                    || self
                        .references_to_function(scope.node)
                        .into_iter()
                        .any(|reference| self.is_handed_to_thread(reference))
            }
            _ => false,
        }
    }

    /// `threading.Thread(...)`, `asyncio.to_thread(...)`, `loop.run_in_executor(...)`,
    /// `executor.submit(...)`, `_thread.start_new_thread(...)`: calls that run a callable on
    /// another thread.
    fn is_thread_spawner(&self, call: Node<'_>) -> bool {
        let Some(callee) = call.field(&field::FUNCTION) else { return false };
        if let Some(qualified) = self.qualified_name(callee)
            && matches!(
                qualified.as_str(),
                "threading.Thread" | "asyncio.to_thread" | "_thread.start_new_thread" | "anyio.to_thread.run_sync"
            )
        {
            return true;
        }
        callee.kind() == "attribute"
            && callee
                .field(&field::ATTRIBUTE)
                .is_some_and(|method| matches!(self.text(method), "submit" | "run_in_executor"))
    }

    /// `node` (a lambda or a reference to a function) is an argument of a thread spawner.
    fn is_handed_to_thread(&self, node: Node<'_>) -> bool {
        let mut current = node;
        while let Some(parent) = current.parent() {
            match parent.kind() {
                "keyword_argument" | "argument_list" => current = parent,
                "call" => {
                    return parent.field(&field::ARGUMENTS).is_some_and(|arguments| arguments.id() == current.id())
                        && self.is_thread_spawner(parent);
                }
                _ => return false,
            }
        }
        false
    }

    /// `def run(self)` of a class whose bases name `threading.Thread`.
    fn is_thread_run_method(&self, scope: &Scope<'t>) -> bool {
        let is_run = scope.node.field(&field::NAME).is_some_and(|name| self.text(name) == "run");
        let Some(class) =
            scope.parent.map(|parent| &self.scopes[parent]).filter(|class| class.kind == ScopeKind::Class)
        else {
            return false;
        };
        is_run
            && class.node.field(&field::SUPERCLASSES).is_some_and(|bases| {
                call_arguments(bases)
                    .into_iter()
                    .any(|base| self.qualified_name(base).is_some_and(|qualified| qualified == "threading.Thread"))
            })
    }

    /// The references to the function `definition` defines, by name or through `self.`.
    fn references_to_function(&self, definition: Node<'t>) -> Vec<Node<'t>> {
        let Some(name) = definition.field(&field::NAME) else { return Vec::new() };
        self.references_asked.borrow_mut().push(self.text(name).to_string());
        let root = self.scopes[0].node;
        let name_text = self.text(name);
        let ranges = {
            let mut index = self.name_index.borrow_mut();
            let index = index.get_or_insert_with(|| name_index(self.source, root));
            index.get(name_text).cloned().unwrap_or_default()
        };
        let mut found = Vec::new();
        for range in ranges {
            let Some(node) = root.descendant_for_byte_range(range.start, range.end) else { continue };
            let is_reference = match node.kind() {
                "identifier" => {
                    self.text(node) == name_text
                        && !is_member_name(node)
                        && node.id() != name.id()
                        && !is_binding_occurrence(node)
                }
                "attribute" => node.field(&field::ATTRIBUTE).is_some_and(|attribute| self.text(attribute) == name_text),
                _ => false,
            };
            if is_reference
                && self
                    .function_definition(node)
                    .is_some_and(|found_definition| found_definition.id() == definition.id())
            {
                found.push(node);
            }
        }
        found
    }

    /// The value a name holds at its position, when the file shows exactly one assignment.
    pub fn assigned_value(&self, name: Node<'_>) -> Option<Node<'t>> {
        let candidates = self.candidates(self.text(name), name.start_byte());
        let [BindingKind::Value { value }] = candidates.as_slice() else { return None };
        Some(*value)
    }

    /// [`SemanticModel::function_definition`] for a question that reads the body of the
    /// function (does the helper re-raise, does the coroutine bound itself): the findings of
    /// the code asking then depend on that body, which [`crate::analysis::incremental`] must
    /// know.
    pub fn helper_definition(&self, callee: Node<'_>) -> Option<Node<'t>> {
        let definition = self.function_definition(callee)?;
        if let Some(name) = definition.field(&field::NAME) {
            self.bodies_asked.borrow_mut().push(self.text(name).to_string());
        }
        Some(definition)
    }

    /// The `def` a callee names in this file: a function bound in an enclosing scope, or a
    /// method of the enclosing class reached through `self.`/`cls.`.
    pub fn function_definition(&self, callee: Node<'_>) -> Option<Node<'t>> {
        let candidates = match callee.kind() {
            "identifier" => self.candidates(self.text(callee), callee.start_byte()),
            "attribute" => {
                let object = callee.field(&field::OBJECT)?;
                let attribute = self.text(callee.field(&field::ATTRIBUTE)?);
                self.receiver_attribute(object, attribute)?
            }
            _ => return None,
        };
        let [BindingKind::Function { node, .. }] = candidates.as_slice() else { return None };
        Some(*node)
    }
}

/// The nodes of `node`'s subtree (itself included), in source order, that run where `node`
/// runs: nested functions, lambdas and classes are not entered (comprehensions are).
pub fn nodes_in_same_scope(node: Node<'_>) -> Vec<Node<'_>> {
    let mut found = Vec::new();
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        found.push(current);
        if current != node && matches!(current.kind(), "function_definition" | "lambda" | "class_definition") {
            continue;
        }
        let mut cursor = current.walk();
        let children: Vec<_> = current.named_children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    found.retain(|found| {
        *found == node || !matches!(found.kind(), "function_definition" | "lambda" | "class_definition")
    });
    found
}

/// Whether running `node` may suspend the task: it holds an `await`, an `async for` or an
/// `async with` outside nested scopes.
pub fn suspends(node: Node<'_>) -> bool {
    nodes_in_same_scope(node).into_iter().any(|inner| match inner.kind() {
        "await" => true,
        "for_statement" | "with_statement" | "for_in_clause" => {
            let mut cursor = inner.walk();
            inner.children(&mut cursor).any(|child| child.kind() == "async")
        }
        _ => false,
    })
}

/// What a function called through a callee is, as far as `async with`/`async for` go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsyncProtocol {
    /// Decorated with `@asynccontextmanager`: use it with `async with`.
    AsyncContextManager,
    /// An undecorated `async def` that yields: iterate it with `async for`.
    AsyncGenerator,
}

pub fn is_async_context_manager_decorator(qualified: &str) -> bool {
    matches!(qualified, "contextlib.asynccontextmanager")
}

/// Whether a function's own body (not a nested function, lambda or class) has a `yield`.
pub(crate) fn is_generator(function: Node<'_>) -> bool {
    let Some(body) = function.field(&field::BODY) else { return false };
    let mut pending = vec![body];
    while let Some(node) = pending.pop() {
        if node.kind() == "yield" && node.is_named() {
            return true;
        }
        if matches!(node.kind(), "function_definition" | "lambda" | "class_definition") {
            continue;
        }
        let mut cursor = node.walk();
        pending.extend(node.children(&mut cursor));
    }
    false
}

/// `x` in `obj.x` and in `f(x=1)` are member names, not references to a variable `x`.
fn is_member_name(identifier: Node<'_>) -> bool {
    identifier.parent().is_some_and(|parent| is_member_name_of(identifier, parent))
}

/// [`is_member_name`] with the identifier's `parent` known.
fn is_member_name_of(identifier: Node<'_>, parent: Node<'_>) -> bool {
    match parent.kind() {
        "attribute" => parent.field(&field::ATTRIBUTE).is_some_and(|name| name.id() == identifier.id()),
        "keyword_argument" => parent.field(&field::NAME).is_some_and(|name| name.id() == identifier.id()),
        _ => false,
    }
}

/// An identifier that binds a name rather than reading it: a parameter, a definition's name,
/// an assignment or loop target, an import, a `global`/`nonlocal` declaration.
fn is_binding_occurrence(identifier: Node<'_>) -> bool {
    identifier.parent().is_some_and(|parent| is_binding_occurrence_of(identifier, parent))
}

/// [`is_binding_occurrence`] with the identifier's `parent` known.
fn is_binding_occurrence_of(identifier: Node<'_>, parent: Node<'_>) -> bool {
    let is_field = |field: &str| parent.child_by_field_name(field).is_some_and(|node| node.id() == identifier.id());
    match parent.kind() {
        "parameters"
        | "lambda_parameters"
        | "typed_parameter"
        | "list_splat_pattern"
        | "dictionary_splat_pattern"
        | "function_definition"
        | "class_definition"
        | "global_statement"
        | "nonlocal_statement"
        | "dotted_name"
        | "aliased_import"
        | "as_pattern_target"
        | "pattern_list"
        | "tuple_pattern" => true,
        "default_parameter" | "typed_default_parameter" => is_field("name"),
        "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => is_field("left"),
        _ => false,
    }
}

/// The arguments of an argument list (or a class's bases): positional ones and the values of
/// keyword ones.
fn call_arguments(arguments: Node<'_>) -> Vec<Node<'_>> {
    let arguments = arguments.field(&field::ARGUMENTS).unwrap_or(arguments);
    let mut cursor = arguments.walk();
    arguments
        .named_children(&mut cursor)
        .filter_map(|argument| match argument.kind() {
            "keyword_argument" => argument.field(&field::VALUE),
            "comment" => None,
            _ => Some(argument),
        })
        .collect()
}

fn merge_candidates<'t>(bindings: &[Binding<'t>]) -> Vec<BindingKind<'t>> {
    let meaningful: Vec<_> = bindings
        .iter()
        .filter(|binding| !matches!(binding.kind, BindingKind::NoneValue))
        .map(|binding| binding.kind)
        .collect();
    if meaningful.is_empty() { bindings.iter().map(|binding| binding.kind).collect() } else { meaningful }
}

/// `pathlib.Path` and its concrete subclasses are one type for the rules.
pub const PATH: &str = "pathlib.Path";
/// What `executor.submit(...)` and `asyncio.run_coroutine_threadsafe(...)` return.
pub const CONCURRENT_FUTURE: &str = "concurrent.futures.Future";

/// Calls whose result is an instance of another class than their qualified name says.
fn factory_type(qualified: &str) -> Option<&'static str> {
    Some(match qualified {
        "pathlib.Path" | "pathlib.PosixPath" | "pathlib.WindowsPath" | "pathlib.Path.home" | "pathlib.Path.cwd" => PATH,
        "requests.session" | "requests.sessions.Session" | "requests.Session" => "requests.Session",
        "asyncio.run_coroutine_threadsafe" => CONCURRENT_FUTURE,
        "concurrent.futures.thread.ThreadPoolExecutor" => "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.process.ProcessPoolExecutor" => "concurrent.futures.ProcessPoolExecutor",
        _ => return None,
    })
}

/// The class a method of a known class returns, when it matters to a rule.
fn method_return_type(receiver: &str, method: &str) -> Option<&'static str> {
    match (receiver, method) {
        (
            PATH,
            "joinpath" | "with_name" | "with_suffix" | "with_stem" | "resolve" | "absolute" | "expanduser"
            | "relative_to" | "readlink",
        ) => Some(PATH),
        (
            "concurrent.futures.ThreadPoolExecutor"
            | "concurrent.futures.ProcessPoolExecutor"
            | "concurrent.futures.Executor",
            "submit",
        ) => Some(CONCURRENT_FUTURE),
        _ => None,
    }
}

/// The class an attribute of a known class holds, when it matters to a rule.
fn attribute_type(object: &str, attribute: &str) -> Option<&'static str> {
    match (object, attribute) {
        (PATH, "parent") => Some(PATH),
        _ => None,
    }
}

// LW2xx (coroutines and tasks).

/// What calling a callee creates: [`SemanticModel::callee_kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalleeKind {
    /// An `async def` (not an async generator) or a known `asyncio` coroutine function.
    Coroutine,
    /// A plain function, a class, an async generator function or another `asyncio` name.
    NotCoroutine,
    /// Not shown by the file: a parameter, an unknown receiver, an import of another module.
    Unknown,
}

/// The `asyncio` functions that are `async def`s: calling one creates a coroutine.
const ASYNCIO_COROUTINE_FUNCTIONS: &[&str] = &[
    "sleep",
    "wait_for",
    "wait",
    "open_connection",
    "open_unix_connection",
    "start_server",
    "start_unix_server",
    "create_subprocess_exec",
    "create_subprocess_shell",
    "to_thread",
];

/// What `asyncio.get_event_loop()` and its kin return, and the annotations naming a loop.
const EVENT_LOOP_TYPES: &[&str] = &[
    "asyncio.get_event_loop",
    "asyncio.get_running_loop",
    "asyncio.new_event_loop",
    "asyncio.events.get_event_loop",
    "asyncio.events.get_running_loop",
    "asyncio.events.new_event_loop",
    "asyncio.AbstractEventLoop",
    "asyncio.events.AbstractEventLoop",
    "asyncio.BaseEventLoop",
    "asyncio.base_events.BaseEventLoop",
    "asyncio.SelectorEventLoop",
    "asyncio.ProactorEventLoop",
    "uvloop.new_event_loop",
    "uvloop.Loop",
];

/// A method of a value whose `asyncio` class the file shows; `None` for other classes.
fn asyncio_method_kind(class: &str, method: &str) -> Option<CalleeKind> {
    let coroutine = if EVENT_LOOP_TYPES.contains(&class) {
        matches!(
            method,
            "create_connection"
                | "create_server"
                | "create_unix_connection"
                | "create_unix_server"
                | "create_datagram_endpoint"
                | "getaddrinfo"
                | "getnameinfo"
                | "sock_recv"
                | "sock_recv_into"
                | "sock_sendall"
                | "sock_connect"
                | "sock_accept"
                | "sock_sendfile"
                | "sendfile"
                | "start_tls"
                | "connect_read_pipe"
                | "connect_write_pipe"
                | "subprocess_exec"
                | "subprocess_shell"
                | "shutdown_asyncgens"
                | "shutdown_default_executor"
        )
    } else {
        match class.strip_prefix("asyncio.")? {
            "Lock" | "Semaphore" | "BoundedSemaphore" => method == "acquire",
            "Event" => method == "wait",
            "Condition" => matches!(method, "acquire" | "wait" | "wait_for"),
            "Queue" | "PriorityQueue" | "LifoQueue" => matches!(method, "get" | "put" | "join"),
            "Barrier" => matches!(method, "wait" | "reset" | "abort"),
            _ => return None,
        }
    };
    Some(if coroutine { CalleeKind::Coroutine } else { CalleeKind::NotCoroutine })
}

/// An imported callee: `asyncio` names are known; any other module needs the workspace index.
fn imported_callee_kind(qualified: &str) -> CalleeKind {
    let Some(member) = qualified.strip_prefix("asyncio.") else { return CalleeKind::Unknown };
    // `asyncio.tasks.sleep` is `asyncio.sleep`.
    let member = member.rsplit('.').next().unwrap_or(member);
    if ASYNCIO_COROUTINE_FUNCTIONS.contains(&member) { CalleeKind::Coroutine } else { CalleeKind::NotCoroutine }
}

/// Whether a function has a decorator that may replace it by something else than the
/// coroutine function (all but `staticmethod`, `classmethod`, `abstractmethod`, `override`, `wraps`).
fn has_unknown_decorator(function: Node<'_>, source: &str) -> bool {
    let Some(parent) = function.parent().filter(|parent| parent.kind() == "decorated_definition") else { return false };
    let mut cursor = parent.walk();
    parent.named_children(&mut cursor).filter(|child| child.kind() == "decorator").any(|decorator| {
        let text = source.get(decorator.byte_range()).unwrap_or("").trim_start_matches('@').trim();
        let name = text.split('(').next().unwrap_or(text);
        let last = name.rsplit('.').next().unwrap_or(name).trim();
        !matches!(last, "staticmethod" | "classmethod" | "abstractmethod" | "override" | "wraps")
    })
}

struct Builder<'t, 's> {
    tree: &'t Tree,
    source: &'t str,
    skipped: &'s [SkippedBody<'s>],
    /// The ranges whose findings are wanted (sorted), when not the whole file's: outside them,
    /// `each` need not see every node, and the walk does not enter nodes that bind nothing.
    analysed: Option<&'s [TextRange]>,
    /// The last `decorated_definition` the walk saw: the parent of the definition after it.
    decorated: Option<Node<'t>>,
    /// The modules that imports in skipped bodies name.
    skipped_imports: Vec<&'s str>,
    receiver_assignments: Vec<TextRange>,
    scopes: Vec<Scope<'t>>,
    imports: Vec<(ScopeId, &'t str, usize, String)>,
    comments: Vec<TextRange>,
    /// Body nodes whose scope starts when the walk enters them: (node id, scope).
    pending_bodies: Vec<(usize, ScopeId)>,
}

impl<'t, 's> Builder<'t, 's> {
    fn new(tree: &'t Tree, source: &'t str, skipped: &'s [SkippedBody<'s>]) -> Self {
        let root = tree.root_node();
        let module = Scope {
            kind: ScopeKind::Module,
            range: TextRange::new(0, source.len().max(root.end_byte())),
            parent: None,
            node: root,
            receiver: Receiver::None,
            bindings: HashMap::new(),
            instance_attributes: HashMap::new(),
            unknown_locals: None,
            deferred_attributes: Vec::new(),
            deferred_names: std::cell::OnceCell::new(),
        };
        Self {
            tree,
            source,
            skipped,
            analysed: None,
            decorated: None,
            skipped_imports: Vec::new(),
            receiver_assignments: Vec::new(),
            // A skipped definition makes a scope each: growing the vector of large scopes one
            // doubling at a time was a copy of all of them, several times per keystroke.
            scopes: {
                let mut scopes = Vec::with_capacity(skipped.len() + 64);
                scopes.push(module);
                scopes
            },
            imports: Vec::new(),
            comments: Vec::new(),
            pending_bodies: Vec::new(),
        }
    }

    fn text(&self, node: Node<'_>) -> &'t str {
        self.source.get(node.byte_range()).unwrap_or("")
    }

    /// One iterative pre-order walk (Python trees can be deeper than the native stack allows
    /// for recursion), keeping a stack of the scopes whose bodies the walk is inside.
    fn walk(&mut self, each: &mut impl FnMut(Node<'t>)) {
        let mut cursor = self.tree.walk();
        let mut stack: Vec<(usize, ScopeId)> = vec![(self.tree.root_node().id(), 0)];
        let mut next_skipped = 0;
        loop {
            let node = cursor.node();
            if let Some(index) = self.pending_bodies.iter().position(|(id, _)| *id == node.id()) {
                let (_, scope) = self.pending_bodies.swap_remove(index);
                stack.push((node.id(), scope));
            }
            let current = stack.last().map_or(0, |(_, scope)| *scope);
            while self.skipped.get(next_skipped).is_some_and(|skipped| skipped.definition.start < node.start_byte()) {
                next_skipped += 1;
            }
            let skip = self.skipped.get(next_skipped).copied().filter(|skipped| {
                skipped.definition == TextRange::of(node)
                    && matches!(node.kind(), "function_definition" | "decorated_definition")
            });
            if let Some(skipped) = skip {
                // Only the binding of its name and its scope (with the receiver that replayed
                // `self.` assignments need): its decorators, parameters and body are not walked.
                next_skipped += 1;
                self.skip_definition(node, skipped, current);
            } else {
                self.visit(node, current);
                each(node);
                if !self.binds_nothing_below(node) && cursor.goto_first_child() {
                    continue;
                }
            }
            loop {
                if stack.len() > 1 && stack.last().is_some_and(|(id, _)| *id == cursor.node().id()) {
                    stack.pop();
                }
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
            }
        }
    }

    /// Whether the walk may leave out `node`'s descendants: outside the analysed ranges, an
    /// import (bound whole by its `visit`), a string without interpolations and an expression
    /// without a lambda or a `:=` bind no name below themselves. At 100k lines imports and
    /// strings were a quarter of the nodes a keystroke walked; at 20k lines expressions (class
    /// attributes, module-level tables) were two fifths of the rest.
    fn binds_nothing_below(&self, node: Node<'t>) -> bool {
        static KINDS: LazyLock<Vec<u8>> = LazyLock::new(|| {
            named_kind_table(0, |name| match name {
                "import_statement" | "import_from_statement" | "future_import_statement" => Some(1),
                "string" => Some(2),
                "call"
                | "argument_list"
                | "dictionary"
                | "list"
                | "tuple"
                | "set"
                | "parenthesized_expression"
                | "binary_operator"
                | "boolean_operator"
                | "comparison_operator"
                | "attribute"
                | "subscript"
                | "conditional_expression"
                | "list_comprehension"
                | "dictionary_comprehension"
                | "set_comprehension"
                | "generator_expression"
                | "concatenated_string"
                | "unary_operator"
                | "not_operator"
                | "await"
                | "keyword_argument"
                | "pair" => Some(3),
                _ => None,
            })
        });
        let Some(analysed) = self.analysed else { return false };
        let kind = KINDS.get(usize::from(node.kind_id())).copied().unwrap_or(0);
        if kind == 0 {
            return false;
        }
        let index = analysed.partition_point(|range| range.end <= node.start_byte());
        if analysed.get(index).is_some_and(|range| range.start < node.end_byte()) {
            return false;
        }
        match kind {
            1 => true,
            // `string_start`, `string_content`, `string_end`: no interpolation.
            2 => node.child_count() <= 3,
            // Only a lambda and a `:=` bind inside an expression; the text tells without a walk.
            3 => {
                let text = self.text(node).as_bytes();
                memchr::memmem::find(text, b"lambda").is_none() && memchr::memmem::find(text, b":=").is_none()
            }
            _ => false,
        }
    }

    /// A skipped function's definition: its name bound, its scope made, and what the walk
    /// would have taken from its body for the rest of the file.
    fn skip_definition(&mut self, node: Node<'t>, skipped: SkippedBody<'s>, scope: ScopeId) {
        let function = if kind::DECORATED_DEFINITION.is(node) { node.field(&field::DEFINITION) } else { Some(node) };
        let Some(function) = function.filter(|function| kind::FUNCTION_DEFINITION.is(*function)) else {
            return;
        };
        let source = self.source;
        let name = match skipped.name {
            Some(name) => {
                let name = name.moved_by(skipped.definition.start);
                source.get(name.start..name.end)
            }
            None => function.field(&field::NAME).and_then(|name| source.get(name.byte_range())),
        };
        let Some(name) = name else { return };
        let is_async = function.child(0).is_some_and(|first| kind::ASYNC.is(first));
        let binding =
            Binding { position: function.start_byte(), kind: BindingKind::Function { node: function, is_async } };
        add_binding(&mut self.scopes[scope].bindings, name, binding);
        let decorated = (node.id() != function.id()).then_some(node);
        let receiver = match self.scopes[scope].kind {
            ScopeKind::Class => Receiver::OfSkipped { function, decorated },
            _ => Receiver::None,
        };
        // Its body's range is the one its last analysis saw, moved (the same text gives the
        // same tree); the walk never enters the body, so its scope is never pushed.
        let function_scope =
            self.push_scope_over(ScopeKind::Function { is_async }, function, skipped.body, scope, receiver);
        self.scopes[function_scope].unknown_locals = Some(Arc::clone(skipped.locals));
        let start = skipped.definition.start;
        let deferred = skipped.receiver_assignments.iter().map(|range| (range.moved_by(start), function_scope));
        self.scopes[scope].deferred_attributes.extend(deferred);
        self.skipped_imports.extend(skipped.imports.iter().map(String::as_str));
    }

    /// A function's scope; `decorated` is the `decorated_definition` around it, if any (found
    /// by the walk: `Node::parent` searches down from the root, once per method was a cost).
    fn new_function_scope(
        &mut self,
        is_async: bool,
        node: Node<'t>,
        decorated: Option<Node<'t>>,
        body: FunctionBody<'t>,
        parent: ScopeId,
    ) -> ScopeId {
        let receiver = match self.scopes[parent].kind {
            ScopeKind::Class => Receiver::OfSkipped { function: node, decorated }
                .name(self.source)
                .map_or(Receiver::None, Receiver::Named),
            _ => Receiver::None,
        };
        // Over its whole [`FunctionBody`]: the walk enters it at the block and at the `ERROR`
        // node before it, if any.
        let id = self.push_scope_over(ScopeKind::Function { is_async }, node, body.range, parent, receiver);
        self.pending_bodies.extend(body.error.into_iter().chain([body.block]).map(|entered| (entered.id(), id)));
        id
    }

    fn new_scope(&mut self, kind: ScopeKind, node: Node<'t>, body: Node<'t>, parent: ScopeId) -> ScopeId {
        self.push_scope(kind, node, body, parent, Receiver::None)
    }

    fn push_scope(
        &mut self,
        kind: ScopeKind,
        node: Node<'t>,
        body: Node<'t>,
        parent: ScopeId,
        receiver: Receiver<'t>,
    ) -> ScopeId {
        let id = self.push_scope_over(kind, node, TextRange::of(body), parent, receiver);
        self.pending_bodies.push((body.id(), id));
        id
    }

    /// A scope over `range`, which the walk does not enter (see [`Builder::push_scope`]).
    fn push_scope_over(
        &mut self,
        kind: ScopeKind,
        node: Node<'t>,
        range: TextRange,
        parent: ScopeId,
        receiver: Receiver<'t>,
    ) -> ScopeId {
        let id = self.scopes.len();
        self.scopes.push(Scope {
            kind,
            range,
            parent: Some(parent),
            node,
            receiver,
            bindings: HashMap::new(),
            instance_attributes: HashMap::new(),
            unknown_locals: None,
            deferred_attributes: Vec::new(),
            deferred_names: std::cell::OnceCell::new(),
        });
        id
    }

    fn bind(&mut self, scope: ScopeId, name: Node<'t>, position: usize, kind: BindingKind<'t>) {
        let name = self.text(name);
        add_binding(&mut self.scopes[scope].bindings, name, Binding { position, kind });
    }

    fn visit(&mut self, node: Node<'t>, scope: ScopeId) {
        // Every node of the file passes here: its kind is looked up by id, not compared as text.
        static VISITED: LazyLock<Vec<Option<&'static str>>> = LazyLock::new(|| {
            named_kind_table(None, |name| {
                const KINDS: &[&str] = &[
                    "comment",
                    "decorated_definition",
                    "function_definition",
                    "lambda",
                    "class_definition",
                    "import_statement",
                    "import_from_statement",
                    "assignment",
                    "named_expression",
                    "for_statement",
                    "with_item",
                    "except_clause",
                ];
                KINDS.iter().find(|kind| **kind == name).map(|kind| Some(*kind))
            })
        });
        let Some(kind) = VISITED.get(usize::from(node.kind_id())).copied().flatten() else { return };
        match kind {
            // tree-sitter-python's comment token takes the `\r` of a CRLF line break.
            "comment" => {
                let text = &self.source[node.start_byte()..node.end_byte()];
                let end = node.start_byte() + text.trim_end_matches('\r').len();
                self.comments.push(TextRange::new(node.start_byte(), end));
            }
            "decorated_definition" => self.decorated = Some(node),
            "function_definition" => self.visit_function(node, scope),
            "lambda" => {
                let Some(body) = node.field(&field::BODY) else { return };
                let lambda = self.new_scope(ScopeKind::Lambda, node, body, scope);
                if let Some(parameters) = node.field(&field::PARAMETERS) {
                    self.bind_parameters(lambda, parameters, body.start_byte());
                }
            }
            "class_definition" => {
                let (Some(name), Some(body)) = (node.field(&field::NAME), node.field(&field::BODY)) else {
                    return;
                };
                self.bind(scope, name, node.start_byte(), BindingKind::Class { node });
                self.new_scope(ScopeKind::Class, node, body, scope);
            }
            "import_statement" => self.visit_import(node, scope),
            "import_from_statement" => self.visit_import_from(node, scope),
            "assignment" => self.visit_assignment(node, scope),
            "named_expression" => {
                if let (Some(name), Some(value)) = (node.field(&field::NAME), node.field(&field::VALUE)) {
                    self.bind(scope, name, node.end_byte(), BindingKind::Value { value });
                }
            }
            "for_statement" => {
                if let Some(left) = node.field(&field::LEFT) {
                    let position = left.end_byte();
                    self.bind_targets_unknown(scope, left, position);
                }
            }
            "with_item" => self.visit_with_item(node, scope),
            "except_clause" => {
                // tree-sitter-python 0.25 writes `except E as name` as an `as_pattern` in the
                // clause's `value`; older grammars used an `alias` field.
                let value = node.field(&field::VALUE).filter(|value| value.kind() == "as_pattern");
                let alias = value.and_then(|value| value.field(&field::ALIAS)).or_else(|| node.field(&field::ALIAS));
                if let Some(alias) = alias {
                    self.bind_targets_unknown(scope, alias, alias.end_byte());
                }
            }
            _ => {}
        }
    }

    fn visit_function(&mut self, node: Node<'t>, scope: ScopeId) {
        let (Some(name), Some(body)) = (node.field(&field::NAME), function_body(node)) else {
            return;
        };
        let is_async = node.child(0).is_some_and(|first| first.kind() == "async");
        self.bind(scope, name, node.start_byte(), BindingKind::Function { node, is_async });
        let decorated = self.decorated.filter(|decorated| {
            decorated.field(&field::DEFINITION).is_some_and(|definition| definition.id() == node.id())
        });
        let function = self.new_function_scope(is_async, node, decorated, body, scope);
        if let Some(parameters) = node.field(&field::PARAMETERS) {
            self.bind_parameters(function, parameters, body.range.start);
        }
    }

    fn bind_parameters(&mut self, scope: ScopeId, parameters: Node<'t>, position: usize) {
        for_each_parameter(parameters, |name, kind| self.bind(scope, name, position, kind));
    }

    fn visit_import(&mut self, node: Node<'t>, scope: ScopeId) {
        let mut cursor = node.walk();
        for name in node.children_by_field_id(field::NAME.field_id(), &mut cursor) {
            match name.kind() {
                "dotted_name" => {
                    // `import a.b.c` binds `a`, which is the module `a`.
                    let Some(first) = name.named_child(0) else { continue };
                    let first_name = self.text(first);
                    self.imports.push((scope, first_name, node.end_byte(), first_name.to_string()));
                }
                "aliased_import" => {
                    let (Some(module), Some(alias)) = (name.field(&field::NAME), name.field(&field::ALIAS)) else {
                        continue;
                    };
                    let qualified = self.text(module).to_string();
                    self.imports.push((scope, self.text(alias), node.end_byte(), qualified));
                }
                _ => {}
            }
        }
    }

    fn visit_import_from(&mut self, node: Node<'t>, scope: ScopeId) {
        let Some(module) = node.field(&field::MODULE_NAME) else { return };
        let module_text = self.text(module);
        // Spelled without white space nearly always: then it is not copied.
        let module_name: Cow<'t, str> = if module_text.chars().any(char::is_whitespace) {
            Cow::Owned(module_text.chars().filter(|c| !c.is_whitespace()).collect())
        } else {
            Cow::Borrowed(module_text)
        };
        let mut cursor = node.walk();
        for name in node.children_by_field_id(field::NAME.field_id(), &mut cursor) {
            let (member, local) = match name.kind() {
                "dotted_name" => (name, name),
                "aliased_import" => {
                    let (Some(member), Some(alias)) = (name.field(&field::NAME), name.field(&field::ALIAS)) else {
                        continue;
                    };
                    (member, alias)
                }
                _ => continue,
            };
            let member = self.text(member);
            let mut qualified = String::with_capacity(module_name.len() + 1 + member.len());
            qualified.push_str(&module_name);
            if !module_name.ends_with('.') {
                qualified.push('.');
            }
            qualified.push_str(member);
            self.imports.push((scope, self.text(local), node.end_byte(), qualified));
        }
    }

    fn visit_assignment(&mut self, node: Node<'t>, scope: ScopeId) {
        let Some((left, position, kind)) = assignment_binding(node) else { return };
        match left.kind() {
            "identifier" => self.bind(scope, left, position, kind),
            "attribute" => {
                if self.bind_receiver_attribute(scope, left, position, kind) {
                    self.receiver_assignments.push(TextRange::of(node));
                }
            }
            _ => self.bind_targets_unknown(scope, left, position),
        }
    }

    /// `self.name = value` in a method records `name` as an attribute of the method's class;
    /// returns whether it did.
    fn bind_receiver_attribute(
        &mut self,
        scope: ScopeId,
        target: Node<'t>,
        position: usize,
        kind: BindingKind<'t>,
    ) -> bool {
        let method = &self.scopes[scope];
        let (Some(receiver), Some(class)) = (method.receiver.name(self.source), method.parent) else { return false };
        let Some(name) = receiver_attribute_name(target, receiver, self.source) else { return false };
        self.scopes[class].instance_attributes.entry(name).or_default().push(Binding { position, kind });
        true
    }

    fn visit_with_item(&mut self, node: Node<'t>, scope: ScopeId) {
        let Some(value) = node.field(&field::VALUE) else { return };
        if value.kind() != "as_pattern" {
            return;
        }
        let (Some(manager), Some(alias)) = (value.named_child(0), value.field(&field::ALIAS)) else { return };
        let Some(target) = alias.named_child(0) else { return };
        if target.kind() == "identifier" {
            self.bind(scope, target, node.end_byte(), BindingKind::Value { value: manager });
        } else {
            self.bind_targets_unknown(scope, target, node.end_byte());
        }
    }

    /// Every identifier bound by a target pattern (`a, (b, *c)`) binds something unknown.
    fn bind_targets_unknown(&mut self, scope: ScopeId, target: Node<'t>, position: usize) {
        match target.kind() {
            "identifier" => self.bind(scope, target, position, BindingKind::Unknown),
            "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "list_splat_pattern"
            | "parenthesized_expression"
            | "as_pattern_target"
            | "expression_list"
            | "tuple"
            | "list" => {
                let mut cursor = target.walk();
                let children: Vec<_> = target.named_children(&mut cursor).collect();
                for child in children {
                    self.bind_targets_unknown(scope, child, position);
                }
            }
            _ => {}
        }
    }

    fn finish(mut self) -> SemanticModel<'t> {
        let mut imports = Vec::with_capacity(self.imports.len());
        let mut import_positions = Vec::with_capacity(self.imports.len());
        for (scope, local, position, qualified) in std::mem::take(&mut self.imports) {
            let kind = BindingKind::Import { import: imports.len() };
            imports.push(qualified);
            import_positions.push(position);
            add_binding(&mut self.scopes[scope].bindings, local, Binding { position, kind });
        }
        for scope in &mut self.scopes {
            for bindings in scope.bindings.values_mut() {
                bindings.sort_by_position();
            }
        }
        let scopes = self.scopes;
        let mut by_start: Vec<ScopeId> = (0..scopes.len()).collect();
        by_start.sort_by_key(|&id| (scopes[id].range.start, std::cmp::Reverse(scopes[id].range.end)));
        let imported_async_library =
            AsyncLibrary::of_imports(imports.iter().map(String::as_str).chain(self.skipped_imports.iter().copied()));
        SemanticModel {
            source: self.source,
            mentions: scopes.iter().map(|_| std::cell::OnceCell::new()).collect(),
            scopes,
            by_start,
            imports,
            comments: self.comments,
            imported_async_library,
            import_positions,
            receiver_assignments: self.receiver_assignments,
            never_returns_asked: std::cell::RefCell::default(),
            references_asked: std::cell::RefCell::default(),
            worker_loop_answers: std::cell::RefCell::default(),
            name_index: std::cell::RefCell::default(),
            bodies_asked: std::cell::RefCell::default(),
            doubted: std::cell::Cell::new(false),
            generators: std::cell::RefCell::default(),
            top_level_await: false,
        }
    }
}

/// Each parameter's name of a `parameters` (or lambda parameters) node, with what it binds.
fn for_each_parameter<'t>(parameters: Node<'t>, mut each: impl FnMut(Node<'t>, BindingKind<'t>)) {
    let mut cursor = parameters.walk();
    for parameter in parameters.named_children(&mut cursor) {
        let (name, annotation) = match parameter.kind() {
            "identifier" => (Some(parameter), None),
            "typed_parameter" => {
                (parameter.named_child(0).filter(|n| n.kind() == "identifier"), parameter.field(&field::TYPE))
            }
            "default_parameter" => (parameter.field(&field::NAME), None),
            "typed_default_parameter" => (parameter.field(&field::NAME), parameter.field(&field::TYPE)),
            "list_splat_pattern" | "dictionary_splat_pattern" => (parameter.named_child(0), None),
            _ => (None, None),
        };
        let Some(name) = name.filter(|name| name.kind() == "identifier") else { continue };
        each(name, annotation.map_or(BindingKind::Unknown, |annotation| BindingKind::Annotated { annotation }));
    }
}

/// The binding of the parameter `name` of the skipped function whose scope is `scope`, as the
/// walk would have made it had it entered the function.
fn parameter_binding<'t>(scope: &Scope<'t>, name: &str, source: &str) -> Option<Binding<'t>> {
    let parameters = scope.node.field(&field::PARAMETERS)?;
    let mut found = None;
    for_each_parameter(parameters, |parameter, kind| {
        if found.is_none() && source.get(parameter.byte_range()) == Some(name) {
            found = Some(Binding { position: scope.range.start, kind });
        }
    });
    found
}

/// Names are counted by a 64-bit hash, not kept as strings (one allocation per name of every
/// counted function cost more than the walks the counts save). Two names sharing a hash would
/// only make a local look used: a finding missed, never a false one, with odds of 2^-64.
fn name_hash(name: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(name.as_bytes())
}

/// `name` of the attribute `target` when it is `receiver.name`.
fn receiver_attribute_name<'t>(target: Node<'_>, receiver: &str, source: &'t str) -> Option<&'t str> {
    let (object, attribute) = (target.field(&field::OBJECT)?, target.field(&field::ATTRIBUTE)?);
    (object.kind() == "identifier" && source.get(object.byte_range()) == Some(receiver))
        .then(|| source.get(attribute.byte_range()))
        .flatten()
}

/// What an `assignment` binds: its target, where the binding starts and to what.
fn assignment_binding(node: Node<'_>) -> Option<(Node<'_>, usize, BindingKind<'_>)> {
    let left = node.field(&field::LEFT)?;
    let right = node.field(&field::RIGHT);
    let annotation = node.field(&field::TYPE);
    let kind = match (right, annotation) {
        (_, Some(annotation)) if right.is_none_or(|value| value.kind() == "none") => {
            BindingKind::Annotated { annotation }
        }
        (Some(value), _) if value.kind() == "none" => BindingKind::NoneValue,
        // `a = b = value`: the inner assignment binds `b`; `a` gets the same value.
        (Some(value), _) if value.kind() == "assignment" => {
            innermost_value(value).map_or(BindingKind::Unknown, |value| BindingKind::Value { value })
        }
        (Some(value), _) => BindingKind::Value { value },
        (None, _) => BindingKind::Unknown,
    };
    Some((left, node.end_byte(), kind))
}

fn innermost_value(assignment: Node<'_>) -> Option<Node<'_>> {
    let mut node = assignment;
    while node.kind() == "assignment" {
        node = node.field(&field::RIGHT)?;
    }
    Some(node)
}

fn first_parameter(function: Node<'_>) -> Option<Node<'_>> {
    let parameters = function.field(&field::PARAMETERS)?;
    let first = parameters.named_child(0)?;
    match first.kind() {
        "identifier" => Some(first),
        "typed_parameter" => first.named_child(0).filter(|n| n.kind() == "identifier"),
        "default_parameter" | "typed_default_parameter" => first.field(&field::NAME),
        _ => None,
    }
}

/// Whether the `decorated_definition` `parent` has `@staticmethod`.
fn is_staticmethod(parent: Node<'_>, source: &str) -> bool {
    let mut cursor = parent.walk();
    parent.named_children(&mut cursor).filter(|child| child.kind() == "decorator").any(|decorator| {
        source.get(decorator.byte_range()).is_some_and(|text| text.trim_start_matches('@').trim() == "staticmethod")
    })
}

/// Every identifier of the tree under `root`, and every attribute by its last part, as byte
/// ranges by name, in one cursor walk.
fn name_index(source: &str, root: Node<'_>) -> foldhash::HashMap<String, Vec<TextRange>> {
    /// 1: an identifier, 2: an attribute, by kind id (a `kind()` string per node was most of
    /// the walk).
    static KINDS: LazyLock<Vec<u8>> = LazyLock::new(|| {
        named_kind_table(0, |name| match name {
            "identifier" => Some(1),
            "attribute" => Some(2),
            _ => None,
        })
    });
    let mut index: foldhash::HashMap<String, Vec<TextRange>> = foldhash::HashMap::default();
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        let key = match KINDS.get(usize::from(node.kind_id())).copied().unwrap_or(0) {
            1 => Some(node),
            2 => node.field(&field::ATTRIBUTE),
            _ => None,
        };
        if let Some(key) = key
            && let Some(text) = source.get(key.byte_range())
        {
            index.entry(text.to_string()).or_default().push(TextRange::of(node));
        }
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return index;
            }
        }
    }
}
