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
pub mod incremental;
pub mod index;
pub mod newlines;
pub mod noqa;
pub mod prefilter;
pub mod queries;
pub mod semantic;
pub mod settings;
pub mod source;
pub mod syntax;
pub(crate) mod walk;

use std::path::Path;

use tree_sitter::Tree;

use crate::analysis::index::ModuleSource;
use crate::rules::RuleSet;

pub use async_library::AsyncLibrary;
pub use checker::{Call, Checker, ExceptHandler, TaskGroupBlock};
pub use diagnostic::{Applicability, Diagnostic, Edit, Fix, Place, Related, Severity, TextRange};
pub use settings::{LintSettings, PythonVersion};

/// The rest of the workspace, as one file sees it: where its imports lead.
pub struct WorkspaceView<'a> {
    pub modules: &'a dyn ModuleSource,
    /// The dotted name of the file being linted, for its relative imports.
    pub module: &'a str,
    /// The file is a package's `__init__.py`.
    pub is_package: bool,
}

/// Lints a source text that is already parsed into `tree`, on its own. The text is in its
/// [`newlines::normalized`] form, as is every text that comes with its tree.
pub fn lint(source: &str, tree: &Tree, path: Option<&Path>, settings: &LintSettings) -> Vec<Diagnostic> {
    lint_in_workspace(source, tree, path, settings, None)
}

/// Lints a source text that is already parsed into `tree`, seeing the workspace's modules. The
/// text is [`newlines::normalized`].
pub fn lint_in_workspace(
    source: &str,
    tree: &Tree,
    path: Option<&Path>,
    settings: &LintSettings,
    workspace: Option<&WorkspaceView<'_>>,
) -> Vec<Diagnostic> {
    let rules = rules_for_text(source, path, settings);
    if rules.checked.is_empty() {
        return Vec::new();
    }
    lint_tree(source, tree, path, settings, workspace, rules)
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
    on_normalized(source, |source| {
        // Parsing is most of the cost of a file; skip it when no enabled rule can report here.
        let rules = rules_for_text(source, path, settings);
        if rules.checked.is_empty() {
            return Vec::new();
        }
        let tree = source::parse(source);
        lint_tree(source, &tree, path, settings, workspace, rules)
    })
}

/// `analyse`'s findings in the [`newlines::normalized`] form of `source`, with their fixes
/// written as they go into `source` itself.
fn on_normalized(source: &str, analyse: impl FnOnce(&str) -> Vec<Diagnostic>) -> Vec<Diagnostic> {
    let normalized = newlines::normalized(source);
    let mut diagnostics = analyse(&normalized);
    if let std::borrow::Cow::Owned(_) = normalized {
        newlines::restore(&mut diagnostics, source);
    }
    diagnostics
}

/// What a caller does with syntax errors, besides never offering a fix inside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxErrors {
    /// Report each as an `invalid-syntax` finding (the command line).
    Report,
    /// Leave them to another tool (the language server, by default).
    Hide,
}

/// What a user is shown for a text: [`lint_source_in_workspace`]'s findings, with no fix inside
/// a broken region, and with `syntax` its syntax errors among them, in text order. A text no
/// enabled rule can report in is skipped unparsed, so its syntax is not checked either.
pub fn check_source_in_workspace(
    source: &str,
    path: Option<&Path>,
    settings: &LintSettings,
    workspace: Option<&WorkspaceView<'_>>,
    syntax: SyntaxErrors,
) -> Vec<Diagnostic> {
    on_normalized(source, |source| {
        let rules = rules_for_text(source, path, settings);
        if rules.checked.is_empty() {
            return Vec::new();
        }
        let tree = source::parse(source);
        with_syntax_errors(source, &tree, lint_tree(source, &tree, path, settings, workspace, rules), syntax)
    })
}

/// `diagnostics` of the text parsed into `tree` without the fixes in its broken regions, and
/// with its syntax errors when `syntax` says so. Costs nothing on a tree without errors.
pub fn with_syntax_errors(
    source: &str,
    tree: &Tree,
    mut diagnostics: Vec<Diagnostic>,
    syntax: SyntaxErrors,
) -> Vec<Diagnostic> {
    let errors = syntax::errors(source, tree);
    if errors.is_empty() {
        return diagnostics;
    }
    syntax::drop_fixes_in_broken_regions(&mut diagnostics, &errors);
    if syntax == SyntaxErrors::Report {
        diagnostics.extend(syntax::diagnostics(&errors));
        diagnostics.sort_by_key(|diagnostic| diagnostic.range.start);
    }
    diagnostics
}

/// What a file's own check tells its importers, when the check parsed it: its summary (for
/// LW201 and the rest) and its helper facts (LW109).
#[derive(Debug, Default)]
pub struct ModuleOutputs {
    pub summary: Option<index::ModuleSummary>,
    pub facts: Option<index::HelperFacts>,
}

/// What a check of a module makes for its importers besides its findings.
#[derive(Debug, Clone, Copy)]
pub struct ModuleRequest<'a> {
    /// The module's dotted name, and whether the text is its package's `__init__`.
    pub module: (&'a str, bool),
    /// Parse and summarize even a text the prefilter would skip (an importer is waiting for
    /// the summary); otherwise only a text that is parsed anyway is summarized.
    pub always: bool,
    /// Also its helper facts, from the same parse and semantic model.
    pub facts: bool,
}

/// [`check_source_in_workspace`] reporting syntax errors, also telling what the module's
/// importers ask of it from the same parse (`request`): a module that other files import need
/// not be parsed a second time for them.
pub fn lint_source_for_importers(
    source: &str,
    path: Option<&Path>,
    settings: &LintSettings,
    workspace: Option<&WorkspaceView<'_>>,
    request: ModuleRequest<'_>,
) -> (Vec<Diagnostic>, ModuleOutputs) {
    let original = source;
    let source = &*newlines::normalized(original);
    let rules = rules_for_text(source, path, settings);
    if rules.checked.is_empty() && !request.always {
        return (Vec::new(), ModuleOutputs::default());
    }
    let (module, is_package) = request.module;
    let tree = source::parse(source);
    let summary = Some(index::summarize(source, &tree, module, is_package));
    let (semantic, diagnostics) = if rules.checked.is_empty() {
        (None, Vec::new())
    } else {
        let file = FileInputs { source, tree: &tree, path, settings, workspace, rules };
        let (semantic, diagnostics) = lint_parts(&file, &[], None);
        (Some(semantic), diagnostics)
    };
    let facts = request.facts.then(|| match &semantic {
        Some(semantic) => facts_with_model(semantic, &tree, module, is_package),
        None => helper_facts_in(source, &tree, module, is_package),
    });
    let mut diagnostics = with_syntax_errors(source, &tree, diagnostics, SyntaxErrors::Report);
    newlines::restore(&mut diagnostics, original);
    (diagnostics, ModuleOutputs { summary, facts })
}

/// What the plain functions of the module `module` (`source`, a package's `__init__` when
/// `is_package`) do that blocks the event loop, for LW109 in the modules that call them
/// ([`index::HelperFacts`]).
pub fn helper_facts(source: &str, module: &str, is_package: bool) -> index::HelperFacts {
    let source = &*newlines::normalized(source);
    helper_facts_in(source, &source::parse(source), module, is_package)
}

/// [`helper_facts`] of a text already parsed into `tree` (the text [`newlines::normalized`]).
pub fn helper_facts_in(source: &str, tree: &Tree, module: &str, is_package: bool) -> index::HelperFacts {
    facts_with_model(&semantic::SemanticModel::build(tree, source), tree, module, is_package)
}

/// [`helper_facts_in`] with the semantic model of `tree` already built (by the file's own
/// check). The facts are the same whatever the file's settings: they use the defaults and no
/// workspace, as a reading of the file for them alone does.
fn facts_with_model(
    semantic: &semantic::SemanticModel<'_>,
    tree: &Tree,
    module: &str,
    is_package: bool,
) -> index::HelperFacts {
    let settings = LintSettings::default();
    let mut checker = Checker::new(semantic, &settings, crate::rules::RuleSet::default());
    // Where the module is, as its importers' messages name it: its path below the root its
    // dotted name hangs from.
    let file = module.replace('.', "/") + if is_package { "/__init__.py" } else { ".py" };
    crate::rules::blocking_helper_call::module_facts(&mut checker, tree, module, &file)
}

/// The rules of one file: those enabled for its path, and those of them that may report in
/// its text (not silenced by a file-wide `# noqa`, let through by the prefilter).
#[derive(Clone, Copy)]
struct FileRules {
    enabled: RuleSet,
    checked: RuleSet,
}

fn rules_for_text(source: &str, path: Option<&Path>, settings: &LintSettings) -> FileRules {
    rules_for_scan(source, path, settings, || prefilter::scan(source))
}

/// [`rules_for_text`], with the prefilter's scan of `source` made by `scanned`.
fn rules_for_scan(
    source: &str,
    path: Option<&Path>,
    settings: &LintSettings,
    scanned: impl FnOnce() -> prefilter::TextScan,
) -> FileRules {
    let enabled = settings.rules_for(path);
    let mut rules = enabled;
    if let Some(directive) = noqa::file_directive(source) {
        rules = rules.iter().filter(|rule| !directive.silences(*rule)).collect();
    }
    FileRules { enabled, checked: prefilter::applicable_rules_with(rules, source, settings, scanned) }
}

fn lint_tree(
    source: &str,
    tree: &Tree,
    path: Option<&Path>,
    settings: &LintSettings,
    workspace: Option<&WorkspaceView<'_>>,
    rules: FileRules,
) -> Vec<Diagnostic> {
    let file = FileInputs { source, tree, path, settings, workspace, rules };
    lint_parts(&file, &[], None).1
}

/// What one file's analysis reads, besides the parts of it to skip or to analyse.
struct FileInputs<'a> {
    source: &'a str,
    tree: &'a Tree,
    path: Option<&'a Path>,
    settings: &'a LintSettings,
    workspace: Option<&'a WorkspaceView<'a>>,
    rules: FileRules,
}

/// The semantic model (not walking the bodies in `skipped`) and the findings, after `# noqa`,
/// of the nodes that start in `units` (all of them when `None`).
fn lint_parts<'a>(
    file: &FileInputs<'a>,
    skipped: &[semantic::SkippedBody<'_>],
    units: Option<&[TextRange]>,
) -> (semantic::SemanticModel<'a>, Vec<Diagnostic>) {
    let (source, rules) = (file.source, file.rules);
    // The walk looks for the concepts of the rules enabled here, not only those the prefilter
    // left, so that what it finds does not depend on the prefilter.
    let (concepts, whole_file) = Checker::walk_plan(rules.checked, rules.enabled, file.settings.top_level_await);
    // A whole-file walk is done during the semantic model's: one walk of the tree, not two.
    let mut matcher = whole_file.then(|| walk::Matcher::new(source, concepts, TextRange::new(0, source.len())));
    let mut semantic = semantic::SemanticModel::build_skipping(file.tree, source, skipped, units, |node| {
        if let Some(matcher) = &mut matcher {
            matcher.visit(node);
        }
    });
    semantic.set_top_level_await(file.settings.top_level_await);
    let diagnostics = Checker::new(&semantic, file.settings, rules.checked)
        .with_query_rules(rules.enabled)
        .with_path(file.path)
        .with_workspace(file.workspace)
        .with_units(units)
        .run_with(file.tree, matcher.map(walk::Matcher::into_found));
    if diagnostics.is_empty() {
        return (semantic, diagnostics);
    }
    let noqa = noqa::NoqaMap::new(source, semantic.comments());
    let diagnostics = diagnostics
        .into_iter()
        .filter(|diagnostic| !noqa.silences(diagnostic.rule, &[diagnostic.range.start, diagnostic.statement_start]))
        .collect();
    (semantic, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_without_async_def_report_nothing_and_others_do() {
        let settings = LintSettings::default();
        assert!(lint_source("import time\ndef f():\n    time.sleep(1)\n", None, &settings).is_empty());
        assert_eq!(lint_source("import time\nasync def f():\n    time.sleep(1)\n", None, &settings).len(), 1);
    }

    #[test]
    fn a_top_level_that_awaits_runs_on_the_loop() {
        let source = "import asyncio, time\nawait asyncio.sleep(1)\ntime.sleep(1)\nasyncio.run(main())\n\
                      def f():\n    await g()\n    time.sleep(1)\nclass C:\n    time.sleep(1)\n";
        let codes = |settings: &LintSettings| -> Vec<(usize, &'static str)> {
            let mut codes: Vec<_> = lint_source(source, None, settings)
                .iter()
                .map(|d| (source[..d.range.start].matches('\n').count() + 1, d.rule.code()))
                .collect();
            codes.sort_unstable();
            codes
        };
        let notebook = LintSettings { top_level_await: true, ..LintSettings::default() };
        assert_eq!(codes(&notebook), [(3, "LW101"), (4, "LW204"), (6, "LW203")]);
        assert_eq!(codes(&LintSettings::default()), [(2, "LW203"), (6, "LW203")]);
    }
}
