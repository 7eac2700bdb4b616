//! Configuration: `[tool.loopwise]` in pyproject.toml, `loopwise.toml` / `.loopwise.toml`,
//! CLI flags and editor settings, resolved into [`LintSettings`] for one file.
//!
//! Owns file discovery (the configuration nearest to a file wins), TOML parsing and validation
//! with errors that name the file, line and key. Knows nothing of the LSP or of output formats.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::analysis::settings::{PerFileIgnore, TestCode, TestRunners};
use crate::analysis::{LintSettings, PythonVersion, Severity};
use crate::rules::{DEFAULT_TEST_IGNORE, Rule, RuleSet, parse_selector};

mod project;
pub use project::KnownListings;

pub use project::{
    NEWEST_KNOWN, OLDEST_KNOWN, ProjectFacts, PytestFacts, Sourced, lower_bound, nearest_project_folder,
};

/// Configuration file names, in the order they win when several sit in one folder.
pub const CONFIG_FILES: &[&str] = &[".loopwise.toml", "loopwise.toml", "pyproject.toml"];

/// Folders no one wants linted; `exclude` replaces this list, `extend-exclude` adds to it.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
];

/// The keys of a configuration file, also accepted from the CLI and from editor settings.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Options {
    #[serde(alias = "targetVersion")]
    pub target_version: Option<String>,
    pub select: Option<Vec<String>>,
    #[serde(alias = "extendSelect")]
    pub extend_select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    #[serde(alias = "perFileIgnores")]
    pub per_file_ignores: Option<BTreeMap<String, Vec<String>>>,
    pub exclude: Option<Vec<String>>,
    #[serde(alias = "extendExclude")]
    pub extend_exclude: Option<Vec<String>>,
    #[serde(alias = "defaultTimeout")]
    pub default_timeout: Option<f64>,
    #[serde(alias = "blockingCalls")]
    pub blocking_calls: Option<BlockingCalls>,
    pub severity: Option<BTreeMap<String, String>>,
    /// Which files are test code: names (matched against every path component below the
    /// root) or `/`-containing globs anchored at the root. Replaces [`DEFAULT_TEST_PATHS`].
    #[serde(alias = "testPaths")]
    pub test_paths: Option<Vec<String>>,
    /// Rules not run on test code. Replaces [`DEFAULT_TEST_IGNORE`]; `[]` runs every rule there.
    #[serde(alias = "testIgnore")]
    pub test_ignore: Option<Vec<String>>,
    /// Files larger than this are not checked, and said so: a number of bytes, or a string
    /// such as `"10MB"` or `"16 MiB"`. Default 10 MiB.
    #[serde(alias = "maxFileSize")]
    pub max_file_size: Option<FileSize>,
    /// `--no-prefilter` (hidden): lint every file and rule, skipping none by its text. Not a
    /// configuration-file key.
    #[serde(skip)]
    pub no_prefilter: bool,
}

/// Test code: what pytest collects and the folders test suites live in.
pub const DEFAULT_TEST_PATHS: &[&str] = &["tests", "test", "testing", "test_*.py", "*_test.py", "conftest.py"];

/// The `max-file-size` when none is set, as other tools' limits go: a larger Python file is
/// generated data, and analysing it would cost seconds and gigabytes.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 << 20;

/// `max-file-size`: a number of bytes, or a string with a unit (`"10MB"`, `"16 MiB"`, `"500kB"`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum FileSize {
    Bytes(u64),
    Text(String),
}

impl FileSize {
    /// The size in bytes; `None` for a text that is not a size.
    pub fn bytes(&self) -> Option<u64> {
        match self {
            FileSize::Bytes(bytes) => Some(*bytes),
            FileSize::Text(text) => {
                let text = text.trim();
                let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
                let (number, unit) = text.split_at(split);
                let number: u64 = number.parse().ok()?;
                let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
                    "" | "b" => 1,
                    "kb" => 1_000,
                    "mb" => 1_000_000,
                    "gb" => 1_000_000_000,
                    "kib" => 1 << 10,
                    "mib" => 1 << 20,
                    "gib" => 1 << 30,
                    _ => return None,
                };
                number.checked_mul(factor)
            }
        }
    }
}

/// `blocking-calls`: a table of qualified name -> suggestion, or a list of qualified names.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockingCalls {
    Table(BTreeMap<String, String>),
    List(Vec<String>),
}

// By hand, not `#[serde(untagged)]`: an untagged enum's error says only that no variant matched,
// at the line the value starts on, where this one names the item that is not a string, and its line.
impl<'de> Deserialize<'de> for BlockingCalls {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = BlockingCalls;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a table of qualified names to suggestions, or a list of qualified names")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = items.next_element::<String>()? {
                    names.push(name);
                }
                Ok(BlockingCalls::List(names))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
                let mut table = BTreeMap::new();
                while let Some((name, suggestion)) = entries.next_entry::<String, String>()? {
                    table.insert(name, suggestion);
                }
                Ok(BlockingCalls::Table(table))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `module.function` or `module.Class.method`: identifiers joined by dots.
fn is_qualified_name(name: &str) -> bool {
    name.split('.').all(|part| {
        part.chars().next().is_some_and(|first| first.is_alphabetic() || first == '_')
            && part.chars().all(|c| c.is_alphanumeric() || c == '_')
    })
}

/// A configuration problem, with the file and line it is on when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: Option<PathBuf>,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.path, self.line) {
            (Some(path), Some(line)) => write!(f, "{}:{line}: {}", path.display(), self.message),
            (Some(path), None) => write!(f, "{}: {}", path.display(), self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Where options came from, so errors can point at the file and line.
struct OptionsSource<'a> {
    path: Option<&'a Path>,
    text: Option<&'a str>,
}

impl OptionsSource<'_> {
    fn error(&self, needle: &str, message: String) -> ConfigError {
        let line = self.text.and_then(|text| line_of(text, needle));
        ConfigError { path: self.path.map(Path::to_path_buf), line, message }
    }
}

/// The 1-based line of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> Option<usize> {
    let offset = text.find(needle)?;
    Some(text[..offset].matches('\n').count() + 1)
}

impl Options {
    /// Options from editor settings (`initializationOptions`, `didChangeConfiguration`).
    pub fn from_json(value: serde_json::Value) -> Result<Options, ConfigError> {
        let options: Options = serde_json::from_value(value).map_err(|error| ConfigError {
            path: None,
            line: None,
            message: format!("invalid loopwise settings: {error}"),
        })?;
        options.validate(&OptionsSource { path: None, text: None })?;
        Ok(options)
    }

    /// Checks every value, so a typo is an error rather than a silent default.
    fn validate(&self, source: &OptionsSource<'_>) -> Result<(), ConfigError> {
        if let Some(version) = &self.target_version
            && let Err(message) = PythonVersion::parse_target(version)
        {
            return Err(source.error("target-version", format!("`target-version`: {message}")));
        }
        let lists = [("select", &self.select), ("extend-select", &self.extend_select), ("ignore", &self.ignore)];
        for (key, codes) in lists {
            for code in codes.iter().flatten() {
                parse_selector(code)
                    .map_err(|error| source.error(&format!("\"{code}\""), format!("`{key}`: {error}")))?;
            }
        }
        for (pattern, codes) in self.per_file_ignores.iter().flatten() {
            Glob::new(pattern)
                .map_err(|error| source.error(pattern, format!("`per-file-ignores`: bad glob `{pattern}`: {error}")))?;
            for code in codes {
                parse_selector(code).map_err(|error| {
                    source.error(&format!("\"{code}\""), format!("`per-file-ignores` for `{pattern}`: {error}"))
                })?;
            }
        }
        for code in self.test_ignore.iter().flatten() {
            parse_selector(code)
                .map_err(|error| source.error(&format!("\"{code}\""), format!("`test-ignore`: {error}")))?;
        }
        for pattern in self.exclude.iter().chain(self.extend_exclude.iter()).chain(self.test_paths.iter()).flatten() {
            Glob::new(pattern)
                .map_err(|error| source.error(pattern, format!("bad exclude glob `{pattern}`: {error}")))?;
        }
        let blocking_names: Vec<&String> = match &self.blocking_calls {
            Some(BlockingCalls::Table(table)) => table.keys().collect(),
            Some(BlockingCalls::List(list)) => list.iter().collect(),
            None => Vec::new(),
        };
        // A TOML date or time arrives as a one-entry table with a private key: only a dotted
        // name of identifiers is a call loopwise can match.
        if let Some(name) = blocking_names.into_iter().find(|name| !is_qualified_name(name)) {
            return Err(source.error(
                "blocking-calls",
                format!("`blocking-calls`: `{name}` is not a qualified name (expected e.g. \"legacy.client.fetch\")"),
            ));
        }
        if let Some(size) = &self.max_file_size
            && size.bytes().is_none_or(|bytes| bytes == 0)
        {
            return Err(source.error(
                "max-file-size",
                format!("`max-file-size`: {size:?} is not a size (expected bytes, or e.g. \"10MB\", \"16 MiB\")"),
            ));
        }
        if let Some(timeout) = self.default_timeout
            && !(timeout.is_finite() && timeout > 0.0)
        {
            return Err(source.error(
                "default-timeout",
                format!("`default-timeout` must be a positive number of seconds, not {timeout}"),
            ));
        }
        for (code, severity) in self.severity.iter().flatten() {
            if Rule::ALL.iter().all(|rule| !rule.is_named_by(code)) {
                return Err(source.error(code, format!("`severity`: unknown rule code `{code}`")));
            }
            if Severity::parse(severity).is_none() {
                return Err(source.error(
                    severity,
                    format!(
                        "`severity` for `{code}`: `{severity}` is not one of \"error\", \"warning\", \"info\", \"hint\""
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Parses the options of one configuration file (`[tool.loopwise]` of a pyproject.toml, or
    /// the top level of a loopwise.toml). `Ok(None)`: a pyproject.toml without the table.
    pub fn from_file(path: &Path, text: &str) -> Result<Option<Options>, ConfigError> {
        let is_pyproject = path.file_name().is_some_and(|name| name == "pyproject.toml");
        let located = |error: toml::de::Error| {
            let line = error.span().map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            let message = error.span().map_or_else(
                || error.message().to_string(),
                |span| explained(text, &span, error.message(), is_pyproject),
            );
            ConfigError { path: Some(path.to_path_buf()), line, message }
        };
        let options = if is_pyproject {
            let document: PyProject = toml::from_str(text).map_err(located)?;
            let Some(options) = document.tool.and_then(|tool| tool.loopwise) else { return Ok(None) };
            options
        } else {
            toml::from_str::<Options>(text).map_err(located)?
        };
        options.validate(&OptionsSource { path: Some(path), text: Some(text) })?;
        Ok(Some(options))
    }

    /// `self` with every key that `overrides` sets replaced, except the rule selection, which
    /// stacks (see [`resolve_rules`]).
    fn overridden_by(&self, overrides: &Options) -> Options {
        Options {
            target_version: overrides.target_version.clone().or_else(|| self.target_version.clone()),
            select: self.select.clone(),
            extend_select: self.extend_select.clone(),
            ignore: self.ignore.clone(),
            per_file_ignores: overrides.per_file_ignores.clone().or_else(|| self.per_file_ignores.clone()),
            exclude: overrides.exclude.clone().or_else(|| self.exclude.clone()),
            extend_exclude: overrides.extend_exclude.clone().or_else(|| self.extend_exclude.clone()),
            default_timeout: overrides.default_timeout.or(self.default_timeout),
            blocking_calls: overrides.blocking_calls.clone().or_else(|| self.blocking_calls.clone()),
            severity: overrides.severity.clone().or_else(|| self.severity.clone()),
            test_paths: overrides.test_paths.clone().or_else(|| self.test_paths.clone()),
            test_ignore: overrides.test_ignore.clone().or_else(|| self.test_ignore.clone()),
            max_file_size: overrides.max_file_size.clone().or_else(|| self.max_file_size.clone()),
            no_prefilter: overrides.no_prefilter || self.no_prefilter,
        }
    }
}

/// A TOML error `message` at `span` of `text`, led by the key it is about (`select`,
/// `per-file-ignores."a.py"`): serde's messages say what was wrong but not where in the options.
/// A date-time, which serde sees as a private table, is called one.
fn explained(text: &str, span: &std::ops::Range<usize>, message: &str, is_pyproject: bool) -> String {
    let Ok(document) = toml::de::DeTable::parse(text) else { return message.to_string() };
    let mut keys: Vec<&str> = Vec::new();
    let Some(found) = value_at(document.get_ref(), span, &mut keys) else { return message.to_string() };
    let at_span = (found.span() == *span).then(|| found.get_ref());
    if is_pyproject {
        if keys.len() < 2 || keys[..2] != ["tool", "loopwise"] {
            return message.to_string();
        }
        keys.drain(..2);
    }
    let Some((first, rest)) = keys.split_first() else { return message.to_string() };
    let mut key = (*first).to_string();
    for part in rest {
        let _ = write!(key, ".\"{part}\"");
    }
    let message = match at_span {
        Some(toml::de::DeValue::Datetime(datetime)) => {
            message.replacen("invalid type: map", &format!("invalid type: date-time `{datetime}`"), 1)
        }
        _ => message.to_string(),
    };
    format!("`{key}`: {message}")
}

/// The innermost value holding the start of `span` (an array's item when one is at `span`),
/// with the keys leading to it pushed on `keys`; `None` when no key holds it. Tables are searched
/// rather than matched by span: a table made by a `[header]` does not span its keys.
fn value_at<'t, 'i>(
    table: &'t toml::de::DeTable<'i>,
    span: &std::ops::Range<usize>,
    keys: &mut Vec<&'t str>,
) -> Option<&'t toml::Spanned<toml::de::DeValue<'i>>> {
    for (key, value) in table {
        keys.push(key.get_ref());
        if let toml::de::DeValue::Table(inner) = value.get_ref()
            && let Some(found) = value_at(inner, span, keys)
        {
            return Some(found);
        }
        if value.span().contains(&span.start) {
            if let toml::de::DeValue::Array(items) = value.get_ref()
                && let Some(item) = items.iter().find(|item| item.span() == *span)
            {
                return Some(item);
            }
            return Some(value);
        }
        keys.pop();
    }
    None
}

#[derive(Deserialize)]
struct PyProject {
    tool: Option<PyProjectTool>,
}

#[derive(Deserialize)]
struct PyProjectTool {
    loopwise: Option<Options>,
}

fn selection(codes: Option<&Vec<String>>) -> RuleSet {
    codes.into_iter().flatten().filter_map(|code| parse_selector(code).ok()).fold(RuleSet::EMPTY, RuleSet::union)
}

/// The enabled rules: the file's `select` (or the defaults) plus `extend-select` less
/// `ignore`, then the same three from the CLI or editor on top.
fn resolve_rules(file: &Options, overrides: &Options) -> RuleSet {
    let mut rules = file.select.as_ref().map_or_else(RuleSet::defaults, |select| selection(Some(select)));
    rules = rules.union(selection(file.extend_select.as_ref())).subtract(selection(file.ignore.as_ref()));
    if let Some(select) = &overrides.select {
        rules = selection(Some(select));
    }
    rules.union(selection(overrides.extend_select.as_ref())).subtract(selection(overrides.ignore.as_ref()))
}

/// Everything the configuration says about the files under one configuration file.
#[derive(Debug)]
pub struct Configuration {
    /// The configuration file, if any was found.
    pub file: Option<PathBuf>,
    /// The folder relative patterns (`exclude`, `per-file-ignores`) are anchored at.
    pub root: PathBuf,
    /// The settings before the facts of a file's folder (target version, test runners).
    pub settings: Arc<LintSettings>,
    /// loopwise's own `target-version`, from the overrides or the file, and where it came from.
    pub explicit_target: Option<Sourced<PythonVersion>>,
    /// The keys the configuration file itself set (for `--show-settings`).
    options: Options,
    exclude: Excludes,
}

#[derive(Debug)]
struct Excludes {
    /// Patterns without a `/`: matched against each path component.
    names: GlobSet,
    /// Patterns with a `/`: matched against the path relative to the root.
    paths: GlobSet,
}

impl Configuration {
    /// Whether `path` (a file or folder) is excluded from linting by `exclude`/`extend-exclude`.
    pub fn is_excluded(&self, path: &Path) -> bool {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        if self.exclude.paths.is_match(relative) {
            return true;
        }
        relative.components().any(|component| self.exclude.names.is_match(Path::new(component.as_os_str())))
    }

    /// [`Configuration::is_excluded`] for an entry a walk reached, whose folders were each
    /// looked at on the way: name patterns are matched against the entry's own name (as ruff
    /// does), not again against every folder above it, and so not against the folders of a path
    /// named on the command line (`loopwise check build` checks `build/`).
    pub fn is_excluded_entry(&self, path: &Path) -> bool {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        self.exclude.paths.is_match(relative) || path.file_name().is_some_and(|name| self.exclude.names.is_match(name))
    }

    /// `test_root`: where test paths are anchored (the project's root); `None` applies no test
    /// profile.
    fn build(
        file: Option<&Path>,
        root: &Path,
        options: &Options,
        overrides: &Options,
        test_root: Option<&Path>,
    ) -> Self {
        let merged = options.overridden_by(overrides);
        let explicit_target = match (&overrides.target_version, &options.target_version) {
            (Some(version), _) => PythonVersion::parse(version)
                .map(|value| Sourced { value, source: "the command line or editor settings (target-version)".into() }),
            (None, Some(version)) => PythonVersion::parse(version).map(|value| Sourced {
                value,
                source: format!(
                    "{} (target-version \"{version}\")",
                    file.map_or_else(String::new, |f| f.display().to_string())
                ),
            }),
            (None, None) => None,
        };
        let target_version = explicit_target.as_ref().map_or(PythonVersion::PY311, |found| found.value);
        let severity = merged
            .severity
            .iter()
            .flatten()
            .flat_map(|(code, severity)| {
                let severity = Severity::parse(severity);
                Rule::ALL
                    .iter()
                    .filter(move |rule| rule.is_named_by(code))
                    .filter_map(move |rule| Some((*rule, severity?)))
            })
            .collect();
        let per_file_ignores: Vec<PerFileIgnore> = merged
            .per_file_ignores
            .iter()
            .flatten()
            .filter_map(|(pattern, codes)| {
                let absolute = root.join(pattern);
                let matcher = GlobBuilder::new(&absolute.to_string_lossy())
                    .literal_separator(false)
                    .build()
                    .ok()?
                    .compile_matcher();
                Some(PerFileIgnore { matcher, match_basename: !pattern.contains('/'), rules: selection(Some(codes)) })
            })
            .collect();
        let test_ignore = match &merged.test_ignore {
            Some(codes) => selection(Some(codes)),
            None => DEFAULT_TEST_IGNORE
                .iter()
                .filter_map(|code| parse_selector(code).ok())
                .fold(RuleSet::EMPTY, RuleSet::union),
        };
        // Without a project root there is nothing to anchor test paths at: no test profile.
        let test_code = test_root.filter(|_| !test_ignore.is_empty()).map(|root| {
            let patterns: Vec<String> = match &merged.test_paths {
                Some(paths) => paths.clone(),
                None => DEFAULT_TEST_PATHS.iter().map(|path| (*path).to_string()).collect(),
            };
            Arc::new(TestCode {
                root: root.to_path_buf(),
                matcher: test_path_matcher(&patterns),
                patterns,
                rules: test_ignore,
            })
        });
        let blocking_calls = match &merged.blocking_calls {
            Some(BlockingCalls::Table(table)) => table
                .iter()
                .map(|(name, suggestion)| (name.clone(), Some(suggestion.clone()).filter(|s| !s.trim().is_empty())))
                .collect(),
            Some(BlockingCalls::List(list)) => list.iter().map(|name| (name.clone(), None)).collect(),
            None => HashMap::new(),
        };
        let settings = LintSettings {
            target_version,
            rules: resolve_rules(options, overrides),
            severity,
            per_file_ignores: Arc::from(per_file_ignores),
            default_timeout: merged.default_timeout.unwrap_or(10.0),
            max_file_size: merged.max_file_size.as_ref().and_then(FileSize::bytes).unwrap_or(DEFAULT_MAX_FILE_SIZE),
            blocking_calls,
            test_runners: TestRunners::default(),
            test_code,
            prefilter: !merged.no_prefilter,
            // Set per file by the command line for notebooks, never by a configuration file.
            top_level_await: false,
        };
        let excludes: Vec<&str> = match &merged.exclude {
            Some(exclude) => exclude.iter().map(String::as_str).collect(),
            None => DEFAULT_EXCLUDES.to_vec(),
        };
        let mut names = GlobSetBuilder::new();
        let mut paths = GlobSetBuilder::new();
        for pattern in excludes.into_iter().chain(merged.extend_exclude.iter().flatten().map(String::as_str)) {
            let trimmed = pattern.trim_end_matches('/');
            let Ok(glob) = Glob::new(trimmed) else { continue };
            if trimmed.contains('/') {
                paths.add(glob);
            } else {
                names.add(glob);
            }
        }
        let exclude = Excludes {
            names: names.build().unwrap_or_else(|_| GlobSet::empty()),
            paths: paths.build().unwrap_or_else(|_| GlobSet::empty()),
        };
        Configuration {
            file: file.map(Path::to_path_buf),
            root: root.to_path_buf(),
            settings: Arc::new(settings),
            explicit_target,
            options: options.clone(),
            exclude,
        }
    }
}

/// The matcher for test paths relative to the project root: a name matches any path component
/// (a folder and everything in it, or a file), a pattern with a `/` is anchored at the root.
/// Compiled once per list of patterns for the whole process.
fn test_path_matcher(patterns: &[String]) -> Arc<GlobSet> {
    static COMPILED: std::sync::LazyLock<Mutex<HashMap<Vec<String>, Arc<GlobSet>>>> =
        std::sync::LazyLock::new(Mutex::default);
    if let Some(known) = lock(&COMPILED).get(patterns) {
        return Arc::clone(known);
    }
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let pattern = pattern.trim_end_matches('/');
        let globs = if pattern.contains('/') {
            [pattern.to_string(), format!("{pattern}/**")]
        } else {
            [format!("**/{pattern}"), format!("**/{pattern}/**")]
        };
        for glob in globs {
            // Validated with the configuration: a bad pattern cannot get here.
            if let Ok(glob) = GlobBuilder::new(&glob).literal_separator(true).build() {
                builder.add(glob);
            }
        }
    }
    let matcher = Arc::new(builder.build().unwrap_or_else(|_| GlobSet::empty()));
    lock(&COMPILED).insert(patterns.to_vec(), Arc::clone(&matcher));
    matcher
}

/// The lint settings `options` describe on their own (no file discovery, no overrides, and no
/// project root, so no test-code profile).
pub fn lint_settings(options: &Options) -> LintSettings {
    let configuration = Configuration::build(None, Path::new("/"), options, &Options::default(), None);
    Arc::unwrap_or_clone(configuration.settings)
}

type Cached<T> = PathMemo<T>;

/// A memo by path, looked up for every folder of a walk. Keys are the paths' bytes, hashed
/// with a fast hasher: `Path`'s own hash takes the path apart at each separator (a twentieth of
/// a cached run), and two spellings of one path only cost a second computation of the same
/// value. The keys come from the file system, not from someone choosing colliding names.
pub struct PathMemo<T>(Mutex<foldhash::HashMap<std::ffi::OsString, T>>);

impl<T: Clone> PathMemo<T> {
    pub fn get(&self, path: &Path) -> Option<T> {
        lock(&self.0).get(path.as_os_str()).cloned()
    }

    pub fn insert(&self, path: &Path, value: T) {
        lock(&self.0).insert(path.as_os_str().to_os_string(), value);
    }

    pub fn clear(&self) {
        lock(&self.0).clear();
    }

    /// Whether some value kept satisfies `predicate`.
    pub fn any(&self, predicate: impl Fn(&T) -> bool) -> bool {
        lock(&self.0).values().any(predicate)
    }
}

impl<T> Default for PathMemo<T> {
    fn default() -> Self {
        Self(Mutex::default())
    }
}

/// What a folder's settings are made of (see `Resolver::settings_in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct SettingsParts {
    configuration: usize,
    target_version: PythonVersion,
    test_runners: TestRunners,
}

/// Settings made of a configuration, kept with it.
type MadeSettings = (Arc<Configuration>, Arc<LintSettings>);

/// Finds and caches the configuration that applies to each file.
pub struct Resolver {
    overrides: Options,
    /// `--config FILE`: used for every file instead of discovery.
    explicit: Option<PathBuf>,
    /// Folder -> the configuration that applies to files in it.
    by_folder: Cached<Result<Arc<Configuration>, ConfigError>>,
    /// Configuration file -> its parsed configuration (many folders share one).
    by_file: Cached<Result<Arc<Configuration>, ConfigError>>,
    /// Folder -> the settings of its files: the configuration plus the folder's project facts.
    settings_by_folder: Cached<Result<Arc<LintSettings>, ConfigError>>,
    /// The distinct settings made so far, by what they are made of. Most folders of a project
    /// share one: HA's 1,273 folders made 1,273 copies, each cloned and each fingerprinted by
    /// the cache again, for a handful of distinct values.
    /// The configuration is kept with them, so that its address is not reused meanwhile.
    distinct_settings: Mutex<foldhash::HashMap<SettingsParts, MadeSettings>>,
    /// (pattern root, project root) -> the configuration of folders without a configuration file.
    unconfigured: Mutex<foldhash::HashMap<(PathBuf, PathBuf), Arc<Configuration>>>,
    /// Folder -> the configuration file that applies to it, if any.
    config_files: Cached<Option<PathBuf>>,
    facts: ProjectFacts,
}

impl Resolver {
    /// `overrides` (from the CLI or the editor) win over every configuration file.
    pub fn new(overrides: Options) -> Self {
        Self {
            overrides,
            explicit: None,
            by_folder: PathMemo::default(),
            by_file: PathMemo::default(),
            settings_by_folder: PathMemo::default(),
            distinct_settings: Mutex::default(),
            unconfigured: Mutex::default(),
            config_files: PathMemo::default(),
            facts: ProjectFacts::default(),
        }
    }

    /// Uses one configuration file for every file (`--config FILE`).
    pub fn with_config_file(overrides: Options, file: PathBuf) -> Self {
        Self { explicit: Some(file), ..Self::new(overrides) }
    }

    /// The settings for `file`: from the nearest configuration file, then the overrides, then
    /// what the project declares in its folder or above (target version, test runners).
    pub fn settings_for(&self, file: &Path) -> Result<Arc<LintSettings>, ConfigError> {
        self.settings_in(&folder_of(&absolute(file)))
    }

    /// [`Resolver::settings_for`] the files of the absolute `folder` (from a walk): no need
    /// to ask the file system whether a path is a folder.
    pub fn settings_for_folder(&self, folder: &Path) -> Result<Arc<LintSettings>, ConfigError> {
        self.settings_in(folder)
    }

    fn settings_in(&self, folder: &Path) -> Result<Arc<LintSettings>, ConfigError> {
        if let Some(cached) = self.settings_by_folder.get(folder) {
            return cached.clone();
        }
        let result = self.configuration_in(folder).map(|configuration| {
            let target_version = match configuration.explicit_target {
                None => self.facts.target_version(folder).map(|declared| declared.value),
                Some(_) => None,
            }
            .unwrap_or(configuration.settings.target_version);
            let test_runners = self.facts.pytest(folder).runners();
            let parts =
                SettingsParts { configuration: Arc::as_ptr(&configuration) as usize, target_version, test_runners };
            let mut distinct = lock(&self.distinct_settings);
            let (_, settings) = distinct.entry(parts).or_insert_with(|| {
                let settings =
                    LintSettings { target_version, test_runners, ..LintSettings::clone(&configuration.settings) };
                (Arc::clone(&configuration), Arc::new(settings))
            });
            Arc::clone(settings)
        });
        self.settings_by_folder.insert(folder, result.clone());
        result
    }

    /// See [`ProjectFacts::remember_listings`].
    pub fn remember_listings(&self, known: project::KnownListings) {
        self.facts.remember_listings(known);
    }

    /// See [`ProjectFacts::listings_to_keep`].
    pub fn listings_to_keep(&self) -> Option<project::KnownListings> {
        self.facts.listings_to_keep()
    }

    /// Whether the folder `folder` (absolute) may hold an entry `name` (one of the names
    /// configuration lookups ask about): false only when its listing says it does not.
    pub fn folder_may_hold(&self, folder: &Path, name: &str) -> bool {
        self.facts.listing(folder).may_hold(name)
    }

    /// Whether the facts found so far were read from the Python file `path` though it is no
    /// project file by its name: a plugin module a conftest.py names in `pytest_plugins`. A
    /// change of it changes the settings, as a change of the conftest.py does.
    pub fn facts_read_from(&self, path: &Path) -> bool {
        self.facts.read_plugin_module(path)
    }

    /// The project files (pyproject.toml, setup.cfg, pytest.ini, conftest.py, ...) that were
    /// there but could not be read for the project's facts so far, with why.
    pub fn facts_passed_over(&self) -> Vec<(PathBuf, String)> {
        self.facts.passed_over()
    }

    /// [`Resolver::facts_passed_over`] as warnings say them, each path below `relative_to`
    /// shown from there: the Python version and test runners those files may declare were not
    /// known, and the defaults stood in for them.
    pub fn unread_facts_warnings(&self, relative_to: Option<&Path>) -> Vec<String> {
        self.facts_passed_over()
            .into_iter()
            .map(|(path, why)| {
                let shown = relative_to.and_then(|folder| path.strip_prefix(folder).ok());
                format!(
                    "{}: {why}: not read, so the project's Python version and test runners it may declare are not \
                     known",
                    crate::files::shown(shown.unwrap_or(&path))
                )
            })
            .collect()
    }

    /// The settings for `file` with the place each one came from, for `--show-settings`.
    pub fn explain(&self, file: &Path) -> Result<Vec<(String, String, String)>, ConfigError> {
        let path = absolute(file);
        let folder = folder_of(&path);
        let configuration = self.configuration_for(&folder)?;
        let settings = self.settings_for(&path)?;
        // Every fact is looked for first, so that what could not be read is known before any
        // line says what was (not) found.
        let declared_target = self.facts.target_version(&folder);
        let pytest = self.facts.pytest(&folder);
        let passed_over = self.facts.passed_over();
        let readable = if passed_over.is_empty() { "" } else { " that could be read" };
        let set = &configuration.options;
        let from_file = |key: &str, is_set: bool| match &configuration.file {
            Some(file) if is_set => format!("{} ({key})", file.display()),
            _ => "the default".to_string(),
        };
        let mut lines = Vec::new();
        lines.push((
            "configuration file".to_string(),
            configuration.file.as_ref().map_or_else(|| "none".to_string(), |file| file.display().to_string()),
            "searched: .loopwise.toml, loopwise.toml, pyproject.toml with [tool.loopwise], nearest folder first"
                .to_string(),
        ));
        let target_source = match (&configuration.explicit_target, declared_target) {
            (Some(explicit), _) => explicit.source.clone(),
            (None, Some(declared)) => declared.source,
            (None, None) => {
                format!("the default: nothing{readable} in this folder or above declares a Python version")
            }
        };
        lines.push(("target-version".to_string(), settings.target_version.to_string(), target_source));
        let rules: Vec<&str> = settings.rules.iter().map(Rule::code).collect();
        let selects = set.select.is_some() || set.extend_select.is_some() || set.ignore.is_some();
        let rule_source = if self.overrides.select.is_some()
            || !self.overrides.extend_select.as_deref().unwrap_or_default().is_empty()
            || !self.overrides.ignore.as_deref().unwrap_or_default().is_empty()
        {
            format!("{} and the command line or editor settings", from_file("select, extend-select, ignore", selects))
        } else {
            from_file("select, extend-select, ignore", selects)
        };
        lines.push(("rules".to_string(), format!("{} enabled: {}", rules.len(), rules.join(", ")), rule_source));
        if !path.is_dir() {
            let skipped: Vec<&str> =
                settings.rules.subtract(settings.rules_for(Some(&path))).iter().map(Rule::code).collect();
            lines.push((
                "not run on this file".to_string(),
                if skipped.is_empty() { "none".to_string() } else { skipped.join(", ") },
                format!(
                    "per-file-ignores, and test-ignore where test-paths say the file is test code ({})",
                    if set.test_paths.is_some() {
                        from_file("test-paths", true)
                    } else {
                        "the default test-paths".to_string()
                    }
                ),
            ));
        }
        let mut severities: Vec<String> = settings
            .severity
            .iter()
            .map(|(rule, severity)| format!("{} = {}", rule.code(), severity.as_str()))
            .collect();
        severities.sort();
        if !severities.is_empty() {
            lines.push(("severity".to_string(), severities.join(", "), from_file("severity", set.severity.is_some())));
        }
        lines.push((
            "default-timeout".to_string(),
            settings.default_timeout.to_string(),
            from_file("default-timeout", set.default_timeout.is_some()),
        ));
        lines.push((
            "max-file-size".to_string(),
            format!("{} bytes", settings.max_file_size),
            from_file("max-file-size", set.max_file_size.is_some()),
        ));
        lines.push((
            "pytest configuration".to_string(),
            pytest.config_file.as_ref().map_or_else(|| "none".to_string(), |file| file.display().to_string()),
            match pytest.conftests.len() {
                0 => "no conftest.py between this folder and pytest's root".to_string(),
                _ => format!(
                    "conftest.py: {}",
                    pytest.conftests.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
                ),
            },
        ));
        lines.push((
            "unmarked async tests run".to_string(),
            if settings.test_runners.runs_unmarked { "yes (or cannot tell)" } else { "no" }.to_string(),
            pytest.runs_unmarked.clone().unwrap_or_else(|| {
                format!("no auto mode, trio_mode, runner plugin or conftest.py hook found in the files{readable}")
            }),
        ));
        if !passed_over.is_empty() {
            let files: Vec<String> = passed_over.iter().map(|(path, _)| path.display().to_string()).collect();
            let why: Vec<String> = passed_over.iter().map(|(path, why)| format!("{}: {why}", path.display())).collect();
            lines.push((
                "project files not read".to_string(),
                files.join(", "),
                format!("what they declare is not known: {}", why.join("; ")),
            ));
        }
        Ok(lines)
    }

    /// The configuration for a file or folder.
    pub fn configuration_for(&self, path: &Path) -> Result<Arc<Configuration>, ConfigError> {
        self.configuration_in(&folder_of(&absolute(path)))
    }

    /// The configuration for the files of `folder` (absolute).
    pub fn configuration_in(&self, folder: &Path) -> Result<Arc<Configuration>, ConfigError> {
        if let Some(cached) = self.by_folder.get(folder) {
            return cached.clone();
        }
        let result = match &self.explicit {
            Some(file) => self.load(&absolute(file)),
            None => self
                .config_file_in(folder)
                .map_or_else(|| Ok(self.unconfigured_configuration(folder)), |file| self.load(&file)),
        };
        self.by_folder.insert(folder, result.clone());
        result
    }

    /// [`find_config_file`], each folder looked at once.
    fn config_file_in(&self, folder: &Path) -> Option<PathBuf> {
        if let Some(known) = self.config_files.get(folder) {
            return known.clone();
        }
        let listing = self.facts.listing(folder);
        let found = CONFIG_FILES
            .iter()
            .any(|name| listing.may_hold(name))
            .then(|| config_file_of(folder))
            .flatten()
            .or_else(|| folder.parent().and_then(|parent| self.config_file_in(parent)));
        self.config_files.insert(folder, found.clone());
        found
    }

    /// The configuration of a folder without a configuration file. Folders share one per
    /// root: building it per folder would compile its globs again for each.
    fn unconfigured_configuration(&self, folder: &Path) -> Arc<Configuration> {
        let project = self.facts.project_folder(folder).unwrap_or_else(|| folder_root(folder));
        let key = (folder_root(folder), project);
        if let Some(shared) = lock(&self.unconfigured).get(&key) {
            return Arc::clone(shared);
        }
        let built = Arc::new(Configuration::build(None, &key.0, &Options::default(), &self.overrides, Some(&key.1)));
        lock(&self.unconfigured).insert(key, Arc::clone(&built));
        built
    }

    fn load(&self, file: &Path) -> Result<Arc<Configuration>, ConfigError> {
        if let Some(cached) = self.by_file.get(file) {
            return cached.clone();
        }
        let result = (|| {
            let text = read_config_text(file)?;
            let options = Options::from_file(file, &text)?.unwrap_or_default();
            let root = file.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            Ok(Arc::new(Configuration::build(Some(file), &root, &options, &self.overrides, Some(&root))))
        })();
        self.by_file.insert(file, result.clone());
        result
    }

    /// Forgets every file read so far (after a configuration file changed).
    pub fn clear_cache(&self) {
        self.by_folder.clear();
        self.by_file.clear();
        self.settings_by_folder.clear();
        lock(&self.distinct_settings).clear();
        lock(&self.unconfigured).clear();
        self.config_files.clear();
        self.facts.clear();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves only a cache behind: still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A folder itself, or the folder a file is in.
fn folder_of(path: &Path) -> PathBuf {
    if path.is_dir() { path.to_path_buf() } else { path.parent().map_or_else(|| path.to_path_buf(), Path::to_path_buf) }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Without a configuration file, patterns are anchored at the current folder when the file is
/// below it, else at the file's own folder.
fn folder_root(folder: &Path) -> PathBuf {
    match current_folder() {
        Some(cwd) if folder.starts_with(cwd) => cwd.to_path_buf(),
        _ => folder.to_path_buf(),
    }
}

/// The current folder, asked once: loopwise never changes it, and asking the system per
/// folder or file was a measurable share of a cached run.
pub fn current_folder() -> Option<&'static Path> {
    static CURRENT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    CURRENT.get_or_init(|| std::env::current_dir().ok()).as_deref()
}

/// A configuration file's text: only from a regular file (after links), and at most 4 MiB; a
/// FIFO would block the run forever and a link to `/dev/zero` would fill the memory. TOML is
/// UTF-8: anything else is an error at the line and byte it stops being that.
fn read_config_text(file: &Path) -> Result<String, ConfigError> {
    const LIMIT: u64 = 4 << 20;
    let error = |line, message| ConfigError { path: Some(file.to_path_buf()), line, message };
    let bytes = crate::files::read_regular(file, Some(LIMIT))
        .map_err(|fault| error(None, format!("cannot read configuration file: {fault}")))?;
    crate::files::utf8_text(bytes).map_err(|fault| {
        error(Some(fault.line), format!("cannot read configuration file: {fault}; TOML files are UTF-8"))
    })
}

/// The configuration file in `folder` itself, if any: `.loopwise.toml`, `loopwise.toml`, or a
/// pyproject.toml with a `[tool.loopwise]` table (`Resolver::config_file_in` looks upwards).
///
/// A pyproject.toml that cannot be read, is not UTF-8 or is not TOML counts as the folder's
/// configuration, which `load` then refuses, naming the file, its line and what is wrong: as in
/// ruff, whose discovery stops at such a file with an error. Whether it holds a `[tool.loopwise]`
/// cannot be told, and no tool can read it (TOML is UTF-8), so nothing that works is broken.
fn config_file_of(folder: &Path) -> Option<PathBuf> {
    for name in CONFIG_FILES {
        let candidate = folder.join(name);
        match std::fs::metadata(&candidate) {
            Ok(metadata) if metadata.is_file() => {}
            // A FIFO or a device under a configuration file's name is that folder's
            // configuration, which `load` refuses to read (naming it) rather than wait on it.
            Ok(_) => return Some(candidate),
            Err(_) => continue,
        }
        if *name != "pyproject.toml" {
            return Some(candidate);
        }
        let Ok(text) = read_config_text(&candidate) else { return Some(candidate) };
        let Ok(document) = toml::from_str::<toml::Table>(&text) else { return Some(candidate) };
        if document.get("tool").and_then(|tool| tool.get("loopwise")).is_some() {
            return Some(candidate);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, text: &str) -> Result<Option<Options>, ConfigError> {
        Options::from_file(Path::new(name), text)
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let error = parse(
            "pyproject.toml",
            "[project]\nname = \"x\"\n\n[tool.loopwise]\nselect = [\"LW1\"]\nslect = [\"LW101\"]\n",
        )
        .expect_err("unknown key");
        assert_eq!(error.path.as_deref(), Some(Path::new("pyproject.toml")));
        assert_eq!(error.line, Some(6), "{error}");
        assert!(error.message.contains("slect"), "{error}");
    }

    #[test]
    fn unknown_code_names_its_line() {
        let error = parse("loopwise.toml", "target-version = \"3.12\"\nignore = [\n  \"LW101\",\n  \"LW999\",\n]\n")
            .expect_err("bad code");
        assert_eq!(error.line, Some(4), "{error}");
        assert!(error.to_string().starts_with("loopwise.toml:4: `ignore`: unknown rule selector `LW999`"), "{error}");
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(parse("loopwise.toml", "target-version = \"three\"\n").is_err());
        assert!(parse("loopwise.toml", "default-timeout = -1\n").is_err());
        assert!(parse("loopwise.toml", "severity = { LW101 = \"loud\" }\n").is_err());
        assert!(parse("loopwise.toml", "severity = { LW000 = \"error\" }\n").is_err());
        assert!(parse("loopwise.toml", "select = \"LW1\"\n").is_err());
    }

    #[test]
    fn pyproject_without_table_has_no_options() {
        assert_eq!(parse("pyproject.toml", "[project]\nname = \"x\"\n").expect("valid"), None);
    }

    #[test]
    fn rule_selection_stacks_file_then_overrides() {
        let file = Options { ignore: Some(vec!["ASYNC251".into()]), ..Options::default() };
        let rules = resolve_rules(&file, &Options::default());
        assert!(!rules.contains(Rule::BlockingSleep));
        assert!(rules.contains(Rule::BlockingInput));
        let overrides = Options { select: Some(vec!["LW101".into()]), ..Options::default() };
        let rules = resolve_rules(&file, &overrides);
        assert_eq!(rules.iter().collect::<Vec<_>>(), [Rule::BlockingSleep]);
    }

    #[test]
    fn blocking_calls_must_be_qualified_names() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let file = folder.path().join("loopwise.toml");
        for text in [
            "blocking-calls = 1979-05-27T07:32:00Z\n",
            "blocking-calls = [\"not a name\"]\n",
            "[blocking-calls]\n\"x..y\" = \"z\"\n",
        ] {
            let error = Options::from_file(&file, text).expect_err(text);
            assert!(error.message.contains("is not a qualified name"), "{text}: {error}");
        }
        assert!(Options::from_file(&file, "blocking-calls = [\"legacy.Client.fetch\", \"_x.y2\"]\n").is_ok());
    }

    #[test]
    fn blocking_calls_table_and_list() {
        let options = parse("loopwise.toml", "[blocking-calls]\n\"a.b\" = \"use c\"\n\"d.e\" = \"\"\n")
            .expect("valid")
            .expect("options");
        let configuration = Configuration::build(None, Path::new("/"), &options, &Options::default(), None);
        assert_eq!(configuration.settings.blocking_calls.get("a.b"), Some(&Some("use c".to_string())));
        assert_eq!(configuration.settings.blocking_calls.get("d.e"), Some(&None));
        let options = parse("loopwise.toml", "blocking-calls = [\"x.y\"]\n").expect("valid").expect("options");
        let configuration = Configuration::build(None, Path::new("/"), &options, &Options::default(), None);
        assert_eq!(configuration.settings.blocking_calls.get("x.y"), Some(&None));
    }

    #[test]
    fn target_version_without_any_declaration_is_311() {
        let configuration = Configuration::build(None, Path::new("/"), &Options::default(), &Options::default(), None);
        assert_eq!(configuration.settings.target_version, PythonVersion::PY311);
        assert_eq!(configuration.explicit_target, None);
    }

    #[test]
    fn excludes_match_names_and_rooted_paths() {
        let options =
            Options { extend_exclude: Some(vec!["generated/*.py".into(), "legacy".into()]), ..Options::default() };
        let configuration = Configuration::build(None, Path::new("/project"), &options, &Options::default(), None);
        assert!(configuration.is_excluded(Path::new("/project/.venv/lib/x.py")));
        assert!(configuration.is_excluded(Path::new("/project/generated/api.py")));
        assert!(configuration.is_excluded(Path::new("/project/src/legacy/x.py")));
        assert!(!configuration.is_excluded(Path::new("/project/src/app.py")));
    }
}

#[cfg(test)]
mod list_options {
    use super::*;

    /// Every list-typed option, as a line of a configuration file holding `item` second.
    const LISTS: &[(&str, &str)] = &[
        ("select", "select = [\n  \"LW101\",\n  ITEM,\n]\n"),
        ("extend-select", "extend-select = [\n  \"LW101\",\n  ITEM,\n]\n"),
        ("ignore", "ignore = [\n  \"LW101\",\n  ITEM,\n]\n"),
        ("exclude", "exclude = [\n  \"build\",\n  ITEM,\n]\n"),
        ("extend-exclude", "extend-exclude = [\n  \"build\",\n  ITEM,\n]\n"),
        ("test-paths", "test-paths = [\n  \"tests\",\n  ITEM,\n]\n"),
        ("test-ignore", "test-ignore = [\n  \"LW101\",\n  ITEM,\n]\n"),
        ("blocking-calls", "blocking-calls = [\n  \"a.b\",\n  ITEM,\n]\n"),
        ("per-file-ignores.\"a.py\"", "[per-file-ignores]\n\"a.py\" = [\n  \"LW101\",\n  ITEM,\n]\n"),
        ("blocking-calls.\"a.b\"", "[blocking-calls]\n\"x.y\" = \"z\"\n\"a.b\" = ITEM\n"),
    ];

    #[test]
    fn every_list_option_rejects_non_string_items_naming_file_line_and_key() {
        let items = [
            ("1", "integer `1`"),
            ("1979-05-27", "date-time `1979-05-27`"),
            ("true", "boolean `true`"),
            ("{ a = 1 }", "map"),
            ("[\"x\"]", "sequence"),
            ("1.5", "floating point `1.5`"),
        ];
        for (key, template) in LISTS {
            for (item, kind) in items {
                let body = template.replace("ITEM", item);
                let line = body
                    .lines()
                    .position(|line| line == format!("  {item},") || line.ends_with(&format!("= {item}")))
                    .map(|index| index + 2);
                for (name, text) in [
                    ("loopwise.toml", format!("target-version = \"3.11\"\n{body}")),
                    (
                        "pyproject.toml",
                        format!(
                            "[tool.loopwise]\n{}",
                            body.replace("[per-file-ignores]", "[tool.loopwise.per-file-ignores]")
                                .replace("[blocking-calls]", "[tool.loopwise.blocking-calls]")
                        ),
                    ),
                ] {
                    let error = Options::from_file(Path::new(name), &text).expect_err(&text);
                    assert_eq!(error.path.as_deref(), Some(Path::new(name)), "{text}");
                    assert_eq!(error.line, line, "{text}\n{error}");
                    assert!(
                        error.message.starts_with(&format!("`{key}`: invalid type: {kind}, expected a string")),
                        "{text}\n{error}"
                    );
                }
            }
        }
    }
}
