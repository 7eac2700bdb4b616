//! The `invalid-syntax` pseudo-rule: not a rule (nothing selects, ignores or `# noqa`s it),
//! only the metadata behind the hover and the output formats of a syntax error, which
//! `analysis::syntax` finds.

define_rule! {
    /// ## What it does
    /// Reports text that is not valid Python, where tree-sitter's error recovery found it:
    /// text it had to skip, or a token it had to assume (a closing bracket, a `:`).
    ///
    /// ## Why is this bad?
    /// The module does not import. loopwise still checks the rest of the file, as the parser
    /// recovered it, but offers no fix inside the broken construct: a fix there would be
    /// computed from the parser's guess.
    ///
    /// ## Example
    /// ```python
    /// async def fetch(:
    ///     ...
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// async def fetch():
    ///     ...
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix.
    ///
    /// ## Known problems
    /// The message says where the parser gave up, which can be after the real mistake, and
    /// it cannot say what was expected as CPython does. The command line always reports syntax
    /// errors in the files it parses; the language server only with `showSyntaxErrors`, since
    /// another Python server usually shows them.
    code: "invalid-syntax",
    name: "invalid-syntax",
    summary: "text that is not valid Python",
    severity: Error,
    enabled: true,
    aliases: [],
    peers: "every Python parser",
    fix: "none",
    only_in_async_functions: false,
    triggers: [],
}
