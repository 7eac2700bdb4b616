//! `--output-format gitlab`: a GitLab Code Quality report (a JSON array; `artifacts: reports:
//! codequality:` in `.gitlab-ci.yml`), in ruff's shape: `check_name` is the rule's code,
//! `description` is `CODE: message`, and `location` has the path from the project root
//! ([`super::project_root`]) with the begin and end positions (1-based rows, character
//! columns).
//!
//! Severities: error `critical`, warning `major`, information `minor`, hint `info` (GitLab
//! knows `info`, `minor`, `major`, `critical` and `blocker`; ruff writes `major` for all). The
//! A path that is not UTF-8 is written lossily, as GitLab reads it, with its bytes besides
//! (`location.path_bytes`). The fingerprint stays the same when lines above a finding move, and no two findings share one
//! ([`super::Findings::fingerprints`]), which GitLab needs to tell new findings from old.

use std::io::{self, Write};

use serde_json::json;

use super::{Findings, project_root, relative_path};
use crate::analysis::Severity;
use crate::cli::CheckedFile;

pub fn write(out: &mut impl Write, files: &[CheckedFile]) -> io::Result<()> {
    let findings = Findings::of(files);
    let root = project_root();
    let fingerprints = findings.fingerprints(&root);
    let issues: Vec<_> = findings
        .findings
        .iter()
        .zip(fingerprints)
        .map(|(finding, fingerprint)| {
            let diagnostic = finding.diagnostic;
            let severity = match diagnostic.severity {
                Severity::Error => "critical",
                Severity::Warning => "major",
                Severity::Info => "minor",
                Severity::Hint => "info",
            };
            let mut issue = json!({
                "check_name": diagnostic.rule.code(),
                "description": match finding.cell {
                    Some(cell) => format!("{}: cell {cell}: {}", diagnostic.rule.code(), diagnostic.message),
                    None => format!("{}: {}", diagnostic.rule.code(), diagnostic.message),
                },
                "severity": severity,
                "fingerprint": fingerprint,
                "location": {
                    "path": relative_path(&finding.file.path, &root),
                    "positions": {
                        "begin": {"line": finding.start.row, "column": finding.start.column},
                        "end": {"line": finding.end.row, "column": finding.end.column},
                    },
                },
            });
            // JSON strings are Unicode: a name that is not UTF-8 is `path` lossily (what GitLab
            // reads) and its bytes besides, as the `json` format's `filename_bytes`, so that no
            // two files read alike.
            let path = super::relative_path_bytes(&finding.file.path, &root);
            if std::str::from_utf8(&path).is_err() {
                issue["location"]["path_bytes"] = json!(path);
            }
            issue
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &issues).map_err(io::Error::other)?;
    writeln!(out)
}
