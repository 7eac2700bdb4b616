//! Temporary: byte offsets -> (line, column); replaced by the full conversion module.
use ropey::Rope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionEncoding {
    Utf8,
    Utf16,
    Utf32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub character: usize,
}

pub fn byte_to_position(rope: &Rope, byte: usize, encoding: PositionEncoding) -> Position {
    let byte = byte.min(rope.len_bytes());
    let char_index = rope.byte_to_char(byte);
    let line = rope.char_to_line(char_index);
    let line_start = rope.line_to_char(line);
    let character = match encoding {
        PositionEncoding::Utf32 => char_index - line_start,
        PositionEncoding::Utf8 => byte - rope.line_to_byte(line),
        PositionEncoding::Utf16 => rope.char_to_utf16_cu(char_index) - rope.char_to_utf16_cu(line_start),
    };
    Position { line, character }
}
