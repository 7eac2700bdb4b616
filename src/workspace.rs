//! The workspace: the dotted names of Python files and the summaries of the modules they
//! import, read from disk lazily and cached, with open editor documents taking precedence.
//!
//! Owns file lookups for modules (`root/a/b.py`, `root/a/b/__init__.py`); the engine only sees
//! it as a [`ModuleSource`]. Only modules that some checked file asks about are ever read, so
//! a whole-project check does not parse the project twice. Counts generations, and which
//! module each one changed, so that a caller can tell whether the answers an analysis got about
//! the modules it asked for still hold.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use dashmap::DashMap;

use crate::analysis::index::{HelperFacts, ModuleSource, ModuleSummary, summarize};
use crate::analysis::source::parse;

/// A file's place in the module tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleName {
    /// `pkg.sub.mod`; for `pkg/__init__.py`, `pkg`.
    pub name: String,
    /// The file is a package's `__init__.py`.
    pub is_package: bool,
    /// The folder the dotted name starts from.
    pub root: PathBuf,
}

/// How the files of one folder are named as modules ([`Workspace::folder_modules`]).
#[derive(Debug)]
pub struct FolderModules {
    /// The prefix and root of its plain modules: `None` below the file system's root.
    plain: Option<(String, PathBuf)>,
    /// The folder's own name and root, for its `__init__.py`.
    package: Option<(String, PathBuf)>,
    /// Whether the root of `plain` and of `package` was made known: only a root a file is
    /// named from is one (a folder's parent is not a root because the folder is a package).
    rooted: [OnceLock<()>; 2],
}

/// Module summaries for the roots the workspace knows.
#[derive(Default)]
pub struct Workspace {
    roots: RwLock<Vec<PathBuf>>,
    /// Read from disk: `None` when no file defines the module.
    on_disk: DashMap<String, Option<Arc<ModuleSummary>>, foldhash::fast::RandomState>,
    /// From open documents, which win over the disk.
    documents: DashMap<String, Arc<ModuleSummary>, foldhash::fast::RandomState>,
    /// Folder -> the dotted name its modules start with and the root it hangs from (`None`
    /// for the file system's root): each folder's `__init__.py` looked for once.
    folders: DashMap<OsString, Option<(String, PathBuf)>, foldhash::fast::RandomState>,
    /// Folders known to hold a regular `__init__.py` (a walk saw it): no need to ask the file
    /// system, which for a whole project was one lookup per folder.
    packages: RwLock<HashSet<PathBuf, foldhash::fast::RandomState>>,
    /// Root -> the names of its entries (`None`: it cannot be listed).
    root_entries: DashMap<PathBuf, Arc<Option<HashSet<OsString>>>, foldhash::fast::RandomState>,
    /// Counts the changes that may change an answer: an open document's exports, a close, a
    /// change on disk. (Reading a file for the first time answers what it always would.)
    generation: AtomicU64,
    /// Which answers each generation changed. Written together with `generation`, under its
    /// lock: a reader that sees a generation sees what it changed.
    changes: Mutex<Changes>,
    /// Module -> its [`HelperFacts`], with the file and the stamp they were read at: taken
    /// only when an importer asks (they cost the module's semantic model), and read again
    /// when the file changed.
    facts: DashMap<String, (PathBuf, FileStamp, Arc<HelperFacts>), foldhash::fast::RandomState>,
    /// The helper facts of open documents, which win over the disk's: kept only for modules
    /// some analysis asked the facts of ([`Workspace::wants_facts`]).
    document_facts: DashMap<String, Arc<HelperFacts>, foldhash::fast::RandomState>,
    /// The modules whose helper facts an analysis asked for.
    facts_wanted: DashMap<String, (), foldhash::fast::RandomState>,
}

/// When a file was last changed, and its size: a file with the same stamp is taken to hold
/// the same text.
pub type FileStamp = (Option<std::time::SystemTime>, u64);

/// `path`'s [`FileStamp`], when it is a file that can be looked at.
pub fn file_stamp(path: &Path) -> Option<FileStamp> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok(), metadata.len()))
}

/// The generations at which answers changed: per module, and for all of them at once.
#[derive(Default)]
struct Changes {
    /// Module -> the last generation its summary changed at.
    modules: HashMap<String, u64, foldhash::fast::RandomState>,
    /// The last generation at which any answer may have changed (files changed on disk, and
    /// which is not known).
    everything: u64,
}

/// What a change on disk of a Python file changed of the workspace's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskChange {
    /// No answer given so far: the module was never read, an open document answers for it,
    /// or its summary is the same.
    Nothing,
    /// The summary of this module.
    Module(String),
    /// The module tree itself (a package's `__init__.py` came or went): any answer.
    Everything,
}

impl Workspace {
    pub fn new(roots: impl IntoIterator<Item = PathBuf>) -> Self {
        let workspace = Self::default();
        for root in roots {
            workspace.add_root(&root);
        }
        workspace
    }

    /// Makes modules under `root` known (idempotent).
    pub fn add_root(&self, root: &Path) {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        // Every checked file calls this: the common case, a known root, takes no write lock.
        if self.roots.read().unwrap_or_else(PoisonError::into_inner).binary_search(&root).is_ok() {
            return;
        }
        let mut roots = self.roots.write().unwrap_or_else(PoisonError::into_inner);
        // Sorted: which root a module is found under when several define it must not depend on
        // the order files were visited in (threads race to add roots).
        if let Err(index) = roots.binary_search(&root) {
            roots.insert(index, root);
            // A module missing before may exist under the new root.
            self.on_disk.retain(|_, summary| summary.is_some());
        }
    }

    /// The dotted module name of a Python file, adding the root it hangs from: its folders up
    /// to the first one without an `__init__.py`, as the import system would see it from that
    /// folder. Each folder is looked at once.
    pub fn module_of(&self, path: &Path) -> Option<ModuleName> {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.module_in(&self.folder_modules(path.parent()?), path.file_stem()?.to_str()?)
    }

    /// How the modules of the files in the absolute `folder` are named: a walk names many
    /// files per folder, and this is the part they share.
    pub fn folder_modules(&self, folder: &Path) -> FolderModules {
        // A package's name is its folder's, even when (unsaved) there is no `__init__.py` yet.
        let package = (|| {
            let name = folder.file_name()?.to_str()?;
            let (prefix, root) = self.folder_prefix(folder.parent()?)?;
            Some((if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }, root))
        })();
        FolderModules { plain: self.folder_prefix(folder), package, rooted: [OnceLock::new(), OnceLock::new()] }
    }

    /// The module a file of `folder` with this stem is, adding the root it hangs from.
    pub fn module_in(&self, folder: &FolderModules, stem: &str) -> Option<ModuleName> {
        let is_package = stem == "__init__";
        let (index, (prefix, root)) =
            if is_package { (1, folder.package.as_ref()?) } else { (0, folder.plain.as_ref()?) };
        folder.rooted[index].get_or_init(|| self.add_root(root));
        let name = match (is_package, prefix.is_empty()) {
            (true, _) => prefix.clone(),
            (false, true) => stem.to_string(),
            (false, false) => format!("{prefix}.{stem}"),
        };
        Some(ModuleName { name, is_package, root: root.clone() })
    }

    /// The dotted name of the package `folder` is, and the root it hangs from; `("", folder)`
    /// when it is not a package.
    fn folder_prefix(&self, folder: &Path) -> Option<(String, PathBuf)> {
        // Keyed by the path's bytes: `Path`'s own hash takes it apart at each separator.
        if let Some(known) = self.folders.get(folder.as_os_str()) {
            return known.clone();
        }
        let is_package = self.packages.read().unwrap_or_else(PoisonError::into_inner).contains(folder)
            || folder.join("__init__.py").is_file();
        let found = if is_package {
            (|| {
                let name = folder.file_name()?.to_str()?;
                let (prefix, root) = self.folder_prefix(folder.parent()?)?;
                Some((if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }, root))
            })()
        } else {
            Some((String::new(), folder.to_path_buf()))
        };
        self.folders.insert(folder.as_os_str().to_os_string(), found.clone());
        found
    }

    /// Notes folders (absolute) that a walk found a regular `__init__.py` in.
    pub fn note_packages(&self, folders: impl IntoIterator<Item = PathBuf>) {
        self.packages.write().unwrap_or_else(PoisonError::into_inner).extend(folders);
    }

    /// Records the summary of an open document whose text is `text`; returns whether it
    /// differs from what was known, so the caller can re-check the files that may depend on it.
    pub fn set_document(&self, module: &str, summary: ModuleSummary, text: &str) -> bool {
        self.set_document_generation(module, summary, text).is_some()
    }

    /// [`Workspace::set_document`], returning, when the summary changed, the generation it
    /// changed from (the new one is the next).
    pub fn set_document_generation(&self, module: &str, summary: ModuleSummary, text: &str) -> Option<u64> {
        let previous = if let Some(known) = self.known_summary(module) {
            known
        } else {
            let file = self.find_file(module);
            // A document opened as it was saved: its file's summary is its own, and parsing the
            // file to find that out doubled the time to open a large one.
            if file
                .as_deref()
                .is_some_and(|file| crate::files::read_regular(file, None).is_ok_and(|saved| saved == text.as_bytes()))
            {
                let summary = Arc::new(summary);
                self.on_disk.entry(module.to_string()).or_insert_with(|| Some(Arc::clone(&summary)));
                self.documents.insert(module.to_string(), summary);
                return None;
            }
            self.summary_in_file(module, file)
        };
        let changed = !same_answers(previous.as_deref(), Some(&summary));
        self.documents.insert(module.to_string(), Arc::new(summary));
        changed.then(|| self.next_generation(Some(module)))
    }

    /// Forgets an open document (closed): the disk is the truth again.
    pub fn close_document(&self, module: &str) {
        self.documents.remove(module);
        self.document_facts.remove(module);
        self.on_disk.remove(module);
        self.next_generation(Some(module));
    }

    /// Whether an analysis asked for `module`'s helper facts: an open document of it then
    /// keeps them current ([`Workspace::set_document_facts`]).
    pub fn wants_facts(&self, module: &str) -> bool {
        self.facts_wanted.contains_key(module)
    }

    /// The helper facts of `module`'s open document; whether they differ from what was
    /// answered before (then the analyses that asked are out of date).
    pub fn set_document_facts(&self, module: &str, facts: HelperFacts) -> bool {
        let before = self.document_facts.get(module).map(|known| Arc::clone(&known));
        let changed = match before {
            Some(before) => *before != facts,
            // Answered from the disk until now.
            None => self.facts.get(module).is_none_or(|known| *known.2 != facts),
        };
        self.document_facts.insert(module.to_string(), Arc::new(facts));
        if changed {
            // The findings that read the old facts hold no longer (as for a new summary).
            self.next_generation(Some(module));
        }
        changed
    }

    /// Changes whenever an answer may have: findings that consulted the workspace at one
    /// generation hold at that generation only, unless [`Workspace::unchanged_since`] says the
    /// modules they asked about kept their answers.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether every one of `modules` answers at the current generation what it answered at
    /// `generation`: an open or an edit elsewhere leaves the findings of a document that never
    /// asked about that module as they were.
    pub fn unchanged_since(&self, generation: u64, modules: &HashSet<String>) -> bool {
        let changes = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        changes.everything <= generation
            && modules.iter().all(|module| changes.modules.get(module).is_none_or(|changed| *changed <= generation))
    }

    /// Moves to the next generation, which changes the answers for `module` (`None`: for any
    /// module); returns the generation it moved from.
    fn next_generation(&self, module: Option<&str>) -> u64 {
        let mut changes = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        let from = self.generation.load(Ordering::Acquire);
        match module {
            Some(module) => {
                changes.modules.insert(module.to_string(), from + 1);
            }
            None => changes.everything = from + 1,
        }
        self.generation.store(from + 1, Ordering::Release);
        from
    }

    /// Forgets what was read from disk (files changed outside the editor).
    pub fn invalidate(&self) {
        self.next_generation(None);
        self.on_disk.clear();
        self.folders.clear();
        self.packages.write().unwrap_or_else(PoisonError::into_inner).clear();
        self.root_entries.clear();
    }

    /// How many modules are known (read or open).
    pub fn len(&self) -> usize {
        self.on_disk.iter().filter(|entry| entry.value().is_some()).count() + self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Python file at `path` was created (`created_or_deleted`), deleted, or changed on
    /// disk: forgets what was read of it, and says which answers that changed. Reads the file
    /// again when an answer was given from it, to tell a save that changed nothing apart.
    pub fn file_changed_on_disk(&self, path: &Path, created_or_deleted: bool) -> DiskChange {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if created_or_deleted {
            if path.file_stem().is_some_and(|stem| stem == "__init__") {
                // The folder became a package or stopped being one: its modules' names changed.
                self.invalidate();
                return DiskChange::Everything;
            }
            // A root's listing may have gained or lost the file's name.
            self.root_entries.clear();
        }
        let Some(name) = self.module_of(&path) else { return DiskChange::Nothing };
        let before = self.on_disk.get(&name.name).map(|known| known.clone());
        self.on_disk.remove(&name.name);
        // An open document answers for its module until it closes, when the disk is read again.
        let Some(before) = before.filter(|_| !self.documents.contains_key(&name.name)) else {
            return DiskChange::Nothing;
        };
        let after = self.summary_in_file(&name.name, self.find_file(&name.name));
        // The helper facts read from the file before (if any) may differ though the summary
        // does not: a helper's body was edited.
        let facts_before = self.facts.remove(&name.name).map(|(_, (_, _, facts))| facts);
        let facts_changed =
            facts_before.is_some_and(|before| self.helper_facts(&name.name).is_none_or(|after| *after != *before));
        if same_answers(before.as_deref(), after.as_deref()) && !facts_changed {
            return DiskChange::Nothing;
        }
        self.next_generation(Some(&name.name));
        DiskChange::Module(name.name)
    }

    /// Reads and summarizes `path` as module `name` into the cache (for a background warm-up).
    pub fn load_file(&self, path: &Path) {
        let Some(name) = self.module_of(path) else { return };
        // An open document's summary comes from its own text.
        if self.on_disk.contains_key(&name.name) || self.documents.contains_key(&name.name) {
            return;
        }
        let summary = read_summary(path, &name);
        self.on_disk.insert(name.name, summary);
    }

    /// Whether `root` has an entry `name` or `name.py` (true when it cannot be listed).
    fn root_may_hold(&self, root: &Path, name: &str) -> bool {
        let known = self.root_entries.get(root).map(|known| Arc::clone(&known));
        let listing = known.unwrap_or_else(|| {
            let listing = Arc::new(std::fs::read_dir(root).ok().map(|entries| {
                entries.filter_map(Result::ok).map(|entry| entry.file_name()).collect::<HashSet<OsString>>()
            }));
            self.root_entries.insert(root.to_path_buf(), Arc::clone(&listing));
            listing
        });
        listing
            .as_ref()
            .as_ref()
            .is_none_or(|names| names.contains(OsStr::new(name)) || names.contains(OsStr::new(&format!("{name}.py"))))
    }

    /// The file that defines `module` under the known roots, if any.
    pub fn find_file(&self, module: &str) -> Option<PathBuf> {
        let relative: PathBuf = module.split('.').collect();
        let first = module.split('.').next().unwrap_or(module);
        let roots = self.roots.read().unwrap_or_else(PoisonError::into_inner);
        roots.iter().find_map(|root| {
            // Most roots do not hold the module's first part at all: one listing of the root
            // answers that for every module, instead of two file lookups per module and root.
            if !self.root_may_hold(root, first) {
                return None;
            }
            let file = root.join(&relative).with_extension("py");
            if file.is_file() {
                return Some(file);
            }
            let package = root.join(&relative).join("__init__.py");
            package.is_file().then_some(package)
        })
    }
}

/// Whether two summaries (`None`: no such module) answer every question alike.
fn same_answers(one: Option<&ModuleSummary>, other: Option<&ModuleSummary>) -> bool {
    match (one, other) {
        (None, None) => true,
        (Some(one), Some(other)) => one.functions == other.functions && one.imports == other.imports,
        _ => false,
    }
}

fn read_summary(path: &Path, name: &ModuleName) -> Option<Arc<ModuleSummary>> {
    // Only a regular file: a FIFO in the workspace would stop the index for good, and a link to
    // `/dev/zero` would fill the memory.
    let source = String::from_utf8(crate::files::read_regular(path, None).ok()?).ok()?;
    // Only definitions at the top of the module matter; a file without `def` has none. Read
    // as the engine reads every text, so that its summary is the one an open document gets.
    let source = crate::analysis::newlines::normalized(&source);
    let tree = parse(&source);
    Some(Arc::new(summarize(&source, &tree, &name.name, name.is_package)))
}

impl Workspace {
    /// What is known of `module` without reading anything: `Some(None)` when it is known to be
    /// missing, `None` when it was never looked for.
    pub fn known_summary(&self, module: &str) -> Option<Option<Arc<ModuleSummary>>> {
        if let Some(document) = self.documents.get(module) {
            return Some(Some(Arc::clone(&document)));
        }
        self.on_disk.get(module).map(|known| known.clone())
    }

    /// Records the summary of `module` read from `file`, where [`Workspace::find_file`] finds
    /// it, made from a parse done anyway (to check the file): what reading it would give.
    pub fn offer_summary(&self, module: &str, summary: ModuleSummary) {
        self.on_disk.entry(module.to_string()).or_insert_with(|| Some(Arc::new(summary)));
    }

    /// Records the helper facts of `module`, made by a check of its file `file` (stamped
    /// `stamp` before it was read): what [`ModuleSource::helper_facts`] would read.
    pub fn offer_facts(&self, module: &str, file: &Path, stamp: FileStamp, mut facts: HelperFacts) {
        facts.path = Some(file.to_path_buf());
        self.facts.entry(module.to_string()).or_insert_with(|| (file.to_path_buf(), stamp, Arc::new(facts)));
    }
}

impl Workspace {
    /// The summary of `module`, read from `file` (where [`Workspace::find_file`] found it) unless
    /// it is already known, for a caller that had to find the file anyway.
    pub fn summary_in_file(&self, module: &str, file: Option<PathBuf>) -> Option<Arc<ModuleSummary>> {
        if let Some(known) = self.known_summary(module) {
            return known;
        }
        // Read outside any map guard: parsing takes time and other threads look up too.
        let summary = file.and_then(|file| {
            let name =
                ModuleName { name: module.to_string(), is_package: is_package_file(&file), root: PathBuf::new() };
            read_summary(&file, &name)
        });
        self.on_disk.insert(module.to_string(), summary.clone());
        summary
    }
}

/// Whether a module's file is its package's `__init__.py`.
pub fn is_package_file(file: &Path) -> bool {
    file.file_name().is_some_and(|name| name == "__init__.py")
}

impl ModuleSource for Workspace {
    fn summary(&self, module: &str) -> Option<Arc<ModuleSummary>> {
        if let Some(known) = self.known_summary(module) {
            return known;
        }
        self.summary_in_file(module, self.find_file(module))
    }

    /// From the module's open document when an analysis of it found them, else from its file
    /// as it is on disk.
    fn helper_facts(&self, module: &str) -> Option<Arc<HelperFacts>> {
        self.facts_wanted.insert(module.to_string(), ());
        if let Some(open) = self.document_facts.get(module) {
            return Some(Arc::clone(&open));
        }
        let file = self.find_file(module)?;
        let stamp = file_stamp(&file)?;
        if let Some(known) = self.facts.get(module)
            && known.0 == file
            && known.1 == stamp
        {
            return Some(Arc::clone(&known.2));
        }
        // Read outside any map guard, as summaries are.
        let text = String::from_utf8(crate::files::read_regular(&file, None).ok()?).ok()?;
        let mut facts = crate::analysis::helper_facts(&text, module, is_package_file(&file));
        facts.path = Some(file.clone());
        let facts = Arc::new(facts);
        self.facts.insert(module.to_string(), (file, stamp, Arc::clone(&facts)));
        Some(facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::index::{FunctionKind, function_kind_of};

    fn write(root: &Path, name: &str, text: &str) -> PathBuf {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("folders");
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn module_names_follow_init_files() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let root = folder.path();
        write(root, "pkg/__init__.py", "");
        let module = write(root, "pkg/sub/mod.py", "");
        write(root, "pkg/sub/__init__.py", "");
        let init = root.join("pkg/sub/__init__.py");
        let script = write(root, "scripts/run.py", "");
        let workspace = Workspace::default();
        let name = workspace.module_of(&module).expect("module name");
        assert_eq!((name.name.as_str(), name.is_package, name.root.as_path()), ("pkg.sub.mod", false, root));
        let name = workspace.module_of(&init).expect("package name");
        assert_eq!((name.name.as_str(), name.is_package), ("pkg.sub", true));
        assert_eq!(workspace.module_of(&script).expect("script").name, "run");
        // A package without its `__init__.py` yet (an unsaved editor buffer) is named by its folder.
        let unsaved = workspace.module_of(&root.join("pkg/new/__init__.py")).expect("unsaved package");
        assert_eq!((unsaved.name.as_str(), unsaved.is_package, unsaved.root.as_path()), ("pkg.new", true, root));
        assert_eq!(workspace.module_of(&root.join("pkg/__init__.py")).expect("top package").name, "pkg");
    }

    #[test]
    fn summaries_load_lazily_and_documents_win() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let root = folder.path();
        write(root, "pkg/__init__.py", "from .client import fetch\n");
        let client = write(root, "pkg/client.py", "async def fetch(): ...\n");
        let workspace = Workspace::new([root.to_path_buf()]);
        assert!(workspace.is_empty());
        assert_eq!(function_kind_of(&workspace, "pkg.fetch"), Some(FunctionKind::Coroutine));
        assert_eq!(workspace.len(), 2, "only the modules asked about were read");
        let edited = "def fetch(): ...\n";
        let name = workspace.module_of(&client).expect("name");
        assert!(workspace.set_document(&name.name, summarize(edited, &parse(edited), &name.name, false), edited));
        assert_eq!(function_kind_of(&workspace, "pkg.fetch"), Some(FunctionKind::Sync));
        assert!(
            !workspace.set_document(&name.name, summarize(edited, &parse(edited), &name.name, false), edited),
            "unchanged"
        );
        workspace.close_document(&name.name);
        assert_eq!(function_kind_of(&workspace, "pkg.fetch"), Some(FunctionKind::Coroutine));
    }

    #[test]
    fn a_document_opened_as_saved_changes_nothing_and_an_edited_one_does() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let root = folder.path();
        let saved = "async def fetch(): ...\n";
        let client = write(root, "client.py", saved);
        let workspace = Workspace::new([root.to_path_buf()]);
        let name = workspace.module_of(&client).expect("name");
        let generation = workspace.generation();
        assert!(!workspace.set_document(&name.name, summarize(saved, &parse(saved), &name.name, false), saved));
        assert_eq!(workspace.generation(), generation, "nothing that depends on it changed");
        assert_eq!(function_kind_of(&workspace, "client.fetch"), Some(FunctionKind::Coroutine));
        workspace.close_document(&name.name);
        let edited = "def fetch(): ...\n";
        assert!(workspace.set_document(&name.name, summarize(edited, &parse(edited), &name.name, false), edited));
        assert_eq!(function_kind_of(&workspace, "client.fetch"), Some(FunctionKind::Sync));
    }

    #[test]
    fn a_change_of_one_module_leaves_the_answers_about_the_others_as_they_were() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let root = folder.path();
        let client = write(root, "client.py", "def fetch(): ...\n");
        let workspace = Workspace::new([root.to_path_buf()]);
        let name = workspace.module_of(&client).expect("name");
        let before = workspace.generation();
        let asked_client = HashSet::from(["client".to_string()]);
        let asked_other = HashSet::from(["other".to_string()]);
        // An unsaved document whose module no file defines: a change, of that module alone.
        let text = "async def run(): ...\n";
        assert!(workspace.set_document("scratch", summarize(text, &parse(text), "scratch", false), text));
        assert!(workspace.unchanged_since(before, &asked_client));
        assert!(!workspace.unchanged_since(before, &HashSet::from(["scratch".to_string()])));
        let edited = "async def fetch(): ...\n";
        assert!(workspace.set_document(&name.name, summarize(edited, &parse(edited), &name.name, false), edited));
        assert!(!workspace.unchanged_since(before, &asked_client));
        assert!(workspace.unchanged_since(workspace.generation(), &asked_client), "from now on it holds");
        assert!(workspace.unchanged_since(before, &asked_other));
        let now = workspace.generation();
        workspace.invalidate();
        assert!(!workspace.unchanged_since(now, &asked_other), "every answer may have changed");
    }

    #[test]
    fn a_file_changed_on_disk_changes_its_module_only_when_an_answer_came_from_it_and_differs() {
        let folder = tempfile::tempdir().expect("temporary folder");
        let root = folder.path();
        let client = write(root, "client.py", "def fetch(): ...\n");
        let unread = write(root, "unread.py", "def helper(): ...\n");
        let workspace = Workspace::new([root.to_path_buf()]);
        assert_eq!(function_kind_of(&workspace, "client.fetch"), Some(FunctionKind::Sync));
        let generation = workspace.generation();
        // Saved again as it was: nothing changed.
        write(root, "client.py", "def fetch(): ...\n\n\n# a comment\n");
        assert_eq!(workspace.file_changed_on_disk(&client, false), DiskChange::Nothing);
        // No answer came from a file no one asked about.
        write(root, "unread.py", "async def helper(): ...\n");
        assert_eq!(workspace.file_changed_on_disk(&unread, false), DiskChange::Nothing);
        assert_eq!(workspace.generation(), generation);
        write(root, "client.py", "async def fetch(): ...\n");
        assert_eq!(workspace.file_changed_on_disk(&client, false), DiskChange::Module("client".to_string()));
        assert_eq!(function_kind_of(&workspace, "client.fetch"), Some(FunctionKind::Coroutine));
        // A module looked for and missing, then created.
        assert_eq!(function_kind_of(&workspace, "later.fetch"), None);
        let later = write(root, "later.py", "async def fetch(): ...\n");
        assert_eq!(workspace.file_changed_on_disk(&later, true), DiskChange::Module("later".to_string()));
        assert_eq!(function_kind_of(&workspace, "later.fetch"), Some(FunctionKind::Coroutine));
        std::fs::remove_file(&later).expect("remove");
        assert_eq!(workspace.file_changed_on_disk(&later, true), DiskChange::Module("later".to_string()));
        assert_eq!(function_kind_of(&workspace, "later.fetch"), None);
        let init = write(root, "pkg/__init__.py", "");
        assert_eq!(workspace.file_changed_on_disk(&init, true), DiskChange::Everything);
    }
}
