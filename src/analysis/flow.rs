//! The control flow of `except` handlers, for the `LW3xx` rules: whether some path through a
//! handler ends without raising.
//!
//! Two parts:
//! - a structural analysis of a block ([`Analyzer::block_flow`]): `if`/`elif`/`else`, loops
//!   (`while True:` ends only by `break`), `try`/`except`/`else`/`finally`, `with` and `match`.
//!   A call statement to a function that never returns ends a path like a `raise`: a `def` of
//!   the file (a bare name, or a method through `self.`/`cls.`) whose every path raises, found
//!   with the same analysis (at most [`MAX_HELPER_DEPTH`] calls deep, cycles cut), or one
//!   annotated `-> NoReturn`/`-> Never`, and the well-known [`NEVER_RETURNING`] functions;
//! - for a handler that falls through (or leaves by `break`/`continue`), where the path goes
//!   next ([`Analyzer::continuation_raises`]): the statements after the `try`, out of the
//!   enclosing `if`/`with`/`try`/handler blocks, taking the `if` tests that the handler decided
//!   (a flag set to `True`/`False`/`None`, the caught exception kept in a name). The path
//!   counts as raising when it reaches a `raise` before the task suspends again, or, when the
//!   handler kept the caught exception, a `raise` that names it, however far (past awaits and
//!   the end of an enclosing loop).
//!
//! Calls are otherwise assumed to return, and a `with` is assumed not to suppress exceptions.

use tree_sitter::Node;

use crate::analysis::semantic::{SemanticModel, nodes_in_same_scope, suspends};
use crate::analysis::source::{NodeFields, field};

/// How deep [`Analyzer::function_never_returns`] follows helpers that call helpers.
pub const MAX_HELPER_DEPTH: usize = 3;

/// Statements a handler's continuation may visit before the analysis gives up (and assumes
/// the handler may complete).
const STEP_BUDGET: u32 = 400;

/// Functions that never return, by qualified name: they raise (`SystemExit`, pytest's
/// outcomes) or end the process.
pub const NEVER_RETURNING: &[&str] = &[
    "sys.exit",
    "builtins.exit",
    "builtins.quit",
    "os._exit",
    "os.abort",
    "pytest.fail",
    "pytest.skip",
    "pytest.exit",
    "pytest.xfail",
    "_pytest.outcomes.fail",
    "_pytest.outcomes.skip",
    "_pytest.outcomes.exit",
    "_pytest.outcomes.xfail",
    "typing.assert_never",
    "typing_extensions.assert_never",
];

/// The return annotations that say a function never returns.
const NO_RETURN_TYPES: &[&str] =
    &["typing.NoReturn", "typing.Never", "typing_extensions.NoReturn", "typing_extensions.Never"];

/// Decorators that keep a function what its body says.
const TRANSPARENT_DECORATORS: &[&str] = &[
    "builtins.staticmethod",
    "builtins.classmethod",
    "typing.final",
    "typing.override",
    "typing_extensions.final",
    "typing_extensions.override",
];

/// How control can leave a block besides raising.
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::struct_excessive_bools)]
struct Flow {
    /// Some path reaches the end of the block.
    falls_through: bool,
    returns: bool,
    /// A `break` of a loop outside the analysed block.
    exits_by_break: bool,
    /// A `continue` of a loop outside the analysed block.
    exits_by_continue: bool,
    /// A `break` of the innermost loop that holds this code inside the analysed block.
    breaks: bool,
    /// A `continue` of that loop.
    loops_back: bool,
    /// Some path loops forever (`while True:` that can go round again).
    hangs: bool,
}

impl Flow {
    const STOPS: Flow = Flow {
        falls_through: false,
        returns: false,
        exits_by_break: false,
        exits_by_continue: false,
        breaks: false,
        loops_back: false,
        hangs: false,
    };
    const FALLS_THROUGH: Flow = Flow { falls_through: true, ..Flow::STOPS };

    /// A path leaves the block by `return`, `break` or `continue`.
    fn leaves(self) -> bool {
        self.returns || self.exits_by_break || self.exits_by_continue
    }

    fn or(self, other: Flow) -> Flow {
        Flow {
            falls_through: self.falls_through || other.falls_through,
            returns: self.returns || other.returns,
            exits_by_break: self.exits_by_break || other.exits_by_break,
            exits_by_continue: self.exits_by_continue || other.exits_by_continue,
            breaks: self.breaks || other.breaks,
            loops_back: self.loops_back || other.loops_back,
            hangs: self.hangs || other.hangs,
        }
    }
}

impl SemanticModel<'_> {
    /// Whether some path through the handler of `clause` (an `except` clause) ends without
    /// raising: it returns, or it falls off its end (or leaves by `break`/`continue`) and the
    /// code that runs next does not raise before the task suspends again (see the module doc).
    pub fn handler_may_complete_without_raising(&self, clause: Node<'_>) -> bool {
        Analyzer::new(self, Some(clause)).handler_completes(clause)
    }

    /// Whether calling the function `definition` never returns, called by name or (with
    /// `through_receiver`) through `self.`/`cls.`.
    pub fn function_never_returns(&self, definition: Node<'_>, through_receiver: bool) -> bool {
        Analyzer::new(self, None).function_never_returns(definition, through_receiver)
    }

    /// Whether some path through `block` reaches its end.
    pub fn block_falls_through(&self, block: Node<'_>) -> bool {
        Analyzer::new(self, None).block_flow(block, false).falls_through
    }

    /// Whether every path through `block` that ends without raising falls off its end: none
    /// returns, nor leaves it by `break` or `continue`. A statement appended to it then runs
    /// on every such path.
    pub fn block_only_falls_through(&self, block: Node<'_>) -> bool {
        let flow = Analyzer::new(self, None).block_flow(block, false);
        flow.falls_through && !flow.leaves()
    }
}

/// What a handler's path knows about a name after the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    /// `True`, the caught exception, a list the exception was appended to.
    Truthy,
    False,
    None,
}

/// What is known on one path after the handler.
#[derive(Debug, Clone, Default)]
struct Facts<'s> {
    known: Vec<(&'s str, Known)>,
    /// The names that hold the caught exception (or a list holding it).
    kept: Vec<&'s str>,
    /// An `await`, `async for` or `async with` ran since the handler.
    suspended: bool,
}

impl<'s> Facts<'s> {
    fn get(&self, name: &str) -> Option<Known> {
        self.known.iter().find(|(known, _)| *known == name).map(|(_, value)| *value)
    }

    fn set(&mut self, name: &'s str, value: Known, kept: bool) {
        self.forget(name);
        self.known.push((name, value));
        if kept {
            self.kept.push(name);
        }
    }

    fn forget(&mut self, name: &str) {
        self.known.retain(|(known, _)| *known != name);
        self.kept.retain(|kept| *kept != name);
    }

    /// Nothing on this path can count as raising any more.
    fn is_hopeless(&self) -> bool {
        self.suspended && self.kept.is_empty()
    }
}

struct Analyzer<'a, 't> {
    semantic: &'a SemanticModel<'t>,
    /// The handler being analysed: its own assignments do not undo what it establishes.
    origin: Option<std::ops::Range<usize>>,
    /// The functions whose bodies are being analysed, innermost last.
    active: Vec<usize>,
    /// Functions known to never return.
    never_returning: Vec<usize>,
    steps: u32,
}

impl<'a, 't> Analyzer<'a, 't> {
    fn new(semantic: &'a SemanticModel<'t>, origin: Option<Node<'_>>) -> Self {
        let origin = origin.map(|clause| clause.byte_range());
        Self { semantic, origin, active: Vec::new(), never_returning: Vec::new(), steps: STEP_BUDGET }
    }

    fn text(&self, node: Node<'_>) -> &'t str {
        self.semantic.text(node)
    }

    // --- the structural analysis of a block ---

    fn block_flow(&mut self, block: Node<'_>, in_loop: bool) -> Flow {
        let mut flow = Flow::FALLS_THROUGH;
        let mut cursor = block.walk();
        let statements: Vec<Node<'_>> = block.named_children(&mut cursor).collect();
        for statement in statements {
            if statement.kind() == "comment" {
                continue;
            }
            let this = self.statement_flow(statement, in_loop);
            flow = flow.or(this);
            if !this.falls_through {
                flow.falls_through = false;
                return flow;
            }
        }
        flow
    }

    fn statement_flow(&mut self, statement: Node<'_>, in_loop: bool) -> Flow {
        let stops = Flow::STOPS;
        let field = |name: &str| statement.child_by_field_name(name);
        match statement.kind() {
            "raise_statement" => stops,
            "break_statement" if in_loop => Flow { breaks: true, ..stops },
            "continue_statement" if in_loop => Flow { loops_back: true, ..stops },
            "return_statement" => Flow { returns: true, ..stops },
            "break_statement" => Flow { exits_by_break: true, ..stops },
            "continue_statement" => Flow { exits_by_continue: true, ..stops },
            "if_statement" => {
                let mut flow = field("consequence").map_or(stops, |block| self.block_flow(block, in_loop));
                let mut has_else = false;
                let mut cursor = statement.walk();
                let alternatives: Vec<Node<'_>> =
                    statement.children_by_field_name("alternative", &mut cursor).collect();
                for alternative in alternatives {
                    has_else |= alternative.kind() == "else_clause";
                    let block = alternative.field(&field::CONSEQUENCE).or(alternative.field(&field::BODY));
                    if let Some(block) = block {
                        flow = flow.or(self.block_flow(block, in_loop));
                    }
                }
                if !has_else {
                    flow.falls_through = true;
                }
                flow
            }
            "for_statement" | "while_statement" => {
                let inner = field("body").map_or(stops, |block| self.block_flow(block, true));
                let else_flow = field("alternative")
                    .and_then(|clause| clause.field(&field::BODY))
                    .map_or(Flow::FALLS_THROUGH, |block| self.block_flow(block, in_loop));
                let endless = statement.kind() == "while_statement" && field("condition").is_some_and(is_always_true);
                // The loop ends by a `break`, or (unless endless) by its condition through `else`.
                let by_condition = if endless { stops } else { else_flow };
                Flow {
                    falls_through: inner.breaks || by_condition.falls_through,
                    returns: inner.returns || by_condition.returns,
                    exits_by_break: inner.exits_by_break || by_condition.exits_by_break,
                    exits_by_continue: inner.exits_by_continue || by_condition.exits_by_continue,
                    breaks: by_condition.breaks,
                    loops_back: by_condition.loops_back,
                    hangs: inner.hangs || by_condition.hangs || (endless && (inner.falls_through || inner.loops_back)),
                }
            }
            "try_statement" => {
                let mut flow = stops;
                let mut finally = None;
                let mut has_else = false;
                let mut cursor = statement.walk();
                let clauses: Vec<Node<'_>> = statement.named_children(&mut cursor).collect();
                for clause in clauses {
                    match clause.kind() {
                        "except_clause" | "except_group_clause" => {
                            if let Some(block) = clause_block(clause) {
                                flow = flow.or(self.block_flow(block, in_loop));
                            }
                        }
                        "else_clause" => {
                            has_else = true;
                            if let Some(block) = clause.field(&field::BODY) {
                                flow = flow.or(self.block_flow(block, in_loop));
                            }
                        }
                        "finally_clause" => finally = clause_block(clause),
                        _ => {}
                    }
                }
                let body = field("body").map_or(stops, |block| self.block_flow(block, in_loop));
                // The body's normal end goes through `else`.
                flow = flow.or(if has_else { Flow { falls_through: false, ..body } } else { body });
                match finally.map(|block| self.block_flow(block, in_loop)) {
                    Some(finally) if !finally.falls_through => finally,
                    Some(finally) => flow.or(Flow { falls_through: false, ..finally }),
                    None => flow,
                }
            }
            "with_statement" => field("body").map_or(stops, |block| self.block_flow(block, in_loop)),
            "match_statement" => {
                let mut flow = Flow::FALLS_THROUGH;
                if let Some(cases) = field("body") {
                    let mut cursor = cases.walk();
                    let cases: Vec<Node<'_>> = cases.named_children(&mut cursor).collect();
                    for case in cases {
                        if let Some(block) = case.field(&field::CONSEQUENCE) {
                            flow = flow.or(self.block_flow(block, in_loop));
                        }
                    }
                }
                flow
            }
            "expression_statement" if self.is_never_returning_call(statement) => stops,
            _ => Flow::FALLS_THROUGH,
        }
    }

    // --- calls that never return ---

    /// `f(...)` for a sync `f` that never returns, or `await f(...)` for such an `async def`.
    fn is_never_returning_call(&mut self, statement: Node<'_>) -> bool {
        if statement.named_child_count() != 1 {
            return false;
        }
        let Some(mut expression) = statement.named_child(0) else { return false };
        let awaited = expression.kind() == "await";
        if awaited {
            let Some(inner) = expression.named_child(0) else { return false };
            expression = inner;
        }
        if expression.kind() != "call" {
            return false;
        }
        let Some(callee) = expression.field(&field::FUNCTION) else { return false };
        if let Some(definition) = self.semantic.function_definition(callee) {
            self.semantic.note_never_returns_asked(definition);
            return is_async_definition(definition) == awaited
                && self.function_never_returns(definition, callee.kind() == "attribute");
        }
        !awaited && self.semantic.qualified_name(callee).is_some_and(|name| NEVER_RETURNING.contains(&name.as_str()))
    }

    /// Whether calling `definition` never returns. Not for generators (the call only creates
    /// one), functions with other decorators than `staticmethod`, `classmethod`, `final` and
    /// `override`, nor, for a method reached through `self.`/`cls.` (`through_receiver`), one
    /// that raises `NotImplementedError` (a subclass overrides it).
    fn function_never_returns(&mut self, definition: Node<'_>, through_receiver: bool) -> bool {
        let id = definition.id();
        if self.never_returning.contains(&id) {
            return true;
        }
        if self.active.contains(&id)
            || self.active.len() >= MAX_HELPER_DEPTH
            || self.semantic.is_generator_function(definition)
        {
            return false;
        }
        let decorators = self.semantic.decorators(definition);
        if decorators
            .iter()
            .any(|(_, name)| !name.as_deref().is_some_and(|name| TRANSPARENT_DECORATORS.contains(&name)))
        {
            return false;
        }
        let Some(body) = definition.field(&field::BODY) else { return false };
        if through_receiver && self.raises_not_implemented(body) {
            return false;
        }
        let never_returns = if self.is_annotated_no_return(definition) {
            true
        } else {
            self.active.push(id);
            let flow = self.block_flow(body, false);
            self.active.pop();
            !flow.falls_through && !flow.leaves() && !flow.hangs
        };
        if never_returns {
            self.never_returning.push(id);
        }
        never_returns
    }

    fn is_annotated_no_return(&self, definition: Node<'_>) -> bool {
        let Some(annotation) = definition.field(&field::RETURN_TYPE).and_then(|kind| kind.named_child(0)) else {
            return false;
        };
        let qualified = match annotation.kind() {
            "identifier" | "attribute" => self.semantic.qualified_name(annotation),
            // `-> "NoReturn"`, `-> "typing.Never"`.
            "string" => {
                let written = self.text(annotation).trim_matches(|c| c == '"' || c == '\'');
                let (first, rest) =
                    written.split_once('.').map_or((written, None), |(first, rest)| (first, Some(rest)));
                let is_name = !written.is_empty()
                    && written
                        .split('.')
                        .all(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_'));
                if !is_name {
                    return false;
                }
                self.semantic
                    .qualified_name_of_name(first, annotation.start_byte())
                    .map(|base| rest.map_or(base.clone(), |rest| format!("{base}.{rest}")))
            }
            _ => None,
        };
        qualified.is_some_and(|name| NO_RETURN_TYPES.contains(&name.as_str()))
    }

    fn raises_not_implemented(&self, body: Node<'_>) -> bool {
        nodes_in_same_scope(body).into_iter().filter(|node| node.kind() == "raise_statement").any(|raise| {
            let Some(mut raised) = raise.named_child(0) else { return false };
            if raised.kind() == "call" {
                let Some(callee) = raised.field(&field::FUNCTION) else { return false };
                raised = callee;
            }
            self.semantic.qualified_name(raised).as_deref() == Some("builtins.NotImplementedError")
        })
    }

    // --- the handler and where its paths go next ---

    fn handler_completes(&mut self, clause: Node<'_>) -> bool {
        let (Some(body), Some(try_statement)) = (clause_block(clause), clause.parent()) else { return true };
        let flow = self.block_flow(body, false);
        if flow.returns {
            return true;
        }
        let exception = caught_name(clause).map(|name| self.text(name));
        if flow.falls_through {
            let facts = self.handler_facts(body, exception, false);
            if !self.after_statement_raises(try_statement, facts) {
                return true;
            }
        }
        if flow.exits_by_break || flow.exits_by_continue {
            let Some(enclosing) = enclosing_loop(try_statement) else { return true };
            // What the handler establishes before its first statement that may leave.
            let facts = self.handler_facts(body, exception, true);
            if flow.exits_by_continue && !self.loop_end_raises(enclosing, facts.clone()) {
                return true;
            }
            if flow.exits_by_break && !self.after_statement_raises(enclosing, facts) {
                return true;
            }
        }
        false
    }

    /// What the handler's top-level statements establish at its end: flags set to `True`,
    /// `False` or `None`, and names holding the caught exception (`first = exc`,
    /// `first = first or exc`, `if first is None: first = exc`, `errors.append(exc)`). With
    /// `before_exit`, only the statements before the first one that holds a `break` or
    /// `continue` of an enclosing loop count.
    fn handler_facts(&self, body: Node<'_>, exception: Option<&'t str>, before_exit: bool) -> Facts<'t> {
        let mut facts = Facts::default();
        let mut cursor = body.walk();
        let statements: Vec<Node<'_>> = body.named_children(&mut cursor).collect();
        for statement in statements {
            if before_exit && exits_enclosing_loop(statement) {
                break;
            }
            self.forget_changed(statement, &mut facts, false);
            if let Some((name, value, kept)) = self.establishes(statement, exception) {
                facts.set(name, value, kept);
            }
        }
        facts
    }

    /// The fact one handler statement establishes: `(name, value, holds the exception)`.
    fn establishes(&self, statement: Node<'_>, exception: Option<&str>) -> Option<(&'t str, Known, bool)> {
        let is_exception = |node: Node<'_>| node.kind() == "identifier" && Some(self.text(node)) == exception;
        match statement.kind() {
            "expression_statement" => {
                let expression = statement.named_child(0).filter(|_| statement.named_child_count() == 1)?;
                match expression.kind() {
                    "assignment" => {
                        let target = expression.field(&field::LEFT).filter(|left| left.kind() == "identifier")?;
                        let value = expression.field(&field::RIGHT)?;
                        let name = self.text(target);
                        match value.kind() {
                            "true" => Some((name, Known::Truthy, false)),
                            "false" => Some((name, Known::False, false)),
                            "none" => Some((name, Known::None, false)),
                            _ if is_exception(value) => Some((name, Known::Truthy, true)),
                            // `first = first or exc`
                            "boolean_operator"
                                if value.field(&field::LEFT).is_some_and(|left| self.text(left) == name)
                                    && value.field(&field::RIGHT).is_some_and(is_exception)
                                    && value.field(&field::OPERATOR).is_some_and(|op| op.kind() == "or") =>
                            {
                                Some((name, Known::Truthy, true))
                            }
                            _ => None,
                        }
                    }
                    // `errors.append(exc)`
                    "call" => {
                        let callee = expression.field(&field::FUNCTION).filter(|f| f.kind() == "attribute")?;
                        let object = callee.field(&field::OBJECT).filter(|o| o.kind() == "identifier")?;
                        let method = self.text(callee.field(&field::ATTRIBUTE)?);
                        if !matches!(method, "append" | "appendleft" | "add" | "insert") {
                            return None;
                        }
                        let arguments = expression.field(&field::ARGUMENTS)?;
                        let exception = exception?;
                        let mentions = nodes_in_same_scope(arguments)
                            .into_iter()
                            .any(|node| node.kind() == "identifier" && self.text(node) == exception);
                        mentions.then(|| (self.text(object), Known::Truthy, true))
                    }
                    _ => None,
                }
            }
            // `if first is None: first = exc` (or `if not first:`), without `else`.
            "if_statement" => {
                if statement.field(&field::ALTERNATIVE).is_some() {
                    return None;
                }
                let condition = unparenthesized(statement.field(&field::CONDITION)?);
                let tested = match condition.kind() {
                    "not_operator" => condition.field(&field::ARGUMENT).map(unparenthesized)?,
                    "comparison_operator" if Self::is_none_test(condition) == Some(true) => condition.named_child(0)?,
                    _ => return None,
                };
                if tested.kind() != "identifier" {
                    return None;
                }
                let name = self.text(tested);
                let consequence = statement.field(&field::CONSEQUENCE)?;
                let mut cursor = consequence.walk();
                let sets = consequence
                    .named_children(&mut cursor)
                    .any(|inner| self.establishes(inner, exception).is_some_and(|(set, _, kept)| set == name && kept));
                sets.then_some((name, Known::Truthy, true))
            }
            _ => None,
        }
    }

    /// For `x is None` `Some(true)`, for `x is not None` `Some(false)`; `None` for other tests.
    fn is_none_test(comparison: Node<'_>) -> Option<bool> {
        if comparison.named_child_count() != 2 || comparison.named_child(1)?.kind() != "none" {
            return None;
        }
        match comparison.field(&field::OPERATORS)?.kind() {
            "is" => Some(true),
            "is not" => Some(false),
            _ => None,
        }
    }

    /// Drops what `node` may change: names it binds (assignments, loop targets, `with ... as`,
    /// walrus, `del`) or empties (`.clear()`, `.pop()`, `.remove()`...), outside the handler
    /// being analysed when `outside_origin` is set.
    fn forget_changed(&self, node: Node<'_>, facts: &mut Facts<'t>, outside_origin: bool) {
        if facts.known.is_empty() {
            return;
        }
        for identifier in nodes_in_same_scope(node) {
            if identifier.kind() != "identifier" {
                continue;
            }
            let name = self.text(identifier);
            if facts.get(name).is_none() {
                continue;
            }
            if outside_origin && self.origin.as_ref().is_some_and(|origin| origin.contains(&identifier.start_byte())) {
                continue;
            }
            if self.is_changed(identifier) {
                facts.forget(name);
            }
        }
    }

    /// [`Self::forget_changed`] for the parts of `statement` other than `body`.
    fn forget_changed_outside(&self, statement: Node<'_>, body: Node<'_>, facts: &mut Facts<'t>) {
        let mut cursor = statement.walk();
        let parts: Vec<Node<'_>> =
            statement.named_children(&mut cursor).filter(|part| part.id() != body.id()).collect();
        for part in parts {
            self.forget_changed(part, facts, false);
        }
    }

    fn is_changed(&self, identifier: Node<'_>) -> bool {
        // `errors.clear()`
        if let Some(parent) = identifier.parent()
            && parent.kind() == "attribute"
            && parent.field(&field::OBJECT).is_some_and(|object| object.id() == identifier.id())
        {
            let method = parent.field(&field::ATTRIBUTE).map(|method| self.text(method));
            let called = parent.parent().is_some_and(|call| call.kind() == "call");
            return called && matches!(method, Some("clear" | "pop" | "popleft" | "popitem" | "remove" | "discard"));
        }
        let mut child = identifier;
        let mut current = identifier.parent();
        while let Some(parent) = current {
            match parent.kind() {
                "pattern_list"
                | "tuple_pattern"
                | "list_pattern"
                | "tuple"
                | "list"
                | "parenthesized_expression"
                | "list_splat_pattern"
                | "as_pattern_target"
                | "expression_list"
                | "subscript" => {}
                "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
                    return parent.field(&field::LEFT).is_some_and(|left| left.id() == child.id());
                }
                "named_expression" => {
                    return parent.field(&field::NAME).is_some_and(|name| name.id() == child.id());
                }
                "as_pattern" => {
                    return parent.field(&field::ALIAS).is_some_and(|alias| alias.id() == child.id());
                }
                "delete_statement" => return true,
                _ => return false,
            }
            child = parent;
            current = parent.parent();
        }
        false
    }

    /// Whether `condition` is true, false or undecided on a path with `facts`.
    fn decide(&self, condition: Node<'_>, facts: &Facts<'_>) -> Option<bool> {
        let condition = unparenthesized(condition);
        match condition.kind() {
            "identifier" => facts.get(self.text(condition)).map(|known| known == Known::Truthy),
            "not_operator" => self.decide(condition.field(&field::ARGUMENT)?, facts).map(|value| !value),
            "comparison_operator" => {
                let is_none = Self::is_none_test(condition)?;
                let tested = unparenthesized(condition.named_child(0)?);
                if tested.kind() != "identifier" {
                    return None;
                }
                let known = facts.get(self.text(tested))?;
                Some((known == Known::None) == is_none)
            }
            "boolean_operator" => {
                let left = self.decide(condition.field(&field::LEFT)?, facts);
                let right = self.decide(condition.field(&field::RIGHT)?, facts);
                match condition.field(&field::OPERATOR)?.kind() {
                    "and" => match (left, right) {
                        (Some(false), _) | (_, Some(false)) => Some(false),
                        (Some(true), Some(true)) => Some(true),
                        _ => None,
                    },
                    _ => match (left, right) {
                        (Some(true), _) | (_, Some(true)) => Some(true),
                        (Some(false), Some(false)) => Some(false),
                        _ => None,
                    },
                }
            }
            _ => None,
        }
    }

    /// Whether every path from the end of `statement` on raises (see the module doc).
    fn after_statement_raises(&mut self, statement: Node<'_>, facts: Facts<'t>) -> bool {
        let Some(block) = statement.parent() else { return false };
        self.continuation_raises(next_statement(statement), block, facts)
    }

    /// Whether every path that runs the statements of `block` from `first` on, then what
    /// follows the block, raises.
    fn continuation_raises(&mut self, first: Option<Node<'_>>, block: Node<'_>, mut facts: Facts<'t>) -> bool {
        let mut next = first;
        while let Some(statement) = next {
            next = next_statement(statement);
            if statement.kind() == "comment" {
                continue;
            }
            if self.steps == 0 || facts.is_hopeless() {
                return false;
            }
            self.steps -= 1;
            match statement.kind() {
                "raise_statement" => {
                    return !is_inside_try_body(statement)
                        && (!facts.suspended || self.mentions_kept(statement, &facts));
                }
                "return_statement" | "break_statement" | "continue_statement" => return false,
                "if_statement" => return self.if_raises(statement, block, facts),
                "with_statement" => {
                    let Some(body) = statement.field(&field::BODY) else { return false };
                    // `async with` awaits `__aenter__`; the items may await too.
                    facts.suspended |= is_async_with(statement) || suspends_outside(statement, body);
                    self.forget_changed_outside(statement, body, &mut facts);
                    let mut cursor = body.walk();
                    let first = body.named_children(&mut cursor).next();
                    return self.continuation_raises(first, body, facts);
                }
                _ => {
                    let flow = self.statement_flow(statement, false);
                    if flow.leaves() || flow.hangs {
                        return false;
                    }
                    if !flow.falls_through {
                        // Every path through it raises.
                        let in_time =
                            !facts.suspended && (statement.kind() == "expression_statement" || !suspends(statement));
                        return !is_inside_try_body(statement) && (in_time || self.only_raises_kept(statement, &facts));
                    }
                    facts.suspended |= suspends(statement);
                    self.forget_changed(statement, &mut facts, false);
                }
            }
        }
        self.block_end_raises(block, facts)
    }

    /// An `if` on the path: the branches the facts allow, each followed by what comes next.
    fn if_raises(&mut self, statement: Node<'_>, block: Node<'_>, mut facts: Facts<'t>) -> bool {
        let mut branches = Vec::new();
        let mut decided = false;
        let mut else_body = None;
        let mut tests = Vec::new();
        tests.extend(statement.field(&field::CONDITION).zip(statement.field(&field::CONSEQUENCE)));
        let mut cursor = statement.walk();
        for alternative in statement.children_by_field_name("alternative", &mut cursor) {
            if alternative.kind() == "else_clause" {
                else_body = alternative.field(&field::BODY);
            } else {
                tests.extend(alternative.field(&field::CONDITION).zip(alternative.field(&field::CONSEQUENCE)));
            }
        }
        for (condition, consequence) in tests {
            facts.suspended |= suspends(condition);
            match self.decide(condition, &facts) {
                Some(true) => {
                    branches.push(consequence);
                    decided = true;
                    break;
                }
                Some(false) => {}
                None => branches.push(consequence),
            }
        }
        let implicit_else = !decided && else_body.is_none();
        if !decided {
            branches.extend(else_body);
        }
        for branch in branches {
            let mut inner = branch.walk();
            let first = branch.named_children(&mut inner).next();
            if !self.continuation_raises(first, branch, facts.clone()) {
                return false;
            }
        }
        !implicit_else || self.continuation_raises(next_statement(statement), block, facts)
    }

    /// Where the path goes when it reaches the end of `block`.
    fn block_end_raises(&mut self, block: Node<'_>, facts: Facts<'t>) -> bool {
        let Some(parent) = block.parent() else { return false };
        match parent.kind() {
            "if_statement" => self.after_statement_raises(parent, facts),
            "with_statement" => {
                let mut facts = facts;
                // `async with` awaits `__aexit__`.
                facts.suspended |= is_async_with(parent);
                self.after_statement_raises(parent, facts)
            }
            "elif_clause"
            | "case_clause"
            | "else_clause"
            | "except_clause"
            | "except_group_clause"
            | "finally_clause" => {
                let Some(statement) = parent.parent() else { return false };
                match (parent.kind(), statement.kind()) {
                    ("elif_clause" | "else_clause", "if_statement")
                    | ("else_clause", "for_statement" | "while_statement")
                    | ("finally_clause", "try_statement") => self.after_statement_raises(statement, facts),
                    ("case_clause", _) => match statement.parent() {
                        Some(matched) if matched.kind() == "match_statement" => {
                            self.after_statement_raises(matched, facts)
                        }
                        _ => false,
                    },
                    (_, "try_statement") => self.leave_try_part(statement, facts),
                    _ => false,
                }
            }
            "try_statement" => {
                let mut cursor = parent.walk();
                let else_body = parent
                    .named_children(&mut cursor)
                    .find(|clause| clause.kind() == "else_clause")
                    .and_then(|clause| clause.field(&field::BODY));
                match else_body {
                    Some(body) => {
                        let mut inner = body.walk();
                        let first = body.named_children(&mut inner).next();
                        self.continuation_raises(first, body, facts)
                    }
                    None => self.leave_try_part(parent, facts),
                }
            }
            "for_statement" | "while_statement" => self.loop_end_raises(parent, facts),
            // The end of a function, class or module body.
            _ => false,
        }
    }

    /// Leaving a handler or the `else` of `try_statement` (or its body, without `else`): its
    /// `finally`, then what follows the `try`.
    fn leave_try_part(&mut self, try_statement: Node<'_>, facts: Facts<'t>) -> bool {
        let mut cursor = try_statement.walk();
        let finally = try_statement.named_children(&mut cursor).find(|clause| clause.kind() == "finally_clause");
        match finally.and_then(clause_block) {
            Some(block) => {
                let mut inner = block.walk();
                let first = block.named_children(&mut inner).next();
                self.continuation_raises(first, block, facts)
            }
            None => self.after_statement_raises(try_statement, facts),
        }
    }

    /// The end of an iteration of `statement`: the loop may go round again (and suspend), and
    /// ends by its condition or a `break`. Only a kept exception can still be raised after it,
    /// when nothing in the loop outside the handler changes its name, the loop has no `else`
    /// and no `return`, and is not `while True:`.
    fn loop_end_raises(&mut self, statement: Node<'_>, mut facts: Facts<'t>) -> bool {
        if cleanup_loop_then_reraise(statement) {
            return true;
        }
        if facts.kept.is_empty() || statement.field(&field::ALTERNATIVE).is_some() {
            return false;
        }
        let endless =
            statement.kind() == "while_statement" && statement.field(&field::CONDITION).is_some_and(is_always_true);
        if endless || nodes_in_same_scope(statement).iter().any(|node| node.kind() == "return_statement") {
            return false;
        }
        self.forget_changed(statement, &mut facts, true);
        facts.suspended = true;
        self.after_statement_raises(statement, facts)
    }

    fn mentions_kept(&self, node: Node<'_>, facts: &Facts<'_>) -> bool {
        !facts.kept.is_empty()
            && nodes_in_same_scope(node)
                .into_iter()
                .any(|inner| inner.kind() == "identifier" && facts.kept.contains(&self.text(inner)))
    }

    /// A statement that always raises, every `raise` of which names a kept exception.
    fn only_raises_kept(&self, statement: Node<'_>, facts: &Facts<'_>) -> bool {
        let raises: Vec<Node<'_>> =
            nodes_in_same_scope(statement).into_iter().filter(|node| node.kind() == "raise_statement").collect();
        !raises.is_empty() && raises.into_iter().all(|raise| self.mentions_kept(raise, facts))
    }
}

/// A `for` loop (finite, no `else`, no `return`, `break` or `continue` of its own) directly in
/// an outer handler's block, followed there by a bare `raise` with nothing that leaves first:
/// cleanup that goes on after an inner handler swallows a second cancellation, then re-raises
/// what the outer handler caught. The task still ends.
fn cleanup_loop_then_reraise(statement: Node<'_>) -> bool {
    if statement.kind() != "for_statement" || statement.field(&field::ALTERNATIVE).is_some() {
        return false;
    }
    let in_handler = statement
        .parent()
        .filter(|block| block.kind() == "block")
        .and_then(|block| block.parent())
        .is_some_and(|clause| matches!(clause.kind(), "except_clause" | "except_group_clause"));
    if !in_handler
        || nodes_in_same_scope(statement)
            .iter()
            .any(|node| matches!(node.kind(), "return_statement" | "break_statement" | "continue_statement"))
    {
        return false;
    }
    let mut next = statement.next_named_sibling();
    while let Some(following) = next {
        match following.kind() {
            "raise_statement" => return following.named_child_count() == 0,
            "return_statement" | "break_statement" | "continue_statement" => return false,
            kind if kind.ends_with("_statement") && kind != "expression_statement" => return false,
            _ => {}
        }
        next = following.next_named_sibling();
    }
    false
}

/// The `as` name of an `except` clause.
fn caught_name(clause: Node<'_>) -> Option<Node<'_>> {
    let value = clause.field(&field::VALUE).filter(|value| value.kind() == "as_pattern");
    let alias = value.and_then(|value| value.field(&field::ALIAS)).or_else(|| clause.field(&field::ALIAS))?;
    if alias.kind() == "identifier" {
        return Some(alias);
    }
    alias.named_child(0).filter(|target| target.kind() == "identifier")
}

/// The block of an `except` or `finally` clause.
fn clause_block(clause: Node<'_>) -> Option<Node<'_>> {
    let mut cursor = clause.walk();
    clause.named_children(&mut cursor).find(|child| child.kind() == "block")
}

fn next_statement(statement: Node<'_>) -> Option<Node<'_>> {
    statement.next_named_sibling()
}

fn unparenthesized(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression"
        && let Some(inner) = node.named_child(0)
    {
        node = inner;
    }
    node
}

fn is_always_true(condition: Node<'_>) -> bool {
    condition.kind() == "true"
}

fn is_async_with(statement: Node<'_>) -> bool {
    is_async_definition(statement)
}

/// Whether the parts of `statement` other than `body` suspend (the items of a `with`).
fn suspends_outside(statement: Node<'_>, body: Node<'_>) -> bool {
    let mut cursor = statement.walk();
    statement.named_children(&mut cursor).any(|part| part.id() != body.id() && suspends(part))
}

/// `async def`, `async with`, `async for`.
fn is_async_definition(definition: Node<'_>) -> bool {
    definition.child(0).is_some_and(|first| first.kind() == "async")
}

/// The loop a `break`/`continue` written at `statement`'s level leaves: the nearest `for` or
/// `while` whose body holds it, in the same function.
fn enclosing_loop(statement: Node<'_>) -> Option<Node<'_>> {
    let mut child = statement;
    let mut current = statement.parent();
    while let Some(node) = current {
        match node.kind() {
            "for_statement" | "while_statement"
                if node.field(&field::BODY).is_some_and(|body| body.id() == child.id()) =>
            {
                return Some(node);
            }
            "function_definition" | "lambda" | "class_definition" | "module" => return None,
            _ => {}
        }
        child = node;
        current = node.parent();
    }
    None
}

/// Whether `statement` holds a `break` or `continue` of a loop around it (not of a loop it holds).
fn exits_enclosing_loop(statement: Node<'_>) -> bool {
    nodes_in_same_scope(statement).into_iter().any(|node| {
        matches!(node.kind(), "break_statement" | "continue_statement")
            && enclosing_loop(node).is_none_or(|target| target.start_byte() < statement.start_byte())
    })
}

/// Whether `node` lies in the body of a `try` with handlers, which may catch what it raises.
fn is_inside_try_body(node: Node<'_>) -> bool {
    let mut child = node;
    let mut current = node.parent();
    while let Some(parent) = current {
        match parent.kind() {
            "try_statement" if parent.field(&field::BODY).is_some_and(|body| body.id() == child.id()) => {
                let mut cursor = parent.walk();
                if parent
                    .named_children(&mut cursor)
                    .any(|clause| matches!(clause.kind(), "except_clause" | "except_group_clause"))
                {
                    return true;
                }
            }
            "function_definition" | "lambda" | "class_definition" => return false,
            _ => {}
        }
        child = parent;
        current = parent.parent();
    }
    false
}

#[cfg(test)]
mod tests {
    use tree_sitter::Node;

    use crate::analysis::semantic::SemanticModel;
    use crate::analysis::source;

    /// For each `except` clause of `source`, in order: whether its handler may complete
    /// without raising.
    fn completes(source: &str) -> Vec<bool> {
        let tree = source::parse(source);
        let semantic = SemanticModel::build(&tree, source);
        let mut clauses: Vec<Node<'_>> = Vec::new();
        let mut pending = vec![tree.root_node()];
        while let Some(node) = pending.pop() {
            if node.kind() == "except_clause" {
                clauses.push(node);
            }
            let mut cursor = node.walk();
            pending.extend(node.named_children(&mut cursor));
        }
        clauses.sort_by_key(Node::start_byte);
        clauses.into_iter().map(|clause| semantic.handler_may_complete_without_raising(clause)).collect()
    }

    fn one(source: &str) -> bool {
        let [only] = completes(source)[..] else { panic!("one handler expected") };
        only
    }

    #[test]
    fn structure() {
        assert!(one("try:\n    f()\nexcept E:\n    pass\n"));
        assert!(!one("try:\n    f()\nexcept E:\n    raise\n"));
        assert!(one("try:\n    f()\nexcept E:\n    if x:\n        raise\n"));
        assert!(!one("try:\n    f()\nexcept E:\n    if x:\n        raise\n    else:\n        raise E\n"));
        assert!(one("for x in y:\n    try:\n        f()\n    except E:\n        continue\n"));
        assert!(!one("try:\n    f()\nexcept E:\n    while True:\n        if g():\n            break\n    raise\n"));
        assert!(one("try:\n    f()\nexcept E:\n    match x:\n        case 1:\n            raise\n"));
        assert!(!one("try:\n    f()\nexcept E:\n    match x:\n        case 1:\n            raise\n    raise\n"));
    }

    #[test]
    fn never_returning_helpers() {
        let helpers = "import sys\nfrom typing import NoReturn\ndef fail():\n    raise E\ndef hangs():\n    while True:\n        pass\ndef gen():\n    yield\n    raise E\ndef annotated() -> NoReturn:\n    pass\n";
        let handler = |call: &str| one(&format!("{helpers}try:\n    f()\nexcept E:\n    {call}\n"));
        assert!(!handler("fail()"));
        assert!(!handler("annotated()"));
        assert!(!handler("sys.exit(1)"));
        // A function that loops forever does not raise.
        assert!(handler("hangs()"));
        assert!(handler("gen()"));
        assert!(handler("await fail()"));
        assert!(handler("x = fail()"));
    }

    #[test]
    fn continuation_leaves_blocks_but_not_loops_or_functions() {
        // Out of an `if` and a `with`, through a `finally`.
        assert!(!one(
            "if a:\n    with b:\n        try:\n            f()\n        except E:\n            pass\n        finally:\n            g()\nraise X\n"
        ));
        // The end of the loop body goes round again.
        assert!(one("for a in b:\n    try:\n        f()\n    except E:\n        pass\nraise X\n"));
        // `break` leaves the loop straight to the `raise`.
        assert!(!one("for a in b:\n    try:\n        f()\n    except E:\n        break\nraise X\n"));
        // Leaving an `async with` awaits `__aexit__`.
        assert!(one(
            "async def f():\n    failed = False\n    async with a:\n        try:\n            await f()\n        except E:\n            failed = True\n    if failed:\n        raise X\n"
        ));
        assert!(!one(
            "async def f():\n    failed = False\n    with a:\n        try:\n            await f()\n        except E:\n            failed = True\n    if failed:\n        raise X\n"
        ));
    }

    #[test]
    fn flags_decide_tests() {
        let handler =
            |set: &str, test: &str| one(&format!("try:\n    f()\nexcept E:\n    {set}\nif {test}:\n    raise X\n"));
        assert!(!handler("failed = True", "failed"));
        assert!(!handler("failed = True", "failed is not None"));
        assert!(!handler("ok = False", "not ok"));
        assert!(!handler("result = None", "result is None"));
        assert!(!handler("failed = True", "not (not failed)"));
        assert!(handler("failed = True", "not failed"));
        assert!(handler("failed = True", "failed and done"));
        assert!(!handler("failed = True", "failed or done"));
        assert!(handler("failed = 1", "failed"));
        // `elif` chains: a decided test ends the chain, an undecided one is one more path.
        assert!(!one(
            "try:\n    f()\nexcept E as e:\n    errors.append(e)\nif len(errors) == 1:\n    raise errors[0]\nelif errors:\n    raise G(errors)\n"
        ));
        assert!(one(
            "try:\n    f()\nexcept E as e:\n    errors.append(e)\nif len(errors) == 1:\n    raise errors[0]\nelif other:\n    raise G(errors)\n"
        ));
    }

    #[test]
    fn facts_are_forgotten_when_changed() {
        let after = |between: &str| {
            one(&format!("try:\n    f()\nexcept E as e:\n    first = e\n{between}\nif first:\n    raise first\n"))
        };
        assert!(!after("g()"));
        assert!(after("first = None"));
        assert!(after("first, second = g()"));
        assert!(after("for first in g(): pass"));
        assert!(after("with g() as first: pass"));
        assert!(after("del first"));
        assert!(after("(first := g())"));
        assert!(!after("first.x = g()"));
        let list = |between: &str| {
            one(&format!(
                "try:\n    f()\nexcept E as e:\n    errors.append(e)\n{between}\nif errors:\n    raise errors[0]\n"
            ))
        };
        assert!(!list("log(errors)"));
        assert!(list("errors.clear()"));
        assert!(list("errors = []"));
    }

    #[test]
    fn raises_caught_on_the_way_do_not_count() {
        let source = "try:\n    try:\n        f()\n    except E:\n        pass\n    raise X\nexcept X:\n    pass\n";
        assert_eq!(completes(source), [true, true]);
        let source = "try:\n    try:\n        f()\n    except E:\n        pass\n    raise X\nfinally:\n    g()\n";
        assert_eq!(completes(source), [false]);
    }
}
