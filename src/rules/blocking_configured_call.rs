use crate::analysis::{Call, Checker};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for calls, in an async function, to the functions listed in the `blocking-calls`
    /// setting: a project's own blocking helpers, or those of a library loopwise does not know.
    ///
    /// ## Why is this bad?
    /// A call that blocks stops the event loop, whoever wrote it. Listing it once makes every
    /// use in async code visible.
    ///
    /// ## Example
    /// ```toml
    /// [tool.loopwise.blocking-calls]
    /// "legacy.client.fetch" = "use `legacy.aclient.fetch`"
    /// ```
    /// ```python
    /// from legacy.client import fetch
    ///
    /// async def handler():
    ///     return fetch("/items")
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// from legacy.aclient import fetch
    ///
    /// async def handler():
    ///     return await fetch("/items")
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix.
    ///
    /// ## Known problems
    /// Names are matched after import resolution, so list the qualified name where the
    /// function is defined or re-exported (`legacy.client.fetch`), as the file imports it.
    ///
    /// ## References
    /// - [flake8-async ASYNC200](https://flake8-async.readthedocs.io/en/latest/rules.html)
    code: "LW108",
    name: "blocking-configured-call",
    summary: "calls listed in the `blocking-calls` setting, in an async function",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC200"],
    peers: "flake8-async",
    fix: "none",
    only_in_async_functions: true,
    // Why: the configured names' last parts, at run time (`analysis::prefilter`); none
    // configured: never runs.
    triggers: [],
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if checker.settings.blocking_calls.is_empty() {
        return;
    }
    let Some(qualified) = call.qualified_name.as_deref() else { return };
    let Some(suggestion) = checker.settings.blocking_calls.get(qualified) else { return };
    let place = checker.semantic.async_place(call.node.start_byte());
    let message = match suggestion {
        Some(suggestion) => format!("Blocking call to `{qualified}` {place}: {suggestion}"),
        None => format!("Blocking call to `{qualified}` {place}"),
    };
    checker.report(Rule::BlockingConfiguredCall, call.node, message);
}
