use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, Tree};

use crate::analysis::index::{
    FactStep, FunctionKind, HelperFact, HelperFacts, absolute_name, helper_fact_of, is_transparent_decorator,
};
use crate::analysis::queries::{Concept, ConceptSet};
use crate::analysis::source::{Kind, NodeFields, field, kind};
use crate::analysis::walk;
use crate::analysis::{Call, Checker, Place, Related, TextRange};
use crate::rules::Rule;
use crate::rules::to_thread_fix::to_thread_fix;

define_rule! {
    /// ## What it does
    /// Checks for calls in an async function to a plain (`def`) function of the project that
    /// blocks: one that makes a call the blocking-call rules (LW101–LW108) would report in an
    /// async function, directly or through up to two more such functions. The function may be
    /// one of the same file (methods through `self.`/`cls.`) or one another module of the
    /// workspace defines and this file imports; the message names the chain, with each step's
    /// place (``it calls `open()` (line 12)`` in this file, ``(pkg/config.py:12)`` in another
    /// module), which editors also get as related information pointing at it.
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
    /// Followed: a function this file defines (in an enclosing scope), a method of the
    /// enclosing class called through `self.`/`cls.`, and a top-level function or a method
    /// (`Class.method`) of another module of the workspace reached through the file's imports,
    /// as LW201 resolves them. Not followed: functions passed as values, methods of other
    /// receivers (`client.fetch()`), class instantiation (`__init__`), generators (calling one
    /// runs nothing), and functions with a decorator that may change what a call does: a
    /// receiver or a decorator the code does not explain is never guessed. A blocking call is
    /// one the LW1xx rules report (LW108's configured names only in the same file); calls a
    /// helper hands to a thread (`asyncio.to_thread(f)`) are not calls.
    ///
    /// In the editor, another module's functions are read from its open document (an edit of
    /// a helper's body there diagnoses its callers again) or else as saved on disk; and a
    /// keystroke in a file where this rule reports a chain through helpers of the same file
    /// analyses those callers again (their findings name places outside them), and the whole
    /// file when a helper's body binds a name the answer looks up (an analysis of only the
    /// edited function does not walk the helpers' bodies). On the command line it adds about 9%
    /// to a cold check of Home Assistant (`benches/rule_cost.py`). A blocking call is named as
    /// the first one the chain reaches, which may be a cheap one (`os.path.expanduser()`)
    /// before the costly one.
    ///
    /// Off by default: none of its 97 findings on the 26 projects of `benches/precision` was
    /// false, but 58 were noise (`verdicts.txt`): startup, shutdown and command-line paths that
    /// block once with nothing else on the loop, and locks held for a dict lookup.
    ///
    /// ## References
    /// - [Python docs: running blocking code](https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code)
    /// - [Python docs: `asyncio.to_thread`](https://docs.python.org/3/library/asyncio-task.html#asyncio.to_thread)
    code: "LW109",
    name: "blocking-helper-call",
    summary: "a call in an async function to a plain function of the project that makes a blocking call",
    severity: Warning,
    enabled: false,
    aliases: [],
    peers: "none",
    fix: "wrap in `await asyncio.to_thread(...)`, or `trio.to_thread.run_sync`/`anyio.to_thread.run_sync` in trio and anyio modules (unsafe, plain calls only)",
    only_in_async_functions: true,
    // Why: a helper of the file makes a call the LW1xx rules report, so the file holds one of
    // their triggers, which the prefilter adds to this rule's (`prefilter::Triggers`) rather
    // than a second list here that could drift from them; a helper of another module is
    // imported.
    triggers: ["import"],
}

/// How many helpers deep a chain may go: the called helper, and two more it calls.
const MAX_DEPTH: usize = 3;

/// A helper a call runs: a `def` of this file, or a plain function of another module of the
/// workspace by its absolute name.
#[derive(Debug, Clone)]
pub(crate) enum Helper<'t> {
    Here(Node<'t>),
    Module(String),
}

impl Helper<'_> {
    fn key(&self) -> String {
        match self {
            Helper::Here(node) => format!("@{}", node.start_byte()),
            Helper::Module(name) => name.clone(),
        }
    }
}

/// What one helper's own body does: its first blocking call, and the helpers it calls (each
/// with the call).
#[derive(Debug, Clone, Default)]
struct Body<'t> {
    blocks: Option<Step>,
    helpers: Vec<(Helper<'t>, Step)>,
}

/// A step of a chain: the call as a message says it (``calls `open()` ``), and where it is:
/// another file's line (which the text names already), or the call in this file.
#[derive(Debug, Clone)]
struct Step {
    text: String,
    elsewhere: Option<(std::path::PathBuf, usize)>,
    /// The call's range in this file, and its line (1-based).
    here: Option<(TextRange, usize)>,
}

impl Step {
    fn here(text: String, call: Node<'_>) -> Self {
        Self { text, elsewhere: None, here: Some((TextRange::of(call), call.start_position().row + 1)) }
    }

    fn of(step: FactStep, path: Option<&std::path::PathBuf>) -> Self {
        Self { text: step.text, elsewhere: path.map(|path| (path.clone(), step.line)), here: None }
    }
}

/// A call in an async function to a helper, found during the shared walk and judged once the
/// walk is over ([`report`]).
pub(crate) struct Candidate<'t> {
    pub call: Call<'t>,
    pub helper: Helper<'t>,
}

/// The helper `call` (in an async function) runs on the loop: a `def` of this file whose call
/// runs its body (not async, not a generator, no decorator that may change it), or a plain
/// function of another module of the workspace.
pub(crate) fn candidate<'t>(checker: &Checker<'_, 't>, call: &Call<'t>) -> Option<Helper<'t>> {
    // Most calls in an async function are of methods and imported names: the file's own
    // `def`s and the workspace's plain functions are asked about first, the rest only then.
    // Whether the async function runs on a worker thread's loop is asked only of a chain that
    // blocks ([`report`]): the question reads every reference to the function in the file.
    followed_helper(checker, call.callee)
}

/// Whether the call `call` runs on a worker thread's own loop, where blocking stops no one else.
fn on_a_worker_threads_loop(checker: &Checker<'_, '_>, call: &Call<'_>) -> bool {
    let semantic = checker.semantic;
    let function = semantic.enclosing_function(call.node.start_byte()).map(|scope| semantic.scope(scope).node);
    function.is_some_and(|function| semantic.runs_on_worker_thread_loop(function))
}

fn followed_helper<'t>(checker: &Checker<'_, 't>, callee: Node<'_>) -> Option<Helper<'t>> {
    if !matches!(callee.kind(), "identifier" | "attribute") {
        return None;
    }
    let semantic = checker.semantic;
    if let Some(helper) = semantic.function_definition(callee) {
        // Now a question about the helper's body: the findings here depend on it (the
        // server's incremental analysis must know).
        return runs_its_body(checker, helper).then(|| semantic.helper_definition(callee)).flatten().map(Helper::Here);
    }
    // An imported plain function: what the workspace index says it is (a decorated one is of
    // an unknown kind there, and not followed).
    let workspace = checker.workspace_view()?;
    let qualified = semantic.qualified_name(callee)?;
    if qualified.starts_with("builtins.") {
        return None;
    }
    let absolute = absolute_name(&qualified, workspace.module, workspace.is_package)?;
    (checker.workspace_function_kind(&absolute) == Some(FunctionKind::Sync)).then_some(Helper::Module(absolute))
}

/// Whether a call of the `def` `helper` runs its body there and then: not async, not a
/// generator, and no decorator that may change what a call does.
fn runs_its_body(checker: &Checker<'_, '_>, helper: Node<'_>) -> bool {
    let semantic = checker.semantic;
    let is_async = helper.child(0).is_some_and(|first| first.kind() == "async");
    if is_async || semantic.is_generator_function(helper) {
        return false;
    }
    let Some(decorated) = helper.parent().filter(|parent| parent.kind() == "decorated_definition") else {
        return true;
    };
    let mut cursor = decorated.walk();
    let decorators = decorated.named_children(&mut cursor).filter(|child| child.kind() == "decorator").count();
    let names = semantic.decorator_names(helper);
    let transparent = |name: &String| is_transparent_decorator(name.strip_prefix("builtins.").unwrap_or(name));
    names.len() == decorators && names.iter().all(transparent)
}

/// Reports each candidate whose helper blocks, naming the chain.
pub(crate) fn report<'t>(checker: &mut Checker<'_, 't>, candidates: Vec<Candidate<'t>>) {
    // A call the blocking-call rules report themselves (a configured one) is theirs.
    let reported: HashSet<TextRange> = checker
        .diagnostics()
        .iter()
        .filter(|diagnostic| diagnostic.rule.reports_blocking_calls())
        .map(|diagnostic| diagnostic.range)
        .collect();
    let mut bodies: HashMap<String, Option<Body<'t>>> = HashMap::new();
    for candidate in candidates {
        if reported.contains(&TextRange::of(candidate.call.node)) {
            continue;
        }
        let mut visited = vec![candidate.helper.key()];
        let Some(chain) = chain(checker, &mut bodies, &candidate.helper, 1, &mut visited) else { continue };
        if on_a_worker_threads_loop(checker, &candidate.call) {
            continue;
        }
        // A step in this file names its line and is related information by its range: the
        // server analyses a finding whose ranges reach outside its own unit again on every
        // edit, so neither goes stale as edits move the helpers. Not in a notebook, whose
        // lines are its cells'.
        let in_notebook = checker.path.is_some_and(crate::notebook::is_notebook);
        let callee = checker.text(candidate.call.callee);
        let mut message = match &candidate.helper {
            Helper::Here(_) => format!("`{callee}()` blocks the event loop: it "),
            Helper::Module(name) => format!("`{callee}()` (`{name}`) blocks the event loop: it "),
        };
        let texts: Vec<String> = chain
            .iter()
            .map(|step| match step.here {
                Some((_, line)) if !in_notebook => format!("{} (line {line})", step.text),
                _ => step.text.clone(),
            })
            .collect();
        message.push_str(&texts.join(", which "));
        let related = chain
            .iter()
            .filter_map(|step| {
                let place = match (&step.elsewhere, step.here) {
                    (Some((path, line)), _) => Place::Elsewhere { path: path.clone(), line: *line },
                    (None, Some((range, _))) if !in_notebook => Place::Here(range),
                    _ => return None,
                };
                Some(Related { place, message: format!("it {}", step.text) })
            })
            .collect();
        let fix = to_thread_fix(checker, &candidate.call);
        let diagnostic = checker.report(Rule::BlockingHelperCall, candidate.call.node, message);
        diagnostic.fix = fix;
        diagnostic.related = related;
    }
}

/// The steps from `helper` to a blocking call, when there is one within the depth left.
fn chain<'t>(
    checker: &mut Checker<'_, 't>,
    bodies: &mut HashMap<String, Option<Body<'t>>>,
    helper: &Helper<'t>,
    depth: usize,
    visited: &mut Vec<String>,
) -> Option<Vec<Step>> {
    let key = helper.key();
    let body = if let Some(body) = bodies.get(&key) {
        body.clone()
    } else {
        let body = match helper {
            Helper::Here(node) => Some(body_of(checker, *node)),
            Helper::Module(name) => module_body(checker, name),
        };
        bodies.insert(key, body.clone());
        body
    }?;
    if let Some(blocks) = body.blocks {
        return Some(vec![blocks]);
    }
    if depth == MAX_DEPTH {
        return None;
    }
    for (next, step) in body.helpers {
        // A cycle of helpers blocks only if one of them does, which the first visit finds.
        let key = next.key();
        if visited.contains(&key) {
            continue;
        }
        visited.push(key);
        if let Some(mut rest) = chain(checker, bodies, &next, depth + 1, visited) {
            rest.insert(0, step);
            return Some(rest);
        }
    }
    None
}

/// What the plain function `name` of another module does, from the workspace's facts.
fn module_body<'t>(checker: &Checker<'_, 't>, name: &str) -> Option<Body<'t>> {
    let workspace = checker.workspace_view()?;
    let (path, fact) = helper_fact_of(workspace.modules, name)?;
    let helpers = fact
        .calls
        .into_iter()
        .filter(|(target, _)| checker.workspace_function_kind(target) == Some(FunctionKind::Sync))
        .map(|(target, step)| (Helper::Module(target), Step::of(step, path.as_ref())))
        .collect();
    Some(Body { blocks: fact.blocks.map(|step| Step::of(step, path.as_ref())), helpers })
}

/// What `helper`'s own body does (not its nested functions, lambdas or classes): the calls
/// the blocking-call rules would report were it an `async def`, and the helpers it calls.
fn body_of<'t>(checker: &mut Checker<'_, 't>, helper: Node<'t>) -> Body<'t> {
    let mut body = Body::default();
    for (found, next) in body_calls(checker, helper) {
        if let Some(blocks) = checker.would_block(&found) {
            // The first blocking call is the one the message names: the rest cannot change
            // the answer.
            body.blocks = Some(Step::here(blocks, found.node));
            break;
        }
        if let (Some(next), Some(callee)) = (next, found.first) {
            body.helpers.push((next, Step::here(format!("calls `{}()`", checker.text(callee)), found.node)));
        }
    }
    body
}

/// The calls and `with` items of `helper`'s own body, in order, each call with the helper it
/// runs when it runs one.
fn body_calls<'t>(checker: &Checker<'_, 't>, helper: Node<'t>) -> Vec<(walk::Match<'t>, Option<Helper<'t>>)> {
    let Some(block) = helper.field(&field::BODY) else { return Vec::new() };
    let semantic = checker.semantic;
    let concepts: ConceptSet = [Concept::Call, Concept::WithItem].into_iter().collect();
    // The bodies of the functions, lambdas and classes it defines do not run when the helper
    // does. Told from the tree, not the semantic model's scopes: the server's model may not
    // have walked this body (an unchanged part of the file), and then holds no scopes inside it.
    walk::matches_below(block, semantic.source(), concepts, is_nested_scope)
        .into_iter()
        .map(|found| {
            let next = (found.concept == Concept::Call)
                .then(|| found.first.and_then(|callee| followed_helper(checker, callee)))
                .flatten();
            (found, next)
        })
        .collect()
}

/// [`HelperFacts`] of the module `checker` analyses (named `module`): each top-level plain
/// function's and each plain method's of a top-level class, for LW109 in its importers.
pub(crate) fn module_facts<'t>(checker: &mut Checker<'_, 't>, tree: &'t Tree, module: &str, file: &str) -> HelperFacts {
    let semantic = checker.semantic;
    let root = tree.root_node();
    let mut functions = Vec::new();
    let mut cursor = root.walk();
    let statements: Vec<Node<'t>> = root.named_children(&mut cursor).collect();
    for statement in statements {
        let Some(definition) = undecorated(statement) else { continue };
        if kind::FUNCTION_DEFINITION.is(definition) {
            functions.extend(fact_of(checker, (module, file), definition, ""));
        } else if CLASS_DEFINITION.is(definition) {
            let (Some(name), Some(body)) = (definition.field(&field::NAME), definition.field(&field::BODY)) else {
                continue;
            };
            let prefix = format!("{}.", semantic.text(name));
            let mut methods = body.walk();
            let members: Vec<Node<'t>> = body.named_children(&mut methods).collect();
            for member in members {
                if let Some(method) = undecorated(member).filter(|method| kind::FUNCTION_DEFINITION.is(*method)) {
                    functions.extend(fact_of(checker, (module, file), method, &prefix));
                }
            }
        }
    }
    functions.sort_by(|(a, _), (b, _)| a.cmp(b));
    functions.dedup_by(|(a, _), (b, _)| a == b);
    HelperFacts { functions, path: None }
}

fn undecorated(statement: Node<'_>) -> Option<Node<'_>> {
    if kind::DECORATED_DEFINITION.is(statement) { statement.field(&field::DEFINITION) } else { Some(statement) }
}

/// The fact of one plain function `definition` (named `prefix` + its name in `module`), when
/// a call of it runs its body ([`runs_its_body`]) and it does something worth saying.
fn fact_of<'t>(
    checker: &mut Checker<'_, 't>,
    (module, file): (&str, &str),
    definition: Node<'t>,
    prefix: &str,
) -> Option<(String, HelperFact)> {
    let name = definition.field(&field::NAME)?;
    if !runs_its_body(checker, definition) {
        return None;
    }
    let semantic = checker.semantic;
    let mut fact = HelperFact::default();
    for (found, next) in body_calls(checker, definition) {
        // Another file's lines: they go stale only with that file, whose facts are then read
        // again.
        let line = found.node.start_position().row + 1;
        let at = format!("({file}:{line})");
        if let Some(blocks) = checker.would_block(&found) {
            fact.blocks = Some(FactStep { text: format!("{blocks} {at}"), line });
            fact.calls.clear();
            break;
        }
        let (Some(next), Some(callee)) = (next, found.first) else { continue };
        let target = match next {
            Helper::Module(target) => target,
            Helper::Here(node) => match local_name(semantic, node) {
                Some(local) => format!("{module}.{local}"),
                None => continue,
            },
        };
        fact.calls.push((target, FactStep { text: format!("calls `{}()` {at}", checker.text(callee)), line }));
    }
    (fact.blocks.is_some() || !fact.calls.is_empty()).then(|| (format!("{prefix}{}", semantic.text(name)), fact))
}

/// The name another module reaches a `def` of this one by: `name` at the top level,
/// `Class.name` in a top-level class; none for a nested function.
fn local_name(semantic: &crate::analysis::semantic::SemanticModel<'_>, definition: Node<'_>) -> Option<String> {
    let name = semantic.text(definition.field(&field::NAME)?);
    let mut parent = definition.parent()?;
    if parent.kind() == "decorated_definition" {
        parent = parent.parent()?;
    }
    match parent.kind() {
        "module" => Some(name.to_string()),
        "block" => {
            let class = parent.parent().filter(|class| class.kind() == "class_definition")?;
            let mut above = class.parent()?;
            if above.kind() == "decorated_definition" {
                above = above.parent()?;
            }
            let class_name = semantic.text(class.field(&field::NAME)?);
            (above.kind() == "module").then(|| format!("{class_name}.{name}"))
        }
        _ => None,
    }
}

static CLASS_DEFINITION: Kind = Kind::new("class_definition", true);

/// Whether `node` is a function, a lambda or a class: what it defines runs later, if ever.
fn is_nested_scope(node: Node<'_>) -> bool {
    static LAMBDA: Kind = Kind::new("lambda", true);
    kind::FUNCTION_DEFINITION.is(node) || LAMBDA.is(node) || CLASS_DEFINITION.is(node)
}
