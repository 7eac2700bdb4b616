//! The server's incremental analysis against a whole analysis of the same text, after every
//! edit of random edit sequences over the fixtures and the examples (each alone, and all of
//! them as one long file): inserts and deletes at random places, multi-byte text, edits that
//! break and repair the syntax, `def` <-> `async def`, imports added and removed, names typed
//! a character at a time. Any difference fails with the seed, the edit and both results.
//!
//! `LOOPWISE_INCREMENTAL_SEEDS=N` runs N seeds per text (and the joined text) instead of the one
//! seed per text `cargo test` runs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use loopwise::analysis::document::Document;
use loopwise::analysis::incremental::{Analysed, Incremental};
use loopwise::analysis::{LintSettings, lint_in_workspace, source};
use loopwise::rules::{Rule, RuleSet};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FRAGMENTS: &[&str] = &[
    "\n",
    "    ",
    "x",
    "await ",
    "async ",
    "😀",
    "日本",
    "(",
    ")",
    ":",
    "'",
    "\"\"\"",
    "#",
    "# noqa\n",
    "\\\n",
    "time.sleep(1)\n",
    "    await asyncio.sleep(0)\n",
    "asyncio.create_task(work())\n",
    "yield\n",
    "raise ValueError\n",
    "return\n",
    "self.session = requests.Session()\n",
    "self.session = aiohttp.ClientSession()\n",
    "import trio\n",
    "import asyncio\n",
    "from time import sleep\n",
    "def helper():\n    raise RuntimeError\n",
    "async def work():\n    pass\n",
    "class Extra:\n    async def run(self):\n        open('x')\n",
    "except Exception:\n        pass\n",
    "try:\n    ",
    "while True:\n    ",
    "loop = asyncio.get_event_loop()\n",
    "threading.Thread(target=asyncio.run, args=(main(),))\n",
];

const WORDS: &[&str] = &["value", "await self.fetch(key)", "time.sleep", "helper()", "work", "requests.get(url)"];

fn python_files(folder: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(Result::ok).map(|entry| entry.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            python_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "py") {
            files.push(path);
        }
    }
}

fn texts() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    python_files(&root.join("tests/fixtures"), &mut files);
    python_files(&root.join("examples"), &mut files);
    python_files(&root.join("tests/real_code"), &mut files);
    assert!(files.len() > 20, "the fixtures and examples were not found below {}", root.display());
    let mut texts: Vec<(String, String)> = files
        .iter()
        .filter_map(|path| Some((path.display().to_string(), std::fs::read_to_string(path).ok()?)))
        .collect();
    let all: String = texts.iter().map(|(_, text)| text.as_str()).collect::<Vec<_>>().join("\n");
    texts.push(("all fixtures and examples, joined".to_string(), all));
    texts
}

fn char_boundary(rng: &mut StdRng, text: &str) -> usize {
    // Mostly in indented lines (function bodies, where people type), else anywhere.
    let indented: Vec<usize> = text.match_indices("\n    ").map(|(index, _)| index + 1).collect();
    let mut at = if !indented.is_empty() && rng.random_bool(0.8) {
        let line = indented[rng.random_range(0..indented.len())];
        let line_end = text[line..].find('\n').map_or(text.len(), |end| line + end);
        rng.random_range(line..=line_end)
    } else {
        rng.random_range(0..=text.len())
    };
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One random edit of `text`: (start, end, replacement).
fn random_edit(rng: &mut StdRng, text: &str) -> (usize, usize, String) {
    match rng.random_range(0..10) {
        0..=3 => {
            let at = char_boundary(rng, text);
            (at, at, FRAGMENTS[rng.random_range(0..FRAGMENTS.len())].to_string())
        }
        4..=5 => {
            let start = char_boundary(rng, text);
            let mut end = (start + rng.random_range(1..12)).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            (start, end, String::new())
        }
        6 => {
            // `def` <-> `async def`.
            let defs: Vec<usize> = text.match_indices("def ").map(|(index, _)| index).collect();
            let Some(&at) = defs.get(rng.random_range(0..defs.len().max(1))) else { return (0, 0, String::new()) };
            if text[..at].ends_with("async ") { (at - 6, at, String::new()) } else { (at, at, "async ".to_string()) }
        }
        7 => {
            // A whole line taken out.
            let start = char_boundary(rng, text);
            let line_start = text[..start].rfind('\n').map_or(0, |index| index + 1);
            let line_end = text[start..].find('\n').map_or(text.len(), |index| start + index + 1);
            (line_start, line_end, String::new())
        }
        _ => {
            // A new line in some block, at that line's indentation (typed below, key by key).
            let start = char_boundary(rng, text);
            let line_start = text[..start].rfind('\n').map_or(0, |index| index + 1);
            let indent: String = text[line_start..].chars().take_while(|c| *c == ' ').collect();
            (line_start, line_start, format!("{indent}\n"))
        }
    }
}

struct Check {
    seed: u64,
    name: String,
    document: Document,
    text: String,
    incremental: Incremental,
    settings: Arc<LintSettings>,
    path: PathBuf,
    edits: usize,
    by_units: usize,
    last: Analysed,
}

impl Check {
    fn new(name: &str, text: &str, seed: u64) -> Self {
        // Every rule, and a test module's path for some of the texts (LW801 and friends).
        let path =
            if seed.is_multiple_of(3) { PathBuf::from("tests/test_module.py") } else { PathBuf::from("pkg/module.py") };
        Self {
            seed,
            name: name.to_string(),
            document: Document::new(text, 0),
            text: text.to_string(),
            incremental: Incremental::new(),
            settings: Arc::new(LintSettings { rules: RuleSet::all(), ..LintSettings::default() }),
            path,
            edits: 0,
            by_units: 0,
            last: Analysed::Nothing,
        }
    }

    fn edit(&mut self, start: usize, end: usize, replacement: &str) {
        self.text.replace_range(start..end, replacement);
        self.document.apply_edit(start, end, replacement);
        self.document.reparse();
        self.edits += 1;
        let (incremental, how) =
            self.incremental.update(&self.text, self.document.tree(), Some(&self.path), &self.settings, None, 0);
        if matches!(how, Analysed::Units { .. }) {
            self.by_units += 1;
        }
        self.last = how;
        // Against the same tree: after some edits that break the syntax, tree-sitter's
        // incremental reparse recovers from the error differently from a fresh parse, which is
        // tree-sitter's business, not this module's.
        let whole = lint_in_workspace(&self.text, self.document.tree(), Some(&self.path), &self.settings, None);
        if incremental != whole {
            let same_tree =
                source::parse(&self.text).root_node().to_sexp() == self.document.tree().root_node().to_sexp();
            let only_incremental: Vec<_> = incremental.iter().filter(|found| !whole.contains(found)).collect();
            let only_whole: Vec<_> = whole.iter().filter(|found| !incremental.contains(found)).collect();
            panic!(
                "{} seed {}, edit {} ({how:?}, same tree as a fresh parse: {same_tree}): replaced {start}..{end} with {replacement:?}\n\
                 only incremental: {only_incremental:#?}\nonly whole: {only_whole:#?}\ntext:\n{}",
                self.name, self.seed, self.edits, self.text
            );
        }
    }
}

// Four tests over a quarter of the texts each, so that `cargo test` runs them side by side.
#[test]
fn incremental_findings_equal_a_whole_analysis_first_quarter() {
    incremental_findings_equal_a_whole_analysis_after_every_edit(0);
}

#[test]
fn incremental_findings_equal_a_whole_analysis_second_quarter() {
    incremental_findings_equal_a_whole_analysis_after_every_edit(1);
}

#[test]
fn incremental_findings_equal_a_whole_analysis_third_quarter() {
    incremental_findings_equal_a_whole_analysis_after_every_edit(2);
}

#[test]
fn incremental_findings_equal_a_whole_analysis_fourth_quarter() {
    incremental_findings_equal_a_whole_analysis_after_every_edit(3);
}

fn incremental_findings_equal_a_whole_analysis_after_every_edit(quarter: usize) {
    let seeds: u64 = std::env::var("LOOPWISE_INCREMENTAL_SEEDS").ok().and_then(|seeds| seeds.parse().ok()).unwrap_or(1);
    let (mut edits, mut by_units) = (0, 0);
    let texts = texts();
    for (index, (name, text)) in texts.iter().enumerate().filter(|(index, _)| index % 4 == quarter) {
        for seed in 0..seeds {
            let seed = seed * 1000 + index as u64;
            let mut rng = StdRng::seed_from_u64(seed);
            let mut check = Check::new(name, text, seed);
            check.edit(0, 0, "");
            // The long joined text costs most per edit (a whole analysis of it after each, in a
            // debug build): it is for the long mode.
            if index + 1 == texts.len() && seeds == 1 {
                continue;
            }
            let rounds = 8;
            for _ in 0..rounds {
                let (start, end, replacement) = random_edit(&mut rng, &check.text);
                if replacement.ends_with('\n') && replacement.trim().is_empty() && start == end {
                    // A new line, then a word typed into it key by key.
                    check.edit(start, end, &replacement);
                    let mut at = start + replacement.len() - 1;
                    let word = WORDS[rng.random_range(0..WORDS.len())];
                    for key in word.chars() {
                        let key = key.to_string();
                        check.edit(at, at, &key);
                        at += key.len();
                    }
                } else {
                    check.edit(start, end, &replacement);
                }
            }
            edits += check.edits;
            by_units += check.by_units;
        }
    }
    // The test is only worth something if most edits took the incremental path.
    assert!(by_units * 5 > edits, "only {by_units} of {edits} edits were analysed by units");
    eprintln!("{by_units} of {edits} edits analysed by units");
}

/// Inserts each replacement after the first occurrence of its anchor in the text, checking after
/// each edit; returns how the last edit was analysed.
fn edit_at(text: &str, edits: &[(&str, &str)]) -> Analysed {
    let mut check = Check::new("inline text", text, 1);
    check.edit(0, 0, "");
    let mut how = Analysed::Nothing;
    for (at, replacement) in edits {
        let start = check.text.find(at).expect("the text to edit") + at.len();
        check.edit(start, start, replacement);
        how = check.last;
    }
    how
}

#[test]
fn a_local_of_a_skipped_body_shadows_a_function_it_is_named_like() {
    // `rebound` in `rebind` is its own local, not a use of the function: a walk that skips
    // `rebind`'s body must not take it for one (the finding of `rebound` would be lost).
    let text = "import asyncio\n\n\nasync def rebound():\n    a\n    return 1\n\n\ndef rebind():\n    rebound = None\n    return rebound\n";
    edit_at(text, &[("    a", "w")]);
}

#[test]
fn a_helper_whose_body_changes_changes_the_findings_of_its_callers() {
    // `serve`'s handler is quiet because `handle_error` re-raises; once it no longer does,
    // `serve` is reported though its own text did not change.
    let text = "import asyncio\n\n\nclass Listener:\n    async def handle_error(self, exc):\n        if isinstance(exc, asyncio.CancelledError):\n            raise\n\n    async def serve(self, stream):\n        try:\n            await stream.handshake()\n        except BaseException as exc:\n            await self.handle_error(exc)\n";
    edit_at(text, &[("            raise", "d")]);
}

#[test]
fn an_unfinished_statement_typed_in_a_method_body_is_analysed_by_units() {
    // The syntax error stays in the body (tree-sitter puts an `ERROR` in its block): the rest
    // of the class keeps its findings.
    let text = "import time\n\n\nclass Client:\n    async def get(self, key):\n        value = 1\n        return value\n\n    async def close(self):\n        time.sleep(1)\n";
    let how = edit_at(text, &[("        value = 1\n", "        result ="), ("result =", " ")]);
    assert!(matches!(how, Analysed::Units { changed: 1, .. }), "{how:?}");
}

#[test]
fn typing_in_a_comment_of_a_module_level_statement_is_analysed_by_units() {
    // A comment in a statement of the skeleton tells the other units nothing: only the
    // statement itself (a `# noqa` on its lines) is analysed again.
    let text = "import time\n\n\nasync def first():\n    time.sleep(1)\n\n\ntry:\n    import brotli  # pragma: no cover\nexcept ImportError:\n    brotli = None\n\n\nasync def second():\n    time.sleep(2)\n";
    let how = edit_at(text, &[("# pragma", " x"), ("no cover", " # noqa")]);
    assert!(matches!(how, Analysed::Units { changed: 1, .. }), "{how:?}");
}

#[test]
fn an_unclosed_bracket_typed_in_a_method_body_is_analysed_by_units() {
    // Real code: while the bracket of `self._request(` is open, tree-sitter's recovery puts the
    // statements before it into an `ERROR` between `_execute`'s `:` and its block, not into the
    // block. That node is the method's body, so the class's skeleton stays the same.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/real_code/redis_cluster_pipeline.py");
    let text = std::fs::read_to_string(&path).expect("the real code excerpt");
    let mut check = Check::new("redis_cluster_pipeline.py", &text, 1);
    // LW109 reads the bodies of the sync helpers an async function calls, and a body the
    // analysis by units skipped cannot answer it: the file is analysed whole then (see
    // LW109's docs).
    let rules = RuleSet::all().iter().filter(|rule| *rule != Rule::BlockingHelperCall).collect();
    check.settings = Arc::new(LintSettings { rules, ..LintSettings::default() });
    check.edit(0, 0, "");
    let mut at = check.text.find("\n        return [cmd.result").expect("the line to type before") + 1;
    check.edit(at, at, "        \n");
    at += "        ".len();
    let mut whole_while_open = Vec::new();
    for (index, key) in "value = await self._request(key, count=10)".char_indices() {
        check.edit(at, at, &key.to_string());
        at += key.len_utf8();
        let open = index > "value = await self._request(".len() && key != ')';
        if open && !matches!(check.last, Analysed::Units { changed: 1, .. }) {
            whole_while_open.push(key);
        }
    }
    assert!(whole_while_open.is_empty(), "keys typed inside the open bracket analysed whole: {whole_while_open:?}");
}

#[test]
fn an_attribute_assigned_from_a_parameter_in_a_skipped_method_is_typed_by_units() {
    // `self._client`'s type is `client`'s annotation, a parameter of `__init__`, whose body
    // the walk skips: the parameter is found in its `parameters` when asked, so the question
    // is not in doubt.
    let text = "import asyncio\n\n\nclass Client:\n    def __init__(self, client: asyncio.Queue):\n        self._client = client\n\n    async def get(self, key):\n        first = 1\n        return first\n";
    let how = edit_at(text, &[("        first = 1\n", "        self._client.get()\n"), ("self._client.get()", " ")]);
    assert!(matches!(how, Analysed::Units { changed: 1, .. }), "{how:?}");
}

#[test]
fn a_name_bound_by_a_walrus_inside_a_module_level_expression_is_seen_by_units() {
    // The walk leaves out expressions outside the analysed units, but not one with a `:=`:
    // `time` in `main` is the walrus's `object()`, not the module, so nothing is reported.
    let text = "import time\n\nsettings = dict(clock=(time := object()))\n\n\nasync def main():\n    time.sleep(1)\n    return 1\n";
    let how = edit_at(text, &[("    return 1", "0")]);
    assert!(matches!(how, Analysed::Units { changed: 1, .. }), "{how:?}");
}

#[test]
fn the_documents_own_summary_changes_the_generation_but_not_its_findings_unless_it_asked() {
    // After a whole analysis the server records the document's new summary, which moves the
    // workspace to a new generation: the findings kept by units still hold there, unless an
    // analysis behind them asked the workspace about the document's own module.
    let text = "import time\n\n\nasync def main():\n    time.sleep(1)\n    return 1\n";
    let settings = Arc::new(LintSettings::default());
    let path = Path::new("pkg/module.py");
    for (asked, expected_by_units) in [(vec![], true), (vec!["pkg.module".to_string()], false)] {
        let mut document = Document::new(text, 0);
        let mut incremental = Incremental::new();
        incremental.update(text, document.tree(), Some(path), &settings, None, 0);
        incremental.note_modules_asked(asked);
        let unchanged = |from: u64, asked: &HashSet<String>| from == 0 && !asked.contains("pkg.module");
        assert_eq!(incremental.rebase_generation(1, unchanged), expected_by_units);
        let at = text.find("return 1").expect("the line") + "return 1".len();
        document.apply_edit(at, at, "0");
        document.reparse();
        let edited = document.text().as_str().to_string();
        let (_, how) = incremental.update(&edited, document.tree(), Some(path), &settings, None, 1);
        assert_eq!(matches!(how, Analysed::Units { .. }), expected_by_units, "{how:?}");
    }
}

#[test]
fn a_helper_call_finding_names_the_helper_where_it_moved() {
    // LW109's steps in the same file are places in the text (a line in the message, a range
    // in the related information): an edit between the caller and the helper moves the helper
    // and not the caller, whose finding must then be made again, not kept (`edit_at` compares
    // every update with a whole analysis).
    let text = "import asyncio\n\n\nasync def handle(path):\n    return load(path)\n\n\ndef other():\n    return 1\n\n\ndef load(path):\n    return open(path).read()\n";
    let how = edit_at(text, &[("    return 1", "\n    return 2")]);
    assert!(matches!(how, Analysed::Units { .. }), "{how:?}");
}
