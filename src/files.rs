//! Reading the user's files: only regular files (after links), so that a FIFO, a socket or a
//! device under a Python or configuration file's name is refused at once, naming what it is,
//! instead of blocking a run forever (a FIFO) or filling the memory (`/dev/zero`).
//!
//! Owns how a file is opened and read. It must not know what the bytes are for.

use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// The bytes of the regular file at `path`, at most `limit` of them (`None`: no limit); an
/// error for anything else, whose message says what it is.
pub fn read_regular(path: &Path, limit: Option<u64>) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let length = file.metadata()?.len();
    if let Some(limit) = limit
        && length > limit
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{length} bytes, more than the {limit} a file read here may have"),
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
    // `take`: a file that grows after the check still cannot pass the limit.
    file.take(limit.unwrap_or(u64::MAX)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// `path` for people and for parsers of the text formats, without ambiguity: as it is when it
/// is UTF-8 without control characters and does not start with `"`, else quoted with Rust's
/// escapes (`"bad\xFF.py"`, `"a\nb.py"`). A name shown as it is never starts with a quote, and
/// the escapes are one-to-one, so two files never show alike (`to_string_lossy` shows the byte
/// 0xff and the character U+FFFD both as U+FFFD).
#[expect(clippy::unnecessary_debug_formatting, reason = "the quoted and escaped form is the point")]
pub fn shown(path: &Path) -> std::borrow::Cow<'_, str> {
    match path.to_str() {
        Some(text) if !text.starts_with('"') && !text.chars().any(char::is_control) => text.into(),
        _ => format!("{:?}", path.as_os_str()).into(),
    }
}

/// Where bytes stop being UTF-8: the 1-based line, the 0-based byte offset in the file, and
/// the byte there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8 {
    pub line: usize,
    pub offset: usize,
    pub byte: u8,
}

impl std::fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not valid UTF-8 (byte 0x{:02x} at offset {}, line {})", self.byte, self.offset, self.line)
    }
}

/// `bytes` as text, or where they stop being UTF-8.
pub fn utf8_text(bytes: Vec<u8>) -> Result<String, NotUtf8> {
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let bytes = error.as_bytes();
        NotUtf8 {
            // The bytes before `offset` are UTF-8: that is what `valid_up_to` says.
            line: std::str::from_utf8(&bytes[..offset]).map_or(1, |before| before.matches('\n').count() + 1),
            offset,
            byte: bytes.get(offset).copied().unwrap_or_default(),
        }
    })
}

/// Opens `path` for reading if it is a regular file. Opened without blocking (a FIFO's open
/// waits for a writer otherwise), then judged by the open file's own metadata, so that a file
/// swapped for a FIFO after a check cannot slip through.
fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", special_kind(&kind)),
        ));
    }
    Ok(file)
}

/// An ignore file of `folder` (`.gitignore`, `.ignore`) that is there but is not a regular
/// file (after links). The `ignore` crate's walk reads a folder's ignore files as it enters it:
/// on a FIFO it would wait forever, so such a folder must not be entered.
pub fn special_ignore_file(folder: &Path) -> Option<std::path::PathBuf> {
    [".gitignore", ".ignore"]
        .into_iter()
        .map(|name| folder.join(name))
        .find(|file| std::fs::metadata(file).is_ok_and(|metadata| !metadata.is_file()))
}

/// What kind of special file `kind` is, for messages: `a FIFO`, `a socket`, `a device`.
pub fn special_kind(kind: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
    }
    if kind.is_symlink() {
        "a link"
    } else if kind.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_and_special_ones_refused_at_once() {
        use std::os::unix::ffi::OsStrExt;
        let folder = tempfile::tempdir().expect("temporary folder");
        let file = folder.path().join("a.py");
        std::fs::write(&file, "x = 1\n").expect("write");
        assert_eq!(read_regular(&file, None).expect("read"), b"x = 1\n");
        assert_eq!(utf8_text(b"a\nb\n\xffc".to_vec()), Err(NotUtf8 { line: 3, offset: 4, byte: 0xff }));
        assert_eq!(utf8_text(b"\xc3\xa9".to_vec()).as_deref(), Ok("\u{e9}"));
        assert_eq!(shown(Path::new(std::ffi::OsStr::from_bytes(b"src/bad\xff.py"))), r#""src/bad\xFF.py""#);
        assert_eq!(shown(Path::new("src/bad\u{fffd}.py")), "src/bad\u{fffd}.py");
        assert_eq!(shown(Path::new("a\nb.py")), r#""a\nb.py""#);
        assert_eq!(shown(Path::new(r#""bad\xFF.py""#)), r#""\"bad\\xFF.py\"""#);
        assert_eq!(shown(Path::new("caf\u{e9} \"x\".py")), "caf\u{e9} \"x\".py");
        let error = read_regular(&file, Some(3)).expect_err("too large");
        assert!(error.to_string().contains("6 bytes, more than the 3"), "{error}");

        let fifo = folder.path().join("fifo.py");
        let name = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).expect("a path without NUL");
        // SAFETY: `name` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0, "mkfifo");
        // Returns at once: no writer ever opens the FIFO.
        let error = read_regular(&fifo, None).expect_err("a FIFO");
        assert_eq!(error.to_string(), "not a regular file (a FIFO)");
        let error = read_regular(Path::new("/dev/zero"), None).expect_err("a device");
        assert_eq!(error.to_string(), "not a regular file (a device)");
        let link = folder.path().join("zero.py");
        std::os::unix::fs::symlink("/dev/zero", &link).expect("symlink");
        assert_eq!(
            read_regular(&link, None).expect_err("a link to a device").to_string(),
            "not a regular file (a device)"
        );
    }
}
