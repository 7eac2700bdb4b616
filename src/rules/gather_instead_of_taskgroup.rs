use tree_sitter::Node;

use crate::analysis::fix_builder;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker, Edit, Fix, PythonVersion, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `await asyncio.gather(...)` without `return_exceptions=True` when the target
    /// is Python 3.11 or later.
    ///
    /// ## Why is this bad?
    /// When one awaitable fails, `gather` raises its exception at once but leaves the others
    /// running, unsupervised: their errors are lost and they may outlive the caller.
    /// `asyncio.TaskGroup` cancels the siblings, waits for them, and raises every error in an
    /// `ExceptionGroup`.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def main():
    ///     users, orders = await asyncio.gather(fetch_users(), fetch_orders())
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def main():
    ///     async with asyncio.TaskGroup() as tg:
    ///         users_task = tg.create_task(fetch_users())
    ///         orders_task = tg.create_task(fetch_orders())
    ///     users, orders = users_task.result(), orders_task.result()
    /// ```
    ///
    /// ## Fix safety
    /// The fix rewrites the statement holding the call (`await gather(...)`, `x = await
    /// gather(...)`, `a, b = await gather(...)`, `return await gather(...)`) into an
    /// `async with asyncio.TaskGroup() as tg:` block that starts one task per argument, then
    /// reads the results back in their order (`x = [a_task.result(), b_task.result()]`).
    /// Arguments written out, `*[f(x) for x in xs]`, `*(f(x) for x in xs)` and `*coros` are
    /// handled; a dropped result with a splat becomes a `for` loop when its variables are not
    /// used elsewhere in the function. A single call becomes `await f()` (`[await f()]` when
    /// the list is used) and no call at all `[]`. `import asyncio` is added when missing.
    /// Comments in the argument list stay with their argument or on their own line in the
    /// block.
    ///
    /// The fix is unsafe: an error now cancels the other tasks and arrives as an
    /// `ExceptionGroup`, so `except SomeError:` around the call no longer matches (use
    /// `except*`); `await f()` runs the call in the current task instead of a new one. A
    /// splatted name is assumed to hold coroutines. No fix is offered for keyword arguments
    /// other than `return_exceptions=False`; for arguments that are not calls (a task or a
    /// future cannot go to `create_task`), calls known to give one (`create_task`,
    /// `ensure_future`, `shield`, ...) and splatted names that may hold them (the name says
    /// `task` or `fut`, or the function fills it with tasks or annotates it `Task`/`Future`);
    /// for a `gather` inside a larger expression or a statement that shares its line; and when
    /// the name `asyncio` is bound to something else.
    ///
    /// ## Known problems
    /// `gather` with `return_exceptions=True` (or any value but a literal `False`) collects
    /// errors on purpose and is not flagged. Below Python 3.11 there is no `TaskGroup`, and
    /// nothing is reported.
    ///
    /// ## References
    /// - [Python docs: Task groups](https://docs.python.org/3/library/asyncio-task.html#task-groups)
    code: "LW501",
    name: "gather-instead-of-taskgroup",
    summary: "`await asyncio.gather(...)` without `return_exceptions=True` (target 3.11+)",
    severity: Info,
    enabled: true,
    aliases: [],
    peers: "none",
    fix: "rewrite to an `async with asyncio.TaskGroup() as tg:` block (unsafe; adds `import asyncio` if missing)",
    only_in_async_functions: true,
    triggers: ["gather"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if checker.settings.target_version < PythonVersion::PY311 {
        return;
    }
    if !matches!(call.qualified_name.as_deref(), Some("asyncio.gather" | "asyncio.tasks.gather")) {
        return;
    }
    let Some(awaited) = call.node.parent().filter(|parent| parent.kind() == "await") else { return };
    if call.keyword_argument(checker.semantic, "return_exceptions").is_some_and(|value| value.kind() != "false") {
        return;
    }
    let fix = task_group_fix(checker, call, awaited);
    let diagnostic = checker.report(
        Rule::GatherInsteadOfTaskgroup,
        call.node,
        "`asyncio.gather()` leaves the other tasks running when one fails; use `asyncio.TaskGroup`".to_string(),
    );
    diagnostic.fix = fix;
}

/// Calls, named by their last part, that give a task or a future rather than a coroutine:
/// `create_task` rejects those.
const FUTURE_MAKERS: &[&str] = &[
    "all_tasks",
    "create_future",
    "create_task",
    "ensure_future",
    "gather",
    "run_coroutine_threadsafe",
    "run_in_executor",
    "shield",
    "wrap_future",
];

/// The statement an awaited `gather` is the whole value of.
struct Holder<'t> {
    statement: Node<'t>,
    awaited: Node<'t>,
    /// The list of results is assigned or returned, not dropped.
    keeps_value: bool,
    /// The targets of `a, b = await gather(...)` (also `(a, b)`, `[a, b]`), without a star.
    targets: Option<Vec<Node<'t>>>,
}

impl<'t> Holder<'t> {
    /// The statement form of `awaited`: `await gather(...)`, `return await gather(...)`,
    /// `x = await gather(...)` (also chained or annotated); `None` inside a larger expression.
    fn of(awaited: Node<'t>) -> Option<Self> {
        let parent = awaited.parent()?;
        let (statement, keeps_value, targets) = match parent.kind() {
            "expression_statement" => (parent, false, None),
            "return_statement" => (parent, true, None),
            "assignment" => {
                let (statement, targets) = assignment_statement(parent, awaited)?;
                (statement, true, targets)
            }
            _ => return None,
        };
        let mut cursor = statement.walk();
        if statement.named_children(&mut cursor).filter(|child| child.kind() != "comment").count() != 1 {
            return None;
        }
        Some(Self { statement, awaited, keeps_value, targets })
    }
}

/// The statement of `x = await ...` or `x = y = await ...`, and the targets of a plain
/// unpacking into two or more.
fn assignment_statement<'t>(assignment: Node<'t>, awaited: Node<'t>) -> Option<(Node<'t>, Option<Vec<Node<'t>>>)> {
    let mut value = awaited;
    let mut current = assignment;
    let statement = loop {
        if current.field(&field::RIGHT) != Some(value) {
            return None;
        }
        let parent = current.parent()?;
        match parent.kind() {
            "assignment" => (value, current) = (current, parent),
            "expression_statement" => break parent,
            _ => return None,
        }
    };
    let left = assignment.field(&field::LEFT)?;
    let plain = current == assignment && assignment.field(&field::TYPE).is_none();
    if !plain || !matches!(left.kind(), "pattern_list" | "tuple_pattern" | "list_pattern") {
        return Some((statement, None));
    }
    let mut cursor = left.walk();
    let targets: Vec<Node<'t>> = left.named_children(&mut cursor).filter(|target| target.kind() != "comment").collect();
    let unpacks = targets.len() >= 2 && targets.iter().all(|target| target.kind() != "list_splat_pattern");
    Some((statement, unpacks.then_some(targets)))
}

/// One positional argument of `gather`, as the block starts it.
#[derive(Clone, Copy)]
enum Argument<'t> {
    /// `f(x)`: one task.
    Call(Node<'t>),
    /// `*[f(x) for x in xs]` or `*(f(x) for x in xs)`: a task per element.
    Comprehension { comprehension: Node<'t>, body: Node<'t> },
    /// `*coros` (a name or an attribute): a task per coroutine in it.
    Spread(Node<'t>),
}

impl Argument<'_> {
    /// The text the fix copies: a comment in the argument and outside it is lost.
    fn copied(&self) -> TextRange {
        match *self {
            Argument::Call(node) | Argument::Spread(node) | Argument::Comprehension { comprehension: node, .. } => {
                TextRange::of(node)
            }
        }
    }
}

/// An argument with the comments of the argument list that go with it.
struct Entry<'t> {
    argument: Argument<'t>,
    /// Where the argument starts (its `*` for a splat): its continuation lines are indented
    /// relative to that line.
    start: usize,
    /// Comments on their own lines before it.
    leading: Vec<TextRange>,
    /// A comment at the end of its last line.
    trailing: Option<TextRange>,
}

/// The arguments of `gather` in order, and the comments after the last one; `None` for an
/// argument the fix cannot start as a task (a keyword other than `return_exceptions=False`,
/// a value that is not a call, a splat of anything but a list, a generator or a name).
fn entries<'t>(checker: &Checker<'_, '_>, arguments: Node<'t>) -> Option<(Vec<Entry<'t>>, Vec<TextRange>)> {
    let source = checker.semantic.source();
    let mut entries: Vec<Entry<'t>> = Vec::new();
    let mut pending = Vec::new();
    // The last argument seen, and whether the fix keeps it.
    let mut previous: Option<(Node<'t>, bool)> = None;
    let mut cursor = arguments.walk();
    for child in arguments.named_children(&mut cursor) {
        let argument = match child.kind() {
            "comment" => {
                let range = TextRange::of(child);
                let trails = previous.is_some_and(|(node, kept)| {
                    kept && fix_builder::line_start(source, node.end_byte())
                        == fix_builder::line_start(source, child.start_byte())
                });
                match entries.last_mut() {
                    Some(entry) if trails && entry.trailing.is_none() => entry.trailing = Some(range),
                    _ => pending.push(range),
                }
                continue;
            }
            "keyword_argument" => {
                let name = child.field(&field::NAME).map(|name| checker.text(name));
                let value = child.field(&field::VALUE).map(|value| value.kind());
                if (name, value) != (Some("return_exceptions"), Some("false")) {
                    return None;
                }
                previous = Some((child, false));
                continue;
            }
            "call" if starts_a_coroutine(checker, child) => Argument::Call(child),
            "list_splat" => splat(checker, child)?,
            _ => return None,
        };
        entries.push(Entry {
            argument,
            start: child.start_byte(),
            leading: std::mem::take(&mut pending),
            trailing: None,
        });
        previous = Some((child, true));
    }
    Some((entries, pending))
}

/// `*[f(x) for x in xs]`, `*(f(x) for x in xs)` or `*coros`.
fn splat<'t>(checker: &Checker<'_, '_>, splat: Node<'t>) -> Option<Argument<'t>> {
    let mut cursor = splat.walk();
    let value = splat.named_children(&mut cursor).find(|child| child.kind() != "comment")?;
    match value.kind() {
        "list_comprehension" | "generator_expression" => {
            let body = value.field(&field::BODY).filter(|body| starts_a_coroutine(checker, *body))?;
            Some(Argument::Comprehension { comprehension: value, body })
        }
        "identifier" | "attribute" if !may_hold_futures(checker, value) => Some(Argument::Spread(value)),
        _ => None,
    }
}

/// Whether the splatted `coros` may hold tasks or futures rather than coroutines (the common
/// `tasks = [asyncio.create_task(...) ...]; await gather(*tasks)`): its name says so, or the
/// function fills it with them or annotates it as such.
fn may_hold_futures(checker: &Checker<'_, '_>, sequence: Node<'_>) -> bool {
    let last = if sequence.kind() == "attribute" { sequence.field(&field::ATTRIBUTE) } else { Some(sequence) };
    let Some(last) = last else { return true };
    let name = checker.text(last).to_ascii_lowercase();
    if name.contains("task") || name.contains("fut") {
        return true;
    }
    if sequence.kind() != "identifier" {
        return false;
    }
    let Some(function) =
        checker.semantic.enclosing_function(sequence.start_byte()).map(|scope| checker.semantic.scope(scope).node)
    else {
        return false;
    };
    checker.semantic.references_in(function, checker.text(sequence)).into_iter().any(|reference| {
        let Some(parent) = reference.parent() else { return false };
        match parent.kind() {
            "typed_parameter" | "typed_default_parameter" => parent.field(&field::TYPE).is_some_and(|annotation| {
                ["Task", "Future"].iter().any(|kind| checker.text(annotation).contains(kind))
            }),
            "assignment" if parent.field(&field::LEFT) == Some(reference) => {
                parent.field(&field::RIGHT).is_some_and(|value| makes_futures(checker, value))
            }
            // `coros.append(asyncio.create_task(...))`
            "attribute" if parent.field(&field::OBJECT) == Some(reference) => {
                let adds = parent
                    .field(&field::ATTRIBUTE)
                    .is_some_and(|method| matches!(checker.text(method), "append" | "add" | "extend" | "insert"));
                let arguments =
                    parent.parent().filter(|call| call.kind() == "call").and_then(|call| call.field(&field::ARGUMENTS));
                adds && arguments.is_some_and(|arguments| {
                    let mut cursor = arguments.walk();
                    arguments.named_children(&mut cursor).any(|argument| makes_futures(checker, argument))
                })
            }
            _ => false,
        }
    })
}

/// A call known to give a task or a future, or a collection or comprehension of such calls.
fn makes_futures(checker: &Checker<'_, '_>, value: Node<'_>) -> bool {
    match value.kind() {
        "call" => !starts_a_coroutine(checker, value),
        "list" | "tuple" | "set" => {
            let mut cursor = value.walk();
            value.named_children(&mut cursor).any(|element| makes_futures(checker, element))
        }
        "list_comprehension" | "generator_expression" | "set_comprehension" => {
            value.field(&field::BODY).is_some_and(|body| makes_futures(checker, body))
        }
        _ => false,
    }
}

/// A call that is not known to give a task or a future.
fn starts_a_coroutine(checker: &Checker<'_, '_>, call: Node<'_>) -> bool {
    let Some(callee) = call.field(&field::FUNCTION).filter(|_| call.kind() == "call") else { return false };
    let written = match callee.kind() {
        "identifier" => Some(checker.text(callee)),
        "attribute" => callee.field(&field::ATTRIBUTE).map(|name| checker.text(name)),
        _ => None,
    };
    let qualified = checker.semantic.qualified_name(callee);
    let resolved = qualified.as_deref().and_then(|name| name.rsplit('.').next());
    ![written, resolved].into_iter().flatten().any(|name| FUTURE_MAKERS.contains(&name))
}

/// The rewrite of the statement holding `await gather(...)`: a `TaskGroup` block (tasks bound
/// to names when the results are used, read back in order after the block), `await` of the
/// call for a single one, `[]` for none.
fn task_group_fix(checker: &Checker<'_, '_>, call: &Call<'_>, awaited: Node<'_>) -> Option<Fix> {
    let holder = Holder::of(awaited)?;
    if call.arguments.kind() != "argument_list" {
        return None;
    }
    let source = checker.semantic.source();
    let root = checker.semantic.scope(0).node;
    fix_builder::own_lines(source, root, holder.statement)?;
    let (entries, tail) = entries(checker, call.arguments)?;
    let statement = TextRange::of(holder.statement);
    let handled = |comment: &TextRange| {
        entries.iter().any(|entry| {
            let copied = entry.argument.copied();
            entry.leading.contains(comment)
                || entry.trailing == Some(*comment)
                || (copied.start <= comment.start && comment.end <= copied.end)
        }) || tail.contains(comment)
    };
    let comments: Vec<TextRange> = checker
        .semantic
        .comments()
        .iter()
        .copied()
        .filter(|comment| statement.start <= comment.start && comment.end <= statement.end)
        .collect();
    if !comments.iter().all(handled) {
        return None;
    }
    if source[holder.awaited.end_byte()..holder.statement.end_byte()].trim() != "" {
        return None;
    }
    match entries.as_slice() {
        [] => empty_fix(&holder, &comments),
        [Entry { argument: Argument::Call(coroutine), .. }] => {
            Some(single_call_fix(checker, &holder, *coroutine, &comments))
        }
        _ => block_fix(checker, &holder, &entries, &tail),
    }
}

/// `gather()` of nothing is an empty list, at once.
fn empty_fix(holder: &Holder<'_>, comments: &[TextRange]) -> Option<Fix> {
    // As a statement it does nothing; removing a line is the user's call.
    if !holder.keeps_value || !comments.is_empty() {
        return None;
    }
    Some(Fix::unsafe_edit("Replace with `[]`", Edit::replacement("[]", TextRange::of(holder.awaited))))
}

/// `await f()` for `await gather(f())` (`[await f()]` where the list is used): one task in
/// a group is what LW901 reports. The comments of the argument list go above the statement.
fn single_call_fix(checker: &Checker<'_, '_>, holder: &Holder<'_>, coroutine: Node<'_>, comments: &[TextRange]) -> Fix {
    let source = checker.semantic.source();
    let root = checker.semantic.scope(0).node;
    let indent = fix_builder::indentation_at(source, holder.statement.start_byte());
    let mut text = String::new();
    let copied = TextRange::of(coroutine);
    for comment in comments.iter().filter(|comment| comment.end <= copied.start || copied.end <= comment.start) {
        text.push_str(&source[comment.start..comment.end]);
        text.push('\n');
        text.push_str(indent);
    }
    let prefix = &source[holder.statement.start_byte()..holder.awaited.start_byte()];
    let awaited = format!("await {}", moved(source, root, copied, coroutine.start_byte(), indent));
    text.push_str(prefix);
    if holder.keeps_value {
        text.push('[');
        text.push_str(&awaited);
        text.push(']');
    } else {
        text.push_str(&awaited);
    }
    Fix::unsafe_edit("Replace with `await` of the call", Edit::replacement(text, TextRange::of(holder.statement)))
}

/// The `async with asyncio.TaskGroup() as tg:` block, with the results read back after it.
fn block_fix(checker: &Checker<'_, '_>, holder: &Holder<'_>, entries: &[Entry<'_>], tail: &[TextRange]) -> Option<Fix> {
    let position = holder.statement.start_byte();
    let import = checker.import_module("asyncio", position).into_edits()?.pop();
    let source = checker.semantic.source();
    let mut names = FreshNames::new(checker, holder.statement);
    let group = names.fresh("tg");
    let indent = fix_builder::indentation_at(source, position);
    let mut block = Block {
        source,
        root: checker.semantic.scope(0).node,
        unit: &checker.stylist().indent,
        group: &group,
        text: format!("async with asyncio.TaskGroup() as {group}:"),
    };
    let inner = format!("{indent}{}", block.unit);
    let targets = holder.targets.as_ref().filter(|targets| targets.len() == entries.len());
    let mut results = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        for comment in &entry.leading {
            block.line(&inner, &source[comment.start..comment.end]);
        }
        let result = match entry.argument {
            Argument::Call(coroutine) if holder.keeps_value => {
                let target = targets.and_then(|targets| targets.get(index)).copied();
                let name = names.fresh(&task_name(checker, target, coroutine));
                block.task(&inner, Some(&name), coroutine, entry.start);
                Results::Task(name)
            }
            Argument::Call(coroutine) => {
                block.task(&inner, None, coroutine, entry.start);
                Results::Dropped
            }
            Argument::Comprehension { comprehension, body } => {
                if !holder.keeps_value && block.loop_over(checker, &inner, comprehension, body) {
                    Results::Dropped
                } else {
                    let tasks = names.fresh("tasks");
                    block.task_list(&inner, &tasks, comprehension, body, entry.start);
                    Results::Tasks(tasks)
                }
            }
            Argument::Spread(coroutines) => {
                let coroutine = names.fresh("coro");
                if !holder.keeps_value && block.loop_over_spread(&inner, &coroutine, coroutines) {
                    Results::Dropped
                } else {
                    let tasks = names.fresh("tasks");
                    let list = format!(
                        "[{group}.create_task({coroutine}) for {coroutine} in {}]",
                        moved(source, block.root, TextRange::of(coroutines), entry.start, &inner)
                    );
                    block.line(&inner, &format!("{tasks} = {list}"));
                    Results::Tasks(tasks)
                }
            }
        };
        if let Some(comment) = entry.trailing {
            block.text.push_str("  ");
            block.text.push_str(&source[comment.start..comment.end]);
        }
        results.push(result);
    }
    for comment in tail {
        block.line(&inner, &source[comment.start..comment.end]);
    }
    if holder.keeps_value {
        let task = names.fresh("task");
        let read = |result: &Results| match result {
            Results::Task(name) => format!("{name}.result()"),
            Results::Tasks(list) => format!("*[{task}.result() for {task} in {list}]"),
            Results::Dropped => String::new(),
        };
        let value = match results.as_slice() {
            [Results::Tasks(list)] => format!("[{task}.result() for {task} in {list}]"),
            _ if targets.is_some() => results.iter().map(read).collect::<Vec<_>>().join(", "),
            _ => format!("[{}]", results.iter().map(read).collect::<Vec<_>>().join(", ")),
        };
        let prefix = &source[position..holder.awaited.start_byte()];
        let line = format!("{prefix}{value}");
        block.line(indent, &line);
    }
    let mut replaced = TextRange::of(holder.statement);
    if !holder.keeps_value {
        // A comment after the statement speaks of the whole wait: it goes on the header.
        let lines = fix_builder::own_lines(source, block.root, holder.statement)?;
        let comment = source[replaced.end..lines.end].trim();
        if !comment.is_empty() {
            let header_end = block.text.find('\n').unwrap_or(block.text.len());
            block.text.insert_str(header_end, &format!("  {comment}"));
            replaced.end = lines.end;
        }
    }
    let title = format!("Rewrite as `async with asyncio.TaskGroup() as {group}:`");
    let edit = Edit::replacement(block.text, replaced);
    Some(Fix::unsafe_edits(title, edit, import.into_iter().collect()))
}

/// Where the block leaves the results of one argument.
enum Results {
    /// The task bound to this name.
    Task(String),
    /// The list of tasks bound to this name.
    Tasks(String),
    /// Nowhere: the statement drops them.
    Dropped,
}

/// `users_task` for the target `users`, else `fetch_users_task` for `fetch_users(...)`.
fn task_name(checker: &Checker<'_, '_>, target: Option<Node<'_>>, coroutine: Node<'_>) -> String {
    if let Some(target) = target.filter(|target| target.kind() == "identifier" && checker.text(*target) != "_") {
        return format!("{}_task", checker.text(target));
    }
    let callee = coroutine.field(&field::FUNCTION);
    let name = match callee.map(|callee| (callee.kind(), callee)) {
        Some(("identifier", callee)) => Some(callee),
        Some(("attribute", callee)) => callee.field(&field::ATTRIBUTE),
        _ => None,
    };
    name.map_or_else(|| "task".to_string(), |name| format!("{}_task", checker.text(name).trim_start_matches('_')))
}

/// Names for the variables the fix introduces: free where the statement is, and not one the
/// statement itself mentions (a comprehension's variables) or the fix already took.
struct FreshNames<'c, 'a, 't> {
    checker: &'c Checker<'a, 't>,
    position: usize,
    taken: Vec<String>,
}

impl<'c, 'a, 't> FreshNames<'c, 'a, 't> {
    fn new(checker: &'c Checker<'a, 't>, statement: Node<'_>) -> Self {
        let taken = checker
            .semantic
            .nodes_in_same_scope(statement, &["identifier"])
            .into_iter()
            .map(|identifier| checker.text(identifier).to_string())
            .collect();
        Self { checker, position: statement.start_byte(), taken }
    }

    fn fresh(&mut self, base: &str) -> String {
        // `Checker::fresh_name` answers for the file; the names this fix took are not there yet.
        let name = (1..10_000)
            .map(|suffix| if suffix == 1 { base.to_string() } else { format!("{base}_{suffix}") })
            .filter(|candidate| !self.taken.contains(candidate))
            .find(|candidate| self.checker.fresh_name(candidate, self.position) == *candidate)
            .unwrap_or_else(|| base.to_string());
        self.taken.push(name.clone());
        name
    }
}

/// The text of the block being written: each line is added with its own indentation (the
/// first, `async with ...:`, takes the statement's place).
struct Block<'s, 'n> {
    source: &'s str,
    root: Node<'n>,
    unit: &'s str,
    group: &'s str,
    text: String,
}

impl Block<'_, '_> {
    fn line(&mut self, indent: &str, content: &str) {
        self.text.push('\n');
        self.text.push_str(indent);
        self.text.push_str(content);
    }

    /// `[name = ]tg.create_task(<call>)`.
    fn task(&mut self, indent: &str, name: Option<&str>, coroutine: Node<'_>, start: usize) {
        let call = moved(self.source, self.root, TextRange::of(coroutine), start, indent);
        let binding = name.map(|name| format!("{name} = ")).unwrap_or_default();
        self.line(indent, &format!("{binding}{}.create_task({call})", self.group));
    }

    /// `tasks = [tg.create_task(f(x)) for x in xs]` (a generator becomes a list).
    fn task_list(&mut self, indent: &str, tasks: &str, comprehension: Node<'_>, body: Node<'_>, start: usize) {
        let inside = TextRange::new(comprehension.start_byte() + 1, comprehension.end_byte() - 1);
        let piece = |start_at: usize, end_at: usize| {
            moved(self.source, self.root, TextRange::new(start_at, end_at), start, indent)
        };
        let list = format!(
            "[{}{}.create_task({}){}]",
            piece(inside.start, body.start_byte()),
            self.group,
            piece(body.start_byte(), body.end_byte()),
            piece(body.end_byte(), inside.end),
        );
        self.line(indent, &format!("{tasks} = {list}"));
    }

    /// `for x in xs:` (and `if ...:`) around `tg.create_task(f(x))`, when the comprehension
    /// writes each clause on one line, holds no comment outside its parts, and its variables
    /// are used nowhere else in the function (the loop leaks them).
    fn loop_over(&mut self, checker: &Checker<'_, '_>, indent: &str, comprehension: Node<'_>, body: Node<'_>) -> bool {
        let mut cursor = comprehension.walk();
        let clauses: Vec<Node<'_>> = comprehension
            .named_children(&mut cursor)
            .filter(|child| matches!(child.kind(), "for_in_clause" | "if_clause"))
            .collect();
        let parts: Vec<TextRange> = clauses.iter().chain([&body]).map(|node| TextRange::of(*node)).collect();
        let inside = TextRange::of(comprehension);
        let stray_comment = checker.semantic.comments().iter().any(|comment| {
            inside.start <= comment.start
                && comment.end <= inside.end
                && !parts.iter().any(|part| part.start <= comment.start && comment.end <= part.end)
        });
        let one_line = clauses.iter().all(|clause| !checker.text(*clause).contains(['\n', '\r']));
        if stray_comment || !one_line || !variables_stay_inside(checker, comprehension, &clauses) {
            return false;
        }
        let mut depth = indent.to_string();
        for clause in &clauses {
            self.line(&depth, &format!("{}:", checker.text(*clause)));
            depth.push_str(self.unit);
        }
        let call = moved(self.source, self.root, TextRange::of(body), body.start_byte(), &depth);
        self.line(&depth, &format!("{}.create_task({call})", self.group));
        true
    }

    /// `for coro in coros:` around `tg.create_task(coro)`, when `coros` is written on one line.
    fn loop_over_spread(&mut self, indent: &str, coroutine: &str, coroutines: Node<'_>) -> bool {
        let written = &self.source[coroutines.start_byte()..coroutines.end_byte()];
        if written.contains(['\n', '\r']) {
            return false;
        }
        self.line(indent, &format!("for {coroutine} in {written}:"));
        let inner = format!("{indent}{}", self.unit);
        self.line(&inner, &format!("{}.create_task({coroutine})", self.group));
        true
    }
}

/// Whether every variable the `for` clauses bind is mentioned only inside the comprehension.
fn variables_stay_inside(checker: &Checker<'_, '_>, comprehension: Node<'_>, clauses: &[Node<'_>]) -> bool {
    let Some(function_body) = checker
        .semantic
        .enclosing_function(comprehension.start_byte())
        .and_then(|scope| checker.semantic.scope(scope).node.field(&field::BODY))
    else {
        return false;
    };
    let inside = TextRange::of(comprehension);
    clauses.iter().filter_map(|clause| clause.field(&field::LEFT)).all(|targets| {
        let identifiers = checker.semantic.nodes_in_same_scope(targets, &["identifier"]);
        identifiers.into_iter().all(|identifier| {
            checker
                .semantic
                .references_in(function_body, checker.text(identifier))
                .iter()
                .all(|reference| inside.start <= reference.start_byte() && reference.end_byte() <= inside.end)
        })
    })
}

/// The text of `range`, with its continuation lines moved as the line holding `start` moves
/// to `indent`. Those lines sit inside brackets, where indentation is only for the reader:
/// when they cannot move the same way (mixed tabs and spaces), they are copied as they are.
fn moved(source: &str, root: Node<'_>, range: TextRange, start: usize, indent: &str) -> String {
    let from = fix_builder::indentation_at(source, start);
    if let Some(more) = indent.strip_prefix(from) {
        return fix_builder::indent_text(source, root, range, more);
    }
    from.strip_prefix(indent)
        .and_then(|less| fix_builder::dedent_text(source, root, range, less))
        .unwrap_or_else(|| source[range.start..range.end].to_string())
}

#[cfg(test)]
mod tests {
    use crate::analysis::fixer::fix_until_stable;
    use crate::analysis::{Applicability, LintSettings, PythonVersion, lint_source};
    use crate::rules::Rule;

    #[test]
    fn reports_only_from_python_3_11() {
        let source = "import asyncio\n\nasync def main(a, b):\n    return await asyncio.gather(a(), b())\n";
        let at = |minor| LintSettings {
            target_version: PythonVersion { major: 3, minor },
            rules: [Rule::GatherInsteadOfTaskgroup].into_iter().collect(),
            ..LintSettings::default()
        };
        assert_eq!(lint_source(source, None, &at(11)).len(), 1);
        assert_eq!(lint_source(source, None, &at(12)).len(), 1);
        assert!(lint_source(source, None, &at(10)).is_empty());
    }

    /// The source with the one finding's fix applied; `None` when it has no fix.
    fn fixed(source: &str) -> Option<String> {
        let settings =
            LintSettings { rules: [Rule::GatherInsteadOfTaskgroup].into_iter().collect(), ..LintSettings::default() };
        let diagnostics = lint_source(source, None, &settings);
        let [diagnostic] = diagnostics.as_slice() else { panic!("one finding expected: {diagnostics:?}") };
        diagnostic.fix.as_ref().map(|fix| fix.apply_to(source))
    }

    fn assert_fix(before: &str, after: &str) {
        assert_eq!(fixed(before).as_deref(), Some(after), "\n{before}");
    }

    #[test]
    fn statement_becomes_a_task_group_block() {
        assert_fix(
            "import asyncio\n\nasync def f(a, b):\n    await asyncio.gather(a(), b())  # both\n    return 1\n",
            "import asyncio\n\nasync def f(a, b):\n    async with asyncio.TaskGroup() as tg:  # both\n        tg.create_task(a())\n        tg.create_task(b())\n    return 1\n",
        );
    }

    #[test]
    fn results_are_read_back_in_order() {
        let head = "import asyncio\n\nasync def f(a, b):\n";
        let block = "    async with asyncio.TaskGroup() as tg:\n        a_task = tg.create_task(a())\n        b_task = tg.create_task(b())\n";
        assert_fix(
            &format!("{head}    x = await asyncio.gather(a(), b())\n"),
            &format!("{head}{block}    x = [a_task.result(), b_task.result()]\n"),
        );
        assert_fix(
            &format!("{head}    return await asyncio.gather(a(), b())\n"),
            &format!("{head}{block}    return [a_task.result(), b_task.result()]\n"),
        );
        let block = "    async with asyncio.TaskGroup() as tg:\n        users_task = tg.create_task(a())\n        orders_task = tg.create_task(b())\n";
        assert_fix(
            &format!("{head}    users, orders = await asyncio.gather(a(), b())  # why\n"),
            &format!("{head}{block}    users, orders = users_task.result(), orders_task.result()  # why\n"),
        );
        assert_fix(
            &format!("{head}    [users, orders] = await asyncio.gather(a(), b())\n"),
            &format!("{head}{block}    [users, orders] = users_task.result(), orders_task.result()\n"),
        );
    }

    #[test]
    fn splats_keep_the_order_of_results() {
        assert_fix(
            "import asyncio\n\nasync def f(a, xs, coros):\n    r = await asyncio.gather(a(), *[a(x) for x in xs], *(a(y) for y in xs), *coros)\n",
            "import asyncio\n\nasync def f(a, xs, coros):\n    async with asyncio.TaskGroup() as tg:\n        a_task = tg.create_task(a())\n        tasks = [tg.create_task(a(x)) for x in xs]\n        tasks_2 = [tg.create_task(a(y)) for y in xs]\n        tasks_3 = [tg.create_task(coro) for coro in coros]\n    r = [a_task.result(), *[task.result() for task in tasks], *[task.result() for task in tasks_2], *[task.result() for task in tasks_3]]\n",
        );
    }

    #[test]
    fn dropped_splats_become_loops_unless_the_variable_is_used_elsewhere() {
        assert_fix(
            "import asyncio\n\nasync def f(a, xs, coros):\n    await asyncio.gather(*[a(x) for x in xs if x], *coros)\n",
            "import asyncio\n\nasync def f(a, xs, coros):\n    async with asyncio.TaskGroup() as tg:\n        for x in xs:\n            if x:\n                tg.create_task(a(x))\n        for coro in coros:\n            tg.create_task(coro)\n",
        );
        // The loop would overwrite `x`, which the function reads afterwards.
        assert_fix(
            "import asyncio\n\nasync def f(a, xs, x):\n    await asyncio.gather(*[a(x) for x in xs])\n    return x\n",
            "import asyncio\n\nasync def f(a, xs, x):\n    async with asyncio.TaskGroup() as tg:\n        tasks = [tg.create_task(a(x)) for x in xs]\n    return x\n",
        );
        // A clause over two lines cannot be a `for` header.
        assert_fix(
            "import asyncio\n\nasync def f(a, xs):\n    await asyncio.gather(*[\n        a(x)\n        for x in sorted(\n            xs,\n        )\n    ])\n",
            "import asyncio\n\nasync def f(a, xs):\n    async with asyncio.TaskGroup() as tg:\n        tasks = [\n            tg.create_task(a(x))\n            for x in sorted(\n                xs,\n            )\n        ]\n",
        );
    }

    #[test]
    fn comments_stay_with_their_arguments() {
        assert_fix(
            "import asyncio\n\nasync def f(a, b):\n    if a:\n        try:\n            x = await asyncio.gather(  # start\n                # slow\n                a(\n                    1,  # one\n                ),  # after a\n                b(),\n                return_exceptions=False,  # default\n                # end\n            )\n        finally:\n            pass\n",
            "import asyncio\n\nasync def f(a, b):\n    if a:\n        try:\n            async with asyncio.TaskGroup() as tg:\n                # start\n                # slow\n                a_task = tg.create_task(a(\n                    1,  # one\n                ))  # after a\n                b_task = tg.create_task(b())\n                # default\n                # end\n            x = [a_task.result(), b_task.result()]\n        finally:\n            pass\n",
        );
    }

    #[test]
    fn arguments_on_the_first_line_move_one_level_in_and_strings_stay() {
        assert_fix(
            "import asyncio\n\nasync def f(a, b):\n    async with a:\n        await asyncio.gather(a(), b(\n            \"\"\"x\n  y\"\"\",\n        ))\n",
            "import asyncio\n\nasync def f(a, b):\n    async with a:\n        async with asyncio.TaskGroup() as tg:\n            tg.create_task(a())\n            tg.create_task(b(\n                \"\"\"x\n  y\"\"\",\n            ))\n",
        );
    }

    #[test]
    fn tabs_and_crlf_are_kept() {
        assert_fix(
            "import asyncio\r\n\r\nasync def f(a, b):\r\n\tif a:\r\n\t\tx = await asyncio.gather(\r\n\t\t\ta(),\r\n\t\t\tb(\r\n\t\t\t\t1,\r\n\t\t\t),\r\n\t\t)\r\n",
            "import asyncio\r\n\r\nasync def f(a, b):\r\n\tif a:\r\n\t\tasync with asyncio.TaskGroup() as tg:\r\n\t\t\ta_task = tg.create_task(a())\r\n\t\t\tb_task = tg.create_task(b(\r\n\t\t\t\t1,\r\n\t\t\t))\r\n\t\tx = [a_task.result(), b_task.result()]\r\n",
        );
    }

    #[test]
    fn missing_import_goes_after_docstring_and_future_imports() {
        assert_fix(
            "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nfrom asyncio import gather\n\n\nasync def f(a, b):\n    await gather(a(), b())\n",
            "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport asyncio\nfrom asyncio import gather\n\n\nasync def f(a, b):\n    async with asyncio.TaskGroup() as tg:\n        tg.create_task(a())\n        tg.create_task(b())\n",
        );
    }

    #[test]
    fn names_taken_in_the_function_are_avoided() {
        assert_fix(
            "import asyncio\n\nasync def f(a, b, tg, a_task, coro):\n    x = await asyncio.gather(a(), b(), *coro)\n",
            "import asyncio\n\nasync def f(a, b, tg, a_task, coro):\n    async with asyncio.TaskGroup() as tg_2:\n        a_task_2 = tg_2.create_task(a())\n        b_task = tg_2.create_task(b())\n        tasks = [tg_2.create_task(coro_2) for coro_2 in coro]\n    x = [a_task_2.result(), b_task.result(), *[task.result() for task in tasks]]\n",
        );
    }

    #[test]
    fn one_call_is_awaited_and_none_is_an_empty_list() {
        let head = "import asyncio\n\nasync def f(a):\n";
        assert_fix(&format!("{head}    await asyncio.gather(a())\n"), &format!("{head}    await a()\n"));
        assert_fix(
            &format!(
                "{head}    return await asyncio.gather(\n        # only\n        a(\n            1,\n        ),\n    )\n"
            ),
            &format!("{head}    # only\n    return [await a(\n        1,\n    )]\n"),
        );
        assert_fix(&format!("{head}    x = await asyncio.gather()\n"), &format!("{head}    x = []\n"));
        assert_eq!(fixed(&format!("{head}    await asyncio.gather()\n")), None);
    }

    #[test]
    fn no_fix_where_the_rewrite_would_be_wrong() {
        let head = "import asyncio\n\nasync def f(a, b, t, xs):\n";
        for body in [
            "await asyncio.gather(a(), t)",
            "await asyncio.gather(a(), asyncio.create_task(b()))",
            "await asyncio.gather(a(), b(), loop=t)",
            "await asyncio.gather(*{a(x) for x in xs})",
            "x = len(await asyncio.gather(a(), b()))",
            "t(await asyncio.gather(a(), b()))",
            "await asyncio.gather(a(), b()); t()",
            "t += await asyncio.gather(a(), b())",
            "x = [await asyncio.gather(a(y), b()) for y in xs]",
            "x = await asyncio.gather(a(),  # why\n    b())  ",
        ] {
            let source = format!("{head}    {body}\n");
            if body.contains("# why") {
                // Kept: the comment trails its argument.
                assert!(fixed(&source).is_some(), "{body}");
                continue;
            }
            assert_eq!(fixed(&source), None, "{body}");
        }
        let shadowed = "from asyncio import gather\nasyncio = None\n\nasync def f(a, b):\n    await gather(a(), b())\n";
        assert_eq!(fixed(shadowed), None);
        let comment_outside = "import asyncio\n\nasync def f(a, b):\n    x: (  # the type\n        list\n    ) = await asyncio.gather(a(), b())\n";
        assert_eq!(fixed(comment_outside), None);
    }

    #[test]
    fn splatted_tasks_are_not_handed_to_create_task() {
        let head = "import asyncio\n\nasync def f(a, xs, work: list[asyncio.Task], coros):\n";
        for body in [
            "running = [asyncio.create_task(a(x)) for x in xs]\n    await asyncio.gather(*running)",
            "started = []\n    started.append(asyncio.ensure_future(a(1)))\n    await asyncio.gather(*started)",
            "await asyncio.gather(*work)",
            "await asyncio.gather(*self.background_tasks)",
        ] {
            assert_eq!(fixed(&format!("{head}    {body}\n")), None, "{body}");
        }
        assert!(fixed(&format!("{head}    await asyncio.gather(*coros)\n")).is_some());
    }

    #[test]
    fn fix_all_rewrites_every_gather_and_imports_asyncio_once() {
        let source = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nfrom asyncio import gather\n\n\nasync def f(a, b):\n    await gather(a(), b())\n    return await gather(a(), b())\n";
        let settings = LintSettings::default();
        let fixed = fix_until_stable(source, Applicability::Unsafe, |text| lint_source(text, None, &settings));
        assert_eq!(
            fixed.text,
            "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport asyncio\nfrom asyncio import gather\n\n\nasync def f(a, b):\n    async with asyncio.TaskGroup() as tg:\n        tg.create_task(a())\n        tg.create_task(b())\n    async with asyncio.TaskGroup() as tg_2:\n        a_task = tg_2.create_task(a())\n        b_task = tg_2.create_task(b())\n    return [a_task.result(), b_task.result()]\n"
        );
        assert_eq!(fixed.applied, 2);
        assert!(fixed.remaining.is_empty(), "{:?}", fixed.remaining);
    }
}
