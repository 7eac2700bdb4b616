//! The settings one analysis runs with, already resolved: no files, no TOML, no defaults to
//! look up. `crate::config` builds them from configuration files, the CLI and the editor.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use globset::{GlobMatcher, GlobSet};

use crate::analysis::Severity;
use crate::rules::{Rule, RuleSet};

/// A Python version, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonVersion {
    pub major: u8,
    pub minor: u8,
}

impl PythonVersion {
    pub const PY311: PythonVersion = PythonVersion { major: 3, minor: 11 };
    /// The versions loopwise knows, as ruff's `target-version` does (py37 to py314): a target
    /// outside them is a typo or a project loopwise cannot judge, never a silent default.
    pub const OLDEST: PythonVersion = PythonVersion { major: 3, minor: 7 };
    pub const NEWEST: PythonVersion = PythonVersion { major: 3, minor: 14 };

    /// Parses a `target-version` a user wrote: a version [`parse`](Self::parse) reads, and
    /// one loopwise knows. The error says what was expected.
    pub fn parse_target(value: &str) -> Result<Self, String> {
        let expected = format!("expected a version from {} to {}, e.g. 3.11 or py311", Self::OLDEST, Self::NEWEST);
        match Self::parse(value) {
            Some(version) if (Self::OLDEST..=Self::NEWEST).contains(&version) => Ok(version),
            Some(_) => Err(format!("`{value}` is not a Python version loopwise knows ({expected})")),
            None => Err(format!("`{value}` is not a Python version ({expected})")),
        }
    }

    /// Parses `3.11`, `py311`, `py3.11` or `>=3.11` (the lower bound of `requires-python`).
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let value = value.strip_prefix("py").unwrap_or(value);
        let value = value.trim_start_matches(['>', '=', '~', '^', ' ']);
        let value = value.split([',', ' ']).next()?;
        if let Some((major, rest)) = value.split_once('.') {
            let minor = rest.split('.').next()?;
            let minor = minor.trim_end_matches('*');
            return Some(PythonVersion { major: major.parse().ok()?, minor: minor.parse().ok()? });
        }
        // `py311`
        let (major, minor) = value.split_at_checked(1)?;
        Some(PythonVersion { major: major.parse().ok()?, minor: minor.parse().ok()? })
    }
}

impl std::fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Rules switched off for files matching a glob.
#[derive(Debug, Clone)]
pub struct PerFileIgnore {
    pub matcher: GlobMatcher,
    /// Patterns without a `/` match a file's base name as well as its whole path.
    pub match_basename: bool,
    pub rules: RuleSet,
}

#[derive(Debug, Clone)]
pub struct LintSettings {
    pub target_version: PythonVersion,
    pub rules: RuleSet,
    pub severity: HashMap<Rule, Severity>,
    /// Shared: settings are cloned per folder, and each compiled glob keeps its own match
    /// caches, so copies would cost memory for every folder.
    pub per_file_ignores: Arc<[PerFileIgnore]>,
    /// Seconds, used by timeout fixes.
    pub default_timeout: f64,
    /// Bytes: larger files are not checked (the caller says so); see `config::FileSize`.
    pub max_file_size: u64,
    /// User-listed blocking calls: qualified name -> optional suggestion.
    pub blocking_calls: HashMap<String, Option<String>>,
    /// How the project's tests are run, as its pytest configuration says.
    pub test_runners: TestRunners,
    /// Which files are test code, and the rules not run on them.
    pub test_code: Option<Arc<TestCode>>,
    /// Skip the rules (and the parse of files no rule is left for) whose trigger texts a file
    /// lacks (`analysis::prefilter`). Off only to check that skipping changes no finding.
    pub prefilter: bool,
    /// The module's top level runs on a running event loop, where `await`, `async for` and
    /// `async with` are allowed: a notebook's cells (`IPython`'s autoawait). Blocking calls there
    /// block the loop, and the loop cannot be started again (`asyncio.run` is LW204, not LW503).
    pub top_level_await: bool,
}

/// Test code: paths below `root` that `matcher` matches (relative to `root`) do not run `rules`.
#[derive(Debug)]
pub struct TestCode {
    pub root: std::path::PathBuf,
    /// Shared by every configuration with the same patterns: a compiled glob set keeps its own
    /// match caches, so one per folder would cost memory for each.
    pub matcher: Arc<GlobSet>,
    /// What `matcher` was made of (a compiled set does not say).
    pub patterns: Vec<String>,
    pub rules: RuleSet,
}

/// What the configuration layer found out about the test runner of a file's folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TestRunners {
    /// A pytest configuration (an ini section pytest reads, or a conftest.py) applies.
    pub pytest_configured: bool,
    /// Something runs `async def` tests without a mark, or may (loopwise cannot tell):
    /// pytest-asyncio's auto mode, pytest-trio's `trio_mode`, anyio's auto mode, a plugin or a
    /// conftest.py hook that runs or marks async tests, async fixtures that need such a runner.
    pub runs_unmarked: bool,
}

impl Default for LintSettings {
    fn default() -> Self {
        Self {
            target_version: PythonVersion::PY311,
            rules: RuleSet::defaults(),
            severity: HashMap::new(),
            per_file_ignores: Arc::from(Vec::new()),
            default_timeout: 10.0,
            max_file_size: 10 << 20,
            blocking_calls: HashMap::new(),
            test_runners: TestRunners::default(),
            test_code: None,
            prefilter: true,
            top_level_await: false,
        }
    }
}

/// `path` below `root`, as [`Path::strip_prefix`] gives it. Comparing bytes first answers for
/// the paths of a walk (no `.` components, no repeated separators) without taking both apart
/// component by component, which was a twentieth of a cached run.
pub fn relative_to<'p>(path: &'p Path, root: &Path) -> Option<&'p Path> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let prefix = root.as_os_str().as_bytes();
        let rest = path.as_os_str().as_bytes().strip_prefix(prefix).and_then(|rest| rest.strip_prefix(b"/"));
        // Anything `strip_prefix` would read differently from the bytes goes the long way.
        let plain = |rest: &[u8]| {
            !rest.is_empty()
                && rest != b"."
                && !rest.starts_with(b"/")
                && !rest.starts_with(b"./")
                && !rest.ends_with(b"/")
                && !rest.ends_with(b"/.")
        };
        if let Some(rest) = rest
            && !prefix.is_empty()
            && !prefix.ends_with(b"/")
            && plain(rest)
        {
            return Some(Path::new(std::ffi::OsStr::from_bytes(rest)));
        }
    }
    path.strip_prefix(root).ok()
}

impl LintSettings {
    /// The rules that run on `path`: the enabled ones less its per-file ignores.
    pub fn rules_for(&self, path: Option<&Path>) -> RuleSet {
        let Some(path) = path else { return self.rules };
        let basename = path.file_name().map(Path::new);
        let rules = self
            .per_file_ignores
            .iter()
            .filter(|ignore| {
                ignore.matcher.is_match(path)
                    || (ignore.match_basename && basename.is_some_and(|name| ignore.matcher.is_match(name)))
            })
            .fold(self.rules, |rules, ignore| rules.subtract(ignore.rules));
        match &self.test_code {
            Some(test) if relative_to(path, &test.root).is_some_and(|relative| test.matcher.is_match(relative)) => {
                rules.subtract(test.rules)
            }
            _ => rules,
        }
    }

    pub fn severity_of(&self, rule: Rule) -> Severity {
        self.severity.get(&rule).copied().unwrap_or(rule.meta().default_severity)
    }
}

#[cfg(test)]
mod tests {
    use super::relative_to;
    use std::path::Path;

    #[test]
    fn relative_paths_are_what_strip_prefix_gives() {
        let paths = [
            "/a/b/c.py",
            "/a/b",
            "/a/b/",
            "/a/bc/d.py",
            "/a/b//c.py",
            "/a/b/./c.py",
            "/a/b/c/.",
            "/a/b/c/",
            "/a/./b/c.py",
            "/a/../b/c.py",
            "a/b/c.py",
            "./a/b/c.py",
            "/",
            "/a/b/c//d.py",
            "/a/b/..",
            "/a/b/.",
        ];
        let roots = ["/a/b", "/a/b/", "/", "", "/a/./b", "/a/..", "a/b", "./a", "/a/b/c.py", "/a/b/."];
        for path in paths {
            for root in roots {
                let (path, root) = (Path::new(path), Path::new(root));
                assert_eq!(
                    relative_to(path, root),
                    path.strip_prefix(root).ok(),
                    "{} below {}",
                    path.display(),
                    root.display()
                );
            }
        }
    }
}
