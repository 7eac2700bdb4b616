//! The rule registry: one file per rule (its docs, metadata and check), the `Rule` enum that
//! names them, rule sets, and the parsing of selectors (codes, prefixes and aliases).
//!
//! Rules see the source only through [`crate::analysis::Checker`]; they never walk the tree on
//! their own and never read files, settings files or anything of the LSP.

#[macro_use]
mod registry_macro;

pub mod async_test_without_runner;
pub mod async_without_await;
pub mod asyncio_mark_on_fixture;
pub mod asyncio_mark_on_sync_test;
pub mod await_in_except_handler;
pub mod await_outside_async;
pub mod blocking_configured_call;
pub mod blocking_db_client;
pub mod blocking_file_io;
pub mod blocking_helper_call;
pub mod blocking_input;
pub mod blocking_network_call;
pub mod blocking_sleep;
pub mod blocking_subprocess;
pub mod blocking_thread_sync;
pub mod broad_except_swallows_cancellation;
pub mod busy_wait;
pub mod cancelled_error_swallowed;
pub mod context_value_escapes_taskgroup;
pub mod contextmanager_on_async_function;
pub mod control_flow_in_taskgroup;
pub mod dangling_task;
pub mod deprecated_asyncio_api;
pub mod ensure_future_on_coroutine;
pub mod except_star_invalid_attribute;
pub mod exception_group_flattening;
pub mod exception_group_subclass_without_derive;
pub mod exception_silenced;
pub mod gather_exceptions_unchecked;
pub mod gather_instead_of_taskgroup;
pub mod get_event_loop_in_coroutine;
pub mod invalid_syntax;
pub mod manual_event_loop;
pub mod missing_async_keyword;
pub mod missing_timeout;
pub mod nested_event_loop;
pub mod per_call_semaphore;
pub mod pytest_raises_exception_group;
pub(crate) mod pytest_support;
pub mod run_in_executor_default_pool;
pub mod single_task_taskgroup;
pub mod timeout_error_alias;
pub mod timeout_parameter;
pub mod timeout_without_await;
pub(crate) mod to_thread_fix;
pub mod unawaited_coroutine;
pub mod unbounded_queue;
pub mod unbounded_task_spawn;
pub mod unmanaged_client_session;
pub mod unsafe_async_generator;
pub mod wait_for_instead_of_timeout;
pub mod yield_from_in_async_function;
pub mod yield_in_taskgroup_or_timeout;

use std::fmt;

use crate::analysis::Severity;

/// Everything about a rule that is not its check: the catalog row and the documentation.
#[derive(Debug)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    /// One line: what the rule catches.
    pub summary: &'static str,
    pub default_severity: Severity,
    pub enabled_by_default: bool,
    /// Codes other tools use for the same problem; `# noqa` and `select` accept them.
    pub aliases: &'static [&'static str],
    /// Who else catches it today.
    pub peers: &'static str,
    /// What the fix does, or "none".
    pub fix: &'static str,
    /// The rule can only report inside an `async def`: a file without one is skipped unparsed
    /// and the shared query runs only over async function bodies when all enabled rules are so.
    pub only_in_async_functions: bool,
    /// The rule can only report in a text holding one of these strings (empty: no such limit),
    /// so it is not run on, and a file no rule is left for is not parsed, a text with none of
    /// them (`analysis::prefilter`). Each must be sound: every name a rule matches is resolved
    /// through the file's imports, so a trigger is a part of the qualified name that the text
    /// must spell whatever the aliases (`sleep` for `time.sleep`: `from time import sleep as
    /// s` still spells it), a keyword, or a method name; never an alias.
    pub triggers: &'static [&'static str],
    /// The rule's doc comment as written (each line keeps the space after `///`); use
    /// [`RuleMeta::documentation`].
    pub docs: &'static str,
}

impl RuleMeta {
    /// Markdown with the fixed sections of the rule's doc comment.
    pub fn documentation(&self) -> String {
        let mut text = String::with_capacity(self.docs.len());
        for line in self.docs.lines() {
            text.push_str(line.strip_prefix(' ').unwrap_or(line));
            text.push('\n');
        }
        text
    }

    /// The full explanation of a rule: a heading with the code and name, the catalog facts
    /// (default, fix, aliases, peers) and the documentation. The one text behind the hover,
    /// `loopwise rule` and `docs/rules.md`.
    pub fn explanation(&self) -> String {
        let aliases = if self.aliases.is_empty() { "none".to_string() } else { self.aliases.join(", ") };
        let default = if self.enabled_by_default {
            self.default_severity.as_str().to_string()
        } else {
            format!("off ({})", self.default_severity.as_str())
        };
        let tests = if ignored_in_tests_by_default(self.code) {
            " Not run on test code by default (`test-ignore`): there it flags what harms a running service, not the test."
        } else {
            ""
        };
        format!(
            "# {} ({})\n\nDefault: {default}. Fix: {}. Aliases: {aliases}. Also caught by: {}.{tests}\n\n{}",
            self.name,
            self.code,
            self.fix,
            self.peers,
            self.documentation()
        )
    }
}

/// Rules whose harm is to a running service, not to a test: blocking the loop, dangling tasks,
/// cancellation and errors, timeouts, API modernisations, client sessions, concurrency limits,
/// and `pytest.raises(ExceptionGroup)`. Measured on the precision corpus (`benches/precision`,
/// 18 projects with their tests): of 285 judged findings in test code, 9 were real and 197
/// noise (an async test reading its fixture file, joining its server thread, polling, a
/// best-effort cleanup). Rules that say the test itself is wrong stay on: an unawaited
/// coroutine (the test checks nothing), `await` outside async, a missing `async` keyword, the
/// pytest rules (LW801–LW803), task groups and exception-group mistakes, and deprecated asyncio
/// APIs (LW507: they warn in every test and break on a newer Python). LW503 (a hand-made loop)
/// stays on too: in tests it was 3 true, 0 false and 16 noise, and one of the true findings (a
/// runner decorator that never closes its loops) is worth keeping at `info`.
pub const DEFAULT_TEST_IGNORE: &[&str] =
    &["LW1", "LW202", "LW3", "LW4", "LW501", "LW502", "LW504", "LW505", "LW506", "LW601", "LW7", "LW909"];

/// Whether a rule is among [`DEFAULT_TEST_IGNORE`] (its entries are code prefixes).
pub fn ignored_in_tests_by_default(code: &str) -> bool {
    DEFAULT_TEST_IGNORE.iter().any(|prefix| code.starts_with(prefix))
}

macro_rules! rules {
    ($($variant:ident => $module:ident),* $(,)?; pseudo: $($pseudo:ident => $pseudo_module:ident),* $(,)?) => {
        /// Every rule loopwise knows, in code order, then the pseudo-rules: findings that no
        /// rule makes and no setting selects (syntax errors), outside [`Rule::ALL`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $($variant,)*
            $($pseudo,)*
        }

        impl Rule {
            /// The rules: what selectors, the catalog and the documentation know.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];
            /// The pseudo-rules: a cache or a client may hand back their codes.
            pub const PSEUDO: &'static [Rule] = &[$(Rule::$pseudo),*];

            pub fn meta(self) -> &'static RuleMeta {
                match self {
                    $(Rule::$variant => &$module::META,)*
                    $(Rule::$pseudo => &$pseudo_module::META,)*
                }
            }
        }
    };
}

rules! {
    BlockingSleep => blocking_sleep,
    BlockingNetworkCall => blocking_network_call,
    BlockingSubprocess => blocking_subprocess,
    BlockingFileIo => blocking_file_io,
    BlockingInput => blocking_input,
    BlockingDbClient => blocking_db_client,
    BlockingThreadSync => blocking_thread_sync,
    BlockingConfiguredCall => blocking_configured_call,
    BlockingHelperCall => blocking_helper_call,
    UnawaitedCoroutine => unawaited_coroutine,
    DanglingTask => dangling_task,
    AwaitOutsideAsync => await_outside_async,
    NestedEventLoop => nested_event_loop,
    AsyncWithoutAwait => async_without_await,
    YieldFromInAsyncFunction => yield_from_in_async_function,
    CancelledErrorSwallowed => cancelled_error_swallowed,
    BroadExceptSwallowsCancellation => broad_except_swallows_cancellation,
    ExceptionSilenced => exception_silenced,
    GatherExceptionsUnchecked => gather_exceptions_unchecked,
    MissingTimeout => missing_timeout,
    WaitForInsteadOfTimeout => wait_for_instead_of_timeout,
    TimeoutErrorAlias => timeout_error_alias,
    TimeoutParameter => timeout_parameter,
    TimeoutWithoutAwait => timeout_without_await,
    GatherInsteadOfTaskgroup => gather_instead_of_taskgroup,
    GetEventLoopInCoroutine => get_event_loop_in_coroutine,
    ManualEventLoop => manual_event_loop,
    RunInExecutorDefaultPool => run_in_executor_default_pool,
    BusyWait => busy_wait,
    EnsureFutureOnCoroutine => ensure_future_on_coroutine,
    DeprecatedAsyncioApi => deprecated_asyncio_api,
    UnmanagedClientSession => unmanaged_client_session,
    MissingAsyncKeyword => missing_async_keyword,
    YieldInTaskgroupOrTimeout => yield_in_taskgroup_or_timeout,
    ContextmanagerOnAsyncFunction => contextmanager_on_async_function,
    UnboundedTaskSpawn => unbounded_task_spawn,
    PerCallSemaphore => per_call_semaphore,
    UnboundedQueue => unbounded_queue,
    AsyncTestWithoutRunner => async_test_without_runner,
    AsyncioMarkOnSyncTest => asyncio_mark_on_sync_test,
    AsyncioMarkOnFixture => asyncio_mark_on_fixture,
    SingleTaskTaskgroup => single_task_taskgroup,
    ContextValueEscapesTaskgroup => context_value_escapes_taskgroup,
    ControlFlowInTaskgroup => control_flow_in_taskgroup,
    AwaitInExceptHandler => await_in_except_handler,
    ExceptionGroupFlattening => exception_group_flattening,
    ExceptionGroupSubclassWithoutDerive => exception_group_subclass_without_derive,
    ExceptStarInvalidAttribute => except_star_invalid_attribute,
    UnsafeAsyncGenerator => unsafe_async_generator,
    PytestRaisesExceptionGroup => pytest_raises_exception_group;
    pseudo:
    InvalidSyntax => invalid_syntax,
}

impl Rule {
    pub fn code(self) -> &'static str {
        self.meta().code
    }

    pub fn name(self) -> &'static str {
        self.meta().name
    }

    /// The rule with this code, kebab-case name or alias (aliases may name several rules; the
    /// first in code order is returned).
    pub fn from_code(code: &str) -> Option<Rule> {
        let code = code.trim();
        Rule::ALL.iter().copied().find(|rule| {
            let meta = rule.meta();
            meta.code.eq_ignore_ascii_case(code) || meta.name == code
        })
    }

    /// Whether `code` (a loopwise code or an alias) names this rule exactly.
    pub fn is_named_by(self, code: &str) -> bool {
        let meta = self.meta();
        meta.code.eq_ignore_ascii_case(code) || meta.aliases.iter().any(|alias| alias.eq_ignore_ascii_case(code))
    }

    /// The rule or pseudo-rule with exactly this code, as loopwise wrote it (a cache entry).
    pub fn from_written_code(code: &str) -> Option<Rule> {
        Rule::ALL.iter().chain(Rule::PSEUDO).copied().find(|rule| rule.code() == code)
    }

    /// Whether this is a pseudo-rule (see [`Rule::PSEUDO`]).
    pub fn is_pseudo(self) -> bool {
        Rule::PSEUDO.contains(&self)
    }

    /// Whether the rule is one of the blocking-call rules (LW101–LW108), whose calls make a
    /// helper block for LW109.
    pub fn reports_blocking_calls(self) -> bool {
        matches!(
            self,
            Rule::BlockingSleep
                | Rule::BlockingNetworkCall
                | Rule::BlockingSubprocess
                | Rule::BlockingFileIo
                | Rule::BlockingInput
                | Rule::BlockingDbClient
                | Rule::BlockingThreadSync
                | Rule::BlockingConfiguredCall
        )
    }

    /// Whether every finding of the rule is a deprecated API (editors show it struck through).
    pub fn reports_deprecations(self) -> bool {
        matches!(self, Rule::DeprecatedAsyncioApi)
    }

    /// A link to this rule's section of `docs/rules.md` in the repository that the package
    /// metadata names, for output formats that carry one. `None` while `Cargo.toml` names no
    /// repository: a link must never lead to a page that does not exist.
    pub fn url(self) -> Option<String> {
        let repository = option_env!("CARGO_PKG_REPOSITORY").filter(|repository| !repository.is_empty())?;
        // GitHub's anchor for the heading `## blocking-sleep (LW101)`.
        Some(format!(
            "{}/blob/main/docs/rules.md#{}-{}",
            repository.trim_end_matches('/'),
            self.name(),
            self.code().to_ascii_lowercase()
        ))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A set of rules, as a bit set indexed by the `Rule` discriminant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct RuleSet(u128);

impl RuleSet {
    pub const EMPTY: RuleSet = RuleSet(0);

    /// The set as bits, one per rule (for hashing it into a cache key).
    pub const fn bits(self) -> u128 {
        self.0
    }

    pub fn all() -> Self {
        Rule::ALL.iter().copied().collect()
    }

    pub fn defaults() -> Self {
        Rule::ALL.iter().copied().filter(|rule| rule.meta().enabled_by_default).collect()
    }

    pub fn contains(self, rule: Rule) -> bool {
        self.0 & (1 << rule as u32) != 0
    }

    pub fn insert(&mut self, rule: Rule) {
        self.0 |= 1 << rule as u32;
    }

    #[must_use]
    pub fn union(self, other: RuleSet) -> RuleSet {
        RuleSet(self.0 | other.0)
    }

    #[must_use]
    pub fn subtract(self, other: RuleSet) -> RuleSet {
        RuleSet(self.0 & !other.0)
    }

    /// Whether every rule of the set reports only inside async functions.
    pub fn only_in_async_functions(self) -> bool {
        self.iter().all(|rule| rule.meta().only_in_async_functions)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Rule> {
        Rule::ALL.iter().copied().filter(move |rule| self.contains(*rule))
    }
}

impl FromIterator<Rule> for RuleSet {
    fn from_iter<T: IntoIterator<Item = Rule>>(iter: T) -> Self {
        let mut set = RuleSet::EMPTY;
        for rule in iter {
            set.insert(rule);
        }
        set
    }
}

/// A selector that matched no rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSelector(pub String);

impl fmt::Display for UnknownSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown rule selector `{}`: expected a code (`LW101`), a prefix (`LW1`, `LW10`), an alias (`ASYNC251`) or `ALL`",
            self.0
        )
    }
}

/// The rules a selector names: `ALL`, a code or a code prefix (`LW`, `LW1`, `LW10`, `LW101`),
/// a kebab-case rule name, or an alias or alias prefix of other tools (`ASYNC251`, `ASYNC2`).
pub fn parse_selector(selector: &str) -> Result<RuleSet, UnknownSelector> {
    let wanted = selector.trim().to_ascii_uppercase();
    if wanted == "ALL" {
        return Ok(RuleSet::all());
    }
    let set: RuleSet = Rule::ALL
        .iter()
        .copied()
        .filter(|rule| {
            let meta = rule.meta();
            !wanted.is_empty()
                && (meta.code.starts_with(&wanted)
                    || meta.name == selector.trim()
                    || meta.aliases.iter().any(|alias| alias.starts_with(&wanted)))
        })
        .collect();
    if set.is_empty() { Err(UnknownSelector(selector.to_string())) } else { Ok(set) }
}

/// Whether a `# noqa: CODE` entry names `rule`: its code, an alias, or a prefix of either
/// (`LW1` silences every `LW1xx` rule).
pub fn noqa_code_matches(rule: Rule, code: &str) -> bool {
    let code = code.trim().to_ascii_uppercase();
    if code.is_empty() {
        return false;
    }
    let meta = rule.meta();
    meta.code.starts_with(&code) || meta.aliases.iter().any(|alias| alias.starts_with(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_accept_codes_prefixes_and_aliases() {
        assert_eq!(parse_selector("LW101").unwrap().iter().collect::<Vec<_>>(), [Rule::BlockingSleep]);
        assert_eq!(parse_selector("ASYNC251").unwrap().iter().collect::<Vec<_>>(), [Rule::BlockingSleep]);
        assert_eq!(parse_selector("blocking-sleep").unwrap().iter().collect::<Vec<_>>(), [Rule::BlockingSleep]);
        let lw1 = parse_selector("LW1").unwrap();
        assert!(lw1.contains(Rule::BlockingThreadSync) && lw1.contains(Rule::BlockingSleep));
        assert_eq!(parse_selector("lw10").unwrap(), lw1);
        assert!(parse_selector("LW999").is_err());
        assert!(parse_selector("").is_err());
        assert!(parse_selector("E501").is_err());
    }

    #[test]
    fn every_rule_documents_the_fixed_sections() {
        for rule in Rule::ALL {
            let docs = rule.meta().docs;
            // In this order: the hover, `loopwise rule` and docs/rules.md all show these.
            let sections = [
                "## What it does",
                "## Why is this bad?",
                "## Example",
                "Use instead:",
                "## Fix safety",
                "## References",
            ];
            let mut last = 0;
            for section in sections {
                let at = docs.find(section).unwrap_or_else(|| panic!("{} docs miss `{section}`", rule.code()));
                assert!(at >= last, "{} docs put `{section}` out of order", rule.code());
                last = at;
            }
            assert!(docs.contains("```python"), "{} docs have no python example", rule.code());
            let codes = Rule::ALL.iter().filter(|other| other.code() == rule.code()).count();
            assert_eq!(codes, 1, "{} is registered twice", rule.code());
        }
    }

    #[test]
    fn rule_set_operations() {
        let mut set = RuleSet::EMPTY;
        set.insert(Rule::BlockingInput);
        assert!(set.contains(Rule::BlockingInput));
        assert!(!set.contains(Rule::BlockingSleep));
        assert!(set.subtract(set).is_empty());
        assert_eq!(RuleSet::all().iter().count(), Rule::ALL.len());
    }
}
