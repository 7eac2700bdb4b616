//! The concepts the rules ask for, and the tree-sitter patterns of `queries/` that specify what
//! each one matches. The engine matches them with `analysis::walk` (a cursor walk is several
//! times cheaper than a query); the compiled queries are the reference that walk is tested
//! against, and what a new concept is first written as.
//!
//! Tree-sitter silently ignores a predicate it does not know, which would make a pattern match
//! more than it says; compilation here rejects any predicate outside the built-in text
//! predicates (`#eq?`, `#any-of?`, `#match?` and their negations).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use tree_sitter::Query;

use crate::analysis::source::language;

/// The query files, by concept, in the order their patterns appear in the combined query.
pub const QUERY_FILES: &[(Concept, &str, &str)] = &[
    (Concept::Call, "calls.scm", include_str!("../../queries/calls.scm")),
    (Concept::WithItem, "with_items.scm", include_str!("../../queries/with_items.scm")),
    (Concept::AsyncSyntax, "async_syntax.scm", include_str!("../../queries/async_syntax.scm")),
    (Concept::YieldFrom, "yield_from.scm", include_str!("../../queries/yield_from.scm")),
    (Concept::ExceptClause, "except_clauses.scm", include_str!("../../queries/except_clauses.scm")),
    (Concept::Reference, "references.scm", include_str!("../../queries/references.scm")),
    (Concept::FunctionDefinition, "function_definitions.scm", include_str!("../../queries/function_definitions.scm")),
    (Concept::Decorator, "decorators.scm", include_str!("../../queries/decorators.scm")),
    (Concept::WhileLoop, "while_loops.scm", include_str!("../../queries/while_loops.scm")),
    (Concept::ForLoop, "for_loops.scm", include_str!("../../queries/for_loops.scm")),
    (Concept::Yield, "yields.scm", include_str!("../../queries/yields.scm")),
    (Concept::Class, "classes.scm", include_str!("../../queries/classes.scm")),
];

/// What a pattern hands to the rules. Each query file's patterns capture their main node under
/// the concept's [`Concept::capture_name`]; a new concept is a file, a variant and a dispatch
/// arm in the checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concept {
    Call,
    WithItem,
    /// `await`, `async for`, `async with`, an async comprehension clause.
    AsyncSyntax,
    YieldFrom,
    ExceptClause,
    Reference,
    FunctionDefinition,
    Decorator,
    WhileLoop,
    ForLoop,
    Yield,
    Class,
}

impl Concept {
    /// The capture that names the node the concept is about.
    pub const fn capture_name(self) -> &'static str {
        match self {
            Concept::Call => "call",
            Concept::WithItem => "with",
            Concept::AsyncSyntax => "async_syntax",
            Concept::YieldFrom => "yield_from",
            Concept::ExceptClause => "except",
            Concept::Reference => "reference",
            Concept::FunctionDefinition => "function",
            Concept::Decorator => "decorator",
            Concept::WhileLoop => "while",
            Concept::ForLoop => "for",
            Concept::Yield => "yield",
            Concept::Class => "class",
        }
    }
}

pub struct CompiledQueries {
    pub query: Query,
    /// The concept of each pattern, by pattern index.
    pub concepts: Vec<Concept>,
    /// The capture index of each pattern's main node, by pattern index.
    pub primary: Vec<u32>,
    /// Capture indices by name, for concepts that hand rules more than one node.
    pub captures: Captures,
}

/// Capture indices of the secondary nodes some concepts hand over (absent when the query was
/// compiled without those concepts).
#[derive(Debug, Clone, Copy)]
pub struct Captures {
    pub callee: Option<u32>,
    pub arguments: Option<u32>,
    pub manager: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub file: &'static str,
    pub message: String,
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "queries/{}: {}", self.file, self.message)
    }
}

/// Compiles one query file on its own, rejecting unknown predicates.
pub fn compile(file: &'static str, source: &str) -> Result<Query, QueryError> {
    let query = Query::new(&language(), source).map_err(|error| QueryError {
        file,
        message: format!(
            "line {}, column {}: {:?} error: {}",
            error.row + 1,
            error.column + 1,
            error.kind,
            error.message
        ),
    })?;
    for pattern in 0..query.pattern_count() {
        if let Some(predicate) = query.general_predicates(pattern).first() {
            return Err(QueryError {
                file,
                message: format!(
                    "pattern {pattern} uses the unknown predicate `#{}`; use #eq?, #any-of? or #match?",
                    predicate.operator
                ),
            });
        }
    }
    Ok(query)
}

/// A set of concepts, as a bit set indexed by the order of [`QUERY_FILES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ConceptSet(u32);

impl ConceptSet {
    pub fn all() -> Self {
        QUERY_FILES.iter().map(|(concept, _, _)| *concept).collect()
    }

    pub fn contains(self, concept: Concept) -> bool {
        self.0 & bit(concept) != 0
    }
}

impl FromIterator<Concept> for ConceptSet {
    fn from_iter<T: IntoIterator<Item = Concept>>(iter: T) -> Self {
        ConceptSet(iter.into_iter().fold(0, |bits, concept| bits | bit(concept)))
    }
}

fn bit(concept: Concept) -> u32 {
    let index = QUERY_FILES.iter().position(|(known, _, _)| *known == concept).unwrap_or(31);
    1 << index
}

/// One query made of the files of `concepts` only: a pattern no enabled rule needs would cost
/// a match attempt on every node of every file.
fn compile_concepts(concepts: ConceptSet) -> Result<CompiledQueries, QueryError> {
    let mut combined = String::new();
    let mut pattern_concepts = Vec::new();
    for (concept, file, source) in QUERY_FILES.iter().filter(|(concept, _, _)| concepts.contains(*concept)) {
        let query = compile(file, source)?;
        pattern_concepts.extend(std::iter::repeat_n(*concept, query.pattern_count()));
        combined.push_str(source);
        combined.push('\n');
    }
    let query = compile("(combined)", &combined)?;
    let capture = |name: &str| {
        query
            .capture_index_for_name(name)
            .ok_or_else(|| QueryError { file: "(combined)", message: format!("no capture named @{name}") })
    };
    let primary =
        pattern_concepts.iter().map(|concept| capture(concept.capture_name())).collect::<Result<Vec<_>, _>>()?;
    let captures = Captures {
        callee: query.capture_index_for_name("callee"),
        arguments: query.capture_index_for_name("arguments"),
        manager: query.capture_index_for_name("manager"),
    };
    Ok(CompiledQueries { query, concepts: pattern_concepts, primary, captures })
}

type QueryCache = Mutex<HashMap<ConceptSet, Arc<CompiledQueries>>>;

static COMPILED: LazyLock<QueryCache> = LazyLock::new(QueryCache::default);

/// The combined query of `concepts`, compiled once per distinct set. The bundled files are
/// checked by a test, so a failure here is a bug in loopwise itself.
pub fn queries_for(concepts: ConceptSet) -> Arc<CompiledQueries> {
    let mut cache = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    let compiled = cache.entry(concepts).or_insert_with(|| {
        Arc::new(compile_concepts(concepts).unwrap_or_else(|error| panic!("bundled query failed to compile: {error}")))
    });
    Arc::clone(compiled)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn every_query_file_compiles() {
        let on_disk: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/queries"))
            .expect("queries/ exists")
            .map(|entry| entry.expect("readable entry").file_name().to_string_lossy().into_owned())
            .filter(|name| Path::new(name).extension().is_some_and(|extension| extension.eq_ignore_ascii_case("scm")))
            .collect();
        for name in &on_disk {
            assert!(
                QUERY_FILES.iter().any(|(_, file, _)| file == name),
                "queries/{name} is not compiled into the engine"
            );
        }
        for (_, file, source) in QUERY_FILES {
            compile(file, source).unwrap_or_else(|error| panic!("{error}"));
        }
        let all = queries_for(ConceptSet::all());
        assert_eq!(all.concepts.len(), all.query.pattern_count());
        for (concept, file, source) in QUERY_FILES {
            let query = compile(file, source).expect("compiles");
            assert!(
                query.capture_index_for_name(concept.capture_name()).is_some(),
                "queries/{file} must capture its main node as @{}",
                concept.capture_name()
            );
        }
    }

    #[test]
    fn unknown_predicates_are_rejected() {
        let error = compile("test.scm", r#"((identifier) @name (#eqq? @name "x"))"#).expect_err("unknown predicate");
        assert!(error.message.contains("#eqq?"), "{}", error.message);
        compile("test.scm", r#"((identifier) @name (#any-of? @name "x" "y"))"#).expect("built-in predicate");
    }
}
