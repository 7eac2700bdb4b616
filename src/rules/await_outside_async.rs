use tree_sitter::Node;

use crate::analysis::fix_builder;
use crate::analysis::semantic::ScopeKind;
use crate::analysis::source::descend_to;
use crate::analysis::{Checker, Edit, Fix};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `await`, `async for`, `async with` and async comprehensions outside an
    /// `async def`: in a plain `def`, a lambda, a class body or at module level.
    ///
    /// ## Why is this bad?
    /// It is a `SyntaxError`: the module does not even import. Only the body of an `async def`
    /// (and an async generator expression, which is a scope of its own) may suspend.
    ///
    /// ## Example
    /// ```python
    /// import asyncio
    ///
    /// def refresh(client):
    ///     await client.fetch()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def refresh(client):
    ///     await client.fetch()
    /// ```
    ///
    /// ## Fix safety
    /// The fix (make the enclosing `def` async) is unsafe: every caller must now await the
    /// function. It is offered only when the enclosing scope is a `def`, not a lambda, a class
    /// body or the module.
    ///
    /// ## Known problems
    /// An `await` or `async for` inside a generator expression is fine anywhere (since Python
    /// 3.7 it makes an async generator expression), except in the first iterable, which runs in
    /// the enclosing scope. Top-level `await` in the asyncio REPL is reported too; in a notebook
    /// (`.ipynb`) a cell's top level may await, and only a plain `def` or a lambda is reported.
    ///
    /// ## References
    /// - [Python docs: Await expression](https://docs.python.org/3/reference/expressions.html#await)
    code: "LW203",
    name: "await-outside-async",
    summary: "`await`, `async for` or `async with` outside an `async def`",
    severity: Error,
    enabled: true,
    aliases: ["PLE1142", "F704"],
    peers: "ruff, pylint, mypy",
    fix: "make the enclosing `def` async (unsafe)",
    only_in_async_functions: false,
    triggers: ["await", "async"],
}

/// `node` is an `await`, or an `async for`/`async with` statement or async comprehension clause.
pub(crate) fn check(checker: &mut Checker<'_, '_>, node: Node<'_>) {
    // The scope lookup first: it is a binary search, and in an `async def` (nearly every
    // `await`) it settles the question.
    if checker.semantic.in_async_function(node.start_byte()) {
        return;
    }
    let scope = checker.semantic.scope(checker.semantic.scope_at(node.start_byte())).node;
    if in_async_generator_expression(scope, node) {
        return;
    }
    let (reported, what) = match node.kind() {
        "await" => (node, "await"),
        "with_statement" => (node.child(0).unwrap_or(node), "async with"),
        _ => (node.child(0).unwrap_or(node), "async for"),
    };
    let function = checker.semantic.enclosing_function(node.start_byte()).map(|id| checker.semantic.scope(id));
    let definition = function.filter(|scope| matches!(scope.kind, ScopeKind::Function { .. })).map(|scope| scope.node);
    // `async def` that error recovery parsed apart is an async function as typed.
    if definition.is_some_and(|definition| {
        fix_builder::follows_async_keyword(checker.semantic.source(), definition.start_byte())
    }) {
        return;
    }
    let place = if definition.is_some() {
        "a non-async function"
    } else if function.is_some() {
        "a lambda"
    } else {
        "an async function"
    };
    let message = if definition.is_some() || function.is_some() {
        format!("`{what}` in {place}")
    } else {
        format!("`{what}` outside {place}")
    };
    let diagnostic = checker.report(Rule::AwaitOutsideAsync, reported, message);
    if let Some(definition) = definition {
        diagnostic.fix =
            Some(Fix::unsafe_edit("Make the function async", Edit::insertion("async ", definition.start_byte())));
    }
}

/// Whether `node` runs inside a generator expression (its own async scope since Python 3.7)
/// rather than in the enclosing function: anywhere in the generator but its first iterable.
/// `scope` is the node of the innermost scope that holds `node`, so no other scope boundary
/// lies between them.
fn in_async_generator_expression(scope: Node<'_>, node: Node<'_>) -> bool {
    let mut inside = false;
    descend_to(scope, node, |current, child| {
        if current.kind() == "generator_expression"
            && let Some(child) = child
        {
            let mut walk = current.walk();
            let first_clause = current.named_children(&mut walk).find(|clause| clause.kind() == "for_in_clause");
            // The first clause's iterable is evaluated outside; `async for` of that clause is not.
            let in_first_iterable =
                first_clause.is_some_and(|clause| clause.id() == child.id()) && child.id() != node.id();
            inside |= !in_first_iterable;
        }
        !inside
    });
    inside
}

#[cfg(test)]
mod tests {
    use crate::analysis::fixer::fix_until_stable;
    use crate::analysis::{Applicability, LintSettings, lint_source};
    use crate::rules::{Rule, RuleSet};

    /// Found by the fix fuzzer in half-typed code (redis-py's cluster pipeline under a
    /// decorator left with an open bracket): error recovery parses `async def __aenter__`
    /// apart, the `await` in it looked like one in a plain `def`, and every round of a fix-all
    /// made the function async again: `async async async ... def`.
    #[test]
    fn an_async_def_parsed_apart_is_not_made_async_again() {
        let source = "@pytest.mark.trio() (\n    pytestmark = [pytest.mark.asyncio, pytest.mark.slow]\n    \"\"\"\n    \
                      Create a new ClusterPipeline object.\n\n    Usage::\n\n    are split across multiple nodes, \
                      you'll get multiple results for them in the array.\n\n    Retryable errors:\n        - \
                      :class:`~.ClusterDownError`\n        - :class:`~.ConnectionError`\n        - \
                      :class:`~.AskError`\n\n    :param client:\n        | Existing :class:`~.RedisCluster` \
                      client\n    \"\"\"\n\n    __slots__ = (\"_command_stack\", \"_client\")\n\n\n        \
                      self._command_stack: List[\"PipelineCommand\"] = []\n    async def initialize(self) -> \
                      \"ClusterPipeline\":\n    async def __aenter__(self) -> \"ClusterPipeline\":\n        return \
                      await self.initialize()\n    async def execute(\n";
        let settings = LintSettings {
            rules: [Rule::AwaitOutsideAsync].into_iter().collect::<RuleSet>(),
            ..LintSettings::default()
        };
        let fixed = fix_until_stable(source, Applicability::Unsafe, |text| lint_source(text, None, &settings));
        assert!(!fixed.text.contains("async async"), "{}", fixed.text);
        assert_eq!(fixed.applied, 0, "{}", fixed.text);
    }
}
