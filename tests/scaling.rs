//! Scaling: `loopwise check` on generated files of size n and 4n must cost about four times as
//! much, not sixteen. Each case runs the built binary on both sizes and compares the child's CPU
//! time (user + system, from `wait4`) and peak resident memory (`VmHWM`), never a wall time: a loaded CI
//! runner slows both runs alike. The bound on the time ratio is twice the size ratio, which a
//! linear algorithm meets with margin and a quadratic one (the size ratio squared) fails.
//! Each run also counts its findings, so a case cannot pass by checking nothing.

mod binary;

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use std::fmt::Write as _;

/// What one run of the binary cost.
#[derive(Debug, Clone, Copy)]
struct Usage {
    cpu: Duration,
    peak_rss_kib: i64,
    findings: usize,
}

/// `loopwise check` on `source` (every rule selected), waited for with `wait4` to read its
/// resource usage; the cheaper of two runs, so a one-off stall does not decide.
fn measure(source: &str) -> Usage {
    let folder = tempfile::tempdir().expect("temporary folder");
    std::fs::write(folder.path().join("case.py"), source).expect("write the case");
    let once = || run_once(folder.path());
    let (first, second) = (once(), once());
    assert_eq!(first.findings, second.findings, "two runs on the same file disagree");
    Usage {
        cpu: first.cpu.min(second.cpu),
        peak_rss_kib: first.peak_rss_kib.min(second.peak_rss_kib),
        findings: first.findings,
    }
}

/// The peak resident memory of the running process `pid`, from `/proc/PID/status`.
fn high_water_mark_kib(pid: libc::pid_t) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

// The child is reaped by `wait4` below, which also reads its CPU time: `Child::wait` cannot.
#[allow(clippy::zombie_processes)]
fn run_once(folder: &Path) -> Usage {
    let report = folder.join("report.txt");
    let child = Command::new(env!("CARGO_BIN_EXE_loopwise"))
        .current_dir(folder)
        .args(["check", "--no-cache", "--select", "LW", "--output-format", "concise", "case.py"])
        .env_remove("LOOPWISE_CACHE_DIR")
        .stdout(File::create(&report).expect("create the report"))
        .stderr(Stdio::null())
        .spawn()
        .expect("the loopwise binary runs");
    let pid = libc::pid_t::try_from(child.id()).expect("a process id fits pid_t");
    let mut status = 0;
    // SAFETY: `rusage` is plain data that `wait4` fills in; all zeroes is a valid value of it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // `ru_maxrss` would count the test process too: a spawned child's high-water mark starts
    // from its parent's memory. The child's own `VmHWM` (monotonic) is read until it exits.
    let mut peak_rss_kib = 0;
    loop {
        if let Some(peak) = high_water_mark_kib(pid) {
            peak_rss_kib = peak_rss_kib.max(peak);
        }
        // SAFETY: `pid` is our own child, not yet reaped (the `Child` is never waited on), and
        // both pointers point to live, writable values of the types `wait4` expects.
        let reaped = unsafe { libc::wait4(pid, &raw mut status, libc::WNOHANG, &raw mut usage) };
        assert!(reaped >= 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if reaped == pid {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) < 2, "loopwise failed with status {status:#x}");
    let time = |value: libc::timeval| {
        Duration::from_secs(value.tv_sec.unsigned_abs()) + Duration::from_micros(value.tv_usec.unsigned_abs())
    };
    let printed = std::fs::read_to_string(&report).expect("read the report");
    Usage {
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        peak_rss_kib,
        findings: printed.lines().filter(|line| line.contains(": LW")).count(),
    }
}

/// Measures `source(n)` and `source(4 * n)` and asserts that both time and memory grow about
/// linearly with the size of the text, and the findings as `findings(n)` says.
fn assert_linear(case: &str, n: usize, source: impl Fn(usize) -> String, findings: impl Fn(usize) -> usize) {
    assert_linear_between(case, [n, 4 * n], source, findings);
}

/// [`assert_linear`] between the two sizes given.
fn assert_linear_between(
    case: &str,
    [n, large_n]: [usize; 2],
    source: impl Fn(usize) -> String,
    findings: impl Fn(usize) -> usize,
) {
    let (small, large) = (source(n), source(large_n));
    let (smaller, larger) = (measure(&small), measure(&large));
    #[allow(clippy::cast_precision_loss, reason = "sizes and times far below 2^52")]
    let (size_ratio, time_ratio, memory_ratio) = (
        large.len() as f64 / small.len() as f64,
        larger.cpu.as_secs_f64() / smaller.cpu.as_secs_f64().max(1e-3),
        larger.peak_rss_kib as f64 / smaller.peak_rss_kib.max(1) as f64,
    );
    let mut summary = String::new();
    let _ = write!(
        summary,
        "{case}: n={n} ({} bytes) {:?} {} KiB, n={large_n} ({} bytes) {:?} {} KiB: time x{time_ratio:.2}, memory \
         x{memory_ratio:.2}, size x{size_ratio:.2}",
        small.len(),
        smaller.cpu,
        smaller.peak_rss_kib,
        large.len(),
        larger.cpu,
        larger.peak_rss_kib,
    );
    // Shown with `--nocapture`, for the numbers in a commit message.
    println!("{summary}");
    assert_eq!((smaller.findings, larger.findings), (findings(n), findings(large_n)), "{summary}: findings");
    assert!(time_ratio < 2.0 * size_ratio, "{summary}: CPU time grows faster than the text");
    assert!(memory_ratio < 1.5 * size_ratio, "{summary}: memory grows faster than the text");
}

/// `n` nested `if` blocks, one space deeper each, with a blocking call at every level: the
/// text grows with the square of the depth, so the large case doubles the depth.
#[test]
fn nested_blocks() {
    let source = |depth: usize| {
        let mut text = String::from("import time\n\n\nasync def handler(x):\n");
        for level in 1..=depth {
            let _ = writeln!(text, "{:level$}time.sleep(1)\n{:level$}if x:", "", "");
        }
        let _ = writeln!(text, "{:width$}pass", "", width = depth + 1);
        text
    };
    // Depth d and 2d: four times the text.
    // `handler` never awaits: one more finding.
    assert_linear_between("nested blocks", [150, 300], source, |depth| depth + 1);
}

#[test]
fn long_chain_of_awaits() {
    let source = |terms: usize| {
        let chain = vec!["await g()"; terms].join(" + ");
        format!("async def g():\n    return 1\n\n\nasync def f():\n    x = {chain}\n    return x\n")
    };
    // `g` never awaits.
    assert_linear("`await g() + ...`", 2000, source, |_| 1);
}

#[test]
fn long_chain_of_blocking_calls() {
    let source = |terms: usize| {
        let chain = vec!["time.sleep(1)"; terms].join(" + ");
        format!("import time\n\n\nasync def f():\n    x = {chain}\n    return x\n")
    };
    assert_linear("`time.sleep(1) + ...`", 2000, source, |terms| terms + 1);
}

#[test]
fn many_functions_with_a_finding_each() {
    let source = |functions: usize| {
        let mut text = String::from("import time\n");
        for index in 0..functions {
            let _ = write!(text, "\n\nasync def handler_{index}(request):\n    time.sleep(1)\n    return request\n");
        }
        text
    };
    // Each handler also never awaits.
    assert_linear("many functions", 1000, source, |functions| 2 * functions);
}

#[test]
fn many_findings_in_one_function() {
    let source = |calls: usize| {
        let mut text = String::from("import time\n\n\nasync def handler():\n");
        for index in 0..calls {
            let _ = writeln!(text, "    time.sleep({index})");
        }
        text
    };
    assert_linear("many findings in one function", 1000, source, |calls| calls + 1);
}

#[test]
fn big_file_without_findings() {
    let source = |functions: usize| {
        let mut text = String::from("import asyncio\n");
        for index in 0..functions {
            let _ = write!(
                text,
                "\n\nasync def worker_{index}(queue: asyncio.Queue) -> int:\n    total = 0\n    while not queue.empty():\n        \
                 item = await queue.get()\n        total += item * {index}\n        queue.task_done()\n    return total\n"
            );
        }
        text
    };
    assert_linear("big file without findings", 1000, source, |_| 0);
}
