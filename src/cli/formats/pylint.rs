//! `--output-format pylint`: `path:row: [CODE] message`, one line per finding, which editors
//! and CI parsers that read pylint's parseable output understand.

use std::io::{self, Write};

use super::{Findings, path_in_cell};
use crate::cli::CheckedFile;

pub fn write(out: &mut impl Write, files: &[CheckedFile]) -> io::Result<()> {
    for finding in Findings::of(files).findings {
        writeln!(
            out,
            "{}:{}: [{}] {}",
            path_in_cell(&finding.file.path, finding.cell),
            finding.start.row,
            finding.diagnostic.rule.code(),
            finding.diagnostic.message
        )?;
    }
    Ok(())
}
