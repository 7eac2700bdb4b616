//! Parsing Python with tree-sitter.

use std::cell::RefCell;

use tree_sitter::{Language, Parser, Tree};

pub fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
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

/// Parses a whole source text.
pub fn parse(source: &str) -> Tree {
    with_parser(|parser| {
        parser.reset();
        parser.parse(source, None)
    })
    .expect("parsing without a timeout or cancellation flag always returns a tree")
}
