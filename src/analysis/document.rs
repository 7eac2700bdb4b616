//! An open, editable source text: a rope, its syntax tree, kept in step by incremental edits.
//!
//! Owns applying byte-range edits to the text and the tree (`Tree::edit`, then an incremental
//! reparse that reads the rope's chunks). The text is also kept whole, edited in place: the
//! analysis reads one `&str`, and copying the rope into a new `String` on every keystroke cost
//! an allocation and a copy of the file (an edit in place moves the bytes after it, no more). It speaks byte offsets only: turning editor positions
//! into offsets is [`crate::position`]'s job, and nothing here knows the LSP or async runtimes.

use std::sync::Arc;

use ropey::Rope;
use tree_sitter::{InputEdit, Point, Tree};

use crate::analysis::newlines;
use crate::analysis::source::{self, with_parser};

/// A source text with its syntax tree and the version the editor gave it.
#[derive(Debug, Clone)]
pub struct Document {
    rope: Rope,
    /// The same text as `rope`, whole. Shared with snapshots: an edit while a snapshot still
    /// holds it copies it first (`Arc::make_mut`), so a snapshot's text never changes.
    text: Arc<String>,
    /// The text as the engine reads it ([`newlines::normalized`]), while it differs from `text`.
    normalized: Option<Arc<String>>,
    /// The tree of the normalized text: its rows are the rope's lines.
    tree: Tree,
    version: i32,
    /// How many `\r`s the text holds that no `\n` follows: while there are none, the text is
    /// its own normalized form.
    lone_crs: usize,
}

impl Document {
    pub fn new(text: &str, version: i32) -> Self {
        let lone_crs = lone_crs(text.bytes());
        Self {
            rope: Rope::from_str(text),
            text: Arc::new(text.to_string()),
            normalized: normalized_copy(text, lone_crs),
            tree: source::parse(text),
            version,
            lone_crs,
        }
    }

    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    /// The tree of [`Document::analysis_text`].
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub fn version(&self) -> i32 {
        self.version
    }

    pub fn set_version(&mut self, version: i32) {
        self.version = version;
    }

    /// The whole text, as the editor has it, shared (cheap to clone).
    pub fn text(&self) -> &Arc<String> {
        &self.text
    }

    /// The whole text as the engine analyses it (its lone `\r`s made `\n`s), shared: the same
    /// as [`Document::text`] but for a text with lone `\r`s. Current after [`Document::reparse`].
    pub fn analysis_text(&self) -> &Arc<String> {
        self.normalized.as_ref().unwrap_or(&self.text)
    }

    /// Replaces the bytes `[start_byte, old_end_byte)` with `new_text` and tells the tree.
    ///
    /// The offsets should come from [`crate::position`] and so lie on character boundaries;
    /// offsets that do not (or lie past the end, or are reversed) are moved back to the
    /// nearest boundary rather than corrupting the rope. Call [`Document::reparse`] after the
    /// last edit of a batch: reparsing once per batch is cheaper than once per edit.
    pub fn apply_edit(&mut self, start_byte: usize, old_end_byte: usize, new_text: &str) {
        let start_byte = self.floor_char_boundary(start_byte);
        let old_end_byte = self.floor_char_boundary(old_end_byte).max(start_byte);
        // A `\r` just before the edit is a line break of its own or half of a CRLF by what
        // follows it, which the edit changes: the tree reads it as `\n` or `\r`, so for the
        // tree it is part of the edit.
        let before = start_byte.saturating_sub(1);
        let tree_start = if self.rope.get_byte(before) == Some(b'\r') { before } else { start_byte };
        let start_position = self.point_at(tree_start);
        let old_end_position = self.point_at(old_end_byte);

        // Only the `\r`s from just before the edit to its end can change whether a `\n`
        // follows them.
        let removed = self.lone_crs_from(before, old_end_byte - before);
        let start_char = self.rope.byte_to_char(start_byte);
        let old_end_char = self.rope.byte_to_char(old_end_byte);
        self.rope.remove(start_char..old_end_char);
        self.rope.insert(start_char, new_text);
        Arc::make_mut(&mut self.text).replace_range(start_byte..old_end_byte, new_text);
        let added = self.lone_crs_from(before, start_byte + new_text.len() - before);
        self.lone_crs = (self.lone_crs + added).saturating_sub(removed);

        let new_end_byte = start_byte + new_text.len();
        self.tree.edit(&InputEdit {
            start_byte: tree_start,
            old_end_byte,
            new_end_byte,
            start_position,
            old_end_position,
            new_end_position: self.point_at(new_end_byte),
        });
    }

    /// Reparses after edits, reusing the unchanged parts of the old tree.
    pub fn reparse(&mut self) {
        self.normalized = normalized_copy(&self.text, self.lone_crs);
        let tree = if let Some(normalized) = &self.normalized {
            with_parser(|parser| {
                parser.reset();
                parser.parse(normalized.as_bytes(), Some(&self.tree))
            })
        } else {
            let rope = &self.rope;
            let len = rope.len_bytes();
            with_parser(|parser| {
                parser.reset();
                parser.parse_with_options(
                    &mut |byte: usize, _: Point| -> &[u8] {
                        if byte >= len {
                            return &[];
                        }
                        let (chunk, chunk_start, _, _) = rope.chunk_at_byte(byte);
                        &chunk.as_bytes()[byte - chunk_start..]
                    },
                    Some(&self.tree),
                    None,
                )
            })
        };
        // Without a timeout or a cancellation flag the parser always returns a tree; should it
        // ever not, a full parse is correct, only slower.
        self.tree = tree.unwrap_or_else(|| source::parse(&self.text));
    }

    /// Replaces the whole text (a full-document change) and parses it from scratch.
    pub fn replace_all(&mut self, text: &str) {
        self.rope = Rope::from_str(text);
        self.text = Arc::new(text.to_string());
        self.lone_crs = lone_crs(text.bytes());
        self.normalized = normalized_copy(text, self.lone_crs);
        self.tree = source::parse(text);
    }

    /// The lone `\r`s among the `count` bytes from `start` (looking one byte past them).
    fn lone_crs_from(&self, start: usize, count: usize) -> usize {
        if start >= self.rope.len_bytes() {
            return 0;
        }
        let bytes = self.rope.bytes_at(start).take(count + 1);
        // The byte past the range is only looked at: as the last one read, a `\r` there was
        // counted.
        let past = self.rope.get_byte(start + count) == Some(b'\r');
        lone_crs(bytes) - usize::from(past)
    }

    fn floor_char_boundary(&self, byte: usize) -> usize {
        let byte = byte.min(self.rope.len_bytes());
        self.rope.char_to_byte(self.rope.byte_to_char(byte))
    }

    /// The tree-sitter point of `byte`. The tree is of the normalized text, where a line ends
    /// at `\n` alone, and the rope's lines end at `\n`, `\r\n` and a lone `\r`: the same lines.
    fn point_at(&self, byte: usize) -> Point {
        let row = self.rope.byte_to_line(byte);
        Point { row, column: byte - self.rope.line_to_byte(row) }
    }
}

/// The normalized form of `text`, when it has lone `\r`s (`lone_crs` of them).
fn normalized_copy(text: &str, lone_crs: usize) -> Option<Arc<String>> {
    (lone_crs > 0).then(|| Arc::new(newlines::normalized(text).into_owned()))
}

/// How many `\r`s of `bytes` no `\n` follows.
fn lone_crs(bytes: impl Iterator<Item = u8>) -> usize {
    let mut bytes = bytes.peekable();
    let mut count = 0;
    while let Some(byte) = bytes.next() {
        if byte == b'\r' && bytes.peek() != Some(&b'\n') {
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    const FRAGMENTS: &[&str] = &[
        "",
        "\n",
        "\r\n",
        "\r",
        "x",
        "time.sleep(1)",
        "async def f():\n    ",
        "😀",
        "日本",
        "(",
        ")",
        "    await g()\n",
        "'",
        "#",
    ];

    fn random_char_boundary(rng: &mut StdRng, text: &str) -> usize {
        let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
        boundaries[rng.random_range(0..boundaries.len())]
    }

    /// A range between two random character boundaries of `text`.
    fn random_range(rng: &mut StdRng, text: &str) -> (usize, usize) {
        let (a, b) = (random_char_boundary(rng, text), random_char_boundary(rng, text));
        (a.min(b), a.max(b))
    }

    #[test]
    fn incremental_reparse_matches_a_fresh_parse() {
        for seed in 0..20 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut expected = String::from("import time\n\nasync def main():\n    time.sleep(1)\n    x = '😀'\r\n");
            let mut document = Document::new(&expected, 0);
            for _ in 0..40 {
                let (start, end) = random_range(&mut rng, &expected);
                let end = if rng.random_bool(0.5) { start } else { end };
                let insert = FRAGMENTS[rng.random_range(0..FRAGMENTS.len())];
                expected.replace_range(start..end, insert);
                document.apply_edit(start, end, insert);
                if rng.random_bool(0.7) {
                    document.reparse();
                }
            }
            document.reparse();
            assert_eq!(document.text().as_str(), expected, "seed {seed}");
            assert_eq!(document.rope().to_string(), expected, "seed {seed}");
            assert_eq!(
                document.tree().root_node().to_sexp(),
                source::parse(&expected).root_node().to_sexp(),
                "seed {seed}: incremental tree differs from a fresh parse of {expected:?}"
            );
        }
    }

    #[test]
    fn lone_carriage_returns_stay_line_breaks_through_edits() {
        // Edits that make a `\r` lone or half of a CRLF, or a `\n` join one, right at the edit.
        const BREAKS: &[&str] = &["\r", "\n", "\r\n", "a\r", "\nb", "x", "😀\r", "    time.sleep(1)\r"];
        for seed in 0..40 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut expected = String::from("import time\rasync def f():\r\n    x = 1\r    😀\n");
            let mut document = Document::new(&expected, 0);
            for step in 0..60 {
                let (start, end) = random_range(&mut rng, &expected);
                let insert = BREAKS[rng.random_range(0..BREAKS.len())];
                expected.replace_range(start..end, insert);
                document.apply_edit(start, end, insert);
                assert_eq!(document.lone_crs, lone_crs(expected.bytes()), "seed {seed}, step {step}: {expected:?}");
                if rng.random_bool(0.5) {
                    document.reparse();
                    assert_eq!(document.analysis_text().as_str(), newlines::normalized(&expected), "seed {seed}");
                    assert_eq!(
                        document.tree().root_node().to_sexp(),
                        source::parse(&expected).root_node().to_sexp(),
                        "seed {seed}, step {step}: incremental tree differs from a fresh parse of {expected:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_lone_carriage_return_ends_a_row_as_python_ends_a_line() {
        let mut document = Document::new("a\r\nb\rc\nd😀e", 0);
        assert_eq!(document.point_at(0), Point { row: 0, column: 0 });
        assert_eq!(document.point_at(3), Point { row: 1, column: 0 });
        assert_eq!(document.point_at(4), Point { row: 1, column: 1 });
        assert_eq!(document.point_at(5), Point { row: 2, column: 0 });
        assert_eq!(document.point_at(7), Point { row: 3, column: 0 });
        assert_eq!(document.point_at(12), Point { row: 3, column: 5 });
        assert_eq!(document.analysis_text().as_str(), "a\r\nb\nc\nd😀e");
        assert_eq!(document.tree().root_node().end_position(), Point { row: 3, column: 6 });
        document.apply_edit(5, 5, "\n");
        document.reparse();
        // Now a CRLF, no longer lone: the text is its own analysis text again.
        assert_eq!(document.analysis_text().as_str(), "a\r\nb\r\nc\nd😀e");
        assert!(Arc::ptr_eq(document.analysis_text(), document.text()));
    }

    #[test]
    fn a_text_handed_out_before_an_edit_stays_as_it_was() {
        let mut document = Document::new("async def f():\n    pass\n", 0);
        let before = Arc::clone(document.text());
        document.apply_edit(4, 4, "x");
        assert_eq!(before.as_str(), "async def f():\n    pass\n");
        assert_eq!(document.text().as_str(), "asynxc def f():\n    pass\n");
        assert_eq!(document.rope().to_string(), document.text().as_str());
    }

    #[test]
    fn edits_off_char_boundaries_or_out_of_range_do_not_corrupt_the_text() {
        let mut document = Document::new("a😀b", 0);
        document.apply_edit(2, 99, "X");
        document.reparse();
        assert_eq!(document.text().as_str(), "aX");
        document.apply_edit(5, 1, "Y");
        assert_eq!(document.text().as_str(), "aXY");
    }
}
