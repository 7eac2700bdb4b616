//! loopwise installed the ways Python users install a linter, each done as a user does it, and
//! offline: the wheel (`pyproject.toml`, built by maturin) installed with pip into a fresh
//! virtualenv, where `loopwise check` and `loopwise server` run; the pre-commit hooks
//! (`.pre-commit-hooks.yaml`) through the real pre-commit, which pip-installs this repository
//! from source; and the GitHub Action (`action.yml`), whose step runs as GitHub runs it, with
//! pip pointed at the built wheel instead of the package index.
//!
//! They need Python `$LOOPWISE_PYTHON` (else `python3`) with `tests/distribution/requirements.txt`,
//! maturin's wheel in `$LOOPWISE_WHEELHOUSE` (else `target/wheelhouse`) for pip's isolated
//! builds, and every crate of Cargo.lock fetched (maturin reads the metadata of all platforms);
//! `.ci/run` sees to all three. Without them the tests are skipped with a loud line on stderr,
//! except under `CI=true`, where that is a failure.
//!
//! The builds reuse what `cargo test` built: maturin builds the `dev` profile with the target
//! folder of this test's own `loopwise` as cargo's build folder, so only the loopwise crate is
//! compiled (without the features that dev-dependencies add to shared crates), not a release
//! build of every crate; pre-commit's build of its clone of the repository shares the same
//! artifacts. Their binaries land in `distribution/cargo` of the target folder, never on the
//! `debug/loopwise` that the other tests run. `--strip`, as a release wheel is: it costs a
//! relink of the small binary crate and makes the wheel 7 instead of 130 MB.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one command (a build, a pre-commit run) may take before it is killed.
const PATIENCE: Duration = Duration::from_secs(600);

/// A blocking call in an async function: LW101, with an unsafe fix.
const PITFALL: &str = "import time\nasync def f():\n    time.sleep(1)\n";

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The target folder `cargo test` built into (it holds `debug/loopwise`), wherever
/// `CARGO_TARGET_DIR` put it.
fn target_dir() -> &'static Path {
    let binary = Path::new(env!("CARGO_BIN_EXE_loopwise"));
    binary.parent().and_then(Path::parent).expect("the binary lies in TARGET/debug")
}

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

fn python() -> PathBuf {
    std::env::var_os("LOOPWISE_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

fn wheelhouse() -> PathBuf {
    std::env::var_os("LOOPWISE_WHEELHOUSE").map_or_else(|| repository().join("target/wheelhouse"), PathBuf::from)
}

const SETUP: &str = "`pip install -r tests/distribution/requirements.txt` into the virtualenv of LOOPWISE_PYTHON, \
                     `pip download --only-binary=:all: --dest target/wheelhouse -r tests/distribution/wheelhouse.txt` \
                     and `cargo fetch --locked`";

/// What is missing for these tests, if anything.
fn missing_tools() -> Option<String> {
    let probe = Command::new(python())
        .args(["-c", "import maturin, pre_commit, yaml, venv, ensurepip"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output();
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => {
            let error = String::from_utf8_lossy(&output.stderr);
            return Some(format!(
                "`{}` lacks the packaging tools: {}",
                python().display(),
                error.lines().last().unwrap_or_default()
            ));
        }
        Err(error) => return Some(format!("`{}` cannot run ({error})", python().display())),
    }
    let has_maturin = std::fs::read_dir(wheelhouse()).is_ok_and(|entries| {
        entries.flatten().any(|entry| entry.file_name().to_string_lossy().starts_with("maturin-"))
    });
    if !has_maturin {
        return Some(format!("{} holds no maturin wheel", wheelhouse().display()));
    }
    let metadata = Command::new("cargo")
        .args(["metadata", "--frozen", "--format-version", "1"])
        .current_dir(repository())
        .stdout(Stdio::null())
        .output();
    match metadata {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(format!(
            "`cargo metadata --frozen` fails, so the crates of Cargo.lock are not all fetched: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) => Some(format!("cargo cannot run ({error})")),
    }
}

/// Whether the tools are there; if not, fails under CI and says SKIPPED otherwise.
fn tools_are_ready(check: &str) -> bool {
    static MISSING: OnceLock<Option<String>> = OnceLock::new();
    let Some(missing) = MISSING.get_or_init(missing_tools) else { return true };
    assert!(!on_ci(), "{check}: {missing}; {SETUP} (.ci/run does)");
    // Straight to stderr: the test harness captures `eprintln!`, and this must be seen.
    let _ = writeln!(std::io::stderr(), "\n!!!!! SKIPPED: {check}: {missing} ({SETUP})\n");
    false
}

/// Runs `command` to its end, killing it after PATIENCE.
fn run(command: &mut Command) -> Output {
    let description = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{description}: {error}"));
    // Reading on threads keeps both pipes flowing while the test waits for the exit.
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read(Box::new(child.stderr.take().expect("stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a command") {
            break status;
        }
        if started.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            let output = String::from_utf8_lossy(&stdout.join().unwrap_or_default()).into_owned();
            panic!("{description} still ran after {PATIENCE:?}; killed. Its output:\n{output}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output { status, stdout: stdout.join().unwrap_or_default(), stderr: stderr.join().unwrap_or_default() }
}

fn report(output: &Output) -> String {
    format!(
        "exit status {}\n--- stdout\n{}--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a file has a folder")).expect("create folders");
    std::fs::write(path, text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
}

/// cargo's build folder is the target folder `cargo test` built, its output folder one of
/// these tests' own (see the top of the file).
fn with_cargo_folders(command: &mut Command) -> &mut Command {
    command.env("CARGO_BUILD_BUILD_DIR", target_dir()).env("CARGO_TARGET_DIR", target_dir().join("distribution/cargo"))
}

/// Held by whatever builds with cargo, and by the wheel's build until maturin has packed the
/// binary: pre-commit's build of its clone writes the same artifact as the wheel's build, while
/// maturin might be reading it.
static CARGO_BUILDS: Mutex<()> = Mutex::new(());

fn cargo_builds() -> std::sync::MutexGuard<'static, ()> {
    CARGO_BUILDS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The wheel maturin builds from this repository, once for all the tests of this file.
fn wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| {
        // Under the target folder, not a temporary one: a static is never dropped, and the
        // next run replaces it.
        let out = target_dir().join("distribution/wheel");
        let _ = std::fs::remove_dir_all(&out);
        let _building = cargo_builds();
        let started = Instant::now();
        let output = run(with_cargo_folders(
            Command::new(python())
                .args(["-m", "maturin", "build", "--frozen", "--profile", "dev", "--strip", "--out"])
                .arg(&out)
                .current_dir(repository()),
        ));
        assert!(output.status.success(), "maturin build failed:\n{}", report(&output));
        let _ = writeln!(std::io::stderr(), "maturin build: {:.1} s", started.elapsed().as_secs_f64());
        let wheels: Vec<PathBuf> = std::fs::read_dir(&out)
            .expect("maturin's output folder")
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "whl"))
            .collect();
        assert_eq!(wheels.len(), 1, "maturin builds one wheel: {wheels:?}\n{}", report(&output));
        wheels.into_iter().next().expect("one wheel")
    })
}

/// A fresh virtualenv in `folder` with the wheel installed by pip from the file alone; returns
/// its folder of executables.
fn venv_with_wheel(folder: &Path) -> PathBuf {
    let created = run(Command::new(python()).args(["-m", "venv"]).arg(folder));
    assert!(created.status.success(), "python -m venv:\n{}", report(&created));
    let bin = folder.join(if cfg!(windows) { "Scripts" } else { "bin" });
    let installed = run(Command::new(bin.join("python"))
        .args(["-m", "pip", "install", "--no-index", "--disable-pip-version-check"])
        .arg(wheel()));
    assert!(installed.status.success(), "pip install --no-index {}:\n{}", wheel().display(), report(&installed));
    bin
}

#[test]
fn wheel_is_py3_none_and_installs_offline_with_metadata_from_cargo() {
    if !tools_are_ready("the wheel") {
        return;
    }
    let name = wheel().file_name().and_then(|name| name.to_str()).expect("a UTF-8 file name");
    // No Python code and no extension module: one wheel serves every Python 3 of a platform.
    let prefix = format!("loopwise-{VERSION}-py3-none-");
    let is_wheel = Path::new(name).extension().is_some_and(|extension| extension == "whl");
    assert!(name.starts_with(&prefix) && is_wheel, "{name} is not {prefix}<platform>.whl");
    assert!(!name.ends_with("-any.whl"), "{name}: a wheel holding a binary names its platform");

    let scratch = tempfile::tempdir().expect("a temporary folder");
    let bin = venv_with_wheel(&scratch.path().join("venv"));
    let script = "import importlib.metadata as m, json; d = m.metadata('loopwise'); \
                  print(json.dumps({k: d[k] for k in ('Name', 'Version', 'Summary', 'License-Expression', 'Requires-Python')}))";
    let output = run(Command::new(bin.join("python")).args(["-c", script]));
    assert!(output.status.success(), "{}", report(&output));
    let metadata: Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{error}\n{}", report(&output)));
    assert_eq!(metadata["Name"], "loopwise");
    assert_eq!(metadata["Version"], VERSION, "the version is Cargo.toml's");
    assert_eq!(metadata["Summary"], env!("CARGO_PKG_DESCRIPTION"), "pyproject.toml's description is Cargo.toml's");
    assert_eq!(metadata["License-Expression"], env!("CARGO_PKG_LICENSE"), "pyproject.toml's license is Cargo.toml's");
    assert!(metadata["Requires-Python"].as_str().is_some_and(|bound| bound.starts_with(">=3")), "{metadata}");
}

#[test]
fn installed_wheel_checks_a_file_and_serves_lsp() {
    if !tools_are_ready("the installed wheel") {
        return;
    }
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let bin = venv_with_wheel(&scratch.path().join("venv"));
    let loopwise = bin.join("loopwise");
    assert!(loopwise.is_file(), "pip put no `loopwise` in {}", bin.display());
    let project = scratch.path().join("project");
    write(&project.join("app.py"), PITFALL);

    let output =
        run(Command::new(&loopwise).args(["check", "app.py"]).current_dir(&project).env_remove("LOOPWISE_CACHE_DIR"));
    assert_eq!(output.status.code(), Some(1), "a finding exits with 1:\n{}", report(&output));
    assert!(stdout(&output).contains("LW101"), "{}", report(&output));

    let mut server = Command::new(&loopwise)
        .arg("server")
        .current_dir(&project)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn loopwise server");
    let mut connection = Connection::new(&mut server);
    let root = url_of(&project);
    connection.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"processId": null, "rootUri": root, "capabilities": {}}}));
    let initialized = connection.response(1);
    assert!(initialized["result"]["capabilities"].is_object(), "no capabilities: {initialized}");
    connection.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}));
    assert_eq!(connection.response(2)["result"], Value::Null);
    connection.send(&json!({"jsonrpc": "2.0", "method": "exit"}));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.try_wait().expect("poll the server") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = server.kill();
            panic!("the installed server did not exit within 10 s of `exit`");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}

fn url_of(folder: &Path) -> String {
    format!("file://{}", folder.display())
}

/// Both ends of a server's stdio, with the server's messages read on a thread so that a
/// silent server fails the test instead of hanging it.
struct Connection {
    stdin: std::process::ChildStdin,
    incoming: std::sync::mpsc::Receiver<Value>,
}

impl Connection {
    fn new(server: &mut Child) -> Self {
        let stdin = server.stdin.take().expect("stdin");
        let stdout = server.stdout.take().expect("stdout");
        let (sender, incoming) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    return;
                }
            }
        });
        Self { stdin, incoming }
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write to the server");
        self.stdin.flush().expect("flush to the server");
    }

    /// The response to request `id`, passing over the notifications before it.
    fn response(&self, id: i64) -> Value {
        loop {
            let message = self
                .incoming
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|error| panic!("no response to request {id}: {error}"));
            if message["id"] == id && message.get("method").is_none() {
                return message;
            }
        }
    }
}

/// One `Content-Length` framed message; `None` at the end of the stream.
fn read_message(reader: &mut BufReader<ChildStdout>) -> Option<Value> {
    let mut length = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some(value) = header.strip_prefix("Content-Length: ") {
            length = value.parse().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

// ---------------------------------------------------------------------------------------------
// pre-commit

/// `git` with no user configuration that could change what a commit does (signing, hooks).
fn git(folder: &Path, args: &[&str]) -> Output {
    let output = run(Command::new("git")
        .args(["-c", "user.name=loopwise tests", "-c", "user.email=tests@loopwise.invalid"])
        .args(["-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", "-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(folder)
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE"));
    assert!(output.status.success(), "git {args:?} in {}:\n{}", folder.display(), report(&output));
    output
}

/// A git repository in `folder` whose one commit is this working tree as it is now, with its
/// uncommitted changes and new files (not the ignored ones): `pre-commit try-repo` of the
/// repository itself would leave out files not yet added, and a test of the hooks must see
/// the hooks being written.
fn snapshot_of_the_working_tree(folder: &Path) -> String {
    let listed = git(repository(), &["ls-files", "-z", "--cached", "--others", "--exclude-standard"]);
    for name in listed.stdout.split(|byte| *byte == 0).filter(|name| !name.is_empty()) {
        let name = std::str::from_utf8(name).expect("UTF-8 file names");
        let source = repository().join(name);
        // A tracked file deleted in the working tree is not part of it.
        if !source.is_file() {
            continue;
        }
        let destination = folder.join(name);
        std::fs::create_dir_all(destination.parent().expect("a folder")).expect("create folders");
        std::fs::copy(&source, &destination).unwrap_or_else(|error| panic!("{}: {error}", source.display()));
    }
    git(folder, &["init", "-q"]);
    git(folder, &["add", "-A"]);
    git(folder, &["commit", "-q", "-m", "the working tree"]);
    stdout(&git(folder, &["rev-parse", "HEAD"])).trim().to_string()
}

/// `python -m pre_commit ARGS` in `project`, offline: pip finds only maturin's wheel, cargo
/// reuses what `cargo test` built.
fn pre_commit(scratch: &Path, project: &Path, args: &[&str]) -> Output {
    let _building = cargo_builds();
    let started = Instant::now();
    let output = run(with_cargo_folders(
        Command::new(python())
            .args(["-m", "pre_commit"])
            .args(args)
            .current_dir(project)
            .env("PRE_COMMIT_HOME", scratch.join("pre-commit-home"))
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", wheelhouse())
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
            .env("PIP_CACHE_DIR", scratch.join("pip-cache"))
            // pre-commit makes its environments with virtualenv, which would look for newer pip
            // wheels online and keep its seeds in the user's folders.
            .env("VIRTUALENV_NO_PERIODIC_UPDATE", "1")
            .env("VIRTUALENV_OVERRIDE_APP_DATA", scratch.join("virtualenv"))
            .env("MATURIN_PEP517_ARGS", "--profile dev --strip --frozen")
            .env_remove("LOOPWISE_CACHE_DIR")
            .env_remove("GIT_DIR")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_WORK_TREE"),
    ));
    let _ = writeln!(std::io::stderr(), "pre-commit {}: {:.1} s", args.join(" "), started.elapsed().as_secs_f64());
    output
}

#[test]
fn pre_commit_hooks_fail_on_a_pitfall_fix_it_and_pass() {
    if !tools_are_ready("the pre-commit hooks") {
        return;
    }
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let hooks = scratch.path().join("loopwise");
    let rev = snapshot_of_the_working_tree(&hooks);
    let project = scratch.path().join("project");
    write(&project.join("app.py"), PITFALL);
    git(&project, &["init", "-q"]);
    git(&project, &["add", "app.py"]);

    let hooks_path = hooks.to_str().expect("a UTF-8 path");
    let tried = pre_commit(scratch.path(), &project, &["try-repo", hooks_path, "loopwise-check", "--all-files"]);
    let text = report(&tried);
    assert_eq!(tried.status.code(), Some(1), "the hook fails on the pitfall:\n{text}");
    assert!(stdout(&tried).contains("loopwise check") && stdout(&tried).contains("Failed"), "{text}");
    assert!(stdout(&tried).contains("LW101"), "the hook prints the finding:\n{text}");

    // The user fixes that one by hand; the fix hook fixes the next (a safe fix), through the
    // README's `.pre-commit-config.yaml` pointed at the snapshot.
    write(&project.join("app.py"), SAFELY_FIXABLE);
    let config = readme_pre_commit_config()
        .replace("https://github.com/OWNER/loopwise", hooks_path)
        .replace(&format!("rev: v{VERSION}"), &format!("rev: {rev}"));
    assert!(config.contains(hooks_path) && config.contains(&rev), "the README's snippet changed shape:\n{config}");
    write(&project.join(".pre-commit-config.yaml"), &config);
    let fixed = pre_commit(scratch.path(), &project, &["run", "--all-files"]);
    let text = report(&fixed);
    // A hook that changes files fails the run, so that the user sees and stages the change.
    assert_eq!(fixed.status.code(), Some(1), "{text}");
    assert!(stdout(&fixed).contains("files were modified by this hook"), "{text}");
    let app = std::fs::read_to_string(project.join("app.py")).expect("app.py");
    assert_eq!(app, SAFELY_FIXABLE.replace("get_event_loop", "get_running_loop"), "{text}");
    let passed = pre_commit(scratch.path(), &project, &["run", "--all-files"]);
    let text = report(&passed);
    assert_eq!(passed.status.code(), Some(0), "the fixed file passes both hooks:\n{text}");
    assert_eq!(stdout(&passed).matches("Passed").count(), 2, "{text}");
}

/// LW502, whose fix is safe: the fix hook applies it without options.
const SAFELY_FIXABLE: &str =
    "import asyncio\n\n\nasync def f():\n    await asyncio.sleep(1)\n    return asyncio.get_event_loop()\n";

/// The `.pre-commit-config.yaml` the README shows.
fn readme_pre_commit_config() -> String {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    let start = readme.find("\n### pre-commit\n").expect("README has `### pre-commit`");
    let block = readme[start..].split("```yaml\n").nth(1).and_then(|block| block.split("```").next());
    block.expect("a yaml block under `### pre-commit`").to_string()
}

// ---------------------------------------------------------------------------------------------
// GitHub Action

/// `action.yml` as GitHub reads it, through `PyYAML`.
fn action() -> Value {
    let script = "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8'))))";
    let output = run(Command::new(python()).args(["-c", script]).arg(repository().join("action.yml")));
    assert!(output.status.success(), "action.yml does not parse:\n{}", report(&output));
    serde_json::from_slice(&output.stdout).expect("JSON from PyYAML")
}

/// `${{ inputs.NAME }}` and `${{ github.action_path }}` replaced as GitHub replaces them; any
/// other expression is one this test cannot stand in for.
fn expand(text: &str, inputs: &serde_json::Map<String, Value>) -> String {
    let mut expanded = text.replace("${{ github.action_path }}", repository().to_str().expect("a UTF-8 path"));
    for (name, value) in inputs {
        expanded = expanded.replace(&format!("${{{{ inputs.{name} }}}}"), value.as_str().unwrap_or_default());
    }
    assert!(!expanded.contains("${{"), "an expression the test does not know: {text}");
    expanded
}

/// Runs the action's step in `workspace` as a GitHub runner would (`shell: bash` is
/// `bash --noprofile --norc -eo pipefail {0}`), with `given` inputs over the defaults and pip
/// installing only from the folder of the built wheel.
fn run_action(workspace: &Path, runner_temp: &Path, given: &[(&str, &str)]) -> Output {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite", "{action}");
    let steps = action["runs"]["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 1, "one step, the one this test runs: {steps:?}");
    let step = &steps[0];
    assert_eq!(step["shell"], "bash", "{step}");
    let mut inputs = serde_json::Map::new();
    for (name, input) in action["inputs"].as_object().expect("inputs") {
        let default = input["default"].as_str().unwrap_or_else(|| panic!("input `{name}` has a string default"));
        inputs.insert(name.clone(), json!(default));
    }
    for (name, value) in given {
        assert!(inputs.contains_key(*name), "action.yml has no input `{name}`");
        inputs.insert((*name).to_string(), json!(value));
    }
    let script = runner_temp.join("step.sh");
    write(&script, &expand(step["run"].as_str().expect("a run script"), &inputs));
    let mut command = Command::new("bash");
    command.args(["--noprofile", "--norc", "-eo", "pipefail"]).arg(&script).current_dir(workspace);
    for (name, value) in step["env"].as_object().into_iter().flatten() {
        command.env(name, expand(value.as_str().expect("a string"), &inputs));
    }
    // The runner's Python: this test's (the virtualenv's folder, not the interpreter it links
    // to), first on PATH.
    let path = std::env::var_os("PATH").unwrap_or_default();
    let python = python();
    let python_folder = python.parent().filter(|folder| !folder.as_os_str().is_empty());
    let folders = python_folder.map(Path::to_path_buf).into_iter().chain(std::env::split_paths(&path));
    command
        .env("PATH", std::env::join_paths(folders).expect("a PATH"))
        .env("GITHUB_ACTION_PATH", repository())
        .env("GITHUB_WORKSPACE", workspace)
        .env("GITHUB_ACTIONS", "true")
        .env("RUNNER_TEMP", runner_temp)
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", wheel().parent().expect("the wheel's folder"))
        .env("PIP_CACHE_DIR", runner_temp.join("pip-cache"))
        .env_remove("LOOPWISE_CACHE_DIR");
    run(&mut command)
}

/// The annotations GitHub shows on the changed lines: `::warning file=...::...` and `::error`.
fn annotations(output: &Output) -> Vec<String> {
    stdout(output)
        .lines()
        .filter(|line| line.starts_with("::warning ") || line.starts_with("::error "))
        .map(str::to_string)
        .collect()
}

#[test]
fn github_action_installs_from_pip_and_annotates_findings() {
    if !tools_are_ready("the GitHub Action") {
        return;
    }
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let workspace = scratch.path().join("workspace");
    write(&workspace.join("app.py"), PITFALL);
    write(&workspace.join("clean.py"), "import asyncio\n\nasync def f():\n    await asyncio.sleep(1)\n");

    // The defaults: the latest version, `check`, the whole workspace.
    let runner = scratch.path().join("runner-defaults");
    let output = run_action(&workspace, &runner, &[]);
    let text = report(&output);
    assert_eq!(output.status.code(), Some(1), "findings fail the step:\n{text}");
    let found = annotations(&output);
    assert_eq!(found.len(), 1, "one annotation, for app.py's LW101:\n{text}");
    assert!(found[0].contains("app.py") && found[0].contains("LW101"), "{text}");
    assert!(stdout(&output).contains(&format!("loopwise {VERSION}")), "the step says which loopwise ran:\n{text}");

    // A pinned version, options and one file.
    let runner = scratch.path().join("runner-pinned");
    let output = run_action(
        &workspace,
        &runner,
        &[("version", VERSION), ("args", "check --select LW1"), ("src", "app.py clean.py")],
    );
    let text = report(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let found = annotations(&output);
    assert!(found.len() == 1 && found[0].contains("LW101"), "{text}");

    // Nothing to report: the step passes and annotates nothing.
    let runner = scratch.path().join("runner-clean");
    let output = run_action(&workspace, &runner, &[("src", "clean.py")]);
    assert_eq!(output.status.code(), Some(0), "{}", report(&output));
    assert_eq!(annotations(&output), Vec::<String>::new(), "{}", report(&output));
}
