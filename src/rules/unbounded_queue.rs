use crate::analysis::{Call, Checker};
use crate::rules::Rule;

define_rule! {
    /// ## What it does
    /// Checks for `asyncio.Queue()` (and `LifoQueue`, `PriorityQueue`) created without a
    /// positive `maxsize`.
    ///
    /// ## Why is this bad?
    /// An unbounded queue never makes `put()` wait: when producers are faster than consumers,
    /// items pile up in memory without limit and nothing slows the producers down. A bound
    /// gives back-pressure.
    ///
    /// ## Example
    /// ```python
    /// jobs = asyncio.Queue()
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// jobs = asyncio.Queue(maxsize=100)
    /// ```
    ///
    /// ## Fix safety
    /// There is no fix: the right bound depends on the workload.
    ///
    /// ## Known problems
    /// Off by default: many queues are bounded by their producers in ways the file does not
    /// show. A `maxsize` that is not a literal is trusted to be positive.
    ///
    /// ## References
    /// - [Python docs: `asyncio.Queue`](https://docs.python.org/3/library/asyncio-queue.html#asyncio.Queue)
    code: "LW703",
    name: "unbounded-queue",
    summary: "`asyncio.Queue()` without a positive `maxsize`",
    severity: Info,
    enabled: false,
    aliases: [],
    peers: "none",
    fix: "none",
    only_in_async_functions: false,
    triggers: ["Queue"],
}

const QUEUES: &[&str] = &[
    "asyncio.Queue",
    "asyncio.LifoQueue",
    "asyncio.PriorityQueue",
    "asyncio.queues.Queue",
    "asyncio.queues.LifoQueue",
    "asyncio.queues.PriorityQueue",
];

pub(crate) fn check(checker: &mut Checker<'_, '_>, call: &Call<'_>) {
    let Some(queue) = call.qualified_name.as_deref().filter(|name| QUEUES.contains(name)) else { return };
    let mut cursor = call.arguments.walk();
    let arguments: Vec<_> = call.arguments.named_children(&mut cursor).collect();
    // `Queue(*args)`, `Queue(**options)`: the size is not visible.
    if arguments.iter().any(|argument| matches!(argument.kind(), "list_splat" | "dictionary_splat")) {
        return;
    }
    let positional = arguments.first().filter(|argument| argument.kind() != "keyword_argument").copied();
    if let Some(maxsize) = call.keyword_argument(checker.semantic, "maxsize").or(positional) {
        let text = checker.text(maxsize);
        let non_positive = text.parse::<i64>().is_ok_and(|value| value <= 0);
        if !non_positive {
            return;
        }
    }
    let short = queue.trim_start_matches("asyncio.").trim_start_matches("queues.");
    checker.report(
        Rule::UnboundedQueue,
        call.node,
        format!("`asyncio.{short}` without a positive `maxsize` is unbounded"),
    );
}
