//! What `check --fix` and `check --diff` do with a fixed text: write it back in place of the
//! file, or show it as a unified diff.
//!
//! Computing the fixes is the engine's job (`analysis::fixer`); this module only knows files.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Replaces the content of `path` with `text` so that no reader ever sees half a file: the text
/// goes to a temporary file in the same folder, which then takes the file's place. The file's
/// permissions, owner and group are kept; a symbolic link stays a link to the rewritten file.
/// A file with hard links, or one whose owner or group the new file could not be given, is
/// written in place instead: a new file would leave the other links with the old text, or
/// give the file to whoever ran the fix.
pub(crate) fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    let target = fs::canonicalize(path)?;
    let metadata = fs::metadata(&target)?;
    let permissions = metadata.permissions();
    // Renaming over a file needs only the folder's permission: without these two checks a
    // read-only file, or another user's, would be replaced.
    if permissions.readonly() {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, "the file is read-only"));
    }
    OpenOptions::new().write(true).open(&target)?;
    let folder = target.parent().unwrap_or_else(|| Path::new("."));
    // tempfile's own message names the random file name it tried, which the user never sees.
    let mut temporary = tempfile::NamedTempFile::new_in(folder).map_err(|error| {
        io::Error::new(error.kind(), format!("cannot create a file in {}: {}", folder.display(), error.kind()))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if metadata.nlink() > 1
            || std::os::unix::fs::fchown(temporary.as_file(), Some(metadata.uid()), Some(metadata.gid())).is_err()
        {
            drop(temporary);
            return write_in_place(&target, text);
        }
    }
    temporary.write_all(text.as_bytes())?;
    temporary.as_file().set_permissions(permissions)?;
    temporary.persist(&target).map_err(|error| error.error)?;
    Ok(())
}

/// Writes `text` over the file itself: the same inode, so its links, owner and group stay.
#[cfg(unix)]
fn write_in_place(target: &Path, text: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).truncate(true).open(target)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// A unified diff from `original` to `fixed` with `--- a/path` and `+++ b/path` headers (the
/// form `git apply` and `patch -p1` read), or `None` when they are the same.
pub(crate) fn unified_diff(path: &Path, original: &str, fixed: &str) -> Option<String> {
    if original == fixed {
        return None;
    }
    let name = path.display().to_string();
    Some(format!("--- a/{name}\n+++ b/{name}\n{}", hunks(original, fixed)))
}

/// The diff of one notebook cell a fix changed, headed as ruff heads it (`--- path:cell 2` /
/// `+++ path:cell 2`): a patch of the cell's source, not of the notebook's JSON.
pub(crate) fn cell_diff(path: &Path, cell: &crate::notebook::ChangedCell) -> String {
    let name = format!("{}:cell {}", path.display(), cell.number);
    format!("--- {name}\n+++ {name}\n{}", hunks(&cell.before, &cell.after))
}

/// The hunks of a unified diff from `before` to `after`, with three lines of context. The
/// headers are computed here from every op of a hunk: `similar` can give a deletion the new
/// index after an insertion that follows it, and its own unified diff then heads the hunk
/// `@@ -1 +3 @@`.
fn hunks(before: &str, after: &str) -> String {
    use std::fmt::Write as _;
    let diff = similar::TextDiff::from_lines(before, after);
    let mut text = String::new();
    for group in diff.grouped_ops(3) {
        let span = |ranges: Vec<std::ops::Range<usize>>| {
            let start = ranges.iter().map(|range| range.start).min().unwrap_or(0);
            start..ranges.iter().map(|range| range.end).max().unwrap_or(start)
        };
        let old = span(group.iter().map(similar::DiffOp::old_range).collect());
        let new = span(group.iter().map(similar::DiffOp::new_range).collect());
        let range = |range: std::ops::Range<usize>| match range.len() {
            1 => format!("{}", range.start + 1),
            0 => format!("{},0", range.start),
            len => format!("{},{len}", range.start + 1),
        };
        let _ = writeln!(text, "@@ -{} +{} @@", range(old), range(new));
        for op in &group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Equal => ' ',
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                };
                let line = change.value();
                text.push(sign);
                text.push_str(line);
                // `similar` ends lines at a lone `\r` too, as Python does: such a line has no
                // `\n`, and the marker says so (written as a CRLF line, it would read as one).
                if !line.ends_with('\n') {
                    text.push_str("\n\\ No newline at end of file\n");
                }
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every hunk header counts the lines that follow it: old = context + removed, new =
    /// context + added, starting where the previous hunks leave off.
    #[test]
    fn hunk_headers_count_the_lines_they_cover() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let words = ["a\n", "b\n", "c\n", "d\n", "await x\n", "import asyncio\n"];
        for _ in 0..2000 {
            let mut text = || {
                let count = rng.random_range(0..12);
                (0..count).map(|_| words[rng.random_range(0..words.len())]).collect::<String>()
            };
            let (before, after) = (text(), text());
            let Some(diff) = unified_diff(Path::new("x.py"), &before, &after) else { continue };
            let mut lines = diff.lines().skip(2).peekable();
            while let Some(header) = lines.next() {
                let counts: Vec<(usize, usize)> = header
                    .trim_start_matches("@@ ")
                    .trim_end_matches(" @@")
                    .split(' ')
                    .map(|range| {
                        let range = range.trim_start_matches(['-', '+']);
                        let (start, count) = range.split_once(',').unwrap_or((range, "1"));
                        (start.parse().expect("a start"), count.parse().expect("a count"))
                    })
                    .collect();
                let (mut old, mut new) = (0, 0);
                while let Some(line) = lines.next_if(|line| !line.starts_with("@@")) {
                    match line.chars().next() {
                        Some(' ') => (old, new) = (old + 1, new + 1),
                        Some('-') => old += 1,
                        Some('+') => new += 1,
                        _ => {}
                    }
                }
                assert_eq!((counts[0].1, counts[1].1), (old, new), "{before:?} -> {after:?}\n{diff}");
            }
        }
    }

    /// As root (CI), a file of `nobody` stays `nobody`'s; otherwise the file is one's own and
    /// stays so.
    #[cfg(unix)]
    #[test]
    fn the_owner_and_group_are_kept() {
        use std::os::unix::fs::MetadataExt;
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("a.py");
        fs::write(&path, "x = 1\n").expect("write");
        let _ = std::os::unix::fs::chown(&path, Some(65534), Some(65534));
        let before = fs::metadata(&path).expect("metadata");
        write_atomically(&path, "x = 2\n").expect("written");
        let after = fs::metadata(&path).expect("metadata");
        assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
        assert_eq!(fs::read_to_string(&path).expect("read"), "x = 2\n");
    }

    #[cfg(unix)]
    #[test]
    fn hard_links_keep_sharing_the_fixed_text() {
        use std::os::unix::fs::MetadataExt;
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("a.py");
        fs::write(&path, "x = 1\n").expect("write");
        let link = folder.path().join("b.py");
        fs::hard_link(&path, &link).expect("hard link");
        let inode = fs::metadata(&path).expect("metadata").ino();
        write_atomically(&path, "x = 2\n").expect("written");
        assert_eq!(fs::read_to_string(&link).expect("read"), "x = 2\n");
        assert_eq!(fs::metadata(&path).expect("metadata").ino(), inode);
    }

    #[test]
    fn diff_has_git_style_headers_and_hunks() {
        let diff = unified_diff(Path::new("pkg/app.py"), "a\nb\nc\n", "a\nB\nc\n").expect("a change");
        assert_eq!(diff, "--- a/pkg/app.py\n+++ b/pkg/app.py\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
        assert_eq!(unified_diff(Path::new("app.py"), "same\n", "same\n"), None);
    }

    #[test]
    fn a_cell_diff_is_headed_by_the_cell() {
        let cell = crate::notebook::ChangedCell {
            number: 3,
            before: "fetch()\ntime.sleep(2)\nawait fetch()\n".to_string(),
            after: "await fetch()\nawait asyncio.sleep(2)\nawait fetch()\n".to_string(),
        };
        let diff = cell_diff(Path::new("demo.ipynb"), &cell);
        assert_eq!(
            diff,
            "--- demo.ipynb:cell 3\n+++ demo.ipynb:cell 3\n@@ -1,3 +1,3 @@\n-fetch()\n-time.sleep(2)\n await fetch()\n+await asyncio.sleep(2)\n+await fetch()\n"
        );
    }

    #[test]
    fn diff_marks_a_missing_final_line_break() {
        let diff = unified_diff(Path::new("app.py"), "x = 1", "x = 2").expect("a change");
        assert!(diff.contains("-x = 1\n\\ No newline at end of file\n+x = 2\n"), "{diff}");
    }

    #[test]
    fn writing_replaces_the_content_and_keeps_the_line_endings() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("app.py");
        fs::write(&path, "x = 1\r\n").expect("write");
        write_atomically(&path, "x = 2\r\n").expect("rewrite");
        assert_eq!(fs::read(&path).expect("read"), b"x = 2\r\n");
        let leftovers = fs::read_dir(folder.path()).expect("list").count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn writing_through_a_symbolic_link_keeps_the_link() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let real = folder.path().join("real.py");
        let link = folder.path().join("link.py");
        fs::write(&real, "x = 1\n").expect("write");
        std::os::unix::fs::symlink(&real, &link).expect("link");
        write_atomically(&link, "x = 2\n").expect("rewrite");
        assert!(fs::symlink_metadata(&link).expect("stat").file_type().is_symlink());
        assert_eq!(fs::read_to_string(&real).expect("read"), "x = 2\n");
    }

    #[test]
    fn a_read_only_file_is_not_replaced() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let path = folder.path().join("app.py");
        fs::write(&path, "x = 1\n").expect("write");
        let mut permissions = fs::metadata(&path).expect("stat").permissions();
        permissions.set_readonly(true);
        fs::set_permissions(&path, permissions).expect("make read-only");
        let error = write_atomically(&path, "x = 2\n").expect_err("read-only");
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(fs::read_to_string(&path).expect("read"), "x = 1\n");
    }
}
