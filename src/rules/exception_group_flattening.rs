use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, ExceptHandler};
use crate::rules::Rule;
use crate::rules::pytest_raises_exception_group::exception_group_name;

define_rule! {
    /// ## What it does
    /// Checks for `raise e.exceptions[...]` where `e` is a caught exception group: the name
    /// bound by an `except*` handler, or by `except ExceptionGroup as e` /
    /// `except BaseExceptionGroup as e`.
    ///
    /// Not reported when the handler counts the group's members (`len(e.exceptions)`): code
    /// that raises the only member of a one-exception group loses nothing.
    ///
    /// ## Why is this bad?
    /// Raising a member of the group on its own drops the group: the other exceptions, the
    /// group's traceback (where the tasks were awaited) and its notes are lost, and the
    /// member's `__context__` is overwritten with the group. When the group holds more than one
    /// error, all but one disappear silently.
    ///
    /// ## Example
    /// ```python
    /// try:
    ///     async with asyncio.TaskGroup() as tg:
    ///         tg.create_task(fetch())
    /// except* OSError as group:
    ///     raise group.exceptions[0]
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// try:
    ///     async with asyncio.TaskGroup() as tg:
    ///         tg.create_task(fetch())
    /// except* OSError as group:
    ///     raise FetchError("fetch failed") from group
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: what to raise instead is the author's choice.
    ///
    /// ## Known problems
    /// `raise e.exceptions[...]` and a member first assigned to a name in the handler
    /// (`first = e.exceptions[0]; raise first`) are flagged; members reached through a loop
    /// (`for error in e.exceptions: raise error`) are not.
    ///
    /// ## References
    /// - [Python docs: `BaseExceptionGroup.exceptions`](https://docs.python.org/3/library/exceptions.html#BaseExceptionGroup.exceptions)
    code: "LW905",
    name: "exception-group-flattening",
    summary: "`raise e.exceptions[0]` of a caught exception group",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC123"],
    peers: "flake8-async",
    fix: "none",
    only_in_async_functions: false,
    // Why: a raised member is `name.exceptions[...]`.
    triggers: ["exceptions"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, handler: &ExceptHandler<'_>) {
    let Some(name) = handler.name else { return };
    let catches_group = handler.is_star
        || handler
            .types
            .iter()
            .any(|caught| checker.semantic.qualified_name(*caught).as_deref().and_then(exception_group_name).is_some());
    if !catches_group {
        return;
    }
    let name = checker.text(name);
    // `if len(e.exceptions) != 1: raise` first: the group holds one member, and raising it
    // loses nothing but the group's own traceback frame, which is what such code means to drop.
    let counts_members = checker.semantic.nodes_in_same_scope(handler.body, &["call"]).into_iter().any(|call| {
        call.field(&field::FUNCTION).is_some_and(|callee| checker.text(callee) == "len")
            && call.field(&field::ARGUMENTS).is_some_and(|arguments| {
                arguments.named_child(0).is_some_and(|argument| checker.text(argument) == format!("{name}.exceptions"))
            })
    });
    if counts_members {
        return;
    }
    for raise in checker.semantic.nodes_in_same_scope(handler.body, &["raise_statement"]) {
        let Some(raised) = raise.named_child(0) else { continue };
        // `raise e.exceptions[0]`, or `first = e.exceptions[0]` then `raise first`.
        let member = match raised.kind() {
            "identifier" => checker.semantic.assigned_value(raised).filter(|value| {
                handler.body.start_byte() <= value.start_byte() && value.end_byte() <= handler.body.end_byte()
            }),
            _ => Some(raised),
        };
        if member.is_some_and(|member| is_member_of(checker, member, name)) {
            checker.report(
                Rule::ExceptionGroupFlattening,
                raised,
                format!("Raising a member of `{name}` loses the group's other exceptions and its traceback"),
            );
        }
    }
}

/// `group.exceptions[...]`.
fn is_member_of(checker: &Checker<'_, '_>, node: Node<'_>, group: &str) -> bool {
    let Some(members) =
        node.field(&field::VALUE).filter(|value| node.kind() == "subscript" && value.kind() == "attribute")
    else {
        return false;
    };
    let (Some(object), Some(attribute)) = (members.field(&field::OBJECT), members.field(&field::ATTRIBUTE)) else {
        return false;
    };
    object.kind() == "identifier" && checker.text(object) == group && checker.text(attribute) == "exceptions"
}
