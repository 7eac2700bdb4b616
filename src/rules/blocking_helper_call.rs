use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, Tree};

use crate::analysis::index::is_transparent_decorator;
use crate::analysis::queries::{Concept, ConceptSet};
use crate::analysis::source::{NodeFields, field};
use crate::analysis::walk;
use crate::analysis::{Call, Checker, TextRange};
use crate::rules::Rule;
use crate::rules::to_thread_fix::to_thread_fix;

define_rule! {
    /// ## What it does
    /// Checks for calls in an async function to a plain (`def`) function of the same file that
    /// blocks: one that makes a call the blocking-call rules (LW101–LW108) would report in an
    /// async function, directly or through up to two more such functions.
    ///
    /// ## Why is this bad?
    /// The helper runs on the event loop when it is called, so its blocking call stops every
    /// other task exactly as if it were written in the `async def`. The peers only see a
    /// blocking call written in the `async def` itself; in real services it usually sits one
    /// or two calls away (`handle()` calls `load_config()`, which calls `open()`).
    ///
    /// ## Example
    /// ```python
    /// import json
    ///
    /// def load_config(path):
    ///     with open(path) as f:
    ///         return json.load(f)
    ///
    /// async def handle(path):
    ///     config = load_config(path)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    /// import json
    ///
    /// def load_config(path):
    ///     with open(path) as f:
    ///         return json.load(f)
    ///
    /// async def handle(path):
    ///     config = await asyncio.to_thread(load_config, path)
    /// ```
    ///
    /// ## Fix safety
    /// The fix (wrap in `await asyncio.to_thread(...)`, or `trio.to_thread.run_sync` and
    /// `anyio.to_thread.run_sync` in trio and anyio modules, adding the import) is unsafe: the
    /// helper then runs in a worker thread, concurrently with the loop, which matters when it
    /// touches state the loop's tasks share. It is offered for plain calls only, as LW102's is.
    ///
    /// ## Known problems
    /// Only helpers of the same file are followed: a function this file defines (in an
    /// enclosing scope) or a method of the enclosing class called through `self.`/`cls.`.
    /// Helpers imported from other modules, functions passed as values, class instantiation
    /// (`__init__`), generators (calling one runs nothing), and helpers with a decorator that
    /// may change what a call does are not followed: a receiver or a decorator the file does
    /// not explain is never guessed. A helper's blocking call is one the LW1xx rules enabled
    /// here report; calls the helper hands to a thread (`asyncio.to_thread(f)`) are not calls.
    /// In the editor, a keystroke in a file whose async functions call such helpers analyses
    /// the whole file while this rule is on (the answer reads the helpers' bodies, which an
    /// analysis of only the edited function does not walk). Off by default while its
    /// precision on more projects is measured.
    ///
    /// ## References
    /// - [Python docs: running blocking code](https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code)
    /// - [Python docs: `asyncio.to_thread`](https://docs.python.org/3/library/asyncio-task.html#asyncio.to_thread)
    code: "LW109",
    name: "blocking-helper-call",
    summary: "a call in an async function to a `def` of the file that makes a blocking call",
    severity: Warning,
    enabled: false,
    aliases: [],
    peers: "none",
    fix: "wrap in `await asyncio.to_thread(...)`, or `trio.to_thread.run_sync`/`anyio.to_thread.run_sync` in trio and anyio modules (unsafe, plain calls only)",
    only_in_async_functions: true,
    // Why: the helper's blocking call is one the LW1xx rules report, so the file holds one of
    // their triggers: the prefilter gives this rule theirs (`prefilter::Triggers`), not a
    // second list here that could drift from them.
    triggers: [],
}

/// How many helpers deep a chain may go: the called helper, and two more it calls.
const MAX_DEPTH: usize = 3;

/// A step of a chain, as the message says it: ``calls `open()` ``.
#[derive(Debug, Clone)]
struct Step {
    called: String,
}

/// What one helper's own body does: its first blocking call, and the helpers it calls.
#[derive(Debug, Clone, Default)]
struct Body<'t> {
    blocking: Option<Step>,
    helpers: Vec<(Node<'t>, Step)>,
}

/// A call in an async function to a sync `def` of the file, found during the shared walk and
/// judged once the walk is over ([`report`]).
pub(crate) struct Candidate<'t> {
    pub call: Call<'t>,
    pub helper: Node<'t>,
}

/// The helper `call` (in an async function) runs on the loop, when it is a `def` of this file
/// whose call runs its body: not async, not a generator, no decorator that may change it.
pub(crate) fn candidate<'t>(checker: &Checker<'_, 't>, call: &Call<'t>) -> Option<Node<'t>> {
    // Most calls in an async function are of methods and imported names: the file's own
    // `def`s are asked about first, the rest only for those.
    let helper = followed_helper(checker, call.callee)?;
    let semantic = checker.semantic;
    let function = semantic.enclosing_function(call.node.start_byte()).map(|scope| semantic.scope(scope).node);
    if function.is_some_and(|function| semantic.runs_on_worker_thread_loop(function)) {
        return None;
    }
    Some(helper)
}

fn followed_helper<'t>(checker: &Checker<'_, 't>, callee: Node<'_>) -> Option<Node<'t>> {
    let semantic = checker.semantic;
    if !matches!(callee.kind(), "identifier" | "attribute") {
        return None;
    }
    let helper = semantic.function_definition(callee)?;
    let is_async = helper.child(0).is_some_and(|first| first.kind() == "async");
    if is_async || semantic.is_generator_function(helper) {
        return None;
    }
    let decorated = helper.parent().filter(|parent| parent.kind() == "decorated_definition");
    if let Some(decorated) = decorated {
        let mut cursor = decorated.walk();
        let decorators = decorated.named_children(&mut cursor).filter(|child| child.kind() == "decorator").count();
        let names = semantic.decorator_names(helper);
        let transparent = |name: &String| is_transparent_decorator(name.strip_prefix("builtins.").unwrap_or(name));
        if names.len() != decorators || !names.iter().all(transparent) {
            return None;
        }
    }
    // Now a question about the helper's body: the findings here depend on it (the server's
    // incremental analysis must know).
    semantic.helper_definition(callee)
}

/// Reports each candidate whose helper blocks, naming the chain.
pub(crate) fn report<'t>(checker: &mut Checker<'_, 't>, tree: &'t Tree, candidates: Vec<Candidate<'t>>) {
    // A call the blocking-call rules report themselves (a configured one) is theirs.
    let reported: HashSet<TextRange> = checker
        .diagnostics()
        .iter()
        .filter(|diagnostic| diagnostic.rule.reports_blocking_calls())
        .map(|diagnostic| diagnostic.range)
        .collect();
    let mut bodies: HashMap<usize, Body<'t>> = HashMap::new();
    for candidate in candidates {
        if reported.contains(&TextRange::of(candidate.call.node)) {
            continue;
        }
        let mut visited = vec![candidate.helper.start_byte()];
        let Some(chain) = chain(checker, tree, &mut bodies, candidate.helper, 1, &mut visited) else { continue };
        // No line numbers: the server keeps this finding while edits elsewhere move the
        // helpers' lines (it re-checks the call only when a helper's body changes).
        let callee = checker.text(candidate.call.callee);
        let mut message = format!("`{callee}()` blocks the event loop: it ");
        for (index, step) in chain.iter().enumerate() {
            if index > 0 {
                message.push_str(", which ");
            }
            message.push_str(&step.called);
        }
        let fix = to_thread_fix(checker, &candidate.call);
        let diagnostic = checker.report(Rule::BlockingHelperCall, candidate.call.node, message);
        diagnostic.fix = fix;
    }
}

/// The steps from `helper` to a blocking call, when there is one within the depth left.
fn chain<'t>(
    checker: &mut Checker<'_, 't>,
    tree: &'t Tree,
    bodies: &mut HashMap<usize, Body<'t>>,
    helper: Node<'t>,
    depth: usize,
    visited: &mut Vec<usize>,
) -> Option<Vec<Step>> {
    let body = if let Some(body) = bodies.get(&helper.start_byte()) {
        body.clone()
    } else {
        let body = body_of(checker, tree, helper);
        bodies.insert(helper.start_byte(), body.clone());
        body
    };
    if let Some(blocking) = body.blocking {
        return Some(vec![blocking]);
    }
    if depth == MAX_DEPTH {
        return None;
    }
    for (next, step) in body.helpers {
        // A cycle of helpers blocks only if one of them does, which the first visit finds.
        if visited.contains(&next.start_byte()) {
            continue;
        }
        visited.push(next.start_byte());
        if let Some(mut rest) = chain(checker, tree, bodies, next, depth + 1, visited) {
            rest.insert(0, step);
            return Some(rest);
        }
    }
    None
}

/// What `helper`'s own body does (not its nested functions, lambdas or classes): the calls
/// the blocking-call rules would report were it an `async def`, and the helpers it calls.
fn body_of<'t>(checker: &mut Checker<'_, 't>, tree: &'t Tree, helper: Node<'t>) -> Body<'t> {
    let mut body = Body::default();
    let Some(block) = helper.field(&field::BODY) else { return body };
    let semantic = checker.semantic;
    let concepts: ConceptSet = [Concept::Call, Concept::WithItem].into_iter().collect();
    // Told from the tree, not the semantic model's scopes: the server's model may not have
    // walked this body (an unchanged part of the file), and then holds no scopes inside it.
    let nested = nested_scopes(block);
    for found in walk::matches(tree, semantic.source(), concepts, TextRange::of(block)) {
        let at = found.node.start_byte();
        let index = nested.partition_point(|range| range.end <= at);
        if nested.get(index).is_some_and(|range| range.start <= at) {
            continue;
        }
        if body.blocking.is_none()
            && let Some(called) = checker.would_block(&found)
        {
            // The first blocking call is the one the message names: the rest cannot change
            // the answer.
            body.blocking = Some(Step { called });
            break;
        }
        if found.concept == Concept::Call
            && let Some(callee) = found.first
            && let Some(next) = followed_helper(checker, callee)
        {
            body.helpers.push((next, Step { called: format!("calls `{}()`", checker.text(callee)) }));
        }
    }
    body
}

/// The functions, lambdas and classes in `block` that are not inside another of them, in
/// order: their bodies do not run when the helper does.
fn nested_scopes(block: Node<'_>) -> Vec<TextRange> {
    let mut nested = Vec::new();
    let mut cursor = block.walk();
    let mut descend = cursor.goto_first_child();
    while descend || cursor.goto_next_sibling() || climb(&mut cursor, block) {
        let node = cursor.node();
        if matches!(node.kind(), "function_definition" | "lambda" | "class_definition") {
            nested.push(TextRange::of(node));
            descend = false;
        } else {
            descend = cursor.goto_first_child();
        }
    }
    nested
}

/// Moves `cursor` up to the next sibling of an ancestor below `root`; false at the end.
fn climb(cursor: &mut tree_sitter::TreeCursor<'_>, root: Node<'_>) -> bool {
    while cursor.goto_parent() {
        if cursor.node() == root {
            return false;
        }
        if cursor.goto_next_sibling() {
            return true;
        }
    }
    false
}
