//! The persistent cache of `loopwise check`: the findings of every checked file, kept between
//! runs in `.loopwise_cache/` at the project root (or `--cache-dir`, `LOOPWISE_CACHE_DIR`), so
//! that a run over an unchanged tree reads and parses nothing.
//!
//! An entry is valid when all of these are as they were: the file's text (its size and
//! modification time, as ruff trusts them, else the hash of its bytes), the settings that apply
//! to it (rules after per-file ignores, target version, severities, test runners, blocking
//! calls, timeout), its module name, loopwise itself (version and executable), and the summary
//! of every module its analysis consulted through the workspace index, including the ones it
//! looked for and did not find. So changing `def` to `async def` in one module re-checks
//! exactly the files that asked about it.
//!
//! A file modified at or after the moment the run that wrote an entry began is not trusted by
//! its time stamp (it may have changed within one tick of the clock): its bytes are hashed.
//!
//! The cache file is written whole, to a temporary file renamed into place, so a concurrent run
//! sees either the old file or the new one; the last writer wins and nothing is lost but
//! entries. A file that is truncated, corrupt (its checksum fails), of another format or of
//! another loopwise build is ignored and rebuilt, never trusted.
//!
//! Beside the cache file, a smaller one keeps each folder's listing of configuration names
//! (`config::KnownListings`), read before the walk begins; the configuration layer trusts a
//! listing while the folder's modification time is as it was.
//!
//! Owns the cache's files and format. It must not know what a rule checks: findings are data.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::hash::Hasher as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use crate::analysis::index::{HelperFacts, ModuleSource, ModuleSummary};
use crate::analysis::{Applicability, Diagnostic, Edit, Fix, LintSettings, Severity, TextRange};
use crate::config::KnownListings;
use crate::rules::Rule;
use crate::workspace::{ModuleName, Workspace};

/// The first bytes of a cache file; a new layout of [`Stored`] takes a new number.
const MAGIC: &[u8; 8] = b"LWCACHE1";

/// A cache file larger than this is not read: none was written for a tree loopwise checks in
/// one run, and reading it whole would take the memory.
const SIZE_LIMIT: u64 = 1 << 30;

/// The name of the cache folder at the project root.
pub const FOLDER: &str = ".loopwise_cache";

/// A file's size and modification time (nanoseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stamp {
    pub size: u64,
    pub modified: u64,
}

impl Stamp {
    pub fn of(path: &Path) -> Option<Self> {
        let metadata = std::fs::metadata(path).ok()?;
        Self::from_metadata(&metadata)
    }

    pub fn from_metadata(metadata: &std::fs::Metadata) -> Option<Self> {
        let modified = metadata.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        Some(Self { size: metadata.len(), modified: u64::try_from(modified.as_nanos()).ok()? })
    }
}

/// What a module looked like to the analyses that consulted it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct StoredModule {
    name: String,
    /// The file that defined it and its stamp when its summary was taken.
    file: Option<(String, Stamp)>,
    /// The hash of its summary; `None` when no file defines it.
    summary: Option<u64>,
    /// The hash of its helper facts (LW109), when the findings consulted them.
    facts: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredFix {
    title: String,
    applicability: u8,
    edits: Vec<(usize, usize, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredDiagnostic {
    rule: String,
    range: (usize, usize),
    message: String,
    severity: u8,
    fix: Option<StoredFix>,
    alternatives: Vec<StoredFix>,
    statement_start: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredFile {
    path: String,
    stamp: Stamp,
    /// xxh3 of the file's bytes.
    content: u64,
    /// The settings and module name the findings were computed with ([`key`]).
    key: u64,
    /// Indexes into [`Stored::modules`].
    dependencies: Vec<u32>,
    diagnostics: Vec<StoredDiagnostic>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    /// When the run that wrote the file began, in nanoseconds since the epoch.
    started: u64,
    modules: Vec<StoredModule>,
    files: Vec<StoredFile>,
}

/// A file's entry, as held between loading and writing.
#[derive(Debug, Clone)]
struct Entry {
    stamp: Stamp,
    content: u64,
    key: u64,
    dependencies: Dependencies,
    diagnostics: Vec<StoredDiagnostic>,
}

/// The module states an entry's findings saw.
#[derive(Debug, Clone)]
enum Dependencies {
    /// Indexes into the loaded cache's modules.
    Loaded(Vec<u32>),
    /// Taken in this run.
    Fresh(Vec<StoredModule>),
}

/// What the cache knows of one file at the start of a run, and what the run found.
pub struct Cache {
    file: PathBuf,
    /// When this run began.
    started: u64,
    /// When the run that wrote the loaded entries began.
    loaded_started: u64,
    /// By the path's bytes: `Path`'s own hash takes the path apart at each separator (a
    /// twentieth of a cached run's instructions on HA).
    loaded: foldhash::HashMap<OsString, Entry>,
    loaded_modules: Vec<StoredModule>,
    /// Whether each loaded module state still holds, decided once per run.
    holds: Vec<OnceLock<bool>>,
    /// Settings (by address; held, so that no other settings can take the address) -> their
    /// part of the key.
    fingerprints: Mutex<HashMap<usize, (Arc<LintSettings>, u64)>>,
    /// The entries of this run: reused or new.
    fresh: Mutex<foldhash::HashMap<OsString, Entry>>,
    hits: AtomicUsize,
    /// Whether the file on disk needs writing: an entry is new or its stamp changed.
    changed: AtomicBool,
}

/// The outcome of asking the cache about a file.
pub enum Lookup {
    /// The stored findings hold; the text was read when there are findings to print.
    Hit { diagnostics: Vec<Diagnostic>, source: Option<String> },
    /// Check the file; here is its text when the lookup had to read it.
    Miss { bytes: Option<Vec<u8>> },
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(0))
}

/// loopwise's version and its executable's stamp: a cache written by another build (another
/// release, or a rebuilt development binary) is not trusted.
fn build_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let executable = std::env::current_exe().ok().and_then(|path| Stamp::of(&path));
        let stamp = executable.map_or_else(String::new, |stamp| format!("{}-{}", stamp.size, stamp.modified));
        format!("loopwise {} {stamp}", env!("CARGO_PKG_VERSION"))
    })
}

/// The hash of a file's bytes that its entry keeps.
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxh3_64(bytes)
}

/// The hash of a module summary, independent of the order its maps iterate in.
/// The hash of a module's helper facts as the workspace has them now (kept sorted); facts
/// that cannot be read hash as none at all, as the findings saw them.
fn facts_hash(workspace: &Workspace, module: &str) -> u64 {
    use std::hash::Hash as _;
    let mut hasher = Xxh3::new();
    workspace.helper_facts(module).unwrap_or_default().hash(&mut hasher);
    hasher.finish()
}

pub fn summary_hash(summary: &ModuleSummary) -> u64 {
    let mut functions: Vec<_> = summary.functions.iter().map(|(name, kind)| format!("{name}={kind:?}")).collect();
    functions.sort_unstable();
    let mut imports: Vec<_> = summary.imports.iter().map(|(name, target)| format!("{name}={target}")).collect();
    imports.sort_unstable();
    let mut hasher = Xxh3::new();
    for item in functions.iter().chain([&String::from("\0")]).chain(&imports) {
        hasher.write(item.as_bytes());
        hasher.write_u8(0xff);
    }
    hasher.finish()
}

/// The part of a file's key its folder's settings give (all but the rules that run on it).
fn fingerprint(settings: &LintSettings) -> u64 {
    // Every field is named: a new setting does not compile until it is part of the key (or
    // said here to reach the key another way), so no cached finding outlives a change to it.
    let LintSettings {
        target_version,
        // These three decide which rules run on a file, with its path, which names the entry:
        // what they are made of is hashed, not `rules_for(path)`, whose glob matching was a
        // tenth of a cached run's instructions on HA.
        rules,
        per_file_ignores,
        test_code,
        // A file over it is not checked, so never cached: nothing to key.
        max_file_size: _,
        severity,
        default_timeout,
        blocking_calls,
        test_runners,
        prefilter,
        top_level_await,
    } = settings;
    let severity: BTreeMap<&str, &str> =
        severity.iter().map(|(rule, severity)| (rule.meta().code, severity.as_str())).collect();
    let blocking: BTreeMap<&String, &Option<String>> = blocking_calls.iter().collect();
    let ignores: Vec<(&str, bool, u128)> = per_file_ignores
        .iter()
        .map(|ignore| (ignore.matcher.glob().glob(), ignore.match_basename, ignore.rules.bits()))
        .collect();
    let test_code = test_code.as_ref().map(|test| (&test.root, &test.patterns, test.rules.bits()));
    let text = format!(
        "{}|{target_version}|{}|{ignores:?}|{test_code:?}|{severity:?}|{}|{blocking:?}|{test_runners:?}|{prefilter}|\
         {top_level_await}",
        build_id(),
        rules.bits(),
        default_timeout.to_bits(),
    );
    xxh3_64(text.as_bytes())
}

/// The workspace as one file's analysis sees it, noting every module it asks about.
pub struct Recorder<'a> {
    workspace: &'a Workspace,
    /// Where the summaries come from: the workspace, or something that fills it.
    modules: &'a dyn ModuleSource,
    asked: Mutex<Vec<String>>,
    /// The modules whose helper facts it asked about (LW109).
    facts_asked: Mutex<Vec<String>>,
}

impl<'a> Recorder<'a> {
    pub fn new(workspace: &'a Workspace, modules: &'a dyn ModuleSource) -> Self {
        Self { workspace, modules, asked: Mutex::new(Vec::new()), facts_asked: Mutex::new(Vec::new()) }
    }

    /// The modules asked about, each with whether its helper facts were.
    fn into_asked(self) -> Vec<(String, bool)> {
        let mut asked = self.asked.into_inner().unwrap_or_else(PoisonError::into_inner);
        let facts = self.facts_asked.into_inner().unwrap_or_else(PoisonError::into_inner);
        asked.extend(facts.iter().cloned());
        asked.sort_unstable();
        asked.dedup();
        asked
            .into_iter()
            .map(|name| {
                let with_facts = facts.contains(&name);
                (name, with_facts)
            })
            .collect()
    }
}

impl ModuleSource for Recorder<'_> {
    fn summary(&self, module: &str) -> Option<std::sync::Arc<ModuleSummary>> {
        self.asked.lock().unwrap_or_else(PoisonError::into_inner).push(module.to_string());
        self.modules.summary(module)
    }

    fn helper_facts(&self, module: &str) -> Option<std::sync::Arc<HelperFacts>> {
        self.facts_asked.lock().unwrap_or_else(PoisonError::into_inner).push(module.to_string());
        self.modules.helper_facts(module)
    }
}

impl Cache {
    /// The cache of the project of the current folder, in `explicit` (`--cache-dir` or
    /// `LOOPWISE_CACHE_DIR`), else in `.loopwise_cache` in that project folder (as ruff puts
    /// `.ruff_cache`). Empty when there is none or it cannot be trusted.
    pub fn open(explicit: Option<&Path>) -> Self {
        let (folder, root) = folder_and_root(explicit);
        Self::load(&folder, &root)
    }

    /// The cache in `folder` for the project at `root`.
    fn load(folder: &Path, root: &Path) -> Self {
        let file = cache_file(folder, root);
        let readable = std::fs::metadata(&file).is_ok_and(|metadata| metadata.len() <= SIZE_LIMIT);
        let stored: Stored = readable
            .then(|| crate::files::read_regular(&file, None).ok().and_then(|bytes| decode(&bytes)))
            .flatten()
            .unwrap_or_default();
        let modules = stored.modules.len();
        let mut loaded =
            foldhash::HashMap::with_capacity_and_hasher(stored.files.len(), foldhash::fast::RandomState::default());
        loaded.extend(
            stored
                .files
                .into_iter()
                .filter(|file| {
                    file.dependencies.iter().all(|index| usize::try_from(*index).is_ok_and(|index| index < modules))
                })
                .map(|file| {
                    let entry = Entry {
                        stamp: file.stamp,
                        content: file.content,
                        key: file.key,
                        dependencies: Dependencies::Loaded(file.dependencies),
                        diagnostics: file.diagnostics,
                    };
                    (OsString::from(file.path), entry)
                }),
        );
        Self {
            file,
            started: now(),
            loaded_started: stored.started,
            loaded,
            holds: (0..modules).map(|_| OnceLock::new()).collect(),
            loaded_modules: stored.modules,
            fingerprints: Mutex::new(HashMap::new()),
            fresh: Mutex::default(),
            hits: AtomicUsize::new(0),
            changed: AtomicBool::new(false),
        }
    }

    /// What the findings of a file depend on besides its path (which names its entry), its
    /// text and the modules it consulted: its settings and its module name.
    pub fn key(&self, settings: &Arc<LintSettings>, module: Option<&ModuleName>) -> u64 {
        let address = Arc::as_ptr(settings) as usize;
        let known = self.fingerprints.lock().unwrap_or_else(PoisonError::into_inner).get(&address).map(|known| known.1);
        let fingerprint = known.unwrap_or_else(|| {
            let computed = fingerprint(settings);
            let mut fingerprints = self.fingerprints.lock().unwrap_or_else(PoisonError::into_inner);
            fingerprints.insert(address, (Arc::clone(settings), computed));
            computed
        });
        let mut hasher = Xxh3::new();
        hasher.write_u64(fingerprint);
        if let Some(module) = module {
            hasher.write(module.name.as_bytes());
            hasher.write_u8(u8::from(module.is_package));
        }
        hasher.finish()
    }

    /// How many files' findings came from the cache so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }

    /// The cache file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Looks up `path` (absolute), whose stamp is `stamp` and whose findings depend on `key`.
    /// `reusable` says whether stored findings may stand (with `--fix`, only when none of them
    /// has a fix to apply).
    pub fn lookup(
        &self,
        path: &Path,
        stamp: Stamp,
        key: u64,
        workspace: &Workspace,
        reusable: impl Fn(&[Diagnostic]) -> bool,
    ) -> Lookup {
        let Some(entry) = self.loaded.get(path.as_os_str()).filter(|entry| entry.key == key) else {
            return Lookup::Miss { bytes: None };
        };
        let trusted_stamp = entry.stamp == stamp && stamp.modified < self.loaded_started;
        let mut bytes = None;
        if !trusted_stamp || !entry.diagnostics.is_empty() {
            let Ok(read) = crate::files::read_regular(path, None) else { return Lookup::Miss { bytes: None } };
            if xxh3_64(&read) != entry.content {
                return Lookup::Miss { bytes: Some(read) };
            }
            bytes = Some(read);
        }
        let Dependencies::Loaded(dependencies) = &entry.dependencies else { return Lookup::Miss { bytes } };
        if !dependencies.iter().all(|index| self.still_holds(*index, workspace)) {
            return Lookup::Miss { bytes };
        }
        let Some(diagnostics) = entry.diagnostics.iter().map(restore).collect::<Option<Vec<_>>>() else {
            return Lookup::Miss { bytes };
        };
        if !reusable(&diagnostics) {
            return Lookup::Miss { bytes };
        }
        let source = match bytes.map(String::from_utf8) {
            Some(Ok(source)) => Some(source),
            Some(Err(_)) => return Lookup::Miss { bytes: None },
            None => None,
        };
        self.hits.fetch_add(1, Ordering::Relaxed);
        if !trusted_stamp {
            self.changed.store(true, Ordering::Relaxed);
        }
        // The loaded entry is written back as it is unless the file was touched.
        if entry.stamp != stamp {
            let entry = Entry { stamp, ..entry.clone() };
            self.fresh.lock().unwrap_or_else(PoisonError::into_inner).insert(path.as_os_str().to_owned(), entry);
        }
        Lookup::Hit { diagnostics, source }
    }

    /// Records what checking `path` found: its stamp taken before it was read, its bytes' hash,
    /// the modules `recorder` saw it consult.
    pub fn record(
        &self,
        path: &Path,
        stamp: Stamp,
        content: u64,
        key: u64,
        recorder: Recorder<'_>,
        diagnostics: &[Diagnostic],
    ) {
        let workspace = recorder.workspace;
        let dependencies = Dependencies::Fresh(
            recorder.into_asked().into_iter().map(|(name, facts)| module_state(workspace, name, facts)).collect(),
        );
        let entry = Entry { stamp, content, key, dependencies, diagnostics: diagnostics.iter().map(store).collect() };
        self.changed.store(true, Ordering::Relaxed);
        self.fresh.lock().unwrap_or_else(PoisonError::into_inner).insert(path.as_os_str().to_owned(), entry);
    }

    /// Whether a module the stored findings consulted still has the summary they saw. The
    /// workspace must know every root of the run: a module missing before may be found now.
    fn still_holds(&self, index: u32, workspace: &Workspace) -> bool {
        let Some((module, holds)) = usize::try_from(index)
            .ok()
            .and_then(|index| Some((self.loaded_modules.get(index)?, self.holds.get(index)?)))
        else {
            return false;
        };
        *holds.get_or_init(|| self.compute_holds(module, workspace))
    }

    fn compute_holds(&self, module: &StoredModule, workspace: &Workspace) -> bool {
        let file = workspace.find_file(&module.name);
        match (&module.file, &file) {
            (None, None) => true,
            (Some((stored, stamp)), Some(now))
                if Path::new(stored) == now
                    && Stamp::of(now) == Some(*stamp)
                    && stamp.modified < self.loaded_started =>
            {
                true
            }
            _ => {
                workspace.summary(&module.name).map(|summary| summary_hash(&summary)) == module.summary
                    && module.facts.is_none_or(|facts| facts_hash(workspace, &module.name) == facts)
            }
        }
    }

    /// Writes this run's entries, and the loaded ones of files it did not visit, atomically;
    /// nothing when every entry was found as it was.
    pub fn write(self) -> std::io::Result<()> {
        if !self.changed.load(Ordering::Relaxed) {
            // The run ends after this: freeing every loaded entry one by one is work for
            // memory the system reclaims anyway.
            std::mem::forget(self);
            return Ok(());
        }
        let fresh = self.fresh.into_inner().unwrap_or_else(PoisonError::into_inner);
        // Entries of files that are gone are dropped, so the cache does not grow forever.
        let mut entries: HashMap<OsString, Entry> = self
            .loaded
            .into_par_iter()
            .filter(|(path, _)| fresh.contains_key(path) || Path::new(path).exists())
            .collect();
        entries.extend(fresh);
        let mut stored = Stored { started: self.started, ..Stored::default() };
        let mut indexes: HashMap<StoredModule, u32> = HashMap::new();
        let mut paths: Vec<_> = entries.into_iter().collect();
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, entry) in paths {
            let Some(path) = path.to_str().map(str::to_string) else { continue };
            let modules: Vec<StoredModule> = match entry.dependencies {
                Dependencies::Loaded(indexes) => indexes
                    .iter()
                    .filter_map(|index| self.loaded_modules.get(usize::try_from(*index).ok()?).cloned())
                    .collect(),
                Dependencies::Fresh(modules) => modules,
            };
            let mut dependencies = Vec::with_capacity(modules.len());
            for module in modules {
                let next = u32::try_from(stored.modules.len()).unwrap_or(u32::MAX);
                let index = *indexes.entry(module.clone()).or_insert_with(|| {
                    stored.modules.push(module);
                    next
                });
                dependencies.push(index);
            }
            stored.files.push(StoredFile {
                path,
                stamp: entry.stamp,
                content: entry.content,
                key: entry.key,
                dependencies,
                diagnostics: entry.diagnostics,
            });
        }
        write_atomically(&self.file, &stored)
    }
}

/// The cache folder for the project of the current folder (see [`Cache::open`]), and that
/// project's folder.
fn folder_and_root(explicit: Option<&Path>) -> (PathBuf, PathBuf) {
    let current = std::path::absolute(".").unwrap_or_else(|_| PathBuf::from("."));
    let root = crate::config::nearest_project_folder(&current).unwrap_or(&current).to_path_buf();
    let folder = explicit.map_or_else(|| root.join(FOLDER), Path::to_path_buf);
    (folder, root)
}

/// The cache file of the project at `root` in the cache folder `folder`.
fn cache_file(folder: &Path, root: &Path) -> PathBuf {
    let name = format!("{:016x}", xxh3_64(root.as_os_str().as_encoded_bytes()));
    folder.join(env!("CARGO_PKG_VERSION")).join(name)
}

/// The folder listings of configuration names that the last run kept, next to the cache file
/// (see `config::KnownListings`): read before the walk, which needs them from its first
/// folder on, so they are a file of their own, a small one, not part of the cache file, which
/// is read while the walk runs.
pub struct Listings {
    file: PathBuf,
}

impl Listings {
    /// The listings of the project of the current folder (see [`Cache::open`]), and what they
    /// hold: nothing when there are none or they cannot be trusted.
    pub fn open(explicit: Option<&Path>) -> (Self, KnownListings) {
        // A listing per folder: a file larger than this was not written by loopwise.
        const LIMIT: u64 = 64 << 20;
        let (folder, root) = folder_and_root(explicit);
        let mut file = cache_file(&folder, &root).into_os_string();
        file.push(".folders");
        let file = PathBuf::from(file);
        let known = crate::files::read_regular(&file, Some(LIMIT)).ok().and_then(|bytes| decode(&bytes));
        (Self { file }, known.unwrap_or_default())
    }

    /// Writes `listings` atomically, as the cache file is written.
    pub fn write(&self, listings: &KnownListings) -> std::io::Result<()> {
        write_atomically(&self.file, listings)
    }
}

/// Writes `value` with its header to a temporary file in `file`'s folder and renames that into
/// place: a concurrent run sees the old file or the new one, never half of one.
fn write_atomically(file: &Path, value: &impl Serialize) -> std::io::Result<()> {
    let Some(folder) = file.parent() else { return Ok(()) };
    create_folder(folder)?;
    let payload = postcard::to_stdvec(value).map_err(std::io::Error::other)?;
    let mut temporary = tempfile::NamedTempFile::new_in(folder)?;
    temporary.write_all(&encode_header(&payload))?;
    temporary.write_all(&payload)?;
    temporary.persist(file).map_err(|error| error.error)?;
    Ok(())
}

/// Creates the cache folder with a `.gitignore` that keeps it out of version control and a
/// `CACHEDIR.TAG` that keeps it out of backups, as ruff does.
fn create_folder(folder: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(folder)?;
    let Some(top) = folder.parent() else { return Ok(()) };
    let ignore = top.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(&ignore, "# Automatically created by loopwise.\n*\n")?;
    }
    let tag = top.join("CACHEDIR.TAG");
    if !tag.exists() {
        std::fs::write(
            &tag,
            "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by loopwise.\n",
        )?;
    }
    Ok(())
}

/// The header: magic, the build id's length and bytes, the payload's length and checksum.
fn encode_header(payload: &[u8]) -> Vec<u8> {
    let id = build_id().as_bytes();
    let mut header = Vec::with_capacity(32 + id.len());
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&u32::try_from(id.len()).unwrap_or(0).to_le_bytes());
    header.extend_from_slice(id);
    header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    header.extend_from_slice(&xxh3_64(payload).to_le_bytes());
    header
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let (length, rest) = rest.split_at_checked(4)?;
    let length = usize::try_from(u32::from_le_bytes(length.try_into().ok()?)).ok()?;
    let (id, rest) = rest.split_at_checked(length)?;
    if id != build_id().as_bytes() {
        return None;
    }
    let (length, rest) = rest.split_at_checked(8)?;
    let (checksum, payload) = rest.split_at_checked(8)?;
    if u64::from_le_bytes(length.try_into().ok()?) != payload.len() as u64
        || u64::from_le_bytes(checksum.try_into().ok()?) != xxh3_64(payload)
    {
        return None;
    }
    postcard::from_bytes(payload).ok()
}

fn module_state(workspace: &Workspace, name: String, with_facts: bool) -> StoredModule {
    let file = workspace.find_file(&name);
    // The stamp is taken after the summary was read: a file changed in between has a time at
    // or after this run's start, so the next run does not trust its stamp and re-reads it.
    let summary = workspace.summary(&name).map(|summary| summary_hash(&summary));
    let facts = with_facts.then(|| facts_hash(workspace, &name));
    let file = file.and_then(|file| Some((file.to_str()?.to_string(), Stamp::of(&file)?)));
    StoredModule { name, file, summary, facts }
}

fn severity_code(severity: Severity) -> u8 {
    match severity {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
        Severity::Hint => 3,
    }
}

fn severity_of(code: u8) -> Option<Severity> {
    [Severity::Error, Severity::Warning, Severity::Info, Severity::Hint].get(usize::from(code)).copied()
}

fn applicability_code(applicability: Applicability) -> u8 {
    match applicability {
        Applicability::DisplayOnly => 0,
        Applicability::Unsafe => 1,
        Applicability::Safe => 2,
    }
}

fn applicability_of(code: u8) -> Option<Applicability> {
    [Applicability::DisplayOnly, Applicability::Unsafe, Applicability::Safe].get(usize::from(code)).copied()
}

fn store_fix(fix: &Fix) -> StoredFix {
    StoredFix {
        title: fix.title().to_string(),
        applicability: applicability_code(fix.applicability()),
        edits: fix.edits().iter().map(|edit| (edit.range.start, edit.range.end, edit.content.clone())).collect(),
    }
}

fn restore_fix(fix: &StoredFix) -> Option<Fix> {
    let edits = fix
        .edits
        .iter()
        .map(|(start, end, content)| Edit::replacement(content.clone(), TextRange::new(*start, *end)))
        .collect();
    Fix::from_parts(fix.title.clone(), applicability_of(fix.applicability)?, edits)
}

fn store(diagnostic: &Diagnostic) -> StoredDiagnostic {
    StoredDiagnostic {
        rule: diagnostic.rule.meta().code.to_string(),
        range: (diagnostic.range.start, diagnostic.range.end),
        message: diagnostic.message.clone(),
        severity: severity_code(diagnostic.severity),
        fix: diagnostic.fix.as_ref().map(store_fix),
        alternatives: diagnostic.alternatives.iter().map(store_fix).collect(),
        statement_start: diagnostic.statement_start,
    }
}

fn restore(diagnostic: &StoredDiagnostic) -> Option<Diagnostic> {
    Some(Diagnostic {
        rule: Rule::from_written_code(&diagnostic.rule)?,
        range: TextRange::new(diagnostic.range.0, diagnostic.range.1),
        message: diagnostic.message.clone(),
        severity: severity_of(diagnostic.severity)?,
        fix: match &diagnostic.fix {
            Some(fix) => Some(restore_fix(fix)?),
            None => None,
        },
        alternatives: diagnostic.alternatives.iter().map(restore_fix).collect::<Option<_>>()?,
        statement_start: diagnostic.statement_start,
        // Other files' places are for editors only, which do not read this cache.
        related: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notebooks_top_level_await_is_part_of_the_key() {
        let plain = LintSettings::default();
        let notebook = LintSettings { top_level_await: true, ..LintSettings::default() };
        assert_ne!(fingerprint(&plain), fingerprint(&notebook));
        assert_eq!(fingerprint(&plain), fingerprint(&LintSettings::default()));
    }
}
