//! Walks a file once (`analysis::walk`) and hands each matched node to the rules that want
//! it: the one shared pass of the engine.

use std::cell::{OnceCell, RefCell};
use std::collections::HashSet;
use std::path::Path;

use tree_sitter::{Node, Tree};

use crate::analysis::async_library::AsyncLibrary;
use crate::analysis::fix_builder::{self, ModuleImport, Stylist};
use crate::analysis::index::{FunctionKind, absolute_name, function_kind_of};
use crate::analysis::queries::{Concept, ConceptSet};
use crate::analysis::semantic::{AsyncProtocol, CalleeKind};
use crate::analysis::semantic::{ScopeId, SemanticModel};
use crate::analysis::settings::LintSettings;
use crate::analysis::source::{Ancestry, NodeFields, field};
use crate::analysis::walk::{self, Match};
use crate::analysis::{Diagnostic, TextRange, WorkspaceView};
use crate::rules::{self, Rule, RuleSet};

/// What a rule sees of the file while it checks one node.
pub struct Checker<'a, 't> {
    pub semantic: &'a SemanticModel<'t>,
    pub settings: &'a LintSettings,
    /// The file's path, when it has one: some rules depend on the kind of file (test modules).
    pub path: Option<&'a Path>,
    rules: RuleSet,
    /// The rules whose concepts the walk looks for: `rules`, or more of them (the enabled ones,
    /// before the prefilter dropped some for this file). Extra matches reach no rule.
    query_rules: RuleSet,
    diagnostics: Vec<Diagnostic>,
    workspace: Option<&'a WorkspaceView<'a>>,
    /// The functions whose own body awaits (`await`, `async for`, `async with`).
    pub(crate) awaiting_functions: HashSet<ScopeId>,
    /// Detected when the first fix asks for it.
    stylist: OnceCell<Stylist>,
    /// The parts of the file being analysed (sorted, apart) when not all of it is: matches
    /// outside them are not dispatched ([`Checker::with_units`]).
    units: Option<&'a [TextRange]>,
    /// Calls in async functions of the file's own `def`s, judged by LW109 once the walk is
    /// over: whether a helper blocks is a question about its body, wherever it is.
    helper_calls: Vec<rules::blocking_helper_call::Candidate<'t>>,
    /// The path to the node asked about last, shared by the questions about a node's
    /// ancestors so that consecutive findings descend from where their paths part.
    ancestry: RefCell<Ancestry<'t>>,
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
            .then(|| self.callee.field(&field::ATTRIBUTE))
            .flatten()
            .map(|name| semantic.text(name))
    }

    /// The attribute name node when the callee is an attribute (`asyncio.sleep` -> `sleep`).
    pub fn method_name_node(&self) -> Option<Node<'_>> {
        (self.callee.kind() == "attribute").then(|| self.callee.field(&field::ATTRIBUTE)).flatten()
    }

    /// The positional arguments, in order (keywords, splats of dicts and comments left out).
    pub fn positional_arguments(&self) -> Vec<Node<'_>> {
        let mut cursor = self.arguments.walk();
        self.arguments
            .named_children(&mut cursor)
            .filter(|argument| !matches!(argument.kind(), "keyword_argument" | "dictionary_splat" | "comment"))
            .collect()
    }

    /// The receiver when the callee is an attribute (`s.get` -> `s`).
    pub fn receiver(&self) -> Option<Node<'_>> {
        (self.callee.kind() == "attribute").then(|| self.callee.field(&field::OBJECT)).flatten()
    }

    /// The keyword argument `name=...`, if the call passes it.
    pub fn keyword_argument(&self, semantic: &SemanticModel<'_>, name: &str) -> Option<Node<'_>> {
        let mut cursor = self.arguments.walk();
        self.arguments
            .named_children(&mut cursor)
            .filter(|argument| argument.kind() == "keyword_argument")
            .find(|argument| argument.field(&field::NAME).is_some_and(|key| semantic.text(key) == name))
            .and_then(|argument| argument.field(&field::VALUE))
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
        if let Some(value) = node.field(&field::VALUE) {
            let caught = if value.kind() == "as_pattern" {
                name = value
                    .field(&field::ALIAS)
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
                .field(&field::ALIAS)
                .and_then(|alias| alias.named_child(0))
                .filter(|target| target.kind() == "identifier");
            (item_value.named_child(0)?, name)
        } else {
            (item_value, None)
        };
        let callee = manager.field(&field::FUNCTION).filter(|_| manager.kind() == "call")?;
        if !matches!(
            semantic.qualified_name(callee).as_deref(),
            Some("asyncio.TaskGroup" | "asyncio.taskgroups.TaskGroup")
        ) {
            return None;
        }
        let clause = statement.named_child(0).filter(|clause| clause.kind() == "with_clause")?;
        let single_item = clause.named_child_count() == 1;
        Some(Self { statement, manager, name, body: statement.field(&field::BODY)?, single_item })
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
            .filter_map(|item| item.field(&field::VALUE))
            .any(|value| TaskGroupBlock::new(semantic, statement, value).is_some())
    }
}

impl<'a, 't> Checker<'a, 't> {
    pub fn new(semantic: &'a SemanticModel<'t>, settings: &'a LintSettings, rules: RuleSet) -> Self {
        Self {
            semantic,
            settings,
            path: None,
            rules,
            query_rules: rules,
            diagnostics: Vec::new(),
            workspace: None,
            awaiting_functions: HashSet::new(),
            stylist: OnceCell::new(),
            units: None,
            helper_calls: Vec::new(),
            ancestry: RefCell::default(),
        }
    }

    /// The file's indentation unit and line break, for fixes.
    pub fn stylist(&self) -> &Stylist {
        self.stylist.get_or_init(|| Stylist::detect(self.semantic.source(), self.semantic.scope(0).node))
    }

    /// `base`, or `base_2`, `base_3`, ... : the first name no scope visible from `position`
    /// binds, for a fix that introduces a variable (`tg`, `task`).
    pub fn fresh_name(&self, base: &str, position: usize) -> String {
        let free = |name: &str| self.semantic.is_builtin_name(name, position);
        if free(base) {
            return base.to_string();
        }
        // A file binds finitely many names, so one of the first few thousand suffixes is free.
        (2..10_000).map(|suffix| format!("{base}_{suffix}")).find(|name| free(name)).unwrap_or_else(|| base.to_string())
    }

    /// Whether a fix written at `position` can name `module` (`asyncio`), and the edit that
    /// imports it when the name is free; never another async library than the file's
    /// ([`fix_builder::module_import`]).
    pub fn import_module(&self, module: &str, position: usize) -> ModuleImport {
        fix_builder::module_import(self.semantic, self.async_library(), module, position)
    }

    /// The async library the file is written for: the one its imports show, else its own
    /// package's when that is `trio` or `anyio`, else asyncio (see [`AsyncLibrary`]).
    pub fn async_library(&self) -> AsyncLibrary {
        self.semantic
            .imported_async_library()
            .or_else(|| self.workspace.and_then(|workspace| AsyncLibrary::of_module(workspace.module)))
            .unwrap_or(AsyncLibrary::DEFAULT)
    }

    /// Looks for the concepts of `rules` as well as the checked ones' (see `query_rules`).
    #[must_use]
    pub fn with_query_rules(mut self, rules: RuleSet) -> Self {
        self.query_rules = self.rules.union(rules);
        self
    }

    /// Analyses only the nodes that start in `units` (sorted, apart): the rest of the file is
    /// known from an earlier analysis.
    #[must_use]
    pub fn with_units(mut self, units: Option<&'a [TextRange]>) -> Self {
        self.units = units;
        self
    }

    /// Whether `position` lies in the part of the file being analysed.
    pub fn is_analysed(&self, position: usize) -> bool {
        self.units.is_none_or(|units| {
            let index = units.partition_point(|unit| unit.end <= position);
            units.get(index).is_some_and(|unit| unit.start <= position)
        })
    }

    /// Lets rules see the file's path (test modules are told by their names).
    #[must_use]
    pub fn with_path(mut self, path: Option<&'a Path>) -> Self {
        self.path = path;
        self
    }

    /// Lets rules see the other modules of the workspace.
    #[must_use]
    pub fn with_workspace(mut self, workspace: Option<&'a WorkspaceView<'a>>) -> Self {
        self.workspace = workspace;
        self
    }

    /// What calling `call` creates: what the file shows, else what the workspace index knows
    /// of the imported function it resolves to. The one place rules ask it.
    pub fn callee_kind(&self, call: &Call<'_>) -> CalleeKind {
        self.callee_kind_beyond(call, self.semantic.callee_kind(call.callee))
    }

    /// [`Checker::callee_kind`] when the file alone says `in_file` of the callee.
    pub fn callee_kind_beyond(&self, call: &Call<'_>, in_file: CalleeKind) -> CalleeKind {
        if in_file != CalleeKind::Unknown {
            return in_file;
        }
        let Some(qualified) = call.qualified_name.as_deref() else { return in_file };
        match self.workspace_function_kind(qualified) {
            Some(FunctionKind::Coroutine) => CalleeKind::Coroutine,
            Some(FunctionKind::Sync | FunctionKind::AsyncGenerator | FunctionKind::AsyncContextManager) => {
                CalleeKind::NotCoroutine
            }
            Some(FunctionKind::Unknown) | None => CalleeKind::Unknown,
        }
    }

    /// What a function named by `callee` gives to `async with`/`async for`: what the file shows,
    /// else what the workspace index knows of the imported function. The one place rules ask it.
    pub fn async_protocol_of(&self, callee: Node<'_>) -> Option<AsyncProtocol> {
        if let Some(protocol) = self.semantic.async_protocol_of(callee) {
            return Some(protocol);
        }
        let qualified = self.semantic.qualified_name(callee)?;
        match self.workspace_function_kind(&qualified)? {
            FunctionKind::AsyncGenerator => Some(AsyncProtocol::AsyncGenerator),
            FunctionKind::AsyncContextManager => Some(AsyncProtocol::AsyncContextManager),
            FunctionKind::Sync | FunctionKind::Coroutine | FunctionKind::Unknown => None,
        }
    }

    /// The rest of the workspace, when the file is seen in one.
    pub(crate) fn workspace_view(&self) -> Option<&'a WorkspaceView<'a>> {
        self.workspace
    }

    /// Whether the workspace index may know more of `call`'s callee than the file: only of a
    /// name the file's imports resolve, and only with a workspace.
    pub fn workspace_may_know(&self, call: &Call<'_>) -> bool {
        self.workspace.is_some() && call.qualified_name.is_some()
    }

    /// What calling the function `qualified` (a name resolved through this file's imports,
    /// possibly relative) gives, when a module of the workspace defines it.
    pub fn workspace_function_kind(&self, qualified: &str) -> Option<FunctionKind> {
        let workspace = self.workspace?;
        let absolute = absolute_name(qualified, workspace.module, workspace.is_package)?;
        function_kind_of(workspace.modules, &absolute)
    }

    /// Whether `await ` can go in front of the expression `node` ([`Ancestry::can_prefix_await`]).
    pub fn can_prefix_await(&self, node: Node<'_>) -> bool {
        self.ancestry.borrow_mut().can_prefix_await(self.semantic.scope(0).node, node)
    }

    /// Whether the value of `expression` is thrown away
    /// ([`SemanticModel::is_result_discarded`]).
    pub fn is_result_discarded(&self, expression: Node<'_>, conditions: bool) -> bool {
        let mut ancestry = self.ancestry.borrow_mut();
        let path = ancestry.path_to(self.semantic.scope(0).node, expression);
        path.last().is_some_and(|last| last.id() == expression.id())
            && self.semantic.is_result_discarded(path, conditions)
    }

    pub fn enabled(&self, rule: Rule) -> bool {
        self.rules.contains(rule)
    }

    pub fn text(&self, node: Node<'_>) -> &'t str {
        self.semantic.text(node)
    }

    /// Records a finding of `rule` on `node`; the returned diagnostic can still take a fix.
    pub fn report(&mut self, rule: Rule, node: Node<'_>, message: String) -> &mut Diagnostic {
        let root = self.semantic.scope(0).node;
        let statement = self.ancestry.borrow_mut().enclosing_statement(root, node);
        let statement_start = statement.map_or(node.start_byte(), |statement| statement.start_byte());
        self.diagnostics.push(Diagnostic {
            rule,
            range: TextRange::of(node),
            message,
            severity: self.settings.severity_of(rule),
            fix: None,
            alternatives: Vec::new(),
            statement_start,
            related: Vec::new(),
        });
        let last = self.diagnostics.len() - 1;
        &mut self.diagnostics[last]
    }

    /// Records a finding of `rule` on `range`, a part of `node` (a statement's header, say).
    pub fn report_range(&mut self, rule: Rule, node: Node<'_>, range: TextRange, message: String) -> &mut Diagnostic {
        let diagnostic = self.report(rule, node, message);
        diagnostic.range = range;
        diagnostic
    }

    /// The findings so far.
    pub(crate) fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// What the blocking-call rules (`LW1xx`) enabled here would report at `found` (a call or a
    /// `with` item) were it in an async function, said for a message (``calls `open()` ``): LW109
    /// asks it of the calls in a helper's body. Nothing is reported.
    pub(crate) fn would_block(&mut self, found: &Match<'t>) -> Option<String> {
        enum Blocker<'t> {
            Call(Call<'t>),
            With(Node<'t>),
        }
        let blocker = match found.concept {
            Concept::Call => {
                let (Some(callee), Some(arguments)) = (found.first, found.second) else { return None };
                let qualified_name = self.semantic.qualified_name(callee);
                Blocker::Call(Call { node: found.node, callee, arguments, qualified_name })
            }
            Concept::WithItem if found.node.child(0).is_none_or(|first| first.kind() != "async") => {
                Blocker::With(found.first?)
            }
            _ => return None,
        };
        let before = self.diagnostics.len();
        // Every blocking-call rule, enabled here or not: whether a helper blocks is a fact of
        // its body, not of which rules report in this file.
        let rules = self.rules;
        self.rules = rules.union(Rule::ALL.iter().copied().filter(|rule| rule.reports_blocking_calls()).collect());
        let called = match blocker {
            Blocker::Call(call) => {
                self.visit_call_in_async_function(&call);
                format!("calls `{}()`", self.text(call.callee))
            }
            Blocker::With(manager) => {
                rules::blocking_thread_sync::check_with(self, manager);
                format!("enters `with {}`", self.text(manager))
            }
        };
        self.rules = rules;
        let blocks = self.diagnostics.len() > before;
        self.diagnostics.truncate(before);
        blocks.then_some(called)
    }

    pub fn run(self, tree: &'t Tree) -> Vec<Diagnostic> {
        self.run_with(tree, None)
    }

    /// The concepts the walk looks for with `rules` checked and `query_rules` enabled, and
    /// whether it walks the whole file (else only the bodies of `async def`s): a whole-file
    /// walk can be done by the semantic model's ([`Checker::run_with`]).
    /// With `top_level_await` the module's top level counts as async code too, so the walk
    /// must cover it.
    pub fn walk_plan(rules: RuleSet, query_rules: RuleSet, top_level_await: bool) -> (ConceptSet, bool) {
        let concepts = rules.union(query_rules).iter().flat_map(|rule| concepts_of(rule).iter().copied()).collect();
        (concepts, top_level_await || !rules.only_in_async_functions())
    }

    /// [`Checker::run`], with what a whole-file walk for [`Checker::walk_plan`]'s concepts
    /// found when another walk found it.
    pub fn run_with(mut self, tree: &'t Tree, found: Option<Vec<Match<'t>>>) -> Vec<Diagnostic> {
        let (concepts, whole_file) = Self::walk_plan(self.rules, self.query_rules, self.settings.top_level_await);
        match found {
            Some(found) if whole_file => {
                for found in found {
                    if self.is_analysed(found.node.start_byte()) {
                        self.dispatch(found);
                    }
                }
            }
            _ => {
                // Rules that only report inside `async def`s need the walk over their bodies alone.
                let ranges = if whole_file {
                    vec![TextRange::new(0, self.semantic.source().len())]
                } else {
                    self.semantic.async_function_bodies()
                };
                for range in ranges {
                    for found in walk::matches(tree, self.semantic.source(), concepts, range) {
                        if self.is_analysed(found.node.start_byte()) {
                            self.dispatch(found);
                        }
                    }
                }
            }
        }
        let helper_calls = std::mem::take(&mut self.helper_calls);
        if !helper_calls.is_empty() {
            rules::blocking_helper_call::report(&mut self, helper_calls);
        }
        if self.enabled(Rule::AsyncWithoutAwait) {
            rules::async_without_await::check(&mut self);
        }
        self.diagnostics.sort_by_key(|diagnostic| (diagnostic.range.start, diagnostic.range.end, diagnostic.rule));
        let line_ending = fix_builder::line_ending(self.semantic.source());
        for diagnostic in &mut self.diagnostics {
            for fix in diagnostic.fix.iter_mut().chain(&mut diagnostic.alternatives) {
                fix.use_line_ending(line_ending);
            }
        }
        self.diagnostics
    }

    fn dispatch(&mut self, found: Match<'t>) {
        let node = found.node;
        match found.concept {
            Concept::Call => {
                let (Some(callee), Some(arguments)) = (found.first, found.second) else { return };
                self.visit_call(node, callee, arguments);
            }
            Concept::WithItem => {
                let Some(manager) = found.first else { return };
                let is_async = node.child(0).is_some_and(|first| first.kind() == "async");
                if !is_async && self.semantic.in_async_function(node.start_byte()) {
                    rules::blocking_thread_sync::check_with(self, manager);
                }
                if is_async && self.enabled(Rule::TimeoutWithoutAwait) {
                    rules::timeout_without_await::check(self, node, manager);
                }
                if !is_async && self.enabled(Rule::MissingAsyncKeyword) {
                    rules::missing_async_keyword::check_with(self, node, manager);
                }
                if is_async {
                    self.visit_task_group(node, manager);
                }
            }
            Concept::Class => {
                if self.enabled(Rule::ExceptionGroupSubclassWithoutDerive) {
                    rules::exception_group_subclass_without_derive::check(self, node);
                }
            }
            Concept::ExceptClause => self.visit_except_clause(node),
            Concept::Reference => {
                if self.enabled(Rule::TimeoutErrorAlias) {
                    rules::timeout_error_alias::check(self, node);
                }
            }
            Concept::FunctionDefinition => {
                if self.enabled(Rule::TimeoutParameter) {
                    rules::timeout_parameter::check(self, node);
                }
                self.visit_function(node);
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
            Concept::Decorator => {
                if self.enabled(Rule::DeprecatedAsyncioApi) {
                    rules::deprecated_asyncio_api::check_decorator(self, node);
                }
                if self.enabled(Rule::ContextmanagerOnAsyncFunction) {
                    rules::contextmanager_on_async_function::check(self, node);
                }
            }
            Concept::WhileLoop => {
                if self.enabled(Rule::BusyWait) {
                    rules::busy_wait::check(self, node);
                }
            }
            Concept::ForLoop => {
                if self.enabled(Rule::MissingAsyncKeyword) {
                    rules::missing_async_keyword::check_for(self, node);
                }
            }
            Concept::Yield => {
                if self.enabled(Rule::YieldInTaskgroupOrTimeout) {
                    rules::yield_in_taskgroup_or_timeout::check(self, node);
                }
            }
        }
    }

    fn visit_call(&mut self, node: Node<'t>, callee: Node<'t>, arguments: Node<'t>) {
        let call = Call { node, callee, arguments, qualified_name: self.semantic.qualified_name(callee) };
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
        let in_async_function = self.semantic.in_async_function(node.start_byte());
        self.visit_call_concurrency(&call, in_async_function);
        if self.enabled(Rule::UnboundedQueue) {
            rules::unbounded_queue::check(self, &call);
        }
        if self.enabled(Rule::PytestRaisesExceptionGroup) {
            rules::pytest_raises_exception_group::check(self, &call);
        }
        if !in_async_function {
            return;
        }
        self.visit_call_in_async_function(&call);
        if self.enabled(Rule::BlockingHelperCall)
            && let Some(helper) = rules::blocking_helper_call::candidate(self, &call)
        {
            let Call { node, callee, arguments, ref qualified_name } = call;
            let call = Call { node, callee, arguments, qualified_name: qualified_name.clone() };
            self.helper_calls.push(rules::blocking_helper_call::Candidate { call, helper });
        }
        if self.enabled(Rule::UnboundedTaskSpawn) {
            rules::unbounded_task_spawn::check(self, &call);
        }
        if self.enabled(Rule::PerCallSemaphore) {
            rules::per_call_semaphore::check(self, &call);
        }
        if self.enabled(Rule::GatherExceptionsUnchecked) {
            rules::gather_exceptions_unchecked::check(self, &call);
        }
        if self.enabled(Rule::MissingTimeout) {
            rules::missing_timeout::check(self, &call);
        }
        if self.enabled(Rule::WaitForInsteadOfTimeout) {
            rules::wait_for_instead_of_timeout::check(self, &call);
        }
    }

    /// The handler rules: exception groups (LW904, LW905, LW907), then cancellation and errors
    /// (LW301-LW303), which only concern handlers in async functions.
    fn visit_except_clause(&mut self, clause: Node<'t>) {
        if let Some(handler) = ExceptHandler::new(clause) {
            if self.enabled(Rule::AwaitInExceptHandler) && self.semantic.in_async_function(clause.start_byte()) {
                rules::await_in_except_handler::check(self, &handler);
            }
            if self.enabled(Rule::ExceptionGroupFlattening) {
                rules::exception_group_flattening::check(self, &handler);
            }
            if self.enabled(Rule::ExceptStarInvalidAttribute) {
                rules::except_star_invalid_attribute::check(self, &handler);
            }
        }
        if !self.semantic.in_async_function(clause.start_byte()) {
            return;
        }
        if self.enabled(Rule::CancelledErrorSwallowed) {
            rules::cancelled_error_swallowed::check(self, clause);
        }
        if self.enabled(Rule::BroadExceptSwallowsCancellation) {
            rules::broad_except_swallows_cancellation::check(self, clause);
        }
        if self.enabled(Rule::ExceptionSilenced) {
            rules::exception_silenced::check(self, clause);
        }
    }

    /// The structured-concurrency, current-API and resource rules (`LW5xx`, `LW6xx`): each one
    /// decides its own scope.
    fn visit_call_concurrency(&mut self, call: &Call<'t>, in_async_function: bool) {
        if in_async_function && self.enabled(Rule::GetEventLoopInCoroutine) {
            rules::get_event_loop_in_coroutine::check(self, call);
        }
        if self.enabled(Rule::RunInExecutorDefaultPool) {
            rules::run_in_executor_default_pool::check(self, call, in_async_function);
        }
        if self.enabled(Rule::EnsureFutureOnCoroutine) {
            rules::ensure_future_on_coroutine::check(self, call, in_async_function);
        }
        if in_async_function && self.enabled(Rule::GatherInsteadOfTaskgroup) {
            rules::gather_instead_of_taskgroup::check(self, call);
        }
        // Inside a coroutine, `run_until_complete` is LW204's (a nested loop), not a manual one.
        if !in_async_function && self.enabled(Rule::ManualEventLoop) {
            rules::manual_event_loop::check(self, call);
        }
        if self.enabled(Rule::DeprecatedAsyncioApi) {
            rules::deprecated_asyncio_api::check_call(self, call);
        }
        if self.enabled(Rule::UnmanagedClientSession) {
            rules::unmanaged_client_session::check(self, call);
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

/// The concepts whose nodes a rule is handed (see `dispatch` and the `visit_*` methods): the
/// walk looks only for the enabled rules' concepts. Each rule's fixture
/// runs with that rule alone, so a concept missing here fails its fixture.
fn concepts_of(rule: Rule) -> &'static [Concept] {
    use Concept::{
        AsyncSyntax, Call, Class, Decorator, ExceptClause, ForLoop, FunctionDefinition, Reference, WhileLoop, WithItem,
        Yield, YieldFrom,
    };
    match rule {
        Rule::BlockingThreadSync => &[Call, WithItem],
        Rule::BlockingSleep
        | Rule::BlockingNetworkCall
        | Rule::BlockingSubprocess
        | Rule::BlockingFileIo
        | Rule::BlockingInput
        | Rule::BlockingDbClient
        | Rule::BlockingConfiguredCall
        | Rule::BlockingHelperCall
        | Rule::UnawaitedCoroutine
        | Rule::DanglingTask
        | Rule::NestedEventLoop
        | Rule::GatherExceptionsUnchecked
        | Rule::MissingTimeout
        | Rule::WaitForInsteadOfTimeout
        | Rule::GatherInsteadOfTaskgroup
        | Rule::GetEventLoopInCoroutine
        | Rule::ManualEventLoop
        | Rule::RunInExecutorDefaultPool
        | Rule::EnsureFutureOnCoroutine
        | Rule::UnmanagedClientSession
        | Rule::UnboundedTaskSpawn
        | Rule::PerCallSemaphore
        | Rule::UnboundedQueue
        | Rule::PytestRaisesExceptionGroup => &[Call],
        Rule::DeprecatedAsyncioApi => &[Call, Decorator],
        Rule::AwaitOutsideAsync | Rule::AsyncWithoutAwait => &[AsyncSyntax],
        Rule::YieldFromInAsyncFunction => &[YieldFrom],
        Rule::CancelledErrorSwallowed
        | Rule::BroadExceptSwallowsCancellation
        | Rule::ExceptionSilenced
        | Rule::AwaitInExceptHandler
        | Rule::ExceptionGroupFlattening
        | Rule::ExceptStarInvalidAttribute => &[ExceptClause],
        Rule::TimeoutErrorAlias => &[Reference],
        Rule::TimeoutParameter
        | Rule::AsyncTestWithoutRunner
        | Rule::AsyncioMarkOnSyncTest
        | Rule::AsyncioMarkOnFixture
        | Rule::UnsafeAsyncGenerator => &[FunctionDefinition],
        Rule::TimeoutWithoutAwait
        | Rule::SingleTaskTaskgroup
        | Rule::ContextValueEscapesTaskgroup
        | Rule::ControlFlowInTaskgroup => &[WithItem],
        Rule::MissingAsyncKeyword => &[WithItem, ForLoop],
        Rule::ContextmanagerOnAsyncFunction => &[Decorator],
        Rule::BusyWait => &[WhileLoop],
        Rule::YieldInTaskgroupOrTimeout => &[Yield],
        Rule::ExceptionGroupSubclassWithoutDerive => &[Class],
        // Found by `analysis::syntax`, not by a walk.
        Rule::InvalidSyntax => &[],
    }
}
