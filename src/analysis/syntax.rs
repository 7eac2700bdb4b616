//! Syntax errors as tree-sitter's error recovery finds them: the `invalid-syntax` findings the
//! CLI reports (and the server with `showSyntaxErrors`), and the broken regions inside which no
//! fix is offered.
//!
//! Owns what counts as a broken region and what its finding says. It must not know whether
//! anyone shows syntax errors: callers decide. Every function here is O(1) on a tree without
//! errors (tree-sitter keeps `has_error` on every node) and otherwise walks only the subtrees
//! that hold one, stopping at each `ERROR` node: its inner errors are part of it.

use tree_sitter::{Node, Tree};

use crate::analysis::{Diagnostic, Severity, TextRange};
use crate::rules::Rule;

/// One place where the text is not Python: an `ERROR` node (text the parser skipped) or a
/// `MISSING` one (a token it had to assume, such as a closing bracket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where to point: an `ERROR` node up to the end of its first line (it may cover a whole
    /// block), or the empty range where a missing token belongs.
    pub range: TextRange,
    /// The construct it breaks, inside which no fix is offered: the `ERROR` node itself, or
    /// the node that lacks the missing token.
    pub region: TextRange,
    pub message: String,
}

/// Every syntax error of `tree`, in text order.
pub fn errors(source: &str, tree: &Tree) -> Vec<SyntaxError> {
    let mut found = Vec::new();
    let root = tree.root_node();
    if root.has_error() {
        collect(source, root, &mut found);
    }
    found
}

fn collect(source: &str, root: Node<'_>, found: &mut Vec<SyntaxError>) {
    // An explicit stack: a deeply nested broken text must not overflow the thread's stack.
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_error() {
            let start = node.start_byte();
            let line_end = source[start..node.end_byte()].find(['\n', '\r']).map_or(node.end_byte(), |at| start + at);
            found.push(SyntaxError {
                range: TextRange::new(start, line_end.max(start)),
                region: region(node),
                message: unexpected(source, node),
            });
            continue;
        }
        if node.is_missing() {
            let at = node.start_byte();
            found.push(SyntaxError { range: TextRange::new(at, at), region: region(node), message: expected(node) });
            continue;
        }
        let mut cursor = node.walk();
        let children: Vec<Node<'_>> =
            node.children(&mut cursor).filter(|child| child.has_error() || child.is_missing()).collect();
        // Reversed, so that the stack pops them in text order.
        stack.extend(children.into_iter().rev());
    }
}

/// The construct an error breaks: the node that holds it (the list with a stray token, the
/// parameters without their `)`), or the error itself when that node is a module or a block,
/// which the other statements in it do not make broken.
fn region(node: Node<'_>) -> TextRange {
    match node.parent() {
        Some(parent) if !matches!(parent.kind(), "module" | "block") => TextRange::of(parent),
        _ => TextRange::of(node),
    }
}

/// ``Expected `)` `` for a token, or `Expected an identifier` for a named node.
fn expected(node: Node<'_>) -> String {
    let kind = node.kind();
    if node.is_named() {
        let words = kind.replace('_', " ");
        let article = if words.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
        format!("Expected {article} {words}")
    } else {
        format!("Expected `{kind}`")
    }
}

/// ``Invalid syntax: unexpected `= (1,` ``: the skipped text's first line, shortened.
fn unexpected(source: &str, node: Node<'_>) -> String {
    const SHOWN: usize = 40;
    let text = source[node.start_byte()..node.end_byte()].lines().next().unwrap_or("").trim();
    if text.is_empty() {
        return "Invalid syntax".to_string();
    }
    let shown: String = text.chars().take(SHOWN).collect();
    let ellipsis = if shown.len() < text.len() { "…" } else { "" };
    // A backtick inside the text would end the code span early.
    format!("Invalid syntax: unexpected `{}{ellipsis}`", shown.replace('`', "'"))
}

/// The `invalid-syntax` findings of `errors`: severity error, no fix, never silenced.
pub fn diagnostics(errors: &[SyntaxError]) -> impl Iterator<Item = Diagnostic> + '_ {
    errors.iter().map(|error| Diagnostic {
        rule: Rule::InvalidSyntax,
        range: error.range,
        message: error.message.clone(),
        severity: Severity::Error,
        fix: None,
        alternatives: Vec::new(),
        statement_start: error.range.start,
        related: Vec::new(),
    })
}

/// Drops the fixes of the findings that lie in, or would edit, a broken region: a fix computed
/// from a guess of the parser is no fix to offer. Returns how many findings lost their fixes.
pub fn drop_fixes_in_broken_regions(diagnostics: &mut [Diagnostic], errors: &[SyntaxError]) -> usize {
    if errors.is_empty() {
        return 0;
    }
    let touches = |range: TextRange| {
        errors.iter().any(|error| range.start <= error.region.end && error.region.start <= range.end)
    };
    let mut dropped = 0;
    for diagnostic in
        diagnostics.iter_mut().filter(|diagnostic| diagnostic.fix.is_some() || !diagnostic.alternatives.is_empty())
    {
        let edits = diagnostic
            .fix
            .iter()
            .chain(&diagnostic.alternatives)
            .flat_map(|fix| fix.edits().iter().map(|edit| edit.range));
        if touches(diagnostic.range) || edits.into_iter().any(touches) {
            diagnostic.fix = None;
            diagnostic.alternatives.clear();
            dropped += 1;
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{LintSettings, lint_source, source::parse};

    fn errors_of(source: &str) -> Vec<(usize, usize, String)> {
        errors(source, &parse(source))
            .into_iter()
            .map(|error| (error.range.start, error.range.end, error.message))
            .collect()
    }

    #[test]
    fn valid_code_has_none() {
        assert_eq!(errors_of("import time\nasync def f():\n    await g()\n"), []);
    }

    #[test]
    fn a_missing_token_is_expected_where_it_belongs() {
        // `async def f(:` — tree-sitter assumes the `)`.
        assert_eq!(
            errors_of("import time\nasync def f(:\n    time.sleep(1)\n"),
            [(24, 24, "Expected `)`".to_string())]
        );
    }

    #[test]
    fn skipped_text_is_shown_to_the_end_of_its_first_line() {
        let found = errors_of("x = (1,\ny = 2\n");
        assert_eq!(found, [(2, 7, "Invalid syntax: unexpected `= (1,`".to_string())]);
    }

    #[test]
    fn a_deeply_nested_broken_text_does_not_overflow_the_stack() {
        let source = format!("x = {}\n", "[".repeat(50_000));
        assert!(!errors_of(&source).is_empty());
    }

    #[test]
    fn fixes_in_a_broken_region_are_dropped_and_others_kept() {
        // The first `time.sleep` is whole; the second is in a list with a stray `2`.
        let source = "import time\nasync def g():\n    time.sleep(2)\n\nasync def f():\n    x = [time.sleep(1) 2]\n";
        let tree = parse(source);
        let found = errors(source, &tree);
        assert!(!found.is_empty());
        let mut diagnostics = lint_source(source, None, &LintSettings::default());
        assert!(diagnostics.iter().all(|diagnostic| diagnostic.fix.is_some()), "{diagnostics:?}");
        let dropped = drop_fixes_in_broken_regions(&mut diagnostics, &found);
        let kept: Vec<bool> = diagnostics.iter().map(|diagnostic| diagnostic.fix.is_some()).collect();
        assert_eq!((dropped, kept), (1, vec![true, false]), "{found:?}");
    }
}
