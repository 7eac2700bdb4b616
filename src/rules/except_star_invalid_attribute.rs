use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Checker, ExceptHandler};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for attributes of the caught exception type used on the name bound by an
    /// `except*` handler, such as `e.errno` after `except* OSError as e`.
    ///
    /// ## Why is this bad?
    /// In an `except*` handler the name is bound to an `ExceptionGroup` holding the matching
    /// exceptions, never to one of them. Its attributes are the group's (`exceptions`,
    /// `message`, `split()`, ...): anything else raises `AttributeError` inside the handler.
    ///
    /// ## Example
    /// ```python
    /// try:
    ///     async with asyncio.TaskGroup() as tg:
    ///         tg.create_task(connect())
    /// except* OSError as group:
    ///     log.error("connect failed: %s", group.errno)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// try:
    ///     async with asyncio.TaskGroup() as tg:
    ///         tg.create_task(connect())
    /// except* OSError as group:
    ///     for error in group.exceptions:
    ///         log.error("connect failed: %s", error.errno)
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: the handler must choose how to go over the group's members.
    ///
    /// ## Known problems
    /// Dunder attributes are never flagged. Uses inside nested functions and lambdas are not
    /// checked.
    ///
    /// ## References
    /// - [PEP 654: `except*`](https://peps.python.org/pep-0654/#except)
    code: "LW907",
    name: "except-star-invalid-attribute",
    summary: "attributes of the specific exception used on the variable of an `except*` handler",
    severity: Error,
    enabled: true,
    aliases: ["ASYNC400"],
    peers: "flake8-async",
    fix: "none",
    only_in_async_functions: false,
    // Why: `except *E` may hold white space: not `except*`.
    triggers: ["except"],
}

/// What an exception group has, besides dunders.
const GROUP_ATTRIBUTES: &[&str] =
    &["exceptions", "message", "subgroup", "split", "derive", "add_note", "args", "with_traceback"];

pub(crate) fn check(checker: &mut Checker<'_, '_>, handler: &ExceptHandler<'_>) {
    let (true, Some(name)) = (handler.is_star, handler.name) else { return };
    let name = checker.text(name);
    for access in checker.semantic.nodes_in_same_scope(handler.body, &["attribute"]) {
        let (Some(object), Some(attribute)) = (access.field(&field::OBJECT), access.field(&field::ATTRIBUTE)) else {
            continue;
        };
        let attribute = checker.text(attribute);
        if object.kind() != "identifier"
            || checker.text(object) != name
            || GROUP_ATTRIBUTES.contains(&attribute)
            || (attribute.starts_with("__") && attribute.ends_with("__"))
        {
            continue;
        }
        checker.report(
            Rule::ExceptStarInvalidAttribute,
            access,
            format!("`{name}` is an `ExceptionGroup` in an `except*` handler; it has no attribute `{attribute}`"),
        );
    }
}
