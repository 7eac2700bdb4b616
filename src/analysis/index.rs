//! What other modules need to know about a module, and the lookup of a qualified name through
//! those summaries: the workspace half of "is this callee a coroutine function?".
//!
//! A [`ModuleSummary`] lists a module's top-level functions and the methods of its top-level
//! classes by [`FunctionKind`], and its top-level imports (so `pkg/__init__.py` re-exports
//! resolve). Summaries come from a [`ModuleSource`]: the engine does not know where modules
//! live or how they are read (the CLI reads files lazily, the server also uses open documents).

use std::collections::HashMap;
use std::sync::Arc;

use tree_sitter::{Node, Tree};

use crate::analysis::semantic::is_generator;
use crate::analysis::source::{NodeFields, field};

/// What calling a function gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionKind {
    /// `def`: calling it runs it.
    Sync,
    /// `async def` without `yield`: calling it creates a coroutine.
    Coroutine,
    /// `async def` with `yield`: calling it creates an async generator.
    AsyncGenerator,
    /// `@asynccontextmanager` on an `async def`: calling it creates an async context manager.
    AsyncContextManager,
    /// Decorated with something that may change what a call gives: never guessed.
    Unknown,
}

/// The exported surface of one module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleSummary {
    /// `fetch` and `Client.fetch` -> kind.
    pub functions: HashMap<String, FunctionKind>,
    /// Top-level imports: local name -> absolute qualified name (relative ones resolved).
    pub imports: HashMap<String, String>,
}

/// Where summaries come from, by dotted module name (`pkg.client`).
pub trait ModuleSource: Sync {
    fn summary(&self, module: &str) -> Option<Arc<ModuleSummary>>;

    /// What the module's plain functions do that blocks the event loop ([`HelperFacts`]), for
    /// LW109 in the modules that call them. `None` when unknown: nothing is guessed then.
    fn helper_facts(&self, _module: &str) -> Option<Arc<HelperFacts>> {
        None
    }
}

/// What the plain (`def`) functions of a module do that blocks the event loop when they are
/// called from an async function: computed from the module's body only when an importer asks
/// (it takes the semantic model), unlike the [`ModuleSummary`] every module has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HelperFacts {
    /// `load_config` and `Client.fetch` -> what the function does (sorted by name).
    pub functions: Vec<(String, HelperFact)>,
    /// The module's file, where the one who read it knows it: the steps' lines are in it.
    pub path: Option<std::path::PathBuf>,
}

impl HelperFacts {
    pub fn get(&self, name: &str) -> Option<&HelperFact> {
        self.functions.binary_search_by(|(own, _)| own.as_str().cmp(name)).ok().map(|index| &self.functions[index].1)
    }
}

/// One plain function's part of [`HelperFacts`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HelperFact {
    /// Its first call that a blocking-call rule reports.
    pub blocks: Option<FactStep>,
    /// The functions it calls that may block in turn: their absolute qualified names, and the
    /// call.
    pub calls: Vec<(String, FactStep)>,
}

/// A call in a helper, as a message says it (``calls `open()` (pkg/config.py:12)``), and its
/// 1-based line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FactStep {
    pub text: String,
    pub line: usize,
}

/// The fact of the function `qualified` (an absolute name) names, through the summaries'
/// re-exports as [`function_kind_of`] finds it, with the file of the module that defines it
/// when known.
pub fn helper_fact_of(modules: &dyn ModuleSource, qualified: &str) -> Option<(Option<std::path::PathBuf>, HelperFact)> {
    let mut name = qualified.to_string();
    for _ in 0..MAX_REEXPORTS {
        let parts: Vec<&str> = name.split('.').collect();
        let (module, summary, rest) = (1..parts.len()).rev().find_map(|split| {
            let module = parts[..split].join(".");
            let summary = modules.summary(&module)?;
            Some((module, summary, parts[split..].join(".")))
        })?;
        if summary.functions.get(&rest) == Some(&FunctionKind::Sync) {
            let facts = modules.helper_facts(&module)?;
            return Some((facts.path.clone(), facts.get(&rest)?.clone()));
        }
        if summary.functions.contains_key(&rest) {
            return None;
        }
        let (head, tail) = rest.split_once('.').map_or((rest.as_str(), ""), |(head, tail)| (head, tail));
        let target = summary.imports.get(head)?;
        name = if tail.is_empty() { target.clone() } else { format!("{target}.{tail}") };
    }
    None
}

/// Decorators that leave a function's kind as it is.
const TRANSPARENT_DECORATORS: &[&str] = &[
    "staticmethod",
    "classmethod",
    "abstractmethod",
    "abc.abstractmethod",
    "override",
    "typing.override",
    "typing_extensions.override",
    "functools.wraps",
    "wraps",
];

/// Whether a decorator leaves what calling the function does as it is (`staticmethod`,
/// `functools.wraps`, ...).
pub fn is_transparent_decorator(name: &str) -> bool {
    TRANSPARENT_DECORATORS.contains(&name)
}

fn is_async_context_manager_decorator(name: &str) -> bool {
    matches!(name, "asynccontextmanager" | "contextlib.asynccontextmanager")
}

/// The absolute form of a possibly relative qualified name (`.client.fetch` in module
/// `pkg.api` is `pkg.client.fetch`; in package `pkg` (its `__init__`) it is `pkg.client.fetch`).
pub fn absolute_name(qualified: &str, module: &str, is_package: bool) -> Option<String> {
    let dots = qualified.chars().take_while(|c| *c == '.').count();
    if dots == 0 {
        return Some(qualified.to_string());
    }
    let mut base: Vec<&str> = module.split('.').filter(|part| !part.is_empty()).collect();
    if !is_package {
        base.pop()?;
    }
    for _ in 1..dots {
        base.pop()?;
    }
    let rest = &qualified[dots..];
    if rest.is_empty() {
        return Some(base.join("."));
    }
    if base.is_empty() { Some(rest.to_string()) } else { Some(format!("{}.{rest}", base.join("."))) }
}

/// Summarizes a parsed module. `module` and `is_package` resolve its relative imports.
pub fn summarize(source: &str, tree: &Tree, module: &str, is_package: bool) -> ModuleSummary {
    let text = |node: Node<'_>| source.get(node.byte_range()).unwrap_or("");
    let mut summary = ModuleSummary::default();
    let root = tree.root_node();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        match statement.kind() {
            "function_definition" | "decorated_definition" => {
                let Some((definition, decorators)) = unwrap_decorated(statement, source) else { continue };
                match definition.kind() {
                    "function_definition" => {
                        if let Some(name) = definition.field(&field::NAME) {
                            summary
                                .functions
                                .insert(text(name).to_string(), function_kind(definition, &decorators, source));
                        }
                    }
                    "class_definition" => summarize_class(definition, source, &mut summary),
                    _ => {}
                }
            }
            "class_definition" => summarize_class(statement, source, &mut summary),
            "import_statement" | "import_from_statement" => {
                record_imports(statement, source, module, is_package, &mut summary.imports);
            }
            _ => {}
        }
    }
    summary
}

fn summarize_class(class: Node<'_>, source: &str, summary: &mut ModuleSummary) {
    let text = |node: Node<'_>| source.get(node.byte_range()).unwrap_or("");
    let (Some(name), Some(body)) = (class.field(&field::NAME), class.field(&field::BODY)) else {
        return;
    };
    let class_name = text(name);
    let mut cursor = body.walk();
    for member in body.named_children(&mut cursor) {
        let Some((definition, decorators)) = unwrap_decorated(member, source) else { continue };
        if definition.kind() != "function_definition" {
            continue;
        }
        let Some(method) = definition.field(&field::NAME) else { continue };
        summary
            .functions
            .insert(format!("{class_name}.{}", text(method)), function_kind(definition, &decorators, source));
    }
}

/// A definition and the names of its decorators (`@a.b(...)` -> `a.b`).
fn unwrap_decorated<'t>(node: Node<'t>, source: &str) -> Option<(Node<'t>, Vec<String>)> {
    if node.kind() != "decorated_definition" {
        return matches!(node.kind(), "function_definition" | "class_definition").then(|| (node, Vec::new()));
    }
    let definition = node.field(&field::DEFINITION)?;
    let mut cursor = node.walk();
    let decorators = node
        .named_children(&mut cursor)
        .filter(|child| child.kind() == "decorator")
        .filter_map(|decorator| {
            let mut expression = decorator.named_child(0)?;
            if expression.kind() == "call" {
                expression = expression.field(&field::FUNCTION)?;
            }
            Some(source.get(expression.byte_range())?.to_string())
        })
        .collect();
    Some((definition, decorators))
}

fn function_kind(function: Node<'_>, decorators: &[String], source: &str) -> FunctionKind {
    let is_async = function.child(0).is_some_and(|first| first.kind() == "async");
    // Only an `async def` that spells `yield` needs the walk (walking every function's body
    // was most of a summary's cost).
    let generator = is_async
        && source.get(function.byte_range()).is_some_and(|text| text.contains("yield"))
        && is_generator(function);
    let mut kind = match (is_async, generator) {
        (false, _) => FunctionKind::Sync,
        (true, false) => FunctionKind::Coroutine,
        (true, true) => FunctionKind::AsyncGenerator,
    };
    for decorator in decorators {
        if is_async_context_manager_decorator(decorator) && kind == FunctionKind::AsyncGenerator {
            kind = FunctionKind::AsyncContextManager;
        } else if !TRANSPARENT_DECORATORS.contains(&decorator.as_str()) {
            return FunctionKind::Unknown;
        }
    }
    kind
}

fn record_imports(
    statement: Node<'_>,
    source: &str,
    module: &str,
    is_package: bool,
    imports: &mut HashMap<String, String>,
) {
    let text = |node: Node<'_>| source.get(node.byte_range()).unwrap_or("");
    let mut cursor = statement.walk();
    let prefix = statement
        .field(&field::MODULE_NAME)
        .map(|name| text(name).chars().filter(|c| !c.is_whitespace()).collect::<String>());
    for name in statement.children_by_field_name("name", &mut cursor) {
        let (target, local) = match name.kind() {
            "dotted_name" => (text(name), text(name).split('.').next().unwrap_or("")),
            "aliased_import" => match (name.field(&field::NAME), name.field(&field::ALIAS)) {
                (Some(target), Some(alias)) => (text(target), text(alias)),
                _ => continue,
            },
            _ => continue,
        };
        let qualified = match &prefix {
            Some(prefix) if prefix.ends_with('.') => format!("{prefix}{target}"),
            Some(prefix) => format!("{prefix}.{target}"),
            // `import a.b` binds `a`.
            None if name.kind() == "dotted_name" => local.to_string(),
            None => target.to_string(),
        };
        if let Some(absolute) = absolute_name(&qualified, module, is_package) {
            imports.insert(local.to_string(), absolute);
        }
    }
}

/// How many re-exports a lookup follows before giving up (cycles, long chains).
const MAX_REEXPORTS: usize = 8;

/// The kind of the function an absolute qualified name refers to, through the summaries of
/// `modules` and their re-exports; `None` when no workspace module defines it.
pub fn function_kind_of(modules: &dyn ModuleSource, qualified: &str) -> Option<FunctionKind> {
    let mut name = qualified.to_string();
    for _ in 0..MAX_REEXPORTS {
        let parts: Vec<&str> = name.split('.').collect();
        // The longest prefix that is a module of the workspace; the rest is inside it.
        let (summary, rest) = (1..parts.len()).rev().find_map(|split| {
            let summary = modules.summary(&parts[..split].join("."))?;
            Some((summary, parts[split..].join(".")))
        })?;
        if let Some(kind) = summary.functions.get(&rest) {
            return Some(*kind);
        }
        let (head, tail) = rest.split_once('.').map_or((rest.as_str(), ""), |(head, tail)| (head, tail));
        let target = summary.imports.get(head)?;
        name = if tail.is_empty() { target.clone() } else { format!("{target}.{tail}") };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::source::parse;

    struct Modules(HashMap<&'static str, Arc<ModuleSummary>>);

    impl ModuleSource for Modules {
        fn summary(&self, module: &str) -> Option<Arc<ModuleSummary>> {
            self.0.get(module).cloned()
        }
    }

    fn summary(source: &str, module: &str, is_package: bool) -> Arc<ModuleSummary> {
        Arc::new(summarize(source, &parse(source), module, is_package))
    }

    #[test]
    fn relative_names_resolve_against_the_module() {
        assert_eq!(absolute_name(".client.fetch", "pkg.api", false).as_deref(), Some("pkg.client.fetch"));
        assert_eq!(absolute_name(".client.fetch", "pkg", true).as_deref(), Some("pkg.client.fetch"));
        assert_eq!(absolute_name("..x", "pkg.sub.mod", false).as_deref(), Some("pkg.x"));
        assert_eq!(absolute_name(".tasks", "pkg.api", false).as_deref(), Some("pkg.tasks"));
        assert_eq!(absolute_name("...x", "pkg.api", false), None);
        assert_eq!(absolute_name("os.path", "pkg.api", false).as_deref(), Some("os.path"));
    }

    #[test]
    fn summaries_classify_functions_and_methods() {
        let source = "from contextlib import asynccontextmanager\nimport functools\n\nasync def fetch(): ...\ndef load(): ...\nasync def stream():\n    yield 1\n@asynccontextmanager\nasync def session():\n    yield 1\n@functools.cache\nasync def cached(): ...\nclass Client:\n    async def get(self):\n        def inner():\n            yield 1\n    @staticmethod\n    async def build(): ...\n    def close(self): ...\n";
        let summary = summarize(source, &parse(source), "pkg.client", false);
        let kind = |name: &str| summary.functions.get(name).copied();
        assert_eq!(kind("fetch"), Some(FunctionKind::Coroutine));
        assert_eq!(kind("load"), Some(FunctionKind::Sync));
        assert_eq!(kind("stream"), Some(FunctionKind::AsyncGenerator));
        assert_eq!(kind("session"), Some(FunctionKind::AsyncContextManager));
        assert_eq!(kind("cached"), Some(FunctionKind::Unknown));
        assert_eq!(kind("Client.get"), Some(FunctionKind::Coroutine), "a nested def's yield does not count");
        assert_eq!(kind("Client.build"), Some(FunctionKind::Coroutine));
        assert_eq!(kind("Client.close"), Some(FunctionKind::Sync));
    }

    #[test]
    fn lookups_follow_package_reexports() {
        let modules = Modules(HashMap::from([
            ("pkg", summary("from .client import fetch as get_it\nfrom . import tasks\n", "pkg", true)),
            (
                "pkg.client",
                summary("async def fetch(): ...\nclass C:\n    async def m(self): ...\n", "pkg.client", false),
            ),
            ("pkg.tasks", summary("async def refresh(): ...\ndef sync(): ...\n", "pkg.tasks", false)),
            ("loop.a", summary("from loop.b import f\n", "loop.a", false)),
            ("loop.b", summary("from loop.a import f\n", "loop.b", false)),
        ]));
        assert_eq!(function_kind_of(&modules, "pkg.client.fetch"), Some(FunctionKind::Coroutine));
        assert_eq!(function_kind_of(&modules, "pkg.client.C.m"), Some(FunctionKind::Coroutine));
        assert_eq!(function_kind_of(&modules, "pkg.get_it"), Some(FunctionKind::Coroutine));
        assert_eq!(function_kind_of(&modules, "pkg.tasks.refresh"), Some(FunctionKind::Coroutine));
        assert_eq!(function_kind_of(&modules, "pkg.tasks.sync"), Some(FunctionKind::Sync));
        assert_eq!(function_kind_of(&modules, "pkg.missing"), None);
        assert_eq!(function_kind_of(&modules, "requests.get"), None);
        assert_eq!(function_kind_of(&modules, "loop.a.f"), None, "an import cycle ends");
    }
}
