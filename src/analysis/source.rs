//! Parsing Python with tree-sitter.

use std::cell::RefCell;
use std::sync::OnceLock;

use tree_sitter::{Language, Node, Parser, Tree};

pub fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
}

/// A field of the grammar, its id looked up once: `child_by_field_name` compares the name with
/// every field name of the language on each call, a cost in walks that ask it of every node.
pub struct Field {
    name: &'static str,
    id: OnceLock<u16>,
}

impl Field {
    pub const fn new(name: &'static str) -> Self {
        Self { name, id: OnceLock::new() }
    }

    pub fn id(&self) -> u16 {
        // No field has the id `u16::MAX`: a name the grammar lacks finds no child, as
        // `child_by_field_name` would.
        *self.id.get_or_init(|| language().field_id_for_name(self.name).map_or(u16::MAX, std::num::NonZero::get))
    }

    /// The id as [`Node::children_by_field_id`] takes it.
    pub fn field_id(&self) -> std::num::NonZeroU16 {
        std::num::NonZeroU16::new(self.id()).unwrap_or(std::num::NonZeroU16::MAX)
    }
}

/// A node kind of the grammar, its id looked up once (comparing `kind()` strings costs a
/// `strlen` and a UTF-8 check per call).
pub struct Kind {
    name: &'static str,
    named: bool,
    id: OnceLock<u16>,
}

impl Kind {
    pub const fn new(name: &'static str, named: bool) -> Self {
        Self { name, named, id: OnceLock::new() }
    }

    pub fn id(&self) -> u16 {
        *self.id.get_or_init(|| language().id_for_node_kind(self.name, self.named))
    }

    /// Whether `node` is of this kind.
    pub fn is(&self, node: Node<'_>) -> bool {
        node.kind_id() == self.id()
    }
}

/// The kinds compared by id outside kind tables ([`named_kind_table`]).
pub mod kind {
    use super::Kind;

    pub static ASYNC: Kind = Kind::new("async", false);
    pub static COLON: Kind = Kind::new(":", false);
    pub static DECORATED_DEFINITION: Kind = Kind::new("decorated_definition", true);
    pub static FUNCTION_DEFINITION: Kind = Kind::new("function_definition", true);
}

/// The fields the analysis asks for.
pub mod field {
    use super::Field;

    pub static ALIAS: Field = Field::new("alias");
    pub static ALTERNATIVE: Field = Field::new("alternative");
    pub static ARGUMENT: Field = Field::new("argument");
    pub static ARGUMENTS: Field = Field::new("arguments");
    pub static ATTRIBUTE: Field = Field::new("attribute");
    pub static BODY: Field = Field::new("body");
    pub static CAUSE: Field = Field::new("cause");
    pub static CONDITION: Field = Field::new("condition");
    pub static CONSEQUENCE: Field = Field::new("consequence");
    pub static DEFINITION: Field = Field::new("definition");
    pub static FUNCTION: Field = Field::new("function");
    pub static LEFT: Field = Field::new("left");
    pub static MODULE_NAME: Field = Field::new("module_name");
    pub static NAME: Field = Field::new("name");
    pub static OBJECT: Field = Field::new("object");
    pub static OPERATOR: Field = Field::new("operator");
    pub static OPERATORS: Field = Field::new("operators");
    pub static PARAMETERS: Field = Field::new("parameters");
    pub static RETURN_TYPE: Field = Field::new("return_type");
    pub static RIGHT: Field = Field::new("right");
    pub static SUPERCLASSES: Field = Field::new("superclasses");
    pub static TYPE: Field = Field::new("type");
    pub static VALUE: Field = Field::new("value");
}

/// [`Node::child_by_field_id`] with a [`Field`].
pub trait NodeFields<'t> {
    fn field(&self, field: &Field) -> Option<Node<'t>>;
}

impl<'t> NodeFields<'t> for Node<'t> {
    fn field(&self, field: &Field) -> Option<Node<'t>> {
        self.child_by_field_id(field.id())
    }
}

/// What a function's scope covers: its `body` block, and, when tree-sitter's recovery from an
/// unclosed bracket in the body put the statements before the bracket into an `ERROR` node
/// between the `:` and the block, that node too (`error`). Treating the node as the function's
/// makes typing `f(x` in a method a change of that method alone: as the class's, it was a
/// change of the file's skeleton, and a whole analysis per key until the bracket closed.
#[derive(Debug, Clone, Copy)]
pub struct FunctionBody<'t> {
    pub range: crate::analysis::TextRange,
    pub error: Option<Node<'t>>,
    pub block: Node<'t>,
}

/// The [`FunctionBody`] of a `function_definition`, `None` without a body.
pub fn function_body(function: Node<'_>) -> Option<FunctionBody<'_>> {
    let block = function.field(&field::BODY)?;
    let error = if function.has_error() {
        block
            .prev_sibling()
            .filter(|before| before.is_error() && before.prev_sibling().is_some_and(|colon| kind::COLON.is(colon)))
    } else {
        None
    };
    let start = error.map_or(block.start_byte(), |error| error.start_byte());
    Some(FunctionBody { range: crate::analysis::TextRange::new(start, block.end_byte().max(start)), error, block })
}

/// A table from every node kind id of the grammar to what `classify` makes of the kind's name
/// (named kinds only; anonymous tokens and unknown names get `default`). Indexing it with
/// `node.kind_id()` replaces comparing `node.kind()` strings, which costs a `strlen` and a
/// UTF-8 check per call. Aliases share their target's name, so they are found as a query would.
pub fn named_kind_table<T: Copy>(default: T, classify: impl Fn(&str) -> Option<T>) -> Vec<T> {
    let language = language();
    (0..language.node_kind_count())
        .map(|id| {
            let Ok(id) = u16::try_from(id) else { return default };
            if !language.node_kind_is_named(id) {
                return default;
            }
            language.node_kind_for_id(id).and_then(&classify).unwrap_or(default)
        })
        .collect()
}

thread_local! {
    // A parser per thread: creating one per file would repeat the language setup, and a
    // parser cannot be shared between threads.
    static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's Python parser.
pub fn with_parser<R>(f: impl FnOnce(&mut Parser) -> R) -> R {
    PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let parser = slot.get_or_insert_with(|| {
            let mut parser = Parser::new();
            parser
                .set_language(&language())
                .expect("the bundled tree-sitter-python grammar matches the tree-sitter ABI");
            parser
        });
        f(parser)
    })
}

/// Parses a whole source text, its lone `\r`s as the line breaks they are to Python (see
/// [`crate::analysis::newlines`]).
pub fn parse(source: &str) -> Tree {
    let source = crate::analysis::newlines::normalized(source);
    with_parser(|parser| {
        parser.reset();
        parser.parse(source.as_bytes(), None)
    })
    .expect("parsing without a timeout or cancellation flag always returns a tree")
}

/// The path from the root down to the node asked about last, with, for each step, the
/// innermost statement and the innermost await context ([`Ancestry::can_prefix_await`]) at or
/// above it. The next question descends only from where the two paths part: a finding deep in
/// a long operator chain cost a descent from the root each, which made 8,000 terms quadratic,
/// and the findings of one walk come in tree order, so consecutive paths share most steps.
#[derive(Debug, Default)]
pub struct Ancestry<'t> {
    path: Vec<Node<'t>>,
    statement: Vec<Option<usize>>,
    await_context: Vec<Option<usize>>,
}

impl<'t> Ancestry<'t> {
    /// The nodes from `root` down to `target`, both included; shorter when `target` is not in
    /// `root`'s tree.
    pub fn path_to(&mut self, root: Node<'t>, target: Node<'_>) -> &[Node<'t>] {
        if self.path.first().is_none_or(|first| first.id() != root.id()) {
            self.truncate(0);
        }
        // The cached nodes whose range holds `target`'s are its ancestors, or descendants of
        // the same range (an only child asked about before): keep the ancestors.
        let (start, end) = (target.start_byte(), target.end_byte());
        let holds = |node: &Node<'_>| node.start_byte() <= start && end <= node.end_byte();
        let mut keep = self.path.partition_point(holds);
        while keep > 1 {
            let deepest = self.path[keep - 1];
            if deepest.id() == target.id() || deepest.byte_range() != (start..end) {
                break;
            }
            keep -= 1;
        }
        // An empty target touches nodes it is not in; start such a question afresh.
        if start == end {
            keep = 0;
        }
        self.truncate(keep);
        if self.path.last().is_some_and(|deepest| deepest.id() == target.id()) {
            return &self.path;
        }
        let from = self.path.pop().unwrap_or(root);
        self.truncate(self.path.len());
        let mut found = Vec::new();
        descend_to(from, target, |current, _| {
            found.push(current);
            true
        });
        for node in found {
            self.push(node);
        }
        if self.path.last().is_none_or(|deepest| deepest.id() != target.id()) && from.id() != root.id() {
            // The cached prefix led astray (it cannot for a tree's nodes); ask from the root.
            self.truncate(0);
            return self.path_to(root, target);
        }
        &self.path
    }

    /// The nodes from `root` down to the innermost node whose range holds `range` (the node
    /// of exactly that range, when there is one).
    pub fn path_to_range(&mut self, root: Node<'t>, range: crate::analysis::TextRange) -> &[Node<'t>] {
        if self.path.first().is_none_or(|first| first.id() != root.id()) || range.start == range.end {
            self.truncate(0);
        }
        let holds = |node: &Node<'_>| node.start_byte() <= range.start && range.end <= node.end_byte();
        let keep = self.path.partition_point(holds);
        self.truncate(keep);
        if self.path.is_empty() {
            self.push(root);
        }
        while let Some(&deepest) = self.path.last() {
            let mut cursor = deepest.walk();
            if cursor.goto_first_child_for_byte(range.start).is_none() {
                break;
            }
            let mut inner = None;
            loop {
                let child = cursor.node();
                if child.start_byte() > range.start {
                    break;
                }
                if holds(&child) {
                    inner = Some(child);
                    break;
                }
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
            let Some(child) = inner else { break };
            self.push(child);
        }
        &self.path
    }

    fn truncate(&mut self, length: usize) {
        self.path.truncate(length);
        self.statement.truncate(length);
        self.await_context.truncate(length);
    }

    fn push(&mut self, node: Node<'t>) {
        let index = self.path.len();
        let kind = node.kind();
        let above = |column: &[Option<usize>]| column.last().copied().flatten();
        let is_statement = kind.ends_with("_statement")
            || matches!(kind, "function_definition" | "class_definition" | "decorated_definition");
        let statement = if is_statement { Some(index) } else { above(&self.statement) };
        let is_await_context = kind.ends_with("_statement")
            || matches!(
                kind,
                "elif_clause"
                    | "block"
                    | "list_comprehension"
                    | "set_comprehension"
                    | "dictionary_comprehension"
                    | "generator_expression"
                    | "lambda"
            );
        let await_context = if is_await_context { Some(index) } else { above(&self.await_context) };
        self.path.push(node);
        self.statement.push(statement);
        self.await_context.push(await_context);
    }

    /// The innermost statement holding `target` (for a node in a compound statement's header,
    /// the compound statement itself), `target` included.
    pub fn enclosing_statement(&mut self, root: Node<'t>, target: Node<'_>) -> Option<Node<'t>> {
        let length = self.path_to(root, target).len();
        self.statement.get(length.checked_sub(1)?).copied().flatten().map(|index| self.path[index])
    }

    /// Whether `await ` can go in front of the expression `target` and apply to it alone: it
    /// is not the object of an attribute, subscript or call (where `await` would take in
    /// more), and not inside a comprehension or lambda (where `await` would make an async
    /// comprehension, or be invalid).
    pub fn can_prefix_await(&mut self, root: Node<'t>, target: Node<'_>) -> bool {
        let length = self.path_to(root, target).len();
        if self.path.last().map(Node::id) != Some(target.id()) || length < 2 {
            return false;
        }
        let parent = self.path[length - 2];
        let binds_tighter = match parent.kind() {
            "attribute" | "subscript" => {
                parent.field(&field::OBJECT).or_else(|| parent.field(&field::VALUE)).map(|n| n.id())
                    == Some(target.id())
            }
            "call" => parent.field(&field::FUNCTION).map(|n| n.id()) == Some(target.id()),
            "await" => true,
            _ => false,
        };
        if binds_tighter {
            return false;
        }
        // The nearest context above the node decides.
        let context = self.await_context[length - 2].map(|index| self.path[index].kind());
        context.is_none_or(|kind| kind.ends_with("_statement") || kind == "elif_clause" || kind == "block")
    }
}

/// The nodes from `from` down to `target` (a node inside it), each with the child the path
/// takes next (`None` for `target` itself), outermost first; `visit` returns `false` to stop.
/// A cursor's descent costs the depth once, where climbing with `Node::parent` costs a descent
/// from the root at every step: a chain of a thousand `await`s in one expression took seconds
/// per finding that way.
pub fn descend_to<'t>(from: Node<'t>, target: Node<'_>, mut visit: impl FnMut(Node<'t>, Option<Node<'t>>) -> bool) {
    let (start, end) = (target.start_byte(), target.end_byte());
    let mut cursor = from.walk();
    loop {
        let current = cursor.node();
        if current.id() == target.id() {
            visit(current, None);
            return;
        }
        if cursor.goto_first_child_for_byte(start).is_none() {
            visit(current, None);
            return;
        }
        // The first child that ends after `start` may still not hold all of `target` (an
        // empty node at its start): step on to the one that does.
        while cursor.node().end_byte() < end || cursor.node().start_byte() > start {
            if !cursor.goto_next_sibling() {
                visit(current, None);
                return;
            }
        }
        if !visit(current, Some(cursor.node())) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node of a tree, in pre-order.
    fn nodes(tree: &Tree) -> Vec<Node<'_>> {
        let mut found = Vec::new();
        let mut cursor = tree.root_node().walk();
        loop {
            found.push(cursor.node());
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    return found;
                }
            }
        }
    }

    /// One `Ancestry` asked about every node, in tree order and shuffled, gives the path a
    /// fresh descent from the root gives: the shared prefix is never a wrong one.
    #[test]
    fn a_shared_ancestry_gives_the_paths_of_fresh_descents() {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let source = "import time\n\nasync def f(x):\n    if x:\n        y = (time.sleep(1) + [a for a in b])\n    \
                      with open(x) as h: pass\n    return f(x)(x).y[0]\n\nclass C:\n    def g(self): ...\n(\n";
        let tree = parse(source);
        let root = tree.root_node();
        let mut all = nodes(&tree);
        let mut ancestry = Ancestry::default();
        for round in 0..3 {
            if round > 0 {
                all.shuffle(&mut rand::rngs::StdRng::seed_from_u64(round));
            }
            for &node in &all {
                let mut fresh = Vec::new();
                descend_to(root, node, |current, _| {
                    fresh.push(current.id());
                    true
                });
                let shared: Vec<usize> = ancestry.path_to(root, node).iter().map(Node::id).collect();
                assert_eq!(shared, fresh, "{} at {:?}", node.kind(), node.byte_range());
                let range = crate::analysis::TextRange::of(node);
                let innermost = root.descendant_for_byte_range(range.start, range.end).map(|n| n.id());
                if range.start < range.end {
                    assert_eq!(ancestry.path_to_range(root, range).last().map(Node::id), innermost);
                }
            }
        }
    }
}
