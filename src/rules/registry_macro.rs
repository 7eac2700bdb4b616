/// Declares a rule's metadata and captures its `///` doc comment as the rule's documentation.
///
/// The captured text is the single source of the hover, `loopwise rule` and the generated docs.
macro_rules! define_rule {
    (
        $(#[doc = $doc:literal])*
        code: $code:literal,
        name: $name:literal,
        summary: $summary:literal,
        severity: $severity:ident,
        enabled: $enabled:literal,
        aliases: [$($alias:literal),* $(,)?],
        peers: $peers:literal,
        fix: $fix:literal,
        only_in_async_functions: $async_only:literal,
        triggers: [$($trigger:literal),* $(,)?] $(,)?
    ) => {
        pub static META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
            code: $code,
            name: $name,
            summary: $summary,
            default_severity: $crate::analysis::Severity::$severity,
            enabled_by_default: $enabled,
            aliases: &[$($alias),*],
            peers: $peers,
            fix: $fix,
            only_in_async_functions: $async_only,
            triggers: &[$($trigger),*],
            docs: concat!($($doc, "\n"),*),
        };
    };
}
