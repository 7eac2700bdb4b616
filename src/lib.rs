//! loopwise: finds asyncio pitfalls in Python code.
//!
//! - [`analysis`]: the engine (text + tree -> diagnostics), no I/O and no protocol.
//! - [`rules`]: one module per rule, with its documentation.
//! - [`config`]: configuration files, CLI and editor settings -> [`analysis::LintSettings`].
//! - [`notebook`]: Jupyter notebooks as one Python text, and fixes written back into cells.
//! - [`position`]: byte offsets <-> (line, column) in UTF-8, UTF-16 or characters.
//! - [`cli`]: `loopwise check`; [`lsp`]: `loopwise server`.

pub mod analysis;
pub mod cli;
pub mod config;
pub mod files;
pub mod lsp;
pub mod notebook;
pub mod position;
pub mod rules;
pub mod workspace;
