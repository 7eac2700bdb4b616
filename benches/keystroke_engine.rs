//! The engine's share of a keystroke, without the protocol: a file opened (one whole
//! analysis), then code typed a character at a time into a method body in its middle, each
//! version reparsed incrementally and analysed by `analysis::incremental`, against a whole
//! analysis of the same tree. Prints medians and how each keystroke was analysed; made to run
//! under `perf record` too (`keystroke.py` measures the servers side by side).
//!
//!     cargo bench --bench keystroke_engine -- FILE [KEYS]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use loopwise::analysis::document::Document;
use loopwise::analysis::incremental::{Analysed, Incremental};
use loopwise::analysis::index::summarize;
use loopwise::analysis::{LintSettings, lint_in_workspace};

const CODE: &str = "value = await self._request(key, timeout=10)  # x\n";

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let arguments: Vec<String> = std::env::args().skip(1).filter(|argument| !argument.starts_with("--")).collect();
    let Some(file) = arguments.first() else {
        eprintln!("usage: cargo bench --bench keystroke_engine -- FILE [KEYS]");
        std::process::exit(2);
    };
    let keys: usize = arguments.get(1).and_then(|keys| keys.parse().ok()).unwrap_or(200);
    let Ok(mut text) = std::fs::read_to_string(file) else {
        eprintln!("cannot read {file}");
        std::process::exit(2);
    };
    let settings = Arc::new(LintSettings::default());
    let path = Path::new("module.py");
    let start = Instant::now();
    let mut document = Document::new(&text, 0);
    let parsed = start.elapsed().as_secs_f64();
    let mut incremental = Incremental::new();
    let start = Instant::now();
    let (found, _) = incremental.update(&text, document.tree(), Some(path), &settings, None, 0);
    let opened = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let whole = lint_in_workspace(&text, document.tree(), Some(path), &settings, None);
    let linted = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let summary = summarize(&text, document.tree(), "module", false);
    let summarized = start.elapsed().as_secs_f64();
    println!(
        "open: parse {:.1} ms, incremental's whole analysis {:.1} ms ({} findings), lint_in_workspace {:.1} ms ({}), \
         module summary {:.1} ms ({} functions)",
        parsed * 1e3,
        opened * 1e3,
        found.len(),
        linted * 1e3,
        whole.len(),
        summarized * 1e3,
        summary.functions.len()
    );
    let Some(line) = text[text.len() / 2..].find("\n        return ").map(|index| index + text.len() / 2 + 1) else {
        eprintln!("no method body to type in");
        std::process::exit(2);
    };
    // A new line at the body's indentation, then the code typed into it.
    let indent = "        \n";
    text.insert_str(line, indent);
    document.apply_edit(line, line, indent);
    document.reparse();
    incremental.update(&text, document.tree(), Some(path), &settings, None, 0);
    let mut at = line + indent.len() - 1;
    let (mut reparse, mut analyse, mut by_units) = (Vec::new(), Vec::new(), 0);
    let (mut units_times, mut whole_times) = (Vec::new(), Vec::new());
    // `KEYSTROKE_TEXT` types something else (`xxxx`: a name that never breaks the syntax).
    let typed = std::env::var("KEYSTROKE_TEXT").unwrap_or_else(|_| CODE.to_string());
    // `KEYSTROKE_PAIRED=1` types as an editor that closes brackets: `(` inserts `()`, and `)`
    // before an inserted one only moves past it.
    let paired = std::env::var_os("KEYSTROKE_PAIRED").is_some();
    let mut pending = 0;
    let verbose = std::env::var_os("KEYSTROKE_VERBOSE").is_some();
    for key in typed.chars().cycle().take(keys) {
        if paired && key == ')' && pending > 0 {
            pending -= 1;
            at += 1;
            continue;
        }
        // A line break comes with the indentation an editor's auto-indent adds in the same
        // change (without it the next line would end the class).
        let key = match key {
            '\n' => format!("\n{}", &indent[..indent.len() - 1]),
            '(' if paired => {
                pending += 1;
                "()".to_string()
            }
            _ => key.to_string(),
        };
        text.insert_str(at, &key);
        let start = Instant::now();
        document.apply_edit(at, at, &key);
        document.reparse();
        reparse.push(start.elapsed().as_secs_f64());
        at += if key == "()" { 1 } else { key.len() };
        let start = Instant::now();
        let (_, how) = incremental.update(&text, document.tree(), Some(path), &settings, None, 0);
        let seconds = start.elapsed().as_secs_f64();
        analyse.push(seconds);
        if verbose {
            println!("{key:?}: {how:?} {:.2} ms", seconds * 1e3);
        }
        if matches!(how, Analysed::Units { .. }) {
            by_units += 1;
            units_times.push(seconds);
        } else {
            whole_times.push(seconds);
        }
    }
    println!(
        "by units: median {:.2} ms; whole: median {:.2} ms",
        median(&mut units_times) * 1e3,
        median(&mut whole_times) * 1e3
    );
    println!(
        "{keys} keys: reparse median {:.2} ms, analysis median {:.2} ms, p95 {:.2} ms; {by_units} by units",
        median(&mut reparse) * 1e3,
        median(&mut analyse.clone()) * 1e3,
        {
            analyse.sort_by(f64::total_cmp);
            analyse[(analyse.len() * 95 / 100).min(analyse.len() - 1)] * 1e3
        }
    );
}
