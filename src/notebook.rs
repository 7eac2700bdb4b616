//! Jupyter notebooks (nbformat 4) as one Python text, and fixed text written back into them.
//!
//! Owns reading an `.ipynb` text, the *joined source* (the code cells' sources, one line break
//! between two cells, with `IPython` magics and shell escapes blanked to spaces so that every
//! other byte keeps its offset), the map from joined offsets to cells (numbered as ruff
//! numbers them: every cell counts, markdown too, from 1), and the write-back that replaces only
//! the `source` values of the cells a fix changed, keeping every other byte of the file.
//!
//! It must not know the engine, files or output formats: the command line hands it the text
//! and the fixed joined source; the language server hands it the cells' texts
//! ([`Notebook::from_cells`]) and asks which cell a range is in ([`Notebook::cell_of_range`]).

use serde::Deserialize;
use serde_json::value::RawValue;

/// A notebook that was read, with its code cells joined into one Python text.
#[derive(Debug, Clone)]
pub struct Notebook {
    /// The notebook's JSON text as read: write-back copies every byte it does not replace.
    raw: String,
    /// The code cells, in order.
    cells: Vec<CodeCell>,
    /// The code cells' sources, magics blanked, joined by `\n`.
    joined: String,
}

#[derive(Debug, Clone)]
struct CodeCell {
    /// The cell's number as ruff prints it: its index among all cells, from 1.
    number: usize,
    /// Where the cell's text starts in the joined source.
    start: usize,
    /// The cell's text as the notebook holds it (magics included).
    original: String,
    /// Which lines of `original` were blanked (by index).
    blanked: Vec<usize>,
    /// The byte range of the `source` value in the raw text.
    span: std::ops::Range<usize>,
    /// How the `source` value is written.
    form: SourceForm,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SourceForm {
    /// One JSON string.
    String,
    /// A list of strings split after each `\n`; the white space after `[` (the elements'
    /// indentation), after each `,` (the same on separate lines; a space or none in a list on
    /// one line) and before `]`.
    Lines { element: String, between: String, close: String },
}

/// Why a text is not a notebook loopwise can read, with the line of the JSON text when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookError {
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for NotebookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A cell's place in the joined source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellStart {
    /// The cell's number, counted as ruff counts it (every cell, from 1).
    pub number: usize,
    /// The joined-source offset of the cell's first byte (always at a line start).
    pub offset: usize,
}

/// One cell whose source a fix changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedCell {
    pub number: usize,
    pub before: String,
    pub after: String,
}

/// A fixed joined source written back into the notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenBack {
    /// The notebook's new JSON text.
    pub text: String,
    /// The cells that changed, in order.
    pub changed: Vec<ChangedCell>,
}

#[derive(Deserialize)]
struct RawNotebook<'a> {
    #[serde(borrow)]
    cells: Vec<RawCell<'a>>,
}

#[derive(Deserialize)]
struct RawCell<'a> {
    cell_type: String,
    #[serde(borrow)]
    source: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SourceValue {
    String(String),
    Lines(Vec<String>),
}

/// Whether `path` names a notebook, by its extension.
pub fn is_notebook(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|extension| extension == "ipynb")
}

impl Notebook {
    /// Reads a notebook's JSON text. Only `cells`, each cell's `cell_type` and `source` are
    /// read; everything else is kept as bytes for the write-back.
    pub fn parse(raw: String) -> Result<Self, NotebookError> {
        let error_at = |error: &serde_json::Error, what: &str| NotebookError {
            line: (error.line() > 0).then_some(error.line()),
            message: format!("not a valid notebook: {what}: {error}"),
        };
        let parsed: RawNotebook<'_> =
            serde_json::from_str(&raw).map_err(|error| error_at(&error, "nbformat 4 JSON"))?;
        let mut cells = Vec::new();
        let mut joined = String::new();
        for (index, cell) in parsed.cells.iter().enumerate() {
            if cell.cell_type != "code" {
                continue;
            }
            let number = index + 1;
            let span = match cell.source {
                Some(value) => span_of(&raw, value.get()),
                None => 0..0,
            };
            let line = Some(raw[..span.start].matches('\n').count() + 1);
            let (original, form) = match cell.source.map(|value| serde_json::from_str::<SourceValue>(value.get())) {
                None => (String::new(), SourceForm::String),
                Some(Ok(SourceValue::String(text))) => (text, SourceForm::String),
                Some(Ok(SourceValue::Lines(lines))) => (lines.concat(), list_form(&raw, span.clone())),
                Some(Err(_)) => {
                    return Err(NotebookError {
                        line,
                        message: format!(
                            "not a valid notebook: cell {number}: `source` is neither a string nor a list of strings"
                        ),
                    });
                }
            };
            let (text, blanked) = blank_magics(&original);
            if !cells.is_empty() {
                joined.push('\n');
            }
            cells.push(CodeCell { number, start: joined.len(), original, blanked, span, form });
            joined.push_str(&text);
        }
        Ok(Self { raw, cells, joined })
    }

    /// The notebook of the code cells `sources`, in order, as an editor holds them (the
    /// language server's cells): no JSON, so [`Notebook::write_back`] has nothing to rewrite.
    /// A cell's number is its place in `sources`, from 1.
    pub fn from_cells<'a>(sources: impl IntoIterator<Item = &'a str>) -> Self {
        let mut cells = Vec::new();
        let mut joined = String::new();
        for (index, original) in sources.into_iter().enumerate() {
            let (text, blanked) = blank_magics(original);
            if !cells.is_empty() {
                joined.push('\n');
            }
            cells.push(CodeCell {
                number: index + 1,
                start: joined.len(),
                original: original.to_string(),
                blanked,
                span: 0..0,
                form: SourceForm::String,
            });
            joined.push_str(&text);
        }
        Self { raw: String::new(), cells, joined }
    }

    /// The index (among the code cells) of the one cell that holds all of joined-source
    /// `start..end`, and the offset of that cell's first byte; `None` when the range crosses
    /// a line break between cells or touches a blanked line (an edit there would rewrite a
    /// magic). A range may end at its cell's last byte, before the line break.
    pub fn cell_of_range(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let (index, cell_start) = self.cell_holding(start, end)?;
        let cell = &self.cells[index];
        let cell_end = self.cells.get(index + 1).map_or(self.joined.len(), |next| next.start - 1);
        let mut line_start = cell.start;
        for (line, text) in self.joined[cell.start..cell_end].split_inclusive('\n').enumerate() {
            let content_end = line_start + text.trim_end_matches(['\n', '\r']).len();
            let touches = if start == end {
                line_start < start && start <= content_end
            } else {
                start < content_end.max(line_start + 1) && end > line_start
            };
            if touches && cell.blanked.binary_search(&line).is_ok() {
                return None;
            }
            line_start += text.len();
        }
        Some((index, cell_start))
    }

    /// Like [`Notebook::cell_of_range`], blanked lines allowed: where a finding is (a
    /// statement it reports may hold a magic line).
    pub fn cell_holding(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let index = self.cells.partition_point(|cell| cell.start <= start).checked_sub(1)?;
        let cell = &self.cells[index];
        let cell_end = self.cells.get(index + 1).map_or(self.joined.len(), |next| next.start - 1);
        (start <= end && end <= cell_end).then_some((index, cell.start))
    }

    /// The code cells' sources joined by `\n`, with magics and shell escapes blanked.
    pub fn joined_source(&self) -> &str {
        &self.joined
    }

    /// The notebook's JSON text as read.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The joined-source offsets of the line breaks between cells, the marks a fix must keep
    /// (`analysis::fixer::fix_until_stable_keeping`).
    pub fn separators(&self) -> Vec<usize> {
        self.cells.iter().skip(1).map(|cell| cell.start - 1).collect()
    }

    /// The cell that holds joined-source `offset` (the last one for an offset past the end).
    pub fn cell_at(&self, offset: usize) -> Option<CellStart> {
        let index = self.cells.partition_point(|cell| cell.start <= offset).checked_sub(1)?;
        let cell = &self.cells[index];
        Some(CellStart { number: cell.number, offset: cell.start })
    }

    /// The notebook with the fixed joined source `fixed` written back: `separators` are
    /// where [`Notebook::separators`] moved to in `fixed`. Only the `source` values of cells
    /// whose text changed are rewritten, in the form they had; blanked lines come back as they
    /// were. An error when the text no longer splits into the cells, or a fix changed a
    /// blanked line.
    pub fn write_back(&self, fixed: &str, separators: &[usize]) -> Result<WrittenBack, NotebookError> {
        let failure = |message: &str| NotebookError { line: None, message: message.to_string() };
        if separators.len() + 1 != self.cells.len().max(1) || self.cells.is_empty() {
            return if fixed == self.joined {
                Ok(self.unchanged())
            } else {
                Err(failure("the fixes do not fit the cells"))
            };
        }
        let mut starts = vec![0];
        let mut ends = Vec::new();
        for &separator in separators {
            if fixed.as_bytes().get(separator) != Some(&b'\n') || separator < *starts.last().unwrap_or(&0) {
                return Err(failure("the fixes moved a line break between cells"));
            }
            ends.push(separator);
            starts.push(separator + 1);
        }
        ends.push(fixed.len());
        let mut text = String::with_capacity(self.raw.len());
        let mut copied = 0;
        let mut changed = Vec::new();
        for (index, cell) in self.cells.iter().enumerate() {
            let next = self.cells.get(index + 1).map_or(self.joined.len(), |next| next.start - 1);
            let before_blanked = &self.joined[cell.start..next];
            let Some(after_blanked) = fixed.get(starts[index]..ends[index]) else {
                return Err(failure("the fixes do not fit the cells"));
            };
            if after_blanked == before_blanked {
                continue;
            }
            let after = restore_magics(cell, before_blanked, after_blanked)
                .ok_or_else(|| failure(&format!("a fix changed a magic or shell line of cell {}", cell.number)))?;
            if after == cell.original {
                continue;
            }
            text.push_str(&self.raw[copied..cell.span.start]);
            text.push_str(&encode(&after, &cell.form));
            copied = cell.span.end;
            changed.push(ChangedCell { number: cell.number, before: cell.original.clone(), after });
        }
        text.push_str(&self.raw[copied..]);
        Ok(WrittenBack { text, changed })
    }

    fn unchanged(&self) -> WrittenBack {
        WrittenBack { text: self.raw.clone(), changed: Vec::new() }
    }
}

/// The byte range of `value` (a slice of `raw` that `serde_json` borrowed) in `raw`.
fn span_of(raw: &str, value: &str) -> std::ops::Range<usize> {
    let start = (value.as_ptr() as usize).saturating_sub(raw.as_ptr() as usize).min(raw.len());
    start..(start + value.len()).min(raw.len())
}

/// The layout of the `source` list at `span` of `raw` as written: the white space before its
/// first element and before `]`. An empty list shows none, so its elements get nbformat's own
/// layout: one space deeper than the line of the `[`.
fn list_form(raw: &str, span: std::ops::Range<usize>) -> SourceForm {
    let array = &raw[span.clone()];
    let inner = array.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).unwrap_or("");
    if inner.trim().is_empty() {
        let line_start = raw[..span.start].rfind('\n').map_or(0, |newline| newline + 1);
        let indent: String = raw[line_start..span.start].chars().take_while(|c| *c == ' ' || *c == '\t').collect();
        let element = format!("\n{indent} ");
        return SourceForm::Lines { between: element.clone(), element, close: format!("\n{indent}") };
    }
    let element = &inner[..inner.len() - inner.trim_start().len()];
    let close = &inner[inner.trim_end().len()..];
    // A list on one line (`["a\n", "b"]`) keeps its own spacing after commas.
    let between = if element.contains('\n') {
        element.to_string()
    } else if inner.contains("\", \"") {
        " ".to_string()
    } else {
        String::new()
    };
    SourceForm::Lines { element: element.to_string(), between, close: close.to_string() }
}

/// `text` as a JSON `source` value in `form`.
fn encode(text: &str, form: &SourceForm) -> String {
    let quote = |part: &str| serde_json::to_string(part).unwrap_or_else(|_| String::from("\"\""));
    match form {
        SourceForm::String => quote(text),
        SourceForm::Lines { element, between, close } => {
            if text.is_empty() {
                return "[]".to_string();
            }
            let parts: Vec<String> = text.split_inclusive('\n').map(quote).collect();
            format!("[{element}{}{close}]", parts.join(&format!(",{between}")))
        }
    }
}

/// `cell`'s text with its blanked lines (magics, shell escapes, help) as spaces, byte for byte
/// (`...` when the line is a block's only body), and the indexes of those lines. A cell magic
/// (`%%bash`) blanks the whole cell, as its body is not Python; `%%time`, `%%timeit` and
/// `%%capture` run their body as Python, so only their first line is blanked.
fn blank_magics(cell: &str) -> (String, Vec<usize>) {
    let lines: Vec<&str> = cell.split_inclusive('\n').collect();
    let first_code = lines.iter().position(|line| !line.trim().is_empty());
    let cell_magic = first_code.and_then(|index| {
        let name = lines[index].trim_start().strip_prefix("%%")?;
        let name = name.split_whitespace().next().unwrap_or("");
        Some((index, matches!(name, "time" | "timeit" | "capture")))
    });
    let mut blanked = Vec::new();
    let mut continued = false;
    for (index, line) in lines.iter().enumerate() {
        let blank = match cell_magic {
            Some((first, python_body)) => index == first || (!python_body && index > first),
            None => false,
        } || continued
            || is_magic_line(line);
        continued = blank && line.trim_end_matches(['\n', '\r']).ends_with('\\');
        if blank {
            blanked.push(index);
        }
    }
    let mut text = String::with_capacity(cell.len());
    // Whether the last Python line opened a block (`for x in y:`): a magic that is the block's
    // whole body becomes `...` at its indentation, as blanks would leave the block empty, a
    // syntax error the cell does not have.
    let mut opens_block = false;
    for (index, line) in lines.iter().enumerate() {
        let content = line.trim_end_matches(['\n', '\r']);
        if blanked.binary_search(&index).is_ok() {
            let code = content.trim_start();
            let indentation = content.len() - code.len();
            let single_line = cell_magic.is_none() && (index == 0 || blanked.binary_search(&(index - 1)).is_err());
            if opens_block && single_line && indentation > 0 && code.len() >= 3 {
                text.push_str(&content[..indentation]);
                text.push_str("...");
                text.extend(std::iter::repeat_n(' ', code.len() - 3));
                opens_block = false;
            } else {
                text.extend(std::iter::repeat_n(' ', content.len()));
            }
            text.push_str(&line[content.len()..]);
        } else {
            text.push_str(line);
            let code = content.split('#').next().unwrap_or("").trim_end();
            if !code.trim().is_empty() {
                opens_block = code.ends_with(':');
            }
        }
    }
    (text, blanked)
}

/// Whether a line is `IPython` syntax, not Python: a line magic (`%time`), a shell escape
/// (`!pip install x`), help (`?obj`, `obj?`, `obj??`), or an assignment from a magic or a
/// shell escape (`files = !ls`).
fn is_magic_line(line: &str) -> bool {
    let code = line.trim();
    if code.starts_with(['%', '!', '?']) {
        return true;
    }
    if let Some(name) = code.strip_suffix('?') {
        let name = name.strip_suffix('?').unwrap_or(name);
        if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '*')) {
            return true;
        }
    }
    if let Some((target, value)) = code.split_once('=')
        && !value.starts_with('=')
        && !target.is_empty()
        && target.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ',' | ' '))
    {
        return value.trim_start().starts_with(['%', '!']);
    }
    false
}

/// The fixed text of a cell with its blanked lines restored: `before` and `after` are the
/// blanked texts before and after the fixes. `None` when a fix changed or removed a blanked
/// line.
fn restore_magics(cell: &CodeCell, before: &str, after: &str) -> Option<String> {
    if cell.blanked.is_empty() {
        return Some(after.to_string());
    }
    let old: Vec<&str> = before.split_inclusive('\n').collect();
    let new: Vec<&str> = after.split_inclusive('\n').collect();
    let original: Vec<&str> = cell.original.split_inclusive('\n').collect();
    let is_blanked = |index: usize| cell.blanked.binary_search(&index).is_ok();
    let mut text = String::with_capacity(after.len());
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new) {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            for index in old_range {
                text.push_str(if is_blanked(index) { original.get(index)? } else { old[index] });
            }
        } else {
            if old_range.clone().any(is_blanked) {
                return None;
            }
            for line in &new[new_range] {
                text.push_str(line);
            }
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notebook_text(cells: &[(&str, &str)]) -> String {
        let cells: Vec<String> = cells
            .iter()
            .map(|(kind, source)| {
                format!("  {{\n   \"cell_type\": \"{kind}\",\n   \"metadata\": {{}},\n   \"source\": {source}\n  }}")
            })
            .collect();
        format!(
            "{{\n \"cells\": [\n{}\n ],\n \"metadata\": {{}},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}}\n",
            cells.join(",\n")
        )
    }

    #[test]
    fn cells_are_joined_and_numbered_as_ruff_numbers_them() {
        let raw = notebook_text(&[
            ("markdown", "[\"# Title\"]"),
            ("code", "[\n    \"import time\\n\",\n    \"%time x = 1\\n\",\n    \"!pip install x\"\n   ]"),
            ("code", "\"\""),
            ("code", "\"await f()\\n\""),
        ]);
        let notebook = Notebook::parse(raw).expect("a notebook");
        assert_eq!(notebook.joined_source(), "import time\n           \n              \n\nawait f()\n");
        assert_eq!(notebook.separators(), [38, 39]);
        assert_eq!(notebook.cell_at(0), Some(CellStart { number: 2, offset: 0 }));
        assert_eq!(notebook.cell_at(38), Some(CellStart { number: 2, offset: 0 }));
        assert_eq!(notebook.cell_at(39), Some(CellStart { number: 3, offset: 39 }));
        assert_eq!(notebook.cell_at(40), Some(CellStart { number: 4, offset: 40 }));
        assert_eq!(notebook.cell_at(500), Some(CellStart { number: 4, offset: 40 }));
    }

    #[test]
    fn a_notebook_without_code_cells_is_empty() {
        let notebook = Notebook::parse(notebook_text(&[("markdown", "\"text\"")])).expect("a notebook");
        assert_eq!(notebook.joined_source(), "");
        assert_eq!(notebook.cell_at(0), None);
        let written = notebook.write_back("", &[]).expect("nothing to write");
        assert_eq!(written.text, notebook.raw());
    }

    #[test]
    fn magics_are_blanked_byte_for_byte() {
        let (text, blanked) = blank_magics("%%bash\necho hi\n");
        assert_eq!((text.as_str(), blanked), ("      \n       \n", vec![0, 1]));
        let (text, _) = blank_magics("%%time\nx = 1\n");
        assert_eq!(text, "      \nx = 1\n");
        let (text, _) = blank_magics("if x:\n    !ls \\\n  -l\r\nlen?\nfiles = !ls\ny = a % b\n");
        assert_eq!(text, "if x:\n    ...  \n    \r\n    \n           \ny = a % b\n");
        // A magic that is a block's whole body keeps the block valid Python.
        let (text, _) = blank_magics("for i in x:\n    %time f(i)\nif y:\n    g()\n    !ls\n");
        assert_eq!(text, "for i in x:\n    ...       \nif y:\n    g()\n       \n");
        let (text, _) = blank_magics("é = %time f()\n");
        assert_eq!(text.len(), "é = %time f()\n".len());
    }

    #[test]
    fn only_the_changed_cell_is_rewritten_in_its_own_form() {
        let raw = notebook_text(&[
            ("code", "[\n    \"import time\\r\\n\",\n    \"%time x = 1\\r\\n\",\n    \"time.sleep(1)\"\n   ]"),
            ("markdown", "[]"),
            ("code", "\"x = 1\\ny = 2\\n\""),
        ]);
        let notebook = Notebook::parse(raw.clone()).expect("a notebook");
        let joined = notebook.joined_source().to_string();
        let fixed = joined.replace("time.sleep(1)", "await asyncio.sleep(1)");
        let mut separators = notebook.separators();
        separators[0] += "await asyncio.sleep(1)".len() - "time.sleep(1)".len();
        let written = notebook.write_back(&fixed, &separators).expect("written back");
        let expected = raw.replace("\"time.sleep(1)\"", "\"await asyncio.sleep(1)\"");
        assert_eq!(written.text, expected);
        assert_eq!(written.changed.len(), 1);
        assert_eq!(written.changed[0].number, 1);
        assert_eq!(written.changed[0].after, "import time\r\n%time x = 1\r\nawait asyncio.sleep(1)");

        let empty = Notebook::parse(notebook_text(&[("code", "[]")])).expect("a notebook");
        let written = empty.write_back("x = 1\ny\n", &[]).expect("written back");
        assert!(written.text.contains("\"source\": [\n    \"x = 1\\n\",\n    \"y\\n\"\n   ]"), "{}", written.text);

        let fixed = joined.replace("y = 2", "y = 3");
        let written = notebook.write_back(&fixed, &notebook.separators()).expect("written back");
        assert_eq!(written.text, raw.replace("y = 2", "y = 3"));
    }

    #[test]
    fn a_single_string_source_stays_a_string_and_lines_keep_their_indentation() {
        let one_space = "{\"cells\": [{\"cell_type\": \"code\", \"source\": \"a\\nb\"}]}";
        let notebook = Notebook::parse(one_space.to_string()).expect("a notebook");
        let written = notebook.write_back("a\nc\nd", &[]).expect("written back");
        assert_eq!(written.text, "{\"cells\": [{\"cell_type\": \"code\", \"source\": \"a\\nc\\nd\"}]}");

        for indent in [" ", "  "] {
            let raw = format!(
                "{{\n{indent}\"cells\": [\n{indent}{indent}{{\n{indent}{indent}{indent}\"cell_type\": \"code\",\n{indent}{indent}{indent}\"source\": [\n{indent}{indent}{indent}{indent}\"x = 1\\n\",\n{indent}{indent}{indent}{indent}\"y\"\n{indent}{indent}{indent}]\n{indent}{indent}}}\n{indent}]\n}}"
            );
            let notebook = Notebook::parse(raw.clone()).expect("a notebook");
            let written = notebook.write_back("x = 1\nz = 2\ny", &[]).expect("written back");
            let element = format!("\n{indent}{indent}{indent}{indent}");
            let expected = raw.replace(
                &format!("\"x = 1\\n\",{element}\"y\""),
                &format!("\"x = 1\\n\",{element}\"z = 2\\n\",{element}\"y\""),
            );
            assert_eq!(written.text, expected);
        }
    }

    #[test]
    fn a_list_on_one_line_keeps_its_spacing_after_commas() {
        for (comma, between) in [(", ", " "), (",", "")] {
            let raw = format!("{{\"cells\": [{{\"cell_type\": \"code\", \"source\": [\"a\\n\"{comma}\"b\"]}}]}}");
            let notebook = Notebook::parse(raw).expect("a notebook");
            let written = notebook.write_back("a\nc", &[]).expect("written back");
            let expected =
                format!("{{\"cells\": [{{\"cell_type\": \"code\", \"source\": [\"a\\n\",{between}\"c\"]}}]}}");
            assert_eq!(written.text, expected);
        }
    }

    #[test]
    fn a_fix_of_a_blanked_line_or_across_cells_is_refused() {
        let raw = notebook_text(&[("code", "\"%time x\\nprint(1)\\n\""), ("code", "\"y\\n\"")]);
        let notebook = Notebook::parse(raw).expect("a notebook");
        assert_eq!(notebook.joined_source(), "       \nprint(1)\n\ny\n");
        assert!(notebook.write_back("print(1)\n\ny\n", &[9]).is_err());
        assert!(notebook.write_back("       \nprint(1)\ny\n", &[17]).is_err());
        let written = notebook.write_back("       \nprint(2)\n\ny\n", &[17]).expect("written back");
        assert_eq!(written.changed[0].after, "%time x\nprint(2)\n");
    }

    #[test]
    fn cells_from_an_editor_are_joined_and_ranges_stay_in_one_cell() {
        let notebook = Notebook::from_cells(["import time\n%time x\n", "", "y = 1"]);
        assert_eq!(notebook.joined_source(), "import time\n       \n\n\ny = 1");
        assert_eq!(notebook.separators(), [20, 21]);
        assert_eq!(notebook.cell_of_range(0, 6), Some((0, 0)));
        assert_eq!(notebook.cell_of_range(12, 12), Some((0, 0)), "an insertion before a magic line");
        assert_eq!(notebook.cell_of_range(12, 14), None, "an edit of a magic line");
        assert_eq!(notebook.cell_holding(0, 19), Some((0, 0)), "a finding over a magic line");
        assert_eq!(notebook.cell_holding(19, 21), None);
        assert_eq!(notebook.cell_of_range(20, 20), Some((0, 0)), "the end of the first cell");
        assert_eq!(notebook.cell_of_range(19, 21), None, "across cells");
        assert_eq!(notebook.cell_of_range(21, 21), Some((1, 21)));
        assert_eq!(notebook.cell_of_range(22, 27), Some((2, 22)));
        assert_eq!(notebook.cell_of_range(22, 28), None, "past the end");
        assert_eq!(Notebook::from_cells([]).cell_of_range(0, 0), None);
    }

    #[test]
    fn invalid_notebooks_are_errors_with_a_line() {
        let error = Notebook::parse("{\n  \"cells\": [\n}".to_string()).expect_err("not JSON");
        assert_eq!(error.line, Some(3));
        let error = Notebook::parse("{\"metadata\": {}}".to_string()).expect_err("no cells");
        assert!(error.message.contains("cells"), "{}", error.message);
        let raw = "{\"cells\": [\n{\"cell_type\": \"code\",\n \"source\": [1, 2]}]}";
        let error = Notebook::parse(raw.to_string()).expect_err("not strings");
        assert_eq!(error.line, Some(3));
        assert!(error.message.contains("cell 1"), "{}", error.message);
    }
}
