//! Suppression comments: `# noqa`, `# noqa: LW101, ASYNC251` on a line, and
//! `# loopwise: noqa` (optionally `: CODES`) alone on a line of the file's first comment block.

use crate::analysis::TextRange;
use crate::rules::{Rule, noqa_code_matches};

/// What one suppression comment silences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directive {
    All,
    Codes(Vec<String>),
}

impl Directive {
    pub fn silences(&self, rule: Rule) -> bool {
        match self {
            Directive::All => true,
            Directive::Codes(codes) => codes.iter().any(|code| noqa_code_matches(rule, code)),
        }
    }
}

/// Finds a `noqa` directive in a comment's text (`# noqa`, `#noqa:LW101`, or after other
/// comment text: `# type: ignore  # noqa: LW1`).
pub fn parse_noqa(comment: &str) -> Option<Directive> {
    let mut rest = comment;
    while let Some(hash) = rest.find('#') {
        rest = &rest[hash + 1..];
        let after = rest.trim_start();
        // `get` and not `[..4]`: the comment may hold a multi-byte character there (`# 70°`).
        if let Some(rest) = after.get(..4).filter(|keyword| keyword.eq_ignore_ascii_case("noqa")).and(after.get(4..)) {
            return Some(parse_codes(rest));
        }
    }
    None
}

fn parse_codes(after_keyword: &str) -> Directive {
    let Some(list) = after_keyword.trim_start().strip_prefix(':') else {
        return Directive::All;
    };
    let codes: Vec<String> = list
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .take_while(|code| looks_like_code(code))
        .map(str::to_ascii_uppercase)
        .collect();
    if codes.is_empty() { Directive::All } else { Directive::Codes(codes) }
}

/// `LW101`, `ASYNC251`, `LW1`: letters then digits. Free text after the codes is a reason.
fn looks_like_code(word: &str) -> bool {
    let digits = word.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    digits.len() < word.len() && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// The file-level directive: `# loopwise: noqa` alone on a line among the comments that open
/// the file (before any code).
pub fn file_directive(source: &str) -> Option<Directive> {
    for line in source.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let comment = line.strip_prefix('#')?;
        let Some(rest) = comment.trim_start().strip_prefix("loopwise:") else { continue };
        let rest = rest.trim_start();
        if rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("noqa") {
            return Some(parse_codes(&rest[4..]));
        }
    }
    None
}

/// Line-indexed `# noqa` comments of one file.
pub struct NoqaMap {
    /// (line number, directive), sorted by line.
    lines: Vec<(usize, Directive)>,
    line_starts: Vec<usize>,
}

impl NoqaMap {
    pub fn new(source: &str, comments: &[TextRange]) -> Self {
        let lines: Vec<(usize, Directive)> = comments
            .iter()
            .filter_map(|range| Some((range.start, parse_noqa(source.get(range.start..range.end)?)?)))
            .collect();
        if lines.is_empty() {
            return Self { lines: Vec::new(), line_starts: Vec::new() };
        }
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(source.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1))
            .collect();
        let mut map = Self { lines: Vec::new(), line_starts };
        map.lines = lines.into_iter().map(|(offset, directive)| (map.line_of(offset), directive)).collect();
        map
    }

    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset).saturating_sub(1)
    }

    /// Whether a comment on the line of any of `offsets` silences `rule`.
    pub fn silences(&self, rule: Rule, offsets: &[usize]) -> bool {
        if self.lines.is_empty() {
            return false;
        }
        offsets.iter().any(|&offset| {
            let line = self.line_of(offset);
            self.lines.iter().any(|(noqa_line, directive)| *noqa_line == line && directive.silences(rule))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_noqa_forms() {
        assert_eq!(parse_noqa("# noqa"), Some(Directive::All));
        assert_eq!(parse_noqa("#NOQA"), Some(Directive::All));
        assert_eq!(
            parse_noqa("# noqa: LW101, asyncw251"),
            Some(Directive::Codes(vec!["LW101".into(), "ASYNCW251".into()]))
        );
        assert_eq!(parse_noqa("# type: ignore  # noqa:LW1 because"), Some(Directive::Codes(vec!["LW1".into()])));
        assert_eq!(parse_noqa("# nothing to see"), None);
        assert_eq!(parse_noqa("# noq"), None);
        assert_eq!(parse_noqa("# 70°C: we drop the degree sign"), None);
        assert_eq!(parse_noqa("# é"), None);
    }

    #[test]
    fn directive_matches_codes_prefixes_and_aliases() {
        let directive = parse_noqa("# noqa: ASYNC251").expect("directive");
        assert!(directive.silences(Rule::BlockingSleep));
        assert!(!directive.silences(Rule::BlockingInput));
        assert!(parse_noqa("# noqa: LW1").expect("directive").silences(Rule::BlockingInput));
    }

    #[test]
    fn file_directive_only_in_the_first_comment_block() {
        assert_eq!(file_directive("#!/usr/bin/env python\n# loopwise: noqa\nimport time\n"), Some(Directive::All));
        assert_eq!(file_directive("# loopwise: noqa: LW1\n"), Some(Directive::Codes(vec!["LW1".into()])));
        assert_eq!(file_directive("import time\n# loopwise: noqa\n"), None);
    }
}
