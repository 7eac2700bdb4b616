//! Suppression comments: `# noqa`, `# noqa: LW101, ASYNC251` on a line, and
//! `# loopwise: noqa` (optionally `: CODES`) alone on a line of the file's first comment block;
//! and the edit that adds such a comment for one finding (the editor's "Disable LW101 for this
//! line").

use tree_sitter::Node;

use crate::analysis::fix_builder::{line_end, line_start};
use crate::analysis::{Diagnostic, Edit, TextRange};
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

/// The `# noqa` comments of one file, by the start of their line: a line is found from a
/// position by looking back for its line break, so making the map costs the comments alone,
/// not the file (the server makes one on every keystroke).
pub struct NoqaMap<'a> {
    source: &'a str,
    /// (line start, directive), in the order of the file.
    lines: Vec<(usize, Directive)>,
}

impl<'a> NoqaMap<'a> {
    pub fn new(source: &'a str, comments: &[TextRange]) -> Self {
        let lines = comments
            .iter()
            .filter_map(|range| {
                let directive = parse_noqa(source.get(range.start..range.end)?)?;
                Some((line_of(source, range.start), directive))
            })
            .collect();
        Self { source, lines }
    }

    /// Whether a comment on the line of any of `offsets` silences `rule`.
    pub fn silences(&self, rule: Rule, offsets: &[usize]) -> bool {
        if self.lines.is_empty() {
            return false;
        }
        offsets.iter().any(|&offset| {
            let line = line_of(self.source, offset);
            let first = self.lines.partition_point(|(start, _)| *start < line);
            self.lines[first..]
                .iter()
                .take_while(|(start, _)| *start == line)
                .any(|(_, directive)| directive.silences(rule))
        })
    }
}

/// The start of the line holding `offset`, lines ending at `\n` only (as Python's do in files
/// with `\n` or `\r\n` line breaks).
fn line_of(source: &str, offset: usize) -> usize {
    let before = source.as_bytes().get(..offset).unwrap_or(source.as_bytes());
    memchr::memrchr(b'\n', before).map_or(0, |index| index + 1)
}

/// Which line a suppression comment was put on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionLine {
    /// The line the finding starts on.
    Reported,
    /// The first line of the finding's statement (the reported line could not hold a comment).
    StatementStart,
}

/// The edit that silences `diagnostic` with a `# noqa` comment, and the line it goes on: the
/// reported line, else the first line of its statement (both count, see [`NoqaMap::silences`]).
/// `None` when neither line can hold a comment.
pub fn suppression(source: &str, root: Node<'_>, diagnostic: &Diagnostic) -> Option<(Edit, SuppressionLine)> {
    let code = diagnostic.rule.code();
    let reported = line_start(source, diagnostic.range.start.min(source.len()));
    if let Some(edit) = add_code(source, root, reported, code) {
        return Some((edit, SuppressionLine::Reported));
    }
    let statement = line_start(source, diagnostic.statement_start.min(source.len()));
    if statement == reported {
        return None;
    }
    add_code(source, root, statement, code).map(|edit| (edit, SuppressionLine::StatementStart))
}

/// Adds `code` to the line starting at `line_start`: appended to the codes of its `# noqa: X`
/// comment, or as a new `  # noqa: CODE` at its end (after any other comment).
///
/// `None` when the line cannot take a comment there (its end is inside a multi-line string, or
/// it continues with a backslash) or already has a bare `# noqa`.
pub fn add_code(source: &str, root: Node<'_>, line_start: usize, code: &str) -> Option<Edit> {
    let end = line_end(source, line_start);
    let content_end = line_start + source[line_start..end].trim_end().len();
    let (last_char_start, _) = source[line_start..content_end].char_indices().next_back()?;
    let last_char_start = line_start + last_char_start;
    let last = root.descendant_for_byte_range(last_char_start, content_end)?;
    if last.kind() == "comment" {
        let comment = TextRange::new(last.start_byte().max(line_start), last.end_byte().min(end));
        let text = &source[comment.start..comment.end];
        return match noqa_slot(text) {
            NoqaSlot::Absent => Some(Edit::insertion(format!("  # noqa: {code}"), content_end)),
            NoqaSlot::AfterCodes(at) => Some(Edit::insertion(format!(", {code}"), comment.start + at)),
            NoqaSlot::SilencesAll => None,
        };
    }
    if source[..content_end].ends_with('\\') || inside_multiline_string(root, end) {
        return None;
    }
    // Trailing white space goes: the comment keeps the usual two spaces before it.
    Some(Edit::replacement(format!("  # noqa: {code}"), TextRange::new(content_end, end)))
}

/// Whether `offset` lies strictly inside a string literal (a line break there belongs to it).
fn inside_multiline_string(root: Node<'_>, offset: usize) -> bool {
    // Down from the root along the children that hold `offset`: `Node::parent` would search
    // down from the root once per step up.
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.kind() == "string" && node.start_byte() < offset && offset < node.end_byte() {
            return true;
        }
        if cursor.goto_first_child_for_byte(offset).is_none() {
            return false;
        }
    }
}

/// Where a new code goes in a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoqaSlot {
    /// The comment holds no `noqa`: a new directive goes after it.
    Absent,
    /// After the last code of its `noqa: X, Y` list (byte offset into the comment).
    AfterCodes(usize),
    /// A bare `# noqa` already silences everything.
    SilencesAll,
}

/// Finds the `noqa` directive of a comment the way [`parse_noqa`] reads it.
fn noqa_slot(comment: &str) -> NoqaSlot {
    let mut searched = 0;
    while let Some(hash) = comment[searched..].find('#') {
        searched += hash + 1;
        let rest = &comment[searched..];
        let after = rest.trim_start();
        let keyword_end = searched + (rest.len() - after.len()) + 4;
        if !after.get(..4).is_some_and(|keyword| keyword.eq_ignore_ascii_case("noqa")) {
            continue;
        }
        let after_keyword = &comment[keyword_end..];
        let Some(list) = after_keyword.trim_start().strip_prefix(':') else {
            return NoqaSlot::SilencesAll;
        };
        let list_start = comment.len() - list.len();
        let last_code_end = words(list)
            .take_while(|(_, word)| looks_like_code(word))
            .last()
            .map(|(start, word)| list_start + start + word.len());
        return last_code_end.map_or(NoqaSlot::SilencesAll, NoqaSlot::AfterCodes);
    }
    NoqaSlot::Absent
}

/// The words of a code list (separated by commas or white space) and their byte offsets.
fn words(list: &str) -> impl Iterator<Item = (usize, &str)> {
    let is_separator = |c: char| c == ',' || c.is_whitespace();
    let mut rest = list;
    let mut consumed = 0;
    std::iter::from_fn(move || {
        let skip = rest.find(|c: char| !is_separator(c))?;
        let word = &rest[skip..];
        let length = word.find(is_separator).unwrap_or(word.len());
        let start = consumed + skip;
        rest = &word[length..];
        consumed = start + length;
        Some((start, &word[..length]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::source::parse;
    use crate::analysis::{LintSettings, lint_source};

    /// `source` with the suppression of its one finding applied, and the line it went on.
    fn suppressed(source: &str) -> Option<(String, SuppressionLine)> {
        let findings = lint_source(source, None, &LintSettings::default());
        let [finding] = findings.as_slice() else { panic!("one finding expected in {source:?}: {findings:?}") };
        let tree = parse(source);
        let (edit, line) = suppression(source, tree.root_node(), finding)?;
        let mut text = source.to_string();
        text.replace_range(edit.range.start..edit.range.end, &edit.content);
        assert!(!parse(&text).root_node().has_error(), "{text}");
        assert_eq!(lint_source(&text, None, &LintSettings::default()), [], "still reported:\n{text}");
        Some((text, line))
    }

    const HEAD: &str = "import time\n\nasync def f():\n";

    fn body(lines: &str) -> String {
        format!("{HEAD}{lines}")
    }

    #[test]
    fn appends_a_directive_at_the_end_of_the_reported_line() {
        let cases = [
            ("    time.sleep(1)\n", "    time.sleep(1)  # noqa: LW101\n"),
            ("    time.sleep(1)   \n", "    time.sleep(1)  # noqa: LW101\n"),
            ("    time.sleep(1)  # wait\n", "    time.sleep(1)  # wait  # noqa: LW101\n"),
            ("    x = '#'; time.sleep(1)\n", "    x = '#'; time.sleep(1)  # noqa: LW101\n"),
            ("    time.sleep(1); x = '😀'", "    time.sleep(1); x = '😀'  # noqa: LW101"),
        ];
        for (before, after) in cases {
            assert_eq!(suppressed(&body(before)), Some((body(after), SuppressionLine::Reported)), "{before:?}");
        }
    }

    #[test]
    fn keeps_crlf_and_tabs() {
        let before = "import time\r\n\r\nasync def f():\r\n\ttime.sleep(1)\r\n\tx = 1\r\n";
        let after = "import time\r\n\r\nasync def f():\r\n\ttime.sleep(1)  # noqa: LW101\r\n\tx = 1\r\n";
        assert_eq!(suppressed(before), Some((after.to_string(), SuppressionLine::Reported)));
    }

    #[test]
    fn extends_an_existing_code_list() {
        let cases = [
            ("    time.sleep(1)  # noqa: LW102\n", "    time.sleep(1)  # noqa: LW102, LW101\n"),
            ("    time.sleep(1)  #noqa:LW102 because\n", "    time.sleep(1)  #noqa:LW102, LW101 because\n"),
            (
                "    time.sleep(1)  # type: ignore  # NOQA: LW102,ASYNC210\n",
                "    time.sleep(1)  # type: ignore  # NOQA: LW102,ASYNC210, LW101\n",
            ),
        ];
        for (before, after) in cases {
            assert_eq!(suppressed(&body(before)), Some((body(after), SuppressionLine::Reported)), "{before:?}");
        }
    }

    #[test]
    fn falls_back_to_the_first_line_of_the_statement() {
        // The reported line ends inside a string: a comment there would be string content.
        let before = "    x = [1,\n         time.sleep(len(\"\"\"\nabc\"\"\")), 2]\n";
        let after = "    x = [1,  # noqa: LW101\n         time.sleep(len(\"\"\"\nabc\"\"\")), 2]\n";
        assert_eq!(suppressed(&body(before)), Some((body(after), SuppressionLine::StatementStart)));
        // The reported line continues with a backslash.
        let before = "    y = [\n        time.sleep(1) or \\\n        0]\n";
        let after = "    y = [  # noqa: LW101\n        time.sleep(1) or \\\n        0]\n";
        assert_eq!(suppressed(&body(before)), Some((body(after), SuppressionLine::StatementStart)));
    }

    #[test]
    fn no_edit_where_no_line_can_hold_the_comment() {
        assert_eq!(suppressed(&body("    time.sleep(len(\"\"\"\nabc\"\"\"))\n")), None);
        assert_eq!(suppressed(&body("    time.sleep(1) or \\\n        0\n")), None);
    }

    #[test]
    fn a_bare_noqa_needs_no_code() {
        let source = body("    x = 1  # noqa\n");
        let tree = parse(&source);
        let line = source.find("    x").expect("line");
        assert_eq!(add_code(&source, tree.root_node(), line, "LW101"), None);
        let source = body("    x = 1  # noqa: see below\n");
        assert_eq!(add_code(&source, parse(&source).root_node(), line, "LW101"), None);
    }

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
