//! Which enabled rules can report in a text, told from the text alone before it is parsed.
//!
//! Each rule declares its trigger texts (`RuleMeta::triggers`): at least one of them is in any
//! text where it can report. One Aho-Corasick pass over the text finds which triggers it holds
//! and whether it may define an `async def` (for the rules that are `only_in_async_functions`);
//! a rule none of whose triggers is there is not run, and a file no rule is left for is not
//! parsed. A trigger in a string or a comment only costs a parse, never a finding.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::analysis::settings::LintSettings;
use crate::rules::{Rule, RuleSet};

/// The keyword that starts an `async def`: searched with the triggers, in the same pass.
const ASYNC: &str = "async";

/// The union of every rule's triggers, as one automaton.
struct Triggers {
    searcher: AhoCorasick,
    /// The automaton's pattern of [`ASYNC`].
    async_pattern: usize,
    /// For each rule (indexed like `Rule::ALL`), the patterns of its triggers; empty: no limit.
    rule_patterns: Vec<Vec<usize>>,
    patterns: usize,
    /// The longest pattern's length in bytes.
    longest: usize,
}

impl Triggers {
    fn build() -> Option<Self> {
        let mut texts: Vec<&'static str> = vec![ASYNC];
        let mut rule_patterns = Vec::with_capacity(Rule::ALL.len());
        for rule in Rule::ALL {
            let mut own = Vec::new();
            for trigger in rule.meta().triggers {
                let index = texts.iter().position(|text| text == trigger).unwrap_or_else(|| {
                    texts.push(trigger);
                    texts.len() - 1
                });
                own.push(index);
            }
            rule_patterns.push(own);
        }
        // LW109 reports a call of a helper that makes a call one of the blocking-call rules
        // reports: the file holds one of their triggers (LW108's are its configured names).
        let helper = Rule::BlockingHelperCall as usize;
        let mut blocking: Vec<usize> = Rule::ALL
            .iter()
            .filter(|rule| rule.reports_blocking_calls())
            .flat_map(|rule| rule_patterns[*rule as usize].iter().copied())
            .chain(rule_patterns[helper].iter().copied())
            .collect();
        blocking.sort_unstable();
        blocking.dedup();
        rule_patterns[helper] = blocking;
        // Standard matching, so that the overlapping search reports every pattern at every
        // place it occurs (`async` inside `asyncio` too).
        let searcher = AhoCorasick::new(&texts).ok()?;
        let longest = texts.iter().map(|text| text.len()).max().unwrap_or(0);
        Some(Self { searcher, async_pattern: 0, rule_patterns, patterns: texts.len(), longest })
    }
}

/// Built once per process. `None` only if the automaton cannot be built, and then nothing is
/// skipped.
static TRIGGERS: LazyLock<Option<Triggers>> = LazyLock::new(Triggers::build);

/// What one scan of a text found.
#[derive(Debug, PartialEq, Eq)]
pub struct TextScan {
    /// Per automaton pattern, one bit: whether the text holds it.
    present: Vec<u64>,
    /// The text may define a coroutine function ([`async_def_at`]).
    pub async_def: bool,
}

impl TextScan {
    /// Whether `rule`'s triggers allow it to report here: it has none, or the text holds one.
    /// (Its `only_in_async_functions` and its settings are [`applicable_rules`]'s business.)
    pub fn has_trigger_of(&self, rule: Rule) -> bool {
        let Some(triggers) = TRIGGERS.as_ref() else { return true };
        let Some(patterns) = triggers.rule_patterns.get(rule as usize) else { return true };
        patterns.is_empty()
            || patterns
                .iter()
                .any(|pattern| self.present.get(pattern / 64).is_none_or(|word| word & (1 << (pattern % 64)) != 0))
    }
}

/// One pass over `source`: the triggers it holds and whether it may define an `async def`.
pub fn scan(source: &str) -> TextScan {
    combine(source, [(0, &scan_segment(source, source.len()))])
}

/// What [`scan`] found in one piece of a text, to be [`combine`]d with the other pieces' into
/// the scan of the whole: a text being edited is scanned again only where it changed.
#[derive(Debug, Clone)]
pub struct SegmentScan {
    /// Per automaton pattern, one bit: whether the piece holds it.
    present: Vec<u64>,
    async_def: bool,
    /// Where (from the piece's start) an `async` ends that only white space follows up to the
    /// piece's end: whether a `def` comes after it depends on the text after the piece.
    open_async: Option<usize>,
}

/// The longest trigger, in bytes: a piece is scanned with this much of the text after it
/// minus one, so that a trigger that starts in the piece is found whole.
pub fn longest_trigger() -> usize {
    TRIGGERS.as_ref().map_or(0, |triggers| triggers.longest)
}

/// Scans `piece`, where the piece proper is its first `own` bytes and the rest is the start of
/// the text after it (at most [`longest_trigger`] bytes): matches that start in the piece count.
pub fn scan_segment(piece: &str, own: usize) -> SegmentScan {
    let Some(triggers) = TRIGGERS.as_ref() else {
        return SegmentScan { present: Vec::new(), async_def: true, open_async: None };
    };
    let mut present = vec![0u64; triggers.patterns.div_ceil(64)];
    let (mut async_def, mut open_async) = (false, None);
    for matched in triggers.searcher.find_overlapping_iter(piece) {
        if matched.start() >= own {
            continue;
        }
        let pattern = matched.pattern().as_usize();
        if pattern == triggers.async_pattern && !async_def {
            let rest = piece.get(matched.end()..).unwrap_or("");
            if rest.trim_start_matches(WHITE).len() < "def".len() {
                // White space up to the end of what is known, or too little after it to tell:
                // the caller looks further.
                open_async.get_or_insert(matched.end());
            } else {
                async_def = async_def_at(piece, matched.end());
            }
        }
        if let Some(word) = present.get_mut(pattern / 64) {
            *word |= 1 << (pattern % 64);
        }
    }
    SegmentScan { present, async_def, open_async }
}

/// The scan of a whole text from the scans of its pieces, each with where it starts: the
/// same [`TextScan`] as [`scan`] of the text when the pieces cover it.
pub fn combine<'a>(source: &str, pieces: impl IntoIterator<Item = (usize, &'a SegmentScan)>) -> TextScan {
    let Some(triggers) = TRIGGERS.as_ref() else {
        return TextScan { present: Vec::new(), async_def: true };
    };
    let mut present = vec![0u64; triggers.patterns.div_ceil(64)];
    let mut async_def = false;
    for (start, piece) in pieces {
        for (word, own) in present.iter_mut().zip(&piece.present) {
            *word |= own;
        }
        async_def |= piece.async_def || piece.open_async.is_some_and(|end| async_def_at(source, start + end));
    }
    TextScan { present, async_def }
}

/// What may follow `async` before the `def` of an `async def`.
const WHITE: [char; 5] = [' ', '\t', '\\', '\n', '\r'];

/// Whether the `async` ending at `end` is followed by white space and `def`: the text may define
/// a coroutine function. A false positive (in a string or comment) only costs a parse.
fn async_def_at(source: &str, end: usize) -> bool {
    let rest = source.get(end..).unwrap_or("");
    let trimmed = rest.trim_start_matches(WHITE);
    trimmed.len() < rest.len() && trimmed.starts_with("def")
}

/// Whether the text may define a coroutine function: `async` followed by white space and `def`.
pub fn has_async_def(source: &str) -> bool {
    source.match_indices(ASYNC).any(|(index, keyword)| async_def_at(source, index + keyword.len()))
}

/// The rules of `rules` that may report in `source`: all of them when `settings.prefilter` is
/// off; else those whose triggers it holds, that need no `async def` or find one, and whose
/// settings give them something to look for.
pub fn applicable_rules(rules: RuleSet, source: &str, settings: &LintSettings) -> RuleSet {
    applicable_rules_with(rules, source, settings, || scan(source))
}

/// [`applicable_rules`], with the scan of `source` made by `scanned` (only when it is needed).
pub fn applicable_rules_with(
    rules: RuleSet,
    source: &str,
    settings: &LintSettings,
    scanned: impl FnOnce() -> TextScan,
) -> RuleSet {
    if !settings.prefilter || rules.is_empty() {
        return rules;
    }
    let found = scanned();
    rules
        .iter()
        .filter(|rule| {
            (found.async_def || settings.top_level_await || !rule.meta().only_in_async_functions)
                && (found.has_trigger_of(*rule)
                    || (*rule == Rule::BlockingHelperCall && configured_call_may_occur(source, settings)))
                && (*rule != Rule::BlockingConfiguredCall || configured_call_may_occur(source, settings))
        })
        .collect()
}

/// LW108 reports only calls of the names listed in `blocking-calls`; each resolved qualified
/// name's parts are spelled in the text (an alias renames only the binding), so the last part
/// of one of them must be there. With none listed, the rule has nothing to report.
fn configured_call_may_occur(source: &str, settings: &LintSettings) -> bool {
    settings.blocking_calls.keys().any(|name| {
        let last = name.rsplit('.').next().unwrap_or(name).trim();
        last.is_empty() || source.contains(last)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applicable(source: &str, rules: &[Rule]) -> Vec<Rule> {
        applicable_rules(rules.iter().copied().collect(), source, &LintSettings::default()).iter().collect()
    }

    /// The scan of `source` from the scans of the pieces `cuts` split it into.
    fn scan_in_pieces(source: &str, cuts: &[usize]) -> TextScan {
        let mut starts = vec![0];
        starts.extend_from_slice(cuts);
        let pieces: Vec<(usize, SegmentScan)> = starts
            .iter()
            .enumerate()
            .map(|(index, &start)| {
                let end = starts.get(index + 1).copied().unwrap_or(source.len());
                let until = (end + longest_trigger() - 1).min(source.len());
                (start, scan_segment(&source[start..until], end - start))
            })
            .collect();
        combine(source, pieces.iter().map(|(start, scan)| (*start, scan)))
    }

    #[test]
    fn a_scan_in_pieces_is_the_scan_of_the_whole_text() {
        let texts = [
            "import asyncio\nasync def f():\n    await asyncio.sleep(1)\n",
            "# a comment that ends in async\ndef f(): time.sleep(1)\n",
            "x = 1\nasync \\\n   def g(): ...\n",
            "async   de",
            "y = asyncio.run_until_complete(z)  # run_coroutine_threadsafe\n",
            "def h():\n    return subprocess.popen\n",
        ];
        // A piece that ends with `async` sees only `de` of the `def` after it.
        let cut_def = format!("x = 1\nasync{}def f(): ...\n", " ".repeat(longest_trigger() - 3));
        for source in texts.into_iter().chain([cut_def.as_str()]) {
            let whole = scan(source);
            for cut in 1..source.len() {
                assert_eq!(scan_in_pieces(source, &[cut]), whole, "{source:?} cut at {cut}");
                for second in cut + 1..source.len() {
                    assert_eq!(scan_in_pieces(source, &[cut, second]), whole, "{source:?} cut at {cut}, {second}");
                }
            }
        }
    }

    #[test]
    fn async_def_prefilter() {
        assert!(has_async_def("class A:\n    async  def f(self): ..."));
        assert!(has_async_def("async \\\ndef f(): ..."));
        assert!(!has_async_def("import asyncio\nasyncdef = 1\ndef f(): time.sleep(1)\n"));
        for source in
            ["class A:\n    async  def f(self): ...", "async \\\ndef f(): ...", "x = asyncio\nasync def f(): ..."]
        {
            assert!(scan(source).async_def, "{source}");
        }
        assert!(!scan("import asyncio\nasyncdef = 1\ndef f(): time.sleep(1)\n").async_def);
    }

    #[test]
    fn rules_needing_text_skip_files_without_it() {
        let rules = [Rule::TimeoutErrorAlias, Rule::BlockingSleep, Rule::DanglingTask];
        assert!(applicable("import time\n", &rules).is_empty(), "no `async def`, no `TimeoutError`");
        assert_eq!(applicable("import time\nasync def f(): time.sleep(1)", &rules), [Rule::BlockingSleep]);
        assert_eq!(applicable("except asyncio.TimeoutError: ...", &rules), [Rule::TimeoutErrorAlias]);
        assert_eq!(applicable("asyncio.ensure_future(f())", &rules), [Rule::DanglingTask]);
    }

    #[test]
    fn aliases_keep_the_texts_that_trigger() {
        // The alias renames the binding; the import still spells the module and the member.
        let rules = [Rule::BlockingSleep, Rule::DanglingTask, Rule::UnawaitedCoroutine, Rule::AwaitOutsideAsync];
        assert_eq!(
            applicable("from time import sleep as pause\nasync def f():\n    pause(1)\n", &rules),
            [Rule::BlockingSleep, Rule::UnawaitedCoroutine, Rule::AwaitOutsideAsync]
        );
        assert_eq!(
            applicable("import asyncio as aio\ndef f():\n    aio.ensure_future(g())\n", &rules),
            [Rule::UnawaitedCoroutine, Rule::DanglingTask, Rule::AwaitOutsideAsync]
        );
    }

    #[test]
    fn a_file_with_only_an_aliased_import_may_call_a_workspace_coroutine() {
        // `x` may be an `async def` of another module: only the workspace index knows, so the
        // text's `import` keeps LW201, and nothing else.
        let all: Vec<Rule> = Rule::ALL.to_vec();
        assert_eq!(applicable("import x as y\ny()\n", &all), [Rule::UnawaitedCoroutine, Rule::MissingAsyncKeyword]);
        assert!(applicable("y = 1\ndef f():\n    return y\n", &all).is_empty());
    }

    #[test]
    fn a_trigger_in_a_comment_only_costs_a_parse() {
        let rules = [Rule::DanglingTask];
        let source = "# asyncio.create_task(f()) is not called here\n";
        assert_eq!(applicable(source, &rules), [Rule::DanglingTask], "the scan does not tell comments apart");
        let settings = LintSettings { rules: rules.iter().copied().collect(), ..LintSettings::default() };
        assert!(crate::analysis::lint_source(source, None, &settings).is_empty());
    }

    #[test]
    fn configured_blocking_calls_trigger_by_their_last_part() {
        let rules = [Rule::BlockingConfiguredCall];
        let source = "from lib import fetch as get\nasync def f():\n    get()\n";
        assert!(applicable(source, &rules).is_empty(), "nothing configured, nothing to report");
        let mut settings = LintSettings::default();
        settings.blocking_calls.insert("lib.fetch".to_string(), None);
        let found = applicable_rules(rules.iter().copied().collect(), source, &settings);
        assert_eq!(found.iter().collect::<Vec<_>>(), rules);
        settings.blocking_calls = [("lib.download".to_string(), None)].into_iter().collect();
        assert!(applicable_rules(rules.iter().copied().collect(), source, &settings).is_empty());
    }

    /// LW109 needs a call that a blocking-call rule reports, in a helper: one of their triggers
    /// (or a configured name, or an import for a helper of another module), and an `async def`.
    #[test]
    fn helper_calls_are_looked_for_where_a_blocking_call_may_be() {
        let mut settings = LintSettings::default();
        let helper = [Rule::BlockingHelperCall].into_iter().collect();
        let applies = |source: &str, settings: &LintSettings| !applicable_rules(helper, source, settings).is_empty();
        let calls = |call: &str| format!("def helper():\n    {call}\n\nasync def f():\n    helper()\n");
        assert!(!applies(&calls("compute()"), &settings));
        assert!(applies(&format!("from pkg import helper\n{}", calls("compute()")), &settings), "an imported helper");
        for call in ["open('x')", "input()", "time.sleep(1)", "requests.get(u)", "subprocess.run(c)"] {
            assert!(applies(&calls(call), &settings), "{call}");
        }
        assert!(!applies("def helper():\n    open('x')\n", &settings), "no async def");
        settings.blocking_calls = [("lib.download".to_string(), None)].into_iter().collect();
        assert!(applies(&calls("lib.download()"), &settings));
    }

    #[test]
    fn turning_the_prefilter_off_keeps_every_rule() {
        let settings = LintSettings { prefilter: false, ..LintSettings::default() };
        assert_eq!(applicable_rules(RuleSet::all(), "x = 1\n", &settings), RuleSet::all());
    }

    #[test]
    fn every_rule_has_its_triggers_in_the_automaton() {
        let Some(triggers) = TRIGGERS.as_ref() else { panic!("the trigger automaton does not build") };
        for rule in Rule::ALL {
            let own = rule.meta().triggers;
            // LW109 has the blocking-call rules' triggers too.
            if *rule != Rule::BlockingHelperCall {
                assert_eq!(triggers.rule_patterns[*rule as usize].len(), own.len(), "{}", rule.code());
            }
            for trigger in own {
                assert!(!trigger.is_empty() && scan(trigger).has_trigger_of(*rule), "{} `{trigger}`", rule.code());
            }
        }
    }
}
