//! Runs the combined query once over a file and hands each matched node to the rules that
//! want it: the one shared pass of the engine.

use std::collections::HashSet;

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, QueryCursor, Tree};

use crate::analysis::queries::{Concept, QUERIES};
use crate::analysis::semantic::{CalleeKind, ScopeId, SemanticModel};
use crate::analysis::settings::LintSettings;
use crate::analysis::{Diagnostic, TextRange};
use crate::rules::{self, Rule, RuleSet};

/// What a rule sees of the file while it checks one node.
pub struct Checker<'a, 't> {
    pub semantic: &'a SemanticModel<'t>,
    pub settings: &'a LintSettings,
    rules: RuleSet,
    diagnostics: Vec<Diagnostic>,
    /// The functions whose own body awaits (`await`, `async for`, `async with`).
    pub(crate) awaiting_functions: HashSet<ScopeId>,
}

/// A call site, with its callee already resolved through the file's imports.
pub struct Call<'t> {
    pub node: Node<'t>,
    pub callee: Node<'t>,
    pub arguments: Node<'t>,
    /// `time.sleep` for `pause(1)` after `from time import sleep as pause`; `builtins.open`
    /// for an unbound `open`; `None` when the callee is not a resolvable name.
    pub qualified_name: Option<String>,
}

impl Call<'_> {
    /// The method name when the callee is an attribute (`s.get` -> `get`).
    pub fn method_name<'s>(&self, semantic: &SemanticModel<'s>) -> Option<&'s str> {
        (self.callee.kind() == "attribute")
            .then(|| self.callee.child_by_field_name("attribute"))
            .flatten()
            .map(|name| semantic.text(name))
    }

    /// The receiver when the callee is an attribute (`s.get` -> `s`).
    pub fn receiver(&self) -> Option<Node<'_>> {
        (self.callee.kind() == "attribute").then(|| self.callee.child_by_field_name("object")).flatten()
    }

    /// The keyword argument `name=...`, if the call passes it.
    pub fn keyword_argument(&self, semantic: &SemanticModel<'_>, name: &str) -> Option<Node<'_>> {
        let mut cursor = self.arguments.walk();
        self.arguments
            .named_children(&mut cursor)
            .filter(|argument| argument.kind() == "keyword_argument")
            .find(|argument| argument.child_by_field_name("name").is_some_and(|key| semantic.text(key) == name))
            .and_then(|argument| argument.child_by_field_name("value"))
    }
}

impl<'a, 't> Checker<'a, 't> {
    pub fn new(semantic: &'a SemanticModel<'t>, settings: &'a LintSettings, rules: RuleSet) -> Self {
        Self { semantic, settings, rules, diagnostics: Vec::new(), awaiting_functions: HashSet::new() }
    }

    /// Whether calling `call` creates a coroutine: the one place rules ask. The semantic model
    /// answers for the file's own `async def`s and for `asyncio`; a name imported from another
    /// module is `Unknown` there, and the workspace index (when there is one) answers it here
    /// from `call.qualified_name`.
    pub fn callee_kind(&self, call: &Call<'_>) -> CalleeKind {
        self.semantic.callee_kind(call.callee)
    }

    pub fn enabled(&self, rule: Rule) -> bool {
        self.rules.contains(rule)
    }

    pub fn text(&self, node: Node<'_>) -> &'t str {
        self.semantic.text(node)
    }

    /// Records a finding of `rule` on `node`; the returned diagnostic can still take a fix.
    pub fn report(&mut self, rule: Rule, node: Node<'_>, message: String) -> &mut Diagnostic {
        let statement_start = enclosing_statement(node).map_or(node.start_byte(), |statement| statement.start_byte());
        self.diagnostics.push(Diagnostic {
            rule,
            range: TextRange::of(node),
            message,
            severity: self.settings.severity_of(rule),
            fix: None,
            statement_start,
        });
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    pub fn run(mut self, tree: &'t Tree) -> Vec<Diagnostic> {
        // Rules that only report inside `async def`s need the query over their bodies alone.
        let ranges = if self.rules.only_in_async_functions() {
            self.semantic.async_function_bodies()
        } else {
            vec![TextRange::new(0, self.semantic.source().len())]
        };
        let mut cursor = QueryCursor::new();
        for range in ranges {
            cursor.set_byte_range(range.start..range.end);
            self.run_query(&mut cursor, tree);
        }
        if self.enabled(Rule::AsyncWithoutAwait) {
            rules::async_without_await::check(&mut self);
        }
        self.diagnostics.sort_by_key(|diagnostic| (diagnostic.range.start, diagnostic.range.end, diagnostic.rule));
        self.diagnostics
    }

    fn run_query(&mut self, cursor: &mut QueryCursor, tree: &'t Tree) {
        let queries = &*QUERIES;
        let captures = queries.captures;
        let source = self.semantic.source().as_bytes();
        let mut matches = cursor.matches(&queries.query, tree.root_node(), source);
        while let Some(found) = matches.next() {
            let capture =
                |index: u32| found.captures().iter().find(|capture| capture.index == index).map(|capture| capture.node);
            let Some(node) = capture(queries.primary[found.pattern_index]) else { continue };
            match queries.concepts[found.pattern_index] {
                Concept::Call => {
                    let (Some(callee), Some(arguments)) = (capture(captures.callee), capture(captures.arguments))
                    else {
                        continue;
                    };
                    self.visit_call(node, callee, arguments);
                }
                Concept::WithItem => {
                    let Some(manager) = capture(captures.manager) else { continue };
                    let is_async = node.child(0).is_some_and(|first| first.kind() == "async");
                    if !is_async && self.semantic.in_async_function(node.start_byte()) {
                        rules::blocking_thread_sync::check_with(self, manager);
                    }
                }
                Concept::AsyncSyntax => {
                    if let Some(function) = self.semantic.enclosing_function(node.start_byte()) {
                        self.awaiting_functions.insert(function);
                    }
                    if self.enabled(Rule::AwaitOutsideAsync) {
                        rules::await_outside_async::check(self, node);
                    }
                }
                Concept::YieldFrom => {
                    if self.enabled(Rule::YieldFromInAsyncFunction) {
                        rules::yield_from_in_async_function::check(self, node);
                    }
                }
            }
        }
    }

    fn visit_call(&mut self, node: Node<'t>, callee: Node<'t>, arguments: Node<'t>) {
        let call = Call { node, callee, arguments, qualified_name: self.semantic.qualified_name(callee) };
        if self.semantic.in_async_function(node.start_byte()) {
            self.visit_call_in_async_function(&call);
        }
        // Coroutines and tasks (LW2xx): each rule checks its own scope.
        if self.enabled(Rule::UnawaitedCoroutine) {
            rules::unawaited_coroutine::check(self, &call);
        }
        if self.enabled(Rule::DanglingTask) {
            rules::dangling_task::check(self, &call);
        }
        if self.enabled(Rule::NestedEventLoop) {
            rules::nested_event_loop::check(self, &call);
        }
    }

    /// The blocking-call rules (LW1xx): only calls that run on the event loop.
    fn visit_call_in_async_function(&mut self, call: &Call<'t>) {
        if self.enabled(Rule::BlockingSleep) {
            rules::blocking_sleep::check(self, call);
        }
        if self.enabled(Rule::BlockingNetworkCall) {
            rules::blocking_network_call::check(self, call);
        }
        if self.enabled(Rule::BlockingSubprocess) {
            rules::blocking_subprocess::check(self, call);
        }
        if self.enabled(Rule::BlockingFileIo) {
            rules::blocking_file_io::check(self, call);
        }
        if self.enabled(Rule::BlockingInput) {
            rules::blocking_input::check(self, call);
        }
        if self.enabled(Rule::BlockingDbClient) {
            rules::blocking_db_client::check(self, call);
        }
        if self.enabled(Rule::BlockingThreadSync) {
            rules::blocking_thread_sync::check_call(self, call);
        }
        if self.enabled(Rule::BlockingConfiguredCall) {
            rules::blocking_configured_call::check(self, call);
        }
    }
}

/// The statement holding `node` (for a node in a compound statement's header, the compound
/// statement itself): its first line is where a `# noqa` for a multi-line statement goes.
fn enclosing_statement(node: Node<'_>) -> Option<Node<'_>> {
    let mut current = Some(node);
    while let Some(candidate) = current {
        let kind = candidate.kind();
        if kind.ends_with("_statement")
            || matches!(kind, "function_definition" | "class_definition" | "decorated_definition")
        {
            return Some(candidate);
        }
        current = candidate.parent();
    }
    None
}
