; Every `for` loop (plain or `async`, told apart in the engine by the anonymous `async` child).
(for_statement) @for
