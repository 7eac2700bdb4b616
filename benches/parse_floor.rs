//! The floor a cold check cannot go below: tree-sitter's own parse of every Python file of a
//! tree, one thread, in a tight loop (the parser and its tables stay hot, nothing else runs).
//! Prints MB/s and CPU seconds to set beside `throughput.py`'s cold figures.
//!
//!     cargo bench --bench parse_floor -- benches/.corpus/homeassistant-2024.3.3/homeassistant
//!
//! Given a file instead of a folder, it parses that one file (`keystroke.py`'s floor for opening).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn python_files(root: &Path) -> Vec<PathBuf> {
    if root.is_file() {
        return vec![root.to_path_buf()];
    }
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(path),
                Ok(kind) if kind.is_file() && path.extension().is_some_and(|extension| extension == "py") => {
                    files.push(path);
                }
                _ => {}
            }
        }
    }
    files
}

fn main() {
    // `cargo bench` passes `--bench`; the first other argument is the tree.
    let Some(root) = std::env::args().skip(1).find(|argument| !argument.starts_with("--")) else {
        eprintln!("usage: cargo bench --bench parse_floor -- FOLDER");
        std::process::exit(2);
    };
    let sources: Vec<String> =
        python_files(Path::new(&root)).iter().filter_map(|path| std::fs::read_to_string(path).ok()).collect();
    if sources.is_empty() {
        eprintln!("no readable Python files below {root}");
        std::process::exit(2);
    }
    let bytes: usize = sources.iter().map(String::len).sum();
    // In kilobytes, exactly representable for any tree of Python.
    let megabytes = u32::try_from(bytes / 1000).map_or(f64::MAX, f64::from) / 1000.0;
    let mut parser = tree_sitter::Parser::new();
    if parser.set_language(&tree_sitter_python::LANGUAGE.into()).is_err() {
        eprintln!("the Python grammar does not load");
        std::process::exit(2);
    }
    let mut out = std::io::stdout().lock();
    for round in 1..=5 {
        let start = Instant::now();
        let mut nodes = 0;
        for source in &sources {
            if let Some(tree) = parser.parse(source, None) {
                nodes += tree.root_node().descendant_count();
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        // A closed pipe (`| head`) just ends the output.
        let _ = writeln!(
            out,
            "round {round}: {} files, {:.1} MB, {nodes} nodes, parsed in {seconds:.4} s: {:.1} MB/s",
            sources.len(),
            megabytes,
            megabytes / seconds
        );
    }
}
