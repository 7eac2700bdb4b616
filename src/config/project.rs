//! Project facts that other tools' files declare: the Python version a project supports and how
//! its `async def` tests are run. Read as text, nearest folder first; nothing is executed or
//! imported (`setup.py` is scanned for a literal `python_requires="..."`, `conftest.py` for hook
//! and fixture definitions).
//!
//! Owns where each fact comes from, so `--show-settings` can say it, and which of those files
//! were there but could not be read ([`PassedOver`]), so that the CLI can say that too. Knows
//! nothing of loopwise's own configuration keys, rules or the LSP.

use crate::config::PathMemo;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::analysis::PythonVersion;
use crate::analysis::settings::TestRunners;

/// The oldest and newest Python versions loopwise knows; a declared bound below the oldest is
/// clamped to it (rules only distinguish 3.9, 3.10 and 3.11+).
pub const OLDEST_KNOWN: PythonVersion = PythonVersion { major: 3, minor: 7 };
pub const NEWEST_KNOWN: PythonVersion = PythonVersion { major: 3, minor: 14 };

/// A fact and the place it was read from, for `--show-settings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    /// `pyproject.toml (project.requires-python ">=3.9")` and the like, with the file's path.
    pub source: String,
}

/// The pytest facts for the files of one folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PytestFacts {
    /// The pytest configuration file that applies (pytest's `inifile`), if any.
    pub config_file: Option<PathBuf>,
    /// Why unmarked `async def` tests are run (or may be: loopwise cannot tell), if they are.
    pub runs_unmarked: Option<String>,
    /// conftest.py files (and plugin modules) seen between the folder and pytest's root.
    pub conftests: Vec<PathBuf>,
}

impl PytestFacts {
    pub fn runners(&self) -> TestRunners {
        TestRunners {
            pytest_configured: self.config_file.is_some() || !self.conftests.is_empty(),
            runs_unmarked: self.runs_unmarked.is_some(),
        }
    }
}

/// A pytest configuration file and what it says.
type FoundIni = Arc<(PathBuf, PytestIni)>;

/// What a conftest.py says: why unmarked async tests run (if they do), and the plugin modules
/// it pulled in.
type ConftestFacts = (Option<String>, Vec<PathBuf>);

/// Memoised facts per folder: many files share a folder, and folders share ancestors.
#[derive(Default)]
pub struct ProjectFacts {
    target_versions: PathMemo<Option<Sourced<PythonVersion>>>,
    pytest: PathMemo<Arc<PytestFacts>>,
    /// Folder -> the pytest configuration at or above it.
    pytest_inis: PathMemo<Option<FoundIni>>,
    /// pytest root -> a declared runner distribution.
    declared_runners: PathMemo<Option<String>>,
    /// conftest.py -> whether it exists, and its runner reason with the modules it pulled in.
    conftests: PathMemo<Option<ConftestFacts>>,
    /// Folder -> the nearest project folder at or above it.
    project_folders: PathMemo<Option<PathBuf>>,
    /// Folder -> which of the names lookups ask about it holds.
    listings: PathMemo<Listing>,
    /// Listings kept between runs, when the caller keeps them (`remember_listings`).
    remembered: std::sync::OnceLock<Remembered>,
    passed_over: PassedOver,
}

/// The files that would have declared facts but were there and could not be read (a FIFO, no
/// permission, not UTF-8, not TOML, too large), each with why: what they declare is not known,
/// and whoever reports the facts must say so rather than present the defaults as read.
#[derive(Default)]
pub struct PassedOver(Mutex<BTreeMap<PathBuf, String>>);

impl PassedOver {
    fn note(&self, path: &Path, why: String) {
        super::lock(&self.0).entry(path.to_path_buf()).or_insert(why);
    }

    /// `text` (of `path`) as a TOML table; `None`, noted, when it is not TOML.
    fn toml(&self, path: &Path, text: &str) -> Option<toml::Table> {
        toml::from_str(text)
            .map_err(|error| {
                let line = error.span().map_or(1, |span| text[..span.start.min(text.len())].matches('\n').count() + 1);
                self.note(path, format!("not TOML: {} (line {line})", error.message().trim_end()));
            })
            .ok()
    }

    /// The files passed over so far, by path, with why.
    pub fn files(&self) -> Vec<(PathBuf, String)> {
        super::lock(&self.0).iter().map(|(path, why)| (path.clone(), why.clone())).collect()
    }
}

/// The names lookups ask about in every folder of a walk. One listing of the folder answers
/// for all of them: asking the file system for each name in each folder was most of the
/// system time of a cached run.
const ASKED: &[&str] = &[
    ".loopwise.toml",
    "loopwise.toml",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    ".git",
    "pytest.ini",
    ".pytest.ini",
    "tox.ini",
    "ruff.toml",
    ".ruff.toml",
    "conftest.py",
    // Not configuration, but the walk reads them: it asks whether they are special files.
    ".gitignore",
    ".ignore",
];

/// Which of [`ASKED`] a folder holds (as any kind of entry: the real lookup follows), a bit
/// for each in `ASKED`'s order; `None` when the folder cannot be listed, and then any name may
/// be there.
#[derive(Debug, Default, Clone, Copy)]
pub struct Listing(Option<u16>);

const _: () = assert!(ASKED.len() <= 16, "a listing keeps a bit per asked name");

impl Listing {
    fn of(folder: &Path) -> Self {
        let Ok(entries) = std::fs::read_dir(folder) else { return Self(None) };
        let mut held = 0;
        for entry in entries {
            let Ok(entry) = entry else { return Self(None) };
            let name = entry.file_name();
            if let Some(index) = ASKED.iter().position(|asked| name == **asked) {
                held |= 1 << index;
            }
        }
        Self(Some(held))
    }

    /// Whether `name` may be in the folder: false only when the listing says it is not.
    pub fn may_hold(self, name: &str) -> bool {
        match (self.0, ASKED.iter().position(|asked| *asked == name)) {
            (Some(held), Some(index)) => held & (1 << index) != 0,
            _ => true,
        }
    }
}

/// Folder listings a run took, for the next run to trust where a folder has not changed since:
/// a folder's modification time changes whenever an entry is added to it, removed from it or
/// renamed in it. On HA, listing each of its 1,279 folders again was a fifth of a cached run's
/// system time. Data only: the CLI's cache keeps them between runs.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KnownListings {
    /// (folder, its modification time in nanoseconds since the epoch when it was listed, which
    /// of `names` it held as bits in their order).
    pub folders: Vec<(String, u64, u16)>,
    /// The names the bits stand for: listings of another set of names are not trusted.
    pub names: Vec<String>,
}

/// How long before a run a folder must have last changed for the run to keep its listing, in
/// nanoseconds: far more than a tick of the clock that stamps folders (at most 10 ms).
const SETTLED: u64 = 1_000_000_000;

/// The listings of a run that remembers them: those a previous run took, and those this run
/// took or trusted.
struct Remembered {
    known: foldhash::HashMap<String, (u64, u16)>,
    /// When this run began: a folder modified less than [`SETTLED`] before it may change
    /// again within one tick of the file system's clock without a new time, so its listing is
    /// not kept.
    started: u64,
    taken: Mutex<foldhash::HashMap<String, (u64, u16)>>,
    changed: std::sync::atomic::AtomicBool,
}

impl Remembered {
    fn listing(&self, folder: &Path) -> Listing {
        // The time is taken before the folder is read: a change while it is read gives the
        // folder a newer time, and the next run reads it again.
        let modified = std::fs::metadata(folder)
            .ok()
            .filter(std::fs::Metadata::is_dir)
            .and_then(|metadata| metadata.modified().ok())
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|since| u64::try_from(since.as_nanos()).ok());
        let (Some(name), Some(modified)) = (folder.to_str(), modified) else { return Listing::of(folder) };
        if let Some(&(known, held)) = self.known.get(name)
            && known == modified
        {
            super::lock(&self.taken).insert(name.to_string(), (modified, held));
            return Listing(Some(held));
        }
        let listing = Listing::of(folder);
        if let Some(held) = listing.0
            && modified.saturating_add(SETTLED) < self.started
        {
            super::lock(&self.taken).insert(name.to_string(), (modified, held));
            self.changed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        listing
    }
}

/// Reads a file that is small enough to be a configuration file. A missing file is absent; one
/// that is there but cannot be read as text is absent too, and noted in `passed_over`.
fn read_small(path: &Path, passed_over: &PassedOver) -> Option<String> {
    // A configuration file larger than this is not one a person wrote; reading it whole would
    // let a stray huge file stall every run.
    const LIMIT: u64 = 4 << 20;
    let bytes = match crate::files::read_regular(path, Some(LIMIT)) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            passed_over.note(path, error.to_string());
            return None;
        }
    };
    crate::files::utf8_text(bytes).map_err(|fault| passed_over.note(path, fault.to_string())).ok()
}

impl ProjectFacts {
    pub fn clear(&self) {
        self.target_versions.clear();
        self.pytest.clear();
        self.pytest_inis.clear();
        self.declared_runners.clear();
        self.conftests.clear();
        self.project_folders.clear();
        self.listings.clear();
        super::lock(&self.passed_over.0).clear();
    }

    /// The files passed over so far (see [`PassedOver`]).
    pub fn passed_over(&self) -> Vec<(PathBuf, String)> {
        self.passed_over.files()
    }

    /// Which of the configuration names `folder` holds, listed once (or trusted from an
    /// earlier run's listing, see [`ProjectFacts::remember_listings`]).
    pub fn listing(&self, folder: &Path) -> Listing {
        if let Some(known) = self.listings.get(folder) {
            return known;
        }
        let listing = match self.remembered.get() {
            Some(remembered) => remembered.listing(folder),
            None => Listing::of(folder),
        };
        self.listings.insert(folder, listing);
        listing
    }

    /// Trusts `known` listings (an earlier run's [`ProjectFacts::listings_to_keep`]) of the
    /// folders whose time stamps are as they were, and notes this run's for the next. Once per
    /// run, before any lookup; a second call is ignored.
    pub fn remember_listings(&self, known: KnownListings) {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_nanos()).unwrap_or(0));
        let same_names = known.names.iter().map(String::as_str).eq(ASKED.iter().copied());
        let known = if same_names {
            known.folders.into_iter().map(|(folder, modified, held)| (folder, (modified, held))).collect()
        } else {
            foldhash::HashMap::default()
        };
        let _ = self.remembered.set(Remembered {
            known,
            started,
            taken: Mutex::default(),
            changed: std::sync::atomic::AtomicBool::new(!same_names),
        });
    }

    /// The listings for the next run to trust, when they differ from the ones it was given:
    /// this run's, and the earlier ones of folders it did not list that are still there.
    pub fn listings_to_keep(&self) -> Option<KnownListings> {
        let remembered = self.remembered.get()?;
        if !remembered.changed.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let taken = super::lock(&remembered.taken);
        let mut folders: Vec<(String, u64, u16)> = remembered
            .known
            .iter()
            .filter(|(folder, _)| !taken.contains_key(*folder) && Path::new(folder).is_dir())
            .chain(taken.iter())
            .map(|(folder, (modified, held))| (folder.clone(), *modified, *held))
            .collect();
        folders.sort_unstable();
        Some(KnownListings { folders, names: ASKED.iter().map(|name| (*name).to_string()).collect() })
    }

    /// [`nearest_project_folder`], each folder looked at once however many files are below it.
    pub fn project_folder(&self, folder: &Path) -> Option<PathBuf> {
        if let Some(known) = self.project_folders.get(folder) {
            return known.clone();
        }
        let listing = self.listing(folder);
        let found = if PROJECT_MARKERS.iter().any(|name| listing.may_hold(name) && folder.join(name).exists()) {
            Some(folder.to_path_buf())
        } else {
            folder.parent().and_then(|parent| self.project_folder(parent))
        };
        self.project_folders.insert(folder, found.clone());
        found
    }

    /// The nearest pytest configuration at or above `folder` (pytest's inifile), each folder's
    /// files read once.
    fn pytest_ini(&self, folder: &Path) -> Option<FoundIni> {
        if let Some(known) = self.pytest_inis.get(folder) {
            return known.clone();
        }
        let listing = self.listing(folder);
        let own = PYTEST_FILES.iter().filter(|(name, _)| listing.may_hold(name)).find_map(|(name, section)| {
            let path = folder.join(name);
            read_pytest_ini(&path, section, &self.passed_over).map(|ini| Arc::new((path, ini)))
        });
        let found = own.or_else(|| folder.parent().and_then(|parent| self.pytest_ini(parent)));
        self.pytest_inis.insert(folder, found.clone());
        found
    }

    fn declared_runner(&self, root: &Path) -> Option<String> {
        if let Some(known) = self.declared_runners.get(root) {
            return known.clone();
        }
        let found = declared_runner_distribution(root, &self.passed_over);
        self.declared_runners.insert(root, found.clone());
        found
    }

    /// Whether a conftest.py read so far pulled in the plugin module `path`.
    pub fn read_plugin_module(&self, path: &Path) -> bool {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.conftests.any(|facts| facts.as_ref().is_some_and(|(_, modules)| modules.contains(&path)))
    }

    /// The conftest.py of `folder`, if any: its runner reason and the plugin modules it read.
    fn conftest(&self, folder: &Path, root: &Path) -> Option<ConftestFacts> {
        // Most folders hold none, and their listing says so: every folder's facts ask about
        // each of its ancestors up to the root.
        if !self.listing(folder).may_hold("conftest.py") {
            return None;
        }
        let path = folder.join("conftest.py");
        if let Some(known) = self.conftests.get(&path) {
            return known.clone();
        }
        let passed_over = &self.passed_over;
        let found = read_small(&path, passed_over).map(|text| {
            let mut seen = Vec::new();
            let reason = conftest_runner(&path, &text, root, &mut seen, passed_over);
            (reason, seen)
        });
        self.conftests.insert(&path, found.clone());
        found
    }

    /// The Python version the project at or above `folder` declares, from the nearest folder
    /// that declares one. Within a folder, in this order: `project.requires-python`,
    /// `[tool.ruff] target-version` (pyproject.toml, then ruff.toml / .ruff.toml),
    /// `python_requires` in setup.cfg, a literal `python_requires=` in setup.py, Poetry's
    /// `python` dependency, and last the lowest `Programming Language :: Python :: 3.N`
    /// classifier.
    pub fn target_version(&self, folder: &Path) -> Option<Sourced<PythonVersion>> {
        if let Some(known) = self.target_versions.get(folder) {
            return known.clone();
        }
        let found = declared_version(folder, self.listing(folder), &self.passed_over)
            .or_else(|| folder.parent().and_then(|parent| self.target_version(parent)));
        self.target_versions.insert(folder, found.clone());
        found
    }

    /// How pytest would run the `async def` tests of files in `folder`.
    pub fn pytest(&self, folder: &Path) -> Arc<PytestFacts> {
        if let Some(known) = self.pytest.get(folder) {
            return known;
        }
        let facts = Arc::new(self.pytest_facts(folder));
        self.pytest.insert(folder, Arc::clone(&facts));
        facts
    }
}

/// The version declared in `folder` itself (no ancestors).
fn declared_version(folder: &Path, listing: Listing, passed_over: &PassedOver) -> Option<Sourced<PythonVersion>> {
    let read_small = |path: &Path| {
        path.file_name()
            .and_then(|name| name.to_str())
            .is_none_or(|name| listing.may_hold(name))
            .then(|| read_small(path, passed_over))?
    };
    let pyproject_path = folder.join("pyproject.toml");
    let pyproject = read_small(&pyproject_path).and_then(|text| passed_over.toml(&pyproject_path, &text));
    let at = |path: &Path, what: &str, value: &str| format!("{} ({what} \"{value}\")", path.display());
    let from_specifier = |value: &str, path: &Path, what: &str| {
        lower_bound(value).map(|version| Sourced { value: version, source: at(path, what, value) })
    };
    if let Some(document) = &pyproject {
        if let Some(requires) = document.get("project").and_then(|p| p.get("requires-python")).and_then(|v| v.as_str())
            && let Some(found) = from_specifier(requires, &pyproject_path, "project.requires-python")
        {
            return Some(found);
        }
        if let Some(version) = document
            .get("tool")
            .and_then(|tool| tool.get("ruff"))
            .and_then(|ruff| ruff.get("target-version"))
            .and_then(|version| version.as_str())
            && let Some(found) = from_specifier(version, &pyproject_path, "tool.ruff.target-version")
        {
            return Some(found);
        }
    }
    for name in ["ruff.toml", ".ruff.toml"] {
        let path = folder.join(name);
        let Some(document) = read_small(&path).and_then(|text| passed_over.toml(&path, &text)) else {
            continue;
        };
        if let Some(version) = document.get("target-version").and_then(|version| version.as_str())
            && let Some(found) = from_specifier(version, &path, "target-version")
        {
            return Some(found);
        }
    }
    let setup_cfg_path = folder.join("setup.cfg");
    let setup_cfg = read_small(&setup_cfg_path);
    if let Some(text) = &setup_cfg
        && let Some(value) = ini_lookup(text, "options", "python_requires")
        && let Some(found) = from_specifier(&value, &setup_cfg_path, "options.python_requires")
    {
        return Some(found);
    }
    let setup_py_path = folder.join("setup.py");
    let setup_py = read_small(&setup_py_path);
    if let Some(text) = &setup_py
        && let Some(value) = literal_keyword(text, "python_requires")
        && let Some(found) = from_specifier(&value, &setup_py_path, "python_requires=")
    {
        return Some(found);
    }
    if let Some(document) = &pyproject
        && let Some(python) = document
            .get("tool")
            .and_then(|tool| tool.get("poetry"))
            .and_then(|poetry| poetry.get("dependencies"))
            .and_then(|dependencies| dependencies.get("python"))
            .and_then(|python| python.as_str())
        && let Some(found) = from_specifier(python, &pyproject_path, "tool.poetry.dependencies.python")
    {
        return Some(found);
    }
    // Classifiers, the last resort: the lowest `Python :: 3.N` listed.
    let classifiers: Vec<(String, PathBuf)> = pyproject
        .as_ref()
        .and_then(|document| document.get("project")?.get("classifiers")?.as_array().cloned())
        .map(|items| {
            items.iter().filter_map(|item| item.as_str().map(|s| (s.to_string(), pyproject_path.clone()))).collect()
        })
        .unwrap_or_default();
    let texts = [(setup_cfg.as_deref(), &setup_cfg_path), (setup_py.as_deref(), &setup_py_path)];
    let from_text = texts.iter().filter_map(|(text, path)| Some((text.as_ref()?, *path))).flat_map(|(text, path)| {
        text.lines()
            .filter(|line| line.contains("Programming Language :: Python ::"))
            .map(move |line| (line.trim().trim_matches(|c| matches!(c, '"' | '\'' | ',')).to_string(), path.clone()))
    });
    classifiers
        .into_iter()
        .chain(from_text)
        .filter_map(|(classifier, path)| {
            let version = classifier.strip_prefix("Programming Language :: Python :: ")?.trim();
            let parsed = parse_version(version)?;
            Some((parsed, classifier.clone(), path))
        })
        .min_by_key(|(version, _, _)| *version)
        .map(|(version, classifier, path)| Sourced {
            value: clamp(version),
            source: format!("{} (lowest classifier \"{classifier}\")", path.display()),
        })
}

/// The nearest folder at or above `folder` that holds a project: a pyproject.toml, setup.py,
/// setup.cfg or `.git`.
pub fn nearest_project_folder(folder: &Path) -> Option<&Path> {
    folder.ancestors().find(|ancestor| is_project_folder(ancestor))
}

/// What makes a folder a project's root.
const PROJECT_MARKERS: &[&str] = &["pyproject.toml", "setup.py", "setup.cfg", ".git"];

fn is_project_folder(folder: &Path) -> bool {
    PROJECT_MARKERS.iter().any(|name| folder.join(name).exists())
}

fn clamp(version: PythonVersion) -> PythonVersion {
    version.clamp(OLDEST_KNOWN, NEWEST_KNOWN)
}

/// `3.9`, `3.9.1`, `3.10.*`, `py39`, `py3.9`: major and minor. `3` alone is not a minor version.
fn parse_version(text: &str) -> Option<PythonVersion> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("py") {
        if let Some((major, minor)) = rest.split_once('.') {
            return Some(PythonVersion { major: major.parse().ok()?, minor: minor.parse().ok()? });
        }
        let (major, minor) = rest.split_at_checked(1)?;
        return Some(PythonVersion { major: major.parse().ok()?, minor: minor.parse().ok()? });
    }
    let mut parts = text.split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts.next()?.trim().trim_end_matches('*').parse().ok()?;
    Some(PythonVersion { major, minor })
}

/// The lowest Python 3 version a specifier allows: PEP 440 (`>=3.9,<4`, `>3.8`, `~=3.9`,
/// `==3.10.*`, `!=3.0.*,>=3.7`), Poetry's `^3.9` and `~3.9`, and a bare version (ruff's `py39`).
/// Clamped to the versions loopwise knows; `None` when no bound is given (`*`, `<4`).
pub fn lower_bound(specifier: &str) -> Option<PythonVersion> {
    if specifier.contains('|') {
        // Poetry's `^3.8 || ^4.0`: the smallest of the alternatives' bounds.
        return specifier.split('|').filter(|alternative| !alternative.trim().is_empty()).filter_map(lower_bound).min();
    }
    let mut best: Option<PythonVersion> = None;
    for clause in specifier.split(',') {
        let clause = clause.trim();
        let Some(index) = clause.find(|c: char| c.is_ascii_digit() || c == 'p') else { continue };
        let (operator, version) = clause.split_at(index);
        // `>3.8` excludes 3.8.0 but allows 3.8.1: minor versions are what matter here.
        if !matches!(operator.trim(), ">=" | ">" | "~=" | "==" | "===" | "^" | "~" | "") {
            continue;
        }
        let Some(mut parsed) = parse_version(version).or_else(|| {
            // `>=3` or `^3`: the major version only.
            let major: u8 = version.trim().parse().ok()?;
            Some(PythonVersion { major, minor: 0 })
        }) else {
            continue;
        };
        if parsed.major < 3 {
            parsed = OLDEST_KNOWN;
        }
        best = Some(best.map_or(parsed, |best| best.max(parsed)));
    }
    best.map(clamp)
}

/// The value of `key` in `[section]` of an ini-style file (`key = value` or `key: value`),
/// continuation lines (indented) joined with a space. `None` when the key is absent.
pub(crate) fn ini_lookup(text: &str, section: &str, key: &str) -> Option<String> {
    ini_section(text, section)?.into_iter().rev().find(|(name, _)| name == key).map(|(_, value)| value)
}

/// The keys of `[section]` of an ini-style file, continuation lines joined; `None` when the file
/// has no such section.
pub(crate) fn ini_section(text: &str, section: &str) -> Option<Vec<(String, String)>> {
    let mut in_section = false;
    let mut found = false;
    let mut values: Vec<(String, String)> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            in_section = name.trim() == section;
            found |= in_section;
            continue;
        }
        if !in_section {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            if let Some((_, value)) = values.last_mut() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(line);
            }
            continue;
        }
        let Some((name, value)) = line.split_once(['=', ':']) else { continue };
        values.push((name.trim().to_string(), value.trim().to_string()));
    }
    found.then_some(values)
}

/// `keyword="literal"` (or `'literal'`) as an argument in a setup.py, read as text: only a
/// string literal counts, never an expression.
fn literal_keyword(text: &str, keyword: &str) -> Option<String> {
    let mut rest = text;
    while let Some(index) = rest.find(keyword) {
        let after = rest[index + keyword.len()..].trim_start();
        rest = &rest[index + keyword.len()..];
        let Some(value) = after.strip_prefix('=') else { continue };
        let value = value.trim_start();
        let quote = value.chars().next()?;
        if quote != '"' && quote != '\'' {
            continue;
        }
        let end = value[1..].find(quote)?;
        return Some(value[1..=end].to_string());
    }
    None
}

/// pytest's configuration files in the order pytest picks them within a folder, with the
/// section that makes each one count.
const PYTEST_FILES: &[(&str, &str)] = &[
    ("pytest.ini", "pytest"),
    (".pytest.ini", "pytest"),
    ("pyproject.toml", ""),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
];

/// Plugins (names given to `-p` or `pytest_plugins`, or a module of theirs) that run every
/// `async def` test without a mark: pytest-aio, pytest-tornasync (also inside pytest-jupyter),
/// aiomisc's plugin, aiohttp's old plugin.
const UNMARKED_RUNNER_PLUGINS: &[&str] = &[
    "pytest_aio",
    "aiohttp.pytest_plugin",
    "pytest_tornasync",
    "pytest_tornado",
    "pytest_jupyter",
    "tornado.testing",
    "aiomisc",
    "aiomisc_pytest",
];

/// Plugins known to add fixtures or reports but not to run unmarked async tests.
const QUIET_PLUGINS: &[&str] = &[
    "pytester",
    "pytest_asyncio",
    "anyio",
    "trio",
    "pytest_trio",
    "xdist",
    "pytest_mock",
    "pytest_cov",
    "pytest_timeout",
    "pytest_httpx",
    "pytest_benchmark",
    "pytest_socket",
    "pytest_env",
    "pytest_randomly",
    "pytest_rerunfailures",
    "pytest_django",
    "pytest_localserver",
    "pytest_subtests",
    "cacheprovider",
];

/// Distribution names in declared dependencies that run every `async def` test when installed.
const UNMARKED_RUNNER_DISTRIBUTIONS: &[&str] =
    &["pytest-aio", "pytest-tornasync", "pytest-tornado", "aiomisc-pytest", "pytest-jupyter"];

/// The pytest settings that matter here, from one configuration file.
struct PytestIni {
    /// `(key, value)` with values as text (TOML arrays joined by spaces).
    values: Vec<(String, String)>,
}

impl PytestIni {
    fn get(&self, key: &str) -> Option<&str> {
        self.values.iter().rev().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
    }
}

fn toml_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Boolean(flag) => Some(flag.to_string()),
        toml::Value::Array(items) => Some(items.iter().filter_map(toml_text).collect::<Vec<_>>().join(" ")),
        toml::Value::Integer(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The pytest configuration `path` holds, if it is one pytest would use.
fn read_pytest_ini(path: &Path, section: &str, passed_over: &PassedOver) -> Option<PytestIni> {
    let text = read_small(path, passed_over)?;
    if section.is_empty() {
        let document = passed_over.toml(path, &text)?;
        let pytest = document.get("tool")?.get("pytest")?.as_table()?;
        // pytest 9's native `[tool.pytest]`, or the classic `[tool.pytest.ini_options]`.
        let table = pytest.get("ini_options").and_then(toml::Value::as_table).unwrap_or(pytest);
        let values = table
            .iter()
            .filter(|(_, value)| !value.is_table())
            .filter_map(|(key, value)| Some((key.clone(), toml_text(value)?)))
            .collect();
        return Some(PytestIni { values });
    }
    match ini_section(&text, section) {
        Some(values) => Some(PytestIni { values }),
        // An empty or section-less pytest.ini is still pytest's configuration file.
        None if path.file_name().is_some_and(|name| name.to_string_lossy().ends_with("pytest.ini")) => {
            Some(PytestIni { values: Vec::new() })
        }
        None => None,
    }
}

/// The value of a command-line option (`--asyncio-mode=auto`, `--asyncio-mode auto`) in
/// `addopts`, and the plugins it loads with `-p NAME`.
fn addopts_option(addopts: &str, option: &str) -> Option<String> {
    let words: Vec<&str> = addopts.split_whitespace().collect();
    words.iter().enumerate().find_map(|(index, word)| match word.strip_prefix(option) {
        Some(rest) if rest.starts_with('=') => Some(rest[1..].to_string()),
        Some("") => words.get(index + 1).map(|value| (*value).to_string()),
        _ => None,
    })
}

fn addopts_plugins(addopts: &str) -> Vec<String> {
    let words: Vec<&str> = addopts.split_whitespace().collect();
    let mut plugins = Vec::new();
    for (index, word) in words.iter().enumerate() {
        if *word == "-p" {
            if let Some(name) = words.get(index + 1) {
                plugins.push((*name).to_string());
            }
        } else if let Some(name) = word.strip_prefix("-p").filter(|name| !name.is_empty()) {
            plugins.push(name.to_string());
        }
    }
    plugins
}

/// Whether a plugin name loads a runner of unmarked async tests: `Some(true)` it does,
/// `Some(false)` it does not, `None` unknown.
fn classify_plugin(name: &str) -> Option<bool> {
    let name = name.trim().trim_matches(|c| matches!(c, '"' | '\''));
    if name == "no:asyncio" || name == "no:pytest_asyncio" {
        // pytest-asyncio switched off in a project with async tests: another plugin runs them.
        return Some(true);
    }
    if name.starts_with("no:") {
        return Some(false);
    }
    // A plugin's own modules count as the plugin (`pytest_jupyter.jupyter_server`).
    let within = |plugins: &[&str]| {
        plugins
            .iter()
            .any(|plugin| name == *plugin || name.strip_prefix(plugin).is_some_and(|rest| rest.starts_with('.')))
    };
    if within(UNMARKED_RUNNER_PLUGINS) {
        return Some(true);
    }
    if within(QUIET_PLUGINS) || name.starts_with("_pytest.") {
        return Some(false);
    }
    // Any other plugin may run async tests itself: loopwise cannot tell.
    None
}

impl ProjectFacts {
    fn pytest_facts(&self, folder: &Path) -> PytestFacts {
        let mut facts = PytestFacts::default();
        let ini = self.pytest_ini(folder);
        // pytest's rootdir: the inifile's folder; without one, the nearest folder that looks like a
        // project root (pytest would use the common ancestor of its arguments, usually that).
        let root = match ini.as_deref() {
            Some((path, _)) => path.parent().map(Path::to_path_buf),
            None => self.project_folder(folder),
        }
        .unwrap_or_else(|| folder.to_path_buf());
        if let Some((path, ini)) = ini.as_deref() {
            facts.config_file = Some(path.clone());
            let addopts = ini.get("addopts").unwrap_or_default();
            let at = |what: String| format!("{what} in {}", path.display());
            let asyncio_mode =
                addopts_option(addopts, "--asyncio-mode").or_else(|| ini.get("asyncio_mode").map(str::to_string));
            if asyncio_mode.as_deref().map(str::trim) == Some("auto") {
                facts.runs_unmarked = Some(at("pytest-asyncio's `asyncio_mode = auto`".to_string()));
            } else if ini.get("trio_mode").is_some_and(|mode| matches!(mode.trim(), "true" | "True" | "1" | "yes")) {
                facts.runs_unmarked = Some(at("pytest-trio's `trio_mode = true`".to_string()));
            } else if ini.get("anyio_mode").is_some_and(|mode| mode.trim() == "auto") {
                facts.runs_unmarked = Some(at("anyio's `anyio_mode = auto`".to_string()));
            } else if let Some(plugin) =
                addopts_plugins(addopts).into_iter().find(|plugin| classify_plugin(plugin) != Some(false))
            {
                facts.runs_unmarked = Some(at(match classify_plugin(&plugin) {
                    Some(_) if plugin.starts_with("no:") => {
                        format!("`-p {plugin}` in `addopts`: another plugin runs the async tests")
                    }
                    Some(_) => format!("plugin `{plugin}` (`-p` in `addopts`), which runs unmarked async tests"),
                    None => format!("plugin `{plugin}` (`-p` in `addopts`), which may run unmarked async tests"),
                }));
            }
        }
        if facts.runs_unmarked.is_none() {
            facts.runs_unmarked = self.declared_runner(&root);
        }
        // conftest.py files from the folder up to the root, nearest first.
        for ancestor in folder.ancestors() {
            if let Some((reason, modules)) = self.conftest(ancestor, &root) {
                facts.conftests.push(ancestor.join("conftest.py"));
                facts.conftests.extend(modules);
                if facts.runs_unmarked.is_none() {
                    facts.runs_unmarked = reason;
                }
            }
            if ancestor == root {
                break;
            }
        }
        facts
    }
}

/// A runner of unmarked async tests listed among the project's declared dependencies
/// (pyproject.toml, setup.cfg, setup.py, tox.ini, requirements files), read as text.
fn declared_runner_distribution(root: &Path, passed_over: &PassedOver) -> Option<String> {
    let mut files: Vec<PathBuf> =
        ["pyproject.toml", "setup.cfg", "setup.py", "tox.ini"].iter().map(|name| root.join(name)).collect();
    for folder in [root.to_path_buf(), root.join("requirements")] {
        if let Ok(entries) = std::fs::read_dir(&folder) {
            files.extend(entries.filter_map(Result::ok).map(|entry| entry.path()).filter(|path| {
                path.file_name().is_some_and(|name| {
                    let name = name.to_string_lossy();
                    name.starts_with("requirements") && (name.ends_with(".txt") || name.ends_with(".in"))
                        || (folder.ends_with("requirements") && name.ends_with(".txt"))
                })
            }));
        }
    }
    files.iter().find_map(|path| {
        let text = read_small(path, passed_over)?;
        UNMARKED_RUNNER_DISTRIBUTIONS.iter().find_map(|distribution| {
            mentions_distribution(&text, distribution)
                .then(|| format!("`{distribution}`, which runs unmarked async tests, declared in {}", path.display()))
        })
    })
}

/// `text` names `distribution` as a whole name (not as the prefix of a longer one).
fn mentions_distribution(text: &str, distribution: &str) -> bool {
    let normalised = text.to_ascii_lowercase().replace('_', "-");
    normalised.match_indices(distribution).any(|(index, _)| {
        let before = normalised[..index].chars().next_back();
        let after = normalised[index + distribution.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    })
}

/// Top-level `def NAME` blocks of a Python file, as text: `(name, decorators, block)`.
fn top_level_functions(text: &str) -> Vec<(String, String, String, bool)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut functions = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let (is_async, rest) = match line.strip_prefix("async def ") {
            Some(rest) => (true, Some(rest)),
            None => (false, line.strip_prefix("def ")),
        };
        let Some(rest) = rest else {
            index += 1;
            continue;
        };
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let mut start = index;
        while start > 0 && lines[start - 1].starts_with('@') {
            start -= 1;
        }
        let decorators = lines[start..index].join("\n");
        let mut end = index + 1;
        while end < lines.len() {
            let next = lines[end];
            if !next.trim().is_empty() && !next.starts_with([' ', '\t', '#', ')']) {
                break;
            }
            end += 1;
        }
        functions.push((name, decorators, lines[index..end].join("\n"), is_async));
        index = end;
    }
    functions
}

/// Whether a conftest.py (or a plugin module it names) makes unmarked async tests run, and why.
fn conftest_runner(
    path: &Path,
    text: &str,
    root: &Path,
    seen: &mut Vec<PathBuf>,
    passed_over: &PassedOver,
) -> Option<String> {
    let at = |what: String| Some(format!("{what} in {}", path.display()));
    for (name, decorators, body, is_async) in top_level_functions(text) {
        match name.as_str() {
            // A custom runner: pytest calls this hook to run every test function.
            "pytest_pyfunc_call" | "pytest_pycollect_makeitem" => {
                return at(format!("hook `{name}`, which may run async tests itself"));
            }
            "pytest_collection_modifyitems" | "pytest_itemcollected"
                if body.contains("add_marker") && ["asyncio", "anyio", "trio"].iter().any(|lib| body.contains(lib)) =>
            {
                return at(format!("hook `{name}`, which adds runner marks"));
            }
            "anyio_backend" if decorators.contains("fixture") => {
                // Tests that use this fixture, directly or through another fixture, run under
                // anyio: which ones cannot be told from here.
                return at("fixture `anyio_backend` (anyio runs the tests that use it)".to_string());
            }
            _ if is_async && decorators.contains("fixture") && !decorators.contains("pytest_asyncio") => {
                // A plain `@pytest.fixture` on an `async def` only works when a runner takes
                // unmarked async code (auto mode, anyio, trio): one is configured elsewhere.
                return at(format!("async fixture `{name}` with a plain `@pytest.fixture`"));
            }
            _ => {}
        }
    }
    for plugin in pytest_plugins(text) {
        match classify_plugin(&plugin) {
            Some(true) => return at(format!("plugin `{plugin}` (`pytest_plugins`), which runs unmarked async tests")),
            Some(false) => {}
            None => {
                // A module of the project: read it like a conftest.py; anything else is unknown.
                let relative: PathBuf = plugin.split('.').collect();
                let module =
                    [root.join(&relative).with_extension("py"), root.join("src").join(&relative).with_extension("py")]
                        .into_iter()
                        .chain([root.join(&relative).join("__init__.py")])
                        .find(|candidate| candidate.is_file());
                match module {
                    Some(module) if !seen.contains(&module) => {
                        seen.push(module.clone());
                        let Some(text) = read_small(&module, passed_over) else { continue };
                        if let Some(reason) = conftest_runner(&module, &text, root, seen, passed_over) {
                            return Some(reason);
                        }
                    }
                    Some(_) => {}
                    None => {
                        return at(format!("plugin `{plugin}` (`pytest_plugins`), which may run unmarked async tests"));
                    }
                }
            }
        }
    }
    None
}

/// The names in a top-level `pytest_plugins = "x"` / `["x", "y"]` / `("x",)`.
fn pytest_plugins(text: &str) -> Vec<String> {
    let Some(start) = text.lines().position(|line| line.starts_with("pytest_plugins")) else { return Vec::new() };
    let rest: String = text.lines().skip(start).collect::<Vec<_>>().join("\n");
    let Some((_, value)) = rest.split_once('=') else { return Vec::new() };
    let value = value.trim_start();
    let end = if value.starts_with(['[', '(']) {
        value.find([']', ')']).map_or(value.len(), |index| index + 1)
    } else {
        value.find('\n').unwrap_or(value.len())
    };
    let mut names = Vec::new();
    let mut inside = &value[..end];
    while let Some(open) = inside.find(['"', '\'']) {
        let quote = inside[open..].chars().next().unwrap_or('"');
        let Some(close) = inside[open + 1..].find(quote) else { break };
        names.push(inside[open + 1..open + 1 + close].to_string());
        inside = &inside[open + close + 2..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)]
    fn v(minor: u8) -> Option<PythonVersion> {
        Some(PythonVersion { major: 3, minor })
    }

    #[test]
    fn lower_bounds_of_specifiers() {
        assert_eq!(lower_bound(">=3.9"), v(9));
        assert_eq!(lower_bound(">=3.9,<4"), v(9));
        assert_eq!(lower_bound(">= 3.10, < 3.13"), v(10));
        assert_eq!(lower_bound("^3.9"), v(9));
        assert_eq!(lower_bound("~3.10"), v(10));
        assert_eq!(lower_bound("~=3.8"), v(8));
        assert_eq!(lower_bound(">3.8"), v(8));
        assert_eq!(lower_bound("==3.12.*"), v(12));
        assert_eq!(lower_bound("!=3.0.*,!=3.1.*,>=3.8"), v(8));
        assert_eq!(lower_bound(">=2.7"), v(7));
        assert_eq!(lower_bound(">=3"), v(7));
        assert_eq!(lower_bound("py310"), v(10));
        assert_eq!(lower_bound("^3.8 || ^4.0"), v(8));
        assert_eq!(lower_bound("<4"), None);
        assert_eq!(lower_bound("*"), None);
    }

    #[test]
    fn setup_py_only_literal_strings() {
        assert_eq!(
            literal_keyword("setup(\n    python_requires='>=3.8',\n)", "python_requires").as_deref(),
            Some(">=3.8")
        );
        assert_eq!(literal_keyword("setup(python_requires=REQUIRES)", "python_requires"), None);
    }

    #[test]
    fn nearest_folder_and_source_order() {
        let root = tempfile::tempdir().expect("temporary folder");
        let sub = root.path().join("pkg");
        std::fs::create_dir(&sub).expect("folder");
        let facts = ProjectFacts::default();
        assert_eq!(facts.target_version(&sub), None);
        std::fs::write(
            root.path().join("setup.cfg"),
            "[metadata]\nclassifiers =\n    Programming Language :: Python :: 3.11\n    Programming Language :: Python :: 3.8\n",
        )
        .expect("write");
        facts.clear();
        let found = facts.target_version(&sub).expect("a classifier");
        assert_eq!(found.value, PythonVersion { major: 3, minor: 8 });
        assert!(found.source.contains("classifier"), "{}", found.source);
        std::fs::write(root.path().join("setup.py"), "setup(python_requires=\">=3.9\")\n").expect("write");
        facts.clear();
        assert_eq!(facts.target_version(&sub).map(|found| found.value), v(9));
        std::fs::write(root.path().join("ruff.toml"), "target-version = \"py310\"\n").expect("write");
        facts.clear();
        assert_eq!(facts.target_version(&sub).map(|found| found.value), v(10));
        std::fs::write(root.path().join("pyproject.toml"), "[tool.poetry.dependencies]\npython = \"^3.12\"\n")
            .expect("write");
        facts.clear();
        // ruff.toml comes before Poetry's python dependency.
        assert_eq!(facts.target_version(&sub).map(|found| found.value), v(10));
        std::fs::write(sub.join("pyproject.toml"), "[project]\nrequires-python = \">=3.13\"\n").expect("write");
        facts.clear();
        let found = facts.target_version(&sub).expect("nearest");
        assert_eq!(found.value, PythonVersion { major: 3, minor: 13 });
        assert!(found.source.contains("project.requires-python \">=3.13\""), "{}", found.source);
    }

    #[test]
    fn pytest_runners() {
        let root = tempfile::tempdir().expect("temporary folder");
        let tests = root.path().join("tests");
        std::fs::create_dir(&tests).expect("folder");
        std::fs::write(root.path().join("pyproject.toml"), "[project]\nname = \"x\"\n").expect("write");
        let facts = || ProjectFacts::default().pytest_facts(&tests);
        assert_eq!(facts().runners(), TestRunners { pytest_configured: false, runs_unmarked: false });
        std::fs::write(tests.join("conftest.py"), "import pytest\n\n@pytest.fixture\ndef db():\n    return 1\n")
            .expect("write");
        assert_eq!(facts().runners(), TestRunners { pytest_configured: true, runs_unmarked: false });
        std::fs::write(
            tests.join("conftest.py"),
            "import pytest\n\n@pytest.fixture\nasync def client():\n    yield 1\n",
        )
        .expect("write");
        assert!(facts().runners().runs_unmarked);
        std::fs::write(
            tests.join("conftest.py"),
            "def pytest_collection_modifyitems(items):\n    for item in items:\n        item.add_marker(pytest.mark.asyncio)\n",
        )
        .expect("write");
        assert!(facts().runners().runs_unmarked);
        std::fs::write(tests.join("conftest.py"), "def pytest_collection_modifyitems(items):\n    items.sort()\n")
            .expect("write");
        assert!(!facts().runners().runs_unmarked);
        std::fs::write(tests.join("conftest.py"), "pytest_plugins = [\"tests.helpers\", \"pytester\"]\n")
            .expect("write");
        assert!(facts().runners().runs_unmarked, "an unknown plugin: cannot tell");
        std::fs::write(tests.join("helpers.py"), "def helper():\n    pass\n").expect("write");
        assert!(!facts().runners().runs_unmarked, "a project module read like a conftest");
        std::fs::write(tests.join("helpers.py"), "pytest_plugins = [\"pytest_jupyter.jupyter_server\"]\n")
            .expect("write");
        assert!(facts().runners().runs_unmarked, "a runner plugin named by a plugin module");
        std::fs::write(tests.join("helpers.py"), "pytest_plugins = [\"pytest_mock\", \"pytest_cov.plugin\"]\n")
            .expect("write");
        assert!(!facts().runners().runs_unmarked, "plugins known not to run tests");
        std::fs::write(tests.join("helpers.py"), "pytest_plugins = \"pytest_somethingelse\"\n").expect("write");
        assert!(facts().runners().runs_unmarked, "an unknown plugin: cannot tell");
        std::fs::write(tests.join("helpers.py"), "def helper():\n    pass\n").expect("write");
        std::fs::write(root.path().join("pytest.ini"), "[pytest]\ntrio_mode = true\n").expect("write");
        assert!(facts().runners().runs_unmarked);
        std::fs::write(root.path().join("pytest.ini"), "[pytest]\naddopts = -p pytest_aio\n").expect("write");
        assert!(facts().runners().runs_unmarked);
        std::fs::write(root.path().join("pytest.ini"), "[pytest]\naddopts = -p no:cacheprovider\n").expect("write");
        assert!(!facts().runners().runs_unmarked);
        std::fs::write(root.path().join("pytest.ini"), "[pytest]\naddopts = -p no:asyncio\n").expect("write");
        assert!(facts().runners().runs_unmarked, "pytest-asyncio switched off: another plugin runs them");
        std::fs::write(root.path().join("pytest.ini"), "[pytest]\naddopts =\n    -ra\n    --asyncio-mode=auto\n")
            .expect("write");
        assert!(facts().runners().runs_unmarked, "a continued addopts line");
        std::fs::remove_file(root.path().join("pytest.ini")).expect("remove");
        std::fs::write(root.path().join("pyproject.toml"), "[tool.pytest]\nanyio_mode = \"auto\"\n").expect("write");
        assert!(facts().runners().runs_unmarked, "pytest 9's native table");
        std::fs::write(
            root.path().join("pyproject.toml"),
            "[project.optional-dependencies]\ntest = [\"pytest-aio>=1\"]\n",
        )
        .expect("write");
        assert!(facts().runners().runs_unmarked);
    }
}
