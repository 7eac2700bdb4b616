use tree_sitter::Node;

use crate::analysis::source::{NodeFields, field};
use crate::analysis::{AsyncLibrary, Checker, PythonVersion};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `async def`s with a `timeout` parameter that the function does not forward
    /// to another call, when the target is Python 3.11 or newer.
    ///
    /// ## Why is this bad?
    /// Callers can bound any coroutine with `async with asyncio.timeout(...)`, and nested
    /// timeouts compose. A hand-made `timeout` parameter is one more mechanism, often applied
    /// to only part of the work, and easy to get subtly wrong.
    ///
    /// ## Example
    /// ```python
    /// async def fetch(url, timeout=10):
    ///     deadline = loop.time() + timeout
    ///     ...
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def fetch(url):
    ///     ...
    ///
    /// async with asyncio.timeout(10):
    ///     await fetch(url)
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: removing a parameter changes the function's interface.
    ///
    /// ## Known problems
    /// Unlike ruff's and flake8-async's ASYNC109, a `timeout` that is passed on to a call
    /// (`asyncio.timeout(timeout)`, `wait_for(x, timeout)`, `session.get(url, timeout=timeout)`),
    /// directly or through a local computed from it (`t = timeout or default`), is not reported: such a function merely forwards a library's own parameter. Stubs
    /// (a body of `...`, `pass`, a docstring or `raise NotImplementedError`) are not reported
    /// either, since they only declare an interface. Off by default: it is a matter of style.
    /// In a trio or anyio module (one that imports `trio` or `anyio` and not `asyncio`) the
    /// message points callers to `trio.fail_after()` or `anyio.fail_after()`, and the check
    /// does not depend on the target version.
    ///
    /// ## References
    /// - [Python docs: `asyncio.timeout`](https://docs.python.org/3/library/asyncio-task.html#asyncio.timeout)
    code: "LW404",
    name: "timeout-parameter",
    summary: "`async def` with a `timeout` parameter it does not forward (target 3.11+)",
    severity: Info,
    enabled: false,
    aliases: ["ASYNC109"],
    peers: "ruff, flake8-async",
    fix: "none",
    only_in_async_functions: false,
    // Why: the parameter's name.
    triggers: ["timeout"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, function: Node<'_>) {
    // `asyncio.timeout` is new in Python 3.11; trio's and anyio's scopes are older.
    if checker.async_library() == AsyncLibrary::Asyncio && checker.settings.target_version < PythonVersion::PY311 {
        return;
    }
    if function.child(0).is_none_or(|first| first.kind() != "async") {
        return;
    }
    let (Some(parameters), Some(body)) = (function.field(&field::PARAMETERS), function.field(&field::BODY)) else {
        return;
    };
    let mut cursor = parameters.walk();
    let Some(parameter) = parameters
        .named_children(&mut cursor)
        .find(|parameter| parameter_name(*parameter).is_some_and(|name| checker.text(name) == "timeout"))
    else {
        return;
    };
    if is_stub(checker, body) || is_forwarded(checker, body) {
        return;
    }
    checker.report(
        Rule::TimeoutParameter,
        parameter,
        format!(
            "Async function takes a `timeout` parameter instead of letting callers use `{}`",
            checker.async_library().timeout_scope()
        ),
    );
}

fn parameter_name(parameter: Node<'_>) -> Option<Node<'_>> {
    match parameter.kind() {
        "identifier" => Some(parameter),
        "typed_parameter" => parameter.named_child(0).filter(|name| name.kind() == "identifier"),
        "default_parameter" | "typed_default_parameter" => parameter.field(&field::NAME),
        _ => None,
    }
}

/// A use of `timeout`, or of a local computed from it (`read_timeout = timeout or default`),
/// inside the arguments of any call of the body (nested functions too).
fn is_forwarded(checker: &Checker<'_, '_>, body: Node<'_>) -> bool {
    let mut identifiers = Vec::new();
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.kind() == "identifier" {
            identifiers.push(node);
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    let mut carriers = vec!["timeout"];
    // Each round adds the locals assigned from a carrier; a few rounds cover real chains.
    for _ in 0..3 {
        let before = carriers.len();
        for identifier in &identifiers {
            if !carriers.contains(&checker.text(*identifier)) {
                continue;
            }
            if let Some(local) = assigned_local(*identifier, body) {
                let name = checker.text(local);
                if !carriers.contains(&name) {
                    carriers.push(name);
                }
            }
        }
        if carriers.len() == before {
            break;
        }
    }
    identifiers
        .iter()
        .any(|identifier| carriers.contains(&checker.text(*identifier)) && in_call_arguments(*identifier, body))
}

/// For a name inside the value of `local = ...`, the name `local`.
fn assigned_local<'t>(identifier: Node<'t>, body: Node<'t>) -> Option<Node<'t>> {
    let mut child = identifier;
    let mut current = identifier.parent();
    while let Some(node) = current {
        if node.id() == body.id() || node.kind().ends_with("_statement") && node.kind() != "expression_statement" {
            return None;
        }
        if node.kind() == "assignment" {
            if node.field(&field::RIGHT) != Some(child) {
                return None;
            }
            return node.field(&field::LEFT).filter(|left| left.kind() == "identifier");
        }
        child = node;
        current = node.parent();
    }
    None
}

fn in_call_arguments(identifier: Node<'_>, body: Node<'_>) -> bool {
    let mut current = identifier.parent();
    while let Some(node) = current {
        if node.id() == body.id() {
            return false;
        }
        match node.kind() {
            // `f(timeout=...)`: the keyword's name is not a use of the parameter.
            "keyword_argument" if node.field(&field::NAME) == Some(identifier) => return false,
            "argument_list" => return true,
            _ => {}
        }
        current = node.parent();
    }
    false
}

/// A body that only declares an interface: `...`, `pass`, a docstring, `raise NotImplementedError`.
fn is_stub(checker: &Checker<'_, '_>, body: Node<'_>) -> bool {
    let mut cursor = body.walk();
    body.named_children(&mut cursor).filter(|statement| statement.kind() != "comment").all(|statement| match statement
        .kind()
    {
        "pass_statement" => true,
        "expression_statement" => {
            statement.named_child(0).is_some_and(|value| matches!(value.kind(), "ellipsis" | "string"))
        }
        "raise_statement" => checker.text(statement).contains("NotImplementedError"),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, PythonVersion, lint_source};
    use crate::rules::Rule;

    #[test]
    fn quiet_below_python_3_11() {
        let source = "async def f(timeout):\n    return timeout\n";
        let settings = |minor| LintSettings {
            target_version: PythonVersion { major: 3, minor },
            rules: [Rule::TimeoutParameter].into_iter().collect(),
            ..LintSettings::default()
        };
        assert!(lint_source(source, None, &settings(10)).is_empty());
        assert_eq!(lint_source(source, None, &settings(11)).len(), 1);
    }
}
