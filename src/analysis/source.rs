//! Parsing Python with tree-sitter.

use std::cell::RefCell;

use tree_sitter::{Language, Parser, Tree};

pub fn language() -> Language {
    tree_sitter_python::LANGUAGE.into()
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
