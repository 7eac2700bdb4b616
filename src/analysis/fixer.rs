//! Applying fixes to a text: the one implementation behind `check --fix`, `--diff` and the
//! editor's fix-all.
//!
//! Fixes of one round never overlap (a fix touching an edit already taken waits for the next
//! round, when it is computed afresh on the fixed text); rounds repeat until nothing changes,
//! and a round that would leave a syntax error the text did not have is dropped. It knows
//! nothing of files or editors: the caller hands it a lint function.

use crate::analysis::source::parse;
use crate::analysis::{Applicability, Diagnostic, Edit, Fix};

/// Rounds of lint-then-fix before giving up on reaching a fixed point: fixes that keep
/// re-triggering each other must not loop forever.
pub const MAX_ROUNDS: usize = 10;

/// The outcome of fixing one text.
#[derive(Debug, Clone)]
pub struct FixedText {
    pub text: String,
    /// How many fixes were applied, over all rounds.
    pub applied: usize,
    /// The findings of the final text.
    pub remaining: Vec<Diagnostic>,
}

/// `source` with the fixes that apply at `level` applied once, skipping any fix whose edits
/// touch those of a fix already taken; also how many were applied.
pub fn apply_fixes<'d>(
    source: &str,
    fixes: impl IntoIterator<Item = &'d Fix>,
    level: Applicability,
) -> (String, usize) {
    let mut marks = Vec::new();
    apply_fixes_keeping(source, fixes, level, &mut marks)
}

/// [`apply_fixes`] around `marks`, the offsets of characters no fix may touch (the line breaks
/// that join a notebook's cells): a fix with an edit covering one is skipped, and each mark is
/// moved to where its character is in the fixed text. An insertion at a mark goes before it.
pub fn apply_fixes_keeping<'d>(
    source: &str,
    fixes: impl IntoIterator<Item = &'d Fix>,
    level: Applicability,
    marks: &mut [usize],
) -> (String, usize) {
    let covers = |edit: &Edit| marks.iter().any(|&mark| edit.range.start <= mark && mark < edit.range.end);
    let mut fixes: Vec<&Fix> =
        fixes.into_iter().filter(|fix| fix.applies(level) && !fix.edits().iter().any(covers)).collect();
    fixes.sort_by_key(|fix| fix.edits().first().map(|edit| (edit.range.start, edit.range.end)));
    let mut taken: Vec<&Edit> = Vec::new();
    let mut applied = 0;
    for fix in fixes {
        if fix.edits().iter().any(|edit| taken.iter().any(|other| conflict(edit, other))) {
            continue;
        }
        taken.extend(fix.edits());
        applied += 1;
    }
    taken.sort_by_key(|edit| (edit.range.start, edit.range.end));
    for mark in marks.iter_mut() {
        let before = taken.iter().filter(|edit| edit.range.end <= *mark);
        let grown: usize = before.clone().map(|edit| edit.content.len()).sum();
        let removed: usize = before.map(|edit| edit.range.end - edit.range.start).sum();
        *mark = *mark + grown - removed;
    }
    let mut text = source.to_string();
    for edit in taken.iter().rev() {
        text.replace_range(edit.range.start..edit.range.end, &edit.content);
    }
    (text, applied)
}

/// Two edits conflict when their ranges overlap, when both start at the same place (the
/// order of two insertions there would be a guess), or when one inserts where the other's
/// replacement ends: the insertion was placed after text the replacement rewrites (a block
/// it dedents), so it waits to be computed afresh on the rewritten text.
fn conflict(a: &Edit, b: &Edit) -> bool {
    let inserts_at_end = |insertion: &Edit, other: &Edit| {
        insertion.range.start == insertion.range.end && insertion.range.start == other.range.end
    };
    a.range.start == b.range.start
        || (a.range.start < b.range.end && b.range.start < a.range.end)
        || inserts_at_end(a, b)
        || inserts_at_end(b, a)
}

/// Lints and fixes `source` until no fix applies at `level` (at most [`MAX_ROUNDS`] rounds).
pub fn fix_until_stable(source: &str, level: Applicability, lint: impl FnMut(&str) -> Vec<Diagnostic>) -> FixedText {
    fix_until_stable_keeping(source, level, lint, &mut [])
}

/// [`fix_until_stable`] around `marks` ([`apply_fixes_keeping`]), which end as offsets in
/// the fixed text.
pub fn fix_until_stable_keeping(
    source: &str,
    level: Applicability,
    mut lint: impl FnMut(&str) -> Vec<Diagnostic>,
    marks: &mut [usize],
) -> FixedText {
    let mut text = source.to_string();
    let mut applied = 0;
    let mut diagnostics = lint(&text);
    // Parsing is most of the cost of a file: only files that get a fix pay for this check.
    let mut had_errors = None;
    for _ in 0..MAX_ROUNDS {
        let mut moved = marks.to_vec();
        let (fixed, count) = apply_fixes_keeping(
            &text,
            diagnostics.iter().filter_map(|diagnostic| diagnostic.fix.as_ref()),
            level,
            &mut moved,
        );
        if count == 0 || fixed == text {
            break;
        }
        // A fix is meant to leave valid code; should one not, keep the last good text
        // rather than hand the user a broken file.
        let had_errors = *had_errors.get_or_insert_with(|| parse(source).root_node().has_error());
        if !had_errors && parse(&fixed).root_node().has_error() {
            break;
        }
        text = fixed;
        marks.copy_from_slice(&moved);
        applied += count;
        diagnostics = lint(&text);
    }
    FixedText { text, applied, remaining: diagnostics }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{LintSettings, TextRange, lint_source};
    use crate::rules::RuleSet;

    fn fix(edits: &[(usize, usize, &str)]) -> Fix {
        let mut edits = edits.iter().map(|&(start, end, text)| Edit::replacement(text, TextRange::new(start, end)));
        let first = edits.next().expect("a fix has an edit");
        Fix::safe_edits("Fix", first, edits.collect())
    }

    #[test]
    fn overlapping_fixes_wait_for_the_next_round() {
        // The insertion at 0 sorts first and wins; the replacement starting there waits.
        let fixes = [fix(&[(0, 1, "A")]), fix(&[(0, 0, "x"), (2, 3, "C")]), fix(&[(4, 5, "E")])];
        assert_eq!(apply_fixes("abcde", &fixes, Applicability::Safe), ("xabCdE".to_string(), 2));
        let fixes = [fix(&[(0, 1, "A")]), fix(&[(1, 3, "BC")])];
        assert_eq!(apply_fixes("abcde", &fixes, Applicability::Safe), ("ABCde".to_string(), 2));
    }

    #[test]
    fn marks_move_with_the_edits_and_no_fix_covers_one() {
        // Marks at the two line breaks of "ab\ncd\nef".
        let fixes = [fix(&[(0, 1, "AA")]), fix(&[(2, 3, "")]), fix(&[(3, 3, "x")]), fix(&[(5, 5, "y")])];
        let mut marks = [2, 5];
        let (text, applied) = apply_fixes_keeping("ab\ncd\nef", &fixes, Applicability::Safe, &mut marks);
        // The deletion of the first break is skipped; the insertion at the second goes before it.
        assert_eq!((text.as_str(), applied), ("AAb\nxcdy\nef", 3));
        assert_eq!(marks, [3, 8]);
        assert!(marks.iter().all(|&mark| text.as_bytes()[mark] == b'\n'));
    }

    /// Found by the fix fuzzer: removing the `asyncio.timeout` block dedents its body, and the
    /// task kept by the dangling-task fix was added after the body's last line with the old
    /// indentation, in the same round: `IndentationError`.
    #[test]
    fn an_insertion_at_the_end_of_a_replaced_range_waits_a_round() {
        let source = "import asyncio\n\n\nasync def f():\n    async with asyncio.timeout(5):\n        \
                      task = asyncio.create_task(g())\n\n\nasync def g():\n    await asyncio.sleep(1)\n";
        let settings = LintSettings { rules: RuleSet::all(), ..LintSettings::default() };
        let fixed = fix_until_stable(source, Applicability::Unsafe, |text| lint_source(text, None, &settings));
        assert!(!parse(&fixed.text).root_node().has_error(), "{}", fixed.text);
        assert!(
            fixed.text.contains("\n    task = asyncio.create_task(g())\n    background_tasks.add(task)\n"),
            "{}",
            fixed.text
        );
        let touching = [fix(&[(1, 3, "BC")]), fix(&[(3, 3, "x")])];
        assert_eq!(apply_fixes("abcde", &touching, Applicability::Safe), ("aBCde".to_string(), 1));
    }

    #[test]
    fn unsafe_fixes_need_the_unsafe_level() {
        let unsafe_fix = Fix::unsafe_edit("Fix", Edit::replacement("X", TextRange::new(0, 1)));
        assert_eq!(apply_fixes("ab", [&unsafe_fix], Applicability::Safe).1, 0);
        assert_eq!(apply_fixes("ab", [&unsafe_fix], Applicability::Unsafe).0, "Xb");
    }

    #[test]
    fn rounds_repeat_until_every_fix_is_in() {
        // Both fixes add `import asyncio` at the same place: the second waits a round, then
        // needs no import.
        let source = "import time\n\n\nasync def f():\n    time.sleep(1)\n    time.sleep(2)\n";
        let settings = LintSettings::default();
        let fixed = fix_until_stable(source, Applicability::Unsafe, |text| lint_source(text, None, &settings));
        assert!(!fixed.text.contains("time.sleep"), "{}", fixed.text);
        assert_eq!(fixed.text.matches("import asyncio").count(), 1, "{}", fixed.text);
        assert_eq!(fixed.applied, 2);
        assert!(fixed.remaining.is_empty());
    }
}
