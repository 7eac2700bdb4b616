//! `docs/rules.md` is generated from the rules' doc comments: this test fails when the file
//! and the code disagree, and `UPDATE_DOCS=1 cargo test --test docs` rewrites it.

use std::path::Path;

#[test]
fn rules_reference_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
    let generated = loopwise::cli::rules_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/rules.md");
        return;
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    if written != generated {
        let first_difference = written
            .lines()
            .zip(generated.lines())
            .position(|(old, new)| old != new)
            .unwrap_or_else(|| written.lines().count().min(generated.lines().count()));
        panic!(
            "docs/rules.md is out of date (first difference at line {}): regenerate it with\n    \
             UPDATE_DOCS=1 cargo test --test docs\nor\n    {}\nand commit the result.",
            first_difference + 1,
            loopwise::cli::REGENERATE_DOCS
        );
    }
}
