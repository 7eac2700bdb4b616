//! Byte offsets <-> (line, column) positions, in UTF-8, UTF-16 or characters.
//!
//! The engine speaks only byte offsets; editors and terminals speak lines and columns in some
//! encoding. This module is the one place that converts between the two, so every caller (the
//! language server with its negotiated encoding, the CLI with 1-based character columns) gets
//! the same answer for the same text.
//!
//! Lines are ropey's lines, which with the `cr_lines` feature end at LF, CR or CRLF: exactly the
//! line endings the LSP defines. Nothing here knows the LSP types; callers wrap the numbers.
//!
//! No conversion panics. Out-of-range input (a line past the end, a column past the end of its
//! line, an offset inside a UTF-8 sequence, a UTF-16 column between the halves of a surrogate
//! pair) is clamped to the nearest valid place before it, and the result says so, so the caller
//! can log a client that sends such positions.

use ropey::RopeSlice;

/// The unit a column counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PositionEncoding {
    /// Bytes of UTF-8.
    Utf8,
    /// UTF-16 code units (the LSP default): characters outside the BMP count twice.
    Utf16,
    /// Unicode scalar values, i.e. characters.
    Utf32,
}

/// A zero-based line and a zero-based column counted in some [`PositionEncoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LineColumn {
    pub line: usize,
    pub column: usize,
}

impl LineColumn {
    pub const fn new(line: usize, column: usize) -> Self {
        Self { line, column }
    }
}

/// A converted value, and whether the input had to be clamped to produce it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clamped<T> {
    pub value: T,
    pub clamped: bool,
}

/// The line and column of byte `offset`.
///
/// An offset past the end of the text clamps to the end; one inside a multi-byte character
/// clamps to the start of that character.
pub fn offset_to_position(text: RopeSlice<'_>, offset: usize, encoding: PositionEncoding) -> Clamped<LineColumn> {
    let (offset, clamped) = floor_char_boundary(text, offset);
    let line = text.byte_to_line(offset);
    let line_start = text.line_to_byte(line);
    let column = match encoding {
        PositionEncoding::Utf8 => offset - line_start,
        PositionEncoding::Utf16 => {
            text.char_to_utf16_cu(text.byte_to_char(offset)) - text.char_to_utf16_cu(text.byte_to_char(line_start))
        }
        PositionEncoding::Utf32 => text.byte_to_char(offset) - text.byte_to_char(line_start),
    };
    Clamped { value: LineColumn { line, column }, clamped }
}

/// The byte offset of `position`.
///
/// A line past the last one clamps to the end of the text; a column past the end of its line
/// clamps to the end of the line (before its line break); a column inside a character (a UTF-8
/// continuation byte, the second half of a surrogate pair) clamps to the start of the character.
pub fn position_to_offset(text: RopeSlice<'_>, position: LineColumn, encoding: PositionEncoding) -> Clamped<usize> {
    if position.line >= text.len_lines() {
        return Clamped { value: text.len_bytes(), clamped: true };
    }
    let line = text.line(position.line);
    let line_start = text.line_to_byte(position.line);
    let content = line.slice(..line.len_chars() - line_break_chars(line));
    let (content_offset, clamped) = match encoding {
        PositionEncoding::Utf8 => {
            if position.column > content.len_bytes() {
                (content.len_bytes(), true)
            } else {
                floor_char_boundary(content, position.column)
            }
        }
        PositionEncoding::Utf16 => {
            let units = content.len_utf16_cu();
            if position.column > units {
                (content.len_bytes(), true)
            } else {
                // ropey rounds a column between the halves of a surrogate pair down to the
                // character that owns the pair, which is the clamping we want.
                let char_index = content.utf16_cu_to_char(position.column);
                let exact = content.char_to_utf16_cu(char_index) == position.column;
                (content.char_to_byte(char_index), !exact)
            }
        }
        PositionEncoding::Utf32 => {
            let chars = content.len_chars();
            if position.column > chars {
                (content.len_bytes(), true)
            } else {
                (content.char_to_byte(position.column), false)
            }
        }
    };
    Clamped { value: line_start + content_offset, clamped }
}

/// Both ends of a byte range as positions.
pub fn range_to_positions(
    text: RopeSlice<'_>,
    start: usize,
    end: usize,
    encoding: PositionEncoding,
) -> Clamped<(LineColumn, LineColumn)> {
    let start = offset_to_position(text, start, encoding);
    let end = offset_to_position(text, end, encoding);
    Clamped { value: (start.value, end.value), clamped: start.clamped || end.clamped }
}

/// `offset` moved back to the nearest character boundary at or before it (and at most to the
/// end of the text), and whether it moved.
fn floor_char_boundary(text: RopeSlice<'_>, offset: usize) -> (usize, bool) {
    if offset >= text.len_bytes() {
        return (text.len_bytes(), offset > text.len_bytes());
    }
    let boundary = text.char_to_byte(text.byte_to_char(offset));
    (boundary, boundary != offset)
}

/// How many characters of `line` are its line break: 2 for CRLF, 1 for LF or CR, 0 for the last
/// line when the text does not end with a break.
fn line_break_chars(line: RopeSlice<'_>) -> usize {
    let len = line.len_chars();
    match (len.checked_sub(2).map(|i| line.char(i)), len.checked_sub(1).map(|i| line.char(i))) {
        (Some('\r'), Some('\n')) => 2,
        (_, Some('\n' | '\r')) => 1,
        _ => 0,
    }
}

/// The lines of a text that is not a rope, for converting many of its offsets: the CLI's
/// report of a file's findings. Lines and positions are exactly [`offset_to_position`]'s;
/// building a rope for each file reported was a tenth of a cached run on HA.
pub struct LineStarts<'a> {
    text: &'a str,
    /// The byte offset each line starts at; the first is 0.
    starts: Vec<usize>,
}

impl<'a> LineStarts<'a> {
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut from = 0;
        while let Some(found) = memchr::memchr2(b'\n', b'\r', &bytes[from..]) {
            let at = from + found;
            // CRLF is one line break; a lone CR is one as well, as in Python.
            let end = if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') { at + 2 } else { at + 1 };
            starts.push(end);
            from = end;
        }
        Self { text, starts }
    }

    /// How many lines the text has: one more than its line breaks.
    pub fn len_lines(&self) -> usize {
        self.starts.len()
    }

    /// Line `index` (zero-based) with its line break; `None` past the last line.
    pub fn line(&self, index: usize) -> Option<&'a str> {
        let start = *self.starts.get(index)?;
        let end = self.starts.get(index + 1).copied().unwrap_or(self.text.len());
        self.text.get(start..end)
    }

    /// [`offset_to_position`] in this text.
    pub fn position(&self, offset: usize, encoding: PositionEncoding) -> Clamped<LineColumn> {
        let mut at = offset.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let line = self.starts.partition_point(|start| *start <= at) - 1;
        let before = &self.text[self.starts[line]..at];
        let column = match encoding {
            PositionEncoding::Utf8 => before.len(),
            PositionEncoding::Utf16 => before.encode_utf16().count(),
            PositionEncoding::Utf32 => before.chars().count(),
        };
        Clamped { value: LineColumn { line, column }, clamped: at != offset }
    }
}

#[cfg(test)]
mod tests {
    use ropey::Rope;

    use super::*;
    use PositionEncoding::{Utf8, Utf16, Utf32};

    #[test]
    fn line_starts_agree_with_the_rope_at_every_offset() {
        let texts = [
            "",
            "a",
            "a\n",
            "a\nb",
            "a\r\nb\rc\n\n",
            "\r\r\n\n\r",
            "é\r😀x\r\nß",
            "x = 1\r  # ü\r\n\ty\n",
            "\n",
            "\r",
            "tail\r\n",
        ];
        for text in texts {
            let rope = Rope::from_str(text);
            let lines = LineStarts::new(text);
            assert_eq!(lines.len_lines(), rope.len_lines(), "{text:?}");
            for index in 0..=rope.len_lines() {
                assert_eq!(
                    lines.line(index).map(str::to_string),
                    rope.get_line(index).map(String::from),
                    "{text:?} {index}"
                );
            }
            for offset in 0..=text.len() + 2 {
                for encoding in [Utf8, Utf16, Utf32] {
                    assert_eq!(
                        lines.position(offset, encoding),
                        offset_to_position(rope.slice(..), offset, encoding),
                        "{text:?} at {offset} in {encoding:?}"
                    );
                }
            }
        }
    }

    fn pos(line: usize, column: usize) -> LineColumn {
        LineColumn::new(line, column)
    }

    fn to_position(text: &str, offset: usize, encoding: PositionEncoding) -> (LineColumn, bool) {
        let rope = Rope::from_str(text);
        let result = offset_to_position(rope.slice(..), offset, encoding);
        (result.value, result.clamped)
    }

    fn to_offset(text: &str, position: LineColumn, encoding: PositionEncoding) -> (usize, bool) {
        let rope = Rope::from_str(text);
        let result = position_to_offset(rope.slice(..), position, encoding);
        (result.value, result.clamped)
    }

    #[test]
    fn ascii_is_the_same_in_every_encoding() {
        let text = "import time\nasync def f():\n    time.sleep(1)\n";
        let offset = text.find("time.sleep").unwrap();
        for encoding in [Utf8, Utf16, Utf32] {
            assert_eq!(to_position(text, offset, encoding), (pos(2, 4), false));
            assert_eq!(to_offset(text, pos(2, 4), encoding), (offset, false));
        }
    }

    #[test]
    fn emoji_counts_four_bytes_two_units_one_char() {
        // U+1F600 is 4 bytes in UTF-8 and a surrogate pair in UTF-16.
        let text = "x = '😀'; time.sleep(1)\n";
        let offset = text.find("time").unwrap();
        assert_eq!(offset, 12);
        assert_eq!(to_position(text, offset, Utf8), (pos(0, 12), false));
        assert_eq!(to_position(text, offset, Utf16), (pos(0, 10), false));
        assert_eq!(to_position(text, offset, Utf32), (pos(0, 9), false));
        assert_eq!(to_offset(text, pos(0, 12), Utf8), (offset, false));
        assert_eq!(to_offset(text, pos(0, 10), Utf16), (offset, false));
        assert_eq!(to_offset(text, pos(0, 9), Utf32), (offset, false));
    }

    #[test]
    fn utf16_column_inside_a_surrogate_pair_clamps_to_the_emoji_start() {
        let text = "a😀b";
        // Column 2 is between the two halves of the pair that starts at column 1.
        assert_eq!(to_offset(text, pos(0, 2), Utf16), (1, true));
        assert_eq!(to_offset(text, pos(0, 3), Utf16), (5, false));
    }

    #[test]
    fn utf8_offset_inside_a_character_clamps_to_its_start() {
        let text = "a😀b";
        assert_eq!(to_position(text, 3, Utf16), (pos(0, 1), true));
        assert_eq!(to_offset(text, pos(0, 2), Utf8), (1, true));
    }

    #[test]
    fn cjk_is_three_bytes_one_unit() {
        let text = "# 日本語\nx\n";
        let offset = text.find('x').unwrap();
        assert_eq!(to_position(text, offset, Utf8), (pos(1, 0), false));
        assert_eq!(to_position(text, offset - 1, Utf8), (pos(0, 11), false));
        assert_eq!(to_position(text, offset - 1, Utf16), (pos(0, 5), false));
        assert_eq!(to_position(text, offset - 1, Utf32), (pos(0, 5), false));
        assert_eq!(to_offset(text, pos(0, 3), Utf16), (5, false));
        // Byte column 3 is inside `日` (bytes 2..5).
        assert_eq!(to_offset(text, pos(0, 3), Utf8), (2, true));
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        let text = "a\r\nbc\rd\ne";
        assert_eq!(to_position(text, text.find('b').unwrap(), Utf16), (pos(1, 0), false));
        assert_eq!(to_position(text, text.find('d').unwrap(), Utf16), (pos(2, 0), false));
        assert_eq!(to_position(text, text.find('e').unwrap(), Utf16), (pos(3, 0), false));
        assert_eq!(to_offset(text, pos(2, 0), Utf8), (text.find('d').unwrap(), false));
        // A column past the end of a CRLF line stops before the `\r`, not between `\r` and `\n`.
        assert_eq!(to_offset(text, pos(0, 5), Utf16), (1, true));
        assert_eq!(to_offset(text, pos(1, 2), Utf16), (text.find('c').unwrap() + 1, false));
    }

    #[test]
    fn empty_last_line_is_addressable() {
        let text = "a\n";
        assert_eq!(to_position(text, 2, Utf16), (pos(1, 0), false));
        assert_eq!(to_offset(text, pos(1, 0), Utf16), (2, false));
        assert_eq!(to_offset("", pos(0, 0), Utf16), (0, false));
        assert_eq!(to_position("", 0, Utf8), (pos(0, 0), false));
    }

    #[test]
    fn out_of_range_positions_clamp_and_say_so() {
        let text = "ab\ncd";
        assert_eq!(to_offset(text, pos(7, 0), Utf16), (5, true));
        assert_eq!(to_offset(text, pos(0, 99), Utf8), (2, true));
        assert_eq!(to_offset(text, pos(1, 99), Utf32), (5, true));
        assert_eq!(to_position(text, 99, Utf16), (pos(1, 2), true));
        assert_eq!(to_offset("", pos(0, 1), Utf16), (0, true));
    }

    #[test]
    fn round_trips_every_boundary() {
        let text = "é😀\r\n日\rz\n\n😀";
        let rope = Rope::from_str(text);
        for (offset, _) in text.char_indices().chain([(text.len(), ' ')]) {
            for encoding in [Utf8, Utf16, Utf32] {
                let position = offset_to_position(rope.slice(..), offset, encoding);
                assert!(!position.clamped, "{offset} {encoding:?}");
                let back = position_to_offset(rope.slice(..), position.value, encoding);
                // The one exception: the offset of the `\n` in a CRLF is not a line position.
                if text.as_bytes().get(offset) == Some(&b'\n') && offset > 0 && text.as_bytes()[offset - 1] == b'\r' {
                    continue;
                }
                assert_eq!((back.value, back.clamped), (offset, false), "{offset} {encoding:?}");
            }
        }
    }
}
