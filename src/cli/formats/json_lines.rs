//! `--output-format json-lines`: the objects of the `json` format, one per line (no array),
//! so a consumer can read findings as they come.

use std::io::{self, Write};

use serde_json::Value;

/// Writes each of `messages` (the `json` format's objects) on a line of its own.
pub fn write(out: &mut impl Write, messages: &[Value]) -> io::Result<()> {
    for message in messages {
        serde_json::to_writer(&mut *out, message).map_err(io::Error::other)?;
        writeln!(out)?;
    }
    Ok(())
}
