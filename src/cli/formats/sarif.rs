//! `--output-format sarif`: a SARIF 2.1.0 log (GitHub code scanning's upload format) with one
//! run: `tool.driver` names loopwise, its version and the rules the run reported (in code
//! order, as ruff lists them), each with its summary, documentation and default level, and
//! each result points at its rule by id and index.
//!
//! Paths are relative to the project root ([`super::project_root`]: the repository's root, or
//! the current folder outside one) under `uriBaseId` `%SRCROOT%`, which `originalUriBaseIds`
//! defines as that folder; a file outside it gets an absolute `file:` URI. Columns are
//! characters (`columnKind` `unicodeCodePoints`), as in the `json` format; SARIF's own default
//! would be UTF-16 units. A result's `partialFingerprints` do not depend on its line number
//! ([`super::Findings::fingerprints`]). Main fixes that `--fix` could apply (safe or unsafe)
//! are given as `fixes`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use super::{Finding, Findings, Level, location, normalized, path_below, project_root};
use crate::analysis::{Applicability, Severity};
use crate::cli::CheckedFile;
use crate::rules::Rule;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The name of `partialFingerprints`' entry; versioned, so that a new way to compute it can
/// take a new name instead of matching old results wrongly.
const FINGERPRINT: &str = "loopwise/v1";

pub fn write(out: &mut impl Write, files: &[CheckedFile]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &log(files, &project_root())).map_err(io::Error::other)?;
    writeln!(out)
}

/// The SARIF log of `files`, with paths relative to `root`.
fn log(files: &[CheckedFile], root: &Path) -> Value {
    let findings = Findings::of(files);
    let fingerprints = findings.fingerprints(root);
    let rules: BTreeMap<Rule, usize> = {
        let mut reported: Vec<Rule> = findings.findings.iter().map(|finding| finding.diagnostic.rule).collect();
        reported.sort_unstable();
        reported.dedup();
        reported.into_iter().enumerate().map(|(index, rule)| (rule, index)).collect()
    };
    let results: Vec<Value> = findings
        .findings
        .iter()
        .zip(fingerprints)
        .map(|(finding, fingerprint)| {
            let diagnostic = finding.diagnostic;
            let artifact = artifact_location(&finding.file.path, root);
            let mut result = json!({
                "ruleId": diagnostic.rule.code(),
                "ruleIndex": rules.get(&diagnostic.rule).copied().unwrap_or_default(),
                "level": level(diagnostic.severity),
                "message": {"text": diagnostic.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact,
                        "region": region(finding.start, finding.end),
                    },
                }],
                "partialFingerprints": {FINGERPRINT: fingerprint},
            });
            // A notebook's rows are rows of a cell: the cell goes with them. Its fixes are
            // not offered, since SARIF edits the file's own text, the notebook's JSON.
            if let Some(cell) = finding.cell {
                result["properties"] = json!({"cell": cell});
            } else if let Some(fix) = fix(finding, &artifact) {
                result["fixes"] = json!([fix]);
            }
            result
        })
        .collect();
    let mut driver = json!({
        "name": "loopwise",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": rules.keys().map(|rule| descriptor(*rule)).collect::<Vec<_>>(),
    });
    // A link only to where the package metadata says the project lives; none is made up.
    if let Some(repository) = option_env!("CARGO_PKG_REPOSITORY").filter(|repository| !repository.is_empty()) {
        driver["informationUri"] = json!(repository);
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": folder_uri(root)}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn level(severity: Severity) -> &'static str {
    match Level::of(severity) {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "note",
    }
}

/// A rule as `tool.driver.rules` describes it, from the same metadata as `loopwise rule`.
fn descriptor(rule: Rule) -> Value {
    let meta = rule.meta();
    let explanation = meta.explanation();
    let mut descriptor = json!({
        "id": meta.code,
        "name": meta.name,
        "shortDescription": {"text": meta.summary},
        "fullDescription": {"text": meta.documentation()},
        "help": {"text": explanation, "markdown": explanation},
        "defaultConfiguration": {"enabled": meta.enabled_by_default, "level": level(meta.default_severity)},
        "properties": {"aliases": meta.aliases},
    });
    if let Some(url) = rule.url() {
        descriptor["helpUri"] = json!(url);
    }
    descriptor
}

fn region(start: super::Location, end: super::Location) -> Value {
    json!({"startLine": start.row, "startColumn": start.column, "endLine": end.row, "endColumn": end.column})
}

/// The main fix as a SARIF `fix`, unless it is only for display.
fn fix(finding: &Finding, artifact: &Value) -> Option<Value> {
    let fix = finding.diagnostic.fix.as_ref()?;
    if fix.applicability() == Applicability::DisplayOnly {
        return None;
    }
    let replacements: Vec<Value> = fix
        .edits()
        .iter()
        .map(|edit| {
            let deleted = region(location(&finding.lines, edit.range.start), location(&finding.lines, edit.range.end));
            let mut replacement = json!({"deletedRegion": deleted});
            if !edit.content.is_empty() {
                replacement["insertedContent"] = json!({"text": edit.content});
            }
            replacement
        })
        .collect();
    Some(json!({
        "description": {"text": fix.title()},
        "artifactChanges": [{"artifactLocation": artifact, "replacements": replacements}],
        "properties": {"applicability": fix.applicability().as_str()},
    }))
}

/// Where a file is: below the root, relative to `%SRCROOT%`; elsewhere, its own `file:` URI.
fn artifact_location(path: &Path, root: &Path) -> Value {
    let absolute = normalized(path);
    // The name's own bytes, percent-encoded: a name that is not UTF-8 keeps them (`%FF`).
    let below = path_below(path, root).and_then(|_| absolute.strip_prefix(root).ok()).map(|rest| {
        let parts: Vec<&[u8]> = rest.components().map(|part| os_bytes(part.as_os_str())).collect();
        parts.join(&b'/')
    });
    match below {
        // A `:` in a relative reference's first part would read as a scheme: it is encoded.
        Some(relative) => json!({"uri": encode_uri_path(&relative, false), "uriBaseId": "%SRCROOT%"}),
        None => json!({"uri": file_uri(os_bytes(absolute.as_os_str()))}),
    }
}

/// The bytes of a name as the system has them (UTF-8 where it has no bytes of its own).
fn os_bytes(name: &std::ffi::OsStr) -> &[u8] {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(name)
    }
    #[cfg(not(unix))]
    {
        name.to_str().map_or(b"?", str::as_bytes)
    }
}

/// `folder` as a `file:` URI ending in `/`, as a base URI must.
fn folder_uri(folder: &Path) -> String {
    let mut uri = file_uri(os_bytes(folder.as_os_str()));
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// An absolute path as a `file:` URI (`C:\x` as `file:///C:/x`).
fn file_uri(path: &[u8]) -> String {
    let mut path: Vec<u8> = path.iter().map(|&byte| if byte == b'\\' { b'/' } else { byte }).collect();
    if path.first() != Some(&b'/') {
        path.insert(0, b'/');
    }
    format!("file://{}", encode_uri_path(&path, true))
}

/// A `/`-separated path as a URI path: every byte but unreserved characters, `/` and (with
/// `keep_colon`, in an absolute path, for a drive letter) `:` percent-encoded, so spaces, `%`,
/// `#`, non-ASCII names and names that are not UTF-8 survive.
fn encode_uri_path(path: &[u8], keep_colon: bool) -> String {
    let mut encoded = String::with_capacity(path.len());
    for &byte in path {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                encoded.push(char::from(byte));
            }
            b':' if keep_colon => encoded.push(':'),
            _ => {
                let _ = write!(encoded, "%{byte:02X}");
            }
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_encode_what_a_uri_cannot_hold() {
        assert_eq!(encode_uri_path("src/my app/50%#é:,.py".as_bytes(), false), "src/my%20app/50%25%23%C3%A9%3A%2C.py");
        assert_eq!(encode_uri_path(b"src/bad\xffname.py", false), "src/bad%FFname.py");
        assert_eq!(file_uri(b"C:\\x\\a.py"), "file:///C:/x/a.py");
        assert_eq!(file_uri(b"/tmp/a b"), "file:///tmp/a%20b");
        assert_eq!(folder_uri(Path::new("/tmp/project")), "file:///tmp/project/");
    }
}
