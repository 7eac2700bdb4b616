//! The `LanguageServer` implementation: capability negotiation, document sync, diagnostics
//! (pushed or pulled), code actions (quick fixes, `# noqa`, fix-all), hovers, settings, and the
//! panic guard around every handler.

use std::collections::HashSet;
use std::fmt::Display;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use futures::FutureExt;
use ropey::Rope;
use serde::Deserialize;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOptions, CodeActionOrCommand, CodeActionParams, CodeActionProviderCapability,
    CodeActionResponse, DiagnosticOptions, DiagnosticServerCapabilities, DidChangeConfigurationParams,
    DidChangeNotebookDocumentParams, DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidChangeWatchedFilesRegistrationOptions, DidCloseNotebookDocumentParams, DidCloseTextDocumentParams,
    DidOpenNotebookDocumentParams, DidOpenTextDocumentParams, DidSaveNotebookDocumentParams, DocumentDiagnosticParams,
    DocumentDiagnosticReport, DocumentDiagnosticReportResult, FileChangeType, FileSystemWatcher,
    FullDocumentDiagnosticReport, GlobPattern, Hover, HoverParams, HoverProviderCapability, InitializeParams,
    InitializeResult, InitializedParams, MarkupKind, MessageType, NotebookCellSelector, NotebookDocumentSyncOptions,
    NotebookSelector, OneOf, PositionEncodingKind, ProgressToken, Registration, RelatedFullDocumentDiagnosticReport,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextEdit, Uri, WorkDoneProgressCreateParams, request::WorkDoneProgressCreate,
};
use tower_lsp_server::{Client, LanguageServer};

use crate::analysis::incremental::{Analysed, Incremental};
use crate::analysis::index::{ModuleSource, ModuleSummary, summarize};
use crate::analysis::{self, Applicability, LintSettings, SyntaxErrors, WorkspaceView, fixer, newlines, noqa};
use crate::config::{ConfigError, Options, Resolver};
use crate::position::{self, PositionEncoding};
use crate::workspace::{DiskChange, Workspace};

use super::actions::{self, FixAllData};
use super::convert;
use super::documents::{ChangeProblem, Documents, Finding, Snapshot};
use super::notebooks::{self, CellReport, NotebookSnapshot, Notebooks};

/// Files whose change may change the settings of any open document.
/// Configuration files, and Python files whose summaries the workspace index caches.
/// loopwise's own configuration files, the files its project facts come from (target version,
/// pytest configuration; conftest.py and setup.py are among the Python files), and Python
/// files for the workspace index.
const CONFIG_FILE_GLOBS: [&str; 11] = [
    "**/pyproject.toml",
    "**/loopwise.toml",
    "**/.loopwise.toml",
    "**/ruff.toml",
    "**/.ruff.toml",
    "**/setup.cfg",
    "**/pytest.ini",
    "**/.pytest.ini",
    "**/tox.ini",
    "**/requirements*.txt",
    "**/*.py",
];

/// Whether a change of the file at `path` may change any document's settings: a configuration
/// file (one of [`CONFIG_FILE_GLOBS`]), or a Python file project facts are read from.
fn is_settings_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else { return false };
    matches!(
        name,
        "pyproject.toml"
            | "loopwise.toml"
            | ".loopwise.toml"
            | "ruff.toml"
            | ".ruff.toml"
            | "setup.cfg"
            | "pytest.ini"
            | ".pytest.ini"
            | "tox.ini"
            | "conftest.py"
            | "setup.py"
    ) || (name.starts_with("requirements") && path.extension().is_some_and(|extension| extension == "txt"))
}

/// Where the test seam makes the server panic.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanicSeam {
    /// The next analysis or fix-all (on a blocking thread).
    Analysis,
    /// The next handler (request or notification), before it does anything.
    Handler,
}

/// What the negotiation and the settings decided; replaced as a whole, read by cloning.
// The flags are independent client capabilities, not states of one machine.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone)]
struct Session {
    encoding: PositionEncoding,
    /// The client pulls diagnostics (`textDocument/diagnostic`); the server must not push.
    pull_diagnostics: bool,
    refresh_diagnostics: bool,
    watch_config_files: bool,
    resolver: Arc<Resolver>,
    /// Invalid editor settings, shown once the client is ready for messages.
    settings_error: Option<ConfigError>,
    /// The client shows `$/progress` for server-initiated work.
    work_done_progress: bool,
    /// The workspace folders, whose modules are indexed in the background.
    folders: Vec<PathBuf>,
    /// The client checks the version of the document a workspace edit was made for.
    document_changes: bool,
    /// The client resolves a code action's edit lazily (`codeAction/resolve`), keeping `data`.
    resolve_edits: bool,
    /// The format of hover text the client prefers.
    hover_kind: MarkupKind,
    /// The `showSyntaxErrors` setting: publish `invalid-syntax` findings (off by default, as
    /// another Python server usually shows them).
    show_syntax_errors: bool,
}

impl Default for Session {
    fn default() -> Self {
        Self {
            encoding: PositionEncoding::Utf16,
            pull_diagnostics: false,
            refresh_diagnostics: false,
            watch_config_files: false,
            resolver: Arc::new(Resolver::new(Options::default())),
            settings_error: None,
            work_done_progress: false,
            folders: Vec::new(),
            document_changes: false,
            resolve_edits: false,
            hover_kind: MarkupKind::Markdown,
            show_syntax_errors: false,
        }
    }
}

/// The server's state, shared by the backend and (for tests) whoever built the service.
pub struct State {
    client: Client,
    documents: Documents,
    notebooks: Notebooks,
    session: RwLock<Session>,
    /// Held from the "is this still the latest text?" check until the notification is queued,
    /// so an older analysis can never be published after a newer one.
    publish: tokio::sync::Mutex<()>,
    /// Configuration errors already shown, so a broken file does not pop up on every keystroke.
    shown_errors: Mutex<HashSet<String>>,
    panic_seam: Mutex<Option<PanicSeam>>,
    /// The open documents to lint again because a module they asked about changed.
    relint: Mutex<PendingRelint>,
    /// Module summaries of the workspace, from disk and from open documents.
    workspace: Arc<Workspace>,
    /// The client asked for `shutdown`: the exit code is then 0, else 1 (LSP's `exit`).
    shut_down: AtomicBool,
    /// The most Python files the workspace index reads ([`INDEX_LIMIT`]; tests set less).
    index_limit: AtomicUsize,
}

impl State {
    pub(super) fn new(client: Client) -> Self {
        Self {
            client,
            documents: Documents::default(),
            notebooks: Notebooks::default(),
            session: RwLock::new(Session::default()),
            publish: tokio::sync::Mutex::new(()),
            shown_errors: Mutex::new(HashSet::new()),
            panic_seam: Mutex::new(None),
            relint: Mutex::default(),
            workspace: Arc::new(Workspace::default()),
            shut_down: AtomicBool::new(false),
            index_limit: AtomicUsize::new(INDEX_LIMIT),
        }
    }

    /// Whether the client asked for `shutdown` before the session ended.
    pub fn was_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The server's copy of an open document's text.
    pub fn document_text(&self, uri: &Uri) -> Option<String> {
        self.documents.text(uri).map(|text| text.as_str().to_owned())
    }

    pub fn document_version(&self, uri: &Uri) -> Option<i32> {
        self.documents.version(uri)
    }

    pub fn position_encoding(&self) -> PositionEncoding {
        self.session().encoding
    }

    /// Test seam: the next analysis or handler (see [`PanicSeam`]) panics.
    #[doc(hidden)]
    pub fn inject_panic(&self, at: PanicSeam) {
        *self.panic_seam.lock().unwrap_or_else(PoisonError::into_inner) = Some(at);
    }

    /// Test seam: the workspace index reads at most `files` files (set before `initialized`).
    #[doc(hidden)]
    pub fn limit_index(&self, files: usize) {
        self.index_limit.store(files, Ordering::Release);
    }

    fn panic_if_injected(&self, at: PanicSeam) {
        let mut seam = self.panic_seam.lock().unwrap_or_else(PoisonError::into_inner);
        if *seam == Some(at) {
            *seam = None;
            drop(seam);
            panic!("panic injected by a test at {at:?}");
        }
    }

    fn session(&self) -> Session {
        self.session.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn update_session(&self, update: impl FnOnce(&mut Session)) {
        update(&mut self.session.write().unwrap_or_else(PoisonError::into_inner));
    }

    /// Whether `error` is new, remembering it.
    fn first_time(&self, error: &str) -> bool {
        self.shown_errors.lock().unwrap_or_else(PoisonError::into_inner).insert(error.to_string())
    }
}

/// What a burst of changes left to lint again, for the one task that does (see
/// [`Backend::queue_relint`]).
#[derive(Default)]
struct PendingRelint {
    uris: HashSet<Uri>,
    /// Every open document and notebook (settings or the module tree changed).
    everything: bool,
    /// When the first and the last change of the burst came.
    first: Option<Instant>,
    last: Option<Instant>,
    /// The task runs: it will see what is queued.
    running: bool,
}

/// What to lint again.
enum Relint {
    Documents(Vec<Uri>),
    Everything,
}

/// How long a burst of changes may pause and still be one burst, and the longest the re-lint
/// waits for one to end: the events of a checkout or of a script opening files come within
/// milliseconds of each other, and an importer is linted again once for all of them.
const BURST_QUIET: Duration = Duration::from_millis(50);
const BURST_LONGEST: Duration = Duration::from_millis(500);

/// What an analysis left stale besides its own findings.
#[derive(Default)]
struct Stale {
    /// The modules whose summaries it changed: their open importers lint differently.
    modules: HashSet<String>,
    /// The analysed document itself: a module it asked about changed while it ran.
    analysed: bool,
}

/// The result of one analysis.
enum Analysis {
    /// The diagnostics to send, and what the server keeps of them (see [`Finding`]).
    Diagnostics(Vec<tower_lsp_server::ls_types::Diagnostic>, Arc<[Finding]>),
    /// The document changed (or closed) before the analysis started; the newer change analyzes.
    Stale,
    Failed(String),
}

pub struct Backend {
    state: Arc<State>,
}

impl Backend {
    pub(super) fn new(state: Arc<State>) -> Self {
        Self { state }
    }

    async fn log(&self, kind: MessageType, message: impl Display) {
        self.state.client.log_message(kind, message).await;
    }

    /// Runs a notification handler; a panic is logged and the server carries on.
    async fn guard_notification(&self, method: &str, handler: impl Future<Output = ()>) {
        let guarded = AssertUnwindSafe(async {
            self.state.panic_if_injected(PanicSeam::Handler);
            handler.await;
        });
        if let Err(payload) = guarded.catch_unwind().await {
            let message = panic_message(payload.as_ref());
            self.log(MessageType::ERROR, format!("{method} panicked: {message}")).await;
        }
    }

    /// Runs a request handler; a panic is logged and answered with an internal error.
    async fn guard_request<T>(&self, method: &str, handler: impl Future<Output = Result<T>>) -> Result<T> {
        let guarded = AssertUnwindSafe(async {
            self.state.panic_if_injected(PanicSeam::Handler);
            handler.await
        });
        match guarded.catch_unwind().await {
            Ok(result) => result,
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                self.log(MessageType::ERROR, format!("{method} panicked: {message}")).await;
                Err(internal_error(format!("{method} failed: {message}")))
            }
        }
    }

    /// Lints a snapshot off the async threads: resolving settings may read files and linting
    /// is CPU work, and neither should stall the handlers that keep documents in sync.
    async fn analyze(&self, uri: &Uri, snapshot: Snapshot, skip_if_stale: bool) -> Analysis {
        let session = self.state.session();
        let state = Arc::clone(&self.state);
        let uri_for_task = uri.clone();
        let task = off_the_async_threads(move || {
            if skip_if_stale && state.documents.revision(&uri_for_task) != Some(snapshot.revision) {
                return None;
            }
            state.panic_if_injected(PanicSeam::Analysis);
            let path = file_path(&uri_for_task);
            let (settings, error) = settings_for(&session, path.as_deref());
            let text = snapshot.text.as_str();
            // Over `max-file-size`: no findings, and the log says why (once per document).
            if text.len() as u64 > settings.max_file_size {
                let findings: Arc<[Finding]> = Arc::from([]);
                state.documents.set_findings(&uri_for_task, snapshot.revision, Arc::clone(&findings));
                let notice = format!(
                    "{}: {} bytes, more than max-file-size ({} bytes): not checked",
                    uri_for_task.as_str(),
                    text.len(),
                    settings.max_file_size
                );
                let notice = state.first_time(&notice).then_some(notice);
                return Some((Vec::new(), findings, error, Stale::default(), notice));
            }
            // The engine reads the text with its lone `\r`s as `\n`s (same offsets, same
            // lines); fixes go back in the document's own line breaks below.
            let text = snapshot.analysis_text.as_str();
            let module = path.as_deref().and_then(|path| state.workspace.module_of(path));
            let noting = NotingModules { modules: &*state.workspace, asked: Mutex::default() };
            let view = module.as_ref().map(|module| WorkspaceView {
                modules: &noting,
                module: &module.name,
                is_package: module.is_package,
            });
            let generation = state.workspace.generation();
            let ((found, _), changed_module, raced) = {
                // A panic while it was held left a cache that may be half updated: start over.
                let mut incremental = snapshot.incremental.lock().unwrap_or_else(|poisoned| {
                    let mut guard = poisoned.into_inner();
                    *guard = Incremental::new();
                    guard
                });
                // Other documents' summaries changed since (opens, edits): the kept findings
                // still hold unless they asked about one of those modules.
                incremental.rebase_generation(generation, |from, asked| state.workspace.unchanged_since(from, asked));
                let found =
                    incremental.update(text, &snapshot.tree, path.as_deref(), &settings, view.as_ref(), generation);
                incremental.note_modules_asked(noting.asked.into_inner().unwrap_or_else(PoisonError::into_inner));
                // What this document exports may have changed: other open files that import
                // it lint differently then (a `def` that became `async def`). An analysis by
                // units found the definitions, imports and bodies' digests unchanged, and
                // with them the exports. Its own new summary changes nothing for itself
                // unless it asked about its own module (`rebase_generation` next time).
                let changed_module = module
                    .as_ref()
                    .filter(|_| !matches!(found.1, Analysed::Units { .. }))
                    .filter(|module| {
                        let summary = summarize(text, &snapshot.tree, &module.name, module.is_package);
                        state.workspace.set_document_generation(&module.name, summary, &snapshot.text).is_some()
                    })
                    .map(|module| module.name.clone());
                let nothing_asked = HashSet::new();
                let asked = incremental.modules_asked().unwrap_or(&nothing_asked);
                state.documents.set_modules_asked(&uri_for_task, asked);
                // A module it asked about changed while it ran, perhaps before the lookup of
                // that module's importers could see what this analysis asked: lint it again.
                let raced = !state.workspace.unchanged_since(generation, asked);
                (found, changed_module, raced)
            };
            // No fix is offered inside a broken construct; its syntax errors are shown
            // when the user asked for them.
            let syntax = if session.show_syntax_errors { SyntaxErrors::Report } else { SyntaxErrors::Hide };
            let mut found = analysis::with_syntax_errors(text, &snapshot.tree, found, syntax);
            newlines::restore(&mut found, &snapshot.text);
            let root = snapshot.tree.root_node();
            let diagnostics = found
                .iter()
                .map(|diagnostic| {
                    // A syntax error cannot be silenced: no `# noqa` action for it.
                    let suppression =
                        (!diagnostic.rule.is_pseudo()).then(|| noqa::suppression(text, root, diagnostic)).flatten();
                    convert::diagnostic(
                        snapshot.rope.slice(..),
                        (Some(&uri_for_task), snapshot.version),
                        diagnostic,
                        session.encoding,
                        suppression.as_ref(),
                    )
                })
                .collect();
            let findings: Arc<[Finding]> = found.iter().map(Finding::of).collect();
            state.documents.set_findings(&uri_for_task, snapshot.revision, Arc::clone(&findings));
            let mut modules: HashSet<String> = changed_module.into_iter().collect();
            // Some analysis read what this module's plain functions do (LW109): keep that
            // current, and lint the documents that read it again when it changed (an edit
            // of a helper's body changes no summary).
            if let Some(module) = module.as_ref().filter(|module| state.workspace.wants_facts(&module.name)) {
                let mut facts = analysis::helper_facts_in(text, &snapshot.tree, &module.name, module.is_package);
                facts.path.clone_from(&path);
                if state.workspace.set_document_facts(&module.name, facts) {
                    modules.insert(module.name.clone());
                }
            }
            let left_stale = Stale { modules, analysed: raced };
            // Project files the settings could not read: said once per session (the
            // command line says it on every run), else the defaults stand in silently.
            let unread: Vec<String> = session
                .resolver
                .unread_facts_warnings(None)
                .into_iter()
                .filter(|warning| state.first_time(warning))
                .collect();
            let notice = (!unread.is_empty()).then(|| unread.join("\n"));
            Some((diagnostics, findings, error, left_stale, notice))
        });
        match task.await {
            Ok(Some((diagnostics, findings, error, left_stale, notice))) => {
                if let Some(error) = error {
                    self.show_config_error(&error).await;
                }
                if let Some(notice) = notice {
                    self.log(MessageType::WARNING, notice).await;
                }
                self.mark_stale(uri, &left_stale);
                Analysis::Diagnostics(diagnostics, findings)
            }
            Ok(None) => Analysis::Stale,
            Err(message) => Analysis::Failed(message),
        }
    }

    /// Analyzes the document as it is now and publishes the result, unless a newer change
    /// arrived meanwhile (that change publishes its own) or the client pulls diagnostics.
    async fn publish_document(&self, uri: &Uri) -> bool {
        if self.state.session().pull_diagnostics {
            return false;
        }
        let Some(snapshot) = self.state.documents.snapshot(uri) else {
            return false;
        };
        let (revision, version) = (snapshot.revision, snapshot.version);
        let diagnostics = match self.analyze(uri, snapshot, true).await {
            Analysis::Diagnostics(diagnostics, _) => diagnostics,
            Analysis::Stale => return false,
            Analysis::Failed(message) => {
                self.log(MessageType::ERROR, format!("analysis of {} failed: {message}", uri.as_str())).await;
                return false;
            }
        };
        let _publishing = self.state.publish.lock().await;
        if self.state.documents.revision(uri) != Some(revision) {
            return false;
        }
        self.state.client.publish_diagnostics(uri.clone(), diagnostics, Some(version)).await;
        true
    }

    /// Queues the open documents and notebooks `stale` names for linting again, and starts the
    /// one task that lints them unless it runs already. A burst of opens or of files changed
    /// on disk lints each of them once, after the burst, instead of once per event.
    fn mark_stale(&self, uri: &Uri, stale: &Stale) {
        let mut uris = self.importers(&stale.modules);
        if stale.analysed {
            uris.push(uri.clone());
        }
        self.queue_relint(Relint::Documents(uris));
    }

    /// The open documents and notebooks whose last analysis asked about one of `modules`.
    /// Looked up when the change is made, not when the re-lint runs: an analysis that finishes
    /// after this lookup finds the change itself (`raced` in [`Self::analyze`]).
    fn importers(&self, modules: &HashSet<String>) -> Vec<Uri> {
        if modules.is_empty() {
            return Vec::new();
        }
        let mut uris = self.state.documents.asking_about(modules);
        uris.extend(self.state.notebooks.asking_about(modules));
        uris
    }

    /// Adds to what the re-lint task lints next, starting it when it is not running.
    fn queue_relint(&self, relint: Relint) {
        let mut pending = self.state.relint.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        match relint {
            Relint::Documents(uris) if uris.is_empty() => return,
            Relint::Documents(uris) => pending.uris.extend(uris),
            Relint::Everything => pending.everything = true,
        }
        pending.first.get_or_insert(now);
        pending.last = Some(now);
        if pending.running {
            return;
        }
        pending.running = true;
        drop(pending);
        let state = Arc::clone(&self.state);
        tokio::spawn(async move {
            let backend = Backend::new(Arc::clone(&state));
            if let Err(payload) = AssertUnwindSafe(backend.relint_pending()).catch_unwind().await {
                state.relint.lock().unwrap_or_else(PoisonError::into_inner).running = false;
                let message = panic_message(payload.as_ref());
                backend.log(MessageType::ERROR, format!("linting documents again panicked: {message}")).await;
            }
        });
    }

    /// The re-lint task: waits for the burst to end (no new change for [`BURST_QUIET`], or
    /// [`BURST_LONGEST`] since the first), lints what was queued, once each, and goes on until
    /// nothing is queued.
    async fn relint_pending(&self) {
        loop {
            let wait = {
                let mut pending = self.state.relint.lock().unwrap_or_else(PoisonError::into_inner);
                // Under the lock `queue_relint` checks `running` with: nothing queued is lost.
                let (Some(first), Some(last)) = (pending.first, pending.last) else {
                    pending.running = false;
                    return;
                };
                (last + BURST_QUIET).min(first + BURST_LONGEST).saturating_duration_since(Instant::now())
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
                continue;
            }
            let (uris, everything) = {
                let mut pending = self.state.relint.lock().unwrap_or_else(PoisonError::into_inner);
                pending.first = None;
                pending.last = None;
                (std::mem::take(&mut pending.uris), std::mem::take(&mut pending.everything))
            };
            if everything || self.state.session().pull_diagnostics {
                self.rediagnose_all().await;
                continue;
            }
            for uri in uris {
                if self.state.documents.revision(&uri).is_some() {
                    self.publish_document(&uri).await;
                } else {
                    self.publish_notebook(&uri).await;
                }
            }
        }
    }

    /// After a settings or configuration-file change: every open document may lint differently.
    async fn rediagnose_all(&self) {
        let session = self.state.session();
        if session.pull_diagnostics {
            if session.refresh_diagnostics
                && let Err(error) = self.state.client.workspace_diagnostic_refresh().await
            {
                self.log(MessageType::WARNING, format!("diagnostic refresh failed: {error}")).await;
            }
            return;
        }
        for uri in self.state.documents.uris() {
            self.publish_document(&uri).await;
        }
        for uri in self.state.notebooks.uris() {
            self.publish_notebook(&uri).await;
        }
    }

    /// Lints a notebook's code cells as one module off the async threads, as [`Self::analyze`]
    /// lints a document; `None` when `skip_if_stale` and the notebook changed before it started.
    async fn analyze_notebook(
        &self,
        uri: &Uri,
        snapshot: NotebookSnapshot,
        skip_if_stale: bool,
    ) -> Option<std::result::Result<Vec<CellReport>, String>> {
        let session = self.state.session();
        let state = Arc::clone(&self.state);
        let uri_for_task = uri.clone();
        let task = off_the_async_threads(move || {
            if skip_if_stale && state.notebooks.revision(&uri_for_task) != Some(snapshot.revision) {
                return None;
            }
            state.panic_if_injected(PanicSeam::Analysis);
            let path = file_path(&uri_for_task);
            let (settings, error) = settings_for(&session, path.as_deref());
            // A cell's top level runs on the event loop, as the command line checks notebooks.
            let settings = LintSettings { top_level_await: true, ..(*settings).clone() };
            let module = path.as_deref().and_then(|path| state.workspace.module_of(path));
            let noting = NotingModules { modules: &*state.workspace, asked: Mutex::default() };
            let view = module.as_ref().map(|module| WorkspaceView {
                modules: &noting,
                module: &module.name,
                is_package: module.is_package,
            });
            let generation = state.workspace.generation();
            let (notebook, analysed) = notebooks::joined(&snapshot);
            let joined = notebook.joined_source();
            let text = &*newlines::normalized(joined);
            let tree = analysis::source::parse(text);
            let found = analysis::lint_in_workspace(text, &tree, path.as_deref(), &settings, view.as_ref());
            let asked = noting.asked.into_inner().unwrap_or_else(PoisonError::into_inner);
            // As for a document (`analyze`): a change it raced makes it linted again.
            let raced = !state.workspace.unchanged_since(generation, &asked);
            state.notebooks.set_modules_asked(&uri_for_task, asked);
            let syntax = if session.show_syntax_errors { SyntaxErrors::Report } else { SyntaxErrors::Hide };
            let mut found = analysis::with_syntax_errors(text, &tree, found, syntax);
            newlines::restore(&mut found, joined);
            let root = tree.root_node();
            let found: Vec<_> = found
                .into_iter()
                .map(|diagnostic| {
                    let suppression =
                        (!diagnostic.rule.is_pseudo()).then(|| noqa::suppression(text, root, &diagnostic)).flatten();
                    (diagnostic, suppression)
                })
                .collect();
            let reports = notebooks::cell_reports(&snapshot, &notebook, &analysed, &found, session.encoding);
            let findings = reports.iter().map(|report| (report.uri.clone(), Arc::clone(&report.findings))).collect();
            state.notebooks.set_findings(&uri_for_task, snapshot.revision, Arc::new(findings));
            Some((reports, error, raced))
        });
        match task.await {
            Ok(Some((reports, error, raced))) => {
                if let Some(error) = error {
                    self.show_config_error(&error).await;
                }
                self.mark_stale(uri, &Stale { modules: HashSet::new(), analysed: raced });
                Some(Ok(reports))
            }
            Ok(None) => None,
            Err(message) => Some(Err(message)),
        }
    }

    /// Analyses the notebook as it is now and publishes each cell's diagnostics (an empty list
    /// for a cell without findings, so that stale ones clear), unless it changed meanwhile.
    async fn publish_notebook(&self, uri: &Uri) {
        if self.state.session().pull_diagnostics {
            return;
        }
        let Some(snapshot) = self.state.notebooks.snapshot(uri) else {
            return;
        };
        let revision = snapshot.revision;
        let reports = match self.analyze_notebook(uri, snapshot, true).await {
            None => return,
            Some(Ok(reports)) => reports,
            Some(Err(message)) => {
                self.log(MessageType::ERROR, format!("analysis of {} failed: {message}", uri.as_str())).await;
                return;
            }
        };
        let _publishing = self.state.publish.lock().await;
        if self.state.notebooks.revision(uri) != Some(revision) {
            return;
        }
        for report in reports {
            self.state.client.publish_diagnostics(report.uri, report.diagnostics, Some(report.version)).await;
        }
    }

    /// Clears the diagnostics of cell documents that left a notebook or closed with it.
    async fn clear_cells(&self, cells: Vec<Uri>) {
        if cells.is_empty() || self.state.session().pull_diagnostics {
            return;
        }
        // Under the publish lock, so an analysis of the notebook still running (which will
        // find it changed) cannot be queued after the empty lists.
        let _publishing = self.state.publish.lock().await;
        for cell in cells {
            self.state.client.publish_diagnostics(cell, Vec::new(), None).await;
        }
    }

    /// The report of the notebook cell `cell` from the last analysis of its notebook's current
    /// text, or of a new one; `None` when `cell` is no open notebook's cell.
    async fn cell_report(
        &self,
        cell: &Uri,
    ) -> Result<Option<(Rope, Vec<tower_lsp_server::ls_types::Diagnostic>, Arc<[Finding]>)>> {
        let Some(owner) = self.state.notebooks.owner(cell) else {
            return Ok(None);
        };
        let Some(snapshot) = self.state.notebooks.snapshot(&owner) else {
            return Ok(None);
        };
        let Some(rope) = snapshot.cells.iter().find(|candidate| candidate.uri == *cell).map(|cell| cell.rope.clone())
        else {
            return Ok(None);
        };
        match self.analyze_notebook(&owner, snapshot, false).await {
            None => Ok(None),
            Some(Ok(reports)) => Ok(reports
                .into_iter()
                .find(|report| report.uri == *cell)
                .map(|report| (rope, report.diagnostics, report.findings))),
            Some(Err(message)) => {
                self.log(MessageType::ERROR, format!("analysis of {} failed: {message}", owner.as_str())).await;
                Err(internal_error(format!("analysis failed: {message}")))
            }
        }
    }

    /// The findings of the notebook cell `cell` of its current text, and the cell's text.
    async fn cell_findings(&self, cell: &Uri) -> Result<Option<(Rope, Arc<[Finding]>)>> {
        if let Some(owner) = self.state.notebooks.owner(cell)
            && let Some(snapshot) = self.state.notebooks.snapshot(&owner)
            && let Some(findings) = snapshot.findings.as_ref().and_then(|findings| findings.get(cell).cloned())
            && let Some(here) = snapshot.cells.iter().find(|candidate| candidate.uri == *cell)
        {
            return Ok(Some((here.rope.clone(), findings)));
        }
        Ok(self.cell_report(cell).await?.map(|(rope, _, findings)| (rope, findings)))
    }

    /// The fix-all of the notebook that holds `cell`, when one of its cells has a safe fix:
    /// every safe fix of the notebook as one module, an edit per changed cell.
    async fn notebook_fix_all_action(&self, cell: &Uri, session: &Session) -> Result<Option<CodeAction>> {
        let Some(owner) = self.state.notebooks.owner(cell) else {
            return Ok(None);
        };
        let has_safe_fix = |findings: &notebooks::CellFindings| {
            findings.values().any(|cell| cell.iter().any(|finding| finding.safe_fix))
        };
        let Some(snapshot) = self.state.notebooks.snapshot(&owner) else {
            return Ok(None);
        };
        let worth_fixing = if let Some(findings) = snapshot.findings.as_ref() {
            has_safe_fix(findings)
        } else {
            // Analyses the notebook, which remembers its findings.
            self.cell_report(cell).await?;
            self.state.notebooks.snapshot(&owner).and_then(|now| now.findings).as_ref().is_some_and(has_safe_fix)
        };
        if !worth_fixing {
            return Ok(None);
        }
        let state = Arc::clone(&self.state);
        let session_for_task = session.clone();
        let owner_for_task = owner.clone();
        let revision = snapshot.revision;
        let task = off_the_async_threads(move || {
            notebook_fix_all_edits(&state, &session_for_task, &owner_for_task, &snapshot)
        });
        let edits = match task.await {
            Ok(edits) => edits,
            Err(message) => {
                self.log(MessageType::ERROR, format!("fixing {} failed: {message}", owner.as_str())).await;
                return Err(internal_error(format!("fix-all failed: {message}")));
            }
        };
        // Edits for an older text would land in the wrong places.
        if self.state.notebooks.revision(&owner) != Some(revision) {
            return Ok(None);
        }
        Ok(edits
            .filter(|edits| !edits.is_empty())
            .map(|edits| actions::notebook_fix_all(edits, session.document_changes)))
    }

    async fn show_config_error(&self, error: &ConfigError) {
        let message = format!("loopwise: {error}; linting with the default settings until it is fixed");
        if self.state.first_time(&message) {
            self.state.client.show_message(MessageType::ERROR, &message).await;
            self.log(MessageType::ERROR, &message).await;
        }
    }

    /// Answers a message the transport could not hand to the server (see `transport`).
    pub(super) async fn invalid_message(&self, params: InvalidMessage) -> Result<()> {
        self.log(MessageType::ERROR, format!("dropped an invalid message: {}", params.error)).await;
        Err(Error { code: ErrorCode::InvalidRequest, message: params.error.into(), data: None })
    }

    async fn did_change_inner(&self, params: DidChangeTextDocumentParams) {
        // Applied before the first `.await`: handlers run concurrently, and only the part of a
        // handler before its first suspension point is guaranteed to run in arrival order.
        let uri = params.text_document.uri;
        let encoding = self.state.session().encoding;
        let problems =
            self.state.documents.change(&uri, params.text_document.version, &params.content_changes, encoding);
        for problem in problems {
            match problem {
                ChangeProblem::UnknownDocument => {
                    self.log(MessageType::WARNING, format!("ignored a change to {}, which is not open", uri.as_str()))
                        .await;
                    return;
                }
                ChangeProblem::ClampedRange { change } => {
                    self.log(
                        MessageType::WARNING,
                        format!(
                            "change {change} to {} (version {}) had a range outside the text; it was clamped",
                            uri.as_str(),
                            params.text_document.version
                        ),
                    )
                    .await;
                }
            }
        }
        self.publish_document(&uri).await;
    }

    /// The document's text and the findings of exactly that text: those of the last analysis
    /// when it analysed this text, else those of a new analysis (never of an older text).
    async fn current_findings(&self, uri: &Uri) -> Result<Option<(Snapshot, Arc<[Finding]>)>> {
        let Some(snapshot) = self.state.documents.snapshot(uri) else {
            return Ok(None);
        };
        if let Some(findings) = snapshot.findings.clone() {
            return Ok(Some((snapshot, findings)));
        }
        match self.analyze(uri, snapshot.clone(), false).await {
            Analysis::Diagnostics(_, findings) => Ok(Some((snapshot, findings))),
            Analysis::Stale => Ok(None),
            Analysis::Failed(message) => {
                self.log(MessageType::ERROR, format!("analysis of {} failed: {message}", uri.as_str())).await;
                Err(internal_error(format!("analysis failed: {message}")))
            }
        }
    }

    /// The edit applying every safe fix to `snapshot`, computed off the async threads; `None`
    /// when nothing changes or the document changed meanwhile (the edit would land wrong).
    async fn fix_all_edit(&self, uri: &Uri, snapshot: Snapshot) -> Result<Option<TextEdit>> {
        let session = self.state.session();
        let state = Arc::clone(&self.state);
        let uri_for_task = uri.clone();
        let revision = snapshot.revision;
        let task = tokio::task::spawn_blocking(move || fix_all_edit(&state, &session, &uri_for_task, &snapshot));
        let edit = match task.await {
            Ok(edit) => edit,
            Err(error) => {
                self.log(MessageType::ERROR, format!("fixing {} failed: {error}", uri.as_str())).await;
                return Err(internal_error(format!("fix-all failed: {error}")));
            }
        };
        if self.state.documents.revision(uri) != Some(revision) {
            return Ok(None);
        }
        Ok(edit)
    }

    /// The fix-all action when the document has a safe fix: with its edit, or (when the client
    /// resolves lazily) with what `codeAction/resolve` needs to compute it.
    async fn fix_all_action(&self, uri: &Uri, session: &Session) -> Result<Option<CodeAction>> {
        let Some((snapshot, findings)) = self.current_findings(uri).await? else {
            return Ok(None);
        };
        if !findings.iter().any(|finding| finding.safe_fix) {
            return Ok(None);
        }
        let version = snapshot.version;
        if session.resolve_edits {
            return Ok(Some(actions::lazy_fix_all(uri, version)));
        }
        let edit = self.fix_all_edit(uri, snapshot).await?;
        Ok(edit.map(|edit| actions::fix_all(uri, version, edit, session.document_changes)))
    }

    async fn code_action_inner(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let session = self.state.session();
        let only = params.context.only.as_deref();
        let Some(version) = self.state.documents.version(&uri) else {
            // A notebook cell: quick fixes only; fix-all would have to rewrite the notebook.
            let Some(version) = self.state.notebooks.cell_version(&uri) else {
                return Ok(None);
            };
            let mut found = Vec::new();
            if actions::requested(only, &CodeActionKind::QUICKFIX) {
                let version_of = |cell: &Uri| self.state.notebooks.cell_version(cell);
                for diagnostic in &params.context.diagnostics {
                    found.extend(actions::quick_fixes(
                        &uri,
                        diagnostic,
                        version,
                        session.document_changes,
                        &version_of,
                    ));
                }
            }
            if actions::requested(only, &actions::NOTEBOOK_FIX_ALL)
                && let Some(action) = self.notebook_fix_all_action(&uri, &session).await?
            {
                found.push(action);
            }
            return Ok(Some(found.into_iter().map(CodeActionOrCommand::CodeAction).collect()));
        };
        let mut found = Vec::new();
        if actions::requested(only, &CodeActionKind::QUICKFIX) {
            for diagnostic in &params.context.diagnostics {
                found.extend(actions::quick_fixes(&uri, diagnostic, version, session.document_changes, &|_| None));
            }
        }
        if actions::requested(only, &actions::FIX_ALL)
            && let Some(action) = self.fix_all_action(&uri, &session).await?
        {
            found.push(action);
        }
        Ok(Some(found.into_iter().map(CodeActionOrCommand::CodeAction).collect()))
    }

    async fn code_action_resolve_inner(&self, mut action: CodeAction) -> Result<CodeAction> {
        if action.kind.as_ref() != Some(&actions::FIX_ALL) || action.edit.is_some() {
            return Ok(action);
        }
        let Some(data) = action.data.clone().and_then(|data| serde_json::from_value::<FixAllData>(data).ok()) else {
            return Ok(action);
        };
        let Some(snapshot) = self.state.documents.snapshot(&data.uri) else {
            return Ok(action);
        };
        // The user asked to fix the text they saw; an edit for a newer text could undo what
        // they typed since, so the action resolves to no edit.
        if snapshot.version != data.version {
            return Ok(action);
        }
        let document_changes = self.state.session().document_changes;
        if let Some(edit) = self.fix_all_edit(&data.uri, snapshot).await? {
            action.edit = Some(actions::workspace_edit(&data.uri, data.version, vec![edit], document_changes));
        }
        Ok(action)
    }

    async fn hover_inner(&self, params: HoverParams) -> Result<Option<Hover>> {
        let at = params.text_document_position_params;
        if self.state.documents.version(&at.text_document.uri).is_none() {
            let Some((rope, findings)) = self.cell_findings(&at.text_document.uri).await? else {
                return Ok(None);
            };
            let session = self.state.session();
            let text = rope.slice(..);
            let offset = position::position_to_offset(text, convert::line_column(at.position), session.encoding).value;
            return Ok(actions::hover(text, &findings, offset, session.encoding, session.hover_kind));
        }
        let Some((snapshot, findings)) = self.current_findings(&at.text_document.uri).await? else {
            return Ok(None);
        };
        let session = self.state.session();
        let text = snapshot.rope.slice(..);
        let offset = position::position_to_offset(text, convert::line_column(at.position), session.encoding).value;
        Ok(actions::hover(text, &findings, offset, session.encoding, session.hover_kind))
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        self.guard_request("initialize", async {
            let capabilities = &params.capabilities;
            let offers_utf8 = capabilities
                .general
                .as_ref()
                .and_then(|general| general.position_encodings.as_ref())
                .is_some_and(|encodings| encodings.contains(&PositionEncodingKind::UTF8));
            // UTF-8 avoids converting columns at all; UTF-16 is what every client must support.
            let encoding = if offers_utf8 { PositionEncoding::Utf8 } else { PositionEncoding::Utf16 };
            let text_document = capabilities.text_document.as_ref();
            let pull_diagnostics = text_document.is_some_and(|text_document| text_document.diagnostic.is_some());
            let workspace = capabilities.workspace.as_ref();
            let refresh_diagnostics = workspace
                .and_then(|workspace| workspace.diagnostics.as_ref())
                .and_then(|diagnostic| diagnostic.refresh_support)
                .unwrap_or(false);
            let watch_config_files = workspace
                .and_then(|workspace| workspace.did_change_watched_files.as_ref())
                .and_then(|watched| watched.dynamic_registration)
                .unwrap_or(false);
            let work_done_progress =
                capabilities.window.as_ref().and_then(|window| window.work_done_progress).unwrap_or(false);
            let document_changes = workspace
                .and_then(|workspace| workspace.workspace_edit.as_ref())
                .and_then(|edit| edit.document_changes)
                .unwrap_or(false);
            // Without `data` kept between the two requests, resolve would not know the document.
            let resolve_edits =
                text_document.and_then(|text_document| text_document.code_action.as_ref()).is_some_and(|code_action| {
                    code_action.data_support == Some(true)
                        && code_action
                            .resolve_support
                            .as_ref()
                            .is_some_and(|support| support.properties.iter().any(|property| property == "edit"))
                });
            let hover_kind = text_document
                .and_then(|text_document| text_document.hover.as_ref())
                .and_then(|hover| hover.content_format.as_ref())
                .and_then(|formats| formats.first().cloned())
                .unwrap_or(MarkupKind::Markdown);
            #[allow(deprecated)] // `rootUri` is what older clients send instead of folders.
            let folders: Vec<PathBuf> = match (&params.workspace_folders, &params.root_uri) {
                (Some(folders), _) => folders.iter().filter_map(|folder| file_path(&folder.uri)).collect(),
                (None, Some(root)) => file_path(root).into_iter().collect(),
                (None, None) => Vec::new(),
            };
            let (EditorSettings { options, show_syntax_errors, index_limit }, settings_error) =
                match editor_settings(params.initialization_options.clone()) {
                    Ok(settings) => (settings, None),
                    Err(error) => (EditorSettings::default(), Some(error)),
                };
            // Read when `initialized` starts the index.
            if let Some(limit) = index_limit {
                self.state.index_limit.store(limit, Ordering::Release);
            }
            self.state.update_session(|session| {
                *session = Session {
                    encoding,
                    pull_diagnostics,
                    refresh_diagnostics,
                    watch_config_files,
                    resolver: Arc::new(Resolver::new(options)),
                    settings_error,
                    work_done_progress,
                    folders,
                    document_changes,
                    resolve_edits,
                    hover_kind,
                    show_syntax_errors,
                };
            });

            Ok(InitializeResult {
                capabilities: ServerCapabilities {
                    position_encoding: Some(convert::encoding_kind(encoding)),
                    text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        ..TextDocumentSyncOptions::default()
                    })),
                    diagnostic_provider: pull_diagnostics.then(|| {
                        DiagnosticServerCapabilities::Options(DiagnosticOptions {
                            identifier: Some(convert::SOURCE.to_string()),
                            inter_file_dependencies: false,
                            workspace_diagnostics: false,
                            ..DiagnosticOptions::default()
                        })
                    }),
                    code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                        code_action_kinds: Some(vec![
                            CodeActionKind::QUICKFIX,
                            actions::FIX_ALL,
                            actions::NOTEBOOK_FIX_ALL,
                        ]),
                        resolve_provider: Some(true),
                        ..CodeActionOptions::default()
                    })),
                    hover_provider: Some(HoverProviderCapability::Simple(true)),
                    // Jupyter notebooks' Python cells, analysed together as one module.
                    notebook_document_sync: Some(OneOf::Left(NotebookDocumentSyncOptions {
                        notebook_selector: vec![NotebookSelector::ByNotebook {
                            notebook: tower_lsp_server::ls_types::Notebook::String("jupyter-notebook".to_string()),
                            cells: Some(vec![NotebookCellSelector { language: "python".to_string() }]),
                        }],
                        save: None,
                    })),
                    ..ServerCapabilities::default()
                },
                server_info: Some(ServerInfo {
                    name: convert::SOURCE.to_string(),
                    version: Some(env!("CARGO_PKG_VERSION").to_string()),
                }),
                offset_encoding: None,
            })
        })
        .await
    }

    async fn initialized(&self, _: InitializedParams) {
        self.guard_notification("initialized", async {
            let session = self.state.session();
            if let Some(error) = &session.settings_error {
                self.show_config_error(error).await;
            }
            tokio::spawn(index_workspace(Arc::clone(&self.state)));
            if !session.watch_config_files {
                return;
            }
            let watchers = CONFIG_FILE_GLOBS
                .iter()
                .map(|glob| FileSystemWatcher { glob_pattern: GlobPattern::String((*glob).to_string()), kind: None })
                .collect();
            let Ok(options) = serde_json::to_value(DidChangeWatchedFilesRegistrationOptions { watchers }) else {
                return;
            };
            let registration = Registration {
                id: "loopwise-config-files".to_string(),
                method: "workspace/didChangeWatchedFiles".to_string(),
                register_options: Some(options),
            };
            if let Err(error) = self.state.client.register_capability(vec![registration]).await {
                self.log(MessageType::WARNING, format!("could not watch configuration files: {error}")).await;
            }
        })
        .await;
    }

    async fn shutdown(&self) -> Result<()> {
        self.state.shut_down.store(true, Ordering::Release);
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        self.guard_notification("textDocument/didOpen", async {
            let document = params.text_document;
            self.state.documents.open(document.uri.clone(), &document.text, document.version);
            self.publish_document(&document.uri).await;
        })
        .await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        self.guard_notification("textDocument/didChange", self.did_change_inner(params)).await;
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        self.guard_notification("textDocument/didClose", async {
            let uri = params.text_document.uri;
            if let Some(module) = file_path(&uri).and_then(|path| self.state.workspace.module_of(&path)) {
                self.state.workspace.close_document(&module.name);
                // The disk answers for the module again: its importers may lint differently.
                self.mark_stale(&uri, &Stale { modules: HashSet::from([module.name]), analysed: false });
            }
            if !self.state.documents.close(&uri) {
                self.log(MessageType::WARNING, format!("ignored closing {}, which is not open", uri.as_str())).await;
                return;
            }
            if self.state.session().pull_diagnostics {
                return;
            }
            // Under the publish lock, so an analysis still running for the closed document
            // (which will find it gone) cannot be queued after the empty list.
            let _publishing = self.state.publish.lock().await;
            self.state.client.publish_diagnostics(uri, Vec::new(), None).await;
        })
        .await;
    }

    async fn notebook_did_open(&self, params: DidOpenNotebookDocumentParams) {
        self.guard_notification("notebookDocument/didOpen", async {
            let notebook = params.notebook_document;
            self.state.notebooks.open(notebook.uri.clone(), &notebook.cells, &params.cell_text_documents);
            self.publish_notebook(&notebook.uri).await;
        })
        .await;
    }

    async fn notebook_did_change(&self, params: DidChangeNotebookDocumentParams) {
        self.guard_notification("notebookDocument/didChange", async {
            // Applied before the first `.await`, as a text document's change is.
            let uri = params.notebook_document.uri;
            let encoding = self.state.session().encoding;
            let Some(change) = self.state.notebooks.change(&uri, params.change.cells.as_ref(), encoding) else {
                self.log(MessageType::WARNING, format!("ignored a change to {}, which is not open", uri.as_str()))
                    .await;
                return;
            };
            for cell in &change.unknown_cells {
                self.log(
                    MessageType::WARNING,
                    format!("ignored a change to cell {}, which is not open", cell.as_str()),
                )
                .await;
            }
            for cell in &change.clamped {
                let message =
                    format!("a change to cell {} had a range outside the text; it was clamped", cell.as_str());
                self.log(MessageType::WARNING, message).await;
            }
            self.clear_cells(change.removed).await;
            self.publish_notebook(&uri).await;
        })
        .await;
    }

    async fn notebook_did_save(&self, _: DidSaveNotebookDocumentParams) {
        // The cells' texts are already in sync; saving changes nothing to analyse.
    }

    async fn notebook_did_close(&self, params: DidCloseNotebookDocumentParams) {
        self.guard_notification("notebookDocument/didClose", async {
            let uri = params.notebook_document.uri;
            let Some(cells) = self.state.notebooks.close(&uri) else {
                self.log(MessageType::WARNING, format!("ignored closing {}, which is not open", uri.as_str())).await;
                return;
            };
            self.clear_cells(cells).await;
        })
        .await;
    }

    async fn diagnostic(&self, params: DocumentDiagnosticParams) -> Result<DocumentDiagnosticReportResult> {
        self.guard_request("textDocument/diagnostic", async {
            let uri = params.text_document.uri;
            let items = match self.state.documents.snapshot(&uri) {
                None => self.cell_report(&uri).await?.map(|(_, diagnostics, _)| diagnostics).unwrap_or_default(),
                Some(snapshot) => match self.analyze(&uri, snapshot, false).await {
                    Analysis::Diagnostics(diagnostics, _) => diagnostics,
                    Analysis::Stale => Vec::new(),
                    Analysis::Failed(message) => {
                        self.log(MessageType::ERROR, format!("analysis of {} failed: {message}", uri.as_str())).await;
                        return Err(internal_error(format!("analysis failed: {message}")));
                    }
                },
            };
            Ok(DocumentDiagnosticReportResult::Report(DocumentDiagnosticReport::Full(
                RelatedFullDocumentDiagnosticReport {
                    related_documents: None,
                    full_document_diagnostic_report: FullDocumentDiagnosticReport { result_id: None, items },
                },
            )))
        })
        .await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        self.guard_request("textDocument/codeAction", self.code_action_inner(params)).await
    }

    async fn code_action_resolve(&self, action: CodeAction) -> Result<CodeAction> {
        self.guard_request("codeAction/resolve", self.code_action_resolve_inner(action)).await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        self.guard_request("textDocument/hover", self.hover_inner(params)).await
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        self.guard_notification("workspace/didChangeConfiguration", async {
            // `indexLimit` counts for the folders indexed from now on (added ones).
            let EditorSettings { options, show_syntax_errors, index_limit } =
                match editor_settings(Some(params.settings)) {
                    Ok(settings) => settings,
                    Err(error) => {
                        self.show_config_error(&error).await;
                        EditorSettings::default()
                    }
                };
            if let Some(limit) = index_limit {
                self.state.index_limit.store(limit, Ordering::Release);
            }
            self.state.update_session(|session| {
                session.resolver = Arc::new(Resolver::new(options));
                session.show_syntax_errors = show_syntax_errors;
            });
            self.rediagnose_all().await;
        })
        .await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        self.guard_notification("workspace/didChangeWatchedFiles", async {
            let mut settings_changed = false;
            let mut python_files = Vec::new();
            for change in params.changes {
                let Some(path) = file_path(&change.uri) else { continue };
                if is_settings_file(&path) {
                    settings_changed = true;
                } else if path.extension().is_some_and(|extension| extension == "py" || extension == "pyi") {
                    // A `pytest_plugins` module is a project file too, and a module.
                    settings_changed |= self.state.session().resolver.facts_read_from(&path);
                    python_files.push((path, change.typ != FileChangeType::CHANGED));
                } else {
                    // Not a file the watchers name: a folder that was deleted or renamed, and
                    // with it any module and configuration under it.
                    settings_changed = true;
                    self.state.workspace.invalidate();
                }
            }
            if settings_changed {
                self.state.session().resolver.clear_cache();
                // A fixed file may fail again later; let that error show again too.
                self.state.shown_errors.lock().unwrap_or_else(PoisonError::into_inner).clear();
                self.queue_relint(Relint::Everything);
            }
            // Only the modules whose summaries changed matter: the open documents that asked
            // about them are linted again, the others keep what they have.
            let workspace = Arc::clone(&self.state.workspace);
            let changes = tokio::task::spawn_blocking(move || {
                python_files
                    .iter()
                    .map(|(path, created_or_deleted)| workspace.file_changed_on_disk(path, *created_or_deleted))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_else(|_| vec![DiskChange::Everything]);
            let mut modules = HashSet::new();
            for change in changes {
                match change {
                    DiskChange::Nothing => {}
                    DiskChange::Module(module) => {
                        modules.insert(module);
                    }
                    DiskChange::Everything => self.queue_relint(Relint::Everything),
                }
            }
            self.queue_relint(Relint::Documents(self.importers(&modules)));
        })
        .await;
    }
}

/// Parameters of the transport's report of a message it could not pass on.
#[derive(Debug, Deserialize)]
pub(super) struct InvalidMessage {
    error: String,
}

/// What the editor's settings say (`initializationOptions`, `didChangeConfiguration`).
#[derive(Debug, Clone, Default)]
pub struct EditorSettings {
    /// The options they share with configuration files.
    pub options: Options,
    /// `showSyntaxErrors`, which only the server has.
    pub show_syntax_errors: bool,
    /// `indexLimit`: the most Python files the workspace index reads (default [`INDEX_LIMIT`]).
    pub index_limit: Option<usize>,
}

/// The editor's settings, optionally under a `loopwise` key: the configuration keys and
/// `showSyntaxErrors` (also `show-syntax-errors`), which must be a boolean. Any invalid value
/// is an error for the whole, as for a configuration file.
pub fn editor_settings(settings: Option<serde_json::Value>) -> std::result::Result<EditorSettings, ConfigError> {
    let mut settings = match settings {
        None | Some(serde_json::Value::Null) => return Ok(EditorSettings::default()),
        Some(serde_json::Value::Object(mut map)) if map.contains_key("loopwise") => {
            map.remove("loopwise").unwrap_or_default()
        }
        Some(settings) => settings,
    };
    let mut show_syntax_errors = false;
    let mut index_limit = None;
    if let Some(map) = settings.as_object_mut() {
        for key in ["indexLimit", "index-limit"] {
            match map.remove(key) {
                None => {}
                Some(value) => match value.as_u64().and_then(|limit| usize::try_from(limit).ok()) {
                    Some(limit) => index_limit = Some(limit),
                    None => {
                        return Err(ConfigError {
                            path: None,
                            line: None,
                            message: format!(
                                "invalid loopwise settings: `{key}` must be a whole number of files, not {value}"
                            ),
                        });
                    }
                },
            }
        }
        for key in ["showSyntaxErrors", "show-syntax-errors"] {
            match map.remove(key) {
                None => {}
                Some(serde_json::Value::Bool(value)) => show_syntax_errors = value,
                Some(other) => {
                    return Err(ConfigError {
                        path: None,
                        line: None,
                        message: format!("invalid loopwise settings: `{key}` must be true or false, not {other}"),
                    });
                }
            }
        }
    }
    // Neovim encodes an empty Lua table (`init_options = {}`) as `[]`: no settings either.
    let options = if settings.is_null()
        || settings.as_array().is_some_and(Vec::is_empty)
        || settings.as_object().is_some_and(serde_json::Map::is_empty)
    {
        Options::default()
    } else {
        Options::from_json(settings)?
    };
    Ok(EditorSettings { options, show_syntax_errors, index_limit })
}

/// The settings for a document at `path` (the defaults for one without a file), and the
/// configuration error that made them the defaults.
/// The workspace as one analysis sees it, noting the modules it asks about: an analysis that
/// never asked about its own module does not depend on its own summary.
struct NotingModules<'a> {
    modules: &'a dyn ModuleSource,
    asked: Mutex<HashSet<String>>,
}

impl ModuleSource for NotingModules<'_> {
    fn summary(&self, module: &str) -> Option<Arc<ModuleSummary>> {
        self.asked.lock().unwrap_or_else(PoisonError::into_inner).insert(module.to_string());
        self.modules.summary(module)
    }

    fn helper_facts(&self, module: &str) -> Option<Arc<crate::analysis::index::HelperFacts>> {
        self.modules.helper_facts(module)
    }
}

fn settings_for(session: &Session, path: Option<&Path>) -> (Arc<LintSettings>, Option<ConfigError>) {
    let Some(path) = path else {
        return (Arc::new(LintSettings::default()), None);
    };
    match session.resolver.settings_for(path) {
        Ok(settings) => (settings, None),
        Err(error) => (Arc::new(LintSettings::default()), Some(error)),
    }
}

/// `snapshot`'s text with every safe fix applied as one edit, linted exactly as its diagnostics
/// are (same settings, same view of the workspace); `None` when nothing changes.
fn fix_all_edit(state: &State, session: &Session, uri: &Uri, snapshot: &Snapshot) -> Option<TextEdit> {
    state.panic_if_injected(PanicSeam::Analysis);
    let path = file_path(uri);
    let (settings, _) = settings_for(session, path.as_deref());
    let module = path.as_deref().and_then(|path| state.workspace.module_of(path));
    let view = module.as_ref().map(|module| WorkspaceView {
        modules: &*state.workspace,
        module: &module.name,
        is_package: module.is_package,
    });
    let text = snapshot.text.as_str();
    let fixed = fixer::fix_until_stable(text, Applicability::Safe, |text| {
        analysis::check_source_in_workspace(text, path.as_deref(), &settings, view.as_ref(), SyntaxErrors::Hide)
    });
    (fixed.text != text).then(|| convert::replacement(snapshot.rope.slice(..), text, &fixed.text, session.encoding))
}

/// Every safe fix of the notebook `uri` (as `snapshot` holds it), linted as its diagnostics
/// are, as one edit per changed cell; `None` when the fixes do not fit the cells.
fn notebook_fix_all_edits(
    state: &State,
    session: &Session,
    uri: &Uri,
    snapshot: &NotebookSnapshot,
) -> Option<Vec<(Uri, i32, TextEdit)>> {
    state.panic_if_injected(PanicSeam::Analysis);
    let path = file_path(uri);
    let (settings, _) = settings_for(session, path.as_deref());
    let settings = LintSettings { top_level_await: true, ..(*settings).clone() };
    let module = path.as_deref().and_then(|path| state.workspace.module_of(path));
    let view = module.as_ref().map(|module| WorkspaceView {
        modules: &*state.workspace,
        module: &module.name,
        is_package: module.is_package,
    });
    let (notebook, analysed) = notebooks::joined(snapshot);
    let text = notebook.joined_source();
    let mut separators = notebook.separators();
    // The line breaks between cells are marks no fix may move, as on the command line.
    let fixed = fixer::fix_until_stable_keeping(
        text,
        Applicability::Safe,
        |text| analysis::check_source_in_workspace(text, path.as_deref(), &settings, view.as_ref(), SyntaxErrors::Hide),
        &mut separators,
    );
    if fixed.text == text {
        return Some(Vec::new());
    }
    notebooks::fixed_cells(snapshot, &notebook, &analysed, &fixed.text, &separators, session.encoding)
}

/// The file a `file://` URI names; other schemes (untitled buffers, remote files) have none.
fn file_path(uri: &Uri) -> Option<PathBuf> {
    if !uri.scheme().as_str().eq_ignore_ascii_case("file") {
        return None;
    }
    uri.to_file_path().map(std::borrow::Cow::into_owned)
}

/// Runs `work` on a blocking thread (CPU work and file reads must not stall the handlers that
/// keep documents in sync); a panic there, or a task that could not finish, comes back as its
/// message, and the server goes on.
async fn off_the_async_threads<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> std::result::Result<T, String> {
    match tokio::task::spawn_blocking(move || std::panic::catch_unwind(AssertUnwindSafe(work))).await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(payload)) => Err(panic_message(payload.as_ref())),
        Err(join_error) => Err(join_error.to_string()),
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

fn internal_error(message: String) -> Error {
    Error { code: ErrorCode::InternalError, message: message.into(), data: None }
}

/// Reads the summaries of every module under the workspace folders in the background, so the
/// first lookups do not wait for the disk; reports `$/progress` when the client shows it.
async fn index_workspace(state: Arc<State>) {
    let session = state.session();
    if session.folders.is_empty() {
        return;
    }
    let resolver = Arc::clone(&session.resolver);
    let folders = session.folders.clone();
    let limit = state.index_limit.load(Ordering::Acquire);
    let (files, notices) =
        tokio::task::spawn_blocking(move || index_files(&folders, &resolver, limit)).await.unwrap_or_default();
    for notice in notices {
        state.client.log_message(MessageType::WARNING, notice).await;
    }
    let token = ProgressToken::String("loopwise/index".to_string());
    let progress = if session.work_done_progress
        && state
            .client
            .send_request::<WorkDoneProgressCreate>(WorkDoneProgressCreateParams { token: token.clone() })
            .await
            .is_ok()
    {
        Some(
            state
                .client
                .progress(token, "loopwise: indexing")
                .with_message(format!("{} Python files", files.len()))
                .with_percentage(0)
                .begin()
                .await,
        )
    } else {
        None
    };
    let total = files.len().max(1);
    for (index, chunk) in files.chunks(INDEX_CHUNK).enumerate() {
        let workspace = Arc::clone(&state.workspace);
        let chunk = chunk.to_vec();
        let _ = tokio::task::spawn_blocking(move || chunk.iter().for_each(|path| workspace.load_file(path))).await;
        if let Some(progress) = &progress {
            let done = ((index + 1) * INDEX_CHUNK).min(total);
            let percentage = u32::try_from(done * 100 / total).unwrap_or(100);
            progress.report_with_message(format!("{done}/{total} files"), percentage).await;
        }
    }
    if let Some(progress) = progress {
        progress.finish_with_message(format!("{} modules indexed", state.workspace.len())).await;
    }
}

/// Files read per background step: small enough to report progress often.
const INDEX_CHUNK: usize = 64;

/// The most Python files the workspace index reads, all folders together, unless the
/// `indexLimit` setting says otherwise (the README's "The language server" says so): a summary
/// per module is kept for the server's life, and opening `/` as a folder read 52,000 files for
/// a minute and kept 1.5 GB. Modules past the limit are still read when a document imports them.
const INDEX_LIMIT: usize = 20_000;

/// The Python files the index reads under `folders`, walked as `loopwise check` walks them
/// (`.gitignore`, hidden files, `exclude`, regular files only, none larger than
/// `max-file-size`), at most `limit`; and what to log about the files left out.
fn index_files(folders: &[PathBuf], resolver: &Arc<Resolver>, limit: usize) -> (Vec<PathBuf>, Vec<String>) {
    let mut files = Vec::new();
    let mut notices = Vec::new();
    for folder in folders {
        if files.len() >= limit {
            notices.push(index_limit_notice(folder, limit));
            continue;
        }
        // A folder whose `.gitignore` or `.ignore` is a FIFO or a device: the walk would wait on
        // it forever (see `files`), so it is not indexed, and the log says so; its modules are
        // then unknown, as outside the workspace.
        if let Some(ignore_file) = crate::files::special_ignore_file(folder) {
            notices.push(format!("{}: not a regular file, so its folder is not indexed", ignore_file.display()));
            continue;
        }
        let skipped = Arc::new(Mutex::new(Vec::new()));
        let skipped_by_walk = Arc::clone(&skipped);
        let resolver_of_walk = Arc::clone(resolver);
        let walker = ignore::WalkBuilder::new(folder)
            .filter_entry(move |entry| {
                if entry.depth() == 0 {
                    return true;
                }
                let is_folder = entry.file_type().is_some_and(|kind| kind.is_dir());
                if is_folder && let Some(ignore_file) = crate::files::special_ignore_file(entry.path()) {
                    skipped_by_walk.lock().unwrap_or_else(PoisonError::into_inner).push(ignore_file);
                    return false;
                }
                // As the command line's walk: a folder by its own configuration, a file by its
                // folder's, and each entry by its own name.
                let folder = if is_folder { Some(entry.path()) } else { entry.path().parent() };
                folder.is_none_or(|folder| {
                    resolver_of_walk
                        .configuration_in(folder)
                        .map_or(true, |configuration| !configuration.is_excluded_entry(entry.path()))
                })
            })
            .build();
        let mut too_large = 0_usize;
        let mut full = false;
        for entry in walker.filter_map(std::result::Result::ok) {
            // Regular files only: the walk does not follow links, and a FIFO or a device under a
            // Python name is never read.
            let is_python = entry.path().extension().is_some_and(|extension| extension == "py" || extension == "pyi");
            if !is_python || !entry.file_type().is_some_and(|kind| kind.is_file()) {
                continue;
            }
            let max_file_size = entry
                .path()
                .parent()
                .and_then(|parent| resolver.configuration_in(parent).ok())
                .map_or(crate::config::DEFAULT_MAX_FILE_SIZE, |configuration| configuration.settings.max_file_size);
            if entry.metadata().is_ok_and(|metadata| metadata.len() > max_file_size) {
                too_large += 1;
                continue;
            }
            if files.len() >= limit {
                full = true;
                break;
            }
            files.push(entry.into_path());
        }
        for ignore_file in std::mem::take(&mut *skipped.lock().unwrap_or_else(PoisonError::into_inner)) {
            notices.push(format!("{}: not a regular file, so its folder is not indexed", ignore_file.display()));
        }
        if too_large > 0 {
            notices.push(format!(
                "{}: {too_large} Python files larger than max-file-size are not indexed",
                folder.display()
            ));
        }
        if full {
            notices.push(index_limit_notice(folder, limit));
        }
    }
    (files, notices)
}

/// The log line saying the index stopped at `limit` files in `folder`.
fn index_limit_notice(folder: &Path, limit: usize) -> String {
    format!(
        "{}: the workspace index holds at most {limit} Python files; the others are read only when a document imports them",
        folder.display()
    )
}
