use tree_sitter::Node;

use crate::analysis::Checker;
use crate::analysis::semantic::suspends;
use crate::rules::Rule;
use crate::rules::cancelled_error_swallowed::{caught_types, handler_body};

define_rule! {
    /// ## What it does
    /// Checks for `except Exception`, `except BaseException` and bare `except:` handlers whose
    /// whole body is `pass`, `...` or `continue`, in an async function whose `try` body awaits.
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
    let Some(try_body) = try_statement.child_by_field_name("body") else { return };
    if !only_silences(body) || !suspends(try_body) {
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
