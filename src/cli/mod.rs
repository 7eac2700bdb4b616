//! `loopwise check` and `loopwise rule`: walking files the way ruff and ripgrep do, checking
//! them in parallel, printing findings and choosing the exit code.
//!
//! Owns file discovery, reading, output formats and exit codes. The engine decides what is a
//! finding; the configuration decides which rules run.

mod output;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use rayon::prelude::*;

use crate::analysis::{self, Diagnostic, WorkspaceView};
use crate::config::{ConfigError, Options, Resolver};
use crate::rules::{Rule, parse_selector};
use crate::workspace::Workspace;

pub use output::OutputFormat;

/// What `loopwise check` was asked to do: its command-line arguments.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CheckArgs {
    /// Files or folders to check (default: the current folder); `-` reads standard input.
    pub paths: Vec<PathBuf>,
    /// How to print findings.
    #[arg(long, value_enum, default_value_t = OutputFormat::Full)]
    pub output_format: OutputFormat,
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
    /// Print counts per rule instead of the findings.
    #[arg(long)]
    pub statistics: bool,
    /// The file name to report (and to find configuration for) when reading standard input.
    #[arg(long)]
    pub stdin_filename: Option<PathBuf>,
}

/// One checked file with its findings.
pub struct CheckedFile {
    /// The path as the user will read it (relative to where they ran the command when below it).
    pub path: PathBuf,
    /// The text, kept only when there are findings to print.
    pub source: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// A problem that stopped one file from being checked; every other file still is.
#[derive(Debug, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl FileError {
    fn new(path: &Path, message: impl Into<String>) -> Self {
        Self { path: path.to_path_buf(), line: None, message: message.into() }
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
    let (checked, errors) = run(args, &resolver);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let findings: usize = checked.iter().map(|file| file.diagnostics.len()).sum();
    let written = if args.statistics {
        output::write_statistics(&mut out, &checked, args.output_format)
    } else {
        output::write(&mut out, &checked, args.output_format)
    };
    if let Err(error) = written.and_then(|()| out.flush())
        && error.kind() != io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write the report: {error}");
        return ExitCode::from(2);
    }
    for error in &errors {
        eprintln!("error: {error}");
    }
    if !errors.is_empty() {
        ExitCode::from(2)
    } else if findings > 0 && !args.exit_zero {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
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
        ..Options::default()
    };
    if let Some(version) = &args.target_version
        && analysis::PythonVersion::parse(version).is_none()
    {
        return Err(format!("--target-version: `{version}` is not a Python version (expected e.g. 3.11 or py311)"));
    }
    Ok(options)
}

/// Checks everything `args` names: the walked files in parallel, or standard input.
pub fn run(args: &CheckArgs, resolver: &Arc<Resolver>) -> (Vec<CheckedFile>, Vec<FileError>) {
    let reads_stdin = args.paths.iter().any(|path| path.as_os_str() == "-")
        || (args.paths.is_empty() && args.stdin_filename.is_some());
    if reads_stdin {
        let name = args.stdin_filename.clone().unwrap_or_else(|| PathBuf::from("-"));
        let mut bytes = Vec::new();
        if let Err(error) = io::stdin().read_to_end(&mut bytes) {
            return (Vec::new(), vec![FileError::new(&name, format!("cannot read standard input: {error}"))]);
        }
        return match check_bytes(&name, bytes, resolver, &Workspace::default()) {
            Ok(file) => (vec![file], Vec::new()),
            Err(error) => (Vec::new(), vec![error]),
        };
    }
    let roots = if args.paths.is_empty() { vec![PathBuf::from(".")] } else { args.paths.clone() };
    let (files, mut errors) = collect_files(&roots, resolver);
    // Modules that checked files import are read from here, lazily, once each.
    let workspace = Workspace::default();
    let results: Vec<Result<CheckedFile, FileError>> = files
        .par_iter()
        .map(|path| {
            let bytes = std::fs::read(path).map_err(|error| FileError::new(path, format!("cannot read: {error}")))?;
            check_bytes(path, bytes, resolver, &workspace)
        })
        .collect();
    let mut checked = Vec::new();
    for result in results {
        match result {
            Ok(file) => checked.push(file),
            Err(error) => errors.push(error),
        }
    }
    checked.sort_by(|a, b| a.path.cmp(&b.path));
    // A broken configuration file is reported once, not once per file under it.
    errors.sort_by(|a, b| (&a.path, a.line, &a.message).cmp(&(&b.path, b.line, &b.message)));
    errors.dedup();
    (checked, errors)
}

fn check_bytes(
    path: &Path,
    bytes: Vec<u8>,
    resolver: &Resolver,
    workspace: &Workspace,
) -> Result<CheckedFile, FileError> {
    let source = String::from_utf8(bytes).map_err(|error| {
        let valid = error.utf8_error().valid_up_to();
        let line = std::str::from_utf8(&error.as_bytes()[..valid]).map_or(1, |prefix| prefix.matches('\n').count() + 1);
        FileError {
            path: path.to_path_buf(),
            line: Some(line),
            message: "not valid UTF-8; loopwise reads Python source as UTF-8".to_string(),
        }
    })?;
    let lookup = if path.as_os_str() == "-" { Path::new("stdin.py") } else { path };
    let settings = resolver.settings_for(lookup).map_err(|error| config_error(path, &error))?;
    let module = workspace.module_of(lookup);
    let view = module.as_ref().map(|module| WorkspaceView {
        modules: workspace,
        module: &module.name,
        is_package: module.is_package,
    });
    let diagnostics = analysis::lint_source_in_workspace(&source, Some(&absolute(lookup)), &settings, view.as_ref());
    // The text is kept only to print findings: a clean file's would just hold memory.
    let source = if diagnostics.is_empty() { String::new() } else { source };
    Ok(CheckedFile { path: path.to_path_buf(), source, diagnostics })
}

fn config_error(path: &Path, error: &ConfigError) -> FileError {
    // The configuration file is what is wrong: name it and its line, not the file being checked.
    match &error.path {
        Some(config) => FileError { path: config.clone(), line: error.line, message: error.message.clone() },
        None => FileError::new(path, error.message.clone()),
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "py" || extension == "pyi")
}

/// The Python files below `roots`, honouring .gitignore, hidden files and `exclude`. A file
/// named on the command line is always checked.
fn collect_files(roots: &[PathBuf], resolver: &Arc<Resolver>) -> (Vec<PathBuf>, Vec<FileError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for root in roots {
        if root.is_file() {
            files.push(root.clone());
            continue;
        }
        if !root.exists() {
            errors.push(FileError::new(root, "no such file or folder"));
            continue;
        }
        let resolver = Arc::clone(resolver);
        let walker = ignore::WalkBuilder::new(root)
            .filter_entry(move |entry| {
                // A configuration error surfaces when a file under it is checked.
                resolver
                    .configuration_for(entry.path())
                    .map_or(true, |configuration| !configuration.is_excluded(entry.path()))
            })
            .build();
        for entry in walker {
            match entry {
                Ok(entry) if entry.file_type().is_some_and(|kind| kind.is_file()) && is_python(entry.path()) => {
                    files.push(entry.path().strip_prefix("./").unwrap_or(entry.path()).to_path_buf());
                }
                Ok(_) => {}
                Err(error) => errors.push(FileError::new(root, error.to_string())),
            }
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}

/// `loopwise rule CODE` and `loopwise rule --all`.
pub fn rule(code: Option<&str>, all: bool) -> ExitCode {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if all || code.is_none() {
        for rule in Rule::ALL {
            let meta = rule.meta();
            let state = if meta.enabled_by_default { meta.default_severity.as_str() } else { "off" };
            let _ = writeln!(out, "{}  {:<34} {:<8} {}", meta.code, meta.name, state, meta.summary);
        }
        return ExitCode::SUCCESS;
    }
    let code = code.unwrap_or_default();
    let Some(rule) = Rule::from_code(code).or_else(|| Rule::ALL.iter().copied().find(|rule| rule.is_named_by(code)))
    else {
        eprintln!("error: unknown rule `{code}`; `loopwise rule --all` lists every rule");
        return ExitCode::from(2);
    };
    let _ = write!(out, "{}", rule.meta().explanation());
    ExitCode::SUCCESS
}
