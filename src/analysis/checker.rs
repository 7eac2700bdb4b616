//! Runs the combined query once over a file and hands each matched node to the rules that
//! want it: the one shared pass of the engine.

use std::path::Path;

use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, QueryCursor, Tree};

use crate::analysis::queries::{Concept, QUERIES};
use crate::analysis::semantic::SemanticModel;
use crate::analysis::settings::LintSettings;
use crate::analysis::{Diagnostic, TextRange};
use crate::rules::{self, Rule, RuleSet};

/// What a rule sees of the file while it checks one node.
pub struct Checker<'a, 't> {
    pub semantic: &'a SemanticModel<'t>,
    pub settings: &'a LintSettings,
    /// The file's path, when it has one: some rules depend on the kind of file (test modules).
    pub path: Option<&'a Path>,
    rules: RuleSet,
    diagnostics: Vec<Diagnostic>,
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

/// An `except` or `except*` handler, taken apart once for the handler rules.
pub struct ExceptHandler<'t> {
    pub node: Node<'t>,
    /// `except*`: the bound value is always an exception group.
    pub is_star: bool,
    /// The caught types: one node, or the members of a tuple; empty for a bare `except:`.
    pub types: Vec<Node<'t>>,
    /// The name bound by `as name`.
    pub name: Option<Node<'t>>,
    pub body: Node<'t>,
}

impl<'t> ExceptHandler<'t> {
    fn new(node: Node<'t>) -> Option<Self> {
        let mut cursor = node.walk();
        let is_star = node.children(&mut cursor).any(|child| child.kind() == "*");
        let body = node.named_children(&mut cursor).find(|child| child.kind() == "block")?;
        let mut types = Vec::new();
        let mut name = None;
        if let Some(value) = node.child_by_field_name("value") {
            let caught = if value.kind() == "as_pattern" {
                name = value
                    .child_by_field_name("alias")
                    .and_then(|alias| alias.named_child(0))
                    .filter(|target| target.kind() == "identifier");
                value.named_child(0)?
            } else {
                value
            };
            if matches!(caught.kind(), "tuple" | "parenthesized_expression") {
                types.extend(caught.named_children(&mut cursor).filter(|member| member.kind() != "comment"));
            } else {
                types.push(caught);
            }
        }
        Some(Self { node, is_star, types, name, body })
    }
}

/// An `async with asyncio.TaskGroup() as tg:` block, for the `TaskGroup` rules.
pub struct TaskGroupBlock<'t> {
    pub statement: Node<'t>,
    /// The `asyncio.TaskGroup()` call.
    pub manager: Node<'t>,
    /// `tg` in `as tg`.
    pub name: Option<Node<'t>>,
    pub body: Node<'t>,
    /// The statement opens only the `TaskGroup`.
    pub single_item: bool,
}

impl<'t> TaskGroupBlock<'t> {
    /// The block `with_statement` opens, when `item_value` (one of its with-items' values) is
    /// an `asyncio.TaskGroup()` and the statement is `async with`.
    pub fn new(semantic: &SemanticModel<'t>, statement: Node<'t>, item_value: Node<'t>) -> Option<Self> {
        if statement.child(0).is_none_or(|first| first.kind() != "async") {
            return None;
        }
        let (manager, name) = if item_value.kind() == "as_pattern" {
            let name = item_value
                .child_by_field_name("alias")
                .and_then(|alias| alias.named_child(0))
                .filter(|target| target.kind() == "identifier");
            (item_value.named_child(0)?, name)
        } else {
            (item_value, None)
        };
        let callee = manager.child_by_field_name("function").filter(|_| manager.kind() == "call")?;
        if !matches!(
            semantic.qualified_name(callee).as_deref(),
            Some("asyncio.TaskGroup" | "asyncio.taskgroups.TaskGroup")
        ) {
            return None;
        }
        let clause = statement.named_child(0).filter(|clause| clause.kind() == "with_clause")?;
        let single_item = clause.named_child_count() == 1;
        Some(Self { statement, manager, name, body: statement.child_by_field_name("body")?, single_item })
    }

    /// Whether `statement` is itself an `async with` opening a `TaskGroup`.
    pub fn opens_task_group(semantic: &SemanticModel<'t>, statement: Node<'t>) -> bool {
        let Some(clause) = statement.named_child(0).filter(|clause| clause.kind() == "with_clause") else {
            return false;
        };
        let mut cursor = clause.walk();
        let items: Vec<Node<'t>> = clause.named_children(&mut cursor).collect();
        items
            .into_iter()
            .filter_map(|item| item.child_by_field_name("value"))
            .any(|value| TaskGroupBlock::new(semantic, statement, value).is_some())
    }
}

impl<'a, 't> Checker<'a, 't> {
    pub fn new(semantic: &'a SemanticModel<'t>, settings: &'a LintSettings, rules: RuleSet) -> Self {
        Self { semantic, settings, path: None, rules, diagnostics: Vec::new() }
    }

    #[must_use]
    pub fn with_path(mut self, path: Option<&'a Path>) -> Self {
        self.path = path;
        self
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
                    if is_async {
                        self.visit_task_group(node, manager);
                    }
                }
                Concept::Function => self.visit_function(node),
                Concept::Class => {
                    if self.enabled(Rule::ExceptionGroupSubclassWithoutDerive) {
                        rules::exception_group_subclass_without_derive::check(self, node);
                    }
                }
                Concept::ExceptClause => self.visit_except_clause(node),
            }
        }
    }

    fn visit_call(&mut self, node: Node<'t>, callee: Node<'t>, arguments: Node<'t>) {
        let call = Call { node, callee, arguments, qualified_name: self.semantic.qualified_name(callee) };
        if self.semantic.in_async_function(node.start_byte()) {
            self.visit_call_in_async_function(&call);
            if self.enabled(Rule::UnboundedTaskSpawn) {
                rules::unbounded_task_spawn::check(self, &call);
            }
            if self.enabled(Rule::PerCallSemaphore) {
                rules::per_call_semaphore::check(self, &call);
            }
        }
        if self.enabled(Rule::UnboundedQueue) {
            rules::unbounded_queue::check(self, &call);
        }
        if self.enabled(Rule::PytestRaisesExceptionGroup) {
            rules::pytest_raises_exception_group::check(self, &call);
        }
    }

    /// The `TaskGroup` rules (LW901–LW903).
    fn visit_task_group(&mut self, statement: Node<'t>, item_value: Node<'t>) {
        let Some(block) = TaskGroupBlock::new(self.semantic, statement, item_value) else { return };
        if self.enabled(Rule::SingleTaskTaskgroup) {
            rules::single_task_taskgroup::check(self, &block);
        }
        if self.enabled(Rule::ContextValueEscapesTaskgroup) {
            rules::context_value_escapes_taskgroup::check(self, &block);
        }
        if self.enabled(Rule::ControlFlowInTaskgroup) {
            rules::control_flow_in_taskgroup::check(self, &block);
        }
    }

    /// The test rules (LW801–LW803) and async generators (LW908).
    fn visit_function(&mut self, function: Node<'t>) {
        if self.enabled(Rule::AsyncTestWithoutRunner) {
            rules::async_test_without_runner::check(self, function);
        }
        if self.enabled(Rule::AsyncioMarkOnSyncTest) {
            rules::asyncio_mark_on_sync_test::check(self, function);
        }
        if self.enabled(Rule::AsyncioMarkOnFixture) {
            rules::asyncio_mark_on_fixture::check(self, function);
        }
        if self.enabled(Rule::UnsafeAsyncGenerator) {
            rules::unsafe_async_generator::check(self, function);
        }
    }

    /// The handler rules (LW904, LW905, LW907).
    fn visit_except_clause(&mut self, node: Node<'t>) {
        let Some(handler) = ExceptHandler::new(node) else { return };
        if self.enabled(Rule::AwaitInExceptHandler) && self.semantic.in_async_function(node.start_byte()) {
            rules::await_in_except_handler::check(self, &handler);
        }
        if self.enabled(Rule::ExceptionGroupFlattening) {
            rules::exception_group_flattening::check(self, &handler);
        }
        if self.enabled(Rule::ExceptStarInvalidAttribute) {
            rules::except_star_invalid_attribute::check(self, &handler);
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
