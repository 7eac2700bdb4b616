//! The persistent cache of `loopwise check`, end to end: the built binary run twice on the same
//! tree must print exactly what an uncached run prints, re-check what an edit can change (the
//! file, and the files whose analysis consulted an edited module), and survive a damaged cache.
//! `-v` says how many files came from the cache, which is how these tests see it was used.

mod binary;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use binary::{loopwise, stderr, stdout};

/// (files, of them from the cache), from `-v`'s line on stderr.
fn cache_use(output: &Output) -> (usize, usize) {
    let text = stderr(output);
    let line = text
        .lines()
        .find(|line| line.starts_with("loopwise: ") && line.contains("from the cache"))
        .unwrap_or_else(|| panic!("no cache line in stderr:\n{text}"));
    let numbers: Vec<usize> = line.split(' ').filter_map(|word| word.parse().ok()).collect();
    assert_eq!(numbers.len(), 2, "{line}");
    (numbers[0], numbers[1])
}

fn write(root: &Path, name: &str, text: &str) -> PathBuf {
    binary::write(root, name, text.as_bytes())
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("readable folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("folder");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The cache file in the cache folder `folder` (the folder listings are beside it).
fn the_cache_file(folder: &Path) -> PathBuf {
    let version = folder.join(env!("CARGO_PKG_VERSION"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&version)
        .unwrap_or_else(|error| panic!("{}: {error}", version.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_none_or(|extension| extension != "folders"))
        .collect();
    assert_eq!(files.len(), 1, "one cache file: {files:?}");
    files.remove(0)
}

/// Sets the modification time of the folder `folder` to an hour ago, as of a folder nobody
/// touched lately: only such a folder's listing is kept for the next run.
fn age(folder: &Path) {
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let handle = std::fs::File::open(folder).unwrap_or_else(|error| panic!("{}: {error}", folder.display()));
    handle.set_modified(hour_ago).unwrap_or_else(|error| panic!("{}: {error}", folder.display()));
}

/// `loopwise ARGS` in `folder`, killed and failed if it has not ended within 20 seconds.
fn loopwise_within_20_s(folder: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .current_dir(folder)
        .env_remove("LOOPWISE_CACHE_DIR")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the loopwise binary runs");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("loopwise {args:?} did not end within 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("wait")
}

#[test]
fn cached_runs_print_what_uncached_runs_print() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let folder = tempfile::tempdir().expect("temporary folder");
    for tree in ["examples", "tests/fixtures"] {
        let target = folder.path().join(tree);
        std::fs::create_dir_all(&target).expect("folder");
        copy_tree(&root.join(tree), &target);
    }
    for format in ["json", "full", "concise"] {
        for extra in [&[][..], &["--statistics"], &["--select", "ALL"], &["--diff"]] {
            let args: Vec<&str> = ["check", "--output-format", format].iter().chain(extra).copied().collect();
            let uncached = loopwise(folder.path(), &[&args[..], &["--no-cache"]].concat());
            let first = loopwise(folder.path(), &[&args[..], &["-v"]].concat());
            let second = loopwise(folder.path(), &[&args[..], &["-v"]].concat());
            let (files, hits) = cache_use(&second);
            if extra.contains(&"--diff") {
                // Files with a fix to show are fixed again; the others come from the cache.
                assert!(files > 100 && hits > files / 2 && hits < files, "{args:?}: {hits}/{files}");
            } else {
                assert!(
                    files > 100 && hits == files,
                    "{args:?}: every file from the cache the second time: {hits}/{files}"
                );
            }
            for run in [&first, &second] {
                assert_eq!(stdout(run), stdout(&uncached), "{args:?}");
                assert_eq!(run.status.code(), uncached.status.code(), "{args:?}");
            }
            assert!(!stdout(&uncached).is_empty(), "{args:?}: the fixtures have findings");
        }
    }
    let cache = folder.path().join(".loopwise_cache");
    assert_eq!(std::fs::read_to_string(cache.join(".gitignore")).expect(".gitignore").lines().last(), Some("*"));
    assert!(cache.join("CACHEDIR.TAG").is_file());
}

#[test]
fn editing_an_imported_module_rechecks_exactly_its_callers() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    write(root, "pyproject.toml", "[project]\nname = \"pkg\"\n");
    write(root, "pkg/__init__.py", "");
    let client = write(root, "pkg/client.py", "def fetch():\n    return 1\n");
    write(root, "pkg/app.py", "from pkg.client import fetch\n\n\nasync def main():\n    fetch()\n");
    write(root, "pkg/other.py", "import asyncio\n\n\nasync def idle():\n    await asyncio.sleep(1)\n");
    let args = ["check", "--output-format", "concise", "-v"];
    let first = loopwise(root, &args);
    assert_eq!(first.status.code(), Some(0), "{}{}", stdout(&first), stderr(&first));
    assert_eq!(cache_use(&first), (4, 0));

    // A comment leaves the summary as it was: only the edited file is read again.
    std::fs::write(&client, "def fetch():\n    # one\n    return 1\n").expect("write");
    let comment = loopwise(root, &args);
    assert_eq!(comment.status.code(), Some(0), "{}", stdout(&comment));
    assert_eq!(cache_use(&comment), (4, 3));

    std::fs::write(&client, "async def fetch():\n    return 1\n").expect("write");
    let edited = loopwise(root, &args);
    assert_eq!(edited.status.code(), Some(1), "{}", stderr(&edited));
    assert!(stdout(&edited).contains("pkg/app.py:5:5: LW201"), "{}", stdout(&edited));
    // client.py (its text) and app.py (it asked about pkg.client) are checked again.
    assert_eq!(cache_use(&edited), (4, 2));
    let again = loopwise(root, &args);
    assert_eq!(stdout(&again), stdout(&edited));
    assert_eq!(cache_use(&again), (4, 4));

    // A module that was missing and appears is an edit too.
    write(root, "pkg/app.py", "from pkg.later import fetch\n\n\nasync def main():\n    fetch()\n");
    let missing = loopwise(root, &args);
    assert!(!stdout(&missing).contains("LW201"), "{}", stdout(&missing));
    write(root, "pkg/later.py", "async def fetch():\n    return 1\n");
    let appeared = loopwise(root, &args);
    assert!(stdout(&appeared).contains("pkg/app.py:5:5: LW201"), "{}", stdout(&appeared));
}

/// LW109 reads the bodies of the plain functions another module's async code calls: an edit of
/// such a body (the module's summary unchanged) re-checks the caller, and only when it asked.
#[test]
fn editing_a_helpers_body_rechecks_the_async_callers_that_asked_about_it() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    write(root, "pyproject.toml", "[project]\nname = \"pkg\"\n\n[tool.loopwise]\nextend-select = [\"LW109\"]\n");
    write(root, "pkg/__init__.py", "");
    let blocking = "import json\n\n\ndef load(path):\n    with open(path) as f:\n        return json.load(f)\n";
    let helpers = write(root, "pkg/helpers.py", blocking);
    write(root, "pkg/app.py", "from pkg.helpers import load\n\n\nasync def main(path):\n    return load(path)\n");
    write(root, "pkg/other.py", "import asyncio\n\n\nasync def idle():\n    await asyncio.sleep(1)\n");
    let args = ["check", "--output-format", "concise", "-v"];
    let first = loopwise(root, &args);
    assert!(stdout(&first).contains("pkg/app.py:5:12: LW109"), "{}{}", stdout(&first), stderr(&first));
    // The step in the other module is named with its place there.
    assert!(
        stdout(&first).contains("blocks the event loop: it calls `open()` (pkg/helpers.py:5)"),
        "{}",
        stdout(&first)
    );
    assert_eq!(cache_use(&first), (4, 0));

    // Same summary (`def load(path)`), no blocking call any more: app.py is checked again.
    std::fs::write(&helpers, "import json\n\n\ndef load(path):\n    return json.loads(path)\n").expect("write");
    let edited = loopwise(root, &args);
    assert_eq!(edited.status.code(), Some(0), "{}{}", stdout(&edited), stderr(&edited));
    assert_eq!(cache_use(&edited), (4, 2));
    std::fs::write(&helpers, blocking).expect("write");
    let back = loopwise(root, &args);
    assert!(stdout(&back).contains("pkg/app.py:5:12: LW109"), "{}", stdout(&back));
    assert_eq!(stdout(&back), stdout(&first));
}

/// A cached run trusts the listing of configuration names an earlier run took of a folder
/// while the folder's time stamp is as it was. A file added to the folder changes the stamp,
/// so the next run reads the folder again: a new configuration file applies at once, and a
/// FIFO named `.gitignore` is still refused, not waited on.
#[cfg(unix)]
#[test]
fn a_file_added_to_a_folder_a_cached_run_listed_is_seen_by_the_next_run() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    write(root, "pyproject.toml", "[project]\nname = \"app\"\n");
    write(root, "sub/app.py", "import time\n\n\nasync def handler():\n    time.sleep(1)\n");
    age(&root.join("sub"));
    age(root);
    let args = ["check", "--output-format", "concise", "-v"];
    assert!(stdout(&loopwise(root, &args)).contains("LW101"));
    let listings = the_cache_file(&root.join(".loopwise_cache")).with_extension("folders");
    assert!(listings.is_file(), "the listings are kept beside the cache file");
    let trusted = loopwise(root, &args);
    assert!(stdout(&trusted).contains("LW101"), "{}", stdout(&trusted));
    assert_eq!(cache_use(&trusted), (1, 1));

    write(root, "sub/loopwise.toml", "ignore = [\"LW101\"]\n");
    let output = loopwise(root, &args);
    assert!(!stdout(&output).contains("LW101"), "the new configuration applies: {}", stdout(&output));

    std::fs::remove_file(root.join("sub/loopwise.toml")).expect("remove");
    age(&root.join("sub"));
    assert!(stdout(&loopwise(root, &args)).contains("LW101"));
    assert!(stdout(&loopwise(root, &args)).contains("LW101"));
    // A damaged listings file is survived: the run reads the folders again and still sees changes.
    let bytes = std::fs::read(&listings).expect("listings");
    for damaged in [bytes[..bytes.len() / 2].to_vec(), Vec::new(), b"not listings".to_vec()] {
        std::fs::write(&listings, &damaged).expect("damage");
        write(root, "sub/loopwise.toml", "ignore = [\"LW101\"]\n");
        age(&root.join("sub"));
        assert!(!stdout(&loopwise(root, &args)).contains("LW101"), "read again, not trusted");
        std::fs::remove_file(root.join("sub/loopwise.toml")).expect("remove");
        age(&root.join("sub"));
        assert!(stdout(&loopwise(root, &args)).contains("LW101"));
    }
    let status = Command::new("mkfifo").arg(root.join("sub/.gitignore")).status().expect("mkfifo runs");
    assert!(status.success());
    let output = loopwise_within_20_s(root, &args);
    assert!(
        stderr(&output).contains("./sub/.gitignore: not a regular file, so the folder ./sub is not checked"),
        "{}",
        stderr(&output)
    );
}

/// Which rules run on a file is part of its key: the per-file ignores and the test-code
/// patterns that decide it, not only the rules selected.
#[test]
fn per_file_ignores_and_test_paths_are_part_of_the_key() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    write(root, "app.py", "import time\n\n\nasync def handler():\n    time.sleep(1)\n");
    let args = ["check", "--output-format", "concise", "-v"];
    let configurations = [
        ("", true),
        ("[tool.loopwise.per-file-ignores]\n\"app.py\" = [\"LW101\"]\n", false),
        ("[tool.loopwise.per-file-ignores]\n\"other.py\" = [\"LW101\"]\n", true),
        ("[tool.loopwise]\ntest-paths = [\"app.py\"]\ntest-ignore = [\"LW101\"]\n", false),
        ("[tool.loopwise]\ntest-paths = [\"tests\"]\ntest-ignore = [\"LW101\"]\n", true),
        ("[tool.loopwise]\ntest-paths = [\"app.py\"]\ntest-ignore = [\"LW102\"]\n", true),
    ];
    for (configuration, reported) in configurations {
        write(root, "pyproject.toml", &format!("[project]\nname = \"app\"\n{configuration}"));
        for _ in 0..2 {
            let output = loopwise(root, &args);
            assert_eq!(stdout(&output).contains("LW101"), reported, "{configuration}\n{}", stdout(&output));
        }
    }
}

#[test]
fn a_damaged_cache_is_ignored_and_rebuilt() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    write(root, "app.py", "import time\n\n\nasync def handler():\n    time.sleep(1)\n");
    write(root, "clean.py", "x = 1\n");
    let args = ["check", "--output-format", "concise", "-v"];
    let expected = stdout(&loopwise(root, &args));
    assert!(expected.contains("LW101"), "{expected}");
    let file = the_cache_file(&root.join(".loopwise_cache"));
    let bytes = std::fs::read(&file).expect("cache file");
    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x55;
    for damaged in [bytes[..bytes.len() / 2].to_vec(), flipped, Vec::new(), b"not a cache".to_vec()] {
        std::fs::write(&file, &damaged).expect("damage");
        let output = loopwise(root, &args);
        assert_eq!(stdout(&output), expected);
        assert_eq!(cache_use(&output), (2, 0), "a damaged cache is not trusted");
        let rebuilt = loopwise(root, &args);
        assert_eq!(stdout(&rebuilt), expected);
        assert_eq!(cache_use(&rebuilt), (2, 2), "and is rebuilt");
    }
}

#[test]
fn where_the_cache_goes_and_when_it_is_not_used() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    write(root, "pyproject.toml", "[project]\nname = \"app\"\n");
    write(root, "src/app.py", "import time\n\n\nasync def handler():\n    time.sleep(1)\n");
    let source = root.join("src");
    // From a subfolder, the cache is at the project's root.
    let output = loopwise(&source, &["check", "-v"]);
    assert_eq!(cache_use(&output), (1, 0));
    assert!(root.join(".loopwise_cache").is_dir());
    assert!(!source.join(".loopwise_cache").exists());
    assert_eq!(cache_use(&loopwise(root, &["check", "-v", "src"])), (1, 1), "the same cache from the root");

    // Settings are part of the key.
    assert_eq!(cache_use(&loopwise(root, &["check", "-v", "--select", "LW101"])), (1, 0));
    assert_eq!(cache_use(&loopwise(root, &["check", "-v", "--select", "LW101"])), (1, 1));

    let elsewhere = tempfile::tempdir().expect("temporary folder");
    let output = loopwise(root, &["check", "-v", "--cache-dir", &elsewhere.path().display().to_string()]);
    assert_eq!(cache_use(&output), (1, 0));
    the_cache_file(elsewhere.path());
    let by_variable = Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .current_dir(root)
        .env("LOOPWISE_CACHE_DIR", elsewhere.path())
        .args(["check", "-v"])
        .output()
        .expect("runs");
    assert_eq!(cache_use(&by_variable), (1, 1), "LOOPWISE_CACHE_DIR names the same folder");

    let fresh = tempfile::tempdir().expect("temporary folder");
    write(fresh.path(), "app.py", "x = 1\n");
    let output = loopwise(fresh.path(), &["check", "-v", "--no-cache"]);
    assert!(stderr(&output).contains("without a cache"), "{}", stderr(&output));
    assert!(!fresh.path().join(".loopwise_cache").exists(), "--no-cache writes nothing");
}

#[test]
fn fixes_are_applied_even_when_the_findings_are_cached() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    let before = "import asyncio\n\n\nasync def main():\n    try:\n        pass\n    except asyncio.TimeoutError:\n        pass\n";
    let file = write(root, "app.py", before);
    let report = loopwise(root, &["check", "--target-version", "3.11", "-v"]);
    assert_eq!(report.status.code(), Some(1), "{}", stdout(&report));
    let fixed = loopwise(root, &["check", "--target-version", "3.11", "--fix", "-v"]);
    assert_eq!(cache_use(&fixed), (1, 0), "a cached finding with a fix is fixed, not reused");
    let after = std::fs::read_to_string(&file).expect("read");
    assert_ne!(after, before, "{}{}", stdout(&fixed), stderr(&fixed));
    assert!(after.contains("except TimeoutError:"), "{after}");
    let clean = loopwise(root, &["check", "--target-version", "3.11", "-v"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
}

#[test]
fn runs_at_the_same_time_leave_a_cache_that_works() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    for index in 0..40 {
        write(root, &format!("pkg/m{index}.py"), "import time\n\n\nasync def handler():\n    time.sleep(1)\n");
    }
    let expected = stdout(&loopwise(root, &["check", "--no-cache", "--output-format", "concise"]));
    let runs: Vec<_> = (0..6)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_loopwise"))
                .current_dir(root)
                .env_remove("LOOPWISE_CACHE_DIR")
                .args(["check", "--output-format", "concise"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawns")
        })
        .collect();
    for run in runs {
        let output = run.wait_with_output().expect("finishes");
        assert_eq!(stdout(&output), expected);
    }
    let after = loopwise(root, &["check", "--output-format", "concise", "-v"]);
    assert_eq!(stdout(&after), expected);
    assert_eq!(cache_use(&after), (40, 40), "one of the concurrent runs left a whole cache");
}

#[test]
fn deleted_files_leave_the_cache_and_an_unwritable_cache_only_warns() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let root = folder.path();
    write(root, "keep.py", "x = 1\n");
    let gone = write(root, "gone.py", "y = 2\n");
    assert_eq!(cache_use(&loopwise(root, &["check", "-v"])), (2, 0));
    let file = the_cache_file(&root.join(".loopwise_cache"));
    let before = std::fs::read(&file).expect("cache");
    assert!(before.windows(7).any(|window| window == b"gone.py"), "the cache names gone.py");
    std::fs::remove_file(&gone).expect("remove");
    write(root, "new.py", "z = 3\n");
    assert_eq!(cache_use(&loopwise(root, &["check", "-v"])), (2, 1));
    let after = std::fs::read(&file).expect("cache");
    assert!(!after.windows(7).any(|window| window == b"gone.py"), "a deleted file's entry is dropped");

    // A cache folder that is a file cannot be written: the check still works and says so.
    let blocked = root.join("blocked");
    std::fs::write(&blocked, "not a folder").expect("write");
    let output = loopwise(root, &["check", "-v", "--cache-dir", "blocked"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("All checks passed!"), "{}", stdout(&output));
    assert!(stderr(&output).contains("warning: cannot write the cache"), "{}", stderr(&output));
}
