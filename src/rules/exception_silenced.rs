use tree_sitter::Node;

use crate::analysis::Checker;
use crate::analysis::semantic::suspends;
use crate::analysis::source::{NodeFields, field};
use crate::rules::cancelled_error_swallowed::{caught_types, handler_body};
use crate::rules::{Rule, broad_except_swallows_cancellation};

define_rule! {
    /// ## What it does
    /// Checks for `except Exception`, `except BaseException` and bare `except:` handlers whose
    /// whole body is `pass`, `...` or `continue`, in an async function whose `try` body awaits,
    /// unless the code that runs after the `try` raises anyway.
    ///
    /// ## Why is this bad?
    /// Every failure of the awaited operation (a refused connection, a bug, a timeout)
    /// disappears without a trace, and the code after the `try` runs as if it had succeeded.
    /// In asynchronous code, where the failing task is often far from anyone watching, this
    /// turns errors into silent hangs or missing data.
    ///
    /// ## Example
    /// ```python
    /// async def refresh(client):
    ///     try:
    ///         await client.refresh()
    ///     except Exception:
    ///         pass
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def refresh(client):
    ///     try:
    ///         await client.refresh()
    ///     except ConnectionError:
    ///         log.warning("refresh failed, keeping the old data")
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: which exceptions to expect, and what to do with them, is a decision.
    ///
    /// ## Known problems
    /// Only the three broad spellings are reported; `except (Exception, X)` is not. Awaits in
    /// nested functions do not count.
    ///
    /// Not reported: a handler after which the path raises, as LW301 (cancelled-error-swallowed)
    /// describes it, such as a cleanup in an outer handler that re-raises (`try: await
    /// conn.close()` / `except Exception: pass` then `raise`): the error is given up on
    /// purpose while another one propagates, and the code after the `try` does not run as if
    /// it had succeeded. A `raise` reached only after an `await` does not count.
    ///
    /// When LW302 (broad-except-swallows-cancellation) is enabled, this rule leaves it the bare
    /// and `BaseException` handlers it reports (their cancellation warning says more), so one
    /// handler gets one finding; it still reports those LW302 does not, such as a broad handler
    /// after one that re-raises `CancelledError`. A `# noqa: LW302` on such a handler silences
    /// both.
    ///
    /// ## References
    /// - [Python docs: handling exceptions](https://docs.python.org/3/tutorial/errors.html#handling-exceptions)
    code: "LW303",
    name: "exception-silenced",
    summary: "`except Exception: pass` (or `...`, `continue`) around an `await`",
    severity: Info,
    enabled: true,
    aliases: ["S110", "BLE001"],
    peers: "ruff (generic)",
    fix: "none",
    only_in_async_functions: true,
    // Why: the same as LW302's, to which this rule defers: dropping one drops both.
    triggers: ["except"],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, clause: Node<'_>) {
    let types = caught_types(clause);
    let (reported, spelled) = match types.as_slice() {
        [] => {
            let Some(keyword) = clause.child(0) else { return };
            (keyword, "except:")
        }
        [only] => match checker.semantic.qualified_name(*only).as_deref() {
            Some("builtins.Exception") => (*only, "except Exception"),
            Some("builtins.BaseException") => (*only, "except BaseException"),
            _ => return,
        },
        _ => return,
    };
    let (Some(body), Some(try_statement)) = (handler_body(clause), clause.parent()) else { return };
    let Some(try_body) = try_statement.field(&field::BODY) else { return };
    if !only_silences(body) || !suspends(try_body) || !checker.semantic.handler_may_complete_without_raising(clause) {
        return;
    }
    // LW302 reports the bare and `BaseException` handlers that can swallow the cancellation.
    if checker.enabled(Rule::BroadExceptSwallowsCancellation)
        && broad_except_swallows_cancellation::swallows_cancellation(checker, clause).is_some()
    {
        return;
    }
    checker.report(
        Rule::ExceptionSilenced,
        reported,
        format!("`{spelled}` around an `await` silences every error without a trace"),
    );
}

/// A body of only `pass`, `...` and `continue`.
fn only_silences(body: Node<'_>) -> bool {
    let mut cursor = body.walk();
    body.named_children(&mut cursor).filter(|statement| statement.kind() != "comment").all(|statement| match statement
        .kind()
    {
        "pass_statement" | "continue_statement" => true,
        "expression_statement" => {
            statement.named_child_count() == 1
                && statement.named_child(0).is_some_and(|value| value.kind() == "ellipsis")
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use crate::analysis::{LintSettings, lint_source};
    use crate::rules::{Rule, RuleSet};

    fn findings(source: &str, rules: &[Rule]) -> Vec<(Rule, usize)> {
        let rules = rules.iter().copied().collect::<RuleSet>();
        lint_source(source, None, &LintSettings { rules, ..LintSettings::default() })
            .into_iter()
            .map(|diagnostic| (diagnostic.rule, source[..diagnostic.range.start].matches('\n').count() + 1))
            .collect()
    }

    #[test]
    fn handlers_that_lw302_reports_are_left_to_it() {
        let source = "import asyncio\n\nasync def f(c):\n    try:\n        await c.run()\n    except BaseException:\n        pass\n    try:\n        await c.run()\n    except:\n        pass\n    try:\n        await c.run()\n    except Exception:\n        pass\n    try:\n        await c.run()\n    except asyncio.CancelledError:\n        raise\n    except BaseException:\n        pass\n";
        let both = [Rule::BroadExceptSwallowsCancellation, Rule::ExceptionSilenced];
        assert_eq!(
            findings(source, &both),
            [
                (Rule::BroadExceptSwallowsCancellation, 6),
                (Rule::BroadExceptSwallowsCancellation, 10),
                (Rule::ExceptionSilenced, 14),
                // LW302 is quiet: an earlier handler re-raises the cancellation.
                (Rule::ExceptionSilenced, 20),
            ]
        );
        assert_eq!(
            findings(source, &[Rule::ExceptionSilenced]),
            [
                (Rule::ExceptionSilenced, 6),
                (Rule::ExceptionSilenced, 10),
                (Rule::ExceptionSilenced, 14),
                (Rule::ExceptionSilenced, 20)
            ]
        );
    }
}
