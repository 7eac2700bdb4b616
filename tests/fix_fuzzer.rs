//! The fix fuzzer: pitfall snippets (the flagged statements of the rule fixtures whose
//! finding has a fix) inserted at seeded statement boundaries of real files, with LF, CRLF or
//! lone-CR line breaks, some left half-typed (a truncated line, a missing colon, an unclosed
//! bracket). For every mutant, `loopwise check --fix --unsafe-fixes`:
//! - leaves code Python compiles, when Python compiled the mutant;
//! - changes nothing when run a second time (a fix applied once is not offered again), nor
//!   does a second `--fix` with the safe fixes alone (what an editor's fix-all applies);
//! - writes exactly what the `--diff --unsafe-fixes` patch says.
//!
//! `LOOPWISE_FUZZ_SEEDS` (default 2) seeds run from `LOOPWISE_FUZZ_FIRST_SEED` (default 0);
//! a failure names the seed and the mutant's file, and prints the mutant. The binary runs once
//! per round over a folder holding every mutant, and Python (`$LOOPWISE_PYTHON`, else
//! `python3`) compiles a whole batch per process.

mod binary;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use loopwise::analysis::source::parse;
use loopwise::analysis::{LintSettings, lint_source};
use loopwise::config::{Options, ProjectFacts, lint_settings};
use loopwise::rules::{Rule, RuleSet};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tree_sitter::Node;

// --- The snippets: derived from the fixtures ---

/// Where a statement stands: what its nearest enclosing scope is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Module,
    Class,
    Function,
    AsyncFunction,
}

/// Files by name and content.
type ProjectFiles = Vec<(String, Vec<u8>)>;

/// A fixture's flagged statement whose finding has a fix, with what it needs around it.
#[derive(Debug, Clone)]
struct Snippet {
    rule: Rule,
    /// The fixture's name and line, to say where a failing mutant's snippet came from.
    origin: String,
    scope: Scope,
    /// The statement, dedented to column 0, LF line breaks, ending in a line break.
    statement: String,
    /// The fixture's imports and top-level definitions that flag nothing, dedented.
    prelude: String,
    /// The fixture's `# settings:` lines (configuration-file TOML).
    settings: Vec<String>,
    /// The non-Python files of a folder fixture (its pytest.ini), with the name a mutant
    /// file needs there (`test_*.py`), if any.
    project: Option<(ProjectFiles, String)>,
}

fn fixture_folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn sorted_entries(folder: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| entry.expect("readable folder entry").path())
        .collect();
    entries.sort();
    entries
}

fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension == "py")
}

/// The fixture files with their rule (from the file's or the folder's name).
fn fixtures() -> Vec<(PathBuf, Rule)> {
    let rule_of = |name: &str| Rule::from_code(&name.split('_').next().unwrap_or_default().to_ascii_uppercase());
    let mut files = Vec::new();
    for path in sorted_entries(&fixture_folder()) {
        let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let Some(rule) = rule_of(&name) else { continue };
        if path.is_dir() {
            files.extend(sorted_entries(&path).into_iter().filter(|file| is_python(file)).map(|file| (file, rule)));
        } else if is_python(&path) {
            files.push((path, rule));
        }
    }
    files
}

/// The fixture's settings with only its rule selected, as tests/fixtures.rs builds them.
fn fixture_settings(path: &Path, settings: &[String], rule: Rule) -> LintSettings {
    let options = Options::from_file(Path::new("loopwise.toml"), &settings.join("\n"))
        .unwrap_or_else(|error| panic!("{}: bad `# settings:` header: {error}", path.display()))
        .unwrap_or_default();
    let mut lint = LintSettings { rules: [rule].into_iter().collect::<RuleSet>(), ..lint_settings(&options) };
    if let Some(folder) = path.parent().filter(|folder| *folder != fixture_folder()) {
        lint.test_runners = ProjectFacts::default().pytest(folder).runners();
    }
    lint
}

/// The 0-based lines with a trailing `# ... CODE` marker for `rule`.
fn marked_lines(source: &str, rule: Rule) -> Vec<usize> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| {
            let Some((code, comment)) = line.rsplit_once('#') else { return false };
            let words: Vec<&str> = comment.split([',', ' ']).filter(|word| !word.is_empty()).collect();
            !code.trim().is_empty() && words.iter().all(|word| word.starts_with("LW")) && words.contains(&rule.code())
        })
        .map(|(index, _)| index)
        .collect()
}

fn is_block(node: Node<'_>) -> bool {
    matches!(node.kind(), "module" | "block")
}

/// The statement holding `node`: the ancestor whose parent is a block or the module.
fn statement_of(mut node: Node<'_>) -> Option<Node<'_>> {
    loop {
        let parent = node.parent()?;
        if is_block(parent) {
            return Some(node);
        }
        node = parent;
    }
}

fn scope_of(statement: Node<'_>) -> Scope {
    let mut node = statement;
    while let Some(parent) = node.parent() {
        match parent.kind() {
            "function_definition" if parent.child(0).is_some_and(|first| first.kind() == "async") => {
                return Scope::AsyncFunction;
            }
            "function_definition" | "lambda" => return Scope::Function,
            "class_definition" => return Scope::Class,
            _ => node = parent,
        }
    }
    Scope::Module
}

/// The text of `node` from its line's indentation on, dedented by that indentation, with a
/// final line break.
fn dedented(source: &str, node: Node<'_>) -> String {
    let column = node.start_position().column;
    let line_start = node.start_byte() - column;
    let line_end = source[node.end_byte()..].find('\n').map_or(source.len(), |end| node.end_byte() + end);
    let mut text = String::new();
    for line in source[line_start..line_end].split('\n') {
        let indent = line.len() - line.trim_start_matches(' ').len();
        text.push_str(&line[indent.min(column)..]);
        text.push('\n');
    }
    text
}

fn snippets() -> Vec<Snippet> {
    let mut snippets = Vec::new();
    for (path, rule) in fixtures() {
        let source = std::fs::read_to_string(&path).expect("fixture is UTF-8");
        let settings: Vec<String> =
            source.lines().filter_map(|line| line.strip_prefix("# settings: ")).map(str::to_string).collect();
        let lint = fixture_settings(&path, &settings, rule);
        let diagnostics = lint_source(&source, Some(&path), &lint);
        let tree = parse(&source);
        let root = tree.root_node();
        let marked = marked_lines(&source, rule);
        let line_of = |offset: usize| source[..offset].matches('\n').count();
        // Imports and the top-level definitions that flag nothing: the names a snippet uses.
        let mut prelude = String::new();
        for statement in root.named_children(&mut root.walk()) {
            let (first, last) = (statement.start_position().row, statement.end_position().row);
            let flags = marked.iter().any(|line| (first..=last).contains(line));
            let needed = matches!(
                statement.kind(),
                "import_statement"
                    | "import_from_statement"
                    | "expression_statement"
                    | "function_definition"
                    | "class_definition"
                    | "decorated_definition"
            );
            let docstring = statement.kind() == "expression_statement"
                && statement.named_child(0).is_some_and(|child| child.kind() == "string");
            if needed && !flags && !docstring {
                prelude.push_str(&dedented(&source, statement));
            }
        }
        let project = path.parent().filter(|folder| *folder != fixture_folder()).map(|folder| {
            let files = sorted_entries(folder)
                .into_iter()
                .filter(|file| file.is_file() && !is_python(file))
                .map(|file| {
                    let name = file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
                    (name, std::fs::read(&file).expect("readable fixture file"))
                })
                .collect();
            let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            (files, name)
        });
        let name = path.strip_prefix(fixture_folder()).unwrap_or(&path).display().to_string();
        let mut seen = Vec::new();
        for line in marked {
            let fixable = diagnostics.iter().any(|diagnostic| {
                line_of(diagnostic.range.start) == line
                    && (diagnostic.fix.is_some() || !diagnostic.alternatives.is_empty())
            });
            let indent = source.lines().nth(line).map_or(0, |text| text.len() - text.trim_start().len());
            let start = source.split_inclusive('\n').take(line).map(str::len).sum::<usize>() + indent;
            let Some(statement) = root.descendant_for_byte_range(start, start).and_then(statement_of) else { continue };
            if !fixable || seen.contains(&statement.id()) {
                continue;
            }
            seen.push(statement.id());
            snippets.push(Snippet {
                rule,
                origin: format!("{name}:{}", line + 1),
                scope: scope_of(statement),
                statement: dedented(&source, statement),
                prelude: prelude.clone(),
                settings: settings.clone(),
                project: project.clone(),
            });
        }
    }
    snippets
}

// --- The real files and where a statement can go in them ---

fn real_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let mut folders = vec![root.join("tests/real_code"), root.join("examples")];
    while let Some(folder) = folders.pop() {
        for path in sorted_entries(&folder) {
            if path.is_dir() {
                folders.push(path);
            } else if is_python(&path) {
                let text = std::fs::read_to_string(&path).expect("real file is UTF-8");
                let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
                files.push((name, text.replace("\r\n", "\n")));
            }
        }
    }
    files.sort();
    files
}

/// A place between two statements: the byte offset of a line start, the indentation a
/// statement there needs, and the scope it would be in.
#[derive(Debug, Clone, Copy)]
struct Boundary {
    offset: usize,
    indent: usize,
    scope: Scope,
}

/// The starts of the statements that begin their own line, after any `from __future__`
/// import (nothing may come before one).
fn boundaries(source: &str) -> Vec<Boundary> {
    let tree = parse(source);
    let root = tree.root_node();
    let after_future = root
        .named_children(&mut root.walk())
        .filter(|child| child.kind() == "future_import_statement")
        .map(|child| child.end_byte())
        .max()
        .unwrap_or(0);
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        for child in node.named_children(&mut node.walk()) {
            stack.push(child);
            if !is_block(node) || child.kind() == "comment" || child.start_byte() < after_future {
                continue;
            }
            let column = child.start_position().column;
            let line_start = child.start_byte() - column;
            let own_line = source[line_start..child.start_byte()].bytes().all(|byte| byte == b' ');
            let continued = source[..line_start].trim_end_matches('\n').ends_with('\\');
            if own_line && !continued {
                found.push(Boundary { offset: line_start, indent: column, scope: scope_of(child) });
            }
        }
    }
    found.sort_by_key(|boundary| boundary.offset);
    found
}

fn indented(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    text.split_inclusive('\n')
        .map(|line| if line.trim().is_empty() { line.to_string() } else { format!("{pad}{line}") })
        .collect()
}

// --- Mutants ---

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineBreak {
    Lf,
    CrLf,
    Cr,
}

impl LineBreak {
    fn apply(self, text: &str) -> String {
        match self {
            LineBreak::Lf => text.to_string(),
            LineBreak::CrLf => text.replace('\n', "\r\n"),
            LineBreak::Cr => text.replace('\n', "\r"),
        }
    }
}

struct Mutant {
    seed: u64,
    line_break: LineBreak,
    /// `m<seed>_<index>/<file>`, relative to the fuzzing folder.
    path: String,
    text: String,
    /// Whether a line was broken on purpose (such a mutant need not compile).
    half_typed: bool,
    /// Where its snippets came from.
    origins: Vec<String>,
    settings: Vec<String>,
    project: ProjectFiles,
}

/// `real` with `snippet`'s prelude at a top-level boundary and its statement at a boundary of
/// the snippet's scope, or in a new function or class of that kind when `real` has none.
fn insert(rng: &mut StdRng, real: &str, snippet: &Snippet, serial: usize) -> (String, usize) {
    let places = boundaries(real);
    let wanted: Vec<&Boundary> = places.iter().filter(|boundary| boundary.scope == snippet.scope).collect();
    let (statement, at) = if !wanted.is_empty() && rng.random_bool(0.85) {
        let boundary = wanted[rng.random_range(0..wanted.len())];
        (indented(&snippet.statement, boundary.indent), boundary.offset)
    } else {
        let header = match snippet.scope {
            Scope::Module => String::new(),
            Scope::Class => format!("class _FuzzHost{serial}:\n"),
            Scope::Function => format!("def _fuzz_host_{serial}():\n"),
            Scope::AsyncFunction => format!("async def _fuzz_host_{serial}():\n"),
        };
        let body = if header.is_empty() { snippet.statement.clone() } else { indented(&snippet.statement, 4) };
        let top: Vec<usize> =
            places.iter().filter(|boundary| boundary.indent == 0).map(|boundary| boundary.offset).collect();
        let at = if top.is_empty() { real.len() } else { top[rng.random_range(0..top.len())] };
        (format!("{header}{body}"), at)
    };
    let mut text = real.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.insert_str(at.min(text.len()), &statement);
    // The prelude goes at a top-level boundary before the statement, so that what it defines
    // is there when a module-level snippet runs.
    let top: Vec<usize> = boundaries(real)
        .iter()
        .filter(|boundary| boundary.indent == 0 && boundary.offset <= at)
        .map(|boundary| boundary.offset)
        .collect();
    let prelude_at = if top.is_empty() { 0 } else { top[rng.random_range(0..top.len())] };
    text.insert_str(prelude_at, &snippet.prelude);
    (text, at + snippet.prelude.len())
}

/// Breaks the line at `at` as an unfinished edit would: cut short, without its colon, or with
/// a bracket left open.
fn half_type(rng: &mut StdRng, text: &str, at: usize) -> String {
    let line_end = text[at..].find('\n').map_or(text.len(), |end| at + end);
    let line = &text[at..line_end];
    let content_start = at + (line.len() - line.trim_start().len());
    let mut broken = text.to_string();
    match rng.random_range(0..3) {
        0 if line.trim_end().ends_with(':') => {
            let colon = at + line.trim_end().len() - 1;
            broken.remove(colon);
        }
        1 => broken.insert_str(line_end, " ("),
        _ => {
            let mut cut = rng.random_range(content_start..=line_end);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            broken.replace_range(cut..line_end, "");
        }
    }
    broken
}

fn mutants(seed: u64, snippets: &[Snippet], reals: &[(String, String)], line_break: LineBreak) -> Vec<Mutant> {
    // Each line break draws its own mutants from the seed.
    let mut rng = StdRng::seed_from_u64(seed * 8 + line_break as u64);
    let mut mutants = Vec::new();
    // Each fixable rule leads one mutant per seed, with one of its snippets picked at random.
    let mut rules: Vec<Rule> = snippets.iter().map(|snippet| snippet.rule).collect();
    rules.dedup();
    for (index, rule) in rules.into_iter().enumerate() {
        let of_rule: Vec<&Snippet> = snippets.iter().filter(|snippet| snippet.rule == rule).collect();
        let lead = of_rule[rng.random_range(0..of_rule.len())];
        let (real_name, real) = &reals[rng.random_range(0..reals.len())];
        let mut chosen = vec![lead];
        for _ in 0..rng.random_range(0..3) {
            chosen.push(&snippets[rng.random_range(0..snippets.len())]);
        }
        let mut text = real.clone();
        let mut last_at = 0;
        for (serial, snippet) in chosen.iter().enumerate() {
            (text, last_at) = insert(&mut rng, &text, snippet, serial);
        }
        let mut settings: Vec<String> = Vec::new();
        for line in chosen.iter().flat_map(|snippet| &snippet.settings) {
            let key = line.split('=').next().unwrap_or_default().trim();
            if !settings.iter().any(|taken| taken.split('=').next().unwrap_or_default().trim() == key) {
                settings.push(line.clone());
            }
        }
        let project = chosen.iter().find_map(|snippet| snippet.project.clone());
        let file_name = project.as_ref().map_or_else(|| real_name.clone(), |(_, name)| name.clone());
        let origins: Vec<String> =
            chosen.iter().map(|snippet| format!("{} ({})", snippet.origin, snippet.rule.code())).collect();
        let whole = Mutant {
            seed,
            line_break,
            path: format!("m{seed}_{line_break:?}_{index}/{file_name}"),
            text: line_break.apply(&text),
            half_typed: false,
            origins: origins.clone(),
            settings: settings.clone(),
            project: project.as_ref().map(|(files, _)| files.clone()).unwrap_or_default(),
        };
        // One or two lines broken among the inserted statement's first lines and the two
        // before it: where the user is typing.
        let mut broken = text.clone();
        for _ in 0..rng.random_range(1..=2) {
            let lines: Vec<usize> = std::iter::once(0)
                .chain(broken.match_indices('\n').map(|(index, _)| index + 1))
                .filter(|&start| start < broken.len())
                .collect();
            let here = lines.partition_point(|&start| start <= last_at).saturating_sub(1);
            let line = rng.random_range(here.saturating_sub(2)..(here + 3).min(lines.len()));
            broken = half_type(&mut rng, &broken, lines[line]);
        }
        mutants.push(Mutant {
            seed,
            line_break,
            path: format!("h{seed}_{line_break:?}_{index}/{file_name}"),
            text: line_break.apply(&broken),
            half_typed: true,
            origins,
            settings,
            project: whole.project.clone(),
        });
        mutants.push(whole);
    }
    mutants
}

// --- Python, as the judge of what compiles ---

fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !value.is_empty() && value != "false" && value != "0")
}

fn python() -> PathBuf {
    std::env::var_os("LOOPWISE_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

/// Reads a JSON list of sources and prints, for each, `null` when it compiles or the error.
const COMPILE_ALL: &str = "\
import json, sys
results = []
for source in json.load(sys.stdin):
    try:
        compile(source.encode('utf-8'), '<mutant>', 'exec', dont_inherit=True)
        results.append(None)
    except (SyntaxError, ValueError) as error:
        results.append(f'{type(error).__name__}: {error}')
json.dump(results, sys.stdout)
";

/// For each text, `None` when Python compiles it, else Python's error; `None` overall (after
/// saying SKIPPED, or failing under CI) when there is no Python to ask.
fn compile_all(texts: &[&str]) -> Option<Vec<Option<String>>> {
    let spawned = Command::new(python())
        .args(["-c", COMPILE_ALL])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            let missing =
                format!("`{}` cannot run ({error}); LOOPWISE_PYTHON names the Python to use", python().display());
            assert!(!on_ci(), "the fix fuzzer needs Python to compile its mutants: {missing}");
            let _ = writeln!(std::io::stderr(), "\n!!!!! SKIPPED: the fix fuzzer: {missing}\n");
            return None;
        }
    };
    let input = serde_json::to_vec(texts).expect("texts serialize");
    let mut stdin = child.stdin.take().expect("stdin");
    // Written from a thread: Python answers only after reading everything, and a big batch
    // would otherwise fill both pipes.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("python ends");
    writer.join().expect("the writer ends").expect("python reads its input");
    assert!(output.status.success(), "python failed: {}", String::from_utf8_lossy(&output.stderr));
    Some(serde_json::from_slice(&output.stdout).expect("python printed a JSON list"))
}

// --- The diff, applied as `patch` would ---

/// The per-file patches of `loopwise check --diff`, keyed by path.
fn split_patches(diff: &str) -> BTreeMap<String, Vec<String>> {
    let mut patches: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in diff.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("--- a/") {
            current = Some(name.trim_end_matches('\n').to_string());
            continue;
        }
        if line.starts_with("+++ b/") {
            continue;
        }
        if let Some(name) = &current {
            patches.entry(name.clone()).or_default().push(line.to_string());
        }
    }
    patches
}

/// `original` with the hunks of `patch` applied; `Err` says where the patch does not fit.
fn apply_patch(original: &str, patch: &[String]) -> Result<String, String> {
    let old = python_lines(original);
    let mut result = String::new();
    let mut next_old = 0;
    let mut lines = patch.iter().peekable();
    while let Some(header) = lines.next() {
        let range = header
            .strip_prefix("@@ -")
            .and_then(|rest| rest.split(' ').next())
            .ok_or_else(|| format!("not a hunk header: {header:?}"))?;
        let (start, count) = range.split_once(',').unwrap_or((range, "1"));
        let start: usize = start.parse().map_err(|_| format!("bad hunk start in {header:?}"))?;
        let count: usize = count.parse().map_err(|_| format!("bad hunk count in {header:?}"))?;
        let first = if count == 0 { start } else { start - 1 };
        if first < next_old || first > old.len() {
            return Err(format!("hunk {header:?} out of order or past the end"));
        }
        result.extend(old[next_old..first].iter().copied());
        next_old = first;
        while let Some(line) = lines.next_if(|line| !line.starts_with("@@")) {
            let mut content = line[1..].to_string();
            // The patch ends each line in `\n`; a marker line says the line had none.
            if lines.next_if(|next| next.starts_with("\\ No newline")).is_some() {
                content.pop();
            }
            match line.as_bytes().first() {
                Some(b' ' | b'-') => {
                    if old.get(next_old) != Some(&content.as_str()) {
                        return Err(format!(
                            "line {} is {:?}, the patch says {content:?}",
                            next_old + 1,
                            old.get(next_old)
                        ));
                    }
                    next_old += 1;
                    if line.starts_with(' ') {
                        result.push_str(&content);
                    }
                }
                Some(b'+') => result.push_str(&content),
                _ => return Err(format!("not a patch line: {line:?}")),
            }
        }
    }
    result.extend(old[next_old..].iter().copied());
    Ok(result)
}

/// `text`'s lines, each with its line break, as Python (and the patch's line numbers) count
/// them: a line ends at `\n`, `\r\n` or a lone `\r`.
fn python_lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < bytes.len() {
        let end = match bytes[at] {
            b'\r' if bytes.get(at + 1) == Some(&b'\n') => Some(at + 2),
            b'\n' | b'\r' => Some(at + 1),
            _ => None,
        };
        if let Some(end) = end {
            lines.push(&text[start..end]);
            start = end;
            at = end;
        } else {
            at += 1;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

// --- The fuzzer ---

fn seeds() -> std::ops::Range<u64> {
    let number = |name: &str, default: u64| {
        std::env::var(name).ok().map_or(default, |value| value.parse().unwrap_or_else(|_| panic!("{name} is a number")))
    };
    let first = number("LOOPWISE_FUZZ_FIRST_SEED", 0);
    first..first + number("LOOPWISE_FUZZ_SEEDS", 2)
}

fn run(folder: &Path, args: &[&str]) -> String {
    let output = binary::loopwise(folder, args);
    let stderr = binary::stderr(&output);
    assert!(
        output.status.code().is_some_and(|code| code < 2) && !stderr.contains("panicked"),
        "`loopwise {}` failed ({}):\n{stderr}",
        args.join(" "),
        output.status
    );
    binary::stdout(&output)
}

/// `text` with its carriage returns shown, so that a lone CR does not overwrite the terminal line.
fn visible(text: &str) -> String {
    text.replace("\r\n", "\\r\n").replace('\r', "\\r\n")
}

fn report(failures: &mut String, mutant: &Mutant, problem: &str) {
    let _ = writeln!(
        failures,
        "seed {} (LOOPWISE_FUZZ_FIRST_SEED={} LOOPWISE_FUZZ_SEEDS=1), {:?} line breaks, {}{}, snippets {}: {problem}\n--- mutant ---\n{}\n--------------",
        mutant.seed,
        mutant.seed,
        mutant.line_break,
        mutant.path,
        if mutant.half_typed { " (half-typed)" } else { "" },
        mutant.origins.join(", "),
        visible(&mutant.text),
    );
}

/// Fuzzes the fixes over mutants with `line_breaks`.
fn fuzz(line_breaks: &[LineBreak]) {
    let snippets = snippets();
    let covered: Vec<Rule> = snippets.iter().map(|snippet| snippet.rule).collect();
    for rule in Rule::ALL.iter().filter(|rule| rule.meta().fix != "none" && !rule.is_pseudo()) {
        assert!(covered.contains(rule), "no fixture line of {} has a fix to fuzz", rule.code());
    }
    let reals = real_files();
    assert!(!reals.is_empty(), "no real files in tests/real_code or examples");
    let mut candidates = Vec::new();
    for seed in seeds() {
        for &line_break in line_breaks {
            candidates.extend(mutants(seed, &snippets, &reals, line_break));
        }
    }
    let candidates_whole = candidates.iter().filter(|mutant| !mutant.half_typed).count();
    let Some(compiled) = compile_all(&candidates.iter().map(|mutant| mutant.text.as_str()).collect::<Vec<_>>()) else {
        return;
    };
    // A whole mutant that does not compile is not code anyone has; a half-typed one is
    // expected not to.
    let mutants: Vec<(Mutant, bool)> = candidates
        .into_iter()
        .zip(compiled)
        .filter(|(mutant, error)| mutant.half_typed || error.is_none())
        .map(|(mutant, error)| (mutant, error.is_none()))
        .collect();
    let whole = mutants.iter().filter(|(mutant, _)| !mutant.half_typed).count();
    // Most insertions must give code Python takes, or the fuzzer would test little.
    assert!(whole * 2 > candidates_whole, "only {whole} of {candidates_whole} whole mutants compile");

    let folder = tempfile::tempdir().expect("temporary folder");
    for (mutant, _) in &mutants {
        let path = binary::write(folder.path(), &mutant.path, mutant.text.as_bytes());
        let project = path.parent().expect("a mutant has a folder");
        let config = format!("select = [\"LW\"]\n{}\n", mutant.settings.join("\n"));
        std::fs::write(project.join("loopwise.toml"), config).expect("write loopwise.toml");
        for (name, content) in &mutant.project {
            std::fs::write(project.join(name), content).expect("write project file");
        }
    }
    let read = |mutant: &Mutant| std::fs::read_to_string(folder.path().join(&mutant.path)).expect("mutant readable");
    let diffs = split_patches(&run(folder.path(), &["check", "--no-cache", "--diff", "--unsafe-fixes", "."]));
    run(folder.path(), &["check", "--no-cache", "--fix", "--unsafe-fixes", "."]);
    let fixed: Vec<String> = mutants.iter().map(|(mutant, _)| read(mutant)).collect();
    run(folder.path(), &["check", "--no-cache", "--fix", "--unsafe-fixes", "."]);
    let refixed: Vec<String> = mutants.iter().map(|(mutant, _)| read(mutant)).collect();
    // The safe fixes alone, as an editor's fix-all on save applies them.
    for (mutant, _) in &mutants {
        std::fs::write(folder.path().join(&mutant.path), &mutant.text).expect("rewrite the mutant");
    }
    run(folder.path(), &["check", "--no-cache", "--fix", "."]);
    let safe: Vec<String> = mutants.iter().map(|(mutant, _)| read(mutant)).collect();
    run(folder.path(), &["check", "--no-cache", "--fix", "."]);
    let compiled = compile_all(&fixed.iter().map(String::as_str).collect::<Vec<_>>()).unwrap_or_default();

    let mut failures = String::new();
    let mut changed = 0;
    for (index, (mutant, compiles)) in mutants.iter().enumerate() {
        let once = &fixed[index];
        changed += usize::from(once != &mutant.text);
        if *compiles && let Some(Some(error)) = compiled.get(index) {
            report(&mut failures, mutant, &format!("the fixed text does not compile: {error}\n--- fixed ---\n{once}"));
        }
        let twice = &refixed[index];
        if twice != once {
            report(
                &mut failures,
                mutant,
                &format!(
                    "a second --fix changed it again:\n{}",
                    similar::TextDiff::from_lines(once.as_str(), twice.as_str()).unified_diff().context_radius(2)
                ),
            );
        }
        let safe_twice = read(mutant);
        if safe_twice != safe[index] {
            report(
                &mut failures,
                mutant,
                &format!(
                    "a second safe --fix changed it again:\n{}",
                    similar::TextDiff::from_lines(safe[index].as_str(), safe_twice.as_str())
                        .unified_diff()
                        .context_radius(2)
                ),
            );
        }
        let patched = match diffs.get(&mutant.path) {
            Some(patch) => apply_patch(&mutant.text, patch),
            None => Ok(mutant.text.clone()),
        };
        match patched {
            Ok(patched) if &patched == once => {}
            Ok(patched) => report(
                &mut failures,
                mutant,
                &format!(
                    "the --diff patch does not give the --fix result:\n{}",
                    similar::TextDiff::from_lines(patched.as_str(), once.as_str()).unified_diff().context_radius(2)
                ),
            ),
            Err(error) => report(&mut failures, mutant, &format!("the --diff patch does not apply: {error}")),
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "fix fuzzer: {} mutants ({whole} whole, {} half-typed) over seeds {:?}, {changed} changed by --fix",
        mutants.len(),
        mutants.len() - whole,
        seeds()
    );
    assert!(changed * 2 > whole, "most mutants should get a fix: {changed} of {} changed", mutants.len());
    assert!(failures.is_empty(), "\n{failures}");
}

#[test]
fn fix_fuzzer() {
    fuzz(&[LineBreak::Lf, LineBreak::CrLf]);
}

/// Lone-CR line breaks on their own: old Mac files, and what some editors send.
#[test]
fn fix_fuzzer_lone_cr() {
    fuzz(&[LineBreak::Cr]);
}

/// The patch applier itself: a patch made by the CLI's diff of a known change applies.
#[test]
fn patches_apply_as_patch_would() {
    let patch: Vec<String> = ["@@ -1,2 +1,2 @@\n", "-a\n", "+b\n", " c\n", "\\ No newline at end of file\n"]
        .iter()
        .map(|line| (*line).to_string())
        .collect();
    assert_eq!(apply_patch("a\nc", &patch), Ok("b\nc".to_string()));
    assert!(apply_patch("x\nc", &patch).is_err());
}
