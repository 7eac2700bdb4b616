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

use crate::analysis::source::{self, with_parser};

/// A source text with its syntax tree and the version the editor gave it.
#[derive(Debug, Clone)]
pub struct Document {
    rope: Rope,
    /// The same text as `rope`, whole. Shared with snapshots: an edit while a snapshot still
    /// holds it copies it first (`Arc::make_mut`), so a snapshot's text never changes.
    text: Arc<String>,
    tree: Tree,
    version: i32,
    /// How many `\r`s the text holds that no `\n` follows: while there are none, the rope's
    /// line index counts tree-sitter's rows (see [`Document::point_at`]).
    lone_crs: usize,
}

impl Document {
    pub fn new(text: &str, version: i32) -> Self {
        Self {
            rope: Rope::from_str(text),
            text: Arc::new(text.to_string()),
            tree: source::parse(text),
            version,
            lone_crs: lone_crs(text.bytes()),
        }
    }

    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub fn version(&self) -> i32 {
        self.version
    }

    pub fn set_version(&mut self, version: i32) {
        self.version = version;
    }

    /// The whole text, shared (cheap to clone).
    pub fn text(&self) -> &Arc<String> {
        &self.text
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
        let start_position = self.point_at(start_byte);
        let old_end_position = self.point_at(old_end_byte);

        // Only the `\r`s from just before the edit to its end can change whether a `\n`
        // follows them.
        let before = start_byte.saturating_sub(1);
        let removed = self.lone_crs_from(before, old_end_byte - before);
        let start_char = self.rope.byte_to_char(start_byte);
        let old_end_char = self.rope.byte_to_char(old_end_byte);
        self.rope.remove(start_char..old_end_char);
        self.rope.insert(start_char, new_text);
        Arc::make_mut(&mut self.text).replace_range(start_byte..old_end_byte, new_text);
        let added = self.lone_crs_from(before, start_byte + new_text.len() - before);
        self.lone_crs = (self.lone_crs + added).saturating_sub(removed);

        self.tree.edit(&InputEdit {
            start_byte,
            old_end_byte,
            new_end_byte: start_byte + new_text.len(),
            start_position,
            old_end_position,
            new_end_position: advance(start_position, new_text),
        });
    }

    /// Reparses after edits, reusing the unchanged parts of the old tree.
    pub fn reparse(&mut self) {
        let rope = &self.rope;
        let len = rope.len_bytes();
        let tree = with_parser(|parser| {
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
        });
        // Without a timeout or a cancellation flag the parser always returns a tree; should it
        // ever not, a full parse is correct, only slower.
        self.tree = tree.unwrap_or_else(|| source::parse(&self.text));
    }

    /// Replaces the whole text (a full-document change) and parses it from scratch.
    pub fn replace_all(&mut self, text: &str) {
        self.rope = Rope::from_str(text);
        self.text = Arc::new(text.to_string());
        self.tree = source::parse(text);
        self.lone_crs = lone_crs(text.bytes());
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

    /// The tree-sitter point of `byte`. tree-sitter counts rows by `\n` only, while the rope's
    /// lines also break at a lone `\r`: the rope's line index counts rows only in a text
    /// without one (the common case, and O(log n)); with one, the text before is scanned.
    fn point_at(&self, byte: usize) -> Point {
        if self.lone_crs == 0 {
            let row = self.rope.byte_to_line(byte);
            return Point { row, column: byte - self.rope.line_to_byte(row) };
        }
        self.point_by_scan(byte)
    }

    fn point_by_scan(&self, byte: usize) -> Point {
        let mut row = 0;
        let mut line_start = 0;
        let mut chunk_start = 0;
        for chunk in self.rope.chunks() {
            if chunk_start >= byte {
                break;
            }
            // `byte` and `chunk_start` are character boundaries, so this slice is too.
            let before = &chunk[..chunk.len().min(byte - chunk_start)];
            row += before.matches('\n').count();
            if let Some(last) = before.rfind('\n') {
                line_start = chunk_start + last + 1;
            }
            chunk_start += chunk.len();
        }
        Point { row, column: byte - line_start }
    }
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

/// The point where `text` ends when it is inserted at `start`.
fn advance(start: Point, text: &str) -> Point {
    let newlines = text.bytes().filter(|&b| b == b'\n').count();
    match text.rfind('\n') {
        Some(last) => Point { row: start.row + newlines, column: text.len() - last - 1 },
        None => Point { row: start.row, column: start.column + text.len() },
    }
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
    fn points_and_lone_carriage_returns_stay_right_through_edits() {
        const BREAKS: &[&str] = &["\r", "\n", "\r\n", "a\r", "\nb", "x", "😀\r"];
        for seed in 0..40 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut expected = String::from("a\r\nb\n😀\r\nc");
            let mut document = Document::new(&expected, 0);
            for step in 0..60 {
                let (start, end) = random_range(&mut rng, &expected);
                let insert = BREAKS[rng.random_range(0..BREAKS.len())];
                expected.replace_range(start..end, insert);
                document.apply_edit(start, end, insert);
                assert_eq!(document.lone_crs, lone_crs(expected.bytes()), "seed {seed}, step {step}: {expected:?}");
                for byte in expected.char_indices().map(|(index, _)| index).chain([expected.len()]) {
                    assert_eq!(
                        document.point_at(byte),
                        document.point_by_scan(byte),
                        "seed {seed}: {expected:?} at {byte}"
                    );
                }
            }
        }
    }

    #[test]
    fn point_counts_only_line_feeds() {
        let document = Document::new("a\r\nb\rc\nd😀e", 0);
        assert_eq!(document.point_at(0), Point { row: 0, column: 0 });
        assert_eq!(document.point_at(3), Point { row: 1, column: 0 });
        // A lone `\r` does not start a tree-sitter row.
        assert_eq!(document.point_at(6), Point { row: 1, column: 3 });
        assert_eq!(document.point_at(7), Point { row: 2, column: 0 });
        assert_eq!(document.point_at(12), Point { row: 2, column: 5 });
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
