//! The fix the blocking-call rules (LW102–LW105) share: run the call in a worker thread of
//! the file's async library, `f(a, b=1)` -> `await asyncio.to_thread(f, a, b=1)`; in a trio
//! or anyio module `await trio.to_thread.run_sync(f, a)`, and, since `run_sync` passes no
//! keyword arguments, `await trio.to_thread.run_sync(functools.partial(f, a, b=1))`.
//!
//! Offered for plain calls only: the callee is a name or a dotted chain of names (evaluated
//! on the loop as before, so no call or subscript may hide in it), `await` applies to the
//! call alone, the call is not a `with` item (the blocking would go on in the body), and, for
//! asyncio, the target has `asyncio.to_thread` (Python 3.9).

use tree_sitter::Node;

use crate::analysis::fix_builder;
use crate::analysis::settings::PythonVersion;
use crate::analysis::source::{NodeFields, field};
use crate::analysis::{AsyncLibrary, Call, Checker, Edit, Fix, TextRange};

/// `await asyncio.to_thread(f, args...)` for `f(args...)` (the file's library's function,
/// see the module docs), importing the library (and `functools`) when the file does not; the
/// argument list is kept verbatim (comments and trailing commas included).
pub(crate) fn to_thread_fix(checker: &Checker<'_, '_>, call: &Call<'_>) -> Option<Fix> {
    let library = checker.async_library();
    // `asyncio.to_thread` is new in Python 3.9.
    if library == AsyncLibrary::Asyncio && checker.settings.target_version < (PythonVersion { major: 3, minor: 9 }) {
        return None;
    }
    if !is_dotted_name(call.callee) || !checker.can_prefix_await(call.node) || is_with_item(call.node) {
        return None;
    }
    // `f(x for x in xs)`: the generator expression is the whole argument list, and it would
    // need parentheses of its own once it follows `f, `.
    if call.arguments.kind() != "argument_list" {
        return None;
    }
    // An `await` among the arguments would run on the loop while the call it feeds moves to a
    // thread: keep such calls for a human.
    if !checker.semantic.nodes_in_same_scope(call.arguments, &["await"]).is_empty() {
        return None;
    }
    let open = call.arguments.child(0).filter(|token| token.kind() == "(")?;
    let mut cursor = call.arguments.walk();
    let arguments: Vec<Node<'_>> =
        call.arguments.named_children(&mut cursor).filter(|argument| argument.kind() != "comment").collect();
    let after_open = &checker.semantic.source()[open.end_byte()..];
    let separator = match (!arguments.is_empty(), after_open.starts_with([' ', '\t', '\r', '\n'])) {
        (false, _) => "",
        (true, true) => ",",
        (true, false) => ", ",
    };
    let to_thread = library.to_thread();
    let position = call.node.start_byte();
    // `run_sync(f, *args)` passes no keywords: `functools.partial` carries them.
    let needs_partial = !library.to_thread_passes_keywords()
        && arguments.iter().any(|argument| matches!(argument.kind(), "keyword_argument" | "dictionary_splat"));
    let mut imports = Vec::new();
    let (partial, close) = if needs_partial {
        imports.extend(checker.import_module("functools", position).into_edits()?);
        ("functools.partial(", vec![Edit::insertion(")", call.node.end_byte())])
    } else {
        ("", Vec::new())
    };
    imports.extend(checker.import_module(library.module(), position).into_edits()?);
    let wrap = Edit::replacement(
        format!("await {to_thread}({partial}{}{separator}", checker.text(call.callee)),
        TextRange::new(call.node.start_byte(), open.end_byte()),
    );
    let mut rest = fix_builder::merge_imports(imports);
    rest.extend(close);
    Some(Fix::unsafe_edits(format!("Wrap in `await {to_thread}(...)`"), wrap, rest))
}

/// `f`, `requests.get`, `self.session.get`: a name or names joined by dots.
fn is_dotted_name(node: Node<'_>) -> bool {
    match node.kind() {
        "identifier" => true,
        "attribute" => {
            node.field(&field::ATTRIBUTE).is_some_and(|name| name.kind() == "identifier")
                && node.field(&field::OBJECT).is_some_and(is_dotted_name)
        }
        _ => false,
    }
}

/// Whether `node` sits in a `with` item (the value or an argument of it).
fn is_with_item(node: Node<'_>) -> bool {
    let mut current = node.parent();
    while let Some(ancestor) = current {
        match ancestor.kind() {
            "with_item" => return true,
            kind if kind.ends_with("_statement") || kind == "block" => return false,
            _ => {}
        }
        current = ancestor.parent();
    }
    false
}

#[cfg(test)]
mod tests {
    use crate::analysis::settings::PythonVersion;
    use crate::analysis::{LintSettings, lint_source};
    use crate::rules::{Rule, RuleSet};

    /// The text after the one fix of the one finding of `rule` in `source`; `None` when the
    /// finding has no fix.
    fn fixed(rule: Rule, source: &str) -> Option<String> {
        fixed_for(rule, source, LintSettings::default().target_version)
    }

    fn fixed_for(rule: Rule, source: &str, target_version: PythonVersion) -> Option<String> {
        let rules = [rule].into_iter().collect::<RuleSet>();
        let settings = LintSettings { target_version, rules, ..LintSettings::default() };
        let diagnostics = lint_source(source, None, &settings);
        assert_eq!(diagnostics.len(), 1, "{source}: {diagnostics:?}");
        diagnostics[0].fix.as_ref().map(|fix| fix.apply_to(source))
    }

    #[test]
    fn arguments_are_copied_verbatim_with_their_comments() {
        let source = "import asyncio\nimport requests\n\n\nasync def f(url):\n    r = requests.get(  # why\n        url,\n        timeout=5,  # seconds\n    )\n    return r\n";
        assert_eq!(
            fixed(Rule::BlockingNetworkCall, source).as_deref(),
            Some(
                "import asyncio\nimport requests\n\n\nasync def f(url):\n    r = await asyncio.to_thread(requests.get,  # why\n        url,\n        timeout=5,  # seconds\n    )\n    return r\n"
            )
        );
    }

    #[test]
    fn a_call_without_arguments_passes_the_function_alone() {
        let source = "import asyncio\n\n\nasync def f():\n    return input()\n";
        assert_eq!(
            fixed(Rule::BlockingInput, source).as_deref(),
            Some("import asyncio\n\n\nasync def f():\n    return await asyncio.to_thread(input)\n")
        );
    }

    #[test]
    fn missing_import_goes_after_docstring_and_future_imports() {
        let source = "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport subprocess\n\n\nasync def f(cmd):\n\tsubprocess.run(cmd, check=True)\n";
        assert_eq!(
            fixed(Rule::BlockingSubprocess, source).as_deref(),
            Some(
                "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\n\nimport asyncio\nimport subprocess\n\n\nasync def f(cmd):\n\tawait asyncio.to_thread(subprocess.run, cmd, check=True)\n"
            )
        );
    }

    #[test]
    fn crlf_files_keep_their_line_breaks() {
        let source =
            "from pathlib import Path\r\n\r\nasync def f(p: Path):\r\n    p.write_text(\r\n        'x',\r\n    )\r\n";
        assert_eq!(
            fixed(Rule::BlockingFileIo, source).as_deref(),
            Some(
                "import asyncio\r\nfrom pathlib import Path\r\n\r\nasync def f(p: Path):\r\n    await asyncio.to_thread(p.write_text,\r\n        'x',\r\n    )\r\n"
            )
        );
    }

    #[test]
    fn trio_and_anyio_modules_use_their_own_thread_and_partial_for_keywords() {
        let source = "import trio\nimport requests\n\n\nasync def f(url, *args):\n    requests.get(url, *args)\n";
        assert_eq!(
            fixed(Rule::BlockingNetworkCall, source).as_deref(),
            Some(
                "import trio\nimport requests\n\n\nasync def f(url, *args):\n    await trio.to_thread.run_sync(requests.get, url, *args)\n"
            )
        );
        // Both imports missing: one edit adds them, `functools` first.
        let source = "from anyio import sleep\nimport requests\n\n\nasync def f(url):\n    requests.get(\n        url,\n        timeout=5,\n    )\n";
        assert_eq!(
            fixed(Rule::BlockingNetworkCall, source).as_deref(),
            Some(
                "from anyio import sleep\nimport functools\nimport anyio\nimport requests\n\n\nasync def f(url):\n    await anyio.to_thread.run_sync(functools.partial(requests.get,\n        url,\n        timeout=5,\n    ))\n"
            )
        );
        // trio has `to_thread` on every target; `functools` shadowed: no fix.
        let old = PythonVersion { major: 3, minor: 8 };
        assert!(fixed_for(Rule::BlockingInput, "import trio\n\nasync def f():\n    input()\n", old).is_some());
        let shadowed =
            "import trio\nimport requests\n\n\nasync def f(url, functools):\n    requests.get(url, timeout=5)\n";
        assert_eq!(fixed(Rule::BlockingNetworkCall, shadowed), None);
    }

    #[test]
    fn shapes_the_wrap_cannot_take_have_no_fix() {
        let no_fix = |rule: Rule, body: &str| {
            let source = format!(
                "import asyncio\nimport os\nimport requests\nfrom pathlib import Path\n\n\nasync def f(url, p: Path):\n    {body}\n"
            );
            fixed(rule, &source)
        };
        assert_eq!(no_fix(Rule::BlockingNetworkCall, "requests.get(url).json()"), None);
        assert_eq!(no_fix(Rule::BlockingNetworkCall, "requests.Session().get(url)"), None);
        assert_eq!(no_fix(Rule::BlockingNetworkCall, "requests.get(await url())"), None);
        assert_eq!(no_fix(Rule::BlockingNetworkCall, "x = [requests.get(u) for u in url]"), None);
        assert_eq!(no_fix(Rule::BlockingFileIo, "with os.scandir(p) as it:\n        pass"), None);
        assert_eq!(no_fix(Rule::BlockingFileIo, "os.path.exists(x for x in p)"), None);
        assert_eq!(no_fix(Rule::BlockingInput, "asyncio = 1\n    input()"), None);
        let old = PythonVersion { major: 3, minor: 8 };
        assert_eq!(fixed_for(Rule::BlockingInput, "import asyncio\n\nasync def f():\n    input()\n", old), None);
    }
}
