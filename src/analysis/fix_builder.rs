//! What rules use to build fixes that respect the file: its indentation unit, its line
//! breaks, lines inside multi-line strings (never re-indented), and where a missing import
//! goes.
//!
//! Rules write `\n` in their edits; [`crate::analysis::Checker::run`] turns it into the file's
//! own line break in one place. This module knows no rule.

use tree_sitter::Node;

use crate::analysis::async_library::AsyncLibrary;
use crate::analysis::semantic::SemanticModel;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{Edit, TextRange};

/// The file's style, as far as fixes need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stylist {
    /// One level of indentation: the first indented block's step (four spaces when the file
    /// has none).
    pub indent: String,
    /// The first line break of the file (`\n` when it has none).
    pub line_ending: &'static str,
}

impl Stylist {
    pub fn detect(source: &str, root: Node<'_>) -> Self {
        Self {
            indent: indent_unit(source, root).unwrap_or_else(|| "    ".to_string()),
            line_ending: line_ending(source),
        }
    }
}

/// The first line break of `source` (`\n` when it has none).
pub fn line_ending(source: &str) -> &'static str {
    match source.find(['\r', '\n']) {
        Some(index) if source[index..].starts_with("\r\n") => "\r\n",
        Some(index) if source[index..].starts_with('\r') => "\r",
        _ => "\n",
    }
}

/// The step between the first block that starts on its own line and the line of the
/// statement that opens it.
fn indent_unit(source: &str, root: Node<'_>) -> Option<String> {
    // Depth-first in source order with a cursor, which stops at the first block that decides
    // (the server asks on every keystroke: listing the module's children first cost a walk of
    // every top-level statement).
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.kind() == "block" && node.named_child_count() > 0 && is_first_on_line(source, node.start_byte()) {
            let opener = node.parent()?;
            let outer = indentation_at(source, opener.start_byte());
            let inner = indentation_at(source, node.start_byte());
            if let Some(step) = inner.strip_prefix(outer).filter(|step| !step.is_empty()) {
                return Some(step.to_string());
            }
        }
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return None;
            }
        }
    }
}

/// The offset of the start of the line holding `offset`.
pub fn line_start(source: &str, offset: usize) -> usize {
    source[..offset].rfind(['\n', '\r']).map_or(0, |index| index + 1)
}

/// The offset of the line break ending the line holding `offset` (the end of the text when
/// it is the last line).
pub fn line_end(source: &str, offset: usize) -> usize {
    source[offset..].find(['\n', '\r']).map_or(source.len(), |index| offset + index)
}

/// The offset just after the line break ending the line holding `offset`.
pub fn next_line_start(source: &str, offset: usize) -> usize {
    let end = line_end(source, offset);
    if source[end..].starts_with("\r\n") {
        end + 2
    } else if end < source.len() {
        end + 1
    } else {
        end
    }
}

/// The white space that starts the line holding `offset`.
pub fn indentation_at(source: &str, offset: usize) -> &str {
    let start = line_start(source, offset);
    let line = &source[start..line_end(source, start)];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// Whether the keyword `async` is written right before `offset`, with only spaces or tabs
/// between. Error recovery can parse `async def` or `async with` apart (an unclosed bracket
/// above puts `async` in an ERROR node): the code is async as typed, and a fix adding `async `
/// there would add it again at every round (fix-on-save wrote it ten times).
pub fn follows_async_keyword(source: &str, offset: usize) -> bool {
    let before = source.get(..offset).unwrap_or_default().trim_end_matches([' ', '\t']);
    before
        .strip_suffix("async")
        .is_some_and(|rest| !rest.ends_with(|character: char| character == '_' || character.is_alphanumeric()))
}

/// Whether only white space precedes `offset` on its line.
pub fn is_first_on_line(source: &str, offset: usize) -> bool {
    source[line_start(source, offset)..offset].trim_start_matches([' ', '\t']).is_empty()
}

/// Whether the line starting at `offset` continues a string literal that began on an
/// earlier line: its white space is part of the string and must not change.
fn continues_string(root: Node<'_>, offset: usize) -> bool {
    let mut current = root.descendant_for_byte_range(offset, offset);
    while let Some(node) = current {
        if node.kind() == "string" && node.start_byte() < offset {
            return true;
        }
        current = node.parent();
    }
    false
}

/// The starts of the lines in `range` after its first, each with whether its indentation
/// may change (it is not inside a multi-line string and not blank).
fn inner_line_starts(source: &str, root: Node<'_>, range: TextRange) -> Vec<(usize, bool)> {
    let mut starts = Vec::new();
    let mut offset = next_line_start(source, range.start);
    while offset < range.end && offset > range.start {
        let blank = source[offset..line_end(source, offset)].trim().is_empty();
        starts.push((offset, !blank && !continues_string(root, offset)));
        let next = next_line_start(source, offset);
        if next == offset {
            break;
        }
        offset = next;
    }
    starts
}

/// The text of `range` with `prefix` added in front of every line after the first (the
/// caller places the first); lines inside multi-line strings and blank lines are kept as
/// they are.
pub fn indent_text(source: &str, root: Node<'_>, range: TextRange, prefix: &str) -> String {
    let mut text = String::with_capacity(range.end - range.start + prefix.len() * 4);
    let mut copied = range.start;
    for (start, reindent) in inner_line_starts(source, root, range) {
        text.push_str(&source[copied..start]);
        if reindent {
            text.push_str(prefix);
        }
        copied = start;
    }
    text.push_str(&source[copied..range.end]);
    text
}

/// The text of `range` with `prefix` removed from the front of every line after the first;
/// `None` when such a line does not start with it (the code is not indented as assumed).
pub fn dedent_text(source: &str, root: Node<'_>, range: TextRange, prefix: &str) -> Option<String> {
    let mut text = String::with_capacity(range.end - range.start);
    let mut copied = range.start;
    for (start, reindent) in inner_line_starts(source, root, range) {
        text.push_str(&source[copied..start]);
        copied = start;
        if reindent {
            source[start..].strip_prefix(prefix)?;
            copied = start + prefix.len();
        }
    }
    text.push_str(&source[copied..range.end]);
    Some(text)
}

/// Where a module stands for a fix that needs to name it (`asyncio.sleep`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleImport {
    /// The name already refers to the module at that place.
    Bound,
    /// The name is free: this edit adds `import module`.
    Missing(Edit),
    /// The name is bound to something else: the fix cannot name the module.
    Shadowed,
    /// The module is another async library than the file's (`asyncio` in a trio module): a
    /// fix must not bring it in.
    OtherLibrary,
}

impl ModuleImport {
    /// The edits a fix naming the module needs besides its own: none when the module is
    /// bound, the import when it is missing; `None` when the fix cannot be written.
    pub fn into_edits(self) -> Option<Vec<Edit>> {
        match self {
            ModuleImport::Bound => Some(Vec::new()),
            ModuleImport::Missing(import) => Some(vec![import]),
            ModuleImport::Shadowed | ModuleImport::OtherLibrary => None,
        }
    }
}

/// Whether a fix written at `position` of a file written for `library` can name `module`,
/// and the edit that imports it when the name is free. The one place fixes get their
/// imports: an async library other than the file's is never imported (no `import asyncio`
/// in a trio module), even where the name is free.
pub fn module_import(
    semantic: &SemanticModel<'_>,
    library: AsyncLibrary,
    module: &str,
    position: usize,
) -> ModuleImport {
    match semantic.qualified_name_of_name(module, position) {
        Some(name) if name == module => ModuleImport::Bound,
        _ if AsyncLibrary::of_module(module).is_some_and(|other| other != library) => ModuleImport::OtherLibrary,
        Some(name) if name.strip_prefix("builtins.") == Some(module) => {
            ModuleImport::Missing(import_statement(semantic.source(), semantic.scope(0).node, module))
        }
        _ => ModuleImport::Shadowed,
    }
}

/// The edits that import several modules at one place, as one insertion (`import functools`
/// then `import trio`), so no two edits of a fix start at the same offset.
pub fn merge_imports(imports: Vec<Edit>) -> Vec<Edit> {
    let mut merged: Vec<Edit> = Vec::new();
    for import in imports {
        match merged.iter_mut().find(|edit| edit.range == import.range) {
            // The separator a missing final line break asks for is written once, first.
            Some(edit) => edit.content.push_str(import.content.trim_start_matches('\n')),
            None => merged.push(import),
        }
    }
    merged
}

/// The edit that adds `import module`, in the file's line endings, where isort would put it
/// in the leading import block: among its first run of plain `import` statements, in
/// alphabetical order when that run is sorted (else at its end), or before the first `from`
/// import when the block has no plain one; after the module docstring and the `from
/// __future__` imports when there is no import block.
pub fn import_statement(source: &str, root: Node<'_>, module: &str) -> Edit {
    let newline = line_ending(source);
    if let Some(position) = among_imports(source, &leading_statements(root), module) {
        return Edit::insertion(format!("import {module}{newline}"), position);
    }
    let (position, separator) = after_imports(source, root);
    let separator = if separator.is_empty() { "" } else { newline };
    Edit::insertion(format!("{separator}import {module}{newline}"), position)
}

/// The edit that makes `name` importable from `module` at module level: `, name` added to the
/// leading `from module import ...` when there is one (a fix that swaps a from-imported name
/// for its sibling), else a new `from module import name` line after the leading imports.
/// The caller checks that `name` is free where the fix uses it.
pub fn from_import(source: &str, root: Node<'_>, module: &str, name: &str) -> Edit {
    for statement in leading_statements(root) {
        if statement.kind() != "import_from_statement"
            || statement.field(&field::MODULE_NAME).is_none_or(|imported| &source[imported.byte_range()] != module)
        {
            continue;
        }
        let mut cursor = statement.walk();
        let last = statement.children_by_field_id(field::NAME.field_id(), &mut cursor).last();
        if let Some(last) = last {
            return Edit::insertion(format!(", {name}"), last.end_byte());
        }
    }
    let newline = line_ending(source);
    let (position, separator) = after_imports(source, root);
    let separator = if separator.is_empty() { "" } else { newline };
    Edit::insertion(format!("{separator}from {module} import {name}{newline}"), position)
}

/// The module docstring and the imports that follow it (comments skipped), up to the first
/// other statement. A cursor stops there: the server asks on a keystroke, and listing every
/// statement of the module first cost a walk of all of them.
fn leading_statements(root: Node<'_>) -> Vec<Node<'_>> {
    let mut statements = Vec::new();
    let mut cursor = root.walk();
    if !cursor.goto_first_child() {
        return statements;
    }
    loop {
        let statement = cursor.node();
        if statement.is_named() && statement.kind() != "comment" {
            let is_docstring = statements.is_empty()
                && statement.kind() == "expression_statement"
                && statement.named_child(0).is_some_and(|value| value.kind() == "string");
            let is_import =
                matches!(statement.kind(), "future_import_statement" | "import_statement" | "import_from_statement");
            if !(is_docstring || is_import) {
                // The first other statement closes the block; it is kept as the place to put
                // code when there is no block at all.
                statements.push(statement);
                return statements;
            }
            statements.push(statement);
        }
        if !cursor.goto_next_sibling() {
            return statements;
        }
    }
}

/// Where `import module` goes among the leading imports (see [`import_statement`]), when
/// there is a place at the start of a line: `None` to put it after the whole block.
fn among_imports(source: &str, statements: &[Node<'_>], module: &str) -> Option<usize> {
    let imports = statements.iter().take_while(|statement| {
        matches!(
            statement.kind(),
            "expression_statement" | "future_import_statement" | "import_statement" | "import_from_statement"
        )
    });
    let imports: Vec<Node<'_>> =
        imports.filter(|statement| statement.kind() != "expression_statement").copied().collect();
    let first_plain = imports.iter().position(|statement| statement.kind() == "import_statement");
    let Some(first_plain) = first_plain else {
        // Only `from` imports: plain imports come first in a section.
        let first_from = imports.iter().find(|statement| statement.kind() == "import_from_statement")?;
        return is_first_on_line(source, first_from.start_byte()).then(|| line_start(source, first_from.start_byte()));
    };
    let run: Vec<Node<'_>> =
        imports[first_plain..].iter().take_while(|statement| statement.kind() == "import_statement").copied().collect();
    let names: Vec<String> = run
        .iter()
        .map(|statement| {
            let name = statement.named_child(0).map_or("", |name| &source[name.byte_range()]);
            name.split_whitespace().next().unwrap_or(name).to_ascii_lowercase()
        })
        .collect();
    let sorted = names.windows(2).all(|pair| pair[0] <= pair[1]);
    let before = if sorted { names.iter().position(|name| name.as_str() > module) } else { None };
    if let Some(index) = before {
        let statement = run[index];
        return is_first_on_line(source, statement.start_byte()).then(|| line_start(source, statement.start_byte()));
    }
    // After the run's last statement, when a line break ends it; else after the block.
    let last = run.last()?;
    let end = line_end(source, last.end_byte());
    let rest = source[last.end_byte()..end].trim_start_matches([' ', '\t']);
    (end < source.len() && (rest.is_empty() || rest.starts_with('#'))).then(|| next_line_start(source, last.end_byte()))
}

/// Where module-level code added by a fix goes: the start of the line after the module
/// docstring, the `from __future__` imports and the leading import block (after leading
/// comments when there is none), with the line break to write first when that last
/// statement ends the file without one.
pub fn after_imports(source: &str, root: Node<'_>) -> (usize, &'static str) {
    let statements = leading_statements(root);
    let block = statements.iter().take_while(|statement| {
        matches!(statement.kind(), "future_import_statement" | "import_statement" | "import_from_statement")
            || (statement.kind() == "expression_statement"
                && statement.named_child(0).is_some_and(|value| value.kind() == "string")
                && statement.id() == statements[0].id())
    });
    let Some(statement) = block.last() else {
        return (statements.first().map_or(0, |first| line_start(source, first.start_byte())), "");
    };
    let position = next_line_start(source, statement.end_byte());
    let ends_line = position > line_end(source, statement.end_byte());
    (position, if ends_line { "" } else { "\n" })
}

/// The whole lines of `statement` (from the start of its first line to the end of its last,
/// a trailing comment included, the line break excluded), when the statement starts its line
/// and nothing but a comment follows it: the unit a fix can move or wrap in a block.
pub fn own_lines(source: &str, root: Node<'_>, statement: Node<'_>) -> Option<TextRange> {
    if !is_first_on_line(source, statement.start_byte()) {
        return None;
    }
    let end = line_end(source, statement.end_byte());
    let rest = source[statement.end_byte()..end].trim_start_matches([' ', '\t']);
    if !rest.is_empty() {
        // Only a comment may follow (`x = 1; y = 2` shares the line).
        let comment = root.descendant_for_byte_range(end - rest.len(), end - rest.len())?;
        if comment.kind() != "comment" {
            return None;
        }
    }
    Some(TextRange::new(line_start(source, statement.start_byte()), end))
}

/// The text of `range`, a piece of code moved to a line indented by `to`, with `from` (the
/// indentation of the line it came from) replaced by `to` on every line after the first: the
/// piece keeps its own shape. Lines that do not start with `from` (a closing bracket further
/// left) only gain the difference when `to` extends `from`, and are otherwise kept as they are
/// (inside brackets any indentation parses); lines inside multi-line strings and blank lines
/// are kept.
pub fn reindent_text(source: &str, root: Node<'_>, range: TextRange, from: &str, to: &str) -> String {
    let mut text = String::with_capacity(range.end - range.start + to.len() * 4);
    let mut copied = range.start;
    for (start, reindent) in inner_line_starts(source, root, range) {
        text.push_str(&source[copied..start]);
        copied = start;
        if !reindent {
            continue;
        }
        if source[start..range.end].starts_with(from) {
            text.push_str(to);
            copied = start + from.len();
        } else if let Some(extra) = to.strip_prefix(from) {
            text.push_str(extra);
        }
    }
    text.push_str(&source[copied..range.end]);
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::source::parse;

    fn stylist(source: &str) -> Stylist {
        Stylist::detect(source, parse(source).root_node())
    }

    #[test]
    fn indentation_unit_and_line_ending_come_from_the_file() {
        assert_eq!(stylist("def f():\n\tpass\n").indent, "\t");
        assert_eq!(stylist("class A:\n  def f(self):\n    pass\n").indent, "  ");
        assert_eq!(stylist("x = 1\n").indent, "    ");
        assert_eq!(stylist("if x: pass\nif y:\n   z()\n").indent, "   ");
        assert_eq!(stylist("x = 1\r\ny = 2\r\n").line_ending, "\r\n");
        assert_eq!(stylist("x = 1\ny = 2\r\n").line_ending, "\n");
        assert_eq!(stylist("x = 1").line_ending, "\n");
    }

    #[test]
    fn indenting_leaves_multi_line_strings_and_blank_lines_alone() {
        let source = "x = f(\n    a,\n\n    '''one\ntwo''',\n)\n";
        let tree = parse(source);
        let text = indent_text(source, tree.root_node(), TextRange::new(0, source.len() - 1), "  ");
        assert_eq!(text, "x = f(\n      a,\n\n      '''one\ntwo''',\n  )");
        let back = dedent_text(&text, parse(&text).root_node(), TextRange::new(0, text.len()), "  ");
        assert_eq!(back.as_deref(), Some(&source[..source.len() - 1]));
        assert_eq!(dedent_text(source, tree.root_node(), TextRange::new(0, source.len()), "        "), None);
    }

    #[test]
    fn imports_go_after_docstring_future_imports_and_the_import_block() {
        let insert = |source: &str| {
            let edit = import_statement(source, parse(source).root_node(), "asyncio");
            format!("{}{}{}", &source[..edit.range.start], edit.content, &source[edit.range.end..])
        };
        assert_eq!(insert("x = 1\n"), "import asyncio\nx = 1\n");
        assert_eq!(insert(""), "import asyncio\n");
        assert_eq!(
            insert("#!/usr/bin/env python\n# Licence.\nx = 1\n"),
            "#!/usr/bin/env python\n# Licence.\nimport asyncio\nx = 1\n"
        );
        assert_eq!(
            insert(
                "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport os\nfrom x import (\n    y,\n)\n\nz = 1\n"
            ),
            "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport asyncio\nimport os\nfrom x import (\n    y,\n)\n\nz = 1\n"
        );
        assert_eq!(insert("\"\"\"Doc.\"\"\""), "\"\"\"Doc.\"\"\"\nimport asyncio\n");
        assert_eq!(insert("\"\"\"Doc.\"\"\"\r\nx = 1\r\n"), "\"\"\"Doc.\"\"\"\r\nimport asyncio\r\nx = 1\r\n");
        assert_eq!(insert("import abc  # why\r\nx = 1\r\n"), "import abc  # why\r\nimport asyncio\r\nx = 1\r\n");
    }

    #[test]
    fn a_plain_import_goes_among_the_plain_imports_as_isort_would() {
        let insert = |source: &str| {
            let edit = import_statement(source, parse(source).root_node(), "asyncio");
            format!("{}{}{}", &source[..edit.range.start], edit.content, &source[edit.range.end..])
        };
        // Sorted: in its place; after `from` imports it never goes (sanic's directory.py).
        assert_eq!(
            insert("import abc\nimport os  # why\nimport sys\n\nfrom sanic import x\n\ny = 1\n"),
            "import abc\nimport asyncio\nimport os  # why\nimport sys\n\nfrom sanic import x\n\ny = 1\n"
        );
        assert_eq!(
            insert("import abc\nimport base64\nfrom x import y\n"),
            "import abc\nimport asyncio\nimport base64\nfrom x import y\n"
        );
        assert_eq!(insert("import abc\nfrom x import y\n"), "import abc\nimport asyncio\nfrom x import y\n");
        // Unsorted: at the end of the run.
        assert_eq!(
            insert("import sys\nimport os\nfrom x import y\n"),
            "import sys\nimport os\nimport asyncio\nfrom x import y\n"
        );
        // `from` imports only: before the first one that is not `__future__`.
        assert_eq!(
            insert("from __future__ import annotations\nfrom x import y\n\nz = 1\n"),
            "from __future__ import annotations\nimport asyncio\nfrom x import y\n\nz = 1\n"
        );
        assert_eq!(insert("import os.path as p, sys\n"), "import asyncio\nimport os.path as p, sys\n");
        // The last line of the file without its line break: after the block, with one first.
        assert_eq!(insert("import abc"), "import abc\nimport asyncio\n");
    }

    #[test]
    fn no_async_library_but_the_files_own_is_imported() {
        let source = "from trio import sleep\nimport anyio_helpers\n\nx = 1\n";
        let tree = parse(source);
        let semantic = SemanticModel::build(&tree, source);
        let at = source.len();
        let library = semantic.imported_async_library().expect("a trio module");
        assert_eq!(library, AsyncLibrary::Trio);
        assert_eq!(module_import(&semantic, library, "asyncio", at), ModuleImport::OtherLibrary);
        assert_eq!(module_import(&semantic, library, "anyio", at), ModuleImport::OtherLibrary);
        assert!(matches!(module_import(&semantic, library, "trio", at), ModuleImport::Missing(_)));
        assert!(matches!(module_import(&semantic, library, "functools", at), ModuleImport::Missing(_)));
        assert_eq!(module_import(&semantic, AsyncLibrary::Asyncio, "anyio_helpers", at), ModuleImport::Bound);
        assert!(matches!(module_import(&semantic, AsyncLibrary::Asyncio, "asyncio", at), ModuleImport::Missing(_)));
    }

    #[test]
    fn imports_at_one_place_merge_into_one_edit() {
        let source = "import abc";
        let tree = parse(source);
        let root = tree.root_node();
        let merged =
            merge_imports(vec![import_statement(source, root, "functools"), import_statement(source, root, "trio")]);
        assert_eq!(merged, vec![Edit::insertion("\nimport functools\nimport trio\n", source.len())]);
    }

    #[test]
    fn the_async_keyword_is_found_only_as_a_word_right_before() {
        let at_def = |source: &str| follows_async_keyword(source, source.find("def").expect("a def"));
        assert!(at_def("    async def f(): ..."));
        assert!(at_def("async\t def f(): ..."));
        assert!(!at_def("    def f(): ..."));
        assert!(!at_def("my_async def f(): ..."));
        assert!(!at_def("xasync def f(): ..."));
        assert!(!at_def("async\ndef f(): ..."));
    }

    #[test]
    fn await_goes_only_where_it_takes_the_expression_alone() {
        let allowed = |source: &str| {
            let tree = parse(source);
            let start = source.find("f(").expect("a call to f");
            let call = tree
                .root_node()
                .descendant_for_byte_range(start, start + 1)
                .and_then(|node| node.parent())
                .expect("call");
            assert_eq!(call.kind(), "call", "{source}");
            crate::analysis::source::Ancestry::default().can_prefix_await(tree.root_node(), call)
        };
        assert!(allowed("async def g():\n    f(1)\n"));
        assert!(allowed("async def g():\n    x = not f(1)\n"));
        assert!(!allowed("async def g():\n    f(1).y\n"));
        assert!(!allowed("async def g():\n    f(1)[0]\n"));
        assert!(!allowed("async def g():\n    f(1)()\n"));
        assert!(!allowed("async def g():\n    [f(x) for x in y]\n"));
    }

    #[test]
    fn own_lines_take_trailing_comments_and_refuse_shared_lines() {
        let source = "if x:\n    y = f(\n        1,\n    )  # why\n    a = 1; b = 2\n";
        let tree = parse(source);
        let block = tree.root_node().named_child(0).and_then(|node| node.field(&field::CONSEQUENCE)).expect("block");
        let first = block.named_child(0).expect("first statement");
        let lines = own_lines(source, tree.root_node(), first).expect("own lines");
        assert_eq!(&source[lines.start..lines.end], "    y = f(\n        1,\n    )  # why");
        let shared = block
            .named_children(&mut block.walk())
            .find(|node| node.start_byte() > first.end_byte() && node.kind() != "comment")
            .expect("a = 1");
        assert_eq!(own_lines(source, tree.root_node(), shared), None);
    }

    #[test]
    fn line_helpers_handle_crlf_and_the_last_line() {
        let source = "a\r\n  b\r\nc";
        assert_eq!(line_start(source, 5), 3);
        assert_eq!(line_end(source, 3), 6);
        assert_eq!(next_line_start(source, 3), 8);
        assert_eq!(next_line_start(source, 8), 9);
        assert_eq!(indentation_at(source, 6), "  ");
        assert!(is_first_on_line(source, 5));
        assert!(!is_first_on_line(source, 6));
    }
}
