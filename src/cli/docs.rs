//! What `loopwise rule` prints: the list of rules, one rule's explanation, and every
//! explanation as one markdown document (the text of `docs/rules.md`).
//!
//! Every text comes from the rules' metadata and doc comments ([`RuleMeta::explanation`]), so
//! the terminal, the hover and the generated documentation cannot drift apart.

use std::fmt::Write as _;

use crate::rules::{Rule, RuleMeta};

/// How `loopwise rule` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RuleFormat {
    /// A table for the terminal (`--all`), or the explanation of one rule.
    #[default]
    Text,
    /// Markdown: with `--all`, the whole rule reference (`docs/rules.md`).
    Markdown,
}

/// The command that regenerates `docs/rules.md`, for messages that ask for it.
pub const REGENERATE_DOCS: &str = "cargo run -- rule --all --output-format markdown > docs/rules.md";

/// The default state as the catalog writes it: the severity, or `off (severity)`.
fn default_state(meta: &RuleMeta) -> String {
    if meta.enabled_by_default {
        meta.default_severity.as_str().to_string()
    } else {
        format!("off ({})", meta.default_severity.as_str())
    }
}

/// Whether a rule has a fix and how sure it is, read from its `fix:` text: `safe`, `unsafe`,
/// both, `yes` (a fix that does not say) or `none`.
pub fn fix_kind(meta: &RuleMeta) -> &'static str {
    if meta.fix.trim().starts_with("none") {
        return "none";
    }
    let safe = meta.fix.contains("(safe") || meta.fix.contains(" safe)") || meta.fix.contains("; safe");
    let unsafe_ = meta.fix.contains("unsafe");
    match (safe, unsafe_) {
        (true, true) => "safe, unsafe",
        (true, false) => "safe",
        (false, true) => "unsafe",
        (false, false) if meta.fix.contains("display") => "display-only",
        (false, false) => "yes",
    }
}

/// `loopwise rule --all`: one line per rule with its code, name, default state, fix and summary.
pub fn rule_table() -> String {
    let name_width = Rule::ALL.iter().map(|rule| rule.name().len()).max().unwrap_or(0);
    let mut text = String::new();
    let _ = writeln!(text, "{:<5}  {:<name_width$}  {:<10}  {:<12}  summary", "code", "name", "default", "fix");
    for rule in Rule::ALL {
        let meta = rule.meta();
        let _ = writeln!(
            text,
            "{:<5}  {:<name_width$}  {:<10}  {:<12}  {}",
            meta.code,
            meta.name,
            default_state(meta),
            fix_kind(meta),
            meta.summary
        );
    }
    text
}

/// The anchor GitHub gives a heading: lower case, spaces as hyphens, other punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// `text` with every markdown heading one level deeper, so a rule's `#` title sits under the
/// document's. Lines inside code blocks are Python comments, not headings, and stay.
fn demote_headings(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut in_code = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
        }
        let level = line.bytes().take_while(|byte| *byte == b'#').count();
        if !in_code && level > 0 && line[level..].starts_with(' ') {
            out.push('#');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn table_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// `docs/rules.md`: a title, an index table, then every rule's explanation in code order.
pub fn rules_markdown() -> String {
    let mut text = String::from("# loopwise rules\n\n");
    let _ = writeln!(
        text,
        "<!-- Generated from the rules' doc comments; do not edit. Regenerate with\n     `{REGENERATE_DOCS}`\n     or `UPDATE_DOCS=1 cargo test --test docs`. -->\n"
    );
    text.push_str(
        "Every rule loopwise knows, in code order. Rules whose default is `off` run only when \
         selected.\nA `safe` fix is applied by `loopwise check --fix`; an `unsafe` one also needs \
         `--unsafe-fixes`.\n`loopwise rule CODE` prints the same explanation in the terminal.\n\n",
    );
    text.push_str("| code | name | default | fix |\n|---|---|---|---|\n");
    for rule in Rule::ALL {
        let meta = rule.meta();
        let _ = writeln!(
            text,
            "| [{}](#{}) | {} | {} | {} |",
            meta.code,
            anchor(&format!("{} ({})", meta.name, meta.code)),
            meta.name,
            default_state(meta),
            table_cell(meta.fix)
        );
    }
    for rule in Rule::ALL {
        text.push('\n');
        text.push_str(demote_headings(&rule.meta().explanation()).trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_github() {
        assert_eq!(anchor("blocking-sleep (LW101)"), "blocking-sleep-lw101");
    }

    #[test]
    fn headings_move_down_but_python_comments_stay() {
        let text = "# title (LW1)\n\n## Example\n```python\n# a comment\nx = 1\n```\n#not a heading\n";
        assert_eq!(
            demote_headings(text),
            "## title (LW1)\n\n### Example\n```python\n# a comment\nx = 1\n```\n#not a heading\n"
        );
    }

    #[test]
    fn fix_kinds_read_the_fix_text() {
        let meta = |fix| RuleMeta { fix, ..*Rule::BlockingSleep.meta() };
        assert_eq!(fix_kind(&meta("none")), "none");
        assert_eq!(fix_kind(&meta("none (use `asyncio.Event`)")), "none");
        assert_eq!(fix_kind(&meta("`await asyncio.sleep(...)` (unsafe; adds `import asyncio`)")), "unsafe");
        assert_eq!(fix_kind(&meta("add `@pytest.mark.asyncio` (safe; adds `import pytest`)")), "safe");
        assert_eq!(fix_kind(&meta("`tg.create_task` (safe); else keep a reference (unsafe)")), "safe, unsafe");
    }

    #[test]
    fn every_rule_is_indexed_and_explained_once() {
        let text = rules_markdown();
        for rule in Rule::ALL {
            let heading = format!("\n## {} ({})\n", rule.name(), rule.code());
            assert_eq!(text.matches(&heading).count(), 1, "{heading}");
            assert!(text.contains(&format!("| [{}](#", rule.code())), "{}", rule.code());
        }
    }
}
