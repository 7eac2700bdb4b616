//! Invariants of ARCHITECTURE.md that a test can hold: the engine (`src/analysis`, `src/rules`)
//! imports nothing from the protocol, CLI or configuration layers, nor tokio or JSON; and the
//! lint that forbids `DashMap` guards across `.await` stays configured.

use std::path::{Path, PathBuf};

fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap_or_else(|error| panic!("{}: {error}", folder.display())) {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn engine_imports_nothing_from_the_outer_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let forbidden = [
        "crate::lsp",
        "crate::cli",
        "crate::config",
        "crate::workspace",
        "tower_lsp_server",
        "tokio",
        "serde_json",
        "dashmap",
        "ls_types",
    ];
    let mut violations = Vec::new();
    for folder in ["src/analysis", "src/rules"] {
        for file in rust_files(&root.join(folder)) {
            let text = std::fs::read_to_string(&file).expect("readable source");
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for name in forbidden {
                    if code.contains(name) {
                        violations.push(format!("{}:{}: uses `{name}`", file.display(), number + 1));
                    }
                }
            }
        }
    }
    assert!(violations.is_empty(), "the engine must not know the outer layers:\n{}", violations.join("\n"));
}

#[test]
fn the_notebook_model_knows_no_engine_and_no_layer() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/notebook.rs");
    let text = std::fs::read_to_string(&path).expect("src/notebook.rs");
    let forbidden = ["crate::analysis", "crate::rules", "crate::lsp", "crate::cli", "crate::config", "tree_sitter"];
    let violations: Vec<String> = text
        .lines()
        .enumerate()
        .flat_map(|(number, line)| {
            let code = line.split("//").next().unwrap_or_default().to_string();
            forbidden
                .iter()
                .filter(move |name| code.contains(*name))
                .map(move |name| format!("{}: uses `{name}`", number + 1))
        })
        .collect();
    assert!(violations.is_empty(), "src/notebook.rs must stay engine-independent:\n{}", violations.join("\n"));
}

#[test]
fn dashmap_guards_across_await_are_linted() {
    let config =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("clippy.toml")).expect("clippy.toml");
    for guard in ["dashmap::mapref::one::Ref", "dashmap::mapref::one::RefMut", "dashmap::mapref::entry::Entry"] {
        assert!(
            config.contains(&format!("\"{guard}\"")),
            "clippy.toml must list {guard} in await-holding-invalid-types"
        );
    }
}
