use crate::analysis::{Call, Checker};
use crate::rules::Rule;
use crate::rules::to_thread_fix::to_thread_fix;

define_rule! {
    /// ## What it does
    /// Checks for calls that start or wait for a process synchronously in an async function:
    /// `subprocess.run/call/check_call/check_output/getoutput/getstatusoutput/Popen`,
    /// `os.system`, `os.popen`, `os.spawn*`, `os.posix_spawn*`, `os.wait*` and `os.waitpid`.
    ///
    /// ## Why is this bad?
    /// These calls block the event loop while the process starts or runs. asyncio has
    /// non-blocking equivalents that let other tasks run meanwhile.
    ///
    /// ## Example
    /// ```python
    /// import subprocess
    ///
    /// async def version():
    ///     return subprocess.check_output(["git", "--version"])
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// import asyncio
    ///
    /// async def version():
    ///     process = await asyncio.create_subprocess_exec(
    ///         "git", "--version", stdout=asyncio.subprocess.PIPE
    ///     )
    ///     out, _ = await process.communicate()
    ///     return out
    /// ```
    ///
    /// ## Fix safety
    /// The fix wraps the call in `await asyncio.to_thread(...)` (`subprocess.run(cmd, check=True)`
    /// becomes `await asyncio.to_thread(subprocess.run, cmd, check=True)`), adding
    /// `import asyncio` when the file lacks it. It is unsafe: the process then starts and is
    /// waited for in another thread while other tasks run, and cancelling the task does not
    /// stop it. It is offered for plain calls only: the callee is a name or a dotted chain of
    /// names, `await` applies to the call alone (not `os.popen(cmd).read()`, not in a
    /// comprehension), the call is not a `with` item, and no argument awaits. `Popen` and
    /// `os.popen` get no fix: they hand back a process or a pipe whose use blocks later, which
    /// a thread for the call alone does not cure (`asyncio.create_subprocess_exec`,
    /// `trio.run_process` or `anyio.run_process` does).
    /// Targets before Python 3.9 (no `asyncio.to_thread`) get no fix. In a trio or anyio
    /// module (one that imports `trio` or `anyio` and not `asyncio`) the fix uses that
    /// library's worker thread instead, `await trio.to_thread.run_sync(f, a)` or
    /// `await anyio.to_thread.run_sync(f, a)`, with `functools.partial(f, a, key=value)` when
    /// the call passes keywords (`run_sync` passes on positional arguments only); there a
    /// cancellation waits until the thread returns. It never adds `import asyncio` there.
    ///
    /// ## Known problems
    /// `Popen` itself only forks, but a process started this way is usually waited for with a
    /// blocking call next, so it is flagged too.
    ///
    /// ## References
    /// - [Python docs: asyncio subprocesses](https://docs.python.org/3/library/asyncio-subprocess.html)
    code: "LW103",
    name: "blocking-subprocess",
    summary: "synchronous process calls (`subprocess.*`, `os.system`, `os.wait*`, ...) in an async function",
    severity: Warning,
    enabled: true,
    aliases: ["ASYNC220", "ASYNC221", "ASYNC222"],
    peers: "ruff, flake8-async",
    fix: "wrap in `await asyncio.to_thread(...)`, or `trio.to_thread.run_sync`/`anyio.to_thread.run_sync` in trio and anyio modules (unsafe, plain calls only)",
    only_in_async_functions: true,
    // Why: the `os` functions by their names (`os` itself is in almost every text): `wait`
    // covers `waitpid`, `spawn` `posix_spawn`.
    triggers: ["subprocess", "system", "popen", "wait", "spawn"],
}

fn is_blocking_process_call(qualified: &str) -> bool {
    match qualified.split_once('.') {
        Some(("subprocess", name)) => {
            matches!(name, "run" | "call" | "check_call" | "check_output" | "getoutput" | "getstatusoutput" | "Popen")
        }
        Some(("os", name)) => {
            matches!(name, "system" | "popen" | "wait" | "wait3" | "wait4" | "waitid" | "waitpid")
                || name
                    .strip_prefix("spawn")
                    .is_some_and(|rest| rest.chars().all(|c| matches!(c, 'l' | 'v' | 'p' | 'e')))
                || name == "posix_spawn"
                || name == "posix_spawnp"
        }
        _ => false,
    }
}

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    let Some(qualified) = call.qualified_name.as_deref() else { return };
    if !is_blocking_process_call(qualified) {
        return;
    }
    let returns_handle = matches!(qualified, "subprocess.Popen" | "os.popen");
    let fix = (!returns_handle).then(|| to_thread_fix(checker, call)).flatten();
    let diagnostic = checker.report(
        Rule::BlockingSubprocess,
        call.node,
        format!("Blocking call to `{qualified}` {}", checker.semantic.async_place(call.node.start_byte())),
    );
    diagnostic.fix = fix;
}
