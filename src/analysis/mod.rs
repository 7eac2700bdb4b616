//! The engine: source text and tree in, diagnostics (with fixes) out.
//!
//! Owns parsing, the semantic model, the shared query pass and suppression. It must not know
//! about the LSP, tokio, JSON, files on disk or configuration files: callers hand it the text,
//! an optional path (for per-file ignores) and resolved [`LintSettings`].

mod checker;
mod diagnostic;
pub mod document;
pub mod noqa;
pub mod queries;
pub mod semantic;
pub mod settings;
pub mod source;

use std::path::Path;

use tree_sitter::Tree;

pub use checker::{Call, Checker};
pub use diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity, TextRange};
pub use settings::{LintSettings, PythonVersion};

/// Lints a source text that is already parsed into `tree`.
pub fn lint(source: &str, tree: &Tree, path: Option<&Path>, settings: &LintSettings) -> Vec<Diagnostic> {
    let mut rules = settings.rules_for(path);
    if let Some(directive) = noqa::file_directive(source) {
        rules = rules.iter().filter(|rule| !directive.silences(*rule)).collect();
    }
    if rules.is_empty() {
        return Vec::new();
    }
    let semantic = semantic::SemanticModel::build(tree, source);
    let diagnostics = Checker::new(&semantic, settings, rules).run(tree);
    if diagnostics.is_empty() {
        return diagnostics;
    }
    let noqa = noqa::NoqaMap::new(source, semantic.comments());
    diagnostics
        .into_iter()
        .filter(|diagnostic| !noqa.silences(diagnostic.rule, &[diagnostic.range.start, diagnostic.statement_start]))
        .collect()
}

/// Parses and lints a source text.
pub fn lint_source(source: &str, path: Option<&Path>, settings: &LintSettings) -> Vec<Diagnostic> {
    let tree = source::parse(source);
    lint(source, &tree, path, settings)
}
