use tree_sitter::Node;

use crate::analysis::Checker;
use crate::analysis::source::{NodeFields, field};
use crate::rules::Rule;
use crate::rules::pytest_raises_exception_group::exception_group_name;

define_rule! {
    /// ## What it does
    /// Checks for subclasses of `ExceptionGroup` or `BaseExceptionGroup` that do not override
    /// `derive()`.
    ///
    /// ## Why is this bad?
    /// `except*`, `split()` and `subgroup()` build new groups through `derive()`. The inherited
    /// one returns a plain `ExceptionGroup`, so the handlers of an `except*` see groups of the
    /// base class: the subclass, its attributes and its methods are gone.
    ///
    /// ## Example
    /// ```python
    /// class RequestErrors(ExceptionGroup):
    ///     def __new__(cls, message, errors, request):
    ///         group = super().__new__(cls, message, errors)
    ///         group.request = request
    ///         return group
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// class RequestErrors(ExceptionGroup):
    ///     def __new__(cls, message, errors, request):
    ///         group = super().__new__(cls, message, errors)
    ///         group.request = request
    ///         return group
    ///
    ///     def derive(self, errors):
    ///         return RequestErrors(self.message, errors, self.request)
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: `derive()` must pass the subclass's own state along.
    ///
    /// ## Known problems
    /// A `derive` inherited from another subclass defined elsewhere is not seen; the class is
    /// flagged only when it names `ExceptionGroup`/`BaseExceptionGroup` as a base directly.
    ///
    /// ## References
    /// - [Python docs: `BaseExceptionGroup.derive`](https://docs.python.org/3/library/exceptions.html#BaseExceptionGroup.derive)
    code: "LW906",
    name: "exception-group-subclass-without-derive",
    summary: "a subclass of `ExceptionGroup`/`BaseExceptionGroup` that does not override `derive()`",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC126"],
    peers: "flake8-async",
    fix: "none",
    only_in_async_functions: false,
    // Why: `ExceptionGroup` covers `BaseExceptionGroup`.
    triggers: ["ExceptionGroup"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, class: Node<'_>) {
    let (Some(name), Some(bases), Some(body)) =
        (class.field(&field::NAME), class.field(&field::SUPERCLASSES), class.field(&field::BODY))
    else {
        return;
    };
    let mut cursor = bases.walk();
    let group = bases
        .named_children(&mut cursor)
        .filter(|base| base.kind() != "keyword_argument")
        .map(|base| {
            // `ExceptionGroup[ValueError]` names the class too.
            if base.kind() == "subscript" { base.field(&field::VALUE).unwrap_or(base) } else { base }
        })
        .find_map(|base| checker.semantic.qualified_name(base).as_deref().and_then(exception_group_name));
    let Some(group) = group else { return };
    if defines_derive(checker, body) {
        return;
    }
    checker.report(
        Rule::ExceptionGroupSubclassWithoutDerive,
        name,
        format!("Subclass of `{group}` does not override `derive()`"),
    );
}

/// A `def derive` or a `derive = ...` directly in the class body.
fn defines_derive(checker: &Checker<'_, '_>, body: Node<'_>) -> bool {
    let mut cursor = body.walk();
    body.named_children(&mut cursor).any(|statement| {
        let statement = match statement.kind() {
            "decorated_definition" => statement.field(&field::DEFINITION).unwrap_or(statement),
            "expression_statement" => statement.named_child(0).unwrap_or(statement),
            _ => statement,
        };
        let name = match statement.kind() {
            "function_definition" => statement.field(&field::NAME),
            "assignment" => statement.field(&field::LEFT),
            _ => None,
        };
        name.is_some_and(|name| checker.text(name) == "derive")
    })
}
