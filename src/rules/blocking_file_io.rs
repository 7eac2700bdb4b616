use tree_sitter::Node;

use crate::analysis::semantic::PATH;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Call, Checker, PythonVersion};
use crate::rules::Rule;
use crate::rules::to_thread_fix::to_thread_fix;

define_rule! {
    /// ## What it does
    /// Checks for synchronous file-system calls in an async function: `open`, `io.open`,
    /// `io.open_code`, `os.fdopen`; I/O methods of `pathlib.Path` values (`read_text`,
    /// `write_bytes`, `open`, `exists`, `iterdir`, `glob`, `stat`, `mkdir`, `unlink`, ...);
    /// `os.path` functions that touch the disk (`exists`, `isfile`, `getsize`, ...);
    /// `os.listdir/scandir/walk/remove/unlink/rename/makedirs/stat`; and `shutil` copy, move
    /// and `rmtree`.
    ///
    /// Lazy iterators (`os.walk`, `os.fwalk`, `Path.glob`, `Path.rglob`, `Path.walk`, and
    /// `Path.iterdir` before Python 3.13) do their I/O when iterated: they are reported where
    /// the event loop iterates them (a `for`, a comprehension, unpacking, `list()`, `sorted()`,
    /// `next()`, ...), directly or through the local they are assigned to, not when they are
    /// handed to a worker thread (`to_thread.run_sync(next, walker)`) or returned.
    ///
    /// ## Why is this bad?
    /// Disk access blocks the event loop: usually briefly, but on a network file system, a
    /// busy disk or a large file for as long as it takes, and every task waits.
    ///
    /// ## Example
    /// ```python
    /// async def load(path):
    ///     with open(path) as f:
    ///         return f.read()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    /// from pathlib import Path
    ///
    /// async def load(path):
    ///     return await asyncio.to_thread(Path(path).read_text)
    /// ```
    ///
    /// ## Fix safety
    /// The fix wraps the call in `await asyncio.to_thread(...)` (`p.read_text()` becomes
    /// `await asyncio.to_thread(p.read_text)`, `shutil.copy(a, b)` becomes
    /// `await asyncio.to_thread(shutil.copy, a, b)`), adding `import asyncio` when the file
    /// lacks it. It is unsafe: the call then runs in another thread while other tasks run, and
    /// cancelling the task does not stop it. It is offered for plain calls only: the callee is
    /// a name or a dotted chain of names (not `(base / "x").read_text()`), `await` applies to
    /// the call alone (not `open(name).read()`, not in a comprehension), the call is not a
    /// `with` item, and no argument awaits. Calls that open a file (`open`, `io.open`,
    /// `os.fdopen`, `Path.open`) or make a lazy iterator (`os.walk`, `os.scandir`,
    /// `Path.iterdir`, `Path.glob`, ...) get no fix: the reads, writes or iteration that
    /// follow would still block.
    /// Targets before Python 3.9 (no `asyncio.to_thread`) get no fix. In a trio or anyio
    /// module (one that imports `trio` or `anyio` and not `asyncio`) the fix uses that
    /// library's worker thread instead, `await trio.to_thread.run_sync(f, a)` or
    /// `await anyio.to_thread.run_sync(f, a)`, with `functools.partial(f, a, key=value)` when
    /// the call passes keywords (`run_sync` passes on positional arguments only); there a
    /// cancellation waits until the thread returns. It never adds `import asyncio` there.
    ///
    /// ## Known problems
    /// Pure path helpers (`os.path.join`, `basename`, `dirname`, `split*`, `normpath`) never
    /// touch the disk and are not flagged. A `Path` method is flagged only when the file shows
    /// the value is a `Path` (made by `Path(...)`, `p / "x"`, `p.parent`, an annotation).
    ///
    /// ## References
    /// - [Python docs: `asyncio.to_thread`](https://docs.python.org/3/library/asyncio-task.html#asyncio.to_thread)
    code: "LW104",
    name: "blocking-file-io",
    summary: "synchronous file-system calls (`open`, `Path` I/O, `os.path.exists`, `shutil`, ...) in an async function",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC230", "ASYNC231", "ASYNC232", "ASYNC240"],
    peers: "ruff, flake8-async (partly)",
    fix: "wrap in `await asyncio.to_thread(...)`, or `trio.to_thread.run_sync`/`anyio.to_thread.run_sync` in trio and anyio modules (unsafe, plain calls only)",
    only_in_async_functions: true,
    // Why: `open` covers `io.open` and `os.fdopen`; a `Path` is only known from a `pathlib` import.
    triggers: ["open", "os", "shutil", "pathlib"],
}

fn is_blocking_function(qualified: &str) -> bool {
    if matches!(qualified, "builtins.open" | "io.open" | "io.open_code" | "os.fdopen") {
        return true;
    }
    if let Some(name) = qualified.strip_prefix("os.path.") {
        return matches!(
            name,
            "exists"
                | "lexists"
                | "isfile"
                | "isdir"
                | "islink"
                | "ismount"
                | "isjunction"
                | "getsize"
                | "getmtime"
                | "getatime"
                | "getctime"
                | "samefile"
                | "sameopenfile"
                | "realpath"
                // `getcwd()` for a relative path; ruff's ASYNC240 flags it too.
                | "abspath"
                // Reads the password database, which may be a network service (NSS, LDAP).
                | "expanduser"
        );
    }
    if let Some(name) = qualified.strip_prefix("os.") {
        return matches!(
            name,
            "listdir"
                | "scandir"
                | "walk"
                | "fwalk"
                | "remove"
                | "unlink"
                | "rename"
                | "renames"
                | "replace"
                | "makedirs"
                | "mkdir"
                | "rmdir"
                | "removedirs"
                | "stat"
                | "lstat"
                | "chmod"
                | "chown"
                | "link"
                | "symlink"
                | "readlink"
                | "truncate"
                | "utime"
        );
    }
    if let Some(name) = qualified.strip_prefix("shutil.") {
        return matches!(
            name,
            "copy"
                | "copy2"
                | "copyfile"
                | "copyfileobj"
                | "copytree"
                | "copymode"
                | "copystat"
                | "move"
                | "rmtree"
                | "make_archive"
                | "unpack_archive"
                | "chown"
                | "disk_usage"
        );
    }
    false
}

const PATH_IO_METHODS: &[&str] = &[
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "open",
    "exists",
    "is_dir",
    "is_file",
    "is_symlink",
    "is_mount",
    "is_socket",
    "is_fifo",
    "is_block_device",
    "is_char_device",
    "is_junction",
    "iterdir",
    "glob",
    "rglob",
    "walk",
    "stat",
    "lstat",
    "mkdir",
    "rmdir",
    "unlink",
    "touch",
    "rename",
    "replace",
    "chmod",
    "lchmod",
    "owner",
    "group",
    "samefile",
    "readlink",
    "symlink_to",
    "hardlink_to",
    "resolve",
    "absolute",
    "expanduser",
];

/// Functions that hand back an open file or a lazy iterator: the I/O goes on when it is used,
/// so running only the call in a thread would silence the finding and keep the blocking.
fn returns_handle(qualified: &str) -> bool {
    matches!(
        qualified,
        "builtins.open" | "io.open" | "io.open_code" | "os.fdopen" | "os.scandir" | "os.walk" | "os.fwalk"
    )
}

/// The `Path` methods that hand back an open file or a lazy iterator (see [`returns_handle`]).
const PATH_HANDLE_METHODS: &[&str] = &["open", "iterdir", "glob", "rglob", "walk"];

/// Calls that only build a lazy iterator: no I/O happens until it is iterated.
fn is_lazy_function(qualified: &str) -> bool {
    matches!(qualified, "os.walk" | "os.fwalk")
}

/// `Path` methods that only build a lazy iterator (`iterdir` lists eagerly from Python 3.13).
fn is_lazy_path_method(method: &str, target: PythonVersion) -> bool {
    matches!(method, "glob" | "rglob" | "walk")
        || (method == "iterdir" && target < PythonVersion { major: 3, minor: 13 })
}

/// Builtins that iterate their argument right away.
const EAGER_CONSUMERS: &[&str] = &[
    "builtins.list",
    "builtins.tuple",
    "builtins.set",
    "builtins.frozenset",
    "builtins.sorted",
    "builtins.next",
    "builtins.any",
    "builtins.all",
    "builtins.sum",
    "builtins.min",
    "builtins.max",
    "builtins.dict",
    "builtins.enumerate",
];

/// Whether the value of `expression` (a lazy iterator) is iterated where it stands: the
/// iterable of a `for` or a comprehension, unpacked, or the argument of an eager builtin.
fn iterated_here(checker: &Checker<'_, '_>, expression: Node<'_>) -> bool {
    let mut node = expression;
    while let Some(parent) = node.parent().filter(|parent| parent.kind() == "parenthesized_expression") {
        node = parent;
    }
    let Some(parent) = node.parent() else { return false };
    match parent.kind() {
        "for_statement" | "for_in_clause" => parent.field(&field::RIGHT).is_some_and(|right| right.id() == node.id()),
        "list_splat" | "dictionary_splat" => true,
        "argument_list" => parent.parent().is_some_and(|call| {
            call.kind() == "call"
                && call.field(&field::FUNCTION).is_some_and(|function| {
                    checker
                        .semantic
                        .qualified_name(function)
                        .is_some_and(|name| EAGER_CONSUMERS.contains(&name.as_str()))
                })
        }),
        _ => false,
    }
}

/// Whether the lazy iterator `call` builds is iterated on the event loop: where it stands, or
/// through the local it is assigned to, anywhere in the enclosing function. Handed to another
/// call (`to_thread.run_sync(next, it)`), returned or stored, its I/O runs elsewhere.
fn consumed_on_the_loop(checker: &Checker<'_, '_>, call: Node<'_>) -> bool {
    if iterated_here(checker, call) {
        return true;
    }
    let Some(assignment) = call.parent().filter(|parent| parent.kind() == "assignment") else { return false };
    let Some(target) = assignment.field(&field::LEFT).filter(|left| left.kind() == "identifier") else {
        return false;
    };
    let semantic = checker.semantic;
    let Some(function) = semantic.enclosing_function(call.start_byte()) else { return false };
    let Some(body) = semantic.scope(function).node.field(&field::BODY) else { return false };
    // A nested function that iterates it (`def next_value(): return next(walker)`) runs where
    // it is handed: typically a worker thread.
    semantic.references_in(body, checker.text(target)).into_iter().any(|reference| {
        reference.id() != target.id()
            && semantic.enclosing_function(reference.start_byte()) == Some(function)
            && iterated_here(checker, reference)
    })
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    if let Some(qualified) = call.qualified_name.as_deref()
        && is_lazy_function(qualified)
        && !consumed_on_the_loop(checker, call.node)
    {
        return;
    }
    if let Some(qualified) = call.qualified_name.as_deref()
        && is_blocking_function(qualified)
    {
        let shown = qualified.strip_prefix("builtins.").unwrap_or(qualified);
        let fix = (!returns_handle(qualified)).then(|| to_thread_fix(checker, call)).flatten();
        let diagnostic = checker.report(
            Rule::BlockingFileIo,
            call.node,
            format!("Blocking file-system call `{shown}` {}", checker.semantic.async_place(call.node.start_byte())),
        );
        diagnostic.fix = fix;
        return;
    }
    let (Some(receiver), Some(method)) = (call.receiver(), call.method_name(checker.semantic)) else { return };
    if !PATH_IO_METHODS.contains(&method) {
        return;
    }
    if checker.semantic.value_type(receiver).as_deref() == Some(PATH) {
        if is_lazy_path_method(method, checker.settings.target_version) && !consumed_on_the_loop(checker, call.node) {
            return;
        }
        let fix = (!PATH_HANDLE_METHODS.contains(&method)).then(|| to_thread_fix(checker, call)).flatten();
        let diagnostic = checker.report(
            Rule::BlockingFileIo,
            call.node,
            format!(
                "Blocking file-system call `Path.{method}` {}",
                checker.semantic.async_place(call.node.start_byte())
            ),
        );
        diagnostic.fix = fix;
    }
}
