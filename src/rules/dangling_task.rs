use tree_sitter::Node;

use crate::analysis::fix_builder::{self, ModuleImport};
use crate::analysis::semantic::ScopeKind;
use crate::analysis::settings::PythonVersion;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker, Edit, Fix, TextRange};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for tasks whose only reference is dropped: the result of `asyncio.create_task`,
    /// `asyncio.ensure_future` or `loop.create_task` (`loop` an event loop the file shows) used
    /// as a statement, or bound to a local that the function never mentions again.
    ///
    /// ## Why is this bad?
    /// The event loop keeps only a weak reference to a task. A task nobody references can be
    /// garbage-collected before it finishes, and its exception is never seen.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// async def handle(request):
    ///     asyncio.create_task(audit(request))
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// background_tasks = set()
    ///
    /// async def handle(request):
    ///     task = asyncio.create_task(audit(request))
    ///     background_tasks.add(task)
    ///     task.add_done_callback(background_tasks.discard)
    /// ```
    ///
    /// ## Fix safety
    /// Inside `async with asyncio.TaskGroup() as tg:` the fix uses `tg.create_task(...)`, which
    /// keeps the task and waits for it (safe). Elsewhere the fix keeps a strong reference
    /// (unsafe): the statement becomes `task = asyncio.create_task(...)` followed by
    /// `background_tasks.add(task)` and `task.add_done_callback(background_tasks.discard)`,
    /// with `background_tasks: set[asyncio.Task] = set()` added after the imports unless the
    /// module already has that set (a local the function never reads again keeps its name;
    /// taken names get a suffix). The task now lives until it is done, which may keep work
    /// going that used to vanish. It is offered where the statement stands on its own lines.
    /// Another quick fix, never applied in bulk, awaits the task instead (unsafe: the function
    /// now waits for it), in an async function where `await` applies to the call alone.
    ///
    /// ## Known problems
    /// `tg.create_task` on a TaskGroup, tasks stored in a set, list or attribute, returned or
    /// awaited are not flagged. A loop the file does not show (`self.hass.loop`) is not followed.
    /// A module-level variable that is never read again is not flagged (ruff's RUF006 flags
    /// it): the module's globals keep the task alive.
    ///
    /// ## References
    /// - [Python docs: `asyncio.create_task`](https://docs.python.org/3/library/asyncio-task.html#asyncio.create_task)
    code: "LW202",
    name: "dangling-task",
    summary: "the result of `asyncio.create_task`/`ensure_future`/`loop.create_task` dropped",
    severity: Warning,
    enabled: true,
    aliases: ["RUF006", "ASYNC300"],
    peers: "ruff, flake8-async",
    fix: "`tg.create_task` in a TaskGroup block (safe); else keep a reference in a set (unsafe), or await it (unsafe)",
    only_in_async_functions: false,
    triggers: ["create_task", "ensure_future"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    let name = match call.qualified_name.as_deref() {
        Some("asyncio.create_task" | "asyncio.tasks.create_task") => "asyncio.create_task",
        Some("asyncio.ensure_future" | "asyncio.tasks.ensure_future") => "asyncio.ensure_future",
        _ => {
            let is_loop_method = call.method_name(checker.semantic) == Some("create_task")
                && call.receiver().is_some_and(|receiver| checker.semantic.is_event_loop(receiver));
            if !is_loop_method {
                return;
            }
            "loop.create_task"
        }
    };
    if !checker.is_result_discarded(call.node, false) {
        return;
    }
    let task_group = (name == "asyncio.create_task").then(|| task_group_fix(checker, call)).flatten();
    let fix = task_group.or_else(|| reference_fix(checker, call));
    let alternative = await_fix(checker, call);
    let diagnostic =
        checker.report(Rule::DanglingTask, call.node, format!("Store a reference to the task created by `{name}`"));
    diagnostic.fix = fix;
    diagnostic.alternatives.extend(alternative);
}

/// `await ` before the call, in an async function where it takes the call alone.
fn await_fix(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<Fix> {
    if !checker.semantic.in_async_function(call.node.start_byte()) || !checker.can_prefix_await(call.node) {
        return None;
    }
    Some(Fix::unsafe_edit("Await the task", Edit::insertion("await ", call.node.start_byte())))
}

/// The set-and-discard idiom: the task goes into a module-level set, which drops it when it
/// is done.
fn reference_fix(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<Fix> {
    let source = checker.semantic.source();
    let mut value = call.node;
    while let Some(parent) = value.parent().filter(|parent| parent.kind() == "parenthesized_expression") {
        value = parent;
    }
    let parent = value.parent()?;
    // A statement of the call alone, or `name = call` with a local the function never reads.
    let (statement, local) = match parent.kind() {
        "expression_statement" => (parent, None),
        "assignment" => {
            let target = parent.field(&field::LEFT).filter(|target| target.kind() == "identifier")?;
            let statement = parent.parent().filter(|statement| statement.kind() == "expression_statement")?;
            (statement, Some(checker.text(target)))
        }
        _ => return None,
    };
    if statement.named_child_count() != 1 {
        return None;
    }
    let lines = fix_builder::own_lines(source, checker.semantic.scope(0).node, statement)?;
    let position = statement.start_byte();
    let indent = fix_builder::indentation_at(source, position);
    let (set, declaration) = background_set(checker, position)?;
    let task = local.map_or_else(|| checker.fresh_name("task", position), str::to_string);
    let keep = Edit::insertion(
        format!("\n{indent}{set}.add({task})\n{indent}{task}.add_done_callback({set}.discard)"),
        lines.end,
    );
    // Insertions at one offset land in the order given: the declaration must come before
    // `task = ` when the statement is the first after the imports.
    let mut rest: Vec<Edit> = declaration.into_iter().collect();
    if local.is_none() {
        rest.push(Edit::insertion(format!("{task} = "), position));
    }
    Some(Fix::unsafe_edits(format!("Keep a reference to the task in `{set}`"), keep, rest))
}

/// The module-level set the fix adds tasks to, as seen from `position`: `background_tasks`
/// when the module has that set (and no function around `position` uses the name otherwise
/// than as `background_tasks.attr`), else the first free name of `background_tasks`,
/// `background_tasks_2`, ..., with the edit that declares it after the imports.
fn background_set(checker: &Checker<'_, '_>, position: usize) -> Option<(String, Option<Edit>)> {
    let names = std::iter::once("background_tasks".to_string())
        .chain((2..100).map(|suffix| format!("background_tasks_{suffix}")));
    for name in names {
        if is_module_set(checker, &name) && only_attribute_uses(checker, &name, position) {
            return Some((name, None));
        }
        if checker.semantic.is_builtin_name(&name, position) {
            let declaration = set_declaration(checker, &name);
            return Some((name, Some(declaration)));
        }
    }
    None
}

/// Whether exactly one module-level statement binds `name`, to a new empty `set()`.
fn is_module_set(checker: &Checker<'_, '_>, name: &str) -> bool {
    let root = checker.semantic.scope(0).node;
    let mut cursor = root.walk();
    let assignments: Vec<Node<'_>> = root
        .named_children(&mut cursor)
        .filter(|statement| statement.kind() == "expression_statement")
        .filter_map(|statement| statement.named_child(0).filter(|child| child.kind() == "assignment"))
        .filter(|assignment| assignment.field(&field::LEFT).is_some_and(|left| checker.text(left) == name))
        .collect();
    let [assignment] = assignments.as_slice() else { return false };
    let Some(value) = assignment.field(&field::RIGHT).filter(|value| value.kind() == "call") else {
        return false;
    };
    let is_set = value
        .field(&field::FUNCTION)
        .is_some_and(|callee| checker.semantic.qualified_name(callee).as_deref() == Some("builtins.set"));
    let empty = value.field(&field::ARGUMENTS).is_some_and(|arguments| arguments.named_child_count() == 0);
    is_set && empty
}

/// Whether every mention of `name` in the functions around `position` is `name.attr` (or a
/// `global` declaration): none binds a local of that name, so it is the module's.
fn only_attribute_uses(checker: &Checker<'_, '_>, name: &str, position: usize) -> bool {
    let mut scope = Some(checker.semantic.scope_at(position));
    while let Some(id) = scope {
        let current = checker.semantic.scope(id);
        scope = current.parent;
        if !matches!(current.kind, ScopeKind::Function { .. } | ScopeKind::Lambda) {
            continue;
        }
        let uses_as_module_value = checker.semantic.references_in(current.node, name).into_iter().all(|reference| {
            reference.parent().is_some_and(|parent| {
                parent.kind() == "global_statement"
                    || parent.kind() == "attribute"
                        && parent.field(&field::OBJECT).is_some_and(|object| object.id() == reference.id())
            })
        });
        if !uses_as_module_value {
            return false;
        }
    }
    true
}

/// `name: set[asyncio.Task] = set()` after the imports (importing `asyncio` when the file
/// does not; unannotated when the name is taken or the target predates `set[...]`).
fn set_declaration(checker: &Checker<'_, '_>, name: &str) -> Edit {
    let source = checker.semantic.source();
    let root = checker.semantic.scope(0).node;
    let (position, separator) = fix_builder::after_imports(source, root);
    let modern = checker.settings.target_version >= PythonVersion { major: 3, minor: 9 };
    // The import edit goes at the same place and already starts with the separator.
    let (lead, annotation) = match checker.import_module("asyncio", position) {
        ModuleImport::Bound if modern => (separator.to_string(), ": set[asyncio.Task]"),
        ModuleImport::Missing(import) if modern => (import.content, ": set[asyncio.Task]"),
        _ => (separator.to_string(), ""),
    };
    let mut cursor = root.walk();
    let follows_code = root
        .named_children(&mut cursor)
        .any(|statement| statement.kind() != "comment" && statement.start_byte() < position);
    let declaration = format!("{name}{annotation} = set()\n");
    let content = if follows_code { format!("{lead}\n{declaration}") } else { format!("{lead}{declaration}\n") };
    Edit::insertion(content, position)
}

/// `asyncio.create_task(...)` inside `async with asyncio.TaskGroup() as tg:` (in the same
/// function) becomes `tg.create_task(...)`.
fn task_group_fix(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<Fix> {
    let function = checker.semantic.enclosing_function(call.node.start_byte());
    let mut current = call.node.parent();
    while let Some(node) = current {
        current = node.parent();
        if matches!(node.kind(), "function_definition" | "lambda" | "class_definition") {
            return None;
        }
        if node.kind() != "with_statement" || node.child(0).is_none_or(|first| first.kind() != "async") {
            continue;
        }
        let Some(group) = task_group_name(checker, node) else { continue };
        // The block must be the same function's: the name is then the group, not a shadow.
        if checker.semantic.enclosing_function(node.start_byte()) != function {
            return None;
        }
        let replacement = format!("{group}.create_task");
        return Some(Fix::safe_edit(
            format!("Replace with `{group}.create_task`"),
            Edit::replacement(replacement, TextRange::of(call.callee)),
        ));
    }
    None
}

/// The `tg` of `async with asyncio.TaskGroup() as tg:`.
fn task_group_name<'s>(checker: &Checker<'_, 's>, with_statement: Node<'_>) -> Option<&'s str> {
    let mut cursor = with_statement.walk();
    let clause = with_statement.named_children(&mut cursor).find(|child| child.kind() == "with_clause")?;
    let mut cursor = clause.walk();
    let items: Vec<Node<'_>> = clause.named_children(&mut cursor).collect();
    items.into_iter().find_map(|item| {
        let pattern = item.field(&field::VALUE).filter(|value| value.kind() == "as_pattern")?;
        let manager = pattern.named_child(0).filter(|manager| manager.kind() == "call")?;
        let callee = manager.field(&field::FUNCTION)?;
        let qualified = checker.semantic.qualified_name(callee)?;
        if !matches!(qualified.as_str(), "asyncio.TaskGroup" | "asyncio.taskgroups.TaskGroup") {
            return None;
        }
        let target = pattern.field(&field::ALIAS)?.named_child(0)?;
        (target.kind() == "identifier").then(|| checker.text(target))
    })
}

#[cfg(test)]
mod tests {
    use crate::analysis::fixer::fix_until_stable;
    use crate::analysis::settings::PythonVersion;
    use crate::analysis::{Applicability, Diagnostic, LintSettings, lint_source};
    use crate::rules::{Rule, RuleSet};

    fn settings() -> LintSettings {
        LintSettings { rules: [Rule::DanglingTask].into_iter().collect::<RuleSet>(), ..LintSettings::default() }
    }

    fn only(source: &str, settings: &LintSettings) -> Diagnostic {
        let diagnostics = lint_source(source, None, settings);
        assert_eq!(diagnostics.len(), 1, "{source}: {diagnostics:?}");
        diagnostics.into_iter().next().expect("one finding")
    }

    fn fixed(source: &str) -> Option<String> {
        only(source, &settings()).fix.map(|fix| fix.apply_to(source))
    }

    #[test]
    fn fix_all_adds_one_set_after_docstring_future_imports_and_the_import() {
        let source = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nfrom asyncio import create_task\n\n\nasync def f(g):\n    create_task(g(1))  # first\n    create_task(\n        g(2),  # second\n    )\n";
        let settings = settings();
        let fixed = fix_until_stable(source, Applicability::Unsafe, |text| lint_source(text, None, &settings));
        assert_eq!(
            fixed.text,
            "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nfrom asyncio import create_task\nimport asyncio\n\nbackground_tasks: set[asyncio.Task] = set()\n\n\nasync def f(g):\n    task = create_task(g(1))  # first\n    background_tasks.add(task)\n    task.add_done_callback(background_tasks.discard)\n    task_2 = create_task(\n        g(2),  # second\n    )\n    background_tasks.add(task_2)\n    task_2.add_done_callback(background_tasks.discard)\n"
        );
        assert!(fixed.remaining.is_empty(), "{:?}", fixed.remaining);
    }

    #[test]
    fn tabs_and_crlf_are_kept_and_an_unused_local_keeps_its_name() {
        let source = "import asyncio\r\n\r\nbackground_tasks = set()\r\n\r\nasync def f(g):\r\n\tif g:\r\n\t\tjob = asyncio.ensure_future(g())\r\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "import asyncio\r\n\r\nbackground_tasks = set()\r\n\r\nasync def f(g):\r\n\tif g:\r\n\t\tjob = asyncio.ensure_future(g())\r\n\t\tbackground_tasks.add(job)\r\n\t\tjob.add_done_callback(background_tasks.discard)\r\n"
            )
        );
    }

    #[test]
    fn a_name_taken_by_something_else_gets_a_suffix() {
        let source = "import asyncio\n\nbackground_tasks = []\n\n\nasync def f(g):\n    asyncio.create_task(g())\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "import asyncio\n\nbackground_tasks_2: set[asyncio.Task] = set()\n\nbackground_tasks = []\n\n\nasync def f(g):\n    task = asyncio.create_task(g())\n    background_tasks_2.add(task)\n    task.add_done_callback(background_tasks_2.discard)\n"
            )
        );
    }

    #[test]
    fn old_targets_get_an_unannotated_set() {
        let source = "import asyncio\n\n\ndef f(g):\n    loop = asyncio.new_event_loop()\n    loop.create_task(g())\n";
        let settings = LintSettings { target_version: PythonVersion { major: 3, minor: 8 }, ..settings() };
        let diagnostic = only(source, &settings);
        assert!(diagnostic.alternatives.is_empty(), "no await in a sync function");
        let fixed = diagnostic.fix.map(|fix| fix.apply_to(source));
        assert_eq!(
            fixed.as_deref(),
            Some(
                "import asyncio\n\nbackground_tasks = set()\n\n\ndef f(g):\n    loop = asyncio.new_event_loop()\n    task = loop.create_task(g())\n    background_tasks.add(task)\n    task.add_done_callback(background_tasks.discard)\n"
            )
        );
    }

    #[test]
    fn a_module_level_statement_right_after_the_imports_follows_the_set() {
        let source = "import asyncio\nasyncio.ensure_future(g())\n";
        assert_eq!(
            fixed(source).as_deref(),
            Some(
                "import asyncio\n\nbackground_tasks: set[asyncio.Task] = set()\ntask = asyncio.ensure_future(g())\nbackground_tasks.add(task)\ntask.add_done_callback(background_tasks.discard)\n"
            )
        );
    }

    #[test]
    fn a_statement_sharing_its_line_is_only_awaited() {
        let source = "import asyncio\n\n\nasync def f(g):\n    if g: asyncio.create_task(g())\n";
        let diagnostic = only(source, &settings());
        assert_eq!(diagnostic.fix, None);
        let awaited: Vec<String> = diagnostic.alternatives.iter().map(|fix| fix.apply_to(source)).collect();
        assert_eq!(awaited, ["import asyncio\n\n\nasync def f(g):\n    if g: await asyncio.create_task(g())\n"]);
    }
}
