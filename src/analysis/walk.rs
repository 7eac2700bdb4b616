//! The engine's one pass over a file: a tree cursor walk that finds the nodes of each
//! [`Concept`] the enabled rules want, dispatching on node kind ids resolved once.
//!
//! `queries/*.scm` remain the specification of what each concept matches; this walk is its
//! implementation, because a combined tree-sitter query cost several times a cursor walk
//! (19% of a whole check of Home Assistant). A test runs both over every fixture and requires
//! the same matches. The walk must not know what a rule does with a match.

use std::sync::LazyLock;

use tree_sitter::{Node, Tree};

use crate::analysis::TextRange;
use crate::analysis::queries::{Concept, ConceptSet};
use crate::analysis::source::{language, named_kind_table};

/// One match: the concept, its main node, and the secondary nodes some concepts hand over
/// (a call's callee and arguments, a `with` item's value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'t> {
    pub concept: Concept,
    pub node: Node<'t>,
    pub first: Option<Node<'t>>,
    pub second: Option<Node<'t>>,
}

/// The kinds the walk tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Other,
    Call,
    WithStatement,
    WithClause,
    WithItem,
    Await,
    ForStatement,
    ForInClause,
    Yield,
    ExceptClause,
    Identifier,
    Attribute,
    FunctionDefinition,
    Decorator,
    WhileStatement,
    ClassDefinition,
    ArgumentList,
}

/// Node kind id -> [`Kind`].
static KINDS: LazyLock<Vec<Kind>> = LazyLock::new(|| {
    named_kind_table(Kind::Other, |name| {
        Some(match name {
            "call" => Kind::Call,
            "with_statement" => Kind::WithStatement,
            "with_clause" => Kind::WithClause,
            "with_item" => Kind::WithItem,
            "await" => Kind::Await,
            "for_statement" => Kind::ForStatement,
            "for_in_clause" => Kind::ForInClause,
            "yield" => Kind::Yield,
            "except_clause" => Kind::ExceptClause,
            "identifier" => Kind::Identifier,
            "attribute" => Kind::Attribute,
            "function_definition" => Kind::FunctionDefinition,
            "decorator" => Kind::Decorator,
            "while_statement" => Kind::WhileStatement,
            "class_definition" => Kind::ClassDefinition,
            "argument_list" => Kind::ArgumentList,
            _ => return None,
        })
    })
});

fn kind(node: Node<'_>) -> Kind {
    KINDS.get(usize::from(node.kind_id())).copied().unwrap_or(Kind::Other)
}

/// The field ids the walk reads, resolved once.
struct Fields {
    function: u16,
    arguments: u16,
    value: u16,
    attribute: u16,
    superclasses: u16,
}

static FIELDS: LazyLock<Option<Fields>> = LazyLock::new(|| {
    let language = language();
    let field = |name: &str| language.field_id_for_name(name).map(std::num::NonZero::get);
    Some(Fields {
        function: field("function")?,
        arguments: field("arguments")?,
        value: field("value")?,
        attribute: field("attribute")?,
        superclasses: field("superclasses")?,
    })
});

/// Names `queries/references.scm` matches.
fn is_reference_name(text: &str) -> bool {
    matches!(text, "TimeoutError" | "timeout")
}

/// Whether `node` has an anonymous child token `token` (`async`, `from`).
fn has_token(node: Node<'_>, token: &str) -> bool {
    let mut cursor = node.walk();
    node.children(&mut cursor).any(|child| !child.is_named() && child.kind() == token)
}

/// The matches of `concepts` in the nodes of `tree` that intersect `range`, in the order of a
/// pre-order walk. (A query restricted to a byte range matches the same nodes: those that
/// intersect it, the range's ancestors included.)
pub fn matches<'t>(tree: &'t Tree, source: &str, concepts: ConceptSet, range: TextRange) -> Vec<Match<'t>> {
    let mut matcher = Matcher::new(source, concepts, range);
    // Nodes outside the range hold nothing inside it.
    pre_order(tree.root_node(), |node| matcher.visit(node));
    matcher.found
}

/// The matches of `concepts` in the subtree of `root` (itself included), in the order of a
/// pre-order walk, leaving out each node `pruned` says to and everything below it. Only that
/// subtree is walked: [`matches`] of a range walks from the root of the tree, past every
/// sibling of the range's ancestors, and so costs as much as the file for each range asked.
pub fn matches_below<'t>(
    root: Node<'t>,
    source: &str,
    concepts: ConceptSet,
    mut pruned: impl FnMut(Node<'t>) -> bool,
) -> Vec<Match<'t>> {
    let mut matcher = Matcher::new(source, concepts, TextRange::of(root));
    pre_order(root, |node| {
        let kept = !pruned(node);
        if kept {
            matcher.visit(node);
        }
        kept
    });
    matcher.found
}

/// Shows `visit` each node of `root`'s subtree in pre-order, below a node only when `visit`
/// returned true for it. A cursor made at `root` treats it as its root: it goes no higher and
/// has no siblings.
fn pre_order<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>) -> bool) {
    let mut cursor = root.walk();
    loop {
        if visit(cursor.node()) && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// The concepts of a walk found one node at a time, for a walk done by someone else (the
/// semantic model's): shown every node of the tree in a cursor's order, it finds what
/// [`matches`] does.
pub struct Matcher<'t, 's> {
    source: &'s str,
    concepts: ConceptSet,
    range: TextRange,
    found: Vec<Match<'t>>,
}

impl<'t, 's> Matcher<'t, 's> {
    pub fn new(source: &'s str, concepts: ConceptSet, range: TextRange) -> Self {
        Self { source, concepts, range, found: Vec::new() }
    }

    pub fn into_found(self) -> Vec<Match<'t>> {
        self.found
    }

    /// Looks at `node`; returns whether it intersects the range. A node that does not has no
    /// descendant that does, so skipping them changes nothing.
    pub fn visit(&mut self, node: Node<'t>) -> bool {
        let range = self.range;
        let intersects = node.start_byte() < range.end && node.end_byte() > range.start;
        let Some(fields) = FIELDS.as_ref() else { return intersects };
        if !intersects {
            return false;
        }
        let source = self.source;
        let concepts = self.concepts;
        let text = |node: Node<'_>| source.get(node.byte_range()).unwrap_or("");
        let wants = |concept| concepts.contains(concept);
        let mut push = |concept, node, first, second| self.found.push(Match { concept, node, first, second });
        match kind(node) {
            Kind::Call if wants(Concept::Call) => {
                let callee = node.child_by_field_id(fields.function);
                let arguments = node.child_by_field_id(fields.arguments);
                if let (Some(callee), Some(arguments)) = (callee, arguments)
                    && matches!(kind(callee), Kind::Identifier | Kind::Attribute)
                {
                    push(Concept::Call, node, Some(callee), Some(arguments));
                }
            }
            Kind::WithStatement => {
                if wants(Concept::WithItem) {
                    let mut clauses = node.walk();
                    for clause in node.named_children(&mut clauses).filter(|child| kind(*child) == Kind::WithClause) {
                        let mut items = clause.walk();
                        for item in clause.named_children(&mut items).filter(|child| kind(*child) == Kind::WithItem) {
                            if let Some(manager) = item.child_by_field_id(fields.value) {
                                push(Concept::WithItem, node, Some(manager), None);
                            }
                        }
                    }
                }
                if wants(Concept::AsyncSyntax) && has_token(node, "async") {
                    push(Concept::AsyncSyntax, node, None, None);
                }
            }
            Kind::Await if wants(Concept::AsyncSyntax) => push(Concept::AsyncSyntax, node, None, None),
            Kind::ForStatement | Kind::ForInClause => {
                if wants(Concept::AsyncSyntax) && has_token(node, "async") {
                    push(Concept::AsyncSyntax, node, None, None);
                }
                if wants(Concept::ForLoop) {
                    push(Concept::ForLoop, node, None, None);
                }
            }
            Kind::Yield => {
                if wants(Concept::YieldFrom) && has_token(node, "from") {
                    push(Concept::YieldFrom, node, None, None);
                }
                if wants(Concept::Yield) {
                    push(Concept::Yield, node, None, None);
                }
            }
            Kind::ExceptClause if wants(Concept::ExceptClause) => push(Concept::ExceptClause, node, None, None),
            Kind::Identifier if wants(Concept::Reference) && is_reference_name(text(node)) => {
                push(Concept::Reference, node, None, None);
            }
            Kind::Attribute
                if wants(Concept::Reference)
                    && node
                        .child_by_field_id(fields.attribute)
                        .is_some_and(|name| kind(name) == Kind::Identifier && is_reference_name(text(name))) =>
            {
                push(Concept::Reference, node, None, None);
            }
            Kind::FunctionDefinition if wants(Concept::FunctionDefinition) => {
                push(Concept::FunctionDefinition, node, None, None);
            }
            Kind::Decorator if wants(Concept::Decorator) => push(Concept::Decorator, node, None, None),
            Kind::WhileStatement if wants(Concept::WhileLoop) => push(Concept::WhileLoop, node, None, None),
            Kind::ClassDefinition
                if wants(Concept::Class)
                    && node
                        .child_by_field_id(fields.superclasses)
                        .is_some_and(|list| kind(list) == Kind::ArgumentList) =>
            {
                push(Concept::Class, node, None, None);
            }
            _ => {}
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use streaming_iterator::StreamingIterator;
    use tree_sitter::QueryCursor;

    use super::*;
    use crate::analysis::queries::queries_for;
    use crate::analysis::semantic::SemanticModel;
    use crate::analysis::source::parse;

    type Key = (String, usize, usize, Option<(usize, usize)>, Option<(usize, usize)>);

    fn key(found: &Match<'_>) -> Key {
        let span = |node: Node<'_>| (node.start_byte(), node.end_byte());
        (
            format!("{:?}", found.concept),
            found.node.start_byte(),
            found.node.end_byte(),
            found.first.map(span),
            found.second.map(span),
        )
    }

    /// What the combined query of `queries/*.scm` matches, in the walk's terms.
    fn by_query(tree: &Tree, source: &str, range: TextRange) -> Vec<Key> {
        let queries = queries_for(ConceptSet::all());
        let mut cursor = QueryCursor::new();
        cursor.set_byte_range(range.start..range.end);
        let mut found = Vec::new();
        let mut matches = cursor.matches(&queries.query, tree.root_node(), source.as_bytes());
        while let Some(each) = matches.next() {
            let capture = |index: Option<u32>| {
                each.captures().iter().find(|capture| Some(capture.index) == index).map(|capture| capture.node)
            };
            let concept = queries.concepts[each.pattern_index];
            let Some(node) = capture(Some(queries.primary[each.pattern_index])) else { continue };
            let (first, second) = match concept {
                Concept::Call => (capture(queries.captures.callee), capture(queries.captures.arguments)),
                Concept::WithItem => (capture(queries.captures.manager), None),
                _ => (None, None),
            };
            found.push(key(&Match { concept, node, first, second }));
        }
        found.sort();
        found
    }

    fn by_walk(tree: &Tree, source: &str, range: TextRange) -> Vec<Key> {
        let mut found: Vec<Key> = matches(tree, source, ConceptSet::all(), range).iter().map(key).collect();
        found.sort();
        found
    }

    #[test]
    fn the_walk_matches_what_the_queries_match() {
        let mut sources: Vec<(String, String)> = vec![(
            "inline".to_string(),
            "async def f(x):\n    async with a() as b, c():\n        yield\n    yield from g\n    async for i in x: pass\n    \
             [y async for y in x]\n    try:\n        await x.timeout(TimeoutError)\n    except* (TimeoutError, E):\n        pass\n\
             class C(Base, metaclass=M):\n    @dec\n    def m(self, timeout=1):\n        while True:\n            f(x for x in y)()\n\
             class D: pass\nwith (open(p) as f, q):\n    for a in b: print(a)\n"
                .to_string(),
        )];
        for folder in ["tests/fixtures", "examples/weather_service"] {
            let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
            for entry in std::fs::read_dir(&folder).expect("fixtures") {
                let path = entry.expect("entry").path();
                if path.extension().is_some_and(|extension| extension == "py") {
                    sources.push((path.display().to_string(), std::fs::read_to_string(&path).expect("readable")));
                }
            }
        }
        assert!(sources.len() > 50, "the fixtures are found");
        let mut compared = 0;
        for (name, source) in &sources {
            let tree = parse(source);
            let whole = TextRange::new(0, source.len());
            let expected = by_query(&tree, source, whole);
            compared += expected.len();
            assert_eq!(by_walk(&tree, source, whole), expected, "{name}");
            // Found during the semantic model's walk, as a whole-file walk is.
            let mut matcher = Matcher::new(source, ConceptSet::all(), whole);
            SemanticModel::build_with(&tree, source, |node| {
                matcher.visit(node);
            });
            // In the same order as the walk of its own: rules see them in that order.
            let walked: Vec<Key> = matches(&tree, source, ConceptSet::all(), whole).iter().map(key).collect();
            assert_eq!(matcher.into_found().iter().map(key).collect::<Vec<_>>(), walked, "{name}: in the model's walk");
            // The bodies of async functions alone, as when every enabled rule is async-only.
            for body in SemanticModel::build(&tree, source).async_function_bodies() {
                assert_eq!(by_walk(&tree, source, body), by_query(&tree, source, body), "{name}: {body:?}");
            }
        }
        assert!(compared > 1000, "only {compared} matches compared");
    }
}
