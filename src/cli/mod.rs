//! `loopwise check` and `loopwise rule`: walking files the way ruff and ripgrep do, checking
//! them in parallel, fixing them (`--fix`, `--diff`), printing findings and choosing the exit
//! code.
//!
//! Owns file discovery, reading and writing files, output formats and exit codes. The engine
//! decides what is a finding and what its fix is; the configuration decides which rules run.

mod budget;
mod cache;
mod docs;
mod fix;
mod formats;
mod output;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use rayon::prelude::*;

use crate::analysis::index::{ModuleSource, ModuleSummary};
use crate::analysis::{
    self, Applicability, Diagnostic, LintSettings, ModuleOutputs, ModuleRequest, Severity, SyntaxErrors, WorkspaceView,
    fixer,
};
use crate::config::{ConfigError, Configuration, Options, Resolver};
use crate::notebook::{self, CellStart, ChangedCell, Notebook};
use crate::rules::{Rule, parse_selector};
use crate::workspace::{FolderModules, ModuleName, Workspace};
use cache::{Cache, Lookup, Recorder, Stamp};

pub use docs::{REGENERATE_DOCS, RuleFormat, fix_kind, rule_table, rules_markdown};
pub use output::OutputFormat;

/// What `loopwise check` was asked to do: its command-line arguments.
#[derive(Debug, Clone, Default, clap::Args)]
#[expect(clippy::struct_excessive_bools, reason = "independent command-line switches")]
pub struct CheckArgs {
    /// Files or folders to check (default: the current folder); `-` reads standard input.
    pub paths: Vec<PathBuf>,
    /// How to print findings.
    #[arg(long, value_enum, default_value_t = OutputFormat::Full)]
    pub output_format: OutputFormat,
    /// Write the report to this file instead of standard output (not with `--diff`, whose
    /// patch is the output; with `--fix` on `-`, the fixed text still goes to stdout).
    #[arg(short, long, conflicts_with = "diff")]
    pub output_file: Option<PathBuf>,
    /// Rules to enable instead of the configured ones: codes, prefixes, names or aliases.
    #[arg(long, value_delimiter = ',')]
    pub select: Option<Vec<String>>,
    /// Rules to enable on top of the configured ones.
    #[arg(long, value_delimiter = ',')]
    pub extend_select: Vec<String>,
    /// Rules to disable.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// The Python version to assume, e.g. 3.11 or py311.
    #[arg(long)]
    pub target_version: Option<String>,
    /// Use this configuration file for every file instead of discovering them.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Exit with 0 even when there are findings (errors still exit with 2).
    #[arg(long)]
    pub exit_zero: bool,
    /// The least severe finding that makes the run fail (exit 1): findings below it are shown
    /// and counted but pass. Hints, which editors show faintly or not at all, pass by default.
    #[arg(long, value_enum, default_value_t = FailOn::Info)]
    pub fail_on: FailOn,
    /// Whether to colour the output: `auto` colours a terminal unless `NO_COLOR` is set, or
    /// any output when `FORCE_COLOR` is.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print counts per rule instead of the findings.
    #[arg(long)]
    pub statistics: bool,
    /// Print the settings that apply to the given file (or folder), and where each one comes
    /// from, instead of checking.
    #[arg(long, conflicts_with_all = ["statistics", "fix", "diff"])]
    pub show_settings: bool,
    /// The file name to report (and to find configuration for) when reading standard input.
    #[arg(long)]
    pub stdin_filename: Option<PathBuf>,
    #[command(flatten)]
    pub fixes: FixArgs,
    /// Lint every file with every rule, skipping none by its text (to check the prefilter).
    #[arg(long, hide = true)]
    pub no_prefilter: bool,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// `--fail-on`: a finding's severity from which the run fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    #[default]
    Info,
    Hint,
}

impl FailOn {
    fn fails(self, severity: Severity) -> bool {
        let least = match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
            FailOn::Hint => Severity::Hint,
        };
        // Severities are ordered from the most severe.
        severity <= least
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour what goes to `stream`. `NO_COLOR` and `FORCE_COLOR` count when set to
    /// anything but the empty string (no-color.org, force-color.org); anstream decides the rest
    /// (a terminal, `CLICOLOR`, `CLICOLOR_FORCE`, `TERM=dumb`).
    fn colors(self, stream: &impl anstream::stream::RawStream) -> bool {
        let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if set("NO_COLOR") => false,
            ColorChoice::Auto if set("FORCE_COLOR") => true,
            ColorChoice::Auto => anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never,
        }
    }
}

/// How `loopwise check` keeps findings between runs.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CacheArgs {
    /// Neither read nor write the cache of findings.
    #[arg(long)]
    pub no_cache: bool,
    /// Where to keep the cache of findings (default: `.loopwise_cache` in the project folder).
    #[arg(long, env = "LOOPWISE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Say on standard error how many files were checked and how many findings came from the
    /// cache.
    #[arg(short, long)]
    pub verbose: bool,
}

/// What `loopwise check` does with fixes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FixArgs {
    /// Apply the safe fixes and write the files back, then report what remains. With `-`,
    /// print the fixed text and report on stderr.
    #[arg(long)]
    pub fix: bool,
    /// Count unsafe fixes as available, and apply them with `--fix` or `--diff`.
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print what the fixes would change as a unified diff and write nothing.
    #[arg(long, conflicts_with = "statistics")]
    pub diff: bool,
}

/// What `check` does with the fixes it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FixMode {
    /// Report them as available.
    Report,
    /// Write them into the files (`--fix`).
    Apply,
    /// Print them as a diff, write nothing (`--diff`, even with `--fix`).
    Diff,
}

impl CheckArgs {
    fn fix_mode(&self) -> FixMode {
        if self.fixes.diff {
            FixMode::Diff
        } else if self.fixes.fix {
            FixMode::Apply
        } else {
            FixMode::Report
        }
    }

    /// The least sure fix that `--fix`/`--diff` applies; display-only fixes never are.
    fn fix_level(&self) -> Applicability {
        if self.fixes.unsafe_fixes { Applicability::Unsafe } else { Applicability::Safe }
    }

    /// Whether the input is standard input rather than files.
    fn reads_stdin(&self) -> bool {
        self.paths.iter().any(|path| path.as_os_str() == "-")
            || (self.paths.is_empty() && self.stdin_filename.is_some())
    }
}

/// One checked file with its findings.
pub struct CheckedFile {
    /// The path as the user will read it (relative to where they ran the command when below it).
    pub path: PathBuf,
    /// The text (after fixing, the fixed text), kept only when there are findings to print, a
    /// fixed text to write, or standard input to echo.
    pub source: String,
    /// The findings in `source`: after fixing, the ones that remain.
    pub diagnostics: Vec<Diagnostic>,
    /// How many fixes were applied to make `source`.
    pub fixed: usize,
    /// The text before fixing, when the fixes changed it.
    pub original: Option<String>,
    /// For a notebook: `source` is its joined source, and findings are located in its cells.
    pub notebook: Option<Box<NotebookFile>>,
}

/// A checked notebook: as it is after the fixes, and the cells they changed.
pub struct NotebookFile {
    /// `notebook.joined_source()` is the `source` of its [`CheckedFile`]; after fixing,
    /// `notebook.raw()` is the text to write.
    pub notebook: Notebook,
    pub changed: Vec<ChangedCell>,
    /// After fixing, the notebook's text before the fixes (to check it again should writing
    /// fail); else empty.
    pub original_raw: String,
}

impl CheckedFile {
    /// The cell holding `offset` of `source`, for a notebook.
    pub fn cell_at(&self, offset: usize) -> Option<CellStart> {
        self.notebook.as_ref()?.notebook.cell_at(offset)
    }
}

/// `settings` for the file at `path`: a notebook's top level runs on the event loop.
fn settings_for_file(path: &Path, settings: Arc<LintSettings>) -> Arc<LintSettings> {
    if notebook::is_notebook(path) && !settings.top_level_await {
        return Arc::new(LintSettings { top_level_await: true, ..(*settings).clone() });
    }
    settings
}

/// A problem that stopped one file from being checked; every other file still is.
#[derive(Debug, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
    /// Passed over by a documented limit (`max-file-size`) rather than stopped by a fault: said
    /// as a warning, and the run can still pass, unless no file at all was checked.
    pub over_limit: bool,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = crate::files::shown(&self.path);
        match self.line {
            Some(line) => write!(f, "{path}:{line}: {}", self.message),
            None => write!(f, "{path}: {}", self.message),
        }
    }
}

impl FileError {
    fn new(path: &Path, message: impl Into<String>) -> Self {
        Self { path: path.to_path_buf(), line: None, message: message.into(), over_limit: false }
    }
}

pub fn check(args: &CheckArgs) -> ExitCode {
    let overrides = match overrides(args) {
        Ok(overrides) => overrides,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let resolver = match &args.config {
        Some(file) => {
            if !file.is_file() {
                eprintln!("error: {}: configuration file not found", file.display());
                return ExitCode::from(2);
            }
            Arc::new(Resolver::with_config_file(overrides, file.clone()))
        }
        None => Arc::new(Resolver::new(overrides)),
    };
    if args.show_settings {
        return show_settings(args, &resolver);
    }
    let Run { checked, errors, over_limit } = run(args, &resolver);
    warn_of_unread_facts(&resolver);
    // Before the report, whose closing lines count them: a run with errors or files passed over
    // never ends by saying that it passed.
    for skipped in &over_limit {
        eprintln!("warning: {skipped}");
    }
    for error in &errors {
        eprintln!("error: {error}");
    }
    if let Err(error) = report(args, &checked, errors.len(), over_limit.len())
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write the report: {error}");
        return ExitCode::from(2);
    }
    let would_change = checked.iter().any(|file| file.original.is_some());
    let failed = match args.fix_mode() {
        FixMode::Diff => would_change,
        FixMode::Report | FixMode::Apply => {
            checked.iter().flat_map(|file| &file.diagnostics).any(|diagnostic| args.fail_on.fails(diagnostic.severity))
        }
    };
    // Files passed over by max-file-size are a warning, but a run that checked none of the
    // files it was given checked nothing: that is no pass.
    let code = if !errors.is_empty() || (checked.is_empty() && !over_limit.is_empty()) {
        ExitCode::from(2)
    } else if failed && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    // The process ends now: freeing every file's findings and every folder's memo one by one
    // was a thirtieth of a cached run, on one core, for memory the system reclaims anyway.
    std::mem::forget((checked, resolver));
    code
}

/// Says which project files (pyproject.toml, setup.cfg, pytest.ini, conftest.py, ...) were
/// there but could not be read: the Python version and test runners they may declare were not
/// known, and the defaults stood in for them.
fn warn_of_unread_facts(resolver: &Resolver) {
    for warning in resolver.unread_facts_warnings(crate::config::current_folder()) {
        eprintln!("warning: {warning}");
    }
}

/// `--show-settings`: the resolved settings of each named path, with their sources.
fn show_settings(args: &CheckArgs, resolver: &Resolver) -> ExitCode {
    let paths = match (&args.stdin_filename, args.paths.as_slice()) {
        (Some(name), _) if args.reads_stdin() => vec![name.clone()],
        (_, []) => vec![PathBuf::from(".")],
        (_, paths) => paths.to_vec(),
    };
    let mut out = io::stdout().lock();
    let mut failed = false;
    for path in paths {
        if !path.exists() && args.stdin_filename.as_ref() != Some(&path) {
            eprintln!("error: {}: no such file or folder", path.display());
            failed = true;
            continue;
        }
        match resolver.explain(&path) {
            Ok(lines) => {
                let mut text = format!("Settings for {}:\n", path.display());
                for (key, value, source) in lines {
                    let _ = write!(text, "  {key}: {value}\n      ({source})\n");
                }
                if let Err(error) = out.write_all(text.as_bytes())
                    && error.kind() != io::ErrorKind::BrokenPipe
                {
                    eprintln!("error: cannot write: {error}");
                    return ExitCode::from(2);
                }
            }
            Err(error) => {
                eprintln!("error: {error}");
                failed = true;
            }
        }
    }
    warn_of_unread_facts(resolver);
    if failed { ExitCode::from(2) } else { ExitCode::SUCCESS }
}

/// Prints what `check` found. With `--diff`, the diffs go to stdout and the count to stderr,
/// so stdout is a patch; with `--fix` on standard input, the fixed text goes to stdout and the
/// report to stderr, so stdout can replace the editor's buffer. `--output-file` takes the
/// report's place, wherever it would go.
fn report(args: &CheckArgs, checked: &[CheckedFile], errors: usize, over_limit: usize) -> io::Result<()> {
    let mut summary = output::FixSummary {
        fixed: checked.iter().map(|file| file.fixed).sum(),
        unsafe_fixes: args.fixes.unsafe_fixes,
        errors,
        over_limit,
        color: false,
    };
    match args.fix_mode() {
        FixMode::Diff => {
            let mut out = io::stdout().lock();
            for file in checked {
                if let Some(notebook) = &file.notebook {
                    for cell in &notebook.changed {
                        out.write_all(fix::cell_diff(&file.path, cell).as_bytes())?;
                    }
                } else if let Some(diff) =
                    file.original.as_deref().and_then(|original| fix::unified_diff(&file.path, original, &file.source))
                {
                    out.write_all(diff.as_bytes())?;
                }
            }
            out.flush()?;
            output::write_diff_summary(&mut io::stderr().lock(), checked, summary)
        }
        FixMode::Apply if args.reads_stdin() => {
            let mut out = io::stdout().lock();
            for file in checked {
                // A notebook's text is its JSON, not the joined source its findings are in.
                let text = file.notebook.as_ref().map_or(file.source.as_str(), |notebook| notebook.notebook.raw());
                out.write_all(text.as_bytes())?;
            }
            out.flush()?;
            if let Some(file) = &args.output_file {
                return report_to_file(file, args, checked, summary);
            }
            summary.color = args.color.colors(&io::stderr());
            write_findings(&mut io::stderr().lock(), args, checked, summary)
        }
        FixMode::Apply | FixMode::Report => {
            if let Some(file) = &args.output_file {
                return report_to_file(file, args, checked, summary);
            }
            summary.color = args.color.colors(&io::stdout());
            write_findings(&mut io::stdout().lock(), args, checked, summary)
        }
    }
}

/// `--output-file`: the report, coloured only as `--color` would colour a file.
fn report_to_file(
    file: &Path,
    args: &CheckArgs,
    checked: &[CheckedFile],
    summary: output::FixSummary,
) -> io::Result<()> {
    formats::write_to_file(file, |out| {
        let summary = output::FixSummary { color: args.color.colors(&*out), ..summary };
        write_findings(out, args, checked, summary)
    })
}

fn write_findings(
    out: &mut impl Write,
    args: &CheckArgs,
    checked: &[CheckedFile],
    summary: output::FixSummary,
) -> io::Result<()> {
    // Standard output flushes at each line break: a write per line was a twenty-fifth of a
    // cached run, all on one core.
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    if args.statistics {
        output::write_statistics(&mut out, checked, args.output_format, summary)?;
    } else {
        output::write(&mut out, checked, args.output_format, summary)?;
    }
    out.flush()
}

fn overrides(args: &CheckArgs) -> Result<Options, String> {
    for code in args.select.iter().flatten().chain(&args.extend_select).chain(&args.ignore) {
        parse_selector(code).map_err(|error| error.to_string())?;
    }
    let non_empty = |codes: &Vec<String>| (!codes.is_empty()).then(|| codes.clone());
    let options = Options {
        target_version: args.target_version.clone(),
        select: args.select.clone(),
        extend_select: non_empty(&args.extend_select),
        ignore: non_empty(&args.ignore),
        no_prefilter: args.no_prefilter,
        ..Options::default()
    };
    if let Some(version) = &args.target_version {
        analysis::PythonVersion::parse_target(version).map_err(|message| format!("--target-version: {message}"))?;
    }
    Ok(options)
}

/// What a run of `check` came to.
pub struct Run {
    /// The files checked, by path.
    pub checked: Vec<CheckedFile>,
    /// What stopped files from being checked, by path.
    pub errors: Vec<FileError>,
    /// The files passed over by `max-file-size`, by path.
    pub over_limit: Vec<FileError>,
}

/// Checks everything `args` names: the walked files in parallel, or standard input. With
/// `--fix` or `--diff` each text is fixed first, and with `--fix` the files are written back.
pub fn run(args: &CheckArgs, resolver: &Arc<Resolver>) -> Run {
    let fixing = (args.fix_mode() != FixMode::Report).then(|| args.fix_level());
    if args.reads_stdin() {
        let name = args.stdin_filename.clone().unwrap_or_else(|| PathBuf::from("-"));
        let mut bytes = Vec::new();
        if let Err(error) = io::stdin().read_to_end(&mut bytes) {
            let error = FileError::new(&name, format!("cannot read standard input: {error}"));
            return Run { checked: Vec::new(), errors: vec![error], over_limit: Vec::new() };
        }
        let echo = (args.fix_mode() == FixMode::Apply).then(|| bytes.clone());
        return match check_bytes(&name, bytes, resolver, &Workspace::default(), fixing) {
            Ok(file) => Run { checked: vec![file], errors: Vec::new(), over_limit: Vec::new() },
            Err(error) => {
                // With `--fix`, stdout stands in for the text (an editor may replace its buffer
                // with it): a configuration error must not empty it.
                let unchanged = echo.and_then(|bytes| String::from_utf8(bytes).ok()).map(|source| CheckedFile {
                    path: name.clone(),
                    source,
                    diagnostics: Vec::new(),
                    fixed: 0,
                    original: None,
                    notebook: None,
                });
                Run { checked: unchanged.into_iter().collect(), errors: vec![error], over_limit: Vec::new() }
            }
        };
    }
    let roots = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    // The folder listings an earlier run kept: the walk asks for them from its first folder on.
    let listings = (!args.cache.no_cache).then(|| {
        let (listings, known) = cache::Listings::open(args.cache.cache_dir.as_deref());
        resolver.remember_listings(known);
        listings
    });
    // The cache is read while the folders are walked: both wait on the disk, and neither needs
    // the other until files are checked.
    let ((walked, mut errors), cache) = std::thread::scope(|scope| {
        let cache = scope.spawn(|| (!args.cache.no_cache).then(|| Cache::open(args.cache.cache_dir.as_deref())));
        let walked = collect_files(&roots, resolver);
        // Opening never panics by design; if it did, checking without the cache is still right.
        (walked, cache.join().ok().flatten())
    });
    let (files, stamps): (Vec<PathBuf>, Vec<Option<Stamp>>) = walked.into_iter().unzip();
    // Modules that checked files import are read from here, lazily, once each. No file is
    // written before every file is fixed, so each one's fixes see the same workspace.
    let workspace = Workspace::default();
    // Every root is known before any file asks for a module: what an import finds must not
    // depend on which files happened to be checked first (nor may the cache's judgement).
    let located = locate(&files, stamps, &workspace, resolver);
    let results = Checks::new(&files, located, &workspace, fixing, cache.as_ref()).run();
    if let Some(cache) = cache {
        if args.cache.verbose {
            eprintln!(
                "loopwise: {} files, {} of them from the cache {}",
                files.len(),
                cache.hits(),
                cache.file().display()
            );
        }
        let listings = listings.zip(resolver.listings_to_keep());
        let written = cache.write().and_then(|()| listings.map_or(Ok(()), |(file, kept)| file.write(&kept)));
        if let Err(error) = written {
            eprintln!("warning: cannot write the cache: {error}");
        }
    } else if args.cache.verbose {
        eprintln!("loopwise: {} files, without a cache", files.len());
    }
    let mut checked = Vec::new();
    for result in results {
        match result {
            Ok(file) => checked.push(file),
            Err(error) => errors.push(error),
        }
    }
    if args.fix_mode() == FixMode::Apply {
        let failures: Vec<FileError> =
            checked.par_iter_mut().filter_map(|file| write_fixed(file, resolver, &workspace).err()).collect();
        errors.extend(failures);
    }
    checked.sort_by(|a, b| a.path.cmp(&b.path));
    // A broken configuration file is reported once, not once per file under it.
    errors.sort_by(|a, b| (&a.path, a.line, &a.message).cmp(&(&b.path, b.line, &b.message)));
    errors.dedup();
    let (over_limit, errors) = errors.into_iter().partition(|error| error.over_limit);
    Run { checked, errors, over_limit }
}

/// Writes a fixed file back. When that fails, the file is reported as it still is on disk:
/// unfixed, with its original findings.
fn write_fixed(file: &mut CheckedFile, resolver: &Resolver, workspace: &Workspace) -> Result<(), FileError> {
    let Some(original) = file.original.take() else {
        return Ok(());
    };
    let written = file.notebook.as_ref().map_or(file.source.as_str(), |notebook| notebook.notebook.raw());
    let Err(error) = fix::write_atomically(&file.path, written) else {
        file.original = Some(original);
        return Ok(());
    };
    let failure = FileError::new(&file.path, format!("cannot write the fixes: {error}"));
    let original = match &file.notebook {
        Some(notebook) => notebook.original_raw.clone(),
        None => original,
    };
    if let Ok(unfixed) = check_bytes(&file.path, original.into_bytes(), resolver, workspace, None) {
        *file = unfixed;
    }
    Err(failure)
}

/// Where a file of the walk is and what applies to it: found before any file is checked.
struct Located {
    absolute_path: PathBuf,
    module: Option<ModuleName>,
    /// Its stamp as the walk saw it (the walk's folder handle makes that cheaper than a
    /// lookup by path); `None` for a file named on the command line.
    stamp: Option<Stamp>,
    settings: Result<Arc<LintSettings>, ConfigError>,
}

/// Locates the walked `files` (with their stamps), working out once per folder what the files
/// of a folder share (its absolute path, module prefix and settings): per file, that work was
/// a fifth of a cached run.
fn locate(files: &[PathBuf], stamps: Vec<Option<Stamp>>, workspace: &Workspace, resolver: &Resolver) -> Vec<Located> {
    struct Folder {
        absolute: PathBuf,
        modules: FolderModules,
        settings: Result<Arc<LintSettings>, ConfigError>,
    }
    let mut indexes: foldhash::HashMap<&Path, usize> = foldhash::HashMap::default();
    let mut folders: Vec<&Path> = Vec::new();
    let folder_of: Vec<usize> = files
        .iter()
        .map(|path| {
            let folder = path.parent().unwrap_or(Path::new(""));
            *indexes.entry(folder).or_insert_with(|| {
                folders.push(folder);
                folders.len() - 1
            })
        })
        .collect();
    let absolutes: Vec<PathBuf> = folders.par_iter().map(|folder| absolute(folder)).collect();
    // The walk lists only regular files: a walked `__init__.py` is one.
    let mut is_package = vec![false; folders.len()];
    for (path, index) in files.iter().zip(&folder_of) {
        is_package[*index] |= crate::workspace::is_package_file(path);
    }
    workspace.note_packages(
        absolutes.iter().zip(is_package).filter(|(_, is_package)| *is_package).map(|(folder, _)| folder.clone()),
    );
    let folders: Vec<Folder> = absolutes
        .into_par_iter()
        .map(|absolute| Folder {
            modules: workspace.folder_modules(&absolute),
            settings: resolver.settings_for_folder(&absolute),
            absolute,
        })
        .collect();
    files
        .par_iter()
        .zip(folder_of)
        .zip(stamps)
        .map(|((path, index), stamp)| {
            let folder = &folders[index];
            let absolute_path = path.file_name().map_or_else(|| absolute(path), |name| folder.absolute.join(name));
            let module =
                path.file_stem().and_then(OsStr::to_str).and_then(|stem| workspace.module_in(&folder.modules, stem));
            Located { absolute_path, module, stamp, settings: folder.settings.clone() }
        })
        .collect()
}

/// Checks one file of the walk, from the cache when it holds the file's findings; with
/// `summarize_as`, also summarizes it as that module when it is parsed.
fn check_file(
    path: &Path,
    Located { absolute_path, module, stamp, settings }: Located,
    (workspace, modules): (&Workspace, &dyn ModuleSource),
    fixing: Option<Applicability>,
    cache: Option<&Cache>,
    request: Option<ModuleRequest<'_>>,
) -> Result<(CheckedFile, ModuleOutputs), FileError> {
    let settings = settings_for_file(path, settings.map_err(|error| config_error(path, &error))?);
    // Facts only where this file's importers probably ask for them: those of the same project
    // share its settings. Another importer reads the file for them.
    let request = request.map(|request| ModuleRequest {
        facts: request.facts && settings.rules_for(Some(&absolute_path)).contains(Rule::BlockingHelperCall),
        ..request
    });
    // Taken before the text is read, as a reading for the facts alone takes it.
    let facts_stamp =
        request.filter(|request| request.facts).and_then(|_| crate::workspace::file_stamp(&absolute_path));
    // Over `max-file-size`: said, and not read (the walk's stamp knows the size).
    let size = stamp.map_or_else(|| std::fs::metadata(path).map_or(0, |metadata| metadata.len()), |stamp| stamp.size);
    if size > settings.max_file_size {
        return Err(FileError {
            over_limit: true,
            ..FileError::new(
                path,
                format!("{size} bytes, more than max-file-size ({} bytes): not checked", settings.max_file_size),
            )
        });
    }
    // Big files wait for their share of the memory budget (see `budget`), held to the end of
    // the analysis.
    let _permit = budget::permit(size);
    let limit = settings.max_file_size;
    let read = |path: &Path| {
        crate::files::read_regular(path, Some(limit))
            .map_err(|error| FileError::new(path, format!("cannot read: {error}")))
    };
    let Some(cache) = cache else {
        let checked = check_text_and_summarize(path, read(path)?, &settings, module.as_ref(), modules, fixing, request);
        return checked
            .map(|(file, outputs)| (file, offer_facts(workspace, request, &absolute_path, facts_stamp, outputs)));
    };
    // The stamp is taken before the text is read: a change after it makes the next run look.
    let stamp = stamp.or_else(|| Stamp::of(path));
    let key = cache.key(&settings, module.as_ref());
    // With `--fix` or `--diff`, stored findings stand only when none of them has a fix to apply.
    let reusable = |diagnostics: &[Diagnostic]| {
        fixing.is_none_or(|level| {
            !diagnostics.iter().any(|diagnostic| diagnostic.fix.as_ref().is_some_and(|fix| fix.applies(level)))
        })
    };
    let lookup = stamp.map(|stamp| cache.lookup(&absolute_path, stamp, key, workspace, reusable));
    let bytes = match lookup {
        Some(Lookup::Hit { diagnostics, source }) => {
            let source = source.unwrap_or_default();
            let mut file =
                CheckedFile { path: path.to_path_buf(), source, diagnostics, fixed: 0, original: None, notebook: None };
            // The cache keeps a notebook's own text: its findings are in the joined source.
            if notebook::is_notebook(path) && !file.diagnostics.is_empty() {
                let notebook = read_notebook(path, std::mem::take(&mut file.source))?;
                file.source = notebook.joined_source().to_string();
                file.notebook =
                    Some(Box::new(NotebookFile { notebook, changed: Vec::new(), original_raw: String::new() }));
            }
            return Ok((file, ModuleOutputs::default()));
        }
        Some(Lookup::Miss { bytes: Some(bytes) }) => bytes,
        Some(Lookup::Miss { bytes: None }) | None => read(path)?,
    };
    let content = cache::content_hash(&bytes);
    let recorder = Recorder::new(workspace, modules);
    let (file, outputs) =
        check_text_and_summarize(path, bytes, &settings, module.as_ref(), &recorder, fixing, request)?;
    // A fixed file is written back with a new stamp: the next run hashes it anyway.
    if let (Some(stamp), None) = (stamp, &file.original) {
        cache.record(&absolute_path, stamp, content, key, recorder, &file.diagnostics);
    }
    Ok((file, offer_facts(workspace, request, &absolute_path, facts_stamp, outputs)))
}

/// Gives the workspace the helper facts a check made of its file, `file` (stamped `stamp`
/// before it was read), so that no importer reads the file for them; the summary is left to
/// the caller.
fn offer_facts(
    workspace: &Workspace,
    request: Option<ModuleRequest<'_>>,
    file: &Path,
    stamp: Option<crate::workspace::FileStamp>,
    mut outputs: ModuleOutputs,
) -> ModuleOutputs {
    if let (Some(request), Some(stamp), Some(facts)) = (request, stamp, outputs.facts.take()) {
        workspace.offer_facts(request.module.0, file, stamp, facts);
    }
    outputs
}

/// The checks of a walk's files, each done once: on its turn, or earlier, when another file
/// asks for its module's summary before then. The summary then comes from the check's own
/// parse; asked for later, a module is read and parsed for its summary alone (HA: 365 of the
/// 468 modules asked for were asked before their turn).
struct Checks<'a> {
    files: &'a [PathBuf],
    /// Taken by whichever check runs first.
    located: Vec<std::sync::Mutex<Option<Located>>>,
    /// Checks run ahead of their turn.
    early: Vec<std::sync::OnceLock<Result<CheckedFile, FileError>>>,
    /// Absolute path (bytes) -> index, for the files a module lookup may find.
    by_path: foldhash::HashMap<std::ffi::OsString, usize>,
    workspace: &'a Workspace,
    fixing: Option<Applicability>,
    cache: Option<&'a Cache>,
}

/// How many checks may be running ahead of their turn on one thread, one inside another: each
/// holds a parsed file (on HA, early checks raise the peak from 27 to 31 MiB; a third level
/// saved no time).
const EARLY_DEPTH: usize = 2;

thread_local! {
    static EARLY_RUNNING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl<'a> Checks<'a> {
    fn new(
        files: &'a [PathBuf],
        located: Vec<Located>,
        workspace: &'a Workspace,
        fixing: Option<Applicability>,
        cache: Option<&'a Cache>,
    ) -> Self {
        let by_path = located
            .iter()
            .enumerate()
            .map(|(index, located)| (located.absolute_path.as_os_str().to_os_string(), index))
            .collect();
        Self {
            files,
            early: located.iter().map(|_| std::sync::OnceLock::new()).collect(),
            located: located.into_iter().map(|located| std::sync::Mutex::new(Some(located))).collect(),
            by_path,
            workspace,
            fixing,
            cache,
        }
    }

    /// The module `located` is, as its importers find it (name, is a package), when a check
    /// of it on its turn should tell them what they ask: an importer has asked for its helper
    /// facts already, not with `--fix` (importers read the files as they were before any fix),
    /// and only when the module's name finds this very file.
    fn asked_for(&self, located: &Located) -> Option<(String, bool)> {
        let module = located.module.as_ref().filter(|_| self.fixing.is_none())?;
        if !self.workspace.wants_facts(&module.name) {
            return None;
        }
        let found = self.workspace.find_file(&module.name)?;
        (found == located.absolute_path).then(|| (module.name.clone(), module.is_package))
    }

    fn take(&self, index: usize) -> Option<Located> {
        self.located.get(index)?.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }

    /// Every file's result, in order.
    fn run(self) -> Vec<Result<CheckedFile, FileError>> {
        let on_turn: Vec<Option<Result<CheckedFile, FileError>>> = (0..self.files.len())
            .into_par_iter()
            .map(|index| {
                let located = self.take(index)?;
                // A module checked on its turn tells its importers what they ask only when one
                // has asked for its helper facts already: summarizing every file parsed cost
                // more than the second parses for summaries it saved (HA: +0.9% instructions).
                let module = self.asked_for(&located);
                let request = module.as_ref().map(|(name, is_package)| ModuleRequest {
                    module: (name, *is_package),
                    always: false,
                    facts: true,
                });
                Some(
                    check_file(&self.files[index], located, (self.workspace, &self), self.fixing, self.cache, request)
                        .map(|(file, outputs)| {
                            if let (Some((name, _)), Some(summary)) = (&module, outputs.summary) {
                                self.workspace.offer_summary(name, summary);
                            }
                            without_clean_text(file)
                        }),
                )
            })
            .collect();
        on_turn
            .into_iter()
            .zip(self.early)
            .zip(self.files)
            .map(|((on_turn, early), path)| {
                // Every check that was taken ran to its end before the parallel loop ended.
                on_turn.or_else(|| early.into_inner()).unwrap_or_else(|| Err(FileError::new(path, "was not checked")))
            })
            .collect()
    }
}

/// The text is kept only to print findings or write fixes: every clean file's, kept until all
/// are checked, would hold as much memory as the whole tree's sources.
fn without_clean_text(mut file: CheckedFile) -> CheckedFile {
    if file.diagnostics.is_empty() && file.original.is_none() {
        file.source = String::new();
    }
    file
}

impl ModuleSource for Checks<'_> {
    fn helper_facts(&self, module: &str) -> Option<Arc<crate::analysis::index::HelperFacts>> {
        self.workspace.helper_facts(module)
    }

    fn summary(&self, module: &str) -> Option<Arc<ModuleSummary>> {
        if let Some(known) = self.workspace.known_summary(module) {
            return known;
        }
        let file = self.workspace.find_file(module);
        // With `--fix`, summaries are of the files as they are on disk, before any fix.
        if self.fixing.is_none()
            && EARLY_RUNNING.get() < EARLY_DEPTH
            && let Some(found) = &file
            && let Some(&index) = self.by_path.get(found.as_os_str())
            && let Some(located) = self.take(index)
        {
            let is_package = crate::workspace::is_package_file(found);
            EARLY_RUNNING.set(EARLY_RUNNING.get() + 1);
            // An importer asks: the one that asks for the summary asks for the facts next.
            let request = ModuleRequest { module: (module, is_package), always: true, facts: true };
            let result =
                check_file(&self.files[index], located, (self.workspace, self), None, self.cache, Some(request));
            EARLY_RUNNING.set(EARLY_RUNNING.get() - 1);
            let result = result.map(|(file, outputs)| {
                if let Some(summary) = outputs.summary {
                    self.workspace.offer_summary(module, summary);
                }
                without_clean_text(file)
            });
            if let Some(early) = self.early.get(index) {
                let _ = early.set(result);
            }
        }
        // Found once: the file's own check may have offered the summary, or it is read here.
        self.workspace.summary_in_file(module, file)
    }
}

/// Lints one text, after fixing it at `fixing` when given.
fn check_bytes(
    path: &Path,
    bytes: Vec<u8>,
    resolver: &Resolver,
    workspace: &Workspace,
    fixing: Option<Applicability>,
) -> Result<CheckedFile, FileError> {
    let lookup = if path.as_os_str() == "-" { Path::new("stdin.py") } else { path };
    let settings =
        settings_for_file(lookup, resolver.settings_for(lookup).map_err(|error| config_error(path, &error))?);
    let module = workspace.module_of(lookup);
    check_text(path, bytes, &settings, module.as_ref(), workspace, fixing)
}

/// Lints one text with the given settings, module name and view of other modules, after
/// fixing it at `fixing` when given.
fn check_text(
    path: &Path,
    bytes: Vec<u8>,
    settings: &LintSettings,
    module: Option<&ModuleName>,
    modules: &dyn ModuleSource,
    fixing: Option<Applicability>,
) -> Result<CheckedFile, FileError> {
    check_text_and_summarize(path, bytes, settings, module, modules, fixing, None).map(|(file, _)| file)
}

/// [`check_text`], also summarizing the text as module `summarize_as` (name, is a package)
/// from the same parse when given and not fixing.
fn check_text_and_summarize(
    path: &Path,
    bytes: Vec<u8>,
    settings: &LintSettings,
    module: Option<&ModuleName>,
    modules: &dyn ModuleSource,
    fixing: Option<Applicability>,
    request: Option<ModuleRequest<'_>>,
) -> Result<(CheckedFile, ModuleOutputs), FileError> {
    let source = String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let line = std::str::from_utf8(&error.as_bytes()[..valid]).map_or(1, |prefix| prefix.matches('\n').count() + 1);
        FileError {
            path: path.to_path_buf(),
            line: Some(line),
            message: "not valid UTF-8; loopwise reads Python source as UTF-8".to_string(),
            over_limit: false,
        }
    })?;
    let lookup = if path.as_os_str() == "-" { Path::new("stdin.py") } else { path };
    if notebook::is_notebook(lookup) {
        let notebook = read_notebook(path, source)?;
        return check_notebook(path, notebook, settings, module, modules, fixing)
            .map(|file| (file, ModuleOutputs::default()));
    }
    let view = module.map(|module| WorkspaceView { modules, module: &module.name, is_package: module.is_package });
    let absolute_path = absolute(lookup);
    let lint = |text: &str| {
        analysis::check_source_in_workspace(text, Some(&absolute_path), settings, view.as_ref(), SyntaxErrors::Report)
    };
    let mut outputs = ModuleOutputs::default();
    let (source, diagnostics, fixed, original) = match (fixing, request) {
        (None, Some(request)) => {
            let diagnostics;
            (diagnostics, outputs) =
                analysis::lint_source_for_importers(&source, Some(&absolute_path), settings, view.as_ref(), request);
            (source, diagnostics, 0, None)
        }
        (None, None) => {
            let diagnostics = lint(&source);
            (source, diagnostics, 0, None)
        }
        (Some(level), _) => {
            let result = fixer::fix_until_stable(&source, level, lint);
            if result.text == source {
                (source, result.remaining, 0, None)
            } else {
                (result.text, result.remaining, result.applied, Some(source))
            }
        }
    };
    Ok((CheckedFile { path: path.to_path_buf(), source, diagnostics, fixed, original, notebook: None }, outputs))
}

/// Reads the notebook at `path` from its text; an invalid one is an error naming the file.
fn read_notebook(path: &Path, text: String) -> Result<Notebook, FileError> {
    Notebook::parse(text).map_err(|error| FileError {
        path: path.to_path_buf(),
        line: error.line,
        message: error.message,
        over_limit: false,
    })
}

/// [`check_text`] for a notebook: its joined source is linted (and fixed, keeping the line
/// breaks between cells), and fixes are written back into the cells they changed. Notebooks are
/// nobody's module, so no summary is made.
fn check_notebook(
    path: &Path,
    notebook: Notebook,
    settings: &LintSettings,
    module: Option<&ModuleName>,
    modules: &dyn ModuleSource,
    fixing: Option<Applicability>,
) -> Result<CheckedFile, FileError> {
    let view = module.map(|module| WorkspaceView { modules, module: &module.name, is_package: module.is_package });
    let absolute_path = absolute(path);
    let lint = |text: &str| {
        analysis::check_source_in_workspace(text, Some(&absolute_path), settings, view.as_ref(), SyntaxErrors::Report)
    };
    let source = notebook.joined_source().to_string();
    let unfixed = |diagnostics, notebook| CheckedFile {
        path: path.to_path_buf(),
        source: source.clone(),
        diagnostics,
        fixed: 0,
        original: None,
        notebook: Some(Box::new(NotebookFile { notebook, changed: Vec::new(), original_raw: String::new() })),
    };
    let Some(level) = fixing else {
        return Ok(unfixed(lint(&source), notebook));
    };
    let mut separators = notebook.separators();
    let result = fixer::fix_until_stable_keeping(&source, level, lint, &mut separators);
    if result.text == source {
        return Ok(unfixed(result.remaining, notebook));
    }
    let failure =
        |message: String| FileError::new(path, format!("cannot write the fixes into the notebook: {message}"));
    let written = notebook.write_back(&result.text, &separators).map_err(|error| failure(error.message))?;
    if written.changed.is_empty() {
        // The fixes only rewrote blanked lines as they were: the notebook is unchanged.
        return Ok(unfixed(lint(&source), notebook));
    }
    let fixed = Notebook::parse(written.text).map_err(|error| failure(error.message))?;
    // Blanking the fixed cells again gives the fixed text, unless a fix wrote a line that
    // reads as a magic: then the findings are those of what the notebook now holds.
    let remaining = if fixed.joined_source() == result.text { result.remaining } else { lint(fixed.joined_source()) };
    Ok(CheckedFile {
        path: path.to_path_buf(),
        source: fixed.joined_source().to_string(),
        diagnostics: remaining,
        fixed: result.applied,
        original: Some(source),
        notebook: Some(Box::new(NotebookFile {
            notebook: fixed,
            changed: written.changed,
            original_raw: notebook.raw().to_string(),
        })),
    })
}

fn config_error(path: &Path, error: &ConfigError) -> FileError {
    // The configuration file is what is wrong: name it and its line, not the file being checked.
    match &error.path {
        Some(config) => {
            FileError { path: config.clone(), line: error.line, message: error.message.clone(), over_limit: false }
        }
        None => FileError::new(path, error.message.clone()),
    }
}

fn absolute(path: &Path) -> PathBuf {
    // The walk's paths are `./a/b` or `src/a/b`: relative, with no `.` or empty component
    // after a first `./` and no trailing `/`, joined to the current folder they are already
    // what `std::path::absolute` makes of them, and it takes every path apart (a twentieth of
    // a cached run on HA).
    if let Some(rest) = path.to_str().map(|text| text.strip_prefix("./").unwrap_or(text))
        && let Some(current) = crate::config::current_folder()
        && !rest.is_empty()
        && !rest.starts_with('/')
        && !rest.ends_with('/')
        && !rest.split('/').any(|component| component.is_empty() || component == ".")
    {
        return current.join(rest);
    }
    let joined = match crate::config::current_folder() {
        Some(current) if path.is_relative() => current.join(path),
        _ => path.to_path_buf(),
    };
    std::path::absolute(&joined).unwrap_or(joined)
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The files a walk checks: Python modules, stubs and notebooks.
fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "py" || extension == "pyi" || extension == "ipynb")
}

/// The Python files below `roots`, honouring .gitignore, hidden files and `exclude`. A file
/// named on the command line is always checked.
fn collect_files(roots: &[PathBuf], resolver: &Arc<Resolver>) -> (Vec<(PathBuf, Option<Stamp>)>, Vec<FileError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let skipped = Arc::new(std::sync::Mutex::new(Vec::new()));
    for root in roots {
        if root.is_file() {
            files.push((root.clone(), None));
            continue;
        }
        let Ok(metadata) = std::fs::metadata(root) else {
            errors.push(FileError::new(root, "no such file or folder"));
            continue;
        };
        if !metadata.is_dir() {
            // Reading a FIFO or a device would wait forever or never end.
            let kind = crate::files::special_kind(&metadata.file_type());
            errors.push(FileError::new(root, format!("not a regular file or a folder ({kind}): not checked")));
            continue;
        }
        if let Some(ignore_file) = crate::files::special_ignore_file(root) {
            errors.push(FileError::new(
                &ignore_file,
                "not a regular file: the walk would wait on it forever, so this folder is not checked",
            ));
            continue;
        }
        let found = std::sync::Mutex::new((Vec::new(), Vec::new()));
        // Folders are read on every core, as ruff and ripgrep do, but by two workers per core:
        // a worker that finds the queue empty sleeps for a millisecond, and with one per core
        // a core idled for much of a walk (HA, cached: 62.5 -> 56.9 ms).
        let workers = std::thread::available_parallelism().map_or(2, |cores| cores.get().saturating_mul(2).min(24));
        let skipped_ref = Arc::clone(&skipped);
        let listed = Arc::clone(resolver);
        let mut walk = ignore::WalkBuilder::new(root);
        // The walk reads each folder's `.gitignore` and `.ignore` as it enters the folder: a FIFO
        // there would block it forever, so such a folder is left out, and said so.
        walk.filter_entry(move |entry| {
            if entry.depth() == 0 || !entry.file_type().is_some_and(|kind| kind.is_dir()) {
                return true;
            }
            // The folder's listing, which its configuration is looked up in anyway, says
            // whether it holds either file: most folders hold neither, and cost no question.
            let folder = absolute(entry.path());
            if ![".gitignore", ".ignore"].into_iter().any(|name| listed.folder_may_hold(&folder, name)) {
                return true;
            }
            match crate::files::special_ignore_file(entry.path()) {
                Some(ignore_file) => {
                    lock(&skipped_ref).push(format!(
                        "{}: not a regular file, so the folder {} is not checked",
                        crate::files::shown(&ignore_file),
                        crate::files::shown(entry.path())
                    ));
                    false
                }
                None => true,
            }
        });
        walk.threads(workers).build_parallel().run(|| {
            let resolver = Arc::clone(resolver);
            let found = &found;
            let skipped = &skipped;
            // Each worker visits a folder's entries one after the other: the configuration of
            // the last folder answers for its files without a lookup.
            let mut last: Option<(PathBuf, Option<Arc<Configuration>>)> = None;
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(error) => {
                        lock(found).1.push(FileError::new(root, error.to_string()));
                        return ignore::WalkState::Continue;
                    }
                };
                let is_folder = entry.file_type().is_some_and(|kind| kind.is_dir());
                let is_file = entry.file_type().is_some_and(|kind| kind.is_file());
                if !(is_folder || is_file && is_python(entry.path())) {
                    // A Python name on a FIFO, socket or device: said, never read. (Links are
                    // not followed by the walk, as ruff's is not.)
                    if let Some(kind) =
                        entry.file_type().filter(|kind| !kind.is_symlink() && !kind.is_dir() && !kind.is_file())
                        && is_python(entry.path())
                    {
                        let kind = crate::files::special_kind(&kind);
                        let shown = crate::files::shown(entry.path());
                        lock(skipped).push(format!("{shown}: not a regular file ({kind}): not checked"));
                    }
                    return ignore::WalkState::Continue;
                }
                // A folder named on the command line is checked even when excluded.
                if entry.depth() == 0 {
                    return ignore::WalkState::Continue;
                }
                // The walk knows which entries are folders: no need to ask the file system.
                let folder = if is_folder { Some(entry.path()) } else { entry.path().parent() };
                let Some(folder) = folder else { return ignore::WalkState::Continue };
                let configuration = match &last {
                    Some((known, configuration)) if known == folder => configuration.clone(),
                    _ => {
                        // A configuration error surfaces when a file under it is checked.
                        let configuration = resolver.configuration_in(&absolute(folder)).ok();
                        last = Some((folder.to_path_buf(), configuration.clone()));
                        configuration
                    }
                };
                if configuration.is_some_and(|configuration| configuration.is_excluded_entry(entry.path())) {
                    return ignore::WalkState::Skip;
                }
                if !is_folder {
                    // A regular file (the walk does not follow links), so the entry's own
                    // metadata is the file's.
                    let stamp = entry.metadata().ok().and_then(|metadata| Stamp::from_metadata(&metadata));
                    let path = entry.path().strip_prefix("./").unwrap_or(entry.path()).to_path_buf();
                    lock(found).0.push((path, stamp));
                }
                ignore::WalkState::Continue
            })
        });
        let (walked, failed) = found.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        files.extend(walked);
        errors.extend(failed);
    }
    let mut skipped = std::mem::take(&mut *lock(&skipped));
    skipped.sort();
    skipped.dedup();
    for notice in skipped {
        eprintln!("warning: {notice}");
    }
    // Sorted as paths compare (by component), but through byte keys: comparing the paths
    // themselves was a twelfth of a cached run, all of it on one core.
    let mut keyed: Vec<_> = files.into_par_iter().map(|file| (component_order_key(&file.0), file)).collect();
    keyed.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    keyed.dedup_by(|a, b| a.0 == b.0);
    (keyed.into_iter().map(|(_, file)| file).collect(), errors)
}

/// Bytes that compare as `path`'s components do (`Path`'s `Ord`): a tag per component in the
/// order of `Component`'s variants, a normal component's bytes after its tag, and a 0 byte
/// (which no path holds) after each component, so that a component sorts before any longer
/// one it begins. Equal keys are equal paths.
fn component_order_key(path: &Path) -> Vec<u8> {
    use std::path::Component;
    let mut key = Vec::with_capacity(path.as_os_str().len() + 8);
    for component in path.components() {
        match component {
            Component::Prefix(prefix) => {
                key.push(1);
                key.extend_from_slice(prefix.as_os_str().as_encoded_bytes());
            }
            Component::RootDir => key.push(2),
            Component::CurDir => key.push(3),
            Component::ParentDir => key.push(4),
            Component::Normal(name) => {
                key.push(5);
                key.extend_from_slice(name.as_encoded_bytes());
            }
        }
        key.push(0);
    }
    key
}

/// `loopwise rule CODE` and `loopwise rule --all` (with `--output-format markdown`, the whole
/// rule reference: `docs/rules.md`).
pub fn rule(code: Option<&str>, all: bool, format: RuleFormat) -> ExitCode {
    let mut out = io::stdout().lock();
    let text = match code {
        Some(code) if !all => {
            let Some(rule) =
                Rule::from_code(code).or_else(|| Rule::ALL.iter().copied().find(|rule| rule.is_named_by(code)))
            else {
                eprintln!("error: unknown rule `{code}`; `loopwise rule --all` lists every rule");
                return ExitCode::from(2);
            };
            rule.meta().explanation()
        }
        _ => match format {
            RuleFormat::Text => rule_table(),
            RuleFormat::Markdown => rules_markdown(),
        },
    };
    if let Err(error) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write: {error}");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::{absolute, component_order_key};
    use std::path::Path;

    #[test]
    fn absolute_paths_are_what_std_makes_of_the_joined_paths() {
        let current = crate::config::current_folder().expect("a current folder");
        let paths = [
            "./a/b.py",
            "a/b.py",
            "./a",
            "a",
            "./a/../b.py",
            "../a.py",
            ".",
            "./",
            "./.",
            "a/./b.py",
            "a//b.py",
            "a/b/",
            "./a/b/.",
            "/a/b.py",
            "/",
            ".//a",
            "./.hidden/x.py",
            "a/..",
            "é/ü.py",
        ];
        for path in paths {
            let expected = std::path::absolute(current.join(path)).expect("absolute");
            assert_eq!(absolute(Path::new(path)), expected, "{path}");
        }
    }

    #[test]
    fn component_order_keys_sort_as_paths_do() {
        let paths = [
            "a/b.py",
            "a/b/c.py",
            "a/b2/c.py",
            "a/b-c.py",
            "a/b c.py",
            "a/+x.py",
            "a/../x.py",
            "../a.py",
            "./a.py",
            "a.py",
            "/a.py",
            "/b/a.py",
            "a//b.py",
            "a/./b.py",
            "a/b/",
            "a/B.py",
            "a/\u{e9}.py",
            "ab/c.py",
            "a",
        ];
        for left in paths {
            for right in paths {
                let (left, right) = (Path::new(left), Path::new(right));
                assert_eq!(
                    component_order_key(left).cmp(&component_order_key(right)),
                    left.cmp(right),
                    "{} against {}",
                    left.display(),
                    right.display()
                );
            }
        }
    }
}
