//! A second real client: `tests/pytest_lsp/`, black-box tests of the built `loopwise server`
//! with pytest-lsp, which plays VS Code and Neovim from their recorded capabilities
//! (diagnostics pushed and pulled, quick fixes, fix-all through `codeAction/resolve`, hover,
//! shutdown and exit).
//!
//! Python is `$LOOPWISE_PYTHON`, else `python3` on PATH, with the packages of
//! `tests/pytest_lsp/requirements.txt` (`.ci/run` installs them in a virtualenv and sets the
//! variable). Without them the test is skipped with a loud line on stderr, except under
//! `CI=true`, where missing packages are a failure.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long the whole pytest run may take before it is killed.
const PATIENCE: Duration = Duration::from_secs(300);

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

fn python() -> PathBuf {
    std::env::var_os("LOOPWISE_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

/// Whether the Python packages are there; if not, fails under CI and says SKIPPED otherwise.
fn python_is_ready(check: &str) -> bool {
    let probe = Command::new(python())
        .args(["-c", "import pytest, pytest_asyncio, pytest_lsp, lsprotocol"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output();
    let missing = match probe {
        Ok(output) if output.status.success() => return true,
        Ok(output) => format!(
            "`{}` lacks the test packages: {}",
            python().display(),
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or_default()
        ),
        Err(error) => format!("`{}` cannot run ({error})", python().display()),
    };
    let advice = "make a virtualenv, `pip install -r tests/pytest_lsp/requirements.txt` in it and name its python \
                  in LOOPWISE_PYTHON";
    assert!(!on_ci(), "{check}: {missing}; {advice} (.ci/run does)");
    // Straight to stderr: the test harness captures `eprintln!`, and this must be seen.
    let _ = writeln!(std::io::stderr(), "\n!!!!! SKIPPED: {check}: {missing} ({advice})\n");
    false
}

#[test]
fn pytest_lsp_drives_the_server_as_vscode_and_neovim() {
    if !python_is_ready("the pytest-lsp tests") {
        return;
    }
    let mut child = Command::new(python())
        .args(["-m", "pytest", "tests/pytest_lsp", "-q", "-p", "no:cacheprovider"])
        .current_dir(repository())
        .env("LOOPWISE_BIN", env!("CARGO_BIN_EXE_loopwise"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{}: {error}", python().display()));
    // Reading on threads keeps both pipes flowing while the test waits for the exit.
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for pytest") {
            break status;
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pytest still ran after {PATIENCE:?}; killed. Its output:\n{}", stdout.join().unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().unwrap_or_default(), stderr.join().unwrap_or_default());
    let report = format!("exit status {status}\n--- stdout\n{stdout}--- stderr\n{stderr}");
    assert!(status.success(), "pytest tests/pytest_lsp failed:\n{report}");
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(summary.contains(" passed") && !summary.contains("skipped"), "{report}");
}
