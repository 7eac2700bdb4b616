//! The engine: source text and tree in, diagnostics (with fixes) out.
//!
//! Owns parsing, the semantic model, the shared query pass and suppression. It must not know
//! about the LSP, tokio, JSON, files on disk or configuration files: callers hand it the text,
//! an optional path (for per-file ignores) and resolved [`LintSettings`].

pub mod async_library;
mod checker;
mod diagnostic;
pub mod document;
pub mod fix_builder;
pub mod fixer;
mod flow;
pub mod index;
pub mod noqa;
pub mod queries;
pub mod semantic;
pub mod settings;
pub mod source;

use std::path::Path;

use tree_sitter::Tree;

use crate::analysis::index::ModuleSource;
use crate::rules::RuleSet;

pub use async_library::AsyncLibrary;
pub use checker::{Call, Checker, ExceptHandler, TaskGroupBlock};
pub use diagnostic::{Applicability, Diagnostic, Edit, Fix, Severity, TextRange};
pub use settings::{LintSettings, PythonVersion};

/// The rest of the workspace, as one file sees it: where its imports lead.
pub struct WorkspaceView<'a> {
    pub modules: &'a dyn ModuleSource,
    /// The dotted name of the file being linted, for its relative imports.
    pub module: &'a str,
    /// The file is a package's `__init__.py`.
    pub is_package: bool,
}

/// Lints a source text that is already parsed into `tree`, on its own.
pub fn lint(source: &str, tree: &Tree, path: Option<&Path>, settings: &LintSettings) -> Vec<Diagnostic> {
    lint_in_workspace(source, tree, path, settings, None)
}

/// Lints a source text that is already parsed into `tree`, seeing the workspace's modules.
pub fn lint_in_workspace(
    source: &str,
    tree: &Tree,
    path: Option<&Path>,
    settings: &LintSettings,
    workspace: Option<&WorkspaceView<'_>>,
) -> Vec<Diagnostic> {
    let mut rules = applicable_rules(settings.rules_for(path), source);
    if let Some(directive) = noqa::file_directive(source) {
        rules = rules.iter().filter(|rule| !directive.silences(*rule)).collect();
    }
    if rules.is_empty() || (rules.only_in_async_functions() && !has_async_def(source)) {
        return Vec::new();
    }
    let semantic = semantic::SemanticModel::build(tree, source);
    let diagnostics = Checker::new(&semantic, settings, rules).with_path(path).with_workspace(workspace).run(tree);
    if diagnostics.is_empty() {
        return diagnostics;
    }
    let noqa = noqa::NoqaMap::new(source, semantic.comments());
    diagnostics
        .into_iter()
        .filter(|diagnostic| !noqa.silences(diagnostic.rule, &[diagnostic.range.start, diagnostic.statement_start]))
        .collect()
}

/// Parses and lints a source text, on its own.
pub fn lint_source(source: &str, path: Option<&Path>, settings: &LintSettings) -> Vec<Diagnostic> {
    lint_source_in_workspace(source, path, settings, None)
}

/// Parses and lints a source text, seeing the workspace's modules.
pub fn lint_source_in_workspace(
    source: &str,
    path: Option<&Path>,
    settings: &LintSettings,
    workspace: Option<&WorkspaceView<'_>>,
) -> Vec<Diagnostic> {
    // Parsing is most of the cost of a file; skip it when no enabled rule can report here.
    let rules = applicable_rules(settings.rules, source);
    if rules.is_empty() || (rules.only_in_async_functions() && !has_async_def(source)) {
        return Vec::new();
    }
    let tree = source::parse(source);
    lint_in_workspace(source, &tree, path, settings, workspace)
}

/// The rules that may report in `source`: those whose `required_text` it holds.
fn applicable_rules(rules: RuleSet, source: &str) -> RuleSet {
    rules
        .iter()
        .filter(|rule| {
            let needles = rule.meta().required_text;
            needles.is_empty() || needles.iter().any(|needle| source.contains(needle))
        })
        .collect()
}

/// Whether the text may define a coroutine function: `async` followed by white space and
/// `def`. A false positive (in a string or comment) only costs a parse.
fn has_async_def(source: &str) -> bool {
    source.match_indices("async").any(|(index, keyword)| {
        let rest = &source[index + keyword.len()..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\\', '\n', '\r']);
        trimmed.len() < rest.len() && trimmed.starts_with("def")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_def_prefilter() {
        assert!(has_async_def("class A:\n    async  def f(self): ..."));
        assert!(has_async_def("async \\\ndef f(): ..."));
        assert!(!has_async_def("import asyncio\nasyncdef = 1\ndef f(): time.sleep(1)\n"));
    }

    #[test]
    fn rules_needing_text_skip_files_without_it() {
        let rules: RuleSet =
            [crate::rules::Rule::TimeoutErrorAlias, crate::rules::Rule::BlockingSleep].into_iter().collect();
        assert_eq!(
            applicable_rules(rules, "import time\n").iter().collect::<Vec<_>>(),
            [crate::rules::Rule::BlockingSleep]
        );
        assert_eq!(applicable_rules(rules, "except asyncio.TimeoutError: ...").iter().count(), 2);
    }

    #[test]
    fn files_without_async_def_report_nothing_and_others_do() {
        let settings = LintSettings::default();
        assert!(lint_source("import time\ndef f():\n    time.sleep(1)\n", None, &settings).is_empty());
        assert_eq!(lint_source("import time\nasync def f():\n    time.sleep(1)\n", None, &settings).len(), 1);
    }
}
